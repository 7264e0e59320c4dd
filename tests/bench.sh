#!/bin/bash
# make bench: a local three-node cluster loaded through the control sockets.
# Prints throughput, latency and memory as a table.  Not part of make check.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"
BENCH=$top_builddir/tests/bench
SECONDS_PER_RUN=${BENCH_SECONDS:-5}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

HEARTBEAT_MS=100 ELECTION_MS=1000 LOG_LEVEL=notice cluster_init 3
cluster_start
wait_leader 30 || { echo "no leader"; exit 1; }
follower=$(( LEADER % 3 + 1 ))
echo "raftconfd $("$RAFTCONFD" --version | awk '{print $2}'), $(nproc) cores, $(uname -r), data in $TEST_DIR"

# The floor, measured now on this machine: a write acknowledged by a
# majority costs at least a round trip client -> leader, one leader ->
# follower and the follower's fdatasync (the leader's runs meanwhile).
floor() {
	local fs rt
	fs=$("$BENCH" -o fsync -d "$TEST_DIR" -t 2) || return
	rt=$("$BENCH" -o rtt -t 2) || return
	set -- $fs
	FSYNC_US=$4
	set -- $rt
	RTT_US=$4
	FLOOR_US=$((FSYNC_US + 2 * RTT_US))
	echo "floor: fdatasync of 4 KiB here p50 ${FSYNC_US} us; loopback round trip p50 ${RTT_US} us;" \
		"one replicated write >= fdatasync + 2 round trips = ${FLOOR_US} us"
}
floor
idle=""
for i in 1 2 3; do idle="$idle n$i=$(rss_kb "${NODE_PID[$i]}")KB"; done

# BENCH_MAIN=0 skips this table and the snapshot below (for the sections after).
if [ "${BENCH_MAIN:-1}" = 1 ]; then
printf '\n%-6s %-8s %4s %10s %10s %10s %6s %10s\n' op target clients ops/s p50_us p99_us errors max_us
for spec in "set leader 1" "set leader 64" "set follower 64" "get leader 64" "get follower 64" \
	"stale leader 64" "stale follower 64"; do
	set -- $spec
	node=$LEADER; [ "$2" = follower ] && node=$follower
	printf '%-6s %-8s ' "$1" "$2"
	"$BENCH" -s "$(node_sock "$node")" -c "$3" -t "$SECONDS_PER_RUN" -o "$1" | cut -c8-
done
echo
echo "resident memory idle:      $idle"
after=""
for i in 1 2 3; do after="$after n$i=$(rss_kb "${NODE_PID[$i]}")KB"; done
echo "resident memory after load:$after"

# A store of 100 000 keys: how long a snapshot takes, and the longest the
# event loop stalled meanwhile (heartbeats wait that long).
"$BENCH" -s "$(node_sock "$LEADER")" -c 32 -t 600 -o set -n 100000 -k 100000 -v 128 >/dev/null
ctl "$LEADER" snapshot >/dev/null
ctl "$LEADER" status >"$TEST_DIR/st"
echo "snapshot of 100000 keys:   $(awk '$1 == "snapshot_last_ms:" {print $2}' "$TEST_DIR/st") ms;" \
	"longest loop stall so far: $(awk '$1 == "loop_stall_max_ms:" {print $2}' "$TEST_DIR/st") ms;" \
	"snapshot file $(ls -l "$TEST_DIR/n$LEADER/snap/" | awk '/snap$/ {s=$5} END {print s}') bytes"
fi

# Writes of keys never written before: the store grows by every one (a
# pool of 1000 keys, above, never grows it), at 128 B and 1 KiB values.
# BENCH_GROW=0 skips it.
if [ "${BENCH_GROW:-1}" = 1 ]; then
	echo
	echo "writes of new keys (the store grows), ${SECONDS_PER_RUN} s a row"
	floor
	printf '%-6s %-8s %6s %4s %10s %10s %10s %6s %10s %8s\n' op target value clients ops/s p50_us \
		p99_us errors max_us p50/floor
	for spec in "leader 128 1" "leader 128 64" "follower 128 64" "leader 1024 1" "leader 1024 64"; do
		set -- $spec
		node=$LEADER; [ "$1" = follower ] && node=$follower
		out=$("$BENCH" -s "$(node_sock "$node")" -c "$3" -t "$SECONDS_PER_RUN" -o set -u \
			-k 1000000000 -v "$2")
		printf '%-6s %-8s %6s %s %8s\n' set "$1" "$2" "$(echo "$out" | cut -c8-)" \
			"$(echo "$out" | awk -v f="$FLOOR_US" '{ printf "%.2f", $4 / f }')"
	done
fi

