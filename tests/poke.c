/*
 * poke — send hostile or odd bytes to a raftconfd port and report what the
 * daemon did, for the shell tests.
 *
 *	poke tcp HOST:PORT raw		send stdin, then wait
 *	poke unix PATH raw
 *	poke tcp HOST:PORT hello CLUSTER ID   send a HELLO frame, then wait
 *	poke tcp HOST:PORT hello CLUSTER ID reject TEXT
 *					then a REJECT frame with TEXT
 *	poke unix-close PATH		the other end: listen at PATH, take one
 *					client, and close on it, unread, as soon
 *					as its first bytes arrive
 *
 * It prints the frames it gets back ("REJECT: text", "HELLO cluster id",
 * "ERROR code: text", or the type name), then "closed" when the daemon
 * closed the connection, or "open" when it was still open after 3 seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

static int
dial(const char *kind, const char *where)
{
	int fd;

	if (strcmp(kind, "unix") == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", where);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
	} else {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		char host[64];
		const char *colon = strrchr(where, ':');

		if (colon == NULL || (size_t)(colon - where) >= sizeof(host))
			return -1;
		memcpy(host, where, colon - where);
		host[colon - where] = '\0';
		sin.sin_port = htons(atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return -1;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return fd;
	}
	perror("poke: connect");
	return -1;
}

static void
print_frame(const uint8_t *buf, size_t len)
{
	struct proto_msg m;
	char err[256];

	if (proto_decode(buf, len, &m, err, sizeof(err)) < 0) {
		printf("undecodable: %s\n", err);
		return;
	}
	switch (m.type) {
	case PROTO_T_REJECT:
		printf("REJECT: %.*s\n", (int)m.reject.message.len, m.reject.message.ptr);
		break;
	case PROTO_T_HELLO:
		printf("HELLO %.*s %.*s\n", (int)m.hello.cluster.len, m.hello.cluster.ptr,
		    (int)m.hello.node_id.len, m.hello.node_id.ptr);
		break;
	case PROTO_T_ERROR:
		printf("ERROR %s: %.*s\n", proto_error_name(m.error.code), (int)m.error.message.len,
		    m.error.message.ptr);
		break;
	default:
		printf("%s\n", proto_type_name(m.type));
		break;
	}
}

/* A daemon that drops a client mid-request, as one at its limit does. */
static int
close_on_first_bytes(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	int l = socket(AF_UNIX, SOCK_STREAM, 0), fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(l, 1) < 0) {
		perror("poke: listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	pfd = (struct pollfd){ l, POLLIN, 0 };
	if (poll(&pfd, 1, 30000) != 1) {
		printf("no client came\n");
		return 1;
	}
	if ((fd = accept(l, NULL, NULL)) < 0) {
		perror("poke: accept");
		return 1;
	}
	pfd = (struct pollfd){ fd, POLLIN, 0 };
	if (poll(&pfd, 1, 30000) != 1) {
		printf("nothing came\n");
		return 1;
	}
	close(fd);
	close(l);
	unlink(path);
	printf("closed on it\n");
	return 0;
}

int
main(int argc, char **argv)
{
	static uint8_t in[1 << 20];
	size_t have = 0, flen;
	struct pollfd pfd;
	int fd;

	signal(SIGPIPE, SIG_IGN); /* a daemon that closes first: "closed", not death */
	if (argc == 3 && strcmp(argv[1], "unix-close") == 0)
		return close_on_first_bytes(argv[2]);
	if (argc < 4) {
		fprintf(stderr,
		    "usage: poke tcp|unix WHERE raw | hello CLUSTER ID [reject TEXT]\n"
		    "       poke unix-close PATH\n");
		return 2;
	}
	if ((fd = dial(argv[1], argv[2])) < 0)
		return 1;
	if (strcmp(argv[3], "hello") == 0 &&
	    (argc == 6 || (argc == 8 && strcmp(argv[6], "reject") == 0))) {
		struct proto_msg m = { .type = PROTO_T_HELLO };
		struct proto_buf b;

		proto_buf_init(&b);
		m.hello.version = PROTO_VERSION;
		m.hello.cluster = proto_cstr(argv[4]);
		m.hello.node_id = proto_cstr(argv[5]);
		m.hello.address = proto_cstr("127.0.0.1:1");
		if (proto_encode(&b, &m, NULL, 0) < 0) {
			fprintf(
			    stderr, "poke: cannot encode the HELLO (cluster or id too long?)\n");
			return 1;
		}
		if (argc == 8) {
			struct proto_msg r = { .type = PROTO_T_REJECT };

			r.reject.message = proto_cstr(argv[7]);
			if (proto_encode(&b, &r, NULL, 0) < 0) {
				fprintf(
				    stderr, "poke: cannot encode the REJECT (text too long?)\n");
				return 1;
			}
		}
		errno = 0;
		if (write(fd, b.data, b.len) != (ssize_t)b.len) {
			fprintf(stderr, "poke: %s: sending the HELLO failed: %s\n", argv[2],
			    errno ? strerror(errno) : "a short write");
			return 1;
		}
		proto_buf_free(&b);
	} else {
		ssize_t n;
		char buf[4096];

		while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
			if (write(fd, buf, n) != n)
				break;
	}
	pfd = (struct pollfd){ fd, POLLIN, 0 };
	for (;;) {
		ssize_t n;

		if (poll(&pfd, 1, 3000) == 0) {
			printf("open\n");
			return 0;
		}
		n = read(fd, in + have, sizeof(in) - have);
		if (n <= 0) {
			printf("closed\n");
			return 0;
		}
		have += n;
		while (proto_frame_check(in, have, &flen) == 0) {
			print_frame(in, flen);
			memmove(in, in + flen, have - flen);
			have -= flen;
		}
	}
}
