/*
 * check_store_grow.c — the store's file grown by a child (store_grow,
 * store_guard): the room made is there and the records are as they were;
 * a file whose free space is in pieces is grown without tdb repacking it;
 * a child that grows the file while the parent piles and reads it, and is
 * caught inside its commit, leaves a file that reopens whole and the
 * store its twin shows; one that dies there is rolled back by the
 * parent's next read; one that cannot grow the file leaves it as it was.
 *
 * "Inside its commit": tdb calls utime() once it has written every block
 * and before it clears the recovery area's magic.  This file defines
 * utime, which libtdb then calls, so that a child can stop or die right
 * there (utime_do).
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include "store.h"
#include "store_state.h"
#include "tdbscan.h"
#include "tdbutil.h"

#include "store_fixture.h"
#include "check_store.h"

/* ------------------------------------------------------------ inside tdb's commit */

enum utime_do { UTIME_PASS, UTIME_DIE, UTIME_STOP };
static enum utime_do utime_do = UTIME_PASS;
static int stop_tell = -1, stop_wait = -1; /* UTIME_STOP: say so, then wait for a byte */

/* What a child does where tdb marks the end of its commit's writes. */
static void
at_the_commit_mark(void)
{
	char c = 's';

	if (utime_do == UTIME_DIE)
		raise(SIGKILL); /* a crash after the blocks, before the magic is cleared */
	if (utime_do == UTIME_STOP) {
		if (write(stop_tell, &c, 1) != 1 || read(stop_wait, &c, 1) != 1)
			_exit(3);
	}
}

int
utime(const char *file, const struct utimbuf *times)
{
	at_the_commit_mark();
	return (int)syscall(SYS_utime, file, times);
}

/* A libtdb that marks it with futimens instead. */
int
futimens(int fd, const struct timespec times[2])
{
	at_the_commit_mark();
	return (int)syscall(SYS_utimensat, fd, NULL, times, 0);
}

/* ------------------------------------------------------------ helpers */

static uint8_t val[4096];

/* Batch b: keys /grow/b/0.. of vlen bytes (applied index 1000 b on). */
static void
fill(struct store *s, int b, int keys, size_t vlen)
{
	uint64_t index = 1000 * (uint64_t)b;
	char key[64];

	memset(val, 'a' + b % 26, sizeof(val));
	ck_assert_int_eq(store_begin(s), 0);
	for (int i = 0; i < keys; i++) {
		snprintf(key, sizeof(key), "/grow/%d/%d", b, i);
		set(s, index + (uint64_t)i, 0, 0, key, val, vlen);
	}
	ck_assert_int_eq(store_set_applied(s, index + (uint64_t)keys, 2), 0);
	ck_assert_int_eq(store_commit(s), 0);
}

static struct tdbscan_free
free_of(const char *path)
{
	struct tdbscan_free f;
	struct tdb_context *t = tdb_open(path, 0, TDB_NOLOCK, O_RDONLY, 0);

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(tdbscan_free(t, &f), 0);
	/* every free record tdb knows of, and their bytes short of the file */
	ck_assert_int_eq((int)f.records, tdb_freelist_size(t));
	ck_assert_uint_lt(f.bytes + 24 * f.records, f.file_bytes);
	tdb_close(t);
	return f;
}

static uint64_t
file_bytes(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* Reopen path (store_open runs tdb_check) and check it shows want. */
static void
reopens_showing(const char *path, const char *want)
{
	struct store *s = open_ok(path);
	char *got = dump_all(s);

	ck_assert_str_eq(got, want);
	free(got);
	store_close(s);
}

/*
 * *s and *twin, the same populated store with 400 keys of 4000 bytes; *s
 * reopened (the file as closed), and its free space then.
 */
static struct tdbscan_free
twins(struct store **s, struct store **twin)
{
	struct tdbscan_free f0;

	*s = open_ok(dbpath);
	*twin = open_ok(db2path);
	populate(*s);
	populate(*twin);
	fill(*s, 1, 400, 4000);
	fill(*twin, 1, 400, 4000);
	store_close(*s);
	f0 = free_of(dbpath);
	*s = open_ok(dbpath);
	return f0;
}

/* Hold and guard s, and fork: in the child (0), the store is the child's. */
static pid_t
fork_guarded(struct store *s)
{
	pid_t pid;

	ck_assert_int_eq(store_hold(s), 0);
	ck_assert_int_eq(store_guard(s, true), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		store_after_fork(s);
	return pid;
}

/* The recovery area's offset in the file's header. */
static uint32_t
recovery_of(const char *path)
{
	uint32_t r = 0;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &r, sizeof(r), 44), (ssize_t)sizeof(r));
	close(fd);
	return r;
}

