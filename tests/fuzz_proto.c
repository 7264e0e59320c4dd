/*
 * fuzz_proto.c — libFuzzer target for the wire codec (daemon/proto.c).
 *
 * Each input is tried twice: as it is (which mostly exercises the header
 * checks), and with its header repaired — length, version, flags and crc set
 * right, type kept — so that mutations reach the field decoders.  Whatever
 * decodes must iterate cleanly, re-encode to exactly the same bytes (the
 * encoding is canonical), rebuild the same way through the reply builder, and
 * decode again to an equal message.  Any disagreement aborts.
 *
 * Not a unit test: tests/check_proto*.c hold those, including a regression
 * test for anything this target finds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
require(bool ok, const char *what, const char *err)
{
	if (!ok) {
		fprintf(stderr, "fuzz_proto: %s%s%s\n", what, err ? ": " : "", err ? err : "");
		abort();
	}
}

static bool
str_eq(struct proto_str a, struct proto_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Two members' status pairs, pair by pair. */
static bool
pairs_eq(const struct proto_member_status *a, const struct proto_member_status *b)
{
	struct proto_iter ia, ib;
	union proto_item x, y;
	int ra, rb;

	if (a->pairs.count != b->pairs.count || proto_iter_pairs(&ia, a) != 0 ||
	    proto_iter_pairs(&ib, b) != 0)
		return false;
	for (;;) {
		ra = proto_iter_next(&ia, &x);
		rb = proto_iter_next(&ib, &y);
		if (ra != rb || ra < 0)
			return false;
		if (ra == 0)
			return true;
		if (!str_eq(x.pair.name, y.pair.name) || !str_eq(x.pair.value, y.pair.value))
			return false;
	}
}

static bool
item_eq(uint8_t type, const union proto_item *a, const union proto_item *b)
{
	switch (type) {
	case PROTO_T_LIST_REPLY:
		return str_eq(a->entry.key, b->entry.key) &&
		       a->entry.revision == b->entry.revision &&
		       str_eq(a->entry.value, b->entry.value);
	case PROTO_T_STATUS_REPLY:
		return str_eq(a->pair.name, b->pair.name) && str_eq(a->pair.value, b->pair.value);
	case PROTO_T_MEMBERS_REPLY:
		return str_eq(a->member.node_id, b->member.node_id) &&
		       str_eq(a->member.address, b->member.address) &&
		       a->member.flags == b->member.flags &&
		       a->member.match_index == b->member.match_index &&
		       a->member.last_contact_ms == b->member.last_contact_ms &&
		       a->member.health == b->member.health;
	case PROTO_T_TOKEN_LIST_REPLY:
		return str_eq(a->token.name, b->token.name) && a->token.flags == b->token.flags &&
		       str_eq(a->token.prefix, b->token.prefix);
	case PROTO_T_LIST_META_REPLY:
	case PROTO_T_TXN_REPLY:
		return str_eq(a->kv.key, b->kv.key) && a->kv.revision == b->kv.revision &&
		       a->kv.create_revision == b->kv.create_revision &&
		       a->kv.version == b->kv.version && str_eq(a->kv.value, b->kv.value);
	case PROTO_T_EVENTS:
		return a->change.kind == b->change.kind && str_eq(a->change.key, b->change.key) &&
		       a->change.revision == b->change.revision &&
		       str_eq(a->change.value, b->change.value);
	case PROTO_T_MEMBERS_VIEW_REPLY:
		return str_eq(a->member_view.node_id, b->member_view.node_id) &&
		       str_eq(a->member_view.address, b->member_view.address) &&
		       a->member_view.flags == b->member_view.flags &&
		       a->member_view.match_index == b->member_view.match_index &&
		       a->member_view.last_contact_ms == b->member_view.last_contact_ms &&
		       a->member_view.health == b->member_view.health &&
		       str_eq(a->member_view.relay, b->member_view.relay) &&
		       a->member_view.lag_entries == b->member_view.lag_entries &&
		       a->member_view.lag_ms == b->member_view.lag_ms;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		return str_eq(a->member_status.node_id, b->member_status.node_id) &&
		       str_eq(a->member_status.address, b->member_status.address) &&
		       str_eq(a->member_status.error, b->member_status.error) &&
		       pairs_eq(&a->member_status, &b->member_status);
	}
	return false;
}

