/*
 * snap.c — the snapshot directory (contract in snap.h).
 *
 * Not here: the snapshot file format (store.c), when to take one (node.c).
 */
#include "snap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "log.h"
#include "store.h"
#include "wal.h"

struct snapdir {
	char dir[4096];
	int in_fd;		/* incoming.part, or -1 */
	bool in_dirty;
};

int
snap_open(const char *data_dir, struct snapdir **out, char *err, size_t errlen)
{
	struct snapdir *sd = calloc(1, sizeof(*sd));

	if (sd == NULL)
		return -ENOMEM;
	snprintf(sd->dir, sizeof(sd->dir), "%s/snap", data_dir);
	sd->in_fd = -1;
	if (mkdir(sd->dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", sd->dir, strerror(errno));
		free(sd);
		return -errno;
	}
	*out = sd;
	return 0;
}

void
snap_close(struct snapdir *sd)
{
	if (sd == NULL)
		return;
	if (sd->in_fd >= 0)
		close(sd->in_fd);
	free(sd);
}

void
snap_path(const struct snapdir *sd, uint64_t index, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%016" PRIx64 ".snap", sd->dir, index);
}

static int
cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Indexes of the complete snapshots, newest first.  -errno or the count. */
static int
list(const struct snapdir *sd, uint64_t **out)
{
	uint64_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	if ((d = opendir(sd->dir)) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char tail[8];
		uint64_t idx;

		if (strlen(de->d_name) != 21 ||
		    sscanf(de->d_name, "%16" SCNx64 "%7s", &idx, tail) != 2 ||
		    strcmp(tail, ".snap") != 0)
			continue;
		if (n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

			if (nv == NULL) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = idx;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_desc);
	*out = v;
	return (int)n;
}

int
snap_latest(struct snapdir *sd, struct snap_info *info)
{
	struct store_snapmeta meta;
	uint64_t *idx;
	char err[256];
	int n, rc = -ENOENT;

	memset(info, 0, sizeof(*info));
	if ((n = list(sd, &idx)) < 0)
		return n;
	for (int i = 0; i < n; i++) {
		snap_path(sd, idx[i], info->path, sizeof(info->path));
		if (store_snapshot_verify(info->path, &meta, err, sizeof(err)) < 0) {
			log_warning("snapshot %s is damaged (%s); falling back to an older one",
			    info->path, err);
			continue;
		}
		if (meta.index != idx[i] ||
		    snap_members_decode(meta.members, meta.mlen, &info->members,
		    &info->n_members) < 0) {
			log_warning("snapshot %s: its header does not match its name or holds no "
			    "readable membership; falling back to an older one", info->path);
			store_snapmeta_free(&meta);
			continue;
		}
		info->index = meta.index;
		info->term = meta.term;
		store_snapmeta_free(&meta);
		rc = 0;
		break;
	}
	free(idx);
	return rc;
}

void
snap_info_free(struct snap_info *info)
{
	free(info->members);
	info->members = NULL;
}

/* "%016llx.snap.tmp": a snapshot writer that died (or was stopped) midway. */
static void
remove_leftovers(struct snapdir *sd)
{
	char path[4200];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(sd->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 25 || strcmp(de->d_name + 16, ".snap.tmp") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", sd->dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

void
snap_prune(struct snapdir *sd)
{
	char path[4200];
	uint64_t *idx;
	int n = list(sd, &idx);

	for (int i = SNAP_KEEP; i < n; i++) {
		snap_path(sd, idx[i], path, sizeof(path));
		if (unlink(path) < 0)
			log_warning("cannot delete old snapshot %s: %s", path, strerror(errno));
	}
	remove_leftovers(sd);
	if (n > SNAP_KEEP)
		wal_fsync_dir(sd->dir);
	free(idx);
}

/* blob: u32 n, then n × (u64 id, u8 voter, u16 len, context), big-endian */
int
snap_members_encode(const struct raft_member *m, size_t n, uint8_t **blob, size_t *len)
{
	struct bytes_writer w;
	size_t size = 4;

	for (size_t i = 0; i < n; i++)
		size += 11 + m[i].context_len;
	if ((*blob = malloc(size)) == NULL)
		return -ENOMEM;
	bw_init(&w, *blob, size);
	bw_be32(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		bw_be64(&w, m[i].id);
		bw_u8(&w, m[i].voter);
		bw_be16(&w, m[i].context_len);
		bw_mem(&w, m[i].context, m[i].context_len);
	}
	*len = w.len;
	return 0;
}

int
snap_members_decode(const uint8_t *blob, size_t len, struct raft_member **out, uint32_t *nout)
{
	struct bytes_reader r;
	struct raft_member *m;
	uint32_t n;

	br_init(&r, blob, len);
	n = br_be32(&r);
	if (r.err || n > RAFTCONF_MAX_MEMBERS || br_left(&r) < (size_t)n * 11)
		return -EINVAL;
	if ((m = calloc(n ? n : 1, sizeof(*m))) == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t voter;

		m[i].id = br_be64(&r);
		voter = br_u8(&r);
		m[i].context_len = br_be16(&r);
		if (r.err || voter > 1 || m[i].context_len > RAFT_MAX_MEMBER_CONTEXT ||
		    !br_copy(&r, m[i].context, m[i].context_len))
			goto bad;
		m[i].voter = voter;
	}
	if (br_left(&r) != 0)
		goto bad;
	*out = m;
	*nout = n;
	return 0;
bad:
	free(m);
	return -EINVAL;
}

int
snap_read_chunk(struct snapdir *sd, uint64_t index, uint64_t offset, void *buf, size_t max,
		size_t *got, bool *last)
{
	char path[4200];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	snap_path(sd, index, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < offset) {
		rc = -EINVAL;
		goto out;
	}
	n = pread(fd, buf, max, (off_t)offset);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	*got = (size_t)n;
	*last = offset + (uint64_t)n >= (uint64_t)st.st_size;
out:
	close(fd);
	return rc;
}

int
snap_recv_chunk(struct snapdir *sd, uint64_t offset, const void *data, size_t len)
{
	char path[4200];
	const uint8_t *p = data;

	if (offset == 0) {
		if (sd->in_fd >= 0)
			close(sd->in_fd);
		snprintf(path, sizeof(path), "%s/incoming.part", sd->dir);
		sd->in_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (sd->in_fd < 0)
			return -errno;
	}
	if (sd->in_fd < 0)
		return -EBADF;		/* a chunk of a transfer we did not see start */
	while (len) {
		ssize_t n = pwrite(sd->in_fd, p, len, (off_t)offset);

		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	sd->in_dirty = true;
	return 0;
}

int
snap_recv_sync(struct snapdir *sd)
{
	if (!sd->in_dirty || sd->in_fd < 0)
		return 0;
	sd->in_dirty = false;
	return fdatasync(sd->in_fd) < 0 ? -errno : 0;
}

int
snap_recv_finish(struct snapdir *sd, uint64_t index, char *path, size_t pathlen)
{
	char part[4200];
	int rc;

	if (sd->in_fd < 0)
		return -EBADF;
	if ((rc = snap_recv_sync(sd)) < 0)
		return rc;
	close(sd->in_fd);
	sd->in_fd = -1;
	snprintf(part, sizeof(part), "%s/incoming.part", sd->dir);
	snap_path(sd, index, path, pathlen);
	if (rename(part, path) < 0)
		return -errno;
	return wal_fsync_dir(sd->dir);
}
