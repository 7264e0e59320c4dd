/*
 * http_parse.c — the pure part of the HTTP API: a request's path, query,
 * request id header and body judged into the proto request it asks for,
 * or an HTTP status and a message (http_parse.h).  No I/O, no state: the
 * fuzzer (tests/fuzz_http.c) drives it directly.
 */
#include "http_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "errbuf.h"
#include "json.h"
#include "limits.h"

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
			if ((hi = hex_digit(in[i + 1])) < 0 || (lo = hex_digit(in[i + 2])) < 0)
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
 * ?wait=: "30s", "500ms", "2m", or a plain number of seconds; longer than
 * RAFTCONF_MAX_POLL_MS is cut to it (Consul caps its wait likewise).  0 or -1.
 */
int
http_parse_wait(const char *v, size_t len, uint64_t *ms)
{
	uint64_t n = 0, unit = 1000;
	size_t i = 0;

	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		if (n > RAFTCONF_MAX_POLL_MS)
			n = RAFTCONF_MAX_POLL_MS + 1; /* no overflow: it is cut anyway */
		else
			n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (i == 0)
		return -1;
	if (len - i == 2 && memcmp(v + i, "ms", 2) == 0)
		unit = 1;
	else if (len - i == 1 && v[i] == 'm')
		unit = 60000;
	else if (!(len == i || (len - i == 1 && v[i] == 's')))
		return -1;
	*ms = n > RAFTCONF_MAX_POLL_MS / unit ? RAFTCONF_MAX_POLL_MS : n * unit;
	return 0;
}

/* ?rev=N: a decimal u64.  0 or -1. */
static int
parse_rev(const char *v, size_t len, uint64_t *rev)
{
	uint64_t n = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*rev = n;
	return 0;
}

