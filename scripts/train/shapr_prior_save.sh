#!/usr/bin/env bash
# Issue #23: keeps what a fresh machine needs to continue scripts/train/shapr_prior_cv_all.sh
# (which restores it into a missing fold run), copied into models/shapr-prior-cv to be
# committed. Per outer fold on this machine (a fold saved before and not here stays):
# its split; each finished inner SHAPR model (exported weights; the other outer fold of
# the same pair takes it as its twin); the DISPR model, once trained and calibrated as
# its three draws' exported weights (η 0, η 1, η 1 from 0.7: the same weights, so one
# blob in git, each with its own scale), else with 10 minutes of training or more
# whole, to resume; and the losses. Predictions are not kept (hundreds of MB); they are
# redone from the models in minutes.
# Usage: scripts/train/shapr_prior_save.sh   (from the repository root)
# Environment: ROOT (default ~/dispr-runs), SAVED (default models/shapr-prior-cv), DISPR
# (default target/release/dispr).
set -euo pipefail
ROOT=${ROOT:-$HOME/dispr-runs}
SAVED=${SAVED:-models/shapr-prior-cv}
DISPR=${DISPR:-target/release/dispr}
source "$(dirname "$0")/scaled_predictions.sh" # DRAW_TAGS

# minutes DIR: whole minutes of training in DIR/losses.csv (its last column is seconds).
minutes() { tail -n 1 "$1/losses.csv" 2>/dev/null | awk -F, '{print int($NF / 60)}'; }
# settings FROM TO: its settings and losses, where it has them (a draw's copy has none).
settings() {
  local f
  for f in config.json losses.csv; do [ ! -f "$1/$f" ] || cp "$1/$f" "$2/"; done
}
# keep FROM TO: a finished model's exported weights (carrying its calibration), its
# settings and losses, and the marker `trained`.
keep() {
  mkdir -p "$2"
  "$DISPR" model export --model "$1" --out "$2/checkpoint.dispr" > /dev/null
  settings "$1" "$2"
  touch "$2/trained"
}
# keep_whole FROM TO: a model whole, to resume, once it holds 10 minutes of training.
keep_whole() {
  [ -f "$1/checkpoint.dispr" ] && [ "$(minutes "$1")" -ge 10 ] 2> /dev/null || return 0
  mkdir -p "$2"
  cp "$1/checkpoint.dispr" "$2/"
  settings "$1" "$2"
}

shopt -s nullglob
runs=("$ROOT"/shapr-prior-f[0-9])
[ ${#runs[@]} -gt 0 ] || { echo "no fold runs in $ROOT (shapr-prior-fK); nothing saved" >&2; exit 1; }
# A fold saved before and not on this machine stays as it was.
rm -rf "$SAVED.tmp" && mkdir -p "$SAVED.tmp"
[ ! -d "$SAVED" ] || cp -r "$SAVED/." "$SAVED.tmp/"
for run in "${runs[@]}"; do
  k=${run##*-f} dest=$SAVED.tmp/f${run##*-f}
  rm -rf "$dest" && mkdir -p "$dest"
  [ ! -f "$run/folds.csv" ] || cp "$run/folds.csv" "$dest/"
  for model in "$run"/inner/shapr-topo-[0-9]; do
    # Finished: marked, or (before the marker) it has predicted its fold.
    if [ -f "$model/trained" ] || [ -f "$run/shapes/fold${model##*-}/predict.json" ]; then
      keep "$model" "$dest/inner/${model##*/}"
    else keep_whole "$model" "$dest/inner/${model##*/}"; fi
  done
  # The trained model as its calibrated draws, once all of them are calibrated (a
  # restored one is exported weights without its training settings, so it could not
  # learn a draw's scale with its training cells' prior shapes); before that, whole.
  calibrated=1
  for tag in "${DRAW_TAGS[@]}"; do
    [ -f "$run/model$tag/checkpoint.dispr.calibration.json" ] || calibrated=0
  done
  if [ -f "$run/model/trained" ] && [ $calibrated = 1 ]; then
    for tag in "${DRAW_TAGS[@]}"; do keep "$run/model$tag" "$dest/model$tag"; done
  else
    keep_whole "$run/model" "$dest/model"
  fi
  echo "fold $k: $(find "$dest" -name checkpoint.dispr | wc -l) models"
done
trained=$(find "$SAVED.tmp" -path '*/model/trained' | wc -l)
state="in progress ($trained of 5 folds trained)"
[ "$trained" != 5 ] || state="all five folds trained"
cat > "$SAVED.tmp/README.md" <<TEXT
# The SHAPR-prior five-fold study: $state

What a fresh machine needs to continue or redo scripts/train/shapr_prior_cv_all.sh (issue #23,
docs/accuracy.md): per outer fold fK, its inner SHAPR models and its DISPR model,
finished (exported weights, marked \`trained\`, with each draw's scale) or half-trained
(whole, to resume), saved by scripts/train/shapr_prior_save.sh on $(date -u +%Y-%m-%d).
shapr_prior_cv_all.sh restores a fold from here when its run folder is missing.
Not shipped models: dispr never reads these otherwise.
TEXT
rm -rf "$SAVED" && mv "$SAVED.tmp" "$SAVED"
du -sh "$SAVED"
