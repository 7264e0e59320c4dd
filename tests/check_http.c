/*
 * check_http.c — unit tests of the HTTP key API (daemon/http.c).
 *
 * The pure pieces (percent-decoding, routing, the request id header, the
 * JSON of a listing, the status mapping) are static in the server's files,
 * so this file includes http.c, http_answer.c and http_conn.c itself (the
 * connection slots then have the limits set below); the JSON strings and base64 they are made of are
 * daemon/json.c's, tested in check_json.c.  The last tests run a real server
 * in this process against a fake node and raw client sockets: answers arriving
 * later or at once, a client that leaves before its answer, the connection
 * limit and the idle deadline (both set low here).
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

/* Small limits, so that the server tests reach them quickly. */
#define HTTP_MAX_CONNECTIONS	4
#define HTTP_IDLE_TIMEOUT_S	1

#include "http.c"
#include "http_answer.c"
#include "http_conn.c"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* A string literal with its length, embedded NUL bytes included. */
#define L(lit) (lit), (sizeof(lit) - 1)

/* --------------------------------------------------------- evbuffer text */

/* The evbuffer's bytes as a NUL-terminated string (static storage). */
static const char *
text_of(struct evbuffer *b)
{
	static char out[64 * 1024];
	size_t n = evbuffer_get_length(b);

	ck_assert_uint_lt(n, sizeof(out));
	evbuffer_copyout(b, out, n);
	out[n] = '\0';
	return out;
}

/* ------------------------------------------------------- percent-decoding */

static int
decode(const char *in, char *out, size_t cap, size_t *outlen)
{
	return http_pct_decode(in, strlen(in), out, cap, outlen);
}

