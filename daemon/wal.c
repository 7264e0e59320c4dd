/*
 * wal.c — the write-ahead log: Raft entries, hard state and snapshot
 * markers in checksummed, append-only segment files.
 *
 * The format and the replay rules are the contract in wal.h.  This file is
 * not the in-memory Raft log (the node keeps that) and does no networking;
 * it only makes bytes durable in order and reads them back, refusing to
 * guess when what it reads back is damaged anywhere but at the very tail.
 *
 * The writer keeps just enough of the log to check its callers and to apply
 * the snapshot rule without reading the disk: the last index and the terms,
 * as runs of equal terms (a handful of runs between two snapshots).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crc32c.h"
#include "wal.h"
#include "errbuf.h"
#include "bytes.h"

#define WAL_MAGIC		"RCWAL\0\0\0"
#define WAL_VERSION		2	/* written; 1 (not preallocated) is still read */

#define REC_HDR			8	/* u32 len, u32 crc */
#define REC_ENTRY		1
#define REC_HARDSTATE		2
#define REC_SNAPSHOT		3
#define REC_OPTIONAL		128	/* types from here on may be skipped */
#define REC_SYNC		128	/* u64 own offset: a sync's writes start here */
#define SYNC_MARK_BYTES		(REC_HDR + 1 + 8)

#define ENTRY_FIXED		17	/* index, term, entry type */
#define HARDSTATE_BYTES		24
#define SNAPSHOT_BYTES		17
#define SNAP_DISCARDED		0x01

/* The write buffer goes to the kernel once it holds this much. */
#define FLUSH_BYTES		(1024 * 1024)

#define SEG_NAME_LEN		37	/* 16 hex, '-', 16 hex, ".wal" */
#define SEG_NAME_SIZE		(SEG_NAME_LEN + sizeof(".tmp"))
/* The next segment, preallocated ahead of need; a leftover is removed at open. */
#define SPARE_NAME		"prealloc.tmp"

struct seg {
	uint64_t seq;
	uint64_t first_index;	/* from the name */
	uint64_t max_index;	/* highest entry index written into it; 0 if none */
};

/* Entries [start, next run's start - 1] (or last_index) have this term. */
struct run {
	uint64_t start;
	uint64_t term;
};

/*
 * Who owns what.  The caller's thread (the "loop") owns the logical state
 * (hard state, snapshot marker, last index, term runs), the append buffer
 * and the counters in stats.  The I/O state (fd, size, unsynced, segs, io)
 * belongs to the loop while no sync is out (!busy) and to the sync thread
 * while one is; the hand-over goes through mu, which orders the memory.  The
 * spare segment belongs to the sync thread once it runs.
 */
struct wal {
	char *dir;
	int dirfd;		/* holds the flock */
	int fd;			/* current (last) segment */
	uint64_t size;		/* bytes of records in the current segment */
	bool unsynced;		/* written since the last fdatasync */
	int failed;		/* sticky negative errno */

	struct seg *segs;
	size_t nsegs, segcap;

	uint8_t *buf;		/* appended, not yet handed to a sync */
	size_t buflen, bufcap;
	uint64_t buf_max;	/* highest entry index in buf; 0 if none */
	uint64_t seg_bytes;

	struct wal_hardstate hs;
	uint64_t snap_index, snap_term;
	uint64_t last_index;
	struct run *runs;
	size_t nruns, runcap;

	struct wal_stats stats;
	struct wal_stats io;	/* I/O counters, owned as the I/O state */

	/* The sync thread and the one job it may have. */
	pthread_t thread;
	bool thread_on;
	pthread_mutex_t mu;
	pthread_cond_t cv_job;		/* the thread waits for a job or quit */
	pthread_cond_t cv_done;		/* wait_job waits for job_done */
	int efd;		/* eventfd: +1 when a job is done */
	bool busy;		/* loop: a job is out and not collected */
	uint64_t started, done;	/* loop: jobs handed out, jobs collected */
	/* under mu */
	bool job_ready, job_done, quit;
	int job_rc;
	uint64_t job_seg_bytes;
	/* the job; the thread's while busy */
	uint8_t *jbuf;
	size_t jlen, jcap;
	uint64_t jmax;
	struct wal_hardstate jhs;
	uint64_t jsnap_index, jsnap_term, jnext;
	/* the spare segment: zero-filled and synced, or -1 */
	int spare_fd;
	uint64_t spare_bytes;
};

/* ------------------------------------------------------------ helpers */

static void
seg_name(char *buf, size_t len, uint64_t seq, uint64_t first, bool tmp)
{
	snprintf(buf, len, "%016" PRIx64 "-%016" PRIx64 ".wal%s", seq, first,
		tmp ? ".tmp" : "");
}

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

/* 1: a segment name, 2: a leftover "NAME.tmp" or spare, 0: something else. */
static int
parse_seg_name(const char *name, uint64_t *seq, uint64_t *first)
{
	size_t len = strlen(name);
	int kind;

	if (strcmp(name, SPARE_NAME) == 0)
		return 2;
	if (len == SEG_NAME_LEN)
		kind = 1;
	else if (len == SEG_NAME_LEN + 4 && strcmp(name + SEG_NAME_LEN, ".tmp") == 0)
		kind = 2;
	else
		return 0;
	if (name[16] != '-' || strncmp(name + 33, ".wal", 4) != 0 ||
		!parse_hex16(name, seq) || !parse_hex16(name + 17, first))
		return 0;
	return kind;
}

