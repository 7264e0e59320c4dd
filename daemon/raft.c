/*
 * raft.c — the Raft consensus core: a deterministic state machine.
 *
 * What it is: leader election (randomized timeouts, pre-vote, check-quorum),
 * log replication (batched, pipelined, fast back-tracking), the commit rule
 * of §5.4.2, single-server membership changes with learners, leadership
 * transfer, ReadIndex, snapshot transfer in chunks; inputs in, one batch of
 * work out (see raft.h).
 *
 * What it is not: it does no I/O, reads no clock, keeps no global state and
 * draws randomness only from the generator in struct raft, seeded by the
 * caller.  Persisting, sending, applying and snapshot bytes are the
 * caller's business.
 *
 * Section numbers refer to Ongaro & Ousterhout, "In Search of an
 * Understandable Consensus Algorithm" (§5.x), and Ongaro's thesis,
 * "Consensus: Bridging Theory and Practice" (§3.x ... §10.x).
 *
 * Build switches RAFT_BUG_* inject known bugs, one at a time, to show that
 * tests/raft-sim catches them (make raft-teeth).  Never define them in a
 * real build.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "errbuf.h"
#include "members.h"
#include "raft.h"

#define DEFAULT_HEARTBEAT    1
#define DEFAULT_ELECTION     10
#define DEFAULT_MAX_ENTRIES  256
#define DEFAULT_MAX_BYTES    (1024 * 1024)
#define DEFAULT_MAX_INFLIGHT 64

/* Bytes of one snapshot chunk a follower accepts. */
#define MAX_CHUNK RAFTCONF_MAX_FRAME

/* ------------------------------------------------------------- structures */

/* What the leader knows of one member (the leader's own entry included). */
struct peer {
	uint64_t match;
	uint64_t next;
	uint8_t state;	 /* enum raft_progress_state */
	bool probe_sent; /* PROBE: an append is out, wait */
	bool vote_granted;
	bool vote_rejected;
	uint64_t acked_seq;   /* highest heartbeat seq it answered */
	uint64_t hb_match;    /* match at the last heartbeat answer */
	uint64_t told_commit; /* the commit index its last append or heartbeat carried */
	unsigned last_contact;
	/* REPLICATE: last index of each AppendEntries in flight (a ring) */
	uint64_t *inflight;
	unsigned n_inflight;
	unsigned inflight_head;
	/* SNAPSHOT: the transfer; one chunk in flight at a time */
	uint64_t snap_index;
	uint64_t snap_offset; /* acknowledged so far */
	unsigned snap_ticks;  /* since the last progress */
};

/*
 * Leader: a member just removed.  It is sent the log up to the entry that
 * removes it, so that it learns of its removal from its own log: a removal
 * notice (the daemon's) is believed only by a node whose configuration
 * already leaves it out.  Probing only, one append at a time; given up
 * when it needs a snapshot or after DEPARTING_TIMEOUTS election timeouts.
 */
struct departing {
	uint64_t id;	/* 0: a free slot */
	uint64_t until; /* the index of the entry that removes it */
	uint64_t match;
	uint64_t next;
	unsigned ticks; /* since it was removed */
	bool done;	/* it has the entry; late answers are absorbed */
};
#define MAX_DEPARTING	   4
#define DEPARTING_TIMEOUTS 4

struct meta {
	uint64_t index;
	uint64_t term;
	struct raft_member *members;
	size_t n_members;
};

struct pending_read {
	uint64_t from; /* this node: a local read */
	uint64_t ctx;
	uint64_t index;
	uint64_t seq;
};

#define VEC(type)              \
	struct {               \
		type *v;       \
		size_t n, cap; \
	}

enum { DEFER_PERSISTED = 1, DEFER_CHUNK, DEFER_TICK };

struct deferred {
	uint8_t kind;
	uint64_t to, index, term, offset; /* term: PERSISTED */
	void *data;
	uint32_t len;
	bool last;
};

struct raft {
	struct raft_config cfg;
	uint64_t id;
	uint64_t rng[4];

	/* hard state */
	uint64_t term;
	uint64_t vote;
	uint64_t commit;
	struct raft_hard_state prev_hs; /* as last handed out */

	/* lost entries it had acknowledged: no vote or campaign until
	 * last_index() reaches this (0: none); see caught_up() */
	uint64_t catch_up_to;

	enum raft_role state; /* FOLLOWER .. LEADER */
	uint64_t leader;
	unsigned election_elapsed;
	unsigned heartbeat_elapsed;
	unsigned timeout; /* randomized election timeout */

	/* the log: ents[k].index == base_index + 1 + k */
	struct raft_entry *ents;
	size_t n_ents, cap_ents;
	uint64_t base_index;
	uint64_t base_term;
	uint64_t unstable; /* first index not yet handed out */
	uint64_t stable;   /* durable and still ours */
	uint64_t applying; /* last index handed out to apply */
	uint64_t applied;

	struct meta snap;    /* the latest snapshot (index 0: none) */
	struct meta at;	     /* raft_snapshot_meta_at's answer */
	struct meta install; /* follower: to install in the next batch */
	bool install_pending;
	struct raft_snapshot_meta install_rd; /* install, as handed out */
	/* follower: snapshot being received */
	bool in_active;
	struct meta in;
	uint64_t in_next;

	/* membership as of the last appended change; peers parallel */
	struct raft_member *members;
	struct peer *peers;
	size_t n_members;
	uint64_t conf_index; /* last CONF entry in the log, 0: none */
	bool members_changed;
	bool read_round; /* reads wait for the next heartbeat round */

	/* leader */
	uint64_t seq;				/* heartbeat round, for ReadIndex */
	VEC(struct pending_read) reads_wait;	/* no commit in term yet */
	VEC(struct pending_read) reads_pending; /* awaiting a quorum */
	uint64_t transfer_to;
	unsigned transfer_elapsed;
	struct departing departing[MAX_DEPARTING];

	/* candidate: own vote counts once the batch with it is durable */
	bool self_vote_pending;
	uint64_t self_vote_batch;
	uint64_t apply_batch; /* follower: applies wait until this batch is durable */
	uint64_t batches_out;
	uint64_t batches_persisted;

	/* output of the current batch */
	VEC(struct raft_msg) msgs;
	VEC(struct raft_msg) msgs_after;
	VEC(struct raft_read_state) reads;
	VEC(struct raft_chunk_read) chunk_reads;
	VEC(struct raft_chunk_write) chunk_writes;
	VEC(void *) garbage; /* freed by raft_advance() */
	VEC(void *) to_free; /* compacted entries' data: a slice a tick (free_some) */
	/* calls made while a batch is out, carried out by raft_advance() */
	bool in_ready;
	VEC(struct deferred) deferred;
	enum raft_role last_role;
	uint64_t last_term;
	uint64_t last_leader;

	/* who leads vouched_term, as a voter told this node (check_sender) */
	uint64_t vouched_leader;
	uint64_t vouched_term;

	/* raft_step: what the message it refuses (or the last one) did wrong */
	int step_rc;
	const char *why;

	uint64_t *scratch; /* n_members wide */
};

static int
vec_grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*v, ncap * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

