/*
 * check_proto_bad.c — frames the decoder must refuse: a bad checksum,
 * version, type, flags or length, strings that break their rules, unknown
 * codes, and fields that disagree with one another.  Each refusal is checked
 * for its error code and for words of its message, so that one kind of
 * damage cannot hide behind another.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_proto.h"

/* ----------------------------------------------------- bad frames */

/* A valid GET frame to damage. */
static uint8_t *
get_frame(size_t *len)
{
	return encode_sample(first_sample(PROTO_T_GET), len);
}

START_TEST(test_a_bad_checksum_is_refused)
{
	uint8_t *f;
	char err[256];
	size_t len;

	f = get_frame(&len);
	f[len - 1] ^= 0x01;
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "checksum") != NULL, "%s", err);
	f[len - 1] ^= 0x01;
	f[9] ^= 0x80;
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "checksum") != NULL, "%s", err);
	free(f);
}
END_TEST

START_TEST(test_a_wrong_version_is_refused)
{
	static const uint8_t versions[] = { 0, 2, 255 };
	uint8_t *f;
	char err[256];
	size_t len;

	f = get_frame(&len);
	for (size_t i = 0; i < sizeof(versions); i++) {
		f[4] = versions[i];
		ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
		ck_assert_msg(strstr(err, "protocol version") != NULL, "%s", err);
	}
	free(f);
}
END_TEST

START_TEST(test_an_unknown_type_is_refused)
{
	static const uint8_t body[16] = { 0 };
	struct proto_msg d;
	char err[256];
	uint8_t *f;
	size_t len;
	int unknown = 0;

	for (int t = 0; t < 256; t++) {
		if (strcmp(proto_type_name((uint8_t)t), "unknown") != 0)
			continue;
		unknown++;
		f = frame_around((uint8_t)t, body, sizeof(body), &len);
		ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
		ck_assert_msg(strstr(err, "unknown message type") != NULL, "%s", err);
		free(f);
		f = frame_around((uint8_t)t, NULL, 0, &len);
		ck_assert_int_eq(proto_decode(f, len, &d, err, sizeof(err)), -EPROTO);
		ck_assert_uint_eq(d.type, 0);
		free(f);
	}
	ck_assert_int_eq(unknown, 256 - 48);
}
END_TEST

START_TEST(test_nonzero_header_flags_are_refused)
{
	static const uint16_t flags[] = { 0x0001, 0x0100, 0x8000, 0xffff };
	uint8_t *f;
	char err[256];
	size_t len;

	f = get_frame(&len);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		f[6] = (uint8_t)(flags[i] >> 8);
		f[7] = (uint8_t)flags[i];
		ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
		ck_assert_msg(strstr(err, "header flags") != NULL, "%s", err);
	}
	free(f);
}
END_TEST

START_TEST(test_a_length_below_the_header_is_refused_from_four_bytes)
{
	uint8_t *f = malloc(4), *g;
	char err[256];
	size_t flen, len;

	ck_assert_ptr_nonnull(f);
	for (uint32_t n = 0; n < HDR; n++) {
		put_be32(f, n);
		ck_assert_int_eq(proto_frame_check(f, 4, &flen), -EPROTO);
		ck_assert_uint_eq(flen, n);
	}
	g = get_frame(&len);
	put_be32(g, HDR - 1);
	ck_assert_int_eq(decode_err(g, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "below the 12-byte header") != NULL, "%s", err);
	free(f);
	free(g);
}
END_TEST