static int
pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off, uint64_t *nwrites)
{
	while (len > 0) {
		ssize_t r = pwrite(fd, p, len, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (nwrites != NULL)
			(*nwrites)++;
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

/* Write zeros over [off, end) of fd. */
static int
zero_fill(int fd, uint64_t off, uint64_t end)
{
	static const uint8_t zeros[64 * 1024];
	int r;

	while (off < end) {
		size_t n = end - off < sizeof(zeros) ? (size_t)(end - off) : sizeof(zeros);

		if ((r = pwrite_all(fd, zeros, n, off, NULL)) < 0)
			return r;
		off += n;
	}
	return 0;
}

int
wal_fsync_dir(const char *path)
{
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Grow *buf (element size sz) so it holds at least need elements. */
static int
grow(void **buf, size_t *cap, size_t need, size_t sz)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / sz)
			return -ENOMEM;
		ncap *= 2;
	}
	p = realloc(*buf, ncap * sz);
	if (p == NULL)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------ records */

static size_t
rec_put(uint8_t *p, uint8_t type, const uint8_t *payload, size_t plen)
{
	p[REC_HDR] = type;
	memcpy(p + REC_HDR + 1, payload, plen);
	put_le32(p, (uint32_t)(plen + 1));
	put_le32(p + 4, crc32c(0, p + REC_HDR, plen + 1));
	return REC_HDR + 1 + plen;
}

static size_t
rec_put_hardstate(uint8_t *p, const struct wal_hardstate *hs)
{
	uint8_t pl[HARDSTATE_BYTES];

	put_le64(pl, hs->term);
	put_le64(pl + 8, hs->vote);
	put_le64(pl + 16, hs->commit);
	return rec_put(p, REC_HARDSTATE, pl, sizeof(pl));
}

static size_t
rec_put_snapshot(uint8_t *p, uint64_t index, uint64_t term, uint8_t flags)
{
	uint8_t pl[SNAPSHOT_BYTES];

	put_le64(pl, index);
	put_le64(pl + 8, term);
	pl[16] = flags;
	return rec_put(p, REC_SNAPSHOT, pl, sizeof(pl));
}

/* The mark that starts the bytes of one sync, at offset off of its segment. */
static void
sync_mark(uint8_t *p, uint64_t off)
{
	uint8_t pl[8];

	put_le64(pl, off);
	rec_put(p, REC_SYNC, pl, sizeof(pl));
}

/*
 * Does a record that checks start at off?  Returns NULL and its total size
 * in *total if so, otherwise what is wrong with it.
 */
static const char *
rec_check(const uint8_t *b, size_t size, size_t off, size_t *total)
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

/* Is there a valid sync mark at off (one that names off as its place)? */
static bool
is_sync_mark(const uint8_t *b, size_t size, size_t off)
{
	size_t total;

	return rec_check(b, size, off, &total) == NULL && total == SYNC_MARK_BYTES &&
		b[off + REC_HDR] == REC_SYNC && get_le64(b + off + REC_HDR + 1) == off;
}

/* ------------------------------------------------------------ replay */

struct replay {
	const char *dir;
	struct wal_hardstate hs;
	uint64_t snap_index, snap_term;
	/* the log is ents[head .. head + n - 1], indexes consecutive */
	struct wal_entry *ents;
	size_t head, n, cap;
};

static uint64_t
rp_first(const struct replay *r)
{
	return r->ents[r->head].index;
}

static uint64_t
rp_last(const struct replay *r)
{
	return r->ents[r->head + r->n - 1].index;
}

static void
rp_free_range(struct replay *r, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		free(r->ents[i].data);
		r->ents[i].data = NULL;
	}
}

static void
rp_clear(struct replay *r)
{
	rp_free_range(r, r->head, r->head + r->n);
	r->head = r->n = 0;
}

static void
rp_drop_upto(struct replay *r, uint64_t index)
{
	while (r->n > 0 && rp_first(r) <= index) {
		free(r->ents[r->head].data);
		r->ents[r->head].data = NULL;
		r->head++;
		r->n--;
	}
	if (r->n == 0)
		r->head = 0;
}

static int
rp_push(struct replay *r, const struct wal_entry *e)
{
	if (r->head + r->n == r->cap && r->head > 0) {
		memmove(r->ents, r->ents + r->head, r->n * sizeof(*r->ents));
		r->head = 0;
	}
	if (grow((void **)&r->ents, &r->cap, r->head + r->n + 1, sizeof(*r->ents)) < 0)
		return -ENOMEM;
	r->ents[r->head + r->n++] = *e;
	return 0;
}

static void
rp_free(struct replay *r)
{
	rp_clear(r);
	free(r->ents);
	r->ents = NULL;
	r->cap = 0;
}

/* Apply one record that checks; semantic errors name the file and offset. */
static int
replay_record(struct replay *r, struct seg *seg, const char *name, size_t off,
	const uint8_t *p, size_t len, char *err, size_t errlen)
{
	struct bytes_reader br;
	const uint8_t *data;
	struct wal_entry e;

	br_init(&br, p + 1, len - 1);
	switch (p[0]) {
	case REC_ENTRY:
		e.index = br_le64(&br);
		e.term = br_le64(&br);
		e.type = br_u8(&br);
		if (br.err)
			goto badsize;
		e.len = (uint32_t)br_left(&br);
		data = br_mem(&br, e.len);
		e.data = NULL;
		if (e.index <= r->snap_index) {
			seterr(err, errlen, "wal: %s/%s: offset %zu: entry %" PRIu64
				" is at or below the snapshot index %" PRIu64,
				r->dir, name, off, e.index, r->snap_index);
			return -EBADMSG;
		}
		if (r->n > 0) {
			if (e.index > rp_last(r) + 1) {
				seterr(err, errlen, "wal: %s/%s: offset %zu: entry %"
					PRIu64 " follows entry %" PRIu64 " (gap in the log)",
					r->dir, name, off, e.index, rp_last(r));
				return -EBADMSG;
			}
			if (e.index < rp_first(r)) {
				rp_clear(r);
			} else if (e.index <= rp_last(r)) {
				size_t keep = (size_t)(e.index - rp_first(r));

				rp_free_range(r, r->head + keep, r->head + r->n);
				r->n = keep;
			}
		}
		if (e.len > 0) {
			e.data = malloc(e.len);
			if (e.data == NULL)
				return -ENOMEM;
			memcpy(e.data, data, e.len);
		}
		if (rp_push(r, &e) < 0) {
			free(e.data);
			return -ENOMEM;
		}
		if (e.index > seg->max_index)
			seg->max_index = e.index;
		return 0;
	case REC_HARDSTATE:
		if (br_left(&br) != HARDSTATE_BYTES)
			goto badsize;
		r->hs.term = br_le64(&br);
		r->hs.vote = br_le64(&br);
		r->hs.commit = br_le64(&br);
		return 0;
	case REC_SNAPSHOT: {
		uint64_t index, term;
		uint8_t flags;

		if (br_left(&br) != SNAPSHOT_BYTES)
			goto badsize;
		index = br_le64(&br);
		term = br_le64(&br);
		flags = br_u8(&br);
		if (index < r->snap_index ||
			(index == r->snap_index && term != r->snap_term && index != 0)) {
			seterr(err, errlen, "wal: %s/%s: offset %zu: snapshot marker %"
				PRIu64 "/%" PRIu64 " contradicts the earlier %" PRIu64
				"/%" PRIu64, r->dir, name, off, index, term,
				r->snap_index, r->snap_term);
			return -EBADMSG;
		}
		if (flags & SNAP_DISCARDED)
			rp_clear(r);
		else
			rp_drop_upto(r, index);
		r->snap_index = index;
		r->snap_term = term;
		return 0;
	}
	default:
		if (p[0] >= REC_OPTIONAL)
			return 0;
		seterr(err, errlen, "wal: %s/%s: offset %zu: unknown record type %u",
			r->dir, name, off, p[0]);
		return -EBADMSG;
	}
badsize:
	seterr(err, errlen, "wal: %s/%s: offset %zu: record type %u has a payload of"
		" %zu bytes", r->dir, name, off, p[0], len - 1);
	return -EBADMSG;
}

static int
read_segment(int dirfd, const char *name, uint8_t **out, size_t *size)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t done = 0;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > SIZE_MAX / 2) {
		r = -EFBIG;
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (b == NULL) {
		r = -ENOMEM;
		goto out;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = pread(fd, b + done, (size_t)st.st_size - done, (off_t)done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*out = b;
	*size = done;
	b = NULL;
out:
	free(b);
	close(fd);
	return r;
}

/* Is b[from, to) all zero?  If not, *last is the offset of its last nonzero byte. */
static bool
all_zero(const uint8_t *b, size_t from, size_t to, size_t *last)
{
	for (size_t i = to; i > from; i--) {
		if (b[i - 1] != 0) {
			*last = i - 1;
			return false;
		}
	}
	return true;
}

/* How one segment ended. */
struct seg_end {
	uint32_t version;
	uint64_t fsize;		/* bytes in the file */
	uint64_t end;		/* offset after the last record that checks */
	uint64_t cut;		/* bytes after end to clear (last segment only) */
	const char *why;	/* why they are cleared, NULL if nothing is */
};

/*
 * Replay one segment.  For the last segment, what follows the last good
 * record and is not a clean end (a damaged record with nothing that checks
 * after it, or bytes after the zeros that end a version 2 segment) is a
 * write a crash cut short: reported in *se, for wal_open to clear.
 */
static int
replay_segment(struct replay *r, int dirfd, struct seg *seg, bool last,
	struct seg_end *se, char *err, size_t errlen)
{
	char name[SEG_NAME_SIZE];
	uint8_t *b = NULL;
	size_t size = 0, off, nz;
	int ret;

	memset(se, 0, sizeof(*se));
	seg_name(name, sizeof(name), seg->seq, seg->first_index, false);
	ret = read_segment(dirfd, name, &b, &size);
	if (ret < 0) {
		seterr(err, errlen, "wal: %s/%s: %s", r->dir, name, strerror(-ret));
		goto out;
	}
	se->fsize = size;
	ret = -EBADMSG;
	if (size < WAL_HEADER_BYTES) {
		seterr(err, errlen, "wal: %s/%s: segment header cut short (%zu bytes)",
			r->dir, name, size);
		goto out;
	}
	if (memcmp(b, WAL_MAGIC, 8) != 0 ||
		crc32c(0, b, WAL_HEADER_BYTES - 4) != get_le32(b + WAL_HEADER_BYTES - 4)) {
		seterr(err, errlen, "wal: %s/%s: offset 0: bad segment header (magic or"
			" checksum)", r->dir, name);
		goto out;
	}
	se->version = get_le32(b + 8);
	if (se->version != 1 && se->version != WAL_VERSION) {
		seterr(err, errlen, "wal: %s/%s: format version %" PRIu32
			" is not supported (this build reads versions 1 and %d)", r->dir,
			name, se->version, WAL_VERSION);
		goto out;
	}
	if (get_le64(b + 12) != seg->seq) {
		seterr(err, errlen, "wal: %s/%s: header says sequence %" PRIu64
			", the name %" PRIu64, r->dir, name, get_le64(b + 12), seg->seq);
		goto out;
	}

	off = WAL_HEADER_BYTES;
	while (off < size) {
		size_t total = 0, p;
		const char *why;

		/*
		 * Version 2 segments are preallocated: zeros where a record
		 * header would be end the records.  After them comes nothing
		 * but zeros, unless a crash cut an unsynced write short whose
		 * later pages reached the disk before its first (never
		 * acknowledged: a sync covers everything written before it).
		 */
		if (se->version >= 2 && all_zero(b, off, off + (size - off < REC_HDR ?
			size - off : REC_HDR), &nz)) {
			/* Zeros where a record header would be: the end, if only
			 * zeros follow. */
			if (all_zero(b, off, size, &nz))
				break;
			why = "bytes of an unfinished write after the last record";
		} else {
			why = rec_check(b, size, off, &total);
			if (why == NULL && se->version >= 2 && b[off + REC_HDR] == REC_SYNC &&
				!is_sync_mark(b, size, off))
				why = "a sync mark out of place";
			if (why == NULL) {
				ret = replay_record(r, seg, name, off, b + off + REC_HDR,
					total - REC_HDR, err, errlen);
				if (ret < 0)
					goto out;
				off += total;
				continue;
			}
		}
		ret = -EBADMSG;
		if (!last) {
			seterr(err, errlen, "wal: %s/%s: offset %zu: %s in a segment that"
				" is not the last; refusing to start (this is damage, not a"
				" torn write)", r->dir, name, off, why);
			goto out;
		}
		if (se->version < 2) {
			/*
			 * A write cut by a crash leaves no record that checks
			 * after the damage; if one does, this is older,
			 * acknowledged data gone bad and truncating would lose it.
			 */
			for (p = off + 1; p + REC_HDR < size; p++) {
				if (rec_check(b, size, p, &total) == NULL) {
					seterr(err, errlen, "wal: %s/%s: offset %zu: %s, but a"
						" valid record follows at offset %zu; refusing to"
						" start (this is damage, not a torn write)", r->dir,
						name, off, why, p);
					goto out;
				}
			}
			se->cut = size - off;
		} else {
			/*
			 * Version 2 writes in place, so a crash during a sync may
			 * leave any of its pages on disk and not the others:
			 * records that check may follow the damage.  But a sync
			 * starts with a mark, and one starts only after the one
			 * before it returned: a mark after the damage means the
			 * damage is in data a completed sync made durable.
			 */
			for (p = off + 1; p + SYNC_MARK_BYTES <= size; p++) {
				if (is_sync_mark(b, size, p)) {
					seterr(err, errlen, "wal: %s/%s: offset %zu: %s, but a"
						" later sync's mark follows at offset %zu; refusing"
						" to start (this is damage, not a torn write)",
						r->dir, name, off, why, p);
					goto out;
				}
			}
			all_zero(b, off, size, &nz);
			se->cut = nz + 1 - off;
		}
		se->why = strcmp(why, "bytes of an unfinished write after the last record") == 0 ?
			why : "torn record";
		break;
	}
	se->end = off;
	ret = 0;
out:
	free(b);
	return ret;
}

/* ------------------------------------------------------------ writer state */

static int
fail(struct wal *w, int r)
{
	if (w->failed == 0)
		w->failed = r;
	return r;
}

static uint64_t
term_at(const struct wal *w, uint64_t index)
{
	size_t lo = 0, hi = w->nruns;

	if (index == w->snap_index)
		return w->snap_term;
	if (index < w->snap_index || index > w->last_index || w->nruns == 0)
		return 0;
	/* the last run that starts at or before index */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->runs[mid].start <= index)
			lo = mid;
		else
			hi = mid;
	}
	return w->runs[lo].term;
}

