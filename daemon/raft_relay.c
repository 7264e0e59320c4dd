/*
 * raft_relay.c — relays (issue 17; ZooKeeper's observerMaster): the leader's
 * work per write must not grow with the number of learners, so followers
 * feed them.
 *
 *  - The leader feeds a learner itself until it keeps up (pipelining, its
 *    log agreeing), then hands it to the follower it hears that feeds the
 *    fewest (raft__relay_assign, once a learner round) and names that relay
 *    in its heartbeats to the learner.  It takes the learner back when the
 *    relay is no longer heard, or when the learner reports no progress for
 *    RELAY_STUCK_ROUNDS rounds while there is something to have.
 *  - The learner asks the relay its leader names for the log (an
 *    APPEND_RESP saying what it holds committed), again when the link to it
 *    comes up and at each learner heartbeat the relay sent nothing since;
 *    it tells any other relay to stop.
 *  - A follower feeds the learners that asked it, once a tick, with entries
 *    it knows are committed and never more: committed entries are the same
 *    in every log (§5.4), so no relay can make a learner's log wrong, and
 *    the leader can count what the learner reports (raft__learner_holds).
 *    It gives a learner up when it needs entries the relay compacted, or
 *    has not been heard from for RELAY_IDLE_ROUNDS learner rounds.
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
/* Election timeouts without a word from a learner before its relay drops it. */
#define RELAY_IDLE_TIMEOUTS 4

static bool
is_learner(const struct raft *r, uint64_t id)
{
	const struct raft_member *mb = raft__member_of(r, id);

	return mb != NULL && !mb->voter;
}

/* ------------------------------------------------------------ the leader */

/* Voter i, not us, heard within an election timeout and keeping up. */
static bool
usable_relay(const struct raft *r, size_t i)
{
	const struct peer *p = &r->peers[i];

	return r->members[i].voter && r->members[i].id != r->id &&
	    p->last_contact < r->cfg.election_ticks && p->state == RAFT_PROGRESS_REPLICATE;
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

/*
 * Once a learner round, before its heartbeats: take learners back from
 * relays that fail them, and hand learners that keep up to the usable
 * relay with the fewest (beyond the first relay_after, which the leader
 * keeps).
 */
void
raft__relay_assign(struct raft *r)
{
	uint64_t *load = r->scratch;
	size_t direct = 0;

	memset(load, 0, r->n_members * sizeof(*load));
	for (size_t i = 0; i < r->n_members; i++) {
		struct peer *p = &r->peers[i];
		uint64_t id = r->members[i].id;
		ptrdiff_t k;

		if (id == r->id)
			continue;
		if (r->members[i].voter) {
			if (p->relay) /* promoted: the leader feeds its voters */
				take_back(r, id, p);
			continue;
		}
		if (!p->relay) {
			direct++;
			continue;
		}
		k = raft__members_find(r->members, r->n_members, p->relay);
		if (k < 0 || !usable_relay(r, (size_t)k)) {
			take_back(r, id, p);
			direct++;
			continue;
		}
		if (p->match < r->commit && p->match == p->relay_seen) {
			if (++p->relay_stuck >= RELAY_STUCK_ROUNDS) {
				take_back(r, id, p);
				direct++;
				continue;
			}
		} else {
			p->relay_stuck = 0;
		}
		p->relay_seen = p->match;
		load[k]++;
	}
	if (r->cfg.relay_after == RAFT_NO_RELAYS)
		return;
	for (size_t i = 0; i < r->n_members && direct > r->cfg.relay_after; i++) {
		struct peer *p = &r->peers[i];
		size_t best = r->n_members;
		bool bestfailed = false;

		if (r->members[i].voter || r->members[i].id == r->id || p->relay ||
		    p->state != RAFT_PROGRESS_REPLICATE || p->match < r->base_index ||
		    p->last_contact >= r->cfg.election_ticks)
			continue;
		/* the relay that failed it last only if there is no other */
		for (size_t k = 0; k < r->n_members; k++) {
			bool failed = r->members[k].id == p->relay_failed;

			if (!usable_relay(r, k))
				continue;
			if (best == r->n_members || (bestfailed && !failed) ||
			    (bestfailed == failed && load[k] < load[best])) {
				best = k;
				bestfailed = failed;
			}
		}
		if (best == r->n_members)
			return; /* no follower to hand it to */
		p->relay = r->members[best].id;
		p->relay_seen = p->match;
		p->relay_stuck = 0;
		load[best]++;
		direct--;
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

/* Each tick, a follower: the learners it feeds get what is committed. */
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
		if (r->members[i].voter ||
		    p->last_contact >= RELAY_IDLE_TIMEOUTS * r->cfg.election_ticks) {
			p->relaying = false;
			continue;
		}
		if (p->next <= r->commit)
			raft__send_append_all(r, id, p, false);
		else if (raft__commit_untold(r, p))
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
	uint64_t from;

	if (r->state != RAFT_FOLLOWER || !r->leader || m->term != r->term ||
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
	/* what it holds committed agrees with our log: feed it from there */
	from = m->index < r->commit ? m->index : r->commit;
	p->relaying = true;
	p->match = from;
	raft__become_replicate(p);
	p->told_commit = 0;
	raft__send_append_all(r, m->from, p, true);
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

/* An append a relay sent (m->lead: the leader it follows). */
void
raft__relay_append(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;

	if (is_learner(r, r->id) && r->relay == m->from && m->term == r->term) {
		r->leader = m->lead;
		r->relay_heard = true;
		raft__follower_append(r, m);
		return;
	}
	/* not ours (any more), or we vote: the leader feeds voters */
	raft__msg_init(r, &resp, RAFT_MSG_APPEND_RESP, m->from);
	resp.reject = true;
	resp.last = true;
	resp.index = m->prev_index;
	raft__queue_msg(r, &resp);
}

/* The leader's heartbeat: who feeds us now. */
void
raft__relay_heartbeat(struct raft *r, const struct raft_msg *m)
{
	uint64_t relay = is_learner(r, r->id) && m->relay != r->id ? m->relay : 0;

	raft__follower_heartbeat(r, m);
	if (relay != r->relay) {
		r->relay = relay;
		r->relay_heard = false;
	}
	if (r->relay && !r->relay_heard)
		ask_relay(r);
	r->relay_heard = false;
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
	p->next = raft__last_index(r) + 1;
	p->state = RAFT_PROGRESS_PROBE;
	p->probe_sent = false;
	p->n_inflight = 0;
	p->inflight_head = 0;
	raft__send_append(r, id, p, true);
}
