/*
 * check_wal.c — unit tests for daemon/wal (and daemon/crc32c).
 *
 * Every test works in its own directory under $TMPDIR (or /tmp) and removes
 * it.  fdatasync(2) and fsync(2) are wrapped below to count the calls the
 * wal really makes.
 *
 * This file holds the helpers, the CRC, round-trip and catch-up index
 * tests, and builds the suite; the segments (rotation, torn and damaged
 * ones) and the syncs have files of their own (check_wal.h).
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
#include "check_wal.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* ------------------------------------------------------------ syscall counters */

_Atomic int n_fdatasync, n_fsync;

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
char waldir[300];

void
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

void
teardown(void)
{
	nftw(topdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
entry_data(char *buf, size_t len, uint64_t index, uint64_t term)
{
	snprintf(buf, len, "entry %" PRIu64 " of term %" PRIu64, index, term);
}

/* Append [from, to] with the given term, in batches of batch, syncing after each. */
void
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
void
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
void
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

uint64_t
term_one(uint64_t index)
{
	return 1;
}

struct wal *
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
void
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
int
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

uint8_t *
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

void
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

size_t
file_size(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", waldir, name);
	ck_assert_int_eq(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* Offset of the last nonzero byte of b[from, to), plus one; from if none. */
size_t
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
int
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
void
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
	wal_segment_tests(tc);
	wal_sync_tests(tc);
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
