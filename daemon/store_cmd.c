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
	return op == STORE_OP_SET || op == STORE_OP_SET_IF || op == STORE_OP_TOKEN_PUT;
}

static bool
has_if_rev(enum store_op op)
{
	return op == STORE_OP_SET_IF || op == STORE_OP_DEL_IF;
}

/* The key and value of a command of op: could the store apply them? */
static bool
cmd_ok(enum store_op op, const char *key, size_t klen, const void *value, size_t vlen)
{
	struct token_record rec;

	switch (op) {
	case STORE_OP_SET:
	case STORE_OP_SET_IF:
		return store_key_ok(key, klen) && vlen <= RAFTCONF_MAX_VALUE;
	case STORE_OP_DEL:
	case STORE_OP_DEL_IF:
		return store_key_ok(key, klen);
	case STORE_OP_DEL_PREFIX:
		return klen <= RAFTCONF_MAX_KEY && (klen == 0 || memchr(key, '\0', klen) == NULL);
	case STORE_OP_TXN:
		return false; /* not through cmd_encode */
	case STORE_OP_TOKEN_PUT:
		return token_name_ok(key, klen) && token_record_decode(value, vlen, &rec) == 0;
	case STORE_OP_TOKEN_DEL:
		return token_name_ok(key, klen);
	}
	return false;
}

static ssize_t
cmd_encode(uint8_t *buf, size_t cap, enum store_op op, uint64_t client_id, uint64_t seq,
    const char *key, size_t klen, const void *value, size_t vlen, uint64_t if_rev)
{
	size_t need, off;

	if (!cmd_ok(op, key, klen, value, vlen))
		return -EINVAL;
	need = has_value(op) ? STORE_CMD_SET_SIZE(klen, vlen) : STORE_CMD_DEL_SIZE(klen);
	if (has_if_rev(op))
		need += 8;
	if (cap < need)
		return -ENOSPC;
	buf[0] = (uint8_t)op;
	put_le64(buf + 1, client_id);
	put_le64(buf + 9, seq);
	put_le32(buf + 17, (uint32_t)klen);
	if (klen > 0)
		memcpy(buf + STORE_CMD_HEADER, key, klen);
	off = STORE_CMD_HEADER + klen;
	if (has_value(op)) {
		put_le32(buf + off, (uint32_t)vlen);
		if (vlen > 0)
			memcpy(buf + off + 4, value, vlen);
		off += 4 + vlen;
	}
	if (has_if_rev(op))
		put_le64(buf + off, if_rev);
	return (ssize_t)need;
}

ssize_t
store_cmd_encode_set(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *key,
    size_t klen, const void *value, size_t vlen)
{
	if (vlen > 0 && value == NULL)
		return -EINVAL;
	return cmd_encode(buf, cap, STORE_OP_SET, client_id, seq, key, klen, value, vlen, 0);
}

ssize_t
store_cmd_encode_del(
    uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *key, size_t klen)
{
	return cmd_encode(buf, cap, STORE_OP_DEL, client_id, seq, key, klen, NULL, 0, 0);
}

ssize_t
store_cmd_encode_set_if(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *key,
    size_t klen, const void *value, size_t vlen, uint64_t if_rev)
{
	if (vlen > 0 && value == NULL)
		return -EINVAL;
	return cmd_encode(
	    buf, cap, STORE_OP_SET_IF, client_id, seq, key, klen, value, vlen, if_rev);
}

ssize_t
store_cmd_encode_del_if(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *key,
    size_t klen, uint64_t if_rev)
{
	return cmd_encode(buf, cap, STORE_OP_DEL_IF, client_id, seq, key, klen, NULL, 0, if_rev);
}

ssize_t
store_cmd_encode_del_prefix(
    uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *prefix, size_t plen)
{
	if (plen > 0 && prefix == NULL)
		return -EINVAL;
	return cmd_encode(buf, cap, STORE_OP_DEL_PREFIX, client_id, seq, prefix, plen, NULL, 0, 0);
}

/* ------------------------------------------------------------ transactions */

