/*
 * store_apply.c — applying committed entries to the state machine: what
 * each command (store_cmd.h) does to the keys and the tokens (SET, DEL,
 * SET_IF, DEL_IF, TXN, DEL_PREFIX, TOKEN_PUT, TOKEN_DEL), the changes it
 * hands the history, the dedup of a retried request, the applied index and
 * the membership written with them.  Decided here as each entry applies,
 * in log order, the same on every node.
 *
 * Not here: the batch each apply runs in, the meta records and the file
 * (store.c), the dedup table's records (store_dedup.c), the history's
 * (store_history.c), reading (store_read.c), or which entries are
 * committed (the node).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>

#include "bytes.h"
#include "store.h"
#include "store_cmd.h"
#include "store_state.h"
#include "tdbutil.h"

/* ------------------------------------------------------------ keys */

/* A key's record: 0 with *m (and the value, if val is not NULL), -ENOENT, or -errno. */
static int
kv_get(struct store *s, const char *k, size_t klen, struct store_meta *m, TDB_DATA *val)
{
	char key[2 + RAFTCONF_MAX_KEY];
	TDB_DATA d;

	int r;

	store_ns_key(key, 'k', k, klen);
	if ((r = sdb_fetch(s, tdata(key, 2 + klen), &d)) < 0)
		return r;
	if (!store_kv_ok(d)) {
		free(d.dptr);
		return -EBADMSG;
	}
	store_kv_meta(d.dptr, m);
	if (val != NULL)
		*val = d;
	else
		free(d.dptr);
	return 0;
}

/* A key's revision now: 0 when it does not exist. */
static int
kv_revision(struct store *s, const char *k, size_t klen, uint64_t *rev)
{
	struct store_meta m;
	int r = kv_get(s, k, klen, &m, NULL);

	*rev = r == 0 ? m.revision : 0;
	return r == -ENOENT ? 0 : r;
}

/*
 * Write key = value at index over what the key held, old (NULL: it did not
 * exist): its version one more, its create revision kept.
 */
static int
kv_write(struct store *s, const char *k, size_t klen, const uint8_t *value, size_t vlen,
    uint64_t index, const struct store_meta *old)
{
	char key[2 + RAFTCONF_MAX_KEY];
	uint8_t head[KV_HEAD];
	TDB_DATA parts[2];

	put_le64(head, index);
	put_le64(head + 8, old ? old->create_revision : index);
	put_le64(head + 16, old ? old->version + 1 : 1);
	store_ns_key(key, 'k', k, klen);
	parts[0] = tdata(head, sizeof(head));
	parts[1] = tdata(value, vlen);
	return sdb_storev(s, tdata(key, 2 + klen), parts, 2);
}

/* kv_write over whatever the key holds now. */
static int
kv_put(
    struct store *s, const char *k, size_t klen, const uint8_t *value, size_t vlen, uint64_t index)
{
	struct store_meta m;
	int r = kv_get(s, k, klen, &m, NULL);

	if (r < 0 && r != -ENOENT)
		return r;
	return kv_write(s, k, klen, value, vlen, index, r == 0 ? &m : NULL);
}

/* ------------------------------------------------------------ commands */

/* A SET's change, once written: its result and its event for the history. */
static int
set_done(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	int r = store_hist_add(s, STORE_EV_PUT, c->key, c->klen, c->value, c->vlen);

	if (r < 0)
		return r;
	res->status = STORE_OK;
	res->revision = index;
	return 0;
}

static int
do_set(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	int r = kv_put(s, c->key, c->klen, c->value, c->vlen, index);

	return r < 0 ? r : set_done(s, c, index, res);
}

/* Delete one record: STORE_NOT_FOUND when there was none. */
static int
del_record(struct store *s, TDB_DATA key, uint64_t index, struct store_result *res)
{
	int r = sdb_delete(s, key);

	if (r < 0) {
		if (r != -ENOENT)
			return r;
		res->status = STORE_NOT_FOUND;
		res->revision = 0;
		return 0;
	}
	res->status = STORE_OK;
	res->revision = index;
	return 0;
}

