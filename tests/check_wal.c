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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crc32c.h"
#include "wal.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* ------------------------------------------------------------ syscall counters */

static int n_fdatasync, n_fsync;

/* The wal's calls bind to these definitions in the test program. */
int
fdatasync(int fd)
{
	n_fdatasync++;
	return (int)syscall(SYS_fdatasync, fd);
}

int
fsync(int fd)
{
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

/* Offsets of the records of a segment image (after its header). */
static int
record_offsets(const uint8_t *b, size_t size, size_t *offs, int max)
{
	size_t off = WAL_HEADER_BYTES;
	int n = 0;

	while (off + 8 <= size) {
		uint32_t len = (uint32_t)b[off] | (uint32_t)b[off + 1] << 8 |
			(uint32_t)b[off + 2] << 16 | (uint32_t)b[off + 3] << 24;

		ck_assert_int_lt(n, max);
		offs[n++] = off;
		off += 8 + len;
	}
	ck_assert_uint_eq(off, size);
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
	ck_assert_uint_eq(rec.nentries, 11);
	/* the last one has no data */
	ck_assert_uint_eq(rec.entries[10].index, 21);
	ck_assert_uint_eq(rec.entries[10].len, 0);
	ck_assert_uint_eq(rec.entries[10].type, 9);
	rec.nentries = 10;
	check_log(&rec, 11, 20, term_one);
	rec.nentries = 11;
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
	ck_assert_uint_eq(rec.nentries, 12);
	ck_assert_uint_eq(rec.entries[11].term, 2);
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
	ck_assert_uint_eq(rec.nentries, 2);
	ck_assert_uint_eq(rec.entries[1].index, 5);
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
	check_log(&rec, 7, 12, term_one);
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
	ck_assert_int_eq(wal_compact(w, 36), 0);
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
	check_log(&rec, 41, 64, term_rotation);
	wal_recovered_free(&rec);

	/* compacting everything the snapshot covers still leaves a valid wal */
	wal_set_segment_bytes(w, 300);
	ck_assert_int_eq(wal_snapshot(w, 60, 2), 0);
	ck_assert_int_eq(wal_compact(w, 61), 0);
	wal_close(w);
	w = open_ok(&rec);
	check_log(&rec, 61, 64, term_rotation);
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
	ck_assert_int_eq(wal_compact(w, 20), 0);
	ck_assert_uint_ge(wal_stats(w)->segments_deleted, 3);
	wal_close(w);

	w = open_ok(&rec);
	ck_assert_uint_eq(rec.snap_index, 25);
	check_log(&rec, 26, 40, term_one);
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
	size_t size, offs[16];
	uint8_t *orig;
	int n;

	make_five(name);
	orig = read_file(name, &size);
	n = record_offsets(orig, size, offs, 16);
	ck_assert_int_eq(n, 7);	/* hard state, snapshot marker, 5 entries */

	for (size_t cut = offs[n - 1]; cut < size; cut++) {
		struct wal_recovered rec;
		struct wal *w;

		write_file(name, orig, cut);
		w = open_ok(&rec);
		check_log(&rec, 1, 4, term_one);
		ck_assert_uint_eq(file_size(name), offs[n - 1]);
		if (cut == offs[n - 1]) {
			ck_assert(!rec.truncated_tail);
		} else {
			ck_assert(rec.truncated_tail);
			snprintf(want, sizeof(want), "wal: segment %s: torn record at"
				" offset %zu (%zu bytes dropped); truncated", name,
				offs[n - 1], cut - offs[n - 1]);
			ck_assert_str_eq(rec.message, want);
		}
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
	free(orig);
}
END_TEST

START_TEST(test_trailing_zero_bytes_are_truncated)
{
	char name[64];
	size_t size;
	uint8_t *orig, *b;
	struct wal_recovered rec;
	struct wal *w;

	make_five(name);
	orig = read_file(name, &size);
	b = calloc(1, size + 4096);
	ck_assert_ptr_nonnull(b);
	memcpy(b, orig, size);
	write_file(name, b, size + 4096);
	w = open_ok(&rec);
	check_log(&rec, 1, 5, term_one);
	ck_assert(rec.truncated_tail);
	ck_assert_msg(strstr(rec.message, "(4096 bytes dropped)") != NULL, "%s", rec.message);
	ck_assert_uint_eq(file_size(name), size);
	wal_recovered_free(&rec);
	wal_close(w);
	free(b);
	free(orig);
}
END_TEST

START_TEST(test_a_flipped_byte_in_the_last_record_is_truncated)
{
	char name[64];
	size_t size, offs[16];
	uint8_t *orig, *b;
	int n;

	make_five(name);
	orig = read_file(name, &size);
	n = record_offsets(orig, size, offs, 16);
	b = malloc(size);
	ck_assert_ptr_nonnull(b);
	for (size_t pos = offs[n - 1]; pos < size; pos++) {
		struct wal_recovered rec;
		struct wal *w;

		memcpy(b, orig, size);
		b[pos] ^= 0x20;
		write_file(name, b, size);
		w = open_ok(&rec);
		check_log(&rec, 1, 4, term_one);
		ck_assert(rec.truncated_tail);
		ck_assert_uint_eq(file_size(name), offs[n - 1]);
		wal_recovered_free(&rec);
		wal_close(w);
	}
	free(b);
	free(orig);
}
END_TEST

START_TEST(test_a_flipped_byte_before_good_records_fails_open_and_changes_nothing)
{
	char name[64], err[512], want[128];
	size_t size, size2, offs[16];
	uint8_t *orig, *after;
	int n;

	make_five(name);
	orig = read_file(name, &size);
	n = record_offsets(orig, size, offs, 16);
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
	size_t size, size2, offs[64];
	uint8_t *b, *after;
	int n;

	wal_recovered_free(&rec);
	wal_set_segment_bytes(w, 200);
	append_range(w, 1, 20, 1, 2);
	wal_close(w);
	ck_assert_int_ge(list_segs(names, 64), 2);
	/* the last record of the first segment: a tail, but not the wal's tail */
	b = read_file(names[0], &size);
	n = record_offsets(b, size, offs, 64);
	b[size - 1] ^= 0xff;
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

static Suite *
wal_suite(void)
{
	Suite *s = suite_create("wal");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_crc32c_gives_the_standard_check_value);
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
	tcase_add_test(tc, test_trailing_zero_bytes_are_truncated);
	tcase_add_test(tc, test_a_flipped_byte_in_the_last_record_is_truncated);
	tcase_add_test(tc, test_a_flipped_byte_before_good_records_fails_open_and_changes_nothing);
	tcase_add_test(tc, test_damage_in_a_segment_before_the_last_fails_open);
	tcase_add_test(tc, test_a_bad_segment_header_fails_open);
	tcase_add_test(tc, test_a_gap_in_entry_indexes_fails_open);
	tcase_add_test(tc, test_unknown_record_types_fail_open_unless_marked_optional);
	tcase_add_test(tc, test_a_second_open_of_the_same_directory_is_refused);
	tcase_add_test(tc, test_a_batch_of_appends_costs_exactly_one_fdatasync);
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
