/*
 * check_wal_sync.c — group commit and the sync thread: a batch of appends
 * costs one fdatasync, a sync runs on its thread while appends go on,
 * segments are preallocated so that a sync does not grow them, a failed
 * sync is never counted done, and a page lost from a buffer written before
 * its sync reads back as a torn write.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal.h"
#include "check_wal.h"

/* ------------------------------------------------------------ group commit */

START_TEST(test_a_batch_of_appends_costs_exactly_one_fdatasync)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	struct wal_hardstate hs = { .term = 1, .vote = 1, .commit = 0 };
	uint64_t syncs;
	char data[100];

	wal_recovered_free(&rec);
	memset(data, 'x', sizeof(data));
	n_fdatasync = n_fsync = 0;
	syncs = wal_stats(w)->syncs;
	for (uint64_t i = 1; i <= 500; i += 10) {
		struct wal_entry e[10];

		for (int k = 0; k < 10; k++) {
			e[k].index = i + (uint64_t)k;
			e[k].term = 1;
			e[k].type = 0;
			e[k].len = sizeof(data);
			e[k].data = (uint8_t *)data;
		}
		ck_assert_int_eq(wal_append(w, e, 10), 0);
		hs.commit = i;
		ck_assert_int_eq(wal_set_hardstate(w, &hs), 0);
	}
	/* appending never syncs */
	ck_assert_int_eq(n_fdatasync, 0);
	ck_assert_int_eq(n_fsync, 0);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_int_eq(n_fdatasync, 1);
	ck_assert_int_eq(n_fsync, 0);
	ck_assert_uint_eq(wal_stats(w)->syncs, syncs + 1);
	ck_assert_uint_eq(wal_stats(w)->entries, 500);
	/* nothing new: no sync at all */
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_int_eq(n_fdatasync, 1);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.nentries, 500);
	ck_assert_uint_eq(rec.hs.commit, 491);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

/* ------------------------------------------------------------ the sync thread */

/* Wait (5 s at most) for the sync that is out and collect it. */
static void
collect_one(struct wal *w)
{
	struct pollfd pfd = { .fd = wal_sync_fd(w), .events = POLLIN };
	int r = 0;

	for (int i = 0; i < 50 && r == 0; i++) {
		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
		r = wal_sync_collect(w);
	}
	ck_assert_int_eq(r, 1);
}

/* How many records the current (only) segment holds. */
static int
records_on_disk(void)
{
	char names[4][64];
	size_t size, end, offs[64];
	uint8_t *b;
	int n;

	ck_assert_int_eq(list_segs(names, 4), 1);
	b = read_file(names[0], &size);
	n = record_offsets(b, size, offs, 64, &end);
	free(b);
	return n;
}

START_TEST(test_a_sync_runs_on_its_thread_while_appends_go_on)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	struct wal_entry e[3];
	char data[3][64];
	uint64_t first;

	wal_recovered_free(&rec);
	for (uint64_t i = 1; i <= 6; i++) {
		size_t k = (i - 1) % 3;

		entry_data(data[k], sizeof(data[k]), i, 1);
		e[k] = (struct wal_entry){ .index = i, .term = 1, .type = (uint8_t)(i % 3),
			.len = (uint32_t)strlen(data[k]), .data = (uint8_t *)data[k] };
		if (k < 2)
			continue;
		ck_assert_int_eq(wal_append(w, e, 3), 0);
		if (i == 3) {
			/* entries 1..3 go to the thread */
			first = wal_sync_next(w);
			ck_assert_int_eq(wal_sync_start(w), 0);
			ck_assert(wal_sync_busy(w));
			ck_assert_int_eq(wal_sync_start(w), -EBUSY);
		}
	}
	/* 4..6 were appended while the sync was out: they wait for the next */
	collect_one(w);
	ck_assert(!wal_sync_busy(w));
	ck_assert_uint_eq(wal_sync_done(w), first);
	ck_assert_int_eq(records_on_disk(), 2 + 3);
	ck_assert_uint_eq(wal_sync_next(w), first + 1);
	ck_assert_int_eq(wal_sync_start(w), 0);
	collect_one(w);
	ck_assert_uint_eq(wal_sync_done(w), first + 1);
	ck_assert_int_eq(records_on_disk(), 2 + 6);
	/* nothing appended: done at once, no thread involved */
	ck_assert_int_eq(wal_sync_start(w), 0);
	ck_assert(!wal_sync_busy(w));
	ck_assert_uint_eq(wal_sync_done(w), first + 2);
	ck_assert_int_eq(wal_sync_collect(w), 0);
	wal_close(w);
	w = open_ok(&rec);
	check_log(&rec, 1, 6, term_one);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

/*
 * A sync whose write fails (here: RLIMIT_FSIZE makes every write past byte 1
 * fail with EFBIG) is not counted done, so that nothing waiting for it is
 * released; its error stays, and wal_strerror names the operation and the
 * segment.
 */
