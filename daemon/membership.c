/*
 * membership.c — changing the membership: join (as the member asked, and
 * as the spare that asks), remove, leadership transfer, promotion of
 * learners that caught up, and the notice a removed member gets.
 *
 * Each change is proposed to the core and waits in the pending table for
 * its entry to apply; a follower forwards it to the leader.
 *
 * Not here: the member table (roster.c), the rules of a change (raft.c),
 * the links (peer.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "driver.h"
#include "peer.h"

/* ------------------------------------------------------ removal notices */

/* d's removal committed at index: its link goes a moment later. */
static void
departed_commit(struct departed *d, uint64_t index)
{
	d->committed = true;
	d->index = index;
	d->unlink_at_ms = node_now_ms() + DEPARTED_LINGER_MS;
}

/*
 * A removal committed: say that the member left (issue 18: not before), and,
 * leader, tell the removed node, which cannot learn it from a log it no
 * longer receives.
 */
void
membership_tell_removed(struct node *n, const struct raft_entry *e)
{
	struct proto_msg m = { .type = PROTO_T_REMOVED };
	struct raft_change c;

	if (raft_change_decode(e->data, e->len, &c) < 0 || c.op != RAFT_CHANGE_REMOVE)
		return;
	for (size_t i = 0; i < N_DEPARTED; i++) {
		if (n->departed[i].id != c.id || n->departed[i].committed)
			continue;
		/* Said here, not when the entry came: only now is it so. */
		departed_commit(&n->departed[i], e->index);
		log_notice_f(LOG_FIELDS(.peer = n->departed[i].name, .index = e->index),
		    "member %s left the cluster (entry %" PRIu64 " committed)", n->departed[i].name,
		    e->index);
		if (c.id == n->self || raft_leader(n->raft) != n->self)
			continue;
		m.removed.cluster = proto_cstr(n->cfg->cluster);
		m.removed.index = e->index;
		proto_buf_reset(&n->out);
		if (proto_encode(&n->out, &m, NULL, 0) == 0)
			peer_send(n->peers, n->departed[i].name, n->out.data, n->out.len);
	}
}

/*
 * A REMOVED notice from peer_id on connection conn: this node takes no part
 * any more.  Believed only from the leader of this node's current term (or,
 * when it knows none, from a voter of its configuration), and only once
 * this node's own configuration leaves it out (the leader sends
 * a removed member the log up to the entry that removes it): a notice can
 * confirm what the log says, never replace it.  Anything else closes the
 * connection with one log line.
 */
void
membership_removed_notice(
    struct node *n, uint64_t conn, const char *peer_id, const struct proto_msg *m)
{
	const struct member *sender;
	struct raft_status st;
	char why[RAFTCONF_MAX_ERROR];

