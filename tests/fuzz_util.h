/*
 * fuzz_util.h — what the libFuzzer targets fuzz_config and fuzz_http share:
 * stopping on a broken promise, a growable byte buffer, and a UTF-8 decoder
 * of their own (written from the Unicode standard's table of well-formed
 * byte sequences, not from daemon/json.c, so that it can judge that module).
 */
#ifndef RAFTCONF_FUZZ_UTIL_H
#define RAFTCONF_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The target's name, for the message before abort(). */
#ifndef FUZZ_NAME
#error "define FUZZ_NAME before including fuzz_util.h"
#endif

static inline void
require(bool ok, const char *what, const char *detail)
{
	if (!ok) {
		fprintf(
		    stderr, FUZZ_NAME ": %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
		abort();
	}
}

/* ---------------------------------------------------------------- buffer */

struct fbuf {
	char *p;
	size_t len, cap;
};

static inline void
fbuf_add(struct fbuf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->p = realloc(b->p, cap);
		require(b->p != NULL, "out of memory", NULL);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void
fbuf_str(struct fbuf *b, const char *s)
{
	fbuf_add(b, s, strlen(s));
}

static inline void
fbuf_free(struct fbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ UTF-8 */

/*
 * The code point at s[0..len) (len > 0) into *cp: the length of its
 * well-formed sequence (1-4), or 0 when s does not start with one (Unicode
 * 15, table 3-7: no overlong form, no surrogate, nothing above U+10FFFF).
 */
static inline size_t
utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
{
	uint8_t b0 = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (b0 < 0x80) {
		*cp = b0;
		return 1;
	}
	if (b0 >= 0xc2 && b0 <= 0xdf)
		n = 2;
	else if (b0 >= 0xe0 && b0 <= 0xef)
		n = 3;
	else if (b0 >= 0xf0 && b0 <= 0xf4)
		n = 4;
	else
		return 0;
	if (b0 == 0xe0)
		lo = 0xa0;
	else if (b0 == 0xed)
		hi = 0x9f;
	else if (b0 == 0xf0)
		lo = 0x90;
	else if (b0 == 0xf4)
		hi = 0x8f;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	*cp = b0 & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
	for (i = 1; i < n; i++) {
		if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf))
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return n;
}

static inline bool
utf8_ok(const void *p, size_t len)
{
	const uint8_t *s = p;
	uint32_t cp;
	size_t n;

	for (size_t i = 0; i < len; i += n)
		if ((n = utf8_next(s + i, len - i, &cp)) == 0)
			return false;
	return true;
}

#endif
