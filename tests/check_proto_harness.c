/*
 * check_proto_harness.c — what the tests of check_proto check with: an
 * independent frame writer that follows the layout proto.h documents (so
 * that the encoder is checked against the document, not against itself,
 * and the decoder gets frames the encoder would refuse), and the helpers
 * that encode, decode and compare messages field by field.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_proto.h"

/* ------------------------------------------- the independent frame writer */

struct tb {
	uint8_t *p;
	size_t len, cap;
};

static void
tb_put(struct tb *t, const void *src, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 64;
		t->p = realloc(t->p, t->cap);
		ck_assert_ptr_nonnull(t->p);
	}
	if (n > 0)
		memcpy(t->p + t->len, src, n);
	t->len += n;
}

static void
tb_be(struct tb *t, uint64_t v, int bytes)
{
	uint8_t b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	tb_put(t, b, (size_t)bytes);
}

#define tb_u8(t, v)	tb_be(t, v, 1)
#define tb_u16(t, v)	tb_be(t, v, 2)
#define tb_u32(t, v)	tb_be(t, v, 4)
#define tb_u64(t, v)	tb_be(t, v, 8)

static void
tb_s16(struct tb *t, struct proto_str s)
{
	tb_u16(t, s.len);
	tb_put(t, s.ptr, s.len);
}

static void
tb_s32(struct tb *t, struct proto_str s)
{
	tb_u32(t, s.len);
	tb_put(t, s.ptr, s.len);
}

void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Make the length field say len and, once there is a whole header, the crc fit. */
void
reseal(uint8_t *f, size_t len)
{
	if (len >= 4)
		put_be32(f, (uint32_t)len);
	if (len >= HDR)
		put_be32(f + 8, proto_crc32c(0, f + HDR, len - HDR));
}

/* A frame of exactly header + body bytes, in its own allocation. */
uint8_t *
frame_around(uint8_t type, const uint8_t *body, size_t blen, size_t *len)
{
	uint8_t *f = malloc(HDR + blen);

	ck_assert_ptr_nonnull(f);
	f[4] = PROTO_VERSION;
	f[5] = type;
	f[6] = f[7] = 0;
	if (blen > 0)
		memcpy(f + HDR, body, blen);
	reseal(f, HDR + blen);
	*len = HDR + blen;
	return f;
}

static void
craft_item(struct tb *t, uint8_t type, const struct items *it, size_t i)
{
	switch (type) {
	case PROTO_T_LIST_REPLY:
		tb_s16(t, it->e[i].key);
		tb_u64(t, it->e[i].revision);
		tb_s32(t, it->e[i].value);
		break;
	case PROTO_T_STATUS_REPLY:
		tb_s16(t, it->p[i].name);
		tb_s16(t, it->p[i].value);
		break;
	case PROTO_T_MEMBERS_REPLY:
		tb_s16(t, it->mb[i].node_id);
		tb_s16(t, it->mb[i].address);
		tb_u8(t, it->mb[i].flags);
		tb_u64(t, it->mb[i].match_index);
		tb_u64(t, it->mb[i].last_contact_ms);
		tb_u8(t, it->mb[i].health);
		break;
	case PROTO_T_MEMBERS_VIEW_REPLY:
		tb_s16(t, it->mv[i].node_id);
		tb_s16(t, it->mv[i].address);
		tb_u8(t, it->mv[i].flags);
		tb_u64(t, it->mv[i].match_index);
		tb_u64(t, it->mv[i].last_contact_ms);
		tb_u8(t, it->mv[i].health);
		tb_s16(t, it->mv[i].relay);
		tb_u64(t, it->mv[i].lag_entries);
		tb_u64(t, it->mv[i].lag_ms);
		break;
	case PROTO_T_TOKEN_LIST_REPLY:
		tb_s16(t, it->tk[i].name);
		tb_u8(t, it->tk[i].flags);
		tb_s16(t, it->tk[i].prefix);
		break;
	case PROTO_T_LIST_META_REPLY:
	case PROTO_T_TXN_REPLY:
		tb_s16(t, it->kv[i].key);
		tb_u64(t, it->kv[i].revision);
		tb_u64(t, it->kv[i].create_revision);
		tb_u64(t, it->kv[i].version);
		tb_s32(t, it->kv[i].value);
		break;
	case PROTO_T_EVENTS:
		tb_u8(t, it->ch[i].kind);
		tb_s16(t, it->ch[i].key);
		tb_u64(t, it->ch[i].revision);
		tb_s32(t, it->ch[i].value);
		break;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		tb_s16(t, it->ms[i].node_id);
		tb_s16(t, it->ms[i].address);
		tb_s16(t, it->ms[i].error);
		tb_u32(t, it->ms[i].pairs.count);
		tb_put(t, it->ms[i].pairs.raw, it->ms[i].pairs.rawlen);
		break;
	}
}

