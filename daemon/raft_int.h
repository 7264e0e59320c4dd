/*
 * raft_int.h — the inside of a struct raft, and what the files of the Raft
 * core share.  Not for anyone else: the contract is raft.h, and only
 * daemon/raft*.c include this.
 *
 * The core is these files, from the top layer down; a file calls only
 * files listed below it:
 *	raft.c		create and free, the tick, the batch handed out
 *			(raft_ready, raft_advance), persisted and applied,
 *			the status getters
 *	raft_step.c	a message received: checked, its sender judged, and
 *			handed to the handler of this node's role
 *	raft_member.c	membership changes asked for, force-new-cluster
 *	raft_election.c	pre-vote, votes, campaigns, check-quorum, leadership
 *			transfer
 *	raft_relay.c	relays: the leader hands learners to followers, a
 *			follower feeds them, a learner asks its relay
 *	raft_replicate.c progress, AppendEntries both ways, commit, ReadIndex,
 *			proposals
 *	raft_snapshot.c	snapshots: chunks out and in, install, compaction
 *	raft_log.c	the log in memory and the configuration it carries;
 *			members just removed
 *	raft_base.c	the step down to follower, the election timeout, the
 *			batch's output queues
 * raft_member.c and raft_election.c do not call each other.
 *
 * A function one file defines for the others carries the prefix raft__
 * (two underscores): internal, never part of raft.h.
 */
#ifndef RAFTCONF_RAFT_INT_H
#define RAFTCONF_RAFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

/* Bytes of one snapshot chunk a follower accepts. */
#define MAX_CHUNK RAFTCONF_MAX_FRAME

/* ------------------------------------------------------------- structures */

/* What the leader knows of one member (the leader's own entry included). */
struct peer {
	uint64_t match;
	uint64_t next;
	uint8_t state;	 /* enum raft_progress_state */
	bool probe_sent; /* PROBE: an append is out, wait */
	bool vote_granted;
	bool vote_rejected;
	uint64_t acked_seq;   /* highest heartbeat seq it answered */
	uint64_t hb_match;    /* match at the last heartbeat answer */
	uint64_t told_commit; /* the commit index its last append or heartbeat carried */
	unsigned last_contact;
	/* REPLICATE: last index of each AppendEntries in flight (a ring) */
	uint64_t *inflight;
	unsigned n_inflight;
	unsigned inflight_head;
	/* SNAPSHOT: the transfer; one chunk in flight at a time */
	uint64_t snap_index;
	uint64_t snap_offset; /* acknowledged so far */
	unsigned snap_ticks;  /* since the last progress */
	/* relays (raft_relay.c) */
	uint64_t relay;	       /* leader: the follower that feeds it (0: we do) */
	uint64_t relay_seen;   /* leader: its match at the last learner round */
	unsigned relay_stuck;  /* leader: learner rounds without progress */
	uint64_t relay_failed; /* leader: the last relay it was taken back from */
	bool relaying;	       /* follower: we feed this learner */
};

/*
 * Leader: a member just removed.  It is sent the log up to the entry that
 * removes it, so that it learns of its removal from its own log: a removal
 * notice (the daemon's) is believed only by a node whose configuration
 * already leaves it out.  Probing only, one append at a time; given up
 * when it needs a snapshot or after DEPARTING_TIMEOUTS election timeouts.
 */
struct departing {
	uint64_t id;	/* 0: a free slot */
	uint64_t until; /* the index of the entry that removes it */
	uint64_t match;
	uint64_t next;
	unsigned ticks; /* since it was removed */
	bool done;	/* it has the entry; late answers are absorbed */
};
#define MAX_DEPARTING	   4
#define DEPARTING_TIMEOUTS 4

struct meta {
	uint64_t index;
	uint64_t term;
	struct raft_member *members;
	size_t n_members;
};

struct pending_read {
	uint64_t from; /* this node: a local read */
	uint64_t ctx;
	uint64_t index;
	uint64_t seq;
};

#define VEC(type)              \
	struct {               \
		type *v;       \
		size_t n, cap; \
	}

enum { DEFER_PERSISTED = 1, DEFER_CHUNK, DEFER_TICK };

struct deferred {
	uint8_t kind;
	uint64_t to, index, term, offset, size; /* term: PERSISTED; size: CHUNK */
	void *data;
	uint32_t len;
	bool last;
};

struct raft {
	struct raft_config cfg;
	uint64_t id;
	uint64_t rng[4];

	/* hard state */
	uint64_t term;
	uint64_t vote;
	uint64_t commit;
	struct raft_hard_state prev_hs; /* as last handed out */

	/* lost entries it had acknowledged: no vote or campaign until
	 * raft__last_index() reaches this (0: none); see raft__caught_up() */
	uint64_t catch_up_to;

