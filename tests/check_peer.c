/*
 * check_peer.c — unit tests of the peer handshake (daemon/peer.c).
 *
 * Two or three peer_nets share one event_base in this process and talk
 * over TCP on 127.0.0.1; raw sockets play the misbehaving peer.  The loop
 * is run with event_base_loop(EVLOOP_ONCE) until a condition holds or a
 * deadline passes, a short persistent timer keeping each turn short.  The
 * acceptor listens on a port the kernel just handed out for 127.0.0.1:0
 * (tried again on another one if it was taken meanwhile).
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

#include "peer.h"
#include "proto.h"

#define DEADLINE	10.0
#define MAX_SEEN	16

/* What one peer_net's callbacks saw. */
struct seen {
	int frames;
	char frame_from[RAFTCONF_MAX_ID + 1];
	uint8_t frame_type;
	uint64_t frame_conn;
	char frame_text[64];
	int ups, downs;
	char up_id[RAFTCONF_MAX_ID + 1];
	int failures;
	uint64_t failed_conn;
	char why[RAFTCONF_MAX_ERROR + 1];
};

static struct event_base *base;
static struct event *tick;
static struct peer_net *acceptor;
static struct seen acc_seen;
static char acc_addr[64];

static void
on_frame(void *arg, uint64_t conn, const char *peer_id, const struct proto_msg *m)
{
	struct seen *s = arg;

	s->frames++;
	snprintf(s->frame_from, sizeof(s->frame_from), "%s", peer_id);
	s->frame_type = m->type;
	s->frame_conn = conn;
	if (m->type == PROTO_T_REJECT)
		snprintf(s->frame_text, sizeof(s->frame_text), "%.*s",
			 (int)m->reject.message.len, m->reject.message.ptr);
}

static void
on_link(void *arg, const char *peer_id, bool up, bool reset)
{
	struct seen *s = arg;

	if (up) {
		s->ups++;
		snprintf(s->up_id, sizeof(s->up_id), "%s", peer_id);
	} else {
		s->downs++;
	}
}

