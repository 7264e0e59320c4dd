#!/bin/bash
# make bench-fleet: a fleet on this machine (issue 17 item 4): FLEET_VOTERS
# voters (default 3; their data on disk, HTTP on) and, step by step, more
# learners (their data on tmpfs, standing in for each host's own disk),
# each step's new ones started together and joined with `raftconfctl join
# --learner` all at once, through the voters in turn.  One row a step:
#
#   learners      learners in the cluster after the step
#   join_s        from the first join to the last one's exit (each waits
#                 until its node has caught up); failed: joins that exited
#                 non-zero
#   p50_1c_us     write p50 at one client, new keys, through the leader
#   w/s_64c       writes a second at 64 clients, new keys
#   cpu_us/w      the leader's CPU (user + system) per write at 64 clients
#   idle_%        CPU of every raftconfd process, idle for 5 s, in % of a core
#   lag_p50/p99   learner lag in ms (members --json on the leader, sampled
#                 every 0.5 s) under 100 writes a second (tests/openloop):
#                 the leader's view, which for a relayed learner is what it
#                 reported at its last heartbeat, up to four heartbeats old
#   seen_p50/p99  learner lag in ms seen on the learners, in the same run:
#                 from reading the leader's commit index to a learner
#                 (picked at random, 16 times) showing it in its status
#   cpu@100       the leader's CPU per write (us) in that run, its idle
#                 work included: what the leader pays a write at a steady
#                 rate, whatever the box has left
#   l_us/w@100    the learners' CPU in that run (us) per learner per
#                 write, their idle work and the status calls of seen_*
#                 included: what each host of a fleet pays a write
#   failover_ms   the longest time without an acknowledged write when the
#                 leader is killed -9 under 100 writes a second (it is
#                 started again after)
#   conns/l       established TCP connections a learner has (the most of any)
#   conns         established peer connections in the whole fleet
#   rss_l_MiB     resident memory of a learner (mean)
#   anon_l_MiB    the part of it that is the process's own (RssAnon; the
#                 rest is mostly its store file's pages, on tmpfs here)
#
#	FLEET_VOTERS	voters (default 3)
#	FLEET_SIZES	learners after each step (default "0 10 50 150 300 500")
#	BENCH_SECONDS	seconds of each write row (default 4)
#	FLEET_DROP	1: after each step, delete what its rows wrote and take
#			a snapshot on every voter, so that the next step's
#			learners join a store as small as the first step's
#			(default 0: the store grows step by step; 500 learners'
#			copies of it need more memory than a small machine has)
# Not part of make check (tests/fleet-health.test and join-queue.test are).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

V=${FLEET_VOTERS:-3}
SIZES=${FLEET_SIZES:-0 10 50 150 300 500}
SECS=${BENCH_SECONDS:-4}
BENCH=$top_builddir/tests/bench
OPENLOOP=$top_builddir/tests/openloop
SHM=$(mktemp -d /dev/shm/raftconf-fleet.XXXXXX)
on_exit "rm -rf '$SHM'"
[ -x "$OPENLOOP" ] || { echo "$OPENLOOP is missing: make tests/openloop"; exit 1; }
max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done
total=$((V + max))
ulimit -n 65536 2>/dev/null

