/*
 * wal_replay.c — reading the segments of a wal back at open: checking each
 * record, rebuilding the log (truncations, snapshot markers), and telling
 * the torn tail a crash may leave in the last segment from damage anywhere
 * else (the rules are in wal.h, "Replay").
 *
 * Not here: listing the segments and acting on what replay found (cutting
 * the torn tail off, starting the writer: wal.c), whether a record is whole
 * (wal_record.c), and any write to the disk: replay only reads.  This file
 * calls only wal_record.c and wal_file.c.
 */
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
#include "wal.h"
#include "wal_file.h"
#include "wal_record.h"
#include "wal_replay.h"
#include "wal_state.h"

/* ------------------------------------------------------------ the log as read back */

uint64_t
wal_replay_first(const struct replay *r)
{
	return r->ents[r->head].index;
}

static uint64_t
rp_last(const struct replay *r)
{
	return r->ents[r->head + r->n - 1].index;
}

static void
rp_free_range(struct replay *r, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		free(r->ents[i].data);
		r->ents[i].data = NULL;
	}
}

static void
rp_clear(struct replay *r)
{
	rp_free_range(r, r->head, r->head + r->n);
	r->head = r->n = 0;
}

static int
rp_push(struct replay *r, const struct wal_entry *e)
{
	if (r->head + r->n == r->cap && r->head > 0) {
		memmove(r->ents, r->ents + r->head, r->n * sizeof(*r->ents));
		r->head = 0;
	}
	if (wal_grow((void **)&r->ents, &r->cap, r->head + r->n + 1, sizeof(*r->ents)) < 0)
		return -ENOMEM;
	r->ents[r->head + r->n++] = *e;
	return 0;
}

void
wal_replay_free(struct replay *r)
{
	rp_clear(r);
	free(r->ents);
	r->ents = NULL;
	r->cap = 0;
}

/* ------------------------------------------------------------ segments */

/* Apply one record that checks; semantic errors name the file and offset. */
static int
replay_record(struct replay *r, struct seg *seg, const char *name, size_t off, const uint8_t *p,
    size_t len, char *err, size_t errlen)
{
	struct bytes_reader br;
	const uint8_t *data;
	struct wal_entry e;

	br_init(&br, p + 1, len - 1);
	switch (p[0]) {
	case REC_ENTRY:
		e.index = br_le64(&br);
		e.term = br_le64(&br);
		e.type = br_u8(&br);
		if (br.err)
			goto badsize;
		e.len = (uint32_t)br_left(&br);
		data = br_mem(&br, e.len);
		e.data = NULL;
		if (e.index <= r->snap_index) {
			seterr(err, errlen,
			    "wal: %s/%s: offset %zu: entry %" PRIu64
			    " is at or below the snapshot index %" PRIu64,
			    r->dir, name, off, e.index, r->snap_index);
			return -EBADMSG;
		}
		if (r->n > 0) {
			if (e.index > rp_last(r) + 1) {
				seterr(err, errlen,
				    "wal: %s/%s: offset %zu: entry %" PRIu64
				    " follows entry %" PRIu64 " (gap in the log)",
				    r->dir, name, off, e.index, rp_last(r));
				return -EBADMSG;
			}
			if (e.index < wal_replay_first(r)) {
				rp_clear(r);
			} else if (e.index <= rp_last(r)) {
				size_t keep = (size_t)(e.index - wal_replay_first(r));

				rp_free_range(r, r->head + keep, r->head + r->n);
				r->n = keep;
			}
		}
		if (e.len > 0) {
			e.data = malloc(e.len);
			if (e.data == NULL)
				return -ENOMEM;
			memcpy(e.data, data, e.len);
		}
		if (rp_push(r, &e) < 0) {
			free(e.data);
			return -ENOMEM;
		}
		if (e.index > seg->max_index)
			seg->max_index = e.index;
		return 0;
	case REC_HARDSTATE:
		if (br_left(&br) != HARDSTATE_BYTES)
			goto badsize;
		r->hs.term = br_le64(&br);
		r->hs.vote = br_le64(&br);
		r->hs.commit = br_le64(&br);
		return 0;
	case REC_SNAPSHOT: {
		uint64_t index, term;
		uint8_t flags;

		if (br_left(&br) != SNAPSHOT_BYTES)
			goto badsize;
		index = br_le64(&br);
		term = br_le64(&br);
		flags = br_u8(&br);
		if (index < r->snap_index ||
		    (index == r->snap_index && term != r->snap_term && index != 0)) {
			seterr(err, errlen,
			    "wal: %s/%s: offset %zu: snapshot marker %" PRIu64 "/%" PRIu64
			    " contradicts the earlier %" PRIu64 "/%" PRIu64,
			    r->dir, name, off, index, term, r->snap_index, r->snap_term);
			return -EBADMSG;
		}
		/* The log agreed with the snapshot (no DISCARDED flag): the
		 * entries up to it stay, the margin kept for slow followers. */
		if (flags & SNAP_DISCARDED)
			rp_clear(r);
		r->snap_index = index;
		r->snap_term = term;
		return 0;
	}
	case REC_CATCH_UP:
		if (br_left(&br) != CATCH_UP_BYTES)
			goto badsize;
		r->catch_up = br_le64(&br);
		return 0;
	default:
		if (p[0] >= REC_OPTIONAL)
			return 0;
		seterr(err, errlen, "wal: %s/%s: offset %zu: unknown record type %u", r->dir, name,
		    off, p[0]);
		return -EBADMSG;
	}
badsize:
	seterr(err, errlen,
	    "wal: %s/%s: offset %zu: record type %u has a payload of"
	    " %zu bytes",
	    r->dir, name, off, p[0], len - 1);
	return -EBADMSG;
}

