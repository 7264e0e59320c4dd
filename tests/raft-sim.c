/*
 * raft-sim.c — a deterministic simulator for the Raft core (daemon/raft.c).
 *
 * What it is: an in-memory cluster of 3, 5 or 7 cores (plus spare nodes that
 * join) driven by a seeded scheduler, in the spirit of canonical/raft's
 * fixture, willemt/raft's virtraft2 and TigerBeetle's VOPR.  The network
 * drops, duplicates, reorders and delays messages and is cut by random
 * partitions; nodes crash and restart with only what they were told was
 * durable (persistence itself is delayed, so a crash loses the batches in
 * flight); clients propose writes, ReadIndex reads, membership changes and
 * leadership transfers; nodes take snapshots and compact their logs.  After
 * every step it checks election safety, log matching, leader completeness,
 * state-machine safety, that no committed entry is lost, and that reads
 * return at least the latest write acknowledged before they started.  Then
 * the faults heal and it checks liveness: a leader emerges and everything
 * pending commits and applies everywhere within a bounded number of ticks.
 *
 * What it is not: a test of the daemon's I/O; the persistence and network
 * here are models.
 *
 *	raft-sim [--seeds N] [--first-seed S]	run seeds S .. S+N-1; stop at
 *						the first failure, print its seed
 *	raft-sim --seed S [-v]			replay one, -v traces it
 *	raft-sim ... --keep-going		count failures instead
 *	raft-sim ... --lose-entries		restarts may lose a log suffix
 *
 * Each seed draws its own cluster size, timeouts, batching limits and fault
 * rates, so that a few thousand seeds cover calm and stormy schedules.  The
 * faults are those of a real deployment (lost, duplicated, late messages,
 * partitions, crashes at any point, slow clocks) plus "buggify" crashes aimed
 * at the moment a batch is written but not yet durable.
 *
 * With --lose-entries (a run of its own in raft-sim.test, so that the seeds
 * of the plain run stay as they were), a voter that restarts may come back
 * without a suffix of its durable log, or without its snapshot and log at
 * all, keeping its term and vote: the daemon's fallback when its newest
 * snapshot is damaged (daemon/boot.c).  It restarts with catch_up_to, the
 * index its log had reached, and keeps that durable until the core says it
 * caught up, as the daemon does.  Such seeds keep their membership fixed, and
 * at most (voters - 1) / 2 voters are catching up at once, so that the others
 * can still elect a leader.
 *
 * The simulator is three files: raft-sim-model.c (the PRNG, the network,
 * the nodes' persistence and state machine, crash and restart),
 * raft-sim-check.c (the invariants checked after every step) and this one
 * (the steps of the schedule, one seed, main); raft-sim.h is what they
 * share.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft.h"
#include "raft-sim.h"

/* ----------------------------------------------------------------- steps */

static struct node *leader_node(void)
{
	struct node *best = NULL;
	struct raft_status st, bst;

	for (int i = 0; i < W.n_slots; i++) {
		struct node *n = &W.nodes[i];

		if (!n->up)
			continue;
		raft_status(n->r, &st);
		if (st.role != RAFT_LEADER)
			continue;
		if (!best || st.term > bst.term) {
			best = n;
			bst = st;
		}
	}
	return best;
}

