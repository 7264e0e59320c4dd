/*
 * check_snap.c — unit tests for daemon/snap: the snapshot file (writing it
 * from a store, checking it, restoring a store from it, refusing damaged
 * ones, reading files of older format versions), the snapshot directory and
 * the chunks.
 *
 * Every test works in its own directory under $TMPDIR (or /tmp).
 *
 * This file holds the tests of the file and builds the suite; those of the
 * directory and the chunks are in check_snapdir.c (check_snap.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "fsutil.h"
#include "members.h"
#include "snap.h"
#include "store.h"
#include "token.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define FIXTURE_NAME "check_snap"
#include "store_fixture.h"
#include "check_snap.h"

/* Everything a listing shows, as one string: "key=hex(value)@rev;..." */
struct dump {
	char *s;
	size_t len, cap;
};

static void
dump_add(struct dump *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(d->s + d->len, d->cap - d->len, fmt, ap);
		va_end(ap);
		ck_assert_int_ge(n, 0);
		if ((size_t)n < d->cap - d->len)
			break;
		d->cap = (d->cap + (size_t)n) * 2;
		d->s = realloc(d->s, d->cap);
		ck_assert_ptr_nonnull(d->s);
	}
	d->len += (size_t)n;
}

static void
dump_hex(struct dump *d, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dump_add(d, "%02x", p[i]);
}

static int
dump_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen, uint64_t rev)
{
	struct dump *d = arg;

	ck_assert_uint_eq(strlen(key), klen);
	dump_add(d, "%s=", key);
	dump_hex(d, val, vlen);
	dump_add(d, "@%" PRIu64 ";", rev);
	return 0;
}

static char *
dump_list(struct store *s, const char *prefix)
{
	struct dump d = { .cap = 64 };

	d.s = calloc(1, d.cap);
	ck_assert_ptr_nonnull(d.s);
	ck_assert_int_eq(store_list(s, prefix, strlen(prefix), dump_cb, &d), 0);
	return d.s;
}

/* The whole visible state of a store, for before/after comparisons. */
char *
dump_all(struct store *s)
{
	struct dump d = { .cap = 64 };
	char *keys = dump_list(s, "");
	uint8_t *m = NULL;
	size_t mlen = 0;
	int r;

	d.s = calloc(1, d.cap);
	ck_assert_ptr_nonnull(d.s);
	dump_add(&d, "applied=%" PRIu64 "/%" PRIu64 " clients=%" PRIu64 " keys=%s members=",
	    store_applied(s), store_applied_term(s), store_clients(s), keys);
	r = store_get_members(s, &m, &mlen);
	ck_assert(r == 0 || r == -ENOENT);
	if (r == 0)
		dump_hex(&d, m, mlen);
	for (uint64_t id = 1; id <= 20; id++) {
		struct store_client c;

		if (store_get_client(s, id, &c) == 0)
			dump_add(&d, " c%" PRIu64 "=%" PRIu64 ",%" PRIu64 ",%d,%" PRIu64, id,
			    c.last_seq, c.revision, (int)c.status, c.last_used);
	}
	free(m);
	free(keys);
	return d.s;
}

uint8_t *
slurp(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

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
spill(const char *path, const uint8_t *b, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b, size), (ssize_t)size);
	close(fd);
}

static struct raft_member
member(uint64_t id, bool voter, const char *ctx)
{
	struct raft_member m;

	memset(&m, 0, sizeof(m));
	m.id = id;
	m.voter = voter;
	m.context_len = (uint16_t)strlen(ctx);
	memcpy(m.context, ctx, m.context_len);
	return m;
}

static const uint8_t binval[] = { 0, 1, 2, 0xff, 0, '\n', 0x80 };

/* The membership of every snapshot here: n1 and n2 voters, n3 a learner. */
struct raft_member members3[3];

static void
make_members3(void)
{
	members3[0] = member(0x1111, true, "n1 127.0.0.1:7001");
	members3[1] = member(0x2222, true, "n2 127.0.0.1:7002");
	members3[2] = member(0x3333, false, "n3 127.0.0.1:7003");
}

