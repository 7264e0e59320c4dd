/*
 * snap_int.h — what snap.c (the file: writing, reading, checking,
 * restoring) and snapdir.c (the snapshot directory and the chunks that
 * carry a snapshot between nodes) share.  Not for other modules: snap.h is
 * the contract.
 */
#ifndef RAFTCONF_SNAP_INT_H
#define RAFTCONF_SNAP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "snap.h"

#define FILE_BUFFER (256 * 1024)
/*
 * Every SNAP_WRITEBACK bytes a file being written (a snapshot made here, or
 * one received) has its writeback started, and the chunk before waited for:
 * the file reaches the disk as it is made instead of as one flood of dirty
 * pages at the final fsync, which the WAL's fdatasyncs would queue behind.
 * A hint only: the final fsync is what makes it durable.
 */
#define SNAP_WRITEBACK (8u << 20)

/* The one naming rule of the directory. */
#define SNAP_SUFFIX   ".snap"
#define TMP_SUFFIX    ".tmp"
#define INCOMING_NAME "incoming.part"

/*
 * The incoming file, checked as its chunks are written (snap_recv_check),
 * so that the check of its last chunk costs that chunk and not the file:
 * what a reader of the file's first `next` bytes has seen, the bytes after
 * its last whole record waiting in carry.
 */
struct recv_check {
	bool ok;     /* it covers the file's first `next` bytes */
	bool header; /* the header was read: meta holds it */
	bool ended;  /* the trailer was read */
	int bad;     /* -EBADMSG once they are not a snapshot (why) */
	uint64_t next;
	struct snap_meta meta;
	uint64_t done, keys;
	uint32_t total;
	uint8_t *carry;
	size_t carry_len;
	char why[256];
};

struct snapdir {
	char dir[RAFTCONF_MAX_PATH + sizeof("/snap")];
	int in_fd; /* INCOMING_NAME, or -1 */
	bool in_dirty;
	uint64_t in_started; /* writeback started up to here (snap_recv_chunk) */
	struct recv_check chk;
};

/* A reader of a snapshot file, or of a stream of one (snap.c). */
struct reader {
	FILE *f;
	const char *path;
	uint64_t off;
	uint8_t *buf; /* the current record */
	size_t cap;
	uint64_t records; /* announced by the header */
	uint64_t done;	  /* read so far */
	uint64_t keys;	  /* of them, "k:" records */
	uint32_t total;	  /* as the trailer's */
	uint32_t version; /* the header's */
	uint8_t *conv;	  /* an older version's record, as the store keeps it now */
	size_t convcap;
	bool partial; /* more bytes may follow the stream: a short read is -EAGAIN */
};

void snap__reader_close(struct reader *rd);
/* The header into meta (freed on error); 0, -EBADMSG with err, -EAGAIN
 * (partial: the stream ends inside it), -errno. */
int snap__read_header(struct reader *rd, struct snap_meta *meta, char *err, size_t errlen);
/* The next record, checked: 1 and *rec (pointing into rd); 0 after the
 * last, once the trailer checked; -EBADMSG with err, -EAGAIN (partial),
 * -errno.  A store_import_next. */
int snap__read_record(void *arg, struct store_record *rec, char *err, size_t errlen);
/* The whole stream checked, header to trailer (snap_verify's check): 0 and
 * meta with its count of keys, or as snap__read_record (meta freed). */
int snap__check_all(struct reader *rd, struct snap_meta *meta, char *err, size_t errlen);

#endif
