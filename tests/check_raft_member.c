/*
 * check_raft_member.c — membership changes (learners added, caught up and
 * promoted, changes reverted with their entries, a leader removing itself),
 * --force-new-cluster, the feeding of learners, and the relays: followers
 * that feed learners for the leader, in a tree of two levels at most.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check_raft.h"

/* --------------------------------------------------------- membership */

/* Learners may be added while other learner adds are uncommitted (they
 * change no majority); a change of the voters still waits for all. */
START_TEST(test_learner_adds_do_not_wait)
{
	uint64_t l, index, term, i5;
	size_t n;
	struct raft *r;

	cluster(6, 3); /* 4, 5, 6: spares */
	tick_all(40);
	l = leader();
	r = node(l)->r;
	propose(l, "data");
	deliver();
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2, &index, &term), 0);
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_ADD_LEARNER, 5, "n5", 2, &i5, &term), 0);
	ck_assert_uint_eq(i5, index + 1);
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2, &index, &term),
			 -EEXIST);
	/* the voters change only once the learner adds have committed */
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_REMOVE, 4, NULL, 0, &index, &term), -EBUSY);
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_REMOVE, 3, NULL, 0, &index, &term), -EBUSY);
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_PROMOTE, 4, NULL, 0, &index, &term), -EBUSY);
	deliver();
	tick_all(5);
	ck_assert_int_eq(status(4).role, RAFT_LEARNER);
	ck_assert_int_eq(status(5).role, RAFT_LEARNER);
	ck_assert_uint_ge(status(l).commit, i5);
	/* a change of the voters under way: no learner add either */
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_PROMOTE, 4, NULL, 0, &index, &term), 0);
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_ADD_LEARNER, 6, "n6", 2, &index, &term),
			 -EBUSY);
	deliver();
	tick_all(5);
	ck_assert_int_eq(status(4).role, RAFT_FOLLOWER);
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_ADD_LEARNER, 6, "n6", 2, &index, &term), 0);
	deliver();
	tick_all(5);
	ck_assert_int_eq(status(6).role, RAFT_LEARNER);
	raft_members(node(6)->r, &n);
	ck_assert_uint_eq(n, 6);
	teardown();
}
END_TEST

/*
 * A learner fed under steady writes trails the commit index by a batch:
 * it may be promoted within RAFT_PROMOTE_LAG entries, but only once it
 * holds the latest configuration (a voter whose log does not name it
 * votes for nobody).
 */
START_TEST(test_a_learner_within_the_lag_is_promoted)
{
	uint64_t l, index, term, i5;
	struct raft_progress pr;
	struct raft *r;

	cfg_relay_after = RAFT_NO_RELAYS; /* the leader feeds it */
	cluster(5, 3);			  /* 4, 5: spares */
	tick_all(40);
	l = leader();
	r = node(l)->r;
	propose(l, "data");
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2, &index, &term), 0);
	deliver();
	tick_all(3);
	ck_assert_int_eq(raft_progress(r, 4, &pr), 0);
	ck_assert_uint_eq(pr.match, status(l).commit);
	ck_assert(pr.caught_up);
	/* its answers are lost: its match stays while the voters commit */
	C.cut[4][l] = true;
	for (int i = 0; i < 3; i++)
		propose(l, "w");
	ck_assert_int_eq(raft_progress(r, 4, &pr), 0);
	ck_assert_int_eq(pr.state, RAFT_PROGRESS_REPLICATE);
	ck_assert_uint_eq(pr.match + 3, status(l).commit);
	ck_assert(pr.caught_up);
	/* a later change it has not acknowledged: not caught up */
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_ADD_LEARNER, 5, "n5", 2, &i5, &term), 0);
	deliver();
	ck_assert_uint_ge(status(l).commit, i5);
	ck_assert_int_eq(raft_progress(r, 4, &pr), 0);
	ck_assert_int_eq(pr.state, RAFT_PROGRESS_REPLICATE);
	ck_assert_uint_lt(pr.match, i5);
	ck_assert(!pr.caught_up);
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_PROMOTE, 4, NULL, 0, &index, &term), -EAGAIN);
	/* holding it, but more than RAFT_PROMOTE_LAG behind: not caught up */
	C.cut[4][l] = false;
	tick_all(3);
	C.cut[4][l] = true;
	for (int i = 0; i <= RAFT_PROMOTE_LAG; i++)
		ck_assert_int_eq(raft_propose(r, "w", 1, &index, &term), 0);
	deliver();
	ck_assert_int_eq(raft_progress(r, 4, &pr), 0);
	ck_assert_uint_ge(pr.match, i5);
	ck_assert_uint_gt(status(l).commit - pr.match, RAFT_PROMOTE_LAG);
	ck_assert(!pr.caught_up);
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_PROMOTE, 4, NULL, 0, &index, &term), -EAGAIN);
	/* within the lag again, and promoted while it still trails */
	C.cut[4][l] = false;
	tick_all(3);
	C.cut[4][l] = true;
	propose(l, "w");
	ck_assert_int_eq(raft_progress(r, 4, &pr), 0);
	ck_assert_uint_lt(pr.match, status(l).commit);
	ck_assert(pr.caught_up);
	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_PROMOTE, 4, NULL, 0, &index, &term), 0);
	C.cut[4][l] = false;
	deliver();
	tick_all(3);
	ck_assert_int_eq(status(4).role, RAFT_FOLLOWER);
	ck_assert_int_eq(status(5).role, RAFT_LEARNER);
	teardown();
}
END_TEST

