/*
 * status.c — one status of this node, shown three ways: the STATUS reply
 * of raftconfctl, the JSON of /v1/status, and the Prometheus text of
 * /metrics; and the members view, and /v1/health.
 *
 * The fields are gathered once (status_get) into one table, so that every
 * view says the same thing under the same name.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "errbuf.h"
#include "driver.h"
#include "json.h"
#include "store.h"
#include "peer.h"

const double node_fsync_buckets[N_FSYNC_BUCKETS] = {
	0.0005,
	0.001,
	0.002,
	0.004,
	0.008,
	0.016,
	0.032,
	0.064,
	0.128,
	0.256,
	0.512,
	1.024,
};

enum field_kind { F_STR, F_U64, F_MS };

struct status_field {
	const char *name;
	enum field_kind kind;
	const char *str;
	uint64_t u64;
	double ms;
};

/* More than status_get fills: one more field is dropped, never written past
 * the array (and the tests, which read the last one, fail). */
#define N_STATUS_FIELDS 41

/* status's learners_lagging: learners more than this behind the leader. */
#define STATUS_LAGGING_MS 1000

/*
 * What /v1/health says, as one word: "ok" when a leader is known and this
 * node has applied what it knows to be committed, else "no-leader" or
 * "catching-up", with the reason in why (why may be NULL).
 */
static const char *
health(const struct node *n, const struct raft_status *st, char *why, size_t whylen)
{
	if (st->leader == 0) {
		seterr(why, whylen, "no leader known (role %s, term %" PRIu64 ")",
		    raft_role_name(st->role), st->term);
		return "no-leader";
	}
	if (n->applied < st->commit) {
		seterr(why, whylen, "catching up: applied %" PRIu64 " of %" PRIu64, n->applied,
		    st->commit);
		return "catching-up";
	}
	return "ok";
}

/*
 * On the leader, member mb's lag behind its log (which ends at last):
 * entries and ms (lag.h), and its progress in *pr; false elsewhere, or for
 * a member the core does not track.
 */
static bool
member_lag(const struct node *n, const struct member *mb, uint64_t last, uint64_t now,
    struct raft_progress *pr, uint64_t *entries, uint64_t *ms)
{
	if (raft_leader(n->raft) != n->self || raft_progress(n->raft, mb->id, pr) < 0)
		return false;
	if (mb->id == n->self)
		pr->match = last; /* its own log: nothing lacking */
	*entries = pr->match < last ? last - pr->match : 0;
	*ms = lag_ms(&n->lag, pr->match, last, now);
	return true;
}

/* On the leader, the learners more than STATUS_LAGGING_MS behind it. */
static uint64_t
learners_lagging(const struct node *n, const struct raft_status *st)
{
	uint64_t now = node_now_ms(), count = 0, entries, ms;
	struct raft_progress pr;

	for (size_t k = 0; k < n->n_members; k++)
		if (!n->members[k].voter &&
		    member_lag(n, &n->members[k], st->last_index, now, &pr, &entries, &ms) &&
		    ms > STATUS_LAGGING_MS)
			count++;
	return count;
}

/* This node's status, in the order raftconfctl status prints it: the first
 * six names are the contract (id, role, term, leader, commit, applied). */
