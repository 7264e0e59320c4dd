/*
 * check_proto_txn.c — the messages whose rules span several fields: a TXN's
 * compares and ops, the replies to it, a COUNT listing, DEL_PREFIX and its
 * deleted count, and the chunks of a backup.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_proto.h"

/* ---------------------------------------------------------------- TXN */

/* A TXN request with the given compares and ops, encoded (its rc) and crafted by hand. */
static int
txn_rc(const struct proto_compare *c, size_t nc, const struct proto_op *t, size_t nt,
       const struct proto_op *e, size_t ne, char *err, size_t errlen, int *decode_rc)
{
	struct proto_msg m = { .type = PROTO_T_TXN, .id = 1 }, d;
	struct items it = { .cmp = c, .ncmp = nc, .then_ops = t, .nthen = nt, .else_ops = e,
			    .nelse = ne };
	struct proto_buf b[3], out;
	uint32_t n[3] = { 0, 0, 0 };
	char derr[256];
	uint8_t *f;
	size_t len;
	int rc = 0;

	for (int k = 0; k < 3; k++)
		proto_buf_init(&b[k]);
	proto_buf_init(&out);
	/* the item adders check each item alone; the rules across them are the encoder's */
	for (size_t i = 0; i < nc && rc == 0; i++)
		rc = proto_txn_add_compare(&b[0], &n[0], &c[i]);
	for (size_t i = 0; i < nt && rc == 0; i++)
		rc = proto_txn_add_op(&b[1], &n[1], &t[i]);
	for (size_t i = 0; i < ne && rc == 0; i++)
		rc = proto_txn_add_op(&b[2], &n[2], &e[i]);
	if (rc == 0) {
		m.txn.compares = (struct proto_items){ n[0], b[0].data, b[0].len };
		m.txn.then_ops = (struct proto_items){ n[1], b[1].data, b[1].len };
		m.txn.else_ops = (struct proto_items){ n[2], b[2].data, b[2].len };
		rc = proto_encode(&out, &m, err, errlen);
	}
	f = craft(&m, &it, &len);
	*decode_rc = proto_decode(f, len, &d, derr, sizeof(derr));
	free(f);
	for (int k = 0; k < 3; k++)
		proto_buf_free(&b[k]);
	proto_buf_free(&out);
	return rc;
}

