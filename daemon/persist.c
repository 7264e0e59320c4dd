/*
 * persist.c — Raft's batches into the WAL, and the messages that must wait
 * until they are durable.
 *
 * A batch's entries and hard state go to the WAL's buffer; the batch then
 * waits in a queue, with a copy of its after-persist messages (votes,
 * acknowledgements), for the sync that covers it, made by the WAL's own
 * thread.  The loop goes on meanwhile, and what it appends joins the next
 * sync (group commit).  When a sync completes, the batches it covered are
 * told to the core (raft_persisted) in order and their messages sent.
 *
 * Not here: when a batch is cut (node.c), the WAL's format (wal.h, wal_record.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "driver.h"
#include "log.h"
#include "peer.h"
#include "snap.h"
#include "wal.h"

/*
 * A ready batch whose writes went to the WAL but may not be durable yet:
 * raft_persisted() and the messages Raft sends only after persisting wait
 * until wal_sync_done() reaches need.
 */
struct persist_batch {
	struct persist_batch *next;
	uint64_t need;
	bool persist;	      /* call raft_persisted(): must_persist was set */
	uint64_t index, term; /* for raft_persisted() */
	size_t len;	      /* bytes: messages, each name\0 u32 len frame */
	uint8_t bytes[];
};

/*
 * The core caught up past the entries lost after snapshot damage (boot.c's
 * fallback): clear the index in the WAL.  Written after the entries that
 * brought the log there and synced with them, so that a restart before
 * they are durable still waits.
 */
static int
catch_up_clear(struct node *n)
{
	uint64_t was = wal_catch_up_to(n->wal);
	struct raft_status st;
	int rc;

	if (was == 0)
		return 0;
	raft_status(n->raft, &st);
	if (st.catch_up_to != 0)
		return 0;
	if ((rc = wal_set_catch_up(n->wal, 0)) < 0)
		return rc;
	log_notice_f(LOG_FIELDS(.index = st.last_index, .term = st.term),
	    "caught up: the log reaches %" PRIu64 ", past the entries up to %" PRIu64
	    " lost after snapshot damage; voting again",
	    st.last_index, was);
	return 0;
}

/* Hand the batch's entries and hard state to the WAL's buffer. */
static int
wal_write(struct node *n, const struct raft_ready *rd)
{
	int rc;

	if (rd->n_entries) {
		struct wal_entry *we = calloc(rd->n_entries, sizeof(*we));

		if (we == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < rd->n_entries; i++) {
			we[i].index = rd->entries[i].index;
			we[i].term = rd->entries[i].term;
			we[i].type = rd->entries[i].type;
			we[i].len = rd->entries[i].len;
			we[i].data = rd->entries[i].data;
		}
		rc = wal_append(n->wal, we, rd->n_entries);
		free(we);
		if (rc < 0)
			return rc;
	}
	if (rd->has_hard_state) {
		struct wal_hardstate hs = { rd->hs.term, rd->hs.vote, rd->hs.commit };

		if ((rc = wal_set_hardstate(n->wal, &hs)) < 0)
			return rc;
	}
	return catch_up_clear(n);
}

/*
 * A batch that changes nothing but the commit index needs no fsync of its
 * own: the commit index is never acknowledged to anyone, a restart learns it
 * again from the leader, and the store's applied index says how far this
 * node got (boot.c).  It rides on the next sync.  That halves the fsyncs of
 * a lone write.
 */
static bool
needs_sync(const struct node *n, const struct raft_ready *rd)
{
	return rd->n_entries > 0 || !rd->has_hard_state || rd->hs.term != n->persist.queued_term ||
	    rd->hs.vote != n->persist.queued_vote;
}

/*
 * Synchronous: for batches with snapshot chunks, and with nothing queued.
 * A received chunk is not made durable before its answer: a node that
 * restarts has lost the transfer anyway (the core keeps where it stands in
 * memory; it refuses the next chunk and the leader starts over from offset
 * 0, truncating the file), and the file is made durable whole before it is
 * installed (snap_recv_finish).  Its writeback is started as it comes
 * (snap_recv_chunk), so that last sync finds little left.
 */
