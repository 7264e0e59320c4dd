/*
 * grow.c — the store's file grown by a child process ahead of need, so
 * that no commit on the loop has to grow it.
 *
 * tdb grows its file inside the transaction that needs the room, by a
 * tenth of the file at least, writing the growth twice (into the
 * transaction, then into the file): 15-94 ms on the loop at 300-450 MB,
 * every second or two under 1 KiB writes (BENCHMARKS.md, sessions 22 and
 * 23).  So past GROW_MIN_FILE the node keeps an estimate of the file's
 * free space, and when it runs below half of what it wants free, forks a
 * child that measures the free space and grows the file in a transaction
 * of its own (store_grow), while the node holds the file and its commits
 * pile up in memory as for a snapshot's writer (store_hold), and holds a
 * lock that keeps tdb's reads from "recovering" the child's commit under
 * it (store_guard; store_grow.c says why each is needed).  The child
 * writes what it measured on its pipe and exits; the node lets the file
 * go, drains the pile, and takes the measure as its new estimate.
 *
 * A snapshot's writer reads the file, so the two never run at once: a
 * grower starts only while no snapshot is written or restored;
 * snapshot_take waits for a running one, snapshot_install and node_free
 * kill it (grow_abort) and undo what it left.
 * A grower that fails (no space, a signal) is logged and tried again after
 * GROW_RETRY_S; meanwhile the node's commits grow the file as before.  What
 * it left is undone first (store_grow_undo): a commit half done rolled
 * back, the file cut back to its size at the fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "bytes.h"
#include "driver.h"
#include "log.h"
#include "store.h"
#include "tdbscan.h"

/*
 * Below GROW_MIN_FILE the file is left to tdb: a growth of a quarter of
 * less than 64 MiB costs a few milliseconds, and a node's first megabytes
 * (a fleet's learners, a demo) are not worth a process.  Above it, when
 * the estimate says less than a sixteenth of the file is free, a child
 * grows it to leave an eighth (GROW_FREE_SHARE; a sixteenth made more
 * growths, more children and no better tail, BENCHMARKS.md session 23).
 * What it counts an applied byte as (a key's record and its change in the
 * history, with margin) and an entry (the records' headers, a client's
 * record).
 */
#define GROW_MIN_FILE	   (64ULL * 1024 * 1024)
#define GROW_FREE_SHARE	   8
#define GROW_BYTES_A_BYTE  2
#define GROW_BYTES_A_ENTRY 160
#define GROW_RETRY_S	   30
/* A child's exit status: the file does not walk (tdbscan), so it cannot be
 * measured. */
#define GROW_EXIT_UNREADABLE 2

/* The free space to keep; 0 below GROW_MIN_FILE. */
static uint64_t
grow_want(struct node *n)
{
	uint64_t size = 0;

	if (store_file_bytes(n->store, &size) < 0 || size < GROW_MIN_FILE)
		return 0;
	return size / GROW_FREE_SHARE;
}

/* The free space left by the estimate: what the last child measured, less
 * what was applied since. */
static uint64_t
free_left(const struct node *n)
{
	const struct grow_job *g = &n->grow;
	uint64_t used = (n->applied_bytes - g->bytes_at) * GROW_BYTES_A_BYTE +
	    (n->applied - g->index_at) * GROW_BYTES_A_ENTRY;

	return used >= g->free_est ? 0 : g->free_est - used;
}

