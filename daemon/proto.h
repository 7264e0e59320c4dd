/*
 * proto.h — the raftconfd wire protocol: framing, messages, limits, errors.
 *
 * This header is the protocol.  It is compiled into raftconfd and into
 * raftconfctl (like chrony's candm.h), so it depends on libc only.  Type
 * codes, error codes, flag bits and field orders below are part of the
 * protocol: never renumber or reorder them, only add.
 *
 * FRAME (all integers big-endian, fixed width)
 *
 *	u32 length	whole frame, these 12 header bytes included;
 *			PROTO_HEADER_SIZE <= length <= RAFTCONF_MAX_FRAME
 *	u8  version	PROTO_VERSION
 *	u8  type	PROTO_T_*
 *	u16 flags	0 (anything else is refused)
 *	u32 crc		CRC-32C (Castagnoli) of the body, the length - 12 bytes
 *			that follow the header
 *	... body	the fields of the type, in the order listed below, and
 *			nothing after the last one
 *
 * FIELDS
 *
 *	u8, u16, u64	big-endian integers
 *	s16		u16 length + that many bytes: every short string (key,
 *			prefix, id, address, cluster, text, status name/value, auth)
 *	s32		u32 length + that many bytes: values and Raft payloads
 *	items		u32 count + count items, each laid out as listed
 *
 *	key	 s16, 1..RAFTCONF_MAX_KEY bytes, no NUL byte
 *	prefix	 s16, 0..RAFTCONF_MAX_KEY bytes, no NUL byte
 *	id	 s16, [A-Za-z0-9_-]{1,RAFTCONF_MAX_ID}
 *	cluster	 s16, [A-Za-z0-9_-]{1,RAFTCONF_MAX_CLUSTER_NAME}
 *	address	 s16, 1..RAFTCONF_MAX_ADDRESS bytes of printable ASCII without
 *		 space (0x21..0x7e): "host:port", "[v6]:port"
 *	text	 s16, 0..RAFTCONF_MAX_ERROR bytes, no NUL byte
 *	value	 s32, 0..RAFTCONF_MAX_VALUE arbitrary bytes
 *
 * MESSAGES (code, name: body).  "id" is the u64 request id, chosen by the
 * sender of a request and echoed by its response, so several requests may be
 * in flight on one connection and a follower can forward requests to the
 * leader and match the answers.  Peer messages carry no request id.
 *
 * Control requests, raftconfctl -> daemon (a follower forwards them to the
 * leader on its peer connection):
 *   0x01 GET	   id, u8 flags (PROTO_F_STALE), key
 *   0x02 SET	   id, u64 client_id, u64 seq, key, value
 *   0x03 DEL	   id, u64 client_id, u64 seq, key
 *   0x04 LIST	   id, u8 flags (PROTO_F_STALE), prefix
 *   0x05 STATUS   id  (also served on the peer port, to members only: a
 *		   member asks each other one for CLUSTER_STATUS)
 *   0x06 MEMBERS  id
 *   0x07 JOIN	   id, u8 flags (PROTO_F_LEARNER), id node_id, address,
 *		   cluster                    (a spare asks a member to add it)
 *   0x08 JOINREQ  id, u8 flags (PROTO_F_LEARNER), address
 *		   (raftconfctl asks its own spare daemon to join ADDRESS)
 *   0x09 REMOVE   id, id node_id
 *   0x1f REMOVE_FORCE id, id node_id: as REMOVE, without the leader's check
 *		   that the voters left include a majority that answers
 *   0x0a SNAPSHOT id
 *   0x0b TRANSFER id, s16 node_id (empty: the most up-to-date voter, else an id)
 *   0x0c WATCH	   id, prefix
 *   0x0d TOKEN_ADD id, u64 client_id, u64 seq, id name, prefix,
 *		   u8 flags (PROTO_F_WRITE), s16 hash (exactly PROTO_TOKEN_HASH
 *		   bytes: the SHA-256 of the secret, which never leaves raftconfctl)
 *   0x0e TOKEN_REVOKE id, u64 client_id, u64 seq, id name
 *   0x0f TOKEN_LIST id
 *   0x10 SET_IF   id, u64 client_id, u64 seq, u64 if_rev, key, value
 *   0x11 DEL_IF   id, u64 client_id, u64 seq, u64 if_rev, key
 *		   SET and DEL that apply only if the key's revision is if_rev
 *		   when the leader applies the entry (0: only if the key does
 *		   not exist); else nothing changes and the answer is FAILED
 *   0x12 TXN	   id, u64 client_id, u64 seq, items compares, items then_ops,
 *		   items else_ops: compares { u8 target (PROTO_CMP_REV,
 *		   PROTO_CMP_VALUE), u8 result (PROTO_CMP_EQ..PROTO_CMP_GT), key,
 *		   u64 revision, value }, ops { u8 kind (PROTO_OP_SET..PROTO_OP_GET),
 *		   key, value }.  A revision compare has an empty value; a value
 *		   compare has revision 0 and only EQ or NE; only SET has a value.
 *		   At most RAFTCONF_MAX_TXN_OPS compares, and as many ops in both
 *		   branches together.
 *   0x14 POLL	   id, u8 flags (PROTO_F_FROM_NOW), u64 after, u64 wait_ms
 *		   (0..RAFTCONF_MAX_POLL_MS), prefix: the changes under prefix
 *		   after revision `after` (FROM_NOW: after the node's applied
 *		   index, `after` ignored), answered EVENTS at once when there
 *		   are any, else as soon as there are, or empty after wait_ms;
 *		   ERROR PROTO_E_COMPACTED when the history no longer holds
 *		   every change after `after`.  Served by the node asked, from
 *		   its own applied state (like a stale read).
 *   0x13 BACKUP   id  (a consistent copy of the whole store: answered by
 *		   BACKUP_CHUNKs, or an ERROR)
 *   0x15 CLUSTER_STATUS id, u64 wait_ms (1..RAFTCONF_MAX_STATUS_WAIT_MS):
 *		   every member's status as that member reports it.  The node
 *		   asked sends STATUS to each other member of its configuration
 *		   on its peer link and answers CLUSTER_STATUS_REPLY once all
 *		   have answered or wait_ms has passed, whichever comes first
 *		   (raftconfctl asks for less than its own timeout, so that it
 *		   hears which members did not answer).  ERROR PROTO_E_NOTMEMBER
 *		   from a spare.  Served on the control socket only, never
 *		   forwarded.
 *   0x16 LIST_EX  id, u8 flags (PROTO_F_STALE, PROTO_F_META,
 *		   PROTO_F_KEYS_ONLY, PROTO_F_COUNT), u64 limit, prefix: a LIST
 *		   with options, answered like LIST (LIST_REPLY, LIST_META_REPLY
 *		   with META).  KEYS_ONLY: every value in the answer is empty,
 *		   none is shipped.  limit (0: none): at most that many entries,
 *		   the first in key order; TRUNCATED when more keys matched
 *		   than were sent (so also when the limit cut them).  COUNT:
 *		   answered COUNT_REPLY, the number of keys under prefix
 *		   whatever their number, counted where they are; COUNT goes
 *		   with neither META nor KEYS_ONLY nor a limit.
 *   0x17 DEL_PREFIX id, u64 client_id, u64 seq, u8 flags (PROTO_F_ALL),
 *		   prefix: delete every key under prefix, in one log entry
 *		   (HTTP tokens are no keys: never deleted).  An empty prefix,
 *		   every key, needs PROTO_F_ALL, and ALL needs an empty prefix.
 *		   Answered DELETED, or ERROR PROTO_E_TOOBIG when more than
 *		   RAFTCONF_MAX_DEL_PREFIX_KEYS keys, or keys of more than
 *		   RAFTCONF_MAX_DEL_PREFIX_BYTES bytes together, are under
 *		   prefix as the entry applies: then nothing is deleted.
 *   0x18 MEMBERS_VIEW id: every member with its replication progress as
 *		   the leader sees it (MEMBERS_VIEW_REPLY).  A node that is not
 *		   the leader forwards it to the leader, once; with no leader
 *		   known or reachable it answers its own view (LOCAL_VIEW).
 *		   MEMBERS, its older form, is answered by the node asked.
 * client_id is random per raftconfctl connection and seq counts its writes,
 * so that a retried SET, DEL, SET_IF, DEL_IF, TXN, DEL_PREFIX, TOKEN_ADD or
 * TOKEN_REVOKE is applied once.
 * The TOKEN requests are served on the control socket only (and forwarded
 * from a follower to the leader), never from HTTP.
 *
 * Responses, daemon -> raftconfctl (and leader -> forwarding follower):
 *   0x40 OK	   id, u64 revision
 *   0x41 VALUE	   id, u64 revision, value
 *   0x42 ERROR	   id, u16 code (PROTO_E_*), text message
 *		   (for PROTO_E_REDIRECT the message is the leader's address)
 *   0x43 LIST_REPLY    id, u8 flags (PROTO_F_TRUNCATED),
 *		   items of { key, u64 revision, value }, at most RAFTCONF_MAX_LIST
 *   0x44 STATUS_REPLY  id, items of { s16 name, s16 value },
 *		   at most RAFTCONF_MAX_STATUS_PAIRS; name 1..RAFTCONF_MAX_STATUS_NAME
 *		   bytes, value 0..RAFTCONF_MAX_STATUS_VALUE bytes, neither with NUL.
 *		   The daemon sends id, role, term, leader, commit, applied first.
 *   0x45 MEMBERS_REPLY id, items of { id node_id, address, u8 flags (PROTO_M_*),
 *		   u64 match_index, u64 last_contact_ms, u8 health (PROTO_H_*) },
 *		   at most RAFTCONF_MAX_MEMBERS
 *   0x46 EVENT	   id (of the WATCH), u8 kind (PROTO_EV_*), key, u64 revision,
 *		   value (empty for PROTO_EV_DEL)
 *   0x47 TOKEN_LIST_REPLY id, items of { id name, u8 flags (PROTO_F_WRITE),
 *		   prefix }, at most RAFTCONF_MAX_TOKENS, in name order (never a
 *		   secret nor a hash)
 *   0x48 VALUE_META id, u64 revision, u64 create_revision, u64 version, value
 *		   (the answer to a GET with PROTO_F_META)
 *   0x49 LIST_META_REPLY id, u8 flags (PROTO_F_TRUNCATED), items of kv
 *		   { key, u64 revision, u64 create_revision, u64 version, value },
 *		   at most RAFTCONF_MAX_LIST (the answer to a LIST with PROTO_F_META)
 *   0x4a FAILED   id, u64 revision: a SET_IF or DEL_IF whose condition did
 *		   not hold; nothing changed; revision is the key's then (0: it
 *		   did not exist)
 *   0x4b TXN_REPLY id, u8 flags (PROTO_F_SUCCEEDED: the then-ops ran, else
 *		   the else-ops; PROTO_F_REPLAYED: the answer to a retry of a TXN
 *		   applied before, whose gets are not kept: no items), u64 revision
 *		   (the TXN's entry), items of kv, one per GET of the branch that
 *		   ran, in order; revision 0 (and the rest 0 and empty) for a key
 *		   that did not exist; at most RAFTCONF_MAX_TXN_OPS
 *   0x4d EVENTS   id, u8 flags (PROTO_F_TRUNCATED), u64 revision, items of
 *		   change { u8 kind (PROTO_EV_*), key, u64 revision, value (empty
 *		   for PROTO_EV_DEL) }, at most RAFTCONF_MAX_LIST, in revision
 *		   order, whole revisions only: every change under the prefix
 *		   up to and including `revision` is in this answer or was
 *		   before it, so the next POLL asks for after = revision.
 *		   TRUNCATED: more changes follow at once.
 *   0x4e CLUSTER_STATUS_REPLY id, items of member_status { id node_id,
 *		   address, s16 error (0..RAFTCONF_MAX_ERROR bytes, no NUL),
 *		   items pairs (a STATUS_REPLY's items: { s16 name, s16 value },
 *		   at most RAFTCONF_MAX_STATUS_PAIRS) }, one per member of the
 *		   configuration of the node that answers, at most
 *		   RAFTCONF_MAX_MEMBERS, in the order of their ids.  A member
 *		   that answered has the pairs of its STATUS_REPLY, as it sent
 *		   them, and an empty error; one that did not (no link, no
 *		   answer within wait_ms, an ERROR answer) has no pairs and
 *		   says why in error: exactly one of the two is empty.
 *   0x51 MEMBERS_VIEW_REPLY id, u8 flags (PROTO_F_LOCAL_VIEW), items of
 *		   member_view { id node_id, address, u8 flags (PROTO_M_*),
 *		   u64 match_index, u64 last_contact_ms, u8 health (PROTO_H_*),
 *		   s16 relay (0..RAFTCONF_MAX_ID bytes of [A-Za-z0-9_-]: the
 *		   member that feeds it; empty: the leader), u64 lag_entries,
 *		   u64 lag_ms (PROTO_NEVER: unknown) }, at most
 *		   RAFTCONF_MAX_MEMBERS: the answer to MEMBERS_VIEW.  SELF marks
 *		   the node raftconfctl asked, whichever node's view it is.
 *		   LOCAL_VIEW: no leader was known (or reachable), so this is the
 *		   asked node's own view, without replication progress.
 *   0x4c BACKUP_CHUNK id (of the BACKUP), u8 flags (PROTO_F_LAST), u64 index
 *		   (the snapshot's: every write acknowledged before the BACKUP
 *		   is at or below it), u64 records (the snapshot header's), u64
 *		   total (bytes of the whole file), u64 offset, s32 data
 *		   (0..RAFTCONF_BACKUP_CHUNK bytes of the snapshot file, snap.h,
 *		   at offset).  Sent in order from offset 0; offset + length of
 *		   data <= total, PROTO_F_LAST exactly on the chunk that reaches
 *		   total.  The same index, records and total in every chunk.
 *   0x4f COUNT_REPLY id, u64 count: the keys under the prefix of a
 *		   LIST_EX with PROTO_F_COUNT
 *   0x50 DELETED  id, u64 revision (the DEL_PREFIX's entry), u64 deleted
 *		   (the keys it deleted, 0..RAFTCONF_MAX_DEL_PREFIX_KEYS; a retry
 *		   gets the first answer again)
 *
 * Peer messages, daemon <-> daemon on the peer port:
 *   0x80 HELLO	   u16 version, cluster, id node_id, address,
 *		   s16 auth (0..RAFTCONF_MAX_AUTH bytes, reserved, empty for now)
 *   0x81 REJECT   text message (sent before closing a refused connection)
 *   0x82 RAFT	   s32 payload: an opaque encoded Raft message, up to what the
 *		   frame limit leaves
 *   0x83 REMOVED  cluster, u64 index: the leader tells a member that its
 *		   removal committed at index (it no longer receives the log)
 *   0x84 PING	   (nothing): sent on a connection that has carried nothing
 *		   for a while, so that the other side can tell an idle peer
 *		   from a dead or silent one
 *
 * Flag bytes and enumerations refuse bits and values not defined here.
 *
 * Nothing in this module blocks, keeps global state that changes, or
 * allocates except proto_buf growth.  All functions are safe to call from any
 * thread on distinct objects.
 */
