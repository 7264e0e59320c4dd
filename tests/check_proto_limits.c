/*
 * check_proto_limits.c — every field one byte over its limit and every list
 * one item over its count, refused by the encoder and by the decoder alike.
 * The field setters and the one-item lists made here serve the bad-frame
 * tests too (check_proto_bad.c).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_proto.h"

/* ----------------------------------------------------------- oversize */

#define SETTER(name, lvalue)                                                     \
	void name(struct proto_msg *m, union proto_item *it, struct proto_str s) \
	{                                                                        \
		(void)m;                                                         \
		(void)it;                                                        \
		lvalue = s;                                                      \
	}

SETTER(set_get_key, m->get.key)
SETTER(set_set_key, m->set.key)
SETTER(set_set_value, m->set.value)
SETTER(set_del_key, m->del.key)
SETTER(set_list_prefix, m->list.prefix)
SETTER(set_join_id, m->join.node_id)
SETTER(set_join_address, m->join.address)
SETTER(set_join_cluster, m->join.cluster)
SETTER(set_joinreq_address, m->joinreq.address)
SETTER(set_remove_id, m->remove.node_id)
SETTER(set_transfer_id, m->transfer.node_id)
SETTER(set_watch_prefix, m->watch.prefix)
SETTER(set_value_value, m->value_reply.value)
SETTER(set_error_message, m->error.message)
SETTER(set_entry_key, it->entry.key)
SETTER(set_entry_value, it->entry.value)
SETTER(set_pair_name, it->pair.name)
SETTER(set_pair_value, it->pair.value)
SETTER(set_member_id, it->member.node_id)
SETTER(set_member_address, it->member.address)
SETTER(set_view_id, it->member_view.node_id)
SETTER(set_view_relay, it->member_view.relay)
SETTER(set_event_key, m->event.key)
SETTER(set_event_value, m->event.value)
SETTER(set_hello_cluster, m->hello.cluster)
SETTER(set_hello_id, m->hello.node_id)
SETTER(set_hello_address, m->hello.address)
SETTER(set_hello_auth, m->hello.auth)
SETTER(set_reject_message, m->reject.message)
SETTER(set_raft_payload, m->raft.payload)
SETTER(set_token_add_name, m->token_add.name)
SETTER(set_token_add_prefix, m->token_add.prefix)
SETTER(set_token_add_hash, m->token_add.hash)
SETTER(set_token_revoke_name, m->token_revoke.name)
SETTER(set_token_name, it->token.name)
SETTER(set_token_prefix, it->token.prefix)
SETTER(set_set_if_key, m->set_if.key)
SETTER(set_list_ex_prefix, m->list_ex.prefix)
SETTER(set_del_prefix_prefix, m->del_prefix.prefix)
SETTER(set_set_if_value, m->set_if.value)
SETTER(set_del_if_key, m->del_if.key)
SETTER(set_value_meta_value, m->value_meta.value)
SETTER(set_kv_key, it->kv.key)
SETTER(set_kv_value, it->kv.value)
SETTER(set_ms_id, it->member_status.node_id)
SETTER(set_ms_address, it->member_status.address)
SETTER(set_ms_error, it->member_status.error)

struct oversize_case {
	const char *name;
	uint8_t type;
	size_t limit;
	char fillc;
	setter_fn *set;
	int over_rc;		/* what one byte more gives, encoding and decoding */
};

