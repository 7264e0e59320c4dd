/*
 * http.c — the HTTP key API on libevent's evhttp (contract in http.h).
 *
 * It parses a request into a proto request for the node, and the node's
 * proto answer into an HTTP response.  Not here: what a request does
 * (node.c), the JSON of /v1/status and the text of /metrics (node.c fills
 * them in through the callbacks), JSON strings, base64 and UTF-8 (json.c,
 * shared with raftconfctl).
 *
 * Routes (anything else is 404, a wrong method 405 with an Allow header):
 *
 *	GET|HEAD /v1/keys/KEY[?stale]	GET of the key "/KEY"
 *	GET|HEAD /v1/keys/PREFIX?list[&stale]
 *					LIST of the keys starting with "/PREFIX";
 *					"/v1/keys/?list" and "/v1/keys?list" list
 *					every key
 *	GET|HEAD /v1/keys/PREFIX?list&keys, ?list&limit=N, ?list&count
 *					LIST_EX: the keys without their values,
 *					the first N in key order, or only their
 *					number, {"count":N} (count goes with
 *					neither keys nor limit)
 *	PUT      /v1/keys/KEY		SET, the body is the value
 *	DELETE   /v1/keys/KEY		DEL
 *	GET      /v1/keys/PREFIX?watch[&rev=N][&wait=30s]
 *					POLL: the changes under "/PREFIX" after
 *					revision N (without rev: from now on), at
 *					once if there are any, else when the first
 *					comes or empty after wait (default 30 s, at
 *					most RAFTCONF_MAX_POLL_MS): Consul's blocking
 *					query, etcd's watch from a revision
 *	POST     /v1/txn		TXN, the body is JSON (below)
 *	GET|HEAD /v1/status, /v1/health, /metrics
 *
 * The key is the path after "/v1/keys", percent-decoded ("+" is a plus);
 * a bad escape, a NUL byte, an empty key or one over RAFTCONF_MAX_KEY bytes
 * is 400.  Query parameters are "stale", "list", "keys" and "count", bare
 * or "=1", "=true", "=0", "=false", and "limit=N", "rev=N", "wait=D"; any
 * other parameter is 400, so that a typo is not silently ignored.
 *
 * Exactly-once writes.  A PUT or DELETE is proposed with a (client id, seq)
 * pair so that a retry is applied once (store.h).  By default the pair is
 * this server's random client id and a counter: every request is a new
 * write.  A client that wants to retry safely sends
 *
 *	X-Raftconf-Request-Id: CLIENT-SEQ
 *
 * two decimal u64, CLIENT not 0, the same on every retry of one write, SEQ
 * growing with each new write of that CLIENT.  A retry of a write already
 * applied gets the first answer again; the same pair naming another request
 * (store_cmd_digest differs) is refused with 409, as is a write whose SEQ is
 * below the last one applied for its CLIENT.
 *
 * Answers: VALUE is 200 with the raw value (application/octet-stream),
 * ETag: "REV" and X-Raftconf-Revision, X-Raftconf-Create-Revision and
 * X-Raftconf-Version; OK is 200 {"revision":N} and X-Raftconf-Revision;
 * EVENTS is 200 {"revision":N,"events":[{"event":"PUT","key":..,
 * "revision":N,"value":..},{"event":"DEL",...}],"truncated":false} and
 * X-Raftconf-Revision: every change up to N is told, so the next watch
 * asks for rev=N; an ERROR "compacted" (the history no longer reaches
 * back to rev) is 410.
 * LIST_REPLY is 200 {"keys":[{"key":..,"value":..,"revision":N,
 * "create_revision":N,"version":N},...],"truncated":false}, where a key or
 * value that is not valid UTF-8 is given as "key_base64" / "value_base64"
 * instead.  ERROR is {"error":"message"} with 404 (not found), 503 (no
 * leader, not a member), 504 (timeout), 413 (too big), 400 (bad request),
 * 409 (refused), 507 (disk full), else 500.
 *
 * Conditions.  A PUT or DELETE with If-Match: "REV" is a SET_IF (DEL_IF)
 * of that revision, with If-None-Match: * one of revision 0 (the key must
 * not exist): decided by the leader's state machine as the entry applies.
 * One that did not hold (FAILED) is 412, {"error":..}, with the key's
 * revision then as ETag (none when it does not exist) and
 * X-Raftconf-Revision.
 *
 * Transactions.  POST /v1/txn takes a JSON object (http_parse_txn):
 *
 *	{"compare":[{"key":"/a","target":"value","result":"=","value":"x"},
 *		    {"key":"/b","target":"revision","result":">","revision":0}],
 *	 "success":[{"op":"set","key":"/b","value":"x"},{"op":"del","key":"/a"},
 *		    {"op":"get","key":"/b"}],
 *	 "failure":[{"op":"get","key":"/a"}]}
 *
 * ("key_base64", "value_base64" for bytes that are not text; a key that
 * does not start with "/" gets one in front, as the path's key has) and answers
 * 200 {"succeeded":true|false,"revision":N,"results":[...]} with each get's
 * key as a listing gives it, or {"key":..,"found":false}.  Its token needs
 * read access to every key it compares or gets and write access to every
 * key it sets or deletes.
 *
 * Tokens.  Before a request is served here or handed to the node, the
 * node's authorize callback judges it (token_authorize): /v1/status and
 * /metrics need any token, a GET or listing a read token whose prefix
 * covers the key (or the prefix listed), a PUT or DELETE a write token
 * likewise; /v1/health is open.  With no token defined only clients on the
 * loopback are served.  A refusal is 401 (with WWW-Authenticate: Bearer)
 * or 403, in JSON; the request never reaches the node.
 *
 * Connections.  libevent 2.1 has no connection limit and no hook when an
 * evhttp connection goes away, so this module creates each connection's
 * bufferevent itself (evhttp_set_bevcb) and keeps a reference to it: when
 * evhttp frees the connection, the bufferevent lives on with its callbacks
 * cleared, and the periodic sweep sees that, drops the reference (closing
 * the socket) and frees the slot.  At HTTP_MAX_CONNECTIONS the listener
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
 *
 * Bodies.  The limit of a value, RAFTCONF_MAX_VALUE, is enforced here
 * (http_parse_request: 413 in JSON).  evhttp's own cap, HTTP_MAX_BODY_SIZE, is
 * set a little above it, only to bound what one connection can make us
 * hold, so that every body up to it reaches the handler.
 *
 * What evhttp answers itself, before a request reaches this module, has
 * its HTML body rather than JSON, and libevent 2.1 has no hook to change
 * that (no callback between the headers and the body of a request it
 * serves; evhttp_set_newreqcb and evhttp_set_errorcb came in 2.2): a
 * malformed request line or headers, or more than HTTP_MAX_HEADERS_SIZE of
 * them (400); a body over HTTP_MAX_BODY_SIZE, declared or chunked (413).
 * raftconfd(8) says so.
 */
