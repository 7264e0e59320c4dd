/*
 * check_config.c — unit tests of daemon/config: the example file, defaults,
 * and one broken file per kind of mistake, each with the exact line:col and
 * message the operator will see.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* By path: the autoconf header is also called config.h. */
#include "../daemon/addr.h"
#include "../daemon/config.h"
#include "../daemon/errbuf.h"
#include "../daemon/json.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif
#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

#define DATA(f)	TEST_DATA_DIR "/config/" f

static char *
path_of(const char *file)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/config/%s", TEST_DATA_DIR, file), 0);
	return p;
}

/* Is there an error at line:col whose text has sub, prefixed as promised? */
static bool
has_error(const struct config_errors *e, const char *file, unsigned line, unsigned col,
    const char *sub)
{
	char *prefix;
	size_t i;
	bool found = false;

	ck_assert_int_ge(asprintf(&prefix, "%s:%u:%u: ", file, line, col), 0);
	for (i = 0; i < e->n; i++)
		if (e->v[i].line == line && e->v[i].col == col &&
		    strncmp(e->v[i].msg, prefix, strlen(prefix)) == 0 &&
		    strstr(e->v[i].msg, sub) != NULL)
			found = true;
	free(prefix);
	return found;
}

static void
dump_errors(const struct config_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		fprintf(stderr, "  %s\n", e->v[i].msg);
}

/* ------------------------------------------------------------ good files */

START_TEST(test_example_config_loads_with_its_documented_values)
{
	struct config c;
	struct config_errors e;
	int r;

	r = config_load(TOP_SRCDIR "/etc/raftconfd.yaml", &c, &e);
	if (r != 0)
		dump_errors(&e);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_str_eq(c.cluster, "prod-config");
	ck_assert_str_eq(c.node_id, "n1");
	ck_assert_str_eq(c.address, "10.0.0.1:7000");
	ck_assert_str_eq(c.listen, "0.0.0.0:7000");
	ck_assert_str_eq(c.data_dir, "/var/lib/raftconfd");
	ck_assert_str_eq(c.socket, "/run/raftconfd/raftconfd.sock");
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_uint_eq(c.ready_timeout_ms, 60000);
	ck_assert_uint_eq(c.heartbeat_ms, 100);
	ck_assert_uint_eq(c.election_ms, 1000);
	ck_assert_uint_eq(c.snapshot_every, 10000);
	ck_assert_uint_eq(c.snapshot_log_percent, 25);
	ck_assert_uint_eq(c.snapshot_pile_mb, 256);
	ck_assert_str_eq(c.http_listen, "127.0.0.1:7080");
	ck_assert_uint_eq(c.nmembers, 3);
	ck_assert_str_eq(c.members[0].id, "n1");
	ck_assert_str_eq(c.members[0].address, "10.0.0.1:7000");
	ck_assert_str_eq(c.members[1].id, "n2");
	ck_assert_str_eq(c.members[1].address, "10.0.0.2:7000");
	ck_assert_str_eq(c.members[2].id, "n3");
	ck_assert_str_eq(c.members[2].address, "10.0.0.3:7000");
	ck_assert(c.self_listed);
	ck_assert_ptr_eq(config_find_member(&c, "n2"), &c.members[1]);
	ck_assert_ptr_null(config_find_member(&c, "n4"));
	config_free(&c);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_defaults_apply_when_optional_keys_are_missing)
{
	struct config c;
	struct config_errors e;

	ck_assert_int_eq(config_load(DATA("minimal.yaml"), &c, &e), 0);
	ck_assert_str_eq(c.cluster, "test");
	ck_assert_str_eq(c.node_id, "n1");
	/* address from the node's members entry, listen from address */
	ck_assert_str_eq(c.address, "127.0.0.1:7001");
	ck_assert_str_eq(c.listen, "127.0.0.1:7001");
	ck_assert_str_eq(c.data_dir, RAFTCONF_DEFAULT_DATA_DIR);
	ck_assert_str_eq(c.socket, RAFTCONF_DEFAULT_SOCKET);
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_uint_eq(c.ready_timeout_ms, CONFIG_DEFAULT_READY_TIMEOUT_MS);
	ck_assert_uint_eq(c.heartbeat_ms, CONFIG_DEFAULT_HEARTBEAT_MS);
	ck_assert_uint_eq(c.election_ms, CONFIG_DEFAULT_ELECTION_MS);
	ck_assert_uint_eq(c.snapshot_every, CONFIG_DEFAULT_SNAPSHOT_EVERY);
	ck_assert_uint_eq(c.snapshot_log_percent, CONFIG_DEFAULT_SNAPSHOT_LOG_PERCENT);
	ck_assert_uint_eq(c.snapshot_pile_mb, CONFIG_DEFAULT_SNAPSHOT_PILE_MB);
	ck_assert_uint_eq(c.lag_warn_ms, CONFIG_DEFAULT_LAG_WARN_MS);
	ck_assert_uint_eq(c.history_revisions, CONFIG_DEFAULT_HISTORY_REVISIONS);
	ck_assert_uint_eq(c.history_bytes, CONFIG_DEFAULT_HISTORY_BYTES);
	ck_assert_str_eq(c.http_listen, "");
	ck_assert_uint_eq(c.nmembers, 1);
	ck_assert(c.self_listed);
	config_free(&c);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_spare_node_without_members_uses_its_own_address)
{
	struct config c;
	struct config_errors e;

	ck_assert_int_eq(config_load(DATA("spare.yaml"), &c, &e), 0);
	ck_assert_str_eq(c.node_id, "n4");
	ck_assert_str_eq(c.address, "[::1]:7004");
	ck_assert_str_eq(c.listen, "[::1]:7004");
	ck_assert_uint_eq(c.nmembers, 0);
	ck_assert_ptr_null(c.members);
	ck_assert(!c.self_listed);
	config_free(&c);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_optional_sections_left_empty_are_absent)
{
	static const char y[] =
	    "cluster: t\n"
	    "node:\n"
	    "  id: n1\n"
	    "  address: host-1.example.com:7001\n"
	    "  log_level: debug\n"
	    "  ready_timeout_ms: 0\n"
	    "members:\n"
	    "raft:\n"
	    "http:\n";
	struct config c;
	struct config_errors e;

	ck_assert_int_eq(config_load_string("inline", y, strlen(y), &c, &e), 0);
	ck_assert_uint_eq(c.nmembers, 0);
	ck_assert_uint_eq(c.heartbeat_ms, CONFIG_DEFAULT_HEARTBEAT_MS);
	ck_assert_str_eq(c.http_listen, "");
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
	ck_assert_uint_eq(c.ready_timeout_ms, 0);
	config_free(&c);
	config_errors_free(&e);
}
END_TEST

