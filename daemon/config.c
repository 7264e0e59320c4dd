/*
 * config.c — raftconfd.yaml into a validated struct config.
 *
 * For: the schema of the file — its sections and keys, each key's type,
 * range and default, what no single key can tell (node.address against its
 * members entry, duplicate members, http.listen against node.listen,
 * election_ms against heartbeat_ms) — turning the operator's file into
 * values the rest of the daemon uses without checking them again, and
 * telling the operator about every mistake at once.  Not for: reading YAML
 * events, their line and column, and the list of errors (yamlwalk.c);
 * the grammar of addresses (addr.c); the run-time membership (the
 * replicated log owns it once the cluster is bootstrapped); anything that
 * touches the network or the disk besides reading this file.
 *
 * The parser is guided by the schema table below: it descends only into
 * keys it knows and has yamlwalk skip every other subtree event by event,
 * so what it keeps is bounded by the schema, not by the file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"

#include "addr.h"
#include "errbuf.h"
#include "yamlwalk.h"

/* Paths are built from schema names only, so this is plenty. */
#define PATH_MAX_LEN 64
/* A message body, as yamlwalk_error() takes it. */
#define BODY_MAX (ERRBUF_QUOTE_SIZE + 256)

enum ftype {
	F_CLUSTER,
	F_ID,
	F_ADDRESS,
	F_LISTEN,
	F_PATH,
	F_SOCKET,
	F_GROUP,
	F_LOGLEVEL,
	F_U32,
	F_U64,
	F_SECTION,
	F_MEMBERS,
};

enum section { SEC_ROOT, SEC_NODE, SEC_RAFT, SEC_HTTP, SEC_TLS, SEC_HISTORY, SEC_N };

struct field {
	const char *name;
	enum ftype type;
	bool required;
	size_t off;	      /* into the object the mapping fills */
	size_t size;	      /* of a char buffer */
	uint64_t min, max;    /* F_U32, F_U64 */
	enum section section; /* F_SECTION */
};

/* What the parser remembers about one key of one mapping. */
struct seen {
	bool present;	   /* the key was written */
	bool valid;	   /* and its value was stored */
	yaml_mark_t key;   /* where the key is */
	yaml_mark_t value; /* where its value starts */
};

#define STR(n, t, req, st, m)                                                        \
	{                                                                            \
		.name = (n), .type = (t), .required = (req), .off = offsetof(st, m), \
		.size = sizeof(((st *)0)->m)                                         \
	}
#define NUM(n, t, m, lo, hi)                                                      \
	{                                                                         \
		.name = (n), .type = (t), .off = offsetof(struct config, m),      \
		.size = sizeof(((struct config *)0)->m), .min = (lo), .max = (hi) \
	}
#define SEC(n, req, s)                                                            \
	{                                                                         \
		.name = (n), .type = F_SECTION, .required = (req), .section = (s) \
	}

enum {
	ROOT_CLUSTER,
	ROOT_NODE,
	ROOT_MEMBERS,
	ROOT_RAFT,
	ROOT_HTTP,
	ROOT_TLS,
	ROOT_HISTORY,
	ROOT_N
};
static const struct field root_fields[ROOT_N] = {
	[ROOT_CLUSTER] = STR("cluster", F_CLUSTER, true, struct config, cluster),
	[ROOT_NODE] = SEC("node", true, SEC_NODE),
	[ROOT_MEMBERS] = { .name = "members", .type = F_MEMBERS },
	[ROOT_RAFT] = SEC("raft", false, SEC_RAFT),
	[ROOT_HTTP] = SEC("http", false, SEC_HTTP),
	[ROOT_TLS] = SEC("tls", false, SEC_TLS),
	[ROOT_HISTORY] = SEC("history", false, SEC_HISTORY),
};

enum {
	NODE_ID,
	NODE_ADDRESS,
	NODE_LISTEN,
	NODE_DATA_DIR,
	NODE_SOCKET,
	NODE_LOG_LEVEL,
	NODE_READY_TIMEOUT,
	NODE_READ_GROUP,
	NODE_N
};
static const struct field node_fields[NODE_N] = {
	[NODE_ID] = STR("id", F_ID, true, struct config, node_id),
	/* Not required here: it may come from the node's members entry. */
	[NODE_ADDRESS] = STR("address", F_ADDRESS, false, struct config, address),
	[NODE_LISTEN] = STR("listen", F_LISTEN, false, struct config, listen),
	[NODE_DATA_DIR] = STR("data_dir", F_PATH, false, struct config, data_dir),
	[NODE_SOCKET] = STR("socket", F_SOCKET, false, struct config, socket),
	[NODE_LOG_LEVEL] = { .name = "log_level",
	    .type = F_LOGLEVEL,
	    .off = offsetof(struct config, log_level) },
	[NODE_READY_TIMEOUT] =
	    NUM("ready_timeout_ms", F_U32, ready_timeout_ms, 0, CONFIG_MAX_READY_TIMEOUT_MS),
	[NODE_READ_GROUP] = STR("read_group", F_GROUP, false, struct config, read_group),
};

