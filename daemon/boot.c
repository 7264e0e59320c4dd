/*
 * boot.c — a node's data_dir at start: take its lock, open the WAL and the
 * store, reconcile them with the newest snapshot, and make the Raft core
 * from what they hold.
 *
 * Not here: replaying the WAL's files (wal_replay.c), reading a snapshot file
 * (snap.c), the consensus state (raft.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "log.h"
#include "driver.h"
#include "snap.h"
#include "store.h"
#include "wal.h"

/*
 * A raftconfd killed while its snapshot writer runs leaves the lock held
 * by that child (it shares the descriptor, and must: it writes in snap/)
 * until the child dies of the parent-death SIGKILL, which waits for a
 * sync in progress.  A node restarted at once waits for it, as long as the
 * pid in the lock file names no process, at most LOCK_WAIT_MS.
 */
#define LOCK_WAIT_MS 30000
#define LOCK_POLL_MS 20

/* The pid the lock file holds, as text ("" when none). */
static void
lock_holder(int fd, char *pid, size_t len)
{
	ssize_t got = pread(fd, pid, len - 1, 0);

	pid[got > 0 ? got : 0] = '\0';
	pid[strcspn(pid, "\n")] = '\0';
}

/* pid (as the lock file says it) is a number and no process has it. */
static bool
holder_gone(const char *pid)
{
	char *end;
	long p;

	errno = 0;
	p = strtol(pid, &end, 10);
	if (errno != 0 || end == pid || *end != '\0' || p <= 0 || p > INT_MAX)
		return false;
	return kill((pid_t)p, 0) < 0 && errno == ESRCH;
}