/* One list of a TXN request: compares (which 0) or ops, item by item. */
static bool
txn_list_eq(const struct proto_msg *a, const struct proto_msg *b, int which)
{
	struct proto_iter ia, ib;
	union proto_item x, y;
	int ra, rb;

	if (proto_iter_txn(&ia, a, which) != 0 || proto_iter_txn(&ib, b, which) != 0)
		return false;
	for (;;) {
		ra = proto_iter_next(&ia, &x);
		rb = proto_iter_next(&ib, &y);
		if (ra != rb || ra < 0)
			return false;
		if (ra == 0)
			return true;
		if (which == PROTO_TXN_COMPARES) {
			if (x.compare.target != y.compare.target ||
			    x.compare.result != y.compare.result ||
			    !str_eq(x.compare.key, y.compare.key) ||
			    x.compare.revision != y.compare.revision ||
			    !str_eq(x.compare.value, y.compare.value))
				return false;
		} else if (x.op.kind != y.op.kind || !str_eq(x.op.key, y.op.key) ||
			   !str_eq(x.op.value, y.op.value)) {
			return false;
		}
	}
}

static bool
items_eq(const struct proto_msg *a, const struct proto_msg *b)
{
	struct proto_iter ia, ib;
	union proto_item x, y;
	int ra, rb;

	if (proto_iter_init(&ia, a) != 0 || proto_iter_init(&ib, b) != 0)
		return false;
	for (;;) {
		ra = proto_iter_next(&ia, &x);
		rb = proto_iter_next(&ib, &y);
		if (ra != rb || ra < 0)
			return false;
		if (ra == 0)
			return true;
		if (!item_eq(a->type, &x, &y))
			return false;
	}
}

