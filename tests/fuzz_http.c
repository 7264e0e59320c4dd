/*
 * fuzz_http.c — libFuzzer target for the HTTP API's reading of a request
 * (daemon/http.c, which it includes, as check_http_server.c does) and for the
 * JSON writer (daemon/json.c) on the bytes clients send.
 *
 * Each input is one HTTP/1.x request as a client sends it.  The request
 * line and the headers are split here as libevent 2.1's evhttp splits them
 * (the method up to the first space, the version after the last; headers
 * trimmed, continuation lines joined with a space, the first of a name
 * wins), and the URI is parsed by evhttp's own evhttp_uri_parse_with_flags,
 * as evhttp does; the body is whatever follows the blank line.  Then
 * http.c's http_parse_request judges it, as request_cb does.
 *
 * An answer is one of the documented statuses with a message (405 with
 * its Allow list).  A request for the node is the proto request the
 * method asks for (GET or LIST for GET and HEAD, SET for PUT, DEL for
 * DELETE), its key the path after /v1/keys percent-decoded (decoded here
 * a second time, independently), a PUT's value exactly the body; and it
 * encodes on the wire and decodes back the same, as a follower that
 * forwards it to the leader needs.  The key and the value then go through
 * the JSON writer, as a listing returns them (json_entry, and http.c's
 * http_json_answer on a LIST_REPLY that carries them), and so does the error
 * message: what comes out must be JSON that reads back, with a strict
 * reader of our own, to exactly those bytes (as text when they are UTF-8,
 * as base64 otherwise), and json_utf8_valid must agree with our own UTF-8
 * decoder.  Any broken promise aborts.
 *
 * Not a unit test: tests/check_http.c and tests/check_json.c hold those,
 * including a regression test for anything this target finds.
 */
#include "http.c"

#include <ctype.h>
#include <strings.h>

/* The JSON writer and the answers' bodies, which http.c leaves to http_answer.c. */
#include "http_json.h"
#include "json.h"

#define FUZZ_NAME "fuzz_http"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* evhttp's type for a method it does not know (libevent 2.1: 1 << 15). */
#define METHOD_UNKNOWN ((enum evhttp_cmd_type)(1 << 15))

/* A hex digit's value, or -1: the fuzzer's own, not http_parse.c's. */
static int
fz_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const struct {
	const char *name;
	enum evhttp_cmd_type cmd;
} methods[] = {
	{ "GET", EVHTTP_REQ_GET },
	{ "POST", EVHTTP_REQ_POST },
	{ "HEAD", EVHTTP_REQ_HEAD },
	{ "PUT", EVHTTP_REQ_PUT },
	{ "DELETE", EVHTTP_REQ_DELETE },
	{ "OPTIONS", EVHTTP_REQ_OPTIONS },
	{ "TRACE", EVHTTP_REQ_TRACE },
	{ "CONNECT", EVHTTP_REQ_CONNECT },
	{ "PATCH", EVHTTP_REQ_PATCH },
};

/* ------------------------------------------------------ the request's text */

/* The next line of s[*off..n), without its "\n" or "\r\n"; NULL at the end. */
static char *
next_line(const char *s, size_t n, size_t *off)
{
	const char *nl;
	size_t len;
	char *line;

	if (*off >= n || (nl = memchr(s + *off, '\n', n - *off)) == NULL)
		return NULL;
	len = (size_t)(nl - (s + *off));
	line = strndup(s + *off, len > 0 && nl[-1] == '\r' ? len - 1 : len);
	require(line != NULL, "out of memory", NULL);
	*off += len + 1;
	return line;
}

