/*
 * wal_impl.h — what the files of the wal share and nobody else may use:
 * the record layout, the writer's state (struct wal), the log as replay
 * reads it back, and the functions one file of the wal calls in another.
 *
 * The wal is three files, one header (wal.h, the contract):
 *	wal.c		the API: open (with list and recovery of the segments),
 *			append, hard state, snapshot marker, compaction, close;
 *			the record encoders and the writer's view of the log
 *	wal_replay.c	reading segments back at open: checking records,
 *			rebuilding the log, telling a torn tail from damage
 *	wal_sync.c	writing segments: the sync thread and the job handed
 *			to it, the spare segment, creating and rotating segments
 *
 * Not a contract for anyone outside daemon/wal*.c: every name here may
 * change with the wal.
 */
#ifndef RAFTCONF_WAL_IMPL_H
#define RAFTCONF_WAL_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wal.h"

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

/* ------------------------------------------------------------ wal.c */

void wal_seg_name(char *buf, size_t len, uint64_t seq, uint64_t first, bool tmp);
int wal_pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off, uint64_t *nwrites);
int wal_zero_fill(int fd, uint64_t off, uint64_t end);
int wal_grow(void **buf, size_t *cap, size_t need, size_t sz);
/* Encode a record at p (room for it is the caller's); its total size. */
size_t wal_rec_hardstate(uint8_t *p, const struct wal_hardstate *hs);
size_t wal_rec_snapshot(uint8_t *p, uint64_t index, uint64_t term, uint8_t flags);
void wal_rec_sync_mark(uint8_t *p, uint64_t off);
/* Make r the sticky error of w (the first one stays); returns r. */
int wal_fail(struct wal *w, int r);
void wal_stats_merge(struct wal *w);

/* ------------------------------------------------------------ wal_replay.c */

struct replay {
	const char *dir;
	struct wal_hardstate hs;
	uint64_t snap_index, snap_term;
	/* the log is ents[head .. head + n - 1], indexes consecutive */
	struct wal_entry *ents;
	size_t head, n, cap;
};

/* How one segment ended. */
struct seg_end {
	uint32_t version;
	uint64_t fsize;		/* bytes in the file */
	uint64_t end;		/* offset after the last record that checks */
	uint64_t cut;		/* bytes after end to clear (last segment only) */
	const char *why;	/* why they are cleared, NULL if nothing is */
};

int wal_replay_segment(struct replay *r, int dirfd, struct seg *seg, bool last,
	struct seg_end *se, char *err, size_t errlen);
uint64_t wal_replay_first(const struct replay *r);
void wal_replay_free(struct replay *r);

/* ------------------------------------------------------------ wal_sync.c */

int wal_rotate(struct wal *w, uint64_t seg_bytes, const struct wal_hardstate *hs,
	uint64_t snap_index, uint64_t snap_term, uint64_t next);
int wal_flush_buf(struct wal *w);
int wal_thread_start(struct wal *w);
void wal_thread_stop(struct wal *w);
int wal_wait_job(struct wal *w);

#endif
