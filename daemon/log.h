/*
 * log.h — the one logging API of raftconfd.
 *
 * Every module logs through the log_err() ... log_debug() macros below, or
 * their _f variants that carry structured Raft fields.  Lines go to the
 * systemd journal (with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_FILE,
 * CODE_LINE, CODE_FUNC, NODE_ID and the RAFT_TERM, RAFT_ROLE, RAFT_INDEX,
 * PEER_ID fields the caller knows) when the daemon runs under systemd, and
 * otherwise to stderr as one readable line:
 *
 *	2026-11-24T04:16:57.123Z raftconfd[4242] info: became leader  term=5 role=leader
 *
 * Promises: nothing is formatted for a message below the current level; no
 * allocation, ever (a message longer than LOG_MAX_MESSAGE bytes is cut and
 * ends with "…"); errno is preserved across every call, so
 * `log_err("open %s: %m", p); return -errno;` works.  Writing to stderr or to
 * the journal socket may block briefly if the reader is stuck; that is the
 * usual trade-off of synchronous logging.
 *
 * Not thread-safe: the daemon is one event loop in one thread.
 */
#ifndef RAFTCONF_LOG_H
#define RAFTCONF_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>
#include <sys/uio.h>
#include <time.h>

/* Bytes of one formatted message; longer ones are cut and end with "…". */
#define LOG_MAX_MESSAGE 2048
/* Longest value kept of any other field (file, function, role, peer, extra). */
#define LOG_MAX_FIELD_VALUE 256
/* Fields of one journal entry: the 11 named above plus one free field. */
#define LOG_MAX_FIELDS 12
/* Room for all of them: the message, and the rest at their longest. */
#define LOG_FIELDS_BYTES (LOG_MAX_MESSAGE + LOG_MAX_FIELDS * (LOG_MAX_FIELD_VALUE + 32))
/* One stderr line: time, ident, level, the message escaped, the fields. */
#define LOG_MAX_LINE (4 * LOG_MAX_MESSAGE + 1024)

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
};

/*
 * Structured fields a caller knows.  0 / NULL means absent (term 0 and index
 * 0 carry no news, so they are never logged).  The strings are only read
 * during the call.
 */
struct log_fields {
	uint64_t term;	  /* RAFT_TERM / term= */
	const char *role; /* RAFT_ROLE / role= ("leader", ...) */
	uint64_t index;	  /* RAFT_INDEX / index= */
	const char *peer; /* PEER_ID / peer= (the remote node's id) */
	/*
	 * One free field: name as the journal wants it ([A-Z0-9_], not starting
	 * with '_' or a digit, at most 64 bytes; an invalid name drops the
	 * field), value any text.  On stderr it shows as lowercase name=value.
	 */
	const char *extra_name;
	const char *extra_value;
};

/*
 * Choose the target and set ident (cut at 64 bytes) and level.
 *   RAFTCONF_LOG_TARGET=stderr|journal in the environment forces one;
 *   else the journal when JOURNAL_STREAM ("DEV:INODE") names fd 2, as
 *   systemd sets it for a service whose stderr goes to the journal;
 *   else the journal when fd 2 is closed or /dev/null and journald's socket
 *   (/run/systemd/journal/socket) exists;
 *   else stderr.
 * With the journal chosen and no journald listening, entries are dropped (as
 * sd_journal_sendv does); if sending fails otherwise, the line goes to stderr.
 * Before log_init() logging works: ident "raftconfd", LOG_INFO, stderr.
 */
void log_init(const char *ident, int level);

/* LOG_EMERG..LOG_DEBUG; returns -EINVAL and changes nothing otherwise. */
int log_set_level(int level);
int log_get_level(void);
/* Whether a message at prio would be written now. */
bool log_enabled(int prio);

/* The local node's id, sent as NODE_ID with every journal entry; NULL clears. */
void log_set_node_id(const char *id);

enum log_target log_get_target(void);
void log_set_target(enum log_target t);
/*
 * Where stderr lines go instead of fd 2 (tests: open_memstream, tmpfile).
 * NULL restores stderr.  The stream stays the caller's.
 */
void log_set_stream(FILE *f);

/* Do not call directly: use the macros, which fill file, line and func. */
void log_write(int prio, const char *file, int line, const char *func, const struct log_fields *f,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define LOG_WRITE_(prio, fields, ...) \
	log_write((prio), __FILE__, __LINE__, __func__, (fields), __VA_ARGS__)

#define log_err(...)	 LOG_WRITE_(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) LOG_WRITE_(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...)	 LOG_WRITE_(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...)	 LOG_WRITE_(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...)	 LOG_WRITE_(LOG_DEBUG, NULL, __VA_ARGS__)

/*
 * With fields, built in place by LOG_FIELDS (whose parentheses keep the
 * commas of the initializer away from the outer macro):
 *
 *	log_info_f(LOG_FIELDS(.term = t, .role = "leader"), "became leader");
 *	log_warning_f(LOG_FIELDS(.peer = id), "peer %s: %s", addr, why);
 *
 * A struct log_fields pointer of the caller's works as well.
 */
#define LOG_FIELDS(...)		   (&(const struct log_fields){ __VA_ARGS__ })

#define log_err_f(fields, ...)	   LOG_WRITE_(LOG_ERR, (fields), __VA_ARGS__)
#define log_warning_f(fields, ...) LOG_WRITE_(LOG_WARNING, (fields), __VA_ARGS__)
#define log_notice_f(fields, ...)  LOG_WRITE_(LOG_NOTICE, (fields), __VA_ARGS__)
#define log_info_f(fields, ...)	   LOG_WRITE_(LOG_INFO, (fields), __VA_ARGS__)
#define log_debug_f(fields, ...)   LOG_WRITE_(LOG_DEBUG, (fields), __VA_ARGS__)

/* ------------------------------------------------------------------------
 * The formatting steps, exposed so that tests can check them exactly.
 */

/* The journal fields of one entry, each a NUL-terminated "NAME=value". */
struct log_record {
	size_t n;
	struct iovec iov[LOG_MAX_FIELDS]; /* into buf; iov_len leaves out the NUL */
	char buf[LOG_FIELDS_BYTES];
};

/*
 * Fill r with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER (the current ident),
 * CODE_FILE, CODE_LINE, CODE_FUNC, NODE_ID when set, and the present fields
 * of f, in that order.  message is cut at LOG_MAX_MESSAGE, other values at
 * LOG_MAX_FIELD_VALUE, each ending with "…" when cut.  Returns r->n.
 */
int log_format_fields(struct log_record *r, int prio, const char *file, int line, const char *func,
    const struct log_fields *f, const char *message);

/*
 * The stderr line for a message at time ts, with its trailing newline.
 * Control characters of the message are escaped (\n, \t, \xNN), field
 * values with spaces, quotes or '=' are quoted.  Returns the length written
 * (< len; the line is cut with "…" to fit).
 */
size_t log_format_line(char *buf, size_t len, const struct timespec *ts, int prio,
    const char *message, const struct log_fields *f);

/* "err", "warning", ... for LOG_EMERG..LOG_DEBUG; "?" otherwise. */
const char *log_level_name(int prio);

#endif