static void deliver_due(void)
{
	size_t k = 0, n_due;
	struct inflight *due = NULL;

	/* take what is due, in random order (reordering) */
	for (size_t i = 0; i < W.n_net; i++) {
		if (W.net[i].due <= W.now)
			k++;
	}
	if (!k)
		return;
	due = xrealloc(NULL, k * sizeof(*due));
	n_due = 0;
	k = 0;
	for (size_t i = 0; i < W.n_net; i++) {
		if (W.net[i].due <= W.now)
			due[n_due++] = W.net[i];
		else
			W.net[k++] = W.net[i];
	}
	W.n_net = k;
	for (size_t i = n_due; i > 1; i--) {
		size_t j = below((unsigned)i);
		struct inflight t = due[i - 1];

		due[i - 1] = due[j];
		due[j] = t;
	}
	for (size_t i = 0; i < n_due; i++) {
		struct inflight *f = &due[i];
		struct node *n = &W.nodes[f->to];

		if (!W.failed && n->up && n->id == f->m.to) {
			const struct raft_msg *m = &f->m;
			int rc;

			if (W.verbose && m->type != RAFT_MSG_HEARTBEAT &&
			    m->type != RAFT_MSG_HEARTBEAT_RESP)
				trace("deliver %" PRIu64 "->%" PRIu64 " %s t%" PRIu64
				      " prev %" PRIu64 "/%" PRIu64 " n %u idx %" PRIu64
				      " commit %" PRIu64 "%s%s%s",
				      m->from, m->to, raft_msg_type_name(m->type), m->term,
				      m->prev_index, m->prev_term, m->n_entries, m->index,
				      m->commit, m->reject ? " reject" : "",
				      m->last ? " last" : "", m->lead ? " relayed" : "");
			/* a relay sends only entries it knows are committed */
			for (uint32_t e = 0; m->lead && e < m->n_entries; e++)
				if (m->entries[e].index > m->commit)
					fail("relay %" PRIu64 " sent %" PRIu64 " entry %" PRIu64
					     " beyond its commit index %" PRIu64,
					     m->from, m->to, m->entries[e].index, m->commit);
			rc = raft_step(n->r, m);

			if (rc)
				trace("node %" PRIu64 " refuses %s from %" PRIu64 ": %d", n->id,
				      raft_msg_type_name(f->m.type), f->m.from, rc);
			process_ready(n);
			check_all();
			/* the daemon's feed of what a relay saw commit, a moment
			 * later: here at once, between ticks */
			if (!W.failed && raft_relay_due(n->r)) {
				raft_relay_flush(n->r);
				process_ready(n);
				check_all();
			}
		}
		msg_free(&f->m);
	}
	free(due);
}

static void persist_due(void)
{
	for (int i = 0; i < W.n_slots && !W.failed; i++) {
		struct node *n = &W.nodes[i];

		while (n->up && n->pend && n->pend->due <= W.now && !W.failed) {
			struct batch *b = n->pend;

			n->pend = b->next;
			if (!n->pend)
				n->pend_tail = NULL;
			persist(n, b);
			batch_free(b);
			process_ready(n);
			check_all();
		}
	}
}

/* A node that believes it leads: a client still attached to a deposed
 * leader keeps using it. */
static struct node *some_leader(void)
{
	int s = (int)below((unsigned)W.n_slots);

	for (int k = 0, i = s; k < W.n_slots; k++, i = (i + 1) % W.n_slots) {
		struct raft_status st;

		if (!W.nodes[i].up)
			continue;
		raft_status(W.nodes[i].r, &st);
		if (st.role == RAFT_LEADER)
			return &W.nodes[i];
	}
	return NULL;
}

static void client_propose(void)
{
	struct node *l = W.faults && chance(500) ? some_leader() : leader_node();
	uint8_t buf[64];
	size_t len = 8 + below(40);
	struct proposal *p;
	uint64_t index, term;
	int rc;

	if (!l)
		return;
	GROW(W.props, W.cap_props, W.n_props + 1);
	put64(buf, W.n_props + 1);
	for (size_t i = 8; i < len; i++)
		buf[i] = (uint8_t)rnd();
	rc = raft_propose(l->r, buf, len, &index, &term);
	if (rc)
		return;
	p = &W.props[W.n_props++];
	p->index = index;
	p->term = term;
	trace("write #%zu proposed on %" PRIu64 " at %" PRIu64 "/%" PRIu64, W.n_props, l->id,
	      index, term);
	process_ready(l);
}

static void client_read(void)
{
	int s = (int)below((unsigned)W.n_slots);
	struct node *n;
	struct read *rd;

	/* clients often talk to whoever says it is the leader */
	if (chance(500) && some_leader())
		s = (int)(some_leader() - W.nodes);
	n = &W.nodes[s];

	if (!n->up)
		return;
	GROW(W.reads, W.cap_reads, W.n_reads + 1);
	if (raft_read_index(n->r, W.n_reads + 1))
		return;
	rd = &W.reads[W.n_reads++];
	memset(rd, 0, sizeof(*rd));
	rd->slot = s;
	rd->inc = n->inc;
	rd->start_acked = W.max_acked;
	trace("read #%zu on %" PRIu64 " (acked so far %" PRIu64 ")", W.n_reads, n->id,
	      W.max_acked);
	process_ready(n);
}

