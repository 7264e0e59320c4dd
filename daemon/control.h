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
