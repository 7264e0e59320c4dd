/*
 * driver.h — what the files of the node (the daemon's driver) share, and
 * nothing else may include.  node.h is the contract with main(); this is
 * the inside.
 *
 * The node is split in layers, one file each (daemon/README says the same):
 *
 *	node.c		lifecycle and the Raft-order loop (process_ready, tick)
 *	dispatch.c	where a request or a peer frame goes
 *	backup.c	raftconfctl backup: a snapshot streamed to the client
 *	restore.c	raftconfd --restore: a new data_dir from a backup
 *	boot.c		the data_dir: lock, open the WAL and the store, recover
 *	snapshot.c	taking one (a child process), installing and sending one
 *	apply.c		committed entries into the store, in one transaction a tick
 *	persist.c	Raft batches into the WAL; messages held until durable
 *	membership.c	join, remove, transfer, promotion, the removal notice
 *	census.c	status --cluster: every member's status, asked on the peer links
 *	kv.c		reads, writes and forwarding to the leader
 *	watch.c		raftconfctl watch: applied changes to clients
 *	readiness.c	sd_notify: READY, STATUS, WATCHDOG
 *	status.c	one status, rendered for raftconfctl, /v1/status, /metrics
 *	tokens.c	HTTP tokens: the table, its listing, judging HTTP requests
 *	reply.c		answers to clients
 *	roster.c	the member table
 *	disk.c		the data_dir's free space: writes refused while short
 *	pending.c	the table of requests in flight (its own header)
 *
 * from the top layer down: a file calls only files listed below it.
 *
 * Every function here runs on the event loop and none blocks on a peer.
 */
#ifndef RAFTCONF_DRIVER_H
#define RAFTCONF_DRIVER_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>
#include <event2/util.h>

#include "config.h"
#include "limits.h"
#include "log.h"
#include "node.h"
#include "pending.h"
#include "proto.h"
#include "raft.h"
#include "raftmsg.h"
#include "heap.h"
#include "lag.h"
#include "token.h"

struct event;
struct evbuffer;
struct store_result;
struct store_meta;
struct snap_info;
struct wal_recovered;
struct backup;
struct census;

/*
 * WAL segment size: segments are deleted whole once a snapshot covers them,
 * so this bounds the log kept on disk beyond the snapshot (see
 * raftconfd(8), "Disk use").
 */
#define NODE_WAL_SEGMENT_BYTES (1024 * 1024)
/* A tick this late (s) is logged at notice level: the loop stalled. */
#define NODE_STALL_NOTICE_S 0.1

/* Nodes heard from that are not (yet) members: where to answer them. */
struct stranger {
	uint64_t id;
	char name[RAFTCONF_MAX_ID + 1];
};
#define N_STRANGERS 16

/* Members that just left: their links stay a moment so they can be told. */
struct departed {
	uint64_t id;
	char name[RAFTCONF_MAX_ID + 1];
	uint64_t unlink_at_ms; /* once committed */
	uint64_t index;	       /* once committed: the entry that removed it */
	bool committed;	       /* the change that removed it */
};
#define N_DEPARTED	   16
#define DEPARTED_LINGER_MS 5000

struct member {
	uint64_t id;
	bool voter;
	char name[RAFTCONF_MAX_ID + 1];
	char address[RAFTCONF_MAX_ADDRESS + 1];
	bool permanent_learner; /* joined with --learner: never promoted */
	/* Heartbeat round trips, measured by the leader. */
	uint64_t hb_seq;
	double hb_sent;
	double rtt; /* seconds, last measured; < 0: none yet */
	/* status.c, on the leader: a learner's lag episode (lag_episode) */
	bool lag_behind;
	uint64_t lag_since_ms; /* when the episode began */
	uint64_t added_ms;     /* when this node first listed it (node_now_ms) */
	bool promote_held;     /* membership.c, leader: told why it stays a learner */
};

/* raftconfctl watch: a client told of every applied change under prefix. */
struct watcher {
	struct origin from;
	size_t plen;
	struct watcher *next;
	char prefix[];
};

/*
 * A POLL waiting for a change under prefix after revision `after`
 * (raftconfctl watch, HTTP ?watch): answered when one applies, or empty at
 * its deadline.
 */