static void client_change(void)
{
	struct node *l = leader_node();
	const struct raft_member *m;
	size_t nm, voters = 0;
	uint64_t cand[MAX_SLOTS * 2], target, index, term;
	size_t nc = 0;
	unsigned op = below(3);
	bool learners = false;
	int rc;
	char ctx[64];

	if (!l)
		return;
	m = raft_members(l->r, &nm);
	for (size_t i = 0; i < nm; i++) {
		voters += m[i].voter;
		learners |= !m[i].voter;
	}
	if (learners && chance(500))
		op = 1;		/* promotion waits for catch-up: try often */
	if (op == 0) {		/* add a spare as a learner */
		for (int i = 0; i < W.n_slots; i++) {
			struct node *n = &W.nodes[i];
			bool member = false;

			for (size_t k = 0; k < nm; k++)
				member |= m[k].id == n->id;
			if (n->up && !member && !n->wipe)
				cand[nc++] = n->id;
		}
	} else {
		for (size_t i = 0; i < nm; i++) {
			if (op == 1 ? !m[i].voter : (m[i].voter ? voters > 2 : true))
				cand[nc++] = m[i].id;
		}
	}
	if (!nc)
		return;
	target = cand[below((unsigned)nc)];
	snprintf(ctx, sizeof(ctx), "n%" PRIu64 " 127.0.0.1:%" PRIu64, target, 7000 + target);
	rc = raft_change(l->r, op == 0 ? RAFT_CHANGE_ADD_LEARNER :
			 op == 1 ? RAFT_CHANGE_PROMOTE : RAFT_CHANGE_REMOVE,
			 target, ctx, strlen(ctx), &index, &term);
	trace("change %s %" PRIu64 " on %" PRIu64 ": %s", op == 0 ? "add-learner" :
	      op == 1 ? "promote" : "remove", target, l->id, rc ? raft_strerror(rc) : "ok");
	process_ready(l);
}

static void client_transfer(void)
{
	struct node *l = leader_node();
	const struct raft_member *m;
	size_t nm;
	uint64_t to = 0;
	int rc;

	if (!l)
		return;
	m = raft_members(l->r, &nm);
	if (nm && chance(500))
		to = m[below((unsigned)nm)].id;
	rc = raft_transfer(l->r, to);
	trace("transfer from %" PRIu64 " to %" PRIu64 ": %s", l->id, to,
	      rc ? raft_strerror(rc) : "ok");
	process_ready(l);
}

static void take_snapshot(void)
{
	struct node *n = &W.nodes[below((unsigned)W.n_slots)];
	struct raft_snapshot_meta meta;
	struct raft_status st;
	uint64_t t, compact_to, margin = below(8);

	if (!n->up)
		return;
	raft_status(n->r, &st);
	if (st.applied <= st.snapshot_index || n->sm_index != st.applied)
		return;
	if (raft_term_at(n->r, st.applied, &t) || raft_snapshot_taken(n->r, st.applied))
		return;
	raft_snapshot_meta(n->r, &meta);
	free((void *)n->snap.meta.members);
	free(n->snap.data);
	n->snap.has = true;
	n->snap.meta = meta;
	n->snap.meta.members = xdup(meta.members, meta.n_members * sizeof(*meta.members));
	n->snap.data = snap_serialize(n->sm_index, t, n->sm_hash, &n->snap.len);
	compact_to = meta.index > margin ? meta.index - margin : 0;
	trace("node %" PRIu64 " snapshot at %" PRIu64 "/%" PRIu64 ", compact to %" PRIu64,
	      n->id, meta.index, meta.term, compact_to);
	if (compact_to && raft_compact(n->r, compact_to) == 0) {
		size_t drop = 0;

		while (drop < n->n_log && n->log[drop].index <= compact_to)
			free(n->log[drop++].data);
		memmove(n->log, n->log + drop, (n->n_log - drop) * sizeof(*n->log));
		n->n_log -= drop;
	}
	process_ready(n);
}