static const struct oversize_case oversize[] = {
	{ "GET key", PROTO_T_GET, RAFTCONF_MAX_KEY, 'k', set_get_key, -E2BIG },
	{ "SET key", PROTO_T_SET, RAFTCONF_MAX_KEY, 'k', set_set_key, -E2BIG },
	{ "SET value", PROTO_T_SET, RAFTCONF_MAX_VALUE, '\0', set_set_value, -E2BIG },
	{ "DEL key", PROTO_T_DEL, RAFTCONF_MAX_KEY, 'k', set_del_key, -E2BIG },
	{ "LIST prefix", PROTO_T_LIST, RAFTCONF_MAX_KEY, 'p', set_list_prefix, -E2BIG },
	{ "JOIN node_id", PROTO_T_JOIN, RAFTCONF_MAX_ID, 'n', set_join_id, -E2BIG },
	{ "JOIN address", PROTO_T_JOIN, RAFTCONF_MAX_ADDRESS, 'a', set_join_address, -E2BIG },
	{ "JOIN cluster", PROTO_T_JOIN, RAFTCONF_MAX_CLUSTER_NAME, 'c', set_join_cluster,
	  -E2BIG },
	{ "JOINREQ address", PROTO_T_JOINREQ, RAFTCONF_MAX_ADDRESS, 'a', set_joinreq_address,
	  -E2BIG },
	{ "REMOVE node_id", PROTO_T_REMOVE, RAFTCONF_MAX_ID, 'n', set_remove_id, -E2BIG },
	{ "TRANSFER node_id", PROTO_T_TRANSFER, RAFTCONF_MAX_ID, 'n', set_transfer_id,
	  -E2BIG },
	{ "WATCH prefix", PROTO_T_WATCH, RAFTCONF_MAX_KEY, 'p', set_watch_prefix, -E2BIG },
	{ "VALUE value", PROTO_T_VALUE, RAFTCONF_MAX_VALUE, '\0', set_value_value, -E2BIG },
	{ "ERROR message", PROTO_T_ERROR, RAFTCONF_MAX_ERROR, 't', set_error_message, -E2BIG },
	{ "LIST_REPLY entry key", PROTO_T_LIST_REPLY, RAFTCONF_MAX_KEY, 'k', set_entry_key,
	  -E2BIG },
	{ "LIST_REPLY entry value", PROTO_T_LIST_REPLY, RAFTCONF_MAX_VALUE, '\0',
	  set_entry_value, -E2BIG },
	{ "STATUS_REPLY pair name", PROTO_T_STATUS_REPLY, RAFTCONF_MAX_STATUS_NAME, 'n',
	  set_pair_name, -E2BIG },
	{ "STATUS_REPLY pair value", PROTO_T_STATUS_REPLY, RAFTCONF_MAX_STATUS_VALUE, 'v',
	  set_pair_value, -E2BIG },
	{ "MEMBERS_REPLY member node_id", PROTO_T_MEMBERS_REPLY, RAFTCONF_MAX_ID, 'n',
	  set_member_id, -E2BIG },
	{ "MEMBERS_REPLY member address", PROTO_T_MEMBERS_REPLY, RAFTCONF_MAX_ADDRESS, 'a',
	  set_member_address, -E2BIG },
	{ "MEMBERS_VIEW_REPLY member node_id", PROTO_T_MEMBERS_VIEW_REPLY, RAFTCONF_MAX_ID, 'n',
	  set_view_id, -E2BIG },
	{ "MEMBERS_VIEW_REPLY member relay", PROTO_T_MEMBERS_VIEW_REPLY, RAFTCONF_MAX_ID, 'r',
	  set_view_relay, -E2BIG },
	{ "EVENT key", PROTO_T_EVENT, RAFTCONF_MAX_KEY, 'k', set_event_key, -E2BIG },
	{ "EVENT value", PROTO_T_EVENT, RAFTCONF_MAX_VALUE, '\0', set_event_value, -E2BIG },
	{ "HELLO cluster", PROTO_T_HELLO, RAFTCONF_MAX_CLUSTER_NAME, 'c', set_hello_cluster,
	  -E2BIG },
	{ "HELLO node_id", PROTO_T_HELLO, RAFTCONF_MAX_ID, 'n', set_hello_id, -E2BIG },
	{ "HELLO address", PROTO_T_HELLO, RAFTCONF_MAX_ADDRESS, 'a', set_hello_address,
	  -E2BIG },
	{ "HELLO auth", PROTO_T_HELLO, RAFTCONF_MAX_AUTH, '\0', set_hello_auth, -E2BIG },
	{ "REJECT message", PROTO_T_REJECT, RAFTCONF_MAX_ERROR, 'r', set_reject_message,
	  -E2BIG },
	{ "TOKEN_ADD name", PROTO_T_TOKEN_ADD, RAFTCONF_MAX_ID, 'n', set_token_add_name, -E2BIG },
	{ "TOKEN_ADD prefix", PROTO_T_TOKEN_ADD, RAFTCONF_MAX_KEY, 'p', set_token_add_prefix,
	  -E2BIG },
	/* Exactly its size: one byte more is over, as for any limit. */
	{ "TOKEN_ADD hash", PROTO_T_TOKEN_ADD, PROTO_TOKEN_HASH, '\0', set_token_add_hash,
	  -E2BIG },
	{ "TOKEN_REVOKE name", PROTO_T_TOKEN_REVOKE, RAFTCONF_MAX_ID, 'n', set_token_revoke_name,
	  -E2BIG },
	{ "TOKEN_LIST_REPLY token name", PROTO_T_TOKEN_LIST_REPLY, RAFTCONF_MAX_ID, 'n',
	  set_token_name, -E2BIG },
	{ "TOKEN_LIST_REPLY token prefix", PROTO_T_TOKEN_LIST_REPLY, RAFTCONF_MAX_KEY, 'p',
	  set_token_prefix, -E2BIG },
	{ "SET_IF key", PROTO_T_SET_IF, RAFTCONF_MAX_KEY, 'k', set_set_if_key, -E2BIG },
	{ "SET_IF value", PROTO_T_SET_IF, RAFTCONF_MAX_VALUE, '\0', set_set_if_value, -E2BIG },
	{ "DEL_IF key", PROTO_T_DEL_IF, RAFTCONF_MAX_KEY, 'k', set_del_if_key, -E2BIG },
	{ "LIST_EX prefix", PROTO_T_LIST_EX, RAFTCONF_MAX_KEY, 'p', set_list_ex_prefix, -E2BIG },
	{ "DEL_PREFIX prefix", PROTO_T_DEL_PREFIX, RAFTCONF_MAX_KEY, 'p', set_del_prefix_prefix,
	  -E2BIG },
	{ "VALUE_META value", PROTO_T_VALUE_META, RAFTCONF_MAX_VALUE, '\0', set_value_meta_value,
	  -E2BIG },
	{ "LIST_META_REPLY kv key", PROTO_T_LIST_META_REPLY, RAFTCONF_MAX_KEY, 'k', set_kv_key,
	  -E2BIG },
	{ "TXN_REPLY kv value", PROTO_T_TXN_REPLY, RAFTCONF_MAX_VALUE, '\0', set_kv_value,
	  -E2BIG },
	{ "CLUSTER_STATUS_REPLY member node_id", PROTO_T_CLUSTER_STATUS_REPLY, RAFTCONF_MAX_ID,
	  'n', set_ms_id, -E2BIG },
	{ "CLUSTER_STATUS_REPLY member address", PROTO_T_CLUSTER_STATUS_REPLY,
	  RAFTCONF_MAX_ADDRESS, 'a', set_ms_address, -E2BIG },
	{ "CLUSTER_STATUS_REPLY member error", PROTO_T_CLUSTER_STATUS_REPLY, RAFTCONF_MAX_ERROR,
	  'e', set_ms_error, -E2BIG },
	/* The payload's limit is what the frame limit leaves. */
	{ "RAFT payload", PROTO_T_RAFT, RAFTCONF_MAX_FRAME - HDR - 4, '\0', set_raft_payload,
	  -EMSGSIZE },
};
#define NOVERSIZE ((int)(sizeof(oversize) / sizeof(oversize[0])))

