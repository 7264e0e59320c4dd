/*
 * wal.h — the durable Raft log and hard state of one node.
 *
 * What it promises
 *   Everything handed to wal_append, wal_set_hardstate and wal_snapshot is
 *   durable once a later wal_sync has returned 0, and wal_open gives it back
 *   after a crash or restart, in the order it was written.  One wal_sync is
 *   exactly one fdatasync(2) of the current segment, whatever the number of
 *   appends since the last one (group commit); wal_append itself never syncs.
 *
 * What it is not
 *   It keeps no copy of the log for reading: the node keeps the in-memory log
 *   and the wal only stores and replays.  It knows nothing of Raft messages,
 *   of the network or of libevent, and it does not interpret entry data.
 *
 * Blocking and threads
 *   wal_open starts one thread of its own that does the writing and the
 *   fdatasync of a sync (and makes the next segment ahead of need), so that
 *   an event loop can go on while the disk works: wal_sync_start hands
 *   everything appended so far to it and returns at once; wal_sync_fd becomes
 *   readable when that sync is done, and wal_sync_collect takes its result.
 *   While a sync is out the caller may go on appending (into a fresh buffer:
 *   group commit is whatever arrives meanwhile).  wal_sync waits for the
 *   one out and syncs the rest; wal_open and wal_close block on file I/O.
 *   wal_append never does I/O while a sync is out, otherwise a write(2) to
 *   the page cache once its buffer holds 1 MiB.  A struct wal is otherwise
 *   not thread-safe: call it from one thread.
 *
 * Errors
 *   Functions return 0 or a negative errno.  -EINVAL means the caller broke
 *   the contract (an index out of order, ...); nothing was written.  Any I/O
 *   error while writing or syncing is sticky: after it every further call
 *   returns the same error, because the kernel may have dropped the dirty
 *   pages (a failed fsync cannot be retried); close the wal and reopen it,
 *   which replays what really reached the disk.  Except running out of
 *   space while writing (-ENOSPC, -EDQUOT from a write, never from an
 *   fdatasync): nothing of that write counts as written, everything stays
 *   buffered, the error is not sticky, and the next sync (wal_sync_start,
 *   wal_sync) writes it all again; wal_append keeps buffering meanwhile.
 *   When the next segment cannot be made for want of space the current one
 *   grows past its size until it can (the sync that filled it succeeded).
 *
 * On-disk format (all integers little-endian)
 *   The directory holds segment files named "%016llx-%016llx.wal": the
 *   segment's sequence number (consecutive, from 0) and the log index that
 *   was expected next when the segment was created (a hint for humans; replay
 *   does not rely on it).  A segment is
 *
 *	header	"RCWAL\0\0\0", u32 version (2), u64 seq, u64 first_index,
 *		u32 crc32c of the 28 bytes before it            (32 bytes)
 *	records	u32 len, u32 crc, u8 type, payload[len - 1]
 *	zeros	up to the segment size (version 2)
 *
 *   len counts the type byte and the payload (1 <= len <= WAL_MAX_RECORD);
 *   crc is crc32c (see crc32c.h) of those len bytes, not chained: every
 *   record checks on its own, and a damaged length is caught because the crc
 *   then covers the wrong bytes.  Record types:
 *
 *	1 ENTRY      u64 index, u64 term, u8 entry type, data[len - 18]
 *	2 HARDSTATE  u64 term, u64 vote, u64 commit
 *	3 SNAPSHOT   u64 index, u64 term, u8 flags (bit 0: the log was discarded)
 *	128 SYNC     u64 its own offset in the segment: the bytes of one sync
 *	             start here (version 2): everything written from here to
 *	             the next fdatasync, one write or several (a full append
 *	             buffer written early joins the sync that follows; it
 *	             gets no mark of its own)
 *	129 CATCH_UP u64 index: the node lost log entries up to it and is
 *	             catching up (wal_set_catch_up); 0: it caught up.  The
 *	             last one wins.  Optional: an older reader skips it (and
 *	             with it the rule it carries)
 *	130..255     optional records a later version may add; skipped on replay
 *
 *   Any other type is an error on replay.  Version 2 segments are
 *   preallocated: made full size, zero-filled and synced before use (as
 *   "prealloc.tmp", ahead of need), so that a sync overwrites blocks that
 *   exist and commits no metadata.  Eight zero bytes where a record header
 *   would be end the records.  The last record may cross the segment size
 *   (the file grows).  Version 1 segments (no zeros: the file ends with the
 *   last record) are still read, and appended to if last.  A new segment
 *   gets its header, the current HARDSTATE, the current SNAPSHOT marker and
 *   the current CATCH_UP index (when not 0) written over the spare's first
 *   bytes, synced, renamed into place and the directory synced: a segment
 *   file is never seen half made, and deleting older segments never loses
 *   the hard state, the snapshot marker or the catch-up index.
 *
 * Replay (wal_open)
 *   Segments are read in sequence order.  An ENTRY whose index is at or below
 *   the last one read replaces the log from that index on (that is how a Raft
 *   truncation is stored); an ENTRY above last + 1 is a gap, an error.  The
 *   last HARDSTATE wins.  A SNAPSHOT marker with bit 0 set drops the whole
 *   log (see wal_snapshot); without it the log agreed with the snapshot, and
 *   the entries up to its index stay: they are the margin kept for slow
 *   followers (what wal_compact did not delete), handed back in
 *   wal_recovered.  At the end the log must start at or before the entry
 *   after the snapshot index, and reach the snapshot index.
 *
 *   Only the tail of the last segment may be damaged: what a crash left
 *   of a sync that never returned, so was never acknowledged.  In version
 *   1 that is a last record cut short, failing its crc, or followed by zero
 *   bytes; any record that checks after the damage makes it an error.  In
 *   version 2 a sync writes in place and a crash may leave any of its pages
 *   on disk and not the others, so records that check may follow the damage
 *   (a bad record, or zeros where a header should be with bytes after
 *   them); but a sync starts only after the one before returned, and a
 *   mark is written only at the first write after an fdatasync, so a SYNC
 *   mark after the damage makes it an error: the damage is in data a
 *   completed sync made durable.  The tail is cut off (version 1:
 *   ftruncate; version 2: overwritten with zeros; then fsync) and reported
 *   in wal_recovered.  Damage anywhere else — in an earlier segment, or as
 *   above — a bad segment header, or a missing segment is an error:
 *   wal_open fails with -EBADMSG, names the file and offset, and changes
 *   nothing on disk.  Limitations: damage inside the last sync of the wal
 *   (after it returned) cannot be told from a torn write and is cut off;
 *   and a record's data may itself contain bytes that form a valid record
 *   or mark, so open may err on the side of refusing.
 */