/* Field by field, written from proto.h rather than from the codec's tables. */
static bool
msg_eq(const struct proto_msg *a, const struct proto_msg *b)
{
	if (a->type != b->type || a->id != b->id)
		return false;
	switch (a->type) {
	case PROTO_T_GET:
		return a->get.flags == b->get.flags && str_eq(a->get.key, b->get.key);
	case PROTO_T_SET:
		return a->set.client_id == b->set.client_id && a->set.seq == b->set.seq &&
		       str_eq(a->set.key, b->set.key) && str_eq(a->set.value, b->set.value);
	case PROTO_T_DEL:
		return a->del.client_id == b->del.client_id && a->del.seq == b->del.seq &&
		       str_eq(a->del.key, b->del.key);
	case PROTO_T_LIST:
		return a->list.flags == b->list.flags && str_eq(a->list.prefix, b->list.prefix);
	case PROTO_T_STATUS:
	case PROTO_T_MEMBERS:
	case PROTO_T_MEMBERS_VIEW:
	case PROTO_T_SNAPSHOT:
	case PROTO_T_TOKEN_LIST:
	case PROTO_T_BACKUP:
		return true;
	case PROTO_T_BACKUP_CHUNK:
		return a->backup_chunk.flags == b->backup_chunk.flags &&
		       a->backup_chunk.index == b->backup_chunk.index &&
		       a->backup_chunk.records == b->backup_chunk.records &&
		       a->backup_chunk.total == b->backup_chunk.total &&
		       a->backup_chunk.offset == b->backup_chunk.offset &&
		       str_eq(a->backup_chunk.data, b->backup_chunk.data);
	case PROTO_T_TOKEN_ADD:
		return a->token_add.client_id == b->token_add.client_id &&
		       a->token_add.seq == b->token_add.seq &&
		       str_eq(a->token_add.name, b->token_add.name) &&
		       str_eq(a->token_add.prefix, b->token_add.prefix) &&
		       a->token_add.flags == b->token_add.flags &&
		       str_eq(a->token_add.hash, b->token_add.hash);
	case PROTO_T_TOKEN_REVOKE:
		return a->token_revoke.client_id == b->token_revoke.client_id &&
		       a->token_revoke.seq == b->token_revoke.seq &&
		       str_eq(a->token_revoke.name, b->token_revoke.name);
	case PROTO_T_SET_IF:
		return a->set_if.client_id == b->set_if.client_id && a->set_if.seq == b->set_if.seq &&
		       a->set_if.if_rev == b->set_if.if_rev && str_eq(a->set_if.key, b->set_if.key) &&
		       str_eq(a->set_if.value, b->set_if.value);
	case PROTO_T_DEL_IF:
		return a->del_if.client_id == b->del_if.client_id && a->del_if.seq == b->del_if.seq &&
		       a->del_if.if_rev == b->del_if.if_rev && str_eq(a->del_if.key, b->del_if.key);
	case PROTO_T_TXN:
		return a->txn.client_id == b->txn.client_id && a->txn.seq == b->txn.seq &&
		       a->txn.compares.count == b->txn.compares.count &&
		       a->txn.then_ops.count == b->txn.then_ops.count &&
		       a->txn.else_ops.count == b->txn.else_ops.count &&
		       txn_list_eq(a, b, PROTO_TXN_COMPARES) && txn_list_eq(a, b, PROTO_TXN_THEN) &&
		       txn_list_eq(a, b, PROTO_TXN_ELSE);
	case PROTO_T_VALUE_META:
		return a->value_meta.revision == b->value_meta.revision &&
		       a->value_meta.create_revision == b->value_meta.create_revision &&
		       a->value_meta.version == b->value_meta.version &&
		       str_eq(a->value_meta.value, b->value_meta.value);
	case PROTO_T_LIST_META_REPLY:
		return a->list_meta_reply.flags == b->list_meta_reply.flags &&
		       a->list_meta_reply.items.count == b->list_meta_reply.items.count &&
		       items_eq(a, b);
	case PROTO_T_FAILED:
		return a->failed.revision == b->failed.revision;
	case PROTO_T_TXN_REPLY:
		return a->txn_reply.flags == b->txn_reply.flags &&
		       a->txn_reply.revision == b->txn_reply.revision &&
		       a->txn_reply.items.count == b->txn_reply.items.count && items_eq(a, b);
	case PROTO_T_POLL:
		return a->poll.flags == b->poll.flags && a->poll.after == b->poll.after &&
		       a->poll.wait_ms == b->poll.wait_ms && str_eq(a->poll.prefix, b->poll.prefix);
	case PROTO_T_LIST_EX:
		return a->list_ex.flags == b->list_ex.flags && a->list_ex.limit == b->list_ex.limit &&
		       str_eq(a->list_ex.prefix, b->list_ex.prefix);
	case PROTO_T_DEL_PREFIX:
		return a->del_prefix.client_id == b->del_prefix.client_id &&
		       a->del_prefix.seq == b->del_prefix.seq &&
		       a->del_prefix.flags == b->del_prefix.flags &&
		       str_eq(a->del_prefix.prefix, b->del_prefix.prefix);
	case PROTO_T_COUNT_REPLY:
		return a->count_reply.count == b->count_reply.count;
	case PROTO_T_DELETED:
		return a->deleted.revision == b->deleted.revision &&
		       a->deleted.deleted == b->deleted.deleted;
	case PROTO_T_EVENTS:
		return a->events.flags == b->events.flags &&
		       a->events.revision == b->events.revision &&
		       a->events.items.count == b->events.items.count && items_eq(a, b);
	case PROTO_T_CLUSTER_STATUS:
		return a->cluster_status.wait_ms == b->cluster_status.wait_ms;
	case PROTO_T_CLUSTER_STATUS_REPLY:
		return a->cluster_status_reply.items.count == b->cluster_status_reply.items.count &&
		       items_eq(a, b);
	case PROTO_T_MEMBERS_VIEW_REPLY:
		return a->members_view_reply.flags == b->members_view_reply.flags &&
		       a->members_view_reply.items.count == b->members_view_reply.items.count &&
		       items_eq(a, b);
	case PROTO_T_JOIN:
		return a->join.flags == b->join.flags && str_eq(a->join.node_id, b->join.node_id) &&
		       str_eq(a->join.address, b->join.address) &&
		       str_eq(a->join.cluster, b->join.cluster);
	case PROTO_T_JOINREQ:
		return a->joinreq.flags == b->joinreq.flags &&
		       str_eq(a->joinreq.address, b->joinreq.address);
	case PROTO_T_REMOVE:
	case PROTO_T_REMOVE_FORCE:
		return str_eq(a->remove.node_id, b->remove.node_id);
	case PROTO_T_TRANSFER:
		return str_eq(a->transfer.node_id, b->transfer.node_id);
	case PROTO_T_WATCH:
		return str_eq(a->watch.prefix, b->watch.prefix);
	case PROTO_T_OK:
		return a->ok.revision == b->ok.revision;
	case PROTO_T_VALUE:
		return a->value_reply.revision == b->value_reply.revision &&
		       str_eq(a->value_reply.value, b->value_reply.value);
	case PROTO_T_ERROR:
		return a->error.code == b->error.code && str_eq(a->error.message, b->error.message);
	case PROTO_T_LIST_REPLY:
		return a->list_reply.flags == b->list_reply.flags &&
		       a->list_reply.items.count == b->list_reply.items.count && items_eq(a, b);
	case PROTO_T_STATUS_REPLY:
		return a->status_reply.items.count == b->status_reply.items.count && items_eq(a, b);
	case PROTO_T_MEMBERS_REPLY:
		return a->members_reply.items.count == b->members_reply.items.count &&
		       items_eq(a, b);
	case PROTO_T_TOKEN_LIST_REPLY:
		return a->token_list_reply.items.count == b->token_list_reply.items.count &&
		       items_eq(a, b);
	case PROTO_T_EVENT:
		return a->event.kind == b->event.kind && str_eq(a->event.key, b->event.key) &&
		       a->event.revision == b->event.revision &&
		       str_eq(a->event.value, b->event.value);
	case PROTO_T_HELLO:
		return a->hello.version == b->hello.version &&
		       str_eq(a->hello.cluster, b->hello.cluster) &&
		       str_eq(a->hello.node_id, b->hello.node_id) &&
		       str_eq(a->hello.address, b->hello.address) &&
		       str_eq(a->hello.auth, b->hello.auth);
	case PROTO_T_REJECT:
		return str_eq(a->reject.message, b->reject.message);
	case PROTO_T_RAFT:
		return str_eq(a->raft.payload, b->raft.payload);
	case PROTO_T_REMOVED:
		return str_eq(a->removed.cluster, b->removed.cluster) &&
		       a->removed.index == b->removed.index;
	case PROTO_T_PING:
		return true;
	}
	return false;
}