	if (n->removed)
		return;
	raft_status(n->raft, &st);
	if (m->removed.cluster.len != strlen(n->cfg->cluster) ||
	    memcmp(m->removed.cluster.ptr, n->cfg->cluster, m->removed.cluster.len) != 0) {
		snprintf(why, sizeof(why), "a removal notice for cluster \"%.*s\", not ours",
		    (int)m->removed.cluster.len, m->removed.cluster.ptr);
		peer_refuse(n->peers, conn, why);
		return;
	}
	if (st.leader != 0 && st.leader != node_id_of(peer_id)) {
		snprintf(why, sizeof(why),
		    "a removal notice from a node that is not the leader of term %" PRIu64 " (%s)",
		    st.term, roster_name(n, st.leader));
		peer_refuse(n->peers, conn, why);
		return;
	}
	/*
	 * No leader known: a leader that removed itself steps down when it
	 * stops hearing a majority before the change commits, and the voters
	 * left, who no longer count it, elect the next one without a word to
	 * it.  Only they can lead once the change commits: believed from one
	 * of them (its configuration, checked below, leaves this node out).
	 */
	if (st.leader == 0 &&
	    ((sender = roster_by_id(n, node_id_of(peer_id))) == NULL || !sender->voter)) {
		snprintf(why, sizeof(why),
		    "a removal notice from a node that is neither the leader of term %" PRIu64
		    " (none known) nor a voter of this node's configuration",
		    st.term);
		peer_refuse(n->peers, conn, why);
		return;
	}
	if (st.role != RAFT_SPARE || n->n_members == 0) {
		snprintf(why, sizeof(why),
		    "a removal notice (index %" PRIu64 ") while this node's configuration "
		    "(log up to %" PRIu64 ") still lists it",
		    m->removed.index, st.last_index);
		peer_refuse(n->peers, conn, why);
		return;
	}
	n->removed = true;
	for (size_t i = 0; i < N_DEPARTED; i++)
		if (n->departed[i].id == n->self && !n->departed[i].committed)
			departed_commit(&n->departed[i], m->removed.index);
	log_notice_f(LOG_FIELDS(.peer = peer_id, .index = m->removed.index),
	    "%s told us: removed from the cluster %s at index %" PRIu64 "; this node takes "
	    "no part any more ('raftconfctl join' adds it again after its data_dir is "
	    "emptied)",
	    peer_id, n->cfg->cluster, m->removed.index);
	readiness_refresh(n);
}

/* --------------------------------------------------------------- changes */

/* Answer a failed raft_change(), or wait for its entry to apply.  m: the
 * request, forwarded if this node is not the leader (NULL: a queued join,
 * answered "no leader" then, which its caller retries). */
