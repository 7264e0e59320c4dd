/*
 * raftmsg.c — byte codec for struct raft_msg (see raftmsg.h for the layout).
 *
 * Not the place for any Raft rule: a message that decodes here may still be
 * nonsense, and raft_step() judges it.  This file only guarantees that the
 * struct it fills describes bytes that exist.
 */
#include "raftmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F_REJECT	0x01
#define F_TRANSFER	0x02
#define F_LAST		0x04
#define F_ALL		(F_REJECT | F_TRANSFER | F_LAST)

/* type + flags + 13 u64 + three u32 counts */
#define FIXED_SIZE	(2 + 13 * 8 + 3 * 4)
#define ENTRY_HEAD	(8 + 8 + 1 + 4)
#define MEMBER_HEAD	(8 + 1 + 2)

size_t
raftmsg_size(const struct raft_msg *m)
{
	size_t n = FIXED_SIZE + m->len;

	for (uint32_t i = 0; i < m->n_entries; i++)
		n += ENTRY_HEAD + m->entries[i].len;
	for (uint32_t i = 0; i < m->n_members; i++)
		n += MEMBER_HEAD + m->members[i].context_len;
	return n;
}

static uint8_t *
put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
	return p + 2;
}

static uint8_t *
put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = v;
	return p + 4;
}

static uint8_t *
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = v;
	return p + 8;
}

static uint8_t *
put_bytes(uint8_t *p, const void *data, size_t len)
{
	if (len)
		memcpy(p, data, len);
	return p + len;
}

int
raftmsg_encode(struct proto_buf *b, const struct raft_msg *m)
{
	size_t size = raftmsg_size(m);
	struct proto_msg pm = { .type = PROTO_T_RAFT };
	uint8_t *buf, *p;
	int rc;

	if (size > RAFTCONF_MAX_FRAME - PROTO_HEADER_SIZE - 4)
		return -EMSGSIZE;
	if ((buf = malloc(size)) == NULL)
		return -ENOMEM;
	p = put_u8(buf, m->type);
	p = put_u8(p, (m->reject ? F_REJECT : 0) | (m->transfer ? F_TRANSFER : 0) |
	    (m->last ? F_LAST : 0));
	p = put_u64(p, m->from);
	p = put_u64(p, m->to);
	p = put_u64(p, m->term);
	p = put_u64(p, m->prev_index);
	p = put_u64(p, m->prev_term);
	p = put_u64(p, m->commit);
	p = put_u64(p, m->index);
	p = put_u64(p, m->log_term);
	p = put_u64(p, m->hint_index);
	p = put_u64(p, m->hint_term);
	p = put_u64(p, m->seq);
	p = put_u64(p, m->ctx);
	p = put_u64(p, m->offset);
	p = put_u32(p, m->n_entries);
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];

		p = put_u64(p, e->term);
		p = put_u64(p, e->index);
		p = put_u8(p, e->type);
		p = put_u32(p, e->len);
		p = put_bytes(p, e->data, e->len);
	}
	p = put_u32(p, m->len);
	p = put_bytes(p, m->data, m->len);
	p = put_u32(p, m->n_members);
	for (uint32_t i = 0; i < m->n_members; i++) {
		const struct raft_member *mb = &m->members[i];

		p = put_u64(p, mb->id);
		p = put_u8(p, mb->voter);
		p = put_u16(p, mb->context_len);
		p = put_bytes(p, mb->context, mb->context_len);
	}
	pm.raft.payload = proto_mem(buf, (size_t)(p - buf));
	rc = proto_encode(b, &pm, NULL, 0);
	free(buf);
	return rc;
}

/* ----------------------------------------------------------------- decode */

struct reader {
	const uint8_t *p;
	size_t left;
	bool short_read;
};

static uint64_t
get_n(struct reader *r, int n)
{
	uint64_t v = 0;

	if (r->left < (size_t)n) {
		r->short_read = true;
		r->left = 0;
		return 0;
	}
	for (int i = 0; i < n; i++)
		v = v << 8 | r->p[i];
	r->p += n;
	r->left -= n;
	return v;
}

