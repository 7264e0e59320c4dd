/*
 * store_image.c — the store's whole contents out (store_export, for a
 * snapshot) and in (store_replace: a new tdb filled beside the old one,
 * synced, renamed over it).  The contract is in store.h; opening is
 * store.c's, applying store_apply.c's, reading store_read.c's.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>
#include <unistd.h>

#include "store.h"
#include "store_state.h"
#include "bytes.h"
#include "errbuf.h"
#include "fsutil.h"
#include "tdbutil.h"

/* ------------------------------------------------------------ whole contents */

bool
store_record_ok(const struct store_record *rec)
{
	TDB_DATA key = tdata(rec->key, rec->klen), data = tdata(rec->val, rec->vlen);

	return rec->klen >= 2 && rec->key[0] != 'm' && store_record_bytes_ok(key, data);
}

struct export_ctx {
	store_export_cb cb;
	void *arg;
	int rc;
};

static int
export_one(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *arg)
{
	struct export_ctx *x = arg;
	struct store_record rec = { key.dptr, key.dsize, data.dptr, data.dsize };

	/* every namespace but the node's own "m:" is replicated (store_record_ok) */
	if (key.dsize < 2 || key.dptr[1] != ':' || key.dptr[0] == 'm')
		return 0;
	x->rc = x->cb(x->arg, &rec);
	return x->rc != 0 ? -1 : 0;
}

int
store_export(struct store *s, store_export_cb cb, void *arg)
{
	struct export_ctx x = { cb, arg, 0 };
	bool locked;
	int r = 0;

	if (s->tdb == NULL)
		return -EIO;
	if (s->in_txn)
		return -EBUSY;
	/* one read lock for the whole walk, not one per hash chain */
	locked = !s->guarded && tdb_lockall_read(s->tdb) == 0;
	r = sdb_traverse(s, export_one, &x);
	if (locked)
		tdb_unlockall_read(s->tdb);
	return x.rc != 0 ? x.rc : r;
}

/* The meta records of a store whose contents were just replaced. */
static int
replace_meta(struct tdb_context *dst, uint64_t index, uint64_t term, const void *members,
    size_t mlen, uint64_t clients)
{
	uint8_t v[4], a[16], c[8];

	put_le32(v, STORE_FORMAT);
	put_le64(a, index);
	put_le64(a + 8, term);
	put_le64(c, clients);
	if (tdb_store(dst, tstr("m:version"), tdata(v, 4), TDB_REPLACE) != 0 ||
	    tdb_store(dst, tstr("m:applied"), tdata(a, 16), TDB_REPLACE) != 0 ||
	    tdb_store(dst, tstr("m:clients"), tdata(c, 8), TDB_REPLACE) != 0 ||
	    tdb_store(dst, tstr("m:members"), tdata(members, mlen), TDB_REPLACE) != 0)
		return tdb_errno(dst);
	return store_write_boot(dst, false);
}

/* What store_replace_build made: a shell of a store for the build's own
 * log messages and the "t:" records it saw, and the file's path. */
struct store_built {
	struct store shell;
	char *tmp;
};

void
store_built_free(struct store_built *b)
{
	if (b == NULL)
		return;
	if (b->tmp != NULL)
		unlink(b->tmp);
	free(b->tmp);
	store_forget_open_tokens(&b->shell);
	free(b->shell.path);
	free(b);
}

/* Fill dst from next(); *clients counts the dedup records, and the "t:"
 * records are kept in the shell for the store that takes the file. */
static int
replace_fill(struct store *shell, struct tdb_context *dst, store_import_next next, void *arg,
    uint64_t *clients, char *err, size_t errlen)
{
	struct store_record rec;
	uint64_t i;
	int r;

	*clients = 0;
	for (i = 0; (r = next(arg, &rec, err, errlen)) > 0; i++) {
		if (!store_record_ok(&rec)) {
			seterr(err, errlen,
			    "store: %s: record %" PRIu64 " of the new contents"
			    " is not one the store writes",
			    shell->path, i);
			return -EBADMSG;
		}
		if (rec.key[0] == 'c')
			(*clients)++;
		if (tdb_store(
			dst, tdata(rec.key, rec.klen), tdata(rec.val, rec.vlen), TDB_INSERT) != 0) {
			r = tdb_errno(dst);
			if (r == -EEXIST) {
				seterr(err, errlen,
				    "store: %s: record %" PRIu64 " of the new"
				    " contents repeats a key",
				    shell->path, i);
				return -EBADMSG;
			}
			seterr(err, errlen, "store: %s.restore: %s", shell->path, strerror(-r));
			return r;
		}
		if (rec.key[0] == 't' && shell->open_tokens_valid &&
		    !store_keep_token(shell, tdata(rec.key, rec.klen), tdata(rec.val, rec.vlen)))
			store_forget_open_tokens(shell);
	}
	return r;
}

