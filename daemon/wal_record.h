/*
 * wal_record.h — the bytes of a wal on disk, as the wal's own files write
 * and check them: the record layout (wal.h, "On-disk format", is the
 * contract), encoding and checking one record, the sync mark, and the
 * names of the files in a wal directory.
 *
 * Not a contract for anyone outside daemon/wal*.c.  Not here: the segment
 * header (written by wal_sync.c, checked by wal_replay.c) and what a
 * record means to the log (wal_replay.c).
 */
#ifndef RAFTCONF_WAL_RECORD_H
#define RAFTCONF_WAL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wal.h"

#define WAL_MAGIC	"RCWAL\0\0\0"
#define WAL_VERSION	2 /* written; 1 (not preallocated) is still read */

#define REC_HDR		8 /* u32 len, u32 crc */
#define REC_ENTRY	1
#define REC_HARDSTATE	2
#define REC_SNAPSHOT	3
#define REC_OPTIONAL	128 /* types from here on may be skipped */
#define REC_SYNC	128 /* u64 own offset: a sync's writes start here */
#define REC_CATCH_UP	129 /* u64 index: see wal_set_catch_up */
#define SYNC_MARK_BYTES (REC_HDR + 1 + 8)

#define ENTRY_FIXED	17 /* index, term, entry type */
#define HARDSTATE_BYTES 24
#define SNAPSHOT_BYTES	17
#define CATCH_UP_BYTES	8
#define SNAP_DISCARDED	0x01

#define SEG_NAME_LEN	37 /* 16 hex, '-', 16 hex, ".wal" */
#define SEG_NAME_SIZE	(SEG_NAME_LEN + sizeof(".tmp"))
/* The next segment, preallocated ahead of need; a leftover is removed at open. */
#define SPARE_NAME "prealloc.tmp"

/*
 * Encode a record at p (room for it is the caller's: WAL_ENTRY_OVERHEAD +
 * e->len for an entry); its total size.  An entry's data must fit
 * WAL_MAX_ENTRY_DATA, which is the caller's to check.
 */
size_t wal_rec_entry(uint8_t *p, const struct wal_entry *e);
size_t wal_rec_hardstate(uint8_t *p, const struct wal_hardstate *hs);
size_t wal_rec_snapshot(uint8_t *p, uint64_t index, uint64_t term, uint8_t flags);
size_t wal_rec_catch_up(uint8_t *p, uint64_t index);
/* The mark that starts the bytes of one sync, at offset off of its segment. */
void wal_rec_sync_mark(uint8_t *p, uint64_t off);

/*
 * Does a record that checks (length and crc) start at b[off], off < size?
 * NULL and its total size in *total if so, otherwise what is wrong with it.
 */
const char *wal_rec_check(const uint8_t *b, size_t size, size_t off, size_t *total);
/* Is there a valid sync mark at b[off] (one that names off as its place)? */
bool wal_rec_is_sync_mark(const uint8_t *b, size_t size, size_t off);

/* The name of segment seq, or of its ".tmp" when tmp; len >= SEG_NAME_SIZE. */
void wal_seg_name(char *buf, size_t len, uint64_t seq, uint64_t first, bool tmp);

enum wal_name_kind {
	WAL_NAME_OTHER,	   /* not the wal's */
	WAL_NAME_SEGMENT,  /* a segment: *seq and *first are set */
	WAL_NAME_LEFTOVER, /* a "NAME.tmp" or the spare, to be removed */
};
enum wal_name_kind wal_seg_name_parse(const char *name, uint64_t *seq, uint64_t *first);

#endif
