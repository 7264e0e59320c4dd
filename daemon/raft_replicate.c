/*
 * raft_replicate.c — log replication (§5.3): the leader's view of each
 * member's progress (probing, pipelining, receiving a snapshot),
 * AppendEntries and heartbeats sent and their answers handled, the commit
 * rule (§5.4.2), the follower's side of AppendEntries, proposals, and
 * ReadIndex (§6.4).
 *
 * Not here: the log itself and members just removed (raft_log.c), the
 * snapshot sent to a follower that needs entries the log no longer has
 * (raft_snapshot.c; only its answers are handled here, with the others),
 * and the elections that make a leader (raft_election.c).
 */
#include <stdlib.h>
#include <string.h>

#include "raft.h"
#include "raft_int.h"

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

void
raft__become_probe(struct peer *p)
{
	p->state = RAFT_PROGRESS_PROBE;
	p->next = p->match + 1;
	p->probe_sent = false;
	p->n_inflight = 0;
	p->inflight_head = 0;
}

void
raft__become_replicate(struct peer *p)
{
	p->state = RAFT_PROGRESS_REPLICATE;
	p->next = p->match + 1;
	p->probe_sent = false;
	p->n_inflight = 0;
	p->inflight_head = 0;
}

/* p takes no append now: a snapshot goes to it, its probe is out, or its
 * window of appends in flight is full. */
bool
raft__append_waits(const struct raft *r, const struct peer *p)
{
	return p->state == RAFT_PROGRESS_SNAPSHOT ||
	    (p->state == RAFT_PROGRESS_PROBE && p->probe_sent) ||
	    (p->state == RAFT_PROGRESS_REPLICATE && p->n_inflight >= r->cfg.max_inflight);
}

/*
 * Send `to` the entries from its next index, within the batch limits; the
 * entries are resolved from the log in raft_ready().  Returns whether a
 * message went out.  A relay sends only what it knows is committed, and
 * never a snapshot: a learner that needs one is the leader's again.
 */
