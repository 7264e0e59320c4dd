/*
 * check_history.c — unit tests for the store's history of changes (the
 * "h:" records behind watch --from-rev): what an entry records, the window
 * in revisions and in bytes, and that the history survives a reopen, a
 * cancelled batch and a snapshot.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snap.h"
#include "store.h"

#define FIXTURE_NAME "check_history"
#include "store_fixture.h"

/* The history after `after`, as "rev:PUT key=value;rev:DEL key;..." */
struct seen {
	char s[8192];
	size_t len;
	int revisions;
	int stop_after; /* 0: never */
};

static int
seen_cb(void *arg, uint64_t revision, struct store_events *it)
{
	struct seen *w = arg;
	struct store_event ev;
	int r;

	while ((r = store_events_next(it, &ev)) == 1) {
		int n = snprintf(w->s + w->len, sizeof(w->s) - w->len, "%" PRIu64 ":%s %.*s%s%.*s;",
		    revision, ev.kind == STORE_EV_PUT ? "PUT" : "DEL", (int)ev.klen, ev.key,
		    ev.kind == STORE_EV_PUT ? "=" : "", (int)ev.vlen, (const char *)ev.val);

		ck_assert_int_gt(n, 0);
		w->len += (size_t)n;
		ck_assert_uint_lt(w->len, sizeof(w->s));
	}
	ck_assert_int_eq(r, 0);
	w->revisions++;
	return w->stop_after && w->revisions == w->stop_after ? 9 : 0;
}

static const char *
history(struct store *s, uint64_t after)
{
	static struct seen w;

	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_history(s, after, UINT64_MAX, seen_cb, &w), 0);
	return w.s;
}

static struct store_result
txn(struct store *s, uint64_t index)
{
	static uint8_t buf[1024];
	struct store_txn_op ops[] = {
		{ STORE_TXN_SET, "/t/a", 4, (const uint8_t *)"A", 1 },
		{ STORE_TXN_DEL, "/t/gone", 7, NULL, 0 }, /* not there: no event */
		{ STORE_TXN_GET, "/t/a", 4, NULL, 0 },	  /* a read: no event */
		{ STORE_TXN_SET, "/t/b", 4, (const uint8_t *)"B", 1 },
		{ STORE_TXN_DEL, "/x", 2, NULL, 0 },
	};
	struct store_result res;
	ssize_t n = store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, NULL, 0, ops, 5, NULL, 0);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

START_TEST(test_every_change_is_recorded_with_its_revision_and_nothing_else)
{
	struct store *s = open_ok(dbpath);
	uint8_t cmd[256];
	struct store_result res;
	ssize_t n;

	ck_assert_uint_eq(store_history_floor(s), 0);
	set(s, 1, 1, 1, "/x", "1", 1);
	ck_assert_int_eq(store_set_applied(s, 2, 1), 0); /* no-op, membership: nothing */
	set(s, 3, 1, 2, "/y", "two", 3);
	del(s, 4, 0, 0, "/nothing"); /* not found: nothing */
	/* a failed SET_IF changes nothing and records nothing */
	n = store_cmd_encode_set_if(cmd, sizeof(cmd), 0, 0, "/x", 2, "no", 2, 99);
	ck_assert_int_eq(store_apply(s, 5, 1, cmd, (size_t)n, &res), 0);
	ck_assert_int_eq(res.status, STORE_FAILED);
	txn(s, 6);
	/* a retry of client 1's seq 2: a duplicate, no second event */
	ck_assert(set(s, 7, 1, 2, "/y", "two", 3).duplicate);
	del(s, 8, 0, 0, "/y");

	ck_assert_str_eq(history(s, 0), "1:PUT /x=1;3:PUT /y=two;6:PUT /t/a=A;6:PUT /t/b=B;"
					"6:DEL /x;8:DEL /y;");
	ck_assert_str_eq(history(s, 3), "6:PUT /t/a=A;6:PUT /t/b=B;6:DEL /x;8:DEL /y;");
	ck_assert_str_eq(history(s, 8), "");
	ck_assert_str_eq(history(s, 100), ""); /* ahead of the store: nothing yet */
	store_close(s);
}
END_TEST

START_TEST(test_a_callback_or_a_bound_stops_the_walk)
{
	struct store *s = open_ok(dbpath);
	struct seen w = { .stop_after = 2 };

	for (uint64_t i = 1; i <= 5; i++)
		set(s, i, 0, 0, "/k", "v", 1);
	ck_assert_int_eq(store_history(s, 0, UINT64_MAX, seen_cb, &w), 9);
	ck_assert_str_eq(w.s, "1:PUT /k=v;2:PUT /k=v;");
	/* and an upper bound ends it */
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_history(s, 1, 3, seen_cb, &w), 0);
	ck_assert_str_eq(w.s, "2:PUT /k=v;3:PUT /k=v;");
	store_close(s);
}
END_TEST

/* The records of the store whose key starts with "h:" and a hex digit. */
static int
count_hist(void *arg, const struct store_record *rec)
{
	if (rec->klen == 18 && rec->key[0] == 'h')
		(*(int *)arg)++;
	return 0;
}

static int
hist_records(struct store *s)
{
	int n = 0;

	ck_assert_int_eq(store_export(s, count_hist, &n), 0);
	return n;
}

