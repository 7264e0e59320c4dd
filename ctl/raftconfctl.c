/*
 * raftconfctl — the operator's and scripts' client for the local raftconfd.
 *
 * It speaks only the wire protocol of daemon/proto.h over the Unix control
 * socket; it knows nothing of the daemon's internals.  This file is main():
 * the global options, the table of commands with the options and arguments
 * each takes, and the handlers, which build a request, send it through
 * client.c and give the answer's data to the output chosen once here
 * (output.c, output_json.c).  Exit codes are the contract of
 * raftconfctl(8): 0 done, 1 failed, 2 usage, 3 key (or token) not found,
 * 4 a condition did not hold (nothing changed).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "client.h"
#include "completion.h"
#include "globals.h"
#include "output.h"
#include "proto.h"
#include "token.h"
#include "txn_input.h"
#include "watch.h"

enum {
	EXIT_DONE = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = EXIT_USAGE_STATUS,
	EXIT_NOTFOUND = 3,
	EXIT_CONDITION = 4, /* --if-rev, or a txn's compares, did not hold */
};

/* The options a command may take after its name. */
#define OPT_STALE    0x01   /* --stale: read this node's copy */
#define OPT_LEARNER  0x02   /* --learner: stay a non-voting learner */
#define OPT_EXEC     0x04   /* --exec CMD: run CMD on each change */
#define OPT_PREFIX   0x08   /* --prefix P: the keys a token may reach */
#define OPT_READ     0x10   /* --read: a token that may read */
#define OPT_WRITE    0x20   /* --write: a token that may read and write */
#define OPT_IF_REV   0x40   /* --if-rev N: only if the key is at revision N */
#define OPT_FROM_REV 0x80   /* --from-rev N: the changes after revision N */
#define OPT_CLUSTER  0x100  /* --cluster: every member, as each reports itself */
#define OPT_FORCE    0x8000 /* --force: remove without the majority check */

/* list's and del's (--prefix is del's too: the keys to delete) */
#define OPT_ALL	      0x200  /* --all: del every key */
#define OPT_KEYS_ONLY 0x400  /* --keys-only: list without the values */
#define OPT_LIMIT     0x800  /* --limit N: list at most N keys */
#define OPT_COUNT     0x1000 /* --count: only the number of keys */

static const struct cmd_option {
	const char *name;
	unsigned bit;
	bool takes_arg;
} cmd_options[] = {
	{ "--stale", OPT_STALE, false },
	{ "--learner", OPT_LEARNER, false },
	{ "--exec", OPT_EXEC, true },
	{ "--prefix", OPT_PREFIX, true },
	{ "--read", OPT_READ, false },
	{ "--write", OPT_WRITE, false },
	{ "--if-rev", OPT_IF_REV, true },
	{ "--from-rev", OPT_FROM_REV, true },
	{ "--cluster", OPT_CLUSTER, false },
	{ "--force", OPT_FORCE, false },
	{ "--all", OPT_ALL, false },
	{ "--keys-only", OPT_KEYS_ONLY, false },
	{ "--limit", OPT_LIMIT, true },
	{ "--count", OPT_COUNT, false },
};

/* No command takes more arguments than this. */
#define CMD_MAX_ARGS 2

/* A command line after the command's name, parsed. */
struct invocation {
	char *args[CMD_MAX_ARGS];
	int nargs;
	unsigned opts;	      /* OPT_* given */
	const char *exec;     /* with OPT_EXEC */
	const char *prefix;   /* with OPT_PREFIX */
	const char *if_rev;   /* with OPT_IF_REV */
	const char *from_rev; /* with OPT_FROM_REV */
	const char *limit;    /* with OPT_LIMIT */
};

struct ctl {
	struct client *client;
	const struct output *out;
	double timeout; /* --timeout */
};

struct command {
	const char *name;
	const char *args; /* for --help */
	unsigned opts;	  /* OPT_* allowed */
	int min_args, max_args;
	const char *help;
	int (*run)(struct ctl *, const struct invocation *);
};