#define VEC_PUSH(vec, item)                                                     \
	(vec_grow((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof(*(vec).v)) \
		? -ENOMEM                                                       \
		: ((vec).v[(vec).n++] = (item), 0))

/* ------------------------------------------------------------------- PRNG */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static uint64_t
rng_next(struct raft *r)
{
	uint64_t *s = r->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

static void
reset_timeout(struct raft *r)
{
	/* §5.2: randomized in [election, 2 * election) */
	r->timeout = r->cfg.election_ticks + (unsigned)(rng_next(r) % r->cfg.election_ticks);
}

/* ------------------------------------------------------- membership entries */

/*
 * RAFT_ENTRY_CONF data, little-endian:
 *   op:u8, then for ADD_LEARNER / PROMOTE / REMOVE: id:u64 ctx_len:u16 ctx;
 *   for BOOTSTRAP: the membership as members.h encodes it (n:u32, then n
 *   times id:u64 voter:u8 ctx_len:u16 ctx).
 */
static void *
encode_change(uint8_t op, uint64_t id, const void *ctx, uint16_t ctx_len, uint32_t *len)
{
	uint8_t *p = malloc(11 + (size_t)ctx_len);

	if (!p)
		return NULL;
	p[0] = op;
	put_le64(p + 1, id);
	put_le16(p + 9, ctx_len);
	if (ctx_len)
		memcpy(p + 11, ctx, ctx_len);
	*len = 11 + ctx_len;
	return p;
}

static void *
encode_bootstrap(const struct raft_member *m, size_t n, uint32_t *len)
{
	size_t sz = 1 + members_size(m, n);
	struct bytes_writer w;
	uint8_t *p = malloc(sz);

	if (!p)
		return NULL;
	bw_init(&w, p, sz);
	bw_u8(&w, RAFT_CHANGE_BOOTSTRAP);
	members_put(&w, m, n);
	*len = (uint32_t)w.len;
	return p;
}

int
raft_change_decode(const void *data, size_t len, struct raft_change *c)
{
	struct bytes_reader br;

	memset(c, 0, sizeof(*c));
	br_init(&br, data, len);
	c->op = br_u8(&br);
	if (br.err)
		return -EINVAL;
	switch (c->op) {
	case RAFT_CHANGE_ADD_LEARNER:
	case RAFT_CHANGE_PROMOTE:
	case RAFT_CHANGE_REMOVE:
		c->id = br_le64(&br);
		c->context_len = br_le16(&br);
		if (br.err || c->id == 0 || c->context_len > RAFT_MAX_MEMBER_CONTEXT ||
		    br_left(&br) != c->context_len)
			return -EINVAL;
		br_copy(&br, c->context, c->context_len);
		return 0;
	case RAFT_CHANGE_BOOTSTRAP:
		c->n_members = br_le32(&br);
		return !br.err && c->n_members <= RAFTCONF_MAX_MEMBERS ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int
member_cmp(const void *a, const void *b)
{
	const struct raft_member *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Sort by id; -EINVAL on a zero or duplicate id or a bad context. */
static int
members_check(struct raft_member *m, size_t n)
{
	qsort(m, n, sizeof(*m), member_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m[i].id == 0 || m[i].context_len > RAFT_MAX_MEMBER_CONTEXT)
			return -EINVAL;
		if (i && m[i].id == m[i - 1].id)
			return -EINVAL;
	}
	return 0;
}

static struct raft_member *
members_dup(const struct raft_member *m, size_t n)
{
	struct raft_member *p = malloc((n ? n : 1) * sizeof(*p));

	if (p && n)
		memcpy(p, m, n * sizeof(*p));
	return p;
}

static ptrdiff_t
members_find(const struct raft_member *m, size_t n, uint64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m[mid].id == id)
			return (ptrdiff_t)mid;
		if (m[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * Apply one CONF entry to a membership: returns a new array in *out (the
 * caller frees the old one), or -EINVAL when the entry does not apply
 * (the membership then stays as it was: a follower never fails on it).
 */
static int
conf_apply(const struct raft_member *m, size_t n, const void *data, size_t len,
    struct raft_member **out, size_t *out_n)
{
	struct raft_change c;
	struct raft_member *nm;
	ptrdiff_t at;

	if (raft_change_decode(data, len, &c))
		return -EINVAL;
	if (c.op == RAFT_CHANGE_BOOTSTRAP) {
		struct bytes_reader br;
		uint32_t count;

		br_init(&br, data, len);
		br_u8(&br); /* the op, decoded above */
		if (members_get_count(&br, &count, NULL, 0) < 0)
			return -EINVAL;
		nm = malloc((count ? count : 1) * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		if (members_get(&br, nm, count, NULL, 0) < 0 || br_left(&br) != 0 ||
		    members_check(nm, count))
			goto bad;
		*out = nm;
		*out_n = count;
		return 0;
bad:
		free(nm);
		return -EINVAL;
	}
	at = members_find(m, n, c.id);
	if ((c.op == RAFT_CHANGE_ADD_LEARNER) != (at < 0))
		return -EINVAL;
	if (c.op == RAFT_CHANGE_PROMOTE && m[at].voter)
		return -EINVAL;
	nm = malloc((n + 1) * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	memcpy(nm, m, n * sizeof(*nm));
	switch (c.op) {
	case RAFT_CHANGE_ADD_LEARNER:
		memset(&nm[n], 0, sizeof(nm[n]));
		nm[n].id = c.id;
		nm[n].context_len = c.context_len;
		memcpy(nm[n].context, c.context, c.context_len);
		n++;
		qsort(nm, n, sizeof(*nm), member_cmp);
		break;
	case RAFT_CHANGE_PROMOTE:
		nm[at].voter = true;
		if (c.context_len) {
			nm[at].context_len = c.context_len;
			memcpy(nm[at].context, c.context, c.context_len);
		}
		break;
	case RAFT_CHANGE_REMOVE:
		memmove(&nm[at], &nm[at + 1], (n - (size_t)at - 1) * sizeof(*nm));
		n--;
		break;
	}
	*out = nm;
	*out_n = n;
	return 0;
}

/* -------------------------------------------------------------------- log */

static uint64_t
last_index(const struct raft *r)
{
	return r->base_index + r->n_ents;
}

static struct raft_entry *
entry_at(const struct raft *r, uint64_t i)
{
	if (i <= r->base_index || i > last_index(r))
		return NULL;
	return &r->ents[i - r->base_index - 1];
}

/* Term of entry i; false when unknown (compacted or beyond the log). */
static bool
term_of(const struct raft *r, uint64_t i, uint64_t *t)
{
	if (i == r->base_index) {
		*t = r->base_term;
		return true;
	}
	if (i < r->base_index || i > last_index(r))
		return false;
	*t = r->ents[i - r->base_index - 1].term;
	return true;
}

static uint64_t
last_term(const struct raft *r)
{
	return r->n_ents ? r->ents[r->n_ents - 1].term : r->base_term;
}

static bool
match_term(const struct raft *r, uint64_t i, uint64_t t)
{
	uint64_t have;

	return term_of(r, i, &have) && have == t;
}

static void
free_entries(struct raft_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].data);
}

static void members_recompute(struct raft *r);
static void set_members(struct raft *r, struct raft_member *m, size_t n);
static void departing_track(struct raft *r, const struct raft_entry *e);

/* Free a slice of what compaction dropped: at least RAFT_FREE_SLICE, and an
 * eighth of what waits, so that the backlog stays a few ticks of input. */
#define RAFT_FREE_SLICE 2048

static void
free_some(struct raft *r)
{
	size_t n = r->to_free.n / 8 > RAFT_FREE_SLICE ? r->to_free.n / 8 : RAFT_FREE_SLICE;

	while (n-- > 0 && r->to_free.n > 0)
		free(r->to_free.v[--r->to_free.n]);
}

/* Drop entries >= i (i > commit: never a committed one). */
static void
log_truncate(struct raft *r, uint64_t i)
{
	size_t keep = (size_t)(i - r->base_index - 1);

	free_entries(r->ents + keep, r->n_ents - keep);
	r->n_ents = keep;
	if (r->unstable > i)
		r->unstable = i;
	if (r->stable >= i)
		r->stable = i - 1;
	/* §4.1: a configuration reverts when its entry is removed */
	if (r->conf_index >= i)
		members_recompute(r);
}

/* Append a copy of e (index must be last + 1); applies a CONF entry. */
static int
log_append(struct raft *r, const struct raft_entry *e)
{
	struct raft_entry *n;
	void *data = NULL;

	if (vec_grow((void **)&r->ents, &r->cap_ents, r->n_ents + 1, sizeof(*r->ents)))
		return -ENOMEM;
	if (e->len) {
		data = malloc(e->len);
		if (!data)
			return -ENOMEM;
		memcpy(data, e->data, e->len);
	}
	n = &r->ents[r->n_ents++];
	*n = *e;
	n->index = r->base_index + r->n_ents;
	n->data = data;
	if (n->type == RAFT_ENTRY_CONF) {
		struct raft_member *nm;
		size_t nn;

		/* §4.1: a server uses the latest configuration in its log */
		if (conf_apply(r->members, r->n_members, n->data, n->len, &nm, &nn) == 0) {
			departing_track(r, n);
			set_members(r, nm, nn);
		}
		r->conf_index = n->index;
	}
	return 0;
}

/* Free entries <= i (i <= last). */
static void
log_compact(struct raft *r, uint64_t i)
{
	size_t drop = (size_t)(i - r->base_index);

	r->base_term = r->ents[drop - 1].term;
	/* Freed a slice a tick: ten thousand frees of 1 KiB took the loop
	 * 8 ms (glibc consolidating and trimming its heap). */
	for (size_t k = 0; k < drop; k++)
		if (r->ents[k].data && VEC_PUSH(r->to_free, r->ents[k].data))
			free(r->ents[k].data);
	memmove(r->ents, r->ents + drop, (r->n_ents - drop) * sizeof(*r->ents));
	r->n_ents -= drop;
	r->base_index = i;
}

/* ------------------------------------------------------------- membership */

static struct peer *
peer_of(const struct raft *r, uint64_t id)
{
	ptrdiff_t i = members_find(r->members, r->n_members, id);

	return i < 0 ? NULL : &r->peers[i];
}

static const struct raft_member *
member_of(const struct raft *r, uint64_t id)
{
	ptrdiff_t i = members_find(r->members, r->n_members, id);

	return i < 0 ? NULL : &r->members[i];
}

static bool
is_voter(const struct raft *r, uint64_t id)
{
	const struct raft_member *m = member_of(r, id);

	return m && m->voter;
}

static size_t
n_voters(const struct raft *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_members; i++)
		n += r->members[i].voter;
	return n;
}

static size_t
quorum(const struct raft *r)
{
	return n_voters(r) / 2 + 1;
}

static void
peer_reset(struct raft *r, struct peer *p)
{
	uint64_t *inflight = p->inflight;

	memset(p, 0, sizeof(*p));
	p->inflight = inflight;
	p->next = last_index(r) + 1;
	p->state = RAFT_PROGRESS_PROBE;
}

/*
 * Install a new membership (takes ownership of m): progress is kept for
 * members that stay; new ones start probing from the end of the log.
 */
static void
set_members(struct raft *r, struct raft_member *m, size_t n)
{
	struct peer *np = calloc(n ? n : 1, sizeof(*np));
	uint64_t *scratch = calloc(n ? n : 1, sizeof(*scratch));

	if (!np || !scratch) {
		/* keep the old membership; only a leader's progress suffers */
		free(np);
		free(scratch);
		free(m);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct peer *old = peer_of(r, m[i].id);

		for (size_t k = 0; k < MAX_DEPARTING; k++)
			if (r->departing[k].id == m[i].id)
				r->departing[k].id = 0; /* a member again */
		if (old) {
			np[i] = *old;
			old->inflight = NULL;
			continue;
		}
		np[i].inflight = calloc(r->cfg.max_inflight, sizeof(uint64_t));
		peer_reset(r, &np[i]);
	}
	for (size_t i = 0; i < r->n_members; i++)
		free(r->peers[i].inflight);
	free(r->peers);
	free(r->members);
	free(r->scratch);
	r->peers = np;
	r->members = m;
	r->n_members = n;
	r->scratch = scratch;
	r->members_changed = true;
	if (r->transfer_to && !is_voter(r, r->transfer_to))
		r->transfer_to = 0;
}

/* The membership from the snapshot's plus every CONF entry after it. */
static void
members_recompute(struct raft *r)
{
	struct raft_member *m = members_dup(r->snap.members, r->snap.n_members);
	size_t n = r->snap.n_members;
	uint64_t from = r->snap.index > r->base_index ? r->snap.index : r->base_index;

	if (!m)
		return;
	r->conf_index = 0;
	for (uint64_t i = from + 1; i <= last_index(r); i++) {
		struct raft_entry *e = entry_at(r, i);
		struct raft_member *nm;
		size_t nn;

		if (e->type != RAFT_ENTRY_CONF)
			continue;
		r->conf_index = i;
		if (conf_apply(m, n, e->data, e->len, &nm, &nn) == 0) {
			free(m);
			m = nm;
			n = nn;
		}
	}
	set_members(r, m, n);
}

/* The membership as of index i (snap.index <= i <= last). */
static int
members_at(const struct raft *r, uint64_t i, struct raft_member **out, size_t *out_n)
{
	struct raft_member *m = members_dup(r->snap.members, r->snap.n_members);
	size_t n = r->snap.n_members;

	if (!m)
		return -ENOMEM;
	for (uint64_t k = r->snap.index + 1; k <= i; k++) {
		struct raft_entry *e = entry_at(r, k);
		struct raft_member *nm;
		size_t nn;

		if (!e || e->type != RAFT_ENTRY_CONF)
			continue;
		if (conf_apply(m, n, e->data, e->len, &nm, &nn) == 0) {
			free(m);
			m = nm;
			n = nn;
		}
	}
	*out = m;
	*out_n = n;
	return 0;
}

/*
 * Raft's safety argument (§5.4.3) counts on every voter keeping what it
 * acknowledged: the voter shared by the quorum that committed an entry and
 * the quorum that elects the next leader holds that entry, so it refuses a
 * candidate whose log lacks it (§5.4.1).  A node that lost acknowledged
 * entries (restored from an older snapshot after damage) breaks that: it
 * may be the one shared voter.  So until its log again reaches the index it
 * had reached, it takes no part in elections: no vote, no pre-vote, no
 * campaign.  Alagappan et al., "Protocol-Aware Recovery for Consensus-Based
 * Storage" (FAST 2018): a node recovering from a storage fault must not
 * vote until it has recovered its log from the others.  Acknowledging
 * entries it received again is fine: those acknowledgements are true.
 */
static bool
catching_up(const struct raft *r)
{
#ifdef RAFT_BUG_VOTE_WHILE_CATCHING_UP
	return false;
#endif
	return r->catch_up_to != 0;
}

/* The log reached the index it had lost entries up to: back to normal. */
static void
caught_up(struct raft *r)
{
	if (r->catch_up_to && last_index(r) >= r->catch_up_to)
		r->catch_up_to = 0;
}

static bool
promotable(const struct raft *r)
{
	return is_voter(r, r->id) && !catching_up(r);
}

/* --------------------------------------------------------------- outputs */

static void
msg_init(struct raft *r, struct raft_msg *m, uint8_t type, uint64_t to)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->id;
	m->to = to;
	m->term = r->term;
}

/* Messages are dropped when memory runs out: Raft tolerates lost messages. */
static void
queue_msg(struct raft *r, struct raft_msg *m)
{
	(void)VEC_PUSH(r->msgs, *m);
}

static void
queue_msg_after_persist(struct raft *r, struct raft_msg *m)
{
#ifdef RAFT_BUG_VOTE_BEFORE_PERSIST
	if (m->type == RAFT_MSG_VOTE_RESP) {
		queue_msg(r, m);
		return;
	}
#endif
	(void)VEC_PUSH(r->msgs_after, *m);
}

/* raft_step() refuses the message it was given: rc, with why in words. */
static int
refuse(struct raft *r, int rc, const char *why)
{
	r->step_rc = rc;
	r->why = why;
	return rc;
}

/* Hand p to raft_advance() to free; on failure p is freed now and the
 * caller must not use it. */
static int
garbage(struct raft *r, void *p)
{
	if (VEC_PUSH(r->garbage, p)) {
		free(p);
		return -ENOMEM;
	}
	return 0;
}

/* Hold a call made while a batch is out until raft_advance(). */
static int
defer(struct raft *r, struct deferred d)
{
	int rc = VEC_PUSH(r->deferred, d);

	if (rc)
		free(d.data);
	return rc;
}

static void
meta_free(struct meta *m)
{
	free(m->members);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ roles */

static void
reads_drop(struct raft *r)
{
	r->reads_wait.n = 0;
	r->reads_pending.n = 0;
}

static void
become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
	if (term != r->term) {
		r->term = term;
		r->vote = 0;
	}
	r->state = RAFT_FOLLOWER;
	r->leader = leader;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	reset_timeout(r);
	r->transfer_to = 0;
	memset(r->departing, 0, sizeof(r->departing));
	r->self_vote_pending = false;
	reads_drop(r);
}

static void
votes_reset(struct raft *r)
{
	for (size_t i = 0; i < r->n_members; i++) {
		r->peers[i].vote_granted = false;
		r->peers[i].vote_rejected = false;
	}
}

static void
record_vote(struct raft *r, uint64_t id, bool granted)
{
	ptrdiff_t i = members_find(r->members, r->n_members, id);
	struct peer *p;

	if (i < 0 || !r->members[i].voter)
		return;
	p = &r->peers[i];
	if (p->vote_granted || p->vote_rejected)
		return;
	if (granted)
		p->vote_granted = true;
	else
		p->vote_rejected = true;
}

/* 1: won, -1: lost, 0: undecided */
static int
tally(const struct raft *r)
{
	size_t granted = 0, rejected = 0, nv = n_voters(r), q = nv / 2 + 1;

	for (size_t i = 0; i < r->n_members; i++) {
		if (!r->members[i].voter)
			continue;
		granted += r->peers[i].vote_granted;
		rejected += r->peers[i].vote_rejected;
	}
	if (granted >= q)
		return 1;
	if (nv - rejected < q)
		return -1;
	return 0;
}

static bool send_append(struct raft *r, uint64_t to, struct peer *p, bool allow_empty);
static void bcast_append(struct raft *r, bool allow_empty);

static void
become_leader(struct raft *r)
{
	struct raft_entry noop = { .term = 0 };

	r->state = RAFT_LEADER;
	r->leader = r->id;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	r->transfer_to = 0;
	memset(r->departing, 0, sizeof(r->departing));
	r->self_vote_pending = false;
	reads_drop(r);
	for (size_t i = 0; i < r->n_members; i++)
		peer_reset(r, &r->peers[i]);
	/* §5.4.2, §8: commit an entry of the new term to learn what is
	 * committed (and to commit the previous terms' entries) */
	noop.term = r->term;
	noop.type = RAFT_ENTRY_NOOP;
	(void)log_append(r, &noop);
	bcast_append(r, true);
}

static void
campaign(struct raft *r, bool pre, bool transfer)
{
	struct raft_msg m;

	/* a term never wraps (a pre-vote asks for term + 1) */
	if (!promotable(r) || r->term >= RAFT_MAX_TERM)
		return;
	r->election_elapsed = 0;
	reset_timeout(r);
	votes_reset(r);
	r->leader = 0;
	r->transfer_to = 0;
	reads_drop(r);
	if (pre) {
		/* §9.6: ask first, without disturbing anyone's term */
		r->state = RAFT_PRECANDIDATE;
		record_vote(r, r->id, true);
		if (tally(r) == 1) {
			campaign(r, false, false);
			return;
		}
	} else {
		r->state = RAFT_CANDIDATE;
		r->term++;
		r->vote = r->id;
		/* our own vote counts once it is durable (raft_persisted) */
		r->self_vote_pending = true;
		r->self_vote_batch = r->batches_out + 1;
	}
	for (size_t i = 0; i < r->n_members; i++) {
		if (!r->members[i].voter || r->members[i].id == r->id)
			continue;
		msg_init(r, &m, pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE, r->members[i].id);
		m.index = last_index(r);
		m.log_term = last_term(r);
		m.transfer = transfer;
		if (pre) {
			m.term = r->term + 1;
			queue_msg(r, &m);
		} else {
			/* only once our own vote and term are durable */
			queue_msg_after_persist(r, &m);
		}
	}
}

static void
election_result(struct raft *r)
{
	int t = tally(r);

	if (t == 1) {
		if (r->state == RAFT_PRECANDIDATE)
			campaign(r, false, false);
		else
			become_leader(r);
	} else if (t == -1) {
		become_follower(r, r->term, 0);
	}
}

/* ------------------------------------------------------------ replication */

static void
inflight_add(struct raft *r, struct peer *p, uint64_t last)
{
	p->inflight[(p->inflight_head + p->n_inflight) % r->cfg.max_inflight] = last;
	p->n_inflight++;
}

static void
inflight_free_to(struct raft *r, struct peer *p, uint64_t index)
{
	while (p->n_inflight && p->inflight[p->inflight_head] <= index) {
		p->inflight_head = (p->inflight_head + 1) % r->cfg.max_inflight;
		p->n_inflight--;
	}
}

static void
become_probe(struct peer *p)
{
	p->state = RAFT_PROGRESS_PROBE;
	p->next = p->match + 1;
	p->probe_sent = false;
	p->n_inflight = 0;
	p->inflight_head = 0;
}

static void
become_replicate(struct peer *p)
{
	p->state = RAFT_PROGRESS_REPLICATE;
	p->next = p->match + 1;
	p->probe_sent = false;
	p->n_inflight = 0;
	p->inflight_head = 0;
}

static void
request_chunk(struct raft *r, uint64_t to, struct peer *p)
{
	struct raft_chunk_read c = {
		.to = to,
		.snap_index = p->snap_index,
		.offset = p->snap_offset,
		.max_len = (uint32_t)r->cfg.snapshot_chunk,
	};

	p->snap_ticks = 0;
	(void)VEC_PUSH(r->chunk_reads, c);
}

/* The follower needs entries we no longer have: send the snapshot. */
static void
start_snapshot(struct raft *r, uint64_t to, struct peer *p)
{
	if (r->snap.index == 0)
		return;
	p->state = RAFT_PROGRESS_SNAPSHOT;
	p->snap_index = r->snap.index;
	p->snap_offset = 0;
	p->n_inflight = 0;
	p->probe_sent = false;
	request_chunk(r, to, p);
}

/*
 * Send `to` the entries from its next index, within the batch limits; the
 * entries are resolved from the log in raft_ready().  Returns whether a
 * message went out.
 */
static bool
send_append(struct raft *r, uint64_t to, struct peer *p, bool allow_empty)
{
	struct raft_msg m;
	uint64_t prev, prev_term, last = last_index(r);
	size_t n = 0, bytes = 0;

	if (p->state == RAFT_PROGRESS_SNAPSHOT)
		return false;
	if (p->state == RAFT_PROGRESS_PROBE && p->probe_sent)
		return false;
	if (p->state == RAFT_PROGRESS_REPLICATE && p->n_inflight >= r->cfg.max_inflight)
		return false;
	prev = p->next - 1;
	if (!term_of(r, prev, &prev_term)) {
		start_snapshot(r, to, p);
		return false;
	}
	for (uint64_t i = p->next; i <= last && n < r->cfg.max_append_entries; i++) {
		const struct raft_entry *e = entry_at(r, i);

		if (n && bytes + e->len > r->cfg.max_append_bytes)
			break;
		bytes += e->len;
		n++;
	}
	if (!n && !allow_empty)
		return false;
	msg_init(r, &m, RAFT_MSG_APPEND, to);
	m.prev_index = prev;
	m.prev_term = prev_term;
	m.commit = r->commit;
	m.seq = r->seq;
	m.n_entries = (uint32_t)n;
	queue_msg(r, &m);
	p->told_commit = r->commit;
	if (p->state == RAFT_PROGRESS_REPLICATE) {
		if (n) {
			/* pipelining: assume it arrives (§10.2.2) */
			p->next = prev + n + 1;
			inflight_add(r, p, prev + n);
		}
	} else {
		p->probe_sent = true;
	}
	return true;
}

static void
send_append_all(struct raft *r, uint64_t to, struct peer *p, bool allow_empty)
{
	if (!send_append(r, to, p, allow_empty))
		return;
	while (p->state == RAFT_PROGRESS_REPLICATE && send_append(r, to, p, false))
		;
}

static void
bcast_append(struct raft *r, bool allow_empty)
{
	for (size_t i = 0; i < r->n_members; i++) {
		if (r->members[i].id != r->id)
			send_append_all(r, r->members[i].id, &r->peers[i], allow_empty);
	}
}

static void
bcast_heartbeat(struct raft *r)
{
	struct raft_msg m;

	for (size_t i = 0; i < r->n_members; i++) {
		struct peer *p = &r->peers[i];

		if (r->members[i].id == r->id)
			continue;
		msg_init(r, &m, RAFT_MSG_HEARTBEAT, r->members[i].id);
		/* never more than it is known to hold: its log may differ beyond */
		m.commit = p->match < r->commit ? p->match : r->commit;
		m.seq = r->seq;
		queue_msg(r, &m);
		if (m.commit > p->told_commit)
			p->told_commit = m.commit;
	}
}

static uint64_t
self_match(const struct raft *r)
{
	uint64_t last = last_index(r);

	return r->stable < last ? r->stable : last;
}

static bool
committed_in_term(const struct raft *r)
{
	uint64_t t;

	return term_of(r, r->commit, &t) && t == r->term;
}

/* Leader: advance commit to what a quorum of voters holds durably. */
static bool
maybe_commit(struct raft *r)
{
	uint64_t *v = r->scratch, c, t;
	size_t k = 0;

	for (size_t i = 0; i < r->n_members; i++) {
		if (!r->members[i].voter)
			continue;
		/* the leader counts itself only for what it has persisted */
		v[k++] = r->members[i].id == r->id ? self_match(r) : r->peers[i].match;
	}
	if (!k)
		return false;
	for (size_t i = 1; i < k; i++) { /* descending */
		uint64_t x = v[i];
		size_t j = i;

		for (; j && v[j - 1] < x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	c = v[k / 2];
	if (c <= r->commit || !term_of(r, c, &t))
		return false;
#ifndef RAFT_BUG_COMMIT_OLD_TERM
	/* §5.4.2 (Figure 8): only an entry of the current term is committed
	 * by counting replicas; earlier ones follow it */
	if (t != r->term)
		return false;
#endif
	r->commit = c;
	return true;
}

/* ---------------------------------------------------------------- reads */

static void
emit_read(struct raft *r, uint64_t from, uint64_t ctx, uint64_t index)
{
	struct raft_msg m;
	struct raft_read_state rs = { .ctx = ctx, .index = index };

	if (from == r->id) {
		(void)VEC_PUSH(r->reads, rs);
		return;
	}
	msg_init(r, &m, RAFT_MSG_READ_INDEX_RESP, from);
	m.ctx = ctx;
	m.index = index;
	queue_msg(r, &m);
}

static bool
only_self_votes(const struct raft *r)
{
	return n_voters(r) == 1 && is_voter(r, r->id);
}

/* §6.4: ReadIndex on the leader. */
static void
leader_read(struct raft *r, uint64_t from, uint64_t ctx)
{
	struct pending_read pr = { .from = from, .ctx = ctx };

	if (!committed_in_term(r)) {
		/* the commit index is not known to be current before the
		 * leader commits an entry of its own term */
		(void)VEC_PUSH(r->reads_wait, pr);
		return;
	}
#ifdef RAFT_BUG_READ_NO_HEARTBEAT
	emit_read(r, from, ctx, r->commit);
	return;
#endif
	if (only_self_votes(r)) {
		emit_read(r, from, ctx, r->commit);
		return;
	}
	/*
	 * Confirm leadership with a heartbeat round sent after the request.
	 * One round serves every read asked for before the next batch: it goes
	 * out with that batch (raft_ready), under the next seq.
	 */
	pr.index = r->commit;
	pr.seq = r->seq + 1;
	if (VEC_PUSH(r->reads_pending, pr))
		return;
	r->read_round = true;
}

/* The heartbeat round the reads of this batch wait for (leader_read). */
static void
send_read_round(struct raft *r)
{
	if (!r->read_round)
		return;
	r->read_round = false;
	if (r->state != RAFT_LEADER)
		return;
	r->seq++;
	bcast_heartbeat(r);
}

static void
release_waiting_reads(struct raft *r)
{
	size_t n = r->reads_wait.n;
	struct pending_read *w;

	if (!n || !committed_in_term(r))
		return;
	w = r->reads_wait.v;
	r->reads_wait.v = NULL;
	r->reads_wait.n = r->reads_wait.cap = 0;
	for (size_t i = 0; i < n; i++)
		leader_read(r, w[i].from, w[i].ctx);
	free(w);
}

static void
check_reads(struct raft *r)
{
	size_t done = 0, q = quorum(r);

	while (done < r->reads_pending.n) {
		struct pending_read *pr = &r->reads_pending.v[done];
		size_t acks = 0;

		for (size_t i = 0; i < r->n_members; i++) {
			if (!r->members[i].voter)
				continue;
			if (r->members[i].id == r->id || r->peers[i].acked_seq >= pr->seq)
				acks++;
		}
		if (acks < q)
			break;
		emit_read(r, pr->from, pr->ctx, pr->index);
		done++;
	}
	if (done) {
		memmove(r->reads_pending.v, r->reads_pending.v + done,
		    (r->reads_pending.n - done) * sizeof(*r->reads_pending.v));
		r->reads_pending.n -= done;
	}
}

/* ------------------------------------------------------- leader handlers */

static void
send_timeout_now(struct raft *r, uint64_t to)
{
	struct raft_msg m;

	msg_init(r, &m, RAFT_MSG_TIMEOUT_NOW, to);
	queue_msg(r, &m);
}

/* The voter (not us) with the highest match; 0 if none. */
static uint64_t
best_voter(const struct raft *r)
{
	uint64_t best = 0, match = 0;

	for (size_t i = 0; i < r->n_members; i++) {
		if (!r->members[i].voter || r->members[i].id == r->id)
			continue;
		if (!best || r->peers[i].match > match) {
			best = r->members[i].id;
			match = r->peers[i].match;
		}
	}
	return best;
}

/*
 * Whether p holds entries up to a commit index it has not been told: an
 * append or heartbeat that carried a lower one went out before the entries
 * it holds were committed.  Only a pipelining peer with room is told alone
 * (raft_send_commit); any other hears it with the entries it is sent next.
 */
static bool
commit_untold(const struct raft *r, const struct peer *p)
{
	uint64_t known = p->match < r->commit ? p->match : r->commit;

	return p->state == RAFT_PROGRESS_REPLICATE && p->told_commit < known &&
	    p->n_inflight < r->cfg.max_inflight;
}

static void
send_commit(struct raft *r)
{
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i].id != r->id && commit_untold(r, &r->peers[i]))
			send_append(r, r->members[i].id, &r->peers[i], true);
}

/*
 * The commit index moved.  New entries go out at once and carry it, and a
 * probing peer gets its probe; to a pipelining peer a commit index alone
 * waits for the next append to carry it, or for the driver's
 * raft_send_commit() a moment later: one client writing in turn then costs
 * each follower one append and one answer a write, not two.
 */
static void
leader_committed(struct raft *r)
{
	release_waiting_reads(r);
	for (size_t i = 0; i < r->n_members; i++) {
		struct peer *p = &r->peers[i];

		if (r->members[i].id != r->id)
			send_append_all(
			    r, r->members[i].id, p, p->state != RAFT_PROGRESS_REPLICATE);
	}
	/* §4.2.2: a leader that removed itself steps down once that is
	 * committed; it hands over to the most up-to-date voter at once */
	if (!member_of(r, r->id) && r->conf_index <= r->commit) {
		uint64_t best = best_voter(r);
		struct peer *p = best ? peer_of(r, best) : NULL;

		send_commit(r); /* nobody will tell them after this */
		if (p && p->match == last_index(r))
			send_timeout_now(r, best);
		become_follower(r, r->term, 0);
	}
}

static void
maybe_commit_and_send(struct raft *r)
{
	if (maybe_commit(r))
		leader_committed(r);
}

static uint64_t
find_conflict_by_term(const struct raft *r, uint64_t index, uint64_t term)
{
	uint64_t t;

	if (index > last_index(r))
		index = last_index(r);
	while (index > r->base_index && term_of(r, index, &t) && t > term)
		index--;
	return index;
}

static void
leader_append_resp(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	uint64_t last = last_index(r);

	if (m->seq > p->acked_seq && m->seq <= r->seq)
		p->acked_seq = m->seq;
	if (m->reject) {
		uint64_t probe;

		if (p->state == RAFT_PROGRESS_SNAPSHOT)
			goto reads;
		if (p->state == RAFT_PROGRESS_REPLICATE) {
			if (m->index <= p->match)
				goto reads; /* stale */
		} else if (m->index != p->next - 1) {
			goto reads; /* stale */
		}
		/* fast back-tracking (§5.3, etcd's conflict-term hint) */
		probe = m->hint_index;
		if (m->hint_term)
			probe = find_conflict_by_term(r, m->hint_index, m->hint_term);
		become_probe(p);
		p->next = m->index < probe + 1 ? m->index : probe + 1;
		if (p->next < p->match + 1) {
			/*
			 * It lacks entries it acknowledged: its disk lost them
			 * (or this is an old duplicate).  Believe it, or the
			 * same probe goes back and forth for ever.  A lower match
			 * only delays counting it; no commit is undone.
			 */
			p->match = p->next - 1;
		}
		if (p->next > last + 1)
			p->next = last + 1; /* a confused follower */
		send_append(r, m->from, p, true);
		goto reads;
	}
	if (m->index > last)
		goto reads; /* claims entries we never sent */
	if (m->index >= p->match) {
		bool advanced = m->index > p->match;

		p->match = m->index;
		if (p->next < p->match + 1)
			p->next = p->match + 1;
		/* the probe found where our logs agree: pipeline from there */
		if (p->state == RAFT_PROGRESS_PROBE)
			become_replicate(p);
		else if (p->state == RAFT_PROGRESS_SNAPSHOT && p->match >= p->snap_index)
			become_probe(p);
		else
			inflight_free_to(r, p, m->index);
		if (m->from == r->transfer_to && p->match == last)
			send_timeout_now(r, m->from);
		if (advanced && maybe_commit(r)) {
			leader_committed(r);
			if (r->state != RAFT_LEADER)
				return;
		}
	} else if (p->state == RAFT_PROGRESS_REPLICATE) {
		inflight_free_to(r, p, m->index);
	}
	send_append_all(r, m->from, p, false);
reads:
	check_reads(r);
}

static void
leader_heartbeat_resp(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	uint64_t last = last_index(r);

	if (m->seq > p->acked_seq && m->seq <= r->seq)
		p->acked_seq = m->seq;
	p->probe_sent = false;
	if (p->state == RAFT_PROGRESS_REPLICATE && p->match < last) {
		/* no progress over a whole heartbeat round: an append was
		 * lost; fall back to probing from what it has */
		if (p->match == p->hb_match)
			become_probe(p);
	}
	p->hb_match = p->match;
	if (p->match < last)
		send_append_all(r, m->from, p, false);
	check_reads(r);
}

static void
leader_snapshot_resp(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	if (p->state != RAFT_PROGRESS_SNAPSHOT || m->index != p->snap_index)
		return;
	if (m->last) {
		if (p->match < p->snap_index)
			p->match = p->snap_index;
		become_probe(p);
		send_append(r, m->from, p, true);
		maybe_commit_and_send(r);
		return;
	}
	if (m->reject) {
		/* the follower lost the transfer: start over, with our
		 * current snapshot */
		p->snap_index = r->snap.index;
		p->snap_offset = 0;
		request_chunk(r, m->from, p);
		return;
	}
	if (m->offset > p->snap_offset) {
		p->snap_offset = m->offset;
		request_chunk(r, m->from, p);
	}
}

/* ---------------------------------------------------- departing members */

static void departing_send(struct raft *r, struct departing *d);

/*
 * A REMOVE entry was appended on the leader: remember the member it
 * removes (its progress is dropped with the membership), to send it the
 * log up to that entry (struct departing).
 */
static void
departing_track(struct raft *r, const struct raft_entry *e)
{
	struct departing *d = &r->departing[0];
	struct raft_change c;
	const struct peer *p;

	if (r->state != RAFT_LEADER || raft_change_decode(e->data, e->len, &c) ||
	    c.op != RAFT_CHANGE_REMOVE || c.id == r->id || (p = peer_of(r, c.id)) == NULL)
		return;
	for (size_t i = 1; i < MAX_DEPARTING && d->id; i++)
		if (!r->departing[i].id || r->departing[i].ticks > d->ticks)
			d = &r->departing[i];
	*d = (struct departing){
		.id = c.id, .until = e->index, .match = p->match, .next = p->match + 1
	};
	departing_send(r, d);
}

static struct departing *
departing_of(struct raft *r, uint64_t id)
{
	for (size_t i = 0; i < MAX_DEPARTING; i++)
		if (r->departing[i].id && r->departing[i].id == id)
			return &r->departing[i];
	return NULL;
}

/* One append from its next index, up to the entry that removes it. */
static void
departing_send(struct raft *r, struct departing *d)
{
	struct raft_msg m;
	uint64_t prev = d->next - 1, prev_term, last = last_index(r);
	size_t n = 0, bytes = 0;

	if (d->done)
		return;
	if (!term_of(r, prev, &prev_term)) {
		d->done = true; /* it would need a snapshot: not for a leaver */
		return;
	}
	for (uint64_t i = d->next; i <= d->until && i <= last && n < r->cfg.max_append_entries;
	     i++) {
		const struct raft_entry *e = entry_at(r, i);

		if (n && bytes + e->len > r->cfg.max_append_bytes)
			break;
		bytes += e->len;
		n++;
	}
	msg_init(r, &m, RAFT_MSG_APPEND, d->id);
	m.prev_index = prev;
	m.prev_term = prev_term;
	m.commit = r->commit;
	m.seq = r->seq;
	m.n_entries = (uint32_t)n;
	queue_msg(r, &m);
}

static uint64_t find_conflict_by_term(const struct raft *r, uint64_t index, uint64_t term);

static void
departing_resp(struct raft *r, const struct raft_msg *m, struct departing *d)
{
	if (d->done)
		return;
	if (m->reject) {
		uint64_t probe = m->hint_index;

		if (m->index != d->next - 1)
			return; /* stale */
		if (m->hint_term)
			probe = find_conflict_by_term(r, m->hint_index, m->hint_term);
		d->next = m->index < probe + 1 ? m->index : probe + 1;
		if (d->next == 0)
			d->next = 1;
	} else {
		if (m->index > last_index(r))
			return;
		if (m->index > d->match)
			d->match = m->index;
		d->next = d->match + 1;
	}
	if (d->match >= d->until) {
		d->done = true;
		return;
	}
	departing_send(r, d);
}

static void
departing_tick(struct raft *r, bool heartbeat)
{
	for (size_t i = 0; i < MAX_DEPARTING; i++) {
		struct departing *d = &r->departing[i];

		if (!d->id)
			continue;
		if (++d->ticks > DEPARTING_TIMEOUTS * r->cfg.election_ticks)
			d->id = 0;
		else if (heartbeat)
			departing_send(r, d); /* again: the last one may be lost */
	}
}

/* ----------------------------------------------------- follower handlers */

static void
commit_to(struct raft *r, uint64_t c)
{
	uint64_t last = last_index(r);

	if (c > last)
		c = last;
	if (c > r->commit)
		r->commit = c;
}

/*
 * The first index at or below the commit index where m's log differs from
 * ours (its prev entry or one of its entries), or 0.  Compacted entries
 * cannot be compared and count as agreeing.
 */
static uint64_t
committed_conflict(const struct raft *r, const struct raft_msg *m)
{
	uint64_t t;

	if (term_of(r, m->prev_index, &t) && t != m->prev_term)
		return m->prev_index;
	for (uint32_t k = 0; k < m->n_entries && m->entries[k].index <= r->commit; k++)
		if (term_of(r, m->entries[k].index, &t) && t != m->entries[k].term)
			return m->entries[k].index;
	return 0;
}

/* §5.3: AppendEntries on a follower. */
static void
follower_append(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;
	uint64_t lastnew, conflict = 0;
	size_t k;

	msg_init(r, &resp, RAFT_MSG_APPEND_RESP, m->from);
	resp.seq = m->seq;
	if (m->prev_index <= r->commit && (conflict = committed_conflict(r, m)) != 0) {
		/*
		 * It would overwrite a committed entry: no leader elected by
		 * the rules holds a log like that (§5.4.3).  Say no, and
		 * loudly (the caller logs it), rather than nothing.
		 */
		resp.reject = true;
		resp.index = m->prev_index;
		resp.hint_index = conflict - 1;
		if (!term_of(r, conflict - 1, &resp.hint_term))
			resp.hint_term = 0;
		queue_msg_after_persist(r, &resp);
		refuse(r, -EILSEQ, "AppendEntries that conflicts with a committed entry");
		return;
	}
	if (m->prev_index < r->commit) {
		resp.index = r->commit;
		queue_msg_after_persist(r, &resp);
		return;
	}
	if (!match_term(r, m->prev_index, m->prev_term)) {
		uint64_t hint = m->prev_index < last_index(r) ? m->prev_index : last_index(r);

		hint = find_conflict_by_term(r, hint, m->prev_term);
		resp.reject = true;
		resp.index = m->prev_index;
		resp.hint_index = hint;
		if (!term_of(r, hint, &resp.hint_term))
			resp.hint_term = 0;
		queue_msg_after_persist(r, &resp);
		return;
	}
	for (k = 0; k < m->n_entries; k++) {
		if (!match_term(r, m->entries[k].index, m->entries[k].term)) {
			conflict = m->entries[k].index;
			break;
		}
	}
	if (conflict) {
		if (conflict <= last_index(r))
			log_truncate(r, conflict);
		for (; k < m->n_entries; k++) {
			if (log_append(r, &m->entries[k]))
				break;
		}
	}
	lastnew = m->prev_index + m->n_entries;
	if (lastnew > last_index(r))
		lastnew = last_index(r); /* out of memory part way */
	commit_to(r, m->commit < lastnew ? m->commit : lastnew);
	caught_up(r);
	resp.index = lastnew;
	queue_msg_after_persist(r, &resp);
}

static void
follower_heartbeat(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;

	commit_to(r, m->commit);
	msg_init(r, &resp, RAFT_MSG_HEARTBEAT_RESP, m->from);
	resp.seq = m->seq;
	queue_msg(r, &resp);
}

static void
install_snapshot(struct raft *r)
{
	struct raft_member *inst_m = members_dup(r->in.members, r->in.n_members);
	struct raft_member *cur_m = members_dup(r->in.members, r->in.n_members);

	if (!inst_m || !cur_m) {
		free(inst_m);
		free(cur_m);
		return;
	}
	/* the snapshot replaces the whole log (§7) */
	free_entries(r->ents, r->n_ents);
	r->n_ents = 0;
	r->base_index = r->in.index;
	r->base_term = r->in.term;
	r->unstable = r->base_index + 1;
	r->stable = r->base_index;
	r->commit = r->base_index;
	r->applying = r->applied = r->base_index;
	meta_free(&r->snap);
	r->snap = r->in; /* takes over in.members */
	memset(&r->in, 0, sizeof(r->in));
	r->in_active = false;
	meta_free(&r->install);
	r->install = r->snap;
	r->install.members = inst_m;
	r->install_pending = true;
	r->conf_index = 0;
	set_members(r, cur_m, r->snap.n_members);
	caught_up(r);
}

static void
follower_snapshot(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;
	struct raft_chunk_write cw;
	void *data = NULL;

	msg_init(r, &resp, RAFT_MSG_SNAPSHOT_RESP, m->from);
	resp.index = m->index;
	if (m->index <= r->commit || match_term(r, m->index, m->log_term)) {
		/* we have it all already */
		if (match_term(r, m->index, m->log_term))
			commit_to(r, m->index);
		resp.last = true;
		queue_msg_after_persist(r, &resp);
		return;
	}
	if (m->offset == 0) {
		struct raft_member *mm = members_dup(m->members, m->n_members);

		if (!mm || members_check(mm, m->n_members)) {
			free(mm);
			return;
		}
		meta_free(&r->in);
		r->in.members = mm;
		r->in.n_members = m->n_members;
		r->in.index = m->index;
		r->in.term = m->log_term;
		r->in_next = 0;
		r->in_active = true;
	} else if (!r->in_active || r->in.index != m->index || r->in.term != m->log_term ||
	    m->offset != r->in_next) {
		if (r->in_active && r->in.index == m->index && r->in.term == m->log_term &&
		    m->offset + m->len <= r->in_next) {
			resp.offset = r->in_next; /* a duplicate */
		} else {
			resp.reject = true;
		}
		queue_msg_after_persist(r, &resp);
		return;
	}
	if (m->len) {
		data = malloc(m->len);
		if (!data || garbage(r, data))
			return;
		memcpy(data, m->data, m->len);
	}
	memset(&cw, 0, sizeof(cw));
	cw.meta.index = r->in.index;
	cw.meta.term = r->in.term;
	cw.offset = m->offset;
	cw.len = m->len;
	cw.data = data;
	cw.last = m->last;
	if (VEC_PUSH(r->chunk_writes, cw))
		return;
	r->in_next += m->len;
	resp.offset = r->in_next;
	if (m->last) {
		install_snapshot(r);
		resp.last = !r->in_active;
	}
	queue_msg_after_persist(r, &resp);
}

/* --------------------------------------------------------------- voting */

static bool
log_up_to_date(const struct raft *r, uint64_t index, uint64_t term)
{
#ifdef RAFT_BUG_VOTE_NO_LOG_CHECK
	return true;
#endif
	/* §5.4.1: the candidate's log is at least as up-to-date as ours */
	return term > last_term(r) || (term == last_term(r) && index >= last_index(r));
}

static void
handle_vote(struct raft *r, const struct raft_msg *m)
{
	bool pre = m->type == RAFT_MSG_PREVOTE;
	bool can =
	    r->vote == m->from || (r->vote == 0 && r->leader == 0) || (pre && m->term > r->term);
	/* a node that lost acknowledged entries votes for nobody (see
	 * catching_up()) */
	bool ok = can && !catching_up(r) && log_up_to_date(r, m->index, m->log_term);
	struct raft_msg resp;

	msg_init(r, &resp, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from);
	resp.reject = !ok;
	if (pre) {
		if (ok)
			resp.term = m->term;
		queue_msg(r, &resp);
		return;
	}
	if (ok) {
		r->vote = m->from;
		r->election_elapsed = 0;
	}
	/* the vote must be durable before anyone hears of it (§5.2, Fig. 2) */
	queue_msg_after_persist(r, &resp);
}

/* ------------------------------------------------------------------ step */

static bool
valid_entry(const struct raft_entry *e)
{
	return e->term > 0 && e->type >= RAFT_ENTRY_NORMAL && e->type <= RAFT_ENTRY_CONF &&
	    e->len <= RAFT_MAX_ENTRY_DATA && (e->len == 0 || e->data);
}

static int
validate(const struct raft *r, const struct raft_msg *m)
{
	if (!m || m->type < RAFT_MSG_APPEND || m->type > RAFT_MSG_TYPE_MAX)
		return -EINVAL;
	if (m->to != r->id || m->from == 0 || m->from == r->id || m->term == 0)
		return -EINVAL;
	if (m->type == RAFT_MSG_APPEND) {
		uint64_t t = m->prev_term;

		if (m->n_entries > RAFT_MAX_MSG_ENTRIES || (m->n_entries && !m->entries))
			return -EINVAL;
		if (m->prev_term > m->term || m->prev_index > UINT64_MAX - RAFT_MAX_MSG_ENTRIES)
			return -EINVAL;
		if (m->prev_index == 0 && m->prev_term != 0)
			return -EINVAL;
		for (uint32_t k = 0; k < m->n_entries; k++) {
			const struct raft_entry *e = &m->entries[k];

			if (e->index != m->prev_index + 1 + k || !valid_entry(e) || e->term < t ||
			    e->term > m->term)
				return -EINVAL;
			t = e->term;
		}
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		if (m->index == 0 || m->log_term == 0 || m->log_term > m->term)
			return -EINVAL;
		if (m->len > MAX_CHUNK || (m->len && !m->data) ||
		    m->offset > UINT64_MAX - MAX_CHUNK)
			return -EINVAL;
		if (m->n_members == 0 || m->n_members > RAFTCONF_MAX_MEMBERS || !m->members)
			return -EINVAL;
		for (uint32_t k = 0; k < m->n_members; k++) {
			if (m->members[k].id == 0 ||
			    m->members[k].context_len > RAFT_MAX_MEMBER_CONTEXT)
				return -EINVAL;
		}
	}
	return 0;
}

static bool
is_response(uint8_t type)
{
	return type == RAFT_MSG_APPEND_RESP || type == RAFT_MSG_HEARTBEAT_RESP ||
	    type == RAFT_MSG_PREVOTE_RESP || type == RAFT_MSG_VOTE_RESP ||
	    type == RAFT_MSG_SNAPSHOT_RESP;
}

/* A message from an older term: tell the sender our term (§5.1). */
static void
reply_stale(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;
	uint8_t type;

	switch (m->type) {
	case RAFT_MSG_APPEND:
		type = RAFT_MSG_APPEND_RESP;
		break;
	case RAFT_MSG_HEARTBEAT:
		type = RAFT_MSG_HEARTBEAT_RESP;
		break;
	case RAFT_MSG_SNAPSHOT:
		type = RAFT_MSG_SNAPSHOT_RESP;
		break;
	case RAFT_MSG_PREVOTE:
		type = RAFT_MSG_PREVOTE_RESP;
		break;
	case RAFT_MSG_VOTE:
		type = RAFT_MSG_VOTE_RESP;
		break;
	default:
		return;
	}
	msg_init(r, &resp, type, m->from);
	resp.reject = true;
	resp.index = m->type == RAFT_MSG_APPEND ? m->prev_index : m->index;
	queue_msg(r, &resp);
}

static void
step_leader(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	switch (m->type) {
	case RAFT_MSG_APPEND_RESP:
		leader_append_resp(r, m, p);
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		leader_heartbeat_resp(r, m, p);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		leader_snapshot_resp(r, m, p);
		break;
	case RAFT_MSG_READ_INDEX:
		leader_read(r, m->from, m->ctx);
		break;
	default:
		break;
	}
}

static void
step_follower(struct raft *r, const struct raft_msg *m)
{
	struct raft_read_state rs;

	switch (m->type) {
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		r->leader = m->from;
		r->election_elapsed = 0;
		if (m->type == RAFT_MSG_APPEND)
			follower_append(r, m);
		else if (m->type == RAFT_MSG_HEARTBEAT)
			follower_heartbeat(r, m);
		else
			follower_snapshot(r, m);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		/* §3.10: the leader hands over; skip pre-vote (campaign()
		 * refuses while catching_up()) */
		if (!r->leader || m->from == r->leader)
			campaign(r, false, true);
		break;
	case RAFT_MSG_READ_INDEX_RESP:
		rs.ctx = m->ctx;
		rs.index = m->index;
		if (!m->reject)
			(void)VEC_PUSH(r->reads, rs);
		break;
	default:
		break;
	}
}

static void
step_candidate(struct raft *r, const struct raft_msg *m)
{
	switch (m->type) {
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		/* §5.2: another server won this term */
		become_follower(r, m->term, m->from);
		step_follower(r, m);
		break;
	case RAFT_MSG_PREVOTE_RESP:
		if (r->state != RAFT_PRECANDIDATE)
			break;
		if (m->reject ? m->term != r->term : m->term != r->term + 1)
			break;
		record_vote(r, m->from, !m->reject);
		election_result(r);
		break;
	case RAFT_MSG_VOTE_RESP:
		if (r->state != RAFT_CANDIDATE)
			break;
		record_vote(r, m->from, !m->reject);
		election_result(r);
		break;
	case RAFT_MSG_READ_INDEX_RESP:
		step_follower(r, m);
		break;
	default:
		break;
	}
}

/*
 * Whether id is a member (a voter, if voter) of this node's configuration:
 * the latest in its log (§4.1) or, while a change is not committed, the
 * committed one.  The change may yet be undone, by the very leader it
 * leaves out: refusing that leader would keep the change for ever.
 */
static bool
in_config(const struct raft *r, uint64_t id, bool voter)
{
	const struct raft_member *m = member_of(r, id);
	struct raft_member *cm;
	size_t n;
	ptrdiff_t i;
	bool in;

	if (m && (!voter || m->voter))
		return true;
	if (r->conf_index <= r->commit ||
	    members_at(r, r->commit > r->snap.index ? r->commit : r->snap.index, &cm, &n) < 0)
		return false;
	i = members_find(cm, n, id);
	in = i >= 0 && (!voter || cm[i].voter);
	free(cm);
	return in;
}

/*
 * A voter in its leader's lease refuses a pre-vote, and says who leads
 * (ctx) in which term: a member whose log predates the leader's join knows
 * that leader only from a voter it knows (check_sender).
 */
static void
vouch_for_leader(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;

	msg_init(r, &resp, RAFT_MSG_PREVOTE_RESP, m->from);
	resp.reject = true;
	resp.ctx = r->leader;
	queue_msg(r, &resp);
}

/*
 * A message is believed only as far as its sender's role in this node's
 * configuration (the latest in its log, §4.1), whatever it claims:
 *  - only a voter asks for votes;
 *  - leader traffic comes from a member, or from the leader this node
 *    follows in this term (a leader that removed itself leads until that
 *    commits, §4.2.2), or from the one a voter of this node's
 *    configuration said leads this term (vouch_for_leader: the leader
 *    joined after this node's log ends), or reaches a node that is not in
 *    its own configuration (a new node learning the log, which cannot tell
 *    who leads until it has it); from an older term it is answered with
 *    this node's term, as any;
 *  - only the leader of this term hands over leadership (TimeoutNow);
 *  - reads are asked by members and answered by the leader.
 * Unlike the thesis (§4.1: "servers process incoming RPC requests without
 * consulting their current configurations"), so that a node that knows only
 * the cluster's name cannot vote, lead or elect.
 */
static int
check_sender(struct raft *r, const struct raft_msg *m)
{
	bool member = in_config(r, m->from, false);

	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		if (!in_config(r, m->from, true))
			return refuse(r, -EPERM,
			    "a vote request from a node that is not a voter of this node's "
			    "configuration");
		break;
	case RAFT_MSG_APPEND:
	case RAFT_MSG_HEARTBEAT:
	case RAFT_MSG_SNAPSHOT:
		if (!member && in_config(r, r->id, false) && m->term >= r->term &&
		    !(m->from == r->leader && m->term == r->term) &&
		    !(m->from == r->vouched_leader && m->term == r->vouched_term))
			return refuse(r, -EPERM,
			    "leader traffic from a node that is not a member of this node's "
			    "configuration");
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		if (m->term >= r->term &&
		    !(m->term == r->term && r->leader && m->from == r->leader))
			return refuse(r, -EPERM,
			    "TimeoutNow from a node that is not the leader of this term");
		break;
	case RAFT_MSG_READ_INDEX:
		if (!member)
			return refuse(r, -EPERM, "a read request from a node that is not a member");
		break;
	case RAFT_MSG_READ_INDEX_RESP:
		if (!member && m->from != r->leader)
			return refuse(r, -EPERM, "a read answer from a node that is not a member");
		break;
	default:
		break;
	}
	return 0;
}

/* What raft_step() refuses before it changes anything. */
static int
precheck(struct raft *r, const struct raft_msg *m)
{
	r->step_rc = 0;
	r->why = NULL;
	if (validate(r, m))
		return refuse(r, -EINVAL, "a malformed message");
	/* a term never wraps: campaign() stops below RAFT_MAX_TERM */
	if (m->term > RAFT_MAX_TERM)
		return refuse(r, -ERANGE, "its term is beyond the largest a cluster may reach");
	if (is_response(m->type) ||
	    ((m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) &&
		!in_config(r, r->id, false)))
		return 0; /* judged in raft_step() */
	return check_sender(r, m);
}

int
raft_check(struct raft *r, const struct raft_msg *m)
{
	return precheck(r, m);
}

int
raft_step(struct raft *r, const struct raft_msg *m)
{
	struct peer *p;
	int rc;

	if (r->in_ready)
		return -EBUSY;
	if ((rc = precheck(r, m)) < 0)
		return rc;
	p = peer_of(r, m->from);
	if (is_response(m->type) && !p) {
		struct departing *d = departing_of(r, m->from);

		if (d == NULL && in_config(r, m->from, false))
			return 0; /* one the latest change leaves out: nothing to track */
		if (d == NULL)
			return refuse(r, -EPERM, "a response from a node that is not a member");
		if (m->type == RAFT_MSG_APPEND_RESP && r->state == RAFT_LEADER &&
		    m->term == r->term)
			departing_resp(r, m, d);
		return 0;
	}
	if ((m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) &&
	    !in_config(r, r->id, false)) {
		struct raft_msg resp;

		/* not in its own configuration (new, or learning its log
		 * again): it votes for nobody, and says so */
		msg_init(r, &resp,
		    m->type == RAFT_MSG_VOTE ? RAFT_MSG_VOTE_RESP : RAFT_MSG_PREVOTE_RESP, m->from);
		resp.reject = true;
		queue_msg(r, &resp);
		return 0;
	}
	if (p)
		p->last_contact = 0;
	if (m->term > r->term) {
		if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
			/* §4.2.3, §6.2: while we hear from a leader, nobody
			 * else is elected, except when the leader asked: its
			 * target campaigns in the very next term (§3.10) */
			bool in_lease =
			    r->leader != 0 && r->election_elapsed < r->cfg.election_ticks;

			if (in_lease && !(m->transfer && m->term == r->term + 1)) {
				if (m->type == RAFT_MSG_PREVOTE)
					vouch_for_leader(r, m);
				return 0;
			}
		}
		if (m->type == RAFT_MSG_PREVOTE ||
		    (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)) {
			/* pre-vote never changes terms (§9.6) */
		} else if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
		    m->type == RAFT_MSG_SNAPSHOT) {
			become_follower(r, m->term, m->from);
		} else {
			become_follower(r, m->term, 0);
		}
	} else if (m->term < r->term) {
		reply_stale(r, m);
		return 0;
	}
	if (m->type == RAFT_MSG_PREVOTE_RESP && m->reject && m->ctx && m->term == r->term &&
	    in_config(r, m->from, true)) {
		/* a voter's word for who leads this term (vouch_for_leader) */
		r->vouched_leader = m->ctx;
		r->vouched_term = m->term;
	}
	if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) {
		handle_vote(r, m);
		return 0;
	}
	switch (r->state) {
	case RAFT_LEADER:
		if (p || m->type == RAFT_MSG_READ_INDEX)
			step_leader(r, m, p);
		break;
	case RAFT_PRECANDIDATE:
	case RAFT_CANDIDATE:
		step_candidate(r, m);
		break;
	default:
		step_follower(r, m);
		break;
	}
	return r->step_rc; /* an append that conflicts with a committed entry */
}

