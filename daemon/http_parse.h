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

enum route { R_NONE, R_KEYS, R_STATUS, R_HEALTH, R_METRICS, R_TXN };

struct target {
	enum route route;
	bool stale, list, watch;
	bool keys, count; /* ?list&keys: without values; ?list&count: the number only */
	uint64_t limit;	  /* ?list&limit=N: at most N keys (0: not given) */
	bool has_rev;	  /* ?rev=N given (watch: the changes after N) */
	uint64_t rev;
	bool has_wait;
	uint64_t wait_ms;   /* ?wait=: how long a watch waits for a change */
	const char *rawkey; /* the path after "/v1/keys" */
};

/* A watch's wait when ?wait= is not given (Consul's default is 5 minutes). */
#define HTTP_DEFAULT_WAIT_MS 30000

/* A request as evhttp has parsed it: what http_parse_request() judges. */
struct request {
	enum evhttp_cmd_type cmd;
	const char *path;	/* the URI's path, raw; NULL stands for "" */
	const char *query;	/* the URI's query, raw; NULL when there is none */
	const char *request_id; /* the X-Raftconf-Request-Id header, or NULL */
	const void *body;	/* a PUT's value (a POST's txn); may be NULL when body_len is 0 or
				 * over RAFTCONF_MAX_VALUE (it is refused unread) */
	size_t body_len;
	const char *if_match;	   /* the If-Match header, or NULL */
	const char *if_none_match; /* the If-None-Match header, or NULL */
};

int http_pct_decode(const char *in, size_t len, char *out, size_t cap, size_t *outlen);
int http_flag_value(const char *v, size_t len);
int http_parse_wait(const char *v, size_t len, uint64_t *ms);
int http_parse_target(
    const char *path, const char *query, struct target *t, char *err, size_t errlen);
int http_decode_key(const struct target *t, char *buf, size_t *len, char *err, size_t errlen);
int http_parse_request_id(const char *s, uint64_t *client, uint64_t *seq);
bool http_method_allowed(enum route r, enum evhttp_cmd_type cmd);
int http_parse_request(const struct request *r, struct target *t, struct proto_msg *m, char *key,
    const char **allow, char *err, size_t errlen);

/*
 * The JSON body of POST /v1/txn (http.c documents it) into a TXN request
 * m, its three lists built in lists[0..2] (the caller's, freed by it;
 * m points into them), client_id and seq 0 for the caller to number.
 * 0, or 400 (malformed, an unknown field, a bad key) or 413 (more
 * compares or operations than RAFTCONF_MAX_TXN_OPS, a value over
 * RAFTCONF_MAX_VALUE) with err set.
 */
int http_parse_txn(const void *body, size_t len, struct proto_msg *m, struct proto_buf lists[3],
    char *err, size_t errlen);

#endif
