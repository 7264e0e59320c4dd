/*
 * node.c — a node's life and the Raft order (contract in node.h; the
 * other files of the node are listed in driver.h).
 *
 * process_ready() takes the core's batches and turns them into I/O in
 * Raft's order: send what may go at once (the leader's AppendEntries go out
 * while its own fdatasync runs, thesis §10.2.1), persist, send what
 * acknowledges the persist, apply what is committed, answer the clients
 * whose entries applied, serve the reads whose index has been applied.
 * tick_cb() drives the core's clock and the deadlines.
 *
 * Not here: consensus rules (raft.c), bytes on the wire (proto.c,
 * raftmsg.c), the file formats (wal*.c, store.c, snap.c), sockets (peer.c,
 * control.c, http.c), and each step's own work (persist.c, apply.c,
 * snapshot.c, kv.c, membership.c, ...).
 */
#include <grp.h>
#include <sys/stat.h>
#include "node.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "control.h"
#include "errbuf.h"
#include "http.h"
#include "log.h"
#include "driver.h"
#include "peer.h"
#include "snap.h"
#include "store.h"
#include "wal.h"

static void
send_raft_msgs(struct node *n, const struct raft_msg *msgs, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct member *to = (struct member *)roster_by_id(n, msgs[i].to);
		const char *name = to ? to->name : roster_name(n, msgs[i].to);
		int rc;

		if (strcmp(name, "?") == 0)
			continue;
		if (to && msgs[i].type == RAFT_MSG_HEARTBEAT) {
			to->hb_seq = msgs[i].seq;
			to->hb_sent = node_now_s();
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

/*
 * A learner elects no one, and it is fed on its feeder's events, not on
 * its own tick: it ticks about once every LEARNER_TICK_MS, each tick
 * counting for as many of the core's, so that an idle fleet of learners
 * costs little (issue 17).  Its requests' deadlines are checked that much
 * less finely; reads, writes and watches move on their events, not the
 * tick, and its store commits about once a second all the same
 * (APPLY_LEARNER_COMMIT_MS).  A learner that relays to others ticks as a
 * voter does (what it feeds at its tick, the commit index alone, goes no
 * later than a voter's); one that is promoted does from the change on
 * (state_changed).
 */
#define LEARNER_TICK_MS 1000

static void
tick_rate(struct node *n, const struct raft_status *st)
{
	unsigned span = 1, ms;
	struct timeval tv;

	if (st->role == RAFT_LEARNER && !st->relayed && n->tick_ms < LEARNER_TICK_MS)
		span = LEARNER_TICK_MS / n->tick_ms;
	if (span == n->tick_span)
		return;
	ms = n->tick_ms * span;
	tv = (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
	n->tick_span = span;
	evtimer_del(n->tick_ev);
	evtimer_add(n->tick_ev, &tv);
}

/* The core's role, term or leader changed: say so, and act on it. */
static void
state_changed(struct node *n)
{
	struct raft_status st;
	const char *role;

	raft_status(n->raft, &st);
	membership_transfers_progress(n);
	readiness_status(n);
	if (n->stopping && st.role != RAFT_LEADER)
		event_base_loopexit(n->base, NULL); /* leadership handed over */
	if (st.relay != n->last_relay) {
		n->last_relay = st.relay;
		roster_links(n); /* a learner links to its relay */
	}
	if (st.role == n->last_role && st.leader == n->last_leader && st.term == n->last_term)
		return;
	role = raft_role_name(st.role);
	if (st.role == RAFT_SPARE && n->last_role && n->last_role != RAFT_SPARE)
		log_notice_f(LOG_FIELDS(.term = st.term, .role = role),
		    "this node was removed "
		    "from the cluster; it takes no part any more ('raftconfctl join' adds it "
		    "again)");
	else if (st.role != n->last_role || st.term != n->last_term)
		log_notice_f(LOG_FIELDS(.term = st.term, .role = role),
		    "role %s, term %" PRIu64 ", leader %s", role, st.term,
		    roster_name(n, st.leader));
	else
		log_notice_f(LOG_FIELDS(.term = st.term, .role = role),
		    "leader is now %s (term %" PRIu64 ")", roster_name(n, st.leader), st.term);
	if (st.leader != n->last_leader)
		kv_leader_changed(n);
	if ((st.role == RAFT_LEADER) != (n->last_role == RAFT_LEADER))
		roster_links(n); /* the leader links its learners */
	tick_rate(n, &st);
	/* etcd's leader_changes_seen: a leader known that is not the last one */
	if (st.leader != 0 && st.leader != n->last_leader)
		n->stats.leader_changes++;
	n->last_role = st.role;
	n->last_leader = st.leader;
	n->last_term = st.term;
}

/*
 * One batch of the core's output, in Raft's order.  Batches with snapshot
 * I/O drain the persist queue and go synchronously (snapshot files and the
 * WAL in order).  The rest queue behind the syncs in flight, those with
 * nothing to persist too when they hold messages to send after persisting.
 * On an error the batch is handed back and the node stops: -1.
 */
static int
process_batch(struct node *n, struct raft_ready *rd)
{
	struct raft_chunk_read cr[16];
	size_t n_cr;
	bool changed, async;
	const char *what = NULL; /* NULL: the WAL failed (persist_failed says where) */
	int rc = 0;

	if (rd->n_entries > 0) /* learners' lag is timed from here on the leader */
		status_fleet_grew(n, rd->entries[rd->n_entries - 1].index);
	send_raft_msgs(n, rd->msgs, rd->n_msgs);
	if (rd->n_msgs)
		peer_flush(n->peers); /* a leader's AppendEntries go first */
	async = !rd->snapshot && rd->n_chunk_writes == 0 &&
	    (rd->must_persist || (rd->n_msgs_after_persist > 0 && persist_waiting(n)));
	if ((rd->snapshot || rd->n_chunk_writes) && (rc = persist_drain(n)) < 0)
		goto fail;
	/* Received snapshot chunks go to their file first: the last one
	 * completes the snapshot this same batch may install. */
	for (size_t i = 0; i < rd->n_chunk_writes; i++) {
		const struct raft_chunk_write *cw = &rd->chunk_writes[i];

		what = "writing a received snapshot chunk failed";
		if ((rc = snap_recv_chunk(n->snaps, cw->offset, cw->data, cw->len)) < 0)
			goto fail;
		n->snapshot_recv_bytes = cw->offset + cw->len;
		n->snapshot_recv_size = cw->size;
	}
	what = "installing the leader's snapshot failed";
	if (rd->snapshot && (rc = snapshot_install(n, rd->snapshot)) < 0)
		goto fail;
	what = NULL;
	if (async) {
		if ((rc = persist_async(n, rd)) < 0)
			goto fail;
	} else {
		if (rd->must_persist && (rc = persist_sync_batch(n, rd)) < 0)
			goto fail;
		send_raft_msgs(n, rd->msgs_after_persist, rd->n_msgs_after_persist);
		if (rd->must_persist)
			raft_persisted(n->raft, rd->persist_index, rd->persist_term);
	}
	/* Checked once the leader has its answer: the check is off the
	 * transfer's round trip, and the next chunk comes meanwhile. */
	for (size_t i = 0; i < rd->n_chunk_writes; i++)
		snap_recv_check(n->snaps, rd->chunk_writes[i].offset, rd->chunk_writes[i].data,
		    rd->chunk_writes[i].len);
	what = "applying to the store failed";
	if ((rc = apply_entries(n, rd->committed, rd->n_committed)) < 0)
		goto fail;
	for (size_t i = 0; i < rd->n_reads; i++) {
		readiness_read_index(n, rd->reads[i].ctx, rd->reads[i].index);
		kv_read_index(n, rd->reads[i].ctx, rd->reads[i].index);
		backup_read_index(n, rd->reads[i].ctx, rd->reads[i].index);
	}
	if (rd->members_changed)
		roster_sync(n);
	/* Copied out: the core wants the chunks only after this batch. */
	n_cr = rd->n_chunk_reads < 16 ? rd->n_chunk_reads : 16;
	if (n_cr)
		memcpy(cr, rd->chunk_reads, n_cr * sizeof(*cr));
	changed = rd->status_changed || rd->members_changed;
	raft_advance(n->raft, rd); /* clears rd */
	snapshot_send_chunks(n, cr, n_cr);
	if (changed)
		state_changed(n);
	return 0;
fail:
	raft_advance(n->raft, rd);
	if (what == NULL)
		persist_failed(n, rc);
	else
		node_fatal(n, what, rc);
	return -1;
}

static void
process_ready(struct node *n)
{
	while (raft_has_ready(n->raft)) {
		struct raft_ready rd;

		raft_ready(n->raft, &rd);
		if (process_batch(n, &rd) < 0)
			return;
	}
	if (raft_commit_unsent(n->raft) && !evtimer_pending(n->commit_ev, NULL)) {
		struct timeval tv = { 0, RAFT_COMMIT_DELAY_US };

		evtimer_add(n->commit_ev, &tv);
	}
	if (!evtimer_pending(n->relay_ev, NULL) && raft_relay_due(n->raft)) {
		struct timeval tv = { 0, RAFT_RELAY_DELAY_US };

		evtimer_add(n->relay_ev, &tv);
	}
	persist_progress(n); /* start the sync the batches above wait for */
	snapshot_progress(n);
	snapshot_maybe(n);
	membership_joins_progress(n);
	kv_reads_progress(n);
	watch_progress(n, 0);
	backup_progress(n);
	readiness_progress(n, node_now_ms());
}

static void
ready_cb(evutil_socket_t fd, short what, void *arg)
{
	process_ready(arg);
}

/* No append carried the commit index to a follower in time: tell it now. */
static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	raft_send_commit(n->raft);
	process_ready(n);
}

/* Entries committed a moment ago: the learners this relay feeds get them. */
static void
relay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	if (n->removed)
		return;
	raft_relay_flush(n->raft);
	process_ready(n);
}

/* A request whose deadline passed: answer it by its kind. */
static void
expired_cb(void *arg, struct pending *p)
{
	struct node *n = arg;

	if (p->kind == PEND_JOIN || p->kind == PEND_TRANSFER)
		membership_expired(n, p);
	else if (p->kind == PEND_CENSUS)
		census_expired(n, p);
	else if (p->kind == PEND_FORWARD && p->op == PROTO_T_CLUSTER_STATUS)
		census_forward_failed(n, p);
	else
		kv_expired(n, p);
}

/*
 * A leader whose disk is full refuses every write: hand leadership to the
 * most up-to-date voter, which may have room (once per election timeout).
 */
static void
disk_leader_hands_over(struct node *n, double now)
{
	if (!n->disk.full || raft_leader(n->raft) != n->self || n->stopping ||
	    now < n->disk.handover_at)
		return;
	n->disk.handover_at = now + n->cfg->election_ms / 1000.0;
	if (raft_transfer(n->raft, 0) == 0)
		log_notice("handing leadership over: this node's disk is full");
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct raft_status st;
	double t = node_now_s();
	uint64_t now;
	int rc;

	/* How late this tick is: the loop was busy (a long fsync, a big
	 * snapshot) for that long.  Shown in status and /metrics, and over
	 * NODE_STALL_NOTICE_S at notice level (at most one line a second). */
	if (n->last_tick > 0) {
		double late = t - n->last_tick - n->tick_ms * n->tick_span / 1000.0;

		if (late > n->max_stall)
			n->max_stall = late;
		if (late > NODE_STALL_NOTICE_S && t - n->stall_told_at >= 1.0) {
			char ms[32];

			snprintf(ms, sizeof(ms), "%.0f", late * 1000);
			log_notice_f(LOG_FIELDS(.extra_name = "LOOP_STALL_MS", .extra_value = ms),
			    "the event loop stalled %s ms: a tick due every %u ms came that late, "
			    "and requests and heartbeats waited as long",
			    ms, n->tick_ms * n->tick_span);
			n->stall_told_at = t;
		}
	}
	n->last_tick = t;
	if ((rc = apply_tick(n, node_now_ms())) < 0) {
		node_fatal(n, "committing the store failed", rc);
		return;
	}
	disk_check(n, t);
	if ((rc = apply_retry(n)) < 0) {
		node_fatal(n, "applying again after the store ran out of space failed", rc);
		return;
	}
	if (disk_retry_due(n, DISK_WAL, t))
		persist_progress(n);
	disk_leader_hands_over(n, t);
	for (unsigned i = 0; i < n->tick_span && !n->removed; i++)
		raft_tick(n->raft);
	now = node_now_ms();
	status_fleet_tick(n, now);
	/* What is done is answered before what is late is given up. */
	membership_transfers_progress(n);
	kv_reads_progress(n);
	watch_progress(n, now);
	pending_expire(&n->pending, now, expired_cb, n);
	roster_departed_expire(n, now);
	heap_trim_tick(&n->heap, now);
	if (++n->ticks % 8 == 0)
		membership_promote_learners(n);
	process_ready(n);
	readiness_status(n);
	raft_status(n->raft, &st);
	tick_rate(n, &st); /* a learner that started or stopped relaying */
}

static void
stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	log_warning(
	    "leadership did not move within %u ms; stopping anyway", 2 * n->cfg->election_ms);
	event_base_loopexit(n->base, NULL);
}

