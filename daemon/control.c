/*
 * control.c — the Unix control socket (contract in control.h).
 *
 * Not here: what a request does (node.c).  Client handles are slot numbers
 * with a generation, so a reply to a client that has gone (and whose slot
 * was reused) is dropped instead of reaching a stranger.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "errbuf.h"
#include "evframe.h"
#include "listener.h"
#include "log.h"
#include "ratelimit.h"

struct client {
	struct control *ctl;
	struct bufferevent *bev; /* NULL: slot free */
	uint32_t gen;
	struct control_client_info info;
	bool paused;
	enum control_class class;
	uint64_t partial_ms; /* since when an unfinished request waits; 0: none */
	size_t skip;	     /* bytes of a refused request still to be dropped */
};

struct control {
	struct event_base *base;
	struct evconnlistener *listener;
	struct control_callbacks cb;
	void *arg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client *slots; /* CONTROL_MAX_CLIENTS */
	uint32_t nfree_hint;
	struct proto_buf out;
	struct listener_guard *guard; /* with a descriptor in reserve */
	struct ratelimit rl;	      /* lines about what clients send */
	unsigned outsiders;
	struct event *sweep; /* closes clients stuck in a request; armed while one waits */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *
class_name(enum control_class k)
{
	return k == CONTROL_WRITER ? "writer" : k == CONTROL_READER ? "reader" : "outsider";
}

/* One key: the clients are local, a flood of them is one source. */
static bool
log_ok(struct control *ctl)
{
	uint64_t now = now_ms();

	ratelimit_flush(&ctl->rl, now, NULL, NULL);
	return ratelimit_allow(&ctl->rl, "control socket", now);
}

static uint64_t
client_handle(const struct control *ctl, const struct client *c)
{
	return (uint64_t)c->gen << 32 | (uint32_t)(c - ctl->slots);
}

static struct client *
client_find(struct control *ctl, uint64_t handle)
{
	uint32_t slot = (uint32_t)handle;
	struct client *c;

	if (slot >= CONTROL_MAX_CLIENTS)
		return NULL;
	c = &ctl->slots[slot];
	return c->bev && c->gen == (uint32_t)(handle >> 32) ? c : NULL;
}

static void
client_close(struct client *c)
{
	struct control *ctl = c->ctl;
	uint64_t h = client_handle(ctl, c);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	/*
	 * The socket is closed here, not when libevent finalizes the
	 * bufferevent (a loop turn later), and its descriptor is taken back
	 * at once as the reserve, if that was used: out of descriptors, the
	 * next raftconfctl gets in on it, not whichever listener asks first.
	 */
	bufferevent_setfd(c->bev, -1);
	if (fd >= 0)
		close(fd);
	listener_guard_refill(ctl->guard);
	bufferevent_free(c->bev);
	c->bev = NULL;
	c->gen++;
	if (c->class == CONTROL_OUTSIDER)
		ctl->outsiders--;
	if (ctl->cb.closed)
		ctl->cb.closed(ctl->arg, h);
}

/*
 * c sent part of a request: the sweep (sweep_cb) watches it from now.  It
 * runs only while some client is in that state, so that an idle node does
 * not wake for it (issue 17: a fleet's idle learners).
 */
static void
partial_started(struct client *c)
{
	struct control *ctl = c->ctl;
	struct timeval tv = { 1, 0 };

	c->partial_ms = now_ms();
	if (!evtimer_pending(ctl->sweep, NULL))
		evtimer_add(ctl->sweep, &tv);
}

static void
client_error(struct client *c, uint64_t id, uint16_t code, const char *text)
{
	struct control *ctl = c->ctl;
	struct proto_msg m = { .type = PROTO_T_ERROR, .id = id };

	m.error.code = code;
	m.error.message = proto_cstr(text);
	proto_buf_reset(&ctl->out);
	if (proto_encode(&ctl->out, &m, NULL, 0) == 0)
		control_reply(ctl, client_handle(ctl, c), ctl->out.data, ctl->out.len);
}

/*
 * A reader or an outsider announced a request longer than it may send: it
 * is answered (with its id, when that has come) and its bytes are dropped
 * as they arrive, so that raftconfctl says why instead of retrying.
 */
static void
refuse_big(struct client *c, struct evbuffer *in, size_t len)
{
	uint8_t head[PROTO_HEADER_SIZE + 8];
	char why[160];
	uint64_t id = 0;

	if (evbuffer_copyout(in, head, sizeof(head)) == (ev_ssize_t)sizeof(head))
		for (size_t i = PROTO_HEADER_SIZE; i < sizeof(head); i++)
			id = id << 8 | head[i];
	if (log_ok(c->ctl))
		log_notice("control client pid %d (uid %u, a %s): a request of %zu bytes, over "
			   "the %d it may send; refused",
		    (int)c->info.pid, (unsigned)c->info.uid, class_name(c->class), len,
		    CONTROL_SMALL_FRAME);
	snprintf(why, sizeof(why),
	    "permission denied: a request of %zu bytes; this user may send at most %d "
	    "(it may not write)",
	    len, CONTROL_SMALL_FRAME);
	client_error(c, id, PROTO_E_REFUSED, why);
	c->skip = len;
	c->partial_ms = 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct control *ctl = c->ctl;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint64_t h = client_handle(ctl, c);
	const uint8_t *frame;
	struct proto_msg m;
	char err[256];
	size_t len;
	int rc;

	while (!c->paused) {
		if (c->skip > 0) { /* dropped as it comes, never held */
			size_t n =
			    evbuffer_get_length(in) < c->skip ? evbuffer_get_length(in) : c->skip;

			evbuffer_drain(in, n);
			c->skip -= n;
			if (c->skip > 0)
				return;
		}
		rc = evframe_next(in, &frame, &len);
		if (rc >= 0 && c->class != CONTROL_WRITER && len > CONTROL_SMALL_FRAME) {
			refuse_big(c, in, len);
			continue;
		}
		if (rc == 0) {
			if (evbuffer_get_length(in) == 0)
				c->partial_ms = 0;
			else if (c->partial_ms == 0)
				partial_started(c);
			return;
		}
		c->partial_ms = 0;
		if (rc < 0) {
			if (log_ok(ctl))
				log_notice("control client pid %d: bad frame header (length %zu); "
					   "closing",
				    (int)c->info.pid, len);
			client_close(c);
			return;
		}
		rc = proto_decode(frame, len, &m, err, sizeof(err));
		if (rc < 0) {
			log_debug("control client pid %d: bad request: %s", (int)c->info.pid, err);
			client_error(c, m.id, rc == -E2BIG ? PROTO_E_TOOBIG : PROTO_E_BADREQ, err);
		} else if (!proto_is_request(m.type)) {
			client_error(c, m.id, PROTO_E_BADREQ, "not a request");
		} else {
			ctl->cb.request(ctl->arg, h, &m);
		}
		/* The request callback may have closed this client. */
		if (client_find(ctl, h) != c)
			return;
		evbuffer_drain(in, len);
	}
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct control *ctl = c->ctl;
	uint64_t h = client_handle(ctl, c);

	/* Called at the low watermark: resume a client paused by flow control. */
	if (c->paused) {
		c->paused = false;
		bufferevent_enable(bev, EV_READ);
		read_cb(bev, c);
	}
	/* read_cb may have closed it */
	if (ctl->cb.drained && client_find(ctl, h) == c)
		ctl->cb.drained(ctl->arg, h);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_close(arg);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct control *ctl = arg;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	struct client *c = NULL;

	for (uint32_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		uint32_t slot = (ctl->nfree_hint + i) % CONTROL_MAX_CLIENTS;

		if (ctl->slots[slot].bev == NULL) {
			c = &ctl->slots[slot];
			ctl->nfree_hint = slot + 1;
			break;
		}
	}
	if (c == NULL) {
		if (log_ok(ctl))
			log_warning("control socket: %d clients already; refusing one",
			    CONTROL_MAX_CLIENTS);
		close(fd);
		listener_guard_refill(ctl->guard);
		return;
	}
	c->ctl = ctl;
	c->paused = false;
	c->partial_ms = 0;
	memset(&c->info, 0, sizeof(c->info));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0) {
		c->info.pid = cred.pid;
		c->info.uid = cred.uid;
		c->info.gid = cred.gid;
	} else {
		c->info.uid = (uid_t)-1; /* nobody: no access but what all have */
		c->info.gid = (gid_t)-1;
	}
	credlen = sizeof(c->info.groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->info.groups, &credlen) == 0)
		c->info.ngroups = credlen / sizeof(gid_t);
	c->class = ctl->cb.admit ? ctl->cb.admit(ctl->arg, &c->info) : CONTROL_WRITER;
	if (c->class == CONTROL_OUTSIDER && ctl->outsiders >= CONTROL_MAX_OUTSIDERS) {
		if (log_ok(ctl))
			log_notice("control socket: %d clients that may do nothing are connected "
				   "already; closing pid %d (uid %u)",
			    CONTROL_MAX_OUTSIDERS, (int)c->info.pid, (unsigned)c->info.uid);
		close(fd);
		listener_guard_refill(ctl->guard);
		return;
	}
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		listener_guard_refill(ctl->guard);
		return;
	}
	if (c->class == CONTROL_OUTSIDER)
		ctl->outsiders++;
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONTROL_MAX_OUTPUT / 4, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Every second while one waits: a client that sent part of a request long
 * ago is stuck or hostile. */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;
	uint64_t now = now_ms();
	bool waiting = false;

	for (uint32_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct client *c = &ctl->slots[i];

		if (c->bev == NULL || c->partial_ms == 0)
			continue;
		if (now - c->partial_ms < CONTROL_PARTIAL_MS) {
			waiting = true;
			continue;
		}
		if (log_ok(ctl))
			log_notice("control client pid %d (uid %u): an unfinished request for %d "
				   "ms; closing",
			    (int)c->info.pid, (unsigned)c->info.uid, CONTROL_PARTIAL_MS);
		client_close(c);
	}
	if (!waiting)
		evtimer_del(ctl->sweep);
}

