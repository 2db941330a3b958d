#!/usr/bin/env bash
# Tests the SLURM recipe on a real SLURM: starts a single-node cluster on this machine
# (munged, slurmctld and slurmd on localhost, as ../shared/CLUSTER.md describes; Debian's
# slurm-wlm and munge, installed when missing), submits scripts/slurm/submit.sh over the
# real sample with N shards, waits for the array and the merge job, runs the same
# prediction in one process, and checks that every cell's files and cells.csv are the
# same byte for byte, and that the evaluation of both is the same. Stops what it started.
# Exits 0 when they match, 1 when they differ or a job failed, and 77 (skipped, with
# the reason) where SLURM cannot be started (not root, no package, daemons refuse).
#
# Usage: scripts/slurm/test_local.sh [N]          (from the repository root; N = 4)
# Environment: DISPR (default target/release/dispr, built when missing), DATA (default
# ../shared/data/rbc-sample), PREDICT_FLAGS (default "--all-cells --samples 2"),
# KEEP=1 keeps the scratch folder.
set -euo pipefail
N=${1:-4}
DATA=$(realpath "${DATA:-../shared/data/rbc-sample}")
PREDICT_FLAGS=${PREDICT_FLAGS:---all-cells --samples 2}
skip() { echo "skipped: $*" >&2; exit 77; }
[ -d "$DATA" ] || skip "real sample not found at $DATA"
[ "$(id -u)" = 0 ] || skip "starting slurmctld, slurmd and munged needs root"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "installing Debian's slurm-wlm and munge …" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 \
    || skip "cannot install slurm-wlm and munge with apt-get"
fi
if [ -z "${DISPR:-}" ]; then
  [ -x target/release/dispr ] || cargo build --release -q -p dispr
  DISPR=target/release/dispr
fi
DISPR=$(realpath "$DISPR")

STATE=$(mktemp -d /tmp/dispr-slurm.XXXXXX)
mkdir -p "$STATE"/{spool,state,log,munge,munge-run}
chmod 0755 "$STATE"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$STATE"
}
trap cleanup EXIT

# munge: a key of its own, a socket in the scratch folder.
KEY=$STATE/munge/munge.key
dd if=/dev/urandom of="$KEY" bs=1024 count=1 status=none
chown -R munge:munge "$STATE/munge" "$STATE/munge-run" 2>/dev/null \
  || skip "no 'munge' user (is munge installed?)"
# munged insists: the key private to it, the socket's folder open to all.
chmod 0700 "$STATE/munge"; chmod 0755 "$STATE/munge-run"; chmod 0400 "$KEY"
SOCKET=$STATE/munge-run/munge.socket.2
su -s /bin/sh munge -c "/usr/sbin/munged --key-file=$KEY --socket=$SOCKET \
  --pid-file=$STATE/munge-run/munged.pid --log-file=$STATE/munge/munged.log \
  --seed-file=$STATE/munge/munged.seed" || skip "munged does not start"
sleep 1
pids+=("$(cat "$STATE/munge-run/munged.pid")")

HOST=$(hostname -s)
MEM=$(( $(free -m | awk '/^Mem:/ {print $2}') * 9 / 10 ))
CPUS=$(nproc)
export SLURM_CONF=$STATE/slurm.conf
cat > "$SLURM_CONF" <<CONF
ClusterName=dispr-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldLogFile=$STATE/log/ctld.log
SlurmdLogFile=$STATE/log/d.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF" || skip "slurmctld does not start (see $STATE/log/ctld.log)"
sleep 1
pids+=("$(cat "$STATE/slurmctld.pid")")
slurmd -f "$SLURM_CONF" || skip "slurmd does not start (see $STATE/log/d.log)"
sleep 1
pids+=("$(cat "$STATE/slurmd.pid")")
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %T | grep -q idle || skip "the node never became idle: $(sinfo 2>&1 | tail -1)"
echo "SLURM $(sinfo -V | awk '{print $2}') on $HOST: $(sinfo -h -o '%P %D node, %c CPUs, %T')"

# The sharded run on SLURM.
started=$(date +%s)
OUT=$STATE/sharded
# shellcheck disable=SC2086
DISPR=$DISPR scripts/slurm/submit.sh "$DATA" "$OUT" "$N" $PREDICT_FLAGS
while [ -n "$(squeue -h 2>/dev/null)" ]; do sleep 2; done
slurm_s=$(( $(date +%s) - started ))
echo "SLURM jobs finished in ${slurm_s} s; logs:"
for log in "$OUT"-logs/*.out; do echo "--- $(basename "$log")"; head -n 2 "$log"; done
[ -f "$OUT/predict.json" ] && grep -q '"merged_shards"' "$OUT/predict.json" \
  || { echo "FAIL: the merge job did not write $OUT/predict.json" >&2; exit 1; }

# The same prediction in one process.
started=$(date +%s)
# shellcheck disable=SC2086
"$DISPR" -q predict --data "$DATA" --out "$STATE/single" $PREDICT_FLAGS
"$DISPR" -q evaluate --data "$DATA" --pred "dispr=$STATE/single" --out "$STATE/single-evaluation" \
  > "$STATE/single-evaluation.txt"
single_s=$(( $(date +%s) - started ))
echo "one process: ${single_s} s"

# Every cell file and cells.csv, byte for byte (run records carry times and hosts).
records='^(predict\.json|index\.html|journal\.jsonl|\.dispr-manifest|shard-[0-9]+-of-[0-9]+/.*)$'
list() { (cd "$1" && find . -type f | sed 's|^\./||' | grep -Ev "$records" | sort); }
if ! diff <(list "$STATE/single") <(list "$OUT") >/dev/null; then
  echo "FAIL: the merged run and the single run hold different files:" >&2
  diff <(list "$STATE/single") <(list "$OUT") | head >&2
  exit 1
fi
files=0
while read -r f; do
  cmp -s "$STATE/single/$f" "$OUT/$f" || { echo "FAIL: $f differs" >&2; exit 1; }
  files=$((files + 1))
done < <(list "$STATE/single")
cmp -s "$STATE/single-evaluation/cells.csv" "$OUT-evaluation/cells.csv" \
  || { echo "FAIL: the evaluations' cells.csv differ" >&2; exit 1; }
cells=$(grep -o '"cells": *[0-9]*' "$OUT/predict.json" | head -1 | grep -o '[0-9]*$')
echo "ok: $N SLURM shards merged = one process, $files files of $cells cells byte for byte, and the same evaluation"
