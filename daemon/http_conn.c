/*
 * http_conn.c — the HTTP server's connections (struct in http_conn.h):
 * a slot for each, a request's wait for the node's answer, and writes
 * asked again through a leader change; http_reply() is here.
 *
 * libevent 2.1 has no connection limit and no hook when an evhttp
 * connection goes away, so this module creates each connection's
 * bufferevent itself (evhttp_set_bevcb) and keeps a reference to it: when
 * evhttp frees the connection, the bufferevent lives on with its callbacks
 * cleared, and the periodic sweep sees that, drops the reference (closing
 * the socket) and frees the slot (it runs while connections are open,
 * every HTTP_SWEEP_MS).  At HTTP_MAX_CONNECTIONS the listener
 * stops accepting; new clients wait in the kernel's backlog.  The sweep also
 * cuts off a client that has not sent a whole request HTTP_IDLE_TIMEOUT_S
 * after connecting or after its last answer (an idle or trickling client),
 * and answers 504 for a request the node has not answered after
 * HTTP_NODE_TIMEOUT_S (a safety net: the node's own timeouts are shorter).
 *
 * evhttp serves one request per connection at a time, so the request
 * waiting for the node lives in its connection's slot, and the handle the
 * node gets is the slot number with a generation.  While a request waits,
 * evhttp does not read from the socket, so it would not notice the client
 * leaving: an event of ours watches the socket and frees the connection on
 * EOF; http_reply() then returns -ENOTCONN.  (So a client that half-closes
 * its side after sending the request is taken as gone, as nginx does.)
 * The watch stays on from a connection's first request to its end, not just
 * while a request waits: evhttp turns its own reading off and on for every
 * request, and with ours on the socket's interest in epoll does not change,
 * which saves three or four epoll_ctl calls a request (BENCHMARKS.md,
 * session 24).  It steps aside only where it would fire for nothing: data
 * waiting that evhttp is not reading (a client sending its next request
 * early), until the next request.
 *
 * What it is not: no parsing, routing or judging of requests (http.c,
 * http_parse.c), no writing of responses (http_answer.c), no listening
 * socket (http.c opens it; this only stops and resumes its accepting).
 */
#include "http_conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "http.h"
#include "http_answer.h"
#include "log.h"

/* Safety net for a request the node never answers. */
#define HTTP_NODE_TIMEOUT_S 60
/*
 * A write the node answers "no leader" or "outcome unknown" is asked again
 * (same request id: applied once) for this long, as raftconfctl does for
 * its default --timeout, with pauses doubling from the first to the last.
 */
#define HTTP_RETRY_WINDOW_MS 10000
#define HTTP_RETRY_FIRST_MS  20
#define HTTP_RETRY_MAX_MS    500

/* ------------------------------------------------------------ connections */

static uint64_t
conn_handle(const struct conn *c)
{
	return (uint64_t)c->gen << 32 | (uint32_t)(c - c->hs->conns);
}

/* The connection waiting for the node's answer to handle, or NULL. */
static struct conn *
conn_by_handle(struct http_server *hs, uint64_t handle)
{
	uint32_t slot = (uint32_t)handle;
	struct conn *c;

	if (hs == NULL || slot >= HTTP_MAX_CONNECTIONS)
		return NULL;
	c = &hs->conns[slot];
	if (c->bev == NULL || c->state != C_NODE || c->gen != (uint32_t)(handle >> 32))
		return NULL;
	return c;
}

struct conn *
http_conn_by_bev(struct http_server *hs, const struct bufferevent *bev)
{
	for (size_t i = 0; bev && i < HTTP_MAX_CONNECTIONS; i++)
		if (hs->conns[i].bev == bev)
			return &hs->conns[i];
	return NULL;
}

/* The request with the node is over (answered or its client gone). */
static void
conn_request_done(struct conn *c, enum conn_state next, uint64_t deadline_ms)
{
	if (c->retry)
		event_del(c->retry);
	proto_buf_reset(&c->frame);
	c->req = NULL;
	c->evcon = NULL;
	c->gen++;
	c->state = next;
	c->deadline_ms = deadline_ms;
}

/* The node's answer to c's request will not be wanted: tell it. */
static void
abandon(struct conn *c)
{
	if (c->hs->cb.abandoned != NULL)
		c->hs->cb.abandoned(c->hs->arg, conn_handle(c));
}

