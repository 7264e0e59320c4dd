/*
 * check_http_server.c — the HTTP server run in this process against a fake
 * node and raw client sockets: answers arriving later or at once, a client
 * that leaves before its answer, the connection limit and the idle
 * deadline (both set low in check_http.h).  The server's own files are
 * included here, so that the tests can look at its connection slots.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "check_http.h"

#include "http.c"
#include "http_conn.c"

/* ---------------------------------------------- a server in this process */

struct fake_node {
	int requests;
	uint64_t handle;
	struct proto_msg last;
	char key[RAFTCONF_MAX_KEY + 1];
	char value[64];
	size_t value_len;
	bool answer_at_once;		/* reply from inside the request callback */
	int reply_rc;
	struct http_server *hs;
	bool healthy;
	int authorize_status;	/* what fake_authorize answers */
	int authorized;		/* requests it was asked about */
	struct token_request asked; /* the last one */
	char asked_key[RAFTCONF_MAX_KEY + 1];
	char asked_authorization[256];
	int abandoned;		   /* requests the server gave up */
	uint64_t abandoned_handle; /* the last one */
};

static struct event_base *base;
static struct fake_node node;

static int
reply_value(uint64_t handle, uint64_t revision, const char *value)
{
	struct proto_msg m = { .type = PROTO_T_VALUE, .id = handle };
	struct proto_buf b;
	int rc;

	m.value_reply.revision = revision;
	m.value_reply.value = proto_cstr(value);
	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &m, NULL, 0), 0);
	rc = http_reply(node.hs, handle, b.data, b.len);
	proto_buf_free(&b);
	return rc;
}

static int
reply_error_code(uint64_t handle, uint16_t code, const char *text)
{
	struct proto_msg m = { .type = PROTO_T_ERROR, .id = handle };
	struct proto_buf b;
	int rc;

	m.error.code = code;
	m.error.message = proto_cstr(text);
	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &m, NULL, 0), 0);
	rc = http_reply(node.hs, handle, b.data, b.len);
	proto_buf_free(&b);
	return rc;
}

static void
fake_request(void *arg, uint64_t handle, const struct proto_msg *m)
{
	struct fake_node *n = arg;
	struct proto_str key = m->type == PROTO_T_SET ? m->set.key : m->type == PROTO_T_DEL ?
	    m->del.key : m->type == PROTO_T_LIST ? m->list.prefix : m->get.key;

	n->requests++;
	n->handle = handle;
	n->last = *m;
	ck_assert_uint_eq(m->id, handle);
	ck_assert_uint_lt(key.len, sizeof(n->key));
	memcpy(n->key, key.ptr, key.len);
	n->key[key.len] = '\0';
	n->value_len = 0;
	if (m->type == PROTO_T_SET) {
		ck_assert_uint_le(m->set.value.len, sizeof(n->value));
		memcpy(n->value, m->set.value.ptr, m->set.value.len);
		n->value_len = m->set.value.len;
	}
	if (n->answer_at_once)
		n->reply_rc = reply_value(handle, 11, "at once");
}

static void
fake_status(void *arg, struct evbuffer *out)
{
	evbuffer_add_printf(out, "{\"id\":\"n1\"}");
}

static int
fake_health(void *arg, char *why, size_t whylen)
{
	struct fake_node *n = arg;

	if (n->healthy)
		return 0;
	snprintf(why, whylen, "no leader known");
	return -1;
}

static void
fake_metrics(void *arg, struct evbuffer *out)
{
	evbuffer_add_printf(out, "raftconfd_term 3\n");
}

static int
fake_authorize(void *arg, const struct token_request *r, char *why, size_t whylen)
{
	struct fake_node *n = arg;

	n->authorized++;
	n->asked = *r;
	snprintf(n->asked_key, sizeof(n->asked_key), "%.*s", (int)r->klen, r->key ? r->key : "");
	snprintf(n->asked_authorization, sizeof(n->asked_authorization), "%s",
	    r->authorization ? r->authorization : "(none)");
	n->asked.key = n->asked_key;
	n->asked.authorization = n->asked_authorization;
	if (n->authorize_status != 0)
		snprintf(why, whylen, "refused by the fake node");
	return n->authorize_status;
}

