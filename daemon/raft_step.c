/*
 * raft_step.c — a message received from a peer (raft_step, raft_check): its
 * shape and limits checked, its sender believed only as far as its role in
 * this node's configuration (§4.1), its term weighed against ours (§5.1;
 * the leader lease of §4.2.3 and §6.2 against disruptive elections), and
 * the message handed to the handler of this node's role.
 *
 * Not here: what the handlers do (raft_election.c, raft_replicate.c,
 * raft_snapshot.c, raft_log.c for members just removed), nor any message
 * the core sends on its own.
 */
#include <stdlib.h>

#include "raft.h"
#include "raft_int.h"

/* ------------------------------------------------------------- validation */

bool
raft__valid_entry(const struct raft_entry *e)
{
	return e->term > 0 && e->type >= RAFT_ENTRY_NORMAL && e->type <= RAFT_ENTRY_CONF &&
	    e->len <= RAFT_MAX_ENTRY_DATA && (e->len == 0 || e->data);
}

static int
validate(const struct raft *r, const struct raft_msg *m)
{
	if (!m || m->type < RAFT_MSG_APPEND || m->type > RAFT_MSG_TYPE_MAX)
		return -EINVAL;
	if (m->to != r->id || m->from == 0 || m->from == r->id || m->term == 0)
		return -EINVAL;
	if (m->type == RAFT_MSG_APPEND) {
		uint64_t t = m->prev_term;

		if (m->n_entries > RAFT_MAX_MSG_ENTRIES || (m->n_entries && !m->entries))
			return -EINVAL;
		if (m->prev_term > m->term || m->prev_index > UINT64_MAX - RAFT_MAX_MSG_ENTRIES)
			return -EINVAL;
		if (m->prev_index == 0 && m->prev_term != 0)
			return -EINVAL;
		for (uint32_t k = 0; k < m->n_entries; k++) {
			const struct raft_entry *e = &m->entries[k];

			if (e->index != m->prev_index + 1 + k || !raft__valid_entry(e) ||
			    e->term < t || e->term > m->term)
				return -EINVAL;
			t = e->term;
		}
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		if (m->index == 0 || m->log_term == 0 || m->log_term > m->term)
			return -EINVAL;
		if (m->len > MAX_CHUNK || (m->len && !m->data) ||
		    m->offset > UINT64_MAX - MAX_CHUNK)
			return -EINVAL;
		if (m->n_members == 0 || m->n_members > RAFTCONF_MAX_MEMBERS || !m->members)
			return -EINVAL;
		for (uint32_t k = 0; k < m->n_members; k++) {
			if (m->members[k].id == 0 ||
			    m->members[k].context_len > RAFT_MAX_MEMBER_CONTEXT)
				return -EINVAL;
		}
	}
	return 0;
}

static bool
is_response(uint8_t type)
{
	return type == RAFT_MSG_APPEND_RESP || type == RAFT_MSG_HEARTBEAT_RESP ||
	    type == RAFT_MSG_PREVOTE_RESP || type == RAFT_MSG_VOTE_RESP ||
	    type == RAFT_MSG_SNAPSHOT_RESP;
}

/* A message from an older term: tell the sender our term (§5.1). */
static void
reply_stale(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;
	uint8_t type;

	switch (m->type) {
	case RAFT_MSG_APPEND:
		type = RAFT_MSG_APPEND_RESP;
		break;
	case RAFT_MSG_HEARTBEAT:
		type = RAFT_MSG_HEARTBEAT_RESP;
		break;
	case RAFT_MSG_SNAPSHOT:
		type = RAFT_MSG_SNAPSHOT_RESP;
		break;
	case RAFT_MSG_PREVOTE:
		type = RAFT_MSG_PREVOTE_RESP;
		break;
	case RAFT_MSG_VOTE:
		type = RAFT_MSG_VOTE_RESP;
		break;
	default:
		return;
	}
	raft__msg_init(r, &resp, type, m->from);
	resp.reject = true;
	resp.index = m->type == RAFT_MSG_APPEND ? m->prev_index : m->index;
	raft__queue_msg(r, &resp);
}

/* ---------------------------------------------------------------- by role */

/* A learner a relay feeds: the leader only counts what it reports. */
static bool
relayed(const struct raft *r, const struct peer *p)
{
	return p && p->relay && !r->members[p - r->peers].voter;
}

static void
step_leader(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	switch (m->type) {
	case RAFT_MSG_APPEND_RESP:
		if (relayed(r, p))
			raft__relay_report(r, m, p);
		else
			raft__leader_append_resp(r, m, p);
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		if (relayed(r, p))
			raft__relay_report(r, m, p);
		else
			raft__leader_heartbeat_resp(r, m, p);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		raft__leader_snapshot_resp(r, m, p);
		break;
	case RAFT_MSG_READ_INDEX:
		raft__leader_read(r, m->from, m->ctx);
		break;
	default:
		break;
	}
}

