#!/usr/bin/env bash
# Issue #23, lever "size by scale" (docs/accuracy.md): each fold model of the full
# reproduce run (scripts/reproduce/full.sh: the shipped recipe trained five times, one
# fold held out each) learns its scale on its own training cells (`dispr model calibrate
# --by scale --cells 40`), then predicts its held-out cells with dispr predict's defaults
# (DDIM 10, 5 samples); the five folds are evaluated pooled beside the uncorrected
# predictions (scripts/train/shipped_intervals.sh) and the baselines. Resumable: a fold
# already calibrated or predicted is skipped.
# Usage: scripts/train/scale_cv.sh [SETTING...]   (from the repository root)
#   a SETTING is SAMPLER-STEPS, e.g. ddpm-50: the same scaled models predict with it as
#   well (into OUT/SETTING/foldK), and the evaluation shows it beside the default; a
#   second evaluation (OUT/report-steps) names them plainly, which draws the
#   steps-versus-quality plot (steps.png) of the scaled models.
# Environment: RUN (the reproduce run, default ~/dispr-runs/reproduce-full), OUT (default
# ~/dispr-runs/scale-cv), REPORT (default OUT/report), BEFORE (uncorrected predictions, default
# ~/dispr-runs/intervals), DATA (default ../shared/data/rbc-sample), DISPR (default
# target/release/dispr, built if needed).
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/reproduce-full}
OUT=${OUT:-$HOME/dispr-runs/scale-cv}
REPORT=${REPORT:-$OUT/report}
BEFORE=${BEFORE:-$HOME/dispr-runs/intervals}
DATA=${DATA:-../shared/data/rbc-sample}
if [ -z "${DISPR:-}" ]; then
  cargo build --release -q -p dispr
  DISPR=target/release/dispr
fi
P="$RUN/work/predictions"
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
  before+=("$BEFORE/fold$k")
  for setting in "$@"; do
    out="$OUT/$setting/fold$k"
    [ -f "$out/predict.json" ] || "$DISPR" predict --model "$model" --data "$DATA" \
      --out "$out" --samples 5 --sampler "${setting%-*}" --steps "${setting##*-}"
  done
done
# Pooled: the same name given once per fold pools the folds (every cell predicted by
# the model that never saw it) and measures the calibrated intervals fold by fold.
pooled=()
for k in 0 1 2 3 4; do
  pooled+=(--pred "ddim-10+scale=$OUT/fold$k" --pred "ddim-10=${before[$k]}")
  pooled+=(--pred "topological-shapr=$P/shapr-topo/fold$k")
  for setting in "$@"; do pooled+=(--pred "$setting+scale=$OUT/$setting/fold$k"); done
done
"$DISPR" evaluate --data "$DATA" "${pooled[@]}" \
  --pred "nearest-9=$P/nearest-9" --pred "cylinder=$P/cylinder" --out "$REPORT" \
  --baseline ddim-10 --baseline topological-shapr --baseline nearest-9 --baseline cylinder
python3 scripts/report/goal_check.py "$REPORT" --method ddim-10+scale --nearest nearest-9 --shapr-topo topological-shapr | tee "$REPORT/goal.txt" || true
[ $# -gt 0 ] || exit 0
steps=()
for k in 0 1 2 3 4; do
  steps+=(--pred "ddim-10=$OUT/fold$k" --pred "topological-shapr=$P/shapr-topo/fold$k")
  for setting in "$@"; do steps+=(--pred "$setting=$OUT/$setting/fold$k"); done
done
"$DISPR" evaluate --data "$DATA" "${steps[@]}" \
  --pred "nearest-9=$P/nearest-9" --pred "cylinder=$P/cylinder" --out "$OUT/report-steps"
