/*
 * txn_input.c — raftconfctl txn's input: lines into a TXN's compares and
 * operations (format and contract in txn_input.h).
 */
#include "txn_input.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "errbuf.h"

/* One line being read: p moves from its start to end. */
struct line {
	const char *p, *end;
	size_t no;
};

/* A string read from a line, in its own allocation (quoted strings change). */
struct text {
	char *s;
	size_t len;
};

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
skip_blanks(struct line *l)
{
	while (l->p < l->end && blank(*l->p))
		l->p++;
}

static int
save(struct text *t, const char *p, size_t n)
{
	if ((t->s = malloc(n + 1)) == NULL)
		return -ENOMEM;
	memcpy(t->s, p, n);
	t->s[n] = '\0';
	t->len = n;
	return 0;
}

/* A "quoted string" at l->p, its escapes undone. */
static int
quoted(struct line *l, struct text *t, char *err, size_t errlen)
{
	size_t n = 0;

	if ((t->s = malloc((size_t)(l->end - l->p) + 1)) == NULL)
		return -ENOMEM;
	for (l->p++; l->p < l->end && *l->p != '"'; l->p++) {
		char c = *l->p;
		int hi, lo;

		if (c == '\\') {
			if (++l->p == l->end)
				break;
			switch (*l->p) {
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case '"':
			case '\\':
				c = *l->p;
				break;
			case 'x':
				if (l->end - l->p < 3 || (hi = hex_digit(l->p[1])) < 0 ||
				    (lo = hex_digit(l->p[2])) < 0) {
					seterr(err, errlen, "line %zu: \\x needs two hex digits",
					    l->no);
					return -EINVAL;
				}
				c = (char)(hi << 4 | lo);
				l->p += 2;
				break;
			default:
				seterr(err, errlen, "line %zu: unknown escape \\%c", l->no, *l->p);
				return -EINVAL;
			}
		}
		t->s[n++] = c;
	}
	if (l->p == l->end) {
		seterr(err, errlen, "line %zu: a quoted string is not closed", l->no);
		return -EINVAL;
	}
	l->p++;
	t->s[n] = '\0';
	t->len = n;
	return 0;
}

/* A word: quoted, or bare up to a blank (or stop, when it is not '\0'). */
static int
word(struct line *l, char stop, const char *what, struct text *t, char *err, size_t errlen)
{
	const char *start;

	skip_blanks(l);
	if (l->p < l->end && *l->p == '"')
		return quoted(l, t, err, errlen);
	for (start = l->p; l->p < l->end && !blank(*l->p) && (stop == '\0' || *l->p != stop);)
		l->p++;
	if (l->p == start) {
		seterr(err, errlen, "line %zu: %s expected", l->no, what);
		return -EINVAL;
	}
	return save(t, start, (size_t)(l->p - start));
}

/* The rest of the line: a quoted string that ends it, or the text as it is, trimmed. */
static int
rest(struct line *l, struct text *t, char *err, size_t errlen)
{
	const char *end = l->end;
	int rc;

	skip_blanks(l);
	if (l->p < l->end && *l->p == '"') {
		if ((rc = quoted(l, t, err, errlen)) < 0)
			return rc;
		skip_blanks(l);
		if (l->p != l->end) {
			seterr(err, errlen, "line %zu: text after the quoted value", l->no);
			return -EINVAL;
		}
		return 0;
	}
	while (end > l->p && blank(end[-1]))
		end--;
	rc = save(t, l->p, (size_t)(end - l->p));
	l->p = l->end;
	return rc;
}

/*
 * k as the store holds it: a '/' put before a key that has none, as
 * raftconfctl does for every key (and HTTP for every path).  0, -ENOMEM, or
 * -EINVAL with err saying why.
 */
static int
key_slashed(const struct line *l, struct text *k, char *err, size_t errlen)
{
	if (k->len > 0 && k->s[0] != '/') {
		char *p = realloc(k->s, k->len + 2);

		if (p == NULL)
			return -ENOMEM;
		memmove(p + 1, p, k->len + 1);
		p[0] = '/';
		k->s = p;
		k->len++;
	}
	if (proto_valid_key(k->s, k->len))
		return 0;
	seterr(err, errlen,
	    "line %zu: a key is 1 to %d bytes, its leading '/' included, without NUL", l->no,
	    RAFTCONF_MAX_KEY);
	return -EINVAL;
}

