/*
 * check_proto.c — unit tests of the wire codec (daemon/proto.c).
 *
 * Frames are also written here by hand, by a small independent writer that
 * follows the layout documented in proto.h, so these tests check the encoder
 * against the documented format and feed the decoder frames the encoder
 * would refuse to make.  Every frame given to the decoder sits in a malloc'd
 * buffer of exactly its size, so AddressSanitizer catches a read past it.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define HDR PROTO_HEADER_SIZE
/* A string literal as a view, embedded NUL bytes included. */
#define S(lit) ((struct proto_str){ (lit), sizeof(lit) - 1 })

/* ------------------------------------------------------------ fixtures */

static char max_key[RAFTCONF_MAX_KEY];
static char max_id[RAFTCONF_MAX_ID];
static char max_addr[RAFTCONF_MAX_ADDRESS];
static char max_cluster[RAFTCONF_MAX_CLUSTER_NAME];
static char max_text[RAFTCONF_MAX_ERROR];
static char max_sname[RAFTCONF_MAX_STATUS_NAME];
static char max_svalue[RAFTCONF_MAX_STATUS_VALUE];
static uint8_t max_auth[RAFTCONF_MAX_AUTH];
static uint8_t big_value[RAFTCONF_MAX_VALUE];
static uint8_t big_payload[RAFTCONF_MAX_FRAME - HDR - 4];
static char fillbuf[RAFTCONF_MAX_FRAME];

static void
fill(char *p, size_t n, const char *alphabet)
{
	size_t k = strlen(alphabet);

	for (size_t i = 0; i < n; i++)
		p[i] = alphabet[i % k];
}

static void
fill_binary(uint8_t *p, size_t n)
{
	/* Every byte value, NUL among them, in an order that is not a ramp. */
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 8));
}

/* The items of a list reply, as the caller hands them to the builder. */
struct items {
	size_t n;
	const struct proto_entry *e;
	const struct proto_pair *p;
	const struct proto_member *mb;
	const struct proto_member_view *mv;
	const struct proto_token *tk;
	const struct proto_kv *kv;
	const struct proto_change *ch;
	const struct proto_member_status *ms;
	/* A TXN request's three lists, as craft writes them by hand. */
	const struct proto_compare *cmp;
	size_t ncmp;
	const struct proto_op *then_ops, *else_ops;
	size_t nthen, nelse;
};

struct sample {
	struct proto_msg m;	/* for list replies: everything but the items */
	struct items it;
};

static struct sample samples[128];
static int nsamples;

static struct proto_entry entries3[3];
static struct proto_entry entry_max[1];
static struct proto_pair pairs7[7];
static struct proto_member members3[3];
static struct proto_member_view views3[3];
static struct proto_token tokens3[3];
static struct proto_kv kvs3[3];
static struct proto_change changes3[3];
static struct proto_member_status mstatus3[3];
/* Two STATUS_REPLY pairs as proto.h lays them out: { s16 name, s16 value }. */
static const uint8_t pairs2_raw[] = {
	0, 2, 'i', 'd', 0, 2, 'n', '2',
	0, 4, 'r', 'o', 'l', 'e', 0, 8, 'f', 'o', 'l', 'l', 'o', 'w', 'e', 'r',
};
static struct proto_compare cmps4[4];
static struct proto_op ops3[3];
static struct proto_buf txn_bufs[3];
static uint8_t hash32[PROTO_TOKEN_HASH];

static struct sample *
add(uint8_t type, uint64_t id)
{
	struct sample *s = &samples[nsamples++];

	memset(s, 0, sizeof(*s));
	s->m.type = type;
	s->m.id = id;
	return s;
}

static struct proto_str
view(const void *p, size_t n)
{
	return proto_mem(p, n);
}

