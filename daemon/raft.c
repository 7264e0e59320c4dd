/*
 * raft.c — the Raft consensus core: a deterministic state machine.  This
 * file is its face: a core created from what was stored (or from the
 * bootstrap entry) and freed, the tick, the batch of work handed out and
 * released (raft_ready, raft_advance, and the calls deferred while a batch
 * is out), raft_persisted and raft_applied, and the status getters.
 *
 * What the core is: leader election (randomized timeouts, pre-vote,
 * check-quorum), log replication (batched, pipelined, fast back-tracking),
 * the commit rule of §5.4.2, single-server membership changes with
 * learners, leadership transfer, ReadIndex, snapshot transfer in chunks;
 * inputs in, one batch of work out (see raft.h).  raft_int.h lists the
 * files it is made of, one concern each; the RAFT_ENTRY_CONF format is in
 * raft_log.c.
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
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "raft.h"
#include "raft_int.h"

#define DEFAULT_HEARTBEAT    1
#define DEFAULT_ELECTION     10
#define DEFAULT_MAX_ENTRIES  256
#define DEFAULT_MAX_BYTES    (1024 * 1024)
#define DEFAULT_MAX_INFLIGHT 64
#define DEFAULT_RELAY_FANOUT 16
/* Learners never elect: they hear one heartbeat round in this many (issue 17). */
#define LEARNER_HEARTBEAT_ROUNDS 4

/* ------------------------------------------------------------------- PRNG */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------------ ticks */

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
		if (!raft__quorum_active(r)) {
			raft__become_follower(r, r->term, 0);
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
			raft__request_chunk(r, r->members[i].id, p);
		}
	}
	raft__departing_tick(r, r->heartbeat_elapsed >= r->cfg.heartbeat_ticks);
	raft__feed_learners(r);
	if (r->heartbeat_elapsed >= r->cfg.heartbeat_ticks) {
		/* learners never elect: they hear one round in LEARNER_HEARTBEAT_ROUNDS */
		bool learners = r->heartbeat_rounds++ % LEARNER_HEARTBEAT_ROUNDS == 0;

		r->heartbeat_elapsed = 0;
		if (learners)
			raft__relay_assign(r); /* before the heartbeats that name relays */
		raft__bcast_heartbeat(r, learners);
	}
}

void
raft_tick(struct raft *r)
{
	if (r->in_ready) {
		struct deferred d = { .kind = DEFER_TICK };

		(void)raft__defer(r, d);
		return;
	}
	raft__free_some(r);
	for (size_t i = 0; i < r->n_members; i++) {
		if (r->peers[i].last_contact < UINT32_MAX)
			r->peers[i].last_contact++;
	}
	if (r->state == RAFT_LEADER) {
		tick_leader(r);
		return;
	}
	raft__relay_feed(r);
	if (r->election_elapsed < UINT32_MAX)
		r->election_elapsed++;
	if (raft__promotable(r) && r->election_elapsed >= r->timeout)
		raft__campaign(r, true, false);
}

/* ----------------------------------------------------- persistence, apply */

static void
persisted(struct raft *r, uint64_t index, uint64_t term)
{
	r->batches_persisted++;
	if (index > r->stable && raft__match_term(r, index, term))
		r->stable = index;
	if (r->state == RAFT_CANDIDATE && r->self_vote_pending &&
	    r->batches_persisted >= r->self_vote_batch) {
		r->self_vote_pending = false;
		raft__record_vote(r, r->id, true);
		raft__election_result(r);
	}
	if (r->state == RAFT_LEADER)
		raft__maybe_commit_and_send(r);
}