void
assert_members3(const struct raft_member *m, uint32_t n)
{
	ck_assert_uint_eq(n, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(m[i].id, members3[i].id);
		ck_assert_int_eq(m[i].voter, members3[i].voter);
		ck_assert_uint_eq(m[i].context_len, members3[i].context_len);
		ck_assert(memcmp(m[i].context, members3[i].context, m[i].context_len) == 0);
	}
}

/*
 * A store with a bit of everything: keys, a delete, clients, members (the
 * blob a restore stores: members3 as members.h encodes it).  The same store
 * wrote the files tests/data/snap/format-*.snap.
 */
void
populate(struct store *s)
{
	uint8_t *blob;
	size_t blen;

	make_members3();
	ck_assert_int_eq(members_encode(members3, 3, &blob, &blen), 0);
	ck_assert_int_eq(store_begin(s), 0);
	set(s, 1, 1, 1, "/app/a", "1", 1);
	set(s, 2, 2, 1, "/app/b", binval, sizeof(binval));
	set(s, 3, 0, 0, "/other/x", "x", 1);
	set(s, 4, 1, 2, "/app/ab", "", 0);
	del(s, 5, 3, 7, "/other/x");
	del(s, 6, 3, 8, "/nothing");
	ck_assert_int_eq(store_set_members(s, blob, blen), 0);
	ck_assert_int_eq(store_set_applied(s, 7, 2), 0);
	ck_assert_int_eq(store_commit(s), 0);
	free(blob);
}

/*
 * Snapshots of populate's store at 7/2 with members3: format 1, written by
 * store_snapshot_write before the membership codec became one (members
 * big-endian), and format 2 as snap_write writes it now.
 */
#define FIXTURE_V1 TEST_DATA_DIR "/snap/format-1.snap"
#define FIXTURE_V2 TEST_DATA_DIR "/snap/format-2.snap"
#define FIXTURE_V3 TEST_DATA_DIR "/snap/format-3.snap"
#define FIXTURE_V4 TEST_DATA_DIR "/snap/format-4.snap"
#define FIXTURE_V5 TEST_DATA_DIR "/snap/format-5.snap"
#define FIXTURE_V6 TEST_DATA_DIR "/snap/format-6.snap"

/* The two dumps agree; both dumps freed and both stores closed. */
static void
same_then_close(char *a, char *b, struct store *s2, struct store *s)
{
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	store_close(s2);
	store_close(s);
}

/* ------------------------------------------------------------ the file */