static void
init_samples(void)
{
	struct sample *s;
	int k;

	fill(max_key, sizeof(max_key), "/key-with-slashes/");
	fill(max_id, sizeof(max_id), "AZaz09_-xy");
	fill(max_addr, sizeof(max_addr), "[fe80::1%eth0]:7000!~");
	fill(max_cluster, sizeof(max_cluster), "prod-config_");
	fill(max_text, sizeof(max_text), "a message, with spaces. ");
	fill(max_sname, sizeof(max_sname), "name_");
	fill(max_svalue, sizeof(max_svalue), "value ");
	fill_binary(max_auth, sizeof(max_auth));
	fill_binary(big_value, sizeof(big_value));
	fill_binary(big_payload, sizeof(big_payload));

	entries3[0] = (struct proto_entry){ S("/app/db/host"), 17, S("10.0.0.5") };
	entries3[1] = (struct proto_entry){ S("/app/bin"), 18, S("\0\1\2\0\377") };
	entries3[2] = (struct proto_entry){ S("/app/empty"), UINT64_MAX, S("") };
	entry_max[0] = (struct proto_entry){ view(max_key, sizeof(max_key)), 1,
					     view(big_value, sizeof(big_value)) };
	pairs7[0] = (struct proto_pair){ S("id"), S("n1") };
	pairs7[1] = (struct proto_pair){ S("role"), S("leader") };
	pairs7[2] = (struct proto_pair){ S("term"), S("7") };
	pairs7[3] = (struct proto_pair){ S("leader"), S("n1") };
	pairs7[4] = (struct proto_pair){ S("commit"), S("1234") };
	pairs7[5] = (struct proto_pair){ S("applied"), S("") };
	pairs7[6] = (struct proto_pair){ view(max_sname, sizeof(max_sname)),
					 view(max_svalue, sizeof(max_svalue)) };
	members3[0] = (struct proto_member){ S("n1"), S("10.0.0.1:7000"),
					     PROTO_M_VOTER | PROTO_M_SELF | PROTO_M_LEADER, 99, 0,
					     PROTO_H_OK };
	members3[1] = (struct proto_member){ S("n2"), S("[::1]:7000"), PROTO_M_LEARNER, 0,
					     PROTO_NEVER, PROTO_H_UNREACHABLE };
	members3[2] = (struct proto_member){ view(max_id, sizeof(max_id)),
					     view(max_addr, sizeof(max_addr)), PROTO_M_VOTER,
					     UINT64_MAX, 1500, PROTO_H_LAGGING };

	views3[0] = (struct proto_member_view){ S("n1"), S("10.0.0.1:7000"),
					     PROTO_M_VOTER | PROTO_M_LEADER, 99, 0, PROTO_H_OK,
					     S(""), 0, 0 };
	views3[1] = (struct proto_member_view){ S("n2"), S("[::1]:7000"),
					     PROTO_M_LEARNER | PROTO_M_SELF, 0, PROTO_NEVER,
					     PROTO_H_UNKNOWN, S("n1"), PROTO_NEVER, PROTO_NEVER };
	views3[2] = (struct proto_member_view){ view(max_id, sizeof(max_id)),
					     view(max_addr, sizeof(max_addr)), PROTO_M_LEARNER,
					     UINT64_MAX, 1500, PROTO_H_LAGGING,
					     view(max_id, sizeof(max_id)), 12345, 2500 };

	fill_binary(hash32, sizeof(hash32));
	tokens3[0] = (struct proto_token){ S("all-ro"), 0, S("") };
	tokens3[1] = (struct proto_token){ S("app_rw"), PROTO_F_WRITE, S("/app/") };
	tokens3[2] = (struct proto_token){ view(max_id, sizeof(max_id)), PROTO_F_WRITE,
					   view(max_key, sizeof(max_key)) };

	s = add(PROTO_T_GET, 1);
	s->m.get.key = S("/a");
	s = add(PROTO_T_GET, UINT64_MAX);
	s->m.get.flags = PROTO_F_STALE;
	s->m.get.key = view(max_key, sizeof(max_key));
	s = add(PROTO_T_GET, 2);
	s->m.get.key = S("k");

	s = add(PROTO_T_SET, 3);
	s->m.set.client_id = 0xdeadbeefcafef00dULL;
	s->m.set.seq = 1;
	s->m.set.key = S("/app/db/host");
	s->m.set.value = S("10.0.0.5");
	s = add(PROTO_T_SET, 4);
	s->m.set.client_id = UINT64_MAX;
	s->m.set.seq = UINT64_MAX;
	s->m.set.key = view(max_key, sizeof(max_key));
	s->m.set.value = S("");
	s = add(PROTO_T_SET, 5);
	s->m.set.key = S("/bin");
	s->m.set.value = S("\0a\0b\0");
	s = add(PROTO_T_SET, 6);
	s->m.set.key = S("/big");
	s->m.set.value = view(big_value, sizeof(big_value));

	s = add(PROTO_T_DEL, 7);
	s->m.del.client_id = 42;
	s->m.del.seq = 9;
	s->m.del.key = S("/x");
	s = add(PROTO_T_DEL, 8);
	s->m.del.key = view(max_key, sizeof(max_key));

	s = add(PROTO_T_LIST, 9);
	s->m.list.flags = PROTO_F_STALE;
	s->m.list.prefix = S("");
	s = add(PROTO_T_LIST, 10);
	s->m.list.prefix = view(max_key, sizeof(max_key));

	add(PROTO_T_STATUS, 0);
	add(PROTO_T_MEMBERS, 11);
	add(PROTO_T_MEMBERS_VIEW, 81);
	add(PROTO_T_SNAPSHOT, UINT64_MAX);
	add(PROTO_T_BACKUP, 73);

	s = add(PROTO_T_JOIN, 12);
	s->m.join.flags = PROTO_F_LEARNER;
	s->m.join.node_id = S("n4");
	s->m.join.address = S("10.0.0.4:7000");
	s->m.join.cluster = S("prod-config");
	s = add(PROTO_T_JOIN, 13);
	s->m.join.node_id = view(max_id, sizeof(max_id));
	s->m.join.address = view(max_addr, sizeof(max_addr));
	s->m.join.cluster = view(max_cluster, sizeof(max_cluster));

	s = add(PROTO_T_JOINREQ, 14);
	s->m.joinreq.flags = PROTO_F_LEARNER;
	s->m.joinreq.address = S("10.0.0.1:7000");
	s = add(PROTO_T_JOINREQ, 15);
	s->m.joinreq.address = view(max_addr, sizeof(max_addr));

	s = add(PROTO_T_REMOVE, 16);
	s->m.remove.node_id = S("n2");
	s = add(PROTO_T_REMOVE, 17);
	s->m.remove.node_id = view(max_id, sizeof(max_id));
	s = add(PROTO_T_REMOVE_FORCE, 81);
	s->m.remove.node_id = S("n3");

	s = add(PROTO_T_TRANSFER, 18);
	s->m.transfer.node_id = S("");
	s = add(PROTO_T_TRANSFER, 19);
	s->m.transfer.node_id = S("n3");

	s = add(PROTO_T_WATCH, 20);
	s->m.watch.prefix = S("");
	s = add(PROTO_T_WATCH, 21);
	s->m.watch.prefix = S("/app/");

	s = add(PROTO_T_TOKEN_ADD, 51);
	s->m.token_add.client_id = 7;
	s->m.token_add.seq = 1;
	s->m.token_add.name = S("app-ro");
	s->m.token_add.prefix = S("");
	s->m.token_add.hash = view(hash32, sizeof(hash32));
	s = add(PROTO_T_TOKEN_ADD, 52);
	s->m.token_add.client_id = UINT64_MAX;
	s->m.token_add.seq = UINT64_MAX;
	s->m.token_add.name = view(max_id, sizeof(max_id));
	s->m.token_add.prefix = view(max_key, sizeof(max_key));
	s->m.token_add.flags = PROTO_F_WRITE;
	s->m.token_add.hash = view(hash32, sizeof(hash32));

	s = add(PROTO_T_TOKEN_REVOKE, 53);
	s->m.token_revoke.client_id = 7;
	s->m.token_revoke.seq = 2;
	s->m.token_revoke.name = S("app-ro");
	s = add(PROTO_T_TOKEN_REVOKE, 54);
	s->m.token_revoke.name = view(max_id, sizeof(max_id));

	add(PROTO_T_TOKEN_LIST, 55);

	s = add(PROTO_T_TOKEN_LIST_REPLY, 56);
	s = add(PROTO_T_TOKEN_LIST_REPLY, 57);
	s->it = (struct items){ .n = 3, .tk = tokens3 };

	kvs3[0] = (struct proto_kv){ S("/app/db/host"), 17, 3, 5, S("10.0.0.5") };
	kvs3[1] = (struct proto_kv){ S("/gone"), 0, 0, 0, S("") };
	kvs3[2] = (struct proto_kv){ view(max_key, sizeof(max_key)), UINT64_MAX, 1, UINT64_MAX,
				     S("\0\1\377") };
	cmps4[0] = (struct proto_compare){ PROTO_CMP_REV, PROTO_CMP_EQ, S("/a"), 0, S("") };
	cmps4[1] = (struct proto_compare){ PROTO_CMP_REV, PROTO_CMP_GT, S("/b"), UINT64_MAX, S("") };
	cmps4[2] = (struct proto_compare){ PROTO_CMP_VALUE, PROTO_CMP_NE, S("/c"), 0, S("\0x") };
	cmps4[3] = (struct proto_compare){ PROTO_CMP_REV, PROTO_CMP_LT,
					   view(max_key, sizeof(max_key)), 7, S("") };
	ops3[0] = (struct proto_op){ PROTO_OP_SET, S("/a"), S("v") };
	ops3[1] = (struct proto_op){ PROTO_OP_DEL, S("/b"), S("") };
	ops3[2] = (struct proto_op){ PROTO_OP_GET, view(max_key, sizeof(max_key)), S("") };

	s = add(PROTO_T_SET_IF, 60);
	s->m.set_if.client_id = 5;
	s->m.set_if.seq = 6;
	s->m.set_if.if_rev = 0;
	s->m.set_if.key = S("/counter");
	s->m.set_if.value = S("42");
	s = add(PROTO_T_SET_IF, 61);
	s->m.set_if.if_rev = UINT64_MAX;
	s->m.set_if.key = view(max_key, sizeof(max_key));
	s->m.set_if.value = view(big_value, sizeof(big_value));
	s = add(PROTO_T_DEL_IF, 62);
	s->m.del_if.client_id = 1;
	s->m.del_if.seq = 2;
	s->m.del_if.if_rev = 17;
	s->m.del_if.key = S("/x");

	s = add(PROTO_T_TXN, 63); /* nothing at all: a txn that only commits */
	s = add(PROTO_T_TXN, 64);
	s->m.txn.client_id = 9;
	s->m.txn.seq = UINT64_MAX;
	{
		uint32_t n[3] = { 0, 0, 0 };

		for (k = 0; k < 3; k++)
			proto_buf_init(&txn_bufs[k]);
		/* not inside a test yet: no ck_assert */
		for (k = 0; k < 4; k++)
			if (proto_txn_add_compare(&txn_bufs[0], &n[0], &cmps4[k]) != 0)
				abort();
		for (k = 0; k < 3; k++)
			if (proto_txn_add_op(&txn_bufs[1], &n[1], &ops3[k]) != 0)
				abort();
		if (proto_txn_add_op(&txn_bufs[2], &n[2], &ops3[2]) != 0)
			abort();
		s->m.txn.compares = (struct proto_items){ n[0], txn_bufs[0].data, txn_bufs[0].len };
		s->m.txn.then_ops = (struct proto_items){ n[1], txn_bufs[1].data, txn_bufs[1].len };
		s->m.txn.else_ops = (struct proto_items){ n[2], txn_bufs[2].data, txn_bufs[2].len };
		s->it = (struct items){ .cmp = cmps4, .ncmp = 4, .then_ops = ops3, .nthen = 3,
					.else_ops = ops3 + 2, .nelse = 1 };
	}

	s = add(PROTO_T_VALUE_META, 65);
	s->m.value_meta.revision = 9;
	s->m.value_meta.create_revision = 3;
	s->m.value_meta.version = 4;
	s->m.value_meta.value = S("v");
	s = add(PROTO_T_VALUE_META, 66);
	s->m.value_meta.revision = UINT64_MAX;
	s->m.value_meta.value = view(big_value, sizeof(big_value));

	s = add(PROTO_T_LIST_META_REPLY, 67);
	s = add(PROTO_T_LIST_META_REPLY, 68);
	s->m.list_meta_reply.flags = PROTO_F_TRUNCATED;
	s->it = (struct items){ .n = 3, .kv = kvs3 };

	s = add(PROTO_T_FAILED, 69);
	s->m.failed.revision = 0;
	s = add(PROTO_T_FAILED, 70);
	s->m.failed.revision = UINT64_MAX;

	s = add(PROTO_T_TXN_REPLY, 71);
	s->m.txn_reply.flags = PROTO_F_SUCCEEDED;
	s->m.txn_reply.revision = UINT64_MAX;
	s->it = (struct items){ .n = 3, .kv = kvs3 };
	s = add(PROTO_T_TXN_REPLY, 72);
	s->m.txn_reply.flags = PROTO_F_REPLAYED;
	s->m.txn_reply.revision = 12;

	s = add(PROTO_T_POLL, 73);
	s->m.poll.after = 41;
	s->m.poll.wait_ms = 30000;
	s->m.poll.prefix = S("/app/");
	s = add(PROTO_T_POLL, 74);
	s->m.poll.flags = PROTO_F_FROM_NOW;
	s->m.poll.wait_ms = RAFTCONF_MAX_POLL_MS;
	s->m.poll.prefix = S("");

	changes3[0] = (struct proto_change){ PROTO_EV_PUT, S("/app/a"), 7, S("one") };
	changes3[1] = (struct proto_change){ PROTO_EV_DEL, S("/app/b"), 7, S("") };
	changes3[2] = (struct proto_change){ PROTO_EV_PUT, view(max_key, sizeof(max_key)), 9,
					     S("\0bin") };
	s = add(PROTO_T_EVENTS, 75);
	s->m.events.revision = 12;
	s->it = (struct items){ .n = 3, .ch = changes3 };
	s = add(PROTO_T_EVENTS, 76);
	s->m.events.flags = PROTO_F_TRUNCATED;
	s->m.events.revision = UINT64_MAX;
	s = add(PROTO_T_BACKUP_CHUNK, 74);
	s->m.backup_chunk.index = 7;
	s->m.backup_chunk.records = 3;
	s->m.backup_chunk.total = RAFTCONF_BACKUP_CHUNK + 10;
	s->m.backup_chunk.data = view(big_value, RAFTCONF_BACKUP_CHUNK);
	s = add(PROTO_T_BACKUP_CHUNK, 75);
	s->m.backup_chunk.flags = PROTO_F_LAST;
	s->m.backup_chunk.index = UINT64_MAX;
	s->m.backup_chunk.total = RAFTCONF_BACKUP_CHUNK + 10;
	s->m.backup_chunk.offset = RAFTCONF_BACKUP_CHUNK;
	s->m.backup_chunk.data = S("0123456789");

	s = add(PROTO_T_CLUSTER_STATUS, 77);
	s->m.cluster_status.wait_ms = 1;
	s = add(PROTO_T_CLUSTER_STATUS, 78);
	s->m.cluster_status.wait_ms = RAFTCONF_MAX_STATUS_WAIT_MS;

	mstatus3[0] = (struct proto_member_status){ S("n2"), S("10.0.0.2:7000"), S(""),
						    { 2, pairs2_raw, sizeof(pairs2_raw) } };
	mstatus3[1] = (struct proto_member_status){ S("n3"), S("[::1]:7000"),
						    S("did not answer within 5000 ms"),
						    { 0, NULL, 0 } };
	mstatus3[2] = (struct proto_member_status){ view(max_id, sizeof(max_id)),
						    view(max_addr, sizeof(max_addr)),
						    view(max_text, sizeof(max_text)), { 0, NULL, 0 } };
	s = add(PROTO_T_CLUSTER_STATUS_REPLY, 79);
	s = add(PROTO_T_CLUSTER_STATUS_REPLY, 80);
	s->it = (struct items){ .n = 3, .ms = mstatus3 };
	s = add(PROTO_T_LIST_EX, 81);
	s->m.list_ex.flags = PROTO_F_META | PROTO_F_KEYS_ONLY;
	s->m.list_ex.limit = 10;
	s->m.list_ex.prefix = S("/app/");
	s = add(PROTO_T_LIST_EX, 82);
	s->m.list_ex.flags = PROTO_F_STALE | PROTO_F_COUNT;
	s->m.list_ex.prefix = view(max_key, sizeof(max_key));
	s = add(PROTO_T_DEL_PREFIX, 83);
	s->m.del_prefix.client_id = 0x1122334455667788ull;
	s->m.del_prefix.seq = 3;
	s->m.del_prefix.prefix = S("/app/");
	s = add(PROTO_T_DEL_PREFIX, 84);
	s->m.del_prefix.client_id = UINT64_MAX;
	s->m.del_prefix.seq = UINT64_MAX;
	s->m.del_prefix.flags = PROTO_F_ALL;
	s->m.del_prefix.prefix = S("");
	s = add(PROTO_T_COUNT_REPLY, 85);
	s->m.count_reply.count = 0;
	s = add(PROTO_T_COUNT_REPLY, 86);
	s->m.count_reply.count = UINT64_MAX;
	s = add(PROTO_T_DELETED, 87);
	s->m.deleted.revision = 12;
	s->m.deleted.deleted = 0;
	s = add(PROTO_T_DELETED, 88);
	s->m.deleted.revision = UINT64_MAX;
	s->m.deleted.deleted = RAFTCONF_MAX_DEL_PREFIX_KEYS;

	s = add(PROTO_T_OK, 22);
	s->m.ok.revision = 0;
	s = add(PROTO_T_OK, 23);
	s->m.ok.revision = UINT64_MAX;

	s = add(PROTO_T_VALUE, 24);
	s->m.value_reply.revision = 5;
	s->m.value_reply.value = S("");
	s = add(PROTO_T_VALUE, 25);
	s->m.value_reply.revision = 6;
	s->m.value_reply.value = S("bin\0ary\0");
	s = add(PROTO_T_VALUE, 26);
	s->m.value_reply.value = view(big_value, sizeof(big_value));

	/* The first ERROR is a plain one: the oversize cases start from it. */
	for (k = 1; k <= PROTO_E_MAX; k++) {
		s = add(PROTO_T_ERROR, 27 + (uint64_t)k);
		s->m.error.code = (uint16_t)k;
		s->m.error.message = k == PROTO_E_REDIRECT ? S("10.0.0.1:7000") :
				     k == PROTO_E_NOLEADER ? S("") : S("key not found: /x");
	}
	s = add(PROTO_T_ERROR, 40);
	s->m.error.code = PROTO_E_INTERNAL;
	s->m.error.message = view(max_text, sizeof(max_text));

	s = add(PROTO_T_LIST_REPLY, 41);
	s = add(PROTO_T_LIST_REPLY, 42);
	s->m.list_reply.flags = PROTO_F_TRUNCATED;
	s->it = (struct items){ .n = 3, .e = entries3 };
	s = add(PROTO_T_LIST_REPLY, 43);
	s->it = (struct items){ .n = 1, .e = entry_max };

	s = add(PROTO_T_STATUS_REPLY, 44);
	s = add(PROTO_T_STATUS_REPLY, 45);
	s->it = (struct items){ .n = 7, .p = pairs7 };

	s = add(PROTO_T_MEMBERS_REPLY, 46);
	s = add(PROTO_T_MEMBERS_REPLY, 47);
	s->it = (struct items){ .n = 3, .mb = members3 };

	s = add(PROTO_T_MEMBERS_VIEW_REPLY, 82);
	s = add(PROTO_T_MEMBERS_VIEW_REPLY, 83);
	s->m.members_view_reply.flags = PROTO_F_LOCAL_VIEW;
	s->it = (struct items){ .n = 3, .mv = views3 };

	s = add(PROTO_T_EVENT, 48);
	s->m.event.kind = PROTO_EV_PUT;
	s->m.event.key = S("/app/db/host");
	s->m.event.revision = 100;
	s->m.event.value = S("\0\0x");
	s = add(PROTO_T_EVENT, 49);
	s->m.event.kind = PROTO_EV_DEL;
	s->m.event.key = S("/app/db/host");
	s->m.event.revision = 101;
	s = add(PROTO_T_EVENT, 50);
	s->m.event.kind = PROTO_EV_PUT;
	s->m.event.key = view(max_key, sizeof(max_key));
	s->m.event.value = view(big_value, sizeof(big_value));

	s = add(PROTO_T_HELLO, 0);
	s->m.hello.version = PROTO_VERSION;
	s->m.hello.cluster = S("prod");
	s->m.hello.node_id = S("n1");
	s->m.hello.address = S("10.0.0.1:7000");
	s->m.hello.auth = S("");
	s = add(PROTO_T_HELLO, 0);
	s->m.hello.version = UINT16_MAX;
	s->m.hello.cluster = view(max_cluster, sizeof(max_cluster));
	s->m.hello.node_id = view(max_id, sizeof(max_id));
	s->m.hello.address = view(max_addr, sizeof(max_addr));
	s->m.hello.auth = view(max_auth, sizeof(max_auth));

	s = add(PROTO_T_REJECT, 0);
	s->m.reject.message = S("");
	s = add(PROTO_T_REJECT, 0);
	s->m.reject.message = view(max_text, sizeof(max_text));

	s = add(PROTO_T_REMOVED, 0);
	s->m.removed.cluster = S("c");
	s->m.removed.index = 0;
	s = add(PROTO_T_REMOVED, 0);
	s->m.removed.cluster = view(max_cluster, sizeof(max_cluster));
	s->m.removed.index = UINT64_MAX;

	add(PROTO_T_PING, 0);

	s = add(PROTO_T_RAFT, 0);
	s->m.raft.payload = S("");
	s = add(PROTO_T_RAFT, 0);
	s->m.raft.payload = S("\1\0\2");
	s = add(PROTO_T_RAFT, 0);
	s->m.raft.payload = view(big_payload, sizeof(big_payload));
}

static bool
is_list(uint8_t type)
{
	return type == PROTO_T_LIST_REPLY || type == PROTO_T_STATUS_REPLY ||
	       type == PROTO_T_MEMBERS_REPLY || type == PROTO_T_TOKEN_LIST_REPLY ||
	       type == PROTO_T_LIST_META_REPLY || type == PROTO_T_TXN_REPLY ||
	       type == PROTO_T_EVENTS || type == PROTO_T_CLUSTER_STATUS_REPLY ||
	       type == PROTO_T_MEMBERS_VIEW_REPLY;
}

static bool
has_id(uint8_t type)
{
	return !proto_is_peer(type);
}

static const struct sample *
first_sample(uint8_t type)
{
	for (int i = 0; i < nsamples; i++) {
		if (samples[i].m.type == type)
			return &samples[i];
	}
	ck_abort_msg("no sample of type 0x%02x", type);
	return NULL;
}

/* ------------------------------------------- the independent frame writer */

struct tb {
	uint8_t *p;
	size_t len, cap;
};

static void
tb_put(struct tb *t, const void *src, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 64;
		t->p = realloc(t->p, t->cap);
		ck_assert_ptr_nonnull(t->p);
	}
	if (n > 0)
		memcpy(t->p + t->len, src, n);
	t->len += n;
}

static void
tb_be(struct tb *t, uint64_t v, int bytes)
{
	uint8_t b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	tb_put(t, b, (size_t)bytes);
}

#define tb_u8(t, v)	tb_be(t, v, 1)
#define tb_u16(t, v)	tb_be(t, v, 2)
#define tb_u32(t, v)	tb_be(t, v, 4)
#define tb_u64(t, v)	tb_be(t, v, 8)

static void
tb_s16(struct tb *t, struct proto_str s)
{
	tb_u16(t, s.len);
	tb_put(t, s.ptr, s.len);
}