static int
do_del(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	char key[2 + RAFTCONF_MAX_KEY];

	int r;

	store_ns_key(key, 'k', c->key, c->klen);
	r = del_record(s, tdata(key, 2 + c->klen), index, res);
	if (r == 0 && res->status == STORE_OK)
		r = store_hist_add(s, STORE_EV_DEL, c->key, c->klen, NULL, 0);
	return r;
}

/* A new token; a name that has one already is refused (revoke it first). */
static int
do_token_put(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	char key[2 + RAFTCONF_MAX_ID];
	TDB_DATA k = tdata(key, 2 + c->klen);

	store_ns_key(key, 't', c->key, c->klen);
	int r;

	if (sdb_exists(s, k)) {
		res->status = STORE_EXISTS;
		res->revision = 0;
		return 0;
	}
	if ((r = sdb_store(s, k, tdata(c->value, c->vlen))) < 0)
		return r;
	res->status = STORE_OK;
	res->revision = index;
	return 0;
}

static int
do_token_del(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	char key[2 + RAFTCONF_MAX_ID];

	store_ns_key(key, 't', c->key, c->klen);
	return del_record(s, tdata(key, 2 + c->klen), index, res);
}

/*
 * SET_IF, DEL_IF: decided here, as the entry applies, in log order — never
 * by a read before the proposal.  A failure changes nothing and answers the
 * key's revision now (recorded for a retry like any result).
 */
static int
do_if(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res)
{
	struct store_meta m;
	int r = kv_get(s, c->key, c->klen, &m, NULL);
	uint64_t rev = r == 0 ? m.revision : 0;

	if (r < 0 && r != -ENOENT)
		return r;
	if (rev != c->if_rev) {
		res->status = STORE_FAILED;
		res->revision = rev;
		return 0;
	}
	if (c->op == STORE_OP_DEL_IF)
		return do_del(s, c, index, res);
	/* the key's record was read for the condition: not again to write it */
	r = kv_write(s, c->key, c->klen, c->value, c->vlen, index, r == 0 ? &m : NULL);
	return r < 0 ? r : set_done(s, c, index, res);
}

