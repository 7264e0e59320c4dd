/*
 * check_control.c — unit tests of the control socket (daemon/control.c).
 *
 * Each test opens a control socket in a fresh temporary directory on its
 * own event_base and talks to it with plain AF_UNIX sockets, as raftconfctl
 * does, sending frames made with proto.h.  The loop is run with
 * event_base_loop(EVLOOP_ONCE) until a condition holds or a deadline
 * passes; a short persistent timer keeps each turn short.  To show that
 * something did NOT happen (a request held back), a second "probe" client
 * sends a request after the bytes in question: once the probe's request is
 * seen, the loop has had every chance to read the first client too.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "control.h"
#include "proto.h"

#define HDR		PROTO_HEADER_SIZE
#define DEADLINE	10.0	/* seconds for anything expected to happen */
#define MAX_SEEN	256

/* ------------------------------------------------------------ fixtures */

struct seen {
	uint64_t conn;
	uint8_t type;
	uint64_t id;
	char key[64];
};

static struct {
	char dir[32];
	char path[64];
	struct event_base *base;
	struct event *tick;
	struct control *ctl;
	struct seen req[MAX_SEEN];
	int nreq;
	uint64_t closed[MAX_SEEN];
	int nclosed;
	int ndrained;		/* drained callbacks, and the last one's conn */
	uint64_t drained_conn;
	bool answer_at_once;	/* the request callback replies OK itself */
	enum control_class klass; /* what admit says of every client */
} F;

static void
on_request(void *arg, uint64_t conn, const struct proto_msg *m)
{
	struct seen *s;

	ck_assert_ptr_eq(arg, &F);
	ck_assert_int_lt(F.nreq, MAX_SEEN);
	s = &F.req[F.nreq++];
	s->conn = conn;
	s->type = m->type;
	s->id = m->id;
	s->key[0] = '\0';
	if (m->type == PROTO_T_GET)
		snprintf(s->key, sizeof(s->key), "%.*s", (int)m->get.key.len, m->get.key.ptr);
	if (F.answer_at_once) {
		struct proto_msg ok = { .type = PROTO_T_OK, .id = m->id };
		struct proto_buf b;

		ok.ok.revision = m->id * 10;
		proto_buf_init(&b);
		ck_assert_int_eq(proto_encode(&b, &ok, NULL, 0), 0);
		ck_assert_int_eq(control_reply(F.ctl, conn, b.data, b.len), 0);
		proto_buf_free(&b);
	}
}

static void
on_closed(void *arg, uint64_t conn)
{
	ck_assert_ptr_eq(arg, &F);
	ck_assert_int_lt(F.nclosed, MAX_SEEN);
	F.closed[F.nclosed++] = conn;
}

static enum control_class
on_admit(void *arg, const struct control_client_info *who)
{
	ck_assert_ptr_eq(arg, &F);
	ck_assert_int_eq(who->pid, getpid());
	return F.klass;
}

static void
on_drained(void *arg, uint64_t conn)
{
	ck_assert_ptr_eq(arg, &F);
	F.ndrained++;
	F.drained_conn = conn;
}

static const struct control_callbacks callbacks = { on_request, on_closed, on_admit, on_drained };

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static void
setup(void)
{
	struct timeval tv = { 0, 10000 };
	char err[256] = "";

	memset(&F, 0, sizeof(F));
	snprintf(F.dir, sizeof(F.dir), "/tmp/check_control.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(F.dir));
	snprintf(F.path, sizeof(F.path), "%s/ctl.sock", F.dir);
	F.base = event_base_new();
	ck_assert_ptr_nonnull(F.base);
	F.tick = event_new(F.base, -1, EV_PERSIST, tick_cb, NULL);
	ck_assert_int_eq(event_add(F.tick, &tv), 0);
	ck_assert_msg(control_open(F.base, F.path, &callbacks, &F, &F.ctl, err, sizeof(err)) == 0,
		      "control_open: %s", err);
}

static void
teardown(void)
{
	control_close(F.ctl);
	event_free(F.tick);
	event_base_free(F.base);
	unlink(F.path);
	rmdir(F.dir);
}

/* ------------------------------------------------------------- helpers */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
run_once(void)
{
	event_base_loop(F.base, EVLOOP_ONCE);
}

static bool
nreq_at_least(int n)
{
	double deadline = now() + DEADLINE;

	while (F.nreq < n && now() < deadline)
		run_once();
	return F.nreq >= n;
}

static bool
nclosed_at_least(int n)
{
	double deadline = now() + DEADLINE;

	while (F.nclosed < n && now() < deadline)
		run_once();
	return F.nclosed >= n;
}

static int
client_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", F.path);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0, "connect: %s",
		      strerror(errno));
	return fd;
}

