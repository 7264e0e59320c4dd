/*
 * raft.h — the Raft consensus core of raftconfd: the contract.
 *
 * The core is a deterministic state machine.  It never touches the network,
 * the disk or a clock, keeps no global state, and draws randomness only from
 * a generator seeded by the caller (struct raft_config.seed).  The caller
 * (daemon/node.c, tests/raft-sim.c, tests/check_raft.c) feeds it inputs:
 *
 *	raft_tick()		one unit of logical time
 *	raft_step()		a message received from a peer
 *	raft_propose()		a client's write (leader only)
 *	raft_change()		a membership change (leader only)
 *	raft_read_index()	a linearizable read request
 *	raft_transfer()		hand leadership to another voter
 *	raft_persisted()	a batch is durable
 *	raft_applied()		the state machine applied up to an index
 *	raft_snapshot_taken()	the state machine wrote a snapshot
 *	raft_compact()		drop log entries covered by a snapshot
 *	raft_snapshot_chunk()	bytes of a snapshot the core asked for
 *
 * and collects the work those inputs produced as one batch, in the style of
 * etcd-io/raft's Ready/Advance:
 *
 *	while (raft_has_ready(r)) {
 *		struct raft_ready rd;
 *		raft_ready(r, &rd);
 *		send rd.msgs now (a leader's AppendEntries go out while its own
 *		    fsync runs: Raft thesis §10.2.1);
 *		if rd.snapshot: install it (see below);
 *		write rd.hs, rd.entries, rd.chunk_writes durably (one fsync);
 *		send rd.msgs_after_persist;
 *		if rd.must_persist: raft_persisted(r, rd.persist_index, rd.persist_term);
 *		apply rd.committed, then raft_applied(r, index of the last one);
 *		answer rd.chunk_reads with raft_snapshot_chunk();
 *		serve rd.reads once applied >= their index;
 *		raft_advance(r, &rd);
 *	}
 *
 * Every pointer in a raft_ready belongs to the core and stays valid until
 * raft_advance().  While a batch is out (between raft_ready() and
 * raft_advance()) the core's state does not move: the accessors answer as
 * usual; raft_persisted(), raft_applied(), raft_snapshot_chunk() and
 * raft_tick() are accepted, and whatever new work they cause is carried out
 * by raft_advance() and appears in the next batch; raft_step(),
 * raft_propose(), raft_change(), raft_read_index(), raft_transfer(),
 * raft_snapshot_taken() and raft_compact() return -EBUSY.  A caller that
 * persists asynchronously copies what it needs (entries, msgs_after_persist)
 * before raft_advance() and calls raft_persisted() later, once per batch with
 * must_persist set, in batch order.
 *
 * No call blocks.  Every call is O(size of its input) or O(members), apart
 * from raft_ready() (O(size of the batch)), raft_snapshot_taken() and the
 * rare truncation of a log suffix holding a membership change (O(entries
 * in memory)).  Nothing is allocated that the caller must free.
 *
 * Design decisions shared with daemon/node.c:
 *  - Node ids are nonzero uint64_t; the daemon maps its string ids to them.
 *  - Each member carries an opaque context blob (the daemon stores "name
 *    address" there); the core only copies it.
 *  - Membership changes are single-server (add a learner, promote a learner
 *    to voter, remove a member), carried in RAFT_ENTRY_CONF entries, and take
 *    effect when their entry is APPENDED to a log (thesis §4.1), revert if it
 *    is truncated, and only one may be uncommitted at a time.
 *  - A fresh cluster starts from a bootstrap entry: index 1, term 1, a
 *    RAFT_ENTRY_CONF carrying the whole initial membership, committed from
 *    the start.  Every node bootstrapped from the same member list writes the
 *    same entry, so the list must be the same on all of them (the core sorts
 *    it by id).  A node that is not in the list starts empty, as a spare.
 *  - A learner is promoted only once it holds everything committed
 *    (raft_change returns -EAGAIN before); the daemon retries.
 *  - A leader may remove itself: it keeps leading, without counting itself
 *    in majorities, until the removal commits, then hands over to the most
 *    up-to-date voter with TimeoutNow and becomes a spare (§4.2.2).
 *  - Pre-vote and check-quorum are always on: a node that heard from a
 *    leader within an election timeout ignores (pre-)vote requests of higher
 *    terms unless they come from a leadership transfer.
 *  - A member that is removed is still sent the log up to the entry that
 *    removes it (by the leader that appended it, for a few election
 *    timeouts), so that its own configuration says it was removed: its
 *    role becomes RAFT_SPARE and it no longer campaigns.
 *  - The leader counts itself in the commit quorum only for entries it was
 *    told are durable (raft_persisted); a candidate counts its own vote
 *    only once the batch that recorded it is durable.
 *  - A node that lost log entries it had acknowledged (struct
 *    raft_init.catch_up_to) neither votes nor campaigns until its log
 *    reaches the index it had reached before; it still appends and
 *    acknowledges what a leader sends it.
 *  - Relays (issue 17; ZooKeeper's observerMaster): the leader feeds a
 *    learner itself until it keeps up, then hands it to a relay, a
 *    follower it hears or else a learner such a follower feeds (a tree
 *    of two levels, relay_fanout learners under each relay), and says so
 *    in its (rare) heartbeats to the learner (HEARTBEAT.relay).  The learner then asks that relay for the log
 *    (an APPEND_RESP naming what it holds), and the relay feeds it once a
 *    tick with entries it knows are committed, never more: committed
 *    entries are the same in every log, so a learner's log cannot go
 *    wrong whoever relays it.  The learner tells the leader what it
 *    holds in its heartbeat answers; a learner that makes no progress
 *    for RELAY_STUCK_ROUNDS of them, or whose relay the leader no longer
 *    hears, is fed by the leader again (and handed to another relay once
 *    it keeps up).  Relaying lasts one term: a new leader feeds every
 *    learner until it hands them out again.
 */
