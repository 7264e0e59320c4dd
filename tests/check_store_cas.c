/*
 * check_store_cas.c — a key's revision, create revision and version; SET
 * and DEL that apply only at an expected revision, and a retried one that
 * gets its first answer; transactions, one branch run in order with its
 * gets; and a store of the format before create revisions, refused.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>
#include <unistd.h>

#include "bytes.h"
#include "store.h"

#include "store_fixture.h"
#include "check_store.h"

/* ------------------------------------------------------------ revisions, CAS, txn */

static struct store_meta
meta_of(struct store *s, const char *key)
{
	struct store_meta m = { 0 };

	ck_assert_int_eq(store_get_meta(s, key, strlen(key), NULL, NULL, &m), 0);
	return m;
}

static void
assert_meta(struct store *s, const char *key, uint64_t rev, uint64_t create, uint64_t version)
{
	struct store_meta m = meta_of(s, key);

	ck_assert_uint_eq(m.revision, rev);
	ck_assert_uint_eq(m.create_revision, create);
	ck_assert_uint_eq(m.version, version);
}

START_TEST(test_a_key_has_its_revision_create_revision_and_version)
{
	struct store *s = open_ok(dbpath);

	set(s, 3, 0, 0, "/k", "a", 1);
	assert_meta(s, "/k", 3, 3, 1);
	set(s, 5, 0, 0, "/k", "b", 1);
	assert_meta(s, "/k", 5, 3, 2);
	del(s, 6, 0, 0, "/k");
	ck_assert_int_eq(store_get_meta(s, "/k", 2, NULL, NULL, NULL), -ENOENT);
	set(s, 8, 0, 0, "/k", "c", 1);
	assert_meta(s, "/k", 8, 8, 1);
	/* and they survive a close and a reopen */
	store_close(s);
	s = open_ok(dbpath);
	assert_meta(s, "/k", 8, 8, 1);
	store_close(s);
}
END_TEST

static struct store_result
set_if(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *key,
    const char *val, uint64_t if_rev)
{
	uint8_t buf[STORE_CMD_SET_SIZE(RAFTCONF_MAX_KEY, 64) + 8];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_set_if(
	    buf, sizeof(buf), client, seq, key, strlen(key), val, strlen(val), if_rev);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

static struct store_result
del_if(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *key,
    uint64_t if_rev)
{
	uint8_t buf[STORE_CMD_DEL_SIZE(RAFTCONF_MAX_KEY) + 8];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_del_if(buf, sizeof(buf), client, seq, key, strlen(key), if_rev);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

START_TEST(test_set_if_and_del_if_apply_only_at_the_expected_revision)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;

	r = set_if(s, 1, 0, 0, "/c", "1", 0); /* must not exist: it does not */
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 1);
	r = set_if(s, 2, 0, 0, "/c", "2", 0); /* must not exist: it does */
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 1);
	check_value(s, "/c", "1", 1, 1);
	r = set_if(s, 3, 0, 0, "/c", "3", 2); /* a revision it never had */
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 1);
	r = set_if(s, 4, 0, 0, "/c", "4", 1);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 4);
	assert_meta(s, "/c", 4, 1, 2);
	r = del_if(s, 5, 0, 0, "/c", 1);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 4);
	check_value(s, "/c", "4", 1, 4);
	r = del_if(s, 6, 0, 0, "/c", 4);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_int_eq(store_get(s, "/c", 2, NULL, NULL, NULL), -ENOENT);
	r = set_if(s, 7, 0, 0, "/c", "7", 4); /* gone: its revision is 0 now */
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 0);
	ck_assert_uint_eq(store_applied(s), 7);
	store_close(s);
}
END_TEST

/*
 * A CAS that applied, retried (the client never heard the answer), gets
 * its first answer — not a failure caused by its own first application.
 */
