/*
 * wal_sync.c — writing a wal's segments: the sync thread and the one job
 * the loop may hand it (write, fdatasync, rotate), the spare segment made
 * ahead of need, and creating and rotating segments.  Who owns which part
 * of struct wal while a job is out is said at struct wal (wal_state.h).
 *
 * Not here: what is appended and checked (wal.c builds the buffer a job
 * writes), the bytes of a record (wal_record.c) and reading segments back
 * (wal_replay.c).  This file calls only wal_record.c and wal_file.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "fsutil.h"
#include "wal.h"
#include "wal_file.h"
#include "wal_record.h"
#include "wal_state.h"
#include "wal_sync.h"

/* ------------------------------------------------------------ writing segments */

/*
 * Write len bytes of records at the end of the current segment: one
 * pwritev(2).  The first write after an fdatasync starts with a sync mark
 * (see wal.h, "Replay"); a write while bytes are already unsynced (a full
 * append buffer written early) continues that sync without one, so that a
 * power cut during the fdatasync can tear any of its pages and the tear is
 * still seen as one unfinished sync, not as damage before a later mark.
 */
static int
write_marked(struct wal *w, const uint8_t *p, size_t len)
{
	uint8_t mark[SYNC_MARK_BYTES];
	size_t marklen = w->unsynced ? 0 : sizeof(mark);
	struct iovec iov[2] = {
		{ mark, marklen },
		{ (void *)(uintptr_t)p, len },
	};
	size_t total = marklen + len, done = 0;
	ssize_t n;

	wal_rec_sync_mark(mark, w->size);
	while ((n = pwritev(w->fd, iov, 2, (off_t)w->size)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	w->io.writes++;
	done = (size_t)n;
	if (done < marklen) {
		int r = wal_pwrite_all(
		    w->fd, mark + done, marklen - done, w->size + done, &w->io.writes);

		if (r < 0)
			return r;
		done = marklen;
	}
	if (done < total) {
		int r = wal_pwrite_all(
		    w->fd, p + (done - marklen), total - done, w->size + done, &w->io.writes);

		if (r < 0)
			return r;
	}
	w->size += total;
	w->io.bytes += total;
	return 0;
}

/* Write the buffer into the current segment (the I/O state is ours). */
int
wal_flush_buf(struct wal *w)
{
	int r;

	if (w->buflen == 0)
		return 0;
	r = write_marked(w, w->buf, w->buflen);
	if (wal_no_space(r))
		return 0; /* stays buffered: the next sync writes it or says so */
	if (r < 0)
		return wal_fail(w, wal_io_error(w, r, "write"));
	w->buflen = 0;
	if (w->buf_max > w->segs[w->nsegs - 1].max_index)
		w->segs[w->nsegs - 1].max_index = w->buf_max;
	w->buf_max = 0;
	w->unsynced = true;
	wal_stats_merge(w);
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
static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
	/* After the disk was full, try once a second, not at every sync:
	 * each try writes zeros until the disk refuses them. */
	if (w->spare_retry_at > 0 && mono_s() < w->spare_retry_at)
		return -ENOSPC;
	fd = openat(w->dirfd, SPARE_NAME, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = wal_zero_fill(fd, 0, bytes);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlinkat(w->dirfd, SPARE_NAME, 0);
		w->spare_retry_at = wal_no_space(r) ? mono_s() + 1 : 0;
		return r;
	}
	w->spare_retry_at = 0;
	w->spare_fd = fd;
	w->spare_bytes = bytes;
	return 0;
}

/*
 * Create segment seq from the spare: header, hard state, snapshot marker
 * and, when set, the catch-up index written over its first bytes, synced,
 * renamed into place, the directory synced; a segment file is never seen
 * half made.  Returns the open descriptor in *fdp and the bytes of records
 * written.
 */
static int
seg_create(struct wal *w, uint64_t seq, uint64_t first, uint64_t seg_bytes,
    const struct wal_hardstate *hs, uint64_t snap_index, uint64_t snap_term, uint64_t catch_up,
    int *fdp)
{
	char name[SEG_NAME_SIZE];
	uint8_t b[WAL_HEADER_BYTES + 3 * (REC_HDR + 1) + HARDSTATE_BYTES + SNAPSHOT_BYTES +
	    CATCH_UP_BYTES];
	size_t len = WAL_HEADER_BYTES;
	int fd, r;

	memcpy(b, WAL_MAGIC, 8);
	put_le32(b + 8, WAL_VERSION);
	put_le64(b + 12, seq);
	put_le64(b + 20, first);
	put_le32(b + 28, crc32c(0, b, 28));
	len += wal_rec_hardstate(b + len, hs);
	len += wal_rec_snapshot(b + len, snap_index, snap_term, 0);
	if (catch_up)
		len += wal_rec_catch_up(b + len, catch_up);

	if ((r = spare_make(w, seg_bytes)) < 0)
		return r;
	fd = w->spare_fd;
	w->spare_fd = -1;
	wal_seg_name(name, sizeof(name), seq, first, false);
	r = wal_pwrite_all(fd, b, len, 0, NULL);
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
 * snapshot marker, catch_up and next (the index expected next) are the ones
 * of the data written so far.
 */
int
wal_rotate(struct wal *w, uint64_t seg_bytes, const struct wal_hardstate *hs, uint64_t snap_index,
    uint64_t snap_term, uint64_t catch_up, uint64_t next)
{
	uint64_t seq = w->nsegs > 0 ? w->segs[w->nsegs - 1].seq + 1 : 0;
	int fd = -1, r;

	r = wal_grow((void **)&w->segs, &w->segcap, w->nsegs + 1, sizeof(*w->segs));
	if (r < 0)
		return r;
	r = seg_create(w, seq, next, seg_bytes, hs, snap_index, snap_term, catch_up, &fd);
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

/* ------------------------------------------------------------ the sync thread */

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
		if (wal_no_space(r)) {
			/* Nothing of it counts as written: w->size and the mark
			 * state are as before, and the loop keeps the bytes. */
			w->job_retry = true;
			return r;
		}
		if (r < 0)
			return wal_io_error(w, r, "write");
		w->jlen = 0;
		if (w->jmax > w->segs[w->nsegs - 1].max_index)
			w->segs[w->nsegs - 1].max_index = w->jmax;
		w->unsynced = true;
	}
	if (w->unsynced) {
		if (fdatasync(w->fd) < 0)
			return wal_io_error(w, -errno, "fdatasync");
		w->io.syncs++;
		w->unsynced = false;
	}
	if (w->size >= seg_bytes) {
		r = wal_rotate(
		    w, seg_bytes, &w->jhs, w->jsnap_index, w->jsnap_term, w->jcatch_up, w->jnext);
		/* No room for the next segment: this one grows past its size
		 * (as its last record may) until there is; what this job
		 * wrote is durable all the same. */
		if (wal_no_space(r))
			return 0;
		return r;
	}
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
		w->job_retry = false;
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
			(void)spare_make(w, bytes);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int
wal_thread_start(struct wal *w)
{
	int r;

	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		return -errno;
	if ((r = fs_thread_start(&w->thread, false, sync_thread, w)) < 0)
		return r;
	w->thread_on = true;
	return 0;
}

void
wal_thread_stop(struct wal *w)
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
 * A job that ran out of space wrote nothing that counts: its bytes go back
 * in front of what was appended since, for the next sync to write.
 */
static int
job_give_back(struct wal *w)
{
	size_t need = w->jlen + w->buflen;
	uint8_t *t;
	size_t tcap;
	int r;

	if ((r = wal_grow((void **)&w->jbuf, &w->jcap, need, 1)) < 0)
		return wal_fail(w, r);
	if (w->buflen)
		memcpy(w->jbuf + w->jlen, w->buf, w->buflen);
	t = w->buf;
	tcap = w->bufcap;
	w->buf = w->jbuf;
	w->bufcap = w->jcap;
	w->jbuf = t;
	w->jcap = tcap;
	w->buflen = need;
	if (w->jmax > w->buf_max)
		w->buf_max = w->jmax;
	w->jlen = 0;
	w->jmax = 0;
	return 0;
}

/*
 * Take the finished job's result, if it has finished: 1 when collected, 0
 * when it is still running, or its error.  The I/O state is the loop's again.
 */
static int
collect(struct wal *w)
{
	uint64_t v;
	bool retry;
	int r;

	pthread_mutex_lock(&w->mu);
	if (!w->job_done) {
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	w->job_done = false;
	r = w->job_rc;
	retry = w->job_retry;
	pthread_mutex_unlock(&w->mu);
	if (read(w->efd, &v, sizeof(v)) < 0) {
		/* already drained by an earlier collect */
	}
	w->busy = false;
	wal_stats_merge(w);
	if (r < 0 && retry) {
		int g = job_give_back(w);

		return g < 0 ? g : r; /* not done, not sticky: try again later */
	}
	if (r < 0)
		return wal_fail(w, r); /* not done: what it held is not durable */
	w->done++;
	w->snap_durable = w->jsnap_index;
	return 1;
}

/* Wait for the job that is out, if any, and collect it. */
int
wal_wait_job(struct wal *w)
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

/* ------------------------------------------------------------ the sync API */

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
		w->done++; /* nothing to make durable */
		w->snap_durable = w->snap_index;
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
	w->jcatch_up = w->catch_up;
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

	if ((r = wal_wait_job(w)) < 0)
		return r;
	if ((r = wal_sync_start(w)) < 0)
		return r;
	return wal_wait_job(w);
}
