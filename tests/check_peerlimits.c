/*
 * check_peerlimits.c — unit tests of the peer port's bounds (daemon/peer.c):
 * the caps on connections before and after the handshake and per node id,
 * the idle deadline and the PINGs that keep a quiet link up, the budget of
 * unfinished frames, a connection closed at the first frame the caller
 * refuses (peer_refuse: a Raft message that does not decode), and log
 * lines rate-limited.
 *
 * As check_peer.c: peer_nets on one event_base, over TCP on 127.0.0.1, and
 * raw sockets playing the stranger.  The acceptor's bounds are set small
 * (peer_opts) so that each can be reached with a few connections.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "peer.h"
#include "proto.h"
#include "ratelimit.h"

#define DEADLINE   10.0
#define IDLE_MS	   400
#define HANDSHAKES 3
#define STRANGERS  6
#define BUDGET	   (1024 * 1024)
#define READAHEAD  (16 * 1024) /* peer.c's */

struct seen {
	int frames, ups, downs;
	char frame_from[RAFTCONF_MAX_ID + 1];
	uint64_t frame_conn;
	size_t frame_payload;
};

static struct event_base *base;
static struct event *tick;
static struct peer_net *acceptor;
static struct seen acc_seen;
static char acc_addr[64];
static bool drop_on_frame;
static char *logbuf;
static size_t loglen;
static FILE *logs;

static void
on_frame(void *arg, uint64_t conn, const char *peer_id, const struct proto_msg *m)
{
	struct seen *s = arg;

	s->frames++;
	snprintf(s->frame_from, sizeof(s->frame_from), "%s", peer_id);
	s->frame_conn = conn;
	if (m->type == PROTO_T_RAFT)
		s->frame_payload = m->raft.payload.len;
	if (drop_on_frame) {
		char why[64];

		snprintf(why, sizeof(why), "frame %d is not to its liking", s->frames);
		peer_refuse(acceptor, conn, why);
	}
}

static void
on_link(void *arg, const char *peer_id, bool up, bool reset)
{
	struct seen *s = arg;

	if (up)
		s->ups++;
	else
		s->downs++;
}

/* The node's configuration: "lead1" is a member it keeps no link to (the
 * leader of a learner). */
static bool
on_member(void *arg, const char *peer_id)
{
	return strcmp(peer_id, "lead1") == 0;
}

static const struct peer_callbacks callbacks = { on_frame, on_link, NULL, on_member };

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

