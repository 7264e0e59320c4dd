/*
 * bench — closed-loop load on raftconfd's control socket.
 *
 *	bench -s SOCKET -c CLIENTS -t SECONDS -o set|cas|txn|get|stale [-v BYTES]
 *	      [-k KEYS] [-n REQUESTS] [-u | -q]
 *	bench -o fsync -d DIR -t SECONDS
 *	bench -o rtt -t SECONDS
 *
 * set writes a key of /bench/0../bench/KEYS-1 (-u: of /bench/PID/..., keys
 * no earlier run wrote; with -k 1000000000 each write is a new key); cas is
 * the same write made conditional, a SET_IF of revision 0 (only if the key
 * does not exist: on new keys it holds every time, so each write is decided
 * by the state machine and applied, as a plain one); txn writes
 * RAFTCONF_MAX_TXN_OPS keys in one TXN (no compares), the next ones in
 * turn with -q (so -q -o txn -n N -k K, N * RAFTCONF_MAX_TXN_OPS >= K,
 * fills a store of K keys quickly); get and stale read them.
 * -q takes the keys in turn instead, /bench/0, /bench/1, ... across all
 * clients (-q -n N -k N writes N distinct keys: a store of N keys).
 * -n stops after that many answered requests (tests use it to load a
 * cluster with a known amount of data); -t still bounds the time.
 * The floor of a replicated write on this machine: fsync appends 4 KiB to
 * a preallocated file in DIR and fdatasyncs it, as the WAL does; rtt sends
 * 64 bytes over loopback TCP (TCP_NODELAY) to an echoing child process
 * and waits for them back.
 * Each client is one connection with one request in flight: it sends the
 * next as soon as the answer to the last arrives.  Prints one line:
 *	op clients ops/s p50_us p99_us errors max_us
 * Timing lives here, in a benchmark, never in a pass/fail test.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
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
static bool unique;	 /* -u */
static bool in_turn;	 /* -q */
static uint64_t turn;	 /* -q: the next key */

static void fill(struct proto_msg *m, const char *op, int i, uint64_t seq, int nkeys, char *key,
    size_t klen, const char *value, int vsize);

/* A TXN of RAFTCONF_MAX_TXN_OPS sets, each key as fill() picks a set's. */
static void
fill_txn(struct proto_msg *m, int i, uint64_t seq, int nkeys, const char *value, int vsize)
{
	static struct proto_buf ops;
	uint32_t n = 0;
	char key[64];

	proto_buf_reset(&ops);
	for (int k = 0; k < RAFTCONF_MAX_TXN_OPS; k++) {
		struct proto_msg one = { 0 };
		struct proto_op o = { PROTO_OP_SET, { NULL, 0 }, proto_mem(value, vsize) };

		fill(&one, "set", i, seq * RAFTCONF_MAX_TXN_OPS + k, nkeys, key, sizeof(key), value,
		    vsize);
		o.key = one.set.key;
		if (proto_txn_add_op(&ops, &n, &o) != 0)
			break;
	}
	m->type = PROTO_T_TXN;
	m->txn.client_id = (uint64_t)getpid() << 20 | (uint64_t)i;
	m->txn.seq = seq;
	m->txn.then_ops = (struct proto_items){ n, ops.data, ops.len };
}

