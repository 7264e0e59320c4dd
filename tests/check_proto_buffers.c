/*
 * check_proto_buffers.c — frames in a byte stream and in a buffer (back to
 * back, a failed encode leaving no trace, the frame limit), and the reply
 * builder: a list reply cut at the frame limit, a bad item skipped, an
 * aborted reply.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_proto.h"

/* ------------------------------------------------------------ streams */

START_TEST(test_frame_check_finds_frames_in_a_byte_stream)
{
	uint8_t stream[4096], *have;
	size_t total = 0, got = 0, off = 0, flen, lens[3];
	const int which[3] = { 0, 10, 20 };
	int frames = 0, rc;

	for (int k = 0; k < 3; k++) {
		uint8_t *f = encode_sample(&samples[which[k]], &lens[k]);

		ck_assert_uint_le(total + lens[k], sizeof(stream));
		memcpy(stream + total, f, lens[k]);
		total += lens[k];
		free(f);
	}
	/* Bytes arrive one at a time; frames are taken as soon as they are whole. */
	for (got = 1; got <= total; got++) {
		have = dup_exact(stream + off, got - off);
		while ((rc = proto_frame_check(have, got - off, &flen)) == 0) {
			struct proto_msg d;
			uint8_t *fr = dup_exact(have, flen);

			ck_assert_uint_eq(flen, lens[frames]);
			decode_ok(fr, flen, &d);
			assert_msg_eq(&d, &samples[which[frames]]);
			free(fr);
			frames++;
			off += flen;
			free(have);
			have = dup_exact(stream + off, got - off);
		}
		ck_assert_int_eq(rc, -EAGAIN);
		free(have);
	}
	ck_assert_int_eq(frames, 3);
	ck_assert_uint_eq(off, total);
	ck_assert_int_eq(proto_frame_check(NULL, 0, NULL), -EAGAIN);
}
END_TEST

/* ------------------------------------------------------------- buffers */

START_TEST(test_frames_append_back_to_back_in_one_buffer)
{
	struct proto_buf b;
	struct proto_msg d;
	char err[256];
	size_t off = 0, flen;
	int n = 0;

	proto_buf_init(&b);
	for (int i = 0; i < 12; i++)
		ck_assert_int_eq(proto_encode(&b, &samples[i].m, err, sizeof(err)), 0);
	while (off < b.len) {
		ck_assert_int_eq(proto_frame_check(b.data + off, b.len - off, &flen), 0);
		ck_assert_int_eq(proto_decode(b.data + off, flen, &d, err, sizeof(err)), 0);
		assert_msg_eq(&d, &samples[n]);
		off += flen;
		n++;
	}
	ck_assert_int_eq(n, 12);
	proto_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_gt(b.cap, 0);
	proto_buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(test_a_failed_encode_leaves_the_buffer_as_it_was)
{
	struct proto_msg m;
	struct proto_buf b;
	uint8_t *before, *data;
	size_t len, cap;
	char err[256];

	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &first_sample(PROTO_T_SET)->m, err, sizeof(err)), 0);
	before = dup_exact(b.data, b.len);
	len = b.len;
	cap = b.cap;
	data = b.data;

	m = first_sample(PROTO_T_RAFT)->m;
	m.raft.payload = proto_mem(big_payload, sizeof(big_payload) - len + 1);
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EMSGSIZE);
	ck_assert_msg(strstr(err, "does not fit") != NULL, "%s", err);
	m.raft.payload = proto_mem(big_payload, sizeof(big_payload) + 1);
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EMSGSIZE);
	ck_assert_msg(strstr(err, "over the limit") != NULL, "%s", err);
	m = first_sample(PROTO_T_SET)->m;
	m.set.key = S("");
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	m.set.key = proto_mem(NULL, 3);
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	m.type = 0x3f;
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "unknown message type 0x3f") != NULL, "%s", err);

	ck_assert_uint_eq(b.len, len);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_ptr_eq(b.data, data);
	ck_assert(memcmp(b.data, before, len) == 0);
	free(before);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_the_buffer_never_grows_beyond_the_frame_limit)
{
	struct proto_msg m = first_sample(PROTO_T_RAFT)->m;
	struct proto_buf b;
	char err[256];

	proto_buf_init(&b);
	m.raft.payload = proto_mem(big_payload, sizeof(big_payload));
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.len, RAFTCONF_MAX_FRAME);
	ck_assert_uint_le(b.cap, RAFTCONF_MAX_FRAME);
	ck_assert_int_eq(proto_encode(&b, &first_sample(PROTO_T_STATUS)->m, err, sizeof(err)),
			 -EMSGSIZE);
	ck_assert_uint_eq(b.len, RAFTCONF_MAX_FRAME);
	proto_buf_reset(&b);
	ck_assert_int_eq(proto_encode(&b, &first_sample(PROTO_T_STATUS)->m, err, sizeof(err)), 0);
	proto_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------- builder */

