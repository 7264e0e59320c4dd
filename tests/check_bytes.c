/*
 * check_bytes.c — unit tests for the byte codecs that have no suite of
 * their own: bytes.h (the integer helpers, the bounds-checked reader and
 * writer), members.c (the one encoding of a membership), and the layouts of
 * a Raft message on the wire (raftmsg.c) and of the membership entries in
 * the log (raft.c), pinned byte for byte, so that a change of codec cannot
 * change a byte unnoticed.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "members.h"
#include "proto.h"
#include "raft.h"
#include "raftmsg.h"

/* "01 0a ff" -> bytes; spaces and newlines are ignored. */
static uint8_t *
unhex(const char *s, size_t *len)
{
	uint8_t *b = malloc(strlen(s) / 2 + 1);
	size_t n = 0;

	ck_assert_ptr_nonnull(b);
	while (*s) {
		unsigned v;

		if (*s == ' ' || *s == '\n') {
			s++;
			continue;
		}
		ck_assert_int_eq(sscanf(s, "%2x", &v), 1);
		b[n++] = (uint8_t)v;
		s += 2;
	}
	*len = n;
	return b;
}

static void
assert_bytes(const void *got, size_t glen, const char *want_hex)
{
	size_t wlen;
	uint8_t *want = unhex(want_hex, &wlen);

	ck_assert_uint_eq(glen, wlen);
	for (size_t i = 0; i < wlen; i++)
		ck_assert_msg(((const uint8_t *)got)[i] == want[i],
			"byte %zu: 0x%02x, expected 0x%02x", i, ((const uint8_t *)got)[i],
			want[i]);
	free(want);
}

static struct raft_member
member(uint64_t id, bool voter, const char *ctx)
{
	struct raft_member m;

	memset(&m, 0, sizeof(m));
	m.id = id;
	m.voter = voter;
	m.context_len = (uint16_t)strlen(ctx);
	memcpy(m.context, ctx, m.context_len);
	return m;
}

/* ------------------------------------------------------------ bytes.h */

/* One kind of read; returns what it read as a number (br_mem: 1 if non-NULL). */
enum rkind { R_U8, R_LE16, R_LE32, R_LE64, R_BE16, R_BE32, R_BE64, R_MEM3, R_COPY3, R_NKINDS };

static const size_t rsize[R_NKINDS] = { 1, 2, 4, 8, 2, 4, 8, 3, 3 };

static uint64_t
read_one(struct bytes_reader *r, enum rkind k)
{
	uint8_t dst[3] = { 0xaa, 0xaa, 0xaa };

	switch (k) {
	case R_U8:
		return br_u8(r);
	case R_LE16:
		return br_le16(r);
	case R_LE32:
		return br_le32(r);
	case R_LE64:
		return br_le64(r);
	case R_BE16:
		return br_be16(r);
	case R_BE32:
		return br_be32(r);
	case R_BE64:
		return br_be64(r);
	case R_MEM3:
		return br_mem(r, 3) != NULL;
	case R_COPY3:
		if (br_copy(r, dst, 3))
			return 1;
		/* a failed copy leaves the destination alone */
		ck_assert(dst[0] == 0xaa && dst[1] == 0xaa && dst[2] == 0xaa);
		return 0;
	default:
		ck_abort();
		return 0;
	}
}

START_TEST(test_every_read_past_the_end_sets_err_returns_zero_and_consumes_nothing)
{
	uint8_t buf[8];

	memset(buf, 0xff, sizeof(buf));
	for (int k = 0; k < R_NKINDS; k++) {
		for (size_t have = 0; have < rsize[k]; have++) {
			struct bytes_reader r;

			br_init(&r, buf, have);
			ck_assert(!r.err);
			ck_assert_uint_eq(br_left(&r), have);
			ck_assert_msg(read_one(&r, (enum rkind)k) == 0, "kind %d, %zu bytes", k,
				have);
			ck_assert(r.err);
			ck_assert_uint_eq(r.off, 0);
			ck_assert_uint_eq(br_left(&r), 0);
		}
		/* and with exactly enough bytes the read succeeds */
		{
			struct bytes_reader r;

			br_init(&r, buf, rsize[k]);
			ck_assert_uint_ne(read_one(&r, (enum rkind)k), 0);
			ck_assert(!r.err);
			ck_assert_uint_eq(br_left(&r), 0);
		}
	}
}
END_TEST

