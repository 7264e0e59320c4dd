/*
 * watch.h — raftconfctl watch: every change under a prefix after a
 * revision, then live, surviving the daemon's restarts.
 *
 * For: asking the daemon again and again for the changes after the last
 * revision told (POLL, proto.h), printing them through the output chosen
 * or handing them to --exec, and reconnecting with backoff when the daemon
 * goes away.  Not for: parsing the command line (raftconfctl.c, cmd_kv.c).
 */
#ifndef RAFTCONF_CTL_WATCH_H
#define RAFTCONF_CTL_WATCH_H

#include <stdbool.h>
#include <stdint.h>

struct client;
struct output;

struct watch_args {
	const char *prefix;
	bool from_rev_set; /* --from-rev given: every change after from_rev */
	uint64_t from_rev;
	const char *exec; /* --exec CMD, or NULL: changes go to CMD, not to out */
	double timeout;	  /* --timeout: how long an answer may take beyond a poll's wait */
};

/*
 * Run the watch until a failure another try cannot mend (the history no
 * longer reaches back to the revision asked, a refusal): returns the exit
 * status, 1.  A lost daemon is no such failure: the watch waits for it.
 * With exec, CMD runs beside the watch, one run at a time, the changes that
 * come during a run making one more (raftconfctl(8)); the watch blocks
 * SIGCHLD for this, and before returning waits for the runs it owes.
 */
int watch_run(struct client *c, const struct output *out, const struct watch_args *a);

#endif
