/*
 * raft_snapshot.c — snapshots (§7): the meta of one the state machine took,
 * a transfer started and its chunks asked of the caller and sent, a
 * follower receiving the chunks and installing the snapshot in place of
 * its log, and compaction of the log behind a snapshot.
 *
 * Not here: the snapshot's bytes (the caller writes and reads them), and
 * the leader's handling of a follower's answer to a chunk
 * (raft_replicate.c, with the answers to appends and heartbeats).
 */
#include <stdlib.h>
#include <string.h>

#include "raft.h"
#include "raft_int.h"

/* ---------------------------------------------------------------- sending */

void
raft__request_chunk(struct raft *r, uint64_t to, struct peer *p)
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
void
raft__start_snapshot(struct raft *r, uint64_t to, struct peer *p)
{
	if (r->snap.index == 0)
		return;
	p->state = RAFT_PROGRESS_SNAPSHOT;
	p->snap_index = r->snap.index;
	p->snap_offset = 0;
	p->n_inflight = 0;
	p->probe_sent = false;
	raft__request_chunk(r, to, p);
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
	p = raft__peer_of(r, to);
	if (!p || p->state != RAFT_PROGRESS_SNAPSHOT || p->snap_index != snap_index ||
	    snap_index != r->snap.index || p->snap_offset != offset)
		return -ESTALE;
	return 0;
}

int
raft__chunk_send(struct raft *r, uint64_t to, uint64_t snap_index, uint64_t offset,
    const void *data, size_t len, bool last, uint64_t size)
{
	struct raft_msg m;
	void *copy = NULL;
	int rc = chunk_check(r, to, snap_index, offset, data, len);

	if (rc)
		return rc;
	if (len) {
		copy = malloc(len);
		if (!copy || raft__garbage(r, copy))
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	raft__msg_init(r, &m, RAFT_MSG_SNAPSHOT, to);
	m.index = snap_index;
	m.log_term = r->snap.term;
	m.offset = offset;
	m.size = size;
	m.len = (uint32_t)len;
	m.data = copy;
	m.last = last;
	/* members are filled in by raft_ready() */
	raft__queue_msg(r, &m);
	return 0;
}

int
raft_snapshot_chunk(struct raft *r, uint64_t to, uint64_t snap_index, uint64_t offset,
    const void *data, size_t len, bool last, uint64_t size)
{
	struct deferred d = {
		.kind = DEFER_CHUNK,
		.to = to,
		.index = snap_index,
		.offset = offset,
		.size = size,
		.len = (uint32_t)len,
		.last = last,
	};
	int rc;

	if (!r->in_ready)
		return raft__chunk_send(r, to, snap_index, offset, data, len, last, size);
	rc = chunk_check(r, to, snap_index, offset, data, len);
	if (rc)
		return rc;
	if (len) {
		d.data = malloc(len);
		if (!d.data)
			return -ENOMEM;
		memcpy(d.data, data, len);
	}
	return raft__defer(r, d);
}

/* -------------------------------------------------------------- receiving */

static void
install_snapshot(struct raft *r)
{
	struct raft_member *inst_m = raft__members_dup(r->in.members, r->in.n_members);
	struct raft_member *cur_m = raft__members_dup(r->in.members, r->in.n_members);

	if (!inst_m || !cur_m) {
		free(inst_m);
		free(cur_m);
		return;
	}
	/* the snapshot replaces the whole log (§7) */
	raft__free_entries(r->ents, r->n_ents);
	r->n_ents = 0;
	r->base_index = r->in.index;
	r->base_term = r->in.term;
	r->unstable = r->base_index + 1;
	r->stable = r->base_index;
	r->commit = r->base_index;
	r->applying = r->applied = r->base_index;
	raft__meta_free(&r->snap);
	r->snap = r->in; /* takes over in.members */
	memset(&r->in, 0, sizeof(r->in));
	r->in_active = false;
	raft__meta_free(&r->install);
	r->install = r->snap;
	r->install.members = inst_m;
	r->install_pending = true;
	r->conf_index = 0;
	raft__set_members(r, cur_m, r->snap.n_members);
	raft__caught_up(r);
}

void
raft__follower_snapshot(struct raft *r, const struct raft_msg *m)
{
	struct raft_msg resp;
	struct raft_chunk_write cw;
	void *data = NULL;

	raft__msg_init(r, &resp, RAFT_MSG_SNAPSHOT_RESP, m->from);
	resp.index = m->index;
	if (m->index <= r->commit || raft__match_term(r, m->index, m->log_term)) {
		/* we have it all already */
		if (raft__match_term(r, m->index, m->log_term))
			raft__commit_to(r, m->index);
		resp.last = true;
		raft__queue_msg_after_persist(r, &resp);
		return;
	}
	if (m->offset == 0) {
		struct raft_member *mm = raft__members_dup(m->members, m->n_members);

		if (!mm || raft__members_check(mm, m->n_members)) {
			free(mm);
			return;
		}
		raft__meta_free(&r->in);
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
		raft__queue_msg_after_persist(r, &resp);
		return;
	}
	if (m->len) {
		data = malloc(m->len);
		if (!data || raft__garbage(r, data))
			return;
		memcpy(data, m->data, m->len);
	}
	memset(&cw, 0, sizeof(cw));
	cw.meta.index = r->in.index;
	cw.meta.term = r->in.term;
	cw.offset = m->offset;
	cw.size = m->size;
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
	raft__queue_msg_after_persist(r, &resp);
}

/* ------------------------------------------------------ taken, compaction */

void
raft__meta_free(struct meta *m)
{
	free(m->members);
	memset(m, 0, sizeof(*m));
}

/* The meta of a snapshot at index (see raft_snapshot_taken for -EINVAL). */
static int
meta_at(const struct raft *r, uint64_t index, struct meta *out)
{
	uint64_t t;
	int rc;

	if (index > r->applied || index <= r->snap.index || !raft__term_of(r, index, &t))
		return -EINVAL;
	rc = raft__members_at(r, index, &out->members, &out->n_members);
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
	raft__meta_free(&r->snap);
	r->snap = m;
	/* transfers of the older snapshot start over with this one */
	if (r->state == RAFT_LEADER) {
		for (size_t i = 0; i < r->n_members; i++) {
			struct peer *p = &r->peers[i];

			if (p->state != RAFT_PROGRESS_SNAPSHOT)
				continue;
			p->snap_index = index;
			p->snap_offset = 0;
			raft__request_chunk(r, r->members[i].id, p);
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
	raft__meta_free(&r->at);
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
	    index > raft__last_index(r))
		return -EINVAL;
	raft__log_compact(r, index);
	return 0;
}