static int cmd_get(struct ctl *, const struct invocation *);
static int cmd_set(struct ctl *, const struct invocation *);
static int cmd_del(struct ctl *, const struct invocation *);
static int cmd_list(struct ctl *, const struct invocation *);
static int cmd_watch(struct ctl *, const struct invocation *);
static int cmd_status(struct ctl *, const struct invocation *);
static int cmd_members(struct ctl *, const struct invocation *);
static int cmd_join(struct ctl *, const struct invocation *);
static int cmd_remove(struct ctl *, const struct invocation *);
static int cmd_snapshot(struct ctl *, const struct invocation *);
static int cmd_transfer(struct ctl *, const struct invocation *);
static int cmd_token(struct ctl *, const struct invocation *);
static int cmd_txn(struct ctl *, const struct invocation *);
static int cmd_backup(struct ctl *, const struct invocation *);
static int cmd_completion(struct ctl *, const struct invocation *);

static const struct command commands[] = {
	{ "get", "KEY [--stale]", OPT_STALE, 1, 1,
	    "print the value of KEY (linearizable unless --stale)", cmd_get },
	{ "set", "KEY VALUE|- [--if-rev N]", OPT_IF_REV, 2, 2,
	    "set KEY ('-': stdin); --if-rev: only at revision N (0: new)", cmd_set },
	{ "del", "KEY [--if-rev N] | --prefix PREFIX | --all", OPT_IF_REV | OPT_PREFIX | OPT_ALL, 0,
	    1, "delete KEY, or every key under PREFIX in one write", cmd_del },
	{ "txn", "", 0, 0, 0, "a transaction read from stdin; exit 4 if its else-ops ran",
	    cmd_txn },
	{ "list", "[PREFIX] [--stale] [--keys-only] [--limit N] [--count]",
	    OPT_STALE | OPT_KEYS_ONLY | OPT_LIMIT | OPT_COUNT, 0, 1,
	    "list keys under PREFIX (no values, the first N, how many)", cmd_list },
	{ "watch", "[PREFIX] [--from-rev N] [--exec CMD]", OPT_EXEC | OPT_FROM_REV, 0, 1,
	    "print (or run CMD on) changes under PREFIX after revision N, then live", cmd_watch },
	{ "status", "[--cluster]", OPT_CLUSTER, 0, 0,
	    "this node (--cluster: every member): id, role, term, leader, commit, applied",
	    cmd_status },
	{ "members", "", 0, 0, 0, "every member: id, address, role, relay, lag, health",
	    cmd_members },
	{ "join", "[--learner] ADDRESS", OPT_LEARNER, 1, 1,
	    "join the cluster at ADDRESS, wait till caught up", cmd_join },
	{ "remove", "ID [--force]", OPT_FORCE, 1, 1,
	    "remove member ID once committed; --force: even if no majority would answer",
	    cmd_remove },
	{ "snapshot", "", 0, 0, 0, "take a snapshot now", cmd_snapshot },
	{ "backup", "FILE", 0, 1, 1, "a consistent copy of the whole store into FILE", cmd_backup },
	{ "transfer", "[ID]", 0, 0, 1, "hand leadership to ID (or the most up to date)",
	    cmd_transfer },
	{ "token", "add NAME --prefix P --read|--write | list | revoke NAME",
	    OPT_PREFIX | OPT_READ | OPT_WRITE, 1, 2,
	    "HTTP tokens: make one (its secret is printed once), list, revoke", cmd_token },
	{ "completion", "bash|zsh", 0, 1, 1, "print the completion script for bash or zsh",
	    cmd_completion },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: raftconfctl [-s SOCKET] [--json|-w json|text|table] [--timeout DURATION]\n"
	    "                   COMMAND [OPTIONS] [--] [ARGS]   (options go anywhere)\n"
	    "\n"
	    "Talks to the local raftconfd through its control socket.\n"
	    "\n"
	    "  -s, --socket SOCKET  control socket (default $RAFTCONF_SOCKET, then\n"
	    "                       %s)\n"
	    "  -j, --json           machine-readable output\n"
	    "  -w, --write-out FMT  json (as --json), text or table\n"
	    "  -t, --timeout DUR    give up after DUR: 5, 5s, 500ms, 1m (default 10 s);\n"
	    "                       until then a daemon that does not answer at the\n"
	    "                       socket (restarting) is tried again\n"
	    "      --dial-timeout DUR  wait that long only for the daemon (0: fail at once)\n"
	    "      --version        print the version and exit\n"
	    "  -h, --help           print this help and exit\n"
	    "\n"
	    "commands:\n",
	    RAFTCONF_DEFAULT_SOCKET);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
		if (strlen(left) > 28)
			fprintf(f, "  %s\n  %-28s %s\n", left, "", commands[i].help);
		else
			fprintf(f, "  %-28s %s\n", left, commands[i].help);
	}
	fprintf(f,
	    "\n"
	    "exit status: 0 done, 1 failed (no quorum, timeout, refused), 2 usage,\n"
	    "             3 key or token not found, 4 a condition did not hold (nothing\n"
	    "             changed: --if-rev, or a txn whose else-ops ran)\n"
	    "environment: RAFTCONF_SOCKET, RAFTCONF_TIMEOUT, RAFTCONF_OUTPUT stand for\n"
	    "             -s, -t, -w when they are not given; a bad value is a usage error\n");
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * The words after the command's name: its options (those it allows), the
 * global options (into g), "--" (every word after it is an argument) and
 * its arguments; a word that looks like another option is a usage error.
 * EXIT_DONE, or EXIT_USAGE after saying why.
 */