START_TEST(test_a_failed_sync_is_never_counted_done_and_names_its_file)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	struct pollfd pfd;
	struct rlimit old, tiny;
	struct wal_entry e;
	char data[64], why[512];
	uint64_t before;
	int r = 0;

	wal_recovered_free(&rec);
	entry_data(data, sizeof(data), 1, 1);
	e = (struct wal_entry){ .index = 1, .term = 1, .len = (uint32_t)strlen(data),
		.data = (uint8_t *)data };
	ck_assert_int_eq(wal_append(w, &e, 1), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	tiny = (struct rlimit){ 1, old.rlim_max };
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &tiny), 0);
	before = wal_sync_done(w);
	ck_assert_int_eq(wal_sync_start(w), 0);
	pfd = (struct pollfd){ .fd = wal_sync_fd(w), .events = POLLIN };
	for (int i = 0; i < 50 && r == 0; i++) {
		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
		r = wal_sync_collect(w);
	}
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(r, -EFBIG);
	ck_assert_uint_eq(wal_sync_done(w), before);
	ck_assert(!wal_sync_busy(w));
	/* sticky: nothing more is taken */
	ck_assert_int_eq(wal_sync_start(w), -EFBIG);
	ck_assert_int_eq(wal_sync(w), -EFBIG);
	ck_assert_uint_eq(wal_sync_done(w), before);
	wal_strerror(w, why, sizeof(why));
	ck_assert_msg(strncmp(why, "write of ", 9) == 0 && strstr(why, waldir) != NULL,
	    "wal_strerror: \"%s\"", why);
	wal_close(w);
}
END_TEST

/*
 * More than the append buffer holds before one sync: the full buffer is
 * written early, and the sync that follows writes the rest and the hard
 * state.  A power cut during that fdatasync may lose any of its pages, the
 * early ones too; that is an unfinished sync, cut off at start, not damage
 * (the early write used to get a mark of its own, and the later mark after
 * the lost page made the node refuse to start).
 */
START_TEST(test_a_page_lost_from_a_buffer_written_before_its_sync_is_a_torn_write)
{
	static uint8_t big[4096];
	struct wal_hardstate hs = { 3, 1, 0 };
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	struct wal_entry e[10];
	char names[4][64];
	size_t size, end, offs[512];
	uint8_t *b;
	int n;

	wal_recovered_free(&rec);
	wal_set_segment_bytes(w, 4 * 1024 * 1024); /* one segment for all of it */
	append_range(w, 1, 5, 1, 5);
	memset(big, 'x', sizeof(big));
	for (uint64_t i = 6; i <= 305; i += 10) {
		for (uint64_t k = 0; k < 10; k++)
			e[k] = (struct wal_entry){ .index = i + k, .term = 1, .type = 0,
				.len = sizeof(big), .data = big };
		ck_assert_int_eq(wal_append(w, e, 10), 0);
	}
	ck_assert_int_eq(wal_set_hardstate(w, &hs), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	wal_close(w);
	ck_assert_int_eq(list_segs(names, 4), 1);
	b = read_file(names[0], &size);
	n = record_offsets(b, size, offs, 512, &end);
	ck_assert_int_ge(n, 2 + 305);
	/* a page of the early write lost: entry 100's record zeroed */
	memset(b + offs[2 + 99], 0, offs[2 + 100] - offs[2 + 99]);
	write_file(names[0], b, size);
	w = open_ok(&rec);
	ck_assert(rec.truncated_tail);
	ck_assert_uint_eq(rec.snap_index + rec.nentries, 99);
	ck_assert_uint_eq(rec.entries[0].index, 1);
	ck_assert_uint_eq(rec.entries[98].len, sizeof(big));
	wal_recovered_free(&rec);
	wal_close(w);
	free(b);
}
END_TEST

START_TEST(test_segments_are_preallocated_and_a_sync_does_not_grow_them)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	char names[64][64], path[512];
	struct stat st;
	int nsegs, i;

	wal_recovered_free(&rec);
	nsegs = list_segs(names, 64);
	ck_assert_int_eq(nsegs, 1);
	ck_assert_uint_eq(file_size(names[0]), WAL_SEGMENT_BYTES);
	append_range(w, 1, 20, 1, 4);
	ck_assert_uint_eq(file_size(names[0]), WAL_SEGMENT_BYTES);

	/* Small segments: every one is made at the new size; the spare for
	 * the next appears without anybody waiting for it. */
	wal_set_segment_bytes(w, 4096);
	append_range(w, 21, 400, 1, 16);
	nsegs = list_segs(names, 64);
	ck_assert_int_ge(nsegs, 3);
	for (i = 1; i < nsegs; i++)
		ck_assert_uint_ge(file_size(names[i]), 4096);
	snprintf(path, sizeof(path), "%s/prealloc.tmp", waldir);
	for (i = 0; i < 500; i++) {
		if (stat(path, &st) == 0 && st.st_size == 4096)
			break;
		usleep(10 * 1000);
	}
	ck_assert_msg(i < 500, "no spare segment of 4096 bytes after 5 s");
	wal_close(w);
	/* a spare left behind is removed at open, and the log is whole */
	w = open_ok(&rec);
	check_log(&rec, 1, 400, term_one);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

void
wal_sync_tests(TCase *tc)
{
	tcase_add_test(tc, test_a_batch_of_appends_costs_exactly_one_fdatasync);
	tcase_add_test(tc, test_a_sync_runs_on_its_thread_while_appends_go_on);
	tcase_add_test(tc, test_segments_are_preallocated_and_a_sync_does_not_grow_them);
	tcase_add_test(tc, test_a_failed_sync_is_never_counted_done_and_names_its_file);
	tcase_add_test(tc, test_a_page_lost_from_a_buffer_written_before_its_sync_is_a_torn_write);
}