#ifndef RAFTCONF_WAL_H
#define RAFTCONF_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default segment size: preallocated, and where a sync starts a new one. */
#define WAL_SEGMENT_BYTES (1024ull * 1024)
/*
 * Largest record (type byte + payload); an entry's data may be at most
 * WAL_MAX_ENTRY_DATA bytes.  Far above the largest command (a key plus a
 * RAFTCONF_MAX_VALUE value) or membership blob.
 */
#define WAL_MAX_RECORD	   (16u * 1024 * 1024)
#define WAL_MAX_ENTRY_DATA (WAL_MAX_RECORD - 18)

/* Size of the segment header, for tests and tools. */
#define WAL_HEADER_BYTES 32
/* Bytes before an entry's data in its record: len, crc, type, index, term, entry type. */
#define WAL_ENTRY_OVERHEAD 26

struct wal;

/* One log entry.  The wal never keeps a pointer to data after a call returns. */
struct wal_entry {
	uint64_t index;
	uint64_t term;
	uint8_t type; /* opaque to the wal */
	uint32_t len;
	uint8_t *data; /* len bytes; may be NULL when len is 0 */
};

/* Raft's persistent state besides the log (Figure 2: currentTerm, votedFor). */
struct wal_hardstate {
	uint64_t term;
	uint64_t vote; /* 0: voted for nobody this term */
	uint64_t commit;
};

/*
 * What wal_open read back.  entries[i].index == entries[0].index + i, and
 * entries[0].index <= snap_index + 1: entries at or below snap_index are the
 * margin kept below the snapshot (they agree with it).  The
 * array and every entries[i].data are malloc'd and owned by the caller, who
 * may take a data pointer (and set it to NULL) before wal_recovered_free().
 */
struct wal_recovered {
	struct wal_hardstate hs;
	uint64_t snap_index;
	uint64_t snap_term;
	uint64_t catch_up_to; /* wal_set_catch_up's last index; 0: none */
	struct wal_entry *entries;
	size_t nentries;
	bool truncated_tail; /* a torn tail was cut off; see message */
	char message[512];   /* human-readable, for the log; "" when clean */
};

/* Counters, for tests and metrics. */
struct wal_stats {
	uint64_t entries;	   /* entries appended since open */
	uint64_t bytes;		   /* bytes written to segments since open */
	uint64_t writes;	   /* write(2) calls on segments */
	uint64_t syncs;		   /* fdatasync(2) calls made by wal_sync */
	uint64_t segments_created; /* since open, including the first of a new wal */
	/* writes, bytes, syncs, segments_created and segments are updated when
	 * a sync is collected (or wal_append writes a full buffer) */
	uint64_t segments_deleted; /* by wal_compact */
	size_t segments;	   /* segment files now */
};

/*
 * Open (creating it if missing, with mode 0700; its parent must exist) the
 * wal directory dir — normally "<data_dir>/wal" — replay it into *rec and
 * return the wal ready for appending in *out.  The directory is locked
 * (flock) against a second process: -EBUSY.  On failure *out is NULL, *rec is
 * empty, err says why (file and offset for damage), and nothing on disk was
 * changed.
 */
int wal_open(
    const char *dir, struct wal **out, struct wal_recovered *rec, char *err, size_t errlen);

/* Frees what wal_open returned in rec; rec is left empty.  NULL-safe. */
void wal_recovered_free(struct wal_recovered *rec);