enum {
	RAFT_HEARTBEAT,
	RAFT_ELECTION,
	RAFT_SNAPSHOT_EVERY,
	RAFT_SNAPSHOT_LOG_PERCENT,
	RAFT_SNAPSHOT_PILE,
	RAFT_LAG_WARN,
	RAFT_RELAY_AFTER,
	RAFT_N
};
static const struct field raft_fields[RAFT_N] = {
	[RAFT_HEARTBEAT] = NUM(
	    "heartbeat_ms", F_U32, heartbeat_ms, CONFIG_MIN_HEARTBEAT_MS, CONFIG_MAX_HEARTBEAT_MS),
	[RAFT_ELECTION] =
	    NUM("election_ms", F_U32, election_ms, CONFIG_MIN_ELECTION_MS, CONFIG_MAX_ELECTION_MS),
	[RAFT_SNAPSHOT_EVERY] = NUM("snapshot_every", F_U64, snapshot_every,
	    CONFIG_MIN_SNAPSHOT_EVERY, CONFIG_MAX_SNAPSHOT_EVERY),
	[RAFT_SNAPSHOT_LOG_PERCENT] = NUM("snapshot_log_percent", F_U32, snapshot_log_percent, 0,
	    CONFIG_MAX_SNAPSHOT_LOG_PERCENT),
	[RAFT_SNAPSHOT_PILE] = NUM("snapshot_pile_mb", F_U32, snapshot_pile_mb,
	    CONFIG_MIN_SNAPSHOT_PILE_MB, CONFIG_MAX_SNAPSHOT_PILE_MB),
	[RAFT_LAG_WARN] =
	    NUM("lag_warn_ms", F_U32, lag_warn_ms, CONFIG_MIN_LAG_WARN_MS, CONFIG_MAX_LAG_WARN_MS),
	[RAFT_RELAY_AFTER] = NUM("relay_after", F_U32, relay_after, 0, RAFTCONF_MAX_MEMBERS),
};

enum { HTTP_LISTEN, HTTP_CERT, HTTP_KEY, HTTP_N };
static const struct field http_fields[HTTP_N] = {
	[HTTP_LISTEN] = STR("listen", F_LISTEN, false, struct config, http_listen),
	[HTTP_CERT] = STR("cert", F_PATH, false, struct config, http_cert),
	[HTTP_KEY] = STR("key", F_PATH, false, struct config, http_key),
};

/* Only read here (their contents are tls.c's to judge, at start-up and on
 * SIGHUP); where each value is written is kept for its messages. */
enum { TLS_CA, TLS_CERT, TLS_KEY, TLS_CRL, TLS_N };
static const struct field tls_fields[TLS_N] = {
	[TLS_CA] = STR("ca", F_PATH, true, struct config, tls_ca),
	[TLS_CERT] = STR("cert", F_PATH, true, struct config, tls_cert),
	[TLS_KEY] = STR("key", F_PATH, true, struct config, tls_key),
	[TLS_CRL] = STR("crl", F_PATH, false, struct config, tls_crl),
};

/* The changes kept for watch --from-rev (store.h, "history"). */
enum { HISTORY_REVISIONS, HISTORY_BYTES, HISTORY_N };
static const struct field history_fields[HISTORY_N] = {
	[HISTORY_REVISIONS] = NUM("revisions", F_U64, history_revisions,
	    CONFIG_MIN_HISTORY_REVISIONS, CONFIG_MAX_HISTORY_REVISIONS),
	[HISTORY_BYTES] =
	    NUM("bytes", F_U64, history_bytes, CONFIG_MIN_HISTORY_BYTES, CONFIG_MAX_HISTORY_BYTES),
};

enum { MEMBER_ID, MEMBER_ADDRESS, MEMBER_N };
static const struct field member_fields[MEMBER_N] = {
	[MEMBER_ID] = STR("id", F_ID, true, struct config_member, id),
	[MEMBER_ADDRESS] = STR("address", F_ADDRESS, true, struct config_member, address),
};

#define MAX_FIELDS NODE_N
_Static_assert((int)HTTP_N <= (int)MAX_FIELDS && (int)TLS_N <= (int)MAX_FIELDS &&
	(int)RAFT_N <= (int)MAX_FIELDS && (int)HISTORY_N <= (int)MAX_FIELDS,
    "every section fits seen[]");

static const struct {
	const struct field *f;
	size_t n;
} sections[SEC_N] = {
	[SEC_ROOT] = { root_fields, ROOT_N },
	[SEC_NODE] = { node_fields, NODE_N },
	[SEC_RAFT] = { raft_fields, RAFT_N },
	[SEC_HTTP] = { http_fields, HTTP_N },
	[SEC_TLS] = { tls_fields, TLS_N },
	[SEC_HISTORY] = { history_fields, HISTORY_N },
};

struct member_state {
	struct config_member m;
	struct seen seen[MEMBER_N];
};

