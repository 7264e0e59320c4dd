/*
 * wal_state.h — the state of an open wal (struct wal) and of its segments,
 * shared by the wal's files, and who owns which part of it when.
 *
 * The wal is these files, one public header (wal.h, the contract), from
 * the top down; a file calls only files below it:
 *	wal.c		the API: open (with list and recovery of the segments),
 *			append, hard state, snapshot marker, compaction, close;
 *			the writer's view of the log
 *	wal_replay.c	reading segments back at open: rebuilding the log,
 *			telling a torn tail from damage (wal_replay.h)
 *	wal_sync.c	writing segments: the sync thread and the job handed
 *			to it, the spare segment, creating and rotating segments
 *			(wal_sync.h)
 *	wal_record.c	the bytes on disk: record encoding and checking, sync
 *			marks, file names (wal_record.h)
 *	wal_file.c	writing all of a buffer, zeros, syncing a directory,
 *			growing an array (wal_file.h)
 * wal_replay.c and wal_sync.c do not call each other.
 *
 * Not a contract for anyone outside daemon/wal*.c: every name here may
 * change with the wal.
 */
#ifndef RAFTCONF_WAL_STATE_H
#define RAFTCONF_WAL_STATE_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wal.h"
#include "wal_record.h"

struct seg {
	uint64_t seq;
	uint64_t first_index; /* from the name */
	uint64_t max_index;   /* highest entry index written into it; 0 if none */
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
	int dirfd;     /* holds the flock */
	int fd;	       /* current (last) segment */
	uint64_t size; /* bytes of records in the current segment */
	bool unsynced; /* written since the last fdatasync */
	int failed;    /* sticky negative errno */
	char why[256]; /* what failed on which file, for wal_strerror; "" */

	struct seg *segs;
	size_t nsegs, segcap;

	uint8_t *buf; /* appended, not yet handed to a sync */
	size_t buflen, bufcap;
	uint64_t buf_max; /* highest entry index in buf; 0 if none */
	uint64_t seg_bytes;

	struct wal_hardstate hs;
	uint64_t snap_index, snap_term;
	uint64_t snap_durable; /* the snapshot marker the last sync made durable */
	uint64_t catch_up;     /* wal_set_catch_up's index; 0: none */
	uint64_t last_index;
	struct run *runs;
	size_t nruns, runcap;

	struct wal_stats stats;
	struct wal_stats io; /* I/O counters, owned as the I/O state */

	/* The sync thread and the one job it may have. */
	pthread_t thread;
	bool thread_on;
	pthread_mutex_t mu;
	pthread_cond_t cv_job;	/* the thread waits for a job or quit */
	pthread_cond_t cv_done; /* wait_job waits for job_done */
	int efd;		/* eventfd: +1 when a job is done */
	bool busy;		/* loop: a job is out and not collected */
	uint64_t started, done; /* loop: jobs handed out, jobs collected */
	/* under mu */
	bool job_ready, job_done, quit;
	int job_rc;
	bool job_retry; /* job_rc is "out of space while writing": not sticky */
	uint64_t job_seg_bytes;
	/* the job; the thread's while busy */
	uint8_t *jbuf;
	size_t jlen, jcap;
	uint64_t jmax;
	struct wal_hardstate jhs;
	uint64_t jsnap_index, jsnap_term, jcatch_up, jnext;
	/* the spare segment: zero-filled and synced, or -1 */
	int spare_fd;
	uint64_t spare_bytes;
	/* the sync thread's: no spare before then (the disk was full) */
	double spare_retry_at;
};

/* Out of space: a write (never an fdatasync) that may be tried again. */
static inline bool
wal_no_space(int r)
{
	return r == -ENOSPC || r == -EDQUOT;
}

/*
 * Say which operation on which segment failed, for wal_strerror (the first
 * failure stays).  By whoever owns the I/O state.  Returns r.
 */
static inline int
wal_io_error(struct wal *w, int r, const char *op)
{
	char name[64];

	if (w->why[0] == '\0' && w->nsegs > 0) {
		wal_seg_name(name, sizeof(name), w->segs[w->nsegs - 1].seq,
		    w->segs[w->nsegs - 1].first_index, false);
		snprintf(w->why, sizeof(w->why), "%s of %s/%s", op, w->dir, name);
	}
	return r;
}

/* Make r the sticky error of w (the first one stays); returns r. */
static inline int
wal_fail(struct wal *w, int r)
{
	if (w->failed == 0)
		w->failed = r;
	return r;
}

/* The I/O counters into stats; only while the I/O state is the loop's. */
static inline void
wal_stats_merge(struct wal *w)
{
	w->stats.writes = w->io.writes;
	w->stats.bytes = w->io.bytes;
	w->stats.syncs = w->io.syncs;
	w->stats.segments_created = w->io.segments_created;
	w->stats.segments = w->io.segments;
}

#endif