/*
 * Append n entries (buffered; durable after wal_sync).  Indexes must be
 * consecutive within the batch, and the first must lie in
 * [snapshot index + 1, last index + 1]: an index at or below the last one
 * replaces the log from that index on (Raft truncation, §5.3).  Data larger
 * than WAL_MAX_ENTRY_DATA is -EMSGSIZE.  On -EINVAL/-EMSGSIZE nothing is
 * appended.  Costs O(bytes): one copy into a reusable buffer, no allocation
 * once the buffer has grown to the batch size.
 */
int wal_append(struct wal *w, const struct wal_entry *entries, size_t n);

/* Record the hard state (buffered; durable after wal_sync).  No-op if unchanged. */
int wal_set_hardstate(struct wal *w, const struct wal_hardstate *hs);

/*
 * Write everything buffered and fdatasync the current segment: exactly one
 * fdatasync when anything was written since the last sync, none otherwise.
 * Then, if the segment has reached the segment size, start the next segment
 * (an fdatasync of the spare and one of the directory).  Waits for a sync
 * that is out first.  Blocks for all of it.
 */
int wal_sync(struct wal *w);

/*
 * The same, without waiting: hand everything appended so far to the sync
 * thread.  -EBUSY if a sync is out already (one at a time; collect it
 * first).  Every call is numbered: what is appended before the call that
 * gets number wal_sync_next() is durable once wal_sync_done() reaches that
 * number.  A call with nothing to sync is done at once.
 */
int wal_sync_start(struct wal *w);
/* An eventfd that is readable once the sync out is done. */
int wal_sync_fd(const struct wal *w);
/*
 * Take the result of the sync out: 1 if it was done and is collected now
 * (wal_sync_done() moved), 0 if it is still running or none is out, or its
 * error (sticky, as for wal_sync).  A sync that failed is never counted
 * done: what it held may not be on disk.  Never blocks.
 */
int wal_sync_collect(struct wal *w);
bool wal_sync_busy(const struct wal *w);
uint64_t wal_sync_next(const struct wal *w);
uint64_t wal_sync_done(const struct wal *w);

/*
 * Record that this node lost log entries up to index (they may have been
 * acknowledged: raft_init.catch_up_to), or with 0 that it has caught up
 * (buffered; durable after wal_sync, in order with what was appended
 * before).  Carried into every new segment as the hard state is, so
 * compaction never loses it; wal_open gives back the last one in
 * rec->catch_up_to.  No-op if unchanged.
 */
int wal_set_catch_up(struct wal *w, uint64_t index);
/* The catch-up index last recorded (0 if none). */
uint64_t wal_catch_up_to(const struct wal *w);

/*
 * Record that a snapshot covers the log up to index (buffered; durable after
 * wal_sync).  The Raft rule for keeping the log applies (§7, Figure 13 step
 * 6): if the log holds entry index with this term, the entries after it are
 * kept and the ones up to it dropped; otherwise the whole log is dropped and
 * the next append must be index + 1.  An index below the current snapshot
 * index, or the same index with another term, is -EINVAL; the same
 * (index, term) again is a no-op.
 *
 * Order for the caller: write and fsync the snapshot file first, then
 * wal_snapshot, a sync (wal_sync, or one started after it and completed),
 * then wal_compact.
 */
int wal_snapshot(struct wal *w, uint64_t index, uint64_t term);

/*
 * Delete whole segments, oldest first, whose entries all have an index
 * below keep_from; never the current segment.  keep_from may not exceed
 * snapshot index + 1 (-EINVAL): the deleted entries must be covered by the
 * snapshot, and its marker must be durable already (a completed sync
 * carried it): -EAGAIN if not, so that the entries it covers never
 * disappear first.  The segments leave the wal's view at once; their files
 * are deleted on a thread of fsutil.h's (fs_unlink_async), each unlink
 * followed by an fsync of the directory, so a crash leaves a contiguous
 * sequence.  Does no I/O on the caller's thread.  Errors here are not sticky.
 */
int wal_compact(struct wal *w, uint64_t keep_from);

/*
 * Write out the buffer (best effort, no fdatasync: call wal_sync first for
 * a clean stop) and free everything.  NULL-safe.
 */
void wal_close(struct wal *w);

/* Index of the last entry, or the snapshot index when the log is empty. */
uint64_t wal_last_index(const struct wal *w);
/* The snapshot index and term last recorded (0, 0 if none). */
uint64_t wal_snapshot_index(const struct wal *w);
uint64_t wal_snapshot_term(const struct wal *w);

/* Size at which wal_sync rotates; default WAL_SEGMENT_BYTES.  Tests use small ones. */
void wal_set_segment_bytes(struct wal *w, uint64_t bytes);

const struct wal_stats *wal_stats(const struct wal *w);

/*
 * After a failure (any call returned an error, which stays: the wal takes
 * nothing more): which operation failed on which file, as "fdatasync of
 * DIR/SEGMENT", or the WAL's directory when no file is known.  Fills buf.
 */
void wal_strerror(const struct wal *w, char *buf, size_t len);

/* A sticky error happened: the wal takes nothing more.  An error while
 * this is false was running out of space, and the next sync tries again. */
bool wal_broken(const struct wal *w);

#endif
