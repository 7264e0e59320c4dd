/*
 * peer_tls.c — the TLS layer of a peer connection (peer.h, "mutual TLS"):
 * making a connection's TLS bufferevent, telling why a handshake failed,
 * and holding a peer to the id its certificate names.  The contexts and
 * the certificate checks are tls.c's; everything else about connections
 * is peer.c's.
 */
#include "peer_conn.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

/* c's bufferevent on fd (-1: to be connected): mutual TLS when the node has it. */
struct bufferevent *
peer_conn_bev_new(struct conn *c, evutil_socket_t fd)
{
	struct peer_net *pn = c->pn;
	struct bufferevent *bev;
	SSL *ssl;

	c->tls = pn->tls != NULL;
	c->cert_id[0] = '\0';
	if (!c->tls)
		return bufferevent_socket_new(pn->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(pn->tls)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(pn->base, fd, ssl,
	    c->outbound ? BUFFEREVENT_SSL_CONNECTING : BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL) /* a peer that closes without close_notify has just closed */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/*
 * Why the TLS layer of c failed, into buf ("" when it did not): OpenSSL's
 * reason, and for a certificate that did not verify, why not.
 */
const char *
peer_tls_failure(struct conn *c, char *buf, size_t len)
{
	unsigned long e, last = 0;
	SSL *ssl;
	long vr;
	char *p;

	buf[0] = '\0';
	if (!c->tls || c->bev == NULL)
		return buf;
	while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
		if (last == 0)
			last = e; /* taken from the top: the first is the outermost */
	if (last == 0)
		return buf;
	ERR_error_string_n(last, buf, len);
	if ((p = strrchr(buf, ':')) != NULL && p[1] != '\0')
		memmove(buf, p + 1, strlen(p + 1) + 1);
	ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		size_t n = strlen(buf);

		snprintf(
		    buf + n, len - n, " (its certificate: %s)", X509_verify_cert_error_string(vr));
	} else if (ERR_GET_REASON(last) == SSL_R_WRONG_VERSION_NUMBER ||
	    ERR_GET_REASON(last) == SSL_R_PACKET_LENGTH_TOO_LONG ||
	    ERR_GET_REASON(last) == SSL_R_HTTP_REQUEST) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n,
		    " (not TLS: this node's peers must use TLS, "
		    "the tls section of raftconfd.yaml)");
	}
	return buf;
}

/*
 * The TLS handshake of c is done: whom its certificate names.  An outbound
 * link must reach the id it dialled; an inbound connection and a one-off
 * dial learn the id here and must say the same in HELLO (handle_hello).
 * false, with why filled, when c must be closed.
 */
bool
peer_tls_identify(struct conn *c, char *why, size_t len)
{
	int rc;

	rc = tls_peer_id(bufferevent_openssl_get_ssl(c->bev), c->cert_id, sizeof(c->cert_id));
	if (rc < 0)
		snprintf(why, len, "%s",
		    rc == -ENOENT ? "no verified certificate"
				  : "its certificate's Common Name is not a node id");
	else if (c->outbound && !c->once && strcmp(c->cert_id, c->peer_id) != 0)
		snprintf(why, len, "node \"%s\" expected at %s, its certificate is for \"%s\"",
		    c->peer_id, c->address, c->cert_id);
	else
		return true;
	return false;
}

/*
 * Encrypt and write what c's TLS bufferevent holds, now, as peer_flush
 * writes a plain connection's batch at once.  libevent 2.1's socket-mode
 * TLS bufferevent does not write when output is added: its output
 * callback only arms EPOLLOUT, and SSL_write runs from the write event
 * (libevent da529335).  Each batch then cost two epoll_ctl and a loop
 * turn before it left, and a leader's AppendEntries left after its own
 * WAL job had started.  Here the write event's own callback runs, as when
 * the socket turns writable: every SSL_write it can do, and what the
 * socket refuses stays armed for the event; the arming and disarming of
 * one turn cancel out in libevent's changelist.  The callbacks it may run
 * (an error, or a read a write was waiting for) are deferred by peer.c
 * while pn->flushing.  The event is reached through bufferevent_struct.h,
 * libevent's public (if discouraged) view of struct bufferevent.
 */
void
peer_tls_write_now(struct conn *c)
{
	struct event *ev = &c->bev->ev_write;
	event_callback_fn fn = event_get_callback(ev);

	if (fn == NULL)
		return;
	c->pn->flushing = true;
	fn(event_get_fd(ev), EV_WRITE, event_get_callback_arg(ev));
	c->pn->flushing = false;
}

/*
 * Encrypt and write buf's chains straight through c's TLS session, while
 * the socket takes them (c's bufferevent holds nothing yet: conn_flush).
 * Going through the bufferevent costs an epoll_ctl to arm its write event
 * and another to disarm it for every batch, and the batch a loop turn.
 * What the socket does not take stays in buf for the bufferevent: a
 * refused SSL_write is repeated there with the same bytes (libevent sets
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), and an error is its to report.
 */
void
peer_tls_write_direct(struct conn *c, struct evbuffer *buf)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	struct evbuffer_iovec v;
	int r;

	while (evbuffer_peek(buf, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		ERR_clear_error();
		r = SSL_write(ssl, v.iov_base, v.iov_len > INT_MAX ? INT_MAX : (int)v.iov_len);
		if (r <= 0) {
			ERR_clear_error();
			return;
		}
		evbuffer_drain(buf, (size_t)r);
	}
}
