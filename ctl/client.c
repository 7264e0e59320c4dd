/*
 * client.c — raftconfctl's connection to the local raftconfd (contract in
 * client.h).
 *
 * For: connect, write a frame, read frames until the one answering the
 * request, retry, deadline.  Not for: commands, output, exit statuses
 * (raftconfctl.c, cmd_*.c, output.c).
 */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"

/* Pauses between retries: the first, then doubling up to the last. */
#define CLIENT_RETRY_FIRST_MS 20
#define CLIENT_RETRY_MAX_MS   500

struct client {
	const char *socket;
	double timeout;	 /* seconds, for messages */
	double deadline; /* monotonic seconds */
	double dial;	 /* seconds to wait for a daemon at the socket; < 0: until deadline */
	int fd;
	int wake;	  /* client_set_wake()'s fd, or -1 */
	uint64_t id;	  /* client id of writes */
	uint64_t next_id; /* of requests */
	struct proto_buf out;
	uint8_t *in; /* the frame being read */
	size_t inlen, incap;
	bool told_waiting; /* that no daemon answered, and we wait */
	bool answered;	   /* a daemon has answered this client once */
};

double
client_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
ms_left(const struct client *c)
{
	double left = c->deadline - client_now();

	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

int
client_new(const char *socket, double timeout, struct client **out)
{
	struct client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->socket = socket;
	c->timeout = timeout;
	c->fd = -1;
	c->wake = -1;
	c->dial = -1;
	if (getrandom(&c->id, sizeof(c->id), 0) != sizeof(c->id))
		c->id = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	c->deadline = client_now() + timeout;
	proto_buf_init(&c->out);
	*out = c;
	return 0;
}

static void
disconnect(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void
client_reset(struct client *c)
{
	disconnect(c);
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	disconnect(c);
	proto_buf_free(&c->out);
	free(c->in);
	free(c);
}

uint64_t
client_id(const struct client *c)
{
	return c->id;
}

void
client_set_wake(struct client *c, int fd)
{
	c->wake = fd;
}

void
client_no_deadline(struct client *c)
{
	c->deadline = client_now() + 1e9;
}

void
client_set_deadline(struct client *c, double seconds)
{
	c->deadline = client_now() + seconds;
}

void
client_set_dial(struct client *c, double seconds)
{
	c->dial = seconds;
}

void
client_renew_deadline(struct client *c)
{
	c->deadline = client_now() + c->timeout;
}

/* err, a detail, as "kind: detail" (cut at its end if need be). */
static void
with_kind(char *err, size_t errlen, const char *kind)
{
	size_t k = strlen(kind) + 2, n = strlen(err);

	if (errlen <= k + 1)
		return;
	if (k + n + 1 > errlen)
		n = errlen - k - 1;
	memmove(err + k, err, n);
	err[k + n] = '\0';
	memcpy(err, kind, k - 2);
	memcpy(err + k - 2, ": ", 2);
}

void
client_print_error(const struct proto_msg *r)
{
	const char *kind = proto_error_name(r->error.code);
	struct proto_str msg = r->error.message;
	size_t k = strlen(kind);

	/* a message that starts with its kind already ("no leader: ...") has it once */
	if (msg.len > k + 1 && memcmp(msg.ptr, kind, k) == 0 && msg.ptr[k] == ':') {
		msg.ptr += k + 1;
		msg.len -= k + 1;
		while (msg.len > 0 && msg.ptr[0] == ' ')
			msg.ptr++, msg.len--;
	}
	fprintf(stderr, "raftconfctl: %s: %.*s\n", kind, (int)msg.len, msg.ptr);
}

/* Connect to the daemon: 0, or -errno with err saying why. */
static int
connect_socket(struct client *c, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int e = 0;

	if (strlen(c->socket) >= sizeof(sun.sun_path)) {
		seterr(err, errlen, "cannot connect: the socket path is too long: %s", c->socket);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, c->socket, strlen(c->socket) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		seterr(err, errlen, "cannot connect: socket: %s", strerror(errno));
		return -errno;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return 0;
	e = errno;
	if (e == EINPROGRESS || e == EAGAIN) {
		pfd = (struct pollfd){ c->fd, POLLOUT, 0 };
		if (poll(&pfd, 1, ms_left(c)) == 1 &&
		    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
			return 0;
		e = e ? e : ETIMEDOUT;
	}
	seterr(err, errlen, "cannot connect: raftconfd at %s: %s%s", c->socket, strerror(e),
	    e == ENOENT || e == ECONNREFUSED
		? " (is raftconfd running? -s or $RAFTCONF_SOCKET choose another socket)"
		: "");
	disconnect(c);
	return -e;
}

static int
write_all(struct client *c, const uint8_t *p, size_t len)
{
	struct pollfd pfd = { c->fd, POLLOUT, 0 };
	ssize_t n;

	while (len) {
		/* a daemon that closed first is an error to report, not SIGPIPE */
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (poll(&pfd, 1, ms_left(c)) == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

int
client_next(struct client *c, struct proto_msg *m, char *err, size_t errlen)
{
	struct pollfd pfd[2] = { { c->fd, POLLIN, 0 }, { c->wake, POLLIN, 0 } };
	size_t need = 4, flen = 0;
	ssize_t n;
	int rc;

	c->inlen = 0;
	for (;;) {
		if (c->inlen >= 4) {
			rc = proto_frame_check(c->in, c->inlen, &flen);
			if (rc == 0)
				break;
			if (rc != -EAGAIN) {
				seterr(err, errlen,
				    "bad answer: the daemon sent a bad frame (length %zu)", flen);
				return rc;
			}
			need = flen;
		}
		if (need > c->incap) {
			uint8_t *p = realloc(c->in, need);

			if (p == NULL)
				return -ENOMEM;
			c->in = p;
			c->incap = need;
		}
		n = read(c->fd, c->in + c->inlen, need - c->inlen);
		if (n > 0) {
			c->inlen += n;
			continue;
		}
		if (n == 0) {
			seterr(err, errlen, "connection lost: raftconfd closed the connection");
			return -ECONNRESET;
		}
		if (errno != EAGAIN && errno != EINTR) {
			seterr(err, errlen, "connection lost: read: %s", strerror(errno));
			return -errno;
		}
		if (poll(pfd, c->wake >= 0 ? 2 : 1, ms_left(c)) == 0) {
			seterr(err, errlen, "timed out: no answer within %g s", c->timeout);
			return -ETIMEDOUT;
		}
		/* What the daemon sent first: the wake is for a call with nothing to read. */
		if (c->wake >= 0 && (pfd[1].revents & POLLIN) && !pfd[0].revents) {
			seterr(err, errlen, "interrupted");
			return -EINTR;
		}
	}
	if ((rc = proto_decode(c->in, flen, m, err, errlen)) < 0)
		with_kind(err, errlen, "bad answer");
	return rc;
}

/* Send m once and wait for the answer with its id. */
static int
roundtrip(struct client *c, struct proto_msg *m, struct proto_msg *resp, char *err, size_t errlen)
{
	int rc;

	if (c->fd < 0 && (rc = connect_socket(c, err, errlen)) < 0)
		return rc;
	m->id = ++c->next_id;
	proto_buf_reset(&c->out);
	if ((rc = proto_encode(&c->out, m, err, errlen)) < 0) {
		with_kind(err, errlen, rc == -E2BIG || rc == -EMSGSIZE ? "too big" : "bad request");
		return rc;
	}
	if ((rc = write_all(c, c->out.data, c->out.len)) < 0) {
		seterr(err, errlen, "connection lost: sending the request: %s", strerror(-rc));
		disconnect(c);
		return rc;
	}
	for (;;) {
		if ((rc = client_next(c, resp, err, errlen)) < 0) {
			disconnect(c);
			return rc;
		}
		if (resp->id == m->id) {
			c->answered = true;
			return 0;
		}
	}
}

/* Answers worth another try before the deadline: the cluster may settle. */
static bool
retryable(const struct proto_msg *r)
{
	return r->type == PROTO_T_ERROR &&
	    (r->error.code == PROTO_E_NOLEADER || r->error.code == PROTO_E_TIMEOUT ||
		r->error.code == PROTO_E_BUSY);
}

/*
 * Failures another try cannot mend: a request refused here, a socket we
 * may not use.  No daemon at the socket (refused, or no socket file) is
 * worth another try: it may be restarting.
 */
static bool
final(int rc)
{
	return rc == -EINVAL || rc == -E2BIG || rc == -EMSGSIZE || rc == -ENAMETOOLONG ||
	    rc == -EINTR || rc == -EACCES || rc == -EPERM || rc == -ENOTSOCK || rc == -ENOTDIR;
}

/* No daemon at the socket: connect(2) said so. */
static bool
no_daemon(int rc)
{
	return rc == -ECONNREFUSED || rc == -ENOENT;
}

int
client_request(struct client *c, struct proto_msg *m, struct proto_msg *resp, bool retry, char *err,
    size_t errlen)
{
	unsigned pause_ms = CLIENT_RETRY_FIRST_MS;
	double dial_end = c->dial < 0 ? c->deadline : client_now() + c->dial;
	int rc;

	seterr(err, errlen, "%s", "");
	for (;;) {
		rc = roundtrip(c, m, resp, err, errlen);
		if (rc == 0 && !(retry && retryable(resp)))
			return 0;
		/* Without retry, only a daemon not up yet (restarting) is waited for. */
		if (!(retry || (no_daemon(rc) && !c->answered)) || ms_left(c) <= (int)pause_ms ||
		    final(rc) || (no_daemon(rc) && client_now() + pause_ms / 1000.0 > dial_end))
			return rc;
		if (no_daemon(rc) && !c->told_waiting) {
			/* A daemon restarting, or none: say so once, then wait. */
			fprintf(stderr, "raftconfctl: %s; trying again until --%s\n", err,
			    c->dial < 0 ? "timeout" : "dial-timeout");
			c->told_waiting = true;
		}
		poll(NULL, 0, pause_ms);
		pause_ms = pause_ms * 2 > CLIENT_RETRY_MAX_MS ? CLIENT_RETRY_MAX_MS : pause_ms * 2;
	}
}