static bool
wait_count(const int *counter, int n)
{
	double deadline = now() + DEADLINE;

	while (*counter < n && now() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	return *counter >= n;
}

static struct peer_net *
net_idle(const char *id, struct seen *s, unsigned idle_ms)
{
	struct peer_opts o = { .cluster = "test",
		.node_id = id,
		.address = "127.0.0.1:1",
		.idle_ms = idle_ms,
		.max_handshakes = HANDSHAKES,
		.max_strangers = STRANGERS,
		.frame_budget = BUDGET };
	struct peer_net *pn = NULL;

	ck_assert_int_eq(peer_net_new(base, &o, &callbacks, s, &pn), 0);
	return pn;
}

static struct peer_net *
net(const char *id, struct seen *s)
{
	return net_idle(id, s, IDLE_MS);
}

static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* pn listens on a free port of 127.0.0.1, written to addr. */
static void
listen_any(struct peer_net *pn, char *addr, size_t len)
{
	char err[256] = "";
	int rc = -EADDRINUSE;

	for (int i = 0; i < 20 && rc == -EADDRINUSE; i++) {
		snprintf(addr, len, "127.0.0.1:%d", free_port());
		rc = peer_listen(pn, addr, err, sizeof(err));
	}
	ck_assert_msg(rc == 0, "peer_listen: %s", err);
}

static void
setup(void)
{
	struct timeval tv = { 0, 10000 };

	memset(&acc_seen, 0, sizeof(acc_seen));
	drop_on_frame = false;
	logs = open_memstream(&logbuf, &loglen);
	ck_assert_ptr_nonnull(logs);
	log_set_stream(logs);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	ck_assert_int_eq(event_add(tick, &tv), 0);
	acceptor = net("n1", &acc_seen);
	listen_any(acceptor, acc_addr, sizeof(acc_addr));
}

static void
teardown(void)
{
	peer_net_free(acceptor);
	event_free(tick);
	event_base_free(base);
	log_set_stream(NULL);
	fclose(logs);
	free(logbuf);
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

/* ------------------------------------------------------- raw peers */

static int
raw_connect_to(const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_port = htons((uint16_t)atoi(strchr(addr, ':') + 1));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static int
raw_connect(void)
{
	return raw_connect_to(acc_addr);
}

/* Send all of buf, turning the loop while the socket is full. */
static void
raw_send(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	double deadline = now() + DEADLINE;

	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		ck_assert_msg(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "send: %s",
		    strerror(errno));
		ck_assert_msg(now() < deadline, "send: the other side does not read");
		event_base_loop(base, EVLOOP_ONCE);
	}
}

static void
raw_hello(int fd, const char *id)
{
	struct proto_msg m = { .type = PROTO_T_HELLO };
	struct proto_buf b;

	m.hello.version = PROTO_VERSION;
	m.hello.cluster = proto_cstr("test");
	m.hello.node_id = proto_cstr(id);
	m.hello.address = proto_cstr("127.0.0.1:1");
	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &m, NULL, 0), 0);
	raw_send(fd, b.data, b.len);
	proto_buf_free(&b);
}

static int pings_seen;

/*
 * Read what the acceptor sends until a whole frame, EOF or the deadline:
 * its type, 0 for EOF (or a reset), -1 for nothing by the deadline.
 * PINGs are counted in pings_seen and skipped.
 */
static int
raw_next(int fd, double seconds)
{
	double deadline = now() + seconds;
	uint8_t hdr[PROTO_HEADER_SIZE];
	size_t have = 0;

	while (now() < deadline) {
		ssize_t r = recv(fd, hdr + have, sizeof(hdr) - have, MSG_DONTWAIT);

		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 0;
		if (r > 0 && (have += (size_t)r) == sizeof(hdr)) {
			uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
			    (uint32_t)hdr[2] << 8 | hdr[3];
			uint8_t body[1024];

			/* the body of a HELLO or REJECT is here with its header */
			if (len > sizeof(hdr))
				recv(fd, body, len - sizeof(hdr) < sizeof(body)
					? len - sizeof(hdr)
					: sizeof(body),
				    MSG_DONTWAIT);
			if (hdr[5] != PROTO_T_PING)
				return hdr[5];
			pings_seen++;
			have = 0;
			continue;
		}
		event_base_loop(base, EVLOOP_ONCE);
	}
	return -1;
}

static bool
raw_sees_eof(int fd, double seconds)
{
	double deadline = now() + seconds;
	int t;

	while ((t = raw_next(fd, deadline - now())) > 0)
		;
	return t == 0;
}

/* A RAFT frame with a payload of n bytes; caller frees. */
static uint8_t *
raft_frame(size_t n, size_t *len)
{
	struct proto_msg m = { .type = PROTO_T_RAFT };
	struct proto_buf b;
	uint8_t *payload = calloc(1, n ? n : 1), *f;

	m.raft.payload = proto_mem(payload, n);
	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &m, NULL, 0), 0);
	f = malloc(b.len);
	memcpy(f, b.data, b.len);
	*len = b.len;
	proto_buf_free(&b);
	free(payload);
	return f;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_a_connection_quiet_after_its_hello_is_closed_at_the_idle_deadline)
{
	int fd = raw_connect();
	double t0 = now();

	raw_hello(fd, "quiet");
	ck_assert_int_eq(raw_next(fd, DEADLINE), PROTO_T_HELLO);
	ck_assert(raw_sees_eof(fd, DEADLINE));
	/* not before the deadline; the node counts whole milliseconds (mono_ms),
	 * so its 400 can be 399.x on this clock */
	ck_assert_double_ge(now() - t0, (IDLE_MS - 1) / 1000.0);
	ck_assert_int_eq(count_in_log("peer quiet (from 127.0.0.1:"), 1);
	ck_assert_int_eq(count_in_log("nothing received for 400 ms; closing"), 1);
	close(fd);
}
END_TEST