#ifndef RAFTCONF_RAFT_H
#define RAFTCONF_RAFT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/*
 * Returned (negated) by calls that only a leader serves: the caller forwards
 * the request to raft_leader() itself.  Not a system errno: strerror() does
 * not know it; raft_strerror() does.
 */
#ifndef ENOTLEADER
#define ENOTLEADER 1001
#endif

/* Bytes of a member's context blob (the daemon's "name address"). */
#define RAFT_MAX_MEMBER_CONTEXT 320
/* Bytes of one entry's data; raft_propose() refuses more with -EMSGSIZE. */
#define RAFT_MAX_ENTRY_DATA (RAFTCONF_MAX_FRAME / 2)

struct raft;

/* ------------------------------------------------------------------ types */

enum raft_role {
	RAFT_FOLLOWER = 1, /* a voter following (or waiting for) a leader */
	RAFT_PRECANDIDATE, /* pre-vote round: asking whether it could win */
	RAFT_CANDIDATE,	   /* real election in progress */
	RAFT_LEADER,
	RAFT_LEARNER, /* member without a vote: never campaigns */
	RAFT_SPARE,   /* not in the membership (yet, or any more) */
};

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 1, /* a client's write: data is the caller's */
	RAFT_ENTRY_NOOP,       /* a new leader's first entry (§5.4.2, §8) */
	RAFT_ENTRY_CONF,       /* membership change; data: see raft_change_decode */
};

/*
 * A log entry.  In the log and in a raft_ready the core owns data; in a
 * received message or in struct raft_init the caller does (the core copies).
 * data may be NULL when len is 0.
 */
struct raft_entry {
	uint64_t term;
	uint64_t index;
	uint8_t type; /* enum raft_entry_type */
	uint32_t len;
	void *data;
};

/* A member of the cluster. */
struct raft_member {
	uint64_t id;	      /* nonzero */
	bool voter;	      /* false: learner */
	uint16_t context_len; /* <= RAFT_MAX_MEMBER_CONTEXT */
	uint8_t context[RAFT_MAX_MEMBER_CONTEXT];
};

enum raft_change_op {
	RAFT_CHANGE_ADD_LEARNER = 1, /* id must not be a member */
	RAFT_CHANGE_PROMOTE,	     /* learner -> voter */
	RAFT_CHANGE_REMOVE,	     /* voter or learner, the leader too */
	RAFT_CHANGE_BOOTSTRAP,	     /* only in the bootstrap entry (index 1) */
};