static size_t
status_get(const struct node *n, struct status_field *f)
{
	struct raft_status st;
	uint64_t voters = 0, learners = 0, db_bytes = 0;
	bool db_known;
	size_t i = 0;

	raft_status(n->raft, &st);
	db_known = store_file_bytes(n->store, &db_bytes) == 0;
	for (size_t k = 0; k < n->n_members; k++)
		n->members[k].voter ? voters++ : learners++;
#define FIELD(...)                                                     \
	do {                                                           \
		if (i < N_STATUS_FIELDS)                               \
			f[i++] = (struct status_field){ __VA_ARGS__ }; \
	} while (0)
#define STR(nm, v) FIELD(.name = nm, .kind = F_STR, .str = (v))
#define U64(nm, v) FIELD(.name = nm, .kind = F_U64, .u64 = (v))
#define MS(nm, v)  FIELD(.name = nm, .kind = F_MS, .ms = (v))
	STR("id", n->cfg->node_id);
	STR("role", n->removed ? "spare" : raft_role_name(st.role));
	U64("term", st.term);
	STR("leader", st.leader ? roster_name(n, st.leader) : "none");
	U64("commit", st.commit);
	U64("applied", n->applied);
	STR("health", health(n, &st, NULL, 0));
	STR("cluster", n->cfg->cluster);
	STR("address", n->cfg->address);
	U64("first_index", st.first_index);
	U64("last_index", st.last_index);
	U64("snapshot_index", st.snapshot_index);
	/* once a snapshot came from a leader: how much of it (raftconfctl join) */
	if (n->snapshot_recv_bytes > 0) {
		U64("snapshot_recv_bytes", n->snapshot_recv_bytes);
		U64("snapshot_recv_size", n->snapshot_recv_size);
	}
	/* nonzero: lost entries after snapshot damage; no vote until caught up */
	U64("catch_up_to", st.catch_up_to);
	U64("wal_segment_bytes", NODE_WAL_SEGMENT_BYTES);
	/* full: writes are refused (disk.c); disk_why says what is short */
	STR("disk", n->disk.full ? "full" : "ok");
	if (n->disk.full)
		STR("disk_why", n->disk.why);
	U64("disk_free_bytes", n->disk.free_bytes);
	/* the store's file, as raftconfd_db_size_bytes */
	if (db_known)
		U64("db_size", db_bytes);
	MS("snapshot_last_ms", n->stats.snapshot_last_seconds * 1000);
	/* of it, how long the store's file was held: its commits piled up
	 * in memory meanwhile (snapshot.c, store_hold) */
	MS("snapshot_hold_ms", n->stats.snapshot_hold_last_seconds * 1000);
	/* what piles up now, the most ever, and the slices it reached the file in */
	U64("store_piled_bytes", store_piled_bytes(n->store));
	U64("store_piled_peak_bytes", n->stats.store_piled_peak);
	U64("store_drains", n->stats.store_drains);
	/* the store's file grown by a child, off the loop (grow.c) */
	U64("store_grows", n->stats.store_grows);
	MS("loop_stall_max_ms", n->max_stall * 1000);
	/* the loop's tick now (a learner's is longer, node.c), and its count */
	U64("tick_ms", (uint64_t)n->tick_ms * n->tick_span);
	U64("ticks", n->ticks);
	/* a voter commits what it applied at every tick, a learner once a second (apply.c) */
	U64("store_commits", n->stats.store_commits);
	U64("members", n->n_members);
	U64("voters", voters);
	U64("learners", learners);
	/* relays (issue 17): who feeds a learner, how many a follower feeds */
	if (st.role == RAFT_LEARNER)
		STR("relay", roster_name(n, st.relay ? st.relay : st.leader));
	if (st.role == RAFT_FOLLOWER)
		U64("relaying", st.relayed);
	/* the leader's count: elsewhere raftconfctl members asks the leader */
	if (st.role == RAFT_LEADER && !n->removed)
		U64("learners_lagging", learners_lagging(n, &st));
	/* a watch may start from history_floor on (store.h, History) */
	U64("history_floor", store_history_floor(n->store));
	U64("history_bytes", store_history_bytes(n->store));
	U64("watches_waiting", n->npollers);
	/* free heap given back to the kernel (heap.h) */
	U64("heap_trims", n->heap.trims);
	STR("version", PACKAGE_VERSION);
#undef STR
#undef U64
#undef MS
#undef FIELD
	return i;
}

static void
field_text(const struct status_field *f, char *buf, size_t len)
{
	switch (f->kind) {
	case F_STR:
		snprintf(buf, len, "%s", f->str);
		break;
	case F_U64:
		snprintf(buf, len, "%" PRIu64, f->u64);
		break;
	case F_MS:
		snprintf(buf, len, "%.1f", f->ms);
		break;
	}
}

/* This node's status as a STATUS_REPLY of request id, in b (emptied first). */
int
status_frame(struct node *n, struct proto_buf *b, uint64_t id)
{
	struct status_field f[N_STATUS_FIELDS];
	size_t count = status_get(n, f);
	struct proto_reply rb;
	char val[RAFTCONF_MAX_STATUS_VALUE + 1];
	int rc;

	proto_buf_reset(b);
	if ((rc = proto_reply_begin(&rb, b, PROTO_T_STATUS_REPLY, id)) < 0)
		return rc;
	for (size_t i = 0; i < count; i++) {
		field_text(&f[i], val, sizeof(val));
		proto_reply_add_pair(&rb, proto_cstr(f[i].name), proto_cstr(val));
	}
	return proto_reply_end(&rb, 0);
}

void
status_reply(struct node *n, const struct origin *o)
{
	if (status_frame(n, &n->out, o->req_id) == 0)
		reply_frame(n, o);
	else
		reply_error(n, o, PROTO_E_INTERNAL, "out of memory");
}

