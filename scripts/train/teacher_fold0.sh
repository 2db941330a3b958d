#!/usr/bin/env bash
# Issue #23, lever "capacity and training time": the `small` preset (452,930 parameters,
# 4x the shipped `fast` network's channels) trained long on the shipped recipe's data
# (folds 1-4 of the real sample + the 90 synthetic cells of scripts/train/fast_model.sh),
# fold 0 held out, batch 4. It is the teacher that a few-step `fast` student is to be
# distilled from; screened on fold 0 first (scripts/train/fast_fold_eval.sh with
# RUN=$RUN). Runs for hours on one thread: resumable, rerun the script to continue.
# To keep a session's progress for the next machine, copy RUN/checkpoint.dispr and
# RUN/losses.csv to models/training/teacher-small-f0/ and commit them.
# Usage: scripts/train/teacher_fold0.sh [STEPS]   (from the repository root)
# Environment: RUN (default ~/dispr-runs/teacher-small-f0), FOLD (default 0), DISPR
# (the dispr command; default: a copy of target/release/dispr in RUN/bin, so rebuilding
# the work tree never changes the binary under a running job), RAYON_NUM_THREADS
# (default 1: leaves the other core free).
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/teacher-small-f0}
FOLD=${FOLD:-0}
STEPS=${1:-4000}
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1}
mkdir -p "$RUN"
if [ -z "${DISPR:-}" ]; then
  [ -x target/release/dispr ] || cargo build --release -q -p dispr
  mkdir -p "$RUN/bin" && cp -f target/release/dispr "$RUN/bin/dispr"
  DISPR="$RUN/bin/dispr"
fi
SYNTH_ONLY=1 RUN="$RUN" DISPR="$DISPR" "$(dirname "$0")/fast_model.sh"
# A fresh machine continues from the committed state of the run (checkpoint + losses).
SAVED=${SAVED:-models/training/teacher-small-f0}
if [ ! -f "$RUN/checkpoint.dispr" ] && [ -f "$SAVED/checkpoint.dispr" ]; then
  cp "$SAVED/checkpoint.dispr" "$SAVED/losses.csv" "$RUN/"
  [ ! -f "$SAVED/checkpoint.dispr.calibration.json" ] || cp "$SAVED/checkpoint.dispr.calibration.json" "$RUN/"
fi
DATA=${DATA:-../shared/data/rbc-sample}
if [ -f "$RUN/checkpoint.dispr" ]; then
  $DISPR train --data "$DATA" --out "$RUN" --resume --steps "$STEPS"
else
  $DISPR train --data "$DATA" --out "$RUN" --preset small --fold "$FOLD" --folds 5 --batch 4 \
    --extra-data "$RUN/synthetic-other" --extra-data "$RUN/synthetic-sde" \
    --steps "$STEPS" --checkpoint-every 50
fi
