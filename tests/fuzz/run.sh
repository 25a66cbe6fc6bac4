#!/bin/sh
# Runs each libFuzzer harness of .output-fuzz for SECONDS (make fuzz).
#   tests/fuzz/run.sh SECONDS READER...
# Seeds: tests/fuzz/corpus/READER (read only); new inputs go to
# .output-fuzz/corpus/READER; crashes, leaks, timeouts and OOMs to
# .output-fuzz/crashes/READER-*. Prints one line per reader with the
# executions run, and exits 1 when any reader found something.
cd "$(dirname "$0")/../.." || exit 2
secs=${1:-60}
shift
out=.output-fuzz
status=0
for r in "$@"; do
	bin=$out/fuzz_$r
	[ -x "$bin" ] || { echo "FAIL fuzz_$r: $bin not built (make fuzz-build)"; status=1; continue; }
	mkdir -p "$out/corpus/$r" "$out/crashes"
	log=$out/fuzz_$r.log
	# -close_fd_mask=3: the readers' messages about bad input would drown
	# libFuzzer's; sanitizer reports still reach the log.
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-close_fd_mask=3 -print_final_stats=1 -dict=tests/fuzz/json.dict \
		-artifact_prefix="$out/crashes/$r-" "$out/corpus/$r" "tests/fuzz/corpus/$r" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ "$rc" = 0 ]; then
		echo "PASS fuzz_$r: ${execs:-?} executions in ${secs}s, $cov, corpus $(ls "$out/corpus/$r" | wc -l) inputs"
	else
		echo "FAIL fuzz_$r: exit $rc after ${execs:-?} executions; see $log and $out/crashes/"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5
		status=1
	fi
done
exit $status
