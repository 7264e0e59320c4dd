/*
 * store_state.h — the inside of a struct store, shared by the store's
 * files: store.c (the file: open, check, close, meta, batches),
 * store_apply.c (applying commands), store_dedup.c (the dedup table),
 * store_read.c (get, list, members, tokens), store_history.c (the changes
 * kept for watch), store_image.c (export and replace) and store_pile.c
 * (every record, in the file or piled in memory in front of it).  Not for
 * anyone else: the contract is store.h.
 */
#ifndef RAFTCONF_STORE_STATE_H
#define RAFTCONF_STORE_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <tdb.h>

#include "bytes.h"
#include "store.h"

#define STORE_FORMAT 2
/* A "k:" record's bytes before the value: revision, create revision, version. */
#define KV_HEAD 24
/*
 * Prime; 1 MiB of buckets in a new store file (an existing file keeps the
 * size it was made with; a store restored from a snapshot is new).  Both
 * ways cost: with 32749, a million keys made chains of ~30 records, walked
 * on every read and write; with 1048573 (4 MiB), every transaction (one a
 * tick) began by copying the whole table (tdb keeps a copy of the heads):
 * 1.2-1.7 ms, and as much again to commit, at any store size.  At 262139 a
 * million keys make chains of ~4 (a fetch ~1-2 us, as with 1048573) and a
 * transaction of 20 writes costs 0.5 ms in a small store instead of 2-2.5
 * (BENCHMARKS.md, session 10).
 */
#define STORE_HASH_SIZE 262139
#define BOOT_ID_LEN	36
/*
 * A dedup record: seq, revision, status, last used, then the digest of the
 * request that seq named (store_cmd_digest), so that a retry naming the
 * same seq for another request is told apart.  Records written before the
 * digest (CLIENT_BYTES_V1) are read as having none: any retry matches.
 * A result with a count (a DEL_PREFIX's, when not 0) has it after the
 * digest (CLIENT_BYTES_COUNT), so that a retry gets it again; the records
 * of other writes stay CLIENT_BYTES.
 */
#define CLIENT_BYTES	    33
#define CLIENT_BYTES_V1	    25
#define CLIENT_BYTES_COUNT  41
#define CLIENT_KEY_LEN	    18 /* "c:" + 16 hex */
#define CLIENTS_AFTER_EVICT (STORE_MAX_CLIENTS - STORE_MAX_CLIENTS / 10)

/* store_pile.c: what piled up in memory in front of the file. */
struct pile_op;
struct pile {
	struct pile_op **slots; /* the newest write of each key; open addressing */
	size_t nslots, nkeys;
	struct pile_op *head, *tail; /* every write, the oldest first */
	struct pile_op *sealed;	     /* the last write of a committed batch; NULL: none */
	uint64_t batch;		     /* the open batch's number */
	uint64_t bytes, nops;
};

/* The record a child makes and deletes to grow the file, and whose chain's
 * lock the parent holds meanwhile (store_grow.c). */
#define STORE_GROW_KEY "m:grow"

/* The guard's lock let go, without the read that follows it in the parent:
 * a child forked while it was held does this first (store_grow.c). */
void store_guard_drop(struct store *s);

struct store {
	char *path;
	struct tdb_context *tdb;
	bool in_txn;   /* inside the caller's store_begin */
	int txn_err;   /* first failure inside that batch */
	bool txn_pile; /* the batch open (the caller's or our own) writes to the pile */
	bool held;     /* the file is left alone: store_hold */
	bool guarded;  /* a child writes the file: store_guard (store_grow.c) */
	struct pile pile;
	uint64_t applied, applied_term;
	uint64_t nclients;
	char tdbmsg[256]; /* the last error tdb logged */
	bool nospace;	  /* tdb logged "No space left on device" */
	/* History (store_history.c): every change after hist_floor is kept. */
	uint64_t hist_floor, hist_bytes;
	uint64_t hist_max_revs, hist_max_bytes;
	uint64_t hist_rev;     /* the entry applying now */
	uint64_t hist_block;   /* the block in hist_buf; STORE_NO_BLOCK: none */
	uint64_t hist_key_rev; /* hist_buf is "h:" this: the block's last record */
	uint8_t *hist_buf;     /* that record, maybe ahead of the tdb's */
	size_t hist_entry;     /* where the entry applying now began in it */
	size_t hist_len, hist_cap;
	size_t hist_stored; /* the size of its record in the tdb (0: none) */
	bool hist_dirty;    /* hist_buf differs from it */
	/* The "t:" records the check at open went past, packed as [u32 key
	 * length][key][u32 data length][data]: store_tokens() reads them
	 * instead of every record, until anything is written. */
	uint8_t *open_tokens;
	size_t open_tokens_len, open_tokens_cap;
	bool open_tokens_valid;
};

/* Shared by store.c and store_image.c (not part of store.h's contract). */
struct tdb_context *store_open_tdb(struct store *s, const char *path, int open_flags);
/*
 * The node's tdb takes no fcntl lock from when it is open and checked: no
 * other process writes the file but a grower, for which the guard takes a
 * real one (store_guard), and the data dir's lock keeps other nodes out.
 * Outside a transaction every fetch took a chain lock and let it go (two
 * fcntl calls): at every read of a client, and at every write applied
 * while the file is held for a snapshot's writer.
 */
void store_unlocked(struct store *s);
int store_write_boot(struct tdb_context *tdb, bool clean);
int store_load_meta(struct store *s);
char *store_path_with(const char *path, const char *suffix);
bool store_record_bytes_ok(TDB_DATA key, TDB_DATA data);
void store_forget_open_tokens(struct store *s);

