/*
 * check_http.c — unit tests of the HTTP key API (daemon/http.c).
 *
 * The pure pieces (percent-decoding, routing, the request id header, the
 * JSON of a listing, the status mapping) are tested here; the status mapping
 * is static in http_answer.c, so this file includes it.  The JSON strings
 * and base64 they are made of are daemon/json.c's, tested in check_json.c.
 * The server tests, which run a real server in this process, are in
 * check_http_server.c.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_http.h"

#include "http_answer.c"
#include "http.h"
#include "http_parse.h"

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

	http_server_tests(s);
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
