#!/usr/bin/env bash
# Issue #23, lever "level of the soft samples": calibrate a model on its own training
# cells (`dispr model calibrate`), predict the held-out fold 0 with it, and evaluate it
# beside the uncalibrated predictions and the baselines (docs/accuracy.md). Resumable:
# steps whose output exists are skipped.
# Usage: scripts/train/calibrate_fold0.sh   (from the repository root, after
# scripts/train/teacher_fold0.sh and scripts/train/fast_fold_eval.sh ddim-10)
# Environment: RUN (default ~/dispr-runs/teacher-small-f0), DISPR (default
# target/release/dispr), CELLS (training cells to calibrate on, default 20).
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/teacher-small-f0}
DISPR=${DISPR:-target/release/dispr}
DATA=${DATA:-../shared/data/rbc-sample}
CELLS=${CELLS:-20}
[ -f "$RUN/checkpoint.dispr.calibration.json" ] ||
  $DISPR model calibrate --model "$RUN" --data "$DATA" --cells "$CELLS"
out="$RUN/fold0/calibrated"
if [ ! -f "$out/predict.json" ]; then
  $DISPR predict --model "$RUN" --data "$DATA" --out "$out.partial" --samples 5
  rm -rf "$out" && mv "$out.partial" "$out"
fi
$DISPR evaluate --data "$DATA" --fold 0 --pred "ddim-10=$RUN/fold0/ddim-10" \
  --pred "calibrated=$out" --pred "cylinder=$RUN/fold0/cylinder" \
  --pred "nearest=$RUN/fold0/nearest" --baseline cylinder --baseline nearest \
  --out "$RUN/fold0/report-cal"
