/*
 * fakepeer.c — a fake raftconfd peer for the tests (contract in fakepeer.h).
 *
 * Not here: what to send (the caller, e.g. tests/fakepeer-cli.c), and any
 * rule of the daemon: this side encodes whatever it is asked to, checked
 * only as far as the encoders insist.
 */
#include "fakepeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "raftmsg.h"

struct fakepeer {
	const struct fp_transport *t;
	void *ctx;
	uint8_t *in; /* bytes received, not yet a whole frame */
	size_t have;
	size_t frame; /* bytes of the frame handed out last */
	struct proto_buf out;
	struct raftmsg_scratch scratch;
};

/* ------------------------------------------------------------ plain TCP */

static void *
tcp_open(const struct fp_transport *t, const char *address, char *err, size_t errlen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const char *colon = strrchr(address, ':');
	char host[64];
	int *fd, one = 1;

	(void)t;
	if (colon == NULL || (size_t)(colon - address) >= sizeof(host)) {
		snprintf(err, errlen, "%s: not HOST:PORT", address);
		return NULL;
	}
	memcpy(host, address, colon - address);
	host[colon - address] = '\0';
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		snprintf(err, errlen, "%s: not an IPv4 address", host);
		return NULL;
	}
	if ((fd = malloc(sizeof(*fd))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0 || connect(*fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		snprintf(err, errlen, "connect %s: %s", address, strerror(errno));
		if (*fd >= 0)
			close(*fd);
		free(fd);
		return NULL;
	}
	setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
tcp_send(void *ctx, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(*(int *)ctx, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t
tcp_recv(void *ctx, void *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = { *(int *)ctx, POLLIN, 0 };
	ssize_t n;
	int rc;

	while ((rc = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	while ((n = read(*(int *)ctx, buf, len)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return errno == ECONNRESET ? 0 : -errno; /* a reset is a close too */
	return n;
}

static void
tcp_close(void *ctx)
{
	close(*(int *)ctx);
	free(ctx);
}

static int
tcp_local(void *ctx, char *buf, size_t len)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char host[INET_ADDRSTRLEN];

	if (getsockname(*(int *)ctx, (struct sockaddr *)&sin, &sl) < 0 ||
	    inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host)) == NULL)
		return -errno;
	snprintf(buf, len, "%s:%u", host, ntohs(sin.sin_port));
	return 0;
}

const struct fp_transport fp_tcp = { "tcp", tcp_open, tcp_send, tcp_recv, tcp_close, tcp_local,
	NULL };

/* ------------------------------------------------------------ TLS */

struct tls_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static void
tls_free(struct tls_conn *tc)
{
	if (tc->ssl)
		SSL_free(tc->ssl);
	SSL_CTX_free(tc->ctx);
	if (tc->fd >= 0)
		close(tc->fd);
	free(tc);
}

/* The OpenSSL error queue as one line, emptied. */
static void
ssl_errors(char *buf, size_t len)
{
	unsigned long e;
	size_t n = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0 && n + 2 < len) {
		if (n)
			buf[n++] = ';';
		ERR_error_string_n(e, buf + n, len - n);
		n += strlen(buf + n);
	}
}

static void *
tls_open(const struct fp_transport *t, const char *address, char *err, size_t errlen)
{
	const struct fp_tls_opts *o = t->opts;
	struct tls_conn *tc = calloc(1, sizeof(*tc));
	char why[512];
	int *fd;

	if (tc == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	tc->fd = -1;
	if ((fd = tcp_open(t, address, err, errlen)) == NULL) {
		free(tc);
		return NULL;
	}
	tc->fd = *fd;
	free(fd);
	tc->ctx = SSL_CTX_new(TLS_client_method());
	if (tc->ctx == NULL ||
	    (o->cert && SSL_CTX_use_certificate_chain_file(tc->ctx, o->cert) != 1) ||
	    (o->key && SSL_CTX_use_PrivateKey_file(tc->ctx, o->key, SSL_FILETYPE_PEM) != 1) ||
	    (o->ca && SSL_CTX_load_verify_locations(tc->ctx, o->ca, NULL) != 1)) {
		ssl_errors(why, sizeof(why));
		snprintf(err, errlen, "TLS setup: %s", why);
		tls_free(tc);
		return NULL;
	}
	/* It checks nothing of the node: a hostile peer does not care. */
	SSL_CTX_set_verify(tc->ctx, SSL_VERIFY_NONE, NULL);
	if ((tc->ssl = SSL_new(tc->ctx)) == NULL || SSL_set_fd(tc->ssl, tc->fd) != 1) {
		snprintf(err, errlen, "TLS setup: out of memory");
		tls_free(tc);
		return NULL;
	}
	if (SSL_connect(tc->ssl) != 1) {
		ssl_errors(why, sizeof(why));
		snprintf(err, errlen, "TLS handshake with %s: %s", address, why);
		tls_free(tc);
		return NULL;
	}
	{
		/* Which certificate the node presents: the tests of rotation look. */
		X509 *x = SSL_get1_peer_certificate(tc->ssl);
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		char cn[256] = "?";

		if (x) {
			X509_NAME_get_text_by_NID(
			    X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
			X509_digest(x, EVP_sha256(), md, &mdlen);
			X509_free(x);
		}
		fprintf(stderr, "tls: the node's certificate: \"%s\" sha256 ", cn);
		for (unsigned int k = 0; k < mdlen; k++)
			fprintf(stderr, "%02X", md[k]);
		fprintf(stderr, "\n");
	}
	return tc;
}

static int
tls_send(void *ctx, const void *buf, size_t len)
{
	struct tls_conn *tc = ctx;
	size_t done;

	if (len == 0)
		return 0;
	if (SSL_write_ex(tc->ssl, buf, len, &done) != 1) {
		ERR_clear_error();
		return -EPIPE;
	}
	return 0;
}

static ssize_t
tls_recv(void *ctx, void *buf, size_t len, int timeout_ms)
{
	struct tls_conn *tc = ctx;
	struct pollfd pfd = { tc->fd, POLLIN, 0 };
	size_t n;
	int rc;

	for (;;) {
		if (SSL_pending(tc->ssl) == 0) {
			while ((rc = poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
				;
			if (rc < 0)
				return -errno;
			if (rc == 0)
				return -ETIMEDOUT;
		}
		if (SSL_read_ex(tc->ssl, buf, len, &n) == 1)
			return (ssize_t)n;
		rc = SSL_get_error(tc->ssl, 0);
		ERR_clear_error();
		if (rc == SSL_ERROR_WANT_READ)
			continue; /* a record that carried no data (a ticket) */
		/* the node closed, cleanly or not, or refused our certificate */
		return 0;
	}
}

static void
tls_close(void *ctx)
{
	tls_free(ctx);
}

static int
tls_local(void *ctx, char *buf, size_t len)
{
	struct tls_conn *tc = ctx;

	return tcp_local(&tc->fd, buf, len);
}

void
fp_tls(struct fp_transport *t, struct fp_tls_opts *o)
{
	/* OpenSSL writes with write(2): its alert after a node's close (an
	 * unexpected EOF is fatal, and fatal errors are told to the other
	 * side) would end the process with SIGPIPE before it says "closed".
	 * The TCP transport sends with MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);
	*t = (struct fp_transport){ "tls", tls_open, tls_send, tls_recv, tls_close, tls_local, o };
}

/* ------------------------------------------------------------ the peer */

uint64_t
fp_node_id(const char *name)
{
	/* FNV-1a, as daemon/roster.c's node_id_of: the ids the cores use */
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

int
fp_connect(const struct fp_transport *t, const char *address, struct fakepeer **out, char *err,
    size_t errlen)
{
	struct fakepeer *fp = calloc(1, sizeof(*fp));

	if (fp == NULL || (fp->in = malloc(RAFTCONF_MAX_FRAME)) == NULL) {
		free(fp);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fp->t = t;
	if ((fp->ctx = t->open(t, address, err, errlen)) == NULL) {
		free(fp->in);
		free(fp);
		return -ECONNREFUSED;
	}
	proto_buf_init(&fp->out);
	*out = fp;
	return 0;
}

int
fp_local(struct fakepeer *fp, char *buf, size_t len)
{
	return fp->t->local ? fp->t->local(fp->ctx, buf, len) : -ENOTSUP;
}

void
fp_close(struct fakepeer *fp)
{
	if (fp == NULL)
		return;
	fp->t->close(fp->ctx);
	proto_buf_free(&fp->out);
	raftmsg_scratch_free(&fp->scratch);
	free(fp->in);
	free(fp);
}

static int
flush(struct fakepeer *fp)
{
	int rc = fp->t->send(fp->ctx, fp->out.data, fp->out.len);

	proto_buf_reset(&fp->out);
	return rc;
}

int
fp_send(struct fakepeer *fp, const struct proto_msg *m)
{
	int rc;

	proto_buf_reset(&fp->out);
	if ((rc = proto_encode(&fp->out, m, NULL, 0)) < 0)
		return rc;
	return flush(fp);
}

int
fp_hello(struct fakepeer *fp, const char *cluster, const char *id)
{
	struct proto_msg m = { .type = PROTO_T_HELLO };

	m.hello.version = PROTO_VERSION;
	m.hello.cluster = proto_cstr(cluster);
	m.hello.node_id = proto_cstr(id);
	m.hello.address = proto_cstr("127.0.0.1:1");
	return fp_send(fp, &m);
}

int
fp_send_raft(struct fakepeer *fp, const struct raft_msg *m)
{
	int rc;

	proto_buf_reset(&fp->out);
	if ((rc = raftmsg_encode(&fp->out, m)) < 0)
		return rc;
	return flush(fp);
}

int
fp_recv(struct fakepeer *fp, struct proto_msg *m, struct raft_msg *rm, int timeout_ms)
{
	size_t flen;
	char err[256];

	if (fp->frame) { /* the last frame handed out is done with */
		memmove(fp->in, fp->in + fp->frame, fp->have - fp->frame);
		fp->have -= fp->frame;
		fp->frame = 0;
	}
	if (rm)
		memset(rm, 0, sizeof(*rm));
	for (;;) {
		int rc = proto_frame_check(fp->in, fp->have, &flen);
		ssize_t n;

		if (rc == 0)
			break;
		if (rc != -EAGAIN)
			return -EPROTO;
		n = fp->t->recv(
		    fp->ctx, fp->in + fp->have, RAFTCONF_MAX_FRAME - fp->have, timeout_ms);
		if (n <= 0)
			return (int)n;
		fp->have += (size_t)n;
	}
	fp->frame = flen;
	if (proto_decode(fp->in, flen, m, err, sizeof(err)) < 0)
		return -EPROTO;
	if (rm && m->type == PROTO_T_RAFT &&
	    raftmsg_decode(
		m->raft.payload.ptr, m->raft.payload.len, rm, &fp->scratch, err, sizeof(err)) < 0)
		return -EPROTO;
	return 1;
}

static const char *
raft_type(uint8_t type)
{
	static const char *const names[] = {
		[RAFT_MSG_APPEND] = "append",
		[RAFT_MSG_APPEND_RESP] = "append-resp",
		[RAFT_MSG_HEARTBEAT] = "heartbeat",
		[RAFT_MSG_HEARTBEAT_RESP] = "heartbeat-resp",
		[RAFT_MSG_PREVOTE] = "prevote",
		[RAFT_MSG_PREVOTE_RESP] = "prevote-resp",
		[RAFT_MSG_VOTE] = "vote",
		[RAFT_MSG_VOTE_RESP] = "vote-resp",
		[RAFT_MSG_SNAPSHOT] = "snapshot",
		[RAFT_MSG_SNAPSHOT_RESP] = "snapshot-resp",
		[RAFT_MSG_TIMEOUT_NOW] = "timeout-now",
		[RAFT_MSG_READ_INDEX] = "read-index",
		[RAFT_MSG_READ_INDEX_RESP] = "read-index-resp",
	};

	return type >= 1 && type <= RAFT_MSG_TYPE_MAX ? names[type] : "?";
}

void
fp_describe(const struct proto_msg *m, const struct raft_msg *rm, char *buf, size_t len)
{
	switch (m->type) {
	case PROTO_T_REJECT:
		snprintf(
		    buf, len, "REJECT: %.*s", (int)m->reject.message.len, m->reject.message.ptr);
		break;
	case PROTO_T_HELLO:
		snprintf(buf, len, "HELLO %.*s %.*s", (int)m->hello.cluster.len,
		    m->hello.cluster.ptr, (int)m->hello.node_id.len, m->hello.node_id.ptr);
		break;
	case PROTO_T_ERROR:
		snprintf(buf, len, "ERROR %s: %.*s", proto_error_name(m->error.code),
		    (int)m->error.message.len, m->error.message.ptr);
		break;
	case PROTO_T_RAFT:
		if (rm && rm->type)
			snprintf(buf, len,
			    "RAFT %s term %" PRIu64 "%s index %" PRIu64 " hint %" PRIu64
			    "/%" PRIu64,
			    raft_type(rm->type), rm->term, rm->reject ? " reject" : "", rm->index,
			    rm->hint_index, rm->hint_term);
		else
			snprintf(buf, len, "RAFT");
		break;
	default:
		snprintf(buf, len, "%s", proto_type_name(m->type));
		break;
	}
}