#include "http.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "errbuf.h"
#include "http_json.h"
#include "http_parse.h"
#include "json.h"
#include "listener.h"
#include "log.h"

/*
 * A request must arrive whole within this after connecting or after the
 * previous answer, else the connection is closed.  (tests/check_http.c
 * sets this and the next one lower before including this file.)
 */
#ifndef HTTP_IDLE_TIMEOUT_S
#define HTTP_IDLE_TIMEOUT_S 10
#endif
/* Connections served at once; more wait in the listen backlog. */
#ifndef HTTP_MAX_CONNECTIONS
#define HTTP_MAX_CONNECTIONS 256
#endif
/* Request line and headers. */
#define HTTP_MAX_HEADERS_SIZE (16 * 1024)
/*
 * Bodies up to this reach us and get a JSON 413 when over RAFTCONF_MAX_VALUE;
 * longer ones evhttp refuses itself (413, with its own HTML body).  It
 * bounds what a connection holds: HTTP_MAX_CONNECTIONS of them hold at most
 * about 270 MiB.
 */
#define HTTP_MAX_BODY_SIZE (RAFTCONF_MAX_VALUE + 64 * 1024)
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
/* How often deadlines are checked and closed connections reclaimed. */
#define HTTP_SWEEP_MS	     500

#define HTTP_REVISION_HEADER "X-Raftconf-Revision"
#define HTTP_CREATE_HEADER   "X-Raftconf-Create-Revision"
#define HTTP_VERSION_HEADER  "X-Raftconf-Version"

