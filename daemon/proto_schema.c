/*
 * proto_schema.c — every message of the wire protocol described once: the
 * tables of fields (names, offsets, limits, checks) of each message type
 * and each kind of item, indexed by type code, and the rules across fields
 * that a message's post function checks after each field passed its own.
 *
 * proto_encode() and proto_decode() (proto.c) and the item lists
 * (proto_build.c) walk these tables with the one reader and writer of
 * proto_fields.c, so a layout is written down here and nowhere else.
 *
 * What it is not: no reading or writing of bytes of its own (a rule that
 * looks into a list of items reads it with proto_read_fields), no frame
 * header, no I/O.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "proto.h"
#include "proto_schema.h"

/* ------------------------------------------------------------ schemas */

/* struct field and struct schema are in proto_schema.h: proto_build.c
 * walks these tables too. */

#define NFIELDS(a) (a), sizeof(a) / sizeof((a)[0])
#define M(f)	   offsetof(struct proto_msg, f)

#define U8(n, o, chk, lo, hi)                  \
	{                                      \
		n, FK_U8, chk, o, lo, hi, NULL \
	}
#define U16(n, o, chk, lo, hi)                  \
	{                                       \
		n, FK_U16, chk, o, lo, hi, NULL \
	}
#define U64(n, o)                                 \
	{                                         \
		n, FK_U64, FC_NONE, o, 0, 0, NULL \
	}
#define FLAGS(o, mask) U8("flags", o, FC_MASK, 0, mask)
#define S16(n, o, chk, lo, hi)                  \
	{                                       \
		n, FK_S16, chk, o, lo, hi, NULL \
	}
#define S32(n, o, chk, lo, hi)                  \
	{                                       \
		n, FK_S32, chk, o, lo, hi, NULL \
	}
#define KEY(o)	   S16("key", o, FC_NONUL, 1, RAFTCONF_MAX_KEY)
#define PREFIX(o)  S16("prefix", o, FC_NONUL, 0, RAFTCONF_MAX_KEY)
#define NODE_ID(o) S16("node_id", o, FC_ID, 1, RAFTCONF_MAX_ID)
#define ADDRESS(o) S16("address", o, FC_ADDR, 1, RAFTCONF_MAX_ADDRESS)
#define CLUSTER(o) S16("cluster", o, FC_ID, 1, RAFTCONF_MAX_CLUSTER_NAME)
#define TEXT(o)	   S16("message", o, FC_NONUL, 0, RAFTCONF_MAX_ERROR)
#define VALUE(o)   S32("value", o, FC_BYTES, 0, RAFTCONF_MAX_VALUE)
#define ITEMS(n, o, sch, lim)                        \
	{                                            \
		n, FK_ITEMS, FC_NONE, o, 0, lim, sch \
	}

/* Items: offsets are into their own structs, which all sit at offset 0 of
 * union proto_item. */
static const struct field entry_fields[] = {
	KEY(offsetof(struct proto_entry, key)),
	U64("revision", offsetof(struct proto_entry, revision)),
	VALUE(offsetof(struct proto_entry, value)),
};
static const struct field pair_fields[] = {
	S16("name", offsetof(struct proto_pair, name), FC_NONUL, 1, RAFTCONF_MAX_STATUS_NAME),
	S16("value", offsetof(struct proto_pair, value), FC_NONUL, 0, RAFTCONF_MAX_STATUS_VALUE),
};
static const struct field member_fields[] = {
	NODE_ID(offsetof(struct proto_member, node_id)),
	ADDRESS(offsetof(struct proto_member, address)),
	U8("flags", offsetof(struct proto_member, flags), FC_MFLAGS, 0, 0),
	U64("match_index", offsetof(struct proto_member, match_index)),
	U64("last_contact_ms", offsetof(struct proto_member, last_contact_ms)),
	U8("health", offsetof(struct proto_member, health), FC_RANGE, 0, PROTO_H_MAX),
};
static const struct field member_view_fields[] = {
	NODE_ID(offsetof(struct proto_member_view, node_id)),
	ADDRESS(offsetof(struct proto_member_view, address)),
	U8("flags", offsetof(struct proto_member_view, flags), FC_MFLAGS, 0, 0),
	U64("match_index", offsetof(struct proto_member_view, match_index)),
	U64("last_contact_ms", offsetof(struct proto_member_view, last_contact_ms)),
	U8("health", offsetof(struct proto_member_view, health), FC_RANGE, 0, PROTO_H_MAX),
	S16("relay", offsetof(struct proto_member_view, relay), FC_ID, 0, RAFTCONF_MAX_ID),
	U64("lag_entries", offsetof(struct proto_member_view, lag_entries)),
	U64("lag_ms", offsetof(struct proto_member_view, lag_ms)),
};

