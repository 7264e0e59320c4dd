/*
 * node.c — drives the Raft core with real I/O (contract in node.h).
 *
 * Not here: consensus rules (raft.c), bytes on the wire (proto.c,
 * raftmsg.c), the file formats (wal.c, store.c), sockets (peer.c,
 * control.c).  This file decides only what happens in which order.
 */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "control.h"
#include "http.h"
#include "log.h"
#include "peer.h"
#include "proto.h"
#include "raft.h"
#include "raftmsg.h"
#include "snap.h"
#include "store.h"
#include "wal.h"

/* Where a request came from, so that its answer finds the way back. */
enum origin_kind { FROM_CONTROL = 1, FROM_PEER, FROM_HTTP };

struct origin {
	enum origin_kind kind;
	uint64_t conn;
	uint64_t req_id;
	bool no_forward;	/* forwarded to us already: answer, never forward again */
};

/* A write proposed here, waiting for its entry to apply. */
struct pending_write {
	struct origin from;
	uint64_t index, term;
	uint64_t deadline_ms;
	uint8_t op;			/* PROTO_T_SET, DEL, JOIN or REMOVE */
	struct pending_write *prev, *next;
};

/* A linearizable read waiting for its read index, then for the apply. */
struct pending_read {
	struct origin from;
	uint64_t ctx;
	uint64_t index;			/* 0 until the core said it */
	uint64_t deadline_ms;
	uint8_t type;			/* PROTO_T_GET or PROTO_T_LIST */
	size_t keylen;
	struct pending_read *next;
	char key[];			/* key or prefix */
};

/* A join this spare asked a member for (peer_dial_once). */
struct pending_join {
	struct origin from;
	uint64_t conn;
	uint64_t deadline_ms;
	struct pending_join *next;
};

/* A leadership transfer asked for here, answered when the leader changed. */
struct pending_transfer {
	struct origin from;
	uint64_t to;			/* 0: any other voter */
	uint64_t deadline_ms;
	struct pending_transfer *next;
};

/* raftconfctl watch: a client told of every applied change under prefix. */
struct watcher {
	struct origin from;
	size_t plen;
	struct watcher *next;
	char prefix[];
};
/* A watcher whose client lets this much pile up unread is dropped. */
#define WATCH_MAX_BACKLOG	(8 * 1024 * 1024)

/* Nodes heard from that are not (yet) members: where to answer them. */
struct stranger {
	uint64_t id;
	char name[RAFTCONF_MAX_ID + 1];
};
#define N_STRANGERS	16

/* Members that just left: their links stay a moment so they can be told. */
struct departed {
	uint64_t id;
	char name[RAFTCONF_MAX_ID + 1];
	uint64_t unlink_at_ms;
};
#define N_DEPARTED	16
#define DEPARTED_LINGER_MS	5000

/* The notice a leader sends a member whose removal committed. */
#define REMOVED_NOTICE	"removed from the cluster"

/* A client request this follower forwarded to the leader. */
struct pending_fwd {
	struct origin from;
	uint64_t fwd_id;
	uint64_t leader;		/* whom it went to */
	uint64_t deadline_ms;
	struct pending_fwd *next;
};

struct member {
	uint64_t id;
	bool voter;
	char name[RAFTCONF_MAX_ID + 1];
	char address[RAFTCONF_MAX_ADDRESS + 1];
	bool permanent_learner;	/* joined with --learner: never promoted */
	/* Heartbeat round trips, measured by the leader. */
	uint64_t hb_seq;
	double hb_sent;
	double rtt;		/* seconds, last measured; < 0: none yet */
};

/*
 * WAL segment size: segments are deleted whole once a snapshot covers them,
 * so this bounds the log kept on disk beyond the snapshot (see
 * raftconfd(8), "Disk use").
 */
#define NODE_WAL_SEGMENT_BYTES	(1024 * 1024)

/* Upper bounds (seconds) of the fsync latency histogram's buckets. */
static const double fsync_buckets[] = {
	0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
};
#define N_FSYNC_BUCKETS (sizeof(fsync_buckets) / sizeof(fsync_buckets[0]))

/*
 * A ready batch whose writes went to the WAL but may not be durable yet:
 * raft_persisted() and the messages Raft sends only after persisting
 * (acknowledgements, votes) wait until wal_sync_done() reaches need.
 */
struct persist_batch {
	struct persist_batch *next;
	uint64_t need;
	bool persist;			/* call raft_persisted(): must_persist was set */
	uint64_t index, term;		/* for raft_persisted() */
	size_t len;			/* bytes: messages, each name\0 u32 len frame */
	uint8_t bytes[];
};

/* A client waiting for the snapshot being written. */
struct snap_waiter {
	struct snap_waiter *next;
	struct origin from;
};

/* What /metrics shows; counters only grow. */
struct node_stats {
	uint64_t fsync_count;
	double fsync_sum;
	uint64_t fsync_bucket[N_FSYNC_BUCKETS];	/* not cumulative */
	uint64_t proposals_committed;
	uint64_t proposals_failed;
	uint64_t snapshots;
	double snapshot_last_seconds;
	uint64_t requests[PROTO_E_MAX + 1];	/* [0]: answered ok, else by error */
};

struct node {
	const struct config *cfg;
	struct event_base *base;
	struct raft *raft;
	struct wal *wal;
	struct store *store;
	struct peer_net *peers;
	struct control *ctl;
	struct http_server *http;
	int lock_fd;
	uint64_t self;

	struct event *tick_ev;
	struct event *ready_ev;		/* runs after the I/O of a loop turn */
	struct event *sync_ev;		/* the WAL's sync thread finished a sync */
	struct persist_batch *pb_head, *pb_tail;	/* waiting to be durable */
	uint64_t queued_term;		/* the hard state's term and vote as */
	uint64_t queued_vote;		/* last handed to the WAL */
	double sync_started;		/* when the sync out was started */
	bool store_txn;			/* applies since the last store commit */
	uint64_t store_txn_entries;

	/* A child process writing a snapshot (take_snapshot). */
	pid_t snap_pid;			/* 0: none */
	struct event *snap_ev;		/* its pipe: a message, then EOF */
	uint64_t snap_job_index, snap_job_term;
	double snap_job_t0;
	char snap_job_err[256];
	size_t snap_job_errlen;
	struct snap_waiter *snap_waiters;	/* 'raftconfctl snapshot' asked */
	unsigned tick_ms;
	uint64_t ticks;
	double last_tick;		/* when tick_cb last ran */
	double max_stall;		/* longest the loop made a tick wait, s */

	struct member *members;
	size_t n_members;

	struct pending_write *w_head, *w_tail;
	struct pending_read *reads;
	struct pending_fwd *fwds;
	struct pending_join *joins;
	struct watcher *watchers;
	struct pending_transfer *transfers;
	struct stranger strangers[N_STRANGERS];
	struct departed departed[N_DEPARTED];
	bool removed;			/* a leader told us we were removed */
	unsigned next_stranger;
	uint64_t next_ctx;
	uint64_t next_fwd;
	unsigned request_timeout_ms;

	uint64_t applied;
	struct snapdir *snaps;
	uint64_t snapshot_index;	/* of the newest snapshot file */
	uint64_t snapshot_margin;	/* entries kept below it for slow followers */

	/* Readiness (sd_notify): READY=1 once caught up with the leader. */
	bool ready;
	uint64_t ready_ctx;		/* the ReadIndex that measures "caught up" */
	uint64_t ready_index;		/* 0 until the leader answered */
	uint64_t ready_deadline_ms;
	uint64_t ready_asked_ms;
	uint64_t notify_ms;		/* last EXTEND_TIMEOUT_USEC */
	struct event *watchdog_ev;
	struct event *stop_ev;		/* bounds the wait for a transfer on stop */
	char status_line[256];

	enum raft_role last_role;
	uint64_t last_leader;
	uint64_t last_term;
	bool stopping;

	struct node_stats stats;
	struct proto_buf out;
	struct raftmsg_scratch scratch;
	uint8_t *cmdbuf;
	size_t cmdcap;
	uint8_t *pbuf;			/* persist_async's scratch */
	size_t pbufcap;
};

