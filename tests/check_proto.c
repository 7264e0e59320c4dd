/*
 * check_proto.c — unit tests of the wire codec (daemon/proto.c).
 *
 * Frames are also written here by hand, by a small independent writer that
 * follows the layout documented in proto.h, so these tests check the encoder
 * against the documented format and feed the decoder frames the encoder
 * would refuse to make.  Every frame given to the decoder sits in a malloc'd
 * buffer of exactly its size, so AddressSanitizer catches a read past it.
 *
 * The tests are spread over the check_proto*.c files by topic (check_proto.h
 * lists them); this one holds the CRC, the round trips, truncation, the names
 * and the fuzz seeds, and builds the suite.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_proto.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* --------------------------------------------------------------- CRC */

static uint32_t
crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

START_TEST(test_crc32c_gives_the_standard_check_value)
{
	ck_assert_uint_eq(proto_crc32c(0, "123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(proto_crc32c(0, "", 0), 0);
	/* RFC 3720 B.4: 32 bytes of zeros, and of 0xff. */
	uint8_t z[32] = { 0 }, o[32];
	memset(o, 0xff, sizeof(o));
	ck_assert_uint_eq(proto_crc32c(0, z, sizeof(z)), 0x8a9136aau);
	ck_assert_uint_eq(proto_crc32c(0, o, sizeof(o)), 0x62a8ab43u);
}
END_TEST

START_TEST(test_crc32c_matches_a_bitwise_reference_at_every_length_alignment_and_split)
{
	static uint8_t buf[1100];

	fill_binary(buf, sizeof(buf));
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n <= 80; n++)
			ck_assert_uint_eq(proto_crc32c(0, buf + off, n),
					  crc32c_bitwise(0, buf + off, n));
	}
	ck_assert_uint_eq(proto_crc32c(0, buf + 3, 1097), crc32c_bitwise(0, buf + 3, 1097));
	for (size_t cut = 0; cut <= 40; cut++)
		ck_assert_uint_eq(proto_crc32c(proto_crc32c(0, buf, cut), buf + cut, 40 - cut),
				  crc32c_bitwise(0, buf, 40));
}
END_TEST

/* --------------------------------------------------------- round trips */

START_TEST(test_every_sample_message_round_trips)
{
	const struct sample *s = &samples[_i];
	struct proto_msg d;
	uint8_t *f;
	size_t len;

	f = encode_sample(s, &len);
	decode_ok(f, len, &d);
	assert_msg_eq(&d, s);
	free(f);
}
END_TEST

START_TEST(test_the_encoder_writes_the_layout_proto_h_documents)
{
	const struct sample *s = &samples[_i];
	uint8_t *f, *c;
	size_t len, clen;

	f = encode_sample(s, &len);
	c = craft(&s->m, &s->it, &clen);
	ck_assert_uint_eq(len, clen);
	ck_assert_msg(memcmp(f, c, len) == 0, "%s: encoder and proto.h disagree",
		      proto_type_name(s->m.type));
	free(f);
	free(c);
}
END_TEST

START_TEST(test_the_samples_cover_every_message_type)
{
	int types = 0;

	for (int t = 0; t < 256; t++) {
		bool known = strcmp(proto_type_name((uint8_t)t), "unknown") != 0;
		bool seen = false;

		for (int i = 0; i < nsamples; i++)
			seen |= samples[i].m.type == t;
		ck_assert_msg(known == seen, "type 0x%02x: known %d, sampled %d", t, known, seen);
		types += known;
	}
	ck_assert_int_eq(types, 48);
}
END_TEST

START_TEST(test_a_decoded_reply_relays_under_a_new_id_with_the_same_items)
{
	const struct sample *s = &samples[_i];
	struct proto_msg d, r;
	struct proto_buf b;
	char err[256];
	uint8_t *f, *g;
	size_t len;

	if (!is_list(s->m.type))
		return;
	f = encode_sample(s, &len);
	decode_ok(f, len, &d);
	/* Same id: the very same bytes. */
	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.len, len);
	ck_assert(memcmp(b.data, f, len) == 0);
	/* A follower relaying the leader's answer to its own client. */
	proto_buf_reset(&b);
	d.id = 0x1122334455667788ULL;
	ck_assert_int_eq(proto_encode(&b, &d, err, sizeof(err)), 0);
	g = dup_exact(b.data, b.len);
	decode_ok(g, b.len, &r);
	ck_assert_uint_eq(r.id, 0x1122334455667788ULL);
	assert_items_eq(&r, &s->it);
	free(f);
	free(g);
	proto_buf_free(&b);
}
END_TEST