struct poller {
	struct origin from;
	uint64_t after;
	uint64_t deadline_ms;
	bool ready; /* a change under prefix applied since it was parked */
	size_t plen;
	struct poller *next;
	char prefix[];
};
/* POLLs parked at once, from every client together; more are refused. */
#define WATCH_MAX_POLLERS 4096

/* Upper bounds (seconds) of the fsync latency histogram's buckets. */
#define N_FSYNC_BUCKETS 12
extern const double node_fsync_buckets[N_FSYNC_BUCKETS];

/* What /metrics shows; counters only grow. */
struct node_stats {
	uint64_t fsync_count;
	double fsync_sum;
	uint64_t fsync_bucket[N_FSYNC_BUCKETS]; /* not cumulative */
	uint64_t proposals_committed;
	uint64_t proposals_failed;
	uint64_t snapshots;
	double snapshot_last_seconds;
	double snapshot_hold_last_seconds;  /* of it, the store's file held */
	uint64_t store_commits;		    /* the store's transactions (apply.c) */
	uint64_t store_drains;		    /* of them, slices of the pile (apply.c) */
	uint64_t store_grows;		    /* the store's file grown by a child (grow.c) */
	uint64_t store_piled_peak;	    /* the most bytes ever piled */
	uint64_t requests[PROTO_E_MAX + 1]; /* [0]: answered ok, else by error */
	uint64_t leader_changes;	    /* a leader known, not the last one known */
	/* learners' lag, observed by the leader once a second (status.c) */
	uint64_t lag_bucket[LAG_N_BUCKETS + 1]; /* not cumulative; last: +Inf */
	uint64_t lag_count;
	double lag_sum;
};

/* persist.c: Raft batches waiting for the WAL's sync thread. */
struct persist_state {
	struct event *sync_ev;		   /* the WAL's sync thread finished a sync */
	struct persist_batch *head, *tail; /* waiting to be durable */
	uint64_t queued_term;		   /* the hard state's term and vote as */
	uint64_t queued_vote;		   /* last handed to the WAL */
	double sync_started;		   /* when the sync out was started */
	uint8_t *buf;			   /* persist_async's scratch */
	size_t bufcap;
};

/*
 * disk.c: the data_dir's free space.  Writes are refused while it is under
 * the reserve or while the WAL or the store ran out of space (they try
 * again every DISK_CHECK_S).
 */
#define DISK_RESERVE_BYTES (16ull << 20)
#define DISK_CHECK_S	   1.0
enum disk_part { DISK_WAL, DISK_STORE };
struct disk_state {
	bool full;	    /* refusing writes: one of the three below */
	bool low;	    /* under DISK_RESERVE_BYTES free */
	bool wal_blocked;   /* the WAL could not write for want of space */
	bool store_blocked; /* the store could not commit for want of space */
	double retry_at;    /* when a blocked WAL or store tries again */
	double next_check;  /* the next statvfs */
	double handover_at; /* a full leader's next transfer (node.c) */
	uint64_t free_bytes;
	char why[160]; /* what is short; "" when not full */
};

/* snapshot.c: a child process writing a snapshot. */
struct snap_job {
	pid_t pid;	  /* 0: none */
	struct event *ev; /* its pipe: a message on failure, then EOF */
	uint64_t index, term;
	double t0;
	char err[256];
	size_t errlen;
	double retry_at;   /* after a failure, no periodic one before */
	uint64_t bytes_at; /* n->applied_bytes when taken */
	/* Written, its marker in the WAL's buffer: done once wal_sync_done()
	 * reaches marked_need (snapshot_progress).  marked 0: none. */
	uint64_t marked, marked_term, marked_need;
};
#define SNAPSHOT_RETRY_S 5

/*
 * snapshot.c: the leader's snapshot being restored on a thread
 * (snap_restore_build) while the loop goes on serving the old store; the
 * loop swaps it in when the thread says it is done on its pipe.  Until
 * then nothing is applied (apply_entries) and no snapshot taken.
 */
struct restore_job {
	bool running;
	pthread_t thread;
	struct event *ev; /* the read end of the thread's pipe */
	int wfd;	  /* its write end, the thread's */
	uint64_t index, term;
	char store_path[RAFTCONF_MAX_PATH], path[RAFTCONF_MAX_PATH + 64];
	/* the thread's, read once it is joined */
	struct store_built *built;
	int rc;
	char err[256];
};

