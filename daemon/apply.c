/*
 * apply.c — committed entries into the store, and the answers and events
 * that follow from them.
 *
 * Applies go into one tdb transaction that stays open across batches and
 * is committed once per tick (or every STORE_TXN_ENTRIES entries), before
 * a snapshot and on the way out.  A transaction costs 1-1.5 ms here before
 * its first write, at any store size: tdb copies the hash table's heads
 * (STORE_HASH_SIZE, 1 MiB) as it starts.  A learner commits only once a
 * second (APPLY_LEARNER_COMMIT_MS): on a fleet's hosts the transaction was
 * most of what an applied write cost.  Nothing is lost by a crash
 * meanwhile: the store's applied index stays at the last commit
 * and the WAL still holds every entry after it (it is compacted only below
 * a snapshot, which is written after a commit), so the restart applies them
 * again.  Reads inside the transaction see its writes.
 *
 * While a snapshot's writer reads the store's file, the store's commits
 * pile up in memory instead (store.h, store_hold); once it is done, each
 * tick moves a slice of what piled up into the file (apply_drain): about
 * what the tick applied and APPLY_DRAIN_BYTES more, so the pile shrinks
 * and no tick commits all of it at once.  Past raft.snapshot_pile_mb
 * nothing more is applied until the pile is below half of that: entries
 * wait in the log, committed, and clients for their answers.
 *
 * Not here: what a command does to the store (store_apply.c).
 */
#include <errno.h>
#include <inttypes.h>

#include "log.h"
#include "driver.h"
#include "store.h"

#define STORE_TXN_ENTRIES	4096
#define APPLY_LEARNER_COMMIT_MS 1000
/* A voter's tick moves this much of the pile more than it applied (a
 * learner's, whose tick is longer, as much a voter's tick). */
#define APPLY_DRAIN_BYTES (1024 * 1024)

/*
 * The store could not commit for want of space: what the transaction
 * applied is not in it.  Apply nothing more until apply_retry, which has
 * the core hand out again the committed entries after the store's applied
 * index (they are in the log: it is cut only below a snapshot, and a
 * snapshot is taken from what the store committed).
 */
static void
stall(struct node *n)
{
	if (!n->apply_paused)
		log_warning("committing the store ran out of space in %s; applying again from "
			    "%" PRIu64 " once there is room",
		    n->cfg->data_dir, store_applied(n->store));
	n->apply_paused = true;
	n->applied = store_applied(n->store);
	disk_blocked(n, DISK_STORE, node_now_s());
}

/* Commit the open transaction (into the pile while there is one). */
int
apply_flush(struct node *n)
{
	int rc;

	if (!n->store_txn)
		return 0;
	n->store_txn = false;
	rc = store_commit(n->store);
	if (rc == -ENOSPC || rc == -EDQUOT) {
		stall(n);
		return 0;
	}
	if (rc == 0) {
		n->stats.store_commits++;
		if (!store_piling(n->store))
			disk_unblocked(n, DISK_STORE);
	}
	return rc;
}

static uint64_t
pile_bound(const struct node *n)
{
	return (uint64_t)n->cfg->snapshot_pile_mb << 20;
}

/* A slice of the pile into the store's file, once no snapshot's writer reads it. */
static int
apply_drain(struct node *n)
{
	uint64_t piled = store_piled_bytes(n->store), budget, came;
	int rc;

	/* what piled up since the last tick's look */
	came = piled > n->piled_after ? piled - n->piled_after : 0;
	n->piled_after = piled;
	if (piled > n->stats.store_piled_peak)
		n->stats.store_piled_peak = piled;
	if (piled == 0 || n->store_txn || store_held(n->store) || n->apply_paused)
		return 0;
	budget = (uint64_t)APPLY_DRAIN_BYTES * (n->tick_span ? n->tick_span : 1) + came;
	rc = store_drain(n->store, budget);
	if (rc == -ENOSPC || rc == -EDQUOT) {
		/* the pile stays whole: applying waits, the drain is tried again */
		stall(n);
		return 0;
	}
	if (rc < 0)
		return rc;
	n->piled_after = store_piled_bytes(n->store);
	if (rc > 0) {
		/* a slice reached the file: it has room again */
		n->stats.store_commits++;
		n->stats.store_drains++;
		disk_unblocked(n, DISK_STORE);
	}
	return 0;
}

/* Applying waited for the pile to shrink: go on once it is below half its bound. */
static int
pile_resume(struct node *n)
{
	if (!n->pile_paused || store_piled_bytes(n->store) > pile_bound(n) / 2)
		return 0;
	n->pile_paused = false;
	node_schedule(n);
	return raft_reapply(n->raft, n->applied);
}

int
apply_tick(struct node *n, uint64_t now_ms)
{
	int rc;

	if (n->tick_span > 1 && n->store_txn && now_ms - n->store_txn_ms < APPLY_LEARNER_COMMIT_MS)
		return 0;
	if ((rc = apply_flush(n)) < 0 || (rc = apply_drain(n)) < 0)
		return rc;
	grow_maybe(n);
	return pile_resume(n);
}