/* The child is gone (or about to be): reap it, let the file go, take its measure. */
static void
grow_done(struct node *n, bool aborted)
{
	struct grow_job *g = &n->grow;
	int status = 0;
	ssize_t got;

	if (g->pid == 0)
		return;
	while (g->gotlen < sizeof(g->got)) {
		got = read(g->fd, g->got + g->gotlen, sizeof(g->got) - g->gotlen);
		if (got > 0)
			g->gotlen += (size_t)got;
		else if (got == 0 || errno != EINTR)
			break; /* EOF, or an error: the child failed */
	}
	while (waitpid(g->pid, &status, 0) < 0 && errno == EINTR)
		;
	g->pid = 0;
	if (g->ev != NULL) {
		event_free(g->ev);
		g->ev = NULL;
	}
	close(g->fd);
	g->fd = -1;
	/* a commit the child left half done is rolled back here */
	(void)store_guard(n->store, false);
	store_release(n->store); /* what piled up meanwhile may reach the file */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && g->gotlen == sizeof(g->got)) {
		g->free_est = get_le64(g->got);
		g->bytes_at = g->start_bytes;
		g->index_at = g->start_index;
		if (get_le64(g->got + 8) != 0)
			n->stats.store_grows++;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == GROW_EXIT_UNREADABLE) {
		/* the file does not walk as tdbscan reads it: no child can
		 * measure it, so none is tried again until the next start */
		g->off = true;
		log_warning("the store's file does not walk record by record (tdbscan): its "
			    "growth is left to the node's own commits until the next start");
	} else {
		struct store_grow_mark m = { g->mark_size, g->mark_recovery };
		int rc = store_grow_undo(n->store, &m);

		if (rc == 1) { /* it grew the file, then died before it said so */
			n->stats.store_grows++;
			g->free_est = 0; /* measured again at the next tick */
		} else if (!aborted) {
			log_warning("growing the store's file in a child process failed (%s %d); "
				    "the node's own commits grow it meanwhile, and another child "
				    "tries in %d s",
			    WIFSIGNALED(status) ? "signal" : "exit status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			    GROW_RETRY_S);
			g->retry_at = node_now_s() + GROW_RETRY_S;
		}
		if (rc < 0)
			node_fatal(n,
			    "the store's file, left grown by a child that failed, cannot "
			    "be made what it was",
			    rc);
	}
	node_schedule(n);
}

static void
grow_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct grow_job *g = &n->grow;
	ssize_t got;

	(void)what;
	got = read(fd, g->got + g->gotlen, sizeof(g->got) - g->gotlen);
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got > 0 && g->gotlen + (size_t)got < sizeof(g->got)) {
		g->gotlen += (size_t)got;
		return;
	}
	if (got > 0)
		g->gotlen += (size_t)got; /* all of it: the child exits now */
	grow_done(n, false);
}

void
grow_wait(struct node *n)
{
	grow_done(n, false); /* its pipe blocks until it wrote or died, then it is waited for */
}

void
grow_abort(struct node *n)
{
	if (n->grow.pid == 0)
		return;
	kill(n->grow.pid, SIGKILL);
	grow_done(n, true); /* what it left is undone */
}

bool
grow_running(const struct node *n)
{
	return n->grow.pid != 0;
}

static void __attribute__((noreturn))
child_main(struct node *n, pid_t parent, int fd, uint64_t want)
{
	struct tdbscan_free after;
	uint8_t b[16];
	int r;

	node_child_start(n, parent);
	if ((r = store_grow(n->store, want, &after)) < 0)
		_exit(r == -EBADMSG ? GROW_EXIT_UNREADABLE : 1);
	put_le64(b, after.bytes);
	put_le64(b + 8, after.file_bytes > n->grow.mark_size ? 1 : 0);
	_exit(write(fd, b, sizeof(b)) == (ssize_t)sizeof(b) ? 0 : 1);
}

void
grow_maybe(struct node *n)
{
	struct grow_job *g = &n->grow;
	struct store_grow_mark m;
	uint64_t want;
	pid_t pid, parent;
	int p[2];

	if (g->pid || g->off || n->snap.pid || n->restore.running || n->store_txn ||
	    n->apply_paused || n->failed || store_piling(n->store) || node_now_s() < g->retry_at)
		return;
	want = grow_want(n);
	if (want == 0 || free_left(n) >= want / 2)
		return;
	if (store_grow_mark(n->store, &m) < 0 || pipe2(p, O_CLOEXEC) < 0)
		return;
	g->mark_size = m.size;
	g->mark_recovery = m.recovery;
	/* the guard before the fork: taking it reads the file as a first
	 * lock does, which must not happen while the child commits */
	if (store_hold(n->store) < 0 || store_guard(n->store, true) < 0) {
		store_release(n->store);
		close(p[0]);
		close(p[1]);
		g->retry_at = node_now_s() + GROW_RETRY_S;
		return;
	}
	g->start_bytes = n->applied_bytes;
	g->start_index = n->applied;
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_main(n, parent, p[1], want);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		(void)store_guard(n->store, false);
		store_release(n->store);
		g->retry_at = node_now_s() + GROW_RETRY_S;
		return;
	}
	g->pid = pid;
	g->fd = p[0];
	g->gotlen = 0;
	g->ev = event_new(n->base, p[0], EV_READ | EV_PERSIST, grow_cb, n);
	if (g->ev == NULL || event_add(g->ev, NULL) < 0)
		grow_done(n, false); /* cannot watch it: wait for it here */
}