/* Caller has reserved room for one more run. */
static void
runs_append(struct wal *w, uint64_t index, uint64_t term)
{
	while (w->nruns > 0 && w->runs[w->nruns - 1].start >= index)
		w->nruns--;
	if (w->nruns == 0 || w->runs[w->nruns - 1].term != term) {
		w->runs[w->nruns].start = index;
		w->runs[w->nruns].term = term;
		w->nruns++;
	}
	w->last_index = index;
}

static int
reserve_buf(struct wal *w, size_t more)
{
	if (more > SIZE_MAX - w->buflen)
		return -ENOMEM;
	return grow((void **)&w->buf, &w->bufcap, w->buflen + more, 1);
}

/* The I/O counters into stats; only while the I/O state is the loop's. */
static void
stats_merge(struct wal *w)
{
	w->stats.writes = w->io.writes;
	w->stats.bytes = w->io.bytes;
	w->stats.syncs = w->io.syncs;
	w->stats.segments_created = w->io.segments_created;
	w->stats.segments = w->io.segments;
}

/*
 * Write len bytes of records at the end of the current segment, after a
 * sync mark (see replay_segment): one pwritev(2).
 */
static int
write_marked(struct wal *w, const uint8_t *p, size_t len)
{
	uint8_t mark[SYNC_MARK_BYTES];
	struct iovec iov[2] = {
		{ mark, sizeof(mark) }, { (void *)(uintptr_t)p, len },
	};
	size_t total = sizeof(mark) + len, done = 0;
	ssize_t n;

	sync_mark(mark, w->size);
	while ((n = pwritev(w->fd, iov, 2, (off_t)w->size)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	w->io.writes++;
	done = (size_t)n;
	if (done < sizeof(mark)) {
		int r = pwrite_all(w->fd, mark + done, sizeof(mark) - done, w->size + done,
			&w->io.writes);

		if (r < 0)
			return r;
		done = sizeof(mark);
	}
	if (done < total) {
		int r = pwrite_all(w->fd, p + (done - sizeof(mark)), total - done,
			w->size + done, &w->io.writes);

		if (r < 0)
			return r;
	}
	w->size += total;
	w->io.bytes += total;
	return 0;
}

/* Write the buffer into the current segment (the I/O state is ours). */
static int
flush_buf(struct wal *w)
{
	int r;

	if (w->buflen == 0)
		return 0;
	r = write_marked(w, w->buf, w->buflen);
	if (r < 0)
		return fail(w, r);
	w->buflen = 0;
	if (w->buf_max > w->segs[w->nsegs - 1].max_index)
		w->segs[w->nsegs - 1].max_index = w->buf_max;
	w->buf_max = 0;
	w->unsynced = true;
	stats_merge(w);
	return 0;
}

/*
 * Make the spare: SPARE_NAME holding bytes zeros, synced.  Writing into
 * blocks that are allocated and written already changes no metadata, so
 * fdatasync then costs one flush of the data instead of a journal commit
 * too (measured here: 0.12 against 0.18 ms alone, 0.18 against 0.33 ms
 * when the three nodes of a local cluster sync at once).  fallocate(2)
 * would not do: its blocks are "unwritten" and the first write to each
 * still commits metadata.
 */
static int
spare_make(struct wal *w, uint64_t bytes)
{
	int fd, r;

	if (w->spare_fd >= 0) {
		if (w->spare_bytes == bytes)
			return 0;
		close(w->spare_fd);
		w->spare_fd = -1;
	}
	fd = openat(w->dirfd, SPARE_NAME, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = zero_fill(fd, 0, bytes);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlinkat(w->dirfd, SPARE_NAME, 0);
		return r;
	}
	w->spare_fd = fd;
	w->spare_bytes = bytes;
	return 0;
}

/*
 * Create segment seq from the spare: header, hard state and snapshot
 * marker written over its first bytes, synced, renamed into place, the
 * directory synced; a segment file is never seen half made.  Returns the
 * open descriptor in *fdp and the bytes of records written.
 */
static int
seg_create(struct wal *w, uint64_t seq, uint64_t first, uint64_t seg_bytes,
	const struct wal_hardstate *hs, uint64_t snap_index, uint64_t snap_term, int *fdp)
{
	char name[SEG_NAME_SIZE];
	uint8_t b[WAL_HEADER_BYTES + 2 * REC_HDR + 2 + HARDSTATE_BYTES + SNAPSHOT_BYTES];
	size_t len = WAL_HEADER_BYTES;
	int fd, r;

	memcpy(b, WAL_MAGIC, 8);
	put_le32(b + 8, WAL_VERSION);
	put_le64(b + 12, seq);
	put_le64(b + 20, first);
	put_le32(b + 28, crc32c(0, b, 28));
	len += rec_put_hardstate(b + len, hs);
	len += rec_put_snapshot(b + len, snap_index, snap_term, 0);

	if ((r = spare_make(w, seg_bytes)) < 0)
		return r;
	fd = w->spare_fd;
	w->spare_fd = -1;
	seg_name(name, sizeof(name), seq, first, false);
	r = pwrite_all(fd, b, len, 0, NULL);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(w->dirfd, SPARE_NAME, w->dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlinkat(w->dirfd, SPARE_NAME, 0);
		return r;
	}
	if (fsync(w->dirfd) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	w->io.segments_created++;
	w->io.bytes += len;
	*fdp = fd;
	return (int)len;
}

/*
 * Start the next segment; everything before has been synced.  hs, the
 * snapshot marker and next (the index expected next) are the ones of the
 * data written so far.
 */
static int
rotate(struct wal *w, uint64_t seg_bytes, const struct wal_hardstate *hs,
	uint64_t snap_index, uint64_t snap_term, uint64_t next)
{
	uint64_t seq = w->nsegs > 0 ? w->segs[w->nsegs - 1].seq + 1 : 0;
	int fd = -1, r;

	r = grow((void **)&w->segs, &w->segcap, w->nsegs + 1, sizeof(*w->segs));
	if (r < 0)
		return r;
	r = seg_create(w, seq, next, seg_bytes, hs, snap_index, snap_term, &fd);
	if (r < 0)
		return r;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->size = (uint64_t)r;
	w->unsynced = false;
	w->segs[w->nsegs].seq = seq;
	w->segs[w->nsegs].first_index = next;
	w->segs[w->nsegs].max_index = 0;
	w->nsegs++;
	w->io.segments = w->nsegs;
	return 0;
}

/*
 * A sync job: write what the loop handed over, fdatasync, start the next
 * segment if this one is full.  Runs on the sync thread, or on the loop
 * while the thread is not running (wal_open, wal_close).
 */
static int
run_job(struct wal *w, uint64_t seg_bytes)
{
	int r;

	if (w->jlen > 0) {
		r = write_marked(w, w->jbuf, w->jlen);
		if (r < 0)
			return r;
		w->jlen = 0;
		if (w->jmax > w->segs[w->nsegs - 1].max_index)
			w->segs[w->nsegs - 1].max_index = w->jmax;
		w->unsynced = true;
	}
	if (w->unsynced) {
		if (fdatasync(w->fd) < 0)
			return -errno;
		w->io.syncs++;
		w->unsynced = false;
	}
	if (w->size >= seg_bytes)
		return rotate(w, seg_bytes, &w->jhs, w->jsnap_index, w->jsnap_term, w->jnext);
	return 0;
}

/*
 * Every wake-up is signalled after the mutex is released, so that the woken
 * thread does not run straight into a held lock (one context switch less
 * per sync: they are dear in a VM).
 */
static void *
sync_thread(void *arg)
{
	struct wal *w = arg;
	uint64_t one = 1, bytes;
	bool quit;
	int r;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->job_ready && !w->quit)
			pthread_cond_wait(&w->cv_job, &w->mu);
		if (!w->job_ready)
			break;
		w->job_ready = false;
		bytes = w->job_seg_bytes;
		pthread_mutex_unlock(&w->mu);
		r = run_job(w, bytes);
		pthread_mutex_lock(&w->mu);
		w->job_rc = r;
		w->job_done = true;
		quit = w->quit;
		pthread_mutex_unlock(&w->mu);
		while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_cond_signal(&w->cv_done);
		/* The next segment, made while nobody waits for it.  On failure
		 * the next rotation tries again and reports. */
		if (r == 0 && w->spare_fd < 0 && !quit)
			spare_make(w, bytes);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int
thread_start(struct wal *w)
{
	sigset_t all, old;
	int r;

	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		return -errno;
	/* Signals are the loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, sync_thread, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	w->thread_on = true;
	return 0;
}

static void
thread_stop(struct wal *w)
{
	if (!w->thread_on)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_mutex_unlock(&w->mu);
	pthread_cond_signal(&w->cv_job);
	pthread_join(w->thread, NULL);
	w->thread_on = false;
}

/*
 * Take the finished job's result, if it has finished: 1 when collected, 0
 * when it is still running, or its error.  The I/O state is the loop's again.
 */
static int
collect(struct wal *w)
{
	uint64_t v;
	int r;

	pthread_mutex_lock(&w->mu);
	if (!w->job_done) {
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	w->job_done = false;
	r = w->job_rc;
	pthread_mutex_unlock(&w->mu);
	if (read(w->efd, &v, sizeof(v)) < 0) {
		/* already drained by an earlier collect */
	}
	w->busy = false;
	w->done++;
	stats_merge(w);
	return r < 0 ? fail(w, r) : 1;
}

/* Wait for the job that is out, if any, and collect it. */
static int
wait_job(struct wal *w)
{
	int r;

	if (!w->busy)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (!w->job_done)
		pthread_cond_wait(&w->cv_done, &w->mu);
	pthread_mutex_unlock(&w->mu);
	r = collect(w);
	return r < 0 ? r : 0;
}

/* ------------------------------------------------------------ open */

static int
seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Create dir if missing, fsyncing its parent so the new name survives. */
static int
ensure_dir(const char *dir)
{
	char *parent, *slash;
	int r;

	if (mkdir(dir, 0700) < 0)
		return errno == EEXIST ? 0 : -errno;
	parent = strdup(dir);
	if (parent == NULL)
		return -ENOMEM;
	slash = strrchr(parent, '/');
	if (slash == NULL)
		strcpy(parent, ".");
	else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	r = wal_fsync_dir(parent);
	free(parent);
	return r;
}

/* The segments in dir, sorted by sequence; leftover .tmp files are counted. */
static int
list_segments(struct wal *w, size_t *ntmp, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	int fd, r = 0;

	*ntmp = 0;
	fd = dup(w->dirfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d)) != NULL) {
		uint64_t seq, first;
		int kind = parse_seg_name(de->d_name, &seq, &first);

		if (kind == 2)
			(*ntmp)++;
		if (kind != 1)
			continue;
		r = grow((void **)&w->segs, &w->segcap, w->nsegs + 1, sizeof(*w->segs));
		if (r < 0)
			goto out;
		w->segs[w->nsegs].seq = seq;
		w->segs[w->nsegs].first_index = first;
		w->segs[w->nsegs].max_index = 0;
		w->nsegs++;
	}
	if (errno != 0) {
		r = -errno;
		seterr(err, errlen, "wal: %s: %s", w->dir, strerror(errno));
		goto out;
	}
	if (w->nsegs > 1)
		qsort(w->segs, w->nsegs, sizeof(*w->segs), seg_cmp);
	for (size_t i = 1; i < w->nsegs; i++) {
		if (w->segs[i].seq == w->segs[i - 1].seq) {
			seterr(err, errlen, "wal: %s: two segments with sequence %016"
				PRIx64, w->dir, w->segs[i].seq);
			r = -EBADMSG;
			goto out;
		}
		if (w->segs[i].seq != w->segs[i - 1].seq + 1) {
			seterr(err, errlen, "wal: %s: segment %016" PRIx64 " is missing"
				" (have %016" PRIx64 " and %016" PRIx64 "); refusing to start",
				w->dir, w->segs[i - 1].seq + 1, w->segs[i - 1].seq,
				w->segs[i].seq);
			r = -EBADMSG;
			goto out;
		}
	}
out:
	closedir(d);
	return r;
}

static void
remove_tmp_files(struct wal *w)
{
	DIR *d;
	struct dirent *de;
	int fd;

	fd = dup(w->dirfd);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		uint64_t seq, first;

		if (parse_seg_name(de->d_name, &seq, &first) == 2)
			unlinkat(w->dirfd, de->d_name, 0);
	}
	closedir(d);
	fsync(w->dirfd);
}

/* Rebuild the writer's view (last index, term runs) from the replayed log. */
static int
writer_state_from(struct wal *w, const struct replay *rp)
{
	w->hs = rp->hs;
	w->snap_index = rp->snap_index;
	w->snap_term = rp->snap_term;
	w->last_index = rp->snap_index;
	for (size_t i = rp->head; i < rp->head + rp->n; i++) {
		if (grow((void **)&w->runs, &w->runcap, w->nruns + 1, sizeof(*w->runs)) < 0)
			return -ENOMEM;
		runs_append(w, rp->ents[i].index, rp->ents[i].term);
	}
	return 0;
}

int
wal_open(const char *dir, struct wal **out, struct wal_recovered *rec,
	char *err, size_t errlen)
{
	struct replay rp = { .dir = dir };
	struct seg_end se = { 0 };
	struct wal *w;
	size_t ntmp = 0;
	int r;

	*out = NULL;
	memset(rec, 0, sizeof(*rec));
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->fd = w->dirfd = w->efd = w->spare_fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_job, NULL);
	pthread_cond_init(&w->cv_done, NULL);
	w->seg_bytes = WAL_SEGMENT_BYTES;
	w->dir = strdup(dir);
	if (w->dir == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	r = ensure_dir(dir);
	if (r < 0) {
		seterr(err, errlen, "wal: %s: cannot create: %s", dir, strerror(-r));
		goto fail;
	}
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		r = -errno;
		seterr(err, errlen, "wal: %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (flock(w->dirfd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		seterr(err, errlen, "wal: %s: in use by another process (%s)", dir,
			strerror(errno));
		goto fail;
	}
	r = list_segments(w, &ntmp, err, errlen);
	if (r < 0)
		goto fail;

	for (size_t i = 0; i < w->nsegs; i++) {
		r = replay_segment(&rp, w->dirfd, &w->segs[i], i + 1 == w->nsegs,
			&se, err, errlen);
		if (r < 0)
			goto fail;
	}
	if (rp.n > 0 && rp_first(&rp) != rp.snap_index + 1) {
		seterr(err, errlen, "wal: %s: entries %" PRIu64 " to %" PRIu64 " are"
			" missing (the snapshot marker covers up to %" PRIu64 "); refusing"
			" to start", dir, rp.snap_index + 1, rp_first(&rp) - 1,
			rp.snap_index);
		r = -EBADMSG;
		goto fail;
	}
	r = writer_state_from(w, &rp);
	if (r < 0)
		goto fail;
	if (ntmp > 0)
		remove_tmp_files(w);

	if (w->nsegs == 0) {
		r = rotate(w, w->seg_bytes, &w->hs, w->snap_index, w->snap_term,
			w->last_index + 1);
		if (r < 0) {
			seterr(err, errlen, "wal: %s: cannot create the first segment: %s",
				dir, strerror(-r));
			goto fail;
		}
	} else {
		struct seg *s = &w->segs[w->nsegs - 1];
		char name[SEG_NAME_SIZE];

		seg_name(name, sizeof(name), s->seq, s->first_index, false);
		w->fd = openat(w->dirfd, name, O_WRONLY | O_CLOEXEC);
		if (w->fd < 0) {
			r = -errno;
			seterr(err, errlen, "wal: %s/%s: %s", dir, name, strerror(errno));
			goto fail;
		}
		w->size = se.end;
		if (se.why != NULL) {
			/* A version 1 segment ends at its last record; a version 2
			 * one is zeros up to its preallocated size. */
			if (se.version < 2)
				r = ftruncate(w->fd, (off_t)se.end) < 0 ? -errno : 0;
			else
				r = zero_fill(w->fd, se.end, se.end + se.cut);
			if (r == 0 && fsync(w->fd) < 0)
				r = -errno;
			if (r < 0) {
				seterr(err, errlen, "wal: %s/%s: cannot cut off the torn"
					" tail: %s", dir, name, strerror(-r));
				goto fail;
			}
			rec->truncated_tail = true;
			snprintf(rec->message, sizeof(rec->message), "wal: segment %s:"
				" %s at offset %" PRIu64 " (%" PRIu64 " bytes dropped);"
				" truncated", name, se.why, se.end, se.cut);
		}
	}
	w->io.segments = w->nsegs;
	stats_merge(w);
	r = thread_start(w);
	if (r < 0) {
		seterr(err, errlen, "wal: %s: cannot start the sync thread: %s", dir,
			strerror(-r));
		goto fail;
	}

	/* Hand the log over, compacted to the front of the array. */
	if (rp.head > 0)
		memmove(rp.ents, rp.ents + rp.head, rp.n * sizeof(*rp.ents));
	rec->hs = rp.hs;
	rec->snap_index = rp.snap_index;
	rec->snap_term = rp.snap_term;
	rec->entries = rp.ents;
	rec->nentries = rp.n;
	*out = w;
	return 0;
fail:
	rp_free(&rp);
	memset(rec, 0, sizeof(*rec));
	wal_close(w);
	return r;
}

void
wal_recovered_free(struct wal_recovered *rec)
{
	if (rec == NULL)
		return;
	for (size_t i = 0; i < rec->nentries; i++)
		free(rec->entries[i].data);
	free(rec->entries);
	memset(rec, 0, sizeof(*rec));
}

/* ------------------------------------------------------------ writing */

int
wal_append(struct wal *w, const struct wal_entry *entries, size_t n)
{
	uint64_t prev_term, expect;
	size_t bytes = 0, newruns = 1;
	int r;

	if (w->failed)
		return w->failed;
	if (n == 0)
		return 0;
	/* Check the whole batch first: all of it is appended or none. */
	if (entries[0].index <= w->snap_index || entries[0].index > w->last_index + 1)
		return -EINVAL;
	expect = entries[0].index;
	prev_term = term_at(w, entries[0].index - 1);
	for (size_t i = 0; i < n; i++) {
		const struct wal_entry *e = &entries[i];

		if (e->index != expect++ || e->term < prev_term)
			return -EINVAL;
		if (e->len > WAL_MAX_ENTRY_DATA)
			return -EMSGSIZE;
		if (e->len > 0 && e->data == NULL)
			return -EINVAL;
		if (i > 0 && e->term != prev_term)
			newruns++;
		prev_term = e->term;
		bytes += WAL_ENTRY_OVERHEAD + e->len;
	}
	r = reserve_buf(w, bytes);
	if (r < 0)
		return r;
	r = grow((void **)&w->runs, &w->runcap, w->nruns + newruns, sizeof(*w->runs));
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		const struct wal_entry *e = &entries[i];
		uint8_t *p = w->buf + w->buflen;
		size_t len = 1 + ENTRY_FIXED + e->len;

		put_le32(p, (uint32_t)len);
		p[REC_HDR] = REC_ENTRY;
		put_le64(p + REC_HDR + 1, e->index);
		put_le64(p + REC_HDR + 9, e->term);
		p[REC_HDR + 17] = e->type;
		if (e->len > 0)
			memcpy(p + WAL_ENTRY_OVERHEAD, e->data, e->len);
		put_le32(p + 4, crc32c(0, p + REC_HDR, len));
		w->buflen += REC_HDR + len;
		runs_append(w, e->index, e->term);
	}
	if (w->last_index > w->buf_max)
		w->buf_max = w->last_index;
	w->stats.entries += n;
	if (w->buflen >= FLUSH_BYTES && !w->busy)
		return flush_buf(w);
	return 0;
}

