/*
 * globals.c — raftconfctl's global options (globals.h): -s, -t, -w and
 * --json wherever they stand, their environment stand-ins and defaults,
 * and the usage error line every part of raftconfctl prints.
 */
#include "globals.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "raftconfctl: usage: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; try 'raftconfctl --help'\n");
	return EXIT_USAGE_STATUS;
}

/* --timeout when neither it nor RAFTCONF_TIMEOUT is given. */
#define DEFAULT_TIMEOUT 10.0

/*
 * --timeout's value: seconds, as 5, 2.5, 5s, 500ms or 1m.  0, or -1 when
 * it is none of those or not in (0, 86400].
 */
static int
parse_duration(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (strcmp(end, "m") == 0)
		v *= 60;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return -1;
	if (!(v > 0) || v > 86400)
		return -1;
	*out = v;
	return 0;
}

/* A global option with its value (name as typed): 0, or -1 after a usage error. */
int
global_set(struct globals *g, char opt, const char *name, const char *v)
{
	switch (opt) {
	case 's':
		g->socket = v;
		return 0;
	case 't':
		if (parse_duration(v, &g->timeout) == 0)
			return 0;
		usage_error(
		    "%s '%s': expected a duration, 0 < d <= 86400 s (5, 2.5, 5s, 500ms, 1m)", name,
		    v);
		return -1;
	case 'd':
		if (strcmp(v, "0") == 0 || parse_duration(v, &g->dial) == 0) {
			if (strcmp(v, "0") == 0)
				g->dial = 0;
			return 0;
		}
		usage_error(
		    "%s '%s': expected a duration, 0 <= d <= 86400 s (0, 2s, 500ms)", name, v);
		return -1;
	default: /* 'w' */
		if (strcmp(v, "json") == 0 || strcmp(v, "text") == 0 || strcmp(v, "table") == 0) {
			g->out = v[0] == 'j' ? &output_json
			    : v[1] == 'e'    ? &output_text
					     : &output_table;
			return 0;
		}
		usage_error("%s '%s': expected json, text or table", name, v);
		return -1;
	}
}

/*
 * A global option at argv[*i] after the command (its value at argv[*i +
 * 1]): 1 if it was one (*i moved past its value), 0 if not, or -1 after a
 * usage error.
 */
int
global_option(int argc, char **argv, int *i, struct globals *g)
{
	static const struct {
		const char *s, *l;
		char opt;
	} with_value[] = { { "-s", "--socket", 's' }, { "-t", "--timeout", 't' },
		{ "-w", "--write-out", 'w' }, { "--dial-timeout", "--dial-timeout", 'd' } };
	const char *a = argv[*i];

	if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
		g->out = &output_json;
		return 1;
	}
	for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++) {
		if (strcmp(a, with_value[k].s) != 0 && strcmp(a, with_value[k].l) != 0)
			continue;
		if (*i + 1 >= argc) {
			usage_error("%s needs a value", a);
			return -1;
		}
		(*i)++;
		return global_set(g, with_value[k].opt, a, argv[*i]) < 0 ? -1 : 1;
	}
	return 0;
}

/*
 * The environment's stand-ins for the global options the command line did
 * not give, then the defaults.  A variable set and not empty is checked as
 * its option would be, even when the option overrides it.  0, or -1 after
 * a usage error naming the variable.
 */
int
global_env(struct globals *g)
{
	static const struct {
		const char *name;
		char opt;
	} vars[] = { { "RAFTCONF_SOCKET", 's' }, { "RAFTCONF_TIMEOUT", 't' },
		{ "RAFTCONF_OUTPUT", 'w' } };
	struct globals env = { 0 };

	for (size_t k = 0; k < sizeof(vars) / sizeof(vars[0]); k++) {
		const char *v = getenv(vars[k].name);

		if (v != NULL && *v != '\0' && global_set(&env, vars[k].opt, vars[k].name, v) < 0)
			return -1;
	}
	if (g->socket == NULL)
		g->socket = env.socket != NULL ? env.socket : RAFTCONF_DEFAULT_SOCKET;
	if (g->timeout == 0)
		g->timeout = env.timeout != 0 ? env.timeout : DEFAULT_TIMEOUT;
	if (g->out == NULL)
		g->out = env.out != NULL ? env.out : &output_text;
	return 0;
}
