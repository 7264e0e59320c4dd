/*
 * check_store.c — unit tests for daemon/store: applying commands with
 * dedup, reading, listing, handing out and replacing the whole contents,
 * and refusing damaged files (snapshot files: check_snap.c).
 *
 * Every test works in its own directory under $TMPDIR (or /tmp).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tdb.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "mapkeep.h"
#include "store.h"
#include "token.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define FIXTURE_NAME "check_store"
#include "store_fixture.h"

/* Everything a listing shows, as one string: "key=hex(value)@rev;..." */
struct dump {
	char *s;
	size_t len, cap;
	int calls;
	int stop_after;
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

static int
dump_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen, uint64_t rev)
{
	struct dump *d = arg;

	static const char hex[] = "0123456789abcdef";
	char *h = malloc(2 * vlen + 1);

	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(strlen(key), klen);
	for (size_t i = 0; i < vlen; i++) {
		h[2 * i] = hex[val[i] >> 4];
		h[2 * i + 1] = hex[val[i] & 15];
	}
	h[2 * vlen] = '\0';
	dump_add(d, "%s=%s@%" PRIu64 ";", key, h, rev);
	free(h);
	d->calls++;
	return d->stop_after && d->calls == d->stop_after ? 42 : 0;
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
static char *
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
		dump_add(&d, "%.*s", (int)mlen, (const char *)m);
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

static uint8_t *
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

static void
spill(const char *path, const uint8_t *b, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b, size), (ssize_t)size);
	close(fd);
}

static const uint8_t binval[] = { 0, 1, 2, 0xff, 0, '\n', 0x80 };

/* A store with a bit of everything: keys, a delete, clients, members. */
static void
populate(struct store *s)
{
	ck_assert_int_eq(store_begin(s), 0);
	set(s, 1, 1, 1, "/app/a", "1", 1);
	set(s, 2, 2, 1, "/app/b", binval, sizeof(binval));
	set(s, 3, 0, 0, "/other/x", "x", 1);
	set(s, 4, 1, 2, "/app/ab", "", 0);
	del(s, 5, 3, 7, "/other/x");
	del(s, 6, 3, 8, "/nothing");
	ck_assert_int_eq(store_set_members(s, "n1,n2,n3", 8), 0);
	ck_assert_int_eq(store_set_applied(s, 7, 2), 0);
	ck_assert_int_eq(store_commit(s), 0);
}

/* "01 0a ff" -> bytes; spaces are ignored. */
static uint8_t *
unhex(const char *s, size_t *len)
{
	uint8_t *b = malloc(strlen(s) / 2 + 1);
	size_t n = 0;

	ck_assert_ptr_nonnull(b);
	while (*s) {
		unsigned v;

		if (*s == ' ') {
			s++;
			continue;
		}
		ck_assert_int_eq(sscanf(s, "%2x", &v), 1);
		b[n++] = (uint8_t)v;
		s += 2;
	}
	*len = n;
	return b;
}

/* ------------------------------------------------------------ commands */

START_TEST(test_commands_round_trip_and_bad_ones_are_refused)
{
	uint8_t buf[STORE_CMD_SET_SIZE(16, 8)], small[8];
	char longkey[RAFTCONF_MAX_KEY + 2];
	struct store_cmd c;
	ssize_t n;

	n = store_cmd_encode_set(buf, sizeof(buf), 77, 5, "/k", 2, "valu", 4);
	ck_assert_int_eq(n, STORE_CMD_SET_SIZE(2, 4));
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_int_eq(c.op, STORE_OP_SET);
	ck_assert_uint_eq(c.client_id, 77);
	ck_assert_uint_eq(c.seq, 5);
	ck_assert_uint_eq(c.klen, 2);
	ck_assert(memcmp(c.key, "/k", 2) == 0);
	ck_assert_uint_eq(c.vlen, 4);
	ck_assert(memcmp(c.value, "valu", 4) == 0);
	/* every truncation and one byte too many are malformed */
	for (size_t len = 0; len < (size_t)n; len++)
		ck_assert_int_eq(store_cmd_decode(buf, len, &c), -EBADMSG);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n + 1, &c), -EBADMSG);
	/* a key length pointing past the end */
	buf[17] = 0xff;
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), -EBADMSG);
	buf[0] = 0x7f;
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), -ENOTSUP);

	n = store_cmd_encode_del(buf, sizeof(buf), 1, 2, "/d", 2);
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(2));
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_int_eq(c.op, STORE_OP_DEL);

	ck_assert_int_eq(store_cmd_encode_set(buf, sizeof(buf), 1, 1, "", 0, "v", 1), -EINVAL);
	ck_assert_int_eq(store_cmd_encode_set(buf, sizeof(buf), 1, 1, "a\0b", 3, "v", 1), -EINVAL);
	memset(longkey, 'k', sizeof(longkey));
	ck_assert_int_eq(
	    store_cmd_encode_del(buf, sizeof(buf), 1, 1, longkey, RAFTCONF_MAX_KEY + 1), -EINVAL);
	ck_assert_int_eq(
	    store_cmd_encode_set(small, sizeof(small), 1, 1, "/k", 2, "v", 1), -ENOSPC);
	ck_assert_int_eq(store_cmd_encode_set(
			     buf, sizeof(buf), 1, 1, "/k", 2, "v", (size_t)RAFTCONF_MAX_VALUE + 1),
	    -EINVAL);
	/* a key with a NUL inside, forged by hand */
	n = store_cmd_encode_del(buf, sizeof(buf), 1, 2, "/dd", 3);
	buf[STORE_CMD_HEADER + 1] = '\0';
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), -EBADMSG);
}
END_TEST

