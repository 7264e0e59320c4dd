#!/bin/bash
# make bench-etcd: raftconfd and etcd side by side on this machine, in one run.
#
# A local three-node raftconfd cluster and, when Debian's etcd-server is
# installed, a local three-node etcd with its default settings, both loaded
# over HTTP by wrk the same way: raftconfd's /v1/keys and etcd's v3 JSON
# gateway (/v3/kv/put, /v3/kv/range).  Each workload runs on one system,
# then right after on the other, so that whatever else the machine does
# falls on both alike.  Also: resident memory idle and after the load, the time
# from process start to the first acknowledged write of a fresh cluster,
# and the longest time without an acknowledged write when the leader is
# killed (-9) or frozen (SIGSTOP) under an open-loop writer (tests/openloop),
# at the default timeouts and at heartbeat 50 ms / election 250 ms.  Then
# this disk's fdatasync latency and the loopback round trip, the floor of a
# replicated write.  Prints one table.  Not part of make check.
#
#	BENCH_SECONDS	seconds per wrk workload (default 10)
#	BENCH_KEYS	the key pool (default 1000); values are 128 bytes
#	BENCH_BIG_KEYS	the large store's keys (default 1000000; 0 skips it)
#	BENCH_TAIL_SECONDS  seconds of each run of new keys at 64 connections
#			(default 20; 0 skips them), at BENCH_TAIL_VALUES bytes
#			(default "128 1024")
#	ETCD		the etcd binary (default /usr/bin/etcd)
#	KEEP_TEST_DIR	keep the data directories, logs and raw outputs
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

SECS=${BENCH_SECONDS:-10}
NKEYS=${BENCH_KEYS:-1000}
VALUE_BYTES=128
ETCD=${ETCD:-/usr/bin/etcd}
OPENLOOP=$top_builddir/tests/openloop
WRKDIR=$top_srcdir/tests/wrk
FAILOVER_SECONDS=6	# the leader dies 2 s in
# Open-loop client: a write every 10 ms; no answer in 100 ms moves it to the
# next node (a frozen leader still accepts connections), but a late answer
# within 2 s still counts.
OPENLOOP_ARGS=(-i 10 -t 100 -T 2000 -v "$VALUE_BYTES")

for tool in wrk curl; do
	command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install $tool)"; exit 1; }
done
[ -x "$OPENLOOP" ] || { echo "$OPENLOOP is missing: make tests/openloop"; exit 1; }
HAVE_ETCD=0
[ -x "$ETCD" ] && HAVE_ETCD=1

declare -A R	# results: R[system.figure], system rc or etcd

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
rss_anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# rss SYSTEM WHEN PID...: R[SYSTEM.rss_WHEN_max] and _avg in MiB.
rss() {
	local sys=$1 when=$2 p kb max=0 sum=0 n=0
	shift 2
	for p in "$@"; do
		kb=$(rss_kb "$p")
		[ -n "$kb" ] || continue
		sum=$((sum + kb)); n=$((n + 1))
		[ "$kb" -gt "$max" ] && max=$kb
	done
	[ "$n" = 0 ] && return
	R[$sys.rss_${when}_max]=$(awk -v k="$max" 'BEGIN { printf "%.1f", k / 1024 }')
	R[$sys.rss_${when}_avg]=$(awk -v k="$sum" -v n="$n" 'BEGIN { printf "%.1f", k / n / 1024 }')
}

# ------------------------------------------------------------------ etcd
ETCD_PORT_BASE=0
declare -a ETCD_PID
ETCD_FLAGS=()
ETCD_TOKEN=
etcd_client() { echo "127.0.0.1:$((ETCD_PORT_BASE + $1))"; }
etcd_peer() { echo "127.0.0.1:$((ETCD_PORT_BASE + 3 + $1))"; }

# Seven free ports: a block of its own (pick_ports never hands one out twice).
etcd_init() { pick_ports 6 ETCD_PORT_BASE; }

etcd_start() {
	local i=$1 cluster
	cluster="e1=http://$(etcd_peer 1),e2=http://$(etcd_peer 2),e3=http://$(etcd_peer 3)"
	"$ETCD" --name "e$i" --data-dir "$TEST_DIR/e$i" \
	    --listen-client-urls "http://$(etcd_client "$i")" \
	    --advertise-client-urls "http://$(etcd_client "$i")" \
	    --listen-peer-urls "http://$(etcd_peer "$i")" \
	    --initial-advertise-peer-urls "http://$(etcd_peer "$i")" \
	    --initial-cluster "$cluster" --initial-cluster-state new \
	    --initial-cluster-token "$ETCD_TOKEN" ${ETCD_FLAGS[@]+"${ETCD_FLAGS[@]}"} \
	    >>"$TEST_DIR/e$i.log" 2>&1 &
	ETCD_PID[$i]=$!
}

