/*
 * flood.c — many connections to a raftconfd port, for tests/peerflood.test.
 *
 *	flood -a 127.0.0.1:PORT -n 20000 -P 4 -m hello -c CLUSTER -t 15
 *
 * Opens -n connections, spread over -P processes (each has its own limit
 * of open files, raised here to what it needs), and makes each do -m:
 *
 *	connect	 nothing: connect and stay silent
 *	hello	 a peer HELLO (cluster -c, node id -i with the connection's
 *		 number appended), then silence
 *	garbage	 HELLO, then -f RAFT frames whose payload no Raft message
 *		 decodes from, in one go
 *	partial	 HELLO, then the header of a frame of RAFTCONF_MAX_FRAME bytes
 *		 and all of it but its last byte
 *
 * Then it holds them for -t seconds: with -w only until the other side has
 * closed every one; with -r it opens a new connection for each one closed
 * (the flood keeps up).  It prints one line of counts:
 *
 *	opened=N failed=N closed=N open=N hellos=N rejects=N sent=BYTES ms=N
 *
 * opened: connections established; failed: connects that failed; closed:
 * established ones the other side closed (EOF or reset); open: still open
 * at the end; hellos, rejects: HELLO and REJECT frames received; sent:
 * bytes written; ms: how long the run took.  Exit 0, 2 on a usage error,
 * 77 when the limit of open files cannot be raised far enough.
 *
 * Each process binds its connections to its own loopback source address
 * (127.1.0.N) when the target is 127.0.0.1, so that the flood does not use
 * up the ephemeral ports other tests connect from.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

enum mode { M_CONNECT, M_HELLO, M_GARBAGE, M_PARTIAL };

struct counts {
	uint64_t opened, failed, closed, open, hellos, rejects, sent;
};

struct fconn {
	int fd;		 /* -1: free */
	bool connected;
	bool done; /* everything the mode sends is sent */
	size_t hello_off; /* of the HELLO sent */
	uint64_t extra;	  /* bytes of the mode still to send after it */
	size_t extra_off; /* into the repeated unit */
	uint8_t hdr[PROTO_HEADER_SIZE];
	size_t hdr_have;  /* of the frame being received */
	uint64_t skip;	  /* its body bytes still to skip */
};

static struct {
	struct sockaddr_in dst;
	int nconn, procs, frames, hold_s;
	bool wait_closed, reconnect;
	enum mode mode;
	const char *cluster, *idprefix;
} o = { .nconn = 1, .procs = 1, .frames = 1, .hold_s = 10, .cluster = "test", .idprefix = "flood" };

/* The unit repeated after the HELLO (a garbage frame), or the partial frame's header. */
static uint8_t unit[64];
static size_t unit_len;
static uint8_t zeros[64 * 1024];

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
usage(void)
{
	fprintf(stderr, "usage: flood -a IP:PORT [-n CONNS] [-P PROCS] "
			"[-m connect|hello|garbage|partial] [-c CLUSTER] [-i IDPREFIX] "
			"[-f FRAMES] [-t SECONDS] [-w] [-r]\n");
	exit(2);
}

static size_t
encode(const struct proto_msg *m, uint8_t *out, size_t cap)
{
	struct proto_buf b;
	size_t n = 0;

	proto_buf_init(&b);
	if (proto_encode(&b, m, NULL, 0) == 0 && b.len <= cap) {
		memcpy(out, b.data, b.len);
		n = b.len;
	}
	proto_buf_free(&b);
	return n;
}

static size_t
hello_frame(int num, uint8_t *out, size_t cap)
{
	struct proto_msg m = { .type = PROTO_T_HELLO };
	char id[RAFTCONF_MAX_ID + 1];

	snprintf(id, sizeof(id), "%s%d", o.idprefix, num);
	m.hello.version = PROTO_VERSION;
	m.hello.cluster = proto_cstr(o.cluster);
	m.hello.node_id = proto_cstr(id);
	m.hello.address = proto_cstr("127.0.0.1:1");
	return encode(&m, out, cap);
}