/* A valued query parameter of a watch (rev, wait): 0, or 400 with err set. */
static int
watch_param(struct target *t, const char *name, size_t nlen, const char *v, size_t vlen, char *err,
    size_t errlen)
{
	if (nlen == 3 && memcmp(name, "rev", 3) == 0) {
		if (parse_rev(v, vlen, &t->rev) < 0) {
			seterr(err, errlen,
			    "query parameter rev: expected a revision, a decimal number");
			return 400;
		}
		t->has_rev = true;
		return 0;
	}
	if (http_parse_wait(v, vlen, &t->wait_ms) < 0) {
		seterr(err, errlen,
		    "query parameter wait: expected a duration such as 30s, 500ms or 2m");
		return 400;
	}
	t->has_wait = true;
	return 0;
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
	else if (strcmp(path, "/v1/txn") == 0)
		t->route = R_TXN;
	else if (strncmp(path, keys, klen) == 0 && (path[klen] == '\0' || path[klen] == '/'))
		t->route = R_KEYS;
	if (t->route == R_NONE) {
		seterr(err, errlen,
		    "no such resource; the API is /v1/keys/KEY, /v1/txn, /v1/status, "
		    "/v1/health and /metrics");
		return 404;
	}
	if (t->route != R_KEYS)
		return 0;
	t->rawkey = path + klen;
	t->wait_ms = HTTP_DEFAULT_WAIT_MS;
	for (const char *p = query; p && *p;) {
		const char *end = p + strcspn(p, "&"), *eq = memchr(p, '=', end - p);
		size_t nlen = (eq ? eq : end) - p;
		const char *v = eq ? eq + 1 : end;
		bool *flag = NULL;
		int on, rc;

		if (nlen == 5 && memcmp(p, "stale", 5) == 0)
			flag = &t->stale;
		else if (nlen == 4 && memcmp(p, "list", 4) == 0)
			flag = &t->list;
		else if (nlen == 5 && memcmp(p, "watch", 5) == 0)
			flag = &t->watch;
		else if (nlen == 4 && memcmp(p, "keys", 4) == 0)
			flag = &t->keys;
		else if (nlen == 5 && memcmp(p, "count", 5) == 0)
			flag = &t->count;
		if (flag == NULL && nlen == 5 && memcmp(p, "limit", 5) == 0) {
			if (parse_rev(v, (size_t)(end - v), &t->limit) < 0 || t->limit == 0) {
				seterr(err, errlen,
				    "query parameter limit: expected a number of keys, 1 or more");
				return 400;
			}
			p = *end ? end + 1 : end;
			continue;
		}
		if (flag == NULL &&
		    ((nlen == 3 && memcmp(p, "rev", 3) == 0) ||
			(nlen == 4 && memcmp(p, "wait", 4) == 0))) {
			if ((rc = watch_param(t, p, nlen, v, (size_t)(end - v), err, errlen)) != 0)
				return rc;
			p = *end ? end + 1 : end;
			continue;
		}
		if (flag == NULL && nlen > 0) {
			seterr(err, errlen,
			    "unknown query parameter \"%.*s\" (known: stale, "
			    "list, keys, count, limit, watch, rev, wait)",
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
	if ((t->has_rev || t->has_wait) && !t->watch) {
		seterr(err, errlen, "rev and wait are for ?watch only");
		return 400;
	}
	if (t->watch && (t->list || t->stale)) {
		seterr(err, errlen, "?watch goes with neither list nor stale");
		return 400;
	}
	if ((t->keys || t->count || t->limit) && !t->list) {
		seterr(err, errlen, "keys, count and limit are for ?list only");
		return 400;
	}
	if (t->count && (t->keys || t->limit)) {
		seterr(err, errlen, "?list&count goes with neither keys nor limit");
		return 400;
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
	if (t->list || t->watch) {
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
	if (r == R_TXN)
		return cmd == EVHTTP_REQ_POST;
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
/* An entity tag as raftconfd gives it, "REV": 0 with the revision, or -EINVAL. */
static int
parse_etag(const char *s, uint64_t *rev)
{
	const char *p;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s++ != '"' || *s < '0' || *s > '9')
		return -EINVAL;
	*rev = 0;
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*rev > (UINT64_MAX - d) / 10)
			return -EINVAL;
		*rev = *rev * 10 + d;
	}
	if (*p++ != '"')
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0' ? 0 : -EINVAL;
}

/*
 * The conditions of a PUT or DELETE: If-Match: "REV" (the key must be at
 * REV) or If-None-Match: * (it must not exist).  0 with *cond and
 * *if_rev, or 400 with err set for anything else (several tags, a weak
 * one, If-Match: *, both headers).
 */
static int
parse_conditions(const struct request *r, bool *cond, uint64_t *if_rev, char *err, size_t errlen)
{
	const char *v;

	*cond = false;
	*if_rev = 0;
	if (r->if_match != NULL && r->if_none_match != NULL) {
		seterr(err, errlen, "If-Match and If-None-Match together are not supported");
		return 400;
	}
	if (r->if_match != NULL) {
		if (parse_etag(r->if_match, if_rev) < 0) {
			seterr(err, errlen,
			    "If-Match: expected one entity tag as GET gives it, \"REV\" (a "
			    "revision in double quotes)");
			return 400;
		}
		*cond = true;
	} else if (r->if_none_match != NULL) {
		for (v = r->if_none_match; *v == ' ' || *v == '\t'; v++)
			;
		if (v[0] != '*' || v[1 + strspn(v + 1, " \t")] != '\0') {
			seterr(err, errlen,
			    "If-None-Match: only * (the key must not exist) is supported");
			return 400;
		}
		*cond = true;
	}
	return 0;
}

int
http_parse_request(const struct request *r, struct target *t, struct proto_msg *m, char *key,
    const char **allow, char *err, size_t errlen)
{
	uint64_t client = 0, seq = 0, if_rev = 0;
	bool cond = false;
	size_t keylen;
	int rc;

	memset(m, 0, sizeof(*m));
	*allow = NULL;
	if ((rc = http_parse_target(r->path, r->query, t, err, errlen)) != 0)
		return rc;
	if (!http_method_allowed(t->route, r->cmd)) {
		*allow = t->route == R_KEYS ? "GET, HEAD, PUT, DELETE"
		    : t->route == R_TXN	    ? "POST"
					    : "GET, HEAD";
		seterr(err, errlen, "method not allowed here (allowed: %s)", *allow);
		return 405;
	}
	if (t->route != R_KEYS)
		return 0;
	if (r->cmd != EVHTTP_REQ_GET && r->cmd != EVHTTP_REQ_HEAD &&
	    (t->list || t->stale || t->watch)) {
		seterr(err, errlen, "?%s is for GET only",
		    t->list	   ? "list"
			: t->watch ? "watch"
				   : "stale");
		return 400;
	}
	if ((rc = http_decode_key(t, key, &keylen, err, errlen)) != 0)
		return rc;
	if (r->cmd == EVHTTP_REQ_GET || r->cmd == EVHTTP_REQ_HEAD) {
		if (t->watch) {
			m->type = PROTO_T_POLL;
			m->poll.flags = t->has_rev ? 0 : PROTO_F_FROM_NOW;
			m->poll.after = t->rev;
			m->poll.wait_ms = t->wait_ms;
			m->poll.prefix = proto_mem(key, keylen);
		} else if (t->list && (t->keys || t->count || t->limit)) {
			m->type = PROTO_T_LIST_EX;
			m->list_ex.flags = (t->stale ? PROTO_F_STALE : 0) |
			    (t->count ? PROTO_F_COUNT : PROTO_F_META) |
			    (t->keys ? PROTO_F_KEYS_ONLY : 0);
			m->list_ex.limit = t->limit;
			m->list_ex.prefix = proto_mem(key, keylen);
		} else if (t->list) {
			m->type = PROTO_T_LIST;
			m->list.flags = PROTO_F_META | (t->stale ? PROTO_F_STALE : 0);
			m->list.prefix = proto_mem(key, keylen);
		} else {
			m->type = PROTO_T_GET;
			m->get.flags = PROTO_F_META | (t->stale ? PROTO_F_STALE : 0);
			m->get.key = proto_mem(key, keylen);
		}
		return 0;
	}
	if ((rc = parse_conditions(r, &cond, &if_rev, err, errlen)) != 0)
		return rc;
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
		if (cond) {
			struct proto_str v = m->set.value;

			m->type = PROTO_T_SET_IF;
			m->set_if.key = proto_mem(key, keylen);
			m->set_if.value = v;
			m->set_if.if_rev = if_rev;
		}
	} else {
		m->type = PROTO_T_DEL;
		m->del.client_id = client;
		m->del.seq = seq;
		m->del.key = proto_mem(key, keylen);
		if (cond) {
			m->type = PROTO_T_DEL_IF;
			m->del_if.key = proto_mem(key, keylen);
			m->del_if.if_rev = if_rev;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ POST /v1/txn */

/* A JSON text being read: strict RFC 8259, only what the txn body may hold. */
struct jp {
	const unsigned char *p, *start, *end;
	char *err;
	size_t errlen;
};

static int jfail(struct jp *j, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
jfail(struct jp *j, int status, const char *fmt, ...)
{
	char what[RAFTCONF_MAX_ERROR];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	seterr(j->err, j->errlen, "txn body, byte %zu: %s", (size_t)(j->p - j->start), what);
	return status;
}

static void
jws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/* The next character, after white space, is c: consume it. */
static bool
jlit(struct jp *j, char c)
{
	jws(j);
	if (j->p < j->end && *j->p == (unsigned char)c) {
		j->p++;
		return true;
	}
	return false;
}

static int
jhex4(struct jp *j, unsigned *v)
{
	*v = 0;
	if (j->end - j->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hex_digit((char)j->p[i]);

		if (h < 0)
			return -1;
		*v = *v << 4 | (unsigned)h;
	}
	j->p += 4;
	return 0;
}

static size_t
utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A \u escape after the "\u": one code point, a surrogate pair joined. */
static int
jescape_u(struct jp *j, unsigned *cp)
{
	unsigned lo;

	if (jhex4(j, cp) < 0)
		return -1;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return -1;
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
			return -1;
		j->p += 2;
		if (jhex4(j, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return -1;
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return 0;
}

/*
 * A string, its escapes undone, into a malloc'd buffer of *len bytes (and
 * a NUL after them).  More than cap bytes: 413 when big, else 400.
 */
static int
jstring(struct jp *j, const char *what, size_t cap, int big, char **out, size_t *len)
{
	char *o;
	size_t n = 0;
	unsigned cp;

	*out = NULL;
	if (!jlit(j, '"'))
		return jfail(j, 400, "%s: a string expected", what);
	if ((o = malloc((size_t)(j->end - j->p) + 1)) == NULL)
		return jfail(j, 500, "out of memory");
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = *j->p++;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			o[n++] = (char)c;
			continue;
		}
		if (j->p == j->end)
			goto bad;
		switch (c = *j->p++) {
		case '"':
		case '\\':
		case '/':
			o[n++] = (char)c;
			break;
		case 'b':
			o[n++] = '\b';
			break;
		case 'f':
			o[n++] = '\f';
			break;
		case 'n':
			o[n++] = '\n';
			break;
		case 'r':
			o[n++] = '\r';
			break;
		case 't':
			o[n++] = '\t';
			break;
		case 'u':
			if (jescape_u(j, &cp) < 0)
				goto bad;
			n += utf8_put(o + n, cp);
			break;
		default:
			goto bad;
		}
	}
	if (j->p == j->end)
		goto bad;
	j->p++;
	if (!json_utf8_valid(o, n)) {
		free(o);
		return jfail(j, 400, "%s: not UTF-8 text (use the _base64 form)", what);
	}
	if (n > cap) {
		free(o);
		return jfail(j, big, "%s: %zu bytes, over the limit of %zu", what, n, cap);
	}
	o[n] = '\0';
	*out = o;
	*len = n;
	return 0;
bad:
	free(o);
	return jfail(j, 400, "%s: a malformed JSON string", what);
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* A base64 string (RFC 4648, padded), decoded as jstring decodes text. */
static int
jbase64(struct jp *j, const char *what, size_t cap, int big, char **out, size_t *len)
{
	char *s, *o;
	size_t slen, n = 0;
	int rc;

	if ((rc = jstring(j, what, SIZE_MAX, big, &s, &slen)) != 0)
		return rc;
	if (slen % 4 != 0 || (o = malloc(slen / 4 * 3 + 1)) == NULL) {
		free(s);
		return jfail(j, 400, "%s: not base64 (padded, A-Z a-z 0-9 + /)", what);
	}
	for (size_t i = 0; i < slen; i += 4) {
		int v[4];
		bool last = i + 4 == slen;

		for (int k = 0; k < 4; k++)
			v[k] = b64val((unsigned char)s[i + k]);
		if (v[0] < 0 || v[1] < 0 ||
		    (v[2] < 0 && !(last && s[i + 2] == '=' && s[i + 3] == '=')) ||
		    (v[3] < 0 && !(last && s[i + 3] == '='))) {
			free(s);
			free(o);
			return jfail(j, 400, "%s: not base64 (padded, A-Z a-z 0-9 + /)", what);
		}
		o[n++] = (char)(v[0] << 2 | v[1] >> 4);
		if (v[2] >= 0)
			o[n++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
		if (v[2] >= 0 && v[3] >= 0)
			o[n++] = (char)((v[2] & 3) << 6 | v[3]);
	}
	free(s);
	if (n > cap) {
		free(o);
		return jfail(j, big, "%s: %zu bytes, over the limit of %zu", what, n, cap);
	}
	o[n] = '\0';
	*out = o;
	*len = n;
	return 0;
}

static int
jnumber(struct jp *j, const char *what, uint64_t *v)
{
	const unsigned char *start;

	jws(j);
	*v = 0;
	start = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		unsigned d = (unsigned)(*j->p - '0');

		if (*v > (UINT64_MAX - d) / 10 || (j->p > start && *start == '0'))
			return jfail(j, 400, "%s: a revision below 2^64 expected", what);
		*v = *v * 10 + d;
		j->p++;
	}
	if (j->p == start)
		return jfail(j, 400, "%s: a revision (a whole number) expected", what);
	return 0;
}

/* What one object of the body says: "name": value members, decoded. */
struct jobj {
	char *key, *value, *target, *result, *op;
	size_t klen, vlen, tlen, rlen, olen;
	uint64_t revision;
	bool has_revision;
};

static void
jobj_free(struct jobj *o)
{
	free(o->key);
	free(o->value);
	free(o->target);
	free(o->result);
	free(o->op);
	memset(o, 0, sizeof(*o));
}

/* One member of a compare (ops false) or op object into o. */
static int
jmember(struct jp *j, bool ops, const char *name, struct jobj *o)
{
	bool b64 = false;
	char **dst = NULL;
	size_t *dlen = NULL, cap = 64;
	int big = 400;

	if (strcmp(name, "key") == 0 || (b64 = strcmp(name, "key_base64") == 0)) {
		dst = &o->key, dlen = &o->klen, cap = RAFTCONF_MAX_KEY;
	} else if (strcmp(name, "value") == 0 || (b64 = strcmp(name, "value_base64") == 0)) {
		dst = &o->value, dlen = &o->vlen, cap = RAFTCONF_MAX_VALUE, big = 413;
	} else if (!ops && strcmp(name, "target") == 0) {
		dst = &o->target, dlen = &o->tlen;
	} else if (!ops && strcmp(name, "result") == 0) {
		dst = &o->result, dlen = &o->rlen;
	} else if (ops && strcmp(name, "op") == 0) {
		dst = &o->op, dlen = &o->olen;
	} else if (!ops && strcmp(name, "revision") == 0) {
		if (o->has_revision)
			return jfail(j, 400, "\"revision\" given twice");
		o->has_revision = true;
		return jnumber(j, name, &o->revision);
	} else {
		return jfail(j, 400, "unknown member \"%s\" in %s", name,
		    ops ? "an operation (op, key, value)"
			: "a compare (key, target, result, revision, value)");
	}
	if (*dst != NULL)
		return jfail(j, 400, "\"%s\" given twice (or with its _base64 form)", name);
	return b64 ? jbase64(j, name, cap, big, dst, dlen) : jstring(j, name, cap, big, dst, dlen);
}

/*
 * o's key as the store holds it: with a '/' put before a key that has
 * none, as the key of /v1/keys/KEY and every key raftconfctl takes have.
 */
static int
jslash(struct jp *j, struct jobj *o)
{
	char *p;

	if (o->key == NULL || o->klen == 0 || o->key[0] == '/')
		return 0;
	if ((p = realloc(o->key, o->klen + 2)) == NULL)
		return jfail(j, 500, "out of memory");
	memmove(p + 1, p, o->klen + 1);
	p[0] = '/';
	o->key = p;
	o->klen++;
	return 0;
}

/* One object of the compare (ops false) or an op list into o. */
static int
jobject(struct jp *j, bool ops, struct jobj *o)
{
	char *name;
	size_t nlen;
	int rc;

	memset(o, 0, sizeof(*o));
	if (!jlit(j, '{'))
		return jfail(j, 400, "an object expected");
	if (jlit(j, '}'))
		return 0;
	do {
		if ((rc = jstring(j, "a member name", 32, 400, &name, &nlen)) != 0)
			return rc;
		rc = jlit(j, ':') ? jmember(j, ops, name, o) : jfail(j, 400, "':' expected");
		free(name);
		if (rc != 0)
			return rc;
	} while (jlit(j, ','));
	if (!jlit(j, '}'))
		return jfail(j, 400, "',' or '}' expected");
	return jslash(j, o);
}

static bool
is(const char *s, const char *word)
{
	return s != NULL && strcmp(s, word) == 0;
}

/* A compare object into c (pointing into o). */
static int
jcompare(struct jp *j, const struct jobj *o, struct proto_compare *c)
{
	memset(c, 0, sizeof(*c));
	if (o->key == NULL || !proto_valid_key(o->key, o->klen))
		return jfail(j, 400,
		    "a compare needs a \"key\" of 1 to %d bytes without NUL, its leading '/' included",
		    RAFTCONF_MAX_KEY);
	c->key = proto_mem(o->key, o->klen);
	c->target = is(o->target, "revision") ? PROTO_CMP_REV
	    : is(o->target, "value")	      ? PROTO_CMP_VALUE
					      : 0;
	c->result = is(o->result, "=") ? PROTO_CMP_EQ
	    : is(o->result, "!=")      ? PROTO_CMP_NE
	    : is(o->result, "<")       ? PROTO_CMP_LT
	    : is(o->result, ">")       ? PROTO_CMP_GT
				       : 0;
	if (c->target == 0)
		return jfail(j, 400, "a compare's \"target\" is \"revision\" or \"value\"");
	if (c->result == 0)
		return jfail(j, 400, "a compare's \"result\" is \"=\", \"!=\", \"<\" or \">\"");
	if (c->target == PROTO_CMP_REV) {
		if (!o->has_revision || o->value != NULL)
			return jfail(j, 400,
			    "a compare of the revision takes \"revision\" (0: the key does not "
			    "exist), no value");
		c->revision = o->revision;
		return 0;
	}
	if (o->value == NULL || o->has_revision)
		return jfail(j, 400, "a compare of the value takes \"value\", no revision");
	if (c->result != PROTO_CMP_EQ && c->result != PROTO_CMP_NE)
		return jfail(j, 400, "a value compares with \"=\" or \"!=\" only");
	c->value = proto_mem(o->value, o->vlen);
	return 0;
}

/* An operation object into op (pointing into o). */
static int
jop(struct jp *j, const struct jobj *o, struct proto_op *op)
{
	memset(op, 0, sizeof(*op));
	op->kind = is(o->op, "set") ? PROTO_OP_SET
	    : is(o->op, "del")	    ? PROTO_OP_DEL
	    : is(o->op, "get")	    ? PROTO_OP_GET
				    : 0;
	if (op->kind == 0)
		return jfail(j, 400, "an operation's \"op\" is \"set\", \"del\" or \"get\"");
	if (o->key == NULL || !proto_valid_key(o->key, o->klen))
		return jfail(j, 400,
		    "an operation needs a \"key\" of 1 to %d bytes without NUL, its leading '/' included",
		    RAFTCONF_MAX_KEY);
	op->key = proto_mem(o->key, o->klen);
	if ((op->kind == PROTO_OP_SET) != (o->value != NULL))
		return jfail(j, 400, "\"set\" takes a \"value\", \"del\" and \"get\" none");
	if (o->value != NULL)
		op->value = proto_mem(o->value, o->vlen);
	return 0;
}

/* One of the body's lists: which 0 the compares, else the then or else ops. */
static int
jlist(struct jp *j, int which, struct proto_buf *b, uint32_t *count)
{
	const char *name = which == PROTO_TXN_COMPARES ? "compares" : "operations";
	struct proto_compare c;
	struct proto_op op;
	struct jobj o;
	int rc;

	if (!jlit(j, '['))
		return jfail(j, 400, "a list of %s expected", name);
	if (jlit(j, ']'))
		return 0;
	do {
		rc = jobject(j, which != PROTO_TXN_COMPARES, &o);
		if (rc == 0 && which == PROTO_TXN_COMPARES && (rc = jcompare(j, &o, &c)) == 0)
			rc = proto_txn_add_compare(b, count, &c);
		else if (rc == 0 && which != PROTO_TXN_COMPARES && (rc = jop(j, &o, &op)) == 0)
			rc = proto_txn_add_op(b, count, &op);
		jobj_free(&o);
		if (rc == -E2BIG)
			return jfail(j, 413, "more than %d %s", RAFTCONF_MAX_TXN_OPS, name);
		if (rc < 0)
			return jfail(j, 500, "cannot build the request: %s", strerror(-rc));
		if (rc != 0)
			return rc;
	} while (jlit(j, ','));
	return jlit(j, ']') ? 0 : jfail(j, 400, "',' or ']' expected");
}

int
http_parse_txn(const void *body, size_t len, struct proto_msg *m, struct proto_buf lists[3],
    char *err, size_t errlen)
{
	static const char *const names[3] = { "compare", "success", "failure" };
	const unsigned char *p = body != NULL ? body : (const void *)"";
	struct jp j = { p, p, p + (body != NULL ? len : 0), err, errlen };
	uint32_t counts[3] = { 0, 0, 0 };
	bool seen[3] = { false, false, false };
	char *name;
	size_t nlen;
	int rc, k;

	memset(m, 0, sizeof(*m));
	if (!jlit(&j, '{'))
		return jfail(&j, 400, "a JSON object expected");
	if (!jlit(&j, '}')) {
		do {
			if ((rc = jstring(&j, "a member name", 32, 400, &name, &nlen)) != 0)
				return rc;
			for (k = 0; k < 3 && strcmp(name, names[k]) != 0; k++)
				;
			if (k == 3 || seen[k]) {
				rc = jfail(&j, 400,
				    "%s member \"%s\" (known: compare, success, failure)",
				    k == 3 ? "unknown" : "repeated", name);
				free(name);
				return rc;
			}
			free(name);
			seen[k] = true;
			if (!jlit(&j, ':'))
				return jfail(&j, 400, "':' expected");
			if ((rc = jlist(&j, k, &lists[k], &counts[k])) != 0)
				return rc;
		} while (jlit(&j, ','));
		if (!jlit(&j, '}'))
			return jfail(&j, 400, "',' or '}' expected");
	}
	jws(&j);
	if (j.p != j.end)
		return jfail(&j, 400, "bytes after the object");
	if (counts[1] + counts[2] > RAFTCONF_MAX_TXN_OPS)
		return jfail(&j, 413,
		    "%" PRIu32 " operations in success and failure, over the limit of %d together",
		    counts[1] + counts[2], RAFTCONF_MAX_TXN_OPS);
	m->type = PROTO_T_TXN;
	m->txn.compares = (struct proto_items){ counts[0], lists[0].data, lists[0].len };
	m->txn.then_ops = (struct proto_items){ counts[1], lists[1].data, lists[1].len };
	m->txn.else_ops = (struct proto_items){ counts[2], lists[2].data, lists[2].len };
	return 0;
}