START_TEST(test_a_raw_peer_that_pings_stays_and_is_pinged)
{
	int fd = raw_connect();
	struct proto_msg m = { .type = PROTO_T_PING };
	struct proto_buf b;
	double end;

	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &m, NULL, 0), 0);
	raw_hello(fd, "pinger");
	ck_assert_int_eq(raw_next(fd, DEADLINE), PROTO_T_HELLO);
	/* Three idle deadlines, a PING every quarter of one: still open, and
	 * the acceptor, silent otherwise, PINGs too. */
	pings_seen = 0;
	end = now() + 3 * IDLE_MS / 1000.0;
	while (now() < end) {
		raw_send(fd, b.data, b.len);
		ck_assert_int_eq(raw_next(fd, IDLE_MS / 4000.0), -1);
	}
	ck_assert_int_ge(pings_seen, 2);
	ck_assert_int_eq(acc_seen.frames, 0); /* PINGs are the peer layer's own */
	proto_buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(test_a_quiet_link_between_two_nodes_stays_up)
{
	struct seen s = { 0 };
	struct peer_net *n2 = net("n2", &s);

	ck_assert_int_eq(peer_link(n2, "n1", acc_addr), 0);
	ck_assert(wait_count(&s.ups, 1));
	run_for(4 * IDLE_MS / 1000.0);
	ck_assert(peer_link_up(n2, "n1"));
	ck_assert_int_eq(s.downs, 0);
	ck_assert_int_eq(count_in_log("nothing received"), 0);
	peer_net_free(n2);
}
END_TEST

START_TEST(test_handshakes_over_the_cap_close_the_newest_then_the_oldest)
{
	int fd[HANDSHAKES + 2];

	for (int i = 0; i < HANDSHAKES; i++)
		fd[i] = raw_connect();
	run_for(0.1);
	/* The cap reached within a second: the newcomer goes. */
	fd[HANDSHAKES] = raw_connect();
	ck_assert(raw_sees_eof(fd[HANDSHAKES], DEADLINE));
	ck_assert_int_eq(raw_next(fd[0], 0.1), -1);
	/* After a second the oldest has had its chance: it goes instead. */
	run_for(1.0);
	fd[HANDSHAKES + 1] = raw_connect();
	ck_assert(raw_sees_eof(fd[0], DEADLINE));
	for (int i = 1; i < HANDSHAKES; i++)
		ck_assert_int_eq(raw_next(fd[i], 0.05), -1);
	/* and the newest can still say HELLO */
	raw_hello(fd[HANDSHAKES + 1], "late");
	ck_assert_int_eq(raw_next(fd[HANDSHAKES + 1], DEADLINE), PROTO_T_HELLO);
	for (int i = 0; i < HANDSHAKES + 2; i++)
		close(fd[i]);
}
END_TEST

START_TEST(test_a_fifth_connection_from_one_id_closes_its_oldest)
{
	int fd[RAFTCONF_MAX_CONNS_PER_ID + 1];

	for (int i = 0; i <= RAFTCONF_MAX_CONNS_PER_ID; i++) {
		fd[i] = raw_connect();
		raw_hello(fd[i], "twin");
		ck_assert_int_eq(raw_next(fd[i], DEADLINE), PROTO_T_HELLO);
	}
	ck_assert(raw_sees_eof(fd[0], DEADLINE));
	for (int i = 1; i <= RAFTCONF_MAX_CONNS_PER_ID; i++)
		ck_assert_int_eq(raw_next(fd[i], 0.05), -1);
	ck_assert_int_eq(count_in_log("4 connections from it already; closing the oldest"), 1);
	for (int i = 0; i <= RAFTCONF_MAX_CONNS_PER_ID; i++)
		close(fd[i]);
}
END_TEST