#ifndef RAFTCONF_PROTO_H
#define RAFTCONF_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "limits.h"

#define PROTO_VERSION	  1
#define PROTO_HEADER_SIZE 12

/* Message types.  Requests 0x01-0x3f, responses 0x40-0x7f, peer 0x80-0xbf. */
enum {
	PROTO_T_GET = 0x01,
	PROTO_T_SET = 0x02,
	PROTO_T_DEL = 0x03,
	PROTO_T_LIST = 0x04,
	PROTO_T_STATUS = 0x05,
	PROTO_T_MEMBERS = 0x06,
	PROTO_T_JOIN = 0x07,
	PROTO_T_JOINREQ = 0x08,
	PROTO_T_REMOVE = 0x09,
	PROTO_T_SNAPSHOT = 0x0a,
	PROTO_T_TRANSFER = 0x0b,
	PROTO_T_WATCH = 0x0c,
	PROTO_T_TOKEN_ADD = 0x0d,
	PROTO_T_TOKEN_REVOKE = 0x0e,
	PROTO_T_TOKEN_LIST = 0x0f,
	PROTO_T_SET_IF = 0x10,
	PROTO_T_DEL_IF = 0x11,
	PROTO_T_TXN = 0x12,
	PROTO_T_POLL = 0x14,
	PROTO_T_BACKUP = 0x13,
	PROTO_T_CLUSTER_STATUS = 0x15,
	PROTO_T_LIST_EX = 0x16,
	PROTO_T_DEL_PREFIX = 0x17,
	PROTO_T_MEMBERS_VIEW = 0x18,
	PROTO_T_REMOVE_FORCE = 0x1f,

