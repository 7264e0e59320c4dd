/*
 * proto.c — the wire codec shared by raftconfd and raftconfctl.
 *
 * Every message is described once, as a table of fields (the schemas
 * below); one bounds-checked reader and one bounds-checked writer walk those
 * tables, so the encoder and the decoder cannot disagree about a layout, and
 * every length is checked in one place against the bytes present and the
 * field's limit.  The decoder never allocates: it returns views into the frame.
 *
 * What it is not: no I/O, no buffering of partial frames (the caller's stream
 * reader does that with proto_frame_check()), no policy (whether a peer's
 * cluster name or version is acceptable is the peer module's call), and no
 * codec for the Raft messages themselves (RAFT frames carry them opaquely).
 * Replies built item by item, and the walk of a decoded message's items, are
 * proto_build.c's; the tables' types it shares are in proto_schema.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crc32c.h"
#include "errbuf.h"
#include "proto.h"
#include "proto_schema.h"

#define HDR PROTO_HEADER_SIZE

/* ------------------------------------------------------------- CRC-32C */

/* The WAL's and snapshots' checksum too: one implementation, in crc32c.c. */
uint32_t
proto_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c(crc, buf, len);
}

/*
 * Integers are big-endian on the wire.  The reader and the writer are the
 * ones of bytes.h: a read consumes nothing when its bytes are not there, and
 * a writer without a buffer only counts, which is how an encoder learns the
 * frame's size (and validates every field) before it touches the buffer.
 */

/* Bytes there were when a read of r failed (it consumed nothing). */
static size_t
unread(const struct bytes_reader *r)
{
	return r->len - r->off;
}

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

/* The fewest bytes one item can take: bounds a count before it is walked. */
static size_t
min_size(const struct schema *s)
{
	static const size_t fixed[] = {
		[FK_U8] = 1,
		[FK_U16] = 2,
		[FK_U64] = 8,
		[FK_S16] = 2,
		[FK_S32] = 4,
		[FK_ITEMS] = 4,
	};
	size_t n = 0;

	for (size_t i = 0; i < s->nfields; i++)
		n += fixed[s->fields[i].kind] +
		    s->fields[i].min * (s->fields[i].kind == FK_S16 || s->fields[i].kind == FK_S32);
	return n;
}

/* ------------------------------------------------------- checks, errors */

/* Bad content: the caller's mistake when encoding, the peer's when decoding. */
#define BAD(c) ((c)->encoding ? -EINVAL : -EPROTO)

