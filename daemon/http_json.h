/*
 * http_json.h — the JSON bodies of the HTTP API's answers that hold items
 * (http_json.c): a listing, a transaction's results, a watch's changes.
 * Private to http_answer.c and its tests; the layouts are raftconfd(8)'s.
 */
#ifndef RAFTCONF_HTTP_JSON_H
#define RAFTCONF_HTTP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct evbuffer;
struct json_out;

/* A json_out that appends to the evbuffer arg. */
void http_json_to_evbuffer(void *arg, const char *p, size_t len);

/*
 * Append the body for m, a LIST_REPLY, LIST_META_REPLY, TXN_REPLY or
 * EVENTS, to out (keys_only: a listing's keys without their value
 * fields, json_key_meta):
 *
 *	{"keys":[...],"truncated":false}
 *	{"succeeded":true,"revision":N,["replayed":true,]"results":[...]}
 *	{"revision":N,"events":[...],"truncated":false}
 *
 * 0, or -EPROTO for another type or malformed items (out may then hold a
 * part: drain it).
 */
int http_json_answer(struct evbuffer *out, const struct proto_msg *m, bool keys_only);

#endif
