/*
 * cmd_cluster.c — raftconfctl's commands on this node and its cluster:
 * status (--cluster: every member), members, join (waiting until the new
 * member has caught up), remove, transfer (waiting to learn the new
 * leader), snapshot, and backup (backup.c runs it).
 *
 * Not here: the keys (cmd_kv.c), the HTTP tokens (cmd_token.c), the
 * command table and the parsing of the command line (raftconfctl.c).
 */
#include "cmd.h"

#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "client.h"
#include "output.h"
#include "proto.h"

/*
 * status --cluster: every member's status, each as it reports itself,
 * through the local daemon, which asks them on its peer links and waits at
 * most half of --timeout for them, so that its answer can still say which
 * did not answer.  Exit 1 when one did not (etcdctl's habit), after
 * printing every row.
 */
static int
status_cluster(struct ctl *ctl)
{
	struct proto_msg m = { .type = PROTO_T_CLUSTER_STATUS }, r;
	union proto_item it;
	struct proto_iter iter;
	double wait_ms = ctl->timeout * 1000 / 2;
	uint32_t failed = 0;

	m.cluster_status.wait_ms = wait_ms < 1	    ? 1
	    : wait_ms > RAFTCONF_MAX_STATUS_WAIT_MS ? RAFTCONF_MAX_STATUS_WAIT_MS
						    : (uint64_t)wait_ms;
	if (cmd_request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_CLUSTER_STATUS_REPLY)
		return cmd_unexpected(&r);
	ctl->out->cluster_begin(&r);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1) {
		ctl->out->cluster_member(&it.member_status);
		failed += it.member_status.error.len > 0;
	}
	ctl->out->cluster_end();
	if (failed == 0)
		return EXIT_DONE;
	fprintf(stderr, "raftconfctl: %" PRIu32 " of %" PRIu32 " members gave no status\n", failed,
	    r.cluster_status_reply.items.count);
	return EXIT_FAILED;
}

int
cmd_status(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_STATUS }, r;
	union proto_item it;
	struct proto_iter iter;
	size_t longest = 0;

	if (in->opts & OPT_CLUSTER)
		return status_cluster(ctl);
	if (cmd_request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_STATUS_REPLY)
		return cmd_unexpected(&r);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		if (it.pair.name.len > longest)
			longest = it.pair.name.len;
	ctl->out->status_begin(longest);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		ctl->out->status_pair(&it.pair);
	ctl->out->status_end();
	return EXIT_DONE;
}

int
cmd_members(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_MEMBERS_VIEW }, r;
	union proto_item it;
	struct proto_iter iter;
	bool local;

	if (cmd_request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_MEMBERS_VIEW_REPLY)
		return cmd_unexpected(&r);
	local = (r.members_view_reply.flags & PROTO_F_LOCAL_VIEW) != 0;
	if (local)
		fprintf(stderr,
		    "raftconfctl: no leader known or reachable: this node's own view, without "
		    "match, lag or last contact\n");
	ctl->out->members_begin(local);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		ctl->out->member(&it.member_view);
	ctl->out->members_end();
	return EXIT_DONE;
}

/* Requests whose answer is OK, with m filled in; retried while the
 * cluster has no leader, is busy or late (a join too: asked again once it
 * is in, the daemon says OK). */
