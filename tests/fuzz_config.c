/*
 * fuzz_config.c — libFuzzer target for the configuration loader
 * (config_load_string: daemon/config.c, yamlwalk.c, addr.c and libyaml):
 * each input is a raftconfd.yaml.
 *
 * Every input loads, or is refused with -EINVAL and errors that carry a
 * position: a line and a column inside the input, a message that starts
 * with "fuzz.yaml:LINE:COL: " and is one line of UTF-8 text (it goes to
 * the journal and to --check's output), at most RAFTCONF_MAX_CONFIG_ERRORS
 * of them and the notice that the loader stopped, in file order; and the
 * struct config of a refused file is left zeroed.
 *
 * A loaded config keeps config.h's promises, checked here from config.h
 * rather than from config.c: the cluster name and every id in their
 * alphabet and length; addresses that parse, listen addresses that bind
 * (IP literals), http.listen clear of node.listen; absolute paths, the
 * socket within sun_path; read_group none or a group of this host; every number in its range and election_ms at
 * least 5 × heartbeat_ms; members unique by id and by address, self_listed
 * true exactly when node.id is among them, and node.address then equal to
 * its entry and otherwise no member's.  And it is a fixed point: written
 * back as YAML (every string double-quoted with escapes, so that no value
 * is read as anything but a string) and loaded again, it gives the same
 * struct config.  Any broken promise aborts.
 *
 * Not a unit test: tests/check_config.c holds those, including a
 * regression test for anything this target finds.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <syslog.h>

/* By path: the autoconf header is also called config.h. */
#include "../daemon/addr.h"
#include "../daemon/config.h"

#define FUZZ_NAME "fuzz_config"
#include "fuzz_util.h"

#define NAME "fuzz.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

/* s is NUL-terminated within its n-byte array. */
static bool
terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static bool
in_alphabet(const char *s, const char *alphabet, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && strspn(s, alphabet) == n;
}

/* ------------------------------------------------------------------ errors */

/*
 * An upper bound of the lines libyaml may count: every break it knows, and
 * one more because the end of the stream forces a new line (an error found
 * there is at the start of the line after the last).
 */
static unsigned
max_lines(const uint8_t *d, size_t n)
{
	unsigned lines = 2;

	for (size_t i = 0; i < n; i++) {
		if (d[i] == '\n' || d[i] == '\r')
			lines++;
		else if (i + 1 < n && d[i] == 0xc2 && d[i + 1] == 0x85) /* NEL */
			lines++;
		else if (i + 2 < n && d[i] == 0xe2 && d[i + 1] == 0x80 &&
		    (d[i + 2] == 0xa8 || d[i + 2] == 0xa9)) /* LS, PS */
			lines++;
	}
	return lines;
}

static void
check_errors(const struct config_errors *e, const uint8_t *data, size_t size)
{
	unsigned lines = max_lines(data, size);
	char prefix[64];

	require(e->n >= 1, "refused without an error", NULL);
	require(e->n <= RAFTCONF_MAX_CONFIG_ERRORS + 1, "more errors than the cap", NULL);
	for (size_t i = 0; i < e->n; i++) {
		const struct config_error *x = &e->v[i];
		const char *msg = x->msg;

		require(msg != NULL, "an error without a message", NULL);
		require(x->line >= 1 && x->col >= 1, "an error without a position", msg);
		require(x->line <= lines && x->col <= size + 1, "an error past the input", msg);
		snprintf(prefix, sizeof(prefix), NAME ":%u:%u: ", x->line, x->col);
		require(strncmp(msg, prefix, strlen(prefix)) == 0 && msg[strlen(prefix)] != '\0',
		    "a message that does not start with FILE:LINE:COL", msg);
		for (const char *p = msg; *p; p++)
			require((unsigned char)*p >= 0x20 && *p != 0x7f,
			    "a control character in a message", msg);
		require(utf8_ok(msg, strlen(msg)), "a message that is not UTF-8", msg);
		if (i > 0)
			require(e->v[i - 1].line < x->line ||
				(e->v[i - 1].line == x->line && e->v[i - 1].col <= x->col),
			    "errors out of file order", msg);
	}
}