/* The peer port defaults to node.address, host name or not: peer_listen resolves it. */
START_TEST(test_a_host_name_address_is_the_default_listen_address)
{
	static const char y[] =
	    "cluster: t\n"
	    "node: { id: n1 }\n"
	    "members: [ { id: n1, address: \"localhost:7001\" } ]\n"
	    "http: { listen: \"127.0.0.1:7080\" }\n";
	struct config c;
	struct config_errors e;
	int r;

	r = config_load_string("inline", y, strlen(y), &c, &e);
	if (r != 0)
		dump_errors(&e);
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(c.address, "localhost:7001");
	ck_assert_str_eq(c.listen, "localhost:7001");
	config_free(&c);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_lag_warn_ms_is_read_and_range_checked)
{
	static const char ok[] = "cluster: t\n"
				 "node: { id: n1, address: \"127.0.0.1:7000\" }\n"
				 "raft: { lag_warn_ms: 100 }\n";
	static const char low[] = "cluster: t\n"
				  "node: { id: n1, address: \"127.0.0.1:7000\" }\n"
				  "raft: { lag_warn_ms: 99 }\n";
	static const char high[] = "cluster: t\n"
				   "node: { id: n1, address: \"127.0.0.1:7000\" }\n"
				   "raft: { lag_warn_ms: 3600001 }\n";
	struct config c;
	struct config_errors e;

	ck_assert_int_eq(config_load_string("inline", ok, strlen(ok), &c, &e), 0);
	ck_assert_uint_eq(c.lag_warn_ms, 100);
	config_free(&c);
	config_errors_free(&e);
	ck_assert_int_eq(config_load_string("inline", low, strlen(low), &c, &e), -EINVAL);
	ck_assert_str_eq(e.v[0].msg, "inline:3:22: raft.lag_warn_ms: 99 out of range (100-3600000)");
	config_free(&c);
	config_errors_free(&e);
	ck_assert_int_eq(config_load_string("inline", high, strlen(high), &c, &e), -EINVAL);
	ck_assert_msg(strstr(e.v[0].msg, "raft.lag_warn_ms: 3600001 out of range") != NULL, "%s",
	    e.v[0].msg);
	config_free(&c);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_relay_after_is_read_and_range_checked)
{
	static const char none[] = "cluster: t\n"
				   "node: { id: n1, address: \"127.0.0.1:7000\" }\n";
	static const char zero[] = "cluster: t\n"
				   "node: { id: n1, address: \"127.0.0.1:7000\" }\n"
				   "raft: { relay_after: 0 }\n";
	static const char high[] = "cluster: t\n"
				   "node: { id: n1, address: \"127.0.0.1:7000\" }\n"
				   "raft: { relay_after: 513 }\n";
	static const char pile0[] = "cluster: t\nnode: { id: n1, address: 10.0.0.1:7000 }\n"
				    "members: [ { id: n1, address: 10.0.0.1:7000 } ]\n"
				    "raft: { snapshot_pile_mb: 0 }\n";
	struct config c;
	struct config_errors e;

	ck_assert_int_eq(config_load_string("inline", none, strlen(none), &c, &e), 0);
	ck_assert_uint_eq(c.relay_after, CONFIG_DEFAULT_RELAY_AFTER);
	config_free(&c);
	config_errors_free(&e);
	ck_assert_int_eq(config_load_string("inline", zero, strlen(zero), &c, &e), 0);
	ck_assert_uint_eq(c.relay_after, 0);
	config_free(&c);
	config_errors_free(&e);
	ck_assert_int_eq(config_load_string("inline", high, strlen(high), &c, &e), -EINVAL);
	ck_assert_str_eq(e.v[0].msg, "inline:3:22: raft.relay_after: 513 out of range (0-512)");
	config_free(&c);
	config_errors_free(&e);
	ck_assert_int_eq(config_load_string("inline", pile0, strlen(pile0), &c, &e), -EINVAL);
	ck_assert_msg(strstr(e.v[0].msg, "raft.snapshot_pile_mb: 0 out of range (1-65536)") != NULL,
	    "%s", e.v[0].msg);
	config_free(&c);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_timings_at_exactly_five_heartbeats_are_accepted)
{
	static const char y[] =
	    "cluster: t\n"
	    "node: { id: n1, address: \"[2001:db8::1]:7000\" }\n"
	    "raft: { heartbeat_ms: 10, election_ms: 50, snapshot_every: 100000000,"
	    " snapshot_log_percent: 0, snapshot_pile_mb: 1 }\n"
	    "http: { listen: \"[::1]:7000\" }\n";
	struct config c;
	struct config_errors e;
	int r;

	r = config_load_string("inline", y, strlen(y), &c, &e);
	if (r != 0)
		dump_errors(&e);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(c.heartbeat_ms, 10);
	ck_assert_uint_eq(c.election_ms, 50);
	ck_assert_uint_eq(c.snapshot_every, 100000000);
	ck_assert_uint_eq(c.snapshot_log_percent, 0);
	ck_assert_uint_eq(c.snapshot_pile_mb, 1);
	ck_assert_str_eq(c.http_listen, "[::1]:7000");
	config_free(&c);
	config_errors_free(&e);
}
END_TEST

