#!/usr/bin/env bash
# Predicts a dataset on a SLURM cluster: an array of N tasks, one shard of the cells
# each (scripts/slurm/predict.sbatch), and a job that waits for all of them, merges the
# shards and evaluates (scripts/slurm/merge.sbatch). Prints the two job ids.
#
# Usage: scripts/slurm/submit.sh DATA OUT N [PREDICT FLAGS…]
#   e.g. scripts/slurm/submit.sh cells/ pred/ 16 --samples 5 --model run/
# Environment:
#   DISPR         the dispr program [default: target/release/dispr, made absolute]
#   SBATCH_FLAGS  more sbatch flags for both jobs, e.g. "--partition gpu --gres gpu:1"
#   CPUS          cores per task [default 1]
#   LOGS          folder of the jobs' logs [default: OUT-logs]
#   EVAL          evaluation folder [default: OUT-evaluation]
# A task that failed can be resubmitted alone, with the same environment (DISPR, DATA,
# OUT, SHARDS=N) and flags: sbatch --export=ALL --array=K scripts/slurm/predict.sbatch
# FLAGS…; it keeps the cells it had finished. The merged folder equals one unsharded
# `dispr predict --data DATA --out OUT` byte for byte, cell by cell.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
DATA=$(realpath "$1"); OUT=$(realpath -m "$2"); N=$3; shift 3
case "$N" in ''|*[!0-9]*|0) echo "error: N must be a whole number ≥ 1, not '$N'" >&2; exit 2;; esac
[ -d "$DATA" ] || { echo "error: $DATA: no such dataset folder" >&2; exit 2; }
DISPR=$(realpath "${DISPR:-target/release/dispr}")
[ -x "$DISPR" ] || { echo "error: $DISPR: not an executable dispr (set DISPR)" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "error: sbatch not found: is this a SLURM login node?" >&2; exit 1; }
LOGS=$(realpath -m "${LOGS:-${OUT%/}-logs}")
mkdir -p "$LOGS"
HERE=$(cd "$(dirname "$0")" && pwd)
export DISPR DATA OUT SHARDS="$N" EVAL="${EVAL:-${OUT%/}-evaluation}"
# shellcheck disable=SC2086 # SBATCH_FLAGS is a list of flags
array=$(sbatch --parsable --export=ALL --array="1-$N" --cpus-per-task="${CPUS:-1}" \
  --output="$LOGS/predict-%A_%a.out" ${SBATCH_FLAGS:-} "$HERE/predict.sbatch" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --cpus-per-task="${CPUS:-1}" --output="$LOGS/merge-%j.out" ${SBATCH_FLAGS:-} "$HERE/merge.sbatch")
merge=${merge%%;*}
echo "array job $array: $N shards of $DATA into $OUT"
echo "merge job $merge: runs after all of them (logs in $LOGS)"
