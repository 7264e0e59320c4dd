/*
 * members.c — the byte encoding of a Raft membership (contract and layout
 * in members.h).
 *
 * Not here: what a membership may be (the Raft core checks ids and
 * changes), where it is kept, and any I/O.
 */
#include "members.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

size_t
members_size(const struct raft_member *m, size_t n)
{
	size_t size = 4;

	for (size_t i = 0; i < n; i++)
		size += MEMBERS_ITEM_HEAD + m[i].context_len;
	return size;
}

void
members_put(struct bytes_writer *w, const struct raft_member *m, size_t n)
{
	bw_le32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		bw_le64(w, m[i].id);
		bw_u8(w, m[i].voter ? 1 : 0);
		bw_le16(w, m[i].context_len);
		bw_mem(w, m[i].context, m[i].context_len);
	}
}

int
members_get_count(struct bytes_reader *r, uint32_t *n, char *err, size_t errlen)
{
	*n = br_le32(r);
	if (r->err) {
		seterr(err, errlen, "member count truncated");
		return -EBADMSG;
	}
	if (*n > RAFTCONF_MAX_MEMBERS) {
		seterr(err, errlen, "%u members, at most %d allowed", *n, RAFTCONF_MAX_MEMBERS);
		return -E2BIG;
	}
	/* Each member needs at least its head: refuse counts the bytes cannot hold. */
	if ((size_t)*n * MEMBERS_ITEM_HEAD > br_left(r)) {
		seterr(err, errlen, "%u members announced, only %zu bytes left", *n, br_left(r));
		return -EBADMSG;
	}
	return 0;
}

int
members_get(struct bytes_reader *r, struct raft_member *m, uint32_t n, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t voter;

		memset(&m[i], 0, sizeof(m[i]));
		m[i].id = br_le64(r);
		voter = br_u8(r);
		m[i].context_len = br_le16(r);
		if (r->err) {
			seterr(err, errlen, "member %u truncated", i);
			return -EBADMSG;
		}
		if (voter > 1) {
			seterr(err, errlen, "member %u: voter flag %u", i, voter);
			return -EBADMSG;
		}
		m[i].voter = voter;
		if (m[i].context_len > RAFT_MAX_MEMBER_CONTEXT) {
			seterr(err, errlen, "member %u: context of %u bytes, at most %d allowed", i,
			    m[i].context_len, RAFT_MAX_MEMBER_CONTEXT);
			return -E2BIG;
		}
		if (!br_copy(r, m[i].context, m[i].context_len)) {
			seterr(err, errlen, "member %u: context truncated", i);
			return -EBADMSG;
		}
	}
	return 0;
}

int
members_encode(const struct raft_member *m, size_t n, uint8_t **blob, size_t *len)
{
	struct bytes_writer w;
	size_t size;

	*blob = NULL;
	*len = 0;
	if (n > RAFTCONF_MAX_MEMBERS)
		return -EINVAL;
	size = members_size(m, n);
	if ((*blob = malloc(size)) == NULL)
		return -ENOMEM;
	bw_init(&w, *blob, size);
	members_put(&w, m, n);
	*len = w.len;
	return 0;
}

int
members_decode(const void *blob, size_t len, struct raft_member **out, uint32_t *nout, char *err,
    size_t errlen)
{
	struct bytes_reader r;
	struct raft_member *m;
	uint32_t n;
	int rc;

	*out = NULL;
	*nout = 0;
	br_init(&r, blob, len);
	if ((rc = members_get_count(&r, &n, err, errlen)) < 0)
		return rc;
	if ((m = calloc(n ? n : 1, sizeof(*m))) == NULL)
		return -ENOMEM;
	if ((rc = members_get(&r, m, n, err, errlen)) < 0)
		goto fail;
	if (br_left(&r) != 0) {
		seterr(err, errlen, "%zu bytes after the last member", br_left(&r));
		rc = -EBADMSG;
		goto fail;
	}
	*out = m;
	*nout = n;
	return 0;
fail:
	free(m);
	return rc;
}