static int
read_segment(int dirfd, const char *name, uint8_t **out, size_t *size)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t done = 0;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > SIZE_MAX / 2) {
		r = -EFBIG;
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (b == NULL) {
		r = -ENOMEM;
		goto out;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = pread(fd, b + done, (size_t)st.st_size - done, (off_t)done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*out = b;
	*size = done;
	b = NULL;
out:
	free(b);
	close(fd);
	return r;
}

/* Is b[from, to) all zero?  If not, *last is the offset of its last nonzero byte. */
static bool
all_zero(const uint8_t *b, size_t from, size_t to, size_t *last)
{
	for (size_t i = to; i > from; i--) {
		if (b[i - 1] != 0) {
			*last = i - 1;
			return false;
		}
	}
	return true;
}

/*
 * Replay one segment.  For the last segment, what follows the last good
 * record and is not a clean end (a damaged record with nothing that checks
 * after it, or bytes after the zeros that end a version 2 segment) is a
 * write a crash cut short: reported in *se, for wal_open to clear.
 */
int
wal_replay_segment(struct replay *r, int dirfd, struct seg *seg, bool last, struct seg_end *se,
    char *err, size_t errlen)
{
	char name[SEG_NAME_SIZE];
	uint8_t *b = NULL;
	size_t size = 0, off, nz = 0;
	int ret;

	memset(se, 0, sizeof(*se));
	wal_seg_name(name, sizeof(name), seg->seq, seg->first_index, false);
	ret = read_segment(dirfd, name, &b, &size);
	if (ret < 0) {
		seterr(err, errlen, "wal: %s/%s: %s", r->dir, name, strerror(-ret));
		goto out;
	}
	se->fsize = size;
	ret = -EBADMSG;
	if (size < WAL_HEADER_BYTES) {
		seterr(err, errlen, "wal: %s/%s: segment header cut short (%zu bytes)", r->dir,
		    name, size);
		goto out;
	}
	if (memcmp(b, WAL_MAGIC, 8) != 0 ||
	    crc32c(0, b, WAL_HEADER_BYTES - 4) != get_le32(b + WAL_HEADER_BYTES - 4)) {
		seterr(err, errlen,
		    "wal: %s/%s: offset 0: bad segment header (magic or"
		    " checksum)",
		    r->dir, name);
		goto out;
	}
	se->version = get_le32(b + 8);
	if (se->version != 1 && se->version != WAL_VERSION) {
		seterr(err, errlen,
		    "wal: %s/%s: format version %" PRIu32
		    " is not supported (this build reads versions 1 and %d)",
		    r->dir, name, se->version, WAL_VERSION);
		goto out;
	}
	if (get_le64(b + 12) != seg->seq) {
		seterr(err, errlen,
		    "wal: %s/%s: header says sequence %" PRIu64 ", the name %" PRIu64, r->dir, name,
		    get_le64(b + 12), seg->seq);
		goto out;
	}

	off = WAL_HEADER_BYTES;
	while (off < size) {
		size_t total = 0, p;
		const char *why;

		/*
		 * Version 2 segments are preallocated: zeros where a record
		 * header would be end the records.  After them comes nothing
		 * but zeros, unless a crash cut an unsynced write short whose
		 * later pages reached the disk before its first (never
		 * acknowledged: a sync covers everything written before it).
		 */
		if (se->version >= 2 &&
		    all_zero(b, off, off + (size - off < REC_HDR ? size - off : REC_HDR), &nz)) {
			/* Zeros where a record header would be: the end, if only
			 * zeros follow. */
			if (all_zero(b, off, size, &nz))
				break;
			why = "bytes of an unfinished write after the last record";
		} else {
			why = wal_rec_check(b, size, off, &total);
			if (why == NULL && se->version >= 2 && b[off + REC_HDR] == REC_SYNC &&
			    !wal_rec_is_sync_mark(b, size, off))
				why = "a sync mark out of place";
			if (why == NULL) {
				ret = replay_record(r, seg, name, off, b + off + REC_HDR,
				    total - REC_HDR, err, errlen);
				if (ret < 0)
					goto out;
				off += total;
				continue;
			}
		}
		ret = -EBADMSG;
		if (!last) {
			seterr(err, errlen,
			    "wal: %s/%s: offset %zu: %s in a segment that"
			    " is not the last; refusing to start (this is damage, not a"
			    " torn write)",
			    r->dir, name, off, why);
			goto out;
		}
		if (se->version < 2) {
			/*
			 * A write cut by a crash leaves no record that checks
			 * after the damage; if one does, this is older,
			 * acknowledged data gone bad and truncating would lose it.
			 */
			for (p = off + 1; p + REC_HDR < size; p++) {
				if (wal_rec_check(b, size, p, &total) == NULL) {
					seterr(err, errlen,
					    "wal: %s/%s: offset %zu: %s, but a"
					    " valid record follows at offset %zu; refusing to"
					    " start (this is damage, not a torn write)",
					    r->dir, name, off, why, p);
					goto out;
				}
			}
			se->cut = size - off;
		} else {
			/*
			 * Version 2 writes in place, so a crash during a sync may
			 * leave any of its pages on disk and not the others:
			 * records that check may follow the damage.  But a sync
			 * starts with a mark, and one starts only after the one
			 * before it returned: a mark after the damage means the
			 * damage is in data a completed sync made durable.
			 */
			for (p = off + 1; p + SYNC_MARK_BYTES <= size; p++) {
				if (wal_rec_is_sync_mark(b, size, p)) {
					seterr(err, errlen,
					    "wal: %s/%s: offset %zu: %s, but a"
					    " later sync's mark follows at offset %zu; refusing"
					    " to start (this is damage, not a torn write)",
					    r->dir, name, off, why, p);
					goto out;
				}
			}
			all_zero(b, off, size, &nz);
			se->cut = nz + 1 - off;
		}
		se->why = strcmp(why, "bytes of an unfinished write after the last record") == 0
		    ? why
		    : "torn record";
		break;
	}
	se->end = off;
	ret = 0;
out:
	free(b);
	return ret;
}