/* history: the window of changes kept for watch --from-rev. */
START_TEST(test_the_history_window_is_read_and_bounded)
{
	static const char ok[] = "cluster: t\n"
				 "node: { id: n1, address: \"127.0.0.1:7000\" }\n"
				 "history: { revisions: 1, bytes: 1048576 }\n";
	static const char bad[] = "cluster: t\n"
				  "node: { id: n1, address: \"127.0.0.1:7000\" }\n"
				  "history: { revisions: 0, bytes: 1000, size: 3 }\n";
	struct config c;
	struct config_errors e;
	int r;

	r = config_load_string("inline", ok, strlen(ok), &c, &e);
	if (r != 0)
		dump_errors(&e);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(c.history_revisions, 1);
	ck_assert_uint_eq(c.history_bytes, 1048576);
	config_free(&c);
	config_errors_free(&e);

	ck_assert_int_eq(config_load_string("inline", bad, strlen(bad), &c, &e), -EINVAL);
	ck_assert_uint_eq(e.n, 3);
	ck_assert_str_eq(e.v[0].msg, "inline:3:23: history.revisions: 0 out of range (1-100000000)");
	ck_assert_str_eq(
	    e.v[1].msg, "inline:3:33: history.bytes: 1000 out of range (1048576-68719476736)");
	ck_assert_msg(strstr(e.v[2].msg, "history: unknown key \"size\"") != NULL, "%s",
	    e.v[2].msg);
	config_free(&c);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_election_one_below_five_heartbeats_is_refused)
{
	static const char y[] =
	    "cluster: t\n"
	    "node: { id: n1, address: 127.0.0.1:7001 }\n"
	    "raft: { heartbeat_ms: 100, election_ms: 499 }\n";
	struct config c;
	struct config_errors e;

	ck_assert_int_eq(config_load_string("edge", y, strlen(y), &c, &e), -EINVAL);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.v[0].msg, "edge:3:41: raft.election_ms: 499 must be at least "
	    "5 \xc3\x97 heartbeat_ms (100)");
	config_errors_free(&e);
}
END_TEST

START_TEST(test_tls_section_is_read_with_the_position_of_each_file)
{
	static const char y[] =
	    "cluster: t\n"
	    "node: { id: n1, address: 127.0.0.1:7001 }\n"
	    "http: { listen: 127.0.0.1:7080, cert: /h.pem, key: /h.key }\n"
	    "tls:\n"
	    "  ca: /ca.pem\n"
	    "  cert: /n1.pem\n"
	    "  key: /n1.key\n";
	struct config c;
	struct config_errors e;

	ck_assert_int_eq(config_load_string("t", y, strlen(y), &c, &e), 0);
	ck_assert_str_eq(c.tls_ca, "/ca.pem");
	ck_assert_str_eq(c.tls_cert, "/n1.pem");
	ck_assert_str_eq(c.tls_key, "/n1.key");
	ck_assert_str_eq(c.tls_crl, "");
	ck_assert_str_eq(c.http_cert, "/h.pem");
	ck_assert_str_eq(c.http_key, "/h.key");
	ck_assert_uint_eq(c.pos[CONFIG_POS_TLS_CERT].line, 6);
	ck_assert_uint_eq(c.pos[CONFIG_POS_TLS_CERT].col, 9);
	ck_assert_uint_eq(c.pos[CONFIG_POS_HTTP_KEY].line, 3);
	ck_assert_uint_eq(c.pos[CONFIG_POS_HTTP_KEY].col, 52);
	ck_assert_uint_eq(c.pos[CONFIG_POS_TLS_CRL].line, 0);
	config_free(&c);
}
END_TEST

START_TEST(test_tls_without_a_key_and_https_without_its_key_are_refused)
{
	static const char y[] =
	    "cluster: t\n"
	    "node: { id: n1, address: 127.0.0.1:7001 }\n"
	    "http: { listen: 127.0.0.1:7080, cert: /h.pem }\n"
	    "tls: { ca: /ca.pem, cert: n1.pem }\n";
	struct config c;
	struct config_errors e;

	ck_assert_int_eq(config_load_string("t", y, strlen(y), &c, &e), -EINVAL);
	dump_errors(&e);
	ck_assert(has_error(&e, "t", 4, 27, "tls.cert: \"n1.pem\" is not an absolute path"));
	ck_assert(has_error(&e, "t", 4, 6, "tls: missing required key \"key\""));
	ck_assert(has_error(&e, "t", 3, 33, "http.cert: HTTPS needs both http.cert and http.key"));
	ck_assert_uint_eq(e.n, 3);
	config_errors_free(&e);
}
END_TEST

/* ------------------------------------------------------------ broken files */

