/*
 * watch.c — raftconfctl watch: every applied change under a prefix, sent
 * to the clients that asked, in log order.
 *
 * Not here: applying (apply.c) — it calls watch_notify for each entry.
 */
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "driver.h"
#include "store.h"

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

/* The client on conn went away: its watchers go too. */
void
watch_drop_conn(struct node *n, uint64_t conn)
{
	for (struct watcher **wp = &n->watchers, *w; (w = *wp) != NULL;) {
		if (w->from.kind == FROM_CONTROL && w->from.conn == conn) {
			*wp = w->next;
			free(w);
		} else {
			wp = &w->next;
		}
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
 * A write applied: tell the watchers of its key.  A TXN's changes are told
 * one by one as the store makes them (apply.c), not here.
 */
void
watch_notify(struct node *n, const struct raft_entry *e, const struct store_result *res)
{
	struct store_cmd cmd;
	bool put;

	/* Tokens are no keys: never an event (store_cmd_is_key). */
	if (n->watchers == NULL || res->status != STORE_OK || res->duplicate ||
	    store_cmd_decode(e->data, e->len, &cmd) < 0 || !store_cmd_is_key(cmd.op) ||
	    cmd.op == STORE_OP_TXN)
		return;
	put = cmd.op == STORE_OP_SET || cmd.op == STORE_OP_SET_IF;
	watch_event(n, put ? PROTO_EV_PUT : PROTO_EV_DEL, cmd.key, cmd.klen, e->index, cmd.value,
	    put ? cmd.vlen : 0);
}

void
watch_free(struct node *n)
{
	struct watcher *w;

	while ((w = n->watchers) != NULL) {
		n->watchers = w->next;
		free(w);
	}
}