# What a compare-and-set write costs against a plain one (issue 15: no
# more): the same writes of new keys (-u -k 1000000000: each write a key
# never written), made plain (SET) or conditional (SET_IF revision 0, decided by
# the state machine as it applies), in turn, BENCH_CAS_ROUNDS times.
# BENCH_CAS=0 skips it.
if [ "${BENCH_CAS:-1}" = 1 ]; then
	echo
	echo "compare-and-set against plain writes of new keys, in turn, ${SECONDS_PER_RUN} s a row"
	printf '%-6s %-6s %-8s %4s %10s %10s %10s %6s %10s\n' round op target clients ops/s p50_us \
		p99_us errors max_us
	for round in $(seq "${BENCH_CAS_ROUNDS:-2}"); do
		# the store grows row by row: which op goes first turns each round
		ops="set cas"; [ $((round % 2)) = 0 ] && ops="cas set"
		for clients in 1 64; do
			for op in $ops; do
				printf '%-6s %-6s %-8s ' "$round" "$op" leader
				"$BENCH" -s "$(node_sock "$LEADER")" -c "$clients" -t "$SECONDS_PER_RUN" \
					-o "$op" -k 1000000000 -u | cut -c8-
			done
		done
	done
fi

# A large store (issue 16): BENCH_BIG_KEYS keys of 128 B (default 1000000;
# 0 skips it) loaded into a fresh cluster over the control socket, then
# writes, reads, a snapshot, a follower's restart and a learner's catch-up
# measured at that size, with memory and disk per node.
big=${BENCH_BIG_KEYS:-1000000}
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
if [ "$big" -gt 0 ]; then
	cluster_kill_all
	for i in 1 2 3 4; do rm -rf "$TEST_DIR/n$i" "$TEST_DIR/n$i.log"; done
	NODE_PID=()
	HEARTBEAT_MS=100 ELECTION_MS=1000 LOG_LEVEL=notice cluster_init 3 4
	write_config 4 1 2 3 # a spare, to join as a learner
	cluster_start
	wait_leader 30 || { echo "no leader"; exit 1; }
	follower=$(( LEADER % 3 + 1 ))
	echo
	echo "a store of $big keys of 128 B"
	floor
	for i in 1 2 3; do rss0[$i]=$(rss_kb "${NODE_PID[$i]}"); done
	printf '%-6s %-8s %4s %10s %10s %10s %6s %10s\n' op target clients ops/s p50_us p99_us errors max_us
	printf '%-6s %-8s ' load leader
	"$BENCH" -s "$(node_sock "$LEADER")" -c 64 -t 3600 -o set -q -n "$big" -k "$big" | cut -c8-
	for spec in "set leader 1" "set leader 64" "get leader 64" "get follower 64" "stale follower 64"; do
		set -- $spec
		node=$LEADER; [ "$2" = follower ] && node=$follower
		printf '%-6s %-8s ' "$1" "$2"
		if [ "$1" = set ]; then
			"$BENCH" -s "$(node_sock "$node")" -c "$3" -t "$SECONDS_PER_RUN" -o set -u \
				-k 1000000000 | cut -c8-
		else
			"$BENCH" -s "$(node_sock "$node")" -c "$3" -t "$SECONDS_PER_RUN" -o "$1" -k "$big" |
				cut -c8-
		fi
	done
	ctl "$LEADER" snapshot >/dev/null
	ctl "$LEADER" status >"$TEST_DIR/st"
	echo "snapshot of the leader's store: $(awk '$1 == "snapshot_last_ms:" {print $2}' "$TEST_DIR/st") ms," \
		"file $(ls -l "$TEST_DIR/n$LEADER/snap/" | awk '/snap$/ {s=$5} END {print s}') bytes;" \
		"the most its writes piled in memory while a writer read the store:" \
		"$(awk '$1 == "store_piled_peak_bytes:" {print $2}' "$TEST_DIR/st") bytes"
	for i in 1 2 3; do
		echo "n$i: longest loop stall $(status_field "$i" loop_stall_max_ms) ms," \
			"resident $(rss_kb "${NODE_PID[$i]}") KB ($(( ($(rss_kb "${NODE_PID[$i]}") - rss0[$i]) * 1024 / big )) bytes a key more than empty)," \
			"data dir $(du -sb "$TEST_DIR/n$i" | cut -f1) bytes ($(( $(du -sb "$TEST_DIR/n$i" | cut -f1) / big )) a key)"
		# where they go: the store's mapped file pages count in RSS
		echo "    resident: $(awk '/^Rss(Anon|File|Shmem):/ { printf "%s %s KB  ", $1, $2 }' \
			"/proc/${NODE_PID[$i]}/status")data dir: $(data_parts "$TEST_DIR/n$i")"
	done
	# A follower killed -9 and started again: how long until it serves
	# and has applied what the leader committed when it came back.
	node_kill "$follower" KILL
	commit=$(status_field "$LEADER" commit)
	t0=$(date +%s.%N)
	node_start "$follower"
	until [ "$(CTL_TIMEOUT=1 status_field "$follower" applied 2>/dev/null || echo 0)" -ge "$commit" ] 2>/dev/null; do
		(( $(date +%s) - ${t0%.*} > 600 )) && { echo "n$follower did not catch up in 600 s"; exit 1; }
		sleep 0.02
	done
	echo "restart of n$follower (kill -9 to serving, applied up to the commit): $(elapsed "$t0") s," \
		"resident then $(rss_kb "${NODE_PID[$follower]}") KB"
	# A new learner: from join to holding everything the leader had committed.
	node_start 4
	for _ in $(seq 600); do [ "$(status_field 4 role 2>/dev/null)" = spare ] && break; sleep 0.05; done
	commit=$(status_field "$LEADER" commit)
	t0=$(date +%s.%N)
	ctl 4 join --learner "$(node_addr "$LEADER")" >/dev/null
	until [ "$(status_field 4 applied 2>/dev/null || echo 0)" -ge "$commit" ] 2>/dev/null; do
		(( $(date +%s) - ${t0%.*} > 600 )) && { echo "n4 did not catch up in 600 s"; exit 1; }
		sleep 0.05
	done
	echo "a learner joined and caught up with $big keys in $(elapsed "$t0") s," \
		"resident $(rss_kb "${NODE_PID[4]}") KB, data dir $(du -sb "$TEST_DIR/n4" | cut -f1) bytes," \
		"its longest loop stall $(status_field 4 loop_stall_max_ms) ms"
