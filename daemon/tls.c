/*
 * tls.c — building the TLS contexts (contract in tls.h).
 *
 * For: reading certificates, keys, the CA and the CRL, judging them
 * before use, and the verified peer's id.  Not for: connections and
 * handshakes (peer.c, http.c, through libevent's bufferevent_openssl).
 */
#include "tls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"

/* A chain of certificates (a macro that clang-format reads as a product). */
typedef STACK_OF(X509) cert_list;

static void
free_certs(cert_list *sk)
{
	sk_X509_pop_free(sk, X509_free); /* OpenSSL 3.0 has no OSSL_STACK_OF_X509_free */
}

/* What one message needs to say where it comes from. */
struct where {
	const struct config *cfg;
	const char *name; /* the configuration file */
	char *err;
	size_t errlen;
};

const char *
tls_last_error(char *buf, size_t len)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e; /* the outermost reason is queued last */
	if (last == 0) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	ERR_error_string_n(last, buf, len);
	/* "error:0A000086:SSL routines::certificate verify failed": keep the
	 * words after the last colon when there are any. */
	{
		char *c = strrchr(buf, ':');

		if (c && c[1] != '\0')
			memmove(buf, c + 1, strlen(c + 1) + 1);
	}
	return buf;
}

/* "FILE:LINE:COL: tls.cert: PATH: " then fmt. */
__attribute__((format(printf, 3, 4))) static int
fail(const struct where *w, enum config_pos which, const char *fmt, ...)
{
	char body[TLS_ERR_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(w->err, w->errlen, "%s:%u:%u: %s: %s", w->name, w->cfg->pos[which].line,
	    w->cfg->pos[which].col, config_pos_key(which), body);
	ERR_clear_error();
	return -EINVAL;
}

/* The file to read for a private key: systemd's credential when there is one. */
static const char *
key_path(const char *configured, const char *credential, char *buf, size_t len)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");

	if (dir && dir[0] == '/') {
		snprintf(buf, len, "%s/%s", dir, credential);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	return configured;
}

static BIO *
open_file(const struct where *w, enum config_pos which, const char *path)
{
	BIO *b = BIO_new_file(path, "r");

	if (b == NULL) {
		int e = errno;

		fail(w, which, "%s: cannot read: %s", path, strerror(e ? e : EIO));
	}
	return b;
}

/* Every certificate of a PEM file, in order; NULL (and err) if none. */
static cert_list *
read_certs(const struct where *w, enum config_pos which, const char *path)
{
	cert_list *sk;
	BIO *b;
	X509 *x;

	if ((b = open_file(w, which, path)) == NULL)
		return NULL;
	if ((sk = sk_X509_new_null()) == NULL) {
		BIO_free(b);
		fail(w, which, "%s: out of memory", path);
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			break;
		}
	ERR_clear_error(); /* the end of the file reads as an error */
	BIO_free(b);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		fail(w, which, "%s: no PEM certificate in it", path);
		return NULL;
	}
	return sk;
}

static EVP_PKEY *
read_key(const struct where *w, enum config_pos which, const char *path)
{
	char why[TLS_ERR_SIZE];
	EVP_PKEY *k;
	BIO *b;

	if ((b = open_file(w, which, path)) == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k == NULL)
		fail(w, which, "%s: not a PEM private key without a passphrase (%s)", path,
		    tls_last_error(why, sizeof(why)));
	return k;
}

/* The Common Name of x, as UTF-8, into buf; -1 if it has none or it does not fit. */
static int
common_name(X509 *x, char *buf, size_t len)
{
	X509_NAME *n = X509_get_subject_name(x);
	unsigned char *utf8 = NULL;
	int i, l;

	if (n == NULL || (i = X509_NAME_get_index_by_NID(n, NID_commonName, -1)) < 0)
		return -1;
	l = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
	if (l < 0)
		return -1;
	if ((size_t)l >= len || memchr(utf8, '\0', (size_t)l) != NULL) {
		OPENSSL_free(utf8);
		return -1;
	}
	memcpy(buf, utf8, (size_t)l);
	buf[l] = '\0';
	OPENSSL_free(utf8);
	return 0;
}

static long
days_left(const X509 *x)
{
	int days = 0, secs = 0;

	if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)))
		return 0;
	return days;
}

