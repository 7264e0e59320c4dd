/*
 * snap.c — snapshots (contract and file format in snap.h): writing one from
 * a store, reading and checking one, restoring a store from one, the
 * snapshot directory, and the chunks that carry a snapshot between nodes.
 *
 * Not here: when to take or install one, and doing it off the event loop
 * (the node); how the store keeps its records (store.c hands them out with
 * store_export and takes them in with store_replace).  Nothing read from a
 * file is used before its checksum and its lengths have been checked.
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
#include "crc32c.h"
#include "errbuf.h"
#include "fsutil.h"
#include "log.h"
#include "members.h"

#define SNAP_MAGIC     "RCSNAP\0\0"
#define SNAP_END_MAGIC "RCSNEND\0"
#define HEADER_FIXED   44 /* up to and including the members length */
#define TRAILER_BYTES  24
#define RECORD_HEAD    8 /* u32 key length, u32 value length */
/* A "k:" record's bytes before the value (store.h): three u64. */
#define KV_RECORD_HEAD 24
#define FILE_BUFFER    (256 * 1024)

/* The one naming rule of the directory. */
#define SNAP_SUFFIX   ".snap"
#define TMP_SUFFIX    ".tmp"
#define INCOMING_NAME "incoming.part"

/*
 * The incoming file, checked as its chunks are written (snap_recv_check),
 * so that the check of its last chunk costs that chunk and not the file:
 * what a reader of the file's first `next` bytes has seen, the bytes after
 * its last whole record waiting in carry.
 */
struct recv_check {
	bool ok;     /* it covers the file's first `next` bytes */
	bool header; /* the header was read: meta holds it */
	bool ended;  /* the trailer was read */
	int bad;     /* -EBADMSG once they are not a snapshot (why) */
	uint64_t next;
	struct snap_meta meta;
	uint64_t done, keys;
	uint32_t total;
	uint8_t *carry;
	size_t carry_len;
	char why[256];
};

struct snapdir {
	char dir[RAFTCONF_MAX_PATH + sizeof("/snap")];
	int in_fd; /* INCOMING_NAME, or -1 */
	bool in_dirty;
	uint64_t in_started; /* writeback started up to here (snap_recv_chunk) */
	struct recv_check chk;
};

/* ------------------------------------------------------------ names */

void
snap_path(const struct snapdir *sd, uint64_t index, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%016" PRIx64 SNAP_SUFFIX, sd->dir, index);
}

