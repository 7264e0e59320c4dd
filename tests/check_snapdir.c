/*
 * check_snapdir.c — the snapshot directory and the chunks (daemon/snapdir.c):
 * the newest snapshot that checks is the latest, pruning keeps the newest
 * and removes what writers left; a snapshot sent in chunks arrives whole
 * and is checked as its chunks come, a bad chunk is refused at the next
 * one, and chunks out of order read back.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "snap.h"
#include "store.h"

#include "store_fixture.h"
#include "check_snap.h"

/* ------------------------------------------------------------ the directory */

static struct snapdir *
dir_ok(void)
{
	struct snapdir *sd = NULL;
	char err[256] = "";

	ck_assert_msg(snap_open(topdir, &sd, err, sizeof(err)) == 0, "%s", err);
	return sd;
}

START_TEST(test_the_newest_snapshot_that_checks_is_the_latest)
{
	struct snapdir *sd = dir_ok();
	struct store *s = open_ok(dbpath);
	struct snap_info info;
	char err[256], p7[SNAP_PATH_MAX], p8[SNAP_PATH_MAX];
	uint8_t *b;
	size_t size;

	ck_assert_int_eq(snap_latest(sd, &info), -ENOENT);
	populate(s);
	snap_path(sd, 7, p7, sizeof(p7));
	ck_assert_int_eq(snap_write(s, p7, 7, 2, members3, 3, err, sizeof(err)), 0);
	set(s, 8, 0, 0, "/app/c", "c", 1);
	snap_path(sd, 8, p8, sizeof(p8));
	ck_assert_int_eq(snap_write(s, p8, 8, 1, members3, 2, err, sizeof(err)), 0);

	ck_assert_int_eq(snap_latest(sd, &info), 0);
	ck_assert_uint_eq(info.index, 8);
	ck_assert_uint_eq(info.term, 1);
	ck_assert_uint_eq(info.n_members, 2);
	ck_assert_str_eq(info.path, p8);
	snap_info_free(&info);

	/* the newest damaged: the one before it */
	b = slurp(p8, &size);
	spill(p8, b, size - 1);
	free(b);
	ck_assert_int_eq(snap_latest(sd, &info), 0);
	ck_assert_uint_eq(info.index, 7);
	assert_members3(info.members, info.n_members);
	snap_info_free(&info);
	store_close(s);
	snap_close(sd);
}
END_TEST

START_TEST(test_prune_keeps_the_newest_and_removes_what_writers_left)
{
	struct snapdir *sd = dir_ok();
	struct store *s = open_ok(dbpath);
	char err[256], p[SNAP_PATH_MAX], tmp[SNAP_PATH_MAX];

	populate(s);
	for (uint64_t i = 8; i <= 11; i++)
		set(s, i, 0, 0, "/app/n", "n", 1);
	/* a writer writes the file under its temporary name first */
	snap_path(sd, 11, p, sizeof(p));
	snap_tmp_path(sd, 11, tmp, sizeof(tmp));
	ck_assert_uint_eq(strlen(tmp), strlen(p) + 4);
	ck_assert(strncmp(tmp, p, strlen(p)) == 0);
	snap_path(sd, 3, p, sizeof(p));
	spill(p, (const uint8_t *)"x", 1);
	snap_path(sd, 5, p, sizeof(p));
	spill(p, (const uint8_t *)"x", 1);
	snap_path(sd, 11, p, sizeof(p));
	ck_assert_int_eq(snap_write(s, p, 11, 1, members3, 3, err, sizeof(err)), 0);
	snap_tmp_path(sd, 12, tmp, sizeof(tmp));
	spill(tmp, (const uint8_t *)"half", 4);

	snap_prune(sd);
	fs_unlink_wait();
	ck_assert_int_eq(access(tmp, F_OK), -1);
	snap_path(sd, 3, p, sizeof(p));
	ck_assert_int_eq(access(p, F_OK), -1);
	snap_path(sd, 5, p, sizeof(p));
	ck_assert_int_eq(access(p, F_OK), 0);
	snap_path(sd, 11, p, sizeof(p));
	ck_assert_int_eq(access(p, F_OK), 0);
	store_close(s);
	snap_close(sd);
}
END_TEST

/* ------------------------------------------------------------ chunks */

