#!/usr/bin/env bash
# Issue #23: does sampler stochasticity widen the SHAPR-prior model's samples (fold 0,
# scripts/train/shapr_prior_cv.sh) and win back roughness? The fold-0 model predicts its
# 22 held-out cells, with the outer SHAPR's shapes as their priors and its learnt scale,
# with DDIM 10 at η = 1 and with 10 ancestral DDPM steps, evaluated beside DDIM 10 η 0
# (its default). Settings already predicted are skipped, so a rerun continues.
# Usage: scripts/train/shapr_prior_stochastic_f0.sh   (from the repository root)
# Environment: RUN (default ~/dispr-runs/shapr-prior-f0), OUTER, DATA, DISPR.
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/shapr-prior-f0}
OUTER=${OUTER:-$HOME/dispr-runs/reproduce-full/work}
DATA=${DATA:-../shared/data/rbc-sample}
DISPR=${DISPR:-$RUN/bin/dispr}
OUT=$RUN/stochastic
mkdir -p "$OUT"
run() {
  local name=$1; shift
  [ -f "$OUT/$name/predict.json" ] && return
  "$DISPR" predict --model "$RUN/model" --data "$DATA" --out "$OUT/$name.partial" --samples 5 \
    --prior-shapes "$OUTER/predictions/shapr-topo/fold0" -q "$@"
  rm -rf "${OUT:?}/$name" && mv "$OUT/$name.partial" "$OUT/$name"
}
run ddim-10-eta1 --sampler ddim --steps 10 --eta 1
run ddpm-10 --sampler ddpm --steps 10
B=$HOME/dispr-runs/fast-real-only-f0/baselines
"$DISPR" evaluate --data "$DATA" --fold 0 --out "$OUT/report" \
  --pred "ddim-10=$RUN/fold0" --pred "ddim-10-eta1=$OUT/ddim-10-eta1" --pred "ddpm-10=$OUT/ddpm-10" \
  --pred "topological-shapr=$OUTER/predictions/shapr-topo/fold0" \
  --pred "nearest-9=$B/nearest" --pred "cylinder=$B/cylinder" \
  --baseline ddim-10 --baseline topological-shapr --baseline nearest-9