static int
simple_request(struct ctl *ctl, struct proto_msg *m, const char *done)
{
	struct proto_msg r;

	if (cmd_request(ctl, m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return cmd_unexpected(&r);
	ctl->out->done(done, r.ok.revision);
	return EXIT_DONE;
}

/* The status field name of r as a number: true, or false if it has none. */
static bool
status_u64(const struct proto_msg *r, const char *name, uint64_t *v)
{
	union proto_item it;
	struct proto_iter iter;

	proto_iter_init(&iter, r);
	while (proto_iter_next(&iter, &it) == 1) {
		char buf[32];

		if (it.pair.name.len != strlen(name) ||
		    memcmp(it.pair.name.ptr, name, it.pair.name.len) != 0)
			continue;
		if (it.pair.value.len == 0 || it.pair.value.len >= sizeof(buf))
			return false;
		memcpy(buf, it.pair.value.ptr, it.pair.value.len);
		buf[it.pair.value.len] = '\0';
		*v = strtoull(buf, NULL, 10);
		return true;
	}
	return false;
}

#define JOIN_POLL_MS 100

/*
 * After the cluster added this node: wait until it has applied the log up
 * to what its leader committed and past the entry that added it (applied
 * means durable here: a node applies only what it has synced), until the
 * deadline; on a terminal, how far it is: the bytes of the leader's
 * snapshot while one comes in (of its size, which the leader tells with
 * each chunk), then the entries.  1: caught up; 0: not confirmed (the
 * daemon stopped answering, or the deadline came), said on stderr.
 */
static int
join_catch_up(struct ctl *ctl, uint64_t added, double deadline)
{
	bool tty = isatty(STDERR_FILENO), shown = false;
	uint64_t applied = 0, commit = 0, recv = 0, size = 0;
	int rc;

	for (;;) {
		struct proto_msg m = { .type = PROTO_T_STATUS }, r;
		char err[RAFTCONF_MAX_ERROR];

		if (client_now() >= deadline) {
			fprintf(stderr,
			    "%sraftconfctl: timed out: the cluster added this node, but it had not "
			    "caught up when --timeout ran out (applied %" PRIu64 " of %" PRIu64
			    "); run join again to wait\n",
			    shown ? "\n" : "", applied, commit > added ? commit : added);
			return 0;
		}
		client_set_deadline(ctl->client, deadline - client_now());
		rc = client_request(ctl->client, &m, &r, false, err, sizeof(err));
		if (rc < 0 || r.type != PROTO_T_STATUS_REPLY) {
			fprintf(stderr,
			    "%sraftconfctl: %s; the cluster added this node, but its raftconfd "
			    "stopped answering before it caught up: run join again once it is "
			    "back\n",
			    shown ? "\n" : "",
			    rc < 0 ? err : "bad answer: an answer that is not a status");
			return 0;
		}
		if (!status_u64(&r, "snapshot_recv_bytes", &recv) ||
		    !status_u64(&r, "snapshot_recv_size", &size))
			recv = size = 0;
		if (status_u64(&r, "applied", &applied) && status_u64(&r, "commit", &commit) &&
		    commit > 0 && applied >= commit && applied >= added)
			break;
		if (tty && size > 0 && recv < size)
			fprintf(stderr,
			    "\rjoin: receiving the leader's snapshot: %" PRIu64 " / %" PRIu64
			    " bytes (%" PRIu64 "%%)\033[K",
			    recv, size, recv * 100 / size);
		else if (tty)
			fprintf(stderr,
			    "\rjoin: catching up: applied %" PRIu64 " of %" PRIu64 "\033[K",
			    applied, commit > added ? commit : added);
		shown = shown || tty;
		poll(NULL, 0, JOIN_POLL_MS);
	}
	if (shown && size > 0)
		fprintf(stderr,
		    "\rjoin: caught up: applied %" PRIu64 ", from a snapshot of %" PRIu64
		    " bytes\033[K\n",
		    applied, size);
	else if (shown)
		fprintf(stderr, "\rjoin: caught up: applied %" PRIu64 "\033[K\n", applied);
	return 1;
}

int
cmd_join(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_JOINREQ }, r;
	double deadline = client_now() + ctl->timeout;

	m.joinreq.flags = (in->opts & OPT_LEARNER) ? PROTO_F_LEARNER : 0;
	m.joinreq.address = proto_cstr(in->args[0]);
	if (cmd_request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return cmd_unexpected(&r);
	if (!join_catch_up(ctl, r.ok.revision, deadline))
		return EXIT_FAILED;
	ctl->out->done("joined", r.ok.revision);
	return EXIT_DONE;
}

int
cmd_remove(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type =
				   in->opts & OPT_FORCE ? PROTO_T_REMOVE_FORCE : PROTO_T_REMOVE };
	char done[RAFTCONF_MAX_ID + 64];

	m.remove.node_id = proto_cstr(in->args[0]);
	snprintf(done, sizeof(done), "removed %s: the change is committed", in->args[0]);
	return simple_request(ctl, &m, done);
}

int
cmd_snapshot(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_SNAPSHOT };

	return simple_request(ctl, &m, "snapshot taken");
}

/* backup.c does it: the file, the stream, the checks. */
int
cmd_backup(struct ctl *ctl, const struct invocation *in)
{
	return backup_run(ctl->client, ctl->out, in->args[0]);
}

/* The status field name of r: true, or false if it has none. */
static bool
status_str(const struct proto_msg *r, const char *name, struct proto_str *v)
{
	union proto_item it;
	struct proto_iter iter;

	proto_iter_init(&iter, r);
	while (proto_iter_next(&iter, &it) == 1)
		if (it.pair.name.len == strlen(name) &&
		    memcmp(it.pair.name.ptr, name, it.pair.name.len) == 0) {
			*v = it.pair.value;
			return true;
		}
	return false;
}

#define TRANSFER_POLL_MS 20

/*
 * transfer: the daemon says OK once the old leader has seen another take
 * over; what is printed is the leader this node then knows, in a term
 * after the one before the transfer (which it learns within a heartbeat),
 * or no leader if it does not learn one before --timeout.
 */
int
cmd_transfer(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_STATUS }, r;
	double deadline = client_now() + ctl->timeout;
	struct proto_str leader = { "", 0 };
	uint64_t before = 0, term = 0;

	if (cmd_request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_STATUS_REPLY)
		return cmd_unexpected(&r);
	status_u64(&r, "term", &before);
	m = (struct proto_msg){ .type = PROTO_T_TRANSFER };
	m.transfer.node_id = proto_cstr(in->nargs ? in->args[0] : "");
	if (cmd_request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return cmd_unexpected(&r);
	while (client_now() < deadline) {
		char err[RAFTCONF_MAX_ERROR];

		m = (struct proto_msg){ .type = PROTO_T_STATUS };
		client_set_deadline(ctl->client, deadline - client_now());
		if (client_request(ctl->client, &m, &r, false, err, sizeof(err)) < 0 ||
		    r.type != PROTO_T_STATUS_REPLY)
			break;
		if (status_u64(&r, "term", &term) && term > before &&
		    status_str(&r, "leader", &leader) && leader.len > 0 &&
		    !(leader.len == 4 && memcmp(leader.ptr, "none", 4) == 0)) {
			ctl->out->transferred(leader, term);
			return EXIT_DONE;
		}
		poll(NULL, 0, TRANSFER_POLL_MS);
	}
	ctl->out->transferred((struct proto_str){ "", 0 }, 0);
	return EXIT_DONE;
}