void
raft_persisted(struct raft *r, uint64_t index, uint64_t term)
{
	if (r->in_ready) {
		struct deferred d = { .kind = DEFER_PERSISTED, .index = index, .term = term };

		(void)raft__defer(r, d);
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
	const struct raft_member *m = raft__member_of(r, r->id);

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
	return role_of(r) != r->last_role || r->term != r->last_term ||
	    r->leader != r->last_leader || r->relay != r->last_relay;
}

bool
raft_has_ready(const struct raft *r)
{
	return hs_changed(r) || r->unstable <= raft__last_index(r) || r->install_pending ||
	    r->msgs.n || r->msgs_after.n || r->reads.n || r->chunk_reads.n || r->chunk_writes.n ||
	    r->members_changed || status_changed(r) || r->read_round || apply_upto(r) > r->applying;
}

/* Point messages at the log and snapshot they describe; false: drop it. */
static bool
resolve_msg(struct raft *r, struct raft_msg *m)
{
	if (m->type == RAFT_MSG_APPEND && m->n_entries) {
		/* a leader's log only grows within its term; anything else
		 * means the message is obsolete.  A relay's entries are
		 * committed: they stay as long as the log holds them. */
		uint64_t upto = raft__last_index(r);

		if ((!m->lead && r->state != RAFT_LEADER) || m->term != r->term ||
		    m->prev_index < r->base_index || m->prev_index + m->n_entries > upto)
			return false;
		m->entries = raft__entry_at(r, m->prev_index + 1);
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
	uint64_t last = raft__last_index(r), upto;

	raft__send_read_round(r);
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
		rd->entries = raft__entry_at(r, r->unstable);
		rd->n_entries = (size_t)(last - r->unstable + 1);
	}
	r->unstable = last + 1;
	rd->chunk_writes = r->chunk_writes.v;
	rd->n_chunk_writes = r->chunk_writes.n;
	rd->must_persist =
	    rd->has_hard_state || rd->n_entries || rd->snapshot || rd->n_chunk_writes;
	if (rd->must_persist) {
		rd->persist_index = last;
		rd->persist_term = raft__last_term(r);
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
		rd->committed = raft__entry_at(r, r->applying + 1);
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
	r->last_relay = r->relay;
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
		raft__meta_free(&r->install);
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
			(void)raft__chunk_send(
			    r, d->to, d->index, d->offset, d->data, d->len, d->last, d->size);
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
	st->last_index = raft__last_index(r);
	st->last_term = raft__last_term(r);
	st->snapshot_index = r->snap.index;
	st->snapshot_term = r->snap.term;
	st->transfer_to = r->state == RAFT_LEADER ? r->transfer_to : 0;
	st->catch_up_to = r->catch_up_to;
	st->relay = r->relay;
	for (size_t i = 0; i < r->n_members; i++)
		st->relayed += r->peers[i].relaying;
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
	i = raft__members_find(r->members, r->n_members, id);
	if (i < 0)
		return -ENOENT;
	p = &r->peers[i];
	memset(pr, 0, sizeof(*pr));
	pr->id = id;
	pr->voter = r->members[i].voter;
	if (id == r->id) {
		pr->state = RAFT_PROGRESS_REPLICATE;
		pr->match = raft__self_match(r);
		pr->next = raft__last_index(r) + 1;
		return 0;
	}
	pr->state = p->state;
	pr->match = p->match;
	pr->next = p->next;
	pr->caught_up = raft__learner_ready(r, p);
	pr->inflight = p->n_inflight;
	pr->last_contact = p->last_contact;
	pr->snapshot_index = p->state == RAFT_PROGRESS_SNAPSHOT ? p->snap_index : 0;
	pr->snapshot_offset = p->state == RAFT_PROGRESS_SNAPSHOT ? p->snap_offset : 0;
	pr->relay = pr->voter ? 0 : p->relay;
	return 0;
}

int
raft_term_at(const struct raft *r, uint64_t index, uint64_t *term)
{
	if (raft__term_of(r, index, term))
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

/* -------------------------------------------------------------- lifecycle */

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
	if (!c->relay_fanout)
		c->relay_fanout = DEFAULT_RELAY_FANOUT;
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
	struct raft_member *m = raft__members_dup(in->bootstrap, in->n_bootstrap);
	struct raft_entry e = { .term = 1, .index = 1, .type = RAFT_ENTRY_CONF };
	int rc = -EINVAL;

	if (!m)
		return -ENOMEM;
	if (in->n_bootstrap > RAFTCONF_MAX_MEMBERS || raft__members_check(m, in->n_bootstrap)) {
		seterr(err, errlen, "raft: bad bootstrap membership (zero or duplicate id)");
		goto out;
	}
	if (raft__members_find(m, in->n_bootstrap, r->id) < 0) {
		rc = 0; /* a spare: wait for a leader */
		goto out;
	}
	e.data = raft__encode_bootstrap(m, in->n_bootstrap, &e.len);
	rc = e.data ? raft__log_append(r, &e) : -ENOMEM;
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
		r->snap.members = raft__members_dup(s->members, s->n_members);
		if (!r->snap.members)
			return -ENOMEM;
		r->snap.n_members = s->n_members;
		r->snap.index = s->index;
		r->snap.term = s->term;
		if (raft__members_check(r->snap.members, s->n_members)) {
			seterr(err, errlen, "raft: bad snapshot membership");
			return -EINVAL;
		}
		r->base_index = s->index;
		r->base_term = s->term;
	}
	for (size_t i = 0; i < n; i++) {
		if (!raft__valid_entry(&e[i]) || (i && e[i].index != e[i - 1].index + 1) ||
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

		copy.index = raft__last_index(r) + 1;
		if (copy.index != e[i].index) {
			seterr(err, errlen, "raft: stored log does not connect");
			return -EINVAL;
		}
		rc = raft__log_append(r, &copy);
		if (rc)
			return rc;
	}
	r->term = in->hs.term;
	r->vote = in->hs.vote;
	if (r->term < raft__last_term(r)) {
		r->term = raft__last_term(r);
		r->vote = 0;
	}
	r->commit = in->hs.commit;
	if (r->commit > raft__last_index(r))
		r->commit = raft__last_index(r);
	if (r->commit < r->snap.index)
		r->commit = r->snap.index;
	r->prev_hs.term = in->hs.term;
	r->prev_hs.vote = in->hs.vote;
	r->prev_hs.commit = in->hs.commit;
	r->applied = in->applied > r->snap.index ? in->applied : r->snap.index;
	if (r->applied > r->commit)
		r->applied = r->commit;
	r->applying = r->applied;
	r->stable = raft__last_index(r);
	r->unstable = raft__last_index(r) + 1;
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
	raft__members_recompute(r);
	if (!r->n_members && !init->hs.term && !raft__last_index(r) && !r->snap.index &&
	    init->n_bootstrap) {
		rc = bootstrap(r, init, err, errlen);
		if (rc)
			goto fail;
		r->unstable = 1;
		r->stable = 0;
	}
	r->unstable = r->unstable > raft__last_index(r) + 1 ? raft__last_index(r) + 1 : r->unstable;
	r->catch_up_to = init->catch_up_to;
	raft__caught_up(r);
	r->last_role = role_of(r);
	r->last_term = r->term;
	raft__reset_timeout(r);
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
	raft__free_entries(r->ents, r->n_ents);
	free(r->ents);
	raft__meta_free(&r->snap);
	raft__meta_free(&r->at);
	raft__meta_free(&r->install);
	raft__meta_free(&r->in);
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
