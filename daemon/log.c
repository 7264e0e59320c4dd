/*
 * log.c — where the daemon's log lines go, and how they look.
 *
 * For: one synchronous, allocation-free logging path used by every module,
 * writing structured entries to journald or readable lines to stderr.
 * Not for: deciding what is worth logging (callers do), rate limiting
 * (journald does it), or log files and rotation (use the journal).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* We send our own CODE_FILE/LINE/FUNC: those of the caller, not of this file. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "limits.h"
#include "log.h"

#define IDENT_MAX      64
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define ELLIPSIS       "\xe2\x80\xa6" /* … */
#define ELLIPSIS_LEN   3

static struct {
	char ident[IDENT_MAX + 1];
	int level;
	enum log_target target;
	FILE *stream; /* NULL: stderr */
	char node_id[RAFTCONF_MAX_ID + 1];
} g = {
	.ident = "raftconfd",
	.level = LOG_INFO,
	.target = LOG_TARGET_STDERR,
};

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg",
	[LOG_ALERT] = "alert",
	[LOG_CRIT] = "crit",
	[LOG_ERR] = "err",
	[LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

const char *
log_level_name(int prio)
{
	if (prio < LOG_EMERG || prio > LOG_DEBUG)
		return "?";
	return level_names[prio];
}

/*
 * Length of s[0..max) that ends on a UTF-8 character boundary, so a cut
 * never leaves half a character before the ellipsis.
 */
static size_t
utf8_cut(const char *s, size_t max)
{
	size_t n = max;

	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/*
 * Copy src into dst[0..size) with a NUL; if it does not fit, keep what fits
 * with "…" at the end.  Returns the length written.
 */
static size_t
copy_cut(char *dst, size_t size, const char *src, size_t srclen)
{
	size_t n;

	if (size == 0)
		return 0;
	if (srclen < size) {
		memcpy(dst, src, srclen);
		dst[srclen] = '\0';
		return srclen;
	}
	if (size <= ELLIPSIS_LEN) {
		dst[0] = '\0';
		return 0;
	}
	n = utf8_cut(src, size - 1 - ELLIPSIS_LEN);
	memcpy(dst, src, n);
	memcpy(dst + n, ELLIPSIS, ELLIPSIS_LEN);
	dst[n + ELLIPSIS_LEN] = '\0';
	return n + ELLIPSIS_LEN;
}

/* ---------------------------------------------------------- journal fields */

static bool
valid_field_name(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '_' || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 64)
			return false;
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

struct rec_writer {
	struct log_record *r;
	size_t used;
};

/* Append "NAME=value" with value cut at max bytes. */
static void
rec_add(struct rec_writer *w, const char *name, const char *value, size_t max)
{
	struct log_record *r = w->r;
	size_t nl = strlen(name), room, vl;
	char *p;

	if (r->n >= LOG_MAX_FIELDS)
		return;
	room = sizeof(r->buf) - w->used;
	/* name, '=', at least the ellipsis and NUL */
	if (room < nl + 2 + ELLIPSIS_LEN + 1)
		return;
	p = r->buf + w->used;
	memcpy(p, name, nl);
	p[nl] = '=';
	if (max + 1 > room - nl - 1)
		max = room - nl - 2;
	vl = copy_cut(p + nl + 1, max + 1, value, strlen(value));
	r->iov[r->n].iov_base = p;
	r->iov[r->n].iov_len = nl + 1 + vl;
	r->n++;
	w->used += nl + 1 + vl + 1;
}

static void
rec_add_u64(struct rec_writer *w, const char *name, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	rec_add(w, name, num, sizeof(num));
}

int
log_format_fields(struct log_record *r, int prio, const char *file, int line, const char *func,
    const struct log_fields *f, const char *message)
{
	struct rec_writer w = { r, 0 };
	char num[16];

	r->n = 0;
	rec_add(&w, "MESSAGE", message, LOG_MAX_MESSAGE);
	snprintf(num, sizeof(num), "%d", prio);
	rec_add(&w, "PRIORITY", num, sizeof(num));
	rec_add(&w, "SYSLOG_IDENTIFIER", g.ident, LOG_MAX_FIELD_VALUE);
	if (file != NULL)
		rec_add(&w, "CODE_FILE", file, LOG_MAX_FIELD_VALUE);
	if (line > 0) {
		snprintf(num, sizeof(num), "%d", line);
		rec_add(&w, "CODE_LINE", num, sizeof(num));
	}
	if (func != NULL)
		rec_add(&w, "CODE_FUNC", func, LOG_MAX_FIELD_VALUE);
	if (g.node_id[0] != '\0')
		rec_add(&w, "NODE_ID", g.node_id, LOG_MAX_FIELD_VALUE);
	if (f != NULL) {
		if (f->term != 0)
			rec_add_u64(&w, "RAFT_TERM", f->term);
		if (f->role != NULL)
			rec_add(&w, "RAFT_ROLE", f->role, LOG_MAX_FIELD_VALUE);
		if (f->index != 0)
			rec_add_u64(&w, "RAFT_INDEX", f->index);
		if (f->peer != NULL)
			rec_add(&w, "PEER_ID", f->peer, LOG_MAX_FIELD_VALUE);
		if (f->extra_value != NULL && valid_field_name(f->extra_name))
			rec_add(&w, f->extra_name, f->extra_value, LOG_MAX_FIELD_VALUE);
	}
	return (int)r->n;
}

/* ---------------------------------------------------------- stderr lines */

struct line_writer {
	char *buf;
	size_t len; /* of buf */
	size_t used;
	bool full;
};

/* Keep the last bytes for "…\n" and the NUL, so a cut line still ends well. */
#define LINE_RESERVE (ELLIPSIS_LEN + 2)

static void
lw_put(struct line_writer *w, const char *s, size_t n)
{
	size_t room;

	if (w->full)
		return;
	room = w->len - w->used - LINE_RESERVE;
	if (n > room) {
		n = utf8_cut(s, room);
		w->full = true;
	}
	memcpy(w->buf + w->used, s, n);
	w->used += n;
}

static void
lw_puts(struct line_writer *w, const char *s)
{
	lw_put(w, s, strlen(s));
}

/* One byte as the reader should see it: control characters escaped. */
static void
lw_put_escaped(struct line_writer *w, const char *s, bool quoted)
{
	char esc[8];

	for (; *s != '\0' && !w->full; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n') {
			lw_puts(w, "\\n");
		} else if (ch == '\t') {
			lw_puts(w, "\\t");
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			lw_puts(w, esc);
		} else if (quoted && (ch == '"' || ch == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)ch;
			lw_put(w, esc, 2);
		} else {
			lw_put(w, s, 1);
		}
	}
}

static void
lw_field(struct line_writer *w, const char *name, const char *value)
{
	bool quote = value[0] == '\0' || strpbrk(value, " \"=\\") != NULL;
	char lower[72];
	size_t i;

	/* RAFT_TERM-style names read better in lowercase on a terminal. */
	for (i = 0; name[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
	lower[i] = '\0';
	lw_puts(w, " ");
	lw_puts(w, lower);
	lw_puts(w, "=");
	if (quote)
		lw_puts(w, "\"");
	lw_put_escaped(w, value, quote);
	if (quote)
		lw_puts(w, "\"");
}

size_t
log_format_line(char *buf, size_t len, const struct timespec *ts, int prio, const char *message,
    const struct log_fields *f)
{
	struct line_writer w = { buf, len, 0, false };
	char tmp[IDENT_MAX + 96], num[24];
	struct tm tm;
	time_t secs = ts->tv_sec;

	if (len < 64) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	gmtime_r(&secs, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	lw_puts(&w, tmp);
	snprintf(tmp, sizeof(tmp), ".%03ldZ %s[%ld] %s: ", (long)(ts->tv_nsec / 1000000), g.ident,
	    (long)getpid(), log_level_name(prio));
	lw_puts(&w, tmp);
	lw_put_escaped(&w, message, false);
	if (f != NULL) {
		bool any = f->term != 0 || f->role != NULL || f->index != 0 || f->peer != NULL ||
		    (f->extra_value != NULL && valid_field_name(f->extra_name));

		if (any)
			lw_puts(&w, " "); /* two spaces between message and fields */
		if (f->term != 0) {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)f->term);
			lw_field(&w, "term", num);
		}
		if (f->role != NULL)
			lw_field(&w, "role", f->role);
		if (f->index != 0) {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)f->index);
			lw_field(&w, "index", num);
		}
		if (f->peer != NULL)
			lw_field(&w, "peer", f->peer);
		if (f->extra_value != NULL && valid_field_name(f->extra_name))
			lw_field(&w, f->extra_name, f->extra_value);
	}
	if (w.full) {
		memcpy(buf + w.used, ELLIPSIS, ELLIPSIS_LEN);
		w.used += ELLIPSIS_LEN;
	}
	buf[w.used++] = '\n';
	buf[w.used] = '\0';
	return w.used;
}

