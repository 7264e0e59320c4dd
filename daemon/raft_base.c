/*
 * raft_base.c — what every other part of the core uses: the step down to
 * follower (§5.1: a higher term, a lost election, a leader that lost its
 * quorum or removed itself) with the randomized election timeout (§5.2)
 * and its generator; and the output of the batch being built: messages to
 * send now or once the batch is durable, memory freed by raft_advance,
 * calls deferred while a batch is out, the reason a message was refused.
 *
 * Not here: any decision.  These functions record what the others decide.
 */
#include <stdlib.h>
#include <string.h>

#include "raft.h"
#include "raft_int.h"

/* ---------------------------------------------------------------- vectors */

int
raft__vec_grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*v, ncap * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

/* ------------------------------------------------------------------- PRNG */

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
uint64_t
raft__rng_next(struct raft *r)
{
	uint64_t *s = r->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

void
raft__reset_timeout(struct raft *r)
{
	/* §5.2: randomized in [election, 2 * election) */
	r->timeout = r->cfg.election_ticks + (unsigned)(raft__rng_next(r) % r->cfg.election_ticks);
}

/* ---------------------------------------------------------------- outputs */

void
raft__msg_init(struct raft *r, struct raft_msg *m, uint8_t type, uint64_t to)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->id;
	m->to = to;
	m->term = r->term;
}

/* Messages are dropped when memory runs out: Raft tolerates lost messages. */
void
raft__queue_msg(struct raft *r, struct raft_msg *m)
{
	(void)VEC_PUSH(r->msgs, *m);
}

void
raft__queue_msg_after_persist(struct raft *r, struct raft_msg *m)
{
#ifdef RAFT_BUG_VOTE_BEFORE_PERSIST
	if (m->type == RAFT_MSG_VOTE_RESP) {
		raft__queue_msg(r, m);
		return;
	}
#endif
	(void)VEC_PUSH(r->msgs_after, *m);
}

/* raft_step() refuses the message it was given: rc, with why in words. */
int
raft__refuse(struct raft *r, int rc, const char *why)
{
	r->step_rc = rc;
	r->why = why;
	return rc;
}

/* Hand p to raft_advance() to free; on failure p is freed now and the
 * caller must not use it. */
int
raft__garbage(struct raft *r, void *p)
{
	if (VEC_PUSH(r->garbage, p)) {
		free(p);
		return -ENOMEM;
	}
	return 0;
}

/* Hold a call made while a batch is out until raft_advance(). */
int
raft__defer(struct raft *r, struct deferred d)
{
	int rc = VEC_PUSH(r->deferred, d);

	if (rc)
		free(d.data);
	return rc;
}

/* ------------------------------------------------------------------ roles */

void
raft__reads_drop(struct raft *r)
{
	r->reads_wait.n = 0;
	r->reads_pending.n = 0;
}

void
raft__become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
	if (term != r->term) {
		r->term = term;
		r->vote = 0;
		/* relaying lasts a term: the new leader hands learners out */
		r->relay = 0;
		for (size_t i = 0; i < r->n_members; i++)
			r->peers[i].relaying = false;
	}
	for (size_t i = 0; i < r->n_members; i++)
		r->peers[i].relay = 0; /* a leader's word, and we no longer lead */
	r->state = RAFT_FOLLOWER;
	r->leader = leader;
	r->election_elapsed = 0;
	r->heartbeat_elapsed = 0;
	raft__reset_timeout(r);
	r->transfer_to = 0;
	memset(r->departing, 0, sizeof(r->departing));
	r->self_vote_pending = false;
	raft__reads_drop(r);
}
