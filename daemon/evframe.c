/*
 * evframe.c — frame boundaries in a libevent evbuffer (see evframe.h).
 */
#include "evframe.h"

#include <errno.h>

#include <event2/buffer.h>

#include "proto.h"

int
evframe_next(struct evbuffer *in, const uint8_t **frame, size_t *len)
{
	size_t have = evbuffer_get_length(in), flen = 0;
	uint8_t hdr[4];
	int rc;

	*len = 0;
	if (have < sizeof(hdr))
		return 0;
	evbuffer_copyout(in, hdr, sizeof(hdr));
	rc = proto_frame_check(hdr, sizeof(hdr), &flen);
	*len = flen;
	if (rc != -EAGAIN && rc != 0)
		return rc;
	if (have < flen)
		return 0;
	*frame = evbuffer_pullup(in, (ssize_t)flen);
	return *frame ? 1 : -ENOMEM;
}