START_TEST(test_a_length_above_the_frame_limit_is_refused_from_four_bytes)
{
	static const uint32_t lens[] = { RAFTCONF_MAX_FRAME + 1, 0x47455420 /* "GET " */,
					 UINT32_MAX };
	uint8_t *f = malloc(4), *g;
	char err[256];
	size_t flen, len;

	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		put_be32(f, lens[i]);
		ck_assert_int_eq(proto_frame_check(f, 4, &flen), -EMSGSIZE);
		ck_assert_uint_eq(flen, lens[i]);
	}
	put_be32(f, RAFTCONF_MAX_FRAME);
	ck_assert_int_eq(proto_frame_check(f, 4, &flen), -EAGAIN);
	g = get_frame(&len);
	put_be32(g, RAFTCONF_MAX_FRAME + 1);
	ck_assert_int_eq(decode_err(g, len, err, sizeof(err)), -EMSGSIZE);
	ck_assert_msg(strstr(err, "over the limit") != NULL, "%s", err);
	free(f);
	free(g);
}
END_TEST

START_TEST(test_a_length_field_that_disagrees_with_the_buffer_is_refused)
{
	uint8_t *f;
	char err[256];
	size_t len;

	f = get_frame(&len);
	ck_assert_int_eq(decode_err(f, len - 1, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "length field says") != NULL, "%s", err);
	free(f);
}
END_TEST

START_TEST(test_a_list_count_larger_than_its_bytes_is_refused)
{
	static const uint8_t types[] = { PROTO_T_LIST_REPLY, PROTO_T_STATUS_REPLY,
					 PROTO_T_MEMBERS_REPLY };
	static const uint32_t extra[] = { 1, 2, 1000, RAFTCONF_MAX_LIST };
	char err[256];
	uint8_t *f;
	size_t len;

	for (size_t t = 0; t < sizeof(types); t++) {
		const struct sample *s = &samples[0];

		for (int i = 0; i < nsamples; i++) {
			if (samples[i].m.type == types[t] && samples[i].it.n > 0)
				s = &samples[i];
		}
		ck_assert_uint_eq(s->m.type, types[t]);
		for (size_t k = 0; k < sizeof(extra) / sizeof(extra[0]); k++) {
			uint32_t count = (uint32_t)s->it.n + extra[k];

			f = craft_count(&s->m, &s->it, count, &len);
			ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), count > (types[t] ==
				PROTO_T_LIST_REPLY ? RAFTCONF_MAX_LIST : types[t] ==
				PROTO_T_STATUS_REPLY ? RAFTCONF_MAX_STATUS_PAIRS :
				RAFTCONF_MAX_MEMBERS) ? -E2BIG : -EPROTO);
			free(f);
		}
		/* Fewer items claimed than sent: the rest is trailing garbage. */
		f = craft_count(&s->m, &s->it, (uint32_t)s->it.n - 1, &len);
		ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
		ck_assert_msg(strstr(err, "trailing") != NULL, "%s", err);
		free(f);
	}
	/* A count nothing could hold, in a frame with no items at all. */
	f = craft_count(&first_sample(PROTO_T_LIST_REPLY)->m, &(struct items){ 0 }, 5000, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "count 5000 needs at least") != NULL, "%s", err);
	free(f);
	f = craft_count(&first_sample(PROTO_T_LIST_REPLY)->m, &(struct items){ 0 }, UINT32_MAX,
			&len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -E2BIG);
	free(f);
}
END_TEST

/* A message with one string field set to s: what encode and decode say. */
static void
assert_string_refused(uint8_t type, setter_fn *set, struct proto_str s, int enc_rc,
		      int dec_rc, const char *words)
{
	struct proto_msg m = first_sample(type)->m;
	union proto_item item;
	struct items items;
	char err[256];
	uint8_t *f;
	size_t len;
	int rc;

	base_item(type, &item, &items);
	set(&m, &item, s);
	rc = encode_rc(&m, &items, err, sizeof(err));
	ck_assert_msg(rc == enc_rc, "%s: encode gave %d, expected %d", proto_type_name(type), rc,
		      enc_rc);
	f = craft(&m, &items, &len);
	rc = decode_err(f, len, err, sizeof(err));
	ck_assert_msg(rc == dec_rc, "%s: decode gave %d, expected %d: %s", proto_type_name(type),
		      rc, dec_rc, err);
	ck_assert_msg(strstr(err, words) != NULL, "%s: \"%s\" lacks \"%s\"",
		      proto_type_name(type), err, words);
	free(f);
}

