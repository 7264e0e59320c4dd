/*
 * cmd_kv.c — raftconfctl's commands on the keys: get, set, del (one key, a
 * prefix, all), list (all, keys only, the first N, a count), txn (read
 * from stdin, txn_input.h) and watch (watch.c runs it); each reads its
 * options and arguments, sends one request and hands the answer to the
 * output.
 *
 * Not here: the command table and the parsing of the command line
 * (raftconfctl.c), the connection (client.c), the formats (output.c).
 */
#include "cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "globals.h"
#include "output.h"
#include "proto.h"
#include "txn_input.h"
#include "watch.h"

int
cmd_get(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_GET }, r;
	struct proto_kv kv;
	char buf[KEY_BUF];
	const char *key;

	if ((key = cmd_slashed(in->args[0], false, buf)) == NULL)
		return EXIT_USAGE;
	m.get.flags = PROTO_F_META | ((in->opts & OPT_STALE) ? PROTO_F_STALE : 0);
	m.get.key = proto_cstr(key);
	if (cmd_request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_VALUE_META)
		return cmd_unexpected(&r);
	kv = (struct proto_kv){ m.get.key, r.value_meta.revision, r.value_meta.create_revision,
		r.value_meta.version, r.value_meta.value };
	ctl->out->value(&kv);
	return EXIT_DONE;
}

/* All of standard input, at most max bytes, into *buf (owned, freed by the
 * caller whatever the result): 0, -E2BIG past max, or -errno. */
static int
read_stdin(uint8_t **buf, size_t *len, size_t max)
{
	size_t cap = 4096;
	ssize_t n;

	*len = 0;
	if ((*buf = malloc(cap)) == NULL)
		return -ENOMEM;
	for (;;) {
		if (*len == cap) {
			uint8_t *p;

			if (cap > max)
				return -E2BIG;
			if ((p = realloc(*buf, cap * 2)) == NULL)
				return -ENOMEM;
			*buf = p;
			cap *= 2;
		}
		n = read(STDIN_FILENO, *buf + *len, cap - *len);
		if (n == 0)
			return *len > max ? -E2BIG : 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			*len += (size_t)n;
	}
}

/* --if-rev N, --from-rev N: a decimal u64.  0, or -EINVAL after saying why. */
static int
parse_rev(const char *opt, const char *s, uint64_t *rev)
{
	char *end;

	errno = 0;
	*rev = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || s[0] == '-' || s[0] == '+' || s[0] == ' ') {
		usage_error("%s '%s': expected a revision, a decimal number%s", opt, s,
		    strcmp(opt, "--if-rev") == 0 ? " (0: the key must not exist)" : "");
		return -EINVAL;
	}
	return 0;
}

/*
 * A SET or DEL request m, filled but for its client id and seq; with
 * --if-rev, sent as SET_IF or DEL_IF.
 */
static int
write_key(struct ctl *ctl, struct proto_msg *m, const struct invocation *in)
{
	struct proto_msg r, w = *m;
	struct proto_str key = m->type == PROTO_T_SET ? m->set.key : m->del.key;
	uint64_t rev = 0;

	if (in->if_rev != NULL && parse_rev("--if-rev", in->if_rev, &rev) < 0)
		return EXIT_USAGE;
	if (in->if_rev != NULL && m->type == PROTO_T_SET) {
		w.type = PROTO_T_SET_IF;
		w.set_if.key = m->set.key;
		w.set_if.value = m->set.value;
		w.set_if.if_rev = rev;
		w.set_if.client_id = client_id(ctl->client);
		w.set_if.seq = 1;
	} else if (in->if_rev != NULL) {
		w.type = PROTO_T_DEL_IF;
		w.del_if.key = m->del.key;
		w.del_if.if_rev = rev;
		w.del_if.client_id = client_id(ctl->client);
		w.del_if.seq = 1;
	} else if (m->type == PROTO_T_SET) {
		w.set.client_id = client_id(ctl->client);
		w.set.seq = 1;
	} else {
		w.del.client_id = client_id(ctl->client);
		w.del.seq = 1;
	}
	if (cmd_request(ctl, &w, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type == PROTO_T_FAILED) {
		fputs("raftconfctl: condition failed: ", stderr);
		output_escaped(stderr, key, false);
		if (r.failed.revision == 0)
			fprintf(stderr,
			    " does not exist (wanted revision %" PRIu64 "); nothing changed\n",
			    rev);
		else
			fprintf(stderr,
			    " is at revision %" PRIu64 " (wanted %" PRIu64 "); nothing changed\n",
			    r.failed.revision, rev);
		return EXIT_CONDITION;
	}
	if (r.type != PROTO_T_OK)
		return cmd_unexpected(&r);
	ctl->out->written(r.ok.revision);
	return EXIT_DONE;
}

int
cmd_set(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_SET };
	uint8_t *buf = NULL;
	size_t len = 0;
	char kbuf[KEY_BUF];
	const char *key;
	int rc, status;

	if ((key = cmd_slashed(in->args[0], false, kbuf)) == NULL)
		return EXIT_USAGE;
	if (strcmp(in->args[1], "-") == 0) {
		if ((rc = read_stdin(&buf, &len, RAFTCONF_MAX_VALUE)) < 0) {
			free(buf);
			if (rc == -E2BIG)
				fprintf(stderr,
				    "raftconfctl: too big: the value on stdin is larger than the "
				    "limit of %d bytes\n",
				    RAFTCONF_MAX_VALUE);
			else
				fprintf(stderr, "raftconfctl: i/o error: reading stdin: %s\n",
				    strerror(-rc));
			return EXIT_FAILED;
		}
	} else {
		len = strlen(in->args[1]);
		if (len > RAFTCONF_MAX_VALUE) {
			fprintf(stderr,
			    "raftconfctl: too big: a value of %zu bytes is larger than the "
			    "limit of %d bytes\n",
			    len, RAFTCONF_MAX_VALUE);
			return EXIT_FAILED;
		}
	}
	m.set.key = proto_cstr(key);
	m.set.value = buf ? proto_mem(buf, len) : proto_cstr(in->args[1]);
	status = write_key(ctl, &m, in);
	free(buf);
	return status;
}

