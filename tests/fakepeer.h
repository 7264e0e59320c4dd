/*
 * fakepeer.h — a fake raftconfd peer for the tests: it speaks the peer
 * protocol (proto.h frames, raftmsg.h Raft messages) to a node's peer port
 * as any node id it likes, and reads what comes back.  What a hostile peer
 * can do, a test can do with it, one call per frame.
 *
 * The bytes go through a transport (struct fp_transport): plain TCP
 * (fp_tcp) or TLS with a chosen certificate (fp_tls), so that every check
 * can run as a stranger, as a spare with a valid certificate, or as a
 * member's certificate claiming another id.
 *
 * Blocking, one connection per struct fakepeer; for tests only.
 */
#ifndef RAFTCONF_FAKEPEER_H
#define RAFTCONF_FAKEPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"
#include "raft.h"

/*
 * How bytes reach the node.  open() returns a context (NULL with err set on
 * failure); send() writes all of len or fails (-errno); recv() waits at
 * most timeout_ms for bytes: >0 bytes read, 0 the peer closed, -ETIMEDOUT,
 * -errno; close() frees the context.
 */
struct fp_transport {
	const char *name;
	void *(*open)(const struct fp_transport *t, const char *address, char *err, size_t errlen);
	int (*send)(void *ctx, const void *buf, size_t len);
	ssize_t (*recv)(void *ctx, void *buf, size_t len, int timeout_ms);
	void (*close)(void *ctx);
	/* This end's address, "HOST:PORT" (what the node's log lines name). */
	int (*local)(void *ctx, char *buf, size_t len);
	void *opts; /* the transport's own: a TLS one's certificate and key */
};

/* Plain TCP to HOST:PORT (an IPv4 address). */
extern const struct fp_transport fp_tcp;

/*
 * TLS over it, presenting cert and key (either NULL: none); the node's
 * certificate is not checked (ca is loaded only so that a chain can be
 * sent).  The handshake is done in open(): a node that refuses the
 * certificate says so at the first recv (TLS 1.3), or in open()'s error.
 */
struct fp_tls_opts {
	const char *cert, *key, *ca;
};
void fp_tls(struct fp_transport *t, struct fp_tls_opts *o);

struct fakepeer;

/* Connect to address through t.  0, or -errno with err filled. */
int fp_connect(const struct fp_transport *t, const char *address, struct fakepeer **out, char *err,
    size_t errlen);
void fp_close(struct fakepeer *fp);

/* This end's address, as the node sees it. */
int fp_local(struct fakepeer *fp, char *buf, size_t len);

/* The id the daemon gives a node name (daemon/roster.c's node_id_of). */
uint64_t fp_node_id(const char *name);

/* Send a HELLO as node id of cluster (the handshake; its answer comes
 * through fp_recv). */
int fp_hello(struct fakepeer *fp, const char *cluster, const char *id);

/* Send one proto message, or one Raft message in a RAFT frame. */
int fp_send(struct fakepeer *fp, const struct proto_msg *m);
int fp_send_raft(struct fakepeer *fp, const struct raft_msg *m);

/*
 * The next frame, waiting at most timeout_ms: 1 and *m (valid until the
 * next call), 0 when the node closed the connection, -ETIMEDOUT, or
 * -EPROTO (an undecodable frame) / -errno.  A RAFT frame's message is
 * decoded into *rm when rm is not NULL (rm->type 0 otherwise).
 */
int fp_recv(struct fakepeer *fp, struct proto_msg *m, struct raft_msg *rm, int timeout_ms);

/* One line describing a received frame, for the tests' logs. */
void fp_describe(const struct proto_msg *m, const struct raft_msg *rm, char *buf, size_t len);

#endif
