#!/usr/bin/env bash
# Issue #23, "Next" 1: condition DISPR on SHAPR's prediction, one outer fold at a time.
#
# The network may only learn from SHAPR shapes of cells that SHAPR never saw, as at
# prediction. So the training cells of outer fold FOLD get theirs cross-fitted: for each
# other fold j, topological SHAPR (the reproduce run's recipe: small, 1500 steps, λ 0.1,
# dimensions 0-2) trains on the remaining three training folds (no --fold, on a folder
# of links) and predicts fold j. The held-out cells get the outer model's prediction
# (trained on all four training folds: the reproduce run's shapr-topo-foldFOLD).
# Then the shipped recipe (fast, batch 4, 3000 steps) trains on the real training cells
# with those shapes as its prior channel (--prior-shapes; the synthetic cells have no
# SHAPR shapes), learns its scale on 40 of them and predicts fold FOLD (DDIM 10, 5
# samples); a copy learns its scale at η = 1 and predicts the fold at that η.
# Resumable: rerun to continue; a finished step is skipped.
# Usage: scripts/train/shapr_prior_cv.sh [DISPR-STEPS]   (from the repository root)
# Environment: FOLD (default 0), RUN (default ~/dispr-runs/shapr-prior-fFOLD), OUTER (the
# reproduce run's work folder), DATA, DISPR (default RUN/bin/dispr, built if absent),
# TWINS (the folder holding the other folds' runs, default RUN's parent: an inner model
# on the same cells that another fold's run has finished is used, not trained again).
# Fold 0 is evaluated beside the same recipe without the prior and the baselines.
set -euo pipefail
DATA=$(realpath "${DATA:-../shared/data/rbc-sample}")
FOLD=${FOLD:-0}
RUN=${RUN:-$HOME/dispr-runs/shapr-prior-f$FOLD}
OUTER=${OUTER:-$HOME/dispr-runs/reproduce-full/work}
TWINS=${TWINS:-$(dirname "$RUN")}
STEPS=${1:-3000}
mkdir -p "$RUN"
DISPR=${DISPR:-$RUN/bin/dispr}
if [ ! -x "$DISPR" ]; then
  cargo build --release -q -p dispr
  mkdir -p "$RUN/bin" && cp target/release/dispr "$RUN/bin/dispr"
fi

# A dataset folder of links to the cells of the given folds of the split.
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
INNER=(); for f in 0 1 2 3 4; do [ "$f" = "$FOLD" ] || INNER+=("$f"); done

inner() { # J: SHAPR on the training folds but J, predicting J
  local j=$1 run="$RUN/inner/shapr-topo-$1"
  local others=(); for f in "${INNER[@]}"; do [ "$f" = "$j" ] || others+=("$f"); done
  subset "$RUN/data/train-$j" "${others[@]}"
  subset "$RUN/data/fold-$j" "$j"
  # Outer fold J's run trains the same model (all folds but J and FOLD) as its inner
  # model for FOLD; once that one has finished (it has predicted), it serves here too.
  # A finished model holds the marker `trained` (a restored one is exported weights
  # only); one finished before the marker existed has predicted its fold.
  local twin="$TWINS/shapr-prior-f$j/inner/shapr-topo-$FOLD"
  if [ ! -f "$run/checkpoint.dispr" ] && { [ -f "$twin/trained" ] ||
    [ -f "$TWINS/shapr-prior-f$j/shapes/fold$FOLD/predict.json" ]; }; then
    run=$twin
    echo "fold $j: the model of outer fold $j's run, $twin (same training cells)"
  elif [ -f "$run/trained" ]; then
    :
  elif [ -f "$run/checkpoint.dispr" ]; then
    "$DISPR" train --data "$RUN/data/train-$j" --out "$run" --resume --steps 1500 --threads 1 -q
    touch "$run/trained"
  else
    "$DISPR" train --model shapr --data "$RUN/data/train-$j" --out "$run" --preset small \
      --steps 1500 --checkpoint-every 50 --topo-weight 0.1 --topo-dims 0,1,2 --threads 1 -q
    touch "$run/trained"
  fi
  [ -f "$RUN/shapes/fold$j/predict.json" ] ||
    "$DISPR" predict --model "$run" --data "$RUN/data/fold-$j" --out "$RUN/shapes/fold$j" --threads 1 -q
}
# A trained DISPR model (marker `trained`; restored by shapr_prior_cv_all.sh from
# scripts/train/shapr_prior_save.sh's copy) needs no training shapes.
if [ ! -f "$RUN/model/trained" ]; then
  if [ ! -f "$RUN/shapes/done" ]; then
    # Two at a time, each on one thread, taking the next fold as one finishes.
    running=0 failed=0
    for j in "${INNER[@]}"; do
      if [ $running = 2 ]; then wait -n || failed=1; running=$((running - 1)); fi
      inner "$j" > "$RUN/inner-$j.log" 2>&1 &
      running=$((running + 1))
    done
    while [ $running -gt 0 ]; do wait -n || failed=1; running=$((running - 1)); done
    [ $failed = 0 ] || { echo "an inner SHAPR run failed: $RUN/inner-*.log" >&2; exit 1; }
    touch "$RUN/shapes/done"
  fi

  # The training cells' shapes in one folder of links.
  if [ ! -d "$RUN/shapes/train" ]; then
    mkdir -p "$RUN/shapes/train.tmp"
    for j in "${INNER[@]}"; do ln -sf "$RUN/shapes/fold$j"/*.tif "$RUN/shapes/train.tmp/"; done
    mv "$RUN/shapes/train.tmp" "$RUN/shapes/train"
  fi
  export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2}
  FOLD="$FOLD" NO_SYNTH=1 PRIOR_SHAPES="$RUN/shapes/train" RUN="$RUN/model" DISPR="$DISPR" \
    "$(dirname "$0")/fast_model.sh" "$STEPS"
  touch "$RUN/model/trained"
fi
# Its scale learnt and fold FOLD predicted at η 0 and, with a copy of the model, at η 1
# (fold 0: roughness 0.196 → 0.107 per cell).
source "$(dirname "$0")/scaled_predictions.sh"
scaled_predictions "$RUN/model" "$FOLD" "$OUTER/predictions/shapr-topo/fold$FOLD" "$RUN"
[ "$FOLD" = 0 ] || exit 0
# The fold-0 screen's comparison, where its other runs are on this machine.
B=$HOME/dispr-runs/fast-real-only-f0/baselines
for d in "$B" "$HOME/dispr-runs/real-only-scale-f0/fold0" "$HOME/dispr-runs/scale-cv/fold0"; do
  [ -d "$d" ] || { echo "fold 0: no $d here; its screen report is skipped"; exit 0; }
done
"$DISPR" evaluate --data "$DATA" --fold 0 --out "$RUN/report" \
  --pred "shapr-prior+scale=$RUN/fold0" --pred "shapr-prior+scale-eta1=$RUN/fold0-eta1" \
  --pred "real-only+scale=$HOME/dispr-runs/real-only-scale-f0/fold0" \
  --pred "shipped+scale=$HOME/dispr-runs/scale-cv/fold0" \
  --pred "topological-shapr=$OUTER/predictions/shapr-topo/fold0" \
  --pred "nearest-9=$B/nearest" --pred "cylinder=$B/cylinder" \
  --baseline real-only+scale --baseline shipped+scale --baseline topological-shapr \
  --baseline nearest-9 --baseline cylinder
