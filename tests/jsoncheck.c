/*
 * jsoncheck — is standard input one JSON text (RFC 8259), nothing else?
 *
 * The shell tests check raftconfctl --json and the HTTP API's bodies with
 * it: the CI machine has neither jq nor python3.  Strict: UTF-8 only (no
 * overlong forms, surrogates or bytes past U+10FFFF), no raw control
 * character in a string, escapes and numbers exactly as the grammar has
 * them, whitespace around the one value and nowhere else, at most
 * MAX_DEPTH arrays and objects deep.
 *
 * With -k it also prints the keys of the top-level object, or of each object
 * of a top-level array, one a line as they are written (escapes kept), for
 * the tests that compare the fields of an answer with the documented ones.
 *
 * Exit 0 if it is; 1, with the offset and what was expected there on
 * standard error, if it is not; 2 if input cannot be read.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512

struct in {
	const unsigned char *p;
	size_t len, at;
	const char *want; /* what the first failure expected */
	bool keys; /* -k: print the keys of the top object (or of each object of the top array) */
	bool top_array;
};

static bool value(struct in *in, int depth);

static bool
fail(struct in *in, const char *want)
{
	if (in->want == NULL)
		in->want = want;
	return false;
}

static void
space(struct in *in)
{
	while (in->at < in->len && strchr(" \t\n\r", in->p[in->at]) != NULL && in->p[in->at])
		in->at++;
}

static bool
eat(struct in *in, char c)
{
	if (in->at < in->len && in->p[in->at] == (unsigned char)c) {
		in->at++;
		return true;
	}
	return false;
}

static bool
literal(struct in *in, const char *word)
{
	size_t n = strlen(word);

	if (in->len - in->at < n || memcmp(in->p + in->at, word, n) != 0)
		return fail(in, word);
	in->at += n;
	return true;
}

/* One UTF-8 sequence of 2 to 4 bytes at in->at (RFC 3629's table). */
static bool
utf8(struct in *in)
{
	const unsigned char *p = in->p + in->at;
	size_t left = in->len - in->at, n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return fail(in, "UTF-8");
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f; /* no surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return fail(in, "UTF-8");
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return fail(in, "UTF-8");
	in->at += n;
	return true;
}

static bool
string(struct in *in)
{
	if (!eat(in, '"'))
		return fail(in, "a string");
	while (in->at < in->len) {
		unsigned char c = in->p[in->at];

		if (c == '"') {
			in->at++;
			return true;
		}
		if (c < 0x20)
			return fail(in, "no control character in a string");
		if (c >= 0x80) {
			if (!utf8(in))
				return false;
			continue;
		}
		in->at++;
		if (c != '\\')
			continue;
		if (in->at >= in->len)
			break;
		c = in->p[in->at++];
		if (c == 'u') {
			for (int i = 0; i < 4; i++, in->at++)
				if (in->at >= in->len ||
				    strchr("0123456789abcdefABCDEF", in->p[in->at]) == NULL ||
				    in->p[in->at] == 0)
					return fail(in, "four hex digits after \\u");
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == 0) {
			return fail(in, "an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
		}
	}
	return fail(in, "the end of the string");
}

static bool
digits(struct in *in)
{
	size_t from = in->at;

	while (in->at < in->len && in->p[in->at] >= '0' && in->p[in->at] <= '9')
		in->at++;
	return in->at > from || fail(in, "a digit");
}

static bool
number(struct in *in)
{
	eat(in, '-');
	if (!eat(in, '0') &&
	    !(in->at < in->len && in->p[in->at] >= '1' && in->p[in->at] <= '9' && digits(in)))
		return fail(in, "a number");
	if (eat(in, '.') && !digits(in))
		return false;
	if (eat(in, 'e') || eat(in, 'E')) {
		if (!eat(in, '+'))
			eat(in, '-');
		if (!digits(in))
			return false;
	}
	return true;
}

static bool
array(struct in *in, int depth)
{
	in->at++;
	space(in);
	if (eat(in, ']'))
		return true;
	do {
		if (!value(in, depth + 1))
			return false;
	} while (eat(in, ','));
	return eat(in, ']') || fail(in, "',' or ']'");
}

static bool
object(struct in *in, int depth)
{
	in->at++;
	space(in);
	if (eat(in, '}'))
		return true;
	do {
		size_t from;

		space(in);
		from = in->at;
		if (!string(in))
			return false;
		if (in->keys && (depth == 0 || (depth == 1 && in->top_array)))
			printf("%.*s\n", (int)(in->at - from - 2), (const char *)in->p + from + 1);
		space(in);
		if (!eat(in, ':'))
			return fail(in, "':'");
		if (!value(in, depth + 1))
			return false;
	} while (eat(in, ','));
	return eat(in, '}') || fail(in, "',' or '}'");
}

/* A value with the whitespace around it. */
static bool
value(struct in *in, int depth)
{
	bool ok;

	if (depth > MAX_DEPTH)
		return fail(in, "no deeper nesting");
	space(in);
	if (in->at >= in->len)
		return fail(in, "a value");
	switch (in->p[in->at]) {
	case '{':
		ok = object(in, depth);
		break;
	case '[':
		ok = array(in, depth);
		break;
	case '"':
		ok = string(in);
		break;
	case 't':
		ok = literal(in, "true");
		break;
	case 'f':
		ok = literal(in, "false");
		break;
	case 'n':
		ok = literal(in, "null");
		break;
	default:
		ok = number(in);
		break;
	}
	space(in);
	return ok;
}

int
main(int argc, char **argv)
{
	struct in in = { 0 };
	unsigned char *buf = NULL;
	size_t cap = 0;

	for (;;) {
		if (in.len == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "jsoncheck: out of memory\n");
				return 2;
			}
		}
		size_t n = fread(buf + in.len, 1, cap - in.len, stdin);
		if (n == 0)
			break;
		in.len += n;
	}
	if (ferror(stdin)) {
		fprintf(stderr, "jsoncheck: reading standard input failed\n");
		return 2;
	}
	in.p = buf;
	in.keys = argc == 2 && strcmp(argv[1], "-k") == 0;
	if (argc > 1 && !in.keys) {
		fprintf(stderr, "usage: jsoncheck [-k] < FILE\n");
		free(buf);
		return 2;
	}
	space(&in);
	in.top_array = in.at < in.len && in.p[in.at] == '[';
	if (!value(&in, 0) || (in.at != in.len && !fail(&in, "the end of the input"))) {
		fprintf(stderr, "jsoncheck: not JSON at byte %zu of %zu: expected %s\n", in.at,
		    in.len, in.want);
		free(buf);
		return 1;
	}
	free(buf);
	return 0;
}
