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
for round in $(seq "${BENCH_TLS_ROUNDS:-2}"); do
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
				-k 1000000000 | cut -c8-
		done
		cluster_kill_all
	done
done
finish >/dev/null
