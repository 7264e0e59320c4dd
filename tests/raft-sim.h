/*
 * raft-sim.h — what the files of the Raft simulator share: the world (its
 * nodes, network, clients and the checker's records) and the functions of
 * the model (raft-sim-model.c: the PRNG, the network, persistence, crash
 * and restart) and of the checker (raft-sim-check.c) that raft-sim.c's
 * steps and main loop call.
 */
#ifndef RAFT_SIM_H
#define RAFT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define MAX_SLOTS	9

struct batch {
	uint64_t due;
	bool has_hs;
	struct raft_hard_state hs;
	bool has_snap;
	struct raft_snapshot_meta snap;		/* members owned */
	uint8_t *snap_data;
	size_t snap_len;
	struct raft_entry *ents;		/* copies */
	size_t n_ents;
	struct raft_msg *after;			/* copies */
	size_t n_after;
	bool must_persist;
	uint64_t pidx, pterm;
	bool clear_catch_up;			/* the core caught up: durable 0 */
	struct batch *next;
};

struct dsnap {
	bool has;
	struct raft_snapshot_meta meta;		/* members owned */
	uint8_t *data;
	size_t len;
};

struct node {
	bool used;
	uint64_t id;
	uint32_t inc;			/* incarnation: bumps on every restart */
	bool up;
	uint64_t down_until;
	struct raft *r;
	/* durable */
	struct raft_hard_state hs;
	struct dsnap snap;
	struct raft_entry *log;
	size_t n_log, cap_log;
	uint64_t catch_up_to;		/* lost entries up to here; 0: none */
	struct batch *pend, *pend_tail;
	/* state machine */
	uint64_t sm_index, sm_hash;
	uint8_t *tmp;			/* snapshot being received */
	size_t tmp_len;
	/* what the checker saw last */
	uint64_t checked_commit;
	uint64_t leader_checked_term;
	enum raft_role seen_role;	/* for the trace */
	uint64_t seen_term;
	bool wipe;			/* removed: wipe and rejoin as a spare */
	uint64_t slow_until;		/* ticks only every slow_by-th tick */
	unsigned slow_by;
	uint64_t crash_at;		/* buggify: crash before a batch is durable */
};

struct inflight {
	uint64_t due;
	int to;
	struct raft_msg m;
};

struct proposal {
	uint64_t index, term;
	bool acked;
};

struct read {
	int slot;
	uint32_t inc;
	uint64_t start_acked;
	uint64_t index;
	bool known, done;
};

struct gent {
	bool set;
	uint64_t term;
	uint64_t aux;		/* gcommit: observed term; gapplied: state hash */
};

struct lm {			/* log matching: (index, term) -> content */
	uint64_t index, term, hash, prev_term;
};

struct world {
	uint64_t seed;
	bool verbose;
	bool failed;
	uint64_t now;
	struct raft_config cfg;
	int n_slots;
	struct node nodes[MAX_SLOTS];
	struct raft_member boot[MAX_SLOTS];
	size_t n_boot;
	uint64_t next_id;

	struct inflight *net;
	size_t n_net, cap_net;
	bool cut[MAX_SLOTS][MAX_SLOTS];
	uint64_t heal_at;
	unsigned drop, dup, max_delay, persist_delay;	/* per mille, ticks */
	unsigned p_crash, p_part, p_read, p_prop;	/* per mille per tick */
	unsigned p_slow, p_buggify;
	unsigned p_lose;		/* per mille of voter restarts (--lose-entries) */
	bool early_calls;		/* persist and answer before raft_advance() */
	bool faults;

	uint64_t *leaders;			/* by term */
	size_t cap_leaders;
	struct gent *gcommit, *gapplied;	/* by index */
	size_t cap_g;
	struct lm *lm;
	size_t cap_lm, n_lm;

	struct proposal *props;
	size_t n_props, cap_props;
	uint64_t max_acked;
	uint64_t max_commit;			/* highest index known committed */
	bool fixed_membership;			/* this seed changes no member */
	struct read *reads;
	size_t n_reads, cap_reads;
};

extern struct world W;

#define GROW(v, cap, need) do { \
	if ((need) > (cap)) { \
		size_t nc_ = (cap) ? (cap) * 2 : 16; \
		while (nc_ < (need)) nc_ *= 2; \
		(v) = xrealloc((v), nc_ * sizeof(*(v))); \
		memset((v) + (cap), 0, (nc_ - (cap)) * sizeof(*(v))); \
		(cap) = nc_; \
	} \
} while (0)

/* ---------------------------------------------------- raft-sim-model.c */

uint64_t rnd(void);
void rnd_seed(uint64_t seed);
/* uniform in [0, n) */
unsigned below(unsigned n);
/* true with probability p per mille */
bool chance(unsigned permille);
void put64(uint8_t *p, uint64_t v);

void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xrealloc(void *p, size_t n);
void *xdup(const void *p, size_t n);
int slot_of(uint64_t id);
void msg_free(struct raft_msg *m);

/* A snapshot of the state machine: its index, term and hash, padded. */
uint8_t *snap_serialize(uint64_t index, uint64_t term, uint64_t hash, size_t *len);
struct gent *gslot(struct gent **g, uint64_t index);
void batch_free(struct batch *b);
void dlog_truncate(struct node *n, uint64_t from);
/* A batch becomes durable: write it, send what waited for it, tell the core. */
void persist(struct node *n, struct batch *b);
void process_ready(struct node *n);

void node_stop(struct node *n);
void node_wipe_storage(struct node *n);
void node_start(struct node *n);
void node_crash(struct node *n, unsigned ticks);
/* A removed node is wiped and comes back as a spare with a new id. */
void node_rejoin_as_spare(struct node *n);

/* ---------------------------------------------------- raft-sim-check.c */

/* Last (index, term) of what node n has durably. */
void durable_last(const struct node *n, uint64_t *index, uint64_t *term);
void check_all(void);

#endif
