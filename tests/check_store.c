/*
 * check_store.c — unit tests for daemon/store: applying commands with
 * dedup, reading, listing, handing out and replacing the whole contents,
 * and refusing damaged files (snapshot files: check_snap.c).
 *
 * Every test works in its own directory under $TMPDIR (or /tmp).
 *
 * This file holds the commands, keys, dedup and durability tests and
 * builds the suite; the file and its mapping, the whole contents and
 * tokens, revisions, CAS and txn, and prefix deletions and listings have
 * files of their own (check_store.h).
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
#include "check_store.h"

void
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

char *
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

const uint8_t binval[] = { 0, 1, 2, 0xff, 0, '\n', 0x80 };

/* A store with a bit of everything: keys, a delete, clients, members. */
void
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
	store_map_tests(tc);
	tcase_add_test(tc, test_tdbdump_can_read_the_store);
	tcase_add_test(tc, test_a_command_has_the_pinned_layout);
	store_image_tests(tc);
	store_cas_tests(tc);
	store_prefix_tests(tc);
	store_pile_tests(tc);
	store_grow_tests(tc);
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