START_TEST(test_a_snapshot_restored_into_a_fresh_store_is_identical)
{
	struct store *s = open_ok(dbpath), *s2;
	struct snap_meta meta;
	char err[512] = "", *a, *b;

	populate(s);
	ck_assert_int_eq(snap_write(s, snappath, 7, 2, members3, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_read_meta(snappath, &meta, err, sizeof(err)), 0);
	ck_assert_uint_eq(meta.version, SNAP_VERSION);
	ck_assert_uint_eq(meta.index, 7);
	ck_assert_uint_eq(meta.term, 2);
	/* 3 keys, 3 clients, the block of the changes of entries 1-5 and the history's floor */
	ck_assert_uint_eq(meta.records, 3 + 3 + 1 + 1);
	assert_members3(meta.members, meta.n_members);
	snap_meta_free(&meta);
	ck_assert_int_eq(snap_verify(snappath, &meta, err, sizeof(err)), 0);
	snap_meta_free(&meta);

	s2 = open_ok(db2path);
	set(s2, 1, 9, 1, "/junk", "to be replaced", 14);
	ck_assert_int_eq(snap_restore(s2, snappath, err, sizeof(err)), 0);
	a = dump_all(s);
	b = dump_all(s2);
	ck_assert_str_eq(a, b);
	ck_assert_ptr_nonnull(strstr(b, " c3=")); /* the dedup table came along */
	free(b);

	/* it survives a restart, and dedup still holds there */
	store_close(s2);
	s2 = open_ok(db2path);
	b = dump_all(s2);
	ck_assert_str_eq(a, b);
	{
		struct store_result res = set(s2, 8, 2, 1, "/app/b", binval, sizeof(binval));

		ck_assert(res.duplicate);
		ck_assert_uint_eq(res.revision, 2);
		/* and a request id reused for another request is refused */
		res = set(s2, 9, 2, 1, "/app/b", "again", 5);
		ck_assert_int_eq(res.status, STORE_REUSED);
	}
	free(a);
	free(b);
	store_close(s2);
	store_close(s);
}
END_TEST

static int
token_cb(void *arg, const char *name, size_t nlen, const struct token_record *rec)
{
	ck_assert(nlen == 6 && memcmp(name, "app-ro", 6) == 0);
	ck_assert(rec->access == TOKEN_READ && rec->plen == 5 && rec->hash[0] == 0x5a);
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_a_snapshot_carries_the_tokens_and_never_as_keys)
{
	uint8_t rec[TOKEN_RECORD_MAX], hash[TOKEN_HASH_LEN];
	uint8_t cmd[STORE_CMD_SET_SIZE(RAFTCONF_MAX_ID, TOKEN_RECORD_MAX)];
	struct store *s = open_ok(dbpath), *s2;
	struct store_result res;
	struct snap_meta meta;
	char err[512] = "";
	ssize_t rlen, n;
	int tokens = 0;
	uint8_t *v;
	size_t vlen;

	memset(hash, 0x5a, sizeof(hash));
	set(s, 1, 1, 1, "/app/x", "v", 1);
	rlen = token_record_encode(rec, sizeof(rec), TOKEN_READ, "/app/", 5, hash);
	n = store_cmd_encode_token_put(cmd, sizeof(cmd), 2, 1, "app-ro", 6, rec, (size_t)rlen);
	ck_assert_int_eq(store_apply(s, 2, 1, cmd, (size_t)n, &res), 0);
	ck_assert_int_eq(res.status, STORE_OK);
	ck_assert_int_eq(snap_write(s, snappath, 2, 1, members3, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_read_meta(snappath, &meta, err, sizeof(err)), 0);
	/* a key, a token, 2 clients, the block of the key's change and the history's floor */
	ck_assert_uint_eq(meta.records, 1 + 1 + 2 + 1 + 1);
	snap_meta_free(&meta);

	s2 = open_ok(db2path);
	ck_assert_msg(snap_restore(s2, snappath, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(store_tokens(s2, token_cb, &tokens), 0);
	ck_assert_int_eq(tokens, 1);
	ck_assert_int_eq(store_get(s2, "app-ro", 6, &v, &vlen, NULL), -ENOENT);
	ck_assert_int_eq(store_get(s2, "/app/x", 6, &v, &vlen, NULL), 0);
	free(v);
	store_close(s2);
	store_close(s);
}
END_TEST

START_TEST(test_snapshot_write_refuses_an_index_the_store_has_not_applied)
{
	struct store *s = open_ok(dbpath);
	char err[512] = "", tmp[320];

	populate(s);
	ck_assert_int_eq(snap_write(s, snappath, 6, 2, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(snap_write(s, snappath, 7, 1, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(access(snappath, F_OK), -1);
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(snap_write(s, snappath, 7, 2, NULL, 0, err, sizeof(err)), -EBUSY);
	ck_assert_int_eq(access(snappath, F_OK), -1);
	snprintf(tmp, sizeof(tmp), "%s.tmp", snappath);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	store_cancel(s);
	store_close(s);
}
END_TEST

static void
restore_fails(struct store *s, const char *expect)
{
	char err[512] = "", *before, *after, restore[320];
	int r;

	before = dump_all(s);
	r = snap_restore(s, snappath, err, sizeof(err));
	ck_assert_msg(r == -EBADMSG, "restore returned %d (%s)", r, err);
	if (expect != NULL)
		ck_assert_msg(strstr(err, expect) != NULL, "%s", err);
	after = dump_all(s);
	ck_assert_str_eq(before, after);
	snprintf(restore, sizeof(restore), "%s.restore", db2path);
	ck_assert_int_eq(access(restore, F_OK), -1);
	free(before);
	free(after);
}

/* Write crc32c(b[0, len)) after it, little-endian. */
static void
reseal(uint8_t *b, size_t len)
{
	uint32_t crc = crc32c(0, b, len);

	for (int i = 0; i < 4; i++)
		b[len + i] = (uint8_t)(crc >> (8 * i));
}

START_TEST(test_truncated_corrupt_or_wrong_version_snapshots_are_rejected)
{
	struct store *s = open_ok(dbpath), *s2;
	struct snap_meta meta;
	char err[512] = "";
	uint8_t *orig, *b;
	size_t size;

	populate(s);
	ck_assert_int_eq(snap_write(s, snappath, 7, 2, members3, 3, err, sizeof(err)), 0);
	store_close(s);
	orig = slurp(snappath, &size);
	b = malloc(size + 1);
	ck_assert_ptr_nonnull(b);

	s2 = open_ok(db2path);
	set(s2, 1, 9, 1, "/mine", "stays", 5);

	for (size_t cut = 0; cut < size; cut++) {
		spill(snappath, orig, cut);
		restore_fails(s2, "snapshot");
	}
	for (size_t pos = 0; pos < size; pos++) {
		memcpy(b, orig, size);
		b[pos] ^= 0x10;
		spill(snappath, b, size);
		restore_fails(s2, NULL);
		ck_assert_int_eq(snap_verify(snappath, &meta, err, sizeof(err)), -EBADMSG);
	}
	/* one byte too many */
	memcpy(b, orig, size);
	b[size] = 0;
	spill(snappath, b, size + 1);
	restore_fails(s2, "after the trailer");

	/* a version this build does not read, with a valid header checksum */
	memcpy(b, orig, size);
	b[8] = SNAP_VERSION + 1;
	{
		uint32_t mlen = (uint32_t)b[40] | (uint32_t)b[41] << 8;
		char want[32];

		reseal(b, 44 + mlen);
		spill(snappath, b, size);
		snprintf(want, sizeof(want), "version %d", SNAP_VERSION + 1);
		restore_fails(s2, want);
	}
	ck_assert_int_eq(snap_read_meta(snappath, &meta, err, sizeof(err)), -EBADMSG);

	/*
	 * A record replaced by another that checks on its own (its crc
	 * recomputed): only the trailer's checksum over all records sees it.
	 */
	memcpy(b, orig, size);
	{
		uint32_t mlen = (uint32_t)b[40] | (uint32_t)b[41] << 8;
		size_t off = 44 + mlen + 4;
		uint32_t klen = b[off] | (uint32_t)b[off + 1] << 8;
		uint32_t vlen = b[off + 4] | (uint32_t)b[off + 5] << 8;

		b[off + 8 + klen + vlen - 1] ^= 0x01;
		reseal(b + off, 8 + klen + vlen);
	}
	spill(snappath, b, size);
	restore_fails(s2, "trailer");

	/* and the untouched file still restores */
	spill(snappath, orig, size);
	ck_assert_int_eq(snap_restore(s2, snappath, err, sizeof(err)), 0);
	ck_assert_int_eq(store_get(s2, "/mine", 5, NULL, NULL, NULL), -ENOENT);
	store_close(s2);
	free(b);
	free(orig);
}
END_TEST

struct order {
	char prev[RAFTCONF_MAX_KEY + 1];
	int n;
};

/* Keys arrive strictly increasing. */
static int
order_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen, uint64_t rev)
{
	struct order *o = arg;

	ck_assert_int_lt(strcmp(o->prev, key), 0);
	memcpy(o->prev, key, klen + 1);
	o->n++;
	return 0;
}

START_TEST(test_many_keys_list_sorted_and_snapshot_round_trip)
{
	struct store *s = open_ok(dbpath), *s2;
	char err[512] = "", *a, *b;
	enum { N = 20000 };

	ck_assert_int_eq(store_begin(s), 0);
	for (int i = 0; i < N; i++) {
		char key[32], val[32];

		/* written in an order that is not the key order */
		snprintf(key, sizeof(key), "/many/%05d", (i * 7919) % N);
		snprintf(val, sizeof(val), "value %d", i);
		set(s, (uint64_t)i + 1, 0, 0, key, val, strlen(val));
	}
	ck_assert_int_eq(store_commit(s), 0);
	{
		struct order o = { .prev = "" };

		ck_assert_int_eq(store_list(s, "/many/", 6, order_cb, &o), 0);
		ck_assert_int_eq(o.n, N);
	}
	a = dump_list(s, "/many/");
	ck_assert_int_eq(snap_write(s, snappath, N, 1, NULL, 0, err, sizeof(err)), 0);
	s2 = open_ok(db2path);
	ck_assert_int_eq(snap_restore(s2, snappath, err, sizeof(err)), 0);
	b = dump_list(s2, "/many/");
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(store_applied(s2), N);
	free(a);
	free(b);
	store_close(s2);
	store_close(s);
}
END_TEST

/*
 * A snapshot bigger than the writer's writeback chunk (snap.c's pace():
 * sync_file_range every 8 MiB) is written whole: it verifies and restores
 * to the same keys and values.
 */
START_TEST(test_a_snapshot_past_the_writeback_chunk_round_trips)
{
	struct store *s = open_ok(dbpath), *s2;
	char err[512] = "", *a, *b, val[1024];
	struct snap_meta meta;
	struct stat st;
	enum { N = 12000 };

	ck_assert_int_eq(store_begin(s), 0);
	for (int i = 0; i < N; i++) {
		char key[32];

		snprintf(key, sizeof(key), "/big/%05d", i);
		memset(val, 'a' + i % 26, sizeof(val));
		set(s, (uint64_t)i + 1, 0, 0, key, val, sizeof(val));
	}
	ck_assert_int_eq(store_commit(s), 0);
	a = dump_list(s, "/big/");
	ck_assert_int_eq(snap_write(s, snappath, N, 1, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(snappath, &st), 0);
	ck_assert_int_gt(st.st_size, 8 << 20);
	ck_assert_msg(snap_verify(snappath, &meta, err, sizeof(err)) == 0, "%s", err);
	snap_meta_free(&meta);
	s2 = open_ok(db2path);
	ck_assert_int_eq(snap_restore(s2, snappath, err, sizeof(err)), 0);
	b = dump_list(s2, "/big/");
	same_then_close(a, b, s2, s);
}
END_TEST

/* A snapshot file written before any change of format still restores. */
START_TEST(test_a_snapshot_file_of_format_version_1_still_restores)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct snap_meta meta;
	char err[512] = "", *a, *b;

	populate(s);
	ck_assert_int_eq(snap_verify(FIXTURE_V1, &meta, err, sizeof(err)), 0);
	ck_assert_uint_eq(meta.version, 1);
	ck_assert_uint_eq(meta.index, 7);
	ck_assert_uint_eq(meta.term, 2);
	ck_assert_uint_eq(meta.records, 6);
	assert_members3(meta.members, meta.n_members);
	snap_meta_free(&meta);
	ck_assert_int_eq(snap_restore(s2, FIXTURE_V1, err, sizeof(err)), 0);
	check_value(s2, "/app/b", binval, sizeof(binval), 2);
	a = dump_all(s);
	b = dump_all(s2);
	same_then_close(a, b, s2, s);
}
END_TEST

/*
 * A snapshot of format 2 (keys without their create revision and version)
 * restores with create revision = revision and version 1, which is what
 * populate's keys have: each was set once.
 */
START_TEST(test_a_snapshot_file_of_format_version_2_upgrades_its_keys)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct store_meta m;
	char err[512] = "", *a, *b;

	populate(s);
	ck_assert_int_eq(snap_restore(s2, FIXTURE_V2, err, sizeof(err)), 0);
	ck_assert_int_eq(store_get_meta(s2, "/app/b", 6, NULL, NULL, &m), 0);
	ck_assert_uint_eq(m.revision, 2);
	ck_assert_uint_eq(m.create_revision, 2);
	ck_assert_uint_eq(m.version, 1);
	a = dump_all(s);
	b = dump_all(s2);
	same_then_close(a, b, s2, s);
}
END_TEST

/* A snapshot file of format 5 (no record with a count) still restores as it is. */
START_TEST(test_a_snapshot_file_of_format_version_5_still_restores)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct snap_meta meta;
	char err[512] = "", *a, *b;

	populate(s);
	ck_assert_int_eq(snap_verify(FIXTURE_V5, &meta, err, sizeof(err)), 0);
	ck_assert_uint_eq(meta.version, 5);
	snap_meta_free(&meta);
	ck_assert_int_eq(snap_restore(s2, FIXTURE_V5, err, sizeof(err)), 0);
	a = dump_all(s);
	b = dump_all(s2);
	same_then_close(a, b, s2, s);
}
END_TEST

/* Apply a command encoded by the caller at index; its result. */
static struct store_result
apply_raw(struct store *s, uint64_t index, const uint8_t *cmd, ssize_t n)
{
	struct store_result res;

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, cmd, (size_t)n, &res), 0);
	return res;
}

/*
 * What SET_IF, DEL_IF and TXN leave in the store goes through a snapshot:
 * each key's revisions and version, and the dedup records of their
 * results, failures included, so that a retry after the restore gets the
 * first answer.
 */
START_TEST(test_cas_and_txn_results_survive_a_snapshot)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	uint8_t a[256], b[256], t[512];
	struct store_compare c = { STORE_CMP_REV, STORE_CMP_EQ, "/k", 2, 2, NULL, 0 };
	struct store_txn_op op = { STORE_TXN_SET, "/t", 2, (const uint8_t *)"tx", 2 };
	struct store_result r;
	struct store_meta m;
	char err[512] = "";
	ssize_t na, nb, nt;

	na = store_cmd_encode_set_if(a, sizeof(a), 11, 1, "/k", 2, "one", 3, 0);
	nb = store_cmd_encode_set_if(b, sizeof(b), 12, 1, "/k", 2, "two", 3, 0);
	nt = store_cmd_encode_txn(t, sizeof(t), NULL, 13, 1, &c, 1, &op, 1, NULL, 0);
	ck_assert_int_eq(store_set_applied(s, 1, 1), 0);
	ck_assert_int_eq(apply_raw(s, 2, a, na).status, STORE_OK);
	r = apply_raw(s, 3, b, nb);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 2);
	ck_assert_int_eq(apply_raw(s, 4, t, nt).status, STORE_OK);
	ck_assert_int_eq(snap_write(s, snappath, 4, 1, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_restore(s2, snappath, err, sizeof(err)), 0);

	ck_assert_int_eq(store_get_meta(s2, "/t", 2, NULL, NULL, &m), 0);
	ck_assert_uint_eq(m.revision, 4);
	ck_assert_uint_eq(m.create_revision, 4);
	ck_assert_uint_eq(m.version, 1);
	/* the three retries, after the restore: their first answers */
	r = apply_raw(s2, 5, a, na);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 2);
	r = apply_raw(s2, 6, b, nb);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 2);
	r = apply_raw(s2, 7, t, nt);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 4);
	ck_assert_int_eq(store_get_meta(s2, "/k", 2, NULL, NULL, &m), 0);
	ck_assert_uint_eq(m.version, 1);
	store_close(s2);
	store_close(s);
}
END_TEST

