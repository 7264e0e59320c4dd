/*
 * wal_record.c — the wal's records and file names: encoding each record
 * type, checking that a record is whole (length and crc32c), the sync mark
 * that starts the bytes of one sync, and making and parsing the names of a
 * wal directory's files.  The layout is the contract in wal.h.
 *
 * Not here: any I/O (the callers hold the bytes), what a record means when
 * the log is read back (wal_replay.c), and the segment header.  This file
 * calls no other file of the wal.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "crc32c.h"
#include "wal_record.h"

/* ------------------------------------------------------------ encoding */

static size_t
rec_put(uint8_t *p, uint8_t type, const uint8_t *payload, size_t plen)
{
	p[REC_HDR] = type;
	memcpy(p + REC_HDR + 1, payload, plen);
	put_le32(p, (uint32_t)(plen + 1));
	put_le32(p + 4, crc32c(0, p + REC_HDR, plen + 1));
	return REC_HDR + 1 + plen;
}

/* Laid out in place, not through rec_put: its payload is fields, then data. */
size_t
wal_rec_entry(uint8_t *p, const struct wal_entry *e)
{
	size_t len = 1 + ENTRY_FIXED + e->len;

	put_le32(p, (uint32_t)len);
	p[REC_HDR] = REC_ENTRY;
	put_le64(p + REC_HDR + 1, e->index);
	put_le64(p + REC_HDR + 9, e->term);
	p[REC_HDR + 17] = e->type;
	if (e->len > 0)
		memcpy(p + WAL_ENTRY_OVERHEAD, e->data, e->len);
	put_le32(p + 4, crc32c(0, p + REC_HDR, len));
	return REC_HDR + len;
}

size_t
wal_rec_hardstate(uint8_t *p, const struct wal_hardstate *hs)
{
	uint8_t pl[HARDSTATE_BYTES];

	put_le64(pl, hs->term);
	put_le64(pl + 8, hs->vote);
	put_le64(pl + 16, hs->commit);
	return rec_put(p, REC_HARDSTATE, pl, sizeof(pl));
}

size_t
wal_rec_snapshot(uint8_t *p, uint64_t index, uint64_t term, uint8_t flags)
{
	uint8_t pl[SNAPSHOT_BYTES];

	put_le64(pl, index);
	put_le64(pl + 8, term);
	pl[16] = flags;
	return rec_put(p, REC_SNAPSHOT, pl, sizeof(pl));
}

size_t
wal_rec_catch_up(uint8_t *p, uint64_t index)
{
	uint8_t pl[CATCH_UP_BYTES];

	put_le64(pl, index);
	return rec_put(p, REC_CATCH_UP, pl, sizeof(pl));
}

void
wal_rec_sync_mark(uint8_t *p, uint64_t off)
{
	uint8_t pl[8];

	put_le64(pl, off);
	rec_put(p, REC_SYNC, pl, sizeof(pl));
}

/* ------------------------------------------------------------ checking */

const char *
wal_rec_check(const uint8_t *b, size_t size, size_t off, size_t *total)
{
	uint32_t len, crc;

	if (size - off < REC_HDR)
		return "record header cut short";
	len = get_le32(b + off);
	crc = get_le32(b + off + 4);
	if (len == 0 && crc == 0)
		return "zero bytes";
	if (len == 0 || len > WAL_MAX_RECORD)
		return "impossible record length";
	if (len > size - off - REC_HDR)
		return "record cut short";
	if (crc32c(0, b + off + REC_HDR, len) != crc)
		return "checksum mismatch";
	*total = REC_HDR + (size_t)len;
	return NULL;
}

bool
wal_rec_is_sync_mark(const uint8_t *b, size_t size, size_t off)
{
	size_t total;

	return wal_rec_check(b, size, off, &total) == NULL && total == SYNC_MARK_BYTES &&
	    b[off + REC_HDR] == REC_SYNC && get_le64(b + off + REC_HDR + 1) == off;
}

/* ------------------------------------------------------------ file names */

static bool
parse_hex16(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < 16; i++) {
		char c = s[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return true;
}

void
wal_seg_name(char *buf, size_t len, uint64_t seq, uint64_t first, bool tmp)
{
	snprintf(buf, len, "%016" PRIx64 "-%016" PRIx64 ".wal%s", seq, first, tmp ? ".tmp" : "");
}

enum wal_name_kind
wal_seg_name_parse(const char *name, uint64_t *seq, uint64_t *first)
{
	size_t len = strlen(name);
	enum wal_name_kind kind;

	if (strcmp(name, SPARE_NAME) == 0)
		return WAL_NAME_LEFTOVER;
	if (len == SEG_NAME_LEN)
		kind = WAL_NAME_SEGMENT;
	else if (len == SEG_NAME_LEN + 4 && strcmp(name + SEG_NAME_LEN, ".tmp") == 0)
		kind = WAL_NAME_LEFTOVER;
	else
		return WAL_NAME_OTHER;
	if (name[16] != '-' || strncmp(name + 33, ".wal", 4) != 0 || !parse_hex16(name, seq) ||
	    !parse_hex16(name + 17, first))
		return WAL_NAME_OTHER;
	return kind;
}
