/*
 * kv.c — reads and writes of keys, and requests forwarded to the leader.
 *
 * A linearizable read waits in the pending table for its ReadIndex, then
 * for this node to apply that index; a stale read is served at once.  A
 * write is proposed on the leader and answered when its entry applies; a
 * follower forwards it (and any request only the leader can serve) and
 * relays the leader's answer.  Making and revoking an HTTP token are
 * writes like these, and listing them a read (tokens.c answers it).
 *
 * Not here: the store's format (store.c), the Raft order (node.c), the
 * routing of requests (dispatch.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "peer.h"
#include "store.h"

/* ------------------------------------------------------------------ reads */

static void
serve_get(struct node *n, const struct origin *o, const char *key, size_t keylen)
{
	struct proto_msg m = { .type = PROTO_T_VALUE };
	uint8_t *val = NULL;
	size_t len = 0;
	uint64_t rev = 0;
	int rc;

	rc = store_get(n->store, key, keylen, &val, &len, &rev);
	if (rc == -ENOENT) {
		reply_error(n, o, PROTO_E_NOTFOUND, "key not found: %.*s", (int)keylen, key);
		return;
	}
	if (rc < 0) {
		reply_error(n, o, PROTO_E_INTERNAL, "store read failed: %s", strerror(-rc));
		return;
	}
	m.value_reply.revision = rev;
	m.value_reply.value = proto_mem(val, len);
	reply_msg(n, o, &m);
	free(val);
}

struct list_ctx {
	struct proto_reply rb;
	bool full;
};

static int
list_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen, uint64_t rev)
{
	struct list_ctx *lc = arg;

	if (proto_reply_add_entry(&lc->rb, proto_mem(key, klen), rev, proto_mem(val, vlen)) ==
	    -EMSGSIZE) {
		lc->full = true;
		return 1; /* stop */
	}
	return 0;
}

static void
serve_list(struct node *n, const struct origin *o, const char *prefix, size_t plen)
{
	struct list_ctx lc = { 0 };
	int rc;

	proto_buf_reset(&n->out);
	proto_reply_begin(&lc.rb, &n->out, PROTO_T_LIST_REPLY, o->req_id);
	rc = store_list(n->store, prefix, plen, list_cb, &lc);
	if (rc < 0) {
		proto_reply_abort(&lc.rb);
		reply_error(n, o, PROTO_E_INTERNAL, "store read failed: %s", strerror(-rc));
		return;
	}
	proto_reply_end(&lc.rb, lc.full ? PROTO_F_TRUNCATED : 0);
	reply_frame(n, o);
}

static void
serve_read(struct node *n, const struct origin *o, uint8_t type, const char *key, size_t len)
{
	if (type == PROTO_T_GET)
		serve_get(n, o, key, len);
	else if (type == PROTO_T_TOKEN_LIST)
		tokens_list_reply(n, o);
	else
		serve_list(n, o, key, len);
}