START_TEST(test_a_retried_cas_gets_its_first_answer)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;

	r = set_if(s, 10, 7, 1, "/n", "1", 0);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 10);
	r = set_if(s, 11, 7, 1, "/n", "1", 0);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 10);
	/* a failed one likewise answers its failure again, with the revision then */
	r = set_if(s, 12, 7, 2, "/n", "2", 0);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 10);
	set(s, 13, 0, 0, "/n", "x", 1);
	r = set_if(s, 14, 7, 2, "/n", "2", 0);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 10);
	check_value(s, "/n", "x", 1, 13);
	store_close(s);
}
END_TEST

struct gets {
	char s[512];
};

/* What a txn did, as its callback tells it: "key=value@rev/create/version;" per get,
 * "+key@rev/create/version;" per set, "-key;" per delete. */
static void
gets_cb(void *arg, uint8_t kind, const char *key, size_t klen, const struct store_meta *m,
    const uint8_t *val, size_t vlen)
{
	struct gets *g = arg;
	size_t n = strlen(g->s);

	if (kind == STORE_TXN_SET)
		snprintf(g->s + n, sizeof(g->s) - n, "+%.*s@%" PRIu64 "/%" PRIu64 "/%" PRIu64 ";",
		    (int)klen, key, m->revision, m->create_revision, m->version);
	else if (kind == STORE_TXN_DEL)
		snprintf(g->s + n, sizeof(g->s) - n, "-%.*s;", (int)klen, key);
	else if (m == NULL)
		snprintf(g->s + n, sizeof(g->s) - n, "%.*s=none;", (int)klen, key);
	else
		snprintf(g->s + n, sizeof(g->s) - n,
		    "%.*s=%.*s@%" PRIu64 "/%" PRIu64 "/%" PRIu64 ";", (int)klen, key, (int)vlen,
		    (const char *)val, m->revision, m->create_revision, m->version);
}

static struct store_compare
cmp(uint8_t target, uint8_t result, const char *key, uint64_t rev, const char *val)
{
	return (struct store_compare){ target, result, key, strlen(key), rev, (const uint8_t *)val,
		val ? strlen(val) : 0 };
}

static struct store_txn_op
op(uint8_t kind, const char *key, const char *val)
{
	return (struct store_txn_op){ kind, key, strlen(key), (const uint8_t *)val,
		val ? strlen(val) : 0 };
}

static struct store_result
txn(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const struct store_compare *c,
    size_t nc, const struct store_txn_op *t, size_t nt, const struct store_txn_op *e, size_t ne,
    struct gets *g)
{
	static uint8_t buf[65536];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_txn(buf, sizeof(buf), NULL, client, seq, c, nc, t, nt, e, ne);
	ck_assert_int_gt(n, 0);
	g->s[0] = '\0';
	ck_assert_int_eq(store_apply_txn(s, index, 1, buf, (size_t)n, &res, gets_cb, g), 0);
	return res;
}