static const struct broken {
	const char *file;
	unsigned line, col;
	const char *sub;	/* a distinctive part of the message */
	size_t count;		/* errors expected in all; 0 means 1 */
} broken[] = {
	{ .file = "unknown_key_node.yaml", .line = 4, .col = 3,
	    .sub = "node: unknown key \"adress\" (did you mean \"address\"?)" },
	{ .file = "unknown_key_root.yaml", .line = 4, .col = 1,
	    .sub = ": unknown key \"logging\"" },
	{ .file = "unknown_key_raft.yaml", .line = 7, .col = 3,
	    .sub = "raft: unknown key \"heartbeat\"" },
	{ .file = "unknown_key_member.yaml", .line = 6, .col = 40,
	    .sub = "members[1]: unknown key \"role\"" },
	{ .file = "duplicate_key.yaml", .line = 5, .col = 3,
	    .sub = "node: duplicate key \"log_level\" (first at line 4)" },
	{ .file = "duplicate_member_id.yaml", .line = 7, .col = 9,
	    .sub = "members[1].id: duplicate id \"n1\" (first at line 5)" },
	{ .file = "duplicate_member_address.yaml", .line = 7, .col = 24, .sub =
	  "members[2].address: duplicate address \"10.0.0.1:7000\" (first at line 5, members[0])" },
	{ .file = "bad_node_id.yaml", .line = 3, .col = 7,
	    .sub = "node.id: \"n/1\" is not a valid node id" },
	{ .file = "long_member_id.yaml", .line = 6, .col = 11,
	    .sub = "members[1].id: \"abcdefghijklmnopqrstuvwxyz0123456\" is not a valid node id" },
	{ .file = "bad_cluster_name.yaml", .line = 1, .col = 10,
	    .sub = "cluster: \"prod config\" is not a valid cluster name" },
	{ .file = "port_out_of_range.yaml", .line = 7, .col = 24,
	    .sub = "members[2].address: port 70000 out of range (1-65535)" },
	{ .file = "port_zero.yaml", .line = 4, .col = 12,
	    .sub = "node.address: port 0 out of range (1-65535)" },
	{ .file = "missing_port.yaml", .line = 4, .col = 12,
	    .sub = "node.address: \"10.0.0.1\": missing port" },
	{ .file = "bad_ipv4.yaml", .line = 4, .col = 12,
	    .sub = "node.address: \"10.0.0.256\" is not an IPv4 address" },
	{ .file = "ipv6_without_brackets.yaml", .line = 4, .col = 12,
	    .sub = "an IPv6 address must be in brackets" },
	{ .file = "bad_ipv6.yaml", .line = 4, .col = 12,
	    .sub = "node.address: \"::g\" is not an IPv6 address" },
	{ .file = "bad_hostname.yaml", .line = 4, .col = 12,
	    .sub = "\"node_one.example.com\" is not a valid host name" },
	{ .file = "bad_port_text.yaml", .line = 4, .col = 12,
	    .sub = "node.address: port \"http\" is not a number" },
	{ .file = "bad_log_level.yaml", .line = 5, .col = 14,
	    .sub = "node.log_level: unknown log level \"verbose\"" },
	{ .file = "heartbeat_out_of_range.yaml", .line = 6, .col = 17,
	    .sub = "raft.heartbeat_ms: 5 out of range (10-10000)" },
	{ .file = "election_too_short.yaml", .line = 7, .col = 16, .sub =
	  "raft.election_ms: 300 must be at least 5 \xc3\x97 heartbeat_ms (100)" },
	{ .file = "heartbeat_too_long_for_default_election.yaml", .line = 6, .col = 17, .sub =
	  "raft.heartbeat_ms: 500 is too long for election_ms (1000, the default)" },
	{ .file = "not_an_integer.yaml", .line = 6, .col = 17,
	    .sub = "raft.heartbeat_ms: \"100ms\" is not an integer" },
	{ .file = "quoted_integer.yaml", .line = 5, .col = 21,
	    .sub = "node.ready_timeout_ms: expected an integer, got a quoted string" },
	{ .file = "integer_overflow.yaml", .line = 6, .col = 19,
	    .sub = "raft.snapshot_every: integer overflow" },
	{ .file = "negative_integer.yaml", .line = 6, .col = 16,
	    .sub = "raft.election_ms: -1 out of range (50-60000)" },
	{ .file = "ready_timeout_out_of_range.yaml", .line = 5, .col = 21, .sub =
	  "node.ready_timeout_ms: 3600001 out of range (0-3600000)" },
	{ .file = "sequence_for_scalar.yaml", .line = 1, .col = 10,
	    .sub = "cluster: expected a cluster name, got a sequence" },
	{ .file = "scalar_for_mapping.yaml", .line = 2, .col = 7,
	    .sub = "node: expected a mapping, got a scalar" },
	{ .file = "members_not_sequence.yaml", .line = 6, .col = 3,
	    .sub = "members: expected a sequence of {id, address}, got a mapping" },
	{ .file = "member_not_mapping.yaml", .line = 6, .col = 5,
	    .sub = "members[1]: expected a mapping {id, address}, got a scalar" },
	{ .file = "missing_cluster.yaml", .line = 2, .col = 1,
	    .sub = ": missing required key \"cluster\"" },
	{ .file = "missing_node_id.yaml", .line = 3, .col = 3,
	    .sub = "node: missing required key \"id\"" },
	{ .file = "missing_member_address.yaml", .line = 6, .col = 5,
	    .sub = "members[1]: missing required key \"address\"" },
	{ .file = "spare_without_address.yaml", .line = 3, .col = 3, .sub =
	  "node: missing required key \"address\" (node \"n4\" is not listed in members)" },
	{ .file = "node_address_differs.yaml", .line = 4, .col = 12, .sub =
	  "node.address: \"10.0.0.9:7000\" differs from this node's members entry "
	  "\"10.0.0.2:7000\"" },
	{ .file = "spare_takes_member_address.yaml", .line = 4, .col = 12, .sub =
	  "node.address: \"10.0.0.2:7000\" is already the address of member \"n2\"" },
	{ .file = "relative_data_dir.yaml", .line = 5, .col = 13,
	    .sub = "node.data_dir: \"var/lib/raftconfd\" is not an absolute path" },
	{ .file = "socket_path_too_long.yaml", .line = 5, .col = 11,
	    .sub = "node.socket: path is 119 bytes long; a Unix socket path is at most 107" },
	{ .file = "http_listen_conflict.yaml", .line = 7, .col = 11,
	    .sub = "http.listen: \"127.0.0.1:7000\" is also where the node listens" },
	/* --check used to accept these, and the daemon then failed to bind them. */
	{ .file = "http_listen_hostname.yaml", .line = 6, .col = 11,
	    .sub = "http.listen: \"localhost\" is a host name; a listening address is an IP "
	    "address, as in 0.0.0.0:7080, [::]:7080 or 127.0.0.1:7080" },
	{ .file = "node_listen_hostname.yaml", .line = 5, .col = 11,
	    .sub = "node.listen: \"node1.example.com\" is a host name; a listening address" },
	{ .file = "empty_value.yaml", .line = 1, .col = 9, .sub = "cluster: empty value" },
	{ .file = "tagged_value.yaml", .line = 1, .col = 10,
	    .sub = "cluster: tags are not allowed (!!str)" },
	{ .file = "complex_key.yaml", .line = 5, .col = 5,
	    .sub = "node: a key must be a plain word, not a sequence" },
	{ .file = "nul_in_value.yaml", .line = 1, .col = 10,
	    .sub = "cluster: \"te\\x00st\" contains a NUL byte" },
	{ .file = "empty.yaml", .line = 1, .col = 1,
	    .sub = "the file is empty or holds only comments" },
	{ .file = "comments_only.yaml", .line = 1, .col = 1,
	    .sub = "the file is empty or holds only comments" },
	{ .file = "not_a_mapping.yaml", .line = 1, .col = 1,
	    .sub = "the document is a sequence; expected a mapping" },
	{ .file = "empty_document.yaml", .line = 2, .col = 1,
	    .sub = "the document is empty; expected a mapping" },
	{ .file = "two_documents.yaml", .line = 5, .col = 1,
	    .sub = "more than one YAML document" },
	{ .file = "alias.yaml", .line = 6, .col = 24,
	    .sub = "members[0].address: aliases are not allowed (*addr)", .count = 2 },
	{ .file = "alias.yaml", .line = 4, .col = 12,
	    .sub = "node.address: anchors are not allowed (&addr)", .count = 2 },
	{ .file = "syntax_error.yaml", .line = 6, .col = 1, .sub =
	  "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar "
	  "at line 4 column 12)" },
	{ .file = "bad_indentation.yaml", .line = 4, .col = 2,
	    .sub = "YAML syntax error: did not find expected key" },
	{ .file = "tab_indentation.yaml", .line = 3, .col = 1,
	    .sub = "YAML syntax error: found character that cannot start any token" },
	{ .file = "invalid_utf8.yaml", .line = 1, .col = 12,
	    .sub = "invalid input: invalid leading UTF-8 octet (byte 0xff)" },
	{ .file = "too_deep.yaml", .line = 6, .col = 25,
	    .sub = "http.listen: nesting deeper than 16 levels", .count = 2 },
};