/*
 * The readers must reach the socket: its directory (systemd's
 * RuntimeDirectory, 0750) gets o+x, search only, when it is ours.
 */
static void
reach_socket_dir(const char *socket)
{
	char dir[RAFTCONF_MAX_PATH + 1];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", socket);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (stat(dir, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & S_IXOTH))
		return;
	if (chmod(dir, (st.st_mode & 07777) | S_IXOTH) == 0)
		log_notice(
		    "%s: others may now search it, so that read_group reaches the socket", dir);
}

/*
 * node.read_group: its members may connect too (the socket becomes 0666)
 * and may only read; who may do what is decided per connection from its
 * credentials (dispatch.c).
 */
static int
open_to_readers(struct node *n, char *err, size_t errlen)
{
	struct group *g;

	if (n->cfg->read_group[0] == '\0')
		return 0;
	if ((g = getgrnam(n->cfg->read_group)) == NULL) {
		seterr(err, errlen, "read_group: no group named %s", n->cfg->read_group);
		return -ENOENT;
	}
	n->read_gid = g->gr_gid;
	if (chmod(n->cfg->socket, 0666) < 0) {
		seterr(err, errlen, "control socket %s: %s", n->cfg->socket, strerror(errno));
		return -errno;
	}
	reach_socket_dir(n->cfg->socket);
	return 0;
}

