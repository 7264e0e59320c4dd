/*
 * store_cmd.c — encoding and decoding the store's commands (contract and
 * byte format in store_cmd.h).
 */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "store_cmd.h"
#include "token.h"

bool
store_key_ok(const char *key, size_t klen)
{
	return klen > 0 && klen <= RAFTCONF_MAX_KEY && memchr(key, '\0', klen) == NULL;
}

static bool
has_value(enum store_op op)
{
	return op == STORE_OP_SET || op == STORE_OP_TOKEN_PUT;
}

/* The key and value of a command of op: could the store apply them? */
static bool
cmd_ok(enum store_op op, const char *key, size_t klen, const void *value, size_t vlen)
{
	struct token_record rec;

	switch (op) {
	case STORE_OP_SET:
		return store_key_ok(key, klen) && vlen <= RAFTCONF_MAX_VALUE;
	case STORE_OP_DEL:
		return store_key_ok(key, klen);
	case STORE_OP_TOKEN_PUT:
		return token_name_ok(key, klen) && token_record_decode(value, vlen, &rec) == 0;
	case STORE_OP_TOKEN_DEL:
		return token_name_ok(key, klen);
	}
	return false;
}

static ssize_t
cmd_encode(uint8_t *buf, size_t cap, enum store_op op, uint64_t client_id, uint64_t seq,
    const char *key, size_t klen, const void *value, size_t vlen)
{
	size_t need, off;

	if (!cmd_ok(op, key, klen, value, vlen))
		return -EINVAL;
	need = has_value(op) ? STORE_CMD_SET_SIZE(klen, vlen) : STORE_CMD_DEL_SIZE(klen);
	if (cap < need)
		return -ENOSPC;
	buf[0] = (uint8_t)op;
	put_le64(buf + 1, client_id);
	put_le64(buf + 9, seq);
	put_le32(buf + 17, (uint32_t)klen);
	memcpy(buf + STORE_CMD_HEADER, key, klen);
	off = STORE_CMD_HEADER + klen;
	if (has_value(op)) {
		put_le32(buf + off, (uint32_t)vlen);
		if (vlen > 0)
			memcpy(buf + off + 4, value, vlen);
	}
	return (ssize_t)need;
}

ssize_t
store_cmd_encode_set(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *key,
    size_t klen, const void *value, size_t vlen)
{
	if (vlen > 0 && value == NULL)
		return -EINVAL;
	return cmd_encode(buf, cap, STORE_OP_SET, client_id, seq, key, klen, value, vlen);
}

ssize_t
store_cmd_encode_del(
    uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *key, size_t klen)
{
	return cmd_encode(buf, cap, STORE_OP_DEL, client_id, seq, key, klen, NULL, 0);
}

ssize_t
store_cmd_encode_token_put(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq,
    const char *name, size_t nlen, const void *record, size_t rlen)
{
	if (record == NULL)
		return -EINVAL;
	return cmd_encode(buf, cap, STORE_OP_TOKEN_PUT, client_id, seq, name, nlen, record, rlen);
}

ssize_t
store_cmd_encode_token_del(
    uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *name, size_t nlen)
{
	return cmd_encode(buf, cap, STORE_OP_TOKEN_DEL, client_id, seq, name, nlen, NULL, 0);
}

int
store_cmd_decode(const void *buf, size_t len, struct store_cmd *cmd)
{
	struct bytes_reader r;
	uint8_t op;

	memset(cmd, 0, sizeof(*cmd));
	br_init(&r, buf, len);
	op = br_u8(&r);
	if (r.err)
		return -EBADMSG;
	if (op != STORE_OP_SET && op != STORE_OP_DEL && op != STORE_OP_TOKEN_PUT &&
	    op != STORE_OP_TOKEN_DEL)
		return -ENOTSUP;
	cmd->op = (enum store_op)op;
	cmd->client_id = br_le64(&r);
	cmd->seq = br_le64(&r);
	cmd->klen = br_le32(&r);
	cmd->key = (const char *)br_mem(&r, cmd->klen);
	if (r.err)
		goto bad;
	if (has_value(cmd->op)) {
		cmd->vlen = br_le32(&r);
		cmd->value = br_mem(&r, cmd->vlen);
	}
	if (r.err || br_left(&r) != 0 ||
	    !cmd_ok(cmd->op, cmd->key, cmd->klen, cmd->value, cmd->vlen))
		goto bad;
	return 0;
bad:
	memset(cmd, 0, sizeof(*cmd));
	return -EBADMSG;
}
