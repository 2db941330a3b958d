#!/usr/bin/env bash
# The #6 shipped model: the `fast` preset trained on folds 1-4 of the real sample plus
# synthetic cells of all six classes (fold 0 stays held out, so that its evaluation in
# scripts/train/fast_fold_eval.sh is honest). Resumable: rerun the script and training
# continues from the checkpoint. Then ship it (docs/fast.md):
#   dispr model export --model runs/fast --out models/dispr-fast.safetensors
# Usage: scripts/train/fast_model.sh [STEPS]   (from the repository root)
# Environment: FOLD (held-out fold, default 0), RUN (run folder), SYNTH (folder of the
# synthetic cells, default RUN; scripts/train/fast_cv.sh shares one between its folds),
# SYNTH_ONLY=1 (make the synthetic cells and stop), NO_SYNTH=1 (train on the real cells
# alone: the data lever of docs/accuracy.md), PRIOR_K=K (condition on the nearest-K
# prior shape of the training cells: the conditioning lever), PRIOR_SHAPES=DIR (condition
# on given shapes of the training cells, e.g. cross-fitted SHAPR predictions).
set -euo pipefail
DATA=${DATA:-../shared/data/rbc-sample}
RUN=${RUN:-runs/fast}
FOLD=${FOLD:-0}
SYNTH=${SYNTH:-$RUN}
STEPS=${1:-3000}
DISPR=${DISPR:-"cargo run --release -q -p dispr --"}

# Synthetic cells: 60 of the five non-SDE classes (in the full dataset's proportions)
# and 30 SDE cells; seeds other than the demo's (0), so the demo's cells are unseen.
if [ "${NO_SYNTH:-0}" != 1 ]; then
  [ -d "$SYNTH/synthetic-other" ] || $DISPR synth --out "$SYNTH/synthetic-other" --n 60 --seed 101 \
    --classes cluster,multilobate,keratocyte,knizocyte,acanthocyte
  [ -d "$SYNTH/synthetic-sde" ] || $DISPR synth --out "$SYNTH/synthetic-sde" --n 30 --seed 102 --classes sde
fi
[ "${SYNTH_ONLY:-0}" != 1 ] || exit 0
extra=(--extra-data "$SYNTH/synthetic-other" --extra-data "$SYNTH/synthetic-sde")
[ "${NO_SYNTH:-0}" != 1 ] || extra=()
[ -z "${PRIOR_K:-}" ] || extra+=(--prior-k "$PRIOR_K")
[ -z "${PRIOR_SHAPES:-}" ] || extra+=(--prior-shapes "$PRIOR_SHAPES")

if [ -f "$RUN/checkpoint.dispr" ]; then
  $DISPR train --data "$DATA" --out "$RUN" --resume --steps "$STEPS"
else
  $DISPR train --data "$DATA" --out "$RUN" --preset fast --fold "$FOLD" --folds 5 \
    "${extra[@]}" --steps "$STEPS" --checkpoint-every 100
fi
