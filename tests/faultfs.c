/*
 * faultfs.c — an LD_PRELOAD library that counts, traces and breaks the
 * calls through which a process makes its data durable, so that a test can
 * crash the real daemon right before or right after each of them, or make
 * one fail (tests/crashpoint.test).
 *
 * It is not a file system and changes nothing unless told to by the
 * environment (read once, at load):
 *
 *   FAULTFS_CALLS=fsync,fdatasync,...  the calls counted (default: fsync,
 *              fdatasync, sync_file_range, rename, renameat, unlink, unlinkat,
 *              ftruncate, fallocate).  Names: write, pwrite, writev, pwritev,
 *              fsync, fdatasync, sync_file_range, rename, renameat, unlink,
 *              unlinkat, ftruncate, fallocate, creat (an open with O_CREAT),
 *              or "all".  pwrite64 counts as pwrite, pwritev2 as pwritev,
 *              renameat2 as renameat.
 *   FAULTFS_PATH=GLOB[:GLOB...]  count only calls on a path matching one of
 *              them (fnmatch, '*' matches '/' too); a rename matches by either
 *              name.  Paths come from a descriptor table filled by open,
 *              openat, creat, dup*, close (or /proc/self/fd as a fallback);
 *              writes to descriptors without a path (sockets, pipes, eventfd)
 *              are never counted.
 *   FAULTFS_TRACK=GLOB[:GLOB...]  the files a power cut or FAULTFS_DROP may
 *              take writes from (default: FAULTFS_PATH); lets a test count
 *              one call on one file and still lose every unsynced write.
 *   FAULTFS_TRACE=FILE  append one line per counted call: "N CALL PATH[ -> PATH]
 *              pid=P[ child][ <- MODE]".
 *   FAULTFS_AT=N       act at the Nth counted call (1-based), as FAULTFS_MODE:
 *              crash-before  SIGKILL before the call is made
 *              crash-after   SIGKILL right after it returned
 *              eio, enospc   fail it with EIO or ENOSPC without making it
 *                            (FAULTFS_STICKY=1: every later counted call too;
 *                            FAULTFS_DROP=1: a failed fsync or fdatasync
 *                            loses the file's unsynced writes, as Linux's
 *                            page cache does after a writeback error)
 *              powercut      before the call, undo what a power cut could
 *                            lose, then SIGKILL (below)
 *              hang          the calling thread waits before the call
 *                            until the file FAULTFS_RELEASE exists (the
 *                            process's other threads go on: a restore's
 *                            thread held while the event loop serves)
 *              stop          SIGSTOP the calling process before the call;
 *                            it is made once a test sends SIGCONT (with
 *                            FAULTFS_CHILD=1, a snapshot's writer held
 *                            midway while its parent goes on)
 *   FAULTFS_RELEASE=FILE  what FAULTFS_MODE=hang waits for.
 *   FAULTFS_ARM=FILE   count nothing until FILE exists (then for good), so a
 *              test can skip a start-up it does not want numbered.
 *   FAULTFS_CHILD=1    count in forked children too (the daemon's snapshot
 *              writer).  The counter is shared with them, and a crash in a
 *              child kills its parent first, then itself: a machine that
 *              crashes takes both.  By default children are left alone: a
 *              kill(getpid()) there would stop only the child.
 *   FAULTFS_BOOT_ID=UUID  what /proc/sys/kernel/random/boot_id reads as
 *              through fopen: a restart after a simulated power cut is a
 *              new boot.
 *
 * Whatever acts says so on stderr, one line: "faultfs: #N CALL PATH: MODE".
 *
 * The power cut.  With FAULTFS_MODE=powercut, every write, pwrite, writev,
 * pwritev and ftruncate of a file matching FAULTFS_TRACK (counted or not)
 * first saves the bytes it overwrites and the file's size; an fsync or
 * fdatasync of the file forgets them.  Creating a file and renaming one are
 * remembered until an fsync of the directory the new name is in.  At call N
 * the saved bytes and sizes are put back in reverse order, renamed files get
 * their old names back and created ones are removed, then the process is
 * killed: what remains is what a disk that loses every unsynced write
 * would hold.  It is not undone: a rename that replaced a file (the old
 * file is gone), an unlink (its data is gone), writes through mmap (tdb's)
 * and writes by stdio inside libc, which call no interposable function.
 * So a test restricts FAULTFS_PATH to files written with write/pwrite (the
 * WAL, the received snapshot) and treats the rest as derived state.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum call {
	C_WRITE,
	C_PWRITE,
	C_WRITEV,
	C_PWRITEV,
	C_FSYNC,
	C_FDATASYNC,
	C_SYNC_FILE_RANGE,
	C_RENAME,
	C_RENAMEAT,
	C_UNLINK,
	C_UNLINKAT,
	C_FTRUNCATE,
	C_FALLOCATE,
	C_CREAT,
	C_N
};

static const char *const call_name[C_N] = {
	"write", "pwrite", "writev", "pwritev", "fsync", "fdatasync", "sync_file_range",
	"rename", "renameat", "unlink", "unlinkat", "ftruncate", "fallocate", "creat",
};

#define DEFAULT_CALLS                                                                              \
	(1u << C_FSYNC | 1u << C_FDATASYNC | 1u << C_SYNC_FILE_RANGE | 1u << C_RENAME |            \
		1u << C_RENAMEAT | 1u << C_UNLINK | 1u << C_UNLINKAT | 1u << C_FTRUNCATE |         \
		1u << C_FALLOCATE)

enum mode { M_NONE, M_CRASH_BEFORE, M_CRASH_AFTER, M_EIO, M_ENOSPC, M_POWERCUT, M_STOP, M_HANG };

static const char *const mode_name[] = {
	"none", "crash-before", "crash-after", "eio", "enospc", "powercut", "stop", "hang",
};

#define MAX_PATTERNS	8
#define FD_SLOTS	65536

static struct {
	bool ready;
	unsigned calls;
	char *patterns[MAX_PATTERNS];
	int npatterns;
	char *track[MAX_PATTERNS];
	int ntrack;
	unsigned long at;
	enum mode mode;
	bool sticky;
	bool drop;
	bool child;
	const char *arm;
	const char *release;
	const char *boot_id;
	int trace_fd;
} cfg = { .trace_fd = -1 };

/* Shared with forked children (MAP_SHARED), so that numbers stay unique. */
struct shared {
	unsigned long count;
	int armed;
};
static struct shared fallback_shared;
static struct shared *shared = &fallback_shared;

