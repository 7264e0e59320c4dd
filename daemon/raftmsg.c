/*
 * raftmsg.c — byte codec for struct raft_msg (see raftmsg.h for the layout).
 *
 * Not the place for any Raft rule: a message that decodes here may still be
 * nonsense, and raft_step() judges it.  This file only guarantees that the
 * struct it fills describes bytes that exist.
 */
#include "raftmsg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "errbuf.h"
#include "members.h"

#define F_REJECT   0x01
#define F_TRANSFER 0x02
#define F_LAST	   0x04
#define F_ALL	   (F_REJECT | F_TRANSFER | F_LAST)

/* type + flags + 13 u64 + three u32 counts */
#define FIXED_SIZE (2 + 13 * 8 + 3 * 4)
#define ENTRY_HEAD (8 + 8 + 1 + 4)

size_t
raftmsg_size(const struct raft_msg *m)
{
	/* the member count is in FIXED_SIZE and in members_size() */
	size_t n = FIXED_SIZE - 4 + m->len + members_size(m->members, m->n_members);

	for (uint32_t i = 0; i < m->n_entries; i++)
		n += ENTRY_HEAD + m->entries[i].len;
	return n;
}

/*
 * APPEND and HEARTBEAT carry no read context: that slot carries a relayed
 * append's leader and a learner's relay.  A node of an earlier version
 * writes 0 there: from the leader, fed by the leader.
 */
static uint64_t
ctx_slot(const struct raft_msg *m)
{
	if (m->type == RAFT_MSG_APPEND)
		return m->lead;
	if (m->type == RAFT_MSG_HEARTBEAT)
		return m->relay;
	return m->ctx;
}

int
raftmsg_encode(struct proto_buf *b, const struct raft_msg *m)
{
	size_t size = raftmsg_size(m);
	struct proto_msg pm = { .type = PROTO_T_RAFT };
	struct bytes_writer w;
	uint8_t *buf;
	int rc;

	if (size > RAFTCONF_MAX_FRAME - PROTO_HEADER_SIZE - 4)
		return -EMSGSIZE;
	if ((buf = malloc(size)) == NULL)
		return -ENOMEM;
	bw_init(&w, buf, size);
	bw_u8(&w, m->type);
	bw_u8(&w,
	    (m->reject ? F_REJECT : 0) | (m->transfer ? F_TRANSFER : 0) | (m->last ? F_LAST : 0));
	bw_be64(&w, m->from);
	bw_be64(&w, m->to);
	bw_be64(&w, m->term);
	bw_be64(&w, m->prev_index);
	bw_be64(&w, m->prev_term);
	bw_be64(&w, m->commit);
	bw_be64(&w, m->index);
	bw_be64(&w, m->log_term);
	/* SNAPSHOT has no hint: its slot carries the snapshot's size */
	bw_be64(&w, m->type == RAFT_MSG_SNAPSHOT ? m->size : m->hint_index);
	bw_be64(&w, m->hint_term);
	bw_be64(&w, m->seq);
	bw_be64(&w, ctx_slot(m));
	bw_be64(&w, m->offset);
	bw_be32(&w, m->n_entries);
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];

		bw_be64(&w, e->term);
		bw_be64(&w, e->index);
		bw_u8(&w, e->type);
		bw_be32(&w, e->len);
		bw_mem(&w, e->data, e->len);
	}
	bw_be32(&w, m->len);
	bw_mem(&w, m->data, m->len);
	members_put(&w, m->members, m->n_members);
	if (w.err || w.len != size) {
		free(buf);
		return -EINVAL; /* raftmsg_size() and this disagree */
	}
	pm.raft.payload = proto_mem(buf, w.len);
	rc = proto_encode(b, &pm, NULL, 0);
	free(buf);
	return rc;
}

/* ----------------------------------------------------------------- decode */

/* Say what is wrong in err, and return rc. */
#define fail(err, errlen, rc, ...) (seterr((err), (errlen), __VA_ARGS__), (rc))

static int
grow(void **arr, size_t *cap, size_t want, size_t size)
{
	void *n;

	if (want <= *cap)
		return 0;
	if ((n = realloc(*arr, want * size)) == NULL)
		return -ENOMEM;
	*arr = n;
	*cap = want;
	return 0;
}