/* ---------------------------------------------------------- the target */

static bool
journal_stream_is_fd2(const char *env)
{
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (env == NULL || env[0] < '0' || env[0] > '9')
		return false;
	errno = 0;
	dev = strtoull(env, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Under systemd with StandardError=null, or started with 2>&- . */
static bool
stderr_is_void(void)
{
	struct stat st, null;

	if (fstat(STDERR_FILENO, &st) < 0)
		return true;
	if (!S_ISCHR(st.st_mode) || stat("/dev/null", &null) < 0)
		return false;
	return st.st_rdev == null.st_rdev;
}

static enum log_target
detect_target(bool *bad_override)
{
	const char *force = getenv("RAFTCONF_LOG_TARGET");

	*bad_override = false;
	if (force != NULL && force[0] != '\0') {
		if (strcmp(force, "stderr") == 0)
			return LOG_TARGET_STDERR;
		if (strcmp(force, "journal") == 0)
			return LOG_TARGET_JOURNAL;
		*bad_override = true;
	}
	if (journal_stream_is_fd2(getenv("JOURNAL_STREAM")))
		return LOG_TARGET_JOURNAL;
	if (stderr_is_void() && access(JOURNAL_SOCKET, F_OK) == 0)
		return LOG_TARGET_JOURNAL;
	return LOG_TARGET_STDERR;
}

void
log_init(const char *ident, int level)
{
	bool bad_override;

	copy_cut(g.ident, sizeof(g.ident), ident ? ident : "raftconfd",
	    strlen(ident ? ident : "raftconfd"));
	(void)log_set_level(level);
	g.target = detect_target(&bad_override);
	if (bad_override)
		log_warning("RAFTCONF_LOG_TARGET=\"%s\" is neither stderr nor journal; "
			    "logging to %s",
		    getenv("RAFTCONF_LOG_TARGET"),
		    g.target == LOG_TARGET_JOURNAL ? "the journal" : "stderr");
}

int
log_set_level(int level)
{
	if (level < LOG_EMERG || level > LOG_DEBUG)
		return -EINVAL;
	g.level = level;
	return 0;
}

int
log_get_level(void)
{
	return g.level;
}

bool
log_enabled(int prio)
{
	return prio <= g.level;
}

void
log_set_node_id(const char *id)
{
	if (id == NULL)
		g.node_id[0] = '\0';
	else
		copy_cut(g.node_id, sizeof(g.node_id), id, strlen(id));
}

enum log_target
log_get_target(void)
{
	return g.target;
}

void
log_set_target(enum log_target t)
{
	g.target = t;
}

void
log_set_stream(FILE *f)
{
	g.stream = f;
}

static void
write_line(int prio, const char *message, const struct log_fields *f)
{
	char line[LOG_MAX_LINE];
	struct timespec ts;
	FILE *out = g.stream != NULL ? g.stream : stderr;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = log_format_line(line, sizeof(line), &ts, prio, message, f);
	/* One fwrite per line keeps lines whole when several processes share a pipe. */
	(void)fwrite(line, 1, n, out);
	(void)fflush(out);
}

void
log_write(int prio, const char *file, int line, const char *func, const struct log_fields *f,
    const char *fmt, ...)
{
	char msg[LOG_MAX_MESSAGE + 1];
	int saved = errno, n;
	va_list ap;

	if (prio > g.level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0) {
		copy_cut(msg, sizeof(msg), fmt, strlen(fmt));
	} else if ((size_t)n >= sizeof(msg)) {
		size_t keep = utf8_cut(msg, sizeof(msg) - 1 - ELLIPSIS_LEN);

		memcpy(msg + keep, ELLIPSIS, ELLIPSIS_LEN);
		msg[keep + ELLIPSIS_LEN] = '\0';
	}

	if (g.target == LOG_TARGET_JOURNAL) {
		struct log_record r;

		log_format_fields(&r, prio, file, line, func, f, msg);
		/*
		 * A missing journald is not an error here (sd_journal_sendv drops
		 * the entry silently); a failing one is, and then the line goes
		 * to stderr rather than nowhere.
		 */
		if (sd_journal_sendv(r.iov, (int)r.n) >= 0)
			goto out;
	}
	write_line(prio, msg, f);
out:
	errno = saved;
}