START_TEST(test_a_corrupt_command_is_consumed_as_bad_and_changes_nothing)
{
	struct store *s = open_ok(dbpath);
	static const uint8_t junk[] = { 0x01, 0x02, 0x03 };
	struct store_result res;
	char *before, *after;

	populate(s);
	before = dump_all(s);
	ck_assert_int_eq(store_apply(s, 8, 3, junk, sizeof(junk), &res), 0);
	ck_assert_int_eq(res.status, STORE_BAD_COMMAND);
	ck_assert_int_eq(store_apply(s, 9, 3, NULL, 0, &res), 0);
	ck_assert_int_eq(res.status, STORE_BAD_COMMAND);
	ck_assert_uint_eq(store_applied(s), 9);
	ck_assert_uint_eq(store_applied_term(s), 3);
	ck_assert_int_eq(store_set_applied(s, 7, 2), -EINVAL); /* never backwards */
	after = dump_all(s);
	/* only the applied index moved */
	ck_assert_ptr_nonnull(strstr(after, "applied=9/3"));
	ck_assert_str_eq(strchr(before, ' '), strchr(after, ' '));
	/* an index already applied is refused, not applied twice */
	ck_assert_int_eq(store_apply(s, 9, 3, junk, sizeof(junk), &res), -EINVAL);
	free(before);
	free(after);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------ keys */

START_TEST(test_set_get_del_and_list_with_prefixes_and_binary_values)
{
	struct store *s = open_ok(dbpath);
	struct store_result res;
	struct dump d = { .cap = 64, .stop_after = 2 };
	uint64_t rev;
	char *l;

	populate(s);
	check_value(s, "/app/a", "1", 1, 1);
	check_value(s, "/app/b", binval, sizeof(binval), 2);
	check_value(s, "/app/ab", "", 0, 4);
	ck_assert_int_eq(store_get(s, "/other/x", 8, NULL, NULL, &rev), -ENOENT);
	ck_assert_int_eq(store_get(s, "/app", 4, NULL, NULL, NULL), -ENOENT);

	l = dump_list(s, "/app/");
	ck_assert_str_eq(l, "/app/a=31@1;/app/ab=@4;/app/b=000102ff000a80@2;");
	free(l);
	l = dump_list(s, "/app/a");
	ck_assert_str_eq(l, "/app/a=31@1;/app/ab=@4;");
	free(l);
	l = dump_list(s, "/nope");
	ck_assert_str_eq(l, "");
	free(l);

	res = set(s, 8, 0, 0, "/0", "zero", 4);
	ck_assert_int_eq(res.status, STORE_OK);
	ck_assert_uint_eq(res.revision, 8);
	l = dump_list(s, "");
	ck_assert_str_eq(l, "/0=7a65726f@8;/app/a=31@1;/app/ab=@4;/app/b=000102ff000a80@2;");
	free(l);

	/* a callback that stops the listing */
	d.s = calloc(1, d.cap);
	ck_assert_int_eq(store_list(s, "", 0, dump_cb, &d), 42);
	ck_assert_int_eq(d.calls, 2);
	free(d.s);

	res = del(s, 9, 0, 0, "/app/a");
	ck_assert_int_eq(res.status, STORE_OK);
	ck_assert_uint_eq(res.revision, 9);
	ck_assert_int_eq(store_get(s, "/app/a", 6, NULL, NULL, NULL), -ENOENT);
	res = del(s, 10, 0, 0, "/app/a");
	ck_assert_int_eq(res.status, STORE_NOT_FOUND);
	ck_assert_uint_eq(res.revision, 0);
	store_close(s);
}
END_TEST

START_TEST(test_revisions_are_the_index_of_the_entry_that_wrote_the_key)
{
	struct store *s = open_ok(dbpath);

	set(s, 10, 0, 0, "/k", "one", 3);
	ck_assert_int_eq(store_set_applied(s, 11, 1), 0);
	set(s, 12, 0, 0, "/k", "two", 3);
	set(s, 13, 0, 0, "/j", "j", 1);
	check_value(s, "/k", "two", 3, 12);
	check_value(s, "/j", "j", 1, 13);
	ck_assert_uint_eq(store_applied(s), 13);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------ dedup */

START_TEST(test_applying_the_same_client_request_twice_changes_nothing)
{
	struct store *s = open_ok(dbpath);
	struct store_result res;
	struct store_client c;

	res = set(s, 1, 7, 1, "/k", "v1", 2);
	ck_assert_int_eq(res.status, STORE_OK);
	ck_assert(!res.duplicate);
	ck_assert_uint_eq(res.revision, 1);

	/* the retry; a different command under the same (client, seq) is
	 * refused, not answered with the first one's result */
	res = set(s, 2, 7, 1, "/k", "v1", 2);
	ck_assert(res.duplicate);
	ck_assert_int_eq(res.status, STORE_OK);
	ck_assert_uint_eq(res.revision, 1);
	res = set(s, 3, 7, 1, "/k", "v2", 2);
	ck_assert(!res.duplicate);
	ck_assert_int_eq(res.status, STORE_REUSED);
	check_value(s, "/k", "v1", 2, 1);
	ck_assert_int_eq(store_get_client(s, 7, &c), 0);
	ck_assert_uint_eq(c.revision, 1);
	ck_assert_uint_eq(store_applied(s), 3);

	/* the next seq applies; an older one is stale */
	res = set(s, 4, 7, 2, "/k", "v3", 2);
	ck_assert(!res.duplicate);
	ck_assert_uint_eq(res.revision, 4);
	res = set(s, 5, 7, 1, "/k", "v4", 2);
	ck_assert_int_eq(res.status, STORE_STALE);
	check_value(s, "/k", "v3", 2, 4);

	/* a delete's recorded result is not-found, and stays so */
	res = del(s, 6, 8, 1, "/missing");
	ck_assert_int_eq(res.status, STORE_NOT_FOUND);
	set(s, 7, 0, 0, "/missing", "now", 3);
	res = del(s, 8, 8, 1, "/missing");
	ck_assert(res.duplicate);
	ck_assert_int_eq(res.status, STORE_NOT_FOUND);
	check_value(s, "/missing", "now", 3, 7);

	ck_assert_int_eq(store_get_client(s, 7, &c), 0);
	ck_assert_uint_eq(c.last_seq, 2);
	ck_assert_uint_eq(c.revision, 4);
	ck_assert_uint_eq(c.last_used, 4);
	ck_assert_int_eq(store_get_client(s, 0, &c), -ENOENT);
	ck_assert_uint_eq(store_clients(s), 2);
	store_close(s);

	/* and after a restart */
	s = open_ok(dbpath);
	res = set(s, 9, 7, 2, "/k", "v3", 2);
	ck_assert(res.duplicate);
	ck_assert_uint_eq(res.revision, 4);
	res = set(s, 10, 7, 2, "/k", "v9", 2);
	ck_assert_int_eq(res.status, STORE_REUSED);
	store_close(s);

	/* A record from before the digest (25 bytes): any retry of its seq is
	 * the retry it says. */
	{
		struct tdb_context *t = tdb_open(dbpath, 0, 0, O_RDWR, 0600);
		uint8_t old[25] = { 0 };
		TDB_DATA k = { (unsigned char *)"c:0000000000000009", 18 };
		TDB_DATA d = { old, sizeof(old) };

		ck_assert_ptr_nonnull(t);
		old[0] = 5;   /* seq */
		old[8] = 10;  /* revision */
		old[17] = 10; /* last used */
		TDB_DATA mk = { (unsigned char *)"m:clients", 9 }, mv;

		ck_assert_int_eq(tdb_store(t, k, d, TDB_INSERT), 0);
		mv = tdb_fetch(t, mk); /* the count the store checks at open */
		ck_assert_uint_eq(mv.dsize, 8);
		put_le64(mv.dptr, get_le64(mv.dptr) + 1);
		ck_assert_int_eq(tdb_store(t, mk, mv, TDB_REPLACE), 0);
		free(mv.dptr);
		tdb_close(t);
	}
	s = open_ok(dbpath);
	ck_assert_int_eq(store_get_client(s, 9, &c), 0);
	ck_assert_uint_eq(c.last_seq, 5);
	ck_assert_uint_eq(c.digest, 0);
	res = set(s, 11, 9, 5, "/anything", "x", 1);
	ck_assert(res.duplicate);
	ck_assert_uint_eq(res.revision, 10);
	res = set(s, 12, 9, 6, "/anything", "x", 1);
	ck_assert(!res.duplicate);
	ck_assert_int_eq(store_get_client(s, 9, &c), 0);
	ck_assert_uint_ne(c.digest, 0);
	store_close(s);
}
END_TEST

START_TEST(test_the_dedup_table_is_bounded_and_evicts_the_least_recently_used)
{
	struct store *s = open_ok(dbpath);
	struct store_client c;
	uint64_t index = 0;

	ck_assert_int_eq(store_begin(s), 0);
	for (uint64_t id = 1; id <= STORE_MAX_CLIENTS; id++)
		set(s, ++index, id, 1, "/k", "v", 1);
	ck_assert_uint_eq(store_clients(s), STORE_MAX_CLIENTS);
	set(s, ++index, 1, 2, "/k", "v", 1); /* client 1 is recent again */
	ck_assert_uint_eq(store_clients(s), STORE_MAX_CLIENTS);
	set(s, ++index, STORE_MAX_CLIENTS + 1, 1, "/k", "v", 1);
	ck_assert_int_eq(store_commit(s), 0);

	ck_assert_uint_le(store_clients(s), STORE_MAX_CLIENTS);
	ck_assert_uint_eq(store_clients(s), STORE_MAX_CLIENTS - STORE_MAX_CLIENTS / 10);
	ck_assert_int_eq(store_get_client(s, 1, &c), 0);
	ck_assert_uint_eq(c.last_seq, 2);
	/* the oldest tenth went: clients 2 .. 1 + MAX/10 + 1 */
	ck_assert_int_eq(store_get_client(s, 2, &c), -ENOENT);
	ck_assert_int_eq(store_get_client(s, STORE_MAX_CLIENTS / 10 + 2, &c), -ENOENT);
	ck_assert_int_eq(store_get_client(s, STORE_MAX_CLIENTS / 10 + 3, &c), 0);
	ck_assert_int_eq(store_get_client(s, STORE_MAX_CLIENTS + 1, &c), 0);
	store_close(s);

	/* the count is stored, and checked against the records on open */
	s = open_ok(dbpath);
	ck_assert_uint_eq(store_clients(s), STORE_MAX_CLIENTS - STORE_MAX_CLIENTS / 10);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------ durability */

START_TEST(test_applied_index_and_members_persist_across_close_and_reopen)
{
	struct store *s = open_ok(dbpath);
	uint8_t *m;
	size_t mlen;

	ck_assert_uint_eq(store_applied(s), 0);
	ck_assert_int_eq(store_get_members(s, &m, &mlen), -ENOENT);
	populate(s);
	store_close(s);

	s = open_ok(dbpath);
	ck_assert_uint_eq(store_applied(s), 7);
	ck_assert_uint_eq(store_applied_term(s), 2);
	ck_assert_int_eq(store_get_members(s, &m, &mlen), 0);
	ck_assert_uint_eq(mlen, 8);
	ck_assert(memcmp(m, "n1,n2,n3", 8) == 0);
	free(m);
	check_value(s, "/app/b", binval, sizeof(binval), 2);
	ck_assert_int_eq(store_set_members(s, NULL, 0), 0);
	ck_assert_int_eq(store_get_members(s, &m, &mlen), 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(mlen, 0);
	free(m);
	store_close(s);
}
END_TEST

START_TEST(test_a_cancelled_batch_leaves_nothing_behind)
{
	struct store *s = open_ok(dbpath);
	char *before, *after;

	populate(s);
	before = dump_all(s);
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_begin(s), -EBUSY);
	set(s, 8, 4, 1, "/new", "n", 1);
	del(s, 9, 0, 0, "/app/a");
	ck_assert_int_eq(store_set_members(s, "n9", 2), 0);
	store_cancel(s);
	after = dump_all(s);
	ck_assert_str_eq(before, after);
	free(after);
	store_close(s);
	s = open_ok(dbpath);
	after = dump_all(s);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	store_close(s);
}
END_TEST

/* A child process dies (no close) inside a batch, or right after committing one. */
static void
crash_child(bool commit)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store *s = NULL;
		char err[256];

		if (store_open(dbpath, &s, err, sizeof(err)) != 0 || store_begin(s) != 0)
			_exit(3);
		for (uint64_t i = 8; i < 208; i++) {
			uint8_t buf[64];
			struct store_result res;
			char key[32];
			ssize_t n;

			snprintf(key, sizeof(key), "/crash/%" PRIu64, i);
			n = store_cmd_encode_set(buf, sizeof(buf), 0, 0, key, strlen(key), "v", 1);
			if (n < 0 || store_apply(s, i, 3, buf, (size_t)n, &res) != 0)
				_exit(4);
		}
		if (commit && store_commit(s) != 0)
			_exit(5);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_a_process_crash_leaves_the_old_batch_or_the_new_one)
{
	struct store *s = open_ok(dbpath);
	char *before, *after, *l;

	populate(s);
	before = dump_all(s);
	store_close(s);

	crash_child(false);
	s = open_ok(dbpath); /* same boot: trusted, and tdb_check passes */
	after = dump_all(s);
	ck_assert_str_eq(before, after);
	free(after);
	store_close(s);

	crash_child(true);
	s = open_ok(dbpath);
	ck_assert_uint_eq(store_applied(s), 207);
	l = dump_list(s, "/crash/");
	ck_assert_ptr_nonnull(strstr(l, "/crash/207=76@207;"));
	free(l);
	free(before);
	store_close(s);
}
END_TEST

START_TEST(test_a_damaged_tdb_header_makes_open_fail_with_ebadmsg)
{
	struct store *s = open_ok(dbpath), *s2 = NULL;
	char err[512] = "";
	size_t size, size2;
	uint8_t *b, *b2;

	populate(s);
	store_close(s);
	b = slurp(dbpath, &size);
	memset(b, 'X', 32);
	spill(dbpath, b, size);
	ck_assert_int_eq(store_open(dbpath, &s2, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_null(s2);
	ck_assert_msg(strstr(err, dbpath) != NULL, "%s", err);
	/* refused, not reinitialised */
	b2 = slurp(dbpath, &size2);
	ck_assert_uint_eq(size2, size);
	ck_assert(memcmp(b, b2, size) == 0);
	free(b2);

	/* an empty file is not a store either */
	spill(dbpath, b, 0);
	ck_assert_int_eq(store_open(dbpath, &s2, err, sizeof(err)), -EBADMSG);

	/* the caller's way out: destroy and start again */
	ck_assert_int_eq(store_destroy(dbpath), 0);
	ck_assert_int_eq(store_destroy(dbpath), 0);
	s = open_ok(dbpath);
	ck_assert_uint_eq(store_applied(s), 0);
	store_close(s);
	free(b);
}
END_TEST

START_TEST(test_a_record_the_store_cannot_have_written_makes_open_fail)
{
	struct store *s = open_ok(dbpath), *s2 = NULL;
	struct tdb_context *t;
	char err[512] = "";
	TDB_DATA k = { (unsigned char *)"k:/short", 8 }, v = { (unsigned char *)"abc", 3 };

	populate(s);
	store_close(s);
	t = tdb_open(dbpath, 0, 0, O_RDWR, 0600);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(tdb_store(t, k, v, TDB_REPLACE), 0); /* no revision */
	tdb_close(t);
	ck_assert_int_eq(store_open(dbpath, &s2, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "damaged") != NULL, "%s", err);
}
END_TEST

static void
set_boot(const char *id, uint8_t clean)
{
	struct tdb_context *t = tdb_open(dbpath, 0, 0, O_RDWR, 0600);
	uint8_t b[37];
	TDB_DATA k = { (unsigned char *)"m:boot", 6 }, v = { b, sizeof(b) };

	ck_assert_ptr_nonnull(t);
	b[0] = clean;
	memcpy(b + 1, id, 36);
	ck_assert_int_eq(tdb_store(t, k, v, TDB_REPLACE), 0);
	tdb_close(t);
}

START_TEST(test_a_store_left_unclean_before_a_reboot_is_refused)
{
	struct store *s = open_ok(dbpath), *s2 = NULL;
	char err[512] = "", now[64] = "";
	FILE *f;

	populate(s);
	store_close(s);

	/* unclean, but in this boot: a process crash, which tdb survives */
	f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (f != NULL) {
		ck_assert_ptr_nonnull(fgets(now, sizeof(now), f));
		fclose(f);
		set_boot(now, 0);
		s = open_ok(dbpath);
		store_close(s);
	}
	/* clean in an earlier boot: fine */
	set_boot("00000000-0000-0000-0000-000000000000", 1);
	s = open_ok(dbpath);
	store_close(s);
	/* unclean in an earlier boot: torn pages possible */
	set_boot("00000000-0000-0000-0000-000000000000", 0);
	ck_assert_int_eq(store_open(dbpath, &s2, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "not closed cleanly") != NULL, "%s", err);
}
END_TEST

START_TEST(test_tdbdump_can_read_the_store)
{
	struct store *s = open_ok(dbpath);
	char cmd[512], line[512];
	bool seen = false;
	FILE *p;

	populate(s);
	store_close(s);
	if (system("command -v tdbdump >/dev/null 2>&1") != 0)
		return; /* tdb-tools not installed: nothing to check */
	snprintf(cmd, sizeof(cmd), "tdbdump '%s'", dbpath);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p) != NULL)
		if (strstr(line, "key(8) = \"k:/app/a\"") != NULL)
			seen = true;
	ck_assert_int_eq(pclose(p), 0);
	ck_assert(seen);
}
END_TEST

START_TEST(test_a_command_has_the_pinned_layout)
{
	static const char pinned[] =
	    "01 4d00000000000000 0500000000000000 02000000 2f6b 04000000 76616c75";
	uint8_t buf[STORE_CMD_SET_SIZE(2, 4)], *want;
	size_t wlen;
	ssize_t n;

	n = store_cmd_encode_set(buf, sizeof(buf), 77, 5, "/k", 2, "valu", 4);
	want = unhex(pinned, &wlen);
	ck_assert_int_eq(n, (ssize_t)wlen);
	ck_assert(memcmp(buf, want, wlen) == 0);
	free(want);
	n = store_cmd_encode_del(buf, sizeof(buf), 1, 2, "/d", 2);
	want = unhex("02 0100000000000000 0200000000000000 02000000 2f64", &wlen);
	ck_assert_int_eq(n, (ssize_t)wlen);
	ck_assert(memcmp(buf, want, wlen) == 0);
	free(want);
}
END_TEST

/* ------------------------------------------------------------ whole contents */

struct records {
	int n, keys, clients, tokens;
};

static int
count_cb(void *arg, const struct store_record *rec)
{
	struct records *c = arg;

	ck_assert(store_record_ok(rec));
	c->n++;
	c->keys += rec->key[0] == 'k';
	c->clients += rec->key[0] == 'c';
	c->tokens += rec->key[0] == 't';
	return c->n == 100 ? 7 : 0;
}

/* Copies the records of another store, then gives what test_next_extra says. */
struct feed {
	struct store_record recs[16];
	uint8_t *bufs[16];
	int n, next;
	struct store_record extra;
	bool has_extra;
};

static int
feed_cb(void *arg, const struct store_record *rec)
{
	struct feed *f = arg;
	uint8_t *b = malloc(rec->klen + rec->vlen + 1);

	ck_assert_int_lt(f->n, 16);
	ck_assert_ptr_nonnull(b);
	memcpy(b, rec->key, rec->klen);
	memcpy(b + rec->klen, rec->val, rec->vlen);
	f->bufs[f->n] = b;
	f->recs[f->n++] = (struct store_record){ b, rec->klen, b + rec->klen, rec->vlen };
	return 0;
}

static int
feed_next(void *arg, struct store_record *rec, char *err, size_t errlen)
{
	struct feed *f = arg;

	if (f->next < f->n) {
		*rec = f->recs[f->next++];
		return 1;
	}
	if (f->has_extra) {
		f->has_extra = false;
		*rec = f->extra;
		return 1;
	}
	return 0;
}

START_TEST(test_export_gives_the_key_and_client_records_and_replace_takes_them)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct records c = { 0 };
	struct feed f = { 0 };
	char err[512] = "", restore[320], *before, *after;

	populate(s);
	ck_assert_int_eq(store_export(s, count_cb, &c), 0);
	ck_assert_int_eq(c.keys, 3);
	ck_assert_int_eq(c.clients, 3);
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_export(s, count_cb, &c), -EBUSY);
	store_cancel(s);
	c.n = 99; /* the callback stops the walk at 100 */
	ck_assert_int_eq(store_export(s, count_cb, &c), 7);
	ck_assert_int_eq(store_export(s, feed_cb, &f), 0);

	set(s2, 1, 9, 1, "/mine", "stays", 5);
	snprintf(restore, sizeof(restore), "%s.restore", db2path);
	before = dump_all(s2);
	/* a meta record, and a key given twice, are refused; s2 stays as it was */
	f.extra = (struct store_record){ (const uint8_t *)"m:applied", 9,
		(const uint8_t *)"0123456789abcdef", 16 };
	f.has_extra = true;
	ck_assert_int_eq(
	    store_replace(s2, 7, 2, "n1,n2,n3", 8, feed_next, &f, err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(access(restore, F_OK), -1);
	f.next = 0;
	f.extra = f.recs[0];
	f.has_extra = true;
	ck_assert_int_eq(
	    store_replace(s2, 7, 2, "n1,n2,n3", 8, feed_next, &f, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "repeats a key") != NULL, "%s", err);
	after = dump_all(s2);
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(access(restore, F_OK), -1);
	free(before);
	free(after);

	f.next = 0;
	ck_assert_int_eq(
	    store_replace(s2, 7, 2, "n1,n2,n3", 8, feed_next, &f, err, sizeof(err)), 0);
	before = dump_all(s);
	after = dump_all(s2);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	for (int i = 0; i < f.n; i++)
		free(f.bufs[i]);
	store_close(s2);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------ tokens */

/* Apply TOKEN_PUT of name (access, prefix, a hash of byte h) at index. */
static struct store_result
token_put(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *name,
    enum token_access access, const char *prefix, uint8_t h)
{
	uint8_t rec[TOKEN_RECORD_MAX], hash[TOKEN_HASH_LEN];
	uint8_t buf[STORE_CMD_SET_SIZE(RAFTCONF_MAX_ID, TOKEN_RECORD_MAX)];
	struct store_result res;
	ssize_t rlen, n;

	memset(hash, h, sizeof(hash));
	rlen = token_record_encode(rec, sizeof(rec), access, prefix, strlen(prefix), hash);
	ck_assert_int_gt(rlen, 0);
	n = store_cmd_encode_token_put(
	    buf, sizeof(buf), client, seq, name, strlen(name), rec, (size_t)rlen);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

static struct store_result
token_del(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *name)
{
	uint8_t buf[STORE_CMD_DEL_SIZE(RAFTCONF_MAX_ID)];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_token_del(buf, sizeof(buf), client, seq, name, strlen(name));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

static int
token_cb(void *arg, const char *name, size_t nlen, const struct token_record *rec)
{
	return token_table_put(arg, name, nlen, rec);
}

/* The tokens of s, in name order: "name:access:prefix:first hash byte;..." */
static char *
dump_tokens(struct store *s)
{
	struct token_table t = { 0 };
	struct dump d = { .cap = 64 };

	d.s = calloc(1, d.cap);
	ck_assert_ptr_nonnull(d.s);
	ck_assert_int_eq(store_tokens(s, token_cb, &t), 0);
	for (size_t i = 0; i < t.n; i++)
		dump_add(&d, "%s:%s:%.*s:%02x;", t.v[i]->name, token_access_name(t.v[i]->access),
		    (int)t.v[i]->plen, t.v[i]->prefix, t.v[i]->hash[0]);
	token_table_free(&t);
	return d.s;
}

static int
no_token_key_cb(
    void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen, uint64_t rev)
{
	ck_assert_msg(
	    strstr(key, "app-ro") == NULL && strstr(key, "all") == NULL, "list shows %s", key);
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_token_commands_round_trip_and_bad_ones_are_refused)
{
	uint8_t rec[TOKEN_RECORD_MAX], hash[TOKEN_HASH_LEN] = { 0 };
	uint8_t buf[STORE_CMD_SET_SIZE(RAFTCONF_MAX_ID, TOKEN_RECORD_MAX)];
	struct store_cmd c;
	ssize_t rlen, n;

	rlen = token_record_encode(rec, sizeof(rec), TOKEN_READ, "/app/", 5, hash);
	n = store_cmd_encode_token_put(buf, sizeof(buf), 3, 4, "app-ro", 6, rec, (size_t)rlen);
	ck_assert_int_eq(n, STORE_CMD_SET_SIZE(6, (size_t)rlen));
	ck_assert_int_eq(buf[0], STORE_OP_TOKEN_PUT);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_int_eq(c.op, STORE_OP_TOKEN_PUT);
	ck_assert(!store_cmd_is_key(c.op));
	ck_assert_uint_eq(c.client_id, 3);
	ck_assert_uint_eq(c.seq, 4);
	ck_assert(c.klen == 6 && memcmp(c.key, "app-ro", 6) == 0);
	ck_assert(c.vlen == (size_t)rlen && memcmp(c.value, rec, c.vlen) == 0);
	for (size_t len = 0; len < (size_t)n; len++)
		ck_assert_int_eq(store_cmd_decode(buf, len, &c), -EBADMSG);
	/* A record that does not decode, forged by hand. */
	buf[n - TOKEN_HASH_LEN - 5 - 4] = 9; /* the record's version */
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), -EBADMSG);
	/* A name outside [A-Za-z0-9_-]: refused to encode and, forged, to decode. */
	ck_assert_int_eq(
	    store_cmd_encode_token_put(buf, sizeof(buf), 1, 1, "a/b", 3, rec, (size_t)rlen),
	    -EINVAL);
	ck_assert_int_eq(
	    store_cmd_encode_token_put(buf, sizeof(buf), 1, 1, "ab", 2, rec, (size_t)rlen - 1),
	    -EINVAL);
	n = store_cmd_encode_token_del(buf, sizeof(buf), 1, 2, "app-ro", 6);
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(6));
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_int_eq(c.op, STORE_OP_TOKEN_DEL);
	buf[STORE_CMD_HEADER + 3] = '/';
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), -EBADMSG);
	ck_assert_int_eq(store_cmd_encode_token_del(buf, sizeof(buf), 1, 2, "", 0), -EINVAL);
	ck_assert(store_cmd_is_key(STORE_OP_SET) && store_cmd_is_key(STORE_OP_DEL));
	ck_assert(!store_cmd_is_key(STORE_OP_TOKEN_DEL));
}
END_TEST