static void faults_step(void)
{
	if (W.heal_at && W.now >= W.heal_at) {
		memset(W.cut, 0, sizeof(W.cut));
		W.heal_at = 0;
		trace("partition healed");
	}
	if (!W.heal_at && chance(W.p_part)) {
		struct node *l = leader_node();
		int side[MAX_SLOTS];

		if (l && chance(500)) {
			for (int i = 0; i < W.n_slots; i++)
				side[i] = &W.nodes[i] == l;
			trace("partition: leader %" PRIu64 " isolated", l->id);
		} else {
			for (int i = 0; i < W.n_slots; i++)
				side[i] = (int)below(2);
			trace("partition: random split");
		}
		for (int i = 0; i < W.n_slots; i++) {
			for (int j = 0; j < W.n_slots; j++)
				W.cut[i][j] = side[i] != side[j];
		}
		W.heal_at = W.now + 5 + below(60);
	}
	if (chance(W.p_slow)) {
		struct node *n = chance(500) && leader_node() ? leader_node() :
				 &W.nodes[below((unsigned)W.n_slots)];

		n->slow_until = W.now + 10 + below(80);
		n->slow_by = 2 + below(4);
		trace("node %" PRIu64 " runs slow: 1 tick in %u until %" PRIu64, n->id,
		      n->slow_by, n->slow_until);
	}
	for (int i = 0; i < W.n_slots; i++) {
		struct node *n = &W.nodes[i];

		if (n->up && n->crash_at && n->crash_at <= W.now) {
			n->crash_at = 0;
			if (n->pend)
				node_crash(n, below(3));
		}
	}
	if (chance(W.p_crash)) {
		struct node *n = &W.nodes[below((unsigned)W.n_slots)];

		/* crashes hurt most while a batch is not yet durable */
		if (chance(500)) {
			for (int i = 0; i < W.n_slots; i++) {
				if (W.nodes[i].up && W.nodes[i].pend)
					n = &W.nodes[i];
			}
		}
		if (n->up)
			node_crash(n, chance(500) ? below(3) : 1 + below(40));
	}
}

/*
 * May voter n lose entries now?  Only with --lose-entries, in a seed whose
 * membership stays the bootstrap one, and while fewer than (voters - 1) / 2
 * other voters are catching up: a majority that can still vote.
 */
static bool may_lose_entries(const struct node *n)
{
	size_t others = 0;

	if (!W.p_lose || !W.fixed_membership || n - W.nodes >= (ptrdiff_t)W.n_boot)
		return false;
	for (size_t v = 0; v < W.n_boot; v++) {
		if (&W.nodes[v] != n && W.nodes[v].catch_up_to)
			others++;
	}
	return others < (W.n_boot - 1) / 2;
}

/*
 * The daemon's fallback after a damaged newest snapshot (daemon/boot.c):
 * the log after an older snapshot is gone, or, with no older snapshot,
 * the snapshot and the whole log; term and vote stay.  The node will
 * start catching up to the last index its log had.
 */
static void node_lose_entries(struct node *n)
{
	uint64_t last, lt, base = n->snap.has ? n->snap.meta.index : 1, keep = 0;

	durable_last(n, &last, &lt);
	if (last <= base)
		return;
	if (chance(250)) {
		dlog_truncate(n, 0);
		free((void *)n->snap.meta.members);
		free(n->snap.data);
		memset(&n->snap, 0, sizeof(n->snap));
	} else {
		keep = base + below((unsigned)(last - base));
		dlog_truncate(n, keep + 1);
	}
	if (last > n->catch_up_to)
		n->catch_up_to = last;
	trace("node %" PRIu64 " lost its log after %" PRIu64 " (had %" PRIu64
	      "): catching up to %" PRIu64, n->id, keep, last, n->catch_up_to);
}

static void restarts_step(void)
{
	for (int i = 0; i < W.n_slots; i++) {
		struct node *n = &W.nodes[i];

		if (n->wipe) {
			node_rejoin_as_spare(n);
			continue;
		}
		if (!n->up && W.now >= n->down_until) {
			trace("restart %" PRIu64, n->id);
			if (may_lose_entries(n) && chance(W.p_lose))
				node_lose_entries(n);
			node_start(n);
		}
	}
}

static void tick_all(void)
{
	for (int i = 0; i < W.n_slots && !W.failed; i++) {
		struct node *n = &W.nodes[i];

		if (!n->up)
			continue;
		/* a node whose clock runs slow (or that stalls) skips ticks */
		if (W.faults && n->slow_until > W.now && W.now % n->slow_by)
			continue;
		/* the daemon's commit notice, due a moment after commit */
		if (raft_commit_unsent(n->r))
			raft_send_commit(n->r);
		raft_tick(n->r);
		process_ready(n);
		check_all();
	}
}

