#!/bin/bash
# make fuzz: run each libFuzzer target for FUZZ_SECONDS (default 60) from
# its corpus in the tree, one after the other, and say for each what it did
# (executions, speed, coverage, corpus, new inputs) and whether it found
# anything.  Fails when a target stops on a crash, a leak, a timeout
# (FUZZ_TIMEOUT seconds for one input, default 10) or runs out of memory;
# the input is left in fuzz-artifacts/ and shown in hex.
#
#	tests/fuzz.sh BUILDDIR SRCDIR TARGET...
#
# The in-tree corpus, tests/data/TARGET/seeds, is only read: what the run
# finds goes to BUILDDIR/fuzz-corpus/TARGET, to be merged by hand
# (README.md, "Fuzzing").  The summary is also written to
# BUILDDIR/fuzz-summary.txt.
set -u

builddir=$1 srcdir=$2
shift 2
seconds=${FUZZ_SECONDS:-60}
timeout=${FUZZ_TIMEOUT:-10}
summary=$builddir/fuzz-summary.txt
: >"$summary"
mkdir -p "$builddir/fuzz-artifacts"
failed=0

stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

for t in "$@"; do
	bin=$builddir/tests/fuzz_$t
	seeds=$srcdir/tests/data/$t/seeds
	dict=$srcdir/tests/data/$t/fuzz.dict
	corpus=$builddir/fuzz-corpus/$t
	log=$builddir/fuzz-artifacts/$t.log
	mkdir -p "$corpus"
	args=(-max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$builddir/fuzz-artifacts/$t-")
	[ -f "$dict" ] && args+=(-dict="$dict")
	echo "== fuzz_$t: $seconds s from $(ls "$seeds" | wc -l) seeds"
	rm -f "$builddir/fuzz-artifacts/$t-"*
	UBSAN_OPTIONS=print_stacktrace=1 "$bin" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	# The last status line: "#RUNS DONE cov: N ft: N corp: N/SIZE ...".
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
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
