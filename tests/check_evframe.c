/*
 * check_evframe.c — unit tests of the frame reader on libevent buffers
 * (daemon/evframe.c), shared by the peer and control connections.
 *
 * Frames are real ones from proto_encode(); evframe only looks at their
 * length, and these tests check what it hands back byte for byte.  Bytes
 * arrive the ways a socket delivers them: one frame cut at every byte
 * boundary, several frames in one read, pieces in separate evbuffer chains
 * (so that the frame has to be made contiguous), and through a real
 * bufferevent pair driven by its event loop.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "evframe.h"
#include "proto.h"

#define HDR PROTO_HEADER_SIZE

/* ------------------------------------------------------------- helpers */

static uint8_t value_bytes[256 * 1024];

/* One SET frame with a value of vlen bytes, request id `id`; caller frees. */
static uint8_t *
set_frame(uint64_t id, size_t vlen, size_t *len)
{
	struct proto_msg m = { .type = PROTO_T_SET, .id = id };
	struct proto_buf b;
	char err[256] = "";
	uint8_t *f;

	for (size_t i = 0; i < sizeof(value_bytes); i++)
		value_bytes[i] = (uint8_t)(i * 131 + (i >> 8) + id);
	ck_assert_uint_le(vlen, sizeof(value_bytes));
	m.set.client_id = 0x1122334455667788ULL;
	m.set.seq = id;
	m.set.key = proto_cstr("/evframe/key");
	m.set.value = proto_mem(value_bytes, vlen);
	proto_buf_init(&b);
	ck_assert_msg(proto_encode(&b, &m, err, sizeof(err)) == 0, "%s", err);
	*len = b.len;
	f = malloc(b.len);
	ck_assert_ptr_nonnull(f);
	memcpy(f, b.data, b.len);
	proto_buf_free(&b);
	return f;
}

/* A bare header announcing length n (the rest of it zero). */
static void
header(uint8_t h[HDR], uint32_t n)
{
	memset(h, 0, HDR);
	h[0] = (uint8_t)(n >> 24);
	h[1] = (uint8_t)(n >> 16);
	h[2] = (uint8_t)(n >> 8);
	h[3] = (uint8_t)n;
	h[4] = PROTO_VERSION;
	h[5] = PROTO_T_STATUS;
}

/* Add p[0..n) to in as a chain of its own (a reference, not merged). */
static void
add_chain(struct evbuffer *in, const uint8_t *p, size_t n)
{
	if (n)
		ck_assert_int_eq(evbuffer_add_reference(in, p, n, NULL, NULL), 0);
}

/* The next frame must be want[0..len); drain it. */
static void
expect_frame(struct evbuffer *in, const uint8_t *want, size_t wlen)
{
	const uint8_t *f = NULL;
	size_t len = 0;

	ck_assert_int_eq(evframe_next(in, &f, &len), 1);
	ck_assert_uint_eq(len, wlen);
	ck_assert_ptr_nonnull(f);
	ck_assert_mem_eq(f, want, wlen);
	ck_assert_int_eq(evbuffer_drain(in, len), 0);
}

static void
expect_more_needed(struct evbuffer *in, size_t want_len)
{
	const uint8_t *f = NULL;
	size_t len = 12345;

	ck_assert_int_eq(evframe_next(in, &f, &len), 0);
	ck_assert_uint_eq(len, want_len);
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_a_frame_cut_at_every_byte_boundary_comes_out_whole)
{
	size_t flen;
	uint8_t *frame = set_frame(1, 300, &flen);

	for (size_t cut = 0; cut <= flen; cut++) {
		struct evbuffer *in = evbuffer_new();

		ck_assert_ptr_nonnull(in);
		add_chain(in, frame, cut);
		if (cut < flen)
			/* The length is known once its four bytes are there. */
			expect_more_needed(in, cut < 4 ? 0 : flen);
		add_chain(in, frame + cut, flen - cut);
		expect_frame(in, frame, flen);
		ck_assert_uint_eq(evbuffer_get_length(in), 0);
		expect_more_needed(in, 0);
		evbuffer_free(in);
	}
	free(frame);
}
END_TEST

START_TEST(test_a_frame_arriving_one_byte_at_a_time_is_seen_only_when_whole)
{
	size_t flen;
	uint8_t *frame = set_frame(2, 200, &flen);
	struct evbuffer *in = evbuffer_new();

	for (size_t i = 0; i < flen; i++) {
		expect_more_needed(in, i < 4 ? 0 : flen);
		add_chain(in, frame + i, 1);
	}
	expect_frame(in, frame, flen);
	evbuffer_free(in);
	free(frame);
}
END_TEST

