/*
 * check_store_pile.c — the store's pile (store_hold, store_drain): while
 * the file is held, commits pile up in memory and every read, listing,
 * walk and export sees them as the file would; a cancelled batch leaves
 * the pile as it was; drains move whole batches, so that a copy of the
 * file taken after any drain (a crash there) holds the store as it was at
 * one batch's end; a drain that cannot grow the file leaves the pile
 * whole; and a store that piled and drained exports what one that never
 * piled does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "tdbscan.h"

#include "store_fixture.h"
#include "check_store.h"

/* Every record a snapshot would hold, sorted, as one string. */
struct recs {
	char **v;
	size_t n, cap;
};

static int
rec_cb(void *arg, const struct store_record *rec)
{
	struct recs *r = arg;
	size_t len = 2 * (rec->klen + rec->vlen) + 2;
	char *p;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		ck_assert_ptr_nonnull(r->v);
	}
	ck_assert_ptr_nonnull(p = malloc(len));
	r->v[r->n++] = p;
	for (size_t i = 0; i < rec->klen; i++)
		p += sprintf(p, "%02x", rec->key[i]);
	*p++ = '=';
	for (size_t i = 0; i < rec->vlen; i++)
		p += sprintf(p, "%02x", rec->val[i]);
	*p = '\0';
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
dump_export(struct store *s)
{
	struct recs r = { 0 };
	struct dump d = { .cap = 64 };

	ck_assert_int_eq(store_export(s, rec_cb, &r), 0);
	qsort(r.v, r.n, sizeof(*r.v), str_cmp);
	ck_assert_ptr_nonnull(d.s = calloc(1, d.cap));
	for (size_t i = 0; i < r.n; i++) {
		dump_add(&d, "%s;", r.v[i]);
		free(r.v[i]);
	}
	free(r.v);
	return d.s;
}

/* The history after revision 0, as "rev:kind:key;". */
static int
hist_cb(void *arg, uint64_t revision, struct store_events *events)
{
	struct store_event ev;
	int r;

	while ((r = store_events_next(events, &ev)) == 1)
		dump_add(arg, "%" PRIu64 ":%d:%.*s;", revision, ev.kind, (int)ev.klen, ev.key);
	ck_assert_int_eq(r, 0);
	return 0;
}

static char *
dump_history(struct store *s)
{
	struct dump d = { .cap = 64 };

	ck_assert_ptr_nonnull(d.s = calloc(1, d.cap));
	ck_assert_int_eq(store_history(s, 0, UINT64_MAX, hist_cb, &d), 0);
	return d.s;
}

/* Everything a reader could see: keys, meta, clients, tokens, history, export. */
static char *
dump_everything(struct store *s)
{
	char *a = dump_all(s), *t = dump_tokens(s), *h = dump_history(s), *e = dump_export(s);
	struct dump d = { .cap = 64 };
	uint64_t count = 0;

	ck_assert_int_eq(store_count(s, "", 0, &count), 0);
	ck_assert_ptr_nonnull(d.s = calloc(1, d.cap));
	dump_add(&d, "%s\ncount=%" PRIu64 "\ntokens=%s\nhistory=%s\nexport=%s", a, count, t, h, e);
	free(a);
	free(t);
	free(h);
	free(e);
	return d.s;
}

/*
 * Close s, open its file again (store_open checks every record) and check
 * that it shows want, which is freed; the store reopened is closed too.
 */
static void
reopened_shows(struct store *s, char *want)
{
	char *got;

	store_close(s);
	s = open_ok(dbpath);
	ck_assert_uint_eq(store_piled_bytes(s), 0);
	got = dump_everything(s);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	store_close(s);
}

/* Batch b of the workload: new keys, one rewritten in every batch, one of
 * populate's keys deleted, a token, a client's record; index 100 b on. */
