/*
 * fsutil.c — making a rename durable: fsync of a directory; deleting files
 * off the loop (contracts in fsutil.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

int
fs_sync_dir(const char *dir)
{
	int fd, r = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	return r;
}

void
fs_parent_dir(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

int
fs_sync_parent(const char *path)
{
	size_t len = strlen(path) + 2;
	char *dir = malloc(len);
	int r;

	if (dir == NULL)
		return -ENOMEM;
	fs_parent_dir(path, dir, len);
	r = fs_sync_dir(dir);
	free(dir);
	return r;
}

int
fs_thread_start(pthread_t *t, bool detached, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_attr_init(&attr);
	if (r == 0) {
		if (detached)
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(t, &attr, fn, arg);
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

/* One fs_unlink_async() call: its turn, its directory and its names, each \0-ended. */
struct unlink_job {
	uint64_t ticket;
	int dirfd;
	size_t n;
	char names[];
};

/* Jobs run one at a time, in the order they were asked for. */
static pthread_mutex_t unlink_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t unlink_cv = PTHREAD_COND_INITIALIZER;
static uint64_t unlink_next, unlink_serving;

static void *
unlink_job_run(void *arg)
{
	struct unlink_job *j = arg;
	const char *name = j->names;

	pthread_mutex_lock(&unlink_mu);
	while (unlink_serving != j->ticket)
		pthread_cond_wait(&unlink_cv, &unlink_mu);
	pthread_mutex_unlock(&unlink_mu);
	for (size_t i = 0; i < j->n; i++) {
		if (unlinkat(j->dirfd, name, 0) == 0)
			(void)fsync(j->dirfd);
		name += strlen(name) + 1;
	}
	close(j->dirfd);
	pthread_mutex_lock(&unlink_mu);
	unlink_serving++;
	pthread_cond_broadcast(&unlink_cv);
	pthread_mutex_unlock(&unlink_mu);
	free(j);
	return NULL;
}

void
fs_unlink_wait(void)
{
	pthread_mutex_lock(&unlink_mu);
	while (unlink_serving != unlink_next)
		pthread_cond_wait(&unlink_cv, &unlink_mu);
	pthread_mutex_unlock(&unlink_mu);
}

int
fs_unlink_async(int dirfd, const char *names, size_t len, size_t n)
{
	struct unlink_job *j;
	pthread_t t;
	int r;

	if (n == 0)
		return 0;
	if ((j = malloc(sizeof(*j) + len)) == NULL)
		return -ENOMEM;
	if ((j->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		r = -errno;
		free(j);
		return r;
	}
	j->n = n;
	pthread_mutex_lock(&unlink_mu);
	j->ticket = unlink_next++;
	pthread_mutex_unlock(&unlink_mu);
	memcpy(j->names, names, len);
	if (fs_thread_start(&t, true, unlink_job_run, j) < 0)
		unlink_job_run(j);
	return 0;
}