static int
parse_invocation(
    const struct command *cmd, int argc, char **argv, struct invocation *in, struct globals *g)
{
	const struct cmd_option *o;
	bool only_args = false;
	int r;

	memset(in, 0, sizeof(*in));
	for (int i = 1; i < argc; i++) {
		o = NULL;
		if (only_args)
			goto argument;
		if (strcmp(argv[i], "--") == 0) {
			only_args = true;
			continue;
		}
		if ((r = global_option(argc, argv, &i, g)) < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		for (size_t k = 0; k < sizeof(cmd_options) / sizeof(cmd_options[0]); k++) {
			if ((cmd->opts & cmd_options[k].bit) &&
			    strcmp(argv[i], cmd_options[k].name) == 0 &&
			    (!cmd_options[k].takes_arg || i + 1 < argc)) {
				o = &cmd_options[k];
				break;
			}
		}
		if (o != NULL) {
			in->opts |= o->bit;
			if (o->bit == OPT_EXEC)
				in->exec = argv[++i];
			else if (o->bit == OPT_PREFIX)
				in->prefix = argv[++i];
			else if (o->bit == OPT_IF_REV)
				in->if_rev = argv[++i];
			else if (o->bit == OPT_FROM_REV)
				in->from_rev = argv[++i];
			else if (o->bit == OPT_LIMIT)
				in->limit = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2] != '\0')
			return usage_error("unknown option '%s' (after \"--\" it would be an "
					   "argument)",
			    argv[i]);
argument:
		if (in->nargs >= cmd->max_args)
			return usage_error("too many arguments for '%s'", cmd->name);
		in->args[in->nargs++] = argv[i];
	}
	if (in->nargs < cmd->min_args)
		return usage_error("'%s' needs more arguments", cmd->name);
	return EXIT_DONE;
}

/* ------------------------------------------------------------ answers */

/* Send m; on failure say why.  0, or a negative errno. */
static int
request(struct ctl *ctl, struct proto_msg *m, struct proto_msg *resp, bool retry)
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

static int
unexpected(const struct proto_msg *r)
{
	if (r->type == PROTO_T_ERROR)
		return report_error(r);
	fprintf(stderr, "raftconfctl: bad answer: unexpected %s answer from raftconfd\n",
	    proto_type_name(r->type));
	return EXIT_FAILED;
}

/* -------------------------------------------------------------- commands */

/* Room for a key or prefix as slashed() makes it. */
#define KEY_BUF (RAFTCONF_MAX_KEY + 1)

/*
 * The key or prefix arg as the store holds it, by the rule HTTP follows
 * too (/v1/keys/a is the key "/a"): a key starts with '/', and one is put
 * before an arg that has none; the empty prefix stays empty (every key).
 * Into buf (KEY_BUF bytes); NULL after a usage error: an empty key, or
 * over RAFTCONF_MAX_KEY bytes with its '/'.
 */
static const char *
slashed(const char *arg, bool prefix, char *buf)
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

static int
cmd_get(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_GET }, r;
	struct proto_kv kv;
	char buf[KEY_BUF];
	const char *key;

	if ((key = slashed(in->args[0], false, buf)) == NULL)
		return EXIT_USAGE;
	m.get.flags = PROTO_F_META | ((in->opts & OPT_STALE) ? PROTO_F_STALE : 0);
	m.get.key = proto_cstr(key);
	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_VALUE_META)
		return unexpected(&r);
	kv = (struct proto_kv){ m.get.key, r.value_meta.revision, r.value_meta.create_revision,
		r.value_meta.version, r.value_meta.value };
	ctl->out->value(&kv);
	return EXIT_DONE;
}

