#!/bin/bash
# make fuzz: run each libFuzzer target for FUZZ_SECONDS (default 60) from
# its corpus in the tree, one after the other, and say for each what it did
# (executions, speed, coverage, corpus, new inputs) and whether it found
# anything.  Fails when a target stops on a crash, a leak, a timeout
# (FUZZ_TIMEOUT seconds for one input, default 10) or runs out of memory;
# the input is left in fuzz-artifacts/ and shown in hex.
#
#	tests/fuzz.sh BUILDDIR SRCDIR TARGET...
#	tests/fuzz.sh --merge BUILDDIR SRCDIR TARGET...
#
# The corpus in the tree is tests/data/TARGET/seeds, inputs written by hand
# or by a test (for proto and raftmsg, valid messages that check_proto and
# check_raftmsg decode), and tests/data/TARGET/corpus, what fuzzing found
# that reaches code the seeds do not.  A run only reads them: new inputs go
# to BUILDDIR/fuzz-corpus/TARGET.  --merge (make fuzz-merge) rebuilds
# tests/data/TARGET/corpus from itself and BUILDDIR/fuzz-corpus/TARGET:
# the fewest inputs that reach every edge the seeds do not (libFuzzer's
# -merge=1 on edges alone, -use_counters=0, to keep it small).
#
# The summary of a run is also written to BUILDDIR/fuzz-summary.txt.
set -u

merge=0
if [ "${1:-}" = --merge ]; then
	merge=1
	shift
fi
builddir=$1 srcdir=$2
shift 2
seconds=${FUZZ_SECONDS:-60}
timeout=${FUZZ_TIMEOUT:-10}
summary=$builddir/fuzz-summary.txt
mkdir -p "$builddir/fuzz-artifacts"
failed=0

if [ "$merge" = 1 ]; then
	for t in "$@"; do
		data=$srcdir/tests/data/$t
		tmp=$(mktemp -d)
		cp "$data/seeds/"* "$tmp/"
		mkdir -p "$data/corpus" "$builddir/fuzz-corpus/$t"
		if ! "$builddir/tests/fuzz_$t" -merge=1 -use_counters=0 "$tmp" "$data/corpus" \
			"$builddir/fuzz-corpus/$t" >"$builddir/fuzz-artifacts/$t-merge.log" 2>&1; then
			echo "fuzz_$t: merge failed; see $builddir/fuzz-artifacts/$t-merge.log"
			failed=1
			rm -rf "$tmp"
			continue
		fi
		for f in "$data/seeds/"*; do
			rm -f "$tmp/${f##*/}"
		done
		rm -f "$data/corpus/"*
		cp "$tmp/"* "$data/corpus/" 2>/dev/null
		rm -rf "$tmp"
		echo "fuzz_$t: $(ls "$data/corpus" | wc -l) inputs in $data/corpus" \
			"($(cat "$data/corpus/"* 2>/dev/null | wc -c) bytes)"
	done
	exit "$failed"
fi

stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

: >"$summary"
for t in "$@"; do
	bin=$builddir/tests/fuzz_$t
	data=$srcdir/tests/data/$t
	scratch=$builddir/fuzz-corpus/$t
	log=$builddir/fuzz-artifacts/$t.log
	mkdir -p "$scratch"
	dirs=("$scratch" "$data/seeds")
	[ -d "$data/corpus" ] && dirs+=("$data/corpus")
	args=(-max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$builddir/fuzz-artifacts/$t-")
	[ -f "$data/fuzz.dict" ] && args+=(-dict="$data/fuzz.dict")
	echo "== fuzz_$t: $seconds s from $(find "${dirs[@]:1}" -type f | wc -l) inputs" \
		"($(find "${dirs[@]:1}" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }') bytes)"
	rm -f "$builddir/fuzz-artifacts/$t-"*
	UBSAN_OPTIONS=print_stacktrace=1 "$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	# The last status line: "#RUNS DONE cov: N ft: N corp: N/SIZE ...".
	last=$(grep -aE '^#[0-9]+' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	line=$(printf 'fuzz_%-8s %10s execs %7s/s  cov %5s  ft %6s  corpus %5s  new %4s' "$t" \
		"$(stat_of number_of_executed_units "$log")" "$(stat_of average_exec_per_sec "$log")" \
		"${cov:-?}" "${ft:-?}" "${corp:-?}" "$(stat_of new_units_added "$log")")
	if [ "$rc" = 0 ]; then
		line="$line  ok"
	else
		failed=1
		line="$line  FAILED (exit $rc)"
		# From what the target or a sanitizer said, with its stack.
		awk -v t="fuzz_$t:" 'index($0, t) == 1 || /^==[0-9]+== ?ERROR/ || /^SUMMARY/ { on = 1 }
			on && n++ < 60' "$log"
		for a in "$builddir/fuzz-artifacts/$t-"*; do
			[ -f "$a" ] || continue
			echo "---- $a ($(wc -c <"$a") bytes):"
			od -A d -t x1z -v "$a" | head -n 32
		done
	fi
	echo "$line"
	echo "$line" >>"$summary"
done
exit "$failed"