START_TEST(test_the_window_keeps_so_many_revisions)
{
	struct store *s = open_ok(dbpath);
	struct seen w = { 0 };

	store_set_history(s, 3, UINT64_MAX);
	for (uint64_t i = 1; i <= 10; i++)
		set(s, i, 0, 0, "/k", "v", 1);
	ck_assert_uint_eq(store_history_floor(s), 7);
	ck_assert_int_eq(hist_records(s), 3);
	ck_assert_int_eq(store_history(s, 6, UINT64_MAX, seen_cb, &w), -ERANGE);
	ck_assert_str_eq(history(s, 7), "8:PUT /k=v;9:PUT /k=v;10:PUT /k=v;");
	/* entries that change no key move the window too, for reads */
	ck_assert_int_eq(store_set_applied(s, 11, 1), 0);
	ck_assert_int_eq(store_set_applied(s, 12, 1), 0);
	ck_assert_uint_eq(store_history_floor(s), 9);
	ck_assert_str_eq(history(s, 9), "10:PUT /k=v;");
	store_close(s);
}
END_TEST

START_TEST(test_the_window_keeps_so_many_bytes_and_always_the_newest)
{
	struct store *s = open_ok(dbpath);
	char big[1000];
	uint64_t bytes;

	memset(big, 'b', sizeof(big));
	store_set_history(s, UINT64_MAX, 2500);
	for (uint64_t i = 1; i <= 6; i++) {
		set(s, i, 0, 0, "/big", big, sizeof(big));
		ck_assert_uint_le(store_history_bytes(s), 2500);
	}
	bytes = store_history_bytes(s);
	ck_assert_uint_eq(store_history_floor(s), 4); /* two of ~1010 bytes fit */
	ck_assert_int_eq(hist_records(s), 2);
	/* one change bigger than the window: it alone stays */
	store_set_history(s, UINT64_MAX, 500);
	set(s, 7, 0, 0, "/big", big, sizeof(big));
	ck_assert_uint_eq(store_history_floor(s), 6);
	ck_assert_int_eq(hist_records(s), 1);
	ck_assert_uint_lt(store_history_bytes(s), bytes);
	store_close(s);
}
END_TEST

START_TEST(test_the_history_survives_a_reopen_and_a_cancelled_batch_leaves_none)
{
	struct store *s = open_ok(dbpath);

	store_set_history(s, 2, UINT64_MAX);
	for (uint64_t i = 1; i <= 4; i++)
		set(s, i, 0, 0, "/k", "v", 1);
	store_close(s);
	s = open_ok(dbpath);
	store_set_history(s, 2, UINT64_MAX);
	ck_assert_uint_eq(store_history_floor(s), 2);
	ck_assert_str_eq(history(s, 2), "3:PUT /k=v;4:PUT /k=v;");
	ck_assert_int_eq(store_begin(s), 0);
	set(s, 5, 0, 0, "/k", "w", 1);
	set(s, 6, 0, 0, "/k", "w", 1);
	ck_assert_str_eq(history(s, 4), "5:PUT /k=w;6:PUT /k=w;"); /* the batch sees itself */
	store_cancel(s);
	ck_assert_uint_eq(store_history_floor(s), 2);
	ck_assert_str_eq(history(s, 2), "3:PUT /k=v;4:PUT /k=v;");
	ck_assert_int_eq(hist_records(s), 2);
	store_close(s);
}
END_TEST

START_TEST(test_a_snapshot_carries_the_history_and_a_damaged_record_is_refused)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct store_record bad;
	char err[512] = "";

	store_set_history(s, 3, UINT64_MAX);
	for (uint64_t i = 1; i <= 5; i++)
		set(s, i, 0, 0, i % 2 ? "/odd" : "/even", "v", 1);
	del(s, 6, 0, 0, "/odd");
	ck_assert_int_eq(snap_write(s, snappath, 6, 1, NULL, 0, err, sizeof(err)), 0);
	ck_assert_msg(snap_restore(s2, snappath, err, sizeof(err)) == 0, "%s", err);
	store_set_history(s2, 3, UINT64_MAX);
	ck_assert_uint_eq(store_history_floor(s2), 3);
	ck_assert_str_eq(history(s2, 3), "4:PUT /even=v;5:PUT /odd=v;6:DEL /odd;");

	/* what the store could not have written */
	bad = (struct store_record){ (const uint8_t *)"h:0000000000000007", 18,
		(const uint8_t *)"\x02\x02\x00\x01\x00\x00\x00/xv", 10 }; /* DEL with a value */
	ck_assert(!store_record_ok(&bad));
	bad.val = (const uint8_t *)"\x01\x02\x00\x05\x00\x00\x00/xv", bad.vlen = 10; /* short */
	ck_assert(!store_record_ok(&bad));
	bad.val = (const uint8_t *)"\x01\x02\x00\x01\x00\x00\x00/xv", bad.vlen = 10;
	ck_assert(store_record_ok(&bad));
	bad.key = (const uint8_t *)"h:000000000000000A", bad.klen = 18; /* upper case */
	ck_assert(!store_record_ok(&bad));
	bad.key = (const uint8_t *)"h:0000000000000000", bad.klen = 18; /* revision 0 */
	ck_assert(!store_record_ok(&bad));
	bad.key = (const uint8_t *)"h:floor", bad.klen = 7;
	ck_assert(!store_record_ok(&bad)); /* 16 bytes, not 10 */
	store_close(s2);
	store_close(s);
}
END_TEST

static Suite *
history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("history");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_every_change_is_recorded_with_its_revision_and_nothing_else);
	tcase_add_test(tc, test_a_callback_or_a_bound_stops_the_walk);
	tcase_add_test(tc, test_the_window_keeps_so_many_revisions);
	tcase_add_test(tc, test_the_window_keeps_so_many_bytes_and_always_the_newest);
	tcase_add_test(tc, test_the_history_survives_a_reopen_and_a_cancelled_batch_leaves_none);
	tcase_add_test(tc, test_a_snapshot_carries_the_history_and_a_damaged_record_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(history_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
