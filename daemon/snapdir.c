/*
 * snapdir.c — a node's snapshot directory (contract in snap.h): its
 * snapshots by index, the newest that checks, pruning; and the chunks that
 * carry a snapshot between nodes: read on the leader, written, checked as
 * they come and made durable on the node that receives them.
 *
 * Not here: the file format (snap.c reads and writes it; snap_int.h).
 */
#include "snap_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "fsutil.h"
#include "log.h"

/* ------------------------------------------------------------ received, checked as it comes */

/* Two pieces of memory read as one stream (fopencookie's reader). */
struct pair_stream {
	const uint8_t *a, *b;
	size_t alen, blen, pos;
};

static ssize_t
pair_read(void *cookie, char *buf, size_t size)
{
	struct pair_stream *ps = cookie;
	size_t done = 0;

	while (done < size && ps->pos < ps->alen + ps->blen) {
		const uint8_t *from =
		    ps->pos < ps->alen ? ps->a + ps->pos : ps->b + (ps->pos - ps->alen);
		size_t left =
		    ps->pos < ps->alen ? ps->alen - ps->pos : ps->alen + ps->blen - ps->pos;
		size_t k = size - done < left ? size - done : left;

		memcpy(buf + done, from, k);
		done += k;
		ps->pos += k;
	}
	return (ssize_t)done;
}

static void
check_clear(struct recv_check *c)
{
	snap_meta_free(&c->meta);
	free(c->carry);
	memset(c, 0, sizeof(*c));
}

/* The stream's bytes from its byte `from` on, as c's new carry.  0 or -ENOMEM. */
static int
keep_tail(struct recv_check *c, const struct pair_stream *ps, size_t from)
{
	size_t total = ps->alen + ps->blen, n = total - from, k;
	uint8_t *t = NULL;

	if (n > 0) {
		if ((t = malloc(n)) == NULL)
			return -ENOMEM;
		k = from < ps->alen ? ps->alen - from : 0;
		if (k)
			memcpy(t, ps->a + from, k);
		memcpy(t + k, ps->b + (from + k - ps->alen), n - k);
	}
	free(c->carry);
	c->carry = t;
	c->carry_len = n;
	return 0;
}

/*
 * Go on with the check of the incoming file: its next len bytes, after
 * those in c->carry.  Whole records are checked and counted; a record the
 * bytes end inside waits in c->carry, unless final (the bytes end the file:
 * a record cut short is a truncated file, and carry is left alone).  0,
 * -EBADMSG with err, or -errno.
 */
static int
check_feed(
    struct recv_check *c, const uint8_t *data, size_t len, bool final, char *err, size_t errlen)
{
	static const cookie_io_functions_t io = { .read = pair_read };
	struct pair_stream ps = { .a = c->carry, .alen = c->carry_len, .b = data, .blen = len };
	struct reader rd = {
		.path = "received",
		.off = c->next - c->carry_len,
		.records = c->meta.records,
		.version = c->meta.version,
		.done = c->done,
		.keys = c->keys,
		.total = c->total,
		.partial = !final,
	};
	uint64_t start = rd.off;
	struct store_record rec;
	int r = 0;

