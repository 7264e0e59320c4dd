/*
 * check_lag.c — a member's lag behind the leader in time (daemon/lag.c):
 * the age of the oldest entry it lacks, the warning's episodes, the
 * histogram's buckets.
 */
#include <check.h>
#include <stdlib.h>

#include "lag.h"

static struct lag_ring ring;

START_TEST(test_a_member_with_the_last_entry_lags_nothing)
{
	lag_reset(&ring);
	lag_note(&ring, 10, 1000);
	lag_note(&ring, 20, 2000);
	ck_assert_uint_eq(lag_ms(&ring, 20, 20, 5000), 0);
	ck_assert_uint_eq(lag_ms(&ring, 25, 20, 5000), 0);
}
END_TEST

START_TEST(test_the_lag_is_the_age_of_the_oldest_entry_missing)
{
	lag_reset(&ring);
	lag_note(&ring, 10, 1000);
	lag_note(&ring, 20, 2000);
	lag_note(&ring, 30, 3000);
	/* it has 15: entry 16 was there by the sample of 2000 */
	ck_assert_uint_eq(lag_ms(&ring, 15, 30, 3500), 1500);
	/* it has 20: entry 21 came by 3000 */
	ck_assert_uint_eq(lag_ms(&ring, 20, 30, 3500), 500);
	/* it has only 5: the oldest sample is the best bound kept */
	ck_assert_uint_eq(lag_ms(&ring, 5, 30, 3500), 2500);
}
END_TEST

START_TEST(test_an_idle_log_then_a_burst_does_not_count_the_idle_time)
{
	lag_reset(&ring);
	lag_note(&ring, 100, 0);
	lag_note(&ring, 100, 30000); /* no growth: no sample */
	lag_note(&ring, 200, 60000);
	ck_assert_uint_eq(lag_ms(&ring, 150, 200, 60010), 10);
	ck_assert_uint_eq(lag_ms(&ring, 100, 200, 60010), 10);
}
END_TEST

START_TEST(test_a_full_ring_keeps_the_newest_samples)
{
	lag_reset(&ring);
	for (uint64_t i = 1; i <= 3 * LAG_SAMPLES; i++)
		lag_note(&ring, i, i * 10);
	ck_assert_uint_eq(ring.n, LAG_SAMPLES);
	/* the oldest kept is index 2 * LAG_SAMPLES + 1 */
	ck_assert_uint_eq(lag_ms(&ring, 0, 3 * LAG_SAMPLES, 3 * LAG_SAMPLES * 10),
	    (LAG_SAMPLES - 1) * 10);
	ck_assert_uint_eq(lag_ms(&ring, 3 * LAG_SAMPLES - 1, 3 * LAG_SAMPLES,
	    3 * LAG_SAMPLES * 10), 0);
}
END_TEST

/* The leader notes each batch, so a lag shorter than its 50 ms tick shows;
 * samples closer than LAG_NOTE_GAP_MS are not kept. */
START_TEST(test_samples_are_kept_at_least_the_gap_apart)
{
	lag_reset(&ring);
	lag_note(&ring, 10, 1000);
	lag_note(&ring, 20, 1000 + LAG_NOTE_GAP_MS - 1); /* too soon: not kept */
	ck_assert_uint_eq(ring.n, 1);
	lag_note(&ring, 20, 1000 + LAG_NOTE_GAP_MS);
	ck_assert_uint_eq(ring.n, 2);
	/* match 10 lacks 11..20, there since 1000 + gap: 20 ms later, 20 ms */
	ck_assert_uint_eq(lag_ms(&ring, 10, 20, 1000 + LAG_NOTE_GAP_MS + 20), 20);
}
END_TEST

START_TEST(test_an_episode_is_told_once_when_it_starts_and_once_when_it_ends)
{
	bool behind = false;

	ck_assert_int_eq(lag_episode(&behind, 900, 1000), LAG_SAME);
	ck_assert_int_eq(lag_episode(&behind, 1001, 1000), LAG_STARTED);
	ck_assert(behind);
	ck_assert_int_eq(lag_episode(&behind, 5000, 1000), LAG_SAME);
	/* hovering near the threshold is still the same episode */
	ck_assert_int_eq(lag_episode(&behind, 900, 1000), LAG_SAME);
	ck_assert_int_eq(lag_episode(&behind, 1100, 1000), LAG_SAME);
	ck_assert_int_eq(lag_episode(&behind, 499, 1000), LAG_ENDED);
	ck_assert(!behind);
	ck_assert_int_eq(lag_episode(&behind, 0, 1000), LAG_SAME);
}
END_TEST

START_TEST(test_a_lag_falls_in_the_first_bucket_that_holds_it)
{
	ck_assert_uint_eq(lag_bucket(0), 0);
	ck_assert_uint_eq(lag_bucket(10), 0);
	ck_assert_uint_eq(lag_bucket(11), 1);
	ck_assert_uint_eq(lag_bucket(1000), 6);
	ck_assert_uint_eq(lag_bucket(1001), 7);
	ck_assert_uint_eq(lag_bucket(10000), LAG_N_BUCKETS - 1);
	ck_assert_uint_eq(lag_bucket(10001), LAG_N_BUCKETS);
}
END_TEST

static Suite *
lag_suite(void)
{
	Suite *s = suite_create("lag");
	TCase *tc = tcase_create("lag");

	tcase_add_test(tc, test_a_member_with_the_last_entry_lags_nothing);
	tcase_add_test(tc, test_the_lag_is_the_age_of_the_oldest_entry_missing);
	tcase_add_test(tc, test_an_idle_log_then_a_burst_does_not_count_the_idle_time);
	tcase_add_test(tc, test_a_full_ring_keeps_the_newest_samples);
	tcase_add_test(tc, test_samples_are_kept_at_least_the_gap_apart);
	tcase_add_test(tc, test_an_episode_is_told_once_when_it_starts_and_once_when_it_ends);
	tcase_add_test(tc, test_a_lag_falls_in_the_first_bucket_that_holds_it);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lag_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
