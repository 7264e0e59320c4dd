/*
 * check_listener.c — unit tests of what a listener does when accept()
 * fails (daemon/listener.c).
 *
 * The process runs out of descriptors for real: clients connect first
 * (they wait in the backlog), then the soft limit of open files is set so
 * low that accept() fails with EMFILE.  Each test runs in its own process
 * (Check forks), so the limit does not outlive it.  Log lines are caught
 * with log_set_stream().
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "listener.h"
#include "log.h"

#define CLIENTS 10

static struct event_base *base;
static struct event *tick;
static struct evconnlistener *lis;
static struct sockaddr_in addr;
static int accepted[64], naccepted;
static int clients[CLIENTS];
static struct rlimit orig_limit;
static char *logbuf;
static size_t loglen;
static FILE *logs;

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	if (naccepted < (int)(sizeof(accepted) / sizeof(accepted[0])))
		accepted[naccepted++] = fd;
	else
		close(fd);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
run_for(double seconds)
{
	double end = now() + seconds;

	while (now() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

/* Run the loop until the log holds want, or 10 s. */
static bool
log_says(const char *want)
{
	double end = now() + 10;

	for (;;) {
		fflush(logs);
		if (logbuf && strstr(logbuf, want))
			return true;
		if (now() > end)
			return false;
		event_base_loop(base, EVLOOP_ONCE);
	}
}

static int
count_in_log(const char *what)
{
	int n = 0;

	fflush(logs);
	for (const char *p = logbuf; p && (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

static void
setup(void)
{
	struct timeval tv = { 0, 10000 };
	socklen_t len = sizeof(addr);

	naccepted = 0;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &orig_limit), 0);
	logs = open_memstream(&logbuf, &loglen);
	ck_assert_ptr_nonnull(logs);
	log_set_stream(logs);
	base = event_base_new();
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lis = evconnlistener_new_bind(base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, (struct sockaddr *)&addr,
	    sizeof(addr));
	ck_assert_ptr_nonnull(lis);
	ck_assert_int_eq(getsockname(evconnlistener_get_fd(lis), (struct sockaddr *)&addr, &len), 0);
}

static void
teardown(void)
{
	evconnlistener_free(lis);
	event_free(tick);
	event_base_free(base);
	log_set_stream(NULL);
	fclose(logs);
	free(logbuf);
}

/* CLIENTS connections waiting in the backlog. */
static void
connect_clients(void)
{
	for (int i = 0; i < CLIENTS; i++) {
		clients[i] = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(clients[i], 0);
		ck_assert_int_eq(connect(clients[i], (struct sockaddr *)&addr, sizeof(addr)), 0);
	}
}

/* The lowest free descriptor: the soft limit there leaves none. */
static int
lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return fd;
}

static void
set_fd_limit(rlim_t n)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = n;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

START_TEST(test_out_of_descriptors_the_listener_pauses_with_one_log_line)
{
	struct listener_guard *g =
	    listener_guard_new(base, lis, "test port", false, NULL, NULL);

	ck_assert_ptr_nonnull(g);
	connect_clients();
	set_fd_limit((rlim_t)lowest_free_fd() + 2);
	/* A second of failures, tried again every LISTENER_PAUSE_MS. */
	run_for(1.0);
	ck_assert_int_le(naccepted, 2);
	ck_assert_int_eq(count_in_log("test port: cannot accept connections: Too many open files"), 1);
	ck_assert_int_eq(count_in_log("accepting connections again"), 0);
	/* Descriptors come back: the rest are taken, and the end is told. */
	set_fd_limit(orig_limit.rlim_cur);
	ck_assert(log_says("test port: accepting connections again"));
	ck_assert_int_eq(naccepted, CLIENTS);
	ck_assert_int_eq(count_in_log("cannot accept"), 1);
	listener_guard_free(g);
}
END_TEST

START_TEST(test_the_reserve_lets_one_connection_in_at_a_time)
{
	struct listener_guard *g = listener_guard_new(base, lis, "ctl", true, accept_cb, NULL);

	ck_assert_ptr_nonnull(g);
	connect_clients();
	/* Not one descriptor left, but for the reserve. */
	set_fd_limit((rlim_t)lowest_free_fd());
	run_for(0.5);
	ck_assert_int_eq(naccepted, 1);
	ck_assert_int_eq(count_in_log("ctl: cannot accept connections"), 1);
	/* That client leaves: its descriptor is the reserve again, and the
	 * next client gets in on it. */
	close(accepted[--naccepted]);
	listener_guard_refill(g);
	run_for(0.5);
	ck_assert_int_eq(naccepted, 1);
	ck_assert_int_eq(count_in_log("cannot accept"), 1);
	listener_guard_free(g);
}
END_TEST

static bool gate_open;

static bool
gate(void *arg)
{
	return gate_open;
}

START_TEST(test_a_listener_its_owner_paused_stays_paused)
{
	struct listener_guard *g = listener_guard_new(base, lis, "http", false, NULL, NULL);

	listener_guard_gate(g, gate, NULL);
	gate_open = false;
	connect_clients();
	set_fd_limit((rlim_t)lowest_free_fd());
	run_for(0.3);
	ck_assert_int_eq(naccepted, 0);
	/* The owner pauses it (its own limit) while descriptors come back: the
	 * guard does not enable it behind the owner's back. */
	evconnlistener_disable(lis);
	set_fd_limit(orig_limit.rlim_cur);
	run_for(0.5);
	ck_assert_int_eq(naccepted, 0);
	gate_open = true;
	evconnlistener_enable(lis);
	run_for(0.3);
	ck_assert_int_eq(naccepted, CLIENTS);
	listener_guard_free(g);
}
END_TEST

static Suite *
listener_suite(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("accept errors");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_out_of_descriptors_the_listener_pauses_with_one_log_line);
	tcase_add_test(tc, test_the_reserve_lets_one_connection_in_at_a_time);
	tcase_add_test(tc, test_a_listener_its_owner_paused_stays_paused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(listener_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