static void one_tick(bool chaos)
{
	W.now++;
	deliver_due();
	persist_due();
	tick_all();
	if (W.failed)
		return;
	restarts_step();
	if (chaos) {
		faults_step();
		if (chance(W.p_prop))
			client_propose();
		if (chance(W.p_read))
			client_read();
		if (!W.fixed_membership && chance(15))
			client_change();
		if (chance(8))
			client_transfer();
		if (chance(30))
			take_snapshot();
	}
	check_all();
}

/* ------------------------------------------------------------- one seed */

static void world_free(void)
{
	for (int i = 0; i < W.n_slots; i++) {
		struct node *n = &W.nodes[i];

		if (n->up)
			node_stop(n);
		node_wipe_storage(n);
	}
	for (size_t i = 0; i < W.n_net; i++)
		msg_free(&W.net[i].m);
	free(W.net);
	free(W.leaders);
	free(W.gcommit);
	free(W.gapplied);
	free(W.lm);
	free(W.props);
	free(W.reads);
}

/* After the faults heal: a leader, and everything pending settles. */
static void heal_and_settle(void)
{
	unsigned bound = 40 * W.cfg.election_ticks + 200;
	uint64_t final_index = 0, final_term = 0, maxlast = 0;
	size_t final_pid = 0;

	/* a node far behind, fed one entry per round trip, takes its time */
	for (int i = 0; i < W.n_slots; i++) {
		uint64_t li, lt;

		durable_last(&W.nodes[i], &li, &lt);
		if (li > maxlast)
			maxlast = li;
	}
	bound += 4 * (unsigned)maxlast /
		 (W.cfg.max_append_entries < 4 ? W.cfg.max_append_entries : 4);

	trace("--- faults heal: every node up, no loss, no partition ---");
	W.faults = false;
	W.max_delay = 2;
	memset(W.cut, 0, sizeof(W.cut));
	W.heal_at = 0;
	for (int i = 0; i < W.n_slots; i++)
		W.nodes[i].down_until = 0;
	for (unsigned t = 0; t < bound && !W.failed; t++) {
		struct node *l;
		struct raft_status st;
		const struct raft_member *m;
		size_t nm;
		bool settled = true;

		one_tick(false);
		l = leader_node();
		if (!l || W.failed)
			continue;
		raft_status(l->r, &st);
		if (!final_pid || (!W.props[final_pid - 1].acked && final_term != st.term)) {
			size_t before = W.n_props;

			client_propose();
			if (W.n_props > before) {
				final_pid = W.n_props;
				final_index = W.props[final_pid - 1].index;
				final_term = W.props[final_pid - 1].term;
			}
			continue;
		}
		if (!W.props[final_pid - 1].acked)
			continue;
		m = raft_members(l->r, &nm);
		for (size_t i = 0; i < nm; i++) {
			int s = slot_of(m[i].id);

			if (s >= 0 && W.nodes[s].sm_index < final_index)
				settled = false;
		}
		if (!settled)
			continue;
		trace("settled: write at %" PRIu64 "/%" PRIu64 " applied on every member",
		      final_index, final_term);
		for (size_t i = 0; i < W.n_props; i++) {
			struct proposal *p = &W.props[i];
			struct gent *g;

			if (p->acked || p->index > final_index)
				continue;
			g = gslot(&W.gapplied, p->index);
			if (!g->set || g->term == p->term)
				fail("write #%zu at %" PRIu64 "/%" PRIu64 " neither applied nor "
				     "replaced", i + 1, p->index, p->term);
		}
		for (size_t i = 0; i < W.n_reads; i++) {
			struct read *rd = &W.reads[i];
			struct node *n = &W.nodes[rd->slot];

			bool member = false;

			for (size_t k = 0; k < nm; k++)
				member |= m[k].id == n->id;
			if (member && rd->known && !rd->done && n->up && n->inc == rd->inc)
				fail("read #%zu on %" PRIu64 " known at %" PRIu64 " never served",
				     i + 1, n->id, rd->index);
		}
		return;
	}
	if (!W.failed)
		fail("liveness: not settled %u ticks after the faults healed (leader: %s)",
		     bound, leader_node() ? "yes" : "none");
}

static bool lose_entries;	/* --lose-entries */