/* All of standard input, at most RAFTCONF_MAX_VALUE bytes, into *buf (owned). */
static int
read_stdin(uint8_t **buf, size_t *len)
{
	size_t cap = 4096;
	ssize_t n;

	*len = 0;
	if ((*buf = malloc(cap)) == NULL)
		return -ENOMEM;
	for (;;) {
		if (*len == cap) {
			uint8_t *p;

			if (cap > RAFTCONF_MAX_VALUE)
				return -E2BIG;
			if ((p = realloc(*buf, cap * 2)) == NULL)
				return -ENOMEM;
			*buf = p;
			cap *= 2;
		}
		n = read(STDIN_FILENO, *buf + *len, cap - *len);
		if (n == 0)
			return *len > RAFTCONF_MAX_VALUE ? -E2BIG : 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			*len += n;
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
	if (request(ctl, &w, &r, true) < 0)
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
		return unexpected(&r);
	ctl->out->written(r.ok.revision);
	return EXIT_DONE;
}

static int
cmd_set(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_SET };
	uint8_t *buf = NULL;
	size_t len = 0;
	char kbuf[KEY_BUF];
	const char *key;
	int rc, status;

	if ((key = slashed(in->args[0], false, kbuf)) == NULL)
		return EXIT_USAGE;
	if (strcmp(in->args[1], "-") == 0) {
		if ((rc = read_stdin(&buf, &len)) < 0) {
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
 * leading '/' as list's does (slashed).
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
	if ((prefix = slashed(in->prefix != NULL ? in->prefix : "", true, buf)) == NULL)
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
	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_DELETED)
		return unexpected(&r);
	ctl->out->deleted(r.deleted.deleted, r.deleted.revision);
	return EXIT_DONE;
}

static int
cmd_del(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_DEL };
	char buf[KEY_BUF];
	const char *key;

	if (in->prefix != NULL || (in->opts & OPT_ALL))
		return del_prefix(ctl, in);
	if (in->nargs == 0)
		return usage_error("del needs a KEY, --prefix PREFIX or --all");
	if ((key = slashed(in->args[0], false, buf)) == NULL)
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

	if (request(ctl, m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_COUNT_REPLY)
		return unexpected(&r);
	ctl->out->count(r.count_reply.count);
	return EXIT_DONE;
}

static int
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
	if ((prefix = slashed(in->nargs ? in->args[0] : "", true, buf)) == NULL)
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
	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_LIST_META_REPLY)
		return unexpected(&r);
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
 * status --cluster: every member's status, each as it reports itself,
 * through the local daemon, which asks them on its peer links and waits at
 * most half of --timeout for them, so that its answer can still say which
 * did not answer.  Exit 1 when one did not (etcdctl's habit), after
 * printing every row.
 */
static int
status_cluster(struct ctl *ctl)
{
	struct proto_msg m = { .type = PROTO_T_CLUSTER_STATUS }, r;
	union proto_item it;
	struct proto_iter iter;
	double wait_ms = ctl->timeout * 1000 / 2;
	uint32_t failed = 0;

	m.cluster_status.wait_ms = wait_ms < 1	    ? 1
	    : wait_ms > RAFTCONF_MAX_STATUS_WAIT_MS ? RAFTCONF_MAX_STATUS_WAIT_MS
						    : (uint64_t)wait_ms;
	if (request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_CLUSTER_STATUS_REPLY)
		return unexpected(&r);
	ctl->out->cluster_begin(&r);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1) {
		ctl->out->cluster_member(&it.member_status);
		failed += it.member_status.error.len > 0;
	}
	ctl->out->cluster_end();
	if (failed == 0)
		return EXIT_DONE;
	fprintf(stderr, "raftconfctl: %" PRIu32 " of %" PRIu32 " members gave no status\n", failed,
	    r.cluster_status_reply.items.count);
	return EXIT_FAILED;
}

