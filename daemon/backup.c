/*
 * backup.c — raftconfctl backup: a consistent copy of the whole store,
 * streamed to the client as the snapshot file it is (snap.h), so that
 * raftconfd --restore (restore.c) and the snapshot code read it alike.
 *
 * Consistent: a backup first asks for a ReadIndex, as a linearizable read
 * does, and waits until this node has applied that index; then it sends a
 * snapshot at or above it: the newest snapshot file if it is, else one
 * taken now (snapshot.c, in its child process, off the loop).  Every write
 * acknowledged before the request reached the daemon is in it.  The file
 * is opened once and read from that descriptor, so the snapshots taken
 * and pruned meanwhile do not disturb it.
 *
 * Bounded: the file goes out in BACKUP_CHUNKs of RAFTCONF_BACKUP_CHUNK
 * bytes, one pread each, only while the client has fewer than
 * RAFTCONF_BACKUP_WINDOW bytes unread (control_backlog); the control
 * socket's write callback (backup_drained) sends more as it takes them.
 * A slow client costs a window of memory and holds a descriptor, nothing
 * more; at most RAFTCONF_MAX_BACKUPS run at once.
 *
 * Who: the control socket only.  dispatch.c lets only writers ask (not the
 * read group): a snapshot holds every value and the hashes of the HTTP
 * tokens.
 *
 * Not here: the file's format (snap.c), taking a snapshot (snapshot.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "driver.h"
#include "snap.h"

enum backup_state {
	B_INDEX,    /* waiting for the ReadIndex */
	B_APPLIED,  /* waiting for this node to apply it */
	B_SNAPSHOT, /* waiting for a snapshot at or above it */
	B_SENDING,  /* streaming the file */
};

struct backup {
	struct backup *next;
	struct origin from;
	enum backup_state state;
	uint64_t ctx;	      /* the ReadIndex's context */
	uint64_t need;	      /* every acknowledged write is at or below it */
	uint64_t deadline_ms; /* for the ReadIndex */
	bool took;	      /* a snapshot was started for this backup */
	int fd;		      /* the snapshot file, once sending */
	uint64_t index, records, total, off;
	uint8_t *buf; /* RAFTCONF_BACKUP_CHUNK */
};

static void
backup_del(struct node *n, struct backup *b)
{
	struct backup **pp = &n->backups;

	while (*pp != NULL && *pp != b)
		pp = &(*pp)->next;
	if (*pp == b)
		*pp = b->next;
	if (b->fd >= 0)
		close(b->fd);
	free(b->buf);
	free(b);
}

static size_t
backup_count(const struct node *n)
{
	size_t k = 0;

	for (const struct backup *b = n->backups; b != NULL; b = b->next)
		k++;
	return k;
}

static void
backup_fail(struct node *n, struct backup *b, uint16_t code, const char *why)
{
	log_warning("backup for control client %" PRIx64 " failed: %s", b->from.conn, why);
	reply_error(n, &b->from, code, "backup failed: %s", why);
	backup_del(n, b);
}

