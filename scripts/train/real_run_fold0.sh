#!/usr/bin/env bash
# The #5 real run: train the `small` preset on folds 1-4 of the real sample, predict the
# 22 held-out cells of fold 0 with 5 samples each, and evaluate against the baselines.
# Resumable: rerun the script and training continues from runs/fold0-small/checkpoint.dispr.
# Usage: scripts/train/real_run_fold0.sh [STEPS]   (from the repository root)
set -euo pipefail
DATA=${DATA:-../shared/data/rbc-sample}
RUN=${RUN:-runs/fold0-small}
STEPS=${1:-1500}
DISPR=${DISPR:-"cargo run --release -q -p dispr --"}

if [ -f "$RUN/checkpoint.dispr" ]; then
  $DISPR train --data "$DATA" --out "$RUN" --resume --steps "$STEPS"
else
  $DISPR train --data "$DATA" --out "$RUN" --preset small --fold 0 --folds 5 \
    --steps "$STEPS" --checkpoint-every 50
fi
$DISPR predict --model "$RUN" --data "$DATA" --out "$RUN/pred" --samples 5 --sampler ddim --steps 20
for b in cylinder ellipsoid; do
  $DISPR baseline $b --data "$DATA" --out "$RUN/$b"
done
$DISPR evaluate --data "$DATA" --pred dispr="$RUN/pred" --pred cylinder="$RUN/cylinder" \
  --pred ellipsoid="$RUN/ellipsoid" --fold 0 --out "$RUN/report"