static const struct field token_fields[] = {
	S16("name", offsetof(struct proto_token, name), FC_ID, 1, RAFTCONF_MAX_ID),
	U8("flags", offsetof(struct proto_token, flags), FC_MASK, 0, PROTO_F_WRITE),
	PREFIX(offsetof(struct proto_token, prefix)),
};

static const struct field kv_fields[] = {
	KEY(offsetof(struct proto_kv, key)),
	U64("revision", offsetof(struct proto_kv, revision)),
	U64("create_revision", offsetof(struct proto_kv, create_revision)),
	U64("version", offsetof(struct proto_kv, version)),
	VALUE(offsetof(struct proto_kv, value)),
};

static const struct field change_fields[] = {
	U8("kind", offsetof(struct proto_change, kind), FC_RANGE, PROTO_EV_PUT, PROTO_EV_DEL),
	KEY(offsetof(struct proto_change, key)),
	U64("revision", offsetof(struct proto_change, revision)),
	VALUE(offsetof(struct proto_change, value)),
};

static const struct field compare_fields[] = {
	U8("target", offsetof(struct proto_compare, target), FC_RANGE, PROTO_CMP_REV,
	    PROTO_CMP_VALUE),
	U8("result", offsetof(struct proto_compare, result), FC_RANGE, PROTO_CMP_EQ, PROTO_CMP_GT),
	KEY(offsetof(struct proto_compare, key)),
	U64("revision", offsetof(struct proto_compare, revision)),
	VALUE(offsetof(struct proto_compare, value)),
};

static const struct field op_fields[] = {
	U8("kind", offsetof(struct proto_op, kind), FC_RANGE, PROTO_OP_SET, PROTO_OP_GET),
	KEY(offsetof(struct proto_op, key)),
	VALUE(offsetof(struct proto_op, value)),
};

/* The pairs are a member's STATUS_REPLY items, carried as they came. */
static const struct field member_status_fields[] = {
	NODE_ID(offsetof(struct proto_member_status, node_id)),
	ADDRESS(offsetof(struct proto_member_status, address)),
	S16("error", offsetof(struct proto_member_status, error), FC_NONUL, 0, RAFTCONF_MAX_ERROR),
	ITEMS("pairs", offsetof(struct proto_member_status, pairs), &proto_pair_schema,
	    RAFTCONF_MAX_STATUS_PAIRS),
};

const struct schema proto_entry_schema = { "entry", false, NFIELDS(entry_fields), NULL };
const struct schema proto_kv_schema = { "kv", false, NFIELDS(kv_fields), NULL };
const struct schema proto_compare_schema = { "compare", false, NFIELDS(compare_fields), NULL };
const struct schema proto_op_schema = { "op", false, NFIELDS(op_fields), NULL };
const struct schema proto_pair_schema = { "pair", false, NFIELDS(pair_fields), NULL };
const struct schema proto_member_schema = { "member", false, NFIELDS(member_fields), NULL };
const struct schema proto_member_view_schema = { "member_view", false, NFIELDS(member_view_fields),
	NULL };
const struct schema proto_token_schema = { "token", false, NFIELDS(token_fields), NULL };
const struct schema proto_change_schema = { "change", false, NFIELDS(change_fields), NULL };
const struct schema proto_member_status_schema = { "member", false, NFIELDS(member_status_fields),
	NULL };