/* grow.c: a child growing the store's file while the node piles. */
struct grow_job {
	pid_t pid;	  /* 0: none */
	int fd;		  /* its pipe: the free bytes it left, and whether it grew (16 bytes) */
	struct event *ev; /* on fd */
	uint8_t got[16];
	size_t gotlen;
	uint64_t start_bytes, start_index; /* applied_bytes, applied at the fork */
	uint64_t mark_size;		   /* the file at the fork (store_grow_mark) */
	uint32_t mark_recovery;
	bool off; /* the file cannot be measured: no more children */
	/* the last measure: free bytes, at applied_bytes and applied then */
	uint64_t free_est, bytes_at, index_at;
	double retry_at;
};

/* readiness.c: READY=1 once caught up with the leader. */
struct readiness {
	bool ready;
	uint64_t ctx;	/* the ReadIndex that measures "caught up" */
	uint64_t index; /* 0 until the leader answered */
	uint64_t deadline_ms;
	uint64_t asked_ms;
	uint64_t notify_ms; /* last EXTEND_TIMEOUT_USEC */
	struct event *watchdog_ev;
	char status_line[256];
};

struct node {
	const struct config *cfg;
	struct event_base *base;
	struct raft *raft;
	struct wal *wal;
	struct store *store;
	struct snapdir *snaps;
	struct peer_net *peers;
	struct control *ctl;
	struct http_server *http;
	int lock_fd;
	uint64_t self;

	/* The loop: node.c */
	struct event *tick_ev;
	struct event *ready_ev;	 /* runs after the I/O of a loop turn */
	struct event *commit_ev; /* tells followers a commit no append carried */
	struct event *relay_ev;	 /* feeds a relay's learners what just committed */
	struct event *stop_ev;	 /* bounds the wait for a transfer on stop */
	unsigned tick_ms;
	unsigned tick_span; /* the core's ticks one tick_ev stands for (node.c) */
	uint64_t ticks;
	double last_tick;     /* when tick_cb last ran */
	double max_stall;     /* longest the loop made a tick wait, s */
	double stall_told_at; /* when a stall was last logged */
	enum raft_role last_role;
	uint64_t last_leader;
	uint64_t last_relay; /* a learner: the relay it links to (roster_links) */
	uint64_t last_term;
	bool stopping;
	int failed; /* node_fatal's error: the loop is left */

	struct persist_state persist;
	struct disk_state disk;

	/* apply.c */
	uint64_t applied;
	bool store_txn; /* applies since the last store commit */
	uint64_t store_txn_entries;
	uint64_t store_txn_ms; /* when that transaction began */
	bool apply_paused;     /* the store ran out of space: apply_retry */
	bool pile_paused;      /* the store's pile is full: apply_tick resumes */
	uint64_t piled_after;  /* the pile's bytes at the last tick's look (apply_drain) */
	uint64_t told_upto;    /* watchers and removal told up to this index */

	/* snapshot.c */
	struct snap_job snap;
	struct restore_job restore;
	struct grow_job grow;
	uint64_t snapshot_index;  /* of the newest snapshot file */
	uint64_t snapshot_bytes;  /* its size (0: unknown) */
	uint64_t applied_bytes;	  /* entry bytes applied, since the start */
	uint64_t snapshot_at;	  /* applied_bytes when it was taken */
	uint64_t snapshot_margin; /* entries kept below it for slow followers */
	/* the last snapshot received from a leader, or the one coming in:
	 * its bytes here so far and its size as the leader said (0: not said) */
	uint64_t snapshot_recv_bytes;
	uint64_t snapshot_recv_size;
	struct backup *backups; /* backup.c: being prepared or streamed */

	/* membership.c */
	struct member *members;
	size_t n_members;
	struct stranger strangers[N_STRANGERS];
	unsigned next_stranger;
	struct departed departed[N_DEPARTED];
	bool removed; /* the leader told us we were removed */