/* ------------------------------------------------------------------ ticks */

static bool
quorum_active(const struct raft *r)
{
	size_t active = 0;

	for (size_t i = 0; i < r->n_members; i++) {
		if (!r->members[i].voter)
			continue;
		if (r->members[i].id == r->id || r->peers[i].last_contact < r->cfg.election_ticks)
			active++;
	}
	return active >= quorum(r);
}

static void
tick_leader(struct raft *r)
{
	r->heartbeat_elapsed++;
	r->election_elapsed++;
	if (r->transfer_to && ++r->transfer_elapsed >= r->cfg.election_ticks)
		r->transfer_to = 0; /* §3.10: give up after an election timeout */
	if (r->election_elapsed >= r->cfg.election_ticks) {
		r->election_elapsed = 0;
		/* §6.2 check-quorum: a leader that cannot hear a majority
		 * steps down rather than serve stale reads or hang writes */
		if (!quorum_active(r)) {
			become_follower(r, r->term, 0);
			return;
		}
	}
	for (size_t i = 0; i < r->n_members; i++) {
		struct peer *p = &r->peers[i];

		if (p->state == RAFT_PROGRESS_SNAPSHOT &&
		    ++p->snap_ticks >= r->cfg.election_ticks) {
			/* no answer: restart the transfer from offset 0 */
			p->snap_index = r->snap.index;
			p->snap_offset = 0;
			request_chunk(r, r->members[i].id, p);
		}
	}
	departing_tick(r, r->heartbeat_elapsed >= r->cfg.heartbeat_ticks);
	if (r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
		r->heartbeat_elapsed = 0;
		bcast_heartbeat(r);
	}
}

