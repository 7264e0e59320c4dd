/*
 * raft-sim-check.c — the invariants the Raft simulator checks after every
 * step: one leader per term, a new leader holding every entry committed
 * before its term, committed entries that never change nor get lost, and,
 * while the membership is the bootstrap one, that a voter lacking the
 * latest committed entry cannot be elected.  A broken one ends the seed
 * with fail().
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "raft.h"
#include "raft-sim.h"

/* ------------------------------------------------------------ invariants */

static void check_node(struct node *n)
{
	struct raft_status st;

	if (!n->up || W.failed)
		return;
	raft_status(n->r, &st);
	if (W.verbose && (st.role != n->seen_role || st.term != n->seen_term)) {
		trace("node %" PRIu64 " is %s in term %" PRIu64 " (last %" PRIu64 "/%" PRIu64
		      ", commit %" PRIu64 ")", n->id, raft_role_name(st.role), st.term,
		      st.last_index, st.last_term, st.commit);
		n->seen_role = st.role;
		n->seen_term = st.term;
	}
	if (st.role == RAFT_LEADER) {
		/* Election Safety (§5.2): one leader per term */
		GROW(W.leaders, W.cap_leaders, st.term + 1);
		if (!W.leaders[st.term]) {
			W.leaders[st.term] = n->id;
		} else if (W.leaders[st.term] != n->id) {
			fail("election safety: nodes %" PRIu64 " and %" PRIu64
			     " are both leaders of term %" PRIu64, W.leaders[st.term], n->id,
			     st.term);
			return;
		}
		/* Leader Completeness (§5.4): every entry committed in an
		 * earlier term is in the new leader's log */
		if (n->leader_checked_term != st.term) {
			n->leader_checked_term = st.term;
			for (uint64_t i = st.first_index; i < W.cap_g; i++) {
				struct gent *g = &W.gcommit[i];
				uint64_t t;

				if (!g->set || g->aux >= st.term)
					continue;
				if (raft_term_at(n->r, i, &t) || t != g->term) {
					fail("leader completeness: leader %" PRIu64 " of term %"
					     PRIu64 " lacks committed entry %" PRIu64 "/%" PRIu64,
					     n->id, st.term, i, g->term);
					return;
				}
			}
		}
	}
	/* committed entries never change and are never lost */
	if (st.commit > n->checked_commit) {
		uint64_t from = n->checked_commit + 1;

		if (from < st.first_index)
			from = st.first_index;
		for (uint64_t i = from; i <= st.commit; i++) {
			struct gent *g = gslot(&W.gcommit, i);
			uint64_t t;

			if (raft_term_at(n->r, i, &t))
				continue;
			if (!g->set) {
				g->set = true;
				g->term = t;
				g->aux = st.term;
				if (i > W.max_commit)
					W.max_commit = i;
			} else if (g->term != t) {
				fail("committed entry changed: node %" PRIu64 " commits %" PRIu64
				     "/%" PRIu64 ", already committed with term %" PRIu64, n->id,
				     i, t, g->term);
				return;
			}
		}
		n->checked_commit = st.commit;
	}
}

/* Last (index, term) of what node n has durably. */
void durable_last(const struct node *n, uint64_t *index, uint64_t *term)
{
	*index = *term = 0;
	if (n->snap.has) {
		*index = n->snap.meta.index;
		*term = n->snap.meta.term;
	}
	if (n->n_log && n->log[n->n_log - 1].index > *index) {
		*index = n->log[n->n_log - 1].index;
		*term = n->log[n->n_log - 1].term;
	}
}

static bool durable_has(const struct node *n, uint64_t index, uint64_t term)
{
	if (n->snap.has && n->snap.meta.index >= index)
		return true;
	for (size_t i = n->n_log; i-- > 0;) {
		if (n->log[i].index == index)
			return n->log[i].term == term;
		if (n->log[i].index < index)
			break;
	}
	return false;
}

static bool log_less(uint64_t ai, uint64_t at, uint64_t bi, uint64_t bt)
{
	return at < bt || (at == bt && ai < bi);
}

/*
 * Node n lost entries it may have acknowledged and does not campaign yet:
 * as its core says while it runs, as its durable state will make it say
 * when it restarts.
 */
static bool catching_up(const struct node *n)
{
	struct raft_status st;
	uint64_t li, lt;

	if (n->up) {
		raft_status(n->r, &st);
		return st.catch_up_to != 0;
	}
	durable_last(n, &li, &lt);
	return n->catch_up_to > li;
}

/*
 * The log voter n judges a candidate by, false if it votes for nobody: its
 * durable log, since it may crash and come back with only that; but while
 * it is catching up, nobody, unless it runs and its core caught up already:
 * then the log in memory, since its vote leaves only once that is durable.
 */
static bool vote_log(const struct node *n, uint64_t *index, uint64_t *term)
{
	struct raft_status st;

	durable_last(n, index, term);
	if (n->catch_up_to <= *index)
		return true;
	if (!n->up)
		return false;
	raft_status(n->r, &st);
	if (st.catch_up_to)
		return false;
	*index = st.last_index;
	*term = st.last_term;
	return true;
}

/*
 * The inductive form of Leader Completeness (§5.4.3): a voter that lacks
 * the latest committed entry cannot collect a quorum of votes, because a
 * majority holds, durably, a log more up to date than its own.  Checked
 * only while the membership is the bootstrap one (W.fixed_membership).
 */
static void check_electability(void)
{
	uint64_t c = W.max_commit, tc;
	size_t q = W.n_boot / 2 + 1;

	if (c <= 1 || !W.fixed_membership)	/* 1: the bootstrap entry */
		return;
	tc = W.gcommit[c].term;
	for (size_t x = 0; x < W.n_boot; x++) {
		struct node *n = &W.nodes[x];
		uint64_t xi, xt, t;
		size_t grants = 0;

		durable_last(n, &xi, &xt);
		if (durable_has(n, c, tc))
			continue;
		if (n->up) {
			struct raft_status st;

			raft_status(n->r, &st);
			if (st.first_index > c ||
			    (raft_term_at(n->r, c, &t) == 0 && t == tc))
				continue;
			if (log_less(xi, xt, st.last_index, st.last_term)) {
				xi = st.last_index;
				xt = st.last_term;
			}
		}
		if (catching_up(n))
			continue;	/* never campaigns */
		for (size_t v = 0; v < W.n_boot; v++) {
			uint64_t vi, vt;

			if (v == x)
				grants++;
			else if (vote_log(&W.nodes[v], &vi, &vt) && !log_less(xi, xt, vi, vt))
				grants++;
		}
		if (grants >= q) {
			fail("committed entry %" PRIu64 "/%" PRIu64 " at risk: node %" PRIu64
			     " lacks it (log %" PRIu64 "/%" PRIu64 ") and %zu of %zu voters "
			     "would elect it", c, tc, n->id, xi, xt, grants, W.n_boot);
			return;
		}
	}
}

void check_all(void)
{
	for (int i = 0; i < W.n_slots; i++)
		check_node(&W.nodes[i]);
	if (!W.failed)
		check_electability();
}
