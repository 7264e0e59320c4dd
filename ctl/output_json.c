/*
 * output_json.c — raftconfctl's JSON output, for scripts (contract in
 * output.h).
 *
 * One JSON value per answer, on one line: an object, or an array for
 * members and status --cluster; one object per line for a watch.  A key or value that is UTF-8
 * text is "key" or "value", any other bytes "key_base64" or "value_base64",
 * written as the HTTP API writes them (daemon/json.c).  Status values are
 * typed by json_status_member(), as /v1/status types them: counters are
 * numbers, names and words strings.  Not here: text (output.c).
 */
#include "output.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static bool first; /* no item of the list printed yet */

/* Everything goes to standard output, through stdio like the rest. */
static void
to_stdout(void *arg, const char *p, size_t len)
{
	fwrite(p, 1, len, stdout);
}

static const struct json_out out = { to_stdout, NULL };

static void
string(struct proto_str s)
{
	json_string(&out, s.ptr, s.len);
}

static void
kv(const struct proto_kv *e)
{
	json_kv(&out, e->key.ptr, e->key.len, e->value.ptr, e->value.len, e->revision,
	    e->create_revision, e->version);
}

static void
json_value_reply(const struct proto_kv *e)
{
	kv(e);
	putchar('\n');
}

static void
json_written(uint64_t revision)
{
	printf("{\"revision\":%" PRIu64 "}\n", revision);
}

static void
json_list_begin(size_t longest_key, bool truncated, bool keys_only)
{
	printf("{\"truncated\":%s,\"keys\":[", truncated ? "true" : "false");
	first = true;
}

static void
json_list_entry(const struct proto_kv *e)
{
	printf("%s", first ? "" : ",");
	kv(e);
	first = false;
}

static void
json_list_key(const struct proto_kv *e)
{
	printf("%s", first ? "" : ",");
	json_key_meta(&out, e->key.ptr, e->key.len, e->revision, e->create_revision, e->version);
	first = false;
}

static void
json_count(uint64_t count)
{
	printf("{\"count\":%" PRIu64 "}\n", count);
}

static void
json_deleted(uint64_t deleted, uint64_t revision)
{
	printf("{\"deleted\":%" PRIu64 ",\"revision\":%" PRIu64 "}\n", deleted, revision);
}

static void
json_txn_begin(bool succeeded, uint64_t revision, bool replayed)
{
	printf("{\"succeeded\":%s,\"revision\":%" PRIu64 ",%s\"results\":[",
	    succeeded ? "true" : "false", revision, replayed ? "\"replayed\":true," : "");
	first = true;
}

/* A key that does not exist: {"key":...,"found":false}. */
static void
json_txn_result(const struct proto_kv *e)
{
	printf("%s", first ? "" : ",");
	if (e->revision != 0) {
		kv(e);
	} else {
		putchar('{');
		json_bytes_field(&out, "key", e->key.ptr, e->key.len);
		printf(",\"found\":false}");
	}
	first = false;
}

static void
json_txn_end(void)
{
	printf("]}\n");
}

static void
json_list_end(bool truncated)
{
	printf("]}\n");
}

static void
json_status_begin(size_t longest_name)
{
	putchar('{');
	first = true;
}

static void
json_status_pair(const struct proto_pair *p)
{
	printf("%s", first ? "" : ",");
	/* typed as /v1/status types it: one rule, in json.c */
	json_status_member(&out, p->name.ptr, p->name.len, p->value.ptr, p->value.len);
	first = false;
}

static void
json_status_end(void)
{
	printf("}\n");
}

static bool members_local; /* the members being printed are a local view */

static void
json_members_begin(bool local_view)
{
	putchar('[');
	first = true;
	members_local = local_view;
}

/* A number, or null for unknown (PROTO_NEVER). */
static void
number_or_null(uint64_t v)
{
	if (v == PROTO_NEVER)
		printf("null");
	else
		printf("%" PRIu64, v);
}

static void
json_member(const struct proto_member_view *m)
{
	printf("%s{\"id\":", first ? "" : ",");
	string(m->node_id);
	printf(",\"address\":");
	string(m->address);
	printf(",\"role\":\"%s\",\"leader\":%s,\"self\":%s,\"relay\":",
	    (m->flags & PROTO_M_VOTER) ? "voter" : "learner",
	    (m->flags & PROTO_M_LEADER) ? "true" : "false",
	    (m->flags & PROTO_M_SELF) ? "true" : "false");
	if (m->relay.len)
		string(m->relay);
	else
		printf("null");
	printf(",\"match\":%" PRIu64 ",\"lag\":", m->match_index);
	number_or_null(m->lag_entries);
	printf(",\"lag_ms\":");
	number_or_null(m->lag_ms);
	printf(",\"last_contact_ms\":");
	number_or_null(m->last_contact_ms);
	printf(",\"health\":\"%s\",\"view\":\"%s\"}", proto_health_name(m->health),
	    members_local ? "local" : "leader");
	first = false;
}