/* The node's events on base; 0 or -ENOMEM. */
static int
start_events(struct node *n)
{
	struct timeval tv = { n->tick_ms / 1000, (n->tick_ms % 1000) * 1000 };

	n->ready_ev = event_new(n->base, -1, 0, ready_cb, n);
	n->commit_ev = evtimer_new(n->base, commit_cb, n);
	n->relay_ev = evtimer_new(n->base, relay_cb, n);
	n->tick_ev = event_new(n->base, -1, EV_PERSIST, tick_cb, n);
	n->persist.sync_ev =
	    event_new(n->base, wal_sync_fd(n->wal), EV_READ | EV_PERSIST, persist_sync_cb, n);
	if (n->ready_ev == NULL || n->commit_ev == NULL || n->relay_ev == NULL ||
	    n->tick_ev == NULL || n->persist.sync_ev == NULL ||
	    event_add(n->persist.sync_ev, NULL) < 0)
		return -ENOMEM;
	/* Lowest of main()'s three priorities (I/O runs at the default, 1): the
	 * batch is cut after the loop turn's I/O. */
	event_priority_set(n->ready_ev, 2);
	n->tick_span = 1;
	evtimer_add(n->tick_ev, &tv);
	return 0;
}

static struct node *
node_new(struct event_base *base, const struct config *cfg)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->cfg = cfg;
	n->base = base;
	n->lock_fd = -1;
	n->self = node_id_of(cfg->node_id);
	n->rdy.deadline_ms = node_now_ms() + cfg->ready_timeout_ms;
	n->tick_ms = cfg->heartbeat_ms / 2 ? cfg->heartbeat_ms / 2 : 1;
	/* Followers up to this far behind catch up from the log, not a snapshot. */
	n->snapshot_margin = cfg->snapshot_every / 4 < 5000 ? cfg->snapshot_every / 4 : 5000;
	n->request_timeout_ms = cfg->election_ms * 5;
	if (n->request_timeout_ms < 2000)
		n->request_timeout_ms = 2000;
	if (n->request_timeout_ms > 30000)
		n->request_timeout_ms = 30000;
	/*
	 * ReadIndex contexts are matched by value alone, and a leader may answer
	 * the previous process's read after this one started: they start at a
	 * random point, so that no context of this process is one of an earlier
	 * process (a stale answer would read as this one's).
	 */
	if (getrandom(&n->next_ctx, sizeof(n->next_ctx), GRND_NONBLOCK) != sizeof(n->next_ctx))
		n->next_ctx = (uint64_t)getpid() << 40 ^ (uint64_t)time(NULL) << 8 ^ node_now_ms();
	n->next_ctx >>= 2; /* far from wrapping, and never 0 once incremented */
	pending_init(&n->pending);
	proto_buf_init(&n->out);
	proto_buf_init(&n->txnbuf);
	return n;
}

