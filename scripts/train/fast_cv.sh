#!/usr/bin/env bash
# The #6 five-fold study: for each fold K of the real sample, train the `fast` recipe of
# scripts/train/fast_model.sh with fold K held out (STEPS steps), predict fold K's cells
# with each sampler setting (scripts/train/fast_fold_eval.sh), then pool the five folds
# (every real cell predicted once, by the model that never saw it) and evaluate them
# together: ROOT/report/table.md and steps.png. Resumable at every stage: rerun it.
# Usage: scripts/train/fast_cv.sh [STEPS] [SETTINGS...]   (from the repository root)
# Environment: ROOT (default runs/fast-cv), FOLDS (default "0 1 2 3 4"), JOBS (folds run
# at once, default 2: on 2 cores two one-thread runs train 1.5x faster than one run on
# two threads, 0.79 s vs 0.59 s per step of batch 4, `dispr bench model --presets fast
# --batch 4` with RAYON_NUM_THREADS=1 and 2); each fold logs to ROOT/foldK.log.
set -euo pipefail
DATA=${DATA:-../shared/data/rbc-sample}
ROOT=${ROOT:-runs/fast-cv}
STEPS=${1:-3000}
shift || true
SETTINGS=("$@")
[ ${#SETTINGS[@]} -gt 0 ] || SETTINGS=(ddim-5 ddim-10 dpm++2m-10 ddpm-50)
FOLDS=${FOLDS:-0 1 2 3 4}
JOBS=${JOBS:-2}
DISPR=${DISPR:-"cargo run --release -q -p dispr --"}
here=$(dirname "$0")
export DATA DISPR ROOT STEPS here

# Shared inputs first (the folds only read them): synthetic cells and the baselines.
SYNTH_ONLY=1 SYNTH="$ROOT" RUN="$ROOT" "$here/fast_model.sh"
for b in cylinder ellipsoid nearest; do
  [ -d "$ROOT/baselines/$b" ] || $DISPR baseline $b --data "$DATA" --out "$ROOT/baselines/$b"
done

# One fold: train, then predict and evaluate its held-out cells.
run_fold() {
  local k=$1; shift
  RUN="$ROOT/fold$k" FOLD=$k SYNTH="$ROOT" "$here/fast_model.sh" "$STEPS"
  RUN="$ROOT/fold$k" FOLD=$k BASELINES="$ROOT/baselines" "$here/fast_fold_eval.sh" "$@"
}
export -f run_fold
threads=$(( $(nproc) / JOBS )); [ "$threads" -ge 1 ] || threads=1
printf '%s\n' $FOLDS | RAYON_NUM_THREADS=$threads xargs -P "$JOBS" -I{} \
  bash -c 'run_fold {} "$@" > "$ROOT/fold{}.log" 2>&1 || { echo "fold {} failed: see $ROOT/fold{}.log" >&2; exit 255; }' \
  _ "${SETTINGS[@]}"

# Pool: one folder per setting holding every fold's predictions (links, not copies).
preds=()
for setting in "${SETTINGS[@]}"; do
  pooled="$ROOT/pooled/$setting"
  rm -rf "$pooled" && mkdir -p "$pooled"
  for k in $FOLDS; do
    for f in "$ROOT/fold$k/fold$k/$setting"/*.tif; do
      ln -s "$(realpath "$f")" "$pooled/"
    done
  done
  preds+=(--pred "$setting=$pooled")
done
for b in cylinder ellipsoid nearest; do preds+=(--pred "$b=$ROOT/baselines/$b"); done
$DISPR evaluate --data "$DATA" "${preds[@]}" --out "$ROOT/report"
# The issue's criteria per setting (scripts/train/criteria.py): better than both
# baselines, within 10 % of the many-step DDPM reference, with bootstrap intervals.
"$here/criteria.py" "$ROOT/report" "${SETTINGS[@]}" | tee "$ROOT/report/criteria.txt"
# Seconds per cell of each setting, averaged over the folds (from predict.json).
python3 - "$ROOT" "$FOLDS" "${SETTINGS[@]}" <<'PY' | tee "$ROOT/report/seconds.txt"
import json, sys
root, folds, settings = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
for s in settings:
    runs = [json.load(open(f"{root}/fold{k}/fold{k}/{s}/predict.json")) for k in folds]
    cells = sum(r["cells"] for r in runs)
    secs = sum(r["seconds_per_cell"] * r["cells"] for r in runs) / cells
    print(f"{s}: {secs:.2f} s per cell over {cells} cells (threads: {sorted({r['threads'] for r in runs})})")
PY