int
wal_set_hardstate(struct wal *w, const struct wal_hardstate *hs)
{
	int r;

	if (w->failed)
		return w->failed;
	if (hs->term == w->hs.term && hs->vote == w->hs.vote && hs->commit == w->hs.commit)
		return 0;
	r = reserve_buf(w, REC_HDR + 1 + HARDSTATE_BYTES);
	if (r < 0)
		return r;
	w->buflen += rec_put_hardstate(w->buf + w->buflen, hs);
	w->hs = *hs;
	return 0;
}

int
wal_sync_start(struct wal *w)
{
	uint8_t *t;
	size_t tcap;

	if (w->failed)
		return w->failed;
	if (w->busy)
		return -EBUSY;
	w->started++;
	if (w->buflen == 0 && !w->unsynced && w->size < w->seg_bytes) {
		w->done++;	/* nothing to make durable */
		return 0;
	}
	/* Hand the buffer over and take the job's (empty) one. */
	t = w->jbuf;
	tcap = w->jcap;
	w->jbuf = w->buf;
	w->jcap = w->bufcap;
	w->jlen = w->buflen;
	w->jmax = w->buf_max;
	w->buf = t;
	w->bufcap = tcap;
	w->buflen = 0;
	w->buf_max = 0;
	w->jhs = w->hs;
	w->jsnap_index = w->snap_index;
	w->jsnap_term = w->snap_term;
	w->jnext = w->last_index + 1;
	w->busy = true;
	pthread_mutex_lock(&w->mu);
	w->job_seg_bytes = w->seg_bytes;
	w->job_ready = true;
	pthread_mutex_unlock(&w->mu);
	pthread_cond_signal(&w->cv_job);
	return 0;
}