static void
to_evbuffer(void *arg, const char *p, size_t len)
{
	evbuffer_add(arg, p, len);
}

/*
 * /v1/status: the same fields as one JSON object, from the same text as
 * the STATUS reply and typed by the same rule (json_status_member) as
 * raftconfctl --json status writes them: one object, two doors.
 */
void
status_http_json(void *arg, struct evbuffer *out)
{
	struct status_field f[N_STATUS_FIELDS];
	size_t count = status_get(arg, f);
	char val[RAFTCONF_MAX_STATUS_VALUE + 1];
	struct json_out jo = { to_evbuffer, out };

	evbuffer_add(out, "{", 1);
	for (size_t i = 0; i < count; i++) {
		field_text(&f[i], val, sizeof(val));
		if (i)
			evbuffer_add(out, ",", 1);
		json_status_member(&jo, f[i].name, strlen(f[i].name), val, strlen(val));
	}
	evbuffer_add(out, "}", 1);
}

void
status_members_reply(struct node *n, const struct origin *o)
{
	struct proto_reply rb;
	uint64_t leader = raft_leader(n->raft);
	bool is_leader = leader == n->self;
	struct raft_status st;

	raft_status(n->raft, &st);
	proto_buf_reset(&n->out);
	proto_reply_begin(&rb, &n->out, PROTO_T_MEMBERS_REPLY, o->req_id);
	for (size_t i = 0; i < n->n_members; i++) {
		const struct member *mb = &n->members[i];
		struct proto_member pm = {
			.node_id = proto_cstr(mb->name),
			.address = proto_cstr(mb->address),
			.flags = (mb->voter ? PROTO_M_VOTER : PROTO_M_LEARNER) |
			    (mb->id == n->self ? PROTO_M_SELF : 0) |
			    (mb->id == leader && mb->voter ? PROTO_M_LEADER : 0),
			.last_contact_ms = PROTO_NEVER,
			.health = PROTO_H_UNKNOWN,
		};
		struct raft_progress pr;

		if (is_leader && raft_progress(n->raft, mb->id, &pr) == 0) {
			pm.match_index = pr.match;
			if (mb->id == n->self) {
				pm.last_contact_ms = 0;
				pm.health = PROTO_H_OK;
			} else {
				pm.last_contact_ms = (uint64_t)pr.last_contact * n->tick_ms;
				pm.health = pr.last_contact * n->tick_ms > n->cfg->election_ms
				    ? PROTO_H_UNREACHABLE
				    : pr.match + 64 < st.commit ? PROTO_H_LAGGING
								: PROTO_H_OK;
			}
		}
		proto_reply_add_member(&rb, &pm);
	}
	proto_reply_end(&rb, 0);
	reply_frame(n, o);
}

/* The health word of a member the leader tracks (pr), lagging by ms. */
static uint8_t
view_health(const struct node *n, const struct member *mb, const struct raft_progress *pr,
    const struct raft_status *st, uint64_t ms)
{
	if (mb->id == n->self)
		return PROTO_H_OK;
	if ((uint64_t)pr->last_contact * n->tick_ms > n->cfg->election_ms)
		return PROTO_H_UNREACHABLE;
	if (pr->match + 64 < st->commit || ms > n->cfg->lag_warn_ms)
		return PROTO_H_LAGGING;
	return PROTO_H_OK;
}