static void
craft_ops(struct tb *t, const struct proto_op *ops, size_t n)
{
	tb_u32(t, n);
	for (size_t i = 0; i < n; i++) {
		tb_u8(t, ops[i].kind);
		tb_s16(t, ops[i].key);
		tb_s32(t, ops[i].value);
	}
}

/* The frame of m as proto.h documents it, with no check of any limit. */
uint8_t *
craft_count(const struct proto_msg *m, const struct items *it, uint32_t count, size_t *len)
{
	struct tb t = { NULL, 0, 0 };
	uint8_t *f;

	if (has_id(m->type))
		tb_u64(&t, m->id);
	switch (m->type) {
	case PROTO_T_GET:
		tb_u8(&t, m->get.flags);
		tb_s16(&t, m->get.key);
		break;
	case PROTO_T_SET:
		tb_u64(&t, m->set.client_id);
		tb_u64(&t, m->set.seq);
		tb_s16(&t, m->set.key);
		tb_s32(&t, m->set.value);
		break;
	case PROTO_T_DEL:
		tb_u64(&t, m->del.client_id);
		tb_u64(&t, m->del.seq);
		tb_s16(&t, m->del.key);
		break;
	case PROTO_T_LIST:
		tb_u8(&t, m->list.flags);
		tb_s16(&t, m->list.prefix);
		break;
	case PROTO_T_STATUS:
	case PROTO_T_MEMBERS:
	case PROTO_T_MEMBERS_VIEW:
	case PROTO_T_SNAPSHOT:
	case PROTO_T_BACKUP:
		break;
	case PROTO_T_BACKUP_CHUNK:
		tb_u8(&t, m->backup_chunk.flags);
		tb_u64(&t, m->backup_chunk.index);
		tb_u64(&t, m->backup_chunk.records);
		tb_u64(&t, m->backup_chunk.total);
		tb_u64(&t, m->backup_chunk.offset);
		tb_s32(&t, m->backup_chunk.data);
		break;
	case PROTO_T_JOIN:
		tb_u8(&t, m->join.flags);
		tb_s16(&t, m->join.node_id);
		tb_s16(&t, m->join.address);
		tb_s16(&t, m->join.cluster);
		break;
	case PROTO_T_JOINREQ:
		tb_u8(&t, m->joinreq.flags);
		tb_s16(&t, m->joinreq.address);
		break;
	case PROTO_T_REMOVE:
	case PROTO_T_REMOVE_FORCE:
		tb_s16(&t, m->remove.node_id);
		break;
	case PROTO_T_TRANSFER:
		tb_s16(&t, m->transfer.node_id);
		break;
	case PROTO_T_WATCH:
		tb_s16(&t, m->watch.prefix);
		break;
	case PROTO_T_TOKEN_ADD:
		tb_u64(&t, m->token_add.client_id);
		tb_u64(&t, m->token_add.seq);
		tb_s16(&t, m->token_add.name);
		tb_s16(&t, m->token_add.prefix);
		tb_u8(&t, m->token_add.flags);
		tb_s16(&t, m->token_add.hash);
		break;
	case PROTO_T_TOKEN_REVOKE:
		tb_u64(&t, m->token_revoke.client_id);
		tb_u64(&t, m->token_revoke.seq);
		tb_s16(&t, m->token_revoke.name);
		break;
	case PROTO_T_TOKEN_LIST:
		break;
	case PROTO_T_SET_IF:
		tb_u64(&t, m->set_if.client_id);
		tb_u64(&t, m->set_if.seq);
		tb_u64(&t, m->set_if.if_rev);
		tb_s16(&t, m->set_if.key);
		tb_s32(&t, m->set_if.value);
		break;
	case PROTO_T_DEL_IF:
		tb_u64(&t, m->del_if.client_id);
		tb_u64(&t, m->del_if.seq);
		tb_u64(&t, m->del_if.if_rev);
		tb_s16(&t, m->del_if.key);
		break;
	case PROTO_T_TXN:
		tb_u64(&t, m->txn.client_id);
		tb_u64(&t, m->txn.seq);
		tb_u32(&t, it->ncmp);
		for (size_t i = 0; i < it->ncmp; i++) {
			tb_u8(&t, it->cmp[i].target);
			tb_u8(&t, it->cmp[i].result);
			tb_s16(&t, it->cmp[i].key);
			tb_u64(&t, it->cmp[i].revision);
			tb_s32(&t, it->cmp[i].value);
		}
		craft_ops(&t, it->then_ops, it->nthen);
		craft_ops(&t, it->else_ops, it->nelse);
		break;
	case PROTO_T_VALUE_META:
		tb_u64(&t, m->value_meta.revision);
		tb_u64(&t, m->value_meta.create_revision);
		tb_u64(&t, m->value_meta.version);
		tb_s32(&t, m->value_meta.value);
		break;
	case PROTO_T_FAILED:
		tb_u64(&t, m->failed.revision);
		break;
	case PROTO_T_LIST_META_REPLY:
		tb_u8(&t, m->list_meta_reply.flags);
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_TXN_REPLY:
		tb_u8(&t, m->txn_reply.flags);
		tb_u64(&t, m->txn_reply.revision);
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_POLL:
		tb_u8(&t, m->poll.flags);
		tb_u64(&t, m->poll.after);
		tb_u64(&t, m->poll.wait_ms);
		tb_s16(&t, m->poll.prefix);
		break;
	case PROTO_T_LIST_EX:
		tb_u8(&t, m->list_ex.flags);
		tb_u64(&t, m->list_ex.limit);
		tb_s16(&t, m->list_ex.prefix);
		break;
	case PROTO_T_DEL_PREFIX:
		tb_u64(&t, m->del_prefix.client_id);
		tb_u64(&t, m->del_prefix.seq);
		tb_u8(&t, m->del_prefix.flags);
		tb_s16(&t, m->del_prefix.prefix);
		break;
	case PROTO_T_COUNT_REPLY:
		tb_u64(&t, m->count_reply.count);
		break;
	case PROTO_T_DELETED:
		tb_u64(&t, m->deleted.revision);
		tb_u64(&t, m->deleted.deleted);
		break;
	case PROTO_T_EVENTS:
		tb_u8(&t, m->events.flags);
		tb_u64(&t, m->events.revision);
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_CLUSTER_STATUS:
		tb_u64(&t, m->cluster_status.wait_ms);
		break;
	case PROTO_T_MEMBERS_VIEW_REPLY:
		tb_u8(&t, m->members_view_reply.flags);
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_OK:
		tb_u64(&t, m->ok.revision);
		break;
	case PROTO_T_VALUE:
		tb_u64(&t, m->value_reply.revision);
		tb_s32(&t, m->value_reply.value);
		break;
	case PROTO_T_ERROR:
		tb_u16(&t, m->error.code);
		tb_s16(&t, m->error.message);
		break;
	case PROTO_T_LIST_REPLY:
		tb_u8(&t, m->list_reply.flags);
		/* fall through */
	case PROTO_T_STATUS_REPLY:
	case PROTO_T_MEMBERS_REPLY:
	case PROTO_T_TOKEN_LIST_REPLY:
		tb_u32(&t, count);
		for (size_t i = 0; i < it->n; i++)
			craft_item(&t, m->type, it, i);
		break;
	case PROTO_T_EVENT:
		tb_u8(&t, m->event.kind);
		tb_s16(&t, m->event.key);
		tb_u64(&t, m->event.revision);
		tb_s32(&t, m->event.value);
		break;
	case PROTO_T_HELLO:
		tb_u16(&t, m->hello.version);
		tb_s16(&t, m->hello.cluster);
		tb_s16(&t, m->hello.node_id);
		tb_s16(&t, m->hello.address);
		tb_s16(&t, m->hello.auth);
		break;
	case PROTO_T_REJECT:
		tb_s16(&t, m->reject.message);
		break;
	case PROTO_T_RAFT:
		tb_s32(&t, m->raft.payload);
		break;
	case PROTO_T_REMOVED:
		tb_s16(&t, m->removed.cluster);
		tb_u64(&t, m->removed.index);
		break;
	case PROTO_T_PING:
		break;
	default:
		ck_abort_msg("craft: type 0x%02x", m->type);
	}
	f = frame_around(m->type, t.p, t.len, len);
	free(t.p);
	return f;
}

