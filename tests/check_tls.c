/*
 * check_tls.c — unit tests of daemon/tls.c: which certificates, keys, CAs
 * and CRLs make a context and which are refused, with the exact
 * "FILE:LINE:COL: key: " the operator will see; the report of days left;
 * systemd's credential for the key; and a real handshake between two
 * peers' contexts over a BIO pair, each reading the other's id.
 *
 * Every certificate is made here at run time, in a temporary directory,
 * with libcrypto (the factory below); the openssl tool is not needed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* By path: the autoconf header is also called config.h. */
#include "../daemon/config.h"
#include "../daemon/tls.h"

/* The configuration file the messages name, and where each key is in it. */
#define CONF "raftconfd.yaml"
static const struct {
	unsigned line, col;
} positions[CONFIG_POS_N] = {
	[CONFIG_POS_TLS_CA] = { 21, 7 },
	[CONFIG_POS_TLS_CERT] = { 22, 9 },
	[CONFIG_POS_TLS_KEY] = { 23, 8 },
	[CONFIG_POS_TLS_CRL] = { 24, 8 },
	[CONFIG_POS_HTTP_CERT] = { 31, 9 },
	[CONFIG_POS_HTTP_KEY] = { 32, 8 },
};
#define CA_CN	"raftconfd test CA"
#define CA_DAYS 3650

/* The directory and the CA, made once for each test case (tcase_with_fixtures). */
static char dir[256];
static EVP_PKEY *ca_key;
static X509 *ca;
static long next_serial = 1;

#define ck_assert_has(s, sub) \
	ck_assert_msg(strstr((s), (sub)) != NULL, "\"%s\" not in \"%s\"", (sub), (s))

/* ------------------------------------------------------------ the factory */

static EVP_PKEY *
new_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	ck_assert_ptr_nonnull(k);
	return k;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/*
 * A certificate for key naming cn, valid from `from` to `until` days from
 * now, signed by issuer and issuer_key (NULL: by key itself).  An hour is
 * added to notAfter so that the days left read as exactly `until`.
 */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, long serial, long from, long until, X509 *issuer,
    EVP_PKEY *issuer_key, bool is_ca)
{
	X509 *x = X509_new();
	X509_NAME *name;

	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	ck_assert_ptr_nonnull(X509_time_adj_ex(X509_getm_notBefore(x), (int)from, 0, NULL));
	ck_assert_ptr_nonnull(X509_time_adj_ex(X509_getm_notAfter(x), (int)until, 3600, NULL));
	ck_assert_int_eq(X509_set_pubkey(x, key), 1);
	name = X509_get_subject_name(x);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(
			     name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0),
	    1);
	if (issuer == NULL) {
		issuer = x;
		issuer_key = key;
	}
	ck_assert_int_eq(X509_set_issuer_name(x, X509_get_subject_name(issuer)), 1);
	if (is_ca) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
	}
	ck_assert_int_gt(X509_sign(x, issuer_key, EVP_sha256()), 0);
	return x;
}

/* A CRL of ca_cert revoking serial. */
static X509_CRL *
make_crl(X509 *ca_cert, EVP_PKEY *key, long serial)
{
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	ASN1_TIME *t = ASN1_TIME_new();

	ck_assert(crl && rev && sn && t);
	ck_assert_int_eq(X509_CRL_set_version(crl, 1), 1); /* v2 */
	ck_assert_int_eq(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert)), 1);
	ck_assert_ptr_nonnull(X509_time_adj_ex(t, -1, 0, NULL));
	ck_assert_int_eq(X509_CRL_set1_lastUpdate(crl, t), 1);
	ck_assert_int_eq(X509_REVOKED_set_revocationDate(rev, t), 1);
	ck_assert_ptr_nonnull(X509_time_adj_ex(t, 30, 0, NULL));
	ck_assert_int_eq(X509_CRL_set1_nextUpdate(crl, t), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(sn, serial), 1);
	ck_assert_int_eq(X509_REVOKED_set_serialNumber(rev, sn), 1);
	ck_assert_int_eq(X509_CRL_add0_revoked(crl, rev), 1);
	ck_assert_int_eq(X509_CRL_sort(crl), 1);
	ck_assert_int_gt(X509_CRL_sign(crl, key, EVP_sha256()), 0);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	return crl;
}

/* DIR/file, into buf (a config field). */
static void
path_of(char *buf, size_t len, const char *file)
{
	ck_assert_int_lt(snprintf(buf, len, "%s/%s", dir, file), (int)len);
}

