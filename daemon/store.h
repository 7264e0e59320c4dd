/*
 * store.h — the replicated state machine: keys, revisions, the applied
 * index, the membership and the client dedup table, in one tdb file.
 * Snapshot files of it are snap.h's; this module hands snap.c its contents
 * (store_export) and takes new ones from it (store_replace).
 *
 * What it promises
 *   Applying the same committed entries in the same order gives the same
 *   contents on every node, byte for byte (the dedup table and its eviction
 *   included), so snapshots of two nodes at one index are interchangeable.
 *   A (client id, seq) is applied at most once while the client is in the
 *   dedup table (Raft thesis §6.3).
 *
 * What it is not
 *   It knows nothing of Raft, the network, libevent or the snapshot file
 *   format.  It does not decide what is committed: the node applies only
 *   committed entries, in order.
 *
 * Why the tdb is opened with TDB_NOSYNC
 *   The WAL and the latest snapshot are the truth; the tdb is derived state
 *   the node can always rebuild (store_destroy, store_open, restore the
 *   snapshot, re-apply the committed entries above its index).  So the tdb
 *   never fsyncs on the apply path.  Every batch of applies still runs in a
 *   tdb transaction: after a crash of the process (the page cache survives)
 *   tdb's recovery area leaves the file holding either the old batch or the
 *   new one, never half of one, and the applied index stored with it says
 *   which.  After a crash of the machine the pages may have reached the disk
 *   in any order and the file may be torn in ways tdb_check cannot see; so
 *   the store records the kernel's boot id and a clean flag ("m:boot"), made
 *   durable when the store is opened and closed, and a store left unclean by
 *   an earlier boot is refused (-EBADMSG) and must be rebuilt.
 *
 * Records (all integers little-endian; "tdbdump" shows them)
 *   "k:" key     -> u64 revision (the index of the entry that last changed
 *                   it), u64 create revision (of the entry that made it,
 *                   since it last did not exist), u64 version (changes
 *                   since then, 1 for the first), value bytes
 *   "t:" name    -> an HTTP token's record (token.h): access, prefix, hash;
 *                   replicated like keys, never seen by get, list or watch
 *   "c:" 16 hex  -> u64 last seq, u64 revision, u8 status, u64 last used index,
 *                   u64 digest of the request (store_cmd_digest), then, when
 *                   the result has a count (a DEL_PREFIX's, not 0), u64 count
 *                   (store_state.h: 33 bytes, 41 with a count; 25-byte records
 *                   of earlier builds, without a digest, are still read)
 *   "h:" 16 hex  -> the changes of the entries of a block of
 *                   STORE_HISTORY_BLOCK revisions starting at that index
 *                   (hex), or of its rest from that index when a record
 *                   of the block grew past STORE_HISTORY_RECORD bytes: u64
 *                   the first revision it covers, u64 the first of the
 *                   record that continues it (0: none), then each change
 *                   as u64 revision, u8 kind (STORE_EV_*), u16 key length,
 *                   u32 value length, key, value (none for a delete), in
 *                   the order applied
 *   "h:floor"    -> u64 floor (every change after it is in an "h:"
 *                   record), u64 bytes of the "h:" records (History, below)
 *   "m:version"  -> u32 store format version (2; 1 kept only the revision
 *                   of a key, and is refused: the node rebuilds the store
 *                   from its snapshot and log, see store_open)
 *   "m:applied"  -> u64 applied index, u64 its term
 *   "m:members"  -> the membership blob given to it (opaque here)
 *   "m:clients"  -> u64 number of "c:" records
 *   "m:boot"     -> u8 clean, 36 bytes boot id
 *
 * History
 *   For watch --from-rev the store keeps the changes of recent entries
 *   ("h:" records), written in the batch that applies them, replicated in
 *   snapshots like keys: a window of at most store_set_history's revisions
 *   back from the newest entry and at most its bytes, dropped in whole
 *   blocks of STORE_HISTORY_BLOCK revisions, the oldest first (the newest
 *   block always stays).  The block being filled is written when a batch
 *   commits (or an apply outside a batch ends) and when the entries move on
 *   to the next block: a few tdb operations a batch, not three a write.  Members with the same limits keep the same
 *   window.  A store made by an older version, or restored from an older
 *   snapshot, keeps history from the entry it has reached on.
 *
 * Blocking and threads
 *   Every call may block on file I/O (none on the network).  store_open reads
 *   the whole file once (tdb_check); store_export and store_replace walk or
 *   write the whole store.  A struct store is used by one thread at a time.
 *
 * Errors
 *   0 or a negative errno; -EBADMSG always means "damaged or untrustworthy
 *   data" (the tdb, replacement contents or a command), with a message in err.
 */
