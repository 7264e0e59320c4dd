/*
 * errbuf.h — filling a caller's error buffer, the way every module reports
 * to a human (STYLE.md: return -errno, fill err when there is something to
 * say).  NULL or zero-length buffers are allowed: then nothing is written.
 */
#ifndef RAFTCONF_ERRBUF_H
#define RAFTCONF_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

__attribute__((format(printf, 3, 4))) static inline void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Characters of a quoted value errbuf_quote() shows, and room for them:
 * each of at most 4 bytes, then "…" and the NUL. */
#define ERRBUF_QUOTE_MAX  64
#define ERRBUF_QUOTE_SIZE (4 * ERRBUF_QUOTE_MAX + 4)

/*
 * What a human wrote, for quoting in a message: '"' and '\\' escaped with
 * a backslash, control bytes and bytes that are not UTF-8 as \xNN, and cut
 * with "…" after ERRBUF_QUOTE_MAX characters, or sooner if out is short;
 * never inside a character, so that the result is UTF-8 text (the journal
 * shows a message that is not as a blob).  Writes into out (outlen > 0
 * bytes; ERRBUF_QUOTE_SIZE holds the longest) and returns it.
 */
static inline const char *
errbuf_quote(char *out, size_t outlen, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, shown = 0, n, plen;
	char piece[8];

	while (i < len) {
		n = utf8_seq(u + i, len - i);
		if (n == 0 || u[i] < 0x20 || u[i] == 0x7f) {
			n = 1;
			plen = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", u[i]);
		} else if (u[i] == '"' || u[i] == '\\') {
			piece[0] = '\\';
			piece[1] = (char)u[i];
			plen = 2;
		} else {
			memcpy(piece, u + i, n);
			plen = n;
		}
		/* Room for this character and for "…" after it, and the NUL. */
		if (shown == ERRBUF_QUOTE_MAX || o + plen + 3 >= outlen) {
			if (o + 3 < outlen) {
				memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
				o += 3;
			}
			break;
		}
		memcpy(out + o, piece, plen);
		o += plen;
		i += n;
		shown++;
	}
	out[o] = '\0';
	return out;
}

#endif