int
persist_sync_batch(struct node *n, const struct raft_ready *rd)
{
	double t0;
	int rc;

	if ((rc = wal_write(n, rd)) < 0)
		return rc;
	if (!needs_sync(n, rd))
		return 0;
	t0 = node_now_s();
	rc = wal_sync(n->wal);
	status_record_fsync(n, node_now_s() - t0);
	if (rc == 0 && rd->has_hard_state) {
		n->persist.queued_term = rd->hs.term;
		n->persist.queued_vote = rd->hs.vote;
	}
	return rc;
}

static int
scratch_reserve(struct persist_state *ps, size_t need)
{
	uint8_t *p;
	size_t cap = ps->bufcap ? ps->bufcap : 1024;

	if (need <= ps->bufcap)
		return 0;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(ps->buf, cap)) == NULL)
		return -ENOMEM;
	ps->buf = p;
	ps->bufcap = cap;
	return 0;
}

/* Asynchronous: the batch's writes go to the WAL buffer and the batch
 * queues behind the syncs in flight. */
int
persist_async(struct node *n, const struct raft_ready *rd)
{
	struct persist_state *ps = &n->persist;
	struct persist_batch *b;
	size_t len = 0;
	int rc;

	if (rd->must_persist && (rc = wal_write(n, rd)) < 0)
		return rc;
	/* Each message encoded once, into the scratch buffer, then copied whole. */
	for (size_t i = 0; i < rd->n_msgs_after_persist; i++) {
		const struct raft_msg *m = &rd->msgs_after_persist[i];
		const char *name = roster_name(n, m->to);
		size_t nl = strlen(name) + 1;
		uint32_t flen;

		proto_buf_reset(&n->out);
		if ((rc = raftmsg_encode(&n->out, m)) < 0)
			return rc;
		flen = (uint32_t)n->out.len;
		if ((rc = scratch_reserve(ps, len + nl + 4 + flen)) < 0)
			return rc;
		memcpy(ps->buf + len, name, nl);
		memcpy(ps->buf + len + nl, &flen, 4);
		memcpy(ps->buf + len + nl + 4, n->out.data, flen);
		len += nl + 4 + flen;
	}
	b = malloc(sizeof(*b) + len);
	if (b == NULL)
		return -ENOMEM;
	b->next = NULL;
	b->persist = rd->must_persist;
	b->index = rd->persist_index;
	b->term = rd->persist_term;
	b->len = len;
	if (len)
		memcpy(b->bytes, ps->buf, len);
	if (rd->must_persist && needs_sync(n, rd)) {
		b->need = wal_sync_next(n->wal);
		if (rd->has_hard_state) {
			ps->queued_term = rd->hs.term;
			ps->queued_vote = rd->hs.vote;
		}
	} else {
		/* durable with whatever is queued before it */
		b->need = ps->tail ? ps->tail->need : 0;
	}
	if (ps->tail)
		ps->tail->next = b;
	else
		ps->head = b;
	ps->tail = b;
	return 0;
}

/*
 * The WAL ran out of space writing (not syncing): it keeps what it held
 * and nothing waiting on it is released; the next sync tries again in
 * DISK_CHECK_S (persist_progress), and the node refuses writes meanwhile.
 */
void
persist_blocked(struct node *n)
{
	if (!n->disk.wal_blocked)
		log_warning("the WAL ran out of space in %s/wal; what it holds is kept and "
			    "written once there is room",
		    n->cfg->data_dir);
	disk_blocked(n, DISK_WAL, node_now_s());
}

/* The WAL failed the node: stop, saying which operation on which file. */
void
persist_failed(struct node *n, int rc)
{
	char what[512], file[300];

	wal_strerror(n->wal, file, sizeof(file));
	snprintf(what, sizeof(what), "writing the WAL failed (%s)", file);
	node_fatal(n, what, rc);
}