/*
 * A DEL_PREFIX's dedup record (41 bytes: its count after the digest) goes
 * through a snapshot: a retry after the restore gets the first answer,
 * count included, and the same request id for another prefix is refused.
 */
START_TEST(test_a_prefix_deletions_count_survives_a_snapshot)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	uint8_t d[64], o[64];
	struct store_result r;
	struct store_client cl;
	struct snap_meta meta;
	char err[512] = "";
	ssize_t nd, no;

	set(s, 1, 0, 0, "/p/a", "1", 1);
	set(s, 2, 0, 0, "/p/b", "2", 1);
	set(s, 3, 0, 0, "/q", "3", 1);
	nd = store_cmd_encode_del_prefix(d, sizeof(d), 21, 1, "/p/", 3);
	no = store_cmd_encode_del_prefix(o, sizeof(o), 21, 1, "/q", 2);
	r = apply_raw(s, 4, d, nd);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_int_eq(snap_write(s, snappath, 4, 1, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_read_meta(snappath, &meta, err, sizeof(err)), 0);
	ck_assert_uint_eq(meta.version, 6);
	snap_meta_free(&meta);
	ck_assert_int_eq(snap_restore(s2, snappath, err, sizeof(err)), 0);
	ck_assert_int_eq(store_get_client(s2, 21, &cl), 0);
	ck_assert_uint_eq(cl.count, 2);
	ck_assert_uint_eq(cl.revision, 4);
	ck_assert_uint_ne(cl.digest, 0);

	r = apply_raw(s2, 5, d, nd);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 4);
	ck_assert_uint_eq(r.count, 2);
	r = apply_raw(s2, 6, o, no);
	ck_assert_int_eq(r.status, STORE_REUSED);
	check_value(s2, "/q", "3", 1, 3);
	store_close(s2);
	store_close(s);
}
END_TEST

