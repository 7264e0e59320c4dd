/*
 * roster.c — the member table: who the members are, by id and by name,
 * with what the node needs beside the core's ids (names, addresses, the
 * leader's heartbeat round trips), and the peer links that follow it.
 *
 * roster_sync() mirrors the core's membership after every change; nodes
 * heard from before they are members (spares asking to join) are
 * remembered as strangers so that answers find them, and members that
 * just left keep their link a moment, to be told.
 *
 * Not here: changing the membership (membership.c), its rules (raft.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "driver.h"
#include "peer.h"

uint64_t
node_id_of(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

const struct member *
roster_by_id(const struct node *n, uint64_t id)
{
	for (size_t i = 0; i < n->n_members; i++)
		if (n->members[i].id == id)
			return &n->members[i];
	return NULL;
}

const struct member *
roster_by_name(const struct node *n, struct proto_str name)
{
	for (size_t i = 0; i < n->n_members; i++)
		if (strlen(n->members[i].name) == name.len &&
		    memcmp(n->members[i].name, name.ptr, name.len) == 0)
			return &n->members[i];
	return NULL;
}

/* A member's, a member's that just left or a stranger's name; "?" for an
 * id never heard of, "none" for 0. */
const char *
roster_name(const struct node *n, uint64_t id)
{
	const struct member *m = roster_by_id(n, id);

	if (m)
		return m->name;
	for (size_t i = 0; id && i < N_DEPARTED; i++)
		if (n->departed[i].id == id)
			return n->departed[i].name;
	for (size_t i = 0; id && i < N_STRANGERS; i++)
		if (n->strangers[i].id == id)
			return n->strangers[i].name;
	return id ? "?" : "none";
}

/* Remember a node that talks to us before it is a member we know of. */
void
roster_stranger_seen(struct node *n, const char *name)
{
	uint64_t id = node_id_of(name);

	if (roster_by_id(n, id))
		return;
	for (size_t i = 0; i < N_STRANGERS; i++)
		if (n->strangers[i].id == id)
			return;
	n->strangers[n->next_stranger].id = id;
	snprintf(n->strangers[n->next_stranger].name, sizeof(n->strangers[0].name), "%s", name);
	n->next_stranger = (n->next_stranger + 1) % N_STRANGERS;
}

/* A member's context is "NAME ADDRESS". */
void
roster_context_make(struct raft_member *rm, const char *name, const char *address)
{
	int len = snprintf((char *)rm->context, sizeof(rm->context), "%s %s", name, address);

	rm->context_len =
	    len < (int)sizeof(rm->context) ? (uint16_t)len : (uint16_t)(sizeof(rm->context) - 1);
}

/* "NAME ADDRESS" or "NAME ADDRESS learner" (a permanent learner). */
static int
context_parse(const uint8_t *ctx, size_t len, struct member *m)
{
	const uint8_t *sp = memchr(ctx, ' ', len), *sp2;
	size_t nl, al;

	if (sp == NULL)
		return -EINVAL;
	nl = sp - ctx;
	al = len - nl - 1;
	m->permanent_learner = false;
	if ((sp2 = memchr(sp + 1, ' ', al)) != NULL) {
		if ((size_t)(ctx + len - sp2 - 1) != 7 || memcmp(sp2 + 1, "learner", 7) != 0)
			return -EINVAL;
		m->permanent_learner = true;
		al = sp2 - sp - 1;
	}
	if (nl == 0 || nl > RAFTCONF_MAX_ID || al == 0 || al > RAFTCONF_MAX_ADDRESS)
		return -EINVAL;
	memcpy(m->name, ctx, nl);
	m->name[nl] = '\0';
	memcpy(m->address, sp + 1, al);
	m->address[al] = '\0';
	return 0;
}

