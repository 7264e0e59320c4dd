/*
 * dispatch.c — where each request and each peer frame goes.
 *
 * Requests arrive from three doors (the control socket, HTTP, and peers
 * forwarding for their clients) and take one path; peer frames are Raft
 * messages for the core, requests, answers to what we forwarded, or a
 * removal notice.  A peer frame is believed only as far as its sender's
 * role: a Raft message speaks for the connection's node alone, the peer
 * port serves only what members forward and a spare's own join, and
 * whatever a peer may not send closes its connection (peer_refuse).
 *
 * Not here: serving any of them (kv.c, membership.c, watch.c, status.c,
 * snapshot.c), sockets (control.c, http.c, peer.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "http.h"
#include "log.h"
#include "driver.h"
#include "peer.h"

static bool
in_group(const struct control_client_info *ci, gid_t g)
{
	if (ci->gid == g)
		return true;
	for (size_t i = 0; i < ci->ngroups; i++)
		if (ci->groups[i] == g)
			return true;
	return false;
}

/*
 * With node.read_group set the control socket is open to all (0666), so
 * each client's credentials decide: root, the daemon's own user and its
 * group may do anything, the read group may read, nobody else anything.
 * Without it the socket's mode (0660) decides, as the kernel checks it.
 */
static bool
allowed(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	struct control_client_info ci;
	bool reads;

	if (o->kind != FROM_CONTROL || n->cfg->read_group[0] == '\0')
		return true;
	if (control_client(n->ctl, o->conn, &ci) < 0)
		return false;
	if (ci.uid == 0 || ci.uid == geteuid() || in_group(&ci, getegid()))
		return true;
	reads = m->type == PROTO_T_GET || m->type == PROTO_T_LIST || m->type == PROTO_T_LIST_EX ||
	    m->type == PROTO_T_WATCH || m->type == PROTO_T_POLL || m->type == PROTO_T_STATUS ||
	    m->type == PROTO_T_MEMBERS || m->type == PROTO_T_MEMBERS_VIEW ||
	    m->type == PROTO_T_CLUSTER_STATUS;
	if (in_group(&ci, n->read_gid)) {
		if (reads)
			return true;
		reply_error(n, o, PROTO_E_REFUSED,
		    "permission denied: group %s may only run get, list, watch, status and "
		    "members",
		    n->cfg->read_group);
		return false;
	}
	reply_error(n, o, PROTO_E_REFUSED,
	    "permission denied: uid %u is neither root nor in the daemon's group or in %s",
	    (unsigned)ci.uid, n->cfg->read_group);
	return false;
}

/*
 * Tokens are made, revoked and listed with raftconfctl on the control
 * socket, and reach the leader from a member that forwards them
 * (request_refusal lets only a member's TOKEN_ADD and TOKEN_REVOKE in on
 * the peer port): never from HTTP, whose clients never make or list
 * tokens.
 */
static bool
token_door(struct node *n, const struct origin *o)
{
	if (o->kind == FROM_CONTROL || (o->kind == FROM_PEER && o->no_forward))
		return true;
	reply_error(n, o, PROTO_E_REFUSED,
	    "HTTP tokens are made, revoked and listed with raftconfctl on the control socket "
	    "only");
	return false;
}