START_TEST(test_tokens_apply_and_are_never_keys)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;
	char *t;
	int keys = 0;

	set(s, 1, 1, 1, "/app/x", "v", 1);
	r = token_put(s, 2, 2, 1, "app-ro", TOKEN_READ, "/app/", 0xaa);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 2);
	/* The same name again is refused and changes nothing... */
	r = token_put(s, 3, 3, 1, "app-ro", TOKEN_WRITE, "", 0xbb);
	ck_assert_int_eq(r.status, STORE_EXISTS);
	/* ...and a retry of the first is its first answer again. */
	r = token_put(s, 4, 2, 1, "app-ro", TOKEN_READ, "/app/", 0xaa);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert(r.duplicate);
	r = token_put(s, 5, 2, 2, "all", TOKEN_WRITE, "", 0xcc);
	ck_assert_int_eq(r.status, STORE_OK);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;app-ro:read:/app/:aa;");
	free(t);

	/* Not a key: get, list of everything, and a key named like one. */
	ck_assert_int_eq(store_get(s, "app-ro", 6, NULL, NULL, NULL), -ENOENT);
	ck_assert_int_eq(store_get(s, "t:app-ro", 8, NULL, NULL, NULL), -ENOENT);
	ck_assert_int_eq(store_list(s, "", 0, no_token_key_cb, &keys), 0);
	ck_assert_int_eq(keys, 1);
	keys = 0;
	ck_assert_int_eq(store_list(s, "t", 1, no_token_key_cb, &keys), 0);
	ck_assert_int_eq(keys, 0);
	/* A key of the same name is another thing. */
	set(s, 6, 0, 0, "app-ro", "key", 3);
	check_value(s, "app-ro", "key", 3, 6);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;app-ro:read:/app/:aa;");
	free(t);
	del(s, 7, 0, 0, "app-ro");

	r = token_del(s, 8, 2, 3, "app-ro");
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 8);
	r = token_del(s, 9, 2, 4, "app-ro");
	ck_assert_int_eq(r.status, STORE_NOT_FOUND);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;");
	free(t);
	check_value(s, "/app/x", "v", 1, 1);

	/* The file checks at open with "t:" records in it (and a client
	 * record of status STORE_EXISTS). */
	store_close(s);
	s = open_ok(dbpath);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;");
	free(t);
	/* Read from what the check at open kept, until a write: then from
	 * the file again, with the change. */
	r = token_put(s, 10, 2, 5, "new", TOKEN_READ, "/n/", 0xee);
	ck_assert_int_eq(r.status, STORE_OK);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "all:write::cc;new:read:/n/:ee;");
	free(t);
	store_close(s);
	s = open_ok(dbpath);
	ck_assert_int_eq(store_begin(s), 0);
	r = token_del(s, 11, 2, 6, "all");
	ck_assert_int_eq(r.status, STORE_OK);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "new:read:/n/:ee;");
	free(t);
	ck_assert_int_eq(store_commit(s), 0);
	store_close(s);
	/* A new store has none, and then what is applied. */
	ck_assert_int_eq(store_destroy(dbpath), 0);
	s = open_ok(dbpath);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "");
	free(t);
	token_put(s, 1, 2, 1, "first", TOKEN_READ, "", 0x11);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "first:read::11;");
	free(t);
	store_close(s);
}
END_TEST