/* ------------------------------------------------------- a loaded config */

static bool
listed(const struct config *c)
{
	for (size_t i = 0; i < c->nmembers; i++)
		if (strcmp(c->members[i].id, c->node_id) == 0)
			return true;
	return false;
}

static void
check_config(const struct config *c)
{
	char err[512];

	require(terminated(c->cluster, sizeof(c->cluster)) &&
		terminated(c->node_id, sizeof(c->node_id)) &&
		terminated(c->address, sizeof(c->address)) &&
		terminated(c->listen, sizeof(c->listen)) &&
		terminated(c->data_dir, sizeof(c->data_dir)) &&
		terminated(c->socket, sizeof(c->socket)) &&
		terminated(c->http_listen, sizeof(c->http_listen)) &&
		terminated(c->read_group, sizeof(c->read_group)),
	    "a string not terminated in its array", NULL);
	require(in_alphabet(c->cluster, ID_ALPHABET ".", RAFTCONF_MAX_CLUSTER_NAME),
	    "a bad cluster name", c->cluster);
	require(in_alphabet(c->node_id, ID_ALPHABET, RAFTCONF_MAX_ID), "a bad node id", c->node_id);
	require(addr_parse(c->address, NULL, 0, NULL, err, sizeof(err)) == 0,
	    "node.address does not parse", c->address);
	/* listen defaults to address; written, it is an IP literal. */
	if (strcmp(c->listen, c->address) != 0)
		require(addr_parse_listen(c->listen, NULL, NULL, err, sizeof(err)) == 0,
		    "node.listen does not bind", c->listen);
	if (c->http_listen[0] != '\0') {
		require(addr_parse_listen(c->http_listen, NULL, NULL, err, sizeof(err)) == 0,
		    "http.listen does not bind", c->http_listen);
		require(!addr_bind_conflict(c->http_listen, c->listen),
		    "http.listen collides with node.listen", c->http_listen);
	}
	require(c->data_dir[0] == '/' && strlen(c->data_dir) <= RAFTCONF_MAX_PATH,
	    "data_dir is not an absolute path", c->data_dir);
	require(
	    c->socket[0] == '/' && strlen(c->socket) < sizeof(((struct sockaddr_un *)0)->sun_path),
	    "socket is not an absolute path that fits sun_path", c->socket);
	require(utf8_ok(c->data_dir, strlen(c->data_dir)) && utf8_ok(c->socket, strlen(c->socket)),
	    "a path that is not UTF-8", NULL);
	require(c->log_level >= LOG_ERR && c->log_level <= LOG_DEBUG &&
		strcmp(config_log_level_name(c->log_level), "?") != 0,
	    "log_level out of range", NULL);
	require(c->ready_timeout_ms <= CONFIG_MAX_READY_TIMEOUT_MS, "ready_timeout_ms", NULL);
	require(c->read_group[0] == '\0' ||
		(strlen(c->read_group) <= CONFIG_MAX_GROUP && getgrnam(c->read_group) != NULL),
	    "read_group is not a group of this host", c->read_group);
	require(c->heartbeat_ms >= CONFIG_MIN_HEARTBEAT_MS &&
		c->heartbeat_ms <= CONFIG_MAX_HEARTBEAT_MS,
	    "heartbeat_ms out of range", NULL);
	require(
	    c->election_ms >= CONFIG_MIN_ELECTION_MS && c->election_ms <= CONFIG_MAX_ELECTION_MS,
	    "election_ms out of range", NULL);
	require(
	    (uint64_t)c->election_ms >= (uint64_t)CONFIG_ELECTION_HEARTBEAT_RATIO * c->heartbeat_ms,
	    "election_ms below 5 x heartbeat_ms", NULL);
	require(c->snapshot_every >= CONFIG_MIN_SNAPSHOT_EVERY &&
		c->snapshot_every <= CONFIG_MAX_SNAPSHOT_EVERY,
	    "snapshot_every out of range", NULL);
	require(c->snapshot_log_percent <= CONFIG_MAX_SNAPSHOT_LOG_PERCENT,
	    "snapshot_log_percent out of range", NULL);
	require(c->lag_warn_ms >= CONFIG_MIN_LAG_WARN_MS && c->lag_warn_ms <= CONFIG_MAX_LAG_WARN_MS,
	    "lag_warn_ms out of range", NULL);

	require(c->nmembers <= RAFTCONF_MAX_MEMBERS, "too many members", NULL);
	require((c->nmembers == 0) == (c->members == NULL), "members pointer and count", NULL);
	for (size_t i = 0; i < c->nmembers; i++) {
		const struct config_member *m = &c->members[i];

		require(
		    terminated(m->id, sizeof(m->id)) && terminated(m->address, sizeof(m->address)),
		    "a member string not terminated", NULL);
		require(in_alphabet(m->id, ID_ALPHABET, RAFTCONF_MAX_ID), "a bad member id", m->id);
		require(addr_parse(m->address, NULL, 0, NULL, err, sizeof(err)) == 0,
		    "a member address does not parse", m->address);
		for (size_t j = 0; j < i; j++) {
			require(
			    strcmp(c->members[j].id, m->id) != 0, "duplicate member ids", m->id);
			require(!addr_same(c->members[j].address, m->address),
			    "duplicate member addresses", m->address);
		}
		if (strcmp(m->id, c->node_id) == 0)
			require(addr_same(c->address, m->address),
			    "node.address differs from its members entry", c->address);
		else
			require(!addr_same(c->address, m->address),
			    "node.address is another member's", c->address);
	}
	require(c->self_listed == listed(c), "self_listed is wrong", NULL);
	require(config_find_member(c, c->node_id) == NULL || c->self_listed, "config_find_member",
	    NULL);
}