/*
 * A decoded RAFT_ENTRY_CONF entry.  For RAFT_CHANGE_BOOTSTRAP, id is 0 and
 * n_members counts the initial members (use raft_members() after the entry
 * is in the log, or decode it yourself: format in raft.c).
 */
struct raft_change {
	uint8_t op; /* enum raft_change_op */
	uint64_t id;
	uint16_t context_len;
	uint8_t context[RAFT_MAX_MEMBER_CONTEXT];
	uint32_t n_members; /* RAFT_CHANGE_BOOTSTRAP only */
};

/* What must survive a crash besides the log: persisted before anything it
 * acknowledges is sent. */
struct raft_hard_state {
	uint64_t term;
	uint64_t vote; /* 0: none in this term */
	uint64_t commit;
};

/*
 * Snapshot metadata: the last index and term the snapshot covers and the
 * membership at that index (contexts included).  members points to memory
 * owned by whoever filled the struct (see each use).
 */
struct raft_snapshot_meta {
	uint64_t index;
	uint64_t term;
	uint32_t n_members;
	const struct raft_member *members;
};

/* ----------------------------------------------------------------- config */

struct raft_config {
	uint64_t id;   /* this node; nonzero */
	uint64_t seed; /* PRNG seed (election timeouts) */
	/* Zero selects the default given in brackets. */
	unsigned heartbeat_ticks;    /* [1] leader heartbeat interval */
	unsigned election_ticks;     /* [10] timeout in [e, 2e); > heartbeat */
	unsigned max_append_entries; /* [256] entries per AppendEntries */
	size_t max_append_bytes;     /* [1 MiB] data bytes per AppendEntries;
					 * a single larger entry still goes alone */
	unsigned max_inflight;	     /* [64] AppendEntries in flight per peer */
	size_t snapshot_chunk;	     /* [RAFTCONF_SNAPSHOT_CHUNK] bytes */
	unsigned relay_after;	     /* [0] learners the leader keeps feeding itself
				      * before followers relay the others;
				      * RAFT_NO_RELAYS: never */
	unsigned relay_fanout;	     /* [16] learners a relay feeds at most */
};
#define RAFT_NO_RELAYS (~0U)

/*
 * What the caller stored durably, given back on restart.  All of it may be
 * empty (a new node).  The core copies everything; the caller keeps
 * ownership.
 *
 *  hs        the last hard state written (commit is clamped to the log).
 *  snapshot  the last snapshot installed or taken, or NULL.  Its membership
 *            is the base the log's membership changes apply to.
 *  entries   the stored log, consecutive indexes, starting at 1 without a
 *            snapshot, else at or below snapshot->index + 1 (-EINVAL
 *            otherwise).  Entries at or below the snapshot index are the
 *            trailing margin kept for slow followers: they are kept when the
 *            entry at snapshot->index has the snapshot's term (the first one
 *            then only provides its term), and dropped otherwise.
 *  applied   the state machine's applied index if it survives a restart
 *            (>= snapshot index; 0: it is rebuilt from the snapshot, and the
 *            committed entries after it are handed out again).
 *  bootstrap the initial membership, used only when everything above is
 *            empty: if it contains cfg->id, the core writes the bootstrap
 *            entry (see the top of this file); otherwise the node starts as
 *            a spare that never campaigns and waits for a leader to send it
 *            the log or a snapshot.
 *  catch_up_to  the last index this node's log had reached before it lost
 *            part of it (a damaged snapshot or log it fell back from), when
 *            that is above what entries and snapshot hold now; 0: nothing
 *            was lost.  Entries it acknowledged may be among the lost ones,
 *            and it may be the one voter of a quorum that made them
 *            committed: while its last index is below catch_up_to it refuses
 *            every vote and pre-vote, never campaigns (not on an election
 *            timeout, not on TimeoutNow) and waits for a leader to bring its
 *            log (entries or a snapshot) to that index.  The caller keeps
 *            the index durable until raft_status() shows catch_up_to 0.
 */
struct raft_init {
	struct raft_hard_state hs;
	const struct raft_snapshot_meta *snapshot;
	const struct raft_entry *entries;
	size_t n_entries;
	uint64_t applied;
	const struct raft_member *bootstrap;
	size_t n_bootstrap;
	uint64_t catch_up_to;
};