	PROTO_T_OK = 0x40,
	PROTO_T_VALUE = 0x41,
	PROTO_T_ERROR = 0x42,
	PROTO_T_LIST_REPLY = 0x43,
	PROTO_T_STATUS_REPLY = 0x44,
	PROTO_T_MEMBERS_REPLY = 0x45,
	PROTO_T_EVENT = 0x46,
	PROTO_T_TOKEN_LIST_REPLY = 0x47,
	PROTO_T_VALUE_META = 0x48,
	PROTO_T_LIST_META_REPLY = 0x49,
	PROTO_T_FAILED = 0x4a,
	PROTO_T_TXN_REPLY = 0x4b,
	PROTO_T_EVENTS = 0x4d,
	PROTO_T_BACKUP_CHUNK = 0x4c,
	PROTO_T_CLUSTER_STATUS_REPLY = 0x4e,
	PROTO_T_COUNT_REPLY = 0x4f,
	PROTO_T_DELETED = 0x50,
	PROTO_T_MEMBERS_VIEW_REPLY = 0x51,

	PROTO_T_HELLO = 0x80,
	PROTO_T_REJECT = 0x81,
	PROTO_T_RAFT = 0x82,
	PROTO_T_REMOVED = 0x83,
	PROTO_T_PING = 0x84,
};

