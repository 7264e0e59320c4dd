/*
 * wal_file.c — the small helpers the wal's files share below the format:
 * writing a whole buffer at an offset, writing zeros, syncing a directory,
 * and growing an array.
 *
 * Not here: what is written, or where in a segment (wal_record.c,
 * wal_sync.c).  This file calls no other file of the wal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "wal.h"
#include "wal_file.h"

int
wal_pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off, uint64_t *nwrites)
{
	while (len > 0) {
		ssize_t r = pwrite(fd, p, len, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (nwrites != NULL)
			(*nwrites)++;
		p += r;
		off += (uint64_t)r;
		len -= (size_t)r;
	}
	return 0;
}

int
wal_zero_fill(int fd, uint64_t off, uint64_t end)
{
	static const uint8_t zeros[64 * 1024];
	int r;

	while (off < end) {
		size_t n = end - off < sizeof(zeros) ? (size_t)(end - off) : sizeof(zeros);

		if ((r = wal_pwrite_all(fd, zeros, n, off, NULL)) < 0)
			return r;
		off += n;
	}
	return 0;
}

int
wal_grow(void **buf, size_t *cap, size_t need, size_t sz)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / sz)
			return -ENOMEM;
		ncap *= 2;
	}
	p = realloc(*buf, ncap * sz);
	if (p == NULL)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}