struct parse {
	struct yamlwalk w; /* the events, and the errors so far */
	struct config *c;
	struct seen seen[SEC_N][MAX_FIELDS];
	bool sec_present[SEC_N];
	yaml_mark_t sec_mark[SEC_N];
	struct member_state *mem;
	size_t nmem, capmem;
	bool too_many_members;
};

/* Paths are made of schema names and indexes below 512, so never cut. */
static void path_printf(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
path_printf(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
}

static void
child_path(char *out, size_t outlen, const char *parent, const char *name)
{
	if (parent[0] == '\0')
		path_printf(out, outlen, "%s", name);
	else
		path_printf(out, outlen, "%s.%s", parent, name);
}

/* ---------------------------------------------------- values and checks */

bool
config_valid_id(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if (i >= RAFTCONF_MAX_ID)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return i > 0;
}

bool
config_valid_cluster_name(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if (i >= RAFTCONF_MAX_CLUSTER_NAME)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return false;
	}
	return i > 0;
}

static const struct {
	const char *name;
	int level;
} levels[] = {
	{ "debug", LOG_DEBUG },
	{ "info", LOG_INFO },
	{ "notice", LOG_NOTICE },
	{ "warning", LOG_WARNING },
	{ "err", LOG_ERR },
};

int
config_log_level_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

const char *
config_log_level_name(int level)
{
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "?";
}

/* Levenshtein distance, for "did you mean"; keys are short. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, row[PATH_MAX_LEN + 1], prev, cur;

	if (la > PATH_MAX_LEN || lb > PATH_MAX_LEN)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (cur + 1 < row[j])
				row[j] = cur + 1;
			prev = cur;
		}
	}
	return row[lb];
}

static const char *
field_expects(enum ftype t)
{
	switch (t) {
	case F_CLUSTER:
		return "a cluster name";
	case F_ID:
		return "a node id";
	case F_ADDRESS:
		return "host:port";
	case F_LISTEN:
		return "ip:port";
	case F_PATH:
	case F_SOCKET:
		return "an absolute path";
	case F_GROUP:
		return "a group name";
	case F_LOGLEVEL:
		return "a log level (debug, info, notice, warning or err)";
	case F_U32:
	case F_U64:
		return "an integer";
	case F_SECTION:
		return "a mapping";
	case F_MEMBERS:
		return "a sequence of {id, address}";
	}
	return "?";
}

/*
 * The current event is a scalar to be parsed as an unsigned integer within
 * [f->min, f->max].  Only plain decimal is accepted: "100" quoted is a string
 * in YAML, and 0x10 or 1e3 in a timeout is more likely a typo than intent.
 */
static bool
parse_uint(struct parse *p, const struct field *f, const char *path, uint64_t *out)
{
	struct yamlwalk *w = &p->w;
	const yaml_event_t *ev = &w->ev;
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length, i;
	char shown[ERRBUF_QUOTE_SIZE];
	bool neg = false;
	uint64_t v = 0;

	errbuf_quote(shown, sizeof(shown), s, len);
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		yamlwalk_error(w, &ev->start_mark, path,
		    "expected an integer, got a quoted string \"%s\"", shown);
		return false;
	}
	i = 0;
	if (len > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len) {
		yamlwalk_error(w, &ev->start_mark, path, "\"%s\" is not an integer", shown);
		return false;
	}
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			yamlwalk_error(w, &ev->start_mark, path, "\"%s\" is not an integer", shown);
			return false;
		}
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) {
			yamlwalk_error(w, &ev->start_mark, path,
			    "integer overflow: %s does not fit in 64 bits (allowed %llu-%llu)",
			    shown, (unsigned long long)f->min, (unsigned long long)f->max);
			return false;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if ((neg && v != 0) || v < f->min || v > f->max) {
		yamlwalk_error(w, &ev->start_mark, path, "%s out of range (%llu-%llu)", shown,
		    (unsigned long long)f->min, (unsigned long long)f->max);
		return false;
	}
	*out = v;
	return true;
}