START_TEST(test_a_txn_runs_one_branch_in_order_and_gives_its_gets)
{
	struct store *s = open_ok(dbpath);
	struct store_compare c[3];
	struct store_txn_op t[4], e[2];
	struct store_result r;
	struct gets g;

	set(s, 1, 0, 0, "/a", "tok", 3);
	set(s, 2, 0, 0, "/b", "", 0);
	/* move the token from /a to /b if /a holds it and /b is at 2 */
	c[0] = cmp(STORE_CMP_VALUE, STORE_CMP_EQ, "/a", 0, "tok");
	c[1] = cmp(STORE_CMP_REV, STORE_CMP_EQ, "/b", 2, NULL);
	c[2] = cmp(STORE_CMP_REV, STORE_CMP_LT, "/zz", 1, NULL); /* does not exist: 0 < 1 */
	t[0] = op(STORE_TXN_GET, "/a", NULL);
	t[1] = op(STORE_TXN_SET, "/b", "tok");
	t[2] = op(STORE_TXN_DEL, "/a", NULL);
	t[3] = op(STORE_TXN_GET, "/a", NULL);
	e[0] = op(STORE_TXN_GET, "/a", NULL);
	e[1] = op(STORE_TXN_GET, "/b", NULL);
	r = txn(s, 3, 0, 0, c, 3, t, 4, e, 2, &g);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 3);
	ck_assert_str_eq(g.s, "/a=tok@1/1/1;+/b@3/2/2;-/a;/a=none;");
	assert_meta(s, "/b", 3, 2, 2);
	ck_assert_int_eq(store_get(s, "/a", 2, NULL, NULL, NULL), -ENOENT);

	/* again: /a no longer holds it, so the else branch runs and changes nothing */
	r = txn(s, 4, 0, 0, c, 3, t, 4, e, 2, &g);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 4);
	ck_assert_str_eq(g.s, "/a=none;/b=tok@3/2/2;");
	assert_meta(s, "/b", 3, 2, 2);

	/* != and > */
	c[0] = cmp(STORE_CMP_VALUE, STORE_CMP_NE, "/b", 0, "x");
	c[1] = cmp(STORE_CMP_REV, STORE_CMP_GT, "/b", 2, NULL);
	r = txn(s, 5, 0, 0, c, 2, t + 1, 1, NULL, 0, &g);
	ck_assert_int_eq(r.status, STORE_OK);
	/* a delete of a key that is not there is no delete to tell */
	r = txn(s, 50, 0, 0, NULL, 0, t + 2, 1, NULL, 0, &g);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_str_eq(g.s, "");
	/* a value compare of a key that does not exist is false, = or != */
	c[0] = cmp(STORE_CMP_VALUE, STORE_CMP_NE, "/nothing", 0, "x");
	r = txn(s, 51, 0, 0, c, 1, t + 1, 1, NULL, 0, &g);
	ck_assert_int_eq(r.status, STORE_FAILED);
	assert_meta(s, "/b", 5, 2, 3);

	/* a retried txn gets its branch and revision, and changes nothing */
	c[0] = cmp(STORE_CMP_REV, STORE_CMP_EQ, "/b", 5, NULL);
	r = txn(s, 52, 9, 1, c, 1, t + 1, 1, NULL, 0, &g);
	ck_assert_int_eq(r.status, STORE_OK);
	r = txn(s, 53, 9, 1, c, 1, t + 1, 1, NULL, 0, &g);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 52);
	ck_assert_str_eq(g.s, "");
	assert_meta(s, "/b", 52, 2, 4);
	store_close(s);
}
END_TEST

