/*
 * check_wal_segments.c — the wal's segment files: rotation and compaction
 * (and what replay makes of a segment missing or left over), ends torn
 * anywhere by a crash, which replay cuts back to the good prefix, and
 * damage before good records or in an older segment, which fails the open
 * and changes nothing; hand-made segments for what the wal never writes;
 * and a second open of the same directory, refused.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "fsutil.h"
#include "wal.h"
#include "check_wal.h"

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

struct rawrec
raw_entry(uint64_t index, uint64_t term)
{
	struct rawrec r = { .type = 1, .len = 17 + 3 };

	put64(r.payload, index);
	put64(r.payload + 8, term);
	r.payload[16] = 0;
	memcpy(r.payload + 17, "abc", 3);
	return r;
}

void
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

void
wal_segment_tests(TCase *tc)
{
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
}