/* evhttp is freeing a connection that has had a request. */
static void
conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;

	if (c->state == C_NODE && c->evcon == evcon) {
		/* A request evhttp detached from its connection is ours to free;
		 * one still attached goes with the connection. */
		if (evhttp_request_get_connection(c->req) == NULL)
			evhttp_request_free(c->req);
		abandon(c);
		conn_request_done(c, C_READING, 0);
	}
	/* evhttp reads no more: the socket is left to the sweep. */
	if (c->watch)
		event_del(c->watch);
	c->deadline_ms = 0;
	/* Reclaim the slot as soon as evhttp has let go of the bufferevent. */
	event_active(c->hs->sweep_ev, EV_TIMEOUT, 1);
}

/* Our answer has been written: the connection waits for the next request. */
static void
conn_complete_cb(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	c->state = C_READING;
	c->deadline_ms = http_mono_ms() + HTTP_IDLE_TIMEOUT_S * 1000;
}

/* The client's side of the socket: -1 closed or reset, 1 data waiting, 0 neither. */
static int
peek_client(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	char b;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		return 1;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return -1;
}

static void
watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->state != C_NODE) {
		/* evhttp reads what came, or sees the end; if it is not
		 * reading, what waits would wake this for ever: step aside
		 * until the next request (conn_watch). */
		if (c->bev == NULL || !(bufferevent_get_enabled(c->bev) & EV_READ))
			event_del(c->watch);
		return;
	}
	/* The wake for the request evhttp read in this round, most likely:
	 * not worth a look.  A client that left is still readable in the
	 * next round (the event is level-triggered). */
	if (c->watch_skip) {
		c->watch_skip = false;
		return;
	}
	switch (peek_client(c)) {
	case -1:
		log_debug("HTTP %s: client left before its answer; closing", c->hs->listen);
		/* conn_close_cb clears the request. */
		evhttp_connection_free(c->evcon);
		break;
	case 1:
		/* The client sent more (pipelining): stop looking, or this
		 * fires for ever; writing the answer tells whether it is there. */
		event_del(c->watch);
		break;
	}
}

/* The watch on c's socket, on until the connection ends (above). */
static void
conn_watch(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (fd < 0)
		return;
	if (c->watch != NULL && event_pending(c->watch, EV_READ, NULL)) {
		if (event_get_fd(c->watch) == fd)
			return;
		event_del(c->watch);
	}
	if (c->watch == NULL)
		c->watch = event_new(c->hs->base, fd, EV_READ | EV_PERSIST, watch_cb, c);
	else if (event_assign(c->watch, c->hs->base, fd, EV_READ | EV_PERSIST, watch_cb, c) < 0)
		return;
	if (c->watch)
		event_add(c->watch, NULL);
}

/* The guard of the listener may enable it again: not at the limit. */
bool
http_conn_below_limit(void *arg)
{
	return !((struct http_server *)arg)->paused;
}

static void
resume_accepting(struct http_server *hs)
{
	if (hs->paused && hs->nconns < HTTP_MAX_CONNECTIONS) {
		evconnlistener_enable(hs->listener);
		hs->paused = false;
		log_info("HTTP %s: accepting connections again", hs->listen);
	}
}

/* Reclaim slots evhttp has let go of; enforce deadlines. */
void
http_conn_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *hs = arg;
	uint64_t now = http_mono_ms();

	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		struct conn *c = &hs->conns[i];
		bufferevent_data_cb rcb, wcb;
		bufferevent_event_cb ecb;
		void *cbarg;

		if (c->bev == NULL)
			continue;
		bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &cbarg);
		if (rcb == NULL && wcb == NULL && ecb == NULL) {
			/*
			 * bufferevent_free() cleared all the callbacks: evhttp is
			 * done.  (While it writes an answer evhttp clears only the
			 * read callback: that connection is alive.)
			 */
			if (c->watch)
				event_del(c->watch);
			if (c->retry)
				event_del(c->retry);
			proto_buf_reset(&c->frame);
			bufferevent_decref(c->bev);
			c->bev = NULL;
			c->state = C_READING;
			c->req = NULL;
			c->evcon = NULL;
			c->gen++;
			hs->nconns--;
			continue;
		}
		if (c->deadline_ms == 0 || now < c->deadline_ms)
			continue;
		if (c->state == C_NODE) {
			struct evhttp_request *req = c->req;

			log_warning("HTTP %s: no answer from the node in %d s; answering 504",
			    hs->listen, HTTP_NODE_TIMEOUT_S);
			abandon(c);
			conn_request_done(c, C_WRITING, 0);
			http_send_errorf(req, 504, "no answer within %d s", HTTP_NODE_TIMEOUT_S);
		} else if (c->state == C_READING) {
			evutil_socket_t s = bufferevent_getfd(c->bev);

			/* evhttp reads EOF next and frees the connection. */
			log_debug("HTTP %s: client idle for %d s; closing", hs->listen,
			    HTTP_IDLE_TIMEOUT_S);
			if (s >= 0)
				shutdown(s, SHUT_RDWR);
			c->deadline_ms = 0;
		}
	}
	/* nothing left to watch: an idle node does not wake for this */
	if (hs->nconns == 0)
		evtimer_del(hs->sweep_ev);
	resume_accepting(hs);
}

