#!/usr/bin/env bash
# Re-runs every reproduction of issue #19 ("Nothing lost, nothing silently wrong")
# against a built dispr binary and prints, for each, the command, its exit status and
# the one line dispr prints about it. The regression tests behind them are in
# crates/dispr/tests/cli/cli_promises.rs; what is promised is docs/promises.md.
#
#   scripts/promises/reproduce.sh            # uses target/release/dispr
#   DISPR=path/to/dispr scripts/promises/reproduce.sh > reproduce.txt
#
# Works in a temporary folder (removed at the end) on 4 real cells copied from
# ../shared/data/rbc-sample (SAMPLE=... to use another copy), the `tiny` preset trained
# 2 steps, and hostile files crafted by make_attacks.py (PYTHON=... with numpy and
# tifffile; default ~/venv/bin/python). Exits 0 when every item behaves as promised, 1
# with a list of what regressed otherwise. Takes a few minutes on 2 cores.

set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DISPR=${DISPR:-$ROOT/target/release/dispr}
[[ $DISPR == /* ]] || DISPR="$PWD/$DISPR"
PYTHON=${PYTHON:-$HOME/venv/bin/python}
SAMPLE=${SAMPLE:-$ROOT/../shared/data/rbc-sample}
ATTACKS="$HERE/make_attacks.py"
export NO_COLOR=1

die() { echo "reproduce.sh: $*" >&2; exit 2; }
[[ -x $DISPR ]] || die "no dispr binary at $DISPR (build it with cargo build --release, or set DISPR)"
[[ -d $SAMPLE/image ]] || die "no real sample at $SAMPLE (set SAMPLE)"
"$PYTHON" -c 'import numpy, tifffile' 2>/dev/null || die "$PYTHON lacks numpy or tifffile (set PYTHON)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dispr-reproduce19.XXXXXX")
BG=()
cleanup() {
    local pid
    for pid in "${BG[@]}"; do kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    cd / && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$WORK" || die "cannot enter $WORK"

FAILED=()
LAST_OUT=$WORK/.last-output
fail() { FAILED+=("item $ITEM: $*"); echo "REGRESSION: $*"; }
section() { ITEM=$1; shift; printf '\n## %s %s\n' "$ITEM" "$*"; }
note() { echo "# $*"; }
craft() { "$PYTHON" "$ATTACKS" "$@" || die "make_attacks.py $* failed"; }

# Runs a command line whose first word `dispr` stands for the binary (after a wrapper
# such as `timeout 10`).
run_words() {
    local a=() w done=""
    for w in "$@"; do
        if [[ -z $done && $w == dispr ]]; then a+=("$DISPR"); done=1; else a+=("$w"); fi
    done
    "${a[@]}"
}

# expect [-v KIB] CODE NEEDLE WORDS...: runs WORDS (optionally under ulimit -v KIB),
# prints "$ WORDS" and "exit N: LINE", where LINE is the first output line holding
# NEEDLE (or, with an empty NEEDLE, the first `error:` line on failure, the first line of
# standard output on success). A regression when the status is not CODE, NEEDLE is not
# printed, or dispr panicked.
expect() {
    local limit=""
    if [[ $1 == -v ]]; then limit=$2; shift 2; fi
    local code=$1 needle=$2 rc line
    shift 2
    if [[ -n $limit ]]; then
        echo "\$ ulimit -v $limit; $*"
        (ulimit -v "$limit" && run_words "$@") >"$LAST_OUT.out" 2>"$LAST_OUT.err"
    else
        echo "\$ $*"
        run_words "$@" >"$LAST_OUT.out" 2>"$LAST_OUT.err"
    fi
    rc=$?
    cat "$LAST_OUT.out" "$LAST_OUT.err" >"$LAST_OUT"
    if [[ -n $needle ]]; then
        line=$(grep -F -m1 -- "$needle" "$LAST_OUT")
    elif [[ $rc -ne 0 ]]; then
        line=$(grep -m1 '^error:' "$LAST_OUT")
    else
        line=$(grep -v '^progress:' "$LAST_OUT.out" | grep -m1 .)
    fi
    [[ -n $line ]] || line=$(grep -v '^progress:' "$LAST_OUT" | grep -m1 .)
    line="${line#"${line%%[![:space:]]*}"}"
    echo "exit $rc: $line"
    if [[ $rc -ne $code ]]; then
        fail "\`$*\` exited $rc, expected $code"
    fi
    if [[ -n $needle ]] && ! grep -qF -- "$needle" "$LAST_OUT"; then
        fail "\`$*\` did not print '$needle'"
    fi
    if grep -qE 'panicked|internal error' "$LAST_OUT"; then
        fail "\`$*\` panicked"
    fi
    return 0
}

# also NEEDLE: prints the last command's output line holding NEEDLE (a regression if none).
also() {
    local line
    line=$(grep -F -m1 -- "$1" "$LAST_OUT")
    line="${line#"${line%%[![:space:]]*}"}"
    if [[ -n $line ]]; then echo "        $line"; else fail "no line holding '$1'"; fi
}

# check DESCRIPTION TEST...: prints "ok: DESCRIPTION" if TEST succeeds, else a regression.
check() {
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else fail "$what"; fi
}

# partials DIR: dispr's temporary files under DIR, one a line (nothing if none).
partials() { find "$1" -name '.dispr-partial-*' | sort; }
no_partials() { [[ -z $(partials "$1") ]]; }

# wait_for FILE SECONDS: true once FILE exists.
wait_for() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [[ -e $1 ]] && return 0
        sleep 0.1
    done
    return 1
}

# A small dataset of real cells: 2 clusters, 1 keratocyte, 1 knizocyte.
CELLS=()
for prefix in A_cell_clusters A_cell_clusters B_keratocytes C_knizocytes; do
    for f in "$SAMPLE"/image/"$prefix"*.tif; do
        name=$(basename "$f" .tif)
        [[ " ${CELLS[*]} " == *" $name "* ]] && continue
        CELLS+=("$name")
        break
    done
done
mkdir -p data/image data/mask data/obj
for c in "${CELLS[@]}"; do
    for d in image mask obj; do cp "$SAMPLE/$d/$c.tif" "data/$d/"; done
done
C0=${CELLS[0]}
C1=${CELLS[1]}
# copy_data NEW [N]: a copy of data/ (of its first N cells only, if given).
copy_data() {
    local n=${2:-${#CELLS[@]}} i d
    mkdir -p "$1"/image "$1"/mask "$1"/obj
    for ((i = 0; i < n; i++)); do
        for d in image mask obj; do cp "data/$d/${CELLS[i]}.tif" "$1/$d/"; done
    done
}
# The tiny preset trained 2 steps: the model the predictions below use.
TRAIN_TINY=(--preset tiny --batch 1)
PREDICT_QUICK=(--model run --samples 2 --steps 2 --all-cells)

echo "# dispr: $("$DISPR" --version)"
echo "# dataset data/: ${CELLS[*]} (real cells of rbc-sample)"
echo "\$ dispr train --data data --out run ${TRAIN_TINY[*]} --steps 2"
"$DISPR" train --data data --out run "${TRAIN_TINY[@]}" --steps 2 >/dev/null 2>"$LAST_OUT" ||
    die "training the tiny model failed: $(cat "$LAST_OUT")"
echo "exit 0"

# ---------------------------------------------------------------------------------------
section 1 "TIFF memory bomb"
craft bomb bomb.tif
note "bomb.tif: $(stat -c %s bomb.tif) bytes, 500 pages of 8192x8192 uint8 sharing one deflate strip (32 GB decoded)"
# 3 GiB of address space: far below what the pages decode to, so a regression aborts.
expect -v 3145728 1 "TIFF too large" dispr measure bomb.tif
copy_data data-bomb
cp bomb.tif "data-bomb/image/$C0.tif"
note "data-bomb/: data/ with image/$C0.tif replaced by bomb.tif"
expect -v 3145728 1 "found a 3D stack of 500 pages" dispr data info data-bomb

# ---------------------------------------------------------------------------------------
section 2 "Two runs on one --out"
note "a first train runs in the background (pid shown in the error):"
echo "\$ dispr train --data data --out run2 ${TRAIN_TINY[*]} --steps 100000 &"
"$DISPR" train --data data --out run2 "${TRAIN_TINY[@]}" --steps 100000 >/dev/null 2>&1 &
first=$!
BG+=("$first")
if wait_for run2/.dispr-lock 60; then
    expect 1 "in use by another dispr run" dispr train --data data --out run2 "${TRAIN_TINY[@]}" --steps 5
else
    fail "the first train never took the lock of run2/"
fi
kill -9 "$first" 2>/dev/null
wait "$first" 2>/dev/null
note "kill -9 the first: the system releases its lock, the folder is free at once"
expect 0 "" dispr train --data data --out run2 "${TRAIN_TINY[@]}" --steps 2 --overwrite
check "the lock went with its run" test ! -e run2/.dispr-lock

note "a first predict runs in the background (the built-in model, 1000 steps):"
echo "\$ dispr predict --data data --out pred2 --samples 5 --seed 1 --steps 1000 --all-cells &"
"$DISPR" predict --data data --out pred2 --samples 5 --seed 1 --steps 1000 --all-cells >/dev/null 2>&1 &
first=$!
BG+=("$first")
if wait_for pred2/.dispr-lock 60; then
    expect 1 "in use by another dispr run" dispr predict --data data --out pred2 --samples 2 --seed 2 --steps 2 --all-cells
else
    fail "the first predict never took the lock of pred2/"
fi
kill -9 "$first" 2>/dev/null
wait "$first" 2>/dev/null
check "the second predict wrote nothing into pred2/ (no predict.json of its own)" test ! -e pred2/predict.json

# ---------------------------------------------------------------------------------------
section 3 "Stale-sample removal deletes only dispr's own files"
mkdir -p pred3
echo "the user's notes, not a TIFF" >"pred3/${C0}_7.tif"
note "pred3/${C0}_7.tif: a user's text file; no predict.json in pred3/"
expect 0 "" dispr predict --data data --out pred3 --model run --samples 3 --steps 2 --all-cells --cells "$C0"
check "samples ${C0}_0..2.tif written" test -f "pred3/${C0}_2.tif"
echo "the user's table" >"pred3/${C0}_5.tif"
note "pred3/${C0}_5.tif: a second user's file, made after that run"
expect 0 "" dispr predict --data data --out pred3 --model run --samples 1 --steps 2 --all-cells --cells "$C0"
check "the old samples ${C0}_1.tif and _2.tif (dispr's own) were removed" \
    test ! -e "pred3/${C0}_1.tif" -a ! -e "pred3/${C0}_2.tif" -a -f "pred3/${C0}_0.tif"
check "the user's ${C0}_7.tif and ${C0}_5.tif are untouched" \
    test "$(cat "pred3/${C0}_7.tif")" = "the user's notes, not a TIFF" -a "$(cat "pred3/${C0}_5.tif")" = "the user's table"

# ---------------------------------------------------------------------------------------
section 4 "--out may not overwrite the inputs"
before=$(cat data/obj/*.tif | sha256sum)
expect 1 "the output would overwrite an input" dispr baseline cylinder --data data --out data/obj
check "data/obj/ unchanged" test "$(cat data/obj/*.tif | sha256sum)" = "$before"
before=$(sha256sum <run/checkpoint.dispr)
expect 1 "the output would overwrite an input" dispr model export --model run --out run/checkpoint.dispr
check "run/checkpoint.dispr unchanged" test "$(sha256sum <run/checkpoint.dispr)" = "$before"
before=$(cat data/mask/*.tif | sha256sum)
expect 1 "the output would overwrite an input" dispr predict --data data --out data/mask "${PREDICT_QUICK[@]}"
check "data/mask/ unchanged" test "$(cat data/mask/*.tif | sha256sum)" = "$before"

# ---------------------------------------------------------------------------------------
section 5 "Checkpoints are checksummed whole"
expect 0 "" dispr model export --model run --out m.safetensors
note "flip the first digit of m.safetensors.sha256"
craft flip-sha256 m.safetensors.sha256
expect 1 "does not match" dispr model info --model m.safetensors
expect 1 "does not match" dispr predict --data data --out pred5 --model m.safetensors --samples 2 --steps 2 --all-cells
for field in grid step schedule; do
    cp -r run "run-$field"
    rm -f "run-$field"/.dispr-lock
    note "run-$field/checkpoint.dispr: $(craft edit-header "run-$field/checkpoint.dispr" "$field")"
    # A grid of 99 voxels would have been a 32-40 GB allocation: 3 GiB of address space.
    expect -v 3145728 1 "header fails its checksum" dispr predict --data data --out "pred5-$field" \
        --model "run-$field" --samples 2 --steps 2 --all-cells
done
expect 1 "header fails its checksum" dispr train --data data --out run-step --resume
expect 0 "" dispr model export --model run --out m2.safetensors
note "m2.safetensors: $(craft edit-header m2.safetensors step) (and m2.safetensors.sha256 removed)"
rm m2.safetensors.sha256
expect 1 "fail their checksum" dispr model info --model m2.safetensors

# ---------------------------------------------------------------------------------------
section 6 "Non-finite values and masks that are no masks"
craft cube cube.tif
craft cube inf.tif inf
craft cube nan.tif nan
note "cube.tif: an 8x8x8 float32 cube; inf.tif, nan.tif: the same with +inf / NaN at [0,0,0]"
expect 1 "NaN or infinite" dispr measure inf.tif
expect 1 "NaN or infinite" dispr measure nan.tif
expect 1 "NaN or infinite" dispr metrics inf.tif cube.tif
expect 1 "NaN or infinite" dispr mesh inf.tif --out inf.stl
check "no inf.stl written" test ! -e inf.stl
mkdir -p pred6
cp data/obj/*.tif pred6/
craft poison-volume "data/obj/$C0.tif" "pred6/$C0.tif" inf
note "pred6/: the true shapes as predictions, $C0.tif as float32 with one +inf voxel"
expect 1 "NaN or infinite" dispr evaluate --data data --pred p=pred6 --out report6
expect 1 "NaN or infinite" dispr features --data data --pred pred6 --out f6.csv
copy_data data6
craft gray-mask "data/mask/${CELLS[0]}.tif" "data6/mask/${CELLS[0]}.tif"
craft full-mask "data/mask/${CELLS[1]}.tif" "data6/mask/${CELLS[1]}.tif"
craft nan-mask "data/mask/${CELLS[2]}.tif" "data6/mask/${CELLS[2]}.tif"
craft poison-volume "data/obj/${CELLS[3]}.tif" "data6/obj/${CELLS[3]}.tif" nan
note "data6/: mask of ${CELLS[0]} grayscale, of ${CELLS[1]} all 255, of ${CELLS[2]} float32 with a NaN; obj of ${CELLS[3]} with a NaN"
expect 1 "more than 32 distinct values" dispr data info data6
also "mask covers the whole image"
also "${CELLS[2]}.tif: "
also "${CELLS[3]}.tif: "
for k in 0 1 2; do
    expect 1 "data6/mask/${CELLS[k]}.tif" dispr predict "data6/image/${CELLS[k]}.tif" "data6/mask/${CELLS[k]}.tif" \
        --out "pred6-$k" --model run --samples 2 --steps 2
done
expect 1 "" dispr baseline cylinder --data data6 --out b6

# ---------------------------------------------------------------------------------------
section 7 "classify leaks"
{
    echo "name,class,source,volume,surface"
    i=0
    for class in cluster keratocyte knizocyte; do
        for k in 0 1 2 3 4 5; do echo "$class$k,$class,$class$k,$((i * 10 + k)),$k"; done
        i=$((i + 1))
    done
} >features.csv
{ cat features.csv; echo "cluster0,cluster,cluster0,0,0"; } >dup.csv
{ cat features.csv; echo "x,dragon,x,1,1"; } >unknown.csv
note "features.csv: 18 shapes of 3 classes; dup.csv: + line 20 repeating cluster0; unknown.csv: + a shape of class 'dragon'"
expect 1 "is listed again" dispr classify --features dup.csv --out classify-dup
expect 1 "unknown class" dispr classify --features unknown.csv --out classify-unknown
copy_data data7
printf 'name,class\n%s,cluster\n%s,keratocyte\n' "$C0" "$C0" >data7/labels.csv
note "data7/labels.csv: $C0 labelled cluster (line 2) and keratocyte (line 3)"
expect 1 "labelled again" dispr data info data7
expect 1 "labelled again" dispr baseline cylinder --data data7 --out b7

# ---------------------------------------------------------------------------------------
section 8 "Sizes from flags are bounded"
expect 2 "invalid value" dispr train --data data --out run8 --batch 1000
expect 2 "invalid value" dispr train --data data --out run8 --steps 10000001
expect 2 "invalid value" dispr baseline cylinder --data data --out b8 --depth 4294967295
expect 2 "invalid value" dispr baseline cylinder --data data --out b8 --depth 100000
expect 2 "invalid value" dispr predict --data data --out pred8 --steps 1001
expect 2 "invalid value" dispr predict --data data --out pred8 --samples 101
check "nothing written by them" test ! -e run8 -a ! -e b8 -a ! -e pred8

# ---------------------------------------------------------------------------------------
section 9 "Leftovers after a kill, a FIFO, cells X and X_1"
echo "\$ dispr train --data data --out run9 ${TRAIN_TINY[*]} --steps 100000 --checkpoint-every 1 &   # kill -9 after its first checkpoint"
"$DISPR" train --data data --out run9 "${TRAIN_TINY[@]}" --steps 100000 --checkpoint-every 1 >/dev/null 2>&1 &
first=$!
BG+=("$first")
wait_for run9/checkpoint.dispr 120 || fail "train never wrote run9/checkpoint.dispr"
sleep 1.5
kill -0 "$first" 2>/dev/null || fail "train finished before it could be killed"
kill -9 "$first" 2>/dev/null
wait "$first" 2>/dev/null
left=$(partials run9 | tr '\n' ' ')
note "killed at step $(( $(grep -c . run9/losses.csv) - 1 )) (rows in losses.csv); left: ${left:-no .dispr-partial-* file (the kill fell between writes)}"
echo "half a checkpoint" >run9/.dispr-partial-planted
note "and run9/.dispr-partial-planted written as a kill mid-write would leave it"
steps=$(( $(grep -c . run9/losses.csv) + 1 ))
expect 0 "" dispr train --data data --out run9 --resume --steps "$steps"
check "no .dispr-partial-* file left in run9/ after --resume" no_partials run9
echo "half a checkpoint" >run9/.dispr-partial-planted2
expect 0 "" dispr train --data data --out run9 "${TRAIN_TINY[@]}" --steps 1 --overwrite
check "none left after --overwrite either" no_partials run9

PREDICT9=(predict --data data --out pred9 --model run --samples 2 --steps 20 --all-cells)
echo "\$ dispr ${PREDICT9[*]} &   # kill -9 after 2.5 s"
"$DISPR" "${PREDICT9[@]}" >/dev/null 2>&1 &
first=$!
BG+=("$first")
wait_for pred9/.dispr-lock 60
sleep 2.5
kill -0 "$first" 2>/dev/null || fail "predict finished before it could be killed"
kill -9 "$first" 2>/dev/null
wait "$first" 2>/dev/null
left=$(partials pred9 | tr '\n' ' ')
note "killed after writing $(find pred9 -maxdepth 1 -name '*_[0-9].tif' | wc -l) of 8 samples; left: ${left:-no .dispr-partial-* file (the kill fell between writes)}"
mkdir -p pred9/mesh
echo "half a mesh" >pred9/mesh/.dispr-partial-planted
echo "half a sample" >pred9/.dispr-partial-planted
note "and pred9/.dispr-partial-planted, pred9/mesh/.dispr-partial-planted written as a kill mid-write would leave them"
expect 0 "" dispr "${PREDICT9[@]}"
check "no .dispr-partial-* file left in pred9/ (nor pred9/mesh/)" no_partials pred9
check "all 8 samples there" test "$(find pred9 -maxdepth 1 -name '*_[0-9].tif' | wc -l)" = 8

copy_data data9
rm "data9/image/$C0.tif"
mkfifo "data9/image/$C0.tif"
note "data9/image/$C0.tif: a FIFO (nothing ever writes to it)"
expect 1 "is not a regular file" timeout 10 dispr data info data9
expect 1 "is not a regular file" timeout 10 dispr predict --data data9 --out pred9f "${PREDICT_QUICK[@]}"

copy_data data9x 2
for d in image mask obj; do cp "data9x/$d/$C0.tif" "data9x/$d/${C0}_1.tif"; done
note "data9x/: cells $C0, $C1 and ${C0}_1 (a copy of $C0)"
expect 1 "sample 1" dispr predict --data data9x --out pred9x "${PREDICT_QUICK[@]}"
check "pred9x/ holds no sample" test -z "$(find pred9x -name '*.tif' 2>/dev/null)"

# ---------------------------------------------------------------------------------------
section 10 "Small lies"
expect 0 "" dispr train --data data --out run10 "${TRAIN_TINY[@]}" --steps 3 --checkpoint-every 2
final=$(grep -o 'final loss [0-9.]*' "$LAST_OUT")
[[ -n $final ]] || fail "train printed no final loss"
note "resuming the finished run reports its real final loss:"
expect 0 "$final" dispr train --data data --out run10 --resume --steps 3
truncate -s -6 run10/losses.csv
note "run10/losses.csv: its last row cut by 6 bytes, as a kill mid-write would"
expect 0 "this session" dispr train --data data --out run10 --resume --steps 3
check "the resumed run's report holds no NaN" bash -c "! grep -q NaN '$LAST_OUT'"
check "losses.csv: the header and the 2 whole rows, the cut row dropped" test "$(grep -c . run10/losses.csv)" = 3
expect 1 "--preset cannot change when resuming" dispr train --data data --out run10 --resume --preset small
expect 0 "" dispr train --data data --out run10 --resume --preset tiny --model dispr --steps 3
copy_data data10
echo "not a tiff" >"data10/mask/$C0.tif"
note "data10/mask/$C0.tif: 'not a tiff'"
expect 1 "data10/mask/$C0.tif" dispr baseline cylinder --data data10 --out b10
check "the failing baseline does not claim to have written anything" bash -c "! grep -qi wrote '$LAST_OUT.out'"
craft shared-strip good.tif 8
craft shared-strip bad.tif 1
note "good.tif: 4 deflate pages of 64x64; bad.tif: the same bytes with the Compression tag overwritten to 1 (none)"
expect 0 "" dispr measure --json good.tif
expect 1 "Compression tag" dispr measure bad.tif

# ---------------------------------------------------------------------------------------
echo
if [[ ${#FAILED[@]} -eq 0 ]]; then
    echo "all 10 items behave as docs/promises.md promises"
    exit 0
fi
echo "${#FAILED[@]} regression(s):"
printf '  %s\n' "${FAILED[@]}"
exit 1
