/*
 * check_token.c — unit tests of HTTP tokens (daemon/token.c): the store
 * record, the hash, new secrets, the table, and token_authorize(), the one
 * decision every HTTP request goes through, rule by rule.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

/* A string literal with its length. */
#define L(lit) (lit), (sizeof(lit) - 1)

static const uint8_t zero_hash[TOKEN_HASH_LEN];

/* ------------------------------------------------------------ the record */

START_TEST(test_a_record_round_trips_with_its_access_prefix_and_hash)
{
	uint8_t buf[TOKEN_RECORD_MAX], hash[TOKEN_HASH_LEN];
	struct token_record rec;
	ssize_t n;

	for (size_t i = 0; i < sizeof(hash); i++)
		hash[i] = (uint8_t)(i * 7 + 1);
	n = token_record_encode(buf, sizeof(buf), TOKEN_WRITE, L("/app/"), hash);
	ck_assert_int_eq(n, TOKEN_RECORD_SIZE(5));
	ck_assert_int_eq(buf[0], TOKEN_RECORD_VERSION);
	ck_assert_int_eq(token_record_decode(buf, (size_t)n, &rec), 0);
	ck_assert_int_eq(rec.access, TOKEN_WRITE);
	ck_assert_uint_eq(rec.plen, 5);
	ck_assert(memcmp(rec.prefix, "/app/", 5) == 0);
	ck_assert(memcmp(rec.hash, hash, sizeof(hash)) == 0);

	/* An empty prefix (every key) and a read token. */
	n = token_record_encode(buf, sizeof(buf), TOKEN_READ, "", 0, hash);
	ck_assert_int_eq(n, TOKEN_RECORD_SIZE(0));
	ck_assert_int_eq(token_record_decode(buf, (size_t)n, &rec), 0);
	ck_assert_int_eq(rec.access, TOKEN_READ);
	ck_assert_uint_eq(rec.plen, 0);
}
END_TEST

START_TEST(test_a_bad_record_is_refused_to_encode_and_to_decode)
{
	static char long_prefix[RAFTCONF_MAX_KEY + 1];
	uint8_t buf[TOKEN_RECORD_MAX + 8];
	struct token_record rec;
	ssize_t n;

	memset(long_prefix, 'p', sizeof(long_prefix));
	ck_assert_int_eq(token_record_encode(buf, sizeof(buf), 3, L("/"), zero_hash), -EINVAL);
	ck_assert_int_eq(token_record_encode(buf, sizeof(buf), TOKEN_READ, L("a\0b"), zero_hash),
	    -EINVAL);
	ck_assert_int_eq(token_record_encode(buf, sizeof(buf), TOKEN_READ, long_prefix,
			     sizeof(long_prefix), zero_hash),
	    -EINVAL);
	ck_assert_int_eq(token_record_encode(buf, TOKEN_RECORD_SIZE(1) - 1, TOKEN_READ, L("/"),
			     zero_hash),
	    -ENOSPC);

	n = token_record_encode(buf, sizeof(buf), TOKEN_READ, L("/a"), zero_hash);
	ck_assert_int_gt(n, 0);
	/* Every shorter length, and one byte more, are refused. */
	for (ssize_t len = 0; len < n; len++)
		ck_assert_int_eq(token_record_decode(buf, (size_t)len, &rec), -EBADMSG);
	ck_assert_int_eq(token_record_decode(buf, (size_t)n + 1, &rec), -EBADMSG);
	buf[0] = TOKEN_RECORD_VERSION + 1;
	ck_assert_int_eq(token_record_decode(buf, (size_t)n, &rec), -EBADMSG);
	buf[0] = TOKEN_RECORD_VERSION;
	buf[1] = 0;
	ck_assert_int_eq(token_record_decode(buf, (size_t)n, &rec), -EBADMSG);
	buf[1] = TOKEN_READ;
	buf[5] = '\0'; /* a NUL in the prefix */
	ck_assert_int_eq(token_record_decode(buf, (size_t)n, &rec), -EBADMSG);
}
END_TEST