/* Flag bits of the per-message u8 flags fields (each message its own byte). */
#define PROTO_F_STALE	   0x01 /* GET, LIST, LIST_EX: read locally, no ReadIndex */
#define PROTO_F_LEARNER	   0x01 /* JOIN, JOINREQ: stay a non-voting learner */
#define PROTO_F_TRUNCATED  0x01 /* LIST_REPLY: more keys matched than sent */
#define PROTO_F_WRITE	   0x01 /* TOKEN_ADD, TOKEN_LIST_REPLY: may write, not only read */
#define PROTO_F_META	   0x02 /* GET, LIST, LIST_EX: answer VALUE_META, LIST_META_REPLY */
#define PROTO_F_KEYS_ONLY  0x04 /* LIST_EX: the entries without their values */
#define PROTO_F_COUNT	   0x08 /* LIST_EX: only the number of keys (COUNT_REPLY) */
#define PROTO_F_ALL	   0x01 /* DEL_PREFIX: the empty prefix, every key, on purpose */
#define PROTO_F_SUCCEEDED  0x01 /* TXN_REPLY: the compares held, the then-ops ran */
#define PROTO_F_REPLAYED   0x02 /* TXN_REPLY: a retry's answer, without the gets */
#define PROTO_F_FROM_NOW   0x01 /* POLL: changes after the node's applied index */
#define PROTO_F_LAST	   0x01 /* BACKUP_CHUNK: the file's last bytes */
#define PROTO_F_LOCAL_VIEW 0x01 /* MEMBERS_VIEW_REPLY: no leader's view, the answering node's */