void
raft_peer_reconnected(struct raft *r, uint64_t id)
{
	struct peer *p;

	if (r->in_ready || r->state != RAFT_LEADER || id == r->id || (p = peer_of(r, id)) == NULL)
		return;
	p->match = 0;
	p->next = last_index(r) + 1;
	p->state = RAFT_PROGRESS_PROBE;
	p->probe_sent = false;
	p->n_inflight = 0;
	p->inflight_head = 0;
	send_append(r, id, p, true);
}

void
raft_peer_lost(struct raft *r, uint64_t id)
{
	unsigned lead;

	if (r->in_ready || r->state == RAFT_LEADER || id == 0 || r->leader != id || !promotable(r))
		return;
	/*
	 * Within half an election timeout, at random: every follower of the
	 * dead leader sees the same reset at once, and campaigning on the same
	 * tick would split their votes.
	 */
	lead = (unsigned)(rng_next(r) % (r->cfg.election_ticks / 2 + 1));
	if (r->election_elapsed + lead < r->timeout)
		r->election_elapsed = r->timeout - lead;
}

void
raft_tick(struct raft *r)
{
	if (r->in_ready) {
		struct deferred d = { .kind = DEFER_TICK };

		(void)defer(r, d);
		return;
	}
	free_some(r);
	for (size_t i = 0; i < r->n_members; i++) {
		if (r->peers[i].last_contact < UINT32_MAX)
			r->peers[i].last_contact++;
	}
	if (r->state == RAFT_LEADER) {
		tick_leader(r);
		return;
	}
	if (r->election_elapsed < UINT32_MAX)
		r->election_elapsed++;
	if (promotable(r) && r->election_elapsed >= r->timeout)
		campaign(r, true, false);
}

