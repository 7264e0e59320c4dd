/*
 * peer.c — libevent TCP links between daemons (contract in peer.h).
 *
 * The bounds of the peer port live here too: how many connections, how
 * long one may stay silent, how many bytes of unfinished frames all of
 * them may make us hold, and how many log lines what they send may cost.
 *
 * Not here: what the frames mean (node.c), the byte layout (proto.c).
 */
#include "peer.h"
#include "peer_conn.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "addr.h"
#include "errbuf.h"
#include "evframe.h"
#include "listener.h"
#include "log.h"
#include "ratelimit.h"
#include "tls.h"

/*
 * Before the handshake a connection may only send HELLO (or, to a dialler,
 * REJECT): a frame announced longer than this closes it, and it is all
 * that is read ahead for one.
 */
#define HANDSHAKE_FRAME 1024
_Static_assert(PROTO_HEADER_SIZE + 2 + 2 + RAFTCONF_MAX_CLUSTER_NAME + 2 + RAFTCONF_MAX_ID + 2 +
	    RAFTCONF_MAX_ADDRESS + 2 + RAFTCONF_MAX_AUTH <=
	HANDSHAKE_FRAME,
    "the longest HELLO fits HANDSHAKE_FRAME");
_Static_assert(PROTO_HEADER_SIZE + 2 + RAFTCONF_MAX_ERROR <= HANDSHAKE_FRAME,
    "the longest REJECT fits HANDSHAKE_FRAME");
/* After it, what a connection reads ahead without asking the budget. */
#define READAHEAD (16 * 1024)
/*
 * At the cap of handshakes a new connection closes the oldest one if that
 * one has had this long to say HELLO (a member needs a round trip), and is
 * itself closed if not: a burst of connections cannot close each other
 * before any could speak, and a flood must keep up its rate to keep
 * anyone out.
 */
#define HANDSHAKE_GRACE_MS 1000
/* A TLS link's batch is copied into one buffer up to this many bytes. */
#define TLS_BATCH (64 * 1024)

static void conn_dial(struct conn *c);
static void flush_cb(evutil_socket_t fd, short what, void *arg);
static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static unsigned
jitter(struct peer_net *pn, unsigned ms)
{
	/* xorshift64: reconnect jitter only, nothing that needs quality. */
	pn->rng ^= pn->rng << 13;
	pn->rng ^= pn->rng >> 7;
	pn->rng ^= pn->rng << 17;
	return ms / 2 + (unsigned)(pn->rng % (ms / 2 + 1));
}

static struct conn *
find_link(const struct peer_net *pn, const char *id)
{
	for (struct conn *c = pn->conns; c; c = c->next)
		if (c->outbound && !c->once && !c->dead && strcmp(c->peer_id, id) == 0)
			return c;
	return NULL;
}

/* An inbound connection from node id, handshake done. */
static struct conn *
find_inbound(const struct peer_net *pn, const char *id)
{
	for (struct conn *c = pn->conns; c; c = c->next)
		if (!c->outbound && !c->dead && c->state == C_UP && strcmp(c->peer_id, id) == 0)
			return c;
	return NULL;
}

static struct conn *
find_conn(const struct peer_net *pn, uint64_t id)
{
	for (struct conn *c = pn->conns; c; c = c->next)
		if (c->id == id && !c->dead)
			return c;
	return NULL;
}

static void
timer_after(struct event *ev, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------ log lines about input */

static void
summary_cb(void *arg, const char *key, uint64_t count)
{
	((struct peer_net *)arg)->held_back += count;
}

/*
 * Count what the windows that ended held back; with tell, say how much in
 * one line (the timer does, once a window at most).
 */
static void
rl_flush(struct peer_net *pn, uint64_t now, bool tell)
{
	struct timeval tv = { RATELIMIT_WINDOW_MS / 1000, RATELIMIT_WINDOW_MS % 1000 * 1000 };
	size_t holding = ratelimit_flush(&pn->rl, now, summary_cb, pn);

	if (tell && pn->held_back > 0) {
		log_notice("peer port: %" PRIu64 " more log lines about what peers sent were "
			   "suppressed (at most %d every %d s about one connection, %d about all)",
		    pn->held_back, RATELIMIT_BURST, RATELIMIT_WINDOW_MS / 1000, RATELIMIT_TOTAL);
		pn->held_back = 0;
	}
	if ((holding > 0 || pn->held_back > 0) && !evtimer_pending(pn->rl_timer, NULL))
		evtimer_add(pn->rl_timer, &tv);
}

static void
rl_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	rl_flush(arg, mono_ms(), true);
}

/*
 * May a line at prio about what c's peer did be written?  Every line that
 * a peer can cause by what it sends (or does not send) asks first.  The
 * source is the connection ("from ADDRESS:PORT", or the address a link
 * dials): RATELIMIT_BURST lines a window about one, RATELIMIT_TOTAL about
 * all, however many connections a flood opens.
 */
