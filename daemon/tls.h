/*
 * tls.h — the TLS contexts of raftconfd, on OpenSSL 3 (crypto is never
 * written here): mutual TLS 1.3 between peers, and HTTPS.
 *
 * Peers (config tls.*): both ends present a certificate that tls.ca
 * signed; a certificate the CRL revokes, an expired one or one from
 * another CA fails the handshake.  The certificate's Common Name is the
 * node's id: this node's own must be node.id, and must serve both as a
 * client's and a server's certificate; peer.c holds a peer to the id its
 * certificate names (tls_peer_id).  The CRL is checked for the peer's own
 * certificate, not for the intermediate CAs above it.  Only TLS 1.3, no session
 * resumption (every connection is verified against the CA and CRL loaded
 * now), small buffers released when idle.
 *
 * HTTPS (config http.cert, http.key): TLS 1.2 or 1.3, no client
 * certificate; clients authenticate with tokens (tokens.h).
 *
 * Files are read whole and judged before anything is kept: a cert and key
 * that do not match, a node certificate the CA did not sign, or one for
 * another id is refused with a message naming the file and the YAML key
 * that names it, "FILE:LINE:COL: tls.cert: ...", as config.h words its
 * errors.  The private keys may come from systemd's LoadCredential=: when
 * $CREDENTIALS_DIRECTORY holds "tls.key" (or "http.key"), that copy is
 * read instead of the configured path.
 *
 * Blocking: every function here reads files; call them at start-up or on
 * SIGHUP.  A context is reference-counted by OpenSSL: connections made
 * with one keep it after the caller frees its own reference, which is how
 * a reload changes only new connections.
 */
#ifndef RAFTCONF_TLS_H
#define RAFTCONF_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

/* Big enough for any message of this module. */
#define TLS_ERR_SIZE (RAFTCONF_MAX_PATH + 1024)
/* --check and the start-up log warn when a certificate has fewer days left. */
#define TLS_WARN_DAYS 30

/*
 * The peers' context from cfg's tls section (cfg->tls_ca[0] != '\0'), for
 * both directions.  name: the configuration file, for messages.  0, or
 * -errno / -EINVAL with err filled.
 */
int tls_peer_ctx_new(
    const struct config *cfg, const char *name, SSL_CTX **out, char *err, size_t errlen);

/* The HTTPS context from http.cert and http.key.  Same returns. */
int tls_http_ctx_new(
    const struct config *cfg, const char *name, SSL_CTX **out, char *err, size_t errlen);

/*
 * The node id a verified peer's certificate names (its Common Name), into
 * id.  0, or -ENOENT (no certificate, or it was not verified), -EINVAL
 * (no Common Name, or not a valid node id).
 */
int tls_peer_id(SSL *ssl, char *id, size_t idlen);

/*
 * For --check and the start-up log: one line per certificate of cfg
 * (tls.cert, tls.ca, http.cert) naming its subject and days left, passed
 * to out.  Returns how many have fewer than TLS_WARN_DAYS left.
 */
int tls_report(const struct config *cfg, const char *name,
    void (*out)(void *arg, bool warn, const char *line), void *arg);

/* The last OpenSSL error queued on this thread, as text ("" when none);
 * the queue is emptied. */
const char *tls_last_error(char *buf, size_t len);

#endif
