/*
 * raftconfctl — the operator's and scripts' client for the local raftconfd.
 *
 * It speaks only the wire protocol of daemon/proto.h over the Unix control
 * socket; it knows nothing of the daemon's internals.  This file is the
 * command-line parser and dispatcher; exit codes are the contract of
 * raftconfctl(8): 0 done, 1 failed, 2 usage, 3 key not found.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#ifndef RAFTCONF_DEFAULT_SOCKET
#define RAFTCONF_DEFAULT_SOCKET "/run/raftconfd/raftconfd.sock"
#endif

enum {
	EXIT_DONE = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_NOTFOUND = 3,
};

struct ctl {
	const char *socket;
	bool json;
	double timeout;
	double deadline;		/* monotonic seconds */
	int fd;
	uint64_t client_id;
	uint64_t next_id;
	struct proto_buf out;
	uint8_t *in;			/* the frame being read */
	size_t inlen, incap;
};

struct command {
	const char *name;
	const char *args;
	const char *help;
	int min_args, max_args;
};

static const struct command commands[] = {
	{ "get", "KEY [--stale]", "print the value of KEY (linearizable unless --stale)", 1, 1 },
	{ "set", "KEY VALUE|-", "set KEY; '-' reads the value from stdin", 2, 2 },
	{ "del", "KEY", "delete KEY", 1, 1 },
	{ "list", "[PREFIX]", "list keys under PREFIX", 0, 1 },
	{ "watch", "[PREFIX] [--exec CMD]", "print (or run CMD on) changes under PREFIX", 0, 1 },
	{ "status", "", "this node: id, role, term, leader, commit, applied", 0, 0 },
	{ "members", "", "every member: id, address, voter|learner, health", 0, 0 },
	{ "join", "[--learner] ADDRESS", "join this spare node to the cluster at ADDRESS", 1, 1 },
	{ "remove", "ID", "remove member ID from the cluster", 1, 1 },
	{ "snapshot", "", "take a snapshot now", 0, 0 },
	{ "transfer", "[ID]", "hand leadership to ID (or the most up to date)", 0, 1 },
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: raftconfctl [-s SOCKET] [--json] [--timeout SECONDS] COMMAND [ARGS]\n"
	    "\n"
	    "Talks to the local raftconfd through its control socket.\n"
	    "\n"
	    "  -s, --socket SOCKET  control socket (default $RAFTCONF_SOCKET, then\n"
	    "                       %s)\n"
	    "  -j, --json           machine-readable output\n"
	    "  -t, --timeout SECS   give up after SECS seconds (default 10)\n"
	    "      --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n"
	    "\n"
	    "commands:\n",
	    RAFTCONF_DEFAULT_SOCKET);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
		fprintf(f, "  %-28s %s\n", left, commands[i].help);
	}
	fprintf(f,
	    "\n"
	    "exit status: 0 done, 1 failed (no quorum, timeout, refused), 2 usage,\n"
	    "             3 key not found\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "raftconfctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; try 'raftconfctl --help'\n");
	return EXIT_USAGE;
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* ------------------------------------------------------------ connection */

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
ms_left(const struct ctl *ctl)
{
	double left = ctl->deadline - mono_now();

	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

static void
ctl_disconnect(struct ctl *ctl)
{
	if (ctl->fd >= 0)
		close(ctl->fd);
	ctl->fd = -1;
}

/* Connect to the daemon: 0, or -errno with err saying why. */
static int
ctl_connect(struct ctl *ctl, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int e = 0;

	if (strlen(ctl->socket) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", ctl->socket);
		return -ENAMETOOLONG;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl->socket);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	if (connect(ctl->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return 0;
	e = errno;
	if (e == EINPROGRESS || e == EAGAIN) {
		pfd = (struct pollfd){ ctl->fd, POLLOUT, 0 };
		if (poll(&pfd, 1, ms_left(ctl)) == 1 &&
		    getsockopt(ctl->fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
			return 0;
		e = e ? e : ETIMEDOUT;
	}
	snprintf(err, errlen, "cannot connect to raftconfd at %s: %s%s", ctl->socket,
	    strerror(e), e == ENOENT || e == ECONNREFUSED ?
	    " (is raftconfd running? -s or $RAFTCONF_SOCKET choose another socket)" : "");
	ctl_disconnect(ctl);
	return -ECONNREFUSED;
}

static int
write_all(struct ctl *ctl, const uint8_t *p, size_t len)
{
	struct pollfd pfd = { ctl->fd, POLLOUT, 0 };
	ssize_t n;

	while (len) {
		n = write(ctl->fd, p, len);
		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (poll(&pfd, 1, ms_left(ctl)) == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

/* Read one whole frame into ctl->in and decode it. */
static int
read_frame(struct ctl *ctl, struct proto_msg *m, char *err, size_t errlen)
{
	struct pollfd pfd = { ctl->fd, POLLIN, 0 };
	size_t need = 4, flen = 0;
	ssize_t n;
	int rc;

	ctl->inlen = 0;
	for (;;) {
		if (ctl->inlen >= 4) {
			rc = proto_frame_check(ctl->in, ctl->inlen, &flen);
			if (rc == 0)
				break;
			if (rc != -EAGAIN) {
				snprintf(err, errlen, "the daemon sent a bad frame (length %zu)", flen);
				return rc;
			}
			need = flen;
		}
		if (need > ctl->incap) {
			uint8_t *p = realloc(ctl->in, need);

			if (p == NULL)
				return -ENOMEM;
			ctl->in = p;
			ctl->incap = need;
		}
		n = read(ctl->fd, ctl->in + ctl->inlen, need - ctl->inlen);
		if (n > 0) {
			ctl->inlen += n;
			continue;
		}
		if (n == 0) {
			snprintf(err, errlen, "raftconfd closed the connection");
			return -ECONNRESET;
		}
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return -errno;
		}
		if (poll(&pfd, 1, ms_left(ctl)) == 0) {
			snprintf(err, errlen, "no answer within %g s", ctl->timeout);
			return -ETIMEDOUT;
		}
	}
	rc = proto_decode(ctl->in, flen, m, err, errlen);
	return rc;
}

/*
 * Send request m and wait for the answer with its id, into *resp (valid
 * until the next call).  Returns 0, or a negative errno after filling err.
 */
static int
roundtrip(struct ctl *ctl, struct proto_msg *m, struct proto_msg *resp, char *err,
	  size_t errlen)
{
	int rc;

	if (ctl->fd < 0 && (rc = ctl_connect(ctl, err, errlen)) < 0)
		return rc;
	m->id = ++ctl->next_id;
	proto_buf_reset(&ctl->out);
	if ((rc = proto_encode(&ctl->out, m, err, errlen)) < 0)
		return rc;
	if ((rc = write_all(ctl, ctl->out.data, ctl->out.len)) < 0) {
		snprintf(err, errlen, "sending the request: %s", strerror(-rc));
		ctl_disconnect(ctl);
		return rc;
	}
	for (;;) {
		if ((rc = read_frame(ctl, resp, err, errlen)) < 0) {
			ctl_disconnect(ctl);
			return rc;
		}
		if (resp->id == m->id)
			return 0;
	}
}

/* Errors worth another try before the deadline: the cluster may settle. */
static bool
retryable(const struct proto_msg *r)
{
	return r->type == PROTO_T_ERROR &&
	    (r->error.code == PROTO_E_NOLEADER || r->error.code == PROTO_E_TIMEOUT);
}

/*
 * roundtrip() with retries while the answer is "no leader" or the
 * connection broke, until the deadline.  Writes keep their (client_id,
 * seq), so a retried write applies once.
 */
static int
request(struct ctl *ctl, struct proto_msg *m, struct proto_msg *resp, bool retry)
{
	char err[512] = "";
	unsigned pause_ms = 20;
	int rc;

	for (;;) {
		rc = roundtrip(ctl, m, resp, err, sizeof(err));
		if (rc == 0 && !(retry && retryable(resp)))
			return 0;
		/* No daemon to talk to, or a request it cannot take: say so now. */
		if (!retry || ms_left(ctl) <= (int)pause_ms || rc == -EINVAL || rc == -E2BIG ||
		    rc == -EMSGSIZE || rc == -ECONNREFUSED || rc == -ENAMETOOLONG)
			break;
		poll(NULL, 0, pause_ms);
		pause_ms = pause_ms * 2 > 500 ? 500 : pause_ms * 2;
	}
	if (rc == 0)
		return 0;	/* the last error answer: the caller reports it */
	fprintf(stderr, "raftconfctl: %s\n", err);
	return rc;
}

/* Report an ERROR answer; returns the exit status for it. */
static int
report_error(const struct proto_msg *r)
{
	int len = (int)r->error.message.len;

	fprintf(stderr, "raftconfctl: %s: %.*s\n", proto_error_name(r->error.code), len,
	    r->error.message.ptr);
	return r->error.code == PROTO_E_NOTFOUND ? EXIT_NOTFOUND : EXIT_FAILED;
}

static int
unexpected(const struct proto_msg *r)
{
	if (r->type == PROTO_T_ERROR)
		return report_error(r);
	fprintf(stderr, "raftconfctl: unexpected %s answer from raftconfd\n",
	    proto_type_name(r->type));
	return EXIT_FAILED;
}

/* ---------------------------------------------------------------- output */

static bool
valid_utf8(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i];
		size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
		    (c & 0xf8) == 0xf0 ? 3 : 9;

		if (n == 9 || (c & 0xfe) == 0xc0 || i + n >= len + (n == 0))
			return n == 0;
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += n + 1;
	}
	return true;
}

static void
json_string(FILE *f, const char *p, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
json_base64(FILE *f, const uint8_t *p, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	fputc('"', f);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0) |
		    (i + 2 < len ? p[i + 2] : 0);

		fputc(tab[v >> 18 & 63], f);
		fputc(tab[v >> 12 & 63], f);
		fputc(i + 1 < len ? tab[v >> 6 & 63] : '=', f);
		fputc(i + 2 < len ? tab[v & 63] : '=', f);
	}
	fputc('"', f);
}

/* "value": "..." when the value is UTF-8 text, else "value_base64": "...". */
static void
json_value(FILE *f, struct proto_str v)
{
	if (valid_utf8((const uint8_t *)v.ptr, v.len)) {
		fputs("\"value\":", f);
		json_string(f, v.ptr, v.len);
	} else {
		fputs("\"value_base64\":", f);
		json_base64(f, (const uint8_t *)v.ptr, v.len);
	}
}

static bool
all_digits(struct proto_str v)
{
	if (v.len == 0 || v.len > 20 || (v.len > 1 && v.ptr[0] == '0'))
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return false;
	return true;
}

/* A value on one line for humans: control bytes escaped. */
static void
human_value(FILE *f, struct proto_str v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = v.ptr[i];

		if (c == '\n')
			fputs("\\n", f);
		else if (c == '\\')
			fputs("\\\\", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* -------------------------------------------------------------- commands */

static bool
check_key(const char *key)
{
	size_t len = strlen(key);

	if (len == 0 || len > RAFTCONF_MAX_KEY) {
		fprintf(stderr, "raftconfctl: key must be 1 to %d bytes long\n", RAFTCONF_MAX_KEY);
		return false;
	}
	return true;
}

static int
cmd_get(struct ctl *ctl, char **args, int nargs, bool stale)
{
	struct proto_msg m = { .type = PROTO_T_GET }, r;

	if (!check_key(args[0]))
		return EXIT_USAGE;
	m.get.flags = stale ? PROTO_F_STALE : 0;
	m.get.key = proto_cstr(args[0]);
	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_VALUE)
		return unexpected(&r);
	if (ctl->json) {
		printf("{\"key\":");
		json_string(stdout, args[0], strlen(args[0]));
		printf(",\"revision\":%" PRIu64 ",", r.value_reply.revision);
		json_value(stdout, r.value_reply.value);
		printf("}\n");
	} else {
		fwrite(r.value_reply.value.ptr, 1, r.value_reply.value.len, stdout);
		/* Binary safe for pipes and files; tidy on a terminal. */
		if (isatty(STDOUT_FILENO) && (r.value_reply.value.len == 0 ||
		    r.value_reply.value.ptr[r.value_reply.value.len - 1] != '\n'))
			putchar('\n');
	}
	return EXIT_DONE;
}

static int
read_stdin(uint8_t **buf, size_t *len)
{
	size_t cap = 4096;
	ssize_t n;

	*len = 0;
	if ((*buf = malloc(cap)) == NULL)
		return -ENOMEM;
	for (;;) {
		if (*len == cap) {
			uint8_t *p;

			if (cap > RAFTCONF_MAX_VALUE)
				return -E2BIG;
			if ((p = realloc(*buf, cap * 2)) == NULL)
				return -ENOMEM;
			*buf = p;
			cap *= 2;
		}
		n = read(STDIN_FILENO, *buf + *len, cap - *len);
		if (n == 0)
			return *len > RAFTCONF_MAX_VALUE ? -E2BIG : 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			*len += n;
	}
}

static int
cmd_write(struct ctl *ctl, uint8_t type, char **args, int nargs)
{
	struct proto_msg m = { .type = type }, r;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc, status;

	if (!check_key(args[0]))
		return EXIT_USAGE;
	if (type == PROTO_T_SET) {
		if (strcmp(args[1], "-") == 0) {
			if ((rc = read_stdin(&buf, &len)) < 0) {
				free(buf);
				if (rc == -E2BIG)
					fprintf(stderr, "raftconfctl: value on stdin is larger than "
					    "the limit of %d bytes\n", RAFTCONF_MAX_VALUE);
				else
					fprintf(stderr, "raftconfctl: reading stdin: %s\n",
					    strerror(-rc));
				return EXIT_FAILED;
			}
		} else {
			buf = (uint8_t *)strdup(args[1]);
			len = strlen(args[1]);
			if (len > RAFTCONF_MAX_VALUE) {
				fprintf(stderr, "raftconfctl: value of %zu bytes is larger than the "
				    "limit of %d bytes\n", len, RAFTCONF_MAX_VALUE);
				free(buf);
				return EXIT_FAILED;
			}
		}
		m.set.client_id = ctl->client_id;
		m.set.seq = 1;
		m.set.key = proto_cstr(args[0]);
		m.set.value = proto_mem(buf, len);
	} else {
		m.del.client_id = ctl->client_id;
		m.del.seq = 1;
		m.del.key = proto_cstr(args[0]);
	}
	if (request(ctl, &m, &r, true) < 0) {
		free(buf);
		return EXIT_FAILED;
	}
	free(buf);
	if (r.type != PROTO_T_OK)
		return unexpected(&r);
	if (ctl->json)
		printf("{\"revision\":%" PRIu64 "}\n", r.ok.revision);
	else
		printf("OK revision %" PRIu64 "\n", r.ok.revision);
	status = EXIT_DONE;
	return status;
}

static int
cmd_list(struct ctl *ctl, char **args, int nargs, bool stale)
{
	struct proto_msg m = { .type = PROTO_T_LIST }, r;
	union proto_item it;
	struct proto_iter iter;
	size_t width = 0;
	bool first = true;

	m.list.flags = stale ? PROTO_F_STALE : 0;
	m.list.prefix = proto_cstr(nargs ? args[0] : "");
	if (m.list.prefix.len > RAFTCONF_MAX_KEY)
		return check_key(args[0]) ? EXIT_USAGE : EXIT_USAGE;
	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_LIST_REPLY)
		return unexpected(&r);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		if (it.entry.key.len > width)
			width = it.entry.key.len;
	if (width > 40)
		width = 40;
	if (ctl->json)
		printf("{\"truncated\":%s,\"keys\":[", (r.list_reply.flags & PROTO_F_TRUNCATED) ?
		    "true" : "false");
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1) {
		if (ctl->json) {
			printf("%s{\"key\":", first ? "" : ",");
			json_string(stdout, it.entry.key.ptr, it.entry.key.len);
			printf(",\"revision\":%" PRIu64 ",", it.entry.revision);
			json_value(stdout, it.entry.value);
			printf("}");
		} else {
			printf("%-*.*s  ", (int)width, (int)it.entry.key.len, it.entry.key.ptr);
			human_value(stdout, it.entry.value);
			putchar('\n');
		}
		first = false;
	}
	if (ctl->json)
		printf("]}\n");
	else if (r.list_reply.flags & PROTO_F_TRUNCATED)
		fprintf(stderr, "raftconfctl: the listing was cut at the reply size limit; "
		    "list a longer prefix\n");
	return EXIT_DONE;
}

static int
cmd_status(struct ctl *ctl)
{
	struct proto_msg m = { .type = PROTO_T_STATUS }, r;
	union proto_item it;
	struct proto_iter iter;
	size_t width = 0;
	bool first = true;

	if (request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_STATUS_REPLY)
		return unexpected(&r);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		if (it.pair.name.len > width)
			width = it.pair.name.len;
	if (ctl->json)
		putchar('{');
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1) {
		if (ctl->json) {
			printf("%s", first ? "" : ",");
			json_string(stdout, it.pair.name.ptr, it.pair.name.len);
			putchar(':');
			/* Counters are numbers; everything else is a string. */
			if (all_digits(it.pair.value))
				printf("%.*s", (int)it.pair.value.len, it.pair.value.ptr);
			else
				json_string(stdout, it.pair.value.ptr, it.pair.value.len);
		} else {
			printf("%.*s:%*s %.*s\n", (int)it.pair.name.len, it.pair.name.ptr,
			    (int)(width - it.pair.name.len), "", (int)it.pair.value.len,
			    it.pair.value.ptr);
		}
		first = false;
	}
	if (ctl->json)
		printf("}\n");
	return EXIT_DONE;
}

static int
cmd_members(struct ctl *ctl)
{
	struct proto_msg m = { .type = PROTO_T_MEMBERS }, r;
	union proto_item it;
	struct proto_iter iter;
	bool first = true;

	if (request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_MEMBERS_REPLY)
		return unexpected(&r);
	if (ctl->json)
		putchar('[');
	else
		printf("%-20s %-24s %-8s %-6s %10s %12s  %s\n", "ID", "ADDRESS", "ROLE", "LEADER",
		    "MATCH", "LAST-CONTACT", "HEALTH");
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1) {
		const struct proto_member *mb = &it.member;
		const char *role = (mb->flags & PROTO_M_VOTER) ? "voter" : "learner";
		char contact[32];

		if (mb->last_contact_ms == PROTO_NEVER)
			snprintf(contact, sizeof(contact), "-");
		else
			snprintf(contact, sizeof(contact), "%" PRIu64 "ms", mb->last_contact_ms);
		if (ctl->json) {
			printf("%s{\"id\":", first ? "" : ",");
			json_string(stdout, mb->node_id.ptr, mb->node_id.len);
			printf(",\"address\":");
			json_string(stdout, mb->address.ptr, mb->address.len);
			printf(",\"role\":\"%s\",\"leader\":%s,\"self\":%s,\"match\":%" PRIu64
			    ",\"last_contact_ms\":", role,
			    (mb->flags & PROTO_M_LEADER) ? "true" : "false",
			    (mb->flags & PROTO_M_SELF) ? "true" : "false", mb->match_index);
			if (mb->last_contact_ms == PROTO_NEVER)
				printf("null");
			else
				printf("%" PRIu64, mb->last_contact_ms);
			printf(",\"health\":\"%s\"}", proto_health_name(mb->health));
		} else {
			printf("%-20.*s %-24.*s %-8s %-6s %10" PRIu64 " %12s  %s%s\n",
			    (int)mb->node_id.len, mb->node_id.ptr, (int)mb->address.len,
			    mb->address.ptr, role, (mb->flags & PROTO_M_LEADER) ? "*" : "",
			    mb->match_index, contact, proto_health_name(mb->health),
			    (mb->flags & PROTO_M_SELF) ? " (this node)" : "");
		}
		first = false;
	}
	if (ctl->json)
		printf("]\n");
	return EXIT_DONE;
}

/* Commands whose answer is OK, with the request already filled in. */
static int
cmd_simple(struct ctl *ctl, struct proto_msg *m, const char *done)
{
	struct proto_msg r;

	if (request(ctl, m, &r, m->type != PROTO_T_JOINREQ) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return unexpected(&r);
	if (ctl->json)
		printf("{\"ok\":true,\"index\":%" PRIu64 "}\n", r.ok.revision);
	else
		printf("%s\n", done);
	return EXIT_DONE;
}

/*
 * watch: register, then print (or run CMD on) every change under the prefix
 * until the daemon goes away.  --timeout bounds only the registration.
 */
static int
run_exec(const char *cmd, const struct proto_msg *ev)
{
	char rev[32], kind[8];
	pid_t pid;
	int st;

	fflush(stdout);
	snprintf(rev, sizeof(rev), "%" PRIu64, ev->event.revision);
	snprintf(kind, sizeof(kind), "%s", ev->event.kind == PROTO_EV_PUT ? "PUT" : "DEL");
	if ((pid = fork()) < 0)
		return -errno;
	if (pid == 0) {
		char *key = strndup(ev->event.key.ptr, ev->event.key.len);
		char *val = strndup(ev->event.value.ptr, ev->event.value.len);

		setenv("RAFTCONF_EVENT", kind, 1);
		setenv("RAFTCONF_KEY", key ? key : "", 1);
		setenv("RAFTCONF_REVISION", rev, 1);
		/* A value with NUL bytes is cut at the first: read it with get. */
		setenv("RAFTCONF_VALUE", val ? val : "", 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		fprintf(stderr, "raftconfctl: --exec command exited %d\n", WEXITSTATUS(st));
	return 0;
}

static int
cmd_watch(struct ctl *ctl, char **args, int nargs, const char *exec_cmd)
{
	struct proto_msg m = { .type = PROTO_T_WATCH }, r;
	const char *prefix = nargs ? args[0] : "";
	char err[512];

	m.watch.prefix = proto_cstr(prefix);
	if (request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return unexpected(&r);
	fprintf(stderr, "raftconfctl: watching '%s' from revision %" PRIu64 "\n", prefix,
	    r.ok.revision);
	ctl->deadline = mono_now() + 1e9;	/* events come when they come */
	for (;;) {
		if (read_frame(ctl, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "raftconfctl: watch ended: %s\n", err);
			return EXIT_FAILED;
		}
		if (r.type == PROTO_T_ERROR)
			return report_error(&r);
		if (r.type != PROTO_T_EVENT)
			continue;
		if (exec_cmd) {
			run_exec(exec_cmd, &r);
		} else if (ctl->json) {
			printf("{\"event\":\"%s\",\"key\":", r.event.kind == PROTO_EV_PUT ? "PUT" :
			    "DEL");
			json_string(stdout, r.event.key.ptr, r.event.key.len);
			printf(",\"revision\":%" PRIu64, r.event.revision);
			if (r.event.kind == PROTO_EV_PUT) {
				putchar(',');
				json_value(stdout, r.event.value);
			}
			printf("}\n");
		} else {
			printf("%s %.*s", r.event.kind == PROTO_EV_PUT ? "PUT" : "DEL",
			    (int)r.event.key.len, r.event.key.ptr);
			if (r.event.kind == PROTO_EV_PUT) {
				putchar(' ');
				human_value(stdout, r.event.value);
			}
			putchar('\n');
		}
		fflush(stdout);
	}
}

static int
run_command(struct ctl *ctl, const struct command *cmd, int argc, char **argv)
{
	char *args[4];
	int nargs = 0;
	bool stale = false, learner = false;
	const char *exec_cmd = NULL;
	struct proto_msg m = { 0 };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stale") == 0 && (cmd->name[0] == 'g' || cmd->name[0] == 'l'))
			stale = true;
		else if (strcmp(argv[i], "--learner") == 0 && strcmp(cmd->name, "join") == 0)
			learner = true;
		else if (strcmp(argv[i], "--exec") == 0 && strcmp(cmd->name, "watch") == 0 &&
		    i + 1 < argc)
			exec_cmd = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2] != '\0')
			return usage_error("unknown option '%s'", argv[i]);
		else if (nargs < cmd->max_args)
			args[nargs++] = argv[i];
		else
			return usage_error("too many arguments for '%s'", cmd->name);
	}
	if (nargs < cmd->min_args)
		return usage_error("'%s' needs more arguments", cmd->name);

	if (strcmp(cmd->name, "get") == 0)
		return cmd_get(ctl, args, nargs, stale);
	if (strcmp(cmd->name, "set") == 0)
		return cmd_write(ctl, PROTO_T_SET, args, nargs);
	if (strcmp(cmd->name, "del") == 0)
		return cmd_write(ctl, PROTO_T_DEL, args, nargs);
	if (strcmp(cmd->name, "list") == 0)
		return cmd_list(ctl, args, nargs, stale);
	if (strcmp(cmd->name, "status") == 0)
		return cmd_status(ctl);
	if (strcmp(cmd->name, "members") == 0)
		return cmd_members(ctl);
	if (strcmp(cmd->name, "watch") == 0)
		return cmd_watch(ctl, args, nargs, exec_cmd);
	if (strcmp(cmd->name, "join") == 0) {
		m.type = PROTO_T_JOINREQ;
		m.joinreq.flags = learner ? PROTO_F_LEARNER : 0;
		m.joinreq.address = proto_cstr(args[0]);
		return cmd_simple(ctl, &m, "joined");
	}
	if (strcmp(cmd->name, "remove") == 0) {
		m.type = PROTO_T_REMOVE;
		m.remove.node_id = proto_cstr(args[0]);
		return cmd_simple(ctl, &m, "removed");
	}
	if (strcmp(cmd->name, "snapshot") == 0) {
		m.type = PROTO_T_SNAPSHOT;
		return cmd_simple(ctl, &m, "snapshot taken");
	}
	if (strcmp(cmd->name, "transfer") == 0) {
		m.type = PROTO_T_TRANSFER;
		m.transfer.node_id = proto_cstr(nargs ? args[0] : "");
		return cmd_simple(ctl, &m, "leadership transferred");
	}
	/* Every command of the table is handled above. */
	fprintf(stderr, "raftconfctl: internal error: no handler for '%s'\n", cmd->name);
	return EXIT_FAILED;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .timeout = 10.0, .fd = -1 };
	const struct command *cmd;
	char *end;
	int c, status;

	ctl.socket = getenv("RAFTCONF_SOCKET");
	if (ctl.socket == NULL || *ctl.socket == '\0')
		ctl.socket = RAFTCONF_DEFAULT_SOCKET;

	opterr = 0;
	/* '+': stop at the command, whose own options come after it. */
	while ((c = getopt_long(argc, argv, "+s:jt:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctl.socket = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 't':
			errno = 0;
			ctl.timeout = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(ctl.timeout > 0) || ctl.timeout > 86400)
				return usage_error("--timeout '%s': expected seconds, 0 < s <= 86400",
				    optarg);
			break;
		case 'V':
			printf("raftconfctl %s\n", PACKAGE_VERSION);
			return EXIT_DONE;
		case 'h':
			usage(stdout);
			return EXIT_DONE;
		default:
			return usage_error("unknown option or missing argument: '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("%s", "no command given");
	cmd = find_command(argv[optind]);
	if (cmd == NULL)
		return usage_error("unknown command '%s'", argv[optind]);

	if (getrandom(&ctl.client_id, sizeof(ctl.client_id), 0) != sizeof(ctl.client_id))
		ctl.client_id = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	ctl.deadline = mono_now() + ctl.timeout;
	proto_buf_init(&ctl.out);
	status = run_command(&ctl, cmd, argc - optind, argv + optind);
	ctl_disconnect(&ctl);
	proto_buf_free(&ctl.out);
	free(ctl.in);
	return status;
}
