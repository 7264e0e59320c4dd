/*
 * walend SEGMENT — print the offset where the records of a WAL segment end,
 * for tests that damage a WAL the way a crash would (tests/faults.test).
 * Walks the length fields from the header on; stops at eight zero bytes
 * (the preallocated rest of a version 2 segment), at the end of the file,
 * or at a record that would run past it.  Checks no checksum: use it on a
 * segment a stopped node left clean.
 */
#include <stdint.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	unsigned char h[8];
	long off = 32;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: walend SEGMENT\n");
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	for (;;) {
		uint32_t len;

		if (fseek(f, off, SEEK_SET) != 0 || fread(h, 1, 8, f) != 8)
			break;
		len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
			(uint32_t)h[3] << 24;
		if (len == 0)
			break;
		if (fseek(f, off + 8 + (long)len - 1, SEEK_SET) != 0 || fgetc(f) == EOF)
			break;
		off += 8 + (long)len;
	}
	fclose(f);
	printf("%ld\n", off);
	return 0;
}
