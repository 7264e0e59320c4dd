/*
 * raft_log.c — the log in memory and the configuration it carries: entries
 * appended, truncated and compacted, terms looked up, the commit index
 * moved along the log; RAFT_ENTRY_CONF entries encoded and decoded, and the
 * membership they make, which takes effect when an entry is appended and
 * reverts when it is truncated (§4.1), with each member's progress slot;
 * and the members a leader's change just removed, sent the log up to the
 * entry that removes them.
 *
 * Not here: when entries are appended or sent (raft_replicate.c), the rules
 * of a change (raft_member.c), and the durable log (the caller's).
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "members.h"
#include "raft.h"
#include "raft_int.h"

static void departing_track(struct raft *r, const struct raft_entry *e);
static void departing_send(struct raft *r, struct departing *d);

/* ----------------------------------------------------- membership entries */

/*
 * RAFT_ENTRY_CONF data, little-endian:
 *   op:u8, then for ADD_LEARNER / PROMOTE / REMOVE: id:u64 ctx_len:u16 ctx;
 *   for BOOTSTRAP: the membership as members.h encodes it (n:u32, then n
 *   times id:u64 voter:u8 ctx_len:u16 ctx).
 */
void *
raft__encode_change(uint8_t op, uint64_t id, const void *ctx, uint16_t ctx_len, uint32_t *len)
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

void *
raft__encode_bootstrap(const struct raft_member *m, size_t n, uint32_t *len)
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
int
raft__members_check(struct raft_member *m, size_t n)
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

struct raft_member *
raft__members_dup(const struct raft_member *m, size_t n)
{
	struct raft_member *p = malloc((n ? n : 1) * sizeof(*p));

	if (p && n)
		memcpy(p, m, n * sizeof(*p));
	return p;
}

ptrdiff_t
raft__members_find(const struct raft_member *m, size_t n, uint64_t id)
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
		    raft__members_check(nm, count))
			goto bad;
		*out = nm;
		*out_n = count;
		return 0;
bad:
		free(nm);
		return -EINVAL;
	}
	at = raft__members_find(m, n, c.id);
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

uint64_t
raft__last_index(const struct raft *r)
{
	return r->base_index + r->n_ents;
}

struct raft_entry *
raft__entry_at(const struct raft *r, uint64_t i)
{
	if (i <= r->base_index || i > raft__last_index(r))
		return NULL;
	return &r->ents[i - r->base_index - 1];
}

/* Term of entry i; false when unknown (compacted or beyond the log). */
bool
raft__term_of(const struct raft *r, uint64_t i, uint64_t *t)
{
	if (i == r->base_index) {
		*t = r->base_term;
		return true;
	}
	if (i < r->base_index || i > raft__last_index(r))
		return false;
	*t = r->ents[i - r->base_index - 1].term;
	return true;
}

uint64_t
raft__last_term(const struct raft *r)
{
	return r->n_ents ? r->ents[r->n_ents - 1].term : r->base_term;
}

bool
raft__match_term(const struct raft *r, uint64_t i, uint64_t t)
{
	uint64_t have;

	return raft__term_of(r, i, &have) && have == t;
}

void
raft__free_entries(struct raft_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].data);
}

/* Free a slice of what compaction dropped: at least RAFT_FREE_SLICE, and an
 * eighth of what waits, so that the backlog stays a few ticks of input. */
#define RAFT_FREE_SLICE 2048

void
raft__free_some(struct raft *r)
{
	size_t n = r->to_free.n / 8 > RAFT_FREE_SLICE ? r->to_free.n / 8 : RAFT_FREE_SLICE;

	while (n-- > 0 && r->to_free.n > 0)
		free(r->to_free.v[--r->to_free.n]);
}

/* Drop entries >= i (i > commit: never a committed one). */
void
raft__log_truncate(struct raft *r, uint64_t i)
{
	size_t keep = (size_t)(i - r->base_index - 1);

	raft__free_entries(r->ents + keep, r->n_ents - keep);
	r->n_ents = keep;
	if (r->unstable > i)
		r->unstable = i;
	if (r->stable >= i)
		r->stable = i - 1;
	/* §4.1: a configuration reverts when its entry is removed */
	if (r->conf_index >= i)
		raft__members_recompute(r);
}

/* Append a copy of e (index must be last + 1); applies a CONF entry. */
int
raft__log_append(struct raft *r, const struct raft_entry *e)
{
	struct raft_entry *n;
	void *data = NULL;

	if (raft__vec_grow((void **)&r->ents, &r->cap_ents, r->n_ents + 1, sizeof(*r->ents)))
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
			raft__set_members(r, nm, nn);
		}
		r->conf_index = n->index;
	}
	return 0;
}

/* Free entries <= i (i <= last). */
void
raft__log_compact(struct raft *r, uint64_t i)
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

uint64_t
raft__find_conflict_by_term(const struct raft *r, uint64_t index, uint64_t term)
{
	uint64_t t;

	if (index > raft__last_index(r))
		index = raft__last_index(r);
	while (index > r->base_index && raft__term_of(r, index, &t) && t > term)
		index--;
	return index;
}

void
raft__commit_to(struct raft *r, uint64_t c)
{
	uint64_t last = raft__last_index(r);

	if (c > last)
		c = last;
	if (c > r->commit)
		r->commit = c;
}