static char *
trim(char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/*
 * The X-Raftconf-Request-Id header of the header lines from *off, into rid
 * (NULL when absent), *off left after the blank line.  False when evhttp
 * would refuse the headers.
 */
static bool
read_headers(const char *s, size_t n, size_t *off, struct fbuf *rid, bool *have_rid)
{
	bool in_rid = false;
	char *line, *colon;

	*have_rid = false;
	while ((line = next_line(s, n, off)) != NULL) {
		if (line[0] == '\0') {
			free(line);
			return true;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			/* A continuation of the previous header. */
			if (in_rid) {
				fbuf_str(rid, " ");
				fbuf_str(rid, trim(line));
			}
			free(line);
			continue;
		}
		if ((colon = strchr(line, ':')) == NULL) {
			free(line);
			return false;
		}
		*colon = '\0';
		in_rid = false;
		if (!*have_rid && strcasecmp(line, HTTP_REQUEST_ID_HEADER) == 0) {
			*have_rid = in_rid = true;
			fbuf_str(rid, trim(colon + 1));
		}
		free(line);
	}
	return false;
}

/* --------------------------------------------------------------- JSON */

struct jin {
	const uint8_t *p, *end;
};

static void
put_utf8(struct fbuf *b, uint32_t cp)
{
	uint8_t u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | cp >> 12);
		u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | cp >> 18);
		u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	fbuf_add(b, u, n);
}

static bool
lit(struct jin *j, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool
hex4(struct jin *j, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, j->p++) {
		int h = j->p < j->end ? fz_hexval((char)*j->p) : -1;

		if (h < 0)
			return false;
		*v = *v << 4 | (uint32_t)h;
	}
	return true;
}

/* A JSON string (RFC 8259 §7), its value appended to out as UTF-8. */
static bool
read_string(struct jin *j, struct fbuf *out)
{
	uint32_t cp, lo;
	size_t n;

	if (!lit(j, "\""))
		return false;
	while (j->p < j->end) {
		if (*j->p == '"') {
			j->p++;
			return true;
		}
		if (*j->p < 0x20)
			return false;
		if (*j->p != '\\') {
			if ((n = utf8_next(j->p, (size_t)(j->end - j->p), &cp)) == 0)
				return false;
			fbuf_add(out, j->p, n);
			j->p += n;
			continue;
		}
		if (++j->p == j->end)
			return false;
		switch (*j->p++) {
		case '"':
			fbuf_str(out, "\"");
			break;
		case '\\':
			fbuf_str(out, "\\");
			break;
		case '/':
			fbuf_str(out, "/");
			break;
		case 'b':
			fbuf_str(out, "\b");
			break;
		case 'f':
			fbuf_str(out, "\f");
			break;
		case 'n':
			fbuf_str(out, "\n");
			break;
		case 'r':
			fbuf_str(out, "\r");
			break;
		case 't':
			fbuf_str(out, "\t");
			break;
		case 'u':
			if (!hex4(j, &cp) || (cp >= 0xdc00 && cp <= 0xdfff))
				return false;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (!lit(j, "\\u") || !hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return false;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			put_utf8(out, cp);
			break;
		default:
			return false;
		}
	}
	return false;
}

static int
b64val(uint8_t c)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(abc, c) : NULL;

	return p ? (int)(p - abc) : -1;
}

/* RFC 4648 base64, padded and canonical (the unused bits 0), into out. */
static bool
unbase64(const char *s, size_t len, struct fbuf *out)
{
	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		uint8_t b[3];
		size_t pad = 0;

		for (int k = 0; k < 4; k++) {
			v[k] = b64val((uint8_t)s[i + k]);
			if (s[i + k] == '=' && i + 4 == len && k >= 2)
				pad++, v[k] = 0;
			else if (v[k] < 0 || pad > 0)
				return false;
		}
		if ((pad == 2 && (v[1] & 0x0f)) || (pad == 1 && (v[2] & 0x03)))
			return false;
		b[0] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		b[1] = (uint8_t)((v[1] & 0x0f) << 4 | v[2] >> 2);
		b[2] = (uint8_t)((v[2] & 0x03) << 6 | v[3]);
		fbuf_add(out, b, 3 - pad);
	}
	return true;
}

