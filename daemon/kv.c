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
serve_get(struct node *n, const struct origin *o, const char *key, size_t keylen, bool meta)
{
	struct proto_msg m = { .type = PROTO_T_VALUE };
	struct store_meta sm = { 0 };
	uint8_t *val = NULL;
	size_t len = 0;
	int rc;

	rc = store_get_meta(n->store, key, keylen, &val, &len, &sm);
	if (rc == -ENOENT) {
		reply_error(n, o, PROTO_E_NOTFOUND, "key not found: %.*s", (int)keylen, key);
		return;
	}
	if (rc < 0) {
		reply_error(n, o, PROTO_E_INTERNAL, "store read failed: %s", strerror(-rc));
		return;
	}
	if (meta) {
		m.type = PROTO_T_VALUE_META;
		m.value_meta.revision = sm.revision;
		m.value_meta.create_revision = sm.create_revision;
		m.value_meta.version = sm.version;
		m.value_meta.value = proto_mem(val, len);
	} else {
		m.value_reply.revision = sm.revision;
		m.value_reply.value = proto_mem(val, len);
	}
	reply_msg(n, o, &m);
	free(val);
}

struct list_ctx {
	struct proto_reply rb;
	uint64_t limit, sent; /* entries asked for (0: all), and in the answer */
	bool full;	      /* keys were left out */
};

static int
list_cb(void *arg, const char *key, size_t klen, const uint8_t *val, size_t vlen,
    const struct store_meta *m)
{
	struct list_ctx *lc = arg;
	struct proto_kv kv = { proto_mem(key, klen), m->revision, m->create_revision, m->version,
		proto_mem(val, vlen) };
	int rc;

	if (lc->limit != 0 && lc->sent == lc->limit) {
		lc->full = true; /* one more than asked for: there are more */
		return 1;
	}
	if (lc->rb.type == PROTO_T_LIST_META_REPLY)
		rc = proto_reply_add_kv(&lc->rb, &kv);
	else
		rc = proto_reply_add_entry(&lc->rb, kv.key, kv.revision, kv.value);
	if (rc == -EMSGSIZE) {
		lc->full = true;
		return 1; /* stop */
	}
	if (rc == 0)
		lc->sent++;
	return 0;
}

/*
 * A listing: with PROTO_F_KEYS_ONLY no value is read nor sent, with a
 * limit the first that many keys; TRUNCATED when keys were left out, by
 * the limit or by the size of an answer.
 */
static void
serve_list(struct node *n, const struct origin *o, const char *prefix, size_t plen, uint8_t flags,
    uint64_t limit)
{
	struct list_ctx lc = { .limit = limit };
	int rc;

	proto_buf_reset(&n->out);
	proto_reply_begin(&lc.rb, &n->out,
	    (flags & PROTO_F_META) ? PROTO_T_LIST_META_REPLY : PROTO_T_LIST_REPLY, o->req_id);
	/* one more than the limit: whether there are more is part of the answer */
	rc = store_list_opts(n->store, prefix, plen, limit ? limit + 1 : 0,
	    (flags & PROTO_F_KEYS_ONLY) != 0, list_cb, &lc);
	if (rc < 0) {
		proto_reply_abort(&lc.rb);
		reply_error(n, o, PROTO_E_INTERNAL, "store read failed: %s", strerror(-rc));
		return;
	}
	proto_reply_end(&lc.rb, lc.full ? PROTO_F_TRUNCATED : 0);
	reply_frame(n, o);
}

/* How many keys are under prefix: counted in the store, nothing listed. */
static void
serve_count(struct node *n, const struct origin *o, const char *prefix, size_t plen)
{
	struct proto_msg m = { .type = PROTO_T_COUNT_REPLY };
	int rc = store_count(n->store, prefix, plen, &m.count_reply.count);

	if (rc < 0) {
		reply_error(n, o, PROTO_E_INTERNAL, "store read failed: %s", strerror(-rc));
		return;
	}
	reply_msg(n, o, &m);
}

