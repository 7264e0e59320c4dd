/*
 * wal.c — the write-ahead log: Raft entries, hard state and snapshot
 * markers in checksummed, append-only segment files.  This file is the API
 * (open, append, hard state, snapshot marker, compaction, close) and the
 * writer's view of the log; reading segments back at open is wal_replay.c,
 * writing and syncing them on the sync thread is wal_sync.c, the bytes of
 * records and the names of files are wal_record.c (the files and their
 * layers are listed in wal_state.h).  This file is the top one: the others
 * never call it.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "fsutil.h"
#include "wal.h"
#include "wal_file.h"
#include "wal_record.h"
#include "wal_replay.h"
#include "wal_state.h"
#include "wal_sync.h"

/* The write buffer goes to the kernel once it holds this much. */
#define FLUSH_BYTES (1024 * 1024)

/* ------------------------------------------------------------ writer state */

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
	return wal_grow((void **)&w->buf, &w->bufcap, w->buflen + more, 1);
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
	r = fs_sync_dir(parent);
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
		enum wal_name_kind kind = wal_seg_name_parse(de->d_name, &seq, &first);

		if (kind == WAL_NAME_LEFTOVER)
			(*ntmp)++;
		if (kind != WAL_NAME_SEGMENT)
			continue;
		r = wal_grow((void **)&w->segs, &w->segcap, w->nsegs + 1, sizeof(*w->segs));
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
			seterr(err, errlen, "wal: %s: two segments with sequence %016" PRIx64,
			    w->dir, w->segs[i].seq);
			r = -EBADMSG;
			goto out;
		}
		if (w->segs[i].seq != w->segs[i - 1].seq + 1) {
			seterr(err, errlen,
			    "wal: %s: segment %016" PRIx64 " is missing"
			    " (have %016" PRIx64 " and %016" PRIx64 "); refusing to start",
			    w->dir, w->segs[i - 1].seq + 1, w->segs[i - 1].seq, w->segs[i].seq);
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

		if (wal_seg_name_parse(de->d_name, &seq, &first) == WAL_NAME_LEFTOVER)
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
	w->snap_durable = rp->snap_index;
	w->catch_up = rp->catch_up;
	w->last_index = rp->snap_index;
	/* The writer's runs start after the snapshot, as wal_snapshot leaves
	 * them; the margin below it is only handed back. */
	for (size_t i = rp->head; i < rp->head + rp->n; i++) {
		if (rp->ents[i].index <= rp->snap_index)
			continue;
		if (wal_grow((void **)&w->runs, &w->runcap, w->nruns + 1, sizeof(*w->runs)) < 0)
			return -ENOMEM;
		runs_append(w, rp->ents[i].index, rp->ents[i].term);
	}
	return 0;
}

int
wal_open(const char *dir, struct wal **out, struct wal_recovered *rec, char *err, size_t errlen)
{
	struct replay rp = { .dir = dir };
	struct seg_end se = { 0 };
	struct wal *w;
	size_t ntmp = 0;
	int r;

	*out = NULL;
	memset(rec, 0, sizeof(*rec));
	fs_unlink_wait(); /* an earlier wal's compaction in this process */
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
		seterr(
		    err, errlen, "wal: %s: in use by another process (%s)", dir, strerror(errno));
		goto fail;
	}
	r = list_segments(w, &ntmp, err, errlen);
	if (r < 0)
		goto fail;

	for (size_t i = 0; i < w->nsegs; i++) {
		r = wal_replay_segment(
		    &rp, w->dirfd, &w->segs[i], i + 1 == w->nsegs, &se, err, errlen);
		if (r < 0)
			goto fail;
	}
	if (rp.n > 0 &&
	    (wal_replay_first(&rp) > rp.snap_index + 1 ||
		rp.ents[rp.head + rp.n - 1].index < rp.snap_index)) {
		seterr(err, errlen,
		    "wal: %s: entries %" PRIu64 " to %" PRIu64 " are"
		    " missing (the snapshot marker covers up to %" PRIu64 "); refusing"
		    " to start",
		    dir, rp.snap_index + 1, wal_replay_first(&rp) - 1, rp.snap_index);
		r = -EBADMSG;
		goto fail;
	}
	r = writer_state_from(w, &rp);
	if (r < 0)
		goto fail;
	if (ntmp > 0)
		remove_tmp_files(w);

	if (w->nsegs == 0) {
		r = wal_rotate(w, w->seg_bytes, &w->hs, w->snap_index, w->snap_term, w->catch_up,
		    w->last_index + 1);
		if (r < 0) {
			seterr(err, errlen, "wal: %s: cannot create the first segment: %s", dir,
			    strerror(-r));
			goto fail;
		}
	} else {
		struct seg *s = &w->segs[w->nsegs - 1];
		char name[SEG_NAME_SIZE];

		wal_seg_name(name, sizeof(name), s->seq, s->first_index, false);
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
				r = wal_zero_fill(w->fd, se.end, se.end + se.cut);
			if (r == 0 && fsync(w->fd) < 0)
				r = -errno;
			if (r < 0) {
				seterr(err, errlen,
				    "wal: %s/%s: cannot cut off the torn"
				    " tail: %s",
				    dir, name, strerror(-r));
				goto fail;
			}
			rec->truncated_tail = true;
			seterr(rec->message, sizeof(rec->message),
			    "wal: segment %s:"
			    " %s at offset %" PRIu64 " (%" PRIu64 " bytes dropped);"
			    " truncated",
			    name, se.why, se.end, se.cut);
		}
	}
	w->io.segments = w->nsegs;
	wal_stats_merge(w);
	r = wal_thread_start(w);
	if (r < 0) {
		seterr(err, errlen, "wal: %s: cannot start the sync thread: %s", dir, strerror(-r));
		goto fail;
	}

	/* Hand the log over, compacted to the front of the array. */
	if (rp.head > 0)
		memmove(rp.ents, rp.ents + rp.head, rp.n * sizeof(*rp.ents));
	rec->hs = rp.hs;
	rec->snap_index = rp.snap_index;
	rec->snap_term = rp.snap_term;
	rec->catch_up_to = rp.catch_up;
	rec->entries = rp.ents;
	rec->nentries = rp.n;
	*out = w;
	return 0;