START_TEST(test_a_list_reply_that_fills_the_frame_is_cut_and_marked_truncated)
{
	struct proto_entry e[8];
	struct proto_reply rb;
	struct proto_buf b;
	struct proto_msg d;
	uint8_t *f;
	size_t n = 0, before;
	char key[8];
	int rc;

	proto_buf_init(&b);
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_LIST_REPLY, 77), 0);
	for (;;) {
		ck_assert_uint_lt(n, 8);
		snprintf(key, sizeof(key), "/k%zu", n);
		e[n] = (struct proto_entry){ { strdup(key), strlen(key) }, n,
					     proto_mem(big_value, sizeof(big_value)) };
		before = b.len;
		rc = proto_reply_add_entry(&rb, e[n].key, e[n].revision, e[n].value);
		if (rc != 0) {
			ck_assert_int_eq(rc, -EMSGSIZE);
			ck_assert_uint_eq(b.len, before);
			free((char *)e[n].key.ptr);
			break;
		}
		n++;
	}
	ck_assert_uint_eq(n, 3);	/* four 1 MiB values do not fit in 4 MiB */
	ck_assert_int_eq(proto_reply_end(&rb, PROTO_F_TRUNCATED), 0);
	f = dup_exact(b.data, b.len);
	decode_ok(f, b.len, &d);
	ck_assert_uint_eq(d.id, 77);
	ck_assert_uint_eq(d.list_reply.flags, PROTO_F_TRUNCATED);
	assert_items_eq(&d, &(struct items){ .n = n, .e = e });
	for (size_t i = 0; i < n; i++)
		free((char *)e[i].key.ptr);
	free(f);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_a_bad_item_is_skipped_and_the_reply_stays_whole)
{
	struct proto_member bad = members3[0];
	struct proto_reply rb;
	struct proto_buf b;
	struct proto_msg d;
	uint8_t *f;
	size_t before;

	proto_buf_init(&b);
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_MEMBERS_REPLY, 5), 0);
	ck_assert_int_eq(proto_reply_add_member(&rb, &members3[0]), 0);
	before = b.len;
	bad.node_id = S("bad id");
	ck_assert_int_eq(proto_reply_add_member(&rb, &bad), -EINVAL);
	bad = members3[0];
	bad.address = proto_mem(fillbuf, RAFTCONF_MAX_ADDRESS + 1);
	memset(fillbuf, 'a', RAFTCONF_MAX_ADDRESS + 1);
	ck_assert_int_eq(proto_reply_add_member(&rb, &bad), -E2BIG);
	ck_assert_int_eq(proto_reply_add_pair(&rb, S("role"), S("x")), -EINVAL);
	ck_assert_uint_eq(b.len, before);
	ck_assert_int_eq(proto_reply_add_member(&rb, &members3[1]), 0);
	ck_assert_int_eq(proto_reply_end(&rb, PROTO_F_TRUNCATED), -EINVAL);
	ck_assert_int_eq(proto_reply_end(&rb, 0), 0);
	ck_assert_int_eq(proto_reply_end(&rb, 0), -EINVAL);	/* already ended */
	f = dup_exact(b.data, b.len);
	decode_ok(f, b.len, &d);
	assert_items_eq(&d, &(struct items){ .n = 2, .mb = members3 });
	free(f);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_an_aborted_reply_leaves_the_frames_before_it)
{
	struct proto_reply rb;
	struct proto_buf b;
	char err[256];
	size_t len;

	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &first_sample(PROTO_T_OK)->m, err, sizeof(err)), 0);
	len = b.len;
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_STATUS_REPLY, 1), 0);
	ck_assert_int_eq(proto_reply_add_pair(&rb, S("role"), S("follower")), 0);
	proto_reply_abort(&rb);
	ck_assert_uint_eq(b.len, len);
	ck_assert_int_eq(proto_reply_add_pair(&rb, S("role"), S("follower")), -EINVAL);
	ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_GET, 1), -EINVAL);
	ck_assert_uint_eq(b.len, len);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_encode_refuses_items_it_did_not_validate)
{
	struct proto_msg m = first_sample(PROTO_T_STATUS_REPLY)->m;
	struct proto_buf b;
	struct proto_iter it;
	union proto_item item;
	char err[256];
	/* count 1: name "r" (u16 1, 'r'), value "" — then one stray byte. */
	static const uint8_t raw[] = { 0, 1, 'r', 0, 0, 0xee };

	proto_buf_init(&b);
	m.status_reply.items = (struct proto_items){ 1, raw, sizeof(raw) };
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "after the last item") != NULL, "%s", err);
	m.status_reply.items = (struct proto_items){ 2, raw, sizeof(raw) };
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), -EINVAL);
	m.status_reply.items = (struct proto_items){ 1, raw, sizeof(raw) - 1 };
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), 0);
	/* An iterator over hand-made items stops at the damage. */
	m.status_reply.items = (struct proto_items){ 2, raw, sizeof(raw) - 1 };
	ck_assert_int_eq(proto_iter_init(&it, &m), 0);
	ck_assert_int_eq(proto_iter_next(&it, &item), 1);
	ck_assert_int_eq(proto_iter_next(&it, &item), -EPROTO);
	ck_assert_int_eq(proto_iter_next(&it, &item), 0);
	m.type = PROTO_T_GET;
	ck_assert_int_eq(proto_iter_init(&it, &m), -EINVAL);
	proto_buf_free(&b);
}
END_TEST

void
proto_buffer_tests(Suite *s)
{
	TCase *tc;

	tc = tcase_create("streams and buffers");
	tcase_add_test(tc, test_frame_check_finds_frames_in_a_byte_stream);
	tcase_add_test(tc, test_frames_append_back_to_back_in_one_buffer);
	tcase_add_test(tc, test_a_failed_encode_leaves_the_buffer_as_it_was);
	tcase_add_test(tc, test_the_buffer_never_grows_beyond_the_frame_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply builder");
	tcase_add_test(tc, test_a_list_reply_that_fills_the_frame_is_cut_and_marked_truncated);
	tcase_add_test(tc, test_a_bad_item_is_skipped_and_the_reply_stays_whole);
	tcase_add_test(tc, test_an_aborted_reply_leaves_the_frames_before_it);
	tcase_add_test(tc, test_encode_refuses_items_it_did_not_validate);
	suite_add_tcase(s, tc);
}