START_TEST(test_a_peer_message_carries_no_request_id)
{
	struct sample s = *first_sample(PROTO_T_HELLO);
	uint8_t *a, *b;
	size_t alen, blen;

	a = encode_sample(&s, &alen);
	s.m.id = 99;
	b = encode_sample(&s, &blen);
	ck_assert_uint_eq(alen, blen);
	ck_assert(memcmp(a, b, alen) == 0);
	free(a);
	free(b);
}
END_TEST

/* ---------------------------------------------------------- truncation */

START_TEST(test_every_prefix_of_every_frame_asks_for_more_bytes)
{
	const struct sample *s = &samples[_i];
	uint8_t *f, *p;
	size_t len, flen;

	f = encode_sample(s, &len);
	for (size_t n = 0; n < len; n++) {
		/* Big frames: the edges and a few points inside. */
		if (len > 16384 && n > 64 && n < len - 64 && n % 65521 != 0)
			continue;
		p = dup_exact(f, n);
		flen = 12345;
		ck_assert_int_eq(proto_frame_check(p, n, &flen), -EAGAIN);
		ck_assert_uint_eq(flen, n >= 4 ? len : 0);
		free(p);
	}
	ck_assert_int_eq(proto_frame_check(f, len, &flen), 0);
	free(f);
}
END_TEST

START_TEST(test_every_truncated_frame_fails_to_decode_with_a_clear_error)
{
	const struct sample *s = &samples[_i];
	uint8_t *f, *p;
	char err[256];
	size_t len;
	int rc;

	f = encode_sample(s, &len);
	for (size_t n = 0; n < len; n++) {
		if (len > 16384 && n > 64 && n < len - 64 && n % 65521 != 0)
			continue;
		/* The prefix, its header patched to claim exactly these bytes. */
		p = dup_exact(f, n);
		reseal(p, n);
		rc = decode_err(p, n, err, sizeof(err));
		ck_assert_int_eq(rc, -EPROTO);
		if (n < HDR) {
			ck_assert_msg(strstr(err, "header") != NULL, "%zu bytes: %s", n, err);
		} else {
			ck_assert_msg(strstr(err, "checksum") == NULL, "%zu bytes: %s", n, err);
			ck_assert_msg(strstr(err, "truncated") != NULL ||
				      strstr(err, "needs at least") != NULL,
				      "%s cut at %zu of %zu: %s", proto_type_name(s->m.type), n,
				      len, err);
		}
		free(p);
	}
	free(f);
}
END_TEST

START_TEST(test_trailing_bytes_after_the_last_field_are_refused)
{
	const struct sample *s = &samples[_i];
	struct proto_msg d;
	uint8_t *f, *g;
	char err[256];
	size_t len;

	f = encode_sample(s, &len);
	if (len + 1 > RAFTCONF_MAX_FRAME) {
		free(f);
		return;
	}
	g = malloc(len + 1);
	ck_assert_ptr_nonnull(g);
	memcpy(g, f, len);
	g[len] = 0;
	reseal(g, len + 1);
	ck_assert_int_eq(proto_decode(g, len + 1, &d, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "1 trailing bytes") != NULL, "%s", err);
	free(f);
	free(g);
}
END_TEST

/* --------------------------------------------------------------- names */