static void
depart(struct node *n, const struct member *m)
{
	struct departed *d = &n->departed[0];

	for (size_t i = 1; i < N_DEPARTED; i++)
		if (n->departed[i].unlink_at_ms < d->unlink_at_ms)
			d = &n->departed[i];
	if (d->id && d->id != m->id && !roster_by_id(n, d->id))
		peer_unlink(n->peers, d->name); /* the oldest makes room */
	d->id = m->id;
	snprintf(d->name, sizeof(d->name), "%s", m->name);
	d->unlink_at_ms = node_now_ms() + DEPARTED_LINGER_MS;
	d->index = 0;
	d->committed = false;
}

void
roster_departed_expire(struct node *n, uint64_t now)
{
	for (size_t i = 0; i < N_DEPARTED; i++) {
		struct departed *d = &n->departed[i];

		if (d->id == 0)
			continue;
		if (roster_by_id(n, d->id)) { /* back: the change did not hold */
			d->id = 0;
			continue;
		}
		if (!d->committed || now < d->unlink_at_ms)
			continue;
		peer_unlink(n->peers, d->name);
		d->id = 0;
	}
}

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

/* Take the core's membership: rebuild the table and the peer links. */
void
roster_sync(struct node *n)
{
	const struct raft_member *rm;
	struct member *nm;
	size_t count, j = 0;

	rm = raft_members(n->raft, &count);
	nm = calloc(count ? count : 1, sizeof(*nm));
	if (nm == NULL) {
		log_err("out of memory while updating the membership");
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const struct member *old = roster_by_id(n, rm[i].id);

		nm[j].id = rm[i].id;
		nm[j].voter = rm[i].voter;
		nm[j].rtt = old ? old->rtt : -1;
		nm[j].hb_seq = old ? old->hb_seq : 0;
		nm[j].hb_sent = old ? old->hb_sent : 0;
		nm[j].lag_behind = old ? old->lag_behind : false;
		nm[j].lag_since_ms = old ? old->lag_since_ms : 0;
		nm[j].added_ms = old ? old->added_ms : node_now_ms();
		nm[j].promote_held = old ? old->promote_held : false;
		if (context_parse(rm[i].context, rm[i].context_len, &nm[j]) < 0) {
			log_err("member %016" PRIx64 ": unreadable context; ignoring it", rm[i].id);
			continue;
		}
		j++;
	}
	/* Links to members that left go away. */
	for (size_t i = 0; i < n->n_members; i++) {
		bool still = false;

		for (size_t k = 0; k < j; k++)
			still |= nm[k].id == n->members[i].id;
		if (still)
			continue;
		/* itself too: a retried remove of this node is answered (membership.c) */
		depart(n, &n->members[i]);
		if (n->members[i].id != n->self)
			log_info_f(LOG_FIELDS(.peer = n->members[i].name),
			    "member %s (%s) is out of the configuration; it has left once the "
			    "change commits",
			    n->members[i].name, n->members[i].address);
	}
	free(n->members);
	n->members = nm;
	n->n_members = j;
	qsort(n->members, n->n_members, sizeof(*n->members), member_cmp);
	roster_links(n);
}

/*
 * The links this node keeps, so that a learner costs the cluster two
 * connections rather than one per member (issue 17): every voter keeps one
 * to every other voter, and the leader one to every learner as well, for
 * its heartbeats; a learner keeps one, to the relay that feeds it (raft.h),
 * which answers there.  A learner takes no part in elections, hears from its
 * leader on the leader's link and answers there (peer_send), and is
 * dialled by the next leader.  After every change of membership, of role
 * or of relay.
 */
bool
roster_linked(const struct node *n, const struct member *mb)
{
	const struct member *self = roster_by_id(n, n->self);
	struct raft_status st;

	if (mb->id == n->self || self == NULL)
		return false;
	if (!self->voter) {
		raft_status(n->raft, &st);
		return st.relay == mb->id;
	}
	return mb->voter || raft_leader(n->raft) == n->self;
}

void
roster_links(struct node *n)
{
	for (size_t i = 0; i < n->n_members; i++) {
		const struct member *mb = &n->members[i];

		if (mb->id == n->self)
			continue;
		if (roster_linked(n, mb))
			peer_link(n->peers, mb->name, mb->address);
		else
			peer_unlink(n->peers, mb->name);
	}
}