int
store_replace_build(const char *path, uint64_t index, uint64_t term, const void *members,
    size_t mlen, store_import_next next, void *arg, struct store_built **out, char *err,
    size_t errlen)
{
	struct tdb_context *dst = NULL;
	struct store_built *b;
	uint64_t clients = 0;
	int r;

	*out = NULL;
	if (mlen > STORE_MAX_MEMBERS_BYTES || (mlen > 0 && members == NULL))
		return -EINVAL;
	if ((b = calloc(1, sizeof(*b))) == NULL || (b->shell.path = strdup(path)) == NULL ||
	    (b->tmp = store_path_with(path, ".restore")) == NULL) {
		if (b != NULL)
			free(b->shell.path);
		free(b);
		return -ENOMEM;
	}
	b->shell.open_tokens_valid = true;
	unlink(b->tmp);
	dst = store_open_tdb(&b->shell, b->tmp, O_RDWR | O_CREAT | O_EXCL);
	if (dst == NULL) {
		r = errno ? -errno : -EIO;
		seterr(err, errlen, "store: %s: %s", b->tmp, strerror(-r));
		goto fail;
	}
	/* nobody else knows this file: one lock instead of one per insert */
	tdb_lockall(dst);
	r = replace_fill(&b->shell, dst, next, arg, &clients, err, errlen);
	if (r < 0)
		goto fail;
	r = replace_meta(dst, index, term, members, mlen, clients);
	if (r == 0 && fsync(tdb_fd(dst)) < 0)
		r = -errno;
	if (r < 0) {
		seterr(err, errlen, "store: %s: %s", b->tmp, strerror(-r));
		goto fail;
	}
	tdb_close(dst);
	*out = b;
	return 0;
fail:
	if (dst != NULL)
		tdb_close(dst);
	store_built_free(b);
	return r;
}

int
store_replace_swap(struct store *s, struct store_built *b, char *err, size_t errlen)
{
	int r;

	if (s->tdb == NULL || strcmp(s->path, b->shell.path) != 0) {
		r = -EIO;
		goto out;
	}
	if (s->in_txn) {
		r = -EBUSY;
		goto out;
	}
	store_forget_open_tokens(s);
	if (rename(b->tmp, s->path) < 0) {
		r = -errno;
		seterr(err, errlen, "store: rename %s to %s: %s", b->tmp, s->path, strerror(errno));
		goto out;
	}
	free(b->tmp);
	b->tmp = NULL;
	if ((r = fs_sync_parent(s->path)) < 0) {
		seterr(err, errlen, "store: %s: syncing its directory after the rename: %s",
		    s->path, strerror(-r));
		goto out;
	}

	/* The old tdb is now unlinked; switch to the new one.  What piled up
	 * in front of it is older than the new contents: gone with it. */
	store_pile_free(s);
	tdb_close(s->tdb);
	s->tdb = store_open_tdb(s, s->path, O_RDWR);
	if (s->tdb == NULL) {
		seterr(
		    err, errlen, "store: %s: cannot reopen after restore: %s", s->path, s->tdbmsg);
		r = -EIO;
		goto out;
	}
	store_unlocked(s);
	if ((r = store_load_meta(s)) < 0) {
		seterr(err, errlen, "store: %s: cannot read back the restored meta: %s", s->path,
		    strerror(-r));
	} else if (b->shell.open_tokens_valid) {
		/* the tokens the build saw: store_tokens need not walk the store */
		s->open_tokens = b->shell.open_tokens;
		s->open_tokens_len = b->shell.open_tokens_len;
		s->open_tokens_cap = b->shell.open_tokens_cap;
		s->open_tokens_valid = true;
		b->shell.open_tokens = NULL;
		b->shell.open_tokens_len = b->shell.open_tokens_cap = 0;
	}
out:
	store_built_free(b);
	return r;
}

int
store_replace(struct store *s, uint64_t index, uint64_t term, const void *members, size_t mlen,
    store_import_next next, void *arg, char *err, size_t errlen)
{
	struct store_built *b;
	int r;

	if (s->tdb == NULL)
		return -EIO;
	if (s->in_txn)
		return -EBUSY;
	r = store_replace_build(s->path, index, term, members, mlen, next, arg, &b, err, errlen);
	if (r < 0)
		return r;
	return store_replace_swap(s, b, err, errlen);
}