	if (c->ended) {
		if (len == 0)
			return 0;
		seterr(err, errlen,
		    "snapshot received: unexpected bytes after the trailer at offset %" PRIu64,
		    c->next);
		return -EBADMSG;
	}
	if ((rd.f = fopencookie(&ps, "r", io)) == NULL)
		return errno ? -errno : -ENOMEM;
	setvbuf(rd.f, NULL, _IOFBF, FILE_BUFFER);
	if (!c->header && (r = snap__read_header(&rd, &c->meta, err, errlen)) == 0)
		c->header = true;
	if (r == -EAGAIN) /* the header itself is cut: all of it, later */
		rd.off = start;
	while (r == 0 && c->header) {
		uint64_t off = rd.off, done = rd.done, keys = rd.keys;
		uint32_t total = rd.total;

		if ((r = snap__read_record(&rd, &rec, err, errlen)) > 0) {
			r = 0;
			continue;
		}
		if (r == 0)
			c->ended = true;
		else if (r == -EAGAIN) { /* cut by the chunk's end: from its start on, later */
			rd.off = off;
			rd.done = done;
			rd.keys = keys;
			rd.total = total;
		}
		break;
	}
	if (r == -EAGAIN) /* the header or a record waits for more bytes */
		r = keep_tail(c, &ps, (size_t)(rd.off - start));
	else if (r == 0 && !final)
		r = keep_tail(c, &ps, ps.alen + ps.blen);
	if (r == 0) {
		c->done = rd.done;
		c->keys = rd.keys;
		c->total = rd.total;
		c->next += len;
	}
	snap__reader_close(&rd);
	return r;
}

/* The chunk at offset was written to the incoming file: the check follows it. */
static void
check_written(struct recv_check *c, uint64_t offset, const void *data, size_t len)
{
	int r;

	if (offset == 0) {
		check_clear(c);
		c->ok = true;
	}
	if (!c->ok || offset != c->next) { /* written out of order: checked whole at the end */
		c->ok = false;
		return;
	}
	if (c->bad) {
		c->next += len;
		return;
	}
	r = check_feed(c, data, len, false, c->why, sizeof(c->why));
	if (r == -EBADMSG) {
		c->bad = r;
		c->next += len;
	} else if (r < 0) {
		c->ok = false;
	}
}

int
snap_recv_refused(struct snapdir *sd, uint64_t offset, char *err, size_t errlen)
{
	const struct recv_check *c = &sd->chk;

	if (offset == 0 || !c->ok || !c->bad || offset != c->next)
		return 0;
	seterr(err, errlen, "%s", c->why);
	return c->bad;
}

/*
 * The last chunk, checked on from what the chunks before it left: a copy
 * of the state, so that a chunk the core then refuses changes nothing.
 * -ENOENT when the state does not cover the file's first offset bytes.
 */
static int
check_last(const struct recv_check *c, uint64_t offset, const void *data, size_t len,
    struct snap_meta *meta, char *err, size_t errlen)
{
	struct recv_check t;
	int r;

	if (!c->ok || offset != c->next || offset == 0)
		return -ENOENT;
	if (c->bad) {
		seterr(err, errlen, "%s", c->why);
		return c->bad;
	}
	t = *c;
	if (c->header) { /* t's meta is c's: what goes out is a copy */
		t.meta.members =
		    malloc((c->meta.n_members ? c->meta.n_members : 1) * sizeof(*c->meta.members));
		if (t.meta.members == NULL)
			return -ENOMEM;
		memcpy(
		    t.meta.members, c->meta.members, c->meta.n_members * sizeof(*c->meta.members));
	}
	if ((r = check_feed(&t, data, len, true, err, errlen)) == 0 && !t.ended) {
		seterr(err, errlen, "snapshot received: truncated at offset %" PRIu64, t.next);
		r = -EBADMSG;
	}
	if (r < 0) {
		snap_meta_free(&t.meta);
		return r;
	}
	t.meta.keys = t.keys;
	*meta = t.meta;
	return 0;
}

/*
 * A snapshot being received, read as it would be once complete: the
 * incoming file's first `flen` bytes, then the chunk in memory that would
 * end it (fopencookie's reader).
 */
struct joined {
	int fd;
	uint64_t flen;
	const uint8_t *data;
	size_t dlen;
	uint64_t pos;
};