static FILE *
create(const char *file)
{
	char p[512];
	FILE *f;

	path_of(p, sizeof(p), file);
	f = fopen(p, "w");
	ck_assert_msg(f != NULL, "%s: %s", p, strerror(errno));
	return f;
}

/* Certificates one after the other in one PEM file; NULL ends the list. */
static void
write_certs(const char *file, X509 *x, ...)
{
	FILE *f = create(file);
	va_list ap;

	va_start(ap, x);
	for (; x != NULL; x = va_arg(ap, X509 *))
		ck_assert_int_eq(PEM_write_X509(f, x), 1);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
}

static void
write_cert(const char *file, X509 *x)
{
	write_certs(file, x, NULL);
}

static void
write_key(const char *file, EVP_PKEY *k)
{
	FILE *f = create(file);

	ck_assert_int_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	ck_assert_int_eq(fclose(f), 0);
}

static void
write_crl(const char *file, X509_CRL *crl)
{
	FILE *f = create(file);

	ck_assert_int_eq(PEM_write_X509_CRL(f, crl), 1);
	ck_assert_int_eq(fclose(f), 0);
}

static void
write_text(const char *file, const char *text)
{
	FILE *f = create(file);

	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* NAME.pem and NAME.key from x and k, which are freed. */
static void
keep(const char *name, X509 *x, EVP_PKEY *k)
{
	char file[64];

	snprintf(file, sizeof(file), "%s.pem", name);
	write_cert(file, x);
	snprintf(file, sizeof(file), "%s.key", name);
	write_key(file, k);
	X509_free(x);
	EVP_PKEY_free(k);
}

/*
 * NAME.pem and NAME.key: a node certificate for cn, valid from `from` to
 * `until` days from now, signed by the suite's CA.  Returns its serial.
 */
static long
issue(const char *name, const char *cn, long from, long until)
{
	long serial = next_serial++;
	EVP_PKEY *k = new_key();

	keep(name, make_cert(k, cn, serial, from, until, ca, ca_key, false), k);
	return serial;
}

/* The same, signed by a CA of its own whose certificate goes to ca_file;
 * both-cas.pem then holds the suite's CA and that one. */
static void
issue_by_another_ca(const char *name, const char *cn, const char *ca_file)
{
	EVP_PKEY *k2 = new_key(), *k = new_key();
	X509 *ca2 = make_cert(k2, "another CA", 1, -1, CA_DAYS, NULL, NULL, true);

	write_cert(ca_file, ca2);
	write_certs("both-cas.pem", ca, ca2, NULL);
	keep(name, make_cert(k, cn, 2, -1, 365, ca2, k2, false), k);
	X509_free(ca2);
	EVP_PKEY_free(k2);
}

/* ------------------------------------------------------------ fixtures */

static int
remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void
suite_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	ck_assert_int_lt(snprintf(dir, sizeof(dir), "%s/check_tls.XXXXXX", tmp), (int)sizeof(dir));
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	ca_key = new_key();
	ca = make_cert(ca_key, CA_CN, next_serial++, -1, CA_DAYS, NULL, NULL, true);
	write_cert("ca.pem", ca);
}

static void
suite_teardown(void)
{
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	if (dir[0] != '\0')
		nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Whatever runs the tests may itself have been given credentials. */
static void
test_setup(void)
{
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void
test_teardown(void)
{
	unsetenv("CREDENTIALS_DIRECTORY");
	ERR_clear_error();
}

/* ------------------------------------------------------------ helpers */

/* The tls section for node_id with NAME.pem, NAME.key and ca.pem, no CRL. */
static void
peer_config(struct config *c, const char *node_id, const char *name)
{
	char file[64];
	int i;

	memset(c, 0, sizeof(*c));
	snprintf(c->node_id, sizeof(c->node_id), "%s", node_id);
	path_of(c->tls_ca, sizeof(c->tls_ca), "ca.pem");
	snprintf(file, sizeof(file), "%s.pem", name);
	path_of(c->tls_cert, sizeof(c->tls_cert), file);
	snprintf(file, sizeof(file), "%s.key", name);
	path_of(c->tls_key, sizeof(c->tls_key), file);
	for (i = 0; i < CONFIG_POS_N; i++) {
		c->pos[i].line = positions[i].line;
		c->pos[i].col = positions[i].col;
	}
}

/* The http section with NAME.pem and NAME.key. */
static void
http_config(struct config *c, const char *name)
{
	char file[64];

	peer_config(c, "n1", name);
	c->tls_ca[0] = c->tls_cert[0] = c->tls_key[0] = '\0';
	snprintf(file, sizeof(file), "%s.pem", name);
	path_of(c->http_cert, sizeof(c->http_cert), file);
	snprintf(file, sizeof(file), "%s.key", name);
	path_of(c->http_key, sizeof(c->http_key), file);
}

/* "raftconfd.yaml:LINE:COL: KEY: " for which. */
static const char *
prefix_of(enum config_pos which)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s:%u:%u: %s: ", CONF, positions[which].line,
	    positions[which].col, config_pos_key(which));
	return buf;
}