/* ------------------------------------------------------------- proposals */

static int
leader_append(
    struct raft *r, uint8_t type, void *data, uint32_t len, uint64_t *index, uint64_t *term)
{
	struct raft_entry e = {
		.term = r->term,
		.index = last_index(r) + 1,
		.type = type,
		.len = len,
		.data = data,
	};
	int rc = log_append(r, &e);

	if (rc)
		return rc;
	if (index)
		*index = e.index;
	if (term)
		*term = e.term;
	bcast_append(r, false);
	return 0;
}

int
raft_propose(struct raft *r, const void *data, size_t len, uint64_t *index, uint64_t *term)
{
	if (r->in_ready)
		return -EBUSY;
	if (r->state != RAFT_LEADER)
		return -ENOTLEADER;
	if (r->transfer_to)
		return -EBUSY;
	if (len > RAFT_MAX_ENTRY_DATA)
		return -EMSGSIZE;
	if (len && !data)
		return -EINVAL;
	return leader_append(r, RAFT_ENTRY_NORMAL, (void *)data, (uint32_t)len, index, term);
}

int
raft_change(struct raft *r, enum raft_change_op op, uint64_t id, const void *context,
    size_t context_len, uint64_t *index, uint64_t *term)
{
	const struct raft_member *m;
	uint32_t len;
	void *data;
	int rc;

	if (r->in_ready)
		return -EBUSY;
	if (r->state != RAFT_LEADER)
		return -ENOTLEADER;
	if (id == 0 || context_len > RAFT_MAX_MEMBER_CONTEXT || (context_len && !context))
		return -EINVAL;
	if (r->transfer_to)
		return -EBUSY;
	/* §4.1: one change at a time */
	if (r->conf_index > r->commit)
		return -EBUSY;
	/* a new leader must commit an entry of its term before a change
	 * (the single-server change bug, Ongaro, raft-dev 2015) */
	if (!committed_in_term(r))
		return -EAGAIN;
	m = member_of(r, id);
	switch (op) {
	case RAFT_CHANGE_ADD_LEARNER:
		if (m)
			return -EEXIST;
		break;
	case RAFT_CHANGE_PROMOTE:
		if (!m)
			return -ENOENT;
		if (m->voter)
			return -EINVAL;
		/* §4.2.1: only a learner that has caught up gets a vote */
		if (peer_of(r, id)->match < r->commit)
			return -EAGAIN;
		break;
	case RAFT_CHANGE_REMOVE:
		if (!m)
			return -ENOENT;
		if (m->voter && n_voters(r) == 1)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	data = encode_change((uint8_t)op, id, context, (uint16_t)context_len, &len);
	if (!data)
		return -ENOMEM;
	rc = leader_append(r, RAFT_ENTRY_CONF, data, len, index, term);
	free(data);
	return rc;
}

/* Append a RAFT_ENTRY_CONF of this term, as a leader would (not sent). */
static int
append_change(struct raft *r, uint8_t op, uint64_t id)
{
	struct raft_entry e = {
		.term = r->term, .index = last_index(r) + 1, .type = RAFT_ENTRY_CONF
	};
	void *data = encode_change(op, id, NULL, 0, &e.len);
	int rc;

	if (!data)
		return -ENOMEM;
	e.data = data;
	rc = log_append(r, &e);
	free(data);
	return rc;
}

int
raft_force_new_cluster(struct raft *r, size_t *removed, char *err, size_t errlen)
{
	const struct raft_member *self = member_of(r, r->id);
	uint64_t others[RAFTCONF_MAX_MEMBERS];
	size_t n = 0;
	int rc;

	*removed = 0;
	if (r->in_ready || r->state != RAFT_FOLLOWER || r->unstable <= last_index(r))
		return -EBUSY;
	if (!self) {
		seterr(err, errlen, "this node is not a member in its latest configuration");
		return -ENOENT;
	}
	if (r->catch_up_to) {
		seterr(err, errlen,
		    "this node lost log entries up to %" PRIu64 " (a damaged snapshot): "
		    "its data is not the cluster's",
		    r->catch_up_to);
		return -EINVAL;
	}
	if (r->term + 1 >= RAFT_MAX_TERM) {
		seterr(err, errlen, "term %" PRIu64 " is at the top of the range", r->term);
		return -ERANGE;
	}
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i].id != r->id)
			others[n++] = r->members[i].id;
	if (n == 0 && self->voter)
		return 0;
	/* A term no leader of the old cluster can have written in yet. */
	become_follower(r, r->term + 1, 0);
	if (!self->voter && (rc = append_change(r, RAFT_CHANGE_PROMOTE, r->id)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = append_change(r, RAFT_CHANGE_REMOVE, others[i])) < 0)
			return rc;
	*removed = n;
	/* The only voter now: it campaigns at the next tick, not an election
	 * timeout from now. */
	r->election_elapsed = r->timeout;
	return 0;
}