/* "=", "==", "!=", "<", ">" at l->p: a PROTO_CMP_*, or 0. */
static uint8_t
operator(struct line *l)
{
	skip_blanks(l);
	if (l->end - l->p >= 2 && l->p[0] == '=' && l->p[1] == '=')
		return l->p += 2, PROTO_CMP_EQ;
	if (l->end - l->p >= 2 && l->p[0] == '!' && l->p[1] == '=')
		return l->p += 2, PROTO_CMP_NE;
	if (l->p < l->end && *l->p == '=')
		return l->p++, PROTO_CMP_EQ;
	if (l->p < l->end && *l->p == '<')
		return l->p++, PROTO_CMP_LT;
	if (l->p < l->end && *l->p == '>')
		return l->p++, PROTO_CMP_GT;
	return 0;
}

static bool
starts(struct line *l, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(l->end - l->p) < n || memcmp(l->p, w, n) != 0)
		return false;
	l->p += n;
	return true;
}

static int
revision(struct line *l, uint64_t *v, char *err, size_t errlen)
{
	const char *start;

	skip_blanks(l);
	*v = 0;
	for (start = l->p; l->p < l->end && *l->p >= '0' && *l->p <= '9'; l->p++) {
		unsigned d = (unsigned)(*l->p - '0');

		if (*v > (UINT64_MAX - d) / 10)
			break;
		*v = *v * 10 + d;
	}
	skip_blanks(l);
	if (l->p == start || l->p != l->end) {
		seterr(err, errlen, "line %zu: a revision is a decimal number below 2^64", l->no);
		return -EINVAL;
	}
	return 0;
}

/* One compare line into c; its key and value in k and v (the caller frees them). */
static int
compare_line(struct line *l, struct proto_compare *c, struct text *k, struct text *v, char *err,
    size_t errlen)
{
	bool rev = false, val = false, exists = false, missing = false;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!((rev = starts(l, "rev(")) || (val = starts(l, "value(")) ||
		(exists = starts(l, "exists(")) || (missing = starts(l, "missing(")))) {
		seterr(err, errlen,
		    "line %zu: a compare is rev(KEY) OP N, value(KEY) OP STRING, exists(KEY) or "
		    "missing(KEY)",
		    l->no);
		return -EINVAL;
	}
	if ((rc = word(l, ')', "a key", k, err, errlen)) < 0)
		return rc;
	skip_blanks(l);
	if (l->p == l->end || *l->p++ != ')') {
		seterr(err, errlen, "line %zu: ')' expected after the key", l->no);
		return -EINVAL;
	}
	if ((rc = key_slashed(l, k, err, errlen)) < 0)
		return rc;
	c->key = proto_mem(k->s, k->len);
	c->target = val ? PROTO_CMP_VALUE : PROTO_CMP_REV;
	if (exists || missing) {
		c->result = exists ? PROTO_CMP_NE : PROTO_CMP_EQ;
		skip_blanks(l);
		if (l->p == l->end)
			return 0;
		seterr(err, errlen, "line %zu: text after the compare", l->no);
		return -EINVAL;
	}
	c->result = operator(l);
	if (c->result == 0 || (val && c->result != PROTO_CMP_EQ && c->result != PROTO_CMP_NE)) {
		seterr(err, errlen, "line %zu: %s", l->no,
		    val ? "a value compares with = or !="
			: "a revision compares with =, !=, < or >");
		return -EINVAL;
	}
	if (rev)
		return revision(l, &c->revision, err, errlen);
	if ((rc = rest(l, v, err, errlen)) < 0)
		return rc;
	c->value = proto_mem(v->s, v->len);
	return 0;
}

/* One operation line into o; its key and value in k and v. */
static int
op_line(
    struct line *l, struct proto_op *o, struct text *k, struct text *v, char *err, size_t errlen)
{
	int rc;