START_TEST(test_strangers_over_the_cap_are_refused_but_members_get_in)
{
	int fd[STRANGERS + 3];
	char id[16];

	/* n1 keeps a link to m1: m1 is a member (its address answers nothing). */
	ck_assert_int_eq(peer_link(acceptor, "m1", "127.0.0.1:9"), 0);
	for (int i = 0; i < STRANGERS; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		fd[i] = raw_connect();
		raw_hello(fd[i], id);
		ck_assert_int_eq(raw_next(fd[i], DEADLINE), PROTO_T_HELLO);
	}
	fd[STRANGERS] = raw_connect();
	raw_hello(fd[STRANGERS], "one-too-many");
	ck_assert_int_eq(raw_next(fd[STRANGERS], DEADLINE), PROTO_T_REJECT);
	ck_assert_int_eq(count_in_log("connections from nodes that are not members are open"), 1);
	fd[STRANGERS + 1] = raw_connect();
	raw_hello(fd[STRANGERS + 1], "m1");
	ck_assert_int_eq(raw_next(fd[STRANGERS + 1], DEADLINE), PROTO_T_HELLO);
	/* a member without a link (the callback says so) is no stranger */
	fd[STRANGERS + 2] = raw_connect();
	raw_hello(fd[STRANGERS + 2], "lead1");
	ck_assert_int_eq(raw_next(fd[STRANGERS + 2], DEADLINE), PROTO_T_HELLO);
	for (int i = 0; i < STRANGERS + 3; i++)
		close(fd[i]);
}
END_TEST

START_TEST(test_a_long_frame_before_the_handshake_closes_the_connection)
{
	/* a sound header of 2048 bytes, where only a HELLO may come */
	const uint8_t h[4] = { 0x00, 0x00, 0x08, 0x00 };
	int fd = raw_connect();

	raw_send(fd, h, sizeof(h));
	ck_assert(raw_sees_eof(fd, DEADLINE));
	ck_assert_int_eq(count_in_log("a frame of 2048 bytes before the handshake; closing"), 1);
	close(fd);
}
END_TEST

