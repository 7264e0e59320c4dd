/*
 * check_store_image.c — the whole contents: an export hands out the key,
 * client and token records, a replace takes them (and refuses a forged
 * one), also when built beside the store and swapped in later; and the
 * tokens, whose commands are applied like any other but which are never
 * keys.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "token.h"

#include "store_fixture.h"
#include "check_store.h"

/* ------------------------------------------------------------ whole contents */

struct records {
	int n, keys, clients, tokens;
};

static int
count_cb(void *arg, const struct store_record *rec)
{
	struct records *c = arg;

	ck_assert(store_record_ok(rec));
	c->n++;
	c->keys += rec->key[0] == 'k';
	c->clients += rec->key[0] == 'c';
	c->tokens += rec->key[0] == 't';
	return c->n == 100 ? 7 : 0;
}

int
feed_cb(void *arg, const struct store_record *rec)
{
	struct feed *f = arg;
	uint8_t *b = malloc(rec->klen + rec->vlen + 1);

	ck_assert_int_lt(f->n, 16);
	ck_assert_ptr_nonnull(b);
	memcpy(b, rec->key, rec->klen);
	memcpy(b + rec->klen, rec->val, rec->vlen);
	f->bufs[f->n] = b;
	f->recs[f->n++] = (struct store_record){ b, rec->klen, b + rec->klen, rec->vlen };
	return 0;
}

int
feed_next(void *arg, struct store_record *rec, char *err, size_t errlen)
{
	struct feed *f = arg;

	if (f->next < f->n) {
		*rec = f->recs[f->next++];
		return 1;
	}
	if (f->has_extra) {
		f->has_extra = false;
		*rec = f->extra;
		return 1;
	}
	return 0;
}

