/*
 * store_grow.c — the store's file grown by a child process, while the
 * node holds it and reads it (driver: grow.c).
 *
 * tdb grows a file inside the transaction that needs the room, by a tenth
 * of the file at least: it writes the growth as zeros into the
 * transaction's memory, then into the file.  At 1 KiB values that made a
 * tick's commit on the node's loop 15-94 ms every second or two, what was
 * left of the 1 KiB tail (BENCHMARKS.md, sessions 22 and 23).  So a child
 * makes the room first: store_grow, in a transaction of its own, stores a
 * record larger than any free one (tdb must grow the file for it) and
 * deletes it, which leaves the growth as one free record.
 *
 * Two things tdb does would break the node's reads meanwhile; each is
 * kept from happening:
 *
 * - A commit that grew the file repacks the whole file (every record
 *   moved, in place) when its free records hold more than twice the
 *   largest.  The node, reading the file, then follows chains into
 *   records that moved.  The growth is made larger than all the free
 *   space already there, so the new free record is always more than half.
 *
 * - A reader that takes its first lock checks for a commit in progress
 *   (the recovery area's magic) and, finding one, "recovers" it: it writes
 *   the old blocks back under the child, which goes on committing.  The
 *   child takes no locks (TDB_NOLOCK, store_after_fork), so the node cannot
 *   wait for it; instead it holds one chain's read lock for as long as the
 *   child lives (store_guard): tdb checks only when a process holds no
 *   data lock.  Meanwhile it takes no other lock (TDB_NOLOCK, the guard
 *   staying on tdb's list: a walk by tdb's traverse locking every chain
 *   and record cost 45 times tdbscan's), no all-record lock (store_read.c
 *   and store_image.c skip theirs), and walks with tdb's traverse, not
 *   tdbscan, whose file must not change under it (store_pile.c).
 *
 * What the child changes and the node can read is left as it was: the
 * growth writes the free list's head, a chain's head (the record made and
 * deleted leaves it as it was), free records and the recovery area; tdb
 * commits whole 4 KiB blocks, whose other bytes the node, holding the file
 * (store_hold), does not change meanwhile.
 *
 * A child that dies in its commit leaves the recovery area's magic: the
 * first read after store_guard(false) rolls the commit back.  tdb's
 * recovery does not shorten the file, and what the growth wrote past the
 * old end stays: a free record in no free list, which tdb's next growth
 * merges into and loses again, without end (a node's memory filled in
 * seconds), and which tdb_check refuses.  store_grow_undo cuts the file
 * back to its size at the fork, after putting back the recovery area's
 * offset (a commit that outgrows the area moves it to the file's end and
 * writes the new offset into the header before it commits; the rollback
 * then clears it, and the old area is intact).  A growth that was
 * committed (the child died before it said so) is in the free list: kept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_state.h"
#include "tdbscan.h"
#include "tdbutil.h"

int
store_grow(struct store *s, uint64_t want, struct tdbscan_free *after)
{
	struct tdbscan_free f;
	uint64_t size;
	uint8_t *zeros;
	int r;

	memset(after, 0, sizeof(*after));
	if (s->tdb == NULL)
		return -EIO;
	if ((r = tdbscan_free(s->tdb, &f)) < 0)
		return r;
	*after = f;
	if (f.bytes >= want)
		return 0;
	/* tdb grows by twice a record of over 100 KiB (or a tenth of the
	 * file): the record is larger than any free one, so that it must
	 * grow, and than half of all that is free, so that the growth is
	 * more than that and tdb does not repack */
	size = (want - f.bytes) / 2;
	if (size < f.largest + 4096)
		size = f.largest + 4096;
	if (size < f.bytes / 2 + 65536)
		size = f.bytes / 2 + 65536;
	if (size > UINT32_MAX / 4)
		return -EFBIG;
	if ((zeros = calloc(1, size)) == NULL)
		return -ENOMEM;
	if (tdb_transaction_start(s->tdb) != 0) {
		free(zeros);
		return tdb_errno(s->tdb);
	}
	r = 0;
	if (tdb_store(s->tdb, tstr(STORE_GROW_KEY), tdata(zeros, size), TDB_INSERT) != 0 ||
	    tdb_delete(s->tdb, tstr(STORE_GROW_KEY)) != 0)
		r = tdb_errno(s->tdb);
	free(zeros);
	if ((r = store_txn_finish(s, r)) < 0)
		return r;
	/* the growth is one free record more (not walked again: a pass over
	 * the file costs more than the growth) */
	if (store_file_bytes(s, &size) < 0)
		return -EIO;
	if (size > f.file_bytes) {
		uint64_t grown = size - f.file_bytes - 24; /* less its record's header */

		after->bytes += grown;
		after->records++;
		if (grown > after->largest)
			after->largest = grown;
		after->file_bytes = size;
	}
	return 0;
}