START_TEST(test_a_snapshot_sent_in_chunks_arrives_whole)
{
	struct snapdir *sd = dir_ok();
	struct store *s = open_ok(dbpath), *s2;
	char err[256], p[SNAP_PATH_MAX], got_path[SNAP_PATH_MAX], *a, *b;
	uint8_t buf[7], *orig, *copy;
	size_t osize, csize, got;
	uint64_t off = 0, size = 0;
	bool last = false;

	populate(s);
	snap_path(sd, 7, p, sizeof(p));
	ck_assert_int_eq(snap_write(s, p, 7, 2, members3, 3, err, sizeof(err)), 0);
	orig = slurp(p, &osize);
	ck_assert_int_eq(snap_recv_chunk(sd, 5, "x", 1), -EBADF); /* no start seen */

	while (!last) {
		ck_assert_int_eq(snap_read_chunk(sd, 7, off, buf, sizeof(buf), &got, &last, &size), 0);
		ck_assert_uint_eq(size, osize);
		ck_assert_int_eq(snap_recv_chunk(sd, off, buf, got), 0);
		off += got;
	}
	ck_assert_uint_eq(off, osize);
	ck_assert_int_eq(snap_read_chunk(sd, 9, 0, buf, sizeof(buf), &got, &last, &size), -ENOENT);
	unlink(p);
	ck_assert_int_eq(snap_recv_finish(sd, 7, got_path, sizeof(got_path)), 0);
	ck_assert_str_eq(got_path, p);
	copy = slurp(p, &csize);
	ck_assert_uint_eq(csize, osize);
	ck_assert(memcmp(copy, orig, osize) == 0);

	s2 = open_ok(db2path);
	ck_assert_int_eq(snap_restore(s2, got_path, err, sizeof(err)), 0);
	a = dump_all(s);
	b = dump_all(s2);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	free(orig);
	free(copy);
	store_close(s2);
	store_close(s);
	snap_close(sd);
}
END_TEST

/*
 * A store of populate's plus `extra` keys of 100 bytes, written as the
 * snapshot at its applied index (in term 2 if extra is 0, else 1); its bytes.
 */
static uint8_t *
chunked_source(struct snapdir *sd, struct store *s, int extra, uint64_t *index, size_t *size)
{
	char err[256], p[SNAP_PATH_MAX], val[100];
	uint8_t *b;

	populate(s);
	memset(val, 'v', sizeof(val));
	ck_assert_int_eq(store_begin(s), 0);
	for (int i = 0; i < extra; i++) {
		char key[32];

		snprintf(key, sizeof(key), "/chunked/%05d", i);
		set(s, 8 + (uint64_t)i, 0, 0, key, val, sizeof(val));
	}
	ck_assert_int_eq(store_commit(s), 0);
	*index = 7 + (uint64_t)extra; /* set() applies in term 1, populate left 7 in term 2 */
	snap_path(sd, *index, p, sizeof(p));
	ck_assert_msg(
	    snap_write(s, p, *index, extra ? 1 : 2, members3, 3, err, sizeof(err)) == 0, "%s", err);
	b = slurp(p, size);
	unlink(p);
	return b;
}

/* b's chunks of `chunk` bytes written from offset 0 on, but for the last: its offset. */
static uint64_t
recv_all_but_last(struct snapdir *sd, const uint8_t *b, size_t size, size_t chunk)
{
	uint64_t off = 0;

	while (size - off > chunk) {
		ck_assert_int_eq(snap_recv_chunk(sd, off, b + off, chunk), 0);
		snap_recv_check(sd, off, b + off, chunk);
		off += chunk;
	}
	return off;
}

static void
incoming_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/snap/incoming.part", topdir);
}

/*
 * The chunks of a snapshot are checked as they are written, so that the
 * check of the last one reads nothing back: with the incoming file gone,
 * it still checks, whatever the chunks' size (cutting the header, records
 * and the trailer anywhere), and says the keys.  The last chunk cut short,
 * or followed by a byte, is refused.
 */
