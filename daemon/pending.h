/*
 * pending.h — the node's table of client requests in flight.
 *
 * Every request the node cannot answer at once waits here until what it
 * waits for happens or its deadline passes: a write for its entry to apply,
 * a linearizable read for its read index, a request forwarded to the
 * leader for the leader's answer, a join for the member it asked, a
 * leadership transfer for the leader to change, a snapshot request for the
 * writer to finish, a member's status for its answer (status --cluster).
 * One entry type, one list per kind, one expiry walk.
 *
 * Not here: what a request means or how it is answered (kv.c,
 * membership.c, snapshot.c, census.c); this module only keeps them.  It does no I/O
 * and allocates only the entries.
 */
#ifndef RAFTCONF_PENDING_H
#define RAFTCONF_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

/* Where a request came from, so that its answer finds the way back. */
enum origin_kind { FROM_CONTROL = 1, FROM_PEER, FROM_HTTP };

struct origin {
	enum origin_kind kind;
	uint64_t conn;
	uint64_t req_id;
	bool no_forward; /* forwarded to us already: answer, never forward again */
};

enum pending_kind {
	PEND_WRITE, /* key: the entry's index; term: its term; op */
	PEND_READ,  /* key: the ReadIndex context; index once known; op; data */
	/* key: the id sent to the leader; peer: the leader; op: 0, or
	 * CLUSTER_STATUS with limit the wait left for census_forward_failed */
	PEND_FORWARD,
	PEND_JOIN,     /* key: the connection of peer_dial_once */
	PEND_TRANSFER, /* key: the voter asked for, 0 for any */
	PEND_SNAPSHOT, /* nothing: answered when the writer is done */
	/* data "NAME\0ADDRESS", flags the join's; no deadline: a join at the
	 * leader, waiting for the membership changes before it */
	PEND_JOIN_QUEUED,
	/* key: the id sent to the member; peer: the member; index: the census
	 * (census.c); term: the member's place in it */
	PEND_CENSUS,
	PEND_NKINDS
};

struct pending {
	TAILQ_ENTRY(pending) link;
	enum pending_kind kind;
	struct origin from;
	uint64_t deadline_ms; /* 0: none */
	uint64_t key;
	uint64_t term;
	uint64_t index;
	uint64_t peer;
	uint8_t op;	/* PROTO_T_* of the request */
	uint8_t flags;	/* a read's PROTO_F_* (STALE, META, KEYS_ONLY, COUNT) */
	uint64_t limit; /* a LIST_EX's (0: none) */
	size_t len;	/* bytes in data */
	char data[];	/* a read's key or prefix, NUL-terminated */
};

TAILQ_HEAD(pending_list, pending);

struct pending_table {
	struct pending_list q[PEND_NKINDS];
	size_t count[PEND_NKINDS];
};

void pending_init(struct pending_table *t);

/* Free every entry, unanswered. */
void pending_clear(struct pending_table *t);

/*
 * A new entry of kind from o, with len bytes of data copied (NUL added), or
 * NULL when out of memory.  Not in the table until pending_add().
 */
struct pending *pending_new(enum pending_kind kind, const struct origin *o, uint64_t deadline_ms,
    const void *data, size_t len);

/*
 * Writes are kept in the order of their index (almost always appended; a
 * leader re-elected after a truncation may reuse lower indexes); every other
 * kind in the order added.
 */
void pending_add(struct pending_table *t, struct pending *p);

/* Take p out of the table and free it. */
void pending_del(struct pending_table *t, struct pending *p);

/* Take p out of the table without freeing it. */
void pending_unlink(struct pending_table *t, struct pending *p);

/* The first entry of kind with this key, or NULL. */
struct pending *pending_find(const struct pending_table *t, enum pending_kind kind, uint64_t key);

static inline struct pending *
pending_first(const struct pending_table *t, enum pending_kind kind)
{
	return TAILQ_FIRST(&t->q[kind]);
}

static inline size_t
pending_count(const struct pending_table *t, enum pending_kind kind)
{
	return t->count[kind];
}

/* Each entry p of kind, safe against pending_del(p) in the body. */
#define PENDING_EACH(t, kind, p, tmp)            \
	for ((p) = TAILQ_FIRST(&(t)->q[(kind)]); \
	     (p) != NULL && ((tmp) = TAILQ_NEXT((p), link), 1); (p) = (tmp))

/*
 * Call expired(arg, p) for every entry whose deadline is at or before now,
 * of every kind, then free it.  The callback answers the client; it must
 * not touch the table.  Returns how many expired.
 */
size_t pending_expire(struct pending_table *t, uint64_t now,
    void (*expired)(void *arg, struct pending *p), void *arg);

#endif
