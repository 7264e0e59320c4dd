/*
 * store.c — the state machine's tdb file: opening it (every record checked,
 * a store left unclean by an earlier boot refused), closing it, destroying
 * it; the meta records ("m:") and the batches that applies run in
 * (store_begin, store_commit, store_cancel); the format check of every
 * record the store writes.
 *
 * The rest of the store builds on this file: applying commands is
 * store_apply.c's, the dedup table store_dedup.c's, reading store_read.c's,
 * the history store_history.c's; its whole contents out and in
 * (store_export, store_replace) are store_image.c's.
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
#include <tdb.h>
#include <unistd.h>

#include "store.h"
#include "store_state.h"
#include "errbuf.h"
#include "bytes.h"
#include "fsutil.h"
#include "mapkeep.h"
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

bool
store_hex16(const uint8_t *p, uint64_t *out)
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
bool
store_kv_ok(TDB_DATA data)
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
		return store_key_ok((const char *)key.dptr + 2, key.dsize - 2) && store_kv_ok(data);
	case 't':
		return token_name_ok((const char *)key.dptr + 2, key.dsize - 2) &&
		    token_record_decode(data.dptr, data.dsize, &tok) == 0;
	case 'c':
		return key.dsize == CLIENT_KEY_LEN && store_hex16(key.dptr + 2, NULL) &&
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

static int store_batch_end(struct store *s, int r);

/* Start a batch's writes: into the pile while there is one (or the file
 * is held), else into a tdb transaction. */
static int
store_batch_start(struct store *s)
{
	if (store_piling(s))
		s->txn_pile = true;
	else if (tdb_transaction_start(s->tdb) != 0)
		return tdb_errno(s->tdb);
	return 0;
}

/* What store_close moves of the pile into the file in one transaction. */
#define STORE_CLOSE_SLICE (64ULL * 1024 * 1024)

int
store_put(struct store *s, TDB_DATA key, TDB_DATA data)
{
	return sdb_store(s, key, data);
}

int
store_put_u64(struct store *s, const char *name, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	return store_put(s, tstr(name), tdata(b, sizeof(b)));
}

int
store_put_applied(struct store *s, uint64_t index, uint64_t term)
{
	uint8_t b[16];
	int r;

	put_le64(b, index);
	put_le64(b + 8, term);
	r = store_put(s, tstr("m:applied"), tdata(b, sizeof(b)));
	if (r == 0) {
		s->applied = index;
		s->applied_term = term;
	}
	return r;
}

/* Fetch a meta record of exactly len bytes into out: 0, -ENOENT or -EBADMSG. */
static int
get_fixed(struct store *s, const char *name, void *out, size_t len)
{
	TDB_DATA d;
	int r = sdb_fetch(s, tstr(name), &d);

	if (r < 0)
		return r;
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

	r = get_fixed(s, "m:applied", a, sizeof(a));
	if (r < 0)
		return r;
	r = get_fixed(s, "m:clients", c, sizeof(c));
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

int
store_write_begin(struct store *s, bool *own)
{
	int r;

	*own = false;
	if (s->tdb == NULL)
		return -EIO;
	if (s->open_tokens_valid)
		store_forget_open_tokens(s);
	if (s->in_txn)
		return s->txn_err;
	if ((r = store_batch_start(s)) < 0)
		return r;
	*own = true;
	return 0;
}

/* End what store_write_begin began: commit or cancel our own, or poison the caller's batch. */
int
store_write_end(struct store *s, bool own, int r)
{
	if (!own) {
		if (r < 0 && s->in_txn && s->txn_err == 0)
			s->txn_err = r;
		return r;
	}
	if (r == 0)
		r = store_hist_flush(s);
	r = store_batch_end(s, r);
	if (r < 0)
		store_load_meta(s);
	return r;
}

int
store_begin(struct store *s)
{
	int r;

	if (s->tdb == NULL)
		return -EIO;
	if (s->in_txn)
		return -EBUSY;
	if ((r = store_batch_start(s)) < 0)
		return r;
	if (s->open_tokens_valid)
		store_forget_open_tokens(s);
	s->in_txn = true;
	s->txn_err = 0;
	return 0;
}

/* End a batch's writes: into the pile (sealed, or cancelled if r < 0) or the file. */
static int
store_batch_end(struct store *s, int r)
{
	if (!s->txn_pile)
		return store_txn_finish(s, r);
	s->txn_pile = false;
	if (r < 0)
		store_pile_cancel(s);
	else
		store_pile_seal(s);
	return r;
}

int
store_commit(struct store *s)
{
	int r = 0;

	if (!s->in_txn)
		return -EINVAL;
	s->in_txn = false;
	if (s->txn_err == 0 && (r = store_hist_flush(s)) < 0)
		s->txn_err = r;
	r = store_batch_end(s, s->txn_err);
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
	store_batch_end(s, -ECANCELED);
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

void
store_unlocked(struct store *s)
{
	tdb_add_flags(s->tdb, TDB_NOLOCK);
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
	r = get_fixed(s, "m:version", v, sizeof(v));
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
	r = get_fixed(s, "m:boot", b, sizeof(b));
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
	r = store_put(s, tstr("m:version"), tdata(v, sizeof(v)));
	if (r == 0)
		r = store_put_applied(s, 0, 0);
	if (r == 0)
		r = store_put_u64(s, "m:clients", 0);
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
	mapkeep_init(); /* tdb remaps the file at every transaction's start */
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
	store_unlocked(s);
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

const char *
store_path(const struct store *s)
{
	return s->path;
}

void
store_after_fork(struct store *s)
{
	if (s->tdb == NULL)
		return;
	if (s->guarded) /* the parent's lock, not this process's: forget it */
		store_guard_drop(s);
	tdb_add_flags(s->tdb, TDB_NOLOCK);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->tdb != NULL) {
		store_cancel(s);
		/* what piled up goes into the file (unless a snapshot's writer
		 * still reads it: then the restart applies it again) */
		while (!s->held && s->pile.sealed != NULL && store_drain(s, STORE_CLOSE_SLICE) > 0)
			;
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
	store_pile_free(s);
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
