/*
 * ratelimit.h — how many log lines about one source (a peer connection)
 * may be written, so that a flood of peers that send garbage as fast as
 * they can costs the log a few lines a window instead of one a frame.
 *
 * Each source (a short string key) may have RATELIMIT_BURST lines written
 * in a window of RATELIMIT_WINDOW_MS that starts at its first line, and all
 * sources together RATELIMIT_TOTAL in a window that starts at the first
 * line of any; the rest are counted, and each source's count is handed
 * back once for a summary ("N more lines suppressed").  Sources are kept
 * in a fixed table: when it is full, new sources share one last slot
 * ("other sources"), so memory stays bounded however many sources a flood
 * makes up, and the log too.
 *
 * Pure: no clock (the caller passes now_ms), no I/O, no allocation.
 */
#ifndef RAFTCONF_RATELIMIT_H
#define RAFTCONF_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lines written for one source per window, and for all of them. */
#define RATELIMIT_BURST	    10
#define RATELIMIT_TOTAL	    50
#define RATELIMIT_WINDOW_MS 10000
/* Sources tracked apart; the last slot is shared by the rest. */
#define RATELIMIT_SOURCES 32
#define RATELIMIT_KEY	  64

/* The key of the shared slot, as handed to the summary. */
#define RATELIMIT_OTHERS "other sources"

struct ratelimit_slot {
	char key[RATELIMIT_KEY]; /* "" when free */
	uint64_t start_ms;	 /* of the current window */
	unsigned written;	 /* lines written in it */
	uint64_t suppressed;	 /* lines held back in it */
};

struct ratelimit {
	struct ratelimit_slot slot[RATELIMIT_SOURCES];
	bool started;
	uint64_t start_ms; /* of the window of all sources */
	unsigned written;  /* lines written in it */
};

void ratelimit_init(struct ratelimit *rl);

/*
 * May a line about key be written at now_ms?  Counts it either way.  A key
 * longer than RATELIMIT_KEY - 1 bytes is compared on its first ones.
 */
bool ratelimit_allow(struct ratelimit *rl, const char *key, uint64_t now_ms);

/*
 * For every source whose window has ended with lines held back: fn(arg,
 * key, count), and that source starts afresh.  Returns the number of
 * sources still holding lines back in a window not yet ended (the caller
 * calls again later: at the latest RATELIMIT_WINDOW_MS from now).
 */
size_t ratelimit_flush(struct ratelimit *rl, uint64_t now_ms,
    void (*fn)(void *arg, const char *key, uint64_t count), void *arg);

#endif