START_TEST(test_percent_escapes_decode_and_plus_stays_a_plus)
{
	char out[64];
	size_t n = 99;

	ck_assert_int_eq(decode("/a%20b%2Fc+d%7e%7E", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 10);
	ck_assert_mem_eq(out, "/a b/c+d~~", 10);
	ck_assert_int_eq(decode("%C3%A9%ff", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(out, "\xc3\xa9\xff", 3);
	ck_assert_int_eq(decode("", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_malformed_percent_escapes_are_refused)
{
	static const char *const bad[] = {
		"%", "a%", "a%4", "%zz", "%g0", "%0g", "%%", "/x%2", "% 20", "%+1",
	};
	char out[64];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(decode(bad[i], out, sizeof(out), &n) == -EINVAL, "%s decoded",
		    bad[i]);
}
END_TEST

START_TEST(test_a_nul_byte_escaped_as_percent_00_is_refused)
{
	char out[64];
	size_t n;

	ck_assert_int_eq(decode("/a%00b", out, sizeof(out), &n), -EILSEQ);
	ck_assert_int_eq(decode("%00", out, sizeof(out), &n), -EILSEQ);
	ck_assert_int_eq(http_pct_decode(L("a\0b"), out, sizeof(out), &n), -EILSEQ);
}
END_TEST

START_TEST(test_decoding_stops_at_the_capacity_counting_decoded_bytes)
{
	char out[4];
	size_t n;

	ck_assert_int_eq(decode("%41%42%43%44", out, 4, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(decode("%41%42%43%44%45", out, 4, &n), -E2BIG);
	ck_assert_int_eq(decode("abcde", out, 4, &n), -E2BIG);
}
END_TEST

/* ---------------------------------------------------------------- routes */

START_TEST(test_paths_route_to_keys_status_health_and_metrics)
{
	struct target t;
	char err[256];

	ck_assert_int_eq(http_parse_target("/v1/keys/app/db", NULL, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.route, R_KEYS);
	ck_assert_str_eq(t.rawkey, "/app/db");
	ck_assert(!t.stale && !t.list);
	ck_assert_int_eq(http_parse_target("/v1/keys", NULL, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.route, R_KEYS);
	ck_assert_str_eq(t.rawkey, "");
	ck_assert_int_eq(http_parse_target("/v1/status", "x=1", &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.route, R_STATUS);
	ck_assert_int_eq(http_parse_target("/v1/health", NULL, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.route, R_HEALTH);
	ck_assert_int_eq(http_parse_target("/metrics", NULL, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.route, R_METRICS);
}
END_TEST

START_TEST(test_unknown_paths_are_404)
{
	static const char *const paths[] = {
		"/", "", "/v1", "/v1/", "/v1/keysx", "/v1/key", "/v2/keys/a", "/V1/keys/a",
		"/v1/status/", "/metrics/x", "/v1/%6beys/a",
	};
	struct target t;
	char err[256];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ck_assert_msg(http_parse_target(paths[i], NULL, &t, err, sizeof(err)) == 404,
		    "%s routed", paths[i]);
	ck_assert_int_eq(http_parse_target(NULL, NULL, &t, err, sizeof(err)), 404);
	ck_assert_ptr_nonnull(strstr(err, "/v1/keys"));
}
END_TEST

START_TEST(test_stale_and_list_parameters_set_flags)
{
	struct target t;
	char err[256];

	ck_assert_int_eq(http_parse_target("/v1/keys/a", "stale", &t, err, sizeof(err)), 0);
	ck_assert(t.stale && !t.list);
	ck_assert_int_eq(http_parse_target("/v1/keys/a/", "list&stale=1", &t, err, sizeof(err)), 0);
	ck_assert(t.stale && t.list);
	ck_assert_int_eq(http_parse_target("/v1/keys/a/", "list=true&stale=false", &t, err,
	    sizeof(err)), 0);
	ck_assert(!t.stale && t.list);
	ck_assert_int_eq(http_parse_target("/v1/keys/a", "stale=0&&", &t, err, sizeof(err)), 0);
	ck_assert(!t.stale && !t.list);
	ck_assert_int_eq(http_parse_target("/v1/keys/a", "", &t, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_unknown_parameters_and_flag_values_are_400)
{
	struct target t;
	char err[256];

	ck_assert_int_eq(http_parse_target("/v1/keys/a", "stael", &t, err, sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "stael"));
	ck_assert_int_eq(http_parse_target("/v1/keys/a", "stale=yes", &t, err, sizeof(err)), 400);
	ck_assert_int_eq(http_parse_target("/v1/keys/a", "list=2", &t, err, sizeof(err)), 400);
	ck_assert_int_eq(http_parse_target("/v1/keys/a", "stale&x=1", &t, err, sizeof(err)), 400);
	ck_assert_int_eq(http_parse_target("/v1/keys/a", "=1", &t, err, sizeof(err)), 0);
}
END_TEST

static int
key_of(const char *path, const char *query, char *buf, size_t *len, char *err, size_t errlen)
{
	struct target t;
	int rc = http_parse_target(path, query, &t, err, errlen);

	return rc ? rc : http_decode_key(&t, buf, len, err, errlen);
}

START_TEST(test_the_key_is_the_decoded_path_after_v1_keys)
{
	char key[RAFTCONF_MAX_KEY], err[256];
	size_t len;

	ck_assert_int_eq(key_of("/v1/keys/app/db/host", NULL, key, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 12);
	ck_assert_mem_eq(key, "/app/db/host", 12);
	ck_assert_int_eq(key_of("/v1/keys/a%3Fb%25", NULL, key, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(key, "/a?b%", 5);
	ck_assert_int_eq(key_of("/v1/keys/", NULL, key, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(test_a_list_prefix_may_be_empty_and_slash_lists_everything)
{
	char key[RAFTCONF_MAX_KEY], err[256];
	size_t len;

	ck_assert_int_eq(key_of("/v1/keys/app/", "list", key, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(key, "/app/", 5);
	ck_assert_int_eq(key_of("/v1/keys/", "list", key, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(key_of("/v1/keys", "list", key, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_bad_keys_are_400_with_a_reason)
{
	char key[RAFTCONF_MAX_KEY], err[256], path[4 * RAFTCONF_MAX_KEY];
	size_t len;

	ck_assert_int_eq(key_of("/v1/keys", NULL, key, &len, err, sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "empty key"));
	ck_assert_int_eq(key_of("/v1/keys/a%zz", NULL, key, &len, err, sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "percent-escape"));
	ck_assert_int_eq(key_of("/v1/keys/a%00", NULL, key, &len, err, sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));

	/* "/" and MAX_KEY - 1 letters is the longest key; one more is refused. */
	snprintf(path, sizeof(path), "/v1/keys/");
	memset(path + 9, 'k', RAFTCONF_MAX_KEY - 1);
	path[9 + RAFTCONF_MAX_KEY - 1] = '\0';
	ck_assert_int_eq(key_of(path, NULL, key, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, RAFTCONF_MAX_KEY);
	strcat(path, "k");
	ck_assert_int_eq(key_of(path, NULL, key, &len, err, sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	/* Escapes count decoded: 1024 bytes written as %6b are fine. */
	snprintf(path, sizeof(path), "/v1/keys/");
	for (int i = 0; i < RAFTCONF_MAX_KEY - 1; i++)
		strcat(path, "%6b");
	ck_assert_int_eq(key_of(path, NULL, key, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, RAFTCONF_MAX_KEY);
}
END_TEST

START_TEST(test_methods_allowed_per_route)
{
	ck_assert(http_method_allowed(R_KEYS, EVHTTP_REQ_GET));
	ck_assert(http_method_allowed(R_KEYS, EVHTTP_REQ_HEAD));
	ck_assert(http_method_allowed(R_KEYS, EVHTTP_REQ_PUT));
	ck_assert(http_method_allowed(R_KEYS, EVHTTP_REQ_DELETE));
	ck_assert(!http_method_allowed(R_KEYS, EVHTTP_REQ_POST));
	ck_assert(!http_method_allowed(R_KEYS, EVHTTP_REQ_PATCH));
	ck_assert(!http_method_allowed(R_KEYS, EVHTTP_REQ_OPTIONS));
	ck_assert(http_method_allowed(R_STATUS, EVHTTP_REQ_GET));
	ck_assert(!http_method_allowed(R_STATUS, EVHTTP_REQ_PUT));
	ck_assert(!http_method_allowed(R_METRICS, EVHTTP_REQ_DELETE));
	ck_assert(!http_method_allowed(R_HEALTH, EVHTTP_REQ_POST));
}
END_TEST

/* http_parse_request: request_cb's judgement of a request, as evhttp parsed it. */
static int
judge(enum evhttp_cmd_type cmd, const char *path, const char *query, const char *rid,
    const char *body, struct proto_msg *m, char *key, const char **allow, char *err)
{
	struct request r = { .cmd = cmd, .path = path, .query = query, .request_id = rid,
		.body = body, .body_len = body ? strlen(body) : 0 };
	struct target t;

	return http_parse_request(&r, &t, m, key, allow, err, 256);
}

START_TEST(test_a_request_becomes_the_proto_request_raftconfctl_would_send)
{
	char key[RAFTCONF_MAX_KEY], err[256];
	const char *allow;
	struct proto_msg m;

	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a%2Fb", "stale", NULL, NULL, &m, key,
	    &allow, err), 0);
	ck_assert_int_eq(m.type, PROTO_T_GET);
	ck_assert_int_eq(m.get.flags, PROTO_F_STALE | PROTO_F_META);
	ck_assert_uint_eq(m.get.key.len, 4);
	ck_assert_mem_eq(m.get.key.ptr, "/a/b", 4);
	ck_assert_int_eq(judge(EVHTTP_REQ_HEAD, "/v1/keys/", "list", NULL, NULL, &m, key, &allow,
	    err), 0);
	ck_assert_int_eq(m.type, PROTO_T_LIST);
	ck_assert_uint_eq(m.list.prefix.len, 0);
	/* A write without a request id is left for the server to number. */
	ck_assert_int_eq(judge(EVHTTP_REQ_PUT, "/v1/keys/k", NULL, NULL, "v1", &m, key, &allow,
	    err), 0);
	ck_assert_int_eq(m.type, PROTO_T_SET);
	ck_assert_uint_eq(m.set.client_id, 0);
	ck_assert_uint_eq(m.set.value.len, 2);
	ck_assert_mem_eq(m.set.value.ptr, "v1", 2);
	ck_assert_int_eq(judge(EVHTTP_REQ_PUT, "/v1/keys/k", NULL, NULL, NULL, &m, key, &allow,
	    err), 0);
	ck_assert_uint_eq(m.set.value.len, 0);
	ck_assert_ptr_nonnull(m.set.value.ptr);
	ck_assert_int_eq(judge(EVHTTP_REQ_DELETE, "/v1/keys/k", NULL, " 9-3", NULL, &m, key,
	    &allow, err), 0);
	ck_assert_int_eq(m.type, PROTO_T_DEL);
	ck_assert_uint_eq(m.del.client_id, 9);
	ck_assert_uint_eq(m.del.seq, 3);
	/* Other routes are served by the server itself. */
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/metrics", NULL, NULL, NULL, &m, key, &allow,
	    err), 0);
	ck_assert_int_eq(m.type, 0);
}
END_TEST

/* ?watch is a POLL: from rev (or from now), waiting wait (30 s by default, at most 5 min). */
START_TEST(test_a_watch_becomes_a_poll_and_bad_parameters_are_400)
{
	char key[RAFTCONF_MAX_KEY], err[256];
	const char *allow;
	struct proto_msg m;
	uint64_t ms;

	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/app/", "watch&rev=41&wait=2m", NULL, NULL,
	    &m, key, &allow, err), 0);
	ck_assert_int_eq(m.type, PROTO_T_POLL);
	ck_assert_int_eq(m.poll.flags, 0);
	ck_assert_uint_eq(m.poll.after, 41);
	ck_assert_uint_eq(m.poll.wait_ms, 120000);
	ck_assert_uint_eq(m.poll.prefix.len, 5);
	ck_assert_mem_eq(m.poll.prefix.ptr, "/app/", 5);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/", "watch", NULL, NULL, &m, key, &allow,
	    err), 0);
	ck_assert_int_eq(m.poll.flags, PROTO_F_FROM_NOW);
	ck_assert_uint_eq(m.poll.wait_ms, HTTP_DEFAULT_WAIT_MS);
	ck_assert_uint_eq(m.poll.prefix.len, 0); /* "/" is every key, as for a listing */
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "wait=0s&watch=1&rev=0", NULL, NULL,
	    &m, key, &allow, err), 0);
	ck_assert_uint_eq(m.poll.wait_ms, 0);
	ck_assert_int_eq(m.poll.flags, 0);

	ck_assert_int_eq(http_parse_wait("500ms", 5, &ms), 0);
	ck_assert_uint_eq(ms, 500);
	ck_assert_int_eq(http_parse_wait("7", 1, &ms), 0);
	ck_assert_uint_eq(ms, 7000);
	ck_assert_int_eq(http_parse_wait("99999999999999999999999m", 24, &ms), 0);
	ck_assert_uint_eq(ms, RAFTCONF_MAX_POLL_MS); /* cut, as Consul does */
	ck_assert_int_eq(http_parse_wait("s", 1, &ms), -1);
	ck_assert_int_eq(http_parse_wait("5h", 2, &ms), -1);
	ck_assert_int_eq(http_parse_wait("", 0, &ms), -1);

	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "watch&wait=soon", NULL, NULL, &m, key,
	    &allow, err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "watch&rev=-1", NULL, NULL, &m, key,
	    &allow, err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "watch&rev=18446744073709551616",
	    NULL, NULL, &m, key, &allow, err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "rev=3", NULL, NULL, &m, key, &allow,
	    err), 400);
	ck_assert_msg(strstr(err, "for ?watch only") != NULL, "%s", err);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "watch&list", NULL, NULL, &m, key,
	    &allow, err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_PUT, "/v1/keys/a", "watch", NULL, "v", &m, key, &allow,
	    err), 400);
}
END_TEST

/* ?list&keys, ?list&limit=N, ?list&count: a LIST_EX; a plain ?list stays a LIST. */
START_TEST(test_keys_count_and_limit_make_a_list_ex_and_bad_ones_are_400)
{
	char key[RAFTCONF_MAX_KEY], err[256];
	const char *allow;
	struct proto_msg m;

	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/app/", "list&keys", NULL, NULL, &m, key,
	    &allow, err), 0);
	ck_assert_int_eq(m.type, PROTO_T_LIST_EX);
	ck_assert_int_eq(m.list_ex.flags, PROTO_F_META | PROTO_F_KEYS_ONLY);
	ck_assert_uint_eq(m.list_ex.limit, 0);
	ck_assert_uint_eq(m.list_ex.prefix.len, 5);
	ck_assert_mem_eq(m.list_ex.prefix.ptr, "/app/", 5);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/", "stale&count&list", NULL, NULL, &m, key,
	    &allow, err), 0);
	ck_assert_int_eq(m.type, PROTO_T_LIST_EX);
	ck_assert_int_eq(m.list_ex.flags, PROTO_F_STALE | PROTO_F_COUNT);
	ck_assert_uint_eq(m.list_ex.prefix.len, 0);
	ck_assert_int_eq(judge(EVHTTP_REQ_HEAD, "/v1/keys/a", "list&limit=18446744073709551615&keys=1",
	    NULL, NULL, &m, key, &allow, err), 0);
	ck_assert_int_eq(m.list_ex.flags, PROTO_F_META | PROTO_F_KEYS_ONLY);
	ck_assert_uint_eq(m.list_ex.limit, UINT64_MAX);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "list&keys=0&count=false", NULL, NULL,
	    &m, key, &allow, err), 0);
	ck_assert_int_eq(m.type, PROTO_T_LIST);

	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "keys", NULL, NULL, &m, key, &allow,
	    err), 400);
	ck_assert_msg(strstr(err, "for ?list only") != NULL, "%s", err);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "limit=3", NULL, NULL, &m, key, &allow,
	    err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "list&count&keys", NULL, NULL, &m, key,
	    &allow, err), 400);
	ck_assert_msg(strstr(err, "count goes with neither keys nor limit") != NULL, "%s", err);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "list&count&limit=2", NULL, NULL, &m,
	    key, &allow, err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "list&limit=0", NULL, NULL, &m, key,
	    &allow, err), 400);
	ck_assert_msg(strstr(err, "1 or more") != NULL, "%s", err);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "list&limit=ten", NULL, NULL, &m, key,
	    &allow, err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "list&limit", NULL, NULL, &m, key,
	    &allow, err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_GET, "/v1/keys/a", "list&keys=maybe", NULL, NULL, &m, key,
	    &allow, err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_DELETE, "/v1/keys/a", "list&count", NULL, NULL, &m, key,
	    &allow, err), 400);
}
END_TEST

/* If-Match: "REV" and If-None-Match: * make a PUT or DELETE conditional. */
START_TEST(test_conditional_headers_make_set_if_and_del_if)
{
	char key[RAFTCONF_MAX_KEY], err[256];
	const char *allow;
	struct proto_msg m;
	struct target t;
	struct request r = { .cmd = EVHTTP_REQ_PUT, .path = "/v1/keys/k", .body = "v",
		.body_len = 1, .if_match = "\"42\"" };

	ck_assert_int_eq(http_parse_request(&r, &t, &m, key, &allow, err, sizeof(err)), 0);
	ck_assert_int_eq(m.type, PROTO_T_SET_IF);
	ck_assert_uint_eq(m.set_if.if_rev, 42);
	ck_assert_uint_eq(m.set_if.value.len, 1);
	r.if_match = NULL;
	r.if_none_match = " * ";
	ck_assert_int_eq(http_parse_request(&r, &t, &m, key, &allow, err, sizeof(err)), 0);
	ck_assert_int_eq(m.type, PROTO_T_SET_IF);
	ck_assert_uint_eq(m.set_if.if_rev, 0);
	r.cmd = EVHTTP_REQ_DELETE;
	r.if_none_match = NULL;
	r.if_match = "\"7\"";
	ck_assert_int_eq(http_parse_request(&r, &t, &m, key, &allow, err, sizeof(err)), 0);
	ck_assert_int_eq(m.type, PROTO_T_DEL_IF);
	ck_assert_uint_eq(m.del_if.if_rev, 7);
	/* what is not a revision as GET gives it is refused, never ignored */
	const char *bad[] = { "7", "W/\"7\"", "\"7\", \"8\"", "*", "\"\"", "\"-1\"",
		"\"18446744073709551616\"" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r.if_match = bad[i];
		ck_assert_int_eq(http_parse_request(&r, &t, &m, key, &allow, err, sizeof(err)), 400);
		ck_assert_msg(strstr(err, "If-Match") != NULL, "%s", err);
	}
	r.if_match = NULL;
	r.if_none_match = "\"7\"";
	ck_assert_int_eq(http_parse_request(&r, &t, &m, key, &allow, err, sizeof(err)), 400);
	r.if_match = "\"7\"";
	r.if_none_match = "*";
	ck_assert_int_eq(http_parse_request(&r, &t, &m, key, &allow, err, sizeof(err)), 400);
	/* a GET ignores them */
	r.cmd = EVHTTP_REQ_GET;
	ck_assert_int_eq(http_parse_request(&r, &t, &m, key, &allow, err, sizeof(err)), 0);
	ck_assert_int_eq(m.type, PROTO_T_GET);
}
END_TEST

static int
txn_of(const char *json, struct proto_msg *m, struct proto_buf lists[3], char *err)
{
	for (int k = 0; k < 3; k++)
		proto_buf_reset(&lists[k]);
	return http_parse_txn(json, strlen(json), m, lists, err, 256);
}

START_TEST(test_a_txn_body_becomes_a_txn_request)
{
	struct proto_buf lists[3];
	struct proto_msg m;
	struct proto_iter it;
	union proto_item item;
	struct proto_buf b;
	char err[256];

	for (int k = 0; k < 3; k++)
		proto_buf_init(&lists[k]);
	ck_assert_int_eq(txn_of(" { \"compare\" : [ {\"key\":\"/a\",\"target\":\"value\","
				"\"result\":\"=\",\"value\":\"t\\u00e9\\n\"},"
				"{\"key_base64\":\"L2I=\",\"target\":\"revision\",\"result\":\">\","
				"\"revision\":0}],"
				"\"success\":[{\"op\":\"set\",\"key\":\"/b\",\"value_base64\":\"AAE=\"},"
				"{\"op\":\"del\",\"key\":\"/a\"}],"
				"\"failure\":[{\"op\":\"get\",\"key\":\"/a\"}]}\n",
			     &m, lists, err),
	    0);
	ck_assert_int_eq(m.type, PROTO_T_TXN);
	ck_assert_uint_eq(m.txn.compares.count, 2);
	ck_assert_uint_eq(m.txn.then_ops.count, 2);
	ck_assert_uint_eq(m.txn.else_ops.count, 1);
	ck_assert_int_eq(proto_iter_txn(&it, &m, PROTO_TXN_COMPARES), 0);
	ck_assert_int_eq(proto_iter_next(&it, &item), 1);
	ck_assert_int_eq(item.compare.target, PROTO_CMP_VALUE);
	ck_assert_uint_eq(item.compare.value.len, 4);
	ck_assert_mem_eq(item.compare.value.ptr, "t\xc3\xa9\n", 4);
	ck_assert_int_eq(proto_iter_next(&it, &item), 1);
	ck_assert_int_eq(item.compare.result, PROTO_CMP_GT);
	ck_assert_mem_eq(item.compare.key.ptr, "/b", 2);
	ck_assert_int_eq(proto_iter_txn(&it, &m, PROTO_TXN_THEN), 0);
	ck_assert_int_eq(proto_iter_next(&it, &item), 1);
	ck_assert_uint_eq(item.op.value.len, 2);
	ck_assert_mem_eq(item.op.value.ptr, "\0\1", 2);
	/* it encodes: the node can take it as it is */
	proto_buf_init(&b);
	ck_assert_int_eq(proto_encode(&b, &m, err, sizeof(err)), 0);
	proto_buf_free(&b);
	/* an empty object is a txn that does nothing */
	ck_assert_int_eq(txn_of("{}", &m, lists, err), 0);
	ck_assert_uint_eq(m.txn.compares.count + m.txn.then_ops.count + m.txn.else_ops.count, 0);
	for (int k = 0; k < 3; k++)
		proto_buf_free(&lists[k]);
}
END_TEST

START_TEST(test_a_bad_txn_body_is_400_and_too_many_operations_413)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"compare\":[]",
		"{\"compare\":[]} x",
		"{\"comparison\":[]}",
		"{\"compare\":[],\"compare\":[]}",
		"{\"compare\":[{\"key\":\"/a\",\"target\":\"value\",\"result\":\"<\",\"value\":\"x\"}]}",
		"{\"compare\":[{\"key\":\"/a\",\"target\":\"revision\",\"result\":\"=\"}]}",
		"{\"compare\":[{\"key\":\"/a\",\"target\":\"revision\",\"result\":\"=\",\"revision\":-1}]}",
		"{\"compare\":[{\"key\":\"/a\",\"target\":\"revision\",\"result\":\"=\",\"revision\":01}]}",
		"{\"compare\":[{\"key\":\"/a\",\"target\":\"size\",\"result\":\"=\",\"revision\":1}]}",
		"{\"success\":[{\"op\":\"get\",\"key\":\"/a\",\"value\":\"x\"}]}",
		"{\"success\":[{\"op\":\"set\",\"key\":\"/a\"}]}",
		"{\"success\":[{\"op\":\"put\",\"key\":\"/a\",\"value\":\"x\"}]}",
		"{\"success\":[{\"op\":\"del\",\"key\":\"\"}]}",
		"{\"success\":[{\"op\":\"del\",\"key\":\"/a\\u0000b\"}]}",
		"{\"success\":[{\"op\":\"del\",\"key\":\"/a\",\"key\":\"/b\"}]}",
		"{\"success\":[{\"op\":\"del\",\"key\":\"/a\",\"extra\":1}]}",
		"{\"success\":[{\"op\":\"del\",\"key\":\"\\ud800\"}]}",
		"{\"success\":[{\"op\":\"del\",\"key\":\"\xff\"}]}",
		"{\"success\":[{\"op\":\"set\",\"key\":\"/a\",\"value_base64\":\"AAE\"}]}",
		"{\"success\":[{\"op\":\"del\",\"key\":\"/a\"},]}",
	};
	struct proto_buf lists[3];
	struct proto_msg m;
	char err[256], *big;
	size_t n = 0;

	for (int k = 0; k < 3; k++)
		proto_buf_init(&lists[k]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(txn_of(bad[i], &m, lists, err) == 400, "%s", bad[i]);
		ck_assert_msg(strstr(err, "txn body") != NULL, "%s: %s", bad[i], err);
	}
	/* 128 operations in success and failure together are fine, 129 are too many */
	big = malloc(64 * 200 + 64);
	n += (size_t)sprintf(big + n, "{\"success\":[");
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(big + n, "%s{\"op\":\"get\",\"key\":\"/k\"}", i ? "," : "");
	n += (size_t)sprintf(big + n, "],\"failure\":[");
	for (int i = 0; i < 28; i++)
		n += (size_t)sprintf(big + n, "%s{\"op\":\"get\",\"key\":\"/k\"}", i ? "," : "");
	sprintf(big + n, "]}");
	ck_assert_int_eq(txn_of(big, &m, lists, err), 0);
	sprintf(big + n, ",{\"op\":\"get\",\"key\":\"/k\"}]}");
	ck_assert_int_eq(txn_of(big, &m, lists, err), 413);
	ck_assert_msg(strstr(err, "over the limit of 128") != NULL, "%s", err);
	free(big);
	for (int k = 0; k < 3; k++)
		proto_buf_free(&lists[k]);
}
END_TEST