START_TEST(test_several_frames_in_one_read_come_out_one_by_one_in_order)
{
	size_t len[4];
	uint8_t *f[4];
	struct evbuffer *in = evbuffer_new();

	f[0] = set_frame(10, 0, &len[0]);
	f[1] = set_frame(11, 5000, &len[1]);
	f[2] = set_frame(12, 1, &len[2]);
	f[3] = set_frame(13, 70000, &len[3]);
	/* One read: all of them in one chain, and half of a fifth. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(evbuffer_add(in, f[i], len[i]), 0);
	ck_assert_int_eq(evbuffer_add(in, f[1], len[1] / 2), 0);
	for (int i = 0; i < 4; i++)
		expect_frame(in, f[i], len[i]);
	expect_more_needed(in, len[1]);
	ck_assert_int_eq(evbuffer_add(in, f[1] + len[1] / 2, len[1] - len[1] / 2), 0);
	expect_frame(in, f[1], len[1]);
	expect_more_needed(in, 0);
	evbuffer_free(in);
	for (int i = 0; i < 4; i++)
		free(f[i]);
}
END_TEST

START_TEST(test_a_frame_spread_over_many_chains_is_made_contiguous)
{
	size_t flen;
	uint8_t *frame = set_frame(3, 200000, &flen);
	struct evbuffer *in = evbuffer_new();
	size_t off = 0, step = 1;

	/* Chains of 1, 2, 3, ... bytes. */
	while (off < flen) {
		size_t n = step < flen - off ? step : flen - off;

		add_chain(in, frame + off, n);
		off += n;
		step++;
	}
	ck_assert_int_gt(evbuffer_get_contiguous_space(in), 0);
	ck_assert_uint_lt(evbuffer_get_contiguous_space(in), flen);
	expect_frame(in, frame, flen);
	evbuffer_free(in);
	free(frame);
}
END_TEST

START_TEST(test_a_frame_of_only_a_header_is_a_frame)
{
	uint8_t h[HDR];
	struct evbuffer *in = evbuffer_new();

	header(h, HDR);
	add_chain(in, h, HDR);
	expect_frame(in, h, HDR);
	evbuffer_free(in);
}
END_TEST

START_TEST(test_a_zero_length_or_shorter_than_header_frame_is_refused_from_four_bytes)
{
	const uint32_t lens[] = { 0, 1, 4, HDR - 1 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t h[HDR];
		struct evbuffer *in = evbuffer_new();
		const uint8_t *f = NULL;
		size_t len = 12345;

		header(h, lens[i]);
		/* three bytes: nothing can be said yet */
		add_chain(in, h, 3);
		expect_more_needed(in, 0);
		add_chain(in, h + 3, 1);
		ck_assert_int_eq(evframe_next(in, &f, &len), -EPROTO);
		ck_assert_uint_eq(len, lens[i]);
		evbuffer_free(in);
	}
}
END_TEST

START_TEST(test_a_frame_over_the_maximum_is_refused_before_its_body_arrives)
{
	const uint32_t lens[] = { RAFTCONF_MAX_FRAME + 1, 0x7fffffff, 0xffffffff };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t h[HDR];
		struct evbuffer *in = evbuffer_new();
		const uint8_t *f = NULL;
		size_t len = 0;

		header(h, lens[i]);
		add_chain(in, h, 4);
		ck_assert_int_eq(evframe_next(in, &f, &len), -EMSGSIZE);
		ck_assert_uint_eq(len, lens[i]);
		/* and the same with the whole header and some body there */
		add_chain(in, h + 4, HDR - 4);
		add_chain(in, value_bytes, 1000);
		ck_assert_int_eq(evframe_next(in, &f, &len), -EMSGSIZE);
		evbuffer_free(in);
	}
}
END_TEST

START_TEST(test_a_frame_of_exactly_the_maximum_is_waited_for_and_taken)
{
	uint8_t *big = calloc(1, RAFTCONF_MAX_FRAME);
	struct evbuffer *in = evbuffer_new();

	ck_assert_ptr_nonnull(big);
	header(big, RAFTCONF_MAX_FRAME);
	for (size_t i = HDR; i < RAFTCONF_MAX_FRAME; i++)
		big[i] = (uint8_t)(i * 7);
	add_chain(in, big, RAFTCONF_MAX_FRAME - 1);
	expect_more_needed(in, RAFTCONF_MAX_FRAME);
	add_chain(in, big + RAFTCONF_MAX_FRAME - 1, 1);
	expect_frame(in, big, RAFTCONF_MAX_FRAME);
	evbuffer_free(in);
	free(big);
}
END_TEST

