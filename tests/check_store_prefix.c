/*
 * check_store_prefix.c — deleting every key under a prefix: in key order,
 * once, within a batch, and not at all past its limits; listings that keep
 * the first keys, leave out the values or count; and the client record
 * that keeps a deletion's count across an export.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>

#include "bytes.h"
#include "store.h"

#include "store_fixture.h"
#include "check_store.h"

/* ------------------------------------------------------------ deleting a prefix */

/* What a prefix deletion's callback tells: "-key;" per key deleted, as gets_cb. */
struct deletes {
	char *s;
	size_t len, cap;
	uint64_t n;
};

static void
deletes_cb(void *arg, uint8_t kind, const char *key, size_t klen, const struct store_meta *m,
    const uint8_t *val, size_t vlen)
{
	struct deletes *d = arg;

	ck_assert_int_eq(kind, STORE_TXN_DEL);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(vlen, 0);
	d->n++;
	if (d->len + klen + 3 > d->cap) {
		d->cap = (d->len + klen + 3) * 2;
		d->s = realloc(d->s, d->cap);
		ck_assert_ptr_nonnull(d->s);
	}
	d->len += (size_t)snprintf(d->s + d->len, d->cap - d->len, "-%.*s;", (int)klen, key);
}

static struct store_result
del_prefix(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *prefix,
    struct deletes *d)
{
	uint8_t buf[STORE_CMD_DEL_SIZE(RAFTCONF_MAX_KEY)];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_del_prefix(buf, sizeof(buf), client, seq, prefix, strlen(prefix));
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(strlen(prefix)));
	if (d != NULL) {
		d->len = 0;
		d->n = 0;
		if (d->s != NULL)
			d->s[0] = '\0';
	}
	ck_assert_int_eq(
	    store_apply_txn(s, index, 1, buf, (size_t)n, &res, d ? deletes_cb : NULL, d), 0);
	return res;
}

/* The changes of revision rev in the history: "DEL key;PUT key;..." */
struct hist {
	char s[4096];
	uint64_t rev;
	int n;
};

static int
hist_cb(void *arg, uint64_t revision, struct store_events *it)
{
	struct hist *h = arg;
	struct store_event ev;
	int r;

	if (revision != h->rev)
		return 0;
	while ((r = store_events_next(it, &ev)) == 1) {
		size_t len = strlen(h->s);

		h->n++;
		snprintf(h->s + len, sizeof(h->s) - len, "%s %.*s;",
		    ev.kind == STORE_EV_DEL ? "DEL" : "PUT", (int)ev.klen, ev.key);
	}
	ck_assert_int_eq(r, 0);
	return 0;
}

static const char *
history_of(struct store *s, uint64_t rev)
{
	static struct hist h;

	memset(&h, 0, sizeof(h));
	h.rev = rev;
	ck_assert_int_eq(store_history(s, rev - 1, rev, hist_cb, &h), 0);
	return h.s;
}

