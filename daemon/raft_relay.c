/*
 * raft_relay.c — relays (issue 17; ZooKeeper's observerMaster): the leader's
 * work per write must not grow with the number of learners, so others feed
 * them.
 *
 *  - The leader feeds the first relay_after learners itself, and any
 *    learner until it keeps up (pipelining, its log agreeing); then it
 *    hands it to a relay (raft__relay_assign, once a learner round): a
 *    follower it hears, or a learner such a follower feeds, relay_fanout
 *    learners under each, and names that relay in its heartbeats to the
 *    learner.  It takes the learner back when the relay is no longer
 *    usable, or when the learner reports no progress for
 *    RELAY_STUCK_ROUNDS rounds while there is something to have.
 *  - The learner asks the relay its leader names for the log (an
 *    APPEND_RESP saying what it holds committed), again when the link to
 *    it comes up; it tells the relay it leaves, and any other that feeds
 *    it, to stop.  An ask that is lost shows as no progress: the leader
 *    takes it back and hands it out again.
 *  - A relay feeds the learners that asked it, a moment after entries
 *    commit (raft_relay_due, raft_relay_flush: one batch a learner however
 *    fast they come) and at each tick, with entries it knows are
 *    committed and never more: committed entries are the same
 *    in every log (§5.4), so no relay can make a learner's log wrong, and
 *    the leader can count what the learner reports (raft__learner_holds).
 *    It gives a learner up when told to stop, when it needs entries the
 *    relay compacted, or when it votes.
 *
 * Relaying lasts one term (raft__become_follower forgets it).
 *
 * Not here: sending the appends (raft_replicate.c), the learners fed by the
 * leader, the heartbeats.
 */
#include <string.h>

#include "raft.h"
#include "raft_int.h"

/* Learner rounds without progress before the leader feeds it again. */
#define RELAY_STUCK_ROUNDS 3

static bool
is_learner(const struct raft *r, uint64_t id)
{
	const struct raft_member *mb = raft__member_of(r, id);

	return mb != NULL && !mb->voter;
}

/* ------------------------------------------------------------ the leader */

/* Voter i, not us, heard within an election timeout and keeping up. */
static bool
usable_follower(const struct raft *r, size_t i)
{
	const struct peer *p = &r->peers[i];

	return r->members[i].voter && r->members[i].id != r->id &&
	    p->last_contact < r->cfg.election_ticks && p->state == RAFT_PROGRESS_REPLICATE;
}

/* Learner i, fed by a follower and heard within an election timeout: it
 * may feed learners of its own (the second level); it is given new ones
 * only while it makes progress (fresh). */
static bool
usable_learner(const struct raft *r, size_t i, bool fresh)
{
	const struct peer *p = &r->peers[i];

	return !r->members[i].voter && p->relay && raft__is_voter(r, p->relay) &&
	    p->last_contact < r->cfg.election_ticks && (!fresh || p->relay_stuck == 0);
}

static bool
usable_relay(const struct raft *r, size_t i)
{
	return usable_follower(r, i) || usable_learner(r, i, false);
}

static void
take_back(struct raft *r, uint64_t id, struct peer *p)
{
	p->relay_failed = p->relay;
	p->relay = 0;
	p->relay_stuck = 0;
	raft__become_probe(p);
	raft__send_append_all(r, id, p, true);
}

/* Hand learner p to relay k (a member's index). */
static void
hand(struct raft *r, struct peer *p, size_t k, uint64_t *load)
{
	p->relay = r->members[k].id;
	p->relay_seen = p->match;
	p->relay_stuck = 0;
	load[k]++;
}

/*
 * Learner i (relayed, as it stands) keeps its relay, or is taken back:
 * when the relay is no longer usable (a learner relay must still hang from
 * a follower), or the learner made no progress for RELAY_STUCK_ROUNDS
 * rounds while there was something to have.  Counts it in load.
 */
static void
check_relayed(struct raft *r, size_t i, uint64_t *load)
{
	struct peer *p = &r->peers[i];
	ptrdiff_t k = raft__members_find(r->members, r->n_members, p->relay);

	if (k < 0 || !usable_relay(r, (size_t)k)) {
		take_back(r, r->members[i].id, p);
		return;
	}
	if (p->match < r->commit && p->match == p->relay_seen) {
		if (++p->relay_stuck >= RELAY_STUCK_ROUNDS) {
			take_back(r, r->members[i].id, p);
			return;
		}
	} else {
		p->relay_stuck = 0;
	}
	p->relay_seen = p->match;
	load[k]++;
}