static int
cmd_status(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_STATUS }, r;
	union proto_item it;
	struct proto_iter iter;
	size_t longest = 0;

	if (in->opts & OPT_CLUSTER)
		return status_cluster(ctl);
	if (request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_STATUS_REPLY)
		return unexpected(&r);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		if (it.pair.name.len > longest)
			longest = it.pair.name.len;
	ctl->out->status_begin(longest);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		ctl->out->status_pair(&it.pair);
	ctl->out->status_end();
	return EXIT_DONE;
}

static int
cmd_members(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_MEMBERS_VIEW }, r;
	union proto_item it;
	struct proto_iter iter;
	bool local;

	if (request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_MEMBERS_VIEW_REPLY)
		return unexpected(&r);
	local = (r.members_view_reply.flags & PROTO_F_LOCAL_VIEW) != 0;
	if (local)
		fprintf(stderr,
		    "raftconfctl: no leader known or reachable: this node's own view, without "
		    "match, lag or last contact\n");
	ctl->out->members_begin(local);
	proto_iter_init(&iter, &r);
	while (proto_iter_next(&iter, &it) == 1)
		ctl->out->member(&it.member_view);
	ctl->out->members_end();
	return EXIT_DONE;
}

/* Requests whose answer is OK, with m filled in; retried while the
 * cluster has no leader, is busy or late (a join too: asked again once it
 * is in, the daemon says OK). */
static int
simple_request(struct ctl *ctl, struct proto_msg *m, const char *done)
{
	struct proto_msg r;

	if (request(ctl, m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return unexpected(&r);
	ctl->out->done(done, r.ok.revision);
	return EXIT_DONE;
}

/* The status field name of r as a number: true, or false if it has none. */
static bool
status_u64(const struct proto_msg *r, const char *name, uint64_t *v)
{
	union proto_item it;
	struct proto_iter iter;

	proto_iter_init(&iter, r);
	while (proto_iter_next(&iter, &it) == 1) {
		char buf[32];

		if (it.pair.name.len != strlen(name) ||
		    memcmp(it.pair.name.ptr, name, it.pair.name.len) != 0)
			continue;
		if (it.pair.value.len == 0 || it.pair.value.len >= sizeof(buf))
			return false;
		memcpy(buf, it.pair.value.ptr, it.pair.value.len);
		buf[it.pair.value.len] = '\0';
		*v = strtoull(buf, NULL, 10);
		return true;
	}
	return false;
}

#define JOIN_POLL_MS 100

/*
 * After the cluster added this node: wait until it has applied the log up
 * to what its leader committed and past the entry that added it (applied
 * means durable here: a node applies only what it has synced), until the
 * deadline; on a terminal, how far it is.  1: caught up; 0: not confirmed
 * (the daemon stopped answering, or the deadline came), said on stderr.
 */
static int
join_catch_up(struct ctl *ctl, uint64_t added, double deadline)
{
	bool tty = isatty(STDERR_FILENO), shown = false;
	uint64_t applied = 0, commit = 0;
	int rc;

	for (;;) {
		struct proto_msg m = { .type = PROTO_T_STATUS }, r;
		char err[RAFTCONF_MAX_ERROR];

		if (client_now() >= deadline) {
			fprintf(stderr,
			    "%sraftconfctl: timed out: the cluster added this node, but it had not "
			    "caught up when --timeout ran out (applied %" PRIu64 " of %" PRIu64
			    "); run join again to wait\n",
			    shown ? "\n" : "", applied, commit > added ? commit : added);
			return 0;
		}
		client_set_deadline(ctl->client, deadline - client_now());
		rc = client_request(ctl->client, &m, &r, false, err, sizeof(err));
		if (rc < 0 || r.type != PROTO_T_STATUS_REPLY) {
			fprintf(stderr,
			    "%sraftconfctl: %s; the cluster added this node, but its raftconfd "
			    "stopped answering before it caught up: run join again once it is "
			    "back\n",
			    shown ? "\n" : "",
			    rc < 0 ? err : "bad answer: an answer that is not a status");
			return 0;
		}
		if (status_u64(&r, "applied", &applied) && status_u64(&r, "commit", &commit) &&
		    commit > 0 && applied >= commit && applied >= added)
			break;
		if (tty) {
			fprintf(stderr,
			    "\rjoin: catching up: applied %" PRIu64 " of %" PRIu64 "\033[K",
			    applied, commit > added ? commit : added);
			shown = true;
		}
		poll(NULL, 0, JOIN_POLL_MS);
	}
	if (shown)
		fprintf(stderr, "\rjoin: caught up: applied %" PRIu64 "\033[K\n", applied);
	return 1;
}

static int
cmd_join(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_JOINREQ }, r;
	double deadline = client_now() + ctl->timeout;

	m.joinreq.flags = (in->opts & OPT_LEARNER) ? PROTO_F_LEARNER : 0;
	m.joinreq.address = proto_cstr(in->args[0]);
	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return unexpected(&r);
	if (!join_catch_up(ctl, r.ok.revision, deadline))
		return EXIT_FAILED;
	ctl->out->done("joined", r.ok.revision);
	return EXIT_DONE;
}

static int
cmd_remove(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type =
				   in->opts & OPT_FORCE ? PROTO_T_REMOVE_FORCE : PROTO_T_REMOVE };
	char done[RAFTCONF_MAX_ID + 64];

	m.remove.node_id = proto_cstr(in->args[0]);
	snprintf(done, sizeof(done), "removed %s: the change is committed", in->args[0]);
	return simple_request(ctl, &m, done);
}

