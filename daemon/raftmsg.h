/*
 * raftmsg.h — the byte codec of struct raft_msg, carried as the payload of a
 * proto RAFT frame on the peer port.
 *
 * Layout (big-endian, fixed width; versioned by the enclosing frame):
 *
 *	u8  type	u8 flags (0x01 reject, 0x02 transfer, 0x04 last)
 *	u64 from, to, term, prev_index, prev_term, commit, index, log_term,
 *	    hint_index (SNAPSHOT: size, which has no hint; a sender of
 *	    before it wrote 0 there, which means "not said"), hint_term,
 *	    seq, ctx (APPEND: lead; HEARTBEAT: relay; neither has a
 *	    context, and a sender of before wrote 0 there), offset
 *	u32 n_entries, then each: u64 term, u64 index, u8 type, u32 len, bytes
 *	u32 len, bytes			(snapshot chunk data)
 *	members				the membership as members.h encodes it
 *					everywhere (little-endian: u32 n, then
 *					each u64 id, u8 voter, u16 context_len,
 *					bytes)
 *
 * The payload is untrusted: raftmsg_decode() checks every count and length
 * against the bytes present and the limits of raft.h, refuses unknown flag
 * bits and trailing bytes, and never reads past the buffer.  raft_step()
 * then checks the message's meaning.
 */
#ifndef RAFTCONF_RAFTMSG_H
#define RAFTCONF_RAFTMSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "raft.h"

/*
 * Arrays a decoded message points into (entries, members), reused from one
 * message to the next; entry data and chunk data point into the payload.
 * Zero-initialise, and raftmsg_scratch_free() when done.
 */
struct raftmsg_scratch {
	struct raft_entry *entries;
	size_t entries_cap;
	struct raft_member *members;
	size_t members_cap;
};

/* Bytes raftmsg_encode() will append for m. */
size_t raftmsg_size(const struct raft_msg *m);

/*
 * Append a whole proto RAFT frame carrying m to b.  0, or -EMSGSIZE (the
 * frame would exceed RAFTCONF_MAX_FRAME), -ENOMEM; b is unchanged on error.
 */
int raftmsg_encode(struct proto_buf *b, const struct raft_msg *m);

/*
 * Decode a RAFT frame's payload into m, whose pointers then reach into
 * payload and into s.  0, or -EPROTO (malformed: err says what), -E2BIG (a
 * count over a limit), -ENOMEM.
 */
int raftmsg_decode(const void *payload, size_t len, struct raft_msg *m, struct raftmsg_scratch *s,
    char *err, size_t errlen);

void raftmsg_scratch_free(struct raftmsg_scratch *s);

#endif
