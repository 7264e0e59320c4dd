/*
 * tdbscan.h — every record of a tdb file in the file's order, read from a
 * mapping of it, without libtdb's traverse.
 *
 * Why
 *   tdb_traverse follows the hash chains: at a million records it reads
 *   the file in a random order and copies each record out, 400 ms here
 *   against 27 ms for a walk from the first record to the last (the
 *   snapshot writer's profile, BENCHMARKS.md sessions 21 and 22).
 *
 * What it promises
 *   tdbscan calls cb for every live record (TDB_MAGIC) of a tdb 1.4 file
 *   as it is on disk, in the file's order, with pointers into a read-only
 *   mapping valid during the call only.  It first walks the record headers
 *   once and calls nothing unless every one is where and what the format
 *   says (the header, each record's magic, length and alignment, the
 *   recovery area, the file's end): -EBADMSG then (or -errno), and the
 *   caller walks with tdb_traverse instead.  cb's nonzero return stops it
 *   (0 then).
 *
 * What it is not
 *   It does not lock, and it does not see an open transaction's writes:
 *   only for a file nobody writes meanwhile (a snapshot's writer in a
 *   child, or the store between its batches).  A file made with mutexes or
 *   in another byte order is -EBADMSG.  It trusts the file to hold what
 *   tdb committed: a process that died in a transaction's commit, between
 *   its last write and clearing the recovery area's magic, leaves records
 *   tdb's recovery rolls back but does not truncate, which tdbscan would
 *   give; the store runs tdb_check on every file it opens (store_open),
 *   which refuses such a file, so it is rebuilt instead.
 */
#ifndef RAFTCONF_TDBSCAN_H
#define RAFTCONF_TDBSCAN_H

#include <tdb.h>

#include <stdint.h>

int tdbscan(struct tdb_context *tdb, tdb_traverse_func cb, void *arg);

/*
 * The file's free records, from its free list (-EBADMSG for a list that
 * leaves the file, loops or holds a record that is not free): their bytes
 * (each record's length, its header not counted), how many, the largest,
 * and the file's size.  A walk of the list, not of the file: a few
 * thousand records, where the file's headers at 1 KiB values are one for
 * every 1.1 KB of it (the grower's children spent 5.6 % of the machine
 * walking them, BENCHMARKS.md session 24).
 */
struct tdbscan_free {
	uint64_t bytes, records, largest, file_bytes;
};
int tdbscan_free(struct tdb_context *tdb, struct tdbscan_free *f);

/*
 * Whether a record of the free list (from its head, next by next) reaches
 * past end: 1, 0, or -EBADMSG for a list that leaves the file, loops or
 * holds a record that is not free.
 */
int tdbscan_free_past(struct tdb_context *tdb, uint64_t end);

#endif