/* One valid item of a list reply type, for the cases to change. */
void
base_item(uint8_t type, union proto_item *it, struct items *items)
{
	memset(it, 0, sizeof(*it));
	memset(items, 0, sizeof(*items));
	items->n = 0;
	switch (type) {
	case PROTO_T_LIST_REPLY:
		it->entry = entries3[0];
		*items = (struct items){ .n = 1, .e = &it->entry };
		break;
	case PROTO_T_STATUS_REPLY:
		it->pair = pairs7[1];
		*items = (struct items){ .n = 1, .p = &it->pair };
		break;
	case PROTO_T_MEMBERS_REPLY:
		it->member = members3[0];
		*items = (struct items){ .n = 1, .mb = &it->member };
		break;
	case PROTO_T_MEMBERS_VIEW_REPLY:
		it->member_view = views3[2];
		*items = (struct items){ .n = 1, .mv = &it->member_view };
		break;
	case PROTO_T_TOKEN_LIST_REPLY:
		it->token = tokens3[1];
		*items = (struct items){ .n = 1, .tk = &it->token };
		break;
	case PROTO_T_LIST_META_REPLY:
	case PROTO_T_TXN_REPLY:
		it->kv = kvs3[0];
		*items = (struct items){ .n = 1, .kv = &it->kv };
		break;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		it->member_status = mstatus3[1];
		*items = (struct items){ .n = 1, .ms = &it->member_status };
		break;
	}
}

/* Encode (or build) msg with items; return the rc, the buffer left empty. */
int
encode_rc(const struct proto_msg *m, const struct items *items, char *err, size_t errlen)
{
	struct proto_buf b;
	int rc;

	proto_buf_init(&b);
	err[0] = '\0';
	rc = is_list(m->type) ? build(&b, m, items) : proto_encode(&b, m, err, errlen);
	if (rc != 0)
		ck_assert_uint_eq(b.len, 0);
	proto_buf_free(&b);
	return rc;
}