/* tdb_check of the file, every record (not the store's own check). */
static int
tdb_check_of(const char *path)
{
	struct tdb_context *t = tdb_open(path, 0, TDB_NOLOCK, O_RDONLY, 0);
	int r;

	ck_assert_ptr_nonnull(t);
	r = tdb_check(t, NULL, NULL);
	tdb_close(t);
	return r;
}

/* ------------------------------------------------------------ tests */

/*
 * store_grow leaves at least the free space asked for, in a file that
 * holds what it held; asked for less than there is, it leaves the file as
 * it was.
 */
START_TEST(test_a_grown_file_has_the_room_and_what_it_held)
{
	struct store *s = open_ok(dbpath);
	struct tdbscan_free before, after;
	uint64_t size0;
	char *want;

	populate(s);
	for (int b = 1; b <= 4; b++)
		fill(s, b, 200, 4000);
	want = dump_all(s);
	size0 = file_bytes(dbpath);
	ck_assert_int_eq(store_grow(s, 1, &before), 0); /* there is room: nothing done */
	ck_assert_uint_eq(file_bytes(dbpath), size0);
	ck_assert_uint_eq(before.file_bytes, size0);
	ck_assert_int_eq(store_grow(s, before.bytes + 8 * 1024 * 1024, &after), 0);
	ck_assert_uint_ge(file_bytes(dbpath), size0 + 8 * 1024 * 1024);
	store_close(s);
	after = free_of(dbpath); /* walked again, not as store_grow reckoned */
	ck_assert_uint_ge(after.bytes, before.bytes + 8 * 1024 * 1024);
	reopens_showing(dbpath, want);
	free(want);
}
END_TEST

/*
 * A file whose free space is in many pieces: tdb repacks a file (moves
 * every record) after a commit that grew it when the free records hold
 * more than twice the largest, which would move records under the
 * parent's reads.  The growth is sized so that it does not: the pieces
 * are still there after it.
 */
START_TEST(test_a_file_free_in_pieces_is_grown_without_a_repack)
{
	struct store *s = open_ok(dbpath);
	struct tdbscan_free before, after;
	char key[64], *want;

	populate(s);
	fill(s, 1, 8000, 3000);
	ck_assert_int_eq(store_begin(s), 0);
	for (int i = 0; i < 8000; i++) {
		if (i % 4 == 0)
			continue;
		snprintf(key, sizeof(key), "/grow/1/%d", i);
		del(s, 10000 + (uint64_t)i, 0, 0, key);
	}
	ck_assert_int_eq(store_set_applied(s, 20000, 2), 0);
	ck_assert_int_eq(store_commit(s), 0);
	want = dump_all(s);
	store_close(s);
	before = free_of(dbpath);
	/* in pieces: more than twice the largest, and many */
	ck_assert_uint_gt(before.bytes, 2 * before.largest);
	ck_assert_uint_gt(before.records, 100);
	s = open_ok(dbpath);
	ck_assert_int_eq(store_grow(s, before.bytes + 64 * 1024, &after), 0);
	store_close(s);
	after = free_of(dbpath);
	ck_assert_uint_gt(after.file_bytes, before.file_bytes);
	/* a repack leaves the free space in one or two records */
	ck_assert_msg(after.records > before.records / 2,
	    "the file was repacked: %" PRIu64 " free records, %" PRIu64 " before", after.records,
	    before.records);
	ck_assert_uint_ge(after.bytes, before.bytes + 64 * 1024);
	reopens_showing(dbpath, want);
	free(want);
}
END_TEST

