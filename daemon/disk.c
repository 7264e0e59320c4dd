/*
 * disk.c — the data_dir's free space, and the node's refusal of writes
 * while it is short.
 *
 * A full disk is not a crash.  The node refuses client writes (PROTO_E_NOSPACE:
 * raftconfctl exits 1, HTTP 507) while the data_dir has less than
 * DISK_RESERVE_BYTES free, or while the WAL or the store could not write
 * for want of space; it goes on serving reads and stays in the cluster.
 * The reserve is the room the node keeps to go on taking the leader's
 * entries (the WAL's next segments, a store commit) after it refuses its
 * own clients.  A WAL or store that ran out of space tries again once a
 * second (persist.c, apply.c, through node.c's tick) and nothing of what it
 * held is lost: the WAL keeps its buffer, the store applies the committed
 * entries again.
 *
 * An fdatasync that fails, with ENOSPC or anything else, is not this: the
 * kernel may have dropped the pages, so the node stops (fsyncgate).
 *
 * Not here: what is retried (persist.c, apply.c), the refusal (kv.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "driver.h"
#include "log.h"

static void
fmt_bytes(char *buf, size_t len, uint64_t b)
{
	if (b >= 10ull << 20)
		snprintf(buf, len, "%" PRIu64 " MiB", b >> 20);
	else
		snprintf(buf, len, "%" PRIu64 " KiB", b >> 10);
}

/* Recompute full and why; say so when the node starts or stops refusing. */
static void
update(struct node *n)
{
	struct disk_state *d = &n->disk;
	bool full = d->low || d->wal_blocked || d->store_blocked;
	char free_s[32], res_s[32];

	fmt_bytes(free_s, sizeof(free_s), d->free_bytes);
	fmt_bytes(res_s, sizeof(res_s), DISK_RESERVE_BYTES);
	if (d->wal_blocked)
		snprintf(d->why, sizeof(d->why), "the WAL cannot write: no space left on device");
	else if (d->store_blocked)
		snprintf(
		    d->why, sizeof(d->why), "the store cannot commit: no space left on device");
	else if (d->low)
		snprintf(d->why, sizeof(d->why), "%s free, under the %s reserve", free_s, res_s);
	if (full && !d->full)
		log_warning("disk full in %s: %s; refusing writes until space is freed "
			    "(reads go on)",
		    n->cfg->data_dir, d->why);
	else if (!full && d->full)
		log_notice(
		    "space in %s again (%s free); accepting writes", n->cfg->data_dir, free_s);
	if (!full)
		d->why[0] = '\0';
	d->full = full;
}

void
disk_check(struct node *n, double now)
{
	struct disk_state *d = &n->disk;
	struct statvfs sv;

	if (now < d->next_check)
		return;
	d->next_check = now + DISK_CHECK_S;
	if (statvfs(n->cfg->data_dir, &sv) < 0)
		return; /* the disk's own errors show where it is written */
	d->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	d->low = d->free_bytes < DISK_RESERVE_BYTES;
	update(n);
}

void
disk_blocked(struct node *n, enum disk_part part, double now)
{
	struct disk_state *d = &n->disk;

	if (part == DISK_WAL)
		d->wal_blocked = true;
	else
		d->store_blocked = true;
	d->retry_at = now + DISK_CHECK_S;
	update(n);
}

void
disk_unblocked(struct node *n, enum disk_part part)
{
	struct disk_state *d = &n->disk;
	bool was = part == DISK_WAL ? d->wal_blocked : d->store_blocked;

	if (!was)
		return;
	if (part == DISK_WAL)
		d->wal_blocked = false;
	else
		d->store_blocked = false;
	update(n);
}

bool
disk_retry_due(const struct node *n, enum disk_part part, double now)
{
	const struct disk_state *d = &n->disk;
	bool blocked = part == DISK_WAL ? d->wal_blocked : d->store_blocked;

	return blocked && now >= d->retry_at;
}