START_TEST(test_every_field_one_byte_over_its_limit_fails_to_encode_and_to_decode)
{
	const struct oversize_case *oc = &oversize[_i];
	struct proto_msg m = first_sample(oc->type)->m, d;
	union proto_item item;
	struct items items;
	char err[256];
	uint8_t *f;
	size_t len;
	int rc;

	base_item(oc->type, &item, &items);
	memset(fillbuf, oc->fillc, oc->limit + 1);

	/* At the limit: fine both ways. */
	oc->set(&m, &item, proto_mem(fillbuf, oc->limit));
	rc = encode_rc(&m, &items, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s at its limit: %d %s", oc->name, rc, err);
	f = craft(&m, &items, &len);
	decode_ok(f, len, &d);
	free(f);

	/* One byte more: refused both ways. */
	oc->set(&m, &item, proto_mem(fillbuf, oc->limit + 1));
	rc = encode_rc(&m, &items, err, sizeof(err));
	ck_assert_msg(rc == oc->over_rc, "%s over its limit: encode gave %d", oc->name, rc);
	f = craft(&m, &items, &len);
	rc = decode_err(f, len, err, sizeof(err));
	ck_assert_msg(rc == oc->over_rc, "%s over its limit: decode gave %d: %s", oc->name, rc,
		      err);
	free(f);
}
END_TEST

static void
assert_count_over_limit_refused(uint8_t type, uint32_t limit)
{
	struct proto_msg m = first_sample(type)->m;
	union proto_item item;
	struct items items;
	struct proto_msg d;
	char err[256];
	uint8_t *f;
	size_t len;
	struct proto_entry *e = calloc((size_t)limit + 1, sizeof(*e));
	struct proto_pair *p = calloc((size_t)limit + 1, sizeof(*p));
	struct proto_member *mb = calloc((size_t)limit + 1, sizeof(*mb));
	struct proto_token *tk = calloc((size_t)limit + 1, sizeof(*tk));
	struct proto_kv *kv = calloc((size_t)limit + 1, sizeof(*kv));
	struct proto_member_status *ms = calloc((size_t)limit + 1, sizeof(*ms));
	struct proto_member_view *mv = calloc((size_t)limit + 1, sizeof(*mv));

	ck_assert(e && p && mb && tk && kv && ms && mv);
	base_item(type, &item, &items);
	for (uint32_t i = 0; i <= limit; i++) {
		e[i] = (struct proto_entry){ S("k"), i, S("") };
		p[i] = (struct proto_pair){ S("n"), S("") };
		mb[i] = members3[1];
		tk[i] = tokens3[0];
		kv[i] = (struct proto_kv){ S("k"), i, 0, 0, S("") };
		ms[i] = mstatus3[1];
		mv[i] = views3[1];
	}
	items = (struct items){ .n = limit, .e = e, .p = p, .mb = mb, .tk = tk, .kv = kv,
				.ms = ms, .mv = mv };
	f = craft(&m, &items, &len);
	decode_ok(f, len, &d);
	free(f);
	items.n = limit + 1;
	f = craft(&m, &items, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "over the limit") != NULL, "%s", err);
	free(f);
	/* The builder says the reply is full rather than go over. */
	ck_assert_int_eq(encode_rc(&m, &items, err, sizeof(err)), -EMSGSIZE);
	free(e);
	free(p);
	free(mb);
	free(tk);
	free(kv);
	free(ms);
	free(mv);
}

START_TEST(test_a_list_count_over_its_limit_is_refused)
{
	assert_count_over_limit_refused(PROTO_T_LIST_REPLY, RAFTCONF_MAX_LIST);
	assert_count_over_limit_refused(PROTO_T_STATUS_REPLY, RAFTCONF_MAX_STATUS_PAIRS);
	assert_count_over_limit_refused(PROTO_T_MEMBERS_REPLY, RAFTCONF_MAX_MEMBERS);
	assert_count_over_limit_refused(PROTO_T_TOKEN_LIST_REPLY, RAFTCONF_MAX_TOKENS);
	assert_count_over_limit_refused(PROTO_T_LIST_META_REPLY, RAFTCONF_MAX_LIST);
	assert_count_over_limit_refused(PROTO_T_TXN_REPLY, RAFTCONF_MAX_TXN_OPS);
	assert_count_over_limit_refused(PROTO_T_CLUSTER_STATUS_REPLY, RAFTCONF_MAX_MEMBERS);
	assert_count_over_limit_refused(PROTO_T_MEMBERS_VIEW_REPLY, RAFTCONF_MAX_MEMBERS);
}
END_TEST

void
proto_limit_tests(Suite *s)
{
	TCase *tc;

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc,
			    test_every_field_one_byte_over_its_limit_fails_to_encode_and_to_decode,
			    0, NOVERSIZE);
	tcase_add_test(tc, test_a_list_count_over_its_limit_is_refused);
	suite_add_tcase(s, tc);
}