static bool
compare_ok(const struct store_compare *c)
{
	if (!store_key_ok(c->key, c->klen) || c->vlen > RAFTCONF_MAX_VALUE ||
	    (c->vlen > 0 && c->value == NULL))
		return false;
	switch (c->target) {
	case STORE_CMP_REV:
		return c->result >= STORE_CMP_EQ && c->result <= STORE_CMP_GT && c->vlen == 0;
	case STORE_CMP_VALUE:
		return (c->result == STORE_CMP_EQ || c->result == STORE_CMP_NE) && c->revision == 0;
	}
	return false;
}

static bool
txn_op_ok(const struct store_txn_op *o)
{
	if (!store_key_ok(o->key, o->klen) || o->vlen > RAFTCONF_MAX_VALUE ||
	    (o->vlen > 0 && o->value == NULL))
		return false;
	return o->kind == STORE_TXN_SET ||
	    ((o->kind == STORE_TXN_DEL || o->kind == STORE_TXN_GET) && o->vlen == 0);
}

static void
write_ops(struct bytes_writer *w, const struct store_txn_op *ops, size_t n)
{
	bw_le32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		bw_u8(w, ops[i].kind);
		bw_le32(w, (uint32_t)ops[i].klen);
		bw_mem(w, ops[i].key, ops[i].klen);
		bw_le32(w, (uint32_t)ops[i].vlen);
		bw_mem(w, ops[i].value, ops[i].vlen);
	}
}

static void
write_txn(struct bytes_writer *w, uint64_t client_id, uint64_t seq,
    const struct store_compare *cmps, size_t ncmp, const struct store_txn_op *then_ops,
    size_t nthen, const struct store_txn_op *else_ops, size_t nelse)
{
	bw_u8(w, STORE_OP_TXN);
	bw_le64(w, client_id);
	bw_le64(w, seq);
	bw_le32(w, (uint32_t)ncmp);
	for (size_t i = 0; i < ncmp; i++) {
		bw_u8(w, cmps[i].target);
		bw_u8(w, cmps[i].result);
		bw_le32(w, (uint32_t)cmps[i].klen);
		bw_mem(w, cmps[i].key, cmps[i].klen);
		bw_le64(w, cmps[i].revision);
		bw_le32(w, (uint32_t)cmps[i].vlen);
		bw_mem(w, cmps[i].value, cmps[i].vlen);
	}
	write_ops(w, then_ops, nthen);
	write_ops(w, else_ops, nelse);
}

ssize_t
store_cmd_encode_txn(uint8_t *buf, size_t cap, size_t *need, uint64_t client_id, uint64_t seq,
    const struct store_compare *cmps, size_t ncmp, const struct store_txn_op *then_ops,
    size_t nthen, const struct store_txn_op *else_ops, size_t nelse)
{
	struct bytes_writer w;

	if (ncmp > RAFTCONF_MAX_TXN_OPS || nthen + nelse > RAFTCONF_MAX_TXN_OPS)
		return -EINVAL;
	for (size_t i = 0; i < ncmp; i++)
		if (!compare_ok(&cmps[i]))
			return -EINVAL;
	for (size_t i = 0; i < nthen; i++)
		if (!txn_op_ok(&then_ops[i]))
			return -EINVAL;
	for (size_t i = 0; i < nelse; i++)
		if (!txn_op_ok(&else_ops[i]))
			return -EINVAL;
	bw_init(&w, NULL, SIZE_MAX);
	write_txn(&w, client_id, seq, cmps, ncmp, then_ops, nthen, else_ops, nelse);
	if (need != NULL)
		*need = w.len;
	if (buf == NULL || cap < w.len)
		return -ENOSPC;
	bw_init(&w, buf, cap);
	write_txn(&w, client_id, seq, cmps, ncmp, then_ops, nthen, else_ops, nelse);
	return w.err ? -ENOSPC : (ssize_t)w.len;
}

/* One compare at r: false when truncated or invalid. */
static bool
read_compare(struct bytes_reader *r, struct store_compare *c)
{
	c->target = br_u8(r);
	c->result = br_u8(r);
	c->klen = br_le32(r);
	c->key = (const char *)br_mem(r, c->klen);
	c->revision = br_le64(r);
	c->vlen = br_le32(r);
	c->value = br_mem(r, c->vlen);
	return !r->err && compare_ok(c);
}

