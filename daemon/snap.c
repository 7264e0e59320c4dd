/*
 * snap.c — snapshot files (contract and file format in snap.h): writing one
 * from a store, reading and checking one, restoring a store from one.
 * The snapshot directory and the chunks that carry a snapshot between
 * nodes are snapdir.c's.
 *
 * Not here: when to take or install one, and doing it off the event loop
 * (the node); how the store keeps its records (store.c hands them out with
 * store_export and takes them in with store_replace).  Nothing read from a
 * file is used before its checksum and its lengths have been checked.
 */
#include "snap_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "crc32c.h"
#include "errbuf.h"
#include "fsutil.h"
#include "members.h"

#define SNAP_MAGIC     "RCSNAP\0\0"
#define SNAP_END_MAGIC "RCSNEND\0"
#define HEADER_FIXED   44 /* up to and including the members length */
#define TRAILER_BYTES  24
#define RECORD_HEAD    8 /* u32 key length, u32 value length */
/* A "k:" record's bytes before the value (store.h): three u64. */
#define KV_RECORD_HEAD 24
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

void
snap__reader_close(struct reader *rd)
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

int
snap__read_header(struct reader *rd, struct snap_meta *meta, char *err, size_t errlen)
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
int
snap__read_record(void *arg, struct store_record *rec, char *err, size_t errlen)
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
	r = snap__read_header(&rd, meta, err, errlen);
	snap__reader_close(&rd);
	return r;
}

int
snap__check_all(struct reader *rd, struct snap_meta *meta, char *err, size_t errlen)
{
	struct store_record rec;
	int r = snap__read_header(rd, meta, err, errlen);

	while (r == 0 && (r = snap__read_record(rd, &rec, err, errlen)) > 0)
		r = 0;
	meta->keys = rd->keys;
	if (r < 0)
		snap_meta_free(meta);
	return r;
}

int
snap_verify(const char *path, struct snap_meta *meta, char *err, size_t errlen)
{
	struct reader rd;
	int r;

	memset(meta, 0, sizeof(*meta));
	if ((r = reader_open(&rd, path, err, errlen)) < 0)
		return r;
	r = snap__check_all(&rd, meta, err, errlen);
	snap__reader_close(&rd);
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
	if ((r = snap__read_header(&rd, &meta, err, errlen)) < 0)
		goto out;
	/* the store keeps the membership as members.h encodes it, whatever the version */
	if ((r = members_encode(meta.members, meta.n_members, &mblob, &mlen)) < 0)
		goto out;
	r = store_replace_build(store_path, meta.index, meta.term, mblob, mlen, snap__read_record,
	    &rd, out, err, errlen);
out:
	snap__reader_close(&rd);
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