/*
 * The parent holds and guards the file; a child grows it and stops right
 * inside its commit (every block written, the recovery area's magic still
 * set); the parent reads every key and piles a batch meanwhile; the child
 * goes on.  The file then reopens whole (tdb_check) with the room made,
 * and the store shows what its twin, which never grew, shows.  Without
 * the guard, the parent's first read would "recover" the child's commit
 * under it and leave the growth outside the free list.
 */
START_TEST(test_a_child_grows_the_file_while_the_parent_reads_and_piles)
{
	int tell[2], go[2], res[2], status;
	struct tdbscan_free f0, after;
	char c, *want, *mid, *got;
	struct store *s, *twin;
	pid_t pid;

	f0 = twins(&s, &twin);
	mid = dump_all(s);
	ck_assert_int_eq(pipe(tell), 0);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(res), 0);
	pid = fork_guarded(s);
	if (pid == 0) {
		stop_tell = tell[1];
		stop_wait = go[0];
		utime_do = UTIME_STOP;
		if (store_grow(s, f0.bytes + 16 * 1024 * 1024, &after) < 0 ||
		    write(res[1], &after, sizeof(after)) != (ssize_t)sizeof(after))
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(read(tell[0], &c, 1), 1); /* the child is inside its commit */
	got = dump_all(s);
	ck_assert_str_eq(got, mid);
	free(got);
	fill(s, 2, 100, 3000); /* piles */
	fill(twin, 2, 100, 3000);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(read(res[0], &after, sizeof(after)), (ssize_t)sizeof(after));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(store_guard(s, false), 0);
	store_release(s);
	ck_assert_int_eq(store_drain(s, UINT64_MAX), 1);
	fill(s, 3, 100, 3000); /* the file again, in the room made */
	fill(twin, 3, 100, 3000);
	want = dump_all(twin);
	got = dump_all(s);
	ck_assert_str_eq(got, want);
	free(got);
	store_close(s);
	store_close(twin);
	after = free_of(dbpath);
	ck_assert_uint_ge(after.file_bytes, f0.file_bytes + 16 * 1024 * 1024);
	reopens_showing(dbpath, want);
	free(want);
	free(mid);
	for (int i = 0; i < 2; i++) {
		close(tell[i]);
		close(go[i]);
		close(res[i]);
	}
}
END_TEST

/*
 * tdbscan_free walks the free list, not the file: it counts what tdb's own
 * count of the list counts, and refuses a list that loops or leaves the
 * file (the grower then stops until the node starts again).
 */
START_TEST(test_the_free_list_is_walked_and_a_bad_one_refused)
{
	struct store *s = open_ok(dbpath);
	struct tdbscan_free f;
	struct tdb_context *t;
	uint32_t head, self, beyond = 0x7ffffff0;
	char key[64];
	int fd;

	populate(s);
	fill(s, 1, 300, 2000);
	ck_assert_int_eq(store_begin(s), 0);
	for (int i = 0; i < 300; i += 2) { /* every other: free records apart */
		snprintf(key, sizeof(key), "/grow/1/%d", i);
		del(s, 2000 + (uint64_t)i, 0, 0, key);
	}
	ck_assert_int_eq(store_set_applied(s, 2300, 2), 0);
	ck_assert_int_eq(store_commit(s), 0);
	store_close(s);
	f = free_of(dbpath); /* checked against tdb_freelist_size */
	ck_assert_uint_ge(f.records, 100);
	ck_assert_uint_ge(f.bytes, 150 * 2000);
	/* the first free record pointing at itself: a loop */
	ck_assert_int_ge(fd = open(dbpath, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, &head, 4, 168), 4);
	self = head;
	ck_assert_int_eq(pwrite(fd, &self, 4, head), 4);
	ck_assert_ptr_nonnull(t = tdb_open(dbpath, 0, TDB_NOLOCK, O_RDONLY, 0));
	ck_assert_int_eq(tdbscan_free(t, &f), -EBADMSG);
	ck_assert_uint_eq(f.records, 0);
	ck_assert_int_eq(tdbscan_free_past(t, 0), -EBADMSG);
	tdb_close(t);
	/* the head pointing past the file's end */
	ck_assert_int_eq(pwrite(fd, &beyond, 4, 168), 4);
	ck_assert_ptr_nonnull(t = tdb_open(dbpath, 0, TDB_NOLOCK, O_RDONLY, 0));
	ck_assert_int_eq(tdbscan_free(t, &f), -EBADMSG);
	tdb_close(t);
	close(fd);
}
END_TEST