int
wal_sync_collect(struct wal *w)
{
	uint64_t v;

	/* Drain first: the thread writes the eventfd after it marks the job
	 * done, so a wal_sync may have collected the job already, and a
	 * readable eventfd left behind would wake the loop for ever. */
	if (read(w->efd, &v, sizeof(v)) < 0) {
		/* nothing to drain */
	}
	if (!w->busy)
		return w->failed;
	return collect(w);
}

int
wal_sync_fd(const struct wal *w)
{
	return w->efd;
}

bool
wal_sync_busy(const struct wal *w)
{
	return w->busy;
}

uint64_t
wal_sync_next(const struct wal *w)
{
	return w->started + 1;
}

uint64_t
wal_sync_done(const struct wal *w)
{
	return w->done;
}

int
wal_sync(struct wal *w)
{
	int r;

	if ((r = wait_job(w)) < 0)
		return r;
	if ((r = wal_sync_start(w)) < 0)
		return r;
	return wait_job(w);
}

int
wal_snapshot(struct wal *w, uint64_t index, uint64_t term)
{
	bool keep;
	int r;

	if (w->failed)
		return w->failed;
	if (index < w->snap_index)
		return -EINVAL;
	if (index == w->snap_index)
		return term == w->snap_term ? 0 : -EINVAL;
	r = reserve_buf(w, REC_HDR + 1 + SNAPSHOT_BYTES);
	if (r < 0)
		return r;
	/* §7: keep the entries after the snapshot only if the log agrees on it */
	keep = index <= w->last_index && term_at(w, index) == term;
	w->buflen += rec_put_snapshot(w->buf + w->buflen, index, term,
		keep ? 0 : SNAP_DISCARDED);
	if (keep && index < w->last_index) {
		size_t drop = 0;

		while (drop + 1 < w->nruns && w->runs[drop + 1].start <= index + 1)
			drop++;
		memmove(w->runs, w->runs + drop, (w->nruns - drop) * sizeof(*w->runs));
		w->nruns -= drop;
		if (w->runs[0].start <= index)
			w->runs[0].start = index + 1;
	} else {
		w->nruns = 0;
		w->last_index = index;
	}
	w->snap_index = index;
	w->snap_term = term;
	return 0;
}

