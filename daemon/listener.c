/*
 * listener.c — accept() failures paused, not spun on (contract in
 * listener.h).
 *
 * libevent hands the error callback the listener and the argument of its
 * accept callback, which for HTTP is evhttp's: the guards are found by
 * listener in a list of this module's (three in the daemon).
 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "log.h"

struct listener_guard {
	struct evconnlistener *l;
	struct event *timer;
	char what[128];
	bool (*may_accept)(void *);
	void *gate_arg;
	evconnlistener_cb accept_cb;
	void *arg;
	bool want_reserve;
	int reserve;	       /* -1: none held */
	bool failing;	       /* in a run of failures (logged once) */
	uint64_t last_fail_ms; /* the latest of the run */
	uint64_t first_fail_ms;
	unsigned pauses; /* in this run */
	struct listener_guard *next;
};

static struct listener_guard *guards;

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
timer_after(struct listener_guard *g, unsigned ms)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

	evtimer_add(g->timer, &tv);
}

/* A failure: the first of a run is told. */
static void
failed(struct listener_guard *g, int e, const char *meanwhile)
{
	g->last_fail_ms = mono_ms();
	if (g->failing)
		return;
	g->failing = true;
	g->first_fail_ms = g->last_fail_ms;
	g->pauses = 0;
	log_warning("%s: cannot accept connections: %s; %s", g->what, strerror(e), meanwhile);
}

static void
take_reserve(struct listener_guard *g)
{
	if (g->want_reserve && g->reserve < 0)
		g->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static bool
may_accept(const struct listener_guard *g)
{
	return g->may_accept == NULL || g->may_accept(g->gate_arg);
}

/* Out of descriptors: let the reserve go for the one connection waiting. */
static bool
accept_on_reserve(struct listener_guard *g, int e)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	if (g->reserve < 0)
		return false;
	close(g->reserve);
	g->reserve = -1;
	fd = accept4(evconnlistener_get_fd(g->l), (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		take_reserve(g);
		return false;
	}
	failed(g, e, "taking them one at a time on a descriptor kept in reserve");
	g->accept_cb(g->l, fd, (struct sockaddr *)&ss, (int)len, g->arg);
	timer_after(g, LISTENER_QUIET_MS);
	return true;
}

static void
error_cb(struct evconnlistener *l, void *unused)
{
	struct listener_guard *g;
	int e = EVUTIL_SOCKET_ERROR();

	for (g = guards; g && g->l != l; g = g->next)
		;
	if (g == NULL) { /* not reached: every guarded listener is listed */
		evconnlistener_disable(l);
		return;
	}
	if ((e == EMFILE || e == ENFILE) && accept_on_reserve(g, e))
		return;
	evconnlistener_disable(l);
	failed(g, e, "new ones wait in the backlog until it can");
	g->pauses++;
	timer_after(g, LISTENER_PAUSE_MS);
}

/*
 * After a pause: listen again.  While a run of failures lasts, come back
 * until there has been none for LISTENER_QUIET_MS, and say so then: one
 * line at the start of a run and one at its end, however often accept()
 * fails and works in between.
 */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener_guard *g = arg;
	uint64_t now = mono_ms();

	take_reserve(g);
	if (!may_accept(g)) {
		if (g->failing)
			timer_after(g, LISTENER_QUIET_MS);
		return;
	}
	evconnlistener_enable(g->l);
	if (!g->failing)
		return;
	if (now - g->last_fail_ms < LISTENER_QUIET_MS) {
		timer_after(g, LISTENER_QUIET_MS);
		return;
	}
	log_notice("%s: accepting connections again, after %llu s with %u pauses", g->what,
	    (unsigned long long)(g->last_fail_ms - g->first_fail_ms + 999) / 1000, g->pauses);
	g->failing = false;
}

struct listener_guard *
listener_guard_new(struct event_base *base, struct evconnlistener *l, const char *what,
    bool reserve, evconnlistener_cb accept_cb, void *arg)
{
	struct listener_guard *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	if ((g->timer = evtimer_new(base, timer_cb, g)) == NULL) {
		free(g);
		return NULL;
	}
	g->l = l;
	snprintf(g->what, sizeof(g->what), "%s", what);
	g->want_reserve = reserve && accept_cb != NULL;
	g->accept_cb = accept_cb;
	g->arg = arg;
	g->reserve = -1;
	take_reserve(g);
	evconnlistener_set_error_cb(l, error_cb);
	g->next = guards;
	guards = g;
	return g;
}

void
listener_guard_free(struct listener_guard *g)
{
	struct listener_guard **pp;

	if (g == NULL)
		return;
	for (pp = &guards; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	event_free(g->timer);
	if (g->reserve >= 0)
		close(g->reserve);
	free(g);
}

void
listener_guard_gate(struct listener_guard *g, bool (*fn)(void *), void *arg)
{
	if (g == NULL)
		return;
	g->may_accept = fn;
	g->gate_arg = arg;
}

void
listener_guard_refill(struct listener_guard *g)
{
	if (g)
		take_reserve(g);
}
