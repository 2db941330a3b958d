#!/usr/bin/env python3
"""Compares two ways to scale a conformal 90 % interval, cross-fitted over folds, on the
per-prediction records of `dispr evaluate` (one evaluation folder per fold, each made
with `--fold K` and that fold's held-out predictions): the normalized score dispr uses
(|ln(truth / mean)| / (cv + median cv), crates/dispr-core/src/experiment/intervals.rs)
and the plain log ratio |ln(truth / mean)|. Prints each one's cross-fitted coverage and
median width (high / low) per measure. Standard library only; also an independent
recomputation of `dispr model intervals`' normalized figures.

    python3 scripts/report/interval_variants.py EVAL_FOLD0 EVAL_FOLD1 [...]
"""
import csv
import math
import statistics as st
import sys

MEASURES = ("volume", "surface_area", "roughness", "curvature")
folders = sys.argv[1:]
if len(folders) < 2:
    sys.exit("give at least two evaluation folders, one per fold")
cells = {}
for group, folder in enumerate(folders):
    for r in csv.DictReader(open(f"{folder}/cells.csv")):
        if not r["prediction"].startswith("sample"):
            continue
        c = cells.setdefault((r["method"], r["cell"]), {"group": group, "s": {}, "t": {}})
        for m in MEASURES:
            c["s"].setdefault(m, []).append(float(r[m]) if r[m] else None)
            c["t"][m] = float(r["truth_" + m]) if r["truth_" + m] else None


def fit(rows, normalized):
    floor = st.median(cv for _, cv, _ in rows) if normalized else 1.0
    scores = sorted(abs(math.log(y / m)) / ((cv if normalized else 0.0) + floor) for m, cv, y in rows)
    k = math.ceil((len(scores) + 1) * 0.9 - 1e-9)
    return scores[k - 1], floor


print("| measure | cells | normalized: coverage | width | plain log ratio: coverage | width |")
print("|---|---:|---:|---:|---:|---:|")
for m in MEASURES:
    rows = {g: [] for g in range(len(folders))}
    for c in cells.values():
        s, y = c["s"][m], c["t"][m]
        if y is None or y <= 0 or any(v is None for v in s) or len(s) < 2:
            continue
        mean = sum(s) / len(s)
        if mean <= 0:
            continue
        rows[c["group"]].append((mean, st.stdev(s) / mean, y))
    line = [m, str(sum(len(r) for r in rows.values()))]
    for normalized in (True, False):
        hits, widths = 0, []
        for g in rows:
            q, floor = fit([x for h in rows if h != g for x in rows[h]], normalized)
            for mean, cv, y in rows[g]:
                half = q * ((cv if normalized else 0.0) + floor)
                hits += mean * math.exp(-half) <= y <= mean * math.exp(half)
                widths.append(math.exp(2 * half))
        line += [f"{hits / len(widths):.3f}", f"{st.median(widths):.2f}"]
    print("| " + " | ".join(line) + " |")