START_TEST(test_broken_file_is_reported_at_its_line_and_column)
{
	const struct broken *b = &broken[_i];
	char *path = path_of(b->file);
	struct config c;
	struct config_errors e;
	bool found;
	int r;

	r = config_load(path, &c, &e);
	found = has_error(&e, path, b->line, b->col, b->sub);
	if (r != -EINVAL || !found || e.n != (b->count ? b->count : 1)) {
		fprintf(stderr, "%s: expected %u:%u \"%s\", got %d:\n", b->file, b->line, b->col,
		    b->sub, r);
		dump_errors(&e);
	}
	ck_assert_int_eq(r, -EINVAL);
	ck_assert(found);
	ck_assert_uint_eq(e.n, b->count ? b->count : 1);
	/* A refused file leaves nothing behind to use by mistake. */
	ck_assert_uint_eq(c.nmembers, 0);
	ck_assert_ptr_null(c.members);
	ck_assert_str_eq(c.cluster, "");
	config_free(&c);
	config_errors_free(&e);
	free(path);
}
END_TEST

START_TEST(test_every_error_of_a_file_is_reported_in_order)
{
	static const struct {
		unsigned line, col;
		const char *sub;
	} want[] = {
		{ 1, 10, "cluster: \"bad name!\" is not a valid cluster name" },
		{ 4, 3, "node: unknown key \"adress\"" },
		{ 5, 14, "node.log_level: unknown log level \"loud\"" },
		{ 8, 24, "members[1].address: port 99999 out of range (1-65535)" },
		{ 9, 11, "members[2].id: duplicate id \"n1\" (first at line 7)" },
		{ 10, 5, "members[3]: missing required key \"id\"" },
		{ 13, 16, "raft.election_ms: 500 must be at least 5 \xc3\x97 heartbeat_ms (200)" },
		{ 14, 19, "raft.snapshot_every: \"lots\" is not an integer" },
		{ 16, 11, "http.listen: \"127.0.0.1\": missing port" },
	};
	char *path = path_of("several_errors.yaml"), *prefix;
	struct config c;
	struct config_errors e;
	size_t i;

	ck_assert_int_eq(config_load(path, &c, &e), -EINVAL);
	if (e.n != sizeof(want) / sizeof(want[0]))
		dump_errors(&e);
	ck_assert_uint_eq(e.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < e.n; i++) {
		ck_assert_int_ge(asprintf(&prefix, "%s:%u:%u: ", path, want[i].line,
		    want[i].col), 0);
		ck_assert_uint_eq(e.v[i].line, want[i].line);
		ck_assert_uint_eq(e.v[i].col, want[i].col);
		ck_assert_msg(strncmp(e.v[i].msg, prefix, strlen(prefix)) == 0, "%s", e.v[i].msg);
		ck_assert_msg(strstr(e.v[i].msg, want[i].sub) != NULL, "%s", e.v[i].msg);
		free(prefix);
	}
	config_free(&c);
	config_errors_free(&e);
	free(path);
}
END_TEST

