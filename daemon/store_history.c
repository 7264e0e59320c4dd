/*
 * store_history.c — the changes the store keeps for watch --from-rev
 * (store.h, "History"): recording the changes of each entry as it applies,
 * trimming the window, reading it back.  The rest of the store is store.c
 * and the files it names.
 *
 * Changes are kept in blocks of HIST_BLOCK revisions, one record each
 * ("h:" + the block's first revision in hex), so that a write costs a
 * fraction of a tdb operation rather than three: the block being filled
 * lives in memory and is written when the entries move on to the next
 * block and when a batch commits (store_hist_flush), with "h:floor" beside
 * it; the window drops whole blocks, the oldest first.  What the records
 * hold follows from the entries applied and the two limits alone (block
 * bounds are revisions; a commit writes what was applied up to then), so
 * members with the same limits keep the same records at the same index,
 * and a snapshot carries them to a new member.
 *
 * A block record: u64 from (the first revision it covers: every change of
 * a revision from `from` on, up to the block's end or to `next`, is in it),
 * u64 next (0, or the first revision of the record that continues the
 * block: "h:" + next in hex), then each change as u64 revision, u8 kind,
 * u16 key length, u32 value length, key, value, in the order applied.  A
 * record is continued once an entry takes it past STORE_HISTORY_RECORD
 * bytes (a block of big values), so that no record grows without bound; the
 * entry that did it starts the continuation, which holds it whole however
 * big (an entry is at most a WAL record).
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
/* A change's bytes before its key and value: revision, kind, key length, value length. */
#define HIST_EVENT_HEAD 15
/* A block record's bytes before its changes: from, next. */
#define HIST_BLOCK_HEAD 16
#define HIST_BLOCK	STORE_HISTORY_BLOCK
#define NO_BLOCK	STORE_NO_BLOCK

static uint64_t
block_of(uint64_t revision)
{
	return revision - revision % HIST_BLOCK;
}

