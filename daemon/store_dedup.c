/*
 * store_dedup.c — the store's dedup table (store.h, "c:" records): for each
 * client id, the last request it had applied (its seq, the digest of the
 * request, its result), so that a retry is answered with that result
 * instead of being applied again (Raft thesis §6.3); the count of clients
 * ("m:clients") and the eviction of the least recently used past
 * STORE_MAX_CLIENTS, the same on every node.
 *
 * Not here: deciding what a retry gets (store_apply_txn, store_apply.c,
 * reads the record and writes it back through store_client_record), the
 * batch the records are written in, or their format check at open
 * (store.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <tdb.h>

#include "bytes.h"
#include "store.h"
#include "store_state.h"
#include "tdbutil.h"

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

	int r;

	client_key(key, id);
	if ((r = sdb_fetch(s, tstr(key), &d)) < 0)
		return r;
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
	return store_put(s, tstr(key), tdata(b, c->count != 0 ? CLIENT_BYTES_COUNT : CLIENT_BYTES));
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
	    !store_hex16(key.dptr + 2, &id)) {
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

	if ((r = sdb_traverse(s, lru_collect, &c)) < 0 || c.err != 0) {
		r = c.err ? c.err : r;
		goto out;
	}
	if (c.n <= CLIENTS_AFTER_EVICT)
		goto out;
	qsort(c.v, c.n, sizeof(*c.v), lru_cmp);
	for (size_t i = 0; i < c.n - CLIENTS_AFTER_EVICT; i++) {
		char key[CLIENT_KEY_LEN + 1];

		client_key(key, c.v[i].id);
		if ((r = sdb_delete(s, tstr(key))) < 0)
			goto out;
	}
	s->nclients = CLIENTS_AFTER_EVICT;
	r = store_put_u64(s, "m:clients", s->nclients);
out:
	free(c.v);
	return r;
}

/*
 * Record what a client's request did (store_apply_txn, once it applied);
 * a client that had no record (!known) is counted, and one past
 * STORE_MAX_CLIENTS evicts the least recently used.
 */
int
store_client_record(struct store *s, uint64_t id, const struct store_client *c, bool known)
{
	int r = client_put(s, id, c);

	if (r == 0 && !known) {
		s->nclients++;
		r = s->nclients > STORE_MAX_CLIENTS ? evict_clients(s)
						    : store_put_u64(s, "m:clients", s->nclients);
	}
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
