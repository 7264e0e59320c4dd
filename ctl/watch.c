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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
 * --exec: run cmd once for the changes of one answer (those that came
 * while the previous run went on, or at once), with the last of them in
 * its environment, and wait for it: one run at a time.
 */
static void
run_exec(const char *cmd, const struct proto_change *ch, uint32_t count)
{
	char rev[32], n[16];
	pid_t pid;
	int st;

	fflush(stdout);
	snprintf(rev, sizeof(rev), "%" PRIu64, ch->revision);
	snprintf(n, sizeof(n), "%" PRIu32, count);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "raftconfctl: --exec: fork: %s\n", strerror(errno));
		return;
	}
	if (pid == 0) {
		char *key = strndup(ch->key.ptr, ch->key.len);
		char *val = strndup(ch->value.ptr, ch->value.len);

		setenv("RAFTCONF_EVENT", ch->kind == PROTO_EV_PUT ? "PUT" : "DEL", 1);
		setenv("RAFTCONF_KEY", key ? key : "", 1);
		setenv("RAFTCONF_REVISION", rev, 1);
		/* A value with NUL bytes is cut at the first: read it with get. */
		setenv("RAFTCONF_VALUE", val ? val : "", 1);
		setenv("RAFTCONF_EVENTS", n, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		fprintf(stderr, "raftconfctl: --exec command exited %d\n", WEXITSTATUS(st));
}

/* Print (or hand to --exec) the changes of one EVENTS answer. */
static int
tell(const struct output *out, const struct watch_args *a, const struct proto_msg *r)
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
		if (a->exec != NULL)
			last = it.change;
		else
			out->event(
			    it.change.kind, it.change.key, it.change.revision, it.change.value);
	}
	if (rc < 0)
		return rc;
	if (a->exec != NULL && count > 0)
		run_exec(a->exec, &last, count);
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

int
watch_run(struct client *c, const struct output *out, const struct watch_args *a)
{
	struct proto_msg m = { .type = PROTO_T_POLL }, r;
	unsigned pause_ms = WATCH_RETRY_FIRST_MS;
	bool started = a->from_rev_set, told = false, lost = false;
	uint64_t after = a->from_rev;
	char err[RAFTCONF_MAX_ERROR];

	m.poll.prefix = proto_cstr(a->prefix);
	for (;;) {
		int rc;

		m.poll.flags = started ? 0 : PROTO_F_FROM_NOW;
		m.poll.after = started ? after : 0;
		m.poll.wait_ms = started ? WATCH_WAIT_MS : 0;
		client_set_deadline(c, m.poll.wait_ms / 1000.0 + a->timeout);
		rc = client_request(c, &m, &r, false, err, sizeof(err));
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
		if (tell(out, a, &r) < 0) {
			fprintf(stderr,
			    "raftconfctl: bad answer: the daemon sent changes that do not decode\n");
			return 1;
		}
		if (r.events.revision > after)
			after = r.events.revision;
	}
}