/* Learner adds a leader could not commit are truncated away together. */
START_TEST(test_learner_adds_revert_together)
{
	uint64_t l, l2, index, term;
	size_t n;

	cluster(5, 3);
	tick_all(40);
	l = leader();
	propose(l, "data");
	deliver();
	tick_all(3);
	isolate(l, true);
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2, &index, &term), 0);
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 5, "n5", 2, &index, &term), 0);
	raft_members(node(l)->r, &n);
	ck_assert_uint_eq(n, 5);
	tick_all(60);
	l2 = 0;
	for (uint64_t i = 1; i <= 3; i++)
		if (i != l && status(i).role == RAFT_LEADER)
			l2 = i;
	ck_assert_uint_ne(l2, 0);
	propose(l2, "other");
	deliver();
	isolate(l, false);
	tick_all(20);
	ck_assert_int_eq(status(l).role, RAFT_FOLLOWER);
	raft_members(node(l)->r, &n);
	ck_assert_uint_eq(n, 3); /* both adds gone with the entries */
	ck_assert_uint_eq(status(l).commit, status(l2).commit);
	teardown();
}
END_TEST

START_TEST(test_learner_catches_up_then_is_promoted)
{
	uint64_t l, index, term;
	struct raft_progress pr;
	size_t n;
	const struct raft_member *m;

	cluster(4, 3);		/* node 4 is a spare */
	ck_assert_int_eq(status(4).role, RAFT_SPARE);
	tick_all(40);
	ck_assert_int_eq(status(4).role, RAFT_SPARE);	/* a spare never campaigns */
	ck_assert_uint_eq(status(4).term, 0);
	l = leader();
	for (int i = 0; i < 5; i++)
		propose(l, "data");
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2,
				     &index, &term), 0);
	/* one change at a time */
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_REMOVE, 4, NULL, 0,
				     &index, &term), -EBUSY);
	deliver();
	tick_all(5);
	ck_assert_int_eq(status(4).role, RAFT_LEARNER);
	ck_assert_uint_eq(status(4).commit, status(l).commit);
	ck_assert_int_eq(raft_progress(node(l)->r, 4, &pr), 0);
	ck_assert(!pr.voter);
	ck_assert_uint_eq(pr.match, status(l).last_index);
	/* a learner never campaigns */
	isolate(4, true);
	tick(4, 100);
	ck_assert_int_eq(status(4).role, RAFT_LEARNER);
	ck_assert_uint_eq(status(4).vote, 0);
	isolate(4, false);
	tick_all(3);
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_PROMOTE, 4, NULL, 0,
				     &index, &term), 0);
	deliver();
	tick_all(3);
	ck_assert_int_eq(status(4).role, RAFT_FOLLOWER);
	m = raft_members(node(4)->r, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert(m[3].id == 4 && m[3].voter);
	ck_assert_uint_eq(m[3].context_len, 2);
	ck_assert(memcmp(m[3].context, "n4", 2) == 0);
	teardown();
}
END_TEST

