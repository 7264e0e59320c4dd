/*
 * store_pile.c — the store's records, in its tdb file or piled in memory
 * in front of it, and the batches that move from the one to the other.
 *
 * While a snapshot's writer (a child process) reads the tdb file, the
 * node must not change it; before, its applies waited in one tdb
 * transaction that grew for the whole snapshot and was committed in one
 * go after it (92-313 ms on the loop at 1 KiB values, issue 16 item 2).
 * Now, while the file is held (store_hold) and until what piled up has
 * reached the file, every batch commits into memory instead: a list of
 * writes in the order made, each batch's after the one before, and a
 * hash table of the newest write of each key for reads.  Reads look
 * there first, then in the file; a walk goes over the file's records
 * that were not written since, then over the piled ones.  Once the file
 * is released, store_drain moves the oldest committed batches into it, a
 * slice of about a given size at a time, each slice one tdb transaction
 * with the applied index of its last batch: a crash between two leaves
 * the file at a batch's end, as any commit does.  The child's copy of
 * the pile (fork) is frozen with the file: together they are the store
 * at the fork.
 *
 * Every function here goes to the file directly while nothing is piled
 * and the batch writes to the file: the common case costs a test.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "store_state.h"
#include "tdbscan.h"
#include "tdbutil.h"

/* One write of a record, piled.  del: the record was deleted. */
struct pile_op {
	struct pile_op *prev, *next;   /* every op, oldest first */
	struct pile_op *older, *newer; /* the piled writes of the same key */
	uint64_t batch;
	uint64_t hash; /* key_hash of the key: kept, so that the table moves without it */
	uint32_t klen, dlen;
	bool del;
	uint8_t bytes[]; /* key, then data */
};

static uint64_t
key_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static size_t
op_bytes(const struct pile_op *o)
{
	return sizeof(*o) + o->klen + o->dlen;
}

