/*
 * check_wal.c — unit tests for daemon/wal (and daemon/crc32c).
 *
 * Every test works in its own directory under $TMPDIR (or /tmp) and removes
 * it.  fdatasync(2) and fsync(2) are wrapped below to count the calls the
 * wal really makes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <sys/resource.h>
#include <signal.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crc32c.h"
#include "fsutil.h"
#include "wal.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* ------------------------------------------------------------ syscall counters */

static _Atomic int n_fdatasync, n_fsync;

/* Is fd the spare segment, which the sync thread makes ahead of need? */
static bool
is_spare(int fd)
{
	char link[64], path[512];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return false;
	path[n] = '\0';
	return strstr(path, "prealloc.tmp") != NULL;
}

/* The wal's calls bind to these definitions in the test program. */
int
fdatasync(int fd)
{
	if (!is_spare(fd))
		n_fdatasync++;
	return (int)syscall(SYS_fdatasync, fd);
}

int
fsync(int fd)
{
	if (!is_spare(fd))
		n_fsync++;
	return (int)syscall(SYS_fsync, fd);
}

/* ------------------------------------------------------------ helpers */

static char topdir[256];
static char waldir[300];

static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(topdir, sizeof(topdir), "%s/check_wal.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(topdir));
	snprintf(waldir, sizeof(waldir), "%s/wal", topdir);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	nftw(topdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
entry_data(char *buf, size_t len, uint64_t index, uint64_t term)
{
	snprintf(buf, len, "entry %" PRIu64 " of term %" PRIu64, index, term);
}

/* Append [from, to] with the given term, in batches of batch, syncing after each. */
static void
append_range(struct wal *w, uint64_t from, uint64_t to, uint64_t term, size_t batch)
{
	struct wal_entry e[16];
	char data[16][64];

	ck_assert_uint_le(batch, 16);
	while (from <= to) {
		size_t n = 0;

		for (; n < batch && from <= to; n++, from++) {
			entry_data(data[n], sizeof(data[n]), from, term);
			e[n].index = from;
			e[n].term = term;
			e[n].type = (uint8_t)(from % 3);
			e[n].len = (uint32_t)strlen(data[n]);
			e[n].data = (uint8_t *)data[n];
		}
		ck_assert_int_eq(wal_append(w, e, n), 0);
		ck_assert_int_eq(wal_sync(w), 0);
	}
}

/* The recovered log is exactly [first, last] with the data append_range writes. */
static void
check_log(const struct wal_recovered *rec, uint64_t first, uint64_t last,
	uint64_t (*term_of)(uint64_t))
{
	ck_assert_uint_eq(rec->snap_index + 1, first);
	ck_assert_uint_eq(rec->nentries, last + 1 - first);
	for (size_t i = 0; i < rec->nentries; i++) {
		const struct wal_entry *e = &rec->entries[i];
		char want[64];

		ck_assert_uint_eq(e->index, first + i);
		ck_assert_uint_eq(e->term, term_of(e->index));
		ck_assert_uint_eq(e->type, e->index % 3);
		entry_data(want, sizeof(want), e->index, e->term);
		ck_assert_uint_eq(e->len, strlen(want));
		ck_assert(memcmp(e->data, want, e->len) == 0);
	}
}

/*
 * The same for a log that may keep a margin below its snapshot: [first,
 * last], first at or below the entry after the snapshot.
 */
static void
check_log_from(const struct wal_recovered *rec, uint64_t first, uint64_t last,
	uint64_t (*term_of)(uint64_t))
{
	struct wal_recovered tail = *rec;

	ck_assert_uint_ge(rec->nentries, 1);
	ck_assert_uint_eq(rec->entries[0].index, first);
	ck_assert_uint_le(first, rec->snap_index + 1);
	tail.snap_index = first - 1;
	check_log(&tail, first, last, term_of);
}

static uint64_t
term_one(uint64_t index)
{
	return 1;
}

static struct wal *
open_ok(struct wal_recovered *rec)
{
	struct wal *w = NULL;
	char err[512] = "";
	int r = wal_open(waldir, &w, rec, err, sizeof(err));

	ck_assert_msg(r == 0, "wal_open: %d %s", r, err);
	ck_assert_ptr_nonnull(w);
	return w;
}

/* Opening must fail with -EBADMSG; returns the message. */
static void
open_fails(char *err, size_t errlen)
{
	struct wal_recovered rec;
	struct wal *w = (struct wal *)1;
	int r;

	err[0] = '\0';
	r = wal_open(waldir, &w, &rec, err, errlen);
	ck_assert_msg(r == -EBADMSG, "wal_open returned %d (%s)", r, err);
	ck_assert_ptr_null(w);
	ck_assert_uint_eq(rec.nentries, 0);
	ck_assert_ptr_null(rec.entries);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Segment file names in waldir, sorted. */
static int
list_segs(char names[][64], int max)
{
	DIR *d = opendir(waldir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 4 && len < 64 && strcmp(de->d_name + len - 4, ".wal") == 0) {
			ck_assert_int_lt(n, max);
			memcpy(names[n++], de->d_name, len + 1);
		}
	}
	closedir(d);
	qsort(names, (size_t)n, 64, name_cmp);
	return n;
}

static uint8_t *
read_file(const char *name, size_t *size)
{
	char path[512];
	struct stat st;
	uint8_t *b;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", waldir, name);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return b;
}

static void
write_file(const char *name, const uint8_t *b, size_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", waldir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b, size), (ssize_t)size);
	close(fd);
}

static size_t
file_size(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", waldir, name);
	ck_assert_int_eq(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* Offset of the last nonzero byte of b[from, to), plus one; from if none. */
static size_t
nonzero_end(const uint8_t *b, size_t from, size_t to)
{
	while (to > from && b[to - 1] == 0)
		to--;
	return to;
}

/* The record that starts the bytes of every sync (wal_record.c). */
#define SYNC_MARK_TYPE	128

/*
 * Offsets of the records of a segment image (after its header; sync marks
 * left out); *end is
 * where they end: the zeros of the preallocated rest, all zero, follow.
 */
static int
record_offsets(const uint8_t *b, size_t size, size_t *offs, int max, size_t *end)
{
	size_t off = WAL_HEADER_BYTES;
	int n = 0;

	while (off + 8 <= size) {
		uint32_t len = (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 |
			(uint32_t)b[off + 2] << 16 | (uint32_t)b[off + 3] << 24;

		if (len == 0)
			break;
		if (b[off + 8] != SYNC_MARK_TYPE) {	/* the marks are not listed */
			ck_assert_int_lt(n, max);
			offs[n++] = off;
		}
		off += 8 + len;
	}
	ck_assert_uint_le(off, size);
	*end = off;
	ck_assert_msg(nonzero_end(b, off, size) == off, "byte %zu after the records is"
		" not zero", nonzero_end(b, off, size) - 1);
	return n;
}

/* A wal of entries 1..5 (term 1), closed; returns the single segment's name. */
static void
make_five(char *name)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	char names[4][64];

	append_range(w, 1, 5, 1, 1);
	wal_close(w);
	wal_recovered_free(&rec);
	ck_assert_int_eq(list_segs(names, 4), 1);
	strcpy(name, names[0]);
}

/* ------------------------------------------------------------ crc32c */

START_TEST(test_crc32c_gives_the_standard_check_value)
{
	uint8_t buf[1024];

	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c_sw(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len < 300; len += 13)
			ck_assert_uint_eq(crc32c(0, buf + off, len), crc32c_sw(0, buf + off, len));
}
END_TEST

/* ------------------------------------------------------------ round trips */

START_TEST(test_entries_hard_state_and_snapshot_marker_survive_reopen)
{
	struct wal_recovered rec;
	struct wal_hardstate hs = { .term = 7, .vote = 3, .commit = 12 };
	struct wal *w = open_ok(&rec);
	struct wal_entry empty = { .index = 21, .term = 1, .type = 9 };

	ck_assert_uint_eq(rec.nentries, 0);
	ck_assert_uint_eq(rec.hs.term, 0);
	ck_assert(!rec.truncated_tail);
	wal_recovered_free(&rec);

	append_range(w, 1, 20, 1, 4);
	ck_assert_int_eq(wal_append(w, &empty, 1), 0);
	ck_assert_int_eq(wal_set_hardstate(w, &hs), 0);
	ck_assert_int_eq(wal_snapshot(w, 10, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_uint_eq(wal_last_index(w), 21);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.hs.term, 7);
	ck_assert_uint_eq(rec.hs.vote, 3);
	ck_assert_uint_eq(rec.hs.commit, 12);
	ck_assert_uint_eq(rec.snap_index, 10);
	ck_assert_uint_eq(rec.snap_term, 1);
	/* the entries up to the snapshot stay: the log agreed with it */
	ck_assert_uint_eq(rec.nentries, 21);
	/* the last one has no data */
	ck_assert_uint_eq(rec.entries[20].index, 21);
	ck_assert_uint_eq(rec.entries[20].len, 0);
	ck_assert_uint_eq(rec.entries[20].type, 9);
	rec.nentries = 20;
	check_log_from(&rec, 1, 20, term_one);
	rec.nentries = 21;
	ck_assert(!rec.truncated_tail);
	ck_assert_str_eq(rec.message, "");
	ck_assert_uint_eq(wal_last_index(w), 21);
	ck_assert_uint_eq(wal_snapshot_index(w), 10);
	ck_assert_uint_eq(wal_snapshot_term(w), 1);
	wal_recovered_free(&rec);

	/* appending continues where it stopped */
	{
		struct wal_entry e = { .index = 22, .term = 2, .len = 0 };

		ck_assert_int_eq(wal_append(w, &e, 1), 0);
		ck_assert_int_eq(wal_sync(w), 0);
	}
	wal_close(w);
	w = open_ok(&rec);
	ck_assert_uint_eq(rec.nentries, 22);
	ck_assert_uint_eq(rec.entries[21].index, 22);
	ck_assert_uint_eq(rec.entries[21].term, 2);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

START_TEST(test_a_large_entry_survives_reopen_and_an_oversized_one_is_refused)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	struct wal_entry e = { .index = 1, .term = 1, .len = 3 * 1024 * 1024 };
	uint8_t *big = malloc(e.len);

	wal_recovered_free(&rec);
	ck_assert_ptr_nonnull(big);
	for (uint32_t i = 0; i < e.len; i++)
		big[i] = (uint8_t)(i * 7 + i / 4096);
	e.data = big;
	ck_assert_int_eq(wal_append(w, &e, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	e.index = 2;
	e.len = WAL_MAX_ENTRY_DATA + 1;
	ck_assert_int_eq(wal_append(w, &e, 1), -EMSGSIZE);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.nentries, 1);
	ck_assert_uint_eq(rec.entries[0].len, 3 * 1024 * 1024);
	ck_assert(memcmp(rec.entries[0].data, big, 3 * 1024 * 1024) == 0);
	wal_recovered_free(&rec);
	wal_close(w);
	free(big);
}
END_TEST

static uint64_t
term_truncated(uint64_t index)
{
	return index < 8 ? 1 : index < 12 ? 2 : 3;
}

START_TEST(test_appending_a_lower_index_replaces_the_log_from_that_index)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);

	wal_recovered_free(&rec);
	append_range(w, 1, 15, 1, 5);
	append_range(w, 8, 14, 2, 3);	/* leader of term 2 overwrote 8.. */
	append_range(w, 12, 13, 3, 2);	/* and a leader of term 3 from 12 */
	ck_assert_uint_eq(wal_last_index(w), 13);
	wal_close(w);

	w = open_ok(&rec);
	check_log(&rec, 1, 13, term_truncated);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

START_TEST(test_append_refuses_gaps_lower_terms_and_indexes_under_the_snapshot)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	struct wal_entry e = { .index = 2, .term = 1 };
	struct wal_entry two[2] = { { .index = 6, .term = 2 }, { .index = 8, .term = 2 } };

	wal_recovered_free(&rec);
	ck_assert_int_eq(wal_append(w, &e, 1), -EINVAL);	/* log is empty: 1 first */
	append_range(w, 1, 5, 2, 5);
	e.index = 7;
	ck_assert_int_eq(wal_append(w, &e, 1), -EINVAL);	/* gap */
	e.index = 6;
	e.term = 1;
	ck_assert_int_eq(wal_append(w, &e, 1), -EINVAL);	/* term went down */
	ck_assert_int_eq(wal_append(w, two, 2), -EINVAL);	/* gap inside the batch */
	ck_assert_int_eq(wal_snapshot(w, 3, 2), 0);
	e.index = 3;
	e.term = 2;
	ck_assert_int_eq(wal_append(w, &e, 1), -EINVAL);	/* covered by the snapshot */
	ck_assert_int_eq(wal_snapshot(w, 2, 2), -EINVAL);	/* snapshots do not go back */
	ck_assert_int_eq(wal_snapshot(w, 3, 5), -EINVAL);
	ck_assert_int_eq(wal_snapshot(w, 3, 2), 0);		/* the same again: no-op */
	ck_assert_uint_eq(wal_last_index(w), 5);
	ck_assert_int_eq(wal_sync(w), 0);
	wal_close(w);

	/* nothing refused reached the disk */
	w = open_ok(&rec);
	ck_assert_uint_eq(rec.snap_index, 3);
	ck_assert_uint_eq(rec.nentries, 5);	/* 1..3 kept below the snapshot */
	ck_assert_uint_eq(rec.entries[0].index, 1);
	ck_assert_uint_eq(rec.entries[4].index, 5);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

START_TEST(test_snapshot_matching_the_log_keeps_the_entries_after_it)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);

	wal_recovered_free(&rec);
	append_range(w, 1, 10, 1, 5);
	ck_assert_int_eq(wal_snapshot(w, 6, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_uint_eq(wal_last_index(w), 10);
	append_range(w, 11, 12, 1, 2);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.snap_term, 1);
	ck_assert_uint_eq(rec.snap_index, 6);
	check_log_from(&rec, 1, 12, term_one);	/* 1..6: the margin below it */
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

START_TEST(test_snapshot_contradicting_the_log_discards_the_whole_log)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	struct wal_entry e = { .index = 9, .term = 2 };

	wal_recovered_free(&rec);
	append_range(w, 1, 10, 1, 5);
	/* a leader's snapshot whose last entry has another term (§7) */
	ck_assert_int_eq(wal_snapshot(w, 8, 2), 0);
	ck_assert_uint_eq(wal_last_index(w), 8);
	ck_assert_int_eq(wal_append(w, &e, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.snap_index, 8);
	ck_assert_uint_eq(rec.snap_term, 2);
	ck_assert_uint_eq(rec.nentries, 1);
	ck_assert_uint_eq(rec.entries[0].index, 9);
	ck_assert_uint_eq(rec.entries[0].term, 2);
	wal_recovered_free(&rec);

	/* a snapshot beyond the log: the next entry must follow it */
	ck_assert_int_eq(wal_snapshot(w, 20, 3), 0);
	e.index = 10;
	ck_assert_int_eq(wal_append(w, &e, 1), -EINVAL);
	e.index = 21;
	e.term = 3;
	ck_assert_int_eq(wal_append(w, &e, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	wal_close(w);
	w = open_ok(&rec);
	ck_assert_uint_eq(rec.snap_index, 20);
	ck_assert_uint_eq(rec.nentries, 1);
	ck_assert_uint_eq(rec.entries[0].index, 21);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

/* ------------------------------------------------------------ rotation and compaction */

static uint64_t
term_rotation(uint64_t index)
{
	return index < 25 ? 1 : 2;
}

START_TEST(test_rotated_segments_are_compacted_and_replay_stays_correct)
{
	struct wal_recovered rec;
	struct wal_hardstate hs = { .term = 2, .vote = 5, .commit = 20 };
	struct wal *w = open_ok(&rec);
	char names[64][64];
	int before, after;

	wal_recovered_free(&rec);
	wal_set_segment_bytes(w, 300);
	ck_assert_int_eq(wal_set_hardstate(w, &hs), 0);
	append_range(w, 1, 30, 1, 3);
	append_range(w, 25, 60, 2, 3);	/* truncation across segments */
	before = list_segs(names, 64);
	ck_assert_int_ge(before, 5);
	ck_assert_uint_eq(wal_stats(w)->segments, (size_t)before);

	/* keep_from must not pass the snapshot */
	ck_assert_int_eq(wal_compact(w, 2), -EINVAL);
	ck_assert_int_eq(wal_snapshot(w, 40, 2), 0);
	ck_assert_int_eq(wal_compact(w, 42), -EINVAL);
	/* not before a sync has made the marker durable */
	ck_assert_int_eq(wal_compact(w, 36), -EAGAIN);
	ck_assert_int_eq(list_segs(names, 64), before);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_int_eq(wal_compact(w, 36), 0);
	fs_unlink_wait();
	after = list_segs(names, 64);
	ck_assert_int_lt(after, before);
	ck_assert_int_ge(after, 2);
	ck_assert_uint_eq(wal_stats(w)->segments, (size_t)after);
	ck_assert_uint_eq(wal_stats(w)->segments_deleted, (uint64_t)(before - after));
	append_range(w, 61, 64, 2, 2);
	wal_close(w);

	w = open_ok(&rec);
	/* the hard state was written once, in a segment since deleted */
	ck_assert_uint_eq(rec.hs.term, 2);
	ck_assert_uint_eq(rec.hs.vote, 5);
	ck_assert_uint_eq(rec.hs.commit, 20);
	ck_assert_uint_eq(rec.snap_term, 2);
	ck_assert_uint_eq(rec.snap_index, 40);
	/* what compaction kept (from 36, by whole segments) stays below it */
	ck_assert_uint_le(rec.entries[0].index, 36);
	check_log_from(&rec, rec.entries[0].index, 64, term_rotation);
	wal_recovered_free(&rec);

	/* compacting everything the snapshot covers still leaves a valid wal */
	wal_set_segment_bytes(w, 300);
	ck_assert_int_eq(wal_snapshot(w, 60, 2), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_int_eq(wal_compact(w, 61), 0);
	wal_close(w);
	w = open_ok(&rec);
	ck_assert_uint_eq(rec.snap_index, 60);
	check_log_from(&rec, rec.entries[0].index, 64, term_rotation);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

START_TEST(test_replay_accepts_an_old_marker_left_after_compaction)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);

	wal_recovered_free(&rec);
	wal_set_segment_bytes(w, 200);
	append_range(w, 1, 30, 1, 2);
	/*
	 * A marker at 5 written after entry 30: once the segments up to ~20
	 * are gone, replay meets it while the log it holds starts above 6.
	 */
	ck_assert_int_eq(wal_snapshot(w, 5, 1), 0);
	append_range(w, 31, 40, 1, 2);
	ck_assert_int_eq(wal_snapshot(w, 25, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_int_eq(wal_compact(w, 20), 0);
	ck_assert_uint_ge(wal_stats(w)->segments_deleted, 3);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.snap_index, 25);
	ck_assert_uint_le(rec.entries[0].index, 20);	/* compacted from 20 */
	check_log_from(&rec, rec.entries[0].index, 40, term_one);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

START_TEST(test_missing_middle_segment_fails_open)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	char names[64][64], path[512], err[512];
	int n;

	wal_recovered_free(&rec);
	wal_set_segment_bytes(w, 200);
	append_range(w, 1, 30, 1, 2);
	wal_close(w);
	n = list_segs(names, 64);
	ck_assert_int_ge(n, 3);
	snprintf(path, sizeof(path), "%s/%s", waldir, names[1]);
	ck_assert_int_eq(unlink(path), 0);
	open_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "missing") != NULL, "%s", err);
	ck_assert_int_eq(list_segs(names, 64), n - 1);
}
END_TEST

START_TEST(test_deleting_the_oldest_segment_by_hand_is_detected)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	char names[64][64], path[512], err[512];

	wal_recovered_free(&rec);
	wal_set_segment_bytes(w, 200);
	append_range(w, 1, 30, 1, 2);
	wal_close(w);
	ck_assert_int_ge(list_segs(names, 64), 3);
	snprintf(path, sizeof(path), "%s/%s", waldir, names[0]);
	ck_assert_int_eq(unlink(path), 0);
	open_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "missing") != NULL, "%s", err);
}
END_TEST

START_TEST(test_leftover_tmp_segment_from_a_crash_is_removed)
{
	struct wal_recovered rec;
	struct wal *w;
	char name[64], names[4][64], path[512];
	static const uint8_t junk[] = "half a segment";

	make_five(name);
	snprintf(path, sizeof(path), "0000000000000001-0000000000000006.wal.tmp");
	write_file(path, junk, sizeof(junk));
	w = open_ok(&rec);
	check_log(&rec, 1, 5, term_one);
	wal_recovered_free(&rec);
	wal_close(w);
	snprintf(path, sizeof(path), "%s/0000000000000001-0000000000000006.wal.tmp", waldir);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(list_segs(names, 4), 1);
}
END_TEST

/* ------------------------------------------------------------ torn and damaged */

START_TEST(test_cutting_the_last_record_anywhere_truncates_to_the_good_prefix)
{
	char name[64], want[256];
	size_t size, end, offs[16];
	uint8_t *orig, *b, *after;
	int n;

	make_five(name);
	orig = read_file(name, &size);
	ck_assert_uint_eq(size, WAL_SEGMENT_BYTES);	/* preallocated */
	n = record_offsets(orig, size, offs, 16, &end);
	ck_assert_int_eq(n, 7);	/* hard state, snapshot marker, 5 entries */
	b = malloc(size);
	ck_assert_ptr_nonnull(b);

	/* A crash that wrote only the first bytes of the last record: the
	 * rest of the segment is still the preallocated zeros. */
	for (size_t cut = offs[n - 1]; cut < end; cut++) {
		struct wal_recovered rec;
		struct wal *w;
		size_t size2, end2, offs2[16];

		memcpy(b, orig, size);
		memset(b + cut, 0, size - cut);
		write_file(name, b, size);
		w = open_ok(&rec);
		check_log(&rec, 1, 4, term_one);
		if (nonzero_end(b, offs[n - 1], end) == offs[n - 1]) {
			ck_assert(!rec.truncated_tail);
		} else {
			ck_assert(rec.truncated_tail);
			snprintf(want, sizeof(want), "wal: segment %s: torn record at"
				" offset %zu (%zu bytes dropped); truncated", name,
				offs[n - 1], nonzero_end(b, offs[n - 1], end) - offs[n - 1]);
			ck_assert_str_eq(rec.message, want);
		}
		wal_recovered_free(&rec);
		wal_close(w);
		after = read_file(name, &size2);
		ck_assert_uint_eq(size2, size);
		ck_assert_int_eq(record_offsets(after, size2, offs2, 16, &end2), 6);
		ck_assert_uint_eq(end2, offs[n - 1]);
		free(after);
	}

	/* A file cut short (a segment of version 1, or a copy gone wrong). */
	for (size_t cut = offs[n - 1] + 1; cut < end; cut += 7) {
		struct wal_recovered rec;
		struct wal *w;

		write_file(name, orig, cut);
		w = open_ok(&rec);
		check_log(&rec, 1, 4, term_one);
		ck_assert(rec.truncated_tail);
		wal_recovered_free(&rec);
		wal_close(w);
	}

	/* after the repair the wal takes the entry again */
	{
		struct wal_recovered rec;
		struct wal *w = open_ok(&rec);

		wal_recovered_free(&rec);
		append_range(w, 5, 6, 1, 2);
		wal_close(w);
		w = open_ok(&rec);
		check_log(&rec, 1, 6, term_one);
		wal_recovered_free(&rec);
		wal_close(w);
	}
	free(b);
	free(orig);
}
END_TEST

START_TEST(test_zeros_after_the_records_are_a_clean_end)
{
	char name[64];
	size_t size, size2;
	uint8_t *orig, *after;
	struct wal_recovered rec;
	struct wal *w;

	make_five(name);
	orig = read_file(name, &size);
	w = open_ok(&rec);
	check_log(&rec, 1, 5, term_one);
	ck_assert(!rec.truncated_tail);
	ck_assert_str_eq(rec.message, "");
	wal_recovered_free(&rec);
	wal_close(w);
	after = read_file(name, &size2);
	ck_assert_uint_eq(size2, size);
	ck_assert(memcmp(after, orig, size) == 0);
	free(after);
	free(orig);
}
END_TEST

START_TEST(test_an_unfinished_write_after_the_end_is_cleared)
{
	char name[64], want[256];
	size_t size, size2, end, end2, offs[16];
	uint8_t *orig, *after;
	struct wal_recovered rec;
	struct wal *w;

	/* The pages of an unsynced write reach the disk out of order: its
	 * first is still zeros, a later one holds bytes. */
	make_five(name);
	orig = read_file(name, &size);
	record_offsets(orig, size, offs, 16, &end);
	memcpy(orig + end + 4096, "later page", 10);
	write_file(name, orig, size);
	w = open_ok(&rec);
	check_log(&rec, 1, 5, term_one);
	ck_assert(rec.truncated_tail);
	snprintf(want, sizeof(want), "wal: segment %s: bytes of an unfinished write"
		" after the last record at offset %zu (%zu bytes dropped); truncated",
		name, end, (size_t)4096 + 10);
	ck_assert_str_eq(rec.message, want);
	/* the next append goes where the records end, and reads back whole */
	append_range(w, 6, 8, 1, 3);
	wal_close(w);
	wal_recovered_free(&rec);
	w = open_ok(&rec);
	check_log(&rec, 1, 8, term_one);
	ck_assert(!rec.truncated_tail);
	wal_recovered_free(&rec);
	wal_close(w);
	after = read_file(name, &size2);
	ck_assert_int_eq(record_offsets(after, size2, offs, 16, &end2), 10);
	free(after);
	free(orig);
}
END_TEST

START_TEST(test_a_flipped_byte_in_the_last_record_is_truncated)
{
	char name[64];
	size_t size, end, offs[16];
	uint8_t *orig, *b, *after;
	int n;

	make_five(name);
	orig = read_file(name, &size);
	n = record_offsets(orig, size, offs, 16, &end);
	b = malloc(size);
	ck_assert_ptr_nonnull(b);
	for (size_t pos = offs[n - 1]; pos < end; pos++) {
		struct wal_recovered rec;
		struct wal *w;
		size_t size2, end2, offs2[16];

		memcpy(b, orig, size);
		b[pos] ^= 0x20;
		write_file(name, b, size);
		w = open_ok(&rec);
		check_log(&rec, 1, 4, term_one);
		ck_assert(rec.truncated_tail);
		wal_recovered_free(&rec);
		wal_close(w);
		after = read_file(name, &size2);
		ck_assert_uint_eq(size2, size);
		record_offsets(after, size2, offs2, 16, &end2);
		ck_assert_uint_eq(end2, offs[n - 1]);
		free(after);
	}
	free(b);
	free(orig);
}
END_TEST

/* Version 1 segments (not preallocated) are still read and appended to. */
START_TEST(test_a_version_1_segment_is_read_and_its_zero_tail_cut)
{
	uint8_t b[2048] = { 0 };
	size_t off = WAL_HEADER_BYTES;
	struct wal_recovered rec;
	struct wal *w;
	char path[512];

	memcpy(b, "RCWAL\0\0\0", 8);
	b[8] = 1;	/* version */
	b[20] = 1;	/* first index */
	{
		uint32_t c = crc32c(0, b, 28);

		for (int i = 0; i < 4; i++)
			b[28 + i] = (uint8_t)(c >> (8 * i));
	}
	for (uint64_t idx = 1; idx <= 3; idx++) {
		uint8_t *p = b + off;
		char data[64];
		size_t dl;
		uint32_t c;

		entry_data(data, sizeof(data), idx, 1);
		dl = strlen(data);
		p[0] = (uint8_t)(18 + dl);
		p[8] = 1;
		p[9] = (uint8_t)idx;
		p[17] = 1;
		p[25] = (uint8_t)(idx % 3);
		memcpy(p + 26, data, dl);
		c = crc32c(0, p + 8, 18 + dl);
		for (int i = 0; i < 4; i++)
			p[4 + i] = (uint8_t)(c >> (8 * i));
		off += 26 + dl;
	}
	ck_assert_int_eq(mkdir(waldir, 0700), 0);
	/* zeros after the last record: a crash during an append in version 1 */
	write_file("0000000000000000-0000000000000001.wal", b, off + 100);
	w = open_ok(&rec);
	check_log(&rec, 1, 3, term_one);
	ck_assert(rec.truncated_tail);
	ck_assert_msg(strstr(rec.message, "(100 bytes dropped)") != NULL, "%s", rec.message);
	wal_recovered_free(&rec);
	snprintf(path, sizeof(path), "0000000000000000-0000000000000001.wal");
	ck_assert_uint_eq(file_size(path), off);
	append_range(w, 4, 6, 1, 3);
	wal_close(w);
	w = open_ok(&rec);
	check_log(&rec, 1, 6, term_one);
	ck_assert(!rec.truncated_tail);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

START_TEST(test_a_flipped_byte_before_good_records_fails_open_and_changes_nothing)
{
	char name[64], err[512], want[128];
	size_t size, size2, end, offs[16];
	uint8_t *orig, *after;
	int n;

	make_five(name);
	orig = read_file(name, &size);
	n = record_offsets(orig, size, offs, 16, &end);
	/* a byte of the data of entry 2 (record 3), followed by entries 3..5 */
	orig[offs[3] + WAL_ENTRY_OVERHEAD + 2] ^= 0x01;
	write_file(name, orig, size);
	open_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, name) != NULL, "%s", err);
	snprintf(want, sizeof(want), "offset %zu: checksum mismatch", offs[3]);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	after = read_file(name, &size2);
	ck_assert_uint_eq(size2, size);
	ck_assert(memcmp(after, orig, size) == 0);
	free(after);

	/* a damaged length field is caught the same way */
	orig[offs[3] + WAL_ENTRY_OVERHEAD + 2] ^= 0x01;
	orig[offs[4]] ^= 0x04;
	write_file(name, orig, size);
	open_fails(err, sizeof(err));
	snprintf(want, sizeof(want), "offset %zu:", offs[4]);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	after = read_file(name, &size2);
	ck_assert_uint_eq(size2, size);
	ck_assert(memcmp(after, orig, size) == 0);
	ck_assert_int_eq(n, 7);
	free(after);
	free(orig);
}
END_TEST

START_TEST(test_damage_in_a_segment_before_the_last_fails_open)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	char names[64][64], err[512];
	size_t size, size2, end, offs[64];
	uint8_t *b, *after;
	int n;

	wal_recovered_free(&rec);
	wal_set_segment_bytes(w, 200);
	append_range(w, 1, 20, 1, 2);
	wal_close(w);
	ck_assert_int_ge(list_segs(names, 64), 2);
	/* the last record of the first segment: a tail, but not the wal's tail */
	b = read_file(names[0], &size);
	n = record_offsets(b, size, offs, 64, &end);
	b[end - 1] ^= 0xff;
	write_file(names[0], b, size);
	open_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, names[0]) != NULL, "%s", err);
	ck_assert_msg(strstr(err, "not the last") != NULL, "%s", err);
	after = read_file(names[0], &size2);
	ck_assert_uint_eq(size2, size);
	ck_assert(memcmp(after, b, size) == 0);

	/* and a cut-short one */
	write_file(names[0], b, offs[n - 1] + 3);
	open_fails(err, sizeof(err));
	ck_assert_uint_eq(file_size(names[0]), offs[n - 1] + 3);
	free(after);
	free(b);
}
END_TEST

