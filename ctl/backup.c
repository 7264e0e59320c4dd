/*
 * backup.c — raftconfctl backup FILE (contract in backup.h).
 *
 * The file is the daemon's snapshot file, byte for byte: checked here with
 * snap.c's reader, the one that raftconfd --restore and a booting node use,
 * rather than a second parser of the format.
 *
 * Not here: the command line (raftconfctl.c), the connection (client.c).
 */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "fsutil.h"
#include "output.h"
#include "snap.h"

/* Progress lines: for a file this big, every this many bytes or seconds. */
#define PROGRESS_BYTES (1024 * 1024)
#define PROGRESS_S     1.0

/* FILE.tmp, for the signal handler to remove. */
static char tmp_path[RAFTCONF_MAX_PATH + 8];

static void
on_signal(int sig)
{
	unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct stream {
	const char *file;
	uint64_t index, records, total, got;
	double last_t;
	uint64_t last_got;
};

/* One chunk, in order and like the first: 0, or -EPROTO after saying why. */
static int
chunk_ok(struct stream *s, const struct proto_msg *m)
{
	if (s->got == 0 && m->backup_chunk.offset == 0) {
		s->index = m->backup_chunk.index;
		s->records = m->backup_chunk.records;
		s->total = m->backup_chunk.total;
	}
	if (m->backup_chunk.offset != s->got || m->backup_chunk.index != s->index ||
	    m->backup_chunk.records != s->records || m->backup_chunk.total != s->total) {
		fprintf(stderr,
		    "raftconfctl: bad answer: the daemon sent backup bytes at offset %" PRIu64
		    " of a %" PRIu64 "-byte file at revision %" PRIu64 ", expected offset %" PRIu64
		    " of %" PRIu64 " at %" PRIu64 "\n",
		    m->backup_chunk.offset, m->backup_chunk.total, m->backup_chunk.index, s->got,
		    s->total, s->index);
		return -EPROTO;
	}
	return 0;
}

static void
progress(struct stream *s, bool last)
{
	double t = client_now();

	if (s->total < PROGRESS_BYTES || last ||
	    (s->got - s->last_got < PROGRESS_BYTES && t - s->last_t < PROGRESS_S))
		return;
	fprintf(stderr, "backup: %s: %" PRIu64 " / %" PRIu64 " bytes (%" PRIu64 "%%)\n", s->file,
	    s->got, s->total, s->got * 100 / s->total);
	s->last_t = t;
	s->last_got = s->got;
}

/* The answers to BACKUP into fd until the last chunk: 0, or -1 after saying why. */
static int
receive(struct client *c, int fd, struct stream *s)
{
	struct proto_msg m = { .type = PROTO_T_BACKUP }, r;
	char err[RAFTCONF_MAX_ERROR];
	int rc;

	if ((rc = client_request(c, &m, &r, true, err, sizeof(err))) < 0) {
		fprintf(stderr, "raftconfctl: %s\n", err);
		return -1;
	}
	s->last_t = client_now();
	for (;;) {
		if (r.type == PROTO_T_ERROR) {
			client_print_error(&r);
			return -1;
		}
		if (r.type != PROTO_T_BACKUP_CHUNK) {
			fprintf(stderr,
			    "raftconfctl: bad answer: unexpected %s answer from raftconfd\n",
			    proto_type_name(r.type));
			return -1;
		}
		if (chunk_ok(s, &r) < 0)
			return -1;
		if ((rc = write_all(fd, r.backup_chunk.data.ptr, r.backup_chunk.data.len)) < 0) {
			fprintf(
			    stderr, "raftconfctl: i/o error: %s: %s\n", tmp_path, strerror(-rc));
			return -1;
		}
		s->got += r.backup_chunk.data.len;
		progress(s, r.backup_chunk.flags & PROTO_F_LAST);
		if (r.backup_chunk.flags & PROTO_F_LAST)
			return 0;
		client_renew_deadline(c); /* a timeout bounds each chunk, not the whole */
		if ((rc = client_next(c, &r, err, sizeof(err))) < 0) {
			fprintf(stderr,
			    "raftconfctl: %s (after %" PRIu64 " of %" PRIu64
			    " bytes of the backup)\n",
			    err, s->got, s->total);
			return -1;
		}
	}
}

/*
 * FILE.tmp, whole and synced, checked, renamed to FILE: 0, or after saying
 * why -1 (FILE untouched) or -2 (FILE written, its directory not synced).
 */
static int
finish(const struct output *out, const char *file, int fd, const struct stream *s)
{
	struct snap_meta meta;
	char err[SNAP_PATH_MAX + 512];
	int rc;

	if (fsync(fd) < 0) {
		fprintf(
		    stderr, "raftconfctl: i/o error: %s: fsync: %s\n", tmp_path, strerror(errno));
		return -1;
	}
	if (snap_verify(tmp_path, &meta, err, sizeof(err)) < 0) {
		fprintf(stderr, "raftconfctl: bad answer: the backup received does not check: %s\n",
		    err);
		return -1;
	}
	rc = meta.index == s->index ? 0 : -1;
	if (rc < 0)
		fprintf(stderr,
		    "raftconfctl: bad answer: the backup received is at revision %" PRIu64
		    ", the daemon said %" PRIu64 "\n",
		    meta.index, s->index);
	if (rc == 0 && rename(tmp_path, file) < 0) {
		fprintf(stderr, "raftconfctl: i/o error: cannot rename %s to %s: %s\n", tmp_path,
		    file, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && (rc = fs_sync_parent(file)) < 0) {
		/* FILE is there whole; only its name may not survive a power cut */
		fprintf(stderr,
		    "raftconfctl: i/o error: %s is written, but syncing its directory failed (%s): it may "
		    "not survive a crash of the machine\n",
		    file, strerror(-rc));
		rc = -2;
	}
	if (rc == 0)
		out->backup_done(file, meta.keys, meta.index, s->got);
	snap_meta_free(&meta);
	return rc;
}

int
backup_run(struct client *c, const struct output *out, const char *file)
{
	struct stream s = { .file = file };
	int fd, n, rc;

	n = snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", file);
	if (n < 0 || (size_t)n >= sizeof(tmp_path)) {
		fprintf(stderr, "raftconfctl: i/o error: %s: the path is too long\n", file);
		return 1;
	}
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "raftconfctl: i/o error: %s: %s\n", tmp_path, strerror(errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	rc = receive(c, fd, &s);
	if (rc == 0)
		rc = finish(out, file, fd, &s);
	close(fd);
	if (rc == -2)
		return 1;
	if (rc < 0) {
		unlink(tmp_path);
		fprintf(stderr, "backup: %s: failed, left as it was\n", file);
		return 1;
	}
	return 0;
}