static int fail(struct ctx *c, int rc, const struct field *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "LIST_REPLY entry 3: key is 1025 bytes, over the limit of 1024". */
static int
fail(struct ctx *c, int rc, const struct field *f, const char *fmt, ...)
{
	char where[64] = "", detail[192];
	va_list ap;

	if (c->err == NULL || c->errlen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (c->msg != NULL && c->item != NULL)
		snprintf(where, sizeof(where), "%s %s %" PRIu32 ": ", c->msg, c->item, c->index);
	else if (c->msg != NULL)
		snprintf(where, sizeof(where), "%s: ", c->msg);
	seterr(c->err, c->errlen, "%s%s%s%s", where, f ? f->name : "", f ? " " : "", detail);
	return rc;
}

static bool
id_byte(uint8_t b)
{
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
	    b == '_' || b == '-';
}

static int
check_int(struct ctx *c, const struct field *f, uint64_t v)
{
	uint64_t role;

	switch (f->check) {
	case FC_MASK:
		if (v & ~(uint64_t)f->max)
			return fail(c, BAD(c), f,
			    "has unknown bits 0x%02" PRIx64 " (known: 0x%02x)",
			    v & ~(uint64_t)f->max, (unsigned)f->max);
		break;
	case FC_RANGE:
		if (v < f->min || v > f->max)
			return fail(c, BAD(c), f, "%" PRIu64 " is not in %u..%u", v,
			    (unsigned)f->min, (unsigned)f->max);
		break;
	case FC_MFLAGS:
		role = v & (PROTO_M_VOTER | PROTO_M_LEARNER);
		if (v &
		    ~(uint64_t)(PROTO_M_VOTER | PROTO_M_LEARNER | PROTO_M_SELF | PROTO_M_LEADER))
			return fail(c, BAD(c), f, "0x%02" PRIx64 " has unknown bits", v);
		if (role != PROTO_M_VOTER && role != PROTO_M_LEARNER)
			return fail(c, BAD(c), f,
			    "0x%02" PRIx64 " is not exactly one of voter "
			    "and learner",
			    v);
		if ((v & PROTO_M_LEADER) && role != PROTO_M_VOTER)
			return fail(c, BAD(c), f, "0x%02" PRIx64 " marks a learner as leader", v);
		break;
	}
	return 0;
}

/* Length limits: over the maximum is -E2BIG either way (PROTO_E_TOOBIG). */
static int
check_len(struct ctx *c, const struct field *f, size_t len)
{
	if (len > f->max)
		return fail(
		    c, -E2BIG, f, "is %zu bytes, over the limit of %u", len, (unsigned)f->max);
	if (len < f->min && f->min == 1)
		return fail(c, BAD(c), f, "is empty");
	if (len < f->min)
		return fail(c, BAD(c), f, "is %zu bytes, %s %u", len,
		    f->min == f->max ? "expected" : "the least is", (unsigned)f->min);
	return 0;
}

static int
check_bytes(struct ctx *c, const struct field *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len && f->check != FC_BYTES; i++) {
		switch (f->check) {
		case FC_NONUL:
			if (p[i] == 0)
				return fail(c, BAD(c), f, "has a NUL byte at offset %zu", i);
			break;
		case FC_ID:
			if (!id_byte(p[i]))
				return fail(c, BAD(c), f,
				    "has byte 0x%02x at offset %zu, outside "
				    "[A-Za-z0-9_-]",
				    p[i], i);
			break;
		case FC_ADDR:
			if (p[i] < 0x21 || p[i] > 0x7e)
				return fail(c, BAD(c), f,
				    "has byte 0x%02x at offset %zu, not "
				    "printable ASCII",
				    p[i], i);
			break;
		}
	}
	return 0;
}

static int
error_post(const struct proto_msg *m, struct ctx *c)
{
	static const struct field addr = ADDRESS(0);

	/* The client connects to it: hold it to the address rules. */
	if (m->error.code != PROTO_E_REDIRECT)
		return 0;
	if (m->error.message.len == 0)
		return fail(c, BAD(c), NULL, "REDIRECT without the leader's address");
	return check_bytes(c, &addr, (const uint8_t *)m->error.message.ptr, m->error.message.len);
}

/* A count is a count of everything: no values, no limit to it. */
static int
list_ex_post(const struct proto_msg *m, struct ctx *c)
{
	if ((m->list_ex.flags & PROTO_F_COUNT) &&
	    ((m->list_ex.flags & (PROTO_F_META | PROTO_F_KEYS_ONLY)) || m->list_ex.limit != 0))
		return fail(c, BAD(c), NULL, "COUNT goes with neither META, KEYS_ONLY nor a limit");
	return 0;
}

/* Every key goes only on purpose: the empty prefix exactly with ALL. */
static int
del_prefix_post(const struct proto_msg *m, struct ctx *c)
{
	if (m->del_prefix.prefix.len == 0 && !(m->del_prefix.flags & PROTO_F_ALL))
		return fail(c, BAD(c), NULL, "an empty prefix (every key) without the ALL flag");
	if (m->del_prefix.prefix.len != 0 && (m->del_prefix.flags & PROTO_F_ALL))
		return fail(c, BAD(c), NULL, "the ALL flag with a prefix");
	return 0;
}

static int
event_post(const struct proto_msg *m, struct ctx *c)
{
	if (m->event.kind == PROTO_EV_DEL && m->event.value.len != 0)
		return fail(
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
			return fail(c, BAD(c), NULL, "change %" PRIu32 " is malformed", i);
		if (it.change.kind == PROTO_EV_DEL && it.change.value.len != 0)
			return fail(c, BAD(c), NULL, "change %" PRIu32 " is a DEL with a value", i);
		if (it.change.revision < last || it.change.revision > m->events.revision)
			return fail(c, BAD(c), NULL,
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
		return fail(c, -E2BIG, NULL,
		    "%" PRIu32 " then-ops and %" PRIu32
		    " else-ops are over the limit of %d together",
		    m->txn.then_ops.count, m->txn.else_ops.count, RAFTCONF_MAX_TXN_OPS);
	br_init(&r, m->txn.compares.raw, m->txn.compares.rawlen);
	for (uint32_t i = 0; i < m->txn.compares.count; i++) {
		if (proto_read_fields(&r, &proto_compare_schema, &it, &quiet) != 0)
			return fail(c, BAD(c), NULL, "compare %" PRIu32 " is malformed", i);
		if (it.compare.target == PROTO_CMP_REV && it.compare.value.len != 0)
			return fail(
			    c, BAD(c), NULL, "compare %" PRIu32 " of a revision has a value", i);
		if (it.compare.target == PROTO_CMP_VALUE &&
		    (it.compare.revision != 0 ||
			(it.compare.result != PROTO_CMP_EQ && it.compare.result != PROTO_CMP_NE)))
			return fail(c, BAD(c), NULL,
			    "compare %" PRIu32 " of a value must be = or != and have no revision",
			    i);
	}
	for (size_t l = 0; l < 2; l++) {
		br_init(&r, lists[l]->raw, lists[l]->rawlen);
		for (uint32_t i = 0; i < lists[l]->count; i++) {
			if (proto_read_fields(&r, &proto_op_schema, &it, &quiet) != 0)
				return fail(c, BAD(c), NULL, "op %" PRIu32 " is malformed", i);
			if (it.op.kind != PROTO_OP_SET && it.op.value.len != 0)
				return fail(c, BAD(c), NULL,
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
		return fail(c, BAD(c), NULL, "a replayed answer carries %" PRIu32 " results",
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
		return fail(c, BAD(c), NULL,
		    "%" PRIu64 " bytes at offset %" PRIu64 " pass the end of a %" PRIu64
		    "-byte file",
		    len, off, m->backup_chunk.total);
	if (last != (off + len == m->backup_chunk.total))
		return fail(c, BAD(c), NULL, "the last chunk %s the end of the file",
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
			return fail(c, BAD(c), NULL, "member %" PRIu32 " is malformed", i);
		if (proto_member_status_check(&it.member_status) < 0)
			return fail(c, BAD(c), NULL,
			    "member %" PRIu32 " has %s a status and an error", i,
			    it.member_status.error.len ? "both" : "neither");
	}
	return 0;
}

/* ------------------------------------------------------------ decoding */

static int
truncated(struct ctx *c, const struct field *f, size_t need, size_t left)
{
	return fail(c, BAD(c), f, "is truncated: %zu bytes needed, %zu left", need, left);
}

/*
 * Walk count items of f at r, checking each as the decoder does; on success
 * out spans them.  Used to decode, and to check items given to the encoder.
 */
static int
walk_items(struct bytes_reader *r, const struct field *f, uint32_t count, struct proto_items *out,
    struct ctx *c)
{
	const char *outer_item = c->item;
	uint32_t outer_index = c->index;
	size_t start = r->off;
	union proto_item tmp;
	uint64_t least;
	int rc;

	if (count > f->max)
		return fail(c, -E2BIG, f, "count %" PRIu32 " is over the limit of %u", count,
		    (unsigned)f->max);
	/* A clear error, before walking, for a count the bytes cannot hold. */
	least = (uint64_t)count * min_size(f->items);
	if (least > br_left(r))
		return fail(c, BAD(c), f,
		    "count %" PRIu32 " needs at least %" PRIu64 " bytes, "
		    "%zu left",
		    count, least, br_left(r));
	c->item = f->items->name;
	for (c->index = 0; c->index < count; c->index++) {
		if ((rc = proto_read_fields(r, f->items, &tmp, c)) != 0)
			return rc;
	}
	/* the items of an item (a member's status pairs) end inside it */
	c->item = outer_item;
	c->index = outer_index;
	out->count = count;
	/* an empty list built by proto_txn_add_* has no buffer: no offset on NULL */
	out->raw = r->p != NULL ? r->p + start : NULL;
	out->rawlen = r->off - start;
	return 0;
}

static int
read_items(struct bytes_reader *r, const struct field *f, struct proto_items *out, struct ctx *c)
{
	uint32_t count;

	count = br_be32(r);
	if (r->err)
		return truncated(c, f, 4, unread(r));
	return walk_items(r, f, count, out, c);
}

int
proto_read_fields(struct bytes_reader *r, const struct schema *s, void *base, struct ctx *c)
{
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		char *dst = (char *)base + f->off;
		const uint8_t *p;
		uint8_t v8;
		uint16_t v16;
		uint64_t v64;
		uint32_t len;
		int rc;

		switch (f->kind) {
		case FK_U8:
			v8 = br_u8(r);
			if (r->err)
				return truncated(c, f, 1, unread(r));
			if ((rc = check_int(c, f, v8)) != 0)
				return rc;
			*(uint8_t *)dst = v8;
			break;
		case FK_U16:
			v16 = br_be16(r);
			if (r->err)
				return truncated(c, f, 2, unread(r));
			if ((rc = check_int(c, f, v16)) != 0)
				return rc;
			*(uint16_t *)dst = v16;
			break;
		case FK_U64:
			v64 = br_be64(r);
			if (r->err)
				return truncated(c, f, 8, unread(r));
			if ((rc = check_int(c, f, v64)) != 0)
				return rc;
			*(uint64_t *)dst = v64;
			break;
		case FK_S16:
		case FK_S32:
			len = f->kind == FK_S16 ? br_be16(r) : br_be32(r);
			if (r->err)
				return truncated(c, f, f->kind == FK_S16 ? 2 : 4, unread(r));
			/* The limit first: an oversize field is "too big", wherever it ends. */
			if (len > f->max)
				return check_len(c, f, len);
			p = br_mem(r, len);
			if (r->err)
				return fail(c, BAD(c), f,
				    "is truncated: %" PRIu32 " bytes "
				    "announced, %zu left",
				    len, unread(r));
			if ((rc = check_len(c, f, len)) != 0 ||
			    (rc = check_bytes(c, f, p, len)) != 0)
				return rc;
			*(struct proto_str *)dst = proto_mem(p, len);
			break;
		case FK_ITEMS:
			if ((rc = read_items(r, f, (struct proto_items *)dst, c)) != 0)
				return rc;
			break;
		}
	}
	return 0;
}

int
proto_frame_check(const uint8_t *buf, size_t have, size_t *frame_len)
{
	uint32_t n;

	if (frame_len != NULL)
		*frame_len = 0;
	if (have < 4)
		return -EAGAIN;
	n = get_be32(buf);
	if (frame_len != NULL)
		*frame_len = n;
	if (n < HDR)
		return -EPROTO;
	if (n > RAFTCONF_MAX_FRAME)
		return -EMSGSIZE;
	return have < n ? -EAGAIN : 0;
}

int
proto_decode(const uint8_t *frame, size_t len, struct proto_msg *out, char *err, size_t errlen)
{
	struct ctx c = { err, errlen, false, NULL, NULL, 0 };
	const struct schema *s;
	uint32_t flen, crc, want;
	struct bytes_reader r;
	int rc;

	memset(out, 0, sizeof(*out));
	seterr(err, errlen, "%s", "");
	if (frame == NULL && len > 0)
		return fail(&c, -EINVAL, NULL, "no frame (NULL) of %zu bytes", len);
	if (len < HDR)
		return fail(&c, -EPROTO, NULL,
		    "frame is %zu bytes, shorter than the %d-byte "
		    "header",
		    len, HDR);
	flen = get_be32(frame);
	if (flen < HDR)
		return fail(&c, -EPROTO, NULL,
		    "frame length %" PRIu32 " is below the %d-byte "
		    "header",
		    flen, HDR);
	if (flen > RAFTCONF_MAX_FRAME)
		return fail(&c, -EMSGSIZE, NULL,
		    "frame length %" PRIu32 " is over the limit of %d "
		    "bytes",
		    flen, RAFTCONF_MAX_FRAME);
	if (flen != len)
		return fail(&c, -EPROTO, NULL,
		    "frame length field says %" PRIu32 " bytes, the "
		    "frame is %zu",
		    flen, len);
	if (frame[4] != PROTO_VERSION)
		return fail(
		    &c, -EPROTO, NULL, "protocol version %u, expected %d", frame[4], PROTO_VERSION);
	if ((s = proto_schema_of(frame[5])) == NULL)
		return fail(&c, -EPROTO, NULL, "unknown message type 0x%02x", frame[5]);
	c.msg = s->name;
	if (get_be16(frame + 6) != 0)
		return fail(
		    &c, -EPROTO, NULL, "header flags 0x%04x are not zero", get_be16(frame + 6));
	want = get_be32(frame + 8);
	if ((crc = proto_crc32c(0, frame + HDR, len - HDR)) != want)
		return fail(&c, -EPROTO, NULL,
		    "body checksum 0x%08" PRIx32 " does not match the "
		    "header's 0x%08" PRIx32,
		    crc, want);
	out->type = frame[5];

	br_init(&r, frame + HDR, len - HDR);
	if (s->has_id) {
		out->id = br_be64(&r);
		if (r.err)
			return fail(&c, -EPROTO, NULL,
			    "request id is truncated: 8 bytes needed, "
			    "%zu left",
			    unread(&r));
	}
	if ((rc = proto_read_fields(&r, s, out, &c)) != 0)
		return rc;
	if (br_left(&r) != 0)
		return fail(
		    &c, -EPROTO, NULL, "%zu trailing bytes after the last field", br_left(&r));
	if (s->post != NULL && (rc = s->post(out, &c)) != 0)
		return rc;
	return 0;
}

/* ------------------------------------------------------------ encoding */

void
proto_buf_init(struct proto_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
proto_buf_reset(struct proto_buf *b)
{
	b->len = 0;
}

void
proto_buf_free(struct proto_buf *b)
{
	free(b->data);
	proto_buf_init(b);
}

/* Room for need more bytes, the whole buffer staying within the frame limit. */
int
proto_buf_reserve(struct proto_buf *b, size_t need)
{
	size_t want, cap;
	uint8_t *p;

	if (b->len > RAFTCONF_MAX_FRAME || need > RAFTCONF_MAX_FRAME - b->len)
		return -EMSGSIZE;
	want = b->len + need;
	if (want <= b->cap)
		return 0;
	for (cap = b->cap > 0 ? b->cap : 256; cap < want; cap *= 2)
		;
	if (cap > RAFTCONF_MAX_FRAME)
		cap = RAFTCONF_MAX_FRAME;
	if ((p = realloc(b->data, cap)) == NULL)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
proto_write_fields(struct bytes_writer *w, const struct schema *s, const void *base, struct ctx *c)
{
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		const char *src = (const char *)base + f->off;
		const struct proto_str *str;
		const struct proto_items *items;
		struct proto_items again;
		struct bytes_reader r;
		int rc;

		switch (f->kind) {
		case FK_U8:
			if ((rc = check_int(c, f, *(const uint8_t *)src)) != 0)
				return rc;
			bw_u8(w, *(const uint8_t *)src);
			break;
		case FK_U16:
			if ((rc = check_int(c, f, *(const uint16_t *)src)) != 0)
				return rc;
			bw_be16(w, *(const uint16_t *)src);
			break;
		case FK_U64:
			if ((rc = check_int(c, f, *(const uint64_t *)src)) != 0)
				return rc;
			bw_be64(w, *(const uint64_t *)src);
			break;
		case FK_S16:
		case FK_S32:
			str = (const struct proto_str *)src;
			if (str->ptr == NULL && str->len != 0)
				return fail(c, -EINVAL, f, "is NULL with length %zu", str->len);
			if ((rc = check_len(c, f, str->len)) != 0 ||
			    (rc = check_bytes(c, f, (const uint8_t *)str->ptr, str->len)) != 0)
				return rc;
			if (f->kind == FK_S16)
				bw_be16(w, (uint16_t)str->len);
			else
				bw_be32(w, (uint32_t)str->len);
			bw_mem(w, str->ptr, str->len);
			break;
		case FK_ITEMS:
			/*
			 * Items handed back by proto_decode (a relayed reply): walk
			 * them as the receiver will before sending them on.
			 */
			items = (const struct proto_items *)src;
			if (items->raw == NULL && items->rawlen != 0)
				return fail(
				    c, -EINVAL, f, "are NULL with length %zu", items->rawlen);
			br_init(&r, items->raw, items->rawlen);
			if ((rc = walk_items(&r, f, items->count, &again, c)) != 0)
				return rc;
			if (br_left(&r) != 0)
				return fail(c, -EINVAL, f, "have %zu bytes after the last item",
				    br_left(&r));
			bw_be32(w, items->count);
			bw_mem(w, items->raw, items->rawlen);
			break;
		}
	}
	return 0;
}

void
proto_put_header(uint8_t *f, uint32_t len, uint8_t type)
{
	put_be32(f, len);
	f[4] = PROTO_VERSION;
	f[5] = type;
	put_be16(f + 6, 0);
	put_be32(f + 8, 0); /* the crc, once the body is written */
}

void
proto_seal(uint8_t *f, size_t len)
{
	put_be32(f, (uint32_t)len);
	put_be32(f + 8, proto_crc32c(0, f + HDR, len - HDR));
}

int
proto_encode(struct proto_buf *b, const struct proto_msg *m, char *err, size_t errlen)
{
	struct ctx c = { err, errlen, true, NULL, NULL, 0 };
	const struct schema *s = proto_schema_of(m->type);
	struct bytes_writer w;
	size_t flen;
	uint8_t *f;
	int rc;

	seterr(err, errlen, "%s", "");
	if (s == NULL)
		return fail(&c, -EINVAL, NULL, "unknown message type 0x%02x", m->type);
	c.msg = s->name;

	/* First pass: validate and size, touching nothing. */
	bw_init(&w, NULL, RAFTCONF_MAX_FRAME - HDR);
	if (s->has_id)
		bw_be64(&w, m->id);
	if ((rc = proto_write_fields(&w, s, m, &c)) != 0)
		return rc;
	if (s->post != NULL && (rc = s->post(m, &c)) != 0)
		return rc;
	if (w.err)
		return fail(&c, -EMSGSIZE, NULL, "frame would be over the limit of %d bytes",
		    RAFTCONF_MAX_FRAME);
	flen = HDR + w.len;
	if ((rc = proto_buf_reserve(b, flen)) != 0)
		return fail(&c, rc, NULL,
		    rc == -EMSGSIZE ? "a %zu-byte frame does not fit the buffer's %zu bytes in use"
				    : "no memory for a %zu-byte frame (%zu bytes in use)",
		    flen, b->len);

	/* Second pass: the same walk, into room known to be there. */
	f = b->data + b->len;
	proto_put_header(f, (uint32_t)flen, m->type);
	bw_init(&w, f + HDR, flen - HDR);
	if (s->has_id)
		bw_be64(&w, m->id);
	if ((rc = proto_write_fields(&w, s, m, &c)) != 0)
		return rc;
	if (w.err || w.len != flen - HDR)
		return fail(&c, -EINVAL, NULL, "internal error: %zu of %zu body bytes written",
		    w.len, flen - HDR);
	proto_seal(f, flen);
	b->len += flen;
	return 0;
}

/* ------------------------------------------------------------- helpers */

bool
proto_valid_key(const char *key, size_t len)
{
	return len >= 1 && len <= RAFTCONF_MAX_KEY && key != NULL && memchr(key, 0, len) == NULL;
}

bool
proto_valid_id(const char *id, size_t len)
{
	if (len < 1 || len > RAFTCONF_MAX_ID || id == NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!id_byte((uint8_t)id[i]))
			return false;
	}
	return true;
}

const char *
proto_type_name(uint8_t type)
{
	const struct schema *s = proto_schema_of(type);

	return s != NULL ? s->name : "unknown";
}

const char *
proto_error_name(uint16_t code)
{
	static const char *const names[] = {
		[PROTO_E_NOTFOUND] = "not found",
		[PROTO_E_NOLEADER] = "no leader",
		[PROTO_E_TIMEOUT] = "timed out",
		[PROTO_E_REFUSED] = "refused",
		[PROTO_E_BADREQ] = "bad request",
		[PROTO_E_TOOBIG] = "too big",
		[PROTO_E_INTERNAL] = "internal error",
		[PROTO_E_NOTMEMBER] = "not a member",
		[PROTO_E_REDIRECT] = "redirect",
		[PROTO_E_NOSPACE] = "disk full",
		[PROTO_E_COMPACTED] = "compacted",
	};

	if (code >= sizeof(names) / sizeof(names[0]) || names[code] == NULL)
		return "unknown";
	return names[code];
}

const char *
proto_health_name(uint8_t health)
{
	static const char *const names[] = {
		[PROTO_H_UNKNOWN] = "unknown",
		[PROTO_H_OK] = "ok",
		[PROTO_H_LAGGING] = "lagging",
		[PROTO_H_UNREACHABLE] = "unreachable",
	};

	return health <= PROTO_H_MAX ? names[health] : "unknown";
}

bool
proto_is_request(uint8_t type)
{
	return type < 0x40 && proto_schema_of(type) != NULL;
}

bool
proto_is_response(uint8_t type)
{
	return type >= 0x40 && type < 0x80 && proto_schema_of(type) != NULL;
}

bool
proto_is_peer(uint8_t type)
{
	return type >= 0x80 && proto_schema_of(type) != NULL;
}
