/*
 * store_read.c — reading the state machine: a key, a listing under a
 * prefix (sorted, under one read lock), the membership, the tokens, the
 * file's size.
 * Nothing here writes.  The rest of the store is store.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tdb.h>

#include "bytes.h"
#include "store.h"
#include "store_state.h"
#include "store_cmd.h"
#include "tdbutil.h"
#include "token.h"

/* tdb_fetch a record into a malloc'd buffer that is never NULL. */
static int
fetch(struct store *s, TDB_DATA key, TDB_DATA *out)
{
	*out = tdb_fetch(s->tdb, key);
	if (out->dptr == NULL) {
		if (tdb_error(s->tdb) == TDB_ERR_NOEXIST)
			return -ENOENT;
		if (out->dsize == 0 && tdb_error(s->tdb) == TDB_SUCCESS) {
			out->dptr = malloc(1);
			return out->dptr ? 0 : -ENOMEM;
		}
		return tdb_errno(s->tdb);
	}
	return 0;
}

int
store_file_bytes(struct store *s, uint64_t *bytes)
{
	struct stat st;

	if (fstat(tdb_fd(s->tdb), &st) < 0)
		return -errno;
	*bytes = (uint64_t)st.st_size;
	return 0;
}

int
store_get_members(struct store *s, uint8_t **blob, size_t *len)
{
	TDB_DATA d;
	int r;

	*blob = NULL;
	*len = 0;
	if (s->tdb == NULL)
		return -EIO;
	r = fetch(s, tstr("m:members"), &d);
	if (r < 0)
		return r;
	*blob = d.dptr;
	*len = d.dsize;
	return 0;
}

/* ------------------------------------------------------------ reading */

int
store_get(
    struct store *s, const char *key, size_t klen, uint8_t **value, size_t *len, uint64_t *revision)
{
	struct store_meta m;
	int r = store_get_meta(s, key, klen, value, len, &m);

	if (r == 0 && revision != NULL)
		*revision = m.revision;
	return r;
}

int
store_get_meta(struct store *s, const char *key, size_t klen, uint8_t **value, size_t *len,
    struct store_meta *meta)
{
	char k[2 + RAFTCONF_MAX_KEY];
	TDB_DATA d;
	int r;

	if (value != NULL)
		*value = NULL;
	if (len != NULL)
		*len = 0;
	if (s->tdb == NULL)
		return -EIO;
	if (!store_key_ok(key, klen))
		return -EINVAL;
	store_ns_key(k, 'k', key, klen);
	r = fetch(s, tdata(k, 2 + klen), &d);
	if (r < 0)
		return r;
	if (d.dsize < KV_HEAD) {
		free(d.dptr);
		return -EBADMSG;
	}
	if (meta != NULL)
		store_kv_meta(d.dptr, meta);
	if (len != NULL)
		*len = d.dsize - KV_HEAD;
	if (value != NULL) {
		memmove(d.dptr, d.dptr + KV_HEAD, d.dsize - KV_HEAD);
		*value = d.dptr;
	} else {
		free(d.dptr);
	}
	return 0;
}

struct list_key {
	char *key;  /* "k:..." NUL-terminated */
	size_t len; /* without the NUL */
};

struct list_ctx {
	const char *prefix;
	size_t plen;
	struct list_key *v;
	size_t n, cap;
	int err;
};

static int
list_collect(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *arg)
{
	struct list_ctx *c = arg;
	struct list_key *k;

	if (key.dsize < 2 + c->plen || key.dptr[0] != 'k' || key.dptr[1] != ':' ||
	    memcmp(key.dptr + 2, c->prefix, c->plen) != 0)
		return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 256;
		struct list_key *p = realloc(c->v, ncap * sizeof(*p));

		if (p == NULL)
			goto nomem;
		c->v = p;
		c->cap = ncap;
	}
	k = &c->v[c->n];
	k->key = malloc(key.dsize + 1);
	if (k->key == NULL)
		goto nomem;
	memcpy(k->key, key.dptr, key.dsize);
	k->key[key.dsize] = '\0';
	k->len = key.dsize;
	c->n++;
	return 0;
nomem:
	c->err = -ENOMEM;
	return -1;
}

static int
list_cmp(const void *a, const void *b)
{
	const struct list_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int d = memcmp(x->key, y->key, n);

	if (d != 0)
		return d;
	return x->len < y->len ? -1 : x->len > y->len;
}

struct plain_ctx {
	store_list_cb cb;
	void *arg;
};

static int
plain_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen,
    const struct store_meta *meta)
{
	struct plain_ctx *p = arg;

	return p->cb(p->arg, key, klen, val, vlen, meta->revision);
}

int
store_list(struct store *s, const char *prefix, size_t plen, store_list_cb cb, void *arg)
{
	struct plain_ctx p = { cb, arg };

	return store_list_meta(s, prefix, plen, plain_cb, &p);
}