/* TXN compares and ops. */
enum {
	PROTO_CMP_REV = 1,   /* the key's revision (0: it does not exist) */
	PROTO_CMP_VALUE = 2, /* its value (false for a key that does not exist) */
};
enum {
	PROTO_CMP_EQ = 1,
	PROTO_CMP_NE = 2,
	PROTO_CMP_LT = 3,
	PROTO_CMP_GT = 4,
};
enum {
	PROTO_OP_SET = 1,
	PROTO_OP_DEL = 2,
	PROTO_OP_GET = 3,
};

/* TOKEN_ADD's hash: SHA-256. */
#define PROTO_TOKEN_HASH 32
/* ERROR codes. */
enum {
	PROTO_E_NOTFOUND = 1,	/* no such key (or member) */
	PROTO_E_NOLEADER = 2,	/* no leader known: no quorum, election */
	PROTO_E_TIMEOUT = 3,	/* not applied in time; it may still apply */
	PROTO_E_REFUSED = 4,	/* understood, not allowed (e.g. remove self) */
	PROTO_E_BADREQ = 5,	/* malformed request */
	PROTO_E_TOOBIG = 6,	/* a field or the frame is over its limit */
	PROTO_E_INTERNAL = 7,	/* the daemon failed (disk, memory); see its log */
	PROTO_E_NOTMEMBER = 8,	/* this node is a spare, not in a cluster yet */
	PROTO_E_REDIRECT = 9,	/* ask the leader; message = its address */
	PROTO_E_NOSPACE = 10,	/* the node's disk is full: writes refused */
	PROTO_E_COMPACTED = 11, /* POLL: changes after that revision are no longer kept */
	PROTO_E_BUSY = 12,	/* another membership change first, or the join queue is full */
};
#define PROTO_E_MAX PROTO_E_BUSY

/* EVENT kinds. */
enum {
	PROTO_EV_PUT = 1,
	PROTO_EV_DEL = 2,
};

/* MEMBERS_REPLY item flags: exactly one of VOTER and LEARNER; LEADER needs VOTER. */
#define PROTO_M_VOTER	0x01
#define PROTO_M_LEARNER 0x02
#define PROTO_M_SELF	0x04 /* the node that answered */
#define PROTO_M_LEADER	0x08

/* MEMBERS_REPLY item health, as seen by the node that answered. */
enum {
	PROTO_H_UNKNOWN = 0,	 /* not the leader: no replication view */
	PROTO_H_OK = 1,		 /* reachable and caught up */
	PROTO_H_LAGGING = 2,	 /* reachable, match index behind */
	PROTO_H_UNREACHABLE = 3, /* no contact within the election timeout */
};
#define PROTO_H_MAX PROTO_H_UNREACHABLE

/* last_contact_ms value for a member never heard from. */
#define PROTO_NEVER UINT64_MAX

/*
 * A view of bytes: never NUL-terminated, print with "%.*s", (int)len, ptr.
 * In a decoded message it points into the frame given to proto_decode();
 * it is valid only as long as that frame is.
 */
struct proto_str {
	const char *ptr;
	size_t len;
};

static inline struct proto_str
proto_cstr(const char *s)
{
	return (struct proto_str){ s, s ? strlen(s) : 0 };
}

static inline struct proto_str
proto_mem(const void *p, size_t len)
{
	return (struct proto_str){ (const char *)p, len };
}

/*
 * The items of a list reply (LIST_REPLY, STATUS_REPLY, ...), as their encoded
 * bytes (raw, rawlen) and their number.  proto_decode() has validated every
 * item before it returns one of these; read them with proto_iter_*().
 */
struct proto_items {
	uint32_t count;
	const uint8_t *raw;
	size_t rawlen;
};

struct proto_entry { /* LIST_REPLY item */
	struct proto_str key;
	uint64_t revision;
	struct proto_str value;
};

struct proto_pair { /* STATUS_REPLY item */
	struct proto_str name;
	struct proto_str value;
};

struct proto_member { /* MEMBERS_REPLY item */
	struct proto_str node_id;
	struct proto_str address;
	uint8_t flags; /* PROTO_M_* */
	uint64_t match_index;
	uint64_t last_contact_ms; /* PROTO_NEVER when never heard from */
	uint8_t health;		  /* PROTO_H_* */
};

struct proto_member_view { /* MEMBERS_VIEW_REPLY item */
	struct proto_str node_id;
	struct proto_str address;
	uint8_t flags; /* PROTO_M_* */
	uint64_t match_index;
	uint64_t last_contact_ms; /* PROTO_NEVER when never heard from */
	uint8_t health;		  /* PROTO_H_* */
	struct proto_str relay;	  /* who feeds it; empty: the leader */
	uint64_t lag_entries;	  /* the leader's last index - match_index */
	uint64_t lag_ms;	  /* age of the oldest entry it lacks; PROTO_NEVER: unknown */
};