	enum raft_role state; /* FOLLOWER .. LEADER */
	uint64_t leader;
	uint64_t relay; /* learner: who feeds it (0: the leader) */
	unsigned election_elapsed;
	unsigned heartbeat_elapsed;
	unsigned heartbeat_rounds; /* learners hear one in LEARNER_HEARTBEAT_ROUNDS */
	unsigned timeout;	   /* randomized election timeout */

	/* the log: ents[k].index == base_index + 1 + k */
	struct raft_entry *ents;
	size_t n_ents, cap_ents;
	uint64_t base_index;
	uint64_t base_term;
	uint64_t unstable; /* first index not yet handed out */
	uint64_t stable;   /* durable and still ours */
	uint64_t applying; /* last index handed out to apply */
	uint64_t applied;

	struct meta snap;    /* the latest snapshot (index 0: none) */
	struct meta at;	     /* raft_snapshot_meta_at's answer */
	struct meta install; /* follower: to install in the next batch */
	bool install_pending;
	struct raft_snapshot_meta install_rd; /* install, as handed out */
	/* follower: snapshot being received */
	bool in_active;
	struct meta in;
	uint64_t in_next;

	/* membership as of the last appended change; peers parallel */
	struct raft_member *members;
	struct peer *peers;
	size_t n_members;
	uint64_t conf_index; /* last CONF entry in the log, 0: none */
	bool members_changed;
	bool read_round; /* reads wait for the next heartbeat round */

	/* leader */
	uint64_t seq;				/* heartbeat round, for ReadIndex */
	VEC(struct pending_read) reads_wait;	/* no commit in term yet */
	VEC(struct pending_read) reads_pending; /* awaiting a quorum */
	uint64_t transfer_to;
	unsigned transfer_elapsed;
	struct departing departing[MAX_DEPARTING];

	/* candidate: own vote counts once the batch with it is durable */
	bool self_vote_pending;
	uint64_t self_vote_batch;
	uint64_t apply_batch; /* follower: applies wait until this batch is durable */
	uint64_t batches_out;
	uint64_t batches_persisted;

	/* output of the current batch */
	VEC(struct raft_msg) msgs;
	VEC(struct raft_msg) msgs_after;
	VEC(struct raft_read_state) reads;
	VEC(struct raft_chunk_read) chunk_reads;
	VEC(struct raft_chunk_write) chunk_writes;
	VEC(void *) garbage; /* freed by raft_advance() */
	VEC(void *) to_free; /* compacted entries' data: a slice a tick (free_some) */
	/* calls made while a batch is out, carried out by raft_advance() */
	bool in_ready;
	VEC(struct deferred) deferred;
	enum raft_role last_role;
	uint64_t last_term;
	uint64_t last_leader;
	uint64_t last_relay;

	/* who leads vouched_term, as a voter told this node (check_sender) */
	uint64_t vouched_leader;
	uint64_t vouched_term;

	/* raft_step: what the message it refuses (or the last one) did wrong */
	int step_rc;
	const char *why;

	uint64_t *scratch; /* n_members wide */
};

