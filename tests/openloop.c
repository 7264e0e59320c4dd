/*
 * openloop — an open-loop HTTP writer for the failover and start-up figures
 * of tests/bench-etcd.sh.
 *
 *	openloop [-e] [-i MS] [-d SECONDS] [-t MS] [-T MS] [-v BYTES]
 *		 [-k PREFIX] [-f START_NS] HOST:PORT...
 *
 * Every -i MS (default 10) on a timer, whether or not the earlier requests
 * have been answered, it sends one write: PUT /v1/keys/PREFIXn with a
 * BYTES-long value to raftconfd, or with -e a POST /v3/kv/put to etcd's
 * JSON gateway with the key and value in base64.  Connections are HTTP/1.1
 * keep-alive, one request in flight each, as many as the open loop needs.
 * A request that fails (refused, reset, any status but 200) or has no
 * answer within -t MS (default 1000) moves the client on to the next
 * endpoint, so the list should name every node: the one that dies takes
 * its endpoint with it.  A request without an answer still counts if one
 * comes within -T MS (default 2000); then it is abandoned as failed.  So
 * a short -t finds a live node quickly without throwing away writes that
 * were merely slow.
 *
 * It prints one line,
 *	sent N ok N failed N longest_gap_ms X from_ms A to_ms B
 * where the gap is the longest time without an acknowledged write, counting
 * from the start of the run and up to its end, and A..B is where it lay
 * (milliseconds since the start).  With -f START_NS (CLOCK_REALTIME
 * nanoseconds, as date +%s%N prints) it stops at the first 200 and prints
 *	first_ok_ms X sent N failed N
 * the time from START_NS to that acknowledgement; -d then bounds the wait.
 * Exit 0, or 1 when no write was acknowledged, 2 on bad usage.
 *
 * Not a load generator (wrk is) and not a checker: it reads nothing back.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* strcasestr */
#endif
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENDPOINTS	16
#define MAX_CONNS	512	/* requests in flight: -T / -i of them at worst */
#define MAX_VALUE	4096
#define REQ_MAX		(MAX_VALUE * 2 + 1024)
#define RESP_MAX	16384

enum cstate { C_FREE, C_CONNECTING, C_BUSY, C_IDLE };

struct conn {
	enum cstate state;
	int fd;
	int ep;
	double sent;		/* monotonic seconds, when the request was made */
	bool moved;		/* -t passed: the client has moved on from c->ep */
	char out[REQ_MAX];
	size_t outlen, outoff;
	char in[RESP_MAX];
	size_t inlen;
};

struct endpoint {
	char name[128];
	struct sockaddr_storage sa;
	socklen_t salen;
};

static struct endpoint eps[MAX_ENDPOINTS];
static int neps, cur_ep;
static struct conn conns[MAX_CONNS];

static bool etcd;
static double interval = 0.010, duration = 6, move_timeout = 1.0, give_up = 2.0;
static size_t value_len = 128;
static const char *prefix = "openloop/";
static long long first_start_ns = -1;

static unsigned long long nsent, nok, nfail, seq;
static double t_start, last_ok, gap_max, gap_from, gap_to;
static bool done_first;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static size_t
base64(char *dst, const void *src, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = src;
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		dst[o++] = tab[s[i] >> 2];
		dst[o++] = tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		dst[o++] = tab[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		dst[o++] = tab[s[i + 2] & 63];
	}
	if (i < n) {
		dst[o++] = tab[s[i] >> 2];
		if (i + 1 < n) {
			dst[o++] = tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
			dst[o++] = tab[(s[i + 1] & 15) << 2];
		} else {
			dst[o++] = tab[(s[i] & 3) << 4];
			dst[o++] = '=';
		}
		dst[o++] = '=';
	}
	dst[o] = '\0';
	return o;
}

static int
parse_endpoint(struct endpoint *e, const char *arg)
{
	char host[128];
	const char *colon = strrchr(arg, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;

	if (colon == NULL || colon == arg || (size_t)(colon - arg) >= sizeof(host) ||
	    strlen(arg) >= sizeof(e->name))
		return -EINVAL;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -EINVAL;
	memcpy(&e->sa, res->ai_addr, res->ai_addrlen);
	e->salen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(e->name, sizeof(e->name), "%s", arg);
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_FREE;
}

/* Move on from c's endpoint, once per request, unless the client has already. */
static void
move_on(struct conn *c)
{
	if (!c->moved && c->ep == cur_ep)
		cur_ep = (cur_ep + 1) % neps;
	c->moved = true;
}

static void
conn_fail(struct conn *c)
{
	nfail++;
	move_on(c);
	conn_close(c);
}

static void
note_ok(double t)
{
	double gap = t - last_ok;

	nok++;
	if (gap > gap_max) {
		gap_max = gap;
		gap_from = last_ok - t_start;
		gap_to = t - t_start;
	}
	last_ok = t;
	if (first_start_ns >= 0 && !done_first) {
		done_first = true;
		printf("first_ok_ms %.1f sent %llu failed %llu\n",
		    (realtime_ns() - first_start_ns) / 1e6, nsent, nfail);
	}
}

static void
build_request(struct conn *c)
{
	static char value[MAX_VALUE + 1];
	char key[256], body[REQ_MAX - 512];
	char kb[sizeof(key) * 4 / 3 + 4], vb[MAX_VALUE * 4 / 3 + 4];
	int n;

	if (value[0] == '\0')
		memset(value, 'v', value_len);
	snprintf(key, sizeof(key), "%s%llu", prefix, seq++);
	if (etcd) {
		base64(kb, key, strlen(key));
		base64(vb, value, value_len);
		snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"%s\"}", kb, vb);
		n = snprintf(c->out, sizeof(c->out),
		    "POST /v3/kv/put HTTP/1.1\r\nHost: %s\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		    eps[c->ep].name, strlen(body), body);
	} else {
		n = snprintf(c->out, sizeof(c->out),
		    "PUT /v1/keys/%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n\r\n%s",
		    key, eps[c->ep].name, value_len, value);
	}
	c->outlen = (size_t)n;
	c->outoff = 0;
	c->inlen = 0;
	c->moved = false;
}

/* Write what is left of the request; -1 when the connection failed. */
static int
conn_flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		c->outoff += (size_t)w;
	}
	return 0;
}

