/*
 * check_raftmsg.c — unit tests of the Raft message codec (daemon/raftmsg.c).
 *
 * Payloads are also written here by hand, by a small writer that follows the
 * layout raftmsg.h documents, so that the encoder is checked against the
 * documented format and the decoder is fed payloads the encoder never makes:
 * counts and lengths that lie.  Every payload given to the decoder sits in a
 * malloc'd buffer of exactly its size, so AddressSanitizer catches a read
 * past it.  Messages are decoded the way node.c does it: the RAFT frame
 * through proto_decode(), its payload through raftmsg_decode() with a
 * scratch that lives from one message to the next.
 *
 * `tests/check_raftmsg --write-seeds DIR` writes one payload per message
 * type, the fuzzer's seeds (tests/data/raftmsg/seeds).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "raft.h"
#include "raftmsg.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* The layout of raftmsg.h, restated: a change to it must change this too. */
#define FIXED_BYTES	(2 + 13 * 8 + 3 * 4)	/* every count zero */
#define ENTRY_HEAD	(8 + 8 + 1 + 4)
#define MEMBER_HEAD	(8 + 1 + 2)
#define FLAG_REJECT	0x01
#define FLAG_TRANSFER	0x02
#define FLAG_LAST	0x04
/* What the frame leaves for the payload: header and the payload's length. */
#define MAX_PAYLOAD	(RAFTCONF_MAX_FRAME - PROTO_HEADER_SIZE - 4)

#define NSAMPLES	RAFT_MSG_TYPE_MAX
#define NENTRIES	4
#define NMEMBERS	3

/* ------------------------------------------------------------ fixtures */

struct sample {
	struct raft_msg m;
	struct raft_entry entries[NENTRIES];
	struct raft_member members[NMEMBERS];
};

static struct sample samples[NSAMPLES];
static uint8_t pool[96 * 1024];

static void
fill_binary(uint8_t *p, size_t n, unsigned salt)
{
	/* Every byte value, NUL among them, in an order that is not a ramp. */
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 8) + salt);
}

/*
 * A distinct value for field f of sample k with every byte nonzero and the
 * top bit set, so that a field written at the wrong width, in the wrong
 * byte order or in another field's place cannot decode to the same value.
 */
static uint64_t
V(unsigned f, unsigned k)
{
	return 0x8000000000000000ULL | (uint64_t)(f + 1) << 56 | (uint64_t)(k + 1) << 48 |
	       0xa1b2c3d4e5f6ULL;
}

static void
init_samples(void)
{
	fill_binary(pool, sizeof(pool), 7);
	for (unsigned k = 0; k < NSAMPLES; k++) {
		struct sample *s = &samples[k];
		struct raft_msg *m = &s->m;
		static const uint32_t lens[NENTRIES] = { 0, 1, 255, 1000 };
		static const uint8_t types[NENTRIES] = { RAFT_ENTRY_NORMAL, RAFT_ENTRY_NOOP,
							 RAFT_ENTRY_CONF, RAFT_ENTRY_NORMAL };

		m->type = (uint8_t)(k + 1);
		m->from = V(0, k);
		m->to = V(1, k);
		m->term = V(2, k);
		m->prev_index = V(3, k);
		m->prev_term = V(4, k);
		m->commit = V(5, k);
		m->index = V(6, k);
		m->log_term = V(7, k);
		/* A SNAPSHOT has no hint: the slot carries its size. */
		if (m->type == RAFT_MSG_SNAPSHOT)
			m->size = V(8, k);
		else
			m->hint_index = V(8, k);
		m->hint_term = V(9, k);
		m->seq = V(10, k);
		/* APPEND and HEARTBEAT have no context: the slot carries a
		 * relayed append's leader and a learner's relay. */
		if (m->type == RAFT_MSG_APPEND)
			m->lead = V(11, k);
		else if (m->type == RAFT_MSG_HEARTBEAT)
			m->relay = V(11, k);
		else
			m->ctx = V(11, k);
		m->offset = V(12, k);
		/* Across the samples every combination of the three flags. */
		m->reject = (k + 1) & 1;
		m->transfer = (k + 1) & 2;
		m->last = (k + 1) & 4;

		for (unsigned i = 0; i < NENTRIES; i++) {
			s->entries[i].term = V(13 + i, k);
			s->entries[i].index = V(17 + i, k);
			s->entries[i].type = types[i];
			s->entries[i].len = lens[i] + (lens[i] ? k : 0);
			s->entries[i].data = lens[i] ? pool + 100 * i + k : NULL;
		}
		m->n_entries = NENTRIES;
		m->entries = s->entries;

		m->len = 500 + k;
		m->data = pool + 5000 + k;

		s->members[0] = (struct raft_member){ .id = V(21, k), .voter = true };
		s->members[1] = (struct raft_member){ .id = V(22, k), .voter = false,
						      .context_len = 1, .context = { 0 } };
		s->members[2] = (struct raft_member){ .id = V(23, k), .voter = true,
						      .context_len = RAFT_MAX_MEMBER_CONTEXT };
		fill_binary(s->members[2].context, RAFT_MAX_MEMBER_CONTEXT, k);
		m->n_members = NMEMBERS;
		m->members = s->members;
	}
}

