#!/usr/bin/env bash
# The full study of docs/reproduce.md: `dispr reproduce --budget full` on the real
# sample, in the background for hours, resumable. Rerun it after any interruption (or on
# a fresh machine): it continues from the run folder, or first from what
# scripts/reproduce/save.sh committed (models/reproduce-full: the finished and the
# half-trained models with their records).
# Usage: scripts/reproduce/full.sh   (from the repository root)
# Environment: RUN (default ~/dispr-runs/reproduce-full), DATA (default
# ../shared/data/rbc-sample), JOBS (units at once, default 2), DISPR (the dispr command;
# default: a copy of target/release/dispr in RUN/bin, so rebuilding the work tree never
# changes the binary under a running job).
set -euo pipefail
RUN=${RUN:-$HOME/dispr-runs/reproduce-full}
DATA=${DATA:-../shared/data/rbc-sample}
JOBS=${JOBS:-2}
SAVED=${SAVED:-models/reproduce-full}
mkdir -p "$(dirname "$RUN")"
if [ -z "${DISPR:-}" ]; then
  # Always built from the work tree (a no-op when up to date): a restarted run takes
  # this tree's dispr, with the version check of OUT/reproduce.json guarding the folder.
  cargo build --release -q -p dispr
  mkdir -p "$RUN.bin" && cp -f target/release/dispr "$RUN.bin/dispr"
  DISPR="$RUN.bin/dispr"
fi
# A fresh machine continues from the committed state.
if [ ! -f "$RUN/reproduce.json" ] && [ -f "$SAVED/reproduce.json" ]; then
  echo "restoring the committed state of the run from $SAVED"
  mkdir -p "$RUN"
  cp -r "$SAVED/." "$RUN/"
  # The run records the dataset's absolute path: this machine's.
  python3 - "$RUN/reproduce.json" "$DATA" <<'PY'
import json, os, sys
path, data = sys.argv[1], os.path.realpath(sys.argv[2])
s = json.load(open(path)); s["data"] = data
json.dump(s, open(path, "w"), indent=2)
PY
fi
exec "$DISPR" reproduce --data "$DATA" --out "$RUN" --budget full --jobs "$JOBS"
