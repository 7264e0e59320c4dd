# tests/cluster.sh — start and drive local raftconfd clusters on 127.0.0.1 for
# the shell tests.  Sourced after lib.sh.  Every node started here is killed
# by the test's exit trap, whatever CLUSTER_N says by then; a node stopped
# with another signal than KILL gets STOP_DEADLINE seconds to exit.

CLUSTER_N=0
declare -a NODE_PID
PORT_BASE=0

# A block of 32 ports for this test, below the kernel's ephemeral range (so
# no outgoing connection of another test can be holding one), reserved with a
# lock directory (so tests running in parallel never pick the same block),
# and checked against the sockets in use.
# pick_ports N [VAR]: N+1 ports (N < 32) starting at $VAR (default PORT_BASE).
PORT_LOCKS=${TMPDIR:-/tmp}/raftconf-ports
pick_ports() {
	local n=$1 var=${2:-PORT_BASE} low p i busy blocks
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	blocks=$(( (low - 10000) / 32 ))
	mkdir -p "$PORT_LOCKS"
	for _ in $(seq 200); do
		p=$(( 10000 + (RANDOM % blocks) * 32 ))
		# a lock left by a test killed long ago is stale
		find "$PORT_LOCKS" -maxdepth 1 -name "$p" -mmin +60 -exec rmdir {} + 2>/dev/null
		mkdir "$PORT_LOCKS/$p" 2>/dev/null || continue
		busy=0
		for ((i = 0; i <= n; i++)); do
			if ss -Htan "sport = :$((p + i))" 2>/dev/null | grep -q .; then busy=1; fi
		done
		if [ "$busy" = 1 ]; then
			rmdir "$PORT_LOCKS/$p"
			continue
		fi
		on_exit "rmdir '$PORT_LOCKS/$p' 2>/dev/null"
		printf -v "$var" '%s' "$p"
		return 0
	done
	echo "# no free ports" >&2
	return 1
}

node_addr() { echo "127.0.0.1:$((PORT_BASE + $1))"; }
# With HTTP=1 before cluster_init, every node serves the HTTP API here.
HTTP_PORT_BASE=0
node_http() { echo "127.0.0.1:$((HTTP_PORT_BASE + $1))"; }
node_sock() { echo "$TEST_DIR/n$1.sock"; }
# With TLS=1 before cluster_init, peers speak mutual TLS with certificates
# from etc/tls/mkcerts.sh in $TLS_DIR (n1..nPORTS); with HTTPS=1 too, HTTP
# is HTTPS with $TLS_DIR/http.pem (for 127.0.0.1 and localhost).
TLS_DIR=${TEST_DIR:-/nonexistent}/tls
MKCERTS=$top_srcdir/etc/tls/mkcerts.sh