uint8_t *
craft(const struct proto_msg *m, const struct items *it, size_t *len)
{
	return craft_count(m, it, (uint32_t)it->n, len);
}

/* --------------------------------------------------- codec helpers */

uint8_t *
dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n);

	ck_assert(n == 0 || d != NULL);
	if (n > 0)
		memcpy(d, p, n);
	return d;
}

/* Build a list reply from its items, as the daemon does. */
int
build(struct proto_buf *b, const struct proto_msg *m, const struct items *it)
{
	struct proto_reply rb;
	int rc;

	if ((rc = proto_reply_begin(&rb, b, m->type, m->id)) != 0)
		return rc;
	for (size_t i = 0; i < it->n; i++) {
		switch (m->type) {
		case PROTO_T_LIST_REPLY:
			rc = proto_reply_add_entry(&rb, it->e[i].key, it->e[i].revision,
						   it->e[i].value);
			break;
		case PROTO_T_STATUS_REPLY:
			rc = proto_reply_add_pair(&rb, it->p[i].name, it->p[i].value);
			break;
		case PROTO_T_TOKEN_LIST_REPLY:
			rc = proto_reply_add_token(&rb, &it->tk[i]);
			break;
		case PROTO_T_LIST_META_REPLY:
		case PROTO_T_TXN_REPLY:
			rc = proto_reply_add_kv(&rb, &it->kv[i]);
			break;
		case PROTO_T_EVENTS:
			rc = proto_reply_add_change(&rb, &it->ch[i]);
			break;
		case PROTO_T_CLUSTER_STATUS_REPLY:
			rc = proto_reply_add_member_status(&rb, &it->ms[i]);
			break;
		case PROTO_T_MEMBERS_VIEW_REPLY:
			rc = proto_reply_add_member_view(&rb, &it->mv[i]);
			break;
		default:
			rc = proto_reply_add_member(&rb, &it->mb[i]);
			break;
		}
		if (rc != 0) {
			proto_reply_abort(&rb);
			return rc;
		}
	}
	if (m->type == PROTO_T_TXN_REPLY)
		return proto_reply_end_txn(&rb, m->txn_reply.flags, m->txn_reply.revision);
	if (m->type == PROTO_T_EVENTS)
		return proto_reply_end_txn(&rb, m->events.flags, m->events.revision);
	return proto_reply_end(&rb, m->type == PROTO_T_LIST_REPLY	? m->list_reply.flags
				    : m->type == PROTO_T_LIST_META_REPLY ? m->list_meta_reply.flags
				    : m->type == PROTO_T_MEMBERS_VIEW_REPLY ? m->members_view_reply.flags
									   : 0);
}

