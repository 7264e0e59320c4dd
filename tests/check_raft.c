/*
 * check_raft.c — unit tests of the Raft core (daemon/raft.c), one named
 * scenario per rule.
 *
 * A small in-memory harness drives a few cores: it persists every batch at
 * once, queues messages in order and delivers them unless a link is cut.
 * Where a test needs finer control it builds messages by hand and steps them.
 * The randomized, fault-injecting counterpart is tests/raft-sim.c.
 *
 * The harness is check_raft_harness.c; membership and relays, the roles and
 * the snapshots have files of their own (check_raft.h).  This one holds
 * elections, replication, pre-vote, check-quorum, transfer and ReadIndex,
 * and builds the suite.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_raft.h"

/* ------------------------------------------------------------- elections */

START_TEST(test_bootstrap_writes_a_committed_membership_entry)
{
	cluster(3, 3);
	for (uint64_t id = 1; id <= 3; id++) {
		size_t n;
		const struct raft_member *m = raft_members(node(id)->r, &n);

		ck_assert_uint_eq(n, 3);
		ck_assert(m[0].voter && m[2].id == 3);
		ck_assert_uint_eq(status(id).commit, 1);
		ck_assert_uint_eq(node(id)->applied, 1);
		ck_assert_uint_eq(term_at(id, 1), 1);
	}
	teardown();
}
END_TEST

START_TEST(test_a_leader_is_elected_and_replicates_a_write)
{
	uint64_t l, index;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	ck_assert_uint_ne(l, 0);
	index = propose(l, "x=1");
	tick_all(2);
	for (uint64_t id = 1; id <= 3; id++) {
		ck_assert_uint_ge(status(id).commit, index);
		ck_assert_uint_eq(node(id)->applied, status(id).commit);
		ck_assert_uint_eq(status(id).leader, l);
	}
	teardown();
}
END_TEST

START_TEST(test_single_voter_leads_only_after_its_vote_is_durable)
{
	struct raft_config cfg = config(1);
	struct raft_member boot = member(1, true);
	struct raft_init init = { .bootstrap = &boot, .n_bootstrap = 1 };
	struct raft_ready rd;
	struct raft *r;
	char err[128];
	int i;

	ck_assert_int_eq(raft_new(&cfg, &init, &r, err, sizeof(err)), 0);
	raft_ready(r, &rd);
	raft_persisted(r, rd.persist_index, rd.persist_term);
	raft_advance(r, &rd);
	for (i = 0; i < 40; i++) {
		struct raft_status st;

		raft_tick(r);
		raft_status(r, &st);
		if (st.role == RAFT_CANDIDATE)
			break;
	}
	ck_assert_int_lt(i, 40);
	ck_assert(raft_has_ready(r));
	raft_ready(r, &rd);
	ck_assert(rd.has_hard_state && rd.hs.vote == 1);
	ck_assert_uint_eq(raft_leader(r), 0);
	/* the daemon's order: persisted before advance; the batch stays
	 * intact and the election completes in raft_advance() */
	raft_persisted(r, rd.persist_index, rd.persist_term);
	ck_assert_uint_eq(raft_leader(r), 0);
	ck_assert_int_eq(raft_propose(r, "x", 1, NULL, NULL), -EBUSY);
	raft_advance(r, &rd);
	ck_assert_uint_eq(raft_leader(r), 1);
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_entries, 1);
	ck_assert_int_eq(rd.entries[0].type, RAFT_ENTRY_NOOP);
	raft_persisted(r, rd.persist_index, rd.persist_term);
	raft_advance(r, &rd);
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_committed, 1);	/* the no-op, once durable */
	ck_assert_uint_eq(rd.committed[0].index, 2);
	raft_advance(r, &rd);
	raft_free(r);
}
END_TEST

