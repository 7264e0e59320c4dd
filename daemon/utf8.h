/*
 * utf8.h — the one test of a UTF-8 sequence, shared by json.c (text or
 * base64) and errbuf.h (what a message may quote as it is).
 */
#ifndef RAFTCONF_UTF8_H
#define RAFTCONF_UTF8_H

#include <stddef.h>

/*
 * The length of the valid UTF-8 sequence at s[0..len) (len > 0), 1 to 4,
 * or 0 when there is none (RFC 3629: no overlong form, no surrogate
 * U+D800..U+DFFF, nothing above U+10FFFF, no truncated or stray sequence).
 */
static inline size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0; /* a continuation byte, 0xc0-0xc1 (overlong), 0xf5-0xff */
	if (c == 0xe0)
		lo = 0xa0; /* below: overlong */
	else if (c == 0xed)
		hi = 0x9f; /* above: surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* below: overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above: past U+10FFFF */
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

#endif