/* --------------------------------------------------------------- messages */

enum raft_msg_type {
	RAFT_MSG_APPEND = 1, /* AppendEntries */
	RAFT_MSG_APPEND_RESP,
	RAFT_MSG_HEARTBEAT, /* AppendEntries without entries or log check */
	RAFT_MSG_HEARTBEAT_RESP,
	RAFT_MSG_PREVOTE, /* "would you vote for me in term `term`?" */
	RAFT_MSG_PREVOTE_RESP,
	RAFT_MSG_VOTE, /* RequestVote */
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_SNAPSHOT, /* InstallSnapshot, one chunk */
	RAFT_MSG_SNAPSHOT_RESP,
	RAFT_MSG_TIMEOUT_NOW, /* leadership transfer: campaign now */
	RAFT_MSG_READ_INDEX,  /* a follower forwards a read to the leader */
	RAFT_MSG_READ_INDEX_RESP,
	RAFT_MSG_TYPE_MAX = RAFT_MSG_READ_INDEX_RESP,
};

/*
 * One message between cores.  A plain struct: the daemon's codec writes the
 * fields a type uses (below) and nothing else; unused fields are zero in
 * messages the core emits and ignored in messages it receives.  The only
 * pointers are entries (APPEND), data and members (SNAPSHOT).  In a
 * raft_ready they point into the core; in raft_step() into the caller's
 * buffer, read only during the call.
 *
 * Every type: type, from, to, term (the sender's term; nonzero).
 *
 * APPEND		prev_index, prev_term, commit, seq, n_entries, entries
 *			(indexes prev_index+1, +2, ...); lead: 0 from the
 *			leader, else a relay's, and the leader it follows
 *			(its entries are all committed)
 * APPEND_RESP		reject; index: on success the last index the follower
 *			now matches, on reject the prev_index it refused;
 *			hint_index, hint_term: on reject, where the leader
 *			should look for the last agreeing entry (fast
 *			back-tracking by conflict term); seq echoed.  From a
 *			learner to its relay unasked, index: what it holds
 *			committed (it asks to be fed); last: to a relay that
 *			is not its own, stop feeding me
 * HEARTBEAT		commit, seq; relay: to a learner, who feeds it (0:
 *			the leader)
 * HEARTBEAT_RESP	seq echoed; index: a learner's committed entries it
 *			holds durably (what a leader that relays it counts)
 * PREVOTE, VOTE	index, log_term: the candidate's last index and its
 *			term; transfer: true when the election is a leadership
 *			transfer (voters then ignore their leader lease).  A
 *			PREVOTE's term is the term the candidate would use.
 * PREVOTE_RESP,
 * VOTE_RESP		reject
 * SNAPSHOT		index, log_term: the snapshot's last index and term;
 *			offset, data, len, last: one chunk of its bytes;
 *			size: its bytes in all (0: the sender did not say);
 *			n_members, members: its membership (in every chunk)
 * SNAPSHOT_RESP	index: the snapshot's index; reject; offset: the next
 *			offset the follower expects (0 after a reject: start
 *			over); last: the snapshot is installed (or not needed)
 * TIMEOUT_NOW		(nothing more; obeyed only from the leader of the
 *			receiver's current term)
 * READ_INDEX		ctx: the requester's read context
 * READ_INDEX_RESP	ctx echoed, index: the read index (a response with
 *			reject set is ignored; the core never sends one)
 */
struct raft_msg {
	uint8_t type; /* enum raft_msg_type */
	uint64_t from;
	uint64_t to;
	uint64_t term;

	uint64_t prev_index;
	uint64_t prev_term;
	uint64_t commit;
	uint64_t index;
	uint64_t log_term;
	uint64_t hint_index;
	uint64_t hint_term;
	uint64_t seq;
	uint64_t ctx;
	uint64_t offset;
	uint64_t size;
	uint64_t lead;	/* APPEND */
	uint64_t relay; /* HEARTBEAT */
	bool reject;
	bool transfer;
	bool last;

	uint32_t n_entries; /* <= RAFT_MAX_MSG_ENTRIES */
	struct raft_entry *entries;

	uint32_t len; /* chunk bytes */
	void *data;
	uint32_t n_members; /* <= RAFTCONF_MAX_MEMBERS */
	struct raft_member *members;
};