/*
 * The relay for learner p: a follower with room (the one that feeds the
 * fewest), else a learner of the first level with room (the first one:
 * they fill in turn), never the one that failed p last, if any other; the
 * member's index, or n_members when none has room.
 */
static size_t
pick_relay(const struct raft *r, const struct peer *p, const uint64_t *load, size_t fanout,
    size_t *next_learner)
{
	size_t best = r->n_members;

	for (size_t k = 0; k < r->n_members; k++) {
		if (!usable_follower(r, k) || load[k] >= fanout)
			continue;
		if (best == r->n_members ||
		    (r->members[best].id == p->relay_failed) >
			(r->members[k].id == p->relay_failed) ||
		    load[k] < load[best])
			best = k;
	}
	if (best < r->n_members)
		return best;
	for (; *next_learner < r->n_members; ++*next_learner) {
		size_t k = *next_learner;

		if (&r->peers[k] != p && r->members[k].id != p->relay_failed &&
		    usable_learner(r, k, true) && load[k] < fanout)
			return k;
	}
	return r->n_members;
}

/*
 * Once a learner round, before its heartbeats: the relays, a tree of two
 * levels with at most relay_fanout learners under each node (F × (1 + F)
 * learners a follower).  Learners are
 * taken back from relays that fail them; those that keep up, beyond the
 * first relay_after that the leader keeps, are handed to a follower with
 * room, else to a learner a follower feeds; then learners that relay
 * nobody move from a follower that feeds two more than another (one that
 * came back) to that one.  A learner that would need a third level stays
 * with the leader.
 */
void
raft__relay_assign(struct raft *r)
{
	uint64_t *load = r->scratch;
	size_t direct = 0, next_learner = 0, fanout = r->cfg.relay_fanout;

	memset(load, 0, r->n_members * sizeof(*load));
	/* followers' learners first: the second level hangs from them */
	for (int level = 1; level <= 2; level++) {
		for (size_t i = 0; i < r->n_members; i++) {
			struct peer *p = &r->peers[i];

			if (r->members[i].id == r->id || !p->relay)
				continue;
			if (r->members[i].voter) {
				if (level == 1) /* promoted: the leader feeds its voters */
					take_back(r, r->members[i].id, p);
				continue;
			}
			if (raft__is_voter(r, p->relay) == (level == 1))
				check_relayed(r, i, load);
		}
	}
	for (size_t i = 0; i < r->n_members; i++)
		direct += !r->members[i].voter && r->members[i].id != r->id && !r->peers[i].relay;
	if (r->cfg.relay_after == RAFT_NO_RELAYS)
		return;
	for (size_t i = 0; i < r->n_members && direct > r->cfg.relay_after; i++) {
		struct peer *p = &r->peers[i];
		size_t k;

		if (r->members[i].voter || r->members[i].id == r->id || p->relay ||
		    p->state != RAFT_PROGRESS_REPLICATE || p->match < r->base_index ||
		    p->last_contact >= r->cfg.election_ticks)
			continue;
		if ((k = pick_relay(r, p, load, fanout, &next_learner)) == r->n_members)
			break; /* no room left */
		hand(r, p, k, load);
		direct--;
	}
	/* even out the followers, with learners that feed nobody */
	for (size_t i = 0; i < r->n_members; i++) {
		struct peer *p = &r->peers[i];
		size_t least = r->n_members;
		ptrdiff_t k;

		if (r->members[i].voter || !p->relay || load[i] || !raft__is_voter(r, p->relay) ||
		    (k = raft__members_find(r->members, r->n_members, p->relay)) < 0)
			continue;
		for (size_t c = 0; c < r->n_members; c++)
			if (usable_follower(r, c) && r->members[c].id != p->relay_failed &&
			    (least == r->n_members || load[c] < load[least]))
				least = c;
		if (least < r->n_members && load[k] > load[least] + 1) {
			load[k]--;
			hand(r, p, least, load);
		}
	}
}

/*
 * An answer from a learner a relay feeds: its heartbeat answer says what it
 * holds committed and durably; an append answer is a late one to the
 * leader's own feeding.  Neither moves anything but its match.
 */
void
raft__relay_report(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	uint64_t upto = m->type == RAFT_MSG_HEARTBEAT_RESP ? r->commit : raft__last_index(r);

	if (m->seq > p->acked_seq && m->seq <= r->seq)
		p->acked_seq = m->seq;
	if (m->reject || m->index <= p->match || m->index > upto)
		return;
	p->match = m->index;
	p->next = p->match + 1;
}

/* ------------------------------------------------------------- the relay */

/* Each tick, and a moment after entries commit (raft_relay_flush), a
 * follower: the learners it feeds get what is committed. */
