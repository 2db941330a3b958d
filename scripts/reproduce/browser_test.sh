#!/usr/bin/env bash
# The browser test of `dispr reproduce`'s page: runs `dispr reproduce --budget quick` on
# the real sample (kept in OUT; a finished run is reused), renders OUT/report/index.html
# in headless Chromium (Debian's `chromium`, driven by Playwright) and fails on a picture
# that does not load, a broken link, a link to the network, a console error or a script
# error (scripts/report/browser_check.py). Saves one screenshot per section into SHOTS
# (default docs/img: the screenshots docs/reproduce.md shows) and the whole page as
# OUT/page.png.
# Not part of .ci/run (installing Chromium and Playwright takes minutes); run it by hand.
# Usage: scripts/reproduce/browser_test.sh   (from anywhere)
# Environment: OUT (default target/reproduce-quick), DATA (default
# ../shared/data/rbc-sample), VENV (default target/browser-venv), SHOTS (default docs/img).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-target/reproduce-quick}
DATA=${DATA:-../shared/data/rbc-sample}
VENV=$(realpath -m "${VENV:-target/browser-venv}")
SHOTS=${SHOTS:-docs/img}

if ! command -v chromium >/dev/null; then
  echo "installing Debian's chromium"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import playwright" 2>/dev/null || \
  "$VENV/bin/pip" install -q --disable-pip-version-check playwright

cargo run --release -q -p dispr -- reproduce --data "$DATA" --out "$OUT" --budget quick --jobs 2 >/dev/null
mkdir -p "$SHOTS"
"$VENV/bin/python" scripts/report/browser_check.py "$OUT/report/index.html" \
  "$SHOTS/reproduce-page.png" 1280 --sections methods,table1,fig5,timings
mv "$SHOTS/reproduce-page.png" "$OUT/page.png"
echo "browser test passed: $OUT/report/index.html (whole page: $OUT/page.png)"
