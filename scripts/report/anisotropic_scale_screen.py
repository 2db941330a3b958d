#!/usr/bin/env python3
"""Screen a surface-aware size correction on held-out predictions (issue #23).

The learnt scale of a DISPR model enlarges each sample equally in z, y and x so that
its median volume is right. Its surface area stays below the truth for most cells.
This screen asks whether any other shape of the correction helps: each binary sample
in PRED is enlarged about its centroid by SZ in z and SXY in y and x (trilinear, then
> 0.5), for every pair given, and `dispr evaluate` compares them per cell with the
samples as drawn. The pairs are chosen by looking at the test cells themselves, so
the best row is an upper bound of what a correction learnt on training cells could do.

Needs numpy, scipy and tifffile. Usage (from the repository root):
  python3 scripts/report/anisotropic_scale_screen.py PRED --data DATA --fold K \
      --out REPORT --dispr target/release/dispr --pair 1.0,1.03 --pair 0.94,1.03 ...
It also prints, per sample against its truth, the median ratios of volume, footprint
(area of the z projection) and mean thickness (volume / footprint).
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import tifffile
from scipy import ndimage


def binary(path):
    v = tifffile.imread(path).astype(np.float64)
    return v / v.max() > 0.5 if v.max() > 0 else np.zeros(v.shape, bool)


def rescale(shape, sz, sxy):
    """The shape enlarged about its centroid by sz in z (axis 0) and sxy in y, x."""
    if not shape.any():
        return shape
    centre = np.array(ndimage.center_of_mass(shape))
    inverse = 1.0 / np.array([sz, sxy, sxy])
    out = ndimage.affine_transform(shape.astype(np.float32), inverse,
                                   offset=centre - inverse * centre, order=1)
    return out > 0.5


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pred", help="predictions folder (CELL_0.tif ... CELL_4.tif)")
    ap.add_argument("--data", required=True, help="dataset with obj/ ground truth")
    ap.add_argument("--fold", type=int, required=True, help="the fold PRED holds")
    ap.add_argument("--out", required=True, help="report folder")
    ap.add_argument("--dispr", default="target/release/dispr")
    ap.add_argument("--pair", action="append", default=[],
                    help="SZ,SXY (repeat); e.g. 1.0,1.03")
    args = ap.parse_args()
    samples = sorted(glob.glob(os.path.join(args.pred, "*_[0-9].tif")))
    if not samples:
        sys.exit(f"error: {args.pred}: no samples CELL_0.tif ... found")

    ratios = []
    for path in samples:
        cell = os.path.basename(path).rsplit("_", 1)[0]
        p, g = binary(path), binary(os.path.join(args.data, "obj", cell + ".tif"))
        vp, vg = p.sum(), g.sum()
        fp, fg = p.any(0).sum(), g.any(0).sum()
        ratios.append((vp / vg, fp / fg, (vp / max(fp, 1)) / (vg / fg)))
    med = np.median(np.array(ratios), axis=0)
    print(f"{len(samples)} samples, median ratio to the truth: volume {med[0]:.3f}, "
          f"footprint {med[1]:.3f}, mean thickness {med[2]:.3f}")

    work = tempfile.mkdtemp(prefix="aniso-")
    preds = ["--pred", f"as-drawn={args.pred}"]
    for pair in args.pair:
        sz, sxy = (float(x) for x in pair.split(","))
        name = f"z{sz:g}-xy{sxy:g}"
        folder = os.path.join(work, name)
        os.makedirs(folder)
        for path in samples:
            shape = rescale(binary(path), sz, sxy)
            tifffile.imwrite(os.path.join(folder, os.path.basename(path)),
                             shape.astype(np.uint8) * 255)
        preds += ["--pred", f"{name}={folder}"]
    subprocess.run([args.dispr, "evaluate", "--data", args.data, "--fold", str(args.fold),
                    *preds, "--baseline", "as-drawn", "--out", args.out, "-q"], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(work)
    print(open(os.path.join(args.out, "table_per_cell.md")).read())


if __name__ == "__main__":
    main()
