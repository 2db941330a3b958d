#!/usr/bin/env bash
# Issue #23, lever "conditioning": the shipped recipe (`fast`, batch 4, 3000 steps, the
# 90 synthetic cells, fold 0 held out) with one change, a third conditioning channel
# holding the nearest-9 prior shape of the training cells (`dispr train --prior-k 9`,
# dispr_core::data::prior), then fold 0's held-out cells predicted with DDIM 10
# (5 samples) and evaluated beside the baselines (docs/accuracy.md, "Ablation").
# Resumable across sessions: rerun it. Before a session ends, copy RUN/checkpoint.dispr
# and RUN/losses.csv to SAVED and commit them; a fresh machine continues from there.
# Usage: scripts/train/prior_fold0.sh [STEPS]   (from the repository root)
# Environment: RUN (default ~/dispr-runs/fast-prior9-f0), SAVED (default
# models/training/fast-prior9-f0), PRIOR_K (default 9), RAYON_NUM_THREADS (default 2).
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/fast-prior9-f0}
SAVED=${SAVED:-models/training/fast-prior9-f0}
STEPS=${1:-3000}
export PRIOR_K=${PRIOR_K:-9}
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2}
mkdir -p "$RUN/bin"
[ -x "$RUN/bin/dispr" ] || { cargo build --release -q -p dispr && cp target/release/dispr "$RUN/bin/dispr"; }
DISPR="$RUN/bin/dispr"
if [ ! -f "$RUN/checkpoint.dispr" ] && [ -f "$SAVED/checkpoint.dispr" ]; then
  cp "$SAVED/checkpoint.dispr" "$SAVED/losses.csv" "$RUN/"
fi
RUN="$RUN" DISPR="$DISPR" "$(dirname "$0")/fast_model.sh" "$STEPS"
mkdir -p "$SAVED" && cp "$RUN/checkpoint.dispr" "$RUN/losses.csv" "$SAVED/"
RUN="$RUN" DISPR="$DISPR" BASELINES="$RUN/baselines" "$(dirname "$0")/fast_fold_eval.sh" ddim-10