static void
fake_abandoned(void *arg, uint64_t handle)
{
	struct fake_node *n = arg;

	n->abandoned++;
	n->abandoned_handle = handle;
}

static const struct http_callbacks fake_cb = {
	fake_request, fake_status, fake_health, fake_metrics, fake_authorize, fake_abandoned,
};

/* A port nobody listens on now (bound to 0 by the kernel, then released). */
static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static int port;

static void
server_setup(void)
{
	char listen[64], err[256];

	log_set_level(LOG_WARNING);
	memset(&node, 0, sizeof(node));
	node.healthy = true;
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ck_assert_msg(http_open(base, listen, &fake_cb, &node, &node.hs, err, sizeof(err)) == 0,
	    "http_open: %s", err);
}

static void
server_teardown(void)
{
	http_close(node.hs);
	event_base_free(base);
}

static int
client_connect(void)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(0x7f000001),
	};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void
client_send(int fd, const char *req)
{
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

/* Turn the loop once, waiting at most ms for something to happen. */
static void
loop_once(int ms)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };
	bool fired = false;
	struct event *t = evtimer_new(base, stop_cb, &fired);

	evtimer_add(t, &tv);
	event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

/* Run the loop until the node has seen n requests (2 s at most). */
static void
until_requests(int n)
{
	for (int i = 0; i < 200 && node.requests < n; i++)
		loop_once(10);
	ck_assert_int_eq(node.requests, n);
}