static void
on_once_failed(void *arg, uint64_t conn, const char *why)
{
	struct seen *s = arg;

	s->failures++;
	s->failed_conn = conn;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static const struct peer_callbacks callbacks = { on_frame, on_link, on_once_failed, NULL };

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

/* Run the loop until *counter >= n or the deadline. */
static bool
wait_count(const int *counter, int n)
{
	double deadline = now() + DEADLINE;

	while (*counter < n && now() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	return *counter >= n;
}

static struct peer_net *
net(const char *cluster, const char *id, struct seen *s)
{
	struct peer_opts o = { .cluster = cluster, .node_id = id, .address = "127.0.0.1:1" };
	struct peer_net *pn = NULL;

	ck_assert_int_eq(peer_net_new(base, &o, &callbacks, s, &pn), 0);
	return pn;
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

static void
setup(void)
{
	struct timeval tv = { 0, 10000 };
	char err[256] = "";
	int rc = -EADDRINUSE;

	memset(&acc_seen, 0, sizeof(acc_seen));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	ck_assert_int_eq(event_add(tick, &tv), 0);
	acceptor = net("test", "n1", &acc_seen);
	for (int i = 0; i < 20 && rc == -EADDRINUSE; i++) {
		snprintf(acc_addr, sizeof(acc_addr), "127.0.0.1:%d", free_port());
		rc = peer_listen(acceptor, acc_addr, err, sizeof(err));
	}
	ck_assert_msg(rc == 0, "peer_listen: %s", err);
}

static void
teardown(void)
{
	peer_net_free(acceptor);
	event_free(tick);
	event_base_free(base);
}

/* A frame to send once the handshake is done. */
static void
status_frame(struct proto_buf *b)
{
	struct proto_msg m = { .type = PROTO_T_STATUS, .id = 5 };

	proto_buf_init(b);
	ck_assert_int_eq(proto_encode(b, &m, NULL, 0), 0);
}

/* A raw TCP connection to the acceptor. */
static int
raw_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_port = htons((uint16_t)atoi(strchr(acc_addr, ':') + 1));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* The acceptor closes fd: EOF (or a reset) before the deadline. */
static bool
raw_sees_eof(int fd)
{
	double deadline = now() + DEADLINE;
	uint8_t b[512];

	while (now() < deadline) {
		ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);

		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		if (r < 0)
			ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s",
				      strerror(errno));
		event_base_loop(base, EVLOOP_ONCE);
	}
	return false;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_a_hello_with_a_wrong_cluster_name_is_refused_with_both_names)
{
	struct seen s = { 0 };
	struct peer_net *other = net("other", "n2", &s);
	struct proto_buf b;
	uint64_t conn = 0;

	status_frame(&b);
	ck_assert_int_eq(peer_dial_once(other, acc_addr, b.data, b.len, &conn), 0);
	ck_assert(wait_count(&s.failures, 1));
	ck_assert_uint_eq(s.failed_conn, conn);
	ck_assert_str_eq(s.why, "cluster name \"test\" expected, got \"other\"");
	/* nothing went through, and the refusal is said once */
	ck_assert_int_eq(acc_seen.frames, 0);
	ck_assert_int_eq(s.frames, 0);
	ck_assert_int_eq(s.ups, 0);
	{
		/* a dial from the right cluster, after it: served, and no second failure */
		struct seen t = { 0 };
		struct peer_net *right = net("test", "n3", &t);
		uint64_t c2;

		ck_assert_int_eq(peer_dial_once(right, acc_addr, b.data, b.len, &c2), 0);
		ck_assert(wait_count(&acc_seen.frames, 1));
		ck_assert_str_eq(acc_seen.frame_from, "n3");
		peer_net_free(right);
	}
	ck_assert_int_eq(s.failures, 1);
	ck_assert_int_eq(acc_seen.frames, 1);
	proto_buf_free(&b);
	peer_net_free(other);
}
END_TEST

START_TEST(test_a_hello_carrying_the_acceptors_own_node_id_is_refused)
{
	struct seen s = { 0 };
	struct peer_net *twin = net("test", "n1", &s);
	struct proto_buf b;
	uint64_t conn = 0;

	status_frame(&b);
	ck_assert_int_eq(peer_dial_once(twin, acc_addr, b.data, b.len, &conn), 0);
	ck_assert(wait_count(&s.failures, 1));
	ck_assert_str_eq(s.why, "node id \"n1\" is this node's own");
	ck_assert_int_eq(acc_seen.frames, 0);
	proto_buf_free(&b);
	peer_net_free(twin);
}
END_TEST

START_TEST(test_a_link_within_the_cluster_comes_up_and_carries_frames_both_ways)
{
	struct seen s = { 0 };
	struct peer_net *n2 = net("test", "n2", &s);
	struct proto_buf b;
	struct proto_msg ok = { .type = PROTO_T_OK, .id = 5 };
	struct proto_buf r;

	ck_assert(!peer_link_up(n2, "n1"));
	ck_assert_int_eq(peer_send(n2, "n1", "x", 1), -ENOTCONN);
	ck_assert_int_eq(peer_link(n2, "n1", acc_addr), 0);
	ck_assert(wait_count(&s.ups, 1));
	ck_assert_str_eq(s.up_id, "n1");
	ck_assert(peer_link_up(n2, "n1"));

	status_frame(&b);
	ck_assert_int_eq(peer_send(n2, "n1", b.data, b.len), 0);
	ck_assert(wait_count(&acc_seen.frames, 1));
	ck_assert_str_eq(acc_seen.frame_from, "n2");
	ck_assert_uint_eq(acc_seen.frame_type, PROTO_T_STATUS);

	/* the acceptor answers on the connection the frame came on */
	proto_buf_init(&r);
	ck_assert_int_eq(proto_encode(&r, &ok, NULL, 0), 0);
	ck_assert_int_eq(peer_reply(acceptor, acc_seen.frame_conn, r.data, r.len), 0);
	ck_assert(wait_count(&s.frames, 1));
	ck_assert_str_eq(s.frame_from, "n1");
	ck_assert_uint_eq(s.frame_type, PROTO_T_OK);
	ck_assert_int_eq(s.downs, 0);
	proto_buf_free(&r);
	proto_buf_free(&b);
	peer_net_free(n2);
}
END_TEST

START_TEST(test_a_frame_before_hello_closes_the_connection)
{
	struct proto_buf b;
	int fd = raw_connect();

	status_frame(&b);
	send(fd, b.data, b.len, MSG_NOSIGNAL);
	ck_assert(raw_sees_eof(fd));
	ck_assert_int_eq(acc_seen.frames, 0);
	proto_buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(test_an_absurd_frame_length_closes_the_connection)
{
	const uint8_t h[4] = { 0x7f, 0xff, 0xff, 0xff };
	int fd = raw_connect();

	send(fd, h, sizeof(h), MSG_NOSIGNAL);
	ck_assert(raw_sees_eof(fd));
	ck_assert_int_eq(acc_seen.frames, 0);
	close(fd);
}
END_TEST

START_TEST(test_a_refused_peer_is_told_why_and_its_link_comes_back)
{
	struct seen s = { 0 };
	struct peer_net *n2 = net("test", "n2", &s);
	struct proto_buf b;

	ck_assert_int_eq(peer_link(n2, "n1", acc_addr), 0);
	ck_assert(wait_count(&s.ups, 1));
	status_frame(&b);
	ck_assert_int_eq(peer_send(n2, "n1", b.data, b.len), 0);
	ck_assert(wait_count(&acc_seen.frames, 1));
	/* n1 refuses what came on its inbound connection: n2 hears why, the
	 * connection closes, and n2's link is dialled again */
	peer_refuse(acceptor, acc_seen.frame_conn, "a STATUS request is not served here");
	ck_assert(wait_count(&s.frames, 1));
	ck_assert_uint_eq(s.frame_type, PROTO_T_REJECT);
	ck_assert_str_eq(s.frame_text, "a STATUS request is not served here");
	ck_assert(wait_count(&s.downs, 1));
	ck_assert(wait_count(&s.ups, 2));
	ck_assert_int_eq(peer_send(n2, "n1", b.data, b.len), 0);
	ck_assert(wait_count(&acc_seen.frames, 2));
	proto_buf_free(&b);
	peer_net_free(n2);
}
END_TEST

START_TEST(test_a_refused_outbound_link_is_dialled_again)
{
	struct seen s = { 0 };
	struct peer_net *n2 = net("test", "n2", &s);
	char addr[64], err[256] = "";
	struct proto_buf b;
	int rc = -EADDRINUSE;

	for (int i = 0; i < 20 && rc == -EADDRINUSE; i++) {
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", free_port());
		rc = peer_listen(n2, addr, err, sizeof(err));
	}
	ck_assert_msg(rc == 0, "peer_listen: %s", err);
	ck_assert_int_eq(peer_link(acceptor, "n2", addr), 0);
	ck_assert(wait_count(&acc_seen.ups, 1));
	/* n2 has no link to n1: it sends on the connection n1 dialled */
	status_frame(&b);
	for (double deadline = now() + DEADLINE; peer_send(n2, "n1", b.data, b.len) != 0;) {
		ck_assert(now() < deadline);
		event_base_loop(base, EVLOOP_ONCE);
	}
	ck_assert(wait_count(&acc_seen.frames, 1));
	ck_assert_str_eq(acc_seen.frame_from, "n2");
	peer_refuse(acceptor, acc_seen.frame_conn, "a lie");
	ck_assert(wait_count(&acc_seen.downs, 1));
	ck_assert(wait_count(&acc_seen.ups, 2));
	ck_assert(peer_link_up(acceptor, "n2"));
	proto_buf_free(&b);
	peer_net_free(n2);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *
peer_suite(void)
{
	Suite *s = suite_create("peer");
	TCase *tc;

	tc = tcase_create("handshake");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_a_hello_with_a_wrong_cluster_name_is_refused_with_both_names);
	tcase_add_test(tc, test_a_hello_carrying_the_acceptors_own_node_id_is_refused);
	tcase_add_test(tc, test_a_link_within_the_cluster_comes_up_and_carries_frames_both_ways);
	tcase_add_test(tc, test_a_frame_before_hello_closes_the_connection);
	tcase_add_test(tc, test_an_absurd_frame_length_closes_the_connection);
	tcase_add_test(tc, test_a_refused_peer_is_told_why_and_its_link_comes_back);
	tcase_add_test(tc, test_a_refused_outbound_link_is_dialled_again);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failures;

	sr = srunner_create(peer_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
