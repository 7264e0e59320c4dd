/*
 * check_json.c — unit tests of daemon/json: the strict UTF-8 check, JSON
 * string escaping, base64 and the key/value objects that the HTTP API and
 * raftconfctl --json both print.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* A string literal with its length, embedded NUL bytes included. */
#define L(lit) (lit), (sizeof(lit) - 1)

/* ------------------------------------------------------ a memory json_out */

struct mem {
	char	buf[64 * 1024];
	size_t	len;
	size_t	writes, largest;	/* how the writer handed its text over */
};

static void
mem_write(void *arg, const char *p, size_t len)
{
	struct mem *m = arg;

	ck_assert_uint_le(m->len + len, sizeof(m->buf) - 1);
	memcpy(m->buf + m->len, p, len);
	m->len += len;
	m->buf[m->len] = '\0';
	m->writes++;
	if (len > m->largest)
		m->largest = len;
}

static struct mem mem;
static const struct json_out out = { mem_write, &mem };

static const char *
reset(void)
{
	memset(&mem, 0, sizeof(mem));
	return mem.buf;
}

static const char *
string_of(const char *s, size_t len)
{
	reset();
	json_string(&out, s, len);
	return mem.buf;
}

static const char *
base64_of(const char *s, size_t len)
{
	reset();
	json_base64(&out, s, len);
	return mem.buf;
}

/* ------------------------------------------------------------------ UTF-8 */

START_TEST(test_utf8_validation_follows_rfc_3629)
{
	ck_assert(json_utf8_valid(L("plain ascii")));
	ck_assert(json_utf8_valid(L("")));
	ck_assert(json_utf8_valid(L("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")));
	ck_assert(json_utf8_valid(L("\xf4\x8f\xbf\xbf")));		/* U+10FFFF */
	ck_assert(json_utf8_valid(L("\xed\x9f\xbf")));		/* U+D7FF */
	ck_assert(json_utf8_valid(L("\xef\xbf\xbf")));		/* U+FFFF */
	ck_assert(!json_utf8_valid(L("\xc0\xaf")));		/* overlong "/" */
	ck_assert(!json_utf8_valid(L("\xc1\xbf")));
	ck_assert(!json_utf8_valid(L("\xe0\x9f\xbf")));		/* overlong */
	ck_assert(!json_utf8_valid(L("\xf0\x8f\xbf\xbf")));	/* overlong */
	ck_assert(!json_utf8_valid(L("\xed\xa0\x80")));		/* surrogate */
	ck_assert(!json_utf8_valid(L("\xf4\x90\x80\x80")));	/* over U+10FFFF */
	ck_assert(!json_utf8_valid(L("\xf5\x80\x80\x80")));
	ck_assert(!json_utf8_valid(L("\xe2\x82")));		/* truncated */
	ck_assert(!json_utf8_valid(L("a\x80")));			/* lone continuation */
	ck_assert(!json_utf8_valid(L("\xff")));
	ck_assert(!json_utf8_valid(L("\xe2\x28\xa1")));
}
END_TEST

START_TEST(test_surrogates_are_not_valid_utf8)
{
	ck_assert(!json_utf8_valid(L("\xed\xa0\x80")));		/* U+D800, the first */
	ck_assert(!json_utf8_valid(L("\xed\xaf\xbf")));		/* U+DBFF, high */
	ck_assert(!json_utf8_valid(L("\xed\xb0\x80")));		/* U+DC00, low */
	ck_assert(!json_utf8_valid(L("\xed\xbf\xbf")));		/* U+DFFF, the last */
	/* A pair encoded as two sequences (CESU-8) is no better. */
	ck_assert(!json_utf8_valid(L("\xed\xa0\xbd\xed\xb8\x80")));
	ck_assert(!json_utf8_valid(L("text, then \xed\xa0\x80")));
	ck_assert(json_utf8_valid(L("\xee\x80\x80")));		/* U+E000, just past */
}
END_TEST

