/*
 * check_raft_roles.c — who may say what: messages a node refuses for the
 * role or the membership of their sender (a vote with the transfer flag
 * from a non-voter, TimeoutNow from another than the leader, a leader's
 * traffic from a non-member), terms at the top of the range, an append that
 * conflicts with a committed entry, and members whose log is behind on
 * their own membership.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check_raft.h"

/* ------------------------------------------- who may say what: roles */

static struct raft_msg msg(uint8_t type, uint64_t from, uint64_t to, uint64_t term)
{
	struct raft_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = from;
	m.to = to;
	m.term = term;
	return m;
}

START_TEST(test_vote_with_transfer_flag_from_a_non_voter_is_refused)
{
	uint64_t l, f, term, index;
	struct raft_msg m;

	cluster(4, 3);		/* node 4 is a spare */
	tick_all(40);
	l = leader();
	f = l % 3 + 1;
	term = status(f).term;
	/* a stranger's transfer vote, the term right after: refused */
	m = msg(RAFT_MSG_VOTE, 9, f, term + 1);
	m.transfer = true;
	m.index = status(f).last_index;
	m.log_term = term;
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EPERM);
	drain(f);
	ck_assert_uint_eq(C.nq, 0);
	/* a learner's: refused too */
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2,
				     &index, NULL), 0);
	deliver();
	tick_all(5);
	ck_assert_int_eq(status(4).role, RAFT_LEARNER);
	m.from = 4;
	m.index = status(f).last_index;
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EPERM);
	m.type = RAFT_MSG_PREVOTE;
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EPERM);
	deliver();
	ck_assert_uint_eq(status(f).term, term);
	ck_assert_uint_eq(leader(), l);
	teardown();
}
END_TEST

START_TEST(test_a_transfer_vote_passes_the_lease_only_in_the_next_term)
{
	uint64_t l, f, g, term;
	struct raft_msg m;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l % 3 + 1;
	g = f % 3 + 1;
	term = status(f).term;
	/* a voter's transfer vote five terms ahead: the lease holds */
	m = msg(RAFT_MSG_VOTE, g, f, term + 5);
	m.transfer = true;
	m.index = status(f).last_index;
	m.log_term = term;
	ck_assert_int_eq(raft_step(node(f)->r, &m), 0);
	drain(f);
	ck_assert_uint_eq(C.nq, 0);
	ck_assert_uint_eq(status(f).term, term);
	ck_assert_uint_eq(status(f).leader, l);
	teardown();
}
END_TEST

START_TEST(test_a_term_at_the_top_of_the_range_is_refused)
{
	uint64_t l, f, g, term;
	struct raft_msg m;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l % 3 + 1;
	g = f % 3 + 1;
	term = status(f).term;
	m = msg(RAFT_MSG_VOTE, g, f, UINT64_MAX);
	m.transfer = true;
	m.index = status(f).last_index;
	m.log_term = term;
	ck_assert_int_eq(raft_step(node(f)->r, &m), -ERANGE);
	m = msg(RAFT_MSG_HEARTBEAT, l, f, RAFT_MAX_TERM + 1);
	ck_assert_int_eq(raft_step(node(f)->r, &m), -ERANGE);
	ck_assert_uint_eq(status(f).term, term);
	tick_all(30);
	ck_assert_uint_eq(leader(), l);
	ck_assert_uint_eq(status(f).term, term);
	teardown();
}
END_TEST

START_TEST(test_a_node_at_the_largest_term_never_campaigns)
{
	static const uint64_t terms[] = { 1, 1 };

	memset(&C, 0, sizeof(C));
	C.n = 3;
	for (uint64_t id = 1; id <= 3; id++)
		restore_node(id, 3, terms, 2, RAFT_MAX_TERM);
	drain_all();
	drop_queue();
	for (int i = 0; i < 200; i++) {
		raft_tick(node(1)->r);
		drain(1);
		ck_assert_uint_eq(C.nq, 0);	/* no pre-vote for a wrapped term */
	}
	ck_assert_uint_eq(status(1).term, RAFT_MAX_TERM);
	teardown();
}
END_TEST

START_TEST(test_timeout_now_counts_only_from_the_leader)
{
	uint64_t l, f, g, term;
	struct raft_msg m;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l % 3 + 1;
	g = f % 3 + 1;
	term = status(f).term;
	m = msg(RAFT_MSG_TIMEOUT_NOW, g, f, term);
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EPERM);
	m = msg(RAFT_MSG_TIMEOUT_NOW, 9, f, term);
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EPERM);
	m = msg(RAFT_MSG_TIMEOUT_NOW, l, f, term + 1);	/* not the leader of term + 1 */
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EPERM);
	deliver();
	ck_assert_uint_eq(status(f).term, term);
	ck_assert_uint_eq(leader(), l);
	/* the leader's own: f campaigns and wins */
	m = msg(RAFT_MSG_TIMEOUT_NOW, l, f, term);
	ck_assert_int_eq(raft_step(node(f)->r, &m), 0);
	deliver();
	ck_assert_uint_eq(leader(), f);
	teardown();
}
END_TEST

