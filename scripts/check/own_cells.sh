#!/usr/bin/env bash
# Issue #16's walk-through, checked with the tools analysts use (README "Your own cells"):
# builds a field of six real sample cells with a cellpose label image and a stated pixel
# size (scripts/examples/make_field.py), predicts it with the built-in model, and checks
# with tifffile that every volume dispr wrote is an ImageJ hyperstack (axes ZYX) whose
# spacing and pixel size are the field's, and that cells.csv and the meshes are in µm.
# Needs Python with numpy and tifffile (scripts/fixtures/requirements.txt) and a release
# build; about a minute on 2 cores. Exits non-zero on any mismatch.
# Usage: scripts/check/own_cells.sh [OUT_DIR]   (from the repository root)
set -euo pipefail
OUT=${1:-$(mktemp -d)}
PYTHON=${PYTHON:-python3}
DISPR=${DISPR:-target/release/dispr}
SAMPLE=${SAMPLE:-../shared/data/rbc-sample}
[ -x "$DISPR" ] || cargo build --release -q -p dispr
"$PYTHON" scripts/examples/make_field.py "$SAMPLE" "$OUT/field-example"
"$DISPR" predict --image "$OUT/field-example/field.tif" --out "$OUT/pred" --samples 3
"$PYTHON" - "$OUT/pred" <<'PY'
import csv, pathlib, sys
import tifffile
pred = pathlib.Path(sys.argv[1])
volumes = sorted(pred.glob("*.tif")) + sorted(pred.glob("*/*.tif"))
assert volumes, "no volumes written"
for path in volumes:
    with tifffile.TiffFile(path) as tif:
        meta = tif.imagej_metadata
        assert tif.is_imagej and tif.series[0].axes == "ZYX", (path, tif.series[0].axes)
        assert meta["unit"] == "micron" and abs(meta["spacing"] - 0.2) < 1e-9, (path, meta)
        xres = tif.pages[0].tags["XResolution"].value
        assert abs(xres[0] / xres[1] - 5.0) < 1e-6, (path, xres)
rows = list(csv.DictReader(open(pred / "cells.csv")))
assert "volume_um3_mean" in rows[0], list(rows[0])
assert all(open(m, "rb").read(80).startswith(b"dispr binary STL, units: micrometres")
           for m in (pred / "mesh").glob("*.stl"))
assert (pred / "index.html").is_file() and len(list((pred / "gallery").glob("*.png"))) == 5
print(f"ok: {len(volumes)} volumes read by tifffile {tifffile.__version__} as ZYX stacks of "
      f"0.2 µm voxels; cells.csv and meshes in µm; page and 5 gallery rows")
PY
