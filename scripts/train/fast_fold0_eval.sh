#!/usr/bin/env bash
# The #6 steps-versus-quality study on fold 0: predict the 22 held-out cells of fold 0
# with the model trained by scripts/train/fast_model.sh (5 samples per cell), with each
# sampler and number of network evaluations, and evaluate all of them beside the
# geometric baselines. Settings already predicted are skipped, so a rerun continues.
# Usage: scripts/train/fast_fold0_eval.sh [SETTINGS...]   (from the repository root)
#   a setting is SAMPLER-STEPS, e.g. dpm++2m-10; default: the list below.
set -euo pipefail
DATA=${DATA:-../shared/data/rbc-sample}
RUN=${RUN:-runs/fast}
MODEL=${MODEL:-$RUN}
DISPR=${DISPR:-"cargo run --release -q -p dispr --"}
SETTINGS=("$@")
[ ${#SETTINGS[@]} -gt 0 ] || SETTINGS=(dpm++2m-5 dpm++2m-10 dpm++2m-20 ddim-10 ddim-20 ddpm-200)

preds=()
for setting in "${SETTINGS[@]}"; do
  sampler=${setting%-*}; steps=${setting##*-}
  out="$RUN/fold0/$setting"
  if [ ! -f "$out/predict.json" ]; then
    $DISPR predict --model "$MODEL" --data "$DATA" --out "$out.partial" \
      --samples 5 --sampler "$sampler" --steps "$steps"
    rm -rf "$out" && mv "$out.partial" "$out"
  fi
  preds+=(--pred "$setting=$out")
done
for b in cylinder ellipsoid; do
  [ -d "$RUN/fold0/$b" ] || $DISPR baseline $b --data "$DATA" --out "$RUN/fold0/$b"
  preds+=(--pred "$b=$RUN/fold0/$b")
done
$DISPR evaluate --data "$DATA" "${preds[@]}" --fold 0 --out "$RUN/fold0/report"
# Seconds per cell of each setting (from predict.json).
for setting in "${SETTINGS[@]}"; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"{sys.argv[2]}: {d['seconds_per_cell']:.2f} s per cell ({d['threads']} threads)\")" \
    "$RUN/fold0/$setting/predict.json" "$setting"
done | tee "$RUN/fold0/report/seconds.txt"