START_TEST(test_alias_bomb_is_refused_without_expanding)
{
	char *path = path_of("billion_laughs.yaml");
	struct config c;
	struct config_errors e;
	clock_t t0 = clock();
	double secs;

	ck_assert_int_eq(config_load(path, &c, &e), -EINVAL);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	/* Expanded, the bomb is 10^9 scalars; refused, it is a few hundred events. */
	ck_assert_msg(secs < 1.0, "took %.3f s of CPU", secs);
	ck_assert(has_error(&e, path, 6, 6, "anchors are not allowed (&a)"));
	ck_assert(has_error(&e, path, 7, 10, "aliases are not allowed (*a)"));
	ck_assert_uint_le(e.n, RAFTCONF_MAX_CONFIG_ERRORS + 1);
	config_free(&c);
	config_errors_free(&e);
	free(path);
}
END_TEST

START_TEST(test_file_larger_than_the_limit_is_refused_before_parsing)
{
	char path[] = "/tmp/check_config.XXXXXX";
	struct config c;
	struct config_errors e;
	char *big;
	size_t n = RAFTCONF_MAX_CONFIG_BYTES + 1;
	int fd;

	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, '#', n);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, big, n), (ssize_t)n);
	close(fd);

	ck_assert_int_eq(config_load(path, &c, &e), -EINVAL);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_uint_eq(e.v[0].line, 0);
	ck_assert_msg(strstr(e.v[0].msg, "file is 1048577 bytes; the limit is 1048576") != NULL,
	    "%s", e.v[0].msg);
	config_errors_free(&e);

	ck_assert_int_eq(config_load_string("big", big, n, &c, &e), -EINVAL);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.v[0].msg, "big: file is 1048577 bytes; the limit is 1048576");
	config_errors_free(&e);
	unlink(path);
	free(big);
}
END_TEST

/* "cluster..node" then count members; returns the text, caller frees. */
static char *
members_yaml(size_t count, size_t *len)
{
	FILE *f;
	char *s = NULL;
	size_t i;

	f = open_memstream(&s, len);
	ck_assert_ptr_nonnull(f);
	fprintf(f, "cluster: t\nnode:\n  id: n0\nmembers:\n");
	for (i = 0; i < count; i++)
		fprintf(f, "  - { id: n%zu, address: 10.0.%zu.%zu:7000 }\n", i, i / 256, i % 256);
	fclose(f);
	return s;
}

START_TEST(test_max_members_are_accepted_and_one_more_is_refused)
{
	struct config c;
	struct config_errors e;
	size_t len;
	char *y;

	y = members_yaml(RAFTCONF_MAX_MEMBERS, &len);
	ck_assert_int_eq(config_load_string("ok", y, len, &c, &e), 0);
	ck_assert_uint_eq(c.nmembers, RAFTCONF_MAX_MEMBERS);
	ck_assert_str_eq(c.members[RAFTCONF_MAX_MEMBERS - 1].id, "n511");
	config_free(&c);
	config_errors_free(&e);
	free(y);

	y = members_yaml(RAFTCONF_MAX_MEMBERS + 1, &len);
	ck_assert_int_eq(config_load_string("many", y, len, &c, &e), -EINVAL);
	ck_assert_uint_eq(e.n, 1);
	/* four header lines, then member i on line 5 + i */
	ck_assert_str_eq(e.v[0].msg, "many:517:5: members[512]: more than 512 members");
	config_errors_free(&e);
	free(y);
}
END_TEST

START_TEST(test_errors_stop_at_the_limit_with_a_notice)
{
	struct config c;
	struct config_errors e;
	FILE *f;
	char *y = NULL;
	size_t len, i;

	f = open_memstream(&y, &len);
	ck_assert_ptr_nonnull(f);
	fprintf(f, "cluster: t\nnode: { id: n1, address: 127.0.0.1:7001 }\n");
	for (i = 0; i < 3 * RAFTCONF_MAX_CONFIG_ERRORS; i++)
		fprintf(f, "k%zu: v\n", i);
	fclose(f);
	ck_assert_int_eq(config_load_string("noisy", y, len, &c, &e), -EINVAL);
	ck_assert_uint_eq(e.n, RAFTCONF_MAX_CONFIG_ERRORS + 1);
	ck_assert_str_eq(e.v[0].msg, "noisy:3:1: unknown key \"k0\"");
	ck_assert_msg(strstr(e.v[e.n - 1].msg, "too many errors") != NULL, "%s",
	    e.v[e.n - 1].msg);
	config_errors_free(&e);
	free(y);
}
END_TEST

START_TEST(test_unreadable_file_is_reported_with_strerror)
{
	struct config c;
	struct config_errors e;
	char *want;

	ck_assert_int_eq(config_load(DATA("no-such-file.yaml"), &c, &e), -ENOENT);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_int_ge(asprintf(&want, "%s: %s", DATA("no-such-file.yaml"), strerror(ENOENT)), 0);
	ck_assert_str_eq(e.v[0].msg, want);
	free(want);
	config_errors_free(&e);

	ck_assert_int_eq(config_load(TEST_DATA_DIR "/config", &c, &e), -EISDIR);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_msg(strstr(e.v[0].msg, strerror(EISDIR)) != NULL, "%s", e.v[0].msg);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_load_string_names_the_buffer_in_messages)
{
	static const char y[] = "cluster: t\nnode: { id: n1, address: 127.0.0.1:1, adress: x }\n";
	struct config c;
	struct config_errors e;

	ck_assert_int_eq(config_load_string("<stdin>", y, strlen(y), &c, &e), -EINVAL);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.v[0].msg,
	    "<stdin>:2:39: node: unknown key \"adress\" (did you mean \"address\"?)");
	config_errors_free(&e);
}
END_TEST