static void
tb_s32(struct tb *t, struct proto_str s)
{
	tb_u32(t, s.len);
	tb_put(t, s.ptr, s.len);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Make the length field say len and, once there is a whole header, the crc fit. */
static void
reseal(uint8_t *f, size_t len)
{
	if (len >= 4)
		put_be32(f, (uint32_t)len);
	if (len >= HDR)
		put_be32(f + 8, proto_crc32c(0, f + HDR, len - HDR));
}

/* A frame of exactly header + body bytes, in its own allocation. */
static uint8_t *
frame_around(uint8_t type, const uint8_t *body, size_t blen, size_t *len)
{
	uint8_t *f = malloc(HDR + blen);

	ck_assert_ptr_nonnull(f);
	f[4] = PROTO_VERSION;
	f[5] = type;
	f[6] = f[7] = 0;
	if (blen > 0)
		memcpy(f + HDR, body, blen);
	reseal(f, HDR + blen);
	*len = HDR + blen;
	return f;
}

static void
craft_item(struct tb *t, uint8_t type, const struct items *it, size_t i)
{
	switch (type) {
	case PROTO_T_LIST_REPLY:
		tb_s16(t, it->e[i].key);
		tb_u64(t, it->e[i].revision);
		tb_s32(t, it->e[i].value);
		break;
	case PROTO_T_STATUS_REPLY:
		tb_s16(t, it->p[i].name);
		tb_s16(t, it->p[i].value);
		break;
	case PROTO_T_MEMBERS_REPLY:
		tb_s16(t, it->mb[i].node_id);
		tb_s16(t, it->mb[i].address);
		tb_u8(t, it->mb[i].flags);
		tb_u64(t, it->mb[i].match_index);
		tb_u64(t, it->mb[i].last_contact_ms);
		tb_u8(t, it->mb[i].health);
		break;
	case PROTO_T_MEMBERS_VIEW_REPLY:
		tb_s16(t, it->mv[i].node_id);
		tb_s16(t, it->mv[i].address);
		tb_u8(t, it->mv[i].flags);
		tb_u64(t, it->mv[i].match_index);
		tb_u64(t, it->mv[i].last_contact_ms);
		tb_u8(t, it->mv[i].health);
		tb_s16(t, it->mv[i].relay);
		tb_u64(t, it->mv[i].lag_entries);
		tb_u64(t, it->mv[i].lag_ms);
		break;
	case PROTO_T_TOKEN_LIST_REPLY:
		tb_s16(t, it->tk[i].name);
		tb_u8(t, it->tk[i].flags);
		tb_s16(t, it->tk[i].prefix);
		break;
	case PROTO_T_LIST_META_REPLY:
	case PROTO_T_TXN_REPLY:
		tb_s16(t, it->kv[i].key);
		tb_u64(t, it->kv[i].revision);
		tb_u64(t, it->kv[i].create_revision);
		tb_u64(t, it->kv[i].version);
		tb_s32(t, it->kv[i].value);
		break;
	case PROTO_T_EVENTS:
		tb_u8(t, it->ch[i].kind);
		tb_s16(t, it->ch[i].key);
		tb_u64(t, it->ch[i].revision);
		tb_s32(t, it->ch[i].value);
		break;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		tb_s16(t, it->ms[i].node_id);
		tb_s16(t, it->ms[i].address);
		tb_s16(t, it->ms[i].error);
		tb_u32(t, it->ms[i].pairs.count);
		tb_put(t, it->ms[i].pairs.raw, it->ms[i].pairs.rawlen);
		break;
	}
}

static void
craft_ops(struct tb *t, const struct proto_op *ops, size_t n)
{
	tb_u32(t, n);
	for (size_t i = 0; i < n; i++) {
		tb_u8(t, ops[i].kind);
		tb_s16(t, ops[i].key);
		tb_s32(t, ops[i].value);
	}
}

/* The frame of m as proto.h documents it, with no check of any limit. */
static uint8_t *
craft_count(const struct proto_msg *m, const struct items *it, uint32_t count, size_t *len)
{
	struct tb t = { NULL, 0, 0 };
	uint8_t *f;

	if (has_id(m->type))
		tb_u64(&t, m->id);
	switch (m->type) {
	case PROTO_T_GET:
		tb_u8(&t, m->get.flags);
		tb_s16(&t, m->get.key);
		break;
	case PROTO_T_SET:
		tb_u64(&t, m->set.client_id);
		tb_u64(&t, m->set.seq);
		tb_s16(&t, m->set.key);
		tb_s32(&t, m->set.value);
		break;
	case PROTO_T_DEL:
		tb_u64(&t, m->del.client_id);
		tb_u64(&t, m->del.seq);
		tb_s16(&t, m->del.key);
		break;
	case PROTO_T_LIST:
		tb_u8(&t, m->list.flags);
		tb_s16(&t, m->list.prefix);
		break;
	case PROTO_T_STATUS:
	case PROTO_T_MEMBERS:
	case PROTO_T_MEMBERS_VIEW:
	case PROTO_T_SNAPSHOT:
	case PROTO_T_BACKUP:
		break;
	case PROTO_T_BACKUP_CHUNK:
		tb_u8(&t, m->backup_chunk.flags);
		tb_u64(&t, m->backup_chunk.index);
		tb_u64(&t, m->backup_chunk.records);
		tb_u64(&t, m->backup_chunk.total);
		tb_u64(&t, m->backup_chunk.offset);
		tb_s32(&t, m->backup_chunk.data);
		break;
	case PROTO_T_JOIN:
		tb_u8(&t, m->join.flags);
		tb_s16(&t, m->join.node_id);
		tb_s16(&t, m->join.address);
		tb_s16(&t, m->join.cluster);
		break;
	case PROTO_T_JOINREQ:
		tb_u8(&t, m->joinreq.flags);
		tb_s16(&t, m->joinreq.address);
		break;
	case PROTO_T_REMOVE:
	case PROTO_T_REMOVE_FORCE:
		tb_s16(&t, m->remove.node_id);
		break;
	case PROTO_T_TRANSFER:
		tb_s16(&t, m->transfer.node_id);
		break;
	case PROTO_T_WATCH:
		tb_s16(&t, m->watch.prefix);
		break;
	case PROTO_T_TOKEN_ADD:
		tb_u64(&t, m->token_add.client_id);
		tb_u64(&t, m->token_add.seq);
		tb_s16(&t, m->token_add.name);
		tb_s16(&t, m->token_add.prefix);
		tb_u8(&t, m->token_add.flags);
		tb_s16(&t, m->token_add.hash);
		break;
	case PROTO_T_TOKEN_REVOKE:
		tb_u64(&t, m->token_revoke.client_id);
		tb_u64(&t, m->token_revoke.seq);
		tb_s16(&t, m->token_revoke.name);
		break;
	case PROTO_T_TOKEN_LIST:
		break;
	case PROTO_T_SET_IF:
		tb_u64(&t, m->set_if.client_id);
		tb_u64(&t, m->set_if.seq);
		tb_u64(&t, m->set_if.if_rev);
		tb_s16(&t, m->set_if.key);
		tb_s32(&t, m->set_if.value);
		break;
	case PROTO_T_DEL_IF:
		tb_u64(&t, m->del_if.client_id);
		tb_u64(&t, m->del_if.seq);
		tb_u64(&t, m->del_if.if_rev);
		tb_s16(&t, m->del_if.key);
		break;
	case PROTO_T_TXN:
		tb_u64(&t, m->txn.client_id);
		tb_u64(&t, m->txn.seq);
		tb_u32(&t, it->ncmp);
		for (size_t i = 0; i < it->ncmp; i++) {
			tb_u8(&t, it->cmp[i].target);
			tb_u8(&t, it->cmp[i].result);
			tb_s16(&t, it->cmp[i].key);
			tb_u64(&t, it->cmp[i].revision);
			tb_s32(&t, it->cmp[i].value);
		}
		craft_ops(&t, it->then_ops, it->nthen);
		craft_ops(&t, it->else_ops, it->nelse);
		break;
	case PROTO_T_VALUE_META:
		tb_u64(&t, m->value_meta.revision);
		tb_u64(&t, m->value_meta.create_revision);
		tb_u64(&t, m->value_meta.version);
		tb_s32(&t, m->value_meta.value);
		break;
	case PROTO_T_FAILED:
		tb_u64(&t, m->failed.revision);
		break;
	case PROTO_T_LIST_META_REPLY:
		tb_u8(&t, m->list_meta_reply.flags);
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_TXN_REPLY:
		tb_u8(&t, m->txn_reply.flags);
		tb_u64(&t, m->txn_reply.revision);
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_POLL:
		tb_u8(&t, m->poll.flags);
		tb_u64(&t, m->poll.after);
		tb_u64(&t, m->poll.wait_ms);
		tb_s16(&t, m->poll.prefix);
		break;
	case PROTO_T_LIST_EX:
		tb_u8(&t, m->list_ex.flags);
		tb_u64(&t, m->list_ex.limit);
		tb_s16(&t, m->list_ex.prefix);
		break;
	case PROTO_T_DEL_PREFIX:
		tb_u64(&t, m->del_prefix.client_id);
		tb_u64(&t, m->del_prefix.seq);
		tb_u8(&t, m->del_prefix.flags);
		tb_s16(&t, m->del_prefix.prefix);
		break;
	case PROTO_T_COUNT_REPLY:
		tb_u64(&t, m->count_reply.count);
		break;
	case PROTO_T_DELETED:
		tb_u64(&t, m->deleted.revision);
		tb_u64(&t, m->deleted.deleted);
		break;
	case PROTO_T_EVENTS:
		tb_u8(&t, m->events.flags);
		tb_u64(&t, m->events.revision);
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_CLUSTER_STATUS:
		tb_u64(&t, m->cluster_status.wait_ms);
		break;
	case PROTO_T_MEMBERS_VIEW_REPLY:
		tb_u8(&t, m->members_view_reply.flags);
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_OK:
		tb_u64(&t, m->ok.revision);
		break;
	case PROTO_T_VALUE:
		tb_u64(&t, m->value_reply.revision);
		tb_s32(&t, m->value_reply.value);
		break;
	case PROTO_T_ERROR:
		tb_u16(&t, m->error.code);
		tb_s16(&t, m->error.message);
		break;
	case PROTO_T_LIST_REPLY:
		tb_u8(&t, m->list_reply.flags);
		/* fall through */
	case PROTO_T_STATUS_REPLY:
	case PROTO_T_MEMBERS_REPLY:
	case PROTO_T_TOKEN_LIST_REPLY:
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_EVENT:
		tb_u8(&t, m->event.kind);
		tb_s16(&t, m->event.key);
		tb_u64(&t, m->event.revision);
		tb_s32(&t, m->event.value);
		break;
	case PROTO_T_HELLO:
		tb_u16(&t, m->hello.version);
		tb_s16(&t, m->hello.cluster);
		tb_s16(&t, m->hello.node_id);
		tb_s16(&t, m->hello.address);
		tb_s16(&t, m->hello.auth);
		break;
	case PROTO_T_REJECT:
		tb_s16(&t, m->reject.message);
		break;
	case PROTO_T_RAFT:
		tb_s32(&t, m->raft.payload);
		break;
	case PROTO_T_REMOVED:
		tb_s16(&t, m->removed.cluster);
		tb_u64(&t, m->removed.index);
		break;
	case PROTO_T_PING:
		break;
	default:
		ck_abort_msg("craft: type 0x%02x", m->type);
	}
	f = frame_around(m->type, t.p, t.len, len);
	free(t.p);
	return f;
}

static uint8_t *
craft(const struct proto_msg *m, const struct items *it, size_t *len)
{
	return craft_count(m, it, (uint32_t)it->n, len);
}

/* --------------------------------------------------- codec helpers */

static uint8_t *
dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n);

	ck_assert(n == 0 || d != NULL);
	if (n > 0)
		memcpy(d, p, n);
	return d;
}

/* Build a list reply from its items, as the daemon does. */
static int
build(struct proto_buf *b, const struct proto_msg *m, const struct items *it)
{
	struct proto_reply rb;
	int rc;

	if ((rc = proto_reply_begin(&rb, b, m->type, m->id)) != 0)
		return rc;
	for (size_t i = 0; i < it->n; i++) {
		switch (m->type) {
		case PROTO_T_LIST_REPLY:
			rc = proto_reply_add_entry(&rb, it->e[i].key, it->e[i].revision,
						   it->e[i].value);
			break;
		case PROTO_T_STATUS_REPLY:
			rc = proto_reply_add_pair(&rb, it->p[i].name, it->p[i].value);
			break;
		case PROTO_T_TOKEN_LIST_REPLY:
			rc = proto_reply_add_token(&rb, &it->tk[i]);
			break;
		case PROTO_T_LIST_META_REPLY:
		case PROTO_T_TXN_REPLY:
			rc = proto_reply_add_kv(&rb, &it->kv[i]);
			break;
		case PROTO_T_EVENTS:
			rc = proto_reply_add_change(&rb, &it->ch[i]);
			break;
		case PROTO_T_CLUSTER_STATUS_REPLY:
			rc = proto_reply_add_member_status(&rb, &it->ms[i]);
			break;
		case PROTO_T_MEMBERS_VIEW_REPLY:
			rc = proto_reply_add_member_view(&rb, &it->mv[i]);
			break;
		default:
			rc = proto_reply_add_member(&rb, &it->mb[i]);
			break;
		}
		if (rc != 0) {
			proto_reply_abort(&rb);
			return rc;
		}
	}
	if (m->type == PROTO_T_TXN_REPLY)
		return proto_reply_end_txn(&rb, m->txn_reply.flags, m->txn_reply.revision);
	if (m->type == PROTO_T_EVENTS)
		return proto_reply_end_txn(&rb, m->events.flags, m->events.revision);
	return proto_reply_end(&rb, m->type == PROTO_T_LIST_REPLY	? m->list_reply.flags
				    : m->type == PROTO_T_LIST_META_REPLY ? m->list_meta_reply.flags
				    : m->type == PROTO_T_MEMBERS_VIEW_REPLY ? m->members_view_reply.flags
									   : 0);
}

