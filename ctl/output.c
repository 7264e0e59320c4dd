/*
 * output.c — raftconfctl's text output, for people and scripts (contract
 * in output.h), and the escaping that text and tables share.
 *
 * Values are printed exactly as stored by get (binary safe); everywhere
 * else one record is one line: keys and values escaped (output_escaped),
 * a listing's key and value apart by two spaces, never padded.  Not here:
 * tables (output_table.c), JSON (output_json.c).
 */
#include "output.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "utf8.h"

static int name_column; /* of the status or token list being printed */

void
output_escaped(FILE *f, struct proto_str s, bool key)
{
	const unsigned char *p = (const unsigned char *)s.ptr;

	for (size_t i = 0, n; i < s.len; i += n) {
		n = utf8_seq(p + i, s.len - i);
		if (n > 1) {
			fwrite(p + i, 1, n, f);
			continue;
		}
		n = 1;
		if (p[i] == '\\')
			fputs("\\\\", f);
		else if (p[i] == '\n')
			fputs("\\n", f);
		else if (p[i] == '\r')
			fputs("\\r", f);
		else if (p[i] == '\t')
			fputs("\\t", f);
		else if (p[i] < 0x20 || p[i] >= 0x7f || (key && p[i] == ' '))
			fprintf(f, "\\x%02x", p[i]); /* control, not UTF-8, or a key's space */
		else
			fputc(p[i], f);
	}
}

static void
text_value(const struct proto_kv *kv)
{
	struct proto_str value = kv->value;

	fwrite(value.ptr, 1, value.len, stdout);
	/* Binary safe for pipes and files; tidy on a terminal. */
	if (isatty(STDOUT_FILENO) && (value.len == 0 || value.ptr[value.len - 1] != '\n'))
		putchar('\n');
}

static void
text_written(uint64_t revision)
{
	printf("OK revision %" PRIu64 "\n", revision);
}

/* Lines "KEY  VALUE", not aligned: the first space ends the key (escaped). */
static void
text_list_begin(size_t longest_key, bool truncated, bool keys_only)
{
}

static void
text_list_entry(const struct proto_kv *e)
{
	output_escaped(stdout, e->key, true);
	fputs("  ", stdout);
	output_escaped(stdout, e->value, false);
	putchar('\n');
}

static void
text_list_end(bool truncated)
{
	if (truncated)
		fprintf(stderr,
		    "raftconfctl: the listing was cut at the reply size limit; "
		    "list a longer prefix\n");
}

/* One key per line, escaped as list prints it, without the value. */
static void
text_list_key(const struct proto_kv *e)
{
	output_escaped(stdout, e->key, true);
	putchar('\n');
}

/* The number alone, for $(raftconfctl list --count PREFIX). */
static void
text_count(uint64_t count)
{
	printf("%" PRIu64 "\n", count);
}

static void
text_deleted(uint64_t deleted, uint64_t revision)
{
	printf("%" PRIu64 "\n", deleted);
}

static void
text_txn_begin(bool succeeded, uint64_t revision, bool replayed)
{
	printf("%s revision %" PRIu64 "%s\n", succeeded ? "then" : "else", revision,
	    replayed ? " (a retry: results not kept)" : "");
}

/* Each get as list prints a key; a key that does not exist with no value after it. */
static void
text_txn_result(const struct proto_kv *kv)
{
	output_escaped(stdout, kv->key, true);
	if (kv->revision != 0) {
		fputs("  ", stdout);
		output_escaped(stdout, kv->value, false);
	}
	putchar('\n');
}

static void
text_txn_end(void)
{
}

static void
text_status_begin(size_t longest_name)
{
	name_column = (int)longest_name;
}

static void
text_status_pair(const struct proto_pair *p)
{
	printf("%.*s:%*s %.*s\n", (int)p->name.len, p->name.ptr, name_column - (int)p->name.len, "",
	    (int)p->value.len, p->value.ptr);
}

static void
text_status_end(void)
{
}

static void
text_members_begin(bool local_view)
{
	printf("%-20s %-24s %-8s %-6s %-6s %10s %8s %8s %12s  %s\n", "ID", "ADDRESS", "ROLE",
	    "LEADER", "RELAY", "MATCH", "LAG", "LAG-MS", "LAST-CONTACT", "HEALTH");
}

/* A count, or "-" for unknown (PROTO_NEVER); unit after it if any. */
static const char *
count_or_dash(char *buf, size_t len, uint64_t v, const char *unit)
{
	if (v == PROTO_NEVER)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRIu64 "%s", v, unit);
	return buf;
}

static void
text_member(const struct proto_member_view *m)
{
	char contact[32], lag[32], lagms[32];

	printf("%-20.*s %-24.*s %-8s %-6s %-6.*s %10" PRIu64 " %8s %8s %12s  %s%s\n",
	    (int)m->node_id.len, m->node_id.ptr, (int)m->address.len, m->address.ptr,
	    (m->flags & PROTO_M_VOTER) ? "voter" : "learner",
	    (m->flags & PROTO_M_LEADER) ? "*" : "", m->relay.len ? (int)m->relay.len : 1,
	    m->relay.len ? m->relay.ptr : "-", m->match_index,
	    count_or_dash(lag, sizeof(lag), m->lag_entries, ""),
	    count_or_dash(lagms, sizeof(lagms), m->lag_ms, ""),
	    count_or_dash(contact, sizeof(contact), m->last_contact_ms, "ms"),
	    proto_health_name(m->health), (m->flags & PROTO_M_SELF) ? " (this node)" : "");
}

static void
text_members_end(void)
{
}

