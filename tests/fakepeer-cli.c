/*
 * fakepeer — the fake peer of tests/fakepeer.h from the command line, for
 * the shell tests: connect to a node's peer port, say HELLO as any id, send
 * the frames the steps describe, and print what the node answers.
 *
 *	fakepeer [-w MS] [-t CERT KEY] ADDRESS CLUSTER ID STEP...
 *
 * -t: over TLS, presenting CERT (PEM, with its chain) and KEY; "-" for
 * either presents none.
 *
 * Node names (FROM, TO, NODE) are turned into the ids the cores use.
 * Steps:
 *	get KEY | list PREFIX | set KEY VALUE | del KEY | status | members
 *	snapshot | watch PREFIX | join NODE ADDRESS | remove NODE
 *	transfer NODE|-			client requests, as a member forwards them
 *	reject TEXT			a REJECT frame after the handshake
 *	removed CLUSTER INDEX		a REMOVED notice
 *	append FROM TO TERM PREV PREVTERM COMMIT KEY|- [VALUE]
 *					AppendEntries with one SET entry (of term
 *					TERM, at PREV + 1), or none for "-"
 *	heartbeat FROM TO TERM COMMIT
 *	vote FROM TO TERM INDEX LOGTERM TRANSFER(0|1)
 *	prevote FROM TO TERM INDEX LOGTERM
 *	timeout-now FROM TO TERM
 *	chunk FROM TO TERM INDEX LOGTERM BYTES
 *					an InstallSnapshot chunk of BYTES bytes of
 *					garbage, offset 0, the last one
 *	chunks FROM TO TERM INDEX LOGTERM BYTES N
 *					N such chunks, one after the other from
 *					offset 0, the Nth the last, each said
 *					("sent chunk K of N at offset X"); after
 *					each but the last, what arrives until
 *					its snapshot-resp (at most 3 s)
 *	forge FROM TO TERM KEY VALUE	probe TO's log end (its answer must come
 *					back here), then append KEY=VALUE after it
 *					with commit covering it
 *	wait MS				print what arrives for MS
 *
 * It prints "connected from HOST:PORT" (this end, as the node's log names
 * it), one line per frame received (fakepeer.h's fp_describe), "sent
 * STEP" after each step, "send failed: ..." if the node closed first, and
 * at the end "closed" when the node closed the connection, or "open" when it
 * was still open -w MS (default 1500) after the last step.  Exit: 0, 1
 * could not connect, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fakepeer.h"
#include "store_cmd.h"

static struct fakepeer *fp;
static bool closed;

static void
usage(void)
{
	fprintf(stderr, "usage: fakepeer [-w MS] [-t CERT KEY] ADDRESS CLUSTER ID STEP...\n");
	exit(2);
}

/* Print what arrives within ms (0: only what is there); stop at want, a
 * Raft message type, when it comes (*got filled). */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
drain(int ms, uint8_t want, struct raft_msg *got)
{
	int64_t end = now_ms() + ms;
	struct proto_msg m;
	struct raft_msg rm;
	char line[512];
	int rc;

	while (!closed &&
	    (rc = fp_recv(fp, &m, &rm, (int)(end > now_ms() ? end - now_ms() : 0))) != -ETIMEDOUT) {
		if (rc <= 0) {
			if (rc < 0)
				printf("receive failed: %s\n", strerror(-rc));
			closed = true;
			return;
		}
		fp_describe(&m, &rm, line, sizeof(line));
		printf("%s\n", line);
		if (want && m.type == PROTO_T_RAFT && rm.type == want) {
			*got = rm;
			return;
		}
	}
}

static uint64_t
id_of(const char *s)
{
	if (strncmp(s, "0x", 2) == 0)
		return strtoull(s, NULL, 16);
	return fp_node_id(s);
}

static uint64_t
num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static void
send_proto(struct proto_msg *m)
{
	int rc;

	m->id = 1;
	if ((rc = fp_send(fp, m)) < 0) {
		printf("send failed: %s\n", strerror(-rc));
		closed = rc != -EINVAL;
	}
}

static void
send_raft(const struct raft_msg *m)
{
	int rc;

	if ((rc = fp_send_raft(fp, m)) < 0) {
		printf("send failed: %s\n", strerror(-rc));
		closed = rc != -EINVAL;
	}
}

static struct raft_msg
raft(uint8_t type, char **a)
{
	struct raft_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = id_of(a[0]);
	m.to = id_of(a[1]);
	m.term = num(a[2]);
	return m;
}

/* A SET command for key=value in buf; its length. */
static uint32_t
set_cmd(uint8_t *buf, size_t cap, const char *key, const char *value)
{
	ssize_t n = store_cmd_encode_set(buf, cap, 0, 0, key, strlen(key), value, strlen(value));

	if (n < 0) {
		fprintf(stderr, "fakepeer: bad key or value\n");
		exit(2);
	}
	return (uint32_t)n;
}