START_TEST(test_del_prefix_commands_round_trip_and_bad_ones_are_refused)
{
	uint8_t buf[STORE_CMD_DEL_SIZE(RAFTCONF_MAX_KEY + 1)];
	char big[RAFTCONF_MAX_KEY + 1];
	struct store_cmd c;
	ssize_t n;

	n = store_cmd_encode_del_prefix(buf, sizeof(buf), 5, 6, "/app/", 5);
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(5));
	ck_assert_int_eq(buf[0], STORE_OP_DEL_PREFIX);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_int_eq(c.op, STORE_OP_DEL_PREFIX);
	ck_assert(store_cmd_is_key(c.op));
	ck_assert_uint_eq(c.client_id, 5);
	ck_assert_uint_eq(c.seq, 6);
	ck_assert(c.klen == 5 && memcmp(c.key, "/app/", 5) == 0);
	for (size_t len = 0; len < (size_t)n; len++)
		ck_assert_int_eq(store_cmd_decode(buf, len, &c), -EBADMSG);
	/* The empty prefix is every key; NULL with it is fine. */
	n = store_cmd_encode_del_prefix(buf, sizeof(buf), 5, 7, NULL, 0);
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(0));
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_uint_eq(c.klen, 0);
	/* A NUL byte, or more than a key's length: refused, and forged, refused to decode. */
	ck_assert_int_eq(store_cmd_encode_del_prefix(buf, sizeof(buf), 1, 1, "/a\0b", 4), -EINVAL);
	memset(big, 'p', sizeof(big));
	ck_assert_int_eq(store_cmd_encode_del_prefix(buf, sizeof(buf), 1, 1, big, sizeof(big)),
	    -EINVAL);
	ck_assert_int_eq(store_cmd_encode_del_prefix(buf, STORE_CMD_DEL_SIZE(2), 1, 1, "/ab", 3),
	    -ENOSPC);
	n = store_cmd_encode_del_prefix(buf, sizeof(buf), 1, 1, "/ab", 3);
	buf[STORE_CMD_HEADER + 1] = '\0';
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), -EBADMSG);
	n = store_cmd_encode_del_prefix(buf, sizeof(buf), 1, 1, big, RAFTCONF_MAX_KEY);
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(RAFTCONF_MAX_KEY));
	put_le32(buf + 17, RAFTCONF_MAX_KEY + 1);
	buf[n] = 'p';
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n + 1, &c), -EBADMSG);
}
END_TEST

START_TEST(test_a_prefix_deletion_deletes_every_key_under_it_in_key_order_once)
{
	struct store *s = open_ok(dbpath);
	struct deletes d = { 0 };
	struct store_client cl;
	struct store_result r;
	char *t, *before, *after;

	/* made out of key order: the deletes come in key order all the same */
	set(s, 1, 0, 0, "/app/c/d", "3", 1);
	set(s, 2, 0, 0, "/app/a", "1", 1);
	set(s, 3, 0, 0, "/apple", "not under /app/", 15);
	set(s, 4, 0, 0, "/app/b", binval, sizeof(binval));
	set(s, 5, 0, 0, "/other", "x", 1);
	token_put(s, 6, 0, 0, "app-tok", TOKEN_WRITE, "/app/", 0xaa);

	r = del_prefix(s, 7, 9, 1, "/app/", &d);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert(!r.duplicate);
	ck_assert_uint_eq(r.revision, 7);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_str_eq(d.s, "-/app/a;-/app/b;-/app/c/d;");
	t = dump_list(s, "");
	ck_assert_str_eq(t, "/apple=6e6f7420756e646572202f6170702f@3;/other=78@5;");
	free(t);
	ck_assert_uint_eq(store_applied(s), 7);
	/* one DEL change each, all at the entry's revision, in key order */
	ck_assert_str_eq(history_of(s, 7), "DEL /app/a;DEL /app/b;DEL /app/c/d;");
	/* the dedup record keeps the count */
	ck_assert_int_eq(store_get_client(s, 9, &cl), 0);
	ck_assert_uint_eq(cl.count, 3);
	ck_assert_uint_eq(cl.revision, 7);

	/* a retry: the first answer, and a key made since stays */
	set(s, 8, 0, 0, "/app/new", "n", 1);
	before = dump_all(s);
	r = del_prefix(s, 9, 9, 1, "/app/", &d);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 7);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_str_eq(history_of(s, 9), "");
	check_value(s, "/app/new", "n", 1, 8);
	after = dump_all(s);
	ck_assert_str_ne(before, after); /* only the applied index moved */
	free(before);
	free(after);
	/* an older seq of the client is stale: nothing */
	r = del_prefix(s, 10, 9, 0, "/app/", &d);
	ck_assert_int_eq(r.status, STORE_STALE);
	check_value(s, "/app/new", "n", 1, 8);

	/* nothing under a prefix: done, 0 deleted, no change told */
	r = del_prefix(s, 11, 9, 2, "/none/", &d);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 11);
	ck_assert_uint_eq(r.count, 0);
	ck_assert_str_eq(history_of(s, 11), "");
	ck_assert_int_eq(store_get_client(s, 9, &cl), 0);
	ck_assert_uint_eq(cl.count, 0);

	/* a key that is exactly the prefix is under it */
	r = del_prefix(s, 12, 0, 0, "/other", &d);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_str_eq(d.s, "-/other;");

	/* every key: tokens are no keys, and stay */
	r = del_prefix(s, 13, 10, 1, "", &d);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_str_eq(d.s, "-/app/new;-/apple;");
	t = dump_list(s, "");
	ck_assert_str_eq(t, "");
	free(t);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "app-tok:write:/app/:aa;");
	free(t);

	/* the store with its counting client records checks at open, and a retry
	 * after it still gets the first answer */
	store_close(s);
	s = open_ok(dbpath);
	r = del_prefix(s, 14, 10, 1, "", &d);
	ck_assert(r.duplicate);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_uint_eq(r.revision, 13);
	/* the record with a count keeps the digest too: the same request id
	 * for another prefix is refused, and deletes nothing */
	set(s, 15, 0, 0, "/x/1", "1", 1);
	r = del_prefix(s, 16, 10, 1, "/x/", &d);
	ck_assert_int_eq(r.status, STORE_REUSED);
	ck_assert_uint_eq(d.n, 0);
	check_value(s, "/x/1", "1", 1, 15);
	ck_assert_int_eq(store_get_client(s, 10, &cl), 0);
	ck_assert_uint_eq(cl.count, 2);
	ck_assert_uint_eq(cl.revision, 13);
	free(d.s);
	store_close(s);
}
END_TEST

