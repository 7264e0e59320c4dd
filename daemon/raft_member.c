/*
 * raft_member.c — membership changes asked of a leader (raft_change: one
 * single-server change of the voters at a time, §4.1, learners added
 * without waiting; a learner gets a vote only once it has caught up,
 * §4.2.1) and raft_force_new_cluster, the last resort once a
 * majority is lost for good.
 *
 * Not here: the RAFT_ENTRY_CONF format and how a change takes effect when
 * its entry is appended or reverts when it is truncated (raft_log.c), nor
 * how a removed member is sent the log up to its removal (raft_log.c,
 * struct departing).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "errbuf.h"
#include "raft.h"
#include "raft_int.h"

/* ---------------------------------------------------------------- changes */

/*
 * Every change not yet committed adds a learner.  Learners have no vote,
 * so such changes leave the voters, and every majority, as they are: more
 * may follow before they commit (a fleet's hosts join by the hundred, and
 * each change costs every member a store transaction), and truncating
 * them reverts them all (raft__members_recompute).  A change of the voters
 * still waits for every change before it to commit (§4.1).
 */
static bool
only_learners_pending(const struct raft *r)
{
	for (uint64_t i = r->commit + 1; i <= r->conf_index; i++) {
		const struct raft_entry *e = raft__entry_at(r, i);
		struct raft_change c;

		if (e->type == RAFT_ENTRY_CONF &&
		    (raft_change_decode(e->data, e->len, &c) || c.op != RAFT_CHANGE_ADD_LEARNER))
			return false;
	}
	return true;
}

/*
 * A learner has caught up (§4.2.1) when it holds what is committed, or is
 * replicating within RAFT_PROMOTE_LAG entries of the commit index and holds
 * the latest configuration.  Fed a batch at a time, its match trails the
 * commit index by a batch at any moment under steady writes: the strict
 * rule alone promoted it only in a pause.  A voter missing a few committed
 * entries is safe (it cannot win an election without them, and a commit
 * counts it only once it holds them); but one whose log does not yet name
 * it votes for nobody (raft_step), so promoting it before it holds the
 * change that added it could leave a two-voter cluster unable to elect.
 */
bool
raft__learner_ready(const struct raft *r, const struct peer *p)
{
	return p->match >= r->commit ||
	    (p->state == RAFT_PROGRESS_REPLICATE && p->match >= r->conf_index &&
		r->commit - p->match <= RAFT_PROMOTE_LAG);
}

int
raft_change(struct raft *r, enum raft_change_op op, uint64_t id, const void *context,
    size_t context_len, uint64_t *index, uint64_t *term)
{
	const struct raft_member *m;
	uint32_t len;
	void *data;
	int rc;

	if (r->in_ready)
		return -EBUSY;
	if (r->state != RAFT_LEADER)
		return -ENOTLEADER;
	if (id == 0 || context_len > RAFT_MAX_MEMBER_CONTEXT || (context_len && !context))
		return -EINVAL;
	if (r->transfer_to)
		return -EBUSY;
	/* §4.1: one change of the voters at a time */
	if (r->conf_index > r->commit &&
	    (op != RAFT_CHANGE_ADD_LEARNER || !only_learners_pending(r)))
		return -EBUSY;
	/* a new leader must commit an entry of its term before a change
	 * (the single-server change bug, Ongaro, raft-dev 2015) */
	if (!raft__committed_in_term(r))
		return -EAGAIN;
	m = raft__member_of(r, id);
	switch (op) {
	case RAFT_CHANGE_ADD_LEARNER:
		if (m)
			return -EEXIST;
		break;
	case RAFT_CHANGE_PROMOTE:
		if (!m)
			return -ENOENT;
		if (m->voter)
			return -EINVAL;
		/* §4.2.1: only a learner that has caught up gets a vote */
		if (!raft__learner_ready(r, raft__peer_of(r, id)))
			return -EAGAIN;
		break;
	case RAFT_CHANGE_REMOVE:
		if (!m)
			return -ENOENT;
		if (m->voter && raft__n_voters(r) == 1)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	data = raft__encode_change((uint8_t)op, id, context, (uint16_t)context_len, &len);
	if (!data)
		return -ENOMEM;
	rc = raft__leader_append(r, RAFT_ENTRY_CONF, data, len, index, term);
	free(data);
	return rc;
}

/* Append a RAFT_ENTRY_CONF of this term, as a leader would (not sent). */
static int
append_change(struct raft *r, uint8_t op, uint64_t id)
{
	struct raft_entry e = {
		.term = r->term, .index = raft__last_index(r) + 1, .type = RAFT_ENTRY_CONF
	};
	void *data = raft__encode_change(op, id, NULL, 0, &e.len);
	int rc;

	if (!data)
		return -ENOMEM;
	e.data = data;
	rc = raft__log_append(r, &e);
	free(data);
	return rc;
}

int
raft_force_new_cluster(struct raft *r, size_t *removed, char *err, size_t errlen)
{
	const struct raft_member *self = raft__member_of(r, r->id);
	uint64_t others[RAFTCONF_MAX_MEMBERS];
	size_t n = 0;
	int rc;

	*removed = 0;
	if (r->in_ready || r->state != RAFT_FOLLOWER || r->unstable <= raft__last_index(r))
		return -EBUSY;
	if (!self) {
		seterr(err, errlen, "this node is not a member in its latest configuration");
		return -ENOENT;
	}
	if (r->catch_up_to) {
		seterr(err, errlen,
		    "this node lost log entries up to %" PRIu64 " (a damaged snapshot): "
		    "its data is not the cluster's",
		    r->catch_up_to);
		return -EINVAL;
	}
	if (r->term + 1 >= RAFT_MAX_TERM) {
		seterr(err, errlen, "term %" PRIu64 " is at the top of the range", r->term);
		return -ERANGE;
	}
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i].id != r->id)
			others[n++] = r->members[i].id;
	if (n == 0 && self->voter)
		return 0;
	/* A term no leader of the old cluster can have written in yet. */
	raft__become_follower(r, r->term + 1, 0);
	if (!self->voter && (rc = append_change(r, RAFT_CHANGE_PROMOTE, r->id)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = append_change(r, RAFT_CHANGE_REMOVE, others[i])) < 0)
			return rc;
	*removed = n;
	/* The only voter now: it campaigns at the next tick, not an election
	 * timeout from now. */
	r->election_elapsed = r->timeout;
	return 0;
}
