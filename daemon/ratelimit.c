/*
 * ratelimit.c — log lines per source and window (contract in ratelimit.h).
 */
#include "ratelimit.h"

#include <stdio.h>
#include <string.h>

void
ratelimit_init(struct ratelimit *rl)
{
	memset(rl, 0, sizeof(*rl));
}

static bool
ended(const struct ratelimit_slot *s, uint64_t now_ms)
{
	return now_ms - s->start_ms >= RATELIMIT_WINDOW_MS;
}

static struct ratelimit_slot *
slot_for(struct ratelimit *rl, const char *key, uint64_t now_ms)
{
	struct ratelimit_slot *free_slot = NULL, *s;

	for (size_t i = 0; i < RATELIMIT_SOURCES - 1; i++) {
		s = &rl->slot[i];
		if (s->key[0] && strncmp(s->key, key, RATELIMIT_KEY - 1) == 0)
			return s;
		/* A window that ended with nothing held back owes no summary. */
		if (free_slot == NULL &&
		    (s->key[0] == '\0' || (ended(s, now_ms) && s->suppressed == 0)))
			free_slot = s;
	}
	if (free_slot == NULL) {
		s = &rl->slot[RATELIMIT_SOURCES - 1];
		if (s->key[0] == '\0')
			snprintf(s->key, sizeof(s->key), "%s", RATELIMIT_OTHERS);
		return s;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	free_slot->start_ms = now_ms;
	return free_slot;
}

bool
ratelimit_allow(struct ratelimit *rl, const char *key, uint64_t now_ms)
{
	struct ratelimit_slot *s = slot_for(rl, key, now_ms);

	if (ended(s, now_ms)) {
		s->start_ms = now_ms;
		s->written = 0;
	}
	if (!rl->started || now_ms - rl->start_ms >= RATELIMIT_WINDOW_MS) {
		rl->started = true;
		rl->start_ms = now_ms;
		rl->written = 0;
	}
	if (s->written < RATELIMIT_BURST && rl->written < RATELIMIT_TOTAL) {
		s->written++;
		rl->written++;
		return true;
	}
	s->suppressed++;
	return false;
}

size_t
ratelimit_flush(struct ratelimit *rl, uint64_t now_ms,
    void (*fn)(void *arg, const char *key, uint64_t count), void *arg)
{
	size_t holding = 0;

	for (size_t i = 0; i < RATELIMIT_SOURCES; i++) {
		struct ratelimit_slot *s = &rl->slot[i];

		if (s->key[0] == '\0')
			continue;
		if (!ended(s, now_ms)) {
			holding += s->suppressed > 0;
			continue;
		}
		if (s->suppressed > 0 && fn)
			fn(arg, s->key, s->suppressed);
		memset(s, 0, sizeof(*s));
	}
	return holding;
}