START_TEST(test_long_values_are_cut_in_messages)
{
	struct config c;
	struct config_errors e;
	char y[512], id[200];

	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	snprintf(y, sizeof(y), "cluster: t\nnode: { id: %s, address: 127.0.0.1:1 }\n", id);
	ck_assert_int_eq(config_load_string("long", y, strlen(y), &c, &e), -EINVAL);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_msg(strstr(e.v[0].msg, "\xe2\x80\xa6\" is not a valid node id") != NULL,
	    "%s", e.v[0].msg);
	ck_assert_uint_lt(strlen(e.v[0].msg), 200);
	config_errors_free(&e);
}
END_TEST

/*
 * Found by tests/fuzz_config: a quoted value whose 64th character took more
 * than one byte was cut after the first, so the message was not UTF-8 (and
 * the journal shows such a message as a blob).
 */
START_TEST(test_a_value_cut_in_a_message_is_cut_between_characters)
{
	struct config c;
	struct config_errors e;
	char y[512], port[80];

	/* "7", 62 letters, an em dash (3 bytes) as the 64th character, and more. */
	memset(port, 'x', sizeof(port));
	port[0] = '7';
	memcpy(port + 63, "\xe2\x80\x94z", 5);
	snprintf(y, sizeof(y), "cluster: t\nnode: { id: n1 }\nmembers:\n"
	    "  - { id: n1, address: \"10.0.0.1:%.68s\" }\n", port);
	ck_assert_int_eq(config_load_string("dash", y, strlen(y), &c, &e), -EINVAL);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_msg(json_utf8_valid(e.v[0].msg, strlen(e.v[0].msg)), "%s", e.v[0].msg);
	ck_assert_msg(strstr(e.v[0].msg, "xx\xe2\x80\x94\xe2\x80\xa6\" is not a number") != NULL,
	    "%s", e.v[0].msg);
	config_errors_free(&e);
}
END_TEST

START_TEST(test_quoting_keeps_utf8_whole_and_escapes_the_rest)
{
	char out[ERRBUF_QUOTE_SIZE], small[10], in[4 * ERRBUF_QUOTE_MAX + 8];
	const char *q;

	ck_assert_str_eq(errbuf_quote(out, sizeof(out), "a\"\\\n\x7f", 5), "a\\\"\\\\\\x0a\\x7f");
	/* Bytes that are not UTF-8 are escaped, one by one. */
	ck_assert_str_eq(errbuf_quote(out, sizeof(out), "\xc3\xa9\xff\xc3 \xed\xa0\x80", 8),
	    "\xc3\xa9\\xff\\xc3 \\xed\\xa0\\x80");
	/* The longest: ERRBUF_QUOTE_MAX characters of 4 bytes, then "…". */
	for (int i = 0; i <= ERRBUF_QUOTE_MAX; i++)
		memcpy(in + 4 * i, "\xf0\x9f\x98\x80", 4);
	q = errbuf_quote(out, sizeof(out), in, 4 * ERRBUF_QUOTE_MAX);
	ck_assert_uint_eq(strlen(q), 4 * ERRBUF_QUOTE_MAX);
	q = errbuf_quote(out, sizeof(out), in, 4 * (ERRBUF_QUOTE_MAX + 1));
	ck_assert_uint_eq(strlen(q), 4 * ERRBUF_QUOTE_MAX + 3);
	ck_assert_str_eq(q + 4 * ERRBUF_QUOTE_MAX, "\xe2\x80\xa6");
	/* A short buffer is cut between characters too. */
	q = errbuf_quote(small, sizeof(small), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);
	ck_assert_str_eq(q, "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	/* Stray continuation bytes count as characters: the cut comes. */
	memset(in, 0x80, sizeof(in));
	q = errbuf_quote(out, sizeof(out), in, sizeof(in));
	ck_assert(json_utf8_valid(q, strlen(q)));
	ck_assert_uint_eq(strlen(q), 4 * ERRBUF_QUOTE_MAX + 3);
}
END_TEST

/* ------------------------------------------------------------ helpers */

START_TEST(test_parse_address_splits_host_and_port)
{
	static const struct {
		const char *in, *host;
		uint16_t port;
	} ok[] = {
		{ "10.0.0.1:7000", "10.0.0.1", 7000 },
		{ "127.0.0.1:1", "127.0.0.1", 1 },
		{ "0.0.0.0:65535", "0.0.0.0", 65535 },
		{ "[::1]:7000", "::1", 7000 },
		{ "[2001:db8::42]:80", "2001:db8::42", 80 },
		{ "localhost:7000", "localhost", 7000 },
		{ "node-1.example.com:7000", "node-1.example.com", 7000 },
		{ "N1:7", "N1", 7 },
	};
	char host[RAFTCONF_MAX_ADDRESS + 1], err[256];
	uint16_t port;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(addr_parse(ok[i].in, host, sizeof(host), &port, err,
		    sizeof(err)) == 0, "%s: %s", ok[i].in, err);
		ck_assert_str_eq(host, ok[i].host);
		ck_assert_uint_eq(port, ok[i].port);
	}
}
END_TEST

