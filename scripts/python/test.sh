#!/usr/bin/env bash
# Builds the Python package (python/, PyO3 + maturin) from source into a virtual
# environment and runs its pytest suite, the napari plugin's tests included (headless,
# under Xvfb with Mesa's software OpenGL). Run by .ci/run after `cargo test`, whose
# target/debug/dispr the tests compare with.
#
# Usage: scripts/python/test.sh [PYTEST ARGS]   (from anywhere)
# Environment: VENV (default target/python-venv), PROFILE (cargo profile of the
# extension; default dev — it shares the dependencies `cargo test` built; `release` for
# timings), DISPR_SCREENSHOT (where the napari test saves its screenshot).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=$(realpath -m "${VENV:-target/python-venv}")
PROFILE=${PROFILE:-dev}

# What Qt and OpenGL need on a bare Debian machine: Xvfb, Mesa, the xcb libraries.
packages=(xvfb xauth libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xkb1 libxcb-shape0
  libxcb-cursor0 libfontconfig1 libdbus-1-3)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages for headless Qt)"
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check -r python/requirements-test.txt
started=$(date +%s)
PATH="$VENV/bin:$PATH" MATURIN_PEP517_ARGS="--profile $PROFILE" "$VENV/bin/pip" install -q --disable-pip-version-check \
  --no-build-isolation --force-reinstall --no-deps ./python
echo "built and installed the dispr wheel ($PROFILE profile) in $(( $(date +%s) - started )) s"
"$VENV/bin/python" -c "import time; t = time.perf_counter(); import dispr; print(f'import dispr {dispr.__version__}: {time.perf_counter() - t:.2f} s')"
cd python
# pytest itself, not `python -m pytest`: that would put python/ first on sys.path and
# import the source folder instead of the package just installed.
xvfb-run -a -s "-screen 0 1600x1000x24" "$VENV/bin/pytest" -q -p no:cacheprovider "$@"