static bool
input_log_ok(struct conn *c, int prio)
{
	struct peer_net *pn = c->pn;
	bool ok;

	if (!log_enabled(prio))
		return false;
	ok = ratelimit_allow(&pn->rl, c->remote, mono_ms());
	rl_flush(pn, mono_ms(), false);
	return ok;
}

/* ------------------------------------------------------------- the caps */

static void
count_as(struct conn *c, enum conn_slot slot)
{
	struct peer_net *pn = c->pn;

	if (c->slot == S_HANDSHAKE) {
		TAILQ_REMOVE(&pn->handshakes, c, hs_q);
		pn->n_handshakes--;
	} else if (c->slot == S_STRANGER) {
		pn->n_strangers--;
	}
	c->slot = slot;
	if (slot == S_HANDSHAKE) {
		TAILQ_INSERT_TAIL(&pn->handshakes, c, hs_q);
		pn->n_handshakes++;
	} else if (slot == S_STRANGER) {
		pn->n_strangers++;
	}
}

/* -------------------------------------------------- the bytes of frames */

/* The length the frame at the front of c's input announces; 0 if unknown. */
static size_t
front_frame(const struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	uint8_t hdr[4];
	size_t flen = 0;

	if (evbuffer_get_length(in) < sizeof(hdr))
		return 0;
	evbuffer_copyout(in, hdr, sizeof(hdr));
	proto_frame_check(hdr, sizeof(hdr), &flen);
	return flen;
}

/*
 * Let c read what the frame at the front of its input needs: its
 * read-ahead, and the rest from the budget shared by all connections.
 * The read high watermark keeps it to that; when the budget cannot give
 * it, c stops reading and waits until another connection gives some back.
 * (Reading is disabled outright: libevent 2.1.11 and later call the read
 * callback again and again on a buffer that sits at its high watermark.)
 */
static void conn_budget(struct conn *c);

static void
wake_waiters(struct peer_net *pn)
{
	for (struct conn *w = pn->conns; w; w = w->next)
		if (w->waiting && !w->dead && w->bev)
			conn_budget(w);
}

static void
conn_budget(struct conn *c)
{
	struct peer_net *pn = c->pn;
	size_t ahead = c->state == C_UP ? READAHEAD : HANDSHAKE_FRAME;
	size_t flen = front_frame(c), need = flen > ahead ? flen - ahead : 0;
	size_t before = c->extra;

	if (need <= c->extra || pn->budget_used - c->extra + need <= pn->budget) {
		pn->budget_used = pn->budget_used - c->extra + need;
		c->extra = need;
		if (c->waiting) {
			if (input_log_ok(c, LOG_DEBUG))
				log_debug(
				    "peer %s (%s): %zu bytes for a frame of %zu; reading again",
				    ID(c), c->remote, need, flen);
			c->waiting = false;
			if (c->state == C_HELLO || c->state == C_UP)
				bufferevent_enable(c->bev, EV_READ);
		}
	} else if (!c->waiting) {
		c->waiting = true;
		bufferevent_disable(c->bev, EV_READ);
		if (input_log_ok(c, LOG_DEBUG))
			log_debug("peer %s (%s): a frame of %zu bytes waits for the budget "
				  "(%zu of %zu bytes in use)",
			    ID(c), c->remote, flen, pn->budget_used, pn->budget);
	}
	bufferevent_setwatermark(c->bev, EV_READ, 0, ahead + c->extra);
	if (c->extra < before)
		wake_waiters(pn);
}

/* c gives back what it held of the budget; connections waiting get it. */
static void
budget_release(struct conn *c)
{
	struct peer_net *pn = c->pn;

	c->waiting = false;
	if (c->extra == 0)
		return;
	pn->budget_used -= c->extra;
	c->extra = 0;
	wake_waiters(pn);
}

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_net *pn = arg;
	struct conn **pp = &pn->conns, *c;

	while ((c = *pp) != NULL) {
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		if (c->stage)
			evbuffer_free(c->stage);
		if (c->bev)
			bufferevent_free(c->bev);
		if (c->timer)
			event_free(c->timer);
		free(c->once_frame);
		free(c);
	}
}

/* Mark c for freeing once the current callback has returned. */
static void
conn_kill(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	count_as(c, S_NONE);
	budget_release(c);
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->timer)
		evtimer_del(c->timer);
	event_active(c->pn->reaper, EV_TIMEOUT, 0);
}

