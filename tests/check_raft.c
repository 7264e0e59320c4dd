/*
 * check_raft.c — unit tests of the Raft core (daemon/raft.c), one named
 * scenario per rule.
 *
 * A small in-memory harness drives a few cores: it persists every batch at
 * once, queues messages in order and delivers them unless a link is cut.
 * Where a test needs finer control it builds messages by hand and steps them.
 * The randomized, fault-injecting counterpart is tests/raft-sim.c.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raft.h"

#define MAXN	8

struct qmsg {
	struct raft_msg m;
};

struct tnode {
	struct raft *r;
	struct raft_ready last;		/* copy of the scalars of the last batch */
	uint64_t applied;
	uint8_t snap[200];		/* the "state machine" snapshot bytes */
	size_t snap_len;
	uint64_t snap_index;
	uint8_t tmp[400];		/* received chunks */
	size_t tmp_len;
	uint64_t tmp_size; /* the size its sender told with the last chunk */
	uint64_t installed;
	uint64_t reads_ctx[16];
	uint64_t reads_index[16];
	size_t n_reads;
	size_t vote_resp_in_msgs;	/* VOTE_RESP sent before persisting */
	size_t vote_resp_after;
	size_t applied_with_answer;	/* batches that applied before answering */
};

struct cluster {
	int n;
	struct tnode nodes[MAXN];
	bool cut[MAXN + 1][MAXN + 1];	/* by id */
	bool mute[MAXN + 1];		/* drop this node's appends and heartbeats */
	bool drop_chunk;		/* drop the next snapshot chunk at offset > 0 */
	uint32_t max_append_seen;	/* most entries in one delivered append */
	bool hold_commit;		/* deliver() leaves commit notices to the test */
	size_t empty_appends;		/* appends without entries delivered */
	size_t appends_to[MAXN + 1];	/* appends delivered, by id */
	size_t appends_by[MAXN + 1][MAXN + 1]; /* by sender, then id */
	size_t heartbeats_to[MAXN + 1];	/* heartbeats delivered, by id */
	struct qmsg *q;
	size_t nq, capq;
};

static struct cluster C;

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static struct raft_msg copy_msg(const struct raft_msg *m)
{
	struct raft_msg c = *m;

	c.entries = NULL;
	if (m->n_entries) {
		c.entries = xmalloc(m->n_entries * sizeof(*c.entries));
		for (uint32_t i = 0; i < m->n_entries; i++) {
			c.entries[i] = m->entries[i];
			c.entries[i].data = NULL;
			if (m->entries[i].len) {
				c.entries[i].data = xmalloc(m->entries[i].len);
				memcpy(c.entries[i].data, m->entries[i].data, m->entries[i].len);
			}
		}
	}
	c.data = NULL;
	if (m->len) {
		c.data = xmalloc(m->len);
		memcpy(c.data, m->data, m->len);
	}
	c.members = NULL;
	if (m->n_members) {
		c.members = xmalloc(m->n_members * sizeof(*c.members));
		memcpy(c.members, m->members, m->n_members * sizeof(*c.members));
	}
	return c;
}

static void free_msg(struct raft_msg *m)
{
	for (uint32_t i = 0; i < m->n_entries; i++)
		free(m->entries[i].data);
	free(m->entries);
	free(m->data);
	free(m->members);
}

static void enqueue(const struct raft_msg *m)
{
	if (C.nq == C.capq) {
		C.capq = C.capq ? C.capq * 2 : 64;
		C.q = realloc(C.q, C.capq * sizeof(*C.q));
		ck_assert_ptr_nonnull(C.q);
	}
	C.q[C.nq++].m = copy_msg(m);
}

static struct tnode *node(uint64_t id)
{
	ck_assert(id >= 1 && id <= (uint64_t)C.n);
	return &C.nodes[id - 1];
}

