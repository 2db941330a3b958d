#!/usr/bin/env bash
# Issue #23: the predictions that the SHAPR-prior scripts read from the full reproduce
# run's work folder (OUTER/predictions): topological SHAPR's fold models' predictions of
# their held-out folds (the held-out cells' priors), nearest-9 (each cell from the other
# folds' shapes) and the cylinder. The run folder does not outlive its machine, but its
# fold models are committed (models/reproduce-full, scripts/reproduce/save.sh), so on a
# fresh machine this predicts them again (a few minutes) instead of rerunning the study.
# A finished folder is skipped; each is written whole (a .partial folder renamed).
# Usage: scripts/train/outer_predictions.sh   (from the repository root)
# Environment: OUTER (default ~/dispr-runs/reproduce-full/work), DATA, DISPR (default
# target/release/dispr), SAVED (the committed fold models, default
# models/reproduce-full/work/models).
set -euo pipefail
OUTER=${OUTER:-$HOME/dispr-runs/reproduce-full/work}
DATA=$(realpath "${DATA:-../shared/data/rbc-sample}")
DISPR=${DISPR:-target/release/dispr}
SAVED=${SAVED:-models/reproduce-full/work/models}
P=$OUTER/predictions

# write DEST COMMAND...: runs COMMAND with --out DEST.partial unless DEST is there (it is
# renamed only once finished).
write() {
  local dest=$1; shift
  [ ! -d "$dest" ] || return 0
  rm -rf "$dest.partial"
  mkdir -p "$(dirname "$dest")"
  "$@" --out "$dest.partial"
  mv "$dest.partial" "$dest"
}
for k in 0 1 2 3 4; do
  # The fold model predicts only the fold it never saw.
  write "$P/shapr-topo/fold$k" "$DISPR" predict --model "$SAVED/shapr-topo-fold$k" --data "$DATA" -q
done
write "$P/nearest-9" "$DISPR" baseline nearest --data "$DATA" --k 9
write "$P/cylinder" "$DISPR" baseline cylinder --data "$DATA"