START_TEST(test_export_gives_the_key_and_client_records_and_replace_takes_them)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct records c = { 0 };
	struct feed f = { 0 };
	char err[512] = "", restore[320], *before, *after;

	populate(s);
	ck_assert_int_eq(store_export(s, count_cb, &c), 0);
	ck_assert_int_eq(c.keys, 3);
	ck_assert_int_eq(c.clients, 3);
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_export(s, count_cb, &c), -EBUSY);
	store_cancel(s);
	c.n = 99; /* the callback stops the walk at 100 */
	ck_assert_int_eq(store_export(s, count_cb, &c), 7);
	ck_assert_int_eq(store_export(s, feed_cb, &f), 0);

	set(s2, 1, 9, 1, "/mine", "stays", 5);
	snprintf(restore, sizeof(restore), "%s.restore", db2path);
	before = dump_all(s2);
	/* a meta record, and a key given twice, are refused; s2 stays as it was */
	f.extra = (struct store_record){ (const uint8_t *)"m:applied", 9,
		(const uint8_t *)"0123456789abcdef", 16 };
	f.has_extra = true;
	ck_assert_int_eq(
	    store_replace(s2, 7, 2, "n1,n2,n3", 8, feed_next, &f, err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(access(restore, F_OK), -1);
	f.next = 0;
	f.extra = f.recs[0];
	f.has_extra = true;
	ck_assert_int_eq(
	    store_replace(s2, 7, 2, "n1,n2,n3", 8, feed_next, &f, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "repeats a key") != NULL, "%s", err);
	after = dump_all(s2);
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(access(restore, F_OK), -1);
	free(before);
	free(after);

	f.next = 0;
	ck_assert_int_eq(
	    store_replace(s2, 7, 2, "n1,n2,n3", 8, feed_next, &f, err, sizeof(err)), 0);
	before = dump_all(s);
	after = dump_all(s2);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	for (int i = 0; i < f.n; i++)
		free(f.bufs[i]);
	store_close(s2);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------ tokens */

/* Apply TOKEN_PUT of name (access, prefix, a hash of byte h) at index. */
struct store_result
token_put(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *name,
    enum token_access access, const char *prefix, uint8_t h)
{
	uint8_t rec[TOKEN_RECORD_MAX], hash[TOKEN_HASH_LEN];
	uint8_t buf[STORE_CMD_SET_SIZE(RAFTCONF_MAX_ID, TOKEN_RECORD_MAX)];
	struct store_result res;
	ssize_t rlen, n;

	memset(hash, h, sizeof(hash));
	rlen = token_record_encode(rec, sizeof(rec), access, prefix, strlen(prefix), hash);
	ck_assert_int_gt(rlen, 0);
	n = store_cmd_encode_token_put(
	    buf, sizeof(buf), client, seq, name, strlen(name), rec, (size_t)rlen);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

static struct store_result
token_del(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *name)
{
	uint8_t buf[STORE_CMD_DEL_SIZE(RAFTCONF_MAX_ID)];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_token_del(buf, sizeof(buf), client, seq, name, strlen(name));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

static int
token_cb(void *arg, const char *name, size_t nlen, const struct token_record *rec)
{
	return token_table_put(arg, name, nlen, rec);
}

/* The tokens of s, in name order: "name:access:prefix:first hash byte;..." */
char *
dump_tokens(struct store *s)
{
	struct token_table t = { 0 };
	struct dump d = { .cap = 64 };

	d.s = calloc(1, d.cap);
	ck_assert_ptr_nonnull(d.s);
	ck_assert_int_eq(store_tokens(s, token_cb, &t), 0);
	for (size_t i = 0; i < t.n; i++)
		dump_add(&d, "%s:%s:%.*s:%02x;", t.v[i]->name, token_access_name(t.v[i]->access),
		    (int)t.v[i]->plen, t.v[i]->prefix, t.v[i]->hash[0]);
	token_table_free(&t);
	return d.s;
}

static int
no_token_key_cb(
    void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen, uint64_t rev)
{
	ck_assert_msg(
	    strstr(key, "app-ro") == NULL && strstr(key, "all") == NULL, "list shows %s", key);
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_token_commands_round_trip_and_bad_ones_are_refused)
{
	uint8_t rec[TOKEN_RECORD_MAX], hash[TOKEN_HASH_LEN] = { 0 };
	uint8_t buf[STORE_CMD_SET_SIZE(RAFTCONF_MAX_ID, TOKEN_RECORD_MAX)];
	struct store_cmd c;
	ssize_t rlen, n;

	rlen = token_record_encode(rec, sizeof(rec), TOKEN_READ, "/app/", 5, hash);
	n = store_cmd_encode_token_put(buf, sizeof(buf), 3, 4, "app-ro", 6, rec, (size_t)rlen);
	ck_assert_int_eq(n, STORE_CMD_SET_SIZE(6, (size_t)rlen));
	ck_assert_int_eq(buf[0], STORE_OP_TOKEN_PUT);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_int_eq(c.op, STORE_OP_TOKEN_PUT);
	ck_assert(!store_cmd_is_key(c.op));
	ck_assert_uint_eq(c.client_id, 3);
	ck_assert_uint_eq(c.seq, 4);
	ck_assert(c.klen == 6 && memcmp(c.key, "app-ro", 6) == 0);
	ck_assert(c.vlen == (size_t)rlen && memcmp(c.value, rec, c.vlen) == 0);
	for (size_t len = 0; len < (size_t)n; len++)
		ck_assert_int_eq(store_cmd_decode(buf, len, &c), -EBADMSG);
	/* A record that does not decode, forged by hand. */
	buf[n - TOKEN_HASH_LEN - 5 - 4] = 9; /* the record's version */
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), -EBADMSG);
	/* A name outside [A-Za-z0-9_-]: refused to encode and, forged, to decode. */
	ck_assert_int_eq(
	    store_cmd_encode_token_put(buf, sizeof(buf), 1, 1, "a/b", 3, rec, (size_t)rlen),
	    -EINVAL);
	ck_assert_int_eq(
	    store_cmd_encode_token_put(buf, sizeof(buf), 1, 1, "ab", 2, rec, (size_t)rlen - 1),
	    -EINVAL);
	n = store_cmd_encode_token_del(buf, sizeof(buf), 1, 2, "app-ro", 6);
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(6));
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_int_eq(c.op, STORE_OP_TOKEN_DEL);
	buf[STORE_CMD_HEADER + 3] = '/';
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), -EBADMSG);
	ck_assert_int_eq(store_cmd_encode_token_del(buf, sizeof(buf), 1, 2, "", 0), -EINVAL);
	ck_assert(store_cmd_is_key(STORE_OP_SET) && store_cmd_is_key(STORE_OP_DEL));
	ck_assert(!store_cmd_is_key(STORE_OP_TOKEN_DEL));
}
END_TEST