/* Validate the current scalar for a text field and store it. */
static bool
parse_text(struct parse *p, const struct field *f, void *obj, const char *path)
{
	struct yamlwalk *w = &p->w;
	const yaml_event_t *ev = &w->ev;
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	char shown[ERRBUF_QUOTE_SIZE], e[BODY_MAX];
	char *dst = (char *)obj + f->off;
	int level;

	errbuf_quote(shown, sizeof(shown), s, len);
	if (strlen(s) != len) {
		yamlwalk_error(w, &ev->start_mark, path, "\"%s\" contains a NUL byte", shown);
		return false;
	}
	switch (f->type) {
	case F_CLUSTER:
		if (!config_valid_cluster_name(s)) {
			yamlwalk_error(w, &ev->start_mark, path,
			    "\"%s\" is not a valid cluster "
			    "name (1-%d of A-Z a-z 0-9 _ . -)",
			    shown, RAFTCONF_MAX_CLUSTER_NAME);
			return false;
		}
		break;
	case F_ID:
		if (!config_valid_id(s)) {
			yamlwalk_error(w, &ev->start_mark, path,
			    "\"%s\" is not a valid node id "
			    "(1-%d of A-Z a-z 0-9 _ -)",
			    shown, RAFTCONF_MAX_ID);
			return false;
		}
		break;
	case F_ADDRESS:
		if (addr_parse(s, NULL, 0, NULL, e, sizeof(e)) < 0) {
			yamlwalk_error(w, &ev->start_mark, path, "%s", e);
			return false;
		}
		break;
	case F_LISTEN:
		/* Exactly what peer_listen() and http_open() will bind. */
		if (addr_parse_listen(s, NULL, NULL, e, sizeof(e)) < 0) {
			yamlwalk_error(w, &ev->start_mark, path, "%s", e);
			return false;
		}
		break;
	case F_PATH:
	case F_SOCKET:
		if (s[0] != '/') {
			yamlwalk_error(w, &ev->start_mark, path,
			    "\"%s\" is not an absolute path (the daemon runs from /)", shown);
			return false;
		}
		if (len > RAFTCONF_MAX_PATH) {
			yamlwalk_error(w, &ev->start_mark, path,
			    "path is %zu bytes long (at most %d)", len, RAFTCONF_MAX_PATH);
			return false;
		}
		/* bind(2) would fail much later with a vaguer message. */
		if (f->type == F_SOCKET && len >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			yamlwalk_error(w, &ev->start_mark, path,
			    "path is %zu bytes long; a Unix socket path is at most %zu", len,
			    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return false;
		}
		break;
	case F_GROUP:
		/* A group the socket's readers are in: it must exist here. */
		if (len == 0 || len > CONFIG_MAX_GROUP || getgrnam(s) == NULL) {
			yamlwalk_error(w, &ev->start_mark, path,
			    "no group named \"%s\" on this host (make it with groupadd)", shown);
			return false;
		}
		break;
	case F_LOGLEVEL:
		level = config_log_level_from_name(s);
		if (level < 0) {
			yamlwalk_error(w, &ev->start_mark, path,
			    "unknown log level \"%s\" "
			    "(expected debug, info, notice, warning or err)",
			    shown);
			return false;
		}
		*(int *)dst = level;
		return true;
	default:
		return false;
	}
	if (len >= f->size) {
		/* The checks above bound every length; this is a backstop. */
		yamlwalk_error(w, &ev->start_mark, path, "\"%s\" is too long", shown);
		return false;
	}
	memcpy(dst, s, len + 1);
	return true;
}

static bool parse_mapping(struct parse *p, const struct field *fields, size_t n, void *obj,
    const char *path, struct seen *seen, yaml_mark_t *mark);
static bool parse_members(struct parse *p, const char *path);

/*
 * The current event starts the value of field f.  Consume exactly that node.
 * Returns false when reading must stop; a bad value alone is not a reason.
 */
static bool
parse_value(struct parse *p, const struct field *f, void *obj, const char *path, struct seen *seen)
{
	struct yamlwalk *w = &p->w;
	yaml_event_t *ev = &w->ev;
	uint64_t v;

	if (ev->type == YAML_ALIAS_EVENT)
		return true; /* already reported by next() */
	if (f->type == F_SECTION || f->type == F_MEMBERS) {
		yaml_event_type_t want =
		    f->type == F_SECTION ? YAML_MAPPING_START_EVENT : YAML_SEQUENCE_START_EVENT;

		if (ev->type == want) {
			seen->valid = true;
			if (f->type == F_MEMBERS)
				return parse_members(p, path);
			p->sec_present[f->section] = true;
			return parse_mapping(p, sections[f->section].f, sections[f->section].n, obj,
			    path, p->seen[f->section], &p->sec_mark[f->section]);
		}
		/* An optional section left empty, keys commented out, is absent. */
		if (yamlwalk_is_null(ev) && !f->required)
			return true;
		yamlwalk_error(w, &ev->start_mark, path, "expected %s, got %s",
		    field_expects(f->type),
		    yamlwalk_is_null(ev) ? "an empty value" : yamlwalk_kind(ev));
		return yamlwalk_skip(w, path);
	}
	if (ev->type != YAML_SCALAR_EVENT) {
		yamlwalk_error(w, &ev->start_mark, path, "expected %s, got %s",
		    field_expects(f->type), yamlwalk_kind(ev));
		return yamlwalk_skip(w, path);
	}
	if (yamlwalk_is_null(ev) || ev->data.scalar.length == 0) {
		yamlwalk_error(
		    w, &ev->start_mark, path, "empty value (expected %s)", field_expects(f->type));
		return true;
	}
	switch (f->type) {
	case F_U32:
		if (parse_uint(p, f, path, &v)) {
			*(uint32_t *)(void *)((char *)obj + f->off) = (uint32_t)v;
			seen->valid = true;
		}
		break;
	case F_U64:
		if (parse_uint(p, f, path, &v)) {
			*(uint64_t *)(void *)((char *)obj + f->off) = v;
			seen->valid = true;
		}
		break;
	default:
		seen->valid = parse_text(p, f, obj, path);
		break;
	}
	return !w->fatal;
}

/*
 * The current event is MAPPING_START.  Read its keys against fields, filling
 * obj and seen[], and leave MAPPING_END current.  *mark receives where the
 * mapping is, for errors about what it lacks.
 */
static bool
parse_mapping(struct parse *p, const struct field *fields, size_t n, void *obj, const char *path,
    struct seen *seen, yaml_mark_t *mark)
{
	struct yamlwalk *w = &p->w;
	char key[ERRBUF_QUOTE_SIZE], sub[PATH_MAX_LEN];
	const char *k, *best;
	yaml_mark_t km;
	size_t i, d, bestd;

	*mark = w->ev.start_mark;
	for (;;) {
		if (!yamlwalk_next(w, path))
			return false;
		if (w->ev.type == YAML_MAPPING_END_EVENT)
			break;
		km = w->ev.start_mark;
		if (w->ev.type != YAML_SCALAR_EVENT) {
			if (w->ev.type != YAML_ALIAS_EVENT)
				yamlwalk_error(w, &km, path, "a key must be a plain word, not %s",
				    yamlwalk_kind(&w->ev));
			if (!yamlwalk_skip(w, path) || !yamlwalk_next(w, path) ||
			    !yamlwalk_skip(w, path))
				return false;
			continue;
		}
		k = (const char *)w->ev.data.scalar.value;
		for (i = 0; i < n; i++)
			if (strcmp(k, fields[i].name) == 0 && strlen(k) == w->ev.data.scalar.length)
				break;
		if (i == n) {
			errbuf_quote(key, sizeof(key), k, w->ev.data.scalar.length);
			best = NULL;
			bestd = 3; /* suggest only close misspellings */
			for (i = 0; i < n; i++) {
				d = distance(k, fields[i].name);
				/* "heartbeat" for "heartbeat_ms": a unit left out. */
				if (strlen(k) >= 4 && strncmp(k, fields[i].name, strlen(k)) == 0)
					d = 1;
				if (d < bestd) {
					bestd = d;
					best = fields[i].name;
				}
			}
			if (best != NULL)
				yamlwalk_error(w, &km, path,
				    "unknown key \"%s\" (did you mean \"%s\"?)", key, best);
			else
				yamlwalk_error(w, &km, path, "unknown key \"%s\"", key);
			if (!yamlwalk_next(w, path) || !yamlwalk_skip(w, path))
				return false;
			continue;
		}
		child_path(sub, sizeof(sub), path, fields[i].name);
		if (seen[i].present) {
			yamlwalk_error(w, &km, path, "duplicate key \"%s\" (first at line %zu)",
			    fields[i].name, seen[i].key.line + 1);
			if (!yamlwalk_next(w, sub) || !yamlwalk_skip(w, sub))
				return false;
			continue;
		}
		seen[i].present = true;
		seen[i].key = km;
		if (!yamlwalk_next(w, sub))
			return false;
		seen[i].value = w->ev.start_mark;
		if (!parse_value(p, &fields[i], obj, sub, &seen[i]))
			return false;
	}
	for (i = 0; i < n; i++)
		if (fields[i].required && !seen[i].present)
			yamlwalk_error(
			    w, mark, path, "missing required key \"%s\"", fields[i].name);
	return !w->fatal;
}

/* Duplicate ids and addresses, against the members read before this one. */
static void
check_member(struct parse *p, size_t idx, const char *path)
{
	struct yamlwalk *w = &p->w;
	struct member_state *ms = &p->mem[idx], *o;
	char sub[PATH_MAX_LEN], shown[ERRBUF_QUOTE_SIZE];
	size_t j;

	if (ms->seen[MEMBER_ID].valid) {
		for (j = 0; j < idx; j++) {
			o = &p->mem[j];
			if (o->seen[MEMBER_ID].valid && strcmp(o->m.id, ms->m.id) == 0) {
				child_path(sub, sizeof(sub), path, "id");
				yamlwalk_error(w, &ms->seen[MEMBER_ID].value, sub,
				    "duplicate id \"%s\" (first at line %zu)",
				    errbuf_quote(shown, sizeof(shown), ms->m.id, strlen(ms->m.id)),
				    o->seen[MEMBER_ID].value.line + 1);
				break;
			}
		}
	}
	if (ms->seen[MEMBER_ADDRESS].valid) {
		for (j = 0; j < idx; j++) {
			o = &p->mem[j];
			if (o->seen[MEMBER_ADDRESS].valid &&
			    addr_same(o->m.address, ms->m.address)) {
				child_path(sub, sizeof(sub), path, "address");
				yamlwalk_error(w, &ms->seen[MEMBER_ADDRESS].value, sub,
				    "duplicate address \"%s\" (first at line %zu, members[%zu])",
				    errbuf_quote(
					shown, sizeof(shown), ms->m.address, strlen(ms->m.address)),
				    o->seen[MEMBER_ADDRESS].value.line + 1, j);
				break;
			}
		}
	}
}

/* The current event is SEQUENCE_START of members; leave SEQUENCE_END current. */
static bool
parse_members(struct parse *p, const char *path)
{
	struct yamlwalk *w = &p->w;
	struct member_state *ms;
	char sub[PATH_MAX_LEN];
	yaml_mark_t mark;
	size_t idx;

	for (idx = 0;; idx++) {
		if (!yamlwalk_next(w, path))
			return false;
		if (w->ev.type == YAML_SEQUENCE_END_EVENT)
			return true;
		path_printf(sub, sizeof(sub), "%s[%zu]", path, idx);
		if (idx >= RAFTCONF_MAX_MEMBERS) {
			if (!p->too_many_members)
				yamlwalk_error(w, &w->ev.start_mark, sub, "more than %d members",
				    RAFTCONF_MAX_MEMBERS);
			p->too_many_members = true;
			if (!yamlwalk_skip(w, sub))
				return false;
			continue;
		}
		if (w->ev.type != YAML_MAPPING_START_EVENT) {
			if (w->ev.type != YAML_ALIAS_EVENT)
				yamlwalk_error(w, &w->ev.start_mark, sub,
				    "expected a mapping {id, address}, got %s",
				    yamlwalk_is_null(&w->ev) ? "an empty value"
							     : yamlwalk_kind(&w->ev));
			if (!yamlwalk_skip(w, sub))
				return false;
			continue;
		}
		if (p->nmem == p->capmem) {
			size_t cap = p->capmem ? 2 * p->capmem : 8;

			ms = realloc(p->mem, cap * sizeof(*ms));
			if (ms == NULL) {
				w->err = -ENOMEM;
				w->fatal = true;
				return false;
			}
			p->mem = ms;
			p->capmem = cap;
		}
		ms = &p->mem[p->nmem++];
		memset(ms, 0, sizeof(*ms));
		if (!parse_mapping(p, member_fields, MEMBER_N, &ms->m, sub, ms->seen, &mark))
			return false;
		check_member(p, p->nmem - 1, sub);
	}
}

/* ---------------------------------------------------- the whole file */

static void
parse_stream(struct parse *p)
{
	struct yamlwalk *w = &p->w;

	/* STREAM-START, then a document or the end */
	if (!yamlwalk_next(w, "") || !yamlwalk_next(w, ""))
		return;
	if (w->ev.type == YAML_STREAM_END_EVENT) {
		yaml_mark_t top = { 0, 0, 0 };

		yamlwalk_error(w, &top, "",
		    "the file is empty or holds only comments; expected a mapping with "
		    "cluster, node and members");
		return;
	}
	if (!yamlwalk_next(w, ""))
		return;
	if (w->ev.type == YAML_MAPPING_START_EVENT) {
		p->sec_present[SEC_ROOT] = true;
		if (!parse_mapping(p, root_fields, ROOT_N, p->c, "", p->seen[SEC_ROOT],
			&p->sec_mark[SEC_ROOT]))
			return;
	} else {
		yamlwalk_error(w, &w->ev.start_mark, "",
		    "the document is %s; expected a mapping with cluster, node and members",
		    yamlwalk_is_null(&w->ev) ? "empty" : yamlwalk_kind(&w->ev));
		if (!yamlwalk_skip(w, ""))
			return;
	}
	/* DOCUMENT-END, then the end or another */
	if (!yamlwalk_next(w, "") || !yamlwalk_next(w, ""))
		return;
	if (w->ev.type == YAML_DOCUMENT_START_EVENT)
		yamlwalk_error(w, &w->ev.start_mark, "",
		    "more than one YAML document; the configuration is a single document");
}

static const struct member_state *
find_member_state(const struct parse *p, const char *id)
{
	size_t i;

	for (i = 0; i < p->nmem; i++)
		if (p->mem[i].seen[MEMBER_ID].valid && strcmp(p->mem[i].m.id, id) == 0)
			return &p->mem[i];
	return NULL;
}

const char *
config_pos_key(enum config_pos which)
{
	static const char *const names[CONFIG_POS_N] = {
		[CONFIG_POS_TLS_CA] = "tls.ca",
		[CONFIG_POS_TLS_CERT] = "tls.cert",
		[CONFIG_POS_TLS_KEY] = "tls.key",
		[CONFIG_POS_TLS_CRL] = "tls.crl",
		[CONFIG_POS_HTTP_CERT] = "http.cert",
		[CONFIG_POS_HTTP_KEY] = "http.key",
	};

	return (unsigned)which < CONFIG_POS_N ? names[which] : "?";
}

static void
keep_pos(struct config *c, enum config_pos which, const struct seen *s)
{
	if (s->valid) {
		c->pos[which].line = (unsigned)s->value.line + 1;
		c->pos[which].col = (unsigned)s->value.column + 1;
	}
}

/* What no single key can tell: defaults from other keys, and consistency. */
static void
cross_check(struct parse *p)
{
	struct yamlwalk *w = &p->w;
	struct config *c = p->c;
	struct seen *node = p->seen[SEC_NODE], *raft = p->seen[SEC_RAFT];
	struct seen *http = p->seen[SEC_HTTP];
	const struct member_state *self = NULL;
	char shown[ERRBUF_QUOTE_SIZE], other[ERRBUF_QUOTE_SIZE];
	size_t i;

	if (!p->sec_present[SEC_NODE])
		return; /* its absence is already reported */
	if (node[NODE_ID].valid)
		self = find_member_state(p, c->node_id);
	c->self_listed = self != NULL;

	if (node[NODE_ADDRESS].valid && self != NULL && self->seen[MEMBER_ADDRESS].valid &&
	    !addr_same(c->address, self->m.address)) {
		yamlwalk_error(w, &node[NODE_ADDRESS].value, "node.address",
		    "\"%s\" differs from this node's members entry \"%s\" (line %zu)",
		    errbuf_quote(shown, sizeof(shown), c->address, strlen(c->address)),
		    errbuf_quote(other, sizeof(other), self->m.address, strlen(self->m.address)),
		    self->seen[MEMBER_ADDRESS].value.line + 1);
	} else if (node[NODE_ADDRESS].valid && self == NULL) {
		for (i = 0; i < p->nmem; i++) {
			if (p->mem[i].seen[MEMBER_ADDRESS].valid &&
			    addr_same(c->address, p->mem[i].m.address)) {
				yamlwalk_error(w, &node[NODE_ADDRESS].value, "node.address",
				    "\"%s\" is already the address of member \"%s\" "
				    "(members[%zu], line %zu)",
				    errbuf_quote(
					shown, sizeof(shown), c->address, strlen(c->address)),
				    p->mem[i].m.id, i,
				    p->mem[i].seen[MEMBER_ADDRESS].value.line + 1);
				break;
			}
		}
	} else if (!node[NODE_ADDRESS].present && self != NULL) {
		if (self->seen[MEMBER_ADDRESS].valid)
			memcpy(c->address, self->m.address, sizeof(c->address));
	} else if (!node[NODE_ADDRESS].present && node[NODE_ID].valid) {
		yamlwalk_error(w, &p->sec_mark[SEC_NODE], "node",
		    "missing required key \"address\" (node \"%s\" is not listed in members)",
		    c->node_id);
	}
	if (!node[NODE_LISTEN].present)
		memcpy(c->listen, c->address, sizeof(c->listen));

	if (raft[RAFT_HEARTBEAT].valid || raft[RAFT_ELECTION].valid) {
		bool hb_ok = raft[RAFT_HEARTBEAT].valid || !raft[RAFT_HEARTBEAT].present;
		bool el_ok = raft[RAFT_ELECTION].valid || !raft[RAFT_ELECTION].present;
		uint64_t need = (uint64_t)CONFIG_ELECTION_HEARTBEAT_RATIO * c->heartbeat_ms;

		/* A follower must hear several beats before it gives up on a leader. */
		if (hb_ok && el_ok && c->election_ms < need) {
			if (raft[RAFT_ELECTION].present)
				yamlwalk_error(w, &raft[RAFT_ELECTION].value, "raft.election_ms",
				    "%u must be at least %d \xc3\x97 heartbeat_ms (%u)",
				    c->election_ms, CONFIG_ELECTION_HEARTBEAT_RATIO,
				    c->heartbeat_ms);
			else
				yamlwalk_error(w, &raft[RAFT_HEARTBEAT].value, "raft.heartbeat_ms",
				    "%u is too long for election_ms (%u, the default), "
				    "which must be at least %d \xc3\x97 heartbeat_ms; "
				    "set election_ms too",
				    c->heartbeat_ms, c->election_ms,
				    CONFIG_ELECTION_HEARTBEAT_RATIO);
		}
	}

	if (http[HTTP_CERT].present != http[HTTP_KEY].present)
		yamlwalk_error(w,
		    http[HTTP_CERT].present ? &http[HTTP_CERT].key : &http[HTTP_KEY].key,
		    http[HTTP_CERT].present ? "http.cert" : "http.key",
		    "HTTPS needs both http.cert and http.key");
	if (http[HTTP_CERT].present && !http[HTTP_LISTEN].present)
		yamlwalk_error(w, &http[HTTP_CERT].key, "http.cert",
		    "http.cert without http.listen: there is no HTTP API to serve over HTTPS");
	keep_pos(c, CONFIG_POS_HTTP_CERT, &http[HTTP_CERT]);
	keep_pos(c, CONFIG_POS_HTTP_KEY, &http[HTTP_KEY]);
	keep_pos(c, CONFIG_POS_TLS_CA, &p->seen[SEC_TLS][TLS_CA]);
	keep_pos(c, CONFIG_POS_TLS_CERT, &p->seen[SEC_TLS][TLS_CERT]);
	keep_pos(c, CONFIG_POS_TLS_KEY, &p->seen[SEC_TLS][TLS_KEY]);
	keep_pos(c, CONFIG_POS_TLS_CRL, &p->seen[SEC_TLS][TLS_CRL]);

	if (http[HTTP_LISTEN].valid && c->listen[0] != '\0' &&
	    addr_bind_conflict(c->http_listen, c->listen))
		yamlwalk_error(w, &http[HTTP_LISTEN].value, "http.listen",
		    "\"%s\" is also where the node listens for peers (%s)",
		    errbuf_quote(shown, sizeof(shown), c->http_listen, strlen(c->http_listen)),
		    errbuf_quote(other, sizeof(other), c->listen, strlen(c->listen)));
}

static void
set_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->data_dir, sizeof(c->data_dir), "%s", RAFTCONF_DEFAULT_DATA_DIR);
	snprintf(c->socket, sizeof(c->socket), "%s", RAFTCONF_DEFAULT_SOCKET);
	c->log_level = LOG_INFO;
	c->ready_timeout_ms = CONFIG_DEFAULT_READY_TIMEOUT_MS;
	c->heartbeat_ms = CONFIG_DEFAULT_HEARTBEAT_MS;
	c->election_ms = CONFIG_DEFAULT_ELECTION_MS;
	c->snapshot_every = CONFIG_DEFAULT_SNAPSHOT_EVERY;
	c->snapshot_log_percent = CONFIG_DEFAULT_SNAPSHOT_LOG_PERCENT;
	c->snapshot_pile_mb = CONFIG_DEFAULT_SNAPSHOT_PILE_MB;
	c->lag_warn_ms = CONFIG_DEFAULT_LAG_WARN_MS;
	c->relay_after = CONFIG_DEFAULT_RELAY_AFTER;
	c->history_revisions = CONFIG_DEFAULT_HISTORY_REVISIONS;
	c->history_bytes = CONFIG_DEFAULT_HISTORY_BYTES;
}

