/*
 * snapshot.c — the node's side of snapshots: taking one in a child process
 * so that the loop goes on serving, recording it and compacting the log
 * once its marker is durable (without waiting for the disk on the loop), installing one received from the leader, and
 * reading the chunks the core sends to a follower.
 *
 * Not here: the snapshot file, its directory and its chunks (snap.c), the
 * store's contents (store.c), when the core wants one sent (raft.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "errbuf.h"
#include "fsutil.h"
#include "log.h"
#include "driver.h"
#include "snap.h"
#include "store.h"
#include "wal.h"

static void
waiters_reply(struct node *n, const char *err)
{
	struct pending *w, *tmp;

	PENDING_EACH(&n->pending, PEND_SNAPSHOT, w, tmp) {
		if (err)
			reply_error(n, &w->from, PROTO_E_INTERNAL, "snapshot failed: %s", err);
		else
			reply_ok(n, &w->from, n->snapshot_index);
		pending_del(&n->pending, w);
	}
}

/*
 * The child wrote the file: record it in the WAL.  The marker goes to the
 * WAL's buffer and a sync is asked for (persist_sync_request), not waited
 * for: snapshot_progress() drops the log below it once the marker is
 * durable.  Nothing here blocks the loop on the disk.
 */
static void
snapshot_done(struct node *n, uint64_t index, uint64_t term)
{
	int rc;

	if ((rc = raft_snapshot_taken(n->raft, index)) < 0) {
		log_err("snapshot at %" PRIu64 " written, but the log cannot be cut there any"
			" more: %s",
		    index, raft_strerror(-rc));
		waiters_reply(n, "the log moved past it");
		return;
	}
	if ((rc = wal_snapshot(n->wal, index, term)) < 0) {
		log_err("snapshot at %" PRIu64 ": recording it in the WAL failed: %s", index,
		    strerror(-rc));
		persist_failed(n, rc);
		return;
	}
	n->snap.marked = index;
	n->snap.marked_term = term;
	if ((n->snap.marked_need = persist_sync_request(n)) == 0) {
		/* no memory to queue it: wait for the sync here */
		if ((rc = wal_sync(n->wal)) < 0 && wal_broken(n->wal)) {
			persist_failed(n, rc);
			return;
		}
		persist_progress(n);
		n->snap.marked_need = wal_sync_done(n->wal);
	}
	snapshot_progress(n);
}

/*
 * A snapshot's marker is durable: the snapshot is the node's, older ones
 * and the log below it (but for a margin kept for followers that are a
 * little behind) go, their files deleted off the loop (fs_unlink_async).
 */
void
snapshot_progress(struct node *n)
{
	struct snap_job *j = &n->snap;
	uint64_t index = j->marked, keep_from;

	if (index == 0 || wal_sync_done(n->wal) < j->marked_need)
		return;
	j->marked = 0;
	if (index <= n->snapshot_index) { /* the leader's snapshot came meanwhile */
		waiters_reply(n, NULL);
		return;
	}
	snapshot_found(n, index);
	n->snapshot_at = j->bytes_at;
	snap_prune(n->snaps);
	keep_from = index > n->snapshot_margin ? index - n->snapshot_margin : 1;
	if (keep_from > 1) {
		raft_compact(n->raft, keep_from - 1);
		wal_compact(n->wal, keep_from);
	}
	n->stats.snapshots++;
	n->stats.snapshot_last_seconds = node_now_s() - j->t0;
	log_notice_f(LOG_FIELDS(.index = index, .term = j->marked_term),
	    "snapshot at index %" PRIu64 " (term %" PRIu64
	    ") written in %.3f s; log kept from %" PRIu64,
	    index, j->marked_term, n->stats.snapshot_last_seconds, keep_from);
	waiters_reply(n, NULL);
}

/* The snapshot at index is the node's newest: note its size (snapshot_maybe). */
void
snapshot_found(struct node *n, uint64_t index)
{
	char path[RAFTCONF_MAX_PATH + 64];
	struct stat st;

	n->snapshot_index = index;
	snap_path(n->snaps, index, path, sizeof(path));
	n->snapshot_bytes = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	n->snapshot_at = n->applied_bytes;
}