START_TEST(test_a_txn_breaking_a_rule_across_fields_is_refused_both_ways)
{
	struct proto_compare c = { PROTO_CMP_VALUE, PROTO_CMP_LT, S("/a"), 0, S("x") };
	struct proto_op o = { PROTO_OP_SET, S("/a"), S("v") };
	char err[256];
	int drc;

	ck_assert_int_eq(txn_rc(&c, 1, &o, 1, NULL, 0, err, sizeof(err), &drc), -EINVAL);
	ck_assert_msg(strstr(err, "must be = or !=") != NULL, "%s", err);
	ck_assert_int_eq(drc, -EPROTO);
	c = (struct proto_compare){ PROTO_CMP_VALUE, PROTO_CMP_EQ, S("/a"), 3, S("x") };
	ck_assert_int_eq(txn_rc(&c, 1, &o, 1, NULL, 0, err, sizeof(err), &drc), -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	c = (struct proto_compare){ PROTO_CMP_REV, PROTO_CMP_EQ, S("/a"), 3, S("x") };
	ck_assert_int_eq(txn_rc(&c, 1, &o, 1, NULL, 0, err, sizeof(err), &drc), -EINVAL);
	ck_assert_msg(strstr(err, "of a revision has a value") != NULL, "%s", err);
	ck_assert_int_eq(drc, -EPROTO);
	c = (struct proto_compare){ PROTO_CMP_REV, PROTO_CMP_EQ, S("/a"), 3, S("") };
	o = (struct proto_op){ PROTO_OP_GET, S("/a"), S("v") };
	ck_assert_int_eq(txn_rc(&c, 1, NULL, 0, &o, 1, err, sizeof(err), &drc), -EINVAL);
	ck_assert_msg(strstr(err, "else-op 0 carries a value") != NULL, "%s", err);
	ck_assert_int_eq(drc, -EPROTO);
	o = (struct proto_op){ PROTO_OP_GET, S("/a"), S("") };
	ck_assert_int_eq(txn_rc(&c, 1, NULL, 0, &o, 1, err, sizeof(err), &drc), 0);
	ck_assert_int_eq(drc, 0);
}
END_TEST

START_TEST(test_a_txn_of_more_than_the_limit_of_ops_is_too_big)
{
	static struct proto_op ops[RAFTCONF_MAX_TXN_OPS + 1];
	static struct proto_compare cmps[RAFTCONF_MAX_TXN_OPS + 1];
	struct proto_buf b;
	uint32_t n = 0;
	char err[256];
	int drc;

	for (int i = 0; i <= RAFTCONF_MAX_TXN_OPS; i++) {
		ops[i] = (struct proto_op){ PROTO_OP_DEL, S("/k"), S("") };
		cmps[i] = (struct proto_compare){ PROTO_CMP_REV, PROTO_CMP_GT, S("/k"), 0, S("") };
	}
	/* 128 in the two branches together: fine; 129: too big, both ways */
	ck_assert_int_eq(txn_rc(cmps, RAFTCONF_MAX_TXN_OPS, ops, 100, ops, 28, err, sizeof(err),
				&drc),
			 0);
	ck_assert_int_eq(drc, 0);
	ck_assert_int_eq(txn_rc(cmps, 1, ops, 100, ops, 29, err, sizeof(err), &drc), -E2BIG);
	ck_assert_msg(strstr(err, "over the limit of 128 together") != NULL, "%s", err);
	ck_assert_int_eq(drc, -E2BIG);
	/* 129 compares, or 129 in one branch: too big to decode; the adder stops at 128 */
	ck_assert_int_eq(txn_rc(cmps, RAFTCONF_MAX_TXN_OPS + 1, ops, 1, NULL, 0, err, sizeof(err),
				&drc),
			 -E2BIG);
	ck_assert_int_eq(drc, -E2BIG);
	ck_assert_int_eq(txn_rc(cmps, 0, ops, RAFTCONF_MAX_TXN_OPS + 1, NULL, 0, err, sizeof(err),
				&drc),
			 -E2BIG);
	ck_assert_int_eq(drc, -E2BIG);
	proto_buf_init(&b);
	for (int i = 0; i < RAFTCONF_MAX_TXN_OPS; i++)
		ck_assert_int_eq(proto_txn_add_op(&b, &n, &ops[i]), 0);
	ck_assert_int_eq(proto_txn_add_op(&b, &n, &ops[0]), -E2BIG);
	ck_assert_uint_eq(n, RAFTCONF_MAX_TXN_OPS);
	proto_buf_free(&b);
}
END_TEST

/* Whether a TXN could write decides whether raftconfctl and HTTP dedup it. */
START_TEST(test_a_txn_writes_when_a_branch_sets_or_deletes)
{
	struct proto_msg m = { .type = PROTO_T_TXN };
	struct proto_op get = { PROTO_OP_GET, S("/a"), S("") };
	struct proto_op del = { PROTO_OP_DEL, S("/a"), S("") };
	struct proto_buf b;
	uint32_t n = 0;

	ck_assert(!proto_txn_writes(&m));
	proto_buf_init(&b);
	ck_assert_int_eq(proto_txn_add_op(&b, &n, &get), 0);
	m.txn.then_ops = (struct proto_items){ n, b.data, b.len };
	m.txn.else_ops = m.txn.then_ops;
	ck_assert(!proto_txn_writes(&m));
	ck_assert_int_eq(proto_txn_add_op(&b, &n, &del), 0);
	m.txn.else_ops = (struct proto_items){ n, b.data, b.len };
	ck_assert(proto_txn_writes(&m));
	ck_assert(proto_txn_writes(&first_sample(PROTO_T_TXN)[1].m));
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_a_replayed_txn_reply_carries_no_results)
{
	struct sample s = *first_sample(PROTO_T_TXN_REPLY);
	struct proto_buf b;
	struct proto_reply rb;
	char err[256];
	uint8_t *f;
	size_t len;

	/* the builder refuses it */
	proto_buf_init(&b);
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_TXN_REPLY, 1), 0);
	ck_assert_int_eq(proto_reply_add_kv(&rb, &kvs3[0]), 0);
	ck_assert_int_eq(proto_reply_end_txn(&rb, PROTO_F_REPLAYED, 5), -EINVAL);
	proto_reply_abort(&rb);
	/* and so does the decoder */
	s.m.txn_reply.flags = PROTO_F_REPLAYED;
	s.it = (struct items){ .n = 1, .kv = kvs3 };
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "replayed answer carries 1 results") != NULL, "%s", err);
	free(f);
	/* a request type is no reply to build */
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_TXN, 1), -EINVAL);
	proto_buf_free(&b);
}
END_TEST

/* m, encoded and crafted by hand: refused both ways with words in the error. */
static void
assert_refused_both_ways(const struct proto_msg *m, const char *words)
{
	struct proto_buf b;
	char err[256];
	uint8_t *f;
	size_t len;

	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, m, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, words) != NULL, "encode: %s", err);
	ck_assert_uint_eq(b.len, 0);
	proto_buf_free(&b);
	f = craft(m, &(struct items){ 0 }, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, words) != NULL, "decode: %s", err);
	free(f);
}