int
raft_read_index(struct raft *r, uint64_t ctx)
{
	struct raft_msg m;

	if (r->in_ready)
		return -EBUSY;
	if (r->state == RAFT_LEADER) {
		leader_read(r, r->id, ctx);
		return 0;
	}
	if (!r->leader)
		return -ENOTLEADER;
	msg_init(r, &m, RAFT_MSG_READ_INDEX, r->leader);
	m.ctx = ctx;
	queue_msg(r, &m);
	return 0;
}

int
raft_transfer(struct raft *r, uint64_t to)
{
	struct peer *p;

	if (r->in_ready)
		return -EBUSY;
	if (r->state != RAFT_LEADER)
		return -ENOTLEADER;
	if (to == 0)
		to = best_voter(r);
	if (to == 0 || to == r->id || !is_voter(r, to))
		return -EINVAL;
	r->transfer_to = to;
	r->transfer_elapsed = 0;
	p = peer_of(r, to);
	if (p->match == last_index(r))
		send_timeout_now(r, to);
	else
		send_append_all(r, to, p, false);
	return 0;
}

/* --------------------------------------------------- persistence, apply */

static void
persisted(struct raft *r, uint64_t index, uint64_t term)
{
	r->batches_persisted++;
	if (index > r->stable && match_term(r, index, term))
		r->stable = index;
	if (r->state == RAFT_CANDIDATE && r->self_vote_pending &&
	    r->batches_persisted >= r->self_vote_batch) {
		r->self_vote_pending = false;
		record_vote(r, r->id, true);
		election_result(r);
	}
	if (r->state == RAFT_LEADER)
		maybe_commit_and_send(r);
}