START_TEST(test_tokens_survive_an_export_and_replace_and_a_forged_one_is_refused)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct records c = { 0 };
	struct feed f = { 0 };
	char err[512] = "", *a, *b;
	int keys = 0;

	set(s, 1, 1, 1, "/app/x", "v", 1);
	token_put(s, 2, 2, 1, "app-ro", TOKEN_READ, "/app/", 0xaa);
	token_put(s, 3, 2, 2, "all", TOKEN_WRITE, "", 0xcc);
	token_put(s, 4, 2, 3, "gone", TOKEN_WRITE, "/g", 0xdd);
	token_del(s, 5, 2, 4, "gone");
	ck_assert_int_eq(store_export(s, count_cb, &c), 0);
	ck_assert_int_eq(c.keys, 1);
	ck_assert_int_eq(c.tokens, 2);
	ck_assert_int_eq(c.clients, 2);
	ck_assert_int_eq(store_export(s, feed_cb, &f), 0);

	/* A "t:" record whose value is not a token record is refused whole. */
	f.extra = (struct store_record){ (const uint8_t *)"t:bad", 5, (const uint8_t *)"x", 1 };
	f.has_extra = true;
	ck_assert_int_eq(
	    store_replace(s2, 5, 1, NULL, 0, feed_next, &f, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "not one the store writes") != NULL, "%s", err);
	ck_assert(!store_record_ok(&f.extra));

	f.next = 0;
	f.has_extra = false;
	ck_assert_int_eq(store_replace(s2, 5, 1, NULL, 0, feed_next, &f, err, sizeof(err)), 0);
	a = dump_tokens(s);
	b = dump_tokens(s2);
	ck_assert_str_eq(a, "all:write::cc;app-ro:read:/app/:aa;");
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	a = dump_all(s);
	b = dump_all(s2);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	ck_assert_int_eq(store_list(s2, "", 0, no_token_key_cb, &keys), 0);
	ck_assert_int_eq(keys, 1);
	for (int i = 0; i < f.n; i++)
		free(f.bufs[i]);
	store_close(s2);
	store_close(s);
}
END_TEST

/*
 * store_replace in two steps (a node restores the leader's snapshot on a
 * thread): the build leaves the store as it was; a build thrown away
 * leaves no file; a swap brings the new contents and their tokens; a
 * build of another store's file is refused by the swap, and thrown away.
 */
START_TEST(test_a_replace_built_beside_the_store_is_swapped_in_later)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct store_built *b = NULL;
	struct feed f = { 0 };
	char err[512] = "", restore[320], *before, *after, *a, *t;

	populate(s);
	token_put(s, 8, 7, 1, "ro", TOKEN_READ, "/app/", 0xaa);
	ck_assert_int_eq(store_export(s, feed_cb, &f), 0);
	set(s2, 1, 9, 1, "/mine", "stays", 5);
	snprintf(restore, sizeof(restore), "%s.restore", db2path);
	before = dump_all(s2);

	ck_assert_int_eq(store_replace_build(store_path(s2), 8, 1, "n1,n2,n3", 8, feed_next, &f, &b,
			     err, sizeof(err)),
	    0);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(access(restore, F_OK), 0);
	after = dump_all(s2);
	ck_assert_str_eq(before, after);
	free(after);
	store_built_free(b);
	ck_assert_int_eq(access(restore, F_OK), -1);
	after = dump_all(s2);
	ck_assert_str_eq(before, after);
	free(after);

	f.next = 0;
	ck_assert_int_eq(store_replace_build(store_path(s2), 8, 1, "n1,n2,n3", 8, feed_next, &f, &b,
			     err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_replace_swap(s2, b, err, sizeof(err)), 0);
	ck_assert_int_eq(access(restore, F_OK), -1);
	ck_assert_uint_eq(store_applied(s2), 8);
	a = dump_all(s);
	after = dump_all(s2);
	ck_assert_str_eq(a, after);
	free(a);
	free(after);
	t = dump_tokens(s2);
	ck_assert_str_eq(t, "ro:read:/app/:aa;");
	free(t);

	/* built for the other store's file: refused at the swap, and gone */
	f.next = 0;
	ck_assert_int_eq(store_replace_build(store_path(s2), 8, 1, "n1,n2,n3", 8, feed_next, &f, &b,
			     err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_replace_swap(s, b, err, sizeof(err)), -EIO);
	ck_assert_int_eq(access(restore, F_OK), -1);
	free(before);
	for (int i = 0; i < f.n; i++)
		free(f.bufs[i]);
	store_close(s2);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------ revisions, CAS, txn */

static struct store_meta
meta_of(struct store *s, const char *key)
{
	struct store_meta m = { 0 };

	ck_assert_int_eq(store_get_meta(s, key, strlen(key), NULL, NULL, &m), 0);
	return m;
}

static void
assert_meta(struct store *s, const char *key, uint64_t rev, uint64_t create, uint64_t version)
{
	struct store_meta m = meta_of(s, key);

	ck_assert_uint_eq(m.revision, rev);
	ck_assert_uint_eq(m.create_revision, create);
	ck_assert_uint_eq(m.version, version);
}

START_TEST(test_a_key_has_its_revision_create_revision_and_version)
{
	struct store *s = open_ok(dbpath);

	set(s, 3, 0, 0, "/k", "a", 1);
	assert_meta(s, "/k", 3, 3, 1);
	set(s, 5, 0, 0, "/k", "b", 1);
	assert_meta(s, "/k", 5, 3, 2);
	del(s, 6, 0, 0, "/k");
	ck_assert_int_eq(store_get_meta(s, "/k", 2, NULL, NULL, NULL), -ENOENT);
	set(s, 8, 0, 0, "/k", "c", 1);
	assert_meta(s, "/k", 8, 8, 1);
	/* and they survive a close and a reopen */
	store_close(s);
	s = open_ok(dbpath);
	assert_meta(s, "/k", 8, 8, 1);
	store_close(s);
}
END_TEST

static struct store_result
set_if(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *key,
    const char *val, uint64_t if_rev)
{
	uint8_t buf[STORE_CMD_SET_SIZE(RAFTCONF_MAX_KEY, 64) + 8];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_set_if(
	    buf, sizeof(buf), client, seq, key, strlen(key), val, strlen(val), if_rev);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

static struct store_result
del_if(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *key,
    uint64_t if_rev)
{
	uint8_t buf[STORE_CMD_DEL_SIZE(RAFTCONF_MAX_KEY) + 8];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_del_if(buf, sizeof(buf), client, seq, key, strlen(key), if_rev);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

START_TEST(test_set_if_and_del_if_apply_only_at_the_expected_revision)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;

	r = set_if(s, 1, 0, 0, "/c", "1", 0); /* must not exist: it does not */
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 1);
	r = set_if(s, 2, 0, 0, "/c", "2", 0); /* must not exist: it does */
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 1);
	check_value(s, "/c", "1", 1, 1);
	r = set_if(s, 3, 0, 0, "/c", "3", 2); /* a revision it never had */
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 1);
	r = set_if(s, 4, 0, 0, "/c", "4", 1);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 4);
	assert_meta(s, "/c", 4, 1, 2);
	r = del_if(s, 5, 0, 0, "/c", 1);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 4);
	check_value(s, "/c", "4", 1, 4);
	r = del_if(s, 6, 0, 0, "/c", 4);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_int_eq(store_get(s, "/c", 2, NULL, NULL, NULL), -ENOENT);
	r = set_if(s, 7, 0, 0, "/c", "7", 4); /* gone: its revision is 0 now */
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 0);
	ck_assert_uint_eq(store_applied(s), 7);
	store_close(s);
}
END_TEST

