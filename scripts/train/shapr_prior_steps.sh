#!/usr/bin/env bash
# Issue #23, "Done when": the steps-versus-quality study of DISPR conditioned on SHAPR's
# shape, and its many-step DDPM row, on the five fold models of
# scripts/train/shapr_prior_cv_all.sh (each predicts only the fold it never saw).
#
# Each SETTING is a sampler's full name, as `dispr predict` records it: ddim-5-eta1,
# ddim-20-eta1-from0.7, ddpm-50, ... The fold model predicts its held-out cells with it
# (5 samples, SHAPR's shapes as priors) into ROOT/shapr-prior-fK/steps/SETTING, with the
# scale its copy learnt for the nearest draw: a walk begun from the prior takes
# model-eta1-from0.7's, any other model-eta1's. The 10-step draws the fold runs made
# (foldK-eta1 = ddim-10-eta1, foldK-eta1-from0.7 = ddim-10-eta1-from0.7) join under their
# names. Then one pooled evaluation over the 108 cells names every setting by its
# sampler, which draws steps.png (medians against network evaluations, a line per
# sampler and η), beside topological SHAPR, nearest-9 and the cylinder.
# Resumable: a setting already predicted for a fold is skipped.
# Usage: scripts/train/shapr_prior_steps.sh SETTING...   (from the repository root)
#   e.g. scripts/train/shapr_prior_steps.sh ddpm-50 ddim-5-eta1 ddim-20-eta1 ddim-20-eta1-from0.7
# Environment: ROOT (default ~/dispr-runs), OUT (the report, default
# ROOT/shapr-prior-steps), OUTER (the reproduce run's work folder), DATA, DISPR, FOLDS
# (the folds to run and pool, default "0 1 2 3 4": a screen on the folds finished so
# far, e.g. FOLDS=0, evaluates only their cells).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 SETTING... (e.g. ddpm-50 ddim-20-eta1)" >&2; exit 2; }
ROOT=${ROOT:-$HOME/dispr-runs}
OUT=${OUT:-$ROOT/shapr-prior-steps}
OUTER=${OUTER:-$ROOT/reproduce-full/work}
DATA=$(realpath "${DATA:-../shared/data/rbc-sample}")
P=$OUTER/predictions
read -r -a FOLDS <<< "${FOLDS:-0 1 2 3 4}"
only=()
[ ${#FOLDS[@]} = 5 ] || for k in "${FOLDS[@]}"; do only+=(--fold "$k"); done
DISPR=${DISPR:-$ROOT/shapr-prior-f${FOLDS[-1]}/bin/dispr}

# The flags of a setting's name: SAMPLER-STEPS[-etaE][-fromF].
flags_of() {
  [[ $1 =~ ^([a-z0-9+]+)-([0-9]+)(-eta([0-9.]+))?(-from([0-9.]+))?$ ]] ||
    { echo "not a sampler name: '$1' (e.g. ddim-20-eta1, ddpm-50)" >&2; return 2; }
  FLAGS=(--sampler "${BASH_REMATCH[1]}" --steps "${BASH_REMATCH[2]}")
  [ -z "${BASH_REMATCH[4]}" ] || FLAGS+=(--eta "${BASH_REMATCH[4]}")
  [ -z "${BASH_REMATCH[6]}" ] || FLAGS+=(--from-prior "${BASH_REMATCH[6]}")
}
for setting in "$@"; do flags_of "$setting"; done

pooled=()
for k in "${FOLDS[@]}"; do
  run=$ROOT/shapr-prior-f$k
  for setting in "$@"; do
    flags_of "$setting"
    model=$run/model-eta1
    [[ $setting != *-from* ]] || model=$run/model-eta1-from0.7
    dest=$run/steps/$setting
    if [ ! -f "$dest/predict.json" ]; then
      rm -rf "$dest.partial"
      "$DISPR" predict --model "$model" --data "$DATA" --out "$dest.partial" --samples 5 \
        --prior-shapes "$P/shapr-topo/fold$k" "${FLAGS[@]}" -q
      mv "$dest.partial" "$dest"
    fi
    pooled+=(--pred "$setting=$dest")
  done
  pooled+=(--pred "ddim-10-eta1=$run/fold$k-eta1" --pred "ddim-10-eta1-from0.7=$run/fold$k-eta1-from0.7")
  pooled+=(--pred "topological-shapr=$P/shapr-topo/fold$k")
done
"$DISPR" evaluate --data "$DATA" "${only[@]}" "${pooled[@]}" \
  --pred "nearest-9=$P/nearest-9" --pred "cylinder=$P/cylinder" --out "$OUT" \
  --baseline topological-shapr --baseline nearest-9 --baseline cylinder