START_TEST(test_vote_refused_when_candidate_log_is_behind)
{
	static const uint64_t longer[] = { 1, 1, 2, 2 }, shorter[] = { 1, 1, 2 };
	struct raft_msg m;

	memset(&C, 0, sizeof(C));
	C.n = 2;
	restore_node(1, 2, shorter, 3, 2);
	restore_node(2, 2, longer, 4, 2);
	drain_all();
	drop_queue();
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_VOTE;
	m.from = 1;
	m.to = 2;
	m.term = 3;
	m.index = 3;
	m.log_term = 2;
	ck_assert_int_eq(raft_step(node(2)->r, &m), 0);
	drain(2);
	ck_assert_uint_eq(C.nq, 1);
	ck_assert_int_eq(C.q[0].m.type, RAFT_MSG_VOTE_RESP);
	ck_assert(C.q[0].m.reject);
	ck_assert_uint_eq(status(2).term, 3);
	ck_assert_uint_eq(status(2).vote, 0);
	teardown();
}
END_TEST

START_TEST(test_vote_granted_once_per_term_and_only_after_persisting)
{
	struct raft_msg m;

	cluster(3, 3);
	drop_queue();
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_VOTE;
	m.from = 1;
	m.to = 3;
	m.term = 2;
	m.index = 1;
	m.log_term = 1;
	ck_assert_int_eq(raft_step(node(3)->r, &m), 0);
	drain(3);
	ck_assert_uint_eq(node(3)->vote_resp_in_msgs, 0);
	ck_assert_uint_eq(node(3)->vote_resp_after, 1);
	ck_assert(node(3)->last.has_hard_state && node(3)->last.hs.vote == 1);
	ck_assert(!C.q[0].m.reject);
	drop_queue();
	m.from = 2;		/* another candidate, same term */
	ck_assert_int_eq(raft_step(node(3)->r, &m), 0);
	drain(3);
	ck_assert_uint_eq(C.nq, 1);
	ck_assert(C.q[0].m.reject);
	ck_assert_uint_eq(status(3).vote, 1);
	teardown();
}
END_TEST

START_TEST(test_stale_term_append_is_refused_with_the_current_term)
{
	struct raft_msg m;
	struct raft_entry e = { .term = 1, .index = 2, .type = RAFT_ENTRY_NORMAL };

	cluster(3, 3);
	tick_all(40);
	drop_queue();
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND;
	m.from = 3;
	m.to = 2;
	m.term = 1;		/* older than anyone's now */
	m.prev_index = 1;
	m.prev_term = 1;
	m.n_entries = 1;
	m.entries = &e;
	ck_assert_uint_gt(status(2).term, 1);
	ck_assert_int_eq(raft_step(node(2)->r, &m), 0);
	drain(2);
	ck_assert_uint_eq(C.nq, 1);
	ck_assert_int_eq(C.q[0].m.type, RAFT_MSG_APPEND_RESP);
	ck_assert(C.q[0].m.reject);
	ck_assert_uint_eq(C.q[0].m.term, status(2).term);
	ck_assert_uint_ne(term_at(2, 2), 1);
	teardown();
}
END_TEST

START_TEST(test_malformed_messages_are_refused)
{
	struct raft_msg m;
	struct raft_entry e[2] = {
		{ .term = 1, .index = 2, .type = RAFT_ENTRY_NORMAL },
		{ .term = 1, .index = 4, .type = RAFT_ENTRY_NORMAL },
	};
	struct raft *r;

	cluster(3, 3);
	r = node(1)->r;
	memset(&m, 0, sizeof(m));
	m.type = 99;
	m.from = 2;
	m.to = 1;
	m.term = 1;
	ck_assert_int_eq(raft_step(r, &m), -EINVAL);
	m.type = RAFT_MSG_HEARTBEAT;
	m.to = 5;
	ck_assert_int_eq(raft_step(r, &m), -EINVAL);
	m.to = 1;
	m.from = 0;
	ck_assert_int_eq(raft_step(r, &m), -EINVAL);
	m.from = 1;
	ck_assert_int_eq(raft_step(r, &m), -EINVAL);
	m.from = 2;
	m.type = RAFT_MSG_APPEND;
	m.prev_index = 1;
	m.prev_term = 1;
	m.n_entries = 2;
	m.entries = e;		/* index 4 after 2: out of line */
	ck_assert_int_eq(raft_step(r, &m), -EINVAL);
	m.entries = NULL;
	ck_assert_int_eq(raft_step(r, &m), -EINVAL);
	m.n_entries = 0;
	m.type = RAFT_MSG_APPEND_RESP;
	m.from = 7;		/* not a member */
	ck_assert_int_eq(raft_step(r, &m), -EPERM);
	m.type = RAFT_MSG_SNAPSHOT;
	m.from = 2;
	m.index = 5;
	m.log_term = 1;
	m.len = 10;
	m.data = NULL;
	ck_assert_int_eq(raft_step(r, &m), -EINVAL);
	ck_assert_uint_eq(status(1).last_index, 1);
	teardown();
}
END_TEST