static int
cmd_snapshot(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_SNAPSHOT };

	return simple_request(ctl, &m, "snapshot taken");
}

/* backup.c does it: the file, the stream, the checks. */
static int
cmd_backup(struct ctl *ctl, const struct invocation *in)
{
	return backup_run(ctl->client, ctl->out, in->args[0]);
}

/* The status field name of r: true, or false if it has none. */
static bool
status_str(const struct proto_msg *r, const char *name, struct proto_str *v)
{
	union proto_item it;
	struct proto_iter iter;

	proto_iter_init(&iter, r);
	while (proto_iter_next(&iter, &it) == 1)
		if (it.pair.name.len == strlen(name) &&
		    memcmp(it.pair.name.ptr, name, it.pair.name.len) == 0) {
			*v = it.pair.value;
			return true;
		}
	return false;
}

#define TRANSFER_POLL_MS 20

/*
 * transfer: the daemon says OK once the old leader has seen another take
 * over; what is printed is the leader this node then knows, in a term
 * after the one before the transfer (which it learns within a heartbeat),
 * or no leader if it does not learn one before --timeout.
 */
static int
cmd_transfer(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_STATUS }, r;
	double deadline = client_now() + ctl->timeout;
	struct proto_str leader = { "", 0 };
	uint64_t before = 0, term = 0;

	if (request(ctl, &m, &r, false) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_STATUS_REPLY)
		return unexpected(&r);
	status_u64(&r, "term", &before);
	m = (struct proto_msg){ .type = PROTO_T_TRANSFER };
	m.transfer.node_id = proto_cstr(in->nargs ? in->args[0] : "");
	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return unexpected(&r);
	while (client_now() < deadline) {
		char err[RAFTCONF_MAX_ERROR];

		m = (struct proto_msg){ .type = PROTO_T_STATUS };
		client_set_deadline(ctl->client, deadline - client_now());
		if (client_request(ctl->client, &m, &r, false, err, sizeof(err)) < 0 ||
		    r.type != PROTO_T_STATUS_REPLY)
			break;
		if (status_u64(&r, "term", &term) && term > before &&
		    status_str(&r, "leader", &leader) && leader.len > 0 &&
		    !(leader.len == 4 && memcmp(leader.ptr, "none", 4) == 0)) {
			ctl->out->transferred(leader, term);
			return EXIT_DONE;
		}
		poll(NULL, 0, TRANSFER_POLL_MS);
	}
	ctl->out->transferred((struct proto_str){ "", 0 }, 0);
	return EXIT_DONE;
}

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
	if ((prefix = slashed(in->prefix, true, buf)) == NULL)
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
	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return unexpected(&r);
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

	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_TOKEN_LIST_REPLY)
		return unexpected(&r);
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
	if (request(ctl, &m, &r, true) < 0)
		return EXIT_FAILED;
	if (r.type != PROTO_T_OK)
		return unexpected(&r);
	snprintf(done, sizeof(done), "token %s revoked", name);
	ctl->out->done(done, r.ok.revision);
	return EXIT_DONE;
}

static int
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

