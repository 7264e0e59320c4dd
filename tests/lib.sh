# tests/lib.sh — shared helpers for the shell tests that make check runs.
# Sourced, not executed.  Every test cleans up what it started, even on failure.

set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
RAFTCONFD=$top_builddir/raftconfd
RAFTCONFCTL=$top_builddir/raftconfctl

TEST_NAME=$(basename "$0" .test)
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/raftconf-$TEST_NAME.XXXXXX")
failures=0
checks=0

cleanup_hooks=()
on_exit() { cleanup_hooks+=("$1"); }
run_cleanup() {
	local i
	for ((i = ${#cleanup_hooks[@]} - 1; i >= 0; i--)); do eval "${cleanup_hooks[$i]}" || true; done
	if [ "$failures" = 0 ] && [ -z "${KEEP_TEST_DIR:-}" ]; then
		rm -rf "$TEST_DIR"
	else
		echo "# test directory kept: $TEST_DIR"
	fi
	# Last, so that a log's tail (what CI prints of a failed test) names them.
	if [ "$failures" != 0 ]; then
		echo "# the failed checks, again:"
		for i in "${failed_checks[@]}"; do echo "# $i" | cut -c1-400; done
	fi
}
trap run_cleanup EXIT

pass() { checks=$((checks + 1)); echo "ok $checks - $*"; }
failed_checks=()
fail() {
	checks=$((checks + 1)) failures=$((failures + 1))
	echo "not ok $checks - $*"
	failed_checks+=("not ok $checks - $*")
}

# Deadlines.  Nothing a test runs may hang make check: a program run in the
# foreground goes through bounded (or expect_status, which bounds it), a
# background one is waited for with wait_exit and killed by the exit trap.
#
# bounded SECONDS CMD...: run CMD as timeout(1) does: SIGTERM at the
# deadline, SIGKILL 5 s later; then the status is 124 (or 137), see timed_out.
bounded() {
	local s=$1
	shift
	timeout --foreground -k 5 "$s" "$@"
}
timed_out() { [ "$1" = 124 ] || [ "$1" = 137 ]; }

# proc_gone PID: the process has ended (a zombie not yet reaped has).
proc_gone() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "${st%% *}" = Z ]
}

# kill_tree PID [SIGNAL]: PID and every process it started (a background
# shell function's subshell, a timeout(1) and its command).
kill_tree() {
	local pid=$1 sig=${2:-TERM} children c
	children=$(ps -o pid= --ppid "$pid" 2>/dev/null)
	kill -s "$sig" "$pid" 2>/dev/null
	for c in $children; do kill_tree "$c" "$sig"; done
}

# wait_exit SECONDS PID: wait for the background job PID and give its exit
# status; if it still runs after SECONDS, kill it and what it started, set
# WAIT_KILLED=1 and give 124.
wait_exit() {
	local deadline=$(( $(date +%s) + $1 )) pid=$2
	WAIT_KILLED=0
	while ! proc_gone "$pid"; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			kill_tree "$pid" KILL
			wait "$pid" 2>/dev/null
			WAIT_KILLED=1
			return 124
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
}

# wait_gone SECONDS PID DESCRIPTION: wait_exit for a job whose exit status
# does not matter; a failure only if it had to be killed.
wait_gone() {
	wait_exit "$1" "$2"
	[ "$WAIT_KILLED" = 0 ] || fail "$3 still ran after $1 s; killed"
}

# expect_status WANT DESCRIPTION -- CMD...: run CMD, capture its output in
# $TEST_DIR/out and $TEST_DIR/err, and check its exit status.  A program is
# bounded by EXPECT_DEADLINE seconds (default 30); a shell function given as
# CMD (ctl, bounded) bounds what it runs itself.
expect_status() {
	local want=$1 desc=$2 got deadline=${EXPECT_DEADLINE:-30}
	shift 3
	if [ "$(type -t "$1")" = function ]; then
		"$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" && got=0 || got=$?
	else
		bounded "$deadline" "$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" && got=0 || got=$?
	fi
	if [ "$got" = "$want" ]; then
		pass "$desc (exit $got)"
	elif timed_out "$got"; then
		fail "$desc: still running at its deadline (exit $got), wanted exit $want"
		sed 's/^/#   stderr: /' "$TEST_DIR/err" | head -20
	else
		fail "$desc: exit $got, wanted $want"
		sed 's/^/#   stdout: /' "$TEST_DIR/out" | head -20
		sed 's/^/#   stderr: /' "$TEST_DIR/err" | head -20
	fi
}

# expect_grep FILE PATTERN DESCRIPTION
expect_grep() {
	if grep -qE -- "$2" "$1"; then
		pass "$3"
	else
		fail "$3: /$2/ not in $(basename "$1")"
		sed 's/^/#   /' "$1" | head -20
	fi
}

# wait_for DEADLINE_SECONDS DESCRIPTION CMD...: poll CMD until it succeeds.
wait_for() {
	local deadline=$(( $(date +%s) + $1 )) desc=$2
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			fail "$desc: not true within the deadline"
			return 1
		fi
		sleep 0.05
	done
	pass "$desc"
}

# poll SECONDS CMD...: wait_for without a verdict: CMD's success within
# SECONDS, for a window a test tries to hit and reports on either way.
poll() {
	local deadline=$(( $(date +%s) + $1 ))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.02
	done
}

finish() {
	echo "1..$checks"
	echo "$((checks - failures)) passed, $failures failed"
	[ "$failures" = 0 ]
}