/*
 * Descriptors the caps of every door can take at once: the peer port's
 * handshakes, strangers and RAFTCONF_MAX_CONNS_PER_ID per member, one
 * link to each member, the control socket's clients, HTTP's connections
 * (256, http.c), and a margin for the WAL, the store, snapshots and the
 * journal.  Below it the peer port's caps shrink, so that a flood on it
 * can never take the descriptors the rest needs.
 */
#define NODE_FDS_WANTED                                                                          \
	(RAFTCONF_MAX_PEER_HANDSHAKES + RAFTCONF_MAX_PEER_STRANGERS +                            \
	    RAFTCONF_MAX_MEMBERS * (RAFTCONF_MAX_CONNS_PER_ID + 1) + CONTROL_MAX_CLIENTS + 256 + \
	    64)

/* The peer port's bounds, from the configuration and the descriptor limit. */
static void
peer_bounds(const struct config *cfg, struct peer_opts *o)
{
	struct rlimit rl;
	unsigned part;

	/* Members always talk (heartbeats, PINGs): a few election timeouts of
	 * silence is a dead or hostile peer. */
	o->idle_ms = cfg->election_ms * 4 > PEER_IDLE_MS ? cfg->election_ms * 4 : PEER_IDLE_MS;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= NODE_FDS_WANTED)
		return;
	/* An eighth of what there is for the connections of strangers. */
	part = (unsigned)(rl.rlim_cur / 8);
	o->max_handshakes = part / 3 > 4 ? part / 3 : 4;
	o->max_strangers = part - part / 3 > 4 ? part - part / 3 : 4;
	log_warning("the limit of open files is %llu, below the %d the limits of raftconfd "
		    "need (raise LimitNOFILE): the peer port takes at most %u connections in "
		    "their handshake and %u from nodes that are not members",
	    (unsigned long long)rl.rlim_cur, NODE_FDS_WANTED, o->max_handshakes, o->max_strangers);
}

