/*
 * node.h — one raftconfd node: the only place that turns the Raft core's
 * outputs into I/O.
 *
 * It owns the core, the WAL, the store, the peer links and the control
 * socket, and runs them on one libevent loop in Raft's order: send what may
 * go at once, persist (one fdatasync per batch), send what acknowledges the
 * persist, apply committed entries, answer clients whose entries applied,
 * serve reads whose index has been applied.
 *
 * Requests from raftconfctl (control socket) and requests forwarded by
 * followers (peer links) go through the same path: reads are answered from
 * the local store once Raft's ReadIndex says they may be (or at once with
 * the stale flag); writes are proposed on the leader, or forwarded to it by
 * a follower, and answered once applied.
 */
#ifndef RAFTCONF_NODE_H
#define RAFTCONF_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct event_base;
struct node;

/* The TLS contexts the node serves with (tls.h); NULL: none. */
struct ssl_ctx_st;
struct node_tls {
	struct ssl_ctx_st *peer; /* mutual TLS between peers */
	struct ssl_ctx_st *http; /* HTTPS */
};

/*
 * Load the node's state from cfg->data_dir (creating it when empty), bind
 * the peer port and the control socket.  Nothing blocks after this returns.
 * tls: the contexts to use (the node takes its own references).
 * 0, or a negative errno with a message for the operator in err.
 */
int node_start(struct event_base *base, const struct config *cfg, const struct node_tls *tls,
    struct node **out, char *err, size_t errlen);

/*
 * New connections from now on use these contexts (SIGHUP: rotated
 * certificates); a NULL one leaves that side as it is.  Open connections
 * keep the contexts they were made with.
 */
void node_set_tls(struct node *n, const struct node_tls *tls);

/* Begin a clean stop: a leader hands over leadership first (bounded wait),
 * then the loop is left.  Called from the SIGTERM/SIGINT handler. */
void node_stop(struct node *n);

void node_free(struct node *n);

/*
 * After the loop ends: 0 if the node stopped because it was asked to, else
 * the negative errno of the failure that stopped it (a WAL or store error,
 * already logged); main() then exits non-zero so that systemd's
 * Restart=on-failure starts it again.
 */
int node_failed(const struct node *n);

/*
 * raftconfd --restore FILE (restore.c): make cfg->data_dir, which must be
 * absent or an empty directory, the data_dir of a member of the cluster
 * cfg->members make, holding the store the backup at file holds (a
 * snapshot file, snap.h).  The file is checked whole before anything is
 * written; the new data_dir appears at once (a rename), durably, or not at
 * all.  Blocks on the disk.  0 with one line for the operator in msg, or a
 * negative errno with err filled: -ENOTEMPTY (data_dir is not empty),
 * -EBADMSG (damaged, truncated, or not a backup this build reads).
 */
int node_restore(
    const struct config *cfg, const char *file, char *msg, size_t msglen, char *err, size_t errlen);

/* Map a node name to the core's numeric id (FNV-1a, never 0). */
uint64_t node_id_of(const char *name);

#endif
