# Sourced by scripts/train/shapr_prior_cv.sh and shapr_prior_synth_f0.sh (they set DISPR
# and DATA): one trained SHAPR-prior model's scaled predictions of its held-out fold.
#
# scaled_predictions MODEL FOLD PRIORS OUT: for η = 0 and η = 1, learn the scale of the
# model in run folder MODEL on 40 of its training cells at that η (η 0: MODEL itself;
# η 1: a copy, MODEL-eta1, so that each keeps its own calibration) and predict fold
# FOLD's cells (DDIM 10, 5 samples, the shapes in PRIORS as their priors) into
# OUT/foldFOLD and OUT/foldFOLD-eta1. A finished step is skipped.
scaled_predictions() {
  local model=$1 fold=$2 priors=$3 out=$4 eta at dest
  for eta in 0 1; do
    at=$model dest=$out/fold$fold
    if [ "$eta" = 1 ]; then at=$model-eta1 dest=$out/fold$fold-eta1; fi
    if [ ! -f "$at/checkpoint.dispr.calibration.json" ]; then
      mkdir -p "$at"
      [ "$at" = "$model" ] || cp "$model/checkpoint.dispr" "$model/config.json" "$at/"
      "$DISPR" model calibrate --model "$at" --data "$DATA" --by scale --cells 40 --eta "$eta" -q
    fi
    if [ ! -f "$dest/predict.json" ]; then
      rm -rf "$dest.partial"
      "$DISPR" predict --model "$at" --data "$DATA" --out "$dest.partial" --samples 5 \
        --eta "$eta" --prior-shapes "$priors" -q
      mv "$dest.partial" "$dest"
    fi
  done
}