void
node_set_tls(struct node *n, const struct node_tls *tls)
{
	if (tls->peer && n->peers)
		peer_set_tls(n->peers, tls->peer);
	if (tls->http && n->http)
		http_set_tls(n->http, tls->http);
}

int
node_start(struct event_base *base, const struct config *cfg, const struct node_tls *tls,
    struct node **out, char *err, size_t errlen)
{
	struct peer_opts popts = {
		.cluster = cfg->cluster,
		.node_id = cfg->node_id,
		.address = cfg->address,
	};
	struct node *n;
	int rc;

	peer_bounds(cfg, &popts);
	if ((n = node_new(base, cfg)) == NULL)
		return -ENOMEM;
	if ((rc = boot_open(n, err, errlen)) < 0)
		goto fail;
	if ((rc = tokens_load(n)) < 0) {
		seterr(err, errlen, "reading the HTTP tokens from the store: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = peer_net_new(base, &popts, &dispatch_peer_cb, n, &n->peers)) < 0) {
		seterr(err, errlen, "peer network: %s", strerror(-rc));
		goto fail;
	}
	peer_set_tls(n->peers, tls->peer); /* before the first link is dialled */
	if ((rc = peer_listen(n->peers, cfg->listen, err, errlen)) < 0)
		goto fail;
	roster_sync(n);
	if ((rc = control_open(base, cfg->socket, &dispatch_control_cb, n, &n->ctl, err, errlen)) <
	    0)
		goto fail;
	if ((rc = open_to_readers(n, err, errlen)) < 0)
		goto fail;
	if (cfg->http_listen[0] &&
	    (rc = http_open(base, cfg->http_listen, &dispatch_http_cb, n, &n->http, err, errlen)) <
		0)
		goto fail;
	if (n->http)
		http_set_tls(n->http, tls->http);
	if ((rc = start_events(n)) < 0) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	process_ready(n);
	log_notice("serving: node %s of cluster %s, peers on %s (%s), clients on %s%s%s%s, "
		   "applied %" PRIu64,
	    cfg->node_id, cfg->cluster, cfg->listen, tls->peer ? "mutual TLS" : "plain TCP",
	    cfg->socket, cfg->http_listen[0] ? " and " : "",
	    cfg->http_listen[0] ? (tls->http ? "https://" : "http://") : "", cfg->http_listen,
	    n->applied);
	readiness_start(n);
	*out = n;
	return 0;
fail:
	node_free(n);
	return rc;
}

void
node_stop(struct node *n)
{
	struct timeval tv = { 2 * n->cfg->election_ms / 1000,
		2 * n->cfg->election_ms % 1000 * 1000 };

	if (n->stopping) {
		event_base_loopexit(n->base, NULL); /* a second signal: now */
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
			node_schedule(n);
			return;
		}
	}
	event_base_loopexit(n->base, NULL);
}

int
node_failed(const struct node *n)
{
	return n->failed;
}

void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	snapshot_abort(n, "the node is stopping");
	snapshot_restore_abort(n);
	grow_abort(n);
	backup_free(n);
	census_free(n);
	pending_clear(&n->pending);
	watch_free(n);
	token_table_free(&n->tokens);
	readiness_free(n);
	if (n->stop_ev)
		event_free(n->stop_ev);
	if (n->tick_ev)
		event_free(n->tick_ev);
	if (n->ready_ev)
		event_free(n->ready_ev);
	if (n->commit_ev)
		event_free(n->commit_ev);
	if (n->relay_ev)
		event_free(n->relay_ev);
	persist_free(n);
	http_close(n->http);
	control_close(n->ctl);
	peer_net_free(n->peers);
	raft_free(n->raft);
	if (n->store) {
		if (apply_flush(n) < 0)
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
	raftmsg_scratch_free(&n->scratch);
	proto_buf_free(&n->out);
	proto_buf_free(&n->txnbuf);
	free(n);
}