#define VEC_PUSH(vec, item)                                                           \
	(raft__vec_grow((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof(*(vec).v)) \
		? -ENOMEM                                                             \
		: ((vec).v[(vec).n++] = (item), 0))

/* raft_step.c: messages received */
bool raft__valid_entry(const struct raft_entry *e);

/* raft_election.c: elections */
bool raft__promotable(const struct raft *r);
void raft__record_vote(struct raft *r, uint64_t id, bool granted);
void raft__campaign(struct raft *r, bool pre, bool transfer);
void raft__election_result(struct raft *r);
void raft__handle_vote(struct raft *r, const struct raft_msg *m);
bool raft__quorum_active(const struct raft *r);

/* raft_relay.c: relays */
void raft__relay_assign(struct raft *r);
void raft__relay_report(struct raft *r, const struct raft_msg *m, struct peer *p);
void raft__relay_feed(struct raft *r);
void raft__relay_asked(struct raft *r, const struct raft_msg *m, struct peer *p);
void raft__relay_append(struct raft *r, const struct raft_msg *m);
void raft__relay_heartbeat(struct raft *r, const struct raft_msg *m);

/* raft_replicate.c: replication, commit, reads */
bool raft__send_append(struct raft *r, uint64_t to, struct peer *p, bool allow_empty);
void raft__become_probe(struct peer *p);
void raft__become_replicate(struct peer *p);
bool raft__fed_by_tick(const struct raft *r, size_t i);
bool raft__commit_untold(const struct raft *r, const struct peer *p);
bool raft__append_waits(const struct raft *r, const struct peer *p);
uint64_t raft__learner_holds(const struct raft *r);
void raft__send_append_all(struct raft *r, uint64_t to, struct peer *p, bool allow_empty);
void raft__bcast_append(struct raft *r, bool allow_empty);
/* learners: whether learners hear this round (reads' rounds: voters only) */
void raft__bcast_heartbeat(struct raft *r, bool learners);
/* Once a tick: the learners that keep up get what they lack, in one go. */
void raft__feed_learners(struct raft *r);
uint64_t raft__self_match(const struct raft *r);
bool raft__committed_in_term(const struct raft *r);
void raft__leader_read(struct raft *r, uint64_t from, uint64_t ctx);
void raft__send_read_round(struct raft *r);
void raft__send_timeout_now(struct raft *r, uint64_t to);
uint64_t raft__best_voter(const struct raft *r);
void raft__maybe_commit_and_send(struct raft *r);
void raft__leader_append_resp(struct raft *r, const struct raft_msg *m, struct peer *p);
void raft__leader_heartbeat_resp(struct raft *r, const struct raft_msg *m, struct peer *p);
void raft__leader_snapshot_resp(struct raft *r, const struct raft_msg *m, struct peer *p);
void raft__follower_append(struct raft *r, const struct raft_msg *m);
void raft__follower_heartbeat(struct raft *r, const struct raft_msg *m);
int raft__leader_append(
    struct raft *r, uint8_t type, void *data, uint32_t len, uint64_t *index, uint64_t *term);

/* raft_snapshot.c: snapshots */
void raft__request_chunk(struct raft *r, uint64_t to, struct peer *p);
void raft__start_snapshot(struct raft *r, uint64_t to, struct peer *p);
int raft__chunk_send(struct raft *r, uint64_t to, uint64_t snap_index, uint64_t offset,
    const void *data, size_t len, bool last, uint64_t size);
void raft__follower_snapshot(struct raft *r, const struct raft_msg *m);
void raft__meta_free(struct meta *m);

/* raft_log.c: the log and the configuration it carries */
void *raft__encode_change(
    uint8_t op, uint64_t id, const void *ctx, uint16_t ctx_len, uint32_t *len);
void *raft__encode_bootstrap(const struct raft_member *m, size_t n, uint32_t *len);
int raft__members_check(struct raft_member *m, size_t n);
struct raft_member *raft__members_dup(const struct raft_member *m, size_t n);
ptrdiff_t raft__members_find(const struct raft_member *m, size_t n, uint64_t id);
uint64_t raft__last_index(const struct raft *r);
struct raft_entry *raft__entry_at(const struct raft *r, uint64_t i);
bool raft__term_of(const struct raft *r, uint64_t i, uint64_t *t);
uint64_t raft__last_term(const struct raft *r);
bool raft__match_term(const struct raft *r, uint64_t i, uint64_t t);
void raft__free_entries(struct raft_entry *e, size_t n);
void raft__free_some(struct raft *r);
void raft__log_truncate(struct raft *r, uint64_t i);
int raft__log_append(struct raft *r, const struct raft_entry *e);
void raft__log_compact(struct raft *r, uint64_t i);
uint64_t raft__find_conflict_by_term(const struct raft *r, uint64_t index, uint64_t term);
void raft__commit_to(struct raft *r, uint64_t c);
void raft__caught_up(struct raft *r);
struct peer *raft__peer_of(const struct raft *r, uint64_t id);
bool raft__learner_ready(const struct raft *r, const struct peer *p);
const struct raft_member *raft__member_of(const struct raft *r, uint64_t id);
bool raft__is_voter(const struct raft *r, uint64_t id);
size_t raft__n_voters(const struct raft *r);
size_t raft__quorum(const struct raft *r);
void raft__peer_reset(struct raft *r, struct peer *p);
void raft__set_members(struct raft *r, struct raft_member *m, size_t n);
void raft__members_recompute(struct raft *r);
int raft__members_at(const struct raft *r, uint64_t i, struct raft_member **out, size_t *out_n);
struct departing *raft__departing_of(struct raft *r, uint64_t id);
void raft__departing_resp(struct raft *r, const struct raft_msg *m, struct departing *d);
void raft__departing_tick(struct raft *r, bool heartbeat);

/* raft_base.c: the step down, the timer, the output queues */
int raft__vec_grow(void **v, size_t *cap, size_t need, size_t size);
uint64_t raft__rng_next(struct raft *r);
void raft__reset_timeout(struct raft *r);
void raft__msg_init(struct raft *r, struct raft_msg *m, uint8_t type, uint64_t to);
void raft__queue_msg(struct raft *r, struct raft_msg *m);
void raft__queue_msg_after_persist(struct raft *r, struct raft_msg *m);
int raft__refuse(struct raft *r, int rc, const char *why);
int raft__garbage(struct raft *r, void *p);
int raft__defer(struct raft *r, struct deferred d);
void raft__reads_drop(struct raft *r);
void raft__become_follower(struct raft *r, uint64_t term, uint64_t leader);

#endif