struct proto_token { /* TOKEN_LIST_REPLY item */
	struct proto_str name;
	uint8_t flags; /* PROTO_F_WRITE */
	struct proto_str prefix;
};

struct proto_kv { /* LIST_META_REPLY and TXN_REPLY item */
	struct proto_str key;
	uint64_t revision, create_revision, version;
	struct proto_str value;
};

struct proto_change { /* EVENTS item */
	uint8_t kind; /* PROTO_EV_* */
	struct proto_str key;
	uint64_t revision;
	struct proto_str value;
};

struct proto_compare {	/* TXN compares item */
	uint8_t target; /* PROTO_CMP_REV, PROTO_CMP_VALUE */
	uint8_t result; /* PROTO_CMP_EQ..PROTO_CMP_GT */
	struct proto_str key;
	uint64_t revision;
	struct proto_str value;
};

struct proto_op {     /* TXN then_ops and else_ops item */
	uint8_t kind; /* PROTO_OP_* */
	struct proto_str key;
	struct proto_str value;
};

struct proto_member_status { /* CLUSTER_STATUS_REPLY item */
	struct proto_str node_id;
	struct proto_str address;
	struct proto_str error;	  /* why it did not answer; empty when it did */
	struct proto_items pairs; /* its STATUS_REPLY's items; none when it did not */
};

union proto_item {
	struct proto_entry entry;
	struct proto_pair pair;
	struct proto_member member;
	struct proto_member_view member_view;
	struct proto_token token;
	struct proto_kv kv;
	struct proto_compare compare;
	struct proto_op op;
	struct proto_change change;
	struct proto_member_status member_status;
};

/*
 * One message.  Set `type`, `id` (ignored for peer messages, 0 when decoded)
 * and the union member named after the type; STATUS, MEMBERS, SNAPSHOT and
 * TOKEN_LIST requests have only the id.
 */
struct proto_msg {
	uint8_t type; /* PROTO_T_* */
	uint64_t id;
	union {
		struct {
			uint8_t flags;
			struct proto_str key;
		} get;
		struct {
			uint64_t client_id, seq;
			struct proto_str key, value;
		} set;
		struct {
			uint64_t client_id, seq;
			struct proto_str key;
		} del;
		struct {
			uint8_t flags;
			struct proto_str prefix;
		} list;
		struct {
			uint8_t flags;
			struct proto_str node_id, address, cluster;
		} join;
		struct {
			uint8_t flags;
			struct proto_str address;
		} joinreq;
		struct {
			struct proto_str node_id;
		} remove;
		struct {
			struct proto_str node_id;
		} transfer;
		struct {
			struct proto_str prefix;
		} watch;
		struct {
			uint64_t client_id, seq;
			struct proto_str name, prefix;
			uint8_t flags;
			struct proto_str hash;
		} token_add;
		struct {
			uint64_t client_id, seq;
			struct proto_str name;
		} token_revoke;
		struct {
			uint64_t client_id, seq, if_rev;
			struct proto_str key, value;
		} set_if;
		struct {
			uint64_t client_id, seq, if_rev;
			struct proto_str key;
		} del_if;
		struct {
			uint64_t client_id, seq;
			struct proto_items compares, then_ops, else_ops;
		} txn;
		struct {
			uint8_t flags;
			uint64_t after, wait_ms;
			struct proto_str prefix;
		} poll;
		struct {
			uint64_t wait_ms;
		} cluster_status;
		struct {
			uint8_t flags;	/* PROTO_F_STALE, _META, _KEYS_ONLY, _COUNT */
			uint64_t limit; /* 0: none */
			struct proto_str prefix;
		} list_ex;
		struct {
			uint64_t client_id, seq;
			uint8_t flags; /* PROTO_F_ALL */
			struct proto_str prefix;
		} del_prefix;

		struct {
			uint64_t revision;
		} ok;
		struct {
			uint64_t revision;
			struct proto_str value;
		} value_reply;
		struct {
			uint16_t code;
			struct proto_str message;
		} error;
		struct {
			uint8_t flags;
			struct proto_items items;
		} list_reply;
		struct {
			struct proto_items items;
		} status_reply;
		struct {
			struct proto_items items;
		} members_reply;
		struct {
			uint8_t flags; /* PROTO_F_LOCAL_VIEW */
			struct proto_items items;
		} members_view_reply;
		struct {
			struct proto_items items;
		} token_list_reply;
		struct {
			uint8_t kind;
			struct proto_str key;
			uint64_t revision;
			struct proto_str value;
		} event;
		struct {
			uint64_t revision, create_revision, version;
			struct proto_str value;
		} value_meta;
		struct {
			uint8_t flags;
			struct proto_items items;
		} list_meta_reply;
		struct {
			uint64_t revision;
		} failed;
		struct {
			uint8_t flags;
			uint64_t revision;
			struct proto_items items;
		} txn_reply;
		struct {
			uint8_t flags;
			uint64_t revision;
			struct proto_items items;
		} events;