/* The CA's certificates and the CRL into a new store. */
static X509_STORE *
make_store(const struct where *w)
{
	const struct config *c = w->cfg;
	X509_STORE *st = X509_STORE_new();
	cert_list *cas;
	X509_CRL *crl;
	BIO *b;
	int i, n, ok;

	if (st == NULL) {
		fail(w, CONFIG_POS_TLS_CA, "out of memory");
		return NULL;
	}
	if ((cas = read_certs(w, CONFIG_POS_TLS_CA, c->tls_ca)) == NULL)
		goto fail;
	for (i = 0; i < sk_X509_num(cas); i++)
		if (!X509_STORE_add_cert(st, sk_X509_value(cas, i))) {
			free_certs(cas);
			fail(w, CONFIG_POS_TLS_CA, "%s: cannot use it (out of memory)", c->tls_ca);
			goto fail;
		}
	free_certs(cas);
	if (c->tls_crl[0] == '\0')
		return st;
	if ((b = open_file(w, CONFIG_POS_TLS_CRL, c->tls_crl)) == NULL)
		goto fail;
	for (n = 0; (crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL; n++) {
		ok = X509_STORE_add_crl(st, crl);
		X509_CRL_free(crl);
		if (!ok) {
			BIO_free(b);
			fail(
			    w, CONFIG_POS_TLS_CRL, "%s: cannot use it (out of memory)", c->tls_crl);
			goto fail;
		}
	}
	ERR_clear_error(); /* the end of the file reads as an error */
	BIO_free(b);
	if (n == 0) {
		fail(w, CONFIG_POS_TLS_CRL, "%s: no PEM certificate revocation list in it",
		    c->tls_crl);
		goto fail;
	}
	/* The peer's own certificate is checked against it (not the CAs above it). */
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	return st;
fail:
	X509_STORE_free(st);
	return NULL;
}

/*
 * Would a peer holding our CA and CRL accept this certificate now, both as
 * a client's (we dial) and as a server's (we are dialled)?
 */
static int
verify_own(const struct where *w, X509_STORE *st, X509 *leaf, cert_list *chain)
{
	static const int purposes[2] = { X509_PURPOSE_SSL_CLIENT, X509_PURPOSE_SSL_SERVER };

	for (int i = 0; i < 2; i++) {
		X509_STORE_CTX *sc = X509_STORE_CTX_new();
		int ok, e;

		if (sc == NULL || !X509_STORE_CTX_init(sc, st, leaf, chain) ||
		    !X509_STORE_CTX_set_purpose(sc, purposes[i])) {
			X509_STORE_CTX_free(sc);
			return fail(w, CONFIG_POS_TLS_CERT, "out of memory");
		}
		ok = X509_verify_cert(sc);
		e = X509_STORE_CTX_get_error(sc);
		X509_STORE_CTX_free(sc);
		if (ok != 1)
			return fail(w, CONFIG_POS_TLS_CERT,
			    "%s: peers would refuse it: %s (checked against tls.ca%s, as a %s "
			    "certificate)",
			    w->cfg->tls_cert, X509_verify_cert_error_string(e),
			    w->cfg->tls_crl[0] ? " and tls.crl" : "", i == 0 ? "client" : "server");
	}
	return 0;
}

/*
 * Certificate chain and key into ctx, checked against each other.
 * *leaf_out: the leaf (owned by ctx), *chain_out: the rest (caller frees).
 */
static int
use_pair(const struct where *w, SSL_CTX *ctx, enum config_pos cert_pos, const char *cert,
    enum config_pos key_pos, const char *keyfile, X509 **leaf_out, cert_list **chain_out)
{
	char why[TLS_ERR_SIZE];
	cert_list *certs;
	EVP_PKEY *key;
	X509 *leaf;
	int i, r;

	if ((certs = read_certs(w, cert_pos, cert)) == NULL)
		return -EINVAL;
	if ((key = read_key(w, key_pos, keyfile)) == NULL) {
		free_certs(certs);
		return -EINVAL;
	}
	leaf = sk_X509_shift(certs);
	if (SSL_CTX_use_certificate(ctx, leaf) != 1) { /* e.g. its key is too weak */
		r = fail(
		    w, cert_pos, "%s: cannot use it: %s", cert, tls_last_error(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		r = fail(w, key_pos, "%s does not go with %s (%s)", keyfile, cert,
		    tls_last_error(why, sizeof(why)));
		goto fail;
	}
	for (i = 0; i < sk_X509_num(certs); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(certs, i)) != 1) {
			r = fail(w, cert_pos, "%s: cannot use its chain: %s", cert,
			    tls_last_error(why, sizeof(why)));
			goto fail;
		}
	EVP_PKEY_free(key);
	*leaf_out = leaf;
	X509_free(leaf); /* ctx holds its own reference */
	*chain_out = certs;
	return 0;
fail:
	X509_free(leaf);
	EVP_PKEY_free(key);
	free_certs(certs);
	return r;
}

int
tls_peer_ctx_new(
    const struct config *cfg, const char *name, SSL_CTX **out, char *err, size_t errlen)
{
	struct where w = { cfg, name, err, errlen };
	char keybuf[RAFTCONF_MAX_PATH + 64], cn[256] = "";
	cert_list *chain = NULL;
	X509_STORE *st = NULL;
	SSL_CTX *ctx;
	X509 *leaf;
	int r;

	*out = NULL;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_method())) == NULL)
		return fail(&w, CONFIG_POS_TLS_CERT, "cannot make a TLS context");
	r = use_pair(&w, ctx, CONFIG_POS_TLS_CERT, cfg->tls_cert, CONFIG_POS_TLS_KEY,
	    key_path(cfg->tls_key, "tls.key", keybuf, sizeof(keybuf)), &leaf, &chain);
	if (r < 0)
		goto fail;
	if (common_name(leaf, cn, sizeof(cn)) < 0 || strcmp(cn, cfg->node_id) != 0) {
		r = fail(&w, CONFIG_POS_TLS_CERT,
		    "%s: its Common Name must be this node's id \"%s\"%s%.64s%s", cfg->tls_cert,
		    cfg->node_id, cn[0] ? " (it is \"" : " (it has none, or one longer than an id)",
		    cn, cn[0] ? "\")" : "");
		goto fail;
	}
	if ((st = make_store(&w)) == NULL) {
		r = -EINVAL;
		goto fail;
	}
	if ((r = verify_own(&w, st, leaf, chain)) < 0)
		goto fail;
	SSL_CTX_set_cert_store(ctx, st); /* ctx owns st from here */
	st = NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* A peer that dies mid-stream has closed, not attacked: EOF. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	free_certs(chain);
	*out = ctx;
	return 0;