static const void *
get_bytes(struct reader *r, size_t n)
{
	const void *p = r->p;

	if (r->left < n) {
		r->short_read = true;
		r->left = 0;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

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
raftmsg_decode(const void *payload, size_t len, struct raft_msg *m,
	       struct raftmsg_scratch *s, char *err, size_t errlen)
{
	struct reader r = { payload, len, false };
	uint8_t flags;
	uint32_t n;

	memset(m, 0, sizeof(*m));
	if (len < FIXED_SIZE)
		return fail(err, errlen, -EPROTO, "raft message of %zu bytes, at least %d expected",
		    len, FIXED_SIZE);
	m->type = get_n(&r, 1);
	flags = get_n(&r, 1);
	if (m->type == 0 || m->type > RAFT_MSG_TYPE_MAX)
		return fail(err, errlen, -EPROTO, "unknown raft message type %u", m->type);
	if (flags & ~F_ALL)
		return fail(err, errlen, -EPROTO, "unknown raft message flags 0x%02x", flags);
	m->reject = flags & F_REJECT;
	m->transfer = flags & F_TRANSFER;
	m->last = flags & F_LAST;
	m->from = get_n(&r, 8);
	m->to = get_n(&r, 8);
	m->term = get_n(&r, 8);
	m->prev_index = get_n(&r, 8);
	m->prev_term = get_n(&r, 8);
	m->commit = get_n(&r, 8);
	m->index = get_n(&r, 8);
	m->log_term = get_n(&r, 8);
	m->hint_index = get_n(&r, 8);
	m->hint_term = get_n(&r, 8);
	m->seq = get_n(&r, 8);
	m->ctx = get_n(&r, 8);
	m->offset = get_n(&r, 8);

	n = get_n(&r, 4);
	if (n > RAFT_MAX_MSG_ENTRIES)
		return fail(err, errlen, -E2BIG, "%u entries, at most %d allowed", n,
		    RAFT_MAX_MSG_ENTRIES);
	/* Each entry needs at least its head: refuse counts the bytes cannot hold. */
	if ((size_t)n * ENTRY_HEAD > r.left)
		return fail(err, errlen, -EPROTO, "%u entries announced, only %zu bytes left", n,
		    r.left);
	if (grow((void **)&s->entries, &s->entries_cap, n, sizeof(*s->entries)) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct raft_entry *e = &s->entries[i];

		e->term = get_n(&r, 8);
		e->index = get_n(&r, 8);
		e->type = get_n(&r, 1);
		e->len = get_n(&r, 4);
		if (r.short_read)
			return fail(err, errlen, -EPROTO, "entry %u truncated", i);
		if (e->len > RAFT_MAX_ENTRY_DATA)
			return fail(err, errlen, -E2BIG, "entry %u: %u bytes, at most %d allowed",
			    i, e->len, RAFT_MAX_ENTRY_DATA);
		e->data = (void *)get_bytes(&r, e->len);
		if (r.short_read)
			return fail(err, errlen, -EPROTO, "entry %u: %u data bytes announced, "
			    "fewer present", i, e->len);
		if (e->len == 0)
			e->data = NULL;
	}
	m->n_entries = n;
	m->entries = n ? s->entries : NULL;

	m->len = get_n(&r, 4);
	m->data = (void *)get_bytes(&r, m->len);
	if (r.short_read)
		return fail(err, errlen, -EPROTO, "chunk of %u bytes announced, fewer present",
		    m->len);
	if (m->len == 0)
		m->data = NULL;

	n = get_n(&r, 4);
	if (r.short_read)
		return fail(err, errlen, -EPROTO, "member count truncated");
	if (n > RAFTCONF_MAX_MEMBERS)
		return fail(err, errlen, -E2BIG, "%u members, at most %d allowed", n,
		    RAFTCONF_MAX_MEMBERS);
	if ((size_t)n * MEMBER_HEAD > r.left)
		return fail(err, errlen, -EPROTO, "%u members announced, only %zu bytes left", n,
		    r.left);
	if (grow((void **)&s->members, &s->members_cap, n, sizeof(*s->members)) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct raft_member *mb = &s->members[i];
		const void *ctx;
		uint8_t voter;

		mb->id = get_n(&r, 8);
		voter = get_n(&r, 1);
		mb->context_len = get_n(&r, 2);
		if (r.short_read)
			return fail(err, errlen, -EPROTO, "member %u truncated", i);
		if (voter > 1)
			return fail(err, errlen, -EPROTO, "member %u: voter flag %u", i, voter);
		mb->voter = voter;
		if (mb->context_len > RAFT_MAX_MEMBER_CONTEXT)
			return fail(err, errlen, -E2BIG, "member %u: context of %u bytes, at most "
			    "%d allowed", i, mb->context_len, RAFT_MAX_MEMBER_CONTEXT);
		ctx = get_bytes(&r, mb->context_len);
		if (r.short_read)
			return fail(err, errlen, -EPROTO, "member %u: context truncated", i);
		memcpy(mb->context, ctx, mb->context_len);
	}
	m->n_members = n;
	m->members = n ? s->members : NULL;

	if (r.left)
		return fail(err, errlen, -EPROTO, "%zu bytes after the raft message", r.left);
	return 0;
}

void
raftmsg_scratch_free(struct raftmsg_scratch *s)
{
	free(s->entries);
	free(s->members);
	memset(s, 0, sizeof(*s));
}