/* Run the loop until a whole response is on fd; it is returned (static). */
static const char *
client_response(int fd)
{
	static char buf[8192];
	size_t have = 0;

	for (int i = 0; i < 200; i++) {
		ssize_t r;
		const char *end, *cl;

		loop_once(10);
		while ((r = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
			have += r;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		cl = strstr(buf, "\r\nContent-Length: ");
		if (cl && cl < end && (size_t)(end + 4 - buf) + strtoul(cl + 18, NULL, 10) <= have)
			return buf;
		if (r == 0)
			return buf;
	}
	ck_abort_msg("no whole response; got \"%s\"", buf);
	return NULL;
}

static const char *
body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	return b ? b + 4 : "";
}

START_TEST(test_a_get_reaches_the_node_and_its_later_answer_the_client)
{
	int fd = client_connect();
	const char *resp;

	client_send(fd, "GET /v1/keys/app/db%2Fhost?stale HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(1);
	ck_assert_int_eq(node.last.type, PROTO_T_GET);
	ck_assert_int_eq(node.last.get.flags, PROTO_F_STALE | PROTO_F_META);
	ck_assert_str_eq(node.key, "/app/db/host");
	ck_assert_int_eq(reply_value(node.handle, 42, "10.0.0.5"), 0);
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nX-Raftconf-Revision: 42\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: application/octet-stream\r\n"));
	ck_assert_str_eq(body_of(resp), "10.0.0.5");
	/* The handle is spent: a second answer finds nobody. */
	ck_assert_int_eq(reply_value(node.handle, 42, "again"), -ENOTCONN);
	close(fd);
}
END_TEST

START_TEST(test_an_answer_given_inside_the_request_callback_is_sent)
{
	int fd = client_connect();
	const char *resp;

	node.answer_at_once = true;
	client_send(fd, "GET /v1/keys/k HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(1);
	ck_assert_int_eq(node.reply_rc, 0);
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
	ck_assert_str_eq(body_of(resp), "at once");
	/* The connection serves the next request too. */
	node.answer_at_once = false;
	client_send(fd, "DELETE /v1/keys/k HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(2);
	ck_assert_int_eq(node.last.type, PROTO_T_DEL);
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOTFOUND, "key not found: /k"), 0);
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 404 ", 13) == 0, "%s", resp);
	ck_assert_str_eq(body_of(resp), "{\"error\":\"key not found: /k\"}\n");
	close(fd);
}
END_TEST

/* Is the watch on c's socket (http_conn.c) on? */
static bool
watching(uint64_t handle_or_0, struct conn *c)
{
	if (c == NULL)
		c = conn_by_handle(node.hs, handle_or_0);
	ck_assert_ptr_nonnull(c);
	return c->watch != NULL && event_pending(c->watch, EV_READ, NULL);
}

START_TEST(test_the_watch_stays_on_between_requests_and_steps_aside_for_a_pipelined_one)
{
	int fd = client_connect();
	const char *resp;
	struct conn *c;

	client_send(fd, "GET /v1/keys/a HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(1);
	c = conn_by_handle(node.hs, node.handle);
	ck_assert(watching(0, c));
	ck_assert_int_eq(reply_value(node.handle, 1, "one"), 0);
	resp = client_response(fd);
	ck_assert_str_eq(body_of(resp), "one");
	/* Answered, the connection idle: the watch is still on, so that the
	 * socket's interest in epoll stays the same from request to request. */
	for (int i = 0; i < 3; i++)
		loop_once(10);
	ck_assert(watching(0, c));
	/* The next request sent before the answer to this one: it waits in
	 * the socket while the first is with the node (evhttp is not reading),
	 * and the watch, which would fire for it in every round, steps aside. */
	client_send(fd, "GET /v1/keys/b HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(2);
	ck_assert_str_eq(node.key, "/b");
	client_send(fd, "GET /v1/keys/c HTTP/1.1\r\nHost: x\r\n\r\n");
	for (int i = 0; i < 5 && watching(0, c); i++)
		loop_once(10);
	ck_assert(!watching(0, c));
	ck_assert_int_eq(node.requests, 2);
	/* Answered, the second is read, and the watch is on again. */
	ck_assert_int_eq(reply_value(node.handle, 2, "two"), 0);
	resp = client_response(fd);
	ck_assert_str_eq(body_of(resp), "two");
	until_requests(3);
	ck_assert_str_eq(node.key, "/c");
	ck_assert(watching(node.handle, NULL));
	ck_assert_int_eq(reply_value(node.handle, 3, "three"), 0);
	resp = client_response(fd);
	ck_assert_str_eq(body_of(resp), "three");
	/* The client gone while idle: evhttp frees the connection, and the
	 * watch goes with it (or the socket's end would wake it in every
	 * round until the sweep). */
	close(fd);
	for (int i = 0; i < 100 && watching(0, c); i++)
		loop_once(10);
	ck_assert(!watching(0, c));
}
END_TEST

START_TEST(test_a_client_gone_before_the_answer_makes_reply_enotconn)
{
	int fd = client_connect(), fd2;
	uint64_t h;

	client_send(fd, "PUT /v1/keys/w HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
	until_requests(1);
	ck_assert_int_eq(node.last.type, PROTO_T_SET);
	ck_assert_str_eq(node.key, "/w");
	ck_assert_uint_eq(node.value_len, 3);
	ck_assert_uint_ne(node.last.set.client_id, 0);
	h = node.handle;
	ck_assert_ptr_nonnull(conn_by_handle(node.hs, h));
	ck_assert_int_eq(node.abandoned, 0);
	close(fd);
	/* The server notices by itself, before any answer comes, and tells
	 * the node (which forgets a waiting watch). */
	for (int i = 0; i < 100 && conn_by_handle(node.hs, h); i++)
		loop_once(10);
	ck_assert_ptr_null(conn_by_handle(node.hs, h));
	ck_assert_int_eq(node.abandoned, 1);
	ck_assert_uint_eq(node.abandoned_handle, h);
	ck_assert_int_eq(reply_value(h, 1, "late"), -ENOTCONN);
	ck_assert_int_eq(reply_value(h, 1, "later"), -ENOTCONN);
	/* The slot is reused by the next client, whose handle differs. */
	for (int i = 0; i < 10; i++)
		loop_once(10);
	fd2 = client_connect();
	client_send(fd2, "GET /v1/keys/w HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(2);
	ck_assert_uint_ne(node.handle, h);
	/* A client that left in the same instant as the answer: found out
	 * when the answer comes. */
	h = node.handle;
	shutdown(fd2, SHUT_WR);
	ck_assert_int_eq(reply_value(h, 1, "nobody"), -ENOTCONN);
	close(fd2);
	for (int i = 0; i < 10; i++)
		loop_once(10);
	fd2 = client_connect();
	client_send(fd2, "GET /v1/keys/w HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(3);
	ck_assert_int_eq(reply_value(h, 1, "stale handle"), -ENOTCONN);
	ck_assert_int_eq(reply_value(node.handle, 2, "ok"), 0);
	ck_assert_str_eq(body_of(client_response(fd2)), "ok");
	close(fd2);
}
END_TEST

static int
reply_ok(uint64_t handle, uint64_t revision)
{
	struct proto_msg m = { .type = PROTO_T_OK, .id = handle };
	struct proto_buf b;
	int rc;

	m.ok.revision = revision;
	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &m, NULL, 0), 0);
	rc = http_reply(node.hs, handle, b.data, b.len);
	proto_buf_free(&b);
	return rc;
}

/*
 * Every write carries a request id, the client's or the server's own, and
 * one answered "no leader" or "timeout" is asked again with the same id
 * (issue 18): the client sees the answer to the last try.
 */
START_TEST(test_writes_carry_the_request_id_header_or_a_counter)
{
	int fd = client_connect();
	uint64_t client;
	const char *resp;

	client_send(fd, "PUT /v1/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1");
	until_requests(1);
	client = node.last.set.client_id;
	ck_assert_uint_ne(client, 0);
	ck_assert_uint_eq(node.last.set.seq, 1);
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOLEADER, "no leader"), 0);
	until_requests(2); /* asked again, the same write */
	ck_assert_int_eq(node.last.type, PROTO_T_SET);
	ck_assert_uint_eq(node.last.set.client_id, client);
	ck_assert_uint_eq(node.last.set.seq, 1);
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_TIMEOUT, "outcome unknown"), 0);
	until_requests(3);
	ck_assert_uint_eq(node.last.set.client_id, client);
	ck_assert_uint_eq(node.last.set.seq, 1);
	ck_assert_int_eq(reply_ok(node.handle, 9), 0);
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "not 200: %s", resp);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nX-Raftconf-Revision: 9\r\n"));
	client_send(fd, "DELETE /v1/keys/a HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(4);
	ck_assert_uint_eq(node.last.del.client_id, client);
	ck_assert_uint_eq(node.last.del.seq, 2);
	/* Refused is an answer: not asked again. */
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_REFUSED, "newer write"), 0);
	ck_assert_msg(strncmp(client_response(fd), "HTTP/1.1 409 ", 13) == 0, "not 409");
	ck_assert_int_eq(node.requests, 4);
	client_send(fd, "PUT /v1/keys/a HTTP/1.1\r\nHost: x\r\n"
	    "X-Raftconf-Request-Id: 77-5\r\nContent-Length: 0\r\n\r\n");
	until_requests(5);
	ck_assert_uint_eq(node.last.set.client_id, 77);
	ck_assert_uint_eq(node.last.set.seq, 5);
	ck_assert_uint_eq(node.last.set.value.len, 0);
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOLEADER, "no leader"), 0);
	until_requests(6);
	ck_assert_uint_eq(node.last.set.client_id, 77);
	ck_assert_uint_eq(node.last.set.seq, 5);
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOTFOUND, "gone"), 0);
	ck_assert_msg(strncmp(client_response(fd), "HTTP/1.1 404 ", 13) == 0, "not 404");
	/* A read is not asked again: its client may retry as it likes. */
	client_send(fd, "GET /v1/keys/a HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(7);
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOLEADER, "no leader"), 0);
	ck_assert_msg(strncmp(client_response(fd), "HTTP/1.1 503 ", 13) == 0, "not 503");
	ck_assert_int_eq(node.requests, 7);
	close(fd);
}
END_TEST

