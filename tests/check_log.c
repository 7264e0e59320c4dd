/*
 * check_log.c — unit tests of daemon/log: level filtering, the stderr line,
 * the exact journal field list, the choice of target, and cutting of long
 * messages.  No journald is needed: the journal fields are checked through
 * log_format_fields().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../daemon/log.h"

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define ELLIPSIS	"\xe2\x80\xa6"

static FILE *mem;
static char *membuf;
static size_t memlen;

/* Every test starts from the same state, forked or not. */
static void
setup(void)
{
	unsetenv("JOURNAL_STREAM");
	setenv("RAFTCONF_LOG_TARGET", "stderr", 1);
	log_init("raftconfd-test", LOG_DEBUG);
	unsetenv("RAFTCONF_LOG_TARGET");
	log_set_node_id(NULL);
	mem = open_memstream(&membuf, &memlen);
	ck_assert_ptr_nonnull(mem);
	log_set_stream(mem);
}

static void
teardown(void)
{
	log_set_stream(NULL);
	fclose(mem);
	free(membuf);
	membuf = NULL;
	memlen = 0;
}

static const char *
captured(void)
{
	fflush(mem);
	return membuf != NULL ? membuf : "";
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* The journal field named name, or NULL. */
static const char *
field(const struct log_record *r, const char *name)
{
	size_t i, nl = strlen(name);

	for (i = 0; i < r->n; i++) {
		const char *f = r->iov[i].iov_base;

		if (strncmp(f, name, nl) == 0 && f[nl] == '=')
			return f + nl + 1;
	}
	return NULL;
}

/* ------------------------------------------------------------ levels */

START_TEST(test_messages_below_the_level_are_dropped)
{
	const char *out;

	ck_assert_int_eq(log_set_level(LOG_NOTICE), 0);
	ck_assert_int_eq(log_get_level(), LOG_NOTICE);
	ck_assert(!log_enabled(LOG_INFO));
	ck_assert(log_enabled(LOG_NOTICE));
	log_info("hidden %d", 1);
	log_debug("hidden too");
	/* Not even formatted: formatting this would read through a bad pointer. */
	log_debug("%s", (const char *)(uintptr_t)1);
	ck_assert_str_eq(captured(), "");

	log_notice("shown %d", 2);
	log_err("shown %s", "too");
	out = captured();
	ck_assert_uint_eq(count_lines(out), 2);
	ck_assert_ptr_nonnull(strstr(out, " notice: shown 2\n"));
	ck_assert_ptr_nonnull(strstr(out, " err: shown too\n"));
}
END_TEST

START_TEST(test_set_level_refuses_levels_out_of_range)
{
	ck_assert_int_eq(log_set_level(LOG_WARNING), 0);
	ck_assert_int_eq(log_set_level(LOG_DEBUG + 1), -EINVAL);
	ck_assert_int_eq(log_set_level(-1), -EINVAL);
	ck_assert_int_eq(log_get_level(), LOG_WARNING);
}
END_TEST

/* ------------------------------------------------------------ stderr lines */

START_TEST(test_stderr_line_has_time_ident_level_message_and_fields)
{
	char *pattern;
	regex_t re;
	const char *out;

	log_info_f(LOG_FIELDS(.term = 5, .role = "leader", .index = 42, .peer = "n2"),
	    "became %s", "leader");
	out = captured();
	ck_assert_int_ge(asprintf(&pattern,
	    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
	    "raftconfd-test\\[%ld\\] info: became leader  "
	    "term=5 role=leader index=42 peer=n2\n$", (long)getpid()), 0);
	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, out, 0, NULL, 0) == 0, "line: %s", out);
	regfree(&re);
	free(pattern);
}
END_TEST

