/*
 * child.c — the start of a child process the node forks to read or write
 * its store off the event loop: a snapshot's writer (snapshot.c) and a
 * grower of the store's file (grow.c).
 */
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "driver.h"
#include "store.h"

void
node_child_start(struct node *n, pid_t parent)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/* Die with the node: it holds the data dir's lock fd too. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	store_after_fork(n->store);
}