static void
append(char **a, const char *key, const char *value, uint64_t prev, uint64_t prev_term,
    uint64_t commit)
{
	static uint8_t cmd[1024];
	struct raft_msg m = raft(RAFT_MSG_APPEND, a);
	struct raft_entry e = { .term = m.term, .type = RAFT_ENTRY_NORMAL };

	m.prev_index = prev;
	m.prev_term = prev_term;
	m.commit = commit;
	if (strcmp(key, "-") != 0) {
		e.index = prev + 1;
		e.data = cmd;
		e.len = set_cmd(cmd, sizeof(cmd), key, value);
		m.n_entries = 1;
		m.entries = &e;
	}
	send_raft(&m);
}

/* Probe for TO's last entry with an append it must refuse, then append
 * after it: what a forger does when the answers reach it. */
static void
forge(char **a)
{
	struct raft_msg probe = raft(RAFT_MSG_APPEND, a), got;

	probe.prev_index = (uint64_t)1 << 40;
	probe.prev_term = probe.term;
	send_raft(&probe);
	memset(&got, 0, sizeof(got));
	drain(3000, RAFT_MSG_APPEND_RESP, &got);
	if (got.type != RAFT_MSG_APPEND_RESP || !got.reject) {
		printf("forge: no answer to the probe\n");
		return;
	}
	append(a, a[3], a[4], got.hint_index, got.hint_term, got.hint_index + 1);
}

static void
chunk(char **a, uint64_t n_chunks)
{
	static uint8_t garbage[65536];
	struct raft_msg m = raft(RAFT_MSG_SNAPSHOT, a), got;
	struct raft_member mb;
	size_t len = num(a[5]);

	memset(&mb, 0, sizeof(mb));
	mb.id = m.from;
	mb.voter = true;
	mb.context_len =
	    (uint16_t)snprintf((char *)mb.context, sizeof(mb.context), "%s 127.0.0.1:1", a[0]);
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 131 + 7);
	m.index = num(a[3]);
	m.log_term = num(a[4]);
	m.data = garbage;
	m.len = (uint32_t)(len < sizeof(garbage) ? len : sizeof(garbage));
	m.size = m.len * n_chunks;
	m.n_members = 1;
	m.members = &mb;
	for (uint64_t i = 0; i < n_chunks && !closed; i++) {
		m.offset = i * m.len;
		m.last = i + 1 == n_chunks;
		send_raft(&m);
		if (n_chunks > 1 && !closed)
			printf("sent chunk %" PRIu64 " of %" PRIu64 " at offset %" PRIu64 "\n",
			    i + 1, n_chunks, m.offset);
		if (!m.last)
			drain(3000, RAFT_MSG_SNAPSHOT_RESP, &got);
	}
}