void
store_guard_drop(struct store *s)
{
	tdb_remove_flags(s->tdb, TDB_NOLOCK); /* or tdb forgets nothing */
	tdb_chainunlock_read(s->tdb, tstr(STORE_GROW_KEY));
	tdb_add_flags(s->tdb, TDB_NOLOCK);
	s->guarded = false;
}

int
store_guard(struct store *s, bool on)
{
	if (s->tdb == NULL || s->guarded == on)
		return s->tdb == NULL ? -EIO : 0;
	/* the node takes no fcntl lock otherwise (store_unlocked): a real
	 * one, recorded on tdb's list, needs its locks on for the call */
	tdb_remove_flags(s->tdb, TDB_NOLOCK);
	if (on) {
		int r = 0;

		if (tdb_chainlock_read(s->tdb, tstr(STORE_GROW_KEY)) != 0)
			r = tdb_errno(s->tdb);
		/* the lock stays on tdb's list (no recovery check), and no other
		 * is taken meanwhile: a walk by tdb's traverse would otherwise
		 * lock every chain and record, 45 times tdbscan's cost */
		tdb_add_flags(s->tdb, TDB_NOLOCK);
		s->guarded = r == 0;
		return r;
	}
	store_guard_drop(s);
	/* a read that takes a lock: a commit the child left half done is
	 * rolled back now, before anything else reads or writes the file */
	tdb_remove_flags(s->tdb, TDB_NOLOCK);
	(void)tdb_exists(s->tdb, tstr(STORE_GROW_KEY));
	tdb_add_flags(s->tdb, TDB_NOLOCK);
	return 0;
}

/* tdb 1.4's header: the recovery area's offset (tdb_private.h,
 * recovery_start), and the magic of an area a commit is using. */
#define TDB_RECOVERY_HEAD_OFFSET 44
#define TDB_RECOVERY_MAGIC	 0xf53bc0e7U

static int
recovery_head(int fd, uint32_t *head)
{
	if (pread(fd, head, sizeof(*head), TDB_RECOVERY_HEAD_OFFSET) != (ssize_t)sizeof(*head))
		return -EIO;
	return 0;
}

int
store_grow_mark(struct store *s, struct store_grow_mark *m)
{
	struct stat st;
	int fd;

	if (s->tdb == NULL || (fd = tdb_fd(s->tdb)) < 0)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	m->size = (uint64_t)st.st_size;
	return recovery_head(fd, &m->recovery);
}

int
store_grow_undo(struct store *s, const struct store_grow_mark *m)
{
	uint32_t head, magic;
	struct stat st;
	int fd, r;

	/* store_guard(false) read the file with a lock: a commit the child
	 * left half done is rolled back (checked below) */
	if (s->tdb == NULL || s->guarded || (fd = tdb_fd(s->tdb)) < 0)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((r = recovery_head(fd, &head)) < 0)
		return r;
	if (head != 0 && (uint64_t)head + 24 <= (uint64_t)st.st_size &&
	    (pread(fd, &magic, sizeof(magic), (off_t)head + 20) != (ssize_t)sizeof(magic) ||
		magic == TDB_RECOVERY_MAGIC))
		return -EIO; /* the rollback did not happen */
	if ((uint64_t)st.st_size <= m->size)
		return 0; /* it grew nothing (moving the recovery area grows the file) */
	/* the commit landed (the child died before it said so): keep it */
	if ((r = tdbscan_free_past(s->tdb, m->size)) != 0)
		return r < 0 ? r : 1;
	/* What it wrote past the old end is the growth and perhaps a recovery
	 * area it moved there, whose offset it wrote into the header before
	 * its commit (and the rollback then cleared): the old area, which the
	 * rollback left as it was, is the file's again. */
	if (head != m->recovery &&
	    pwrite(fd, &m->recovery, sizeof(m->recovery), TDB_RECOVERY_HEAD_OFFSET) !=
		(ssize_t)sizeof(m->recovery))
		return -EIO;
	/* tdb's map may reach past the new end until its next transaction's
	 * start looks again; nothing reads there: every chain and the free
	 * list end before it */
	if (ftruncate(fd, (off_t)m->size) < 0)
		return -errno;
	return 0;
}