static void
client_send(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;

	while (n > 0) {
		ssize_t w = send(fd, q, n, MSG_NOSIGNAL);

		ck_assert_msg(w > 0, "send: %s", strerror(errno));
		q += w;
		n -= (size_t)w;
	}
}

/* Encode m into b (reset first). */
static void
encode(struct proto_buf *b, const struct proto_msg *m)
{
	char err[256] = "";

	proto_buf_reset(b);
	ck_assert_msg(proto_encode(b, m, err, sizeof(err)) == 0, "%s", err);
}

static void
send_get(int fd, uint64_t id, const char *key)
{
	struct proto_msg m = { .type = PROTO_T_GET, .id = id };
	struct proto_buf b;

	m.get.key = proto_cstr(key);
	proto_buf_init(&b);
	encode(&b, &m);
	client_send(fd, b.data, b.len);
	proto_buf_free(&b);
}

static void
send_status(int fd, uint64_t id)
{
	struct proto_msg m = { .type = PROTO_T_STATUS, .id = id };
	struct proto_buf b;

	proto_buf_init(&b);
	encode(&b, &m);
	client_send(fd, b.data, b.len);
	proto_buf_free(&b);
}

/*
 * Read one whole frame from fd into buf, running the loop meanwhile.
 * 1: a frame of *len bytes; 0: EOF; -1: nothing whole before the deadline.
 */
static int
client_recv_frame(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	double deadline = now() + DEADLINE;
	size_t have = 0, flen = 0;

	while (now() < deadline) {
		ssize_t r;

		if (have >= 4) {
			ck_assert_int_ne(proto_frame_check(buf, have, &flen), -EPROTO);
			ck_assert_uint_le(flen, cap);
		}
		if (have >= 4 && have >= flen) {
			*len = flen;
			return 1;
		}
		/* One frame only: never read past the end of this one. */
		r = recv(fd, buf + have, have < 4 ? 4 - have : flen - have, MSG_DONTWAIT);
		if (r == 0)
			return 0;
		if (r > 0) {
			have += (size_t)r;
			continue;
		}
		ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s",
			      strerror(errno));
		run_once();
	}
	return -1;
}

static void
expect_reply(int fd, uint8_t type, uint64_t id, struct proto_msg *out, uint8_t *buf, size_t cap)
{
	size_t len = 0;
	char err[256] = "";

	ck_assert_int_eq(client_recv_frame(fd, buf, cap, &len), 1);
	ck_assert_msg(proto_decode(buf, len, out, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(out->type == type, "a %s reply, %s expected", proto_type_name(out->type),
		      proto_type_name(type));
	ck_assert_uint_eq(out->id, id);
}

/* The server closed fd: a read sees EOF (a reset counts too). */
static bool
sees_eof(int fd)
{
	double deadline = now() + DEADLINE;
	uint8_t b[256];

	while (now() < deadline) {
		ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);

		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		if (r < 0)
			ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s",
				      strerror(errno));
		run_once();
	}
	return false;
}

/* A frame with a sound header around body (the crc computed unless bad_crc). */
static size_t
raw_frame(uint8_t *out, uint8_t type, const uint8_t *body, size_t blen, bool bad_crc)
{
	uint32_t n = (uint32_t)(HDR + blen), crc = proto_crc32c(0, body, blen) ^ (bad_crc ? 1 : 0);

	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	out[4] = PROTO_VERSION;
	out[5] = type;
	out[6] = out[7] = 0;
	out[8] = (uint8_t)(crc >> 24);
	out[9] = (uint8_t)(crc >> 16);
	out[10] = (uint8_t)(crc >> 8);
	out[11] = (uint8_t)crc;
	memcpy(out + HDR, body, blen);
	return HDR + blen;
}

/* A GET body: u64 id, u8 flags, s16 key of klen bytes of 'k'. */
static size_t
get_body(uint8_t *out, uint64_t id, size_t klen)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(id >> (56 - 8 * i));
	out[8] = 0;
	out[9] = (uint8_t)(klen >> 8);
	out[10] = (uint8_t)klen;
	out[11] = '/';
	memset(out + 12, 'k', klen - 1);
	return 11 + klen;
}

/* ------------------------------------------------------ the socket file */