/* ---------------------------------------------------- writing it back out */

/* s as a YAML double-quoted scalar: printable ASCII as it is, the rest escaped. */
static void
put_quoted(struct fbuf *b, const char *s)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t len = strlen(s), n;
	char esc[16];
	uint32_t cp;

	fbuf_str(b, "\"");
	for (size_t i = 0; i < len; i += n) {
		n = utf8_next(u + i, len - i, &cp);
		require(n > 0, "a loaded string is not UTF-8", s);
		if (cp == '"' || cp == '\\')
			snprintf(esc, sizeof(esc), "\\%c", (char)cp);
		else if (cp >= 0x20 && cp < 0x7f)
			snprintf(esc, sizeof(esc), "%c", (char)cp);
		else if (cp < 0x100)
			snprintf(esc, sizeof(esc), "\\x%02" PRIx32, cp);
		else if (cp < 0x10000)
			snprintf(esc, sizeof(esc), "\\u%04" PRIx32, cp);
		else
			snprintf(esc, sizeof(esc), "\\U%08" PRIx32, cp);
		fbuf_str(b, esc);
	}
	fbuf_str(b, "\"");
}

static void
put_key(struct fbuf *b, const char *indent_key, const char *s)
{
	fbuf_str(b, indent_key);
	put_quoted(b, s);
	fbuf_str(b, "\n");
}

static void
put_num(struct fbuf *b, const char *indent_key, uint64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRIu64 "\n", v);
	fbuf_str(b, indent_key);
	fbuf_str(b, num);
}