START_TEST(test_no_read_succeeds_after_err)
{
	uint8_t buf[10];
	struct bytes_reader r;

	memset(buf, 0xff, sizeof(buf));
	br_init(&r, buf, sizeof(buf));
	ck_assert_uint_eq(br_le64(&r), UINT64_MAX);
	ck_assert_uint_eq(br_be32(&r), 0);	/* 2 bytes left: too few */
	ck_assert(r.err);
	ck_assert_uint_eq(r.off, 8);
	/* the 2 bytes are there, but nothing is read any more */
	for (int k = 0; k < R_NKINDS; k++) {
		ck_assert_uint_eq(read_one(&r, (enum rkind)k), 0);
		ck_assert_uint_eq(r.off, 8);
	}
	ck_assert_ptr_null(br_mem(&r, 0));
	ck_assert_uint_eq(br_left(&r), 0);
	ck_assert(r.err);
}
END_TEST

START_TEST(test_reads_and_writes_agree_in_both_byte_orders)
{
	static const uint8_t seq[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct bytes_reader r;
	struct bytes_writer w;
	uint8_t out[64], b[8];

	br_init(&r, seq, 8);
	ck_assert_uint_eq(br_le16(&r), 0x0201);
	ck_assert_uint_eq(br_be16(&r), 0x0304);
	ck_assert_uint_eq(br_le32(&r), 0x08070605);
	ck_assert(!r.err);
	br_init(&r, seq, 8);
	ck_assert_uint_eq(br_le64(&r), 0x0807060504030201ull);
	br_init(&r, seq, 8);
	ck_assert_uint_eq(br_be64(&r), 0x0102030405060708ull);
	br_init(&r, seq, 8);
	ck_assert_uint_eq(br_be32(&r), 0x01020304);
	ck_assert_uint_eq(br_u8(&r), 5);
	ck_assert(br_mem(&r, 3) == seq + 5);
	ck_assert_uint_eq(br_left(&r), 0);
	ck_assert(br_mem(&r, 0) == seq + 8);	/* nothing left is not an error */
	ck_assert(!r.err);

	put_le16(b, 0x0102);
	ck_assert(b[0] == 2 && b[1] == 1);
	ck_assert_uint_eq(get_le16(b), 0x0102);
	put_be16(b, 0x0102);
	ck_assert(b[0] == 1 && b[1] == 2);
	ck_assert_uint_eq(get_be16(b), 0x0102);
	put_le32(b, 0x01020304);
	ck_assert(b[0] == 4 && b[3] == 1);
	ck_assert_uint_eq(get_le32(b), 0x01020304);
	put_be32(b, 0x01020304);
	ck_assert(b[0] == 1 && b[3] == 4);
	ck_assert_uint_eq(get_be32(b), 0x01020304);
	put_le64(b, 0x0102030405060708ull);
	ck_assert(memcmp(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8) == 0);
	ck_assert_uint_eq(get_le64(b), 0x0102030405060708ull);
	put_be64(b, 0x0102030405060708ull);
	ck_assert(memcmp(b, seq, 8) == 0);
	ck_assert_uint_eq(get_be64(b), 0x0102030405060708ull);

	/* what the writer writes, the reader reads back */
	bw_init(&w, out, sizeof(out));
	bw_u8(&w, 0xfe);
	bw_le16(&w, 0xbeef);
	bw_le32(&w, 0xdeadbeef);
	bw_le64(&w, 0x1122334455667788ull);
	bw_be16(&w, 0xbeef);
	bw_be32(&w, 0xdeadbeef);
	bw_be64(&w, 0x1122334455667788ull);
	bw_mem(&w, "xyz", 3);
	ck_assert(!w.err);
	ck_assert_uint_eq(w.len, 1 + 2 + 4 + 8 + 2 + 4 + 8 + 3);
	br_init(&r, out, w.len);
	ck_assert_uint_eq(br_u8(&r), 0xfe);
	ck_assert_uint_eq(br_le16(&r), 0xbeef);
	ck_assert_uint_eq(br_le32(&r), 0xdeadbeef);
	ck_assert_uint_eq(br_le64(&r), 0x1122334455667788ull);
	ck_assert_uint_eq(br_be16(&r), 0xbeef);
	ck_assert_uint_eq(br_be32(&r), 0xdeadbeef);
	ck_assert_uint_eq(br_be64(&r), 0x1122334455667788ull);
	ck_assert(memcmp(br_mem(&r, 3), "xyz", 3) == 0);
	ck_assert(!r.err);
	ck_assert_uint_eq(br_left(&r), 0);
}
END_TEST

START_TEST(test_a_write_past_cap_sets_err_and_writes_nothing_more)
{
	struct bytes_writer w;
	uint8_t out[6];

	memset(out, 0xaa, sizeof(out));
	bw_init(&w, out, 5);
	bw_be32(&w, 0x01020304);
	bw_be16(&w, 0x0506);	/* 1 byte of room: refused whole */
	ck_assert(w.err);
	ck_assert_uint_eq(w.len, 4);
	ck_assert_uint_eq(out[4], 0xaa);
	bw_u8(&w, 7);		/* room, but err is set */
	ck_assert_uint_eq(w.len, 4);
	ck_assert_uint_eq(out[4], 0xaa);

	/* without a buffer the writer only counts, and checks cap all the same */
	bw_init(&w, NULL, 12);
	bw_be64(&w, 1);
	bw_mem(&w, "abcd", 4);
	ck_assert(!w.err);
	ck_assert_uint_eq(w.len, 12);
	bw_u8(&w, 1);
	ck_assert(w.err);
	ck_assert_uint_eq(w.len, 12);
}
END_TEST

/* ------------------------------------------------------------ members */

static const char members_pinned[] =
	"03000000"
	"0100000000000000 01 1100 6e31203132372e302e302e313a37303031"
	"0200000000000000 01 0200 6e32"
	"0300000000000000 00 0000";

static void
three(struct raft_member *m)
{
	m[0] = member(1, true, "n1 127.0.0.1:7001");
	m[1] = member(2, true, "n2");
	m[2] = member(3, false, "");
}

START_TEST(test_a_membership_round_trips_with_the_pinned_bytes)
{
	struct raft_member m[3], *d;
	char err[128] = "";
	uint8_t *blob;
	size_t len;
	uint32_t n;

	three(m);
	ck_assert_int_eq(members_encode(m, 3, &blob, &len), 0);
	ck_assert_uint_eq(len, members_size(m, 3));
	assert_bytes(blob, len, members_pinned);
	ck_assert_int_eq(members_decode(blob, len, &d, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(d[i].id, m[i].id);
		ck_assert_int_eq(d[i].voter, m[i].voter);
		ck_assert_uint_eq(d[i].context_len, m[i].context_len);
		ck_assert(memcmp(d[i].context, m[i].context, m[i].context_len) == 0);
	}
	free(d);
	free(blob);

	/* none at all */
	ck_assert_int_eq(members_encode(NULL, 0, &blob, &len), 0);
	assert_bytes(blob, len, "00000000");
	ck_assert_int_eq(members_decode(blob, len, &d, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(d);
	free(d);
	free(blob);
}
END_TEST

START_TEST(test_every_truncation_of_a_membership_is_refused)
{
	struct raft_member m[3], *d = (struct raft_member *)1;
	char err[128];
	uint8_t *blob, *more;
	size_t len;
	uint32_t n = 7;

	three(m);
	ck_assert_int_eq(members_encode(m, 3, &blob, &len), 0);
	for (size_t cut = 0; cut < len; cut++) {
		err[0] = '\0';
		ck_assert_int_eq(members_decode(blob, cut, &d, &n, err, sizeof(err)), -EBADMSG);
		ck_assert_ptr_null(d);
		ck_assert_uint_eq(n, 0);
		ck_assert_msg(err[0] != '\0', "no message at %zu bytes", cut);
	}
	more = malloc(len + 1);
	ck_assert_ptr_nonnull(more);
	memcpy(more, blob, len);
	more[len] = 0;
	ck_assert_int_eq(members_decode(more, len + 1, &d, &n, err, sizeof(err)), -EBADMSG);
	free(more);
	free(blob);
}
END_TEST

START_TEST(test_a_membership_over_a_limit_or_with_a_bad_voter_byte_is_refused)
{
	struct raft_member one = member(9, true, "n9"), *d;
	char err[128] = "";
	uint8_t *blob, *big;
	size_t len;
	uint32_t n;

	ck_assert_int_eq(members_encode(&one, 1, &blob, &len), 0);
	blob[12] = 2;		/* voter */
	ck_assert_int_eq(members_decode(blob, len, &d, &n, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "voter") != NULL, "%s", err);
	blob[12] = 1;
	put_le16(blob + 13, RAFT_MAX_MEMBER_CONTEXT + 1);
	ck_assert_int_eq(members_decode(blob, len, &d, &n, err, sizeof(err)), -E2BIG);
	free(blob);

	/* a count over the limit, whatever follows */
	big = calloc(1, 4 + (RAFTCONF_MAX_MEMBERS + 1) * MEMBERS_ITEM_HEAD);
	ck_assert_ptr_nonnull(big);
	put_le32(big, RAFTCONF_MAX_MEMBERS + 1);
	ck_assert_int_eq(members_decode(big, 4 + (RAFTCONF_MAX_MEMBERS + 1) *
		MEMBERS_ITEM_HEAD, &d, &n, err, sizeof(err)), -E2BIG);
	/* and a count the bytes cannot hold */
	put_le32(big, 5);
	ck_assert_int_eq(members_decode(big, 4 + 4 * MEMBERS_ITEM_HEAD, &d, &n, err,
		sizeof(err)), -EBADMSG);
	free(big);
	ck_assert_int_eq(members_encode(&one, RAFTCONF_MAX_MEMBERS + 1, &blob, &len), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------ raftmsg */

static const char raftmsg_pinned[] =
	"01 05"					/* APPEND, reject | last */
	"0102030405060708 0000000000000002"	/* from, to */
	"0000000000000003 0000000000000004"	/* term, prev_index */
	"0000000000000005 0000000000000006"	/* prev_term, commit */
	"0000000000000007 0000000000000008"	/* index, log_term */
	"0000000000000009 000000000000000a"	/* hint_index, hint_term */
	"000000000000000b 000000000000000c"	/* seq, ctx (APPEND: lead) */
	"000000000000000d"			/* offset */
	"00000001"				/* one entry */
	"0000000000000003 0000000000000005 01 00000003 616263"
	"00000002 7879"				/* chunk data */
	"02000000"				/* two members (members.h) */
	"1111000000000000 01 0200 6e31"
	"2222000000000000 00 0000";

static void
sample_msg(struct raft_msg *m, struct raft_entry *e, struct raft_member *mb)
{
	memset(m, 0, sizeof(*m));
	m->type = RAFT_MSG_APPEND;
	m->reject = true;
	m->last = true;
	m->from = 0x0102030405060708ull;
	m->to = 2;
	m->term = 3;
	m->prev_index = 4;
	m->prev_term = 5;
	m->commit = 6;
	m->index = 7;
	m->log_term = 8;
	m->hint_index = 9;
	m->hint_term = 10;
	m->seq = 11;
	m->lead = 12; /* an APPEND has no ctx: its slot carries lead */
	m->offset = 13;
	memset(e, 0, sizeof(*e));
	e->term = 3;
	e->index = 5;
	e->type = RAFT_ENTRY_NORMAL;
	e->len = 3;
	e->data = "abc";
	m->entries = e;
	m->n_entries = 1;
	m->data = "xy";
	m->len = 2;
	mb[0] = member(0x1111, true, "n1");
	mb[1] = member(0x2222, false, "");
	m->members = mb;
	m->n_members = 2;
}

START_TEST(test_a_raft_message_has_the_pinned_layout_and_decodes_back)
{
	struct raft_member mb[2];
	struct raftmsg_scratch s = { 0 };
	struct proto_buf b;
	struct proto_msg pm;
	struct raft_entry e;
	struct raft_msg m, d;
	char err[256] = "";

	sample_msg(&m, &e, mb);
	proto_buf_init(&b);
	ck_assert_int_eq(raftmsg_encode(&b, &m), 0);
	ck_assert_int_eq(proto_decode(b.data, b.len, &pm, err, sizeof(err)), 0);
	ck_assert_int_eq(pm.type, PROTO_T_RAFT);
	ck_assert_uint_eq(pm.raft.payload.len, raftmsg_size(&m));
	assert_bytes(pm.raft.payload.ptr, pm.raft.payload.len, raftmsg_pinned);

	ck_assert_int_eq(raftmsg_decode(pm.raft.payload.ptr, pm.raft.payload.len, &d, &s, err,
		sizeof(err)), 0);
	ck_assert_int_eq(d.type, m.type);
	ck_assert(d.reject && d.last && !d.transfer);
	ck_assert_uint_eq(d.from, m.from);
	ck_assert_uint_eq(d.lead, 12);
	ck_assert_uint_eq(d.ctx, 0);
	ck_assert_uint_eq(d.offset, 13);
	ck_assert_uint_eq(d.n_entries, 1);
	ck_assert_uint_eq(d.entries[0].index, 5);
	ck_assert(memcmp(d.entries[0].data, "abc", 3) == 0);
	ck_assert_uint_eq(d.len, 2);
	ck_assert(memcmp(d.data, "xy", 2) == 0);
	ck_assert_uint_eq(d.n_members, 2);
	ck_assert_uint_eq(d.members[0].id, 0x1111);
	ck_assert(d.members[0].voter && !d.members[1].voter);
	ck_assert_uint_eq(d.members[0].context_len, 2);
	ck_assert(memcmp(d.members[0].context, "n1", 2) == 0);
	ck_assert_uint_eq(d.members[1].context_len, 0);

	/* every truncation and one byte too many are refused */
	for (size_t len = 0; len < pm.raft.payload.len; len++)
		ck_assert_int_lt(raftmsg_decode(pm.raft.payload.ptr, len, &d, &s, err,
			sizeof(err)), 0);
	{
		uint8_t *more = malloc(pm.raft.payload.len + 1);

		ck_assert_ptr_nonnull(more);
		memcpy(more, pm.raft.payload.ptr, pm.raft.payload.len);
		more[pm.raft.payload.len] = 0;
		ck_assert_int_eq(raftmsg_decode(more, pm.raft.payload.len + 1, &d, &s, err,
			sizeof(err)), -EPROTO);
		free(more);
	}
	raftmsg_scratch_free(&s);
	proto_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------ log entries */

static struct raft_config
config(uint64_t id)
{
	struct raft_config c;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.seed = id;
	c.heartbeat_ticks = 1;
	c.election_ticks = 10;
	return c;
}

/* The bootstrap entry (index 1) of members n1 and n2, as raft.c writes it. */
static const char bootstrap_pinned[] =
	"04"					/* RAFT_CHANGE_BOOTSTRAP */
	"02000000"				/* two members, little-endian */
	"0100000000000000 01 1100 6e31203132372e302e302e313a37303031"
	"0200000000000000 01 0200 6e32";

START_TEST(test_the_bootstrap_entry_has_the_pinned_layout)
{
	struct raft_member boot[2] = { member(2, true, "n2"),
		member(1, true, "n1 127.0.0.1:7001") };
	struct raft_config cfg = config(1);
	struct raft_init init = { .bootstrap = boot, .n_bootstrap = 2 };
	struct raft_ready rd;
	struct raft *r;
	char err[128];

	ck_assert_int_eq(raft_new(&cfg, &init, &r, err, sizeof(err)), 0);
	raft_ready(r, &rd);
	ck_assert_uint_eq(rd.n_entries, 1);
	ck_assert_int_eq(rd.entries[0].type, RAFT_ENTRY_CONF);
	assert_bytes(rd.entries[0].data, rd.entries[0].len, bootstrap_pinned);
	raft_free(r);
}
END_TEST

/* A log written before any change of codec: its membership is read back. */
START_TEST(test_a_bootstrap_entry_of_an_older_log_gives_its_membership)
{
	static const char older[] =
		"04 03000000"
		"0100000000000000 01 0200 6e31"
		"0200000000000000 01 0200 6e32"
		"0300000000000000 00 0000";
	struct raft_config cfg = config(1);
	struct raft_init init;
	struct raft_entry e;
	const struct raft_member *m;
	struct raft *r;
	char err[128];
	size_t n;

	memset(&init, 0, sizeof(init));
	memset(&e, 0, sizeof(e));
	e.index = 1;
	e.term = 1;
	e.type = RAFT_ENTRY_CONF;
	e.data = unhex(older, &n);
	e.len = (uint32_t)n;
	init.hs.term = 1;
	init.hs.commit = 1;
	init.entries = &e;
	init.n_entries = 1;
	ck_assert_int_eq(raft_new(&cfg, &init, &r, err, sizeof(err)), 0);
	m = raft_members(r, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(m[0].id, 1);
	ck_assert_uint_eq(m[2].id, 3);
	ck_assert(m[0].voter && m[1].voter && !m[2].voter);
	ck_assert_uint_eq(m[1].context_len, 2);
	ck_assert(memcmp(m[1].context, "n2", 2) == 0);
	ck_assert_uint_eq(m[2].context_len, 0);
	raft_free(r);
	free(e.data);
}
END_TEST

/* A single-voter cluster elects itself; then n's membership changes go through it. */
static struct raft *
lone_leader(void)
{
	struct raft_member boot[1] = { member(1, true, "n1") };
	struct raft_config cfg = config(1);
	struct raft_init init = { .bootstrap = boot, .n_bootstrap = 1 };
	struct raft_status st;
	struct raft_ready rd;
	struct raft *r;
	char err[128];

	ck_assert_int_eq(raft_new(&cfg, &init, &r, err, sizeof(err)), 0);
	for (int i = 0; i < 100; i++) {
		while (raft_has_ready(r)) {
			raft_ready(r, &rd);
			if (rd.must_persist)
				raft_persisted(r, rd.persist_index, rd.persist_term);
			if (rd.n_committed)
				raft_applied(r, rd.committed[rd.n_committed - 1].index);
			raft_advance(r, &rd);
		}
		raft_status(r, &st);
		if (st.role == RAFT_LEADER)
			return r;
		raft_tick(r);
	}
	ck_abort_msg("a lone voter did not become leader");
	return NULL;
}

static const char add_learner_pinned[] = "01 0500000000000000 0300 616263";

START_TEST(test_a_membership_change_entry_has_the_pinned_layout)
{
	struct raft *r = lone_leader();
	struct raft_change c;
	struct raft_ready rd;
	uint64_t index, term;
	uint8_t *b;
	size_t n;
	bool seen = false;

	ck_assert_int_eq(raft_change(r, RAFT_CHANGE_ADD_LEARNER, 5, "abc", 3, &index, &term), 0);
	raft_ready(r, &rd);
	for (size_t i = 0; i < rd.n_entries; i++) {
		if (rd.entries[i].type != RAFT_ENTRY_CONF)
			continue;
		assert_bytes(rd.entries[i].data, rd.entries[i].len, add_learner_pinned);
		seen = true;
	}
	ck_assert(seen);
	raft_advance(r, &rd);
	raft_free(r);

	b = unhex(add_learner_pinned, &n);
	ck_assert_int_eq(raft_change_decode(b, n, &c), 0);
	ck_assert_int_eq(c.op, RAFT_CHANGE_ADD_LEARNER);
	ck_assert_uint_eq(c.id, 5);
	ck_assert_uint_eq(c.context_len, 3);
	ck_assert(memcmp(c.context, "abc", 3) == 0);
	for (size_t len = 0; len < n; len++)
		ck_assert_int_eq(raft_change_decode(b, len, &c), -EINVAL);
	free(b);
}
END_TEST

static Suite *
bytes_suite(void)
{
	Suite *s = suite_create("bytes");
	TCase *rw = tcase_create("reader and writer");
	TCase *mem = tcase_create("members");
	TCase *layout = tcase_create("layouts");

	tcase_add_test(rw, test_every_read_past_the_end_sets_err_returns_zero_and_consumes_nothing);
	tcase_add_test(rw, test_no_read_succeeds_after_err);
	tcase_add_test(rw, test_reads_and_writes_agree_in_both_byte_orders);
	tcase_add_test(rw, test_a_write_past_cap_sets_err_and_writes_nothing_more);
	suite_add_tcase(s, rw);

	tcase_add_test(mem, test_a_membership_round_trips_with_the_pinned_bytes);
	tcase_add_test(mem, test_every_truncation_of_a_membership_is_refused);
	tcase_add_test(mem, test_a_membership_over_a_limit_or_with_a_bad_voter_byte_is_refused);
	suite_add_tcase(s, mem);

	tcase_add_test(layout, test_a_raft_message_has_the_pinned_layout_and_decodes_back);
	tcase_add_test(layout, test_the_bootstrap_entry_has_the_pinned_layout);
	tcase_add_test(layout, test_a_bootstrap_entry_of_an_older_log_gives_its_membership);
	tcase_add_test(layout, test_a_membership_change_entry_has_the_pinned_layout);
	suite_add_tcase(s, layout);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(bytes_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