/*
 * A sync of everything the WAL's buffer holds now, without blocking: an
 * empty batch that waits for the next sync, started by persist_progress()
 * once the one out (if any) is done.  The number wal_sync_done() reaches
 * when it is durable; 0 if there was no memory (nothing was asked).
 */
uint64_t
persist_sync_request(struct node *n)
{
	struct persist_state *ps = &n->persist;
	struct persist_batch *b = calloc(1, sizeof(*b));
	uint64_t need = wal_sync_next(n->wal);

	if (b == NULL)
		return 0;
	b->need = need;
	if (ps->tail)
		ps->tail->next = b;
	else
		ps->head = b;
	ps->tail = b;
	persist_progress(n); /* may release b at once */
	return need;
}

/* Batches wait for a sync: a batch with after-persist messages must queue
 * behind them even if it persists nothing itself (Raft's order). */
bool
persist_waiting(const struct node *n)
{
	return n->persist.head != NULL;
}

/* Send a durable batch's messages and tell the core. */
static void
release(struct node *n, const struct persist_batch *b)
{
	for (size_t off = 0; off < b->len;) {
		const char *name = (const char *)b->bytes + off;
		uint32_t flen;

		off += strlen(name) + 1;
		memcpy(&flen, b->bytes + off, 4);
		off += 4;
		if (strcmp(name, "?") != 0)
			peer_send(n->peers, name, b->bytes + off, flen);
		off += flen;
	}
	if (b->persist)
		raft_persisted(n->raft, b->index, b->term);
}

/*
 * Tell Raft about the batches the WAL made durable, in order, and send
 * what waited for them; start the next sync if batches wait for one.
 */
void
persist_progress(struct node *n)
{
	struct persist_state *ps = &n->persist;
	struct persist_batch *b;
	bool moved = false;
	int rc;

	for (;;) {
		while ((b = ps->head) != NULL && b->need <= wal_sync_done(n->wal)) {
			release(n, b);
			ps->head = b->next;
			if (ps->head == NULL)
				ps->tail = NULL;
			free(b);
			moved = true;
		}
		if (b == NULL || wal_sync_busy(n->wal))
			break;
		if (n->disk.wal_blocked && !disk_retry_due(n, DISK_WAL, node_now_s()))
			break; /* out of space: node.c's tick comes back */
		/* The head waits for a sync nobody started yet. */
		ps->sync_started = node_now_s();
		if ((rc = wal_sync_start(n->wal)) < 0) {
			persist_failed(n, rc);
			return;
		}
		if (wal_sync_busy(n->wal))
			break;
	}
	if (moved) {
		peer_flush(n->peers); /* acknowledgements leave now */
		node_schedule(n);
	}
}

/* Wait for everything queued to be durable (before a snapshot's I/O). */
int
persist_drain(struct node *n)
{
	int rc;

	if (n->persist.head == NULL && !wal_sync_busy(n->wal))
		return 0;
	if ((rc = wal_sync(n->wal)) < 0)
		return rc;
	persist_progress(n);
	return 0;
}

void
persist_sync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	int rc = wal_sync_collect(n->wal);

	if (rc < 0 && !wal_broken(n->wal)) {
		persist_blocked(n);
		return;
	}
	if (rc < 0) {
		persist_failed(n, rc);
		return;
	}
	if (rc == 1) {
		status_record_fsync(n, node_now_s() - n->persist.sync_started);
		disk_unblocked(n, DISK_WAL);
	}
	persist_progress(n);
}

void
persist_free(struct node *n)
{
	struct persist_batch *b;

	if (n->persist.sync_ev)
		event_free(n->persist.sync_ev);
	n->persist.sync_ev = NULL;
	while ((b = n->persist.head) != NULL) {
		n->persist.head = b->next;
		free(b);
	}
	n->persist.tail = NULL;
	free(n->persist.buf);
	n->persist.buf = NULL;
}
