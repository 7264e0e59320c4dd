/*
 * raft_election.c — elections: votes recorded and counted, pre-vote (§9.6)
 * and the real campaign (§5.2), becoming leader, a vote asked of this node
 * (§5.4.1), the rule that a node which lost acknowledged entries takes no
 * part (catching_up), check-quorum (§6.2), leadership transfer (§3.10), and
 * the election timer run out early when the leader's connection breaks.
 *
 * Not here: the step down to follower and the draw of the election timeout
 * (raft_base.c, since every part of the core steps down), and replicating
 * the log once a leader is elected (raft_replicate.c).
 */
#include <string.h>

#include "raft.h"
#include "raft_int.h"

/* ------------------------------------------------------------ catching up */

/*
 * Raft's safety argument (§5.4.3) counts on every voter keeping what it
 * acknowledged: the voter shared by the quorum that committed an entry and
 * the quorum that elects the next leader holds that entry, so it refuses a
 * candidate whose log lacks it (§5.4.1).  A node that lost acknowledged
 * entries (restored from an older snapshot after damage) breaks that: it
 * may be the one shared voter.  So until its log again reaches the index it
 * had reached, it takes no part in elections: no vote, no pre-vote, no
 * campaign.  Alagappan et al., "Protocol-Aware Recovery for Consensus-Based
 * Storage" (FAST 2018): a node recovering from a storage fault must not
 * vote until it has recovered its log from the others.  Acknowledging
 * entries it received again is fine: those acknowledgements are true.
 */
static bool
catching_up(const struct raft *r)
{
#ifdef RAFT_BUG_VOTE_WHILE_CATCHING_UP
	return false;
#endif
	return r->catch_up_to != 0;
}

bool
raft__promotable(const struct raft *r)
{
	return raft__is_voter(r, r->id) && !catching_up(r);
}

/* -------------------------------------------------------------- campaigns */

static void
votes_reset(struct raft *r)
{
	for (size_t i = 0; i < r->n_members; i++) {
		r->peers[i].vote_granted = false;
		r->peers[i].vote_rejected = false;
	}
}

void
raft__record_vote(struct raft *r, uint64_t id, bool granted)
{
	ptrdiff_t i = raft__members_find(r->members, r->n_members, id);
	struct peer *p;

	if (i < 0 || !r->members[i].voter)
		return;
	p = &r->peers[i];
	if (p->vote_granted || p->vote_rejected)
		return;
	if (granted)
		p->vote_granted = true;
	else
		p->vote_rejected = true;
}

/* 1: won, -1: lost, 0: undecided */
static int
tally(const struct raft *r)
{
	size_t granted = 0, rejected = 0, nv = raft__n_voters(r), q = nv / 2 + 1;

	for (size_t i = 0; i < r->n_members; i++) {
		if (!r->members[i].voter)
			continue;
		granted += r->peers[i].vote_granted;
		rejected += r->peers[i].vote_rejected;
	}
	if (granted >= q)
		return 1;
	if (nv - rejected < q)
		return -1;
	return 0;
}

static void
become_leader(struct raft *r)
{
	struct raft_entry noop = { .term = 0 };

	r->state = RAFT_LEADER;
	r->leader = r->id;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	r->transfer_to = 0;
	memset(r->departing, 0, sizeof(r->departing));
	r->self_vote_pending = false;
	raft__reads_drop(r);
	for (size_t i = 0; i < r->n_members; i++)
		raft__peer_reset(r, &r->peers[i]);
	/* §5.4.2, §8: commit an entry of the new term to learn what is
	 * committed (and to commit the previous terms' entries) */
	noop.term = r->term;
	noop.type = RAFT_ENTRY_NOOP;
	(void)raft__log_append(r, &noop);
	raft__bcast_append(r, true);
}