static const struct field get_fields[] = {
	FLAGS(M(get.flags), PROTO_F_STALE | PROTO_F_META),
	KEY(M(get.key)),
};
static const struct field set_fields[] = {
	U64("client_id", M(set.client_id)),
	U64("seq", M(set.seq)),
	KEY(M(set.key)),
	VALUE(M(set.value)),
};
static const struct field del_fields[] = {
	U64("client_id", M(del.client_id)),
	U64("seq", M(del.seq)),
	KEY(M(del.key)),
};
static const struct field list_fields[] = {
	FLAGS(M(list.flags), PROTO_F_STALE | PROTO_F_META),
	PREFIX(M(list.prefix)),
};
static const struct field join_fields[] = {
	FLAGS(M(join.flags), PROTO_F_LEARNER),
	NODE_ID(M(join.node_id)),
	ADDRESS(M(join.address)),
	CLUSTER(M(join.cluster)),
};
static const struct field joinreq_fields[] = {
	FLAGS(M(joinreq.flags), PROTO_F_LEARNER),
	ADDRESS(M(joinreq.address)),
};
static const struct field remove_fields[] = {
	NODE_ID(M(remove.node_id)),
};
static const struct field transfer_fields[] = {
	/* Empty means "the most up-to-date voter". */
	S16("node_id", M(transfer.node_id), FC_ID, 0, RAFTCONF_MAX_ID),
};
static const struct field watch_fields[] = {
	PREFIX(M(watch.prefix)),
};
static const struct field token_add_fields[] = {
	U64("client_id", M(token_add.client_id)),
	U64("seq", M(token_add.seq)),
	S16("name", M(token_add.name), FC_ID, 1, RAFTCONF_MAX_ID),
	PREFIX(M(token_add.prefix)),
	FLAGS(M(token_add.flags), PROTO_F_WRITE),
	S16("hash", M(token_add.hash), FC_BYTES, PROTO_TOKEN_HASH, PROTO_TOKEN_HASH),
};
static const struct field token_revoke_fields[] = {
	U64("client_id", M(token_revoke.client_id)),
	U64("seq", M(token_revoke.seq)),
	S16("name", M(token_revoke.name), FC_ID, 1, RAFTCONF_MAX_ID),
};
static const struct field set_if_fields[] = {
	U64("client_id", M(set_if.client_id)),
	U64("seq", M(set_if.seq)),
	U64("if_rev", M(set_if.if_rev)),
	KEY(M(set_if.key)),
	VALUE(M(set_if.value)),
};
static const struct field del_if_fields[] = {
	U64("client_id", M(del_if.client_id)),
	U64("seq", M(del_if.seq)),
	U64("if_rev", M(del_if.if_rev)),
	KEY(M(del_if.key)),
};
static const struct field txn_fields[] = {
	U64("client_id", M(txn.client_id)),
	U64("seq", M(txn.seq)),
	ITEMS("compares", M(txn.compares), &proto_compare_schema, RAFTCONF_MAX_TXN_OPS),
	ITEMS("then_ops", M(txn.then_ops), &proto_op_schema, RAFTCONF_MAX_TXN_OPS),
	ITEMS("else_ops", M(txn.else_ops), &proto_op_schema, RAFTCONF_MAX_TXN_OPS),
};
static const struct field poll_fields[] = {
	FLAGS(M(poll.flags), PROTO_F_FROM_NOW),
	U64("after", M(poll.after)),
	{ "wait_ms", FK_U64, FC_RANGE, M(poll.wait_ms), 0, RAFTCONF_MAX_POLL_MS, NULL },
	PREFIX(M(poll.prefix)),
};
static const struct field cluster_status_fields[] = {
	{ "wait_ms", FK_U64, FC_RANGE, M(cluster_status.wait_ms), 1, RAFTCONF_MAX_STATUS_WAIT_MS,
	    NULL },
};
static const struct field cluster_status_reply_fields[] = {
	ITEMS("members", M(cluster_status_reply.items), &proto_member_status_schema,
	    RAFTCONF_MAX_MEMBERS),
};
static const struct field list_ex_fields[] = {
	FLAGS(M(list_ex.flags), PROTO_F_STALE | PROTO_F_META | PROTO_F_KEYS_ONLY | PROTO_F_COUNT),
	U64("limit", M(list_ex.limit)),
	PREFIX(M(list_ex.prefix)),
};
static const struct field del_prefix_fields[] = {
	U64("client_id", M(del_prefix.client_id)),
	U64("seq", M(del_prefix.seq)),
	FLAGS(M(del_prefix.flags), PROTO_F_ALL),
	PREFIX(M(del_prefix.prefix)),
};
static const struct field count_reply_fields[] = {
	U64("count", M(count_reply.count)),
};
static const struct field deleted_fields[] = {
	U64("revision", M(deleted.revision)),
	{ "deleted", FK_U64, FC_RANGE, M(deleted.deleted), 0, RAFTCONF_MAX_DEL_PREFIX_KEYS, NULL },
};
static const struct field events_fields[] = {
	FLAGS(M(events.flags), PROTO_F_TRUNCATED),
	U64("revision", M(events.revision)),
	ITEMS("changes", M(events.items), &proto_change_schema, RAFTCONF_MAX_LIST),
};
static const struct field value_meta_fields[] = {
	U64("revision", M(value_meta.revision)),
	U64("create_revision", M(value_meta.create_revision)),
	U64("version", M(value_meta.version)),
	VALUE(M(value_meta.value)),
};
static const struct field list_meta_reply_fields[] = {
	FLAGS(M(list_meta_reply.flags), PROTO_F_TRUNCATED),
	ITEMS("entries", M(list_meta_reply.items), &proto_kv_schema, RAFTCONF_MAX_LIST),
};
static const struct field failed_fields[] = {
	U64("revision", M(failed.revision)),
};
static const struct field txn_reply_fields[] = {
	FLAGS(M(txn_reply.flags), PROTO_F_SUCCEEDED | PROTO_F_REPLAYED),
	U64("revision", M(txn_reply.revision)),
	ITEMS("results", M(txn_reply.items), &proto_kv_schema, RAFTCONF_MAX_TXN_OPS),
};
static const struct field backup_chunk_fields[] = {
	FLAGS(M(backup_chunk.flags), PROTO_F_LAST),
	U64("index", M(backup_chunk.index)),
	U64("records", M(backup_chunk.records)),
	U64("total", M(backup_chunk.total)),
	U64("offset", M(backup_chunk.offset)),
	S32("data", M(backup_chunk.data), FC_BYTES, 0, RAFTCONF_BACKUP_CHUNK),
};
static const struct field ok_fields[] = {
	U64("revision", M(ok.revision)),
};
static const struct field value_fields[] = {
	U64("revision", M(value_reply.revision)),
	VALUE(M(value_reply.value)),
};
static const struct field error_fields[] = {
	U16("code", M(error.code), FC_RANGE, 1, PROTO_E_MAX),
	TEXT(M(error.message)),
};
static const struct field list_reply_fields[] = {
	FLAGS(M(list_reply.flags), PROTO_F_TRUNCATED),
	ITEMS("entries", M(list_reply.items), &proto_entry_schema, RAFTCONF_MAX_LIST),
};
static const struct field status_reply_fields[] = {
	ITEMS("pairs", M(status_reply.items), &proto_pair_schema, RAFTCONF_MAX_STATUS_PAIRS),
};
static const struct field members_reply_fields[] = {
	ITEMS("members", M(members_reply.items), &proto_member_schema, RAFTCONF_MAX_MEMBERS),
};
static const struct field members_view_reply_fields[] = {
	FLAGS(M(members_view_reply.flags), PROTO_F_LOCAL_VIEW),
	ITEMS("members", M(members_view_reply.items), &proto_member_view_schema,
	    RAFTCONF_MAX_MEMBERS),
};
static const struct field token_list_reply_fields[] = {
	ITEMS("tokens", M(token_list_reply.items), &proto_token_schema, RAFTCONF_MAX_TOKENS),
};
static const struct field event_fields[] = {
	U8("kind", M(event.kind), FC_RANGE, PROTO_EV_PUT, PROTO_EV_DEL),
	KEY(M(event.key)),
	U64("revision", M(event.revision)),
	VALUE(M(event.value)),
};
static const struct field hello_fields[] = {
	/* Any value: whether it is acceptable is the peer module's decision. */
	U16("version", M(hello.version), FC_NONE, 0, 0),
	CLUSTER(M(hello.cluster)),
	NODE_ID(M(hello.node_id)),
	ADDRESS(M(hello.address)),
	S16("auth", M(hello.auth), FC_BYTES, 0, RAFTCONF_MAX_AUTH),
};
static const struct field reject_fields[] = {
	TEXT(M(reject.message)),
};
static const struct field removed_fields[] = {
	CLUSTER(M(removed.cluster)),
	U64("index", M(removed.index)),
};
static const struct field raft_fields[] = {
	/* Bounded by the frame limit, checked with the frame. */
	S32("payload", M(raft.payload), FC_BYTES, 0, RAFTCONF_MAX_FRAME),
};

