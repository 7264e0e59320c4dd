/*
 * mapkeep.c — keeps the store's file mapped across tdb's remaps.
 *
 * tdb 1.4 unmaps its whole file and maps it again whenever it looks at the
 * file's size beyond its map (tdb_oob, "we do this unconditionally"), and
 * tdb_transaction_start does so at every start: a voter threw its mapping
 * away once a tick.  Every page touched afterwards faulted in again, and
 * every page written took a write-protect fault through the file system's
 * page_mkwrite.  On the leader at 64 clients of 128-byte new keys, a
 * transaction's start took 1.4-1.8 ms and its commit 3.7-4.4 ms; with the
 * mapping kept, 0.2 ms and 1.7-2.1 ms (BENCHMARKS.md, session 15).
 *
 * So this file defines mmap and munmap for the process: the executable's
 * definitions come first in the dynamic linker's lookup, for libtdb as for
 * any library.  Everything goes straight to the kernel, as the C library's
 * would, but for one case: a shared mapping of a regular file, unmapped
 * whole and then mapped again at once, with the same length, protection,
 * flags and offset, of the same file (device and inode).  The munmap is held
 * back and the mmap that follows gets the same mapping: a shared mapping of
 * a file shows the file's pages, so the caller sees what a fresh mapping
 * would show.  Any other mmap or munmap first really unmaps what is held
 * back.  Nothing changes until mapkeep_init() (store_open calls it).
 *
 * Not here: anything tdb-specific; the store (store.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mapkeep.h"

/* Shared file mappings it knows of: tdb maps one file a store. */
#define MAPKEEP_SLOTS 16

struct mapping {
	void *ptr;
	size_t len;
	int prot, flags;
	off_t off;
	dev_t dev;
	ino_t ino;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping maps[MAPKEEP_SLOTS];
static int n_maps;
static int held = -1; /* the slot of a mapping unmapped in name only */
static bool armed;
static uint64_t kept;

static void
prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void
release(void)
{
	pthread_mutex_unlock(&lock);
}

static void
arm(void)
{
	/* The lock is held across fork: a snapshot's child may map while
	 * another thread of the parent was in here. */
	if (pthread_atfork(prepare, release, release) == 0)
		__atomic_store_n(&armed, true, __ATOMIC_RELEASE);
}

void
mapkeep_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, arm);
}

uint64_t
mapkeep_kept(void)
{
	uint64_t k;

	pthread_mutex_lock(&lock);
	k = kept;
	pthread_mutex_unlock(&lock);
	return k;
}

static void *
sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int
sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

static void
forget(int i)
{
	maps[i] = maps[--n_maps];
	if (held == n_maps)
		held = i;
}

/* The mappings that [a, a + len) overlaps.  With the lock held, none held. */
static void
forget_range(uintptr_t a, size_t len)
{
	for (int i = n_maps - 1; i >= 0; i--) {
		uintptr_t b = (uintptr_t)maps[i].ptr;

		if (b < a + len && a < b + maps[i].len)
			forget(i);
	}
}

/* What is held back is unmapped for real.  With the lock held. */
static void
drop_held(void)
{
	int saved = errno;

	if (held < 0)
		return;
	sys_munmap(maps[held].ptr, maps[held].len);
	forget(held);
	held = -1;
	errno = saved;
}

void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct stat st;
	bool file = false;
	void *p;

	if (!__atomic_load_n(&armed, __ATOMIC_ACQUIRE))
		return sys_mmap(addr, len, prot, flags, fd, off);
	if (fd >= 0 && (flags & MAP_SHARED) && !(flags & MAP_FIXED) && addr == NULL)
		file = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	pthread_mutex_lock(&lock);
	if (held >= 0) {
		const struct mapping *m = &maps[held];

		if (file && m->len == len && m->prot == prot && m->flags == flags &&
		    m->off == off && m->dev == st.st_dev && m->ino == st.st_ino) {
			p = m->ptr;
			held = -1;
			kept++;
			pthread_mutex_unlock(&lock);
			return p;
		}
		drop_held();
	}
	p = sys_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && (flags & MAP_FIXED))
		forget_range((uintptr_t)p, len); /* what it replaced is gone */
	if (p != MAP_FAILED && file && n_maps < MAPKEEP_SLOTS)
		maps[n_maps++] = (struct mapping){ p, len, prot, flags, off, st.st_dev, st.st_ino };
	pthread_mutex_unlock(&lock);
	return p;
}

int
munmap(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	int r;

	if (!__atomic_load_n(&armed, __ATOMIC_ACQUIRE))
		return sys_munmap(addr, len);
	pthread_mutex_lock(&lock);
	drop_held();
	for (int i = 0; i < n_maps; i++) {
		if (maps[i].ptr == addr && maps[i].len == len) {
			held = i;
			pthread_mutex_unlock(&lock);
			return 0;
		}
	}
	forget_range(a, len); /* what else it unmaps is no longer known here */
	r = sys_munmap(addr, len);
	pthread_mutex_unlock(&lock);
	return r;
}