static void schedule_ready(struct node *n);
static void persist_progress(struct node *n);
static void fatal(struct node *n, const char *what, int rc);
static int store_flush(struct node *n);
static int take_snapshot(struct node *n, char *err, size_t errlen);
static void notify_status(struct node *n);

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
node_id_of(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

/* ------------------------------------------------------------- membership */

static const struct member *
member_by_id(const struct node *n, uint64_t id)
{
	for (size_t i = 0; i < n->n_members; i++)
		if (n->members[i].id == id)
			return &n->members[i];
	return NULL;
}

static const char *
name_of(const struct node *n, uint64_t id)
{
	const struct member *m = member_by_id(n, id);

	if (m)
		return m->name;
	for (size_t i = 0; id && i < N_STRANGERS; i++)
		if (n->strangers[i].id == id)
			return n->strangers[i].name;
	return id ? "?" : "none";
}

/* Remember a node that talks to us before it is a member we know of. */
static void
stranger_seen(struct node *n, const char *name)
{
	uint64_t id = node_id_of(name);

	if (member_by_id(n, id))
		return;
	for (size_t i = 0; i < N_STRANGERS; i++)
		if (n->strangers[i].id == id)
			return;
	n->strangers[n->next_stranger].id = id;
	snprintf(n->strangers[n->next_stranger].name, sizeof(n->strangers[0].name), "%s", name);
	n->next_stranger = (n->next_stranger + 1) % N_STRANGERS;
}

/* A member's context is "NAME ADDRESS". */
static void
context_make(struct raft_member *rm, const char *name, const char *address)
{
	int len = snprintf((char *)rm->context, sizeof(rm->context), "%s %s", name, address);

	rm->context_len = len < (int)sizeof(rm->context) ? (uint16_t)len : (uint16_t)(sizeof(rm->context) - 1);
}

/* "NAME ADDRESS" or "NAME ADDRESS learner" (a permanent learner). */
static int
context_parse(const uint8_t *ctx, size_t len, struct member *m)
{
	const uint8_t *sp = memchr(ctx, ' ', len), *sp2;
	size_t nl, al;

	if (sp == NULL)
		return -EINVAL;
	nl = sp - ctx;
	al = len - nl - 1;
	m->permanent_learner = false;
	if ((sp2 = memchr(sp + 1, ' ', al)) != NULL) {
		if ((size_t)(ctx + len - sp2 - 1) != 7 || memcmp(sp2 + 1, "learner", 7) != 0)
			return -EINVAL;
		m->permanent_learner = true;
		al = sp2 - sp - 1;
	}
	if (nl == 0 || nl > RAFTCONF_MAX_ID || al == 0 || al > RAFTCONF_MAX_ADDRESS)
		return -EINVAL;
	memcpy(m->name, ctx, nl);
	m->name[nl] = '\0';
	memcpy(m->address, sp + 1, al);
	m->address[al] = '\0';
	return 0;
}

static void
depart(struct node *n, const struct member *m)
{
	struct departed *d = &n->departed[0];

	for (size_t i = 1; i < N_DEPARTED; i++)
		if (n->departed[i].unlink_at_ms < d->unlink_at_ms)
			d = &n->departed[i];
	if (d->id && d->id != m->id && !member_by_id(n, d->id))
		peer_unlink(n->peers, d->name);		/* the oldest makes room */
	d->id = m->id;
	snprintf(d->name, sizeof(d->name), "%s", m->name);
	d->unlink_at_ms = now_ms() + DEPARTED_LINGER_MS;
}

static void
departed_expire(struct node *n, uint64_t now)
{
	for (size_t i = 0; i < N_DEPARTED; i++) {
		struct departed *d = &n->departed[i];

		if (d->id == 0 || now < d->unlink_at_ms)
			continue;
		if (!member_by_id(n, d->id))
			peer_unlink(n->peers, d->name);
		d->id = 0;
	}
}

/* Leader: a removal committed; tell the removed node, which cannot learn it
 * from a log it no longer receives. */
static void
tell_removed(struct node *n, const struct raft_entry *e)
{
	struct proto_msg m = { .type = PROTO_T_REJECT };
	struct raft_change c;
	char text[128];

	if (raft_leader(n->raft) != n->self || raft_change_decode(e->data, e->len, &c) < 0 ||
	    c.op != RAFT_CHANGE_REMOVE || c.id == n->self)
		return;
	for (size_t i = 0; i < N_DEPARTED; i++) {
		if (n->departed[i].id != c.id)
			continue;
		snprintf(text, sizeof(text), REMOVED_NOTICE " %s at index %" PRIu64,
		    n->cfg->cluster, e->index);
		m.reject.message = proto_cstr(text);
		proto_buf_reset(&n->out);
		if (proto_encode(&n->out, &m, NULL, 0) == 0)
			peer_send(n->peers, n->departed[i].name, n->out.data, n->out.len);
	}
}

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

/* Take the core's membership: rebuild the table and the peer links. */
static void
members_sync(struct node *n)
{
	const struct raft_member *rm;
	struct member *nm;
	size_t count, j = 0;

	rm = raft_members(n->raft, &count);
	nm = calloc(count ? count : 1, sizeof(*nm));
	if (nm == NULL) {
		log_err("out of memory while updating the membership");
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const struct member *old = member_by_id(n, rm[i].id);

		nm[j].id = rm[i].id;
		nm[j].voter = rm[i].voter;
		nm[j].rtt = old ? old->rtt : -1;
		nm[j].hb_seq = old ? old->hb_seq : 0;
		nm[j].hb_sent = old ? old->hb_sent : 0;
		if (context_parse(rm[i].context, rm[i].context_len, &nm[j]) < 0) {
			log_err("member %016" PRIx64 ": unreadable context; ignoring it", rm[i].id);
			continue;
		}
		j++;
	}
	/* Links to members that left go away. */
	for (size_t i = 0; i < n->n_members; i++) {
		bool still = false;

		for (size_t k = 0; k < j; k++)
			still |= nm[k].id == n->members[i].id;
		if (!still && n->members[i].id != n->self) {
			depart(n, &n->members[i]);
			log_notice_f((&(struct log_fields){ .peer = n->members[i].name }),
			    "member %s (%s) left the cluster", n->members[i].name,
			    n->members[i].address);
		}
	}
	for (size_t k = 0; k < j; k++)
		if (nm[k].id != n->self)
			peer_link(n->peers, nm[k].name, nm[k].address);
	free(n->members);
	n->members = nm;
	n->n_members = j;
	qsort(n->members, n->n_members, sizeof(*n->members), member_cmp);
}

/* ---------------------------------------------------------------- replies */

static void
send_frame(struct node *n, const struct origin *o)
{
	switch (o->kind) {
	case FROM_CONTROL:
		control_reply(n->ctl, o->conn, n->out.data, n->out.len);
		break;
	case FROM_PEER:
		peer_reply(n->peers, o->conn, n->out.data, n->out.len);
		break;
	case FROM_HTTP:
		http_reply(n->http, o->conn, n->out.data, n->out.len);
		break;
	}
}

static void
reply_msg(struct node *n, const struct origin *o, struct proto_msg *m)
{
	char err[128];

	m->id = o->req_id;
	n->stats.requests[m->type == PROTO_T_ERROR && m->error.code <= PROTO_E_MAX ?
	    m->error.code : 0]++;
	proto_buf_reset(&n->out);
	if (proto_encode(&n->out, m, err, sizeof(err)) < 0) {
		log_err("cannot encode a %s reply: %s", proto_type_name(m->type), err);
		return;
	}
	send_frame(n, o);
}

static void
reply_error(struct node *n, const struct origin *o, uint16_t code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
reply_error(struct node *n, const struct origin *o, uint16_t code, const char *fmt, ...)
{
	struct proto_msg m = { .type = PROTO_T_ERROR };
	char text[RAFTCONF_MAX_ERROR];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	m.error.code = code;
	m.error.message = proto_cstr(text);
	reply_msg(n, o, &m);
}

static void
reply_ok(struct node *n, const struct origin *o, uint64_t revision)
{
	struct proto_msg m = { .type = PROTO_T_OK };

	m.ok.revision = revision;
	reply_msg(n, o, &m);
}

static void
reply_no_leader(struct node *n, const struct origin *o)
{
	struct raft_status st;

	raft_status(n->raft, &st);
	if (n->removed)
		reply_error(n, o, PROTO_E_NOTMEMBER, "this node was removed from the cluster");
	else if (st.role == RAFT_SPARE)
		reply_error(n, o, PROTO_E_NOTMEMBER, "this node is not a member of a cluster "
		    "(a spare: 'raftconfctl join ADDRESS' adds it)");
	else
		reply_error(n, o, PROTO_E_NOLEADER, "no leader: an election is in progress or "
		    "this node cannot reach a majority of the cluster (term %" PRIu64 ")", st.term);
}

/* ------------------------------------------------------------------ reads */

static void
serve_get(struct node *n, const struct origin *o, const char *key, size_t keylen)
{
	struct proto_msg m = { .type = PROTO_T_VALUE };
	uint8_t *val = NULL;
	size_t len = 0;
	uint64_t rev = 0;
	int rc;

	rc = store_get(n->store, key, keylen, &val, &len, &rev);
	if (rc == -ENOENT) {
		reply_error(n, o, PROTO_E_NOTFOUND, "key not found: %.*s", (int)keylen, key);
		return;
	}
	if (rc < 0) {
		reply_error(n, o, PROTO_E_INTERNAL, "store read failed: %s", strerror(-rc));
		return;
	}
	m.value_reply.revision = rev;
	m.value_reply.value = proto_mem(val, len);
	reply_msg(n, o, &m);
	free(val);
}

struct list_ctx {
	struct proto_reply rb;
	bool full;
};

static int
list_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen, uint64_t rev)
{
	struct list_ctx *lc = arg;

	if (proto_reply_add_entry(&lc->rb, proto_mem(key, klen), rev, proto_mem(val, vlen)) ==
	    -EMSGSIZE) {
		lc->full = true;
		return 1;	/* stop */
	}
	return 0;
}

static void
serve_list(struct node *n, const struct origin *o, const char *prefix, size_t plen)
{
	struct list_ctx lc = { 0 };
	int rc;

	proto_buf_reset(&n->out);
	proto_reply_begin(&lc.rb, &n->out, PROTO_T_LIST_REPLY, o->req_id);
	rc = store_list(n->store, prefix, plen, list_cb, &lc);
	if (rc < 0) {
		proto_reply_abort(&lc.rb);
		reply_error(n, o, PROTO_E_INTERNAL, "store read failed: %s", strerror(-rc));
		return;
	}
	proto_reply_end(&lc.rb, lc.full ? PROTO_F_TRUNCATED : 0);
	send_frame(n, o);
}

static void
serve_read(struct node *n, struct pending_read *r)
{
	if (r->type == PROTO_T_GET)
		serve_get(n, &r->from, r->key, r->keylen);
	else
		serve_list(n, &r->from, r->key, r->keylen);
}

static void
start_read(struct node *n, const struct origin *o, uint8_t type, uint8_t flags,
	   const struct proto_str *key)
{
	struct pending_read *r;
	int rc;

	if (flags & PROTO_F_STALE) {
		struct pending_read tmp = { .from = *o, .type = type };

		/* Served from this node's copy as it is: no round trip. */
		if (type == PROTO_T_GET)
			serve_get(n, o, key->ptr, key->len);
		else
			serve_list(n, o, key->ptr, key->len);
		(void)tmp;
		return;
	}
	if ((r = calloc(1, sizeof(*r) + key->len + 1)) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	r->from = *o;
	r->type = type;
	r->keylen = key->len;
	memcpy(r->key, key->ptr, key->len);
	r->ctx = ++n->next_ctx;
	r->deadline_ms = now_ms() + n->request_timeout_ms;
	rc = raft_read_index(n->raft, r->ctx);
	if (rc < 0) {
		free(r);
		reply_no_leader(n, o);
		return;
	}
	r->next = n->reads;
	n->reads = r;
	schedule_ready(n);
}

/* Serve every read whose index is known and applied; drop expired ones. */
static void
reads_progress(struct node *n, uint64_t now)
{
	struct pending_read **pp = &n->reads, *r;

	while ((r = *pp) != NULL) {
		if (r->index && r->index <= n->applied) {
			serve_read(n, r);
		} else if (now >= r->deadline_ms) {
			reply_error(n, &r->from, PROTO_E_TIMEOUT, "read timed out: no leader "
			    "confirmed it within %u ms", n->request_timeout_ms);
		} else {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		free(r);
	}
}

/* ----------------------------------------------------------------- writes */

static void
write_insert(struct node *n, struct pending_write *w)
{
	struct pending_write *after = n->w_tail;

	/* Almost always at the tail; a leader re-elected after a truncation
	 * may reuse lower indexes. */
	while (after && after->index > w->index)
		after = after->prev;
	w->prev = after;
	w->next = after ? after->next : n->w_head;
	if (w->next)
		w->next->prev = w;
	else
		n->w_tail = w;
	if (after)
		after->next = w;
	else
		n->w_head = w;
}

static void
write_remove(struct node *n, struct pending_write *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		n->w_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		n->w_tail = w->prev;
	free(w);
}

static int
ensure_cmdbuf(struct node *n, size_t len)
{
	uint8_t *p;

	if (len <= n->cmdcap)
		return 0;
	if ((p = realloc(n->cmdbuf, len)) == NULL)
		return -ENOMEM;
	n->cmdbuf = p;
	n->cmdcap = len;
	return 0;
}

static void
forward(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	uint64_t leader = raft_leader(n->raft);
	const struct member *lm = member_by_id(n, leader);
	struct proto_msg fm = *m;
	struct pending_fwd *f;
	int rc;

	if (o->no_forward || lm == NULL || leader == n->self) {
		/* A forwarded request is not forwarded again: no loops. */
		reply_no_leader(n, o);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	f->from = *o;
	f->fwd_id = ++n->next_fwd;
	f->leader = leader;
	f->deadline_ms = now_ms() + n->request_timeout_ms;
	fm.id = f->fwd_id;
	proto_buf_reset(&n->out);
	if ((rc = proto_encode(&n->out, &fm, NULL, 0)) == 0)
		rc = peer_send(n->peers, lm->name, n->out.data, n->out.len);
	if (rc < 0) {
		free(f);
		reply_error(n, o, PROTO_E_NOLEADER, "cannot reach the leader %s (%s): %s",
		    lm->name, lm->address, strerror(-rc));
		return;
	}
	f->next = n->fwds;
	n->fwds = f;
}

static void
start_write(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	struct pending_write *w;
	ssize_t enc;
	size_t len;
	int rc;

	if (raft_leader(n->raft) != n->self) {
		forward(n, o, m);
		return;
	}
	if (m->type == PROTO_T_SET)
		len = STORE_CMD_SET_SIZE(m->set.key.len, m->set.value.len);
	else
		len = STORE_CMD_DEL_SIZE(m->del.key.len);
	if (ensure_cmdbuf(n, len) < 0 || (w = calloc(1, sizeof(*w))) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	if (m->type == PROTO_T_SET)
		enc = store_cmd_encode_set(n->cmdbuf, n->cmdcap, m->set.client_id, m->set.seq,
		    m->set.key.ptr, m->set.key.len, m->set.value.ptr, m->set.value.len);
	else
		enc = store_cmd_encode_del(n->cmdbuf, n->cmdcap, m->del.client_id, m->del.seq,
		    m->del.key.ptr, m->del.key.len);
	rc = enc < 0 ? (int)enc : raft_propose(n->raft, n->cmdbuf, enc, &w->index, &w->term);
	if (rc < 0) {
		free(w);
		if (rc == -ENOTLEADER)
			forward(n, o, m);
		else if (rc == -EBUSY)
			reply_error(n, o, PROTO_E_NOLEADER, "leadership is being transferred; "
			    "retry in a moment");
		else if (rc == -EMSGSIZE)
			reply_error(n, o, PROTO_E_TOOBIG, "write too large");
		else
			reply_error(n, o, PROTO_E_INTERNAL, "propose failed: %s", raft_strerror(-rc));
		return;
	}
	w->from = *o;
	w->op = m->type;
	w->deadline_ms = now_ms() + n->request_timeout_ms;
	write_insert(n, w);
	schedule_ready(n);
}

/* ------------------------------------------------------------ status */

static void
add_pair(struct proto_reply *rb, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
add_pair(struct proto_reply *rb, const char *name, const char *fmt, ...)
{
	char val[RAFTCONF_MAX_ADDRESS + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	proto_reply_add_pair(rb, proto_cstr(name), proto_cstr(val));
}

static const char *
role_name(enum raft_role role)
{
	return raft_role_name(role);
}

static void
serve_status(struct node *n, const struct origin *o)
{
	struct proto_reply rb;
	struct raft_status st;
	size_t voters = 0, learners = 0;

	raft_status(n->raft, &st);
	for (size_t i = 0; i < n->n_members; i++)
		n->members[i].voter ? voters++ : learners++;
	proto_buf_reset(&n->out);
	proto_reply_begin(&rb, &n->out, PROTO_T_STATUS_REPLY, o->req_id);
	add_pair(&rb, "id", "%s", n->cfg->node_id);
	add_pair(&rb, "role", "%s", n->removed ? "spare" : role_name(st.role));
	add_pair(&rb, "term", "%" PRIu64, st.term);
	add_pair(&rb, "leader", "%s", st.leader ? name_of(n, st.leader) : "none");
	add_pair(&rb, "commit", "%" PRIu64, st.commit);
	add_pair(&rb, "applied", "%" PRIu64, n->applied);
	add_pair(&rb, "cluster", "%s", n->cfg->cluster);
	add_pair(&rb, "address", "%s", n->cfg->address);
	add_pair(&rb, "first_index", "%" PRIu64, st.first_index);
	add_pair(&rb, "last_index", "%" PRIu64, st.last_index);
	add_pair(&rb, "snapshot_index", "%" PRIu64, st.snapshot_index);
	add_pair(&rb, "wal_segment_bytes", "%d", NODE_WAL_SEGMENT_BYTES);
	add_pair(&rb, "snapshot_last_ms", "%.1f", n->stats.snapshot_last_seconds * 1000);
	add_pair(&rb, "loop_stall_max_ms", "%.1f", n->max_stall * 1000);
	add_pair(&rb, "voters", "%zu", voters);
	add_pair(&rb, "learners", "%zu", learners);
	add_pair(&rb, "version", "%s", PACKAGE_VERSION);
	proto_reply_end(&rb, 0);
	send_frame(n, o);
}

static void
serve_members(struct node *n, const struct origin *o)
{
	struct proto_reply rb;
	uint64_t leader = raft_leader(n->raft);
	bool is_leader = leader == n->self;
	struct raft_status st;

	raft_status(n->raft, &st);
	proto_buf_reset(&n->out);
	proto_reply_begin(&rb, &n->out, PROTO_T_MEMBERS_REPLY, o->req_id);
	for (size_t i = 0; i < n->n_members; i++) {
		const struct member *mb = &n->members[i];
		struct proto_member pm = {
			.node_id = proto_cstr(mb->name),
			.address = proto_cstr(mb->address),
			.flags = (mb->voter ? PROTO_M_VOTER : PROTO_M_LEARNER) |
			    (mb->id == n->self ? PROTO_M_SELF : 0) |
			    (mb->id == leader && mb->voter ? PROTO_M_LEADER : 0),
			.last_contact_ms = PROTO_NEVER,
			.health = PROTO_H_UNKNOWN,
		};
		struct raft_progress pr;

		if (is_leader && raft_progress(n->raft, mb->id, &pr) == 0) {
			pm.match_index = pr.match;
			if (mb->id == n->self) {
				pm.last_contact_ms = 0;
				pm.health = PROTO_H_OK;
			} else {
				pm.last_contact_ms = (uint64_t)pr.last_contact * n->tick_ms;
				pm.health = pr.last_contact * n->tick_ms > n->cfg->election_ms ?
				    PROTO_H_UNREACHABLE : pr.match + 64 < st.commit ?
				    PROTO_H_LAGGING : PROTO_H_OK;
			}
		}
		proto_reply_add_member(&rb, &pm);
	}
	proto_reply_end(&rb, 0);
	send_frame(n, o);
}

/* ------------------------------------------------------------- membership */

static const struct member *
member_by_name(const struct node *n, struct proto_str name)
{
	for (size_t i = 0; i < n->n_members; i++)
		if (strlen(n->members[i].name) == name.len &&
		    memcmp(n->members[i].name, name.ptr, name.len) == 0)
			return &n->members[i];
	return NULL;
}

/* Answer a failed raft_change(), or wait for its entry to apply. */
static void
track_change(struct node *n, const struct origin *o, const struct proto_msg *m, uint8_t op,
	     int rc, uint64_t index, uint64_t term)
{
	struct pending_write *w;

	switch (rc) {
	case 0:
		break;
	case -ENOTLEADER:
		forward(n, o, m);
		return;
	case -EBUSY:
	case -EAGAIN:
		/* "no leader" makes raftconfctl retry until its deadline. */
		reply_error(n, o, PROTO_E_NOLEADER, "busy: another membership change or a "
		    "leadership transfer is in progress, or the leader is new; retry");
		return;
	case -EEXIST:
		reply_error(n, o, PROTO_E_REFUSED, "already a member");
		return;
	case -ENOENT:
		reply_error(n, o, PROTO_E_NOTFOUND, "no such member");
		return;
	default:
		reply_error(n, o, PROTO_E_REFUSED, "membership change refused: %s",
		    raft_strerror(-rc));
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	w->from = *o;
	w->op = op;
	w->index = index;
	w->term = term;
	w->deadline_ms = now_ms() + n->request_timeout_ms;
	write_insert(n, w);
	schedule_ready(n);
}

/* A spare asks (through us) to be added to the cluster. */
static void
handle_join(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	const struct proto_str *name = &m->join.node_id, *addr = &m->join.address;
	const struct member *same = member_by_name(n, *name);
	struct raft_member rm = { 0 };
	char sname[RAFTCONF_MAX_ID + 1], saddr[RAFTCONF_MAX_ADDRESS + 1];
	uint64_t id, index = 0, term = 0;
	int rc;

	if (m->join.cluster.len != strlen(n->cfg->cluster) ||
	    memcmp(m->join.cluster.ptr, n->cfg->cluster, m->join.cluster.len) != 0) {
		reply_error(n, o, PROTO_E_REFUSED, "cluster name \"%s\" expected, got \"%.*s\"",
		    n->cfg->cluster, (int)m->join.cluster.len, m->join.cluster.ptr);
		return;
	}
	snprintf(sname, sizeof(sname), "%.*s", (int)name->len, name->ptr);
	snprintf(saddr, sizeof(saddr), "%.*s", (int)addr->len, addr->ptr);
	if (config_parse_address(saddr, NULL, 0, NULL, NULL, 0) < 0) {
		reply_error(n, o, PROTO_E_BADREQ, "bad address \"%s\"", saddr);
		return;
	}
	if (same && strcmp(same->address, saddr) == 0) {
		reply_ok(n, o, 0);	/* a retried join: it is in already */
		return;
	}
	if (same) {
		reply_error(n, o, PROTO_E_REFUSED, "a member named %s already exists at %s; "
		    "remove it first", sname, same->address);
		return;
	}
	id = node_id_of(sname);
	if (member_by_id(n, id)) {
		reply_error(n, o, PROTO_E_REFUSED, "node id %s collides with member %s; choose "
		    "another id", sname, name_of(n, id));
		return;
	}
	for (size_t i = 0; i < n->n_members; i++)
		if (strcmp(n->members[i].address, saddr) == 0) {
			reply_error(n, o, PROTO_E_REFUSED, "address %s is member %s's", saddr,
			    n->members[i].name);
			return;
		}
	if (raft_leader(n->raft) != n->self) {
		forward(n, o, m);
		return;
	}
	context_make(&rm, sname, saddr);
	if (m->join.flags & PROTO_F_LEARNER)
		rm.context_len += snprintf((char *)rm.context + rm.context_len,
		    sizeof(rm.context) - rm.context_len, " learner");
	rc = raft_change(n->raft, RAFT_CHANGE_ADD_LEARNER, id, rm.context, rm.context_len,
	    &index, &term);
	if (rc == 0)
		log_notice_f((&(struct log_fields){ .peer = sname, .index = index }),
		    "adding %s (%s) as a %s", sname, saddr,
		    (m->join.flags & PROTO_F_LEARNER) ? "permanent learner" :
		    "learner, to be promoted once caught up");
	track_change(n, o, m, PROTO_T_JOIN, rc, index, term);
}

/* raftconfctl join ADDRESS, on this spare: ask the member at ADDRESS. */
static void
handle_joinreq(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	struct proto_msg jm = { .type = PROTO_T_JOIN };
	struct pending_join *j;
	struct raft_status st;
	char addr[RAFTCONF_MAX_ADDRESS + 1];
	int rc;

	raft_status(n->raft, &st);
	if (st.role != RAFT_SPARE) {
		reply_error(n, o, PROTO_E_REFUSED, "this node is already a member of cluster %s",
		    n->cfg->cluster);
		return;
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)m->joinreq.address.len,
	    m->joinreq.address.ptr);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	jm.id = ++n->next_fwd;
	jm.join.flags = m->joinreq.flags;
	jm.join.node_id = proto_cstr(n->cfg->node_id);
	jm.join.address = proto_cstr(n->cfg->address);
	jm.join.cluster = proto_cstr(n->cfg->cluster);
	proto_buf_reset(&n->out);
	rc = proto_encode(&n->out, &jm, NULL, 0);
	if (rc == 0)
		rc = peer_dial_once(n->peers, addr, n->out.data, n->out.len, &j->conn);
	if (rc < 0) {
		free(j);
		reply_error(n, o, PROTO_E_BADREQ, "cannot ask %s: %s", addr, strerror(-rc));
		return;
	}
	j->from = *o;
	j->deadline_ms = now_ms() + n->request_timeout_ms;
	j->next = n->joins;
	n->joins = j;
	log_notice("asking the cluster at %s to add this node (%s)", addr, n->cfg->address);
}

static struct pending_join *
join_take(struct node *n, uint64_t conn)
{
	for (struct pending_join **pp = &n->joins, *j; (j = *pp) != NULL; pp = &j->next)
		if (j->conn == conn) {
			*pp = j->next;
			return j;
		}
	return NULL;
}

static void
once_failed_cb(void *arg, uint64_t conn, const char *why)
{
	struct node *n = arg;
	struct pending_join *j = join_take(n, conn);

	if (j == NULL)
		return;
	reply_error(n, &j->from, PROTO_E_REFUSED, "the cluster refused or could not be "
	    "reached: %s", why);
	free(j);
}

static void
handle_remove(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	const struct member *mb = member_by_name(n, m->remove.node_id);
	uint64_t index = 0, term = 0;
	int rc;

	if (mb == NULL) {
		reply_error(n, o, PROTO_E_NOTFOUND, "no member named %.*s",
		    (int)m->remove.node_id.len, m->remove.node_id.ptr);
		return;
	}
	rc = raft_change(n->raft, RAFT_CHANGE_REMOVE, mb->id, NULL, 0, &index, &term);
	if (rc == 0)
		log_notice_f((&(struct log_fields){ .peer = mb->name, .index = index }),
		    "removing member %s (%s)", mb->name, mb->address);
	track_change(n, o, m, PROTO_T_REMOVE, rc, index, term);
}

static void
handle_transfer(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	const struct member *mb = NULL;
	struct pending_transfer *t;
	int rc;

	if (m->transfer.node_id.len &&
	    ((mb = member_by_name(n, m->transfer.node_id)) == NULL || !mb->voter)) {
		reply_error(n, o, PROTO_E_NOTFOUND, "no voter named %.*s",
		    (int)m->transfer.node_id.len, m->transfer.node_id.ptr);
		return;
	}
	rc = raft_transfer(n->raft, mb ? mb->id : 0);
	if (rc == -ENOTLEADER) {
		forward(n, o, m);
		return;
	}
	if (rc < 0) {
		reply_error(n, o, PROTO_E_REFUSED, "cannot transfer leadership%s%s: %s",
		    mb ? " to " : "", mb ? mb->name : "", raft_strerror(-rc));
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	t->from = *o;
	t->to = mb ? mb->id : 0;
	t->deadline_ms = now_ms() + 4 * n->cfg->election_ms;
	t->next = n->transfers;
	n->transfers = t;
	schedule_ready(n);
}

/* Answer transfers that happened, or expired. */
static void
transfers_progress(struct node *n, uint64_t now)
{
	uint64_t leader = raft_leader(n->raft);

	for (struct pending_transfer **pp = &n->transfers, *t; (t = *pp) != NULL;) {
		if (leader && leader != n->self && (t->to == 0 || t->to == leader)) {
			reply_ok(n, &t->from, 0);
		} else if (now >= t->deadline_ms) {
			reply_error(n, &t->from, PROTO_E_TIMEOUT, "leadership did not move within "
			    "%u ms", 4 * n->cfg->election_ms);
		} else {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		free(t);
	}
}

static void
handle_snapshot(struct node *n, const struct origin *o)
{
	struct snap_waiter *w;
	char err[256];
	int rc = take_snapshot(n, err, sizeof(err));

	if (rc == -EALREADY) {
		reply_ok(n, o, n->snapshot_index);
		return;
	}
	if (rc < 0 && rc != -EINPROGRESS) {
		reply_error(n, o, PROTO_E_INTERNAL, "snapshot failed: %s", err);
		return;
	}
	if (n->snap_pid == 0) {		/* written already (could not watch the child) */
		reply_ok(n, o, n->snapshot_index);
		return;
	}
	/* answered when the writer is done */
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	w->from = *o;
	w->next = n->snap_waiters;
	n->snap_waiters = w;
}

/* Leader: learners that joined to vote become voters once caught up. */
static void
promote_learners(struct node *n)
{
	struct raft_status st;

	raft_status(n->raft, &st);
	if (st.role != RAFT_LEADER)
		return;
	for (size_t i = 0; i < n->n_members; i++) {
		const struct member *mb = &n->members[i];
		struct raft_progress pr;
		uint64_t index, term;

		if (mb->voter || mb->permanent_learner ||
		    raft_progress(n->raft, mb->id, &pr) < 0 || pr.match < st.commit)
			continue;
		if (raft_change(n->raft, RAFT_CHANGE_PROMOTE, mb->id, NULL, 0, &index, &term) == 0)
			log_notice_f((&(struct log_fields){ .peer = mb->name, .index = index }),
			    "%s has caught up (match %" PRIu64 "); promoting it to voter", mb->name,
			    pr.match);
		return;		/* one change at a time */
	}
}

/* ------------------------------------------------------------------ watch */

static void
start_watch(struct node *n, const struct origin *o, const struct proto_str *prefix)
{
	struct watcher *w;

	if (o->kind != FROM_CONTROL) {
		reply_error(n, o, PROTO_E_BADREQ, "watch is served on the control socket only");
		return;
	}
	if ((w = calloc(1, sizeof(*w) + prefix->len + 1)) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	w->from = *o;
	w->plen = prefix->len;
	memcpy(w->prefix, prefix->ptr, prefix->len);
	w->next = n->watchers;
	n->watchers = w;
	reply_ok(n, o, n->applied);	/* events follow from the next entry on */
}

static void
watchers_drop_conn(struct node *n, uint64_t conn)
{
	for (struct watcher **wp = &n->watchers, *w; (w = *wp) != NULL;) {
		if (w->from.kind == FROM_CONTROL && w->from.conn == conn) {
			*wp = w->next;
			free(w);
		} else {
			wp = &w->next;
		}
	}
}

/* A write applied: tell the watchers of its key. */
static void
watch_notify(struct node *n, const struct raft_entry *e, const struct store_result *res)
{
	struct proto_msg ev = { .type = PROTO_T_EVENT };
	struct store_cmd cmd;

	if (n->watchers == NULL || res->status != STORE_OK || res->duplicate ||
	    store_cmd_decode(e->data, e->len, &cmd) < 0)
		return;
	ev.event.kind = cmd.op == STORE_OP_SET ? PROTO_EV_PUT : PROTO_EV_DEL;
	ev.event.key = proto_mem(cmd.key, cmd.klen);
	ev.event.revision = e->index;
	ev.event.value = cmd.op == STORE_OP_SET ? proto_mem(cmd.value, cmd.vlen) :
	    proto_mem(NULL, 0);
	for (struct watcher **wp = &n->watchers, *w; (w = *wp) != NULL;) {
		if (cmd.klen < w->plen || memcmp(cmd.key, w->prefix, w->plen) != 0) {
			wp = &w->next;
			continue;
		}
		if (control_backlog(n->ctl, w->from.conn) > WATCH_MAX_BACKLOG) {
			reply_error(n, &w->from, PROTO_E_TIMEOUT, "the watcher fell %d bytes "
			    "behind; events were dropped: watch again", WATCH_MAX_BACKLOG);
			*wp = w->next;
			free(w);
			continue;
		}
		ev.id = w->from.req_id;
		proto_buf_reset(&n->out);
		if (proto_encode(&n->out, &ev, NULL, 0) == 0)
			control_reply(n->ctl, w->from.conn, n->out.data, n->out.len);
		wp = &w->next;
	}
}

/* -------------------------------------------------------------- requests */

static void
handle_request(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	if (n->stopping && m->type != PROTO_T_STATUS) {
		reply_error(n, o, PROTO_E_NOLEADER, "this node is shutting down");
		return;
	}
	if (n->removed && m->type != PROTO_T_STATUS && m->type != PROTO_T_MEMBERS &&
	    !(m->type == PROTO_T_GET && (m->get.flags & PROTO_F_STALE)) &&
	    !(m->type == PROTO_T_LIST && (m->list.flags & PROTO_F_STALE))) {
		reply_no_leader(n, o);
		return;
	}
	switch (m->type) {
	case PROTO_T_GET:
		start_read(n, o, m->type, m->get.flags, &m->get.key);
		break;
	case PROTO_T_LIST:
		start_read(n, o, m->type, m->list.flags, &m->list.prefix);
		break;
	case PROTO_T_SET:
	case PROTO_T_DEL:
		start_write(n, o, m);
		break;
	case PROTO_T_STATUS:
		serve_status(n, o);
		break;
	case PROTO_T_MEMBERS:
		serve_members(n, o);
		break;
	case PROTO_T_JOIN:
		handle_join(n, o, m);
		break;
	case PROTO_T_JOINREQ:
		if (o->kind != FROM_CONTROL)
			reply_error(n, o, PROTO_E_REFUSED, "join requests come from raftconfctl");
		else
			handle_joinreq(n, o, m);
		break;
	case PROTO_T_REMOVE:
		handle_remove(n, o, m);
		break;
	case PROTO_T_TRANSFER:
		handle_transfer(n, o, m);
		break;
	case PROTO_T_SNAPSHOT:
		handle_snapshot(n, o);
		break;
	case PROTO_T_WATCH:
		start_watch(n, o, &m->watch.prefix);
		break;
	default:
		reply_error(n, o, PROTO_E_BADREQ, "%s is not supported by this version",
		    proto_type_name(m->type));
		break;
	}
}

static void
control_request_cb(void *arg, uint64_t conn, const struct proto_msg *m)
{
	struct origin o = { .kind = FROM_CONTROL, .conn = conn, .req_id = m->id };

	handle_request(arg, &o, m);
}

static void
http_request_cb(void *arg, uint64_t handle, const struct proto_msg *m)
{
	struct origin o = { .kind = FROM_HTTP, .conn = handle, .req_id = m->id };

	handle_request(arg, &o, m);
}

static void
control_closed_cb(void *arg, uint64_t conn)
{
	struct node *n = arg;

	/* Other answers to a client that left are dropped by control_reply(). */
	watchers_drop_conn(n, conn);
}

/* An answer from the leader to a request we forwarded: relay it. */
static void
relay_response(struct node *n, const struct proto_msg *m)
{
	struct pending_fwd **pp = &n->fwds, *f;
	struct proto_msg rm = *m;

	for (; (f = *pp) != NULL; pp = &f->next)
		if (f->fwd_id == m->id)
			break;
	if (f == NULL)
		return;		/* timed out already */
	*pp = f->next;
	reply_msg(n, &f->from, &rm);
	free(f);
}

static void
peer_frame_cb(void *arg, uint64_t conn, const char *peer_id, const struct proto_msg *m)
{
	struct node *n = arg;
	struct raft_msg rm;
	char err[256];
	int rc;

	stranger_seen(n, peer_id);
	if (m->type == PROTO_T_REJECT) {
		if (!n->removed && m->reject.message.len >= strlen(REMOVED_NOTICE) &&
		    memcmp(m->reject.message.ptr, REMOVED_NOTICE, strlen(REMOVED_NOTICE)) == 0) {
			n->removed = true;
			log_notice("%s told us: %.*s; this node takes no part any more "
			    "('raftconfctl join' adds it again after its data_dir is emptied)",
			    peer_id, (int)m->reject.message.len, m->reject.message.ptr);
			n->status_line[0] = '\0';
			notify_status(n);
		}
		return;
	}
	if (n->removed)
		return;		/* no part in elections or replication any more */
	if (m->type == PROTO_T_RAFT) {
		rc = raftmsg_decode(m->raft.payload.ptr, m->raft.payload.len, &rm, &n->scratch,
		    err, sizeof(err));
		if (rc < 0) {
			log_warning_f((&(struct log_fields){ .peer = peer_id }),
			    "peer %s: undecodable raft message: %s", peer_id, err);
			return;
		}
		if (rm.type == RAFT_MSG_HEARTBEAT_RESP) {
			struct member *from = (struct member *)member_by_id(n, rm.from);

			if (from && from->hb_seq == rm.seq && from->hb_sent > 0) {
				from->rtt = now_s() - from->hb_sent;
				from->hb_sent = 0;
			}
		}
		if (raft_step(n->raft, &rm) < 0)
			log_debug_f((&(struct log_fields){ .peer = peer_id }),
			    "peer %s: raft refused a %s message", peer_id,
			    raft_msg_type_name(rm.type));
		schedule_ready(n);
	} else if (proto_is_request(m->type)) {
		/* A member's request was forwarded once already; a spare's JOIN
		 * may still go on to the leader. */
		struct origin o = { .kind = FROM_PEER, .conn = conn, .req_id = m->id,
			.no_forward = member_by_id(n, node_id_of(peer_id)) != NULL };

		handle_request(n, &o, m);
	} else if (proto_is_response(m->type)) {
		struct pending_join *j = join_take(n, conn);

		if (j) {
			struct proto_msg answer = *m;

			if (m->type == PROTO_T_OK)
				log_notice("the cluster at %s (via %s) added this node; waiting for "
				    "the leader to send the log", peer_id, peer_id);
			reply_msg(n, &j->from, &answer);
			peer_close(n->peers, conn);
			free(j);
		} else {
			relay_response(n, m);
		}
	}
}

static void
peer_link_cb(void *arg, const char *peer_id, bool up, bool reset)
{
	struct node *n = arg;

	log_info_f((&(struct log_fields){ .peer = peer_id }), "peer %s: link %s%s", peer_id,
	    up ? "up" : "down", reset ? " (connection reset)" : "");
	/* Requests forwarded to it will get no answer: let their clients retry
	 * at once (same request ids) rather than at the timeout. */
	if (!up)
		for (struct pending_fwd **fp = &n->fwds, *f; (f = *fp) != NULL;) {
			if (f->leader != node_id_of(peer_id)) {
				fp = &f->next;
				continue;
			}
			reply_error(n, &f->from, PROTO_E_NOLEADER, "lost the connection to the "
			    "leader %s before it answered; retry", peer_id);
			*fp = f->next;
			free(f);
		}
	/* It may have restarted with less than it acknowledged: probe afresh. */
	if (up)
		raft_peer_reconnected(n->raft, node_id_of(peer_id));
	/* The leader's process may have died: pre-vote now rather than wait
	 * out the election timeout (pre-vote keeps a live leader safe). */
	if (!up && reset && node_id_of(peer_id) == raft_leader(n->raft)) {
		log_info_f((&(struct log_fields){ .peer = peer_id }), "lost the connection to "
		    "leader %s; starting a pre-vote now", peer_id);
		raft_peer_lost(n->raft, node_id_of(peer_id));
	}
}

/* ------------------------------------------------------------- readiness */

/* STATUS= for systemctl status: role, term, leader, members heard from. */
static void
notify_status(struct node *n)
{
	struct raft_status st;
	size_t healthy = 0;
	char line[256];

	if (!n->ready)
		return;
	raft_status(n->raft, &st);
	for (size_t i = 0; i < n->n_members; i++) {
		const struct member *mb = &n->members[i];
		struct raft_progress pr;

		if (mb->id == n->self)
			healthy++;
		else if (st.role == RAFT_LEADER)
			healthy += raft_progress(n->raft, mb->id, &pr) == 0 &&
			    pr.last_contact * n->tick_ms <= n->cfg->election_ms;
		else
			healthy += peer_link_up(n->peers, mb->name);
	}
	if (n->removed)
		snprintf(line, sizeof(line), "removed from the cluster: takes no part");
	else if (st.role == RAFT_SPARE)
		snprintf(line, sizeof(line), "spare: not a member of a cluster yet "
		    "('raftconfctl join ADDRESS')");
	else
		snprintf(line, sizeof(line), "%s, term %" PRIu64 ", leader %s, %zu/%zu members%s",
		    raft_role_name(st.role), st.term, st.leader ? name_of(n, st.leader) : "none",
		    healthy, n->n_members, n->stopping ? ", stopping" : "");
	if (strcmp(line, n->status_line) != 0) {
		snprintf(n->status_line, sizeof(n->status_line), "%s", line);
		sd_notifyf(0, "STATUS=%s", line);
	}
}

static void
become_ready(struct node *n, const char *why)
{
	n->ready = true;
	sd_notify(0, "READY=1");
	log_notice("ready: %s", why);
	n->status_line[0] = '\0';
	notify_status(n);
}

/*
 * READY=1 once this node has applied what the leader had committed when we
 * asked it (a ReadIndex round gives exactly that index), or after
 * ready_timeout_ms anyway.  Until then the start timeout is extended and
 * STATUS= says what we wait for.
 */
static void
ready_progress(struct node *n, uint64_t now)
{
	struct raft_status st;
	char line[200];

	if (n->ready)
		return;
	raft_status(n->raft, &st);
	if (n->ready_index && n->applied >= n->ready_index) {
		char why[128];

		snprintf(why, sizeof(why), "applied %" PRIu64 ", the leader's commit index when "
		    "we asked", n->applied);
		become_ready(n, why);
		return;
	}
	if (now >= n->ready_deadline_ms) {
		log_warning("not caught up with a leader after %u ms (no quorum?); signalling "
		    "readiness anyway: reads with --stale only until a leader is found",
		    n->cfg->ready_timeout_ms);
		sd_notify(0, "READY=1\nSTATUS=no quorum: no leader confirmed this node's state; "
		    "serving stale reads");
		n->ready = true;
		snprintf(n->status_line, sizeof(n->status_line), "no quorum");
		return;
	}
	if (st.leader && n->ready_index == 0 &&
	    (n->ready_asked_ms == 0 || now - n->ready_asked_ms >= n->cfg->election_ms)) {
		n->ready_ctx = ++n->next_ctx;
		n->ready_asked_ms = now;
		raft_read_index(n->raft, n->ready_ctx);
		schedule_ready(n);
	}
	if (now - n->notify_ms >= 1000) {
		n->notify_ms = now;
		if (st.leader == 0)
			snprintf(line, sizeof(line), "waiting for a leader (role %s, term %" PRIu64 ")",
			    raft_role_name(st.role), st.term);
		else if (n->ready_index == 0)
			snprintf(line, sizeof(line), "asking leader %s for its commit index",
			    name_of(n, st.leader));
		else
			snprintf(line, sizeof(line), "catching up: applied %" PRIu64 " of %" PRIu64,
			    n->applied, n->ready_index);
		sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=%s", 5000000ULL, line);
	}
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void
stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	log_warning("leadership did not move within %u ms; stopping anyway",
	    2 * n->cfg->election_ms);
	event_base_loopexit(n->base, NULL);
}

/* -------------------------------------------------------------- snapshots */

static void
snap_waiters_reply(struct node *n, const char *err)
{
	struct snap_waiter *w;

	while ((w = n->snap_waiters) != NULL) {
		n->snap_waiters = w->next;
		if (err)
			reply_error(n, &w->from, PROTO_E_INTERNAL, "snapshot failed: %s", err);
		else
			reply_ok(n, &w->from, n->snapshot_index);
		free(w);
	}
}

/* The child wrote the file: record it in the WAL and drop the log below it. */
static void
snapshot_done(struct node *n, uint64_t index, uint64_t term)
{
	uint64_t keep_from;
	int rc;

	if ((rc = raft_snapshot_taken(n->raft, index)) < 0) {
		log_err("snapshot at %" PRIu64 " written, but the log cannot be cut there any"
		    " more: %s", index, raft_strerror(-rc));
		return;
	}
	if ((rc = wal_snapshot(n->wal, index, term)) < 0 || (rc = wal_sync(n->wal)) < 0) {
		log_err("snapshot at %" PRIu64 ": recording it in the WAL failed: %s", index,
		    strerror(-rc));
		fatal(n, "writing the WAL failed", rc);
		return;
	}
	persist_progress(n);	/* that sync covered every queued batch */
	n->snapshot_index = index;
	snap_prune(n->snaps);
	keep_from = index > n->snapshot_margin ? index - n->snapshot_margin : 1;
	if (keep_from > 1) {
		raft_compact(n->raft, keep_from - 1);
		wal_compact(n->wal, keep_from);
	}
	n->stats.snapshots++;
	n->stats.snapshot_last_seconds = now_s() - n->snap_job_t0;
	log_notice_f((&(struct log_fields){ .index = index, .term = term }),
	    "snapshot at index %" PRIu64 " (term %" PRIu64 ") written in %.3f s; log kept from %"
	    PRIu64, index, term, n->stats.snapshot_last_seconds, keep_from);
}

/* Reap the snapshot writer; kill it first if it is still running. */
static int
snap_child_reap(struct node *n, bool kill_it)
{
	int status = 0;

	if (n->snap_pid == 0)
		return -ECHILD;
	if (kill_it)
		kill(n->snap_pid, SIGKILL);
	while (waitpid(n->snap_pid, &status, 0) < 0 && errno == EINTR)
		;
	n->snap_pid = 0;
	if (n->snap_ev) {
		int fd = event_get_fd(n->snap_ev);

		event_free(n->snap_ev);
		close(fd);
		n->snap_ev = NULL;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* A snapshot being written is obsolete (one from the leader comes in, or we stop). */
static void
snap_child_abort(struct node *n, const char *why)
{
	char path[4200];

	if (n->snap_pid == 0)
		return;
	snap_child_reap(n, true);
	snap_tmp_path(n->snaps, n->snap_job_index, path, sizeof(path));
	unlink(path);
	snap_waiters_reply(n, why);
}

static void
snap_child_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	ssize_t got;

	got = read(fd, n->snap_job_err + n->snap_job_errlen,
	    sizeof(n->snap_job_err) - 1 - n->snap_job_errlen);
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got > 0) {
		n->snap_job_errlen += (size_t)got;
		if (n->snap_job_errlen < sizeof(n->snap_job_err) - 1)
			return;
	}
	/* EOF: the child is gone (or said all it may). */
	n->snap_job_err[n->snap_job_errlen] = '\0';
	if (snap_child_reap(n, false) == 0) {
		snapshot_done(n, n->snap_job_index, n->snap_job_term);
		snap_waiters_reply(n, NULL);
	} else {
		log_err("snapshot at %" PRIu64 " failed: %s", n->snap_job_index,
		    n->snap_job_errlen ? n->snap_job_err : "the writer died");
		snap_waiters_reply(n, n->snap_job_errlen ? n->snap_job_err : "the writer died");
	}
	schedule_ready(n);
}

/*
 * Start writing a snapshot of the store as applied now, in a child
 * process, so that the loop goes on serving: the store commits, then
 * forks; the child reads the file as it was (store_after_fork) while the
 * parent's applies wait in an open transaction that it does not commit
 * until the child is done.  snapshot_done() records it in the WAL and drops
 * the log below it but for a margin kept for followers that are a little
 * behind.  -EINPROGRESS: one is being written; -EALREADY: nothing new.
 */
static int
take_snapshot(struct node *n, char *err, size_t errlen)
{
	struct raft_snapshot_meta meta;
	char path[4200];
	uint64_t index = n->applied;
	int rc, p[2];
	pid_t pid, parent;

	if (n->snap_pid) {
		snprintf(err, errlen, "a snapshot is being written");
		return -EINPROGRESS;
	}
	if (index == 0 || index <= n->snapshot_index) {
		snprintf(err, errlen, "nothing applied since the last snapshot (index %" PRIu64 ")",
		    n->snapshot_index);
		return -EALREADY;
	}
	if ((rc = store_flush(n)) < 0) {
		snprintf(err, errlen, "committing the store: %s", strerror(-rc));
		return rc;
	}
	/* The core hears of it (and may send it to followers) only once the
	 * file is durable: snapshot_done. */
	if ((rc = raft_snapshot_meta_at(n->raft, index, &meta)) < 0) {
		snprintf(err, errlen, "no snapshot can be cut at %" PRIu64 ": %s", index,
		    raft_strerror(-rc));
		return rc;
	}
	snap_path(n->snaps, index, path, sizeof(path));
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-rc));
		return rc;
	}
	n->snap_job_t0 = now_s();
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		char cerr[256] = "";
		size_t off = 0;

		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* Die with the node: it holds the data dir's lock fd too. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		close(p[0]);
		store_after_fork(n->store);
		rc = snap_write(n->store, path, index, meta.term, meta.members, meta.n_members,
		    cerr, sizeof(cerr));
		if (rc < 0 && cerr[0] == '\0')
			snprintf(cerr, sizeof(cerr), "%s", strerror(-rc));
		while (rc < 0 && off < strlen(cerr)) {
			ssize_t w = write(p[1], cerr + off, strlen(cerr) - off);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
		_exit(rc < 0 ? 1 : 0);
	}
	rc = pid < 0 ? -errno : 0;
	close(p[1]);
	if (rc < 0) {
		close(p[0]);
		snprintf(err, errlen, "fork: %s", strerror(-rc));
		return rc;
	}
	n->snap_pid = pid;
	n->snap_job_index = index;
	n->snap_job_term = meta.term;
	n->snap_job_errlen = 0;
	n->snap_ev = event_new(n->base, p[0], EV_READ | EV_PERSIST, snap_child_cb, n);
	if (n->snap_ev == NULL || event_add(n->snap_ev, NULL) < 0) {
		/* cannot watch it: wait for it here */
		if (n->snap_ev == NULL)
			close(p[0]);
		rc = snap_child_reap(n, false);
		if (n->snap_ev == NULL && rc == 0)
			snapshot_done(n, index, meta.term);
		snprintf(err, errlen, "%s", rc == 0 ? "" : "the writer failed");
		return rc;
	}
	return 0;
}

static void
maybe_snapshot(struct node *n)
{
	char err[256];
	int rc;

	if (n->snap_pid || n->applied - n->snapshot_index < n->cfg->snapshot_every)
		return;
	rc = take_snapshot(n, err, sizeof(err));
	if (rc < 0 && rc != -EALREADY)
		log_err("periodic snapshot at %" PRIu64 " failed: %s", n->applied, err);
}

/* Follower: a snapshot received in chunks replaces the store and the log. */
static int
install_snapshot(struct node *n, const struct raft_snapshot_meta *meta)
{
	char path[4200], err[256];
	int rc;

	if ((rc = snap_recv_finish(n->snaps, meta->index, path, sizeof(path))) < 0) {
		log_err("snapshot %" PRIu64 ": cannot complete the received file: %s", meta->index,
		    strerror(-rc));
		return rc;
	}
	snap_child_abort(n, "the leader's snapshot replaced it");
	if ((rc = store_flush(n)) < 0)
		return rc;
	if ((rc = snap_restore(n->store, path, err, sizeof(err))) < 0) {
		log_err("snapshot %" PRIu64 " from the leader cannot be restored: %s", meta->index,
		    err);
		return rc;
	}
	if ((rc = wal_snapshot(n->wal, meta->index, meta->term)) < 0)
		return rc;
	n->applied = meta->index;
	n->snapshot_index = meta->index;
	snap_prune(n->snaps);
	log_notice_f((&(struct log_fields){ .index = meta->index, .term = meta->term }),
	    "installed the leader's snapshot at index %" PRIu64 " (term %" PRIu64 ")",
	    meta->index, meta->term);
	return 0;
}

/* Leader: read the chunks of snapshots the core wants to send. */
static void
send_chunks(struct node *n, const struct raft_chunk_read *cr, size_t count)
{
	static uint8_t *buf;
	static size_t cap;

	for (size_t i = 0; i < count; i++) {
		size_t got = 0;
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
		    &got, &last);
		if (rc < 0) {
			log_debug("snapshot %" PRIu64 " chunk at %" PRIu64 " for %s: %s",
			    cr[i].snap_index, cr[i].offset, name_of(n, cr[i].to), strerror(-rc));
			continue;
		}
		raft_snapshot_chunk(n->raft, cr[i].to, cr[i].snap_index, cr[i].offset, buf, got,
		    last);
	}
}

/* ------------------------------------------------------------ Raft's order */

static void
send_raft_msgs(struct node *n, const struct raft_msg *msgs, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct member *to = (struct member *)member_by_id(n, msgs[i].to);
		const char *name = to ? to->name : name_of(n, msgs[i].to);
		int rc;

		if (strcmp(name, "?") == 0)
			continue;
		if (to && msgs[i].type == RAFT_MSG_HEARTBEAT) {
			to->hb_seq = msgs[i].seq;
			to->hb_sent = now_s();
		}
		proto_buf_reset(&n->out);
		if ((rc = raftmsg_encode(&n->out, &msgs[i])) < 0) {
			log_err("cannot encode a raft %s for %s: %s",
			    raft_msg_type_name(msgs[i].type), name, strerror(-rc));
			continue;
		}
		/* Lost messages are Raft's everyday business: it retries. */
		peer_send(n->peers, name, n->out.data, n->out.len);
	}
}

static void
record_fsync(struct node *n, double secs)
{
	size_t b = 0;

	while (b < N_FSYNC_BUCKETS && secs > fsync_buckets[b])
		b++;
	if (b < N_FSYNC_BUCKETS)
		n->stats.fsync_bucket[b]++;
	n->stats.fsync_count++;
	n->stats.fsync_sum += secs;
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
	return 0;
}

/*
 * A batch that changes nothing but the commit index needs no fsync of its
 * own: the commit index is never acknowledged to anyone, a restart learns it
 * again from the leader, and the store's applied index says how far this
 * node got (start_raft).  It rides on the next sync.  That halves the
 * fsyncs of a lone write.
 */
static bool
needs_sync(const struct node *n, const struct raft_ready *rd)
{
	return rd->n_entries > 0 || rd->n_chunk_writes > 0 || !rd->has_hard_state ||
	    rd->hs.term != n->queued_term || rd->hs.vote != n->queued_vote;
}

/* Synchronous: for batches with snapshot chunks, and with nothing queued. */
static int
persist(struct node *n, const struct raft_ready *rd)
{
	double t0;
	int rc;

	if ((rc = wal_write(n, rd)) < 0)
		return rc;
	if ((rc = snap_recv_sync(n->snaps)) < 0)
		return rc;
	if (!needs_sync(n, rd))
		return 0;
	t0 = now_s();
	rc = wal_sync(n->wal);
	record_fsync(n, now_s() - t0);
	if (rc == 0 && rd->has_hard_state) {
		n->queued_term = rd->hs.term;
		n->queued_vote = rd->hs.vote;
	}
	return rc;
}

static int
pb_scratch_reserve(struct node *n, size_t need)
{
	uint8_t *p;
	size_t cap = n->pbufcap ? n->pbufcap : 1024;

	if (need <= n->pbufcap)
		return 0;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(n->pbuf, cap)) == NULL)
		return -ENOMEM;
	n->pbuf = p;
	n->pbufcap = cap;
	return 0;
}

/*
 * Asynchronous: the batch's writes go to the WAL buffer, and the batch
 * waits in the queue, with a copy of its after-persist messages, for the
 * sync that covers it.  The loop goes on meanwhile: it reads, answers,
 * proposes, and what it appends joins the next sync (group commit).
 */
static int
persist_async(struct node *n, const struct raft_ready *rd)
{
	struct persist_batch *b;
	size_t len = 0;
	int rc;

	if (rd->must_persist && (rc = wal_write(n, rd)) < 0)
		return rc;
	/* Each message encoded once, into the scratch buffer, then copied whole. */
	for (size_t i = 0; i < rd->n_msgs_after_persist; i++) {
		const struct raft_msg *m = &rd->msgs_after_persist[i];
		const char *name = name_of(n, m->to);
		size_t nl = strlen(name) + 1;
		uint32_t flen;

		proto_buf_reset(&n->out);
		if ((rc = raftmsg_encode(&n->out, m)) < 0)
			return rc;
		flen = (uint32_t)n->out.len;
		if ((rc = pb_scratch_reserve(n, len + nl + 4 + flen)) < 0)
			return rc;
		memcpy(n->pbuf + len, name, nl);
		memcpy(n->pbuf + len + nl, &flen, 4);
		memcpy(n->pbuf + len + nl + 4, n->out.data, flen);
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
		memcpy(b->bytes, n->pbuf, len);
	if (rd->must_persist && needs_sync(n, rd)) {
		b->need = wal_sync_next(n->wal);
		if (rd->has_hard_state) {
			n->queued_term = rd->hs.term;
			n->queued_vote = rd->hs.vote;
		}
	} else {
		/* durable with whatever is queued before it */
		b->need = n->pb_tail ? n->pb_tail->need : 0;
	}
	if (n->pb_tail)
		n->pb_tail->next = b;
	else
		n->pb_head = b;
	n->pb_tail = b;
	return 0;
}

/*
 * Tell Raft about the batches the WAL made durable, in order, and send
 * what waited for them; start the next sync if batches wait for one.
 */
static void
persist_progress(struct node *n)
{
	struct persist_batch *b;
	bool moved = false;
	int rc;

	for (;;) {
		while ((b = n->pb_head) != NULL && b->need <= wal_sync_done(n->wal)) {
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
			n->pb_head = b->next;
			if (n->pb_head == NULL)
				n->pb_tail = NULL;
			free(b);
			moved = true;
		}
		if (b == NULL || wal_sync_busy(n->wal))
			break;
		/* The head waits for a sync nobody started yet. */
		n->sync_started = now_s();
		if ((rc = wal_sync_start(n->wal)) < 0) {
			fatal(n, "writing the WAL failed", rc);
			return;
		}
		if (wal_sync_busy(n->wal))
			break;
	}
	if (moved) {
		peer_flush(n->peers);	/* acknowledgements leave now */
		schedule_ready(n);
	}
}

/* Wait for everything queued to be durable (before a snapshot's I/O). */
static int
persist_drain(struct node *n)
{
	int rc;

	if (n->pb_head == NULL && !wal_sync_busy(n->wal))
		return 0;
	if ((rc = wal_sync(n->wal)) < 0)
		return rc;
	persist_progress(n);
	return 0;
}

static void
sync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	int rc = wal_sync_collect(n->wal);

	if (rc < 0) {
		fatal(n, "writing the WAL failed", rc);
		return;
	}
	if (rc == 1)
		record_fsync(n, now_s() - n->sync_started);
	persist_progress(n);
}

/* Answer the writes proposed here whose entries are now applied. */
static void
write_applied(struct node *n, const struct raft_entry *e, const struct store_result *res)
{
	struct pending_write *w;

	while ((w = n->w_head) != NULL && w->index <= e->index) {
		bool ok = false;

		if (w->index < e->index) {
			/* Its entry applied in an earlier batch without us seeing it. */
			reply_error(n, &w->from, PROTO_E_TIMEOUT, "the outcome of the request is "
			    "unknown; retry it");
		} else if (w->term != e->term) {
			reply_error(n, &w->from, PROTO_E_NOLEADER, "leadership changed before the "
			    "request committed; it was not applied");
		} else if (e->type == RAFT_ENTRY_CONF) {
			reply_ok(n, &w->from, e->index);
			ok = true;
		} else if (res == NULL || res->status == STORE_BAD_COMMAND) {
			reply_error(n, &w->from, PROTO_E_INTERNAL, "the entry was not a valid "
			    "command");
		} else if (res->status == STORE_NOT_FOUND) {
			reply_error(n, &w->from, PROTO_E_NOTFOUND, "key not found");
			ok = true;
		} else if (res->status == STORE_STALE) {
			reply_error(n, &w->from, PROTO_E_REFUSED, "a newer write of this client "
			    "was applied already");
		} else {
			reply_ok(n, &w->from, res->revision);
			ok = true;
		}
		if (ok)
			n->stats.proposals_committed++;
		else
			n->stats.proposals_failed++;
		write_remove(n, w);
	}
}

/*
 * Applies go into one tdb transaction that stays open across batches and
 * is committed once per tick (or every STORE_TXN_ENTRIES entries), before
 * a snapshot and on the way out: a transaction costs ~45 us to start and
 * commit here, as much as the rest of a lone write's CPU.  Nothing is lost
 * by a crash meanwhile: the store's applied index stays at the last commit
 * and the WAL still holds every entry after it (it is compacted only below
 * a snapshot, which is written after a commit), so the restart applies them
 * again.  Reads inside the transaction see its writes.
 */
#define STORE_TXN_ENTRIES	4096

static int
store_flush(struct node *n)
{
	if (!n->store_txn || n->snap_pid)	/* a snapshot writer reads the file */
		return 0;
	n->store_txn = false;
	return store_commit(n->store);
}

static int
apply(struct node *n, const struct raft_entry *ents, size_t count)
{
	int rc;

	if (count == 0)
		return 0;
	if (!n->store_txn) {
		if ((rc = store_begin(n->store)) < 0)
			return rc;
		n->store_txn = true;
		n->store_txn_entries = 0;
	}
	for (size_t i = 0; i < count; i++) {
		const struct raft_entry *e = &ents[i];
		struct store_result res = { 0 };

		if (e->type == RAFT_ENTRY_NORMAL) {
			rc = store_apply(n->store, e->index, e->term, e->data, e->len, &res);
			if (rc < 0)
				goto fail;
			if (res.status == STORE_BAD_COMMAND)
				log_err_f((&(struct log_fields){ .index = e->index }),
				    "entry %" PRIu64 " is not a valid command; skipped", e->index);
			write_applied(n, e, &res);
			watch_notify(n, e, &res);
		} else {
			if ((rc = store_set_applied(n->store, e->index, e->term)) < 0)
				goto fail;
			if (e->type == RAFT_ENTRY_CONF)
				tell_removed(n, e);
			write_applied(n, e, NULL);
		}
	}
	n->store_txn_entries += count;
	if (n->store_txn_entries >= STORE_TXN_ENTRIES && (rc = store_flush(n)) < 0)
		return rc;
	n->applied = ents[count - 1].index;
	return raft_applied(n->raft, n->applied);
fail:
	store_cancel(n->store);
	n->store_txn = false;
	return rc;
}

static void
log_state_change(struct node *n)
{
	struct raft_status st;
	const char *role;

	raft_status(n->raft, &st);
	transfers_progress(n, now_ms());
	notify_status(n);
	if (n->stopping && st.role != RAFT_LEADER)
		event_base_loopexit(n->base, NULL);	/* leadership handed over */
	if (st.role == n->last_role && st.leader == n->last_leader && st.term == n->last_term)
		return;
	role = role_name(st.role);
	if (st.role == RAFT_SPARE && n->last_role && n->last_role != RAFT_SPARE)
		log_notice_f((&(struct log_fields){ .term = st.term, .role = role }),
		    "this node was removed from the cluster; it takes no part any more "
		    "('raftconfctl join' adds it again)");
	else if (st.role != n->last_role || st.term != n->last_term)
		log_notice_f((&(struct log_fields){ .term = st.term, .role = role }),
		    "role %s, term %" PRIu64 ", leader %s", role, st.term, name_of(n, st.leader));
	else
		log_notice_f((&(struct log_fields){ .term = st.term, .role = role }),
		    "leader is now %s (term %" PRIu64 ")", name_of(n, st.leader), st.term);
	if (st.leader != n->last_leader) {
		/* A ReadIndex asked of the old leader will not be answered. */
		for (struct pending_read **rp = &n->reads, *r; (r = *rp) != NULL;) {
			if (r->index) {
				rp = &r->next;
				continue;
			}
			reply_error(n, &r->from, PROTO_E_NOLEADER, "the leader changed before it "
			    "confirmed the read; retry");
			*rp = r->next;
			free(r);
		}
	}
	n->last_role = st.role;
	n->last_leader = st.leader;
	n->last_term = st.term;
}

static void
fatal(struct node *n, const char *what, int rc)
{
	log_err("%s: %s; stopping (the WAL is intact: restart to recover)", what, strerror(-rc));
	n->stopping = true;
	event_base_loopexit(n->base, NULL);
}

static void
process_ready(struct node *n)
{
	struct raft_chunk_read cr[16];
	size_t n_cr;
	bool changed, async;
	int rc;

	while (raft_has_ready(n->raft)) {
		struct raft_ready rd;

		raft_ready(n->raft, &rd);
		send_raft_msgs(n, rd.msgs, rd.n_msgs);
		if (rd.n_msgs)
			peer_flush(n->peers);	/* a leader's AppendEntries go first */
		/*
		 * Batches with snapshot I/O drain the queue and go synchronously
		 * (snapshot files and the WAL in order).  The rest queue behind
		 * the syncs in flight, those with nothing to persist too when
		 * they hold messages to send after persisting (Raft's order).
		 */
		async = !rd.snapshot && rd.n_chunk_writes == 0 &&
		    (rd.must_persist || (rd.n_msgs_after_persist > 0 && n->pb_head != NULL));
		if ((rd.snapshot || rd.n_chunk_writes) && (rc = persist_drain(n)) < 0) {
			raft_advance(n->raft, &rd);
			fatal(n, "writing the WAL failed", rc);
			return;
		}
		/* Received snapshot chunks go to their file first: the last one
		 * completes the snapshot this same batch may install. */
		for (size_t i = 0; i < rd.n_chunk_writes; i++) {
			const struct raft_chunk_write *cw = &rd.chunk_writes[i];

			if ((rc = snap_recv_chunk(n->snaps, cw->offset, cw->data, cw->len)) < 0) {
				raft_advance(n->raft, &rd);
				fatal(n, "writing a received snapshot chunk failed", rc);
				return;
			}
		}
		if (rd.snapshot && (rc = install_snapshot(n, rd.snapshot)) < 0) {
			raft_advance(n->raft, &rd);
			fatal(n, "installing the leader's snapshot failed", rc);
			return;
		}
		if (async) {
			if ((rc = persist_async(n, &rd)) < 0) {
				raft_advance(n->raft, &rd);
				fatal(n, "writing the WAL failed", rc);
				return;
			}
		} else {
			if (rd.must_persist && (rc = persist(n, &rd)) < 0) {
				raft_advance(n->raft, &rd);
				fatal(n, "writing the WAL failed", rc);
				return;
			}
			send_raft_msgs(n, rd.msgs_after_persist, rd.n_msgs_after_persist);
			if (rd.must_persist)
				raft_persisted(n->raft, rd.persist_index, rd.persist_term);
		}
		if ((rc = apply(n, rd.committed, rd.n_committed)) < 0) {
			raft_advance(n->raft, &rd);
			fatal(n, "applying to the store failed", rc);
			return;
		}
		for (size_t i = 0; i < rd.n_reads; i++) {
			if (rd.reads[i].ctx == n->ready_ctx)
				n->ready_index = rd.reads[i].index ? rd.reads[i].index : 1;
			for (struct pending_read *r = n->reads; r; r = r->next)
				if (r->ctx == rd.reads[i].ctx)
					r->index = rd.reads[i].index ? rd.reads[i].index : 1;
		}
		if (rd.members_changed)
			members_sync(n);
		/* Copied out: the core wants the chunks only after this batch. */
		n_cr = rd.n_chunk_reads < 16 ? rd.n_chunk_reads : 16;
		if (n_cr)
			memcpy(cr, rd.chunk_reads, n_cr * sizeof(*cr));
		changed = rd.status_changed || rd.members_changed;
		raft_advance(n->raft, &rd);	/* clears rd */
		send_chunks(n, cr, n_cr);
		if (changed)
			log_state_change(n);
	}
	persist_progress(n);	/* start the sync the batches above wait for */
	maybe_snapshot(n);
	reads_progress(n, now_ms());
	ready_progress(n, now_ms());
}

static void
ready_cb(evutil_socket_t fd, short what, void *arg)
{
	process_ready(arg);
}

static void
schedule_ready(struct node *n)
{
	event_active(n->ready_ev, EV_TIMEOUT, 0);
}

static void
expire(struct node *n, uint64_t now)
{
	struct pending_fwd **pp = &n->fwds, *f;
	struct pending_write *w, *next;

	while ((f = *pp) != NULL) {
		if (now < f->deadline_ms) {
			pp = &f->next;
			continue;
		}
		reply_error(n, &f->from, PROTO_E_TIMEOUT, "the leader did not answer within %u ms",
		    n->request_timeout_ms);
		*pp = f->next;
		free(f);
	}
	for (w = n->w_head; w; w = next) {
		next = w->next;
		if (now >= w->deadline_ms) {
			reply_error(n, &w->from, PROTO_E_TIMEOUT, "not committed within %u ms "
			    "(no quorum?); it may still apply", n->request_timeout_ms);
			n->stats.proposals_failed++;
			write_remove(n, w);
		}
	}
	for (struct pending_join **jp = &n->joins, *j; (j = *jp) != NULL;) {
		if (now < j->deadline_ms) {
			jp = &j->next;
			continue;
		}
		reply_error(n, &j->from, PROTO_E_TIMEOUT, "the cluster did not answer the join "
		    "within %u ms", n->request_timeout_ms);
		peer_close(n->peers, j->conn);
		*jp = j->next;
		free(j);
	}
	transfers_progress(n, now);
	reads_progress(n, now);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	double t = now_s();
	int rc;

	/* How late this tick is: the loop was busy (a long fsync, a big
	 * snapshot) for that long.  Shown in status and /metrics. */
	if (n->last_tick > 0 && t - n->last_tick - n->tick_ms / 1000.0 > n->max_stall)
		n->max_stall = t - n->last_tick - n->tick_ms / 1000.0;
	n->last_tick = t;
	if ((rc = store_flush(n)) < 0)
		fatal(n, "committing the store failed", rc);
	if (!n->removed)
		raft_tick(n->raft);
	expire(n, now_ms());
	departed_expire(n, now_ms());
	if (++n->ticks % 8 == 0)
		promote_learners(n);
	process_ready(n);
	notify_status(n);
}

/* ---------------------------------------------------- HTTP status, metrics */

static void
node_status_json(void *arg, struct evbuffer *out)
{
	struct node *n = arg;
	struct raft_status st;

	raft_status(n->raft, &st);
	evbuffer_add_printf(out, "{\"id\":\"%s\",\"role\":\"%s\",\"term\":%" PRIu64
	    ",\"leader\":\"%s\",\"commit\":%" PRIu64 ",\"applied\":%" PRIu64
	    ",\"cluster\":\"%s\",\"address\":\"%s\",\"first_index\":%" PRIu64
	    ",\"last_index\":%" PRIu64 ",\"snapshot_index\":%" PRIu64 ",\"members\":%zu}",
	    n->cfg->node_id, raft_role_name(st.role), st.term,
	    st.leader ? name_of(n, st.leader) : "none", st.commit, n->applied, n->cfg->cluster,
	    n->cfg->address, st.first_index, st.last_index, st.snapshot_index, n->n_members);
}

static int
node_health(void *arg, char *why, size_t whylen)
{
	struct node *n = arg;
	struct raft_status st;

	raft_status(n->raft, &st);
	if (st.leader == 0) {
		snprintf(why, whylen, "no leader known (role %s, term %" PRIu64 ")",
		    raft_role_name(st.role), st.term);
		return -1;
	}
	if (n->applied < st.commit) {
		snprintf(why, whylen, "catching up: applied %" PRIu64 " of %" PRIu64, n->applied,
		    st.commit);
		return -1;
	}
	return 0;
}

static void
node_metrics(void *arg, struct evbuffer *out)
{
	static const enum raft_role roles[] = {
		RAFT_FOLLOWER, RAFT_PRECANDIDATE, RAFT_CANDIDATE, RAFT_LEADER, RAFT_LEARNER,
		RAFT_SPARE,
	};
	struct node *n = arg;
	struct raft_status st;
	uint64_t cum = 0;

	raft_status(n->raft, &st);
	evbuffer_add_printf(out, "# HELP raftconfd_role 1 for this node's current Raft role.\n"
	    "# TYPE raftconfd_role gauge\n");
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		evbuffer_add_printf(out, "raftconfd_role{role=\"%s\"} %d\n",
		    raft_role_name(roles[i]), st.role == roles[i]);
	evbuffer_add_printf(out,
	    "# TYPE raftconfd_term gauge\nraftconfd_term %" PRIu64 "\n"
	    "# TYPE raftconfd_commit_index gauge\nraftconfd_commit_index %" PRIu64 "\n"
	    "# TYPE raftconfd_applied_index gauge\nraftconfd_applied_index %" PRIu64 "\n"
	    "# TYPE raftconfd_snapshot_index gauge\nraftconfd_snapshot_index %" PRIu64 "\n",
	    st.term, st.commit, n->applied, st.snapshot_index);
	evbuffer_add_printf(out, "# HELP raftconfd_wal_fsync_seconds WAL fdatasync latency.\n"
	    "# TYPE raftconfd_wal_fsync_seconds histogram\n");
	for (size_t b = 0; b < N_FSYNC_BUCKETS; b++) {
		cum += n->stats.fsync_bucket[b];
		evbuffer_add_printf(out, "raftconfd_wal_fsync_seconds_bucket{le=\"%g\"} %" PRIu64
		    "\n", fsync_buckets[b], cum);
	}
	evbuffer_add_printf(out, "raftconfd_wal_fsync_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
	    "raftconfd_wal_fsync_seconds_sum %.6f\nraftconfd_wal_fsync_seconds_count %" PRIu64
	    "\n", n->stats.fsync_count, n->stats.fsync_sum, n->stats.fsync_count);
	evbuffer_add_printf(out,
	    "# TYPE raftconfd_proposals_committed_total counter\n"
	    "raftconfd_proposals_committed_total %" PRIu64 "\n"
	    "# TYPE raftconfd_proposals_failed_total counter\n"
	    "raftconfd_proposals_failed_total %" PRIu64 "\n"
	    "# TYPE raftconfd_snapshots_total counter\nraftconfd_snapshots_total %" PRIu64 "\n"
	    "# TYPE raftconfd_snapshot_last_duration_seconds gauge\n"
	    "raftconfd_snapshot_last_duration_seconds %.6f\n"
	    "# TYPE raftconfd_loop_stall_max_seconds gauge\n"
	    "raftconfd_loop_stall_max_seconds %.6f\n",
	    n->stats.proposals_committed, n->stats.proposals_failed, n->stats.snapshots,
	    n->stats.snapshot_last_seconds, n->max_stall);
	evbuffer_add_printf(out, "# HELP raftconfd_peer_rtt_seconds Last heartbeat round trip "
	    "(leader only).\n# TYPE raftconfd_peer_rtt_seconds gauge\n");
	for (size_t i = 0; i < n->n_members; i++)
		if (n->members[i].id != n->self && n->members[i].rtt >= 0)
			evbuffer_add_printf(out, "raftconfd_peer_rtt_seconds{peer=\"%s\"} %.6f\n",
			    n->members[i].name, n->members[i].rtt);
	evbuffer_add_printf(out, "# HELP raftconfd_peer_backlog_bytes Bytes queued to a peer.\n"
	    "# TYPE raftconfd_peer_backlog_bytes gauge\n");
	for (size_t i = 0; i < n->n_members; i++)
		if (n->members[i].id != n->self)
			evbuffer_add_printf(out, "raftconfd_peer_backlog_bytes{peer=\"%s\"} %zu\n",
			    n->members[i].name, peer_backlog(n->peers, n->members[i].name));
	evbuffer_add_printf(out, "# HELP raftconfd_client_requests_total Client requests "
	    "answered, by result.\n# TYPE raftconfd_client_requests_total counter\n");
	evbuffer_add_printf(out, "raftconfd_client_requests_total{result=\"ok\"} %" PRIu64 "\n",
	    n->stats.requests[0]);
	for (uint16_t c = 1; c <= PROTO_E_MAX; c++)
		evbuffer_add_printf(out, "raftconfd_client_requests_total{result=\"%s\"} %" PRIu64
		    "\n", proto_error_name(c), n->stats.requests[c]);
}

/* ------------------------------------------------------------------ start */

static int
lock_data_dir(struct node *n, char *err, size_t errlen)
{
	char path[RAFTCONF_MAX_PATH + 16], pid[32] = "";
	ssize_t len;

	snprintf(path, sizeof(path), "%s/lock", n->cfg->data_dir);
	n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (n->lock_fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(n->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		len = pread(n->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[len > 0 ? len : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "data_dir %s is in use by another raftconfd (pid %s)",
		    n->cfg->data_dir, *pid ? pid : "unknown");
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(n->lock_fd, 0) < 0 || pwrite(n->lock_fd, pid, len, 0) != len)
		log_warning("cannot write the pid into %s: %s", path, strerror(errno));
	return 0;
}

static int
make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Open the store; with fresh, or when it is damaged, start it empty: it is
 * derived state, rebuilt by applying the log again.
 */
static int
reopen_store(struct node *n, bool fresh, char *err, size_t errlen)
{
	char path[RAFTCONF_MAX_PATH + 32], serr[256];
	int rc;

	snprintf(path, sizeof(path), "%s/store.tdb", n->cfg->data_dir);
	if (n->store) {
		store_close(n->store);
		n->store = NULL;
	}
	if (fresh)
		store_destroy(path);
	rc = store_open(path, &n->store, serr, sizeof(serr));
	if (rc == -EBADMSG) {
		log_warning("store %s is damaged (%s); rebuilding it from the WAL", path, serr);
		store_destroy(path);
		rc = store_open(path, &n->store, serr, sizeof(serr));
	}
	if (rc < 0)
		snprintf(err, errlen, "%s", serr);
	return rc;
}

static int
open_storage(struct node *n, struct wal_recovered *rec, char *err, size_t errlen)
{
	char path[RAFTCONF_MAX_PATH + 32], serr[256];
	int rc;

	snprintf(path, sizeof(path), "%s/wal", n->cfg->data_dir);
	if ((rc = make_dir(path, err, errlen)) < 0)
		return rc;
	rc = wal_open(path, &n->wal, rec, serr, sizeof(serr));
	if (rc < 0) {
		snprintf(err, errlen, "%s", serr);
		return rc;
	}
	if (rec->truncated_tail)
		log_warning("%s", rec->message);
	wal_set_segment_bytes(n->wal, NODE_WAL_SEGMENT_BYTES);

	return reopen_store(n, false, err, errlen);
}

/*
 * The newest snapshot was damaged and an older one is all we have (or none
 * at all), while the WAL's log starts after the damaged one: the log no
 * longer reaches a snapshot.  Keep the hard state (term and vote are what
 * make this node's votes safe), put the WAL aside for inspection, and start
 * a new one at the snapshot we have; the store is rebuilt from it, and the
 * leader sends the rest.
 */
static int
fallback_wal(struct node *n, struct wal_recovered *rec, const struct snap_info *snap,
	     bool have_snap, char *err, size_t errlen)
{
	char dir[RAFTCONF_MAX_PATH + 32], aside[RAFTCONF_MAX_PATH + 64];
	struct wal_hardstate hs = rec->hs;
	uint64_t base = have_snap ? snap->index : 0;
	int rc;

	if (rec->snap_index <= base)
		return 0;
	snprintf(dir, sizeof(dir), "%s/wal", n->cfg->data_dir);
	snprintf(aside, sizeof(aside), "%s/wal.unusable-%" PRIu64, n->cfg->data_dir,
	    (uint64_t)time(NULL));
	log_warning("the WAL starts after snapshot %" PRIu64 ", which is damaged; starting "
	    "from %s%s with the same term and vote, the old WAL kept as %s; the leader "
	    "will send the rest", rec->snap_index, have_snap ? "snapshot " : "an empty log",
	    have_snap ? snap->path : "", aside);
	wal_close(n->wal);
	n->wal = NULL;
	wal_recovered_free(rec);
	memset(rec, 0, sizeof(*rec));
	if (rename(dir, aside) < 0 || mkdir(dir, 0700) < 0) {
		snprintf(err, errlen, "cannot put %s aside: %s", dir, strerror(errno));
		return -errno;
	}
	hs.commit = base;
	if ((rc = wal_open(dir, &n->wal, rec, err, errlen)) < 0 ||
	    (rc = wal_set_hardstate(n->wal, &hs)) < 0 ||
	    (have_snap && (rc = wal_snapshot(n->wal, snap->index, snap->term)) < 0) ||
	    (rc = wal_sync(n->wal)) < 0) {
		if (rc != 0 && err[0] == '\0')
			snprintf(err, errlen, "cannot start a new WAL: %s", strerror(-rc));
		return rc;
	}
	wal_set_segment_bytes(n->wal, NODE_WAL_SEGMENT_BYTES);
	rec->hs = hs;
	rec->snap_index = base;
	rec->snap_term = have_snap ? snap->term : 0;
	/* The store may hold what the lost log applied: rebuild it. */
	return reopen_store(n, true, err, errlen);
}

static int
start_raft(struct node *n, const struct wal_recovered *rec, struct snap_info *snapp,
	   bool have_snap, char *err, size_t errlen)
{
	const struct config *cfg = n->cfg;
	struct raft_config rc = {
		.id = n->self,
		.heartbeat_ticks = 2,
		.election_ticks = cfg->election_ms / n->tick_ms,
	};
	struct raft_init init = {
		.hs = { rec->hs.term, rec->hs.vote, rec->hs.commit },
		.n_entries = rec->nentries,
	};
	struct raft_entry *ents = NULL;
	struct raft_member *boot = NULL;
	uint64_t applied = store_applied(n->store);
	struct raft_snapshot_meta meta;
	struct snap_info snap = *snapp;
	uint64_t last;
	int ret;

	rc.seed = node_id_of(cfg->node_id) ^ (uint64_t)getpid() << 32 ^ now_ms();
	if (rec->nentries && (ents = calloc(rec->nentries, sizeof(*ents))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < rec->nentries; i++) {
		ents[i].index = rec->entries[i].index;
		ents[i].term = rec->entries[i].term;
		ents[i].type = rec->entries[i].type;
		ents[i].len = rec->entries[i].len;
		ents[i].data = rec->entries[i].data;
	}
	init.entries = ents;
	/*
	 * The store applied only committed entries, and the WAL holds them (the
	 * commit index itself may lag on disk: persist() does not sync a change
	 * of it alone).  A store ahead of the WAL's log is not to be trusted.
	 */
	last = rec->nentries ? rec->entries[rec->nentries - 1].index : rec->snap_index;
	if (applied > last ||
	    (rec->nentries && applied < rec->entries[0].index - 1 && applied < snap.index)) {
		log_warning("store applied index %" PRIu64 " does not match the WAL (commit %"
		    PRIu64 "); rebuilding the store", applied, rec->hs.commit);
		if ((ret = reopen_store(n, true, err, errlen)) < 0)
			goto out;
		applied = 0;
	}
	if (have_snap) {
		meta = (struct raft_snapshot_meta){ snap.index, snap.term, snap.n_members,
			snap.members };
		init.snapshot = &meta;
		n->snapshot_index = snap.index;
		if (applied < snap.index) {
			char serr[256];

			log_notice("restoring the store from snapshot %s", snap.path);
			if ((ret = snap_restore(n->store, snap.path, serr,
			    sizeof(serr))) < 0) {
				snprintf(err, errlen, "restoring %s: %s", snap.path, serr);
				goto out;
			}
			applied = snap.index;
		}
	}
	init.applied = applied;
	n->applied = applied;
	/* What was applied was committed, whatever the stored commit says. */
	if (init.hs.commit < applied)
		init.hs.commit = applied;
	n->queued_term = rec->hs.term;
	n->queued_vote = rec->hs.vote;
	if (cfg->nmembers) {
		if ((boot = calloc(cfg->nmembers, sizeof(*boot))) == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < cfg->nmembers; i++) {
			boot[i].id = node_id_of(cfg->members[i].id);
			boot[i].voter = true;
			context_make(&boot[i], cfg->members[i].id, cfg->members[i].address);
		}
		init.bootstrap = boot;
		init.n_bootstrap = cfg->nmembers;
	}
	ret = raft_new(&rc, &init, &n->raft, err, errlen);
out:
	free(ents);
	free(boot);
	return ret;
}

int
node_start(struct event_base *base, const struct config *cfg, struct node **out, char *err,
	   size_t errlen)
{
	static const struct control_callbacks ccb = { control_request_cb, control_closed_cb };
	static const struct peer_callbacks pcb = { peer_frame_cb, peer_link_cb, once_failed_cb };
	static const struct http_callbacks hcb = {
		http_request_cb, node_status_json, node_health, node_metrics,
	};
	struct peer_opts popts = { cfg->cluster, cfg->node_id, cfg->address, 0 };
	struct wal_recovered rec = { 0 };
	struct snap_info snap = { 0 };
	bool have_snap = false;
	struct raft_status st;
	struct timeval tv;
	uint64_t wd_usec = 0;
	struct node *n;
	int rc;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	n->cfg = cfg;
	n->base = base;
	n->lock_fd = -1;
	n->self = node_id_of(cfg->node_id);
	n->ready_deadline_ms = now_ms() + cfg->ready_timeout_ms;
	n->tick_ms = cfg->heartbeat_ms / 2 ? cfg->heartbeat_ms / 2 : 1;
	/* Followers up to this far behind catch up from the log, not a snapshot. */
	n->snapshot_margin = cfg->snapshot_every / 4 < 5000 ? cfg->snapshot_every / 4 : 5000;
	n->request_timeout_ms = cfg->election_ms * 5;
	if (n->request_timeout_ms < 2000)
		n->request_timeout_ms = 2000;
	if (n->request_timeout_ms > 30000)
		n->request_timeout_ms = 30000;
	n->last_role = 0;
	proto_buf_init(&n->out);

	if ((rc = make_dir(cfg->data_dir, err, errlen)) < 0 ||
	    (rc = lock_data_dir(n, err, errlen)) < 0 ||
	    (rc = snap_open(cfg->data_dir, &n->snaps, err, errlen)) < 0 ||
	    (rc = open_storage(n, &rec, err, errlen)) < 0)
		goto fail;
	have_snap = snap_latest(n->snaps, &snap) == 0;
	if ((rc = fallback_wal(n, &rec, &snap, have_snap, err, errlen)) < 0 ||
	    (rc = start_raft(n, &rec, &snap, have_snap, err, errlen)) < 0)
		goto fail;
	wal_recovered_free(&rec);
	snap_info_free(&snap);

	if ((rc = peer_net_new(base, &popts, &pcb, n, &n->peers)) < 0) {
		snprintf(err, errlen, "peer network: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = peer_listen(n->peers, cfg->listen, err, errlen)) < 0)
		goto fail;
	members_sync(n);
	if ((rc = control_open(base, cfg->socket, &ccb, n, &n->ctl, err, errlen)) < 0)
		goto fail;

	if (cfg->http_listen[0] &&
	    (rc = http_open(base, cfg->http_listen, &hcb, n, &n->http, err, errlen)) < 0)
		goto fail;

	n->ready_ev = event_new(base, -1, 0, ready_cb, n);
	n->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, n);
	n->sync_ev = event_new(base, wal_sync_fd(n->wal), EV_READ | EV_PERSIST, sync_cb, n);
	if (n->ready_ev == NULL || n->tick_ev == NULL || n->sync_ev == NULL ||
	    event_add(n->sync_ev, NULL) < 0) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Lowest of main()'s three priorities (I/O runs at the default, 1): the
	 * batch is cut after the loop turn's I/O. */
	event_priority_set(n->ready_ev, 2);
	tv.tv_sec = n->tick_ms / 1000;
	tv.tv_usec = (n->tick_ms % 1000) * 1000;
	evtimer_add(n->tick_ev, &tv);
	process_ready(n);
	log_notice("serving: node %s of cluster %s, peers on %s, clients on %s, applied %" PRIu64,
	    cfg->node_id, cfg->cluster, cfg->listen, cfg->socket, n->applied);
	if (sd_watchdog_enabled(0, &wd_usec) > 0) {
		n->watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, n);
		tv.tv_sec = wd_usec / 2 / 1000000;
		tv.tv_usec = wd_usec / 2 % 1000000;
		if (n->watchdog_ev)
			evtimer_add(n->watchdog_ev, &tv);
		sd_notify(0, "WATCHDOG=1");
	}
	raft_status(n->raft, &st);
	if (st.role == RAFT_SPARE)
		become_ready(n, "a spare: serving the control socket until joined");
	else
		ready_progress(n, now_ms());
	*out = n;
	return 0;
fail:
	wal_recovered_free(&rec);
	snap_info_free(&snap);
	node_free(n);
	return rc;
}

void
node_stop(struct node *n)
{
	struct timeval tv = { 2 * n->cfg->election_ms / 1000, 2 * n->cfg->election_ms % 1000 * 1000 };

	if (n->stopping) {
		event_base_loopexit(n->base, NULL);	/* a second signal: now */
		return;
	}
	n->stopping = true;
	sd_notify(0, "STOPPING=1");
	/* A leader hands over first, so that a rolling restart costs no
	 * election timeout; bounded by stop_ev. */
	if (raft_leader(n->raft) == n->self && raft_transfer(n->raft, 0) == 0) {
		log_notice("stopping: handing leadership over first");
		n->stop_ev = evtimer_new(n->base, stop_timeout_cb, n);
		if (n->stop_ev && evtimer_add(n->stop_ev, &tv) == 0) {
			schedule_ready(n);
			return;
		}
	}
	event_base_loopexit(n->base, NULL);
}

void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	snap_child_abort(n, "the node is stopping");
	while (n->w_head)
		write_remove(n, n->w_head);
	while (n->reads) {
		struct pending_read *r = n->reads;

		n->reads = r->next;
		free(r);
	}
	while (n->fwds) {
		struct pending_fwd *f = n->fwds;

		n->fwds = f->next;
		free(f);
	}
	while (n->watchers) {
		struct watcher *w = n->watchers;

		n->watchers = w->next;
		free(w);
	}
	while (n->joins) {
		struct pending_join *j = n->joins;

		n->joins = j->next;
		free(j);
	}
	while (n->transfers) {
		struct pending_transfer *t = n->transfers;

		n->transfers = t->next;
		free(t);
	}
	if (n->watchdog_ev)
		event_free(n->watchdog_ev);
	if (n->stop_ev)
		event_free(n->stop_ev);
	if (n->tick_ev)
		event_free(n->tick_ev);
	if (n->ready_ev)
		event_free(n->ready_ev);
	if (n->sync_ev)
		event_free(n->sync_ev);
	while (n->pb_head) {
		struct persist_batch *b = n->pb_head;

		n->pb_head = b->next;
		free(b);
	}
	http_close(n->http);
	control_close(n->ctl);
	peer_net_free(n->peers);
	raft_free(n->raft);
	if (n->store) {
		if (store_flush(n) < 0)
			log_err("committing the store on the way out failed; the restart applies"
			    " the last entries again from the WAL");
		store_close(n->store);
	}
	if (n->wal)
		wal_close(n->wal);
	snap_close(n->snaps);
	if (n->lock_fd >= 0)
		close(n->lock_fd);
	free(n->members);
	free(n->cmdbuf);
	free(n->pbuf);
	raftmsg_scratch_free(&n->scratch);
	proto_buf_free(&n->out);
	free(n);
}