/* Handle every batch of node id: persist at once, queue messages. */
static void drain(uint64_t id)
{
	struct tnode *t = node(id);
	struct raft_ready rd;

	while (raft_has_ready(t->r)) {
		struct raft_chunk_read cr[8];
		size_t ncr;

		raft_ready(t->r, &rd);
		t->last = rd;
		for (size_t i = 0; i < rd.n_msgs; i++) {
			t->vote_resp_in_msgs += rd.msgs[i].type == RAFT_MSG_VOTE_RESP;
			enqueue(&rd.msgs[i]);
		}
		for (size_t i = 0; i < rd.n_chunk_writes; i++) {
			const struct raft_chunk_write *w = &rd.chunk_writes[i];

			if (w->offset == 0)
				t->tmp_len = 0;
			ck_assert_uint_eq(w->offset, t->tmp_len);
			ck_assert_uint_le(t->tmp_len + w->len, sizeof(t->tmp));
			memcpy(t->tmp + t->tmp_len, w->data, w->len);
			t->tmp_len += w->len;
			t->tmp_size = w->size;
		}
		if (rd.snapshot) {
			t->installed = rd.snapshot->index;
			t->applied = rd.snapshot->index;
			memcpy(t->snap, t->tmp, t->tmp_len);
			t->snap_len = t->tmp_len;
			t->snap_index = rd.snapshot->index;
		}
		for (size_t i = 0; i < rd.n_msgs_after_persist; i++) {
			t->vote_resp_after += rd.msgs_after_persist[i].type == RAFT_MSG_VOTE_RESP;
			enqueue(&rd.msgs_after_persist[i]);
		}
		if (rd.n_committed && rd.n_entries && rd.n_msgs_after_persist)
			t->applied_with_answer++;
		for (size_t i = 0; i < rd.n_committed; i++) {
			ck_assert_uint_eq(rd.committed[i].index, t->applied + 1);
			t->applied = rd.committed[i].index;
		}
		if (rd.n_committed)
			ck_assert_int_eq(raft_applied(t->r, t->applied), 0);
		for (size_t i = 0; i < rd.n_reads && t->n_reads < 16; i++) {
			t->reads_ctx[t->n_reads] = rd.reads[i].ctx;
			t->reads_index[t->n_reads++] = rd.reads[i].index;
		}
		ncr = rd.n_chunk_reads < 8 ? rd.n_chunk_reads : 8;
		if (ncr)
			memcpy(cr, rd.chunk_reads, ncr * sizeof(*cr));
		if (rd.must_persist)
			raft_persisted(t->r, rd.persist_index, rd.persist_term);
		raft_advance(t->r, &rd);
		for (size_t i = 0; i < ncr; i++) {
			size_t len = t->snap_len - cr[i].offset;

			if (cr[i].snap_index != t->snap_index)
				continue;
			if (len > cr[i].max_len)
				len = cr[i].max_len;
			raft_snapshot_chunk(t->r, cr[i].to, cr[i].snap_index, cr[i].offset,
					    t->snap + cr[i].offset, len,
					    cr[i].offset + len == t->snap_len, t->snap_len);
		}
	}
}

static void drain_all(void)
{
	for (int i = 1; i <= C.n; i++)
		drain((uint64_t)i);
}

/* Deliver queued messages in order until the network is quiet. */
static void deliver(void)
{
	for (int rounds = 0; rounds < 10000; rounds++) {
		struct raft_msg m;
		bool muted;

		drain_all();
		if (!C.nq && !C.hold_commit) {
			/* quiet: the daemon's delayed commit notice goes now */
			for (int i = 1; i <= C.n; i++)
				if (raft_commit_unsent(node((uint64_t)i)->r))
					raft_send_commit(node((uint64_t)i)->r);
			drain_all();
		}
		if (!C.nq)
			return;
		m = C.q[0].m;
		memmove(C.q, C.q + 1, (C.nq - 1) * sizeof(*C.q));
		C.nq--;
		muted = C.mute[m.from] &&
			(m.type == RAFT_MSG_APPEND || m.type == RAFT_MSG_HEARTBEAT);
		if (m.type == RAFT_MSG_APPEND && m.n_entries > C.max_append_seen)
			C.max_append_seen = m.n_entries;
		if (m.type == RAFT_MSG_APPEND && m.n_entries == 0)
			C.empty_appends++;
		if (m.to <= MAXN && m.type == RAFT_MSG_APPEND)
			C.appends_to[m.to]++;
		if (m.to <= MAXN && m.from <= MAXN && m.type == RAFT_MSG_APPEND &&
		    m.n_entries)
			C.appends_by[m.from][m.to]++;
		/* a relay sends only what it knows is committed */
		for (uint32_t k = 0; m.type == RAFT_MSG_APPEND && m.lead && k < m.n_entries; k++)
			ck_assert_uint_le(m.entries[k].index, m.commit);
		if (m.to <= MAXN && m.type == RAFT_MSG_HEARTBEAT)
			C.heartbeats_to[m.to]++;
		if (C.drop_chunk && m.type == RAFT_MSG_SNAPSHOT && m.offset > 0) {
			C.drop_chunk = false;
			muted = true;
		}
		if (!muted && !C.cut[m.from][m.to] && m.to >= 1 && m.to <= (uint64_t)C.n)
			raft_step(node(m.to)->r, &m);
		free_msg(&m);
	}
	ck_abort_msg("the network never went quiet");
}

