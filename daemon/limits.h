/*
 * limits.h — every limit of raftconfd, in one place.
 *
 * Each constant here is documented in raftconfd(8) and raftconfd.yaml(5);
 * change both together.  Decoders check every length against these before
 * they allocate or copy a byte.
 */
#ifndef RAFTCONF_LIMITS_H
#define RAFTCONF_LIMITS_H

/* Keys: a path such as "/app/db/host"; printable, no NUL. */
#define RAFTCONF_MAX_KEY 1024
/* Values: arbitrary bytes. */
#define RAFTCONF_MAX_VALUE (1024 * 1024)
/* Node ids: [A-Za-z0-9_-]{1,32}. */
#define RAFTCONF_MAX_ID 32
/* Cluster names: same alphabet as ids, a little longer. */
#define RAFTCONF_MAX_CLUSTER_NAME 64
/* "host:port" or "[v6]:port". */
#define RAFTCONF_MAX_ADDRESS 256
/* Members of one cluster, voters and learners together. */
#define RAFTCONF_MAX_MEMBERS 512
/* One frame on the peer port or the control socket, header included. */
#define RAFTCONF_MAX_FRAME (4 * 1024 * 1024)
/*
 * The peer port.  Connections that have not finished their handshake: a
 * new one closes the oldest beyond this.
 */
#define RAFTCONF_MAX_PEER_HANDSHAKES 64
/* Connections after the handshake from nodes that are not members: more
 * are refused. */
#define RAFTCONF_MAX_PEER_STRANGERS 128
/* Connections after the handshake from one node id: a new one closes the
 * oldest beyond this. */
#define RAFTCONF_MAX_CONNS_PER_ID 4
/* Bytes of unfinished frames held for all peer connections together,
 * beyond a small read-ahead each: a connection that needs more waits. */
#define RAFTCONF_PEER_FRAME_BUDGET (64 * 1024 * 1024)
/* Entries listed in one response; a longer listing is cut and says so. */
#define RAFTCONF_MAX_LIST 100000
/*
 * One deletion of a prefix (raftconfctl del --prefix, one log entry): at
 * most this many keys, whose names take at most this many bytes together;
 * over either, nothing is deleted and the answer says so.  So that the
 * entry's changes fit one watch answer (a frame) and one history record.
 */
#define RAFTCONF_MAX_DEL_PREFIX_KEYS  100000
#define RAFTCONF_MAX_DEL_PREFIX_BYTES (2 * 1024 * 1024)
/* Bytes of one InstallSnapshot chunk. */
#define RAFTCONF_SNAPSHOT_CHUNK (256 * 1024)
/*
 * Bytes of the snapshot file in one BACKUP_CHUNK (raftconfctl backup), and
 * how many bytes of them the daemon lets wait unread for one client.
 */
#define RAFTCONF_BACKUP_CHUNK  (256 * 1024)
#define RAFTCONF_BACKUP_WINDOW (1024 * 1024)
/* Backups streamed at once by one node; more are refused. */
#define RAFTCONF_MAX_BACKUPS 4
/* Human-readable error strings carried on the wire. */
#define RAFTCONF_MAX_ERROR 512
/*
 * STATUS replies: generic name/value pairs so that status can grow without a
 * protocol change.  Names are short words ("role"); values are printable text.
 */
#define RAFTCONF_MAX_STATUS_PAIRS 256
#define RAFTCONF_MAX_STATUS_NAME  64
#define RAFTCONF_MAX_STATUS_VALUE 1024
/*
 * raftconfctl status --cluster: the longest the node asked waits for the
 * other members' answers (raftconfctl asks for half its --timeout).
 */
#define RAFTCONF_MAX_STATUS_WAIT_MS (60 * 1000)
/*
 * A transaction (raftconfctl txn, POST /v1/txn): at most this many
 * compares, and at most this many operations in its two branches together.
 */
#define RAFTCONF_MAX_TXN_OPS 128
/*
 * A watch's wait for a change (POLL, ?watch&wait=): at most this long; a
 * longer wait asked over HTTP is cut to it.
 */
#define RAFTCONF_MAX_POLL_MS (5 * 60 * 1000)
/* HTTP tokens defined at once (raftconfctl token add). */
#define RAFTCONF_MAX_TOKENS 1000
/* Authentication proof in the peer handshake (reserved: empty for now). */
#define RAFTCONF_MAX_AUTH 64
/* Paths in the configuration (data_dir, socket). */
#define RAFTCONF_MAX_PATH 4096
/* YAML configuration file size and nesting; aliases are refused outright. */
#define RAFTCONF_MAX_CONFIG_BYTES (1024 * 1024)
#define RAFTCONF_MAX_CONFIG_DEPTH 16
/* Errors reported for one configuration file; parsing stops after this many. */
#define RAFTCONF_MAX_CONFIG_ERRORS 100

#endif