START_TEST(test_leader_traffic_from_a_non_member_is_refused)
{
	uint64_t l, f, term, last;
	struct raft_entry e;
	struct raft_msg m;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l % 3 + 1;
	term = status(f).term;
	last = status(f).last_index;
	memset(&e, 0, sizeof(e));
	e.term = term + 1;
	e.index = last + 1;
	e.type = RAFT_ENTRY_NORMAL;
	e.data = "forged";
	e.len = 6;
	m = msg(RAFT_MSG_APPEND, 9, f, term + 1);
	m.prev_index = last;
	m.prev_term = status(f).last_term;
	m.n_entries = 1;
	m.entries = &e;
	m.commit = last + 1;
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EPERM);
	m = msg(RAFT_MSG_HEARTBEAT, 9, f, term + 5);
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EPERM);
	m = msg(RAFT_MSG_SNAPSHOT, 9, f, term + 1);
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EINVAL);	/* no members: malformed */
	m = msg(RAFT_MSG_READ_INDEX, 9, l, term);
	ck_assert_int_eq(raft_step(node(l)->r, &m), -EPERM);
	drain(f);
	drain(l);
	ck_assert_uint_eq(C.nq, 0);
	ck_assert_uint_eq(status(f).term, term);
	ck_assert_uint_eq(status(f).last_index, last);
	ck_assert_uint_eq(status(f).leader, l);
	teardown();
}
END_TEST

START_TEST(test_append_that_conflicts_with_a_committed_entry_is_answered)
{
	uint64_t l, f, term, t2;
	struct raft_entry e;
	struct raft_msg m;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l % 3 + 1;
	propose(l, "x");
	tick_all(2);
	term = status(f).term;
	t2 = term_at(f, 2);
	ck_assert_uint_ge(status(f).commit, 3);
	ck_assert_uint_gt(t2, 1);
	memset(&e, 0, sizeof(e));
	e.term = 1;		/* index 2 holds the leader's no-op of a later term */
	e.index = 2;
	e.type = RAFT_ENTRY_NORMAL;
	e.data = "y";
	e.len = 1;
	m = msg(RAFT_MSG_APPEND, l, f, term);
	m.prev_index = 1;
	m.prev_term = 1;
	m.n_entries = 1;
	m.entries = &e;
	ck_assert_int_eq(raft_step(node(f)->r, &m), -EILSEQ);
	ck_assert_str_eq(raft_step_why(node(f)->r),
			 "AppendEntries that conflicts with a committed entry");
	drain(f);
	ck_assert_uint_eq(C.nq, 1);		/* answered, not dropped in silence */
	ck_assert_int_eq(C.q[0].m.type, RAFT_MSG_APPEND_RESP);
	ck_assert(C.q[0].m.reject);
	ck_assert_uint_eq(C.q[0].m.to, l);
	ck_assert_uint_eq(term_at(f, 2), t2);
	drop_queue();
	teardown();
}
END_TEST

START_TEST(test_a_removed_member_learns_its_removal_from_its_own_log)
{
	uint64_t l, f, index, term;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l % 3 + 1;
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_REMOVE, f, NULL, 0, &index, &term),
			 0);
	deliver();
	tick_all(3);
	/* the leader sent it the log up to the entry that removes it */
	ck_assert_uint_ge(status(f).last_index, index);
	ck_assert_int_eq(status(f).role, RAFT_SPARE);
	term = status(f).term;
	tick_all(100);		/* and it never campaigns */
	ck_assert_int_eq(status(f).role, RAFT_SPARE);
	ck_assert_uint_eq(status(f).term, term);
	ck_assert_uint_eq(leader(), l);
	teardown();
}
END_TEST

START_TEST(test_a_member_whose_log_predates_the_leader_follows_it_on_a_voters_word)
{
	uint64_t l, lag, index;

	cluster(4, 3);		/* node 4 is a spare */
	tick_all(40);
	l = leader();
	lag = l % 3 + 1;
	isolate(lag, true);
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2,
				     &index, NULL), 0);
	deliver();
	tick_all(5);
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_PROMOTE, 4, NULL, 0, &index, NULL),
			 0);
	deliver();
	tick_all(5);
	ck_assert_int_eq(raft_transfer(node(l)->r, 4), 0);
	deliver();
	tick_all(5);
	ck_assert_uint_eq(leader(), 4);
	propose(4, "after");
	/* lag's log ends before 4 joined: 4 is no member it knows */
	isolate(lag, false);
	tick_all(100);
	ck_assert_uint_eq(status(lag).leader, 4);
	ck_assert_uint_eq(status(lag).last_index, status(4).last_index);
	ck_assert_int_eq(status(lag).role, RAFT_FOLLOWER);
	teardown();
}
END_TEST

void raft_role_tests(TCase *tc)
{
	tcase_add_test(tc, test_vote_with_transfer_flag_from_a_non_voter_is_refused);
	tcase_add_test(tc, test_a_transfer_vote_passes_the_lease_only_in_the_next_term);
	tcase_add_test(tc, test_a_term_at_the_top_of_the_range_is_refused);
	tcase_add_test(tc, test_a_node_at_the_largest_term_never_campaigns);
	tcase_add_test(tc, test_timeout_now_counts_only_from_the_leader);
	tcase_add_test(tc, test_leader_traffic_from_a_non_member_is_refused);
	tcase_add_test(tc, test_append_that_conflicts_with_a_committed_entry_is_answered);
	tcase_add_test(tc, test_a_removed_member_learns_its_removal_from_its_own_log);
	tcase_add_test(tc, test_a_member_whose_log_predates_the_leader_follows_it_on_a_voters_word);
}