void
raft_persisted(struct raft *r, uint64_t index, uint64_t term)
{
	if (r->in_ready) {
		struct deferred d = { .kind = DEFER_PERSISTED, .index = index, .term = term };

		(void)defer(r, d);
		return;
	}
	persisted(r, index, term);
}

int
raft_applied(struct raft *r, uint64_t index)
{
	if (index > r->applying)
		return -EINVAL;
	if (index > r->applied)
		r->applied = index;
	return 0;
}

int
raft_reapply(struct raft *r, uint64_t index)
{
	if (r->in_ready)
		return -EBUSY;
	if (index < r->base_index || index < r->snap.index || index > r->applying)
		return -EINVAL;
	r->applying = r->applied = index;
	return 0;
}

/* The meta of a snapshot at index (see raft_snapshot_taken for -EINVAL). */
static int
meta_at(const struct raft *r, uint64_t index, struct meta *out)
{
	uint64_t t;
	int rc;

	if (index > r->applied || index <= r->snap.index || !term_of(r, index, &t))
		return -EINVAL;
	rc = members_at(r, index, &out->members, &out->n_members);
	if (rc)
		return rc;
	out->index = index;
	out->term = t;
	return 0;
}

int
raft_snapshot_taken(struct raft *r, uint64_t index)
{
	struct meta m;
	int rc;

	if (r->in_ready)
		return -EBUSY;
	rc = meta_at(r, index, &m);
	if (rc)
		return rc;
	meta_free(&r->snap);
	r->snap = m;
	/* transfers of the older snapshot start over with this one */
	if (r->state == RAFT_LEADER) {
		for (size_t i = 0; i < r->n_members; i++) {
			struct peer *p = &r->peers[i];

			if (p->state != RAFT_PROGRESS_SNAPSHOT)
				continue;
			p->snap_index = index;
			p->snap_offset = 0;
			request_chunk(r, r->members[i].id, p);
		}
	}
	return 0;
}

int
raft_snapshot_meta_at(struct raft *r, uint64_t index, struct raft_snapshot_meta *meta)
{
	struct meta m;
	int rc;

	rc = meta_at(r, index, &m);
	if (rc)
		return rc;
	meta_free(&r->at);
	r->at = m;
	meta->index = m.index;
	meta->term = m.term;
	meta->n_members = (uint32_t)m.n_members;
	meta->members = m.members;
	return 0;
}

int
raft_compact(struct raft *r, uint64_t index)
{
	if (r->in_ready)
		return -EBUSY;
	if (index <= r->base_index)
		return 0;
	if (index > r->snap.index || index > r->applied || index > r->stable ||
	    index > last_index(r))
		return -EINVAL;
	log_compact(r, index);
	return 0;
}

static int
chunk_check(const struct raft *r, uint64_t to, uint64_t snap_index, uint64_t offset,
    const void *data, size_t len)
{
	const struct peer *p;

	if (len > r->cfg.snapshot_chunk || (len && !data))
		return -EINVAL;
	if (r->state != RAFT_LEADER)
		return -ESTALE;
	p = peer_of(r, to);
	if (!p || p->state != RAFT_PROGRESS_SNAPSHOT || p->snap_index != snap_index ||
	    snap_index != r->snap.index || p->snap_offset != offset)
		return -ESTALE;
	return 0;
}

static int
chunk_send(struct raft *r, uint64_t to, uint64_t snap_index, uint64_t offset, const void *data,
    size_t len, bool last)
{
	struct raft_msg m;
	void *copy = NULL;
	int rc = chunk_check(r, to, snap_index, offset, data, len);

	if (rc)
		return rc;
	if (len) {
		copy = malloc(len);
		if (!copy || garbage(r, copy))
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	msg_init(r, &m, RAFT_MSG_SNAPSHOT, to);
	m.index = snap_index;
	m.log_term = r->snap.term;
	m.offset = offset;
	m.len = (uint32_t)len;
	m.data = copy;
	m.last = last;
	/* members are filled in by raft_ready() */
	queue_msg(r, &m);
	return 0;
}

int
raft_snapshot_chunk(struct raft *r, uint64_t to, uint64_t snap_index, uint64_t offset,
    const void *data, size_t len, bool last)
{
	struct deferred d = {
		.kind = DEFER_CHUNK,
		.to = to,
		.index = snap_index,
		.offset = offset,
		.len = (uint32_t)len,
		.last = last,
	};
	int rc;

	if (!r->in_ready)
		return chunk_send(r, to, snap_index, offset, data, len, last);
	rc = chunk_check(r, to, snap_index, offset, data, len);
	if (rc)
		return rc;
	if (len) {
		d.data = malloc(len);
		if (!d.data)
			return -ENOMEM;
		memcpy(d.data, data, len);
	}
	return defer(r, d);
}

/* ------------------------------------------------------------------ ready */

static uint64_t
apply_upto(const struct raft *r)
{
#ifdef RAFT_BUG_APPLY_BEFORE_COMMIT
	return r->stable;
#else
	/* only committed entries, and only once durable here; a follower's
	 * answer for the entries it is writing goes first (raft_ready) */
	if (r->batches_persisted < r->apply_batch)
		return r->applying;
	return r->commit < r->stable ? r->commit : r->stable;
#endif
}

static enum raft_role
role_of(const struct raft *r)
{
	const struct raft_member *m = member_of(r, r->id);

	if (r->state != RAFT_FOLLOWER)
		return r->state;
	if (!m)
		return RAFT_SPARE;
	return m->voter ? RAFT_FOLLOWER : RAFT_LEARNER;
}

static bool
hs_changed(const struct raft *r)
{
	return r->term != r->prev_hs.term || r->vote != r->prev_hs.vote ||
	    r->commit != r->prev_hs.commit;
}

static bool
status_changed(const struct raft *r)
{
	return role_of(r) != r->last_role || r->term != r->last_term || r->leader != r->last_leader;
}

bool
raft_commit_unsent(const struct raft *r)
{
	if (r->state != RAFT_LEADER)
		return false;
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i].id != r->id && commit_untold(r, &r->peers[i]))
			return true;
	return false;
}

void
raft_send_commit(struct raft *r)
{
	if (!r->in_ready && r->state == RAFT_LEADER)
		send_commit(r);
}

bool
raft_has_ready(const struct raft *r)
{
	return hs_changed(r) || r->unstable <= last_index(r) || r->install_pending || r->msgs.n ||
	    r->msgs_after.n || r->reads.n || r->chunk_reads.n || r->chunk_writes.n ||
	    r->members_changed || status_changed(r) || r->read_round || apply_upto(r) > r->applying;
}

/* Point messages at the log and snapshot they describe; false: drop it. */
static bool
resolve_msg(struct raft *r, struct raft_msg *m)
{
	if (m->type == RAFT_MSG_APPEND && m->n_entries) {
		/* a leader's log only grows within its term; anything else
		 * means the message is obsolete */
		if (r->state != RAFT_LEADER || m->term != r->term ||
		    m->prev_index < r->base_index || m->prev_index + m->n_entries > last_index(r))
			return false;
		m->entries = entry_at(r, m->prev_index + 1);
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		if (m->index != r->snap.index)
			return false;
		m->members = r->snap.members;
		m->n_members = (uint32_t)r->snap.n_members;
	}
	return true;
}

static size_t
resolve_msgs(struct raft *r, struct raft_msg *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (resolve_msg(r, &v[i]))
			v[k++] = v[i];
	}
	return k;
}

void
raft_ready(struct raft *r, struct raft_ready *rd)
{
	uint64_t last = last_index(r), upto;

	send_read_round(r);
	memset(rd, 0, sizeof(*rd));
	if (hs_changed(r)) {
		rd->has_hard_state = true;
		rd->hs.term = r->term;
		rd->hs.vote = r->vote;
		rd->hs.commit = r->commit;
		r->prev_hs = rd->hs;
	}
	if (r->install_pending) {
		rd->snapshot = &r->install_rd;
		r->install_rd.index = r->install.index;
		r->install_rd.term = r->install.term;
		r->install_rd.n_members = (uint32_t)r->install.n_members;
		r->install_rd.members = r->install.members;
	}
	if (r->unstable <= last) {
		rd->entries = entry_at(r, r->unstable);
		rd->n_entries = (size_t)(last - r->unstable + 1);
	}
	r->unstable = last + 1;
	rd->chunk_writes = r->chunk_writes.v;
	rd->n_chunk_writes = r->chunk_writes.n;
	rd->must_persist =
	    rd->has_hard_state || rd->n_entries || rd->snapshot || rd->n_chunk_writes;
	if (rd->must_persist) {
		rd->persist_index = last;
		rd->persist_term = last_term(r);
		r->batches_out++;
		/* A follower writing entries it must answer for applies what is
		 * committed once they are durable and the answer has left: the
		 * apply then costs the leader nothing.  One wait at a time, so
		 * a stream of appends never starves the apply. */
		if (rd->n_entries && r->state != RAFT_LEADER && r->msgs_after.n &&
		    r->batches_persisted >= r->apply_batch)
			r->apply_batch = r->batches_out;
	}
	r->msgs.n = resolve_msgs(r, r->msgs.v, r->msgs.n);
	r->msgs_after.n = resolve_msgs(r, r->msgs_after.v, r->msgs_after.n);
	rd->msgs = r->msgs.v;
	rd->n_msgs = r->msgs.n;
	rd->msgs_after_persist = r->msgs_after.v;
	rd->n_msgs_after_persist = r->msgs_after.n;
	upto = apply_upto(r);
	if (upto > r->applying) {
		rd->committed = entry_at(r, r->applying + 1);
		rd->n_committed = (size_t)(upto - r->applying);
		r->applying = upto;
	}
	rd->reads = r->reads.v;
	rd->n_reads = r->reads.n;
	rd->chunk_reads = r->chunk_reads.v;
	rd->n_chunk_reads = r->chunk_reads.n;
	rd->members_changed = r->members_changed;
	r->members_changed = false;
	rd->status_changed = status_changed(r);
	r->last_role = role_of(r);
	r->last_term = r->term;
	r->last_leader = r->leader;
	r->in_ready = true;
}

void
raft_advance(struct raft *r, struct raft_ready *rd)
{
	for (size_t i = 0; i < r->garbage.n; i++)
		free(r->garbage.v[i]);
	r->garbage.n = 0;
	r->msgs.n = 0;
	r->msgs_after.n = 0;
	r->reads.n = 0;
	r->chunk_reads.n = 0;
	r->chunk_writes.n = 0;
	if (rd->snapshot) {
		meta_free(&r->install);
		r->install_pending = false;
	}
	memset(rd, 0, sizeof(*rd));
	r->in_ready = false;
	/* now that the batch is released, what was called meanwhile */
	for (size_t i = 0; i < r->deferred.n; i++) {
		struct deferred *d = &r->deferred.v[i];

		switch (d->kind) {
		case DEFER_PERSISTED:
			persisted(r, d->index, d->term);
			break;
		case DEFER_CHUNK:
			(void)chunk_send(r, d->to, d->index, d->offset, d->data, d->len, d->last);
			break;
		case DEFER_TICK:
			raft_tick(r);
			break;
		}
		free(d->data);
	}
	r->deferred.n = 0;
}

/* -------------------------------------------------------------- accessors */

const char *
raft_step_why(const struct raft *r)
{
	return r->why ? r->why : "";
}

uint64_t
raft_id(const struct raft *r)
{
	return r->id;
}