void
backup_request(struct node *n, const struct origin *o)
{
	struct backup *b;

	if (o->kind != FROM_CONTROL) {
		reply_error(n, o, PROTO_E_REFUSED, "backups are made on the control socket only");
		return;
	}
	if (backup_count(n) >= RAFTCONF_MAX_BACKUPS) {
		reply_error(n, o, PROTO_E_REFUSED,
		    "%d backups are being made already; try again when one is done",
		    RAFTCONF_MAX_BACKUPS);
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	b->from = *o;
	b->fd = -1;
	b->ctx = ++n->next_ctx;
	b->deadline_ms = node_now_ms() + n->request_timeout_ms;
	if (raft_read_index(n->raft, b->ctx) < 0) {
		free(b);
		reply_no_leader(n, o);
		return;
	}
	b->next = n->backups;
	n->backups = b;
	node_schedule(n);
}

void
backup_read_index(struct node *n, uint64_t ctx, uint64_t index)
{
	for (struct backup *b = n->backups; b != NULL; b = b->next)
		if (b->state == B_INDEX && b->ctx == ctx) {
			b->need = index ? index : 1;
			b->state = B_APPLIED;
		}
}

/* Send chunks while the client has room for them; the last one ends the backup. */
static void
pump(struct node *n, struct backup *b)
{
	struct control_client_info ci;

	while (b->state == B_SENDING &&
	    control_backlog(n->ctl, b->from.conn) < RAFTCONF_BACKUP_WINDOW) {
		struct proto_msg m = { .type = PROTO_T_BACKUP_CHUNK };
		uint64_t left = b->total - b->off;
		size_t want = left < RAFTCONF_BACKUP_CHUNK ? (size_t)left : RAFTCONF_BACKUP_CHUNK;
		ssize_t got = pread(b->fd, b->buf, want, (off_t)b->off);

		if (control_client(n->ctl, b->from.conn, &ci) < 0) {
			backup_del(n, b); /* the client left */
			return;
		}
		if (got < 0 || (size_t)got != want) {
			char why[128];

			snprintf(why, sizeof(why), "reading the snapshot at offset %" PRIu64 ": %s",
			    b->off, got < 0 ? strerror(errno) : "it is shorter than it was");
			backup_fail(n, b, PROTO_E_INTERNAL, why);
			return;
		}
		m.backup_chunk.flags = b->off + want == b->total ? PROTO_F_LAST : 0;
		m.backup_chunk.index = b->index;
		m.backup_chunk.records = b->records;
		m.backup_chunk.total = b->total;
		m.backup_chunk.offset = b->off;
		m.backup_chunk.data = proto_mem(b->buf, want);
		reply_msg(n, &b->from, &m);
		b->off += want;
		if (b->off == b->total) {
			log_notice_f(LOG_FIELDS(.index = b->index),
			    "backup for control client pid %d: snapshot at index %" PRIu64
			    ", %" PRIu64 " bytes, sent",
			    (int)ci.pid, b->index, b->total);
			backup_del(n, b);
			return;
		}
	}
}

/* The newest snapshot file covers the backup: open it and start sending. */
static void
start_sending(struct node *n, struct backup *b)
{
	char path[SNAP_PATH_MAX], err[SNAP_PATH_MAX + 256];
	struct snap_meta meta;
	struct stat st;
	int rc;

	snap_path(n->snaps, n->snapshot_index, path, sizeof(path));
	if ((b->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(b->fd, &st) < 0) {
		snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
		backup_fail(n, b, PROTO_E_INTERNAL, err);
		return;
	}
	/* the header only: a few bytes, and the file is the one just written */
	if ((rc = snap_read_meta(path, &meta, err, sizeof(err))) < 0) {
		backup_fail(n, b, PROTO_E_INTERNAL, err);
		return;
	}
	b->index = meta.index;
	b->records = meta.records;
	b->total = (uint64_t)st.st_size;
	snap_meta_free(&meta);
	if ((b->buf = malloc(RAFTCONF_BACKUP_CHUNK)) == NULL) {
		backup_fail(n, b, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	b->state = B_SENDING;
	pump(n, b);
}

/* A snapshot at or above b->need: there, being written, or to take now. */
static void
await_snapshot(struct node *n, struct backup *b)
{
	char err[256];
	int rc;

	for (;;) {
		if (n->snapshot_index >= b->need) {
			start_sending(n, b);
			return;
		}
		if (n->snap.pid != 0 || n->snap.marked != 0 || n->restore.running)
			return; /* one is being written (or restored): judge when it is done */
		if (b->took) {
			backup_fail(n, b, PROTO_E_INTERNAL,
			    "the snapshot could not be written (see the daemon's log)");
			return;
		}
		rc = snapshot_take(n, err, sizeof(err));
		if (rc < 0) {
			backup_fail(n, b, rc == -ENOSPC ? PROTO_E_NOSPACE : PROTO_E_INTERNAL, err);
			return;
		}
		b->took = true;
	}
}

void
backup_progress(struct node *n)
{
	struct backup *b, *next;
	uint64_t now = node_now_ms();

	for (b = n->backups; b != NULL; b = next) {
		next = b->next;
		if (b->state == B_INDEX && now >= b->deadline_ms) {
			reply_error(n, &b->from, PROTO_E_TIMEOUT,
			    "no leader confirmed the backup's index within %u ms",
			    n->request_timeout_ms);
			backup_del(n, b);
			continue;
		}
		if (b->state == B_APPLIED && n->applied >= b->need)
			b->state = B_SNAPSHOT;
		if (b->state == B_SNAPSHOT)
			await_snapshot(n, b);
	}
}

void
backup_drained(struct node *n, uint64_t conn)
{
	for (struct backup *b = n->backups; b != NULL; b = b->next)
		if (b->from.conn == conn && b->state == B_SENDING) {
			pump(n, b);
			return;
		}
}

void
backup_drop_conn(struct node *n, uint64_t conn)
{
	struct backup *b, *next;

	for (b = n->backups; b != NULL; b = next) {
		next = b->next;
		if (b->from.kind == FROM_CONTROL && b->from.conn == conn)
			backup_del(n, b);
	}
}

void
backup_free(struct node *n)
{
	while (n->backups != NULL)
		backup_del(n, n->backups);
}