static bool run_seed(uint64_t seed, bool verbose)
{
	unsigned n, chaos;
	bool ok;

	memset(&W, 0, sizeof(W));
	W.seed = seed;
	W.verbose = verbose;
	rnd_seed(seed);
	n = below(100) < 50 ? 3 : below(100) < 70 ? 5 : 7;
	W.n_slots = (int)(n + 1 + below(2));
	W.cfg.election_ticks = 6 + below(10);
	W.cfg.heartbeat_ticks = 1 + below(2);
	W.cfg.max_append_entries = chance(300) ? 64 : chance(500) ? 1 : 2 + below(3);
	W.cfg.max_append_bytes = 32 + below(400);
	W.cfg.max_inflight = 1 + below(8);
	W.cfg.snapshot_chunk = 16 + below(100);
	W.drop = below(150);
	W.dup = below(60);
	W.max_delay = 1 + below(W.cfg.election_ticks / 2);
	W.persist_delay = below(4);
	W.p_crash = below(30);
	W.p_part = 5 + below(25);
	W.p_read = 50 + below(200);
	W.p_prop = 100 + below(400);
	W.p_slow = below(20);
	W.p_buggify = 10 + below(60);
	W.early_calls = chance(500);
	W.faults = true;
	W.fixed_membership = chance(500);
	W.next_id = 11 + below(5);
	chaos = 500 + below(1000);
	if (lose_entries) {
		/* drawn last: the other parameters are the plain run's */
		W.p_lose = 100 + below(400);
		W.fixed_membership = true;
	}
	for (unsigned i = 0; i < n; i++) {
		struct raft_member *m = &W.boot[W.n_boot++];

		memset(m, 0, sizeof(*m));
		m->id = W.next_id + i;
		m->voter = true;
		m->context_len = (uint16_t)snprintf((char *)m->context, sizeof(m->context),
						    "n%" PRIu64, m->id);
	}
	trace("seed %" PRIu64 ": %u voters, %d nodes, election %u, heartbeat %u, "
	      "entries/msg %u, bytes/msg %zu, inflight %u, chunk %zu, drop %u/1000, dup %u/1000, "
	      "delay <= %u, persist delay <= %u, chaos %u ticks", seed, n, W.n_slots,
	      W.cfg.election_ticks, W.cfg.heartbeat_ticks, W.cfg.max_append_entries,
	      W.cfg.max_append_bytes, W.cfg.max_inflight, W.cfg.snapshot_chunk, W.drop,
	      W.dup, W.max_delay, W.persist_delay, chaos);
	for (int i = 0; i < W.n_slots; i++) {
		W.nodes[i].used = true;
		W.nodes[i].id = W.next_id++;
		node_start(&W.nodes[i]);
	}
	for (unsigned t = 0; t < chaos && !W.failed; t++)
		one_tick(true);
	if (!W.failed)
		heal_and_settle();
	ok = !W.failed;
	world_free();
	return ok;
}

static void usage(void)
{
	fprintf(stderr, "usage: raft-sim [--seeds N] [--first-seed S] [--keep-going] "
			"[--lose-entries]\n"
			"       raft-sim --seed S [-v] [--lose-entries]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t first = 1, count = 100, failed = 0;
	bool verbose = false, keep_going = false;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "-v")) {
			verbose = true;
			continue;
		}
		if (!strcmp(argv[i], "--keep-going")) {
			keep_going = true;
			continue;
		}
		if (!strcmp(argv[i], "--lose-entries")) {
			lose_entries = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		errno = 0;
		if (!strcmp(argv[i], "--seeds")) {
			count = strtoull(argv[++i], &end, 10);
		} else if (!strcmp(argv[i], "--first-seed")) {
			first = strtoull(argv[++i], &end, 10);
		} else if (!strcmp(argv[i], "--seed")) {
			first = strtoull(argv[++i], &end, 10);
			count = 1;
		} else {
			usage();
		}
		if (errno || *end)
			usage();
	}
	for (uint64_t s = first; s - first < count; s++) {
		if (!run_seed(s, verbose)) {
			failed++;
			if (keep_going)
				continue;
			printf("raft-sim: FAILED on seed %" PRIu64 "; replay with: "
			       "raft-sim --seed %" PRIu64 " -v\n", s, s);
			return 1;
		}
	}
	if (failed) {
		printf("raft-sim: %" PRIu64 " of %" PRIu64 " seeds failed\n", failed, count);
		return 1;
	}
	printf("raft-sim: %" PRIu64 " seeds passed (%" PRIu64 "..%" PRIu64 ")\n", count, first,
	       first + count - 1);
	return 0;
}