/*
 * One request on a connection to the current endpoint: an idle one if
 * there is one, else a new one.  A connect refused at once (a dead node on
 * loopback) tries the next endpoint in the same tick.
 */
static void
fire(double t)
{
	struct conn *c = NULL;

	for (int tries = 0; tries < neps; tries++) {
		for (int i = 0; i < MAX_CONNS && c == NULL; i++)
			if (conns[i].state == C_IDLE && conns[i].ep == cur_ep)
				c = &conns[i];
		if (c == NULL) {
			for (int i = 0; i < MAX_CONNS && c == NULL; i++)
				if (conns[i].state == C_FREE)
					c = &conns[i];
			if (c == NULL) {
				nsent++;	/* every slot waits: counts as a failure */
				nfail++;
				return;
			}
			c->ep = cur_ep;
			c->fd = socket(eps[cur_ep].sa.ss_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (c->fd < 0) {
				perror("socket");
				exit(1);
			}
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
			c->state = C_CONNECTING;
			if (connect(c->fd, (struct sockaddr *)&eps[cur_ep].sa,
			    eps[cur_ep].salen) == 0)
				c->state = C_BUSY;
			else if (errno != EINPROGRESS) {
				nsent++;
				conn_fail(c);
				c = NULL;
				continue;
			}
		} else {
			c->state = C_BUSY;
		}
		build_request(c);
		nsent++;
		c->sent = t;
		if (c->state == C_BUSY && conn_flush(c) < 0)
			conn_fail(c);
		return;
	}
}

/*
 * Whether c->in holds a whole response: 1 yes (status and keep-alive
 * filled), 0 not yet, -1 malformed.  Bodies come with Content-Length or
 * chunked (Go's net/http uses either).
 */
static int
parse_response(struct conn *c, int *status, bool *keep)
{
	char *in = c->in, *hend, *p;
	size_t hlen, need;
	long clen = -1;
	bool chunked = false;

	in[c->inlen] = '\0';
	hend = strstr(in, "\r\n\r\n");
	if (hend == NULL)
		return c->inlen >= RESP_MAX - 1 ? -1 : 0;
	hlen = (size_t)(hend - in) + 4;
	if (strncmp(in, "HTTP/1.", 7) != 0 || strlen(in) < 12)
		return -1;
	*status = atoi(in + 9);
	*keep = in[7] == '1';
	for (p = strstr(in, "\r\n"); p && p < hend; p = strstr(p + 2, "\r\n")) {
		char *h = p + 2;

		if (strncasecmp(h, "Content-Length:", 15) == 0)
			clen = atol(h + 15);
		else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 &&
		    strstr(h, "chunked") && strstr(h, "chunked") < strstr(h, "\r\n"))
			chunked = true;
		else if (strncasecmp(h, "Connection:", 11) == 0) {
			char *e = strstr(h, "\r\n");

			*e = '\0';
			if (strcasestr(h, "close"))
				*keep = false;
			else if (strcasestr(h, "keep-alive"))
				*keep = true;
			*e = '\r';
		}
	}
	if (chunked) {
		size_t off = hlen;

		for (;;) {
			char *line = in + off, *eol = strstr(line, "\r\n");
			unsigned long sz;

			if (eol == NULL)
				return 0;
			sz = strtoul(line, NULL, 16);
			if (sz == 0) {	/* the last chunk; trailers are not expected */
				if (c->inlen < (size_t)(eol - in) + 4)
					return 0;
				return strncmp(eol, "\r\n\r\n", 4) == 0 ? 1 : -1;
			}
			off = (size_t)(eol - in) + 2 + sz + 2;
			if (off > c->inlen)
				return 0;
		}
	}
	if (clen < 0) {
		if (*status == 204 || *status == 304)
			return 1;
		return -1;	/* read-to-close bodies are not worth supporting here */
	}
	need = hlen + (size_t)clen;
	if (need >= RESP_MAX)
		return -1;
	return c->inlen >= need;
}