static void
batch(struct store *s, int b, size_t vlen)
{
	static char val[4096];
	uint64_t index = 100 * (uint64_t)b;
	char key[64];

	memset(val, 'a' + b % 26, sizeof(val));
	ck_assert_int_eq(store_begin(s), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "/pile/%d/%d", b, i);
		set(s, index + (uint64_t)i, 0, 0, key, val, vlen);
	}
	set(s, index + 40, 5, (uint64_t)b, "/pile/every", val, 3);
	set(s, index + 41, 6, (uint64_t)b, "/pile/every", val + 1, 5); /* twice in a batch */
	if (b == 2)
		del(s, index + 42, 0, 0, "/app/a");
	if (b == 3) {
		snprintf(key, sizeof(key), "/pile/%d/%d", 1, 7);
		del(s, index + 43, 0, 0, key); /* a key a piled batch made */
		token_put(s, index + 44, 0, 0, "pile-token", TOKEN_READ, "/pile/", 9);
	}
	ck_assert_int_eq(store_set_applied(s, index + 50, 2), 0);
	ck_assert_int_eq(store_commit(s), 0);
}

/*
 * While held, a store and its twin that never piled, given the same
 * batches, show the same everything; a batch cancelled while piling is
 * gone; and after the drains both export the same records.
 */
START_TEST(test_held_commits_pile_up_and_every_read_sees_them)
{
	struct store *s = open_ok(dbpath), *twin = open_ok(db2path);
	char *want, *got;
	struct stat st0, st1;

	populate(s);
	populate(twin);
	ck_assert_int_eq(stat(dbpath, &st0), 0);
	ck_assert_int_eq(store_hold(s), 0);
	ck_assert(store_piling(s));
	/* a batch cancelled on an empty pile leaves nothing, its table included */
	ck_assert_int_eq(store_begin(s), 0);
	set(s, 50, 0, 0, "/pile/first", "x", 1);
	store_cancel(s);
	ck_assert_uint_eq(store_piled_bytes(s), 0);
	for (int b = 1; b <= 4; b++) {
		batch(s, b, 200);
		batch(twin, b, 200);
	}
	ck_assert_uint_gt(store_piled_bytes(s), 4 * 40 * 200);
	want = dump_everything(twin);
	got = dump_everything(s);
	ck_assert_str_eq(got, want);
	free(got);

	/* a batch cancelled while piling: as if it never was */
	ck_assert_int_eq(store_begin(s), 0);
	set(s, 500, 0, 0, "/pile/cancelled", "x", 1);
	set(s, 501, 0, 0, "/pile/every", "y", 1);
	del(s, 502, 0, 0, "/app/b");
	ck_assert_int_eq(store_set_applied(s, 503, 2), 0);
	store_cancel(s);
	got = dump_everything(s);
	ck_assert_str_eq(got, want);
	free(got);

	/* the file was not touched */
	ck_assert_int_eq(stat(dbpath, &st1), 0);
	ck_assert_int_eq(st1.st_size, st0.st_size);
	ck_assert_int_eq(st1.st_mtim.tv_sec, st0.st_mtim.tv_sec);
	ck_assert_int_eq(st1.st_mtim.tv_nsec, st0.st_mtim.tv_nsec);

	/* released: a batch after it still piles (the pile is not empty) */
	store_release(s);
	ck_assert(store_piling(s));
	batch(s, 5, 200);
	batch(twin, 5, 200);
	free(want);
	want = dump_everything(twin);
	while (store_drain(s, 4096) > 0)
		;
	ck_assert_uint_eq(store_piled_bytes(s), 0);
	ck_assert(!store_piling(s));
	got = dump_everything(s);
	ck_assert_str_eq(got, want);
	free(got);
	reopened_shows(s, want); /* and from the file alone */
	store_close(twin);
}
END_TEST

static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	close(out);
}

/*
 * Drains of a small budget each move whole batches: a copy of the file
 * after each (what a crash there leaves) opens at one batch's applied
 * index with exactly what the store showed at that batch's end.
 */