START_TEST(test_overlong_forms_are_not_valid_utf8)
{
	ck_assert(!json_utf8_valid(L("\xc0\x80")));		/* NUL in two bytes */
	ck_assert(!json_utf8_valid(L("\xc1\xbf")));		/* U+007F in two */
	ck_assert(!json_utf8_valid(L("\xe0\x80\x80")));		/* NUL in three */
	ck_assert(!json_utf8_valid(L("\xe0\x9f\xbf")));		/* U+07FF in three */
	ck_assert(!json_utf8_valid(L("\xf0\x80\x80\x80")));	/* NUL in four */
	ck_assert(!json_utf8_valid(L("\xf0\x8f\xbf\xbf")));	/* U+FFFF in four */
	ck_assert(json_utf8_valid(L("\xc2\x80")));		/* U+0080, shortest */
	ck_assert(json_utf8_valid(L("\xe0\xa0\x80")));		/* U+0800, shortest */
	ck_assert(json_utf8_valid(L("\xf0\x90\x80\x80")));	/* U+10000, shortest */
}
END_TEST

START_TEST(test_code_points_above_u10ffff_are_not_valid_utf8)
{
	ck_assert(!json_utf8_valid(L("\xf4\x90\x80\x80")));	/* U+110000 */
	ck_assert(!json_utf8_valid(L("\xf7\xbf\xbf\xbf")));	/* U+1FFFFF */
	ck_assert(!json_utf8_valid(L("\xf8\x88\x80\x80\x80")));	/* old five-byte form */
	ck_assert(!json_utf8_valid(L("\xfc\x84\x80\x80\x80\x80")));	/* six-byte form */
	ck_assert(json_utf8_valid(L("\xf4\x8f\xbf\xbf")));		/* U+10FFFF */
}
END_TEST

START_TEST(test_truncated_and_stray_sequences_are_not_valid_utf8)
{
	ck_assert(!json_utf8_valid(L("\xc3")));			/* lead byte, then nothing */
	ck_assert(!json_utf8_valid(L("\xe2\x82")));
	ck_assert(!json_utf8_valid(L("\xf0\x9f\x98")));
	ck_assert(!json_utf8_valid(L("\xc3 ")));			/* lead byte, then ASCII */
	ck_assert(!json_utf8_valid(L("\x80")));			/* continuation alone */
	ck_assert(!json_utf8_valid(L("\xbf")));
	ck_assert(!json_utf8_valid(L("\xc3\xa9\xa9")));		/* one too many */
	ck_assert(!json_utf8_valid(L("\xfe")));
	ck_assert(!json_utf8_valid(L("\xff")));
}
END_TEST

START_TEST(test_nul_and_control_bytes_are_valid_utf8)
{
	/* Valid text, escaped when written: validity is not printability. */
	ck_assert(json_utf8_valid(L("a\0b")));
	ck_assert(json_utf8_valid(L("\x01\x1f\x7f\n\r\t")));
}
END_TEST

/* ------------------------------------------------------------ JSON strings */

START_TEST(test_json_strings_escape_quotes_backslashes_and_controls)
{
	ck_assert_str_eq(string_of(L("a\"b\\c")), "\"a\\\"b\\\\c\"");
	ck_assert_str_eq(string_of(L("\n\r\t\x01\x1f\x7f")),
	    "\"\\n\\r\\t\\u0001\\u001f\\u007f\"");
	ck_assert_str_eq(string_of(L("a\0b")), "\"a\\u0000b\"");
	ck_assert_str_eq(string_of(L("/caf\xc3\xa9\xf0\x9f\x98\x80")),
	    "\"/caf\xc3\xa9\xf0\x9f\x98\x80\"");
	ck_assert_str_eq(string_of(L("")), "\"\"");
}
END_TEST

START_TEST(test_every_control_character_is_escaped)
{
	char in[1], want[16];

	for (int c = 0; c < 0x20; c++) {
		in[0] = (char)c;
		if (c == '\n')
			snprintf(want, sizeof(want), "\"\\n\"");
		else if (c == '\r')
			snprintf(want, sizeof(want), "\"\\r\"");
		else if (c == '\t')
			snprintf(want, sizeof(want), "\"\\t\"");
		else
			snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		ck_assert_str_eq(string_of(in, 1), want);
	}
	ck_assert_str_eq(string_of(L("\x7f")), "\"\\u007f\"");
	/* The printable ASCII around them passes as it is. */
	ck_assert_str_eq(string_of(L(" ~/'")), "\" ~/'\"");
}
END_TEST

