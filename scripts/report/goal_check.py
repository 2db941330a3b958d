#!/usr/bin/env python3
"""Issue #23's goal, checked on a pooled five-fold evaluation (docs/accuracy.md).

Reads the CSV files that `dispr evaluate` (and the Table 1 folder of `dispr reproduce`)
writes, and prints one markdown table: each criterion of the goal, the measured value
(with its 95 % bootstrap interval over cells where there is one) and whether it is met.

Usage: python3 scripts/report/goal_check.py REPORT [--method ddim-10] [--nearest nearest-9]
       [--shapr-topo shapr-topo]
REPORT is the folder holding table.csv, table_per_cell.csv, paired.csv,
calibration.csv and intervals.csv, e.g. ~/dispr-runs/reproduce-full/report/table1.
Standard library only.
"""

import argparse
import csv
import pathlib
import sys

MEASURES = ["volume", "surface_area", "roughness", "curvature"]
LABEL = {
    "volume": "volume error",
    "surface_area": "surface area error",
    "roughness": "roughness error",
    "curvature": "curvature error",
    "iou": "IoU",
}
# The goal of issue #23: an error at most, or an overlap at least.
ERROR_GOALS = {"volume": 0.12, "surface_area": 0.12, "roughness": 0.15, "curvature": 0.20}
IOU_SAMPLES_GOAL = 0.58
IOU_ENSEMBLE_GOAL = 0.62
SAMPLE_RANGE_GOAL = (0.55, 0.80)
INTERVAL_GOAL = (0.85, 0.95)


def read(path):
    if not path.is_file():
        sys.exit(f"{path}: not found (is REPORT the folder of a pooled evaluation?)")
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def find(rows, what, **keys):
    for row in rows:
        if all(row.get(k) == v for k, v in keys.items()):
            return row
    sys.exit(f"{what}: no row with {keys}")


def verdict(ok):
    return "**met**" if ok else "not met"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=pathlib.Path)
    ap.add_argument("--method", default="ddim-10")
    ap.add_argument("--nearest", default="nearest-9")
    ap.add_argument("--shapr-topo", default="shapr-topo")
    a = ap.parse_args()
    pooled = read(a.report / "table.csv")
    per_cell = read(a.report / "table_per_cell.csv")
    paired = read(a.report / "paired.csv")
    calibration = read(a.report / "calibration.csv")
    intervals_path = a.report / "intervals.csv"
    intervals = read(intervals_path) if intervals_path.is_file() else []
    ensemble = f"{a.method} ensemble"

    def cell_ci(method, metric):
        r = find(per_cell, "table_per_cell.csv", method=method, metric=metric)
        return float(r["median"]), float(r["low"]), float(r["high"])

    out = [
        f"| criterion ({a.method}, {find(per_cell, 'table_per_cell.csv', method=a.method, metric='volume')['cells']} cells) "
        "| goal | median over samples | median per cell [95 % CI] | |",
        "|---|---:|---:|---|---|",
    ]
    for m, goal in ERROR_GOALS.items():
        p = float(find(pooled, "table.csv", method=a.method, metric=m)["median"])
        c, lo, hi = cell_ci(a.method, m)
        out.append(f"| {LABEL[m]} | ≤ {goal:.2f} | {p:.3f} | {c:.3f} [{lo:.3f}, {hi:.3f}] | {verdict(p <= goal)} |")
    p = float(find(pooled, "table.csv", method=a.method, metric="iou")["median"])
    c, lo, hi = cell_ci(a.method, "iou")
    out.append(f"| IoU of the samples | ≥ {IOU_SAMPLES_GOAL:.2f} | {p:.3f} | {c:.3f} [{lo:.3f}, {hi:.3f}] | {verdict(p >= IOU_SAMPLES_GOAL)} |")
    c, lo, hi = cell_ci(ensemble, "iou")
    out.append(f"| IoU of each cell's majority ensemble | ≥ {IOU_ENSEMBLE_GOAL:.2f} | – | {c:.3f} [{lo:.3f}, {hi:.3f}] | {verdict(c >= IOU_ENSEMBLE_GOAL)} |")
    for m in ("volume", "surface_area"):
        r = find(calibration, "calibration.csv", method=a.method, measure=m)
        cov = float(r["coverage"])
        ok = SAMPLE_RANGE_GOAL[0] <= cov <= SAMPLE_RANGE_GOAL[1]
        out.append(
            f"| truth within the {r['samples']} samples' range, {LABEL[m].replace(' error', '')} "
            f"| {SAMPLE_RANGE_GOAL[0]:.2f}–{SAMPLE_RANGE_GOAL[1]:.2f} | {cov:.2f} (ranks {r['ranks']}) | – | {verdict(ok)} |"
        )
    for m in MEASURES:
        rows = [r for r in intervals if r["method"] == a.method and r["measure"] == m]
        if not rows or not rows[0]["calibrated"]:
            out.append(f"| calibrated 90 % interval, {LABEL[m].replace(' error', '')} | 0.85–0.95 | – | not measured | not met |")
            continue
        r = rows[0]
        cov = float(r["calibrated"])
        ok = INTERVAL_GOAL[0] <= cov <= INTERVAL_GOAL[1]
        out.append(
            f"| calibrated 90 % interval holds the truth, {LABEL[m].replace(' error', '')} (cross-fitted) "
            f"| 0.85–0.95 | – | {cov:.3f} [{float(r['calibrated_low']):.3f}, {float(r['calibrated_high']):.3f}] | {verdict(ok)} |"
        )

    def pair(method, baseline, metric):
        r = find(paired, "paired.csv", method=method, baseline=baseline, metric=metric)
        d, lo, hi = float(r["median_difference"]), float(r["ci_low"]), float(r["ci_high"])
        # Errors: better is below zero; IoU: better is above zero.
        ok = hi < 0 if metric != "iou" else lo > 0
        who = "samples'" if method == a.method else "ensemble's"
        text = f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}], better for {float(r['better_share']):.0%}"
        out.append(f"| {who} {LABEL[metric]} against {baseline}, paired per cell | interval excludes 0, better | – | {text} | {verdict(ok)} |")

    for baseline in ("cylinder", a.nearest):
        pair(a.method, baseline, "volume")
        pair(ensemble, baseline, "iou")
    for m in ("volume", "surface_area", "roughness"):
        pair(a.method, a.shapr_topo, m)
    print("\n".join(out))


if __name__ == "__main__":
    main()