		struct {
			uint8_t flags;
			uint64_t index, records, total, offset;
			struct proto_str data;
		} backup_chunk;
		struct {
			struct proto_items items;
		} cluster_status_reply;
		struct {
			uint64_t count;
		} count_reply;
		struct {
			uint64_t revision, deleted;
		} deleted;

		struct {
			uint16_t version;
			struct proto_str cluster, node_id, address, auth;
		} hello;
		struct {
			struct proto_str message;
		} reject;
		struct {
			struct proto_str payload;
		} raft;
		struct {
			struct proto_str cluster;
			uint64_t index;
		} removed;
	};
};

/* CRC-32C (Castagnoli).  Start with crc = 0; pass the result to continue. */
uint32_t proto_crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * Framing for stream readers.  Looks at the `have` bytes at buf (buf may be
 * NULL when have is 0) and returns:
 *   0		a whole frame of *frame_len bytes is at buf (there may be more)
 *   -EAGAIN	read more
 *   -EPROTO	the announced length is below PROTO_HEADER_SIZE
 *   -EMSGSIZE	the announced length is above RAFTCONF_MAX_FRAME
 * The last two are detected from the first 4 bytes: close the connection.
 * *frame_len is the announced length once the first 4 bytes are there (also
 * on error, for the log line), else 0.  frame_len may be NULL.  Only the
 * length is looked at: proto_decode() checks the rest of the header.
 */
int proto_frame_check(const uint8_t *buf, size_t have, size_t *frame_len);

/*
 * Decode one whole frame of exactly len bytes.  Zero-copy: every proto_str
 * and proto_items in *out points into frame.  Returns 0, or:
 *   -EPROTO	malformed: short header, length field != len, wrong version,
 *		unknown type, nonzero header flags, bad crc, a truncated field,
 *		bytes after the last field, bad content (empty key, NUL in a key,
 *		bad id, unknown flag bits or enumeration value, a list count
 *		larger than its bytes allow)
 *   -EMSGSIZE	the length field is above RAFTCONF_MAX_FRAME
 *   -E2BIG	a field, or a list's count, is over its limit (answer
 *		PROTO_E_TOOBIG)
 * and writes one line saying what and where into err (err may be NULL).
 * On failure out->type is set once the header was valid and out->id once it
 * was read (both 0 otherwise), so a reply can name the request; the rest of
 * *out is unspecified.
 */
int proto_decode(const uint8_t *frame, size_t len, struct proto_msg *out, char *err, size_t errlen);

/*
 * Iterate the items of a LIST_REPLY, STATUS_REPLY, MEMBERS_REPLY,
 * TOKEN_LIST_REPLY, LIST_META_REPLY, TXN_REPLY, EVENTS or
 * CLUSTER_STATUS_REPLY.  proto_iter_init() returns -EINVAL for any other
 * type; proto_iter_txn() iterates one of the three lists of a TXN request
 * (which: PROTO_TXN_COMPARES, _THEN or _ELSE); proto_iter_pairs() the
 * status pairs of one CLUSTER_STATUS_REPLY item (as pairs).
 * proto_iter_next() returns 1 and fills the union member of the items'
 * kind (entry, pair, member, token, kv, compare, op, change or
 * member_status), 0 after the last
 * item, -EPROTO if the items were not validated by
 * proto_decode()/proto_encode() and turn out malformed.  Items point into the
 * same bytes as the message.
 */
struct proto_iter {
	uint8_t type;
	const uint8_t *p;
	size_t left;
	uint32_t remaining;
	const void *schema; /* the items' layout (proto_schema.c's) */
};
enum { PROTO_TXN_COMPARES, PROTO_TXN_THEN, PROTO_TXN_ELSE };
int proto_iter_init(struct proto_iter *it, const struct proto_msg *m);
int proto_iter_txn(struct proto_iter *it, const struct proto_msg *m, int which);
int proto_iter_pairs(struct proto_iter *it, const struct proto_member_status *ms);
int proto_iter_next(struct proto_iter *it, union proto_item *item);

/*
 * A caller-owned output buffer: encoders append whole frames at data + len.
 * It never grows beyond RAFTCONF_MAX_FRAME bytes in total: drain it (send,
 * then proto_buf_reset) before appending more.
 */
struct proto_buf {
	uint8_t *data;
	size_t len, cap;
};
void proto_buf_init(struct proto_buf *b);
void proto_buf_reset(struct proto_buf *b); /* len = 0, keeps the memory */
void proto_buf_free(struct proto_buf *b);  /* frees, back to the init state */