START_TEST(test_invalid_node_ids_are_refused)
{
	static const struct {
		struct proto_str id;
		const char *words;
	} bad[] = {
		{ S(""), "is empty" },
		{ S("n 1"), "outside [A-Za-z0-9_-]" },
		{ S("n.1"), "outside" },
		{ S("n/1"), "outside" },
		{ S("n1\0"), "outside" },
		{ S("\n"), "outside" },
		{ S("n\xc3\xb1"), "outside" },
	};
	static setter_fn *const setters[] = { set_remove_id, set_join_id, set_hello_id,
					      set_member_id, set_transfer_id };
	static const uint8_t types[] = { PROTO_T_REMOVE, PROTO_T_JOIN, PROTO_T_HELLO,
					 PROTO_T_MEMBERS_REPLY, PROTO_T_TRANSFER };

	for (size_t t = 0; t < sizeof(types); t++) {
		/* TRANSFER's id may be empty: "whoever is most up to date". */
		for (size_t i = types[t] == PROTO_T_TRANSFER; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_string_refused(types[t], setters[t], bad[i].id, -EINVAL, -EPROTO,
					      bad[i].words);
	}
	/* The cluster name has the same alphabet. */
	assert_string_refused(PROTO_T_HELLO, set_hello_cluster, S("prod config"), -EINVAL,
			      -EPROTO, "outside");
	assert_string_refused(PROTO_T_JOIN, set_join_cluster, S(""), -EINVAL, -EPROTO, "empty");
	ck_assert(proto_valid_id("n1", 2));
	ck_assert(proto_valid_id(max_id, sizeof(max_id)));
	ck_assert(!proto_valid_id("", 0));
	ck_assert(!proto_valid_id("n.1", 3));
	ck_assert(!proto_valid_id(fillbuf, RAFTCONF_MAX_ID + 1));
}
END_TEST

START_TEST(test_an_empty_key_is_refused)
{
	assert_string_refused(PROTO_T_GET, set_get_key, S(""), -EINVAL, -EPROTO, "key is empty");
	assert_string_refused(PROTO_T_SET, set_set_key, S(""), -EINVAL, -EPROTO, "key is empty");
	assert_string_refused(PROTO_T_DEL, set_del_key, S(""), -EINVAL, -EPROTO, "key is empty");
	assert_string_refused(PROTO_T_EVENT, set_event_key, S(""), -EINVAL, -EPROTO,
			      "key is empty");
	assert_string_refused(PROTO_T_LIST_REPLY, set_entry_key, S(""), -EINVAL, -EPROTO,
			      "entry 0: key is empty");
	ck_assert(!proto_valid_key("", 0));
	ck_assert(proto_valid_key("/", 1));
}
END_TEST

START_TEST(test_a_key_with_a_nul_byte_is_refused)
{
	assert_string_refused(PROTO_T_GET, set_get_key, S("/a\0b"), -EINVAL, -EPROTO,
			      "NUL byte at offset 2");
	assert_string_refused(PROTO_T_SET, set_set_key, S("\0"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_DEL, set_del_key, S("/x\0"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_EVENT, set_event_key, S("\0/x"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_LIST, set_list_prefix, S("/\0"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_WATCH, set_watch_prefix, S("/\0"), -EINVAL, -EPROTO, "NUL");
	assert_string_refused(PROTO_T_LIST_REPLY, set_entry_key, S("a\0"), -EINVAL, -EPROTO,
			      "NUL");
	assert_string_refused(PROTO_T_ERROR, set_error_message, S("oops\0"), -EINVAL, -EPROTO,
			      "NUL");
	assert_string_refused(PROTO_T_STATUS_REPLY, set_pair_value, S("\0"), -EINVAL, -EPROTO,
			      "NUL");
	ck_assert(!proto_valid_key("a\0b", 3));
}
END_TEST

START_TEST(test_addresses_must_be_printable_without_spaces)
{
	assert_string_refused(PROTO_T_JOIN, set_join_address, S("10.0.0.1 :7000"), -EINVAL,
			      -EPROTO, "not printable");
	assert_string_refused(PROTO_T_JOINREQ, set_joinreq_address, S("h\x7f"), -EINVAL,
			      -EPROTO, "not printable");
	assert_string_refused(PROTO_T_HELLO, set_hello_address, S(""), -EINVAL, -EPROTO,
			      "address is empty");
	assert_string_refused(PROTO_T_MEMBERS_REPLY, set_member_address, S("a\tb"), -EINVAL,
			      -EPROTO, "member 0: address has byte 0x09");
	assert_string_refused(PROTO_T_STATUS_REPLY, set_pair_name, S(""), -EINVAL, -EPROTO,
			      "name is empty");
}
END_TEST

/* Patch one byte of a sample's crafted frame; decoding must refuse it. */
static void
assert_byte_refused(const struct sample *s, size_t at, uint8_t v, const char *words)
{
	char err[256];
	uint8_t *f;
	size_t len;

	f = craft(&s->m, &s->it, &len);
	ck_assert_uint_lt(at, len);
	f[at] = v;
	reseal(f, len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, words) != NULL, "\"%s\" lacks \"%s\"", err, words);
	free(f);
}

START_TEST(test_unknown_flag_bits_are_refused)
{
	struct proto_msg m;
	char err[256];
	const size_t flags_at = HDR + 8;

	assert_byte_refused(first_sample(PROTO_T_GET), flags_at, 0x04, "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_LIST_META_REPLY), flags_at, 0x02,
			    "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_TXN_REPLY), flags_at, 0x04,
			    "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_LIST), flags_at, 0x80, "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_JOIN), flags_at, 0x03, "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_JOINREQ), flags_at, 0x04,
			    "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_LIST_REPLY), flags_at, 0x10,
			    "flags has unknown bits");
	assert_byte_refused(first_sample(PROTO_T_LIST_EX), flags_at, 0x10,
			    "flags has unknown bits");
	/* DEL_PREFIX: id, client_id, seq, then flags. */
	assert_byte_refused(first_sample(PROTO_T_DEL_PREFIX), HDR + 24, 0x02,
			    "flags has unknown bits");
	/* TOKEN_ADD: id, client_id, seq, name "app-ro", prefix "", then flags. */
	assert_byte_refused(first_sample(PROTO_T_TOKEN_ADD), HDR + 24 + 2 + 6 + 2, 0x02,
			    "flags has unknown bits");
	/* TOKEN_LIST_REPLY: id, count, name "all-ro", then flags. */
	for (int i = 0; i < nsamples; i++) {
		if (samples[i].m.type == PROTO_T_TOKEN_LIST_REPLY && samples[i].it.n > 0)
			assert_byte_refused(&samples[i], HDR + 8 + 4 + 2 + 6, 0x80,
					    "token 0: flags has unknown bits");
	}
	m = first_sample(PROTO_T_GET)->m;
	m.get.flags = 0x04;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "GET: flags has unknown bits 0x04") != NULL, "%s", err);
}
END_TEST

START_TEST(test_unknown_codes_kinds_and_member_states_are_refused)
{
	const struct sample *members = NULL;
	struct proto_msg m;
	char err[256];
	/* MEMBERS_REPLY body: id, count, then node_id "n1", address "10.0.0.1:7000". */
	const size_t mflags_at = HDR + 8 + 4 + 2 + 2 + 2 + 13, health_at = mflags_at + 1 + 16;

	assert_byte_refused(first_sample(PROTO_T_ERROR), HDR + 9, 0, "code 0 is not in 1..12");
	assert_byte_refused(first_sample(PROTO_T_ERROR), HDR + 9, PROTO_E_MAX + 1, "code 13");
	assert_byte_refused(first_sample(PROTO_T_EVENT), HDR + 8, 0, "kind 0 is not in 1..2");
	assert_byte_refused(first_sample(PROTO_T_EVENT), HDR + 8, 3, "kind 3");
	for (int i = 0; i < nsamples; i++) {
		if (samples[i].m.type == PROTO_T_MEMBERS_REPLY && samples[i].it.n > 0)
			members = &samples[i];
	}
	ck_assert_ptr_nonnull(members);
	assert_byte_refused(members, mflags_at, 0, "not exactly one of voter and learner");
	assert_byte_refused(members, mflags_at, PROTO_M_VOTER | PROTO_M_LEARNER,
			    "not exactly one");
	assert_byte_refused(members, mflags_at, PROTO_M_LEARNER | PROTO_M_LEADER,
			    "marks a learner as leader");
	assert_byte_refused(members, mflags_at, PROTO_M_VOTER | 0x10, "unknown bits");
	assert_byte_refused(members, health_at, PROTO_H_MAX + 1, "health 4 is not in 0..3");

	m = first_sample(PROTO_T_ERROR)->m;
	m.error.code = 0;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), -EINVAL);
	m = first_sample(PROTO_T_EVENT)->m;
	m.event.kind = 3;
	ck_assert_int_eq(encode_rc(&m, NULL, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_a_token_hash_of_another_size_than_sha256_is_refused)
{
	struct sample s = *first_sample(PROTO_T_TOKEN_ADD);
	char err[256];
	uint8_t *f;
	size_t len;

	s.m.token_add.hash = view(hash32, sizeof(hash32) - 1);
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "TOKEN_ADD: hash is 31 bytes, expected 32") != NULL, "%s", err);
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "hash is 31 bytes, expected 32") != NULL, "%s", err);
	free(f);
	s.m.token_add.hash = S("");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	/* A name is a node id's alphabet. */
	s = *first_sample(PROTO_T_TOKEN_ADD);
	s.m.token_add.name = S("a b");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "name has byte 0x20") != NULL, "%s", err);
	free(f);
	s = *first_sample(PROTO_T_TOKEN_REVOKE);
	s.m.token_revoke.name = S("");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_a_del_event_with_a_value_is_refused)
{
	struct sample s = *first_sample(PROTO_T_EVENT);
	char err[256];
	uint8_t *f;
	size_t len;

	s.m.event.kind = PROTO_EV_DEL;
	s.m.event.value = S("x");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "DEL event carries a 1-byte value") != NULL, "%s", err);
	free(f);
}
END_TEST