START_TEST(test_a_bad_segment_header_fails_open)
{
	char name[64], err[512];
	size_t size;
	uint8_t *b;

	make_five(name);
	b = read_file(name, &size);
	b[14] ^= 0x01;	/* the sequence number: caught by the header crc */
	write_file(name, b, size);
	open_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "bad segment header") != NULL, "%s", err);
	ck_assert_msg(strstr(err, name) != NULL, "%s", err);
	ck_assert_uint_eq(file_size(name), size);

	/* a header cut short is not a torn tail either */
	write_file(name, b, 10);
	open_fails(err, sizeof(err));
	ck_assert_uint_eq(file_size(name), 10);
	free(b);
}
END_TEST

/* A hand-made segment: header then records of (type, payload). */
struct rawrec {
	uint8_t type;
	uint8_t payload[32];
	size_t len;
};

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static struct rawrec
raw_entry(uint64_t index, uint64_t term)
{
	struct rawrec r = { .type = 1, .len = 17 + 3 };

	put64(r.payload, index);
	put64(r.payload + 8, term);
	r.payload[16] = 0;
	memcpy(r.payload + 17, "abc", 3);
	return r;
}

static void
write_raw_segment(const struct rawrec *recs, size_t n)
{
	uint8_t b[1024];
	size_t off = WAL_HEADER_BYTES;

	memcpy(b, "RCWAL\0\0\0", 8);
	put32(b + 8, 1);
	put64(b + 12, 0);
	put64(b + 20, 1);
	put32(b + 28, crc32c(0, b, 28));
	for (size_t i = 0; i < n; i++) {
		put32(b + off, (uint32_t)(recs[i].len + 1));
		b[off + 8] = recs[i].type;
		memcpy(b + off + 9, recs[i].payload, recs[i].len);
		put32(b + off + 4, crc32c(0, b + off + 8, recs[i].len + 1));
		off += 9 + recs[i].len;
	}
	ck_assert_int_eq(mkdir(waldir, 0700), 0);
	write_file("0000000000000000-0000000000000001.wal", b, off);
}