START_TEST(test_json_strings_replace_invalid_utf8_in_messages)
{
	ck_assert_str_eq(string_of(L("key not found: a\xff\xc0\xafz")),
	    "\"key not found: a\\ufffd\\ufffd\\ufffdz\"");
	/* Each byte of a surrogate is replaced; the text around it is kept. */
	ck_assert_str_eq(string_of(L("a\xed\xa0\x80z")), "\"a\\ufffd\\ufffd\\ufffdz\"");
}
END_TEST

START_TEST(test_long_json_strings_are_written_whole)
{
	static char in[5000], want[5000 * 6 + 3];
	char *w = want;

	*w++ = '"';
	for (size_t i = 0; i < sizeof(in); i++) {
		in[i] = i % 3 == 0 ? '\x02' : i % 3 == 1 ? 'x' : '"';
		w += sprintf(w, "%s", i % 3 == 0 ? "\\u0002" : i % 3 == 1 ? "x" : "\\\"");
	}
	*w++ = '"';
	*w = '\0';
	ck_assert_str_eq(string_of(in, sizeof(in)), want);
	/* In pieces of at most JSON_CHUNK bytes. */
	ck_assert_uint_gt(mem.writes, 1);
	ck_assert_uint_le(mem.largest, JSON_CHUNK);
}
END_TEST

START_TEST(test_multibyte_characters_pass_whole_across_chunks)
{
	static char in[3 * 1000];
	size_t i;

	/* "é" = c3 a9 at every offset of the chunk boundary. */
	for (i = 0; i + 1 < sizeof(in); i += 2) {
		in[i] = '\xc3';
		in[i + 1] = '\xa9';
	}
	string_of(in, i);
	ck_assert_uint_eq(mem.len, i + 2);
	ck_assert_mem_eq(mem.buf + 1, in, i);
}
END_TEST

/* ----------------------------------------------------------------- base64 */

START_TEST(test_base64_matches_the_rfc_4648_vectors)
{
	ck_assert_str_eq(base64_of(L("")), "\"\"");
	ck_assert_str_eq(base64_of(L("f")), "\"Zg==\"");
	ck_assert_str_eq(base64_of(L("fo")), "\"Zm8=\"");
	ck_assert_str_eq(base64_of(L("foo")), "\"Zm9v\"");
	ck_assert_str_eq(base64_of(L("foob")), "\"Zm9vYg==\"");
	ck_assert_str_eq(base64_of(L("fooba")), "\"Zm9vYmE=\"");
	ck_assert_str_eq(base64_of(L("foobar")), "\"Zm9vYmFy\"");
	ck_assert_str_eq(base64_of(L("\xff\xfe\x00")), "\"//4A\"");
}
END_TEST

START_TEST(test_long_base64_is_written_whole)
{
	static char in[3000];
	const char *b;

	memset(in, '\xff', sizeof(in));
	b = base64_of(in, sizeof(in));
	ck_assert_uint_eq(strlen(b), sizeof(in) / 3 * 4 + 2);
	for (size_t i = 1; i < strlen(b) - 1; i++)
		ck_assert_int_eq(b[i], '/');
	ck_assert_uint_le(mem.largest, JSON_CHUNK);
}
END_TEST

/* ---------------------------------------------- fields and key/value objects */

START_TEST(test_text_is_a_string_field_and_other_bytes_base64)
{
	reset();
	json_bytes_field(&out, "value", L("caf\xc3\xa9"));
	ck_assert_str_eq(mem.buf, "\"value\":\"caf\xc3\xa9\"");
	reset();
	json_bytes_field(&out, "value", L("\xff\x00\x01"));
	ck_assert_str_eq(mem.buf, "\"value_base64\":\"/wAB\"");
	reset();
	json_bytes_field(&out, "key", L("/a\xed\xa0\x80"));		/* a surrogate */
	ck_assert_str_eq(mem.buf, "\"key_base64\":\"L2HtoIA=\"");
	reset();
	json_bytes_field(&out, "value", L(""));
	ck_assert_str_eq(mem.buf, "\"value\":\"\"");
}
END_TEST

