/*
 * notify-listen — stand in for systemd's end of NOTIFY_SOCKET in tests.
 *
 *	notify-listen PATH SECONDS
 *
 * Binds a Unix datagram socket at PATH and prints every message it gets, one
 * line per assignment, as "MS KEY=VALUE" (MS: milliseconds since start), for
 * at most SECONDS.  Flushes after every line so a test can watch the file.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timespec t0;
	char buf[4096];
	long limit;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: notify-listen PATH SECONDS\n");
		return 2;
	}
	limit = atol(argv[2]) * 1000;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror("notify-listen");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms_since(&t0) < limit) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;
		char *line, *save;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			printf("%ld %s\n", ms_since(&t0), line);
		fflush(stdout);
	}
	unlink(argv[1]);
	return 0;
}