/* Reap the snapshot writer; kill it first if it is still running. */
static int
child_reap(struct node *n, bool kill_it)
{
	int status = 0;

	if (n->snap.pid == 0)
		return -ECHILD;
	if (kill_it)
		kill(n->snap.pid, SIGKILL);
	while (waitpid(n->snap.pid, &status, 0) < 0 && errno == EINTR)
		;
	n->snap.pid = 0;
	store_release(n->store); /* what piled up meanwhile may reach the file */
	if (n->snap.ev) {
		int fd = event_get_fd(n->snap.ev);

		event_free(n->snap.ev);
		close(fd);
		n->snap.ev = NULL;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* A snapshot being written is obsolete (one from the leader comes in, or we stop). */
void
snapshot_abort(struct node *n, const char *why)
{
	char path[RAFTCONF_MAX_PATH + 64];

	if (n->snap.pid == 0)
		return; /* a marker on its way stays: snapshot_progress sorts it */
	child_reap(n, true);
	snap_tmp_path(n->snaps, n->snap.index, path, sizeof(path));
	unlink(path);
	waiters_reply(n, why);
}

static void
child_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct snap_job *j = &n->snap;
	ssize_t got;

	got = read(fd, j->err + j->errlen, sizeof(j->err) - 1 - j->errlen);
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got > 0) {
		j->errlen += (size_t)got;
		if (j->errlen < sizeof(j->err) - 1)
			return;
	}
	/* EOF: the child is gone (or said all it may). */
	j->err[j->errlen] = '\0';
	n->stats.snapshot_hold_last_seconds = node_now_s() - j->t0;
	if (child_reap(n, false) == 0) {
		snapshot_done(n, j->index, j->term);
		if (n->failed)
			return;
	} else {
		log_err("snapshot at %" PRIu64 " failed: %s; the next one in %d s", j->index,
		    j->errlen ? j->err : "the writer died", SNAPSHOT_RETRY_S);
		j->retry_at = node_now_s() + SNAPSHOT_RETRY_S;
		waiters_reply(n, j->errlen ? j->err : "the writer died");
	}
	node_schedule(n);
}

/*
 * In the child: write the store as it was at the fork.  The parent holds
 * the store's file meanwhile (store_hold): its batches pile up in memory
 * and reach the file a slice a tick once this process is gone (apply.c),
 * so the child's view of the file, and its copy of the pile, stay the
 * store at the fork (issue 16 item 2).
 */
