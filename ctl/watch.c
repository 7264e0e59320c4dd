/*
 * watch.c — raftconfctl watch (contract in watch.h and raftconfctl(8)).
 *
 * Each POLL asks for the changes after `after`; the answer holds whole
 * revisions and the revision up to which it told everything, which becomes
 * the next `after`.  So whatever breaks between two answers — the daemon
 * restarting, the connection, a leader change — the next POLL, on a new
 * connection, resumes exactly there: every change is printed once, in
 * order.  A watch without --from-rev first asks for no change at all, to
 * learn the current revision.
 */
#include "watch.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "output.h"
#include "proto.h"

/* How long one POLL waits for a change before it is answered empty. */
#define WATCH_WAIT_MS 30000
/* Pauses between reconnections: from the first, doubling up to the last. */
#define WATCH_RETRY_FIRST_MS 100
#define WATCH_RETRY_MAX_MS   2000

/*
 * --exec: one run of CMD at a time, started without waiting for it to end,
 * so that the watch goes on reading changes meanwhile.  The changes that
 * come while a run goes on are kept (their number, and the latest whole)
 * and make one more run as soon as it ends.  SIGCHLD, blocked and read
 * from a signalfd, says when; that fd also wakes a POLL waiting in
 * client.c (client_set_wake), so the next run does not wait for an answer.
 */
struct exec {
	const char *cmd;
	int sigfd;     /* SIGCHLD's signalfd */
	sigset_t mask; /* the signal mask before, CMD's */
	pid_t pid;     /* the run going on, or 0 */
	/* The changes for the next run: how many (0: none), and the latest. */
	uint32_t count;
	uint8_t kind;
	uint64_t revision;
	char *key, *value; /* cut at a NUL byte (environment variables), owned */
};

static int
exec_init(struct exec *x, const char *cmd)
{
	sigset_t chld;

	memset(x, 0, sizeof(*x));
	x->cmd = cmd;
	/* Ignored, SIGCHLD would reap the runs before waitpid could see them. */
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &x->mask) < 0 ||
	    (x->sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "raftconfctl: --exec: signalfd: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Start a run with the changes kept, and forget them. */
static void
exec_start(struct exec *x)
{
	char rev[32], n[16];
	pid_t pid;

	fflush(stdout);
	snprintf(rev, sizeof(rev), "%" PRIu64, x->revision);
	snprintf(n, sizeof(n), "%" PRIu32, x->count);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "raftconfctl: --exec: fork: %s\n", strerror(errno));
	} else if (pid == 0) {
		sigprocmask(SIG_SETMASK, &x->mask, NULL);
		setenv("RAFTCONF_EVENT", x->kind == PROTO_EV_PUT ? "PUT" : "DEL", 1);
		setenv("RAFTCONF_KEY", x->key ? x->key : "", 1);
		setenv("RAFTCONF_REVISION", rev, 1);
		/* A value with NUL bytes is cut at the first: read it with get. */
		setenv("RAFTCONF_VALUE", x->value ? x->value : "", 1);
		setenv("RAFTCONF_EVENTS", n, 1);
		execl("/bin/sh", "sh", "-c", x->cmd, (char *)NULL);
		_exit(127);
	} else {
		x->pid = pid;
	}
	free(x->key);
	free(x->value);
	x->key = x->value = NULL;
	x->count = 0;
}

/* The run ended with status st: say so if it failed (the watch goes on). */
static void
exec_ended(struct exec *x, int st)
{
	x->pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		fprintf(stderr, "raftconfctl: --exec command exited %d\n", WEXITSTATUS(st));
}

/*
 * If the run going on has ended (or, with block, once it has), reap it;
 * then, if changes came meanwhile, start the next.
 */
