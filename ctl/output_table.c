/*
 * output_table.c — raftconfctl -w table, for people (contract in output.h),
 * as etcdctl -w table prints:
 *
 *	+--------------+----------+----------+-----------------+---------+
 *	| KEY          | VALUE    | REVISION | CREATE REVISION | VERSION |
 *	+--------------+----------+----------+-----------------+---------+
 *	| /app/db/host | 10.0.0.5 |        7 |               7 |       1 |
 *	+--------------+----------+----------+-----------------+---------+
 *
 * An answer's rows are gathered, then printed with every column as wide as
 * its widest cell (in characters: cells are escaped as text output
 * escapes, so they are UTF-8 on one line); numbers are aligned right.
 * What is one line in text (set, del, join, snapshot, transfer, token
 * add, token revoke, backup) and a watch's changes, which never end, are
 * printed as text.  Not here: the escaping (output.c), JSON.
 */
#include "output.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most columns of a table here (members). */
#define TABLE_MAX_COLUMNS 11

/* The table being gathered: the rows of one answer. */
static struct {
	size_t ncols;
	const char *head[TABLE_MAX_COLUMNS];
	const char *align; /* per column, 'l' or 'r' */
	char **cells;	   /* nrows * ncols, each owned (NULL: out of memory) */
	size_t nrows, cap;
	bool nomem;
} t;

static void
table_begin(const char *align, ...)
{
	va_list ap;
	const char *h;

	t.ncols = 0;
	t.align = align;
	va_start(ap, align);
	while ((h = va_arg(ap, const char *)) != NULL && t.ncols < TABLE_MAX_COLUMNS)
		t.head[t.ncols++] = h;
	va_end(ap);
}