static bool
same_bytes(const struct fbuf *b, const void *p, size_t n)
{
	return b->len == n && (n == 0 || memcmp(b->p, p, n) == 0);
}

/* A member "name":"text" or "name_base64":"..." that must hold p[0..n). */
static void
read_bytes_field(struct jin *j, const char *name, const void *p, size_t n)
{
	struct fbuf got = { 0 }, raw = { 0 };
	char want[32];
	bool text = utf8_ok(p, n);

	snprintf(want, sizeof(want), "\"%s%s\":", name, text ? "" : "_base64");
	require(lit(j, want), "the field of bytes is not named as promised", want);
	if (text) {
		require(read_string(j, &got), "a text field is not a JSON string", name);
	} else {
		require(read_string(j, &raw), "a base64 field is not a JSON string", name);
		require(unbase64(raw.p ? raw.p : "", raw.len, &got), "not canonical base64", raw.p);
	}
	require(same_bytes(&got, p, n), "a field does not read back to its bytes", name);
	fbuf_free(&got);
	fbuf_free(&raw);
}

/* json_entry's object, read back. */
static void
read_entry(
    struct jin *j, const void *key, size_t keylen, uint64_t rev, const void *value, size_t valuelen)
{
	char num[48];

	require(lit(j, "{"), "an entry is not an object", NULL);
	read_bytes_field(j, "key", key, keylen);
	snprintf(num, sizeof(num), ",\"revision\":%" PRIu64 ",", rev);
	require(lit(j, num), "the revision", NULL);
	read_bytes_field(j, "value", value, valuelen);
	require(lit(j, "}"), "an entry is not closed", NULL);
}

static void
to_fbuf(void *arg, const char *p, size_t len)
{
	require(len > 0 && len <= JSON_CHUNK, "a json_out write of a bad size", NULL);
	fbuf_add(arg, p, len);
}

static void
check_json(const void *key, size_t keylen, const void *value, size_t valuelen, const char *err)
{
	struct fbuf out = { 0 }, got = { 0 };
	const struct json_out o = { to_fbuf, &out };
	uint64_t rev = (uint64_t)keylen << 32 ^ valuelen;
	struct jin j;

	require(json_utf8_valid(key, keylen) == utf8_ok(key, keylen),
	    "json_utf8_valid disagrees on a key", NULL);
	require(json_utf8_valid(value, valuelen) == utf8_ok(value, valuelen),
	    "json_utf8_valid disagrees on a value", NULL);

	json_entry(&o, key, keylen, rev, value, valuelen);
	require(utf8_ok(out.p, out.len), "JSON output that is not UTF-8", NULL);
	j = (struct jin){ (const uint8_t *)out.p, (const uint8_t *)out.p + out.len };
	read_entry(&j, key, keylen, rev, value, valuelen);
	require(j.p == j.end, "bytes after an entry", NULL);

	/* An error message: always a JSON string; its text when it is UTF-8. */
	out.len = 0;
	json_string(&o, err, strlen(err));
	j = (struct jin){ (const uint8_t *)out.p, (const uint8_t *)out.p + out.len };
	require(
	    read_string(&j, &got) && j.p == j.end, "an error message is not a JSON string", err);
	if (utf8_ok(err, strlen(err)))
		require(same_bytes(&got, err, strlen(err)), "an error message changed", err);
	fbuf_free(&out);
	fbuf_free(&got);
}