/* Encode (or build) a sample; return its frame in an exact-size allocation. */
static uint8_t *
encode_sample(const struct sample *s, size_t *len)
{
	struct proto_buf b;
	char err[256];
	size_t flen = 0;
	uint8_t *f;
	int rc;

	proto_buf_init(&b);
	if (is_list(s->m.type))
		rc = build(&b, &s->m, &s->it);
	else
		rc = proto_encode(&b, &s->m, err, sizeof(err));
	ck_assert_msg(rc == 0, "encode %s: %d %s", proto_type_name(s->m.type), rc,
		      is_list(s->m.type) ? "" : err);
	ck_assert_int_eq(proto_frame_check(b.data, b.len, &flen), 0);
	ck_assert_uint_eq(flen, b.len);
	f = dup_exact(b.data, b.len);
	*len = b.len;
	proto_buf_free(&b);
	return f;
}

static void
decode_ok(const uint8_t *f, size_t len, struct proto_msg *out)
{
	char err[256];
	int rc = proto_decode(f, len, out, err, sizeof(err));

	ck_assert_msg(rc == 0, "decode: %d: %s", rc, err);
	ck_assert_str_eq(err, "");
}

static int
decode_err(const uint8_t *f, size_t len, char *err, size_t errlen)
{
	struct proto_msg m;
	int rc = proto_decode(f, len, &m, err, errlen);

	ck_assert_msg(rc != 0, "decode succeeded, expected an error");
	ck_assert_msg(err[0] != '\0', "decode failed with %d but no error text", rc);
	return rc;
}

static void
assert_str_eq(struct proto_str a, struct proto_str b, const char *what)
{
	ck_assert_msg(a.len == b.len, "%s: %zu bytes, expected %zu", what, a.len, b.len);
	ck_assert_msg(a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0, "%s: bytes differ", what);
}

/* A member's status item, its pairs walked one by one against the raw ones. */
static void
assert_pairs_eq(const struct proto_member_status *a, const struct proto_member_status *b)
{
	struct proto_iter ia, ib;
	union proto_item x, y;
	uint32_t n = 0;
	int ra, rb;

	assert_str_eq(a->node_id, b->node_id, "member node_id");
	assert_str_eq(a->address, b->address, "member address");
	assert_str_eq(a->error, b->error, "member error");
	ck_assert_uint_eq(a->pairs.count, b->pairs.count);
	ck_assert_uint_eq(a->pairs.rawlen, b->pairs.rawlen);
	ck_assert_int_eq(proto_iter_pairs(&ia, a), 0);
	ck_assert_int_eq(proto_iter_pairs(&ib, b), 0);
	while ((ra = proto_iter_next(&ia, &x)) == 1) {
		rb = proto_iter_next(&ib, &y);
		ck_assert_int_eq(rb, 1);
		assert_str_eq(x.pair.name, y.pair.name, "pair name");
		assert_str_eq(x.pair.value, y.pair.value, "pair value");
		n++;
	}
	ck_assert_int_eq(ra, 0);
	ck_assert_int_eq(proto_iter_next(&ib, &y), 0);
	ck_assert_uint_eq(n, b->pairs.count);
}

static void
assert_item_eq(uint8_t type, const union proto_item *a, const struct items *it, size_t i)
{
	switch (type) {
	case PROTO_T_LIST_REPLY:
		assert_str_eq(a->entry.key, it->e[i].key, "entry key");
		ck_assert_uint_eq(a->entry.revision, it->e[i].revision);
		assert_str_eq(a->entry.value, it->e[i].value, "entry value");
		break;
	case PROTO_T_STATUS_REPLY:
		assert_str_eq(a->pair.name, it->p[i].name, "pair name");
		assert_str_eq(a->pair.value, it->p[i].value, "pair value");
		break;
	case PROTO_T_MEMBERS_REPLY:
		assert_str_eq(a->member.node_id, it->mb[i].node_id, "member node_id");
		assert_str_eq(a->member.address, it->mb[i].address, "member address");
		ck_assert_uint_eq(a->member.flags, it->mb[i].flags);
		ck_assert_uint_eq(a->member.match_index, it->mb[i].match_index);
		ck_assert_uint_eq(a->member.last_contact_ms, it->mb[i].last_contact_ms);
		ck_assert_uint_eq(a->member.health, it->mb[i].health);
		break;
	case PROTO_T_MEMBERS_VIEW_REPLY:
		assert_str_eq(a->member_view.node_id, it->mv[i].node_id, "member node_id");
		assert_str_eq(a->member_view.address, it->mv[i].address, "member address");
		ck_assert_uint_eq(a->member_view.flags, it->mv[i].flags);
		ck_assert_uint_eq(a->member_view.match_index, it->mv[i].match_index);
		ck_assert_uint_eq(a->member_view.last_contact_ms, it->mv[i].last_contact_ms);
		ck_assert_uint_eq(a->member_view.health, it->mv[i].health);
		assert_str_eq(a->member_view.relay, it->mv[i].relay, "member relay");
		ck_assert_uint_eq(a->member_view.lag_entries, it->mv[i].lag_entries);
		ck_assert_uint_eq(a->member_view.lag_ms, it->mv[i].lag_ms);
		break;
	case PROTO_T_TOKEN_LIST_REPLY:
		assert_str_eq(a->token.name, it->tk[i].name, "token name");
		ck_assert_uint_eq(a->token.flags, it->tk[i].flags);
		assert_str_eq(a->token.prefix, it->tk[i].prefix, "token prefix");
		break;
	case PROTO_T_LIST_META_REPLY:
	case PROTO_T_TXN_REPLY:
		assert_str_eq(a->kv.key, it->kv[i].key, "kv key");
		ck_assert_uint_eq(a->kv.revision, it->kv[i].revision);
		ck_assert_uint_eq(a->kv.create_revision, it->kv[i].create_revision);
		ck_assert_uint_eq(a->kv.version, it->kv[i].version);
		assert_str_eq(a->kv.value, it->kv[i].value, "kv value");
		break;
	case PROTO_T_EVENTS:
		ck_assert_uint_eq(a->change.kind, it->ch[i].kind);
		assert_str_eq(a->change.key, it->ch[i].key, "change key");
		ck_assert_uint_eq(a->change.revision, it->ch[i].revision);
		assert_str_eq(a->change.value, it->ch[i].value, "change value");
		break;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		assert_pairs_eq(&a->member_status, &it->ms[i]);
		break;
	}
}

/* A TXN's compares and ops against the arrays they were built from. */
static void
assert_txn_eq(const struct proto_msg *d, const struct items *it)
{
	const struct proto_op *ops[2] = { it->then_ops, it->else_ops };
	size_t nops[2] = { it->nthen, it->nelse };
	struct proto_iter iter;
	union proto_item item;
	size_t n = 0;

	ck_assert_uint_eq(d->txn.compares.count, it->ncmp);
	ck_assert_int_eq(proto_iter_txn(&iter, d, PROTO_TXN_COMPARES), 0);
	while (proto_iter_next(&iter, &item) == 1) {
		ck_assert_uint_lt(n, it->ncmp);
		ck_assert_uint_eq(item.compare.target, it->cmp[n].target);
		ck_assert_uint_eq(item.compare.result, it->cmp[n].result);
		assert_str_eq(item.compare.key, it->cmp[n].key, "compare key");
		ck_assert_uint_eq(item.compare.revision, it->cmp[n].revision);
		assert_str_eq(item.compare.value, it->cmp[n].value, "compare value");
		n++;
	}
	ck_assert_uint_eq(n, it->ncmp);
	for (int l = 0; l < 2; l++) {
		ck_assert_int_eq(proto_iter_txn(&iter, d, l ? PROTO_TXN_ELSE : PROTO_TXN_THEN), 0);
		for (n = 0; proto_iter_next(&iter, &item) == 1; n++) {
			ck_assert_uint_lt(n, nops[l]);
			ck_assert_uint_eq(item.op.kind, ops[l][n].kind);
			assert_str_eq(item.op.key, ops[l][n].key, "op key");
			assert_str_eq(item.op.value, ops[l][n].value, "op value");
		}
		ck_assert_uint_eq(n, nops[l]);
	}
}