static void __attribute__((noreturn))
child_main(struct node *n, pid_t parent, int fd, const char *path, uint64_t index, uint64_t term,
    const struct raft_member *members, size_t n_members)
{
	char cerr[256] = "";
	size_t off = 0;
	int rc;

	node_child_start(n, parent);
	rc = snap_write(n->store, path, index, term, members, n_members, cerr, sizeof(cerr));
	if (rc < 0 && cerr[0] == '\0')
		snprintf(cerr, sizeof(cerr), "%s", strerror(-rc));
	while (rc < 0 && off < strlen(cerr)) {
		ssize_t w = write(fd, cerr + off, strlen(cerr) - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	_exit(rc < 0 ? 1 : 0);
}

/*
 * Start writing a snapshot of the store as applied now, in a child
 * process, so that the loop goes on serving: the store commits, then
 * forks; the child reads the store as it was (store_after_fork) while the
 * parent holds the file and its batches pile up in memory until the child
 * is gone (child_main).  snapshot_done() records it in the WAL, and
 * snapshot_progress() drops the log below it once that is durable, but for
 * a margin kept for followers that are a little behind.  -EINPROGRESS: one
 * is being written or recorded; -EALREADY: nothing new.
 */
int
snapshot_take(struct node *n, char *err, size_t errlen)
{
	struct raft_snapshot_meta meta;
	char path[RAFTCONF_MAX_PATH + 64];
	uint64_t index = n->applied;
	int rc, p[2];
	pid_t pid, parent;

	if (n->snap.pid || n->snap.marked) {
		seterr(err, errlen, "a snapshot is being written");
		return -EINPROGRESS;
	}
	if (n->restore.running) {
		seterr(err, errlen, "the leader's snapshot is being restored");
		return -EINPROGRESS;
	}
	grow_wait(n); /* the writer reads the file a grower writes (a tenth of a second) */
	if (index == 0 || index <= n->snapshot_index) {
		seterr(err, errlen, "nothing applied since the last snapshot (index %" PRIu64 ")",
		    n->snapshot_index);
		return -EALREADY;
	}
	if ((rc = apply_flush(n)) < 0) {
		seterr(err, errlen, "committing the store: %s", strerror(-rc));
		return rc;
	}
	if (n->apply_paused || n->disk.wal_blocked) {
		seterr(err, errlen, "the disk is full (%s)", n->cfg->data_dir);
		return -ENOSPC;
	}
	/* The core hears of it (and may send it to followers) only once the
	 * file is durable: snapshot_done. */
	if ((rc = raft_snapshot_meta_at(n->raft, index, &meta)) < 0) {
		seterr(err, errlen, "no snapshot can be cut at %" PRIu64 ": %s", index,
		    raft_strerror(-rc));
		return rc;
	}
	snap_path(n->snaps, index, path, sizeof(path));
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		seterr(err, errlen, "pipe: %s", strerror(-rc));
		return rc;
	}
	n->snap.t0 = node_now_s();
	/* from the fork on the file is the child's to read (apply_flush above
	 * left no batch open, so this cannot fail but by a bug) */
	if ((rc = store_hold(n->store)) < 0) {
		close(p[0]);
		close(p[1]);
		seterr(err, errlen, "holding the store: %s", strerror(-rc));
		return rc;
	}
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_main(n, parent, p[1], path, index, meta.term, meta.members, meta.n_members);
	}
	rc = pid < 0 ? -errno : 0;
	close(p[1]);
	if (rc < 0) {
		store_release(n->store);
		close(p[0]);
		seterr(err, errlen, "fork: %s", strerror(-rc));
		return rc;
	}
	n->snap.pid = pid;
	n->snap.index = index;
	n->snap.bytes_at = n->applied_bytes;
	n->snap.term = meta.term;
	n->snap.errlen = 0;
	n->snap.ev = event_new(n->base, p[0], EV_READ | EV_PERSIST, child_cb, n);
	if (n->snap.ev == NULL || event_add(n->snap.ev, NULL) < 0) {
		/* cannot watch it: wait for it here */
		if (n->snap.ev == NULL)
			close(p[0]);
		rc = child_reap(n, false);
		if (rc == 0)
			snapshot_done(n, index, meta.term);
		seterr(err, errlen, "%s", rc == 0 ? "" : "the writer failed");
		return rc;
	}
	return 0;
}

/*
 * Every snapshot_every applied entries, a snapshot, once the log since the
 * last one holds at least snapshot_log_percent of that one's size: a large
 * store is not rewritten whole for a little log (at a million keys of 128
 * bytes, a 184 MB file every 10000 entries took more CPU than serving).
 */
static bool
log_enough(const struct node *n)
{
	return n->applied_bytes - n->snapshot_at >=
	    n->snapshot_bytes / 100 * n->cfg->snapshot_log_percent;
}

void
snapshot_maybe(struct node *n)
{
	char err[256];
	int rc;

	if (n->snap.pid || n->snap.marked || n->restore.running || grow_running(n) ||
	    n->applied - n->snapshot_index < n->cfg->snapshot_every || !log_enough(n) ||
	    n->apply_paused || n->disk.wal_blocked || node_now_s() < n->snap.retry_at)
		return;
	rc = snapshot_take(n, err, sizeof(err));
	if (rc < 0 && rc != -EALREADY)
		log_err("periodic snapshot at %" PRIu64 " failed: %s", n->applied, err);
}

/* raftconfctl snapshot: answered when the writer is done. */
void
snapshot_request(struct node *n, const struct origin *o)
{
	struct pending *w;
	char err[256];
	int rc = snapshot_take(n, err, sizeof(err));

	if (rc == -EALREADY) {
		reply_ok(n, o, n->snapshot_index);
		return;
	}
	if (rc == -EINPROGRESS && n->restore.running) {
		reply_error(n, o, PROTO_E_BUSY, "%s: try again once it is installed", err);
		return;
	}
	if (rc < 0 && rc != -EINPROGRESS) {
		reply_error(n, o, PROTO_E_INTERNAL, "snapshot failed: %s", err);
		return;
	}
	if (n->snap.pid == 0 && n->snap.marked == 0) { /* written and recorded already */
		reply_ok(n, o, n->snapshot_index);
		return;
	}
	if ((w = pending_new(PEND_SNAPSHOT, o, 0, NULL, 0)) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	pending_add(&n->pending, w);
}

static bool
members_same(const struct raft_member *a, size_t na, const struct raft_member *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].id != b[i].id || a[i].voter != b[i].voter ||
		    a[i].context_len != b[i].context_len ||
		    memcmp(a[i].context, b[i].context, a[i].context_len) != 0)
			return false;
	return true;
}