static int error_post(const struct proto_msg *m, struct ctx *c);
static int event_post(const struct proto_msg *m, struct ctx *c);
static int txn_post(const struct proto_msg *m, struct ctx *c);
static int txn_reply_post(const struct proto_msg *m, struct ctx *c);
static int events_post(const struct proto_msg *m, struct ctx *c);
static int backup_chunk_post(const struct proto_msg *m, struct ctx *c);
static int cluster_status_reply_post(const struct proto_msg *m, struct ctx *c);
static int list_ex_post(const struct proto_msg *m, struct ctx *c);
static int del_prefix_post(const struct proto_msg *m, struct ctx *c);

/* Indexed by type code; a type without a name is unknown. */
static const struct schema schemas[256] = {
	[PROTO_T_GET] = { "GET", true, NFIELDS(get_fields), NULL },
	[PROTO_T_SET] = { "SET", true, NFIELDS(set_fields), NULL },
	[PROTO_T_DEL] = { "DEL", true, NFIELDS(del_fields), NULL },
	[PROTO_T_LIST] = { "LIST", true, NFIELDS(list_fields), NULL },
	[PROTO_T_STATUS] = { "STATUS", true, NULL, 0, NULL },
	[PROTO_T_MEMBERS] = { "MEMBERS", true, NULL, 0, NULL },
	[PROTO_T_MEMBERS_VIEW] = { "MEMBERS_VIEW", true, NULL, 0, NULL },
	[PROTO_T_JOIN] = { "JOIN", true, NFIELDS(join_fields), NULL },
	[PROTO_T_JOINREQ] = { "JOINREQ", true, NFIELDS(joinreq_fields), NULL },
	[PROTO_T_REMOVE] = { "REMOVE", true, NFIELDS(remove_fields), NULL },
	[PROTO_T_REMOVE_FORCE] = { "REMOVE_FORCE", true, NFIELDS(remove_fields), NULL },
	[PROTO_T_SNAPSHOT] = { "SNAPSHOT", true, NULL, 0, NULL },
	[PROTO_T_TRANSFER] = { "TRANSFER", true, NFIELDS(transfer_fields), NULL },
	[PROTO_T_WATCH] = { "WATCH", true, NFIELDS(watch_fields), NULL },
	[PROTO_T_TOKEN_ADD] = { "TOKEN_ADD", true, NFIELDS(token_add_fields), NULL },
	[PROTO_T_TOKEN_REVOKE] = { "TOKEN_REVOKE", true, NFIELDS(token_revoke_fields), NULL },
	[PROTO_T_TOKEN_LIST] = { "TOKEN_LIST", true, NULL, 0, NULL },
	[PROTO_T_SET_IF] = { "SET_IF", true, NFIELDS(set_if_fields), NULL },
	[PROTO_T_DEL_IF] = { "DEL_IF", true, NFIELDS(del_if_fields), NULL },
	[PROTO_T_TXN] = { "TXN", true, NFIELDS(txn_fields), txn_post },
	[PROTO_T_POLL] = { "POLL", true, NFIELDS(poll_fields), NULL },
	[PROTO_T_BACKUP] = { "BACKUP", true, NULL, 0, NULL },
	[PROTO_T_CLUSTER_STATUS] = { "CLUSTER_STATUS", true, NFIELDS(cluster_status_fields), NULL },
	[PROTO_T_LIST_EX] = { "LIST_EX", true, NFIELDS(list_ex_fields), list_ex_post },
	[PROTO_T_DEL_PREFIX] = { "DEL_PREFIX", true, NFIELDS(del_prefix_fields), del_prefix_post },

	[PROTO_T_OK] = { "OK", true, NFIELDS(ok_fields), NULL },
	[PROTO_T_VALUE] = { "VALUE", true, NFIELDS(value_fields), NULL },
	[PROTO_T_ERROR] = { "ERROR", true, NFIELDS(error_fields), error_post },
	[PROTO_T_LIST_REPLY] = { "LIST_REPLY", true, NFIELDS(list_reply_fields), NULL },
	[PROTO_T_STATUS_REPLY] = { "STATUS_REPLY", true, NFIELDS(status_reply_fields), NULL },
	[PROTO_T_MEMBERS_REPLY] = { "MEMBERS_REPLY", true, NFIELDS(members_reply_fields), NULL },
	[PROTO_T_MEMBERS_VIEW_REPLY] = { "MEMBERS_VIEW_REPLY", true,
	    NFIELDS(members_view_reply_fields), NULL },
	[PROTO_T_EVENT] = { "EVENT", true, NFIELDS(event_fields), event_post },
	[PROTO_T_TOKEN_LIST_REPLY] = { "TOKEN_LIST_REPLY", true, NFIELDS(token_list_reply_fields),
	    NULL },
	[PROTO_T_VALUE_META] = { "VALUE_META", true, NFIELDS(value_meta_fields), NULL },
	[PROTO_T_LIST_META_REPLY] = { "LIST_META_REPLY", true, NFIELDS(list_meta_reply_fields),
	    NULL },
	[PROTO_T_FAILED] = { "FAILED", true, NFIELDS(failed_fields), NULL },
	[PROTO_T_TXN_REPLY] = { "TXN_REPLY", true, NFIELDS(txn_reply_fields), txn_reply_post },
	[PROTO_T_EVENTS] = { "EVENTS", true, NFIELDS(events_fields), events_post },
	[PROTO_T_BACKUP_CHUNK] = { "BACKUP_CHUNK", true, NFIELDS(backup_chunk_fields),
	    backup_chunk_post },
	[PROTO_T_CLUSTER_STATUS_REPLY] = { "CLUSTER_STATUS_REPLY", true,
	    NFIELDS(cluster_status_reply_fields), cluster_status_reply_post },
	[PROTO_T_COUNT_REPLY] = { "COUNT_REPLY", true, NFIELDS(count_reply_fields), NULL },
	[PROTO_T_DELETED] = { "DELETED", true, NFIELDS(deleted_fields), NULL },

	[PROTO_T_HELLO] = { "HELLO", false, NFIELDS(hello_fields), NULL },
	[PROTO_T_REJECT] = { "REJECT", false, NFIELDS(reject_fields), NULL },
	[PROTO_T_RAFT] = { "RAFT", false, NFIELDS(raft_fields), NULL },
	[PROTO_T_REMOVED] = { "REMOVED", false, NFIELDS(removed_fields), NULL },
	[PROTO_T_PING] = { "PING", false, NULL, 0, NULL },
};

