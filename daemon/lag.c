/*
 * lag.c — a member's lag behind the leader, in time (contract in lag.h).
 */
#include "lag.h"

const double lag_buckets[LAG_N_BUCKETS] = {
	0.01,
	0.025,
	0.05,
	0.1,
	0.25,
	0.5,
	1,
	2.5,
	5,
	10,
};

void
lag_reset(struct lag_ring *r)
{
	r->head = 0;
	r->n = 0;
}

/* The i-th sample kept, oldest first. */
static size_t
slot(const struct lag_ring *r, size_t i)
{
	return (r->head + LAG_SAMPLES - r->n + i) % LAG_SAMPLES;
}

void
lag_note(struct lag_ring *r, uint64_t last_index, uint64_t now_ms)
{
	if (r->n > 0 &&
	    (r->index[slot(r, r->n - 1)] >= last_index ||
		now_ms < r->at_ms[slot(r, r->n - 1)] + LAG_NOTE_GAP_MS))
		return;
	r->index[r->head] = last_index;
	r->at_ms[r->head] = now_ms;
	r->head = (r->head + 1) % LAG_SAMPLES;
	if (r->n < LAG_SAMPLES)
		r->n++;
}

uint64_t
lag_ms(const struct lag_ring *r, uint64_t match, uint64_t last_index, uint64_t now_ms)
{
	size_t lo = 0, hi = r->n;

	if (match >= last_index || r->n == 0)
		return 0;
	/* The first sample whose index passed match: indexes only grow. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->index[slot(r, mid)] > match)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == r->n) /* the log grew past match after the last sample */
		return 0;
	return now_ms > r->at_ms[slot(r, lo)] ? now_ms - r->at_ms[slot(r, lo)] : 0;
}

int
lag_episode(bool *behind, uint64_t lag_ms, uint64_t warn_ms)
{
	if (!*behind && lag_ms > warn_ms) {
		*behind = true;
		return LAG_STARTED;
	}
	if (*behind && lag_ms < warn_ms / 2) {
		*behind = false;
		return LAG_ENDED;
	}
	return LAG_SAME;
}

size_t
lag_bucket(uint64_t ms)
{
	size_t b = 0;

	while (b < LAG_N_BUCKETS && (double)ms / 1000.0 > lag_buckets[b])
		b++;
	return b;
}
