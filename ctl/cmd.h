/*
 * cmd.h — what raftconfctl's command handlers share, internal to
 * raftconfctl: the words after a command's name as raftconfctl.c parsed
 * them (struct invocation, the OPT_* bits), what every handler is given
 * (struct ctl), the exit statuses of raftconfctl(8), the handlers, one
 * family a file (cmd_kv.c, cmd_cluster.c, cmd_token.c), and the helpers
 * each family uses (cmd.c).
 *
 * A handler builds a request, sends it through client.c and gives the
 * answer's data to the output main() chose (output.h); errors and notices
 * go to standard error, the same in every format.  Not here: the table of
 * commands and the parsing of the command line (raftconfctl.c), the
 * connection (client.h), how an answer is printed (output.h).
 */
#ifndef RAFTCONF_CTL_CMD_H
#define RAFTCONF_CTL_CMD_H

#include <stdbool.h>

#include "globals.h"
#include "proto.h"

struct client;
struct output;

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

/* The handlers: each returns the exit status, after saying why on stderr. */

/* cmd_kv.c: the keys */
int cmd_get(struct ctl *, const struct invocation *);
int cmd_set(struct ctl *, const struct invocation *);
int cmd_del(struct ctl *, const struct invocation *);
int cmd_list(struct ctl *, const struct invocation *);
int cmd_txn(struct ctl *, const struct invocation *);
int cmd_watch(struct ctl *, const struct invocation *);

/* cmd_cluster.c: this node and its cluster */
int cmd_status(struct ctl *, const struct invocation *);
int cmd_members(struct ctl *, const struct invocation *);
int cmd_join(struct ctl *, const struct invocation *);
int cmd_remove(struct ctl *, const struct invocation *);
int cmd_snapshot(struct ctl *, const struct invocation *);
int cmd_backup(struct ctl *, const struct invocation *);
int cmd_transfer(struct ctl *, const struct invocation *);

/* cmd_token.c: the HTTP tokens */
int cmd_token(struct ctl *, const struct invocation *);

/* cmd.c: what every family uses */

/* Send m; on failure say why.  0, or a negative errno. */
int cmd_request(struct ctl *ctl, struct proto_msg *m, struct proto_msg *resp, bool retry);

/* An answer r of a type the handler did not expect: an ERROR reported, or
 * "bad answer"; returns the exit status for it. */
int cmd_unexpected(const struct proto_msg *r);

/* Room for a key or prefix as cmd_slashed() makes it. */
#define KEY_BUF (RAFTCONF_MAX_KEY + 1)

/*
 * The key or prefix arg as the store holds it, by the rule HTTP follows
 * too (/v1/keys/a is the key "/a"): a key starts with '/', and one is put
 * before an arg that has none; the empty prefix stays empty (every key).
 * Into buf (KEY_BUF bytes); NULL after a usage error: an empty key, or
 * over RAFTCONF_MAX_KEY bytes with its '/'.
 */
const char *cmd_slashed(const char *arg, bool prefix, char *buf);

#endif