/*
 * A snapshot chunk from the network, before the core sees it.  If it is the
 * last chunk of a snapshot the core would install, the file it completes
 * must verify (every record, the trailer) and be the snapshot the message
 * says (index, term, membership): the core replaces its log as soon as it
 * accepts the chunk, and a store that cannot follow once stopped the node.
 * The chunks written before were checked as they came (snap_recv_check):
 * what is left is this chunk, and one that follows chunks that did not
 * check is refused at once.  0: let the core judge it; -EBADMSG (or
 * -errno) with err: refuse it.
 */
int
snapshot_check_received(struct node *n, const struct raft_msg *m, char *err, size_t errlen)
{
	struct raft_status st;
	struct snap_meta meta;
	uint64_t t;
	int rc;

	if (!m->last) /* the chunks before it may tell already */
		return snap_recv_refused(n->snaps, m->offset, err, errlen);
	raft_status(n->raft, &st);
	if (m->index <= st.commit || (raft_term_at(n->raft, m->index, &t) == 0 && t == m->log_term))
		return 0; /* the core holds it already: it installs nothing */
	if ((rc = snap_recv_verify(n->snaps, m->offset, m->data, m->len, &meta, err, errlen)) < 0)
		return rc;
	if (meta.index != m->index || meta.term != m->log_term) {
		seterr(err, errlen,
		    "its bytes are the snapshot at index %" PRIu64 " (term %" PRIu64
		    "), the message says index %" PRIu64 " (term %" PRIu64 ")",
		    meta.index, meta.term, m->index, m->log_term);
		rc = -EBADMSG;
	} else if (!members_same(meta.members, meta.n_members, m->members, m->n_members)) {
		seterr(err, errlen, "its membership is not the one the message says");
		rc = -EBADMSG;
	}
	snap_meta_free(&meta);
	return rc;
}

/* The store now holds the leader's snapshot at index: the node goes on from there. */
static int
install_done(struct node *n, uint64_t index, uint64_t term)
{
	int rc;

	/* The tokens revoked before the snapshot go, those made come. */
	if ((rc = tokens_load(n)) < 0)
		return rc;
	n->applied = index;
	watch_store_replaced(n);
	snapshot_found(n, index);
	/* A store that ran out of space is replaced whole: apply goes on
	 * from the snapshot (the core hands out what follows it). */
	n->apply_paused = false;
	disk_unblocked(n, DISK_STORE);
	snap_prune(n->snaps);
	log_notice_f(LOG_FIELDS(.index = index, .term = term),
	    "installed the "
	    "leader's snapshot at index %" PRIu64 " (term %" PRIu64 ")",
	    index, term);
	return 0;
}