/* Encode (or build) a sample; return its frame in an exact-size allocation. */
uint8_t *
encode_sample(const struct sample *s, size_t *len)
{
	struct proto_buf b;
	char err[256];
	size_t flen = 0;
	uint8_t *f;
	int rc;

	proto_buf_init(&b);
	if (is_list(s->m.type))
		rc = build(&b, &s->m, &s->it);
	else
		rc = proto_encode(&b, &s->m, err, sizeof(err));
	ck_assert_msg(rc == 0, "encode %s: %d %s", proto_type_name(s->m.type), rc,
		      is_list(s->m.type) ? "" : err);
	ck_assert_int_eq(proto_frame_check(b.data, b.len, &flen), 0);
	ck_assert_uint_eq(flen, b.len);
	f = dup_exact(b.data, b.len);
	*len = b.len;
	proto_buf_free(&b);
	return f;
}

void
decode_ok(const uint8_t *f, size_t len, struct proto_msg *out)
{
	char err[256];
	int rc = proto_decode(f, len, out, err, sizeof(err));

	ck_assert_msg(rc == 0, "decode: %d: %s", rc, err);
	ck_assert_str_eq(err, "");
}

int
decode_err(const uint8_t *f, size_t len, char *err, size_t errlen)
{
	struct proto_msg m;
	int rc = proto_decode(f, len, &m, err, errlen);

	ck_assert_msg(rc != 0, "decode succeeded, expected an error");
	ck_assert_msg(err[0] != '\0', "decode failed with %d but no error text", rc);
	return rc;
}

static void
assert_str_eq(struct proto_str a, struct proto_str b, const char *what)
{
	ck_assert_msg(a.len == b.len, "%s: %zu bytes, expected %zu", what, a.len, b.len);
	ck_assert_msg(a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0, "%s: bytes differ", what);
}

