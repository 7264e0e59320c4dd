#!/bin/sh
# raft-bugs.sh — proof that the Raft simulator has teeth (make raft-teeth).
#
# Builds tests/raft-sim once per known bug, injected into the Raft core
# (daemon/raft*.c) with -DRAFT_BUG_<NAME>, into a scratch directory, runs it
# on the seeds make check uses (with the options after the bug's name:
# NAME:OPTION, as raft-sim.test runs it), and prints one line per bug:
# "caught at seed S" or "NOT caught".
# Exits 1 if any bug goes unnoticed.
#
# usage: raft-bugs.sh [SEEDS]     (environment: CC, CFLAGS, srcdir, builddir)
set -u

seeds=${1:-2000}		# keep equal to the count in tests/raft-sim.test
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${builddir:-.}
cc=${CC:-cc}
cflags=${CFLAGS:--O2}
scratch=$builddir/raft-teeth
status=0

mkdir -p "$scratch" || exit 1
for spec in COMMIT_OLD_TERM VOTE_NO_LOG_CHECK VOTE_BEFORE_PERSIST \
	   APPLY_BEFORE_COMMIT READ_NO_HEARTBEAT VOTE_WHILE_CATCHING_UP:--lose-entries; do
	bug=${spec%%:*}
	opt=
	[ "$bug" = "$spec" ] || opt=${spec#*:}
	bin=$scratch/raft-sim-$bug
	if ! $cc -std=gnu11 $cflags -I"$srcdir/daemon" -DRAFT_BUG_$bug \
		"$srcdir"/daemon/raft.c "$srcdir"/daemon/raft_*.c "$srcdir/daemon/members.c" "$srcdir"/tests/raft-sim*.c -o "$bin"; then
		echo "RAFT_BUG_$bug: does not build" >&2
		status=1
		continue
	fi
	out=$("$bin" --seeds "$seeds" $opt 2>&1)
	line=$(printf '%s\n' "$out" | grep -m1 ': FAIL at tick')
	if [ -n "$line" ]; then
		seed=$(printf '%s\n' "$line" | sed 's/^seed \([0-9]*\):.*/\1/')
		why=$(printf '%s\n' "$line" | sed 's/^seed [0-9]*: FAIL at tick [0-9]*: //')
		printf '%-28s caught at seed %s: %s\n' "RAFT_BUG_$bug" "$seed" "$why"
	else
		printf '%-28s NOT caught in %s seeds\n' "RAFT_BUG_$bug" "$seeds"
		status=1
	fi
done
exit $status