/* http.c's listing of a LIST_REPLY holding key and value, read back. */
static void
check_json_list(const void *key, size_t keylen, const void *value, size_t valuelen)
{
	struct evbuffer *eb = evbuffer_new();
	struct proto_reply rb;
	struct proto_buf b;
	struct proto_msg m;
	char err[256];
	struct jin j;
	size_t n;

	require(eb != NULL, "out of memory", NULL);
	proto_buf_init(&b);
	require(proto_reply_begin(&rb, &b, PROTO_T_LIST_REPLY, 7) == 0 &&
		proto_reply_add_entry(&rb, proto_mem(key, keylen), 3, proto_mem(value, valuelen)) ==
		    0 &&
		proto_reply_end(&rb, PROTO_F_TRUNCATED) == 0,
	    "a LIST_REPLY of a valid key does not build", NULL);
	require(proto_decode(b.data, b.len, &m, err, sizeof(err)) == 0, "the LIST_REPLY", err);
	require(http_json_answer(eb, &m, false) == 0, "http_json_answer refused a valid reply", NULL);
	n = evbuffer_get_length(eb);
	j.p = evbuffer_pullup(eb, -1);
	j.end = j.p + n;
	require(lit(&j, "{\"keys\":["), "a listing does not start with keys", NULL);
	read_entry(&j, key, keylen, 3, value, valuelen);
	require(lit(&j, "],\"truncated\":true}") && j.p == j.end, "a listing's end", NULL);
	evbuffer_free(eb);
	proto_buf_free(&b);
}

/* ----------------------------------------------------- the proto request */

