/*
 * store_history.c — the changes the store keeps for watch --from-rev
 * (store.h, "History"): recording the events of an entry as it applies,
 * trimming the window, reading it back.  The rest of the store is store.c.
 *
 * The window is deterministic: what it keeps follows from the entries
 * applied and the two limits, so members with the same limits keep the same
 * records and a snapshot carries them to a new member.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>

#include "bytes.h"
#include "store.h"
#include "store_state.h"
#include "tdbutil.h"

#define HIST_FLOOR_KEY "h:floor"
/* "h:" + 16 hex digits. */
#define HIST_KEY_LEN 18
/* An event's bytes before its key and value: kind, key length, value length. */
#define HIST_EVENT_HEAD 7

static void
hist_key(char buf[HIST_KEY_LEN + 1], uint64_t revision)
{
	snprintf(buf, HIST_KEY_LEN + 1, "h:%016" PRIx64, revision);
}

void
store_set_history(struct store *s, uint64_t revisions, uint64_t bytes)
{
	s->hist_max_revs = revisions ? revisions : 1;
	s->hist_max_bytes = bytes;
}

uint64_t
store_history_floor(struct store *s)
{
	uint64_t f = s->hist_floor;

	if (s->applied > s->hist_max_revs && s->applied - s->hist_max_revs > f)
		f = s->applied - s->hist_max_revs;
	return f;
}

uint64_t
store_history_bytes(struct store *s)
{
	return s->hist_bytes;
}

/* From "h:floor"; a store that never kept history starts keeping it now. */
int
store_hist_load(struct store *s)
{
	TDB_DATA d = tdb_fetch(s->tdb, tstr(HIST_FLOOR_KEY));

	s->hist_len = 0;
	if (d.dptr == NULL) {
		if (tdb_error(s->tdb) != TDB_ERR_NOEXIST)
			return tdb_errno(s->tdb);
		s->hist_floor = s->applied;
		s->hist_bytes = 0;
		return 0;
	}
	if (d.dsize != 16) {
		free(d.dptr);
		return -EBADMSG;
	}
	s->hist_floor = get_le64(d.dptr);
	s->hist_bytes = get_le64(d.dptr + 8);
	free(d.dptr);
	return 0;
}

int
store_hist_add(
    struct store *s, uint8_t kind, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	size_t need = s->hist_len + HIST_EVENT_HEAD + klen + vlen;
	uint8_t *p;

	if (need > s->hist_cap) {
		size_t cap = s->hist_cap ? s->hist_cap : 4096;

		while (cap < need)
			cap *= 2;
		if ((p = realloc(s->hist_buf, cap)) == NULL)
			return -ENOMEM;
		s->hist_buf = p;
		s->hist_cap = cap;
	}
	p = s->hist_buf + s->hist_len;
	p[0] = kind;
	put_le16(p + 1, (uint16_t)klen);
	put_le32(p + 3, (uint32_t)vlen);
	memcpy(p + HIST_EVENT_HEAD, key, klen);
	if (vlen)
		memcpy(p + HIST_EVENT_HEAD + klen, val, vlen);
	s->hist_len = need;
	return 0;
}

static int
size_of(TDB_DATA key, TDB_DATA data, void *arg)
{
	(void)key;
	*(size_t *)arg = data.dsize;
	return 0;
}

/* Drop the oldest kept revision: the floor moves up by one. */
static int
drop_oldest(struct store *s)
{
	char key[HIST_KEY_LEN + 1];
	size_t size = 0;

	hist_key(key, ++s->hist_floor);
	if (tdb_parse_record(s->tdb, tstr(key), size_of, &size) != 0) {
		if (tdb_error(s->tdb) == TDB_ERR_NOEXIST)
			return 0; /* an entry that changed no key */
		return tdb_errno(s->tdb);
	}
	if (tdb_delete(s->tdb, tstr(key)) != 0)
		return tdb_errno(s->tdb);
	s->hist_bytes = s->hist_bytes > size ? s->hist_bytes - size : 0;
	return 0;
}

/*
 * The events gathered for the entry at index become its record; then the
 * oldest revisions go while the window is over either limit (the newest
 * one stays, however big).
 */
