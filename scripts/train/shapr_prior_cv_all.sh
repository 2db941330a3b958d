#!/usr/bin/env bash
# Issue #23: the five outer folds of scripts/train/shapr_prior_cv.sh one after another
# (folds given as arguments, default 0-4; a finished fold is skipped), then the pooled
# five-fold evaluation of DISPR conditioned on SHAPR's shape (DDIM 10 at η 0 and 1, and
# at η 1 begun at 70 % of the way from SHAPR's shape)
# beside the shipped model with its scale (scripts/train/scale_cv.sh), topological
# SHAPR, nearest-9 and the cylinder, and the goal check of docs/accuracy.md.
# Usage: scripts/train/shapr_prior_cv_all.sh [FOLD...]   (from the repository root)
# Environment: ROOT (default ~/dispr-runs; runs go to ROOT/shapr-prior-fK), OUTER, DATA,
# SAVED (the committed state, default models/shapr-prior-cv), DISPR.
set -euo pipefail
ROOT=${ROOT:-$HOME/dispr-runs}
DATA=$(realpath "${DATA:-../shared/data/rbc-sample}")
OUTER=${OUTER:-$ROOT/reproduce-full/work}
FOLDS=("$@"); [ ${#FOLDS[@]} -gt 0 ] || FOLDS=(0 1 2 3 4)
SAVED=${SAVED:-models/shapr-prior-cv}

# A fresh machine: the baselines' predictions again from the committed reproduce run's
# fold models, and each fold whose run folder is missing from its committed state
# (scripts/train/shapr_prior_save.sh; every fold, as a fold's inner models serve another).
if [ -z "${DISPR:-}" ]; then cargo build --release -q -p dispr; fi
OUTER="$OUTER" DATA="$DATA" DISPR="${DISPR:-target/release/dispr}" \
  "$(dirname "$0")/outer_predictions.sh"
# (A fold here that lacks a trained model the committed state has takes it as well.)
for f in 0 1 2 3 4; do
  saved=$SAVED/f$f run=$ROOT/shapr-prior-f$f
  [ -d "$saved" ] || continue
  if [ ! -d "$run" ] || { [ -f "$saved/model/trained" ] && [ ! -f "$run/model/trained" ]; }; then
    echo "fold $f: restoring the committed state from $saved"
    mkdir -p "$run" && cp -r "$saved/." "$run/"
  fi
done
for f in "${FOLDS[@]}"; do
  [ -f "$ROOT/shapr-prior-f$f/fold$f-eta1-from0.7/predict.json" ] && continue
  echo "== fold $f: $(date -u +%FT%TZ)"
  FOLD=$f RUN="$ROOT/shapr-prior-f$f" TWINS="$ROOT" OUTER="$OUTER" DATA="$DATA" \
    "$(dirname "$0")/shapr_prior_cv.sh"
done
for f in 0 1 2 3 4; do [ -f "$ROOT/shapr-prior-f$f/fold$f-eta1-from0.7/predict.json" ] || exit 0; done

# Pooled: the same name given once per fold pools the folds (every cell predicted by a
# model that never saw it) and measures the calibrated intervals fold by fold.
REPORT=${REPORT:-$ROOT/shapr-prior-report}
P=$OUTER/predictions
# The previous built-in recipe with its scale (scripts/train/scale_cv.sh), where its
# five folds' predictions are on this machine.
previous=(--baseline shipped+scale)
for k in 0 1 2 3 4; do
  [ -f "$ROOT/scale-cv/fold$k/predict.json" ] || previous=()
done
[ ${#previous[@]} -gt 0 ] || echo "no $ROOT/scale-cv/fold0..4 (scripts/train/scale_cv.sh): the report leaves out the previous recipe"
pooled=()
for k in 0 1 2 3 4; do
  pooled+=(--pred "shapr-prior+scale=$ROOT/shapr-prior-f$k/fold$k")
  pooled+=(--pred "shapr-prior+scale-eta1=$ROOT/shapr-prior-f$k/fold$k-eta1")
  pooled+=(--pred "shapr-prior+scale-eta1-from0.7=$ROOT/shapr-prior-f$k/fold$k-eta1-from0.7")
  [ ${#previous[@]} = 0 ] || pooled+=(--pred "shipped+scale=$ROOT/scale-cv/fold$k")
  pooled+=(--pred "topological-shapr=$P/shapr-topo/fold$k")
done
DISPR=${DISPR:-$ROOT/shapr-prior-f4/bin/dispr}
# Every draw against the other methods (the goal's paired criteria need each draw
# compared, so none of them is a baseline here) ...
"$DISPR" evaluate --data "$DATA" "${pooled[@]}" \
  --pred "nearest-9=$P/nearest-9" --pred "cylinder=$P/cylinder" --out "$REPORT" \
  "${previous[@]}" --baseline topological-shapr --baseline nearest-9 --baseline cylinder
# ... and the draws against each other: η 0 and the walk from SHAPR's shape against η 1.
draws=()
for k in 0 1 2 3 4; do
  for d in "" -eta1 -eta1-from0.7; do
    draws+=(--pred "shapr-prior+scale$d=$ROOT/shapr-prior-f$k/fold$k$d")
  done
done
"$DISPR" evaluate --data "$DATA" "${draws[@]}" --out "$REPORT/draws" \
  --baseline shapr-prior+scale-eta1
for m in shapr-prior+scale shapr-prior+scale-eta1 shapr-prior+scale-eta1-from0.7; do
  python3 scripts/report/goal_check.py "$REPORT" --method "$m" \
    --nearest nearest-9 --shapr-topo topological-shapr | tee "$REPORT/goal-$m.txt" || true
done
