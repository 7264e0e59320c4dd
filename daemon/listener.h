/*
 * listener.h — what every listening socket of raftconfd (the peer port, the
 * control socket, HTTP) does when accept() fails.
 *
 * libevent's listener, left alone, logs "Error from accept() call" and
 * tries again at once: out of descriptors (EMFILE, ENFILE) that is a busy
 * loop writing millions of lines while the connection that cannot be taken
 * waits in the backlog.  A guarded listener is paused instead, for
 * LISTENER_PAUSE_MS at a time, until accept() works again; the first
 * failure of such a run is one log line, and its end (LISTENER_QUIET_MS
 * without a failure) another.
 *
 * A listener may also keep a descriptor in reserve (the control socket
 * does): when accept() fails for want of descriptors, the reserve is
 * closed to take that one connection, which is handed to the listener's own
 * callback as usual, and taken back (listener_guard_refill) as soon as a
 * descriptor is free again, so that raftconfctl gets in when nothing else
 * can.
 *
 * Owns its timer and the reserve; the listener stays its owner's.
 */
#ifndef RAFTCONF_LISTENER_H
#define RAFTCONF_LISTENER_H

#include <stdbool.h>

#include <event2/listener.h>

struct event_base;
struct listener_guard;

/* How long a listener rests after an accept() error. */
#define LISTENER_PAUSE_MS 100
/* A run of failures ends after this long without one. */
#define LISTENER_QUIET_MS 2000

/*
 * Guard l; what names it in log lines ("peer port 10.0.0.1:7000").  With
 * reserve, accept_cb and arg are what l calls for a connection (used for
 * the one taken on the reserve).  NULL when out of memory (then l is
 * unguarded, as before).
 */
struct listener_guard *listener_guard_new(struct event_base *base, struct evconnlistener *l,
    const char *what, bool reserve, evconnlistener_cb accept_cb, void *arg);
void listener_guard_free(struct listener_guard *g);

/*
 * For an owner that pauses l itself (HTTP at its connection limit): the
 * guard enables l again only when may_accept(arg) says so.
 */
void listener_guard_gate(struct listener_guard *g, bool (*may_accept)(void *), void *arg);

/* A descriptor was closed: take the reserve back if it was used. */
void listener_guard_refill(struct listener_guard *g);

#endif