int
config_load_string(
    const char *name, const char *buf, size_t len, struct config *out, struct config_errors *errs)
{
	struct parse p;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	memset(errs, 0, sizeof(*errs));
	if (len > RAFTCONF_MAX_CONFIG_BYTES) {
		r = yamlwalk_file_error(errs, name, "file is %zu bytes; the limit is %d", len,
		    RAFTCONF_MAX_CONFIG_BYTES);
		return r < 0 ? r : -EINVAL;
	}
	memset(&p, 0, sizeof(p));
	if (yamlwalk_open(&p.w, name, buf, len, errs) < 0)
		return -ENOMEM;
	p.c = out;
	set_defaults(out);

	parse_stream(&p);
	if (!p.w.fatal)
		cross_check(&p);
	yamlwalk_close(&p.w);

	r = p.w.err;
	if (r == 0 && errs->n > 0)
		r = -EINVAL;
	if (r == 0 && p.nmem > 0) {
		out->members = calloc(p.nmem, sizeof(*out->members));
		if (out->members == NULL) {
			r = -ENOMEM;
		} else {
			for (i = 0; i < p.nmem; i++)
				out->members[i] = p.mem[i].m;
			out->nmembers = p.nmem;
		}
	}
	free(p.mem);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	yamlwalk_sort_errors(errs);
	return r;
}

