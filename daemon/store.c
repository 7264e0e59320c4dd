/*
 * store.c — the state machine in tdb: opening it and applying commands
 * with exactly-once dedup.  Reading is store_read.c's; its whole contents
 * out and in (store_export, store_replace) are store_image.c's.
 *
 * The contract, the record layout and the reasons for TDB_NOSYNC are in
 * store.h.  This module is not the Raft log, never decides what is
 * committed, never talks to the network, and knows nothing of snapshot
 * files (snap.c turns its contents into one and back); it trusts nothing it
 * reads from a file or a log entry until it has checked it.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <tdb.h>
#include <unistd.h>

#include "store.h"
#include "store_state.h"
#include "errbuf.h"
#include "bytes.h"
#include "fsutil.h"
#include "tdbutil.h"
#include "token.h"

/* ------------------------------------------------------------ helpers */

__attribute__((format(printf, 3, 4))) static void
tdb_log(struct tdb_context *tdb, enum tdb_debug_level level, const char *fmt, ...)
{
	struct store *s = tdb_get_logging_private(tdb);
	char *buf;
	va_list ap;
	size_t n;

	if (s == NULL || level > TDB_DEBUG_ERROR)
		return;
	buf = s->tdbmsg;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(s->tdbmsg), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* The write that failed says why; tdb's later lines ("expansion
	 * failed") and its errno do not. */
	if (strstr(buf, strerror(ENOSPC)) != NULL || strstr(buf, strerror(EDQUOT)) != NULL)
		s->nospace = true;
}

char *
store_path_with(const char *path, const char *suffix)
{
	size_t a = strlen(path), b = strlen(suffix);
	char *p = malloc(a + b + 1);

	if (p != NULL) {
		memcpy(p, path, a);
		memcpy(p + a, suffix, b + 1);
	}
	return p;
}

/* The kernel's boot id, or false when it cannot be read. */
static bool
boot_id(char out[BOOT_ID_LEN])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	char line[64];
	bool ok = false;

	if (f == NULL)
		return false;
	if (fgets(line, sizeof(line), f) != NULL && strlen(line) >= BOOT_ID_LEN) {
		memcpy(out, line, BOOT_ID_LEN);
		ok = true;
	}
	fclose(f);
	return ok;
}