START_TEST(test_an_entry_is_key_revision_and_value)
{
	reset();
	json_entry(&out, L("/app/db"), 42, L("10.0.0.5"));
	ck_assert_str_eq(mem.buf, "{\"key\":\"/app/db\",\"revision\":42,\"value\":\"10.0.0.5\"}");
	reset();
	json_entry(&out, L("/b\"q\\"), 18446744073709551615ULL, L("line\nbreak\x01"));
	ck_assert_str_eq(mem.buf, "{\"key\":\"/b\\\"q\\\\\",\"revision\":18446744073709551615,"
	    "\"value\":\"line\\nbreak\\u0001\"}");
	reset();
	json_entry(&out, L("/d\xff"), 0, L("\xc0\xaf"));
	ck_assert_str_eq(mem.buf, "{\"key_base64\":\"L2T/\",\"revision\":0,"
	    "\"value_base64\":\"wK8=\"}");
}
END_TEST

static const char *
status_member_of(const char *name, const char *value)
{
	reset();
	json_status_member(&out, name, strlen(name), value, strlen(value));
	return mem.buf;
}

START_TEST(test_status_counters_are_numbers_and_names_and_words_strings)
{
	ck_assert_str_eq(status_member_of("term", "7"), "\"term\":7");
	ck_assert_str_eq(status_member_of("commit", "0"), "\"commit\":0");
	ck_assert_str_eq(status_member_of("loop_stall_max_ms", "0.5"), "\"loop_stall_max_ms\":0.5");
	ck_assert_str_eq(status_member_of("db_size", "4251648"), "\"db_size\":4251648");
	/* not decimal numbers JSON could hold as they are */
	ck_assert_str_eq(status_member_of("x", "007"), "\"x\":\"007\"");
	ck_assert_str_eq(status_member_of("x", "1."), "\"x\":\"1.\"");
	ck_assert_str_eq(status_member_of("x", ".5"), "\"x\":\".5\"");
	ck_assert_str_eq(status_member_of("x", "-1"), "\"x\":\"-1\"");
	ck_assert_str_eq(status_member_of("x", "1e5"), "\"x\":\"1e5\"");
	ck_assert_str_eq(status_member_of("x", ""), "\"x\":\"\"");
	ck_assert_str_eq(status_member_of("x", "1234567890123456789012345"),
	    "\"x\":\"1234567890123456789012345\"");
	/* a node, a cluster or a version that looks like a number is still a name */
	ck_assert_str_eq(status_member_of("id", "7"), "\"id\":\"7\"");
	ck_assert_str_eq(status_member_of("leader", "7"), "\"leader\":\"7\"");
	ck_assert_str_eq(status_member_of("cluster", "42"), "\"cluster\":\"42\"");
	ck_assert_str_eq(status_member_of("version", "1.0"), "\"version\":\"1.0\"");
	ck_assert_str_eq(status_member_of("role", "leader"), "\"role\":\"leader\"");
	ck_assert_str_eq(status_member_of("disk_why", "a \"quote\""),
	    "\"disk_why\":\"a \\\"quote\\\"\"");
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("utf-8");
	tcase_add_test(tc, test_utf8_validation_follows_rfc_3629);
	tcase_add_test(tc, test_surrogates_are_not_valid_utf8);
	tcase_add_test(tc, test_overlong_forms_are_not_valid_utf8);
	tcase_add_test(tc, test_code_points_above_u10ffff_are_not_valid_utf8);
	tcase_add_test(tc, test_truncated_and_stray_sequences_are_not_valid_utf8);
	tcase_add_test(tc, test_nul_and_control_bytes_are_valid_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("strings");
	tcase_add_test(tc, test_json_strings_escape_quotes_backslashes_and_controls);
	tcase_add_test(tc, test_every_control_character_is_escaped);
	tcase_add_test(tc, test_json_strings_replace_invalid_utf8_in_messages);
	tcase_add_test(tc, test_long_json_strings_are_written_whole);
	tcase_add_test(tc, test_multibyte_characters_pass_whole_across_chunks);
	suite_add_tcase(s, tc);

	tc = tcase_create("base64");
	tcase_add_test(tc, test_base64_matches_the_rfc_4648_vectors);
	tcase_add_test(tc, test_long_base64_is_written_whole);
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_test(tc, test_text_is_a_string_field_and_other_bytes_base64);
	tcase_add_test(tc, test_an_entry_is_key_revision_and_value);
	tcase_add_test(tc, test_status_counters_are_numbers_and_names_and_words_strings);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failures;

	sr = srunner_create(json_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