/* The slot of key (hash h) in the table: its newest op's, or the empty one where it would go. */
static size_t
slot_of(const struct pile *p, uint64_t h, const uint8_t *key, size_t klen)
{
	size_t mask = p->nslots - 1, i = (size_t)h & mask;

	while (p->slots[i] != NULL) {
		const struct pile_op *o = p->slots[i];

		if (o->hash == h && o->klen == klen && memcmp(o->bytes, key, klen) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static size_t
slot_of_op(const struct pile *p, const struct pile_op *o)
{
	return slot_of(p, o->hash, o->bytes, o->klen);
}

static int
grow_table(struct pile *p)
{
	size_t n = p->nslots ? p->nslots * 2 : 1024;
	struct pile_op **old = p->slots;
	size_t oldn = p->nslots;

	if ((p->slots = calloc(n, sizeof(*p->slots))) == NULL) {
		p->slots = old;
		return -ENOMEM;
	}
	p->nslots = n;
	for (size_t i = 0; i < oldn; i++) {
		size_t j;

		if (old[i] == NULL)
			continue;
		/* the keys are distinct: the first empty slot from its home */
		for (j = (size_t)old[i]->hash & (n - 1); p->slots[j] != NULL; j = (j + 1) & (n - 1))
			;
		p->slots[j] = old[i];
	}
	free(old);
	return 0;
}

/* Take slot i out of the table (linear probing: the run after it moves back). */
static void
table_remove(struct pile *p, size_t i)
{
	size_t mask = p->nslots - 1, j = i;

	p->slots[i] = NULL;
	p->nkeys--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (p->slots[j] == NULL)
			return;
		home = (size_t)p->slots[j]->hash & mask;
		/* does j's home lie cyclically in (i, j]?  Then it stays. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		p->slots[i] = p->slots[j];
		p->slots[j] = NULL;
		i = j;
	}
}

static void
unlink_op(struct pile *p, struct pile_op *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else
		p->head = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		p->tail = o->prev;
	p->bytes -= op_bytes(o);
	p->nops--;
}

/* Forget op o, the newest of its key, as if it had never been piled. */
static void
undo_op(struct pile *p, struct pile_op *o)
{
	size_t i = slot_of_op(p, o);

	if (o->older != NULL) {
		o->older->newer = NULL;
		p->slots[i] = o->older;
	} else {
		table_remove(p, i);
	}
	unlink_op(p, o);
	free(o);
}

/* ------------------------------------------------------------ committing */

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
store_txn_finish(struct store *s, int r)
{
	if (r < 0) {
		tdb_transaction_cancel(s->tdb);
		return r;
	}
	s->tdbmsg[0] = '\0';
	s->nospace = false;
	if (tdb_transaction_commit(s->tdb) != 0) {
		r = tdb_errno(s->tdb);
		if (s->nospace || (strstr(s->tdbmsg, "expansion failed") && short_of_space(s)))
			r = -ENOSPC;
	}
	return r;
}

/* ------------------------------------------------------------ the pile */

bool
store_piling(const struct store *s)
{
	return s->held || s->pile.nops > 0;
}

/* A write into the open batch: it replaces the batch's own earlier write of the key. */
static int
pile_put(struct store *s, TDB_DATA key, const TDB_DATA *parts, int nparts, bool del)
{
	struct pile *p = &s->pile;
	struct pile_op *o, *old;
	size_t dlen = 0, i, off;

	for (int k = 0; k < nparts; k++)
		dlen += parts[k].dsize;
	if (key.dsize > UINT32_MAX || dlen > UINT32_MAX)
		return -EINVAL;
	if ((p->nkeys + 1) * 2 > p->nslots && grow_table(p) < 0)
		return -ENOMEM;
	if ((o = malloc(sizeof(*o) + key.dsize + dlen)) == NULL)
		return -ENOMEM;
	o->klen = (uint32_t)key.dsize;
	o->dlen = (uint32_t)dlen;
	o->del = del;
	o->batch = p->batch;
	o->hash = key_hash(key.dptr, key.dsize);
	o->newer = NULL;
	memcpy(o->bytes, key.dptr, key.dsize);
	off = key.dsize;
	for (int k = 0; k < nparts; k++) {
		if (parts[k].dsize)
			memcpy(o->bytes + off, parts[k].dptr, parts[k].dsize);
		off += parts[k].dsize;
	}
	i = slot_of(p, o->hash, key.dptr, key.dsize);
	old = p->slots[i];
	o->older = old;
	if (old != NULL && old->batch == p->batch) {
		/* the batch's own earlier write: only the last one counts */
		o->older = old->older;
		unlink_op(p, old);
		free(old);
	}
	if (o->older != NULL)
		o->older->newer = o;
	if (old == NULL)
		p->nkeys++;
	p->slots[i] = o;
	o->next = NULL;
	o->prev = p->tail;
	if (p->tail)
		p->tail->next = o;
	else
		p->head = o;
	p->tail = o;
	p->bytes += op_bytes(o);
	p->nops++;
	return 0;
}

/* The open batch is committed: the next write starts another. */
void
store_pile_seal(struct store *s)
{
	s->pile.sealed = s->pile.tail;
	s->pile.batch++;
}

/* Nothing piled: give the table's memory back (a pile is rare, and may have been large). */
static void
drop_empty_table(struct pile *p)
{
	if (p->nops != 0)
		return;
	free(p->slots);
	p->slots = NULL;
	p->nslots = p->nkeys = 0;
}

/* The open batch is cancelled: its writes go, newest first. */
void
store_pile_cancel(struct store *s)
{
	struct pile *p = &s->pile;

	while (p->tail != NULL && p->tail != p->sealed)
		undo_op(p, p->tail);
	drop_empty_table(p);
}

void
store_pile_free(struct store *s)
{
	struct pile *p = &s->pile;
	struct pile_op *o = p->head;

	while (o != NULL) {
		struct pile_op *next = o->next;

		free(o);
		o = next;
	}
	free(p->slots);
	memset(p, 0, sizeof(*p));
}

uint64_t
store_piled_bytes(const struct store *s)
{
	return s->pile.bytes + s->pile.nslots * sizeof(*s->pile.slots);
}

int
store_hold(struct store *s)
{
	if (s->in_txn)
		return -EBUSY;
	s->held = true;
	return 0;
}

void
store_release(struct store *s)
{
	s->held = false;
}

bool
store_held(const struct store *s)
{
	return s->held;
}

static int
drain_one(struct store *s, const struct pile_op *o)
{
	TDB_DATA key = tdata(o->bytes, o->klen);

	if (o->del) {
		if (tdb_delete(s->tdb, key) != 0 && tdb_error(s->tdb) != TDB_ERR_NOEXIST)
			return tdb_errno(s->tdb);
		return 0;
	}
	if (tdb_store(s->tdb, key, tdata(o->bytes + o->klen, o->dlen), TDB_REPLACE) != 0)
		return tdb_errno(s->tdb);
	return 0;
}

int
store_drain(struct store *s, uint64_t max_bytes)
{
	struct pile *p = &s->pile;
	struct pile_op *o, *end;
	uint64_t taken = 0, last;
	int r = 0;

	if (s->tdb == NULL)
		return -EIO;
	if (s->held || s->in_txn || s->txn_pile)
		return -EBUSY; /* the open batch is never drained */
	if (p->sealed == NULL)
		return 0;
	/* whole batches, the oldest first, until about max_bytes */
	for (o = p->head;; o = o->next) {
		taken += op_bytes(o);
		if (o == p->sealed || (taken >= max_bytes && o->next->batch != o->batch))
			break;
	}
	end = o;
	last = end->batch;
	if (tdb_transaction_start(s->tdb) != 0)
		return tdb_errno(s->tdb);
	for (o = p->head; r == 0; o = o->next) {
		/* one written later in the slice makes this one moot */
		if (o->newer == NULL || o->newer->batch > last)
			r = drain_one(s, o);
		if (o == end)
			break;
	}
	if ((r = store_txn_finish(s, r)) < 0)
		return r;
	/* in the file now: the table keeps only keys written after the slice */
	while (p->head != NULL) {
		bool was_end = p->head == end;

		o = p->head;
		if (o->newer != NULL)
			o->newer->older = NULL;
		else
			table_remove(p, slot_of_op(p, o));
		if (o == p->sealed)
			p->sealed = NULL;
		unlink_op(p, o);
		free(o);
		if (was_end)
			break;
	}
	drop_empty_table(p);
	return 1;
}

/* ------------------------------------------------------------ records */

static const struct pile_op *
piled(const struct store *s, TDB_DATA key)
{
	const struct pile *p = &s->pile;

	if (p->nkeys == 0)
		return NULL;
	return p->slots[slot_of(p, key_hash(key.dptr, key.dsize), key.dptr, key.dsize)];
}

int
sdb_fetch(struct store *s, TDB_DATA key, TDB_DATA *out)
{
	const struct pile_op *o = piled(s, key);

	if (o != NULL) {
		if (o->del)
			return -ENOENT;
		out->dsize = o->dlen;
		if ((out->dptr = malloc(o->dlen ? o->dlen : 1)) == NULL)
			return -ENOMEM;
		memcpy(out->dptr, o->bytes + o->klen, o->dlen);
		return 0;
	}
	*out = tdb_fetch(s->tdb, key);
	if (out->dptr != NULL)
		return 0;
	if (tdb_error(s->tdb) == TDB_ERR_NOEXIST)
		return -ENOENT;
	if (out->dsize == 0 && tdb_error(s->tdb) == TDB_SUCCESS) {
		out->dptr = malloc(1);
		return out->dptr ? 0 : -ENOMEM;
	}
	return tdb_errno(s->tdb);
}

int
sdb_parse(
    struct store *s, TDB_DATA key, int (*parser)(TDB_DATA, TDB_DATA, void *), void *arg, int *ret)
{
	const struct pile_op *o = piled(s, key);
	int r;

	if (o != NULL) {
		if (o->del)
			return -ENOENT;
		*ret = parser(key, tdata(o->bytes + o->klen, o->dlen), arg);
		return 0;
	}
	r = tdb_parse_record(s->tdb, key, parser, arg);
	if (r == -1 && tdb_error(s->tdb) != TDB_SUCCESS)
		return tdb_error(s->tdb) == TDB_ERR_NOEXIST ? -ENOENT : tdb_errno(s->tdb);
	*ret = r;
	return 0;
}

bool
sdb_exists(struct store *s, TDB_DATA key)
{
	const struct pile_op *o = piled(s, key);

	if (o != NULL)
		return !o->del;
	return tdb_exists(s->tdb, key) != 0;
}

int
sdb_storev(struct store *s, TDB_DATA key, const TDB_DATA *parts, int nparts)
{
	if (s->txn_pile)
		return pile_put(s, key, parts, nparts, false);
	if (tdb_storev(s->tdb, key, parts, nparts, TDB_REPLACE) != 0)
		return tdb_errno(s->tdb);
	return 0;
}

int
sdb_store(struct store *s, TDB_DATA key, TDB_DATA data)
{
	return sdb_storev(s, key, &data, 1);
}

int
sdb_delete(struct store *s, TDB_DATA key)
{
	if (s->txn_pile) {
		if (!sdb_exists(s, key))
			return -ENOENT;
		return pile_put(s, key, NULL, 0, true);
	}
	if (tdb_delete(s->tdb, key) != 0)
		return tdb_errno(s->tdb);
	return 0;
}

struct walk_ctx {
	struct store *s;
	tdb_traverse_func fn;
	void *arg;
	bool stopped;
};

static int
walk_file(struct tdb_context *tdb, TDB_DATA key, TDB_DATA data, void *arg)
{
	struct walk_ctx *w = arg;

	if (piled(w->s, key) != NULL)
		return 0; /* written since: the pile has it, or its deletion */
	if (w->fn(tdb, key, data, w->arg) != 0) {
		w->stopped = true;
		return 1;
	}
	return 0;
}

/*
 * The file's records: in the file's order (tdbscan) unless a transaction
 * is open, whose writes only tdb's own walk sees, a child writes the file
 * (store_guard), or the file does not walk that way.
 */
static int
walk(struct store *s, tdb_traverse_func fn, void *arg, const bool *stopped)
{
	/* The file holds only what tdb committed: a transaction that died
	 * half written leaves records past the end tdb recovers to, which
	 * tdbscan would read, but store_open's tdb_check refuses such a
	 * file (tdbscan.h). */
	if (!tdb_transaction_active(s->tdb) && !s->guarded && tdbscan(s->tdb, fn, arg) == 0)
		return 0;
	if (tdb_traverse_read(s->tdb, fn, arg) < 0 && !*stopped)
		return tdb_errno(s->tdb);
	return 0;
}

int
sdb_traverse(struct store *s, tdb_traverse_func fn, void *arg)
{
	struct walk_ctx w = { s, fn, arg, false };
	const struct pile *p = &s->pile;
	int r;

	if (p->nkeys == 0)
		return walk(s, fn, arg, &w.stopped);
	if ((r = walk(s, walk_file, &w, &w.stopped)) < 0)
		return r;
	for (size_t i = 0; i < p->nslots && !w.stopped; i++) {
		const struct pile_op *o = p->slots[i];

		if (o == NULL || o->del)
			continue;
		if (fn(s->tdb, tdata(o->bytes, o->klen), tdata(o->bytes + o->klen, o->dlen), arg))
			w.stopped = true;
	}
	return 0;
}
