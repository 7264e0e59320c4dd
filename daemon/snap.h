/*
 * snap.h — snapshots: the file format, writing one from a store, reading
 * and checking one, restoring a store from one, and the snapshot directory
 * of a node (<data_dir>/snap/) with the chunks that carry a snapshot
 * between nodes.
 *
 * What it is not
 *   It does not decide when to take or install a snapshot, or how to do it
 *   off the event loop (the node forks and calls snap_write in the child);
 *   it does not know how the store keeps its records (store.h hands them
 *   out and takes them in) or what a record means.
 *
 * Files
 *	snap/%016llx.snap	complete snapshots, named by their last index;
 *				newest = highest index
 *	snap/%016llx.snap.tmp	one being written (snap_tmp_path); a writer
 *				that died leaves it, snap_prune removes it
 *	snap/incoming.part	one being received in chunks
 *
 * File format (integers little-endian)
 *
 *	header	 "RCSNAP\0\0", u32 version, u32 flags (0), u64 index, u64 term,
 *		 u64 record count, u32 members length, members,
 *		 u32 crc32c of the header bytes before it
 *	records	 u32 key length, u32 value length, key, value,
 *		 u32 crc32c of the record bytes before it
 *		 (the store's "k:", "t:", "c:" and "h:" records, verbatim:
 *		 store_export)
 *	trailer	 "RCSNEND\0", u64 record count, u32 crc32c of all record bytes
 *		 but the records' own crcs, u32 crc32c of the 20 trailer bytes
 *		 before it
 *
 *   The file ends right after the trailer.  members is the Raft membership
 *   at index as members.h encodes it everywhere (u32 n, then n times u64
 *   id, u8 voter, u16 context length, context; little-endian).
 *
 * Versions
 *   6  written since a DEL_PREFIX's dedup record keeps the number of keys it
 *      deleted after the digest (41 bytes, store_state.h; the records of
 *      other writes stay 33 bytes), so that a retry is answered with it; a
 *      version 5 file is the same without such records, still read.
 *   5  written since a client's dedup record ("c:") keeps the digest of
 *      the request its last seq named (33 bytes, store_state.h); a version
 *      4 file is the same with 25-byte "c:" records, still read: restored
 *      as they are, a record without a digest takes any retry of its seq
 *      for the retry it says.
 *   4  written since the store keeps a history of changes for watch
 *      --from-rev ("h:" records); a version 3 file is the same without
 *      them (the node then keeps history from the snapshot's index on).
 *   3  written since the store keeps each key's create revision and version
 *      ("k:" records of store format 2).
 *   2  the same but for "k:" records, which hold only u64 revision, value;
 *      still read: each is restored with create revision = revision and
 *      version 1 (what is known of it), so an upgraded node starts from its
 *      old snapshots.
 *   1  the same but for members, which is big-endian there; still read,
 *      checked and restored alike.
 *
 * Blocking
 *   Every call blocks on the disk (snap_write and snap_restore read or write
 *   a whole snapshot; the chunk calls a chunk); none waits on the network.
 *
 * Errors
 *   0 or a negative errno; -EBADMSG always means a damaged, truncated or
 *   unreadable (wrong version) file, with a message in err.
 */
#ifndef RAFTCONF_SNAP_H
#define RAFTCONF_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "raft.h"
#include "store.h"

/* How many complete snapshots are kept: the newest and one to fall back to. */
#define SNAP_KEEP 2
/* The snapshot format this build writes, and the oldest one it still reads. */
#define SNAP_VERSION	    6
#define SNAP_OLDEST_VERSION 1
/* Longest name in the snapshot directory, "%016llx.snap.tmp", with its NUL. */
#define SNAP_NAME_MAX 32
/* Room for the path of any file of the snapshot directory. */
#define SNAP_PATH_MAX (RAFTCONF_MAX_PATH + sizeof("/snap/") + SNAP_NAME_MAX)

/* ------------------------------------------------------------ the file */

/* What a snapshot file's header says. */
struct snap_meta {
	uint32_t version;
	uint64_t index;
	uint64_t term;
	uint64_t records;
	uint64_t keys; /* of the records, the keys ("k:"): snap_verify only */
	uint32_t n_members;
	struct raft_member *members; /* malloc'd, owned: snap_meta_free() */
};

/*
 * Write a snapshot of the whole store to path: first path's temporary
 * (snap_tmp_path's rule), fsync, rename, fsync the directory.  index and
 * term must be the store's applied index and term (-EINVAL otherwise);
 * members is the membership at that index.  Streams the store
 * (store_export): memory does not grow with it.  Not inside a batch
 * (-EBUSY).  On failure no file is left behind.
 */
