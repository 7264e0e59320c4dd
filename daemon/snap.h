/*
 * snap.h — the snapshot files of one node: <data_dir>/snap/.
 *
 * A snapshot is a file written by store_snapshot_write() (format, checksums
 * and versioning are the store's) named by its last index, with the Raft
 * membership at that index in its header as a blob this module encodes.
 * This module names, finds, prunes, reads and receives those files; it
 * does not know what is in the records.
 *
 *	snap/%016llx.snap	complete snapshots, newest = highest index
 *	snap/incoming.part	a snapshot being received in chunks
 *
 * Calls block on the disk (small reads and writes, one fdatasync per batch
 * of received chunks); none waits on the network.
 */
#ifndef RAFTCONF_SNAP_H
#define RAFTCONF_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

struct snapdir;

/* How many complete snapshots are kept: the newest and one to fall back to. */
#define SNAP_KEEP	2

struct snap_info {
	uint64_t index;
	uint64_t term;
	uint32_t n_members;
	struct raft_member *members;	/* owned: snap_info_free() */
	char path[4200];
};

/* Create <data_dir>/snap if needed.  0, or -errno with err filled. */
int snap_open(const char *data_dir, struct snapdir **out, char *err, size_t errlen);
void snap_close(struct snapdir *sd);

/*
 * The newest snapshot whose file checks completely (every record's crc, the
 * trailer); a damaged or unreadable newer one is reported through log and
 * skipped, so the node falls back to the previous one.  0 and *info, or
 * -ENOENT when there is none.
 */
int snap_latest(struct snapdir *sd, struct snap_info *info);
void snap_info_free(struct snap_info *info);

/* The path of the snapshot at index. */
void snap_path(const struct snapdir *sd, uint64_t index, char *buf, size_t len);

/* Delete all but the newest SNAP_KEEP complete snapshots, and what writers
 * that died midway left ("*.snap.tmp"). */
void snap_prune(struct snapdir *sd);

/* The membership blob kept in a snapshot's header. */
int snap_members_encode(const struct raft_member *m, size_t n, uint8_t **blob, size_t *len);
int snap_members_decode(const uint8_t *blob, size_t len, struct raft_member **m,
			uint32_t *n);

/*
 * Leader side: up to max bytes of the snapshot at index from offset.
 * *last: they reach the end of the file.  0, or -ENOENT (that snapshot is
 * gone), -errno.
 */
int snap_read_chunk(struct snapdir *sd, uint64_t index, uint64_t offset, void *buf,
		    size_t max, size_t *got, bool *last);

/*
 * Follower side.  A chunk at offset 0 starts a new incoming file; others
 * are written at their offset.  snap_recv_sync() makes what was written
 * durable (one fdatasync; nothing when nothing was written).
 * snap_recv_finish() closes the incoming file and renames it to the
 * snapshot of index, durably; its path goes to path.
 */
int snap_recv_chunk(struct snapdir *sd, uint64_t offset, const void *data, size_t len);
int snap_recv_sync(struct snapdir *sd);
int snap_recv_finish(struct snapdir *sd, uint64_t index, char *path, size_t pathlen);

#endif