/* Does another process see a lock on any byte of path?  (F_GETLK, whole file) */
static bool
locked_for_others(const char *path)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int fd = open(path, O_RDWR);

		if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0)
			_exit(2);
		_exit(fl.l_type == F_UNLCK ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) < 2);
	return WEXITSTATUS(status) == 1;
}

/*
 * The node's store takes no fcntl lock (store_unlocked): with another
 * process holding a write lock on the whole file, its reads, a batch
 * committed, a batch piled while held and the drain go on (a lock taken
 * would wait for ever; the alarm ends the test then).  The guard's lock
 * is a real one, seen by other processes while it is on.
 */
START_TEST(test_the_store_takes_no_lock_but_the_guards)
{
	int tell[2], go[2], status;
	struct store *s = open_ok(dbpath), *twin = open_ok(db2path);
	char c, *want, *got;
	pid_t pid;

	populate(s);
	populate(twin);
	fill(s, 1, 50, 100);
	fill(twin, 1, 50, 100);
	ck_assert(!locked_for_others(dbpath));
	ck_assert_int_eq(pipe(tell), 0);
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int fd = open(dbpath, O_RDWR);

		if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0 || write(tell[1], "l", 1) != 1 ||
		    read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(read(tell[0], &c, 1), 1); /* the whole file is locked */
	alarm(20);
	want = dump_all(twin);
	got = dump_all(s);
	ck_assert_str_eq(got, want);
	free(got);
	fill(s, 2, 50, 100);
	fill(twin, 2, 50, 100);
	ck_assert_int_eq(store_hold(s), 0);
	fill(s, 3, 50, 100); /* piles */
	fill(twin, 3, 50, 100);
	store_release(s);
	ck_assert_int_eq(store_drain(s, UINT64_MAX), 1);
	free(want);
	want = dump_all(twin);
	got = dump_all(s);
	ck_assert_str_eq(got, want);
	free(got);
	alarm(0);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the guard's lock, and only while it is on */
	ck_assert_int_eq(store_hold(s), 0);
	ck_assert_int_eq(store_guard(s, true), 0);
	ck_assert(locked_for_others(dbpath));
	ck_assert_int_eq(store_guard(s, false), 0);
	store_release(s);
	ck_assert(!locked_for_others(dbpath));
	fill(s, 4, 50, 100);
	fill(twin, 4, 50, 100);
	free(want);
	want = dump_all(twin);
	store_close(s);
	store_close(twin);
	reopens_showing(dbpath, want);
	free(want);
	for (int i = 0; i < 2; i++) {
		close(tell[i]);
		close(go[i]);
	}
}
END_TEST

/*
 * A child killed inside its commit, after the growth was written past the
 * file's end: store_grow_undo rolls the commit back and cuts the file back
 * to its size at the fork.  The parent reads and commits as before, in a
 * file that reopens whole (tdb_check), showing what its twin shows.  Left
 * as tdb's recovery leaves it, the growth would be a free record in no
 * free list, which tdb's next growth merges into and loses, without end.
 */