/* evhttp's hook for a new connection: its bufferevent, made (and kept) here. */
struct bufferevent *
http_conn_new_cb(struct event_base *base, void *arg)
{
	struct http_server *hs = arg;
	struct bufferevent *bev = NULL;
	struct conn *c = NULL;
	SSL *ssl;

	if (hs->tls == NULL)
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	else if ((ssl = SSL_new(hs->tls)) != NULL)
		/* evhttp gives it the socket (bufferevent_setfd) */
		bev = bufferevent_openssl_socket_new(
		    base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL && hs->tls != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);

	for (size_t i = 0; c == NULL && i < HTTP_MAX_CONNECTIONS; i++)
		if (hs->conns[i].bev == NULL)
			c = &hs->conns[i];
	if (bev == NULL)
		return NULL; /* evhttp makes its own; it is then not counted */
	if (c == NULL) {
		/* Not reached: the listener is off at the limit.  Served, but
		 * answered 503 (see http.c's request_cb). */
		log_warning(
		    "HTTP %s: connection over the limit of %d", hs->listen, HTTP_MAX_CONNECTIONS);
		return bev;
	}
	bufferevent_incref(bev);
	c->bev = bev;
	c->state = C_READING;
	c->deadline_ms = http_mono_ms() + HTTP_IDLE_TIMEOUT_S * 1000;
	if (!evtimer_pending(hs->sweep_ev, NULL)) {
		struct timeval tv = { HTTP_SWEEP_MS / 1000, HTTP_SWEEP_MS % 1000 * 1000 };

		evtimer_add(hs->sweep_ev, &tv);
	}
	if (++hs->nconns >= HTTP_MAX_CONNECTIONS && !hs->paused) {
		evconnlistener_disable(hs->listener);
		hs->paused = true;
		log_notice("HTTP %s: %d connections open, the limit; new clients wait until "
			   "one closes",
		    hs->listen, HTTP_MAX_CONNECTIONS);
	}
	return bev;
}

/* ------------------------------------------------------- the node asked */

/* Ask the node c's request m, which it may answer at once (http_reply). */
static void
ask_node(struct conn *c, struct proto_msg *m)
{
	struct http_server *hs = c->hs;

	hs->dispatching = true;
	hs->cb.request(hs->arg, m->id, m);
	hs->dispatching = false;
}

/* The pause is over: ask the node c's write again. */
static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct proto_msg m;
	char err[128];

	if (c->state != C_NODE || c->frame.len == 0)
		return;
	if (proto_decode(c->frame.data, c->frame.len, &m, err, sizeof(err)) < 0) {
		struct evhttp_request *req = c->req;

		log_err("HTTP: a kept write does not decode: %s", err);
		conn_request_done(c, C_WRITING, 0);
		http_send_errorf(req, 500, "internal error: %s", err);
		return;
	}
	ask_node(c, &m);
}

/*
 * The node's answer m to c's write says to ask again (no leader, or the
 * outcome unknown): true if a pause and another try fit before the retry
 * window closes, and one is scheduled.
 */
