#!/usr/bin/env bash
# Keeps what a fresh machine needs to continue the full study of scripts/reproduce/full.sh
# (which restores it): the run's settings, every trained or half-trained model
# (checkpoint and losses) and the records of the finished trainings, copied into
# models/reproduce-full to be committed. Predictions are not kept (hundreds of MB; they
# are redone from the models). Usage: scripts/reproduce/save.sh   (from the repository root)
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/reproduce-full}
SAVED=${SAVED:-models/reproduce-full}
[ -f "$RUN/reproduce.json" ] || { echo "no run in $RUN" >&2; exit 1; }
rm -rf "$SAVED" && mkdir -p "$SAVED/work/done" "$SAVED/work/models"
cp "$RUN/reproduce.json" "$SAVED/"
for model in "$RUN"/work/models/*/; do
  name=$(basename "$model")
  [ -f "$model/checkpoint.dispr" ] || continue
  mkdir -p "$SAVED/work/models/$name"
  cp "$model/checkpoint.dispr" "$model/losses.csv" "$SAVED/work/models/$name/"
  [ ! -f "$model/config.json" ] || cp "$model/config.json" "$SAVED/work/models/$name/"
  record="$RUN/work/done/train-$name.json"
  [ ! -f "$record" ] || cp "$record" "$SAVED/work/done/"
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