int snap_write(struct store *s, const char *path, uint64_t index, uint64_t term,
    const struct raft_member *members, size_t n_members, char *err, size_t errlen);

/* Read and check the header of a snapshot file only. */
int snap_read_meta(const char *path, struct snap_meta *meta, char *err, size_t errlen);

/* Check a whole snapshot file (every record and the trailer) without loading it. */
int snap_verify(const char *path, struct snap_meta *meta, char *err, size_t errlen);

/*
 * Replace the whole store with the snapshot at path: its records, and the
 * membership and applied index of its header (store_replace).  Every record
 * and the trailer are checked before the store is touched: a truncated,
 * corrupt or wrong-version file is -EBADMSG with a message, and the store
 * is left as it was.  Not inside a batch (-EBUSY).
 */
int snap_restore(struct store *s, const char *path, char *err, size_t errlen);
/* Its first step, for a thread of its own: the store at store_path built
 * anew from the snapshot beside it (store_replace_build); the store's own
 * thread then swaps it in (store_replace_swap). */
int snap_restore_build(
    const char *store_path, const char *path, struct store_built **out, char *err, size_t errlen);

void snap_meta_free(struct snap_meta *meta);

/* ------------------------------------------------------------ the directory */

struct snapdir;

struct snap_info {
	uint64_t index;
	uint64_t term;
	uint32_t n_members;
	struct raft_member *members; /* owned: snap_info_free() */
	char path[SNAP_PATH_MAX];
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
/*
 * The path snap_write writes the snapshot at index to before it renames it
 * into place: what a writer stopped midway leaves, to delete.
 */
void snap_tmp_path(const struct snapdir *sd, uint64_t index, char *buf, size_t len);

/* Delete all but the newest SNAP_KEEP complete snapshots, oldest first and
 * on a thread of fsutil.h's (fs_unlink_async: the loop does not wait for the
 * disk), and what writers that died midway left (snap_tmp_path), here. */
void snap_prune(struct snapdir *sd);

/* ------------------------------------------------------------ chunks */

/*
 * Leader side: up to max bytes of the snapshot at index from offset.
 * *last: they reach the end of the file; *size: the file's bytes.  0, or
 * -ENOENT (that snapshot is gone), -errno.
 */
int snap_read_chunk(struct snapdir *sd, uint64_t index, uint64_t offset, void *buf, size_t max,
    size_t *got, bool *last, uint64_t *size);

/*
 * Follower side.  A chunk at offset 0 starts a new incoming file; others
 * are written at their offset, and the file's writeback is started every
 * few MiB (not waited for); nothing is made durable before
 * snap_recv_finish(), which makes the incoming file durable (one
 * fdatasync), closes it and renames it to the snapshot of index, durably;
 * its path goes to path.
 */
int snap_recv_chunk(struct snapdir *sd, uint64_t offset, const void *data, size_t len);
/*
 * The chunk snap_recv_chunk wrote at offset, checked: the records it
 * completes (CRC, lengths, the trailer's totals); a record it ends inside
 * waits for the next chunk.  Called after each write, in their order, when
 * it suits the caller (the node answers the leader first); chunks checked
 * out of the order they were written in, or not at all, make
 * snap_recv_verify read the file back instead.
 */
void snap_recv_check(struct snapdir *sd, uint64_t offset, const void *data, size_t len);
/*
 * Before the last chunk of a received snapshot is accepted: would the
 * incoming file's first offset bytes followed by data (len bytes) be a
 * whole snapshot that checks as snap_verify's?  Its header goes to meta
 * (snap_meta_free), with its count of keys.  Writes nothing: -EBADMSG with
 * err when not (or when the bytes before offset are not all there),
 * -errno.
 *
 * With each chunk before it checked by snap_recv_check in order from
 * offset 0, this checks only data on from there and reads nothing back;
 * otherwise the file is read back and checked whole here.
 * snap_recv_refused() says, before a chunk at offset is accepted, whether
 * the chunks before it already are not a snapshot: -EBADMSG with err (why),
 * or 0.
 */
int snap_recv_verify(struct snapdir *sd, uint64_t offset, const void *data, size_t len,
    struct snap_meta *meta, char *err, size_t errlen);
int snap_recv_refused(struct snapdir *sd, uint64_t offset, char *err, size_t errlen);
int snap_recv_finish(struct snapdir *sd, uint64_t index, char *path, size_t pathlen);

#endif