START_TEST(test_a_gap_in_entry_indexes_fails_open)
{
	struct rawrec r[3] = { raw_entry(1, 1), raw_entry(2, 1), raw_entry(4, 1) };
	char err[512];

	write_raw_segment(r, 3);
	open_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "gap") != NULL, "%s", err);
}
END_TEST

START_TEST(test_unknown_record_types_fail_open_unless_marked_optional)
{
	struct rawrec r[3] = { raw_entry(1, 1), { .type = 200, .len = 5 }, raw_entry(2, 1) };
	struct wal_recovered rec;
	struct wal *w;
	char err[512];

	write_raw_segment(r, 3);
	w = open_ok(&rec);
	ck_assert_uint_eq(rec.nentries, 2);
	wal_recovered_free(&rec);
	wal_close(w);
	teardown();
	setup();

	r[1].type = 7;
	write_raw_segment(r, 3);
	open_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "unknown record type 7") != NULL, "%s", err);
}
END_TEST

START_TEST(test_a_second_open_of_the_same_directory_is_refused)
{
	struct wal_recovered rec, rec2;
	struct wal *w = open_ok(&rec), *w2 = NULL;
	char err[512] = "";

	ck_assert_int_eq(wal_open(waldir, &w2, &rec2, err, sizeof(err)), -EBUSY);
	ck_assert_ptr_null(w2);
	ck_assert_msg(strstr(err, "in use") != NULL, "%s", err);
	wal_close(w);
	wal_recovered_free(&rec);
}
END_TEST

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

