/*
 * watch.c — every applied change under a prefix, to the clients that ask,
 * in log order: POLLs (raftconfctl watch, HTTP ?watch) answered from the
 * store's history, and the older streaming WATCH.
 *
 * A POLL asks for the changes after a revision.  Those already applied are
 * answered at once from the history (store.h); otherwise the POLL is
 * parked until a change under its prefix applies (watch_event marks it),
 * and answered once the entries of the turn are applied (watch_progress,
 * from process_ready), or empty at its deadline.  An answer holds whole
 * revisions and says up to which revision it has told everything, so a
 * client that asks again from there misses nothing and sees nothing twice,
 * whichever node it asks after a restart.
 *
 * Not here: applying (apply.c) — it calls watch_notify for each entry.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "driver.h"
#include "store.h"

/* An EVENTS answer stops at a revision boundary past this many bytes. */
#define WATCH_ANSWER_BYTES (RAFTCONF_MAX_FRAME / 2)
/* One answer looks at this many revisions at most: a bounded stay on the loop. */
#define WATCH_SCAN_REVISIONS 20000

/* A watcher whose client lets this much pile up unread is dropped. */
#define WATCH_MAX_BACKLOG (8 * 1024 * 1024)

void
watch_start(struct node *n, const struct origin *o, const struct proto_str *prefix)
{
	struct watcher *w;

	if (o->kind != FROM_CONTROL) {
		reply_error(n, o, PROTO_E_BADREQ, "watch is served on the control socket only");
		return;
	}
	if ((w = calloc(1, sizeof(*w) + prefix->len + 1)) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	w->from = *o;
	w->plen = prefix->len;
	memcpy(w->prefix, prefix->ptr, prefix->len);
	w->next = n->watchers;
	n->watchers = w;
	reply_ok(n, o, n->applied); /* events follow from the next entry on */
}

/* The client on conn (of kind FROM_*) went away: its watchers and polls go too. */
void
watch_drop(struct node *n, enum origin_kind kind, uint64_t conn)
{
	for (struct watcher **wp = &n->watchers, *w; (w = *wp) != NULL;) {
		if (w->from.kind == kind && w->from.conn == conn) {
			*wp = w->next;
			free(w);
		} else {
			wp = &w->next;
		}
	}
	for (struct poller **pp = &n->pollers, *p; (p = *pp) != NULL;) {
		if (p->from.kind == kind && p->from.conn == conn) {
			*pp = p->next;
			n->npollers--;
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

static bool
under(const char *key, size_t klen, const char *prefix, size_t plen)
{
	return klen >= plen && memcmp(key, prefix, plen) == 0;
}

/* Building one EVENTS answer from the history. */
struct scan {
	struct proto_reply rb;
	const char *prefix;
	size_t plen;
	uint64_t upto;	/* every change up to here is in the answer */
	uint32_t count; /* changes in it */
	size_t bytes;
	bool truncated;
	int err;
};

static int
scan_cb(void *arg, uint64_t revision, struct store_events *events)
{
	struct scan *sc = arg;
	struct store_events it = *events;
	struct store_event ev;
	uint32_t count = 0;
	size_t bytes = 0;
	int r;

	/* The whole revision or none of it. */
	while ((r = store_events_next(&it, &ev)) == 1)
		if (under(ev.key, ev.klen, sc->prefix, sc->plen)) {
			count++;
			bytes += 16 + ev.klen + ev.vlen;
		}
	if (r < 0)
		return sc->err = r;
	if (sc->count > 0 &&
	    (sc->bytes + bytes > WATCH_ANSWER_BYTES || sc->count + count > RAFTCONF_MAX_LIST)) {
		sc->truncated = true;
		return 1;
	}
	while ((r = store_events_next(events, &ev)) == 1) {
		struct proto_change ch = { ev.kind == STORE_EV_PUT ? PROTO_EV_PUT : PROTO_EV_DEL,
			proto_mem(ev.key, ev.klen), revision, proto_mem(ev.val, ev.vlen) };

		if (!under(ev.key, ev.klen, sc->prefix, sc->plen))
			continue;
		if ((r = proto_reply_add_change(&sc->rb, &ch)) < 0)
			return sc->err = r; /* one revision over a frame: cannot be told */
	}
	sc->count += count;
	sc->bytes += bytes;
	sc->upto = revision;
	return 0;
}

static void
reply_compacted(struct node *n, const struct origin *o, uint64_t after)
{
	reply_error(n, o, PROTO_E_COMPACTED,
	    "revision %" PRIu64 " is older than the history this node keeps: watch from "
	    "revision %" PRIu64 " or later (the current revision is %" PRIu64 ")",
	    after, store_history_floor(n->store), store_applied(n->store));
}

/*
 * Answer o with the changes under prefix after `after`, if there are any
 * or if `always`: true when answered (an error included).
 */
static bool
poll_answer(struct node *n, const struct origin *o, const char *prefix, size_t plen, uint64_t after,
    bool always)
{
	struct scan sc = { .prefix = prefix, .plen = plen };
	uint64_t applied = store_applied(n->store), end = applied;
	int r;

	proto_buf_reset(&n->out);
	if (proto_reply_begin(&sc.rb, &n->out, PROTO_T_EVENTS, o->req_id) < 0) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return true;
	}
	if (after < applied && applied - after > WATCH_SCAN_REVISIONS)
		end = after + WATCH_SCAN_REVISIONS; /* the client asks again from there */
	r = store_history(n->store, after, end, scan_cb, &sc);
	if (r == -ERANGE) {
		proto_reply_abort(&sc.rb);
		reply_compacted(n, o, after);
		return true;
	}
	if (r < 0 || sc.err < 0) {
		proto_reply_abort(&sc.rb);
		reply_error(n, o, PROTO_E_INTERNAL, "reading the history of changes failed: %s",
		    strerror(-(r < 0 ? r : sc.err)));
		return true;
	}
	if (!sc.truncated && end < applied) {
		sc.truncated = true;
		sc.upto = end;
		always = true;
	}
	if (sc.count == 0 && !always) {
		proto_reply_abort(&sc.rb);
		return false;
	}
	if (!sc.truncated && applied > sc.upto)
		sc.upto = applied;
	if (sc.upto < after) /* this node is behind the client: nothing is told past after */
		sc.upto = after;
	if (proto_reply_end_txn(&sc.rb, sc.truncated ? PROTO_F_TRUNCATED : 0, sc.upto) < 0) {
		reply_error(n, o, PROTO_E_INTERNAL, "cannot encode the changes");
		return true;
	}
	n->stats.requests[0]++;
	reply_frame(n, o);
	return true;
}

void
watch_poll(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	uint64_t after = m->poll.after;
	struct poller *p;

	if (o->kind == FROM_PEER) {
		reply_error(n, o, PROTO_E_BADREQ, "watch is served to local clients and HTTP only");
		return;
	}
	if (m->poll.flags & PROTO_F_FROM_NOW)
		after = store_applied(n->store);
	if (poll_answer(n, o, m->poll.prefix.ptr, m->poll.prefix.len, after, m->poll.wait_ms == 0))
		return;
	if (n->npollers >= WATCH_MAX_POLLERS) {
		reply_error(
		    n, o, PROTO_E_REFUSED, "%d watches are waiting already", WATCH_MAX_POLLERS);
		return;
	}
	if ((p = calloc(1, sizeof(*p) + m->poll.prefix.len + 1)) == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	p->from = *o;
	p->after = after;
	p->deadline_ms = node_now_ms() + m->poll.wait_ms;
	p->plen = m->poll.prefix.len;
	memcpy(p->prefix, m->poll.prefix.ptr, p->plen);
	p->next = n->pollers;
	n->pollers = p;
	n->npollers++;
}

/*
 * Answer the polls that have a change to be told and, with the clock
 * (now_ms, 0 for none), those whose wait is over.  A poll parked and not
 * made ready has seen no change under its prefix since it was parked, so
 * it then asks for the changes after the applied index: the history may
 * move past where it started while it waits on a quiet prefix.
 */
void
watch_progress(struct node *n, uint64_t now_ms)
{
	uint64_t applied = store_applied(n->store);

	if (!n->pollers_ready && (n->pollers == NULL || now_ms == 0))
		return;
	n->pollers_ready = false;
	for (struct poller **pp = &n->pollers, *p; (p = *pp) != NULL;) {
		bool due = now_ms != 0 && now_ms >= p->deadline_ms;

		if (!p->ready && applied > p->after)
			p->after = applied;
		if ((p->ready || due) &&
		    poll_answer(n, &p->from, p->prefix, p->plen, p->after, due)) {
			*pp = p->next;
			n->npollers--;
			free(p);
		} else {
			p->ready = false;
			pp = &p->next;
		}
	}
}

/*
 * A snapshot replaced the store: the polls look at the history again (it
 * may hold their changes now, or no longer reach back to them), and the
 * streaming watchers, which cannot be told what the snapshot changed, end.
 */
void
watch_store_replaced(struct node *n)
{
	struct watcher *w;

	for (struct poller *p = n->pollers; p != NULL; p = p->next)
		p->ready = true;
	n->pollers_ready = n->pollers != NULL;
	while ((w = n->watchers) != NULL) {
		n->watchers = w->next;
		reply_error(n, &w->from, PROTO_E_COMPACTED,
		    "a snapshot from the leader replaced this node's store: watch again from "
		    "the last revision seen (raftconfctl watch --from-rev)");
		free(w);
	}
}

/* One change of a key: tell the watchers of its prefix. */
void
watch_event(struct node *n, uint8_t kind, const char *key, size_t klen, uint64_t revision,
    const void *value, size_t vlen)
{
	struct proto_msg ev = { .type = PROTO_T_EVENT };

	ev.event.kind = kind;
	ev.event.key = proto_mem(key, klen);
	ev.event.revision = revision;
	ev.event.value = kind == PROTO_EV_PUT ? proto_mem(value, vlen) : proto_mem(NULL, 0);
	for (struct poller *p = n->pollers; p != NULL; p = p->next)
		if (revision > p->after && under(key, klen, p->prefix, p->plen))
			p->ready = n->pollers_ready = true;
	for (struct watcher **wp = &n->watchers, *w; (w = *wp) != NULL;) {
		if (klen < w->plen || memcmp(key, w->prefix, w->plen) != 0) {
			wp = &w->next;
			continue;
		}
		if (control_backlog(n->ctl, w->from.conn) > WATCH_MAX_BACKLOG) {
			reply_error(n, &w->from, PROTO_E_TIMEOUT,
			    "the watcher fell %d bytes "
			    "behind; events were dropped: watch again",
			    WATCH_MAX_BACKLOG);
			*wp = w->next;
			free(w);
			continue;
		}
		ev.id = w->from.req_id;
		proto_buf_reset(&n->out);
		if (proto_encode(&n->out, &ev, NULL, 0) == 0)
			control_reply(n->ctl, w->from.conn, n->out.data, n->out.len);
		wp = &w->next;
	}
}

/*
 * A write applied: tell the watchers of its key.  A TXN's and a
 * DEL_PREFIX's changes are told one by one as the store makes them
 * (apply.c), not here.
 */
void
watch_notify(struct node *n, const struct raft_entry *e, const struct store_result *res)
{
	struct store_cmd cmd;
	bool put;

	/* Tokens are no keys: never an event (store_cmd_is_key). */
	if ((n->watchers == NULL && n->pollers == NULL) || res->status != STORE_OK ||
	    res->duplicate || store_cmd_decode(e->data, e->len, &cmd) < 0 ||
	    !store_cmd_is_key(cmd.op) || cmd.op == STORE_OP_TXN || cmd.op == STORE_OP_DEL_PREFIX)
		return;
	put = cmd.op == STORE_OP_SET || cmd.op == STORE_OP_SET_IF;
	watch_event(n, put ? PROTO_EV_PUT : PROTO_EV_DEL, cmd.key, cmd.klen, e->index, cmd.value,
	    put ? cmd.vlen : 0);
}

void
watch_free(struct node *n)
{
	struct watcher *w;
	struct poller *p;

	while ((w = n->watchers) != NULL) {
		n->watchers = w->next;
		free(w);
	}
	while ((p = n->pollers) != NULL) {
		n->pollers = p->next;
		free(p);
	}
	n->npollers = 0;
}