#ifndef RAFTCONF_STORE_H
#define RAFTCONF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "limits.h"
#include "store_cmd.h"

/* Dedup table bound; past it the least recently used tenth is evicted at once. */
#define STORE_MAX_CLIENTS 10000
/* Largest membership blob the store and its snapshots accept. */
#define STORE_MAX_MEMBERS_BYTES (1024 * 1024)

struct store;

/* ------------------------------------------------------------ open, close */

/*
 * Open the tdb at path, creating it (mode 0600) if it does not exist.  The
 * whole file is checked (tdb_check and every record's format).  A damaged or
 * untrustworthy file gives -EBADMSG and a message: store_destroy it, open
 * again and rebuild from the snapshot and the log.  Never creates over an
 * existing file.
 */
int store_open(const char *path, struct store **out, char *err, size_t errlen);

/*
 * Cancel an open transaction, make the file durable, mark it clean, close.
 * NULL-safe.
 */
void store_close(struct store *s);

/*
 * In a child process right after fork(): read without fcntl locks from now
 * on (the parent holds its own and they are not inherited).  The parent
 * holds the file (store_hold) until the child is done, so that the child
 * reads the store as it was at the fork: snapshot.c writes snapshots
 * this way, off its event loop.
 */
void store_after_fork(struct store *s);

/* ------------------------------------------------------------ growing the file (store_grow.c) */

struct tdbscan_free;

/*
 * In a child process right after fork() and store_after_fork, while the
 * parent holds the file (store_hold) and guards it (store_guard): make the
 * file's free space at least want bytes, growing it in one tdb transaction
 * if it has less, so that the parent's own commits need not grow it on its
 * loop.  *after: the free space (and the file's size) after.  0 or -errno
 * (-ENOSPC, -EFBIG, -EIO: the file is as it was).
 */
int store_grow(struct store *s, uint64_t want, struct tdbscan_free *after);

/*
 * In the parent, around a child that writes the file (store_grow): on, tdb's
 * reads no longer check for a commit in progress, which they would roll
 * back under the child, and the store's walks leave the file's own order
 * (tdbscan) for tdb's.  Off, once the child is gone: the first read rolls
 * back a commit it left half done.  Taken before the fork.  0 or -errno.
 */
int store_guard(struct store *s, bool on);

/*
 * Before the fork: the file's size and its recovery area's offset.  After
 * a child that did not say it finished store_grow (killed, or failed),
 * and after store_guard(false), whose read rolled back a commit it left
 * half done: if the growth had landed, store_grow_undo keeps it (1); else
 * it makes the file what it was at the mark (0): cut back to its size,
 * the recovery area's offset put back.  -EIO (the rollback did not
 * happen), -EBADMSG: it cannot be, and the node must stop (its next start
 * rebuilds the store).
 */
struct store_grow_mark {
	uint64_t size;
	uint32_t recovery;
};
int store_grow_mark(struct store *s, struct store_grow_mark *m);
int store_grow_undo(struct store *s, const struct store_grow_mark *m);

/* ------------------------------------------------------------ holding the file */

/*
 * While the file is held, and after that until what piled up has reached
 * it, every batch commits into memory, not into the file: the pile.  Reads
 * and walks see it as they see the file, and a child forked meanwhile
 * (store_after_fork) sees the store as it was at the fork, the file and
 * its own copy of the pile together.  store_hold: not inside a batch
 * (-EBUSY).  Nothing piled is durable, as nothing the store commits is
 * (TDB_NOSYNC): a crash loses it, and the node applies it again.
 */
int store_hold(struct store *s);
void store_release(struct store *s);
bool store_held(const struct store *s);
/* Held, or something still piled: batches go to the pile. */
bool store_piling(const struct store *s);

/* Bytes the pile takes in memory now, its writes with their keys and values. */
uint64_t store_piled_bytes(const struct store *s);

/*
 * Move the oldest committed batches of the pile into the file, whole
 * batches of about max_bytes (at least one), in one tdb transaction whose
 * applied index is its last batch's.  1 when some moved, 0 when nothing
 * was piled, -EBUSY when held or inside a batch, or a commit's error
 * (-ENOSPC: out of room), the pile as it was.
 */
