/*
 * yamlwalk.c — libyaml's event stream for config.c (contract in yamlwalk.h).
 *
 * For: the events, their positions, the guard rails (depth, anchors,
 * aliases, tags) and the error list.  Not for: the schema, values, defaults
 * and cross-checks of raftconfd.yaml (config.c).
 *
 * libyaml is only ever asked for the next event: no document tree is
 * built, so what a file costs is bounded by what config.c descends into,
 * and an alias is reported, never expanded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "yamlwalk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "limits.h"

/* A message body before "FILE:LINE:COL: path: " is prepended. */
#define BODY_MAX (ERRBUF_QUOTE_SIZE + 256)

/* ---------------------------------------------------------------- errors */

static int
errors_push(struct config_errors *errs, unsigned line, unsigned col, char *msg)
{
	struct config_error *v;

	v = realloc(errs->v, (errs->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(msg);
		return -ENOMEM;
	}
	errs->v = v;
	errs->v[errs->n].line = line;
	errs->v[errs->n].col = col;
	errs->v[errs->n].msg = msg;
	errs->n++;
	return 0;
}

int
yamlwalk_file_error(struct config_errors *errs, const char *name, const char *fmt, ...)
{
	char body[BODY_MAX], *msg;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (asprintf(&msg, "%s: %s", name, body) < 0)
		return -ENOMEM;
	return errors_push(errs, 0, 0, msg);
}

static void
add_error_lc(struct yamlwalk *w, unsigned line, unsigned col, const char *path, const char *body)
{
	char *msg;
	int r;

	if (w->errs->n >= RAFTCONF_MAX_CONFIG_ERRORS) {
		/* Past the cap only the notice that we stopped is added. */
		r = asprintf(&msg, "%s:%u:%u: too many errors (%d); stopping here", w->name, line,
		    col, RAFTCONF_MAX_CONFIG_ERRORS);
		w->fatal = true;
	} else if (path[0] != '\0') {
		r = asprintf(&msg, "%s:%u:%u: %s: %s", w->name, line, col, path, body);
	} else {
		r = asprintf(&msg, "%s:%u:%u: %s", w->name, line, col, body);
	}
	if (r < 0 || errors_push(w->errs, line, col, msg) < 0) {
		w->err = -ENOMEM;
		w->fatal = true;
	}
}

void
yamlwalk_error(struct yamlwalk *w, const yaml_mark_t *m, const char *path, const char *fmt, ...)
{
	char body[BODY_MAX];
	va_list ap;

	if (w->errs->n > RAFTCONF_MAX_CONFIG_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	add_error_lc(w, (unsigned)m->line + 1, (unsigned)m->column + 1, path, body);
}

/* Cross-checks come out of order: a stable insertion sort by position. */
void
yamlwalk_sort_errors(struct config_errors *errs)
{
	struct config_error t;
	size_t i, j;

	for (i = 1; i < errs->n; i++) {
		t = errs->v[i];
		for (j = i; j > 0 &&
		     (errs->v[j - 1].line > t.line ||
			 (errs->v[j - 1].line == t.line && errs->v[j - 1].col > t.col));
		     j--)
			errs->v[j] = errs->v[j - 1];
		errs->v[j] = t;
	}
}

const char *
yamlwalk_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_ALIAS_EVENT:
		return "an alias";
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return "a quoted string";
		return "a scalar";
	default:
		return "something else";
	}
}

/* ------------------------------------------------------------- the stream */

