/*
 * fuzz_raftmsg.c — libFuzzer target for the Raft message codec
 * (daemon/raftmsg.c): each input is the payload of a RAFT frame, as a peer
 * could send it.
 *
 * A refusal must be one of the documented codes with a reason in err.
 * Whatever decodes must describe bytes that exist (entry and chunk data
 * inside the input, counts and lengths within the limits of raft.h), have
 * raftmsg_size() equal to the input's length, re-encode into a RAFT frame
 * whose payload is exactly the input (the encoding is canonical), and decode
 * again to an equal message.  The scratch lives from one input to the next,
 * as node.c's does, so a short message after a long one is exercised too.
 * Any disagreement aborts.
 *
 * Not a unit test: tests/check_raftmsg.c holds those, including a
 * regression test for anything this target finds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "raft.h"
#include "raftmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
require(bool ok, const char *what, const char *err)
{
	if (!ok) {
		fprintf(stderr, "fuzz_raftmsg: %s%s%s\n", what, err ? ": " : "", err ? err : "");
		abort();
	}
}

static bool
inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;

	return q >= buf && q <= buf + len && n <= (size_t)(buf + len - q);
}

static bool
bytes_eq(const void *a, const void *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

/* Field by field, written from raft.h rather than from the codec. */
static bool
msg_eq(const struct raft_msg *a, const struct raft_msg *b)
{
	if (a->type != b->type || a->from != b->from || a->to != b->to || a->term != b->term ||
	    a->prev_index != b->prev_index || a->prev_term != b->prev_term ||
	    a->commit != b->commit || a->index != b->index || a->log_term != b->log_term ||
	    a->hint_index != b->hint_index || a->size != b->size || a->hint_term != b->hint_term ||
	    a->seq != b->seq || a->ctx != b->ctx || a->offset != b->offset ||
	    a->reject != b->reject || a->transfer != b->transfer || a->last != b->last ||
	    a->n_entries != b->n_entries || a->len != b->len || a->n_members != b->n_members)
		return false;
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const struct raft_entry *x = &a->entries[i], *y = &b->entries[i];

		if (x->term != y->term || x->index != y->index || x->type != y->type ||
		    x->len != y->len || !bytes_eq(x->data, y->data, x->len))
			return false;
	}
	if (!bytes_eq(a->data, b->data, a->len))
		return false;
	for (uint32_t i = 0; i < a->n_members; i++) {
		const struct raft_member *x = &a->members[i], *y = &b->members[i];

		if (x->id != y->id || x->voter != y->voter || x->context_len != y->context_len ||
		    !bytes_eq(x->context, y->context, x->context_len))
			return false;
	}
	return true;
}

/* What raftmsg.h promises of a message it decoded from data[0..size). */
static void
check_decoded(const struct raft_msg *m, const uint8_t *data, size_t size)
{
	require(m->type >= 1 && m->type <= RAFT_MSG_TYPE_MAX, "decoded an unknown type", NULL);
	require(m->n_entries <= RAFT_MAX_MSG_ENTRIES, "entry count over the limit", NULL);
	require((m->n_entries == 0) == (m->entries == NULL), "entries pointer", NULL);
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct raft_entry *e = &m->entries[i];

		require(e->len <= RAFT_MAX_ENTRY_DATA, "entry over the limit", NULL);
		require(e->len ? inside(e->data, e->len, data, size) : e->data == NULL,
			"entry data outside the payload", NULL);
	}
	require(m->len ? inside(m->data, m->len, data, size) : m->data == NULL,
		"chunk data outside the payload", NULL);
	require(m->n_members <= RAFTCONF_MAX_MEMBERS, "member count over the limit", NULL);
	require((m->n_members == 0) == (m->members == NULL), "members pointer", NULL);
	for (uint32_t i = 0; i < m->n_members; i++)
		require(m->members[i].context_len <= RAFT_MAX_MEMBER_CONTEXT,
			"member context over the limit", NULL);
	require(raftmsg_size(m) == size, "raftmsg_size differs from the payload's length", NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct raftmsg_scratch s, s2;
	struct raft_msg m, again;
	struct proto_msg pm;
	struct proto_buf b;
	char err[256] = "";
	int rc;

	rc = raftmsg_decode(data, size, &m, &s, err, sizeof(err));
	if (rc < 0) {
		require(rc == -EPROTO || rc == -E2BIG || rc == -ENOMEM, "undocumented error code",
			err);
		require(err[0] != '\0' || rc == -ENOMEM, "a refusal without a reason", NULL);
		return 0;
	}
	check_decoded(&m, data, size);

	proto_buf_init(&b);
	rc = raftmsg_encode(&b, &m);
	require(rc == 0 || (rc == -EMSGSIZE &&
			    size > RAFTCONF_MAX_FRAME - PROTO_HEADER_SIZE - 4),
		"a decoded message does not re-encode", NULL);
	if (rc == 0) {
		rc = proto_decode(b.data, b.len, &pm, err, sizeof(err));
		require(rc == 0 && pm.type == PROTO_T_RAFT, "the re-encoded frame does not decode",
			err);
		require(pm.raft.payload.len == size &&
			bytes_eq(pm.raft.payload.ptr, data, size), "re-encoding differs", NULL);
		rc = raftmsg_decode(pm.raft.payload.ptr, pm.raft.payload.len, &again, &s2, err,
				    sizeof(err));
		require(rc == 0, "a re-encoded message does not decode", err);
		require(msg_eq(&m, &again), "decode(encode(x)) != x", NULL);
	}
	proto_buf_free(&b);
	return 0;
}
