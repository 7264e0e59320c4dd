/*
 * reply.c — answers to clients, wherever they asked from: the control
 * socket, a peer that forwarded the request, or HTTP.
 *
 * Not here: deciding the answer (the callers), the wire format (proto.c).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "control.h"
#include "http.h"
#include "log.h"
#include "driver.h"
#include "peer.h"

/* Send the whole frame at frame to o. */
void
reply_bytes(struct node *n, const struct origin *o, const void *frame, size_t len)
{
	switch (o->kind) {
	case FROM_CONTROL:
		control_reply(n->ctl, o->conn, frame, len);
		break;
	case FROM_PEER:
		peer_reply(n->peers, o->conn, frame, len);
		break;
	case FROM_HTTP:
		http_reply(n->http, o->conn, frame, len);
		break;
	}
}

/* Send the frame in n->out to o. */
void
reply_frame(struct node *n, const struct origin *o)
{
	reply_bytes(n, o, n->out.data, n->out.len);
}

void
reply_msg(struct node *n, const struct origin *o, struct proto_msg *m)
{
	char err[128];

	m->id = o->req_id;
	n->stats.requests[m->type == PROTO_T_ERROR && m->error.code <= PROTO_E_MAX ? m->error.code
										   : 0]++;
	proto_buf_reset(&n->out);
	if (proto_encode(&n->out, m, err, sizeof(err)) < 0) {
		log_err("cannot encode a %s reply: %s", proto_type_name(m->type), err);
		return;
	}
	reply_frame(n, o);
}

void
reply_error(struct node *n, const struct origin *o, uint16_t code, const char *fmt, ...)
{
	struct proto_msg m = { .type = PROTO_T_ERROR };
	char text[RAFTCONF_MAX_ERROR];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	m.error.code = code;
	m.error.message = proto_cstr(text);
	reply_msg(n, o, &m);
}

void
reply_ok(struct node *n, const struct origin *o, uint64_t revision)
{
	struct proto_msg m = { .type = PROTO_T_OK };

	m.ok.revision = revision;
	reply_msg(n, o, &m);
}

void
reply_no_leader(struct node *n, const struct origin *o)
{
	struct raft_status st;

	raft_status(n->raft, &st);
	if (n->removed)
		reply_error(n, o, PROTO_E_NOTMEMBER, "this node was removed from the cluster");
	else if (st.role == RAFT_SPARE)
		reply_error(n, o, PROTO_E_NOTMEMBER,
		    "this node is not a member of a cluster "
		    "(a spare: 'raftconfctl join ADDRESS' adds it)");
	else
		reply_error(n, o, PROTO_E_NOLEADER,
		    "no leader: an election is in progress or "
		    "this node cannot reach a majority of the cluster (term %" PRIu64 ")",
		    st.term);
}