static void
serve_read(struct node *n, const struct origin *o, uint8_t type, uint8_t flags, const char *key,
    size_t len, uint64_t limit)
{
	if (type == PROTO_T_GET)
		serve_get(n, o, key, len, (flags & PROTO_F_META) != 0);
	else if (type == PROTO_T_TOKEN_LIST)
		tokens_list_reply(n, o);
	else if (flags & PROTO_F_COUNT)
		serve_count(n, o, key, len);
	else
		serve_list(n, o, key, len, flags, limit);
}

void
kv_read(struct node *n, const struct origin *o, uint8_t type, uint8_t flags,
    const struct proto_str *key, uint64_t limit)
{
	struct pending *r;

	if (flags & PROTO_F_STALE) {
		/* Served from this node's copy as it is: no round trip. */
		serve_read(n, o, type, flags, key->ptr, key->len, limit);
		return;
	}
	r = pending_new(PEND_READ, o, node_now_ms() + n->request_timeout_ms, key->ptr, key->len);
	if (r == NULL) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	r->op = type;
	r->flags = flags;
	r->limit = limit;
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

static void del_confirmed(struct node *n, struct pending *r);

/* Serve every read whose index is known and applied. */
void
kv_reads_progress(struct node *n)
{
	struct pending *r, *tmp;

	PENDING_EACH(&n->pending, PEND_READ, r, tmp) {
		if (r->index == 0 || r->index > n->applied)
			continue;
		if (r->op == PROTO_T_DEL)
			del_confirmed(n, r);
		else
			serve_read(n, &r->from, r->op, r->flags, r->data, r->len, r->limit);
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

/*
 * Send request m to member `to` on its peer link under a new request id,
 * and keep p (its kind, origin and deadline set by the caller) in the table
 * under that id (p->key), with p->peer = to->id, until the answer comes
 * back (dispatch.c gives it to kv_relay, or to census_answer for a
 * PEND_CENSUS), the deadline passes or the link drops.  0, or -errno: p is
 * not kept, the caller frees it.
 */
int
kv_send(struct node *n, struct pending *p, const struct proto_msg *m, const struct member *to)
{
	struct proto_msg fm = *m;
	int rc;

	p->key = ++n->next_fwd;
	p->peer = to->id;
	fm.id = p->key;
	proto_buf_reset(&n->out);
	if ((rc = proto_encode(&n->out, &fm, NULL, 0)) == 0)
		rc = peer_send(n->peers, to->name, n->out.data, n->out.len);
	if (rc == 0)
		pending_add(&n->pending, p);
	return rc;
}

void
kv_forward(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	uint64_t leader = raft_leader(n->raft);
	const struct member *lm = roster_by_id(n, leader);
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
	if ((rc = kv_send(n, f, m, lm)) < 0) {
		free(f);
		reply_error(n, o, PROTO_E_NOLEADER, "cannot reach the leader %s (%s): %s", lm->name,
		    lm->address, strerror(-rc));
	}
}

int
kv_forward_quiet(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	return kv_forward_within(n, o, m, n->request_timeout_ms, NULL);
}

int
kv_forward_within(struct node *n, const struct origin *o, const struct proto_msg *m,
    uint64_t timeout_ms, struct pending **fp)
{
	uint64_t leader = raft_leader(n->raft);
	const struct member *lm = roster_by_id(n, leader);
	struct pending *f;
	int rc;

	if (o->no_forward || lm == NULL || leader == n->self)
		return -ENOENT;
	f = pending_new(PEND_FORWARD, o, node_now_ms() + timeout_ms, NULL, 0);
	if (f == NULL)
		return -ENOMEM;
	if ((rc = kv_send(n, f, m, lm)) < 0)
		free(f);
	else if (fp != NULL)
		*fp = f;
	return rc;
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
	if (rm.type == PROTO_T_MEMBERS_VIEW_REPLY)
		status_members_view_relay(n, &f->from, &rm);
	else
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

/* A TXN's compares and ops, from the request's items into the store's form. */
struct txn_parts {
	struct store_compare cmps[RAFTCONF_MAX_TXN_OPS];
	struct store_txn_op ops[2][RAFTCONF_MAX_TXN_OPS];
	size_t ncmp, nops[2];
};

static int
txn_parts(const struct proto_msg *m, struct txn_parts *p)
{
	union proto_item it;
	struct proto_iter iter;
	int rc;

	p->ncmp = p->nops[0] = p->nops[1] = 0;
	if (proto_iter_txn(&iter, m, PROTO_TXN_COMPARES) < 0)
		return -EINVAL;
	while ((rc = proto_iter_next(&iter, &it)) == 1) {
		if (p->ncmp == RAFTCONF_MAX_TXN_OPS)
			return -EINVAL;
		p->cmps[p->ncmp++] = (struct store_compare){ it.compare.target, it.compare.result,
			it.compare.key.ptr, it.compare.key.len, it.compare.revision,
			(const uint8_t *)it.compare.value.ptr, it.compare.value.len };
	}
	for (int l = 0; l < 2 && rc == 0; l++) {
		if (proto_iter_txn(&iter, m, l ? PROTO_TXN_ELSE : PROTO_TXN_THEN) < 0)
			return -EINVAL;
		while ((rc = proto_iter_next(&iter, &it)) == 1) {
			if (p->nops[l] == RAFTCONF_MAX_TXN_OPS)
				return -EINVAL;
			p->ops[l][p->nops[l]++] = (struct store_txn_op){ it.op.kind, it.op.key.ptr,
				it.op.key.len, (const uint8_t *)it.op.value.ptr, it.op.value.len };
		}
	}
	return rc < 0 ? -EINVAL : 0;
}

static ssize_t
encode_txn(struct node *n, const struct proto_msg *m)
{
	struct txn_parts *p = malloc(sizeof(*p));
	size_t need = 0;
	ssize_t rc;

	if (p == NULL)
		return -ENOMEM;
	rc = txn_parts(m, p);
	if (rc == 0) {
		rc = store_cmd_encode_txn(NULL, 0, &need, m->txn.client_id, m->txn.seq, p->cmps,
		    p->ncmp, p->ops[0], p->nops[0], p->ops[1], p->nops[1]);
		if (rc == -ENOSPC)
			rc = ensure_cmdbuf(n, need);
	}
	if (rc == 0)
		rc = store_cmd_encode_txn(n->cmdbuf, n->cmdcap, NULL, m->txn.client_id, m->txn.seq,
		    p->cmps, p->ncmp, p->ops[0], p->nops[0], p->ops[1], p->nops[1]);
	free(p);
	return rc;
}

/* The store command for a write request m, into n->cmdbuf: its length or -errno. */
static ssize_t
encode_write(struct node *n, const struct proto_msg *m)
{
	uint8_t rec[TOKEN_RECORD_MAX];
	ssize_t rlen = 0;
	size_t len;

	switch (m->type) {
	case PROTO_T_TXN:
		return encode_txn(n, m);
	case PROTO_T_SET:
		len = STORE_CMD_SET_SIZE(m->set.key.len, m->set.value.len);
		break;
	case PROTO_T_SET_IF:
		len = STORE_CMD_SET_SIZE(m->set_if.key.len, m->set_if.value.len) + 8;
		break;
	case PROTO_T_DEL:
		len = STORE_CMD_DEL_SIZE(m->del.key.len);
		break;
	case PROTO_T_DEL_IF:
		len = STORE_CMD_DEL_SIZE(m->del_if.key.len) + 8;
		break;
	case PROTO_T_DEL_PREFIX:
		len = STORE_CMD_DEL_SIZE(m->del_prefix.prefix.len);
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
	case PROTO_T_SET_IF:
		return store_cmd_encode_set_if(n->cmdbuf, n->cmdcap, m->set_if.client_id,
		    m->set_if.seq, m->set_if.key.ptr, m->set_if.key.len, m->set_if.value.ptr,
		    m->set_if.value.len, m->set_if.if_rev);
	case PROTO_T_DEL_IF:
		return store_cmd_encode_del_if(n->cmdbuf, n->cmdcap, m->del_if.client_id,
		    m->del_if.seq, m->del_if.key.ptr, m->del_if.key.len, m->del_if.if_rev);
	case PROTO_T_DEL_PREFIX:
		return store_cmd_encode_del_prefix(n->cmdbuf, n->cmdcap, m->del_prefix.client_id,
		    m->del_prefix.seq, m->del_prefix.prefix.ptr, m->del_prefix.prefix.len);
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

static void propose_write(struct node *n, const struct origin *o, const struct proto_msg *m);

/*
 * A DEL's request id, then its key: what a DEL of a key that seems missing
 * keeps while the leader confirms it still leads (a ReadIndex).
 */
struct del_check {
	uint64_t client_id, seq;
	char key[];
};

/*
 * Leader: a DEL of a key that is not in the store, with nothing in flight
 * that could make it, nor a request id seen before (a retry gets its first
 * answer through the log): rather than a log entry that deletes nothing,
 * a ReadIndex, and "not found" once it confirms (issue 18).  True if it
 * took the request.
 */
static bool
del_missing(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	struct raft_status st;
	struct store_client sc;
	struct del_check *dc;
	struct pending *r;
	size_t len = sizeof(*dc) + m->del.key.len;
	int rc;

	if (m->type != PROTO_T_DEL)
		return false;
	raft_status(n->raft, &st);
	if (n->applied < st.last_index || n->applied < st.commit)
		return false;
	if (store_get_client(n->store, m->del.client_id, &sc) == 0 && sc.last_seq >= m->del.seq)
		return false;
	rc = store_get(n->store, m->del.key.ptr, m->del.key.len, NULL, NULL, NULL);
	if (rc != -ENOENT)
		return false;
	if ((dc = malloc(len)) == NULL)
		return false;
	dc->client_id = m->del.client_id;
	dc->seq = m->del.seq;
	memcpy(dc->key, m->del.key.ptr, m->del.key.len);
	r = pending_new(PEND_READ, o, node_now_ms() + n->request_timeout_ms, dc, len);
	free(dc);
	if (r == NULL)
		return false;
	r->op = PROTO_T_DEL;
	r->key = ++n->next_ctx;
	if (raft_read_index(n->raft, r->key) < 0) {
		free(r);
		return false;
	}
	pending_add(&n->pending, r);
	node_schedule(n);
	return true;
}

/* The leadership behind a del_missing() confirmed: still missing, or delete it now. */
static void
del_confirmed(struct node *n, struct pending *r)
{
	struct del_check dc; /* r->data may not be aligned for it: copied out */
	const char *key = (const char *)r->data + sizeof(dc);
	size_t klen = r->len - sizeof(dc);
	struct proto_msg m = { .type = PROTO_T_DEL, .id = r->from.req_id };

	memcpy(&dc, r->data, sizeof(dc));
	if (store_get(n->store, key, klen, NULL, NULL, NULL) == -ENOENT) {
		reply_error(n, &r->from, PROTO_E_NOTFOUND, "key not found");
		return;
	}
	/* Made since: the DEL goes through the log after all. */
	m.del.client_id = dc.client_id;
	m.del.seq = dc.seq;
	m.del.key = proto_mem(key, klen);
	propose_write(n, &r->from, &m);
}

void
kv_write(struct node *n, const struct origin *o, const struct proto_msg *m)
{

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
	if (!token_room(n, o, m) || del_missing(n, o, m))
		return;
	propose_write(n, o, m);
}

/* Leader: propose write m, and keep it until its entry is applied (kv_write_applied). */
static void
propose_write(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	struct pending *w;
	ssize_t enc;
	int rc;

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

/*
 * A TXN proposed here is about to apply as entry e: start its answer, for
 * kv_txn_get to fill with its gets.  True when it is one.
 */
bool
kv_txn_begin(struct node *n, const struct raft_entry *e)
{
	/* not necessarily the first: older ones are answered as this entry applies */
	struct pending *w = pending_find(&n->pending, PEND_WRITE, e->index);

	if (n->txn_building)
		proto_reply_abort(&n->txn_rb); /* left by a failed apply */
	n->txn_building = n->txn_overflow = false;
	if (w == NULL || w->key != e->index || w->term != e->term || w->op != PROTO_T_TXN)
		return false;
	proto_buf_reset(&n->txnbuf);
	if (proto_reply_begin(&n->txn_rb, &n->txnbuf, PROTO_T_TXN_REPLY, w->from.req_id) < 0)
		n->txn_overflow = true;
	else
		n->txn_building = true;
	return n->txn_building;
}

/* A get of the TXN whose answer kv_txn_begin started (meta NULL: no such key). */
void
kv_txn_get(struct node *n, const char *key, size_t klen, const struct store_meta *meta,
    const uint8_t *val, size_t vlen)
{
	struct proto_kv kv = { proto_mem(key, klen), 0, 0, 0, proto_mem("", 0) };

	if (!n->txn_building)
		return;
	if (meta != NULL) {
		kv.revision = meta->revision;
		kv.create_revision = meta->create_revision;
		kv.version = meta->version;
		kv.value = proto_mem(val, vlen);
	}
	if (proto_reply_add_kv(&n->txn_rb, &kv) < 0) {
		proto_reply_abort(&n->txn_rb);
		n->txn_building = false;
		n->txn_overflow = true;
	}
}

/* The answer to a TXN whose entry applied with res. */
static void
txn_applied(struct node *n, struct pending *w, const struct store_result *res)
{
	uint8_t flags = res->status == STORE_OK ? PROTO_F_SUCCEEDED : 0;
	struct proto_reply rb;

	if (res->duplicate || !n->txn_building) {
		if (n->txn_overflow && !res->duplicate) {
			reply_error(n, &w->from, PROTO_E_TOOBIG,
			    "the transaction applied (%s branch, revision %" PRIu64
			    ") but its gets' results do not fit in one answer",
			    flags ? "then" : "else", res->revision);
			return;
		}
		/* a retry of a TXN applied before: its gets were not kept */
		proto_buf_reset(&n->out);
		if (proto_reply_begin(&rb, &n->out, PROTO_T_TXN_REPLY, w->from.req_id) == 0 &&
		    proto_reply_end_txn(&rb, flags | PROTO_F_REPLAYED, res->revision) == 0)
			reply_frame(n, &w->from);
		return;
	}
	n->txn_building = false;
	if (proto_reply_end_txn(&n->txn_rb, flags, res->revision) == 0)
		reply_bytes(n, &w->from, n->txnbuf.data, n->txnbuf.len);
}

/* The answer to a DEL_PREFIX whose entry applied with res: true when it deleted. */
static bool
del_prefix_applied(struct node *n, struct pending *w, const struct store_result *res)
{
	struct proto_msg m = { .type = PROTO_T_DELETED };

	if (res->status == STORE_FAILED) {
		reply_error(n, &w->from, PROTO_E_TOOBIG,
		    "%" PRIu64 " keys are under the prefix; one deletion takes at most %d keys, "
		    "of at most %d bytes of names together; nothing was deleted: delete "
		    "longer prefixes",
		    res->count, RAFTCONF_MAX_DEL_PREFIX_KEYS, RAFTCONF_MAX_DEL_PREFIX_BYTES);
		return false;
	}
	m.deleted.revision = res->revision;
	m.deleted.deleted = res->count;
	reply_msg(n, &w->from, &m);
	return true;
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
		} else if (res->status == STORE_REUSED) {
			reply_error(n, &w->from, PROTO_E_REFUSED,
			    "this request id was used already for another request, which was "
			    "applied; this one was not");
		} else if (res->status == STORE_STALE) {
			reply_error(n, &w->from, PROTO_E_REFUSED,
			    "a newer write of this client "
			    "was applied already");
		} else if (w->op == PROTO_T_TXN) {
			txn_applied(n, w, res);
			ok = true;
		} else if (w->op == PROTO_T_DEL_PREFIX) {
			ok = del_prefix_applied(n, w, res);
		} else if (res->status == STORE_FAILED) {
			struct proto_msg fm = { .type = PROTO_T_FAILED };

			fm.failed.revision = res->revision;
			reply_msg(n, &w->from, &fm);
			ok = true;
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
	if (n->txn_building) {
		/* its pending write was answered otherwise (term changed) */
		proto_reply_abort(&n->txn_rb);
		n->txn_building = false;
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