START_TEST(test_membership_change_reverts_when_its_entry_is_truncated)
{
	uint64_t l, f, t, index, term;
	size_t n;

	cluster(5, 5);
	tick_all(40);
	l = leader();
	f = l == 1 ? 2 : 1;
	t = l == 3 ? 4 : 3;
	/* the change reaches only f */
	isolate(l, true);
	C.cut[l][f] = C.cut[f][l] = false;
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 7, NULL, 0,
				     &index, &term), 0);
	deliver();
	raft_members(node(f)->r, &n);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(term_at(f, index), term);
	/* three others elect t, which never saw the change; f rejoins */
	isolate(f, true);
	campaign(t);
	ck_assert_uint_eq(leader(), t);
	propose(t, "overwrite");
	isolate(f, false);
	isolate(l, true);
	tick(t, 3);
	ck_assert_uint_ne(term_at(f, index), term);
	raft_members(node(f)->r, &n);
	ck_assert_uint_eq(n, 5);
	teardown();
}
END_TEST

START_TEST(test_leader_removing_itself_steps_down_once_committed)
{
	uint64_t l, index, term;
	size_t n;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_REMOVE, l, NULL, 0,
				     &index, &term), 0);
	deliver();
	ck_assert_int_eq(status(l).role, RAFT_SPARE);
	raft_members(node(l)->r, &n);
	ck_assert_uint_eq(n, 2);
	tick_all(40);
	ck_assert_uint_ne(leader(), 0);
	ck_assert_uint_ne(leader(), l);
	ck_assert_uint_ge(status(leader()).commit, index);
	teardown();
}
END_TEST

/*
 * --force-new-cluster: a follower cut off from the rest makes itself the
 * only member at a new term, elects itself and commits its whole log; a
 * learner promotes itself; a spare is refused; a node alone already does
 * nothing.
 */
START_TEST(test_force_new_cluster_makes_a_one_node_cluster)
{
	uint64_t l, f, index, term, old_term, last;
	const struct raft_member *m;
	char err[128] = "";
	size_t n, removed;

	cluster(4, 3); /* node 4 is a spare */
	tick_all(40);
	ck_assert_int_eq(raft_force_new_cluster(node(4)->r, &removed, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "this node is not a member in its latest configuration");
	l = leader();
	f = l % 3 + 1;
	propose(l, "a");
	propose(l, "b");
	tick_all(3);
	isolate(f, true);
	propose(l, "c"); /* committed by the other two, never seen by f */
	tick_all(3);
	old_term = status(f).term;
	last = status(f).last_index;
	ck_assert_int_eq(raft_force_new_cluster(node(f)->r, &removed, err, sizeof(err)), 0);
	ck_assert_uint_eq(removed, 2);
	ck_assert_uint_eq(status(f).term, old_term + 1);
	ck_assert_uint_eq(status(f).last_index, last + 2); /* two removals */
	m = raft_members(node(f)->r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert(m[0].id == f && m[0].voter);
	tick(f, 3);
	ck_assert_int_eq(status(f).role, RAFT_LEADER);
	ck_assert_int_eq(raft_propose(node(f)->r, "d", 1, &index, &term), 0);
	tick(f, 1);
	ck_assert_uint_eq(status(f).commit, index);
	ck_assert_uint_eq(term_at(f, last + 1), old_term + 1);
	/* only right after the start, never on a running leader */
	ck_assert_int_eq(raft_force_new_cluster(node(f)->r, &removed, err, sizeof(err)), -EBUSY);
	teardown();
}
END_TEST

/*
 * Issue 17: a learner that keeps up is fed once a tick, however many writes
 * came in between, and hears one heartbeat round in four; the voters get
 * each write as it comes and every round.
 */
START_TEST(test_a_learner_that_keeps_up_is_fed_once_a_tick)
{
	uint64_t l, f, index, term;

	cfg_relay_after = RAFT_NO_RELAYS; /* the leader feeds it (relays: below) */
	cluster(4, 3);		/* node 4 is a spare */
	tick_all(40);
	l = leader();
	f = l % 3 + 1;
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2,
				     &index, &term), 0);
	deliver();
	tick(l, 5);
	ck_assert_int_eq(status(4).role, RAFT_LEARNER);
	ck_assert_uint_eq(status(4).last_index, status(l).last_index);
	memset(C.appends_to, 0, sizeof(C.appends_to));
	for (int i = 0; i < 6; i++)
		propose(l, "data");
	ck_assert_uint_ge(C.appends_to[f], 6);
	ck_assert_uint_eq(C.appends_to[4], 0);
	ck_assert_uint_eq(status(4).last_index + 6, status(l).last_index);
	/* one tick: the six in one go (two entries an append here) */
	tick(l, 1);
	ck_assert_uint_eq(status(4).last_index, status(l).last_index);
	ck_assert_uint_le(C.appends_to[4], 3);
	tick(l, 1);
	ck_assert_uint_eq(status(4).commit, status(l).commit);
	/* heartbeats: every round to the voters, one in four to the learner */
	memset(C.heartbeats_to, 0, sizeof(C.heartbeats_to));
	tick(l, 8);
	ck_assert_uint_eq(C.heartbeats_to[f], 8);
	ck_assert_uint_eq(C.heartbeats_to[4], 2);
}
END_TEST