START_TEST(test_a_redirect_must_carry_an_address)
{
	struct sample s = *first_sample(PROTO_T_ERROR);
	char err[256];
	uint8_t *f;
	size_t len;

	s.m.error.code = PROTO_E_REDIRECT;
	s.m.error.message = S("");
	ck_assert_int_eq(encode_rc(&s.m, NULL, err, sizeof(err)), -EINVAL);
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "REDIRECT without") != NULL, "%s", err);
	free(f);
	s.m.error.message = S("no leader here");
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(decode_err(f, len, err, sizeof(err)), -EPROTO);
	free(f);
}
END_TEST

START_TEST(test_a_bad_request_still_reports_its_type_and_id)
{
	struct sample s = *first_sample(PROTO_T_SET);
	struct proto_msg d;
	char err[256];
	uint8_t *f;
	size_t len;

	s.m.id = 4242;
	s.m.set.key = S("");
	f = craft(&s.m, &s.it, &len);
	ck_assert_int_eq(proto_decode(f, len, &d, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(d.type, PROTO_T_SET);
	ck_assert_uint_eq(d.id, 4242);
	f[len - 1] ^= 1;	/* now the crc fails: nothing is trusted */
	ck_assert_int_eq(proto_decode(f, len, &d, err, sizeof(err)), -EPROTO);
	ck_assert_uint_eq(d.type, 0);
	ck_assert_uint_eq(d.id, 0);
	free(f);
}
END_TEST

START_TEST(test_decode_errors_need_no_error_buffer)
{
	struct proto_msg d;
	uint8_t *f;
	size_t len;

	f = get_frame(&len);
	ck_assert_int_eq(proto_decode(f, len, &d, NULL, 0), 0);
	f[4] = 9;
	ck_assert_int_eq(proto_decode(f, len, &d, NULL, 0), -EPROTO);
	ck_assert_int_eq(proto_decode(NULL, 0, &d, NULL, 0), -EPROTO);
	free(f);
}
END_TEST

START_TEST(test_error_messages_are_distinct_for_each_kind_of_damage)
{
	char errs[6][256];
	uint8_t *f;
	size_t len;

	f = get_frame(&len);
	f[4] = 2;
	decode_err(f, len, errs[0], sizeof(errs[0]));
	f[4] = PROTO_VERSION;
	f[5] = 0x7f;
	decode_err(f, len, errs[1], sizeof(errs[1]));
	f[5] = PROTO_T_GET;
	f[7] = 1;
	decode_err(f, len, errs[2], sizeof(errs[2]));
	f[7] = 0;
	f[len - 1] ^= 1;
	decode_err(f, len, errs[3], sizeof(errs[3]));
	f[len - 1] ^= 1;
	reseal(f, len - 1);
	decode_err(f, len - 1, errs[4], sizeof(errs[4]));
	free(f);
	f = frame_around(PROTO_T_STATUS, (const uint8_t *)"123456789", 9, &len);
	decode_err(f, len, errs[5], sizeof(errs[5]));
	free(f);
	for (int i = 0; i < 6; i++) {
		for (int j = i + 1; j < 6; j++)
			ck_assert_str_ne(errs[i], errs[j]);
	}
	ck_assert_str_eq(errs[5], "STATUS: 1 trailing bytes after the last field");
}
END_TEST

/* An EVENTS' changes: a DEL without a value, revisions rising, none past the answer's. */
START_TEST(test_events_changes_are_checked_across_fields)
{
	static const struct {
		struct proto_change ch[2];
		uint64_t revision;
		const char *why; /* NULL: valid */
	} cases[] = {
		{ { { PROTO_EV_PUT, { "/a", 2 }, 5, { "x", 1 } },
		      { PROTO_EV_DEL, { "/b", 2 }, 5, { "", 0 } } },
		    5, NULL },
		{ { { PROTO_EV_PUT, { "/a", 2 }, 5, { "x", 1 } },
		      { PROTO_EV_DEL, { "/b", 2 }, 6, { "y", 1 } } },
		    9, "is a DEL with a value" },
		{ { { PROTO_EV_PUT, { "/a", 2 }, 7, { "x", 1 } },
		      { PROTO_EV_PUT, { "/b", 2 }, 6, { "y", 1 } } },
		    9, "out of order" },
		{ { { PROTO_EV_PUT, { "/a", 2 }, 7, { "x", 1 } },
		      { PROTO_EV_PUT, { "/b", 2 }, 10, { "y", 1 } } },
		    9, "answer at 9" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_reply rb;
		struct proto_buf b;
		struct proto_msg m;
		char err[256] = "";
		int rc;

		proto_buf_init(&b);
		ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_EVENTS, 1), 0);
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(proto_reply_add_change(&rb, &cases[i].ch[k]), 0);
		ck_assert_int_eq(proto_reply_end_txn(&rb, 0, cases[i].revision), 0);
		rc = proto_decode(b.data, b.len, &m, err, sizeof(err));
		if (cases[i].why == NULL) {
			ck_assert_msg(rc == 0, "case %zu: %s", i, err);
			ck_assert_uint_eq(m.events.revision, cases[i].revision);
		} else {
			ck_assert_int_eq(rc, -EPROTO);
			ck_assert_msg(strstr(err, cases[i].why) != NULL, "case %zu: %s", i, err);
		}
		proto_buf_free(&b);
	}
	/* a reply of another type has no revision to set */
	{
		struct proto_reply rb;
		struct proto_buf b;

		proto_buf_init(&b);
		ck_assert_int_eq(proto_reply_begin(&rb, &b, PROTO_T_LIST_REPLY, 1), 0);
		ck_assert_int_eq(proto_reply_end_txn(&rb, 0, 3), -EINVAL);
		proto_reply_abort(&rb);
		proto_buf_free(&b);
	}
}
END_TEST

/* A CLUSTER_STATUS_REPLY of these members: what the builder and the decoder say. */
static void
cluster_reply_rc(const struct proto_member_status *ms, size_t n, int *build_rc, int *decode_rc,
		 char *err, size_t errlen)
{
	struct proto_msg m = { .type = PROTO_T_CLUSTER_STATUS_REPLY, .id = 9 }, d;
	struct items it = { .n = n, .ms = ms };
	struct proto_buf b;
	uint8_t *f;
	size_t len;

	proto_buf_init(&b);
	*build_rc = build(&b, &m, &it);
	proto_buf_free(&b);
	f = craft(&m, &it, &len);
	err[0] = '\0';
	*decode_rc = proto_decode(f, len, &d, err, errlen);
	free(f);
}

START_TEST(test_a_member_status_has_its_pairs_or_an_error_never_both_nor_neither)
{
	struct proto_member_status ms[2] = { mstatus3[0], mstatus3[1] };
	char err[256];
	int brc, drc;

	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, 0);
	ck_assert_msg(drc == 0, "%s", err);
	/* an answer that also says it failed */
	ms[1] = mstatus3[0];
	ms[1].error = S("did not answer");
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	ck_assert_msg(strstr(err, "member 1 has both a status and an error") != NULL, "%s", err);
	/* no answer and no reason */
	ms[1] = mstatus3[1];
	ms[1].error = S("");
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	ck_assert_msg(strstr(err, "member 1 has neither") != NULL, "%s", err);
}
END_TEST