/* The most entries raft_step() accepts in one APPEND. */
#define RAFT_MAX_MSG_ENTRIES 65536

/*
 * The largest term.  A message of a larger term is refused (-ERANGE) and a
 * node at this term no longer campaigns: half the range, so that no term
 * (nor the term + 1 a pre-vote asks for) ever wraps to 0.  A cluster that
 * elects a leader every millisecond reaches it in 292 million years.
 */
#define RAFT_MAX_TERM (UINT64_MAX / 2)

/* ------------------------------------------------------------ ready batch */

/* A linearizable read whose index is known: serve ctx's read from the state
 * machine once it has applied at least index. */
struct raft_read_state {
	uint64_t ctx;
	uint64_t index;
};

/*
 * Leader side of snapshot transfer: send `to` the bytes of the snapshot at
 * snap_index starting at offset, at most max_len of them, by calling
 * raft_snapshot_chunk().  If that snapshot is gone (a newer one replaced
 * it), ignore the request: the core restarts the transfer after an election
 * timeout with its current snapshot.
 */
struct raft_chunk_read {
	uint64_t to;
	uint64_t snap_index;
	uint64_t offset;
	uint32_t max_len;
};

/*
 * Follower side: write len bytes of data at offset of the snapshot
 * meta.index/meta.term into a temporary file (offset 0 starts a new file
 * and discards any older partial one).  last: this is the final chunk.
 * size: the whole snapshot's bytes as its sender said (0: not said), for
 * showing progress.  meta.members is NULL here: the full meta comes with
 * rd.snapshot.
 */
struct raft_chunk_write {
	struct raft_snapshot_meta meta;
	uint64_t offset;
	uint64_t size;
	uint32_t len;
	const void *data;
	bool last;
};

struct raft_ready {
	/* Persist, then acknowledge with raft_persisted(). */
	bool must_persist;
	uint64_t persist_index; /* pass these to raft_persisted() */
	uint64_t persist_term;

	bool has_hard_state;
	struct raft_hard_state hs;

	/*
	 * Install this snapshot (meta; its bytes were handed out earlier in
	 * chunk_writes and the last chunk's file is now complete): make the
	 * assembled file the current snapshot with this meta, discard every
	 * stored log entry (the log now starts after meta.index), restore the
	 * state machine from it (applied = meta.index).  Done before the
	 * entries of the same batch are written.
	 */
	const struct raft_snapshot_meta *snapshot;

	/*
	 * Append to the stored log.  An entry whose index is <= the last
	 * stored index replaces the stored log from that index on (the stored
	 * suffix from entries[0].index is deleted first).
	 */
	const struct raft_entry *entries;
	size_t n_entries;

	const struct raft_chunk_write *chunk_writes;
	size_t n_chunk_writes;

	/* Send now. */
	const struct raft_msg *msgs;
	size_t n_msgs;
	/* Send only once this batch (hs, entries, chunks) is durable. */
	const struct raft_msg *msgs_after_persist;
	size_t n_msgs_after_persist;

	/* Committed (and locally durable) entries to apply, in order. */
	const struct raft_entry *committed;
	size_t n_committed;

	const struct raft_read_state *reads;
	size_t n_reads;

	const struct raft_chunk_read *chunk_reads;
	size_t n_chunk_reads;

	bool members_changed; /* raft_members() changed */
	bool status_changed;  /* role, term or leader changed */
};

/* ---------------------------------------------------------- status output */

enum raft_progress_state {
	RAFT_PROGRESS_PROBE = 1, /* one AppendEntries at a time */
	RAFT_PROGRESS_REPLICATE, /* pipelined */
	RAFT_PROGRESS_SNAPSHOT,	 /* receiving a snapshot */
};

struct raft_status {
	uint64_t id;
	enum raft_role role;
	uint64_t term;
	uint64_t vote;
	uint64_t leader; /* 0: none known */
	uint64_t commit;
	uint64_t applied;
	uint64_t first_index; /* first entry in memory (last+1: none) */
	uint64_t last_index;
	uint64_t last_term;
	uint64_t snapshot_index; /* 0: none */
	uint64_t snapshot_term;
	uint64_t transfer_to; /* leader: transfer in progress to */
	uint64_t catch_up_to; /* no vote or campaign until last_index reaches it
			       * (raft_init); 0: caught up */
	uint64_t relay;	      /* a learner: the relay that feeds it (0: the leader) */
	unsigned relayed;     /* a follower: the learners it feeds */
};

