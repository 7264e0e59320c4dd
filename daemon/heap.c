/*
 * heap.c — giving the heap a burst of work freed back to the kernel
 * (heap.h).
 */
#include "heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_OWN_BOOKS 1 /* the sanitizer's allocator: glibc's calls see none of it */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_OWN_BOOKS 1
#endif
#endif

bool
heap_trim_due(size_t free_bytes, uint64_t now_ms, uint64_t last_ms)
{
	return free_bytes > HEAP_TRIM_FREE_BYTES &&
	    (last_ms == 0 || now_ms >= last_ms + HEAP_TRIM_EVERY_MS);
}

size_t
heap_free_bytes(void)
{
#if defined(__GLIBC__) && !defined(HEAP_OWN_BOOKS) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	struct mallinfo2 mi = mallinfo2();

	return mi.fordblks;
#else
	return 0;
#endif
}

bool
heap_trim_tick(struct heap_trim *h, uint64_t now_ms)
{
	size_t free_bytes;

	if ((h->last_ms != 0 && now_ms < h->last_ms + HEAP_TRIM_EVERY_MS) ||
	    (h->checked_ms != 0 && now_ms < h->checked_ms + HEAP_CHECK_EVERY_MS))
		return false; /* most ticks: not even a count of the free bytes */
	h->checked_ms = now_ms;
	free_bytes = heap_free_bytes();
	if (!heap_trim_due(free_bytes, now_ms, h->last_ms))
		return false;
#if defined(__GLIBC__)
	malloc_trim(0);
#endif
	h->last_ms = now_ms;
	h->trims++;
	h->freed_bytes += free_bytes;
	return true;
}