START_TEST(test_each_drain_leaves_the_file_at_a_batch_end)
{
	struct store *s = open_ok(dbpath);
	char *at[11] = { 0 }, *got;
	uint64_t last = 0, slice;
	int drains = 0, r;

	populate(s);
	ck_assert_int_eq(store_hold(s), 0);
	for (int b = 1; b <= 10; b++) {
		batch(s, b, 1024);
		at[b] = dump_everything(s);
	}
	store_release(s);
	slice = store_piled_bytes(s) / 4; /* two or three batches a slice */
	while ((r = store_drain(s, slice)) > 0) {
		struct store *c;
		uint64_t applied;

		drains++;
		copy_file(dbpath, db2path);
		c = open_ok(db2path);
		applied = store_applied(c);
		ck_assert_msg(applied % 100 == 50 && applied / 100 >= 1 && applied / 100 <= 10,
		    "the file's applied index %" PRIu64 " is no batch's end", applied);
		ck_assert_uint_gt(applied, last);
		last = applied;
		got = dump_everything(c);
		ck_assert_str_eq(got, at[applied / 100]);
		free(got);
		store_close(c);
		unlink(db2path);
		/* what is still piled still reads the same */
		got = dump_everything(s);
		ck_assert_str_eq(got, at[10]);
		free(got);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(last, 1050);
	/* ten batches in slices of about two and a half */
	ck_assert_int_gt(drains, 1);
	ck_assert_int_lt(drains, 10);
	for (int b = 1; b <= 10; b++)
		free(at[b]);
	store_close(s);
}
END_TEST

/*
 * A drain whose transaction cannot grow the file (RLIMIT_FSIZE: EFBIG, as
 * a full disk would) fails and leaves the pile whole; once the file may
 * grow, the next drain moves it.
 */
START_TEST(test_a_drain_that_fails_leaves_the_pile_whole)
{
	struct store *s = open_ok(dbpath);
	struct rlimit lim, was;
	struct stat st;
	uint64_t piled;
	char *want, *got;
	int r;

	populate(s);
	ck_assert_int_eq(store_hold(s), 0);
	for (int b = 1; b <= 10; b++)
		batch(s, b, 4096);
	want = dump_everything(s);
	piled = store_piled_bytes(s);
	store_release(s);
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = was;
	lim.rlim_cur = (rlim_t)st.st_size;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = store_drain(s, UINT64_MAX);
	ck_assert_int_lt(r, 0);
	ck_assert_uint_eq(store_piled_bytes(s), piled);
	got = dump_everything(s);
	ck_assert_str_eq(got, want);
	free(got);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &was), 0);
	ck_assert_int_eq(store_drain(s, UINT64_MAX), 1);
	ck_assert_uint_eq(store_piled_bytes(s), 0);
	reopened_shows(s, want);
}
END_TEST

/* Many keys through the pile's table, drained a few at a time: the table
 * grows and shrinks and every key reads back at every step. */
START_TEST(test_many_keys_pile_and_drain)
{
	struct store *s = open_ok(dbpath);
	char key[32], val[32];
	int r, steps = 0;

	ck_assert_int_eq(store_hold(s), 0);
	for (int b = 0; b < 50; b++) {
		ck_assert_int_eq(store_begin(s), 0);
		for (int i = 0; i < 100; i++) {
			int k = (b * 100 + i) % 3000; /* later batches rewrite earlier keys */

			snprintf(key, sizeof(key), "/k/%d", k);
			snprintf(val, sizeof(val), "%d", b);
			set(s, 1 + (uint64_t)(b * 100 + i), 0, 0, key, val, strlen(val));
		}
		ck_assert_int_eq(store_commit(s), 0);
	}
	store_release(s);
	do {
		for (int k = 0; k < 3000; k += 7) {
			int b = k / 100 + (k < 2000 ? 30 : 0);

			snprintf(key, sizeof(key), "/k/%d", k);
			snprintf(val, sizeof(val), "%d", b);
			check_value(s, key, val, strlen(val), (uint64_t)(b * 100 + k % 100) + 1);
		}
		steps++;
	} while ((r = store_drain(s, 20000)) > 0);
	ck_assert_int_eq(r, 0);
	ck_assert_int_gt(steps, 5);
	ck_assert_uint_eq(store_applied(s), 5000);
	store_close(s);
}
END_TEST

/* Records as "hex(key)=hex(data)", for a tdb walk's callback. */
static int
tdb_rec_cb(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *arg)
{
	struct store_record rec = { key.dptr, key.dsize, data.dptr, data.dsize };

	return rec_cb(arg, &rec);
}