/* The temporary name snap_write writes path under: -ENAMETOOLONG if it does not fit. */
static int
tmp_of(const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s" TMP_SUFFIX, path);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void
snap_tmp_path(const struct snapdir *sd, uint64_t index, char *buf, size_t len)
{
	char path[SNAP_PATH_MAX];

	snap_path(sd, index, path, sizeof(path));
	tmp_of(path, buf, len);
}

/* ------------------------------------------------------------ writing */

struct writer {
	FILE *f;
	uint64_t count;
	uint32_t total;	  /* crc32c of the records minus their own crcs */
	uint64_t bytes;	  /* written so far */
	uint64_t started; /* writeback started up to here (pace()) */
};

/*
 * Every SNAP_WRITEBACK bytes, start writing back what was written since
 * and wait for the chunk before it: the file reaches the disk as it is
 * made, a chunk at a time, instead of as one flood of dirty pages at the
 * final fsync that the WAL's fdatasyncs (the parent's, under load) would
 * queue behind.  A hint only: the final fsync is what makes it durable.
 */
#define SNAP_WRITEBACK (8u << 20)

static void
pace(struct writer *w)
{
	int fd = fileno(w->f);

	if (w->bytes - w->started < SNAP_WRITEBACK || fflush(w->f) != 0)
		return;
	(void)sync_file_range(
	    fd, (off_t)w->started, (off_t)(w->bytes - w->started), SYNC_FILE_RANGE_WRITE);
	if (w->started >= SNAP_WRITEBACK)
		(void)sync_file_range(fd, 0, (off_t)w->started,
		    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			SYNC_FILE_RANGE_WAIT_AFTER);
	w->started = w->bytes;
}

static int
put(struct writer *w, const void *p, size_t len)
{
	if (len > 0 && fwrite(p, 1, len, w->f) != len)
		return errno ? -errno : -EIO;
	w->total = crc32c(w->total, p, len);
	w->bytes += len;
	return 0;
}

static int
write_record(void *arg, const struct store_record *rec)
{
	struct writer *w = arg;
	uint8_t hdr[RECORD_HEAD], crc[4];
	uint32_t c;
	int r;

	put_le32(hdr, (uint32_t)rec->klen);
	put_le32(hdr + 4, (uint32_t)rec->vlen);
	c = crc32c(0, hdr, sizeof(hdr));
	c = crc32c(c, rec->key, rec->klen);
	c = crc32c(c, rec->val, rec->vlen);
	put_le32(crc, c);
	/*
	 * The record's own crc stays out of the running total: a message
	 * followed by its crc checksums to a constant, which would make the
	 * total blind to a record replaced by another that checks.
	 */
	if ((r = put(w, hdr, sizeof(hdr))) < 0 || (r = put(w, rec->key, rec->klen)) < 0 ||
	    (r = put(w, rec->val, rec->vlen)) < 0)
		return r;
	if (fwrite(crc, 1, sizeof(crc), w->f) != sizeof(crc))
		return errno ? -errno : -EIO;
	w->bytes += sizeof(crc);
	w->count++;
	pace(w);
	return 0;
}

/* The header, hlen bytes: HEADER_FIXED, the members blob, the crc. */
static void
header_encode(uint8_t *h, size_t hlen, uint64_t index, uint64_t term, uint64_t count,
    const uint8_t *members, size_t mlen)
{
	struct bytes_writer w;

	bw_init(&w, h, hlen);
	bw_mem(&w, SNAP_MAGIC, 8);
	bw_le32(&w, SNAP_VERSION);
	bw_le32(&w, 0);
	bw_le64(&w, index);
	bw_le64(&w, term);
	bw_le64(&w, count);
	bw_le32(&w, (uint32_t)mlen);
	bw_mem(&w, members, mlen);
	bw_le32(&w, crc32c(0, h, w.len));
}

int
snap_write(struct store *s, const char *path, uint64_t index, uint64_t term,
    const struct raft_member *members, size_t n_members, char *err, size_t errlen)
{
	char tmp[SNAP_PATH_MAX + sizeof(TMP_SUFFIX)];
	struct writer w = { 0 };
	uint8_t *hdr = NULL, *mblob = NULL, trailer[TRAILER_BYTES];
	size_t hlen, mlen = 0;
	int fd, r;

	if (index != store_applied(s) || term != store_applied_term(s)) {
		seterr(err, errlen,
		    "snapshot at %" PRIu64 "/%" PRIu64 " asked, but the store"
		    " has applied %" PRIu64 "/%" PRIu64,
		    index, term, store_applied(s), store_applied_term(s));
		return -EINVAL;
	}
	if (n_members > RAFTCONF_MAX_MEMBERS || (n_members > 0 && members == NULL))
		return -EINVAL;
	if ((r = tmp_of(path, tmp, sizeof(tmp))) < 0) {
		seterr(err, errlen, "snapshot %s: path too long", path);
		return r;
	}
	if ((r = members_encode(members, n_members, &mblob, &mlen)) < 0)
		return r;
	hlen = HEADER_FIXED + mlen + 4;
	if ((hdr = malloc(hlen)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	/* the same mode as the store: snapshots hold every value */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && (w.f = fdopen(fd, "wb")) == NULL) {
		int e = errno;

		close(fd);
		errno = e;
	}
	if (w.f == NULL) {
		r = -errno;
		seterr(err, errlen, "snapshot %s: %s", tmp, strerror(errno));
		goto out;
	}
	setvbuf(w.f, NULL, _IOFBF, FILE_BUFFER);
	/* the record count is known at the end; the header is rewritten then */
	header_encode(hdr, hlen, index, term, 0, mblob, mlen);
	if (fwrite(hdr, 1, hlen, w.f) != hlen) {
		r = -EIO;
		goto io;
	}
	if ((r = store_export(s, write_record, &w)) < 0)
		goto io;
	memcpy(trailer, SNAP_END_MAGIC, 8);
	put_le64(trailer + 8, w.count);
	put_le32(trailer + 16, w.total);
	put_le32(trailer + 20, crc32c(0, trailer, 20));
	header_encode(hdr, hlen, index, term, w.count, mblob, mlen);
	if (fwrite(trailer, 1, sizeof(trailer), w.f) != sizeof(trailer) || fflush(w.f) != 0 ||
	    pwrite(fileno(w.f), hdr, hlen, 0) != (ssize_t)hlen || fsync(fileno(w.f)) < 0) {
		r = errno ? -errno : -EIO;
		goto io;
	}
	r = fclose(w.f) == 0 ? 0 : -errno;
	w.f = NULL;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r == 0)
		r = fs_sync_parent(path);
	if (r < 0)
		goto io;
	goto out;
io:
	seterr(err, errlen, "snapshot %s: cannot write: %s", tmp, strerror(-r));
out:
	if (w.f != NULL)
		fclose(w.f);
	if (r < 0)
		unlink(tmp);
	free(mblob);
	free(hdr);
	return r;
}

/* ------------------------------------------------------------ reading */

struct reader {
	FILE *f;
	const char *path;
	uint64_t off;
	uint8_t *buf; /* the current record */
	size_t cap;
	uint64_t records; /* announced by the header */
	uint64_t done;	  /* read so far */
	uint64_t keys;	  /* of them, "k:" records */
	uint32_t total;	  /* as the trailer's */
	uint32_t version; /* the header's */
	uint8_t *conv;	  /* an older version's record, as the store keeps it now */
	size_t convcap;
	bool partial; /* more bytes may follow the stream: a short read is -EAGAIN */
};

/* Read exactly len bytes; a short read is a truncated file (or -EAGAIN, partial). */
static int
get(struct reader *rd, void *p, size_t len, const char *what, char *err, size_t errlen)
{
	if (len > 0 && fread(p, 1, len, rd->f) != len) {
		if (rd->partial && !ferror(rd->f))
			return -EAGAIN;
		if (ferror(rd->f)) {
			seterr(err, errlen, "snapshot %s: read error at offset %" PRIu64, rd->path,
			    rd->off);
			return -EIO;
		}
		seterr(err, errlen, "snapshot %s: truncated at offset %" PRIu64 " (in the %s)",
		    rd->path, rd->off, what);
		return -EBADMSG;
	}
	rd->off += len;
	return 0;
}

static int
reader_open(struct reader *rd, const char *path, char *err, size_t errlen)
{
	memset(rd, 0, sizeof(*rd));
	rd->path = path;
	rd->f = fopen(path, "rbe");
	if (rd->f == NULL) {
		int r = -errno;

		seterr(err, errlen, "snapshot %s: %s", path, strerror(errno));
		return r;
	}
	setvbuf(rd->f, NULL, _IOFBF, FILE_BUFFER);
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

static void
reader_close(struct reader *rd)
{
	if (rd->f != NULL)
		fclose(rd->f);
	free(rd->buf);
	free(rd->conv);
	rd->f = NULL;
	rd->buf = NULL;
	rd->conv = NULL;
}

/*
 * The membership of a version 1 header: the layout of members.h, but
 * big-endian.  Read only: version 2 keeps it as members.h encodes it.
 */
static int
v1_members_decode(const uint8_t *blob, size_t len, struct raft_member **out, uint32_t *nout)
{
	struct bytes_reader r;
	struct raft_member *m;
	uint32_t n;

	br_init(&r, blob, len);
	n = br_be32(&r);
	if (r.err || n > RAFTCONF_MAX_MEMBERS || br_left(&r) < (size_t)n * MEMBERS_ITEM_HEAD)
		return -EBADMSG;
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
	return -EBADMSG;
}

static int
read_header(struct reader *rd, struct snap_meta *meta, char *err, size_t errlen)
{
	uint8_t fixed[HEADER_FIXED], c[4], *mblob = NULL;
	struct bytes_reader br;
	uint32_t flags, crc, mlen;
	int r;

	memset(meta, 0, sizeof(*meta));
	if ((r = get(rd, fixed, sizeof(fixed), "header", err, errlen)) < 0)
		return r;
	br_init(&br, fixed, sizeof(fixed));
	if (memcmp(br_mem(&br, 8), SNAP_MAGIC, 8) != 0) {
		seterr(err, errlen, "snapshot %s: not a snapshot file (bad magic)", rd->path);
		return -EBADMSG;
	}
	meta->version = br_le32(&br);
	flags = br_le32(&br);
	if (meta->version < SNAP_OLDEST_VERSION || meta->version > SNAP_VERSION || flags != 0) {
		seterr(err, errlen,
		    "snapshot %s: format version %" PRIu32 " (flags %" PRIu32
		    ") is not supported; this build reads versions %d to %d",
		    rd->path, meta->version, flags, SNAP_OLDEST_VERSION, SNAP_VERSION);
		return -EBADMSG;
	}
	meta->index = br_le64(&br);
	meta->term = br_le64(&br);
	meta->records = br_le64(&br);
	mlen = br_le32(&br);
	if (mlen > STORE_MAX_MEMBERS_BYTES) {
		seterr(err, errlen,
		    "snapshot %s: membership of %" PRIu32 " bytes is over the"
		    " limit",
		    rd->path, mlen);
		return -EBADMSG;
	}
	if ((mblob = malloc(mlen + 1)) == NULL)
		return -ENOMEM;
	r = get(rd, mblob, mlen, "header", err, errlen);
	if (r == 0)
		r = get(rd, c, sizeof(c), "header", err, errlen);
	if (r < 0)
		goto out;
	crc = crc32c(crc32c(0, fixed, sizeof(fixed)), mblob, mlen);
	if (crc != get_le32(c)) {
		seterr(err, errlen, "snapshot %s: header checksum mismatch", rd->path);
		r = -EBADMSG;
		goto out;
	}
	if (meta->version == 1)
		r = v1_members_decode(mblob, mlen, &meta->members, &meta->n_members);
	else
		r = members_decode(mblob, mlen, &meta->members, &meta->n_members, NULL, 0);
	if (r == -EBADMSG || r == -E2BIG) {
		seterr(err, errlen, "snapshot %s: the membership in the header is unreadable",
		    rd->path);
		r = -EBADMSG;
	}
	rd->records = meta->records;
	rd->version = meta->version;
out:
	free(mblob);
	if (r < 0)
		snap_meta_free(meta);
	return r;
}

/* The trailer, after the last record, and nothing after it. */
static int
read_trailer(struct reader *rd, char *err, size_t errlen)
{
	uint8_t t[TRAILER_BYTES];
	int r;

	if ((r = get(rd, t, sizeof(t), "trailer", err, errlen)) < 0)
		return r;
	if (memcmp(t, SNAP_END_MAGIC, 8) != 0 || crc32c(0, t, 20) != get_le32(t + 20) ||
	    get_le64(t + 8) != rd->records || get_le32(t + 16) != rd->total) {
		seterr(err, errlen,
		    "snapshot %s: offset %" PRIu64 ": trailer does not match"
		    " the records (count or checksum)",
		    rd->path, rd->off - TRAILER_BYTES);
		return -EBADMSG;
	}
	if (fgetc(rd->f) != EOF) {
		seterr(err, errlen,
		    "snapshot %s: unexpected bytes after the trailer at"
		    " offset %" PRIu64,
		    rd->path, rd->off);
		return -EBADMSG;
	}
	return 0;
}

/*
 * A key's record of a version 1 or 2 snapshot (u64 revision, value) as the
 * store keeps it now (store.h): its create revision and version were not
 * recorded, so they are taken as the revision and 1.  0 (rec rewritten into
 * rd->conv, or left alone), or -ENOMEM.  One too short to convert is left
 * for store_record_ok to refuse.
 */
static int
upgrade_record(struct reader *rd, struct store_record *rec)
{
	size_t need;

	if (rd->version >= 3 || rec->klen < 2 || rec->key[0] != 'k' || rec->key[1] != ':' ||
	    rec->vlen < 8 || rec->vlen > 8 + RAFTCONF_MAX_VALUE)
		return 0;
	need = rec->klen + rec->vlen + 16;
	if (rd->convcap < need) {
		uint8_t *p = realloc(rd->conv, need);

		if (p == NULL)
			return -ENOMEM;
		rd->conv = p;
		rd->convcap = need;
	}
	memcpy(rd->conv, rec->key, rec->klen);
	memcpy(rd->conv + rec->klen, rec->val, 8);     /* revision */
	memcpy(rd->conv + rec->klen + 8, rec->val, 8); /* create revision */
	put_le64(rd->conv + rec->klen + 16, 1);	       /* version */
	memcpy(rd->conv + rec->klen + 24, rec->val + 8, rec->vlen - 8);
	*rec = (struct store_record){ rd->conv, rec->klen, rd->conv + rec->klen, rec->vlen + 16 };
	return 0;
}

/*
 * The next record, checked (its crc, its lengths, a record the store could
 * have written): 1 and *rec, pointing into rd; 0 after the last one, once
 * the trailer checked; or an error.  A store_import_next.
 */
static int
read_record(void *arg, struct store_record *rec, char *err, size_t errlen)
{
	struct reader *rd = arg;
	uint8_t hdr[RECORD_HEAD], c[4];
	uint64_t at = rd->off;
	size_t klen, vlen;
	uint32_t crc;
	int r;

	if (rd->done == rd->records)
		return read_trailer(rd, err, errlen);
	if ((r = get(rd, hdr, sizeof(hdr), "records", err, errlen)) < 0)
		return r;
	klen = get_le32(hdr);
	vlen = get_le32(hdr + 4);
	/* a record of the history of changes may be bigger than a key's: its key
	 * ("h:" and 16 hex) is read with the record, so the bound is checked there */
	if (klen < 3 || klen > 2 + RAFTCONF_MAX_KEY ||
	    vlen > (klen == 18 ? STORE_HISTORY_RECORD_MAX : KV_RECORD_HEAD + RAFTCONF_MAX_VALUE)) {
		seterr(err, errlen,
		    "snapshot %s: offset %" PRIu64 ": record %" PRIu64 " has impossible lengths",
		    rd->path, at, rd->done);
		return -EBADMSG;
	}
	if (rd->cap < klen + vlen) {
		uint8_t *p = realloc(rd->buf, klen + vlen);

		if (p == NULL)
			return -ENOMEM;
		rd->buf = p;
		rd->cap = klen + vlen;
	}
	r = get(rd, rd->buf, klen + vlen, "records", err, errlen);
	if (r == 0)
		r = get(rd, c, sizeof(c), "records", err, errlen);
	if (r < 0)
		return r;
	crc = crc32c(crc32c(0, hdr, sizeof(hdr)), rd->buf, klen + vlen);
	*rec = (struct store_record){ rd->buf, klen, rd->buf + klen, vlen };
	if (crc == get_le32(c) && (r = upgrade_record(rd, rec)) < 0)
		return r;
	if (crc != get_le32(c) || !store_record_ok(rec)) {
		seterr(err, errlen,
		    "snapshot %s: offset %" PRIu64 ": record %" PRIu64 " is corrupt (%s)", rd->path,
		    at, rd->done, crc != get_le32(c) ? "checksum mismatch" : "bad record format");
		return -EBADMSG;
	}
	rd->total = crc32c(rd->total, hdr, sizeof(hdr));
	rd->total = crc32c(rd->total, rd->buf, klen + vlen);
	rd->done++;
	if (rec->key[0] == 'k')
		rd->keys++;
	return 1;
}

int
snap_read_meta(const char *path, struct snap_meta *meta, char *err, size_t errlen)
{
	struct reader rd;
	int r;

	memset(meta, 0, sizeof(*meta));
	if ((r = reader_open(&rd, path, err, errlen)) < 0)
		return r;
	r = read_header(&rd, meta, err, errlen);
	reader_close(&rd);
	return r;
}

int
snap_verify(const char *path, struct snap_meta *meta, char *err, size_t errlen)
{
	struct store_record rec;
	struct reader rd;
	int r;

	memset(meta, 0, sizeof(*meta));
	if ((r = reader_open(&rd, path, err, errlen)) < 0)
		return r;
	r = read_header(&rd, meta, err, errlen);
	while (r == 0 && (r = read_record(&rd, &rec, err, errlen)) > 0)
		r = 0;
	meta->keys = rd.keys;
	if (r < 0)
		snap_meta_free(meta);
	reader_close(&rd);
	return r;
}

int
snap_restore_build(
    const char *store_path, const char *path, struct store_built **out, char *err, size_t errlen)
{
	struct snap_meta meta = { 0 };
	struct reader rd;
	uint8_t *mblob = NULL;
	size_t mlen = 0;
	int r;

	*out = NULL;
	if ((r = reader_open(&rd, path, err, errlen)) < 0)
		return r;
	if ((r = read_header(&rd, &meta, err, errlen)) < 0)
		goto out;
	/* the store keeps the membership as members.h encodes it, whatever the version */
	if ((r = members_encode(meta.members, meta.n_members, &mblob, &mlen)) < 0)
		goto out;
	r = store_replace_build(
	    store_path, meta.index, meta.term, mblob, mlen, read_record, &rd, out, err, errlen);
out:
	reader_close(&rd);
	snap_meta_free(&meta);
	free(mblob);
	return r;
}

int
snap_restore(struct store *s, const char *path, char *err, size_t errlen)
{
	struct store_built *b;
	int r;

	if ((r = snap_restore_build(store_path(s), path, &b, err, errlen)) < 0)
		return r;
	return store_replace_swap(s, b, err, errlen);
}

void
snap_meta_free(struct snap_meta *meta)
{
	if (meta == NULL)
		return;
	free(meta->members);
	memset(meta, 0, sizeof(*meta));
}

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
	if (!c->header && (r = read_header(&rd, &c->meta, err, errlen)) == 0)
		c->header = true;
	if (r == -EAGAIN) /* the header itself is cut: all of it, later */
		rd.off = start;
	while (r == 0 && c->header) {
		uint64_t off = rd.off, done = rd.done, keys = rd.keys;
		uint32_t total = rd.total;

		if ((r = read_record(&rd, &rec, err, errlen)) > 0) {
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
	reader_close(&rd);
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

int
snap_recv_verify(struct snapdir *sd, uint64_t offset, const void *data, size_t len,
    struct snap_meta *meta, char *err, size_t errlen)
{
	static const cookie_io_functions_t io = { .read = joined_read };
	struct joined j = { .fd = -1, .flen = offset, .data = data, .dlen = len };
	char path[SNAP_PATH_MAX];
	struct store_record rec;
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
	r = read_header(&rd, meta, err, errlen);
	while (r == 0 && (r = read_record(&rd, &rec, err, errlen)) > 0)
		r = 0;
	meta->keys = rd.keys;
	if (r < 0)
		snap_meta_free(meta);
out:
	reader_close(&rd);
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
	char path[SNAP_PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(sd->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 16 + strlen(tail) || strcmp(de->d_name + 16, tail) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", sd->dir, de->d_name);
		unlink(path);
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
	char part[SNAP_PATH_MAX];
	int rc;

	if (sd->in_fd < 0)
		return -EBADF;
	if ((rc = snap_recv_sync(sd)) < 0)
		return rc;
	close(sd->in_fd);
	sd->in_fd = -1;
	check_clear(&sd->chk);
	snprintf(part, sizeof(part), "%s/" INCOMING_NAME, sd->dir);
	snap_path(sd, index, path, pathlen);
	if (rename(part, path) < 0)
		return -errno;
	return fs_sync_dir(sd->dir);
}
