#!/usr/bin/env bash
# The built-in model's calibrated 90 % intervals (docs/accuracy.md, "Calibrated 90 %
# intervals"): each fold model of the full reproduce run (scripts/reproduce/full.sh:
# the shipped recipe trained five times, one fold held out each) predicts its own
# held-out cells with dispr predict's defaults (DDIM 10, 5 samples, level 0), then
# `dispr model intervals` fits the intervals on them for models/dispr-fast.safetensors
# and measures their coverage fold by fold. Only folds whose training has finished are
# used (at least two). Predictions resume; rerun after more folds finish.
# Usage: scripts/train/shipped_intervals.sh   (from the repository root)
# Environment: RUN (the reproduce run, default ~/dispr-runs/reproduce-full), DATA
# (default ../shared/data/rbc-sample), OUT (predictions, default ~/dispr-runs/intervals),
# DISPR (default target/release/dispr, built if needed).
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/reproduce-full}
DATA=${DATA:-../shared/data/rbc-sample}
OUT=${OUT:-$HOME/dispr-runs/intervals}
if [ -z "${DISPR:-}" ]; then
  cargo build --release -q -p dispr
  DISPR=target/release/dispr
fi
preds=()
for k in 0 1 2 3 4; do
  # A finished training leaves its record; a half-trained model is not the recipe.
  [ -f "$RUN/work/done/train-dispr-fold$k.json" ] || continue
  "$DISPR" predict --model "$RUN/work/models/dispr-fold$k" --data "$DATA" --out "$OUT/fold$k" --samples 5
  preds+=(--pred "$OUT/fold$k")
done
[ ${#preds[@]} -ge 4 ] || { echo "fewer than two finished fold models in $RUN" >&2; exit 1; }
"$DISPR" model intervals --model models/dispr-fast.safetensors --data "$DATA" "${preds[@]}"
