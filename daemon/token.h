/*
 * token.h — HTTP tokens (Consul's model): the record the store keeps for
 * one, the hash of a secret, a new secret, the table a node judges HTTP
 * requests with, and the judgement itself.
 *
 * A token is a name ([A-Za-z0-9_-]{1,RAFTCONF_MAX_ID}, like a node id), an
 * access (read, or write which includes read), a key prefix it is limited
 * to, and the SHA-256 of its secret.  The secret is TOKEN_SECRET_BYTES
 * random bytes written as 2 * TOKEN_SECRET_BYTES lowercase hex digits;
 * raftconfctl makes it, prints it once and sends only its hash, so that
 * neither the daemon, the Raft log nor a snapshot ever holds it.  A secret
 * of 256 random bits needs no salt and no slow hash: nobody can guess one
 * whose hash they read.  HTTP clients send it as "Authorization: Bearer
 * SECRET"; the hash of what they send is compared with every token's, in
 * constant time.
 *
 * Crypto is OpenSSL's libcrypto (SHA-256 through EVP, CRYPTO_memcmp); the
 * randomness is getrandom(2).  Nothing here is written by hand.
 *
 * Shared by raftconfd and raftconfctl (libproto.a).  No I/O but getrandom;
 * no global state.  A token_table is used by one thread.
 */
#ifndef RAFTCONF_TOKEN_H
#define RAFTCONF_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "limits.h"

#define TOKEN_HASH_LEN	   32 /* SHA-256 */
#define TOKEN_SECRET_BYTES 32
#define TOKEN_SECRET_LEN   (2 * TOKEN_SECRET_BYTES) /* hex digits */

enum token_access {
	TOKEN_READ = 1,
	TOKEN_WRITE = 2, /* reads too */
};

/* Is name a token name: [A-Za-z0-9_-]{1,RAFTCONF_MAX_ID}? */
bool token_name_ok(const char *name, size_t len);

/* "read" or "write" ("unknown" for anything else). */
const char *token_access_name(enum token_access access);

/* ------------------------------------------------------------ the record */

/*
 * What the store keeps for a token, under "t:" NAME (integers
 * little-endian like every store record):
 *
 *	u8 version (TOKEN_RECORD_VERSION), u8 access (enum token_access),
 *	u16 prefix length, prefix (0..RAFTCONF_MAX_KEY bytes, no NUL),
 *	TOKEN_HASH_LEN bytes of SHA-256
 */
#define TOKEN_RECORD_VERSION	1
#define TOKEN_RECORD_SIZE(plen) (4 + (plen) + TOKEN_HASH_LEN)
#define TOKEN_RECORD_MAX	TOKEN_RECORD_SIZE(RAFTCONF_MAX_KEY)

/* A decoded record: prefix and hash point into the bytes decoded. */
struct token_record {
	enum token_access access;
	const char *prefix; /* plen bytes, not NUL-terminated */
	size_t plen;
	const uint8_t *hash; /* TOKEN_HASH_LEN bytes */
};

/*
 * Encode into buf (cap bytes).  The length, -EINVAL for a bad access or
 * prefix (over RAFTCONF_MAX_KEY bytes or holding a NUL byte), -ENOSPC when
 * cap is below TOKEN_RECORD_SIZE(plen).
 */
ssize_t token_record_encode(uint8_t *buf, size_t cap, enum token_access access, const char *prefix,
    size_t plen, const uint8_t hash[TOKEN_HASH_LEN]);

/* Decode untrusted bytes, which must be exactly one record: 0 or -EBADMSG. */
int token_record_decode(const void *buf, size_t len, struct token_record *out);

/* ------------------------------------------------------------ secrets */

/* SHA-256 of the len bytes at secret.  0, or -EIO if libcrypto failed. */
int token_hash(const void *secret, size_t len, uint8_t out[TOKEN_HASH_LEN]);

/*
 * A new secret from getrandom(2), NUL-terminated in out.  0, or a negative
 * errno (the kernel's entropy pool may not be ready yet: -EAGAIN never
 * happens, the call waits for it).
 */
int token_secret_new(char out[TOKEN_SECRET_LEN + 1]);

/* ------------------------------------------------------------ the table */

struct token {
	char name[RAFTCONF_MAX_ID + 1];
	enum token_access access;
	uint8_t hash[TOKEN_HASH_LEN];
	size_t plen;
	char prefix[RAFTCONF_MAX_KEY]; /* plen bytes */
};

/* The tokens a node knows, in name order.  Zero-initialised is empty. */
struct token_table {
	struct token **v;
	size_t n, cap;
};

void token_table_free(struct token_table *t); /* back to empty */

/* Add name, or replace the token of that name.  0 or -ENOMEM (t unchanged). */
int token_table_put(
    struct token_table *t, const char *name, size_t nlen, const struct token_record *rec);

/* Remove name; false when there was none. */
bool token_table_del(struct token_table *t, const char *name, size_t nlen);

/* The token whose secret this is, or NULL; every hash is compared. */
const struct token *token_table_match(const struct token_table *t, const char *secret, size_t len);

/* ------------------------------------------------------------ judging */

/* What an HTTP request needs. */
enum token_need {
	TOKEN_NEED_NOTHING, /* /v1/health: open to all */
	TOKEN_NEED_ANY,	    /* /v1/status, /metrics: any token, read or write */
	TOKEN_NEED_READ,    /* GET of key, or a listing of the prefix key */
	TOKEN_NEED_WRITE,   /* PUT or DELETE of key */
};

struct token_request {
	enum token_need need;
	const char *key; /* the key, or the prefix listed: klen bytes */
	size_t klen;
	bool loopback;		   /* the client is 127.0.0.0/8 or ::1 */
	const char *authorization; /* the Authorization header, or NULL */
};

/*
 * Judge one request.  0 when it may go on; else 401 (no token or an unknown
 * one, when tokens exist) or 403 (no token defined and a client that is not
 * on the loopback; or a token without the access, or whose prefix does not
 * cover key), with why filled for the client.  Pure: the same table and
 * request give the same answer.
 *
 *	no token in t	every client on the loopback may do anything; others
 *			get 403 except for TOKEN_NEED_NOTHING
 *	tokens in t	"Authorization: Bearer SECRET" (the scheme in any
 *			case) names a token by its secret, wherever the
 *			client is; a read needs a token whose prefix starts
 *			key, a write such a token with write access
 */
int token_authorize(
    const struct token_table *t, const struct token_request *r, char *why, size_t whylen);

#endif
