/*
 * tdbscan.c — a tdb file's records in the file's order (tdbscan.h).
 *
 * The layout read here is tdb 1.4's (tdb_private.h, and tdb_check's walk
 * in check.c, which this follows): a header of 168 bytes, the free list's
 * head and hash_size chain heads of 4 bytes each, then records to the end
 * of the file, each a header of six 32-bit words (next, rec_len, key_len,
 * data_len, full_hash, magic) and rec_len bytes: the key, the data,
 * padding, and a 4-byte tailer.  Free, dead and the recovery area's
 * records are skipped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "tdbscan.h"

#define HDR_BYTES	 168
#define HDR_VERSION	 (0x26011967 + 6)
#define MAGIC_USED	 0x26011999U
#define MAGIC_FREE	 (~MAGIC_USED)
#define MAGIC_DEAD	 0xFEE1DEADU
#define MAGIC_RECOVERY	 0xf53bc0e7U
#define MAGIC_RECOVERY_0 0x0U
#define REC_BYTES	 24

struct rec {
	uint32_t next, rec_len, key_len, data_len, full_hash, magic;
};

static uint32_t
u32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
rec_at(const uint8_t *p, struct rec *r)
{
	memcpy(r, p, sizeof(*r));
}

/* The first record's offset, and the recovery area's (0: none); false: not a file to walk. */
static bool
header_ok(const uint8_t *m, size_t size, uint64_t *start, uint32_t *recovery)
{
	uint32_t hash_size;

	if (size < HDR_BYTES || memcmp(m, "TDB file\n", 10) != 0)
		return false;
	if (u32_at(m + 32) != HDR_VERSION) /* another byte order, or format */
		return false;
	hash_size = u32_at(m + 36);
	*recovery = u32_at(m + 44);
	if (hash_size == 0 || u32_at(m + 64) != 0) /* mutex_size: not ours */
		return false;
	*start = HDR_BYTES + ((uint64_t)hash_size + 1) * 4;
	return *start <= size && (*recovery == 0 || (*recovery >= *start && *recovery < size));
}

/* One record's header at off is what the format allows. */
static bool
rec_ok(const uint8_t *m, size_t size, uint64_t off, uint32_t recovery, const struct rec *r)
{
	uint64_t end = off + REC_BYTES + (uint64_t)r->rec_len;

	if (r->rec_len % 4 != 0 || r->rec_len < 4 || end > size)
		return false;
	switch (r->magic) {
	case MAGIC_USED:
		/* key, data and the tailer, which holds the record's whole length */
		return (uint64_t)r->key_len + r->data_len + 4 <= r->rec_len &&
		    u32_at(m + end - 4) == REC_BYTES + r->rec_len;
	case MAGIC_FREE:
	case MAGIC_DEAD:
		return true;
	case MAGIC_RECOVERY:
	case MAGIC_RECOVERY_0:
		return off == recovery;
	default:
		return false;
	}
}

/* The file mapped read-only, its header checked: 0 and *m, *size, *start,
 * *recovery; seq: to be read from start to end. */
static int
map_file(struct tdb_context *tdb, bool seq, uint8_t **m, size_t *size, uint64_t *start,
    uint32_t *recovery)
{
	int fd = tdb_fd(tdb);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return fd < 0 ? -EBADF : -errno;
	*size = (size_t)st.st_size;
	if (*size < HDR_BYTES)
		return -EBADMSG;
	*m = mmap(NULL, *size, PROT_READ, MAP_SHARED, fd, 0);
	if (*m == MAP_FAILED)
		return -errno;
	if (seq)
		(void)madvise(*m, *size, MADV_SEQUENTIAL);
	if (!header_ok(*m, *size, start, recovery)) {
		munmap(*m, *size);
		return -EBADMSG;
	}
	return 0;
}

/* Every record header, checked: 0, or -EBADMSG at the first that is not right. */
static int
headers_ok(const uint8_t *m, size_t size, uint64_t start, uint32_t recovery)
{
	uint64_t off;
	struct rec r;

	for (off = start; off + REC_BYTES <= size; off += REC_BYTES + (uint64_t)r.rec_len) {
		rec_at(m + off, &r);
		if (!rec_ok(m, size, off, recovery, &r))
			return -EBADMSG;
	}
	return off == size ? 0 : -EBADMSG;
}

/*
 * The free list from its head, next by next, into *f; 1 if a record of it
 * reaches past end, else 0; -EBADMSG for a list that leaves the file, loops
 * or holds a record that is not free.  (tdb keeps every free record on it:
 * what tdb can allocate from, and what its repack weighs.)
 */
static int
walk_free(const uint8_t *m, size_t size, uint64_t start, uint64_t end, struct tdbscan_free *f)
{
	uint64_t steps = 0;
	uint32_t next;
	struct rec r;
	int rc = 0;

	for (next = u32_at(m + HDR_BYTES); next != 0; next = r.next) {
		if (next < start || (uint64_t)next + REC_BYTES > size || next % 4 != 0 ||
		    ++steps > size / REC_BYTES)
			return -EBADMSG; /* off the file, or a loop */
		rec_at(m + next, &r);
		if (r.magic != MAGIC_FREE || (uint64_t)next + REC_BYTES + r.rec_len > size)
			return -EBADMSG;
		if ((uint64_t)next + REC_BYTES + r.rec_len > end)
			rc = 1;
		f->bytes += r.rec_len;
		f->records++;
		if (r.rec_len > f->largest)
			f->largest = r.rec_len;
	}
	return rc;
}

int
tdbscan_free(struct tdb_context *tdb, struct tdbscan_free *f)
{
	uint32_t recovery;
	uint64_t start;
	uint8_t *m;
	size_t size;
	int rc;

	memset(f, 0, sizeof(*f));
	if ((rc = map_file(tdb, false, &m, &size, &start, &recovery)) < 0)
		return rc;
	rc = walk_free(m, size, start, UINT64_MAX, f);
	munmap(m, size);
	if (rc < 0) {
		memset(f, 0, sizeof(*f));
		return rc;
	}
	f->file_bytes = size;
	return 0;
}

int
tdbscan_free_past(struct tdb_context *tdb, uint64_t end)
{
	struct tdbscan_free f = { 0 };
	uint32_t recovery;
	uint64_t start;
	uint8_t *m;
	size_t size;
	int rc;

	if ((rc = map_file(tdb, false, &m, &size, &start, &recovery)) < 0)
		return rc;
	rc = walk_free(m, size, start, end, &f);
	munmap(m, size);
	return rc;
}

int
tdbscan(struct tdb_context *tdb, tdb_traverse_func cb, void *arg)
{
	uint32_t recovery;
	uint64_t start, off;
	uint8_t *m;
	struct rec r;
	size_t size;
	int rc;

	if ((rc = map_file(tdb, true, &m, &size, &start, &recovery)) < 0)
		return rc;
	/* every header first: a file that does not walk gets no call at all */
	if ((rc = headers_ok(m, size, start, recovery)) < 0)
		goto out;
	for (off = start; off < size; off += REC_BYTES + (uint64_t)r.rec_len) {
		TDB_DATA key, data;

		rec_at(m + off, &r);
		if (r.magic != MAGIC_USED)
			continue;
		key.dptr = m + off + REC_BYTES;
		key.dsize = r.key_len;
		data.dptr = key.dptr + r.key_len;
		data.dsize = r.data_len;
		if (cb(tdb, key, data, arg) != 0)
			break;
	}
out:
	munmap(m, size);
	return rc;
}