static void
track_change(struct node *n, const struct origin *o, const struct proto_msg *m, uint8_t op, int rc,
    uint64_t index, uint64_t term)
{
	struct pending *w;

	switch (rc) {
	case 0:
		break;
	case -ENOTLEADER:
		if (m)
			kv_forward(n, o, m);
		else
			reply_error(n, o, PROTO_E_NOLEADER,
			    "leadership moved while the join waited its turn; retry");
		return;
	case -EBUSY:
	case -EAGAIN:
		/* raftconfctl tries a busy cluster again until its deadline */
		reply_error(n, o, PROTO_E_BUSY,
		    "another membership change or a "
		    "leadership transfer is in progress, or the leader is new; retry");
		return;
	case -EEXIST:
		reply_error(n, o, PROTO_E_REFUSED, "already a member");
		return;
	case -ENOENT:
		reply_error(n, o, PROTO_E_NOTFOUND, "no such member");
		return;
	default:
		reply_error(
		    n, o, PROTO_E_REFUSED, "membership change refused: %s", raft_strerror(-rc));
		return;
	}
	w = pending_new(PEND_WRITE, o, node_now_ms() + n->request_timeout_ms, NULL, 0);
	if (w == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	w->op = op;
	w->key = index;
	w->term = term;
	pending_add(&n->pending, w);
	node_schedule(n);
}

/* Refuse sname's join: the answer, and a notice saying why (issue 17). */
static void __attribute__((format(printf, 5, 6))) join_refuse(
    struct node *n, const struct origin *o, uint16_t code, const char *sname, const char *fmt, ...)
{
	char why[RAFTCONF_MAX_ERROR];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_notice_f(LOG_FIELDS(.peer = sname), "join of %s refused: %s", sname, why);
	reply_error(n, o, code, "%s", why);
}

/*
 * Why sname at saddr cannot join: answered (an error, or OK for a join
 * that is in already), true; or false, it may.
 */
static bool
join_answered(struct node *n, const struct origin *o, const char *sname, const char *saddr)
{
	const struct member *same = roster_by_name(n, proto_cstr(sname));
	uint64_t id = node_id_of(sname);

	if (same && strcmp(same->address, saddr) == 0) {
		struct raft_status st;

		/* A retried join: it is in already.  The index answered is one
		 * its node must reach to have caught up (raftconfctl join
		 * waits for it): this member's commit, past the entry that
		 * added it, since the roster comes from applied entries. */
		raft_status(n->raft, &st);
		reply_ok(n, o, st.commit);
		return true;
	}
	if (same) {
		join_refuse(n, o, PROTO_E_REFUSED, sname,
		    "a member named %s already exists at %s; remove it first", sname,
		    same->address);
		return true;
	}
	if (roster_by_id(n, id)) {
		join_refuse(n, o, PROTO_E_REFUSED, sname,
		    "node id %s collides with member %s; choose another id", sname,
		    roster_name(n, id));
		return true;
	}
	for (size_t i = 0; i < n->n_members; i++)
		if (strcmp(n->members[i].address, saddr) == 0) {
			join_refuse(n, o, PROTO_E_REFUSED, sname, "address %s is member %s's",
			    saddr, n->members[i].name);
			return true;
		}
	return false;
}

/* Joins proposed here whose entry has not applied yet (for the log). */
static size_t
joins_unapplied(struct node *n)
{
	struct pending *p, *tmp;
	size_t count = 0;

	PENDING_EACH(&n->pending, PEND_WRITE, p, tmp)
		count += p->op == PROTO_T_JOIN;
	return count;
}

/*
 * Leader: propose adding sname; -EBUSY or -EAGAIN: another change first,
 * or sname's own add is on its way (a retried join, learner adds not
 * waiting for each other): it waits in the queue, answered once applied.
 */
static int
join_propose(struct node *n, const struct origin *o, const struct proto_msg *m, const char *sname,
    const char *saddr, uint8_t flags)
{
	struct raft_member rm = { 0 };
	uint64_t index = 0, term = 0;
	int rc;

	roster_context_make(&rm, sname, saddr);
	if (flags & PROTO_F_LEARNER)
		rm.context_len += snprintf((char *)rm.context + rm.context_len,
		    sizeof(rm.context) - rm.context_len, " learner");
	rc = raft_change(n->raft, RAFT_CHANGE_ADD_LEARNER, node_id_of(sname), rm.context,
	    rm.context_len, &index, &term);
	if (rc == -EBUSY || rc == -EAGAIN)
		return rc;
	if (rc == -EEXIST && !roster_by_id(n, node_id_of(sname)))
		return -EBUSY;
	if (rc == 0)
		log_notice_f(LOG_FIELDS(.peer = sname, .index = index),
		    "adding %s (%s) as a %s, with %zu other joins not yet applied", sname, saddr,
		    (flags & PROTO_F_LEARNER) ? "permanent learner"
					      : "learner, to be promoted once caught up",
		    joins_unapplied(n));
	track_change(n, o, m, PROTO_T_JOIN, rc, index, term);
	return 0;
}

/*
 * Joins that arrive while a change of the voters is under way (Raft makes
 * those one at a time) wait at the leader, in order, and go in as it
 * commits; learner adds do not wait for each other, so the queue empties
 * at once behind them: a fleet's hosts may all ask in the same second.  A
 * waiting join has no deadline here: the member that forwarded it, or the
 * spare that asked, answers its caller "timeout" in time, raftconfctl asks
 * again, and the join asked again keeps its place (and gets the answer).
 * One whose caller gave up still goes in: the spare asked for it.  Beyond
 * JOIN_QUEUE_MAX waiting, "busy", which raftconfctl retries.
 */
#define JOIN_QUEUE_MAX 4096

static void
join_queue(
    struct node *n, const struct origin *o, const char *sname, const char *saddr, uint8_t flags)
{
	char data[RAFTCONF_MAX_ID + 1 + RAFTCONF_MAX_ADDRESS + 1];
	size_t nlen = strlen(sname), len;
	struct pending *p, *tmp;

	PENDING_EACH(&n->pending, PEND_JOIN_QUEUED, p, tmp) {
		if (strcmp(p->data, sname) != 0)
			continue;
		if (strcmp(p->data + nlen + 1, saddr) != 0) {
			join_refuse(n, o, PROTO_E_REFUSED, sname,
			    "a join of %s at %s is waiting already; not at %s too", sname,
			    p->data + nlen + 1, saddr);
			return;
		}
		p->from = *o; /* asked again: the newer caller gets the answer */
		p->flags = flags;
		return;
	}
	if (pending_count(&n->pending, PEND_JOIN_QUEUED) >= JOIN_QUEUE_MAX) {
		reply_error(
		    n, o, PROTO_E_BUSY, "%d joins are waiting already; retry", JOIN_QUEUE_MAX);
		return;
	}
	len = (size_t)snprintf(data, sizeof(data), "%s%c%s", sname, '\0', saddr);
	if ((p = pending_new(PEND_JOIN_QUEUED, o, 0, data, len)) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	p->flags = flags;
	pending_add(&n->pending, p);
	log_info_f(LOG_FIELDS(.peer = sname), "join of %s (%s) waits behind %zu", sname, saddr,
	    pending_count(&n->pending, PEND_JOIN_QUEUED) - 1);
}

/* The waiting joins, in order, while changes go through (process_ready). */
void
membership_joins_progress(struct node *n)
{
	struct pending *p;

	while ((p = pending_first(&n->pending, PEND_JOIN_QUEUED)) != NULL) {
		const char *sname = p->data, *saddr = p->data + strlen(p->data) + 1;
		struct origin from = p->from;

		if (raft_leader(n->raft) != n->self) {
			pending_unlink(&n->pending, p);
			track_change(n, &from, NULL, PROTO_T_JOIN, -ENOTLEADER, 0, 0);
			free(p);
			continue;
		}
		if (!join_answered(n, &from, sname, saddr) &&
		    join_propose(n, &from, NULL, sname, saddr, p->flags) < 0)
			return; /* still busy: the next change's commit brings us back */
		pending_del(&n->pending, p);
	}
}

/* A spare asks (through us) to be added to the cluster. */
void
membership_join(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	const struct proto_str *name = &m->join.node_id, *addr = &m->join.address;
	char sname[RAFTCONF_MAX_ID + 1], saddr[RAFTCONF_MAX_ADDRESS + 1];

	snprintf(sname, sizeof(sname), "%.*s", (int)name->len, name->ptr);
	snprintf(saddr, sizeof(saddr), "%.*s", (int)addr->len, addr->ptr);
	if (m->join.cluster.len != strlen(n->cfg->cluster) ||
	    memcmp(m->join.cluster.ptr, n->cfg->cluster, m->join.cluster.len) != 0) {
		join_refuse(n, o, PROTO_E_REFUSED, sname,
		    "cluster name \"%s\" expected, got \"%.*s\"", n->cfg->cluster,
		    (int)m->join.cluster.len, m->join.cluster.ptr);
		return;
	}
	if (addr_parse(saddr, NULL, 0, NULL, NULL, 0) < 0) {
		join_refuse(n, o, PROTO_E_BADREQ, sname, "bad address \"%s\"", saddr);
		return;
	}
	if (join_answered(n, o, sname, saddr))
		return;
	if (raft_leader(n->raft) != n->self) {
		kv_forward(n, o, m);
		return;
	}
	/* Behind others that wait, or behind a change under way: in the queue. */
	if (pending_count(&n->pending, PEND_JOIN_QUEUED) > 0 ||
	    join_propose(n, o, m, sname, saddr, m->join.flags) < 0)
		join_queue(n, o, sname, saddr, m->join.flags);
}

/* raftconfctl join ADDRESS, on this spare: ask the member at ADDRESS. */
void
membership_joinreq(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	struct proto_msg jm = { .type = PROTO_T_JOIN };
	struct pending *j;
	struct raft_status st;
	char addr[RAFTCONF_MAX_ADDRESS + 1];
	int rc;

	raft_status(n->raft, &st);
	if (st.role != RAFT_SPARE) {
		/* In already (a join asked again, its first answer lost): done,
		 * once it has applied what its log holds, which reaches the
		 * entry that added it (raftconfctl join waits for that). */
		reply_ok(n, o, st.last_index);
		return;
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)m->joinreq.address.len, m->joinreq.address.ptr);
	j = pending_new(PEND_JOIN, o, node_now_ms() + n->request_timeout_ms, NULL, 0);
	if (j == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	jm.id = ++n->next_fwd;
	jm.join.flags = m->joinreq.flags;
	jm.join.node_id = proto_cstr(n->cfg->node_id);
	jm.join.address = proto_cstr(n->cfg->address);
	jm.join.cluster = proto_cstr(n->cfg->cluster);
	proto_buf_reset(&n->out);
	rc = proto_encode(&n->out, &jm, NULL, 0);
	if (rc == 0)
		rc = peer_dial_once(n->peers, addr, n->out.data, n->out.len, &j->key);
	if (rc < 0) {
		free(j);
		reply_error(n, o, PROTO_E_BADREQ, "cannot ask %s: %s", addr, strerror(-rc));
		return;
	}
	pending_add(&n->pending, j);
	log_notice("asking the cluster at %s to add this node (%s)", addr, n->cfg->address);
}

/* A response on connection conn: if it answers our join, relay it; true then. */
bool
membership_join_answer(
    struct node *n, uint64_t conn, const char *peer_id, const struct proto_msg *m)
{
	struct pending *j = pending_find(&n->pending, PEND_JOIN, conn);
	struct proto_msg answer = *m;

	if (j == NULL)
		return false;
	if (m->type == PROTO_T_OK)
		log_notice("the cluster at %s (via %s) added this node; waiting for the leader "
			   "to send the log",
		    peer_id, peer_id);
	reply_msg(n, &j->from, &answer);
	peer_close(n->peers, conn);
	pending_del(&n->pending, j);
	return true;
}

/*
 * The member asked for a join could not be reached, or closed the
 * connection before it answered.  Busy, which raftconfctl asks again
 * until its --timeout: a member takes only so many connections from nodes
 * that are not members yet (RAFTCONF_MAX_PEER_STRANGERS), and hundreds of
 * hosts joining at once find it at that limit.  A member that refuses the
 * join answers why, and that answer is relayed as it is.
 */
void
membership_join_failed(struct node *n, uint64_t conn, const char *why)
{
	struct pending *j = pending_find(&n->pending, PEND_JOIN, conn);

	if (j == NULL)
		return;
	reply_error(n, &j->from, PROTO_E_BUSY,
	    "the member asked could not be reached: %s (it may be at its limit of "
	    "connections from nodes that are not members yet); retry",
	    why);
	pending_del(&n->pending, j);
}

/* Leader: has id (self, or a member) been heard from within the election timeout? */
static bool
answers(struct node *n, uint64_t id)
{
	struct raft_progress pr;

	return id == n->self ||
	    (raft_progress(n->raft, id, &pr) == 0 &&
		pr.last_contact * n->tick_ms <= n->cfg->election_ms);
}

/* The voters but one (except; 0: none), those heard from, the others' names. */
struct voter_count {
	size_t voters, healthy;
	char silent[RAFTCONF_MAX_ERROR / 2]; /* "n2, n3" */
};

static void
count_voters(struct node *n, uint64_t except, struct voter_count *vc)
{
	size_t off = 0;

	vc->voters = vc->healthy = 0;
	vc->silent[0] = '\0';
	for (size_t i = 0; i < n->n_members; i++) {
		const struct member *mb = &n->members[i];

		if (!mb->voter || mb->id == except)
			continue;
		vc->voters++;
		if (answers(n, mb->id))
			vc->healthy++;
		else if (off < sizeof(vc->silent))
			off += (size_t)snprintf(vc->silent + off, sizeof(vc->silent) - off, "%s%s",
			    off ? ", " : "", mb->name);
	}
}

/*
 * Leader: would the voters left once gone is removed include a majority
 * that answers?  Else the change could neither commit nor leave a cluster
 * that elects a leader (etcd's strict reconfiguration check).  true: yes;
 * false: why filled in.
 */
static bool
removal_keeps_quorum(struct node *n, const struct member *gone, char *why, size_t whylen)
{
	struct voter_count vc;

	if (!gone->voter)
		return true;
	count_voters(n, gone->id, &vc);
	if (vc.healthy >= vc.voters / 2 + 1)
		return true;
	/* cut short if it must be: its start says enough */
	if (snprintf(why, whylen,
		"removing %s would leave %zu voter%s of which %zu answer%s (%s not heard from "
		"within the election timeout), short of the %zu a majority needs: the cluster "
		"could not commit the change nor elect a leader; bring %s back first",
		gone->name, vc.voters, vc.voters == 1 ? "" : "s", vc.healthy,
		vc.healthy == 1 ? "s" : "", vc.silent, vc.voters / 2 + 1, vc.silent) < 0)
		why[0] = '\0';
	return false;
}

void
membership_remove(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	const struct member *mb = roster_by_name(n, m->remove.node_id);
	char why[RAFTCONF_MAX_ERROR];
	uint64_t index = 0, term = 0;
	int rc;

	for (size_t i = 0; mb == NULL && i < N_DEPARTED; i++) {
		const struct departed *d = &n->departed[i];

		if (d->id == 0 || m->remove.node_id.len != strlen(d->name) ||
		    memcmp(m->remove.node_id.ptr, d->name, m->remove.node_id.len) != 0)
			continue;
		/* A retried remove (raftconfctl tries again when its first try
		 * timed out or lost its leader), or one just after another:
		 * what it asks for holds, or will once committed. */
		if (d->committed)
			reply_ok(n, o, d->index);
		else /* "timeout" makes raftconfctl wait on */
			reply_error(n, o, PROTO_E_TIMEOUT,
			    "the removal of %s is in the log but not committed yet: the voters "
			    "left must answer",
			    d->name);
		return;
	}
	if (n->removed) {
		reply_no_leader(n, o);
		return;
	}
	if (mb == NULL) {
		reply_error(n, o, PROTO_E_NOTFOUND, "no member named %.*s",
		    (int)m->remove.node_id.len, m->remove.node_id.ptr);
		return;
	}
	if (raft_leader(n->raft) == n->self && !removal_keeps_quorum(n, mb, why, sizeof(why))) {
		if (m->type != PROTO_T_REMOVE_FORCE) {
			log_notice_f(LOG_FIELDS(.peer = mb->name), "removal refused: %s", why);
			reply_error(n, o, PROTO_E_REFUSED, "%s (--force removes it anyway)", why);
			return;
		}
		log_warning_f(
		    LOG_FIELDS(.peer = mb->name), "removal forced (remove --force): %s", why);
	}
	rc = raft_change(n->raft, RAFT_CHANGE_REMOVE, mb->id, NULL, 0, &index, &term);
	if (rc == 0)
		log_notice_f(LOG_FIELDS(.peer = mb->name, .index = index),
		    "removing member %s (%s)", mb->name, mb->address);
	track_change(n, o, m, m->type, rc, index, term);
}

void
membership_transfer(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	const struct member *mb = NULL;
	struct pending *t;
	int rc;

	if (m->transfer.node_id.len &&
	    ((mb = roster_by_name(n, m->transfer.node_id)) == NULL || !mb->voter)) {
		reply_error(n, o, PROTO_E_NOTFOUND, "no voter named %.*s",
		    (int)m->transfer.node_id.len, m->transfer.node_id.ptr);
		return;
	}
	rc = raft_transfer(n->raft, mb ? mb->id : 0);
	if (rc == -ENOTLEADER) {
		kv_forward(n, o, m);
		return;
	}
	if (rc < 0) {
		reply_error(n, o, PROTO_E_REFUSED, "cannot transfer leadership%s%s: %s",
		    mb ? " to " : "", mb ? mb->name : "", raft_strerror(-rc));
		return;
	}
	t = pending_new(PEND_TRANSFER, o, node_now_ms() + 4 * n->cfg->election_ms, NULL, 0);
	if (t == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	t->key = mb ? mb->id : 0;
	pending_add(&n->pending, t);
	node_schedule(n);
}

/* Answer the transfers that happened. */
void
membership_transfers_progress(struct node *n)
{
	uint64_t leader = raft_leader(n->raft);
	struct pending *t, *tmp;

	PENDING_EACH(&n->pending, PEND_TRANSFER, t, tmp) {
		if (leader && leader != n->self && (t->key == 0 || t->key == leader)) {
			reply_ok(n, &t->from, 0);
			pending_del(&n->pending, t);
		}
	}
}

/* A join or transfer whose deadline passed (pending_expire). */
void
membership_expired(struct node *n, struct pending *p)
{
	if (p->kind == PEND_JOIN) {
		reply_error(n, &p->from, PROTO_E_TIMEOUT,
		    "the cluster did not answer the join "
		    "within %u ms",
		    n->request_timeout_ms);
		peer_close(n->peers, p->key);
	} else if (p->kind == PEND_TRANSFER) {
		reply_error(n, &p->from, PROTO_E_TIMEOUT, "leadership did not move within %u ms",
		    4 * n->cfg->election_ms);
	}
}

/*
 * Leader: may a learner become a voter?  Only if today's voters that
 * answer, not counting the learner, are a majority of the voters it would make
 * (etcd's strict reconfiguration check: the newcomer is not counted as
 * started), so that its failure right after cannot stop the cluster; a
 * lone voter may take a second.  false: why filled in.
 */
static bool
promotion_keeps_quorum(struct node *n, char *why, size_t whylen)
{
	struct voter_count vc;

	count_voters(n, 0, &vc);
	if ((vc.voters == 1 && vc.healthy == 1) || vc.healthy >= (vc.voters + 1) / 2 + 1)
		return true;
	if (snprintf(why, whylen,
		"with it the %zu voters would need %zu that answer, and %zu of today's %zu do (%s "
		"not heard from within the election timeout): it stays a learner until %s is back "
		"or removed",
		vc.voters + 1, (vc.voters + 1) / 2 + 1, vc.healthy, vc.voters, vc.silent,
		vc.silent) < 0)
		why[0] = '\0';
	return false;
}

/* Leader: learners that joined to vote become voters once caught up. */
void
membership_promote_learners(struct node *n)
{
	struct raft_status st;

	raft_status(n->raft, &st);
	if (st.role != RAFT_LEADER)
		return;
	for (size_t i = 0; i < n->n_members; i++) {
		const struct member *mb = &n->members[i];
		struct raft_progress pr;
		uint64_t index, term;
		char why[RAFTCONF_MAX_ERROR];

		if (mb->voter || mb->permanent_learner || raft_progress(n->raft, mb->id, &pr) < 0 ||
		    !pr.caught_up)
			continue;
		if (!promotion_keeps_quorum(n, why, sizeof(why))) {
			if (!mb->promote_held)
				log_notice_f(LOG_FIELDS(.peer = mb->name),
				    "%s has caught up, but is not promoted to voter: %s", mb->name,
				    why);
			n->members[i].promote_held = true;
			continue;
		}
		n->members[i].promote_held = false;
		if (raft_change(n->raft, RAFT_CHANGE_PROMOTE, mb->id, NULL, 0, &index, &term) == 0)
			log_notice_f(LOG_FIELDS(.peer = mb->name, .index = index),
			    "%s has caught up (match %" PRIu64 "); promoting it to voter", mb->name,
			    pr.match);
		return; /* one change at a time */
	}
}