enum conn_state {
	C_READING, /* waiting for the client's request */
	C_NODE,	   /* the request is with the node */
	C_WRITING, /* evhttp is sending our answer */
};

struct conn {
	struct http_server *hs;
	struct bufferevent *bev; /* our reference; NULL: slot free */
	enum conn_state state;
	uint64_t deadline_ms; /* of the current state; 0: none */
	uint32_t gen;	      /* bumped whenever a handle dies */
	/* While C_NODE: */
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	uint8_t type;	     /* PROTO_T_* asked of the node */
	bool keys_only;	     /* and it was a listing without values */
	struct event *watch; /* the client leaving; created on first use */
	/* A write, kept to be asked again through a leader change: */
	struct proto_buf frame; /* its frame; len 0: not a write */
	struct event *retry;	/* the pause before asking again */
	uint64_t retry_until;	/* monotonic ms */
	unsigned retry_ms;	/* the next pause */
};

struct http_server {
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *listener; /* owned by http */
	struct listener_guard *guard;
	struct event *sweep_ev;
	struct http_callbacks cb;
	void *arg;
	char listen[RAFTCONF_MAX_ADDRESS + 1];
	struct conn conns[HTTP_MAX_CONNECTIONS];
	unsigned nconns;
	bool paused;	    /* listener disabled at the limit */
	bool dispatching;   /* inside cb.request */
	uint64_t client_id; /* for writes without a request id */
	uint64_t next_seq;
	char key[RAFTCONF_MAX_KEY];    /* the decoded key of the current request */
	struct proto_buf txn_lists[3]; /* the lists of the current POST /v1/txn */
	SSL_CTX *tls;		       /* NULL: plain HTTP */
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The HTTP status for a proto ERROR code. */
static int
status_of_error(uint16_t code)
{
	switch (code) {
	case PROTO_E_NOTFOUND:
		return 404;
	case PROTO_E_NOLEADER:
	case PROTO_E_NOTMEMBER:
		return 503;
	case PROTO_E_TIMEOUT:
		return 504;
	case PROTO_E_TOOBIG:
		return 413;
	case PROTO_E_BADREQ:
		return 400;
	case PROTO_E_REFUSED:
		return 409;
	case PROTO_E_NOSPACE:
		return 507;
	case PROTO_E_COMPACTED:
		return 410;
	default:
		return 500;
	}
}

static const char *
reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

/* ------------------------------------------------------------- responses */

static void
send_reply(struct evhttp_request *req, int status, const char *ctype)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, status, reason_of(status), NULL);
}

static void
send_error(struct evhttp_request *req, int status, const char *msg, size_t len)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	const struct json_out o = { http_json_to_evbuffer, out };

	evbuffer_add(out, "{\"error\":", 9);
	json_string(&o, msg, len);
	evbuffer_add(out, "}\n", 2);
	send_reply(req, status, "application/json");
}