/* ctx_new refuses c with -EINVAL, no context and a message at which. */
static void
refused_at(int (*ctx_new)(const struct config *, const char *, SSL_CTX **, char *, size_t),
    const struct config *c, enum config_pos which, char *err)
{
	SSL_CTX *ctx = (SSL_CTX *)1; /* not NULL: *out must be cleared */
	const char *prefix = prefix_of(which);

	err[0] = '\0';
	ck_assert_int_eq(ctx_new(c, CONF, &ctx, err, TLS_ERR_SIZE), -EINVAL);
	ck_assert_ptr_null(ctx);
	ck_assert_msg(
	    strncmp(err, prefix, strlen(prefix)) == 0, "\"%s\" does not begin \"%s\"", err, prefix);
}

static void
peer_refused_at(const struct config *c, enum config_pos which, char *err)
{
	refused_at(tls_peer_ctx_new, c, which, err);
}

static void
peer_accepted(const struct config *c)
{
	char err[TLS_ERR_SIZE] = "";
	SSL_CTX *ctx = NULL;

	ck_assert_msg(tls_peer_ctx_new(c, CONF, &ctx, err, sizeof(err)) == 0, "refused: %s", err);
	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_free(ctx);
}

/* What tls_report passed to its out. */
struct report {
	int n;
	bool warn[4];
	char line[4][2 * TLS_ERR_SIZE];
};

static void
collect(void *arg, bool warn, const char *line)
{
	struct report *r = arg;

	ck_assert_int_lt(r->n, 4);
	r->warn[r->n] = warn;
	snprintf(r->line[r->n], sizeof(r->line[r->n]), "%s", line);
	r->n++;
}

/* ------------------------------------------------------------ contexts */

