#!/usr/bin/env bash
# Keeps what a fresh machine needs to continue the full study of scripts/reproduce/full.sh
# (which restores it): the run's settings, every finished model (its exported weights)
# with its record, and every half-trained model with 10 minutes of training or more
# (checkpoint, to resume), each with its losses, copied into models/reproduce-full to be
# committed. Predictions are not kept (hundreds of MB; they
# are redone from the models). Usage: scripts/reproduce/save.sh   (from the repository root)
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/reproduce-full}
SAVED=${SAVED:-models/reproduce-full}
[ -f "$RUN/reproduce.json" ] || { echo "no run in $RUN" >&2; exit 1; }
rm -rf "$SAVED" && mkdir -p "$SAVED/work/done" "$SAVED/work/models"
cp "$RUN/reproduce.json" "$SAVED/"
DISPR=${DISPR:-$RUN.bin/dispr}
[ -x "$DISPR" ] || DISPR=target/release/dispr
for model in "$RUN"/work/models/*/; do
  name=$(basename "$model")
  [ -f "$model/checkpoint.dispr" ] || continue
  record="$RUN/work/done/train-$name.json"
  if [ -f "$record" ]; then
    # A finished training needs only its weights to predict: the exported EMA weights
    # (a third of the checkpoint, which also holds the optimizer's state) under the
    # checkpoint's name (dispr reads either format); they predict exactly as it does.
    mkdir -p "$SAVED/work/models/$name"
    "$DISPR" model export --model "$model" --out "$SAVED/work/models/$name/checkpoint.dispr" >/dev/null
    cp "$record" "$SAVED/work/done/"
  else
    # A half-trained model is kept (whole, to resume) once it holds 10 minutes of
    # training; less is cheaper to redo than to commit.
    seconds=$(tail -n 1 "$model/losses.csv" | awk -F, '{print int($NF)}')
    [ "${seconds:-0}" -ge 600 ] 2>/dev/null || continue
    mkdir -p "$SAVED/work/models/$name"
    cp "$model/checkpoint.dispr" "$SAVED/work/models/$name/"
  fi
  cp "$model/losses.csv" "$SAVED/work/models/$name/"
  [ ! -f "$model/config.json" ] || cp "$model/config.json" "$SAVED/work/models/$name/"
done
cat > "$SAVED/README.md" <<TEXT
# The full reproduce run, in progress

What a fresh machine needs to continue \`dispr reproduce --budget full\` on the real
sample (docs/reproduce.md): the run's settings and every trained or half-trained fold
model with the records of the finished trainings, saved by scripts/reproduce/save.sh on
$(date -u +%Y-%m-%d) ($(ls "$SAVED/work/done" | wc -l) of 15 trainings finished). Continue with
scripts/reproduce/full.sh, which restores this folder when its run folder is missing.
Not shipped models: dispr never reads these otherwise.
TEXT
du -sh "$SAVED"
