#!/usr/bin/env bash
# Issue #23, lever "size by scale" (docs/accuracy.md): each fold model of the full
# reproduce run (scripts/reproduce/full.sh: the shipped recipe trained five times, one
# fold held out each) learns its scale on its own training cells (`dispr model calibrate
# --by scale --cells 40`), then predicts its held-out cells with dispr predict's defaults
# (DDIM 10, 5 samples); the five folds are evaluated pooled beside the uncorrected
# predictions (scripts/train/shipped_intervals.sh) and the baselines. Resumable: a fold
# already calibrated or predicted is skipped.
# Usage: scripts/train/scale_cv.sh   (from the repository root)
# Environment: RUN (the reproduce run, default ~/dispr-runs/reproduce-full), OUT (default
# ~/dispr-runs/scale-cv), BEFORE (uncorrected predictions, default
# ~/dispr-runs/intervals), DATA (default ../shared/data/rbc-sample), DISPR (default
# target/release/dispr, built if needed).
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/reproduce-full}
OUT=${OUT:-$HOME/dispr-runs/scale-cv}
BEFORE=${BEFORE:-$HOME/dispr-runs/intervals}
DATA=${DATA:-../shared/data/rbc-sample}
if [ -z "${DISPR:-}" ]; then
  cargo build --release -q -p dispr
  DISPR=target/release/dispr
fi
P="$RUN/work/predictions"
preds=()
before=()
for k in 0 1 2 3 4; do
  model="$OUT/model$k"
  mkdir -p "$model"
  # A copy, so that the reproduce run's own models stay uncalibrated.
  [ -f "$model/checkpoint.dispr" ] || cp "$RUN/work/models/dispr-fold$k/checkpoint.dispr" "$model/"
  [ -f "$model/checkpoint.dispr.calibration.json" ] ||
    "$DISPR" model calibrate --model "$model" --data "$DATA" --by scale --cells 40
  [ -f "$OUT/fold$k/predict.json" ] ||
    "$DISPR" predict --model "$model" --data "$DATA" --out "$OUT/fold$k" --samples 5
  preds+=(--pred "$OUT/fold$k")
  before+=("$BEFORE/fold$k")
done
# Pooled: one folder of links per method, every cell predicted by the model that never
# saw it.
pool() {
  local dir=$1; shift
  rm -rf "$dir" && mkdir -p "$dir"
  for d in "$@"; do ln -s "$(realpath "$d")"/*.tif "$dir/"; done
}
pool "$OUT/pooled/scale" "$OUT"/fold?
pool "$OUT/pooled/before" "${before[@]}"
pool "$OUT/pooled/shapr-topo" "$P"/shapr-topo/fold?
"$DISPR" evaluate --data "$DATA" --pred "ddim-10+scale=$OUT/pooled/scale" \
  --pred "ddim-10=$OUT/pooled/before" --pred "topological-shapr=$OUT/pooled/shapr-topo" \
  --pred "nearest-9=$P/nearest-9" --pred "cylinder=$P/cylinder" --out "$OUT/report"
python3 scripts/report/goal_check.py "$OUT/report" --method ddim-10+scale --nearest nearest-9 --shapr-topo topological-shapr | tee "$OUT/report/goal.txt" || true