START_TEST(test_stderr_line_shows_the_given_time_in_utc)
{
	struct tm tm = { .tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 24,
		.tm_hour = 4, .tm_min = 16, .tm_sec = 57 };
	struct timespec ts = { .tv_sec = timegm(&tm), .tv_nsec = 123999999 };
	char line[LOG_MAX_LINE], *want;
	size_t n;

	n = log_format_line(line, sizeof(line), &ts, LOG_WARNING, "disk slow",
	    LOG_FIELDS(.index = 7));
	ck_assert_int_ge(asprintf(&want,
	    "2026-11-24T04:16:57.123Z raftconfd-test[%ld] warning: disk slow  index=7\n",
	    (long)getpid()), 0);
	ck_assert_str_eq(line, want);
	ck_assert_uint_eq(n, strlen(want));
	free(want);

	/* No fields, no trailing spaces. */
	log_format_line(line, sizeof(line), &ts, LOG_DEBUG, "plain", NULL);
	ck_assert_ptr_nonnull(strstr(line, " debug: plain\n"));
	log_format_line(line, sizeof(line), &ts, LOG_DEBUG, "plain", LOG_FIELDS(.term = 0));
	ck_assert_ptr_nonnull(strstr(line, " debug: plain\n"));
}
END_TEST

START_TEST(test_stderr_line_escapes_control_characters_and_quotes_values)
{
	struct timespec ts = { 0, 0 };
	char line[LOG_MAX_LINE];

	log_format_line(line, sizeof(line), &ts, LOG_INFO, "two\nlines\tand\x01 bell",
	    LOG_FIELDS(.role = "a\"b", .peer = "n 2", .extra_name = "WAL_SEGMENT",
	    .extra_value = "0001.wal"));
	ck_assert_msg(strstr(line, " info: two\\nlines\\tand\\x01 bell  "
	    "role=\"a\\\"b\" peer=\"n 2\" wal_segment=0001.wal\n") != NULL, "%s", line);
	ck_assert_uint_eq(count_lines(line), 1);
}
END_TEST

START_TEST(test_errno_survives_logging_and_percent_m_reads_it)
{
	errno = ENOENT;
	log_err("open /x: %m");
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(captured(), strerror(ENOENT)));
	errno = EBADF;
	log_debug("anything");
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ------------------------------------------------------------ journal fields */

START_TEST(test_journal_fields_are_exactly_the_expected_ones)
{
	static const char *const want[] = {
		"MESSAGE=hello",
		"PRIORITY=4",
		"SYSLOG_IDENTIFIER=raftconfd-test",
		"CODE_FILE=daemon/node.c",
		"CODE_LINE=123",
		"CODE_FUNC=node_tick",
		"NODE_ID=n1",
		"RAFT_TERM=7",
		"RAFT_ROLE=follower",
		"RAFT_INDEX=18446744073709551615",
		"PEER_ID=n3",
		"WAL_SEGMENT=0000000000000042.wal",
	};
	struct log_record r;
	size_t i;

	log_set_node_id("n1");
	ck_assert_int_eq(log_format_fields(&r, LOG_WARNING, "daemon/node.c", 123, "node_tick",
	    LOG_FIELDS(.term = 7, .role = "follower", .index = UINT64_MAX, .peer = "n3",
	    .extra_name = "WAL_SEGMENT", .extra_value = "0000000000000042.wal"), "hello"),
	    (int)(sizeof(want) / sizeof(want[0])));
	ck_assert_uint_eq(r.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < r.n; i++) {
		ck_assert_str_eq(r.iov[i].iov_base, want[i]);
		ck_assert_uint_eq(r.iov[i].iov_len, strlen(want[i]));
	}
}
END_TEST

START_TEST(test_journal_fields_leave_out_what_the_caller_does_not_know)
{
	static const char *const want[] = {
		"MESSAGE=peer lost",
		"PRIORITY=6",
		"SYSLOG_IDENTIFIER=raftconfd-test",
		"CODE_FILE=peer.c",
		"CODE_LINE=9",
		"CODE_FUNC=peer_close",
		"PEER_ID=n2",
	};
	struct log_record r;
	size_t i;

	log_format_fields(&r, LOG_INFO, "peer.c", 9, "peer_close", LOG_FIELDS(.peer = "n2"),
	    "peer lost");
	ck_assert_uint_eq(r.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < r.n; i++)
		ck_assert_str_eq(r.iov[i].iov_base, want[i]);

	ck_assert_int_eq(log_format_fields(&r, LOG_ERR, "x.c", 1, "f", NULL, "m"), 6);
	ck_assert_ptr_null(field(&r, "NODE_ID"));
	ck_assert_ptr_null(field(&r, "RAFT_TERM"));
}
END_TEST