bool
raft__send_append(struct raft *r, uint64_t to, struct peer *p, bool allow_empty)
{
	struct raft_msg m;
	bool relay = r->state != RAFT_LEADER;
	uint64_t prev, prev_term, last = raft__last_index(r);
	size_t n = 0, bytes = 0;

	if (relay && !r->leader)
		return false; /* a relayed append names its leader (m.lead) */
	if (relay && r->commit < last)
		last = r->commit;

	if (raft__append_waits(r, p))
		return false;
	prev = p->next - 1;
	if (!raft__term_of(r, prev, &prev_term)) {
		if (relay)
			p->relaying = false;
		else
			raft__start_snapshot(r, to, p);
		return false;
	}
	for (uint64_t i = p->next; i <= last && n < r->cfg.max_append_entries; i++) {
		const struct raft_entry *e = raft__entry_at(r, i);

		if (n && bytes + e->len > r->cfg.max_append_bytes)
			break;
		bytes += e->len;
		n++;
	}
	if (!n && !allow_empty)
		return false;
	raft__msg_init(r, &m, RAFT_MSG_APPEND, to);
	m.prev_index = prev;
	m.prev_term = prev_term;
	m.commit = r->commit;
	m.seq = r->seq;
	m.lead = relay ? r->leader : 0;
	m.n_entries = (uint32_t)n;
	raft__queue_msg(r, &m);
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

void
raft__send_append_all(struct raft *r, uint64_t to, struct peer *p, bool allow_empty)
{
	if (!raft__send_append(r, to, p, allow_empty))
		return;
	while (p->state == RAFT_PROGRESS_REPLICATE && raft__send_append(r, to, p, false))
		;
}

/*
 * A learner that keeps up is fed once a tick, whatever the writes in
 * between (issue 17: the leader's work and the learners' wakeups per write
 * must not grow with their number); one that probes, or catches up from a
 * snapshot, is answered at once, as a voter is.
 */
bool
raft__fed_by_tick(const struct raft *r, size_t i)
{
	return !r->members[i].voter &&
	    (r->peers[i].state == RAFT_PROGRESS_REPLICATE || r->peers[i].relay);
}

void
raft__bcast_append(struct raft *r, bool allow_empty)
{
	for (size_t i = 0; i < r->n_members; i++) {
		if (r->members[i].id != r->id && !raft__fed_by_tick(r, i))
			raft__send_append_all(r, r->members[i].id, &r->peers[i], allow_empty);
	}
}

void
raft__bcast_heartbeat(struct raft *r, bool learners)
{
	struct raft_msg m;

	for (size_t i = 0; i < r->n_members; i++) {
		struct peer *p = &r->peers[i];

		if (r->members[i].id == r->id || (!learners && !r->members[i].voter))
			continue;
		raft__msg_init(r, &m, RAFT_MSG_HEARTBEAT, r->members[i].id);
		/* never more than it is known to hold: its log may differ beyond */
		m.commit = p->match < r->commit ? p->match : r->commit;
		m.seq = r->seq;
		m.relay = r->members[i].voter ? 0 : p->relay;
		raft__queue_msg(r, &m);
		if (m.commit > p->told_commit)
			p->told_commit = m.commit;
	}
}

uint64_t
raft__self_match(const struct raft *r)
{
	uint64_t last = raft__last_index(r);

	return r->stable < last ? r->stable : last;
}

bool
raft__committed_in_term(const struct raft *r)
{
	uint64_t t;

	return raft__term_of(r, r->commit, &t) && t == r->term;
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
		v[k++] = r->members[i].id == r->id ? raft__self_match(r) : r->peers[i].match;
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
	if (c <= r->commit || !raft__term_of(r, c, &t))
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

/* ------------------------------------------------------------------ reads */

static void
emit_read(struct raft *r, uint64_t from, uint64_t ctx, uint64_t index)
{
	struct raft_msg m;
	struct raft_read_state rs = { .ctx = ctx, .index = index };

	if (from == r->id) {
		(void)VEC_PUSH(r->reads, rs);
		return;
	}
	raft__msg_init(r, &m, RAFT_MSG_READ_INDEX_RESP, from);
	m.ctx = ctx;
	m.index = index;
	raft__queue_msg(r, &m);
}

static bool
only_self_votes(const struct raft *r)
{
	return raft__n_voters(r) == 1 && raft__is_voter(r, r->id);
}

/* §6.4: ReadIndex on the leader. */
void
raft__leader_read(struct raft *r, uint64_t from, uint64_t ctx)
{
	struct pending_read pr = { .from = from, .ctx = ctx };

	if (!raft__committed_in_term(r)) {
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
void
raft__send_read_round(struct raft *r)
{
	if (!r->read_round)
		return;
	r->read_round = false;
	if (r->state != RAFT_LEADER)
		return;
	r->seq++;
	raft__bcast_heartbeat(r, false); /* a read's quorum is of voters */
}

static void
release_waiting_reads(struct raft *r)
{
	size_t n = r->reads_wait.n;
	struct pending_read *w;

	if (!n || !raft__committed_in_term(r))
		return;
	w = r->reads_wait.v;
	r->reads_wait.v = NULL;
	r->reads_wait.n = r->reads_wait.cap = 0;
	for (size_t i = 0; i < n; i++)
		raft__leader_read(r, w[i].from, w[i].ctx);
	free(w);
}

static void
check_reads(struct raft *r)
{
	size_t done = 0, q = raft__quorum(r);

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

/* -------------------------------------------------------- leader handlers */

void
raft__send_timeout_now(struct raft *r, uint64_t to)
{
	struct raft_msg m;

	raft__msg_init(r, &m, RAFT_MSG_TIMEOUT_NOW, to);
	raft__queue_msg(r, &m);
}

/* The voter (not us) with the highest match; 0 if none. */
uint64_t
raft__best_voter(const struct raft *r)
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
bool
raft__commit_untold(const struct raft *r, const struct peer *p)
{
	uint64_t known = p->match < r->commit ? p->match : r->commit;

	return p->state == RAFT_PROGRESS_REPLICATE && p->told_commit < known &&
	    p->n_inflight < r->cfg.max_inflight;
}

static void
send_commit(struct raft *r)
{
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i].id != r->id && !raft__fed_by_tick(r, i) &&
		    raft__commit_untold(r, &r->peers[i]))
			raft__send_append(r, r->members[i].id, &r->peers[i], true);
}

/* Each tick: every learner fed by it gets what it lacks, or the commit. */
void
raft__feed_learners(struct raft *r)
{
	for (size_t i = 0; i < r->n_members; i++) {
		struct peer *p = &r->peers[i];
		uint64_t id = r->members[i].id;

		if (id == r->id || !raft__fed_by_tick(r, i) || p->relay)
			continue;
		if (p->next <= raft__last_index(r))
			raft__send_append_all(r, id, p, false);
		else if (raft__commit_untold(r, p))
			raft__send_append(r, id, p, true);
	}
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

		if (r->members[i].id != r->id && !raft__fed_by_tick(r, i))
			raft__send_append_all(
			    r, r->members[i].id, p, p->state != RAFT_PROGRESS_REPLICATE);
	}
	/* §4.2.2: a leader that removed itself steps down once that is
	 * committed; it hands over to the most up-to-date voter at once */
	if (!raft__member_of(r, r->id) && r->conf_index <= r->commit) {
		uint64_t best = raft__best_voter(r);
		struct peer *p = best ? raft__peer_of(r, best) : NULL;

		send_commit(r); /* nobody will tell them after this */
		if (p && p->match == raft__last_index(r))
			raft__send_timeout_now(r, best);
		raft__become_follower(r, r->term, 0);
	}
}

void
raft__maybe_commit_and_send(struct raft *r)
{
	if (maybe_commit(r))
		leader_committed(r);
}

void
raft__leader_append_resp(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	uint64_t last = raft__last_index(r);

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
			probe = raft__find_conflict_by_term(r, m->hint_index, m->hint_term);
		raft__become_probe(p);
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
		raft__send_append(r, m->from, p, true);
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
			raft__become_replicate(p);
		else if (p->state == RAFT_PROGRESS_SNAPSHOT && p->match >= p->snap_index)
			raft__become_probe(p);
		else
			inflight_free_to(r, p, m->index);
		if (r->state != RAFT_LEADER)
			; /* a relay: its learners commit nothing */
		else if (m->from == r->transfer_to && p->match == last)
			raft__send_timeout_now(r, m->from);
		if (advanced && r->state == RAFT_LEADER && maybe_commit(r)) {
			leader_committed(r);
			if (r->state != RAFT_LEADER)
				return;
		}
	} else if (p->state == RAFT_PROGRESS_REPLICATE) {
		inflight_free_to(r, p, m->index);
	}
	if (!raft__fed_by_tick(r, (size_t)(p - r->peers)))
		raft__send_append_all(r, m->from, p, false);
reads:
	if (r->state == RAFT_LEADER)
		check_reads(r);
}

void
raft__leader_heartbeat_resp(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	uint64_t last = raft__last_index(r);

	if (m->seq > p->acked_seq && m->seq <= r->seq)
		p->acked_seq = m->seq;
	p->probe_sent = false;
	if (p->state == RAFT_PROGRESS_REPLICATE && p->match < last) {
		/* no progress over a whole heartbeat round: an append was
		 * lost; fall back to probing from what it has */
		if (p->match == p->hb_match)
			raft__become_probe(p);
	}
	p->hb_match = p->match;
	if (p->match < last && !raft__fed_by_tick(r, (size_t)(p - r->peers)))
		raft__send_append_all(r, m->from, p, false);
	check_reads(r);
}

void
raft__leader_snapshot_resp(struct raft *r, const struct raft_msg *m, struct peer *p)
{
	if (p->state != RAFT_PROGRESS_SNAPSHOT || m->index != p->snap_index)
		return;
	if (m->last) {
		if (p->match < p->snap_index)
			p->match = p->snap_index;
		raft__become_probe(p);
		raft__send_append(r, m->from, p, true);
		raft__maybe_commit_and_send(r);
		return;
	}
	if (m->reject) {
		/* the follower lost the transfer: start over, with our
		 * current snapshot */
		p->snap_index = r->snap.index;
		p->snap_offset = 0;
		raft__request_chunk(r, m->from, p);
		return;
	}
	if (m->offset > p->snap_offset) {
		p->snap_offset = m->offset;
		raft__request_chunk(r, m->from, p);
	}
}

/* ------------------------------------------------------ follower handlers */

/*
 * The first index at or below the commit index where m's log differs from
 * ours (its prev entry or one of its entries), or 0.  Compacted entries
 * cannot be compared and count as agreeing.
 */
static uint64_t
committed_conflict(const struct raft *r, const struct raft_msg *m)
{
	uint64_t t;

	if (raft__term_of(r, m->prev_index, &t) && t != m->prev_term)
		return m->prev_index;
	for (uint32_t k = 0; k < m->n_entries && m->entries[k].index <= r->commit; k++)
		if (raft__term_of(r, m->entries[k].index, &t) && t != m->entries[k].term)
			return m->entries[k].index;
	return 0;
}

/* §5.3: AppendEntries on a follower. */
void
raft__follower_append(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;
	uint64_t lastnew, conflict = 0;
	size_t k;

	raft__msg_init(r, &resp, RAFT_MSG_APPEND_RESP, m->from);
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
		if (!raft__term_of(r, conflict - 1, &resp.hint_term))
			resp.hint_term = 0;
		raft__queue_msg_after_persist(r, &resp);
		raft__refuse(r, -EILSEQ, "AppendEntries that conflicts with a committed entry");
		return;
	}
	if (m->prev_index < r->commit) {
		resp.index = r->commit;
		raft__queue_msg_after_persist(r, &resp);
		return;
	}
	if (!raft__match_term(r, m->prev_index, m->prev_term)) {
		uint64_t hint =
		    m->prev_index < raft__last_index(r) ? m->prev_index : raft__last_index(r);

		hint = raft__find_conflict_by_term(r, hint, m->prev_term);
		resp.reject = true;
		resp.index = m->prev_index;
		resp.hint_index = hint;
		if (!raft__term_of(r, hint, &resp.hint_term))
			resp.hint_term = 0;
		raft__queue_msg_after_persist(r, &resp);
		return;
	}
	for (k = 0; k < m->n_entries; k++) {
		if (!raft__match_term(r, m->entries[k].index, m->entries[k].term)) {
			conflict = m->entries[k].index;
			break;
		}
	}
	if (conflict) {
		if (conflict <= raft__last_index(r))
			raft__log_truncate(r, conflict);
		for (; k < m->n_entries; k++) {
			if (raft__log_append(r, &m->entries[k]))
				break;
		}
	}
	lastnew = m->prev_index + m->n_entries;
	if (lastnew > raft__last_index(r))
		lastnew = raft__last_index(r); /* out of memory part way */
	raft__commit_to(r, m->commit < lastnew ? m->commit : lastnew);
	raft__caught_up(r);
	resp.index = lastnew;
	raft__queue_msg_after_persist(r, &resp);
}