/* ------------------------------------------------- an independent writer */

struct w {
	uint8_t *p;
	size_t len, cap;
};

static void
w_bytes(struct w *w, const void *data, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 64;
		/* no ck_assert: --write-seeds runs this outside of a test */
		if ((w->p = realloc(w->p, w->cap)) == NULL)
			abort();
	}
	if (n)
		memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void
w_be(struct w *w, uint64_t v, int n)
{
	uint8_t b[8];

	for (int i = n - 1; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	w_bytes(w, b, (size_t)n);
}

static void
w_u8(struct w *w, uint64_t v)
{
	w_be(w, v, 1);
}

/* The membership is little-endian inside the big-endian message (members.h). */
static void
w_le(struct w *w, uint64_t v, int n)
{
	uint8_t b[8];

	for (int i = 0; i < n; i++, v >>= 8)
		b[i] = (uint8_t)v;
	w_bytes(w, b, (size_t)n);
}

static void
w_u32(struct w *w, uint64_t v)
{
	w_be(w, v, 4);
}

static void
w_u64(struct w *w, uint64_t v)
{
	w_be(w, v, 8);
}

/* n bytes of a pattern, or of zeros. */
static void
w_fill(struct w *w, size_t n, bool zero)
{
	for (size_t i = 0; i < n; i++)
		w_u8(w, zero ? 0 : (uint8_t)(i * 131 + 7));
}

/* type, flags and the thirteen u64 fields. */
static void
w_head(struct w *w, const struct raft_msg *m, uint8_t flags)
{
	const uint64_t f[13] = { m->from, m->to, m->term, m->prev_index, m->prev_term,
				 m->commit, m->index, m->log_term,
				 m->type == RAFT_MSG_SNAPSHOT ? m->size : m->hint_index,
				 m->hint_term, m->seq,
				 m->type == RAFT_MSG_APPEND	 ? m->lead
				 : m->type == RAFT_MSG_HEARTBEAT ? m->relay
								 : m->ctx,
				 m->offset };

	w_u8(w, m->type);
	w_u8(w, flags);
	for (int i = 0; i < 13; i++)
		w_u64(w, f[i]);
}

static uint8_t
flags_of(const struct raft_msg *m)
{
	return (m->reject ? FLAG_REJECT : 0) | (m->transfer ? FLAG_TRANSFER : 0) |
	       (m->last ? FLAG_LAST : 0);
}

static void
w_entry(struct w *w, const struct raft_entry *e)
{
	w_u64(w, e->term);
	w_u64(w, e->index);
	w_u8(w, e->type);
	w_u32(w, e->len);
	w_bytes(w, e->data, e->len);
}

static void
w_member(struct w *w, const struct raft_member *mb)
{
	w_le(w, mb->id, 8);
	w_u8(w, mb->voter);
	w_le(w, mb->context_len, 2);
	w_bytes(w, mb->context, mb->context_len);
}

static void
w_msg(struct w *w, const struct raft_msg *m)
{
	w_head(w, m, flags_of(m));
	w_u32(w, m->n_entries);
	for (uint32_t i = 0; i < m->n_entries; i++)
		w_entry(w, &m->entries[i]);
	w_u32(w, m->len);
	w_bytes(w, m->data, m->len);
	w_le(w, m->n_members, 4);
	for (uint32_t i = 0; i < m->n_members; i++)
		w_member(w, &m->members[i]);
}

/* ------------------------------------------------------------- helpers */

static uint8_t *
dup_exact(const void *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(c);
	if (len)
		memcpy(c, p, len);
	return c;
}

/*
 * raftmsg_encode() m, check that what it appended is one RAFT frame, and
 * return its payload in a buffer of exactly its size.
 */
static uint8_t *
encode_payload(const struct raft_msg *m, size_t *len)
{
	struct proto_buf b;
	struct proto_msg pm;
	char err[256] = "";
	uint8_t *p;

	proto_buf_init(&b);
	ck_assert_int_eq(raftmsg_encode(&b, m), 0);
	ck_assert_msg(proto_decode(b.data, b.len, &pm, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(pm.type, PROTO_T_RAFT);
	ck_assert_uint_eq(b.len, PROTO_HEADER_SIZE + 4 + pm.raft.payload.len);
	*len = pm.raft.payload.len;
	p = dup_exact(pm.raft.payload.ptr, *len);
	proto_buf_free(&b);
	return p;
}

static bool
inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;

	return q >= buf && q + n <= buf + len;
}

/* got, decoded from payload, equals want field by field. */
static void
assert_msg_eq(const struct raft_msg *want, const struct raft_msg *got, const uint8_t *payload,
	      size_t len)
{
	ck_assert_uint_eq(got->type, want->type);
	ck_assert_uint_eq(got->from, want->from);
	ck_assert_uint_eq(got->to, want->to);
	ck_assert_uint_eq(got->term, want->term);
	ck_assert_uint_eq(got->prev_index, want->prev_index);
	ck_assert_uint_eq(got->prev_term, want->prev_term);
	ck_assert_uint_eq(got->commit, want->commit);
	ck_assert_uint_eq(got->index, want->index);
	ck_assert_uint_eq(got->log_term, want->log_term);
	ck_assert_uint_eq(got->hint_index, want->hint_index);
	ck_assert_uint_eq(got->size, want->size);
	ck_assert_uint_eq(got->hint_term, want->hint_term);
	ck_assert_uint_eq(got->seq, want->seq);
	ck_assert_uint_eq(got->ctx, want->ctx);
	ck_assert_uint_eq(got->lead, want->lead);
	ck_assert_uint_eq(got->relay, want->relay);
	ck_assert_uint_eq(got->offset, want->offset);
	ck_assert_int_eq(got->reject, want->reject);
	ck_assert_int_eq(got->transfer, want->transfer);
	ck_assert_int_eq(got->last, want->last);

	ck_assert_uint_eq(got->n_entries, want->n_entries);
	if (want->n_entries == 0)
		ck_assert_ptr_null(got->entries);
	for (uint32_t i = 0; i < want->n_entries; i++) {
		const struct raft_entry *a = &want->entries[i], *b = &got->entries[i];

		ck_assert_uint_eq(b->term, a->term);
		ck_assert_uint_eq(b->index, a->index);
		ck_assert_uint_eq(b->type, a->type);
		ck_assert_uint_eq(b->len, a->len);
		if (a->len == 0) {
			ck_assert_ptr_null(b->data);
			continue;
		}
		/* Zero-copy: entry data points into the payload. */
		ck_assert_msg(inside(b->data, b->len, payload, len),
			      "entry %u data is not inside the payload", i);
		ck_assert_mem_eq(b->data, a->data, a->len);
	}

	ck_assert_uint_eq(got->len, want->len);
	if (want->len == 0) {
		ck_assert_ptr_null(got->data);
	} else {
		ck_assert_msg(inside(got->data, got->len, payload, len),
			      "chunk data is not inside the payload");
		ck_assert_mem_eq(got->data, want->data, want->len);
	}

	ck_assert_uint_eq(got->n_members, want->n_members);
	if (want->n_members == 0)
		ck_assert_ptr_null(got->members);
	for (uint32_t i = 0; i < want->n_members; i++) {
		const struct raft_member *a = &want->members[i], *b = &got->members[i];

		ck_assert_uint_eq(b->id, a->id);
		ck_assert_int_eq(b->voter, a->voter);
		ck_assert_uint_eq(b->context_len, a->context_len);
		if (a->context_len)
			ck_assert_mem_eq(b->context, a->context, a->context_len);
	}
}

/* Encode, decode, compare; the payload's length in *plen when not NULL. */
static void
assert_round_trips(const struct raft_msg *m, size_t *plen)
{
	struct raftmsg_scratch s = { 0 };
	struct raft_msg got;
	char err[256] = "";
	size_t len;
	uint8_t *p = encode_payload(m, &len);

	ck_assert_msg(raftmsg_decode(p, len, &got, &s, err, sizeof(err)) == 0, "%s", err);
	assert_msg_eq(m, &got, p, len);
	if (plen)
		*plen = len;
	raftmsg_scratch_free(&s);
	free(p);
}

/*
 * Decode len bytes of buf (copied to a buffer of exactly that size) and
 * expect the refusal want, with something said in err.  Returns the
 * scratch's array capacities after the refusal, to check what a lie made
 * the decoder allocate.
 */
static void
expect_refused_cap(const void *buf, size_t len, int want, const char *what, size_t *entries_cap,
		   size_t *members_cap)
{
	struct raftmsg_scratch s = { 0 };
	struct raft_msg m;
	char err[256] = "";
	uint8_t *p = dup_exact(buf, len);
	int rc = raftmsg_decode(p, len, &m, &s, err, sizeof(err));

	ck_assert_msg(rc == want, "%s: decode gave %d (%s), wanted %d", what, rc, err, want);
	ck_assert_msg(err[0] != '\0', "%s: refused without saying why", what);
	if (entries_cap)
		*entries_cap = s.entries_cap;
	if (members_cap)
		*members_cap = s.members_cap;
	raftmsg_scratch_free(&s);
	free(p);
}

static void
expect_refused(const void *buf, size_t len, int want, const char *what)
{
	expect_refused_cap(buf, len, want, what, NULL, NULL);
}

/* A message with no entries, chunk or members, of sample 0's fields. */
static struct raft_msg
bare(void)
{
	struct raft_msg m = samples[0].m;

	m.n_entries = 0;
	m.entries = NULL;
	m.len = 0;
	m.data = NULL;
	m.n_members = 0;
	m.members = NULL;
	return m;
}

/* ----------------------------------------------------------- round trip */

START_TEST(test_every_message_type_round_trips_with_every_field_set)
{
	assert_round_trips(&samples[_i].m, NULL);
}
END_TEST

START_TEST(test_the_encoder_writes_the_layout_raftmsg_h_documents)
{
	struct w w = { 0 };
	size_t len;
	uint8_t *p = encode_payload(&samples[_i].m, &len);

	w_msg(&w, &samples[_i].m);
	ck_assert_uint_eq(len, w.len);
	ck_assert_mem_eq(p, w.p, len);
	free(w.p);
	free(p);
}
END_TEST

START_TEST(test_raftmsg_size_is_the_length_of_the_payload_it_encodes)
{
	const struct raft_msg *m = &samples[_i].m;
	size_t len;
	uint8_t *p = encode_payload(m, &len);

	ck_assert_uint_eq(raftmsg_size(m), len);
	free(p);
}
END_TEST

START_TEST(test_a_message_without_entries_chunk_or_members_decodes_to_null_pointers)
{
	struct raft_msg m = bare();
	size_t len;

	assert_round_trips(&m, &len);
	ck_assert_uint_eq(len, FIXED_BYTES);
}
END_TEST

START_TEST(test_each_flag_is_carried_by_its_own_bit)
{
	for (unsigned k = 0; k < NSAMPLES; k++) {
		const struct raft_msg *m = &samples[k].m;
		size_t len;
		uint8_t *p = encode_payload(m, &len);

		ck_assert_uint_eq(p[0], m->type);
		ck_assert_uint_eq(p[1], flags_of(m));
		free(p);
	}
	/* and the samples set each of the eight combinations at least once */
	for (unsigned want = 0; want < 8; want++) {
		bool seen = false;

		for (unsigned k = 0; k < NSAMPLES; k++)
			seen |= flags_of(&samples[k].m) == want;
		ck_assert_msg(seen, "no sample has flags 0x%02x", want);
	}
}
END_TEST

START_TEST(test_the_scratch_is_reused_and_a_smaller_message_leaves_nothing_of_a_larger_one)
{
	struct raftmsg_scratch s = { 0 };
	struct raft_msg small = bare(), got;
	struct raft_entry one = { .term = 3, .index = 4, .type = RAFT_ENTRY_NORMAL, .len = 2,
				  .data = (void *)"ab" };
	struct raft_entry *arr;
	size_t big_len, small_len, bare_len;
	uint8_t *big_p = encode_payload(&samples[3].m, &big_len), *small_p, *bare_p;
	struct raft_msg b = bare();
	char err[256] = "";

	small.n_entries = 1;
	small.entries = &one;
	small_p = encode_payload(&small, &small_len);
	bare_p = encode_payload(&b, &bare_len);

	ck_assert_msg(raftmsg_decode(big_p, big_len, &got, &s, err, sizeof(err)) == 0, "%s", err);
	assert_msg_eq(&samples[3].m, &got, big_p, big_len);
	arr = s.entries;
	ck_assert_uint_ge(s.entries_cap, NENTRIES);
	ck_assert_uint_ge(s.members_cap, NMEMBERS);

	ck_assert_msg(raftmsg_decode(small_p, small_len, &got, &s, err, sizeof(err)) == 0, "%s",
		      err);
	assert_msg_eq(&small, &got, small_p, small_len);
	ck_assert_ptr_eq(s.entries, arr);

	ck_assert_msg(raftmsg_decode(bare_p, bare_len, &got, &s, err, sizeof(err)) == 0, "%s",
		      err);
	assert_msg_eq(&b, &got, bare_p, bare_len);

	raftmsg_scratch_free(&s);
	ck_assert_ptr_null(s.entries);
	ck_assert_ptr_null(s.members);
	ck_assert_uint_eq(s.entries_cap, 0);
	ck_assert_uint_eq(s.members_cap, 0);
	free(big_p);
	free(small_p);
	free(bare_p);
}
END_TEST

START_TEST(test_a_message_at_every_count_limit_round_trips)
{
	struct raft_msg m = bare();
	struct raft_entry *e = calloc(RAFT_MAX_MSG_ENTRIES, sizeof(*e));
	struct raft_member *mb = calloc(RAFTCONF_MAX_MEMBERS, sizeof(*mb));
	size_t len;

	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(mb);
	for (uint32_t i = 0; i < RAFT_MAX_MSG_ENTRIES; i++) {
		e[i].term = V(1, i & 0xff);
		e[i].index = 1000 + i;
		e[i].type = RAFT_ENTRY_NORMAL;
		e[i].len = i % 3;
		e[i].data = e[i].len ? pool + i % 1000 : NULL;
	}
	for (uint32_t i = 0; i < RAFTCONF_MAX_MEMBERS; i++) {
		mb[i].id = i + 1;
		mb[i].voter = i % 2;
		mb[i].context_len = RAFT_MAX_MEMBER_CONTEXT;
		fill_binary(mb[i].context, RAFT_MAX_MEMBER_CONTEXT, i);
	}
	m.n_entries = RAFT_MAX_MSG_ENTRIES;
	m.entries = e;
	m.n_members = RAFTCONF_MAX_MEMBERS;
	m.members = mb;
	assert_round_trips(&m, &len);
	ck_assert_uint_eq(len, raftmsg_size(&m));
	free(e);
	free(mb);
}
END_TEST

START_TEST(test_an_entry_of_the_largest_allowed_size_round_trips)
{
	struct raft_msg m = bare();
	struct raft_entry e = { .term = 9, .index = 10, .type = RAFT_ENTRY_NORMAL,
				.len = RAFT_MAX_ENTRY_DATA };

	e.data = malloc(RAFT_MAX_ENTRY_DATA);
	ck_assert_ptr_nonnull(e.data);
	fill_binary(e.data, RAFT_MAX_ENTRY_DATA, 3);
	m.n_entries = 1;
	m.entries = &e;
	assert_round_trips(&m, NULL);
	free(e.data);
}
END_TEST

START_TEST(test_a_chunk_that_fills_the_frame_encodes_and_one_byte_more_does_not)
{
	struct raft_msg m = bare();
	struct proto_buf b;
	uint8_t *chunk = malloc(MAX_PAYLOAD);
	size_t len;

	ck_assert_ptr_nonnull(chunk);
	fill_binary(chunk, MAX_PAYLOAD, 5);
	m.len = MAX_PAYLOAD - FIXED_BYTES;
	m.data = chunk;
	assert_round_trips(&m, &len);
	ck_assert_uint_eq(len, MAX_PAYLOAD);

	/* One byte over: refused, and the buffer keeps what it held. */
	proto_buf_init(&b);
	{
		struct raft_msg small = bare();

		ck_assert_int_eq(raftmsg_encode(&b, &small), 0);
	}
	{
		uint8_t *data = b.data;
		size_t blen = b.len, cap = b.cap;
		uint8_t *copy = dup_exact(b.data, b.len);

		m.len++;
		ck_assert_int_eq(raftmsg_encode(&b, &m), -EMSGSIZE);
		ck_assert_ptr_eq(b.data, data);
		ck_assert_uint_eq(b.len, blen);
		ck_assert_uint_eq(b.cap, cap);
		ck_assert_mem_eq(b.data, copy, blen);
		free(copy);
	}
	proto_buf_free(&b);
	free(chunk);
}
END_TEST

START_TEST(test_two_entries_of_the_largest_size_do_not_fit_one_frame)
{
	struct raft_msg m = bare();
	struct raft_entry e[2];
	struct proto_buf b;
	uint8_t *data = malloc(RAFT_MAX_ENTRY_DATA);

	ck_assert_ptr_nonnull(data);
	memset(data, 0x5a, RAFT_MAX_ENTRY_DATA);
	for (int i = 0; i < 2; i++)
		e[i] = (struct raft_entry){ .term = 1, .index = 1 + i, .type = RAFT_ENTRY_NORMAL,
					    .len = RAFT_MAX_ENTRY_DATA, .data = data };
	m.n_entries = 2;
	m.entries = e;
	proto_buf_init(&b);
	ck_assert_int_eq(raftmsg_encode(&b, &m), -EMSGSIZE);
	ck_assert_uint_eq(b.len, 0);
	proto_buf_free(&b);
	free(data);
}
END_TEST

/* ----------------------------------------------------------- truncation */

START_TEST(test_every_prefix_of_every_message_is_refused)
{
	size_t len;
	uint8_t *p = encode_payload(&samples[_i].m, &len);

	/*
	 * Counts and lengths cut off whole or not at all are all under their
	 * limits, so the only right answer is "malformed", never "too big".
	 */
	for (size_t n = 0; n < len; n++) {
		char what[64];

		snprintf(what, sizeof(what), "%zu of %zu bytes", n, len);
		expect_refused(p, n, -EPROTO, what);
	}
	free(p);
}
END_TEST

START_TEST(test_bytes_after_the_last_member_are_refused)
{
	size_t len;
	uint8_t *p = encode_payload(&samples[_i].m, &len);
	uint8_t *q = malloc(2 * len);

	ck_assert_ptr_nonnull(q);
	memcpy(q, p, len);
	q[len] = 0;
	expect_refused(q, len + 1, -EPROTO, "one zero byte after the message");
	/* A second whole message in the same payload is trailing garbage too. */
	memcpy(q + len, p, len);
	expect_refused(q, 2 * len, -EPROTO, "two messages in one payload");
	free(q);
	free(p);
}
END_TEST

/* -------------------------------------------------------- lying lengths */

/* Sample 0's head with no entries, chunk or members, flags as given. */
static void
w_bare_head(struct w *w, uint8_t type, uint8_t flags)
{
	struct raft_msg m = bare();

	m.type = type;
	w_head(w, &m, flags);
}

START_TEST(test_an_entry_count_larger_than_the_entries_present_is_refused)
{
	struct w w = { 0 };
	const struct sample *s = &samples[0];

	w_bare_head(&w, RAFT_MSG_APPEND, 0);
	w_u32(&w, 2);
	w_entry(&w, &s->entries[2]);
	w_u32(&w, 0);
	w_u32(&w, 0);
	expect_refused(w.p, w.len, -EPROTO, "2 entries announced, 1 present");
	free(w.p);
}
END_TEST

START_TEST(test_an_entry_count_over_the_limit_is_refused_before_anything_is_allocated)
{
	/*
	 * Just over the limit; the largest count; and counts whose product
	 * with an entry's head wraps around a 32-bit size_t to a few bytes.
	 */
	const uint32_t counts[] = { RAFT_MAX_MSG_ENTRIES + 1, UINT32_MAX,
				    (uint32_t)(((1ULL << 32) + ENTRY_HEAD - 1) / ENTRY_HEAD),
				    UINT32_MAX / ENTRY_HEAD + 1 };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct w w = { 0 };
		size_t cap = 1;
		char what[64];

		w_bare_head(&w, RAFT_MSG_APPEND, 0);
		w_u32(&w, counts[i]);
		/* plenty of bytes behind it, so only the count is wrong */
		w_fill(&w, 4000, false);
		snprintf(what, sizeof(what), "entry count %u", counts[i]);
		expect_refused_cap(w.p, w.len, -E2BIG, what, &cap, NULL);
		ck_assert_msg(cap == 0, "%s: scratch grew to %zu entries", what, cap);
		free(w.p);
	}
}
END_TEST

START_TEST(test_an_entry_count_the_bytes_left_cannot_hold_is_refused_without_allocating)
{
	/* Within the limit, but each entry needs at least its head. */
	const uint32_t counts[] = { RAFT_MAX_MSG_ENTRIES, 1000, 2 };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct w w = { 0 };
		size_t cap = 1;
		char what[64];

		w_bare_head(&w, RAFT_MSG_APPEND, 0);
		w_u32(&w, counts[i]);
		w_fill(&w, (size_t)counts[i] * ENTRY_HEAD - 1, false);
		snprintf(what, sizeof(what), "%u entries in %zu bytes", counts[i],
			 (size_t)counts[i] * ENTRY_HEAD - 1);
		expect_refused_cap(w.p, w.len, -EPROTO, what, &cap, NULL);
		ck_assert_msg(cap == 0, "%s: scratch grew to %zu entries", what, cap);
		free(w.p);
	}
}
END_TEST