START_TEST(test_a_count_goes_without_values_keys_only_or_a_limit)
{
	struct proto_msg m = first_sample(PROTO_T_LIST_EX)->m;

	m.list_ex.flags = PROTO_F_COUNT | PROTO_F_META;
	m.list_ex.limit = 0;
	assert_refused_both_ways(&m, "COUNT goes with neither");
	m.list_ex.flags = PROTO_F_COUNT | PROTO_F_KEYS_ONLY;
	assert_refused_both_ways(&m, "COUNT goes with neither");
	m.list_ex.flags = PROTO_F_COUNT | PROTO_F_STALE;
	m.list_ex.limit = 1;
	assert_refused_both_ways(&m, "COUNT goes with neither");
	/* keys only with a limit, meta or not, is a listing like any other */
	m.list_ex.flags = PROTO_F_KEYS_ONLY;
	m.list_ex.limit = UINT64_MAX;
	ck_assert_int_eq(encode_rc(&m, NULL, (char[256]){ 0 }, 256), 0);
}
END_TEST

START_TEST(test_every_key_is_deleted_only_with_the_all_flag)
{
	struct proto_msg m = first_sample(PROTO_T_DEL_PREFIX)->m;
	char err[256];

	m.del_prefix.prefix = S("");
	m.del_prefix.flags = 0;
	assert_refused_both_ways(&m, "an empty prefix (every key) without the ALL flag");
	m.del_prefix.prefix = S("/app/");
	m.del_prefix.flags = PROTO_F_ALL;
	assert_refused_both_ways(&m, "the ALL flag with a prefix");
	m.del_prefix.flags = 0;
	m.del_prefix.prefix = S("/a\0b");
	assert_refused_both_ways(&m, "prefix");
	m.del_prefix.prefix = S("");
	m.del_prefix.flags = PROTO_F_ALL;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_a_deleted_count_over_the_limit_of_one_deletion_is_refused)
{
	struct proto_msg m = first_sample(PROTO_T_DELETED)->m;
	char err[256];
	uint8_t *f;
	size_t len;

	m.deleted.deleted = RAFTCONF_MAX_DEL_PREFIX_KEYS;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), 0);
	m.deleted.deleted = RAFTCONF_MAX_DEL_PREFIX_KEYS + 1;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), -EINVAL);
	f = craft(&m, &(struct items){ 0 }, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "deleted 100001 is not in 0..100000") != NULL, "%s", err);
	free(f);
	/* The same rule for every ranged u64: a POLL's wait. */
	m = first_sample(PROTO_T_POLL)->m;
	m.poll.wait_ms = RAFTCONF_MAX_POLL_MS + 1;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), -EINVAL);
	f = craft(&m, &(struct items){ 0 }, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "wait_ms 300001 is not in 0..300000") != NULL, "%s", err);
	free(f);
}
END_TEST

START_TEST(test_a_backup_chunk_past_the_end_or_wrongly_marked_last_is_refused)
{
	struct proto_msg m = { .type = PROTO_T_BACKUP_CHUNK, .id = 1 };
	struct proto_buf b;
	char err[256];

	proto_buf_init(&b);
	m.backup_chunk.total = 10;
	m.backup_chunk.offset = 8;
	m.backup_chunk.data = S("abc"); /* 8 + 3 > 10 */
	m.backup_chunk.flags = PROTO_F_LAST;
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "pass the end") != NULL, "%s", err);
	m.backup_chunk.offset = 7; /* ends it, but not marked last */
	m.backup_chunk.flags = 0;
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	m.backup_chunk.offset = 6; /* does not end it, but marked last */
	m.backup_chunk.flags = PROTO_F_LAST;
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	m.backup_chunk.offset = UINT64_MAX; /* no overflow */
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	m.backup_chunk.offset = 7;
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), 0);
	proto_buf_free(&b);
}
END_TEST

void
proto_txn_tests(Suite *s)
{
	TCase *tc;

	tc = tcase_create("txn");
	tcase_add_test(tc, test_a_txn_breaking_a_rule_across_fields_is_refused_both_ways);
	tcase_add_test(tc, test_a_txn_of_more_than_the_limit_of_ops_is_too_big);
	tcase_add_test(tc, test_a_replayed_txn_reply_carries_no_results);
	tcase_add_test(tc, test_a_txn_writes_when_a_branch_sets_or_deletes);
	tcase_add_test(tc, test_a_backup_chunk_past_the_end_or_wrongly_marked_last_is_refused);
	tcase_add_test(tc, test_a_count_goes_without_values_keys_only_or_a_limit);
	tcase_add_test(tc, test_every_key_is_deleted_only_with_the_all_flag);
	tcase_add_test(tc, test_a_deleted_count_over_the_limit_of_one_deletion_is_refused);
	suite_add_tcase(s, tc);
}