static void
assert_items_eq(const struct proto_msg *m, const struct items *it)
{
	struct proto_iter iter;
	union proto_item item;
	size_t n = 0;
	int rc;

	ck_assert_int_eq(proto_iter_init(&iter, m), 0);
	while ((rc = proto_iter_next(&iter, &item)) == 1) {
		ck_assert_uint_lt(n, it->n);
		assert_item_eq(m->type, &item, it, n);
		n++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(n, it->n);
	/* And it stays at the end. */
	ck_assert_int_eq(proto_iter_next(&iter, &item), 0);
}

/* Decoded message d against what was encoded: every field of its type. */
static void
assert_msg_eq(const struct proto_msg *d, const struct sample *s)
{
	const struct proto_msg *m = &s->m;

	ck_assert_uint_eq(d->type, m->type);
	ck_assert_uint_eq(d->id, has_id(m->type) ? m->id : 0);
	switch (m->type) {
	case PROTO_T_GET:
		ck_assert_uint_eq(d->get.flags, m->get.flags);
		assert_str_eq(d->get.key, m->get.key, "key");
		break;
	case PROTO_T_SET:
		ck_assert_uint_eq(d->set.client_id, m->set.client_id);
		ck_assert_uint_eq(d->set.seq, m->set.seq);
		assert_str_eq(d->set.key, m->set.key, "key");
		assert_str_eq(d->set.value, m->set.value, "value");
		break;
	case PROTO_T_DEL:
		ck_assert_uint_eq(d->del.client_id, m->del.client_id);
		ck_assert_uint_eq(d->del.seq, m->del.seq);
		assert_str_eq(d->del.key, m->del.key, "key");
		break;
	case PROTO_T_LIST:
		ck_assert_uint_eq(d->list.flags, m->list.flags);
		assert_str_eq(d->list.prefix, m->list.prefix, "prefix");
		break;
	case PROTO_T_STATUS:
	case PROTO_T_MEMBERS:
	case PROTO_T_MEMBERS_VIEW:
	case PROTO_T_BACKUP:
	case PROTO_T_SNAPSHOT:
		break;
	case PROTO_T_JOIN:
		ck_assert_uint_eq(d->join.flags, m->join.flags);
		assert_str_eq(d->join.node_id, m->join.node_id, "node_id");
		assert_str_eq(d->join.address, m->join.address, "address");
		assert_str_eq(d->join.cluster, m->join.cluster, "cluster");
		break;
	case PROTO_T_JOINREQ:
		ck_assert_uint_eq(d->joinreq.flags, m->joinreq.flags);
		assert_str_eq(d->joinreq.address, m->joinreq.address, "address");
		break;
	case PROTO_T_REMOVE:
	case PROTO_T_REMOVE_FORCE:
		assert_str_eq(d->remove.node_id, m->remove.node_id, "node_id");
		break;
	case PROTO_T_TRANSFER:
		assert_str_eq(d->transfer.node_id, m->transfer.node_id, "node_id");
		break;
	case PROTO_T_WATCH:
		assert_str_eq(d->watch.prefix, m->watch.prefix, "prefix");
		break;
	case PROTO_T_TOKEN_ADD:
		ck_assert_uint_eq(d->token_add.client_id, m->token_add.client_id);
		ck_assert_uint_eq(d->token_add.seq, m->token_add.seq);
		assert_str_eq(d->token_add.name, m->token_add.name, "name");
		assert_str_eq(d->token_add.prefix, m->token_add.prefix, "prefix");
		ck_assert_uint_eq(d->token_add.flags, m->token_add.flags);
		assert_str_eq(d->token_add.hash, m->token_add.hash, "hash");
		break;
	case PROTO_T_TOKEN_REVOKE:
		ck_assert_uint_eq(d->token_revoke.client_id, m->token_revoke.client_id);
		ck_assert_uint_eq(d->token_revoke.seq, m->token_revoke.seq);
		assert_str_eq(d->token_revoke.name, m->token_revoke.name, "name");
		break;
	case PROTO_T_TOKEN_LIST:
		break;
	case PROTO_T_TOKEN_LIST_REPLY:
		ck_assert_uint_eq(d->token_list_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_SET_IF:
		ck_assert_uint_eq(d->set_if.client_id, m->set_if.client_id);
		ck_assert_uint_eq(d->set_if.seq, m->set_if.seq);
		ck_assert_uint_eq(d->set_if.if_rev, m->set_if.if_rev);
		assert_str_eq(d->set_if.key, m->set_if.key, "key");
		assert_str_eq(d->set_if.value, m->set_if.value, "value");
		break;
	case PROTO_T_DEL_IF:
		ck_assert_uint_eq(d->del_if.client_id, m->del_if.client_id);
		ck_assert_uint_eq(d->del_if.seq, m->del_if.seq);
		ck_assert_uint_eq(d->del_if.if_rev, m->del_if.if_rev);
		assert_str_eq(d->del_if.key, m->del_if.key, "key");
		break;
	case PROTO_T_TXN:
		ck_assert_uint_eq(d->txn.client_id, m->txn.client_id);
		ck_assert_uint_eq(d->txn.seq, m->txn.seq);
		assert_txn_eq(d, &s->it);
		break;
	case PROTO_T_VALUE_META:
		ck_assert_uint_eq(d->value_meta.revision, m->value_meta.revision);
		ck_assert_uint_eq(d->value_meta.create_revision, m->value_meta.create_revision);
		ck_assert_uint_eq(d->value_meta.version, m->value_meta.version);
		assert_str_eq(d->value_meta.value, m->value_meta.value, "value");
		break;
	case PROTO_T_LIST_META_REPLY:
		ck_assert_uint_eq(d->list_meta_reply.flags, m->list_meta_reply.flags);
		ck_assert_uint_eq(d->list_meta_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_FAILED:
		ck_assert_uint_eq(d->failed.revision, m->failed.revision);
		break;
	case PROTO_T_BACKUP_CHUNK:
		ck_assert_uint_eq(d->backup_chunk.flags, m->backup_chunk.flags);
		ck_assert_uint_eq(d->backup_chunk.index, m->backup_chunk.index);
		ck_assert_uint_eq(d->backup_chunk.records, m->backup_chunk.records);
		ck_assert_uint_eq(d->backup_chunk.total, m->backup_chunk.total);
		ck_assert_uint_eq(d->backup_chunk.offset, m->backup_chunk.offset);
		assert_str_eq(d->backup_chunk.data, m->backup_chunk.data, "data");
		break;
	case PROTO_T_TXN_REPLY:
		ck_assert_uint_eq(d->txn_reply.flags, m->txn_reply.flags);
		ck_assert_uint_eq(d->txn_reply.revision, m->txn_reply.revision);
		ck_assert_uint_eq(d->txn_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_POLL:
		ck_assert_uint_eq(d->poll.flags, m->poll.flags);
		ck_assert_uint_eq(d->poll.after, m->poll.after);
		ck_assert_uint_eq(d->poll.wait_ms, m->poll.wait_ms);
		assert_str_eq(d->poll.prefix, m->poll.prefix, "prefix");
		break;
	case PROTO_T_LIST_EX:
		ck_assert_uint_eq(d->list_ex.flags, m->list_ex.flags);
		ck_assert_uint_eq(d->list_ex.limit, m->list_ex.limit);
		assert_str_eq(d->list_ex.prefix, m->list_ex.prefix, "prefix");
		break;
	case PROTO_T_DEL_PREFIX:
		ck_assert_uint_eq(d->del_prefix.client_id, m->del_prefix.client_id);
		ck_assert_uint_eq(d->del_prefix.seq, m->del_prefix.seq);
		ck_assert_uint_eq(d->del_prefix.flags, m->del_prefix.flags);
		assert_str_eq(d->del_prefix.prefix, m->del_prefix.prefix, "prefix");
		break;
	case PROTO_T_COUNT_REPLY:
		ck_assert_uint_eq(d->count_reply.count, m->count_reply.count);
		break;
	case PROTO_T_DELETED:
		ck_assert_uint_eq(d->deleted.revision, m->deleted.revision);
		ck_assert_uint_eq(d->deleted.deleted, m->deleted.deleted);
		break;
	case PROTO_T_EVENTS:
		ck_assert_uint_eq(d->events.flags, m->events.flags);
		ck_assert_uint_eq(d->events.revision, m->events.revision);
		ck_assert_uint_eq(d->events.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_CLUSTER_STATUS:
		ck_assert_uint_eq(d->cluster_status.wait_ms, m->cluster_status.wait_ms);
		break;
	case PROTO_T_MEMBERS_VIEW_REPLY:
		ck_assert_uint_eq(d->members_view_reply.flags, m->members_view_reply.flags);
		ck_assert_uint_eq(d->members_view_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		ck_assert_uint_eq(d->cluster_status_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_OK:
		ck_assert_uint_eq(d->ok.revision, m->ok.revision);
		break;
	case PROTO_T_VALUE:
		ck_assert_uint_eq(d->value_reply.revision, m->value_reply.revision);
		assert_str_eq(d->value_reply.value, m->value_reply.value, "value");
		break;
	case PROTO_T_ERROR:
		ck_assert_uint_eq(d->error.code, m->error.code);
		assert_str_eq(d->error.message, m->error.message, "message");
		break;
	case PROTO_T_LIST_REPLY:
		ck_assert_uint_eq(d->list_reply.flags, m->list_reply.flags);
		ck_assert_uint_eq(d->list_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_STATUS_REPLY:
		ck_assert_uint_eq(d->status_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_MEMBERS_REPLY:
		ck_assert_uint_eq(d->members_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_EVENT:
		ck_assert_uint_eq(d->event.kind, m->event.kind);
		assert_str_eq(d->event.key, m->event.key, "key");
		ck_assert_uint_eq(d->event.revision, m->event.revision);
		assert_str_eq(d->event.value, m->event.value, "value");
		break;
	case PROTO_T_HELLO:
		ck_assert_uint_eq(d->hello.version, m->hello.version);
		assert_str_eq(d->hello.cluster, m->hello.cluster, "cluster");
		assert_str_eq(d->hello.node_id, m->hello.node_id, "node_id");
		assert_str_eq(d->hello.address, m->hello.address, "address");
		assert_str_eq(d->hello.auth, m->hello.auth, "auth");
		break;
	case PROTO_T_REJECT:
		assert_str_eq(d->reject.message, m->reject.message, "message");
		break;
	case PROTO_T_RAFT:
		assert_str_eq(d->raft.payload, m->raft.payload, "payload");
		break;
	case PROTO_T_REMOVED:
		assert_str_eq(d->removed.cluster, m->removed.cluster, "cluster");
		ck_assert_uint_eq(d->removed.index, m->removed.index);
		break;
	case PROTO_T_PING:
		break;
	default:
		ck_abort_msg("type 0x%02x has no comparison", m->type);
	}
}

/* --------------------------------------------------------------- CRC */

static uint32_t
crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

START_TEST(test_crc32c_gives_the_standard_check_value)
{
	ck_assert_uint_eq(proto_crc32c(0, "123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(proto_crc32c(0, "", 0), 0);
	/* RFC 3720 B.4: 32 bytes of zeros, and of 0xff. */
	uint8_t z[32] = { 0 }, o[32];
	memset(o, 0xff, sizeof(o));
	ck_assert_uint_eq(proto_crc32c(0, z, sizeof(z)), 0x8a9136aau);
	ck_assert_uint_eq(proto_crc32c(0, o, sizeof(o)), 0x62a8ab43u);
}
END_TEST

START_TEST(test_crc32c_matches_a_bitwise_reference_at_every_length_alignment_and_split)
{
	static uint8_t buf[1100];

	fill_binary(buf, sizeof(buf));
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n <= 80; n++)
			ck_assert_uint_eq(proto_crc32c(0, buf + off, n),
					  crc32c_bitwise(0, buf + off, n));
	}
	ck_assert_uint_eq(proto_crc32c(0, buf + 3, 1097), crc32c_bitwise(0, buf + 3, 1097));
	for (size_t cut = 0; cut <= 40; cut++)
		ck_assert_uint_eq(proto_crc32c(proto_crc32c(0, buf, cut), buf + cut, 40 - cut),
				  crc32c_bitwise(0, buf, 40));
}
END_TEST

/* --------------------------------------------------------- round trips */

START_TEST(test_every_sample_message_round_trips)
{
	const struct sample *s = &samples[_i];
	struct proto_msg d;
	uint8_t *f;
	size_t len;

	f = encode_sample(s, &len);
	decode_ok(f, len, &d);
	assert_msg_eq(&d, s);
	free(f);
}
END_TEST

START_TEST(test_the_encoder_writes_the_layout_proto_h_documents)
{
	const struct sample *s = &samples[_i];
	uint8_t *f, *c;
	size_t len, clen;

	f = encode_sample(s, &len);
	c = craft(&s->m, &s->it, &clen);
	ck_assert_uint_eq(len, clen);
	ck_assert_msg(memcmp(f, c, len) == 0, "%s: encoder and proto.h disagree",
		      proto_type_name(s->m.type));
	free(f);
	free(c);
}
END_TEST

START_TEST(test_the_samples_cover_every_message_type)
{
	int types = 0;

	for (int t = 0; t < 256; t++) {
		bool known = strcmp(proto_type_name((uint8_t)t), "unknown") != 0;
		bool seen = false;

		for (int i = 0; i < nsamples; i++)
			seen |= samples[i].m.type == t;
		ck_assert_msg(known == seen, "type 0x%02x: known %d, sampled %d", t, known, seen);
		types += known;
	}
	ck_assert_int_eq(types, 48);
}
END_TEST

START_TEST(test_a_decoded_reply_relays_under_a_new_id_with_the_same_items)
{
	const struct sample *s = &samples[_i];
	struct proto_msg d, r;
	struct proto_buf b;
	char err[256];
	uint8_t *f, *g;
	size_t len;

	if (!is_list(s->m.type))
		return;
	f = encode_sample(s, &len);
	decode_ok(f, len, &d);
	/* Same id: the very same bytes. */
	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.len, len);
	ck_assert(memcmp(b.data, f, len) == 0);
	/* A follower relaying the leader's answer to its own client. */
	proto_buf_reset(&b);
	d.id = 0x1122334455667788ULL;
	ck_assert_int_eq(proto_encode(&b, &d, err, sizeof(err)), 0);
	g = dup_exact(b.data, b.len);
	decode_ok(g, b.len, &r);
	ck_assert_uint_eq(r.id, 0x1122334455667788ULL);
	assert_items_eq(&r, &s->it);
	free(f);
	free(g);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_a_peer_message_carries_no_request_id)
{
	struct sample s = *first_sample(PROTO_T_HELLO);
	uint8_t *a, *b;
	size_t alen, blen;

	a = encode_sample(&s, &alen);
	s.m.id = 99;
	b = encode_sample(&s, &blen);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(a, b, alen) == 0);
	free(a);
	free(b);
}
END_TEST

/* ---------------------------------------------------------- truncation */

START_TEST(test_every_prefix_of_every_frame_asks_for_more_bytes)
{
	const struct sample *s = &samples[_i];
	uint8_t *f, *p;
	size_t len, flen;

	f = encode_sample(s, &len);
	for (size_t n = 0; n < len; n++) {
		/* Big frames: the edges and a few points inside. */
		if (len > 16384 && n > 64 && n < len - 64 && n % 65521 != 0)
			continue;
		p = dup_exact(f, n);
		flen = 12345;
		ck_assert_int_eq(proto_frame_check(p, n, &flen), -EAGAIN);
		ck_assert_uint_eq(flen, n >= 4 ? len : 0);
		free(p);
	}
	ck_assert_int_eq(proto_frame_check(f, len, &flen), 0);
	free(f);
}
END_TEST

START_TEST(test_every_truncated_frame_fails_to_decode_with_a_clear_error)
{
	const struct sample *s = &samples[_i];
	uint8_t *f, *p;
	char err[256];
	size_t len;
	int rc;

	f = encode_sample(s, &len);
	for (size_t n = 0; n < len; n++) {
		if (len > 16384 && n > 64 && n < len - 64 && n % 65521 != 0)
			continue;
		/* The prefix, its header patched to claim exactly these bytes. */
		p = dup_exact(f, n);
		reseal(p, n);
		rc = decode_err(p, n, err, sizeof(err));
		ck_assert_int_eq(rc, -EPROTO);
		if (n < HDR) {
			ck_assert_msg(strstr(err, "header") != NULL, "%zu bytes: %s", n, err);
		} else {
			ck_assert_msg(strstr(err, "checksum") == NULL, "%zu bytes: %s", n, err);
			ck_assert_msg(strstr(err, "truncated") != NULL ||
				      strstr(err, "needs at least") != NULL,
				      "%s cut at %zu of %zu: %s", proto_type_name(s->m.type), n,
				      len, err);
		}
		free(p);
	}
	free(f);
}
END_TEST

START_TEST(test_trailing_bytes_after_the_last_field_are_refused)
{
	const struct sample *s = &samples[_i];
	struct proto_msg d;
	uint8_t *f, *g;
	char err[256];
	size_t len;

	f = encode_sample(s, &len);
	if (len + 1 > RAFTCONF_MAX_FRAME) {
		free(f);
		return;
	}
	g = malloc(len + 1);
	ck_assert_ptr_nonnull(g);
	memcpy(g, f, len);
	g[len] = 0;
	reseal(g, len + 1);
	ck_assert_int_eq(proto_decode(g, len + 1, &d, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "1 trailing bytes") != NULL, "%s", err);
	free(f);
	free(g);
}
END_TEST

/* ----------------------------------------------------------- oversize */

typedef void setter_fn(struct proto_msg *m, union proto_item *it, struct proto_str s);

#define SETTER(name, lvalue)                                                          \
	static void name(struct proto_msg *m, union proto_item *it, struct proto_str s) \
	{                                                                             \
		(void)m;                                                              \
		(void)it;                                                             \
		lvalue = s;                                                           \
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
static void
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
static int
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

/* ----------------------------------------------------- bad frames */

/* A valid GET frame to damage. */
static uint8_t *
get_frame(size_t *len)
{
	return encode_sample(first_sample(PROTO_T_GET), len);
}

START_TEST(test_a_bad_checksum_is_refused)
{
	uint8_t *f;
	char err[256];
	size_t len;

	f = get_frame(&len);
	f[len - 1] ^= 0x01;
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "checksum") != NULL, "%s", err);
	f[len - 1] ^= 0x01;
	f[9] ^= 0x80;
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "checksum") != NULL, "%s", err);
	free(f);
}
END_TEST

START_TEST(test_a_wrong_version_is_refused)
{
	static const uint8_t versions[] = { 0, 2, 255 };
	uint8_t *f;
	char err[256];
	size_t len;

	f = get_frame(&len);
	for (size_t i = 0; i < sizeof(versions); i++) {
		f[4] = versions[i];
		ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
		ck_assert_msg(strstr(err, "protocol version") != NULL, "%s", err);
	}
	free(f);
}
END_TEST

START_TEST(test_an_unknown_type_is_refused)
{
	static const uint8_t body[16] = { 0 };
	struct proto_msg d;
	char err[256];
	uint8_t *f;
	size_t len;
	int unknown = 0;

	for (int t = 0; t < 256; t++) {
		if (strcmp(proto_type_name((uint8_t)t), "unknown") != 0)
			continue;
		unknown++;
		f = frame_around((uint8_t)t, body, sizeof(body), &len);
		ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
		ck_assert_msg(strstr(err, "unknown message type") != NULL, "%s", err);
		free(f);
		f = frame_around((uint8_t)t, NULL, 0, &len);
		ck_assert_int_eq(proto_decode(f, len, &d, err, sizeof(err)), -EPROTO);
		ck_assert_uint_eq(d.type, 0);
		free(f);
	}
	ck_assert_int_eq(unknown, 256 - 48);
}
END_TEST

START_TEST(test_nonzero_header_flags_are_refused)
{
	static const uint16_t flags[] = { 0x0001, 0x0100, 0x8000, 0xffff };
	uint8_t *f;
	char err[256];
	size_t len;

	f = get_frame(&len);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		f[6] = (uint8_t)(flags[i] >> 8);
		f[7] = (uint8_t)flags[i];
		ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
		ck_assert_msg(strstr(err, "header flags") != NULL, "%s", err);
	}
	free(f);
}
END_TEST

START_TEST(test_a_length_below_the_header_is_refused_from_four_bytes)
{
	uint8_t *f = malloc(4), *g;
	char err[256];
	size_t flen, len;

	ck_assert_ptr_nonnull(f);
	for (uint32_t n = 0; n < HDR; n++) {
		put_be32(f, n);
		ck_assert_int_eq(proto_frame_check(f, 4, &flen), -EPROTO);
		ck_assert_uint_eq(flen, n);
	}
	g = get_frame(&len);
	put_be32(g, HDR - 1);
	ck_assert_int_eq(decode_err(g, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "below the 12-byte header") != NULL, "%s", err);
	free(f);
	free(g);
}
END_TEST

START_TEST(test_a_length_above_the_frame_limit_is_refused_from_four_bytes)
{
	static const uint32_t lens[] = { RAFTCONF_MAX_FRAME + 1, 0x47455420 /* "GET " */,
					 UINT32_MAX };
	uint8_t *f = malloc(4), *g;
	char err[256];
	size_t flen, len;

	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		put_be32(f, lens[i]);
		ck_assert_int_eq(proto_frame_check(f, 4, &flen), -EMSGSIZE);
		ck_assert_uint_eq(flen, lens[i]);
	}
	put_be32(f, RAFTCONF_MAX_FRAME);
	ck_assert_int_eq(proto_frame_check(f, 4, &flen), -EAGAIN);
	g = get_frame(&len);
	put_be32(g, RAFTCONF_MAX_FRAME + 1);
	ck_assert_int_eq(decode_err(g, len, err, sizeof(err)), -EMSGSIZE);
	ck_assert_msg(strstr(err, "over the limit") != NULL, "%s", err);
	free(f);
	free(g);
}
END_TEST

START_TEST(test_a_length_field_that_disagrees_with_the_buffer_is_refused)
{
	uint8_t *f;
	char err[256];
	size_t len;

	f = get_frame(&len);
	ck_assert_int_eq(decode_err(f, len - 1, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "length field says") != NULL, "%s", err);
	free(f);
}
END_TEST

START_TEST(test_a_list_count_larger_than_its_bytes_is_refused)
{
	static const uint8_t types[] = { PROTO_T_LIST_REPLY, PROTO_T_STATUS_REPLY,
					 PROTO_T_MEMBERS_REPLY };
	static const uint32_t extra[] = { 1, 2, 1000, RAFTCONF_MAX_LIST };
	char err[256];
	uint8_t *f;
	size_t len;

	for (size_t t = 0; t < sizeof(types); t++) {
		const struct sample *s = &samples[0];

		for (int i = 0; i < nsamples; i++) {
			if (samples[i].m.type == types[t] && samples[i].it.n > 0)
				s = &samples[i];
		}
		ck_assert_uint_eq(s->m.type, types[t]);
		for (size_t k = 0; k < sizeof(extra) / sizeof(extra[0]); k++) {
			uint32_t count = (uint32_t)s->it.n + extra[k];

			f = craft_count(&s->m, &s->it, count, &len);
			ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), count > (types[t] ==
				PROTO_T_LIST_REPLY ? RAFTCONF_MAX_LIST : types[t] ==
				PROTO_T_STATUS_REPLY ? RAFTCONF_MAX_STATUS_PAIRS :
				RAFTCONF_MAX_MEMBERS) ? -E2BIG : -EPROTO);
			free(f);
		}
		/* Fewer items claimed than sent: the rest is trailing garbage. */
		f = craft_count(&s->m, &s->it, (uint32_t)s->it.n - 1, &len);
		ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
		ck_assert_msg(strstr(err, "trailing") != NULL, "%s", err);
		free(f);
	}
	/* A count nothing could hold, in a frame with no items at all. */
	f = craft_count(&first_sample(PROTO_T_LIST_REPLY)->m, &(struct items){ 0 }, 5000, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "count 5000 needs at least") != NULL, "%s", err);
	free(f);
	f = craft_count(&first_sample(PROTO_T_LIST_REPLY)->m, &(struct items){ 0 }, UINT32_MAX,
			&len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -E2BIG);
	free(f);
}
END_TEST

