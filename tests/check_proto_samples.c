/*
 * check_proto_samples.c — the sample messages of check_proto: at least one
 * of every type, its strings empty, typical and at their limits, and
 * the list replies with their items.  The other files take them from
 * samples[] (or first_sample) so that every test runs over the same set.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_proto.h"

/* ------------------------------------------------------------ fixtures */

static char max_key[RAFTCONF_MAX_KEY];
char max_id[RAFTCONF_MAX_ID];
static char max_addr[RAFTCONF_MAX_ADDRESS];
static char max_cluster[RAFTCONF_MAX_CLUSTER_NAME];
static char max_text[RAFTCONF_MAX_ERROR];
static char max_sname[RAFTCONF_MAX_STATUS_NAME];
static char max_svalue[RAFTCONF_MAX_STATUS_VALUE];
static uint8_t max_auth[RAFTCONF_MAX_AUTH];
uint8_t big_value[RAFTCONF_MAX_VALUE];
uint8_t big_payload[RAFTCONF_MAX_FRAME - HDR - 4];
char fillbuf[RAFTCONF_MAX_FRAME];

static void
fill(char *p, size_t n, const char *alphabet)
{
	size_t k = strlen(alphabet);

	for (size_t i = 0; i < n; i++)
		p[i] = alphabet[i % k];
}

void
fill_binary(uint8_t *p, size_t n)
{
	/* Every byte value, NUL among them, in an order that is not a ramp. */
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 8));
}

struct sample samples[128];
int nsamples;

struct proto_entry entries3[3];
static struct proto_entry entry_max[1];
struct proto_pair pairs7[7];
struct proto_member members3[3];
struct proto_member_view views3[3];
struct proto_token tokens3[3];
struct proto_kv kvs3[3];
static struct proto_change changes3[3];
struct proto_member_status mstatus3[3];
/* Two STATUS_REPLY pairs as proto.h lays them out: { s16 name, s16 value }. */
static const uint8_t pairs2_raw[] = {
	0, 2, 'i', 'd', 0, 2, 'n', '2',
	0, 4, 'r', 'o', 'l', 'e', 0, 8, 'f', 'o', 'l', 'l', 'o', 'w', 'e', 'r',
};
static struct proto_compare cmps4[4];
static struct proto_op ops3[3];
static struct proto_buf txn_bufs[3];
uint8_t hash32[PROTO_TOKEN_HASH];

static struct sample *
add(uint8_t type, uint64_t id)
{
	struct sample *s = &samples[nsamples++];

	memset(s, 0, sizeof(*s));
	s->m.type = type;
	s->m.id = id;
	return s;
}

struct proto_str
view(const void *p, size_t n)
{
	return proto_mem(p, n);
}

void
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

bool
is_list(uint8_t type)
{
	return type == PROTO_T_LIST_REPLY || type == PROTO_T_STATUS_REPLY ||
	       type == PROTO_T_MEMBERS_REPLY || type == PROTO_T_TOKEN_LIST_REPLY ||
	       type == PROTO_T_LIST_META_REPLY || type == PROTO_T_TXN_REPLY ||
	       type == PROTO_T_EVENTS || type == PROTO_T_CLUSTER_STATUS_REPLY ||
	       type == PROTO_T_MEMBERS_VIEW_REPLY;
}

bool
has_id(uint8_t type)
{
	return !proto_is_peer(type);
}

const struct sample *
first_sample(uint8_t type)
{
	for (int i = 0; i < nsamples; i++) {
		if (samples[i].m.type == type)
			return &samples[i];
	}
	ck_abort_msg("no sample of type 0x%02x", type);
	return NULL;
}
