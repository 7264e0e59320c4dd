/*
 * restore.c — raftconfd --restore FILE: a new data_dir from a backup
 * (raftconfctl backup, a snapshot file of snap.h), for a member of the
 * cluster the YAML's members make.  Every host of the new cluster restores
 * the same file and gets the same state.
 *
 * What the node finds at its first start is what it would find after
 * installing a leader's snapshot: a snapshot at the backup's index I and
 * term, with the new membership (the YAML's members, each key's revision,
 * create revision and version as they were); a store that applied I; a
 * WAL that holds only the hard state (term, no vote, commit I) and the
 * snapshot marker, so that the log starts after I.  boot.c opens it as it
 * opens any data_dir, and the next write gets a revision above I.
 *
 * Atomic and durable: nothing is written before the backup checked
 * completely (every record's crc, the trailer) and the data_dir was found
 * empty.  Everything is built in a directory beside it (<data_dir>.restore,
 * whatever an interrupted restore left there is removed first), each file
 * synced (snap_write, the store's close, wal_sync) and each directory too,
 * then that directory is renamed to data_dir (over it when it is an empty
 * directory) and their parent synced.  A crash before the rename leaves
 * data_dir as it was; after it, the whole state.
 *
 * Not here: the snapshot file (snap.c), the store (store.c), the WAL
 * (wal.c), booting (boot.c).
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "errbuf.h"
#include "fsutil.h"
#include "members.h"
#include "snap.h"
#include "store.h"
#include "wal.h"

#define RESTORE_SUFFIX ".restore"

/* 0: dir is absent or empty (*exists says which); -ENOTEMPTY, -errno with err. */
static int
check_empty(const char *dir, bool *exists, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	*exists = false;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		seterr(err, errlen, "data_dir %s: %s", dir, strerror(errno));
		return rc;
	}
	*exists = true;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		seterr(err, errlen,
		    "data_dir %s is not empty (it holds %s): --restore initializes an empty "
		    "data_dir only; nothing was written",
		    dir, de->d_name);
		rc = -ENOTEMPTY;
		break;
	}
	closedir(d);
	return rc;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Remove what an interrupted restore left at tmp (ours: no links followed). */