/*
 * A CAS that applied, retried (the client never heard the answer), gets
 * its first answer — not a failure caused by its own first application.
 */
START_TEST(test_a_retried_cas_gets_its_first_answer)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;

	r = set_if(s, 10, 7, 1, "/n", "1", 0);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 10);
	r = set_if(s, 11, 7, 1, "/n", "1", 0);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 10);
	/* a failed one likewise answers its failure again, with the revision then */
	r = set_if(s, 12, 7, 2, "/n", "2", 0);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 10);
	set(s, 13, 0, 0, "/n", "x", 1);
	r = set_if(s, 14, 7, 2, "/n", "2", 0);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 10);
	check_value(s, "/n", "x", 1, 13);
	store_close(s);
}
END_TEST

struct gets {
	char s[512];
};

/* What a txn did, as its callback tells it: "key=value@rev/create/version;" per get,
 * "+key@rev/create/version;" per set, "-key;" per delete. */
static void
gets_cb(void *arg, uint8_t kind, const char *key, size_t klen, const struct store_meta *m,
    const uint8_t *val, size_t vlen)
{
	struct gets *g = arg;
	size_t n = strlen(g->s);

	if (kind == STORE_TXN_SET)
		snprintf(g->s + n, sizeof(g->s) - n, "+%.*s@%" PRIu64 "/%" PRIu64 "/%" PRIu64 ";",
		    (int)klen, key, m->revision, m->create_revision, m->version);
	else if (kind == STORE_TXN_DEL)
		snprintf(g->s + n, sizeof(g->s) - n, "-%.*s;", (int)klen, key);
	else if (m == NULL)
		snprintf(g->s + n, sizeof(g->s) - n, "%.*s=none;", (int)klen, key);
	else
		snprintf(g->s + n, sizeof(g->s) - n,
		    "%.*s=%.*s@%" PRIu64 "/%" PRIu64 "/%" PRIu64 ";", (int)klen, key, (int)vlen,
		    (const char *)val, m->revision, m->create_revision, m->version);
}

static struct store_compare
cmp(uint8_t target, uint8_t result, const char *key, uint64_t rev, const char *val)
{
	return (struct store_compare){ target, result, key, strlen(key), rev, (const uint8_t *)val,
		val ? strlen(val) : 0 };
}

static struct store_txn_op
op(uint8_t kind, const char *key, const char *val)
{
	return (struct store_txn_op){ kind, key, strlen(key), (const uint8_t *)val,
		val ? strlen(val) : 0 };
}

static struct store_result
txn(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const struct store_compare *c,
    size_t nc, const struct store_txn_op *t, size_t nt, const struct store_txn_op *e, size_t ne,
    struct gets *g)
{
	static uint8_t buf[65536];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_txn(buf, sizeof(buf), NULL, client, seq, c, nc, t, nt, e, ne);
	ck_assert_int_gt(n, 0);
	g->s[0] = '\0';
	ck_assert_int_eq(store_apply_txn(s, index, 1, buf, (size_t)n, &res, gets_cb, g), 0);
	return res;
}

START_TEST(test_a_txn_runs_one_branch_in_order_and_gives_its_gets)
{
	struct store *s = open_ok(dbpath);
	struct store_compare c[3];
	struct store_txn_op t[4], e[2];
	struct store_result r;
	struct gets g;

	set(s, 1, 0, 0, "/a", "tok", 3);
	set(s, 2, 0, 0, "/b", "", 0);
	/* move the token from /a to /b if /a holds it and /b is at 2 */
	c[0] = cmp(STORE_CMP_VALUE, STORE_CMP_EQ, "/a", 0, "tok");
	c[1] = cmp(STORE_CMP_REV, STORE_CMP_EQ, "/b", 2, NULL);
	c[2] = cmp(STORE_CMP_REV, STORE_CMP_LT, "/zz", 1, NULL); /* does not exist: 0 < 1 */
	t[0] = op(STORE_TXN_GET, "/a", NULL);
	t[1] = op(STORE_TXN_SET, "/b", "tok");
	t[2] = op(STORE_TXN_DEL, "/a", NULL);
	t[3] = op(STORE_TXN_GET, "/a", NULL);
	e[0] = op(STORE_TXN_GET, "/a", NULL);
	e[1] = op(STORE_TXN_GET, "/b", NULL);
	r = txn(s, 3, 0, 0, c, 3, t, 4, e, 2, &g);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 3);
	ck_assert_str_eq(g.s, "/a=tok@1/1/1;+/b@3/2/2;-/a;/a=none;");
	assert_meta(s, "/b", 3, 2, 2);
	ck_assert_int_eq(store_get(s, "/a", 2, NULL, NULL, NULL), -ENOENT);

	/* again: /a no longer holds it, so the else branch runs and changes nothing */
	r = txn(s, 4, 0, 0, c, 3, t, 4, e, 2, &g);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 4);
	ck_assert_str_eq(g.s, "/a=none;/b=tok@3/2/2;");
	assert_meta(s, "/b", 3, 2, 2);

	/* != and > */
	c[0] = cmp(STORE_CMP_VALUE, STORE_CMP_NE, "/b", 0, "x");
	c[1] = cmp(STORE_CMP_REV, STORE_CMP_GT, "/b", 2, NULL);
	r = txn(s, 5, 0, 0, c, 2, t + 1, 1, NULL, 0, &g);
	ck_assert_int_eq(r.status, STORE_OK);
	/* a delete of a key that is not there is no delete to tell */
	r = txn(s, 50, 0, 0, NULL, 0, t + 2, 1, NULL, 0, &g);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_str_eq(g.s, "");
	/* a value compare of a key that does not exist is false, = or != */
	c[0] = cmp(STORE_CMP_VALUE, STORE_CMP_NE, "/nothing", 0, "x");
	r = txn(s, 51, 0, 0, c, 1, t + 1, 1, NULL, 0, &g);
	ck_assert_int_eq(r.status, STORE_FAILED);
	assert_meta(s, "/b", 5, 2, 3);

	/* a retried txn gets its branch and revision, and changes nothing */
	c[0] = cmp(STORE_CMP_REV, STORE_CMP_EQ, "/b", 5, NULL);
	r = txn(s, 52, 9, 1, c, 1, t + 1, 1, NULL, 0, &g);
	ck_assert_int_eq(r.status, STORE_OK);
	r = txn(s, 53, 9, 1, c, 1, t + 1, 1, NULL, 0, &g);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 52);
	ck_assert_str_eq(g.s, "");
	assert_meta(s, "/b", 52, 2, 4);
	store_close(s);
}
END_TEST

START_TEST(test_txn_commands_round_trip_and_bad_ones_are_refused)
{
	static struct store_txn_op many[RAFTCONF_MAX_TXN_OPS + 1];
	static uint8_t buf[65536];
	struct store_compare c[1];
	struct store_txn_op t[2];
	struct store_cmd cmd;
	struct store_txn_iter it;
	struct store_compare gc;
	struct store_txn_op go;
	size_t need = 0;
	ssize_t n;

	c[0] = cmp(STORE_CMP_REV, STORE_CMP_GT, "/a", 5, NULL);
	t[0] = op(STORE_TXN_SET, "/a", "v");
	t[1] = op(STORE_TXN_GET, "/b", NULL);
	n = store_cmd_encode_txn(buf, sizeof(buf), &need, 3, 4, c, 1, t, 2, t + 1, 1);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq((size_t)n, need);
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, (size_t)n - 1, NULL, 3, 4, c, 1, t, 2, t + 1, 1), -ENOSPC);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &cmd), 0);
	ck_assert_int_eq(cmd.op, STORE_OP_TXN);
	ck_assert_uint_eq(cmd.client_id, 3);
	ck_assert_uint_eq(cmd.seq, 4);
	ck_assert_uint_eq(cmd.compares.count, 1);
	ck_assert_uint_eq(cmd.then_ops.count, 2);
	ck_assert_uint_eq(cmd.else_ops.count, 1);
	store_txn_iter_init(&it, &cmd.compares);
	ck_assert_int_eq(store_txn_next_compare(&it, &gc), 1);
	ck_assert_uint_eq(gc.revision, 5);
	ck_assert_int_eq(gc.result, STORE_CMP_GT);
	ck_assert_int_eq(store_txn_next_compare(&it, &gc), 0);
	store_txn_iter_init(&it, &cmd.then_ops);
	ck_assert_int_eq(store_txn_next_op(&it, &go), 1);
	ck_assert_int_eq(go.kind, STORE_TXN_SET);
	ck_assert_uint_eq(go.vlen, 1);
	/* truncated anywhere, or with a byte more: refused */
	for (ssize_t i = 0; i < n; i++)
		ck_assert_int_eq(store_cmd_decode(buf, (size_t)i, &cmd), -EBADMSG);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n + 1, &cmd), -EBADMSG);

	/* a value compare by <, a value on a get, a bad kind: refused */
	c[0] = cmp(STORE_CMP_VALUE, STORE_CMP_LT, "/a", 0, "x");
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, t, 1, NULL, 0), -EINVAL);
	c[0] = cmp(STORE_CMP_REV, STORE_CMP_EQ, "/a", 0, NULL);
	t[1] = op(STORE_TXN_GET, "/b", "x");
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, t, 2, NULL, 0), -EINVAL);
	t[1] = op(9, "/b", NULL);
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, t, 2, NULL, 0), -EINVAL);

	/* RAFTCONF_MAX_TXN_OPS in both branches together, no more */
	for (size_t i = 0; i <= RAFTCONF_MAX_TXN_OPS; i++)
		many[i] = op(STORE_TXN_DEL, "/k", NULL);
	n = store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, many, 100, many, 28);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &cmd), 0);
	ck_assert_int_eq(
	    store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, many, 100, many, 29), -EINVAL);
	ck_assert_int_eq(store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, many,
			     RAFTCONF_MAX_TXN_OPS + 1, NULL, 0),
	    -EINVAL);
	/* forged past the encoder: 100 + 29 ops decode as bad */
	n = store_cmd_encode_txn(buf, sizeof(buf), NULL, 0, 0, c, 1, many, 100, many, 28);
	{
		size_t at = (size_t)n - 28 * (1 + 4 + 2 + 4) - 4;

		ck_assert_uint_eq(get_le32(buf + at), 28);
		put_le32(buf + at, 29);
		memcpy(buf + (size_t)n, buf + (size_t)n - 11, 11);
		ck_assert_int_eq(store_cmd_decode(buf, (size_t)n + 11, &cmd), -EBADMSG);
		put_le32(buf + at, 28);
	}
}
END_TEST

