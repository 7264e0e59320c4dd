/*
 * bytes.h — integers in byte buffers, and the one bounds-checked reader and
 * writer every codec of the tree uses.
 *
 * Byte orders: the on-disk formats (wal, store, snapshots, the log's
 * membership entries) are little-endian; the wire formats (proto frames,
 * Raft messages) are big-endian.  Both sets live here and nowhere else.
 *
 * The reader never reads past its buffer: a read that would sets err,
 * returns 0 (NULL for br_mem) and consumes nothing, and once err is set
 * every later read does the same, so a decoder may read a whole fixed
 * layout and check err once at the end.  The writer is its mirror: a write
 * that would pass cap sets err and writes nothing; with p == NULL it only
 * counts, which is how an encoder sizes (and validates) what it will write
 * before it allocates.
 *
 * What it is not: no allocation, no I/O, no error messages; the codecs
 * built on it say what was wrong.  Header only, so that the Raft core and
 * the wire codec (also built into raftconfctl and the fuzzer) take it
 * without linking anything.
 */
#ifndef RAFTCONF_BYTES_H
#define RAFTCONF_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The value of one hexadecimal digit, either case; -1 for any other byte
 * (percent-decoding in HTTP and raftconfctl txn, \u escapes in JSON). */
static inline int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ------------------------------------------------------------ little-endian */

static inline void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t
get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* ------------------------------------------------------------ big-endian */

static inline void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static inline uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | (uint64_t)get_be32(p + 4);
}

/* ------------------------------------------------------------ reader */

struct bytes_reader {
	const uint8_t *p; /* the buffer, len bytes */
	size_t len;
	size_t off; /* bytes consumed */
	bool err;   /* a read went past the end */
};

static inline void
br_init(struct bytes_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p != NULL ? len : 0;
	r->off = 0;
	r->err = false;
}

/* Bytes left to read; 0 once err is set. */
static inline size_t
br_left(const struct bytes_reader *r)
{
	return r->err ? 0 : r->len - r->off;
}

/*
 * n bytes in place, or NULL (err set) when fewer are left.  n == 0 gives
 * the current position (NULL only for a NULL buffer).
 */
static inline const uint8_t *
br_mem(struct bytes_reader *r, size_t n)
{
	const uint8_t *q;

	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	q = r->p != NULL ? r->p + r->off : NULL;
	r->off += n;
	return q;
}

/* Copy n bytes out; false (err set, dst untouched) when fewer are left. */
static inline bool
br_copy(struct bytes_reader *r, void *dst, size_t n)
{
	const uint8_t *q = br_mem(r, n);

	if (r->err)
		return false;
	if (n > 0)
		memcpy(dst, q, n);
	return true;
}

static inline uint8_t
br_u8(struct bytes_reader *r)
{
	const uint8_t *q = br_mem(r, 1);

	return q != NULL ? q[0] : 0;
}

static inline uint16_t
br_le16(struct bytes_reader *r)
{
	const uint8_t *q = br_mem(r, 2);

	return q != NULL ? get_le16(q) : 0;
}

static inline uint32_t
br_le32(struct bytes_reader *r)
{
	const uint8_t *q = br_mem(r, 4);

	return q != NULL ? get_le32(q) : 0;
}

static inline uint64_t
br_le64(struct bytes_reader *r)
{
	const uint8_t *q = br_mem(r, 8);

	return q != NULL ? get_le64(q) : 0;
}

static inline uint16_t
br_be16(struct bytes_reader *r)
{
	const uint8_t *q = br_mem(r, 2);

	return q != NULL ? get_be16(q) : 0;
}

static inline uint32_t
br_be32(struct bytes_reader *r)
{
	const uint8_t *q = br_mem(r, 4);

	return q != NULL ? get_be32(q) : 0;
}

static inline uint64_t
br_be64(struct bytes_reader *r)
{
	const uint8_t *q = br_mem(r, 8);

	return q != NULL ? get_be64(q) : 0;
}

/* ------------------------------------------------------------ writer */

struct bytes_writer {
	uint8_t *p; /* NULL: count only */
	size_t len; /* bytes written (or counted) */
	size_t cap;
	bool err; /* a write would have passed cap */
};

static inline void
bw_init(struct bytes_writer *w, void *p, size_t cap)
{
	w->p = p;
	w->len = 0;
	w->cap = cap;
	w->err = false;
}

/* Room for n more bytes at the end, or NULL (err set).  Count only: NULL too. */
static inline uint8_t *
bw_room(struct bytes_writer *w, size_t n)
{
	uint8_t *q;

	if (w->err || n > w->cap - w->len) {
		w->err = true;
		return NULL;
	}
	q = w->p != NULL ? w->p + w->len : NULL;
	w->len += n;
	return q;
}

static inline void
bw_mem(struct bytes_writer *w, const void *src, size_t n)
{
	uint8_t *q = bw_room(w, n);

	if (q != NULL && n > 0)
		memcpy(q, src, n);
}

static inline void
bw_u8(struct bytes_writer *w, uint8_t v)
{
	uint8_t *q = bw_room(w, 1);

	if (q != NULL)
		q[0] = v;
}

static inline void
bw_le16(struct bytes_writer *w, uint16_t v)
{
	uint8_t *q = bw_room(w, 2);

	if (q != NULL)
		put_le16(q, v);
}

static inline void
bw_le32(struct bytes_writer *w, uint32_t v)
{
	uint8_t *q = bw_room(w, 4);

	if (q != NULL)
		put_le32(q, v);
}

static inline void
bw_le64(struct bytes_writer *w, uint64_t v)
{
	uint8_t *q = bw_room(w, 8);

	if (q != NULL)
		put_le64(q, v);
}

static inline void
bw_be16(struct bytes_writer *w, uint16_t v)
{
	uint8_t *q = bw_room(w, 2);

	if (q != NULL)
		put_be16(q, v);
}

static inline void
bw_be32(struct bytes_writer *w, uint32_t v)
{
	uint8_t *q = bw_room(w, 4);

	if (q != NULL)
		put_be32(q, v);
}

static inline void
bw_be64(struct bytes_writer *w, uint64_t v)
{
	uint8_t *q = bw_room(w, 8);

	if (q != NULL)
		put_be64(q, v);
}

#endif