/* A client that leaves while its write waits to be asked again: the slot is freed, no retry. */
START_TEST(test_a_client_gone_while_its_write_waits_stops_the_retries)
{
	int fd = client_connect();

	client_send(fd, "PUT /v1/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1");
	until_requests(1);
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOLEADER, "no leader"), 0);
	until_requests(2);
	/* The second "no leader" sets the pause (40 ms); the client leaves in it. */
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOLEADER, "no leader"), 0);
	close(fd);
	for (int i = 0; i < 60; i++)
		loop_once(10);
	ck_assert_int_eq(node.requests, 2);
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOLEADER, "no leader"), -ENOTCONN);
}
END_TEST

START_TEST(test_bad_requests_get_json_errors_without_reaching_the_node)
{
	static const struct { const char *req; const char *status; } cases[] = {
		{ "POST /v1/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", " 405 " },
		{ "GET /v1/keys/a%zz HTTP/1.1\r\nHost: x\r\n\r\n", " 400 " },
		{ "GET /v1/keys/a%00 HTTP/1.1\r\nHost: x\r\n\r\n", " 400 " },
		{ "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", " 404 " },
		{ "DELETE /v1/keys/a?list HTTP/1.1\r\nHost: x\r\n\r\n", " 400 " },
		{ "PUT /v1/keys/a HTTP/1.1\r\nHost: x\r\nX-Raftconf-Request-Id: 0-1\r\n"
		  "Content-Length: 0\r\n\r\n", " 400 " },
	};
	int fd = client_connect();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *resp;

		client_send(fd, cases[i].req);
		resp = client_response(fd);
		ck_assert_msg(strncmp(resp + 8, cases[i].status, 5) == 0, "%s -> %s",
		    cases[i].req, resp);
		ck_assert_msg(strncmp(body_of(resp), "{\"error\":\"", 10) == 0, "%s", resp);
		ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: application/json\r\n"));
		if (i == 0)
			ck_assert_ptr_nonnull(strstr(resp,
			    "\r\nAllow: GET, HEAD, PUT, DELETE\r\n"));
	}
	ck_assert_int_eq(node.requests, 0);
	close(fd);
}
END_TEST