START_TEST(test_extra_field_with_an_invalid_name_is_dropped)
{
	static const char *const bad[] = {
		"lower", "_TRUSTED", "1ABC", "A-B", "",
		"A2345678901234567890123456789012345678901234567890123456789012345",	/* 65 */
	};
	struct log_record r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		log_format_fields(&r, LOG_INFO, "f.c", 1, "f",
		    LOG_FIELDS(.extra_name = bad[i], .extra_value = "v"), "m");
		ck_assert_msg(r.n == 6, "%s: %zu fields", bad[i], r.n);
	}
	log_format_fields(&r, LOG_INFO, "f.c", 1, "f",
	    LOG_FIELDS(.extra_name = NULL, .extra_value = "v"), "m");
	ck_assert_uint_eq(r.n, 6);
	/* 64: the longest name allowed */
	log_format_fields(&r, LOG_INFO, "f.c", 1, "f", LOG_FIELDS(.extra_name =
	    "A234567890123456789012345678901234567890123456789012345678901234",
	    .extra_value = "v"), "m");
	ck_assert_uint_eq(r.n, 7);
}
END_TEST

START_TEST(test_journal_values_are_cut_with_an_ellipsis)
{
	struct log_record r;
	char big[10000];
	const char *v;
	size_t i;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_set_node_id(big);	/* cut to an id's length */
	log_format_fields(&r, LOG_INFO, big, 1, big,
	    LOG_FIELDS(.role = big, .peer = big, .extra_name = "EXTRA", .extra_value = big), big);
	/* message, priority, ident, file, line, func, node, role, peer, extra */
	ck_assert_uint_eq(r.n, 10);
	v = field(&r, "MESSAGE");
	ck_assert_uint_eq(strlen(v), LOG_MAX_MESSAGE);
	ck_assert_str_eq(v + strlen(v) - 3, ELLIPSIS);
	v = field(&r, "PEER_ID");
	ck_assert_uint_eq(strlen(v), LOG_MAX_FIELD_VALUE);
	ck_assert_str_eq(v + strlen(v) - 3, ELLIPSIS);
	ck_assert_uint_le(strlen(field(&r, "NODE_ID")), 32);
	for (i = 0; i < r.n; i++) {
		ck_assert_uint_eq(r.iov[i].iov_len, strlen(r.iov[i].iov_base));
		ck_assert((char *)r.iov[i].iov_base >= r.buf);
		ck_assert((char *)r.iov[i].iov_base + r.iov[i].iov_len < r.buf + sizeof(r.buf));
	}
}
END_TEST

/* ------------------------------------------------------------ long messages */

START_TEST(test_long_message_is_cut_with_an_ellipsis)
{
	char big[10000], *want;
	const char *out, *msg;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	out = captured();
	ck_assert_uint_eq(count_lines(out), 1);
	msg = strstr(out, " info: ");
	ck_assert_ptr_nonnull(msg);
	msg += strlen(" info: ");
	want = malloc(LOG_MAX_MESSAGE + 2);
	ck_assert_ptr_nonnull(want);
	memset(want, 'x', LOG_MAX_MESSAGE - 3);
	strcpy(want + LOG_MAX_MESSAGE - 3, ELLIPSIS "\n");
	ck_assert_str_eq(msg, want);
	free(want);
}
END_TEST

START_TEST(test_cut_never_splits_a_utf8_character)
{
	char big[6001];
	const char *out, *msg, *end;
	size_t i, n;

	for (i = 0; i + 1 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);	/* é */
	big[sizeof(big) - 1] = '\0';
	log_notice("%s", big);
	out = captured();
	msg = strstr(out, " notice: ") + strlen(" notice: ");
	end = strstr(msg, ELLIPSIS "\n");
	ck_assert_ptr_nonnull(end);
	n = (size_t)(end - msg);
	ck_assert_uint_eq(n % 2, 0);
	for (i = 0; i < n; i += 2)
		ck_assert(msg[i] == '\xc3' && msg[i + 1] == '\xa9');
}
END_TEST

