/*
 * output_json.c — raftconfctl's JSON output, for scripts (contract in
 * output.h).
 *
 * One JSON value per answer, on one line: an object, or an array for
 * members; one object per line for a watch.  A value that is UTF-8 text is
 * "value", any other bytes "value_base64".  Status values made of digits
 * only are numbers, all else strings.  Not here: text (output.c).
 */
#include "output.h"

#include <inttypes.h>
#include <stdio.h>

static bool first;			/* no item of the list printed yet */

static bool
valid_utf8(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i];
		size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
		    (c & 0xf8) == 0xf0 ? 3 : 9;

		if (n == 9 || (c & 0xfe) == 0xc0 || i + n >= len + (n == 0))
			return n == 0;
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += n + 1;
	}
	return true;
}

static void
json_string(FILE *f, const char *p, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
json_base64(FILE *f, const uint8_t *p, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	fputc('"', f);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0) |
		    (i + 2 < len ? p[i + 2] : 0);

		fputc(tab[v >> 18 & 63], f);
		fputc(tab[v >> 12 & 63], f);
		fputc(i + 1 < len ? tab[v >> 6 & 63] : '=', f);
		fputc(i + 2 < len ? tab[v & 63] : '=', f);
	}
	fputc('"', f);
}

/* "value": "..." when the value is UTF-8 text, else "value_base64": "...". */
static void
json_value(FILE *f, struct proto_str v)
{
	if (valid_utf8((const uint8_t *)v.ptr, v.len)) {
		fputs("\"value\":", f);
		json_string(f, v.ptr, v.len);
	} else {
		fputs("\"value_base64\":", f);
		json_base64(f, (const uint8_t *)v.ptr, v.len);
	}
}

static bool
all_digits(struct proto_str v)
{
	if (v.len == 0 || v.len > 20 || (v.len > 1 && v.ptr[0] == '0'))
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return false;
	return true;
}

static void
json_value_reply(struct proto_str key, uint64_t revision, struct proto_str value)
{
	printf("{\"key\":");
	json_string(stdout, key.ptr, key.len);
	printf(",\"revision\":%" PRIu64 ",", revision);
	json_value(stdout, value);
	printf("}\n");
}

static void
json_written(uint64_t revision)
{
	printf("{\"revision\":%" PRIu64 "}\n", revision);
}

static void
json_list_begin(size_t longest_key, bool truncated)
{
	printf("{\"truncated\":%s,\"keys\":[", truncated ? "true" : "false");
	first = true;
}

static void
json_list_entry(const struct proto_entry *e)
{
	printf("%s{\"key\":", first ? "" : ",");
	json_string(stdout, e->key.ptr, e->key.len);
	printf(",\"revision\":%" PRIu64 ",", e->revision);
	json_value(stdout, e->value);
	printf("}");
	first = false;
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
	json_string(stdout, p->name.ptr, p->name.len);
	putchar(':');
	/* Counters are numbers; everything else is a string. */
	if (all_digits(p->value))
		printf("%.*s", (int)p->value.len, p->value.ptr);
	else
		json_string(stdout, p->value.ptr, p->value.len);
	first = false;
}

static void
json_status_end(void)
{
	printf("}\n");
}

static void
json_members_begin(void)
{
	putchar('[');
	first = true;
}

static void
json_member(const struct proto_member *m)
{
	printf("%s{\"id\":", first ? "" : ",");
	json_string(stdout, m->node_id.ptr, m->node_id.len);
	printf(",\"address\":");
	json_string(stdout, m->address.ptr, m->address.len);
	printf(",\"role\":\"%s\",\"leader\":%s,\"self\":%s,\"match\":%" PRIu64
	    ",\"last_contact_ms\":", (m->flags & PROTO_M_VOTER) ? "voter" : "learner",
	    (m->flags & PROTO_M_LEADER) ? "true" : "false",
	    (m->flags & PROTO_M_SELF) ? "true" : "false", m->match_index);
	if (m->last_contact_ms == PROTO_NEVER)
		printf("null");
	else
		printf("%" PRIu64, m->last_contact_ms);
	printf(",\"health\":\"%s\"}", proto_health_name(m->health));
	first = false;
}

static void
json_members_end(void)
{
	printf("]\n");
}

static void
json_event(uint8_t kind, struct proto_str key, uint64_t revision, struct proto_str value)
{
	printf("{\"event\":\"%s\",\"key\":", kind == PROTO_EV_PUT ? "PUT" : "DEL");
	json_string(stdout, key.ptr, key.len);
	printf(",\"revision\":%" PRIu64, revision);
	if (kind == PROTO_EV_PUT) {
		putchar(',');
		json_value(stdout, value);
	}
	printf("}\n");
}

static void
json_done(const char *done, uint64_t index)
{
	printf("{\"ok\":true,\"index\":%" PRIu64 "}\n", index);
}

const struct output output_json = {
	.value = json_value_reply,
	.written = json_written,
	.list_begin = json_list_begin,
	.list_entry = json_list_entry,
	.list_end = json_list_end,
	.status_begin = json_status_begin,
	.status_pair = json_status_pair,
	.status_end = json_status_end,
	.members_begin = json_members_begin,
	.member = json_member,
	.members_end = json_members_end,
	.event = json_event,
	.done = json_done,
};
