/*
 * config.h — raftconfd.yaml, read and validated.
 *
 * The contract: config_load() either fills a struct config whose every field
 * is valid and whose defaults are applied, or fills a struct config_errors with
 * every problem it found in the file, each as
 *
 *	FILE:LINE:COL: field.path: message
 *
 * (1-based line and column of the offending YAML node; the path is omitted
 * for problems of the whole file, such as a syntax error).  Sequence indexes
 * in paths count from 0: members[0] is the first member.
 *
 * Beyond the schema (see etc/raftconfd.yaml and DESIGN.md): unknown and
 * duplicate keys are errors; integers are plain decimal (a quoted "100" is a
 * string and refused); an optional section (members, raft, http, tls, history) written
 * but left empty counts as absent, while a scalar key left empty is an error;
 * data_dir and socket are absolute, and socket fits sockaddr_un; node.address,
 * when the node is listed in members, must equal its entry there (compared as
 * addresses: IP literals by value, host names without regard to case), and a
 * spare node's address must not be a member's; node.listen and http.listen,
 * when written, are IP addresses, exactly as the daemon binds them
 * (addr_parse_listen in addr.h), while addresses peers dial may be host
 * names; http.listen must not collide with node.listen; election_ms >= 5 ×
 * heartbeat_ms; http.cert and http.key come together, with http.listen;
 * tls needs ca, cert and key.  The TLS files themselves are read and judged
 * by tls.h (tls_peer_ctx_new and the rest), which reports at the
 * positions kept in pos[].
 *
 * The file is trusted no more than a network packet: its size is capped at
 * RAFTCONF_MAX_CONFIG_BYTES, nesting at RAFTCONF_MAX_CONFIG_DEPTH, members at
 * RAFTCONF_MAX_MEMBERS, errors at RAFTCONF_MAX_CONFIG_ERRORS; anchors, aliases
 * and tags are refused outright, so an alias bomb costs nothing.
 *
 * Blocking: config_load() reads a file; call it at start-up or on SIGHUP,
 * never from a latency-sensitive callback.  Not thread-safe per object.
 */
#ifndef RAFTCONF_CONFIG_H
#define RAFTCONF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#ifndef RAFTCONF_DEFAULT_DATA_DIR
#define RAFTCONF_DEFAULT_DATA_DIR "/var/lib/raftconfd"
#endif
#ifndef RAFTCONF_DEFAULT_SOCKET
#define RAFTCONF_DEFAULT_SOCKET "/run/raftconfd/raftconfd.sock"
#endif

/* Defaults and ranges of the numeric keys (ranges are inclusive). */
#define CONFIG_DEFAULT_READY_TIMEOUT_MS 60000
#define CONFIG_MAX_READY_TIMEOUT_MS	3600000
#define CONFIG_DEFAULT_HEARTBEAT_MS	100
#define CONFIG_MIN_HEARTBEAT_MS		10
#define CONFIG_MAX_HEARTBEAT_MS		10000
#define CONFIG_DEFAULT_ELECTION_MS	1000
#define CONFIG_MIN_ELECTION_MS		50
#define CONFIG_MAX_ELECTION_MS		60000
/* election_ms >= this × heartbeat_ms, or followers time out between beats. */
#define CONFIG_ELECTION_HEARTBEAT_RATIO 5
/* raft.lag_warn_ms: a learner this far behind the leader is logged. */
#define CONFIG_DEFAULT_LAG_WARN_MS 1000
#define CONFIG_MIN_LAG_WARN_MS	   100
#define CONFIG_MAX_LAG_WARN_MS	   3600000
/* raft.relay_after: learners the leader feeds itself before relays feed the
 * others (issue 17; raft.h, "Relays"). */
#define CONFIG_DEFAULT_RELAY_AFTER 64
/* node.read_group: a group name as groupadd(8) takes it. */
#define CONFIG_MAX_GROUP	      32
#define CONFIG_DEFAULT_SNAPSHOT_EVERY 10000
#define CONFIG_MIN_SNAPSHOT_EVERY     100
#define CONFIG_MAX_SNAPSHOT_EVERY     100000000
/* raft.snapshot_log_percent: a periodic snapshot waits for a log since the
 * last one of this share of its size (0: snapshot_every alone decides). */
#define CONFIG_DEFAULT_SNAPSHOT_LOG_PERCENT 25
#define CONFIG_MAX_SNAPSHOT_LOG_PERCENT	    10000
/* raft.snapshot_pile_mb: what the store may pile up in memory while a
 * snapshot's writer reads its file, MiB; past it applying waits. */
#define CONFIG_DEFAULT_SNAPSHOT_PILE_MB 256
#define CONFIG_MIN_SNAPSHOT_PILE_MB	1
#define CONFIG_MAX_SNAPSHOT_PILE_MB	65536
/* history: the changes watch --from-rev can replay (store.h). */
#define CONFIG_DEFAULT_HISTORY_REVISIONS 10000
#define CONFIG_MIN_HISTORY_REVISIONS	 1
#define CONFIG_MAX_HISTORY_REVISIONS	 100000000
#define CONFIG_DEFAULT_HISTORY_BYTES	 (16ULL * 1024 * 1024)
#define CONFIG_MIN_HISTORY_BYTES	 (1024ULL * 1024)
#define CONFIG_MAX_HISTORY_BYTES	 (64ULL * 1024 * 1024 * 1024)