/* A store of the old format (keys without create revision and version) is refused, saying so. */
/* ------------------------------------------------------------ deleting a prefix */

/* What a prefix deletion's callback tells: "-key;" per key deleted, as gets_cb. */
struct deletes {
	char *s;
	size_t len, cap;
	uint64_t n;
};

static void
deletes_cb(void *arg, uint8_t kind, const char *key, size_t klen, const struct store_meta *m,
    const uint8_t *val, size_t vlen)
{
	struct deletes *d = arg;

	ck_assert_int_eq(kind, STORE_TXN_DEL);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(vlen, 0);
	d->n++;
	if (d->len + klen + 3 > d->cap) {
		d->cap = (d->len + klen + 3) * 2;
		d->s = realloc(d->s, d->cap);
		ck_assert_ptr_nonnull(d->s);
	}
	d->len += (size_t)snprintf(d->s + d->len, d->cap - d->len, "-%.*s;", (int)klen, key);
}

static struct store_result
del_prefix(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *prefix,
    struct deletes *d)
{
	uint8_t buf[STORE_CMD_DEL_SIZE(RAFTCONF_MAX_KEY)];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_del_prefix(buf, sizeof(buf), client, seq, prefix, strlen(prefix));
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(strlen(prefix)));
	if (d != NULL) {
		d->len = 0;
		d->n = 0;
		if (d->s != NULL)
			d->s[0] = '\0';
	}
	ck_assert_int_eq(
	    store_apply_txn(s, index, 1, buf, (size_t)n, &res, d ? deletes_cb : NULL, d), 0);
	return res;
}

/* The changes of revision rev in the history: "DEL key;PUT key;..." */
struct hist {
	char s[4096];
	uint64_t rev;
	int n;
};

static int
hist_cb(void *arg, uint64_t revision, struct store_events *it)
{
	struct hist *h = arg;
	struct store_event ev;
	int r;

	if (revision != h->rev)
		return 0;
	while ((r = store_events_next(it, &ev)) == 1) {
		size_t len = strlen(h->s);

		h->n++;
		snprintf(h->s + len, sizeof(h->s) - len, "%s %.*s;",
		    ev.kind == STORE_EV_DEL ? "DEL" : "PUT", (int)ev.klen, ev.key);
	}
	ck_assert_int_eq(r, 0);
	return 0;
}

static const char *
history_of(struct store *s, uint64_t rev)
{
	static struct hist h;

	memset(&h, 0, sizeof(h));
	h.rev = rev;
	ck_assert_int_eq(store_history(s, rev - 1, rev, hist_cb, &h), 0);
	return h.s;
}

START_TEST(test_del_prefix_commands_round_trip_and_bad_ones_are_refused)
{
	uint8_t buf[STORE_CMD_DEL_SIZE(RAFTCONF_MAX_KEY + 1)];
	char big[RAFTCONF_MAX_KEY + 1];
	struct store_cmd c;
	ssize_t n;

	n = store_cmd_encode_del_prefix(buf, sizeof(buf), 5, 6, "/app/", 5);
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(5));
	ck_assert_int_eq(buf[0], STORE_OP_DEL_PREFIX);
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_int_eq(c.op, STORE_OP_DEL_PREFIX);
	ck_assert(store_cmd_is_key(c.op));
	ck_assert_uint_eq(c.client_id, 5);
	ck_assert_uint_eq(c.seq, 6);
	ck_assert(c.klen == 5 && memcmp(c.key, "/app/", 5) == 0);
	for (size_t len = 0; len < (size_t)n; len++)
		ck_assert_int_eq(store_cmd_decode(buf, len, &c), -EBADMSG);
	/* The empty prefix is every key; NULL with it is fine. */
	n = store_cmd_encode_del_prefix(buf, sizeof(buf), 5, 7, NULL, 0);
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(0));
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), 0);
	ck_assert_uint_eq(c.klen, 0);
	/* A NUL byte, or more than a key's length: refused, and forged, refused to decode. */
	ck_assert_int_eq(store_cmd_encode_del_prefix(buf, sizeof(buf), 1, 1, "/a\0b", 4), -EINVAL);
	memset(big, 'p', sizeof(big));
	ck_assert_int_eq(store_cmd_encode_del_prefix(buf, sizeof(buf), 1, 1, big, sizeof(big)),
	    -EINVAL);
	ck_assert_int_eq(store_cmd_encode_del_prefix(buf, STORE_CMD_DEL_SIZE(2), 1, 1, "/ab", 3),
	    -ENOSPC);
	n = store_cmd_encode_del_prefix(buf, sizeof(buf), 1, 1, "/ab", 3);
	buf[STORE_CMD_HEADER + 1] = '\0';
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n, &c), -EBADMSG);
	n = store_cmd_encode_del_prefix(buf, sizeof(buf), 1, 1, big, RAFTCONF_MAX_KEY);
	ck_assert_int_eq(n, STORE_CMD_DEL_SIZE(RAFTCONF_MAX_KEY));
	put_le32(buf + 17, RAFTCONF_MAX_KEY + 1);
	buf[n] = 'p';
	ck_assert_int_eq(store_cmd_decode(buf, (size_t)n + 1, &c), -EBADMSG);
}
END_TEST

START_TEST(test_a_prefix_deletion_deletes_every_key_under_it_in_key_order_once)
{
	struct store *s = open_ok(dbpath);
	struct deletes d = { 0 };
	struct store_client cl;
	struct store_result r;
	char *t, *before, *after;

	/* made out of key order: the deletes come in key order all the same */
	set(s, 1, 0, 0, "/app/c/d", "3", 1);
	set(s, 2, 0, 0, "/app/a", "1", 1);
	set(s, 3, 0, 0, "/apple", "not under /app/", 15);
	set(s, 4, 0, 0, "/app/b", binval, sizeof(binval));
	set(s, 5, 0, 0, "/other", "x", 1);
	token_put(s, 6, 0, 0, "app-tok", TOKEN_WRITE, "/app/", 0xaa);

	r = del_prefix(s, 7, 9, 1, "/app/", &d);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert(!r.duplicate);
	ck_assert_uint_eq(r.revision, 7);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_str_eq(d.s, "-/app/a;-/app/b;-/app/c/d;");
	t = dump_list(s, "");
	ck_assert_str_eq(t, "/apple=6e6f7420756e646572202f6170702f@3;/other=78@5;");
	free(t);
	ck_assert_uint_eq(store_applied(s), 7);
	/* one DEL change each, all at the entry's revision, in key order */
	ck_assert_str_eq(history_of(s, 7), "DEL /app/a;DEL /app/b;DEL /app/c/d;");
	/* the dedup record keeps the count */
	ck_assert_int_eq(store_get_client(s, 9, &cl), 0);
	ck_assert_uint_eq(cl.count, 3);
	ck_assert_uint_eq(cl.revision, 7);

	/* a retry: the first answer, and a key made since stays */
	set(s, 8, 0, 0, "/app/new", "n", 1);
	before = dump_all(s);
	r = del_prefix(s, 9, 9, 1, "/app/", &d);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 7);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_str_eq(history_of(s, 9), "");
	check_value(s, "/app/new", "n", 1, 8);
	after = dump_all(s);
	ck_assert_str_ne(before, after); /* only the applied index moved */
	free(before);
	free(after);
	/* an older seq of the client is stale: nothing */
	r = del_prefix(s, 10, 9, 0, "/app/", &d);
	ck_assert_int_eq(r.status, STORE_STALE);
	check_value(s, "/app/new", "n", 1, 8);

	/* nothing under a prefix: done, 0 deleted, no change told */
	r = del_prefix(s, 11, 9, 2, "/none/", &d);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.revision, 11);
	ck_assert_uint_eq(r.count, 0);
	ck_assert_str_eq(history_of(s, 11), "");
	ck_assert_int_eq(store_get_client(s, 9, &cl), 0);
	ck_assert_uint_eq(cl.count, 0);

	/* a key that is exactly the prefix is under it */
	r = del_prefix(s, 12, 0, 0, "/other", &d);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_str_eq(d.s, "-/other;");

	/* every key: tokens are no keys, and stay */
	r = del_prefix(s, 13, 10, 1, "", &d);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_str_eq(d.s, "-/app/new;-/apple;");
	t = dump_list(s, "");
	ck_assert_str_eq(t, "");
	free(t);
	t = dump_tokens(s);
	ck_assert_str_eq(t, "app-tok:write:/app/:aa;");
	free(t);

	/* the store with its counting client records checks at open, and a retry
	 * after it still gets the first answer */
	store_close(s);
	s = open_ok(dbpath);
	r = del_prefix(s, 14, 10, 1, "", &d);
	ck_assert(r.duplicate);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_uint_eq(r.revision, 13);
	/* the record with a count keeps the digest too: the same request id
	 * for another prefix is refused, and deletes nothing */
	set(s, 15, 0, 0, "/x/1", "1", 1);
	r = del_prefix(s, 16, 10, 1, "/x/", &d);
	ck_assert_int_eq(r.status, STORE_REUSED);
	ck_assert_uint_eq(d.n, 0);
	check_value(s, "/x/1", "1", 1, 15);
	ck_assert_int_eq(store_get_client(s, 10, &cl), 0);
	ck_assert_uint_eq(cl.count, 2);
	ck_assert_uint_eq(cl.revision, 13);
	free(d.s);
	store_close(s);
}
END_TEST

