/*
 * readiness.c — what systemd hears: READY=1 once this node caught up with
 * a leader (or after ready_timeout_ms anyway), STATUS= with role, term and
 * leader, EXTEND_TIMEOUT_USEC while it waits, WATCHDOG=1 from the loop.
 *
 * Not here: STOPPING=1 (node.c, with the stop itself).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "driver.h"
#include "peer.h"

/*
 * STATUS= for systemctl status: role, term, leader, members heard from:
 * on the leader every member, elsewhere the voters (only the leader talks
 * to learners, roster_links).
 */
void
readiness_status(struct node *n)
{
	struct raft_status st;
	size_t healthy = 0, counted = 0;
	char line[256];

	if (!n->rdy.ready)
		return;
	raft_status(n->raft, &st);
	for (size_t i = 0; i < n->n_members; i++) {
		const struct member *mb = &n->members[i];
		struct raft_progress pr;

		if (st.role != RAFT_LEADER && !mb->voter)
			continue;
		counted++;
		if (mb->id == n->self)
			healthy++;
		else if (st.role == RAFT_LEADER)
			healthy += raft_progress(n->raft, mb->id, &pr) == 0 &&
			    pr.last_contact * n->tick_ms <= n->cfg->election_ms;
		else
			healthy += peer_reachable(n->peers, mb->name);
	}
	if (n->removed)
		snprintf(line, sizeof(line), "removed from the cluster: takes no part");
	else if (st.role == RAFT_SPARE)
		snprintf(line, sizeof(line),
		    "spare: not a member of a cluster yet "
		    "('raftconfctl join ADDRESS')");
	else
		snprintf(line, sizeof(line), "%s, term %" PRIu64 ", leader %s, %zu/%zu %s%s",
		    raft_role_name(st.role), st.term,
		    st.leader ? roster_name(n, st.leader) : "none", healthy, counted,
		    st.role == RAFT_LEADER ? "members" : "voters", n->stopping ? ", stopping" : "");
	if (strcmp(line, n->rdy.status_line) != 0) {
		snprintf(n->rdy.status_line, sizeof(n->rdy.status_line), "%s", line);
		sd_notifyf(0, "STATUS=%s", line);
	}
}

/* Say STATUS= again even if the line did not change (a new state to tell). */
void
readiness_refresh(struct node *n)
{
	n->rdy.status_line[0] = '\0';
	readiness_status(n);
}

static void
become_ready(struct node *n, const char *why)
{
	n->rdy.ready = true;
	sd_notify(0, "READY=1");
	log_notice("ready: %s", why);
	readiness_refresh(n);
}

/* The core answered a ReadIndex: ours measures "caught up". */
void
readiness_read_index(struct node *n, uint64_t ctx, uint64_t index)
{
	if (ctx == n->rdy.ctx)
		n->rdy.index = index ? index : 1;
}

/*
 * READY=1 once this node has applied what the leader had committed when we
 * asked it (a ReadIndex round gives exactly that index), or after
 * ready_timeout_ms anyway.  Until then the start timeout is extended and
 * STATUS= says what we wait for.
 */
void
readiness_progress(struct node *n, uint64_t now)
{
	struct readiness *r = &n->rdy;
	struct raft_status st;
	char line[200];

	if (r->ready)
		return;
	raft_status(n->raft, &st);
	if (r->index && n->applied >= r->index) {
		char why[128];

		snprintf(why, sizeof(why),
		    "applied %" PRIu64 ", the leader's commit index when "
		    "we asked",
		    n->applied);
		become_ready(n, why);
		return;
	}
	if (now >= r->deadline_ms) {
		log_warning("not caught up with a leader after %u ms (no quorum?); signalling "
			    "readiness anyway: reads with --stale only until a leader is found",
		    n->cfg->ready_timeout_ms);
		sd_notify(0,
		    "READY=1\nSTATUS=no quorum: no leader confirmed this node's state; "
		    "serving stale reads");
		r->ready = true;
		snprintf(r->status_line, sizeof(r->status_line), "no quorum");
		return;
	}
	if (st.leader && r->index == 0 &&
	    (r->asked_ms == 0 || now - r->asked_ms >= n->cfg->election_ms)) {
		r->ctx = ++n->next_ctx;
		r->asked_ms = now;
		log_info("asking leader %s for its commit index (ReadIndex context %016" PRIx64 ")",
		    roster_name(n, st.leader), r->ctx);
		raft_read_index(n->raft, r->ctx);
		node_schedule(n);
	}
	if (now - r->notify_ms >= 1000) {
		r->notify_ms = now;
		if (st.leader == 0)
			snprintf(line, sizeof(line),
			    "waiting for a leader (role %s, term %" PRIu64 ")",
			    raft_role_name(st.role), st.term);
		else if (r->index == 0)
			snprintf(line, sizeof(line), "asking leader %s for its commit index",
			    roster_name(n, st.leader));
		else
			snprintf(line, sizeof(line), "catching up: applied %" PRIu64 " of %" PRIu64,
			    n->applied, r->index);
		sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=%s", 5000000ULL, line);
	}
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

/* After the node is up: the watchdog, and READY=1 now for a spare. */
void
readiness_start(struct node *n)
{
	uint64_t wd_usec = 0;
	struct raft_status st;

	if (sd_watchdog_enabled(0, &wd_usec) > 0) {
		struct timeval tv = { wd_usec / 2 / 1000000, wd_usec / 2 % 1000000 };

		n->rdy.watchdog_ev = event_new(n->base, -1, EV_PERSIST, watchdog_cb, n);
		if (n->rdy.watchdog_ev)
			evtimer_add(n->rdy.watchdog_ev, &tv);
		sd_notify(0, "WATCHDOG=1");
	}
	raft_status(n->raft, &st);
	if (st.role == RAFT_SPARE)
		become_ready(n, "a spare: serving the control socket until joined");
	else
		readiness_progress(n, node_now_ms());
}

void
readiness_free(struct node *n)
{
	if (n->rdy.watchdog_ev)
		event_free(n->rdy.watchdog_ev);
	n->rdy.watchdog_ev = NULL;
}