START_TEST(test_unfinished_frames_wait_for_the_budget_and_go_on_when_it_frees)
{
	size_t flen, part = 600 * 1024;
	uint8_t *f = raft_frame(700 * 1024, &flen);
	struct seen s = { 0 };
	/* patient: frames that wait must not time out here */
	struct peer_net *pn = net_idle("n5", &s, 60000);
	char addr[64];
	int a, b;
	double deadline;

	listen_any(pn, addr, sizeof(addr));
	a = raw_connect_to(addr);
	b = raw_connect_to(addr);

	raw_hello(a, "a1");
	raw_hello(b, "b1");
	ck_assert_int_eq(raw_next(a, DEADLINE), PROTO_T_HELLO);
	ck_assert_int_eq(raw_next(b, DEADLINE), PROTO_T_HELLO);
	/* a holds most of a frame of 700 KiB, b starts one: the budget of
	 * 1 MiB gives a what it needs, and b waits (not read beyond its
	 * read-ahead: the rest of what it sends stays in the kernel). */
	raw_send(a, f, part);
	deadline = now() + DEADLINE;
	while (peer_budget_used(pn) == 0 && now() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_uint_eq(peer_budget_used(pn), flen - READAHEAD);
	raw_send(b, f, 64 * 1024);
	run_for(0.3);
	ck_assert_uint_eq(peer_budget_used(pn), flen - READAHEAD);
	ck_assert_int_eq(s.frames, 0);
	/* a finishes and gives the budget back: b gets it, and its frame
	 * comes through as well. */
	raw_send(a, f + part, flen - part);
	ck_assert(wait_count(&s.frames, 1));
	ck_assert_str_eq(s.frame_from, "a1");
	raw_send(b, f + 64 * 1024, flen - 64 * 1024);
	ck_assert(wait_count(&s.frames, 2));
	ck_assert_uint_eq(s.frame_payload, 700 * 1024);
	ck_assert_uint_eq(peer_budget_used(pn), 0);
	free(f);
	close(a);
	close(b);
	peer_net_free(pn);
}
END_TEST

START_TEST(test_a_frame_the_caller_cannot_decode_closes_the_connection_at_the_first)
{
	size_t flen;
	uint8_t *f = raft_frame(4, &flen), two[256];
	int fd = raw_connect();

	ck_assert_uint_le(2 * flen, sizeof(two));
	memcpy(two, f, flen);
	memcpy(two + flen, f, flen);
	drop_on_frame = true;
	raw_hello(fd, "garbler");
	ck_assert_int_eq(raw_next(fd, DEADLINE), PROTO_T_HELLO);
	raw_send(fd, two, 2 * flen); /* two frames in one write */
	ck_assert(raw_sees_eof(fd, DEADLINE));
	ck_assert_int_eq(acc_seen.frames, 1);
	ck_assert_int_eq(count_in_log("peer garbler (from 127.0.0.1:"), 1);
	ck_assert_int_eq(count_in_log("frame 1 is not to its liking; closing"), 1);
	free(f);
	close(fd);
}
END_TEST

START_TEST(test_log_lines_about_a_flood_of_connections_are_rate_limited)
{
	const uint8_t bad[4] = { 0x7f, 0xff, 0xff, 0xff };
	int told = RATELIMIT_SOURCES - 1 + RATELIMIT_BURST, n = told + 25;
	char want[128];

	/* Each connection's line is told, for as many connections as the
	 * table holds; then the others share one burst. */
	ck_assert_int_le(told, RATELIMIT_TOTAL);
	for (int i = 0; i < n; i++) {
		int fd = raw_connect();

		raw_send(fd, bad, sizeof(bad));
		ck_assert(raw_sees_eof(fd, DEADLINE));
		close(fd);
	}
	ck_assert_int_eq(count_in_log("bad frame header"), told);
	/* What was held back is told, at the latest when the port closes. */
	peer_net_free(acceptor);
	acceptor = NULL;
	snprintf(want, sizeof(want), "%d more log lines about what peers sent were suppressed",
	    n - told);
	ck_assert_int_eq(count_in_log(want), 1);
}
END_TEST

static Suite *
peerlimits_suite(void)
{
	Suite *s = suite_create("peerlimits");
	TCase *tc = tcase_create("bounds");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_a_connection_quiet_after_its_hello_is_closed_at_the_idle_deadline);
	tcase_add_test(tc, test_a_raw_peer_that_pings_stays_and_is_pinged);
	tcase_add_test(tc, test_a_quiet_link_between_two_nodes_stays_up);
	tcase_add_test(tc, test_handshakes_over_the_cap_close_the_newest_then_the_oldest);
	tcase_add_test(tc, test_a_fifth_connection_from_one_id_closes_its_oldest);
	tcase_add_test(tc, test_strangers_over_the_cap_are_refused_but_members_get_in);
	tcase_add_test(tc, test_a_long_frame_before_the_handshake_closes_the_connection);
	tcase_add_test(tc, test_unfinished_frames_wait_for_the_budget_and_go_on_when_it_frees);
	tcase_add_test(
	    tc, test_a_frame_the_caller_cannot_decode_closes_the_connection_at_the_first);
	tcase_add_test(tc, test_log_lines_about_a_flood_of_connections_are_rate_limited);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(peerlimits_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