int store_drain(struct store *s, uint64_t max_bytes);

/* Delete the tdb at path (and a leftover restore file); ENOENT is not an error. */
int store_destroy(const char *path);

/* ------------------------------------------------------------ applying */

/*
 * A batch of applies between store_begin and store_commit is one tdb
 * transaction.  store_cancel throws the batch away.  Apply calls made
 * outside a batch are each their own transaction.  If any call inside a
 * batch fails, store_commit cancels the batch and returns the error.
 * A commit that ran out of space is -ENOSPC: the batch is gone and the
 * file is as before it, so the same applies can be made again later.
 * store_begin twice is -EBUSY.
 */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_cancel(struct store *s);

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND,   /* DEL of a key that does not exist */
	STORE_BAD_COMMAND, /* the entry is not a command this store reads */
	STORE_STALE,	   /* seq below the client's last: superseded, ignored */
	STORE_EXISTS,	   /* TOKEN_PUT of a name that has a token already */
	STORE_FAILED,	   /* SET_IF, DEL_IF: the condition did not hold, nothing
			    * changed; TXN: a compare failed, the else branch ran;
			    * DEL_PREFIX: more keys under the prefix than one
			    * entry deletes (RAFTCONF_MAX_DEL_PREFIX_KEYS, _BYTES),
			    * nothing changed */
	STORE_REUSED,	   /* the client's seq named another request, applied
			    * already: this one is not (never recorded) */
};

struct store_result {
	enum store_status status;
	/*
	 * SET: the key's new revision (the entry's index).  DEL: the index of
	 * the entry that deleted it; 0 when not found.  SET_IF and DEL_IF
	 * that failed: the key's revision then (0: it did not exist).  TXN:
	 * the entry's index, whichever branch ran.  DEL_PREFIX: the entry's
	 * index (0 when FAILED).
	 */
	uint64_t revision;
	/* DEL_PREFIX: the keys it deleted; FAILED: the keys under the prefix. */
	uint64_t count;
	bool duplicate; /* already applied: the recorded result */
};

/* What the store keeps about a key besides its value. */
struct store_meta {
	uint64_t revision;	  /* the index of the entry that last changed it */
	uint64_t create_revision; /* the index of the entry that created it */
	uint64_t version;	  /* changes since it was created; 1 for the first */
};

/*
 * Apply the command in the committed entry (index, term).  index must be
 * above the applied index (-EINVAL otherwise: the node replayed something
 * twice).  Returns 0 when the entry was consumed — the applied index is then
 * index, and *res says what happened; a command that does not decode is
 * consumed with STORE_BAD_COMMAND and changes nothing else, deterministically
 * on every node.  A (client id, seq) already applied returns its recorded
 * result with duplicate set and changes nothing but the applied index.  A
 * negative return is a tdb failure; the node should stop and rebuild.
 */
int store_apply(struct store *s, uint64_t index, uint64_t term, const void *cmd, size_t len,
    struct store_result *res);

/*
 * store_apply, and for a TXN, cb is called for each operation of the
 * branch that ran, in order, as it happens: kind STORE_TXN_GET with what
 * the key held at that point of the transaction (meta NULL: it did not
 * exist), STORE_TXN_SET with the key's new meta and value, STORE_TXN_DEL
 * (meta NULL) only when a key was there to delete.  For a DEL_PREFIX,
 * STORE_TXN_DEL for each key it deleted, in key order (the order its
 * changes take in the history).  Not for a duplicate, whose operations
 * are not run again.  The pointers are valid during the call only.
 *
 * A DEL_PREFIX finds the keys under its prefix with a walk of the whole
 * store (tdb keeps no order): its cost grows with the store, not only
 * with the keys it deletes.
 */
typedef void (*store_txn_cb)(void *arg, uint8_t kind, const char *key, size_t klen,
    const struct store_meta *meta, const uint8_t *val, size_t vlen);
int store_apply_txn(struct store *s, uint64_t index, uint64_t term, const void *cmd, size_t len,
    struct store_result *res, store_txn_cb cb, void *arg);

/* Advance the applied index for an entry that is not a command (no-op, membership). */
int store_set_applied(struct store *s, uint64_t index, uint64_t term);

uint64_t store_applied(struct store *s);
uint64_t store_applied_term(struct store *s);