START_TEST(test_names_are_node_id_like)
{
	ck_assert(token_name_ok(L("app-ro_2")));
	ck_assert(token_name_ok(L("12345678901234567890123456789012")));
	ck_assert(!token_name_ok(L("123456789012345678901234567890123")));
	ck_assert(!token_name_ok("", 0));
	ck_assert(!token_name_ok(L("a b")));
	ck_assert(!token_name_ok(L("a/b")));
	ck_assert(!token_name_ok(L("a\0")));
	ck_assert(!token_name_ok(NULL, 1));
	ck_assert_str_eq(token_access_name(TOKEN_READ), "read");
	ck_assert_str_eq(token_access_name(TOKEN_WRITE), "write");
}
END_TEST

/* ------------------------------------------------------------ secrets */

static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

START_TEST(test_the_hash_is_sha256)
{
	uint8_t h[TOKEN_HASH_LEN];
	char s[2 * TOKEN_HASH_LEN + 1];

	/* FIPS 180-2, appendix B.1, and the empty string. */
	ck_assert_int_eq(token_hash(L("abc"), h), 0);
	hex(h, sizeof(h), s);
	ck_assert_str_eq(s, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(token_hash("", 0, h), 0);
	hex(h, sizeof(h), s);
	ck_assert_str_eq(s, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_secrets_are_64_hex_digits_and_never_repeat)
{
	char a[TOKEN_SECRET_LEN + 1], b[TOKEN_SECRET_LEN + 1];

	ck_assert_int_eq(token_secret_new(a), 0);
	ck_assert_int_eq(token_secret_new(b), 0);
	ck_assert_uint_eq(strlen(a), 64);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 64);
	ck_assert_str_ne(a, b);
}
END_TEST

/* ------------------------------------------------------------ the table */

/* Put a token whose secret is secret into t. */
static void
put(struct token_table *t, const char *name, enum token_access access, const char *prefix,
    const char *secret)
{
	uint8_t h[TOKEN_HASH_LEN];
	struct token_record rec = { access, prefix, strlen(prefix), h };

	ck_assert_int_eq(token_hash(secret, strlen(secret), h), 0);
	ck_assert_int_eq(token_table_put(t, name, strlen(name), &rec), 0);
}

START_TEST(test_the_table_keeps_names_in_order_and_replaces_and_removes)
{
	struct token_table t = { 0 };
	const struct token *hit;

	put(&t, "m", TOKEN_READ, "/m/", "sm");
	put(&t, "a", TOKEN_READ, "/a/", "sa");
	put(&t, "z", TOKEN_WRITE, "", "sz");
	put(&t, "b", TOKEN_READ, "/b/", "sb");
	for (size_t i = 0; i < 20; i++) {
		char name[8], secret[8];

		snprintf(name, sizeof(name), "n%02zu", i);
		snprintf(secret, sizeof(secret), "s%02zu", i);
		put(&t, name, TOKEN_READ, "/", secret);
	}
	ck_assert_uint_eq(t.n, 24);
	for (size_t i = 1; i < t.n; i++)
		ck_assert_int_lt(strcmp(t.v[i - 1]->name, t.v[i]->name), 0);
	ck_assert_str_eq(t.v[0]->name, "a");
	ck_assert_str_eq(t.v[t.n - 1]->name, "z");

	hit = token_table_match(&t, L("sb"));
	ck_assert_ptr_nonnull(hit);
	ck_assert_str_eq(hit->name, "b");
	ck_assert_ptr_null(token_table_match(&t, L("sB")));
	ck_assert_ptr_null(token_table_match(&t, L("s")));

	/* The same name again replaces it: the old secret stops working. */
	put(&t, "b", TOKEN_WRITE, "/bb/", "sb2");
	ck_assert_uint_eq(t.n, 24);
	ck_assert_ptr_null(token_table_match(&t, L("sb")));
	hit = token_table_match(&t, L("sb2"));
	ck_assert_ptr_nonnull(hit);
	ck_assert_int_eq(hit->access, TOKEN_WRITE);
	ck_assert_uint_eq(hit->plen, 4);

	ck_assert(token_table_del(&t, L("b")));
	ck_assert(!token_table_del(&t, L("b")));
	ck_assert_ptr_null(token_table_match(&t, L("sb2")));
	ck_assert_uint_eq(t.n, 23);
	ck_assert_ptr_nonnull(token_table_match(&t, L("sa")));
	token_table_free(&t);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_ptr_null(token_table_match(&t, L("sa")));
}
END_TEST

/* ------------------------------------------------------------ judging */

static struct token_table table;

static void
table_setup(void)
{
	memset(&table, 0, sizeof(table));
	put(&table, "app-ro", TOKEN_READ, "/app/", "secret-ro");
	put(&table, "app-rw", TOKEN_WRITE, "/app/", "secret-rw");
	put(&table, "all", TOKEN_READ, "", "secret-all");
}

static void
table_teardown(void)
{
	token_table_free(&table);
}

/* The status for a request of need on key with header h, from the loopback or not. */
static int
judge(const struct token_table *t, enum token_need need, const char *key, bool loopback,
    const char *h, char *why)
{
	struct token_request r = { need, key, key ? strlen(key) : 0, loopback, h };

	return token_authorize(t, &r, why, 256);
}

START_TEST(test_without_tokens_only_the_loopback_is_served)
{
	struct token_table none = { 0 };
	char why[256];

	ck_assert_int_eq(judge(&none, TOKEN_NEED_WRITE, "/x", true, NULL, why), 0);
	ck_assert_int_eq(judge(&none, TOKEN_NEED_READ, "/x", true, NULL, why), 0);
	ck_assert_int_eq(judge(&none, TOKEN_NEED_ANY, NULL, true, NULL, why), 0);
	ck_assert_int_eq(judge(&none, TOKEN_NEED_READ, "/x", false, NULL, why), 403);
	ck_assert_ptr_nonnull(strstr(why, "only clients on the loopback"));
	ck_assert_ptr_nonnull(strstr(why, "raftconfctl token add"));
	ck_assert_int_eq(judge(&none, TOKEN_NEED_WRITE, "/x", false, NULL, why), 403);
	ck_assert_int_eq(judge(&none, TOKEN_NEED_ANY, NULL, false, NULL, why), 403);
	/* A header changes nothing when no token exists. */
	ck_assert_int_eq(judge(&none, TOKEN_NEED_READ, "/x", false, "Bearer x", why), 403);
	/* Health is for everyone. */
	ck_assert_int_eq(judge(&none, TOKEN_NEED_NOTHING, NULL, false, NULL, why), 0);
}
END_TEST

START_TEST(test_with_tokens_a_request_without_one_or_with_an_unknown_one_is_401)
{
	char why[256];

	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, NULL, why), 401);
	ck_assert_ptr_nonnull(strstr(why, "Authorization: Bearer"));
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", false, NULL, why), 401);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_ANY, NULL, true, NULL, why), 401);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, "Bearer nope", why), 401);
	ck_assert_ptr_nonnull(strstr(why, "unknown token"));
	ck_assert_int_eq(judge(&table, TOKEN_NEED_ANY, NULL, true, "Bearer nope", why), 401);
	/* Another scheme, no secret, or only blanks: no token. */
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, "Basic secret-ro", why),
	    401);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, "Bearer", why), 401);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, "Bearer   ", why), 401);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, "Bearersecret-ro", why),
	    401);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, "secret-ro", why), 401);
	/* A prefix or extension of a secret is another secret. */
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, "Bearer secret-r", why),
	    401);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, "Bearer secret-roo", why),
	    401);
	/* Health stays open. */
	ck_assert_int_eq(judge(&table, TOKEN_NEED_NOTHING, NULL, false, NULL, why), 0);
}
END_TEST