/* The connection broke or was refused: an outbound link retries later. */
static void
conn_lost(struct conn *c, bool reset)
{
	struct peer_net *pn = c->pn;
	bool was_up = c->state == C_UP;

	if (!c->outbound) {
		conn_kill(c);
		return;
	}
	if (c->once) {
		if (pn->cb.once_failed)
			pn->cb.once_failed(pn->arg, c->id,
			    was_up ? "the connection closed"
				   : "could not connect or complete the handshake");
		conn_kill(c);
		return;
	}
	budget_release(c);
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->stage)
		evbuffer_drain(c->stage, evbuffer_get_length(c->stage));
	c->state = C_IDLE;
	timer_after(c->timer, jitter(pn, c->backoff_ms));
	c->backoff_ms =
	    c->backoff_ms * 2 > PEER_BACKOFF_MAX_MS ? PEER_BACKOFF_MAX_MS : c->backoff_ms * 2;
	if (was_up && pn->cb.link)
		pn->cb.link(pn->arg, c->peer_id, false, reset);
}

static size_t
conn_queued(const struct conn *c)
{
	return (c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0) +
	    (c->stage ? evbuffer_get_length(c->stage) : 0);
}

static int
conn_write(struct conn *c, const void *frame, size_t len)
{
	struct evbuffer *out;

	if (c->bev == NULL)
		return -ENOTCONN;
	if (conn_queued(c) + len > c->pn->max_queue)
		return -ENOBUFS;
	if (c->state != C_UP) { /* handshakes: the bufferevent as it is */
		out = bufferevent_get_output(c->bev);
		return evbuffer_add(out, frame, len) == 0 ? 0 : -ENOMEM;
	}
	if (c->stage == NULL && (c->stage = evbuffer_new()) == NULL)
		return -ENOMEM;
	if (evbuffer_add(c->stage, frame, len) < 0)
		return -ENOMEM;
	c->last_out_ms = mono_ms();
	event_active(c->pn->flusher, EV_TIMEOUT, 0); /* once per turn however often */
	return 0;
}

/* The staged frames to the socket; what it does not take to the bufferevent. */
static void
conn_flush(struct conn *c)
{
	struct evbuffer *out;

	if (c->dead || c->bev == NULL || c->stage == NULL || evbuffer_get_length(c->stage) == 0)
		return;
	out = bufferevent_get_output(c->bev);
	/* Behind older bytes the order says wait; a failed write (a reset)
	 * is the bufferevent's to discover and report.  TLS bytes go through
	 * the session straight away too (peer_tls_write_direct), one
	 * SSL_write, so one record and one write(2), per buffer chain: the
	 * batch is made one chain first (up to TLS_BATCH bytes).  What the
	 * socket does not take is the bufferevent's to write (peer_flush). */
	if (!c->tls && evbuffer_get_length(out) == 0)
		evbuffer_write(c->stage, bufferevent_getfd(c->bev));
	else if (c->tls) { /* pullup does nothing when asked for more than there is */
		size_t n = evbuffer_get_length(c->stage);

		evbuffer_pullup(c->stage, (ev_ssize_t)(n < TLS_BATCH ? n : TLS_BATCH));
		if (evbuffer_get_length(out) == 0)
			peer_tls_write_direct(c, c->stage);
	}
	if (evbuffer_get_length(c->stage) > 0)
		evbuffer_add_buffer(out, c->stage);
}

static int
send_msg(struct conn *c, const struct proto_msg *m)
{
	struct peer_net *pn = c->pn;
	int rc;

	proto_buf_reset(&pn->out);
	if ((rc = proto_encode(&pn->out, m, NULL, 0)) < 0)
		return rc;
	return conn_write(c, pn->out.data, pn->out.len);
}

static void
send_hello(struct conn *c)
{
	struct peer_net *pn = c->pn;
	struct proto_msg m = { .type = PROTO_T_HELLO };

	m.hello.version = PROTO_VERSION;
	m.hello.cluster = proto_cstr(pn->cluster);
	m.hello.node_id = proto_cstr(pn->node_id);
	m.hello.address = proto_cstr(pn->address);
	send_msg(c, &m);
}

static void
reject_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_kill(c);
}

/* Tell the other side why, then close: inbound connections only. */
static void
reject(struct conn *c, const char *why)
{
	struct proto_msg m = { .type = PROTO_T_REJECT };

	conn_flush(c);	      /* what an up link staged goes first, */
	c->state = C_CLOSING; /* and the REJECT straight after it */
	m.reject.message = proto_mem(why, strnlen(why, RAFTCONF_MAX_ERROR));
	send_msg(c, &m);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, reject_cb, conn_event_cb, c);
	timer_after(c->timer, 1000);
}

/* The handshake is done: c is now watched for silence (timer_cb). */
static void
conn_up(struct conn *c)
{
	c->state = C_UP;
	c->last_in_ms = c->last_out_ms = mono_ms();
	evtimer_add(c->timer, c->pn->tick_tv);
	conn_budget(c);
}

