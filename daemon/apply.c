/*
 * apply.c — committed entries into the store, and the answers and events
 * that follow from them.
 *
 * Applies go into one tdb transaction that stays open across batches and
 * is committed once per tick (or every STORE_TXN_ENTRIES entries), before
 * a snapshot and on the way out: a transaction costs ~45 us to start and
 * commit here, as much as the rest of a lone write's CPU.  Nothing is lost
 * by a crash meanwhile: the store's applied index stays at the last commit
 * and the WAL still holds every entry after it (it is compacted only below
 * a snapshot, which is written after a commit), so the restart applies them
 * again.  Reads inside the transaction see its writes.
 *
 * Not here: what a command does to the store (store.c).
 */
#include <inttypes.h>

#include "log.h"
#include "driver.h"
#include "store.h"

#define STORE_TXN_ENTRIES 4096

/* Commit the open transaction, unless a snapshot writer reads the file. */
int
apply_flush(struct node *n)
{
	if (!n->store_txn || n->snap.pid)
		return 0;
	n->store_txn = false;
	return store_commit(n->store);
}

static int
apply_one(struct node *n, const struct raft_entry *e)
{
	struct store_result res = { 0 };
	int rc;

	if (e->type != RAFT_ENTRY_NORMAL) {
		if ((rc = store_set_applied(n->store, e->index, e->term)) < 0)
			return rc;
		if (e->type == RAFT_ENTRY_CONF)
			membership_tell_removed(n, e);
		kv_write_applied(n, e, NULL);
		return 0;
	}
	if ((rc = store_apply(n->store, e->index, e->term, e->data, e->len, &res)) < 0)
		return rc;
	if (res.status == STORE_BAD_COMMAND)
		log_err_f(LOG_FIELDS(.index = e->index),
		    "entry %" PRIu64 " is not a valid "
		    "command; skipped",
		    e->index);
	kv_write_applied(n, e, &res);
	watch_notify(n, e, &res);
	return 0;
}

int
apply_entries(struct node *n, const struct raft_entry *ents, size_t count)
{
	int rc;

	if (count == 0)
		return 0;
	if (!n->store_txn) {
		if ((rc = store_begin(n->store)) < 0)
			return rc;
		n->store_txn = true;
		n->store_txn_entries = 0;
	}
	for (size_t i = 0; i < count; i++)
		if ((rc = apply_one(n, &ents[i])) < 0) {
			store_cancel(n->store);
			n->store_txn = false;
			return rc;
		}
	n->store_txn_entries += count;
	if (n->store_txn_entries >= STORE_TXN_ENTRIES && (rc = apply_flush(n)) < 0)
		return rc;
	n->applied = ents[count - 1].index;
	return raft_applied(n->raft, n->applied);
}