static char *
joined(struct recs *r)
{
	struct dump d = { .cap = 64 };

	qsort(r->v, r->n, sizeof(*r->v), str_cmp);
	ck_assert_ptr_nonnull(d.s = calloc(1, d.cap));
	for (size_t i = 0; i < r->n; i++) {
		dump_add(&d, "%s;", r->v[i]);
		free(r->v[i]);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
	return d.s;
}

/*
 * tdbscan (the file's order) gives every record tdb_traverse (the hash
 * chains) gives, and no other, over a file with rewrites that moved
 * records, deletions that freed them, growths and a recovery area.
 */
START_TEST(test_a_walk_in_the_files_order_gives_what_tdbs_own_gives)
{
	struct store *s = open_ok(dbpath);
	struct tdb_context *t;
	struct recs a = { 0 }, b = { 0 };
	char *x, *y;

	populate(s);
	for (int b2 = 1; b2 <= 10; b2++)
		batch(s, b2, 64 * (size_t)b2); /* each batch's values larger: records move */
	store_close(s);
	ck_assert_ptr_nonnull(t = tdb_open(dbpath, 0, TDB_NOLOCK, O_RDONLY, 0));
	ck_assert_int_eq(tdbscan(t, tdb_rec_cb, &a), 0);
	ck_assert_int_ge(tdb_traverse_read(t, tdb_rec_cb, &b), 0);
	ck_assert_uint_gt(a.n, 400);
	ck_assert_uint_eq(a.n, b.n);
	x = joined(&a);
	y = joined(&b);
	ck_assert_str_eq(x, y);
	free(x);
	free(y);
	tdb_close(t);
}
END_TEST

static int
count_cb(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* A file whose records do not walk (a header's magic overwritten, a
 * version not this one) gets no call, and tdbscan says so. */
START_TEST(test_a_file_that_does_not_walk_gets_no_call)
{
	struct store *s = open_ok(dbpath);
	struct tdb_context *t;
	uint32_t hash_size, bad = 0x12345678;
	off_t first;
	int fd, calls = 0;

	populate(s);
	batch(s, 1, 100);
	store_close(s);
	ck_assert_ptr_nonnull(t = tdb_open(dbpath, 0, TDB_NOLOCK, O_RDONLY, 0));
	ck_assert_int_eq(tdbscan(t, count_cb, &calls), 0);
	ck_assert_int_gt(calls, 40);
	tdb_close(t);
	ck_assert_int_ge(fd = open(dbpath, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, &hash_size, 4, 36), 4);
	first = 168 + ((off_t)hash_size + 1) * 4;
	ck_assert_int_eq(pwrite(fd, &bad, 4, first + 20), 4); /* the first record's magic */
	close(fd);
	ck_assert_ptr_nonnull(t = tdb_open(dbpath, 0, TDB_NOLOCK, O_RDONLY, 0));
	calls = 0;
	ck_assert_int_eq(tdbscan(t, count_cb, &calls), -EBADMSG);
	ck_assert_int_eq(calls, 0);
	tdb_close(t);
}
END_TEST

/* A store closed with a pile (released) puts all of it into its file. */
START_TEST(test_a_store_closed_with_a_pile_keeps_it)
{
	struct store *s = open_ok(dbpath);
	char *want;

	populate(s);
	ck_assert_int_eq(store_hold(s), 0);
	for (int b = 1; b <= 5; b++)
		batch(s, b, 512);
	want = dump_everything(s);
	store_release(s);
	ck_assert_uint_gt(store_piled_bytes(s), 0);
	reopened_shows(s, want);
}
END_TEST

void
store_pile_tests(TCase *tc)
{
	tcase_add_test(tc, test_a_store_closed_with_a_pile_keeps_it);
	tcase_add_test(tc, test_a_walk_in_the_files_order_gives_what_tdbs_own_gives);
	tcase_add_test(tc, test_a_file_that_does_not_walk_gets_no_call);
	tcase_add_test(tc, test_held_commits_pile_up_and_every_read_sees_them);
	tcase_add_test(tc, test_each_drain_leaves_the_file_at_a_batch_end);
	tcase_add_test(tc, test_a_drain_that_fails_leaves_the_pile_whole);
	tcase_add_test(tc, test_many_keys_pile_and_drain);
}
