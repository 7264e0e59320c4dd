/*
 * members.h — the one byte encoding of a Raft membership (an array of
 * struct raft_member), wherever one is kept or sent: the bootstrap entry
 * of the log (raft.c), the header of a snapshot file (snap.c) and Raft
 * messages on the wire (raftmsg.c).
 *
 *	u32 n, then n times: u64 id, u8 voter (0 or 1), u16 context length,
 *	context
 *
 * All little-endian: the form the log's bootstrap entry has had since the
 * first release of the log format, so that every log ever written reads
 * back.  Decoding checks every count and length against the bytes present
 * and against RAFTCONF_MAX_MEMBERS and RAFT_MAX_MEMBER_CONTEXT, and refuses
 * a voter byte other than 0 or 1.  It does not judge the list (ids zero or
 * repeated): the Raft core does.
 *
 * Pure: no I/O, no global state; raft.c, which may do neither, uses it.
 */
#ifndef RAFTCONF_MEMBERS_H
#define RAFTCONF_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "raft.h"

/* Bytes of one member before its context: id, voter, context length. */
#define MEMBERS_ITEM_HEAD 11

/* Bytes members_put() writes for m[0..n). */
size_t members_size(const struct raft_member *m, size_t n);

/* Append the membership m[0..n) to w (n <= RAFTCONF_MAX_MEMBERS). */
void members_put(struct bytes_writer *w, const struct raft_member *m, size_t n);

/*
 * Decode in two steps, so that the caller can size the array in between:
 * members_get_count() reads the count, members_get() the n members after
 * it into m[0..n).  Both return 0, -E2BIG (a count or a context over its
 * limit) or -EBADMSG (fewer bytes than announced, a bad voter byte), with
 * err saying which member and what; r is then unusable.
 */
int members_get_count(struct bytes_reader *r, uint32_t *n, char *err, size_t errlen);
int members_get(
    struct bytes_reader *r, struct raft_member *m, uint32_t n, char *err, size_t errlen);

/*
 * The whole of a buffer: *blob (malloc'd, the caller's) holds m[0..n) and
 * nothing else.  0 or -ENOMEM, -EINVAL (n over RAFTCONF_MAX_MEMBERS).
 */
int members_encode(const struct raft_member *m, size_t n, uint8_t **blob, size_t *len);
/*
 * *m (malloc'd, the caller's, never NULL on success) and *n from a buffer
 * that holds exactly one membership.  0, -ENOMEM, or -EBADMSG / -E2BIG as
 * above (trailing bytes are -EBADMSG).
 */
int members_decode(
    const void *blob, size_t len, struct raft_member **m, uint32_t *n, char *err, size_t errlen);

#endif