/* Rebuild a decoded list reply item by item, as the daemon builds one. */
static void
rebuild(const struct proto_msg *m, const uint8_t *frame, size_t len)
{
	struct proto_reply rb;
	struct proto_iter it;
	union proto_item item;
	struct proto_buf b;
	int rc;

	proto_buf_init(&b);
	require(proto_reply_begin(&rb, &b, m->type, m->id) == 0, "reply_begin", NULL);
	require(proto_iter_init(&it, m) == 0, "iter_init", NULL);
	while ((rc = proto_iter_next(&it, &item)) == 1) {
		switch (m->type) {
		case PROTO_T_LIST_REPLY:
			rc = proto_reply_add_entry(&rb, item.entry.key, item.entry.revision,
						   item.entry.value);
			break;
		case PROTO_T_STATUS_REPLY:
			rc = proto_reply_add_pair(&rb, item.pair.name, item.pair.value);
			break;
		case PROTO_T_TOKEN_LIST_REPLY:
			rc = proto_reply_add_token(&rb, &item.token);
			break;
		case PROTO_T_LIST_META_REPLY:
		case PROTO_T_TXN_REPLY:
			rc = proto_reply_add_kv(&rb, &item.kv);
			break;
		case PROTO_T_EVENTS:
			rc = proto_reply_add_change(&rb, &item.change);
			break;
		case PROTO_T_CLUSTER_STATUS_REPLY:
			rc = proto_reply_add_member_status(&rb, &item.member_status);
			break;
		case PROTO_T_MEMBERS_VIEW_REPLY:
			rc = proto_reply_add_member_view(&rb, &item.member_view);
			break;
		default:
			rc = proto_reply_add_member(&rb, &item.member);
			break;
		}
		require(rc == 0, "a decoded item does not rebuild", NULL);
	}
	require(rc == 0, "iterating validated items failed", NULL);
	if (m->type == PROTO_T_TXN_REPLY)
		rc = proto_reply_end_txn(&rb, m->txn_reply.flags, m->txn_reply.revision);
	else if (m->type == PROTO_T_EVENTS)
		rc = proto_reply_end_txn(&rb, m->events.flags, m->events.revision);
	else
		rc = proto_reply_end(&rb, m->type == PROTO_T_LIST_REPLY	    ? m->list_reply.flags
					  : m->type == PROTO_T_LIST_META_REPLY ? m->list_meta_reply.flags
					  : m->type == PROTO_T_MEMBERS_VIEW_REPLY
					      ? m->members_view_reply.flags
					      : 0);
	require(rc == 0, "reply_end", NULL);
	require(b.len == len && memcmp(b.data, frame, len) == 0, "rebuilt reply differs", NULL);
	proto_buf_free(&b);
}