START_TEST(test_a_bad_request_gets_its_status_in_the_order_of_the_checks)
{
	char key[RAFTCONF_MAX_KEY], err[256];
	const char *allow;
	struct proto_msg m;
	struct request big = { .cmd = EVHTTP_REQ_PUT, .path = "/v1/keys/k",
		.body_len = RAFTCONF_MAX_VALUE + 1 };
	struct target t;

	ck_assert_int_eq(judge(EVHTTP_REQ_PUT, "/nope", NULL, NULL, NULL, &m, key, &allow, err),
	    404);
	ck_assert_int_eq(judge(EVHTTP_REQ_POST, "/v1/keys/k", "bogus", NULL, NULL, &m, key, &allow,
	    err), 400);
	ck_assert_int_eq(judge(EVHTTP_REQ_POST, "/v1/keys/k", NULL, NULL, NULL, &m, key, &allow,
	    err), 405);
	ck_assert_str_eq(allow, "GET, HEAD, PUT, DELETE");
	ck_assert_ptr_nonnull(strstr(err, "GET, HEAD, PUT, DELETE"));
	ck_assert_int_eq(judge(EVHTTP_REQ_PUT, "/v1/status", NULL, NULL, NULL, &m, key, &allow,
	    err), 405);
	ck_assert_str_eq(allow, "GET, HEAD");
	ck_assert_int_eq(judge(EVHTTP_REQ_DELETE, "/v1/keys/k", "stale", NULL, NULL, &m, key,
	    &allow, err), 400);
	ck_assert_ptr_nonnull(strstr(err, "for GET only"));
	ck_assert_int_eq(judge(EVHTTP_REQ_PUT, "/v1/keys", NULL, "x", NULL, &m, key, &allow, err),
	    400);
	ck_assert_ptr_nonnull(strstr(err, "empty key"));
	ck_assert_int_eq(judge(EVHTTP_REQ_PUT, "/v1/keys/k", NULL, "0-1", NULL, &m, key, &allow,
	    err), 400);
	ck_assert_ptr_nonnull(strstr(err, "CLIENT-SEQ"));
	/* An oversized value is refused without being read. */
	ck_assert_int_eq(http_parse_request(&big, &t, &m, key, &allow, err, sizeof(err)), 413);
	ck_assert_ptr_nonnull(strstr(err, "the limit is"));
}
END_TEST

