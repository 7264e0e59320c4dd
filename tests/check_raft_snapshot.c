/*
 * check_raft_snapshot.c — snapshots (sent in chunks to a follower behind
 * compaction, sent again after a lost chunk, restored on restart) and a
 * node that lost entries it had acknowledged: it neither votes nor
 * campaigns until a leader has brought its log past what it lost.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_raft.h"

/* ------------------------------------------------------------ snapshots */

START_TEST(test_follower_behind_compaction_receives_the_snapshot_in_chunks)
{
	uint64_t l, f, index = 0;
	struct tnode *t;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l == 3 ? 2 : 3;
	isolate(f, true);
	for (int i = 0; i < 10; i++)
		index = propose(l, "payload");
	tick(l, 1);
	t = node(l);
	ck_assert_uint_eq(t->applied, index);
	/* The meta at index, asked before the snapshot is recorded, is the
	 * meta recorded afterwards, and asking records nothing. */
	{
		struct raft_snapshot_meta at, rec;

		ck_assert_int_eq(raft_snapshot_meta_at(t->r, index, &at), 0);
		raft_snapshot_meta(t->r, &rec);
		ck_assert_uint_eq(rec.index, 0);
		ck_assert_int_eq(raft_snapshot_meta_at(t->r, index + 1, &rec), -EINVAL);
		ck_assert_int_eq(raft_snapshot_meta_at(t->r, index, &at), 0);
		ck_assert_int_eq(raft_snapshot_taken(t->r, index), 0);
		raft_snapshot_meta(t->r, &rec);
		ck_assert_uint_eq(rec.index, at.index);
		ck_assert_uint_eq(rec.term, at.term);
		ck_assert_uint_eq(rec.n_members, at.n_members);
		for (uint32_t i = 0; i < rec.n_members; i++)
			ck_assert_uint_eq(rec.members[i].id, at.members[i].id);
		ck_assert_int_eq(raft_snapshot_meta_at(t->r, index, &at), -EINVAL);
	}
	t->snap_len = 100;
	for (size_t i = 0; i < t->snap_len; i++)
		t->snap[i] = (uint8_t)(i * 7);
	t->snap_index = index;
	ck_assert_int_eq(raft_compact(t->r, index - 2), 0);
	ck_assert_uint_eq(status(l).first_index, index - 1);
	isolate(f, false);
	tick_all(30);
	ck_assert_uint_eq(node(f)->installed, index);
	ck_assert_uint_eq(node(f)->tmp_len, 100);
	ck_assert_uint_eq(node(f)->tmp_size, 100); /* told with the chunks */
	ck_assert(memcmp(node(f)->tmp, t->snap, 100) == 0);
	ck_assert_uint_eq(status(f).snapshot_index, index);
	ck_assert_uint_eq(status(f).last_index, status(l).last_index);
	ck_assert_uint_eq(status(f).commit, status(l).commit);
	ck_assert_uint_eq(node(f)->applied, status(f).commit);
	teardown();
}
END_TEST

START_TEST(test_snapshot_transfer_starts_over_after_a_lost_chunk)
{
	uint64_t l, f, index = 0;
	struct raft_progress pr;
	struct tnode *t;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	f = l == 3 ? 2 : 3;
	isolate(f, true);
	for (int i = 0; i < 4; i++)
		index = propose(l, "payload");
	tick(l, 1);
	t = node(l);
	ck_assert_int_eq(raft_snapshot_taken(t->r, index), 0);
	t->snap_len = 100;
	for (size_t i = 0; i < t->snap_len; i++)
		t->snap[i] = (uint8_t)(i * 3 + 1);
	t->snap_index = index;
	ck_assert_int_eq(raft_compact(t->r, index), 0);
	isolate(f, false);
	C.drop_chunk = true;
	tick(l, 2);
	ck_assert_int_eq(raft_progress(t->r, f, &pr), 0);
	ck_assert_int_eq(pr.state, RAFT_PROGRESS_SNAPSHOT);
	ck_assert_uint_eq(pr.snapshot_offset, 32);	/* stuck after the lost chunk */
	ck_assert_uint_eq(node(f)->installed, 0);
	tick_all(15);		/* an election timeout without progress */
	ck_assert_uint_eq(node(f)->installed, index);
	ck_assert(memcmp(node(f)->snap, t->snap, 100) == 0);
	ck_assert_int_eq(raft_progress(t->r, f, &pr), 0);
	ck_assert_int_eq(pr.state, RAFT_PROGRESS_REPLICATE);
	ck_assert_uint_eq(pr.match, status(l).last_index);
	teardown();
}
END_TEST