/*
 * del --prefix PREFIX, del --all: one DEL_PREFIX; prints how many keys it
 * deleted.  The empty prefix, every key, only with --all; PREFIX gets a
 * leading '/' as list's does (cmd_slashed).
 */
static int
del_prefix(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_DEL_PREFIX }, r;
	bool all = (in->opts & OPT_ALL) != 0;
	char buf[KEY_BUF];
	const char *prefix;

	if (in->nargs > 0)
		return usage_error("del takes a KEY, or --prefix PREFIX or --all, not both");
	if (in->if_rev != NULL)
		return usage_error("--if-rev is for one key, not for --prefix or --all");
	if ((prefix = cmd_slashed(in->prefix != NULL ? in->prefix : "", true, buf)) == NULL)
		return EXIT_USAGE;
	if (*prefix == '\0' && !all)
		return usage_error(
		    "del --prefix \"\" would delete every key; say --all to mean it");
	if (*prefix != '\0' && all)
		return usage_error("--all deletes every key; it goes with no --prefix");
	m.del_prefix.client_id = client_id(ctl->client);
	m.del_prefix.seq = 1;
	m.del_prefix.flags = all ? PROTO_F_ALL : 0;
	m.del_prefix.prefix = proto_cstr(prefix);
	if (cmd_request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_DELETED)
		return cmd_unexpected(&r);
	ctl->out->deleted(r.deleted.deleted, r.deleted.revision);
	return EXIT_DONE;
}

int
cmd_del(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_DEL };
	char buf[KEY_BUF];
	const char *key;

	if (in->prefix != NULL || (in->opts & OPT_ALL))
		return del_prefix(ctl, in);
	if (in->nargs == 0)
		return usage_error("del needs a KEY, --prefix PREFIX or --all");
	if ((key = cmd_slashed(in->args[0], false, buf)) == NULL)
		return EXIT_USAGE;
	m.del.key = proto_cstr(key);
	return write_key(ctl, &m, in);
}

/* --limit N: a decimal count, 1 or more.  0, or -EINVAL after saying why. */
static int
parse_limit(const char *s, uint64_t *n)
{
	char *end;

	errno = 0;
	*n = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || s[0] < '0' || s[0] > '9' || *n == 0) {
		usage_error("--limit '%s': expected a number of keys, 1 or more", s);
		return -EINVAL;
	}
	return 0;
}