int
store_list_meta(struct store *s, const char *prefix, size_t plen, store_list_meta_cb cb, void *arg)
{
	struct list_ctx c = { .prefix = prefix, .plen = plen };
	bool locked = false;
	int r = 0;

	if (s->tdb == NULL)
		return -EIO;
	if (plen > RAFTCONF_MAX_KEY || (plen > 0 && prefix == NULL))
		return -EINVAL;
	/*
	 * One read lock over the whole file instead of an fcntl lock per
	 * hash chain in the traverse and per key in the fetches.
	 */
	locked = !s->in_txn && tdb_lockall_read(s->tdb) == 0;
	if (tdb_traverse_read(s->tdb, list_collect, &c) < 0 || c.err != 0) {
		r = c.err ? c.err : tdb_errno(s->tdb);
		goto out;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), list_cmp);
	for (size_t i = 0; i < c.n && r == 0; i++) {
		TDB_DATA d = tdb_fetch(s->tdb, tdata(c.v[i].key, c.v[i].len));

		if (d.dptr == NULL)
			continue; /* gone since the scan: not listed */
		if (d.dsize >= KV_HEAD) {
			struct store_meta m;

			store_kv_meta(d.dptr, &m);
			r = cb(arg, c.v[i].key + 2, c.v[i].len - 2, d.dptr + KV_HEAD,
			    d.dsize - KV_HEAD, &m);
		}
		free(d.dptr);
	}
out:
	if (locked)
		tdb_unlockall_read(s->tdb);
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i].key);
	free(c.v);
	return r;
}

struct tokens_ctx {
	store_token_cb cb;
	void *arg;
	int rc;
};

static int
token_one(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *arg)
{
	struct tokens_ctx *x = arg;
	struct token_record rec;

	if (key.dsize < 2 || key.dptr[0] != 't' || key.dptr[1] != ':')
		return 0;
	if (!token_name_ok((const char *)key.dptr + 2, key.dsize - 2) ||
	    token_record_decode(data.dptr, data.dsize, &rec) < 0)
		x->rc = -EBADMSG;
	else
		x->rc = x->cb(x->arg, (const char *)key.dptr + 2, key.dsize - 2, &rec);
	return x->rc != 0 ? -1 : 0;
}

void
store_forget_open_tokens(struct store *s)
{
	free(s->open_tokens);
	s->open_tokens = NULL;
	s->open_tokens_len = s->open_tokens_cap = 0;
	s->open_tokens_valid = false;
}

static void
put_kept(struct store *s, TDB_DATA d)
{
	put_le32(s->open_tokens + s->open_tokens_len, (uint32_t)d.dsize);
	memcpy(s->open_tokens + s->open_tokens_len + 4, d.dptr, d.dsize);
	s->open_tokens_len += 4 + d.dsize;
}

/* Keep a "t:" record the check went past (store_tokens); false: out of memory. */
bool
store_keep_token(struct store *s, TDB_DATA key, TDB_DATA data)
{
	size_t need = 8 + key.dsize + data.dsize;

	if (s->open_tokens_len + need > s->open_tokens_cap) {
		size_t cap = s->open_tokens_cap ? s->open_tokens_cap * 2 : 4096;
		uint8_t *p;

		while (cap < s->open_tokens_len + need)
			cap *= 2;
		if ((p = realloc(s->open_tokens, cap)) == NULL)
			return false;
		s->open_tokens = p;
		s->open_tokens_cap = cap;
	}
	put_kept(s, key);
	put_kept(s, data);
	return true;
}

/* The "t:" records the check at open kept (store_state.h), in their order. */
static int
kept_tokens(struct store *s, struct tokens_ctx *x)
{
	size_t off = 0;

	while (off < s->open_tokens_len) {
		TDB_DATA key, data;

		key.dsize = get_le32(s->open_tokens + off);
		key.dptr = s->open_tokens + off + 4;
		off += 4 + key.dsize;
		data.dsize = get_le32(s->open_tokens + off);
		data.dptr = s->open_tokens + off + 4;
		off += 4 + data.dsize;
		if (token_one(s->tdb, key, data, x) != 0)
			break;
	}
	return x->rc;
}

int
store_tokens(struct store *s, store_token_cb cb, void *arg)
{
	struct tokens_ctx x = { cb, arg, 0 };
	bool locked;
	int r;

	if (s->tdb == NULL)
		return -EIO;
	if (s->open_tokens_valid)
		return kept_tokens(s, &x);
	/* One lock, not an fcntl per hash chain and record: at a million
	 * keys the traverse took seconds of a restart in the kernel's locks. */
	locked = !s->in_txn && tdb_lockall_read(s->tdb) == 0;
	r = tdb_traverse_read(s->tdb, token_one, &x) < 0 && x.rc == 0 ? tdb_errno(s->tdb) : x.rc;
	if (locked)
		tdb_unlockall_read(s->tdb);
	return r;
}