static void send_errorf(struct evhttp_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
send_errorf(struct evhttp_request *req, int status, const char *fmt, ...)
{
	char msg[RAFTCONF_MAX_ERROR];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	send_error(req, status, msg,
	    n < 0			   ? 0
		: (size_t)n >= sizeof(msg) ? sizeof(msg) - 1
					   : (size_t)n);
}

static void
add_number(struct evhttp_request *req, const char *header, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	evhttp_add_header(evhttp_request_get_output_headers(req), header, s);
}

static void
add_revision(struct evhttp_request *req, uint64_t revision)
{
	add_number(req, HTTP_REVISION_HEADER, revision);
}

/* ETag: "REV", what If-Match takes back. */
static void
add_etag(struct evhttp_request *req, uint64_t revision)
{
	char tag[32];

	snprintf(tag, sizeof(tag), "\"%" PRIu64 "\"", revision);
	evhttp_add_header(evhttp_request_get_output_headers(req), "ETag", tag);
}

/* The answer the node should give to a request of type asked (and an older one it may). */
static bool
answer_fits(uint8_t asked, uint8_t type)
{
	switch (asked) {
	case PROTO_T_GET:
		return type == PROTO_T_VALUE_META || type == PROTO_T_VALUE;
	case PROTO_T_LIST:
		return type == PROTO_T_LIST_META_REPLY || type == PROTO_T_LIST_REPLY;
	case PROTO_T_LIST_EX:
		return type == PROTO_T_LIST_META_REPLY || type == PROTO_T_COUNT_REPLY;
	case PROTO_T_SET_IF:
	case PROTO_T_DEL_IF:
		return type == PROTO_T_OK || type == PROTO_T_FAILED;
	case PROTO_T_TXN:
		return type == PROTO_T_TXN_REPLY;
	case PROTO_T_POLL:
		return type == PROTO_T_EVENTS;
	default:
		return type == PROTO_T_OK;
	}
}

/*
 * Turn the node's answer m to a request of type asked into the response.
 */
static void
send_answer(struct evhttp_request *req, uint8_t asked, bool keys_only, const struct proto_msg *m)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	if (m->type == PROTO_T_ERROR) {
		send_error(req, status_of_error(m->error.code), m->error.message.ptr,
		    m->error.message.len);
		return;
	}
	if (!answer_fits(asked, m->type)) {
		log_err("HTTP: the node answered a %s with a %s; answering 500",
		    proto_type_name(asked), proto_type_name(m->type));
		send_errorf(
		    req, 500, "internal error: unexpected %s answer", proto_type_name(m->type));
		return;
	}
	switch (m->type) {
	case PROTO_T_VALUE:
		add_revision(req, m->value_reply.revision);
		add_etag(req, m->value_reply.revision);
		evbuffer_add(out, m->value_reply.value.ptr, m->value_reply.value.len);
		send_reply(req, 200, "application/octet-stream");
		break;
	case PROTO_T_VALUE_META:
		add_revision(req, m->value_meta.revision);
		add_number(req, HTTP_CREATE_HEADER, m->value_meta.create_revision);
		add_number(req, HTTP_VERSION_HEADER, m->value_meta.version);
		add_etag(req, m->value_meta.revision);
		evbuffer_add(out, m->value_meta.value.ptr, m->value_meta.value.len);
		send_reply(req, 200, "application/octet-stream");
		break;
	case PROTO_T_FAILED:
		add_revision(req, m->failed.revision);
		if (m->failed.revision != 0) {
			add_etag(req, m->failed.revision);
			send_errorf(req, 412,
			    "condition failed: the key is at revision %" PRIu64 "; nothing changed",
			    m->failed.revision);
		} else {
			send_errorf(
			    req, 412, "condition failed: the key does not exist; nothing changed");
		}
		break;
	case PROTO_T_TXN_REPLY:
		add_revision(req, m->txn_reply.revision);
		if (http_json_answer(out, m, false) < 0) {
			evbuffer_drain(out, evbuffer_get_length(out));
			send_errorf(req, 500, "internal error: malformed txn answer");
			break;
		}
		evbuffer_add(out, "\n", 1);
		send_reply(req, 200, "application/json");
		break;
	case PROTO_T_EVENTS:
		add_revision(req, m->events.revision);
		if (http_json_answer(out, m, false) < 0) {
			evbuffer_drain(out, evbuffer_get_length(out));
			send_errorf(req, 500, "internal error: malformed watch answer");
			break;
		}
		evbuffer_add(out, "\n", 1);
		send_reply(req, 200, "application/json");
		break;
	case PROTO_T_OK:
		add_revision(req, m->ok.revision);
		evbuffer_add_printf(out, "{\"revision\":%" PRIu64 "}\n", m->ok.revision);
		send_reply(req, 200, "application/json");
		break;
	case PROTO_T_COUNT_REPLY:
		evbuffer_add_printf(out, "{\"count\":%" PRIu64 "}\n", m->count_reply.count);
		send_reply(req, 200, "application/json");
		break;
	case PROTO_T_LIST_REPLY:
	case PROTO_T_LIST_META_REPLY:
		if (http_json_answer(out, m, keys_only) < 0) {
			evbuffer_drain(out, evbuffer_get_length(out));
			send_errorf(req, 500, "internal error: malformed list answer");
			break;
		}
		evbuffer_add(out, "\n", 1);
		send_reply(req, 200, "application/json");
		break;
	}
}

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