/* ------------------------------------------------------------------ relays */

static uint64_t relay_of(uint64_t l, uint64_t id)
{
	struct raft_progress pr;

	ck_assert_int_eq(raft_progress(node(l)->r, id, &pr), 0);
	return pr.relay;
}

/* Three voters, learners 4 and 5 added and kept up; the leader. */
static uint64_t with_learners(void)
{
	uint64_t l, index, term;

	cluster(5, 3);
	tick_all(40);
	l = leader();
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2,
				     &index, &term), 0);
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 5, "n5", 2,
				     &index, &term), 0);
	deliver();
	tick_all(12); /* three learner rounds */
	return l;
}

/* The voter that neither leads nor is `not`. */
static uint64_t other_follower(uint64_t l, uint64_t not)
{
	for (uint64_t id = 1; id <= 3; id++)
		if (id != l && id != not)
			return id;
	return 0;
}

/*
 * Issue 17, relays: learners that keep up are handed to the followers, one
 * each; a relay feeds its learner committed entries (deliver() checks that
 * every relayed append holds only those); the leader sends them no entry
 * and counts what they report.
 */
START_TEST(test_followers_relay_learners)
{
	uint64_t l = with_learners(), r4 = relay_of(l, 4), r5 = relay_of(l, 5), commit;
	struct raft_progress pr;

	ck_assert(r4 && r4 != l && r5 && r5 != l && r4 != r5);
	ck_assert_uint_eq(status(4).relay, r4);
	ck_assert_uint_eq(status(5).relay, r5);
	ck_assert_uint_eq(status(r4).relayed, 1);
	ck_assert_uint_eq(status(l).relayed, 0);
	memset(C.appends_by, 0, sizeof(C.appends_by));
	for (int i = 0; i < 6; i++)
		propose(l, "data");
	tick_all(8);
	commit = status(l).commit;
	ck_assert_uint_eq(status(4).commit, commit);
	ck_assert_uint_eq(status(5).commit, commit);
	ck_assert_uint_eq(status(4).last_index, commit);
	ck_assert_uint_eq(C.appends_by[l][4] + C.appends_by[l][5], 0);
	ck_assert_uint_gt(C.appends_by[r4][4], 0);
	ck_assert_uint_gt(C.appends_by[r5][5], 0);
	ck_assert_int_eq(raft_progress(node(l)->r, 4, &pr), 0);
	ck_assert_uint_eq(pr.match, commit);
	teardown();
}
END_TEST

/*
 * A relay holding entries it does not know are committed feeds its learner
 * only up to its commit index (deliver() also checks every relayed append).
 */
