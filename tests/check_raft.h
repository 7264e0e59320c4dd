/*
 * check_raft.h — the harness of check_raft (check_raft_harness.c): the
 * in-memory cluster C of a few cores, and the helpers that build it, step
 * it and look at it; and the functions by which the files of tests add
 * theirs to the test case, in the order check_raft.c calls them.
 */
#ifndef CHECK_RAFT_H
#define CHECK_RAFT_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define MAXN	8

struct qmsg {
	struct raft_msg m;
};

struct tnode {
	struct raft *r;
	struct raft_ready last;		/* copy of the scalars of the last batch */
	uint64_t applied;
	uint8_t snap[200];		/* the "state machine" snapshot bytes */
	size_t snap_len;
	uint64_t snap_index;
	uint8_t tmp[400];		/* received chunks */
	size_t tmp_len;
	uint64_t tmp_size; /* the size its sender told with the last chunk */
	uint64_t installed;
	uint64_t reads_ctx[16];
	uint64_t reads_index[16];
	size_t n_reads;
	size_t vote_resp_in_msgs;	/* VOTE_RESP sent before persisting */
	size_t vote_resp_after;
	size_t applied_with_answer;	/* batches that applied before answering */
};

struct cluster {
	int n;
	struct tnode nodes[MAXN];
	bool cut[MAXN + 1][MAXN + 1];	/* by id */
	bool mute[MAXN + 1];		/* drop this node's appends and heartbeats */
	bool drop_chunk;		/* drop the next snapshot chunk at offset > 0 */
	uint32_t max_append_seen;	/* most entries in one delivered append */
	bool hold_commit;		/* deliver() leaves commit notices to the test */
	size_t empty_appends;		/* appends without entries delivered */
	size_t appends_to[MAXN + 1];	/* appends delivered, by id */
	size_t appends_by[MAXN + 1][MAXN + 1]; /* by sender, then id */
	size_t heartbeats_to[MAXN + 1];	/* heartbeats delivered, by id */
	struct qmsg *q;
	size_t nq, capq;
};

extern struct cluster C;

/* Limits a test may tighten before building its cluster (0: default). */
extern unsigned cfg_inflight;
extern size_t cfg_bytes;
extern unsigned cfg_relay_after;
extern unsigned cfg_relay_fanout;

struct tnode *node(uint64_t id);
void drain(uint64_t id);
void drain_all(void);
void deliver(void);
void drop_queue(void);
void tick(uint64_t id, unsigned n);
void tick_all(unsigned n);
void isolate(uint64_t id, bool cut);
struct raft_config config(uint64_t id);
struct raft_member member(uint64_t id, bool voter);
void cluster(int n, int voters);
void restore_node_lost(uint64_t id, int voters, const uint64_t *terms, size_t n,
		       uint64_t term, uint64_t catch_up_to);
void restore_node(uint64_t id, int voters, const uint64_t *terms, size_t n, uint64_t term);
void teardown(void);
struct raft_status status(uint64_t id);
void campaign(uint64_t id);
uint64_t leader(void);
uint64_t propose(uint64_t id, const char *s);
uint64_t term_at(uint64_t id, uint64_t index);

void raft_member_tests(TCase *tc);
void raft_role_tests(TCase *tc);
void raft_snapshot_tests(TCase *tc);

#endif