/*
 * store.c, for the files that write (store_apply.c, store_dedup.c).  Every
 * write runs between store_write_begin, which joins the caller's batch
 * (store_begin) or starts a tdb transaction of its own (*own), and
 * store_write_end, which commits or cancels its own, or poisons the
 * caller's batch with a failure r; it returns r, or the commit's error.
 * store_put stores one record; store_put_u64 one u64 meta record;
 * store_put_applied "m:applied", and the cached applied index with it.
 * store_kv_ok: a "k:" record's data is well formed; store_hex16: 16
 * lowercase hex digits, into *out (may be NULL).
 */
int store_write_begin(struct store *s, bool *own);
int store_write_end(struct store *s, bool own, int r);
int store_put(struct store *s, TDB_DATA key, TDB_DATA data);
int store_put_u64(struct store *s, const char *name, uint64_t v);
int store_put_applied(struct store *s, uint64_t index, uint64_t term);
bool store_kv_ok(TDB_DATA data);
bool store_hex16(const uint8_t *p, uint64_t *out);

/* store_dedup.c, for store_apply.c: write a client's record after its
 * request applied; a client not known before is counted, and the least
 * recently used are evicted past STORE_MAX_CLIENTS. */
int store_client_record(struct store *s, uint64_t id, const struct store_client *c, bool known);
/* store_read.c: keep a "t:" record the check at open goes past; false: out of memory. */
bool store_keep_token(struct store *s, TDB_DATA key, TDB_DATA data);

/*
 * The "k:" keys under a prefix, for store_read.c's listings and
 * store_apply.c's DEL_PREFIX: every one counted (matched, and bytes of their names without
 * "k:"); with keep, their records' names ("k:" key, NUL-terminated) kept
 * in v, sorted: all, or the `limit` first (0: all), or none once more than
 * max_keys keys or max_bytes bytes matched (0: no such bound).  One
 * traverse, no lock taken: the caller holds what it needs.  0 or -errno
 * (then nothing is kept); store_scan_free frees what is kept.
 */
struct store_key {
	char *key;
	size_t len; /* without the NUL */
};
struct store_scan {
	const char *prefix;
	size_t plen;
	bool keep;
	uint64_t limit, max_keys, max_bytes;
	uint64_t matched, bytes;
	struct store_key *v;
	size_t n, cap;
	int err;
};
int store_scan_keys(struct store *s, struct store_scan *sc);
void store_scan_free(struct store_scan *sc);

/*
 * store_pile.c, for every file of the store: records, in the pile first
 * (store_piling), then the file.  sdb_fetch: 0 with a malloc'd copy (its
 * dptr never NULL), -ENOENT, or -errno.  sdb_parse: 0 with the parser's
 * return in *ret, -ENOENT, or -errno.  sdb_delete: -ENOENT when there was
 * none.  sdb_traverse: every record once, the file's not written since,
 * then the piled ones; fn's nonzero return stops it (0 then); fn must not
 * write.  Writes go where the open batch does (txn_pile).
 * store_pile_seal, store_pile_cancel end the open batch's writes;
 * store_txn_finish (store.c) commits the tdb transaction open, or cancels
 * it if r < 0, and says why a commit failed (-ENOSPC: out of room).
 */
int sdb_fetch(struct store *s, TDB_DATA key, TDB_DATA *out);
int sdb_parse(
    struct store *s, TDB_DATA key, int (*parser)(TDB_DATA, TDB_DATA, void *), void *arg, int *ret);
bool sdb_exists(struct store *s, TDB_DATA key);
int sdb_store(struct store *s, TDB_DATA key, TDB_DATA data);
int sdb_storev(struct store *s, TDB_DATA key, const TDB_DATA *parts, int nparts);
int sdb_delete(struct store *s, TDB_DATA key);
int sdb_traverse(struct store *s, tdb_traverse_func fn, void *arg);
void store_pile_seal(struct store *s);
void store_pile_cancel(struct store *s);
void store_pile_free(struct store *s);
int store_txn_finish(struct store *s, int r);

/* No history block held in memory. */
#define STORE_NO_BLOCK UINT64_MAX

/* store_history.c, for store_apply.c and store.c: each entry begins (its
 * block comes into memory) and adds its changes (store_apply.c); a commit
 * (store_hist_flush, store.c) writes the block and trims the window;
 * store_hist_load goes back to what was committed. */
int store_hist_load(struct store *s);
int store_hist_begin(struct store *s, uint64_t revision);
int store_hist_add(
    struct store *s, uint8_t kind, const char *key, size_t klen, const uint8_t *val, size_t vlen);
int store_hist_end(struct store *s);
int store_hist_flush(struct store *s);
void store_hist_free(struct store *s);
bool store_hist_record_ok(TDB_DATA key, TDB_DATA data);

/* A record's key: its namespace letter ('k' keys, 't' tokens), ':', name. */
static inline void
store_ns_key(char *buf, char ns, const char *name, size_t len)
{
	buf[0] = ns;
	buf[1] = ':';
	memcpy(buf + 2, name, len);
}

/* A "k:" record's meta from its first KV_HEAD bytes. */
static inline void
store_kv_meta(const uint8_t *p, struct store_meta *m)
{
	m->revision = get_le64(p);
	m->create_revision = get_le64(p + 8);
	m->version = get_le64(p + 16);
}

#endif
