/*
 * proto_fields.c — the wire codec's one reader and one writer of fields: the
 * fields of a message or of an item walked by its schema (proto_schema.c),
 * each checked against its limits as it is read or written, and an error
 * message that says which field, of what, failed and why.
 *
 * Integers are big-endian on the wire.  The reader and the writer are the
 * ones of bytes.h: a read consumes nothing when its bytes are not there, and
 * a writer without a buffer only counts, which is how an encoder learns the
 * frame's size (and validates every field) before it touches the buffer.
 *
 * What it is not: no tables and no rules across fields (proto_schema.c), no
 * frame header or checksum (proto.c), no allocation: what it reads are
 * views into the caller's bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "bytes.h"
#include "errbuf.h"
#include "proto.h"
#include "proto_schema.h"

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

/* "LIST_REPLY entry 3: key is 1025 bytes, over the limit of 1024". */
int
proto_fail(struct ctx *c, int rc, const struct field *f, const char *fmt, ...)
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

static int
check_int(struct ctx *c, const struct field *f, uint64_t v)
{
	uint64_t role;

	switch (f->check) {
	case FC_MASK:
		if (v & ~(uint64_t)f->max)
			return proto_fail(c, BAD(c), f,
			    "has unknown bits 0x%02" PRIx64 " (known: 0x%02x)",
			    v & ~(uint64_t)f->max, (unsigned)f->max);
		break;
	case FC_RANGE:
		if (v < f->min || v > f->max)
			return proto_fail(c, BAD(c), f, "%" PRIu64 " is not in %u..%u", v,
			    (unsigned)f->min, (unsigned)f->max);
		break;
	case FC_MFLAGS:
		role = v & (PROTO_M_VOTER | PROTO_M_LEARNER);
		if (v &
		    ~(uint64_t)(PROTO_M_VOTER | PROTO_M_LEARNER | PROTO_M_SELF | PROTO_M_LEADER))
			return proto_fail(c, BAD(c), f, "0x%02" PRIx64 " has unknown bits", v);
		if (role != PROTO_M_VOTER && role != PROTO_M_LEARNER)
			return proto_fail(c, BAD(c), f,
			    "0x%02" PRIx64 " is not exactly one of voter "
			    "and learner",
			    v);
		if ((v & PROTO_M_LEADER) && role != PROTO_M_VOTER)
			return proto_fail(
			    c, BAD(c), f, "0x%02" PRIx64 " marks a learner as leader", v);
		break;
	}
	return 0;
}

/* Length limits: over the maximum is -E2BIG either way (PROTO_E_TOOBIG). */
static int
check_len(struct ctx *c, const struct field *f, size_t len)
{
	if (len > f->max)
		return proto_fail(
		    c, -E2BIG, f, "is %zu bytes, over the limit of %u", len, (unsigned)f->max);
	if (len < f->min && f->min == 1)
		return proto_fail(c, BAD(c), f, "is empty");
	if (len < f->min)
		return proto_fail(c, BAD(c), f, "is %zu bytes, %s %u", len,
		    f->min == f->max ? "expected" : "the least is", (unsigned)f->min);
	return 0;
}

int
proto_check_bytes(struct ctx *c, const struct field *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len && f->check != FC_BYTES; i++) {
		switch (f->check) {
		case FC_NONUL:
			if (p[i] == 0)
				return proto_fail(c, BAD(c), f, "has a NUL byte at offset %zu", i);
			break;
		case FC_ID:
			if (!proto_id_byte(p[i]))
				return proto_fail(c, BAD(c), f,
				    "has byte 0x%02x at offset %zu, outside "
				    "[A-Za-z0-9_-]",
				    p[i], i);
			break;
		case FC_ADDR:
			if (p[i] < 0x21 || p[i] > 0x7e)
				return proto_fail(c, BAD(c), f,
				    "has byte 0x%02x at offset %zu, not "
				    "printable ASCII",
				    p[i], i);
			break;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ decoding */

static int
truncated(struct ctx *c, const struct field *f, size_t need, size_t left)
{
	return proto_fail(c, BAD(c), f, "is truncated: %zu bytes needed, %zu left", need, left);
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
		return proto_fail(c, -E2BIG, f, "count %" PRIu32 " is over the limit of %u", count,
		    (unsigned)f->max);
	/* A clear error, before walking, for a count the bytes cannot hold. */
	least = (uint64_t)count * min_size(f->items);
	if (least > br_left(r))
		return proto_fail(c, BAD(c), f,
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
		return truncated(c, f, 4, proto_unread(r));
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
				return truncated(c, f, 1, proto_unread(r));
			if ((rc = check_int(c, f, v8)) != 0)
				return rc;
			*(uint8_t *)dst = v8;
			break;
		case FK_U16:
			v16 = br_be16(r);
			if (r->err)
				return truncated(c, f, 2, proto_unread(r));
			if ((rc = check_int(c, f, v16)) != 0)
				return rc;
			*(uint16_t *)dst = v16;
			break;
		case FK_U64:
			v64 = br_be64(r);
			if (r->err)
				return truncated(c, f, 8, proto_unread(r));
			if ((rc = check_int(c, f, v64)) != 0)
				return rc;
			*(uint64_t *)dst = v64;
			break;
		case FK_S16:
		case FK_S32:
			len = f->kind == FK_S16 ? br_be16(r) : br_be32(r);
			if (r->err)
				return truncated(c, f, f->kind == FK_S16 ? 2 : 4, proto_unread(r));
			/* The limit first: an oversize field is "too big", wherever it ends. */
			if (len > f->max)
				return check_len(c, f, len);
			p = br_mem(r, len);
			if (r->err)
				return proto_fail(c, BAD(c), f,
				    "is truncated: %" PRIu32 " bytes "
				    "announced, %zu left",
				    len, proto_unread(r));
			if ((rc = check_len(c, f, len)) != 0 ||
			    (rc = proto_check_bytes(c, f, p, len)) != 0)
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

/* ------------------------------------------------------------ encoding */

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
				return proto_fail(
				    c, -EINVAL, f, "is NULL with length %zu", str->len);
			if ((rc = check_len(c, f, str->len)) != 0 ||
			    (rc = proto_check_bytes(c, f, (const uint8_t *)str->ptr, str->len)) !=
				0)
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
				return proto_fail(
				    c, -EINVAL, f, "are NULL with length %zu", items->rawlen);
			br_init(&r, items->raw, items->rawlen);
			if ((rc = walk_items(&r, f, items->count, &again, c)) != 0)
				return rc;
			if (br_left(&r) != 0)
				return proto_fail(c, -EINVAL, f,
				    "have %zu bytes after the last item", br_left(&r));
			bw_be32(w, items->count);
			bw_mem(w, items->raw, items->rawlen);
			break;
		}
	}
	return 0;
}