START_TEST(test_a_prefix_deletion_in_a_batch_sees_the_batch_and_leaves_with_it)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;
	char *t;

	set(s, 1, 0, 0, "/b/old", "o", 1);
	ck_assert_int_eq(store_begin(s), 0);
	set(s, 2, 0, 0, "/b/new", "n", 1);
	r = del_prefix(s, 3, 0, 0, "/b/", NULL);
	ck_assert_uint_eq(r.count, 2);
	set(s, 4, 0, 0, "/b/after", "a", 1);
	t = dump_list(s, "/b/");
	ck_assert_str_eq(t, "/b/after=61@4;");
	free(t);
	store_cancel(s);
	t = dump_list(s, "/b/");
	ck_assert_str_eq(t, "/b/old=6f@1;");
	free(t);
	ck_assert_uint_eq(store_applied(s), 1);
	ck_assert_int_eq(store_begin(s), 0);
	r = del_prefix(s, 2, 0, 0, "/b/", NULL);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_str_eq(history_of(s, 2), "DEL /b/old;");
	store_close(s);
}
END_TEST

/* n keys "PREFIXnnnnnnn" padded to klen bytes, at index from on, in one batch. */
static void
many_keys(struct store *s, uint64_t from, const char *prefix, size_t n, size_t klen)
{
	static uint8_t buf[STORE_CMD_SET_SIZE(RAFTCONF_MAX_KEY, 1)];
	char key[RAFTCONF_MAX_KEY + 1];
	struct store_result res;

	ck_assert_int_eq(store_begin(s), 0);
	for (size_t i = 0; i < n; i++) {
		ssize_t len;
		int w = snprintf(key, sizeof(key), "%s%07zu", prefix, i);

		ck_assert_uint_le((size_t)w, klen);
		memset(key + w, 'x', klen - (size_t)w);
		len = store_cmd_encode_set(buf, sizeof(buf), 0, 0, key, klen, "v", 1);
		ck_assert_int_gt(len, 0);
		ck_assert_int_eq(store_apply(s, from + i, 1, buf, (size_t)len, &res), 0);
	}
	ck_assert_int_eq(store_commit(s), 0);
}

START_TEST(test_a_prefix_deletion_over_its_limits_deletes_nothing_and_says_how_many)
{
	struct store *s = open_ok(dbpath);
	struct store_result r;
	uint64_t n = 0, at;
	char *before, *after;

	/* names of RAFTCONF_MAX_KEY bytes: the bytes' limit first */
	many_keys(s, 1, "/big/", RAFTCONF_MAX_DEL_PREFIX_BYTES / RAFTCONF_MAX_KEY + 1,
	    RAFTCONF_MAX_KEY);
	at = store_applied(s) + 1;
	before = dump_list(s, "");
	r = del_prefix(s, at, 4, 1, "/big/", NULL);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.revision, 0);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_BYTES / RAFTCONF_MAX_KEY + 1);
	ck_assert_str_eq(history_of(s, at), "");
	after = dump_list(s, "");
	ck_assert_str_eq(before, after);
	free(after);
	ck_assert_uint_eq(store_applied(s), at);
	/* its retry says the same */
	r = del_prefix(s, at + 1, 4, 1, "/big/", NULL);
	ck_assert(r.duplicate);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_BYTES / RAFTCONF_MAX_KEY + 1);
	/* at the limit exactly: one fewer key (its last one) */
	r = del_prefix(s, at + 2, 0, 0, "/big/0002048", NULL);
	ck_assert_uint_eq(r.count, 1);
	r = del_prefix(s, at + 3, 0, 0, "/big/", NULL);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_BYTES / RAFTCONF_MAX_KEY);
	ck_assert_int_eq(store_count(s, "", 0, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(before);

	/* then the keys' limit: one key more than it, small ones */
	many_keys(s, at + 4, "/k/", RAFTCONF_MAX_DEL_PREFIX_KEYS + 1, 10);
	at = store_applied(s) + 1;
	r = del_prefix(s, at, 0, 0, "", NULL);
	ck_assert_int_eq(r.status, STORE_FAILED);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_KEYS + 1);
	ck_assert_int_eq(store_count(s, "/k/", 3, &n), 0);
	ck_assert_uint_eq(n, RAFTCONF_MAX_DEL_PREFIX_KEYS + 1);
	del(s, at + 1, 0, 0, "/k/0000000");
	r = del_prefix(s, at + 2, 0, 0, "", NULL);
	ck_assert_int_eq(r.status, STORE_OK);
	ck_assert_uint_eq(r.count, RAFTCONF_MAX_DEL_PREFIX_KEYS);
	ck_assert_int_eq(store_count(s, "", 0, &n), 0);
	ck_assert_uint_eq(n, 0);
	store_close(s);
}
END_TEST

/* A listing's keys and meta: "key@rev/create/version[=hex value];" */
static int
opts_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen,
    const struct store_meta *m)
{
	struct dump *d = arg;

	dump_add(d, "%.*s@%" PRIu64 "/%" PRIu64 "/%" PRIu64, (int)klen, key, m->revision,
	    m->create_revision, m->version);
	if (val != NULL)
		dump_add(d, "=%.*s", (int)vlen, (const char *)val);
	else
		ck_assert_uint_eq(vlen, 0);
	dump_add(d, ";");
	return 0;
}

static char *
list_opts(struct store *s, const char *prefix, uint64_t limit, bool keys_only)
{
	struct dump d = { .cap = 64 };

	d.s = calloc(1, d.cap);
	ck_assert_ptr_nonnull(d.s);
	ck_assert_int_eq(
	    store_list_opts(s, prefix, strlen(prefix), limit, keys_only, opts_cb, &d), 0);
	return d.s;
}

START_TEST(test_a_listing_keeps_the_first_keys_or_no_values_and_a_count_is_exact)
{
	static const char *keys[] = { "/l/m", "/l/c", "/l/x", "/l/a", "/l/b", "/l/z", "/l/k",
		"/l/", "/l/aa", "/m" };
	struct store *s = open_ok(dbpath);
	uint64_t n = 99;
	char *t;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		set(s, i + 1, 0, 0, keys[i], "v", 1);
	set(s, 11, 0, 0, "/l/a", "w", 1);
	t = list_opts(s, "/l/", 3, false);
	ck_assert_str_eq(t, "/l/@8/8/1=v;/l/a@11/4/2=w;/l/aa@9/9/1=v;");
	free(t);
	t = list_opts(s, "/l/", 1, true);
	ck_assert_str_eq(t, "/l/@8/8/1;");
	free(t);
	t = list_opts(s, "/l/", 0, true);
	ck_assert_str_eq(t, "/l/@8/8/1;/l/a@11/4/2;/l/aa@9/9/1;/l/b@5/5/1;/l/c@2/2/1;/l/k@7/7/1;"
			    "/l/m@1/1/1;/l/x@3/3/1;/l/z@6/6/1;");
	free(t);
	t = list_opts(s, "/l/", 100, false);
	ck_assert_int_eq(strstr(t, "/l/z@6/6/1=v;") - t, (long)strlen(t) - 13);
	free(t);
	ck_assert_int_eq(store_count(s, "/l/", 3, &n), 0);
	ck_assert_uint_eq(n, 9);
	ck_assert_int_eq(store_count(s, "", 0, &n), 0);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq(store_count(s, "/n", 2, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* tokens are never counted */
	token_put(s, 12, 0, 0, "tok", TOKEN_READ, "", 1);
	ck_assert_int_eq(store_count(s, "", 0, &n), 0);
	ck_assert_uint_eq(n, 10);
	store_close(s);
}
END_TEST

START_TEST(test_a_counting_client_record_travels_in_an_export_and_a_forged_one_is_refused)
{
	struct store *s = open_ok(dbpath), *s2 = open_ok(db2path);
	struct feed f = { 0 };
	struct store_client cl;
	struct tdb_context *t;
	char err[512] = "", key[32];
	uint8_t rec[41];
	TDB_DATA k, v = { rec, sizeof(rec) };

	set(s, 1, 0, 0, "/a/1", "1", 1);
	set(s, 2, 0, 0, "/a/2", "2", 1);
	ck_assert_uint_eq(del_prefix(s, 3, 7, 1, "/a/", NULL).count, 2);
	ck_assert_int_eq(store_export(s, feed_cb, &f), 0);
	ck_assert_int_eq(store_replace(s2, 3, 1, "", 0, feed_next, &f, err, sizeof(err)), 0);
	ck_assert_int_eq(store_get_client(s2, 7, &cl), 0);
	ck_assert_uint_eq(cl.count, 2);
	ck_assert_uint_eq(cl.revision, 3);
	for (int i = 0; i < f.n; i++)
		free(f.bufs[i]);
	store_close(s2);
	store_close(s);

	/* the record: seq, revision, status, last used, digest, count (41
	 * bytes); one whose count is 0 is none the store writes */
	t = tdb_open(dbpath, 0, 0, O_RDWR, 0600);
	ck_assert_ptr_nonnull(t);
	snprintf(key, sizeof(key), "c:%016x", 7);
	k = (TDB_DATA){ (unsigned char *)key, strlen(key) };
	v = tdb_fetch(t, k);
	ck_assert_uint_eq(v.dsize, 41);
	memcpy(rec, v.dptr, 41);
	free(v.dptr);
	ck_assert_uint_eq(rec[33], 2);
	memset(rec + 33, 0, 8);
	v = (TDB_DATA){ rec, sizeof(rec) };
	ck_assert_int_eq(tdb_store(t, k, v, TDB_REPLACE), 0);
	tdb_close(t);
	s = NULL;
	ck_assert_int_eq(store_open(dbpath, &s, err, sizeof(err)), -EBADMSG);
}
END_TEST

START_TEST(test_a_store_of_format_1_is_refused_with_a_clear_error)
{
	struct store *s = open_ok(dbpath), *s2 = NULL;
	struct tdb_context *t;
	char err[512] = "";
	uint8_t v[4] = { 1, 0, 0, 0 };
	TDB_DATA k = { (unsigned char *)"m:version", 9 }, d = { v, 4 };

	set(s, 1, 0, 0, "/a", "1", 1);
	store_close(s);
	t = tdb_open(dbpath, 0, 0, O_RDWR, 0600);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(tdb_store(t, k, d, TDB_REPLACE), 0);
	tdb_close(t);
	ck_assert_int_eq(store_open(dbpath, &s2, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "format version 1 is not this build's 2") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "rebuild it") != NULL, "%s", err);
}
END_TEST

START_TEST(test_the_file_size_is_the_tdb_files_and_follows_its_growth)
{
	static uint8_t big[4096];
	struct store *s = open_ok(dbpath);
	uint64_t bytes = 0, before;
	struct stat st;
	char key[32];

	ck_assert_int_eq(store_file_bytes(s, &bytes), 0);
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert_uint_gt(bytes, 0);
	ck_assert_uint_eq(bytes, (uint64_t)st.st_size);
	before = bytes;
	ck_assert_int_eq(store_begin(s), 0);
	for (int i = 0; i < 256; i++) {
		snprintf(key, sizeof(key), "/grow/%d", i);
		set(s, (uint64_t)i + 1, 0, 0, key, big, sizeof(big));
	}
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(store_file_bytes(s, &bytes), 0);
	ck_assert_int_eq(stat(dbpath, &st), 0);
	ck_assert_uint_eq(bytes, (uint64_t)st.st_size);
	ck_assert_uint_gt(bytes, before + 256 * sizeof(big));
	store_close(s);
}
END_TEST

/*
 * tdb remaps its file at every transaction's start; mapkeep keeps the
 * mapping.  Without it this fails: kept stays 0.
 */
START_TEST(test_a_transaction_keeps_the_stores_mapping)
{
	struct store *s = open_ok(dbpath);
	uint64_t before = mapkeep_kept();
	char key[32], val[32];

	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(store_begin(s), 0);
		snprintf(key, sizeof(key), "/keep/%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		set(s, (uint64_t)i + 1, 0, 0, key, val, strlen(val));
		ck_assert_int_eq(store_commit(s), 0);
	}
	ck_assert_uint_ge(mapkeep_kept() - before, 20);
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "/keep/%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		check_value(s, key, val, strlen(val), (uint64_t)i + 1);
	}
	store_close(s);
	s = open_ok(dbpath);
	check_value(s, "/keep/19", "v19", 3, 20);
	store_close(s);
}
END_TEST