void
dispatch_request(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	if (!allowed(n, o, m))
		return;
	if (n->stopping && m->type != PROTO_T_STATUS) {
		reply_error(n, o, PROTO_E_NOLEADER, "this node is shutting down");
		return;
	}
	/* a removed node answers a retried remove of itself (membership.c) */
	if (n->removed && m->type != PROTO_T_STATUS && m->type != PROTO_T_MEMBERS &&
	    m->type != PROTO_T_MEMBERS_VIEW && m->type != PROTO_T_REMOVE &&
	    m->type != PROTO_T_REMOVE_FORCE &&
	    !(m->type == PROTO_T_GET && (m->get.flags & PROTO_F_STALE)) &&
	    !(m->type == PROTO_T_LIST && (m->list.flags & PROTO_F_STALE)) &&
	    !(m->type == PROTO_T_LIST_EX && (m->list_ex.flags & PROTO_F_STALE))) {
		reply_no_leader(n, o);
		return;
	}
	switch (m->type) {
	case PROTO_T_GET:
		kv_read(n, o, m->type, m->get.flags, &m->get.key, 0);
		break;
	case PROTO_T_LIST:
		kv_read(n, o, m->type, m->list.flags, &m->list.prefix, 0);
		break;
	case PROTO_T_LIST_EX:
		kv_read(n, o, m->type, m->list_ex.flags, &m->list_ex.prefix, m->list_ex.limit);
		break;
	case PROTO_T_SET:
	case PROTO_T_DEL:
	case PROTO_T_SET_IF:
	case PROTO_T_DEL_IF:
	case PROTO_T_TXN:
	case PROTO_T_DEL_PREFIX:
		kv_write(n, o, m);
		break;
	case PROTO_T_STATUS:
		status_reply(n, o);
		break;
	case PROTO_T_MEMBERS:
		status_members_reply(n, o);
		break;
	case PROTO_T_MEMBERS_VIEW:
		/* the leader's view wherever asked; this node's when it cannot */
		if (n->removed || kv_forward_quiet(n, o, m) < 0)
			status_members_view(n, o);
		break;
	case PROTO_T_CLUSTER_STATUS:
		/* asked of the leader, which links every member (roster_links);
		 * here when it cannot be reached, or a member forwarded it */
		if (o->kind != FROM_CONTROL && !(o->kind == FROM_PEER && o->no_forward))
			reply_error(n, o, PROTO_E_REFUSED,
			    "status --cluster is asked on the control socket");
		else if (o->kind == FROM_PEER || census_forward(n, o, m) < 0)
			census_start(n, o, m);
		break;
	case PROTO_T_JOIN:
		membership_join(n, o, m);
		break;
	case PROTO_T_JOINREQ:
		if (o->kind != FROM_CONTROL)
			reply_error(n, o, PROTO_E_REFUSED, "join requests come from raftconfctl");
		else
			membership_joinreq(n, o, m);
		break;
	case PROTO_T_REMOVE:
	case PROTO_T_REMOVE_FORCE:
		membership_remove(n, o, m);
		break;
	case PROTO_T_TRANSFER:
		membership_transfer(n, o, m);
		break;
	case PROTO_T_SNAPSHOT:
		snapshot_request(n, o);
		break;
	case PROTO_T_BACKUP:
		backup_request(n, o);
		break;
	case PROTO_T_WATCH:
		watch_start(n, o, &m->watch.prefix);
		break;
	case PROTO_T_POLL:
		watch_poll(n, o, m);
		break;
	case PROTO_T_TOKEN_ADD:
	case PROTO_T_TOKEN_REVOKE:
		if (token_door(n, o))
			kv_write(n, o, m);
		break;
	case PROTO_T_TOKEN_LIST:
		if (token_door(n, o)) {
			struct proto_str none = { "", 0 };

			kv_read(n, o, m->type, 0, &none, 0);
		}
		break;
	default:
		reply_error(n, o, PROTO_E_BADREQ, "%s is not supported by this version",
		    proto_type_name(m->type));
		break;
	}
}

static void
control_request_cb(void *arg, uint64_t conn, const struct proto_msg *m)
{
	struct origin o = { .kind = FROM_CONTROL, .conn = conn, .req_id = m->id };

	dispatch_request(arg, &o, m);
}

static void
control_closed_cb(void *arg, uint64_t conn)
{
	/* Other answers to a client that left are dropped by control_reply(). */
	watch_drop(arg, FROM_CONTROL, conn);
	backup_drop_conn(arg, conn);
}

static void
control_drained_cb(void *arg, uint64_t conn)
{
	backup_drained(arg, conn);
}

static void
http_request_cb(void *arg, uint64_t handle, const struct proto_msg *m)
{
	struct origin o = { .kind = FROM_HTTP, .conn = handle, .req_id = m->id };

	dispatch_request(arg, &o, m);
}

static void
http_abandoned_cb(void *arg, uint64_t handle)
{
	watch_drop(arg, FROM_HTTP, handle);
}

/* A member's name, or the id in hex for a node this one never heard of. */
static const char *
who(const struct node *n, uint64_t id, char *buf, size_t len)
{
	const char *name = roster_name(n, id);

	if (strcmp(name, "?") != 0)
		return name;
	snprintf(buf, len, "node %016" PRIx64, id);
	return buf;
}