START_TEST(test_a_child_that_dies_in_its_commit_is_undone)
{
	struct store_grow_mark mark;
	struct tdbscan_free f0, after;
	struct store *s, *twin;
	char *want, *got;
	int status;
	pid_t pid;

	f0 = twins(&s, &twin);
	ck_assert_int_eq(store_grow_mark(s, &mark), 0);
	pid = fork_guarded(s);
	if (pid == 0) {
		utime_do = UTIME_DIE;
		(void)store_grow(s, f0.bytes + 16 * 1024 * 1024, &after);
		_exit(0); /* not reached: it died in the commit */
	}
	fill(s, 2, 100, 3000);
	fill(twin, 2, 100, 3000);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_uint_gt(file_bytes(dbpath), f0.file_bytes); /* it got that far */
	ck_assert_int_eq(store_guard(s, false), 0);
	ck_assert_int_eq(store_grow_undo(s, &mark), 0);
	ck_assert_uint_eq(file_bytes(dbpath), f0.file_bytes);
	store_release(s);
	ck_assert_int_eq(store_drain(s, UINT64_MAX), 1);
	for (int b = 3; b < 12; b++) { /* enough to make tdb grow the file itself */
		fill(s, b, 100, 4000);
		fill(twin, b, 100, 4000);
	}
	ck_assert_uint_gt(file_bytes(dbpath), f0.file_bytes);
	want = dump_all(twin);
	got = dump_all(s);
	ck_assert_str_eq(got, want);
	free(got);
	store_close(s);
	store_close(twin);
	reopens_showing(dbpath, want);
	free(want);
}
END_TEST

/*
 * A child that cannot grow the file (RLIMIT_FSIZE: EFBIG, as a full disk
 * would): store_grow fails, and the file is as it was, whole.
 */
START_TEST(test_a_child_that_cannot_grow_the_file_leaves_it_as_it_was)
{
	struct store *s = open_ok(dbpath);
	struct tdbscan_free f0, after;
	struct store_grow_mark mark;
	int status;
	char *want;
	pid_t pid;

	populate(s);
	fill(s, 1, 400, 4000);
	want = dump_all(s);
	store_close(s);
	f0 = free_of(dbpath);
	s = open_ok(dbpath);
	ck_assert_int_eq(store_grow_mark(s, &mark), 0);
	pid = fork_guarded(s);
	if (pid == 0) {
		struct rlimit lim = { f0.file_bytes + 4096, f0.file_bytes + 4096 };
		int r;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &lim) < 0)
			_exit(2);
		r = store_grow(s, f0.bytes + 16 * 1024 * 1024, &after);
		_exit(r < 0 ? 10 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 10, "status %d", status);
	ck_assert_int_eq(store_guard(s, false), 0);
	ck_assert_int_eq(store_grow_undo(s, &mark), 0); /* as the node does after a failure */
	store_release(s);
	ck_assert_uint_eq(file_bytes(dbpath), f0.file_bytes);
	ck_assert_uint_eq(recovery_of(dbpath), mark.recovery);
	store_close(s);
	reopens_showing(dbpath, want);
	free(want);
}
END_TEST

/*
 * A child killed after its commit landed, before it said so: the undo
 * finds the growth in the free list and keeps it (1), and the file
 * reopens whole.  Cut back, the file would fail tdb_check.
 */
