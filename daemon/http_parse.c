/*
 * http_parse.c — the pure part of the HTTP API: a request's path, query,
 * request id header and body judged into the proto request it asks for,
 * or an HTTP status and a message (http_parse.h).  No I/O, no state: the
 * fuzzer (tests/fuzz_http.c) drives it directly.
 */
#include "http_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "limits.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode in[0..len) into out (cap bytes), "+" left as it is.
 * 0 with *outlen; -EINVAL a malformed escape; -EILSEQ a NUL byte, escaped
 * or not; -E2BIG more than cap bytes.
 */
int
http_pct_decode(const char *in, size_t len, char *out, size_t cap, size_t *outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return -EINVAL;
			if ((hi = hexval(in[i + 1])) < 0 || (lo = hexval(in[i + 2])) < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == 0)
			return -EILSEQ;
		if (o == cap)
			return -E2BIG;
		out[o++] = (char)c;
	}
	*outlen = o;
	return 0;
}

/* A flag parameter's value: 1 on, 0 off, -1 unknown. */
int
http_flag_value(const char *v, size_t len)
{
	if (len == 0 || (len == 1 && v[0] == '1') || (len == 4 && memcmp(v, "true", 4) == 0))
		return 1;
	if ((len == 1 && v[0] == '0') || (len == 5 && memcmp(v, "false", 5) == 0))
		return 0;
	return -1;
}

/*
 * Route a request target: path (raw, without the query) and query (raw,
 * NULL when there is none).  0, or an HTTP status (404, 400) with err set.
 * Only /v1/keys looks at the query; the others ignore it.
 */