/* The records a snapshot restores, each as hex of key and value, sorted. */
struct records {
	char **v;
	size_t n, cap;
};

static int
record_hex(void *arg, const struct store_record *rec)
{
	struct records *r = arg;
	char *h = malloc(2 * (rec->klen + rec->vlen) + 2);

	ck_assert_ptr_nonnull(h);
	for (size_t i = 0; i < rec->klen; i++)
		sprintf(h + 2 * i, "%02x", rec->key[i]);
	h[2 * rec->klen] = '=';
	for (size_t i = 0; i < rec->vlen; i++)
		sprintf(h + 2 * rec->klen + 1 + 2 * i, "%02x", rec->val[i]);
	h[2 * (rec->klen + rec->vlen) + 1] = '\0';
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		ck_assert_ptr_nonnull(r->v);
	}
	r->v[r->n++] = h;
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
records_of(const char *fixture, struct records *out)
{
	struct store *s = open_ok(db2path);
	char err[512] = "";

	memset(out, 0, sizeof(*out));
	ck_assert_msg(snap_restore(s, fixture, err, sizeof(err)) == 0, "%s: %s", fixture, err);
	ck_assert_int_eq(store_export(s, record_hex, out), 0);
	qsort(out->v, out->n, sizeof(*out->v), str_cmp);
	store_close(s);
	ck_assert_int_eq(store_destroy(db2path), 0);
}