/* list --count: the number of keys under the prefix, counted by the daemon. */
static int
list_count(struct ctl *ctl, struct proto_msg *m)
{
	struct proto_msg r;

	if (cmd_request(ctl, m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_COUNT_REPLY)
		return cmd_unexpected(&r);
	ctl->out->count(r.count_reply.count);
	return EXIT_DONE;
}

int
cmd_list(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_LIST }, r;
	bool keys_only = (in->opts & OPT_KEYS_ONLY) != 0, count = (in->opts & OPT_COUNT) != 0;
	uint8_t stale = (in->opts & OPT_STALE) ? PROTO_F_STALE : 0;
	union proto_item it;
	struct proto_iter iter;
	size_t longest = 0;
	uint64_t limit = 0;
	bool more, truncated;
	char buf[KEY_BUF];
	const char *prefix;

	if (in->limit != NULL && parse_limit(in->limit, &limit) < 0)
		return EXIT_USAGE;
	if (count && (keys_only || limit != 0))
		return usage_error("--count goes with neither --keys-only nor --limit");
	if ((prefix = cmd_slashed(in->nargs ? in->args[0] : "", true, buf)) == NULL)
		return EXIT_USAGE;
	if (keys_only || limit != 0 || count) {
		m.type = PROTO_T_LIST_EX;
		m.list_ex.flags = stale |
		    (count ? PROTO_F_COUNT : PROTO_F_META | (keys_only ? PROTO_F_KEYS_ONLY : 0));
		m.list_ex.limit = limit;
		m.list_ex.prefix = proto_cstr(prefix);
	} else {
		/* the older request, that every raftconfd answers */
		m.list.flags = PROTO_F_META | stale;
		m.list.prefix = proto_cstr(prefix);
	}
	if (count)
		return list_count(ctl, &m);
	if (cmd_request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_LIST_META_REPLY)
		return cmd_unexpected(&r);
	/* keys left out (by --limit too); cut by the size of an answer (not --limit) */
	more = (r.list_meta_reply.flags & PROTO_F_TRUNCATED) != 0;
	truncated = more && (limit == 0 || r.list_meta_reply.items.count < limit);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		if (it.kv.key.len > longest)
			longest = it.kv.key.len;
	ctl->out->list_begin(longest, more, keys_only);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1) {
		if (keys_only)
			ctl->out->list_key(&it.kv);
		else
			ctl->out->list_entry(&it.kv);
	}
	ctl->out->list_end(truncated);
	return EXIT_DONE;
}

/*
 * txn: the compares and operations from standard input (txn_input.h), one
 * TXN; exit 0 when the then-ops ran, 4 when the else-ops did.
 */
int
cmd_txn(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_TXN }, r;
	char err[RAFTCONF_MAX_ERROR] = "";
	struct txn_input t;
	struct proto_iter iter;
	union proto_item it;
	uint8_t *text = NULL;
	size_t len = 0;
	int rc, status = EXIT_FAILED;

	/* a frame's worth at most */
	if ((rc = read_stdin(&text, &len, RAFTCONF_MAX_FRAME)) < 0) {
		if (rc == -E2BIG)
			fprintf(stderr,
			    "raftconfctl: too big: txn: more than a frame's worth on "
			    "stdin\n");
		else
			fprintf(stderr, "raftconfctl: i/o error: txn: reading stdin: %s\n",
			    strerror(-rc));
		free(text);
		return EXIT_FAILED;
	}
	rc = txn_input_parse((const char *)text, len, &t, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "raftconfctl: %s: txn: %s; nothing was sent\n",
		    rc == -ENOMEM ? "internal error" : "usage", err);
		status = rc == -ENOMEM ? EXIT_FAILED : EXIT_USAGE;
		goto out;
	}
	m.txn.compares = (struct proto_items){ t.counts[0], t.lists[0].data, t.lists[0].len };
	m.txn.then_ops = (struct proto_items){ t.counts[1], t.lists[1].data, t.lists[1].len };
	m.txn.else_ops = (struct proto_items){ t.counts[2], t.lists[2].data, t.lists[2].len };
	/* only gets: a retry may run it again (client 0: no dedup), and read afresh */
	if (proto_txn_writes(&m)) {
		m.txn.client_id = client_id(ctl->client);
		m.txn.seq = 1;
	}
	if (cmd_request(ctl, &m, &r, true) < 0)
		goto out;
	if (r.type != PROTO_T_TXN_REPLY) {
		status = cmd_unexpected(&r);
		goto out;
	}
	ctl->out->txn_begin((r.txn_reply.flags & PROTO_F_SUCCEEDED) != 0, r.txn_reply.revision,
	    (r.txn_reply.flags & PROTO_F_REPLAYED) != 0);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		ctl->out->txn_result(&it.kv);
	ctl->out->txn_end();
	status = (r.txn_reply.flags & PROTO_F_SUCCEEDED) ? EXIT_DONE : EXIT_CONDITION;
out:
	txn_input_free(&t);
	free(text);
	return status;
}

/* watch: watch.c's, once the options are read. */
int
cmd_watch(struct ctl *ctl, const struct invocation *in)
{
	struct watch_args a = { .exec = in->exec, .timeout = ctl->timeout };
	char buf[KEY_BUF];

	if ((a.prefix = cmd_slashed(in->nargs ? in->args[0] : "", true, buf)) == NULL)
		return EXIT_USAGE;
	if (in->from_rev != NULL) {
		if (parse_rev("--from-rev", in->from_rev, &a.from_rev) < 0)
			return EXIT_USAGE;
		a.from_rev_set = true;
	}
	return watch_run(ctl->client, ctl->out, &a);
}
