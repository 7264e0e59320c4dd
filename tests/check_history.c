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

	ck_assert_str_eq(history(s, 0),
	    "1:PUT /x=1;3:PUT /y=two;6:PUT /t/a=A;6:PUT /t/b=B;"
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
	ck_assert_int_eq(hist_records(s), 1); /* one block: revisions 0-63 */
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

/*
 * Counts the revisions after `after`, checking that each comes once, rising,
 * with one change; with size set, a PUT of size bytes of its letter.
 */
struct count {
	uint64_t last;
	int revisions;
	size_t size;
};

static int
count_cb(void *arg, uint64_t revision, struct store_events *it)
{
	struct count *c = arg;
	struct store_event ev;

	ck_assert_uint_gt(revision, c->last);
	c->last = revision;
	c->revisions++;
	ck_assert_int_eq(store_events_next(it, &ev), 1);
	if (c->size) {
		ck_assert_uint_eq(ev.vlen, c->size);
		ck_assert_int_eq(ev.val[0], 'a' + (int)(revision % 26));
		ck_assert_int_eq(ev.val[ev.vlen - 1], 'a' + (int)(revision % 26));
	}
	ck_assert_int_eq(store_events_next(it, &ev), 0);
	return 0;
}

/* Old blocks go whole: a window of 100 revisions over 300 keeps revisions 192-300. */
START_TEST(test_old_blocks_go_whole_and_every_change_in_the_window_stays)
{
	struct store *s = open_ok(dbpath);
	struct count c = { 0 };

	store_set_history(s, 100, UINT64_MAX);
	ck_assert_int_eq(store_begin(s), 0);
	for (uint64_t i = 1; i <= 300; i++)
		set(s, i, 0, 0, "/k", "v", 1);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_uint_eq(store_history_floor(s), 200);
	ck_assert_int_eq(hist_records(s), 2); /* blocks 192 and 256 */
	c.last = 200;
	ck_assert_int_eq(store_history(s, 200, UINT64_MAX, count_cb, &c), 0);
	ck_assert_int_eq(c.revisions, 100);
	ck_assert_uint_eq(c.last, 300);
	/* what is left of block 192 (192-200) is still read, for a wider window */
	store_set_history(s, 200, UINT64_MAX);
	ck_assert_uint_eq(store_history_floor(s), 191);
	c = (struct count){ .last = 191 };
	ck_assert_int_eq(store_history(s, 191, UINT64_MAX, count_cb, &c), 0);
	ck_assert_int_eq(c.revisions, 109);
	store_close(s);
}
END_TEST

START_TEST(test_the_window_keeps_so_many_bytes_and_always_the_newest)
{
	struct store *s = open_ok(dbpath);
	char big[100];
	struct count c;
	uint64_t floor;

	memset(big, 'b', sizeof(big));
	store_set_history(s, UINT64_MAX, 16000); /* about two blocks of these changes */
	for (uint64_t i = 1; i <= 200; i++) {
		set(s, i, 0, 0, "/big", big, sizeof(big));
		ck_assert_uint_le(store_history_bytes(s), 16000);
	}
	floor = store_history_floor(s);
	ck_assert_uint_eq(floor, 127); /* blocks 0 and 64 went, 128 and 192 stay */
	ck_assert_int_eq(hist_records(s), 2);
	c = (struct count){ .last = floor };
	ck_assert_int_eq(store_history(s, floor, UINT64_MAX, count_cb, &c), 0);
	ck_assert_int_eq(c.revisions, 200 - 127);
	/* a window smaller than one block: the newest block alone stays */
	store_set_history(s, UINT64_MAX, 500);
	set(s, 201, 0, 0, "/big", big, sizeof(big));
	ck_assert_uint_eq(store_history_floor(s), 191);
	ck_assert_int_eq(hist_records(s), 1);
	ck_assert_uint_gt(store_history_bytes(s), 500);
	store_close(s);
}
END_TEST

/* SET of key to size bytes of c at index, outside a batch. */
static void
set_big(struct store *s, uint64_t index, const char *key, size_t size, char c)
{
	size_t cap = STORE_CMD_SET_SIZE(strlen(key), size);
	uint8_t *cmd = malloc(cap), *val = malloc(size);
	struct store_result res;
	ssize_t n;

	ck_assert_ptr_nonnull(cmd);
	ck_assert_ptr_nonnull(val);
	memset(val, c, size);
	n = store_cmd_encode_set(cmd, cap, 0, 0, key, strlen(key), val, size);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, cmd, (size_t)n, &res), 0);
	ck_assert_int_eq(res.status, STORE_OK);
	free(cmd);
	free(val);
}