int
raftmsg_decode(const void *payload, size_t len, struct raft_msg *m, struct raftmsg_scratch *s,
    char *err, size_t errlen)
{
	struct bytes_reader r;
	uint8_t flags;
	uint32_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	br_init(&r, payload, len);
	if (len < FIXED_SIZE)
		return fail(err, errlen, -EPROTO, "raft message of %zu bytes, at least %d expected",
		    len, FIXED_SIZE);
	m->type = br_u8(&r);
	flags = br_u8(&r);
	if (m->type == 0 || m->type > RAFT_MSG_TYPE_MAX)
		return fail(err, errlen, -EPROTO, "unknown raft message type %u", m->type);
	if (flags & ~F_ALL)
		return fail(err, errlen, -EPROTO, "unknown raft message flags 0x%02x", flags);
	m->reject = flags & F_REJECT;
	m->transfer = flags & F_TRANSFER;
	m->last = flags & F_LAST;
	m->from = br_be64(&r);
	m->to = br_be64(&r);
	m->term = br_be64(&r);
	m->prev_index = br_be64(&r);
	m->prev_term = br_be64(&r);
	m->commit = br_be64(&r);
	m->index = br_be64(&r);
	m->log_term = br_be64(&r);
	if (m->type == RAFT_MSG_SNAPSHOT)
		m->size = br_be64(&r);
	else
		m->hint_index = br_be64(&r);
	m->hint_term = br_be64(&r);
	m->seq = br_be64(&r);
	if (m->type == RAFT_MSG_APPEND)
		m->lead = br_be64(&r);
	else if (m->type == RAFT_MSG_HEARTBEAT)
		m->relay = br_be64(&r);
	else
		m->ctx = br_be64(&r);
	m->offset = br_be64(&r);

	n = br_be32(&r);
	if (n > RAFT_MAX_MSG_ENTRIES)
		return fail(
		    err, errlen, -E2BIG, "%u entries, at most %d allowed", n, RAFT_MAX_MSG_ENTRIES);
	/* Each entry needs at least its head: refuse counts the bytes cannot hold. */
	if ((size_t)n * ENTRY_HEAD > br_left(&r))
		return fail(err, errlen, -EPROTO, "%u entries announced, only %zu bytes left", n,
		    br_left(&r));
	if (grow((void **)&s->entries, &s->entries_cap, n, sizeof(*s->entries)) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct raft_entry *e = &s->entries[i];

		e->term = br_be64(&r);
		e->index = br_be64(&r);
		e->type = br_u8(&r);
		e->len = br_be32(&r);
		if (r.err)
			return fail(err, errlen, -EPROTO, "entry %u truncated", i);
		if (e->len > RAFT_MAX_ENTRY_DATA)
			return fail(err, errlen, -E2BIG, "entry %u: %u bytes, at most %d allowed",
			    i, e->len, RAFT_MAX_ENTRY_DATA);
		e->data = (void *)br_mem(&r, e->len);
		if (r.err)
			return fail(err, errlen, -EPROTO,
			    "entry %u: %u data bytes announced, "
			    "fewer present",
			    i, e->len);
		if (e->len == 0)
			e->data = NULL;
	}
	m->n_entries = n;
	m->entries = n ? s->entries : NULL;

	m->len = br_be32(&r);
	m->data = (void *)br_mem(&r, m->len);
	if (r.err)
		return fail(
		    err, errlen, -EPROTO, "chunk of %u bytes announced, fewer present", m->len);
	if (m->len == 0)
		m->data = NULL;

	if ((rc = members_get_count(&r, &n, err, errlen)) < 0)
		return rc == -EBADMSG ? -EPROTO : rc;
	if (grow((void **)&s->members, &s->members_cap, n, sizeof(*s->members)) < 0)
		return -ENOMEM;
	if ((rc = members_get(&r, s->members, n, err, errlen)) < 0)
		return rc == -EBADMSG ? -EPROTO : rc;
	m->n_members = n;
	m->members = n ? s->members : NULL;

	if (br_left(&r))
		return fail(err, errlen, -EPROTO, "%zu bytes after the raft message", br_left(&r));
	return 0;
}

void
raftmsg_scratch_free(struct raftmsg_scratch *s)
{
	free(s->entries);
	free(s->members);
	memset(s, 0, sizeof(*s));
}
