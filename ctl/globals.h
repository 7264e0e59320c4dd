/*
 * globals.h — raftconfctl's global options: the same before and after the
 * command's name, standing in for RAFTCONF_SOCKET, RAFTCONF_TIMEOUT and
 * RAFTCONF_OUTPUT, which stand in for the defaults.
 */
#ifndef RAFTCONF_CTL_GLOBALS_H
#define RAFTCONF_CTL_GLOBALS_H

#ifndef RAFTCONF_DEFAULT_SOCKET
#define RAFTCONF_DEFAULT_SOCKET "/run/raftconfd/raftconfd.sock"
#endif

/* raftconfctl's exit status for a usage error. */
#define EXIT_USAGE_STATUS 2

struct output;

/* The options any command takes, before or after its name. */
struct globals {
	const char *socket;	  /* NULL: not given */
	const struct output *out; /* NULL: not given */
	double timeout;		  /* seconds; 0: not given */
	double dial;		  /* --dial-timeout, seconds; -1: not given (all of timeout) */
};

/* "raftconfctl: usage: MESSAGE; try ..." on stderr; EXIT_USAGE_STATUS. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A global option with its value (name as typed): 0, or -1 after a usage error. */
int global_set(struct globals *g, char opt, const char *name, const char *v);

/*
 * A global option at argv[*i] (its value at argv[*i + 1]): 1 if it was one
 * (*i moved past its value), 0 if not, or -1 after a usage error.
 */
int global_option(int argc, char **argv, int *i, struct globals *g);

/*
 * The environment's stand-ins for the global options the command line did
 * not give, then the defaults.  0, or -1 after a usage error naming the
 * variable.
 */
int global_env(struct globals *g);

#endif