/* What a learner holds that is committed and durable: all a leader that
 * does not feed it may count (HEARTBEAT_RESP.index). */
uint64_t
raft__learner_holds(const struct raft *r)
{
	uint64_t s = raft__self_match(r);

	return r->commit < s ? r->commit : s;
}

void
raft__follower_heartbeat(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;

	raft__commit_to(r, m->commit);
	raft__msg_init(r, &resp, RAFT_MSG_HEARTBEAT_RESP, m->from);
	resp.seq = m->seq;
	resp.index = raft__learner_holds(r);
	raft__queue_msg(r, &resp);
}

/* -------------------------------------------------------------- proposals */

int
raft__leader_append(
    struct raft *r, uint8_t type, void *data, uint32_t len, uint64_t *index, uint64_t *term)
{
	struct raft_entry e = {
		.term = r->term,
		.index = raft__last_index(r) + 1,
		.type = type,
		.len = len,
		.data = data,
	};
	int rc = raft__log_append(r, &e);

	if (rc)
		return rc;
	if (index)
		*index = e.index;
	if (term)
		*term = e.term;
	raft__bcast_append(r, false);
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
	return raft__leader_append(r, RAFT_ENTRY_NORMAL, (void *)data, (uint32_t)len, index, term);
}

int
raft_read_index(struct raft *r, uint64_t ctx)
{
	struct raft_msg m;

	if (r->in_ready)
		return -EBUSY;
	if (r->state == RAFT_LEADER) {
		raft__leader_read(r, r->id, ctx);
		return 0;
	}
	if (!r->leader)
		return -ENOTLEADER;
	raft__msg_init(r, &m, RAFT_MSG_READ_INDEX, r->leader);
	m.ctx = ctx;
	raft__queue_msg(r, &m);
	return 0;
}

/* -------------------------------------------- the commit index told alone */

bool
raft_commit_unsent(const struct raft *r)
{
	if (r->state != RAFT_LEADER)
		return false;
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i].id != r->id && !raft__fed_by_tick(r, i) &&
		    raft__commit_untold(r, &r->peers[i]))
			return true;
	return false;
}

void
raft_send_commit(struct raft *r)
{
	if (!r->in_ready && r->state == RAFT_LEADER)
		send_commit(r);
}