static bool
read_op(struct bytes_reader *r, struct store_txn_op *o)
{
	o->kind = br_u8(r);
	o->klen = br_le32(r);
	o->key = (const char *)br_mem(r, o->klen);
	o->vlen = br_le32(r);
	o->value = br_mem(r, o->vlen);
	return !r->err && txn_op_ok(o);
}

/* A list of n compares (ops false) or ops at r, each checked, into l. */
static bool
read_list(struct bytes_reader *r, bool ops, uint32_t max, struct store_txn_list *l)
{
	size_t start;

	l->count = br_le32(r);
	if (r->err || l->count > max)
		return false;
	start = r->off;
	for (uint32_t i = 0; i < l->count; i++) {
		struct store_compare c;
		struct store_txn_op o;

		if (ops ? !read_op(r, &o) : !read_compare(r, &c))
			return false;
	}
	l->raw = r->p + start;
	l->rawlen = r->off - start;
	return true;
}

void
store_txn_iter_init(struct store_txn_iter *it, const struct store_txn_list *l)
{
	it->p = l->raw;
	it->left = l->rawlen;
	it->remaining = l->count;
}

int
store_txn_next_compare(struct store_txn_iter *it, struct store_compare *out)
{
	struct bytes_reader r;

	if (it->remaining == 0)
		return 0;
	br_init(&r, it->p, it->left);
	if (!read_compare(&r, out))
		return -EBADMSG;
	it->p += r.off;
	it->left -= r.off;
	it->remaining--;
	return 1;
}

int
store_txn_next_op(struct store_txn_iter *it, struct store_txn_op *out)
{
	struct bytes_reader r;

	if (it->remaining == 0)
		return 0;
	br_init(&r, it->p, it->left);
	if (!read_op(&r, out))
		return -EBADMSG;
	it->p += r.off;
	it->left -= r.off;
	it->remaining--;
	return 1;
}

ssize_t
store_cmd_encode_token_put(uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq,
    const char *name, size_t nlen, const void *record, size_t rlen)
{
	if (record == NULL)
		return -EINVAL;
	return cmd_encode(
	    buf, cap, STORE_OP_TOKEN_PUT, client_id, seq, name, nlen, record, rlen, 0);
}

ssize_t
store_cmd_encode_token_del(
    uint8_t *buf, size_t cap, uint64_t client_id, uint64_t seq, const char *name, size_t nlen)
{
	return cmd_encode(buf, cap, STORE_OP_TOKEN_DEL, client_id, seq, name, nlen, NULL, 0, 0);
}

uint64_t
store_cmd_digest(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		if (i >= 1 && i < 17) /* client id and seq */
			continue;
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
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
	if (op != STORE_OP_SET && op != STORE_OP_DEL && op != STORE_OP_SET_IF &&
	    op != STORE_OP_DEL_IF && op != STORE_OP_TXN && op != STORE_OP_DEL_PREFIX &&
	    op != STORE_OP_TOKEN_PUT && op != STORE_OP_TOKEN_DEL)
		return -ENOTSUP;
	cmd->op = (enum store_op)op;
	cmd->client_id = br_le64(&r);
	cmd->seq = br_le64(&r);
	if (cmd->op == STORE_OP_TXN) {
		if (!read_list(&r, false, RAFTCONF_MAX_TXN_OPS, &cmd->compares) ||
		    !read_list(&r, true, RAFTCONF_MAX_TXN_OPS, &cmd->then_ops) ||
		    !read_list(
			&r, true, RAFTCONF_MAX_TXN_OPS - cmd->then_ops.count, &cmd->else_ops) ||
		    br_left(&r) != 0)
			goto bad;
		return 0;
	}
	cmd->klen = br_le32(&r);
	cmd->key = (const char *)br_mem(&r, cmd->klen);
	if (r.err)
		goto bad;
	if (has_value(cmd->op)) {
		cmd->vlen = br_le32(&r);
		cmd->value = br_mem(&r, cmd->vlen);
	}
	if (has_if_rev(cmd->op))
		cmd->if_rev = br_le64(&r);
	if (r.err || br_left(&r) != 0 ||
	    !cmd_ok(cmd->op, cmd->key, cmd->klen, cmd->value, cmd->vlen))
		goto bad;
	return 0;
bad:
	memset(cmd, 0, sizeof(*cmd));
	return -EBADMSG;
}
