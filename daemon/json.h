/*
 * json.h — JSON text and UTF-8, one module for the HTTP API (http.c) and
 * raftconfctl --json.
 *
 * For: telling whether bytes are UTF-8 text, strictly by RFC 3629 (no
 * overlong forms, no surrogates U+D800..U+DFFF, nothing above U+10FFFF, no
 * truncated or stray sequences); writing bytes as a JSON string with what
 * must be escaped escaped; writing bytes as base64 (RFC 4648, padded); and
 * the key/value objects both programs print, where bytes that are not text
 * go out as "..._base64".  Not for: reading JSON, nor the layout of any
 * other answer (callers write their own objects around these pieces).
 *
 * The writers never allocate and cannot fail: they give their text, in
 * pieces of at most JSON_CHUNK bytes, to the caller's json_out, which
 * appends it where the caller wants (an evbuffer, a FILE, memory).  This
 * module uses libc only: it is compiled into libproto.a, which raftconfctl
 * links without libevent.
 */
#ifndef RAFTCONF_JSON_H
#define RAFTCONF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes handed to json_out.write at once. */
#define JSON_CHUNK 256

/* Where written text goes: write(arg, p, len) appends len bytes at p. */
struct json_out {
	void (*write)(void *arg, const char *p, size_t len);
	void *arg;
};

/* Whether s[0..len) is UTF-8 text (RFC 3629, as above). */
bool json_utf8_valid(const void *s, size_t len);

/*
 * s[0..len) as a JSON string, quotes included.  '"', '\\', and the control
 * characters are escaped (\n, \r, \t, else \u00XX, DEL too); valid UTF-8
 * passes as it is; each byte that is not part of valid UTF-8 becomes
 * \ufffd, so the output is always valid JSON.  Callers that must not lose
 * bytes check json_utf8_valid() first and write base64.
 */
void json_string(const struct json_out *o, const void *s, size_t len);

/* s[0..len) as a quoted base64 string (RFC 4648 alphabet, '=' padding). */
void json_base64(const struct json_out *o, const void *s, size_t len);

/*
 * One member of an object: "name":"text" when s[0..len) is UTF-8 text,
 * else "name_base64":"...".  name is written as it is (a plain word).
 */
void json_bytes_field(const struct json_out *o, const char *name, const void *s, size_t len);

/*
 * A key with its revision and value, as the HTTP listing, raftconfctl
 * --json get and --json list print it:
 *
 *	{"key":"/a","revision":3,"value":"plain"}
 *
 * key and value each with "_base64" when they are not UTF-8 text.
 */
void json_entry(const struct json_out *o, const void *key, size_t keylen, uint64_t revision,
    const void *value, size_t valuelen);

/*
 * A key with its value and meta, as raftconfctl --json get, list and txn
 * and the HTTP listing and txn answer print it:
 *
 *	{"key":"/a","revision":9,"value":"plain","create_revision":3,"version":4}
 *
 * (json_entry's members in its order, then the two more).
 *
 * key and value each with "_base64" when they are not UTF-8 text.
 */
void json_kv(const struct json_out *o, const void *key, size_t keylen, const void *value,
    size_t valuelen, uint64_t revision, uint64_t create_revision, uint64_t version);

/*
 * json_kv without the value, as raftconfctl --json list --keys-only and
 * the HTTP listing with ?keys print a key:
 *
 *	{"key":"/a","revision":9,"create_revision":3,"version":4}
 */
void json_key_meta(const struct json_out *o, const void *key, size_t keylen, uint64_t revision,
    uint64_t create_revision, uint64_t version);

/*
 * One change, as raftconfctl --json watch prints it and the HTTP watch
 * lists it:
 *
 *	{"event":"PUT","key":"/a","revision":9,"value":"plain"}
 *	{"event":"DEL","key":"/a","revision":10}
 */
void json_event(const struct json_out *o, bool put, const void *key, size_t keylen,
    uint64_t revision, const void *value, size_t valuelen);

/*
 * One member of a status object, "name":value, from the text of a STATUS
 * reply's pair: the one rule by which /v1/status, raftconfctl --json
 * status and raftconfctl --json status --cluster type a status value, so
 * that they write the same object.  The value is a JSON number when it is
 * a decimal number (digits, at most one '.' between digits, no leading
 * zero, at most 24 characters) and the name is not one whose values are
 * words or names (id, role, leader, cluster, address, health, version,
 * disk, disk_why: a node may be called "7"); any other value is a string.
 */
void json_status_member(
    const struct json_out *o, const char *name, size_t namelen, const char *value, size_t valuelen);

#endif