START_TEST(test_damage_inside_a_members_pairs_is_refused_and_placed)
{
	/* a pair whose name has a NUL byte; a count its bytes cannot hold */
	static const uint8_t nul_name[] = { 0, 2, 'i', 0, 0, 1, 'x' };
	static const uint8_t short_raw[] = { 0, 2, 'i', 'd', 0, 1, 'x' };
	struct proto_member_status ms[2] = { mstatus3[1], mstatus3[0] };
	char err[256];
	int brc, drc;

	ms[1].pairs = (struct proto_items){ 1, nul_name, sizeof(nul_name) };
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	ck_assert_msg(strstr(err, "pair 0: name has a NUL byte") != NULL, "%s", err);
	ms[1].pairs = (struct proto_items){ 3, short_raw, sizeof(short_raw) };
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	/* after the pairs of member 0, a damaged field of member 1 is placed in member 1 */
	ms[0] = mstatus3[0];
	ms[1] = mstatus3[1];
	ms[1].address = S("no spaces allowed");
	cluster_reply_rc(ms, 2, &brc, &drc, err, sizeof(err));
	ck_assert_int_eq(brc, -EINVAL);
	ck_assert_int_eq(drc, -EPROTO);
	ck_assert_msg(strstr(err, "CLUSTER_STATUS_REPLY member 1: address has byte 0x20") != NULL,
		      "%s", err);
}
END_TEST