fi

# What mutual TLS between the peers costs (issue 14: at most 10 % fewer
# writes/s and 50 us more p50 at one client).  Fresh clusters, plain and
# TLS in turn, BENCH_TLS_ROUNDS times each, the same writes of distinct
# keys through the leader (1 and 64 clients) and through a follower (every
# write forwarded over a peer link).  BENCH_TLS=0 skips it.
[ "${BENCH_TLS:-1}" = 0 ] && { finish >/dev/null; exit; }
# BENCH_TLS_SPECS="set leader 1,set follower 64" chooses the rows.
IFS=, read -ra tls_specs <<<"${BENCH_TLS_SPECS:-set leader 1,set leader 64,set follower 64}"
cluster_kill_all
echo
echo "mutual TLS between peers: plain and TLS clusters in turn, ${SECONDS_PER_RUN} s a row"
printf '%-6s %-6s %-8s %4s %10s %10s %10s %6s %10s\n' round peers target clients ops/s p50_us p99_us errors \
	max_us
for round in $(seq "${BENCH_TLS_ROUNDS:-6}"); do
	for mode in plain tls; do
		for i in 1 2 3; do rm -rf "$TEST_DIR/n$i" "$TEST_DIR/n$i.log"; done
		NODE_PID=()
		TLS=0; [ "$mode" = tls ] && TLS=1
		HEARTBEAT_MS=100 ELECTION_MS=1000 LOG_LEVEL=notice cluster_init 3
		cluster_start
		wait_leader 30 || { echo "no leader"; exit 1; }
		follower=$(( LEADER % 3 + 1 ))
		for spec in "${tls_specs[@]}"; do
			set -- $spec
			node=$LEADER; [ "$2" = follower ] && node=$follower
			printf '%-6s %-6s %-8s ' "$round" "$mode" "$2"
			"$BENCH" -s "$(node_sock "$node")" -c "$3" -t "$SECONDS_PER_RUN" -o "$1" \
				-k 1000000000 | cut -c8- | tee -a "$TEST_DIR/tls-rows"
		done
		cluster_kill_all
	done
done
# The cost, row kind by row kind: each round's TLS row against the plain
# row just before it (the disk's speed drifts over minutes, so only rows
# next to each other compare), and the median of those pairs.
echo
specs=$(IFS=,; echo "${tls_specs[*]}")
awk -v rounds="${BENCH_TLS_ROUNDS:-6}" -v specs="$specs" '
	function median(a, n,    i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ ops[NR] = $2; p50[NR] = $3 }
	END {
		nspecs = split(specs, spec, ",")
		per = 2 * nspecs
		for (s = 1; s <= nspecs; s++) {
			n = 0
			for (r = 0; r < rounds; r++) {
				plain = r * per + s; tls = plain + nspecs
				if (!(tls in ops) || ops[plain] == 0) continue
				n++
				dw[n] = 100 * (ops[tls] / ops[plain] - 1)
				dp[n] = p50[tls] - p50[plain]
			}
			if (n == 0) continue
			split(spec[s], f, " ")
			printf "TLS cost, %s through the %s, clients %s, median of %d pairs: %+.1f %% writes/s, %+d us p50", \
				f[1], f[2], f[3], n, median(dw, n), median(dp, n)
			if (f[3] == 1) printf " (target: at least -10 %%, at most +50 us)"
			printf "\n"
		}
	}' "$TEST_DIR/tls-rows"
finish >/dev/null