START_TEST(test_tokens_apply_and_are_never_keys)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;
	char *t;
	int keys = 0;

	set(s, 1, 1, 1, "/app/x", "v", 1);
	r = token_put(s, 2, 2, 1, "app-ro", TOKEN_READ, "/app/", 0xaa);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 2);
	/* The same name again is refused and changes nothing... */
	r = token_put(s, 3, 3, 1, "app-ro", TOKEN_WRITE, "", 0xbb);
	ck_assert_int_eq(r.status, STORE_EXISTS);
	/* ...and a retry of the first is its first answer again. */
	r = token_put(s, 4, 2, 1, "app-ro", TOKEN_READ, "/app/", 0xaa);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert(r.duplicate);
	r = token_put(s, 5, 2, 2, "all", TOKEN_WRITE, "", 0xcc);
	ck_assert_int_eq(r.status, STORE_OK);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;app-ro:read:/app/:aa;");
	free(t);

	/* Not a key: get, list of everything, and a key named like one. */
	ck_assert_int_eq(store_get(s, "app-ro", 6, NULL, NULL, NULL), -ENOENT);
	ck_assert_int_eq(store_get(s, "t:app-ro", 8, NULL, NULL, NULL), -ENOENT);
	ck_assert_int_eq(store_list(s, "", 0, no_token_key_cb, &keys), 0);
	ck_assert_int_eq(keys, 1);
	keys = 0;
	ck_assert_int_eq(store_list(s, "t", 1, no_token_key_cb, &keys), 0);
	ck_assert_int_eq(keys, 0);
	/* A key of the same name is another thing. */
	set(s, 6, 0, 0, "app-ro", "key", 3);
	check_value(s, "app-ro", "key", 3, 6);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;app-ro:read:/app/:aa;");
	free(t);
	del(s, 7, 0, 0, "app-ro");

	r = token_del(s, 8, 2, 3, "app-ro");
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 8);
	r = token_del(s, 9, 2, 4, "app-ro");
	ck_assert_int_eq(r.status, STORE_NOT_FOUND);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;");
	free(t);
	check_value(s, "/app/x", "v", 1, 1);

	/* The file checks at open with "t:" records in it (and a client
	 * record of status STORE_EXISTS). */
	store_close(s);
	s = open_ok(dbpath);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;");
	free(t);
	/* Read from what the check at open kept, until a write: then from
	 * the file again, with the change. */
	r = token_put(s, 10, 2, 5, "new", TOKEN_READ, "/n/", 0xee);
	ck_assert_int_eq(r.status, STORE_OK);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;new:read:/n/:ee;");
	free(t);
	store_close(s);
	s = open_ok(dbpath);
	ck_assert_int_eq(store_begin(s), 0);
	r = token_del(s, 11, 2, 6, "all");
	ck_assert_int_eq(r.status, STORE_OK);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "new:read:/n/:ee;");
	free(t);
	ck_assert_int_eq(store_commit(s), 0);
	store_close(s);
	/* A new store has none, and then what is applied. */
	ck_assert_int_eq(store_destroy(dbpath), 0);
	s = open_ok(dbpath);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "");
	free(t);
	token_put(s, 1, 2, 1, "first", TOKEN_READ, "", 0x11);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "first:read::11;");
	free(t);
	store_close(s);
}
END_TEST