START_TEST(test_restart_restores_the_log_after_a_snapshot)
{
	struct raft_member m[3] = { member(1, true), member(2, true), member(3, true) };
	struct raft_snapshot_meta meta = { .index = 10, .term = 3, .n_members = 3,
					   .members = m };
	struct raft_entry e[4];
	struct raft_config cfg = config(2);
	struct raft_init init;
	struct raft_status st;
	struct raft *r;
	char err[128];

	for (int i = 0; i < 4; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].index = 9 + (uint64_t)i;	/* 9, 10 (margin), 11, 12 */
		e[i].term = i < 2 ? 3 : 4;
		e[i].type = RAFT_ENTRY_NORMAL;
	}
	memset(&init, 0, sizeof(init));
	init.hs.term = 4;
	init.hs.commit = 11;
	init.snapshot = &meta;
	init.entries = e;
	init.n_entries = 4;
	ck_assert_int_eq(raft_new(&cfg, &init, &r, err, sizeof(err)), 0);
	raft_status(r, &st);
	ck_assert_uint_eq(st.snapshot_index, 10);
	ck_assert_uint_eq(st.last_index, 12);
	ck_assert_uint_eq(st.commit, 11);
	ck_assert_uint_eq(st.applied, 10);
	ck_assert_int_eq(st.role, RAFT_FOLLOWER);
	raft_free(r);
	/* a log that does not reach the snapshot is refused */
	e[0].index = 20;
	for (int i = 1; i < 4; i++)
		e[i].index = 20 + (uint64_t)i;
	ck_assert_int_eq(raft_new(&cfg, &init, &r, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "snapshot") != NULL);
}
END_TEST

/* ------------------------------------------- a node that lost entries */

START_TEST(test_vote_and_prevote_refused_while_catching_up_to_lost_entries)
{
	static const uint64_t longer[] = { 1, 1, 2, 2 }, shorter[] = { 1, 1, 2 };
	struct raft_msg m;

	/* 2 lost entries 4 and 5; 3 has the same log and lost nothing */
	memset(&C, 0, sizeof(C));
	C.n = 3;
	restore_node(1, 3, longer, 4, 2);
	restore_node_lost(2, 3, shorter, 3, 2, 5);
	restore_node(3, 3, shorter, 3, 2);
	drain_all();
	drop_queue();
	ck_assert_uint_eq(status(2).catch_up_to, 5);
	ck_assert_uint_eq(status(3).catch_up_to, 0);
	memset(&m, 0, sizeof(m));
	m.from = 1;
	m.term = 3;
	m.index = 4;		/* more up to date than 2 and 3 */
	m.log_term = 2;
	for (uint64_t to = 2; to <= 3; to++) {
		m.to = to;
		m.type = RAFT_MSG_PREVOTE;
		ck_assert_int_eq(raft_step(node(to)->r, &m), 0);
		drain(to);
		ck_assert_uint_eq(C.nq, 1);
		ck_assert_int_eq(C.q[0].m.type, RAFT_MSG_PREVOTE_RESP);
		ck_assert_msg(C.q[0].m.reject == (to == 2), "pre-vote of node %d", (int)to);
		drop_queue();
		m.type = RAFT_MSG_VOTE;
		ck_assert_int_eq(raft_step(node(to)->r, &m), 0);
		drain(to);
		ck_assert_uint_eq(C.nq, 1);
		ck_assert_int_eq(C.q[0].m.type, RAFT_MSG_VOTE_RESP);
		ck_assert_msg(C.q[0].m.reject == (to == 2), "vote of node %d", (int)to);
		drop_queue();
		ck_assert_uint_eq(status(to).term, 3);
		ck_assert_uint_eq(status(to).vote, to == 2 ? 0 : 1);
	}
	ck_assert_uint_eq(status(2).catch_up_to, 5);
	teardown();
}
END_TEST

START_TEST(test_node_catching_up_to_lost_entries_never_campaigns)
{
	static const uint64_t terms[] = { 1, 1, 2 };
	struct raft_msg m;

	memset(&C, 0, sizeof(C));
	C.n = 3;
	restore_node_lost(1, 3, terms, 3, 2, 7);
	restore_node(2, 3, terms, 3, 2);
	restore_node(3, 3, terms, 3, 2);
	drain_all();
	drop_queue();
	/* many election timeouts without a leader: no (pre-)vote request */
	for (int i = 0; i < 200; i++) {
		raft_tick(node(1)->r);
		drain(1);
		ck_assert_uint_eq(C.nq, 0);
	}
	ck_assert_int_eq(status(1).role, RAFT_FOLLOWER);
	ck_assert_uint_eq(status(1).term, 2);
	/* a leader's TimeoutNow does not make it campaign either (2 leads
	 * term 2 as far as 1 knows: TimeoutNow counts only from it) */
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_HEARTBEAT;
	m.from = 2;
	m.to = 1;
	m.term = 2;
	ck_assert_int_eq(raft_step(node(1)->r, &m), 0);
	drain(1);
	drop_queue();
	ck_assert_uint_eq(status(1).leader, 2);
	m.type = RAFT_MSG_TIMEOUT_NOW;
	ck_assert_int_eq(raft_step(node(1)->r, &m), 0);
	drain(1);
	ck_assert_uint_eq(C.nq, 0);
	ck_assert_int_eq(status(1).role, RAFT_FOLLOWER);
	ck_assert_uint_eq(status(1).term, 2);
	/* nor does losing its connection to the leader */
	raft_peer_lost(node(1)->r, 2);
	raft_tick(node(1)->r);
	drain(1);
	ck_assert_uint_eq(C.nq, 0);
	ck_assert_uint_eq(status(1).catch_up_to, 7);
	teardown();
}
END_TEST

