#!/usr/bin/env python3
"""Runs the `dispr classify` experiment with scikit-learn on the same CSVs and folds.

    pip install scikit-learn numpy
    dispr classify --features real.csv [--augment gen.csv] --out REPORT
    python3 scripts/crosscheck/classify_sklearn.py --features real.csv --folds REPORT/folds.csv \
        [--augment gen.csv] [--augment-classes a,b,c] [--seed 0]

RandomForestClassifier(n_estimators=1000, max_depth=10) per fold, the augmentation rule
of dispr (rows of the augmented classes whose source cell is in the fold's training set),
macro and weighted F1 per fold (mean ± sd, sd with n − 1 as dispr reports). The two
forests differ (scikit-learn draws plain bootstraps and keeps searching features when a
split fails; smartcore bootstraps per class), so F1s agree within a few points, not
exactly.
"""
import argparse
import csv
import statistics

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import f1_score


def read(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return header[3:], [(r[0], r[1], r[2], np.array([float(v) for v in r[3:]])) for r in body]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", required=True)
    p.add_argument("--folds", required=True)
    p.add_argument("--augment")
    p.add_argument("--augment-classes")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    _, rows = read(args.features)
    with open(args.folds) as f:
        fold_of = {r["name"]: int(r["fold"]) for r in csv.DictReader(f)}
    augment = read(args.augment)[1] if args.augment else []
    counts = {}
    for _, c, _, _ in rows:
        counts[c] = counts.get(c, 0) + 1
    if args.augment_classes:
        aug_classes = set(args.augment_classes.split(","))
    else:
        aug_classes = set(sorted(counts, key=lambda c: (counts[c], c))[:3])
    k = max(fold_of.values()) + 1
    for label, use_aug in [("without augmentation", False), ("with augmentation", True)]:
        if use_aug and not augment:
            continue
        macro, weighted = [], []
        for fold in range(k):
            train = [r for r in rows if fold_of[r[0]] != fold]
            test = [r for r in rows if fold_of[r[0]] == fold]
            if use_aug:
                sources = {r[2] for r in train}
                train = train + [r for r in augment if r[1] in aug_classes and r[2] in sources]
            forest = RandomForestClassifier(n_estimators=1000, max_depth=10, random_state=args.seed + fold, n_jobs=-1)
            forest.fit(np.array([r[3] for r in train]), [r[1] for r in train])
            predicted = forest.predict(np.array([r[3] for r in test]))
            truth = [r[1] for r in test]
            macro.append(f1_score(truth, predicted, average="macro", zero_division=0))
            weighted.append(f1_score(truth, predicted, average="weighted", zero_division=0))
        print(f"scikit-learn {label}: macro F1 {statistics.mean(macro):.3f} ± {statistics.stdev(macro):.3f}, "
              f"weighted F1 {statistics.mean(weighted):.3f} ± {statistics.stdev(weighted):.3f}")


if __name__ == "__main__":
    main()