/* A wait outside its range, in CLUSTER_STATUS and POLL. */
START_TEST(test_a_wait_outside_its_range_is_refused_both_ways)
{
	static const struct {
		uint8_t type;
		uint64_t wait_ms;
		bool ok;
	} cases[] = {
		{ PROTO_T_CLUSTER_STATUS, 0, false },
		{ PROTO_T_CLUSTER_STATUS, 1, true },
		{ PROTO_T_CLUSTER_STATUS, RAFTCONF_MAX_STATUS_WAIT_MS, true },
		{ PROTO_T_CLUSTER_STATUS, RAFTCONF_MAX_STATUS_WAIT_MS + 1, false },
		{ PROTO_T_CLUSTER_STATUS, UINT64_MAX, false },
		{ PROTO_T_POLL, 0, true },
		{ PROTO_T_POLL, RAFTCONF_MAX_POLL_MS, true },
		{ PROTO_T_POLL, RAFTCONF_MAX_POLL_MS + 1, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sample s = *first_sample(cases[i].type);
		struct proto_msg d;
		char err[256] = "";
		uint8_t *f;
		size_t len;
		int rc;

		if (cases[i].type == PROTO_T_POLL)
			s.m.poll.wait_ms = cases[i].wait_ms;
		else
			s.m.cluster_status.wait_ms = cases[i].wait_ms;
		rc = encode_rc(&s.m, &s.it, err, sizeof(err));
		ck_assert_msg(rc == (cases[i].ok ? 0 : -EINVAL), "case %zu: encode %d: %s", i, rc,
			      err);
		f = craft(&s.m, &s.it, &len);
		rc = proto_decode(f, len, &d, err, sizeof(err));
		ck_assert_msg(rc == (cases[i].ok ? 0 : -EPROTO), "case %zu: decode %d", i, rc);
		if (!cases[i].ok)
			ck_assert_msg(strstr(err, "wait_ms") != NULL && strstr(err, "is not in") != NULL,
				      "case %zu: %s", i, err);
		free(f);
	}
}
END_TEST

void
proto_bad_frame_tests(Suite *s)
{
	TCase *tc;

	tc = tcase_create("bad frames");
	tcase_add_test(tc, test_a_bad_checksum_is_refused);
	tcase_add_test(tc, test_a_wrong_version_is_refused);
	tcase_add_test(tc, test_an_unknown_type_is_refused);
	tcase_add_test(tc, test_nonzero_header_flags_are_refused);
	tcase_add_test(tc, test_a_length_below_the_header_is_refused_from_four_bytes);
	tcase_add_test(tc, test_a_length_above_the_frame_limit_is_refused_from_four_bytes);
	tcase_add_test(tc, test_a_length_field_that_disagrees_with_the_buffer_is_refused);
	tcase_add_test(tc, test_a_list_count_larger_than_its_bytes_is_refused);
	tcase_add_test(tc, test_invalid_node_ids_are_refused);
	tcase_add_test(tc, test_an_empty_key_is_refused);
	tcase_add_test(tc, test_a_key_with_a_nul_byte_is_refused);
	tcase_add_test(tc, test_addresses_must_be_printable_without_spaces);
	tcase_add_test(tc, test_unknown_flag_bits_are_refused);
	tcase_add_test(tc, test_unknown_codes_kinds_and_member_states_are_refused);
	tcase_add_test(tc, test_events_changes_are_checked_across_fields);
	tcase_add_test(tc, test_a_member_status_has_its_pairs_or_an_error_never_both_nor_neither);
	tcase_add_test(tc, test_damage_inside_a_members_pairs_is_refused_and_placed);
	tcase_add_test(tc, test_a_wait_outside_its_range_is_refused_both_ways);
	tcase_add_test(tc, test_a_del_event_with_a_value_is_refused);
	tcase_add_test(tc, test_a_token_hash_of_another_size_than_sha256_is_refused);
	tcase_add_test(tc, test_a_redirect_must_carry_an_address);
	tcase_add_test(tc, test_a_bad_request_still_reports_its_type_and_id);
	tcase_add_test(tc, test_decode_errors_need_no_error_buffer);
	tcase_add_test(tc, test_error_messages_are_distinct_for_each_kind_of_damage);
	suite_add_tcase(s, tc);
}
