/*
 * cmd_token.c — raftconfctl token add, list, revoke: the HTTP API's bearer
 * tokens.  A new token's secret is made here, sent to the daemon only as
 * its hash (token.h), and printed once.
 *
 * Not here: what a token allows and how the daemon judges a request with
 * one (daemon/token.c, daemon/tokens.c), the command table (raftconfctl.c).
 */
#include "cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "globals.h"
#include "output.h"
#include "proto.h"
#include "token.h"

/* token add NAME --prefix P --read|--write: the secret is made here and printed once. */
static int
token_add(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_TOKEN_ADD }, r;
	char secret[TOKEN_SECRET_LEN + 1];
	uint8_t hash[TOKEN_HASH_LEN];
	const char *name = in->args[1], *prefix;
	bool write = (in->opts & OPT_WRITE) != 0;
	char buf[KEY_BUF];
	int rc;

	if (!token_name_ok(name, strlen(name)))
		return usage_error(
		    "token name '%s': 1 to %d of A-Z a-z 0-9 _ -", name, RAFTCONF_MAX_ID);
	if (in->prefix == NULL || !(in->opts & (OPT_READ | OPT_WRITE)) ||
	    (in->opts & OPT_READ && in->opts & OPT_WRITE))
		return usage_error(
		    "token add NAME needs --prefix PREFIX and one of --read, --write");
	if ((prefix = cmd_slashed(in->prefix, true, buf)) == NULL)
		return EXIT_USAGE;
	if ((rc = token_secret_new(secret)) < 0 ||
	    (rc = token_hash(secret, strlen(secret), hash)) < 0) {
		fprintf(stderr, "raftconfctl: internal error: cannot make a secret: %s\n",
		    strerror(-rc));
		return EXIT_FAILED;
	}
	m.token_add.client_id = client_id(ctl->client);
	m.token_add.seq = 1;
	m.token_add.name = proto_cstr(name);
	m.token_add.prefix = proto_cstr(prefix);
	m.token_add.flags = write ? PROTO_F_WRITE : 0;
	m.token_add.hash = proto_mem(hash, sizeof(hash));
	if (cmd_request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return cmd_unexpected(&r);
	ctl->out->token_secret(m.token_add.name, write, m.token_add.prefix, secret, r.ok.revision);
	if (ctl->out != &output_json)
		fprintf(stderr,
		    "raftconfctl: token %s made: the secret above is shown only this once; "
		    "send it as Authorization: Bearer SECRET\n",
		    name);
	return EXIT_DONE;
}

static int
token_list(struct ctl *ctl)
{
	struct proto_msg m = { .type = PROTO_T_TOKEN_LIST }, r;
	union proto_item it;
	struct proto_iter iter;
	size_t longest = 0;

	if (cmd_request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_TOKEN_LIST_REPLY)
		return cmd_unexpected(&r);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		if (it.token.name.len > longest)
			longest = it.token.name.len;
	ctl->out->tokens_begin(longest);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		ctl->out->token(&it.token);
	ctl->out->tokens_end();
	return EXIT_DONE;
}

static int
token_revoke(struct ctl *ctl, const char *name)
{
	struct proto_msg m = { .type = PROTO_T_TOKEN_REVOKE }, r;
	char done[64 + RAFTCONF_MAX_ID];

	if (!token_name_ok(name, strlen(name)))
		return usage_error(
		    "token name '%s': 1 to %d of A-Z a-z 0-9 _ -", name, RAFTCONF_MAX_ID);
	m.token_revoke.client_id = client_id(ctl->client);
	m.token_revoke.seq = 1;
	m.token_revoke.name = proto_cstr(name);
	if (cmd_request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return cmd_unexpected(&r);
	snprintf(done, sizeof(done), "token %s revoked", name);
	ctl->out->done(done, r.ok.revision);
	return EXIT_DONE;
}

int
cmd_token(struct ctl *ctl, const struct invocation *in)
{
	const char *sub = in->args[0];
	bool options = (in->opts & (OPT_PREFIX | OPT_READ | OPT_WRITE)) != 0;

	if (strcmp(sub, "add") == 0 && in->nargs == 2)
		return token_add(ctl, in);
	if (strcmp(sub, "list") == 0 && in->nargs == 1 && !options)
		return token_list(ctl);
	if (strcmp(sub, "revoke") == 0 && in->nargs == 2 && !options)
		return token_revoke(ctl, in->args[1]);
	if (strcmp(sub, "add") == 0 || strcmp(sub, "list") == 0 || strcmp(sub, "revoke") == 0)
		return usage_error("usage: token add NAME --prefix PREFIX --read|--write, "
				   "token list, token revoke NAME");
	return usage_error("unknown token command '%s' (add, list, revoke)", sub);
}
