/*
 * addr.c — "host:port" addresses (contract in addr.h).
 *
 * Not here: where an address comes from (config.c, the peer protocol) or
 * what is done with it (peer.c dials and binds, http.c binds).
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"

static bool
valid_hostname(const char *h, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char ch = h[i];

		if (ch == '.') {
			/* Labels neither empty nor ending with '-'. */
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '-'))
			return false;
		if (label == 0 && ch == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && h[n - 1] != '-';
}

int
addr_parse(const char *s, char *host, size_t hostlen, uint16_t *port, char *err, size_t errlen)
{
	char shown[ERRBUF_QUOTE_SIZE], tmp[RAFTCONF_MAX_ADDRESS + 1];
	const char *h, *ps, *close, *colon;
	size_t n = strlen(s), hl, i;
	unsigned long v = 0;
	struct in6_addr a6;
	struct in_addr a4;
	bool dotted = true;

	errbuf_quote(shown, sizeof(shown), s, n);
	if (n == 0) {
		seterr(err, errlen, "empty address (expected host:port)");
		return -EINVAL;
	}
	if (n > RAFTCONF_MAX_ADDRESS) {
		seterr(
		    err, errlen, "address is %zu bytes long (at most %d)", n, RAFTCONF_MAX_ADDRESS);
		return -EINVAL;
	}
	if (s[0] == '[') {
		close = strchr(s, ']');
		if (close == NULL) {
			seterr(err, errlen, "\"%s\": missing ']' after the IPv6 address", shown);
			return -EINVAL;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		if (close[1] != ':') {
			seterr(err, errlen, "\"%s\": missing :port after ']'", shown);
			return -EINVAL;
		}
		ps = close + 2;
		memcpy(tmp, h, hl);
		tmp[hl] = '\0';
		if (hl == 0 || inet_pton(AF_INET6, tmp, &a6) != 1) {
			seterr(err, errlen, "\"%s\" is not an IPv6 address",
			    errbuf_quote(shown, sizeof(shown), h, hl));
			return -EINVAL;
		}
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			seterr(err, errlen, "\"%s\": missing port (expected host:port)", shown);
			return -EINVAL;
		}
		h = s;
		hl = (size_t)(colon - s);
		ps = colon + 1;
		if (memchr(h, ':', hl) != NULL) {
			seterr(err, errlen,
			    "\"%s\": an IPv6 address must be in brackets, as in [::1]:7000", shown);
			return -EINVAL;
		}
		if (hl == 0) {
			seterr(err, errlen, "\"%s\": missing host before the port", shown);
			return -EINVAL;
		}
		for (i = 0; i < hl; i++)
			if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
				dotted = false;
		memcpy(tmp, h, hl);
		tmp[hl] = '\0';
		if (dotted && inet_pton(AF_INET, tmp, &a4) != 1) {
			seterr(err, errlen, "\"%s\" is not an IPv4 address",
			    errbuf_quote(shown, sizeof(shown), h, hl));
			return -EINVAL;
		}
		if (!dotted && !valid_hostname(h, hl)) {
			seterr(err, errlen,
			    "\"%s\" is not a valid host name (letters, digits, "
			    "'-' and '.'; labels of 1-63, 253 in all)",
			    errbuf_quote(shown, sizeof(shown), h, hl));
			return -EINVAL;
		}
	}
	if (ps[0] == '\0') {
		seterr(err, errlen, "\"%s\": missing port after ':'", shown);
		return -EINVAL;
	}
	for (i = 0; ps[i] != '\0'; i++) {
		if (ps[i] < '0' || ps[i] > '9') {
			seterr(err, errlen, "port \"%s\" is not a number",
			    errbuf_quote(shown, sizeof(shown), ps, strlen(ps)));
			return -EINVAL;
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(ps[i] - '0');
	}
	if (v < 1 || v > 65535) {
		seterr(err, errlen, "port %s out of range (1-65535)",
		    errbuf_quote(shown, sizeof(shown), ps, strlen(ps)));
		return -EINVAL;
	}
	if (host != NULL) {
		if (hl >= hostlen) {
			seterr(err, errlen, "host name too long (%zu bytes)", hl);
			return -EINVAL;
		}
		memcpy(host, h, hl);
		host[hl] = '\0';
	}
	if (port != NULL)
		*port = (uint16_t)v;
	return 0;
}

/* host an IP literal: its socket address with port.  0, or -EINVAL. */
static int
literal(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

int
addr_parse_listen(
    const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	char host[RAFTCONF_MAX_ADDRESS + 1], shown[ERRBUF_QUOTE_SIZE];
	struct sockaddr_storage tss;
	socklen_t tlen;
	uint16_t port;
	int rc;

	if ((rc = addr_parse(s, host, sizeof(host), &port, err, errlen)) < 0)
		return rc;
	if (literal(host, port, ss ? ss : &tss, sslen ? sslen : &tlen) < 0) {
		seterr(err, errlen,
		    "\"%s\" is a host name; a listening address is an IP "
		    "address, as in 0.0.0.0:%u, [::]:%u or 127.0.0.1:%u",
		    errbuf_quote(shown, sizeof(shown), host, strlen(host)), port, port, port);
		return -EINVAL;
	}
	return 0;
}

int
addr_resolve(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char host[RAFTCONF_MAX_ADDRESS + 1];
	uint16_t port;
	int rc;

	if ((rc = addr_parse(s, host, sizeof(host), &port, err, errlen)) < 0)
		return rc;
	if (literal(host, port, ss, sslen) == 0)
		return 0;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0 || res == NULL) {
		seterr(err, errlen, "host name \"%s\" does not resolve: %s", host,
		    rc ? gai_strerror(rc) : "no address");
		return -EHOSTUNREACH;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	freeaddrinfo(res);
	return 0;
}

void
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

/* Hosts as a peer would dial them: IP literals by value, names by case. */
static bool
same_host(const char *a, const char *b)
{
	unsigned char ba[sizeof(struct in6_addr)], bb[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, a, ba) == 1 && inet_pton(AF_INET, b, bb) == 1)
		return memcmp(ba, bb, sizeof(struct in_addr)) == 0;
	if (inet_pton(AF_INET6, a, ba) == 1 && inet_pton(AF_INET6, b, bb) == 1)
		return memcmp(ba, bb, sizeof(struct in6_addr)) == 0;
	return strcasecmp(a, b) == 0;
}

bool
addr_same(const char *a, const char *b)
{
	char ha[RAFTCONF_MAX_ADDRESS + 1], hb[RAFTCONF_MAX_ADDRESS + 1];
	uint16_t pa, pb;

	if (addr_parse(a, ha, sizeof(ha), &pa, NULL, 0) < 0 ||
	    addr_parse(b, hb, sizeof(hb), &pb, NULL, 0) < 0)
		return false;
	return pa == pb && same_host(ha, hb);
}

static bool
wildcard_host(const char *h)
{
	return strcmp(h, "0.0.0.0") == 0 || same_host(h, "::");
}

bool
addr_bind_conflict(const char *a, const char *b)
{
	char ha[RAFTCONF_MAX_ADDRESS + 1], hb[RAFTCONF_MAX_ADDRESS + 1];
	uint16_t pa, pb;

	if (addr_parse(a, ha, sizeof(ha), &pa, NULL, 0) < 0 ||
	    addr_parse(b, hb, sizeof(hb), &pb, NULL, 0) < 0)
		return false;
	return pa == pb && (same_host(ha, hb) || wildcard_host(ha) || wildcard_host(hb));
}

bool
addr_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	s6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127;
}
