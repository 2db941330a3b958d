#!/usr/bin/env bash
# Issue #23: keeps what a fresh machine needs to continue scripts/train/shapr_prior_cv_all.sh
# (which restores it into a missing fold run), copied into models/shapr-prior-cv to be
# committed. Per outer fold: its split; each finished inner SHAPR model (exported
# weights; the other outer fold of the same pair takes it as its twin); the DISPR model,
# once trained as its three calibrated draws' exported weights (η 0, η 1, η 1 from 0.7:
# the same weights, so one blob in git, each with its own scale), else with 10 minutes of
# training or more whole, to resume; and the losses. Predictions are not kept (hundreds
# of MB); they are redone from the models in minutes.
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
# keep FROM TO: a finished model's exported weights (carrying its calibration), its
# settings, its losses and the marker `trained`.
keep() {
  mkdir -p "$2"
  "$DISPR" model export --model "$1" --out "$2/checkpoint.dispr" > /dev/null
  cp "$1/config.json" "$1/losses.csv" "$2/"
  touch "$2/trained"
}
# keep_partial FROM TO: a half-trained model whole, once it holds 10 minutes of training.
keep_partial() {
  [ -f "$1/checkpoint.dispr" ] && [ "$(minutes "$1")" -ge 10 ] 2> /dev/null || return 0
  mkdir -p "$2"
  cp "$1/checkpoint.dispr" "$1/config.json" "$1/losses.csv" "$2/"
}

rm -rf "$SAVED.tmp" && mkdir -p "$SAVED.tmp"
for run in "$ROOT"/shapr-prior-f[0-9]; do
  k=${run##*-f} dest=$SAVED.tmp/f${run##*-f}
  mkdir -p "$dest"
  [ ! -f "$run/folds.csv" ] || cp "$run/folds.csv" "$dest/"
  for model in "$run"/inner/shapr-topo-[0-9]; do
    [ -d "$model" ] || continue
    if [ -f "$model/trained" ]; then keep "$model" "$dest/inner/${model##*/}"
    else keep_partial "$model" "$dest/inner/${model##*/}"; fi
  done
  if [ -f "$run/model/trained" ]; then
    for tag in "${DRAW_TAGS[@]}"; do
      # A draw not yet calibrated is calibrated again after the restore.
      [ -f "$run/model$tag/checkpoint.dispr.calibration.json" ] || continue
      keep "$run/model$tag" "$dest/model$tag"
    done
    [ -d "$dest/model" ] || keep "$run/model" "$dest/model"
  else
    keep_partial "$run/model" "$dest/model"
  fi
  echo "fold $k: $(find "$dest" -name checkpoint.dispr | wc -l) models"
done
cat > "$SAVED.tmp/README.md" <<TEXT
# The SHAPR-prior five-fold study, in progress

What a fresh machine needs to continue scripts/train/shapr_prior_cv_all.sh (issue #23,
docs/accuracy.md): per outer fold fK, its inner SHAPR models and its DISPR model,
finished (exported weights, marked \`trained\`, with each draw's scale) or half-trained
(whole, to resume), saved by scripts/train/shapr_prior_save.sh on $(date -u +%Y-%m-%d).
shapr_prior_cv_all.sh restores a fold from here when its run folder is missing.
Not shipped models: dispr never reads these otherwise.
TEXT
rm -rf "$SAVED" && mv "$SAVED.tmp" "$SAVED"
du -sh "$SAVED"