START_TEST(test_txn_commands_round_trip_and_bad_ones_are_refused)
{
	static struct store_txn_op many[RAFTCONF_MAX_TXN_OPS + 1];
	static uint8_t buf[65536];
	struct store_compare c[1];
	struct store_txn_op t[2];
	struct store_cmd cmd;
	struct store_txn_iter it;
	struct store_compare gc;
	struct store_txn_op go;
	size_t need = 0;
	ssize_t n;

	c[0] = cmp(STORE_CMP_REV, STORE_CMP_GT, "/a", 5, NULL);
	t[0] = op(STORE_TXN_SET, "/a", "v");
	t[1] = op(STORE_TXN_GET, "/b", NULL);
	n = store_cmd_encode_txn(buf, sizeof(buf), &need, 3, 4, c, 1, t, 2, t + 1, 1);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq((size_t)n, need);
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, (size_t)n - 1, NULL, 3, 4, c, 1, t, 2, t + 1, 1), -ENOSPC);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &cmd), 0);
	ck_assert_int_eq(cmd.op, STORE_OP_TXN);
	ck_assert_uint_eq(cmd.client_id, 3);
	ck_assert_uint_eq(cmd.seq, 4);
	ck_assert_uint_eq(cmd.compares.count, 1);
	ck_assert_uint_eq(cmd.then_ops.count, 2);
	ck_assert_uint_eq(cmd.else_ops.count, 1);
	store_txn_iter_init(&it, &cmd.compares);
	ck_assert_int_eq(store_txn_next_compare(&it, &gc), 1);
	ck_assert_uint_eq(gc.revision, 5);
	ck_assert_int_eq(gc.result, STORE_CMP_GT);
	ck_assert_int_eq(store_txn_next_compare(&it, &gc), 0);
	store_txn_iter_init(&it, &cmd.then_ops);
	ck_assert_int_eq(store_txn_next_op(&it, &go), 1);
	ck_assert_int_eq(go.kind, STORE_TXN_SET);
	ck_assert_uint_eq(go.vlen, 1);
	/* truncated anywhere, or with a byte more: refused */
	for (ssize_t i = 0; i < n; i++)
		ck_assert_int_eq(store_cmd_decode(buf, (size_t)i, &cmd), -EBADMSG);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n + 1, &cmd), -EBADMSG);

	/* a value compare by <, a value on a get, a bad kind: refused */
	c[0] = cmp(STORE_CMP_VALUE, STORE_CMP_LT, "/a", 0, "x");
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, t, 1, NULL, 0), -EINVAL);
	c[0] = cmp(STORE_CMP_REV, STORE_CMP_EQ, "/a", 0, NULL);
	t[1] = op(STORE_TXN_GET, "/b", "x");
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, t, 2, NULL, 0), -EINVAL);
	t[1] = op(9, "/b", NULL);
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, t, 2, NULL, 0), -EINVAL);

	/* RAFTCONF_MAX_TXN_OPS in both branches together, no more */
	for (size_t i = 0; i <= RAFTCONF_MAX_TXN_OPS; i++)
		many[i] = op(STORE_TXN_DEL, "/k", NULL);
	n = store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, many, 100, many, 28);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &cmd), 0);
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, many, 100, many, 29), -EINVAL);
	ck_assert_int_eq(store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, many,
			     RAFTCONF_MAX_TXN_OPS + 1, NULL, 0),
	    -EINVAL);
	/* forged past the encoder: 100 + 29 ops decode as bad */
	n = store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, many, 100, many, 28);
	{
		size_t at = (size_t)n - 28 * (1 + 4 + 2 + 4) - 4;

		ck_assert_uint_eq(get_le32(buf + at), 28);
		put_le32(buf + at, 29);
		memcpy(buf + (size_t)n, buf + (size_t)n - 11, 11);
		ck_assert_int_eq(store_cmd_decode(buf, (size_t)n + 11, &cmd), -EBADMSG);
		put_le32(buf + at, 28);
	}
}
END_TEST

/* A store of the old format (keys without create revision and version) is refused, saying so. */
START_TEST(test_a_store_of_format_1_is_refused_with_a_clear_error)
{
	struct store *s = open_ok(dbpath), *s2 = NULL;
	struct tdb_context *t;
	char err[512] = "";
	uint8_t v[4] = { 1, 0, 0, 0 };
	TDB_DATA k = { (unsigned char *)"m:version", 9 }, d = { v, 4 };

	set(s, 1, 0, 0, "/a", "1", 1);
	store_close(s);
	t = tdb_open(dbpath, 0, 0, O_RDWR, 0600);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(tdb_store(t, k, d, TDB_REPLACE), 0);
	tdb_close(t);
	ck_assert_int_eq(store_open(dbpath, &s2, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "format version 1 is not this build's 2") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "rebuild it") != NULL, "%s", err);
}
END_TEST

void
store_cas_tests(TCase *tc)
{
	tcase_add_test(tc, test_a_key_has_its_revision_create_revision_and_version);
	tcase_add_test(tc, test_set_if_and_del_if_apply_only_at_the_expected_revision);
	tcase_add_test(tc, test_a_retried_cas_gets_its_first_answer);
	tcase_add_test(tc, test_a_txn_runs_one_branch_in_order_and_gives_its_gets);
	tcase_add_test(tc, test_txn_commands_round_trip_and_bad_ones_are_refused);
	tcase_add_test(tc, test_a_store_of_format_1_is_refused_with_a_clear_error);
}