/* One entry announcing len data bytes, followed by `have` zero bytes. */
static void
one_entry_claiming(uint32_t len, size_t have, int want)
{
	struct w w = { 0 };
	char what[80];

	w_bare_head(&w, RAFT_MSG_APPEND, 0);
	w_u32(&w, 1);
	w_u64(&w, 7);
	w_u64(&w, 8);
	w_u8(&w, RAFT_ENTRY_NORMAL);
	w_u32(&w, len);
	w_fill(&w, have, true);
	snprintf(what, sizeof(what), "an entry of %u bytes with %zu after its head", len, have);
	expect_refused(w.p, w.len, want, what);
	free(w.p);
}

START_TEST(test_an_entry_length_past_the_end_or_over_the_limit_is_refused)
{
	/* Past the end. */
	one_entry_claiming(100, 99, -EPROTO);
	one_entry_claiming(9, 8, -EPROTO);
	one_entry_claiming(RAFT_MAX_ENTRY_DATA, 4000, -EPROTO);
	/* Over the limit, with or without the bytes. */
	one_entry_claiming(RAFT_MAX_ENTRY_DATA + 1, 4000, -E2BIG);
	one_entry_claiming(UINT32_MAX, 4000, -E2BIG);
	one_entry_claiming(UINT32_MAX - 7, 8, -E2BIG);
	one_entry_claiming(0x80000000u, 8, -E2BIG);
}
END_TEST