/* A member's status item, its pairs walked one by one against the raw ones. */
static void
assert_pairs_eq(const struct proto_member_status *a, const struct proto_member_status *b)
{
	struct proto_iter ia, ib;
	union proto_item x, y;
	uint32_t n = 0;
	int ra, rb;

	assert_str_eq(a->node_id, b->node_id, "member node_id");
	assert_str_eq(a->address, b->address, "member address");
	assert_str_eq(a->error, b->error, "member error");
	ck_assert_uint_eq(a->pairs.count, b->pairs.count);
	ck_assert_uint_eq(a->pairs.rawlen, b->pairs.rawlen);
	ck_assert_int_eq(proto_iter_pairs(&ia, a), 0);
	ck_assert_int_eq(proto_iter_pairs(&ib, b), 0);
	while ((ra = proto_iter_next(&ia, &x)) == 1) {
		rb = proto_iter_next(&ib, &y);
		ck_assert_int_eq(rb, 1);
		assert_str_eq(x.pair.name, y.pair.name, "pair name");
		assert_str_eq(x.pair.value, y.pair.value, "pair value");
		n++;
	}
	ck_assert_int_eq(ra, 0);
	ck_assert_int_eq(proto_iter_next(&ib, &y), 0);
	ck_assert_uint_eq(n, b->pairs.count);
}

static void
assert_item_eq(uint8_t type, const union proto_item *a, const struct items *it, size_t i)
{
	switch (type) {
	case PROTO_T_LIST_REPLY:
		assert_str_eq(a->entry.key, it->e[i].key, "entry key");
		ck_assert_uint_eq(a->entry.revision, it->e[i].revision);
		assert_str_eq(a->entry.value, it->e[i].value, "entry value");
		break;
	case PROTO_T_STATUS_REPLY:
		assert_str_eq(a->pair.name, it->p[i].name, "pair name");
		assert_str_eq(a->pair.value, it->p[i].value, "pair value");
		break;
	case PROTO_T_MEMBERS_REPLY:
		assert_str_eq(a->member.node_id, it->mb[i].node_id, "member node_id");
		assert_str_eq(a->member.address, it->mb[i].address, "member address");
		ck_assert_uint_eq(a->member.flags, it->mb[i].flags);
		ck_assert_uint_eq(a->member.match_index, it->mb[i].match_index);
		ck_assert_uint_eq(a->member.last_contact_ms, it->mb[i].last_contact_ms);
		ck_assert_uint_eq(a->member.health, it->mb[i].health);
		break;
	case PROTO_T_MEMBERS_VIEW_REPLY:
		assert_str_eq(a->member_view.node_id, it->mv[i].node_id, "member node_id");
		assert_str_eq(a->member_view.address, it->mv[i].address, "member address");
		ck_assert_uint_eq(a->member_view.flags, it->mv[i].flags);
		ck_assert_uint_eq(a->member_view.match_index, it->mv[i].match_index);
		ck_assert_uint_eq(a->member_view.last_contact_ms, it->mv[i].last_contact_ms);
		ck_assert_uint_eq(a->member_view.health, it->mv[i].health);
		assert_str_eq(a->member_view.relay, it->mv[i].relay, "member relay");
		ck_assert_uint_eq(a->member_view.lag_entries, it->mv[i].lag_entries);
		ck_assert_uint_eq(a->member_view.lag_ms, it->mv[i].lag_ms);
		break;
	case PROTO_T_TOKEN_LIST_REPLY:
		assert_str_eq(a->token.name, it->tk[i].name, "token name");
		ck_assert_uint_eq(a->token.flags, it->tk[i].flags);
		assert_str_eq(a->token.prefix, it->tk[i].prefix, "token prefix");
		break;
	case PROTO_T_LIST_META_REPLY:
	case PROTO_T_TXN_REPLY:
		assert_str_eq(a->kv.key, it->kv[i].key, "kv key");
		ck_assert_uint_eq(a->kv.revision, it->kv[i].revision);
		ck_assert_uint_eq(a->kv.create_revision, it->kv[i].create_revision);
		ck_assert_uint_eq(a->kv.version, it->kv[i].version);
		assert_str_eq(a->kv.value, it->kv[i].value, "kv value");
		break;
	case PROTO_T_EVENTS:
		ck_assert_uint_eq(a->change.kind, it->ch[i].kind);
		assert_str_eq(a->change.key, it->ch[i].key, "change key");
		ck_assert_uint_eq(a->change.revision, it->ch[i].revision);
		assert_str_eq(a->change.value, it->ch[i].value, "change value");
		break;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		assert_pairs_eq(&a->member_status, &it->ms[i]);
		break;
	}
}

