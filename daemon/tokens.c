/*
 * tokens.c — the node's HTTP tokens: the table it judges HTTP requests
 * with, kept equal to the store's "t:" records, and raftconfctl token list.
 *
 * The table is read from the store at start and after a snapshot is
 * installed, and changed as each TOKEN_PUT or TOKEN_DEL entry applies: a
 * token revoked is refused here from the moment this node applies the
 * entry, which a follower does within a heartbeat of the leader's commit.
 *
 * Not here: the record, the hash and the judgement (token.c), making and
 * revoking a token (kv.c proposes them like any write), where HTTP
 * requests come from (http.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "driver.h"
#include "store.h"

static int
load_one(void *arg, const char *name, size_t nlen, const struct token_record *rec)
{
	return token_table_put(arg, name, nlen, rec);
}

int
tokens_load(struct node *n)
{
	struct token_table t = { 0 };
	int rc;

	if ((rc = store_tokens(n->store, load_one, &t)) < 0) {
		token_table_free(&t);
		log_err("reading the HTTP tokens from the store failed: %s", strerror(-rc));
		return rc;
	}
	token_table_free(&n->tokens);
	n->tokens = t;
	if (t.n > 0)
		log_info("%zu HTTP token%s defined", t.n, t.n == 1 ? "" : "s");
	return 0;
}

/* A committed entry applied: if it made or revoked a token, so does the table. */
void
tokens_applied(struct node *n, const struct raft_entry *e, const struct store_result *res)
{
	struct token_record rec;
	struct store_cmd cmd;
	int rc;

	if (res->status != STORE_OK || res->duplicate ||
	    store_cmd_decode(e->data, e->len, &cmd) < 0 || store_cmd_is_key(cmd.op))
		return;
	if (cmd.op == STORE_OP_TOKEN_DEL) {
		token_table_del(&n->tokens, cmd.key, cmd.klen);
		log_notice_f(LOG_FIELDS(.index = e->index),
		    "HTTP token %.*s revoked (entry %" PRIu64 ")", (int)cmd.klen, cmd.key,
		    e->index);
		return;
	}
	/* The store decoded it before applying it. */
	if (token_record_decode(cmd.value, cmd.vlen, &rec) < 0)
		return;
	/* Out of memory: the token is refused here (401) until the next start. */
	if ((rc = token_table_put(&n->tokens, cmd.key, cmd.klen, &rec)) < 0)
		log_err("HTTP token %.*s: cannot keep it in memory: %s; it is refused on this node "
			"until it restarts",
		    (int)cmd.klen, cmd.key, strerror(-rc));
	else
		log_notice_f(LOG_FIELDS(.index = e->index),
		    "HTTP token %.*s added: %s, keys starting with \"%.*s\" (entry %" PRIu64 ")",
		    (int)cmd.klen, cmd.key, token_access_name(rec.access),
		    (int)(rec.plen > 128 ? 128 : rec.plen), rec.prefix, e->index);
}

/* raftconfctl token list: names, access and prefixes; never a hash. */
void
tokens_list_reply(struct node *n, const struct origin *o)
{
	struct proto_reply rb;

	proto_buf_reset(&n->out);
	if (proto_reply_begin(&rb, &n->out, PROTO_T_TOKEN_LIST_REPLY, o->req_id) < 0) {
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < n->tokens.n; i++) {
		const struct token *t = n->tokens.v[i];
		struct proto_token item = {
			proto_cstr(t->name),
			t->access == TOKEN_WRITE ? PROTO_F_WRITE : 0,
			proto_mem(t->prefix, t->plen),
		};

		if (proto_reply_add_token(&rb, &item) == -EMSGSIZE) {
			log_warning("token list: %zu tokens, more than the %d a reply holds; the "
				    "listing is cut",
			    n->tokens.n, RAFTCONF_MAX_TOKENS);
			break;
		}
	}
	proto_reply_end(&rb, 0);
	reply_frame(n, o);
}

/* http.c's authorize callback: the request judged against this node's table. */
int
tokens_http_authorize(void *arg, const struct token_request *r, char *why, size_t whylen)
{
	struct node *n = arg;

	return token_authorize(&n->tokens, r, why, whylen);
}