START_TEST(test_an_entry_with_room_for_its_data_but_not_the_counts_after_it_is_refused)
{
	/* The data fits what is left, but then a count is missing. */
	one_entry_claiming(8, 8, -EPROTO);	/* the chunk length */
	one_entry_claiming(4, 8, -EPROTO);	/* the member count */
	one_entry_claiming(4, 7, -EPROTO);
}
END_TEST

/* A bare message whose chunk announces len bytes, followed by `have` zero bytes. */
static void
chunk_claiming(uint32_t len, size_t have)
{
	struct w w = { 0 };
	char what[80];

	w_bare_head(&w, RAFT_MSG_SNAPSHOT, FLAG_LAST);
	w_u32(&w, 0);
	w_u32(&w, len);
	w_fill(&w, have, true);
	snprintf(what, sizeof(what), "a chunk of %u bytes with %zu after its length", len, have);
	expect_refused(w.p, w.len, -EPROTO, what);
	free(w.p);
}

START_TEST(test_a_chunk_length_past_the_end_is_refused)
{
	chunk_claiming(1000, 999 + 4);
	chunk_claiming(5, 4);
	chunk_claiming(UINT32_MAX, 4000);
	chunk_claiming(UINT32_MAX - 3, 4);
	chunk_claiming(0x80000000u, 4);
	/* The chunk fits, the member count after it does not. */
	chunk_claiming(1000, 1000 + 3);
}
END_TEST

