/*
 * evframe.h — cutting proto frames out of a libevent input buffer, shared by
 * the peer and control connections.  Nothing else: what a frame means is
 * the caller's business.
 */
#ifndef RAFTCONF_EVFRAME_H
#define RAFTCONF_EVFRAME_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/*
 * Look at the front of in.  Returns 1 and a pointer to one whole frame of
 * *len bytes (made contiguous, valid until the buffer is drained or
 * changed: drain *len bytes when done), 0 when more bytes are needed, or a
 * negative errno for a header that can never become a frame (-EPROTO,
 * -EMSGSIZE; *len then holds the announced length for the log line).
 */
int evframe_next(struct evbuffer *in, const uint8_t **frame, size_t *len);

#endif