static bool in_child;
static char *fd_path[FD_SLOTS];
static int fd_max;		/* the highest slot ever set */

/* ------------------------------------------------------------ the real calls */

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_sync_file_range)(int, off_t, off_t, unsigned int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fallocate64)(int, int, off_t, off_t);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);

/* Resolved on first use too: other libraries' constructors may call us first. */
#define REAL(name)                                                                                 \
	(__atomic_load_n(&real_##name, __ATOMIC_RELAXED)                                           \
			? real_##name                                                              \
			: (__atomic_store_n(&real_##name,                                          \
				   (__typeof__(real_##name))dlsym(RTLD_NEXT, #name),               \
				   __ATOMIC_RELAXED),                                              \
				  real_##name))

/* ------------------------------------------------------------ paths */

/* The table is read and written under fd_mu only (open, close and rename
 * are system calls already: a lock costs nothing next to them). */
static pthread_mutex_t fd_mu = PTHREAD_MUTEX_INITIALIZER;

static void
fd_set_path(int fd, char *path)
{
	char *old = NULL;

	if (fd >= 0 && fd < FD_SLOTS) {
		pthread_mutex_lock(&fd_mu);
		old = fd_path[fd];
		fd_path[fd] = path;
		if (path != NULL && fd > fd_max)
			fd_max = fd;
		pthread_mutex_unlock(&fd_mu);
	} else {
		old = path;
	}
	free(old);
}

/* fd's path from the table into buf; false if it has none. */
static bool
fd_table_path(int fd, char *buf, size_t len)
{
	bool found = false;

	if (fd < 0 || fd >= FD_SLOTS)
		return false;
	pthread_mutex_lock(&fd_mu);
	if (fd_path[fd] != NULL) {
		snprintf(buf, len, "%s", fd_path[fd]);
		found = true;
	}
	pthread_mutex_unlock(&fd_mu);
	return found;
}

/* A rename moved from to to: the descriptors open on it have the new name. */
static void
fd_renamed(const char *from, const char *to)
{
	pthread_mutex_lock(&fd_mu);
	for (int fd = 0; fd <= fd_max; fd++) {
		char *p = fd_path[fd];

		if (p != NULL && strcmp(p, from) == 0) {
			char *q = strdup(to);

			if (q != NULL) {
				fd_path[fd] = q;
				free(p);
			}
		}
	}
	pthread_mutex_unlock(&fd_mu);
}

/* An absolute path for name relative to dirfd; malloc'ed, or NULL. */
static char *
abs_path(int dirfd, const char *name)
{
	char base[PATH_MAX], *p;

	if (name == NULL)
		return NULL;
	if (name[0] == '/')
		return strdup(name);
	if (dirfd == AT_FDCWD) {
		if (getcwd(base, sizeof(base)) == NULL)
			return NULL;
	} else if (!fd_table_path(dirfd, base, sizeof(base))) {
		return NULL;
	}
	if (asprintf(&p, "%s/%s", base, name) < 0)
		return NULL;
	return p;
}

/* The path of fd into buf: from the table, else (with proc) from
 * /proc/self/fd; "" if none. */
static const char *
fd_path_of(int fd, char *buf, size_t len, bool proc)
{
	char link[64];
	ssize_t n;

	buf[0] = '\0';
	if (fd_table_path(fd, buf, len) || !proc)
		return buf;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static bool
matches(char *const *patterns, int n, const char *path)
{
	if (n == 0)
		return true;
	if (path == NULL)
		return false;
	for (int i = 0; i < n; i++)
		if (fnmatch(patterns[i], path, 0) == 0)
			return true;
	return false;
}

static bool
path_matches(const char *path)
{
	return matches(cfg.patterns, cfg.npatterns, path);
}

static bool
track_matches(const char *path)
{
	if (cfg.ntrack == 0)
		return path_matches(path);
	return matches(cfg.track, cfg.ntrack, path);
}

static bool
is_write_call(enum call c)
{
	return c == C_WRITE || c == C_PWRITE || c == C_WRITEV || c == C_PWRITEV;
}

/* ------------------------------------------------------------ the power cut */

/* Bytes a write overwrote, and the file's size before it. */
struct undo {
	struct undo *next;
	dev_t dev;
	ino_t ino;
	int fd;			/* our own descriptor on the file, shared per inode */
	off_t off;
	size_t len;
	off_t old_size;
	unsigned char bytes[];
};

/* A name made (created, or renamed to) and not yet made durable by an fsync
 * of its directory. */
struct nsop {
	struct nsop *next;
	bool rename;
	char *dir, *path, *from;
};

static pthread_mutex_t undo_mu = PTHREAD_MUTEX_INITIALIZER;
static struct undo *undos;	/* newest first */
static struct nsop *nsops;	/* newest first */

static bool
tracking(void)
{
	return cfg.ready && (cfg.mode == M_POWERCUT || cfg.drop) && !(in_child && !cfg.child);
}

static char *
parent_of(const char *path)
{
	char *d = strdup(path), *slash;

	if (d == NULL)
		return NULL;
	slash = strrchr(d, '/');
	if (slash == d)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	return d;
}

/* Before a write of len bytes at off (-1: at the file offset) on fd. */
static void
undo_save(int fd, off_t off, size_t len, bool truncate_to_off)
{
	char path[PATH_MAX], proc[64];
	struct undo *u, *same = NULL;
	struct stat st;
	int flags;
	ssize_t got;

	if (!tracking() || !track_matches(fd_path_of(fd, path, sizeof(path), false)) ||
	    path[0] != '/')
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if (off < 0) {
		flags = fcntl(fd, F_GETFL);
		off = flags >= 0 && (flags & O_APPEND) ? st.st_size : lseek(fd, 0, SEEK_CUR);
		if (off < 0)
			return;
	}
	if (truncate_to_off)	/* ftruncate(fd, off): the bytes past off may go */
		len = st.st_size > off ? (size_t)(st.st_size - off) : 0;
	else if (off >= st.st_size)
		len = 0;
	else if ((off_t)len > st.st_size - off)
		len = (size_t)(st.st_size - off);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	pthread_mutex_lock(&undo_mu);
	for (struct undo *x = undos; x; x = x->next)
		if (x->dev == st.st_dev && x->ino == st.st_ino)
			same = x;
	u = malloc(sizeof(*u) + len);
	if (u == NULL)
		goto out;
	u->dev = st.st_dev;
	u->ino = st.st_ino;
	u->fd = same ? same->fd : REAL(open)(proc, O_RDWR | O_CLOEXEC);
	u->off = off;
	u->len = len;
	u->old_size = st.st_size;
	got = len ? pread(u->fd, u->bytes, len, off) : 0;
	if (u->fd < 0 || got != (ssize_t)len) {
		if (u->fd >= 0 && !same)
			REAL(close)(u->fd);
		free(u);
		goto out;
	}
	u->next = undos;
	undos = u;
out:
	pthread_mutex_unlock(&undo_mu);
}

/* fd was synced: its saved bytes are durable now, or, for a directory, the
 * names in it.  With lose, its sync failed instead: the saved bytes are put
 * back (newest first), and forgotten all the same. */
static void
undo_synced(int fd, bool lose)
{
	char path[PATH_MAX];
	struct undo **pu, *u;
	struct nsop **pn, *o;
	struct stat st;
	int keep_fd = -1;

	if (!tracking() || fstat(fd, &st) < 0)
		return;
	fd_path_of(fd, path, sizeof(path), true);
	pthread_mutex_lock(&undo_mu);
	for (pu = &undos; (u = *pu) != NULL;) {
		if (u->dev == st.st_dev && u->ino == st.st_ino) {
			keep_fd = u->fd;
			if (lose) {
				if (u->len)
					(void)!REAL(pwrite)(u->fd, u->bytes, u->len, u->off);
				(void)!REAL(ftruncate)(u->fd, u->old_size);
			}
			*pu = u->next;
			free(u);
		} else {
			pu = &u->next;
		}
	}
	if (keep_fd >= 0)
		REAL(close)(keep_fd);
	for (pn = &nsops; !lose && S_ISDIR(st.st_mode) && (o = *pn) != NULL;) {
		if (strcmp(o->dir, path) == 0) {
			*pn = o->next;
			free(o->dir);
			free(o->path);
			free(o->from);
			free(o);
		} else {
			pn = &o->next;
		}
	}
	pthread_mutex_unlock(&undo_mu);
}

/* A name that a power cut could take away again. */
static void
undo_name(bool rename, const char *path, const char *from)
{
	struct nsop *o;

	if (!tracking() || path == NULL || !(track_matches(path) || track_matches(from)))
		return;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return;
	o->rename = rename;
	o->path = strdup(path);
	o->from = from ? strdup(from) : NULL;
	o->dir = parent_of(path);
	pthread_mutex_lock(&undo_mu);
	o->next = nsops;
	nsops = o;
	pthread_mutex_unlock(&undo_mu);
}

static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	char line[PATH_MAX * 2 + 128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!REAL(write)(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* A thread that faults while the power cut runs (a snapshot restore's,
 * whose tdb maps a file the cut shrinks) waits for the kill: the machine it
 * stands for would have died first. */
static void
park(int sig)
{
	(void)sig;
	for (;;)
		pause();
}

/* Put back what the disk would not have, newest first.  Called once, just
 * before the kill.  The lists are walked under their lock, held until the
 * kill: another thread (a snapshot restore's) may be adding to them. */
static void
power_cut(void)
{
	struct sigaction sa = { .sa_handler = park };
	unsigned long bytes = 0, names = 0;

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	pthread_mutex_lock(&undo_mu);

	for (struct undo *u = undos; u; u = u->next) {
		if (u->len)
			(void)!REAL(pwrite)(u->fd, u->bytes, u->len, u->off);
		(void)!REAL(ftruncate)(u->fd, u->old_size);
		bytes += u->len;
	}
	for (struct nsop *o = nsops; o; o = o->next) {
		if (o->rename && o->from != NULL)
			REAL(rename)(o->path, o->from);
		else if (!o->rename)
			REAL(unlink)(o->path);
		names++;
	}
	say("faultfs: power cut: %lu unsynced bytes put back, %lu names undone\n", bytes, names);
}

/* ------------------------------------------------------------ counting */

static void __attribute__((noreturn))
crash(void)
{
	if (in_child)
		kill(getppid(), SIGKILL);
	kill(getpid(), SIGKILL);
	_exit(137);	/* not reached */
}

static bool
armed(void)
{
	if (cfg.arm == NULL || __atomic_load_n(&shared->armed, __ATOMIC_ACQUIRE))
		return true;
	if (access(cfg.arm, F_OK) != 0)
		return false;
	__atomic_store_n(&shared->armed, 1, __ATOMIC_RELEASE);
	return true;
}

/*
 * The hook every interposed call goes through before the real one: 0 to
 * make it (*after set: kill once it returned), or an errno to fail it with.
 * path2 is a rename's new name.
 */
static int
hook(enum call c, int fd, const char *path1, const char *path2, bool *after)
{
	char buf[PATH_MAX], line[PATH_MAX * 2 + 128];
	const char *path = path1;
	unsigned long n;
	bool act;
	int len;

	*after = false;
	if (!cfg.ready || !(cfg.calls & 1u << c) || (in_child && !cfg.child))
		return 0;
	if (path == NULL && fd >= 0)
		path = fd_path_of(fd, buf, sizeof(buf), true);
	if (path == NULL)
		path = "?";
	if (is_write_call(c) && path[0] != '/')
		return 0;
	if (!path_matches(path) && !(path2 && path_matches(path2)))
		return 0;
	if (!armed())
		return 0;
	n = __atomic_add_fetch(&shared->count, 1, __ATOMIC_SEQ_CST);
	act = cfg.at > 0 && (n == cfg.at || (cfg.sticky && n > cfg.at &&
		(cfg.mode == M_EIO || cfg.mode == M_ENOSPC)));
	if (cfg.trace_fd >= 0) {
		len = snprintf(line, sizeof(line), "%lu %s %s%s%s pid=%d%s%s%s\n", n, call_name[c],
			path, path2 ? " -> " : "", path2 ? path2 : "", (int)getpid(),
			in_child ? " child" : "", act ? " <- " : "", act ? mode_name[cfg.mode] : "");
		if (len > 0)
			(void)!REAL(write)(cfg.trace_fd, line,
				(size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
	}
	if (!act)
		return 0;
	say("faultfs: #%lu %s %s%s%s: %s\n", n, call_name[c], path, path2 ? " -> " : "",
		path2 ? path2 : "", mode_name[cfg.mode]);
	switch (cfg.mode) {
	case M_CRASH_BEFORE:
		crash();
	case M_POWERCUT:
		power_cut();
		crash();
	case M_CRASH_AFTER:
		*after = true;
		return 0;
	case M_STOP:
		raise(SIGSTOP); /* the test sends SIGCONT; the call is then made */
		return 0;
	case M_HANG:
		/* this thread only, until the test makes FAULTFS_RELEASE */
		while (cfg.release == NULL || access(cfg.release, F_OK) != 0)
			usleep(10000);
		return 0;
	case M_EIO:
		return EIO;
	case M_ENOSPC:
		return ENOSPC;
	default:
		return 0;
	}
}

/* Run the real call as the hook says: the three lines every wrapper shares. */
#define HOOKED(type, c, fd, p1, p2, realcall)                                                      \
	do {                                                                                       \
		bool after_;                                                                       \
		int e_ = hook(c, fd, p1, p2, &after_);                                             \
		type r_;                                                                           \
		if (e_) {                                                                          \
			errno = e_;                                                                \
			return (type)-1;                                                           \
		}                                                                                  \
		r_ = realcall;                                                                     \
		if (after_)                                                                        \
			crash();                                                                   \
		return r_;                                                                         \
	} while (0)

/* ------------------------------------------------------------ writes */

static size_t
iov_len(const struct iovec *iov, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

ssize_t
write(int fd, const void *p, size_t len)
{
	undo_save(fd, -1, len, false);
	HOOKED(ssize_t, C_WRITE, fd, NULL, NULL, REAL(write)(fd, p, len));
}

ssize_t
pwrite(int fd, const void *p, size_t len, off_t off)
{
	undo_save(fd, off, len, false);
	HOOKED(ssize_t, C_PWRITE, fd, NULL, NULL, REAL(pwrite)(fd, p, len, off));
}

ssize_t
pwrite64(int fd, const void *p, size_t len, off_t off)
{
	undo_save(fd, off, len, false);
	HOOKED(ssize_t, C_PWRITE, fd, NULL, NULL, REAL(pwrite64)(fd, p, len, off));
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	undo_save(fd, -1, iov_len(iov, n), false);
	HOOKED(ssize_t, C_WRITEV, fd, NULL, NULL, REAL(writev)(fd, iov, n));
}

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	undo_save(fd, off, iov_len(iov, n), false);
	HOOKED(ssize_t, C_PWRITEV, fd, NULL, NULL, REAL(pwritev)(fd, iov, n, off));
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
	undo_save(fd, off, iov_len(iov, n), false);
	HOOKED(ssize_t, C_PWRITEV, fd, NULL, NULL, REAL(pwritev64)(fd, iov, n, off));
}

ssize_t
pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	undo_save(fd, off, iov_len(iov, n), false);
	HOOKED(ssize_t, C_PWRITEV, fd, NULL, NULL, REAL(pwritev2)(fd, iov, n, off, flags));
}

int
ftruncate(int fd, off_t len)
{
	undo_save(fd, len, 0, true);
	HOOKED(int, C_FTRUNCATE, fd, NULL, NULL, REAL(ftruncate)(fd, len));
}

int
ftruncate64(int fd, off_t len)
{
	undo_save(fd, len, 0, true);
	HOOKED(int, C_FTRUNCATE, fd, NULL, NULL, REAL(ftruncate64)(fd, len));
}

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	HOOKED(int, C_FALLOCATE, fd, NULL, NULL, REAL(fallocate)(fd, mode, off, len));
}

int
fallocate64(int fd, int mode, off_t off, off_t len)
{
	HOOKED(int, C_FALLOCATE, fd, NULL, NULL, REAL(fallocate64)(fd, mode, off, len));
}

/* ------------------------------------------------------------ syncs */

/* fsync and fdatasync: a sync that made it means a power cut no longer
 * takes what it covered; one made to fail may lose it (FAULTFS_DROP). */
static int
sync_common(enum call c, int fd)
{
	bool after;
	int e = hook(c, fd, NULL, NULL, &after), r;

	if (e) {
		if (cfg.drop)
			undo_synced(fd, true);
		errno = e;
		return -1;
	}
	r = c == C_FSYNC ? REAL(fsync)(fd) : REAL(fdatasync)(fd);
	if (r == 0)
		undo_synced(fd, false);
	if (after)
		crash();
	return r;
}

int
fsync(int fd)
{
	return sync_common(C_FSYNC, fd);
}

int
fdatasync(int fd)
{
	return sync_common(C_FDATASYNC, fd);
}

int
sync_file_range(int fd, off_t off, off_t len, unsigned int flags)
{
	HOOKED(int, C_SYNC_FILE_RANGE, fd, NULL, NULL,
		REAL(sync_file_range)(fd, off, len, flags));
}

/* ------------------------------------------------------------ names */

static bool
exists(const char *path)
{
	struct stat st;

	return path != NULL && lstat(path, &st) == 0;
}

/* A rename, counted with both absolute names; remembered for a power cut. */
static int
do_rename(enum call c, const char *from, const char *to, int realcall(void *), void *arg)
{
	bool after, replaced = exists(to);
	int e = hook(c, -1, from ? from : "?", to ? to : "?", &after), r;

	if (e) {
		errno = e;
		return -1;
	}
	r = realcall(arg);
	if (r == 0 && from != NULL && to != NULL)
		fd_renamed(from, to);
	if (r == 0 && !replaced)
		undo_name(true, to, from);
	if (after)
		crash();
	return r;
}

struct rename_args {
	int olddirfd, newdirfd;
	const char *old, *new;
	unsigned int flags;
	int kind;	/* 0 rename, 1 renameat, 2 renameat2 */
};

static int
rename_call(void *arg)
{
	struct rename_args *a = arg;

	switch (a->kind) {
	case 0:
		return REAL(rename)(a->old, a->new);
	case 1:
		return REAL(renameat)(a->olddirfd, a->old, a->newdirfd, a->new);
	default:
		return REAL(renameat2)(a->olddirfd, a->old, a->newdirfd, a->new, a->flags);
	}
}

static int
rename_any(struct rename_args *a)
{
	char *from = abs_path(a->olddirfd, a->old), *to = abs_path(a->newdirfd, a->new);
	int r = do_rename(a->kind == 0 ? C_RENAME : C_RENAMEAT, from, to, rename_call, a), e = errno;

	free(from);
	free(to);
	errno = e;
	return r;
}

int
rename(const char *old, const char *new)
{
	struct rename_args a = { AT_FDCWD, AT_FDCWD, old, new, 0, 0 };

	return rename_any(&a);
}

int
renameat(int olddirfd, const char *old, int newdirfd, const char *new)
{
	struct rename_args a = { olddirfd, newdirfd, old, new, 0, 1 };

	return rename_any(&a);
}

int
renameat2(int olddirfd, const char *old, int newdirfd, const char *new, unsigned int flags)
{
	struct rename_args a = { olddirfd, newdirfd, old, new, flags, 2 };

	return rename_any(&a);
}

/* unlink and unlinkat, counted with the absolute name. */
static int
unlink_any(enum call c, int dirfd, const char *name, int flags)
{
	char *p = abs_path(dirfd, name);
	bool after;
	int e = hook(c, -1, p ? p : name, NULL, &after), r;

	free(p);
	if (e) {
		errno = e;
		return -1;
	}
	r = c == C_UNLINK ? REAL(unlink)(name) : REAL(unlinkat)(dirfd, name, flags);
	if (after)
		crash();
	return r;
}

int
unlink(const char *path)
{
	return unlink_any(C_UNLINK, AT_FDCWD, path, 0);
}

int
unlinkat(int dirfd, const char *name, int flags)
{
	return unlink_any(C_UNLINKAT, dirfd, name, flags);
}

/* ------------------------------------------------------------ descriptors */

/* After an open of path (absolute, ours) that returned fd. */
static int
opened(int fd, char *path, bool created)
{
	int e = errno;

	if (fd >= 0) {
		if (created)
			undo_name(false, path, NULL);
		fd_set_path(fd, path);
	} else {
		free(path);
	}
	errno = e;
	return fd;
}

/* The open itself, with the hook for an O_CREAT that may make a file. */
static int
open_common(int dirfd, const char *name, int flags, mode_t mode, int kind)
{
	char *path = abs_path(dirfd, name);
	bool after = false, created = false;
	int fd;

	if (flags & O_CREAT) {
		int e = hook(C_CREAT, -1, path ? path : name, NULL, &after);

		if (e) {
			free(path);
			errno = e;
			return -1;
		}
		created = path != NULL && !exists(path);
	}
	switch (kind) {
	case 0:
		fd = REAL(open)(name, flags, mode);
		break;
	case 1:
		fd = REAL(open64)(name, flags, mode);
		break;
	case 2:
		fd = REAL(openat)(dirfd, name, flags, mode);
		break;
	default:
		fd = REAL(openat64)(dirfd, name, flags, mode);
		break;
	}
	fd = opened(fd, path, created);
	if (after)
		crash();
	return fd;
}

#define MODE_ARG(flags, mode)                                                                      \
	do {                                                                                       \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                                           \
			va_list ap;                                                                \
			va_start(ap, flags);                                                       \
			mode = (mode_t)va_arg(ap, int);                                            \
			va_end(ap);                                                                \
		}                                                                                  \
	} while (0)

int
open(const char *name, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	return open_common(AT_FDCWD, name, flags, mode, 0);
}

int
open64(const char *name, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	return open_common(AT_FDCWD, name, flags, mode, 1);
}

int
openat(int dirfd, const char *name, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	return open_common(dirfd, name, flags, mode, 2);
}

int
openat64(int dirfd, const char *name, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	return open_common(dirfd, name, flags, mode, 3);
}

int
creat(const char *name, mode_t mode)
{
	return open_common(AT_FDCWD, name, O_CREAT | O_WRONLY | O_TRUNC, mode, 0);
}

int
creat64(const char *name, mode_t mode)
{
	return open_common(AT_FDCWD, name, O_CREAT | O_WRONLY | O_TRUNC, mode, 1);
}

int
close(int fd)
{
	fd_set_path(fd, NULL);
	return REAL(close)(fd);
}

static int
duped(int from, int to)
{
	char p[PATH_MAX];
	int e = errno;

	if (to >= 0 && from != to)
		fd_set_path(to, fd_table_path(from, p, sizeof(p)) ? strdup(p) : NULL);
	errno = e;
	return to;
}

int
dup(int fd)
{
	return duped(fd, REAL(dup)(fd));
}

int
dup2(int fd, int to)
{
	return duped(fd, REAL(dup2)(fd, to));
}

int
dup3(int fd, int to, int flags)
{
	return duped(fd, REAL(dup3)(fd, to, flags));
}

/* ------------------------------------------------------------ boot id */

static FILE *
boot_id_file(const char *path)
{
	static char line[64];

	if (cfg.boot_id == NULL || path == NULL ||
		strcmp(path, "/proc/sys/kernel/random/boot_id") != 0)
		return NULL;
	snprintf(line, sizeof(line), "%s\n", cfg.boot_id);
	return fmemopen(line, strlen(line), "r");
}

FILE *
fopen(const char *path, const char *how)
{
	FILE *f = boot_id_file(path);

	return f ? f : REAL(fopen)(path, how);
}

FILE *
fopen64(const char *path, const char *how)
{
	FILE *f = boot_id_file(path);

	return f ? f : REAL(fopen64)(path, how);
}

/* ------------------------------------------------------------ set-up */

static void
atfork_prepare(void)
{
	pthread_mutex_lock(&undo_mu);
	pthread_mutex_lock(&fd_mu);
}

static void
atfork_parent(void)
{
	pthread_mutex_unlock(&fd_mu);
	pthread_mutex_unlock(&undo_mu);
}

static void
atfork_child(void)
{
	pthread_mutex_unlock(&fd_mu);
	pthread_mutex_unlock(&undo_mu);
	in_child = true;
}

static unsigned
parse_calls(const char *s)
{
	char *copy = strdup(s), *save = NULL, *tok;
	unsigned calls = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int c;

		if (strcmp(tok, "all") == 0) {
			calls = (1u << C_N) - 1;
			continue;
		}
		for (c = 0; c < C_N && strcmp(tok, call_name[c]) != 0; c++)
			;
		if (c == C_N)
			say("faultfs: FAULTFS_CALLS: unknown call \"%s\" ignored\n", tok);
		else
			calls |= 1u << c;
	}
	free(copy);
	return calls;
}

/* GLOB[:GLOB...] into patterns (at most MAX_PATTERNS); how many. */
static int
parse_globs(const char *s, char **patterns)
{
	char *copy, *save = NULL, *tok;
	int n = 0;

	if (s == NULL || *s == '\0' || (copy = strdup(s)) == NULL)
		return 0;
	for (tok = strtok_r(copy, ":", &save); tok && n < MAX_PATTERNS;
		tok = strtok_r(NULL, ":", &save))
		patterns[n++] = strdup(tok);
	free(copy);
	return n;
}

static void __attribute__((constructor))
faultfs_init(void)
{
	const char *s;
	void *m;

	if ((s = getenv("FAULTFS_CALLS")) != NULL && *s)
		cfg.calls = parse_calls(s);
	else
		cfg.calls = DEFAULT_CALLS;
	cfg.npatterns = parse_globs(getenv("FAULTFS_PATH"), cfg.patterns);
	cfg.ntrack = parse_globs(getenv("FAULTFS_TRACK"), cfg.track);
	if ((s = getenv("FAULTFS_AT")) != NULL)
		cfg.at = strtoul(s, NULL, 10);
	if ((s = getenv("FAULTFS_MODE")) != NULL && *s) {
		for (size_t i = 1; i < sizeof(mode_name) / sizeof(*mode_name); i++)
			if (strcmp(s, mode_name[i]) == 0)
				cfg.mode = (enum mode)i;
		if (cfg.mode == M_NONE)
			say("faultfs: FAULTFS_MODE=%s: unknown, nothing will be done\n", s);
	} else if (cfg.at > 0) {
		cfg.mode = M_CRASH_BEFORE;
	}
	cfg.sticky = (s = getenv("FAULTFS_STICKY")) != NULL && strcmp(s, "1") == 0;
	cfg.drop = (s = getenv("FAULTFS_DROP")) != NULL && strcmp(s, "1") == 0;
	cfg.child = (s = getenv("FAULTFS_CHILD")) != NULL && strcmp(s, "1") == 0;
	if ((s = getenv("FAULTFS_ARM")) != NULL && *s)
		cfg.arm = strdup(s);
	if ((s = getenv("FAULTFS_RELEASE")) != NULL && *s)
		cfg.release = strdup(s);
	if ((s = getenv("FAULTFS_BOOT_ID")) != NULL && *s)
		cfg.boot_id = strdup(s);
	if ((s = getenv("FAULTFS_TRACE")) != NULL && *s) {
		cfg.trace_fd = REAL(open)(s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (cfg.trace_fd < 0)
			say("faultfs: FAULTFS_TRACE=%s: %s\n", s, strerror(errno));
	}
	m = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		-1, 0);
	if (m != MAP_FAILED)
		shared = m;
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	__atomic_store_n(&cfg.ready, true, __ATOMIC_RELEASE);
}
