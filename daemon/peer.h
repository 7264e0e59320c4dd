/*
 * peer.h — TCP between raftconfd daemons, on libevent.
 *
 * Each node keeps one outbound connection to every other member ("link"),
 * dialled with exponential backoff and jitter, and sends everything it has
 * to say to that member on it.  It accepts inbound connections from any node
 * of the same cluster; frames arriving on either kind are handed to the
 * caller, who may answer on the same connection (peer_reply) — that is how
 * a follower's forwarded client requests get their responses.
 *
 * Handshake: the dialler sends HELLO (protocol version, cluster, its id and
 * address); the acceptor checks version and cluster and answers with its own
 * HELLO, or with REJECT and a close; the dialler checks the answer's cluster
 * and that the node it reached has the id it dialled.  Every mismatch is one
 * log line saying what was expected and what came, and a closed connection.
 *
 * Garbage — a bad frame header, a frame that does not decode, anything but
 * HELLO first, a handshake that does not finish in time — closes that one
 * connection.  Output queues are bounded (peer_send fails with -ENOBUFS past
 * the bound): a slow or dead peer costs a bounded amount of memory and
 * never stalls the others.  Raft tolerates the loss.
 *
 * The port is bounded whatever arrives on it (raftconfd(8), LIMITS):
 *   - at most max_handshakes inbound connections before their HELLO: a new
 *     one closes the oldest;
 *   - after it, at most RAFTCONF_MAX_CONNS_PER_ID from one node id (a
 *     new one closes the oldest), and at most max_strangers in all from ids
 *     this node keeps no link to (more are REJECTed);
 *   - a connection up that carries no whole frame for idle_ms is closed;
 *     each side sends PING on a connection it has been silent on for
 *     idle_ms / 4, so only a dead or mute peer is cut off;
 *   - a connection holds at most a small read-ahead of unfinished frame;
 *     a longer frame takes the rest from frame_budget, shared by all
 *     connections, or the connection stops being read until there is room
 *     (and is closed at idle_ms if that never comes);
 *   - every log line a peer can cause is rate-limited per connection
 *     (ratelimit.h), with a count of what was held back;
 *   - accept() failing (out of descriptors) pauses the listener with one
 *     log line (listener.h) instead of spinning.
 *
 * Nothing here blocks: connects, name lookups and writes are asynchronous.
 * Callbacks run from the event loop; they may call any function here,
 * including ones that close the connection they were called for.
 */
#ifndef RAFTCONF_PEER_H
#define RAFTCONF_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct event_base;
struct peer_net;

/* Default bound of one connection's output queue. */
#define PEER_MAX_QUEUE (32 * 1024 * 1024)
/* Reconnect backoff: first retry, cap. */
#define PEER_BACKOFF_MIN_MS 20
#define PEER_BACKOFF_MAX_MS 1000
/* An inbound connection must say HELLO within this. */
#define PEER_HANDSHAKE_MS 5000
/* Default silence after which an up connection is closed. */
#define PEER_IDLE_MS 5000

struct peer_opts {
	const char *cluster;
	const char *node_id;
	const char *address;	 /* ours, told to peers in HELLO */
	size_t max_queue;	 /* 0: PEER_MAX_QUEUE */
	unsigned idle_ms;	 /* 0: PEER_IDLE_MS */
	unsigned max_handshakes; /* 0: RAFTCONF_MAX_PEER_HANDSHAKES */
	unsigned max_strangers;	 /* 0: RAFTCONF_MAX_PEER_STRANGERS */
	size_t frame_budget;	 /* 0: RAFTCONF_PEER_FRAME_BUDGET */
};

struct peer_callbacks {
	/*
	 * A decoded frame (anything but HELLO, and REJECT only after the
	 * handshake, as a notice) from node peer_id on connection conn.  m points into frame; both are valid during the
	 * call only.
	 */
	void (*frame)(void *arg, uint64_t conn, const char *peer_id, const struct proto_msg *m);
	/*
	 * The link to peer_id came up (handshake done) or went down.
	 * reset: it went down because the connection broke (EOF, reset, error)
	 * after having been up — the peer's process may have died.
	 */
	void (*link)(void *arg, const char *peer_id, bool up, bool reset);
	/*
	 * A connection made with peer_dial_once() failed before or after its
	 * handshake (refused, REJECTed, closed); why says what happened.
	 */
	void (*once_failed)(void *arg, uint64_t conn, const char *why);
	/*
	 * Is peer_id a member this node keeps no link to (a learner's leader)?
	 * A connection from it then counts as a member's, not against the cap
	 * of strangers.  NULL: only ids with a link are members.
	 */
	bool (*member)(void *arg, const char *peer_id);
};