/* A message with one string field set to s: what encode and decode say. */
static void
assert_string_refused(uint8_t type, setter_fn *set, struct proto_str s, int enc_rc,
		      int dec_rc, const char *words)
{
	struct proto_msg m = first_sample(type)->m;
	union proto_item item;
	struct items items;
	char err[256];
	uint8_t *f;
	size_t len;
	int rc;

	base_item(type, &item, &items);
	set(&m, &item, s);
	rc = encode_rc(&m, &items, err, sizeof(err));
	ck_assert_msg(rc == enc_rc, "%s: encode gave %d, expected %d", proto_type_name(type), rc,
		      enc_rc);
	f = craft(&m, &items, &len);
	rc = decode_err(f, len, err, sizeof(err));
	ck_assert_msg(rc == dec_rc, "%s: decode gave %d, expected %d: %s", proto_type_name(type),
		      rc, dec_rc, err);
	ck_assert_msg(strstr(err, words) != NULL, "%s: \"%s\" lacks \"%s\"",
		      proto_type_name(type), err, words);
	free(f);
}

START_TEST(test_invalid_node_ids_are_refused)
{
	static const struct {
		struct proto_str id;
		const char *words;
	} bad[] = {
		{ S(""), "is empty" },
		{ S("n 1"), "outside [A-Za-z0-9_-]" },
		{ S("n.1"), "outside" },
		{ S("n/1"), "outside" },
		{ S("n1\0"), "outside" },
		{ S("\n"), "outside" },
		{ S("n\xc3\xb1"), "outside" },
	};
	static setter_fn *const setters[] = { set_remove_id, set_join_id, set_hello_id,
					      set_member_id, set_transfer_id };
	static const uint8_t types[] = { PROTO_T_REMOVE, PROTO_T_JOIN, PROTO_T_HELLO,
					 PROTO_T_MEMBERS_REPLY, PROTO_T_TRANSFER };

	for (size_t t = 0; t < sizeof(types); t++) {
		/* TRANSFER's id may be empty: "whoever is most up to date". */
		for (size_t i = types[t] == PROTO_T_TRANSFER; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_string_refused(types[t], setters[t], bad[i].id, -EINVAL, -EPROTO,
					      bad[i].words);
	}
	/* The cluster name has the same alphabet. */
	assert_string_refused(PROTO_T_HELLO, set_hello_cluster, S("prod config"), -EINVAL,
			      -EPROTO, "outside");
	assert_string_refused(PROTO_T_JOIN, set_join_cluster, S(""), -EINVAL, -EPROTO, "empty");
	ck_assert(proto_valid_id("n1", 2));
	ck_assert(proto_valid_id(max_id, sizeof(max_id)));
	ck_assert(!proto_valid_id("", 0));
	ck_assert(!proto_valid_id("n.1", 3));
	ck_assert(!proto_valid_id(fillbuf, RAFTCONF_MAX_ID + 1));
}
END_TEST

START_TEST(test_an_empty_key_is_refused)
{
	assert_string_refused(PROTO_T_GET, set_get_key, S(""), -EINVAL, -EPROTO, "key is empty");
	assert_string_refused(PROTO_T_SET, set_set_key, S(""), -EINVAL, -EPROTO, "key is empty");
	assert_string_refused(PROTO_T_DEL, set_del_key, S(""), -EINVAL, -EPROTO, "key is empty");
	assert_string_refused(PROTO_T_EVENT, set_event_key, S(""), -EINVAL, -EPROTO,
			      "key is empty");
	assert_string_refused(PROTO_T_LIST_REPLY, set_entry_key, S(""), -EINVAL, -EPROTO,
			      "entry 0: key is empty");
	ck_assert(!proto_valid_key("", 0));
	ck_assert(proto_valid_key("/", 1));
}
END_TEST

START_TEST(test_a_key_with_a_nul_byte_is_refused)
{
	assert_string_refused(PROTO_T_GET, set_get_key, S("/a\0b"), -EINVAL, -EPROTO,
			      "NUL byte at offset 2");
	assert_string_refused(PROTO_T_SET, set_set_key, S("\0"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_DEL, set_del_key, S("/x\0"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_EVENT, set_event_key, S("\0/x"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_LIST, set_list_prefix, S("/\0"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_WATCH, set_watch_prefix, S("/\0"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_LIST_REPLY, set_entry_key, S("a\0"), -EINVAL, -EPROTO,
			      "NUL");
	assert_string_refused(PROTO_T_ERROR, set_error_message, S("oops\0"), -EINVAL, -EPROTO,
			      "NUL");
	assert_string_refused(PROTO_T_STATUS_REPLY, set_pair_value, S("\0"), -EINVAL, -EPROTO,
			      "NUL");
	ck_assert(!proto_valid_key("a\0b", 3));
}
END_TEST

START_TEST(test_addresses_must_be_printable_without_spaces)
{
	assert_string_refused(PROTO_T_JOIN, set_join_address, S("10.0.0.1 :7000"), -EINVAL,
			      -EPROTO, "not printable");
	assert_string_refused(PROTO_T_JOINREQ, set_joinreq_address, S("h\x7f"), -EINVAL,
			      -EPROTO, "not printable");
	assert_string_refused(PROTO_T_HELLO, set_hello_address, S(""), -EINVAL, -EPROTO,
			      "address is empty");
	assert_string_refused(PROTO_T_MEMBERS_REPLY, set_member_address, S("a\tb"), -EINVAL,
			      -EPROTO, "member 0: address has byte 0x09");
	assert_string_refused(PROTO_T_STATUS_REPLY, set_pair_name, S(""), -EINVAL, -EPROTO,
			      "name is empty");
}
END_TEST

/* Patch one byte of a sample's crafted frame; decoding must refuse it. */
static void
assert_byte_refused(const struct sample *s, size_t at, uint8_t v, const char *words)
{
	char err[256];
	uint8_t *f;
	size_t len;

	f = craft(&s->m, &s->it, &len);
	ck_assert_uint_lt(at, len);
	f[at] = v;
	reseal(f, len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, words) != NULL, "\"%s\" lacks \"%s\"", err, words);
	free(f);
}

START_TEST(test_unknown_flag_bits_are_refused)
{
	struct proto_msg m;
	char err[256];
	const size_t flags_at = HDR + 8;

	assert_byte_refused(first_sample(PROTO_T_GET), flags_at, 0x04, "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_LIST_META_REPLY), flags_at, 0x02,
			    "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_TXN_REPLY), flags_at, 0x04,
			    "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_LIST), flags_at, 0x80, "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_JOIN), flags_at, 0x03, "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_JOINREQ), flags_at, 0x04,
			    "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_LIST_REPLY), flags_at, 0x10,
			    "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_LIST_EX), flags_at, 0x10,
			    "flags has unknown bits");
	/* DEL_PREFIX: id, client_id, seq, then flags. */
	assert_byte_refused(first_sample(PROTO_T_DEL_PREFIX), HDR + 24, 0x02,
			    "flags has unknown bits");
	/* TOKEN_ADD: id, client_id, seq, name "app-ro", prefix "", then flags. */
	assert_byte_refused(first_sample(PROTO_T_TOKEN_ADD), HDR + 24 + 2 + 6 + 2, 0x02,
			    "flags has unknown bits");
	/* TOKEN_LIST_REPLY: id, count, name "all-ro", then flags. */
	for (int i = 0; i < nsamples; i++) {
		if (samples[i].m.type == PROTO_T_TOKEN_LIST_REPLY && samples[i].it.n > 0)
			assert_byte_refused(&samples[i], HDR + 8 + 4 + 2 + 6, 0x80,
					    "token 0: flags has unknown bits");
	}
	m = first_sample(PROTO_T_GET)->m;
	m.get.flags = 0x04;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "GET: flags has unknown bits 0x04") != NULL, "%s", err);
}
END_TEST

START_TEST(test_unknown_codes_kinds_and_member_states_are_refused)
{
	const struct sample *members = NULL;
	struct proto_msg m;
	char err[256];
	/* MEMBERS_REPLY body: id, count, then node_id "n1", address "10.0.0.1:7000". */
	const size_t mflags_at = HDR + 8 + 4 + 2 + 2 + 2 + 13, health_at = mflags_at + 1 + 16;

	assert_byte_refused(first_sample(PROTO_T_ERROR), HDR + 9, 0, "code 0 is not in 1..12");
	assert_byte_refused(first_sample(PROTO_T_ERROR), HDR + 9, PROTO_E_MAX + 1, "code 13");
	assert_byte_refused(first_sample(PROTO_T_EVENT), HDR + 8, 0, "kind 0 is not in 1..2");
	assert_byte_refused(first_sample(PROTO_T_EVENT), HDR + 8, 3, "kind 3");
	for (int i = 0; i < nsamples; i++) {
		if (samples[i].m.type == PROTO_T_MEMBERS_REPLY && samples[i].it.n > 0)
			members = &samples[i];
	}
	ck_assert_ptr_nonnull(members);
	assert_byte_refused(members, mflags_at, 0, "not exactly one of voter and learner");
	assert_byte_refused(members, mflags_at, PROTO_M_VOTER | PROTO_M_LEARNER,
			    "not exactly one");
	assert_byte_refused(members, mflags_at, PROTO_M_LEARNER | PROTO_M_LEADER,
			    "marks a learner as leader");
	assert_byte_refused(members, mflags_at, PROTO_M_VOTER | 0x10, "unknown bits");
	assert_byte_refused(members, health_at, PROTO_H_MAX + 1, "health 4 is not in 0..3");

	m = first_sample(PROTO_T_ERROR)->m;
	m.error.code = 0;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), -EINVAL);
	m = first_sample(PROTO_T_EVENT)->m;
	m.event.kind = 3;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_a_token_hash_of_another_size_than_sha256_is_refused)
{
	struct sample s = *first_sample(PROTO_T_TOKEN_ADD);
	char err[256];
	uint8_t *f;
	size_t len;

	s.m.token_add.hash = view(hash32, sizeof(hash32) - 1);
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "TOKEN_ADD: hash is 31 bytes, expected 32") != NULL, "%s", err);
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "hash is 31 bytes, expected 32") != NULL, "%s", err);
	free(f);
	s.m.token_add.hash = S("");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	/* A name is a node id's alphabet. */
	s = *first_sample(PROTO_T_TOKEN_ADD);
	s.m.token_add.name = S("a b");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "name has byte 0x20") != NULL, "%s", err);
	free(f);
	s = *first_sample(PROTO_T_TOKEN_REVOKE);
	s.m.token_revoke.name = S("");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_a_del_event_with_a_value_is_refused)
{
	struct sample s = *first_sample(PROTO_T_EVENT);
	char err[256];
	uint8_t *f;
	size_t len;

	s.m.event.kind = PROTO_EV_DEL;
	s.m.event.value = S("x");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "DEL event carries a 1-byte value") != NULL, "%s", err);
	free(f);
}
END_TEST

