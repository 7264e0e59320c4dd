/*
 * token.c — HTTP tokens: their store record, the hash of a secret, new
 * secrets, the table of a node and the judgement of a request (contract in
 * token.h).
 *
 * Not here: where tokens are kept (store.c, under "t:"), how they are made
 * and revoked (raftconfctl, through the log), where a request's header and
 * address come from (http.c).
 */
#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bytes.h"
#include "errbuf.h"

bool
token_name_ok(const char *name, size_t len)
{
	if (name == NULL || len < 1 || len > RAFTCONF_MAX_ID)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-'))
			return false;
	}
	return true;
}

const char *
token_access_name(enum token_access access)
{
	switch (access) {
	case TOKEN_READ:
		return "read";
	case TOKEN_WRITE:
		return "write";
	}
	return "unknown";
}

static bool
prefix_ok(const char *prefix, size_t plen)
{
	return plen <= RAFTCONF_MAX_KEY && (plen == 0 || (prefix && !memchr(prefix, 0, plen)));
}

/* ------------------------------------------------------------ the record */

ssize_t
token_record_encode(uint8_t *buf, size_t cap, enum token_access access, const char *prefix,
    size_t plen, const uint8_t hash[TOKEN_HASH_LEN])
{
	if ((access != TOKEN_READ && access != TOKEN_WRITE) || !prefix_ok(prefix, plen) ||
	    hash == NULL)
		return -EINVAL;
	if (cap < TOKEN_RECORD_SIZE(plen))
		return -ENOSPC;
	buf[0] = TOKEN_RECORD_VERSION;
	buf[1] = (uint8_t)access;
	put_le16(buf + 2, (uint16_t)plen);
	if (plen > 0)
		memcpy(buf + 4, prefix, plen);
	memcpy(buf + 4 + plen, hash, TOKEN_HASH_LEN);
	return (ssize_t)TOKEN_RECORD_SIZE(plen);
}

int
token_record_decode(const void *buf, size_t len, struct token_record *out)
{
	struct bytes_reader r;
	uint8_t version, access;

	memset(out, 0, sizeof(*out));
	br_init(&r, buf, len);
	version = br_u8(&r);
	access = br_u8(&r);
	out->plen = br_le16(&r);
	out->prefix = (const char *)br_mem(&r, out->plen);
	out->hash = br_mem(&r, TOKEN_HASH_LEN);
	if (r.err || br_left(&r) != 0 || version != TOKEN_RECORD_VERSION ||
	    (access != TOKEN_READ && access != TOKEN_WRITE) || !prefix_ok(out->prefix, out->plen)) {
		memset(out, 0, sizeof(*out));
		return -EBADMSG;
	}
	out->access = (enum token_access)access;
	return 0;
}

/* ------------------------------------------------------------ secrets */

int
token_hash(const void *secret, size_t len, uint8_t out[TOKEN_HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(secret, len, out, &n, EVP_sha256(), NULL) != 1 || n != TOKEN_HASH_LEN)
		return -EIO;
	return 0;
}

