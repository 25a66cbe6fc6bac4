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
"$PY" -c 'import torch' 2>/dev/null || {
	echo "bench: python3-torch is missing; run: sudo make deps" >&2
	exit 2
}
exec "$PY" bench/bench.py
