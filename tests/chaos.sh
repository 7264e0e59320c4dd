# tests/chaos.sh — concurrent writers and the checker of what they were told,
# for the chaos tests.  Sourced after lib.sh and cluster.sh.
#
# chaos_writers N [WRITES]: N writers in the background.  Writer W sets
# /chaos/W/I to W-I for I = 1, 2, ... through a random node of 1..CLUSTER_N,
# one raftconfctl at a time, until WRITES writes (0, the default: until
# chaos_stop).  A write whose raftconfctl exits 0 was acknowledged: it is
# appended to acked.W as "KEY VALUE"; tried.W holds the count attempted.
# chaos_acked: the number acknowledged so far.
# chaos_wait_acked SECONDS N DESCRIPTION: at least N acknowledged by then.
# chaos_stop: the writers finish the write they are in and stop.
# chaos_check NODES...: every node converges on the leader's /chaos/, and
# every acknowledged write is there with its value on every node; prints
# "# N acknowledged of M attempted, K missing" and fails if K > 0.

CHAOS_PIDS=()
CHAOS_WRITERS=0

chaos_writer() {
	local w=$1 writes=$2 i node
	for ((i = 1; writes == 0 || i <= writes; i++)); do
		[ -e "$TEST_DIR/chaos.stop" ] && break
		echo "$i" >"$TEST_DIR/tried.$w"
		node=$((RANDOM % CLUSTER_N + 1))
		if CTL_TIMEOUT=${CHAOS_CTL_TIMEOUT:-8} ctl "$node" --dial-timeout 0 set "/chaos/$w/$i" "$w-$i" \
			>/dev/null 2>>"$TEST_DIR/writer$w.err"; then
			echo "/chaos/$w/$i $w-$i" >>"$TEST_DIR/acked.$w"
		fi
	done
}

chaos_writers() {
	local w
	CHAOS_WRITERS=$1
	rm -f "$TEST_DIR/chaos.stop"
	for ((w = 1; w <= CHAOS_WRITERS; w++)); do
		: >"$TEST_DIR/acked.$w"
		echo 0 >"$TEST_DIR/tried.$w"
		chaos_writer "$w" "${2:-0}" &
		CHAOS_PIDS+=($!)
		on_exit "kill_tree $!"
	done
}

chaos_acked() { cat "$TEST_DIR"/acked.* 2>/dev/null | wc -l; }

chaos_wait_acked() {
	local deadline=$(($(date +%s) + $1))
	while [ "$(chaos_acked)" -lt "$2" ]; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			fail "$3: $(chaos_acked) acknowledged, not $2, within $1 s"
			return 1
		fi
		sleep 0.1
	done
	pass "$3"
}

# chaos_wait_writers SECONDS: each writer ends (chaos_stop, or its count).
chaos_wait_writers() {
	local p
	for p in "${CHAOS_PIDS[@]}"; do wait_gone "$1" "$p" "writer $p"; done
	CHAOS_PIDS=()
}

chaos_stop() {
	touch "$TEST_DIR/chaos.stop"
	# each write is bounded by CHAOS_CTL_TIMEOUT (and ctl's deadline)
	chaos_wait_writers 60
}

chaos_check() {
	local i w acked tried=0 missing nodes="$*"
	cat "$TEST_DIR"/acked.* >"$TEST_DIR/acked" 2>/dev/null
	acked=$(wc -l <"$TEST_DIR/acked")
	for ((w = 1; w <= CHAOS_WRITERS; w++)); do
		tried=$((tried + $(cat "$TEST_DIR/tried.$w")))
	done
	wait_for 60 "a leader lists /chaos/" \
		eval "wait_leader 20 && ctl \$LEADER list /chaos/ >'$TEST_DIR/chaos.leader'"
	: >"$TEST_DIR/missing"
	for i in "$@"; do
		wait_for 60 "n$i converges on the leader's /chaos/" \
			eval "ctl $i list --stale /chaos/ >'$TEST_DIR/chaos.n$i' && cmp -s '$TEST_DIR/chaos.leader' '$TEST_DIR/chaos.n$i'"
		# what n$i lacks or holds with another value, as "KEY VALUE nI"
		awk -v n="n$i" 'FNR == NR { v[$1] = $2; next }
			!($1 in v) || v[$1] != $2 { print $1, $2, n }' \
			"$TEST_DIR/chaos.n$i" "$TEST_DIR/acked" >>"$TEST_DIR/missing"
	done
	missing=$(awk '{ print $1 }' "$TEST_DIR/missing" | sort -u | wc -l)
	head -n 20 "$TEST_DIR/missing" | sed 's/^/# missing: /'
	echo "# $acked acknowledged of $tried attempted, $missing missing"
	[ "$acked" -gt $((tried / 2)) ] && pass "most writes were acknowledged ($acked of $tried)" ||
		fail "only $acked of $tried writes acknowledged"
	[ "$missing" = 0 ] && pass "every acknowledged write is on n${nodes// /, n} with its value" ||
		fail "$missing acknowledged writes are missing or changed"
}