fail:
	X509_STORE_free(st);
	free_certs(chain);
	SSL_CTX_free(ctx);
	return r;
}

int
tls_http_ctx_new(
    const struct config *cfg, const char *name, SSL_CTX **out, char *err, size_t errlen)
{
	struct where w = { cfg, name, err, errlen };
	char keybuf[RAFTCONF_MAX_PATH + 64];
	cert_list *chain = NULL;
	SSL_CTX *ctx;
	X509 *leaf;
	int r;

	*out = NULL;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return fail(&w, CONFIG_POS_HTTP_CERT, "cannot make a TLS context");
	r = use_pair(&w, ctx, CONFIG_POS_HTTP_CERT, cfg->http_cert, CONFIG_POS_HTTP_KEY,
	    key_path(cfg->http_key, "http.key", keybuf, sizeof(keybuf)), &leaf, &chain);
	if (r < 0) {
		SSL_CTX_free(ctx);
		return r;
	}
	free_certs(chain);
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
		SSL_CTX_free(ctx);
		return fail(
		    &w, CONFIG_POS_HTTP_CERT, "%s: the certificate has expired", cfg->http_cert);
	}
	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
		SSL_CTX_free(ctx);
		return fail(&w, CONFIG_POS_HTTP_CERT, "%s: the certificate is not valid yet",
		    cfg->http_cert);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	*out = ctx;
	return 0;
}

int
tls_peer_id(SSL *ssl, char *id, size_t idlen)
{
	X509 *x = SSL_get0_peer_certificate(ssl);

	if (x == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return -ENOENT;
	if (common_name(x, id, idlen) < 0 || !config_valid_id(id))
		return -EINVAL;
	return 0;
}

/* One line about the first certificate of path. */
static int
report_one(const struct config *cfg, const char *name, enum config_pos which, const char *path,
    void (*out)(void *, bool, const char *), void *arg)
{
	char line[TLS_ERR_SIZE * 2], subject[256], until[64], err[TLS_ERR_SIZE];
	struct where w = { cfg, name, err, sizeof(err) };
	cert_list *certs = read_certs(&w, which, path);
	const ASN1_TIME *na;
	struct tm tm;
	long days;
	bool warn;

	if (certs == NULL) {
		out(arg, true, err);
		return 1;
	}
	if (common_name(sk_X509_value(certs, 0), subject, sizeof(subject)) < 0)
		snprintf(subject, sizeof(subject), "%s", "(no Common Name)");
	na = X509_get0_notAfter(sk_X509_value(certs, 0));
	if (ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm);
	else
		snprintf(until, sizeof(until), "%s", "?");
	days = days_left(sk_X509_value(certs, 0));
	warn = days < TLS_WARN_DAYS;
	if (X509_cmp_current_time(na) <= 0)
		snprintf(line, sizeof(line),
		    "%s:%u:%u: %s: %s: \"%s\" EXPIRED on %s; renew it (etc/tls/mkcerts.sh)", name,
		    cfg->pos[which].line, cfg->pos[which].col, config_pos_key(which), path, subject,
		    until);
	else
		snprintf(line, sizeof(line),
		    "%s:%u:%u: %s: %s: \"%s\" valid until %s: %ld days left%s", name,
		    cfg->pos[which].line, cfg->pos[which].col, config_pos_key(which), path, subject,
		    until, days, warn ? "; renew it soon (etc/tls/mkcerts.sh)" : "");
	free_certs(certs);
	out(arg, warn, line);
	return warn ? 1 : 0;
}

int
tls_report(const struct config *cfg, const char *name,
    void (*out)(void *arg, bool warn, const char *line), void *arg)
{
	int n = 0;

	if (cfg->tls_cert[0] != '\0') {
		n += report_one(cfg, name, CONFIG_POS_TLS_CERT, cfg->tls_cert, out, arg);
		n += report_one(cfg, name, CONFIG_POS_TLS_CA, cfg->tls_ca, out, arg);
	}
	if (cfg->http_cert[0] != '\0')
		n += report_one(cfg, name, CONFIG_POS_HTTP_CERT, cfg->http_cert, out, arg);
	return n;
}
