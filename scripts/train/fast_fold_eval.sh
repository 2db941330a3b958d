#!/usr/bin/env bash
# The #6 steps-versus-quality study on one fold: predict the held-out cells of fold FOLD
# with the model trained by scripts/train/fast_model.sh (5 samples per cell), with each
# sampler and number of network evaluations, and evaluate all of them beside the
# baselines (cylinder, ellipsoid, nearest-9 retrieval cross-validated over the folds). Settings already predicted are skipped, so a rerun continues.
# Usage: scripts/train/fast_fold_eval.sh [SETTINGS...]   (from the repository root)
#   a setting is SAMPLER-STEPS, e.g. dpm++2m-10; default: the list below.
# Environment: FOLD (default 0), RUN (run folder), MODEL (default RUN; `builtin` is the
# shipped model, which holds out fold 0), BASELINES (folder for the baselines' shapes).
set -euo pipefail
DATA=${DATA:-../shared/data/rbc-sample}
RUN=${RUN:-runs/fast}
FOLD=${FOLD:-0}
MODEL=${MODEL:-$RUN}
BASELINES=${BASELINES:-$RUN/fold$FOLD}
DISPR=${DISPR:-"cargo run --release -q -p dispr --"}
SETTINGS=("$@")
[ ${#SETTINGS[@]} -gt 0 ] || SETTINGS=(dpm++2m-5 dpm++2m-10 dpm++2m-20 ddim-10 ddim-20 ddpm-200)

model_flag=(--model "$MODEL")
[ "$MODEL" != builtin ] || model_flag=()
preds=()
for setting in "${SETTINGS[@]}"; do
  sampler=${setting%-*}; steps=${setting##*-}
  out="$RUN/fold$FOLD/$setting"
  if [ ! -f "$out/predict.json" ]; then
    $DISPR predict "${model_flag[@]}" --data "$DATA" --out "$out.partial" \
      --samples 5 --sampler "$sampler" --steps "$steps"
    rm -rf "$out" && mv "$out.partial" "$out"
  fi
  preds+=(--pred "$setting=$out")
done
for b in cylinder ellipsoid nearest; do
  [ -d "$BASELINES/$b" ] || $DISPR baseline $b --data "$DATA" --out "$BASELINES/$b"
  preds+=(--pred "$b=$BASELINES/$b")
done
$DISPR evaluate --data "$DATA" "${preds[@]}" --fold "$FOLD" --out "$RUN/fold$FOLD/report"
# Seconds per cell of each setting (from predict.json).
for setting in "${SETTINGS[@]}"; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"{sys.argv[2]}: {d['seconds_per_cell']:.2f} s per cell ({d['threads']} threads)\")" \
    "$RUN/fold$FOLD/$setting/predict.json" "$setting"
done | tee "$RUN/fold$FOLD/report/seconds.txt"