static void drop_queue(void)
{
	for (size_t i = 0; i < C.nq; i++)
		free_msg(&C.q[i].m);
	C.nq = 0;
}

static void tick(uint64_t id, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		raft_tick(node(id)->r);
		deliver();
	}
}

static void tick_all(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		for (int k = 1; k <= C.n; k++)
			raft_tick(node((uint64_t)k)->r);
		deliver();
	}
}

static void isolate(uint64_t id, bool cut)
{
	for (int k = 0; k <= MAXN; k++) {
		C.cut[id][k] = cut;
		C.cut[k][id] = cut;
	}
}

/* Limits a test may tighten before building its cluster (0: default). */
static unsigned cfg_inflight;
static size_t cfg_bytes;
static unsigned cfg_relay_after;
static unsigned cfg_relay_fanout;

static struct raft_config config(uint64_t id)
{
	struct raft_config cfg = {
		.id = id,
		.seed = id * 7,
		.heartbeat_ticks = 1,
		.election_ticks = 10,
		.max_append_entries = 2,
		.max_append_bytes = cfg_bytes,
		.max_inflight = cfg_inflight,
		.snapshot_chunk = 32,
		.relay_after = cfg_relay_after,
		.relay_fanout = cfg_relay_fanout,
	};

	return cfg;
}

static struct raft_member member(uint64_t id, bool voter)
{
	struct raft_member m;

	memset(&m, 0, sizeof(m));
	m.id = id;
	m.voter = voter;
	m.context_len = 2;
	m.context[0] = 'n';
	m.context[1] = (uint8_t)('0' + id);
	return m;
}

/* n nodes; the first `voters` are the bootstrap membership. */
static void cluster(int n, int voters)
{
	struct raft_member boot[MAXN];
	char err[128];

	memset(&C, 0, sizeof(C));
	C.n = n;
	for (int i = 0; i < voters; i++)
		boot[i] = member((uint64_t)i + 1, true);
	for (int i = 0; i < n; i++) {
		struct raft_config cfg = config((uint64_t)i + 1);
		struct raft_init init = { .bootstrap = boot, .n_bootstrap = (size_t)voters };

		ck_assert_int_eq(raft_new(&cfg, &init, &C.nodes[i].r, err, sizeof(err)), 0);
	}
	drain_all();
	deliver();
}

/*
 * A node restored from a given log (index 1 is the bootstrap entry), having
 * lost what its log held up to catch_up_to (0: nothing lost).
 */
static void restore_node_lost(uint64_t id, int voters, const uint64_t *terms, size_t n,
			      uint64_t term, uint64_t catch_up_to)
{
	struct raft_member boot[MAXN];
	struct raft_entry e[32];
	struct raft_config cfg = config(id);
	struct raft_init init;
	struct raft *tmp;
	struct raft_ready rd;
	char err[128];

	/* borrow the bootstrap entry's bytes from a throwaway core */
	for (int i = 0; i < voters; i++)
		boot[i] = member((uint64_t)i + 1, true);
	memset(&init, 0, sizeof(init));
	init.bootstrap = boot;
	init.n_bootstrap = (size_t)voters;
	ck_assert_int_eq(raft_new(&cfg, &init, &tmp, err, sizeof(err)), 0);
	raft_ready(tmp, &rd);
	ck_assert_uint_eq(rd.n_entries, 1);
	e[0] = rd.entries[0];
	for (size_t i = 1; i < n; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].index = i + 1;
		e[i].term = terms[i];
		e[i].type = RAFT_ENTRY_NORMAL;
		e[i].data = &e[i].index;
		e[i].len = sizeof(e[i].index);
	}
	memset(&init, 0, sizeof(init));
	init.hs.term = term;
	init.hs.commit = 1;
	init.entries = e;
	init.n_entries = n;
	init.catch_up_to = catch_up_to;
	ck_assert_int_eq(raft_new(&cfg, &init, &node(id)->r, err, sizeof(err)), 0);
	node(id)->applied = 0;
	raft_advance(tmp, &rd);
	raft_free(tmp);
}