static void
write_yaml(struct fbuf *b, const struct config *c)
{
	put_key(b, "cluster: ", c->cluster);
	fbuf_str(b, "node:\n");
	put_key(b, "  id: ", c->node_id);
	put_key(b, "  address: ", c->address);
	if (strcmp(c->listen, c->address) != 0)
		put_key(b, "  listen: ", c->listen);
	put_key(b, "  data_dir: ", c->data_dir);
	put_key(b, "  socket: ", c->socket);
	fbuf_str(b, "  log_level: ");
	fbuf_str(b, config_log_level_name(c->log_level));
	fbuf_str(b, "\n");
	put_num(b, "  ready_timeout_ms: ", c->ready_timeout_ms);
	if (c->read_group[0] != '\0')
		put_key(b, "  read_group: ", c->read_group);
	fbuf_str(b, "raft:\n");
	put_num(b, "  heartbeat_ms: ", c->heartbeat_ms);
	put_num(b, "  election_ms: ", c->election_ms);
	put_num(b, "  snapshot_every: ", c->snapshot_every);
	put_num(b, "  snapshot_log_percent: ", c->snapshot_log_percent);
	put_num(b, "  lag_warn_ms: ", c->lag_warn_ms);
	if (c->http_listen[0] != '\0') {
		fbuf_str(b, "http:\n");
		put_key(b, "  listen: ", c->http_listen);
	}
	if (c->nmembers > 0)
		fbuf_str(b, "members:\n");
	for (size_t i = 0; i < c->nmembers; i++) {
		fbuf_str(b, "  - { id: ");
		put_quoted(b, c->members[i].id);
		fbuf_str(b, ", address: ");
		put_quoted(b, c->members[i].address);
		fbuf_str(b, " }\n");
	}
}

/* Field by field, from config.h. */
static bool
config_eq(const struct config *a, const struct config *b)
{
	if (strcmp(a->cluster, b->cluster) != 0 || strcmp(a->node_id, b->node_id) != 0 ||
	    strcmp(a->address, b->address) != 0 || strcmp(a->listen, b->listen) != 0 ||
	    strcmp(a->data_dir, b->data_dir) != 0 || strcmp(a->socket, b->socket) != 0 ||
	    a->log_level != b->log_level || a->ready_timeout_ms != b->ready_timeout_ms ||
	    strcmp(a->read_group, b->read_group) != 0 || a->heartbeat_ms != b->heartbeat_ms ||
	    a->election_ms != b->election_ms || a->snapshot_every != b->snapshot_every ||
	    a->snapshot_log_percent != b->snapshot_log_percent || a->lag_warn_ms != b->lag_warn_ms ||
	    strcmp(a->http_listen, b->http_listen) != 0 || a->nmembers != b->nmembers ||
	    a->self_listed != b->self_listed)
		return false;
	for (size_t i = 0; i < a->nmembers; i++)
		if (strcmp(a->members[i].id, b->members[i].id) != 0 ||
		    strcmp(a->members[i].address, b->members[i].address) != 0)
			return false;
	return true;
}

static void
check_fixed_point(const struct config *c)
{
	struct config again;
	struct config_errors e;
	struct fbuf y = { 0 };
	int rc;

	write_yaml(&y, c);
	rc = config_load_string(NAME, y.p, y.len, &again, &e);
	if (rc != 0) {
		fprintf(stderr, "%s", y.p);
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "  %s\n", e.v[i].msg);
	}
	require(rc == 0, "a loaded config written back does not load", NULL);
	if (!config_eq(c, &again))
		fprintf(stderr, "%s", y.p);
	require(config_eq(c, &again), "a loaded config written back loads differently", NULL);
	config_free(&again);
	config_errors_free(&e);
	fbuf_free(&y);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct config zero;
	struct config c;
	struct config_errors e;
	int rc;

	rc = config_load_string(NAME, (const char *)data, size, &c, &e);
	require(rc == 0 || rc == -EINVAL, "an undocumented result", NULL);
	if (rc == 0) {
		require(e.n == 0, "loaded with errors", e.v ? e.v[0].msg : NULL);
		check_config(&c);
		check_fixed_point(&c);
	} else {
		check_errors(&e, data, size);
		require(memcmp(&c, &zero, sizeof(c)) == 0, "a refused config is not zeroed", NULL);
	}
	config_free(&c);
	config_errors_free(&e);
	return 0;
}
