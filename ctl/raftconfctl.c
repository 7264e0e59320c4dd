/*
 * raftconfctl — the operator's and scripts' client for the local raftconfd.
 *
 * It speaks only the wire protocol of daemon/proto.h over the Unix control
 * socket; it knows nothing of the daemon's internals.  This file is main():
 * the global options, the table of commands with the options and arguments
 * each takes, the parsing of the words after a command's name, and the
 * dispatch to its handler (cmd.h: the keys in cmd_kv.c, the node and its
 * cluster in cmd_cluster.c, the HTTP tokens in cmd_token.c), which builds a
 * request, sends it through client.c and gives the answer's data to the
 * output chosen once here (output.c, output_json.c).  Only --help,
 * --version and completion are answered here, without the daemon.  Exit
 * codes are the contract of raftconfctl(8): 0 done, 1 failed, 2 usage, 3
 * key (or token) not found, 4 a condition did not hold (nothing changed).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "completion.h"
#include "globals.h"
#include "output.h"

/* The options a command may take after its name (cmd.h's OPT_* bits). */
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

struct command {
	const char *name;
	const char *args; /* for --help */
	unsigned opts;	  /* OPT_* allowed */
	int min_args, max_args;
	const char *help;
	int (*run)(struct ctl *, const struct invocation *);
};

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

/* ------------------------------------------------------- answered without the daemon */

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