static void
on_readable(struct conn *c, double t)
{
	ssize_t r = recv(c->fd, c->in + c->inlen, RESP_MAX - 1 - c->inlen, 0);
	int status = 0, done;
	bool keep = true;

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (c->state == C_IDLE) {	/* the server closed an idle connection */
		conn_close(c);
		return;
	}
	if (r <= 0) {
		conn_fail(c);
		return;
	}
	c->inlen += (size_t)r;
	done = parse_response(c, &status, &keep);
	if (done == 0)
		return;
	if (done < 0 || status != 200) {
		conn_fail(c);
		return;
	}
	note_ok(t);
	if (keep && c->ep == cur_ep) {
		c->state = C_IDLE;
		c->inlen = 0;
	} else {
		conn_close(c);
	}
}

static void
on_writable(struct conn *c)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
			conn_fail(c);
			return;
		}
		c->state = C_BUSY;
	}
	if (conn_flush(c) < 0)
		conn_fail(c);
}

static void
usage(void)
{
	fprintf(stderr, "usage: openloop [-e] [-i MS] [-d SECONDS] [-t MS] [-T MS] [-v BYTES] "
	    "[-k PREFIX] [-f START_NS] HOST:PORT...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct pollfd pfd[MAX_CONNS];
	static int pidx[MAX_CONNS];
	double t, next, end;
	int opt;

	while ((opt = getopt(argc, argv, "ei:d:t:T:v:k:f:")) != -1) {
		switch (opt) {
		case 'e': etcd = true; break;
		case 'i': interval = atof(optarg) / 1000; break;
		case 'd': duration = atof(optarg); break;
		case 't': move_timeout = atof(optarg) / 1000; break;
		case 'T': give_up = atof(optarg) / 1000; break;
		case 'v': value_len = strtoul(optarg, NULL, 10); break;
		case 'k': prefix = optarg; break;
		case 'f': first_start_ns = atoll(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || argc - optind > MAX_ENDPOINTS || interval < 0.0005 ||
	    duration <= 0 || move_timeout <= 0 || give_up < move_timeout ||
	    give_up / interval > MAX_CONNS - 8 || value_len < 1 || value_len > MAX_VALUE ||
	    strlen(prefix) > 128)
		usage();
	for (int i = optind; i < argc; i++) {
		if (parse_endpoint(&eps[neps++], argv[i]) < 0) {
			fprintf(stderr, "openloop: bad endpoint %s (HOST:PORT)\n", argv[i]);
			exit(2);
		}
	}
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	signal(SIGPIPE, SIG_IGN);

	t_start = last_ok = next = now();
	end = t_start + duration;
	while ((t = now()) < end && !done_first) {
		double wake = next < end ? next : end;
		int n = 0, ms;

		/* Open loop: every tick that is due fires, late or not. */
		while (next <= t) {
			fire(t);
			next += interval;
		}
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];

			if (c->state == C_FREE)
				continue;
			if (c->state != C_IDLE) {
				if (c->sent + give_up <= t) {
					conn_fail(c);
					continue;
				}
				if (!c->moved && c->sent + move_timeout <= t)
					move_on(c);
				if (!c->moved && c->sent + move_timeout < wake)
					wake = c->sent + move_timeout;
				if (c->sent + give_up < wake)
					wake = c->sent + give_up;
			}
			pfd[n].fd = c->fd;
			pfd[n].events = POLLIN;
			if (c->state == C_CONNECTING || c->outoff < c->outlen)
				pfd[n].events |= POLLOUT;
			pidx[n++] = i;
		}
		ms = (int)((wake - t) * 1000 + 0.999);
		if (ms < 0)
			ms = 0;
		if (poll(pfd, (nfds_t)n, ms) < 0 && errno != EINTR) {
			perror("poll");
			return 1;
		}
		t = now();
		for (int k = 0; k < n; k++) {
			struct conn *c = &conns[pidx[k]];

			if (c->state == C_FREE || pfd[k].revents == 0)
				continue;
			if ((pfd[k].revents & POLLOUT) || (c->state == C_CONNECTING &&
			    (pfd[k].revents & (POLLERR | POLLHUP))))
				on_writable(c);
			if (c->state != C_FREE && c->state != C_CONNECTING &&
			    (pfd[k].revents & (POLLIN | POLLERR | POLLHUP)))
				on_readable(c, t);
		}
	}
	if (first_start_ns >= 0) {
		if (!done_first)
			printf("first_ok_ms none sent %llu failed %llu\n", nsent, nfail);
		return done_first ? 0 : 1;
	}
	t = now();
	if (t - last_ok > gap_max) {	/* never acknowledged again before the end */
		gap_max = t - last_ok;
		gap_from = last_ok - t_start;
		gap_to = t - t_start;
	}
	printf("sent %llu ok %llu failed %llu longest_gap_ms %.1f from_ms %.1f to_ms %.1f\n",
	    nsent, nok, nfail, gap_max * 1000, gap_from * 1000, gap_to * 1000);
	return nok ? 0 : 1;
}
