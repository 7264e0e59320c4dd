/*
 * proto.c — the wire codec shared by raftconfd and raftconfctl: frames (the
 * header, the checksum, proto_encode() and proto_decode()), the buffers
 * they are built in, and the names of types, errors and health.
 *
 * Every message is described once, as a table of fields (the schemas, in
 * proto_schema.c); one bounds-checked reader and one bounds-checked writer
 * walk those tables (proto_fields.c), so the encoder and the decoder cannot
 * disagree about a layout, and every length is checked in one place against
 * the bytes present and the field's limit.  The decoder never allocates: it
 * returns views into the frame.
 *
 * What it is not: no I/O, no buffering of partial frames (the caller's stream
 * reader does that with proto_frame_check()), no policy (whether a peer's
 * cluster name or version is acceptable is the peer module's call), and no
 * codec for the Raft messages themselves (RAFT frames carry them opaquely).
 * Replies built item by item, and the walk of a decoded message's items, are
 * proto_build.c's; the tables' types the codec's files share are in
 * proto_schema.h.
 */
#include <errno.h>
#include <inttypes.h>
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

/* ------------------------------------------------------------ decoding */

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
		return proto_fail(&c, -EINVAL, NULL, "no frame (NULL) of %zu bytes", len);
	if (len < HDR)
		return proto_fail(&c, -EPROTO, NULL,
		    "frame is %zu bytes, shorter than the %d-byte "
		    "header",
		    len, HDR);
	flen = get_be32(frame);
	if (flen < HDR)
		return proto_fail(&c, -EPROTO, NULL,
		    "frame length %" PRIu32 " is below the %d-byte "
		    "header",
		    flen, HDR);
	if (flen > RAFTCONF_MAX_FRAME)
		return proto_fail(&c, -EMSGSIZE, NULL,
		    "frame length %" PRIu32 " is over the limit of %d "
		    "bytes",
		    flen, RAFTCONF_MAX_FRAME);
	if (flen != len)
		return proto_fail(&c, -EPROTO, NULL,
		    "frame length field says %" PRIu32 " bytes, the "
		    "frame is %zu",
		    flen, len);
	if (frame[4] != PROTO_VERSION)
		return proto_fail(
		    &c, -EPROTO, NULL, "protocol version %u, expected %d", frame[4], PROTO_VERSION);
	if ((s = proto_schema_of(frame[5])) == NULL)
		return proto_fail(&c, -EPROTO, NULL, "unknown message type 0x%02x", frame[5]);
	c.msg = s->name;
	if (get_be16(frame + 6) != 0)
		return proto_fail(
		    &c, -EPROTO, NULL, "header flags 0x%04x are not zero", get_be16(frame + 6));
	want = get_be32(frame + 8);
	if ((crc = proto_crc32c(0, frame + HDR, len - HDR)) != want)
		return proto_fail(&c, -EPROTO, NULL,
		    "body checksum 0x%08" PRIx32 " does not match the "
		    "header's 0x%08" PRIx32,
		    crc, want);
	out->type = frame[5];

	br_init(&r, frame + HDR, len - HDR);
	if (s->has_id) {
		out->id = br_be64(&r);
		if (r.err)
			return proto_fail(&c, -EPROTO, NULL,
			    "request id is truncated: 8 bytes needed, "
			    "%zu left",
			    proto_unread(&r));
	}
	if ((rc = proto_read_fields(&r, s, out, &c)) != 0)
		return rc;
	if (br_left(&r) != 0)
		return proto_fail(
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
		return proto_fail(&c, -EINVAL, NULL, "unknown message type 0x%02x", m->type);
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
		return proto_fail(&c, -EMSGSIZE, NULL, "frame would be over the limit of %d bytes",
		    RAFTCONF_MAX_FRAME);
	flen = HDR + w.len;
	if ((rc = proto_buf_reserve(b, flen)) != 0)
		return proto_fail(&c, rc, NULL,
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
		return proto_fail(&c, -EINVAL, NULL,
		    "internal error: %zu of %zu body bytes written", w.len, flen - HDR);
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
		if (!proto_id_byte((uint8_t)id[i]))
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
		[PROTO_E_BUSY] = "busy",
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