START_TEST(test_tokens_survive_an_export_and_replace_and_a_forged_one_is_refused)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct records c = { 0 };
	struct feed f = { 0 };
	char err[512] = "", *a, *b;
	int keys = 0;

	set(s, 1, 1, 1, "/app/x", "v", 1);
	token_put(s, 2, 2, 1, "app-ro", TOKEN_READ, "/app/", 0xaa);
	token_put(s, 3, 2, 2, "all", TOKEN_WRITE, "", 0xcc);
	token_put(s, 4, 2, 3, "gone", TOKEN_WRITE, "/g", 0xdd);
	token_del(s, 5, 2, 4, "gone");
	ck_assert_int_eq(store_export(s, count_cb, &c), 0);
	ck_assert_int_eq(c.keys, 1);
	ck_assert_int_eq(c.tokens, 2);
	ck_assert_int_eq(c.clients, 2);
	ck_assert_int_eq(store_export(s, feed_cb, &f), 0);

	/* A "t:" record whose value is not a token record is refused whole. */
	f.extra = (struct store_record){ (const uint8_t *)"t:bad", 5, (const uint8_t *)"x", 1 };
	f.has_extra = true;
	ck_assert_int_eq(
	    store_replace(s2, 5, 1, NULL, 0, feed_next, &f, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "not one the store writes") != NULL, "%s", err);
	ck_assert(!store_record_ok(&f.extra));

	f.next = 0;
	f.has_extra = false;
	ck_assert_int_eq(store_replace(s2, 5, 1, NULL, 0, feed_next, &f, err, sizeof(err)), 0);
	a = dump_tokens(s);
	b = dump_tokens(s2);
	ck_assert_str_eq(a, "all:write::cc;app-ro:read:/app/:aa;");
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	a = dump_all(s);
	b = dump_all(s2);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	ck_assert_int_eq(store_list(s2, "", 0, no_token_key_cb, &keys), 0);
	ck_assert_int_eq(keys, 1);
	for (int i = 0; i < f.n; i++)
		free(f.bufs[i]);
	store_close(s2);
	store_close(s);
}
END_TEST

/*
 * store_replace in two steps (a node restores the leader's snapshot on a
 * thread): the build leaves the store as it was; a build thrown away
 * leaves no file; a swap brings the new contents and their tokens; a
 * build of another store's file is refused by the swap, and thrown away.
 */
START_TEST(test_a_replace_built_beside_the_store_is_swapped_in_later)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct store_built *b = NULL;
	struct feed f = { 0 };
	char err[512] = "", restore[320], *before, *after, *a, *t;

	populate(s);
	token_put(s, 8, 7, 1, "ro", TOKEN_READ, "/app/", 0xaa);
	ck_assert_int_eq(store_export(s, feed_cb, &f), 0);
	set(s2, 1, 9, 1, "/mine", "stays", 5);
	snprintf(restore, sizeof(restore), "%s.restore", db2path);
	before = dump_all(s2);

	ck_assert_int_eq(store_replace_build(store_path(s2), 8, 1, "n1,n2,n3", 8, feed_next, &f, &b,
			     err, sizeof(err)),
	    0);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(access(restore, F_OK), 0);
	after = dump_all(s2);
	ck_assert_str_eq(before, after);
	free(after);
	store_built_free(b);
	ck_assert_int_eq(access(restore, F_OK), -1);
	after = dump_all(s2);
	ck_assert_str_eq(before, after);
	free(after);

	f.next = 0;
	ck_assert_int_eq(store_replace_build(store_path(s2), 8, 1, "n1,n2,n3", 8, feed_next, &f, &b,
			     err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_replace_swap(s2, b, err, sizeof(err)), 0);
	ck_assert_int_eq(access(restore, F_OK), -1);
	ck_assert_uint_eq(store_applied(s2), 8);
	a = dump_all(s);
	after = dump_all(s2);
	ck_assert_str_eq(a, after);
	free(a);
	free(after);
	t = dump_tokens(s2);
	ck_assert_str_eq(t, "ro:read:/app/:aa;");
	free(t);

	/* built for the other store's file: refused at the swap, and gone */
	f.next = 0;
	ck_assert_int_eq(store_replace_build(store_path(s2), 8, 1, "n1,n2,n3", 8, feed_next, &f, &b,
			     err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_replace_swap(s, b, err, sizeof(err)), -EIO);
	ck_assert_int_eq(access(restore, F_OK), -1);
	free(before);
	for (int i = 0; i < f.n; i++)
		free(f.bufs[i]);
	store_close(s2);
	store_close(s);
}
END_TEST

void
store_image_tests(TCase *tc)
{
	tcase_add_test(tc, test_export_gives_the_key_and_client_records_and_replace_takes_them);
	tcase_add_test(tc, test_token_commands_round_trip_and_bad_ones_are_refused);
	tcase_add_test(tc, test_tokens_apply_and_are_never_keys);
	tcase_add_test(tc, test_tokens_survive_an_export_and_replace_and_a_forged_one_is_refused);
	tcase_add_test(tc, test_a_replace_built_beside_the_store_is_swapped_in_later);
}
