/*
 * store_cmd.h — the commands a log entry carries for the store: their byte
 * format, encoding (the leader, proposing a client's write) and decoding
 * (the store applying it; watch.c telling watchers).
 *
 * Pure: no I/O, no state; what is done with a command is store_apply.c's.
 */
#ifndef RAFTCONF_STORE_CMD_H
#define RAFTCONF_STORE_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "limits.h"

/*
 * A command is the data of a log entry.  Byte 0 is the operation and the
 * format version together: a new format gets a new op code, so an old node
 * rejects what it cannot read instead of misreading it.
 *
 *	u8 op, u64 client id, u64 seq, u32 key length, key
 *	SET and TOKEN_PUT only: u32 value length, value
 *
 * TOKEN_PUT and TOKEN_DEL make and revoke an HTTP token: their key is the
 * token's name (token_name_ok), and TOKEN_PUT's value its record (token.h),
 * which the store keeps under "t:" NAME, out of reach of get, list and watch.
 *
 * SET_IF and DEL_IF are SET and DEL that apply only if the key's revision
 * is if_rev when the entry is applied (0: only if the key does not exist):
 *
 *	SET_IF	u8 op, u64 client id, u64 seq, u32 key length, key,
 *		u32 value length, value, u64 if_rev
 *	DEL_IF	u8 op, u64 client id, u64 seq, u32 key length, key, u64 if_rev
 *
 * TXN is etcd's transaction: if every compare holds, the "then" operations
 * run, else the "else" ones, all in this one entry:
 *
 *	TXN	u8 op, u64 client id, u64 seq,
 *		u32 n, n compares { u8 target (STORE_CMP_REV, STORE_CMP_VALUE),
 *		  u8 result (STORE_CMP_EQ..GT), u32 key length, key, u64 revision,
 *		  u32 value length, value },
 *		u32 n, n then-ops { u8 kind (STORE_TXN_SET..GET), u32 key length,
 *		  key, u32 value length, value },
 *		u32 n, n else-ops, likewise
 *
 * A compare of the revision has an empty value; a compare of the value has
 * revision 0 and only EQ or NE; only a SET op has a value.  At most
 * RAFTCONF_MAX_TXN_OPS compares, and as many ops in both branches together.
 *
 * DEL_PREFIX deletes every key that starts with its prefix (the key field:
 * 0..RAFTCONF_MAX_KEY bytes, no NUL; empty: every key), as the entry
 * applies, in one go; "t:" tokens are no keys and stay:
 *
 *	DEL_PREFIX u8 op, u64 client id, u64 seq, u32 prefix length, prefix
 *
 * Client id 0 means "no dedup" (the request is applied every time).
 */
enum store_op {
	STORE_OP_SET = 0x01,
	STORE_OP_DEL = 0x02,
	STORE_OP_SET_IF = 0x03,
	STORE_OP_DEL_IF = 0x04,
	STORE_OP_TXN = 0x05,
	STORE_OP_DEL_PREFIX = 0x06,
	STORE_OP_TOKEN_PUT = 0x10,
	STORE_OP_TOKEN_DEL = 0x11,
};

#define STORE_CMD_HEADER	       21
#define STORE_CMD_SET_SIZE(klen, vlen) (STORE_CMD_HEADER + (klen) + 4 + (vlen))
#define STORE_CMD_DEL_SIZE(klen)       (STORE_CMD_HEADER + (klen))

/* What a compare looks at, and how it compares. */
enum store_cmp_target {
	STORE_CMP_REV = 1,   /* the key's revision; 0 when it does not exist */
	STORE_CMP_VALUE = 2, /* the key's value; false for a key that does not exist */
};
enum store_cmp_result {
	STORE_CMP_EQ = 1,
	STORE_CMP_NE = 2,
	STORE_CMP_LT = 3,
	STORE_CMP_GT = 4,
};
enum store_txn_kind {
	STORE_TXN_SET = 1,
	STORE_TXN_DEL = 2,
	STORE_TXN_GET = 3,
};

struct store_compare {
	uint8_t target; /* enum store_cmp_target */
	uint8_t result; /* enum store_cmp_result */
	const char *key;
	size_t klen;
	uint64_t revision;
	const uint8_t *value;
	size_t vlen;
};

struct store_txn_op {
	uint8_t kind; /* enum store_txn_kind */
	const char *key;
	size_t klen;
	const uint8_t *value; /* STORE_TXN_SET only */
	size_t vlen;
};

/* The encoded compares or ops of a TXN, checked by decode; walk them with the iterator. */
struct store_txn_list {
	const uint8_t *raw;
	size_t rawlen;
	uint32_t count;
};

