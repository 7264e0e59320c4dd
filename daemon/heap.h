/*
 * heap.h — giving the heap a burst of work freed back to the kernel.
 *
 * A burst of writes leaves a node's heap mostly free: the store's
 * transaction blocks, received snapshot chunks, the log's entries before a
 * snapshot compacted them.  glibc keeps those pages (it returns only the
 * top of the heap, past a threshold it raises itself), so an idle learner
 * held 17 MB of heap of which 5 MB were in use (bench-fleet, issue 17);
 * malloc_trim(0) gives back every free page, inside the heap too.  Once a
 * tick the driver asks heap_trim_tick(), which trims when more than
 * HEAP_TRIM_FREE_BYTES lie free, at most every HEAP_TRIM_EVERY_MS: a busy
 * node faults those pages in again at most once in that time.
 *
 * Not for: anything but glibc's allocator (elsewhere, and under a
 * sanitizer's, which keeps its own books, nothing is ever due).
 */
#ifndef RAFTCONF_HEAP_H
#define RAFTCONF_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_TRIM_FREE_BYTES (4u * 1024 * 1024)
#define HEAP_TRIM_EVERY_MS   10000
#define HEAP_CHECK_EVERY_MS  1000 /* mallinfo2 walks the free lists */

struct heap_trim {
	uint64_t checked_ms;  /* the last count of free bytes */
	uint64_t last_ms;     /* the last trim (0: none yet) */
	uint64_t trims;	      /* how many, for status */
	uint64_t freed_bytes; /* free bytes the allocator held at those trims */
};

/* Pure: a trim is due with free_bytes free at now_ms, the last at last_ms. */
bool heap_trim_due(size_t free_bytes, uint64_t now_ms, uint64_t last_ms);

/* The heap's free bytes, as the allocator counts them (0: unknown). */
size_t heap_free_bytes(void);

/* Trim if due; true when it did. */
bool heap_trim_tick(struct heap_trim *h, uint64_t now_ms);

#endif