/* A bare message whose member count is n, followed by `have` bytes. */
static void
members_claiming(uint32_t n, const void *after, size_t have, int want, size_t *cap)
{
	struct w w = { 0 };
	char what[80];

	w_bare_head(&w, RAFT_MSG_SNAPSHOT, 0);
	w_u32(&w, 0);
	w_u32(&w, 0);
	w_le(&w, n, 4);
	w_bytes(&w, after, have);
	snprintf(what, sizeof(what), "%u members with %zu bytes after the count", n, have);
	expect_refused_cap(w.p, w.len, want, what, NULL, cap);
	free(w.p);
}

START_TEST(test_a_member_count_over_the_limit_is_refused_before_anything_is_allocated)
{
	const uint32_t counts[] = { RAFTCONF_MAX_MEMBERS + 1, UINT32_MAX,
				    (uint32_t)(((1ULL << 32) + MEMBER_HEAD - 1) / MEMBER_HEAD) };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		size_t cap = 1;

		members_claiming(counts[i], pool, 8000, -E2BIG, &cap);
		ck_assert_msg(cap == 0, "count %u: scratch grew to %zu members", counts[i], cap);
	}
}
END_TEST

START_TEST(test_a_member_count_the_bytes_left_cannot_hold_is_refused_without_allocating)
{
	size_t cap = 1;
	struct w w = { 0 };

	members_claiming(RAFTCONF_MAX_MEMBERS, pool, 0, -EPROTO, &cap);
	ck_assert_uint_eq(cap, 0);
	members_claiming(RAFTCONF_MAX_MEMBERS, pool, RAFTCONF_MAX_MEMBERS * MEMBER_HEAD - 1,
			 -EPROTO, &cap);
	ck_assert_uint_eq(cap, 0);
	/* Two announced, one whole member and the head of no other. */
	w_member(&w, &samples[0].members[1]);
	w_bytes(&w, pool, MEMBER_HEAD - 1);
	members_claiming(2, w.p, w.len, -EPROTO, NULL);
	free(w.p);
}
END_TEST