/* ------------------------------------------------------------ request id */

START_TEST(test_a_request_id_is_two_decimal_u64)
{
	uint64_t c = 0, s = 0;

	ck_assert_int_eq(http_parse_request_id("12-34", &c, &s), 0);
	ck_assert_uint_eq(c, 12);
	ck_assert_uint_eq(s, 34);
	ck_assert_int_eq(http_parse_request_id(" \t7-0 ", &c, &s), 0);
	ck_assert_uint_eq(c, 7);
	ck_assert_uint_eq(s, 0);
	ck_assert_int_eq(http_parse_request_id("18446744073709551615-18446744073709551615", &c, &s), 0);
	ck_assert_uint_eq(c, UINT64_MAX);
	ck_assert_uint_eq(s, UINT64_MAX);
}
END_TEST

START_TEST(test_malformed_or_overflowing_request_ids_are_refused)
{
	static const char *const bad[] = {
		"", "-", "1", "1-", "-1", "1-2-3", "a-1", "1-b", "1 -2", "1- 2", "+1-2", "1-+2",
		"0-5", "18446744073709551616-1", "1-18446744073709551616",
		"99999999999999999999-1", "0x1-2", "1-2x",
	};
	uint64_t c = 42, s = 43;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(http_parse_request_id(bad[i], &c, &s) == -EINVAL, "\"%s\" parsed",
		    bad[i]);
	ck_assert_uint_eq(c, 42);
	ck_assert_uint_eq(s, 43);
}
END_TEST