int
config_load(const char *path, struct config *out, struct config_errors *errs)
{
	size_t cap, len = 0;
	struct stat st;
	char *buf = NULL, *nb;
	ssize_t got;
	int fd, r;

	memset(out, 0, sizeof(*out));
	memset(errs, 0, sizeof(*errs));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		goto fail_errno;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail_errno;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto fail_errno;
	}
	/* Say it is too large without reading a huge file; pipes are read up to the cap. */
	if (S_ISREG(st.st_mode) && st.st_size > RAFTCONF_MAX_CONFIG_BYTES) {
		r = yamlwalk_file_error(errs, path, "file is %lld bytes; the limit is %d",
		    (long long)st.st_size, RAFTCONF_MAX_CONFIG_BYTES);
		r = r < 0 ? r : -EINVAL;
		goto out;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(cap);
	if (buf == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap > RAFTCONF_MAX_CONFIG_BYTES) {
				r = yamlwalk_file_error(errs, path,
				    "file is larger than the limit of %d bytes",
				    RAFTCONF_MAX_CONFIG_BYTES);
				r = r < 0 ? r : -EINVAL;
				goto out;
			}
			cap = cap * 2 > RAFTCONF_MAX_CONFIG_BYTES + 1
			    ? RAFTCONF_MAX_CONFIG_BYTES + 1
			    : cap * 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			goto fail_errno;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	r = config_load_string(path, buf, len, out, errs);
	goto out;

fail_errno:
	if (yamlwalk_file_error(errs, path, "%s", strerror(-r)) < 0)
		r = -ENOMEM;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->members);
	c->members = NULL;
	c->nmembers = 0;
}

void
config_errors_free(struct config_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->v[i].msg);
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

const struct config_member *
config_find_member(const struct config *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->nmembers; i++)
		if (strcmp(c->members[i].id, id) == 0)
			return &c->members[i];
	return NULL;
}