START_TEST(test_a_prefix_deletion_in_a_batch_sees_the_batch_and_leaves_with_it)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;
	char *t;

	set(s, 1, 0, 0, "/b/old", "o", 1);
	ck_assert_int_eq(store_begin(s), 0);
	set(s, 2, 0, 0, "/b/new", "n", 1);
	r = del_prefix(s, 3, 0, 0, "/b/", NULL);
	ck_assert_uint_eq(r.count, 2);
	set(s, 4, 0, 0, "/b/after", "a", 1);
	t = dump_list(s, "/b/");
	ck_assert_str_eq(t, "/b/after=61@4;");
	free(t);
	store_cancel(s);
	t = dump_list(s, "/b/");
	ck_assert_str_eq(t, "/b/old=6f@1;");
	free(t);
	ck_assert_uint_eq(store_applied(s), 1);
	ck_assert_int_eq(store_begin(s), 0);
	r = del_prefix(s, 2, 0, 0, "/b/", NULL);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_str_eq(history_of(s, 2), "DEL /b/old;");
	store_close(s);
}
END_TEST

/* n keys "PREFIXnnnnnnn" padded to klen bytes, at index from on, in one batch. */
static void
many_keys(struct store *s, uint64_t from, const char *prefix, size_t n, size_t klen)
{
	static uint8_t buf[STORE_CMD_SET_SIZE(RAFTCONF_MAX_KEY, 1)];
	char key[RAFTCONF_MAX_KEY + 1];
	struct store_result res;

	ck_assert_int_eq(store_begin(s), 0);
	for (size_t i = 0; i < n; i++) {
		ssize_t len;
		int w = snprintf(key, sizeof(key), "%s%07zu", prefix, i);

		ck_assert_uint_le((size_t)w, klen);
		memset(key + w, 'x', klen - (size_t)w);
		len = store_cmd_encode_set(buf, sizeof(buf), 0, 0, key, klen, "v", 1);
		ck_assert_int_gt(len, 0);
		ck_assert_int_eq(store_apply(s, from + i, 1, buf, (size_t)len, &res), 0);
	}
	ck_assert_int_eq(store_commit(s), 0);
}