/* The leader's view of one peer (the leader itself included). */
struct raft_progress {
	uint64_t id;
	bool voter;
	enum raft_progress_state state;
	uint64_t match;
	uint64_t next;
	unsigned inflight;
	unsigned last_contact;	 /* ticks since a message from it */
	uint64_t snapshot_index; /* state SNAPSHOT: the one being sent */
	uint64_t snapshot_offset;
	uint64_t relay; /* a learner: the follower that feeds it, 0: the leader */
	bool caught_up; /* near enough the commit index for PROMOTE */
};

/* ------------------------------------------------------------------ calls */

/*
 * Create a core from what was stored.  Its election timer starts with
 * election_ticks - 1 ticks elapsed, so a fresh cluster elects within one
 * election timeout.  Returns 0 and *out, or a negative
 * errno with a message in err: -EINVAL for a bad config or inconsistent
 * stored state, -ENOMEM.
 */
int raft_new(const struct raft_config *cfg, const struct raft_init *init, struct raft **out,
    char *err, size_t errlen);
void raft_free(struct raft *r);

/* One tick of logical time: elections, heartbeats, check-quorum,
 * transfer and snapshot-transfer timeouts. */
void raft_tick(struct raft *r);

/*
 * A message received from a peer.  Untrusted input: nothing in it is
 * trusted before it is checked, and it is believed only as far as its
 * sender's role in this node's configuration.  The caller has checked that
 * m->from is the node it came from (the core cannot); raft_step_why() then
 * says in words why a message was refused.  Returns:
 *   0        the message was valid (even when it was stale and had no effect);
 *   -EINVAL  malformed (unknown type, to != this node, from 0 or this node,
 *            term 0, entries out of line, lengths over the limits): ignored;
 *   -EPERM   its sender's role does not allow it: a response from a node
 *            that is not a member, a vote request from one that is not a
 *            voter, leader traffic (AppendEntries, heartbeat, snapshot)
 *            from one that is not a member, unless this node is not in its
 *            own configuration (new, learning the log) or it is the leader
 *            this node follows in this term (one that removed itself),
 *            TimeoutNow from any node but the leader of this term, a read
 *            from a non-member: ignored;
 *   -ERANGE  its term is above RAFT_MAX_TERM: ignored;
 *   -EILSEQ  an AppendEntries that conflicts with a committed entry: it is
 *            answered with a rejection (it is not dropped in silence) and
 *            nothing else changes;
 *   -EBUSY   a batch is out: the message is dropped.
 * Votes carrying the transfer flag pass a voter's leader lease only in the
 * term right after the voter's (where the leader's chosen target stands).
 */
int raft_step(struct raft *r, const struct raft_msg *m);

/*
 * What raft_step() would refuse m for before looking further (-EINVAL,
 * -ERANGE, -EPERM, as raft_step), without changing anything: 0 when it
 * would judge it.  For a caller with work to do before the step (the
 * daemon checks a snapshot's file only for a sender the core would hear).
 */
int raft_check(struct raft *r, const struct raft_msg *m);

/* Why the last raft_step() or raft_check() refused its message ("" when
 * it did not). */
const char *raft_step_why(const struct raft *r);

/*
 * Append a client's write (leader only).  On success *index and *term are
 * where the entry went: the write succeeded iff the entry applied at *index
 * has term *term.  -ENOTLEADER: forward to raft_leader(); -EBUSY: a
 * leadership transfer is in progress; -EMSGSIZE: len > RAFT_MAX_ENTRY_DATA.
 */
int raft_propose(struct raft *r, const void *data, size_t len, uint64_t *index, uint64_t *term);

