/*
 * check_raft_harness.c — the in-memory cluster the tests of check_raft
 * drive: every batch a core hands out is persisted at once, its messages
 * are queued in order and delivered unless their link is cut, and a test
 * ticks, isolates, restores and questions the nodes by id.  Kept apart from
 * the tests so that each file of them reads as scenarios only.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_raft.h"

struct cluster C;

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

struct tnode *node(uint64_t id)
{
	ck_assert(id >= 1 && id <= (uint64_t)C.n);
	return &C.nodes[id - 1];
}

/* Handle every batch of node id: persist at once, queue messages. */
void drain(uint64_t id)
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

void drain_all(void)
{
	for (int i = 1; i <= C.n; i++)
		drain((uint64_t)i);
}

/* Deliver queued messages in order until the network is quiet. */
void deliver(void)
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

void drop_queue(void)
{
	for (size_t i = 0; i < C.nq; i++)
		free_msg(&C.q[i].m);
	C.nq = 0;
}

void tick(uint64_t id, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		raft_tick(node(id)->r);
		deliver();
	}
}

void tick_all(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		for (int k = 1; k <= C.n; k++)
			raft_tick(node((uint64_t)k)->r);
		deliver();
	}
}

void isolate(uint64_t id, bool cut)
{
	for (int k = 0; k <= MAXN; k++) {
		C.cut[id][k] = cut;
		C.cut[k][id] = cut;
	}
}

/* Limits a test may tighten before building its cluster (0: default). */
unsigned cfg_inflight;
size_t cfg_bytes;
unsigned cfg_relay_after;
unsigned cfg_relay_fanout;

struct raft_config config(uint64_t id)
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

struct raft_member member(uint64_t id, bool voter)
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
void cluster(int n, int voters)
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
void restore_node_lost(uint64_t id, int voters, const uint64_t *terms, size_t n,
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

void restore_node(uint64_t id, int voters, const uint64_t *terms, size_t n,
		  uint64_t term)
{
	restore_node_lost(id, voters, terms, n, term, 0);
}

void teardown(void)
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

struct raft_status status(uint64_t id)
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
void campaign(uint64_t id)
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

uint64_t leader(void)
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

uint64_t propose(uint64_t id, const char *s)
{
	uint64_t index, term;

	ck_assert_int_eq(raft_propose(node(id)->r, s, strlen(s), &index, &term), 0);
	deliver();
	return index;
}

uint64_t term_at(uint64_t id, uint64_t index)
{
	uint64_t t = 0;

	if (raft_term_at(node(id)->r, index, &t))
		return 0;
	return t;
}