/*
 * A Raft message from peer_id on connection conn.  Its `from` must be the
 * connection's id (the core believes `from`; only the connection knows who
 * is there), a snapshot that would complete must verify before the core
 * installs it, and the core judges the sender's role (raft_step).  Any
 * refusal closes the connection with one log line.
 */
static void
raft_frame(struct node *n, uint64_t conn, const char *peer_id, const struct proto_msg *m)
{
	struct raft_msg rm;
	char err[256], why[RAFTCONF_MAX_ERROR], idbuf[32];
	int rc;

	if (raftmsg_decode(
		m->raft.payload.ptr, m->raft.payload.len, &rm, &n->scratch, err, sizeof(err)) < 0) {
		snprintf(why, sizeof(why), "an undecodable raft message: %s", err);
		peer_refuse(n->peers, conn, why);
		return;
	}
	if (rm.from != node_id_of(peer_id)) {
		snprintf(why, sizeof(why), "a raft %s that claims to come from %s",
		    raft_msg_type_name(rm.type), who(n, rm.from, idbuf, sizeof(idbuf)));
		peer_refuse(n->peers, conn, why);
		return;
	}
	if (rm.type == RAFT_MSG_SNAPSHOT && raft_check(n->raft, &rm) == 0 &&
	    snapshot_check_received(n, &rm, err, sizeof(err)) < 0) {
		snprintf(why, sizeof(why),
		    "a snapshot (index %" PRIu64 ") that does not verify: %s", rm.index, err);
		peer_refuse(n->peers, conn, why);
		return;
	}
	if (rm.type == RAFT_MSG_HEARTBEAT_RESP) {
		struct member *from = (struct member *)roster_by_id(n, rm.from);

		if (from && from->hb_seq == rm.seq && from->hb_sent > 0) {
			from->rtt = node_now_s() - from->hb_sent;
			from->hb_sent = 0;
		}
	}
	rc = raft_step(n->raft, &rm);
	if (rc == -EPERM || rc == -ERANGE || rc == -EILSEQ) {
		snprintf(why, sizeof(why), "raft %s (term %" PRIu64 ") refused: %s",
		    raft_msg_type_name(rm.type), rm.term, raft_step_why(n->raft));
		peer_refuse(n->peers, conn, why);
	} else if (rc < 0) {
		log_debug_f(LOG_FIELDS(.peer = peer_id), "peer %s: raft refused a %s message: %s",
		    peer_id, raft_msg_type_name(rm.type), raft_step_why(n->raft));
	} else {
		/* a leader this node does not list yet (it is new): where to answer */
		roster_stranger_seen(n, peer_id);
	}
	node_schedule(n);
}

/*
 * What the peer port serves, by the sender's role: a member's forward of
 * its clients' writes and membership changes (the requests kv_forward
 * sends), a member's STATUS (status --cluster asks every member, census.c)
 * and MEMBERS_VIEW (raftconfctl members, answered with the leader's view),
 * and a spare's request to join, for itself.  Never reads, watches or
 * snapshots, and nothing but its own join to a node that is not a member:
 * those are the local socket's and HTTP's.  NULL: allowed; else why not.
 */
static const char *
request_refusal(const struct proto_msg *m, const char *peer_id, bool member)
{
	switch (m->type) {
	case PROTO_T_SET:
	case PROTO_T_DEL:
	case PROTO_T_SET_IF:
	case PROTO_T_DEL_IF:
	case PROTO_T_TXN:
	case PROTO_T_DEL_PREFIX:
	case PROTO_T_TOKEN_ADD:
	case PROTO_T_TOKEN_REVOKE:
	case PROTO_T_REMOVE:
	case PROTO_T_REMOVE_FORCE:
	case PROTO_T_TRANSFER:
		return member ? NULL
			      : "from a node that is not a member (members forward requests)";
	case PROTO_T_STATUS:
	case PROTO_T_MEMBERS_VIEW:
	case PROTO_T_CLUSTER_STATUS:
		return member ? NULL : "from a node that is not a member (members ask it)";
	case PROTO_T_JOIN:
		if (member ||
		    (m->join.node_id.len == strlen(peer_id) &&
			memcmp(m->join.node_id.ptr, peer_id, m->join.node_id.len) == 0))
			return NULL;
		return "for another node, from a node that is not a member";
	default:
		return "is not served on the peer port";
	}
}

