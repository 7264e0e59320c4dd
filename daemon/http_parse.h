/*
 * http_parse.h — what an HTTP request asks, judged from its parts without
 * I/O (http_parse.c): the route and flags of a path and query, the key,
 * the request id header, and the proto request it becomes.  Private to
 * http.c, its tests and its fuzzer; the module's contract is http.h.
 */
#ifndef RAFTCONF_HTTP_PARSE_H
#define RAFTCONF_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>

#include "proto.h"

#define HTTP_REQUEST_ID_HEADER "X-Raftconf-Request-Id"

enum route { R_NONE, R_KEYS, R_STATUS, R_HEALTH, R_METRICS };

struct target {
	enum route route;
	bool stale, list;
	const char *rawkey; /* the path after "/v1/keys" */
};

/* A request as evhttp has parsed it: what http_parse_request() judges. */
struct request {
	enum evhttp_cmd_type cmd;
	const char *path;	/* the URI's path, raw; NULL stands for "" */
	const char *query;	/* the URI's query, raw; NULL when there is none */
	const char *request_id; /* the X-Raftconf-Request-Id header, or NULL */
	const void *body;	/* a PUT's value; may be NULL when body_len is 0 or
				 * over RAFTCONF_MAX_VALUE (it is refused unread) */
	size_t body_len;
};

int http_pct_decode(const char *in, size_t len, char *out, size_t cap, size_t *outlen);
int http_flag_value(const char *v, size_t len);
int http_parse_target(
    const char *path, const char *query, struct target *t, char *err, size_t errlen);
int http_decode_key(const struct target *t, char *buf, size_t *len, char *err, size_t errlen);
int http_parse_request_id(const char *s, uint64_t *client, uint64_t *seq);
bool http_method_allowed(enum route r, enum evhttp_cmd_type cmd);
int http_parse_request(const struct request *r, struct target *t, struct proto_msg *m, char *key,
    const char **allow, char *err, size_t errlen);

#endif
