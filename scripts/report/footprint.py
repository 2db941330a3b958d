#!/usr/bin/env python3
"""Where a model's missing volume goes: footprint against height (docs/accuracy.md).

For every cell of one or more prediction folders, compares its samples with the true
3D shape (both binarized at half their maximum, as the metrics do): the volume, the xy
footprint (the projection along z), the mean height (volume / footprint), and how far
each footprint reaches beyond the cell's 2D mask. Prints medians and interquartile
ranges over cells (each cell's samples averaged first).

Usage: python3 scripts/report/footprint.py --data DIR PRED [PRED ...]
Needs numpy and tifffile (an independent reading of the TIFFs, not dispr's).
"""

import argparse
import pathlib

import numpy as np
import tifffile


def binary(path):
    v = tifffile.imread(path).astype(float)
    return v > v.max() / 2 if v.max() > 0 else v > 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=pathlib.Path, required=True)
    ap.add_argument("pred", type=pathlib.Path, nargs="+")
    a = ap.parse_args()
    rows = []
    for folder in a.pred:
        # A prediction folder holds NAME_0.tif … per cell; a baseline's, NAME.tif.
        firsts = sorted(folder.glob("*_0.tif"))
        names = [f.name[: -len("_0.tif")] for f in firsts]
        if not names:
            names = [f.stem for f in sorted(folder.glob("*.tif"))]
        if not names:
            raise SystemExit(f"{folder}: no predicted shapes (NAME_0.tif or NAME.tif)")
        for name in names:
            samples = sorted(folder.glob(f"{name}_[0-9]*.tif")) or [folder / f"{name}.tif"]
            mask = binary(a.data / "mask" / f"{name}.tif")
            truth = binary(a.data / "obj" / f"{name}.tif")
            t_foot = truth.any(axis=0)
            per_sample = []
            for s in samples:
                v = binary(s)
                foot = v.any(axis=0)
                per_sample.append(
                    (
                        v.sum() / truth.sum(),
                        foot.sum() / t_foot.sum(),
                        (v.sum() / max(foot.sum(), 1)) / (truth.sum() / t_foot.sum()),
                        (foot & ~mask).sum() / mask.sum(),
                    )
                )
            mean = np.mean(per_sample, axis=0)
            rows.append((*mean, (t_foot & ~mask).sum() / mask.sum()))
    r = np.array(rows)
    labels = [
        "sample volume / true volume",
        "sample footprint / true footprint",
        "sample mean height / true mean height",
        "sample footprint outside the mask / mask area",
        "true footprint outside the mask / mask area",
    ]
    print(f"| {len(r)} cells | median | interquartile range |")
    print("|---|---:|---|")
    for i, label in enumerate(labels):
        q1, med, q3 = np.percentile(r[:, i], [25, 50, 75])
        print(f"| {label} | {med:.3f} | {q1:.3f} – {q3:.3f} |")


if __name__ == "__main__":
    main()