static void restore_node(uint64_t id, int voters, const uint64_t *terms, size_t n,
			 uint64_t term)
{
	restore_node_lost(id, voters, terms, n, term, 0);
}

static void teardown(void)
{
	cfg_inflight = 0;
	cfg_bytes = 0;
	cfg_relay_after = 0;
	cfg_relay_fanout = 0;
	drop_queue();
	free(C.q);
	for (int i = 0; i < C.n; i++)
		raft_free(C.nodes[i].r);
	memset(&C, 0, sizeof(C));
}

static struct raft_status status(uint64_t id)
{
	struct raft_status st;

	raft_status(node(id)->r, &st);
	return st;
}

/*
 * Make node id campaign now: as if its leader handed over (TimeoutNow, which
 * only the leader of its term may send), or, when it knows no leader, as
 * its election timer runs out (only its clock moves).
 */
static void campaign(uint64_t id)
{
	struct raft_msg m;

	if (status(id).leader) {
		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_TIMEOUT_NOW;
		m.from = status(id).leader;
		m.to = id;
		m.term = status(id).term;
		ck_assert_int_eq(raft_step(node(id)->r, &m), 0);
	} else {
		int i;

		for (i = 0; i < 1000 && status(id).role != RAFT_PRECANDIDATE &&
			    status(id).role != RAFT_CANDIDATE; i++)
			raft_tick(node(id)->r);
		ck_assert_int_lt(i, 1000);
	}
	deliver();
}

static uint64_t leader(void)
{
	uint64_t l = 0;

	for (int i = 1; i <= C.n; i++) {
		if (status((uint64_t)i).role == RAFT_LEADER) {
			ck_assert_msg(!l || status(l).term != status((uint64_t)i).term,
				      "two leaders in one term");
			if (!l || status((uint64_t)i).term > status(l).term)
				l = (uint64_t)i;
		}
	}
	return l;
}

static uint64_t propose(uint64_t id, const char *s)
{
	uint64_t index, term;

	ck_assert_int_eq(raft_propose(node(id)->r, s, strlen(s), &index, &term), 0);
	deliver();
	return index;
}

static uint64_t term_at(uint64_t id, uint64_t index)
{
	uint64_t t = 0;

	if (raft_term_at(node(id)->r, index, &t))
		return 0;
	return t;
}

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

/* ------------------------------------------------------------ ReadIndex */

/* A store that lost its last applies (a commit out of space) gets the
 * committed entries after what it kept handed out again, in order. */
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
	tcase_add_test(tc, test_vote_with_transfer_flag_from_a_non_voter_is_refused);
	tcase_add_test(tc, test_a_transfer_vote_passes_the_lease_only_in_the_next_term);
	tcase_add_test(tc, test_a_term_at_the_top_of_the_range_is_refused);
	tcase_add_test(tc, test_a_node_at_the_largest_term_never_campaigns);
	tcase_add_test(tc, test_timeout_now_counts_only_from_the_leader);
	tcase_add_test(tc, test_leader_traffic_from_a_non_member_is_refused);
	tcase_add_test(tc, test_append_that_conflicts_with_a_committed_entry_is_answered);
	tcase_add_test(tc, test_a_removed_member_learns_its_removal_from_its_own_log);
	tcase_add_test(tc, test_a_member_whose_log_predates_the_leader_follows_it_on_a_voters_word);
	tcase_add_test(tc, test_read_index_waits_for_a_heartbeat_round);
	tcase_add_test(tc, test_reads_asked_together_share_one_heartbeat_round);
	tcase_add_test(tc, test_read_index_after_leader_change_waits_for_a_commit_in_the_new_term);
	tcase_add_test(tc, test_follower_behind_compaction_receives_the_snapshot_in_chunks);
	tcase_add_test(tc, test_snapshot_transfer_starts_over_after_a_lost_chunk);
	tcase_add_test(tc, test_restart_restores_the_log_after_a_snapshot);
	tcase_add_test(tc, test_vote_and_prevote_refused_while_catching_up_to_lost_entries);
	tcase_add_test(tc, test_node_catching_up_to_lost_entries_never_campaigns);
	tcase_add_test(tc,
		       test_node_votes_and_leads_again_once_a_leader_brought_its_log_past_the_lost_index);
	tcase_add_test(tc, test_a_snapshot_past_the_lost_index_ends_catching_up);
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