struct config_member {
	char id[RAFTCONF_MAX_ID + 1];
	char address[RAFTCONF_MAX_ADDRESS + 1]; /* "host:port", as written */
};

/* Where a key's value is written, for messages about what it names (the
 * TLS files are judged after the file is read: tls.h). */
enum config_pos {
	CONFIG_POS_TLS_CA,
	CONFIG_POS_TLS_CERT,
	CONFIG_POS_TLS_KEY,
	CONFIG_POS_TLS_CRL,
	CONFIG_POS_HTTP_CERT,
	CONFIG_POS_HTTP_KEY,
	CONFIG_POS_N
};

/* The key a position names, as a message says it: "tls.ca", "http.key", ... */
const char *config_pos_key(enum config_pos which);

struct config {
	char cluster[RAFTCONF_MAX_CLUSTER_NAME + 1];
	char node_id[RAFTCONF_MAX_ID + 1];
	char address[RAFTCONF_MAX_ADDRESS + 1]; /* where peers reach us */
	char listen[RAFTCONF_MAX_ADDRESS + 1];	/* what we bind: an IP address, or
							 * by default address (resolved
							 * at start if a host name) */
	char data_dir[RAFTCONF_MAX_PATH + 1];	/* absolute */
	char socket[RAFTCONF_MAX_PATH + 1];	/* absolute, fits sun_path */
	int log_level;				/* LOG_ERR..LOG_DEBUG (syslog.h) */
	uint32_t ready_timeout_ms;
	char read_group[CONFIG_MAX_GROUP + 1]; /* "": none; else may only read */
	uint32_t heartbeat_ms;
	uint32_t election_ms; /* >= 5 × heartbeat_ms */
	uint64_t snapshot_every;
	uint32_t snapshot_log_percent; /* of the last snapshot's size */
	uint32_t snapshot_pile_mb;
	uint32_t lag_warn_ms;	    /* a learner this far behind is logged */
	uint32_t relay_after;	    /* learners the leader feeds before relays do */
	uint64_t history_revisions; /* history: changes kept for watch --from-rev */
	uint64_t history_bytes;
	char http_listen[RAFTCONF_MAX_ADDRESS + 1]; /* "" = no HTTP API */
	char http_cert[RAFTCONF_MAX_PATH + 1];	    /* both or neither: HTTPS */
	char http_key[RAFTCONF_MAX_PATH + 1];
	/* tls: "" = plain TCP between peers; else ca, cert and key are set. */
	char tls_ca[RAFTCONF_MAX_PATH + 1];
	char tls_cert[RAFTCONF_MAX_PATH + 1];
	char tls_key[RAFTCONF_MAX_PATH + 1];
	char tls_crl[RAFTCONF_MAX_PATH + 1]; /* "" = none */
	struct {
		unsigned line, col; /* 1-based; 0 when the key is absent */
	} pos[CONFIG_POS_N];
	size_t nmembers;	       /* 0 for a spare node */
	struct config_member *members; /* owned; NULL when nmembers is 0 */
	bool self_listed;	       /* node_id is one of members */
	bool force_new_cluster;	       /* raftconfd --force-new-cluster (not in the file) */
};

struct config_error {
	unsigned line, col; /* 1-based; 0 when the problem has no position */
	char *msg;	    /* owned: the whole "FILE:LINE:COL: path: message" */
};

struct config_errors {
	size_t n;
	struct config_error *v; /* owned; sorted by position */
};

/*
 * Read and validate the YAML file at path.
 * Returns 0 and fills *out (release with config_free), or
 *   -EINVAL: the file is not a valid configuration; *errs lists every problem;
 *   -errno:  the file could not be read (errs holds "FILE: strerror");
 *   -ENOMEM.
 * On failure *out is left zeroed (config_free on it is harmless).  errs must
 * be released with config_errors_free whatever the result.
 */
int config_load(const char *path, struct config *out, struct config_errors *errs);

/* The same on a buffer in memory; name stands for FILE in messages. */
int config_load_string(
    const char *name, const char *buf, size_t len, struct config *out, struct config_errors *errs);

void config_free(struct config *c);
void config_errors_free(struct config_errors *errs);

/* The member with this id, or NULL.  The pointer lives as long as c. */
const struct config_member *config_find_member(const struct config *c, const char *id);

/* [A-Za-z0-9_-]{1,RAFTCONF_MAX_ID}: node ids. */
bool config_valid_id(const char *s);
/* [A-Za-z0-9_.-]{1,RAFTCONF_MAX_CLUSTER_NAME}: cluster names. */
bool config_valid_cluster_name(const char *s);

/* "debug" -> LOG_DEBUG ... "err" -> LOG_ERR; -1 for any other name. */
int config_log_level_from_name(const char *name);
/* The inverse; "?" for a level outside LOG_ERR..LOG_DEBUG. */
const char *config_log_level_name(int level);

#endif