void
status_members_view(struct node *n, const struct origin *o)
{
	struct proto_reply rb;
	uint64_t leader = raft_leader(n->raft), now = node_now_ms();
	bool local = leader != n->self || n->removed;
	struct raft_status st;
	int rc = 0;

	raft_status(n->raft, &st);
	proto_buf_reset(&n->out);
	if (proto_reply_begin(&rb, &n->out, PROTO_T_MEMBERS_VIEW_REPLY, o->req_id) < 0)
		goto fail;
	for (size_t i = 0; i < n->n_members && rc == 0; i++) {
		const struct member *mb = &n->members[i];
		struct proto_member_view v = {
			.node_id = proto_cstr(mb->name),
			.address = proto_cstr(mb->address),
			.flags = (mb->voter ? PROTO_M_VOTER : PROTO_M_LEARNER) |
			    (mb->id == n->self ? PROTO_M_SELF : 0) |
			    (mb->id == leader && mb->voter ? PROTO_M_LEADER : 0),
			.last_contact_ms = PROTO_NEVER,
			.health = PROTO_H_UNKNOWN,
			.relay = proto_cstr(""), /* the leader feeds it */
			.lag_entries = PROTO_NEVER,
			.lag_ms = PROTO_NEVER,
		};
		struct raft_progress pr;

		if (!local &&
		    member_lag(n, mb, st.last_index, now, &pr, &v.lag_entries, &v.lag_ms)) {
			v.match_index = pr.match;
			v.last_contact_ms =
			    mb->id == n->self ? 0 : (uint64_t)pr.last_contact * n->tick_ms;
			v.health = view_health(n, mb, &pr, &st, v.lag_ms);
			if (pr.relay)
				v.relay = proto_cstr(roster_name(n, pr.relay));
		} else if (mb->id == n->self) {
			v.match_index = st.last_index; /* its own log, at least */
			if (st.relay)
				v.relay = proto_cstr(roster_name(n, st.relay));
		}
		rc = proto_reply_add_member_view(&rb, &v);
	}
	if (rc < 0 || proto_reply_end(&rb, local ? PROTO_F_LOCAL_VIEW : 0) < 0)
		goto fail;
	reply_frame(n, o);
	return;
fail:
	proto_reply_abort(&rb);
	reply_error(n, o, PROTO_E_INTERNAL, "the members view does not fit a reply");
}

void
status_members_view_relay(struct node *n, const struct origin *o, const struct proto_msg *m)
{
	struct proto_reply rb;
	struct proto_iter it;
	union proto_item item;
	int rc = 0, more;

	proto_buf_reset(&n->out);
	if (proto_iter_init(&it, m) < 0 ||
	    proto_reply_begin(&rb, &n->out, PROTO_T_MEMBERS_VIEW_REPLY, o->req_id) < 0)
		goto fail;
	while (rc == 0 && (more = proto_iter_next(&it, &item)) == 1) {
		struct proto_member_view v = item.member_view;
		bool me = v.node_id.len == strlen(n->cfg->node_id) &&
		    memcmp(v.node_id.ptr, n->cfg->node_id, v.node_id.len) == 0;

		v.flags = (uint8_t)((v.flags & ~PROTO_M_SELF) | (me ? PROTO_M_SELF : 0));
		rc = proto_reply_add_member_view(&rb, &v);
	}
	if (rc < 0 || more < 0 || proto_reply_end(&rb, m->members_view_reply.flags) < 0)
		goto fail;
	reply_frame(n, o);
	return;
fail:
	proto_reply_abort(&rb);
	reply_error(n, o, PROTO_E_INTERNAL, "the leader's members view could not be relayed");
}

/* A learner's lag episode began (LAG_STARTED) or ended: one notice line. */
static void
lag_notice(struct node *n, struct member *mb, int what, uint64_t match, uint64_t entries,
    uint64_t ms, uint64_t now)
{
	char msbuf[32];

	snprintf(msbuf, sizeof(msbuf), "%" PRIu64, ms);
	if (what == LAG_STARTED) {
		mb->lag_since_ms = now;
		log_notice_f(LOG_FIELDS(.peer = mb->name, .index = match, .extra_name = "LAG_MS",
				 .extra_value = msbuf),
		    "learner %s (%s) is %" PRIu64 " ms / %" PRIu64
		    " entries behind the leader (raft.lag_warn_ms %u); raftconfctl members shows "
		    "every member's lag",
		    mb->name, mb->address, ms, entries, n->cfg->lag_warn_ms);
	} else {
		log_notice_f(LOG_FIELDS(.peer = mb->name, .index = match, .extra_name = "LAG_MS",
				 .extra_value = msbuf),
		    "learner %s (%s) caught up: %" PRIu64 " ms / %" PRIu64
		    " entries behind the leader, after %.1f s behind",
		    mb->name, mb->address, ms, entries, (now - mb->lag_since_ms) / 1000.0);
	}
}

void
status_fleet_grew(struct node *n, uint64_t last_index)
{
	if (raft_leader(n->raft) == n->self && !n->removed)
		lag_note(&n->lag, last_index, node_now_ms());
}