START_TEST(test_follower_applies_only_committed_entries)
{
	struct raft_entry e[2];
	struct raft_msg m;
	uint64_t l, f, last;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l == 1 ? 2 : 1;
	last = status(f).last_index;
	ck_assert_uint_eq(node(f)->applied, status(f).commit);
	for (int i = 0; i < 2; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].index = last + 1 + (uint64_t)i;
		e[i].term = status(l).term;
		e[i].type = RAFT_ENTRY_NORMAL;
	}
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND;
	m.from = l;
	m.to = f;
	m.term = status(l).term;
	m.prev_index = last;
	m.prev_term = term_at(f, last);
	m.commit = status(f).commit;	/* the new entries are not committed */
	m.n_entries = 2;
	m.entries = e;
	ck_assert_int_eq(raft_step(node(f)->r, &m), 0);
	drain(f);
	drop_queue();
	ck_assert_uint_eq(status(f).last_index, last + 2);
	ck_assert_uint_eq(status(f).commit, last);
	ck_assert_uint_eq(node(f)->applied, last);
	m.n_entries = 0;
	m.prev_index = last + 2;
	m.prev_term = e[1].term;
	m.commit = last + 1;
	ck_assert_int_eq(raft_step(node(f)->r, &m), 0);
	drain(f);
	ck_assert_uint_eq(node(f)->applied, last + 1);
	teardown();
}
END_TEST

/*
 * A commit index alone is not sent at once: the next append carries it, or
 * raft_send_commit() (the driver's, a moment later).  One write then costs a
 * follower one append and one answer.  A follower applies what an append
 * commits only after its answer for that append's entries is durable.
 */
START_TEST(test_a_commit_index_rides_on_the_next_append)
{
	uint64_t l, f, g, first, second;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l == 1 ? 2 : 1;
	g = 6 - l - f;
	C.hold_commit = true;
	C.empty_appends = 0;
	first = propose(l, "one");
	ck_assert_uint_eq(status(l).commit, first);
	ck_assert_uint_lt(status(f).commit, first);	/* not told yet */
	ck_assert_uint_lt(status(g).commit, first);
	ck_assert(raft_commit_unsent(node(l)->r));
	ck_assert_uint_eq(C.empty_appends, 0);
	second = propose(l, "two");			/* carries the first's commit */
	ck_assert_uint_eq(status(f).commit, first);
	ck_assert_uint_eq(status(g).commit, first);
	ck_assert_uint_eq(node(f)->applied, first);
	ck_assert_uint_eq(C.empty_appends, 0);
	ck_assert_uint_eq(node(f)->applied_with_answer, 0);
	ck_assert_uint_eq(node(g)->applied_with_answer, 0);
	ck_assert(raft_commit_unsent(node(l)->r));
	raft_send_commit(node(l)->r);			/* the driver's timer */
	deliver();
	ck_assert_uint_eq(C.empty_appends, 2);
	ck_assert_uint_eq(status(f).commit, second);
	ck_assert_uint_eq(status(g).commit, second);
	ck_assert_uint_eq(node(g)->applied, second);
	ck_assert(!raft_commit_unsent(node(l)->r));
	raft_send_commit(node(l)->r);			/* nothing more to tell */
	deliver();
	ck_assert_uint_eq(C.empty_appends, 2);
	/* a follower that is not sent to is not waited for: cut off, it is
	 * told at the next append it gets, and the timer does not spin */
	C.cut[l][g] = true;
	propose(l, "three");
	raft_send_commit(node(l)->r);
	deliver();
	ck_assert(!raft_commit_unsent(node(l)->r));
	C.hold_commit = false;
	teardown();
}
END_TEST

