/*
 * proto_schema.h — the schema tables' types and the one reader and writer
 * that walk them: private to the wire codec's files; the contract is
 * proto.h.  From the top down, a file calls only files below it:
 *
 *	proto_build.c	item lists built and walked with the same walkers, so
 *			an item appended to a reply is checked and laid out
 *			exactly as proto_encode() and proto_decode() would
 *	proto.c		frames: proto_encode(), proto_decode(), the header,
 *			the buffers (proto_buf_reserve, proto_put_header,
 *			proto_seal)
 *	proto_schema.c	the tables (proto_schema_of, the item schemas) and
 *			the rules across fields
 *	proto_fields.c	the reader and the writer of fields, their checks,
 *			their errors (proto_fail)
 *
 * What it is not: an interface for any other module.  Nothing here is a
 * promise; include proto.h instead.
 */
#ifndef RAFTCONF_PROTO_SCHEMA_H
#define RAFTCONF_PROTO_SCHEMA_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "proto.h"

enum fkind {
	FK_U8,
	FK_U16,
	FK_U64,
	FK_S16,	  /* u16 length + bytes -> struct proto_str */
	FK_S32,	  /* u32 length + bytes -> struct proto_str */
	FK_ITEMS, /* u32 count + items -> struct proto_items */
};

enum fcheck {
	FC_NONE,
	FC_MASK,   /* integer: no bits outside max */
	FC_RANGE,  /* integer: min..max */
	FC_MFLAGS, /* integer: member flags */
	FC_BYTES,  /* string: anything */
	FC_NONUL,  /* string: no NUL byte */
	FC_ID,	   /* string: [A-Za-z0-9_-] */
	FC_ADDR,   /* string: printable ASCII, no space */
};

struct schema;

struct field {
	const char *name;
	uint8_t kind;		    /* enum fkind */
	uint8_t check;		    /* enum fcheck */
	size_t off;		    /* in struct proto_msg or the item struct */
	uint32_t min, max;	    /* string length, integer range, item count */
	const struct schema *items; /* FK_ITEMS */
};

struct ctx;

struct schema {
	const char *name;
	bool has_id;
	const struct field *fields;
	size_t nfields;
	/* Rules across fields, after each field passed its own checks. */
	int (*post)(const struct proto_msg *m, struct ctx *c);
};

/* Where a walk is, for its error messages, and which way it goes. */
struct ctx {
	char *err;
	size_t errlen;
	bool encoding;	  /* bad content is -EINVAL, not -EPROTO */
	const char *msg;  /* "GET", or NULL while in the header */
	const char *item; /* "entry" while inside a list, else NULL */
	uint32_t index;
};

/* Bad content: the caller's mistake when encoding, the peer's when decoding. */
#define BAD(c) ((c)->encoding ? -EINVAL : -EPROTO)

/* Bytes there were when a read of r failed (it consumed nothing). */
static inline size_t
proto_unread(const struct bytes_reader *r)
{
	return r->len - r->off;
}

/* A byte an id may have (FC_ID, proto_valid_id): [A-Za-z0-9_-]. */
static inline bool
proto_id_byte(uint8_t b)
{
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
	    b == '_' || b == '-';
}

/* ------------------------------------------------------ proto_schema.c */

/* The items of list replies and TXNs, one schema per kind of item. */
extern const struct schema proto_entry_schema;
extern const struct schema proto_kv_schema;
extern const struct schema proto_compare_schema;
extern const struct schema proto_op_schema;
extern const struct schema proto_pair_schema;
extern const struct schema proto_member_schema;
extern const struct schema proto_member_view_schema;
extern const struct schema proto_token_schema;
extern const struct schema proto_change_schema;
extern const struct schema proto_member_status_schema;

/* A CLUSTER_STATUS_REPLY item's rule across its fields (exactly one of an
 * error and pairs): 0, or -1 when it breaks it. */
int proto_member_status_check(const struct proto_member_status *ms);

/* The schema of a message type, or NULL for an unknown type. */
const struct schema *proto_schema_of(uint8_t type);
/* The items field of a list reply type, or NULL for any other type. */
const struct field *proto_items_field(uint8_t type);

/* ------------------------------------------------------ proto_fields.c */

/*
 * Fill c's error buffer, if it has one, with what went wrong (fmt), after
 * where the walk is and the field f (NULL: none); returns rc.
 */
int proto_fail(struct ctx *c, int rc, const struct field *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The len bytes at p against f's check (FC_NONUL, FC_ID, FC_ADDR): 0, or
 * BAD(c) with c's error buffer filled. */
int proto_check_bytes(struct ctx *c, const struct field *f, const uint8_t *p, size_t len);

/* Read (and check) the fields of s from r into base; 0 or a negative errno,
 * with c's error buffer filled. */
int proto_read_fields(struct bytes_reader *r, const struct schema *s, void *base, struct ctx *c);
/* Check and write the fields of s at base; a writer without a buffer only
 * sizes.  0 or a negative errno, with c's error buffer filled. */
int proto_write_fields(
    struct bytes_writer *w, const struct schema *s, const void *base, struct ctx *c);

/* ------------------------------------------------------------- proto.c */

/* Room for need more bytes in b, within the frame limit: 0, -EMSGSIZE or
 * -ENOMEM. */
int proto_buf_reserve(struct proto_buf *b, size_t need);
/* A frame header at f, its crc left zero until proto_seal(). */
void proto_put_header(uint8_t *f, uint32_t len, uint8_t type);
/* The final length and the body's crc into the header of the len bytes at f. */
void proto_seal(uint8_t *f, size_t len);

#endif