START_TEST(test_a_relay_sends_only_committed_entries)
{
	uint64_t l = with_learners(), r4 = relay_of(l, 4);

	C.hold_commit = true; /* the commit index rides on the next append only */
	propose(l, "a");
	propose(l, "b");
	ck_assert_uint_lt(status(r4).commit, status(r4).last_index);
	ck_assert_uint_lt(status(4).last_index, status(r4).commit);
	tick(r4, 1); /* its feed */
	ck_assert_uint_eq(status(4).last_index, status(r4).commit);
	C.hold_commit = false;
	tick_all(8);
	ck_assert_uint_eq(status(4).commit, status(l).commit);
	teardown();
}
END_TEST

/*
 * A relay does not keep what commits for its next tick (a learner of the
 * second level waited two relays' ticks, a third of a second at the
 * defaults): raft_relay_due() says so once its commit index passes what
 * its learners were fed, and raft_relay_flush(), the driver's a moment
 * later, feeds them.  A node that feeds nobody is never due.
 */
START_TEST(test_a_relay_feeds_what_commits_a_moment_later_not_at_its_tick)
{
	uint64_t l = with_learners(), r4 = relay_of(l, 4), commit;

	ck_assert(!raft_relay_due(node(r4)->r));
	propose(l, "a");
	propose(l, "b");
	commit = status(r4).commit;
	ck_assert_uint_eq(commit, status(l).commit);
	ck_assert_uint_lt(status(4).commit, commit); /* no tick: not fed yet */
	ck_assert(raft_relay_due(node(r4)->r));
	ck_assert(!raft_relay_due(node(4)->r)); /* a learner that feeds nobody */
	ck_assert(!raft_relay_due(node(l)->r)); /* the leader feeds at its tick */
	raft_relay_flush(node(r4)->r);
	deliver();
	ck_assert_uint_eq(status(4).last_index, commit);
	ck_assert_uint_eq(status(4).commit, commit);
	ck_assert(!raft_relay_due(node(r4)->r));
	teardown();
}
END_TEST

/*
 * With a fan-out of one, two learners hang from the followers and the two
 * others from those learners: every one gets each commit, the leader sends
 * none of them an entry, and no relay feeds more than one.
 */
START_TEST(test_relays_make_a_tree_of_two_levels)
{
	uint64_t l, index, term, commit;
	int level1 = 0, level2 = 0;

	cfg_relay_fanout = 1;
	cluster(7, 3);
	tick_all(40);
	l = leader();
	for (uint64_t id = 4; id <= 7; id++) {
		char ctx[2] = { 'n', (char)('0' + id) };

		ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, id, ctx, 2,
					     &index, &term), 0);
	}
	deliver();
	tick_all(24);
	for (uint64_t id = 4; id <= 7; id++) {
		uint64_t rl = relay_of(l, id);

		ck_assert_uint_ne(rl, 0);
		ck_assert_uint_ne(rl, l);
		ck_assert_uint_eq(status(id).relay, rl);
		if (rl <= 3) {
			level1++;
		} else {
			level2++;
			ck_assert_uint_le(relay_of(l, rl), 3); /* its relay hangs from a follower */
		}
	}
	ck_assert_int_eq(level1, 2);
	ck_assert_int_eq(level2, 2);
	for (uint64_t id = 1; id <= 7; id++)
		ck_assert_uint_le(status(id).relayed, 1);
	memset(C.appends_by, 0, sizeof(C.appends_by));
	for (int i = 0; i < 5; i++)
		propose(l, "data");
	tick_all(12);
	commit = status(l).commit;
	for (uint64_t id = 4; id <= 7; id++) {
		ck_assert_uint_eq(status(id).commit, commit);
		ck_assert_uint_eq(C.appends_by[l][id], 0);
	}
	teardown();
}
END_TEST

/* A relay the leader no longer hears loses its learner, which the leader
 * feeds until it hands it to the other follower. */