static void
conn_open(struct fconn *c, int epfd, int proc, int num)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c };

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (fd < 0)
		return;
	if (o.dst.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl(0x7f010000u + 1 + (unsigned)proc);
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		bind(fd, (struct sockaddr *)&src, sizeof(src));
	}
	if (connect(fd, (struct sockaddr *)&o.dst, sizeof(o.dst)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->hello_off = 0;
	c->extra = o.mode == M_GARBAGE	 ? (uint64_t)o.frames * unit_len
		   : o.mode == M_PARTIAL ? RAFTCONF_MAX_FRAME - 1
					 : 0;
	(void)num;
	epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void
conn_close(struct fconn *c, int epfd)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* Frames received: counted by type, bodies skipped. */
static void
count_frames(struct fconn *c, const uint8_t *p, size_t n, struct counts *k)
{
	while (n > 0) {
		if (c->skip > 0) {
			size_t s = c->skip < n ? (size_t)c->skip : n;

			c->skip -= s;
			p += s;
			n -= s;
			continue;
		}
		while (n > 0 && c->hdr_have < sizeof(c->hdr)) {
			c->hdr[c->hdr_have++] = *p++;
			n--;
		}
		if (c->hdr_have < sizeof(c->hdr))
			return;
		c->hdr_have = 0;
		c->skip = ((uint32_t)c->hdr[0] << 24 | (uint32_t)c->hdr[1] << 16 |
			      (uint32_t)c->hdr[2] << 8 | c->hdr[3]) -
		    sizeof(c->hdr);
		k->hellos += c->hdr[5] == PROTO_T_HELLO;
		k->rejects += c->hdr[5] == PROTO_T_REJECT;
	}
}

/* Write what the mode wants; false when the connection broke. */
static bool
conn_send(struct fconn *c, int num, struct counts *k)
{
	uint8_t hello[1024];
	size_t hlen;
	ssize_t w;

	if (o.mode == M_CONNECT || c->done) {
		c->done = true;
		return true;
	}
	hlen = hello_frame(num, hello, sizeof(hello));
	while (c->hello_off < hlen) {
		w = send(c->fd, hello + c->hello_off, hlen - c->hello_off, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN;
		c->hello_off += (size_t)w;
		k->sent += (uint64_t)w;
	}
	while (c->extra > 0) {
		const uint8_t *p;
		size_t len;

		if (o.mode == M_GARBAGE) {
			p = unit + c->extra_off;
			len = unit_len - c->extra_off;
		} else if (c->extra_off < unit_len) { /* the partial frame's header */
			p = unit + c->extra_off;
			len = unit_len - c->extra_off;
		} else {
			p = zeros;
			len = c->extra < sizeof(zeros) ? (size_t)c->extra : sizeof(zeros);
		}
		w = send(c->fd, p, len, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN;
		k->sent += (uint64_t)w;
		c->extra -= (uint64_t)w;
		if (o.mode == M_GARBAGE)
			c->extra_off = (c->extra_off + (size_t)w) % unit_len;
		else if (c->extra_off < unit_len)
			c->extra_off += (size_t)w;
	}
	c->done = true;
	return true;
}

static void
run(int proc, int first, int n, int wfd)
{
	struct fconn *conns = calloc((size_t)n, sizeof(*conns));
	struct epoll_event evs[256];
	struct counts k = { 0 };
	uint64_t deadline;
	int epfd = epoll_create1(EPOLL_CLOEXEC), live = 0;

	if (conns == NULL || epfd < 0)
		exit(1);
	for (int i = 0; i < n; i++) {
		conn_open(&conns[i], epfd, proc, first + i);
		if (conns[i].fd < 0)
			k.failed++;
		else
			live++;
	}
	deadline = now_ms() + (uint64_t)o.hold_s * 1000;
	while (now_ms() < deadline && !(o.wait_closed && live == 0)) {
		int ne = epoll_wait(epfd, evs, 256, 50);

		for (int e = 0; e < ne; e++) {
			struct fconn *c = evs[e].data.ptr;
			int num = first + (int)(c - conns);
			bool broken = false;

			if (c->fd < 0)
				continue;
			if (!c->connected) {
				int err = 0;
				socklen_t len = sizeof(err);

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err != 0 || !(evs[e].events & EPOLLOUT)) {
					if (err == 0 && !(evs[e].events & (EPOLLERR | EPOLLHUP)))
						continue;
					k.failed++;
					conn_close(c, epfd);
					live--;
					goto again;
				}
				c->connected = true;
				k.opened++;
			}
			if (evs[e].events & EPOLLIN) {
				uint8_t buf[16384];
				ssize_t r;

				while ((r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
					count_frames(c, buf, (size_t)r, &k);
				broken = r == 0 || (r < 0 && errno != EAGAIN);
			}
			if (!broken && (evs[e].events & EPOLLOUT))
				broken = !conn_send(c, num, &k);
			if (!broken && (evs[e].events & (EPOLLERR | EPOLLHUP)))
				broken = true;
			if (!broken) {
				/* Nothing more to write: stop asking whether we may. */
				if (c->done) {
					struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
						.data.ptr = c };

					epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
				}
				continue;
			}
			k.closed++;
			conn_close(c, epfd);
			live--;
		again:
			if (o.reconnect) {
				conn_open(c, epfd, proc, num);
				if (c->fd >= 0)
					live++;
			}
		}
	}
	k.open = (uint64_t)live;
	if (write(wfd, &k, sizeof(k)) != sizeof(k))
		exit(1);
	exit(0);
}

int
main(int argc, char **argv)
{
	struct counts sum = { 0 };
	char *colon;
	uint64_t t0 = now_ms();
	int c, pfd[2];

	o.dst.sin_family = AF_INET;
	while ((c = getopt(argc, argv, "a:n:P:m:c:i:f:t:wr")) != -1) {
		switch (c) {
		case 'a':
			if ((colon = strrchr(optarg, ':')) == NULL)
				usage();
			*colon = '\0';
			if (inet_pton(AF_INET, optarg, &o.dst.sin_addr) != 1)
				usage();
			o.dst.sin_port = htons((uint16_t)atoi(colon + 1));
			break;
		case 'n':
			o.nconn = atoi(optarg);
			break;
		case 'P':
			o.procs = atoi(optarg);
			break;
		case 'm':
			if (strcmp(optarg, "connect") == 0)
				o.mode = M_CONNECT;
			else if (strcmp(optarg, "hello") == 0)
				o.mode = M_HELLO;
			else if (strcmp(optarg, "garbage") == 0)
				o.mode = M_GARBAGE;
			else if (strcmp(optarg, "partial") == 0)
				o.mode = M_PARTIAL;
			else
				usage();
			break;
		case 'c':
			o.cluster = optarg;
			break;
		case 'i':
			o.idprefix = optarg;
			break;
		case 'f':
			o.frames = atoi(optarg);
			break;
		case 't':
			o.hold_s = atoi(optarg);
			break;
		case 'w':
			o.wait_closed = true;
			break;
		case 'r':
			o.reconnect = true;
			break;
		default:
			usage();
		}
	}
	if (o.dst.sin_port == 0 || o.nconn < 1 || o.procs < 1 || o.procs > 64 || o.frames < 1)
		usage();
	if (o.mode == M_GARBAGE) {
		/* A RAFT frame whose payload is no Raft message. */
		struct proto_msg m = { .type = PROTO_T_RAFT };

		m.raft.payload = proto_mem("\xff\xff\xff\xff", 4);
		unit_len = encode(&m, unit, sizeof(unit));
	} else if (o.mode == M_PARTIAL) {
		/* The header of a frame of the largest size (its CRC never checked:
		 * the frame never ends). */
		uint32_t len = RAFTCONF_MAX_FRAME;

		unit[0] = (uint8_t)(len >> 24);
		unit[1] = (uint8_t)(len >> 16);
		unit[2] = (uint8_t)(len >> 8);
		unit[3] = (uint8_t)len;
		unit[4] = PROTO_VERSION;
		unit[5] = PROTO_T_RAFT;
		unit_len = PROTO_HEADER_SIZE;
	}
	{
		struct rlimit rl;
		rlim_t need = (rlim_t)(o.nconn / o.procs + 64);

		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return 1;
		if (rl.rlim_cur < need) {
			if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
				fprintf(stderr, "flood: %d connections a process need %llu open files, "
						"the hard limit is %llu\n",
				    o.nconn / o.procs, (unsigned long long)need,
				    (unsigned long long)rl.rlim_max);
				return 77;
			}
			rl.rlim_cur = need;
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				return 77;
		}
	}
	if (pipe(pfd) < 0)
		return 1;
	for (int p = 0; p < o.procs; p++) {
		int first = o.nconn / o.procs * p, n = p == o.procs - 1
							     ? o.nconn - first
							     : o.nconn / o.procs;
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			close(pfd[0]);
			run(p, first, n, pfd[1]);
		}
	}
	close(pfd[1]);
	for (int p = 0; p < o.procs; p++) {
		struct counts k;

		if (read(pfd[0], &k, sizeof(k)) != sizeof(k))
			break;
		sum.opened += k.opened;
		sum.failed += k.failed;
		sum.closed += k.closed;
		sum.open += k.open;
		sum.hellos += k.hellos;
		sum.rejects += k.rejects;
		sum.sent += k.sent;
	}
	while (wait(NULL) > 0)
		;
	printf("opened=%llu failed=%llu closed=%llu open=%llu hellos=%llu rejects=%llu sent=%llu "
	       "ms=%llu\n",
	    (unsigned long long)sum.opened, (unsigned long long)sum.failed,
	    (unsigned long long)sum.closed, (unsigned long long)sum.open,
	    (unsigned long long)sum.hellos, (unsigned long long)sum.rejects,
	    (unsigned long long)sum.sent, (unsigned long long)(now_ms() - t0));
	return 0;
}