etcd_kill() {
	local pid=${ETCD_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -s "${2:-KILL}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ETCD_PID[$1]=
}
etcd_kill_all() { local i; for i in 1 2 3; do etcd_kill "$i"; done; }
etcd_running() { [ -n "${ETCD_PID[$1]:-}" ] && kill -0 "${ETCD_PID[$1]}" 2>/dev/null; }

# "MEMBER_ID LEADER_ID" as member I sees them.
etcd_ids() {
	curl -s --max-time 1 -X POST -d '{}' "http://$(etcd_client "$1")/v3/maintenance/status" |
	    sed -n 's/.*"member_id":"\([0-9]*\)".*"leader":"\([0-9]*\)".*/\1 \2/p'
}

# All running members name the same leader, and it is one of them: its number.
etcd_agreed_leader() {
	local i ids l="" found=""
	for i in 1 2 3; do
		etcd_running "$i" || continue
		ids=$(etcd_ids "$i")
		[ -n "$ids" ] || return 1
		set -- $ids
		[ "$2" != 0 ] || return 1
		[ -z "$l" ] && l=$2
		[ "$l" = "$2" ] || return 1
		[ "$1" = "$2" ] && found=$i
	done
	[ -n "$found" ] && echo "$found"
}

etcd_wait_leader() {
	local deadline=$(( $(date +%s) + ${1:-30} )) l
	while :; do
		if l=$(etcd_agreed_leader); then ELEADER=$l; return 0; fi
		[ "$(date +%s)" -ge "$deadline" ] && { ELEADER=; return 1; }
		sleep 0.05
	done
}

# ------------------------------------------------------------------ helpers
# A fresh cluster of SYSTEM (rc or etcd): every process started, then a
# write every 10 ms until one is acknowledged; R[SYSTEM.first_PHASE] is the
# time from the first process start to that acknowledgement.
fresh_cluster() {
	local sys=$1 phase=$2 i t0 eps=() out
	if [ "$sys" = rc ]; then
		for i in 1 2 3; do rm -rf "$TEST_DIR/n$i"; write_config "$i"; done
		for i in 1 2 3; do eps+=("$(node_http "$i")"); done
		t0=$(date +%s%N)
		cluster_start
		out=$("$OPENLOOP" -f "$t0" -d 60 "${OPENLOOP_ARGS[@]}" -k first/ "${eps[@]}")
		wait_leader 60 || { fail "raftconfd ($phase): no leader"; exit 1; }
	else
		ETCD_TOKEN=bench-$$-$phase
		for i in 1 2 3; do rm -rf "$TEST_DIR/e$i"; eps+=("$(etcd_client "$i")"); done
		t0=$(date +%s%N)
		for i in 1 2 3; do etcd_start "$i"; done
		out=$("$OPENLOOP" -e -f "$t0" -d 60 "${OPENLOOP_ARGS[@]}" -k first/ "${eps[@]}")
		etcd_wait_leader 60 || { fail "etcd ($phase): no leader"; exit 1; }
	fi
	R[$sys.first_$phase]=$(echo "$out" | awk '$1 == "first_ok_ms" { print $2 }')
}

# wrk_run SYSTEM FIGURE CONNECTIONS URL SCRIPT [ARGS...]: R[SYSTEM.FIGURE.rps],
# .p50, .p90, .p99 and .max (ms) and .err (answers over 399 plus socket errors).
wrk_run() {
	local sys=$1 fig=$2 c=$3 url=$4 script=$5 threads=1 out line
	shift 5
	[ "$c" -gt 1 ] && threads=2
	out=$TEST_DIR/wrk-$sys-$fig.out
	wrk -t "$threads" -c "$c" -d "${SECS}s" -s "$WRKDIR/$script" "$url" -- "$@" >"$out" 2>&1
	wrk_parse "$sys" "$fig"
}

# wrk_parse SYSTEM FIGURE: R[SYSTEM.FIGURE.*] from wrk's output.
wrk_parse() {
	local sys=$1 fig=$2 out=$TEST_DIR/wrk-$1-$2.out line q
	line=$(grep '^BENCH ' "$out" | tail -1)
	if [ -z "$line" ]; then
		echo "# wrk $sys $fig: no result (see $out)" >&2
		KEEP_TEST_DIR=1
		return
	fi
	set -- $line
	shift
	local -A f
	while [ $# -ge 2 ]; do f[$1]=$2; shift 2; done
	R[$sys.$fig.rps]=$(printf '%.0f' "${f[rps]}")
	for q in p50 p90 p99 max; do
		R[$sys.$fig.$q]=$(awk -v u="${f[${q}_us]}" 'BEGIN { printf "%.3f", u / 1000 }')
	done
	R[$sys.$fig.err]=$(( f[status_errors] + f[connect] + f[read] + f[write] + f[timeout] ))
	R[$sys.$fig.n]=${f[requests]}
}

# failover SYSTEM PHASE MODE: open-loop writes for FAILOVER_SECONDS to every
# node, the leader first; 2 s in the leader gets SIGKILL (MODE kill) or
# SIGSTOP (MODE stop).  R[SYSTEM.gap_MODE_PHASE] is the longest time without
# an acknowledged write.  After the run a killed leader is restarted and
# caught up, a frozen one resumed.
failover() {
	local sys=$1 phase=$2 mode=$3 eps=() i lead pid out=$TEST_DIR/openloop-$1-$2-$3.out
	local flag=()
	if [ "$sys" = rc ]; then
		wait_leader 60 || { fail "raftconfd: no leader before failover"; exit 1; }
		lead=$LEADER
		eps+=("$(node_http "$lead")")
		for i in 1 2 3; do [ "$i" != "$lead" ] && eps+=("$(node_http "$i")"); done
	else
		etcd_wait_leader 60 || { fail "etcd: no leader before failover"; exit 1; }
		lead=$ELEADER
		flag=(-e)
		eps+=("$(etcd_client "$lead")")
		for i in 1 2 3; do [ "$i" != "$lead" ] && eps+=("$(etcd_client "$i")"); done
	fi
	"$OPENLOOP" ${flag[@]+"${flag[@]}"} -d "$FAILOVER_SECONDS" "${OPENLOOP_ARGS[@]}" \
	    -k "failover-$phase-$mode/" "${eps[@]}" >"$out" 2>&1 &
	pid=$!
	sleep 2
	if [ "$sys" = rc ]; then
		if [ "$mode" = kill ]; then node_kill "$lead" KILL; else kill -STOP "${NODE_PID[$lead]}"; fi
	else
		if [ "$mode" = kill ]; then etcd_kill "$lead" KILL; else kill -STOP "${ETCD_PID[$lead]}"; fi
	fi
	wait "$pid"
	R[$sys.gap_${mode}_$phase]=$(awk '{ for (i = 1; i < NF; i++) if ($i == "longest_gap_ms") print $(i + 1) }' "$out")
	if [ "$mode" = kill ]; then
		if [ "$sys" = rc ]; then node_start "$lead"; wait_leader 60; else
			etcd_start "$lead"; etcd_wait_leader 60; fi
		sleep 1	# the restarted node catches up
	else
		kill -CONT "$([ "$sys" = rc ] && echo "${NODE_PID[$lead]}" || echo "${ETCD_PID[$lead]}")"
	fi
}

# Every key of the pool is there to be read on both systems: a missing key
# is a 404 on raftconfd (counted as an error) but an empty 200 on etcd.
check_pool() {
	local code n
	wait_leader 60 || return
	for n in 0 $((NKEYS - 1)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		    "http://$(node_http "$LEADER")/v1/keys/$(printf 'bench/k%05d' "$n")")
		[ "$code" = 200 ] || echo "# raftconfd: $(printf 'bench/k%05d' "$n") answers $code"
	done
	[ "$HAVE_ETCD" = 1 ] || return 0
	n=$(curl -s --max-time 5 -X POST -d "{\"key\":\"$(printf bench/k | base64)\",\
\"range_end\":\"$(printf bench/l | base64)\",\"count_only\":true}" \
	    "http://$(etcd_client "$ELEADER")/v3/kv/range" | sed -n 's/.*"count":"\([0-9]*\)".*/\1/p')
	[ "${n:-0}" = "$NKEYS" ] || echo "# etcd: ${n:-no} keys of $NKEYS in the pool"
}

# ------------------------------------------------------------------ the run
model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "raftconfd $("$RAFTCONFD" --version | awk '{ print $2 }'); $(nproc) cores ($model);" \
    "Linux $(uname -r); data in $TEST_DIR"
if [ "$HAVE_ETCD" = 1 ]; then
	echo "etcd $("$ETCD" --version | awk '/^etcd Version/ { print $3 }') with its default settings"
else
	echo "etcd-server not installed: raftconfd figures only"
fi
echo "wrk, $SECS s per workload, $VALUE_BYTES-byte values over $NKEYS keys; 1 connection on" \
    "1 thread, 64 on 2"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Phase "default": both systems at their default timeouts (heartbeat 100 ms,
# election 1000 ms for both).
HTTP=1 LOG_LEVEL=notice HEARTBEAT_MS=100 ELECTION_MS=1000 cluster_init 3
export HEARTBEAT_MS=100 ELECTION_MS=1000 HTTP=1 LOG_LEVEL=notice
fresh_cluster rc default
if [ "$HAVE_ETCD" = 1 ]; then
	etcd_init || { echo "no free ports for etcd"; exit 1; }
	on_exit etcd_kill_all
	fresh_cluster etcd default
fi
sleep 2
rss rc idle "${NODE_PID[1]}" "${NODE_PID[2]}" "${NODE_PID[3]}"
[ "$HAVE_ETCD" = 1 ] && rss etcd idle "${ETCD_PID[1]}" "${ETCD_PID[2]}" "${ETCD_PID[3]}"

# The floor of a replicated write: this disk's fdatasync (4 KiB appends with
# O_DSYNC, as the WAL appends) and the loopback round trip of one HTTP
# request that touches neither Raft nor the disk.
probe_s=$(dd if=/dev/zero of="$TEST_DIR/fsync-probe" bs=4k count=200 oflag=dsync 2>&1 |
    awk '/copied/ { print $(NF - 3) }')
rm -f "$TEST_DIR/fsync-probe"
FSYNC_MS=$(awk -v s="$probe_s" 'BEGIN { printf "%.3f", s / 200 * 1000 }')
wait_leader 30 || { fail "raftconfd: no leader"; exit 1; }
SECS_SAVED=$SECS SECS=2
wrk_run rc rtt 1 "http://$(node_http "$LEADER")/v1/health" plain.lua
SECS=$SECS_SAVED
RTT_MS=${R[rc.rtt.p50]:-}

# Workloads: FIGURE CONNECTIONS TARGET KIND [ARG]; each on raftconfd, then etcd.
workloads=(
	"w1L 1 leader put" "w1F 1 follower put"
	"w64L 64 leader put" "w64F 64 follower put"
	"linL 64 leader get" "linF 64 follower get"
	"staleL 64 leader get stale" "staleF 64 follower get stale"
)
for w in "${workloads[@]}"; do
	set -- $w
	fig=$1 conns=$2 target=$3 kind=$4 arg=${5:-}
	[ "$fig" = linL ] && check_pool
	wait_leader 60 || { fail "raftconfd: no leader"; exit 1; }
	node=$LEADER
	[ "$target" = follower ] && node=$(( LEADER % 3 + 1 ))
	if [ "$kind" = put ]; then
		wrk_run rc "$fig" "$conns" "http://$(node_http "$node")" raftconfd-put.lua \
		    "$NKEYS" "$VALUE_BYTES"
	else
		wrk_run rc "$fig" "$conns" "http://$(node_http "$node")" raftconfd-get.lua \
		    "$NKEYS" $arg
	fi
	[ "$HAVE_ETCD" = 1 ] || continue
	etcd_wait_leader 60 || { fail "etcd: no leader"; exit 1; }
	node=$ELEADER
	[ "$target" = follower ] && node=$(( ELEADER % 3 + 1 ))
	if [ "$kind" = put ]; then
		wrk_run etcd "$fig" "$conns" "http://$(etcd_client "$node")" etcd-put.lua \
		    "$NKEYS" "$VALUE_BYTES"
	else
		wrk_run etcd "$fig" "$conns" "http://$(etcd_client "$node")" etcd-range.lua \
		    "$NKEYS" ${arg:+serializable}
	fi
done
rss rc after "${NODE_PID[1]}" "${NODE_PID[2]}" "${NODE_PID[3]}"
[ "$HAVE_ETCD" = 1 ] && rss etcd after "${ETCD_PID[1]}" "${ETCD_PID[2]}" "${ETCD_PID[3]}"
# The data directory of the largest node (etcd preallocates 64 MB WAL files).
R[rc.disk]=$(du -sk "$TEST_DIR"/n[123] | awk '$1 > m { m = $1 } END { printf "%.1f", m / 1024 }')
[ "$HAVE_ETCD" = 1 ] &&
    R[etcd.disk]=$(du -sk "$TEST_DIR"/e[123] | awk '$1 > m { m = $1 } END { printf "%.1f", m / 1024 }')

systems=(rc)
[ "$HAVE_ETCD" = 1 ] && systems+=(etcd)
for sys in "${systems[@]}"; do failover "$sys" default kill; failover "$sys" default stop; done

# Phase "fast": fresh clusters at heartbeat 50 ms, election 250 ms.
cluster_kill_all
etcd_kill_all
export HEARTBEAT_MS=50 ELECTION_MS=250
ETCD_FLAGS=(--heartbeat-interval=50 --election-timeout=250)
for sys in "${systems[@]}"; do
	fresh_cluster "$sys" fast
	failover "$sys" fast kill
	failover "$sys" fast stop
done
cluster_kill_all
etcd_kill_all

# ------------------------------------------------------------------ the tail
# Issue 16's tail: writes of keys never written before (the store grows by
# every one) at 64 connections, BENCH_TAIL_SECONDS (default 20) a run, at
# each of BENCH_TAIL_VALUES (default "128 1024") bytes, on three fresh
# clusters in turn: raftconfd at its default snapshots (snapshot_every
# 10000, snapshot_log_percent 25), raftconfd with snapshots off
# (snapshot_every 100000000) and etcd at its defaults.  Then raftconfd's
# largest data directory after a snapshot on every node (the log compacted
# below it), in bytes a byte of the keys and values written, and its parts.
# BENCH_TAIL_SECONDS=0 skips it.
TAIL_SECS=${BENCH_TAIL_SECONDS:-20}
TAIL_VALUES=${BENCH_TAIL_VALUES:-128 1024}
# Where the CPU goes in a run, what bounds writes/s on a busy machine: the
# machine's busy share (user, system, interrupts; not iowait or steal) and
# its CPU time a write, all processes (load generator and kernel
# included); the servers' own CPU a write (their reaped children too); and
# the time their threads waited for a CPU (schedstat), a write.
proc_cpu() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
proc_wait() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ w += $2 } END { printf "%.0f\n", w }'
}
machine_cpu() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
declare -A CPU0
# cpu_mark PID...: the counters before a run.
cpu_mark() {
	local p
	CPU0[machine]=$(machine_cpu)
	for p in "$@"; do CPU0[$p]=$(proc_cpu "$p") CPU0[w$p]=$(proc_wait "$p"); done
}
# cpu_take KIND FIGURE PID...: R[KIND.FIGURE.busy], .cpuw, .srvw, .waitw
# (us a write, the run's writes in R[KIND.FIGURE.n]).
cpu_take() {
	local kind=$1 fig=$2 p srv=0 wait=0 n hz
	shift 2
	n=${R[$kind.$fig.n]:-0}
	[ "$n" -gt 0 ] || return 0
	hz=$(getconf CLK_TCK)
	for p in "$@"; do
		srv=$((srv + $(proc_cpu "$p") - ${CPU0[$p]}))
		wait=$((wait + $(proc_wait "$p") - ${CPU0[w$p]}))
	done
	read -r R[$kind.$fig.busy] R[$kind.$fig.cpuw] < <(echo "${CPU0[machine]} $(machine_cpu)" |
	    awk -v n="$n" -v hz="$hz" '{ printf "%.1f %.1f\n", 100 * ($3 - $1) / ($4 - $2),
		($3 - $1) * 1e6 / hz / n }')
	R[$kind.$fig.srvw]=$(awk -v c="$srv" -v n="$n" -v hz="$hz" 'BEGIN { printf "%.1f", c * 1e6 / hz / n }')
	R[$kind.$fig.waitw]=$(awk -v w="$wait" -v n="$n" 'BEGIN { printf "%.1f", w / 1e3 / n }')
}
# tail_run KIND VALUE_BYTES: KIND rc (snapshots), rcoff (none) or etcd;
# R[KIND.tailVALUE_BYTES.*] as wrk_run sets them.
tail_run() {
	local kind=$1 vb=$2 sys=rc url i n pids
	export HEARTBEAT_MS=100 ELECTION_MS=1000
	cluster_kill_all
	etcd_kill_all
	if [ "$kind" = etcd ]; then
		sys=etcd
		ETCD_FLAGS=()
		fresh_cluster etcd "tail$vb"
		url=http://$(etcd_client "$ELEADER")
	elif [ "$kind" = rc ]; then
		fresh_cluster rc "tail$vb"
		url=http://$(node_http "$LEADER")
	else
		SNAPSHOT_EVERY=100000000 fresh_cluster rc "tail$vb"
		url=http://$(node_http "$LEADER")
	fi
	SECS_SAVED=$SECS SECS=$TAIL_SECS
	if [ "$sys" = etcd ]; then pids=("${ETCD_PID[1]}" "${ETCD_PID[2]}" "${ETCD_PID[3]}"); else pids=("${NODE_PID[1]}" "${NODE_PID[2]}" "${NODE_PID[3]}"); fi
	cpu_mark "${pids[@]}"
	wrk_run "$kind" "tail$vb" 64 "$url" big.lua "$sys" put 0 1000000000 "$vb" 2
	cpu_take "$kind" "tail$vb" "${pids[@]}"
	SECS=$SECS_SAVED
	[ "$kind" = rc ] || return 0
	# bytes of keys (bench/gNNNNNNN) and values written, against the largest
	# data directory once every node has taken a snapshot and compacted
	n=${R[rc.tail$vb.n]:-0}
	R[rc.tail$vb.live]=$(( n * (14 + vb) ))
	for i in 1 2 3; do ctl "$i" snapshot >/dev/null || echo "# raftconfd n$i: snapshot failed" >&2; done
	read -r "R[rc.tail$vb.disk]" i < <(du -sb "$TEST_DIR"/n[123] | sort -n | tail -1)
	R[rc.tail$vb.parts]=$(data_parts "$i")
}
if [ "$TAIL_SECS" -gt 0 ]; then
	for vb in $TAIL_VALUES; do
		for kind in rc rcoff etcd; do
			[ "$kind" = etcd ] && [ "$HAVE_ETCD" = 0 ] && continue
			tail_run "$kind" "$vb"
		done
	done
	cluster_kill_all
	etcd_kill_all
fi

# ------------------------------------------------------------------ a large store
# BENCH_BIG_KEYS keys (default 1000000; 0 skips) of 128 B loaded into a fresh
# cluster of each system over HTTP (wrk, 64 connections, tests/wrk/big.lua),
# then at that size: writes of new keys at 1 and 64 connections,
# linearizable and local reads of random keys at 64, resident memory and
# data directory gained per key, a follower's restart from kill -9 until it
# answers and has applied what the leader had committed, and a new
# learner's join until it has applied as much.
BIG=${BENCH_BIG_KEYS:-1000000}
# big_wrk SYSTEM FIGURE CONNECTIONS URL OP FIRST COUNT: SECS seconds of OP,
# or with FIGURE load, until every key is written (SIGINT to wrk then).
big_wrk() {
	local sys=$1 fig=$2 c=$3 url=$4 op=$5 first=$6 count=$7 t=1 pid
	[ "$c" -gt 1 ] && t=2
	if [ "$fig" != load ]; then
		wrk_run "$sys" "$fig" "$c" "$url" big.lua "$sys" "$op" "$first" "$count" \
		    "$VALUE_BYTES" "$t"
		return
	fi
	rm -rf "$TEST_DIR/big-done"
	mkdir -p "$TEST_DIR/big-done"
	SECS_SAVED=$SECS SECS=7200
	export BIG_DONE_DIR=$TEST_DIR/big-done
	wrk_run "$sys" "$fig" "$c" "$url" big.lua "$sys" "$op" \
	    "$first" "$count" "$VALUE_BYTES" "$t" &
	pid=$!
	SECS=$SECS_SAVED
	while kill -0 "$pid" 2>/dev/null &&
	    [ "$(find "$TEST_DIR/big-done" -type f | wc -l)" -lt "$t" ]; do
		sleep 0.2
	done
	pkill -INT -P "$pid" -x wrk 2>/dev/null
	wait "$pid"
	# wrk_run ran in a subshell: read its output here
	wrk_parse "$sys" "$fig"
}
# etcd_index I FIELD: raftIndex or raftAppliedIndex as member I reports it.
etcd_index() {
	curl -s --max-time 1 -X POST -d '{}' "http://$(etcd_client "$1")/v3/maintenance/status" |
	    sed -n "s/.*\"$2\":\"\\([0-9]*\\)\".*/\\1/p"
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
# wait_until SECONDS COMMAND...: poll every 20 ms; 1 when the time ran out.
wait_until() {
	local end=$(( $(date +%s) + $1 ))
	shift
	until "$@" 2>/dev/null; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.02
	done
}
# per_key DIR...: the largest data directory's bytes a key of the large store.
per_key() { du -sb "$@" | awk -v n="$BIG" '$1 > m { m = $1 } END { printf "%.0f", m / n }'; }
rc_applied_ge() { [ "$(CTL_TIMEOUT=1 status_field "$1" applied)" -ge "$2" ]; }
etcd_applied_ge() { [ "$(etcd_index "$1" raftAppliedIndex)" -ge "$2" ]; }

# big_restart SYSTEM LEADER FOLLOWER: FOLLOWER killed -9 and started again;
# R[SYSTEM.big_restart], the seconds until it has applied what LEADER had
# committed.
big_restart() {
	local sys=$1 l=$2 f=$3 target t0
	if [ "$sys" = rc ]; then
		node_kill "$f" KILL
		target=$(status_field "$l" commit)
	else
		etcd_kill "$f" KILL
		target=$(etcd_index "$l" raftIndex)
	fi
	t0=$(date +%s.%N)
	if [ "$sys" = rc ]; then node_start "$f"; else etcd_start "$f"; fi
	wait_until 600 "${sys}_applied_ge" "$f" "$target" && R[$sys.big_restart]=$(since "$t0")
}

big_phase() {
	local sys=$1 node f url t0 target i pids=() kb0=() kb1=() an0=() an1=()
	if [ "$sys" = rc ]; then
		cluster_kill_all
		for i in 1 2 3 4; do rm -rf "$TEST_DIR/n$i"; done
		NODE_PID=()
		HTTP=1 cluster_init 3 4
		write_config 4 1 2 3 # a spare, to join as a learner
		cluster_start
		wait_leader 60 || { fail "raftconfd (big): no leader"; exit 1; }
		node=$LEADER
		url=http://$(node_http "$node")
		pids=("${NODE_PID[1]}" "${NODE_PID[2]}" "${NODE_PID[3]}")
	else
		etcd_kill_all
		ETCD_FLAGS=()
		fresh_cluster etcd big
		node=$ELEADER
		url=http://$(etcd_client "$node")
		pids=("${ETCD_PID[1]}" "${ETCD_PID[2]}" "${ETCD_PID[3]}")
	fi
	f=$(( node % 3 + 1 ))
	for i in 0 1 2; do kb0[$i]=$(rss_kb "${pids[$i]}") an0[$i]=$(rss_anon_kb "${pids[$i]}"); done
	echo "# $sys: loading $BIG keys" >&2
	big_wrk "$sys" load 64 "$url" put 0 "$BIG" 7200
	big_wrk "$sys" bw1 1 "$url" put "$BIG" 1000000000
	big_wrk "$sys" bw64 64 "$url" put $((BIG + 10000000)) 1000000000
	big_wrk "$sys" blin 64 "$url" get 0 "$BIG"
	big_wrk "$sys" bstale 64 "$url" stale 0 "$BIG"
	for i in 0 1 2; do kb1[$i]=$(rss_kb "${pids[$i]}") an1[$i]=$(rss_anon_kb "${pids[$i]}"); done
	R[$sys.big_rss]=$(for i in 0 1 2; do echo $(( (kb1[i] - kb0[i]) * 1024 / BIG )); done |
	    sort -n | tail -1)
	# of it, the anonymous pages (heap: what the kernel cannot drop), and
	# the rest, mostly the database file's pages mapped (bbolt, tdb)
	R[$sys.big_anon]=$(for i in 0 1 2; do echo $(( (an1[i] - an0[i]) * 1024 / BIG )); done |
	    sort -n | tail -1)
	R[$sys.big_mapped]=$(for i in 0 1 2; do
		echo $(( (kb1[i] - kb0[i] - an1[i] + an0[i]) * 1024 / BIG )); done | sort -n | tail -1)
	if [ "$sys" = rc ]; then
		R[$sys.big_disk]=$(per_key "$TEST_DIR"/n[123])
		big_restart rc "$node" "$f"
		node_start 4
		wait_until 60 eval '[ "$(status_field 4 role)" = spare ]'
		target=$(status_field "$node" commit)
		t0=$(date +%s.%N)
		ctl 4 join --learner "$(node_addr "$node")" >/dev/null &&
		    wait_until 600 rc_applied_ge 4 "$target" && R[$sys.big_learner]=$(since "$t0")
		cluster_kill_all
	else
		R[$sys.big_disk]=$(per_key "$TEST_DIR"/e[123])
		big_restart etcd "$node" "$f"
		# A learner: added through the leader, then started with the
		# cluster it is to join.
		local lport cluster
		pick_ports 2 lport || return
		target=$(etcd_index "$node" raftIndex)
		t0=$(date +%s.%N)
		# refused ("unhealthy cluster") until the restarted member has been
		# back a few seconds: asked again until accepted
		for _ in $(seq 300); do
			curl -s --max-time 10 -X POST \
			    -d "{\"peerURLs\":[\"http://127.0.0.1:$((lport + 1))\"],\"isLearner\":true}" \
			    "$url/v3/cluster/member/add" >"$TEST_DIR/e4-add.json"
			grep -q '"member"' "$TEST_DIR/e4-add.json" && break
			sleep 0.1
		done
		cluster="e1=http://$(etcd_peer 1),e2=http://$(etcd_peer 2),e3=http://$(etcd_peer 3)"
		cluster="$cluster,e4=http://127.0.0.1:$((lport + 1))"
		"$ETCD" --name e4 --data-dir "$TEST_DIR/e4" \
		    --listen-client-urls "http://127.0.0.1:$lport" \
		    --advertise-client-urls "http://127.0.0.1:$lport" \
		    --listen-peer-urls "http://127.0.0.1:$((lport + 1))" \
		    --initial-advertise-peer-urls "http://127.0.0.1:$((lport + 1))" \
		    --initial-cluster "$cluster" --initial-cluster-state existing \
		    >>"$TEST_DIR/e4.log" 2>&1 &
		ETCD_PID[4]=$!
		until [ "$(curl -s --max-time 1 -X POST -d '{}' "http://127.0.0.1:$lport/v3/maintenance/status" |
		    sed -n 's/.*"raftAppliedIndex":"\([0-9]*\)".*/\1/p')" -ge "$target" ] 2>/dev/null; do
			{ [ "$(since "$t0" | cut -d. -f1)" -ge 600 ] || ! etcd_running 4; } && break
			sleep 0.02
		done
		etcd_running 4 && [ "$(since "$t0" | cut -d. -f1)" -lt 600 ] &&
		    R[$sys.big_learner]=$(since "$t0")
		etcd_kill 4
		etcd_kill_all
	fi
}
if [ "$BIG" -gt 0 ]; then
	export HEARTBEAT_MS=100 ELECTION_MS=1000
	for sys in "${systems[@]}"; do big_phase "$sys"; done
fi

# ------------------------------------------------------------------ the table
# row LABEL VALUE_RC VALUE_ETCD hi|lo [TARGET]: the ratio is raftconfd's
# advantage (rc/etcd when higher is better, etcd/rc when lower is), so above
# 1 means raftconfd is better; TARGET is the advantage the issue asks for.
row() {
	local label=$1 a=${2:-} b=${3:-} dir=$4 target=${5:-} ratio=- verdict=
	if [ "$HAVE_ETCD" = 1 ] && [ -n "$a" ] && [ -n "$b" ]; then
		ratio=$(awk -v a="$a" -v b="$b" -v d="$dir" 'BEGIN {
			r = d == "hi" ? (b > 0 ? a / b : 0) : (a > 0 ? b / a : 0)
			printf "%.2f", r }')
		if [ -n "$target" ]; then
			verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN {
				if (r >= t) printf "met (>= %sx)", t
				else printf "MISSED: %.2fx of %sx", r, t }')
		fi
	elif [ -n "$target" ]; then
		verdict="(>= ${target}x; no etcd)"
	fi
	[ "$HAVE_ETCD" = 1 ] || b=-
	printf '%-38s %11s %11s %8s  %s\n' "$label" "${a:--}" "${b:--}" "$ratio" "$verdict"
}

echo
echo "ratio: raftconfd/etcd for rates, etcd/raftconfd for times and sizes: above 1, raftconfd"
echo "is better.  target: the ratio the issue asks for."
printf '%-38s %11s %11s %8s  %s\n' figure raftconfd etcd ratio target
row "writes/s @1 leader" "${R[rc.w1L.rps]:-}" "${R[etcd.w1L.rps]:-}" hi
row "writes/s @1 follower" "${R[rc.w1F.rps]:-}" "${R[etcd.w1F.rps]:-}" hi
row "writes/s @64 leader" "${R[rc.w64L.rps]:-}" "${R[etcd.w64L.rps]:-}" hi 3
row "writes/s @64 follower" "${R[rc.w64F.rps]:-}" "${R[etcd.w64F.rps]:-}" hi 3
row "write p50 @1 leader (ms)" "${R[rc.w1L.p50]:-}" "${R[etcd.w1L.p50]:-}" lo 2
row "write p99 @1 leader (ms)" "${R[rc.w1L.p99]:-}" "${R[etcd.w1L.p99]:-}" lo
row "write p50 @1 follower (ms)" "${R[rc.w1F.p50]:-}" "${R[etcd.w1F.p50]:-}" lo
row "write p50 @64 leader (ms)" "${R[rc.w64L.p50]:-}" "${R[etcd.w64L.p50]:-}" lo
row "write p99 @64 leader (ms)" "${R[rc.w64L.p99]:-}" "${R[etcd.w64L.p99]:-}" lo
row "linearizable reads/s @64 leader" "${R[rc.linL.rps]:-}" "${R[etcd.linL.rps]:-}" hi 3
row "linearizable reads/s @64 follower" "${R[rc.linF.rps]:-}" "${R[etcd.linF.rps]:-}" hi 3
row "stale reads/s @64 leader" "${R[rc.staleL.rps]:-}" "${R[etcd.staleL.rps]:-}" hi
row "stale reads/s @64 follower" "${R[rc.staleF.rps]:-}" "${R[etcd.staleF.rps]:-}" hi
row "RSS idle, max node (MiB)" "${R[rc.rss_idle_max]:-}" "${R[etcd.rss_idle_max]:-}" lo
row "RSS idle, average node (MiB)" "${R[rc.rss_idle_avg]:-}" "${R[etcd.rss_idle_avg]:-}" lo
row "RSS after load, max node (MiB)" "${R[rc.rss_after_max]:-}" "${R[etcd.rss_after_max]:-}" lo 10
row "RSS after load, average node (MiB)" "${R[rc.rss_after_avg]:-}" "${R[etcd.rss_after_avg]:-}" lo
row "data directory after load, max (MiB)" "${R[rc.disk]:-}" "${R[etcd.disk]:-}" lo
row "start to first write (ms)" "${R[rc.first_default]:-}" "${R[etcd.first_default]:-}" lo
row "start to first write, 50/250 (ms)" "${R[rc.first_fast]:-}" "${R[etcd.first_fast]:-}" lo
row "failover gap, kill -9 (ms)" "${R[rc.gap_kill_default]:-}" "${R[etcd.gap_kill_default]:-}" lo 4
row "failover gap, kill -9, 50/250 (ms)" "${R[rc.gap_kill_fast]:-}" "${R[etcd.gap_kill_fast]:-}" lo 4
row "failover gap, SIGSTOP (ms)" "${R[rc.gap_stop_default]:-}" "${R[etcd.gap_stop_default]:-}" lo
row "failover gap, SIGSTOP, 50/250 (ms)" "${R[rc.gap_stop_fast]:-}" "${R[etcd.gap_stop_fast]:-}" lo
# tail_verdict LABEL VALUE LIMIT [min]: VALUE at most LIMIT is met (at
# least, with min).
tail_verdict() {
	awk -v l="$1" -v v="$2" -v t="$3" -v d="${4:-max}" 'BEGIN {
		if (v == "") { printf "%-56s %8s  -\n", l, "-"; exit }
		ok = d == "min" ? v >= t : v <= t
		printf "%-56s %8.2f  %s (%s %s)\n", l, v, ok ? "met" : "MISSED", d == "min" ? ">=" : "<=", t }'
}
ratio_of() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'; }
kind_name() {
	case $1 in
	rc) echo "raftconfd, default snapshots" ;;
	rcoff) echo "raftconfd, snapshots off" ;;
	etcd) echo "etcd" ;;
	esac
}
if [ "$TAIL_SECS" -gt 0 ]; then
	echo
	echo "writes of new keys (the store grows), 64 connections, $TAIL_SECS s a run, a fresh cluster each"
	printf '%-34s %6s %9s %8s %8s %8s %9s %8s\n' system value writes/s p50_ms p90_ms p99_ms max_ms p99/p50
	for vb in $TAIL_VALUES; do
		for kind in rc rcoff etcd; do
			[ -n "${R[$kind.tail$vb.rps]:-}" ] || continue
			name=$(kind_name "$kind")
			printf '%-34s %6s %9s %8s %8s %8s %9s %8s\n' "$name" "$vb" "${R[$kind.tail$vb.rps]}" \
			    "${R[$kind.tail$vb.p50]}" "${R[$kind.tail$vb.p90]}" "${R[$kind.tail$vb.p99]}" \
			    "${R[$kind.tail$vb.max]}" "$(ratio_of "${R[$kind.tail$vb.p99]}" "${R[$kind.tail$vb.p50]}")"
		done
	done
	echo "where the CPU went in those runs (us a write; the machine: every process and the kernel)"
	printf '%-34s %6s %9s %13s %13s %13s\n' system value busy_% machine_us/w servers_us/w cpu_wait_us/w
	for vb in $TAIL_VALUES; do
		for kind in rc rcoff etcd; do
			[ -n "${R[$kind.tail$vb.busy]:-}" ] || continue
			name=$(kind_name "$kind")
			printf '%-34s %6s %9s %13s %13s %13s\n' "$name" "$vb" "${R[$kind.tail$vb.busy]}" \
			    "${R[$kind.tail$vb.cpuw]}" "${R[$kind.tail$vb.srvw]}" "${R[$kind.tail$vb.waitw]}"
		done
	done
	for vb in $TAIL_VALUES; do
		tail_verdict "raftconfd $vb B: p99 / its p50" \
		    "$(ratio_of "${R[rc.tail$vb.p99]:-}" "${R[rc.tail$vb.p50]:-}")" 2.5
		tail_verdict "raftconfd $vb B: p99 / p99 with snapshots off" \
		    "$(ratio_of "${R[rc.tail$vb.p99]:-}" "${R[rcoff.tail$vb.p99]:-}")" 2.5
		tail_verdict "raftconfd $vb B: p99 / etcd's p99" \
		    "$(ratio_of "${R[rc.tail$vb.p99]:-}" "${R[etcd.tail$vb.p99]:-}")" 1
		tail_verdict "raftconfd $vb B: writes/s / etcd's" \
		    "$(ratio_of "${R[rc.tail$vb.rps]:-}" "${R[etcd.tail$vb.rps]:-}")" 5 min
		[ -n "${R[rc.tail$vb.cpuw]:-}" ] && [ -n "${R[etcd.tail$vb.cpuw]:-}" ] &&
		    echo "    the machine's CPU a write, etcd's / raftconfd's:" \
		    "$(ratio_of "${R[etcd.tail$vb.cpuw]}" "${R[rc.tail$vb.cpuw]}") (the CPU-bound ceiling of the" \
		    "writes/s ratio, raftconfd's machine $(awk -v b="${R[rc.tail$vb.busy]}" 'BEGIN { printf "%.0f", b }') % busy)"
		[ -n "${R[rc.tail$vb.disk]:-}" ] && [ "${R[rc.tail$vb.live]:-0}" -gt 0 ] &&
		    tail_verdict "raftconfd $vb B: data directory a byte of keys and values" \
		    "$(ratio_of "${R[rc.tail$vb.disk]}" "${R[rc.tail$vb.live]}")" 2.5
		[ -n "${R[rc.tail$vb.parts]:-}" ] &&
		    echo "    the largest data directory, ${R[rc.tail$vb.disk]} bytes for ${R[rc.tail$vb.live]}" \
		    "of keys and values: ${R[rc.tail$vb.parts]}"
	done
