/*
 * census.c — raftconfctl status --cluster: every member's status, each as
 * that member reports it (etcdctl endpoint status --cluster).
 *
 * The node asked sends STATUS to every other member of its configuration
 * on its peer link, the way a follower forwards a client's write to the
 * leader (kv_send), fills in its own status at once, and answers one
 * CLUSTER_STATUS_REPLY when every member has answered or the wait the
 * client gave has passed.  A member that could not be reached, lost its
 * link, answered an error or did not answer in time has an item that says
 * which, and no status: the client still sees all the others.
 *
 * Each question in flight is a PEND_CENSUS entry of the pending table:
 * key its request id, peer the member asked, index the census, term the
 * member's place in it.  At most CENSUS_MAX censuses run at once.
 *
 * Not here: what a status holds (status.c), who may ask a node for its
 * status on the peer port (dispatch.c: members only), the wire (proto.c).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/* status --cluster requests waiting on one node at once; more are refused
 * (raftconfd(8), under RAFTCONF_MAX_STATUS_WAIT_MS). */
#define CENSUS_MAX 16

struct census_slot {
	char name[RAFTCONF_MAX_ID + 1];
	char address[RAFTCONF_MAX_ADDRESS + 1];
	char error[RAFTCONF_MAX_ERROR]; /* why there is no status; "" with one */
	uint8_t *pairs;			/* its STATUS_REPLY's items, copied */
	size_t pairs_len;
	uint32_t pairs_count;
};

struct census {
	struct census *next;
	uint64_t id;
	struct origin from;
	uint64_t wait_ms;
	size_t n, left;
	struct census_slot *slot; /* n of them, in the members' order */
};