static bool
retry_later(struct conn *c, const struct proto_msg *m)
{
	struct timeval tv;
	uint64_t now = http_mono_ms();

	if (c->frame.len == 0 || m->type != PROTO_T_ERROR ||
	    (m->error.code != PROTO_E_NOLEADER && m->error.code != PROTO_E_TIMEOUT) ||
	    now + c->retry_ms >= c->retry_until)
		return false;
	if (c->retry == NULL && (c->retry = evtimer_new(c->hs->base, retry_cb, c)) == NULL)
		return false;
	tv.tv_sec = c->retry_ms / 1000;
	tv.tv_usec = (c->retry_ms % 1000) * 1000;
	if (evtimer_add(c->retry, &tv) < 0)
		return false;
	log_debug("HTTP %s: %.*s; asking again in %u ms", c->hs->listen, (int)m->error.message.len,
	    m->error.message.ptr, c->retry_ms);
	c->retry_ms = c->retry_ms * 2 > HTTP_RETRY_MAX_MS ? HTTP_RETRY_MAX_MS : c->retry_ms * 2;
	return true;
}

void
http_conn_received(struct conn *c, struct evhttp_request *req, struct evhttp_connection *evcon)
{
	evhttp_connection_set_closecb(evcon, conn_close_cb, c);
	evhttp_request_set_on_complete_cb(req, conn_complete_cb, c);
	c->state = C_WRITING;
	c->deadline_ms = 0;
}

void
http_conn_ask(struct conn *c, struct evhttp_request *req, struct evhttp_connection *evcon,
    struct proto_msg *m, bool write)
{
	c->state = C_NODE;
	c->deadline_ms = http_mono_ms() + HTTP_NODE_TIMEOUT_S * 1000 +
	    (m->type == PROTO_T_POLL ? m->poll.wait_ms : 0);
	c->req = req;
	c->evcon = evcon;
	c->type = m->type;
	c->keys_only = m->type == PROTO_T_LIST_EX && (m->list_ex.flags & PROTO_F_KEYS_ONLY);
	m->id = conn_handle(c);
	/* A write is kept, to be asked again through a leader change. */
	proto_buf_reset(&c->frame);
	if (write && proto_encode(&c->frame, m, NULL, 0) < 0)
		proto_buf_reset(&c->frame); /* then answered as the node first says */
	c->retry_until = http_mono_ms() + HTTP_RETRY_WINDOW_MS;
	c->retry_ms = HTTP_RETRY_FIRST_MS;
	c->watch_skip = true;
	conn_watch(c);
	/* The node may answer at once, through http_reply(). */
	ask_node(c, m);
}

int
http_reply(struct http_server *hs, uint64_t handle, const void *frame, size_t len)
{
	struct conn *c = conn_by_handle(hs, handle);
	struct evhttp_request *req;
	struct proto_msg m;
	char err[256];
	uint8_t asked;
	bool keys_only;

	if (c == NULL)
		return -ENOTCONN;
	/* Freeing the connection under evhttp's feet (it is dispatching) is not
	 * safe; a client that left a moment ago fails our write instead. */
	if (!hs->dispatching && peek_client(c) < 0) {
		evhttp_connection_free(c->evcon); /* conn_close_cb clears c */
		return -ENOTCONN;
	}
	req = c->req;
	asked = c->type;
	keys_only = c->keys_only;
	if (proto_decode(frame, len, &m, err, sizeof(err)) < 0) {
		conn_request_done(c, C_WRITING, 0);
		log_err("HTTP: undecodable answer from the node: %s", err);
		http_send_errorf(req, 500, "internal error: undecodable answer");
		return 0;
	}
	if (m.id == handle && retry_later(c, &m))
		return 0; /* still C_NODE, with the same handle */
	conn_request_done(c, C_WRITING, 0);
	if (m.id != handle) {
		log_err("HTTP: answer for request %" PRIx64 " given as %" PRIx64, m.id, handle);
		http_send_errorf(req, 500, "internal error: mismatched answer");
	} else {
		http_send_answer(req, asked, keys_only, &m);
	}
	return 0;
}

/* ------------------------------------------------------------ open, close */

void
http_conn_init_all(struct http_server *hs)
{
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		hs->conns[i].hs = hs;
		hs->conns[i].gen = 1;
	}
}

void
http_conn_free_all(struct http_server *hs)
{
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		struct conn *c = &hs->conns[i];

		if (c->watch)
			event_free(c->watch);
		if (c->retry)
			event_free(c->retry);
		proto_buf_free(&c->frame);
		if (c->bev)
			bufferevent_decref(c->bev);
	}
}