static ssize_t
joined_read(void *cookie, char *buf, size_t size)
{
	struct joined *j = cookie;
	size_t done = 0;

	while (done < size && j->pos < j->flen) {
		size_t want = size - done < j->flen - j->pos ? size - done : j->flen - j->pos;
		ssize_t n = pread(j->fd, buf + done, want, (off_t)j->pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1; /* shorter than its size said: a read error */
		done += (size_t)n;
		j->pos += (uint64_t)n;
	}
	if (done < size && j->pos < j->flen + j->dlen) {
		size_t k = size - done < j->flen + j->dlen - j->pos ? size - done
								    : j->flen + j->dlen - j->pos;

		memcpy(buf + done, j->data + (j->pos - j->flen), k);
		done += k;
		j->pos += k;
	}
	return (ssize_t)done;
}

int
snap_recv_verify(struct snapdir *sd, uint64_t offset, const void *data, size_t len,
    struct snap_meta *meta, char *err, size_t errlen)
{
	static const cookie_io_functions_t io = { .read = joined_read };
	struct joined j = { .fd = -1, .flen = offset, .data = data, .dlen = len };
	char path[SNAP_PATH_MAX];
	struct reader rd;
	struct stat st;
	int r;

	memset(meta, 0, sizeof(*meta));
	if ((r = check_last(&sd->chk, offset, data, len, meta, err, errlen)) != -ENOENT)
		return r;
	memset(&rd, 0, sizeof(rd));
	rd.path = "received";
	if (offset > 0) {
		snprintf(path, sizeof(path), "%s/" INCOMING_NAME, sd->dir);
		if ((j.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(j.fd, &st) < 0 ||
		    (uint64_t)st.st_size < offset) {
			seterr(err, errlen,
			    "snapshot received: the %" PRIu64 " bytes before its last chunk are "
			    "missing",
			    offset);
			r = -EBADMSG;
			goto out;
		}
	}
	if ((rd.f = fopencookie(&j, "r", io)) == NULL) {
		r = -errno;
		seterr(err, errlen, "snapshot received: %s", strerror(-r));
		goto out;
	}
	setvbuf(rd.f, NULL, _IOFBF, FILE_BUFFER);
	r = snap__check_all(&rd, meta, err, errlen);
out:
	snap__reader_close(&rd);
	if (j.fd >= 0)
		close(j.fd);
	return r;
}

/* ------------------------------------------------------------ the directory */

int
snap_open(const char *data_dir, struct snapdir **out, char *err, size_t errlen)
{
	struct snapdir *sd = calloc(1, sizeof(*sd));
	int r;

	if (sd == NULL)
		return -ENOMEM;
	snprintf(sd->dir, sizeof(sd->dir), "%s/snap", data_dir);
	sd->in_fd = -1;
	if (mkdir(sd->dir, 0750) < 0 && errno != EEXIST) {
		r = -errno;
		seterr(err, errlen, "cannot create %s: %s", sd->dir, strerror(-r));
		free(sd);
		return r;
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
	check_clear(&sd->chk);
	free(sd);
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

		if (strlen(de->d_name) != 16 + strlen(SNAP_SUFFIX) ||
		    sscanf(de->d_name, "%16" SCNx64 "%7s", &idx, tail) != 2 ||
		    strcmp(tail, SNAP_SUFFIX) != 0)
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
	struct snap_meta meta;
	uint64_t *idx;
	char err[256];
	int n, rc = -ENOENT;

	memset(info, 0, sizeof(*info));
	if ((n = list(sd, &idx)) < 0)
		return n;
	for (int i = 0; i < n; i++) {
		snap_path(sd, idx[i], info->path, sizeof(info->path));
		if (snap_verify(info->path, &meta, err, sizeof(err)) < 0) {
			log_warning("snapshot %s is damaged (%s); falling back to an older one",
			    info->path, err);
			continue;
		}
		if (meta.index != idx[i]) {
			log_warning("snapshot %s: its header does not match its name; falling "
				    "back to an older one",
			    info->path);
			snap_meta_free(&meta);
			continue;
		}
		info->index = meta.index;
		info->term = meta.term;
		info->n_members = meta.n_members;
		info->members = meta.members;
		meta.members = NULL;
		snap_meta_free(&meta);
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
	static const char tail[] = SNAP_SUFFIX TMP_SUFFIX;
	struct dirent *de;
	DIR *d;

	if ((d = opendir(sd->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 16 + strlen(tail) || strcmp(de->d_name + 16, tail) != 0)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

void
snap_prune(struct snapdir *sd)
{
	enum { NAME = 16 + sizeof(SNAP_SUFFIX) }; /* the hex index, the suffix, \0 */
	uint64_t *idx;
	int n = list(sd, &idx), dfd;
	size_t len = 0;
	char *names;

	/* Older first: a crash keeps the newer of what it leaves. */
	if (n > SNAP_KEEP && (names = malloc((size_t)(n - SNAP_KEEP) * NAME)) != NULL) {
		for (int i = n - 1; i >= SNAP_KEEP; i--)
			len +=
			    (size_t)snprintf(names + len, NAME, "%016" PRIx64 SNAP_SUFFIX, idx[i]) +
			    1;
		dfd = open(sd->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fs_unlink_async(dfd, names, len, (size_t)(n - SNAP_KEEP)) < 0)
			log_warning(
			    "cannot delete old snapshots in %s: %s", sd->dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		free(names);
	}
	remove_leftovers(sd);
	free(idx);
}

/* ------------------------------------------------------------ chunks */

int
snap_read_chunk(struct snapdir *sd, uint64_t index, uint64_t offset, void *buf, size_t max,
    size_t *got, bool *last, uint64_t *size)
{
	char path[SNAP_PATH_MAX];
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
	*size = (uint64_t)st.st_size;
out:
	close(fd);
	return rc;
}

int
snap_recv_chunk(struct snapdir *sd, uint64_t offset, const void *data, size_t len)
{
	char path[SNAP_PATH_MAX];
	const uint8_t *p = data;

	if (offset == 0) {
		if (sd->in_fd >= 0)
			close(sd->in_fd);
		snprintf(path, sizeof(path), "%s/" INCOMING_NAME, sd->dir);
		sd->in_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (sd->in_fd < 0)
			return -errno;
		sd->in_started = 0;
	}
	if (sd->in_fd < 0)
		return -EBADF; /* a chunk of a transfer we did not see start */
	while (len) {
		ssize_t n = pwrite(sd->in_fd, p, len, (off_t)offset);

		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	sd->in_dirty = true;
	/* Start writing back each SNAP_WRITEBACK as it fills, and wait for the
	 * one before it (long written, unless the disk is slower than the
	 * transfer: then the transfer goes at the disk's pace), so that
	 * snap_recv_finish's fdatasync finds little left.  A hint only. */
	if (offset > sd->in_started && offset - sd->in_started >= SNAP_WRITEBACK) {
		(void)sync_file_range(sd->in_fd, (off_t)sd->in_started,
		    (off_t)(offset - sd->in_started), SYNC_FILE_RANGE_WRITE);
		if (sd->in_started > 0)
			(void)sync_file_range(sd->in_fd, 0, (off_t)sd->in_started,
			    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER);
		sd->in_started = offset;
	}
	return 0;
}

void
snap_recv_check(struct snapdir *sd, uint64_t offset, const void *data, size_t len)
{
	check_written(&sd->chk, offset, data, len);
}

int
snap_recv_finish(struct snapdir *sd, uint64_t index, char *path, size_t pathlen)
{
	char part[SNAP_PATH_MAX];

	if (sd->in_fd < 0)
		return -EBADF;
	if (sd->in_dirty && fdatasync(sd->in_fd) < 0)
		return -errno;
	sd->in_dirty = false;
	close(sd->in_fd);
	sd->in_fd = -1;
	check_clear(&sd->chk);
	snprintf(part, sizeof(part), "%s/" INCOMING_NAME, sd->dir);
	snap_path(sd, index, path, pathlen);
	if (rename(part, path) < 0)
		return -errno;
	return fs_sync_dir(sd->dir);
}