void
raft__campaign(struct raft *r, bool pre, bool transfer)
{
	struct raft_msg m;

	/* a term never wraps (a pre-vote asks for term + 1) */
	if (!raft__promotable(r) || r->term >= RAFT_MAX_TERM)
		return;
	r->election_elapsed = 0;
	raft__reset_timeout(r);
	votes_reset(r);
	r->leader = 0;
	r->transfer_to = 0;
	raft__reads_drop(r);
	if (pre) {
		/* §9.6: ask first, without disturbing anyone's term */
		r->state = RAFT_PRECANDIDATE;
		raft__record_vote(r, r->id, true);
		if (tally(r) == 1) {
			raft__campaign(r, false, false);
			return;
		}
	} else {
		r->state = RAFT_CANDIDATE;
		r->term++;
		r->vote = r->id;
		/* our own vote counts once it is durable (raft_persisted) */
		r->self_vote_pending = true;
		r->self_vote_batch = r->batches_out + 1;
	}
	for (size_t i = 0; i < r->n_members; i++) {
		if (!r->members[i].voter || r->members[i].id == r->id)
			continue;
		raft__msg_init(r, &m, pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE, r->members[i].id);
		m.index = raft__last_index(r);
		m.log_term = raft__last_term(r);
		m.transfer = transfer;
		if (pre) {
			m.term = r->term + 1;
			raft__queue_msg(r, &m);
		} else {
			/* only once our own vote and term are durable */
			raft__queue_msg_after_persist(r, &m);
		}
	}
}

void
raft__election_result(struct raft *r)
{
	int t = tally(r);

	if (t == 1) {
		if (r->state == RAFT_PRECANDIDATE)
			raft__campaign(r, false, false);
		else
			become_leader(r);
	} else if (t == -1) {
		raft__become_follower(r, r->term, 0);
	}
}

/* ----------------------------------------------------------------- voting */

static bool
log_up_to_date(const struct raft *r, uint64_t index, uint64_t term)
{
#ifdef RAFT_BUG_VOTE_NO_LOG_CHECK
	return true;
#endif
	/* §5.4.1: the candidate's log is at least as up-to-date as ours */
	return term > raft__last_term(r) ||
	    (term == raft__last_term(r) && index >= raft__last_index(r));
}

void
raft__handle_vote(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE;
	bool can =
	    r->vote == m->from || (r->vote == 0 && r->leader == 0) || (pre && m->term > r->term);
	/* a node that lost acknowledged entries votes for nobody (see
	 * catching_up()) */
	bool ok = can && !catching_up(r) && log_up_to_date(r, m->index, m->log_term);
	struct raft_msg resp;

	raft__msg_init(r, &resp, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from);
	resp.reject = !ok;
	if (pre) {
		if (ok)
			resp.term = m->term;
		raft__queue_msg(r, &resp);
		return;
	}
	if (ok) {
		r->vote = m->from;
		r->election_elapsed = 0;
	}
	/* the vote must be durable before anyone hears of it (§5.2, Fig. 2) */
	raft__queue_msg_after_persist(r, &resp);
}

/* ----------------------------------------------------------- check-quorum */

bool
raft__quorum_active(const struct raft *r)
{
	size_t active = 0;

	for (size_t i = 0; i < r->n_members; i++) {
		if (!r->members[i].voter)
			continue;
		if (r->members[i].id == r->id || r->peers[i].last_contact < r->cfg.election_ticks)
			active++;
	}
	return active >= raft__quorum(r);
}

/* ---------------------------------------------------------- a lost leader */

void
raft_peer_lost(struct raft *r, uint64_t id)
{
	unsigned lead;

	if (r->in_ready || r->state == RAFT_LEADER || id == 0 || r->leader != id ||
	    !raft__promotable(r))
		return;
	/*
	 * Within half an election timeout, at random: every follower of the
	 * dead leader sees the same reset at once, and campaigning on the same
	 * tick would split their votes.
	 */
	lead = (unsigned)(raft__rng_next(r) % (r->cfg.election_ticks / 2 + 1));
	if (r->election_elapsed + lead < r->timeout)
		r->election_elapsed = r->timeout - lead;
}

/* ---------------------------------------------------- leadership transfer */

int
raft_transfer(struct raft *r, uint64_t to)
{
	struct peer *p;

	if (r->in_ready)
		return -EBUSY;
	if (r->state != RAFT_LEADER)
		return -ENOTLEADER;
	if (to == 0)
		to = raft__best_voter(r);
	if (to == 0 || to == r->id || !raft__is_voter(r, to))
		return -EINVAL;
	r->transfer_to = to;
	r->transfer_elapsed = 0;
	p = raft__peer_of(r, to);
	if (p->match == raft__last_index(r))
		raft__send_timeout_now(r, to);
	else
		raft__send_append_all(r, to, p, false);
	return 0;
}
