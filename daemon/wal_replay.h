/*
 * wal_replay.h — reading a wal's segments back at open (wal_replay.c), for
 * wal_open: the log as replay rebuilds it, and how the last segment ended.
 *
 * Not a contract for anyone outside daemon/wal*.c.  Replay only reads the
 * disk; acting on what it found (cutting a torn tail off) is wal_open's.
 */
#ifndef RAFTCONF_WAL_REPLAY_H
#define RAFTCONF_WAL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wal.h"

struct seg;

/* The log read back so far; zero it and set dir before the first segment. */
struct replay {
	const char *dir;
	struct wal_hardstate hs;
	uint64_t snap_index, snap_term;
	uint64_t catch_up; /* the last CATCH_UP record's index */
	/* the log is ents[head .. head + n - 1], indexes consecutive */
	struct wal_entry *ents;
	size_t head, n, cap;
};

/* How one segment ended. */
struct seg_end {
	uint32_t version;
	uint64_t fsize;	 /* bytes in the file */
	uint64_t end;	 /* offset after the last record that checks */
	uint64_t cut;	 /* bytes after end to clear (last segment only) */
	const char *why; /* why they are cleared, NULL if nothing is */
};

/*
 * Replay segment seg of the directory dirfd into r, in sequence order;
 * sets seg->max_index.  last: it is the last segment, where a torn tail
 * is reported in *se instead of being an error.  -EBADMSG with err filled
 * on damage, or another negative errno.
 */
int wal_replay_segment(struct replay *r, int dirfd, struct seg *seg, bool last, struct seg_end *se,
    char *err, size_t errlen);
/* Index of the first entry of r; r holds at least one. */
uint64_t wal_replay_first(const struct replay *r);
/* Frees the entries r still holds. */
void wal_replay_free(struct replay *r);

#endif