static struct conn *
conn_by_bev(struct http_server *hs, const struct bufferevent *bev)
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
	if (c->watch)
		event_del(c->watch);
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
	c->deadline_ms = mono_ms() + HTTP_IDLE_TIMEOUT_S * 1000;
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

	if (c->state != C_NODE)
		return;
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

static void
conn_watch(struct conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (fd < 0)
		return;
	if (c->watch == NULL)
		c->watch = event_new(c->hs->base, fd, EV_READ | EV_PERSIST, watch_cb, c);
	else if (event_assign(c->watch, c->hs->base, fd, EV_READ | EV_PERSIST, watch_cb, c) < 0)
		return;
	if (c->watch)
		event_add(c->watch, NULL);
}

/* The guard of the listener may enable it again: not at the limit. */
static bool
below_limit(void *arg)
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
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *hs = arg;
	uint64_t now = mono_ms();

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
			send_errorf(req, 504, "no answer within %d s", HTTP_NODE_TIMEOUT_S);
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
	resume_accepting(hs);
}

/* evhttp's hook for a new connection: its bufferevent, made (and kept) here. */
static struct bufferevent *
new_conn_cb(struct event_base *base, void *arg)
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
		 * answered 503 (see request_cb). */
		log_warning(
		    "HTTP %s: connection over the limit of %d", hs->listen, HTTP_MAX_CONNECTIONS);
		return bev;
	}
	bufferevent_incref(bev);
	c->bev = bev;
	c->state = C_READING;
	c->deadline_ms = mono_ms() + HTTP_IDLE_TIMEOUT_S * 1000;
	if (++hs->nconns >= HTTP_MAX_CONNECTIONS && !hs->paused) {
		evconnlistener_disable(hs->listener);
		hs->paused = true;
		log_notice("HTTP %s: %d connections open, the limit; new clients wait until "
			   "one closes",
		    hs->listen, HTTP_MAX_CONNECTIONS);
	}
	return bev;
}

/* ---------------------------------------------------------------- requests */

/* The key, or the prefix listed, of a /v1/keys request built by http_parse_request. */
static struct proto_str
request_key(const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_T_GET:
		return m->get.key;
	case PROTO_T_LIST:
		return m->list.prefix;
	case PROTO_T_LIST_EX:
		return m->list_ex.prefix;
	case PROTO_T_POLL:
		return m->poll.prefix;
	case PROTO_T_SET:
		return m->set.key;
	case PROTO_T_SET_IF:
		return m->set_if.key;
	case PROTO_T_DEL_IF:
		return m->del_if.key;
	default:
		return m->del.key;
	}
}

static bool
is_write(uint8_t type)
{
	return type == PROTO_T_SET || type == PROTO_T_DEL || type == PROTO_T_SET_IF ||
	    type == PROTO_T_DEL_IF;
}

/*
 * Let the node judge the request; true when it may go on, else the refusal
 * has been sent.  m is the /v1/keys request, NULL for the other routes.
 */
static bool
authorized(
    struct http_server *hs, struct evhttp_request *req, enum route r, const struct proto_msg *m)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct token_request tr = { TOKEN_NEED_ANY, NULL, 0, false, NULL };
	char why[RAFTCONF_MAX_ERROR] = "";
	struct proto_str key;
	int status;

	if (hs->cb.authorize == NULL || r == R_HEALTH)
		return true;
	if (m != NULL) {
		key = request_key(m);
		tr.need = is_write(m->type) ? TOKEN_NEED_WRITE : TOKEN_NEED_READ;
		tr.key = key.ptr;
		tr.klen = key.len;
	}
	tr.loopback = evcon != NULL && addr_is_loopback(evhttp_connection_get_addr(evcon));
	tr.authorization =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if ((status = hs->cb.authorize(hs->arg, &tr, why, sizeof(why))) == 0)
		return true;
	if (status == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Bearer realm=\"raftconfd\"");
	send_errorf(req, status, "%s", why);
	return false;
}

