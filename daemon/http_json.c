/*
 * http_json.c — the JSON bodies of the HTTP answers that hold items
 * (contract in http_json.h).  The objects of one key or one change are
 * json.c's, shared with raftconfctl --json; this file lays out the answer
 * around them.
 */
#include "http_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>

#include <event2/buffer.h>

#include "json.h"

void
http_json_to_evbuffer(void *arg, const char *p, size_t len)
{
	evbuffer_add(arg, p, len);
}

/* One item of an answer of type type. */
static void
item(const struct json_out *o, uint8_t type, bool keys_only, const union proto_item *it)
{
	if (keys_only && type == PROTO_T_LIST_META_REPLY) {
		json_key_meta(o, it->kv.key.ptr, it->kv.key.len, it->kv.revision,
		    it->kv.create_revision, it->kv.version);
		return;
	}
	switch (type) {
	case PROTO_T_LIST_REPLY:
		json_entry(o, it->entry.key.ptr, it->entry.key.len, it->entry.revision,
		    it->entry.value.ptr, it->entry.value.len);
		break;
	case PROTO_T_TXN_REPLY:
		if (it->kv.revision == 0) { /* a get of a key that did not exist */
			o->write(o->arg, "{", 1);
			json_bytes_field(o, "key", it->kv.key.ptr, it->kv.key.len);
			o->write(o->arg, ",\"found\":false}", 15);
			break;
		}
		/* fall through */
	case PROTO_T_LIST_META_REPLY:
		json_kv(o, it->kv.key.ptr, it->kv.key.len, it->kv.value.ptr, it->kv.value.len,
		    it->kv.revision, it->kv.create_revision, it->kv.version);
		break;
	case PROTO_T_EVENTS:
		json_event(o, it->change.kind == PROTO_EV_PUT, it->change.key.ptr,
		    it->change.key.len, it->change.revision, it->change.value.ptr,
		    it->change.value.len);
		break;
	}
}

int
http_json_answer(struct evbuffer *out, const struct proto_msg *m, bool keys_only)
{
	const struct json_out o = { http_json_to_evbuffer, out };
	union proto_item it;
	struct proto_iter iter;
	bool first = true;
	uint8_t truncated = 0;
	int rc;

	switch (m->type) {
	case PROTO_T_LIST_REPLY:
	case PROTO_T_LIST_META_REPLY:
		truncated = (m->type == PROTO_T_LIST_REPLY ? m->list_reply.flags
							   : m->list_meta_reply.flags) &
		    PROTO_F_TRUNCATED;
		evbuffer_add(out, "{\"keys\":[", 9);
		break;
	case PROTO_T_TXN_REPLY:
		evbuffer_add_printf(out,
		    "{\"succeeded\":%s,\"revision\":%" PRIu64 ",%s\"results\":[",
		    m->txn_reply.flags & PROTO_F_SUCCEEDED ? "true" : "false",
		    m->txn_reply.revision,
		    m->txn_reply.flags & PROTO_F_REPLAYED ? "\"replayed\":true," : "");
		break;
	case PROTO_T_EVENTS:
		truncated = m->events.flags & PROTO_F_TRUNCATED;
		evbuffer_add_printf(
		    out, "{\"revision\":%" PRIu64 ",\"events\":[", m->events.revision);
		break;
	default:
		return -EPROTO;
	}
	if (proto_iter_init(&iter, m) < 0)
		return -EPROTO;
	while ((rc = proto_iter_next(&iter, &it)) == 1) {
		if (!first)
			evbuffer_add(out, ",", 1);
		first = false;
		item(&o, m->type, keys_only, &it);
	}
	if (rc < 0)
		return -EPROTO;
	if (m->type == PROTO_T_TXN_REPLY)
		evbuffer_add(out, "]}", 2);
	else
		evbuffer_add_printf(out, "],\"truncated\":%s}", truncated ? "true" : "false");
	return 0;
}