static void
exec_reap(struct exec *x, bool block)
{
	struct signalfd_siginfo si;
	int st;
	pid_t r;

	while (read(x->sigfd, &si, sizeof(si)) == sizeof(si))
		;
	if (x->pid == 0)
		return;
	while ((r = waitpid(x->pid, &st, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == x->pid)
		exec_ended(x, st);
	else if (r < 0)
		x->pid = 0; /* not ours to wait for any more */
	if (x->pid == 0 && x->count > 0)
		exec_start(x);
}

/* The changes of one answer: count of them, the latest last. */
static void
exec_changes(struct exec *x, const struct proto_change *last, uint32_t count)
{
	free(x->key);
	free(x->value);
	x->key = strndup(last->key.ptr, last->key.len);
	x->value = strndup(last->value.ptr, last->value.len);
	x->kind = last->kind;
	x->revision = last->revision;
	x->count += count;
	if (x->pid == 0)
		exec_start(x);
}

/* Pause ms, or less when a run ends (which starts the next at once). */
static void
exec_pause(struct exec *x, unsigned ms)
{
	struct pollfd pfd = { x->sigfd, POLLIN, 0 };

	poll(&pfd, 1, (int)ms);
	exec_reap(x, false);
}

/* The watch ends: wait for the run going on, and for the one it still owes. */
static void
exec_finish(struct exec *x)
{
	while (x->pid != 0)
		exec_reap(x, true);
	free(x->key);
	free(x->value);
	close(x->sigfd);
	sigprocmask(SIG_SETMASK, &x->mask, NULL);
}

/* Print (or hand to --exec) the changes of one EVENTS answer. */
static int
tell(const struct output *out, struct exec *x, const struct proto_msg *r)
{
	struct proto_change last = { 0 };
	union proto_item it;
	struct proto_iter iter;
	uint32_t count = 0;
	int rc;

	if (proto_iter_init(&iter, r) < 0)
		return -EPROTO;
	while ((rc = proto_iter_next(&iter, &it)) == 1) {
		count++;
		if (x != NULL)
			last = it.change;
		else
			out->event(
			    it.change.kind, it.change.key, it.change.revision, it.change.value);
	}
	if (rc < 0)
		return rc;
	if (x != NULL && count > 0)
		exec_changes(x, &last, count);
	fflush(stdout);
	return 0;
}

/* Errors of an answer that a later try may not get: the daemon stopping, a busy leader. */
static bool
passing(const struct proto_msg *r)
{
	return r->type == PROTO_T_ERROR &&
	    (r->error.code == PROTO_E_NOLEADER || r->error.code == PROTO_E_TIMEOUT ||
		r->error.code == PROTO_E_INTERNAL);
}

/* The watch, handing the changes to x when it is not NULL: returns 1. */
static int
watch_loop(struct client *c, const struct output *out, const struct watch_args *a, struct exec *x)
{
	struct proto_msg m = { .type = PROTO_T_POLL }, r;
	unsigned pause_ms = WATCH_RETRY_FIRST_MS;
	bool started = a->from_rev_set, told = false, lost = false;
	uint64_t after = a->from_rev;
	char err[RAFTCONF_MAX_ERROR];

	m.poll.prefix = proto_cstr(a->prefix);
	client_set_dial(c, 0); /* no daemon at the socket: tried again below, for ever */
	for (;;) {
		int rc;

		if (x != NULL)
			exec_reap(x, false);
		m.poll.flags = started ? 0 : PROTO_F_FROM_NOW;
		m.poll.after = started ? after : 0;
		m.poll.wait_ms = started ? WATCH_WAIT_MS : 0;
		client_set_deadline(c, m.poll.wait_ms / 1000.0 + a->timeout);
		rc = client_request(c, &m, &r, false, err, sizeof(err));
		if (rc == -EINTR)
			continue; /* a run ended: reaped above, then the same POLL again */
		if (rc < 0 || passing(&r)) {
			if (rc == -EINVAL || rc == -E2BIG) {
				fprintf(stderr, "raftconfctl: %s\n", err);
				return 1;
			}
			if (!lost && rc < 0)
				fprintf(
				    stderr, "raftconfctl: %s; the watch is trying again\n", err);
			else if (!lost)
				fprintf(stderr, "raftconfctl: %s: the watch is trying again\n",
				    proto_error_name(r.error.code));
			lost = true;
			client_reset(c);
			if (x != NULL)
				exec_pause(x, pause_ms);
			else
				poll(NULL, 0, (int)pause_ms);
			pause_ms =
			    pause_ms * 2 > WATCH_RETRY_MAX_MS ? WATCH_RETRY_MAX_MS : pause_ms * 2;
			continue;
		}
		if (r.type == PROTO_T_ERROR) {
			client_print_error(&r);
			return 1;
		}
		if (r.type != PROTO_T_EVENTS) {
			fprintf(stderr, "raftconfctl: bad answer: unexpected %s answer\n",
			    proto_type_name(r.type));
			return 1;
		}
		if (lost)
			fprintf(stderr, "raftconfctl: watch resumed after revision %" PRIu64 "\n",
			    after);
		lost = false;
		pause_ms = WATCH_RETRY_FIRST_MS;
		if (!started) {
			started = true;
			after = r.events.revision;
		}
		if (!told)
			fprintf(stderr, "raftconfctl: watching '%s' from revision %" PRIu64 "\n",
			    a->prefix, after);
		told = true;
		if (tell(out, x, &r) < 0) {
			fprintf(stderr,
			    "raftconfctl: bad answer: the daemon sent changes that do not decode\n");
			return 1;
		}
		if (r.events.revision > after)
			after = r.events.revision;
	}
}

int
watch_run(struct client *c, const struct output *out, const struct watch_args *a)
{
	struct exec x;
	int status;

	if (a->exec == NULL)
		return watch_loop(c, out, a, NULL);
	if (exec_init(&x, a->exec) < 0)
		return 1;
	client_set_wake(c, x.sigfd);
	status = watch_loop(c, out, a, &x);
	client_set_wake(c, -1);
	exec_finish(&x);
	return status;
}