int
store_hist_commit(struct store *s, uint64_t index)
{
	char key[HIST_KEY_LEN + 1];
	uint8_t fl[16];
	uint64_t keep_after = index > s->hist_max_revs ? index - s->hist_max_revs : 0;
	int r;

	if (s->hist_len == 0)
		return 0;
	hist_key(key, index);
	if (tdb_store(s->tdb, tstr(key), tdata(s->hist_buf, s->hist_len), TDB_REPLACE) != 0)
		return tdb_errno(s->tdb);
	s->hist_bytes += s->hist_len;
	s->hist_len = 0;
	if (s->hist_cap > 1024 * 1024) { /* a big TXN's buffer is not kept */
		free(s->hist_buf);
		s->hist_buf = NULL;
		s->hist_cap = 0;
	}
	while (s->hist_floor + 1 < index &&
	    (s->hist_floor < keep_after || s->hist_bytes > s->hist_max_bytes))
		if ((r = drop_oldest(s)) < 0)
			return r;
	put_le64(fl, s->hist_floor);
	put_le64(fl + 8, s->hist_bytes);
	if (tdb_store(s->tdb, tstr(HIST_FLOOR_KEY), tdata(fl, sizeof(fl)), TDB_REPLACE) != 0)
		return tdb_errno(s->tdb);
	return 0;
}

void
store_hist_free(struct store *s)
{
	free(s->hist_buf);
	s->hist_buf = NULL;
	s->hist_cap = s->hist_len = 0;
}

int
store_events_next(struct store_events *it, struct store_event *ev)
{
	size_t klen, vlen;

	if (it->left == 0)
		return 0;
	if (it->left < HIST_EVENT_HEAD)
		return -EBADMSG;
	ev->kind = it->p[0];
	klen = get_le16(it->p + 1);
	vlen = get_le32(it->p + 3);
	if (it->left - HIST_EVENT_HEAD < klen || it->left - HIST_EVENT_HEAD - klen < vlen)
		return -EBADMSG;
	if ((ev->kind != STORE_EV_PUT && ev->kind != STORE_EV_DEL) ||
	    (ev->kind == STORE_EV_DEL && vlen != 0) || vlen > RAFTCONF_MAX_VALUE ||
	    !store_key_ok((const char *)it->p + HIST_EVENT_HEAD, klen))
		return -EBADMSG;
	ev->key = (const char *)it->p + HIST_EVENT_HEAD;
	ev->klen = klen;
	ev->val = it->p + HIST_EVENT_HEAD + klen;
	ev->vlen = vlen;
	it->p += HIST_EVENT_HEAD + klen + vlen;
	it->left -= HIST_EVENT_HEAD + klen + vlen;
	return 1;
}

/* Is this an "h:" record the store could have written? */
bool
store_hist_record_ok(TDB_DATA key, TDB_DATA data)
{
	struct store_events it = { data.dptr, data.dsize };
	struct store_event ev;
	char want[HIST_KEY_LEN + 1];
	uint64_t rev = 0;
	int r;

	if (key.dsize == strlen(HIST_FLOOR_KEY) && memcmp(key.dptr, HIST_FLOOR_KEY, key.dsize) == 0)
		return data.dsize == 16;
	if (key.dsize != HIST_KEY_LEN || data.dsize == 0)
		return false;
	for (size_t i = 2; i < HIST_KEY_LEN; i++) {
		uint8_t c = key.dptr[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		rev = rev << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	hist_key(want, rev);
	if (rev == 0 || memcmp(want, key.dptr, HIST_KEY_LEN) != 0)
		return false;
	while ((r = store_events_next(&it, &ev)) == 1)
		;
	return r == 0;
}

int
store_history(struct store *s, uint64_t after, uint64_t upto, store_history_cb cb, void *arg)
{
	char key[HIST_KEY_LEN + 1];

	if (s->tdb == NULL)
		return -EIO;
	if (after < store_history_floor(s))
		return -ERANGE;
	if (upto > s->applied)
		upto = s->applied;
	for (uint64_t rev = after + 1; rev <= upto; rev++) {
		struct store_events it;
		TDB_DATA d;
		int r;

		hist_key(key, rev);
		d = tdb_fetch(s->tdb, tstr(key));
		if (d.dptr == NULL) {
			if (tdb_error(s->tdb) == TDB_ERR_NOEXIST)
				continue;
			return tdb_errno(s->tdb);
		}
		it.p = d.dptr;
		it.left = d.dsize;
		r = cb(arg, rev, &it);
		free(d.dptr);
		if (r != 0)
			return r;
	}
	return 0;
}