/* A decoded command; key and value point into the buffer given to decode. */
struct store_cmd {
	enum store_op op;
	uint64_t client_id;
	uint64_t seq;
	const char *key; /* klen bytes, not NUL-terminated; not for TXN; DEL_PREFIX: the prefix */
	size_t klen;
	const uint8_t *value; /* SET, SET_IF and TOKEN_PUT only */
	size_t vlen;
	uint64_t if_rev;				    /* SET_IF, DEL_IF */
	struct store_txn_list compares, then_ops, else_ops; /* TXN */
};

/* Walking a store_txn_list that store_cmd_decode checked. */
struct store_txn_iter {
	const uint8_t *p;
	size_t left;
	uint32_t remaining;
};
void store_txn_iter_init(struct store_txn_iter *it, const struct store_txn_list *l);
/* 1 with *out filled (pointing into the command), 0 after the last. */
int store_txn_next_compare(struct store_txn_iter *it, struct store_compare *out);
int store_txn_next_op(struct store_txn_iter *it, struct store_txn_op *out);

/*
 * Encode into buf (cap bytes).  Returns the length, -EINVAL for a key that is
 * empty, longer than RAFTCONF_MAX_KEY or holds a NUL byte, or a value longer
 * than RAFTCONF_MAX_VALUE, or -ENOSPC when cap is too small (see the SIZE
 * macros).
 */
ssize_t store_cmd_encode_set(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq,
    const char *key, size_t klen, const void *value, size_t vlen);
ssize_t store_cmd_encode_del(
    uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *key, size_t klen);

/* SET_IF and DEL_IF; sizes STORE_CMD_SET_SIZE(klen, vlen) + 8 and STORE_CMD_DEL_SIZE(klen) + 8. */
ssize_t store_cmd_encode_set_if(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq,
    const char *key, size_t klen, const void *value, size_t vlen, uint64_t if_rev);
ssize_t store_cmd_encode_del_if(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq,
    const char *key, size_t klen, uint64_t if_rev);

/* DEL_PREFIX: size STORE_CMD_DEL_SIZE(plen); -EINVAL for a prefix over
 * RAFTCONF_MAX_KEY bytes or with a NUL byte (empty is every key). */
ssize_t store_cmd_encode_del_prefix(
    uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *prefix, size_t plen);

/*
 * TXN: with buf NULL (or cap too small) only its size is counted.  The
 * length, -EINVAL for anything decode would refuse (a bad key, kind,
 * target or result, a value where none goes, too many compares or ops),
 * or -ENOSPC when cap is too small (the length needed in *need).
 */
ssize_t store_cmd_encode_txn(uint8_t *buf, size_t cap, size_t *need, uint64_t client_id,
    uint64_t seq, const struct store_compare *cmps, size_t ncmp,
    const struct store_txn_op *then_ops, size_t nthen, const struct store_txn_op *else_ops,
    size_t nelse);

/*
 * The token commands: name must pass token_name_ok and record decode as a
 * token record (token.h); -EINVAL otherwise, -ENOSPC as above.  Sizes:
 * STORE_CMD_SET_SIZE(nlen, rlen) and STORE_CMD_DEL_SIZE(nlen).
 */
ssize_t store_cmd_encode_token_put(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq,
    const char *name, size_t nlen, const void *record, size_t rlen);
ssize_t store_cmd_encode_token_del(
    uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *name, size_t nlen);

/* A command that changes a key (and so concerns get, list and watch)? */
static inline bool
store_cmd_is_key(enum store_op op)
{
	return op == STORE_OP_SET || op == STORE_OP_DEL || op == STORE_OP_SET_IF ||
	    op == STORE_OP_DEL_IF || op == STORE_OP_TXN || op == STORE_OP_DEL_PREFIX;
}

/*
 * Decode untrusted bytes: every length is checked, the command must fill buf
 * exactly.  -EBADMSG when malformed, -ENOTSUP for an unknown op.
 */
int store_cmd_decode(const void *buf, size_t len, struct store_cmd *cmd);

/*
 * What a command asks for, apart from who asks (client id and seq): a
 * 64-bit FNV-1a of its bytes without them, never 0.  The dedup table keeps
 * it beside a client's last seq, so that a retry that names that seq for
 * another request is told apart from a true retry.
 */
uint64_t store_cmd_digest(const void *buf, size_t len);

/* A key the store can hold: 1..RAFTCONF_MAX_KEY bytes, no NUL byte. */
bool store_key_ok(const char *key, size_t klen);

#endif