int
token_secret_new(char out[TOKEN_SECRET_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[TOKEN_SECRET_BYTES];
	size_t have = 0;

	while (have < sizeof(raw)) {
		ssize_t n = getrandom(raw + have, sizeof(raw) - have, 0);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			have += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TOKEN_SECRET_LEN] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/* ------------------------------------------------------------ the table */

void
token_table_free(struct token_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Where name is, or would go, in t's name order; *found says which. */
static size_t
position(const struct token_table *t, const char *name, size_t nlen, bool *found)
{
	size_t lo = 0, hi = t->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = t->v[mid]->name;
		size_t mlen = strlen(m), k = mlen < nlen ? mlen : nlen;
		int d = memcmp(m, name, k);

		if (d == 0)
			d = mlen < nlen ? -1 : mlen > nlen;
		if (d == 0) {
			*found = true;
			return mid;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
token_table_put(
    struct token_table *t, const char *name, size_t nlen, const struct token_record *rec)
{
	struct token *tok;
	bool found;
	size_t at;

	if (!token_name_ok(name, nlen) || !prefix_ok(rec->prefix, rec->plen))
		return -EINVAL;
	if ((tok = calloc(1, sizeof(*tok))) == NULL)
		return -ENOMEM;
	memcpy(tok->name, name, nlen);
	tok->access = rec->access;
	memcpy(tok->hash, rec->hash, TOKEN_HASH_LEN);
	tok->plen = rec->plen;
	if (rec->plen > 0)
		memcpy(tok->prefix, rec->prefix, rec->plen);
	at = position(t, name, nlen, &found);
	if (found) {
		free(t->v[at]);
		t->v[at] = tok;
		return 0;
	}
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 8;
		struct token **p = realloc(t->v, ncap * sizeof(*p));

		if (p == NULL) {
			free(tok);
			return -ENOMEM;
		}
		t->v = p;
		t->cap = ncap;
	}
	memmove(t->v + at + 1, t->v + at, (t->n - at) * sizeof(*t->v));
	t->v[at] = tok;
	t->n++;
	return 0;
}

bool
token_table_del(struct token_table *t, const char *name, size_t nlen)
{
	bool found;
	size_t at = position(t, name, nlen, &found);

	if (!found)
		return false;
	free(t->v[at]);
	memmove(t->v + at, t->v + at + 1, (t->n - at - 1) * sizeof(*t->v));
	t->n--;
	return true;
}

const struct token *
token_table_match(const struct token_table *t, const char *secret, size_t len)
{
	uint8_t h[TOKEN_HASH_LEN];
	const struct token *hit = NULL;

	if (token_hash(secret, len, h) < 0)
		return NULL;
	/* No early exit: the time taken says nothing about which one matched. */
	for (size_t i = 0; i < t->n; i++)
		if (CRYPTO_memcmp(h, t->v[i]->hash, TOKEN_HASH_LEN) == 0)
			hit = t->v[i];
	return hit;
}

/* ------------------------------------------------------------ judging */

/*
 * The credentials of "Bearer SECRET" (RFC 6750 §2.1: the scheme in any
 * case, then one or more spaces; blanks around are trimmed).  NULL when
 * the header is absent, empty or another scheme.
 */
static const char *
bearer(const char *h, size_t *len)
{
	const char *end;

	if (h == NULL)
		return NULL;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return NULL;
	for (h += 6; *h == ' ' || *h == '\t'; h++)
		;
	for (end = h + strlen(h); end > h && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*len = (size_t)(end - h);
	return *len > 0 ? h : NULL;
}

int
token_authorize(
    const struct token_table *t, const struct token_request *r, char *why, size_t whylen)
{
	const struct token *tok;
	const char *secret;
	size_t slen = 0;

	seterr(why, whylen, "%s", "");
	if (r->need == TOKEN_NEED_NOTHING)
		return 0;
	if (t->n == 0) {
		if (r->loopback)
			return 0;
		seterr(why, whylen,
		    "no token is defined, so only clients on the loopback are served; "
		    "create one with raftconfctl token add NAME --prefix PREFIX --read|--write "
		    "and send it as Authorization: Bearer SECRET");
		return 403;
	}
	if ((secret = bearer(r->authorization, &slen)) == NULL) {
		seterr(why, whylen, "a token is required: Authorization: Bearer SECRET");
		return 401;
	}
	if ((tok = token_table_match(t, secret, slen)) == NULL) {
		seterr(why, whylen, "unknown token (revoked, or never made)");
		return 401;
	}
	if (r->need == TOKEN_NEED_ANY)
		return 0;
	if (r->need == TOKEN_NEED_WRITE && tok->access != TOKEN_WRITE) {
		seterr(why, whylen, "token %s may only read", tok->name);
		return 403;
	}
	if (r->klen < tok->plen || memcmp(r->key, tok->prefix, tok->plen) != 0) {
		seterr(why, whylen, "token %s is limited to keys starting with \"%.*s\"", tok->name,
		    (int)(tok->plen > 128 ? 128 : tok->plen), tok->prefix);
		return 403;
	}
	return 0;
}