static void
json_members_end(void)
{
	printf("]\n");
}

static void
json_cluster_begin(const struct proto_msg *reply)
{
	putchar('[');
	first = true;
}

/*
 * A member that answered: the object status --json prints on it, from
 * its pairs as it sent them; one that did not: its id, its address and
 * why ("error").
 */
static void
json_cluster_member(const struct proto_member_status *ms)
{
	union proto_item it;
	struct proto_iter iter;
	bool first_pair = true;

	printf("%s{", first ? "" : ",");
	first = false;
	if (ms->error.len) {
		printf("\"id\":");
		string(ms->node_id);
		printf(",\"address\":");
		string(ms->address);
		printf(",\"error\":");
		string(ms->error);
		putchar('}');
		return;
	}
	proto_iter_pairs(&iter, ms);
	while (proto_iter_next(&iter, &it) == 1) {
		printf("%s", first_pair ? "" : ",");
		json_status_member(
		    &out, it.pair.name.ptr, it.pair.name.len, it.pair.value.ptr, it.pair.value.len);
		first_pair = false;
	}
	putchar('}');
}

static void
json_cluster_end(void)
{
	printf("]\n");
}

static void
out_event(uint8_t kind, struct proto_str key, uint64_t revision, struct proto_str value)
{
	json_event(&out, kind == PROTO_EV_PUT, key.ptr, key.len, revision, value.ptr, value.len);
	putchar('\n');
}

static void
json_token_secret(struct proto_str name, bool write, struct proto_str prefix, const char *secret,
    uint64_t revision)
{
	printf("{\"name\":");
	string(name);
	printf(",\"access\":\"%s\",", write ? "write" : "read");
	json_bytes_field(&out, "prefix", prefix.ptr, prefix.len);
	printf(",\"secret\":\"%s\",\"revision\":%" PRIu64 "}\n", secret, revision);
}

static void
json_tokens_begin(size_t longest_name)
{
	putchar('[');
	first = true;
}

static void
json_token(const struct proto_token *t)
{
	printf("%s{\"name\":", first ? "" : ",");
	string(t->name);
	printf(",\"access\":\"%s\",", (t->flags & PROTO_F_WRITE) ? "write" : "read");
	json_bytes_field(&out, "prefix", t->prefix.ptr, t->prefix.len);
	putchar('}');
	first = false;
}

static void
json_tokens_end(void)
{
	printf("]\n");
}

static void
json_done(const char *done, uint64_t index)
{
	printf("{\"ok\":true,\"index\":%" PRIu64 "}\n", index);
}

/* {"ok":true,"leader":"n2","term":5}; a leader not learnt is null, with no term. */
static void
json_transferred(struct proto_str leader, uint64_t term)
{
	printf("{\"ok\":true,\"leader\":");
	if (leader.len == 0) {
		printf("null}\n");
		return;
	}
	string(leader);
	printf(",\"term\":%" PRIu64 "}\n", term);
}

static void
json_backup_done(const char *file, uint64_t keys, uint64_t revision, uint64_t bytes)
{
	putchar('{');
	json_bytes_field(&out, "file", file, strlen(file));
	printf(",\"keys\":%" PRIu64 ",\"revision\":%" PRIu64 ",\"bytes\":%" PRIu64 "}\n", keys,
	    revision, bytes);
}

const struct output output_json = {
	.value = json_value_reply,
	.written = json_written,
	.list_begin = json_list_begin,
	.list_entry = json_list_entry,
	.txn_begin = json_txn_begin,
	.txn_result = json_txn_result,
	.txn_end = json_txn_end,
	.list_end = json_list_end,
	.list_key = json_list_key,
	.count = json_count,
	.deleted = json_deleted,
	.status_begin = json_status_begin,
	.status_pair = json_status_pair,
	.status_end = json_status_end,
	.members_begin = json_members_begin,
	.member = json_member,
	.members_end = json_members_end,
	.cluster_begin = json_cluster_begin,
	.cluster_member = json_cluster_member,
	.cluster_end = json_cluster_end,
	.event = out_event,
	.token_secret = json_token_secret,
	.tokens_begin = json_tokens_begin,
	.token = json_token,
	.tokens_end = json_tokens_end,
	.done = json_done,
	.transferred = json_transferred,
	.backup_done = json_backup_done,
};