# write_config I [MEMBERS...] [-- EXTRA_YAML]: nI's YAML with the given member
# numbers (default: all of 1..CLUSTER_N).  NODE_YAML: lines for the node
# section (indented two spaces); SNAPSHOT_EVERY: raft.snapshot_every;
# RAFT_YAML: more lines for the raft section (indented two spaces);
# EXTRA_YAML: top-level lines at the end.
write_config() {
	local i=$1 m extra=${EXTRA_YAML:-}
	shift
	local members=("$@")
	[ ${#members[@]} = 0 ] && members=($(seq "$CLUSTER_N"))
	{
		echo "cluster: ${CLUSTER_NAME:-test}"
		echo "node:"
		echo "  id: n$i"
		echo "  address: $(node_addr "$i")"
		echo "  data_dir: $TEST_DIR/n$i"
		echo "  socket: $(node_sock "$i")"
		echo "  log_level: ${LOG_LEVEL:-info}"
		[ -n "${NODE_YAML:-}" ] && echo "$NODE_YAML"
		echo "members:"
		for m in "${members[@]}"; do
			echo "  - { id: n$m, address: $(node_addr "$m") }"
		done
		echo "raft:"
		echo "  heartbeat_ms: ${HEARTBEAT_MS:-50}"
		echo "  election_ms: ${ELECTION_MS:-500}"
		[ -n "${SNAPSHOT_EVERY:-}" ] && echo "  snapshot_every: $SNAPSHOT_EVERY"
		[ -n "${RAFT_YAML:-}" ] && echo "$RAFT_YAML"
		if [ "${HTTP:-0}" = 1 ]; then
			echo "http:"
			echo "  listen: $(node_http "$i")"
			if [ "${HTTPS:-0}" = 1 ]; then
				echo "  cert: $TLS_DIR/http.pem"
				echo "  key: $TLS_DIR/http.key"
			fi
		fi
		if [ "${TLS:-0}" = 1 ]; then
			echo "tls:"
			echo "  ca: $TLS_DIR/ca.pem"
			echo "  cert: $TLS_DIR/n$i.pem"
			echo "  key: $TLS_DIR/n$i.key"
			echo "  crl: $TLS_DIR/crl.pem"
		fi
		[ -n "$extra" ] && echo "$extra"
	} >"$TEST_DIR/n$i.yaml"
}

# cluster_init N [PORTS]: configs for N nodes (not started); ports reserved
# for PORTS nodes (default N), for nodes that join later.
cluster_init() {
	CLUSTER_N=$1
	pick_ports "${2:-$CLUSTER_N}" || exit 1
	if [ "${HTTP:-0}" = 1 ]; then pick_ports "$CLUSTER_N" HTTP_PORT_BASE || exit 1; fi
	if [ "${TLS:-0}" = 1 ] || [ "${HTTPS:-0}" = 1 ]; then
		TLS_DIR=$TEST_DIR/tls
		"$MKCERTS" -d "$TLS_DIR" $(seq -f 'n%g' "${2:-$CLUSTER_N}") >"$TEST_DIR/mkcerts.log" 2>&1 ||
			{ cat "$TEST_DIR/mkcerts.log"; exit 1; }
		[ "${HTTPS:-0}" = 1 ] && { "$MKCERTS" -d "$TLS_DIR" --http localhost 127.0.0.1 \
			>>"$TEST_DIR/mkcerts.log" 2>&1 || { cat "$TEST_DIR/mkcerts.log"; exit 1; }; }
	fi
	for ((i = 1; i <= CLUSTER_N; i++)); do write_config "$i"; done
	on_exit cluster_kill_all
}

# node_start I: start node I; NODE_ARGS: more arguments for raftconfd.
# node_exec I CMD...: how node I's process is run (netns.sh puts it in a
# network namespace); it execs, so that NODE_PID is raftconfd's own.
node_exec() { shift; exec "$@"; }
node_start() {
	local i=$1
	node_exec "$i" "$RAFTCONFD" -c "$TEST_DIR/n$i.yaml" ${NODE_ARGS:-} >>"$TEST_DIR/n$i.log" 2>&1 &
	NODE_PID[$i]=$!
}

node_running() { [ -n "${NODE_PID[$1]:-}" ] && kill -0 "${NODE_PID[$1]}" 2>/dev/null; }

# node_kill I [SIGNAL]: default -9; waits for the process to be gone.  After
# another signal, a node still running STOP_DEADLINE seconds (default 30)
# later is a failure, and is killed.
node_kill() {
	local i=$1 sig=${2:-KILL} pid=${NODE_PID[$1]:-} st
	[ -n "$pid" ] || return 0
	kill -s "$sig" "$pid" 2>/dev/null
	if [ "$sig" != KILL ] && [ "$sig" != 9 ]; then
		wait_gone "${STOP_DEADLINE:-30}" "$pid" "n$i, sent SIG$sig,"
	fi
	wait "$pid" 2>/dev/null
	NODE_PID[$i]=
}

# wait_started I SECONDS [DESCRIPTION]: node I answers status within SECONDS;
# a failure at once, with the end of its log, if its process exits first.
wait_started() {
	local i=$1 deadline=$(( $(date +%s) + $2 )) desc=${3:-n$1 starts and serves}
	while ! CTL_TIMEOUT=1 ctl "$i" status >/dev/null 2>&1; do
		if [ -z "${NODE_PID[$i]:-}" ] || proc_gone "${NODE_PID[$i]}"; then
			fail "$desc: n$i exited"
			tail -n 5 "$TEST_DIR/n$i.log" | sed 's/^/#   /'
			return 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			fail "$desc: not within $2 s"
			return 1
		fi
		sleep 0.05
	done
	pass "$desc"
}

cluster_kill_all() {
	local i
	for i in "${!NODE_PID[@]}"; do node_kill "$i" KILL; done
	if [ "$failures" != 0 ]; then
		for ((i = 1; i <= CLUSTER_N; i++)); do
			[ -f "$TEST_DIR/n$i.log" ] && { echo "# ---- n$i.log (tail)"; tail -n 25 "$TEST_DIR/n$i.log" | sed 's/^/# /'; }
		done
	fi
}

cluster_start() {
	local i
	for ((i = 1; i <= CLUSTER_N; i++)); do node_start "$i"; done
}

# ctl I ARGS...: raftconfctl against node I.
ctl() {
	local i=$1 a dial=()
	shift
	# status and members wait for a daemon that is not up, as writes do;
	# tests ask them of stopped nodes to see who is up, so not here.
	for a in "$@"; do
		case $a in
		-*) ;;
		status | members) dial=(--dial-timeout 0); break ;;
		*) break ;;
		esac
	done
	# --timeout is raftconfctl's own; the deadline is for when that fails
	# (and ends a watch, which --timeout does not bound, at the latest).
	bounded "${CTL_DEADLINE:-120}" \
		"$RAFTCONFCTL" -s "$(node_sock "$i")" --timeout "${CTL_TIMEOUT:-5}" "${dial[@]}" "$@"
}