/* Does compare c hold now?  1, 0, or -errno. */
static int
compare_holds(struct store *s, const struct store_compare *c)
{
	struct store_meta m;
	TDB_DATA d = { 0 };
	uint64_t rev;
	bool eq;
	int r;

	if (c->target == STORE_CMP_REV) {
		if ((r = kv_revision(s, c->key, c->klen, &rev)) < 0)
			return r;
		switch (c->result) {
		case STORE_CMP_EQ:
			return rev == c->revision;
		case STORE_CMP_NE:
			return rev != c->revision;
		case STORE_CMP_LT:
			return rev < c->revision;
		default:
			return rev > c->revision;
		}
	}
	/* A value compare of a key that does not exist is false, = or != (etcd). */
	r = kv_get(s, c->key, c->klen, &m, &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	eq = d.dsize - KV_HEAD == c->vlen &&
	    (c->vlen == 0 || memcmp(d.dptr + KV_HEAD, c->value, c->vlen) == 0);
	free(d.dptr);
	return c->result == STORE_CMP_EQ ? eq : !eq;
}

static int
txn_get(struct store *s, const struct store_txn_op *o, store_txn_cb cb, void *arg)
{
	struct store_meta m;
	TDB_DATA d = { 0 };
	int r;

	if (cb == NULL)
		return 0;
	r = kv_get(s, o->key, o->klen, &m, &d);
	if (r == -ENOENT) {
		cb(arg, STORE_TXN_GET, o->key, o->klen, NULL, NULL, 0);
		return 0;
	}
	if (r < 0)
		return r;
	cb(arg, STORE_TXN_GET, o->key, o->klen, &m, d.dptr + KV_HEAD, d.dsize - KV_HEAD);
	free(d.dptr);
	return 0;
}

/* A TXN: every compare, then one branch's operations in order. */
static int
do_txn(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res,
    store_txn_cb cb, void *arg)
{
	char key[2 + RAFTCONF_MAX_KEY];
	struct store_txn_iter it;
	struct store_compare cmp;
	struct store_txn_op op;
	bool holds = true;
	int r;

	store_txn_iter_init(&it, &c->compares);
	while (holds && (r = store_txn_next_compare(&it, &cmp)) == 1) {
		if ((r = compare_holds(s, &cmp)) < 0)
			return r;
		holds = r == 1;
	}
	if (r < 0)
		return -EBADMSG;
	store_txn_iter_init(&it, holds ? &c->then_ops : &c->else_ops);
	while ((r = store_txn_next_op(&it, &op)) == 1) {
		struct store_meta m;

		switch (op.kind) {
		case STORE_TXN_SET:
			r = kv_put(s, op.key, op.klen, op.value, op.vlen, index);
			if (r == 0)
				r = store_hist_add(
				    s, STORE_EV_PUT, op.key, op.klen, op.value, op.vlen);
			if (r == 0 && cb != NULL && (r = kv_get(s, op.key, op.klen, &m, NULL)) == 0)
				cb(arg, STORE_TXN_SET, op.key, op.klen, &m, op.value, op.vlen);
			break;
		case STORE_TXN_DEL:
			store_ns_key(key, 'k', op.key, op.klen);
			r = sdb_delete(s, tdata(key, 2 + op.klen));
			if (r == 0) {
				r = store_hist_add(s, STORE_EV_DEL, op.key, op.klen, NULL, 0);
				if (r == 0 && cb != NULL)
					cb(arg, STORE_TXN_DEL, op.key, op.klen, NULL, NULL, 0);
			} else if (r == -ENOENT) {
				r = 0;
			}
			break;
		default:
			r = txn_get(s, &op, cb, arg);
			break;
		}
		if (r < 0)
			return r;
	}
	if (r < 0)
		return -EBADMSG;
	res->status = holds ? STORE_OK : STORE_FAILED;
	res->revision = index;
	return 0;
}

/*
 * DEL_PREFIX: every key under the prefix, in key order, each a DEL change
 * of this entry; none when they are more than one entry deletes.
 */
static int
do_del_prefix(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res,
    store_txn_cb cb, void *arg)
{
	struct store_scan sc = { .prefix = c->key,
		.plen = c->klen,
		.keep = true,
		.max_keys = RAFTCONF_MAX_DEL_PREFIX_KEYS,
		.max_bytes = RAFTCONF_MAX_DEL_PREFIX_BYTES };
	int r;

	if ((r = store_scan_keys(s, &sc)) < 0)
		return r;
	res->count = sc.matched;
	if (sc.matched > RAFTCONF_MAX_DEL_PREFIX_KEYS || sc.bytes > RAFTCONF_MAX_DEL_PREFIX_BYTES) {
		store_scan_free(&sc);
		res->status = STORE_FAILED;
		res->revision = 0;
		return 0;
	}
	for (size_t i = 0; i < sc.n && r == 0; i++) {
		const char *k = sc.v[i].key + 2;
		size_t klen = sc.v[i].len - 2;

		if ((r = sdb_delete(s, tdata(sc.v[i].key, sc.v[i].len))) < 0)
			break;
		r = store_hist_add(s, STORE_EV_DEL, k, klen, NULL, 0);
		if (r == 0 && cb != NULL)
			cb(arg, STORE_TXN_DEL, k, klen, NULL, NULL, 0);
	}
	store_scan_free(&sc);
	if (r < 0)
		return r;
	res->status = STORE_OK;
	res->revision = index;
	return 0;
}

static int
do_cmd(struct store *s, const struct store_cmd *c, uint64_t index, struct store_result *res,
    store_txn_cb cb, void *arg)
{
	switch (c->op) {
	case STORE_OP_SET:
		return do_set(s, c, index, res);
	case STORE_OP_DEL:
		return do_del(s, c, index, res);
	case STORE_OP_SET_IF:
	case STORE_OP_DEL_IF:
		return do_if(s, c, index, res);
	case STORE_OP_TXN:
		return do_txn(s, c, index, res, cb, arg);
	case STORE_OP_DEL_PREFIX:
		return do_del_prefix(s, c, index, res, cb, arg);
	case STORE_OP_TOKEN_PUT:
		return do_token_put(s, c, index, res);
	case STORE_OP_TOKEN_DEL:
		return do_token_del(s, c, index, res);
	}
	return -EINVAL;
}

/* ------------------------------------------------------------ entries */

int
store_apply(struct store *s, uint64_t index, uint64_t term, const void *cmd, size_t len,
    struct store_result *res)
{
	return store_apply_txn(s, index, term, cmd, len, res, NULL, NULL);
}

int
store_apply_txn(struct store *s, uint64_t index, uint64_t term, const void *cmd, size_t len,
    struct store_result *res, store_txn_cb cb, void *arg)
{
	struct store_cmd c;
	struct store_client cl;
	bool own, known = false;
	int r;

	memset(res, 0, sizeof(*res));
	if (s->tdb == NULL)
		return -EIO;
	if (index <= s->applied)
		return -EINVAL;
	r = store_write_begin(s, &own);
	if (r < 0)
		return r;
	if (store_cmd_decode(cmd, len, &c) < 0) {
		res->status = STORE_BAD_COMMAND;
		goto applied;
	}
	if (c.client_id != 0) {
		r = store_get_client(s, c.client_id, &cl);
		if (r == 0) {
			known = true;
			if (c.seq == cl.last_seq && cl.digest != 0 &&
			    cl.digest != store_cmd_digest(cmd, len)) {
				res->status = STORE_REUSED;
				goto applied;
			}
			if (c.seq == cl.last_seq) {
				res->status = cl.status;
				res->revision = cl.revision;
				res->count = cl.count;
				res->duplicate = true;
				goto applied;
			}
			if (c.seq < cl.last_seq) {
				res->status = STORE_STALE;
				goto applied;
			}
		} else if (r != -ENOENT) {
			goto out;
		}
	}
	if ((r = store_hist_begin(s, index)) < 0)
		goto out;
	r = do_cmd(s, &c, index, res, cb, arg);
	if (r == 0)
		r = store_hist_end(s);
	if (r < 0)
		goto out;
	if (c.client_id != 0) {
		cl.last_seq = c.seq;
		cl.revision = res->revision;
		cl.status = res->status;
		cl.last_used = index;
		cl.digest = store_cmd_digest(cmd, len);
		cl.count = res->count;
		r = store_client_record(s, c.client_id, &cl, known);
		if (r < 0)
			goto out;
	}
applied:
	r = store_put_applied(s, index, term);
out:
	return store_write_end(s, own, r);
}

int
store_set_applied(struct store *s, uint64_t index, uint64_t term)
{
	bool own;
	int r;

	if (s->tdb == NULL)
		return -EIO;
	if (index <= s->applied)
		return -EINVAL;
	r = store_write_begin(s, &own);
	if (r < 0)
		return r;
	return store_write_end(s, own, store_put_applied(s, index, term));
}

uint64_t
store_applied(struct store *s)
{
	return s->applied;
}

uint64_t
store_applied_term(struct store *s)
{
	return s->applied_term;
}

int
store_set_members(struct store *s, const void *blob, size_t len)
{
	bool own;
	int r;

	if (s->tdb == NULL)
		return -EIO;
	if (len > STORE_MAX_MEMBERS_BYTES || (len > 0 && blob == NULL))
		return -EINVAL;
	r = store_write_begin(s, &own);
	if (r < 0)
		return r;
	return store_write_end(s, own, store_put(s, tstr("m:members"), tdata(blob, len)));
}