/*
 * A crash during a sync may leave any of its pages on disk and not the
 * others (version 2 writes in place): a hole in the last sync's bytes with
 * good records after it is a torn write, not damage.
 */
START_TEST(test_a_hole_in_the_last_sync_is_a_torn_write)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	char names[4][64];
	size_t size, end, offs[256];
	uint8_t *b;
	uint64_t kept;
	int n;

	wal_recovered_free(&rec);
	append_range(w, 1, 10, 1, 10);		/* one sync */
	append_range(w, 11, 200, 1, 16);	/* syncs of 16 */
	wal_close(w);
	ck_assert_int_eq(list_segs(names, 4), 1);
	b = read_file(names[0], &size);
	n = record_offsets(b, size, offs, 256, &end);
	ck_assert_int_eq(n, 2 + 200);
	/* Zero a stretch inside the last sync (entries 187..200): the page
	 * with entries 196 and 197 lost, the entries after it on disk. */
	{
		size_t from = offs[2 + 195], to = offs[2 + 197];

		memset(b + from, 0, to - from);
	}
	write_file(names[0], b, size);
	w = open_ok(&rec);
	kept = rec.snap_index + rec.nentries;
	ck_assert_uint_eq(kept, 195);
	check_log(&rec, 1, 195, term_one);
	ck_assert(rec.truncated_tail);
	ck_assert_msg(strstr(rec.message, "bytes of an unfinished write") != NULL ||
		strstr(rec.message, "torn record") != NULL, "%s", rec.message);
	wal_recovered_free(&rec);
	append_range(w, 196, 210, 1, 5);
	wal_close(w);
	w = open_ok(&rec);
	check_log(&rec, 1, 210, term_one);
	ck_assert(!rec.truncated_tail);
	wal_recovered_free(&rec);
	wal_close(w);
	free(b);

	/* The same hole in an earlier sync, with later syncs' marks after
	 * it, is damage to acknowledged data: refused, nothing changed. */
	{
		char err[512];
		size_t size2, end2, offs2[256];
		uint8_t *b2, *after;

		b2 = read_file(names[0], &size2);
		record_offsets(b2, size2, offs2, 256, &end2);
		memset(b2 + offs2[2 + 20], 0, offs2[2 + 22] - offs2[2 + 20]);
		write_file(names[0], b2, size2);
		open_fails(err, sizeof(err));
		ck_assert_msg(strstr(err, "later sync's mark") != NULL, "%s", err);
		after = read_file(names[0], &end2);
		ck_assert(memcmp(after, b2, size2) == 0);
		free(after);
		free(b2);
	}
}
END_TEST