START_TEST(test_a_received_snapshot_is_checked_as_its_chunks_come)
{
	static const size_t small[] = { 1, 2, 7, 50 }, big[] = { 333, 4096, 70000, 300000 };
	struct snapdir *sd = dir_ok();
	char err[256], part[SNAP_PATH_MAX], p[SNAP_PATH_MAX];
	struct snap_meta meta, whole;

	incoming_path(part, sizeof(part));
	for (int pass = 0; pass < 2; pass++) {
		struct store *s = open_ok(pass ? db2path : dbpath);
		const size_t *sizes = pass ? big : small;
		uint64_t index, off;
		size_t size;
		uint8_t *b = chunked_source(sd, s, pass ? 4000 : 0, &index, &size), *more;

		snap_path(sd, index, p, sizeof(p));
		spill(p, b, size);
		ck_assert_int_eq(snap_verify(p, &whole, err, sizeof(err)), 0);
		unlink(p);
		ck_assert_uint_gt(size, pass ? 2 * 256 * 1024 : 0); /* past the reader's buffer */
		for (int i = 0; i < 4; i++) {
			off = recv_all_but_last(sd, b, size, sizes[i]);
			ck_assert_uint_gt(off, 0);
			ck_assert_int_eq(unlink(part), 0); /* nothing to read back */
			for (int again = 0; again < 2; again++) {
				ck_assert_msg(snap_recv_verify(sd, off, b + off, size - off, &meta,
						  err, sizeof(err)) == 0,
				    "chunks of %zu: %s", sizes[i], err);
				ck_assert_uint_eq(meta.index, index);
				ck_assert_uint_eq(meta.term, pass ? 1 : 2);
				ck_assert_uint_eq(meta.keys, whole.keys);
				ck_assert_uint_eq(meta.records, whole.records);
				assert_members3(meta.members, meta.n_members);
				snap_meta_free(&meta);
			}
			ck_assert_int_eq(snap_recv_verify(sd, off, b + off, size - off - 1, &meta,
					     err, sizeof(err)),
			    -EBADMSG);
			ck_assert_msg(strstr(err, "truncated") != NULL, "%s", err);
			more = malloc(size - off + 1);
			memcpy(more, b + off, size - off);
			more[size - off] = 0;
			ck_assert_int_eq(snap_recv_verify(sd, off, more, size - off + 1, &meta, err,
					     sizeof(err)),
			    -EBADMSG);
			ck_assert_msg(strstr(err, "after the trailer") != NULL, "%s", err);
			free(more);
		}
		ck_assert_uint_eq(whole.keys, pass ? 4003u : 3u);
		snap_meta_free(&whole);
		free(b);
		store_close(s);
	}
	snap_close(sd);
}
END_TEST

/*
 * A chunk whose record does not check makes the chunks after it refused
 * (snap_recv_refused), not only the last; chunks written out of order are
 * checked whole, from the file, at the last one.
 */
START_TEST(test_a_bad_chunk_is_refused_at_the_next_and_out_of_order_ones_read_back)
{
	struct snapdir *sd = dir_ok();
	struct store *s = open_ok(dbpath);
	char err[256], part[SNAP_PATH_MAX];
	struct snap_meta meta;
	uint64_t index, off, refused_at = 0;
	enum { CHUNK = 4096 };
	size_t size, flip;
	uint8_t *b = chunked_source(sd, s, 3000, &index, &size);

	incoming_path(part, sizeof(part));
	flip = size / 2;
	b[flip] ^= 0x20;
	for (off = 0; size - off > CHUNK; off += CHUNK) {
		int r = snap_recv_refused(sd, off, err, sizeof(err));

		if (r < 0 && refused_at == 0) {
			ck_assert_int_eq(r, -EBADMSG);
			ck_assert_msg(strstr(err, "is corrupt") != NULL, "%s", err);
			refused_at = off;
		}
		ck_assert_int_eq(snap_recv_chunk(sd, off, b + off, CHUNK), 0);
		snap_recv_check(sd, off, b + off, CHUNK);
	}
	ck_assert_msg(refused_at > flip && refused_at <= flip + 2 * CHUNK,
	    "the byte at %zu flipped, first refused at %" PRIu64, flip, refused_at);
	ck_assert_int_eq(
	    snap_recv_verify(sd, off, b + off, size - off, &meta, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "is corrupt") != NULL, "%s", err);
	ck_assert_int_eq(snap_recv_refused(sd, 0, err, sizeof(err)), 0); /* a new transfer */

	/* A good transfer with one chunk written again, out of order. */
	b[flip] ^= 0x20;
	off = recv_all_but_last(sd, b, size, CHUNK);
	ck_assert_int_eq(snap_recv_chunk(sd, CHUNK, b + CHUNK, CHUNK), 0);
	snap_recv_check(sd, CHUNK, b + CHUNK, CHUNK);
	ck_assert_int_eq(snap_recv_refused(sd, off, err, sizeof(err)), 0);
	ck_assert_msg(snap_recv_verify(sd, off, b + off, size - off, &meta, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(meta.index, index);
	snap_meta_free(&meta);
	ck_assert_int_eq(unlink(part), 0); /* what it reads back */
	ck_assert_int_eq(
	    snap_recv_verify(sd, off, b + off, size - off, &meta, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "are missing") != NULL, "%s", err);
	free(b);
	store_close(s);
	snap_close(sd);
}
END_TEST

void
snap_dir_tests(TCase *dir)
{
	tcase_add_test(dir, test_the_newest_snapshot_that_checks_is_the_latest);
	tcase_add_test(dir, test_prune_keeps_the_newest_and_removes_what_writers_left);
	tcase_add_test(dir, test_a_snapshot_sent_in_chunks_arrives_whole);
	tcase_add_test(dir, test_a_received_snapshot_is_checked_as_its_chunks_come);
	tcase_add_test(
	    dir, test_a_bad_chunk_is_refused_at_the_next_and_out_of_order_ones_read_back);
}
