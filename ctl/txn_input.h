/*
 * txn_input.h — the text raftconfctl txn reads from its standard input,
 * turned into the three lists of a TXN request (proto.h).
 *
 * The format (raftconfctl(8), "TXN INPUT"), etcdctl's interactive txn
 * made line-based: the compares, a blank line, the operations run if they
 * all hold, a blank line, the operations run otherwise.  A line starting
 * with '#' is a comment; an empty section is an empty line.
 *
 *	rev(KEY) = N		also !=, <, >; N a decimal revision (0: absent)
 *	value(KEY) = STRING	also !=; false when KEY does not exist
 *	exists(KEY)		rev(KEY) != 0
 *	missing(KEY)		rev(KEY) = 0
 *
 *	set KEY STRING
 *	del KEY
 *	get KEY
 *
 * A KEY is a word without blanks or a "quoted string"; inside parentheses
 * a bare KEY ends at the ')'; a KEY that does not start with '/' gets one
 * in front, as every key raftconfctl takes.  A STRING is a quoted string, or else the
 * rest of the line as it is (blanks at its ends trimmed).  A quoted string
 * takes \" \\ \n \r \t and \xHH.
 *
 * Pure: no I/O; the caller reads the text.
 */
#ifndef RAFTCONF_CTL_TXN_INPUT_H
#define RAFTCONF_CTL_TXN_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct txn_input {
	struct proto_buf lists[3]; /* PROTO_TXN_COMPARES, _THEN, _ELSE */
	uint32_t counts[3];
};

/*
 * Parse text[0..len).  0 with t filled (its items: proto_items of each
 * list's count, data and len); -EINVAL for malformed text, -E2BIG for more
 * than RAFTCONF_MAX_TXN_OPS compares or operations (the then and else
 * branches together), -ENOMEM; with err saying which line and why.
 * t must be freed with txn_input_free either way.
 */
int txn_input_parse(const char *text, size_t len, struct txn_input *t, char *err, size_t errlen);
void txn_input_free(struct txn_input *t);

#endif