/* Is somebody serving path?  Decides between "stale file" and "in use". */
static bool
socket_alive(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

int
control_open(struct event_base *base, const char *path, const struct control_callbacks *cb,
    void *arg, struct control **out, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char what[sizeof(sun.sun_path) + 32];
	struct control *ctl;
	mode_t old;
	int fd = -1, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		seterr(err, errlen, "socket path %s: longer than %zu bytes", path,
		    sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (ctl->slots = calloc(CONTROL_MAX_CLIENTS, sizeof(*ctl->slots))) == NULL) {
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	ctl->base = base;
	ctl->cb = *cb;
	ctl->arg = arg;
	ratelimit_init(&ctl->rl);
	proto_buf_init(&ctl->out);
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);

	if (socket_alive(path)) {
		rc = -EADDRINUSE;
		seterr(err, errlen, "control socket %s: another raftconfd answers on it", path);
		goto fail;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		rc = -errno;
		seterr(err, errlen, "control socket %s: cannot remove the stale file: %s", path,
		    strerror(errno));
		goto fail;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		rc = -errno;
		seterr(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	old = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || chmod(path, 0660) < 0) {
		rc = -errno;
		seterr(err, errlen, "control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	ctl->listener = evconnlistener_new(
	    base, accept_cb, ctl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (ctl->listener == NULL) {
		rc = -errno ? -errno : -ENOMEM;
		seterr(err, errlen, "control socket %s: cannot listen", path);
		unlink(path);
		goto fail;
	}
	ctl->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, ctl);
	if (ctl->sweep == NULL) {
		rc = -ENOMEM;
		seterr(err, errlen, "out of memory");
		evconnlistener_free(ctl->listener);
		ctl->listener = NULL;
		fd = -1; /* closed with the listener */
		unlink(path);
		goto fail;
	}
	/* raftconfctl must get in when a flood elsewhere took every descriptor. */
	snprintf(what, sizeof(what), "control socket %s", path);
	ctl->guard = listener_guard_new(base, ctl->listener, what, true, accept_cb, ctl);
	*out = ctl;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (ctl) {
		if (ctl->sweep)
			event_free(ctl->sweep);
		free(ctl->slots);
		proto_buf_free(&ctl->out);
		free(ctl);
	}
	return rc;
}

void
control_close(struct control *ctl)
{
	if (ctl == NULL)
		return;
	listener_guard_free(ctl->guard);
	evconnlistener_free(ctl->listener);
	event_free(ctl->sweep);
	for (uint32_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->slots[i].bev)
			bufferevent_free(ctl->slots[i].bev);
	unlink(ctl->path);
	free(ctl->slots);
	proto_buf_free(&ctl->out);
	free(ctl);
}

int
control_reply(struct control *ctl, uint64_t conn, const void *frame, size_t len)
{
	struct client *c = client_find(ctl, conn);
	struct evbuffer *out;

	if (c == NULL)
		return -ENOTCONN;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_add(out, frame, len) < 0)
		return -ENOMEM;
	if (!c->paused && evbuffer_get_length(out) > CONTROL_MAX_OUTPUT) {
		c->paused = true;
		bufferevent_disable(c->bev, EV_READ);
	}
	return 0;
}

size_t
control_backlog(struct control *ctl, uint64_t conn)
{
	struct client *c = client_find(ctl, conn);

	return c ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

int
control_client(struct control *ctl, uint64_t conn, struct control_client_info *info)
{
	struct client *c = client_find(ctl, conn);

	if (c == NULL)
		return -ENOTCONN;
	*info = c->info;
	return 0;
}
