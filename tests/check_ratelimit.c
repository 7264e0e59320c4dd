/*
 * check_ratelimit.c — unit tests of the log lines' rate limit
 * (daemon/ratelimit.c): a burst per source and window, sources apart, a
 * table that stays bounded, and the count of what was held back.  The
 * clock is the tests' own.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"

struct told {
	int n;
	char key[RATELIMIT_KEY];
	uint64_t count, total;
};

static void
tell(void *arg, const char *key, uint64_t count)
{
	struct told *t = arg;

	t->n++;
	snprintf(t->key, sizeof(t->key), "%s", key);
	t->count = count;
	t->total += count;
}

static int
allowed(struct ratelimit *rl, const char *key, int times, uint64_t now)
{
	int n = 0;

	for (int i = 0; i < times; i++)
		n += ratelimit_allow(rl, key, now);
	return n;
}

START_TEST(test_a_source_gets_its_burst_and_the_rest_is_counted)
{
	struct ratelimit rl;
	struct told t = { 0 };

	ratelimit_init(&rl);
	ck_assert_int_eq(allowed(&rl, "10.0.0.9", 1000, 5000), RATELIMIT_BURST);
	/* the window is not over: nothing to tell yet, one source holding */
	ck_assert_uint_eq(ratelimit_flush(&rl, 5000 + RATELIMIT_WINDOW_MS - 1, tell, &t), 1);
	ck_assert_int_eq(t.n, 0);
	ck_assert_uint_eq(ratelimit_flush(&rl, 5000 + RATELIMIT_WINDOW_MS, tell, &t), 0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_str_eq(t.key, "10.0.0.9");
	ck_assert_uint_eq(t.count, 1000 - RATELIMIT_BURST);
	/* told once */
	ck_assert_uint_eq(ratelimit_flush(&rl, 5000 + 3 * RATELIMIT_WINDOW_MS, tell, &t), 0);
	ck_assert_int_eq(t.n, 1);
}
END_TEST

START_TEST(test_a_new_window_gives_a_new_burst)
{
	struct ratelimit rl;

	ratelimit_init(&rl);
	ck_assert_int_eq(allowed(&rl, "a", 50, 0), RATELIMIT_BURST);
	ck_assert_int_eq(allowed(&rl, "a", 50, RATELIMIT_WINDOW_MS - 1), 0);
	ck_assert_int_eq(allowed(&rl, "a", 50, RATELIMIT_WINDOW_MS), RATELIMIT_BURST);
}
END_TEST

START_TEST(test_sources_are_counted_apart)
{
	struct ratelimit rl;
	struct told t = { 0 };

	ratelimit_init(&rl);
	ck_assert_int_eq(allowed(&rl, "flooder", 500, 0), RATELIMIT_BURST);
	ck_assert(ratelimit_allow(&rl, "member", 1));
	ck_assert_uint_eq(ratelimit_flush(&rl, RATELIMIT_WINDOW_MS + 1, tell, &t), 0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_str_eq(t.key, "flooder");
}
END_TEST

START_TEST(test_beyond_its_table_sources_share_one_count)
{
	struct ratelimit rl;
	struct told t = { 0 };
	char key[32];
	int n = 0;

	ratelimit_init(&rl);
	/* A flood from as many addresses as it likes: one line each at most
	 * for those the table holds, one burst for all the others. */
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "10.1.%d.%d", i / 256, i % 256);
		n += ratelimit_allow(&rl, key, 0);
	}
	ck_assert_int_eq(n, RATELIMIT_SOURCES - 1 + RATELIMIT_BURST);
	ck_assert_uint_eq(ratelimit_flush(&rl, RATELIMIT_WINDOW_MS, tell, &t), 0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_str_eq(t.key, RATELIMIT_OTHERS);
	ck_assert_uint_eq(t.count, 10000 - n);
}
END_TEST

START_TEST(test_all_sources_together_get_a_bounded_number)
{
	struct ratelimit rl;
	struct told t = { 0 };
	char key[32];
	int n = 0;

	ratelimit_init(&rl);
	/* A flood that comes back from the same few sources. */
	for (int round = 0; round < 5; round++)
		for (int i = 0; i < 20; i++) {
			snprintf(key, sizeof(key), "from 10.0.0.1:%d", 40000 + i);
			n += ratelimit_allow(&rl, key, 100);
		}
	ck_assert_int_eq(n, RATELIMIT_TOTAL);
	ck_assert_uint_eq(ratelimit_flush(&rl, 100 + RATELIMIT_WINDOW_MS, tell, &t), 0);
	ck_assert_uint_eq(t.total, 100 - RATELIMIT_TOTAL);
	/* a new window for all of them */
	ck_assert(ratelimit_allow(&rl, "from 10.0.0.1:40000", 100 + RATELIMIT_WINDOW_MS));
}
END_TEST

START_TEST(test_a_quiet_source_gives_its_place_back)
{
	struct ratelimit rl;
	char key[32];
	int n = 0;

	ratelimit_init(&rl);
	for (int i = 0; i < RATELIMIT_SOURCES - 1; i++) {
		snprintf(key, sizeof(key), "old%d", i);
		ck_assert(ratelimit_allow(&rl, key, 0));
	}
	/* Their windows over and nothing held back: new sources take their
	 * places, each told apart (not in the slot of the others). */
	for (int i = 0; i < RATELIMIT_SOURCES - 1; i++) {
		snprintf(key, sizeof(key), "new%d", i);
		n += allowed(&rl, key, 1, RATELIMIT_WINDOW_MS);
	}
	ck_assert_int_eq(n, RATELIMIT_SOURCES - 1);
	/* and the shared slot still has its burst: it was never used */
	ck_assert_int_eq(allowed(&rl, "one more", RATELIMIT_BURST, RATELIMIT_WINDOW_MS),
	    RATELIMIT_BURST);
}
END_TEST

START_TEST(test_a_long_key_is_told_apart_on_its_first_bytes)
{
	struct ratelimit rl;
	char a[200], b[200];

	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[150] = 'y'; /* past what is compared: the same source */
	ratelimit_init(&rl);
	ck_assert_int_eq(allowed(&rl, a, RATELIMIT_BURST, 0), RATELIMIT_BURST);
	ck_assert(!ratelimit_allow(&rl, b, 0));
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("windows");

	tcase_add_test(tc, test_a_source_gets_its_burst_and_the_rest_is_counted);
	tcase_add_test(tc, test_a_new_window_gives_a_new_burst);
	tcase_add_test(tc, test_sources_are_counted_apart);
	tcase_add_test(tc, test_beyond_its_table_sources_share_one_count);
	tcase_add_test(tc, test_all_sources_together_get_a_bounded_number);
	tcase_add_test(tc, test_a_quiet_source_gives_its_place_back);
	tcase_add_test(tc, test_a_long_key_is_told_apart_on_its_first_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