START_TEST(test_a_learner_whose_relay_is_cut_off_gets_another)
{
	uint64_t l = with_learners(), r4 = relay_of(l, 4), other = other_follower(l, r4);

	isolate(r4, true);
	for (int i = 0; i < 6; i++) {
		propose(l, "data");
		tick_all(4);
	}
	tick_all(30);
	ck_assert_uint_eq(leader(), l);
	ck_assert_uint_eq(status(4).commit, status(l).commit);
	ck_assert_uint_eq(relay_of(l, 4), other);
	ck_assert_uint_eq(status(4).relay, other);
	isolate(r4, false);
	teardown();
}
END_TEST

/* A follower back from a cut gets learners again: relays even out. */
START_TEST(test_relays_even_out)
{
	uint64_t l = with_learners(), f = relay_of(l, 4), other = other_follower(l, f);

	isolate(f, true);
	propose(l, "a");
	tick_all(40);
	ck_assert_uint_eq(relay_of(l, 4), other);
	ck_assert_uint_eq(relay_of(l, 5), other);
	isolate(f, false);
	propose(l, "b");
	tick_all(40);
	ck_assert_uint_eq(leader(), l);
	ck_assert_uint_ne(relay_of(l, 4), relay_of(l, 5));
	ck_assert_uint_eq(status(f).relayed, 1);
	ck_assert_uint_eq(status(other).relayed, 1);
	ck_assert_uint_eq(status(4).commit, status(l).commit);
	ck_assert_uint_eq(status(5).commit, status(l).commit);
	teardown();
}
END_TEST

/*
 * A relay the leader hears but the learner does not: the learner reports no
 * progress, the leader takes it back after RELAY_STUCK_ROUNDS rounds and
 * hands it to the other follower, not to the one that failed it.
 */
START_TEST(test_a_learner_its_relay_does_not_feed_gets_another)
{
	uint64_t l = with_learners(), r4 = relay_of(l, 4), other = other_follower(l, r4);

	C.cut[r4][4] = C.cut[4][r4] = true;
	for (int i = 0; i < 10; i++) {
		propose(l, "data");
		tick_all(4);
	}
	tick_all(12);
	ck_assert_uint_eq(status(4).commit, status(l).commit);
	ck_assert_uint_eq(relay_of(l, 4), other);
	ck_assert_uint_eq(status(4).relay, other);
	teardown();
}
END_TEST

/* A relayed learner is promoted on what it reported, then fed and counted
 * by the leader as any voter; its old relay is told to stop. */
START_TEST(test_a_relayed_learner_is_promoted)
{
	uint64_t l = with_learners(), r4 = relay_of(l, 4), index, term;
	struct raft_progress pr;

	ck_assert_uint_ne(r4, 0);
	propose(l, "a");
	tick_all(8);
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_PROMOTE, 4, NULL, 0, &index, &term),
			 0);
	deliver();
	tick_all(8);
	ck_assert_int_eq(status(4).role, RAFT_FOLLOWER);
	ck_assert_uint_eq(relay_of(l, 4), 0);
	ck_assert_uint_eq(status(4).relay, 0);
	ck_assert_uint_eq(status(r4).relayed, 0);
	index = propose(l, "b");
	ck_assert_int_eq(raft_progress(node(l)->r, 4, &pr), 0);
	ck_assert_uint_eq(pr.match, index);
	ck_assert_uint_eq(status(l).commit, index);
	teardown();
}
END_TEST

/* A new leader feeds every learner itself until it hands them out again. */
START_TEST(test_relays_last_a_term)
{
	uint64_t l = with_learners(), r4 = relay_of(l, 4), nl;

	campaign(r4); /* r4 takes over */
	tick_all(2);
	nl = leader();
	ck_assert_uint_eq(nl, r4);
	ck_assert_uint_eq(status(nl).relayed, 0);
	ck_assert_uint_ne(status(4).relay, nl); /* it is not fed by its old relay */
	propose(nl, "x");
	tick_all(12);
	ck_assert_uint_ne(relay_of(nl, 4), 0);
	ck_assert_uint_ne(relay_of(nl, 4), nl);
	ck_assert_uint_eq(status(4).relay, relay_of(nl, 4));
	ck_assert_uint_eq(status(4).term, status(nl).term);
	ck_assert_uint_eq(status(4).commit, status(nl).commit);
	ck_assert_uint_eq(status(5).commit, status(nl).commit);
	teardown();
}
END_TEST