/* One member whose context announces clen bytes, followed by `have` bytes. */
static void
context_claiming(uint16_t clen, size_t have, int want)
{
	struct w w = { 0 };

	w_le(&w, 42, 8);
	w_u8(&w, 1);
	w_le(&w, clen, 2);
	w_bytes(&w, pool, have);
	members_claiming(1, w.p, w.len, want, NULL);
	free(w.p);
}

START_TEST(test_a_member_context_over_its_limit_or_past_the_end_is_refused)
{
	context_claiming(RAFT_MAX_MEMBER_CONTEXT + 1, RAFT_MAX_MEMBER_CONTEXT + 1, -E2BIG);
	context_claiming(UINT16_MAX, UINT16_MAX, -E2BIG);
	context_claiming(UINT16_MAX, 10, -E2BIG);
	context_claiming(10, 9, -EPROTO);
	context_claiming(RAFT_MAX_MEMBER_CONTEXT, RAFT_MAX_MEMBER_CONTEXT - 1, -EPROTO);
	context_claiming(1, 0, -EPROTO);
}
END_TEST

START_TEST(test_a_voter_flag_other_than_zero_or_one_is_refused)
{
	for (unsigned v = 2; v <= 0xff; v++) {
		struct w w = { 0 };

		w_le(&w, 42, 8);
		w_u8(&w, v);
		w_le(&w, 0, 2);
		members_claiming(1, w.p, w.len, -EPROTO, NULL);
		free(w.p);
	}
}
END_TEST