static bool
str_eq(struct proto_str a, struct proto_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* The path after /v1/keys, decoded again here: the key it must give. */
static bool
expected_key(const char *path, bool list, struct fbuf *out)
{
	const char *s = path + strlen("/v1/keys");

	for (; *s; s++) {
		char c = *s;

		if (c == '%') {
			if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
				return false;
			c = (char)(fz_hexval(s[1]) << 4 | fz_hexval(s[2]));
			s += 2;
		}
		if (c == '\0')
			return false;
		fbuf_add(out, &c, 1);
	}
	if (list && out->len == 1 && out->p[0] == '/')
		out->len = 0;
	return out->len <= RAFTCONF_MAX_KEY && (list || out->len > 0);
}

/* A request for the node, checked; its key (or prefix) returned. */
static struct proto_str
check_for_node(const struct request *r, const struct target *t, const struct proto_msg *m)
{
	struct proto_msg again;
	struct proto_str key = { 0 };
	struct fbuf want = { 0 };
	struct proto_buf b;
	char err[256];

	switch (r->cmd) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		if (t->watch) {
			require(m->type == PROTO_T_POLL && !t->list && !t->stale, "a watch's type",
			    NULL);
			require(m->poll.flags == (t->has_rev ? 0 : PROTO_F_FROM_NOW) &&
				m->poll.after == t->rev && m->poll.wait_ms == t->wait_ms &&
				t->wait_ms <= RAFTCONF_MAX_POLL_MS,
			    "a watch's revision and wait", NULL);
			key = m->poll.prefix;
			break;
		}
		require(!t->has_rev && !t->has_wait, "rev or wait without watch", NULL);
		if (t->list && (t->keys || t->count || t->limit != 0)) {
			require(m->type == PROTO_T_LIST_EX && !(t->count && (t->keys || t->limit)),
			    "a listing with keys, count or limit", NULL);
			require(m->list_ex.limit == t->limit &&
				m->list_ex.flags ==
				    ((t->stale ? PROTO_F_STALE : 0) |
					(t->count ? PROTO_F_COUNT : PROTO_F_META) |
					(t->keys ? PROTO_F_KEYS_ONLY : 0)),
			    "a listing's flags and limit", NULL);
			key = m->list_ex.prefix;
			break;
		}
		require(!t->keys && !t->count && t->limit == 0, "keys, count or limit without list",
		    NULL);
		require(m->type == (t->list ? PROTO_T_LIST : PROTO_T_GET), "a read's type", NULL);
		key = t->list ? m->list.prefix : m->get.key;
		require((t->list ? m->list.flags : m->get.flags) ==
			(PROTO_F_META | (t->stale ? PROTO_F_STALE : 0)),
		    "a read's flags", NULL);
		break;
	case EVHTTP_REQ_PUT:
		require(m->type == PROTO_T_SET && !t->list && !t->stale && !t->watch,
		    "a PUT's request", NULL);
		require(m->set.value.len == r->body_len &&
			(r->body_len == 0 || m->set.value.ptr == r->body),
		    "a PUT's value is not its body", NULL);
		require(
		    (m->set.client_id != 0) == (r->request_id != NULL), "a PUT's client id", NULL);
		key = m->set.key;
		break;
	case EVHTTP_REQ_DELETE:
		require(m->type == PROTO_T_DEL && !t->list && !t->stale && !t->watch,
		    "a DELETE's request", NULL);
		require((m->del.client_id != 0) == (r->request_id != NULL), "a DELETE's client id",
		    NULL);
		key = m->del.key;
		break;
	default:
		require(false, "a method for the node that is not GET, HEAD, PUT or DELETE", NULL);
		return key;
	}
	require(expected_key(r->path, t->list || t->watch, &want), "a key accepted that is not one",
	    r->path);
	require(
	    str_eq(key, proto_mem(want.p, want.len)), "the key is not the decoded path", r->path);
	require(memchr(key.ptr, '\0', key.len) == NULL, "a key with a NUL byte", NULL);
	fbuf_free(&want);

	/* What a follower does with it: forward it to the leader. */
	proto_buf_init(&b);
	require(proto_encode(&b, m, err, sizeof(err)) == 0,
	    "a request for the node does not encode", err);
	require(proto_decode(b.data, b.len, &again, err, sizeof(err)) == 0,
	    "a request for the node does not decode", err);
	require(again.type == m->type, "the forwarded type", NULL);
	switch (m->type) {
	case PROTO_T_GET:
		require(again.get.flags == m->get.flags && str_eq(again.get.key, m->get.key),
		    "a forwarded GET differs", NULL);
		break;
	case PROTO_T_LIST:
		require(
		    again.list.flags == m->list.flags && str_eq(again.list.prefix, m->list.prefix),
		    "a forwarded LIST differs", NULL);
		break;
	case PROTO_T_LIST_EX:
		require(again.list_ex.flags == m->list_ex.flags &&
			again.list_ex.limit == m->list_ex.limit &&
			str_eq(again.list_ex.prefix, m->list_ex.prefix),
		    "a LIST_EX differs once encoded and decoded", NULL);
		break;
	case PROTO_T_POLL:
		require(again.poll.flags == m->poll.flags && again.poll.after == m->poll.after &&
			again.poll.wait_ms == m->poll.wait_ms &&
			str_eq(again.poll.prefix, m->poll.prefix),
		    "a POLL differs once encoded and decoded", NULL);
		break;
	case PROTO_T_SET:
		require(again.set.client_id == m->set.client_id && again.set.seq == m->set.seq &&
			str_eq(again.set.key, m->set.key) && str_eq(again.set.value, m->set.value),
		    "a forwarded SET differs", NULL);
		break;
	case PROTO_T_DEL:
		require(again.del.client_id == m->del.client_id && again.del.seq == m->del.seq &&
			str_eq(again.del.key, m->del.key),
		    "a forwarded DEL differs", NULL);
		break;
	}
	proto_buf_free(&b);

	if (key.len > 0)
		check_json_list(key.ptr, key.len, r->body_len ? r->body : "", r->body_len);
	return key;
}

/*
 * The body of a POST /v1/txn: 0, 400 or 413, a message exactly when not
 * 0; a txn it accepts encodes, as the node forwards it, and decodes back
 * to the same lists.
 */
