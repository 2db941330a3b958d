# Sourced by scripts/train/shapr_prior_cv.sh and shapr_prior_synth_f0.sh (they set DISPR
# and DATA): one trained SHAPR-prior model's scaled predictions of its held-out fold.
#
# scaled_predictions MODEL FOLD PRIORS OUT: for each draw — DDIM 10 at η 0, at η 1, and
# at η 1 begun at 70 % of the way from SHAPR's shape (--from-prior 0.7, SDEdit) — learn
# the scale of the model in run folder MODEL on 40 of its training cells with that draw
# (η 0: MODEL itself; the others: a copy each, MODEL-eta1 and MODEL-eta1-from0.7, so
# that each keeps its own calibration and with it its own sampler) and predict fold
# FOLD's cells (5 samples, the shapes in PRIORS as their priors) into OUT/foldFOLD,
# OUT/foldFOLD-eta1 and OUT/foldFOLD-eta1-from0.7. A finished step is skipped.
#
# draw_flags TAG: the sampler flags of the draw whose folders end in TAG ("" for η 0,
# -eta1, -eta1-from0.7), into the array DRAW_FLAGS (also used by ship_shapr_prior.sh).
DRAW_TAGS=("" -eta1 -eta1-from0.7)
draw_flags() {
  case $1 in
    "") DRAW_FLAGS=(--eta 0) ;;
    -eta1) DRAW_FLAGS=(--eta 1) ;;
    -eta1-from0.7) DRAW_FLAGS=(--eta 1 --from-prior 0.7) ;;
    *) echo "unknown draw '$1' (known: η 0 '', -eta1, -eta1-from0.7)" >&2; return 2 ;;
  esac
}

scaled_predictions() {
  local model=$1 fold=$2 priors=$3 out=$4 tag at dest
  for tag in "${DRAW_TAGS[@]}"; do
    draw_flags "$tag"
    at=$model$tag dest=$out/fold$fold$tag
    if [ ! -f "$at/checkpoint.dispr.calibration.json" ]; then
      mkdir -p "$at"
      [ "$at" = "$model" ] || cp "$model/checkpoint.dispr" "$model/config.json" "$at/"
      "$DISPR" model calibrate --model "$at" --data "$DATA" --by scale --cells 40 "${DRAW_FLAGS[@]}" -q
    fi
    if [ ! -f "$dest/predict.json" ]; then
      rm -rf "$dest.partial"
      # The model's own sampler: the one its calibration was learnt with.
      "$DISPR" predict --model "$at" --data "$DATA" --out "$dest.partial" --samples 5 \
        --prior-shapes "$priors" -q
      mv "$dest.partial" "$dest"
    fi
  done
}