# Peer ports for every node, below the ephemeral range and free now.
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
used=$(ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
for _ in $(seq 100); do
	base=$((10000 + RANDOM % (low - 10000 - total - 1)))
	clash=$(echo "$used" | awk -v b="$base" -v e="$((base + total))" '$1 > b && $1 <= e' | head -1)
	[ -z "$clash" ] && break
done
HTTP=1 HEARTBEAT_MS=100 ELECTION_MS=1000 LOG_LEVEL=notice cluster_init "$V"
PORT_BASE=$base
for ((i = 1; i <= V; i++)); do HTTP=1 LOG_LEVEL=notice HEARTBEAT_MS=100 ELECTION_MS=1000 write_config "$i"; done
voters=$(seq -s ' ' "$V")
cluster_start
wait_leader 30 || { echo "no leader"; exit 1; }
echo "raftconfd $("$RAFTCONFD" --version | awk '{print $2}'), $(nproc) cores, $(uname -r);" \
	"$V voters in $TEST_DIR, learners in $SHM"

# ctl without waiting for a daemon that is not up (status of the spares)
qctl() { ctl "$1" --dial-timeout 0 "${@:2}"; }
cpu_ticks() { awk '{ s += $14 + $15 } END { print s + 0 }' $(for p in "$@"; do echo "/proc/$p/stat"; done) 2>/dev/null; }
all_pids() { local i; for ((i = 1; i <= CLUSTER_N; i++)); do [ -n "${NODE_PID[$i]:-}" ] && echo "${NODE_PID[$i]}"; done; }
voter_https() { local i; for i in $voters; do printf '%s ' "$(node_http "$i")"; done; }
# voter_leader: LEADER is the voter that says it leads (the learners are
# not asked: there may be hundreds).
voter_leader() {
	local deadline=$(($(date +%s) + 30)) i
	while [ "$(date +%s)" -lt "$deadline" ]; do
		for i in $voters; do
			node_running "$i" || continue
			[ "$(qctl "$i" status 2>/dev/null | awk '$1 == "role:" { print $2 }')" = leader ] &&
				{ LEADER=$i; return 0; }
		done
		sleep 0.05
	done
	return 1
}
# drop PREFIX: delete every key under PREFIX; where one deletion would take
# more keys than raftconfctl allows ("too big"), under the longer prefixes
# (the keys written here are digits, lower-case letters and slashes).
drop() {
	local out c
	out=$(CTL_TIMEOUT=60 ctl "$LEADER" del --prefix "$1" 2>&1) && return 0
	if [[ $out != *"too big"* ]]; then
		echo "# del --prefix $1: $out" >&2
		return 1
	fi
	for c in {0..9} {a..z} /; do drop "$1$c" || return 1; done
}
pctl() { # PCT LIST: the PCT-th percentile of the numbers on standard input
	sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; print a[i] }'
}

# seen_lag K: ms from reading the leader's commit index until learner K
# shows it in its status (within the time a status takes).
seen_lag() {
	local c0 c t0
	c0=$(qctl "$LEADER" status 2>/dev/null | awk '$1 == "commit:" { print $2 }')
	t0=$(date +%s%N)
	for _ in $(seq 1000); do
		c=$(qctl "$1" status 2>/dev/null | awk '$1 == "commit:" { print $2 }')
		if [ -n "$c" ] && [ -n "$c0" ] && [ "$c" -ge "$c0" ]; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return
		fi
	done
}

printf '\n%8s %7s %6s %10s %8s %9s %7s %8s %8s %8s %8s %8s %10s %11s %7s %6s %9s %10s\n' learners \
	join_s failed p50_1c_us w/s_64c cpu_us/w idle_% lag_p50 lag_p99 seen_p50 seen_p99 cpu@100 \
	l_us/w@100 failover_ms conns/l conns rss_l_MiB anon_l_MiB
