#!/bin/bash
# Run the four experiments of docs/EXPERIMENTS.md at their default scales
# (about 10 minutes on 2 cores) and rewrite their sections.
# Env: RECORDER, ANALYZER (scripts/lib.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/experiment_images.sh" "$@"
"$ROOT/scripts/experiment_images.sh" --control "$@"
"$ROOT/scripts/experiment_backdoor.sh"
"$ROOT/scripts/experiment_rnn.sh"