static int
lock_data_dir(struct node *n, char *err, size_t errlen)
{
	const struct timespec pause = { .tv_nsec = LOCK_POLL_MS * 1000000L };
	char path[RAFTCONF_MAX_PATH + 16], pid[32] = "";
	uint64_t t0 = 0, waited = 0;
	ssize_t len;

	snprintf(path, sizeof(path), "%s/lock", n->cfg->data_dir);
	n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (n->lock_fd < 0) {
		seterr(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	while (flock(n->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		bool gone;

		lock_holder(n->lock_fd, pid, sizeof(pid));
		gone = e == EWOULDBLOCK && holder_gone(pid);
		if (gone && waited < LOCK_WAIT_MS) {
			if (t0 == 0) {
				t0 = node_now_ms();
				log_notice("data_dir %s: the raftconfd that locked it (pid %s) is "
					   "gone, but a process it started still holds the lock; "
					   "waiting up to %d s for it to exit",
				    n->cfg->data_dir, pid, LOCK_WAIT_MS / 1000);
			}
			nanosleep(&pause, NULL);
			waited = node_now_ms() - t0;
			continue;
		}
		if (gone)
			seterr(err, errlen,
			    "data_dir %s is in use: the raftconfd that locked it (pid %s) is "
			    "gone, but a process it started still holds the lock after %d s",
			    n->cfg->data_dir, pid, LOCK_WAIT_MS / 1000);
		else
			seterr(err, errlen, "data_dir %s is in use by another raftconfd (pid %s)",
			    n->cfg->data_dir, *pid ? pid : "unknown");
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	if (t0)
		log_notice("data_dir %s: the lock is free after %" PRIu64 " ms", n->cfg->data_dir,
		    node_now_ms() - t0);
	len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(n->lock_fd, 0) < 0 || pwrite(n->lock_fd, pid, len, 0) != len)
		log_warning("cannot write the pid into %s: %s", path, strerror(errno));
	return 0;
}

int
boot_make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Open the store; with fresh, or when it is damaged, start it empty: it is
 * derived state, rebuilt by applying the log again.
 */
static int
reopen_store(struct node *n, bool fresh, char *err, size_t errlen)
{
	char path[RAFTCONF_MAX_PATH + 32], serr[256];
	int rc;

	snprintf(path, sizeof(path), "%s/store.tdb", n->cfg->data_dir);
	if (n->store) {
		store_close(n->store);
		n->store = NULL;
	}
	if (fresh)
		store_destroy(path);
	rc = store_open(path, &n->store, serr, sizeof(serr));
	if (rc == -EBADMSG) {
		log_warning("store %s is damaged (%s); rebuilding it from the WAL", path, serr);
		store_destroy(path);
		rc = store_open(path, &n->store, serr, sizeof(serr));
	}
	if (rc < 0)
		seterr(err, errlen, "%s", serr);
	else
		store_set_history(n->store, n->cfg->history_revisions, n->cfg->history_bytes);
	return rc;
}

static int
open_storage(struct node *n, struct wal_recovered *rec, char *err, size_t errlen)
{
	char path[RAFTCONF_MAX_PATH + 32], serr[256];
	int rc;

	snprintf(path, sizeof(path), "%s/wal", n->cfg->data_dir);
	if ((rc = boot_make_dir(path, err, errlen)) < 0)
		return rc;
	rc = wal_open(path, &n->wal, rec, serr, sizeof(serr));
	if (rc < 0) {
		seterr(err, errlen, "%s", serr);
		return rc;
	}
	if (rec->truncated_tail)
		log_warning("%s", rec->message);
	wal_set_segment_bytes(n->wal, NODE_WAL_SEGMENT_BYTES);

	return reopen_store(n, false, err, errlen);
}

/*
 * The newest snapshot was damaged and an older one is all we have (or none
 * at all), while the WAL's log starts after the damaged one: the log no
 * longer reaches a snapshot.  Keep the hard state (term and vote are what
 * make this node's votes safe), put the WAL aside for inspection, and start
 * a new one at the snapshot we have; the store is rebuilt from it, and the
 * leader sends the rest.  The entries lost may be ones this node
 * acknowledged: the new WAL records the index the old log reached
 * (wal_set_catch_up), and the core neither votes nor campaigns until its
 * log is back there (raft_init.catch_up_to).
 */
static int
fallback_wal(struct node *n, struct wal_recovered *rec, const struct snap_info *snap,
    bool have_snap, char *err, size_t errlen)
{
	char dir[RAFTCONF_MAX_PATH + 32], aside[RAFTCONF_MAX_PATH + 64];
	struct wal_hardstate hs = rec->hs;
	uint64_t base = have_snap ? snap->index : 0;
	uint64_t lost;
	int rc;

	if (rec->snap_index <= base)
		return 0;
	/* an earlier fallback may still be waiting for more than this log */
	lost = rec->nentries ? rec->entries[rec->nentries - 1].index : rec->snap_index;
	if (rec->catch_up_to > lost)
		lost = rec->catch_up_to;
	snprintf(dir, sizeof(dir), "%s/wal", n->cfg->data_dir);
	snprintf(aside, sizeof(aside), "%s/wal.unusable-%" PRIu64, n->cfg->data_dir,
	    (uint64_t)time(NULL));
	log_warning("the WAL starts after snapshot %" PRIu64 ", which is damaged; starting "
		    "from %s%s with the same term and vote, the old WAL kept as %s; the leader "
		    "will send the rest",
	    rec->snap_index, have_snap ? "snapshot " : "an empty log", have_snap ? snap->path : "",
	    aside);
	wal_close(n->wal);
	n->wal = NULL;
	wal_recovered_free(rec);
	memset(rec, 0, sizeof(*rec));
	if (rename(dir, aside) < 0 || mkdir(dir, 0700) < 0) {
		seterr(err, errlen, "cannot put %s aside: %s", dir, strerror(errno));
		return -errno;
	}
	hs.commit = base;
	if ((rc = wal_open(dir, &n->wal, rec, err, errlen)) < 0 ||
	    (rc = wal_set_hardstate(n->wal, &hs)) < 0 ||
	    (have_snap && (rc = wal_snapshot(n->wal, snap->index, snap->term)) < 0) ||
	    (rc = wal_set_catch_up(n->wal, lost)) < 0 || (rc = wal_sync(n->wal)) < 0) {
		if (rc != 0 && err[0] == '\0')
			seterr(err, errlen, "cannot start a new WAL: %s", strerror(-rc));
		return rc;
	}
	wal_set_segment_bytes(n->wal, NODE_WAL_SEGMENT_BYTES);
	rec->hs = hs;
	rec->snap_index = base;
	rec->snap_term = have_snap ? snap->term : 0;
	rec->catch_up_to = lost;
	/* The store may hold what the lost log applied: rebuild it. */
	return reopen_store(n, true, err, errlen);
}

/*
 * A snapshot newer than the WAL's marker: the node stopped after a snapshot
 * became durable (the leader's, renamed into place, or its own, written by
 * the child) and before the WAL recorded it.  A snapshot holds only
 * committed entries, so it wins: record it now with Raft's rule for the log
 * (Figure 13 step 6: the entries after an entry of the same index and term
 * stay, else the whole log goes), and read the WAL again.  Without this a
 * WAL that ends below the snapshot refuses every append, and one that holds
 * another term's entry at its index drops, at the next start, what the node
 * appended and acknowledged after it.
 */
static int
wal_catch_up(struct node *n, struct wal_recovered *rec, const struct snap_info *snap,
    bool have_snap, char *err, size_t errlen)
{
	char dir[RAFTCONF_MAX_PATH + 32];
	int rc;

	if (!have_snap || snap->index <= rec->snap_index)
		return 0;
	log_notice_f(LOG_FIELDS(.index = snap->index, .term = snap->term),
	    "snapshot %" PRIu64 " (term %" PRIu64 ") is newer than the WAL's (%" PRIu64
	    "): the last stop came "
	    "before the WAL recorded it; recording it now",
	    snap->index, snap->term, rec->snap_index);
	if ((rc = wal_snapshot(n->wal, snap->index, snap->term)) < 0 ||
	    (rc = wal_sync(n->wal)) < 0) {
		seterr(err, errlen, "recording snapshot %" PRIu64 " in the WAL: %s", snap->index,
		    strerror(-rc));
		return rc;
	}
	wal_close(n->wal);
	n->wal = NULL;
	wal_recovered_free(rec);
	memset(rec, 0, sizeof(*rec));
	snprintf(dir, sizeof(dir), "%s/wal", n->cfg->data_dir);
	if ((rc = wal_open(dir, &n->wal, rec, err, errlen)) < 0)
		return rc;
	wal_set_segment_bytes(n->wal, NODE_WAL_SEGMENT_BYTES);
	return 0;
}

/* The YAML's members, for a data_dir that is empty (or restored): malloc'd, or NULL. */
struct raft_member *
boot_members(const struct config *cfg)
{
	struct raft_member *boot = calloc(cfg->nmembers, sizeof(*boot));

	for (size_t i = 0; boot && i < cfg->nmembers; i++) {
		boot[i].id = node_id_of(cfg->members[i].id);
		boot[i].voter = true;
		roster_context_make(&boot[i], cfg->members[i].id, cfg->members[i].address);
	}
	return boot;
}

/*
 * raftconfd --force-new-cluster: this node's data as a one-node cluster
 * (raft_force_new_cluster), said at warning level with the members it
 * removes, whose data must not come back.
 */
static int
force_new_cluster(struct node *n, char *err, size_t errlen)
{
	char names[1024] = "", why[256] = "";
	const struct raft_member *m;
	struct raft_status st;
	size_t nm, removed, len = 0;
	int ret;

	m = raft_members(n->raft, &nm);
	for (size_t i = 0; i < nm && len < sizeof(names); i++) {
		const char *ctx = (const char *)m[i].context;
		size_t idlen = 0;

		if (m[i].id == n->self)
			continue;
		while (idlen < m[i].context_len && ctx[idlen] != ' ')
			idlen++;
		len += (size_t)snprintf(
		    names + len, sizeof(names) - len, "%s%.*s", len ? ", " : "", (int)idlen, ctx);
	}
	if ((ret = raft_force_new_cluster(n->raft, &removed, why, sizeof(why))) < 0) {
		seterr(err, errlen, "--force-new-cluster: %s",
		    why[0] ? why : "the node's state does not allow it now");
		return ret;
	}
	raft_status(n->raft, &st);
	if (removed == 0)
		log_notice("--force-new-cluster: this node is already the only member; nothing "
			   "to do");
	else
		log_warning("--force-new-cluster: this node's data is now a one-node cluster "
			    "(term %" PRIu64 ", log up to %" PRIu64 "); removed: %s. Wipe their "
			    "data_dir before they join again",
		    st.term, st.last_index, names);
	return 0;
}

static int
start_raft(struct node *n, const struct wal_recovered *rec, const struct snap_info *snapp,
    bool have_snap, char *err, size_t errlen)
{
	const struct config *cfg = n->cfg;
	struct raft_config rc = {
		.id = n->self,
		.heartbeat_ticks = 2,
		.election_ticks = cfg->election_ms / n->tick_ms,
		.relay_after = cfg->relay_after,
	};
	struct raft_init init = {
		.hs = { rec->hs.term, rec->hs.vote, rec->hs.commit },
		.n_entries = rec->nentries,
	};
	struct raft_entry *ents = NULL;
	struct raft_member *boot = NULL;
	uint64_t applied = store_applied(n->store);
	struct raft_snapshot_meta meta;
	struct snap_info snap = *snapp;
	uint64_t last;
	int ret;

	rc.seed = node_id_of(cfg->node_id) ^ (uint64_t)getpid() << 32 ^ node_now_ms();
	if (rec->nentries && (ents = calloc(rec->nentries, sizeof(*ents))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < rec->nentries; i++) {
		ents[i].index = rec->entries[i].index;
		ents[i].term = rec->entries[i].term;
		ents[i].type = rec->entries[i].type;
		ents[i].len = rec->entries[i].len;
		ents[i].data = rec->entries[i].data;
	}
	init.entries = ents;
	/*
	 * The store applied only committed entries, and the WAL holds them (the
	 * commit index itself may lag on disk: persist.c does not sync a change
	 * of it alone).  A store ahead of the WAL's log is not to be trusted.
	 */
	last = rec->nentries ? rec->entries[rec->nentries - 1].index : rec->snap_index;
	if (applied > last ||
	    (rec->nentries && applied < rec->entries[0].index - 1 && applied < snap.index)) {
		log_warning("store applied index %" PRIu64
			    " does not match the WAL (commit %" PRIu64 "); rebuilding the store",
		    applied, rec->hs.commit);
		if ((ret = reopen_store(n, true, err, errlen)) < 0)
			goto out;
		applied = 0;
	}
	if (have_snap) {
		meta = (struct raft_snapshot_meta){ snap.index, snap.term, snap.n_members,
			snap.members };
		init.snapshot = &meta;
		snapshot_found(n, snap.index);
		if (applied < snap.index) {
			char serr[256];

			log_notice("restoring the store from snapshot %s", snap.path);
			if ((ret = snap_restore(n->store, snap.path, serr, sizeof(serr))) < 0) {
				seterr(err, errlen, "restoring %s: %s", snap.path, serr);
				goto out;
			}
			applied = snap.index;
		}
	}
	init.applied = applied;
	init.catch_up_to = rec->catch_up_to;
	n->applied = applied;
	/* What was applied was committed, whatever the stored commit says. */
	if (init.hs.commit < applied)
		init.hs.commit = applied;
	n->persist.queued_term = rec->hs.term;
	n->persist.queued_vote = rec->hs.vote;
	if (cfg->nmembers) {
		if ((boot = boot_members(cfg)) == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		init.bootstrap = boot;
		init.n_bootstrap = cfg->nmembers;
	}
	if ((ret = raft_new(&rc, &init, &n->raft, err, errlen)) == 0) {
		struct raft_status st;

		if (n->cfg->force_new_cluster && (ret = force_new_cluster(n, err, errlen)) < 0)
			goto out;
		raft_status(n->raft, &st);
		if (st.catch_up_to)
			log_notice_f(LOG_FIELDS(.index = st.catch_up_to),
			    "lost entries up to %" PRIu64 " after snapshot damage: no vote until "
			    "caught up (the log ends at %" PRIu64 "; a leader sends the rest)",
			    st.catch_up_to, st.last_index);
	}
out:
	free(ents);
	free(boot);
	return ret;
}

/*
 * The newest good snapshot, found on a thread while the loop's thread
 * opens the WAL and checks the store: both read every byte of a file (at
 * a million keys, 0.2 s for the snapshot and 0.7 s for the store), and
 * neither touches what the other reads.
 */
struct latest_job {
	struct snapdir *sd;
	struct snap_info info;
	int rc;
};

static void *
latest_main(void *arg)
{
	struct latest_job *j = arg;

	j->rc = snap_latest(j->sd, &j->info);
	return NULL;
}

/* Everything up to a running core: 0, or a negative errno with err filled. */
int
boot_open(struct node *n, char *err, size_t errlen)
{
	struct wal_recovered rec = { 0 };
	struct latest_job lj = { 0 };
	struct snap_info snap = { 0 };
	bool have_snap, threaded = false;
	pthread_t tid;
	int rc;

	if ((rc = boot_make_dir(n->cfg->data_dir, err, errlen)) < 0 ||
	    (rc = lock_data_dir(n, err, errlen)) < 0 ||
	    (rc = snap_open(n->cfg->data_dir, &n->snaps, err, errlen)) < 0)
		goto out;
	lj.sd = n->snaps;
	threaded = pthread_create(&tid, NULL, latest_main, &lj) == 0;
	rc = open_storage(n, &rec, err, errlen);
	if (threaded)
		pthread_join(tid, NULL);
	else
		latest_main(&lj);
	snap = lj.info;
	if (rc < 0)
		goto out;
	have_snap = lj.rc == 0;
	if ((rc = fallback_wal(n, &rec, &snap, have_snap, err, errlen)) < 0 ||
	    (rc = wal_catch_up(n, &rec, &snap, have_snap, err, errlen)) < 0)
		goto out;
	rc = start_raft(n, &rec, &snap, have_snap, err, errlen);
out:
	wal_recovered_free(&rec);
	snap_info_free(&snap);
	return rc;
}