START_TEST(test_the_socket_is_created_mode_0660)
{
	struct stat st;

	ck_assert_int_eq(stat(F.path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
}
END_TEST

START_TEST(test_a_second_open_on_a_socket_that_answers_is_refused)
{
	struct control *second = NULL;
	char err[256] = "";
	struct stat st;

	ck_assert_int_eq(control_open(F.base, F.path, &callbacks, &F, &second, err, sizeof(err)),
			 -EADDRINUSE);
	ck_assert_ptr_null(second);
	ck_assert_msg(strstr(err, F.path) != NULL, "the error does not name the socket: %s", err);
	/* and the first one still serves */
	ck_assert_int_eq(stat(F.path, &st), 0);
	{
		int fd = client_connect();

		send_status(fd, 5);
		ck_assert(nreq_at_least(1));
		ck_assert_uint_eq(F.req[0].id, 5);
		close(fd);
	}
}
END_TEST

START_TEST(test_a_stale_socket_file_nobody_answers_on_is_replaced)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *other = NULL;
	char path[80], err[256] = "";
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	/* A socket file left by a process that died: bound, never listened. */
	snprintf(path, sizeof(path), "%s/stale.sock", F.dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_msg(control_open(F.base, path, &callbacks, &F, &other, err, sizeof(err)) == 0,
		      "%s", err);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	control_close(other);
}
END_TEST

START_TEST(test_closing_the_control_socket_removes_its_file)
{
	control_close(F.ctl);
	F.ctl = NULL;
	ck_assert_int_eq(access(F.path, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* ------------------------------------------------------------ requests */

START_TEST(test_a_request_reaches_the_callback_with_its_fields)
{
	struct proto_msg m = { .type = PROTO_T_GET, .id = 0x0102030405060708ULL };
	struct proto_buf b;
	int fd = client_connect();

	m.get.flags = PROTO_F_STALE;
	m.get.key = proto_cstr("/app/db/host");
	proto_buf_init(&b);
	encode(&b, &m);
	client_send(fd, b.data, b.len);
	ck_assert(nreq_at_least(1));
	ck_assert_int_eq(F.nreq, 1);
	ck_assert_uint_eq(F.req[0].type, PROTO_T_GET);
	ck_assert_uint_eq(F.req[0].id, 0x0102030405060708ULL);
	ck_assert_str_eq(F.req[0].key, "/app/db/host");
	proto_buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(test_several_requests_in_one_write_reach_the_callback_in_order)
{
	struct proto_buf b;
	int fd = client_connect();

	proto_buf_init(&b);
	/* 100 requests, all appended to one buffer, sent with one write */
	for (uint64_t i = 0; i < 100; i++) {
		struct proto_msg m = { .type = PROTO_T_GET, .id = 1000 + i };
		char key[32];
		char err[256] = "";

		snprintf(key, sizeof(key), "/k/%u", (unsigned)i);
		m.get.key = proto_cstr(key);
		ck_assert_msg(proto_encode(&b, &m, err, sizeof(err)) == 0, "%s", err);
	}
	client_send(fd, b.data, b.len);
	ck_assert(nreq_at_least(100));
	for (int i = 0; i < 100; i++) {
		char key[32];

		snprintf(key, sizeof(key), "/k/%d", i);
		ck_assert_uint_eq(F.req[i].id, 1000 + (uint64_t)i);
		ck_assert_str_eq(F.req[i].key, key);
		ck_assert_uint_eq(F.req[i].conn, F.req[0].conn);
	}
	proto_buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(test_a_request_cut_at_every_byte_boundary_is_delivered_once_and_whole)
{
	struct proto_msg m = { .type = PROTO_T_GET, .id = 77 };
	struct proto_buf b;
	int probe = client_connect();

	m.get.key = proto_cstr("/split/here");
	proto_buf_init(&b);
	encode(&b, &m);
	for (size_t cut = 1; cut < b.len; cut++) {
		int fd = client_connect(), before = F.nreq;

		client_send(fd, b.data, cut);
		/* The probe's request comes after the first piece: once it is
		 * seen, the first piece has been read, and must be held. */
		send_status(probe, cut);
		ck_assert(nreq_at_least(before + 1));
		ck_assert_int_eq(F.nreq, before + 1);
		ck_assert_uint_eq(F.req[before].type, PROTO_T_STATUS);
		ck_assert_uint_eq(F.req[before].id, cut);

		client_send(fd, b.data + cut, b.len - cut);
		ck_assert(nreq_at_least(before + 2));
		ck_assert_int_eq(F.nreq, before + 2);
		ck_assert_uint_eq(F.req[before + 1].type, PROTO_T_GET);
		ck_assert_uint_eq(F.req[before + 1].id, 77);
		ck_assert_str_eq(F.req[before + 1].key, "/split/here");
		close(fd);
	}
	proto_buf_free(&b);
	close(probe);
}
END_TEST

START_TEST(test_a_request_callback_may_answer_at_once)
{
	uint8_t buf[256];
	struct proto_msg r;
	int fd = client_connect();

	F.answer_at_once = true;
	send_get(fd, 9, "/now");
	send_get(fd, 10, "/now");
	expect_reply(fd, PROTO_T_OK, 9, &r, buf, sizeof(buf));
	ck_assert_uint_eq(r.ok.revision, 90);
	expect_reply(fd, PROTO_T_OK, 10, &r, buf, sizeof(buf));
	ck_assert_uint_eq(r.ok.revision, 100);
	close(fd);
}
END_TEST

/* ------------------------------------------------------ broken clients */

START_TEST(test_half_a_frame_then_a_close_fires_closed_and_delivers_nothing)
{
	struct proto_msg m = { .type = PROTO_T_GET, .id = 3 };
	struct proto_buf b;
	int fd = client_connect(), probe = client_connect();

	m.get.key = proto_cstr("/half");
	proto_buf_init(&b);
	encode(&b, &m);
	/* the probe tells us when the connection was accepted and its handle */
	send_status(probe, 1);
	ck_assert(nreq_at_least(1));
	client_send(fd, b.data, b.len / 2);
	close(fd);
	ck_assert(nclosed_at_least(1));
	ck_assert_int_eq(F.nclosed, 1);
	ck_assert_uint_ne(F.closed[0], F.req[0].conn);
	ck_assert_int_eq(F.nreq, 1);
	/* the probe was not disturbed */
	send_status(probe, 2);
	ck_assert(nreq_at_least(2));
	ck_assert_int_eq(F.nclosed, 1);
	proto_buf_free(&b);
	close(probe);
}
END_TEST

static void
expect_header_closes(uint32_t announced)
{
	uint8_t h[4] = { (uint8_t)(announced >> 24), (uint8_t)(announced >> 16),
			 (uint8_t)(announced >> 8), (uint8_t)announced };
	int fd = client_connect(), before = F.nclosed;

	/* Only the four length bytes: refused without waiting for more. */
	client_send(fd, h, sizeof(h));
	ck_assert_msg(sees_eof(fd), "length %u: the connection was not closed", announced);
	ck_assert(nclosed_at_least(before + 1));
	ck_assert_int_eq(F.nreq, 0);
	close(fd);
}

START_TEST(test_an_oversized_length_prefix_closes_the_connection)
{
	expect_header_closes(RAFTCONF_MAX_FRAME + 1);
	expect_header_closes(0x7fffffff);
	expect_header_closes(0xffffffff);
}
END_TEST

START_TEST(test_a_readers_request_over_the_small_size_is_refused_and_dropped)
{
	static char value[64 * 1024];
	struct proto_msg m = { .type = PROTO_T_SET, .id = 77 }, r;
	struct proto_buf b;
	uint8_t buf[1024];
	int fd = client_connect();

	F.klass = CONTROL_READER;
	memset(value, 'v', sizeof(value));
	m.set.key = proto_cstr("/big");
	m.set.value = proto_mem(value, sizeof(value));
	proto_buf_init(&b);
	encode(&b, &m);
	client_send(fd, b.data, b.len);
	proto_buf_free(&b);
	expect_reply(fd, PROTO_T_ERROR, 77, &r, buf, sizeof(buf));
	ck_assert_uint_eq(r.error.code, PROTO_E_REFUSED);
	/* The connection goes on after it, and the big one never arrived. */
	send_status(fd, 78);
	ck_assert(nreq_at_least(1));
	ck_assert_uint_eq(F.req[0].id, 78);
	ck_assert_int_eq(F.nclosed, 0);
	close(fd);
}
END_TEST

START_TEST(test_a_writer_may_send_a_request_far_over_the_small_size)
{
	static char value[64 * 1024];
	struct proto_msg m = { .type = PROTO_T_SET, .id = 5 };
	struct proto_buf b;
	int fd = client_connect();

	memset(value, 'v', sizeof(value));
	m.set.key = proto_cstr("/big");
	m.set.value = proto_mem(value, sizeof(value));
	proto_buf_init(&b);
	encode(&b, &m);
	ck_assert_uint_gt(b.len, CONTROL_SMALL_FRAME);
	client_send(fd, b.data, b.len);
	proto_buf_free(&b);
	ck_assert(nreq_at_least(1));
	ck_assert_uint_eq(F.req[0].type, PROTO_T_SET);
	close(fd);
}
END_TEST

START_TEST(test_only_so_many_outsiders_are_connected_at_once)
{
	int fds[CONTROL_MAX_OUTSIDERS], extra, i;

	F.klass = CONTROL_OUTSIDER;
	for (i = 0; i < CONTROL_MAX_OUTSIDERS; i++) {
		fds[i] = client_connect();
		send_status(fds[i], (uint64_t)i + 1);
	}
	ck_assert(nreq_at_least(CONTROL_MAX_OUTSIDERS));
	extra = client_connect(); /* the kernel takes it; the daemon closes it */
	ck_assert_msg(sees_eof(extra), "an outsider over the cap was served");
	close(extra);
	/* One leaves: another gets in. */
	close(fds[0]);
	ck_assert(nclosed_at_least(1));
	extra = client_connect();
	send_status(extra, 99);
	ck_assert(nreq_at_least(CONTROL_MAX_OUTSIDERS + 1));
	ck_assert_uint_eq(F.req[CONTROL_MAX_OUTSIDERS].id, 99);
	close(extra);
	for (i = 1; i < CONTROL_MAX_OUTSIDERS; i++)
		close(fds[i]);
	/* Readers are not counted with them. */
	F.klass = CONTROL_READER;
	for (i = 0; i < CONTROL_MAX_OUTSIDERS + 4; i++)
		send_status(fds[i % CONTROL_MAX_OUTSIDERS] = client_connect(), 200 + (uint64_t)i);
	ck_assert(nreq_at_least(2 * CONTROL_MAX_OUTSIDERS + 5));
}
END_TEST

START_TEST(test_a_client_stuck_in_the_middle_of_a_request_is_closed_at_the_deadline)
{
	uint8_t body[64], frame[128];
	int fd = client_connect();
	size_t n = raw_frame(frame, PROTO_T_GET, body, get_body(body, 41, 5), false);
	double start = now(), deadline = start + CONTROL_PARTIAL_MS / 1000.0 + DEADLINE;

	client_send(fd, frame, n - 1);
	while (F.nclosed == 0 && now() < deadline)
		run_once();
	ck_assert_int_eq(F.nclosed, 1);
	ck_assert_msg(now() - start >= CONTROL_PARTIAL_MS / 1000.0 - 0.5,
		      "closed after %.1f s, before the deadline", now() - start);
	ck_assert_int_eq(F.nreq, 0);
	ck_assert(sees_eof(fd));
	close(fd);
}
END_TEST

/* The events the loop waits on: the sweep is one of them only while needed. */
static int
events_added(void)
{
	return event_base_get_num_events(F.base, EVENT_BASE_COUNT_ADDED);
}

/* Wait until events_added() is n; false at the deadline. */
static bool
events_become(int n, double seconds)
{
	double deadline = now() + seconds;

	while (events_added() != n && now() < deadline)
		run_once();
	return events_added() == n;
}

START_TEST(test_the_sweep_runs_only_while_a_request_is_unfinished)
{
	uint8_t body[64], frame[128];
	int idle = events_added(), connected, fd = client_connect();
	size_t n = raw_frame(frame, PROTO_T_GET, body, get_body(body, 43, 5), false);

	send_get(fd, 42, "/whole");
	ck_assert(nreq_at_least(1));
	/* the client's read event is added; nothing else waits */
	ck_assert_msg(events_become(idle + 1, DEADLINE), "%d events, idle %d", events_added(), idle);
	connected = events_added();
	/* half a request: the sweep is armed to watch it */
	client_send(fd, frame, n - 1);
	ck_assert_msg(events_become(connected + 1, DEADLINE), "%d events with half a request, %d before",
		      events_added(), connected);
	/* the rest: served, and the sweep's next run finds nothing to watch */
	client_send(fd, frame + n - 1, 1);
	ck_assert(nreq_at_least(2));
	ck_assert_msg(events_become(connected, DEADLINE), "%d events once the request was whole, %d before",
		      events_added(), connected);
	ck_assert_int_eq(F.nclosed, 0);
	close(fd);
	ck_assert(nclosed_at_least(1));
	ck_assert(events_become(idle, DEADLINE));
}
END_TEST

START_TEST(test_a_length_prefix_below_the_header_closes_the_connection)
{
	expect_header_closes(0);
	expect_header_closes(HDR - 1);
}
END_TEST

START_TEST(test_a_sound_header_around_a_bad_body_gets_an_error_and_the_connection_goes_on)
{
	uint8_t body[64], frame[128], buf[1024];
	struct proto_msg r;
	int fd = client_connect();
	size_t n = raw_frame(frame, PROTO_T_GET, body, get_body(body, 41, 5), true);

	client_send(fd, frame, n);
	expect_reply(fd, PROTO_T_ERROR, 0, &r, buf, sizeof(buf));
	ck_assert_uint_eq(r.error.code, PROTO_E_BADREQ);
	ck_assert_uint_gt(r.error.message.len, 0);
	ck_assert_int_eq(F.nreq, 0);
	/* a good request on the same connection is served */
	send_get(fd, 42, "/after");
	ck_assert(nreq_at_least(1));
	ck_assert_uint_eq(F.req[0].id, 42);
	ck_assert_int_eq(F.nclosed, 0);
	close(fd);
}
END_TEST

START_TEST(test_a_field_over_its_limit_is_answered_too_big_with_the_request_id)
{
	uint8_t body[RAFTCONF_MAX_KEY + 64], frame[RAFTCONF_MAX_KEY + 128], buf[1024];
	struct proto_msg r;
	int fd = client_connect();
	size_t n = raw_frame(frame, PROTO_T_GET, body,
			     get_body(body, 43, RAFTCONF_MAX_KEY + 1), false);

	client_send(fd, frame, n);
	expect_reply(fd, PROTO_T_ERROR, 43, &r, buf, sizeof(buf));
	ck_assert_uint_eq(r.error.code, PROTO_E_TOOBIG);
	ck_assert_int_eq(F.nreq, 0);
	/* the same frame with a key at the limit is a request */
	n = raw_frame(frame, PROTO_T_GET, body, get_body(body, 44, RAFTCONF_MAX_KEY), false);
	client_send(fd, frame, n);
	ck_assert(nreq_at_least(1));
	ck_assert_uint_eq(F.req[0].id, 44);
	close(fd);
}
END_TEST

START_TEST(test_a_response_sent_to_the_daemon_is_answered_not_a_request)
{
	struct proto_msg m = { .type = PROTO_T_OK, .id = 12 };
	struct proto_buf b;
	uint8_t buf[1024];
	struct proto_msg r;
	int fd = client_connect();

	proto_buf_init(&b);
	encode(&b, &m);
	client_send(fd, b.data, b.len);
	expect_reply(fd, PROTO_T_ERROR, 12, &r, buf, sizeof(buf));
	ck_assert_uint_eq(r.error.code, PROTO_E_BADREQ);
	ck_assert_int_eq(F.nreq, 0);
	proto_buf_free(&b);
	close(fd);
}
END_TEST

/* ------------------------------------------------------------- replies */

START_TEST(test_replies_reach_the_connection_they_name)
{
	int fd[3];
	uint64_t conn[3];
	struct proto_buf b;

	for (int i = 0; i < 3; i++) {
		fd[i] = client_connect();
		send_get(fd[i], 100 + i, "/who");
		ck_assert(nreq_at_least(i + 1));
		conn[i] = F.req[i].conn;
	}
	ck_assert_uint_ne(conn[0], conn[1]);
	ck_assert_uint_ne(conn[1], conn[2]);
	ck_assert_uint_ne(conn[0], conn[2]);
	/* Answer in reverse order, each with a value naming its client. */
	proto_buf_init(&b);
	for (int i = 2; i >= 0; i--) {
		struct proto_msg v = { .type = PROTO_T_VALUE, .id = 100 + i };
		char val[16];

		snprintf(val, sizeof(val), "client %d", i);
		v.value_reply.revision = 7;
		v.value_reply.value = proto_cstr(val);
		encode(&b, &v);
		ck_assert_int_eq(control_reply(F.ctl, conn[i], b.data, b.len), 0);
	}
	for (int i = 0; i < 3; i++) {
		uint8_t buf[256];
		struct proto_msg r;
		char want[16];

		snprintf(want, sizeof(want), "client %d", i);
		expect_reply(fd[i], PROTO_T_VALUE, 100 + i, &r, buf, sizeof(buf));
		ck_assert_uint_eq(r.value_reply.value.len, strlen(want));
		ck_assert_mem_eq(r.value_reply.value.ptr, want, strlen(want));
	}
	proto_buf_free(&b);
	for (int i = 0; i < 3; i++)
		close(fd[i]);
}
END_TEST

START_TEST(test_a_reply_to_a_client_that_went_away_is_refused)
{
	struct proto_msg ok = { .type = PROTO_T_OK, .id = 1 };
	struct control_client_info info;
	struct proto_buf b;
	int fd = client_connect();
	uint64_t conn;

	send_get(fd, 1, "/gone");
	ck_assert(nreq_at_least(1));
	conn = F.req[0].conn;
	close(fd);
	ck_assert(nclosed_at_least(1));
	ck_assert_uint_eq(F.closed[0], conn);

	proto_buf_init(&b);
	encode(&b, &ok);
	ck_assert_int_eq(control_reply(F.ctl, conn, b.data, b.len), -ENOTCONN);
	ck_assert_uint_eq(control_backlog(F.ctl, conn), 0);
	ck_assert_int_eq(control_client(F.ctl, conn, &info), -ENOTCONN);
	/* a new client is not reached through the old handle either */
	fd = client_connect();
	send_get(fd, 2, "/new");
	ck_assert(nreq_at_least(2));
	ck_assert_uint_ne(F.req[1].conn, conn);
	ck_assert_int_eq(control_reply(F.ctl, conn, b.data, b.len), -ENOTCONN);
	proto_buf_free(&b);
	close(fd);
}
END_TEST

/*
 * Client handles are slots with a generation (control.c); slots are taken
 * round-robin, so after CONTROL_MAX_CLIENTS - 1 other clients the next one
 * gets the slot of the first.  A late reply to the first must not reach it.
 */
START_TEST(test_a_late_reply_never_reaches_the_client_that_took_the_slot_of_a_gone_one)
{
	struct proto_msg ok = { .type = PROTO_T_OK, .id = 1 };
	struct proto_buf b;
	uint8_t buf[256];
	struct proto_msg r;
	int fd = client_connect(), others = 0;
	uint64_t gone;

	send_get(fd, 1, "/first");
	ck_assert(nreq_at_least(1));
	gone = F.req[0].conn;
	close(fd);
	ck_assert(nclosed_at_least(1));
	while (others < CONTROL_MAX_CLIENTS - 1) {
		int batch[64], n = 0;

		while (n < 64 && others + n < CONTROL_MAX_CLIENTS - 1) {
			batch[n] = client_connect();
			send_status(batch[n], 2);
			n++;
		}
		/* all accepted (each has said something) before any closes */
		F.nreq = 0;
		ck_assert(nreq_at_least(n));
		F.nclosed = 0;
		for (int i = 0; i < n; i++)
			close(batch[i]);
		ck_assert(nclosed_at_least(n));
		others += n;
	}
	F.nreq = F.nclosed = 0;
	fd = client_connect();
	send_get(fd, 3, "/next");
	ck_assert(nreq_at_least(1));

	proto_buf_init(&b);
	encode(&b, &ok);
	ck_assert_int_eq(control_reply(F.ctl, gone, b.data, b.len), -ENOTCONN);
	ok.id = 3;
	encode(&b, &ok);
	ck_assert_int_eq(control_reply(F.ctl, F.req[0].conn, b.data, b.len), 0);
	/* the first frame it sees is its own answer */
	expect_reply(fd, PROTO_T_OK, 3, &r, buf, sizeof(buf));
	proto_buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(test_the_closed_callback_fires_once_for_each_client_with_its_handle)
{
	int fd[4];

	for (int i = 0; i < 4; i++) {
		fd[i] = client_connect();
		send_status(fd[i], i);
		ck_assert(nreq_at_least(i + 1));
	}
	ck_assert_int_eq(F.nclosed, 0);
	/* closed in another order than opened */
	close(fd[2]);
	close(fd[0]);
	close(fd[3]);
	close(fd[1]);
	ck_assert(nclosed_at_least(4));
	/* a few more turns: nothing fires twice */
	{
		int probe = client_connect();

		send_status(probe, 99);
		ck_assert(nreq_at_least(5));
		close(probe);
		ck_assert(nclosed_at_least(5));
	}
	ck_assert_int_eq(F.nclosed, 5);
	for (int i = 0; i < 5; i++) {
		int matches = 0;

		for (int j = 0; j < 5; j++)
			matches += F.closed[j] == F.req[i].conn;
		ck_assert_msg(matches == 1, "client %d: closed fired %d times", i, matches);
	}
}
END_TEST

START_TEST(test_control_client_names_the_process_on_the_other_end)
{
	struct control_client_info info;
	int fd = client_connect();

	send_status(fd, 1);
	ck_assert(nreq_at_least(1));
	ck_assert_int_eq(control_client(F.ctl, F.req[0].conn, &info), 0);
	ck_assert_int_eq(info.pid, getpid());
	ck_assert_uint_eq(info.uid, getuid());
	ck_assert_uint_eq(info.gid, getgid());
	close(fd);
}
END_TEST

/*
 * A client on fd asks for its status; 1 MiB replies are then queued for it,
 * unread, until more than `over` bytes are.  Its connection in *conn; the
 * bytes queued returned.
 */
static size_t
queue_unread_replies(int fd, size_t over, uint64_t *conn)
{
	struct proto_msg v = { .type = PROTO_T_VALUE, .id = 1 };
	uint8_t *value = malloc(RAFTCONF_MAX_VALUE);
	struct proto_buf b;
	size_t queued = 0;

	ck_assert_ptr_nonnull(value);
	memset(value, 'v', RAFTCONF_MAX_VALUE);
	send_status(fd, 1);
	ck_assert(nreq_at_least(1));
	*conn = F.req[0].conn;
	v.value_reply.value = proto_mem(value, RAFTCONF_MAX_VALUE);
	proto_buf_init(&b);
	encode(&b, &v);
	while (queued <= over) {
		ck_assert_int_eq(control_reply(F.ctl, *conn, b.data, b.len), 0);
		queued += b.len;
	}
	proto_buf_free(&b);
	free(value);
	return queued;
}

/* Read what fd was sent until queued bytes came and *count reached want
 * (60 s at most), running the loop meanwhile; the bytes read returned. */
static size_t
drain_until(int fd, size_t queued, const int *count, int want)
{
	uint8_t *sink = malloc(1 << 20);
	double deadline = now() + 60;
	size_t drained = 0;

	ck_assert_ptr_nonnull(sink);
	while ((drained < queued || *count < want) && now() < deadline) {
		ssize_t r = recv(fd, sink, 1 << 20, MSG_DONTWAIT);

		if (r > 0)
			drained += (size_t)r;
		else
			run_once();
	}
	free(sink);
	return drained;
}

START_TEST(test_a_client_that_leaves_its_replies_unread_is_not_read_until_it_drains_them)
{
	int fd = client_connect(), probe = client_connect();
	uint64_t conn;
	size_t queued;

	/* Replies past CONTROL_MAX_OUTPUT, none of them read. */
	queued = queue_unread_replies(fd, CONTROL_MAX_OUTPUT, &conn);
	ck_assert_uint_gt(control_backlog(F.ctl, conn), CONTROL_MAX_OUTPUT / 4);

	/* Its next request is held; the probe's, sent after it, is not. */
	send_get(fd, 2, "/held");
	send_status(probe, 3);
	ck_assert(nreq_at_least(2));
	for (int i = 0; i < 10; i++)
		run_once();
	ck_assert_int_eq(F.nreq, 2);
	ck_assert_uint_eq(F.req[1].id, 3);

	/* Draining the replies lets the held request through. */
	ck_assert_uint_eq(drain_until(fd, queued, &F.nreq, 3), queued);
	ck_assert_int_eq(F.nreq, 3);
	ck_assert_uint_eq(F.req[2].id, 2);
	ck_assert_str_eq(F.req[2].key, "/held");
	ck_assert_uint_eq(control_backlog(F.ctl, conn), 0);
	close(fd);
	close(probe);
}
END_TEST

START_TEST(test_drained_is_called_once_a_client_took_what_was_queued_for_it)
{
	int fd = client_connect();
	uint64_t conn;
	size_t queued;

	queued = queue_unread_replies(fd, CONTROL_MAX_OUTPUT / 2, &conn);
	/* Unread, over the low watermark: not told. */
	for (int i = 0; i < 10; i++)
		run_once();
	ck_assert_uint_gt(control_backlog(F.ctl, conn), CONTROL_MAX_OUTPUT / 4);
	F.ndrained = 0;
	for (int i = 0; i < 10; i++)
		run_once();
	ck_assert_int_eq(F.ndrained, 0);
	/* Taken: told, with its handle. */
	ck_assert_uint_eq(drain_until(fd, queued, &F.ndrained, 1), queued);
	ck_assert_int_gt(F.ndrained, 0);
	ck_assert_uint_eq(F.drained_conn, conn);
	close(fd);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc;

	tc = tcase_create("socket file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_the_socket_is_created_mode_0660);
	tcase_add_test(tc, test_a_second_open_on_a_socket_that_answers_is_refused);
	tcase_add_test(tc, test_a_stale_socket_file_nobody_answers_on_is_replaced);
	tcase_add_test(tc, test_closing_the_control_socket_removes_its_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("requests");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_a_request_reaches_the_callback_with_its_fields);
	tcase_add_test(tc, test_several_requests_in_one_write_reach_the_callback_in_order);
	tcase_add_test(tc, test_a_request_cut_at_every_byte_boundary_is_delivered_once_and_whole);
	tcase_add_test(tc, test_a_request_callback_may_answer_at_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("broken clients");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_half_a_frame_then_a_close_fires_closed_and_delivers_nothing);
	tcase_add_test(tc, test_an_oversized_length_prefix_closes_the_connection);
	tcase_add_test(tc, test_a_length_prefix_below_the_header_closes_the_connection);
	tcase_add_test(tc, test_a_readers_request_over_the_small_size_is_refused_and_dropped);
	tcase_add_test(tc, test_a_writer_may_send_a_request_far_over_the_small_size);
	tcase_add_test(tc, test_only_so_many_outsiders_are_connected_at_once);
	tcase_add_test(tc, test_a_client_stuck_in_the_middle_of_a_request_is_closed_at_the_deadline);
	tcase_add_test(tc, test_the_sweep_runs_only_while_a_request_is_unfinished);
	tcase_add_test(tc,
		       test_a_sound_header_around_a_bad_body_gets_an_error_and_the_connection_goes_on);
	tcase_add_test(tc, test_a_field_over_its_limit_is_answered_too_big_with_the_request_id);
	tcase_add_test(tc, test_a_response_sent_to_the_daemon_is_answered_not_a_request);
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_replies_reach_the_connection_they_name);
	tcase_add_test(tc, test_a_reply_to_a_client_that_went_away_is_refused);
	tcase_add_test(tc,
		       test_a_late_reply_never_reaches_the_client_that_took_the_slot_of_a_gone_one);
	tcase_add_test(tc, test_the_closed_callback_fires_once_for_each_client_with_its_handle);
	tcase_add_test(tc, test_control_client_names_the_process_on_the_other_end);
	tcase_add_test(tc,
		       test_a_client_that_leaves_its_replies_unread_is_not_read_until_it_drains_them);
	tcase_add_test(tc, test_drained_is_called_once_a_client_took_what_was_queued_for_it);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failures;

	sr = srunner_create(control_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
