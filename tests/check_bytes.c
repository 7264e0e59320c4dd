/*
 * check_bytes.c — unit tests for the byte codecs that have no suite of
 * their own: the layouts of a Raft message on the wire (raftmsg.c) and of
 * the membership entries in the log (raft.c), pinned byte for byte, so that
 * a change of codec cannot change a byte unnoticed.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ------------------------------------------------------------ raftmsg */

static const char raftmsg_pinned[] =
	"01 05"					/* APPEND, reject | last */
	"0102030405060708 0000000000000002"	/* from, to */
	"0000000000000003 0000000000000004"	/* term, prev_index */
	"0000000000000005 0000000000000006"	/* prev_term, commit */
	"0000000000000007 0000000000000008"	/* index, log_term */
	"0000000000000009 000000000000000a"	/* hint_index, hint_term */
	"000000000000000b 000000000000000c"	/* seq, ctx */
	"000000000000000d"			/* offset */
	"00000001"				/* one entry */
	"0000000000000003 0000000000000005 01 00000003 616263"
	"00000002 7879"				/* chunk data */
	"00000002"				/* two members */
	"0000000000001111 01 0002 6e31"
	"0000000000002222 00 0000";

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
	m->ctx = 12;
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
	TCase *layout = tcase_create("layouts");

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