START_TEST(test_force_new_cluster_promotes_a_learner)
{
	uint64_t l, index, term;
	const struct raft_member *m;
	char err[128] = "";
	size_t n, removed;

	cluster(4, 3);
	tick_all(40);
	l = leader();
	ck_assert_int_eq(raft_change(node(l)->r, RAFT_CHANGE_ADD_LEARNER, 4, "n4", 2, &index, &term),
	    0);
	deliver();
	tick_all(5);
	ck_assert_int_eq(status(4).role, RAFT_LEARNER);
	isolate(4, true);
	ck_assert_int_eq(raft_force_new_cluster(node(4)->r, &removed, err, sizeof(err)), 0);
	ck_assert_uint_eq(removed, 3);
	m = raft_members(node(4)->r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert(m[0].id == 4 && m[0].voter);
	tick(4, 3);
	ck_assert_int_eq(status(4).role, RAFT_LEADER);
	ck_assert_uint_eq(status(4).commit, status(4).last_index);
	ck_assert_int_eq(raft_force_new_cluster(node(4)->r, &removed, err, sizeof(err)), -EBUSY);
	teardown();
}
END_TEST

/* A store that lost its last applies (a commit out of space) gets the
 * committed entries after what it kept handed out again, in order. */
START_TEST(test_reapply_hands_the_committed_entries_out_again)
{
	uint64_t l, f, last, seen = 0;
	struct raft_ready rd;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l == 1 ? 2 : 1;
	for (int i = 0; i < 5; i++)
		last = propose(l, "x");
	tick_all(2);
	ck_assert_uint_eq(node(f)->applied, last);
	ck_assert_int_eq(raft_reapply(node(f)->r, last + 1), -EINVAL); /* not handed out */
	ck_assert_int_eq(raft_reapply(node(f)->r, last - 3), 0);
	ck_assert(raft_has_ready(node(f)->r));
	raft_ready(node(f)->r, &rd);
	ck_assert_int_eq(raft_reapply(node(f)->r, last - 3), -EBUSY); /* inside a batch */
	ck_assert_uint_eq(rd.n_committed, 3);
	for (size_t i = 0; i < rd.n_committed; i++, seen++)
		ck_assert_uint_eq(rd.committed[i].index, last - 2 + i);
	ck_assert_int_eq(raft_applied(node(f)->r, last), 0);
	raft_advance(node(f)->r, &rd);
	ck_assert_uint_eq(seen, 3);
	ck_assert_uint_eq(status(f).applied, last);
	teardown();
}
END_TEST

void raft_member_tests(TCase *tc)
{
	tcase_add_test(tc, test_learner_catches_up_then_is_promoted);
	tcase_add_test(tc, test_learner_adds_do_not_wait);
	tcase_add_test(tc, test_a_learner_within_the_lag_is_promoted);
	tcase_add_test(tc, test_learner_adds_revert_together);
	tcase_add_test(tc, test_membership_change_reverts_when_its_entry_is_truncated);
	tcase_add_test(tc, test_leader_removing_itself_steps_down_once_committed);
	tcase_add_test(tc, test_reapply_hands_the_committed_entries_out_again);
	tcase_add_test(tc, test_force_new_cluster_makes_a_one_node_cluster);
	tcase_add_test(tc, test_force_new_cluster_promotes_a_learner);
	tcase_add_test(tc, test_a_learner_that_keeps_up_is_fed_once_a_tick);
	tcase_add_test(tc, test_followers_relay_learners);
	tcase_add_test(tc, test_a_relay_sends_only_committed_entries);
	tcase_add_test(tc, test_a_relay_feeds_what_commits_a_moment_later_not_at_its_tick);
	tcase_add_test(tc, test_relays_even_out);
	tcase_add_test(tc, test_relays_make_a_tree_of_two_levels);
	tcase_add_test(tc, test_a_learner_whose_relay_is_cut_off_gets_another);
	tcase_add_test(tc, test_a_learner_its_relay_does_not_feed_gets_another);
	tcase_add_test(tc, test_a_relayed_learner_is_promoted);
	tcase_add_test(tc, test_relays_last_a_term);
}