static void
step_follower(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	struct raft_read_state rs;

	switch (m->type) {
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		if (m->type == RAFT_MSG_APPEND && m->lead) {
			raft__relay_append(r, m); /* from a relay, not the leader */
			break;
		}
		r->leader = m->from;
		r->election_elapsed = 0;
		if (m->type == RAFT_MSG_APPEND)
			raft__follower_append(r, m);
		else if (m->type == RAFT_MSG_HEARTBEAT)
			raft__relay_heartbeat(r, m);
		else
			raft__follower_snapshot(r, m);
		break;
	case RAFT_MSG_APPEND_RESP:
		if (p)
			raft__relay_asked(r, m, p);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		/* §3.10: the leader hands over; skip pre-vote (raft__campaign()
		 * refuses while catching_up()) */
		if (!r->leader || m->from == r->leader)
			raft__campaign(r, false, true);
		break;
	case RAFT_MSG_READ_INDEX_RESP:
		rs.ctx = m->ctx;
		rs.index = m->index;
		if (!m->reject)
			(void)VEC_PUSH(r->reads, rs);
		break;
	default:
		break;
	}
}

static void
step_candidate(struct raft *r, const struct raft_msg *m)
{
	switch (m->type) {
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		if (m->type == RAFT_MSG_APPEND && m->lead) {
			raft__relay_append(r, m); /* a relay's: says nothing of who won */
			break;
		}
		/* §5.2: another server won this term */
		raft__become_follower(r, m->term, m->from);
		step_follower(r, m, NULL);
		break;
	case RAFT_MSG_PREVOTE_RESP:
		if (r->state != RAFT_PRECANDIDATE)
			break;
		if (m->reject ? m->term != r->term : m->term != r->term + 1)
			break;
		raft__record_vote(r, m->from, !m->reject);
		raft__election_result(r);
		break;
	case RAFT_MSG_VOTE_RESP:
		if (r->state != RAFT_CANDIDATE)
			break;
		raft__record_vote(r, m->from, !m->reject);
		raft__election_result(r);
		break;
	case RAFT_MSG_READ_INDEX_RESP:
		step_follower(r, m, NULL);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------- the sender */

/*
 * Whether id is a member (a voter, if voter) of this node's configuration:
 * the latest in its log (§4.1) or, while a change is not committed, the
 * committed one.  The change may yet be undone, by the very leader it
 * leaves out: refusing that leader would keep the change for ever.
 */
static bool
in_config(const struct raft *r, uint64_t id, bool voter)
{
	const struct raft_member *m = raft__member_of(r, id);
	struct raft_member *cm;
	size_t n;
	ptrdiff_t i;
	bool in;

	if (m && (!voter || m->voter))
		return true;
	if (r->conf_index <= r->commit ||
	    raft__members_at(r, r->commit > r->snap.index ? r->commit : r->snap.index, &cm, &n) < 0)
		return false;
	i = raft__members_find(cm, n, id);
	in = i >= 0 && (!voter || cm[i].voter);
	free(cm);
	return in;
}

/*
 * A voter in its leader's lease refuses a pre-vote, and says who leads
 * (ctx) in which term: a member whose log predates the leader's join knows
 * that leader only from a voter it knows (check_sender).
 */
static void
vouch_for_leader(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;

	raft__msg_init(r, &resp, RAFT_MSG_PREVOTE_RESP, m->from);
	resp.reject = true;
	resp.ctx = r->leader;
	raft__queue_msg(r, &resp);
}

/*
 * A message is believed only as far as its sender's role in this node's
 * configuration (the latest in its log, §4.1), whatever it claims:
 *  - only a voter asks for votes;
 *  - leader traffic comes from a member, or from the leader this node
 *    follows in this term (a leader that removed itself leads until that
 *    commits, §4.2.2), or from the one a voter of this node's
 *    configuration said leads this term (vouch_for_leader: the leader
 *    joined after this node's log ends), or reaches a node that is not in
 *    its own configuration (a new node learning the log, which cannot tell
 *    who leads until it has it); from an older term it is answered with
 *    this node's term, as any;
 *  - only the leader of this term hands over leadership (TimeoutNow);
 *  - reads are asked by members and answered by the leader.
 * Unlike the thesis (§4.1: "servers process incoming RPC requests without
 * consulting their current configurations"), so that a node that knows only
 * the cluster's name cannot vote, lead or elect.
 */
static int
check_sender(struct raft *r, const struct raft_msg *m)
{
	bool member = in_config(r, m->from, false);

	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		if (!in_config(r, m->from, true))
			return raft__refuse(r, -EPERM,
			    "a vote request from a node that is not a voter of this node's "
			    "configuration");
		break;
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		if (!member && in_config(r, r->id, false) && m->term >= r->term &&
		    !(m->from == r->leader && m->term == r->term) &&
		    !(m->from == r->vouched_leader && m->term == r->vouched_term))
			return raft__refuse(r, -EPERM,
			    "leader traffic from a node that is not a member of this node's "
			    "configuration");
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		if (m->term >= r->term &&
		    !(m->term == r->term && r->leader && m->from == r->leader))
			return raft__refuse(r, -EPERM,
			    "TimeoutNow from a node that is not the leader of this term");
		break;
	case RAFT_MSG_READ_INDEX:
		if (!member)
			return raft__refuse(
			    r, -EPERM, "a read request from a node that is not a member");
		break;
	case RAFT_MSG_READ_INDEX_RESP:
		if (!member && m->from != r->leader)
			return raft__refuse(
			    r, -EPERM, "a read answer from a node that is not a member");
		break;
	default:
		break;
	}
	return 0;
}

/* What raft_step() refuses before it changes anything. */
static int
precheck(struct raft *r, const struct raft_msg *m)
{
	r->step_rc = 0;
	r->why = NULL;
	if (validate(r, m))
		return raft__refuse(r, -EINVAL, "a malformed message");
	/* a term never wraps: raft__campaign() stops below RAFT_MAX_TERM */
	if (m->term > RAFT_MAX_TERM)
		return raft__refuse(
		    r, -ERANGE, "its term is beyond the largest a cluster may reach");
	if (is_response(m->type) ||
	    ((m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) &&
		!in_config(r, r->id, false)))
		return 0; /* judged in raft_step() */
	return check_sender(r, m);
}

/* ------------------------------------------------------------------- step */

int
raft_check(struct raft *r, const struct raft_msg *m)
{
	return precheck(r, m);
}

int
raft_step(struct raft *r, const struct raft_msg *m)
{
	struct peer *p;
	int rc;

	if (r->in_ready)
		return -EBUSY;
	if ((rc = precheck(r, m)) < 0)
		return rc;
	p = raft__peer_of(r, m->from);
	if (is_response(m->type) && !p) {
		struct departing *d = raft__departing_of(r, m->from);

		if (d == NULL && in_config(r, m->from, false))
			return 0; /* one the latest change leaves out: nothing to track */
		if (d == NULL)
			return raft__refuse(
			    r, -EPERM, "a response from a node that is not a member");
		if (m->type == RAFT_MSG_APPEND_RESP && r->state == RAFT_LEADER &&
		    m->term == r->term)
			raft__departing_resp(r, m, d);
		return 0;
	}
	if ((m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) &&
	    !in_config(r, r->id, false)) {
		struct raft_msg resp;

		/* not in its own configuration (new, or learning its log
		 * again): it votes for nobody, and says so */
		raft__msg_init(r, &resp,
		    m->type == RAFT_MSG_VOTE ? RAFT_MSG_VOTE_RESP : RAFT_MSG_PREVOTE_RESP, m->from);
		resp.reject = true;
		raft__queue_msg(r, &resp);
		return 0;
	}
	if (p)
		p->last_contact = 0;
	if (m->term > r->term) {
		if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
			/* §4.2.3, §6.2: while we hear from a leader, nobody
			 * else is elected, except when the leader asked: its
			 * target campaigns in the very next term (§3.10) */
			bool in_lease =
			    r->leader != 0 && r->election_elapsed < r->cfg.election_ticks;

			if (in_lease && !(m->transfer && m->term == r->term + 1)) {
				if (m->type == RAFT_MSG_PREVOTE)
					vouch_for_leader(r, m);
				return 0;
			}
		}
		if (m->type == RAFT_MSG_PREVOTE ||
		    (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)) {
			/* pre-vote never changes terms (§9.6) */
		} else if (m->type == RAFT_MSG_APPEND && m->lead) {
			/* a relay's word for who leads: believed by a learner,
			 * which elects no one; a voter waits for the leader */
			if (raft__is_voter(r, r->id))
				raft__become_follower(r, m->term, 0);
			else
				raft__become_follower(r, m->term, m->lead);
		} else if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
		    m->type == RAFT_MSG_SNAPSHOT) {
			raft__become_follower(r, m->term, m->from);
		} else {
			raft__become_follower(r, m->term, 0);
		}
	} else if (m->term < r->term) {
		reply_stale(r, m);
		return 0;
	}
	if (m->type == RAFT_MSG_PREVOTE_RESP && m->reject && m->ctx && m->term == r->term &&
	    in_config(r, m->from, true)) {
		/* a voter's word for who leads this term (vouch_for_leader) */
		r->vouched_leader = m->ctx;
		r->vouched_term = m->term;
	}
	if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
		raft__handle_vote(r, m);
		return 0;
	}
	switch (r->state) {
	case RAFT_LEADER:
		if (p || m->type == RAFT_MSG_READ_INDEX)
			step_leader(r, m, p);
		break;
	case RAFT_PRECANDIDATE:
	case RAFT_CANDIDATE:
		step_candidate(r, m);
		break;
	default:
		step_follower(r, m, p);
		break;
	}
	return r->step_rc; /* an append that conflicts with a committed entry */
}
