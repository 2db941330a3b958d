#!/usr/bin/env bash
# The #6 shipped model: the `fast` preset trained on folds 1-4 of the real sample plus
# synthetic cells of all six classes (fold 0 stays held out, so that its evaluation in
# scripts/train/fast_fold0_eval.sh is honest). Resumable: rerun the script and training
# continues from the checkpoint. Then ship it (docs/fast.md):
#   dispr model export --model runs/fast --out models/dispr-fast.dispr
# Usage: scripts/train/fast_model.sh [STEPS]   (from the repository root)
set -euo pipefail
DATA=${DATA:-../shared/data/rbc-sample}
RUN=${RUN:-runs/fast}
STEPS=${1:-3000}
DISPR=${DISPR:-"cargo run --release -q -p dispr --"}

# Synthetic cells: 60 of the five non-SDE classes (in the full dataset's proportions)
# and 30 SDE cells; seeds other than the demo's (0), so the demo's cells are unseen.
[ -d "$RUN/synthetic-other" ] || $DISPR synth --out "$RUN/synthetic-other" --n 60 --seed 101 \
  --classes cluster,multilobate,keratocyte,knizocyte,acanthocyte
[ -d "$RUN/synthetic-sde" ] || $DISPR synth --out "$RUN/synthetic-sde" --n 30 --seed 102 --classes sde

if [ -f "$RUN/checkpoint.dispr" ]; then
  $DISPR train --data "$DATA" --out "$RUN" --resume --steps "$STEPS"
else
  $DISPR train --data "$DATA" --out "$RUN" --preset fast --fold 0 --folds 5 \
    --extra-data "$RUN/synthetic-other" --extra-data "$RUN/synthetic-sde" \
    --steps "$STEPS" --checkpoint-every 100
fi