/*
 * Propose a membership change (leader only); index/term as raft_propose.
 * -ENOTLEADER, -EBUSY (transfer in progress, or a change not yet
 * committed, unless both add learners: those do not wait), -EAGAIN (the
 * leader has not committed an entry of its term yet, or PROMOTE of a
 * learner that has not caught up, as raft_progress's caught_up says: it
 * holds the commit index, or replicates within RAFT_PROMOTE_LAG of it and
 * holds the latest configuration; retry later),
 * -EEXIST (ADD_LEARNER of a member), -ENOENT (PROMOTE or
 * REMOVE of a non-member), -EINVAL (PROMOTE of a voter, REMOVE of the last
 * voter, bad id or context).
 */
int raft_change(struct raft *r, enum raft_change_op op, uint64_t id, const void *context,
    size_t context_len, uint64_t *index, uint64_t *term);
#define RAFT_PROMOTE_LAG 256

/*
 * etcd's --force-new-cluster, the last resort once a majority is lost for
 * good: make this node the only member, keeping its log.  At a new term
 * (no leader of the old cluster wrote in it), it appends changes that
 * promote itself if it is a learner and remove every other member; they
 * are persisted with the next batch, and the node, the only voter, elects
 * itself at once and commits its whole log, what the old cluster had not
 * committed too.  Only right after raft_new, before any other call.  0
 * with *removed the count of members removed (0 and nothing done when it
 * is already the only member); -ENOENT (not a member), -EINVAL (it lost
 * entries: raft_init.catch_up_to), -ERANGE (term), -EBUSY, -ENOMEM; err
 * says why.  The removed members must not come back with their data.
 */
int raft_force_new_cluster(struct raft *r, size_t *removed, char *err, size_t errlen);

/*
 * Ask for a linearizable read.  ctx is the caller's handle for it; a
 * raft_read_state with this ctx appears in a later ready batch once the
 * index is known to be safe (leader: after its own commit of an entry of
 * its term and a heartbeat round acknowledged by a quorum; follower or
 * learner: when the leader answers).  A read lost with a leader change
 * never appears: the caller times it out.  -ENOTLEADER: no leader known.
 */
int raft_read_index(struct raft *r, uint64_t ctx);

/*
 * Hand leadership to voter `to` (0: the most up-to-date voter).  The leader
 * refuses proposals until the transfer ends, brings the target up to date,
 * sends it TimeoutNow, and gives up after an election timeout (as it does
 * when the target is still catching up: see raft_init.catch_up_to).
 * -ENOTLEADER, -EINVAL (to is not another voter, or there is none).
 */
int raft_transfer(struct raft *r, uint64_t to);

/*
 * The caller saw its connection to node id break (reset or closed: the
 * process there may have died).  If id is the leader this node follows,
 * its election timer is run out but for a random part of half an election
 * timeout (so that the followers of a dead leader do not all campaign on the
 * same tick and split the vote): it pre-votes within that, not after a
 * whole election timeout.  Safe whatever
 * the truth: it is the same as this node's timer firing early, and
 * pre-vote keeps it from disturbing a leader that the others still hear
 * (they refuse while their own lease runs).  Ignored while a batch is out.
 */
void raft_peer_lost(struct raft *r, uint64_t id);

/*
 * The caller's connection to node id came (back) up: its process may have
 * restarted with less of the log than it had acknowledged (a damaged WAL
 * tail or snapshot it fell back from).  A leader forgets what it knew of
 * id's log and probes it afresh from its own last index, as a new leader
 * does; otherwise its rejections would look stale and it would never catch
 * up.  Safe: a lower match index only counts one fewer replica until id
 * answers; the commit index never goes back.  A learner whose relay id is
 * asks it for the log again (its last ask may have found no link).
 * Ignored while a batch is out.
 */
void raft_peer_reconnected(struct raft *r, uint64_t id);

/* The batch with must_persist is durable; pass rd.persist_index and
 * rd.persist_term.  Exactly once per such batch, in batch order. */
void raft_persisted(struct raft *r, uint64_t index, uint64_t term);

/* The state machine applied committed entries up to index (or installed a
 * snapshot at it).  -EINVAL if index was not handed out. */
int raft_applied(struct raft *r, uint64_t index);

/*
 * The state machine lost what it applied after index (a store commit that
 * ran out of space): hand the committed entries after index out again.
 * -EINVAL if they are no longer in the log (index below the snapshot or
 * the first entry kept) or index was not handed out; -EBUSY inside a batch.
 */
int raft_reapply(struct raft *r, uint64_t index);

