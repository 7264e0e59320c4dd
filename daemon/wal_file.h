/*
 * wal_file.h — the small helpers the wal's files share below the format:
 * writing a whole buffer at an offset, writing zeros, and growing an
 * array.  (Syncing a directory is fsutil.c's, for every module.)
 *
 * Not a contract for anyone outside daemon/wal*.c.  All of them block on
 * the file they are given, if any; none keeps state.
 */
#ifndef RAFTCONF_WAL_FILE_H
#define RAFTCONF_WAL_FILE_H

#include <stddef.h>
#include <stdint.h>

/* pwrite(2) all of p at off, retrying short writes; counts calls in *nwrites if not NULL. */
int wal_pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off, uint64_t *nwrites);
/* Write zeros over [off, end) of fd. */
int wal_zero_fill(int fd, uint64_t off, uint64_t end);
/* Grow *buf (element size sz) so it holds at least need elements; -ENOMEM. */
int wal_grow(void **buf, size_t *cap, size_t need, size_t sz);

#endif