START_TEST(test_a_value_over_the_limit_is_413_in_json)
{
	static char body[RAFTCONF_MAX_VALUE + 1];
	char head[256];
	const char *resp;
	int fd = client_connect();
	size_t off = 0;

	snprintf(head, sizeof(head), "PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: %zu\r\n\r\n", sizeof(body));
	client_send(fd, head);
	memset(body, 'v', sizeof(body));
	/* The socket is non-blocking: feed it while the server reads. */
	for (int i = 0; i < 100000 && off < sizeof(body); i++) {
		ssize_t w = write(fd, body + off, sizeof(body) - off);

		if (w > 0)
			off += w;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert_uint_eq(off, sizeof(body));
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 413 ", 13) == 0, "%s", resp);
	ck_assert_ptr_nonnull(strstr(body_of(resp), "limit"));
	ck_assert_int_eq(node.requests, 0);
	close(fd);
}
END_TEST

/* Write all of p to the non-blocking fd, turning the loop while the server reads. */
static void
client_send_all(int fd, const char *p, size_t len)
{
	size_t off = 0;

	for (int i = 0; i < 100000 && off < len; i++) {
		ssize_t w = write(fd, p + off, len - off);

		if (w > 0)
			off += w;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert_uint_eq(off, len);
}

/* The contract's error form: 413, application/json, {"error":"..."}. */
static void
assert_json_413(const char *resp, size_t body_len)
{
	char want[128];

	ck_assert_msg(strncmp(resp, "HTTP/1.1 413 ", 13) == 0, "%s", resp);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: application/json\r\n"));
	snprintf(want, sizeof(want), "{\"error\":\"value of %zu bytes; the limit is %d\"}\n",
	    body_len, RAFTCONF_MAX_VALUE);
	ck_assert_str_eq(body_of(resp), want);
}

/*
 * libevent refuses bodies over its own cap itself, with an HTML page; the
 * cap is above RAFTCONF_MAX_VALUE so that every body up to it reaches the
 * handler, which answers in JSON.  The largest such body:
 */
START_TEST(test_a_body_at_libevents_cap_is_refused_in_json)
{
	static char body[HTTP_MAX_BODY_SIZE];
	char head[256];
	int fd = client_connect();

	snprintf(head, sizeof(head), "PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: %zu\r\n\r\n", sizeof(body));
	client_send(fd, head);
	memset(body, 'v', sizeof(body));
	client_send_all(fd, body, sizeof(body));
	assert_json_413(client_response(fd), sizeof(body));
	ck_assert_int_eq(node.requests, 0);
	close(fd);
}
END_TEST

START_TEST(test_a_chunked_body_over_the_limit_is_refused_in_json)
{
	static char req[RAFTCONF_MAX_VALUE + 4096];
	const size_t chunk = 64 * 1024;
	size_t len = 0, sent;
	int fd = client_connect();

	client_send(fd, "PUT /v1/keys/big HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	/* RAFTCONF_MAX_VALUE bytes in chunks, then one more, then the end. */
	for (sent = 0; sent < RAFTCONF_MAX_VALUE; sent += chunk) {
		len += (size_t)snprintf(req + len, sizeof(req) - len, "%zx\r\n", chunk);
		memset(req + len, 'v', chunk);
		len += chunk;
		memcpy(req + len, "\r\n", 2);
		len += 2;
	}
	len += (size_t)snprintf(req + len, sizeof(req) - len, "1\r\nv\r\n0\r\n\r\n");
	client_send_all(fd, req, len);
	assert_json_413(client_response(fd), RAFTCONF_MAX_VALUE + 1);
	ck_assert_int_eq(node.requests, 0);
	close(fd);
}
END_TEST

START_TEST(test_status_health_and_metrics_come_from_the_callbacks)
{
	int fd = client_connect();
	const char *resp;

	client_send(fd, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
	ck_assert_str_eq(body_of(resp), "{\"id\":\"n1\"}\n");
	client_send(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_str_eq(body_of(client_response(fd)), "{\"health\":\"ok\"}\n");
	node.healthy = false;
	client_send(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 503 ", 13) == 0, "%s", resp);
	ck_assert_str_eq(body_of(resp), "{\"error\":\"no leader known\"}\n");
	client_send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4\r\n"));
	ck_assert_str_eq(body_of(resp), "raftconfd_term 3\n");
	ck_assert_int_eq(node.requests, 0);
	close(fd);
}
END_TEST

START_TEST(test_every_request_but_health_is_judged_with_its_header_key_and_address)
{
	int fd = client_connect();
	const char *resp;

	client_send(fd, "GET /v1/keys/app/x HTTP/1.1\r\nHost: x\r\n"
			"Authorization: Bearer s3cret\r\n\r\n");
	until_requests(1);
	ck_assert_int_eq(node.authorized, 1);
	ck_assert_int_eq(node.asked.need, TOKEN_NEED_READ);
	ck_assert_str_eq(node.asked_key, "/app/x");
	ck_assert(node.asked.loopback);
	ck_assert_str_eq(node.asked_authorization, "Bearer s3cret");
	ck_assert_int_eq(reply_value(node.handle, 3, "v"), 0);
	client_response(fd);

	client_send(fd, "PUT /v1/keys/app/y HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv");
	until_requests(2);
	ck_assert_int_eq(node.asked.need, TOKEN_NEED_WRITE);
	ck_assert_str_eq(node.asked_key, "/app/y");
	ck_assert_str_eq(node.asked_authorization, "(none)");
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOSPACE, "full"), 0);
	client_response(fd);

	client_send(fd, "DELETE /v1/keys/app/z HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(3);
	ck_assert_int_eq(node.asked.need, TOKEN_NEED_WRITE);
	ck_assert_str_eq(node.asked_key, "/app/z");
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOTFOUND, "no"), 0);
	client_response(fd);

	/* A listing is judged by its prefix. */
	client_send(fd, "GET /v1/keys/app/?list HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(4);
	ck_assert_int_eq(node.asked.need, TOKEN_NEED_READ);
	ck_assert_str_eq(node.asked_key, "/app/");
	ck_assert_int_eq(reply_error_code(node.handle, PROTO_E_NOTFOUND, "no"), 0);
	client_response(fd);

	client_send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
	ck_assert_int_eq(node.authorized, 5);
	ck_assert_int_eq(node.asked.need, TOKEN_NEED_ANY);

	/* Health is never asked about, whatever the node would say. */
	node.authorize_status = 403;
	client_send(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
	ck_assert_int_eq(node.authorized, 5);
	close(fd);
}
END_TEST

START_TEST(test_a_refused_request_is_401_or_403_in_json_and_never_reaches_the_node)
{
	int fd = client_connect();
	const char *resp;

	node.authorize_status = 401;
	client_send(fd, "GET /v1/keys/app/x HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 401 Unauthorized\r\n", 26) == 0, "%s", resp);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nWWW-Authenticate: Bearer realm=\"raftconfd\"\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: application/json\r\n"));
	ck_assert_str_eq(body_of(resp), "{\"error\":\"refused by the fake node\"}\n");

	client_send(fd, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 401 ", 13) == 0, "%s", resp);
	ck_assert_ptr_null(strstr(resp, "\"id\":\"n1\""));

	node.authorize_status = 403;
	client_send(fd, "PUT /v1/keys/etc/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 403 Forbidden\r\n", 24) == 0, "%s", resp);
	ck_assert_ptr_null(strstr(resp, "WWW-Authenticate"));
	ck_assert_str_eq(body_of(resp), "{\"error\":\"refused by the fake node\"}\n");

	client_send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 403 ", 13) == 0, "%s", resp);
	ck_assert_ptr_null(strstr(resp, "raftconfd_term"));
	ck_assert_int_eq(node.authorized, 4);
	ck_assert_int_eq(node.requests, 0);
	close(fd);
}
END_TEST

/* Has the server closed fd?  Turns the loop for up to ms; fails on data. */
static bool
closed_within(int fd, int ms)
{
	char b[256];

	for (int i = 0; i < ms / 10; i++) {
		ssize_t r = read(fd, b, sizeof(b));

		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		ck_assert_msg(r < 0, "the server answered: %.*s", (int)r, b);
		loop_once(10);
	}
	return false;
}

/* The sweep (http_conn.c) wakes the loop only while a connection is open. */
START_TEST(test_the_sweep_runs_only_while_connections_are_open)
{
	const char *resp;
	int fd, i;

	ck_assert(!evtimer_pending(node.hs->sweep_ev, NULL));
	fd = client_connect();
	client_send(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
	ck_assert_int_eq(node.hs->nconns, 1);
	ck_assert(evtimer_pending(node.hs->sweep_ev, NULL));
	close(fd);
	for (i = 0; i < 300 && evtimer_pending(node.hs->sweep_ev, NULL); i++)
		loop_once(10);
	ck_assert_int_eq(node.hs->nconns, 0);
	ck_assert_msg(!evtimer_pending(node.hs->sweep_ev, NULL), "the sweep still runs, no connection open");
	/* and it comes back with the next one */
	fd = client_connect();
	client_send(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
	resp = client_response(fd);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
	ck_assert(evtimer_pending(node.hs->sweep_ev, NULL));
	close(fd);
}
END_TEST

START_TEST(test_an_idle_client_is_cut_off)
{
	int fd = client_connect();

	ck_assert(closed_within(fd, 3000));
	close(fd);
}
END_TEST

START_TEST(test_a_client_trickling_its_request_is_cut_off)
{
	static const char req[] = "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n";
	int fd = client_connect();
	bool closed = false;

	/* A byte every 100 ms never lets a read time out; the whole request
	 * would take 3.7 s, over the 1 s deadline. */
	for (size_t i = 0; i < sizeof(req) - 1 && !closed; i++) {
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		closed = closed_within(fd, 100);
	}
	ck_assert(closed || closed_within(fd, 100));
	close(fd);
}
END_TEST

START_TEST(test_clients_over_the_connection_limit_wait_until_one_leaves)
{
	int fds[HTTP_MAX_CONNECTIONS], extra;
	const char *resp;
	char b[64];

	for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		fds[i] = client_connect();
	for (int i = 0; i < 100 && node.hs->nconns < HTTP_MAX_CONNECTIONS; i++)
		loop_once(10);
	ck_assert_uint_eq(node.hs->nconns, HTTP_MAX_CONNECTIONS);
	ck_assert(node.hs->paused);
	/* The kernel completes the connection; nobody serves it yet. */
	extra = client_connect();
	client_send(extra, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
	for (int i = 0; i < 20; i++)
		loop_once(10);
	ck_assert_int_lt(read(extra, b, sizeof(b)), 0);
	ck_assert_uint_eq(node.hs->nconns, HTTP_MAX_CONNECTIONS);
	/* One leaves: its slot is reclaimed and the waiting client served. */
	close(fds[0]);
	resp = client_response(extra);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
	ck_assert_uint_le(node.hs->nconns, HTTP_MAX_CONNECTIONS);
	for (int i = 1; i < HTTP_MAX_CONNECTIONS; i++)
		close(fds[i]);
	close(extra);
	for (int i = 0; i < 100 && node.hs->nconns > 0; i++)
		loop_once(10);
	ck_assert_uint_eq(node.hs->nconns, 0);
	ck_assert(!node.hs->paused);
}
END_TEST

START_TEST(test_closing_the_server_with_requests_in_flight_frees_everything)
{
	int fd = client_connect(), idle = client_connect();

	client_send(fd, "GET /v1/keys/pending HTTP/1.1\r\nHost: x\r\n\r\n");
	until_requests(1);
	http_close(node.hs);
	node.hs = NULL;		/* teardown's http_close(NULL) is a no-op */
	close(fd);
	close(idle);
}
END_TEST

START_TEST(test_open_refuses_bad_addresses_and_a_busy_port)
{
	struct http_server *hs = NULL;
	char listen[64], err[256];

	ck_assert_int_eq(http_open(base, "localhost:80", &fake_cb, &node, &hs, err, sizeof(err)),
	    -EINVAL);
	ck_assert_int_eq(http_open(base, "127.0.0.1", &fake_cb, &node, &hs, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "port"));
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ck_assert_int_eq(http_open(base, listen, &fake_cb, &node, &hs, err, sizeof(err)),
	    -EADDRINUSE);
	ck_assert_ptr_nonnull(strstr(err, listen));
	ck_assert_ptr_null(hs);
}
END_TEST

void
http_server_tests(Suite *s)
{
	TCase *tc;

	tc = tcase_create("server");
	tcase_add_checked_fixture(tc, server_setup, server_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_a_get_reaches_the_node_and_its_later_answer_the_client);
	tcase_add_test(tc, test_an_answer_given_inside_the_request_callback_is_sent);
	tcase_add_test(tc, test_a_client_gone_before_the_answer_makes_reply_enotconn);
	tcase_add_test(tc, test_the_watch_stays_on_between_requests_and_steps_aside_for_a_pipelined_one);
	tcase_add_test(tc, test_writes_carry_the_request_id_header_or_a_counter);
	tcase_add_test(tc, test_a_client_gone_while_its_write_waits_stops_the_retries);
	tcase_add_test(tc, test_bad_requests_get_json_errors_without_reaching_the_node);
	tcase_add_test(tc, test_a_value_over_the_limit_is_413_in_json);
	tcase_add_test(tc, test_a_body_at_libevents_cap_is_refused_in_json);
	tcase_add_test(tc, test_a_chunked_body_over_the_limit_is_refused_in_json);
	tcase_add_test(tc, test_status_health_and_metrics_come_from_the_callbacks);
	tcase_add_test(tc, test_every_request_but_health_is_judged_with_its_header_key_and_address);
	tcase_add_test(tc, test_a_refused_request_is_401_or_403_in_json_and_never_reaches_the_node);
	tcase_add_test(tc, test_the_sweep_runs_only_while_connections_are_open);
	tcase_add_test(tc, test_an_idle_client_is_cut_off);
	tcase_add_test(tc, test_a_client_trickling_its_request_is_cut_off);
	tcase_add_test(tc, test_clients_over_the_connection_limit_wait_until_one_leaves);
	tcase_add_test(tc, test_closing_the_server_with_requests_in_flight_frees_everything);
	tcase_add_test(tc, test_open_refuses_bad_addresses_and_a_busy_port);
	suite_add_tcase(s, tc);
}