int
yamlwalk_open(
    struct yamlwalk *w, const char *name, const char *buf, size_t len, struct config_errors *errs)
{
	memset(w, 0, sizeof(*w));
	w->name = name;
	w->buf = buf;
	w->len = len;
	w->errs = errs;
	if (!yaml_parser_initialize(&w->yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&w->yp, (const unsigned char *)buf, len);
	return 0;
}

void
yamlwalk_close(struct yamlwalk *w)
{
	if (w->have_ev)
		yaml_event_delete(&w->ev);
	w->have_ev = false;
	yaml_parser_delete(&w->yp);
}

/* libyaml reports reader errors (bad UTF-8) by byte offset only. */
static void
offset_to_lc(const char *buf, size_t len, size_t off, unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void
syntax_error(struct yamlwalk *w)
{
	yaml_parser_t *y = &w->yp;
	char body[BODY_MAX];
	unsigned line, col;

	w->fatal = true;
	switch (y->error) {
	case YAML_MEMORY_ERROR:
		w->err = -ENOMEM;
		return;
	case YAML_READER_ERROR:
		offset_to_lc(w->buf, w->len, y->problem_offset, &line, &col);
		if (y->problem_value >= 0)
			snprintf(body, sizeof(body), "invalid input: %s (byte 0x%02x)",
			    y->problem ? y->problem : "unreadable", y->problem_value & 0xff);
		else
			snprintf(body, sizeof(body), "invalid input: %s",
			    y->problem ? y->problem : "unreadable");
		add_error_lc(w, line, col, "", body);
		return;
	default:
		line = (unsigned)y->problem_mark.line + 1;
		col = (unsigned)y->problem_mark.column + 1;
		if (y->context != NULL)
			snprintf(body, sizeof(body),
			    "YAML syntax error: %s (%s at line %zu column %zu)",
			    y->problem ? y->problem : "unknown problem", y->context,
			    y->context_mark.line + 1, y->context_mark.column + 1);
		else
			snprintf(body, sizeof(body), "YAML syntax error: %s",
			    y->problem ? y->problem : "unknown problem");
		add_error_lc(w, line, col, "", body);
		return;
	}
}

/* Anchors, aliases and tags have no use in this file and only open doors. */
static void
check_node_props(
    struct yamlwalk *w, const char *path, const yaml_char_t *anchor, const yaml_char_t *tag)
{
	char s[ERRBUF_QUOTE_SIZE];

	if (anchor != NULL)
		yamlwalk_error(w, &w->ev.start_mark, path, "anchors are not allowed (&%s)",
		    errbuf_quote(s, sizeof(s), (const char *)anchor, strlen((const char *)anchor)));
	if (tag != NULL) {
		const char *t = (const char *)tag, *std = "tag:yaml.org,2002:";
		bool short_form = strncmp(t, std, strlen(std)) == 0;

		/* Say it the way it was most likely written: !!str. */
		if (short_form)
			t += strlen(std);
		yamlwalk_error(w, &w->ev.start_mark, path, "tags are not allowed (%s%s)",
		    short_form ? "!!" : "", errbuf_quote(s, sizeof(s), t, strlen(t)));
	}
}

bool
yamlwalk_next(struct yamlwalk *w, const char *path)
{
	char s[ERRBUF_QUOTE_SIZE];
	yaml_event_t *ev = &w->ev;

	if (w->have_ev) {
		yaml_event_delete(ev);
		w->have_ev = false;
	}
	if (w->fatal)
		return false;
	if (!yaml_parser_parse(&w->yp, ev)) {
		syntax_error(w);
		return false;
	}
	w->have_ev = true;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		yamlwalk_error(w, &ev->start_mark, path, "aliases are not allowed (*%s)",
		    errbuf_quote(s, sizeof(s), (const char *)ev->data.alias.anchor,
			strlen((const char *)ev->data.alias.anchor)));
		break;
	case YAML_SCALAR_EVENT:
		/* An implicit tag is libyaml's guess, not something written. */
		check_node_props(w, path, ev->data.scalar.anchor,
		    ev->data.scalar.plain_implicit || ev->data.scalar.quoted_implicit
			? NULL
			: ev->data.scalar.tag);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (++w->depth > RAFTCONF_MAX_CONFIG_DEPTH) {
			yamlwalk_error(w, &ev->start_mark, path,
			    "nesting deeper than %d levels; refusing the file",
			    RAFTCONF_MAX_CONFIG_DEPTH);
			w->fatal = true;
			return false;
		}
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			check_node_props(w, path, ev->data.sequence_start.anchor,
			    ev->data.sequence_start.implicit ? NULL : ev->data.sequence_start.tag);
		else
			check_node_props(w, path, ev->data.mapping_start.anchor,
			    ev->data.mapping_start.implicit ? NULL : ev->data.mapping_start.tag);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		w->depth--;
		break;
	default:
		break;
	}
	return !w->fatal;
}

bool
yamlwalk_skip(struct yamlwalk *w, const char *path)
{
	int d;

	if (w->ev.type != YAML_SEQUENCE_START_EVENT && w->ev.type != YAML_MAPPING_START_EVENT)
		return !w->fatal;
	for (d = 1; d > 0;) {
		if (!yamlwalk_next(w, path))
			return false;
		switch (w->ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			d++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			d--;
			break;
		default:
			break;
		}
	}
	return true;
}

bool
yamlwalk_is_null(const yaml_event_t *ev)
{
	const char *v;

	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)ev->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}