const struct schema *
proto_schema_of(uint8_t type)
{
	return schemas[type].name != NULL ? &schemas[type] : NULL;
}

/* The items field of a list reply type, or NULL for any other type. */
const struct field *
proto_items_field(uint8_t type)
{
	const struct schema *s = proto_schema_of(type);

	if (s == NULL || s->nfields == 0 || s->fields[s->nfields - 1].kind != FK_ITEMS)
		return NULL;
	return &s->fields[s->nfields - 1];
}

/* -------------------------------------------------- rules across fields */

static int
error_post(const struct proto_msg *m, struct ctx *c)
{
	static const struct field addr = ADDRESS(0);

	/* The client connects to it: hold it to the address rules. */
	if (m->error.code != PROTO_E_REDIRECT)
		return 0;
	if (m->error.message.len == 0)
		return proto_fail(c, BAD(c), NULL, "REDIRECT without the leader's address");
	return proto_check_bytes(
	    c, &addr, (const uint8_t *)m->error.message.ptr, m->error.message.len);
}

/* A count is a count of everything: no values, no limit to it. */
static int
list_ex_post(const struct proto_msg *m, struct ctx *c)
{
	if ((m->list_ex.flags & PROTO_F_COUNT) &&
	    ((m->list_ex.flags & (PROTO_F_META | PROTO_F_KEYS_ONLY)) || m->list_ex.limit != 0))
		return proto_fail(
		    c, BAD(c), NULL, "COUNT goes with neither META, KEYS_ONLY nor a limit");
	return 0;
}

