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

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* fsync the directory dir.  0, or -errno. */
int fs_sync_dir(const char *dir);

/* fsync the directory that holds path ("." for a bare name).  0, or -errno. */
int fs_sync_parent(const char *path);

/* The directory that holds path into buf ("." for a bare name, "/" for a
 * file of the root); cut to len like snprintf. */
void fs_parent_dir(const char *path, char *buf, size_t len);

/*
 * Start fn(arg) on a thread that takes no signal (they are the event
 * loop's), joinable or detached.  0, or -errno.
 */
int fs_thread_start(pthread_t *t, bool detached, void *(*fn)(void *), void *arg);

/*
 * Delete the n files named in names, len bytes of \0-ended names back to
 * back, of the directory dirfd (a descriptor the call
 * duplicates; the caller keeps its own) on a thread of its own, so that the
 * loop does not wait for the disk: in the order given, each unlink made
 * durable (an fsync of the directory) before the next, and all of them
 * after those of every earlier call.  A crash therefore undoes a suffix of
 * the deletions asked for, never one in the middle.  For files nothing
 * needs any more (compacted WAL segments, old snapshots) whose owner copes
 * with finding them again.  Errors are ignored (a later deletion tries
 * again what it can).  If no thread can be started, it is done here.  0, or
 * -errno (nothing was deleted).
 */
int fs_unlink_async(int dirfd, const char *names, size_t len, size_t n);

/* Wait until every deletion fs_unlink_async() was asked for is done. */
void fs_unlink_wait(void);

#endif