START_TEST(test_every_type_error_and_health_has_a_name)
{
	int req = 0, rsp = 0, peer = 0;

	for (int t = 0; t < 256; t++) {
		bool known = strcmp(proto_type_name((uint8_t)t), "unknown") != 0;

		req += proto_is_request((uint8_t)t);
		rsp += proto_is_response((uint8_t)t);
		peer += proto_is_peer((uint8_t)t);
		ck_assert_int_eq(known, proto_is_request((uint8_t)t) +
				 proto_is_response((uint8_t)t) + proto_is_peer((uint8_t)t));
	}
	ck_assert_int_eq(req, 25);
	ck_assert_int_eq(rsp, 18);
	ck_assert_int_eq(peer, 5);
	ck_assert_str_eq(proto_type_name(PROTO_T_LIST_REPLY), "LIST_REPLY");
	ck_assert_str_eq(proto_type_name(PROTO_T_HELLO), "HELLO");
	for (int c = 1; c <= PROTO_E_MAX; c++)
		ck_assert_str_ne(proto_error_name((uint16_t)c), "unknown");
	ck_assert_str_eq(proto_error_name(PROTO_E_NOTFOUND), "not found");
	ck_assert_str_eq(proto_error_name(0), "unknown");
	ck_assert_str_eq(proto_error_name(PROTO_E_MAX + 1), "unknown");
	ck_assert_str_eq(proto_error_name(UINT16_MAX), "unknown");
	ck_assert_str_eq(proto_health_name(PROTO_H_LAGGING), "lagging");
	ck_assert_str_eq(proto_health_name(200), "unknown");
}
END_TEST

/* ---------------------------------------------------------------- seeds */

START_TEST(test_every_fuzz_seed_decodes_and_reencodes_to_the_same_bytes)
{
	const char *dir = TEST_DATA_DIR "/proto/seeds";
	struct proto_buf b;
	struct dirent *de;
	DIR *d = opendir(dir);
	int seeds = 0;

	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	proto_buf_init(&b);
	while ((de = readdir(d)) != NULL) {
		char path[4096], err[256];
		uint8_t *f;
		struct proto_msg m;
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
		ck_assert_uint_eq(fread(f, 1, (size_t)n, fp), (size_t)n);
		fclose(fp);
		ck_assert_msg(proto_decode(f, (size_t)n, &m, err, sizeof(err)) == 0, "%s: %s",
			      path, err);
		proto_buf_reset(&b);
		ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), 0);
		ck_assert_uint_eq(b.len, (size_t)n);
		ck_assert_msg(memcmp(b.data, f, (size_t)n) == 0, "%s re-encodes differently", path);
		free(f);
		seeds++;
	}
	closedir(d);
	proto_buf_free(&b);
	ck_assert_int_ge(seeds, 5);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("crc32c");
	tcase_add_test(tc, test_crc32c_gives_the_standard_check_value);
	tcase_add_test(tc,
		       test_crc32c_matches_a_bitwise_reference_at_every_length_alignment_and_split);
	suite_add_tcase(s, tc);

	tc = tcase_create("round trip");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_the_samples_cover_every_message_type);
	tcase_add_loop_test(tc, test_every_sample_message_round_trips, 0, nsamples);
	tcase_add_loop_test(tc, test_the_encoder_writes_the_layout_proto_h_documents, 0, nsamples);
	tcase_add_loop_test(tc, test_a_decoded_reply_relays_under_a_new_id_with_the_same_items, 0,
			    nsamples);
	tcase_add_test(tc, test_a_peer_message_carries_no_request_id);
	suite_add_tcase(s, tc);

	tc = tcase_create("truncation");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_every_prefix_of_every_frame_asks_for_more_bytes, 0, nsamples);
	tcase_add_loop_test(tc, test_every_truncated_frame_fails_to_decode_with_a_clear_error, 0,
			    nsamples);
	tcase_add_loop_test(tc, test_trailing_bytes_after_the_last_field_are_refused, 0, nsamples);
	suite_add_tcase(s, tc);

	proto_limit_tests(s);
	proto_bad_frame_tests(s);
	proto_buffer_tests(s);
	proto_txn_tests(s);

	tc = tcase_create("names and seeds");
	tcase_add_test(tc, test_every_type_error_and_health_has_a_name);
	tcase_add_test(tc, test_every_fuzz_seed_decodes_and_reencodes_to_the_same_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failures;

	init_samples();
	sr = srunner_create(proto_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