static void
records_free(struct records *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
}

/*
 * The same store written again gives the same file: the same header, byte
 * for byte, and the same records.  Their order is the store file's (the
 * export walks it from its start: tdbscan.h), which the fixture, written
 * when the export followed tdb's hash chains, does not pin.
 */
START_TEST(test_a_snapshot_file_has_the_pinned_bytes)
{
	struct store *s = open_ok(dbpath);
	char err[512] = "";
	uint8_t *want, *got, *v2;
	size_t wlen, glen, v2len, head;
	struct records v5recs, v6recs, nowrecs;

	populate(s);
	ck_assert_int_eq(snap_write(s, snappath, 7, 2, members3, 3, err, sizeof(err)), 0);
	want = slurp(FIXTURE_V6, &wlen);
	got = slurp(snappath, &glen);
	ck_assert_uint_eq(glen, wlen);
	head = 44 + (got[40] | (size_t)got[41] << 8) + 4;
	ck_assert(memcmp(got, want, head) == 0); /* the header with its crc */
	free(want);
	free(got);
	records_of(snappath, &nowrecs);
	records_of(FIXTURE_V6, &v6recs);
	ck_assert_uint_eq(nowrecs.n, v6recs.n);
	for (size_t i = 0; i < nowrecs.n; i++)
		ck_assert_msg(strcmp(nowrecs.v[i], v6recs.v[i]) == 0, "record %zu: %s / %s", i,
		    nowrecs.v[i], v6recs.v[i]);
	records_free(&nowrecs);
	records_free(&v6recs);

	/*
	 * Format 6 is format 5 but for the version: only a DEL_PREFIX's "c:"
	 * record is longer (its count), and populate's store has none.  The
	 * header's crc differs with the version; the records are the same,
	 * though not in the same order (they come in the order of the store's
	 * hash buckets, 1048573 when format 5 was pinned, 262139 since).
	 */
	want = slurp(FIXTURE_V6, &wlen);
	got = slurp(FIXTURE_V5, &glen);
	ck_assert_uint_eq(want[8], 6);
	ck_assert_uint_eq(got[8], 5);
	ck_assert_uint_eq(glen, wlen);
	head = 44 + (got[40] | (size_t)got[41] << 8) + 4;
	ck_assert(memcmp(got + 9, want + 9, head - 4 - 9) == 0); /* the header to its crc */
	free(want);
	free(got);
	records_of(FIXTURE_V5, &v5recs);
	records_of(FIXTURE_V6, &v6recs);
	ck_assert_uint_eq(v5recs.n, v6recs.n);
	ck_assert_uint_ge(v5recs.n, 3);
	for (size_t i = 0; i < v5recs.n; i++)
		ck_assert_msg(strcmp(v5recs.v[i], v6recs.v[i]) == 0, "record %zu: %s / %s", i,
		    v5recs.v[i], v6recs.v[i]);
	records_free(&v5recs);
	records_free(&v6recs);

	/*
	 * Format 5 is format 4 with "c:" records 8 bytes longer (the digest of
	 * the request): three clients live in populate's store.
	 */
	want = slurp(FIXTURE_V5, &wlen);
	got = slurp(FIXTURE_V4, &glen);
	ck_assert_uint_eq(want[8], 5);
	ck_assert_uint_eq(got[8], 4);
	ck_assert_uint_eq(glen + 3 * 8, wlen);
	head = 44 + (got[40] | (size_t)got[41] << 8) + 4;
	ck_assert(memcmp(got + 9, want + 9, head - 4 - 9) == 0); /* the header to its crc */
	free(want);
	free(got);

	/*
	 * Format 4 is format 3 with the history's records (the version
	 * differs, the header's membership does not).  Format 3 is format 2
	 * but for the version and the "k:" records, 16 bytes longer each
	 * (create revision, version): the header's membership is the same,
	 * and so are the files' lengths but for those bytes (three keys live
	 * in populate's store).
	 */
	want = slurp(FIXTURE_V4, &wlen);
	got = slurp(FIXTURE_V3, &glen);
	ck_assert_uint_eq(want[8], 4);
	head = 44 + (got[40] | (size_t)got[41] << 8) + 4;
	ck_assert(memcmp(got + 9, want + 9, 32 - 9) == 0);	    /* to the record count */
	ck_assert(memcmp(got + 40, want + 40, head - 4 - 40) == 0); /* the membership */
	free(want);
	v2 = slurp(FIXTURE_V2, &v2len);
	ck_assert_uint_eq(v2len + 3 * 16, glen);
	ck_assert_uint_eq(got[8], 3);
	ck_assert_uint_eq(v2[8], 2);
	ck_assert(memcmp(got, v2, 8) == 0);
	ck_assert(memcmp(got + 9, v2 + 9, head - 4 - 9) == 0);
	free(v2);
	free(got);
	store_close(s);
}
END_TEST

