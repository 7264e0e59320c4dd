/*
 * http_conn.h — inside the HTTP server: struct http_server and its
 * connection slots, shared by http.c (the server: open, close, routes,
 * tokens asked) and http_conn.c (the slots, a request's wait for the node,
 * writes asked again).  Not a contract for anyone else: http.h is.
 *
 * http.c calls http_conn.c and http_answer.c, http_conn.c calls
 * http_answer.c, never the other way round.
 */
#ifndef RAFTCONF_HTTP_CONN_H
#define RAFTCONF_HTTP_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "http.h"
#include "limits.h"
#include "proto.h"

struct bufferevent;
struct event;
struct event_base;
struct evconnlistener;
struct evhttp;
struct evhttp_connection;
struct evhttp_request;
struct listener_guard;

/*
 * A request must arrive whole within this after connecting or after the
 * previous answer, else the connection is closed.  (tests/check_http.h
 * sets this and the next one lower for the tests that include http.c.)
 */
#ifndef HTTP_IDLE_TIMEOUT_S
#define HTTP_IDLE_TIMEOUT_S 10
#endif
/* Connections served at once; more wait in the listen backlog. */
#ifndef HTTP_MAX_CONNECTIONS
#define HTTP_MAX_CONNECTIONS 256
#endif
/* How often deadlines are checked and closed connections reclaimed. */
#define HTTP_SWEEP_MS 500

enum conn_state {
	C_READING, /* waiting for the client's request */
	C_NODE,	   /* the request is with the node */
	C_WRITING, /* evhttp is sending our answer */
};

struct conn {
	struct http_server *hs;
	struct bufferevent *bev; /* our reference; NULL: slot free */
	enum conn_state state;
	uint64_t deadline_ms; /* of the current state; 0: none */
	uint32_t gen;	      /* bumped whenever a handle dies */
	/* While C_NODE: */
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	uint8_t type;	     /* PROTO_T_* asked of the node */
	bool keys_only;	     /* and it was a listing without values */
	struct event *watch; /* the client leaving; created on first use */
	bool watch_skip;     /* its next wake is the request's own (watch_cb) */
	/* A write, kept to be asked again through a leader change: */
	struct proto_buf frame; /* its frame; len 0: not a write */
	struct event *retry;	/* the pause before asking again */
	uint64_t retry_until;	/* monotonic ms */
	unsigned retry_ms;	/* the next pause */
};

struct http_server {
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *listener; /* owned by http */
	struct listener_guard *guard;
	struct event *sweep_ev;
	struct http_callbacks cb;
	void *arg;
	char listen[RAFTCONF_MAX_ADDRESS + 1];
	struct conn conns[HTTP_MAX_CONNECTIONS];
	unsigned nconns;
	bool paused;	    /* listener disabled at the limit */
	bool dispatching;   /* inside cb.request */
	uint64_t client_id; /* for writes without a request id */
	uint64_t next_seq;
	char key[RAFTCONF_MAX_KEY];    /* the decoded key of the current request */
	struct proto_buf txn_lists[3]; /* the lists of the current POST /v1/txn */
	SSL_CTX *tls;		       /* NULL: plain HTTP */
};

/* Now, on the monotonic clock, in ms: deadlines and the retry window. */
static inline uint64_t
http_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Every slot of hs free (http_open). */
void http_conn_init_all(struct http_server *hs);
/* What the slots still hold, freed (http_close, once evhttp is freed). */
void http_conn_free_all(struct http_server *hs);

/*
 * evhttp's hook for a new connection (evhttp_set_bevcb; arg is hs): its
 * bufferevent, made and kept here in a slot.  At HTTP_MAX_CONNECTIONS the
 * listener stops accepting.
 */
struct bufferevent *http_conn_new_cb(struct event_base *base, void *arg);
/* The listener guard's gate (arg is hs): true while not at the limit. */
bool http_conn_below_limit(void *arg);
/*
 * Every HTTP_SWEEP_MS (arg is hs): reclaim the slots evhttp has let go
 * of, enforce the deadlines, accept again below the limit.
 */
void http_conn_sweep_cb(evutil_socket_t fd, short what, void *arg);

/* The slot of the connection whose bufferevent is bev, or NULL (none kept). */
struct conn *http_conn_by_bev(struct http_server *hs, const struct bufferevent *bev);
/*
 * Request req, on connection evcon, has reached c whole: c follows the
 * connection's closing and the answer's writing; no deadline while it is
 * judged here.
 */
void http_conn_received(
    struct conn *c, struct evhttp_request *req, struct evhttp_connection *evcon);
/*
 * Ask the node c's request m (req on evcon), which it may answer at once
 * (http_reply); c waits for the answer until HTTP_NODE_TIMEOUT_S.  A
 * write (true: m may be asked again, it is applied once) is kept, and
 * asked again through a leader change.
 */
void http_conn_ask(struct conn *c, struct evhttp_request *req, struct evhttp_connection *evcon,
    struct proto_msg *m, bool write);

#endif
