/*
 * peer_conn.h — inside peer.c: a connection and the peer network, shared
 * with peer_tls.c (the TLS layer of a connection).  Not a contract for
 * anyone else: peer.h is.
 */
#ifndef RAFTCONF_PEER_CONN_H
#define RAFTCONF_PEER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "peer.h"
#include "proto.h"
#include "ratelimit.h"

struct bufferevent;
struct evbuffer;
struct event;
struct evdns_base;
struct evconnlistener;
struct listener_guard;

enum conn_state {
	C_IDLE,	      /* outbound, waiting for the backoff timer */
	C_CONNECTING, /* outbound, TCP connect in progress */
	C_HELLO,      /* handshake in progress */
	C_UP,
	C_CLOSING, /* flushing a REJECT, then freed */
};

/* Which cap of the peer port an inbound connection counts against. */
enum conn_slot {
	S_NONE,	     /* outbound, or gone */
	S_HANDSHAKE, /* before its HELLO was accepted */
	S_MEMBER,    /* after: from a node this one keeps a link to */
	S_STRANGER,  /* after: from any other node */
};

struct conn {
	struct peer_net *pn;
	uint64_t id; /* for peer_reply */
	bool outbound;
	enum conn_state state;
	struct bufferevent *bev;
	struct event *timer;			/* backoff (outbound) or handshake deadline */
	char peer_id[RAFTCONF_MAX_ID + 1];	/* outbound: dialled; inbound: from HELLO */
	char address[RAFTCONF_MAX_ADDRESS + 1]; /* outbound: where we dial */
	char remote[RAFTCONF_MAX_ADDRESS + 64]; /* for log lines */
	bool tls;				/* bev is a TLS bufferevent */
	char cert_id[RAFTCONF_MAX_ID + 1];	/* TLS: whom its certificate names */
	unsigned backoff_ms;
	bool was_up;
	bool once; /* peer_dial_once: any id, never redialled */
	uint8_t *once_frame;
	size_t once_len;
	bool dead; /* freed at the end of the current callback */
	enum conn_slot slot;
	TAILQ_ENTRY(conn) hs_q; /* S_HANDSHAKE: oldest first */
	uint64_t accepted_ms;	/* inbound */
	uint64_t last_in_ms;	/* C_UP: a whole frame came */
	uint64_t last_out_ms;	/* C_UP: a frame was queued */
	size_t extra;		/* input held beyond the read-ahead */
	bool waiting;		/* for the budget to give extra */
	/*
	 * Frames of an up link wait here, not in the bufferevent, until the
	 * end of the batch (peer_flush): then they go to the socket in one
	 * write, and only what the socket refuses moves to the bufferevent's
	 * output.  Adding to that output arms EPOLLOUT at once, which costs
	 * two epoll_ctl and a wake-up per frame even when the write succeeds.
	 */
	struct evbuffer *stage;
	struct conn *next;
};

struct peer_net {
	struct event_base *base;
	struct evdns_base *dns;
	struct evconnlistener *listener;
	struct peer_callbacks cb;
	void *arg;
	char cluster[RAFTCONF_MAX_CLUSTER_NAME + 1];
	char node_id[RAFTCONF_MAX_ID + 1];
	char address[RAFTCONF_MAX_ADDRESS + 1];
	size_t max_queue;
	uint64_t next_conn_id;
	struct conn *conns;
	struct event *reaper;  /* frees dead connections */
	struct event *flusher; /* peer_flush at the end of the loop turn */
	struct proto_buf out;
	uint64_t rng;
	struct listener_guard *guard;
	SSL_CTX *tls; /* NULL: plain TCP; else every connection is mutual TLS */
	/* The bounds (peer.h, raftconfd(8) LIMITS). */
	unsigned idle_ms, max_handshakes, max_strangers;
	size_t budget, budget_used;
	unsigned n_handshakes, n_strangers;
	TAILQ_HEAD(, conn) handshakes;
	const struct timeval *tick_tv; /* idle_ms / 4, a common timeout */
	uint8_t ping[PROTO_HEADER_SIZE];
	size_t ping_len;
	struct ratelimit rl; /* log lines about what peers send */
	struct event *rl_timer;
	uint64_t held_back; /* lines not written, not yet told */
	bool flushing;	    /* in peer_tls_write_now: callbacks are deferred */
};

/* The id a log line names a connection by. */
#define ID(c) (*(c)->peer_id ? (c)->peer_id : "?")

/* peer_tls.c: c's bufferevent on fd (-1: to be connected), TLS when the
 * node has it; why its TLS layer failed ("" when it did not); whom its
 * certificate names, checked against the id a link dialled (false: why
 * filled, for the caller to log and close c). */
struct bufferevent *peer_conn_bev_new(struct conn *c, evutil_socket_t fd);
const char *peer_tls_failure(struct conn *c, char *buf, size_t len);
bool peer_tls_identify(struct conn *c, char *why, size_t len);
/* peer_tls.c: encrypt and write c's TLS output now (peer_flush), with
 * pn->flushing set around it. */
void peer_tls_write_now(struct conn *c);
/* peer_tls.c: encrypt and write what of buf the socket takes now, straight
 * through c's TLS session; what it does not take stays in buf. */
void peer_tls_write_direct(struct conn *c, struct evbuffer *buf);

#endif
