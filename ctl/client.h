/*
 * client.h — raftconfctl's connection to the local raftconfd.
 *
 * For: the Unix control socket, sending one request at a time, reading the
 * framed answer to it, retrying while the daemon restarts or the cluster has
 * no leader, and giving up at a deadline.  Not for: what a command means or
 * how an answer is printed; errors come back as a negative errno with one
 * line in the caller's buffer, "KIND: detail" (KIND one of cannot connect,
 * connection lost, timed out, bad answer, too big, bad request), for the
 * caller to show after "raftconfctl: ".
 *
 * Every call blocks, at most until the deadline: client_new() sets it
 * timeout seconds ahead, client_no_deadline() lifts it (a watch waits for
 * events as long as they take).  The connection is made by the first
 * request and made again by a retry after it broke.
 */
#ifndef RAFTCONF_CTL_CLIENT_H
#define RAFTCONF_CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct client;

/*
 * A client of the daemon at socket (a path, kept, not copied), whose calls
 * give up timeout seconds from now.  0, or -ENOMEM.
 */
int client_new(const char *socket, double timeout, struct client **out);
/* Close the connection and free c (NULL is fine). */
void client_free(struct client *c);

/*
 * Random, chosen by client_new(): the client id of SET and DEL requests,
 * with which the daemon applies a retried write once.
 */
uint64_t client_id(const struct client *c);

/*
 * Send m (its id is set here) and wait for the answer with that id, into
 * *resp, valid until the next call on c.
 *
 * With retry, a broken connection, no daemon at the socket (one
 * restarting; until client_set_dial's time, if set) and an ERROR answer
 * "no leader" or "timed out" are tried again, with a growing pause, until
 * the deadline; a retried write keeps its (client id, seq), so it applies
 * once.  Errors that another try cannot fix (a socket we may not use, a
 * request the codec refuses) end at once.  Without retry (status,
 * members), a client that no daemon has answered yet waits for one at
 * the socket as with retry; any other failure, or an ERROR answer, ends
 * the call.
 *
 * Returns 0 with the answer, which may be an ERROR (the last one, when the
 * deadline ended the retries); or a negative errno with err saying why
 * there is no answer (err may be left empty when there is nothing to add
 * to the errno, as for -ENOMEM).
 */
int client_request(struct client *c, struct proto_msg *m, struct proto_msg *resp, bool retry,
    char *err, size_t errlen);

/*
 * Read the next frame on the connection (a watch's events), into *m, valid
 * until the next call on c.  0, or a negative errno with err filled.
 */
int client_next(struct client *c, struct proto_msg *m, char *err, size_t errlen);

/*
 * An ERROR answer r as one line on standard error, "raftconfctl: KIND:
 * message", the kind said once even when the daemon's message starts with
 * it.
 */
void client_print_error(const struct proto_msg *r);

/*
 * While a call on c waits for an answer, fd (-1: none) becoming readable
 * ends the wait, unless an answer is there to read: the call returns
 * -EINTR, never retried, with the connection dropped and the answer lost
 * (for a request that may be sent again, as a watch's POLL).
 */
void client_set_wake(struct client *c, int fd);

/* From now on, calls on c wait as long as it takes. */
void client_no_deadline(struct client *c);
/* From now on, calls on c give up seconds from now. */
void client_set_deadline(struct client *c, double seconds);
/* The monotonic clock, in seconds (deadlines, progress). */
double client_now(void);
/* Drop the connection (the next request makes a new one). */
void client_reset(struct client *c);

/*
 * How long a request waits for a daemon at the socket when none answers
 * (one restarting), from the request's start: --dial-timeout.  Until then,
 * all of the timeout.
 */
void client_set_dial(struct client *c, double seconds);

/* The deadline again the timeout of client_new() from now (a stream that moves). */
void client_renew_deadline(struct client *c);

#endif
