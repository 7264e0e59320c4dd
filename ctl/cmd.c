/*
 * cmd.c — the helpers every family of raftconfctl's command handlers uses
 * (contract in cmd.h): a request sent with its failure said, an answer of
 * the wrong type reported with its exit status, and a key or prefix given
 * its leading '/' as the store holds it.
 *
 * Not here: any command (cmd_kv.c, cmd_cluster.c, cmd_token.c), the
 * connection itself (client.c).
 */
#include "cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "globals.h"
#include "proto.h"

int
cmd_request(struct ctl *ctl, struct proto_msg *m, struct proto_msg *resp, bool retry)
{
	char err[RAFTCONF_MAX_ERROR];
	int rc;

	if ((rc = client_request(ctl->client, m, resp, retry, err, sizeof(err))) < 0) {
		if (err[0] != '\0')
			fprintf(stderr, "raftconfctl: %s\n", err);
		else
			fprintf(stderr, "raftconfctl: internal error: %s\n", strerror(-rc));
	}
	return rc;
}

/* Report an ERROR answer; returns the exit status for it. */
static int
report_error(const struct proto_msg *r)
{
	client_print_error(r);
	return r->error.code == PROTO_E_NOTFOUND ? EXIT_NOTFOUND : EXIT_FAILED;
}

int
cmd_unexpected(const struct proto_msg *r)
{
	if (r->type == PROTO_T_ERROR)
		return report_error(r);
	fprintf(stderr, "raftconfctl: bad answer: unexpected %s answer from raftconfd\n",
	    proto_type_name(r->type));
	return EXIT_FAILED;
}

const char *
cmd_slashed(const char *arg, bool prefix, char *buf)
{
	size_t len = strlen(arg), add = len > 0 && arg[0] != '/';

	if ((!prefix && len == 0) || len + add > RAFTCONF_MAX_KEY) {
		usage_error("a %s is %s %d bytes, its leading '/' included",
		    prefix ? "prefix" : "key", prefix ? "at most" : "1 to", RAFTCONF_MAX_KEY);
		return NULL;
	}
	buf[0] = '/';
	memcpy(buf + add, arg, len + 1);
	return buf;
}