int
apply_retry(struct node *n)
{
	int rc;

	if (!n->apply_paused || !disk_retry_due(n, DISK_STORE, node_now_s()))
		return 0;
	if ((rc = raft_reapply(n->raft, n->applied)) < 0)
		return rc;
	n->apply_paused = false; /* stays blocked until a commit succeeds */
	node_schedule(n);
	return 0;
}

/* What a TXN does as it applies: its gets go into its answer, its changes
 * to watchers; a DEL_PREFIX's deletes go to watchers likewise. */
struct txn_ctx {
	struct node *n;
	uint64_t index;
	bool notify; /* applied for the first time: tell watchers */
};

static void
txn_cb(void *arg, uint8_t kind, const char *key, size_t klen, const struct store_meta *meta,
    const uint8_t *val, size_t vlen)
{
	struct txn_ctx *t = arg;

	if (kind == STORE_TXN_GET)
		kv_txn_get(t->n, key, klen, meta, val, vlen);
	else if (t->notify && (t->n->watchers != NULL || t->n->pollers != NULL))
		watch_event(t->n, kind == STORE_TXN_SET ? PROTO_EV_PUT : PROTO_EV_DEL, key, klen,
		    t->index, val, vlen);
}

/* A deletion of a prefix: many keys at once, on every node; the journal says so. */
static void
del_prefix_log(const struct raft_entry *e, const struct store_result *res, uint64_t ms)
{
	struct store_cmd c;

	if (store_cmd_decode(e->data, e->len, &c) < 0)
		return;
	if (res->status == STORE_FAILED)
		log_notice_f(LOG_FIELDS(.index = e->index),
		    "entry %" PRIu64 " deleted nothing: %" PRIu64
		    " keys under \"%.*s\" are more than one deletion takes",
		    e->index, res->count, (int)(c.klen > 128 ? 128 : c.klen), c.key);
	else if (res->status == STORE_OK)
		log_notice_f(LOG_FIELDS(.index = e->index),
		    "entry %" PRIu64 " deleted %" PRIu64 " keys under \"%.*s\" in %" PRIu64 " ms",
		    e->index, res->count, (int)(c.klen > 128 ? 128 : c.klen), c.key, ms);
}

static int
apply_one(struct node *n, const struct raft_entry *e)
{
	struct store_result res = { 0 };
	struct txn_ctx t = { n, e->index, e->index > n->told_upto };
	uint64_t started;
	bool del_prefix;
	int rc;

	if (e->type != RAFT_ENTRY_NORMAL) {
		if ((rc = store_set_applied(n->store, e->index, e->term)) < 0)
			return rc;
		if (e->type == RAFT_ENTRY_CONF && e->index > n->told_upto)
			membership_tell_removed(n, e);
		n->told_upto = e->index;
		kv_write_applied(n, e, NULL);
		return 0;
	}
	kv_txn_begin(n, e);
	del_prefix = e->len > 0 && ((const uint8_t *)e->data)[0] == STORE_OP_DEL_PREFIX;
	started = del_prefix ? node_now_ms() : 0;
	rc = store_apply_txn(n->store, e->index, e->term, e->data, e->len, &res, txn_cb, &t);
	if (rc < 0)
		return rc;
	if (del_prefix && !res.duplicate)
		del_prefix_log(e, &res, node_now_ms() - started);
	if (res.status == STORE_BAD_COMMAND)
		log_err_f(LOG_FIELDS(.index = e->index),
		    "entry %" PRIu64 " is not a valid "
		    "command; skipped",
		    e->index);
	tokens_applied(n, e, &res);
	kv_write_applied(n, e, &res);
	if (e->index > n->told_upto) /* not again when applied again */
		watch_notify(n, e, &res);
	n->told_upto = e->index;
	return 0;
}

int
apply_entries(struct node *n, const struct raft_entry *ents, size_t count)
{
	int rc;

	/* paused: the core hands them out again (apply_retry, or once the
	 * leader's snapshot is restored: snapshot.c) */
	if (count == 0 || n->apply_paused || n->pile_paused || n->restore.running)
		return 0;
	if (store_piled_bytes(n->store) > pile_bound(n)) {
		log_warning("the store's pile holds %" PRIu64 " bytes, over snapshot_pile_mb: "
			    "applying waits until the snapshot's writer is done and it drains",
		    store_piled_bytes(n->store));
		n->pile_paused = true;
		return 0;
	}
	if (!n->store_txn) {
		if ((rc = store_begin(n->store)) < 0)
			return rc;
		n->store_txn = true;
		n->store_txn_entries = 0;
		n->store_txn_ms = node_now_ms();
	}
	for (size_t i = 0; i < count; i++) {
		if ((rc = apply_one(n, &ents[i])) < 0) {
			store_cancel(n->store);
			n->store_txn = false;
			return rc;
		}
		n->applied_bytes += ents[i].len;
	}
	n->store_txn_entries += count;
	n->applied = ents[count - 1].index;
	if ((rc = raft_applied(n->raft, n->applied)) < 0)
		return rc;
	if (n->store_txn_entries >= STORE_TXN_ENTRIES && (rc = apply_flush(n)) < 0)
		return rc;
	return 0;
}