	memset(o, 0, sizeof(*o));
	if (starts(l, "set") && l->p < l->end && blank(*l->p))
		o->kind = PROTO_OP_SET;
	else if (starts(l, "del") && l->p < l->end && blank(*l->p))
		o->kind = PROTO_OP_DEL;
	else if (starts(l, "get") && l->p < l->end && blank(*l->p))
		o->kind = PROTO_OP_GET;
	if (o->kind == 0) {
		seterr(err, errlen, "line %zu: an operation is set KEY VALUE, del KEY or get KEY",
		    l->no);
		return -EINVAL;
	}
	if ((rc = word(l, '\0', "a key", k, err, errlen)) < 0)
		return rc;
	if ((rc = key_slashed(l, k, err, errlen)) < 0)
		return rc;
	o->key = proto_mem(k->s, k->len);
	if (o->kind == PROTO_OP_SET) {
		skip_blanks(l);
		if (l->p == l->end) {
			seterr(
			    err, errlen, "line %zu: set KEY needs a value (\"\" for empty)", l->no);
			return -EINVAL;
		}
		if ((rc = rest(l, v, err, errlen)) < 0)
			return rc;
		if (v->len > RAFTCONF_MAX_VALUE) {
			seterr(err, errlen, "line %zu: value of %zu bytes, over the limit of %d",
			    l->no, v->len, RAFTCONF_MAX_VALUE);
			return -E2BIG;
		}
		o->value = proto_mem(v->s, v->len);
		return 0;
	}
	skip_blanks(l);
	if (l->p == l->end)
		return 0;
	seterr(err, errlen, "line %zu: text after the key", l->no);
	return -EINVAL;
}

static int
add_line(struct txn_input *t, int section, struct line *l, char *err, size_t errlen)
{
	struct text k = { NULL, 0 }, v = { NULL, 0 };
	struct proto_compare c;
	struct proto_op o;
	int rc;

	if (section == PROTO_TXN_COMPARES) {
		rc = compare_line(l, &c, &k, &v, err, errlen);
		if (rc == 0)
			rc = proto_txn_add_compare(&t->lists[section], &t->counts[section], &c);
	} else {
		rc = op_line(l, &o, &k, &v, err, errlen);
		if (rc == 0)
			rc = proto_txn_add_op(&t->lists[section], &t->counts[section], &o);
	}
	if (rc == -E2BIG && (err == NULL || err[0] == '\0'))
		seterr(err, errlen, "line %zu: more than %d %s", l->no, RAFTCONF_MAX_TXN_OPS,
		    section == PROTO_TXN_COMPARES ? "compares" : "operations");
	else if (rc < 0 && (err == NULL || err[0] == '\0'))
		seterr(err, errlen, "line %zu: %s", l->no, strerror(-rc));
	free(k.s);
	free(v.s);
	return rc;
}

int
txn_input_parse(const char *text, size_t len, struct txn_input *t, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	int section = PROTO_TXN_COMPARES, rc;
	size_t no = 0;

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 3; i++)
		proto_buf_init(&t->lists[i]);
	seterr(err, errlen, "%s", "");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct line l = { p, nl ? nl : end, ++no };

		p = nl ? nl + 1 : end;
		if (l.end > l.p && l.end[-1] == '\r')
			l.end--;
		skip_blanks(&l);
		if (l.p < l.end && *l.p == '#')
			continue;
		if (l.p == l.end) {
			section++; /* a blank line ends a section */
			continue;
		}
		if (section > PROTO_TXN_ELSE) {
			seterr(err, errlen,
			    "line %zu: after the else operations (compares, blank line, then, "
			    "blank line, else)",
			    no);
			return -EINVAL;
		}
		if ((rc = add_line(t, section, &l, err, errlen)) < 0)
			return rc;
	}
	if (t->counts[PROTO_TXN_THEN] + t->counts[PROTO_TXN_ELSE] > RAFTCONF_MAX_TXN_OPS) {
		seterr(err, errlen,
		    "%" PRIu32 " operations in the then and else branches, over the limit of %d "
		    "together",
		    t->counts[PROTO_TXN_THEN] + t->counts[PROTO_TXN_ELSE], RAFTCONF_MAX_TXN_OPS);
		return -E2BIG;
	}
	return 0;
}

void
txn_input_free(struct txn_input *t)
{
	for (int i = 0; i < 3; i++)
		proto_buf_free(&t->lists[i]);
}