START_TEST(test_a_token_reaches_only_keys_under_its_prefix)
{
	char why[256];

	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", false, "Bearer secret-ro", why),
	    0);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/", false, "Bearer secret-ro", why),
	    0);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app", false, "Bearer secret-ro", why),
	    403);
	ck_assert_ptr_nonnull(strstr(why, "app-ro is limited to keys starting with \"/app/\""));
	ck_assert_int_eq(
	    judge(&table, TOKEN_NEED_READ, "/etc/x", false, "Bearer secret-ro", why), 403);
	/* A listing of every key, or of a wider prefix, is outside. */
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "", false, "Bearer secret-ro", why), 403);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/a", false, "Bearer secret-ro", why), 403);
	/* The empty prefix is every key. */
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "", false, "Bearer secret-all", why), 0);
	ck_assert_int_eq(
	    judge(&table, TOKEN_NEED_READ, "/etc/x", false, "Bearer secret-all", why), 0);
	ck_assert_int_eq(
	    judge(&table, TOKEN_NEED_WRITE, "/etc/x", false, "Bearer secret-rw", why), 403);
}
END_TEST

START_TEST(test_a_read_token_may_not_write_and_a_write_token_may_read)
{
	char why[256];

	ck_assert_int_eq(
	    judge(&table, TOKEN_NEED_WRITE, "/app/x", true, "Bearer secret-ro", why), 403);
	ck_assert_ptr_nonnull(strstr(why, "app-ro may only read"));
	ck_assert_int_eq(
	    judge(&table, TOKEN_NEED_WRITE, "/etc/x", true, "Bearer secret-all", why), 403);
	ck_assert_int_eq(
	    judge(&table, TOKEN_NEED_WRITE, "/app/x", true, "Bearer secret-rw", why), 0);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, "Bearer secret-rw", why),
	    0);
}
END_TEST

