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

#endif
