/*
 * backup.h — raftconfctl backup FILE: a consistent copy of the whole store.
 *
 * The daemon streams a snapshot file (daemon/snap.h) in BACKUP_CHUNKs; it
 * goes to FILE.tmp, is synced, checked whole with the daemon's own reader
 * (snap_verify: every record's crc, the trailer), then renamed to FILE and
 * the directory synced.  On any failure FILE is left as it was and
 * FILE.tmp is removed.  Progress goes to stderr for a backup over 1 MiB,
 * the result to stdout through out (output.h).
 */
#ifndef RAFTCONF_CTL_BACKUP_H
#define RAFTCONF_CTL_BACKUP_H

#include "client.h"

struct output;

/* The exit status: 0, or 1 after saying why on stderr. */
int backup_run(struct client *c, const struct output *out, const char *file);

#endif