static bool
hex16(const uint8_t *p, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < 16; i++) {
		uint8_t c = p[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	if (out != NULL)
		*out = v;
	return true;
}

static bool
meta_is(TDB_DATA key, const char *name)
{
	size_t n = strlen(name);

	return key.dsize == n && memcmp(key.dptr, name, n) == 0;
}

/* A "k:" record's data: the meta, consistent (made no later than changed, changed at least once), and a value. */
static bool
kv_ok(TDB_DATA data)
{
	struct store_meta m;

	if (data.dsize < KV_HEAD || data.dsize > KV_HEAD + (size_t)RAFTCONF_MAX_VALUE)
		return false;
	store_kv_meta(data.dptr, &m);
	return m.revision > 0 && m.create_revision > 0 && m.create_revision <= m.revision &&
	    m.version > 0;
}

/* Is this a record the store could have written?  Used on every untrusted read. */
bool
store_record_bytes_ok(TDB_DATA key, TDB_DATA data)
{
	struct token_record tok;

	if (key.dsize < 2 || key.dptr[1] != ':')
		return false;
	switch (key.dptr[0]) {
	case 'k':
		return store_key_ok((const char *)key.dptr + 2, key.dsize - 2) && kv_ok(data);
	case 't':
		return token_name_ok((const char *)key.dptr + 2, key.dsize - 2) &&
		    token_record_decode(data.dptr, data.dsize, &tok) == 0;
	case 'c':
		return key.dsize == CLIENT_KEY_LEN && hex16(key.dptr + 2, NULL) &&
		    (data.dsize == CLIENT_BYTES || data.dsize == CLIENT_BYTES_V1 ||
			(data.dsize == CLIENT_BYTES_COUNT && get_le64(data.dptr + 33) != 0)) &&
		    data.dptr[16] <= STORE_FAILED;
	case 'h':
		return store_hist_record_ok(key, data);
	case 'm':
		if (meta_is(key, "m:version"))
			return data.dsize == 4;
		if (meta_is(key, "m:applied"))
			return data.dsize == 16;
		if (meta_is(key, "m:clients"))
			return data.dsize == 8;
		if (meta_is(key, "m:boot"))
			return data.dsize == 1 + BOOT_ID_LEN;
		if (meta_is(key, "m:members"))
			return data.dsize <= STORE_MAX_MEMBERS_BYTES;
		return false;
	default:
		return false;
	}
}

/* ------------------------------------------------------------ meta and transactions */

static int
put(struct store *s, TDB_DATA key, TDB_DATA data)
{
	if (tdb_store(s->tdb, key, data, TDB_REPLACE) != 0)
		return tdb_errno(s->tdb);
	return 0;
}

static int
put_u64(struct store *s, const char *name, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	return put(s, tstr(name), tdata(b, sizeof(b)));
}

static int
put_applied(struct store *s, uint64_t index, uint64_t term)
{
	uint8_t b[16];
	int r;

	put_le64(b, index);
	put_le64(b + 8, term);
	r = put(s, tstr("m:applied"), tdata(b, sizeof(b)));
	if (r == 0) {
		s->applied = index;
		s->applied_term = term;
	}
	return r;
}

/* Fetch a meta record of exactly len bytes into out: 0, -ENOENT or -EBADMSG. */
static int
get_fixed(struct tdb_context *tdb, const char *name, void *out, size_t len)
{
	TDB_DATA d = tdb_fetch(tdb, tstr(name));
	int r = 0;

	if (d.dptr == NULL)
		return tdb_error(tdb) == TDB_ERR_NOEXIST ? -ENOENT : tdb_errno(tdb);
	if (d.dsize != len)
		r = -EBADMSG;
	else
		memcpy(out, d.dptr, len);
	free(d.dptr);
	return r;
}

/* Reload the cached meta (after a cancelled batch or a reopen). */
int
store_load_meta(struct store *s)
{
	uint8_t a[16], c[8];
	int r;

	r = get_fixed(s->tdb, "m:applied", a, sizeof(a));
	if (r < 0)
		return r;
	r = get_fixed(s->tdb, "m:clients", c, sizeof(c));
	if (r < 0)
		return r;
	s->applied = get_le64(a);
	s->applied_term = get_le64(a + 8);
	s->nclients = get_le64(c);
	return store_hist_load(s);
}

int
store_write_boot(struct tdb_context *tdb, bool clean)
{
	uint8_t b[1 + BOOT_ID_LEN];

	memset(b, 0, sizeof(b));
	b[0] = clean ? 1 : 0;
	boot_id((char *)b + 1);
	if (tdb_store(tdb, tstr("m:boot"), tdata(b, sizeof(b)), TDB_REPLACE) != 0)
		return tdb_errno(tdb);
	return 0;
}

static int
txn_start(struct store *s, bool *own)
{
	*own = false;
	if (s->tdb == NULL)
		return -EIO;
	if (s->open_tokens_valid)
		store_forget_open_tokens(s);
	if (s->in_txn)
		return s->txn_err;
	if (tdb_transaction_start(s->tdb) != 0)
		return tdb_errno(s->tdb);
	*own = true;
	return 0;
}

/* End what txn_start began: commit or cancel our own, or poison the caller's batch. */
static int
txn_finish(struct store *s, bool own, int r)
{
	if (!own) {
		if (r < 0 && s->in_txn && s->txn_err == 0)
			s->txn_err = r;
		return r;
	}
	if (r == 0)
		r = store_hist_flush(s);
	if (r == 0 && tdb_transaction_commit(s->tdb) != 0)
		r = tdb_errno(s->tdb);
	else if (r < 0)
		tdb_transaction_cancel(s->tdb);
	if (r < 0)
		store_load_meta(s);
	return r;
}

int
store_begin(struct store *s)
{
	if (s->tdb == NULL)
		return -EIO;
	if (s->in_txn)
		return -EBUSY;
	if (tdb_transaction_start(s->tdb) != 0)
		return tdb_errno(s->tdb);
	if (s->open_tokens_valid)
		store_forget_open_tokens(s);
	s->in_txn = true;
	s->txn_err = 0;
	return 0;
}

/*
 * tdb says TDB_ERR_IO for any failed write, and keeps errno from before
 * the commit, so out of space is told apart by what it logged: the
 * write's own error (the pwrite fallback), or "expansion failed" (its
 * posix_fallocate logs nothing) on a file system with less room left than
 * tdb grows a file by (a quarter of it at least).  Either failure comes
 * before tdb writes into the file: the transaction is cancelled and the
 * file is as before, so the caller may try again later.
 */
static bool
short_of_space(struct store *s)
{
	struct statvfs sv;
	struct stat st;

	if (fstatvfs(tdb_fd(s->tdb), &sv) < 0 || fstat(tdb_fd(s->tdb), &st) < 0)
		return false;
	return (uint64_t)sv.f_bavail * sv.f_frsize < (uint64_t)st.st_size / 4 + (1u << 20);
}

int
store_commit(struct store *s)
{
	int r = 0;

	if (!s->in_txn)
		return -EINVAL;
	s->in_txn = false;
	s->tdbmsg[0] = '\0';
	s->nospace = false;
	if (s->txn_err == 0 && (r = store_hist_flush(s)) < 0)
		s->txn_err = r;
	if (s->txn_err != 0) {
		r = s->txn_err;
		tdb_transaction_cancel(s->tdb);
	} else if (tdb_transaction_commit(s->tdb) != 0) {
		r = tdb_errno(s->tdb);
		if (s->nospace || (strstr(s->tdbmsg, "expansion failed") && short_of_space(s)))
			r = -ENOSPC;
	}
	if (r < 0)
		store_load_meta(s);
	return r;
}

void
store_cancel(struct store *s)
{
	if (!s->in_txn)
		return;
	s->in_txn = false;
	tdb_transaction_cancel(s->tdb);
	store_load_meta(s);
}

/* ------------------------------------------------------------ open and close */

struct check_ctx {
	struct store *s;
	uint64_t clients;
};

static int
check_record(TDB_DATA key, TDB_DATA data, void *arg)
{
	struct check_ctx *c = arg;

	if (!store_record_bytes_ok(key, data))
		return -1;
	if (key.dptr[0] == 'c')
		c->clients++;
	/* Tokens are few, the records many: a scan for them at start took
	 * 0.4 s at a million keys.  Out of memory: store_tokens scans. */
	if (key.dptr[0] == 't' && c->s->open_tokens_valid && !store_keep_token(c->s, key, data))
		store_forget_open_tokens(c->s);
	return 0;
}

struct tdb_context *
store_open_tdb(struct store *s, const char *path, int open_flags)
{
	struct tdb_logging_context log = { .log_fn = tdb_log, .log_private = s };
	int flags = TDB_NOSYNC;

	if (open_flags & O_CREAT)
		flags |= TDB_INCOMPATIBLE_HASH;
	s->tdbmsg[0] = '\0';
	return tdb_open_ex(path, STORE_HASH_SIZE, flags, open_flags, 0600, &log, NULL);
}

/* Check an existing store: tdb structure, every record, the meta, the boot flag. */
static int
check_existing(struct store *s, char *err, size_t errlen)
{
	struct check_ctx cc = { .s = s };
	uint8_t v[4], b[1 + BOOT_ID_LEN];
	char now[BOOT_ID_LEN];
	int r;

	/* The version first: an older format's records would fail the check below. */
	r = get_fixed(s->tdb, "m:version", v, sizeof(v));
	if (r == 0 && get_le32(v) != STORE_FORMAT) {
		seterr(err, errlen,
		    "store: %s: format version %" PRIu32 " is not this build's %d (version 2"
		    " added each key's create revision and version); rebuild it from the"
		    " snapshot and the log",
		    s->path, get_le32(v), STORE_FORMAT);
		return -EBADMSG;
	}
	s->open_tokens_valid = true;
	if (tdb_check(s->tdb, check_record, &cc) != 0) {
		seterr(err, errlen,
		    "store: %s: damaged (%s); rebuild it from the snapshot"
		    " and the log",
		    s->path,
		    s->tdbmsg[0] ? s->tdbmsg
				 : "a record fails"
				   " its format check");
		return -EBADMSG;
	}
	if (r == 0)
		r = store_load_meta(s);
	if (r == 0 && cc.clients != s->nclients)
		r = -EBADMSG;
	if (r < 0) {
		seterr(err, errlen,
		    "store: %s: meta records missing or inconsistent (%s);"
		    " rebuild it from the snapshot and the log",
		    s->path, strerror(-r));
		return -EBADMSG;
	}
	r = get_fixed(s->tdb, "m:boot", b, sizeof(b));
	if (r == 0 && b[0] == 0 && !boot_id(now)) {
		/* e.g. ProcSubset=pid hides /proc/sys: assume the worst. */
		seterr(err, errlen,
		    "store: %s: not closed cleanly, and the boot id that"
		    " tells a process crash from a machine restart cannot be read; its"
		    " pages may be torn (TDB_NOSYNC): rebuild it from the snapshot and the"
		    " log",
		    s->path);
		return -EBADMSG;
	}
	if (r == 0 && b[0] == 0 && memcmp(now, b + 1, BOOT_ID_LEN) != 0) {
		seterr(err, errlen,
		    "store: %s: not closed cleanly before the machine"
		    " restarted; its pages may be torn (TDB_NOSYNC): rebuild it from the"
		    " snapshot and the log",
		    s->path);
		return -EBADMSG;
	}
	return r == -ENOENT ? 0 : r;
}

static int
init_new(struct store *s)
{
	uint8_t v[4];
	int r;

	if (tdb_transaction_start(s->tdb) != 0)
		return tdb_errno(s->tdb);
	put_le32(v, STORE_FORMAT);
	r = put(s, tstr("m:version"), tdata(v, sizeof(v)));
	if (r == 0)
		r = put_applied(s, 0, 0);
	if (r == 0)
		r = put_u64(s, "m:clients", 0);
	if (r == 0 && tdb_transaction_commit(s->tdb) != 0)
		return tdb_errno(s->tdb);
	if (r < 0)
		tdb_transaction_cancel(s->tdb);
	return r;
}

/*
 * Flag the store dirty and make that durable before anything else is
 * written: a crash of the machine from here until store_close is then seen.
 */
static int
mark_dirty(struct store *s)
{
	int r;

	if (tdb_transaction_start(s->tdb) != 0)
		return tdb_errno(s->tdb);
	r = store_write_boot(s->tdb, false);
	if (r < 0) {
		tdb_transaction_cancel(s->tdb);
		return r;
	}
	if (tdb_transaction_commit(s->tdb) != 0)
		return tdb_errno(s->tdb);
	if (fsync(tdb_fd(s->tdb)) < 0)
		return -errno;
	return 0;
}

int
store_open(const char *path, struct store **out, char *err, size_t errlen)
{
	struct store *s;
	struct stat st;
	bool exists;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	store_set_history(s, UINT64_MAX, UINT64_MAX); /* until told otherwise: all */
	s->hist_block = STORE_NO_BLOCK;
	s->path = strdup(path);
	if (s->path == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if (stat(path, &st) == 0) {
		exists = true;
	} else if (errno == ENOENT) {
		exists = false;
	} else {
		r = -errno;
		seterr(err, errlen, "store: %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Never O_CREAT an existing file: tdb would reinitialise a bad header. */
	errno = 0;
	s->tdb = store_open_tdb(s, path, exists ? O_RDWR : O_RDWR | O_CREAT | O_EXCL);
	if (s->tdb == NULL) {
		r = errno ? -errno : -EIO;
		if (exists && (r == -EIO || r == -EINVAL || r == -EBADMSG)) {
			r = -EBADMSG;
			seterr(err, errlen,
			    "store: %s: not a readable tdb (%s); rebuild it"
			    " from the snapshot and the log",
			    path, s->tdbmsg[0] ? s->tdbmsg : "bad header");
		} else {
			seterr(err, errlen, "store: %s: %s", path, strerror(-r));
		}
		goto fail;
	}
	s->open_tokens_valid = !exists; /* a new store has none */
	r = exists ? check_existing(s, err, errlen) : init_new(s);
	if (r < 0) {
		if (!exists)
			seterr(err, errlen, "store: %s: cannot initialise: %s", path, strerror(-r));
		goto fail;
	}
	r = mark_dirty(s);
	if (r < 0) {
		seterr(err, errlen, "store: %s: %s", path, strerror(-r));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->tdb != NULL)
		tdb_close(s->tdb);
	store_forget_open_tokens(s);
	free(s->path);
	free(s);
	return r;
}

void
store_after_fork(struct store *s)
{
	if (s->tdb != NULL)
		tdb_add_flags(s->tdb, TDB_NOLOCK);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->tdb != NULL) {
		store_cancel(s);
		/* everything durable first, then the flag that says so */
		if (fsync(tdb_fd(s->tdb)) == 0 && tdb_transaction_start(s->tdb) == 0) {
			if (store_write_boot(s->tdb, true) == 0 &&
			    tdb_transaction_commit(s->tdb) == 0)
				fsync(tdb_fd(s->tdb));
			else if (tdb_transaction_active(s->tdb))
				tdb_transaction_cancel(s->tdb);
		}
		tdb_close(s->tdb);
	}
	store_hist_free(s);
	store_forget_open_tokens(s);
	free(s->path);
	free(s);
}

int
store_destroy(const char *path)
{
	char *restore = store_path_with(path, ".restore");
	int r = 0;

	if (restore == NULL)
		return -ENOMEM;
	if (unlink(path) < 0 && errno != ENOENT)
		r = -errno;
	if (unlink(restore) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	free(restore);
	return r;
}

/* ------------------------------------------------------------ dedup table */

static void
client_key(char buf[CLIENT_KEY_LEN + 1], uint64_t id)
{
	snprintf(buf, CLIENT_KEY_LEN + 1, "c:%016" PRIx64, id);
}

/* A client's record, of either size: 0, -ENOENT or -EBADMSG. */
static int
client_get(struct store *s, uint64_t id, struct store_client *out)
{
	char key[CLIENT_KEY_LEN + 1];
	TDB_DATA d;

	client_key(key, id);
	d = tdb_fetch(s->tdb, tstr(key));
	if (d.dptr == NULL)
		return tdb_error(s->tdb) == TDB_ERR_NOEXIST ? -ENOENT : tdb_errno(s->tdb);
	if (d.dsize != CLIENT_BYTES && d.dsize != CLIENT_BYTES_V1 &&
	    d.dsize != CLIENT_BYTES_COUNT) {
		free(d.dptr);
		return -EBADMSG;
	}
	out->last_seq = get_le64(d.dptr);
	out->revision = get_le64(d.dptr + 8);
	out->status = (enum store_status)d.dptr[16];
	out->last_used = get_le64(d.dptr + 17);
	out->digest = d.dsize >= CLIENT_BYTES ? get_le64(d.dptr + 25) : 0;
	out->count = d.dsize == CLIENT_BYTES_COUNT ? get_le64(d.dptr + 33) : 0;
	free(d.dptr);
	return 0;
}

static int
client_put(struct store *s, uint64_t id, const struct store_client *c)
{
	char key[CLIENT_KEY_LEN + 1];
	uint8_t b[CLIENT_BYTES_COUNT];

	client_key(key, id);
	put_le64(b, c->last_seq);
	put_le64(b + 8, c->revision);
	b[16] = (uint8_t)c->status;
	put_le64(b + 17, c->last_used);
	put_le64(b + 25, c->digest);
	/* the count only when there is one: the records of other writes stay as they were */
	put_le64(b + 33, c->count);
	return put(s, tstr(key), tdata(b, c->count != 0 ? CLIENT_BYTES_COUNT : CLIENT_BYTES));
}

struct lru {
	uint64_t id;
	uint64_t last_used;
};

struct lru_ctx {
	struct lru *v;
	size_t n, cap;
	int err;
};

static int
lru_collect(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *arg)
{
	struct lru_ctx *c = arg;
	uint64_t id;

	if (key.dsize != CLIENT_KEY_LEN || key.dptr[0] != 'c' || key.dptr[1] != ':')
		return 0;
	if ((data.dsize != CLIENT_BYTES && data.dsize != CLIENT_BYTES_V1 &&
		data.dsize != CLIENT_BYTES_COUNT) ||
	    !hex16(key.dptr + 2, &id)) {
		c->err = -EBADMSG;
		return -1;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 1024;
		struct lru *p = realloc(c->v, ncap * sizeof(*p));

		if (p == NULL) {
			c->err = -ENOMEM;
			return -1;
		}
		c->v = p;
		c->cap = ncap;
	}
	c->v[c->n].id = id;
	c->v[c->n].last_used = get_le64(data.dptr + 17);
	c->n++;
	return 0;
}

static int
lru_cmp(const void *a, const void *b)
{
	const struct lru *x = a, *y = b;

	if (x->last_used != y->last_used)
		return x->last_used < y->last_used ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Evict the least recently used clients down to CLIENTS_AFTER_EVICT.  Every
 * node evicts the same ones (the order depends only on applied entries), so
 * the tables stay identical.  One scan per STORE_MAX_CLIENTS / 10 new clients.
 */
static int
evict_clients(struct store *s)
{
	struct lru_ctx c = { 0 };
	int r = 0;

	if (tdb_traverse(s->tdb, lru_collect, &c) < 0 || c.err != 0) {
		r = c.err ? c.err : tdb_errno(s->tdb);
		goto out;
	}
	if (c.n <= CLIENTS_AFTER_EVICT)
		goto out;
	qsort(c.v, c.n, sizeof(*c.v), lru_cmp);
	for (size_t i = 0; i < c.n - CLIENTS_AFTER_EVICT; i++) {
		char key[CLIENT_KEY_LEN + 1];

		client_key(key, c.v[i].id);
		if (tdb_delete(s->tdb, tstr(key)) != 0) {
			r = tdb_errno(s->tdb);
			goto out;
		}
	}
	s->nclients = CLIENTS_AFTER_EVICT;
	r = put_u64(s, "m:clients", s->nclients);
out:
	free(c.v);
	return r;
}

int
store_get_client(struct store *s, uint64_t client_id, struct store_client *out)
{
	if (s->tdb == NULL)
		return -EIO;
	return client_get(s, client_id, out);
}

uint64_t
store_clients(struct store *s)
{
	return s->nclients;
}

/* ------------------------------------------------------------ applying */

/* A key's record: 0 with *m (and the value, if val is not NULL), -ENOENT, or -errno. */
static int
kv_get(struct store *s, const char *k, size_t klen, struct store_meta *m, TDB_DATA *val)
{
	char key[2 + RAFTCONF_MAX_KEY];
	TDB_DATA d;

	store_ns_key(key, 'k', k, klen);
	d = tdb_fetch(s->tdb, tdata(key, 2 + klen));
	if (d.dptr == NULL)
		return tdb_error(s->tdb) == TDB_ERR_NOEXIST ? -ENOENT : tdb_errno(s->tdb);
	if (!kv_ok(d)) {
		free(d.dptr);
		return -EBADMSG;
	}
	store_kv_meta(d.dptr, m);
	if (val != NULL)
		*val = d;
	else
		free(d.dptr);
	return 0;
}

/* A key's revision now: 0 when it does not exist. */
static int
kv_revision(struct store *s, const char *k, size_t klen, uint64_t *rev)
{
	struct store_meta m;
	int r = kv_get(s, k, klen, &m, NULL);

	*rev = r == 0 ? m.revision : 0;
	return r == -ENOENT ? 0 : r;
}

/*
 * Write key = value at index over what the key held, old (NULL: it did not
 * exist): its version one more, its create revision kept.
 */
static int
kv_write(struct store *s, const char *k, size_t klen, const uint8_t *value, size_t vlen,
    uint64_t index, const struct store_meta *old)
{
	char key[2 + RAFTCONF_MAX_KEY];
	uint8_t head[KV_HEAD];
	TDB_DATA parts[2];

	put_le64(head, index);
	put_le64(head + 8, old ? old->create_revision : index);
	put_le64(head + 16, old ? old->version + 1 : 1);
	store_ns_key(key, 'k', k, klen);
	parts[0] = tdata(head, sizeof(head));
	parts[1] = tdata(value, vlen);
	if (tdb_storev(s->tdb, tdata(key, 2 + klen), parts, 2, TDB_REPLACE) != 0)
		return tdb_errno(s->tdb);
	return 0;
}

/* kv_write over whatever the key holds now. */
static int
kv_put(
    struct store *s, const char *k, size_t klen, const uint8_t *value, size_t vlen, uint64_t index)
{
	struct store_meta m;
	int r = kv_get(s, k, klen, &m, NULL);

	if (r < 0 && r != -ENOENT)
		return r;
	return kv_write(s, k, klen, value, vlen, index, r == 0 ? &m : NULL);
}

/* A SET's change, once written: its result and its event for the history. */
static int
set_done(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	int r = store_hist_add(s, STORE_EV_PUT, c->key, c->klen, c->value, c->vlen);

	if (r < 0)
		return r;
	res->status = STORE_OK;
	res->revision = index;
	return 0;
}

static int
do_set(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	int r = kv_put(s, c->key, c->klen, c->value, c->vlen, index);

	return r < 0 ? r : set_done(s, c, index, res);
}

/* Delete one record: STORE_NOT_FOUND when there was none. */
static int
del_record(struct store *s, TDB_DATA key, uint64_t index, struct store_result *res)
{
	if (tdb_delete(s->tdb, key) != 0) {
		if (tdb_error(s->tdb) != TDB_ERR_NOEXIST)
			return tdb_errno(s->tdb);
		res->status = STORE_NOT_FOUND;
		res->revision = 0;
		return 0;
	}
	res->status = STORE_OK;
	res->revision = index;
	return 0;
}

static int
do_del(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	char key[2 + RAFTCONF_MAX_KEY];

	int r;

	store_ns_key(key, 'k', c->key, c->klen);
	r = del_record(s, tdata(key, 2 + c->klen), index, res);
	if (r == 0 && res->status == STORE_OK)
		r = store_hist_add(s, STORE_EV_DEL, c->key, c->klen, NULL, 0);
	return r;
}

/* A new token; a name that has one already is refused (revoke it first). */
static int
do_token_put(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	char key[2 + RAFTCONF_MAX_ID];
	TDB_DATA k = tdata(key, 2 + c->klen);

	store_ns_key(key, 't', c->key, c->klen);
	if (tdb_exists(s->tdb, k)) {
		res->status = STORE_EXISTS;
		res->revision = 0;
		return 0;
	}
	if (tdb_store(s->tdb, k, tdata(c->value, c->vlen), TDB_INSERT) != 0)
		return tdb_errno(s->tdb);
	res->status = STORE_OK;
	res->revision = index;
	return 0;
}

static int
do_token_del(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	char key[2 + RAFTCONF_MAX_ID];

	store_ns_key(key, 't', c->key, c->klen);
	return del_record(s, tdata(key, 2 + c->klen), index, res);
}

/*
 * SET_IF, DEL_IF: decided here, as the entry applies, in log order — never
 * by a read before the proposal.  A failure changes nothing and answers the
 * key's revision now (recorded for a retry like any result).
 */
static int
do_if(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	struct store_meta m;
	int r = kv_get(s, c->key, c->klen, &m, NULL);
	uint64_t rev = r == 0 ? m.revision : 0;

	if (r < 0 && r != -ENOENT)
		return r;
	if (rev != c->if_rev) {
		res->status = STORE_FAILED;
		res->revision = rev;
		return 0;
	}
	if (c->op == STORE_OP_DEL_IF)
		return do_del(s, c, index, res);
	/* the key's record was read for the condition: not again to write it */
	r = kv_write(s, c->key, c->klen, c->value, c->vlen, index, r == 0 ? &m : NULL);
	return r < 0 ? r : set_done(s, c, index, res);
}

/* Does compare c hold now?  1, 0, or -errno. */
static int
compare_holds(struct store *s, const struct store_compare *c)
{
	struct store_meta m;
	TDB_DATA d = { 0 };
	uint64_t rev;
	bool eq;
	int r;

	if (c->target == STORE_CMP_REV) {
		if ((r = kv_revision(s, c->key, c->klen, &rev)) < 0)
			return r;
		switch (c->result) {
		case STORE_CMP_EQ:
			return rev == c->revision;
		case STORE_CMP_NE:
			return rev != c->revision;
		case STORE_CMP_LT:
			return rev < c->revision;
		default:
			return rev > c->revision;
		}
	}
	/* A value compare of a key that does not exist is false, = or != (etcd). */
	r = kv_get(s, c->key, c->klen, &m, &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	eq = d.dsize - KV_HEAD == c->vlen &&
	    (c->vlen == 0 || memcmp(d.dptr + KV_HEAD, c->value, c->vlen) == 0);
	free(d.dptr);
	return c->result == STORE_CMP_EQ ? eq : !eq;
}

static int
txn_get(struct store *s, const struct store_txn_op *o, store_txn_cb cb, void *arg)
{
	struct store_meta m;
	TDB_DATA d = { 0 };
	int r;

	if (cb == NULL)
		return 0;
	r = kv_get(s, o->key, o->klen, &m, &d);
	if (r == -ENOENT) {
		cb(arg, STORE_TXN_GET, o->key, o->klen, NULL, NULL, 0);
		return 0;
	}
	if (r < 0)
		return r;
	cb(arg, STORE_TXN_GET, o->key, o->klen, &m, d.dptr + KV_HEAD, d.dsize - KV_HEAD);
	free(d.dptr);
	return 0;
}

/* A TXN: every compare, then one branch's operations in order. */
static int
do_txn(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res,
    store_txn_cb cb, void *arg)
{
	char key[2 + RAFTCONF_MAX_KEY];
	struct store_txn_iter it;
	struct store_compare cmp;
	struct store_txn_op op;
	bool holds = true;
	int r;

	store_txn_iter_init(&it, &c->compares);
	while (holds && (r = store_txn_next_compare(&it, &cmp)) == 1) {
		if ((r = compare_holds(s, &cmp)) < 0)
			return r;
		holds = r == 1;
	}
	if (r < 0)
		return -EBADMSG;
	store_txn_iter_init(&it, holds ? &c->then_ops : &c->else_ops);
	while ((r = store_txn_next_op(&it, &op)) == 1) {
		struct store_meta m;

		switch (op.kind) {
		case STORE_TXN_SET:
			r = kv_put(s, op.key, op.klen, op.value, op.vlen, index);
			if (r == 0)
				r = store_hist_add(
				    s, STORE_EV_PUT, op.key, op.klen, op.value, op.vlen);
			if (r == 0 && cb != NULL && (r = kv_get(s, op.key, op.klen, &m, NULL)) == 0)
				cb(arg, STORE_TXN_SET, op.key, op.klen, &m, op.value, op.vlen);
			break;
		case STORE_TXN_DEL:
			store_ns_key(key, 'k', op.key, op.klen);
			r = 0;
			if (tdb_delete(s->tdb, tdata(key, 2 + op.klen)) == 0) {
				r = store_hist_add(s, STORE_EV_DEL, op.key, op.klen, NULL, 0);
				if (r == 0 && cb != NULL)
					cb(arg, STORE_TXN_DEL, op.key, op.klen, NULL, NULL, 0);
			} else if (tdb_error(s->tdb) != TDB_ERR_NOEXIST) {
				r = tdb_errno(s->tdb);
			}
			break;
		default:
			r = txn_get(s, &op, cb, arg);
			break;
		}
		if (r < 0)
			return r;
	}
	if (r < 0)
		return -EBADMSG;
	res->status = holds ? STORE_OK : STORE_FAILED;
	res->revision = index;
	return 0;
}

/*
 * DEL_PREFIX: every key under the prefix, in key order, each a DEL change
 * of this entry; none when they are more than one entry deletes.
 */
static int
do_del_prefix(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res,
    store_txn_cb cb, void *arg)
{
	struct store_scan sc = { .prefix = c->key,
		.plen = c->klen,
		.keep = true,
		.max_keys = RAFTCONF_MAX_DEL_PREFIX_KEYS,
		.max_bytes = RAFTCONF_MAX_DEL_PREFIX_BYTES };
	int r;

	if ((r = store_scan_keys(s, &sc)) < 0)
		return r;
	res->count = sc.matched;
	if (sc.matched > RAFTCONF_MAX_DEL_PREFIX_KEYS || sc.bytes > RAFTCONF_MAX_DEL_PREFIX_BYTES) {
		store_scan_free(&sc);
		res->status = STORE_FAILED;
		res->revision = 0;
		return 0;
	}
	for (size_t i = 0; i < sc.n && r == 0; i++) {
		const char *k = sc.v[i].key + 2;
		size_t klen = sc.v[i].len - 2;

		if (tdb_delete(s->tdb, tdata(sc.v[i].key, sc.v[i].len)) != 0) {
			r = tdb_errno(s->tdb);
			break;
		}
		r = store_hist_add(s, STORE_EV_DEL, k, klen, NULL, 0);
		if (r == 0 && cb != NULL)
			cb(arg, STORE_TXN_DEL, k, klen, NULL, NULL, 0);
	}
	store_scan_free(&sc);
	if (r < 0)
		return r;
	res->status = STORE_OK;
	res->revision = index;
	return 0;
}

static int
do_cmd(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res,
    store_txn_cb cb, void *arg)
{
	switch (c->op) {
	case STORE_OP_SET:
		return do_set(s, c, index, res);
	case STORE_OP_DEL:
		return do_del(s, c, index, res);
	case STORE_OP_SET_IF:
	case STORE_OP_DEL_IF:
		return do_if(s, c, index, res);
	case STORE_OP_TXN:
		return do_txn(s, c, index, res, cb, arg);
	case STORE_OP_DEL_PREFIX:
		return do_del_prefix(s, c, index, res, cb, arg);
	case STORE_OP_TOKEN_PUT:
		return do_token_put(s, c, index, res);
	case STORE_OP_TOKEN_DEL:
		return do_token_del(s, c, index, res);
	}
	return -EINVAL;
}

int
store_apply(struct store *s, uint64_t index, uint64_t term, const void *cmd, size_t len,
    struct store_result *res)
{
	return store_apply_txn(s, index, term, cmd, len, res, NULL, NULL);
}

int
store_apply_txn(struct store *s, uint64_t index, uint64_t term, const void *cmd, size_t len,
    struct store_result *res, store_txn_cb cb, void *arg)
{
	struct store_cmd c;
	struct store_client cl;
	bool own, known = false;
	int r;

	memset(res, 0, sizeof(*res));
	if (s->tdb == NULL)
		return -EIO;
	if (index <= s->applied)
		return -EINVAL;
	r = txn_start(s, &own);
	if (r < 0)
		return r;
	if (store_cmd_decode(cmd, len, &c) < 0) {
		res->status = STORE_BAD_COMMAND;
		goto applied;
	}
	if (c.client_id != 0) {
		r = client_get(s, c.client_id, &cl);
		if (r == 0) {
			known = true;
			if (c.seq == cl.last_seq && cl.digest != 0 &&
			    cl.digest != store_cmd_digest(cmd, len)) {
				res->status = STORE_REUSED;
				goto applied;
			}
			if (c.seq == cl.last_seq) {
				res->status = cl.status;
				res->revision = cl.revision;
				res->count = cl.count;
				res->duplicate = true;
				goto applied;
			}
			if (c.seq < cl.last_seq) {
				res->status = STORE_STALE;
				goto applied;
			}
		} else if (r != -ENOENT) {
			goto out;
		}
	}
	if ((r = store_hist_begin(s, index)) < 0)
		goto out;
	r = do_cmd(s, &c, index, res, cb, arg);
	if (r == 0)
		r = store_hist_end(s);
	if (r < 0)
		goto out;
	if (c.client_id != 0) {
		cl.last_seq = c.seq;
		cl.revision = res->revision;
		cl.status = res->status;
		cl.last_used = index;
		cl.digest = store_cmd_digest(cmd, len);
		cl.count = res->count;
		r = client_put(s, c.client_id, &cl);
		if (r == 0 && !known) {
			s->nclients++;
			r = s->nclients > STORE_MAX_CLIENTS ? evict_clients(s)
							    : put_u64(s, "m:clients", s->nclients);
		}
		if (r < 0)
			goto out;
	}
applied:
	r = put_applied(s, index, term);
out:
	return txn_finish(s, own, r);
}

int
store_set_applied(struct store *s, uint64_t index, uint64_t term)
{
	bool own;
	int r;

	if (s->tdb == NULL)
		return -EIO;
	if (index <= s->applied)
		return -EINVAL;
	r = txn_start(s, &own);
	if (r < 0)
		return r;
	return txn_finish(s, own, put_applied(s, index, term));
}

uint64_t
store_applied(struct store *s)
{
	return s->applied;
}

uint64_t
store_applied_term(struct store *s)
{
	return s->applied_term;
}

int
store_set_members(struct store *s, const void *blob, size_t len)
{
	bool own;
	int r;

	if (s->tdb == NULL)
		return -EIO;
	if (len > STORE_MAX_MEMBERS_BYTES || (len > 0 && blob == NULL))
		return -EINVAL;
	r = txn_start(s, &own);
	if (r < 0)
		return r;
	return txn_finish(s, own, put(s, tstr("m:members"), tdata(blob, len)));
}