static struct census *
find(struct node *n, uint64_t id)
{
	for (struct census *c = n->censuses; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void
census_del(struct node *n, struct census *c)
{
	struct census **pp = &n->censuses;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	for (size_t i = 0; i < c->n; i++)
		free(c->slot[i].pairs);
	free(c->slot);
	free(c);
	n->ncensuses--;
}

/* Slot s has its status: the items of the STATUS_REPLY m, copied. */
static void
slot_status(struct census_slot *s, const struct proto_msg *m)
{
	const struct proto_items *items = &m->status_reply.items;

	if (items->count == 0) {
		snprintf(s->error, sizeof(s->error), "answered with an empty status");
		return;
	}
	if ((s->pairs = malloc(items->rawlen)) == NULL) {
		snprintf(s->error, sizeof(s->error), "out of memory for its status");
		return;
	}
	memcpy(s->pairs, items->raw, items->rawlen);
	s->pairs_len = items->rawlen;
	s->pairs_count = items->count;
}

static void slot_failed(struct census_slot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
slot_failed(struct census_slot *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
}

/* Every member has its answer or its reason: answer the client. */
static void
finish(struct node *n, struct census *c)
{
	struct proto_reply rb;

	proto_buf_reset(&n->out);
	if (proto_reply_begin(&rb, &n->out, PROTO_T_CLUSTER_STATUS_REPLY, c->from.req_id) < 0) {
		reply_error(n, &c->from, PROTO_E_INTERNAL, "out of memory");
		census_del(n, c);
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct census_slot *s = &c->slot[i];
		struct proto_member_status ms = {
			.node_id = proto_cstr(s->name),
			.address = proto_cstr(s->address),
			.error = proto_cstr(s->error),
			.pairs = { s->pairs_count, s->pairs, s->pairs_len },
		};
		int rc;

		if (s->error[0] != '\0')
			ms.pairs = (struct proto_items){ 0, NULL, 0 };
		if ((rc = proto_reply_add_member_status(&rb, &ms)) == 0)
			continue;
		ms.pairs = (struct proto_items){ 0, NULL, 0 };
		ms.error = proto_cstr(rc == -EMSGSIZE ? "its status does not fit in the answer"
						      : "its status could not be encoded");
		proto_reply_add_member_status(&rb, &ms);
	}
	if (proto_reply_end(&rb, 0) < 0)
		reply_error(n, &c->from, PROTO_E_INTERNAL, "the answer could not be made");
	else
		reply_frame(n, &c->from);
	census_del(n, c);
}

/* One more member done in the census of PEND_CENSUS entry p. */
static void
done_one(struct node *n, const struct pending *p)
{
	struct census *c = find(n, p->index);

	if (c != NULL && --c->left == 0)
		finish(n, c);
}

/* This node's own status into slot s, as a member's would come. */
static void
own_status(struct node *n, struct census_slot *s)
{
	struct proto_buf b;
	struct proto_msg m;
	int rc;

	proto_buf_init(&b);
	if ((rc = status_frame(n, &b, 0)) == 0 &&
	    (rc = proto_decode(b.data, b.len, &m, NULL, 0)) == 0)
		slot_status(s, &m);
	else
		slot_failed(s, "its own status could not be made: %s", strerror(-rc));
	proto_buf_free(&b);
}

static const char *
send_error(int rc)
{
	switch (rc) {
	case -ENOTCONN:
		return "not connected (its link is down)";
	case -ENOBUFS:
		return "its link's send queue is full";
	default:
		return strerror(-rc);
	}
}

/* Ask every member from here, each for at most wait_ms. */
static void
census_run(struct node *n, const struct origin *o, uint64_t wait_ms)
{
	struct proto_msg ask = { .type = PROTO_T_STATUS };
	uint64_t deadline = node_now_ms() + wait_ms;
	struct raft_status st;
	struct census *c;

	raft_status(n->raft, &st);
	if (st.role == RAFT_SPARE) {
		reply_error(n, o, PROTO_E_NOTMEMBER,
		    "this node is a spare, not a member of a cluster: it has no members to ask "
		    "('raftconfctl join ADDRESS' adds it)");
		return;
	}
	if (n->ncensuses >= CENSUS_MAX) {
		reply_error(n, o, PROTO_E_REFUSED,
		    "%d status --cluster requests are in flight on this node already; retry",
		    CENSUS_MAX);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL ||
	    (c->slot = calloc(n->n_members ? n->n_members : 1, sizeof(*c->slot))) == NULL) {
		free(c);
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	c->id = ++n->next_census;
	c->from = *o;
	c->wait_ms = wait_ms;
	c->n = c->left = n->n_members;
	c->next = n->censuses;
	n->censuses = c;
	n->ncensuses++;
	for (size_t i = 0; i < n->n_members; i++) {
		const struct member *mb = &n->members[i];
		struct census_slot *s = &c->slot[i];
		struct pending *p;
		int rc;

		snprintf(s->name, sizeof(s->name), "%s", mb->name);
		snprintf(s->address, sizeof(s->address), "%s", mb->address);
		if (mb->id == n->self) {
			own_status(n, s);
			c->left--;
			continue;
		}
		if ((p = pending_new(PEND_CENSUS, o, deadline, NULL, 0)) == NULL) {
			slot_failed(s, "not asked: out of memory");
			c->left--;
			continue;
		}
		p->index = c->id;
		p->term = i;
		if ((rc = kv_send(n, p, &ask, mb)) < 0) {
			free(p);
			if (rc == -ENOTCONN && !roster_linked(n, mb))
				slot_failed(s,
				    "not asked: this node keeps no link to it (the leader "
				    "links learners), and no leader answered for it");
			else
				slot_failed(s, "did not answer: %s", send_error(rc));
			c->left--;
		}
	}
	if (c->left == 0)
		finish(n, c);
}

void
census_start(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	census_run(n, o, m->cluster_status.wait_ms);
}

/*
 * The leader is given three quarters of the client's wait for its census,
 * and a quarter for its answer to come back; when none does, this node
 * asks the members it can reach itself, for half the wait: the client,
 * which waits twice as long as it asked the node to (raftconfctl's
 * --timeout against its half), still gets an answer.
 */
int
census_forward(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	uint64_t wait = m->cluster_status.wait_ms;
	struct proto_msg fm = *m;
	struct pending *f;
	bool all = true;
	int rc;

	for (size_t i = 0; i < n->n_members; i++)
		if (n->members[i].id != n->self && !roster_linked(n, &n->members[i]))
			all = false;
	if (all)
		return -ENOENT;
	fm.cluster_status.wait_ms = wait * 3 / 4;
	if ((rc = kv_forward_within(n, o, &fm, wait, &f)) < 0)
		return rc;
	f->op = PROTO_T_CLUSTER_STATUS;
	f->limit = wait / 2;
	return 0;
}

void
census_forward_failed(struct node *n, struct pending *p)
{
	log_info("status --cluster: the leader did not answer within %" PRIu64
		 " ms; asking the members from here",
	    p->limit * 2);
	census_run(n, &p->from, p->limit);
}

int
census_answer(struct node *n, uint64_t from, const struct proto_msg *m)
{
	struct pending *p = pending_find(&n->pending, PEND_CENSUS, m->id);
	struct census *c;
	struct census_slot *s;

	if (p == NULL)
		return 0;
	if (p->peer != from)
		return -EPERM;
	if ((c = find(n, p->index)) != NULL && p->term < c->n) {
		s = &c->slot[p->term];
		if (m->type == PROTO_T_STATUS_REPLY)
			slot_status(s, m);
		else if (m->type == PROTO_T_ERROR)
			slot_failed(s, "answered with an error: %s: %.*s",
			    proto_error_name(m->error.code), (int)m->error.message.len,
			    m->error.message.ptr);
		else
			slot_failed(s, "answered %s, not a status", proto_type_name(m->type));
	}
	pending_unlink(&n->pending, p);
	done_one(n, p);
	free(p);
	return 1;
}

void
census_expired(struct node *n, struct pending *p)
{
	struct census *c = find(n, p->index);

	if (c != NULL && p->term < c->n)
		slot_failed(&c->slot[p->term], "did not answer within %" PRIu64 " ms", c->wait_ms);
	done_one(n, p);
}

void
census_peer_lost(struct node *n, uint64_t id)
{
	struct pending *p, *tmp;

	/* a census forwarded to it, when it led: asked from here instead */
	PENDING_EACH(&n->pending, PEND_FORWARD, p, tmp) {
		if (p->peer != id || p->op != PROTO_T_CLUSTER_STATUS)
			continue;
		pending_unlink(&n->pending, p);
		census_forward_failed(n, p);
		free(p);
	}

	PENDING_EACH(&n->pending, PEND_CENSUS, p, tmp) {
		struct census *c;

		if (p->peer != id)
			continue;
		if ((c = find(n, p->index)) != NULL && p->term < c->n)
			slot_failed(
			    &c->slot[p->term], "did not answer: its link went down before it did");
		pending_unlink(&n->pending, p);
		done_one(n, p);
		free(p);
	}
}

void
census_free(struct node *n)
{
	while (n->censuses != NULL)
		census_del(n, n->censuses);
}