# data_parts DIR: the bytes of a node's store, snapshots and WAL (benchmarks).
data_parts() {
	echo "store $(du -sb "$1/store.tdb" | cut -f1), snapshots $(du -sb "$1/snap" | cut -f1)" \
		"($(ls "$1/snap" | grep -c 'snap$') files), WAL $(du -sb "$1/wal" | cut -f1) bytes"
}
status_field() { ctl "$1" status 2>/dev/null | awk -v f="$2:" '$1 == f { print $2 }'; }

# member_role I NAME: NAME's role as node I lists it (voter|learner|absent).
member_role() {
	ctl "$1" members 2>/dev/null | awk -v n="$2" '$1 == n { print $3; f = 1 } END { if (!f) print "absent" }'
}

# The leader as node I sees it ("none" when it knows none).
leader_of() { status_field "$1" leader; }

# All running nodes name the same leader, and that leader says it leads.
agreed_leader() {
	local i l="" li
	for ((i = 1; i <= CLUSTER_N; i++)); do
		node_running "$i" || continue
		[ "$(status_field "$i" role)" = spare ] && continue
		li=$(leader_of "$i")
		[ -n "$li" ] && [ "$li" != none ] || return 1
		[ -z "$l" ] && l=$li
		[ "$l" = "$li" ] || return 1
	done
	[ -n "$l" ] && [ "$(status_field "${l#n}" role)" = leader ] || return 1
	echo "$l"
}

# wait_leader [SECONDS]: sets LEADER to the agreed leader's number.
wait_leader() {
	local deadline=$(( $(date +%s) + ${1:-20} )) l
	while :; do
		if l=$(agreed_leader); then
			LEADER=${l#n}
			return 0
		fi
		[ "$(date +%s)" -ge "$deadline" ] && { LEADER=; return 1; }
		sleep 0.05
	done
}

# wait_value I KEY VALUE [SECONDS]: node I's local (stale) copy of KEY is VALUE.
wait_value() {
	local deadline=$(( $(date +%s) + ${4:-20} ))
	while [ "$(ctl "$1" get --stale "$2" 2>/dev/null)" != "$3" ]; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# load I N [VALUE_BYTES] [KEYS]: N acknowledged writes through node I, 16 at a
# time, with the benchmark client; fails if any write failed.
load() {
	local out
	out=$(bounded 150 "$top_builddir/tests/bench" -s "$(node_sock "$1")" -c 16 -t 120 -o set \
		-n "$2" -v "${3:-128}" -k "${4:-100}") || return 1
	[ "$(echo "$out" | awk '{print $6}')" = 0 ]
}