int peer_net_new(struct event_base *base, const struct peer_opts *opts,
    const struct peer_callbacks *cb, void *arg, struct peer_net **out);
void peer_net_free(struct peer_net *pn);

/*
 * Speak mutual TLS (tls.h) on every connection made from now on, with ctx
 * (a reference is taken; NULL: plain TCP).  Connections open now keep the
 * context they were made with: this is how certificates are rotated.
 *
 * With TLS the id a peer says in HELLO must be the one its certificate
 * names, and a link must reach a certificate for the id it dials; plain
 * TCP to a TLS node and TLS to a plain one are refused with one log line
 * naming the address.  The TLS handshake runs within the handshake
 * deadline and counts against the cap of handshakes.
 */
struct ssl_ctx_st;
void peer_set_tls(struct peer_net *pn, struct ssl_ctx_st *ctx);

/*
 * Listen on "host:port" for peers: an IP address, or a host name resolved
 * here to its first address (addr_resolve in addr.h; the lookup blocks, so
 * call it at start-up).  0, or -errno with err filled.
 */
int peer_listen(struct peer_net *pn, const char *listen, char *err, size_t errlen);

/*
 * Keep a link to node id at address (dialled now, redialled on loss).
 * Calling it again with another address moves the link.  0, -EINVAL (bad
 * address), -ENOMEM.
 */
int peer_link(struct peer_net *pn, const char *id, const char *address);
/* Drop the link to id (the member left). */
void peer_unlink(struct peer_net *pn, const char *id);
bool peer_link_up(const struct peer_net *pn, const char *id);
/* A link to id is up, or a connection id dialled us on is. */
bool peer_reachable(const struct peer_net *pn, const char *id);

/*
 * Dial address once, whoever answers there (a spare joining a cluster does
 * not know the id of the member it asks), and send frame after the
 * handshake.  Answers arrive through the frame callback with *conn; a
 * failure through once_failed.  Never redialled; peer_close() it when done.
 */
int peer_dial_once(
    struct peer_net *pn, const char *address, const void *frame, size_t len, uint64_t *conn);
void peer_close(struct peer_net *pn, uint64_t conn);

/*
 * Queue one whole frame on the link to id, or, when there is no link to id,
 * on a connection id dialled us on (a node not yet told the address of a
 * leader that contacts it answers that way).  0, -ENOTCONN (no connection,
 * or its handshake is not done), -ENOBUFS (its queue is full; the frame is
 * dropped).
 */
int peer_send(struct peer_net *pn, const char *id, const void *frame, size_t len);

/*
 * The peer on connection conn sent what its role does not allow (or what
 * it cannot have meant, such as a Raft message that does not decode): one
 * log line naming it, its address and why (rate-limited, as every line
 * about what peers send), then the connection is closed; an inbound one is told why first (REJECT), a
 * link is dialled again after its backoff.  Safe from the frame callback,
 * which must not use its frame afterwards.
 */
void peer_refuse(struct peer_net *pn, uint64_t conn, const char *why);

/* Queue a frame on connection conn (as given to the frame callback).
 * 0, -ENOTCONN (it is gone), -ENOBUFS. */
int peer_reply(struct peer_net *pn, uint64_t conn, const void *frame, size_t len);

/*
 * Write what is queued on every link now, as far as the sockets take it
 * without blocking, instead of at the loop's next turn: the leader calls it
 * before its own fdatasync so that followers persist in parallel (Raft
 * thesis §10.2.1).
 */
void peer_flush(struct peer_net *pn);

/* Bytes queued on the link to id (0 when none). */
size_t peer_backlog(const struct peer_net *pn, const char *id);

/* Bytes of the frame budget in use: unfinished frames held beyond the
 * read-ahead of each connection. */
size_t peer_budget_used(const struct peer_net *pn);

#endif