START_TEST(test_a_prefix_deletion_over_its_limits_deletes_nothing_and_says_how_many)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;
	uint64_t n = 0, at;
	char *before, *after;

	/* names of RAFTCONF_MAX_KEY bytes: the bytes' limit first */
	many_keys(s, 1, "/big/", RAFTCONF_MAX_DEL_PREFIX_BYTES / RAFTCONF_MAX_KEY + 1,
	    RAFTCONF_MAX_KEY);
	at = store_applied(s) + 1;
	before = dump_list(s, "");
	r = del_prefix(s, at, 4, 1, "/big/", NULL);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 0);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_BYTES / RAFTCONF_MAX_KEY + 1);
	ck_assert_str_eq(history_of(s, at), "");
	after = dump_list(s, "");
	ck_assert_str_eq(before, after);
	free(after);
	ck_assert_uint_eq(store_applied(s), at);
	/* its retry says the same */
	r = del_prefix(s, at + 1, 4, 1, "/big/", NULL);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_BYTES / RAFTCONF_MAX_KEY + 1);
	/* at the limit exactly: one fewer key (its last one) */
	r = del_prefix(s, at + 2, 0, 0, "/big/0002048", NULL);
	ck_assert_uint_eq(r.count, 1);
	r = del_prefix(s, at + 3, 0, 0, "/big/", NULL);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_BYTES / RAFTCONF_MAX_KEY);
	ck_assert_int_eq(store_count(s, "", 0, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(before);

	/* then the keys' limit: one key more than it, small ones */
	many_keys(s, at + 4, "/k/", RAFTCONF_MAX_DEL_PREFIX_KEYS + 1, 10);
	at = store_applied(s) + 1;
	r = del_prefix(s, at, 0, 0, "", NULL);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_KEYS + 1);
	ck_assert_int_eq(store_count(s, "/k/", 3, &n), 0);
	ck_assert_uint_eq(n, RAFTCONF_MAX_DEL_PREFIX_KEYS + 1);
	del(s, at + 1, 0, 0, "/k/0000000");
	r = del_prefix(s, at + 2, 0, 0, "", NULL);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_KEYS);
	ck_assert_int_eq(store_count(s, "", 0, &n), 0);
	ck_assert_uint_eq(n, 0);
	store_close(s);
}
END_TEST

/* A listing's keys and meta: "key@rev/create/version[=hex value];" */
static int
opts_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen,
    const struct store_meta *m)
{
	struct dump *d = arg;

	dump_add(d, "%.*s@%" PRIu64 "/%" PRIu64 "/%" PRIu64, (int)klen, key, m->revision,
	    m->create_revision, m->version);
	if (val != NULL)
		dump_add(d, "=%.*s", (int)vlen, (const char *)val);
	else
		ck_assert_uint_eq(vlen, 0);
	dump_add(d, ";");
	return 0;
}

static char *
list_opts(struct store *s, const char *prefix, uint64_t limit, bool keys_only)
{
	struct dump d = { .cap = 64 };

	d.s = calloc(1, d.cap);
	ck_assert_ptr_nonnull(d.s);
	ck_assert_int_eq(
	    store_list_opts(s, prefix, strlen(prefix), limit, keys_only, opts_cb, &d), 0);
	return d.s;
}

