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

/* Characters of a quoted value errbuf_quote() shows, and room for them. */
#define ERRBUF_QUOTE_MAX  64
#define ERRBUF_QUOTE_SIZE (4 * ERRBUF_QUOTE_MAX)

/*
 * What a human wrote, for quoting in a message: '"' and '\\' escaped with
 * a backslash, control bytes as \xNN, and cut with "…" after
 * ERRBUF_QUOTE_MAX characters (UTF-8 continuation bytes do not count).
 * Writes into out (outlen bytes; ERRBUF_QUOTE_SIZE holds the longest) and
 * returns it.
 */
static inline const char *
errbuf_quote(char *out, size_t outlen, const char *s, size_t len)
{
	size_t i, o = 0, shown = 0;

	for (i = 0; i < len && o + 8 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (shown >= ERRBUF_QUOTE_MAX) {
			memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
		} else {
			out[o++] = (char)ch;
		}
		if ((ch & 0xc0) != 0x80)
			shown++;
	}
	out[o] = '\0';
	return out;
}

#endif
