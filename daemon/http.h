/*
 * http.h — the optional HTTP key API (libevent evhttp), for programs on
 * other hosts and for load tools.  Enabled by http.listen in the YAML.
 *
 * It translates HTTP requests into the same proto requests raftconfctl
 * sends, hands them to the node through the request callback, and turns
 * the node's proto answer back into HTTP (http_reply).  It owns the
 * listening socket, the connections, limits (header and body size, idle
 * and request timeouts, concurrent connections), and nothing else.
 *
 *	GET    /v1/keys/KEY[?stale]	200, body = the value, ETag: "REV",
 *					X-Raftconf-Revision, -Create-Revision,
 *					-Version; 404
 *	PUT    /v1/keys/KEY		body = the value; 200 with the new revision
 *	DELETE /v1/keys/KEY		200; 404
 *					(both: If-Match: "REV", If-None-Match: *;
 *					412 when it did not hold)
 *	POST   /v1/txn			a JSON transaction (http.c); 200
 *	GET    /v1/keys/PREFIX/?list	the keys under PREFIX, JSON
 *	GET    /v1/status		this node, JSON
 *	GET    /v1/health		200 when a leader is known and this node
 *					is caught up, else 503
 *	GET    /metrics			Prometheus text format
 *	errors: JSON {"error": "..."} with 400, 401, 403, 404, 405, 412, 413,
 *	503 (no leader), 504 (timeout)
 *
 * The key is the URL path after /v1/keys, percent-decoded.
 *
 * Every request but /v1/health is judged by the authorize callback before
 * it is served or reaches the node: with the Authorization header, whether
 * the client is on the loopback, and what it asks (token.h).
 */
#ifndef RAFTCONF_HTTP_H
#define RAFTCONF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "token.h"

struct event_base;
struct evbuffer;
struct http_server;

struct http_callbacks {
	/*
	 * A request for the node, exactly as if raftconfctl had sent it:
	 * GET, SET, DEL, SET_IF, DEL_IF, LIST, TXN (and nothing else).  The node answers later with
	 * http_reply(handle, ...) — or never, if the client has gone (the
	 * server then drops the answer).
	 */
	void (*request)(void *arg, uint64_t handle, const struct proto_msg *m);
	/* Append this node's status as one JSON object to out. */
	void (*status_json)(void *arg, struct evbuffer *out);
	/* 0 when healthy (a leader known, this node caught up); else fill why. */
	int (*health)(void *arg, char *why, size_t whylen);
	/* Append the Prometheus text exposition of the node's metrics. */
	void (*metrics)(void *arg, struct evbuffer *out);
	/*
	 * May request r go on?  0, or the HTTP status to answer (401, 403)
	 * with why filled (token_authorize's contract).  NULL: everything may
	 * (only tests leave it out).
	 */
	int (*authorize)(void *arg, const struct token_request *r, char *why, size_t whylen);
	/*
	 * The request handle will not be answered: its client left, or the
	 * server gave up on it (504).  The node may forget it (a watch
	 * waiting for a change).  NULL: nothing to tell.
	 */
	void (*abandoned)(void *arg, uint64_t handle);
};

/*
 * Listen on "ip:port", exactly what raftconfd --check accepts for
 * http.listen (addr_parse_listen in addr.h: a host name is -EINVAL).
 * 0, or -errno with err filled.
 */
int http_open(struct event_base *base, const char *listen, const struct http_callbacks *cb,
    void *arg, struct http_server **out, char *err, size_t errlen);
void http_close(struct http_server *hs);
/*
 * Serve HTTPS on every connection accepted from now on, with ctx (a
 * reference is taken; NULL: plain HTTP).  Open connections keep theirs.
 */
struct ssl_ctx_st;
void http_set_tls(struct http_server *hs, struct ssl_ctx_st *ctx);

/*
 * The node's answer to request handle: one whole proto response frame (OK,
 * VALUE, VALUE_META, FAILED, ERROR, LIST_REPLY, LIST_META_REPLY, TXN_REPLY).  0, or -ENOTCONN when the client is gone.
 */
int http_reply(struct http_server *hs, uint64_t handle, const void *frame, size_t len);

#endif