/* All of standard input for a txn: at most a frame's worth. */
static int
read_txn_input(char **buf, size_t *len)
{
	size_t cap = 4096;
	ssize_t n;

	*len = 0;
	if ((*buf = malloc(cap)) == NULL)
		return -ENOMEM;
	for (;;) {
		if (*len == cap) {
			char *p;

			if (cap >= RAFTCONF_MAX_FRAME)
				return -E2BIG;
			if ((p = realloc(*buf, cap * 2)) == NULL)
				return -ENOMEM;
			*buf = p;
			cap *= 2;
		}
		n = read(STDIN_FILENO, *buf + *len, cap - *len);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			*len += (size_t)n;
	}
}

/*
 * txn: the compares and operations from standard input (txn_input.h), one
 * TXN; exit 0 when the then-ops ran, 4 when the else-ops did.
 */
static int
cmd_txn(struct ctl *ctl, const struct invocation *in)
{
	struct proto_msg m = { .type = PROTO_T_TXN }, r;
	char err[RAFTCONF_MAX_ERROR] = "";
	struct txn_input t;
	struct proto_iter iter;
	union proto_item it;
	char *text = NULL;
	size_t len = 0;
	int rc, status = EXIT_FAILED;

	if ((rc = read_txn_input(&text, &len)) < 0) {
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
	rc = txn_input_parse(text, len, &t, err, sizeof(err));
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
	if (request(ctl, &m, &r, true) < 0)
		goto out;
	if (r.type != PROTO_T_TXN_REPLY) {
		status = unexpected(&r);
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

/* completion bash|zsh: the script built in from ctl/raftconfctl.SHELL. */
static int
cmd_completion(struct ctl *ctl, const struct invocation *in)
{
	const char *script = completion_script(in->args[0]);

	if (script == NULL)
		return usage_error("completion '%s': expected bash or zsh", in->args[0]);
	if (fputs(script, stdout) == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "raftconfctl: completion: writing: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	return EXIT_DONE;
}

/* watch: watch.c's, once the options are read. */
static int
cmd_watch(struct ctl *ctl, const struct invocation *in)
{
	struct watch_args a = { .exec = in->exec, .timeout = ctl->timeout };
	char buf[KEY_BUF];

	if ((a.prefix = slashed(in->nargs ? in->args[0] : "", true, buf)) == NULL)
		return EXIT_USAGE;
	if (in->from_rev != NULL) {
		if (parse_rev("--from-rev", in->from_rev, &a.from_rev) < 0)
			return EXIT_USAGE;
		a.from_rev_set = true;
	}
	return watch_run(ctl->client, ctl->out, &a);
}

/* ------------------------------------------------------------------ main */

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "dial-timeout", required_argument, NULL, 'd' },
		{ "write-out", required_argument, NULL, 'w' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct globals g = { .dial = -1 }; /* what the command line gives; global_env() the rest */
	struct ctl ctl = { 0 };
	const struct command *cmd;
	struct invocation in;
	int c, status;

	opterr = 0;
	/* '+': stop at the command; the words after it are parse_invocation's. */
	while ((c = getopt_long(argc, argv, "+s:jt:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			g.out = &output_json;
			break;
		case 's':
		case 't':
		case 'w':
		case 'd':
			if (global_set(&g, (char)c,
				c == 's'       ? "--socket"
				    : c == 't' ? "--timeout"
				    : c == 'd' ? "--dial-timeout"
					       : "--write-out",
				optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'V':
			printf("raftconfctl %s\n", PACKAGE_VERSION);
			return EXIT_DONE;
		case 'h':
			usage(stdout);
			return EXIT_DONE;
		default:
			return usage_error(
			    "unknown option or missing argument: '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("%s", "no command given");
	cmd = find_command(argv[optind]);
	if (cmd == NULL)
		return usage_error("unknown command '%s'", argv[optind]);

	if ((status = parse_invocation(cmd, argc - optind, argv + optind, &in, &g)) != EXIT_DONE)
		return status;
	if (global_env(&g) < 0)
		return EXIT_USAGE;
	ctl.out = g.out;
	ctl.timeout = g.timeout;
	if (client_new(g.socket, g.timeout, &ctl.client) < 0) {
		fprintf(stderr, "raftconfctl: internal error: out of memory\n");
		return EXIT_FAILED;
	}
	if (g.dial >= 0)
		client_set_dial(ctl.client, g.dial);
	status = cmd->run(&ctl, &in);
	client_free(ctl.client);
	return status;
}