int
wal_compact(struct wal *w, uint64_t keep_from)
{
	int r;

	if (w->failed)
		return w->failed;
	if (keep_from > w->snap_index + 1)
		return -EINVAL;
	r = wal_sync(w);
	if (r < 0)
		return r;
	while (w->nsegs > 1 && w->segs[0].max_index < keep_from) {
		char name[SEG_NAME_SIZE];

		seg_name(name, sizeof(name), w->segs[0].seq, w->segs[0].first_index, false);
		if (unlinkat(w->dirfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		if (fsync(w->dirfd) < 0)
			return -errno;
		memmove(w->segs, w->segs + 1, (w->nsegs - 1) * sizeof(*w->segs));
		w->nsegs--;
		w->stats.segments_deleted++;
		w->io.segments = w->stats.segments = w->nsegs;
	}
	return 0;
}

void
wal_close(struct wal *w)
{
	if (w == NULL)
		return;
	wait_job(w);
	thread_stop(w);
	if (w->fd >= 0) {
		if (!w->failed)
			flush_buf(w);
		close(w->fd);
	}
	if (w->spare_fd >= 0)
		close(w->spare_fd);
	if (w->efd >= 0)
		close(w->efd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	pthread_cond_destroy(&w->cv_job);
	pthread_cond_destroy(&w->cv_done);
	pthread_mutex_destroy(&w->mu);
	free(w->dir);
	free(w->segs);
	free(w->buf);
	free(w->jbuf);
	free(w->runs);
	free(w);
}

uint64_t
wal_last_index(const struct wal *w)
{
	return w->last_index;
}

uint64_t
wal_snapshot_index(const struct wal *w)
{
	return w->snap_index;
}

uint64_t
wal_snapshot_term(const struct wal *w)
{
	return w->snap_term;
}

void
wal_set_segment_bytes(struct wal *w, uint64_t bytes)
{
	/* Read by the sync thread only through job_seg_bytes. */
	w->seg_bytes = bytes > 0 ? bytes : WAL_SEGMENT_BYTES;
}

const struct wal_stats *
wal_stats(const struct wal *w)
{
	return &w->stats;
}