/*
 * A snapshot's writer, a child process, reads a copy of the store: what the
 * parent commits after the copy, a growth of the file included, does not
 * reach it, and the copy leaves no file behind.
 */
START_TEST(test_a_child_reading_a_copy_sees_the_store_as_at_the_fork)
{
	struct store *s = open_ok(dbpath);
	int copied[2], committed[2], status, files = 0;
	char *before, c = 0, big[1024], key[32];
	struct stat st0, st1;
	struct dirent *de;
	DIR *d;
	pid_t pid;

	populate(s);
	before = dump_all(s);
	ck_assert_int_eq(pipe(copied), 0);
	ck_assert_int_eq(pipe(committed), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char err[256] = "", *now;

		store_after_fork(s);
		if (store_read_from_copy(s, err, sizeof(err)) != 0) {
			fprintf(stderr, "store_read_from_copy: %s\n", err);
			_exit(2);
		}
		if (write(copied[1], "c", 1) != 1 || read(committed[0], &c, 1) != 1)
			_exit(3);
		now = dump_all(s);
		if (strcmp(now, before) != 0) {
			fprintf(stderr, "the child saw\n%s\ninstead of\n%s\n", now, before);
			_exit(4);
		}
		_exit(0);
	}
	ck_assert_int_eq(read(copied[0], &c, 1), 1);
	ck_assert_int_eq(stat(dbpath, &st0), 0);
	ck_assert_int_eq(store_begin(s), 0);
	set(s, 8, 1, 3, "/app/a", "changed", 7);
	del(s, 9, 1, 4, "/app/b");
	memset(big, 'x', sizeof(big));
	for (int i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "/grow/%d", i);
		set(s, 10 + (uint64_t)i, 0, 0, key, big, sizeof(big));
	}
	ck_assert_int_eq(store_commit(s), 0);
	ck_assert_int_eq(stat(dbpath, &st1), 0);
	ck_assert_int_gt(st1.st_size, st0.st_size);
	ck_assert_int_eq(write(committed[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(
	    WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child: status %d", status);
	check_value(s, "/app/a", "changed", 7, 8);
	ck_assert_ptr_nonnull(d = opendir(topdir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			ck_assert_str_eq(de->d_name, "store.tdb");
			files++;
		}
	closedir(d);
	ck_assert_int_eq(files, 1);
	for (int i = 0; i < 2; i++) {
		close(copied[i]);
		close(committed[i]);
	}
	free(before);
	store_close(s);
}
END_TEST

/* A file mapped, unmapped and mapped again: the same mapping, the file's bytes. */
START_TEST(test_a_shared_mapping_unmapped_and_made_again_is_kept)
{
	char path[512], other[512];
	uint64_t before;
	size_t len = 8192;
	char *p, *q, buf[4];
	int fd, fd2;

	mapkeep_init();
	before = mapkeep_kept();
	snprintf(path, sizeof(path), "%s.map", dbpath);
	snprintf(other, sizeof(other), "%s.other", dbpath);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	memcpy(p + 4096, "abc", 3);
	ck_assert_int_eq(munmap(p, len), 0);
	q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(mapkeep_kept(), before + 1);
	ck_assert_int_eq(memcmp(q + 4096, "abc", 3), 0);
	memcpy(q, "xyz", 3); /* written through the kept mapping: in the file */
	ck_assert_int_eq(pread(fd, buf, 3, 0), 3);
	ck_assert_int_eq(memcmp(buf, "xyz", 3), 0);

	/* another length: mapped anew, and the held one really unmapped */
	ck_assert_int_eq(munmap(q, len), 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)(2 * len)), 0);
	q = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(q, MAP_FAILED);
	ck_assert_uint_eq(mapkeep_kept(), before + 1);
	ck_assert_int_eq(memcmp(q + 4096, "abc", 3), 0);
	ck_assert_int_eq(munmap(q, 2 * len), 0);

	/* a mapping replaced by a MAP_FIXED one is forgotten: its munmap is real */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	q = mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ck_assert_ptr_eq(q, p);
	ck_assert_int_eq(munmap(q, len), 0);
	q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(q, MAP_FAILED);
	ck_assert_uint_eq(mapkeep_kept(), before + 1);
	ck_assert_int_eq(memcmp(q + 4096, "abc", 3), 0);
	ck_assert_int_eq(munmap(q, len), 0);

	/* another file on the same descriptor number: its own bytes */
	close(fd);
	fd2 = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(ftruncate(fd2, (off_t)(2 * len)), 0);
	ck_assert_int_eq(pwrite(fd2, "new", 3, 4096), 3);
	q = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	ck_assert_ptr_ne(q, MAP_FAILED);
	ck_assert_uint_eq(mapkeep_kept(), before + 1);
	ck_assert_int_eq(memcmp(q + 4096, "new", 3), 0);
	ck_assert_int_eq(munmap(q, 2 * len), 0);
	close(fd2);
	unlink(path);
	unlink(other);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_commands_round_trip_and_bad_ones_are_refused);
	tcase_add_test(tc, test_a_corrupt_command_is_consumed_as_bad_and_changes_nothing);
	tcase_add_test(tc, test_set_get_del_and_list_with_prefixes_and_binary_values);
	tcase_add_test(tc, test_revisions_are_the_index_of_the_entry_that_wrote_the_key);
	tcase_add_test(tc, test_applying_the_same_client_request_twice_changes_nothing);
	tcase_add_test(tc, test_the_dedup_table_is_bounded_and_evicts_the_least_recently_used);
	tcase_add_test(tc, test_applied_index_and_members_persist_across_close_and_reopen);
	tcase_add_test(tc, test_a_cancelled_batch_leaves_nothing_behind);
	tcase_add_test(tc, test_a_process_crash_leaves_the_old_batch_or_the_new_one);
	tcase_add_test(tc, test_a_damaged_tdb_header_makes_open_fail_with_ebadmsg);
	tcase_add_test(tc, test_a_record_the_store_cannot_have_written_makes_open_fail);
	tcase_add_test(tc, test_a_store_left_unclean_before_a_reboot_is_refused);
	tcase_add_test(tc, test_the_file_size_is_the_tdb_files_and_follows_its_growth);
	tcase_add_test(tc, test_a_transaction_keeps_the_stores_mapping);
	tcase_add_test(tc, test_a_child_reading_a_copy_sees_the_store_as_at_the_fork);
	tcase_add_test(tc, test_a_shared_mapping_unmapped_and_made_again_is_kept);
	tcase_add_test(tc, test_tdbdump_can_read_the_store);
	tcase_add_test(tc, test_a_command_has_the_pinned_layout);
	tcase_add_test(tc, test_export_gives_the_key_and_client_records_and_replace_takes_them);
	tcase_add_test(tc, test_token_commands_round_trip_and_bad_ones_are_refused);
	tcase_add_test(tc, test_tokens_apply_and_are_never_keys);
	tcase_add_test(tc, test_tokens_survive_an_export_and_replace_and_a_forged_one_is_refused);
	tcase_add_test(tc, test_a_replace_built_beside_the_store_is_swapped_in_later);
	tcase_add_test(tc, test_a_key_has_its_revision_create_revision_and_version);
	tcase_add_test(tc, test_set_if_and_del_if_apply_only_at_the_expected_revision);
	tcase_add_test(tc, test_a_retried_cas_gets_its_first_answer);
	tcase_add_test(tc, test_a_txn_runs_one_branch_in_order_and_gives_its_gets);
	tcase_add_test(tc, test_txn_commands_round_trip_and_bad_ones_are_refused);
	tcase_add_test(tc, test_a_store_of_format_1_is_refused_with_a_clear_error);
	tcase_add_test(tc, test_del_prefix_commands_round_trip_and_bad_ones_are_refused);
	tcase_add_test(tc, test_a_prefix_deletion_deletes_every_key_under_it_in_key_order_once);
	tcase_add_test(tc, test_a_prefix_deletion_in_a_batch_sees_the_batch_and_leaves_with_it);
	tcase_add_test(tc, test_a_prefix_deletion_over_its_limits_deletes_nothing_and_says_how_many);
	tcase_add_test(tc, test_a_listing_keeps_the_first_keys_or_no_values_and_a_count_is_exact);
	tcase_add_test(tc,
	    test_a_counting_client_record_travels_in_an_export_and_a_forged_one_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
