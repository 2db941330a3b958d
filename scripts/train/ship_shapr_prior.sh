#!/usr/bin/env bash
# Issue #23, "Ship it" for DISPR conditioned on SHAPR's shape (docs/accuracy.md): the
# recipe of scripts/train/shapr_prior_cv.sh with nothing held out.
#  1. Topological SHAPR (small, 1500 steps, λ 0.1, dimensions 0-2) on all 108 real
#     cells: the SHAPR the shipped file carries, which makes each new cell's prior.
#  2. The training cells' priors, cross-fitted: each cell's shape is the five-fold outer
#     SHAPR's prediction (the reproduce run's shapr-topo-foldK, which never saw it).
#  3. The shipped recipe (fast, batch 4, 3000 steps) on the real cells with those
#     shapes (--fold none --prior-shapes), its scale learnt on 40 of them with the draw
#     DRAW, which becomes the file's default sampler: eta0 (DDIM 10, η 0), eta1 (η 1,
#     the default) or eta1-from0.7 (η 1, begun at 70 % of the way from SHAPR's shape).
#  4. Exported with the SHAPR of step 1 (dispr model export --prior-model) to OUT, its
#     intervals fitted on the five folds of shapr_prior_cv_all.sh drawn the same way
#     (foldK, foldK-eta1 or foldK-eta1-from0.7).
# Resumable: rerun to continue; a finished step is skipped.
# Usage: scripts/train/ship_shapr_prior.sh [OUT]   (from the repository root; OUT
# defaults to RUN/dispr-fast.safetensors; copy it to models/ to ship it)
# Environment: RUN (default ~/dispr-runs/ship-shapr-prior), ROOT (the five folds' runs,
# default ~/dispr-runs), OUTER (the reproduce run's work folder), DRAW, DATA, DISPR.
set -euo pipefail
DATA=$(realpath "${DATA:-../shared/data/rbc-sample}")
ROOT=${ROOT:-$HOME/dispr-runs}
RUN=${RUN:-$ROOT/ship-shapr-prior}
OUTER=${OUTER:-$ROOT/reproduce-full/work}
OUT=${1:-$RUN/dispr-fast.safetensors}
DRAW=${DRAW:-eta1}
source "$(dirname "$0")/scaled_predictions.sh"
suffix=-$DRAW; [ "$DRAW" != eta0 ] || suffix=
draw_flags "$suffix" || { echo "DRAW must be eta0, eta1 or eta1-from0.7" >&2; exit 2; }
mkdir -p "$RUN"
DISPR=${DISPR:-$RUN/bin/dispr}
if [ ! -x "$DISPR" ]; then
  cargo build --release -q -p dispr
  mkdir -p "$RUN/bin" && cp target/release/dispr "$RUN/bin/dispr"
fi
if [ -f "$RUN/shapr/checkpoint.dispr" ]; then
  "$DISPR" train --data "$DATA" --out "$RUN/shapr" --resume --steps 1500 --threads 1 -q
else
  "$DISPR" train --model shapr --data "$DATA" --out "$RUN/shapr" --fold none --preset small \
    --steps 1500 --checkpoint-every 50 --topo-weight 0.1 --topo-dims 0,1,2 --threads 1 -q
fi
if [ ! -d "$RUN/shapes" ]; then
  mkdir -p "$RUN/shapes.tmp"
  for k in 0 1 2 3 4; do ln -sf "$OUTER/predictions/shapr-topo/fold$k"/*.tif "$RUN/shapes.tmp/"; done
  mv "$RUN/shapes.tmp" "$RUN/shapes"
fi
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2}
FOLD=none NO_SYNTH=1 PRIOR_SHAPES="$RUN/shapes" RUN="$RUN/model" DISPR="$DISPR" \
  "$(dirname "$0")/fast_model.sh" 3000
[ -f "$RUN/model/checkpoint.dispr.calibration.json" ] ||
  "$DISPR" model calibrate --model "$RUN/model" --data "$DATA" --by scale --cells 40 "${DRAW_FLAGS[@]}" -q
[ -f "$OUT" ] || "$DISPR" model export --model "$RUN/model" --prior-model "$RUN/shapr" --out "$OUT"
preds=()
for k in 0 1 2 3 4; do preds+=(--pred "$ROOT/shapr-prior-f$k/fold$k$suffix"); done
"$DISPR" model intervals --model "$OUT" --data "$DATA" "${preds[@]}"
"$DISPR" model info --model "$OUT"