START_TEST(test_bytes_after_a_frame_stay_in_the_buffer_for_the_next_call)
{
	size_t flen;
	uint8_t *frame = set_frame(4, 10, &flen);
	struct evbuffer *in = evbuffer_new();
	const uint8_t *f = NULL;
	size_t len = 0;

	add_chain(in, frame, flen);
	add_chain(in, frame, 6);
	/* Looking does not consume: a second look gives the same frame. */
	ck_assert_int_eq(evframe_next(in, &f, &len), 1);
	ck_assert_int_eq(evframe_next(in, &f, &len), 1);
	ck_assert_uint_eq(evbuffer_get_length(in), flen + 6);
	expect_frame(in, frame, flen);
	expect_more_needed(in, flen);
	ck_assert_uint_eq(evbuffer_get_length(in), 6);
	evbuffer_free(in);
	free(frame);
}
END_TEST

/* ----------------------------------------------- through a bufferevent */

struct stream {
	uint8_t **frames;
	size_t *lens;
	int n, got;
	bool bad;
};

static void
stream_read_cb(struct bufferevent *bev, void *arg)
{
	struct stream *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const uint8_t *f;
	size_t len;
	int rc;

	while ((rc = evframe_next(in, &f, &len)) == 1) {
		if (s->got >= s->n || len != s->lens[s->got] ||
		    memcmp(f, s->frames[s->got], len) != 0)
			s->bad = true;
		s->got++;
		evbuffer_drain(in, len);
	}
	if (rc < 0)
		s->bad = true;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(test_frames_written_in_odd_pieces_through_a_bufferevent_pair_arrive_whole)
{
	struct event_base *base = event_base_new();
	struct bufferevent *pair[2];
	struct stream s = { 0 };
	uint8_t *all;
	size_t total = 0, off = 0, piece = 1;
	double deadline;

	ck_assert_ptr_nonnull(base);
	s.n = 20;
	s.frames = calloc(s.n, sizeof(*s.frames));
	s.lens = calloc(s.n, sizeof(*s.lens));
	for (int i = 0; i < s.n; i++) {
		s.frames[i] = set_frame(100 + i, (size_t)i * i * 97, &s.lens[i]);
		total += s.lens[i];
	}
	all = malloc(total);
	for (int i = 0; i < s.n; i++) {
		memcpy(all + off, s.frames[i], s.lens[i]);
		off += s.lens[i];
	}
	ck_assert_int_eq(bufferevent_pair_new(base, BEV_OPT_DEFER_CALLBACKS, pair), 0);
	bufferevent_setcb(pair[1], stream_read_cb, NULL, NULL, &s);
	ck_assert_int_eq(bufferevent_enable(pair[1], EV_READ), 0);
	ck_assert_int_eq(bufferevent_enable(pair[0], EV_WRITE), 0);

	/* Pieces of 1, 2, 4, ... 4096, 1, 2, ... bytes, the loop run between. */
	deadline = now() + 20;
	for (off = 0; off < total && now() < deadline;) {
		size_t n = piece < total - off ? piece : total - off;

		ck_assert_int_eq(bufferevent_write(pair[0], all + off, n), 0);
		off += n;
		piece = piece >= 4096 ? 1 : piece * 2;
		event_base_loop(base, EVLOOP_NONBLOCK);
		ck_assert_msg(!s.bad, "a frame came out wrong after %zu bytes", off);
	}
	while (s.got < s.n && !s.bad && now() < deadline)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_msg(!s.bad, "a frame came out wrong or a header was refused");
	ck_assert_int_eq(s.got, s.n);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(pair[1])), 0);

	bufferevent_free(pair[0]);
	bufferevent_free(pair[1]);
	event_base_free(base);
	for (int i = 0; i < s.n; i++)
		free(s.frames[i]);
	free(s.frames);
	free(s.lens);
	free(all);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *
evframe_suite(void)
{
	Suite *s = suite_create("evframe");
	TCase *tc;

	tc = tcase_create("boundaries");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_a_frame_cut_at_every_byte_boundary_comes_out_whole);
	tcase_add_test(tc, test_a_frame_arriving_one_byte_at_a_time_is_seen_only_when_whole);
	tcase_add_test(tc, test_several_frames_in_one_read_come_out_one_by_one_in_order);
	tcase_add_test(tc, test_a_frame_spread_over_many_chains_is_made_contiguous);
	tcase_add_test(tc, test_bytes_after_a_frame_stay_in_the_buffer_for_the_next_call);
	suite_add_tcase(s, tc);

	tc = tcase_create("lengths");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_a_frame_of_only_a_header_is_a_frame);
	tcase_add_test(tc, test_a_zero_length_or_shorter_than_header_frame_is_refused_from_four_bytes);
	tcase_add_test(tc, test_a_frame_over_the_maximum_is_refused_before_its_body_arrives);
	tcase_add_test(tc, test_a_frame_of_exactly_the_maximum_is_waited_for_and_taken);
	suite_add_tcase(s, tc);

	tc = tcase_create("bufferevent");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_frames_written_in_odd_pieces_through_a_bufferevent_pair_arrive_whole);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failures;

	sr = srunner_create(evframe_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