START_TEST(test_a_node_certificate_the_ca_signed_for_this_node_id_gives_a_context)
{
	char err[TLS_ERR_SIZE] = "";
	struct config c;
	SSL_CTX *ctx = NULL;

	issue("n1", "n1", -1, 365);
	peer_config(&c, "n1", "n1");
	ck_assert_msg(tls_peer_ctx_new(&c, CONF, &ctx, err, sizeof(err)) == 0, "refused: %s", err);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
	ck_assert_int_eq(
	    SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
	SSL_CTX_free(ctx);
}
END_TEST

START_TEST(test_the_report_gives_each_certificate_its_common_name_and_days_left)
{
	struct report r = { 0 };
	struct config c;

	issue("n1", "n1", -1, 365);
	issue("web", "web.example", -1, 90);
	peer_config(&c, "n1", "n1");
	path_of(c.http_cert, sizeof(c.http_cert), "web.pem");
	path_of(c.http_key, sizeof(c.http_key), "web.key");
	ck_assert_int_eq(tls_report(&c, CONF, collect, &r), 0);
	ck_assert_int_eq(r.n, 3);

	ck_assert_has(r.line[0], prefix_of(CONFIG_POS_TLS_CERT));
	ck_assert_has(r.line[0], c.tls_cert);
	ck_assert_has(r.line[0], "\"n1\" valid until ");
	ck_assert_has(r.line[0], ": 365 days left");
	ck_assert(!r.warn[0]);

	ck_assert_has(r.line[1], prefix_of(CONFIG_POS_TLS_CA));
	ck_assert_has(r.line[1], "\"" CA_CN "\" valid until ");
	ck_assert_has(r.line[1], ": 3650 days left");
	ck_assert(!r.warn[1]);

	ck_assert_has(r.line[2], prefix_of(CONFIG_POS_HTTP_CERT));
	ck_assert_has(r.line[2], "\"web.example\" valid until ");
	ck_assert_has(r.line[2], ": 90 days left");
	ck_assert(!r.warn[2]);
}
END_TEST

START_TEST(test_the_report_warns_when_a_certificate_has_fewer_than_30_days_left)
{
	struct report r = { 0 };
	struct config c;

	ck_assert_int_eq(TLS_WARN_DAYS, 30);
	issue("n1", "n1", -1, 10);
	peer_config(&c, "n1", "n1");
	ck_assert_int_eq(tls_report(&c, CONF, collect, &r), 1);
	ck_assert_int_eq(r.n, 2);
	ck_assert_has(r.line[0], prefix_of(CONFIG_POS_TLS_CERT));
	ck_assert_has(r.line[0], ": 10 days left; renew it soon");
	ck_assert(r.warn[0]);
	ck_assert(!r.warn[1]);

	/* The edge: 30 days left is fine, 29 is not. */
	issue("n1", "n1", -1, TLS_WARN_DAYS);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(tls_report(&c, CONF, collect, &r), 0);
	ck_assert_has(r.line[0], ": 30 days left");
	issue("n1", "n1", -1, TLS_WARN_DAYS - 1);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(tls_report(&c, CONF, collect, &r), 1);
	ck_assert_has(r.line[0], ": 29 days left; renew it soon");
}
END_TEST

START_TEST(test_the_report_says_when_a_certificate_expired)
{
	struct report r = { 0 };
	struct config c;

	issue("n1", "n1", -30, -2);
	peer_config(&c, "n1", "n1");
	ck_assert_int_eq(tls_report(&c, CONF, collect, &r), 1);
	ck_assert_has(r.line[0], prefix_of(CONFIG_POS_TLS_CERT));
	ck_assert_has(r.line[0], "\"n1\" EXPIRED on ");
	ck_assert_msg(strstr(r.line[0], "days left") == NULL, "%s", r.line[0]);
}
END_TEST

START_TEST(test_a_certificate_only_for_servers_is_refused_as_peers_dial_with_it_too)
{
	char err[TLS_ERR_SIZE];
	struct config c;
	EVP_PKEY *k = new_key();
	X509 *x = make_cert(k, "n1", next_serial++, -1, 365, ca, ca_key, false);

	add_ext(x, ca, NID_ext_key_usage, "serverAuth");
	ck_assert_int_gt(X509_sign(x, ca_key, EVP_sha256()), 0);
	keep("n1", x, k);
	peer_config(&c, "n1", "n1");
	peer_refused_at(&c, CONFIG_POS_TLS_CERT, err);
	ck_assert_has(err, "peers would refuse it");
	ck_assert_has(err, "as a client certificate");
}
END_TEST

START_TEST(test_a_common_name_longer_than_an_id_is_named_not_called_missing)
{
	char err[TLS_ERR_SIZE], cn[61];
	struct config c;

	memset(cn, 'x', 60);
	cn[60] = '\0';
	issue("n1", cn, -1, 365);
	peer_config(&c, "n1", "n1");
	peer_refused_at(&c, CONFIG_POS_TLS_CERT, err);
	ck_assert_has(err, "(it is \"xxxxxxxx");
	ck_assert_msg(strstr(err, "it has none") == NULL, "%s", err);
}
END_TEST

START_TEST(test_https_refuses_a_certificate_not_valid_yet)
{
	char err[TLS_ERR_SIZE];
	struct config c;
	SSL_CTX *ctx = NULL;

	issue("web", "localhost", 2, 365);
	http_config(&c, "web");
	ck_assert_int_eq(tls_http_ctx_new(&c, CONF, &ctx, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(ctx);
	ck_assert_has(err, prefix_of(CONFIG_POS_HTTP_CERT));
	ck_assert_has(err, "not valid yet");
}
END_TEST

START_TEST(test_a_certificate_for_another_node_id_is_refused_naming_both_ids)
{
	char err[TLS_ERR_SIZE];
	struct config c;

	issue("n2", "n2", -1, 365);
	peer_config(&c, "n1", "n2");
	peer_refused_at(&c, CONFIG_POS_TLS_CERT, err);
	ck_assert_has(err, c.tls_cert);
	ck_assert_has(err, "this node's id \"n1\"");
	ck_assert_has(err, "(it is \"n2\")");
}
END_TEST

START_TEST(test_a_key_that_does_not_go_with_the_certificate_is_refused_at_tls_key)
{
	char err[TLS_ERR_SIZE];
	struct config c;

	issue("n1", "n1", -1, 365);
	issue("other", "n1", -1, 365);
	peer_config(&c, "n1", "n1");
	path_of(c.tls_key, sizeof(c.tls_key), "other.key");
	peer_refused_at(&c, CONFIG_POS_TLS_KEY, err);
	ck_assert_has(err, c.tls_key);
	ck_assert_has(err, "does not go with");
	ck_assert_has(err, c.tls_cert);
}
END_TEST

START_TEST(test_a_certificate_from_another_ca_is_refused_as_peers_would_refuse_it)
{
	char err[TLS_ERR_SIZE];
	struct config c;

	issue_by_another_ca("n1", "n1", "ca2.pem");
	peer_config(&c, "n1", "n1");
	peer_refused_at(&c, CONFIG_POS_TLS_CERT, err);
	ck_assert_has(err, c.tls_cert);
	ck_assert_has(err, "peers would refuse it");
	ck_assert_has(err, "checked against tls.ca");
}
END_TEST

START_TEST(test_a_self_signed_certificate_is_refused_as_peers_would_refuse_it)
{
	char err[TLS_ERR_SIZE];
	struct config c;
	EVP_PKEY *k = new_key();
	X509 *x = make_cert(k, "n1", 77, -1, 365, NULL, NULL, false);

	keep("n1", x, k);
	peer_config(&c, "n1", "n1");
	peer_refused_at(&c, CONFIG_POS_TLS_CERT, err);
	ck_assert_has(err, "peers would refuse it");
	ck_assert_has(err, "self-signed");
}
END_TEST

START_TEST(test_an_expired_certificate_is_refused)
{
	char err[TLS_ERR_SIZE];
	struct config c;

	issue("n1", "n1", -30, -1);
	peer_config(&c, "n1", "n1");
	peer_refused_at(&c, CONFIG_POS_TLS_CERT, err);
	ck_assert_has(err, c.tls_cert);
	ck_assert_has(err, "peers would refuse it");
	ck_assert_has(err, "expired");
}
END_TEST

START_TEST(test_a_certificate_the_crl_revokes_is_refused)
{
	char err[TLS_ERR_SIZE];
	struct config c;
	X509_CRL *crl;
	long serial;

	serial = issue("n1", "n1", -1, 365);
	crl = make_crl(ca, ca_key, serial);
	write_crl("crl.pem", crl);
	X509_CRL_free(crl);
	peer_config(&c, "n1", "n1");
	path_of(c.tls_crl, sizeof(c.tls_crl), "crl.pem");
	peer_refused_at(&c, CONFIG_POS_TLS_CERT, err);
	ck_assert_has(err, "peers would refuse it");
	ck_assert_has(err, "revoked");
	ck_assert_has(err, "tls.crl");
}
END_TEST

START_TEST(test_a_certificate_the_crl_does_not_revoke_is_accepted)
{
	struct config c;
	X509_CRL *crl;
	long serial;

	serial = issue("n1", "n1", -1, 365);
	crl = make_crl(ca, ca_key, serial + 1000);
	write_crl("crl.pem", crl);
	X509_CRL_free(crl);
	peer_config(&c, "n1", "n1");
	path_of(c.tls_crl, sizeof(c.tls_crl), "crl.pem");
	peer_accepted(&c);
}
END_TEST

START_TEST(test_a_missing_file_is_refused_with_its_path_and_yaml_key)
{
	static const enum config_pos which[] = { CONFIG_POS_TLS_CERT, CONFIG_POS_TLS_KEY,
		CONFIG_POS_TLS_CA, CONFIG_POS_TLS_CRL };
	char err[TLS_ERR_SIZE], *field;
	struct config c;
	size_t i;

	issue("n1", "n1", -1, 365);
	for (i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		peer_config(&c, "n1", "n1");
		field = which[i] == CONFIG_POS_TLS_CERT ? c.tls_cert
		    : which[i] == CONFIG_POS_TLS_KEY	? c.tls_key
		    : which[i] == CONFIG_POS_TLS_CA	? c.tls_ca
							: c.tls_crl;
		path_of(field, RAFTCONF_MAX_PATH + 1, "absent.pem");
		peer_refused_at(&c, which[i], err);
		ck_assert_has(err, field);
		ck_assert_has(err, "cannot read: No such file or directory");
	}
}
END_TEST

START_TEST(test_a_file_without_pem_is_refused_with_its_path_and_yaml_key)
{
	static const struct {
		enum config_pos which;
		const char *says;
	} cases[] = {
		{ CONFIG_POS_TLS_CERT, "no PEM certificate in it" },
		{ CONFIG_POS_TLS_KEY, "not a PEM private key" },
		{ CONFIG_POS_TLS_CA, "no PEM certificate in it" },
		{ CONFIG_POS_TLS_CRL, "no PEM certificate revocation list in it" },
	};
	char err[TLS_ERR_SIZE], *field;
	struct config c;
	size_t i;

	issue("n1", "n1", -1, 365);
	write_text("text.pem", "not PEM at all\n");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		peer_config(&c, "n1", "n1");
		field = cases[i].which == CONFIG_POS_TLS_CERT ? c.tls_cert
		    : cases[i].which == CONFIG_POS_TLS_KEY    ? c.tls_key
		    : cases[i].which == CONFIG_POS_TLS_CA     ? c.tls_ca
							      : c.tls_crl;
		path_of(field, RAFTCONF_MAX_PATH + 1, "text.pem");
		peer_refused_at(&c, cases[i].which, err);
		ck_assert_has(err, field);
		ck_assert_has(err, cases[i].says);
	}
}
END_TEST

/* ------------------------------------------------------------ credentials */

START_TEST(test_the_key_is_read_from_credentials_directory_when_it_holds_tls_key)
{
	char creds[512], from[512], to[600];
	struct config c;

	issue("n1", "n1", -1, 365);
	issue("other", "n1", -1, 365);
	path_of(creds, sizeof(creds), "creds");
	ck_assert_int_eq(mkdir(creds, 0700), 0);
	path_of(from, sizeof(from), "n1.key");
	snprintf(to, sizeof(to), "%s/tls.key", creds);
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", creds, 1), 0);

	/* The configured path does not exist: the credential is read. */
	peer_config(&c, "n1", "n1");
	peer_accepted(&c);

	/* The configured path holds another key: the credential still wins. */
	path_of(c.tls_key, sizeof(c.tls_key), "other.key");
	peer_accepted(&c);
}
END_TEST

START_TEST(test_the_key_is_read_from_the_configured_path_when_credentials_lack_tls_key)
{
	char creds[512], err[TLS_ERR_SIZE];
	struct config c;

	issue("n1", "n1", -1, 365);
	issue("other", "n1", -1, 365);
	path_of(creds, sizeof(creds), "empty-creds");
	ck_assert_int_eq(mkdir(creds, 0700), 0);
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", creds, 1), 0);

	peer_config(&c, "n1", "n1");
	peer_accepted(&c);
	path_of(c.tls_key, sizeof(c.tls_key), "other.key");
	peer_refused_at(&c, CONFIG_POS_TLS_KEY, err);
	ck_assert_has(err, c.tls_key);
}
END_TEST

/* ------------------------------------------------------------ https */

START_TEST(test_https_takes_a_matching_certificate_and_key)
{
	char err[TLS_ERR_SIZE] = "";
	struct config c;
	SSL_CTX *ctx = NULL;

	issue("web", "web.example", -1, 365);
	http_config(&c, "web");
	ck_assert_msg(tls_http_ctx_new(&c, CONF, &ctx, err, sizeof(err)) == 0, "refused: %s", err);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);
}
END_TEST

START_TEST(test_https_refuses_an_expired_certificate_and_a_key_that_does_not_go_with_it)
{
	char err[TLS_ERR_SIZE];
	struct config c;

	issue("web", "web.example", -30, -1);
	http_config(&c, "web");
	refused_at(tls_http_ctx_new, &c, CONFIG_POS_HTTP_CERT, err);
	ck_assert_has(err, c.http_cert);
	ck_assert_has(err, "expired");

	issue("web", "web.example", -1, 365);
	issue("other", "web.example", -1, 365);
	path_of(c.http_key, sizeof(c.http_key), "other.key");
	refused_at(tls_http_ctx_new, &c, CONFIG_POS_HTTP_KEY, err);
	ck_assert_has(err, "does not go with");
}
END_TEST

/* ------------------------------------------------------------ handshake */

/* A client and a server SSL over the two halves of a BIO pair. */
static void
connect_pair(SSL_CTX *client_ctx, SSL_CTX *server_ctx, SSL **client, SSL **server)
{
	BIO *cb, *sb;

	ck_assert_int_eq(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	*client = SSL_new(client_ctx);
	*server = SSL_new(server_ctx);
	ck_assert(*client && *server);
	SSL_set_bio(*client, cb, cb); /* one reference each, given away */
	SSL_set_bio(*server, sb, sb);
	SSL_set_connect_state(*client);
	SSL_set_accept_state(*server);
}

/* 1 done, 0 wants the other side, -1 failed. */
static int
step(SSL *ssl)
{
	int r = SSL_do_handshake(ssl), e;

	if (r == 1)
		return 1;
	e = SSL_get_error(ssl, r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* Both sides stepped in turn until each has finished or failed. */
static void
handshake(SSL *client, SSL *server, int *client_r, int *server_r)
{
	int i;

	*client_r = *server_r = 0;
	for (i = 0; i < 64 && (*client_r == 0 || *server_r == 0); i++) {
		if (*client_r == 0)
			*client_r = step(client);
		if (*server_r == 0)
			*server_r = step(server);
	}
}

static SSL_CTX *
peer_ctx(const char *node_id, const char *ca_file)
{
	char err[TLS_ERR_SIZE] = "";
	struct config c;
	SSL_CTX *ctx = NULL;

	peer_config(&c, node_id, node_id);
	path_of(c.tls_ca, sizeof(c.tls_ca), ca_file);
	ck_assert_msg(tls_peer_ctx_new(&c, CONF, &ctx, err, sizeof(err)) == 0, "refused: %s", err);
	return ctx;
}

START_TEST(test_after_a_handshake_each_peer_reads_the_other_node_id)
{
	SSL_CTX *n1_ctx, *n2_ctx;
	SSL *client, *server;
	char id[RAFTCONF_MAX_ID + 1];
	int cr, sr;

	issue("n1", "n1", -1, 365);
	issue("n2", "n2", -1, 365);
	n1_ctx = peer_ctx("n1", "ca.pem");
	n2_ctx = peer_ctx("n2", "ca.pem");
	connect_pair(n2_ctx, n1_ctx, &client, &server);
	ck_assert_int_eq(tls_peer_id(server, id, sizeof(id)), -ENOENT); /* not yet */
	handshake(client, server, &cr, &sr);
	ck_assert_int_eq(cr, 1);
	ck_assert_int_eq(sr, 1);
	ck_assert_int_eq(SSL_version(server), TLS1_3_VERSION);

	ck_assert_int_eq(tls_peer_id(server, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "n2");
	ck_assert_int_eq(tls_peer_id(client, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "n1");

	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(n1_ctx);
	SSL_CTX_free(n2_ctx);
}
END_TEST

START_TEST(test_a_client_with_a_certificate_from_another_ca_fails_on_the_server_side)
{
	SSL_CTX *n1_ctx, *n2_ctx;
	SSL *client, *server;
	char id[RAFTCONF_MAX_ID + 1];
	int cr, sr;
	long v;

	issue("n1", "n1", -1, 365);
	issue_by_another_ca("n2", "n2", "ca2.pem");
	/* n2 trusts both CAs, so that it accepts n1 and its own certificate;
	 * n1 trusts only the suite's CA. */
	n1_ctx = peer_ctx("n1", "ca.pem");
	n2_ctx = peer_ctx("n2", "both-cas.pem");
	connect_pair(n2_ctx, n1_ctx, &client, &server);
	handshake(client, server, &cr, &sr);
	ck_assert_int_eq(sr, -1);
	/* n2 sends its CA along (OpenSSL builds the chain from its store):
	 * either way, n1 finds no issuer it trusts. */
	v = SSL_get_verify_result(server);
	ck_assert_msg(v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
		v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "verify result %ld: %s", v, X509_verify_cert_error_string(v));
	ck_assert_int_eq(SSL_get_verify_result(client), X509_V_OK); /* n2 accepted n1 */
	ck_assert_int_eq(tls_peer_id(server, id, sizeof(id)), -ENOENT);

	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(n1_ctx);
	SSL_CTX_free(n2_ctx);
}
END_TEST

static int
let_anything_through(int ok, X509_STORE_CTX *sc)
{
	return 1;
}

START_TEST(test_a_certificate_that_did_not_verify_gives_no_id_even_if_let_through)
{
	SSL_CTX *n1_ctx, *n2_ctx;
	SSL *client, *server;
	char id[RAFTCONF_MAX_ID + 1];
	int cr, sr;

	issue("n1", "n1", -1, 365);
	issue_by_another_ca("n2", "n2", "ca2.pem");
	n1_ctx = peer_ctx("n1", "ca.pem");
	n2_ctx = peer_ctx("n2", "both-cas.pem");
	connect_pair(n2_ctx, n1_ctx, &client, &server);
	/* As a careless verify callback would: the handshake succeeds. */
	SSL_set_verify(
	    server, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, let_anything_through);
	handshake(client, server, &cr, &sr);
	ck_assert_int_eq(cr, 1);
	ck_assert_int_eq(sr, 1);
	ck_assert_ptr_nonnull(SSL_get0_peer_certificate(server));
	ck_assert_int_ne(SSL_get_verify_result(server), X509_V_OK);
	ck_assert_int_eq(tls_peer_id(server, id, sizeof(id)), -ENOENT);

	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(n1_ctx);
	SSL_CTX_free(n2_ctx);
}
END_TEST

START_TEST(test_a_common_name_that_is_not_a_node_id_gives_no_id)
{
	SSL_CTX *n1_ctx, *odd_ctx;
	SSL *client, *server;
	char id[RAFTCONF_MAX_ID + 1];
	int cr, sr;

	/* tls_peer_ctx_new compares the name with node.id but leaves judging
	 * node.id to config.c: a hand-made config can hold any name. */
	issue("n1", "n1", -1, 365);
	issue("n.2", "n.2", -1, 365);
	n1_ctx = peer_ctx("n1", "ca.pem");
	odd_ctx = peer_ctx("n.2", "ca.pem");
	connect_pair(odd_ctx, n1_ctx, &client, &server);
	handshake(client, server, &cr, &sr);
	ck_assert_int_eq(cr, 1);
	ck_assert_int_eq(sr, 1);
	ck_assert_int_eq(tls_peer_id(server, id, sizeof(id)), -EINVAL);
	ck_assert_int_eq(tls_peer_id(client, id, sizeof(id)), 0);
	ck_assert_str_eq(id, "n1");

	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(n1_ctx);
	SSL_CTX_free(odd_ctx);
}
END_TEST

/* A test case with the suite's directory and CA, and a clean environment. */
static TCase *
tcase_with_fixtures(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc;

	tc = tcase_with_fixtures(s, "peer context");
	tcase_add_test(tc, test_a_node_certificate_the_ca_signed_for_this_node_id_gives_a_context);
	tcase_add_test(tc, test_a_certificate_for_another_node_id_is_refused_naming_both_ids);
	tcase_add_test(tc, test_a_key_that_does_not_go_with_the_certificate_is_refused_at_tls_key);
	tcase_add_test(tc, test_a_certificate_from_another_ca_is_refused_as_peers_would_refuse_it);
	tcase_add_test(tc, test_a_self_signed_certificate_is_refused_as_peers_would_refuse_it);
	tcase_add_test(tc, test_an_expired_certificate_is_refused);
	tcase_add_test(tc, test_a_certificate_the_crl_revokes_is_refused);
	tcase_add_test(tc, test_a_certificate_the_crl_does_not_revoke_is_accepted);
	tcase_add_test(
	    tc, test_a_certificate_only_for_servers_is_refused_as_peers_dial_with_it_too);
	tcase_add_test(tc, test_a_common_name_longer_than_an_id_is_named_not_called_missing);
	tcase_add_test(tc, test_a_missing_file_is_refused_with_its_path_and_yaml_key);
	tcase_add_test(tc, test_a_file_without_pem_is_refused_with_its_path_and_yaml_key);

	tc = tcase_with_fixtures(s, "report");
	tcase_add_test(tc, test_the_report_gives_each_certificate_its_common_name_and_days_left);
	tcase_add_test(tc, test_the_report_warns_when_a_certificate_has_fewer_than_30_days_left);
	tcase_add_test(tc, test_the_report_says_when_a_certificate_expired);

	tc = tcase_with_fixtures(s, "credentials");
	tcase_add_test(tc, test_the_key_is_read_from_credentials_directory_when_it_holds_tls_key);
	tcase_add_test(
	    tc, test_the_key_is_read_from_the_configured_path_when_credentials_lack_tls_key);

	tc = tcase_with_fixtures(s, "https");
	tcase_add_test(tc, test_https_takes_a_matching_certificate_and_key);
	tcase_add_test(tc, test_https_refuses_a_certificate_not_valid_yet);
	tcase_add_test(
	    tc, test_https_refuses_an_expired_certificate_and_a_key_that_does_not_go_with_it);

	tc = tcase_with_fixtures(s, "handshake");
	tcase_add_test(tc, test_after_a_handshake_each_peer_reads_the_other_node_id);
	tcase_add_test(
	    tc, test_a_client_with_a_certificate_from_another_ca_fails_on_the_server_side);
	tcase_add_test(tc, test_a_certificate_that_did_not_verify_gives_no_id_even_if_let_through);
	tcase_add_test(tc, test_a_common_name_that_is_not_a_node_id_gives_no_id);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tls_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
