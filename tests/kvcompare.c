/*
 * kvcompare.c — tdb against LMDB for the store's pattern (issue 16): N keys
 * written in transactions of B puts of V-byte values, no sync (the WAL makes
 * the store's writes durable), each transaction timed from its start to its
 * commit.  Not built by make (LMDB is no dependency of raftconfd):
 *
 *	apt-get install liblmdb-dev
 *	gcc -O2 -o kvcompare tests/kvcompare.c -ltdb -llmdb
 *	./kvcompare N B V DIR [RANDOM]
 *
 * RANDOM 1: keys in hashed order, not counting order.  Prints a line each:
 * transactions, mean, p50, p99 and max in ms, and the file's size; then
 * the time of READS gets of keys drawn at random, in a read transaction
 * (LMDB) or none (tdb, as the daemon reads between its transactions).
 * Last, LMDB alone: as many transactions again, of the same puts over
 * keys that exist, the first half while a read transaction stays open (a
 * snapshot being read: LMDB cannot reuse the pages it sees), the second
 * half after it ended; their times and the file's size after each half.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *name, double *t, int n, const char *path)
{
	struct stat st;
	double sum = 0;

	if (stat(path, &st) < 0)
		st.st_size = 0;
	qsort(t, n, sizeof(double), cmp_double);
	for (int i = 0; i < n; i++)
		sum += t[i];
	printf("%-5s txns %d  mean %.2f ms  p50 %.2f  p99 %.2f  max %.2f  file %.0f MB\n", name, n,
	    sum / n * 1e3, t[n / 2] * 1e3, t[(int)(n * 0.99)] * 1e3, t[n - 1] * 1e3,
	    (double)st.st_size / 1e6);
}

#define READS 1000000

static void
report_reads(const char *name, double seconds)
{
	printf("%-5s %d random gets: %.2f s, %.2f us a get\n", name, READS, seconds,
	    seconds / READS * 1e6);
}

static int
make_key(char *key, size_t len, int k, int hashed)
{
	if (hashed)
		return snprintf(key, len, "k:/bench/%016llx",
		    (unsigned long long)((uint64_t)k * 0x9e3779b97f4a7c15ULL));
	return snprintf(key, len, "k:/bench/%d", k);
}

int
main(int argc, char **argv)
{
	char key[64], path[256], lock[300];
	struct tdb_context *tdb;
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	double *t;
	char *val;
	int n, b, v, hashed, ntx;

	if (argc < 5) {
		fprintf(stderr, "usage: kvcompare N B V DIR [RANDOM]\n");
		return 2;
	}
	n = atoi(argv[1]), b = atoi(argv[2]), v = atoi(argv[3]);
	hashed = argc > 5 && atoi(argv[5]);
	ntx = n / b;
	if (n <= 0 || b <= 0 || v <= 0 || ntx == 0) {
		fprintf(stderr, "kvcompare: N, B and V are positive, B at most N\n");
		return 2;
	}
	val = malloc(v);
	t = malloc(sizeof(double) * ntx);
	if (val == NULL || t == NULL)
		return 1;
	for (int i = 0; i < v; i++)
		val[i] = (char)('a' + i % 26);

	snprintf(path, sizeof(path), "%s/kvcompare.tdb", argv[4]);
	unlink(path);
	tdb = tdb_open(path, 262139, TDB_NOSYNC | TDB_INCOMPATIBLE_HASH, O_RDWR | O_CREAT, 0600);
	if (tdb == NULL) {
		perror(path);
		return 1;
	}
	for (int x = 0; x < ntx; x++) {
		double t0 = now();

		if (tdb_transaction_start(tdb) != 0)
			return 1;
		for (int i = 0; i < b; i++) {
			int kl = make_key(key, sizeof(key), x * b + i, hashed);
			TDB_DATA kd = { (unsigned char *)key, kl },
				 vd = { (unsigned char *)val, v };

			if (tdb_store(tdb, kd, vd, TDB_REPLACE) != 0)
				return 1;
		}
		if (tdb_transaction_commit(tdb) != 0)
			return 1;
		t[x] = now() - t0;
	}
	report("tdb", t, ntx, path);
	{
		double t0 = now();
		unsigned seed = 1;

		for (int i = 0; i < READS; i++) {
			int kl =
			    make_key(key, sizeof(key), (int)(rand_r(&seed) % (unsigned)n), hashed);
			TDB_DATA kd = { (unsigned char *)key, kl }, got = tdb_fetch(tdb, kd);

			if (got.dptr == NULL || got.dsize != (size_t)v)
				return 1;
			free(got.dptr);
		}
		report_reads("tdb", now() - t0);
	}
	tdb_close(tdb);

	snprintf(path, sizeof(path), "%s/kvcompare.mdb", argv[4]);
	snprintf(lock, sizeof(lock), "%s-lock", path);
	unlink(path);
	unlink(lock);
	if (mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, (size_t)16 << 30) != 0 ||
	    mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOSYNC | MDB_NOTLS, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
	    mdb_txn_commit(txn) != 0) {
		fprintf(stderr, "kvcompare: %s: cannot open\n", path);
		return 1;
	}
	for (int x = 0; x < ntx; x++) {
		double t0 = now();

		if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
			return 1;
		for (int i = 0; i < b; i++) {
			int kl = make_key(key, sizeof(key), x * b + i, hashed);
			MDB_val kd = { kl, key }, vd = { v, val };

			if (mdb_put(txn, dbi, &kd, &vd, 0) != 0)
				return 1;
		}
		if (mdb_txn_commit(txn) != 0)
			return 1;
		t[x] = now() - t0;
	}
	report("lmdb", t, ntx, path);
	{
		double t0 = now();
		unsigned seed = 1;

		if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
			return 1;
		for (int i = 0; i < READS; i++) {
			int kl =
			    make_key(key, sizeof(key), (int)(rand_r(&seed) % (unsigned)n), hashed);
			MDB_val kd = { kl, key }, got;

			if (mdb_get(txn, dbi, &kd, &got) != 0 || got.mv_size != (size_t)v)
				return 1;
		}
		mdb_txn_abort(txn);
		report_reads("lmdb", now() - t0);
	}
	for (int half = 0; half < 2 && ntx >= 2; half++) {
		MDB_txn *reader = NULL;
		int from = half * (ntx / 2), to = from + ntx / 2;
		unsigned seed = 2 + half;

		if (half == 0 && mdb_txn_begin(env, NULL, MDB_RDONLY, &reader) != 0)
			return 1;
		for (int x = from; x < to; x++) {
			double t0 = now();

			if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
				return 1;
			for (int i = 0; i < b; i++) {
				int k = (int)(rand_r(&seed) % (unsigned)n);
				int kl = make_key(key, sizeof(key), k, hashed);
				MDB_val kd = { kl, key }, vd = { v, val };

				if (mdb_put(txn, dbi, &kd, &vd, 0) != 0)
					return 1;
			}
			if (mdb_txn_commit(txn) != 0)
				return 1;
			t[x - from] = now() - t0;
		}
		if (reader != NULL)
			mdb_txn_abort(reader);
		report(half == 0 ? "lmdb, overwrites, a reader open" : "lmdb, overwrites, none", t,
		    to - from, path);
	}
	mdb_env_close(env);
	free(val);
	free(t);
	return 0;
}