/* Random, mostly malformed messages: refused or absorbed, never a crash
 * (run under ASan/UBSan); the core's own invariants still hold. */
static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;

static uint64_t RND(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

START_TEST(test_random_garbage_messages_never_crash_the_core)
{
	struct raft_entry e[4];
	struct raft_member mem[2];
	uint8_t data[64];

	cluster(3, 3);
	tick_all(40);
	memset(data, 0xab, sizeof(data));
	for (int i = 0; i < 20000; i++) {
		struct raft_msg m;
		uint64_t to = 1 + RND() % 3;
		int rc;

		memset(&m, 0, sizeof(m));
		m.type = (uint8_t)(RND() % (RAFT_MSG_TYPE_MAX + 2));
		m.from = RND() % 5;
		m.to = RND() % 8 ? to : RND() % 5;
		m.term = RND() % 8 ? status(to).term + RND() % 3 - 1 : RND();
		m.prev_index = RND() % 8;
		m.prev_term = RND() % 4;
		m.commit = RND() % 10;
		m.index = RND() % 10;
		m.log_term = RND() % 5;
		m.hint_index = RND() % 4 ? RND() % 10 : RND();
		m.hint_term = RND() % 4;
		m.seq = RND() % 5;
		m.offset = RND() % 4 ? 0 : RND() % 64;
		m.reject = RND() % 2;
		m.transfer = RND() % 2;
		m.last = RND() % 2;
		m.n_entries = (uint32_t)(RND() % 5);
		m.entries = RND() % 10 ? e : NULL;
		for (uint32_t k = 0; k < 4; k++) {
			e[k].index = RND() % 4 ? m.prev_index + 1 + k : RND() % 10;
			e[k].term = RND() % 4 ? m.term : RND() % 5;
			e[k].type = (uint8_t)(RND() % 5);
			e[k].len = (uint32_t)(RND() % 4 ? RND() % sizeof(data) : RND());
			e[k].data = RND() % 8 ? data : NULL;
			if (e[k].len > sizeof(data) && e[k].data)
				e[k].len = sizeof(data);
		}
		m.len = (uint32_t)(RND() % sizeof(data));
		m.data = RND() % 8 ? data : NULL;
		mem[0] = member(1 + RND() % 4, true);
		mem[1] = member(RND() % 4, false);
		m.n_members = (uint32_t)(RND() % 3);
		m.members = RND() % 8 ? mem : NULL;
		rc = raft_step(node(to)->r, &m);
		ck_assert(rc == 0 || rc == -EINVAL || rc == -EPERM || rc == -EILSEQ ||
			  rc == -ERANGE);
		if (i % 7 == 0)
			raft_tick(node(to)->r);
		drain(to);
		drop_queue();
	}
	/* forged input may wreck liveness, never the core's own invariants */
	tick_all(60);
	for (uint64_t id = 1; id <= 3; id++) {
		struct raft_status st = status(id);

		ck_assert_uint_le(st.commit, st.last_index);
		ck_assert_uint_le(st.applied, st.commit);
		ck_assert_uint_lt(st.first_index, st.last_index + 2);
	}
	teardown();
}
END_TEST

/* AppendEntries carry at most max_append_entries entries and
 * max_append_bytes bytes, and at most max_inflight of them are unanswered. */
static void count_appends(uint64_t to, size_t *msgs, size_t *entries, size_t *max_n)
{
	*msgs = *entries = *max_n = 0;
	for (size_t i = 0; i < C.nq; i++) {
		const struct raft_msg *m = &C.q[i].m;

		if (m->type != RAFT_MSG_APPEND || m->to != to || !m->n_entries)
			continue;
		(*msgs)++;
		*entries += m->n_entries;
		if (m->n_entries > *max_n)
			*max_n = m->n_entries;
	}
}

START_TEST(test_appends_are_batched_and_pipelined_within_limits)
{
	uint64_t l, f, index, term;
	size_t msgs, entries, max_n;

	cfg_inflight = 3;
	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l == 1 ? 2 : 1;
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(raft_propose(node(l)->r, "12345678", 8, &index, &term), 0);
	drain(l);
	count_appends(f, &msgs, &entries, &max_n);
	ck_assert_uint_eq(msgs, 3);		/* the in-flight window is full */
	ck_assert_uint_eq(entries, 3);
	C.max_append_seen = 0;
	deliver();		/* acks open the window; the backlog goes in batches */
	ck_assert_uint_eq(C.max_append_seen, 2);	/* max_append_entries */
	ck_assert_uint_eq(status(f).last_index, index);
	teardown();

	cfg_bytes = 12;				/* one 8-byte entry per message */
	cfg_inflight = 1;			/* so that a backlog builds up */
	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l == 1 ? 2 : 1;
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(raft_propose(node(l)->r, "12345678", 8, &index, &term), 0);
	C.max_append_seen = 0;
	deliver();
	ck_assert_uint_eq(C.max_append_seen, 1);
	ck_assert_uint_eq(status(f).last_index, index);
	teardown();
}
END_TEST

/* ------------------------------------------------------------ log cases */

/*
 * The paper's Figure 7: the leader of term 8 and six followers (a)-(f)
 * with missing and extraneous entries; after replication every follower's
 * log is the leader's.
 */
START_TEST(test_figure7_follower_logs_converge_to_the_leader)
{
	static const uint64_t ldr[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6 };
	static const uint64_t fa[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6 };
	static const uint64_t fb[] = { 1, 1, 1, 4 };
	static const uint64_t fc[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6 };
	static const uint64_t fd[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7 };
	static const uint64_t fe[] = { 1, 1, 1, 4, 4, 4, 4 };
	static const uint64_t ff[] = { 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3 };
	static const uint64_t *logs[] = { ldr, fa, fb, fc, fd, fe, ff };
	static const size_t lens[] = { 10, 9, 4, 11, 12, 7, 11 };
	uint64_t last;

	memset(&C, 0, sizeof(C));
	C.n = 7;
	for (int i = 0; i < 7; i++)
		restore_node((uint64_t)i + 1, 7, logs[i], lens[i], 7);
	drain_all();
	drop_queue();
	campaign(1);
	ck_assert_uint_eq(leader(), 1);
	ck_assert_uint_eq(status(1).term, 8);
	tick_all(3);
	last = status(1).last_index;
	ck_assert_uint_eq(last, 11);	/* ten entries and the new term's no-op */
	for (uint64_t id = 2; id <= 7; id++) {
		ck_assert_uint_eq(status(id).last_index, last);
		for (uint64_t i = 1; i <= last; i++)
			ck_assert_uint_eq(term_at(id, i), term_at(1, i));
		ck_assert_uint_eq(status(id).commit, last);
	}
	teardown();
}
END_TEST

/*
 * Figure 8: a leader of term 4 must not commit index 2 (term 2) just
 * because a majority stores it; only once an entry of term 4 is stored by
 * a majority are both committed.
 */
START_TEST(test_figure8_old_term_entry_is_not_committed_by_counting)
{
	static const uint64_t s12[] = { 1, 2 }, s34[] = { 1 }, s5[] = { 1, 3 };
	struct raft_msg m;
	struct raft *l;

	memset(&C, 0, sizeof(C));
	C.n = 5;
	restore_node(1, 5, s12, 2, 3);
	restore_node(2, 5, s12, 2, 3);
	restore_node(3, 5, s34, 1, 3);
	restore_node(4, 5, s34, 1, 3);
	restore_node(5, 5, s5, 2, 3);
	drain_all();
	drop_queue();
	isolate(5, true);
	C.mute[1] = true;	/* replication is answered by hand below */
	campaign(1);
	ck_assert_uint_eq(leader(), 1);
	ck_assert_uint_eq(status(1).term, 4);
	ck_assert_uint_eq(status(1).last_index, 3);
	drop_queue();
	l = node(1)->r;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_RESP;
	m.to = 1;
	m.term = 4;
	m.index = 2;		/* 2 and 3 store index 2 (term 2) */
	m.from = 2;
	ck_assert_int_eq(raft_step(l, &m), 0);
	m.from = 3;
	ck_assert_int_eq(raft_step(l, &m), 0);
	drain(1);
	ck_assert_uint_eq(status(1).commit, 1);
	m.index = 3;		/* now the no-op of term 4 */
	m.from = 2;
	ck_assert_int_eq(raft_step(l, &m), 0);
	m.from = 3;
	ck_assert_int_eq(raft_step(l, &m), 0);
	drain(1);
	ck_assert_uint_eq(status(1).commit, 3);
	teardown();
}
END_TEST

/* -------------------------------------------------- pre-vote, check-quorum */

START_TEST(test_prevote_does_not_disturb_a_healthy_leader)
{
	uint64_t l, term, other;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	term = status(l).term;
	other = l == 3 ? 2 : 3;
	isolate(other, true);
	tick_all(60);		/* the isolated one keeps pre-voting */
	ck_assert_uint_eq(status(other).term, term);
	isolate(other, false);
	tick_all(30);
	ck_assert_uint_eq(leader(), l);
	ck_assert_uint_eq(status(l).term, term);
	ck_assert_uint_eq(status(other).leader, l);
	teardown();
}
END_TEST

START_TEST(test_check_quorum_makes_an_isolated_leader_step_down)
{
	uint64_t l;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	ck_assert_uint_ne(l, 0);
	isolate(l, true);
	tick(l, 25);
	ck_assert_int_ne(status(l).role, RAFT_LEADER);
	ck_assert_uint_eq(status(l).leader, 0);
	teardown();
}
END_TEST

START_TEST(test_peer_lost_of_the_leader_starts_a_prevote_at_once)
{
	uint64_t l, f, g, term;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	term = status(l).term;
	f = l % 3 + 1;
	g = f % 3 + 1;
	isolate(l, true);		/* the leader's process died */
	raft_peer_lost(node(f)->r, l);
	raft_peer_lost(node(g)->r, l);
	/* within half an election timeout (5 ticks) and a round trip, not the
	 * 10 to 20 ticks a timeout takes */
	for (int i = 0; i < 7 && status(f).role != RAFT_LEADER &&
	     status(g).role != RAFT_LEADER; i++) {
		tick(f, 1);
		tick(g, 1);
	}
	ck_assert(status(f).role == RAFT_LEADER || status(g).role == RAFT_LEADER);
	ck_assert_uint_eq(status(f).term, term + 1);	/* no split vote */
	teardown();
}
END_TEST

START_TEST(test_peer_lost_does_not_disturb_a_live_leader)
{
	uint64_t l, f, term;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	term = status(l).term;
	f = l % 3 + 1;
	raft_peer_lost(node(f)->r, l);	/* only f's connection broke */
	tick(f, 1);			/* f pre-votes; the others still hear l */
	tick_all(20);
	ck_assert_uint_eq(leader(), l);
	ck_assert_uint_eq(status(l).term, term);
	ck_assert_uint_eq(status(f).leader, l);
	teardown();
}
END_TEST

START_TEST(test_a_follower_back_with_less_than_it_acknowledged_catches_up_after_reconnect)
{
	static const uint64_t terms[1] = { 1 };
	uint64_t l, f;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	for (int i = 0; i < 5; i++)
		propose(l, "x");
	tick_all(5);
	f = l % 3 + 1;
	ck_assert_uint_eq(status(f).last_index, status(l).last_index);
	/* f restarts having lost all but the bootstrap entry (a damaged disk) */
	raft_free(node(f)->r);
	restore_node(f, 3, terms, 1, status(l).term);
	/* the leader learns it reconnected and probes it afresh */
	raft_peer_reconnected(node(l)->r, f);
	propose(l, "y");
	tick_all(20);
	ck_assert_uint_eq(status(f).last_index, status(l).last_index);
	ck_assert_uint_eq(status(f).commit, status(l).commit);
	/* and without being told: its rejection lowers the leader's view */
	raft_free(node(f)->r);
	restore_node(f, 3, terms, 1, status(l).term);
	propose(l, "z");
	tick_all(20);
	ck_assert_uint_eq(status(f).last_index, status(l).last_index);
	teardown();
}
END_TEST

/* ----------------------------------------------------------- transfer */

START_TEST(test_leadership_transfer_hands_over_with_timeout_now)
{
	uint64_t l, to, index, term;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	to = l == 1 ? 2 : 1;
	term = status(l).term;
	isolate(to, true);		/* let the target fall behind first */
	propose(l, "behind");
	ck_assert_int_eq(raft_transfer(node(l)->r, to), 0);
	ck_assert_int_eq(raft_propose(node(l)->r, "x", 1, &index, &term), -EBUSY);
	isolate(to, false);
	tick(l, 2);
	ck_assert_uint_eq(leader(), to);
	ck_assert_uint_gt(status(to).term, term);
	ck_assert_uint_eq(status(to).last_index, status(l).last_index);
	teardown();
}
END_TEST

START_TEST(test_transfer_gives_up_after_an_election_timeout)
{
	uint64_t l, to, index, term;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	to = l == 1 ? 2 : 1;
	isolate(to, true);
	ck_assert_int_eq(raft_transfer(node(l)->r, to), 0);
	ck_assert_uint_eq(status(l).transfer_to, to);
	tick(l, 11);
	ck_assert_uint_eq(status(l).transfer_to, 0);
	ck_assert_int_eq(raft_propose(node(l)->r, "x", 1, &index, &term), 0);
	teardown();
}
END_TEST

/* ------------------------------------------------------------ ReadIndex */

START_TEST(test_read_index_waits_for_a_heartbeat_round)
{
	uint64_t l, f;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l == 1 ? 2 : 1;
	isolate(l, true);
	ck_assert_int_eq(raft_read_index(node(l)->r, 42), 0);
	deliver();
	ck_assert_uint_eq(node(l)->n_reads, 0);	/* no quorum answered */
	isolate(l, false);
	tick(l, 1);
	ck_assert_uint_eq(node(l)->n_reads, 1);
	ck_assert_uint_eq(node(l)->reads_ctx[0], 42);
	ck_assert_uint_eq(node(l)->reads_index[0], status(l).commit);
	/* a follower's read is forwarded to the leader */
	ck_assert_int_eq(raft_read_index(node(f)->r, 43), 0);
	deliver();
	ck_assert_uint_eq(node(f)->n_reads, 1);
	ck_assert_uint_eq(node(f)->reads_ctx[0], 43);
	ck_assert_uint_eq(node(f)->reads_index[0], status(l).commit);
	teardown();
}
END_TEST

START_TEST(test_read_index_after_leader_change_waits_for_a_commit_in_the_new_term)
{
	uint64_t l, nl, index;
	struct raft_msg m;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	index = propose(l, "before");
	tick_all(2);
	nl = l == 1 ? 2 : 1;
	isolate(l, true);
	campaign(nl);
	ck_assert_uint_eq(leader(), nl);
	/* hold back the new leader's appends so its no-op is not committed */
	isolate(nl, true);
	drop_queue();
	ck_assert_int_eq(raft_read_index(node(nl)->r, 7), 0);
	drain(nl);
	drop_queue();
	ck_assert_uint_eq(node(nl)->n_reads, 0);
	/* the old leader, cut off, cannot serve a read either */
	ck_assert_int_eq(raft_read_index(node(l)->r, 8), 0);
	drain(l);
	drop_queue();
	ck_assert_uint_eq(node(l)->n_reads, 0);
	isolate(nl, false);
	memset(&m, 0, sizeof(m));
	tick(nl, 2);
	ck_assert_uint_eq(node(nl)->n_reads, 1);
	ck_assert_uint_eq(node(nl)->reads_ctx[0], 7);
	ck_assert_uint_gt(node(nl)->reads_index[0], index);
	ck_assert_uint_eq(term_at(nl, node(nl)->reads_index[0]), status(nl).term);
	teardown();
}
END_TEST

START_TEST(test_reads_asked_together_share_one_heartbeat_round)
{
	struct raft_ready rd;
	size_t hb = 0;
	uint64_t l;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	drain_all();
	for (uint64_t i = 0; i < 10; i++)
		ck_assert_int_eq(raft_read_index(node(l)->r, 100 + i), 0);
	raft_ready(node(l)->r, &rd);
	for (size_t k = 0; k < rd.n_msgs; k++)
		hb += rd.msgs[k].type == RAFT_MSG_HEARTBEAT;
	/* one round (a heartbeat to each of the two others), not ten */
	ck_assert_uint_eq(hb, 2);
	raft_advance(node(l)->r, &rd);
	teardown();
}
END_TEST

static Suite *raft_suite(void)
{
	Suite *s = suite_create("raft");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bootstrap_writes_a_committed_membership_entry);
	tcase_add_test(tc, test_a_leader_is_elected_and_replicates_a_write);
	tcase_add_test(tc, test_single_voter_leads_only_after_its_vote_is_durable);
	tcase_add_test(tc, test_vote_refused_when_candidate_log_is_behind);
	tcase_add_test(tc, test_vote_granted_once_per_term_and_only_after_persisting);
	tcase_add_test(tc, test_stale_term_append_is_refused_with_the_current_term);
	tcase_add_test(tc, test_malformed_messages_are_refused);
	tcase_add_test(tc, test_random_garbage_messages_never_crash_the_core);
	tcase_add_test(tc, test_follower_applies_only_committed_entries);
	tcase_add_test(tc, test_a_commit_index_rides_on_the_next_append);
	tcase_add_test(tc, test_appends_are_batched_and_pipelined_within_limits);
	tcase_add_test(tc, test_figure7_follower_logs_converge_to_the_leader);
	tcase_add_test(tc, test_figure8_old_term_entry_is_not_committed_by_counting);
	tcase_add_test(tc, test_prevote_does_not_disturb_a_healthy_leader);
	tcase_add_test(tc, test_peer_lost_of_the_leader_starts_a_prevote_at_once);
	tcase_add_test(tc, test_peer_lost_does_not_disturb_a_live_leader);
	tcase_add_test(tc,
	    test_a_follower_back_with_less_than_it_acknowledged_catches_up_after_reconnect);
	tcase_add_test(tc, test_check_quorum_makes_an_isolated_leader_step_down);
	tcase_add_test(tc, test_leadership_transfer_hands_over_with_timeout_now);
	tcase_add_test(tc, test_transfer_gives_up_after_an_election_timeout);
	raft_member_tests(tc);
	raft_role_tests(tc);
	tcase_add_test(tc, test_read_index_waits_for_a_heartbeat_round);
	tcase_add_test(tc, test_reads_asked_together_share_one_heartbeat_round);
	tcase_add_test(tc, test_read_index_after_leader_change_waits_for_a_commit_in_the_new_term);
	raft_snapshot_tests(tc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(raft_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