int
http_parse_target(const char *path, const char *query, struct target *t, char *err, size_t errlen)
{
	static const char keys[] = "/v1/keys";
	const size_t klen = sizeof(keys) - 1;

	memset(t, 0, sizeof(*t));
	if (path == NULL)
		path = "";
	if (strcmp(path, "/v1/status") == 0)
		t->route = R_STATUS;
	else if (strcmp(path, "/v1/health") == 0)
		t->route = R_HEALTH;
	else if (strcmp(path, "/metrics") == 0)
		t->route = R_METRICS;
	else if (strncmp(path, keys, klen) == 0 && (path[klen] == '\0' || path[klen] == '/'))
		t->route = R_KEYS;
	if (t->route == R_NONE) {
		seterr(err, errlen,
		    "no such resource; the API is /v1/keys/KEY, /v1/status, "
		    "/v1/health and /metrics");
		return 404;
	}
	if (t->route != R_KEYS)
		return 0;
	t->rawkey = path + klen;
	for (const char *p = query; p && *p;) {
		const char *end = p + strcspn(p, "&"), *eq = memchr(p, '=', end - p);
		size_t nlen = (eq ? eq : end) - p;
		const char *v = eq ? eq + 1 : end;
		bool *flag = NULL;
		int on;

		if (nlen == 5 && memcmp(p, "stale", 5) == 0)
			flag = &t->stale;
		else if (nlen == 4 && memcmp(p, "list", 4) == 0)
			flag = &t->list;
		if (flag == NULL && nlen > 0) {
			seterr(err, errlen,
			    "unknown query parameter \"%.*s\" (known: stale, "
			    "list)",
			    (int)(nlen > 64 ? 64 : nlen), p);
			return 400;
		}
		if (flag && (on = http_flag_value(v, end - v)) < 0) {
			seterr(err, errlen,
			    "query parameter %.*s: expected no value, 1, true, "
			    "0 or false",
			    (int)nlen, p);
			return 400;
		}
		if (flag)
			*flag = on;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/*
 * The key (or, for a list, the prefix) of a /v1/keys request, decoded into
 * buf (RAFTCONF_MAX_KEY bytes).  0 with *len, or 400 with err set.
 */
int
http_decode_key(const struct target *t, char *buf, size_t *len, char *err, size_t errlen)
{
	int rc = http_pct_decode(t->rawkey, strlen(t->rawkey), buf, RAFTCONF_MAX_KEY, len);

	switch (rc) {
	case 0:
		break;
	case -EILSEQ:
		seterr(err, errlen, "a key cannot contain a NUL byte (%%00)");
		return 400;
	case -E2BIG:
		seterr(err, errlen, "key longer than %d bytes", RAFTCONF_MAX_KEY);
		return 400;
	default:
		seterr(err, errlen,
		    "malformed percent-escape in the key (%%XX, two hex "
		    "digits)");
		return 400;
	}
	if (t->list) {
		/* "/v1/keys/?list" is every key, also those not starting with "/". */
		if (*len == 1 && buf[0] == '/')
			*len = 0;
		return 0;
	}
	if (*len == 0) {
		seterr(err, errlen,
		    "empty key: the key is the path after /v1/keys, as in "
		    "/v1/keys/app/db/host");
		return 400;
	}
	return 0;
}

/*
 * Parse the X-Raftconf-Request-Id value "CLIENT-SEQ": two decimal u64,
 * CLIENT not 0, surrounding blanks allowed.  0 or -EINVAL.
 */
int
http_parse_request_id(const char *s, uint64_t *client, uint64_t *seq)
{
	uint64_t v[2] = { 0, 0 };

	while (*s == ' ' || *s == '\t')
		s++;
	for (int i = 0; i < 2; i++) {
		const char *start = s;

		for (; *s >= '0' && *s <= '9'; s++) {
			unsigned d = (unsigned)(*s - '0');

			if (v[i] > (UINT64_MAX - d) / 10)
				return -EINVAL;
			v[i] = v[i] * 10 + d;
		}
		if (s == start)
			return -EINVAL;
		if (i == 0 && *s++ != '-')
			return -EINVAL;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0' || v[0] == 0)
		return -EINVAL;
	*client = v[0];
	*seq = v[1];
	return 0;
}

bool
http_method_allowed(enum route r, enum evhttp_cmd_type cmd)
{
	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
		return true;
	return r == R_KEYS && (cmd == EVHTTP_REQ_PUT || cmd == EVHTTP_REQ_DELETE);
}

/*
 * What a request asks: request_cb's judgement, without a connection or an
 * event loop (tests/fuzz_http.c fuzzes it).  Its route into t and, for
 * /v1/keys, the proto request into m: GET, LIST, SET or DEL, the key (or
 * prefix) decoded into key (RAFTCONF_MAX_KEY bytes), a SET's value
 * pointing into r->body.  A write that came without a request id has
 * client_id 0: the caller numbers it.  0, or an HTTP status with err set:
 * 404, 405 (*allow then names the methods the route allows), 400, 413.
 */
int
http_parse_request(const struct request *r, struct target *t, struct proto_msg *m, char *key,
    const char **allow, char *err, size_t errlen)
{
	uint64_t client = 0, seq = 0;
	size_t keylen;
	int rc;

	memset(m, 0, sizeof(*m));
	*allow = NULL;
	if ((rc = http_parse_target(r->path, r->query, t, err, errlen)) != 0)
		return rc;
	if (!http_method_allowed(t->route, r->cmd)) {
		*allow = t->route == R_KEYS ? "GET, HEAD, PUT, DELETE" : "GET, HEAD";
		seterr(err, errlen, "method not allowed here (allowed: %s)", *allow);
		return 405;
	}
	if (t->route != R_KEYS)
		return 0;
	if (r->cmd != EVHTTP_REQ_GET && r->cmd != EVHTTP_REQ_HEAD && (t->list || t->stale)) {
		seterr(err, errlen, "?%s is for GET only", t->list ? "list" : "stale");
		return 400;
	}
	if ((rc = http_decode_key(t, key, &keylen, err, errlen)) != 0)
		return rc;
	if (r->cmd == EVHTTP_REQ_GET || r->cmd == EVHTTP_REQ_HEAD) {
		if (t->list) {
			m->type = PROTO_T_LIST;
			m->list.flags = t->stale ? PROTO_F_STALE : 0;
			m->list.prefix = proto_mem(key, keylen);
		} else {
			m->type = PROTO_T_GET;
			m->get.flags = t->stale ? PROTO_F_STALE : 0;
			m->get.key = proto_mem(key, keylen);
		}
		return 0;
	}
	if (r->request_id && http_parse_request_id(r->request_id, &client, &seq) < 0) {
		seterr(err, errlen,
		    HTTP_REQUEST_ID_HEADER ": expected CLIENT-SEQ, two decimal "
					   "numbers below 2^64, CLIENT not 0");
		return 400;
	}
	if (r->cmd == EVHTTP_REQ_PUT) {
		if (r->body_len > RAFTCONF_MAX_VALUE) {
			seterr(err, errlen, "value of %zu bytes; the limit is %d", r->body_len,
			    RAFTCONF_MAX_VALUE);
			return 413;
		}
		m->type = PROTO_T_SET;
		m->set.client_id = client;
		m->set.seq = seq;
		m->set.key = proto_mem(key, keylen);
		m->set.value = proto_mem(r->body_len ? r->body : "", r->body_len);
	} else {
		m->type = PROTO_T_DEL;
		m->del.client_id = client;
		m->del.seq = seq;
		m->del.key = proto_mem(key, keylen);
	}
	return 0;
}