START_TEST(test_a_growth_that_landed_is_kept_by_the_undo)
{
	struct tdbscan_free f0, after;
	struct store_grow_mark mark;
	struct store *s, *twin;
	char *want;
	int status;
	pid_t pid;

	f0 = twins(&s, &twin);
	ck_assert_int_eq(store_grow_mark(s, &mark), 0);
	pid = fork_guarded(s);
	if (pid == 0) {
		if (store_grow(s, f0.bytes + 16 * 1024 * 1024, &after) == 0)
			raise(SIGKILL); /* landed; killed before it reports */
		_exit(1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_int_eq(store_guard(s, false), 0);
	ck_assert_int_eq(store_grow_undo(s, &mark), 1);
	ck_assert_uint_ge(file_bytes(dbpath), f0.file_bytes + 16 * 1024 * 1024);
	store_release(s);
	fill(s, 3, 100, 3000);
	fill(twin, 3, 100, 3000);
	want = dump_all(twin);
	store_close(s);
	store_close(twin);
	reopens_showing(dbpath, want);
	free(want);
}
END_TEST

static char (*order)[64];
static int norder;

/* The file's order of the raw x records. */
static int
order_cb(struct tdb_context *t, TDB_DATA k, TDB_DATA d, void *a)
{
	if (k.dsize < 60 && k.dptr[0] == 'x') {
		memcpy(order[norder], k.dptr, k.dsize);
		order[norder][k.dsize] = '\0';
		norder++;
	}
	return 0;
}

/*
 * A growth whose commit needs a larger recovery area than the file has
 * (thousands of free records side by side, which tdb merges as it looks
 * for room, each merge a block to save): the child moves the area past
 * the file's end, writing its offset into the header before the commit,
 * and dies in the commit.  The rollback clears that offset; the undo puts
 * the old one back and cuts the file: the file is whole again.  (Raw
 * records, as the store does not make this many free ones side by side:
 * tdb's own check, not the store's.)
 */
START_TEST(test_a_recovery_area_moved_past_the_end_is_put_back)
{
	struct tdbscan_free f0, after;
	struct store_grow_mark mark;
	struct store *s = open_ok(dbpath);
	char key[64], buf[1000];
	int status;
	pid_t pid;

	populate(s);
	memset(buf, 'z', sizeof(buf));
	for (int i = 0; i < 12000; i++) {
		snprintf(key, sizeof(key), "x%d", i);
		ck_assert_int_eq(tdb_store(s->tdb, tstr(key), tdata(buf, sizeof(buf)), TDB_INSERT), 0);
	}
	ck_assert_ptr_nonnull(order = calloc(12000, sizeof(*order)));
	norder = 0;
	ck_assert_int_eq(tdbscan(s->tdb, order_cb, NULL), 0);
	/* in each run of 4, the 2nd then the 1st: two free records side by
	 * side that tdb does not merge (it merges a freed record with the one
	 * on its left only) */
	for (int i = 0; i + 3 < norder; i += 4) {
		ck_assert_int_eq(tdb_delete(s->tdb, tstr(order[i + 1])), 0);
		ck_assert_int_eq(tdb_delete(s->tdb, tstr(order[i])), 0);
	}
	free(order);
	ck_assert_int_eq(tdbscan_free(s->tdb, &f0), 0);
	ck_assert_int_eq(store_grow_mark(s, &mark), 0);
	ck_assert_uint_ne(mark.recovery, 0);
	pid = fork_guarded(s);
	if (pid == 0) {
		utime_do = UTIME_DIE;
		(void)store_grow(s, f0.bytes + 16 * 1024 * 1024, &after);
		_exit(0); /* not reached */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* it moved the area past the old end */
	ck_assert_uint_ge(recovery_of(dbpath), mark.size);
	ck_assert_int_eq(store_guard(s, false), 0);
	ck_assert_int_eq(store_grow_undo(s, &mark), 0);
	ck_assert_uint_eq(recovery_of(dbpath), mark.recovery);
	ck_assert_uint_eq(file_bytes(dbpath), mark.size);
	store_release(s);
	ck_assert_int_eq(tdb_exists(s->tdb, tstr("x3")), 1);
	ck_assert_int_eq(tdb_check(s->tdb, NULL, NULL), 0);
	store_close(s);
	ck_assert_int_eq(tdb_check_of(dbpath), 0);
}
END_TEST

void
store_grow_tests(TCase *tc)
{
	tcase_add_test(tc, test_a_grown_file_has_the_room_and_what_it_held);
	tcase_add_test(tc, test_a_file_free_in_pieces_is_grown_without_a_repack);
	tcase_add_test(tc, test_a_child_grows_the_file_while_the_parent_reads_and_piles);
	tcase_add_test(tc, test_the_store_takes_no_lock_but_the_guards);
	tcase_add_test(tc, test_the_free_list_is_walked_and_a_bad_one_refused);
	tcase_add_test(tc, test_a_child_that_dies_in_its_commit_is_undone);
	tcase_add_test(tc, test_a_child_that_cannot_grow_the_file_leaves_it_as_it_was);
	tcase_add_test(tc, test_a_growth_that_landed_is_kept_by_the_undo);
	tcase_add_test(tc, test_a_recovery_area_moved_past_the_end_is_put_back);
}