/* Every key goes only on purpose: the empty prefix exactly with ALL. */
static int
del_prefix_post(const struct proto_msg *m, struct ctx *c)
{
	if (m->del_prefix.prefix.len == 0 && !(m->del_prefix.flags & PROTO_F_ALL))
		return proto_fail(
		    c, BAD(c), NULL, "an empty prefix (every key) without the ALL flag");
	if (m->del_prefix.prefix.len != 0 && (m->del_prefix.flags & PROTO_F_ALL))
		return proto_fail(c, BAD(c), NULL, "the ALL flag with a prefix");
	return 0;
}

static int
event_post(const struct proto_msg *m, struct ctx *c)
{
	if (m->event.kind == PROTO_EV_DEL && m->event.value.len != 0)
		return proto_fail(
		    c, BAD(c), NULL, "DEL event carries a %zu-byte value", m->event.value.len);
	return 0;
}

/* An EVENTS' changes: a DEL has no value, revisions do not go down, none
 * is after the answer's revision. */
static int
events_post(const struct proto_msg *m, struct ctx *c)
{
	struct ctx quiet = { NULL, 0, c->encoding, NULL, NULL, 0 };
	struct bytes_reader r;
	union proto_item it;
	uint64_t last = 0;

	br_init(&r, m->events.items.raw, m->events.items.rawlen);
	for (uint32_t i = 0; i < m->events.items.count; i++) {
		if (proto_read_fields(&r, &proto_change_schema, &it, &quiet) != 0)
			return proto_fail(c, BAD(c), NULL, "change %" PRIu32 " is malformed", i);
		if (it.change.kind == PROTO_EV_DEL && it.change.value.len != 0)
			return proto_fail(
			    c, BAD(c), NULL, "change %" PRIu32 " is a DEL with a value", i);
		if (it.change.revision < last || it.change.revision > m->events.revision)
			return proto_fail(c, BAD(c), NULL,
			    "change %" PRIu32 " has revision %" PRIu64
			    " out of order (after %" PRIu64 ", answer at %" PRIu64 ")",
			    i, it.change.revision, last, m->events.revision);
		last = it.change.revision;
	}
	return 0;
}