void
status_fleet_tick(struct node *n, uint64_t now)
{
	struct raft_status st;
	bool observe;

	raft_status(n->raft, &st);
	if (st.role != RAFT_LEADER || n->removed) {
		/* a later term's leader may have another log: start afresh */
		if (n->lag.n > 0) {
			lag_reset(&n->lag);
			for (size_t i = 0; i < n->n_members; i++)
				n->members[i].lag_behind = false;
		}
		return;
	}
	lag_note(&n->lag, st.last_index, now);
	observe = now - n->lag_observed_ms >= 1000;
	if (observe)
		n->lag_observed_ms = now;
	for (size_t i = 0; i < n->n_members; i++) {
		struct member *mb = &n->members[i];
		struct raft_progress pr;
		uint64_t entries, ms;
		int what;

		if (mb->voter || !member_lag(n, mb, st.last_index, now, &pr, &entries, &ms))
			continue;
		/* one that just joined is behind by its nature: it gets lag_warn_ms
		 * to catch up before it is worth a line */
		if (!mb->lag_behind && now - mb->added_ms < n->cfg->lag_warn_ms)
			ms = 0;
		if ((what = lag_episode(&mb->lag_behind, ms, n->cfg->lag_warn_ms)) != LAG_SAME)
			lag_notice(n, mb, what, pr.match, entries, ms, now);
		if (observe) {
			n->stats.lag_bucket[lag_bucket(ms)]++;
			n->stats.lag_count++;
			n->stats.lag_sum += ms / 1000.0;
		}
	}
}

int
status_http_health(void *arg, char *why, size_t whylen)
{
	struct node *n = arg;
	struct raft_status st;

	raft_status(n->raft, &st);
	return strcmp(health(n, &st, why, whylen), "ok") == 0 ? 0 : -1;
}

void
status_record_fsync(struct node *n, double secs)
{
	size_t b = 0;

	while (b < N_FSYNC_BUCKETS && secs > node_fsync_buckets[b])
		b++;
	if (b < N_FSYNC_BUCKETS)
		n->stats.fsync_bucket[b]++;
	n->stats.fsync_count++;
	n->stats.fsync_sum += secs;
}