START_TEST(test_a_redirect_must_carry_an_address)
{
	struct sample s = *first_sample(PROTO_T_ERROR);
	char err[256];
	uint8_t *f;
	size_t len;

	s.m.error.code = PROTO_E_REDIRECT;
	s.m.error.message = S("");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "REDIRECT without") != NULL, "%s", err);
	free(f);
	s.m.error.message = S("no leader here");
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	free(f);
}
END_TEST

START_TEST(test_a_bad_request_still_reports_its_type_and_id)
{
	struct sample s = *first_sample(PROTO_T_SET);
	struct proto_msg d;
	char err[256];
	uint8_t *f;
	size_t len;

	s.m.id = 4242;
	s.m.set.key = S("");
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(proto_decode(f, len, &d, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(d.type, PROTO_T_SET);
	ck_assert_uint_eq(d.id, 4242);
	f[len - 1] ^= 1;	/* now the crc fails: nothing is trusted */
	ck_assert_int_eq(proto_decode(f, len, &d, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(d.type, 0);
	ck_assert_uint_eq(d.id, 0);
	free(f);
}
END_TEST

START_TEST(test_decode_errors_need_no_error_buffer)
{
	struct proto_msg d;
	uint8_t *f;
	size_t len;

	f = get_frame(&len);
	ck_assert_int_eq(proto_decode(f, len, &d, NULL, 0), 0);
	f[4] = 9;
	ck_assert_int_eq(proto_decode(f, len, &d, NULL, 0), -EPROTO);
	ck_assert_int_eq(proto_decode(NULL, 0, &d, NULL, 0), -EPROTO);
	free(f);
}
END_TEST

START_TEST(test_error_messages_are_distinct_for_each_kind_of_damage)
{
	char errs[6][256];
	uint8_t *f;
	size_t len;

	f = get_frame(&len);
	f[4] = 2;
	decode_err(f, len, errs[0], sizeof(errs[0]));
	f[4] = PROTO_VERSION;
	f[5] = 0x7f;
	decode_err(f, len, errs[1], sizeof(errs[1]));
	f[5] = PROTO_T_GET;
	f[7] = 1;
	decode_err(f, len, errs[2], sizeof(errs[2]));
	f[7] = 0;
	f[len - 1] ^= 1;
	decode_err(f, len, errs[3], sizeof(errs[3]));
	f[len - 1] ^= 1;
	reseal(f, len - 1);
	decode_err(f, len - 1, errs[4], sizeof(errs[4]));
	free(f);
	f = frame_around(PROTO_T_STATUS, (const uint8_t *)"123456789", 9, &len);
	decode_err(f, len, errs[5], sizeof(errs[5]));
	free(f);
	for (int i = 0; i < 6; i++) {
		for (int j = i + 1; j < 6; j++)
			ck_assert_str_ne(errs[i], errs[j]);
	}
	ck_assert_str_eq(errs[5], "STATUS: 1 trailing bytes after the last field");
}
END_TEST

/* ------------------------------------------------------------ streams */

START_TEST(test_frame_check_finds_frames_in_a_byte_stream)
{
	uint8_t stream[4096], *have;
	size_t total = 0, got = 0, off = 0, flen, lens[3];
	const int which[3] = { 0, 10, 20 };
	int frames = 0, rc;

	for (int k = 0; k < 3; k++) {
		uint8_t *f = encode_sample(&samples[which[k]], &lens[k]);

		ck_assert_uint_le(total + lens[k], sizeof(stream));
		memcpy(stream + total, f, lens[k]);
		total += lens[k];
		free(f);
	}
	/* Bytes arrive one at a time; frames are taken as soon as they are whole. */
	for (got = 1; got <= total; got++) {
		have = dup_exact(stream + off, got - off);
		while ((rc = proto_frame_check(have, got - off, &flen)) == 0) {
			struct proto_msg d;
			uint8_t *fr = dup_exact(have, flen);

			ck_assert_uint_eq(flen, lens[frames]);
			decode_ok(fr, flen, &d);
			assert_msg_eq(&d, &samples[which[frames]]);
			free(fr);
			frames++;
			off += flen;
			free(have);
			have = dup_exact(stream + off, got - off);
		}
		ck_assert_int_eq(rc, -EAGAIN);
		free(have);
	}
	ck_assert_int_eq(frames, 3);
	ck_assert_uint_eq(off, total);
	ck_assert_int_eq(proto_frame_check(NULL, 0, NULL), -EAGAIN);
}
END_TEST

/* ------------------------------------------------------------- buffers */

START_TEST(test_frames_append_back_to_back_in_one_buffer)
{
	struct proto_buf b;
	struct proto_msg d;
	char err[256];
	size_t off = 0, flen;
	int n = 0;

	proto_buf_init(&b);
	for (int i = 0; i < 12; i++)
		ck_assert_int_eq(proto_encode(&b, &samples[i].m, err, sizeof(err)), 0);
	while (off < b.len) {
		ck_assert_int_eq(proto_frame_check(b.data + off, b.len - off, &flen), 0);
		ck_assert_int_eq(proto_decode(b.data + off, flen, &d, err, sizeof(err)), 0);
		assert_msg_eq(&d, &samples[n]);
		off += flen;
		n++;
	}
	ck_assert_int_eq(n, 12);
	proto_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_gt(b.cap, 0);
	proto_buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(test_a_failed_encode_leaves_the_buffer_as_it_was)
{
	struct proto_msg m;
	struct proto_buf b;
	uint8_t *before, *data;
	size_t len, cap;
	char err[256];

	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &first_sample(PROTO_T_SET)->m, err, sizeof(err)), 0);
	before = dup_exact(b.data, b.len);
	len = b.len;
	cap = b.cap;
	data = b.data;

	m = first_sample(PROTO_T_RAFT)->m;
	m.raft.payload = proto_mem(big_payload, sizeof(big_payload) - len + 1);
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EMSGSIZE);
	ck_assert_msg(strstr(err, "does not fit") != NULL, "%s", err);
	m.raft.payload = proto_mem(big_payload, sizeof(big_payload) + 1);
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EMSGSIZE);
	ck_assert_msg(strstr(err, "over the limit") != NULL, "%s", err);
	m = first_sample(PROTO_T_SET)->m;
	m.set.key = S("");
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	m.set.key = proto_mem(NULL, 3);
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	m.type = 0x3f;
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "unknown message type 0x3f") != NULL, "%s", err);

	ck_assert_uint_eq(b.len, len);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_ptr_eq(b.data, data);
	ck_assert(memcmp(b.data, before, len) == 0);
	free(before);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_the_buffer_never_grows_beyond_the_frame_limit)
{
	struct proto_msg m = first_sample(PROTO_T_RAFT)->m;
	struct proto_buf b;
	char err[256];

	proto_buf_init(&b);
	m.raft.payload = proto_mem(big_payload, sizeof(big_payload));
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.len, RAFTCONF_MAX_FRAME);
	ck_assert_uint_le(b.cap, RAFTCONF_MAX_FRAME);
	ck_assert_int_eq(proto_encode(&b, &first_sample(PROTO_T_STATUS)->m, err, sizeof(err)),
			 -EMSGSIZE);
	ck_assert_uint_eq(b.len, RAFTCONF_MAX_FRAME);
	proto_buf_reset(&b);
	ck_assert_int_eq(proto_encode(&b, &first_sample(PROTO_T_STATUS)->m, err, sizeof(err)), 0);
	proto_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------- builder */

START_TEST(test_a_list_reply_that_fills_the_frame_is_cut_and_marked_truncated)
{
	struct proto_entry e[8];
	struct proto_reply rb;
	struct proto_buf b;
	struct proto_msg d;
	uint8_t *f;
	size_t n = 0, before;
	char key[8];
	int rc;

	proto_buf_init(&b);
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_LIST_REPLY, 77), 0);
	for (;;) {
		ck_assert_uint_lt(n, 8);
		snprintf(key, sizeof(key), "/k%zu", n);
		e[n] = (struct proto_entry){ { strdup(key), strlen(key) }, n,
					     proto_mem(big_value, sizeof(big_value)) };
		before = b.len;
		rc = proto_reply_add_entry(&rb, e[n].key, e[n].revision, e[n].value);
		if (rc != 0) {
			ck_assert_int_eq(rc, -EMSGSIZE);
			ck_assert_uint_eq(b.len, before);
			free((char *)e[n].key.ptr);
			break;
		}
		n++;
	}
	ck_assert_uint_eq(n, 3);	/* four 1 MiB values do not fit in 4 MiB */
	ck_assert_int_eq(proto_reply_end(&rb, PROTO_F_TRUNCATED), 0);
	f = dup_exact(b.data, b.len);
	decode_ok(f, b.len, &d);
	ck_assert_uint_eq(d.id, 77);
	ck_assert_uint_eq(d.list_reply.flags, PROTO_F_TRUNCATED);
	assert_items_eq(&d, &(struct items){ .n = n, .e = e });
	for (size_t i = 0; i < n; i++)
		free((char *)e[i].key.ptr);
	free(f);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_a_bad_item_is_skipped_and_the_reply_stays_whole)
{
	struct proto_member bad = members3[0];
	struct proto_reply rb;
	struct proto_buf b;
	struct proto_msg d;
	uint8_t *f;
	size_t before;

	proto_buf_init(&b);
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_MEMBERS_REPLY, 5), 0);
	ck_assert_int_eq(proto_reply_add_member(&rb, &members3[0]), 0);
	before = b.len;
	bad.node_id = S("bad id");
	ck_assert_int_eq(proto_reply_add_member(&rb, &bad), -EINVAL);
	bad = members3[0];
	bad.address = proto_mem(fillbuf, RAFTCONF_MAX_ADDRESS + 1);
	memset(fillbuf, 'a', RAFTCONF_MAX_ADDRESS + 1);
	ck_assert_int_eq(proto_reply_add_member(&rb, &bad), -E2BIG);
	ck_assert_int_eq(proto_reply_add_pair(&rb, S("role"), S("x")), -EINVAL);
	ck_assert_uint_eq(b.len, before);
	ck_assert_int_eq(proto_reply_add_member(&rb, &members3[1]), 0);
	ck_assert_int_eq(proto_reply_end(&rb, PROTO_F_TRUNCATED), -EINVAL);
	ck_assert_int_eq(proto_reply_end(&rb, 0), 0);
	ck_assert_int_eq(proto_reply_end(&rb, 0), -EINVAL);	/* already ended */
	f = dup_exact(b.data, b.len);
	decode_ok(f, b.len, &d);
	assert_items_eq(&d, &(struct items){ .n = 2, .mb = members3 });
	free(f);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_an_aborted_reply_leaves_the_frames_before_it)
{
	struct proto_reply rb;
	struct proto_buf b;
	char err[256];
	size_t len;

	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &first_sample(PROTO_T_OK)->m, err, sizeof(err)), 0);
	len = b.len;
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_STATUS_REPLY, 1), 0);
	ck_assert_int_eq(proto_reply_add_pair(&rb, S("role"), S("follower")), 0);
	proto_reply_abort(&rb);
	ck_assert_uint_eq(b.len, len);
	ck_assert_int_eq(proto_reply_add_pair(&rb, S("role"), S("follower")), -EINVAL);
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_GET, 1), -EINVAL);
	ck_assert_uint_eq(b.len, len);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_encode_refuses_items_it_did_not_validate)
{
	struct proto_msg m = first_sample(PROTO_T_STATUS_REPLY)->m;
	struct proto_buf b;
	struct proto_iter it;
	union proto_item item;
	char err[256];
	/* count 1: name "r" (u16 1, 'r'), value "" — then one stray byte. */
	static const uint8_t raw[] = { 0, 1, 'r', 0, 0, 0xee };

	proto_buf_init(&b);
	m.status_reply.items = (struct proto_items){ 1, raw, sizeof(raw) };
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "after the last item") != NULL, "%s", err);
	m.status_reply.items = (struct proto_items){ 2, raw, sizeof(raw) };
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	m.status_reply.items = (struct proto_items){ 1, raw, sizeof(raw) - 1 };
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), 0);
	/* An iterator over hand-made items stops at the damage. */
	m.status_reply.items = (struct proto_items){ 2, raw, sizeof(raw) - 1 };
	ck_assert_int_eq(proto_iter_init(&it, &m), 0);
	ck_assert_int_eq(proto_iter_next(&it, &item), 1);
	ck_assert_int_eq(proto_iter_next(&it, &item), -EPROTO);
	ck_assert_int_eq(proto_iter_next(&it, &item), 0);
	m.type = PROTO_T_GET;
	ck_assert_int_eq(proto_iter_init(&it, &m), -EINVAL);
	proto_buf_free(&b);
}
END_TEST

/* --------------------------------------------------------------- names */