/*
 * A TXN's rules across fields: a revision compare has no value, a value
 * compare no revision and only = or !=, only a SET op a value; the two
 * branches hold RAFTCONF_MAX_TXN_OPS ops at most together.
 */
static int
txn_post(const struct proto_msg *m, struct ctx *c)
{
	const struct proto_items *lists[] = { &m->txn.then_ops, &m->txn.else_ops };
	struct bytes_reader r;
	union proto_item it;
	struct ctx quiet = { NULL, 0, c->encoding, NULL, NULL, 0 };

	if ((uint64_t)m->txn.then_ops.count + m->txn.else_ops.count > RAFTCONF_MAX_TXN_OPS)
		return proto_fail(c, -E2BIG, NULL,
		    "%" PRIu32 " then-ops and %" PRIu32
		    " else-ops are over the limit of %d together",
		    m->txn.then_ops.count, m->txn.else_ops.count, RAFTCONF_MAX_TXN_OPS);
	br_init(&r, m->txn.compares.raw, m->txn.compares.rawlen);
	for (uint32_t i = 0; i < m->txn.compares.count; i++) {
		if (proto_read_fields(&r, &proto_compare_schema, &it, &quiet) != 0)
			return proto_fail(c, BAD(c), NULL, "compare %" PRIu32 " is malformed", i);
		if (it.compare.target == PROTO_CMP_REV && it.compare.value.len != 0)
			return proto_fail(
			    c, BAD(c), NULL, "compare %" PRIu32 " of a revision has a value", i);
		if (it.compare.target == PROTO_CMP_VALUE &&
		    (it.compare.revision != 0 ||
			(it.compare.result != PROTO_CMP_EQ && it.compare.result != PROTO_CMP_NE)))
			return proto_fail(c, BAD(c), NULL,
			    "compare %" PRIu32 " of a value must be = or != and have no revision",
			    i);
	}
	for (size_t l = 0; l < 2; l++) {
		br_init(&r, lists[l]->raw, lists[l]->rawlen);
		for (uint32_t i = 0; i < lists[l]->count; i++) {
			if (proto_read_fields(&r, &proto_op_schema, &it, &quiet) != 0)
				return proto_fail(
				    c, BAD(c), NULL, "op %" PRIu32 " is malformed", i);
			if (it.op.kind != PROTO_OP_SET && it.op.value.len != 0)
				return proto_fail(c, BAD(c), NULL,
				    "%s-op %" PRIu32 " carries a value but is no set",
				    l ? "else" : "then", i);
		}
	}
	return 0;
}

