#!/usr/bin/env bash
# The #8 real run: train SHAPR and SHAPR with the topological loss (λ = 0.1, dimensions
# 0-2 at 16³) on folds 1-4 of the real sample, predict the 22 held-out cells of fold 0,
# and evaluate them beside the geometric baselines (and DISPR when
# scripts/train/real_run_fold0.sh has run). Resumable: rerun to continue.
# Usage: scripts/train/shapr_fold0.sh [STEPS]   (from the repository root)
set -euo pipefail
DATA=${DATA:-../shared/data/rbc-sample}
RUNS=${RUNS:-runs}
STEPS=${1:-1500}
DISPR=${DISPR:-"cargo run --release -q -p dispr --"}

train() { # NAME EXTRA-FLAGS...
  local run="$RUNS/$1"; shift
  if [ -f "$run/checkpoint.dispr" ]; then
    $DISPR train --data "$DATA" --out "$run" --resume --steps "$STEPS"
  else
    $DISPR train --model shapr --data "$DATA" --out "$run" --preset small --fold 0 --folds 5 \
      --steps "$STEPS" --checkpoint-every 50 "$@"
  fi
  $DISPR predict --model "$run" --data "$DATA" --out "$run/pred"
}
train fold0-shapr
train fold0-shapr-topo --topo-weight 0.1 --topo-dims 0,1,2

for b in cylinder ellipsoid; do
  [ -d "$RUNS/$b" ] || $DISPR baseline $b --data "$DATA" --out "$RUNS/$b"
done
preds=(--pred cylinder="$RUNS/cylinder" --pred ellipsoid="$RUNS/ellipsoid"
       --pred shapr="$RUNS/fold0-shapr/pred" --pred shapr-topo="$RUNS/fold0-shapr-topo/pred")
[ -d "$RUNS/fold0-small/pred" ] && preds+=(--pred dispr="$RUNS/fold0-small/pred")
$DISPR evaluate --data "$DATA" "${preds[@]}" --fold 0 --out "$RUNS/table1-fold0"
