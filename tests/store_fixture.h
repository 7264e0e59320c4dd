/*
 * store_fixture.h — what check_store.c and check_snap.c share: a
 * directory per test (setup, teardown), opening a store, applying a SET or
 * a DEL to it, and checking a key's value and revision.  Include it after
 * <check.h> and "store.h", with FIXTURE_NAME defined to the suite's name
 * (the directory is $TMPDIR/FIXTURE_NAME.XXXXXX).
 *
 * A test binary of several files defines FIXTURE_NAME in the one that
 * builds the suite: that file holds the directory's paths, setup and
 * teardown.  The others include this without FIXTURE_NAME and use the same
 * paths.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

extern char topdir[256];
extern char dbpath[300], db2path[300], snappath[300];

#ifdef FIXTURE_NAME
char topdir[256];
char dbpath[300], db2path[300], snappath[300];

__attribute__((unused)) static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(topdir, sizeof(topdir), "%s/" FIXTURE_NAME ".XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(topdir));
	snprintf(dbpath, sizeof(dbpath), "%s/store.tdb", topdir);
	snprintf(db2path, sizeof(db2path), "%s/other.tdb", topdir);
	snprintf(snappath, sizeof(snappath), "%s/snap-1", topdir);
}

__attribute__((unused)) static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

__attribute__((unused)) static void
teardown(void)
{
	nftw(topdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
#endif

__attribute__((unused)) static struct store *
open_ok(const char *path)
{
	struct store *s = NULL;
	char err[512] = "";
	int r = store_open(path, &s, err, sizeof(err));

	ck_assert_msg(r == 0, "store_open: %d %s", r, err);
	return s;
}

__attribute__((unused)) static struct store_result
set(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *key,
	const void *val, size_t vlen)
{
	static uint8_t buf[STORE_CMD_SET_SIZE(RAFTCONF_MAX_KEY, 4096)];
	struct store_result res;
	ssize_t n;

	ck_assert_uint_le(vlen, 4096);
	n = store_cmd_encode_set(buf, sizeof(buf), client, seq, key, strlen(key), val, vlen);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

__attribute__((unused)) static struct store_result
del(struct store *s, uint64_t index, uint64_t client, uint64_t seq, const char *key)
{
	uint8_t buf[STORE_CMD_DEL_SIZE(RAFTCONF_MAX_KEY)];
	struct store_result res;
	ssize_t n;

	n = store_cmd_encode_del(buf, sizeof(buf), client, seq, key, strlen(key));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_apply(s, index, 1, buf, (size_t)n, &res), 0);
	return res;
}

__attribute__((unused)) static void
check_value(struct store *s, const char *key, const void *want, size_t wlen, uint64_t rev)
{
	uint8_t *v = NULL;
	size_t len = 0;
	uint64_t got = 0;

	ck_assert_int_eq(store_get(s, key, strlen(key), &v, &len, &got), 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(len, wlen);
	ck_assert(memcmp(v, want, wlen) == 0);
	ck_assert_uint_eq(got, rev);
	free(v);
}

#endif