START_TEST(test_every_type_error_and_health_has_a_name)
{
	int req = 0, rsp = 0, peer = 0;

	for (int t = 0; t < 256; t++) {
		bool known = strcmp(proto_type_name((uint8_t)t), "unknown") != 0;

		req += proto_is_request((uint8_t)t);
		rsp += proto_is_response((uint8_t)t);
		peer += proto_is_peer((uint8_t)t);
		ck_assert_int_eq(known, proto_is_request((uint8_t)t) +
				 proto_is_response((uint8_t)t) + proto_is_peer((uint8_t)t));
	}
	ck_assert_int_eq(req, 25);
	ck_assert_int_eq(rsp, 18);
	ck_assert_int_eq(peer, 5);
	ck_assert_str_eq(proto_type_name(PROTO_T_LIST_REPLY), "LIST_REPLY");
	ck_assert_str_eq(proto_type_name(PROTO_T_HELLO), "HELLO");
	for (int c = 1; c <= PROTO_E_MAX; c++)
		ck_assert_str_ne(proto_error_name((uint16_t)c), "unknown");
	ck_assert_str_eq(proto_error_name(PROTO_E_NOTFOUND), "not found");
	ck_assert_str_eq(proto_error_name(0), "unknown");
	ck_assert_str_eq(proto_error_name(PROTO_E_MAX + 1), "unknown");
	ck_assert_str_eq(proto_error_name(UINT16_MAX), "unknown");
	ck_assert_str_eq(proto_health_name(PROTO_H_LAGGING), "lagging");
	ck_assert_str_eq(proto_health_name(200), "unknown");
}
END_TEST

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

/* ---------------------------------------------------------------- seeds */

START_TEST(test_every_fuzz_seed_decodes_and_reencodes_to_the_same_bytes)
{
	const char *dir = TEST_DATA_DIR "/proto/seeds";
	struct proto_buf b;
	struct dirent *de;
	DIR *d = opendir(dir);
	int seeds = 0;

	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	proto_buf_init(&b);
	while ((de = readdir(d)) != NULL) {
		char path[4096], err[256];
		uint8_t *f;
		struct proto_msg m;
		long n;
		FILE *fp;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fp = fopen(path, "rb");
		ck_assert_msg(fp != NULL, "%s", path);
		ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
		n = ftell(fp);
		rewind(fp);
		ck_assert_int_gt(n, 0);
		f = malloc((size_t)n);
		ck_assert_uint_eq(fread(f, 1, (size_t)n, fp), (size_t)n);
		fclose(fp);
		ck_assert_msg(proto_decode(f, (size_t)n, &m, err, sizeof(err)) == 0, "%s: %s",
			      path, err);
		proto_buf_reset(&b);
		ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), 0);
		ck_assert_uint_eq(b.len, (size_t)n);
		ck_assert_msg(memcmp(b.data, f, (size_t)n) == 0, "%s re-encodes differently", path);
		free(f);
		seeds++;
	}
	closedir(d);
	proto_buf_free(&b);
	ck_assert_int_ge(seeds, 5);
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

/* ---------------------------------------------------------------- main */

/* An EVENTS' changes: a DEL without a value, revisions rising, none past the answer's. */
START_TEST(test_events_changes_are_checked_across_fields)
{
	static const struct {
		struct proto_change ch[2];
		uint64_t revision;
		const char *why; /* NULL: valid */
	} cases[] = {
		{ { { PROTO_EV_PUT, { "/a", 2 }, 5, { "x", 1 } },
		      { PROTO_EV_DEL, { "/b", 2 }, 5, { "", 0 } } },
		    5, NULL },
		{ { { PROTO_EV_PUT, { "/a", 2 }, 5, { "x", 1 } },
		      { PROTO_EV_DEL, { "/b", 2 }, 6, { "y", 1 } } },
		    9, "is a DEL with a value" },
		{ { { PROTO_EV_PUT, { "/a", 2 }, 7, { "x", 1 } },
		      { PROTO_EV_PUT, { "/b", 2 }, 6, { "y", 1 } } },
		    9, "out of order" },
		{ { { PROTO_EV_PUT, { "/a", 2 }, 7, { "x", 1 } },
		      { PROTO_EV_PUT, { "/b", 2 }, 10, { "y", 1 } } },
		    9, "answer at 9" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_reply rb;
		struct proto_buf b;
		struct proto_msg m;
		char err[256] = "";
		int rc;

		proto_buf_init(&b);
		ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_EVENTS, 1), 0);
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(proto_reply_add_change(&rb, &cases[i].ch[k]), 0);
		ck_assert_int_eq(proto_reply_end_txn(&rb, 0, cases[i].revision), 0);
		rc = proto_decode(b.data, b.len, &m, err, sizeof(err));
		if (cases[i].why == NULL) {
			ck_assert_msg(rc == 0, "case %zu: %s", i, err);
			ck_assert_uint_eq(m.events.revision, cases[i].revision);
		} else {
			ck_assert_int_eq(rc, -EPROTO);
			ck_assert_msg(strstr(err, cases[i].why) != NULL, "case %zu: %s", i, err);
		}
		proto_buf_free(&b);
	}
	/* a reply of another type has no revision to set */
	{
		struct proto_reply rb;
		struct proto_buf b;

		proto_buf_init(&b);
		ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_LIST_REPLY, 1), 0);
		ck_assert_int_eq(proto_reply_end_txn(&rb, 0, 3), -EINVAL);
		proto_reply_abort(&rb);
		proto_buf_free(&b);
	}
}
END_TEST

/* A CLUSTER_STATUS_REPLY of these members: what the builder and the decoder say. */
static void
cluster_reply_rc(const struct proto_member_status *ms, size_t n, int *build_rc, int *decode_rc,
		 char *err, size_t errlen)
{
	struct proto_msg m = { .type = PROTO_T_CLUSTER_STATUS_REPLY, .id = 9 }, d;
	struct items it = { .n = n, .ms = ms };
	struct proto_buf b;
	uint8_t *f;
	size_t len;

	proto_buf_init(&b);
	*build_rc = build(&b, &m, &it);
	proto_buf_free(&b);
	f = craft(&m, &it, &len);
	err[0] = '\0';
	*decode_rc = proto_decode(f, len, &d, err, errlen);
	free(f);
}

START_TEST(test_a_member_status_has_its_pairs_or_an_error_never_both_nor_neither)
{
	struct proto_member_status ms[2] = { mstatus3[0], mstatus3[1] };
	char err[256];
	int brc, drc;

	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, 0);
	ck_assert_msg(drc == 0, "%s", err);
	/* an answer that also says it failed */
	ms[1] = mstatus3[0];
	ms[1].error = S("did not answer");
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	ck_assert_msg(strstr(err, "member 1 has both a status and an error") != NULL, "%s", err);
	/* no answer and no reason */
	ms[1] = mstatus3[1];
	ms[1].error = S("");
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	ck_assert_msg(strstr(err, "member 1 has neither") != NULL, "%s", err);
}
END_TEST

START_TEST(test_damage_inside_a_members_pairs_is_refused_and_placed)
{
	/* a pair whose name has a NUL byte; a count its bytes cannot hold */
	static const uint8_t nul_name[] = { 0, 2, 'i', 0, 0, 1, 'x' };
	static const uint8_t short_raw[] = { 0, 2, 'i', 'd', 0, 1, 'x' };
	struct proto_member_status ms[2] = { mstatus3[1], mstatus3[0] };
	char err[256];
	int brc, drc;

	ms[1].pairs = (struct proto_items){ 1, nul_name, sizeof(nul_name) };
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	ck_assert_msg(strstr(err, "pair 0: name has a NUL byte") != NULL, "%s", err);
	ms[1].pairs = (struct proto_items){ 3, short_raw, sizeof(short_raw) };
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	/* after the pairs of member 0, a damaged field of member 1 is placed in member 1 */
	ms[0] = mstatus3[0];
	ms[1] = mstatus3[1];
	ms[1].address = S("no spaces allowed");
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	ck_assert_msg(strstr(err, "CLUSTER_STATUS_REPLY member 1: address has byte 0x20") != NULL,
		      "%s", err);
}
END_TEST

/* A wait outside its range, in CLUSTER_STATUS and POLL. */
START_TEST(test_a_wait_outside_its_range_is_refused_both_ways)
{
	static const struct {
		uint8_t type;
		uint64_t wait_ms;
		bool ok;
	} cases[] = {
		{ PROTO_T_CLUSTER_STATUS, 0, false },
		{ PROTO_T_CLUSTER_STATUS, 1, true },
		{ PROTO_T_CLUSTER_STATUS, RAFTCONF_MAX_STATUS_WAIT_MS, true },
		{ PROTO_T_CLUSTER_STATUS, RAFTCONF_MAX_STATUS_WAIT_MS + 1, false },
		{ PROTO_T_CLUSTER_STATUS, UINT64_MAX, false },
		{ PROTO_T_POLL, 0, true },
		{ PROTO_T_POLL, RAFTCONF_MAX_POLL_MS, true },
		{ PROTO_T_POLL, RAFTCONF_MAX_POLL_MS + 1, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sample s = *first_sample(cases[i].type);
		struct proto_msg d;
		char err[256] = "";
		uint8_t *f;
		size_t len;
		int rc;

		if (cases[i].type == PROTO_T_POLL)
			s.m.poll.wait_ms = cases[i].wait_ms;
		else
			s.m.cluster_status.wait_ms = cases[i].wait_ms;
		rc = encode_rc(&s.m, &s.it, err, sizeof(err));
		ck_assert_msg(rc == (cases[i].ok ? 0 : -EINVAL), "case %zu: encode %d: %s", i, rc,
			      err);
		f = craft(&s.m, &s.it, &len);
		rc = proto_decode(f, len, &d, err, sizeof(err));
		ck_assert_msg(rc == (cases[i].ok ? 0 : -EPROTO), "case %zu: decode %d", i, rc);
		if (!cases[i].ok)
			ck_assert_msg(strstr(err, "wait_ms") != NULL && strstr(err, "is not in") != NULL,
				      "case %zu: %s", i, err);
		free(f);
	}
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("crc32c");
	tcase_add_test(tc, test_crc32c_gives_the_standard_check_value);
	tcase_add_test(tc,
		       test_crc32c_matches_a_bitwise_reference_at_every_length_alignment_and_split);
	suite_add_tcase(s, tc);

	tc = tcase_create("round trip");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_the_samples_cover_every_message_type);
	tcase_add_loop_test(tc, test_every_sample_message_round_trips, 0, nsamples);
	tcase_add_loop_test(tc, test_the_encoder_writes_the_layout_proto_h_documents, 0, nsamples);
	tcase_add_loop_test(tc, test_a_decoded_reply_relays_under_a_new_id_with_the_same_items, 0,
			    nsamples);
	tcase_add_test(tc, test_a_peer_message_carries_no_request_id);
	suite_add_tcase(s, tc);

	tc = tcase_create("truncation");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_every_prefix_of_every_frame_asks_for_more_bytes, 0, nsamples);
	tcase_add_loop_test(tc, test_every_truncated_frame_fails_to_decode_with_a_clear_error, 0,
			    nsamples);
	tcase_add_loop_test(tc, test_trailing_bytes_after_the_last_field_are_refused, 0, nsamples);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc,
			    test_every_field_one_byte_over_its_limit_fails_to_encode_and_to_decode,
			    0, NOVERSIZE);
	tcase_add_test(tc, test_a_list_count_over_its_limit_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad frames");
	tcase_add_test(tc, test_a_bad_checksum_is_refused);
	tcase_add_test(tc, test_a_wrong_version_is_refused);
	tcase_add_test(tc, test_an_unknown_type_is_refused);
	tcase_add_test(tc, test_nonzero_header_flags_are_refused);
	tcase_add_test(tc, test_a_length_below_the_header_is_refused_from_four_bytes);
	tcase_add_test(tc, test_a_length_above_the_frame_limit_is_refused_from_four_bytes);
	tcase_add_test(tc, test_a_length_field_that_disagrees_with_the_buffer_is_refused);
	tcase_add_test(tc, test_a_list_count_larger_than_its_bytes_is_refused);
	tcase_add_test(tc, test_invalid_node_ids_are_refused);
	tcase_add_test(tc, test_an_empty_key_is_refused);
	tcase_add_test(tc, test_a_key_with_a_nul_byte_is_refused);
	tcase_add_test(tc, test_addresses_must_be_printable_without_spaces);
	tcase_add_test(tc, test_unknown_flag_bits_are_refused);
	tcase_add_test(tc, test_unknown_codes_kinds_and_member_states_are_refused);
	tcase_add_test(tc, test_events_changes_are_checked_across_fields);
	tcase_add_test(tc, test_a_member_status_has_its_pairs_or_an_error_never_both_nor_neither);
	tcase_add_test(tc, test_damage_inside_a_members_pairs_is_refused_and_placed);
	tcase_add_test(tc, test_a_wait_outside_its_range_is_refused_both_ways);
	tcase_add_test(tc, test_a_del_event_with_a_value_is_refused);
	tcase_add_test(tc, test_a_token_hash_of_another_size_than_sha256_is_refused);
	tcase_add_test(tc, test_a_redirect_must_carry_an_address);
	tcase_add_test(tc, test_a_bad_request_still_reports_its_type_and_id);
	tcase_add_test(tc, test_decode_errors_need_no_error_buffer);
	tcase_add_test(tc, test_error_messages_are_distinct_for_each_kind_of_damage);
	suite_add_tcase(s, tc);

	tc = tcase_create("streams and buffers");
	tcase_add_test(tc, test_frame_check_finds_frames_in_a_byte_stream);
	tcase_add_test(tc, test_frames_append_back_to_back_in_one_buffer);
	tcase_add_test(tc, test_a_failed_encode_leaves_the_buffer_as_it_was);
	tcase_add_test(tc, test_the_buffer_never_grows_beyond_the_frame_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply builder");
	tcase_add_test(tc, test_a_list_reply_that_fills_the_frame_is_cut_and_marked_truncated);
	tcase_add_test(tc, test_a_bad_item_is_skipped_and_the_reply_stays_whole);
	tcase_add_test(tc, test_an_aborted_reply_leaves_the_frames_before_it);
	tcase_add_test(tc, test_encode_refuses_items_it_did_not_validate);
	suite_add_tcase(s, tc);

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

	tc = tcase_create("names and seeds");
	tcase_add_test(tc, test_every_type_error_and_health_has_a_name);
	tcase_add_test(tc, test_every_fuzz_seed_decodes_and_reencodes_to_the_same_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failures;

	init_samples();
	sr = srunner_create(proto_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
