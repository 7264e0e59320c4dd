/*
 * store_read.c — reading the state machine: a key, a listing under a
 * prefix (sorted, under one read lock; all, the first N, or without the
 * values), a count, the membership, the tokens, the file's size; and the
 * walk of the keys under a prefix (store_scan_keys) that store_apply.c's
 * DEL_PREFIX deletes.
 * Nothing here writes.  The rest of the store is store.c and the files it
 * names.
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
	r = sdb_fetch(s, tstr("m:members"), &d);
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
	r = sdb_fetch(s, tdata(k, 2 + klen), &d);
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

/* ------------------------------------------------------------ the keys under a prefix */

/* Keys before b in bytewise order (a shorter key before its extensions). */
static int
key_cmp(const struct store_key *a, const struct store_key *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int d = memcmp(a->key, b->key, n);

	if (d != 0)
		return d;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int
key_qsort_cmp(const void *a, const void *b)
{
	return key_cmp(a, b);
}

/* The largest kept key at the root of a max-heap of sc->n keys: sift i down. */
static void
heap_down(struct store_scan *sc, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, top = i;
		struct store_key t;

		if (l < sc->n && key_cmp(&sc->v[l], &sc->v[top]) > 0)
			top = l;
		if (r < sc->n && key_cmp(&sc->v[r], &sc->v[top]) > 0)
			top = r;
		if (top == i)
			return;
		t = sc->v[i];
		sc->v[i] = sc->v[top];
		sc->v[top] = t;
		i = top;
	}
}

static void
heap_up(struct store_scan *sc, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct store_key t;

		if (key_cmp(&sc->v[i], &sc->v[p]) <= 0)
			return;
		t = sc->v[i];
		sc->v[i] = sc->v[p];
		sc->v[p] = t;
		i = p;
	}
}

static void
forget_keys(struct store_scan *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->v[i].key);
	sc->n = 0;
}

void
store_scan_free(struct store_scan *sc)
{
	forget_keys(sc);
	free(sc->v);
	sc->v = NULL;
	sc->cap = 0;
}

/* Keep the "k:" record name key (klen bytes with "k:") in sc: 0 or -ENOMEM. */
static int
keep_key(struct store_scan *sc, const uint8_t *key, size_t klen)
{
	struct store_key k;

	if (sc->limit != 0 && sc->n == sc->limit) {
		/* full: a key goes in only in place of the largest */
		k.key = (char *)key;
		k.len = klen;
		if (key_cmp(&k, &sc->v[0]) >= 0)
			return 0;
		free(sc->v[0].key);
		sc->n--;
		sc->v[0] = sc->v[sc->n];
		heap_down(sc, 0);
	}
	if (sc->n == sc->cap) {
		size_t ncap = sc->cap ? sc->cap * 2 : 256;
		struct store_key *p;

		if (sc->limit != 0 && ncap > sc->limit)
			ncap = sc->limit;
		if ((p = realloc(sc->v, ncap * sizeof(*p))) == NULL)
			return -ENOMEM;
		sc->v = p;
		sc->cap = ncap;
	}
	if ((k.key = malloc(klen + 1)) == NULL)
		return -ENOMEM;
	memcpy(k.key, key, klen);
	k.key[klen] = '\0';
	k.len = klen;
	sc->v[sc->n++] = k;
	if (sc->limit != 0)
		heap_up(sc, sc->n - 1);
	return 0;
}

static int
scan_one(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *arg)
{
	struct store_scan *sc = arg;

	if (key.dsize < 2 + sc->plen || key.dptr[0] != 'k' || key.dptr[1] != ':' ||
	    (sc->plen > 0 && memcmp(key.dptr + 2, sc->prefix, sc->plen) != 0))
		return 0;
	sc->matched++;
	sc->bytes += key.dsize - 2;
	if (!sc->keep)
		return 0;
	if ((sc->max_keys != 0 && sc->matched > sc->max_keys) ||
	    (sc->max_bytes != 0 && sc->bytes > sc->max_bytes)) {
		/* over what the caller would take: count on, keep nothing */
		sc->keep = false;
		forget_keys(sc);
		return 0;
	}
	if ((sc->err = keep_key(sc, key.dptr, key.dsize)) < 0)
		return -1;
	return 0;
}

int
store_scan_keys(struct store *s, struct store_scan *sc)
{
	sc->matched = sc->bytes = 0;
	sc->n = 0;
	sc->err = 0;
	int r = sdb_traverse(s, scan_one, sc);

	if (r < 0 || sc->err != 0) {
		r = sc->err ? sc->err : r;

		store_scan_free(sc);
		return r;
	}
	if (sc->keep && sc->n > 1)
		qsort(sc->v, sc->n, sizeof(*sc->v), key_qsort_cmp);
	return 0;
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
	return store_list_opts(s, prefix, plen, 0, false, cb, arg);
}

/* A "k:" record's meta, read in place (keys only: no copy of the value). */
static int
meta_of(TDB_DATA key, TDB_DATA data, void *arg)
{
	if (data.dsize < KV_HEAD)
		return -1;
	store_kv_meta(data.dptr, arg);
	return 0;
}

int
store_list_opts(struct store *s, const char *prefix, size_t plen, uint64_t limit, bool keys_only,
    store_list_meta_cb cb, void *arg)
{
	struct store_scan sc = { .prefix = prefix, .plen = plen, .keep = true, .limit = limit };
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
	locked = !s->in_txn && !s->guarded && tdb_lockall_read(s->tdb) == 0;
	if ((r = store_scan_keys(s, &sc)) < 0)
		goto out;
	for (size_t i = 0; i < sc.n && r == 0; i++) {
		TDB_DATA k = tdata(sc.v[i].key, sc.v[i].len);
		struct store_meta m;
		TDB_DATA d;

		if (keys_only) {
			/* gone since the scan, or too short: not listed */
			int ok = -1;

			if (sdb_parse(s, k, meta_of, &m, &ok) == 0 && ok == 0)
				r = cb(arg, sc.v[i].key + 2, sc.v[i].len - 2, NULL, 0, &m);
			continue;
		}
		if (sdb_fetch(s, k, &d) < 0)
			continue; /* gone since the scan: not listed */
		if (d.dsize >= KV_HEAD) {
			store_kv_meta(d.dptr, &m);
			r = cb(arg, sc.v[i].key + 2, sc.v[i].len - 2, d.dptr + KV_HEAD,
			    d.dsize - KV_HEAD, &m);
		}
		free(d.dptr);
	}
out:
	if (locked)
		tdb_unlockall_read(s->tdb);
	store_scan_free(&sc);
	return r;
}

int
store_count(struct store *s, const char *prefix, size_t plen, uint64_t *count)
{
	struct store_scan sc = { .prefix = prefix, .plen = plen };
	bool locked;
	int r;

	*count = 0;
	if (s->tdb == NULL)
		return -EIO;
	if (plen > RAFTCONF_MAX_KEY || (plen > 0 && prefix == NULL))
		return -EINVAL;
	locked = !s->in_txn && !s->guarded && tdb_lockall_read(s->tdb) == 0;
	r = store_scan_keys(s, &sc);
	if (locked)
		tdb_unlockall_read(s->tdb);
	if (r == 0)
		*count = sc.matched;
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
	locked = !s->in_txn && !s->guarded && tdb_lockall_read(s->tdb) == 0;
	r = sdb_traverse(s, token_one, &x);
	r = r < 0 && x.rc == 0 ? r : x.rc;
	if (locked)
		tdb_unlockall_read(s->tdb);
	return r;
}