/* s escaped (output_escaped), in its own allocation; NULL when out of memory. */
static char *
escaped(struct proto_str s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	output_escaped(f, s, false);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
format(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static char *
number(uint64_t v)
{
	return format("%" PRIu64, v);
}

/* One row of t.ncols cells, each owned from now on (a NULL one: out of memory). */
static void
table_row(char **cells)
{
	if (t.nrows == t.cap) {
		size_t cap = t.cap ? 2 * t.cap : 16;
		char **p = reallocarray(t.cells, cap, t.ncols * sizeof(*p));

		if (p == NULL) {
			t.nomem = true;
			for (size_t c = 0; c < t.ncols; c++)
				free(cells[c]);
			return;
		}
		t.cells = p;
		t.cap = cap;
	}
	for (size_t c = 0; c < t.ncols; c++) {
		t.nomem |= cells[c] == NULL;
		t.cells[t.nrows * t.ncols + c] = cells[c];
	}
	t.nrows++;
}

/* Characters of UTF-8 text s (each counts one column). */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; s != NULL && *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void
border(const size_t *w)
{
	for (size_t c = 0; c < t.ncols; c++) {
		putchar('+');
		for (size_t i = 0; i < w[c] + 2; i++)
			putchar('-');
	}
	puts("+");
}

static void
line(const char *const *cells, const size_t *w, bool head)
{
	for (size_t c = 0; c < t.ncols; c++) {
		const char *s = cells[c] ? cells[c] : "";
		int pad = (int)(w[c] - width(s));

		if (t.align[c] == 'r' && !head)
			printf("| %*s%s ", pad, "", s);
		else
			printf("| %s%*s ", s, pad, "");
	}
	puts("|");
}

/* Print the table gathered and forget it. */
static void
table_end(void)
{
	size_t w[TABLE_MAX_COLUMNS];

	for (size_t c = 0; c < t.ncols; c++) {
		w[c] = width(t.head[c]);
		for (size_t r = 0; r < t.nrows; r++) {
			size_t cw = width(t.cells[r * t.ncols + c]);

			if (cw > w[c])
				w[c] = cw;
		}
	}
	border(w);
	line(t.head, w, true);
	border(w);
	for (size_t r = 0; r < t.nrows; r++)
		line((const char *const *)&t.cells[r * t.ncols], w, false);
	if (t.nrows > 0)
		border(w);
	if (t.nomem)
		fprintf(stderr,
		    "raftconfctl: internal error: out of memory: the table above "
		    "lacks cells\n");
	for (size_t i = 0; i < t.nrows * t.ncols; i++)
		free(t.cells[i]);
	free(t.cells);
	memset(&t, 0, sizeof(t));
}

/* ------------------------------------------------------------- answers */

static void
kv_begin(void)
{
	table_begin("llrrr", "KEY", "VALUE", "REVISION", "CREATE REVISION", "VERSION", NULL);
}

static void
kv_row(const struct proto_kv *kv)
{
	char *cells[] = { escaped(kv->key), escaped(kv->value), number(kv->revision),
		number(kv->create_revision), number(kv->version) };

	table_row(cells);
}

static void
table_value(const struct proto_kv *kv)
{
	kv_begin();
	kv_row(kv);
	table_end();
}

static void
table_written(uint64_t revision)
{
	output_text.written(revision);
}

static void
table_list_begin(size_t longest_key, bool truncated, bool keys_only)
{
	if (keys_only)
		table_begin("lrrr", "KEY", "REVISION", "CREATE REVISION", "VERSION", NULL);
	else
		kv_begin();
}

/* list --keys-only: the columns of list but VALUE. */
static void
table_list_key(const struct proto_kv *e)
{
	char *cells[] = { escaped(e->key), number(e->revision), number(e->create_revision),
		number(e->version) };

	table_row(cells);
}

/* list --count, del --prefix: a number, as text prints it. */
static void
table_count(uint64_t count)
{
	output_text.count(count);
}

static void
table_deleted(uint64_t deleted, uint64_t revision)
{
	output_text.deleted(deleted, revision);
}

static void
table_list_entry(const struct proto_kv *e)
{
	kv_row(e);
}

static void
table_list_end(bool truncated)
{
	table_end();
	output_text.list_end(truncated); /* what it says on stderr */
}

/* The branch as text prints it, then the gets' table (revision 0: no such key). */
static void
table_txn_begin(bool succeeded, uint64_t revision, bool replayed)
{
	output_text.txn_begin(succeeded, revision, replayed);
	kv_begin();
}

static void
table_txn_result(const struct proto_kv *kv)
{
	kv_row(kv);
}

static void
table_txn_end(void)
{
	if (t.nrows > 0)
		table_end();
	else
		memset(&t, 0, sizeof(t));
}

static void
table_status_begin(size_t longest_name)
{
	table_begin("ll", "NAME", "VALUE", NULL);
}

static void
table_status_pair(const struct proto_pair *p)
{
	char *cells[] = { escaped(p->name), escaped(p->value) };

	table_row(cells);
}

static void
table_members_begin(bool local_view)
{
	table_begin("lllllrrrrll", "ID", "ADDRESS", "ROLE", "LEADER", "RELAY", "MATCH", "LAG",
	    "LAG MS", "LAST CONTACT", "HEALTH", "THIS NODE", NULL);
}

/* A count with its unit, or "-" for unknown (PROTO_NEVER). */
static char *
count_cell(uint64_t v, const char *unit)
{
	return v == PROTO_NEVER ? strdup("-") : format("%" PRIu64 "%s", v, unit);
}

static void
table_member(const struct proto_member_view *m)
{
	char *cells[] = { escaped(m->node_id), escaped(m->address),
		strdup((m->flags & PROTO_M_VOTER) ? "voter" : "learner"),
		strdup((m->flags & PROTO_M_LEADER) ? "*" : ""),
		m->relay.len ? escaped(m->relay) : strdup("-"), number(m->match_index),
		count_cell(m->lag_entries, ""), count_cell(m->lag_ms, ""),
		count_cell(m->last_contact_ms, "ms"), strdup(proto_health_name(m->health)),
		strdup((m->flags & PROTO_M_SELF) ? "*" : "") };

	table_row(cells);
}

static void
table_event(uint8_t kind, struct proto_str key, uint64_t revision, struct proto_str value)
{
	output_text.event(kind, key, revision, value);
}

static void
table_token_secret(struct proto_str name, bool write, struct proto_str prefix, const char *secret,
    uint64_t revision)
{
	output_text.token_secret(name, write, prefix, secret, revision);
}

static void
table_tokens_begin(size_t longest_name)
{
	table_begin("lll", "NAME", "ACCESS", "PREFIX", NULL);
}

/* An empty prefix (every key) is shown as "", as text shows it. */
static void
table_token(const struct proto_token *tk)
{
	char *cells[] = { escaped(tk->name), strdup((tk->flags & PROTO_F_WRITE) ? "write" : "read"),
		tk->prefix.len ? escaped(tk->prefix) : strdup("\"\"") };

	table_row(cells);
}

static void
table_done(const char *done, uint64_t index)
{
	output_text.done(done, index);
}

static void
table_transferred(struct proto_str leader, uint64_t term)
{
	output_text.transferred(leader, term);
}

static void
table_backup_done(const char *file, uint64_t keys, uint64_t revision, uint64_t bytes)
{
	output_text.backup_done(file, keys, revision, bytes);
}

/* status --cluster: its text rows are a table already (aligned columns, a header). */
static void
table_cluster_begin(const struct proto_msg *reply)
{
	output_text.cluster_begin(reply);
}

static void
table_cluster_member(const struct proto_member_status *ms)
{
	output_text.cluster_member(ms);
}

static void
table_cluster_end(void)
{
	output_text.cluster_end();
}

const struct output output_table = {
	.value = table_value,
	.written = table_written,
	.list_begin = table_list_begin,
	.list_entry = table_list_entry,
	.list_end = table_list_end,
	.list_key = table_list_key,
	.count = table_count,
	.deleted = table_deleted,
	.txn_begin = table_txn_begin,
	.txn_result = table_txn_result,
	.txn_end = table_txn_end,
	.status_begin = table_status_begin,
	.status_pair = table_status_pair,
	.status_end = table_end,
	.members_begin = table_members_begin,
	.member = table_member,
	.members_end = table_end,
	.event = table_event,
	.token_secret = table_token_secret,
	.tokens_begin = table_tokens_begin,
	.token = table_token,
	.tokens_end = table_end,
	.done = table_done,
	.transferred = table_transferred,
	.backup_done = table_backup_done,
	.cluster_begin = table_cluster_begin,
	.cluster_member = table_cluster_member,
	.cluster_end = table_cluster_end,
};
