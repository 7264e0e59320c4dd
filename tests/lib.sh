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
}
trap run_cleanup EXIT

pass() { checks=$((checks + 1)); echo "ok $checks - $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok $checks - $*"; }

# expect_status WANT DESCRIPTION -- CMD...: run CMD, capture its output in
# $TEST_DIR/out and $TEST_DIR/err, and check its exit status.
expect_status() {
	local want=$1 desc=$2 got
	shift 3
	"$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" && got=0 || got=$?
	if [ "$got" = "$want" ]; then
		pass "$desc (exit $got)"
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

finish() {
	echo "1..$checks"
	echo "$((checks - failures)) passed, $failures failed"
	[ "$failures" = 0 ]
}