/* A TXN's compares and ops against the arrays they were built from. */
static void
assert_txn_eq(const struct proto_msg *d, const struct items *it)
{
	const struct proto_op *ops[2] = { it->then_ops, it->else_ops };
	size_t nops[2] = { it->nthen, it->nelse };
	struct proto_iter iter;
	union proto_item item;
	size_t n = 0;

	ck_assert_uint_eq(d->txn.compares.count, it->ncmp);
	ck_assert_int_eq(proto_iter_txn(&iter, d, PROTO_TXN_COMPARES), 0);
	while (proto_iter_next(&iter, &item) == 1) {
		ck_assert_uint_lt(n, it->ncmp);
		ck_assert_uint_eq(item.compare.target, it->cmp[n].target);
		ck_assert_uint_eq(item.compare.result, it->cmp[n].result);
		assert_str_eq(item.compare.key, it->cmp[n].key, "compare key");
		ck_assert_uint_eq(item.compare.revision, it->cmp[n].revision);
		assert_str_eq(item.compare.value, it->cmp[n].value, "compare value");
		n++;
	}
	ck_assert_uint_eq(n, it->ncmp);
	for (int l = 0; l < 2; l++) {
		ck_assert_int_eq(proto_iter_txn(&iter, d, l ? PROTO_TXN_ELSE : PROTO_TXN_THEN), 0);
		for (n = 0; proto_iter_next(&iter, &item) == 1; n++) {
			ck_assert_uint_lt(n, nops[l]);
			ck_assert_uint_eq(item.op.kind, ops[l][n].kind);
			assert_str_eq(item.op.key, ops[l][n].key, "op key");
			assert_str_eq(item.op.value, ops[l][n].value, "op value");
		}
		ck_assert_uint_eq(n, nops[l]);
	}
}