static void
check_txn(const void *body, size_t len)
{
	struct proto_buf lists[3], b;
	struct proto_msg m, again;
	char err[RAFTCONF_MAX_ERROR] = "";
	int status;

	for (int k = 0; k < 3; k++)
		proto_buf_init(&lists[k]);
	status = http_parse_txn(body, len, &m, lists, err, sizeof(err));
	require(status == 0 || status == 400 || status == 413, "an undocumented txn status", err);
	require((status == 0) == (err[0] == '\0'), "a txn status without a message, or the reverse",
	    err);
	if (status == 0) {
		proto_buf_init(&b);
		require(proto_encode(&b, &m, err, sizeof(err)) == 0, "an accepted txn does not encode",
		    err);
		require(proto_decode(b.data, b.len, &again, err, sizeof(err)) == 0,
		    "an accepted txn does not decode", err);
		require(again.txn.compares.count == m.txn.compares.count &&
			again.txn.then_ops.count == m.txn.then_ops.count &&
			again.txn.else_ops.count == m.txn.else_ops.count,
		    "a forwarded txn differs", NULL);
		proto_buf_free(&b);
	}
	for (int k = 0; k < 3; k++)
		proto_buf_free(&lists[k]);
}

/* --------------------------------------------------------------- the target */

static void
judge(const struct request *r)
{
	static char key[RAFTCONF_MAX_KEY];
	char err[RAFTCONF_MAX_ERROR] = "";
	const char *allow = NULL;
	struct proto_str k = { "", 0 };
	struct proto_msg m;
	struct target t;
	int status;

	status = http_parse_request(r, &t, &m, key, &allow, err, sizeof(err));
	require(status == 0 || status == 400 || status == 404 || status == 405 || status == 413,
	    "an undocumented status", err);
	require(
	    (status == 0) == (err[0] == '\0'), "a status without a message, or the reverse", err);
	require((status == 405) == (allow != NULL), "405 and Allow go together", err);
	if (status == 405)
		require(strcmp(allow, "GET, HEAD, PUT, DELETE") == 0 ||
			strcmp(allow, "GET, HEAD") == 0 || strcmp(allow, "POST") == 0,
		    "an Allow list", allow);
	if (status == 0 && t.route == R_TXN) {
		require(r->cmd == EVHTTP_REQ_POST, "a txn that is not a POST", NULL);
		check_txn(r->body_len ? r->body : NULL, r->body_len);
	} else if (status == 0 && t.route != R_KEYS) {
		require(t.route == R_STATUS || t.route == R_HEALTH || t.route == R_METRICS,
		    "a route", NULL);
		require(r->cmd == EVHTTP_REQ_GET || r->cmd == EVHTTP_REQ_HEAD,
		    "a method other than GET or HEAD served locally", NULL);
	}
	if (status == 0 && t.route == R_KEYS)
		k = check_for_node(r, &t, &m);
	check_json(k.len ? k.ptr : "", k.len, r->body_len ? r->body : "", r->body_len, err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct fbuf rid = { 0 };
	struct evhttp_uri *uri = NULL;
	struct request r = { 0 };
	char *line, *sp, *last;
	size_t off = 0;
	bool have_rid;

	if ((line = next_line(s, size, &off)) == NULL)
		return 0;
	/* METHOD SP URI SP VERSION, the URI between the first and last space. */
	if ((sp = strchr(line, ' ')) == NULL || (last = strrchr(line, ' ')) == sp)
		goto out;
	*sp = *last = '\0';
	r.cmd = METHOD_UNKNOWN;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(line, methods[i].name) == 0)
			r.cmd = methods[i].cmd;
	if ((uri = evhttp_uri_parse_with_flags(sp + 1, EVHTTP_URI_NONCONFORMANT)) == NULL)
		goto out; /* evhttp answers 400 itself */
	if (!read_headers(s, size, &off, &rid, &have_rid))
		goto out;
	r.path = evhttp_uri_get_path(uri);
	r.query = evhttp_uri_get_query(uri);
	r.request_id = have_rid ? (rid.p ? rid.p : "") : NULL;
	r.body = data + off;
	r.body_len = size - off;
	judge(&r);
out:
	if (uri)
		evhttp_uri_free(uri);
	fbuf_free(&rid);
	free(line);
	return 0;
}
