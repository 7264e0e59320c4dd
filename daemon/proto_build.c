/*
 * proto_build.c — the item lists of the wire codec: replies with items
 * (LIST_REPLY, TXN_REPLY, EVENTS, ...) and a TXN's compares and ops built
 * one item at a time into a proto_buf, and the items of a decoded message
 * walked one at a time.
 *
 * A reply whose items come from an iteration (the store, the membership) is
 * written into its frame as the items come, and a full frame is a truncated
 * answer, not an error.  Each item goes through the same schema and writer
 * as proto_encode() (proto_schema.h), so what is built here decodes there.
 *
 * What it is not: no schema and no field checks of its own (proto_schema.c
 * holds the tables, proto_fields.c the walkers), no decoding of a frame, no
 * I/O.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"
#include "proto.h"
#include "proto_schema.h"

#define HDR PROTO_HEADER_SIZE

/* ------------------------------------------------------------ iterating */

int
proto_iter_init(struct proto_iter *it, const struct proto_msg *m)
{
	const struct proto_items *items;
	const struct field *f;

	memset(it, 0, sizeof(*it));
	/* the responses whose last field is a list of items */
	if (!proto_is_response(m->type) || (f = proto_items_field(m->type)) == NULL)
		return -EINVAL;
	items = (const struct proto_items *)((const char *)m + f->off);
	it->type = m->type;
	it->p = items->raw;
	it->left = items->raw != NULL ? items->rawlen : 0;
	it->remaining = items->count;
	it->schema = f->items;
	return 0;
}

int
proto_iter_txn(struct proto_iter *it, const struct proto_msg *m, int which)
{
	const struct proto_items *items;

	memset(it, 0, sizeof(*it));
	if (m->type != PROTO_T_TXN)
		return -EINVAL;
	switch (which) {
	case PROTO_TXN_COMPARES:
		items = &m->txn.compares;
		it->schema = &proto_compare_schema;
		break;
	case PROTO_TXN_THEN:
		items = &m->txn.then_ops;
		it->schema = &proto_op_schema;
		break;
	case PROTO_TXN_ELSE:
		items = &m->txn.else_ops;
		it->schema = &proto_op_schema;
		break;
	default:
		return -EINVAL;
	}
	it->type = m->type;
	it->p = items->raw;
	it->left = items->raw != NULL ? items->rawlen : 0;
	it->remaining = items->count;
	return 0;
}

int
proto_iter_pairs(struct proto_iter *it, const struct proto_member_status *ms)
{
	memset(it, 0, sizeof(*it));
	it->type = PROTO_T_CLUSTER_STATUS_REPLY;
	it->p = ms->pairs.raw;
	it->left = ms->pairs.raw != NULL ? ms->pairs.rawlen : 0;
	it->remaining = ms->pairs.count;
	it->schema = &proto_pair_schema;
	return 0;
}

int
proto_iter_next(struct proto_iter *it, union proto_item *item)
{
	const struct schema *is = it->schema;
	struct ctx c = { NULL, 0, false, NULL, NULL, 0 };
	struct bytes_reader r;

	br_init(&r, it->p, it->left);
	if (it->remaining == 0)
		return 0;
	memset(item, 0, sizeof(*item));
	if (is == NULL || proto_read_fields(&r, is, item, &c) != 0) {
		it->remaining = 0;
		return -EPROTO;
	}
	it->p += r.off;
	it->left -= r.off;
	it->remaining--;
	return 1;
}

/* ------------------------------------------------------- reply builder */

/*
 * The bytes of a reply type's fields before its items (its flags, a
 * TXN_REPLY's revision: u8 and u64 only), and the first field when it is
 * the flags.
 */
static size_t
reply_prefix(uint8_t type, const struct field **flags)
{
	const struct schema *s = proto_schema_of(type);
	size_t n = 0;

	*flags = NULL;
	for (size_t i = 0; i + 1 < s->nfields; i++)
		n += s->fields[i].kind == FK_U8 ? 1 : 8;
	if (s->nfields > 1 && s->fields[0].kind == FK_U8 && s->fields[0].check == FC_MASK)
		*flags = &s->fields[0];
	return n;
}

int
proto_reply_begin(struct proto_reply *rb, struct proto_buf *b, uint8_t type, uint64_t id)
{
	const struct field *flags;
	size_t n, prefix;
	uint8_t *f;
	int rc;

	memset(rb, 0, sizeof(*rb));
	if (!proto_is_response(type) || proto_items_field(type) == NULL)
		return -EINVAL;
	prefix = reply_prefix(type, &flags);
	n = HDR + 8 + prefix + 4;
	if ((rc = proto_buf_reserve(b, n)) != 0)
		return rc;
	f = b->data + b->len;
	proto_put_header(f, (uint32_t)n, type);
	put_be64(f + HDR, id);
	memset(f + HDR + 8, 0, prefix); /* flags and revision, set by proto_reply_end */
	put_be32(f + n - 4, 0);		/* count, likewise */
	rb->buf = b;
	rb->start = b->len;
	rb->type = type;
	b->len += n;
	return 0;
}

/* One item of schema is at the end of b: sized and checked against room
 * first, then written.  0, -EMSGSIZE, or what proto_write_fields says. */