/* The membership blob, opaque here; set it in the batch that applies its entry. */
int store_set_members(struct store *s, const void *blob, size_t len);
/* *blob is malloc'd, owned by the caller (non-NULL even if len is 0); -ENOENT if never set. */
int store_get_members(struct store *s, uint8_t **blob, size_t *len);

/* ------------------------------------------------------------ reading */

/*
 * The value of key: *value is malloc'd and owned by the caller (non-NULL even
 * for an empty value); value and revision may be NULL.  -ENOENT if absent.
 */
int store_get(struct store *s, const char *key, size_t klen, uint8_t **value, size_t *len,
    uint64_t *revision);

/* store_get with the key's revisions and version. */
int store_get_meta(struct store *s, const char *key, size_t klen, uint8_t **value, size_t *len,
    struct store_meta *meta);

typedef int (*store_list_cb)(
    void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen, uint64_t rev);

/*
 * Call cb for every key that starts with prefix (plen 0: all keys), in
 * bytewise key order.  key is NUL-terminated for convenience; the pointers
 * are valid only during the call.  If cb returns non-zero the listing stops
 * and store_list returns that value.  Memory is O(keys matched), not
 * O(values): keys are collected and sorted, values fetched one at a time.
 */
int store_list(struct store *s, const char *prefix, size_t plen, store_list_cb cb, void *arg);

/* store_list with each key's revisions and version. */
typedef int (*store_list_meta_cb)(void *arg, const char *key, size_t klen, const uint8_t *val,
    size_t vlen, const struct store_meta *meta);
int store_list_meta(
    struct store *s, const char *prefix, size_t plen, store_list_meta_cb cb, void *arg);

/*
 * store_list_meta of at most limit keys (0: all), the first in key order
 * (memory O(limit) then); keys_only: val is NULL and vlen 0, and no value
 * is read.
 */
int store_list_opts(struct store *s, const char *prefix, size_t plen, uint64_t limit,
    bool keys_only, store_list_meta_cb cb, void *arg);

/* The number of keys that start with prefix (plen 0: all), into *count: no
 * key is kept, no value read.  0 or -errno. */
int store_count(struct store *s, const char *prefix, size_t plen, uint64_t *count);

struct store_client {
	uint64_t last_seq;
	uint64_t revision;
	enum store_status status;
	uint64_t last_used; /* index of the last entry that used it */
	uint64_t digest;    /* store_cmd_digest of that request; 0: not known */
	uint64_t count;	    /* the result's count (store_result); 0 for most */
};

/* The dedup record of a client; -ENOENT if it has none. */
int store_get_client(struct store *s, uint64_t client_id, struct store_client *out);
/* Number of clients in the dedup table. */
uint64_t store_clients(struct store *s);

/*
 * The size in bytes of the store's tdb file on disk as stat(2) gives it
 * (st_size, what ls -l shows): its records, its free space, its hash table
 * and its transaction recovery area; not the WAL, not the snapshots.
 * 0 or -errno.  An fstat of the open file, nothing more.
 */
int store_file_bytes(struct store *s, uint64_t *bytes);

/*
 * Call cb for every HTTP token ("t:" record), in no particular order; name
 * and rec are valid only during the call.  A nonzero return of cb stops
 * the walk and is returned; -EBADMSG for a record that does not decode.
 */
struct token_record;
typedef int (*store_token_cb)(
    void *arg, const char *name, size_t nlen, const struct token_record *rec);
int store_tokens(struct store *s, store_token_cb cb, void *arg);

/* ------------------------------------------------------------ history */

enum { STORE_EV_PUT = 1, STORE_EV_DEL = 2 };

/* Revisions a history block holds (a power of two). */
#define STORE_HISTORY_BLOCK 64
/* A block's record is continued in another past this many bytes. */
#define STORE_HISTORY_RECORD (1024 * 1024)
/*
 * The largest history record: one entry's changes alone (an entry is at
 * most a WAL record, 16 MiB, and each of its at most RAFTCONF_MAX_TXN_OPS
 * changes takes a few bytes more than its operation did), with the header.
 */
#define STORE_HISTORY_RECORD_MAX (17 * 1024 * 1024)

/* The window: at most revisions back from the newest entry, at most bytes. */
void store_set_history(struct store *s, uint64_t revisions, uint64_t bytes);