void
assert_items_eq(const struct proto_msg *m, const struct items *it)
{
	struct proto_iter iter;
	union proto_item item;
	size_t n = 0;
	int rc;

	ck_assert_int_eq(proto_iter_init(&iter, m), 0);
	while ((rc = proto_iter_next(&iter, &item)) == 1) {
		ck_assert_uint_lt(n, it->n);
		assert_item_eq(m->type, &item, it, n);
		n++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(n, it->n);
	/* And it stays at the end. */
	ck_assert_int_eq(proto_iter_next(&iter, &item), 0);
}

/* Decoded message d against what was encoded: every field of its type. */
void
assert_msg_eq(const struct proto_msg *d, const struct sample *s)
{
	const struct proto_msg *m = &s->m;

	ck_assert_uint_eq(d->type, m->type);
	ck_assert_uint_eq(d->id, has_id(m->type) ? m->id : 0);
	switch (m->type) {
	case PROTO_T_GET:
		ck_assert_uint_eq(d->get.flags, m->get.flags);
		assert_str_eq(d->get.key, m->get.key, "key");
		break;
	case PROTO_T_SET:
		ck_assert_uint_eq(d->set.client_id, m->set.client_id);
		ck_assert_uint_eq(d->set.seq, m->set.seq);
		assert_str_eq(d->set.key, m->set.key, "key");
		assert_str_eq(d->set.value, m->set.value, "value");
		break;
	case PROTO_T_DEL:
		ck_assert_uint_eq(d->del.client_id, m->del.client_id);
		ck_assert_uint_eq(d->del.seq, m->del.seq);
		assert_str_eq(d->del.key, m->del.key, "key");
		break;
	case PROTO_T_LIST:
		ck_assert_uint_eq(d->list.flags, m->list.flags);
		assert_str_eq(d->list.prefix, m->list.prefix, "prefix");
		break;
	case PROTO_T_STATUS:
	case PROTO_T_MEMBERS:
	case PROTO_T_MEMBERS_VIEW:
	case PROTO_T_BACKUP:
	case PROTO_T_SNAPSHOT:
		break;
	case PROTO_T_JOIN:
		ck_assert_uint_eq(d->join.flags, m->join.flags);
		assert_str_eq(d->join.node_id, m->join.node_id, "node_id");
		assert_str_eq(d->join.address, m->join.address, "address");
		assert_str_eq(d->join.cluster, m->join.cluster, "cluster");
		break;
	case PROTO_T_JOINREQ:
		ck_assert_uint_eq(d->joinreq.flags, m->joinreq.flags);
		assert_str_eq(d->joinreq.address, m->joinreq.address, "address");
		break;
	case PROTO_T_REMOVE:
	case PROTO_T_REMOVE_FORCE:
		assert_str_eq(d->remove.node_id, m->remove.node_id, "node_id");
		break;
	case PROTO_T_TRANSFER:
		assert_str_eq(d->transfer.node_id, m->transfer.node_id, "node_id");
		break;
	case PROTO_T_WATCH:
		assert_str_eq(d->watch.prefix, m->watch.prefix, "prefix");
		break;
	case PROTO_T_TOKEN_ADD:
		ck_assert_uint_eq(d->token_add.client_id, m->token_add.client_id);
		ck_assert_uint_eq(d->token_add.seq, m->token_add.seq);
		assert_str_eq(d->token_add.name, m->token_add.name, "name");
		assert_str_eq(d->token_add.prefix, m->token_add.prefix, "prefix");
		ck_assert_uint_eq(d->token_add.flags, m->token_add.flags);
		assert_str_eq(d->token_add.hash, m->token_add.hash, "hash");
		break;
	case PROTO_T_TOKEN_REVOKE:
		ck_assert_uint_eq(d->token_revoke.client_id, m->token_revoke.client_id);
		ck_assert_uint_eq(d->token_revoke.seq, m->token_revoke.seq);
		assert_str_eq(d->token_revoke.name, m->token_revoke.name, "name");
		break;
	case PROTO_T_TOKEN_LIST:
		break;
	case PROTO_T_TOKEN_LIST_REPLY:
		ck_assert_uint_eq(d->token_list_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_SET_IF:
		ck_assert_uint_eq(d->set_if.client_id, m->set_if.client_id);
		ck_assert_uint_eq(d->set_if.seq, m->set_if.seq);
		ck_assert_uint_eq(d->set_if.if_rev, m->set_if.if_rev);
		assert_str_eq(d->set_if.key, m->set_if.key, "key");
		assert_str_eq(d->set_if.value, m->set_if.value, "value");
		break;
	case PROTO_T_DEL_IF:
		ck_assert_uint_eq(d->del_if.client_id, m->del_if.client_id);
		ck_assert_uint_eq(d->del_if.seq, m->del_if.seq);
		ck_assert_uint_eq(d->del_if.if_rev, m->del_if.if_rev);
		assert_str_eq(d->del_if.key, m->del_if.key, "key");
		break;
	case PROTO_T_TXN:
		ck_assert_uint_eq(d->txn.client_id, m->txn.client_id);
		ck_assert_uint_eq(d->txn.seq, m->txn.seq);
		assert_txn_eq(d, &s->it);
		break;
	case PROTO_T_VALUE_META:
		ck_assert_uint_eq(d->value_meta.revision, m->value_meta.revision);
		ck_assert_uint_eq(d->value_meta.create_revision, m->value_meta.create_revision);
		ck_assert_uint_eq(d->value_meta.version, m->value_meta.version);
		assert_str_eq(d->value_meta.value, m->value_meta.value, "value");
		break;
	case PROTO_T_LIST_META_REPLY:
		ck_assert_uint_eq(d->list_meta_reply.flags, m->list_meta_reply.flags);
		ck_assert_uint_eq(d->list_meta_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_FAILED:
		ck_assert_uint_eq(d->failed.revision, m->failed.revision);
		break;
	case PROTO_T_BACKUP_CHUNK:
		ck_assert_uint_eq(d->backup_chunk.flags, m->backup_chunk.flags);
		ck_assert_uint_eq(d->backup_chunk.index, m->backup_chunk.index);
		ck_assert_uint_eq(d->backup_chunk.records, m->backup_chunk.records);
		ck_assert_uint_eq(d->backup_chunk.total, m->backup_chunk.total);
		ck_assert_uint_eq(d->backup_chunk.offset, m->backup_chunk.offset);
		assert_str_eq(d->backup_chunk.data, m->backup_chunk.data, "data");
		break;
	case PROTO_T_TXN_REPLY:
		ck_assert_uint_eq(d->txn_reply.flags, m->txn_reply.flags);
		ck_assert_uint_eq(d->txn_reply.revision, m->txn_reply.revision);
		ck_assert_uint_eq(d->txn_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_POLL:
		ck_assert_uint_eq(d->poll.flags, m->poll.flags);
		ck_assert_uint_eq(d->poll.after, m->poll.after);
		ck_assert_uint_eq(d->poll.wait_ms, m->poll.wait_ms);
		assert_str_eq(d->poll.prefix, m->poll.prefix, "prefix");
		break;
	case PROTO_T_LIST_EX:
		ck_assert_uint_eq(d->list_ex.flags, m->list_ex.flags);
		ck_assert_uint_eq(d->list_ex.limit, m->list_ex.limit);
		assert_str_eq(d->list_ex.prefix, m->list_ex.prefix, "prefix");
		break;
	case PROTO_T_DEL_PREFIX:
		ck_assert_uint_eq(d->del_prefix.client_id, m->del_prefix.client_id);
		ck_assert_uint_eq(d->del_prefix.seq, m->del_prefix.seq);
		ck_assert_uint_eq(d->del_prefix.flags, m->del_prefix.flags);
		assert_str_eq(d->del_prefix.prefix, m->del_prefix.prefix, "prefix");
		break;
	case PROTO_T_COUNT_REPLY:
		ck_assert_uint_eq(d->count_reply.count, m->count_reply.count);
		break;
	case PROTO_T_DELETED:
		ck_assert_uint_eq(d->deleted.revision, m->deleted.revision);
		ck_assert_uint_eq(d->deleted.deleted, m->deleted.deleted);
		break;
	case PROTO_T_EVENTS:
		ck_assert_uint_eq(d->events.flags, m->events.flags);
		ck_assert_uint_eq(d->events.revision, m->events.revision);
		ck_assert_uint_eq(d->events.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_CLUSTER_STATUS:
		ck_assert_uint_eq(d->cluster_status.wait_ms, m->cluster_status.wait_ms);
		break;
	case PROTO_T_MEMBERS_VIEW_REPLY:
		ck_assert_uint_eq(d->members_view_reply.flags, m->members_view_reply.flags);
		ck_assert_uint_eq(d->members_view_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		ck_assert_uint_eq(d->cluster_status_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_OK:
		ck_assert_uint_eq(d->ok.revision, m->ok.revision);
		break;
	case PROTO_T_VALUE:
		ck_assert_uint_eq(d->value_reply.revision, m->value_reply.revision);
		assert_str_eq(d->value_reply.value, m->value_reply.value, "value");
		break;
	case PROTO_T_ERROR:
		ck_assert_uint_eq(d->error.code, m->error.code);
		assert_str_eq(d->error.message, m->error.message, "message");
		break;
	case PROTO_T_LIST_REPLY:
		ck_assert_uint_eq(d->list_reply.flags, m->list_reply.flags);
		ck_assert_uint_eq(d->list_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_STATUS_REPLY:
		ck_assert_uint_eq(d->status_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_MEMBERS_REPLY:
		ck_assert_uint_eq(d->members_reply.items.count, s->it.n);
		assert_items_eq(d, &s->it);
		break;
	case PROTO_T_EVENT:
		ck_assert_uint_eq(d->event.kind, m->event.kind);
		assert_str_eq(d->event.key, m->event.key, "key");
		ck_assert_uint_eq(d->event.revision, m->event.revision);
		assert_str_eq(d->event.value, m->event.value, "value");
		break;
	case PROTO_T_HELLO:
		ck_assert_uint_eq(d->hello.version, m->hello.version);
		assert_str_eq(d->hello.cluster, m->hello.cluster, "cluster");
		assert_str_eq(d->hello.node_id, m->hello.node_id, "node_id");
		assert_str_eq(d->hello.address, m->hello.address, "address");
		assert_str_eq(d->hello.auth, m->hello.auth, "auth");
		break;
	case PROTO_T_REJECT:
		assert_str_eq(d->reject.message, m->reject.message, "message");
		break;
	case PROTO_T_RAFT:
		assert_str_eq(d->raft.payload, m->raft.payload, "payload");
		break;
	case PROTO_T_REMOVED:
		assert_str_eq(d->removed.cluster, m->removed.cluster, "cluster");
		ck_assert_uint_eq(d->removed.index, m->removed.index);
		break;
	case PROTO_T_PING:
		break;
	default:
		ck_abort_msg("type 0x%02x has no comparison", m->type);
	}
}