have=0
for n in $SIZES; do
	# The step's spares: started together, then joined all at once.
	first=$((V + have + 1)) last=$((V + n))
	CLUSTER_N=$last
	for ((k = first; k <= last; k++)); do
		HTTP=0 LOG_LEVEL=notice HEARTBEAT_MS=100 ELECTION_MS=1000 write_config "$k" $voters
		sed -i "s|data_dir: .*|data_dir: $SHM/n$k|" "$TEST_DIR/n$k.yaml"
		node_start "$k"
	done
	for ((k = first; k <= last; k++)); do
		for _ in $(seq 300); do
			[ "$(qctl "$k" status 2>/dev/null | awk '$1 == "role:" { print $2 }')" = spare ] && break
			sleep 0.1
		done
	done
	failed=0 join_s=0
	if [ "$last" -ge "$first" ]; then
		t0=$(date +%s.%N)
		for ((k = first; k <= last; k++)); do
			CTL_DEADLINE=400 CTL_TIMEOUT=300 ctl "$k" join --learner "$(node_addr $((k % V + 1)))" >/dev/null 2>"$TEST_DIR/join$k.err" &
			jp[$k]=$!
		done
		for ((k = first; k <= last; k++)); do wait "${jp[$k]}" || failed=$((failed + 1)); done
		join_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	fi
	have=$n
	voter_leader || { echo "no leader after the joins"; break; }
	lpid=${NODE_PID[$LEADER]}

	# Idle: every process, 5 s.
	pids=$(all_pids)
	c0=$(cpu_ticks $pids)
	sleep 5
	idle=$(awk -v a="$c0" -v b="$(cpu_ticks $pids)" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.1f", (b - a) / hz / 5 * 100 }')

	# Writes of new keys: one client, then 64 with the leader's CPU.
	p50=$("$BENCH" -s "$(node_sock "$LEADER")" -c 1 -t "$SECS" -o set -u -k 1000000000 | awk '{ print $4 }')
	c0=$(cpu_ticks "$lpid")
	out=$("$BENCH" -s "$(node_sock "$LEADER")" -c 64 -t "$SECS" -o set -u -k 1000000000)
	c1=$(cpu_ticks "$lpid")
	wps=$(echo "$out" | awk '{ print $3 }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" -v w="$wps" -v s="$SECS" \
		'BEGIN { if (w > 0) printf "%.0f", (b - a) / hz * 1e6 / (w * s); else print "-" }')

	# Learner lag under 100 writes a second.
	"$OPENLOOP" -i 10 -d 10 -k /fleet/lag/ "$(node_http "$LEADER")" >"$TEST_DIR/lag-ol.out" 2>&1 &
	ol=$!
	lpids=$(for ((k = V + 1; k <= last; k++)); do echo "${NODE_PID[$k]}"; done)
	c0=$(cpu_ticks "$lpid")
	cl0=$(cpu_ticks $lpids)
	t0=$(date +%s.%N)
	: >"$TEST_DIR/lags"
	: >"$TEST_DIR/seen"
	sleep 1
	for _ in $(seq 8); do
		awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a > 8) }' && break
		qctl "$LEADER" members --json 2>/dev/null | grep -o '"role":"learner"[^}]*"lag_ms":[0-9]*' |
			sed 's/.*"lag_ms"://' >>"$TEST_DIR/lags"
		if [ "$n" -gt 0 ]; then
			for _ in 1 2; do seen_lag $((V + 1 + RANDOM % n)) >>"$TEST_DIR/seen"; done
		fi
		sleep 0.5
	done
	c1=$(cpu_ticks "$lpid")
	cl1=$(cpu_ticks $lpids)
	t1=$(date +%s.%N)
	wait "$ol"
	lag50=$(pctl 50 <"$TEST_DIR/lags")
	lag99=$(pctl 99 <"$TEST_DIR/lags")
	seen50=$(pctl 50 <"$TEST_DIR/seen")
	seen99=$(pctl 99 <"$TEST_DIR/seen")
	cpu100=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" -v s0="$t0" -v s1="$t1" \
		'BEGIN { printf "%.0f", (b - a) / hz * 1e6 / ((s1 - s0) * 100) }')
	lus=$(awk -v a="$cl0" -v b="$cl1" -v hz="$(getconf CLK_TCK)" -v s0="$t0" -v s1="$t1" -v n="$n" \
		'BEGIN { if (n > 0) printf "%.1f", (b - a) / hz * 1e6 / ((s1 - s0) * 100 * n); else print "-" }')

	# Connections, memory.
	conns=$(ss -tnpH state established | grep -c 'raftconfd')
	per=0 rss=0 anon=0 nl=0
	for ((k = V + 1; k <= last; k++)); do
		c=$(ss -tnpH state established | grep -c "pid=${NODE_PID[$k]},")
		[ "$c" -gt "$per" ] && per=$c
		rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/${NODE_PID[$k]}/status")))
		anon=$((anon + $(awk '/^RssAnon:/ { print $2 }' "/proc/${NODE_PID[$k]}/status")))
		nl=$((nl + 1))
	done
	rssl=$(awk -v r="$rss" -v n="$nl" 'BEGIN { if (n) printf "%.1f", r / n / 1024; else print "-" }')
	anonl=$(awk -v r="$anon" -v n="$nl" 'BEGIN { if (n) printf "%.1f", r / n / 1024; else print "-" }')

	# Failover: the leader killed -9 2 s into 6 s of 100 writes a second.
	old=$LEADER
	"$OPENLOOP" -i 10 -t 100 -T 2000 -d 6 -k /fleet/failover/ $(voter_https) >"$TEST_DIR/fo-ol.out" 2>&1 &
	ol=$!
	sleep 2
	node_kill "$old" KILL
	wait "$ol"
	gap=$(awk '{ for (i = 1; i < NF; i++) if ($i == "longest_gap_ms") print $(i + 1) }' "$TEST_DIR/fo-ol.out")
	node_start "$old"
	wait_started "$old" 30 >/dev/null
	voter_leader

	printf '%8s %7s %6s %10s %8s %9s %7s %8s %8s %8s %8s %8s %10s %11s %7s %6s %9s %10s\n' "$n" \
		"$join_s" "$failed" "$p50" "$wps" "$cpu" "$idle" "$lag50" "$lag99" "$seen50" "$seen99" \
		"$cpu100" "$lus" "${gap:--}" "$per" "$((conns / 2))" "$rssl" "$anonl"
	if [ "${FLEET_DROP:-0}" = 1 ]; then
		# the leader was just killed and started again: give it time
		drop /bench/
		drop /fleet/
		for i in $voters; do CTL_TIMEOUT=60 ctl "$i" snapshot >/dev/null; done
	fi
done
finish >/dev/null