/* Carry out the step at a[0]; the number of words it took. */
static int
step(char **a, int left)
{
	struct proto_msg m;
	const char *s = a[0];
	int need;

	memset(&m, 0, sizeof(m));
#define NEED(n)                  \
	do {                     \
		need = (n);      \
		if (left < need) \
			usage(); \
	} while (0)
	if (strcmp(s, "get") == 0) {
		NEED(2);
		m.type = PROTO_T_GET;
		m.get.key = proto_cstr(a[1]);
		send_proto(&m);
	} else if (strcmp(s, "list") == 0) {
		NEED(2);
		m.type = PROTO_T_LIST;
		m.list.prefix = proto_cstr(a[1]);
		send_proto(&m);
	} else if (strcmp(s, "set") == 0) {
		NEED(3);
		m.type = PROTO_T_SET;
		m.set.key = proto_cstr(a[1]);
		m.set.value = proto_cstr(a[2]);
		send_proto(&m);
	} else if (strcmp(s, "del") == 0) {
		NEED(2);
		m.type = PROTO_T_DEL;
		m.del.key = proto_cstr(a[1]);
		send_proto(&m);
	} else if (strcmp(s, "status") == 0 || strcmp(s, "members") == 0 ||
	    strcmp(s, "snapshot") == 0) {
		NEED(1);
		m.type = s[0] == 's' ? (s[1] == 't' ? PROTO_T_STATUS : PROTO_T_SNAPSHOT)
				     : PROTO_T_MEMBERS;
		send_proto(&m);
	} else if (strcmp(s, "watch") == 0) {
		NEED(2);
		m.type = PROTO_T_WATCH;
		m.watch.prefix = proto_cstr(a[1]);
		send_proto(&m);
	} else if (strcmp(s, "join") == 0) {
		NEED(4);
		m.type = PROTO_T_JOIN;
		m.join.node_id = proto_cstr(a[1]);
		m.join.address = proto_cstr(a[2]);
		m.join.cluster = proto_cstr(a[3]);
		send_proto(&m);
	} else if (strcmp(s, "remove") == 0) {
		NEED(2);
		m.type = PROTO_T_REMOVE;
		m.remove.node_id = proto_cstr(a[1]);
		send_proto(&m);
	} else if (strcmp(s, "transfer") == 0) {
		NEED(2);
		m.type = PROTO_T_TRANSFER;
		m.transfer.node_id = proto_cstr(strcmp(a[1], "-") == 0 ? "" : a[1]);
		send_proto(&m);
	} else if (strcmp(s, "reject") == 0) {
		NEED(2);
		m.type = PROTO_T_REJECT;
		m.reject.message = proto_cstr(a[1]);
		send_proto(&m);
	} else if (strcmp(s, "removed") == 0) {
		NEED(3);
		m.type = PROTO_T_REMOVED;
		m.removed.cluster = proto_cstr(a[1]);
		m.removed.index = num(a[2]);
		send_proto(&m);
	} else if (strcmp(s, "append") == 0) {
		NEED(8);
		if (strcmp(a[7], "-") != 0)
			NEED(9);
		append(a + 1, a[7], need == 9 ? a[8] : "", num(a[4]), num(a[5]), num(a[6]));
	} else if (strcmp(s, "heartbeat") == 0) {
		struct raft_msg r;

		NEED(5);
		r = raft(RAFT_MSG_HEARTBEAT, a + 1);
		r.commit = num(a[4]);
		send_raft(&r);
	} else if (strcmp(s, "vote") == 0 || strcmp(s, "prevote") == 0) {
		struct raft_msg r;
		bool vote = s[0] == 'v';

		NEED(vote ? 7 : 6);
		r = raft(vote ? RAFT_MSG_VOTE : RAFT_MSG_PREVOTE, a + 1);
		r.index = num(a[4]);
		r.log_term = num(a[5]);
		r.transfer = vote && num(a[6]) != 0;
		send_raft(&r);
	} else if (strcmp(s, "timeout-now") == 0) {
		struct raft_msg r;

		NEED(4);
		r = raft(RAFT_MSG_TIMEOUT_NOW, a + 1);
		send_raft(&r);
	} else if (strcmp(s, "chunk") == 0) {
		NEED(7);
		chunk(a + 1, 1);
	} else if (strcmp(s, "chunks") == 0) {
		NEED(8);
		chunk(a + 1, num(a[7]));
	} else if (strcmp(s, "forge") == 0) {
		NEED(6);
		forge(a + 1);
	} else if (strcmp(s, "wait") == 0) {
		NEED(2);
		drain((int)num(a[1]), 0, NULL);
	} else {
		fprintf(stderr, "fakepeer: unknown step %s\n", s);
		usage();
	}
#undef NEED
	if (!closed)
		printf("sent %s\n", s);
	return need;
}

int
main(int argc, char **argv)
{
	int wait_ms = 1500, i = 1;
	struct fp_transport tls;
	struct fp_tls_opts tls_opts = { 0 };
	const struct fp_transport *t = &fp_tcp;
	char err[1024];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > i + 1 && strcmp(argv[i], "-w") == 0) {
		wait_ms = atoi(argv[i + 1]);
		i += 2;
	}
	if (argc > i + 2 && strcmp(argv[i], "-t") == 0) {
		tls_opts.cert = strcmp(argv[i + 1], "-") ? argv[i + 1] : NULL;
		tls_opts.key = strcmp(argv[i + 2], "-") ? argv[i + 2] : NULL;
		fp_tls(&tls, &tls_opts);
		t = &tls;
		i += 3;
	}
	if (argc - i < 3)
		usage();
	if (fp_connect(t, argv[i], &fp, err, sizeof(err)) < 0) {
		fprintf(stderr, "fakepeer: %s\n", err);
		return 1;
	}
	if (fp_local(fp, err, sizeof(err)) == 0)
		printf("connected from %s\n", err);
	if (fp_hello(fp, argv[i + 1], argv[i + 2]) < 0) {
		printf("send failed: HELLO\n");
		closed = true;
	}
	{
		struct proto_msg m;
		struct raft_msg rm;
		char line[512];
		int rc = fp_recv(fp, &m, &rm, 3000);

		if (rc == 1) {
			fp_describe(&m, &rm, line, sizeof(line));
			printf("%s\n", line);
		} else {
			closed = closed || rc != -ETIMEDOUT;
		}
	}
	for (i += 3; i < argc && !closed; i += step(argv + i, argc - i))
		drain(0, 0, NULL);
	drain(wait_ms, 0, NULL);
	printf("%s\n", closed ? "closed" : "open");
	fp_close(fp);
	return 0;
}
