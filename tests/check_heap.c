/*
 * check_heap.c — giving freed heap back to the kernel (daemon/heap.c):
 * when a trim is due, and that one gives a fragmented heap's free pages
 * back (glibc's allocator; under a sanitizer's, nothing is ever due).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

START_TEST(test_a_trim_is_due_past_the_free_bytes_and_the_interval)
{
	ck_assert(!heap_trim_due(HEAP_TRIM_FREE_BYTES, 5000, 0));
	ck_assert(heap_trim_due(HEAP_TRIM_FREE_BYTES + 1, 5000, 0));
	ck_assert(!heap_trim_due(64u << 20, 5000 + HEAP_TRIM_EVERY_MS - 1, 5000));
	ck_assert(heap_trim_due(64u << 20, 5000 + HEAP_TRIM_EVERY_MS, 5000));
	ck_assert(!heap_trim_due(0, 5000 + HEAP_TRIM_EVERY_MS, 5000));
}
END_TEST

/* This process's anonymous resident memory, in KiB (-1: unknown). */
static long
rss_anon_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

#define BLOCKS 8192 /* of 4 KiB: 32 MiB, below the mmap threshold each */

START_TEST(test_a_fragmented_heap_gives_its_free_pages_back)
{
	static char *block[BLOCKS];
	struct heap_trim h = { 0 };
	long before, after;

	for (size_t i = 0; i < BLOCKS; i++) {
		block[i] = malloc(4096);
		ck_assert_ptr_nonnull(block[i]);
		memset(block[i], 0x5a, 4096); /* resident */
	}
	/* every 64th kept, the last one too: the free pages lie inside the heap,
	 * where glibc's own trimming of its top does not reach */
	for (size_t i = 0; i < BLOCKS; i++)
		if (i % 64 != 0 && i != BLOCKS - 1) {
			free(block[i]);
			block[i] = NULL;
		}
	before = rss_anon_kib();
	if (heap_free_bytes() == 0) {
		/* a sanitizer's allocator, or not glibc: never due, never trims */
		ck_assert(!heap_trim_tick(&h, 1));
		ck_assert_uint_eq(h.trims, 0);
	} else {
		ck_assert_uint_gt(heap_free_bytes(), HEAP_TRIM_FREE_BYTES);
		ck_assert(heap_trim_tick(&h, 1));
		ck_assert_uint_eq(h.trims, 1);
		ck_assert_uint_gt(h.freed_bytes, HEAP_TRIM_FREE_BYTES);
		after = rss_anon_kib();
		ck_assert_int_ge(before, 0);
		/* nearly 32 MiB were free; at least 16 MiB of it given back */
		ck_assert_msg(before - after >= 16 * 1024, "RssAnon %ld -> %ld kB", before, after);
		/* not again before the interval, however much lies free */
		for (size_t i = 0; i < BLOCKS; i++)
			if (i % 64 == 0 && i != BLOCKS - 1) {
				free(block[i]);
				block[i] = NULL;
			}
		ck_assert(!heap_trim_tick(&h, 1 + HEAP_TRIM_EVERY_MS - 1));
		ck_assert(heap_trim_tick(&h, 1 + HEAP_TRIM_EVERY_MS));
		ck_assert_uint_eq(h.trims, 2);
	}
	for (size_t i = 0; i < BLOCKS; i++)
		free(block[i]);
}
END_TEST

START_TEST(test_the_free_bytes_are_counted_at_most_once_a_second)
{
	struct heap_trim h = { 0 };

	/* nothing much free: no trim, but the count is noted */
	if (heap_free_bytes() > HEAP_TRIM_FREE_BYTES)
		return; /* the heap of an earlier test: the count would trim */
	ck_assert(!heap_trim_tick(&h, 100));
	ck_assert_uint_eq(h.checked_ms, 100);
	ck_assert(!heap_trim_tick(&h, 100 + HEAP_CHECK_EVERY_MS - 1));
	ck_assert_uint_eq(h.checked_ms, 100);
	ck_assert(!heap_trim_tick(&h, 100 + HEAP_CHECK_EVERY_MS));
	ck_assert_uint_eq(h.checked_ms, 100 + HEAP_CHECK_EVERY_MS);
}
END_TEST

static Suite *
heap_suite(void)
{
	Suite *s = suite_create("heap");
	TCase *tc = tcase_create("heap");

	tcase_add_test(tc, test_a_trim_is_due_past_the_free_bytes_and_the_interval);
	tcase_add_test(tc, test_a_fragmented_heap_gives_its_free_pages_back);
	tcase_add_test(tc, test_the_free_bytes_are_counted_at_most_once_a_second);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(heap_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