	/* Requests in flight, and watchers. */
	struct pending_table pending;
	struct watcher *watchers;
	struct poller *pollers;
	unsigned npollers;
	bool pollers_ready;	   /* some poller has a change to be told */
	struct token_table tokens; /* HTTP tokens, as applied here (tokens.c) */
	uint64_t next_ctx;
	uint64_t next_fwd;
	struct census *censuses; /* status --cluster in flight (census.c) */
	unsigned ncensuses;
	uint64_t next_census;
	unsigned request_timeout_ms;
	gid_t read_gid; /* node.read_group's: may only read (dispatch.c) */

	struct readiness rdy;
	struct node_stats stats;
	/* status.c: the leader's log end over time, for members' lag in ms */
	struct lag_ring lag;
	struct heap_trim heap;	  /* freed heap back to the kernel (heap.h) */
	uint64_t lag_observed_ms; /* when learners' lag last went into stats */

	/* Scratch buffers, reused. */
	struct proto_buf out; /* the frame being sent */
	struct raftmsg_scratch scratch;
	uint8_t *cmdbuf; /* the store command being proposed */
	size_t cmdcap;
	/* The answer to a TXN proposed here, built as its entry applies (kv.c). */
	struct proto_buf txnbuf;
	struct proto_reply txn_rb;
	bool txn_building, txn_overflow;
};

/* ------------------------------------------------------------------------
 * Below, each file's functions, from the bottom layer up: a file calls only
 * the files listed above it (and these few inline helpers), never below, so
 * the node has no cycle.  node.c, at the top, calls them all.
 */

static inline double
node_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline uint64_t
node_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run node.c's process_ready() after the I/O of this loop turn. */
static inline void
node_schedule(struct node *n)
{
	event_active(n->ready_ev, EV_TIMEOUT, 0);
}

/*
 * The node cannot go on (its disk failed it): leave the loop after this
 * callback, before any other of this pass can send what the failure makes
 * untrue, and make main() exit non-zero (node_failed).
 */
static inline void
node_fatal(struct node *n, const char *what, int rc)
{
	if (n->failed == 0) {
		log_err("%s: %s; stopping (what is on disk is recovered at the next start)", what,
		    strerror(-rc));
		n->failed = rc < 0 ? rc : -EIO;
	}
	n->stopping = true;
	event_base_loopbreak(n->base);
}

/* disk.c: the data_dir's free space */
void disk_check(struct node *n, double now);
void disk_blocked(struct node *n, enum disk_part part, double now);
void disk_unblocked(struct node *n, enum disk_part part);
bool disk_retry_due(const struct node *n, enum disk_part part, double now);

/* roster.c: the member table */
const struct member *roster_by_id(const struct node *n, uint64_t id);
const struct member *roster_by_name(const struct node *n, struct proto_str name);
const char *roster_name(const struct node *n, uint64_t id);
void roster_stranger_seen(struct node *n, const char *name);
void roster_context_make(struct raft_member *rm, const char *name, const char *address);
void roster_sync(struct node *n);
/* Whether this node keeps a link to member mb (roster_links says which). */
bool roster_linked(const struct node *n, const struct member *mb);
void roster_links(struct node *n);
void roster_departed_expire(struct node *n, uint64_t now);