START_TEST(test_unknown_message_types_are_refused)
{
	for (unsigned t = 0; t <= 0xff; t++) {
		struct w w = { 0 };
		char what[32];

		if (t >= 1 && t <= RAFT_MSG_TYPE_MAX)
			continue;
		w_bare_head(&w, (uint8_t)t, 0);
		w_u32(&w, 0);
		w_u32(&w, 0);
		w_u32(&w, 0);
		snprintf(what, sizeof(what), "type %u", t);
		expect_refused(w.p, w.len, -EPROTO, what);
		free(w.p);
	}
}
END_TEST

START_TEST(test_unknown_flag_bits_are_refused)
{
	for (unsigned bit = 3; bit < 8; bit++) {
		struct w w = { 0 };
		char what[32];

		w_bare_head(&w, RAFT_MSG_APPEND_RESP, (uint8_t)(1u << bit | FLAG_REJECT));
		w_u32(&w, 0);
		w_u32(&w, 0);
		w_u32(&w, 0);
		snprintf(what, sizeof(what), "flag bit 0x%02x", 1u << bit);
		expect_refused(w.p, w.len, -EPROTO, what);
		free(w.p);
	}
}
END_TEST

START_TEST(test_a_hand_written_message_with_every_known_flag_decodes)
{
	/* The refusals above are about the bad byte, not about hand writing. */
	struct raftmsg_scratch s = { 0 };
	struct raft_msg m = bare(), got;
	struct w w = { 0 };
	char err[256] = "";

	m.reject = m.transfer = m.last = true;
	w_msg(&w, &m);
	ck_assert_msg(raftmsg_decode(w.p, w.len, &got, &s, err, sizeof(err)) == 0, "%s", err);
	assert_msg_eq(&m, &got, w.p, w.len);
	raftmsg_scratch_free(&s);
	free(w.p);
}
END_TEST

/* ---------------------------------------------------------------- seeds */

static int
write_seeds(const char *dir)
{
	for (unsigned k = 0; k < NSAMPLES; k++) {
		char path[4096];
		size_t len;
		uint8_t *p;
		FILE *fp;
		struct w w = { 0 };

		/* The writer gives the same bytes as the encoder (tested above). */
		w_msg(&w, &samples[k].m);
		p = w.p;
		len = w.len;
		snprintf(path, sizeof(path), "%s/%s", dir, raft_msg_type_name(samples[k].m.type));
		if ((fp = fopen(path, "wb")) == NULL || fwrite(p, 1, len, fp) != len ||
		    fclose(fp) != 0) {
			perror(path);
			return 1;
		}
		free(p);
	}
	return 0;
}

