#!/usr/bin/env python3
"""The #6 criteria for a sampler study, from an evaluation report folder.

For each setting (a method named SAMPLER-STEPS): is each Table 1 median better than
both geometric baselines', and within 10 % of the reference (the DDPM setting with the
most steps: an error at most 1.10 x the reference's, an IoU at least 0.90 x)? Each
ratio comes with a 95 % bootstrap interval over cells (cells resampled with
replacement, the same cells for the setting and the reference, 1000 rounds, seed 0),
so that a ratio can be told apart from the spread between cells.

Usage: criteria.py REPORT_DIR SETTING...   (REPORT_DIR holds dispr evaluate's
cells.csv and table.json; the baselines are the methods `cylinder` and `ellipsoid`)
"""
import csv
import json
import random
import sys
from collections import defaultdict

METRICS = ["volume", "surface_area", "roughness", "curvature", "iou"]


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def main():
    report, settings = sys.argv[1], sys.argv[2:]
    table = {(r["method"], r["metric"]): r["median"] for r in json.load(open(f"{report}/table.json"))}
    # values[method][metric][cell] = that cell's values (one per sample)
    values = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for row in csv.DictReader(open(f"{report}/cells.csv")):
        for m in METRICS:
            column = "iou" if m == "iou" else f"err_{m}"
            if row[column] not in ("", "nan"):
                values[row["method"]][m][row["cell"]].append(float(row[column]))
    for s in settings:  # one source of truth: the medians here are dispr's
        for m in METRICS:
            pooled = [x for xs in values[s][m].values() for x in xs]
            assert abs(median(pooled) - table[(s, m)]) < 1e-9, (s, m)
    ddpm = [s for s in settings if s.startswith("ddpm-")]
    ref = max(ddpm, key=lambda s: int(s.split("-")[-1])) if ddpm else None
    rng = random.Random(0)
    cells = sorted(values[settings[0]]["iou"])
    rounds = [[rng.choice(cells) for _ in cells] for _ in range(1000)]

    def boot(s, m):
        ratios = []
        for pick in rounds:
            a = [x for c in pick for x in values[s][m].get(c, [])]
            b = [x for c in pick for x in values[ref][m].get(c, [])]
            ratios.append(median(a) / median(b))
        ratios.sort()
        return ratios[24], ratios[974]

    print(f"reference: {ref}; per measure: median, against the baselines, ratio to the reference [95 % interval]")
    for s in settings:
        parts, ok = [], True
        for m in METRICS:
            v, c, e = table[(s, m)], table[("cylinder", m)], table[("ellipsoid", m)]
            beats = v > max(c, e) if m == "iou" else v < min(c, e)
            ok &= beats
            part = f"{m} {v:.3f} {'beats' if beats else 'LOSES TO'} baselines"
            if ref and s != ref:
                ratio = v / table[(ref, m)]
                within = ratio >= 0.9 if m == "iou" else ratio <= 1.1
                ok &= within
                lo, hi = boot(s, m)
                part += f", {ratio:.2f}x ref [{lo:.2f}, {hi:.2f}]{'' if within else ' OUTSIDE 10 %'}"
            parts.append(part)
        print(f"{s}: {'PASS' if ok else 'FAIL'}: " + "; ".join(parts))


if __name__ == "__main__":
    main()