static int
txn_reply_post(const struct proto_msg *m, struct ctx *c)
{
	if ((m->txn_reply.flags & PROTO_F_REPLAYED) && m->txn_reply.items.count != 0)
		return proto_fail(c, BAD(c), NULL, "a replayed answer carries %" PRIu32 " results",
		    m->txn_reply.items.count);
	return 0;
}

/* A BACKUP_CHUNK's bytes lie within the file, and the last one ends it. */
static int
backup_chunk_post(const struct proto_msg *m, struct ctx *c)
{
	uint64_t off = m->backup_chunk.offset, len = m->backup_chunk.data.len;
	bool last = (m->backup_chunk.flags & PROTO_F_LAST) != 0;

	if (off > m->backup_chunk.total || len > m->backup_chunk.total - off)
		return proto_fail(c, BAD(c), NULL,
		    "%" PRIu64 " bytes at offset %" PRIu64 " pass the end of a %" PRIu64
		    "-byte file",
		    len, off, m->backup_chunk.total);
	if (last != (off + len == m->backup_chunk.total))
		return proto_fail(c, BAD(c), NULL, "the last chunk %s the end of the file",
		    last ? "does not reach" : "is not marked at");
	return 0;
}

/* A member's item carries its status or why there is none: exactly one. */
int
proto_member_status_check(const struct proto_member_status *ms)
{
	return (ms->error.len == 0) == (ms->pairs.count == 0) ? -1 : 0;
}

static int
cluster_status_reply_post(const struct proto_msg *m, struct ctx *c)
{
	struct ctx quiet = { NULL, 0, c->encoding, NULL, NULL, 0 };
	const struct proto_items *items = &m->cluster_status_reply.items;
	struct bytes_reader r;
	union proto_item it;

	br_init(&r, items->raw, items->rawlen);
	for (uint32_t i = 0; i < items->count; i++) {
		if (proto_read_fields(&r, &proto_member_status_schema, &it, &quiet) != 0)
			return proto_fail(c, BAD(c), NULL, "member %" PRIu32 " is malformed", i);
		if (proto_member_status_check(&it.member_status) < 0)
			return proto_fail(c, BAD(c), NULL,
			    "member %" PRIu32 " has %s a status and an error", i,
			    it.member_status.error.len ? "both" : "neither");
	}
	return 0;
}
