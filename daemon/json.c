/*
 * json.c — JSON text and UTF-8 (contract in json.h).
 *
 * Not here: anything that knows HTTP, libevent or the wire protocol.
 */
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* Text is gathered here and handed to the json_out one chunk at a time. */
struct chunk {
	const struct json_out *o;
	size_t len;
	char buf[JSON_CHUNK];
};

static void
chunk_flush(struct chunk *c)
{
	if (c->len > 0)
		c->o->write(c->o->arg, c->buf, c->len);
	c->len = 0;
}

static void
chunk_add(struct chunk *c, const char *p, size_t len)
{
	while (len > 0) {
		size_t n = sizeof(c->buf) - c->len;

		if (n == 0) {
			chunk_flush(c);
			continue;
		}
		if (n > len)
			n = len;
		memcpy(c->buf + c->len, p, n);
		c->len += n;
		p += n;
		len -= n;
	}
}

bool
json_utf8_valid(const void *s, size_t len)
{
	const unsigned char *p = s;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return false;
	return true;
}

void
json_string(const struct json_out *o, const void *s, size_t len)
{
	const unsigned char *p = s;
	struct chunk c = { .o = o };

	chunk_add(&c, "\"", 1);
	for (size_t i = 0, n; i < len; i += n) {
		const char *esc;
		char u[8];

		n = utf8_seq(p + i, len - i);
		if (n == 0) {
			esc = "\\ufffd";
			n = 1;
		} else if (n > 1) {
			chunk_add(&c, (const char *)p + i, n);
			continue;
		} else if (p[i] == '"') {
			esc = "\\\"";
		} else if (p[i] == '\\') {
			esc = "\\\\";
		} else if (p[i] == '\n') {
			esc = "\\n";
		} else if (p[i] == '\r') {
			esc = "\\r";
		} else if (p[i] == '\t') {
			esc = "\\t";
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			snprintf(u, sizeof(u), "\\u%04x", p[i]);
			esc = u;
		} else {
			chunk_add(&c, (const char *)p + i, 1);
			continue;
		}
		chunk_add(&c, esc, strlen(esc));
	}
	chunk_add(&c, "\"", 1);
	chunk_flush(&c);
}

void
json_base64(const struct json_out *o, const void *s, size_t len)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = s;
	struct chunk c = { .o = o };

	chunk_add(&c, "\"", 1);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t rest = len - i;
		char q[4];

		if (rest > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (rest > 2)
			v |= p[i + 2];
		q[0] = abc[v >> 18 & 63];
		q[1] = abc[v >> 12 & 63];
		q[2] = rest > 1 ? abc[v >> 6 & 63] : '=';
		q[3] = rest > 2 ? abc[v & 63] : '=';
		chunk_add(&c, q, 4);
	}
	chunk_add(&c, "\"", 1);
	chunk_flush(&c);
}

void
json_bytes_field(const struct json_out *o, const char *name, const void *s, size_t len)
{
	bool text = json_utf8_valid(s, len);

	o->write(o->arg, "\"", 1);
	o->write(o->arg, name, strlen(name));
	if (text) {
		o->write(o->arg, "\":", 2);
		json_string(o, s, len);
	} else {
		o->write(o->arg, "_base64\":", 9);
		json_base64(o, s, len);
	}
}

/* json_entry without its closing brace. */
static void
json_entry_open(const struct json_out *o, const void *key, size_t keylen, uint64_t revision,
    const void *value, size_t valuelen)
{
	char rev[40];
	int n;

	o->write(o->arg, "{", 1);
	json_bytes_field(o, "key", key, keylen);
	n = snprintf(rev, sizeof(rev), ",\"revision\":%" PRIu64 ",", revision);
	o->write(o->arg, rev, (size_t)n);
	json_bytes_field(o, "value", value, valuelen);
}

void
json_entry(const struct json_out *o, const void *key, size_t keylen, uint64_t revision,
    const void *value, size_t valuelen)
{
	json_entry_open(o, key, keylen, revision, value, valuelen);
	o->write(o->arg, "}", 1);
}

void
json_kv(const struct json_out *o, const void *key, size_t keylen, const void *value,
    size_t valuelen, uint64_t revision, uint64_t create_revision, uint64_t version)
{
	char meta[96];
	int n;

	/* json_entry's members first, in its order, so that what read those reads these */
	json_entry_open(o, key, keylen, revision, value, valuelen);
	n = snprintf(meta, sizeof(meta),
	    ",\"create_revision\":%" PRIu64 ",\"version\":%" PRIu64 "}", create_revision, version);
	o->write(o->arg, meta, (size_t)n);
}

void
json_key_meta(const struct json_out *o, const void *key, size_t keylen, uint64_t revision,
    uint64_t create_revision, uint64_t version)
{
	char meta[128];
	int n;

	o->write(o->arg, "{", 1);
	json_bytes_field(o, "key", key, keylen);
	n = snprintf(meta, sizeof(meta),
	    ",\"revision\":%" PRIu64 ",\"create_revision\":%" PRIu64 ",\"version\":%" PRIu64 "}",
	    revision, create_revision, version);
	o->write(o->arg, meta, (size_t)n);
}

void
json_event(const struct json_out *o, bool put, const void *key, size_t keylen, uint64_t revision,
    const void *value, size_t valuelen)
{
	char rev[40];
	int n;

	const char *head = put ? "{\"event\":\"PUT\"," : "{\"event\":\"DEL\",";

	o->write(o->arg, head, strlen(head));
	json_bytes_field(o, "key", key, keylen);
	n = snprintf(rev, sizeof(rev), ",\"revision\":%" PRIu64, revision);
	o->write(o->arg, rev, (size_t)n);
	if (put) {
		o->write(o->arg, ",", 1);
		json_bytes_field(o, "value", value, valuelen);
	}
	o->write(o->arg, "}", 1);
}

/* The status names whose values are words or names, never numbers. */
static bool
status_text(const char *name, size_t len)
{
	static const char *const text[] = {
		"id",
		"role",
		"leader",
		"cluster",
		"address",
		"health",
		"version",
		"disk",
		"disk_why",
	};

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (strlen(text[i]) == len && memcmp(text[i], name, len) == 0)
			return true;
	return false;
}

static bool
decimal_number(const char *v, size_t len)
{
	size_t i = 0, digits = 0;

	if (len == 0 || len > 24 || (len > 1 && v[0] == '0' && v[1] != '.'))
		return false;
	while (i < len && v[i] >= '0' && v[i] <= '9')
		i++, digits++;
	if (digits == 0)
		return false;
	if (i == len)
		return true;
	if (v[i++] != '.' || i == len)
		return false;
	for (; i < len; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

void
json_status_member(
    const struct json_out *o, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	json_string(o, name, namelen);
	o->write(o->arg, ":", 1);
	if (!status_text(name, namelen) && decimal_number(value, valuelen))
		o->write(o->arg, value, valuelen);
	else
		json_string(o, value, valuelen);
}