uint64_t
raft_leader(const struct raft *r)
{
	return r->leader;
}

void
raft_status(const struct raft *r, struct raft_status *st)
{
	memset(st, 0, sizeof(*st));
	st->id = r->id;
	st->role = role_of(r);
	st->term = r->term;
	st->vote = r->vote;
	st->leader = r->leader;
	st->commit = r->commit;
	st->applied = r->applied;
	st->first_index = r->base_index + 1;
	st->last_index = last_index(r);
	st->last_term = last_term(r);
	st->snapshot_index = r->snap.index;
	st->snapshot_term = r->snap.term;
	st->transfer_to = r->state == RAFT_LEADER ? r->transfer_to : 0;
	st->catch_up_to = r->catch_up_to;
}

const struct raft_member *
raft_members(const struct raft *r, size_t *n)
{
	*n = r->n_members;
	return r->members;
}

int
raft_progress(const struct raft *r, uint64_t id, struct raft_progress *pr)
{
	ptrdiff_t i;
	const struct peer *p;

	if (r->state != RAFT_LEADER)
		return -ENOTLEADER;
	i = members_find(r->members, r->n_members, id);
	if (i < 0)
		return -ENOENT;
	p = &r->peers[i];
	memset(pr, 0, sizeof(*pr));
	pr->id = id;
	pr->voter = r->members[i].voter;
	if (id == r->id) {
		pr->state = RAFT_PROGRESS_REPLICATE;
		pr->match = self_match(r);
		pr->next = last_index(r) + 1;
		return 0;
	}
	pr->state = p->state;
	pr->match = p->match;
	pr->next = p->next;
	pr->inflight = p->n_inflight;
	pr->last_contact = p->last_contact;
	pr->snapshot_index = p->state == RAFT_PROGRESS_SNAPSHOT ? p->snap_index : 0;
	pr->snapshot_offset = p->state == RAFT_PROGRESS_SNAPSHOT ? p->snap_offset : 0;
	return 0;
}

int
raft_term_at(const struct raft *r, uint64_t index, uint64_t *term)
{
	if (term_of(r, index, term))
		return 0;
	if (index && index == r->snap.index) {
		*term = r->snap.term;
		return 0;
	}
	return -ENOENT;
}

void
raft_snapshot_meta(const struct raft *r, struct raft_snapshot_meta *meta)
{
	meta->index = r->snap.index;
	meta->term = r->snap.term;
	meta->n_members = (uint32_t)r->snap.n_members;
	meta->members = r->snap.members;
}

const char *
raft_role_name(enum raft_role role)
{
	switch (role) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_PRECANDIDATE:
		return "pre-candidate";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	case RAFT_LEARNER:
		return "learner";
	case RAFT_SPARE:
		return "spare";
	}
	return "unknown";
}

const char *
raft_msg_type_name(int type)
{
	static const char *const names[] = {
		[RAFT_MSG_APPEND] = "append",
		[RAFT_MSG_APPEND_RESP] = "append-resp",
		[RAFT_MSG_HEARTBEAT] = "heartbeat",
		[RAFT_MSG_HEARTBEAT_RESP] = "heartbeat-resp",
		[RAFT_MSG_PREVOTE] = "prevote",
		[RAFT_MSG_PREVOTE_RESP] = "prevote-resp",
		[RAFT_MSG_VOTE] = "vote",
		[RAFT_MSG_VOTE_RESP] = "vote-resp",
		[RAFT_MSG_SNAPSHOT] = "snapshot",
		[RAFT_MSG_SNAPSHOT_RESP] = "snapshot-resp",
		[RAFT_MSG_TIMEOUT_NOW] = "timeout-now",
		[RAFT_MSG_READ_INDEX] = "read-index",
		[RAFT_MSG_READ_INDEX_RESP] = "read-index-resp",
	};

	if (type < RAFT_MSG_APPEND || type > RAFT_MSG_TYPE_MAX)
		return "unknown";
	return names[type];
}

const char *
raft_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err == ENOTLEADER)
		return "not the leader";
	return strerror(err);
}

/* ------------------------------------------------------------- lifecycle */

static int
config_defaults(struct raft_config *c, char *err, size_t errlen)
{
	if (c->id == 0) {
		seterr(err, errlen, "raft: node id must be nonzero");
		return -EINVAL;
	}
	if (!c->heartbeat_ticks)
		c->heartbeat_ticks = DEFAULT_HEARTBEAT;
	if (!c->election_ticks)
		c->election_ticks = DEFAULT_ELECTION;
	if (!c->max_append_entries)
		c->max_append_entries = DEFAULT_MAX_ENTRIES;
	if (!c->max_append_bytes)
		c->max_append_bytes = DEFAULT_MAX_BYTES;
	if (!c->max_inflight)
		c->max_inflight = DEFAULT_MAX_INFLIGHT;
	if (!c->snapshot_chunk)
		c->snapshot_chunk = RAFTCONF_SNAPSHOT_CHUNK;
	if (c->election_ticks <= c->heartbeat_ticks) {
		seterr(err, errlen, "raft: election timeout must exceed the heartbeat interval");
		return -EINVAL;
	}
	if (c->max_append_entries > RAFT_MAX_MSG_ENTRIES || c->snapshot_chunk > MAX_CHUNK ||
	    c->max_inflight > 65536) {
		seterr(err, errlen, "raft: a limit in the configuration is too large");
		return -EINVAL;
	}
	return 0;
}

/* The bootstrap entry: index 1, term 1, the whole initial membership. */
static int
bootstrap(struct raft *r, const struct raft_init *in, char *err, size_t errlen)
{
	struct raft_member *m = members_dup(in->bootstrap, in->n_bootstrap);
	struct raft_entry e = { .term = 1, .index = 1, .type = RAFT_ENTRY_CONF };
	int rc = -EINVAL;

	if (!m)
		return -ENOMEM;
	if (in->n_bootstrap > RAFTCONF_MAX_MEMBERS || members_check(m, in->n_bootstrap)) {
		seterr(err, errlen, "raft: bad bootstrap membership (zero or duplicate id)");
		goto out;
	}
	if (members_find(m, in->n_bootstrap, r->id) < 0) {
		rc = 0; /* a spare: wait for a leader */
		goto out;
	}
	e.data = encode_bootstrap(m, in->n_bootstrap, &e.len);
	rc = e.data ? log_append(r, &e) : -ENOMEM;
	free(e.data);
	if (rc == 0) {
		r->term = 1;
		r->commit = 1;
	}
out:
	free(m);
	return rc;
}

static int
restore(struct raft *r, const struct raft_init *in, char *err, size_t errlen)
{
	const struct raft_snapshot_meta *s = in->snapshot;
	const struct raft_entry *e = in->entries;
	size_t n = in->n_entries;
	uint64_t prev_term = 0;
	int rc;

	if (s && s->index) {
		if (!s->term || s->n_members > RAFTCONF_MAX_MEMBERS ||
		    (s->n_members && !s->members)) {
			seterr(err, errlen, "raft: bad snapshot metadata");
			return -EINVAL;
		}
		r->snap.members = members_dup(s->members, s->n_members);
		if (!r->snap.members)
			return -ENOMEM;
		r->snap.n_members = s->n_members;
		r->snap.index = s->index;
		r->snap.term = s->term;
		if (members_check(r->snap.members, s->n_members)) {
			seterr(err, errlen, "raft: bad snapshot membership");
			return -EINVAL;
		}
		r->base_index = s->index;
		r->base_term = s->term;
	}
	for (size_t i = 0; i < n; i++) {
		if (!valid_entry(&e[i]) || (i && e[i].index != e[i - 1].index + 1) ||
		    e[i].term < prev_term) {
			seterr(err, errlen, "raft: stored log entries are not consecutive");
			return -EINVAL;
		}
		prev_term = e[i].term;
	}
	if (n && r->snap.index) {
		uint64_t first = e[0].index;

		if (first > r->snap.index + 1) {
			seterr(err, errlen, "raft: stored log does not reach the snapshot");
			return -EINVAL;
		}
		if (first <= r->snap.index) {
			/* keep the trailing margin below the snapshot when it
			 * connects; the first entry only gives its term */
			if (e[n - 1].index >= r->snap.index &&
			    e[r->snap.index - first].term == r->snap.term) {
				r->base_index = first;
				r->base_term = e[0].term;
				e++;
				n--;
			} else {
				n = 0; /* stale: the snapshot supersedes them */
			}
		}
	} else if (n && e[0].index != 1) {
		seterr(err, errlen, "raft: stored log does not start at 1 and no snapshot");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct raft_entry copy = e[i];

		copy.index = last_index(r) + 1;
		if (copy.index != e[i].index) {
			seterr(err, errlen, "raft: stored log does not connect");
			return -EINVAL;
		}
		rc = log_append(r, &copy);
		if (rc)
			return rc;
	}
	r->term = in->hs.term;
	r->vote = in->hs.vote;
	if (r->term < last_term(r)) {
		r->term = last_term(r);
		r->vote = 0;
	}
	r->commit = in->hs.commit;
	if (r->commit > last_index(r))
		r->commit = last_index(r);
	if (r->commit < r->snap.index)
		r->commit = r->snap.index;
	r->prev_hs.term = in->hs.term;
	r->prev_hs.vote = in->hs.vote;
	r->prev_hs.commit = in->hs.commit;
	r->applied = in->applied > r->snap.index ? in->applied : r->snap.index;
	if (r->applied > r->commit)
		r->applied = r->commit;
	r->applying = r->applied;
	r->stable = last_index(r);
	r->unstable = last_index(r) + 1;
	return 0;
}

int
raft_new(const struct raft_config *cfg, const struct raft_init *init, struct raft **out, char *err,
    size_t errlen)
{
	static const struct raft_init empty;
	struct raft *r;
	uint64_t x;
	int rc;

	if (!init)
		init = &empty;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	rc = config_defaults(&r->cfg, err, errlen);
	if (rc)
		goto fail;
	r->id = r->cfg.id;
	x = r->cfg.seed ^ (r->id * 0x9e3779b97f4a7c15ULL);
	for (int i = 0; i < 4; i++)
		r->rng[i] = splitmix64(&x);
	r->state = RAFT_FOLLOWER;
	r->members = calloc(1, sizeof(*r->members));
	r->peers = calloc(1, sizeof(*r->peers));
	r->scratch = calloc(1, sizeof(*r->scratch));
	if (!r->members || !r->peers || !r->scratch) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = restore(r, init, err, errlen);
	if (rc)
		goto fail;
	members_recompute(r);
	if (!r->n_members && !init->hs.term && !last_index(r) && !r->snap.index &&
	    init->n_bootstrap) {
		rc = bootstrap(r, init, err, errlen);
		if (rc)
			goto fail;
		r->unstable = 1;
		r->stable = 0;
	}
	r->unstable = r->unstable > last_index(r) + 1 ? last_index(r) + 1 : r->unstable;
	r->catch_up_to = init->catch_up_to;
	caught_up(r);
	r->last_role = role_of(r);
	r->last_term = r->term;
	reset_timeout(r);
	/*
	 * Start with all but one tick of the minimum timeout elapsed (etcd's
	 * initial election tick advance): a fresh cluster elects in 1 to
	 * election_ticks ticks rather than election_ticks to twice that.  A
	 * node restarting into a live cluster hears its leader first, and
	 * pre-vote keeps it from disturbing the leader if not.
	 */
	r->election_elapsed = r->cfg.election_ticks - 1;
	*out = r;
	return 0;
fail:
	if (rc == -ENOMEM)
		seterr(err, errlen, "raft: out of memory");
	raft_free(r);
	return rc;
}

void
raft_free(struct raft *r)
{
	if (!r)
		return;
	free_entries(r->ents, r->n_ents);
	free(r->ents);
	meta_free(&r->snap);
	meta_free(&r->at);
	meta_free(&r->install);
	meta_free(&r->in);
	for (size_t i = 0; i < r->n_members; i++)
		free(r->peers[i].inflight);
	free(r->peers);
	free(r->members);
	free(r->scratch);
	free(r->reads_wait.v);
	free(r->reads_pending.v);
	free(r->msgs.v);
	free(r->msgs_after.v);
	free(r->reads.v);
	free(r->chunk_reads.v);
	free(r->chunk_writes.v);
	for (size_t i = 0; i < r->garbage.n; i++)
		free(r->garbage.v[i]);
	free(r->garbage.v);
	for (size_t i = 0; i < r->to_free.n; i++)
		free(r->to_free.v[i]);
	free(r->to_free.v);
	for (size_t i = 0; i < r->deferred.n; i++)
		free(r->deferred.v[i].data);
	free(r->deferred.v);
	free(r);
}