static void
hist_key(char buf[HIST_KEY_LEN + 1], uint64_t block)
{
	snprintf(buf, HIST_KEY_LEN + 1, "h:%016" PRIx64, block);
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

/*
 * From "h:floor", as the last commit left it; the block in memory is
 * forgotten (what it held past that commit is gone with the batch).  A
 * store that never kept history starts keeping it now.
 */
int
store_hist_load(struct store *s)
{
	TDB_DATA d;
	int r = sdb_fetch(s, tstr(HIST_FLOOR_KEY), &d);

	s->hist_block = NO_BLOCK;
	s->hist_len = 0;
	s->hist_dirty = false;
	if (r < 0) {
		if (r != -ENOENT)
			return r;
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

static int
reserve(struct store *s, size_t need)
{
	size_t cap = s->hist_cap ? s->hist_cap : 4096;
	uint8_t *p;

	if (need <= s->hist_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(s->hist_buf, cap)) == NULL)
		return -ENOMEM;
	s->hist_buf = p;
	s->hist_cap = cap;
	return 0;
}

/* The header of a record: from, next. */
static int
header_of(TDB_DATA key, TDB_DATA data, void *arg)
{
	uint64_t *h = arg;

	(void)key;
	if (data.dsize < HIST_BLOCK_HEAD)
		return -1;
	h[0] = get_le64(data.dptr);
	h[1] = get_le64(data.dptr + 8);
	h[2] = data.dsize;
	return 0;
}

/*
 * The record "h:" rev's from, next and size (h[0..2]): 0, -ENOENT, or
 * -EBADMSG for one too short to have them.
 */
static int
record_header(struct store *s, uint64_t rev, uint64_t h[3])
{
	char key[HIST_KEY_LEN + 1];
	int r, ok = -1;

	hist_key(key, rev);
	if ((r = sdb_parse(s, tstr(key), header_of, h, &ok)) < 0)
		return r;
	return ok == 0 ? 0 : -EBADMSG;
}

/*
 * Bring the last record of block's chain into memory: what a commit wrote
 * of it, or a new head.
 */
static int
load_block(struct store *s, uint64_t block)
{
	char key[HIST_KEY_LEN + 1];
	uint64_t rev = block, h[3];
	TDB_DATA d;
	int r;

	while ((r = record_header(s, rev, h)) == 0 && h[1] != 0)
		rev = h[1];
	if (r == -ENOENT && rev == block) {
		uint64_t from = s->hist_floor + 1 > block ? s->hist_floor + 1 : block;

		if ((r = reserve(s, HIST_BLOCK_HEAD)) < 0)
			return r;
		put_le64(s->hist_buf, from);
		put_le64(s->hist_buf + 8, 0);
		s->hist_len = HIST_BLOCK_HEAD;
		s->hist_stored = 0;
	} else if (r < 0) {
		return r == -ENOENT ? -EBADMSG : r; /* a chain that leads nowhere */
	} else {
		hist_key(key, rev);
		if ((r = sdb_fetch(s, tstr(key), &d)) < 0)
			return r;
		if ((r = reserve(s, d.dsize)) < 0) {
			free(d.dptr);
			return r;
		}
		memcpy(s->hist_buf, d.dptr, d.dsize);
		s->hist_len = s->hist_stored = d.dsize;
		free(d.dptr);
	}
	s->hist_block = block;
	s->hist_key_rev = rev;
	s->hist_dirty = false;
	return 0;
}

/*
 * Drop the oldest blocks while the window is over a limit: those whose
 * revisions are all more than max_revs behind the newest, then while over
 * max_bytes; never the block in memory.  A block goes with its chain.
 */
static int
trim(struct store *s)
{
	uint64_t keep_after = s->hist_rev > s->hist_max_revs ? s->hist_rev - s->hist_max_revs : 0;
	char key[HIST_KEY_LEN + 1];

	for (;;) {
		uint64_t b = block_of(s->hist_floor + 1), rev = b, h[3];
		int r;

		if (b >= s->hist_block || s->hist_block == NO_BLOCK ||
		    !(b + HIST_BLOCK - 1 <= keep_after || s->hist_bytes > s->hist_max_bytes))
			return 0;
		while ((r = record_header(s, rev, h)) == 0) {
			hist_key(key, rev);
			if ((r = sdb_delete(s, tstr(key))) < 0)
				return r;
			s->hist_bytes = s->hist_bytes > h[2] ? s->hist_bytes - h[2] : 0;
			if ((rev = h[1]) == 0)
				break;
		}
		if (r < 0 && r != -ENOENT)
			return r;
		s->hist_floor = b + HIST_BLOCK - 1;
	}
}

/* Write the record in memory, if it changed, with "h:floor"; then trim. */
int
store_hist_flush(struct store *s)
{
	char key[HIST_KEY_LEN + 1];
	uint8_t fl[16];
	int r;

	if (s->hist_block == NO_BLOCK || !s->hist_dirty)
		return 0;
	hist_key(key, s->hist_key_rev);
	if ((r = sdb_store(s, tstr(key), tdata(s->hist_buf, s->hist_len))) < 0)
		return r;
	s->hist_bytes = s->hist_bytes - s->hist_stored + s->hist_len;
	s->hist_stored = s->hist_len;
	s->hist_dirty = false;
	if ((r = trim(s)) < 0)
		return r;
	put_le64(fl, s->hist_floor);
	put_le64(fl + 8, s->hist_bytes);
	return sdb_store(s, tstr(HIST_FLOOR_KEY), tdata(fl, sizeof(fl)));
}

/* The entry at revision is about to apply: its changes go to its block. */
int
store_hist_begin(struct store *s, uint64_t revision)
{
	uint64_t b = block_of(revision);
	int r;

	s->hist_rev = revision;
	if (b != s->hist_block) {
		if ((r = store_hist_flush(s)) < 0)
			return r;
		if ((r = load_block(s, b)) < 0)
			return r;
	}
	s->hist_entry = s->hist_len;
	return 0;
}

/*
 * The entry's changes are all added: if they took a record that held
 * earlier entries past STORE_HISTORY_RECORD bytes, that record ends before
 * them (written, next = this revision) and they start its continuation.
 */
int
store_hist_end(struct store *s)
{
	char key[HIST_KEY_LEN + 1];
	size_t moved;
	int r;

	if (s->hist_block == NO_BLOCK || s->hist_len <= STORE_HISTORY_RECORD ||
	    s->hist_entry <= HIST_BLOCK_HEAD)
		return 0;
	put_le64(s->hist_buf + 8, s->hist_rev);
	hist_key(key, s->hist_key_rev);
	if ((r = sdb_store(s, tstr(key), tdata(s->hist_buf, s->hist_entry))) < 0)
		return r;
	s->hist_bytes = s->hist_bytes - s->hist_stored + s->hist_entry;
	moved = s->hist_len - s->hist_entry;
	memmove(s->hist_buf + HIST_BLOCK_HEAD, s->hist_buf + s->hist_entry, moved);
	put_le64(s->hist_buf, s->hist_rev);
	put_le64(s->hist_buf + 8, 0);
	s->hist_len = HIST_BLOCK_HEAD + moved;
	s->hist_entry = HIST_BLOCK_HEAD;
	s->hist_key_rev = s->hist_rev;
	s->hist_stored = 0;
	s->hist_dirty = true;
	return 0;
}

int
store_hist_add(
    struct store *s, uint8_t kind, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
	size_t need = s->hist_len + HIST_EVENT_HEAD + klen + vlen;
	uint8_t *p;
	int r;

	if (s->hist_block == NO_BLOCK) /* store_hist_begin failed or was not called */
		return -EINVAL;
	if ((r = reserve(s, need)) < 0)
		return r;
	p = s->hist_buf + s->hist_len;
	put_le64(p, s->hist_rev);
	p[8] = kind;
	put_le16(p + 9, (uint16_t)klen);
	put_le32(p + 11, (uint32_t)vlen);
	memcpy(p + HIST_EVENT_HEAD, key, klen);
	if (vlen)
		memcpy(p + HIST_EVENT_HEAD + klen, val, vlen);
	s->hist_len = need;
	s->hist_dirty = true;
	return 0;
}

void
store_hist_free(struct store *s)
{
	free(s->hist_buf);
	s->hist_buf = NULL;
	s->hist_cap = s->hist_len = 0;
	s->hist_block = NO_BLOCK;
}

/* One change at p (left bytes): its revision and the change, or -EBADMSG. */
static int
parse_event(const uint8_t *p, size_t left, uint64_t *revision, struct store_event *ev)
{
	size_t klen, vlen;

	if (left < HIST_EVENT_HEAD)
		return -EBADMSG;
	*revision = get_le64(p);
	ev->kind = p[8];
	klen = get_le16(p + 9);
	vlen = get_le32(p + 11);
	if (left - HIST_EVENT_HEAD < klen || left - HIST_EVENT_HEAD - klen < vlen)
		return -EBADMSG;
	if ((ev->kind != STORE_EV_PUT && ev->kind != STORE_EV_DEL) ||
	    (ev->kind == STORE_EV_DEL && vlen != 0) || vlen > RAFTCONF_MAX_VALUE ||
	    !store_key_ok((const char *)p + HIST_EVENT_HEAD, klen))
		return -EBADMSG;
	ev->key = (const char *)p + HIST_EVENT_HEAD;
	ev->klen = klen;
	ev->val = p + HIST_EVENT_HEAD + klen;
	ev->vlen = vlen;
	return (int)(HIST_EVENT_HEAD + klen + vlen);
}

int
store_events_next(struct store_events *it, struct store_event *ev)
{
	uint64_t rev;
	int n;

	if (it->left == 0)
		return 0;
	if ((n = parse_event(it->p, it->left, &rev, ev)) < 0)
		return n;
	it->p += n;
	it->left -= (size_t)n;
	return 1;
}

/*
 * Is the record "h:" rev well formed?  The head of its block (rev the
 * block's first revision) covers from `from` on, a continuation from rev;
 * its changes are in order, from `from` to before `next` or the block's end.
 */
static bool
block_ok(uint64_t rev, const uint8_t *p, size_t len)
{
	uint64_t block = block_of(rev), from, next, last, end, r;
	struct store_event ev;
	int n;

	if (len < HIST_BLOCK_HEAD)
		return false;
	from = get_le64(p);
	next = get_le64(p + 8);
	end = next ? next - 1 : block + HIST_BLOCK - 1;
	if (from == 0 || (rev == block ? from < block : from != rev) ||
	    from > block + HIST_BLOCK - 1 ||
	    (next != 0 && (next <= from || next > block + HIST_BLOCK - 1)))
		return false;
	last = from;
	for (size_t off = HIST_BLOCK_HEAD; off < len; off += (size_t)n) {
		if ((n = parse_event(p + off, len - off, &r, &ev)) < 0)
			return false;
		if (r < last || r > end)
			return false;
		last = r;
	}
	return true;
}

/* Is this an "h:" record the store could have written? */
bool
store_hist_record_ok(TDB_DATA key, TDB_DATA data)
{
	char want[HIST_KEY_LEN + 1];
	uint64_t rev = 0;

	if (key.dsize == strlen(HIST_FLOOR_KEY) && memcmp(key.dptr, HIST_FLOOR_KEY, key.dsize) == 0)
		return data.dsize == 16;
	if (key.dsize != HIST_KEY_LEN)
		return false;
	for (size_t i = 2; i < HIST_KEY_LEN; i++) {
		uint8_t c = key.dptr[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		rev = rev << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	hist_key(want, rev);
	return memcmp(want, key.dptr, HIST_KEY_LEN) == 0 && block_ok(rev, data.dptr, data.dsize);
}

/* Call cb for each revision of record p (len bytes) in (after, upto]. */
static int
walk_block(
    const uint8_t *p, size_t len, uint64_t after, uint64_t upto, store_history_cb cb, void *arg)
{
	size_t off = HIST_BLOCK_HEAD;

	while (off < len) {
		struct store_event ev;
		struct store_events it;
		uint64_t rev, next;
		size_t end = off;
		int n, r;

		if ((n = parse_event(p + off, len - off, &rev, &ev)) < 0)
			return n;
		if (rev > upto)
			return 0;
		/* the run of this revision's changes */
		do {
			end += (size_t)n;
			if (end >= len)
				break;
			if ((n = parse_event(p + end, len - end, &next, &ev)) < 0)
				return n;
		} while (next == rev);
		if (rev > after) {
			it.p = p + off;
			it.left = end - off;
			if ((r = cb(arg, rev, &it)) != 0)
				return r;
		}
		off = end;
	}
	return 0;
}

/* Walk block b's chain of records: each from memory if it is there, else the tdb. */
static int
walk_chain(
    struct store *s, uint64_t b, uint64_t after, uint64_t upto, store_history_cb cb, void *arg)
{
	char key[HIST_KEY_LEN + 1];
	uint64_t rev = b;

	for (;;) {
		TDB_DATA d;
		int r;

		if (b == s->hist_block && rev == s->hist_key_rev) /* maybe ahead of its record */
			return walk_block(s->hist_buf, s->hist_len, after, upto, cb, arg);
		hist_key(key, rev);
		if ((r = sdb_fetch(s, tstr(key), &d)) < 0)
			return r == -ENOENT ? (rev == b ? 0 : -EBADMSG) : r;
		r = block_ok(rev, d.dptr, d.dsize)
		    ? walk_block(d.dptr, d.dsize, after, upto, cb, arg)
		    : -EBADMSG;
		rev = r == 0 ? get_le64(d.dptr + 8) : 0; /* block_ok: the header is there */
		free(d.dptr);
		if (r != 0 || rev == 0)
			return r;
	}
}

int
store_history(struct store *s, uint64_t after, uint64_t upto, store_history_cb cb, void *arg)
{
	if (s->tdb == NULL)
		return -EIO;
	if (after < store_history_floor(s))
		return -ERANGE;
	if (upto > s->applied)
		upto = s->applied;
	if (after >= upto)
		return 0;
	for (uint64_t b = block_of(after + 1); b <= upto; b += HIST_BLOCK) {
		int r = walk_chain(s, b, after, upto, cb, arg);

		if (r != 0)
			return r;
	}
	return 0;
}