fail:
	wal_replay_free(&rp);
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
	r = wal_grow((void **)&w->runs, &w->runcap, w->nruns + newruns, sizeof(*w->runs));
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		w->buflen += wal_rec_entry(w->buf + w->buflen, &entries[i]);
		runs_append(w, entries[i].index, entries[i].term);
	}
	if (w->last_index > w->buf_max)
		w->buf_max = w->last_index;
	w->stats.entries += n;
	if (w->buflen >= FLUSH_BYTES && !w->busy)
		return wal_flush_buf(w);
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
	w->buflen += wal_rec_hardstate(w->buf + w->buflen, hs);
	w->hs = *hs;
	return 0;
}

int
wal_set_catch_up(struct wal *w, uint64_t index)
{
	int r;

	if (w->failed)
		return w->failed;
	if (index == w->catch_up)
		return 0;
	r = reserve_buf(w, REC_HDR + 1 + CATCH_UP_BYTES);
	if (r < 0)
		return r;
	w->buflen += wal_rec_catch_up(w->buf + w->buflen, index);
	w->catch_up = index;
	return 0;
}

uint64_t
wal_catch_up_to(const struct wal *w)
{
	return w->catch_up;
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
	w->buflen += wal_rec_snapshot(w->buf + w->buflen, index, term, keep ? 0 : SNAP_DISCARDED);
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
	size_t n = 0, len = 0;
	char *names;
	int r;

	if (w->failed)
		return w->failed;
	if (keep_from > w->snap_index + 1)
		return -EINVAL;
	if (keep_from > w->snap_durable + 1)
		return -EAGAIN; /* the marker is not durable yet */
	while (n < w->nsegs - 1 && w->segs[n].max_index < keep_from)
		n++;
	if (n == 0)
		return 0;
	if ((names = malloc(n * SEG_NAME_SIZE)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		wal_seg_name(
		    names + len, SEG_NAME_SIZE, w->segs[i].seq, w->segs[i].first_index, false);
		len += strlen(names + len) + 1;
	}
	r = fs_unlink_async(w->dirfd, names, len, n);
	free(names);
	if (r < 0)
		return r;
	memmove(w->segs, w->segs + n, (w->nsegs - n) * sizeof(*w->segs));
	w->nsegs -= n;
	w->stats.segments_deleted += n;
	w->io.segments = w->stats.segments = w->nsegs;
	return 0;
}

void
wal_close(struct wal *w)
{
	if (w == NULL)
		return;
	wal_wait_job(w);
	wal_thread_stop(w);
	fs_unlink_wait(); /* wal_compact's deletions: a reopen replays what is left */
	if (w->fd >= 0) {
		if (!w->failed)
			wal_flush_buf(w);
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

bool
wal_broken(const struct wal *w)
{
	return w->failed != 0;
}

void
wal_strerror(const struct wal *w, char *buf, size_t len)
{
	if (w->why[0])
		snprintf(buf, len, "%s", w->why);
	else
		snprintf(buf, len, "the WAL in %s", w->dir);
}
