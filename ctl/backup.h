/*
 * backup.h — raftconfctl backup FILE: a consistent copy of the whole store.
 *
 * The daemon streams a snapshot file (daemon/snap.h) in BACKUP_CHUNKs; it
 * goes to FILE.tmp, is synced, checked whole with the daemon's own reader
 * (snap_verify: every record's crc, the trailer), then renamed to FILE and
 * the directory synced.  On any failure FILE is left as it was and
 * FILE.tmp is removed.  Progress goes to stderr for a backup over 1 MiB,
 * the result line to stdout.
 */
#ifndef RAFTCONF_CTL_BACKUP_H
#define RAFTCONF_CTL_BACKUP_H

#include "client.h"

/* The exit status: 0, or 1 after saying why on stderr. */
int backup_run(struct client *c, const char *file);

#endif