/*
 * A TXN may go on if each of its keys may: read access for the keys it
 * compares or gets, write access for those it sets or deletes.  The first
 * refusal is the answer.
 */
static bool
txn_authorized(struct http_server *hs, struct evhttp_request *req, const struct proto_msg *m)
{
	struct proto_msg one = { .type = PROTO_T_GET };
	union proto_item item;
	struct proto_iter it;

	for (int which = PROTO_TXN_COMPARES; which <= PROTO_TXN_ELSE; which++) {
		if (proto_iter_txn(&it, m, which) < 0)
			return false;
		while (proto_iter_next(&it, &item) == 1) {
			if (which == PROTO_TXN_COMPARES) {
				one.type = PROTO_T_GET;
				one.get.key = item.compare.key;
			} else if (item.op.kind == PROTO_OP_GET) {
				one.type = PROTO_T_GET;
				one.get.key = item.op.key;
			} else {
				one.type = PROTO_T_DEL;
				one.del.key = item.op.key;
			}
			if (!authorized(hs, req, R_KEYS, &one))
				return false;
		}
	}
	/* a txn with no key at all still needs what any request needs */
	return authorized(hs, req, R_STATUS, NULL);
}

static void
serve_local(struct http_server *hs, struct evhttp_request *req, enum route r)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char why[RAFTCONF_MAX_ERROR] = "";

	switch (r) {
	case R_STATUS:
		hs->cb.status_json(hs->arg, out);
		evbuffer_add(out, "\n", 1);
		send_reply(req, 200, "application/json");
		break;
	case R_HEALTH:
		if (hs->cb.health(hs->arg, why, sizeof(why)) == 0) {
			evbuffer_add_printf(out, "{\"health\":\"ok\"}\n");
			send_reply(req, 200, "application/json");
		} else {
			send_error(req, 503, why, strnlen(why, sizeof(why)));
		}
		break;
	case R_METRICS:
		hs->cb.metrics(hs->arg, out);
		send_reply(req, 200, "text/plain; version=0.0.4");
		break;
	default:
		send_errorf(req, 500, "internal error: no handler");
		break;
	}
}

/*
 * A write that came without a request id: a new write of this server's own
 * client.  True for any write (then with a request id): one that may be
 * asked again, and is applied once.
 */