static void
fill(struct proto_msg *m, const char *op, int i, uint64_t seq, int nkeys, char *key, size_t klen,
    const char *value, int vsize)
{
	int n;

	if (strcmp(op, "txn") == 0) {
		fill_txn(m, i, seq, nkeys, value, vsize);
		return;
	}
	n = (int)((in_turn ? turn++ : seq * 7919 + (uint64_t)i) % (uint64_t)nkeys);

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

/* Print latencies as every op does: name clients ops/s p50 p99 errors max. */
static void
report(const char *op, int nclients, double *lat, size_t nlat, double secs, size_t errors)
{
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("%-6s %4d %10.0f %10.0f %10.0f %6zu %10.0f\n", op, nclients, nlat / secs,
	    nlat ? lat[nlat / 2] * 1e6 : 0, nlat ? lat[nlat * 99 / 100] * 1e6 : 0, errors,
	    nlat ? lat[nlat - 1] * 1e6 : 0);
}

/* fdatasync of 4 KiB appended to a preallocated file in dir, as the WAL's. */
static int
floor_fsync(const char *dir, int seconds)
{
	enum { BLOCK = 4096, CAP = 1 << 20 };
	static char block[BLOCK];
	char path[4096];
	double *lat = malloc(CAP * sizeof(*lat)), end, t;
	size_t nlat = 0, errors = 0;
	off_t off = 0, size = 64 << 20;
	int fd;

	snprintf(path, sizeof(path), "%s/bench-fsync.tmp", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || lat == NULL || posix_fallocate(fd, 0, size) != 0 || fsync(fd) < 0) {
		perror(path);
		return 1;
	}
	memset(block, 'w', sizeof(block));
	end = now() + seconds;
	while ((t = now()) < end && nlat < CAP) {
		if (off + BLOCK > size)
			off = 0;
		if (pwrite(fd, block, BLOCK, off) != BLOCK || fdatasync(fd) < 0)
			errors++;
		off += BLOCK;
		lat[nlat++] = now() - t;
	}
	close(fd);
	unlink(path);
	report("fsync", 1, lat, nlat, seconds, errors);
	free(lat);
	return 0;
}

/* A round trip of 64 bytes over loopback TCP to an echoing child. */
static int
floor_rtt(int seconds)
{
	enum { CAP = 1 << 22 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	char buf[64] = { 0 };
	double *lat = malloc(CAP * sizeof(*lat)), end, t;
	size_t nlat = 0, errors = 0;
	int ls = socket(AF_INET, SOCK_STREAM, 0), fd, one = 1, st;
	pid_t pid;

	if (ls < 0 || lat == NULL || bind(ls, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(ls, 1) < 0 || getsockname(ls, (struct sockaddr *)&sin, &sl) < 0) {
		perror("rtt: listen");
		return 1;
	}
	if ((pid = fork()) == 0) {
		int c = accept(ls, NULL, NULL);
		ssize_t r;

		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while ((r = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)r) != r)
				break;
		_exit(0);
	}
	close(ls);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (pid < 0 || fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("rtt: connect");
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	end = now() + seconds;
	while ((t = now()) < end && nlat < CAP) {
		size_t got = 0;
		ssize_t r;

		if (write(fd, buf, sizeof(buf)) != sizeof(buf)) {
			errors++;
			break;
		}
		while (got < sizeof(buf) && (r = read(fd, buf + got, sizeof(buf) - got)) > 0)
			got += (size_t)r;
		if (got < sizeof(buf)) {
			errors++;
			break;
		}
		lat[nlat++] = now() - t;
	}
	close(fd);
	waitpid(pid, &st, 0);
	report("rtt", 1, lat, nlat, seconds, errors);
	free(lat);
	return 0;
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
	const char *dir = ".";

	while ((c = getopt(argc, argv, "s:c:t:o:v:k:n:uqd:")) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'c': nclients = atoi(optarg); break;
		case 't': seconds = atoi(optarg); break;
		case 'o': op = optarg; break;
		case 'v': vsize = atoi(optarg); break;
		case 'k': nkeys = atoi(optarg); break;
		case 'n': limit = atol(optarg); break;
		case 'u': unique = true; break;
		case 'q': in_turn = true; break;
		case 'd': dir = optarg; break;
		default: return 2;
		}
	}
	if (strcmp(op, "fsync") == 0)
		return floor_fsync(dir, seconds);
	if (strcmp(op, "rtt") == 0)
		return floor_rtt(seconds);
	if (sock == NULL || nclients < 1 || nkeys < 1) {
		fprintf(stderr,
		    "usage: bench -s SOCKET -c CLIENTS -t SECONDS -o set|cas|txn|get|stale\n"
		    "       bench -o fsync -d DIR -t SECONDS | bench -o rtt -t SECONDS\n");
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
	report(op, nclients, lat, nlat, now() - start, errors);
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