START_TEST(test_line_longer_than_its_buffer_is_cut_not_overflowed)
{
	char msg[LOG_MAX_MESSAGE + 100], quotes[LOG_MAX_FIELD_VALUE + 50], small[200];
	struct timespec ts = { 0, 0 };
	const char *out;
	size_t n;

	/* Every byte escapes to four, every quote to two: past LOG_MAX_LINE. */
	memset(msg, '\x01', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	memset(quotes, '"', sizeof(quotes) - 1);
	quotes[sizeof(quotes) - 1] = '\0';
	log_warning_f(LOG_FIELDS(.role = quotes, .peer = quotes, .extra_name = "X",
	    .extra_value = quotes), "%s", msg);
	out = captured();
	n = strlen(out);
	ck_assert_uint_lt(n, LOG_MAX_LINE);
	ck_assert_uint_gt(n, LOG_MAX_LINE - 16);
	ck_assert_str_eq(out + n - 4, ELLIPSIS "\n");
	ck_assert_uint_eq(count_lines(out), 1);

	memset(small, 'Z', sizeof(small));
	n = log_format_line(small, 100, &ts, LOG_INFO, msg, NULL);
	ck_assert_uint_lt(n, 100);
	ck_assert_uint_eq(strlen(small), n);
	ck_assert_str_eq(small + n - 4, ELLIPSIS "\n");
	ck_assert(small[100] == 'Z');
}
END_TEST

/* ------------------------------------------------------------ targets */

/* Put fd on fd 2; returns the saved fd 2 for restore_stderr(). */
static int
swap_stderr(int fd)
{
	int saved;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	return saved;
}

static void
restore_stderr(int saved)
{
	dup2(saved, STDERR_FILENO);
	close(saved);
}

/* Detection as log_init() does it, with this environment. */
static enum log_target
detect(const char *journal_stream, const char *override)
{
	if (journal_stream != NULL)
		setenv("JOURNAL_STREAM", journal_stream, 1);
	else
		unsetenv("JOURNAL_STREAM");
	if (override != NULL)
		setenv("RAFTCONF_LOG_TARGET", override, 1);
	else
		unsetenv("RAFTCONF_LOG_TARGET");
	log_init("raftconfd-test", LOG_INFO);
	unsetenv("JOURNAL_STREAM");
	unsetenv("RAFTCONF_LOG_TARGET");
	return log_get_target();
}

START_TEST(test_journal_stream_naming_stderr_selects_the_journal)
{
	char path[] = "/tmp/check_log.XXXXXX", same[64], other[64];
	enum log_target t_same, t_other, t_forced, t_none;
	struct stat st;
	int fd, saved;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	snprintf(same, sizeof(same), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	snprintf(other, sizeof(other), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino + 1);

	/* Assert only after fd 2 is back, so a failure cannot leave it swapped. */
	saved = swap_stderr(fd);
	t_same = detect(same, NULL);
	t_other = detect(other, NULL);
	t_forced = detect(same, "stderr");
	t_none = detect(NULL, NULL);
	restore_stderr(saved);
	close(fd);
	unlink(path);

	ck_assert_int_eq(t_same, LOG_TARGET_JOURNAL);
	ck_assert_int_eq(t_other, LOG_TARGET_STDERR);
	ck_assert_int_eq(t_forced, LOG_TARGET_STDERR);
	ck_assert_int_eq(t_none, LOG_TARGET_STDERR);
}
END_TEST

START_TEST(test_malformed_journal_stream_is_ignored)
{
	static const char *const bad[] = { "", "abc", "1:", ":1", "1:2x", "-1:2", "1:2:3",
		"99999999999999999999999:1" };
	char path[] = "/tmp/check_log.XXXXXX";
	enum log_target t[sizeof(bad) / sizeof(bad[0])];
	int fd, saved;
	size_t i;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	saved = swap_stderr(fd);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		t[i] = detect(bad[i], NULL);
	restore_stderr(saved);
	close(fd);
	unlink(path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(t[i] == LOG_TARGET_STDERR, "JOURNAL_STREAM=%s", bad[i]);
}
END_TEST

START_TEST(test_override_forces_the_journal)
{
	ck_assert_int_eq(detect(NULL, "journal"), LOG_TARGET_JOURNAL);
	ck_assert_int_eq(detect(NULL, "stderr"), LOG_TARGET_STDERR);
}
END_TEST

START_TEST(test_bad_override_is_reported_and_detection_used)
{
	char path[] = "/tmp/check_log.XXXXXX";
	enum log_target t;
	char text[512] = "";
	ssize_t n;
	int fd, saved;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	saved = swap_stderr(fd);
	log_set_stream(NULL);	/* the warning goes to fd 2, which is the file */
	t = detect(NULL, "syslog");
	restore_stderr(saved);
	log_set_stream(mem);
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(path);
	ck_assert_int_eq(t, LOG_TARGET_STDERR);
	ck_assert_int_gt(n, 0);
	ck_assert_msg(strstr(text, "warning: RAFTCONF_LOG_TARGET=\"syslog\" is neither") != NULL,
	    "%s", text);
}
END_TEST

START_TEST(test_stderr_on_dev_null_uses_journald_when_its_socket_exists)
{
	enum log_target want, got;
	int fd, saved;

	want = access(JOURNAL_SOCKET, F_OK) == 0 ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	fd = open("/dev/null", O_WRONLY);
	ck_assert_int_ge(fd, 0);
	saved = swap_stderr(fd);
	got = detect(NULL, NULL);
	restore_stderr(saved);
	close(fd);
	ck_assert_int_eq(got, want);
}
END_TEST

START_TEST(test_level_names_are_syslog_names)
{
	ck_assert_str_eq(log_level_name(LOG_ERR), "err");
	ck_assert_str_eq(log_level_name(LOG_WARNING), "warning");
	ck_assert_str_eq(log_level_name(LOG_NOTICE), "notice");
	ck_assert_str_eq(log_level_name(LOG_INFO), "info");
	ck_assert_str_eq(log_level_name(LOG_DEBUG), "debug");
	ck_assert_str_eq(log_level_name(LOG_DEBUG + 1), "?");
	ck_assert_str_eq(log_level_name(-1), "?");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc;

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_messages_below_the_level_are_dropped);
	tcase_add_test(tc, test_set_level_refuses_levels_out_of_range);
	tcase_add_test(tc, test_stderr_line_has_time_ident_level_message_and_fields);
	tcase_add_test(tc, test_stderr_line_shows_the_given_time_in_utc);
	tcase_add_test(tc, test_stderr_line_escapes_control_characters_and_quotes_values);
	tcase_add_test(tc, test_errno_survives_logging_and_percent_m_reads_it);
	tcase_add_test(tc, test_journal_fields_are_exactly_the_expected_ones);
	tcase_add_test(tc, test_journal_fields_leave_out_what_the_caller_does_not_know);
	tcase_add_test(tc, test_extra_field_with_an_invalid_name_is_dropped);
	tcase_add_test(tc, test_journal_values_are_cut_with_an_ellipsis);
	tcase_add_test(tc, test_long_message_is_cut_with_an_ellipsis);
	tcase_add_test(tc, test_cut_never_splits_a_utf8_character);
	tcase_add_test(tc, test_line_longer_than_its_buffer_is_cut_not_overflowed);
	tcase_add_test(tc, test_level_names_are_syslog_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("target");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_journal_stream_naming_stderr_selects_the_journal);
	tcase_add_test(tc, test_malformed_journal_stream_is_ignored);
	tcase_add_test(tc, test_override_forces_the_journal);
	tcase_add_test(tc, test_bad_override_is_reported_and_detection_used);
	tcase_add_test(tc, test_stderr_on_dev_null_uses_journald_when_its_socket_exists);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