static void metric(struct evbuffer *out, const char *type, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The # HELP line of raftconfd_name, before its metric(). */
static void
help(struct evbuffer *out, const char *name, const char *text)
{
	evbuffer_add_printf(out, "# HELP raftconfd_%s %s\n", name, text);
}

static void
metric(struct evbuffer *out, const char *type, const char *name, const char *fmt, ...)
{
	va_list ap;

	evbuffer_add_printf(out, "# TYPE raftconfd_%s %s\nraftconfd_%s ", name, type, name);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\n", 1);
}

/* A histogram: per-bucket counts (not cumulative) at the upper bounds le[]. */
static void
histogram(struct evbuffer *out, const char *name, const char *text, const double *le,
    const uint64_t *counts, size_t n, double sum, uint64_t count)
{
	uint64_t cum = 0;

	evbuffer_add_printf(
	    out, "# HELP raftconfd_%s %s\n# TYPE raftconfd_%s histogram\n", name, text, name);
	for (size_t b = 0; b < n; b++) {
		cum += counts[b];
		evbuffer_add_printf(
		    out, "raftconfd_%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, le[b], cum);
	}
	evbuffer_add_printf(out,
	    "raftconfd_%s_bucket{le=\"+Inf\"} %" PRIu64 "\nraftconfd_%s_sum %.6f\n"
	    "raftconfd_%s_count %" PRIu64 "\n",
	    name, count, name, sum, name, count);
}

void
status_http_metrics(void *arg, struct evbuffer *out)
{
	static const enum raft_role roles[] = {
		RAFT_FOLLOWER,
		RAFT_PRECANDIDATE,
		RAFT_CANDIDATE,
		RAFT_LEADER,
		RAFT_LEARNER,
		RAFT_SPARE,
	};
	struct node *n = arg;
	const struct node_stats *s = &n->stats;
	struct raft_status st;
	uint64_t db_bytes = 0;

	raft_status(n->raft, &st);
	evbuffer_add_printf(out,
	    "# HELP raftconfd_role 1 for this node's current Raft role.\n"
	    "# TYPE raftconfd_role gauge\n");
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		evbuffer_add_printf(out, "raftconfd_role{role=\"%s\"} %d\n",
		    raft_role_name(roles[i]), st.role == roles[i]);
	metric(out, "gauge", "term", "%" PRIu64, st.term);
	help(out, "has_leader", "1 when this node knows a leader of its current term, else 0.");
	metric(out, "gauge", "has_leader", "%d", st.leader != 0);
	help(out, "leader_changes_total",
	    "Leader changes this node has seen since it started: each time it came to know a "
	    "leader, after none or another one.");
	metric(out, "counter", "leader_changes_total", "%" PRIu64, s->leader_changes);
	metric(out, "gauge", "commit_index", "%" PRIu64, st.commit);
	metric(out, "gauge", "applied_index", "%" PRIu64, n->applied);
	metric(out, "gauge", "snapshot_index", "%" PRIu64, st.snapshot_index);
	histogram(out, "wal_fsync_seconds", "WAL fdatasync latency.", node_fsync_buckets,
	    s->fsync_bucket, N_FSYNC_BUCKETS, s->fsync_sum, s->fsync_count);
	metric(out, "counter", "proposals_committed_total", "%" PRIu64, s->proposals_committed);
	metric(out, "counter", "proposals_failed_total", "%" PRIu64, s->proposals_failed);
	metric(out, "counter", "snapshots_total", "%" PRIu64, s->snapshots);
	metric(out, "gauge", "snapshot_last_duration_seconds", "%.6f", s->snapshot_last_seconds);
	help(out, "snapshot_last_store_hold_seconds",
	    "Of the last snapshot, the time the store's file was held for its writer: the "
	    "store's commits piled up in memory meanwhile.");
	metric(out, "gauge", "snapshot_last_store_hold_seconds", "%.6f",
	    s->snapshot_hold_last_seconds);
	metric(out, "gauge", "loop_stall_max_seconds", "%.6f", n->max_stall);
	help(out, "store_piled_bytes",
	    "Bytes of the store's commits in memory, not in its file yet: they pile up while a "
	    "snapshot's writer reads the file and reach it a slice a tick after.");
	metric(out, "gauge", "store_piled_bytes", "%" PRIu64, store_piled_bytes(n->store));
	metric(out, "gauge", "disk_full", "%d", n->disk.full ? 1 : 0);
	metric(out, "gauge", "disk_free_bytes", "%" PRIu64, n->disk.free_bytes);
	if (store_file_bytes(n->store, &db_bytes) == 0) {
		help(out, "db_size_bytes",
		    "Size of the store's file, data_dir/store.tdb, on disk (st_size, as ls -l "
		    "shows it).");
		metric(out, "gauge", "db_size_bytes", "%" PRIu64, db_bytes);
	}
	{
		uint64_t learners = 0;

		for (size_t i = 0; i < n->n_members; i++)
			learners += !n->members[i].voter;
		help(
		    out, "learners", "Learners (non-voting members) in this node's configuration.");
		metric(out, "gauge", "learners", "%" PRIu64, learners);
		histogram(out, "learner_lag_seconds",
		    "Each learner's lag behind the leader's log, observed once a second by the "
		    "leader (0 elsewhere).",
		    lag_buckets, s->lag_bucket, LAG_N_BUCKETS, s->lag_sum, s->lag_count);
	}
	metric(out, "gauge", "history_bytes", "%" PRIu64, store_history_bytes(n->store));
	metric(out, "gauge", "watches_waiting", "%u", n->npollers);
	evbuffer_add_printf(out,
	    "# HELP raftconfd_peer_rtt_seconds Last heartbeat round trip "
	    "(leader only).\n# TYPE raftconfd_peer_rtt_seconds gauge\n");
	for (size_t i = 0; i < n->n_members; i++)
		if (n->members[i].id != n->self && n->members[i].rtt >= 0)
			evbuffer_add_printf(out, "raftconfd_peer_rtt_seconds{peer=\"%s\"} %.6f\n",
			    n->members[i].name, n->members[i].rtt);
	evbuffer_add_printf(out,
	    "# HELP raftconfd_peer_backlog_bytes Bytes queued to a peer.\n"
	    "# TYPE raftconfd_peer_backlog_bytes gauge\n");
	for (size_t i = 0; i < n->n_members; i++)
		if (n->members[i].id != n->self)
			evbuffer_add_printf(out, "raftconfd_peer_backlog_bytes{peer=\"%s\"} %zu\n",
			    n->members[i].name, peer_backlog(n->peers, n->members[i].name));
	evbuffer_add_printf(out,
	    "# HELP raftconfd_client_requests_total Client requests "
	    "answered, by result.\n# TYPE raftconfd_client_requests_total counter\n");
	evbuffer_add_printf(
	    out, "raftconfd_client_requests_total{result=\"ok\"} %" PRIu64 "\n", s->requests[0]);
	for (uint16_t c = 1; c <= PROTO_E_MAX; c++)
		evbuffer_add_printf(out,
		    "raftconfd_client_requests_total{result=\"%s\"} %" PRIu64 "\n",
		    proto_error_name(c), s->requests[c]);
}
