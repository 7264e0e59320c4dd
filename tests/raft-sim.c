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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft.h"

#define MAX_SLOTS	9

/* ------------------------------------------------------------------ PRNG */

static uint64_t rs[4];

static uint64_t rnd(void)
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

static void rnd_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		rs[i] = z ^ (z >> 31);
	}
}

/* uniform in [0, n) */
static unsigned below(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

/* true with probability p per mille */
static bool chance(unsigned permille)
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

static void put64(uint8_t *p, uint64_t v)
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

struct batch {
	uint64_t due;
	bool has_hs;
	struct raft_hard_state hs;
	bool has_snap;
	struct raft_snapshot_meta snap;		/* members owned */
	uint8_t *snap_data;
	size_t snap_len;
	struct raft_entry *ents;		/* copies */
	size_t n_ents;
	struct raft_msg *after;			/* copies */
	size_t n_after;
	bool must_persist;
	uint64_t pidx, pterm;
	bool clear_catch_up;			/* the core caught up: durable 0 */
	struct batch *next;
};

struct dsnap {
	bool has;
	struct raft_snapshot_meta meta;		/* members owned */
	uint8_t *data;
	size_t len;
};

struct node {
	bool used;
	uint64_t id;
	uint32_t inc;			/* incarnation: bumps on every restart */
	bool up;
	uint64_t down_until;
	struct raft *r;
	/* durable */
	struct raft_hard_state hs;
	struct dsnap snap;
	struct raft_entry *log;
	size_t n_log, cap_log;
	uint64_t catch_up_to;		/* lost entries up to here; 0: none */
	struct batch *pend, *pend_tail;
	/* state machine */
	uint64_t sm_index, sm_hash;
	uint8_t *tmp;			/* snapshot being received */
	size_t tmp_len;
	/* what the checker saw last */
	uint64_t checked_commit;
	uint64_t leader_checked_term;
	enum raft_role seen_role;	/* for the trace */
	uint64_t seen_term;
	bool wipe;			/* removed: wipe and rejoin as a spare */
	uint64_t slow_until;		/* ticks only every slow_by-th tick */
	unsigned slow_by;
	uint64_t crash_at;		/* buggify: crash before a batch is durable */
};

struct inflight {
	uint64_t due;
	int to;
	struct raft_msg m;
};

struct proposal {
	uint64_t index, term;
	bool acked;
};

struct read {
	int slot;
	uint32_t inc;
	uint64_t start_acked;
	uint64_t index;
	bool known, done;
};

struct gent {
	bool set;
	uint64_t term;
	uint64_t aux;		/* gcommit: observed term; gapplied: state hash */
};

struct lm {			/* log matching: (index, term) -> content */
	uint64_t index, term, hash, prev_term;
};

static struct world {
	uint64_t seed;
	bool verbose;
	bool failed;
	uint64_t now;
	struct raft_config cfg;
	int n_slots;
	struct node nodes[MAX_SLOTS];
	struct raft_member boot[MAX_SLOTS];
	size_t n_boot;
	uint64_t next_id;

	struct inflight *net;
	size_t n_net, cap_net;
	bool cut[MAX_SLOTS][MAX_SLOTS];
	uint64_t heal_at;
	unsigned drop, dup, max_delay, persist_delay;	/* per mille, ticks */
	unsigned p_crash, p_part, p_read, p_prop;	/* per mille per tick */
	unsigned p_slow, p_buggify;
	unsigned p_lose;		/* per mille of voter restarts (--lose-entries) */
	bool early_calls;		/* persist and answer before raft_advance() */
	bool faults;

	uint64_t *leaders;			/* by term */
	size_t cap_leaders;
	struct gent *gcommit, *gapplied;	/* by index */
	size_t cap_g;
	struct lm *lm;
	size_t cap_lm, n_lm;

	struct proposal *props;
	size_t n_props, cap_props;
	uint64_t max_acked;
	uint64_t max_commit;			/* highest index known committed */
	bool fixed_membership;			/* this seed changes no member */
	struct read *reads;
	size_t n_reads, cap_reads;
} W;

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
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

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
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

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "raft-sim: out of memory\n");
		exit(2);
	}
	return p;
}

static void *xdup(const void *p, size_t n)
{
	void *q;

	if (!n)
		return NULL;
	q = xrealloc(NULL, n);
	memcpy(q, p, n);
	return q;
}

#define GROW(v, cap, need) do { \
	if ((need) > (cap)) { \
		size_t nc_ = (cap) ? (cap) * 2 : 16; \
		while (nc_ < (need)) nc_ *= 2; \
		(v) = xrealloc((v), nc_ * sizeof(*(v))); \
		memset((v) + (cap), 0, (nc_ - (cap)) * sizeof(*(v))); \
		(cap) = nc_; \
	} \
} while (0)

static int slot_of(uint64_t id)
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

static void msg_free(struct raft_msg *m)
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
static uint8_t *snap_serialize(uint64_t index, uint64_t term, uint64_t hash, size_t *len)
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

static struct gent *gslot(struct gent **g, uint64_t index)
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

static void batch_free(struct batch *b)
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

static void process_ready(struct node *n);

static void dlog_truncate(struct node *n, uint64_t from)
{
	while (n->n_log && n->log[n->n_log - 1].index >= from)
		free(n->log[--n->n_log].data);
}

/* A batch becomes durable: write it, send what waited for it, tell the core. */
static void persist(struct node *n, struct batch *b)
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

static void process_ready(struct node *n)
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

static void node_stop(struct node *n)
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

static void node_wipe_storage(struct node *n)
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

static void node_start(struct node *n)
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

static void node_crash(struct node *n, unsigned ticks)
{
	trace("crash %" PRIu64 " for %u ticks", n->id, ticks);
	node_stop(n);
	n->down_until = W.now + ticks;
}

/* A removed node is wiped and comes back as a spare with a new id. */
static void node_rejoin_as_spare(struct node *n)
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
static void durable_last(const struct node *n, uint64_t *index, uint64_t *term)
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

static void check_all(void)
{
	for (int i = 0; i < W.n_slots; i++)
		check_node(&W.nodes[i]);
	if (!W.failed)
		check_electability();
}

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
