#!/bin/bash
# make bench: overhead of leaktrace record against the uprobe floor, bpftrace
# and an in-process tracer, a two-process loss test, BPF run times; writes
# docs/PERFORMANCE.md from the figures measured in this run.
#   sudo make bench            a few minutes
#   sudo QUICK=1 make bench    about a minute (fewer calls, one repetition)
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3.11

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (uprobes and BPF); run: sudo make bench" >&2
	exit 2
fi
if [ ! -x .output/leaktrace ]; then
	echo "bench: .output/leaktrace is missing; run: make bench (it builds first)" >&2
	exit 2
fi
# bpftrace is a baseline, not a dependency of leaktrace: Debian's package only
if ! command -v bpftrace >/dev/null 2>&1; then
	echo "bench: installing Debian's bpftrace (baseline)" >&2
	if ! { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bpftrace >&2; }; then
		echo "bench: bpftrace could not be installed; its row is left out" >&2
	fi
fi
# Debian's bpftrace (0.17) attaches uprobes through tracefs, which a machine
# may not have mounted (leaktrace itself needs none)
if command -v bpftrace >/dev/null 2>&1 && [ ! -e /sys/kernel/tracing/uprobe_events ] &&
	[ ! -e /sys/kernel/debug/tracing/uprobe_events ]; then
	mount -t tracefs nodev /sys/kernel/tracing ||
		echo "bench: tracefs could not be mounted; bpftrace's rows will fail" >&2
fi
"$PY" -c 'import torch' 2>/dev/null || {
	echo "bench: python3-torch is missing; run: sudo make deps" >&2
	exit 2
}
"$PY" bench/bench.py
# analysis at scale (LARGE=1 adds 1M executions: ~13 GB of disk) and, with
# LONG=1, the 10-minute memory run, with SOAK=1 the soak (bench/soak.py);
# appended to docs/PERFORMANCE.md
{
	echo
	echo "## Analysis at scale (bench/analyze_bench.sh, LARGE=${LARGE:-0})"
	echo
	echo '```'
	LARGE=${LARGE:-0} bench/analyze_bench.sh
	echo '```'
	# issue 20: trap cost, BPF ns per call against bpftrace, burst loss
	echo
	echo "## Hot path (bench/hotpath.py, issue 20)"
	echo
	# nine repetitions in turn (one with QUICK=1): medians and ranges;
	# pinned, the workload and its tracer on CPUs of their own
	"$PY" bench/hotpath.py --pin --reps "$([ "${QUICK:-0}" = 1 ] && echo 1 || echo 9)"
	if [ "${LONG:-0}" = 1 ]; then
		echo
		echo "## Long run (bench/long_run.sh)"
		echo
		bench/long_run.sh
	fi
	# SOAK=1: the threaded server under loopback load with SIGHUP
	# rotation every minute, SOAK_MINUTES long (default 10)
	if [ "${SOAK:-0}" = 1 ]; then
		echo
		echo "## Soak (bench/soak.py --minutes ${SOAK_MINUTES:-10})"
		echo
		"$PY" bench/soak.py --minutes "${SOAK_MINUTES:-10}"
	fi
} >> docs/PERFORMANCE.md
