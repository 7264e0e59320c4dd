/*
 * yamlwalk.h — libyaml's event stream, walked with guard rails and error
 * positions, for config.c.
 *
 * For: reading a YAML buffer one event at a time without ever building a
 * document tree; refusing what the configuration has no use for and what
 * could make it expensive (anchors, aliases, tags, nesting past
 * RAFTCONF_MAX_CONFIG_DEPTH); skipping a whole subtree; and collecting
 * every problem as "FILE:LINE:COL: path: message" in a struct
 * config_errors (config.h), capped at RAFTCONF_MAX_CONFIG_ERRORS.  Not for:
 * what any key means, its type or its range — that is the schema, in
 * config.c, the only user of this module.
 *
 * Nothing allocates but libyaml and the error list; an allocation that
 * fails sets err to -ENOMEM and stops the walk.  Not thread-safe per walk.
 */
#ifndef RAFTCONF_YAMLWALK_H
#define RAFTCONF_YAMLWALK_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "config.h"

struct yamlwalk {
	const char *name; /* FILE in messages */
	const char *buf;
	size_t len;
	yaml_parser_t yp;
	yaml_event_t ev; /* the current event, after yamlwalk_next() */
	bool have_ev;
	bool fatal; /* stop: syntax error, too deep, too many errors */
	int err;    /* -ENOMEM when an allocation failed */
	int depth;  /* open mappings and sequences */
	struct config_errors *errs;
};

/*
 * Start walking buf[0..len), reporting into errs (which must be empty or
 * hold earlier errors of the same file) under the name name.  Both
 * pointers are kept: they must outlive w.  0, or -ENOMEM.
 */
int yamlwalk_open(
    struct yamlwalk *w, const char *name, const char *buf, size_t len, struct config_errors *errs);
void yamlwalk_close(struct yamlwalk *w);

/*
 * Advance to the next event, into w->ev; path names where we are, for the
 * messages.  An alias, an anchor or a tag is reported (the walk goes on);
 * a syntax error, nesting too deep or too many errors ends the walk.
 * Returns false when reading must stop.
 */
bool yamlwalk_next(struct yamlwalk *w, const char *path);

/* Consume the node whose first event is current, whatever it holds. */
bool yamlwalk_skip(struct yamlwalk *w, const char *path);

/* YAML's null: nothing written, or ~ / null unquoted. */
bool yamlwalk_is_null(const yaml_event_t *ev);

/* "a sequence", "a mapping", "a quoted string", ... for messages. */
const char *yamlwalk_kind(const yaml_event_t *ev);

/*
 * An error at mark m (libyaml's 0-based position, printed 1-based) about
 * path ("" for the whole document): "FILE:LINE:COL: path: message".
 */
void yamlwalk_error(struct yamlwalk *w, const yaml_mark_t *m, const char *path, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* An error about the whole file, with no position: "FILE: message".  0 or -ENOMEM. */
int yamlwalk_file_error(struct config_errors *errs, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Put errs in file order: operators read top to bottom. */
void yamlwalk_sort_errors(struct config_errors *errs);

#endif