/*
 * Append one frame for *m to b.  Validates m exactly as proto_decode() would
 * validate its frame (for list replies, m->...items.raw must be items as
 * proto_decode() returned them; to build a list reply from scratch use
 * proto_reply_*).  Returns 0, or:
 *   -EINVAL	unknown type, bad content (empty key, NUL in a key, bad id,
 *		unknown flag bits, NULL pointer with nonzero length, bad items)
 *   -E2BIG	a field is over its limit
 *   -EMSGSIZE	the frame, or the buffer with it, would exceed RAFTCONF_MAX_FRAME
 *   -ENOMEM
 * On failure b is left exactly as it was (data, len and cap).
 */
int proto_encode(struct proto_buf *b, const struct proto_msg *m, char *err, size_t errlen);

/*
 * Build a LIST_REPLY, STATUS_REPLY, MEMBERS_REPLY, TOKEN_LIST_REPLY,
 * LIST_META_REPLY, TXN_REPLY, EVENTS or CLUSTER_STATUS_REPLY item by item, for
 * replies whose items come from an iteration (the store, the membership):
 *
 *	proto_reply_begin(&rb, buf, PROTO_T_LIST_REPLY, id);
 *	while (more && proto_reply_add_entry(&rb, key, rev, val) == 0)
 *		...;
 *	proto_reply_end(&rb, more ? PROTO_F_TRUNCATED : 0);
 *
 * Between begin and end/abort, buf holds a partial frame: encode nothing else
 * into it.  An add that fails leaves the reply as it was before that add:
 *   -EMSGSIZE	the reply is full (the frame or buffer limit, or the count
 *		limit of the type): end it, with PROTO_F_TRUNCATED for a list
 *   -E2BIG, -EINVAL, -ENOMEM  as for proto_encode(); the item is skipped
 * A member_status must have exactly one of an error and pairs (-EINVAL
 * else); its pairs are items as proto_decode() returned them (a member's
 * STATUS_REPLY) and are checked again here.
 * proto_reply_end() takes the flags of a LIST_REPLY, LIST_META_REPLY,
 * TXN_REPLY or EVENTS (must be 0 for the others) and makes the frame whole;
 * proto_reply_end_txn() also sets a TXN_REPLY's or an EVENTS' revision.
 * proto_reply_abort() removes the partial frame.
 */
struct proto_reply {
	struct proto_buf *buf;
	size_t start;
	uint32_t count;
	uint8_t type;
};
int proto_reply_begin(struct proto_reply *rb, struct proto_buf *b, uint8_t type, uint64_t id);
int proto_reply_add_entry(
    struct proto_reply *rb, struct proto_str key, uint64_t revision, struct proto_str value);
int proto_reply_add_pair(struct proto_reply *rb, struct proto_str name, struct proto_str value);
int proto_reply_add_member(struct proto_reply *rb, const struct proto_member *m);
int proto_reply_add_member_view(struct proto_reply *rb, const struct proto_member_view *m);
int proto_reply_add_token(struct proto_reply *rb, const struct proto_token *t);
int proto_reply_add_kv(struct proto_reply *rb, const struct proto_kv *kv);
int proto_reply_add_change(struct proto_reply *rb, const struct proto_change *ch);
int proto_reply_add_member_status(struct proto_reply *rb, const struct proto_member_status *ms);
int proto_reply_end(struct proto_reply *rb, uint8_t flags);
int proto_reply_end_txn(struct proto_reply *rb, uint8_t flags, uint64_t revision);
void proto_reply_abort(struct proto_reply *rb);

/*
 * Build the items of a TXN request: append one compare or op to b (a
 * buffer of its own, not a frame) and count it in *count; once all are in,
 * the items are (struct proto_items){ *count, b->data, b->len }.  0, or as
 * proto_encode() (-EINVAL, -E2BIG, -ENOMEM; -EMSGSIZE past the frame
 * limit); a failed add leaves b and *count as they were.  The rules across
 * a compare's fields are proto_encode()'s to check.
 */
int proto_txn_add_compare(struct proto_buf *b, uint32_t *count, const struct proto_compare *c);
int proto_txn_add_op(struct proto_buf *b, uint32_t *count, const struct proto_op *o);

/*
 * Whether a TXN (validated) could write: a set or del op in either branch.
 * One that cannot is sent with client id 0, so that a retry runs it again
 * and reads afresh, rather than get the answer of a retry (no results).
 */
bool proto_txn_writes(const struct proto_msg *m);

/* Validation shared with callers that check user input before encoding. */
bool proto_valid_key(const char *key, size_t len); /* 1..MAX_KEY, no NUL */
bool proto_valid_id(const char *id, size_t len);   /* [A-Za-z0-9_-]{1,32} */

/* Names for logs and messages; unknown values give "unknown". */
const char *proto_type_name(uint8_t type);     /* "GET", "LIST_REPLY", ... */
const char *proto_error_name(uint16_t code);   /* "not found", "no leader", ... */
const char *proto_health_name(uint8_t health); /* "ok", "lagging", ... */
bool proto_is_request(uint8_t type);	       /* a known control request */
bool proto_is_response(uint8_t type);	       /* a known response */
bool proto_is_peer(uint8_t type);	       /* a known peer message */

#endif