void
raft__relay_feed(struct raft *r)
{
	if (r->state != RAFT_FOLLOWER || !r->leader)
		return;
	for (size_t i = 0; i < r->n_members; i++) {
		struct peer *p = &r->peers[i];
		uint64_t id = r->members[i].id;

		if (!p->relaying)
			continue;
		if (r->members[i].voter) {
			p->relaying = false;
			continue;
		}
		if (p->next <= r->commit)
			raft__send_append_all(r, id, p, false);
		else if (p->match <= r->commit && raft__commit_untold(r, p))
			raft__send_append(r, id, p, true);
	}
}

/*
 * An APPEND_RESP reaches a node that does not lead: from a learner, it asks
 * this follower for the log, answers what it was fed, or says stop.
 */
void
raft__relay_asked(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	/* a pre-candidate still follows: it feeds once it hears a leader again
	 * (a follower just restarted pre-votes before it does) */
	if ((r->state != RAFT_FOLLOWER && r->state != RAFT_PRECANDIDATE) || m->term != r->term ||
	    !is_learner(r, m->from))
		return;
	if (m->last) {
		p->relaying = false;
		return;
	}
	if (p->relaying) {
		raft__leader_append_resp(r, m, p);
		return;
	}
	if (m->reject)
		return;
	/*
	 * What it holds committed agrees with every log: feed it from there,
	 * now or once our own commit index passes it (a relay that just
	 * restarted may know less than its learner; raft__relay_feed).
	 */
	p->relaying = true;
	p->match = m->index;
	raft__become_replicate(p);
	p->told_commit = 0;
	if (p->next <= r->commit)
		raft__send_append_all(r, m->from, p, false);
}

/* ----------------------------------------------------------- the learner */

/* Ask our relay for the log from what we hold committed. */
static void
ask_relay(struct raft *r)
{
	struct raft_msg m;

	raft__msg_init(r, &m, RAFT_MSG_APPEND_RESP, r->relay);
	m.index = raft__learner_holds(r);
	raft__queue_msg(r, &m);
}

/* Tell relay `to` to stop feeding us. */
static void
stop_relay(struct raft *r, uint64_t to, uint64_t index)
{
	struct raft_msg m;

	raft__msg_init(r, &m, RAFT_MSG_APPEND_RESP, to);
	m.reject = true;
	m.last = true;
	m.index = index;
	raft__queue_msg(r, &m);
}

/* An append a relay sent (m->lead: the leader it follows). */
void
raft__relay_append(struct raft *r, const struct raft_msg *m)
{
	if (is_learner(r, r->id) && r->relay == m->from && m->term == r->term) {
		r->leader = m->lead;
		raft__follower_append(r, m);
		return;
	}
	/* not ours (any more), or we vote: the leader feeds voters */
	stop_relay(r, m->from, m->prev_index);
}

/* The leader's heartbeat: who feeds us now. */
void
raft__relay_heartbeat(struct raft *r, const struct raft_msg *m)
{
	uint64_t relay = is_learner(r, r->id) && m->relay != r->id ? m->relay : 0;

	raft__follower_heartbeat(r, m);
	if (relay == r->relay)
		return;
	if (r->relay)
		stop_relay(r, r->relay, 0);
	r->relay = relay;
	if (r->relay)
		ask_relay(r);
}

/*
 * The link to id came up.  A learner whose relay it is asks it again (the
 * last ask may have found no link).  A leader probes id afresh (raft.h).
 */
void
raft_peer_reconnected(struct raft *r, uint64_t id)
{
	struct peer *p;

	if (r->in_ready || id == r->id || (p = raft__peer_of(r, id)) == NULL)
		return;
	if (r->state != RAFT_LEADER) {
		if (r->relay && id == r->relay)
			ask_relay(r);
		return;
	}
	p->relay = 0; /* a learner that restarted asks no relay: feed it */
	p->relay_stuck = 0;
	p->match = 0;
	raft__become_probe(p);
	p->next = raft__last_index(r) + 1;
	raft__send_append(r, id, p, true);
}

bool
raft_relay_due(const struct raft *r)
{
	if (r->state != RAFT_FOLLOWER || !r->leader)
		return false;
	/* what raft__relay_feed would send a learner it feeds */
	for (size_t i = 0; i < r->n_members; i++) {
		const struct peer *p = &r->peers[i];

		if (p->relaying && !r->members[i].voter && !raft__append_waits(r, p) &&
		    (p->next <= r->commit || (p->match <= r->commit && raft__commit_untold(r, p))))
			return true;
	}
	return false;
}

void
raft_relay_flush(struct raft *r)
{
	if (!r->in_ready)
		raft__relay_feed(r);
}