/* status --cluster: the columns, and the status names they show. */
#define CLUSTER_COLUMNS 9
static const struct {
	const char *head, *name; /* name NULL: the member's id */
	bool number;		 /* aligned right */
} cluster_col[CLUSTER_COLUMNS] = {
	{ "ID", NULL, false },
	{ "ROLE", "role", false },
	{ "TERM", "term", true },
	{ "LEADER", "leader", false },
	{ "COMMIT", "commit", true },
	{ "APPLIED", "applied", true },
	{ "HEALTH", "health", false },
	{ "VERSION", "version", false },
	{ "DB_SIZE", "db_size", true },
};
static int cluster_width[CLUSTER_COLUMNS];

/* Column k of member ms: its id, the value it reported, or "-" for none. */
static struct proto_str
cluster_cell(const struct proto_member_status *ms, int k)
{
	union proto_item it;
	struct proto_iter iter;

	if (cluster_col[k].name == NULL)
		return ms->node_id;
	proto_iter_pairs(&iter, ms);
	while (proto_iter_next(&iter, &it) == 1)
		if (it.pair.name.len == strlen(cluster_col[k].name) &&
		    memcmp(it.pair.name.ptr, cluster_col[k].name, it.pair.name.len) == 0 &&
		    it.pair.value.len > 0)
			return it.pair.value;
	return proto_cstr("-");
}

static void
text_cluster_begin(const struct proto_msg *reply)
{
	union proto_item it;
	struct proto_iter iter;

	for (int k = 0; k < CLUSTER_COLUMNS; k++)
		cluster_width[k] = (int)strlen(cluster_col[k].head);
	proto_iter_init(&iter, reply);
	while (proto_iter_next(&iter, &it) == 1)
		for (int k = 0; k < CLUSTER_COLUMNS; k++) {
			int w = (int)cluster_cell(&it.member_status, k).len;

			if (w > cluster_width[k])
				cluster_width[k] = w;
		}
	for (int k = 0; k < CLUSTER_COLUMNS; k++)
		printf("%s%*s", k ? "  " : "",
		    cluster_col[k].number ? cluster_width[k] : -cluster_width[k],
		    cluster_col[k].head);
	putchar('\n');
}

/* One row; a member with no status has "-" everywhere and says why at the end. */
static void
text_cluster_member(const struct proto_member_status *ms)
{
	for (int k = 0; k < CLUSTER_COLUMNS; k++) {
		struct proto_str v = cluster_cell(ms, k);
		int pad = cluster_width[k] - (int)v.len;

		if (k)
			fputs("  ", stdout);
		if (cluster_col[k].number && pad > 0)
			printf("%*s", pad, "");
		output_escaped(stdout, v, false);
		if (!cluster_col[k].number && pad > 0 && (k + 1 < CLUSTER_COLUMNS || ms->error.len))
			printf("%*s", pad, "");
	}
	if (ms->error.len) {
		fputs("  ", stdout);
		output_escaped(stdout, ms->error, false);
	}
	putchar('\n');
}

static void
text_cluster_end(void)
{
}

static void
text_event(uint8_t kind, struct proto_str key, uint64_t revision, struct proto_str value)
{
	fputs(kind == PROTO_EV_PUT ? "PUT " : "DEL ", stdout);
	output_escaped(stdout, key, true);
	if (kind == PROTO_EV_PUT) {
		putchar(' ');
		output_escaped(stdout, value, false);
	}
	putchar('\n');
}

static void
text_token_secret(struct proto_str name, bool write, struct proto_str prefix, const char *secret,
    uint64_t revision)
{
	printf("%s\n", secret);
}

static void
text_tokens_begin(size_t longest_name)
{
	name_column = (int)longest_name;
}

/* NAME ACCESS PREFIX; an empty prefix (every key) is shown as "". */
static void
text_token(const struct proto_token *t)
{
	printf("%-*.*s %-5s ", name_column, (int)t->name.len, t->name.ptr,
	    (t->flags & PROTO_F_WRITE) ? "write" : "read");
	if (t->prefix.len == 0)
		fputs("\"\"", stdout);
	else
		output_escaped(stdout, t->prefix, true);
	putchar('\n');
}

static void
text_tokens_end(void)
{
}

static void
text_done(const char *done, uint64_t index)
{
	printf("%s\n", done);
}

static void
text_transferred(struct proto_str leader, uint64_t term)
{
	if (leader.len == 0)
		printf("leadership transferred\n");
	else
		printf("leadership transferred to %.*s (term %" PRIu64 ")\n", (int)leader.len,
		    leader.ptr, term);
}

static void
text_backup_done(const char *file, uint64_t keys, uint64_t revision, uint64_t bytes)
{
	printf("backup: %s: %" PRIu64 " keys, revision %" PRIu64 ", %" PRIu64 " bytes\n", file,
	    keys, revision, bytes);
}

const struct output output_text = {
	.value = text_value,
	.written = text_written,
	.list_begin = text_list_begin,
	.list_entry = text_list_entry,
	.txn_begin = text_txn_begin,
	.txn_result = text_txn_result,
	.txn_end = text_txn_end,
	.list_end = text_list_end,
	.list_key = text_list_key,
	.count = text_count,
	.deleted = text_deleted,
	.status_begin = text_status_begin,
	.status_pair = text_status_pair,
	.status_end = text_status_end,
	.members_begin = text_members_begin,
	.member = text_member,
	.members_end = text_members_end,
	.cluster_begin = text_cluster_begin,
	.cluster_member = text_cluster_member,
	.cluster_end = text_cluster_end,
	.event = text_event,
	.token_secret = text_token_secret,
	.tokens_begin = text_tokens_begin,
	.token = text_token,
	.tokens_end = text_tokens_end,
	.done = text_done,
	.transferred = text_transferred,
	.backup_done = text_backup_done,
};