/* Every change after this revision is kept (0: every change ever). */
uint64_t store_history_floor(struct store *s);
/* Bytes the window holds now. */
uint64_t store_history_bytes(struct store *s);

/* One change: key, and the value it was set to (vlen 0 for a delete). */
struct store_event {
	uint8_t kind; /* STORE_EV_* */
	const char *key;
	size_t klen;
	const uint8_t *val;
	size_t vlen;
};
/* The changes of one revision, in order; store_events_next: 1, 0 at the end, -EBADMSG. */
struct store_events {
	const uint8_t *p;
	size_t left;
};
int store_events_next(struct store_events *it, struct store_event *ev);

/*
 * Call cb, in order, for every revision after `after` up to `upto` (at
 * most the applied index; UINT64_MAX: that) that changed keys, with its
 * changes (valid during the call only).  A nonzero return of cb stops the
 * walk and is returned.  -ERANGE when changes after `after` are no longer
 * all kept (after < store_history_floor).  It looks up each revision of the
 * range: callers on an event loop bound the range.
 */
typedef int (*store_history_cb)(void *arg, uint64_t revision, struct store_events *events);
int store_history(struct store *s, uint64_t after, uint64_t upto, store_history_cb cb, void *arg);

/* ------------------------------------------------------------ whole contents */

/*
 * For snapshots (snap.c): the replicated contents of a store are its "k:",
 * "t:", "c:" and "h:" records, verbatim; the "m:" records follow from them, the
 * applied entry and the membership.  Two stores that applied the same
 * entries export the same records.  (So a snapshot file holds the tokens'
 * hashes, never their secrets; a backup for people should leave "t:" out.)
 */
struct store_record {
	const uint8_t *key;
	size_t klen;
	const uint8_t *val;
	size_t vlen;
};

/* Could the store have written rec?  Only "k:", "t:", "c:" and "h:" records pass. */
bool store_record_ok(const struct store_record *rec);

/*
 * Call cb for every "k:", "t:", "c:" and "h:" record, in the tdb's order, under one read
 * lock; the pointers are valid during the call only.  Streams: memory does
 * not grow with the store.  A nonzero return of cb stops the walk and is
 * returned.  Not inside a batch (-EBUSY).
 */
typedef int (*store_export_cb)(void *arg, const struct store_record *rec);
int store_export(struct store *s, store_export_cb cb, void *arg);

/*
 * Where store_replace takes records from: 1 with *rec filled (valid until
 * the next call), 0 when there are no more (and everything read checked
 * out), or a negative errno with err filled.
 */
typedef int (*store_import_next)(void *arg, struct store_record *rec, char *err, size_t errlen);

/*
 * Replace the whole store with the records next() gives, the applied index
 * and term (index, term) and the membership blob.  Built in a new tdb
 * beside the store ("<store>.restore"), renamed over the store only once
 * next() has returned 0.  A record that is not a "k:", "t:", "c:" or "h:" record the
 * store could have written, or a key given twice, is -EBADMSG; any error of
 * next() is returned as it is.  On failure the store is untouched.  Not
 * inside a batch (-EBUSY).  If reopening fails after the rename (a failing
 * disk) the store answers -EIO from then on and must be closed.
 */
int store_replace(struct store *s, uint64_t index, uint64_t term, const void *members, size_t mlen,
    store_import_next next, void *arg, char *err, size_t errlen);

/*
 * store_replace in two steps, for a node that builds the new contents on a
 * thread while its store goes on serving the old ones (snapshot.c).
 * store_replace_build fills and syncs "<path>.restore" beside the store's
 * file at path; it touches no struct store, so any thread may run it while
 * another uses the store.  store_replace_swap, on the store's own thread,
 * renames it over the store's file and switches to it (a rename, a
 * directory sync and an open: quick); the "t:" records the build saw come
 * with it, so that store_tokens need not walk the new store.  Errors as
 * store_replace's; swap consumes the build whatever it returns, and
 * store_built_free throws away one never swapped in, with its file.
 */
struct store_built;
int store_replace_build(const char *path, uint64_t index, uint64_t term, const void *members,
    size_t mlen, store_import_next next, void *arg, struct store_built **out, char *err,
    size_t errlen);
int store_replace_swap(struct store *s, struct store_built *b, char *err, size_t errlen);
void store_built_free(struct store_built *b);

/* The path of the store's file, as store_open was given it. */
const char *store_path(const struct store *s);

#endif
