/*
 * control.h — the Unix control socket that raftconfctl talks to.
 *
 * Owns the socket file and the client connections, nothing else: requests
 * are decoded and handed to the caller, who answers (now or much later)
 * with control_reply() naming the connection.  A frame that does not decode
 * but whose header was sound gets an ERROR reply and the connection goes
 * on; a header that cannot be a frame closes the connection.
 *
 * The socket is created mode 0660, non-blocking and close-on-exec.  A stale
 * socket file (nobody answers on it) is replaced; a live one means another
 * raftconfd serves it, and control_open() refuses.
 *
 * Flow control: a client whose unread replies exceed CONTROL_MAX_OUTPUT is
 * not read from until it drains them, so one slow client costs bounded
 * memory and delays nobody else.
 *
 * Bounds on what clients send (the socket is open to every local user
 * when node.read_group is set): the caller classes each client at accept
 * from its credentials (admit).  Only a writer may send a request up to
 * RAFTCONF_MAX_FRAME; a reader's requests (get, list, watch, status,
 * members) fit CONTROL_SMALL_FRAME, and so does an outsider's, who only
 * learns it may do nothing; at most CONTROL_MAX_OUTSIDERS outsiders are
 * connected at once.  A request announced longer than its client may send
 * is answered with an error (PROTO_E_REFUSED) and its bytes dropped as
 * they arrive, never held; a client that has held an unfinished request
 * for CONTROL_PARTIAL_MS is closed.  Each with one rate-limited log line
 * naming its pid and uid.
 */
#ifndef RAFTCONF_CONTROL_H
#define RAFTCONF_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

struct event_base;
struct control;

#define CONTROL_MAX_OUTPUT  (16 * 1024 * 1024)
#define CONTROL_MAX_CLIENTS 4096

#define CONTROL_MAX_GROUPS  64
/* The largest request of a reader or an outsider: a key and some. */
#define CONTROL_SMALL_FRAME   (RAFTCONF_MAX_KEY + 1024)
#define CONTROL_MAX_OUTSIDERS 16
#define CONTROL_PARTIAL_MS    10000

/* What a client may do, as the caller judges it at accept. */
enum control_class {
	CONTROL_WRITER,	  /* anything */
	CONTROL_READER,	  /* small requests */
	CONTROL_OUTSIDER, /* small requests, few connections, nothing served */
};

/* Who connected, as the kernel saw it at connect(2) (SO_PEERCRED,
 * SO_PEERGROUPS: no race with a pid reused later). */
struct control_client_info {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	size_t ngroups; /* supplementary groups, at most CONTROL_MAX_GROUPS */
	gid_t groups[CONTROL_MAX_GROUPS];
};

struct control_callbacks {
	/* A decoded request from client conn; m is valid during the call. */
	void (*request)(void *arg, uint64_t conn, const struct proto_msg *m);
	/* Client conn went away: drop whatever waits to answer it. */
	void (*closed)(void *arg, uint64_t conn);
	/* A client connected: its class (NULL: every client is a writer). */
	enum control_class (*admit)(void *arg, const struct control_client_info *who);
	/* Client conn took what was queued for it, down to a quarter of
	 * CONTROL_MAX_OUTPUT or less: room to queue more (NULL: not told). */
	void (*drained)(void *arg, uint64_t conn);
};

/* 0, or -errno with err filled (-EADDRINUSE: another daemon serves path). */
int control_open(struct event_base *base, const char *path, const struct control_callbacks *cb,
    void *arg, struct control **out, char *err, size_t errlen);
/* Close every client and remove the socket file. */
void control_close(struct control *ctl);

/* Queue one whole frame to client conn: 0, -ENOTCONN (gone), -ENOMEM. */
int control_reply(struct control *ctl, uint64_t conn, const void *frame, size_t len);

/* Bytes queued to client conn and not yet taken by it (0 when gone). */
size_t control_backlog(struct control *ctl, uint64_t conn);

/* Who is on the other end (SO_PEERCRED); -ENOTCONN. */
int control_client(struct control *ctl, uint64_t conn, struct control_client_info *info);

#endif