START_TEST(test_parse_address_refuses_malformed_addresses)
{
	static const struct {
		const char *in, *sub;
	} bad[] = {
		{ "", "empty address" },
		{ "10.0.0.1", "missing port" },
		{ "10.0.0.1:", "missing port after ':'" },
		{ ":7000", "missing host" },
		{ "10.0.0.1:0", "port 0 out of range" },
		{ "10.0.0.1:65536", "port 65536 out of range" },
		{ "10.0.0.1:99999999999999999999", "out of range" },
		{ "10.0.0.1:-1", "port \"-1\" is not a number" },
		{ "10.0.0.1:+80", "is not a number" },
		{ "1.2.3:7000", "\"1.2.3\" is not an IPv4 address" },
		{ "::1:7000", "must be in brackets" },
		{ "[::1]", "missing :port" },
		{ "[::1:7000", "missing ']'" },
		{ "[]:7000", "\"\" is not an IPv6 address" },
		{ "[10.0.0.1]:7000", "is not an IPv6 address" },
		{ "-host:7000", "is not a valid host name" },
		{ "host-:7000", "is not a valid host name" },
		{ "a..b:7000", "is not a valid host name" },
		{ "host name:7000", "is not a valid host name" },
		{ "h\xc3\xa9:7000", "is not a valid host name" },
	};
	char host[8], err[256], label[80], name[300];
	uint16_t port;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(addr_parse(bad[i].in, NULL, 0, NULL, err, sizeof(err)) ==
		    -EINVAL, "%s accepted", bad[i].in);
		ck_assert_msg(strstr(err, bad[i].sub) != NULL, "%s: %s", bad[i].in, err);
	}
	/* labels of 63 pass, 64 fail; a host longer than the caller's buffer fails */
	memset(label, 'a', 64);
	snprintf(name, sizeof(name), "%.63s.example:1", label);
	ck_assert_int_eq(addr_parse(name, NULL, 0, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(addr_parse(name, host, sizeof(host), &port, err, sizeof(err)),
	    -EINVAL);
	snprintf(name, sizeof(name), "%.64s.example:1", label);
	ck_assert_int_eq(addr_parse(name, NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	/* Validation only, no message wanted. */
	ck_assert_int_eq(addr_parse("10.0.0.1:7000", NULL, 0, NULL, NULL, 0), 0);
	ck_assert_int_eq(addr_parse("10.0.0.1", NULL, 0, NULL, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_ids_and_cluster_names_follow_their_alphabets)
{
	ck_assert(config_valid_id("n1"));
	ck_assert(config_valid_id("A_b-9"));
	ck_assert(config_valid_id("abcdefghijklmnopqrstuvwxyz012345"));	/* 32 */
	ck_assert(!config_valid_id("abcdefghijklmnopqrstuvwxyz0123456"));	/* 33 */
	ck_assert(!config_valid_id(""));
	ck_assert(!config_valid_id("n.1"));
	ck_assert(!config_valid_id("n 1"));
	ck_assert(config_valid_cluster_name("prod.config-1_a"));
	ck_assert(!config_valid_cluster_name(""));
	ck_assert(!config_valid_cluster_name("a/b"));
}
END_TEST

START_TEST(test_log_level_names_round_trip)
{
	static const char *const names[] = { "debug", "info", "notice", "warning", "err" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_str_eq(config_log_level_name(config_log_level_from_name(names[i])),
		    names[i]);
	ck_assert_int_eq(config_log_level_from_name("debug"), LOG_DEBUG);
	ck_assert_int_eq(config_log_level_from_name("err"), LOG_ERR);
	ck_assert_int_eq(config_log_level_from_name("error"), -1);
	ck_assert_int_eq(config_log_level_from_name("INFO"), -1);
	ck_assert_str_eq(config_log_level_name(LOG_CRIT), "?");
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("valid");
	tcase_add_test(tc, test_example_config_loads_with_its_documented_values);
	tcase_add_test(tc, test_defaults_apply_when_optional_keys_are_missing);
	tcase_add_test(tc, test_spare_node_without_members_uses_its_own_address);
	tcase_add_test(tc, test_optional_sections_left_empty_are_absent);
	tcase_add_test(tc, test_a_host_name_address_is_the_default_listen_address);
	tcase_add_test(tc, test_timings_at_exactly_five_heartbeats_are_accepted);
	tcase_add_test(tc, test_the_history_window_is_read_and_bounded);
	tcase_add_test(tc, test_lag_warn_ms_is_read_and_range_checked);
	tcase_add_test(tc, test_relay_after_is_read_and_range_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_loop_test(tc, test_broken_file_is_reported_at_its_line_and_column, 0,
	    (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(tc, test_election_one_below_five_heartbeats_is_refused);
	tcase_add_test(tc, test_tls_section_is_read_with_the_position_of_each_file);
	tcase_add_test(tc, test_tls_without_a_key_and_https_without_its_key_are_refused);
	tcase_add_test(tc, test_every_error_of_a_file_is_reported_in_order);
	tcase_add_test(tc, test_alias_bomb_is_refused_without_expanding);
	tcase_add_test(tc, test_file_larger_than_the_limit_is_refused_before_parsing);
	tcase_add_test(tc, test_max_members_are_accepted_and_one_more_is_refused);
	tcase_add_test(tc, test_errors_stop_at_the_limit_with_a_notice);
	tcase_add_test(tc, test_unreadable_file_is_reported_with_strerror);
	tcase_add_test(tc, test_load_string_names_the_buffer_in_messages);
	tcase_add_test(tc, test_long_values_are_cut_in_messages);
	tcase_add_test(tc, test_a_value_cut_in_a_message_is_cut_between_characters);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, test_parse_address_splits_host_and_port);
	tcase_add_test(tc, test_parse_address_refuses_malformed_addresses);
	tcase_add_test(tc, test_ids_and_cluster_names_follow_their_alphabets);
	tcase_add_test(tc, test_log_level_names_round_trip);
	tcase_add_test(tc, test_quoting_keeps_utf8_whole_and_escapes_the_rest);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failures;

	srunner_run_all(sr, CK_ENV);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