fi
if [ "$BIG" -gt 0 ]; then
	echo
	echo "a store of $BIG keys of $VALUE_BYTES B (loaded over HTTP by wrk, 64 connections; new keys written after)"
	printf '%-38s %11s %11s %8s  %s\n' figure raftconfd etcd ratio target
	row "load, writes/s @64" "${R[rc.load.rps]:-}" "${R[etcd.load.rps]:-}" hi
	row "writes/s @1 leader" "${R[rc.bw1.rps]:-}" "${R[etcd.bw1.rps]:-}" hi
	row "write p50 @1 leader (ms)" "${R[rc.bw1.p50]:-}" "${R[etcd.bw1.p50]:-}" lo
	row "writes/s @64 leader" "${R[rc.bw64.rps]:-}" "${R[etcd.bw64.rps]:-}" hi 5
	row "write p99 @64 leader (ms)" "${R[rc.bw64.p99]:-}" "${R[etcd.bw64.p99]:-}" lo
	row "linearizable reads/s @64 leader" "${R[rc.blin.rps]:-}" "${R[etcd.blin.rps]:-}" hi
	row "read p99 @64 leader (ms)" "${R[rc.blin.p99]:-}" "${R[etcd.blin.p99]:-}" lo
	row "local reads/s @64 leader" "${R[rc.bstale.rps]:-}" "${R[etcd.bstale.rps]:-}" hi
	row "RSS gained a key, max node (B)" "${R[rc.big_rss]:-}" "${R[etcd.big_rss]:-}" lo 10
	row "  of it anonymous, max node (B)" "${R[rc.big_anon]:-}" "${R[etcd.big_anon]:-}" lo
	row "  of it file pages, max node (B)" "${R[rc.big_mapped]:-}" "${R[etcd.big_mapped]:-}" lo
	row "data directory a key, max node (B)" "${R[rc.big_disk]:-}" "${R[etcd.big_disk]:-}" lo
	row "follower restart, kill -9 to applied (s)" "${R[rc.big_restart]:-}" "${R[etcd.big_restart]:-}" lo
	row "new learner joined and caught up (s)" "${R[rc.big_learner]:-}" "${R[etcd.big_learner]:-}" lo
fi
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "timeouts: heartbeat 100 ms, election 1000 ms (both systems' defaults) unless 50/250."
echo "fdatasync, 4 KiB O_DSYNC appends in $TEST_DIR: $FSYNC_MS ms;" \
    "loopback HTTP round trip (GET /v1/health, 1 connection, p50): ${RTT_MS:-?} ms"
if [ -n "${R[rc.w1L.p50]:-}" ] && [ -n "$RTT_MS" ]; then
	awk -v p="${R[rc.w1L.p50]}" -v f="$FSYNC_MS" -v r="$RTT_MS" 'BEGIN {
		b = 1.5 * (f + r)
		printf "write p50 @1 leader %.3f ms against 1.5 x (fdatasync + round trip) = %.3f ms: %s\n",
		    p, b, p <= b ? "met" : sprintf("MISSED by %.3f ms (%.2fx)", p - b, p / b) }'
fi
errs=""
for k in "${!R[@]}"; do
	[[ "$k" == *.err ]] && [ "${R[$k]}" != 0 ] && errs="$errs ${k%.err}=${R[$k]}/${R[${k%.err}.n]}"
done
echo "errors (status >= 400 or socket errors / requests):${errs:- none}"
finish >/dev/null