/* A block of big values is kept in a chain of records of about 1 MiB. */
START_TEST(test_a_block_of_big_values_is_a_chain_of_records)
{
	struct store *s = open_ok(dbpath), *s2;
	const size_t size = 300 * 1024;
	struct count b = { .size = size };
	char err[512] = "";

	for (uint64_t i = 1; i <= 10; i++)
		set_big(s, i, "/big", size, (char)('a' + i % 26));
	ck_assert_int_ge(hist_records(s), 3); /* head and continuations */
	ck_assert_int_eq(store_history(s, 0, UINT64_MAX, count_cb, &b), 0);
	ck_assert_int_eq(b.revisions, 10);
	/* after a reopen the chain goes on where it ended */
	store_close(s);
	s = open_ok(dbpath);
	set_big(s, 11, "/big", size, (char)('a' + 11 % 26));
	b = (struct count){ .size = size };
	ck_assert_int_eq(store_history(s, 0, UINT64_MAX, count_cb, &b), 0);
	ck_assert_int_eq(b.revisions, 11);
	/* a snapshot carries the chain */
	ck_assert_int_eq(snap_write(s, snappath, 11, 1, NULL, 0, err, sizeof(err)), 0);
	s2 = open_ok(db2path);
	ck_assert_msg(snap_restore(s2, snappath, err, sizeof(err)) == 0, "%s", err);
	b = (struct count){ .size = size };
	ck_assert_int_eq(store_history(s2, 0, UINT64_MAX, count_cb, &b), 0);
	ck_assert_int_eq(b.revisions, 11);
	store_close(s2);
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
	ck_assert_int_eq(hist_records(s), 1);
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
	{
		/* from, next (8 bytes each), a change: revision, kind, lengths, "/x", "v" */
#define Z8	   "\0\0\0\0\0\0\0\0"
#define PUT_X(rev) rev "\0\0\0\0\0\0\0\1\2\0\1\0\0\0/xv"
		static const struct {
			const char *key;
			const char *val;
			size_t len;
			bool ok;
		} cases[] = {
			/* the head of block 64, from 65, a PUT of /x at 66 */
			{ "h:0000000000000040", "A\0\0\0\0\0\0\0" Z8 PUT_X("B"), 34, true },
			/* the same but a DEL with a value */
			{ "h:0000000000000040",
			    "A\0\0\0\0\0\0\0" Z8 "B\0\0\0\0\0\0\0\2\2\0\1\0\0\0/xv", 34, false },
			/* a key longer than the bytes */
			{ "h:0000000000000040",
			    "A\0\0\0\0\0\0\0" Z8 "B\0\0\0\0\0\0\0\1\5\0\1\0\0\0/xv", 34, false },
			/* a revision past the block's end (128) */
			{ "h:0000000000000040", "A\0\0\0\0\0\0\0" Z8 PUT_X("\x80"), 34, false },
			/* a revision before the record's first (65) */
			{ "h:0000000000000040", "A\0\0\0\0\0\0\0" Z8 PUT_X("@"), 34, false },
			/* a first revision outside the block */
			{ "h:0000000000000040", "\x80\0\0\0\0\0\0\0" Z8 PUT_X("B"), 34, false },
			/* continued at 67 (its change at 66 is before that): fine */
			{ "h:0000000000000040", "A\0\0\0\0\0\0\0C\0\0\0\0\0\0\0" PUT_X("B"), 34,
			    true },
			/* continued at 66, but holding a change of 66 */
			{ "h:0000000000000040", "A\0\0\0\0\0\0\0B\0\0\0\0\0\0\0" PUT_X("B"), 34,
			    false },
			/* a continuation from 66: its key is its first revision */
			{ "h:0000000000000042", "B\0\0\0\0\0\0\0" Z8 PUT_X("B"), 34, true },
			{ "h:0000000000000042", "C\0\0\0\0\0\0\0" Z8 PUT_X("C"), 34, false },
			/* a block head that does not start at a multiple of 64 is a
			 * continuation, whose first revision must be its key */
			{ "h:0000000000000041", "A\0\0\0\0\0\0\0" Z8, 16, true },
			{ "h:0000000000000041", "@\0\0\0\0\0\0\0" Z8, 16, false },
			/* upper-case hex */
			{ "h:000000000000004A", "J\0\0\0\0\0\0\0" Z8, 16, false },
			/* the floor's record, 16 bytes and not 10 */
			{ "h:floor", "0123456789", 10, false },
			{ "h:floor", "0123456789abcdef", 16, true },
		};
#undef Z8
#undef PUT_X

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			bad = (struct store_record){ (const uint8_t *)cases[i].key,
				strlen(cases[i].key), (const uint8_t *)cases[i].val, cases[i].len };
			ck_assert_msg(store_record_ok(&bad) == cases[i].ok, "case %zu", i);
		}
	}
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
	/* Each write outside a batch is a transaction of its own, and tdb
	 * copies the store's 4 MiB hash table at each start: 200 of them
	 * under the sanitizers took longer than Check's 4 s default in CI. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_every_change_is_recorded_with_its_revision_and_nothing_else);
	tcase_add_test(tc, test_a_callback_or_a_bound_stops_the_walk);
	tcase_add_test(tc, test_the_window_keeps_so_many_revisions);
	tcase_add_test(tc, test_old_blocks_go_whole_and_every_change_in_the_window_stays);
	tcase_add_test(tc, test_the_window_keeps_so_many_bytes_and_always_the_newest);
	tcase_add_test(tc, test_a_block_of_big_values_is_a_chain_of_records);
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
