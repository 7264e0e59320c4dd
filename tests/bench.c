/*
 * bench — closed-loop load on raftconfd's control socket.
 *
 *	bench -s SOCKET -c CLIENTS -t SECONDS -o set|cas|get|stale [-v BYTES]
 *	      [-k KEYS] [-n REQUESTS] [-u]
 *
 * set writes a key of /bench/0../bench/KEYS-1 (-u: of /bench/PID/..., keys
 * no earlier run wrote; with -k 1000000000 each write is a new key); cas is
 * the same write made conditional, a SET_IF of revision 0 (only if the key
 * does not exist: on new keys it holds every time, so each write is decided
 * by the state machine and applied, as a plain one); get and stale read
 * them.
 * -n stops after that many answered requests (tests use it to load a
 * cluster with a known amount of data); -t still bounds the time.
 * Each client is one connection with one request in flight: it sends the
 * next as soon as the answer to the last arrives.  Prints one line:
 *	op clients ops/s p50_us p99_us errors max_us
 * Timing lives here, in a benchmark, never in a pass/fail test.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

struct client {
	int fd;
	uint8_t *in;
	size_t have;
	double sent;
	uint64_t seq;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Request number seq of client i: op on its key. */
static bool unique; /* -u */

static void
fill(struct proto_msg *m, const char *op, int i, uint64_t seq, int nkeys, char *key, size_t klen,
    const char *value, int vsize)
{
	int n = (int)((seq * 7919 + (uint64_t)i) % (uint64_t)nkeys);

	if (unique)
		snprintf(key, klen, "/bench/%d/%d", (int)getpid(), n);
	else
		snprintf(key, klen, "/bench/%d", n);
	if (strcmp(op, "set") == 0) {
		m->type = PROTO_T_SET;
		m->set.client_id = (uint64_t)getpid() << 20 | (uint64_t)i;
		m->set.seq = seq;
		m->set.key = proto_cstr(key);
		m->set.value = proto_mem(value, vsize);
	} else if (strcmp(op, "cas") == 0) {
		m->type = PROTO_T_SET_IF;
		m->set_if.client_id = (uint64_t)getpid() << 20 | (uint64_t)i;
		m->set_if.seq = seq;
		m->set_if.if_rev = 0;
		m->set_if.key = proto_cstr(key);
		m->set_if.value = proto_mem(value, vsize);
	} else {
		m->type = PROTO_T_GET;
		m->get.flags = strcmp(op, "stale") == 0 ? PROTO_F_STALE : 0;
		m->get.key = proto_cstr(key);
	}
}

static int
dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	const char *sock = NULL, *op = "set";
	int nclients = 1, seconds = 5, vsize = 128, nkeys = 1000, c;
	long limit = -1, sent = 0;
	struct client *cl;
	struct pollfd *pfd;
	struct proto_buf b;
	double *lat, start, end;
	size_t nlat = 0, cap = 1 << 20, errors = 0;
	char *value, key[64];

	while ((c = getopt(argc, argv, "s:c:t:o:v:k:n:u")) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'c': nclients = atoi(optarg); break;
		case 't': seconds = atoi(optarg); break;
		case 'o': op = optarg; break;
		case 'v': vsize = atoi(optarg); break;
		case 'k': nkeys = atoi(optarg); break;
		case 'n': limit = atol(optarg); break;
		case 'u': unique = true; break;
		default: return 2;
		}
	}
	if (sock == NULL || nclients < 1 || nkeys < 1) {
		fprintf(stderr,
		    "usage: bench -s SOCKET -c CLIENTS -t SECONDS -o set|cas|get|stale\n");
		return 2;
	}
	cl = calloc(nclients, sizeof(*cl));
	pfd = calloc(nclients, sizeof(*pfd));
	lat = malloc(cap * sizeof(*lat));
	value = malloc(vsize);
	memset(value, 'v', vsize);
	proto_buf_init(&b);
	for (int i = 0; i < nclients; i++) {
		cl[i].fd = dial(sock);
		cl[i].in = malloc(RAFTCONF_MAX_FRAME);
		pfd[i] = (struct pollfd){ cl[i].fd, POLLIN, 0 };
	}

	start = now();
	end = start + seconds;
	/* Every client sends its first request; each answer triggers the next. */
	{
		for (int i = 0; i < nclients; i++) {
			struct proto_msg m = { .id = ++cl[i].seq };

			fill(&m, op, i, cl[i].seq, nkeys, key, sizeof(key), value, vsize);
			proto_buf_reset(&b);
			proto_encode(&b, &m, NULL, 0);
			cl[i].sent = now();
			if (write(cl[i].fd, b.data, b.len) != (ssize_t)b.len) {
				perror("write");
				return 1;
			}
		}
	}
	sent = nclients;
	while (now() < end && (limit < 0 || (long)nlat < limit)) {
		int n = poll(pfd, nclients, 100);

		for (int i = 0; n > 0 && i < nclients; i++) {
			struct client *k = &cl[i];
			size_t flen;
			ssize_t r;

			if (!(pfd[i].revents & POLLIN))
				continue;
			r = read(k->fd, k->in + k->have, RAFTCONF_MAX_FRAME - k->have);
			if (r <= 0) {
				fprintf(stderr, "bench: connection closed\n");
				return 1;
			}
			k->have += r;
			while (proto_frame_check(k->in, k->have, &flen) == 0) {
				struct proto_msg m = { 0 }, q = { .id = ++k->seq };
				double t = now();

				proto_decode(k->in, flen, &m, NULL, 0);
				/* A missing key is a normal answer to a read. */
				if (m.type == PROTO_T_ERROR && m.error.code != PROTO_E_NOTFOUND &&
				    errors++ == 0)
					fprintf(stderr, "bench: first error: %s: %.*s\n",
					    proto_error_name(m.error.code), (int)m.error.message.len,
					    m.error.message.ptr);
				/* A cas whose key was there: no write, counted apart. */
				if (m.type == PROTO_T_FAILED && errors++ == 0)
					fprintf(stderr, "bench: a cas found its key at revision %llu\n",
					    (unsigned long long)m.failed.revision);
				if (nlat < cap)
					lat[nlat++] = t - k->sent;
				memmove(k->in, k->in + flen, k->have - flen);
				k->have -= flen;
				if (t >= end || (limit >= 0 && sent >= limit))
					continue;
				sent++;
				fill(&q, op, i, k->seq, nkeys, key, sizeof(key), value, vsize);
				proto_buf_reset(&b);
				proto_encode(&b, &q, NULL, 0);
				k->sent = t;
				if (write(k->fd, b.data, b.len) != (ssize_t)b.len) {
					perror("write");
					return 1;
				}
			}
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("%-6s %4d %10.0f %10.0f %10.0f %6zu %10.0f\n", op, nclients, nlat / (now() - start),
	    nlat ? lat[nlat / 2] * 1e6 : 0, nlat ? lat[nlat * 99 / 100] * 1e6 : 0, errors,
	    nlat ? lat[nlat - 1] * 1e6 : 0);
	for (int i = 0; i < nclients; i++) {
		close(cl[i].fd);
		free(cl[i].in);
	}
	free(cl);
	free(pfd);
	free(lat);
	free(value);
	proto_buf_free(&b);
	return 0;
}