static bool
number_write(struct http_server *hs, struct proto_msg *m)
{
	uint64_t *client = NULL, *seq = NULL;

	switch (m->type) {
	case PROTO_T_SET:
		client = &m->set.client_id, seq = &m->set.seq;
		break;
	case PROTO_T_DEL:
		client = &m->del.client_id, seq = &m->del.seq;
		break;
	case PROTO_T_SET_IF:
		client = &m->set_if.client_id, seq = &m->set_if.seq;
		break;
	case PROTO_T_DEL_IF:
		client = &m->del_if.client_id, seq = &m->del_if.seq;
		break;
	case PROTO_T_TXN:
		/* only gets: no dedup, a retry reads afresh */
		if (!proto_txn_writes(m))
			return false;
		client = &m->txn.client_id, seq = &m->txn.seq;
		break;
	default:
		return false;
	}
	if (*client == 0) {
		*client = hs->client_id;
		*seq = hs->next_seq++;
	}
	return true;
}

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
		send_errorf(req, 500, "internal error: %s", err);
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
	uint64_t now = mono_ms();

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

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct http_server *hs = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct conn *c = conn_by_bev(hs, evhttp_connection_get_bufferevent(evcon));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	struct request r = {
		.cmd = evhttp_request_get_command(req),
		.path = uri ? evhttp_uri_get_path(uri) : NULL,
		.query = uri ? evhttp_uri_get_query(uri) : NULL,
		.request_id = evhttp_find_header(
		    evhttp_request_get_input_headers(req), HTTP_REQUEST_ID_HEADER),
		.body_len = evbuffer_get_length(body),
	};
	struct proto_msg m;
	struct target t;
	const char *allow;
	char err[RAFTCONF_MAX_ERROR];
	bool write;
	int status;

	if (c == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		send_errorf(req, 503, "too many connections");
		return;
	}
	evhttp_connection_set_closecb(evcon, conn_close_cb, c);
	evhttp_request_set_on_complete_cb(req, conn_complete_cb, c);
	c->state = C_WRITING;
	c->deadline_ms = 0;

	r.if_match = evhttp_find_header(evhttp_request_get_input_headers(req), "If-Match");
	r.if_none_match =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
	/* A value (or a txn) in one piece; a value over the limit is refused unread. */
	if (((r.cmd == EVHTTP_REQ_PUT && r.body_len <= RAFTCONF_MAX_VALUE) ||
		r.cmd == EVHTTP_REQ_POST) &&
	    r.body_len > 0 && (r.body = evbuffer_pullup(body, -1)) == NULL) {
		send_errorf(req, 500, "out of memory");
		return;
	}
	status = http_parse_request(&r, &t, &m, hs->key, &allow, err, sizeof(err));
	if (status == 405)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	if (status != 0) {
		send_errorf(req, status, "%s", err);
		return;
	}
	if (t.route == R_TXN) {
		for (int k = 0; k < 3; k++)
			proto_buf_reset(&hs->txn_lists[k]);
		status = http_parse_txn(r.body, r.body_len, &m, hs->txn_lists, err, sizeof(err));
		if (status != 0) {
			send_errorf(req, status, "%s", err);
			return;
		}
		if (r.request_id &&
		    http_parse_request_id(r.request_id, &m.txn.client_id, &m.txn.seq) < 0) {
			send_errorf(req, 400,
			    HTTP_REQUEST_ID_HEADER ": expected CLIENT-SEQ, two decimal numbers "
						   "below 2^64, CLIENT not 0");
			return;
		}
		if (!txn_authorized(hs, req, &m))
			return;
	} else if (t.route != R_KEYS) {
		if (authorized(hs, req, t.route, NULL))
			serve_local(hs, req, t.route);
		return;
	} else if (!authorized(hs, req, t.route, &m)) {
		return;
	}
	/* A write without a request id: a new write of this server's own client. */
	write = number_write(hs, &m);
	c->state = C_NODE;
	c->deadline_ms =
	    mono_ms() + HTTP_NODE_TIMEOUT_S * 1000 + (m.type == PROTO_T_POLL ? m.poll.wait_ms : 0);
	c->req = req;
	c->evcon = evcon;
	c->type = m.type;
	c->keys_only = m.type == PROTO_T_LIST_EX && (m.list_ex.flags & PROTO_F_KEYS_ONLY);
	m.id = conn_handle(c);
	/* A write is kept, to be asked again through a leader change. */
	proto_buf_reset(&c->frame);
	if (write && proto_encode(&c->frame, &m, NULL, 0) < 0)
		proto_buf_reset(&c->frame); /* then answered as the node first says */
	c->retry_until = mono_ms() + HTTP_RETRY_WINDOW_MS;
	c->retry_ms = HTTP_RETRY_FIRST_MS;
	conn_watch(c);
	/* The node may answer at once, through http_reply(). */
	ask_node(c, &m);
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
		send_errorf(req, 500, "internal error: undecodable answer");
		return 0;
	}
	if (m.id == handle && retry_later(c, &m))
		return 0; /* still C_NODE, with the same handle */
	conn_request_done(c, C_WRITING, 0);
	if (m.id != handle) {
		log_err("HTTP: answer for request %" PRIx64 " given as %" PRIx64, m.id, handle);
		send_errorf(req, 500, "internal error: mismatched answer");
	} else {
		send_answer(req, asked, keys_only, &m);
	}
	return 0;
}