START_TEST(test_status_and_metrics_take_any_token_whatever_its_prefix)
{
	char why[256];

	ck_assert_int_eq(judge(&table, TOKEN_NEED_ANY, NULL, false, "Bearer secret-ro", why), 0);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_ANY, NULL, false, "Bearer secret-rw", why), 0);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_ANY, NULL, false, "Bearer secret-all", why), 0);
}
END_TEST

START_TEST(test_the_scheme_is_any_case_and_blanks_around_are_trimmed)
{
	char why[256];

	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", false, "bearer secret-ro", why),
	    0);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", false, "BEARER secret-ro", why),
	    0);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", false,
			     " \tBearer \t secret-ro \t", why),
	    0);
}
END_TEST

START_TEST(test_a_revoked_token_is_refused_at_once)
{
	char why[256];

	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", false, "Bearer secret-ro", why),
	    0);
	ck_assert(token_table_del(&table, L("app-ro")));
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", false, "Bearer secret-ro", why),
	    401);
	/* The last one revoked: back to the loopback rule. */
	ck_assert(token_table_del(&table, L("app-rw")));
	ck_assert(token_table_del(&table, L("all")));
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", true, NULL, why), 0);
	ck_assert_int_eq(judge(&table, TOKEN_NEED_READ, "/app/x", false, NULL, why), 403);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc;

	tc = tcase_create("record and secrets");
	tcase_add_test(tc, test_a_record_round_trips_with_its_access_prefix_and_hash);
	tcase_add_test(tc, test_a_bad_record_is_refused_to_encode_and_to_decode);
	tcase_add_test(tc, test_names_are_node_id_like);
	tcase_add_test(tc, test_the_hash_is_sha256);
	tcase_add_test(tc, test_secrets_are_64_hex_digits_and_never_repeat);
	tcase_add_test(tc, test_the_table_keeps_names_in_order_and_replaces_and_removes);
	suite_add_tcase(s, tc);

	tc = tcase_create("authorize");
	tcase_add_checked_fixture(tc, table_setup, table_teardown);
	tcase_add_test(tc, test_without_tokens_only_the_loopback_is_served);
	tcase_add_test(tc, test_with_tokens_a_request_without_one_or_with_an_unknown_one_is_401);
	tcase_add_test(tc, test_a_token_reaches_only_keys_under_its_prefix);
	tcase_add_test(tc, test_a_read_token_may_not_write_and_a_write_token_may_read);
	tcase_add_test(tc, test_status_and_metrics_take_any_token_whatever_its_prefix);
	tcase_add_test(tc, test_the_scheme_is_any_case_and_blanks_around_are_trimmed);
	tcase_add_test(tc, test_a_revoked_token_is_refused_at_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(token_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
