#!/usr/bin/env bash
# Issue #23: does the SHAPR-prior model (scripts/train/shapr_prior_cv.sh) get back the
# shipped model's roughness when it also trains on the shipped recipe's 90 synthetic
# cells? Their prior shapes are the outer fold-0 SHAPR's predictions of them (it trained
# on the real training folds only, so it never saw them, nor fold 0); the real training
# cells keep their cross-fitted shapes from the fold-0 run. Fold 0 only (a screen):
# train (fast, batch 4, 3000 steps), learn the scale on 40 real training cells, predict
# fold 0 with the outer SHAPR's shapes (DDIM 10 at η 0, and at η 1 with a scale learnt
# at that η), evaluate beside the real-only SHAPR-prior model.
# Resumable: rerun to continue; a finished step is skipped.
# Usage: scripts/train/shapr_prior_synth_f0.sh   (from the repository root)
# Environment: RUN (default ~/dispr-runs/shapr-prior-synth-f0), SRC (the fold-0 run of
# shapr_prior_cv.sh), OUTER (the reproduce run's work folder), DATA, DISPR.
set -euo pipefail
DATA=$(realpath "${DATA:-../shared/data/rbc-sample}")
RUN=${RUN:-$HOME/dispr-runs/shapr-prior-synth-f0}
SRC=${SRC:-$HOME/dispr-runs/shapr-prior-f0}
OUTER=${OUTER:-$HOME/dispr-runs/reproduce-full/work}
SYN=$OUTER/synthetic
mkdir -p "$RUN"
DISPR=${DISPR:-$RUN/bin/dispr}
if [ ! -x "$DISPR" ]; then
  cargo build --release -q -p dispr
  mkdir -p "$RUN/bin" && cp target/release/dispr "$RUN/bin/dispr"
fi
for part in synthetic-other synthetic-sde; do
  [ -f "$RUN/synth-shapes/$part/predict.json" ] ||
    "$DISPR" predict --model "$OUTER/models/shapr-topo-fold0" --data "$SYN/$part" \
      --out "$RUN/synth-shapes/$part" --threads 1 -q
done
if [ ! -d "$RUN/shapes" ]; then
  mkdir -p "$RUN/shapes.tmp"
  ln -sf "$SRC/shapes/train"/*.tif "$RUN/shapes.tmp/"
  for part in synthetic-other synthetic-sde; do ln -sf "$RUN/synth-shapes/$part"/*.tif "$RUN/shapes.tmp/"; done
  mv "$RUN/shapes.tmp" "$RUN/shapes"
fi
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2}
FOLD=0 SYNTH="$SYN" PRIOR_SHAPES="$RUN/shapes" RUN="$RUN/model" DISPR="$DISPR" \
  "$(dirname "$0")/fast_model.sh" 3000
source "$(dirname "$0")/scaled_predictions.sh"
scaled_predictions "$RUN/model" 0 "$OUTER/predictions/shapr-topo/fold0" "$RUN"
B=$HOME/dispr-runs/fast-real-only-f0/baselines
"$DISPR" evaluate --data "$DATA" --fold 0 --out "$RUN/report" \
  --pred "shapr-prior+synth+scale=$RUN/fold0" --pred "shapr-prior+synth+scale-eta1=$RUN/fold0-eta1" \
  --pred "shapr-prior+scale=$SRC/fold0" --pred "shapr-prior+scale-eta1=$SRC/fold0-eta1" \
  --pred "shipped+scale=$HOME/dispr-runs/scale-cv/fold0" \
  --pred "topological-shapr=$OUTER/predictions/shapr-topo/fold0" \
  --pred "nearest-9=$B/nearest" --pred "cylinder=$B/cylinder" \
  --baseline shapr-prior+scale --baseline shapr-prior+scale-eta1 --baseline shipped+scale \
  --baseline topological-shapr \
  --baseline nearest-9 --baseline cylinder
