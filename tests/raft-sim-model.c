/*
 * raft-sim-model.c — the world of the Raft simulator, as models: a seeded
 * PRNG, a network that drops, duplicates and delays, persistence that
 * becomes durable a batch at a time (a crash loses what is in flight), the
 * nodes' state machine and snapshots, and crash, restart and rejoining as
 * a spare.  Where it applies entries and serves reads it also checks log
 * matching, state-machine safety and the reads; the steps that drive it
 * are in raft-sim.c.
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

#define MAX_SLOTS	9

/* ------------------------------------------------------------------ PRNG */

static uint64_t rs[4];

uint64_t rnd(void)
{
	uint64_t r = ((rs[1] * 5) << 7 | (rs[1] * 5) >> 57) * 9, t = rs[1] << 17;

	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = (rs[3] << 45) | (rs[3] >> 19);
	return r;
}

void rnd_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		rs[i] = z ^ (z >> 31);
	}
}

/* uniform in [0, n) */
unsigned below(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

/* true with probability p per mille */
bool chance(unsigned permille)
{
	return below(1000) < permille;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ------------------------------------------------------------- the world */

struct world W;

void trace(const char *fmt, ...)
{
	va_list ap;

	if (!W.verbose)
		return;
	printf("%5" PRIu64 " ", W.now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void fail(const char *fmt, ...)
{
	va_list ap;

	if (W.failed)
		return;
	W.failed = true;
	printf("seed %" PRIu64 ": FAIL at tick %" PRIu64 ": ", W.seed, W.now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "raft-sim: out of memory\n");
		exit(2);
	}
	return p;
}

void *xdup(const void *p, size_t n)
{
	void *q;

	if (!n)
		return NULL;
	q = xrealloc(NULL, n);
	memcpy(q, p, n);
	return q;
}

int slot_of(uint64_t id)
{
	for (int i = 0; i < W.n_slots; i++) {
		if (W.nodes[i].used && W.nodes[i].id == id)
			return i;
	}
	return -1;
}

/* ------------------------------------------------------- message copying */

static struct raft_entry entry_copy(const struct raft_entry *e)
{
	struct raft_entry c = *e;

	c.data = xdup(e->data, e->len);
	return c;
}

static struct raft_msg msg_copy(const struct raft_msg *m)
{
	struct raft_msg c = *m;

	if (m->n_entries) {
		c.entries = xrealloc(NULL, m->n_entries * sizeof(*c.entries));
		for (uint32_t i = 0; i < m->n_entries; i++)
			c.entries[i] = entry_copy(&m->entries[i]);
	} else {
		c.entries = NULL;
	}
	c.data = xdup(m->data, m->len);
	c.members = xdup(m->members, m->n_members * sizeof(*m->members));
	return c;
}

void msg_free(struct raft_msg *m)
{
	for (uint32_t i = 0; i < m->n_entries; i++)
		free(m->entries[i].data);
	free(m->entries);
	free(m->data);
	free(m->members);
}

/* --------------------------------------------------------------- network */

static void net_send(int from, const struct raft_msg *m)
{
	int to = slot_of(m->to);
	unsigned copies = 1;

	if (to < 0)
		return;
	if (W.cut[from][to]) {
		trace("drop %" PRIu64 "->%" PRIu64 " %s (partition)", m->from, m->to,
		      raft_msg_type_name(m->type));
		return;
	}
	if (W.faults && chance(W.drop)) {
		trace("drop %" PRIu64 "->%" PRIu64 " %s", m->from, m->to,
		      raft_msg_type_name(m->type));
		return;
	}
	if (W.faults && chance(W.dup)) {
		copies = 2;
		trace("dup %" PRIu64 "->%" PRIu64 " %s", m->from, m->to,
		      raft_msg_type_name(m->type));
	}
	for (unsigned k = 0; k < copies; k++) {
		struct inflight *f;

		GROW(W.net, W.cap_net, W.n_net + 1);
		f = &W.net[W.n_net++];
		f->due = W.now + 1 + below(W.max_delay);
		f->to = to;
		f->m = msg_copy(m);
	}
}

/* ------------------------------------------------------------- the model */

#define SNAP_MAGIC	0x736e6170ULL

/* A snapshot of the state machine: its index, term and hash, padded with
 * bytes derived from them so that it spans several chunks. */
uint8_t *snap_serialize(uint64_t index, uint64_t term, uint64_t hash, size_t *len)
{
	size_t pad = 16 + (size_t)(hash % 200), n = 32 + pad;
	uint8_t *p = xrealloc(NULL, n);

	put64(p, SNAP_MAGIC);
	put64(p + 8, index);
	put64(p + 16, term);
	put64(p + 24, hash);
	for (size_t i = 0; i < pad; i++)
		p[32 + i] = (uint8_t)((hash >> (8 * (i % 8))) ^ i);
	*len = n;
	return p;
}

static bool snap_parse(const uint8_t *p, size_t n, uint64_t *index, uint64_t *term,
		       uint64_t *hash)
{
	size_t pad;

	if (n < 32 || get64(p) != SNAP_MAGIC)
		return false;
	*index = get64(p + 8);
	*term = get64(p + 16);
	*hash = get64(p + 24);
	pad = 16 + (size_t)(*hash % 200);
	if (n != 32 + pad)
		return false;
	for (size_t i = 0; i < pad; i++) {
		if (p[32 + i] != (uint8_t)((*hash >> (8 * (i % 8))) ^ i))
			return false;
	}
	return true;
}

static uint64_t entry_hash(const struct raft_entry *e)
{
	uint64_t h = fnv(0xcbf29ce484222325ULL, &e->type, 1);

	return fnv(h, e->data, e->len);
}

static uint64_t chain(uint64_t h, const struct raft_entry *e)
{
	return mix(h ^ mix(e->index * 31 + e->term) ^ entry_hash(e));
}

struct gent *gslot(struct gent **g, uint64_t index)
{
	if (index >= W.cap_g) {
		size_t old = W.cap_g, nc = old ? old : 1024;

		while (nc <= index)
			nc *= 2;
		W.gcommit = xrealloc(W.gcommit, nc * sizeof(struct gent));
		W.gapplied = xrealloc(W.gapplied, nc * sizeof(struct gent));
		memset(W.gcommit + old, 0, (nc - old) * sizeof(struct gent));
		memset(W.gapplied + old, 0, (nc - old) * sizeof(struct gent));
		W.cap_g = nc;
	}
	return &(*g)[index];
}

/* Log Matching (§5.3): one (index, term) names one entry with one
 * predecessor term; by induction, identical prefixes. */
static void check_log_matching(const struct node *n, const struct raft_entry *e,
			       uint64_t prev_term)
{
	uint64_t h = entry_hash(e);
	size_t i;

	if (W.n_lm * 2 >= W.cap_lm) {
		struct lm *old = W.lm;
		size_t oc = W.cap_lm;

		W.cap_lm = oc ? oc * 2 : 4096;
		W.lm = xrealloc(NULL, W.cap_lm * sizeof(*W.lm));
		memset(W.lm, 0, W.cap_lm * sizeof(*W.lm));
		W.n_lm = 0;
		for (size_t k = 0; k < oc; k++) {
			if (!old[k].term)
				continue;
			i = mix(old[k].index * 131 + old[k].term) & (W.cap_lm - 1);
			while (W.lm[i].term)
				i = (i + 1) & (W.cap_lm - 1);
			W.lm[i] = old[k];
			W.n_lm++;
		}
		free(old);
	}
	i = mix(e->index * 131 + e->term) & (W.cap_lm - 1);
	while (W.lm[i].term) {
		if (W.lm[i].index == e->index && W.lm[i].term == e->term) {
			if (W.lm[i].hash != h || W.lm[i].prev_term != prev_term)
				fail("log matching: node %" PRIu64 " has a different entry at "
				     "index %" PRIu64 " term %" PRIu64, n->id, e->index, e->term);
			return;
		}
		i = (i + 1) & (W.cap_lm - 1);
	}
	W.lm[i] = (struct lm){ e->index, e->term, h, prev_term };
	W.n_lm++;
}

static void read_served(struct node *n);

static void apply_entry(struct node *n, const struct raft_entry *e)
{
	struct raft_status st;
	struct gent *g;
	uint64_t h;

	raft_status(n->r, &st);
	if (e->index != n->sm_index + 1) {
		fail("node %" PRIu64 " applies index %" PRIu64 " after %" PRIu64, n->id,
		     e->index, n->sm_index);
		return;
	}
	if (e->index > st.commit) {
		fail("node %" PRIu64 " applies index %" PRIu64 " beyond its commit %" PRIu64,
		     n->id, e->index, st.commit);
		return;
	}
	h = chain(n->sm_hash, e);
	g = gslot(&W.gapplied, e->index);
	if (!g->set) {
		g->set = true;
		g->term = e->term;
		g->aux = h;
	} else if (g->term != e->term || g->aux != h) {
		fail("state machine safety: node %" PRIu64 " applies index %" PRIu64
		     " term %" PRIu64 ", another node applied term %" PRIu64, n->id,
		     e->index, e->term, g->term);
		return;
	}
	n->sm_index = e->index;
	n->sm_hash = h;
	if (e->type == RAFT_ENTRY_NORMAL && e->len >= 8) {
		uint64_t pid = get64(e->data);

		if (pid && pid <= W.n_props) {
			struct proposal *p = &W.props[pid - 1];

			if (p->index == e->index && p->term == e->term && !p->acked) {
				p->acked = true;
				if (e->index > W.max_acked)
					W.max_acked = e->index;
				trace("ack write #%" PRIu64 " at %" PRIu64 "/%" PRIu64, pid,
				      e->index, e->term);
			}
		}
	}
	if (e->type == RAFT_ENTRY_CONF) {
		struct raft_change c;

		if (raft_change_decode(e->data, e->len, &c) == 0 && c.op == RAFT_CHANGE_REMOVE) {
			int s = slot_of(c.id);

			if (s >= 0)
				W.nodes[s].wipe = true;
		}
	}
}

/* Serve the reads of node n whose index it has applied. */
static void read_served(struct node *n)
{
	int slot = (int)(n - W.nodes);

	for (size_t i = 0; i < W.n_reads; i++) {
		struct read *rd = &W.reads[i];

		if (rd->done || !rd->known || rd->slot != slot || rd->inc != n->inc ||
		    n->sm_index < rd->index)
			continue;
		rd->done = true;
		trace("read #%zu served on %" PRIu64 " at applied %" PRIu64 " (index %" PRIu64
		      ", acked before start %" PRIu64 ")", i + 1, n->id, n->sm_index,
		      rd->index, rd->start_acked);
		/* linearizability: the state read contains every write
		 * acknowledged before the read began */
		if (n->sm_index < rd->start_acked)
			fail("stale read #%zu on node %" PRIu64 ": returns state at %" PRIu64
			     ", but the write at %" PRIu64 " was acknowledged before it began",
			     i + 1, n->id, n->sm_index, rd->start_acked);
	}
}

void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n_ents; i++)
		free(b->ents[i].data);
	free(b->ents);
	for (size_t i = 0; i < b->n_after; i++)
		msg_free(&b->after[i]);
	free(b->after);
	free((void *)b->snap.members);
	free(b->snap_data);
	free(b);
}

void dlog_truncate(struct node *n, uint64_t from)
{
	while (n->n_log && n->log[n->n_log - 1].index >= from)
		free(n->log[--n->n_log].data);
}

/* A batch becomes durable: write it, send what waited for it, tell the core. */
void persist(struct node *n, struct batch *b)
{
	int slot = (int)(n - W.nodes);

	if (b->has_snap) {
		free((void *)n->snap.meta.members);
		free(n->snap.data);
		n->snap.has = true;
		n->snap.meta = b->snap;
		n->snap.data = b->snap_data;
		n->snap.len = b->snap_len;
		b->snap.members = NULL;
		b->snap_data = NULL;
		dlog_truncate(n, 0);
	}
	if (b->has_hs)
		n->hs = b->hs;
	if (b->clear_catch_up)
		n->catch_up_to = 0;
	if (b->n_ents) {
		uint64_t first = b->ents[0].index, want;

		/* entries overwrite the stored suffix from their first index */
		dlog_truncate(n, first);
		if (n->n_log)
			want = n->log[n->n_log - 1].index + 1;
		else
			want = n->snap.has ? n->snap.meta.index + 1 : 1;
		if (first != want) {
			fail("node %" PRIu64 ": batch entries start at %" PRIu64
			     ", stored log wants %" PRIu64, n->id, first, want);
			return;
		}
		GROW(n->log, n->cap_log, n->n_log + b->n_ents);
		for (size_t i = 0; i < b->n_ents; i++) {
			n->log[n->n_log++] = b->ents[i];
			b->ents[i].data = NULL;
		}
	}
	for (size_t i = 0; i < b->n_after; i++)
		net_send(slot, &b->after[i]);
	if (b->must_persist)
		raft_persisted(n->r, b->pidx, b->pterm);
}

static void answer_chunk(struct node *n, const struct raft_chunk_read *c)
{
	size_t len;
	int rc;

	if (!n->snap.has || n->snap.meta.index != c->snap_index || c->offset > n->snap.len)
		return;
	if (chance(20))
		return;		/* the caller lost it: the core must time out */
	len = n->snap.len - (size_t)c->offset;
	if (len > c->max_len)
		len = c->max_len;
	rc = raft_snapshot_chunk(n->r, c->to, c->snap_index, c->offset,
				 n->snap.data + c->offset, len, c->offset + len == n->snap.len,
				 n->snap.len);
	if (rc && rc != -ESTALE)
		fail("raft_snapshot_chunk: %s", raft_strerror(rc));
}

void process_ready(struct node *n)
{
	int slot = (int)(n - W.nodes);

	while (!W.failed && n->up && raft_has_ready(n->r)) {
		struct raft_ready rd;
		struct raft_chunk_read *cr = NULL;
		size_t n_cr;
		struct raft_status st;
		struct batch *b;
		uint64_t prev_term, due;
		bool queued;

		raft_status(n->r, &st);
		raft_ready(n->r, &rd);
		if (rd.n_entries) {
			if (rd.entries[0].index <= n->checked_commit)
				fail("node %" PRIu64 " overwrites committed index %" PRIu64,
				     n->id, rd.entries[0].index);
			if (raft_term_at(n->r, rd.entries[0].index - 1, &prev_term))
				fail("node %" PRIu64 ": no term before new entries", n->id);
			for (size_t i = 0; i < rd.n_entries; i++) {
				check_log_matching(n, &rd.entries[i], prev_term);
				prev_term = rd.entries[i].term;
			}
		}
		for (size_t i = 0; i < rd.n_msgs; i++)
			net_send(slot, &rd.msgs[i]);
		for (size_t i = 0; i < rd.n_chunk_writes; i++) {
			const struct raft_chunk_write *w = &rd.chunk_writes[i];

			if (w->offset == 0)
				n->tmp_len = 0;
			if (w->offset != n->tmp_len) {
				fail("node %" PRIu64 ": chunk at %" PRIu64 " after %zu bytes",
				     n->id, w->offset, n->tmp_len);
				break;
			}
			n->tmp = xrealloc(n->tmp, n->tmp_len + w->len);
			memcpy(n->tmp + n->tmp_len, w->data, w->len);
			n->tmp_len += w->len;
		}
		b = xrealloc(NULL, sizeof(*b));
		memset(b, 0, sizeof(*b));
		if (rd.snapshot) {
			uint64_t i, t, h;
			struct gent *g = gslot(&W.gapplied, rd.snapshot->index);

			if (!snap_parse(n->tmp, n->tmp_len, &i, &t, &h) ||
			    i != rd.snapshot->index || t != rd.snapshot->term ||
			    !g->set || g->aux != h)
				fail("node %" PRIu64 ": installed snapshot %" PRIu64 "/%" PRIu64
				     " does not match the state applied there", n->id,
				     rd.snapshot->index, rd.snapshot->term);
			trace("node %" PRIu64 " installs snapshot %" PRIu64 "/%" PRIu64, n->id,
			      rd.snapshot->index, rd.snapshot->term);
			n->sm_index = i;
			n->sm_hash = h;
			b->has_snap = true;
			b->snap = *rd.snapshot;
			b->snap.members = xdup(rd.snapshot->members, rd.snapshot->n_members *
					       sizeof(*rd.snapshot->members));
			b->snap_data = xdup(n->tmp, n->tmp_len);
			b->snap_len = n->tmp_len;
		}
		for (size_t i = 0; i < rd.n_committed && !W.failed; i++)
			apply_entry(n, &rd.committed[i]);
		if (rd.n_committed)
			raft_applied(n->r, rd.committed[rd.n_committed - 1].index);
		for (size_t i = 0; i < rd.n_reads; i++) {
			uint64_t ctx = rd.reads[i].ctx;

			if (ctx && ctx <= W.n_reads && W.reads[ctx - 1].slot == slot &&
			    W.reads[ctx - 1].inc == n->inc && !W.reads[ctx - 1].known) {
				W.reads[ctx - 1].known = true;
				W.reads[ctx - 1].index = rd.reads[i].index;
			}
		}
		read_served(n);
		b->has_hs = rd.has_hard_state;
		b->hs = rd.hs;
		b->n_ents = rd.n_entries;
		b->ents = xrealloc(NULL, rd.n_entries * sizeof(*b->ents));
		for (size_t i = 0; i < rd.n_entries; i++)
			b->ents[i] = entry_copy(&rd.entries[i]);
		b->n_after = rd.n_msgs_after_persist;
		b->after = xrealloc(NULL, rd.n_msgs_after_persist * sizeof(*b->after));
		for (size_t i = 0; i < rd.n_msgs_after_persist; i++)
			b->after[i] = msg_copy(&rd.msgs_after_persist[i]);
		b->must_persist = rd.must_persist;
		b->pidx = rd.persist_index;
		b->pterm = rd.persist_term;
		/* written after the entries that brought the log to it */
		b->clear_catch_up = n->catch_up_to && !st.catch_up_to;
		n_cr = rd.n_chunk_reads;
		if (n_cr)
			cr = xdup(rd.chunk_reads, n_cr * sizeof(*cr));
		queued = b->must_persist || b->n_after;
		due = W.now + (W.faults ? below(W.persist_delay + 1) : 0);
		if (n->pend_tail && n->pend_tail->due > due)
			due = n->pend_tail->due;
		/* buggify: crash while the batch is still in flight, above
		 * all one that carries a new term or vote */
		if (W.faults && queued && !n->crash_at && b->has_hs && chance(W.p_buggify * 4))
			due += 1 + below(3);
		if (queued && W.early_calls && due <= W.now && !n->pend) {
			/* the daemon's order: write, acknowledge and answer
			 * before raft_advance() */
			persist(n, b);
			queued = false;
			for (size_t i = 0; i < n_cr && !W.failed; i++)
				answer_chunk(n, &cr[i]);
			n_cr = 0;
		}
		raft_advance(n->r, &rd);
		if (!queued) {
			batch_free(b);
		} else {
			b->due = due;
			if (W.faults && due > W.now && !n->crash_at &&
			    chance(b->has_hs ? W.p_buggify * 4 : W.p_buggify))
				n->crash_at = W.now + below((unsigned)(due - W.now));
			if (n->pend_tail)
				n->pend_tail->next = b;
			else
				n->pend = b;
			n->pend_tail = b;
		}
		for (size_t i = 0; i < n_cr && !W.failed; i++)
			answer_chunk(n, &cr[i]);
		free(cr);
		/* batches due now are durable at once (a fast disk) */
		while (n->pend && n->pend->due <= W.now && !W.failed) {
			struct batch *d = n->pend;

			n->pend = d->next;
			if (!n->pend)
				n->pend_tail = NULL;
			persist(n, d);
			batch_free(d);
		}
	}
}

/* ------------------------------------------------------- crash, restart */

void node_stop(struct node *n)
{
	raft_free(n->r);
	n->r = NULL;
	n->up = false;
	while (n->pend) {
		struct batch *b = n->pend;

		n->pend = b->next;
		batch_free(b);	/* never became durable */
	}
	n->pend_tail = NULL;
	free(n->tmp);
	n->tmp = NULL;
	n->tmp_len = 0;
}

void node_wipe_storage(struct node *n)
{
	dlog_truncate(n, 0);
	free(n->log);
	n->log = NULL;
	n->n_log = n->cap_log = 0;
	free((void *)n->snap.meta.members);
	free(n->snap.data);
	memset(&n->snap, 0, sizeof(n->snap));
	memset(&n->hs, 0, sizeof(n->hs));
	n->catch_up_to = 0;
}

void node_start(struct node *n)
{
	struct raft_init init;
	struct raft_config cfg = W.cfg;
	char err[256];
	int rc;

	memset(&init, 0, sizeof(init));
	init.hs = n->hs;
	init.snapshot = n->snap.has ? &n->snap.meta : NULL;
	init.entries = n->log;
	init.n_entries = n->n_log;
	init.bootstrap = W.boot;
	init.n_bootstrap = W.n_boot;
	init.catch_up_to = n->catch_up_to;
	cfg.id = n->id;
	cfg.seed = W.seed * 1000003 + n->inc * 7919 + n->id;
	rc = raft_new(&cfg, &init, &n->r, err, sizeof(err));
	if (rc) {
		fail("node %" PRIu64 " does not restart: %s", n->id, err);
		return;
	}
	n->inc++;
	n->up = true;
	n->checked_commit = 0;
	n->leader_checked_term = 0;
	n->sm_index = 0;
	n->sm_hash = 0;
	if (n->snap.has) {
		uint64_t i, t, h;

		if (!snap_parse(n->snap.data, n->snap.len, &i, &t, &h) ||
		    i != n->snap.meta.index) {
			fail("node %" PRIu64 ": stored snapshot is damaged", n->id);
			return;
		}
		n->sm_index = i;
		n->sm_hash = h;
	}
	process_ready(n);
}

void node_crash(struct node *n, unsigned ticks)
{
	trace("crash %" PRIu64 " for %u ticks", n->id, ticks);
	node_stop(n);
	n->down_until = W.now + ticks;
}

/* A removed node is wiped and comes back as a spare with a new id. */
void node_rejoin_as_spare(struct node *n)
{
	uint64_t old = n->id;

	if (n->up)
		node_stop(n);
	node_wipe_storage(n);
	n->wipe = false;
	n->id = W.next_id++;
	trace("node %" PRIu64 " was removed: wiped, back as spare %" PRIu64, old, n->id);
	node_start(n);
}
