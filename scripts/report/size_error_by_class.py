#!/usr/bin/env python3
"""Where a model's size error lies, per class, and whether it can be predicted (#23).

Reads the per-sample rows of `dispr evaluate` reports (cells.csv) for one method and
prints, per class, the median ratio of predicted to true volume and surface area over
the samples. Then it asks whether a per-cell size correction could remove the error:
each cell's log volume ratio (median over its samples) is predicted, leaving the cell
out, (a) by a ridge regression on 2D features of its image and mask (log mask area,
mean, sd and maximum intensity inside the mask, log elongation of the mask), and (b) by
the median of the other cells of its class (an oracle: users give no class). It prints
the residual spread and the median volume error |ratio − 1| before and after.

Needs numpy and tifffile. Usage (from the repository root):
  python3 scripts/report/size_error_by_class.py REPORT... --method NAME \
      --data ../shared/data/rbc-sample
"""
import argparse
import collections
import csv
import os

import numpy as np
import tifffile


def features(data, cell):
    image = tifffile.imread(os.path.join(data, "image", cell + ".tif")).astype(float)
    image /= 255.0 if image.max() > 1 else 1.0
    mask = tifffile.imread(os.path.join(data, "mask", cell + ".tif"))
    mask = mask > mask.max() / 2
    ys, xs = np.nonzero(mask)
    spread = np.sort(np.linalg.eigvalsh(np.cov(np.stack([ys, xs]))))
    inside = image[mask]
    return [np.log(mask.sum()), inside.mean(), inside.std(), inside.max(),
            np.log(spread[1] / spread[0])]


def leave_one_out_ridge(x, y, lam=1.0):
    pred = np.zeros(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        mu, sd = x[keep].mean(0), x[keep].std(0)
        a = np.c_[np.ones(keep.sum()), (x[keep] - mu) / sd]
        penalty = lam * np.diag([0.0] + [1.0] * x.shape[1])
        w = np.linalg.solve(a.T @ a + penalty, a.T @ y[keep])
        pred[i] = w[0] + ((x[i] - mu) / sd) @ w[1:]
    return pred


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+", help="dispr evaluate report folders")
    ap.add_argument("--method", required=True)
    ap.add_argument("--data", required=True)
    args = ap.parse_args()
    volume, surface, cls = (collections.defaultdict(list), collections.defaultdict(list), {})
    for report in args.reports:
        for r in csv.DictReader(open(os.path.join(report, "cells.csv"))):
            if r["method"] == args.method and r["prediction"].startswith("sample"):
                volume[r["cell"]].append(float(r["volume"]) / float(r["truth_volume"]))
                surface[r["cell"]].append(
                    float(r["surface_area"]) / float(r["truth_surface_area"]))
                cls[r["cell"]] = r["class"]
    cells = sorted(volume)
    if not cells:
        raise SystemExit(f"error: no samples of method '{args.method}' in {args.reports}")
    print(f"{args.method}: {len(cells)} cells; per class, median ratio to the truth "
          "over the samples (range of the volume ratio):")
    for c in sorted(set(cls.values())):
        members = [k for k in cells if cls[k] == c]
        v = np.concatenate([volume[k] for k in members])
        s = np.concatenate([surface[k] for k in members])
        print(f"  {c:14s} {len(members):3d} cells  volume {np.median(v):.3f} "
              f"[{v.min():.2f}, {v.max():.2f}]  surface area {np.median(s):.3f}")
    y = np.log([np.median(volume[k]) for k in cells])
    x = np.array([features(args.data, k) for k in cells])
    by_features = leave_one_out_ridge(x, y)
    label = np.array([cls[k] for k in cells])
    idx = np.arange(len(y))
    by_class = np.array([np.median(y[(label == label[i]) & (idx != i)])
                         if ((label == label[i]) & (idx != i)).any() else 0.0
                         for i in idx])

    def error(log_ratio):
        return np.median(np.abs(np.exp(log_ratio) - 1))

    print(f"log volume ratio per cell: sd {y.std():.3f}, median volume error {error(y):.3f}")
    for name, p in [("2D features (ridge)", by_features), ("class (oracle)", by_class)]:
        print(f"  corrected by {name}, cell left out: residual sd {(y - p).std():.3f}, "
              f"median volume error {error(y - p):.3f}")


if __name__ == "__main__":
    main()
