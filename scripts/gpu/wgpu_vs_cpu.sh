#!/usr/bin/env bash
# Tests burn's wgpu backend for real on a machine without a GPU, through Mesa's software
# Vulkan driver (lavapipe, Debian's mesa-vulkan-drivers; ../shared/CLUSTER.md): builds
# dispr with `--features wgpu`, trains the `tiny` preset a few steps on wgpu and on the
# CPU (same seed), and predicts one real cell with one model on both devices (same
# seed), then compares them: the training losses, and per sample and for the ensemble
# the IoU and volume of the wgpu shape against the CPU's (`dispr metrics`). On a real
# GPU set WGPU_ADAPTER_NAME or run as is: wgpu takes the default adapter.
# Exits 0 when they agree within the bounds below, 1 when not, 77 (skipped, with the
# reason) where no Vulkan device can be had.
#
# Usage: scripts/gpu/wgpu_vs_cpu.sh [OUT_DIR]   (from the repository root)
# Environment: DATA (default ../shared/data/rbc-sample), CELL (default: the first cell
# by name), STEPS (training steps, default 3), MIN_IOU (default 0.9), MAX_LOSS_DIFF
# (relative, default 1e-4: the GPU kernels sum in another order than the CPU's, so the
# floats differ in their last digits; observed 4e-8 on lavapipe). The wgpu build shares target/ with the default build (the
# crates the feature does not touch are built once); its program is kept as
# OUT/dispr-wgpu, and the next plain `cargo build` relinks target/release/dispr.
set -euo pipefail
OUT=${1:-$(mktemp -d /tmp/dispr-wgpu.XXXXXX)}
DATA=$(realpath "${DATA:-../shared/data/rbc-sample}")
STEPS=${STEPS:-3}
MIN_IOU=${MIN_IOU:-0.9}
MAX_LOSS_DIFF=${MAX_LOSS_DIFF:-0.0001}
skip() { echo "skipped: $*" >&2; exit 77; }
elapsed() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f s", (b - a) / 1e9 }'; }
[ -d "$DATA" ] || skip "real sample not found at $DATA"
if ! command -v vulkaninfo >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian's mesa-vulkan-drivers and vulkan-tools …" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q mesa-vulkan-drivers vulkan-tools \
      >/dev/null 2>&1 || skip "cannot install mesa-vulkan-drivers with apt-get"
  else
    skip "no vulkaninfo: install mesa-vulkan-drivers and vulkan-tools"
  fi
fi
adapter=$(vulkaninfo --summary 2>/dev/null | awk -F'= ' '/deviceName/ {print $2; exit}')
[ -n "$adapter" ] || skip "no Vulkan device (vulkaninfo --summary lists none)"
echo "Vulkan device: $adapter"

# Mesa's Vulkan loader complains on every start without a runtime folder.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d); export XDG_RUNTIME_DIR
fi
started=$(date +%s)
cargo build --release -q -p dispr --features wgpu
echo "built dispr with wgpu in $(( $(date +%s) - started )) s"
mkdir -p "$OUT"
cp target/release/dispr "$OUT/dispr-wgpu"
DISPR=$OUT/dispr-wgpu
CELL=${CELL:-$(ls "$DATA/image" | sort | head -1)}
CELL=${CELL%.tif}

# Training: a few steps of the tiny preset on each device, the same seed and batches.
for device in cpu wgpu; do
  started=$(date +%s%N)
  "$DISPR" -q train --data "$DATA" --out "$OUT/train-$device" --preset tiny --fold 0 \
    --steps "$STEPS" --batch 2 --seed 7 --device "$device" --overwrite
  echo "trained $STEPS steps on $device in $(elapsed "$started")"
done
loss() { awk -F, 'NR > 1 && $1 != "" {print $2}' "$OUT/train-$1/losses.csv" | tr '\n' ' '; }
echo "losses cpu:  $(loss cpu)"
echo "losses wgpu: $(loss wgpu)"
paste -d' ' <(loss cpu | tr ' ' '\n') <(loss wgpu | tr ' ' '\n') | awk -v max="$MAX_LOSS_DIFF" '
  NF == 2 { d = ($1 - $2) / ($1 > 0 ? $1 : 1); if (d < 0) d = -d; if (d > worst) worst = d; n++ }
  END { printf "largest relative loss difference over %d steps: %.2e (bound %s)\n", n, worst, max;
        exit (n == 0 || worst > max) }' || { echo "FAIL: the training losses differ" >&2; exit 1; }

# Prediction: one real cell, with the tiny model trained on the CPU above and with the
# built-in model (a trained one), the same seed on both devices.
status=0
for model in tiny built-in; do
  for device in cpu wgpu; do
    flags=(--data "$DATA" --cells "$CELL" --all-cells --samples 3 --seed 11 --device "$device")
    [ "$model" = built-in ] || flags+=(--model "$OUT/train-cpu")
    started=$(date +%s%N)
    "$DISPR" -q predict "${flags[@]}" --out "$OUT/pred-$model-$device" >/dev/null
    echo "predicted $CELL with the $model model on $device in $(elapsed "$started")"
  done
  a=$OUT/pred-$model-wgpu b=$OUT/pred-$model-cpu
  for f in "$a/$CELL"_*.tif "$a/ensemble/$CELL.tif"; do
    rel=${f#"$a/"}
    read -r vol iou < <("$DISPR" metrics "$f" "$b/$rel" --json |
      sed -n 's/.*"errors":{"volume":\([^,]*\),.*"iou":\([^,]*\),.*/\1 \2/p')
    same=$(cmp -s "$f" "$b/$rel" && echo "byte-identical" || echo "not byte-identical")
    echo "  $rel: IoU(wgpu, cpu) $iou, relative volume difference $vol, $same"
    awk -v i="$iou" -v m="$MIN_IOU" 'BEGIN { exit !(i >= m) }' || status=1
  done
  for sub in probability std; do
    f="$sub/$CELL.tif"
    cmp -s "$a/$f" "$b/$f" && echo "  $f: byte-identical" || echo "  $f: not byte-identical"
  done
done
[ "$status" = 0 ] || { echo "FAIL: a wgpu shape differs from the CPU's (IoU < $MIN_IOU)" >&2; exit 1; }
echo "ok: wgpu ($adapter) agrees with the CPU: losses and shapes within the bounds"
