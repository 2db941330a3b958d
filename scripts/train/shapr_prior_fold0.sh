#!/usr/bin/env bash
# Issue #23, "Next" 1: condition DISPR on SHAPR's prediction (fold 0 screen).
#
# The network may only learn from SHAPR shapes of cells that SHAPR never saw, as at
# prediction. So the 86 training cells of outer fold 0 get theirs cross-fitted: for each
# inner fold j of 1..4, topological SHAPR (the reproduce run's recipe: small, 1500 steps,
# λ 0.1, dimensions 0-2) trains on the other three training folds (no --fold, on a
# folder of links) and predicts fold j. The held-out cells get the outer model's
# prediction (trained on folds 1-4: the reproduce run's shapr-topo-fold0).
# Then the shipped recipe trains with those shapes as its prior channel (--prior-dir)
# and predicts fold 0 with its learnt scale. Resumable: rerun to continue.
# Usage: scripts/train/shapr_prior_fold0.sh [DISPR-STEPS]   (from the repository root)
set -euo pipefail
DATA=$(realpath "${DATA:-../shared/data/rbc-sample}")
RUN=${RUN:-$HOME/dispr-runs/shapr-prior-f0}
OUTER=${OUTER:-$HOME/dispr-runs/reproduce-full/work}
STEPS=${1:-3000}
mkdir -p "$RUN"
DISPR=${DISPR:-$RUN/bin/dispr}
if [ ! -x "$DISPR" ]; then
  cargo build --release -q -p dispr
  mkdir -p "$RUN/bin" && cp target/release/dispr "$RUN/bin/dispr"
fi

# A dataset folder of links to the cells of the given folds of outer fold 0's split.
subset() { # DIR FOLD...
  local dir=$1; shift
  [ -d "$dir/obj" ] && return 0
  mkdir -p "$dir.tmp"/{obj,image,mask}
  for f in "$@"; do
    awk -F, -v f="$f" 'NR > 1 && $3 == f { print $1 }' "$RUN/folds.csv"
  done | while read -r name; do
    for part in obj image mask; do ln -sf "$DATA/$part/$name.tif" "$dir.tmp/$part/$name.tif"; done
  done
  mv "$dir.tmp" "$dir"
}
[ -f "$RUN/folds.csv" ] || "$DISPR" data folds "$DATA" --out "$RUN/folds.csv"

inner() { # J: SHAPR on the training folds but J, predicting J
  local j=$1 run="$RUN/inner/shapr-topo-$1"
  local others=(); for f in 1 2 3 4; do [ "$f" = "$j" ] || others+=("$f"); done
  subset "$RUN/data/train-$j" "${others[@]}"
  subset "$RUN/data/fold-$j" "$j"
  if [ -f "$run/checkpoint.dispr" ]; then
    "$DISPR" train --data "$RUN/data/train-$j" --out "$run" --resume --steps 1500 --threads 1 -q
  else
    "$DISPR" train --model shapr --data "$RUN/data/train-$j" --out "$run" --preset small \
      --steps 1500 --checkpoint-every 50 --topo-weight 0.1 --topo-dims 0,1,2 \
      --threads 1 -q
  fi
  [ -f "$RUN/shapes/fold$j/predict.json" ] ||
    "$DISPR" predict --model "$run" --data "$RUN/data/fold-$j" --out "$RUN/shapes/fold$j" --threads 1 -q
}
if [ ! -f "$RUN/shapes/done" ]; then
  (inner 1; inner 2) > "$RUN/inner-a.log" 2>&1 &
  a=$!
  (inner 3; inner 4) > "$RUN/inner-b.log" 2>&1 &
  b=$!
  wait $a; wait $b
  touch "$RUN/shapes/done"
fi
echo "cross-fitted SHAPR shapes of the training cells: $RUN/shapes/fold{1..4}"

# The shipped recipe (fast, batch 4, DDIM 10 at prediction) on the real training cells
# only (the synthetic ones have no SHAPR shapes), conditioned on those shapes: a flat
# folder of links to them.
if [ ! -d "$RUN/shapes/train" ]; then
  mkdir -p "$RUN/shapes/train.tmp"
  for f in "$RUN"/shapes/fold[1-4]/*.tif; do
    case $(basename "$f") in *_[0-9].tif) ;; *) ln -sf "$f" "$RUN/shapes/train.tmp/" ;; esac
  done
  mv "$RUN/shapes/train.tmp" "$RUN/shapes/train"
fi
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2}
NO_SYNTH=1 PRIOR_SHAPES="$RUN/shapes/train" RUN="$RUN/model" DISPR="$DISPR" \
  "$(dirname "$0")/fast_model.sh" "$STEPS"
# Its scale, learnt on 40 of its training cells (with their cross-fitted shapes).
[ -f "$RUN/model/checkpoint.dispr.calibration.json" ] ||
  "$DISPR" model calibrate --model "$RUN/model" --data "$DATA" --by scale --cells 40 -q
# Fold 0 with the outer SHAPR's shapes of its cells, which it never trained on.
if [ ! -f "$RUN/fold0/predict.json" ]; then
  rm -rf "$RUN/fold0.partial"
  "$DISPR" predict --model "$RUN/model" --data "$DATA" --out "$RUN/fold0.partial" --samples 5 \
    --prior-shapes "$OUTER/predictions/shapr-topo/fold0" -q
  mv "$RUN/fold0.partial" "$RUN/fold0"
fi
# Beside the same recipe without the prior (real cells only, its own scale) and the
# baselines, per cell with intervals and paired.
B=$HOME/dispr-runs/fast-real-only-f0/baselines
"$DISPR" evaluate --data "$DATA" --fold 0 --out "$RUN/report" \
  --pred "shapr-prior+scale=$RUN/fold0" \
  --pred "real-only+scale=$HOME/dispr-runs/real-only-scale-f0/fold0" \
  --pred "topological-shapr=$OUTER/predictions/shapr-topo/fold0" \
  --pred "nearest-9=$B/nearest" --pred "cylinder=$B/cylinder" \
  --baseline real-only+scale --baseline topological-shapr --baseline nearest-9 --baseline cylinder
