#!/usr/bin/env bash
# Issue #23, lever "data": the shipped recipe (`fast`, batch 4, 3000 steps, fold 0 held
# out) with the 90 synthetic cells left out, all else equal, then fold 0's held-out
# cells predicted with DDIM 10 (5 samples) and evaluated beside the baselines
# (docs/accuracy.md, "Ablation"). The one model trained without synthetic cells was the
# best on fold 0, but it differed in three things at once; this screen isolates one.
# Resumable across sessions: rerun it. Before a session ends, copy RUN/checkpoint.dispr
# and RUN/losses.csv to SAVED and commit them; a fresh machine continues from there.
# Usage: scripts/train/real_only_fold0.sh [STEPS]   (from the repository root)
# Environment: RUN (default ~/dispr-runs/fast-real-only-f0), SAVED (default
# models/training/fast-real-only-f0), RAYON_NUM_THREADS (default 1).
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/fast-real-only-f0}
SAVED=${SAVED:-models/training/fast-real-only-f0}
STEPS=${1:-3000}
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1}
mkdir -p "$RUN/bin"
[ -x "$RUN/bin/dispr" ] || { cargo build --release -q -p dispr && cp target/release/dispr "$RUN/bin/dispr"; }
DISPR="$RUN/bin/dispr"
if [ ! -f "$RUN/checkpoint.dispr" ] && [ -f "$SAVED/checkpoint.dispr" ]; then
  cp "$SAVED/checkpoint.dispr" "$SAVED/losses.csv" "$RUN/"
fi
NO_SYNTH=1 RUN="$RUN" DISPR="$DISPR" "$(dirname "$0")/fast_model.sh" "$STEPS"
mkdir -p "$SAVED" && cp "$RUN/checkpoint.dispr" "$RUN/losses.csv" "$SAVED/"
RUN="$RUN" DISPR="$DISPR" BASELINES="$RUN/baselines" "$(dirname "$0")/fast_fold_eval.sh" ddim-10