static int
append_item(struct proto_buf *b, const struct schema *is, const void *item, size_t room)
{
	struct ctx c = { NULL, 0, true, NULL, NULL, 0 };
	struct bytes_writer w;
	int rc;

	bw_init(&w, NULL, room);
	if ((rc = proto_write_fields(&w, is, item, &c)) != 0)
		return rc;
	if (w.err)
		return -EMSGSIZE;
	if ((rc = proto_buf_reserve(b, w.len)) != 0)
		return rc;
	bw_init(&w, b->data + b->len, w.len);
	if ((rc = proto_write_fields(&w, is, item, &c)) != 0)
		return rc;
	b->len += w.len;
	return 0;
}

static int
reply_add(struct proto_reply *rb, const struct schema *is, const void *item)
{
	const struct field *f = proto_items_field(rb->type);
	struct proto_buf *b = rb->buf;
	int rc;

	if (b == NULL || f == NULL || f->items != is)
		return -EINVAL;
	if (rb->count >= f->max)
		return -EMSGSIZE;
	/* against the room left in this frame */
	if ((rc = append_item(b, is, item, RAFTCONF_MAX_FRAME - (b->len - rb->start))) != 0)
		return rc;
	rb->count++;
	return 0;
}

int
proto_reply_add_entry(
    struct proto_reply *rb, struct proto_str key, uint64_t revision, struct proto_str value)
{
	struct proto_entry e = { key, revision, value };

	return reply_add(rb, &proto_entry_schema, &e);
}

int
proto_reply_add_pair(struct proto_reply *rb, struct proto_str name, struct proto_str value)
{
	struct proto_pair p = { name, value };

	return reply_add(rb, &proto_pair_schema, &p);
}

int
proto_reply_add_member(struct proto_reply *rb, const struct proto_member *m)
{
	return reply_add(rb, &proto_member_schema, m);
}

int
proto_reply_add_member_view(struct proto_reply *rb, const struct proto_member_view *m)
{
	return reply_add(rb, &proto_member_view_schema, m);
}

int
proto_reply_add_token(struct proto_reply *rb, const struct proto_token *t)
{
	return reply_add(rb, &proto_token_schema, t);
}

static int
reply_finish(struct proto_reply *rb, uint8_t flags, uint64_t revision)
{
	const struct field *ff;
	size_t count_at;
	uint8_t *f;

	if (rb->buf == NULL)
		return -EINVAL;
	count_at = HDR + 8 + reply_prefix(rb->type, &ff);
	if (ff == NULL ? flags != 0 : (flags & ~ff->max) != 0)
		return -EINVAL;
	if (rb->type != PROTO_T_TXN_REPLY && rb->type != PROTO_T_EVENTS && revision != 0)
		return -EINVAL;
	if (rb->type == PROTO_T_TXN_REPLY && (flags & PROTO_F_REPLAYED) && rb->count != 0)
		return -EINVAL;
	f = rb->buf->data + rb->start;
	if (ff != NULL)
		f[HDR + 8] = flags;
	if (rb->type == PROTO_T_TXN_REPLY || rb->type == PROTO_T_EVENTS)
		put_be64(f + HDR + 9, revision);
	put_be32(f + count_at, rb->count);
	proto_seal(f, rb->buf->len - rb->start);
	rb->buf = NULL;
	return 0;
}

int
proto_reply_add_kv(struct proto_reply *rb, const struct proto_kv *kv)
{
	return reply_add(rb, &proto_kv_schema, kv);
}

int
proto_reply_end(struct proto_reply *rb, uint8_t flags)
{
	return reply_finish(rb, flags, 0);
}

int
proto_reply_add_change(struct proto_reply *rb, const struct proto_change *ch)
{
	return reply_add(rb, &proto_change_schema, ch);
}

int
proto_reply_add_member_status(struct proto_reply *rb, const struct proto_member_status *ms)
{
	if (proto_member_status_check(ms) < 0)
		return -EINVAL;
	return reply_add(rb, &proto_member_status_schema, ms);
}

int
proto_reply_end_txn(struct proto_reply *rb, uint8_t flags, uint64_t revision)
{
	if (rb->type != PROTO_T_TXN_REPLY && rb->type != PROTO_T_EVENTS)
		return -EINVAL;
	return reply_finish(rb, flags, revision);
}

void
proto_reply_abort(struct proto_reply *rb)
{
	if (rb->buf != NULL)
		rb->buf->len = rb->start;
	rb->buf = NULL;
}

static int
items_add(struct proto_buf *b, uint32_t *count, const struct schema *is, const void *item)
{
	int rc;

	if (*count >= RAFTCONF_MAX_TXN_OPS)
		return -E2BIG;
	if ((rc = append_item(b, is, item, RAFTCONF_MAX_FRAME)) != 0)
		return rc;
	(*count)++;
	return 0;
}

int
proto_txn_add_compare(struct proto_buf *b, uint32_t *count, const struct proto_compare *c)
{
	return items_add(b, count, &proto_compare_schema, c);
}

int
proto_txn_add_op(struct proto_buf *b, uint32_t *count, const struct proto_op *o)
{
	return items_add(b, count, &proto_op_schema, o);
}

bool
proto_txn_writes(const struct proto_msg *m)
{
	union proto_item item;
	struct proto_iter it;

	for (int which = PROTO_TXN_THEN; which <= PROTO_TXN_ELSE; which++) {
		if (proto_iter_txn(&it, m, which) < 0)
			return true;
		while (proto_iter_next(&it, &item) == 1)
			if (item.op.kind != PROTO_OP_GET)
				return true;
	}
	return false;
}
