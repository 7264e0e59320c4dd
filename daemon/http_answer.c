/*
 * http_answer.c — the HTTP server's responses: a node's proto answer, or an
 * error, written as the response to an evhttp request, with the status,
 * headers and body raftconfd(8) documents.
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
 * FAILED, a condition that did not hold, is 412 (http.c: Conditions).
 *
 * What it is not: no routing or judging of requests (http.c), no
 * connections and no waiting for the node (http_conn.c), no JSON of a
 * listing, a txn's results or a watch's changes (http_json.c).  It keeps
 * no state: every call is about one request.
 */
#include "http_answer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http_json.h"
#include "json.h"
#include "log.h"

#define HTTP_REVISION_HEADER "X-Raftconf-Revision"
#define HTTP_CREATE_HEADER   "X-Raftconf-Create-Revision"
#define HTTP_VERSION_HEADER  "X-Raftconf-Version"

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
	case PROTO_E_BUSY:
		return 503;
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

void
http_send_reply(struct evhttp_request *req, int status, const char *ctype)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, status, reason_of(status), NULL);
}

void
http_send_error(struct evhttp_request *req, int status, const char *msg, size_t len)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	const struct json_out o = { http_json_to_evbuffer, out };

	evbuffer_add(out, "{\"error\":", 9);
	json_string(&o, msg, len);
	evbuffer_add(out, "}\n", 2);
	http_send_reply(req, status, "application/json");
}

void
http_send_errorf(struct evhttp_request *req, int status, const char *fmt, ...)
{
	char msg[RAFTCONF_MAX_ERROR];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_send_error(req, status, msg,
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
void
http_send_answer(
    struct evhttp_request *req, uint8_t asked, bool keys_only, const struct proto_msg *m)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	if (m->type == PROTO_T_ERROR) {
		http_send_error(req, status_of_error(m->error.code), m->error.message.ptr,
		    m->error.message.len);
		return;
	}
	if (!answer_fits(asked, m->type)) {
		log_err("HTTP: the node answered a %s with a %s; answering 500",
		    proto_type_name(asked), proto_type_name(m->type));
		http_send_errorf(
		    req, 500, "internal error: unexpected %s answer", proto_type_name(m->type));
		return;
	}
	switch (m->type) {
	case PROTO_T_VALUE:
		add_revision(req, m->value_reply.revision);
		add_etag(req, m->value_reply.revision);
		evbuffer_add(out, m->value_reply.value.ptr, m->value_reply.value.len);
		http_send_reply(req, 200, "application/octet-stream");
		break;
	case PROTO_T_VALUE_META:
		add_revision(req, m->value_meta.revision);
		add_number(req, HTTP_CREATE_HEADER, m->value_meta.create_revision);
		add_number(req, HTTP_VERSION_HEADER, m->value_meta.version);
		add_etag(req, m->value_meta.revision);
		evbuffer_add(out, m->value_meta.value.ptr, m->value_meta.value.len);
		http_send_reply(req, 200, "application/octet-stream");
		break;
	case PROTO_T_FAILED:
		add_revision(req, m->failed.revision);
		if (m->failed.revision != 0) {
			add_etag(req, m->failed.revision);
			http_send_errorf(req, 412,
			    "condition failed: the key is at revision %" PRIu64 "; nothing changed",
			    m->failed.revision);
		} else {
			http_send_errorf(
			    req, 412, "condition failed: the key does not exist; nothing changed");
		}
		break;
	case PROTO_T_TXN_REPLY:
		add_revision(req, m->txn_reply.revision);
		if (http_json_answer(out, m, false) < 0) {
			evbuffer_drain(out, evbuffer_get_length(out));
			http_send_errorf(req, 500, "internal error: malformed txn answer");
			break;
		}
		evbuffer_add(out, "\n", 1);
		http_send_reply(req, 200, "application/json");
		break;
	case PROTO_T_EVENTS:
		add_revision(req, m->events.revision);
		if (http_json_answer(out, m, false) < 0) {
			evbuffer_drain(out, evbuffer_get_length(out));
			http_send_errorf(req, 500, "internal error: malformed watch answer");
			break;
		}
		evbuffer_add(out, "\n", 1);
		http_send_reply(req, 200, "application/json");
		break;
	case PROTO_T_OK:
		add_revision(req, m->ok.revision);
		evbuffer_add_printf(out, "{\"revision\":%" PRIu64 "}\n", m->ok.revision);
		http_send_reply(req, 200, "application/json");
		break;
	case PROTO_T_COUNT_REPLY:
		evbuffer_add_printf(out, "{\"count\":%" PRIu64 "}\n", m->count_reply.count);
		http_send_reply(req, 200, "application/json");
		break;
	case PROTO_T_LIST_REPLY:
	case PROTO_T_LIST_META_REPLY:
		if (http_json_answer(out, m, keys_only) < 0) {
			evbuffer_drain(out, evbuffer_get_length(out));
			http_send_errorf(req, 500, "internal error: malformed list answer");
			break;
		}
		evbuffer_add(out, "\n", 1);
		http_send_reply(req, 200, "application/json");
		break;
	}
}