static void
link_up(struct conn *c)
{
	struct peer_net *pn = c->pn;

	conn_up(c);
	c->was_up = true;
	c->backoff_ms = PEER_BACKOFF_MIN_MS;
	log_info_f(LOG_FIELDS(.peer = c->peer_id), "peer %s (%s): link up", c->peer_id, c->remote);
	if (pn->cb.link)
		pn->cb.link(pn->arg, c->peer_id, true, false);
}

/*
 * Inbound c has just said who it is: if RAFTCONF_MAX_CONNS_PER_ID
 * connections from that id are open already, the oldest goes (the newest
 * is the one most likely alive: a node that restarted dials again before
 * its old connection times out).
 */
static void
make_room_for(struct conn *c)
{
	struct conn *oldest = NULL;
	unsigned n = 0;

	for (struct conn *x = c->pn->conns; x; x = x->next) {
		if (x == c || x->outbound || x->dead ||
		    (x->slot != S_MEMBER && x->slot != S_STRANGER) ||
		    strcmp(x->peer_id, c->peer_id) != 0)
			continue;
		n++;
		if (oldest == NULL || x->id < oldest->id)
			oldest = x;
	}
	if (n < RAFTCONF_MAX_CONNS_PER_ID)
		return;
	if (input_log_ok(c, LOG_NOTICE))
		log_notice_f(LOG_FIELDS(.peer = c->peer_id),
		    "peer %s (%s): %u connections from it already; closing the oldest (%s)",
		    c->peer_id, c->remote, n, oldest->remote);
	conn_kill(oldest);
}

static void
handle_hello(struct conn *c, const struct proto_msg *m)
{
	struct peer_net *pn = c->pn;
	const struct proto_str *cl = &m->hello.cluster, *id = &m->hello.node_id;
	char why[RAFTCONF_MAX_ERROR];
	bool linked;

	if (m->hello.version != PROTO_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u expected, got %u", PROTO_VERSION,
		    m->hello.version);
		goto refuse;
	}
	if (cl->len != strlen(pn->cluster) || memcmp(cl->ptr, pn->cluster, cl->len) != 0) {
		snprintf(why, sizeof(why), "cluster name \"%s\" expected, got \"%.*s\"",
		    pn->cluster, (int)cl->len, cl->ptr);
		goto refuse;
	}
	if (c->tls &&
	    (id->len != strlen(c->cert_id) || memcmp(id->ptr, c->cert_id, id->len) != 0)) {
		snprintf(why, sizeof(why), "its certificate is for \"%s\", its HELLO says \"%.*s\"",
		    c->cert_id, (int)id->len, id->ptr);
		goto refuse;
	}
	if (c->outbound && c->once) {
		memcpy(c->peer_id, id->ptr, id->len);
		c->peer_id[id->len] = '\0';
		conn_up(c);
		conn_write(c, c->once_frame, c->once_len);
		free(c->once_frame);
		c->once_frame = NULL;
		return;
	}
	if (c->outbound) {
		if (id->len != strlen(c->peer_id) || memcmp(id->ptr, c->peer_id, id->len) != 0) {
			snprintf(why, sizeof(why), "node \"%s\" expected at %s, reached \"%.*s\"",
			    c->peer_id, c->address, (int)id->len, id->ptr);
			goto refuse;
		}
		link_up(c);
		return;
	}
	if (id->len == strlen(pn->node_id) && memcmp(id->ptr, pn->node_id, id->len) == 0) {
		snprintf(why, sizeof(why), "node id \"%s\" is this node's own", pn->node_id);
		goto refuse;
	}
	memcpy(c->peer_id, id->ptr, id->len);
	c->peer_id[id->len] = '\0';
	linked = find_link(pn, c->peer_id) != NULL ||
	    (pn->cb.member != NULL && pn->cb.member(pn->arg, c->peer_id));
	if (!linked && pn->n_strangers >= pn->max_strangers) {
		snprintf(why, sizeof(why),
		    "%u connections from nodes that are not members are open, the most taken",
		    pn->n_strangers);
		goto refuse;
	}
	make_room_for(c);
	count_as(c, linked ? S_MEMBER : S_STRANGER);
	conn_up(c);
	send_hello(c);
	if (input_log_ok(c, LOG_DEBUG))
		log_debug_f(LOG_FIELDS(.peer = c->peer_id), "peer %s (%s): accepted", c->peer_id,
		    c->remote);
	return;
