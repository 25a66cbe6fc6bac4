#!/bin/bash
# Run the four experiments of docs/EXPERIMENTS.md at their default scales
# (about 10 minutes on 2 cores) and rewrite their sections.
# Env: RECORDER, ANALYZER (experiments/lib.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/experiments/experiment_images.sh" "$@"
"$ROOT/experiments/experiment_images.sh" --control "$@"
"$ROOT/experiments/experiment_backdoor.sh"
"$ROOT/experiments/experiment_rnn.sh"