/* ------------------------------------------------------------ status codes */

START_TEST(test_error_codes_map_to_http_statuses)
{
	ck_assert_int_eq(status_of_error(PROTO_E_NOTFOUND), 404);
	ck_assert_int_eq(status_of_error(PROTO_E_NOLEADER), 503);
	ck_assert_int_eq(status_of_error(PROTO_E_NOTMEMBER), 503);
	ck_assert_int_eq(status_of_error(PROTO_E_TIMEOUT), 504);
	ck_assert_int_eq(status_of_error(PROTO_E_TOOBIG), 413);
	ck_assert_int_eq(status_of_error(PROTO_E_BADREQ), 400);
	ck_assert_int_eq(status_of_error(PROTO_E_REFUSED), 409);
	ck_assert_int_eq(status_of_error(PROTO_E_INTERNAL), 500);
	ck_assert_int_eq(status_of_error(PROTO_E_REDIRECT), 500);
	ck_assert_int_eq(status_of_error(PROTO_E_NOSPACE), 507);
	ck_assert_int_eq(status_of_error(PROTO_E_COMPACTED), 410);
	ck_assert_int_eq(status_of_error(PROTO_E_BUSY), 503);
	ck_assert_str_eq(reason_of(410), "Gone");
	ck_assert_int_eq(status_of_error(0), 500);
	ck_assert_int_eq(status_of_error(999), 500);
	ck_assert_str_eq(reason_of(413), "Content Too Large");
	ck_assert_str_eq(reason_of(405), "Method Not Allowed");
	ck_assert_str_eq(reason_of(299), "Error");
}
END_TEST