refuse:
	if (input_log_ok(c, LOG_WARNING))
		log_warning("peer %s%s(%s): %s; closing", c->peer_id, *c->peer_id ? " " : "",
		    c->remote, why);
	if (c->outbound)
		conn_lost(c, false);
	else
		reject(c, why);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct peer_net *pn = c->pn;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct proto_msg m;
	const uint8_t *frame;
	char err[256];
	size_t len;
	int rc;

	if (pn->flushing) { /* from inside peer_flush: later, from the loop */
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	while (!c->dead && c->bev == bev && (c->state == C_HELLO || c->state == C_UP)) {
		rc = evframe_next(in, &frame, &len);
		if (rc == 0 && c->state == C_HELLO && len > HANDSHAKE_FRAME) {
			if (input_log_ok(c, LOG_WARNING))
				log_warning("peer %s (%s): a frame of %zu bytes before the "
					    "handshake; closing",
				    ID(c), c->remote, len);
			conn_lost(c, false);
			return;
		}
		if (rc == 0) {
			conn_budget(c);
			return;
		}
		if (rc < 0) {
			uint8_t first = 0;

			evbuffer_copyout(in, &first, 1);
			if (!input_log_ok(c, LOG_WARNING))
				;
			else if (c->state == C_HELLO && !c->tls && first == 0x16) /* TLS record */
				log_warning("peer %s (%s): it speaks TLS, but this node has no tls "
					    "section in raftconfd.yaml (every member needs one); "
					    "closing",
				    ID(c), c->remote);
			else
				log_warning(
				    "peer %s (%s): bad frame header (length %zu): %s; closing",
				    ID(c), c->remote, len, strerror(-rc));
			conn_lost(c, false);
			return;
		}
		rc = proto_decode(frame, len, &m, err, sizeof(err));
		if (rc < 0) {
			if (input_log_ok(c, LOG_WARNING))
				log_warning("peer %s (%s): undecodable %s frame: %s; closing",
				    ID(c), c->remote, proto_type_name(m.type), err);
			conn_lost(c, false);
			return;
		}
		c->last_in_ms = mono_ms();
		if (c->state == C_HELLO) {
			if (m.type == PROTO_T_REJECT && c->outbound) {
				char why[RAFTCONF_MAX_ERROR + 1];

				snprintf(why, sizeof(why), "%.*s", (int)m.reject.message.len,
				    m.reject.message.ptr);
				if (input_log_ok(c, LOG_WARNING))
					log_warning(
					    "peer %s (%s) refused us: %s", ID(c), c->remote, why);
				if (c->once && pn->cb.once_failed) {
					pn->cb.once_failed(pn->arg, c->id, why);
					conn_kill(c);
					return;
				}
				conn_lost(c, false);
				return;
			}
			if (m.type != PROTO_T_HELLO) {
				if (input_log_ok(c, LOG_WARNING))
					log_warning(
					    "peer %s (%s): %s before the handshake; closing", ID(c),
					    c->remote, proto_type_name(m.type));
				conn_lost(c, false);
				return;
			}
			handle_hello(c, &m);
		} else if (m.type == PROTO_T_PING) {
			/* Nothing to do: that it came is the point (last_in_ms). */
		} else if (m.type == PROTO_T_REJECT && pn->cb.frame) {
			/* After the handshake: a notice from the peer (e.g. "you were
			 * removed"), for the caller to judge. */
			pn->cb.frame(pn->arg, c->id, c->peer_id, &m);
		} else if (m.type == PROTO_T_HELLO || m.type == PROTO_T_REJECT) {
			if (input_log_ok(c, LOG_WARNING))
				log_warning("peer %s (%s): unexpected %s; closing", c->peer_id,
				    c->remote, proto_type_name(m.type));
			conn_lost(c, false);
			return;
		} else if (pn->cb.frame) {
			pn->cb.frame(pn->arg, c->id, c->peer_id, &m);
		}
		/* The callback may have closed or redialled c: its buffer is gone then. */
		if (c->dead || c->bev != bev)
			return;
		evbuffer_drain(in, len);
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char why[RAFTCONF_MAX_ERROR];

	if (c->pn->flushing) { /* from inside peer_flush: later, from the loop */
		bufferevent_trigger_event(bev, what, BEV_TRIG_DEFER_CALLBACKS);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (c->tls && !peer_tls_identify(c, why, sizeof(why))) {
			if (input_log_ok(c, LOG_WARNING))
				log_warning("peer %s (%s): %s; closing", ID(c), c->remote, why);
			if (c->outbound)
				conn_lost(c, false);
			else
				reject(c, why);
			return;
		}
		if (!c->outbound) /* TLS accepted: HELLO is the other side's to say */
			return;
		c->state = C_HELLO;
		send_hello(c);
		timer_after(c->timer, PEER_HANDSHAKE_MS);
		return;
	}
	if (c->tls && (what & BEV_EVENT_ERROR) && *peer_tls_failure(c, why, sizeof(why))) {
		if (input_log_ok(c, LOG_WARNING))
			log_warning_f(LOG_FIELDS(.peer = c->peer_id),
			    "peer %s (%s): TLS: %s; closing", ID(c), c->remote, why);
		conn_lost(c, c->state == C_UP);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if ((c->state == C_UP || c->state == C_HELLO) && input_log_ok(c, LOG_DEBUG))
			log_debug_f(LOG_FIELDS(.peer = c->peer_id), "peer %s (%s): connection %s",
			    ID(c), c->remote,
			    (what & BEV_EVENT_EOF)
				? "closed"
				: evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		conn_lost(c, c->state == C_UP);
	}
}

/*
 * Every idle_ms / 4 on an up connection: one that has carried no whole
 * frame for idle_ms is closed (a member always has something to say, if
 * only a PING); one on which this side has said nothing for idle_ms / 4
 * gets a PING, so that the other side can tell the same of us.
 */
static void
conn_tick(struct conn *c)
{
	struct peer_net *pn = c->pn;
	uint64_t now = mono_ms();

	if (now - c->last_in_ms >= pn->idle_ms) {
		if (input_log_ok(c, LOG_INFO))
			log_info_f(LOG_FIELDS(.peer = c->peer_id),
			    "peer %s (%s): nothing received for %u ms; closing", c->peer_id,
			    c->remote, pn->idle_ms);
		conn_lost(c, false);
		return;
	}
	if (now - c->last_out_ms >= pn->idle_ms / 4)
		conn_write(c, pn->ping, pn->ping_len);
	evtimer_add(c->timer, pn->tick_tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case C_IDLE:
		conn_dial(c);
		break;
	case C_CONNECTING:
	case C_HELLO:
		if (input_log_ok(c, LOG_DEBUG))
			log_debug("peer %s (%s): handshake timed out", ID(c), c->remote);
		conn_lost(c, false);
		break;
	case C_CLOSING:
		conn_kill(c);
		break;
	case C_UP:
		conn_tick(c);
		break;
	}
}

static void
conn_dial(struct conn *c)
{
	struct peer_net *pn = c->pn;
	char host[RAFTCONF_MAX_ADDRESS + 1], err[128];
	uint16_t port;

	if (addr_parse(c->address, host, sizeof(host), &port, err, sizeof(err)) < 0) {
		log_err("peer %s: address %s: %s", c->peer_id, c->address, err);
		return;
	}
	c->bev = peer_conn_bev_new(c, -1);
	if (c->bev == NULL) {
		conn_lost(c, false);
		return;
	}
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = C_CONNECTING;
	conn_budget(c);
	timer_after(c->timer, PEER_HANDSHAKE_MS);
	if (bufferevent_socket_connect_hostname(c->bev, pn->dns, AF_UNSPEC, host, port) < 0) {
		/* conn_event_cb may already have run and reset c->bev. */
		if (c->state == C_CONNECTING)
			conn_lost(c, false);
	}
}

static struct conn *
conn_new(struct peer_net *pn, bool outbound)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->pn = pn;
	c->id = ++pn->next_conn_id;
	c->outbound = outbound;
	c->backoff_ms = PEER_BACKOFF_MIN_MS;
	c->timer = evtimer_new(pn->base, timer_cb, c);
	if (c->timer == NULL) {
		free(c);
		return NULL;
	}
	c->next = pn->conns;
	pn->conns = c;
	return c;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct peer_net *pn = arg;
	struct conn *c, *oldest;
	char host[INET6_ADDRSTRLEN] = "?";
	int one = 1, port = 0;

	if ((c = conn_new(pn, false)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->accepted_ms = mono_ms();
	if (sa->sa_family == AF_INET) {
		evutil_inet_ntop(
		    AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		evutil_inet_ntop(
		    AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
	}
	snprintf(c->remote, sizeof(c->remote), "from %s:%d", host, port);
	/* A connection that has not said HELLO yet is cheap to make. */
	if (pn->n_handshakes >= pn->max_handshakes) {
		oldest = TAILQ_FIRST(&pn->handshakes);
		if (oldest == NULL || c->accepted_ms - oldest->accepted_ms < HANDSHAKE_GRACE_MS) {
			if (input_log_ok(c, LOG_NOTICE))
				log_notice("peer port: %u connections in their handshake already; "
					   "refusing one (%s)",
				    pn->n_handshakes, c->remote);
			evutil_closesocket(fd);
			conn_kill(c);
			return;
		}
		if (input_log_ok(oldest, LOG_NOTICE))
			log_notice("peer port: %u connections in their handshake already; closing "
				   "the oldest (%s)",
			    pn->n_handshakes, oldest->remote);
		conn_kill(oldest);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->bev = peer_conn_bev_new(c, fd);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		conn_kill(c);
		return;
	}
	c->state = C_HELLO;
	count_as(c, S_HANDSHAKE);
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_budget(c);
	timer_after(c->timer, PEER_HANDSHAKE_MS);
}

int
peer_net_new(struct event_base *base, const struct peer_opts *opts, const struct peer_callbacks *cb,
    void *arg, struct peer_net **out)
{
	struct peer_net *pn = calloc(1, sizeof(*pn));

	if (pn == NULL)
		return -ENOMEM;
	pn->base = base;
	pn->cb = *cb;
	pn->arg = arg;
	snprintf(pn->cluster, sizeof(pn->cluster), "%s", opts->cluster);
	snprintf(pn->node_id, sizeof(pn->node_id), "%s", opts->node_id);
	snprintf(pn->address, sizeof(pn->address), "%s", opts->address);
	pn->max_queue = opts->max_queue ? opts->max_queue : PEER_MAX_QUEUE;
	pn->idle_ms = opts->idle_ms ? opts->idle_ms : PEER_IDLE_MS;
	pn->max_handshakes =
	    opts->max_handshakes ? opts->max_handshakes : RAFTCONF_MAX_PEER_HANDSHAKES;
	pn->max_strangers = opts->max_strangers ? opts->max_strangers : RAFTCONF_MAX_PEER_STRANGERS;
	pn->budget = opts->frame_budget ? opts->frame_budget : RAFTCONF_PEER_FRAME_BUDGET;
	TAILQ_INIT(&pn->handshakes);
	ratelimit_init(&pn->rl);
	pn->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)pn;
	proto_buf_init(&pn->out);
	{
		struct proto_msg ping = { .type = PROTO_T_PING };
		struct timeval tick = { pn->idle_ms / 4 / 1000, pn->idle_ms / 4 % 1000 * 1000 };

		if (proto_encode(&pn->out, &ping, NULL, 0) == 0 &&
		    pn->out.len <= sizeof(pn->ping)) {
			memcpy(pn->ping, pn->out.data, pn->out.len);
			pn->ping_len = pn->out.len;
		}
		/* One queue for every up connection's timer: they all wait as long. */
		pn->tick_tv = event_base_init_common_timeout(base, &tick);
	}
	pn->dns = evdns_base_new(
	    base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (pn->dns == NULL) /* no resolv.conf: literal addresses still work */
		pn->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	pn->reaper = event_new(base, -1, 0, reap_cb, pn);
	pn->flusher = event_new(base, -1, 0, flush_cb, pn);
	pn->rl_timer = evtimer_new(base, rl_timer_cb, pn);
	if (pn->flusher) /* after the loop turn's other work, as node's batch */
		event_priority_set(pn->flusher, event_base_get_npriorities(base) - 1);
	if (pn->dns == NULL || pn->reaper == NULL || pn->flusher == NULL || pn->rl_timer == NULL ||
	    pn->ping_len == 0 || pn->tick_tv == NULL) {
		peer_net_free(pn);
		return -ENOMEM;
	}
	*out = pn;
	return 0;
}

void
peer_set_tls(struct peer_net *pn, SSL_CTX *ctx)
{
	if (ctx)
		SSL_CTX_up_ref(ctx);
	SSL_CTX_free(pn->tls); /* connections made with it keep their own reference */
	pn->tls = ctx;
}

void
peer_net_free(struct peer_net *pn)
{
	if (pn == NULL)
		return;
	listener_guard_free(pn->guard);
	if (pn->listener)
		evconnlistener_free(pn->listener);
	for (struct conn *c = pn->conns; c; c = c->next)
		c->dead = true;
	if (pn->reaper) {
		reap_cb(-1, 0, pn);
		event_free(pn->reaper);
	}
	if (pn->flusher)
		event_free(pn->flusher);
	if (pn->rl_timer) {
		/* what was held back is still told */
		rl_flush(pn, mono_ms() + RATELIMIT_WINDOW_MS, true);
		event_free(pn->rl_timer);
	}
	if (pn->dns)
		evdns_base_free(pn->dns, 0);
	proto_buf_free(&pn->out);
	SSL_CTX_free(pn->tls);
	free(pn);
}

int
peer_listen(struct peer_net *pn, const char *listen, char *err, size_t errlen)
{
	char perr[RAFTCONF_MAX_ERROR], bound[RAFTCONF_MAX_ADDRESS + 64],
	    what[RAFTCONF_MAX_ADDRESS + 80];
	struct sockaddr_storage ss;
	socklen_t sslen;
	int rc;

	/* node.listen is an IP address; its default, node.address, may be a name. */
	if ((rc = addr_resolve(listen, &ss, &sslen, perr, sizeof(perr))) < 0) {
		seterr(err, errlen, "listen address %s: %s", listen, perr);
		return rc;
	}
	pn->listener = evconnlistener_new_bind(pn->base, accept_cb, pn,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    (struct sockaddr *)&ss, (int)sslen);
	if (pn->listener == NULL) {
		int e = errno;

		seterr(err, errlen, "cannot listen on %s: %s", listen, strerror(e));
		return -(e ? e : EADDRINUSE);
	}
	addr_format((struct sockaddr *)&ss, bound, sizeof(bound));
	if (strcmp(bound, listen) != 0)
		log_info("peers: listening on %s (%s)", bound, listen);
	snprintf(what, sizeof(what), "peer port %s", bound);
	pn->guard = listener_guard_new(pn->base, pn->listener, what, false, NULL, NULL);
	return 0;
}

int
peer_link(struct peer_net *pn, const char *id, const char *address)
{
	struct conn *c = find_link(pn, id);

	if (addr_parse(address, NULL, 0, NULL, NULL, 0) < 0)
		return -EINVAL;
	if (c && strcmp(c->address, address) == 0)
		return 0;
	if (c)
		peer_unlink(pn, id);
	if ((c = conn_new(pn, true)) == NULL)
		return -ENOMEM;
	snprintf(c->peer_id, sizeof(c->peer_id), "%s", id);
	snprintf(c->address, sizeof(c->address), "%s", address);
	snprintf(c->remote, sizeof(c->remote), "%s", address);
	conn_dial(c);
	return 0;
}

void
peer_unlink(struct peer_net *pn, const char *id)
{
	struct conn *c = find_link(pn, id);

	if (c)
		conn_kill(c);
}

bool
peer_link_up(const struct peer_net *pn, const char *id)
{
	const struct conn *c = find_link(pn, id);

	return c && c->state == C_UP;
}

bool
peer_reachable(const struct peer_net *pn, const char *id)
{
	return peer_link_up(pn, id) || find_inbound(pn, id) != NULL;
}

int
peer_send(struct peer_net *pn, const char *id, const void *frame, size_t len)
{
	struct conn *c = find_link(pn, id);

	if (c == NULL)
		c = find_inbound(pn, id);
	if (c == NULL || c->state != C_UP)
		return -ENOTCONN;
	return conn_write(c, frame, len);
}

int
peer_dial_once(
    struct peer_net *pn, const char *address, const void *frame, size_t len, uint64_t *conn)
{
	struct conn *c;

	if (addr_parse(address, NULL, 0, NULL, NULL, 0) < 0)
		return -EINVAL;
	if ((c = conn_new(pn, true)) == NULL)
		return -ENOMEM;
	c->once = true;
	if ((c->once_frame = malloc(len)) == NULL) {
		conn_kill(c);
		return -ENOMEM;
	}
	memcpy(c->once_frame, frame, len);
	c->once_len = len;
	snprintf(c->address, sizeof(c->address), "%s", address);
	snprintf(c->remote, sizeof(c->remote), "%s", address);
	*conn = c->id;
	conn_dial(c);
	return 0;
}

void
peer_close(struct peer_net *pn, uint64_t conn)
{
	struct conn *c = find_conn(pn, conn);

	if (c)
		conn_kill(c);
}

void
peer_refuse(struct peer_net *pn, uint64_t conn, const char *why)
{
	struct conn *c = find_conn(pn, conn);

	if (c == NULL || c->state != C_UP)
		return;
	if (input_log_ok(c, LOG_WARNING))
		log_warning_f(LOG_FIELDS(.peer = c->peer_id), "peer %s (%s): %s; closing",
		    c->peer_id, c->remote, why);
	if (!c->outbound) {
		reject(c, why);
	} else if (c->once) {
		if (pn->cb.once_failed)
			pn->cb.once_failed(pn->arg, c->id, why);
		conn_kill(c);
	} else {
		conn_lost(c, false); /* a link: dialled again after the backoff */
	}
}

int
peer_reply(struct peer_net *pn, uint64_t conn, const void *frame, size_t len)
{
	struct conn *c = find_conn(pn, conn);

	if (c == NULL || c->state != C_UP)
		return -ENOTCONN;
	return conn_write(c, frame, len);
}

void
peer_flush(struct peer_net *pn)
{
	for (struct conn *c = pn->conns; c; c = c->next) {
		struct evbuffer *out;

		if (c->dead || c->state != C_UP || c->bev == NULL)
			continue;
		conn_flush(c);
		out = bufferevent_get_output(c->bev);
		if (evbuffer_get_length(out) == 0)
			continue;
		if (c->tls) {
			peer_tls_write_now(c);
			continue;
		}
		/* A socket bufferevent freezes the front of its output buffer
		 * against writers other than itself: thaw it for this write. */
		evbuffer_unfreeze(out, 1);
		evbuffer_write(out, bufferevent_getfd(c->bev));
		evbuffer_freeze(out, 1);
	}
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	peer_flush(arg);
}

size_t
peer_backlog(const struct peer_net *pn, const char *id)
{
	const struct conn *c = find_link(pn, id);

	return c ? conn_queued(c) : 0;
}

size_t
peer_budget_used(const struct peer_net *pn)
{
	return pn->budget_used;
}