static int
remove_tree(const char *tmp)
{
	if (nftw(tmp, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* The store at tmp/store.tdb: the backup's records, index and term, the new membership. */
static int
make_store(const char *tmp, const char *file, const struct raft_member *members, size_t nm,
    char *err, size_t errlen)
{
	char path[RAFTCONF_MAX_PATH + 64];
	struct store *st = NULL;
	uint8_t *blob = NULL;
	size_t blen = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/store.tdb", tmp);
	if ((rc = store_open(path, &st, err, errlen)) < 0)
		return rc;
	if ((rc = snap_restore(st, file, err, errlen)) < 0)
		goto out;
	if ((rc = members_encode(members, nm, &blob, &blen)) < 0 ||
	    (rc = store_set_members(st, blob, blen)) < 0) {
		seterr(err, errlen, "%s: setting the membership: %s", path, strerror(-rc));
		goto out;
	}
	/* The snapshot the node boots from, in this build's format, with the new members. */
	snprintf(path, sizeof(path), "%s/snap", tmp);
	if (mkdir(path, 0750) < 0) {
		rc = -errno;
		seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/snap/%016" PRIx64 ".snap", tmp, store_applied(st));
	rc = snap_write(
	    st, path, store_applied(st), store_applied_term(st), members, nm, err, errlen);
out:
	store_close(st); /* durable, and marked clean */
	free(blob);
	return rc;
}

/* The WAL at tmp/wal: hard state (term, no vote, commit index) and the snapshot marker. */
static int
make_wal(const char *tmp, uint64_t index, uint64_t term, char *err, size_t errlen)
{
	struct wal_hardstate hs = { .term = term, .vote = 0, .commit = index };
	struct wal_recovered rec = { 0 };
	char dir[RAFTCONF_MAX_PATH + 64];
	struct wal *w = NULL;
	int rc;

	snprintf(dir, sizeof(dir), "%s/wal", tmp);
	if ((rc = boot_make_dir(dir, err, errlen)) < 0)
		return rc;
	if ((rc = wal_open(dir, &w, &rec, err, errlen)) < 0)
		return rc;
	wal_recovered_free(&rec);
	if ((rc = wal_set_hardstate(w, &hs)) < 0 || (rc = wal_snapshot(w, index, term)) < 0 ||
	    (rc = wal_sync(w)) < 0)
		seterr(err, errlen, "%s: %s", dir, strerror(-rc));
	wal_close(w);
	if (rc == 0 && (rc = fs_sync_dir(dir)) < 0)
		seterr(err, errlen, "%s: sync: %s", dir, strerror(-rc));
	return rc;
}

/* Everything in tmp, synced, renamed to data_dir. */
static int
build(const struct config *cfg, const char *file, const char *tmp, const struct snap_meta *meta,
    char *err, size_t errlen)
{
	struct raft_member *members = boot_members(cfg);
	char snapdir[RAFTCONF_MAX_PATH + 64];
	int rc;

	if (members == NULL)
		return -ENOMEM;
	if (mkdir(tmp, 0750) < 0) {
		rc = -errno;
		seterr(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((rc = make_store(tmp, file, members, cfg->nmembers, err, errlen)) < 0 ||
	    (rc = make_wal(tmp, meta->index, meta->term, err, errlen)) < 0)
		goto out;
	snprintf(snapdir, sizeof(snapdir), "%s/snap", tmp);
	if ((rc = fs_sync_dir(snapdir)) < 0 || (rc = fs_sync_dir(tmp)) < 0) {
		seterr(err, errlen, "%s: sync: %s", tmp, strerror(-rc));
		goto out;
	}
	/* The one step that makes it a data_dir: over an empty one, or in its place. */
	if (rename(tmp, cfg->data_dir) < 0) {
		rc = -errno;
		seterr(
		    err, errlen, "cannot rename %s to %s: %s", tmp, cfg->data_dir, strerror(errno));
		goto out;
	}
	if ((rc = fs_sync_parent(cfg->data_dir)) < 0)
		seterr(err, errlen, "%s: syncing its parent directory: %s", cfg->data_dir,
		    strerror(-rc));
out:
	free(members);
	return rc;
}

int
node_restore(
    const struct config *cfg, const char *file, char *msg, size_t msglen, char *err, size_t errlen)
{
	char tmp[RAFTCONF_MAX_PATH + sizeof(RESTORE_SUFFIX)];
	struct snap_meta meta = { 0 };
	char why[512] = "";
	bool exists;
	int rc;

	if (!cfg->self_listed) {
		seterr(err, errlen,
		    "node %s is not one of the members: a restored node is a member of the new "
		    "cluster the configuration's members make",
		    cfg->node_id);
		return -EINVAL;
	}
	if ((rc = check_empty(cfg->data_dir, &exists, err, errlen)) < 0)
		return rc;
	if ((rc = snap_verify(file, &meta, why, sizeof(why))) < 0) {
		if (rc == -EBADMSG)
			seterr(err, errlen,
			    "%s is not a usable raftconfd backup; nothing was "
			    "written: %s",
			    file, why);
		else
			seterr(err, errlen, "%s; nothing was written", why);
		return rc;
	}
	snprintf(tmp, sizeof(tmp), "%s" RESTORE_SUFFIX, cfg->data_dir);
	if ((rc = remove_tree(tmp)) < 0) {
		seterr(err, errlen, "cannot remove %s, left by an earlier restore: %s", tmp,
		    strerror(-rc));
		goto out;
	}
	if ((rc = build(cfg, file, tmp, &meta, err, errlen)) < 0) {
		remove_tree(tmp);
		goto out;
	}
	seterr(msg, msglen,
	    "restore: %s: %" PRIu64 " keys, revision %" PRIu64 ", term %" PRIu64
	    ", into %s as %s, one of %zu members",
	    file, meta.keys, meta.index, meta.term, cfg->data_dir, cfg->node_id, cfg->nmembers);
out:
	snap_meta_free(&meta);
	return rc;
}