static Suite *
snap_suite(void)
{
	Suite *s = suite_create("snap");
	TCase *file = tcase_create("file");
	TCase *dir = tcase_create("directory");

	tcase_add_checked_fixture(file, setup, teardown);
	/* a deadline for a hung test, not a time to meet: 12 MB of 1 KiB
	 * records through a sanitizer build took over 120 s on a loaded
	 * 2-core machine */
	tcase_set_timeout(file, 300);
	tcase_set_timeout(dir, 120);
	tcase_add_test(file, test_a_snapshot_restored_into_a_fresh_store_is_identical);
	tcase_add_test(file, test_a_snapshot_carries_the_tokens_and_never_as_keys);
	tcase_add_test(file, test_snapshot_write_refuses_an_index_the_store_has_not_applied);
	tcase_add_test(file, test_truncated_corrupt_or_wrong_version_snapshots_are_rejected);
	tcase_add_test(file, test_many_keys_list_sorted_and_snapshot_round_trip);
	tcase_add_test(file, test_a_snapshot_past_the_writeback_chunk_round_trips);
	tcase_add_test(file, test_a_snapshot_file_of_format_version_1_still_restores);
	tcase_add_test(file, test_a_snapshot_file_of_format_version_2_upgrades_its_keys);
	tcase_add_test(file, test_cas_and_txn_results_survive_a_snapshot);
	tcase_add_test(file, test_a_prefix_deletions_count_survives_a_snapshot);
	tcase_add_test(file, test_a_snapshot_file_of_format_version_5_still_restores);
	tcase_add_test(file, test_a_snapshot_file_has_the_pinned_bytes);
	suite_add_tcase(s, file);

	tcase_add_checked_fixture(dir, setup, teardown);
	snap_dir_tests(dir);
	suite_add_tcase(s, dir);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(snap_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
