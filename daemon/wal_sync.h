/*
 * wal_sync.h — what wal.c uses of wal_sync.c besides the sync API of
 * wal.h: starting and stopping the sync thread, waiting for its job,
 * writing the buffer out, and starting the next segment.
 *
 * Not a contract for anyone outside daemon/wal*.c.  All of these block on
 * file I/O or on the sync thread; each is for the loop, and only while it
 * owns the I/O state (see struct wal, wal_state.h) unless said otherwise.
 */
#ifndef RAFTCONF_WAL_SYNC_H
#define RAFTCONF_WAL_SYNC_H

#include <stdint.h>

struct wal;
struct wal_hardstate;

/*
 * Start the next segment (the first one if there is none); everything
 * before it has been synced.  hs, the snapshot marker, catch_up (see
 * wal_set_catch_up) and next (the index expected next) are the ones of the
 * data written so far.  Also run by the sync thread, in a job.
 */
int wal_rotate(struct wal *w, uint64_t seg_bytes, const struct wal_hardstate *hs,
    uint64_t snap_index, uint64_t snap_term, uint64_t catch_up, uint64_t next);
/* Write the append buffer into the current segment, without syncing. */
int wal_flush_buf(struct wal *w);
int wal_thread_start(struct wal *w);
/* Stop the sync thread, if it runs. */
void wal_thread_stop(struct wal *w);
/* Wait for the job that is out, if any, and collect it. */
int wal_wait_job(struct wal *w);

#endif