/* Records that end less than a header short of the preallocated size. */
START_TEST(test_records_ending_just_short_of_the_segment_end_are_clean)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	char names[4][64];
	size_t size, end, offs[16], len;
	uint8_t *b, *data;
	struct wal_entry e;

	wal_recovered_free(&rec);
	ck_assert_int_eq(list_segs(names, 4), 1);
	b = read_file(names[0], &size);
	record_offsets(b, size, offs, 16, &end);
	free(b);
	/* mark + entry record end 4 bytes before the segment's end */
	len = WAL_SEGMENT_BYTES - 4 - end - 17 - WAL_ENTRY_OVERHEAD;
	data = calloc(1, len);
	ck_assert_ptr_nonnull(data);
	memset(data, 'd', len);
	e = (struct wal_entry){ .index = 1, .term = 1, .type = 1, .len = (uint32_t)len,
		.data = data };
	ck_assert_int_eq(wal_append(w, &e, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	wal_close(w);
	b = read_file(names[0], &size);
	record_offsets(b, size, offs, 16, &end);
	ck_assert_uint_eq(end, WAL_SEGMENT_BYTES - 4);
	free(b);
	w = open_ok(&rec);
	ck_assert(!rec.truncated_tail);
	ck_assert_uint_eq(rec.nentries, 1);
	ck_assert_uint_eq(rec.entries[0].len, len);
	wal_recovered_free(&rec);
	wal_close(w);
	free(data);
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

/*
 * The bytes of a new segment after one sync, pinned (crcs included): the
 * header, the hard state and snapshot marker every segment starts with,
 * then the sync mark, a hard state and an entry.
 */
START_TEST(test_a_new_segment_holds_exactly_the_pinned_bytes)
{
	static const char pinned[] =
		"524357414c0000000200000000000000000000000100000000000000bbf4124f"
		"19000000ba28d841020000000000000000000000000000000000000000000000"
		"001200000059cb9ed8030000000000000000000000000000000000090000007d"
		"2c841a805b00000000000000190000008eab9b8b020200000000000000010000"
		"0000000000010000000000000015000000d4749a1d0101000000000000000200"
		"00000000000001616263";
	struct wal_hardstate hs = { 2, 1, 1 };
	struct wal_entry e = { 1, 2, 1, 3, (uint8_t *)"abc" };
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	char names[4][64];
	uint8_t *b;
	size_t size, n = strlen(pinned) / 2;

	wal_recovered_free(&rec);
	ck_assert_int_eq(wal_set_hardstate(w, &hs), 0);
	ck_assert_int_eq(wal_append(w, &e, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_int_eq(list_segs(names, 4), 1);
	ck_assert_str_eq(names[0], "0000000000000000-0000000000000001.wal");
	b = read_file(names[0], &size);
	ck_assert_uint_eq(size, WAL_SEGMENT_BYTES);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(pinned + 2 * i, "%2x", &v), 1);
		ck_assert_msg(b[i] == v, "byte %zu: 0x%02x, expected 0x%02x", i, b[i], v);
	}
	ck_assert_uint_eq(nonzero_end(b, n, size), n);
	free(b);
	wal_close(w);
}
END_TEST

/* ------------------------------------------------------------ the catch-up index */

START_TEST(test_the_catch_up_index_survives_reopen_and_zero_clears_it)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	uint64_t bytes;

	ck_assert_uint_eq(rec.catch_up_to, 0);
	wal_recovered_free(&rec);
	append_range(w, 1, 5, 1, 5);
	ck_assert_int_eq(wal_set_catch_up(w, 9), 0);
	ck_assert_uint_eq(wal_catch_up_to(w), 9);
	ck_assert_int_eq(wal_sync(w), 0);
	/* the same index again writes nothing */
	bytes = wal_stats(w)->bytes;
	ck_assert_int_eq(wal_set_catch_up(w, 9), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_uint_eq(wal_stats(w)->bytes, bytes);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.catch_up_to, 9);
	ck_assert_uint_eq(wal_catch_up_to(w), 9);
	check_log(&rec, 1, 5, term_one);
	wal_recovered_free(&rec);
	/* the last one wins: caught up */
	append_range(w, 6, 9, 1, 4);
	ck_assert_int_eq(wal_set_catch_up(w, 0), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.catch_up_to, 0);
	ck_assert_uint_eq(wal_catch_up_to(w), 0);
	check_log(&rec, 1, 9, term_one);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

START_TEST(test_the_catch_up_index_survives_rotation_and_compaction)
{
	struct wal_recovered rec;
	struct wal *w = open_ok(&rec);
	char names[64][64];
	int before;

	wal_recovered_free(&rec);
	wal_set_segment_bytes(w, 300);
	ck_assert_int_eq(wal_set_catch_up(w, 100), 0);
	append_range(w, 1, 40, 1, 3);
	before = list_segs(names, 64);
	ck_assert_int_ge(before, 4);
	/* the segment that holds the record written above goes */
	ck_assert_int_eq(wal_snapshot(w, 35, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_int_eq(wal_compact(w, 36), 0);
	ck_assert_uint_ge(wal_stats(w)->segments_deleted, 3);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.catch_up_to, 100);
	check_log_from(&rec, rec.entries[0].index, 40, term_one);
	wal_recovered_free(&rec);
	/* once cleared, new segments no longer carry it */
	wal_set_segment_bytes(w, 300);
	ck_assert_int_eq(wal_set_catch_up(w, 0), 0);
	append_range(w, 41, 80, 1, 3);
	ck_assert_int_eq(wal_snapshot(w, 75, 1), 0);
	ck_assert_int_eq(wal_sync(w), 0);
	ck_assert_int_eq(wal_compact(w, 76), 0);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.catch_up_to, 0);
	check_log_from(&rec, rec.entries[0].index, 80, term_one);
	wal_recovered_free(&rec);
	wal_close(w);
}
END_TEST

START_TEST(test_a_catch_up_record_of_the_wrong_size_fails_open)
{
	struct rawrec r[2] = { raw_entry(1, 1), { .type = 129, .len = 5 } };
	char err[512];

	write_raw_segment(r, 2);
	open_fails(err, sizeof(err));
	ck_assert_msg(strstr(err, "record type 129 has a payload of 5 bytes") != NULL, "%s",
		err);
}
END_TEST

static Suite *
wal_suite(void)
{
	Suite *s = suite_create("wal");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_crc32c_gives_the_standard_check_value);
	tcase_add_test(tc, test_a_new_segment_holds_exactly_the_pinned_bytes);
	tcase_add_test(tc, test_entries_hard_state_and_snapshot_marker_survive_reopen);
	tcase_add_test(tc, test_a_large_entry_survives_reopen_and_an_oversized_one_is_refused);
	tcase_add_test(tc, test_appending_a_lower_index_replaces_the_log_from_that_index);
	tcase_add_test(tc, test_append_refuses_gaps_lower_terms_and_indexes_under_the_snapshot);
	tcase_add_test(tc, test_snapshot_matching_the_log_keeps_the_entries_after_it);
	tcase_add_test(tc, test_snapshot_contradicting_the_log_discards_the_whole_log);
	tcase_add_test(tc, test_rotated_segments_are_compacted_and_replay_stays_correct);
	tcase_add_test(tc, test_replay_accepts_an_old_marker_left_after_compaction);
	tcase_add_test(tc, test_missing_middle_segment_fails_open);
	tcase_add_test(tc, test_deleting_the_oldest_segment_by_hand_is_detected);
	tcase_add_test(tc, test_leftover_tmp_segment_from_a_crash_is_removed);
	tcase_add_test(tc, test_cutting_the_last_record_anywhere_truncates_to_the_good_prefix);
	tcase_add_test(tc, test_zeros_after_the_records_are_a_clean_end);
	tcase_add_test(tc, test_an_unfinished_write_after_the_end_is_cleared);
	tcase_add_test(tc, test_a_flipped_byte_in_the_last_record_is_truncated);
	tcase_add_test(tc, test_a_version_1_segment_is_read_and_its_zero_tail_cut);
	tcase_add_test(tc, test_a_hole_in_the_last_sync_is_a_torn_write);
	tcase_add_test(tc, test_records_ending_just_short_of_the_segment_end_are_clean);
	tcase_add_test(tc, test_a_flipped_byte_before_good_records_fails_open_and_changes_nothing);
	tcase_add_test(tc, test_damage_in_a_segment_before_the_last_fails_open);
	tcase_add_test(tc, test_a_bad_segment_header_fails_open);
	tcase_add_test(tc, test_a_gap_in_entry_indexes_fails_open);
	tcase_add_test(tc, test_unknown_record_types_fail_open_unless_marked_optional);
	tcase_add_test(tc, test_a_second_open_of_the_same_directory_is_refused);
	tcase_add_test(tc, test_a_batch_of_appends_costs_exactly_one_fdatasync);
	tcase_add_test(tc, test_a_sync_runs_on_its_thread_while_appends_go_on);
	tcase_add_test(tc, test_segments_are_preallocated_and_a_sync_does_not_grow_them);
	tcase_add_test(tc, test_a_failed_sync_is_never_counted_done_and_names_its_file);
	tcase_add_test(tc, test_a_page_lost_from_a_buffer_written_before_its_sync_is_a_torn_write);
	tcase_add_test(tc, test_the_catch_up_index_survives_reopen_and_zero_clears_it);
	tcase_add_test(tc, test_the_catch_up_index_survives_rotation_and_compaction);
	tcase_add_test(tc, test_a_catch_up_record_of_the_wrong_size_fails_open);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(wal_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