/* ------------------------------------------------------------ open, close */

static uint64_t
random_client_id(void)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL) ^ mono_ms() << 20;
	return id ? id : 1;
}

int
http_open(struct event_base *base, const char *listen, const struct http_callbacks *cb, void *arg,
    struct http_server **out, char *err, size_t errlen)
{
	char aerr[RAFTCONF_MAX_ERROR], what[RAFTCONF_MAX_ADDRESS + 8];
	struct sockaddr_storage ss;
	socklen_t sslen;
	int rc;
	struct http_server *hs;
	struct timeval tv = { HTTP_IDLE_TIMEOUT_S, 0 },
		       sweep = {
			       HTTP_SWEEP_MS / 1000,
			       HTTP_SWEEP_MS % 1000 * 1000,
		       };

	/* The parser of raftconfd --check: what it accepts is bound here. */
	if (addr_parse_listen(listen, &ss, &sslen, aerr, sizeof(aerr)) < 0) {
		seterr(err, errlen, "http.listen %s: %s", listen, aerr);
		return -EINVAL;
	}
	if ((hs = calloc(1, sizeof(*hs))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	hs->base = base;
	hs->cb = *cb;
	hs->arg = arg;
	hs->client_id = random_client_id();
	hs->next_seq = 1;
	for (int k = 0; k < 3; k++)
		proto_buf_init(&hs->txn_lists[k]);
	snprintf(hs->listen, sizeof(hs->listen), "%s", listen);
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		hs->conns[i].hs = hs;
		hs->conns[i].gen = 1;
	}
	hs->http = evhttp_new(base);
	hs->sweep_ev = event_new(base, -1, EV_PERSIST, sweep_cb, hs);
	if (hs->http == NULL || hs->sweep_ev == NULL) {
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	hs->listener = evconnlistener_new_bind(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    (struct sockaddr *)&ss, (int)sslen);
	if (hs->listener == NULL) {
		int e = errno ? errno : EADDRINUSE;

		rc = -e;
		seterr(err, errlen, "http.listen %s: cannot listen: %s", listen, strerror(e));
		goto fail;
	}
	if (evhttp_bind_listener(hs->http, hs->listener) == NULL) {
		evconnlistener_free(hs->listener);
		rc = -ENOMEM;
		seterr(err, errlen, "http.listen %s: cannot serve", listen);
		goto fail;
	}
	evhttp_set_bevcb(hs->http, new_conn_cb, hs);
	snprintf(what, sizeof(what), "HTTP %s", listen);
	if ((hs->guard = listener_guard_new(base, hs->listener, what, false, NULL, NULL)))
		listener_guard_gate(hs->guard, below_limit, hs);
	evhttp_set_gencb(hs->http, request_cb, hs);
	/* Every method reaches request_cb, which answers 405 in JSON. */
	evhttp_set_allowed_methods(hs->http, 0xffff);
	evhttp_set_max_headers_size(hs->http, HTTP_MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(hs->http, HTTP_MAX_BODY_SIZE);
	evhttp_set_timeout_tv(hs->http, &tv);
	event_add(hs->sweep_ev, &sweep);
	log_info("HTTP API on %s", listen);
	*out = hs;
	return 0;
fail:
	if (hs->sweep_ev)
		event_free(hs->sweep_ev);
	if (hs->http)
		evhttp_free(hs->http);
	free(hs);
	return rc;
}

void
http_set_tls(struct http_server *hs, SSL_CTX *ctx)
{
	if (ctx)
		SSL_CTX_up_ref(ctx);
	SSL_CTX_free(hs->tls);
	hs->tls = ctx;
}

void
http_close(struct http_server *hs)
{
	if (hs == NULL)
		return;
	listener_guard_free(hs->guard);
	/* Frees the listener and every connection (their requests with them;
	 * conn_close_cb runs for those that had one). */
	evhttp_free(hs->http);
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
	event_free(hs->sweep_ev);
	SSL_CTX_free(hs->tls);
	for (int k = 0; k < 3; k++)
		proto_buf_free(&hs->txn_lists[k]);
	free(hs);
}
