/*
 * addr.h — "host:port" addresses: the one parser of raftconfd.
 *
 * For: the grammar of every address the configuration, the peer protocol
 * and the HTTP API carry, so that what raftconfd --check accepts is what
 * peer.c dials and binds and http.c binds; comparing two addresses the way
 * a peer would reach them; the socket address to bind.  Not for: dialling
 * (peer.c resolves host names asynchronously with evdns when it connects).
 *
 * Grammar, at most RAFTCONF_MAX_ADDRESS bytes:
 *
 *	address	= host ":" port
 *	host	= IPv4 literal (dotted decimal, as inet_pton takes it)
 *		| "[" IPv6 literal "]"
 *		| host name: [A-Za-z0-9.-], labels of 1-63 neither starting
 *		  nor ending with '-', at most 253 bytes
 *	port	= decimal 1..65535
 *
 * Where an address is bound, the host must be an IP literal
 * (addr_parse_listen), except for a node's peer port when it defaults to
 * node.address, whose name is resolved once at start (addr_resolve).
 *
 * Messages written into err name what is wrong with the quoted input, with
 * no field path and no trailing period, for the caller to prefix.
 */
#ifndef RAFTCONF_ADDR_H
#define RAFTCONF_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "limits.h"

/*
 * Split s into host (brackets removed; hostlen bytes, NUL included) and
 * port.  host and port may be NULL when only validation is wanted, err
 * when errlen is 0.  0, or -EINVAL with err filled.
 */
int addr_parse(const char *s, char *host, size_t hostlen, uint16_t *port, char *err, size_t errlen);

/*
 * s as a socket address to bind (listen): addr_parse(), and the host must
 * be an IP literal ("0.0.0.0", "[::]", a local address); a host name is
 * refused, with a message that says so.  ss and sslen may be NULL when
 * only validation is wanted.  0, or -EINVAL with err filled.  Never blocks.
 */
int addr_parse_listen(
    const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen);

/*
 * s as a socket address: an IP literal as addr_parse_listen() gives it,
 * a host name resolved (getaddrinfo, the first address it returns).
 * 0, -EINVAL (grammar) or -EHOSTUNREACH (the name does not resolve), with
 * err filled.  Blocks on a name lookup: call it at start-up only.
 */
int addr_resolve(
    const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen);

/* "ip:port" or "[ip6]:port" of sa, into buf (at most len bytes, cut). */
void addr_format(const struct sockaddr *sa, char *buf, size_t len);

/*
 * Whether sa is a loopback address: 127.0.0.0/8, ::1, or 127.0.0.0/8
 * mapped into IPv6 (::ffff:127.x.y.z).  False for NULL and other families.
 */
bool addr_is_loopback(const struct sockaddr *sa);

/*
 * Whether a and b are the same address as a peer would dial them: same
 * port, and IP literals equal by value ("[::1]" and "[0::1]"), host names
 * without regard to case.  False when either does not parse.
 */
bool addr_same(const char *a, const char *b);

/*
 * Whether sockets bound to a and b would collide: the same port, and the
 * same host or either a wildcard (0.0.0.0, [::]).  False when either does
 * not parse.
 */
bool addr_bind_conflict(const char *a, const char *b);

#endif
