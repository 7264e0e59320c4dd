/*
 * http.c — the HTTP key API on libevent's evhttp (contract in http.h): the
 * server opened and closed, its routes, the tokens each request needs.
 *
 * It parses a request into a proto request for the node (http_parse.c
 * judges it) and hands it to the node through the request's connection,
 * which waits for the answer (http_conn.c); http_answer.c turns the
 * node's proto answer into the HTTP response.  Not here: what a request
 * does (node.c), the JSON of /v1/status and the text of /metrics (node.c
 * fills them in through the callbacks), JSON strings, base64 and UTF-8
 * (json.c, shared with raftconfctl).
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
 * Answers (http_answer.c): the value itself, or JSON: {"revision":N},
 * a listing, a txn's results, a watch's changes, {"count":N}, or
 * {"error":"message"} with the HTTP status of its code.
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
 * Connections (http_conn.c): HTTP_MAX_CONNECTIONS at once, each cut off
 * after HTTP_IDLE_TIMEOUT_S without a whole request; a request waits for
 * the node in its connection's slot, whose number is the handle the node
 * gets; a write the node answers "no leader" or "outcome unknown" is
 * asked again (same request id: applied once) for a while.
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "errbuf.h"
#include "http_answer.h"
#include "http_conn.h"
#include "http_parse.h"
#include "listener.h"
#include "log.h"

/* Request line and headers. */
#define HTTP_MAX_HEADERS_SIZE (16 * 1024)
/*
 * Bodies up to this reach us and get a JSON 413 when over RAFTCONF_MAX_VALUE;
 * longer ones evhttp refuses itself (413, with its own HTML body).  It
 * bounds what a connection holds: HTTP_MAX_CONNECTIONS of them hold at most
 * about 270 MiB.
 */
#define HTTP_MAX_BODY_SIZE (RAFTCONF_MAX_VALUE + 64 * 1024)

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
	http_send_errorf(req, status, "%s", why);
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
		http_send_reply(req, 200, "application/json");
		break;
	case R_HEALTH:
		if (hs->cb.health(hs->arg, why, sizeof(why)) == 0) {
			evbuffer_add_printf(out, "{\"health\":\"ok\"}\n");
			http_send_reply(req, 200, "application/json");
		} else {
			http_send_error(req, 503, why, strnlen(why, sizeof(why)));
		}
		break;
	case R_METRICS:
		hs->cb.metrics(hs->arg, out);
		http_send_reply(req, 200, "text/plain; version=0.0.4");
		break;
	default:
		http_send_errorf(req, 500, "internal error: no handler");
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

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct http_server *hs = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct conn *c = http_conn_by_bev(hs, evhttp_connection_get_bufferevent(evcon));
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
		http_send_errorf(req, 503, "too many connections");
		return;
	}
	http_conn_received(c, req, evcon);

	r.if_match = evhttp_find_header(evhttp_request_get_input_headers(req), "If-Match");
	r.if_none_match =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
	/* A value (or a txn) in one piece; a value over the limit is refused unread. */
	if (((r.cmd == EVHTTP_REQ_PUT && r.body_len <= RAFTCONF_MAX_VALUE) ||
		r.cmd == EVHTTP_REQ_POST) &&
	    r.body_len > 0 && (r.body = evbuffer_pullup(body, -1)) == NULL) {
		http_send_errorf(req, 500, "out of memory");
		return;
	}
	status = http_parse_request(&r, &t, &m, hs->key, &allow, err, sizeof(err));
	if (status == 405)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	if (status != 0) {
		http_send_errorf(req, status, "%s", err);
		return;
	}
	if (t.route == R_TXN) {
		for (int k = 0; k < 3; k++)
			proto_buf_reset(&hs->txn_lists[k]);
		status = http_parse_txn(r.body, r.body_len, &m, hs->txn_lists, err, sizeof(err));
		if (status != 0) {
			http_send_errorf(req, status, "%s", err);
			return;
		}
		if (r.request_id &&
		    http_parse_request_id(r.request_id, &m.txn.client_id, &m.txn.seq) < 0) {
			http_send_errorf(req, 400,
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
	http_conn_ask(c, req, evcon, &m, write);
}

/* ------------------------------------------------------------ open, close */

static uint64_t
random_client_id(void)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL) ^ http_mono_ms() << 20;
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
	struct timeval tv = { HTTP_IDLE_TIMEOUT_S, 0 };

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
	http_conn_init_all(hs);
	hs->http = evhttp_new(base);
	hs->sweep_ev = event_new(base, -1, EV_PERSIST, http_conn_sweep_cb, hs);
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
	evhttp_set_bevcb(hs->http, http_conn_new_cb, hs);
	snprintf(what, sizeof(what), "HTTP %s", listen);
	if ((hs->guard = listener_guard_new(base, hs->listener, what, false, NULL, NULL)))
		listener_guard_gate(hs->guard, http_conn_below_limit, hs);
	evhttp_set_gencb(hs->http, request_cb, hs);
	/* Every method reaches request_cb, which answers 405 in JSON. */
	evhttp_set_allowed_methods(hs->http, 0xffff);
	evhttp_set_max_headers_size(hs->http, HTTP_MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(hs->http, HTTP_MAX_BODY_SIZE);
	evhttp_set_timeout_tv(hs->http, &tv);
	/* the sweep runs once a connection comes (http_conn_new_cb) */
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
	 * http_conn.c's conn_close_cb runs for those that had one). */
	evhttp_free(hs->http);
	http_conn_free_all(hs);
	event_free(hs->sweep_ev);
	SSL_CTX_free(hs->tls);
	for (int k = 0; k < 3; k++)
		proto_buf_free(&hs->txn_lists[k]);
	free(hs);
}