START_TEST(test_every_fuzz_seed_decodes_and_reencodes_to_the_same_bytes)
{
	const char *dir = TEST_DATA_DIR "/raftmsg/seeds";
	struct raftmsg_scratch s = { 0 };
	bool type_seen[RAFT_MSG_TYPE_MAX + 1] = { false };
	struct dirent *de;
	DIR *d = opendir(dir);
	int seeds = 0;

	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char path[4096], err[256] = "";
		struct raft_msg m;
		uint8_t *f, *again;
		size_t len;
		long n;
		FILE *fp;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fp = fopen(path, "rb");
		ck_assert_msg(fp != NULL, "%s", path);
		ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
		n = ftell(fp);
		rewind(fp);
		ck_assert_int_gt(n, 0);
		f = malloc((size_t)n);
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fread(f, 1, (size_t)n, fp), (size_t)n);
		fclose(fp);
		ck_assert_msg(raftmsg_decode(f, (size_t)n, &m, &s, err, sizeof(err)) == 0,
			      "%s: %s", path, err);
		again = encode_payload(&m, &len);
		ck_assert_uint_eq(len, (size_t)n);
		ck_assert_msg(memcmp(again, f, len) == 0, "%s re-encodes differently", path);
		type_seen[m.type] = true;
		free(again);
		free(f);
		seeds++;
	}
	closedir(d);
	raftmsg_scratch_free(&s);
	for (unsigned t = 1; t <= RAFT_MSG_TYPE_MAX; t++)
		ck_assert_msg(type_seen[t], "no seed of type %s", raft_msg_type_name((int)t));
	ck_assert_int_ge(seeds, NSAMPLES);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *
raftmsg_suite(void)
{
	Suite *s = suite_create("raftmsg");
	TCase *tc;

	tc = tcase_create("round trip");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_every_message_type_round_trips_with_every_field_set, 0,
			    NSAMPLES);
	tcase_add_loop_test(tc, test_the_encoder_writes_the_layout_raftmsg_h_documents, 0,
			    NSAMPLES);
	tcase_add_loop_test(tc, test_raftmsg_size_is_the_length_of_the_payload_it_encodes, 0,
			    NSAMPLES);
	tcase_add_test(tc, test_a_message_without_entries_chunk_or_members_decodes_to_null_pointers);
	tcase_add_test(tc, test_each_flag_is_carried_by_its_own_bit);
	tcase_add_test(tc,
		       test_the_scratch_is_reused_and_a_smaller_message_leaves_nothing_of_a_larger_one);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_a_message_at_every_count_limit_round_trips);
	tcase_add_test(tc, test_an_entry_of_the_largest_allowed_size_round_trips);
	tcase_add_test(tc, test_a_chunk_that_fills_the_frame_encodes_and_one_byte_more_does_not);
	tcase_add_test(tc, test_two_entries_of_the_largest_size_do_not_fit_one_frame);
	suite_add_tcase(s, tc);

	tc = tcase_create("truncation and trailing bytes");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_every_prefix_of_every_message_is_refused, 0, NSAMPLES);
	tcase_add_loop_test(tc, test_bytes_after_the_last_member_are_refused, 0, NSAMPLES);
	suite_add_tcase(s, tc);

	tc = tcase_create("lying lengths");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_an_entry_count_larger_than_the_entries_present_is_refused);
	tcase_add_test(tc,
		       test_an_entry_count_over_the_limit_is_refused_before_anything_is_allocated);
	tcase_add_test(tc,
		       test_an_entry_count_the_bytes_left_cannot_hold_is_refused_without_allocating);
	tcase_add_test(tc, test_an_entry_length_past_the_end_or_over_the_limit_is_refused);
	tcase_add_test(tc,
		       test_an_entry_with_room_for_its_data_but_not_the_counts_after_it_is_refused);
	tcase_add_test(tc, test_a_chunk_length_past_the_end_is_refused);
	tcase_add_test(tc,
		       test_a_member_count_over_the_limit_is_refused_before_anything_is_allocated);
	tcase_add_test(tc,
		       test_a_member_count_the_bytes_left_cannot_hold_is_refused_without_allocating);
	tcase_add_test(tc, test_a_member_context_over_its_limit_or_past_the_end_is_refused);
	tcase_add_test(tc, test_a_voter_flag_other_than_zero_or_one_is_refused);
	tcase_add_test(tc, test_unknown_message_types_are_refused);
	tcase_add_test(tc, test_unknown_flag_bits_are_refused);
	tcase_add_test(tc, test_a_hand_written_message_with_every_known_flag_decodes);
	suite_add_tcase(s, tc);

	tc = tcase_create("seeds");
	tcase_add_test(tc, test_every_fuzz_seed_decodes_and_reencodes_to_the_same_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failures;

	init_samples();
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return write_seeds(argv[2]);
	sr = srunner_create(raftmsg_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
