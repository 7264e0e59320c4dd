/*
 * fsutil.h — what makes a file operation durable beyond the file's own
 * fsync: a rename, a new file or an unlink is on disk only once the
 * directory holding it is synced.
 *
 * Both block on the disk: call them where blocking is allowed (at start, on
 * the WAL's thread, in a snapshot child, or where the caller says why).
 */
#ifndef RAFTCONF_FSUTIL_H
#define RAFTCONF_FSUTIL_H

/* fsync the directory dir.  0, or -errno. */
int fs_sync_dir(const char *dir);

/* fsync the directory that holds path ("." for a bare name).  0, or -errno. */
int fs_sync_parent(const char *path);

#endif