static void *
restore_thread(void *arg)
{
	struct restore_job *j = arg;
	char done = 1;

	j->rc = snap_restore_build(j->store_path, j->path, &j->built, j->err, sizeof(j->err));
	while (write(j->wfd, &done, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Join the restore's thread; its pipe and event go. */
static void
restore_join(struct node *n)
{
	struct restore_job *j = &n->restore;
	int fd = event_get_fd(j->ev);

	pthread_join(j->thread, NULL);
	j->running = false;
	event_free(j->ev); /* before its descriptor is closed */
	close(fd);
	j->ev = NULL;
	close(j->wfd);
	j->wfd = -1;
}

void
snapshot_restore_abort(struct node *n)
{
	if (!n->restore.running)
		return;
	restore_join(n);
	store_built_free(n->restore.built);
	n->restore.built = NULL;
}

/* The thread is done: swap its store in, or stop the node. */
static void
restore_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct restore_job *j = &n->restore;
	struct store_built *b;
	char err[256];
	int rc;

	restore_join(n);
	b = j->built;
	j->built = NULL;
	if ((rc = j->rc) < 0) {
		log_err("snapshot %" PRIu64 " from the leader cannot be restored: %s", j->index,
		    j->err);
	} else if ((rc = store_replace_swap(n->store, b, err, sizeof(err))) < 0) {
		log_err(
		    "snapshot %" PRIu64 " from the leader cannot be restored: %s", j->index, err);
	} else if ((rc = install_done(n, j->index, j->term)) == 0) {
		/* what the core handed out meanwhile, again */
		rc = raft_reapply(n->raft, j->index);
	}
	if (rc < 0) {
		node_fatal(n, "installing the leader's snapshot failed", rc);
		return;
	}
	node_schedule(n);
}

/* Start the restore's thread: 0, or -errno. */
static int
restore_start(struct node *n, const char *path, const struct raft_snapshot_meta *meta)
{
	struct restore_job *j = &n->restore;
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	j->ev = event_new(n->base, p[0], EV_READ, restore_cb, n);
	if (j->ev == NULL || event_add(j->ev, NULL) < 0) {
		if (j->ev != NULL)
			event_free(j->ev);
		j->ev = NULL;
		close(p[0]);
		close(p[1]);
		return -ENOMEM;
	}
	j->wfd = p[1];
	j->index = meta->index;
	j->term = meta->term;
	j->built = NULL;
	j->rc = 0;
	j->err[0] = '\0';
	snprintf(j->store_path, sizeof(j->store_path), "%s", store_path(n->store));
	snprintf(j->path, sizeof(j->path), "%s", path);
	if ((rc = fs_thread_start(&j->thread, false, restore_thread, j)) < 0) {
		event_free(j->ev);
		j->ev = NULL;
		close(p[0]);
		close(p[1]);
		j->wfd = -1;
		return rc;
	}
	j->running = true;
	return 0;
}

/*
 * Follower: a snapshot received in chunks replaces the store and the log.
 * The WAL records it at once (a restart restores it from the file, which
 * is durable); the store is built anew from it on a thread while the loop
 * goes on serving (at a million keys the build takes about a second), and
 * swapped in by restore_cb.  Meanwhile nothing is applied, and the core
 * hands out again what it handed out (raft_reapply).  Without a thread,
 * here.
 */
int
snapshot_install(struct node *n, const struct raft_snapshot_meta *meta)
{
	char path[RAFTCONF_MAX_PATH + 64], err[256];
	int rc;

	if ((rc = snap_recv_finish(n->snaps, meta->index, path, sizeof(path))) < 0) {
		log_err("snapshot %" PRIu64 ": cannot complete the received file: %s", meta->index,
		    strerror(-rc));
		return rc;
	}
	snapshot_abort(n, "the leader's snapshot replaced it");
	snapshot_restore_abort(n); /* this one is newer */
	grow_abort(n);		   /* the file is about to be replaced */
	if ((rc = apply_flush(n)) < 0)
		return rc;
	if ((rc = wal_snapshot(n->wal, meta->index, meta->term)) < 0)
		return rc;
	if ((rc = restore_start(n, path, meta)) == 0) {
		log_info("restoring the leader's snapshot at index %" PRIu64 " on a thread",
		    meta->index);
		return 0;
	}
	log_warning("no thread to restore the leader's snapshot (%s): restoring it on the loop",
	    strerror(-rc));
	if ((rc = snap_restore(n->store, path, err, sizeof(err))) < 0) {
		log_err("snapshot %" PRIu64 " from the leader cannot be restored: %s", meta->index,
		    err);
		return rc;
	}
	return install_done(n, meta->index, meta->term);
}

/* Leader: read the chunks of snapshots the core wants to send. */
void
snapshot_send_chunks(struct node *n, const struct raft_chunk_read *cr, size_t count)
{
	static uint8_t *buf;
	static size_t cap;

	for (size_t i = 0; i < count; i++) {
		size_t got = 0;
		uint64_t size = 0;
		bool last = false;
		int rc;

		if (cr[i].max_len > cap) {
			uint8_t *nb = realloc(buf, cr[i].max_len);

			if (nb == NULL)
				return;
			buf = nb;
			cap = cr[i].max_len;
		}
		rc = snap_read_chunk(n->snaps, cr[i].snap_index, cr[i].offset, buf, cr[i].max_len,
		    &got, &last, &size);
		if (rc < 0) {
			log_debug("snapshot %" PRIu64 " chunk at %" PRIu64 " for %s: %s",
			    cr[i].snap_index, cr[i].offset, roster_name(n, cr[i].to),
			    strerror(-rc));
			continue;
		}
		raft_snapshot_chunk(
		    n->raft, cr[i].to, cr[i].snap_index, cr[i].offset, buf, got, last, size);
	}
}