static void
peer_frame_cb(void *arg, uint64_t conn, const char *peer_id, const struct proto_msg *m)
{
	struct node *n = arg;

	if (m->type == PROTO_T_REMOVED) {
		membership_removed_notice(n, conn, peer_id, m);
		return;
	}
	if (m->type == PROTO_T_REJECT || n->removed)
		return; /* removed: no part in elections or replication any more */
	if (m->type == PROTO_T_RAFT) {
		raft_frame(n, conn, peer_id, m);
	} else if (proto_is_request(m->type)) {
		/* A member's request was forwarded once already; a spare's JOIN
		 * may still go on to the leader. */
		bool member = roster_by_id(n, node_id_of(peer_id)) != NULL;
		struct origin o = {
			.kind = FROM_PEER, .conn = conn, .req_id = m->id, .no_forward = member
		};
		const char *no;
		char why[RAFTCONF_MAX_ERROR];

		if ((no = request_refusal(m, peer_id, member)) != NULL) {
			snprintf(why, sizeof(why), "a %s request %s", proto_type_name(m->type), no);
			peer_refuse(n->peers, conn, why);
			return;
		}
		if (!member)
			roster_stranger_seen(n, peer_id); /* a spare joining: where to answer */
		dispatch_request(n, &o, m);
	} else if (proto_is_response(m->type)) {
		int rc;

		if (membership_join_answer(n, conn, peer_id, m))
			return;
		if ((rc = census_answer(n, node_id_of(peer_id), m)) == 0)
			rc = kv_relay(n, node_id_of(peer_id), m);
		if (rc < 0)
			peer_refuse(n->peers, conn,
			    "an answer to a request this node did not forward to it");
	}
}

static void
peer_link_cb(void *arg, const char *peer_id, bool up, bool reset)
{
	struct node *n = arg;
	uint64_t id = node_id_of(peer_id);

	log_info_f(LOG_FIELDS(.peer = peer_id), "peer %s: link %s%s", peer_id, up ? "up" : "down",
	    reset ? " (connection reset)" : "");
	if (!up) {
		census_peer_lost(n, id); /* first: its forwards fall back (census.c) */
		kv_leader_lost(n, id, peer_id);
	}
	/* It may have restarted with less than it acknowledged: probe afresh. */
	if (up)
		raft_peer_reconnected(n->raft, id);
	/* The leader's process may have died: pre-vote now rather than wait
	 * out the election timeout (pre-vote keeps a live leader safe). */
	if (!up && reset && id == raft_leader(n->raft)) {
		log_info_f(LOG_FIELDS(.peer = peer_id),
		    "lost the connection to leader %s; "
		    "starting a pre-vote now",
		    peer_id);
		raft_peer_lost(n->raft, id);
	}
}

static void
once_failed_cb(void *arg, uint64_t conn, const char *why)
{
	membership_join_failed(arg, conn, why);
}

/*
 * Who may send what size of request (control.h): with no read_group the
 * socket is the daemon's group's alone, every client a writer.
 */
static enum control_class
control_admit_cb(void *arg, const struct control_client_info *ci)
{
	struct node *n = arg;

	if (n->cfg->read_group[0] == '\0' || ci->uid == 0 || ci->uid == geteuid() ||
	    in_group(ci, getegid()))
		return CONTROL_WRITER;
	return in_group(ci, n->read_gid) ? CONTROL_READER : CONTROL_OUTSIDER;
}

const struct control_callbacks dispatch_control_cb = { control_request_cb, control_closed_cb,
	control_admit_cb, control_drained_cb };
/* A member this node keeps no link to: a learner's leader (roster_links). */
static bool
peer_member_cb(void *arg, const char *peer_id)
{
	struct node *n = arg;

	return roster_by_name(n, proto_cstr(peer_id)) != NULL;
}

const struct peer_callbacks dispatch_peer_cb = { peer_frame_cb, peer_link_cb, once_failed_cb,
	peer_member_cb };
const struct http_callbacks dispatch_http_cb = {
	http_request_cb,
	status_http_json,
	status_http_health,
	status_http_metrics,
	tokens_http_authorize,
	http_abandoned_cb,
};