/* reply.c: answers to clients */
void reply_frame(struct node *n, const struct origin *o);
void reply_bytes(struct node *n, const struct origin *o, const void *frame, size_t len);
void reply_msg(struct node *n, const struct origin *o, struct proto_msg *m);
void reply_error(struct node *n, const struct origin *o, uint16_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void reply_ok(struct node *n, const struct origin *o, uint64_t revision);
void reply_no_leader(struct node *n, const struct origin *o);

/* tokens.c: HTTP tokens */
int tokens_load(struct node *n);
void tokens_applied(struct node *n, const struct raft_entry *e, const struct store_result *res);
void tokens_list_reply(struct node *n, const struct origin *o);
int tokens_http_authorize(void *arg, const struct token_request *r, char *why, size_t whylen);

/* status.c: the status views; the fsync histogram */
void status_reply(struct node *n, const struct origin *o);
int status_frame(struct node *n, struct proto_buf *b, uint64_t id);
void status_members_reply(struct node *n, const struct origin *o);
/* MEMBERS_VIEW answered with this node's view: the leader's, or its own
 * (LOCAL_VIEW) when it is not the leader (kv_forward_quiet failed). */
void status_members_view(struct node *n, const struct origin *o);
/* The leader's MEMBERS_VIEW_REPLY m relayed to o, with SELF on this node. */
void status_members_view_relay(struct node *n, const struct origin *o, const struct proto_msg *m);
/* Once a tick: the leader notes its log's end, warns of learners behind
 * lag_warn_ms (and when they caught up) and samples their lag. */
void status_fleet_tick(struct node *n, uint64_t now_ms);
/* The leader's log grew to last_index (a batch of entries to persist). */
void status_fleet_grew(struct node *n, uint64_t last_index);
void status_http_json(void *arg, struct evbuffer *out);
int status_http_health(void *arg, char *why, size_t whylen);
void status_http_metrics(void *arg, struct evbuffer *out);
void status_record_fsync(struct node *n, double secs);

/* readiness.c: sd_notify */
void readiness_start(struct node *n);
void readiness_progress(struct node *n, uint64_t now);
void readiness_read_index(struct node *n, uint64_t ctx, uint64_t index);
void readiness_status(struct node *n);
void readiness_refresh(struct node *n);
void readiness_free(struct node *n);

/* watch.c: raftconfctl watch */
void watch_start(struct node *n, const struct origin *o, const struct proto_str *prefix);
void watch_drop(struct node *n, enum origin_kind kind, uint64_t conn);
void watch_notify(struct node *n, const struct raft_entry *e, const struct store_result *res);
void watch_event(struct node *n, uint8_t kind, const char *key, size_t klen, uint64_t revision,
    const void *value, size_t vlen);
void watch_poll(struct node *n, const struct origin *o, const struct proto_msg *m);
void watch_progress(struct node *n, uint64_t now_ms);
void watch_store_replaced(struct node *n);
void watch_free(struct node *n);

/* census.c: status --cluster */
void census_start(struct node *n, const struct origin *o, const struct proto_msg *m);
/* When this node links some member not (a learner, and this node does not
 * lead), ask the leader, which links every member, to run it: 0 when
 * asked, -errno when not (this node links them all, or no leader is known
 * or reachable). */
int census_forward(struct node *n, const struct origin *o, const struct proto_msg *m);
/* The census forwarded in p got no answer from the leader (it expired, or
 * the link went down): ask the members from here in the wait left. */
void census_forward_failed(struct node *n, struct pending *p);
int census_answer(struct node *n, uint64_t from, const struct proto_msg *m);
void census_expired(struct node *n, struct pending *p);
void census_peer_lost(struct node *n, uint64_t id);
void census_free(struct node *n);

/* kv.c: reads, writes, forwarding; a LIST_EX's limit (0 for the others) */
void kv_read(struct node *n, const struct origin *o, uint8_t type, uint8_t flags,
    const struct proto_str *key, uint64_t limit);
void kv_write(struct node *n, const struct origin *o, const struct proto_msg *m);
void kv_forward(struct node *n, const struct origin *o, const struct proto_msg *m);
/* As kv_forward, but answers nothing when it cannot forward (this node is
 * the leader, none is known or reachable, o was forwarded already): -errno,
 * and the caller answers. */
int kv_forward_quiet(struct node *n, const struct origin *o, const struct proto_msg *m);
/* As kv_forward_quiet, giving up on the answer after timeout_ms; on 0, *fp
 * (when not NULL) is the PEND_FORWARD entry, in the table. */
int kv_forward_within(struct node *n, const struct origin *o, const struct proto_msg *m,
    uint64_t timeout_ms, struct pending **fp);
int kv_send(struct node *n, struct pending *p, const struct proto_msg *m, const struct member *to);
int kv_relay(struct node *n, uint64_t from, const struct proto_msg *m);
void kv_read_index(struct node *n, uint64_t ctx, uint64_t index);
void kv_reads_progress(struct node *n);
void kv_leader_changed(struct node *n);
void kv_leader_lost(struct node *n, uint64_t leader, const char *name);
void kv_write_applied(struct node *n, const struct raft_entry *e, const struct store_result *res);
bool kv_txn_begin(struct node *n, const struct raft_entry *e);
void kv_txn_get(struct node *n, const char *key, size_t klen, const struct store_meta *meta,
    const uint8_t *val, size_t vlen);
void kv_expired(struct node *n, struct pending *p);

/* membership.c: changes of the membership */
void membership_join(struct node *n, const struct origin *o, const struct proto_msg *m);
void membership_joinreq(struct node *n, const struct origin *o, const struct proto_msg *m);
bool membership_join_answer(
    struct node *n, uint64_t conn, const char *peer_id, const struct proto_msg *m);
void membership_join_failed(struct node *n, uint64_t conn, const char *why);
void membership_remove(struct node *n, const struct origin *o, const struct proto_msg *m);
void membership_transfer(struct node *n, const struct origin *o, const struct proto_msg *m);
void membership_transfers_progress(struct node *n);
void membership_promote_learners(struct node *n);
void membership_joins_progress(struct node *n);
void membership_tell_removed(struct node *n, const struct raft_entry *e);
void membership_removed_notice(
    struct node *n, uint64_t conn, const char *peer_id, const struct proto_msg *m);
void membership_expired(struct node *n, struct pending *p);

/* persist.c: Raft batches into the WAL */
int persist_sync_batch(struct node *n, const struct raft_ready *rd);
int persist_async(struct node *n, const struct raft_ready *rd);
void persist_progress(struct node *n);
int persist_drain(struct node *n);
void persist_sync_cb(evutil_socket_t fd, short what, void *arg);
void persist_free(struct node *n);
bool persist_waiting(const struct node *n);
void persist_failed(struct node *n, int rc);
void persist_blocked(struct node *n);
uint64_t persist_sync_request(struct node *n);

/* apply.c: committed entries into the store */
int apply_entries(struct node *n, const struct raft_entry *ents, size_t count);
int apply_flush(struct node *n);
/* The tick's commit: every tick on a voter, every APPLY_LEARNER_COMMIT_MS on a learner. */
int apply_tick(struct node *n, uint64_t now_ms);
int apply_retry(struct node *n);

/* snapshot.c: take, install, send */
int snapshot_take(struct node *n, char *err, size_t errlen);
void snapshot_maybe(struct node *n);
void snapshot_progress(struct node *n);
void snapshot_found(struct node *n, uint64_t index);
int snapshot_install(struct node *n, const struct raft_snapshot_meta *meta);
void snapshot_send_chunks(struct node *n, const struct raft_chunk_read *cr, size_t count);
void snapshot_abort(struct node *n, const char *why);
/* A restore running on its thread is waited for and thrown away (the node stops). */
void snapshot_restore_abort(struct node *n);

/* child.c: in a child process the node forked to read or write its store (a
 * snapshot's writer, a grower): signals as by default, killed when the
 * node dies (it holds the data dir's lock fd too), the store read without
 * the node's locks.  Exits if the node is already gone. */
void node_child_start(struct node *n, pid_t parent);

/* grow.c: start a child that grows the store's file when its free space
 * runs low (at a tick); wait for a running one (a snapshot's writer reads
 * the file it writes); whether one runs. */
void grow_maybe(struct node *n);
void grow_wait(struct node *n);
/* Kill a running one and undo what it left (the node stops, or its store is replaced). */
void grow_abort(struct node *n);
bool grow_running(const struct node *n);
void snapshot_request(struct node *n, const struct origin *o);
int snapshot_check_received(struct node *n, const struct raft_msg *m, char *err, size_t errlen);

/* boot.c: the data_dir at start */
int boot_open(struct node *n, char *err, size_t errlen);
int boot_make_dir(const char *path, char *err, size_t errlen);
struct raft_member *boot_members(const struct config *cfg);

/* backup.c: raftconfctl backup */
void backup_request(struct node *n, const struct origin *o);
void backup_read_index(struct node *n, uint64_t ctx, uint64_t index);
void backup_progress(struct node *n);
void backup_drained(struct node *n, uint64_t conn);
void backup_drop_conn(struct node *n, uint64_t conn);
void backup_free(struct node *n);

/* dispatch.c: requests and peer frames to where they go */
void dispatch_request(struct node *n, const struct origin *o, const struct proto_msg *m);
extern const struct control_callbacks dispatch_control_cb;
extern const struct peer_callbacks dispatch_peer_cb;
extern const struct http_callbacks dispatch_http_cb;

#endif