/* The log reached the index it had lost entries up to: back to normal. */
void
raft__caught_up(struct raft *r)
{
	if (r->catch_up_to && raft__last_index(r) >= r->catch_up_to)
		r->catch_up_to = 0;
}

/* ------------------------------------------------------------- membership */

struct peer *
raft__peer_of(const struct raft *r, uint64_t id)
{
	ptrdiff_t i = raft__members_find(r->members, r->n_members, id);

	return i < 0 ? NULL : &r->peers[i];
}

const struct raft_member *
raft__member_of(const struct raft *r, uint64_t id)
{
	ptrdiff_t i = raft__members_find(r->members, r->n_members, id);

	return i < 0 ? NULL : &r->members[i];
}

bool
raft__is_voter(const struct raft *r, uint64_t id)
{
	const struct raft_member *m = raft__member_of(r, id);

	return m && m->voter;
}

size_t
raft__n_voters(const struct raft *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_members; i++)
		n += r->members[i].voter;
	return n;
}

size_t
raft__quorum(const struct raft *r)
{
	return raft__n_voters(r) / 2 + 1;
}

void
raft__peer_reset(struct raft *r, struct peer *p)
{
	uint64_t *inflight = p->inflight;

	memset(p, 0, sizeof(*p));
	p->inflight = inflight;
	p->next = raft__last_index(r) + 1;
	p->state = RAFT_PROGRESS_PROBE;
}

/*
 * Install a new membership (takes ownership of m): progress is kept for
 * members that stay; new ones start probing from the end of the log.
 */
void
raft__set_members(struct raft *r, struct raft_member *m, size_t n)
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
		struct peer *old = raft__peer_of(r, m[i].id);

		for (size_t k = 0; k < MAX_DEPARTING; k++)
			if (r->departing[k].id == m[i].id)
				r->departing[k].id = 0; /* a member again */
		if (old) {
			np[i] = *old;
			old->inflight = NULL;
			continue;
		}
		np[i].inflight = calloc(r->cfg.max_inflight, sizeof(uint64_t));
		raft__peer_reset(r, &np[i]);
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
	if (r->transfer_to && !raft__is_voter(r, r->transfer_to))
		r->transfer_to = 0;
}

/* The membership from the snapshot's plus every CONF entry after it. */
void
raft__members_recompute(struct raft *r)
{
	struct raft_member *m = raft__members_dup(r->snap.members, r->snap.n_members);
	size_t n = r->snap.n_members;
	uint64_t from = r->snap.index > r->base_index ? r->snap.index : r->base_index;

	if (!m)
		return;
	r->conf_index = 0;
	for (uint64_t i = from + 1; i <= raft__last_index(r); i++) {
		struct raft_entry *e = raft__entry_at(r, i);
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
	raft__set_members(r, m, n);
}

/* The membership as of index i (snap.index <= i <= last). */
int
raft__members_at(const struct raft *r, uint64_t i, struct raft_member **out, size_t *out_n)
{
	struct raft_member *m = raft__members_dup(r->snap.members, r->snap.n_members);
	size_t n = r->snap.n_members;

	if (!m)
		return -ENOMEM;
	for (uint64_t k = r->snap.index + 1; k <= i; k++) {
		struct raft_entry *e = raft__entry_at(r, k);
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

/* ------------------------------------------------------ departing members */

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
	    c.op != RAFT_CHANGE_REMOVE || c.id == r->id || (p = raft__peer_of(r, c.id)) == NULL)
		return;
	for (size_t i = 1; i < MAX_DEPARTING && d->id; i++)
		if (!r->departing[i].id || r->departing[i].ticks > d->ticks)
			d = &r->departing[i];
	*d = (struct departing){
		.id = c.id, .until = e->index, .match = p->match, .next = p->match + 1
	};
	departing_send(r, d);
}

struct departing *
raft__departing_of(struct raft *r, uint64_t id)
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
	uint64_t prev = d->next - 1, prev_term, last = raft__last_index(r);
	size_t n = 0, bytes = 0;

	if (d->done)
		return;
	if (!raft__term_of(r, prev, &prev_term)) {
		d->done = true; /* it would need a snapshot: not for a leaver */
		return;
	}
	for (uint64_t i = d->next; i <= d->until && i <= last && n < r->cfg.max_append_entries;
	     i++) {
		const struct raft_entry *e = raft__entry_at(r, i);

		if (n && bytes + e->len > r->cfg.max_append_bytes)
			break;
		bytes += e->len;
		n++;
	}
	raft__msg_init(r, &m, RAFT_MSG_APPEND, d->id);
	m.prev_index = prev;
	m.prev_term = prev_term;
	m.commit = r->commit;
	m.seq = r->seq;
	m.n_entries = (uint32_t)n;
	raft__queue_msg(r, &m);
}

void
raft__departing_resp(struct raft *r, const struct raft_msg *m, struct departing *d)
{
	if (d->done)
		return;
	if (m->reject) {
		uint64_t probe = m->hint_index;

		if (m->index != d->next - 1)
			return; /* stale */
		if (m->hint_term)
			probe = raft__find_conflict_by_term(r, m->hint_index, m->hint_term);
		d->next = m->index < probe + 1 ? m->index : probe + 1;
		if (d->next == 0)
			d->next = 1;
	} else {
		if (m->index > raft__last_index(r))
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

void
raft__departing_tick(struct raft *r, bool heartbeat)
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