START_TEST(test_node_votes_and_leads_again_once_a_leader_brought_its_log_past_the_lost_index)
{
	static const uint64_t terms[1] = { 1 };
	uint64_t l, f, g, former, term;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	for (int i = 0; i < 5; i++)
		propose(l, "x");
	tick_all(5);
	f = l % 3 + 1;
	g = f % 3 + 1;
	former = status(f).last_index;
	ck_assert_uint_eq(former, status(l).last_index);
	/* f restarts with all but the bootstrap entry lost */
	raft_free(node(f)->r);
	restore_node_lost(f, 3, terms, 1, status(l).term, former);
	ck_assert_uint_eq(status(f).catch_up_to, former);
	/* without the leader, g cannot win: f is the vote it needs */
	isolate(l, true);
	term = status(g).term;
	campaign(g);
	tick_all(100);
	ck_assert_int_ne(status(g).role, RAFT_LEADER);
	ck_assert_int_eq(status(f).role, RAFT_FOLLOWER);
	ck_assert_uint_gt(status(g).term, term);
	ck_assert_uint_eq(status(f).vote, 0);
	ck_assert_uint_eq(status(f).catch_up_to, former);
	/* a leader (l or g: both hold everything) brings f's log past it */
	isolate(l, false);
	tick_all(60);
	l = leader();
	ck_assert(l == 1 || l == 2 || l == 3);
	ck_assert_uint_ne(l, f);
	ck_assert_uint_ge(status(f).last_index, former);
	ck_assert_uint_eq(status(f).catch_up_to, 0);
	/* now f's vote counts again: the third node wins without the leader */
	g = 6 - l - f;
	isolate(l, true);
	campaign(g);
	ck_assert_int_eq(status(g).role, RAFT_LEADER);
	ck_assert_uint_eq(status(f).vote, g);
	isolate(l, false);
	tick_all(5);
	/* and f can lead: a transfer to it completes */
	ck_assert_int_eq(raft_transfer(node(g)->r, f), 0);
	tick_all(5);
	ck_assert_uint_eq(leader(), f);
	teardown();
}
END_TEST

START_TEST(test_a_snapshot_past_the_lost_index_ends_catching_up)
{
	static const uint64_t terms[1] = { 1 };
	uint64_t l, f, index = 0;
	struct tnode *t;

	cluster(3, 3);
	tick_all(40);
	l = leader();
	for (int i = 0; i < 10; i++)
		index = propose(l, "payload");
	tick_all(2);
	f = l % 3 + 1;
	ck_assert_uint_eq(status(f).last_index, index);
	t = node(l);
	ck_assert_int_eq(raft_snapshot_taken(t->r, index), 0);
	t->snap_len = 50;
	memset(t->snap, 7, t->snap_len);
	t->snap_index = index;
	ck_assert_int_eq(raft_compact(t->r, index), 0);
	/* f lost everything after the bootstrap entry; the leader has only
	 * the snapshot at index to give it */
	raft_free(node(f)->r);
	restore_node_lost(f, 3, terms, 1, status(l).term, index);
	ck_assert_uint_eq(status(f).catch_up_to, index);
	raft_peer_reconnected(node(l)->r, f);
	tick_all(30);
	ck_assert_uint_eq(node(f)->installed, index);
	ck_assert_uint_eq(status(f).last_index, index);
	ck_assert_uint_eq(status(f).catch_up_to, 0);
	teardown();
}
END_TEST

void raft_snapshot_tests(TCase *tc)
{
	tcase_add_test(tc, test_follower_behind_compaction_receives_the_snapshot_in_chunks);
	tcase_add_test(tc, test_snapshot_transfer_starts_over_after_a_lost_chunk);
	tcase_add_test(tc, test_restart_restores_the_log_after_a_snapshot);
	tcase_add_test(tc, test_vote_and_prevote_refused_while_catching_up_to_lost_entries);
	tcase_add_test(tc, test_node_catching_up_to_lost_entries_never_campaigns);
	tcase_add_test(tc,
		       test_node_votes_and_leads_again_once_a_leader_brought_its_log_past_the_lost_index);
	tcase_add_test(tc, test_a_snapshot_past_the_lost_index_ends_catching_up);
}
