/*
 * lag.h — how far behind the leader a member is, in time: the bookkeeping
 * behind raftconfctl members' LAG-MS, the learner lag warning and the
 * raftconfd_learner_lag_seconds histogram.
 *
 * The leader notes its last log index as its log grows, at most once every
 * LAG_NOTE_GAP_MS, and once a tick (a ring of (index, time) samples): a
 * learner fed once a tick lags by less than a tick, which samples taken
 * only once a tick could not see.  A member whose log ends at match lacks the
 * entries after it; the oldest of them, match + 1, was in the leader's log
 * at the first sample whose index passed match.  Its age then is the
 * member's lag in time: 0 when it has the leader's last entry; a lower
 * bound, off by at most LAG_NOTE_GAP_MS, otherwise; and at least the age of the
 * oldest sample kept when the ring no longer reaches back that far.
 *
 * Pure: no clock (the caller passes now), no I/O, no allocation.
 */
#ifndef RAFTCONF_LAG_H
#define RAFTCONF_LAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Samples kept, at least LAG_NOTE_GAP_MS apart: the ring reaches back at
 * least 40 s under writes that never stop. */
#define LAG_SAMPLES	4096
#define LAG_NOTE_GAP_MS 10

struct lag_ring {
	uint64_t index[LAG_SAMPLES];
	uint64_t at_ms[LAG_SAMPLES];
	size_t head; /* the next slot written */
	size_t n;    /* samples kept, <= LAG_SAMPLES */
};

/* Forget every sample (a new leader's log may differ from the last one's). */
void lag_reset(struct lag_ring *r);

/* The leader's log ends at last_index at now_ms; kept if it grew since the
 * last sample and LAG_NOTE_GAP_MS passed (or the ring is empty). */
void lag_note(struct lag_ring *r, uint64_t last_index, uint64_t now_ms);

/* How long ago (ms) the oldest entry a member lacks that has its log end at
 * match was already in the leader's log, which ends at last_index. */
uint64_t lag_ms(const struct lag_ring *r, uint64_t match, uint64_t last_index, uint64_t now_ms);

/*
 * A lag episode, for a warning logged once when it starts and once when it
 * ends: *behind says whether one is going on.  It starts when lag_ms exceeds
 * warn_ms and ends when it falls back under half of it (so that a member
 * hovering at the threshold is not logged each tick).  LAG_STARTED,
 * LAG_ENDED, or LAG_SAME; *behind is updated.
 */
enum { LAG_SAME = 0, LAG_STARTED = 1, LAG_ENDED = 2 };
int lag_episode(bool *behind, uint64_t lag_ms, uint64_t warn_ms);

/* The raftconfd_learner_lag_seconds histogram's upper bounds (s). */
#define LAG_N_BUCKETS 10
extern const double lag_buckets[LAG_N_BUCKETS];

/* The bucket of a lag of ms: 0..LAG_N_BUCKETS (the last: over them all). */
size_t lag_bucket(uint64_t ms);

#endif
