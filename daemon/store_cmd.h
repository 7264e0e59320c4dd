/*
 * store_cmd.h — the commands a log entry carries for the store: their byte
 * format, encoding (the leader, proposing a client's write) and decoding
 * (the store applying it; watch.c telling watchers).
 *
 * Pure: no I/O, no state; what is done with a command is store.c's.
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
 * Client id 0 means "no dedup" (the request is applied every time).
 */
enum store_op {
	STORE_OP_SET = 0x01,
	STORE_OP_DEL = 0x02,
	STORE_OP_TOKEN_PUT = 0x10,
	STORE_OP_TOKEN_DEL = 0x11,
};

#define STORE_CMD_HEADER	       21
#define STORE_CMD_SET_SIZE(klen, vlen) (STORE_CMD_HEADER + (klen) + 4 + (vlen))
#define STORE_CMD_DEL_SIZE(klen)       (STORE_CMD_HEADER + (klen))

/* A decoded command; key and value point into the buffer given to decode. */
struct store_cmd {
	enum store_op op;
	uint64_t client_id;
	uint64_t seq;
	const char *key; /* klen bytes, not NUL-terminated */
	size_t klen;
	const uint8_t *value; /* SET and TOKEN_PUT only */
	size_t vlen;
};

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
	return op == STORE_OP_SET || op == STORE_OP_DEL;
}

/*
 * Decode untrusted bytes: every length is checked, the command must fill buf
 * exactly.  -EBADMSG when malformed, -ENOTSUP for an unknown op.
 */
int store_cmd_decode(const void *buf, size_t len, struct store_cmd *cmd);

/* A key the store can hold: 1..RAFTCONF_MAX_KEY bytes, no NUL byte. */
bool store_key_ok(const char *key, size_t klen);

#endif