/* Rebuild a decoded TXN request item by item, as raftconfctl and http.c build one. */
static void
rebuild_txn(const struct proto_msg *m, const uint8_t *frame, size_t len)
{
	struct proto_msg r = *m;
	struct proto_buf lists[3], b;
	struct proto_items *dst[3] = { &r.txn.compares, &r.txn.then_ops, &r.txn.else_ops };
	union proto_item item;
	struct proto_iter it;
	uint32_t n;
	int rc;

	for (int k = 0; k < 3; k++) {
		proto_buf_init(&lists[k]);
		n = 0;
		require(proto_iter_txn(&it, m, k) == 0, "iter_txn", NULL);
		while ((rc = proto_iter_next(&it, &item)) == 1) {
			rc = k == PROTO_TXN_COMPARES ? proto_txn_add_compare(&lists[k], &n, &item.compare)
						     : proto_txn_add_op(&lists[k], &n, &item.op);
			require(rc == 0, "a decoded txn item does not rebuild", NULL);
		}
		require(rc == 0, "iterating validated txn items failed", NULL);
		*dst[k] = (struct proto_items){ n, lists[k].data, lists[k].len };
	}
	proto_buf_init(&b);
	require(proto_encode(&b, &r, NULL, 0) == 0, "a rebuilt txn does not encode", NULL);
	require(b.len == len && memcmp(b.data, frame, len) == 0, "rebuilt txn differs", NULL);
	proto_buf_free(&b);
	for (int k = 0; k < 3; k++)
		proto_buf_free(&lists[k]);
}

static void
exercise(const uint8_t *frame, size_t len)
{
	struct proto_msg m, again;
	struct proto_buf b;
	char err[512];
	int rc;

	rc = proto_decode(frame, len, &m, err, sizeof(err));
	if (rc != 0) {
		require(rc == -EPROTO || rc == -E2BIG || rc == -EMSGSIZE, "unexpected error code",
			err);
		require(err[0] != '\0', "an error without a message", NULL);
		return;
	}
	require(err[0] == '\0', "success with an error message", err);

	proto_buf_init(&b);
	rc = proto_encode(&b, &m, err, sizeof(err));
	require(rc == 0, "a decoded message does not re-encode", err);
	require(b.len == len && memcmp(b.data, frame, len) == 0, "re-encoding differs", NULL);
	rc = proto_decode(b.data, b.len, &again, err, sizeof(err));
	require(rc == 0, "a re-encoded message does not decode", err);
	require(msg_eq(&m, &again), "decode(encode(x)) != x", NULL);
	if (m.type == PROTO_T_LIST_REPLY || m.type == PROTO_T_STATUS_REPLY ||
	    m.type == PROTO_T_MEMBERS_REPLY || m.type == PROTO_T_TOKEN_LIST_REPLY ||
	    m.type == PROTO_T_LIST_META_REPLY || m.type == PROTO_T_TXN_REPLY ||
	    m.type == PROTO_T_EVENTS || m.type == PROTO_T_CLUSTER_STATUS_REPLY)
		rebuild(&m, frame, len);
	if (m.type == PROTO_T_TXN)
		rebuild_txn(&m, frame, len);
	proto_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t flen = 0;
	uint8_t *fixed;
	uint32_t crc;
	int rc;

	rc = proto_frame_check(data, size, &flen);
	require(rc == 0 || rc == -EAGAIN || rc == -EPROTO || rc == -EMSGSIZE, "frame_check rc",
		NULL);
	if (rc == 0)
		require(flen >= PROTO_HEADER_SIZE && flen <= size && flen <= RAFTCONF_MAX_FRAME,
			"frame_check length", NULL);
	if (rc == -EAGAIN)
		require(size < 4 ? flen == 0 : flen > size, "frame_check -EAGAIN length", NULL);

	exercise(data, size);
	/* The first frame of a stream, when more bytes follow it. */
	if (rc == 0 && flen < size)
		exercise(data, flen);

	if (size < PROTO_HEADER_SIZE || size > RAFTCONF_MAX_FRAME)
		return 0;
	if ((fixed = malloc(size)) == NULL)
		return 0;
	memcpy(fixed, data, size);
	fixed[0] = (uint8_t)(size >> 24);
	fixed[1] = (uint8_t)(size >> 16);
	fixed[2] = (uint8_t)(size >> 8);
	fixed[3] = (uint8_t)size;
	fixed[4] = PROTO_VERSION;
	fixed[6] = fixed[7] = 0;
	crc = proto_crc32c(0, fixed + PROTO_HEADER_SIZE, size - PROTO_HEADER_SIZE);
	fixed[8] = (uint8_t)(crc >> 24);
	fixed[9] = (uint8_t)(crc >> 16);
	fixed[10] = (uint8_t)(crc >> 8);
	fixed[11] = (uint8_t)crc;
	if (memcmp(fixed, data, PROTO_HEADER_SIZE) != 0)
		exercise(fixed, size);
	free(fixed);
	return 0;
}