/*
 * The state machine wrote a snapshot covering applied entries up to index.
 * The core records its meta (index, term, membership at index; see
 * raft_snapshot_meta) and sends that snapshot to followers that need
 * entries it no longer has.  -EINVAL: index > applied, or not above the
 * current snapshot, or its term is no longer known.
 */
int raft_snapshot_taken(struct raft *r, uint64_t index);

/*
 * The meta a snapshot at index would have (term and membership at index),
 * without recording it: for a caller that writes the snapshot first and
 * calls raft_snapshot_taken() once the file is durable.  meta->members is
 * the core's, valid until the next call of this function or raft_free().
 * -EINVAL as raft_snapshot_taken.
 */
int raft_snapshot_meta_at(struct raft *r, uint64_t index, struct raft_snapshot_meta *meta);

/* Drop log entries <= index (index <= the snapshot index and <= applied);
 * keep a margin below the snapshot for slow followers.  -EINVAL if not. */
int raft_compact(struct raft *r, uint64_t index);

/*
 * Answer a raft_chunk_read: len bytes of the snapshot at snap_index from
 * offset (len <= max_len; last: they end the snapshot; size: the
 * snapshot's bytes in all, told to the receiver for its progress, 0 if not
 * known).  The core copies data.  -ESTALE: the transfer moved on (the
 * answer is dropped); -EINVAL.
 */
int raft_snapshot_chunk(struct raft *r, uint64_t to, uint64_t snap_index, uint64_t offset,
    const void *data, size_t len, bool last, uint64_t size);

/*
 * Leader: a follower holds entries now committed but has not been told so.
 * A commit index alone is not sent at once: it rides on the next append,
 * and the driver calls raft_send_commit() a moment (RAFT_COMMIT_DELAY_US)
 * after raft_commit_unsent() turned true, in case none went out.
 */
bool raft_commit_unsent(const struct raft *r);
void raft_send_commit(struct raft *r);
#define RAFT_COMMIT_DELAY_US 1000

/*
 * A relay (a follower, or a learner that feeds learners): entries became
 * committed that the learners it feeds have not been sent.  They are not
 * sent at once, nor left for its next tick (a learner of the second level
 * would wait two relays' ticks): the driver calls raft_relay_flush() a
 * moment (RAFT_RELAY_DELAY_US) after raft_relay_due() turned true, so that
 * a learner gets one batch a moment however fast entries commit (a learner
 * that takes no append now, its window of appends in flight full, is due
 * again once its answers make room).
 */
bool raft_relay_due(const struct raft *r);
void raft_relay_flush(struct raft *r);
#define RAFT_RELAY_DELAY_US 10000

bool raft_has_ready(const struct raft *r);
/* Fill rd with the pending work; see the top of this file. */
void raft_ready(struct raft *r, struct raft_ready *rd);
/* Release the batch rd (its pointers become invalid). */
void raft_advance(struct raft *r, struct raft_ready *rd);

/* -------------------------------------------------------------- accessors */

uint64_t raft_id(const struct raft *r);
uint64_t raft_leader(const struct raft *r);
void raft_status(const struct raft *r, struct raft_status *st);

/* The current membership (as of the last appended change), sorted by id.
 * Valid until the next call other than an accessor. */
const struct raft_member *raft_members(const struct raft *r, size_t *n);

/* Leader: the progress of member id (0, or -ENOENT; -ENOTLEADER). */
int raft_progress(const struct raft *r, uint64_t id, struct raft_progress *pr);

/* Term of the entry at index (the snapshot's index counts):
 * 0, or -ENOENT when that index is compacted away or beyond the log. */
int raft_term_at(const struct raft *r, uint64_t index, uint64_t *term);

/* The current snapshot's meta (index 0: none); members valid until the
 * next call other than an accessor. */
void raft_snapshot_meta(const struct raft *r, struct raft_snapshot_meta *meta);

/* Decode a RAFT_ENTRY_CONF entry's data.  0 or -EINVAL. */
int raft_change_decode(const void *data, size_t len, struct raft_change *c);

const char *raft_role_name(enum raft_role role);
const char *raft_msg_type_name(int type);
/* strerror() that also knows ENOTLEADER. */
const char *raft_strerror(int err);

#endif