/* ------------------------------------------------------------------ JSON */

/* A LIST_REPLY frame with the given entries, decoded into *m (frame kept in buf). */
static void
make_list(struct proto_buf *buf, struct proto_msg *m, const struct proto_entry *e, size_t n,
	  uint8_t flags)
{
	struct proto_reply rb;
	char err[256];

	proto_buf_init(buf);
	ck_assert_int_eq(proto_reply_begin(&rb, buf, PROTO_T_LIST_REPLY, 9), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(proto_reply_add_entry(&rb, e[i].key, e[i].revision,
		    e[i].value), 0);
	ck_assert_int_eq(proto_reply_end(&rb, flags), 0);
	ck_assert_int_eq(proto_decode(buf->data, buf->len, m, err, sizeof(err)), 0);
}

#define STR(lit) ((struct proto_str){ (lit), sizeof(lit) - 1 })

START_TEST(test_a_list_reply_renders_as_json_with_base64_for_bytes)
{
	const struct proto_entry e[] = {
		{ STR("/a"), 3, STR("plain") },
		{ STR("/b\"q\\"), 4, STR("line\nbreak\x01") },
		{ STR("/c"), 5, STR("\xff\x00\x01") },
		{ STR("/d\xff"), 6, STR("caf\xc3\xa9") },
		{ STR("/e"), 18446744073709551615ULL, STR("") },
	};
	struct proto_buf buf;
	struct proto_msg m;
	struct evbuffer *out = evbuffer_new();

	make_list(&buf, &m, e, 5, 0);
	ck_assert_int_eq(http_json_answer(out, &m, false), 0);
	ck_assert_str_eq(text_of(out), "{\"keys\":["
	    "{\"key\":\"/a\",\"revision\":3,\"value\":\"plain\"},"
	    "{\"key\":\"/b\\\"q\\\\\",\"revision\":4,\"value\":\"line\\nbreak\\u0001\"},"
	    "{\"key\":\"/c\",\"revision\":5,\"value_base64\":\"/wAB\"},"
	    "{\"key_base64\":\"L2T/\",\"revision\":6,\"value\":\"caf\xc3\xa9\"},"
	    "{\"key\":\"/e\",\"revision\":18446744073709551615,\"value\":\"\"}"
	    "],\"truncated\":false}");
	evbuffer_free(out);
	proto_buf_free(&buf);
}
END_TEST

START_TEST(test_an_empty_or_truncated_list_says_so)
{
	const struct proto_entry e[] = { { STR("/k"), 1, STR("v") } };
	struct proto_buf buf;
	struct proto_msg m;
	struct evbuffer *out = evbuffer_new();

	make_list(&buf, &m, e, 0, 0);
	ck_assert_int_eq(http_json_answer(out, &m, false), 0);
	ck_assert_str_eq(text_of(out), "{\"keys\":[],\"truncated\":false}");
	proto_buf_free(&buf);
	evbuffer_drain(out, evbuffer_get_length(out));
	make_list(&buf, &m, e, 1, PROTO_F_TRUNCATED);
	ck_assert_int_eq(http_json_answer(out, &m, false), 0);
	ck_assert_str_eq(text_of(out),
	    "{\"keys\":[{\"key\":\"/k\",\"revision\":1,\"value\":\"v\"}],\"truncated\":true}");
	evbuffer_free(out);
	proto_buf_free(&buf);
}
END_TEST

START_TEST(test_a_keys_only_listing_renders_without_value_fields)
{
	const struct proto_kv kv[] = {
		{ STR("/a"), 3, 1, 2, STR("") },
		{ STR("/b\xff"), 4, 4, 1, STR("") },
	};
	struct proto_reply rb;
	struct proto_buf buf;
	struct proto_msg m;
	struct evbuffer *out = evbuffer_new();
	char err[256];

	proto_buf_init(&buf);
	ck_assert_int_eq(proto_reply_begin(&rb, &buf, PROTO_T_LIST_META_REPLY, 9), 0);
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(proto_reply_add_kv(&rb, &kv[i]), 0);
	ck_assert_int_eq(proto_reply_end(&rb, PROTO_F_TRUNCATED), 0);
	ck_assert_int_eq(proto_decode(buf.data, buf.len, &m, err, sizeof(err)), 0);
	ck_assert_int_eq(http_json_answer(out, &m, true), 0);
	ck_assert_str_eq(text_of(out), "{\"keys\":["
	    "{\"key\":\"/a\",\"revision\":3,\"create_revision\":1,\"version\":2},"
	    "{\"key_base64\":\"L2L/\",\"revision\":4,\"create_revision\":4,\"version\":1}"
	    "],\"truncated\":true}");
	evbuffer_drain(out, evbuffer_get_length(out));
	ck_assert_int_eq(http_json_answer(out, &m, false), 0);
	ck_assert_ptr_nonnull(strstr(text_of(out), "\"value\":\"\""));
	evbuffer_free(out);
	proto_buf_free(&buf);
}
END_TEST

START_TEST(test_a_watch_answer_renders_its_changes_as_json)
{
	const struct proto_change ch[] = {
		{ PROTO_EV_PUT, STR("/a"), 7, STR("one") },
		{ PROTO_EV_DEL, STR("/b\xff"), 7, STR("") },
		{ PROTO_EV_PUT, STR("/c"), 9, STR("\xff\x00") },
	};
	struct proto_buf buf;
	struct proto_reply rb;
	struct proto_msg m;
	struct evbuffer *out = evbuffer_new();
	char err[256];

	proto_buf_init(&buf);
	ck_assert_int_eq(proto_reply_begin(&rb, &buf, PROTO_T_EVENTS, 9), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(proto_reply_add_change(&rb, &ch[i]), 0);
	ck_assert_int_eq(proto_reply_end_txn(&rb, PROTO_F_TRUNCATED, 12), 0);
	ck_assert_int_eq(proto_decode(buf.data, buf.len, &m, err, sizeof(err)), 0);
	ck_assert_int_eq(http_json_answer(out, &m, false), 0);
	ck_assert_str_eq(text_of(out), "{\"revision\":12,\"events\":["
	    "{\"event\":\"PUT\",\"key\":\"/a\",\"revision\":7,\"value\":\"one\"},"
	    "{\"event\":\"DEL\",\"key_base64\":\"L2L/\",\"revision\":7},"
	    "{\"event\":\"PUT\",\"key\":\"/c\",\"revision\":9,\"value_base64\":\"/wA=\"}"
	    "],\"truncated\":true}");
	evbuffer_free(out);
	proto_buf_free(&buf);
}
END_TEST

START_TEST(test_a_json_answer_refuses_a_message_without_items)
{
	struct proto_msg m = { .type = PROTO_T_OK };
	struct evbuffer *out = evbuffer_new();

	ck_assert_int_eq(http_json_answer(out, &m, false), -EPROTO);
	evbuffer_free(out);
}
END_TEST

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

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("percent-decoding");
	tcase_add_test(tc, test_percent_escapes_decode_and_plus_stays_a_plus);
	tcase_add_test(tc, test_malformed_percent_escapes_are_refused);
	tcase_add_test(tc, test_a_nul_byte_escaped_as_percent_00_is_refused);
	tcase_add_test(tc, test_decoding_stops_at_the_capacity_counting_decoded_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_add_test(tc, test_paths_route_to_keys_status_health_and_metrics);
	tcase_add_test(tc, test_unknown_paths_are_404);
	tcase_add_test(tc, test_stale_and_list_parameters_set_flags);
	tcase_add_test(tc, test_unknown_parameters_and_flag_values_are_400);
	tcase_add_test(tc, test_the_key_is_the_decoded_path_after_v1_keys);
	tcase_add_test(tc, test_a_list_prefix_may_be_empty_and_slash_lists_everything);
	tcase_add_test(tc, test_bad_keys_are_400_with_a_reason);
	tcase_add_test(tc, test_methods_allowed_per_route);
	tcase_add_test(tc, test_a_request_becomes_the_proto_request_raftconfctl_would_send);
	tcase_add_test(tc, test_conditional_headers_make_set_if_and_del_if);
	tcase_add_test(tc, test_a_watch_becomes_a_poll_and_bad_parameters_are_400);
	tcase_add_test(tc, test_keys_count_and_limit_make_a_list_ex_and_bad_ones_are_400);
	tcase_add_test(tc, test_a_txn_body_becomes_a_txn_request);
	tcase_add_test(tc, test_a_bad_txn_body_is_400_and_too_many_operations_413);
	tcase_add_test(tc, test_a_bad_request_gets_its_status_in_the_order_of_the_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("request id and status codes");
	tcase_add_test(tc, test_a_request_id_is_two_decimal_u64);
	tcase_add_test(tc, test_malformed_or_overflowing_request_ids_are_refused);
	tcase_add_test(tc, test_error_codes_map_to_http_statuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_a_list_reply_renders_as_json_with_base64_for_bytes);
	tcase_add_test(tc, test_an_empty_or_truncated_list_says_so);
	tcase_add_test(tc, test_a_json_answer_refuses_a_message_without_items);
	tcase_add_test(tc, test_a_watch_answer_renders_its_changes_as_json);
	tcase_add_test(tc, test_a_keys_only_listing_renders_without_value_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_add_checked_fixture(tc, server_setup, server_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_a_get_reaches_the_node_and_its_later_answer_the_client);
	tcase_add_test(tc, test_an_answer_given_inside_the_request_callback_is_sent);
	tcase_add_test(tc, test_a_client_gone_before_the_answer_makes_reply_enotconn);
	tcase_add_test(tc, test_writes_carry_the_request_id_header_or_a_counter);
	tcase_add_test(tc, test_a_client_gone_while_its_write_waits_stops_the_retries);
	tcase_add_test(tc, test_bad_requests_get_json_errors_without_reaching_the_node);
	tcase_add_test(tc, test_a_value_over_the_limit_is_413_in_json);
	tcase_add_test(tc, test_a_body_at_libevents_cap_is_refused_in_json);
	tcase_add_test(tc, test_a_chunked_body_over_the_limit_is_refused_in_json);
	tcase_add_test(tc, test_status_health_and_metrics_come_from_the_callbacks);
	tcase_add_test(tc, test_every_request_but_health_is_judged_with_its_header_key_and_address);
	tcase_add_test(tc, test_a_refused_request_is_401_or_403_in_json_and_never_reaches_the_node);
	tcase_add_test(tc, test_an_idle_client_is_cut_off);
	tcase_add_test(tc, test_a_client_trickling_its_request_is_cut_off);
	tcase_add_test(tc, test_clients_over_the_connection_limit_wait_until_one_leaves);
	tcase_add_test(tc, test_closing_the_server_with_requests_in_flight_frees_everything);
	tcase_add_test(tc, test_open_refuses_bad_addresses_and_a_busy_port);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failures;

	sr = srunner_create(http_suite());
	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