void
kv_read(struct node *n, const struct origin *o, uint8_t type, uint8_t flags,
    const struct proto_str *key)
{
	struct pending *r;

	if (flags & PROTO_F_STALE) {
		/* Served from this node's copy as it is: no round trip. */
		serve_read(n, o, type, key->ptr, key->len);
		return;
	}
	r = pending_new(PEND_READ, o, node_now_ms() + n->request_timeout_ms, key->ptr, key->len);
	if (r == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	r->op = type;
	r->key = ++n->next_ctx;
	if (raft_read_index(n->raft, r->key) < 0) {
		free(r);
		reply_no_leader(n, o);
		return;
	}
	pending_add(&n->pending, r);
	node_schedule(n);
}

/* The core answered the ReadIndex of context ctx. */
void
kv_read_index(struct node *n, uint64_t ctx, uint64_t index)
{
	struct pending *r = pending_find(&n->pending, PEND_READ, ctx);

	if (r)
		r->index = index ? index : 1;
}

/* Serve every read whose index is known and applied. */
void
kv_reads_progress(struct node *n)
{
	struct pending *r, *tmp;

	PENDING_EACH(&n->pending, PEND_READ, r, tmp) {
		if (r->index == 0 || r->index > n->applied)
			continue;
		serve_read(n, &r->from, r->op, r->data, r->len);
		pending_del(&n->pending, r);
	}
}

/* A ReadIndex asked of the old leader will not be answered. */
void
kv_leader_changed(struct node *n)
{
	struct pending *r, *tmp;

	PENDING_EACH(&n->pending, PEND_READ, r, tmp) {
		if (r->index)
			continue;
		reply_error(n, &r->from, PROTO_E_NOLEADER,
		    "the leader changed before it "
		    "confirmed the read; retry");
		pending_del(&n->pending, r);
	}
}

/* ----------------------------------------------------------------- writes */

static int
ensure_cmdbuf(struct node *n, size_t len)
{
	uint8_t *p;

	if (len <= n->cmdcap)
		return 0;
	if ((p = realloc(n->cmdbuf, len)) == NULL)
		return -ENOMEM;
	n->cmdbuf = p;
	n->cmdcap = len;
	return 0;
}

void
kv_forward(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	uint64_t leader = raft_leader(n->raft);
	const struct member *lm = roster_by_id(n, leader);
	struct proto_msg fm = *m;
	struct pending *f;
	int rc;

	if (o->no_forward || lm == NULL || leader == n->self) {
		/* A forwarded request is not forwarded again: no loops. */
		reply_no_leader(n, o);
		return;
	}
	f = pending_new(PEND_FORWARD, o, node_now_ms() + n->request_timeout_ms, NULL, 0);
	if (f == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	f->key = ++n->next_fwd;
	f->peer = leader;
	fm.id = f->key;
	proto_buf_reset(&n->out);
	if ((rc = proto_encode(&n->out, &fm, NULL, 0)) == 0)
		rc = peer_send(n->peers, lm->name, n->out.data, n->out.len);
	if (rc < 0) {
		free(f);
		reply_error(n, o, PROTO_E_NOLEADER, "cannot reach the leader %s (%s): %s", lm->name,
		    lm->address, strerror(-rc));
		return;
	}
	pending_add(&n->pending, f);
}

/*
 * An answer from node `from` to a request we forwarded: relay it if we
 * forwarded that request to `from` (0), ignore it if it timed out already
 * (0); -EPERM if it was forwarded to another node: only the node asked
 * answers.
 */
int
kv_relay(struct node *n, uint64_t from, const struct proto_msg *m)
{
	struct pending *f = pending_find(&n->pending, PEND_FORWARD, m->id);
	struct proto_msg rm = *m;

	if (f == NULL)
		return 0; /* timed out already */
	if (f->peer != from)
		return -EPERM;
	reply_msg(n, &f->from, &rm);
	pending_del(&n->pending, f);
	return 0;
}

/* The link to leader went down: what was forwarded to it gets no answer, so
 * let the clients retry at once (same request ids) rather than at the timeout. */
void
kv_leader_lost(struct node *n, uint64_t leader, const char *name)
{
	struct pending *f, *tmp;

	PENDING_EACH(&n->pending, PEND_FORWARD, f, tmp) {
		if (f->peer != leader)
			continue;
		reply_error(n, &f->from, PROTO_E_NOLEADER,
		    "lost the connection to the "
		    "leader %s before it answered; retry",
		    name);
		pending_del(&n->pending, f);
	}
}

/* The store command for a write request m, into n->cmdbuf: its length or -errno. */
static ssize_t
encode_write(struct node *n, const struct proto_msg *m)
{
	uint8_t rec[TOKEN_RECORD_MAX];
	ssize_t rlen = 0;
	size_t len;

	switch (m->type) {
	case PROTO_T_SET:
		len = STORE_CMD_SET_SIZE(m->set.key.len, m->set.value.len);
		break;
	case PROTO_T_DEL:
		len = STORE_CMD_DEL_SIZE(m->del.key.len);
		break;
	case PROTO_T_TOKEN_ADD:
		rlen = token_record_encode(rec, sizeof(rec),
		    (m->token_add.flags & PROTO_F_WRITE) ? TOKEN_WRITE : TOKEN_READ,
		    m->token_add.prefix.ptr, m->token_add.prefix.len,
		    (const uint8_t *)m->token_add.hash.ptr);
		if (rlen < 0)
			return rlen;
		len = STORE_CMD_SET_SIZE(m->token_add.name.len, (size_t)rlen);
		break;
	default:
		len = STORE_CMD_DEL_SIZE(m->token_revoke.name.len);
		break;
	}
	if (ensure_cmdbuf(n, len) < 0)
		return -ENOMEM;
	switch (m->type) {
	case PROTO_T_SET:
		return store_cmd_encode_set(n->cmdbuf, n->cmdcap, m->set.client_id, m->set.seq,
		    m->set.key.ptr, m->set.key.len, m->set.value.ptr, m->set.value.len);
	case PROTO_T_DEL:
		return store_cmd_encode_del(n->cmdbuf, n->cmdcap, m->del.client_id, m->del.seq,
		    m->del.key.ptr, m->del.key.len);
	case PROTO_T_TOKEN_ADD:
		return store_cmd_encode_token_put(n->cmdbuf, n->cmdcap, m->token_add.client_id,
		    m->token_add.seq, m->token_add.name.ptr, m->token_add.name.len, rec,
		    (size_t)rlen);
	default:
		return store_cmd_encode_token_del(n->cmdbuf, n->cmdcap, m->token_revoke.client_id,
		    m->token_revoke.seq, m->token_revoke.name.ptr, m->token_revoke.name.len);
	}
}

/*
 * A new token when RAFTCONF_MAX_TOKENS are defined is refused here, on the
 * leader (so that token list shows them all).  Adds racing each other may
 * pass it together; the table takes them, the listing is then cut.
 */
static bool
token_room(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	if (m->type != PROTO_T_TOKEN_ADD || n->tokens.n < RAFTCONF_MAX_TOKENS)
		return true;
	reply_error(n, o, PROTO_E_REFUSED,
	    "%d HTTP tokens are defined, the most there may be; "
	    "revoke one first",
	    RAFTCONF_MAX_TOKENS);
	return false;
}

void
kv_write(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	struct pending *w;
	ssize_t enc;
	int rc;

	if (n->disk.full) {
		reply_error(n, o, PROTO_E_NOSPACE,
		    "%s: disk full in %s (%s); writes are refused until space is freed, "
		    "reads go on",
		    n->cfg->node_id, n->cfg->data_dir, n->disk.why);
		return;
	}
	if (raft_leader(n->raft) != n->self) {
		kv_forward(n, o, m);
		return;
	}
	if (!token_room(n, o, m))
		return;
	if ((w = pending_new(PEND_WRITE, o, node_now_ms() + n->request_timeout_ms, NULL, 0)) ==
	    NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	enc = encode_write(n, m);
	rc = enc < 0 ? (int)enc : raft_propose(n->raft, n->cmdbuf, enc, &w->key, &w->term);
	if (rc < 0) {
		free(w);
		if (rc == -ENOTLEADER)
			kv_forward(n, o, m);
		else if (rc == -EBUSY)
			reply_error(n, o, PROTO_E_NOLEADER,
			    "leadership is being transferred; "
			    "retry in a moment");
		else if (rc == -EMSGSIZE)
			reply_error(n, o, PROTO_E_TOOBIG, "write too large");
		else if (rc == -ENOMEM)
			reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		else if (rc == -EINVAL)
			reply_error(
			    n, o, PROTO_E_BADREQ, "not a valid %s", proto_type_name(m->type));
		else
			reply_error(
			    n, o, PROTO_E_INTERNAL, "propose failed: %s", raft_strerror(-rc));
		return;
	}
	w->op = m->type;
	pending_add(&n->pending, w);
	node_schedule(n);
}

/* Answer the writes proposed here whose entries are now applied. */
void
kv_write_applied(struct node *n, const struct raft_entry *e, const struct store_result *res)
{
	struct pending *w;

	while ((w = pending_first(&n->pending, PEND_WRITE)) != NULL && w->key <= e->index) {
		bool ok = false;

		if (w->key < e->index) {
			/* Its entry applied in an earlier batch without us seeing it. */
			reply_error(n, &w->from, PROTO_E_TIMEOUT,
			    "the outcome of the request is "
			    "unknown; retry it");
		} else if (w->term != e->term) {
			reply_error(n, &w->from, PROTO_E_NOLEADER,
			    "leadership changed before the "
			    "request committed; it was not applied");
		} else if (e->type == RAFT_ENTRY_CONF) {
			reply_ok(n, &w->from, e->index);
			ok = true;
		} else if (res == NULL || res->status == STORE_BAD_COMMAND) {
			reply_error(n, &w->from, PROTO_E_INTERNAL,
			    "the entry was not a valid "
			    "command");
		} else if (res->status == STORE_NOT_FOUND) {
			reply_error(n, &w->from, PROTO_E_NOTFOUND,
			    w->op == PROTO_T_TOKEN_REVOKE ? "no such token" : "key not found");
			ok = true;
		} else if (res->status == STORE_EXISTS) {
			reply_error(n, &w->from, PROTO_E_REFUSED,
			    "a token of that name exists already; revoke it first");
		} else if (res->status == STORE_STALE) {
			reply_error(n, &w->from, PROTO_E_REFUSED,
			    "a newer write of this client "
			    "was applied already");
		} else {
			reply_ok(n, &w->from, res->revision);
			ok = true;
		}
		if (ok)
			n->stats.proposals_committed++;
		else
			n->stats.proposals_failed++;
		pending_del(&n->pending, w);
	}
}

/* A read, write or forward whose deadline passed (pending_expire). */
void
kv_expired(struct node *n, struct pending *p)
{
	switch (p->kind) {
	case PEND_READ:
		reply_error(n, &p->from, PROTO_E_TIMEOUT,
		    "read timed out: no leader confirmed "
		    "it within %u ms",
		    n->request_timeout_ms);
		break;
	case PEND_WRITE:
		reply_error(n, &p->from, PROTO_E_TIMEOUT,
		    "not committed within %u ms (no "
		    "quorum?); it may still apply",
		    n->request_timeout_ms);
		n->stats.proposals_failed++;
		break;
	case PEND_FORWARD:
		reply_error(n, &p->from, PROTO_E_TIMEOUT,
		    "the leader did not answer within %u "
		    "ms",
		    n->request_timeout_ms);
		break;
	default:
		break;
	}
}