START_TEST(test_a_listing_keeps_the_first_keys_or_no_values_and_a_count_is_exact)
{
	static const char *keys[] = { "/l/m", "/l/c", "/l/x", "/l/a", "/l/b", "/l/z", "/l/k",
		"/l/", "/l/aa", "/m" };
	struct store *s = open_ok(dbpath);
	uint64_t n = 99;
	char *t;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		set(s, i + 1, 0, 0, keys[i], "v", 1);
	set(s, 11, 0, 0, "/l/a", "w", 1);
	t = list_opts(s, "/l/", 3, false);
	ck_assert_str_eq(t, "/l/@8/8/1=v;/l/a@11/4/2=w;/l/aa@9/9/1=v;");
	free(t);
	t = list_opts(s, "/l/", 1, true);
	ck_assert_str_eq(t, "/l/@8/8/1;");
	free(t);
	t = list_opts(s, "/l/", 0, true);
	ck_assert_str_eq(t, "/l/@8/8/1;/l/a@11/4/2;/l/aa@9/9/1;/l/b@5/5/1;/l/c@2/2/1;/l/k@7/7/1;"
			    "/l/m@1/1/1;/l/x@3/3/1;/l/z@6/6/1;");
	free(t);
	t = list_opts(s, "/l/", 100, false);
	ck_assert_int_eq(strstr(t, "/l/z@6/6/1=v;") - t, (long)strlen(t) - 13);
	free(t);
	ck_assert_int_eq(store_count(s, "/l/", 3, &n), 0);
	ck_assert_uint_eq(n, 9);
	ck_assert_int_eq(store_count(s, "", 0, &n), 0);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(store_count(s, "/n", 2, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* tokens are never counted */
	token_put(s, 12, 0, 0, "tok", TOKEN_READ, "", 1);
	ck_assert_int_eq(store_count(s, "", 0, &n), 0);
	ck_assert_uint_eq(n, 10);
	store_close(s);
}
END_TEST

START_TEST(test_a_counting_client_record_travels_in_an_export_and_a_forged_one_is_refused)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct feed f = { 0 };
	struct store_client cl;
	struct tdb_context *t;
	char err[512] = "", key[32];
	uint8_t rec[41];
	TDB_DATA k, v = { rec, sizeof(rec) };

	set(s, 1, 0, 0, "/a/1", "1", 1);
	set(s, 2, 0, 0, "/a/2", "2", 1);
	ck_assert_uint_eq(del_prefix(s, 3, 7, 1, "/a/", NULL).count, 2);
	ck_assert_int_eq(store_export(s, feed_cb, &f), 0);
	ck_assert_int_eq(store_replace(s2, 3, 1, "", 0, feed_next, &f, err, sizeof(err)), 0);
	ck_assert_int_eq(store_get_client(s2, 7, &cl), 0);
	ck_assert_uint_eq(cl.count, 2);
	ck_assert_uint_eq(cl.revision, 3);
	for (int i = 0; i < f.n; i++)
		free(f.bufs[i]);
	store_close(s2);
	store_close(s);

	/* the record: seq, revision, status, last used, digest, count (41
	 * bytes); one whose count is 0 is none the store writes */
	t = tdb_open(dbpath, 0, 0, O_RDWR, 0600);
	ck_assert_ptr_nonnull(t);
	snprintf(key, sizeof(key), "c:%016x", 7);
	k = (TDB_DATA){ (unsigned char *)key, strlen(key) };
	v = tdb_fetch(t, k);
	ck_assert_uint_eq(v.dsize, 41);
	memcpy(rec, v.dptr, 41);
	free(v.dptr);
	ck_assert_uint_eq(rec[33], 2);
	memset(rec + 33, 0, 8);
	v = (TDB_DATA){ rec, sizeof(rec) };
	ck_assert_int_eq(tdb_store(t, k, v, TDB_REPLACE), 0);
	tdb_close(t);
	s = NULL;
	ck_assert_int_eq(store_open(dbpath, &s, err, sizeof(err)), -EBADMSG);
}
END_TEST

void
store_prefix_tests(TCase *tc)
{
	tcase_add_test(tc, test_del_prefix_commands_round_trip_and_bad_ones_are_refused);
	tcase_add_test(tc, test_a_prefix_deletion_deletes_every_key_under_it_in_key_order_once);
	tcase_add_test(tc, test_a_prefix_deletion_in_a_batch_sees_the_batch_and_leaves_with_it);
	tcase_add_test(tc, test_a_prefix_deletion_over_its_limits_deletes_nothing_and_says_how_many);
	tcase_add_test(tc, test_a_listing_keeps_the_first_keys_or_no_values_and_a_count_is_exact);
	tcase_add_test(tc,
	    test_a_counting_client_record_travels_in_an_export_and_a_forged_one_is_refused);
}
