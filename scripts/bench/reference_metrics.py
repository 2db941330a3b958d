#!/usr/bin/env python3
"""Times the reference metric pipeline (scikit-image + scipy + trimesh, METRICS.md) on
real cells, for comparison with `dispr bench metrics` on the same machine.

    python3 scripts/bench/reference_metrics.py [--sample ../shared/data/rbc-sample] [--repeat 3]

Prints JSON: seconds for one 64³ cell (median and minimum over repeats, first cell) and for all
cells (sequential, as a Python user would run it), excluding file reading.
"""
import argparse
import json
import pathlib
import platform
import statistics
import sys
import time

import numpy as np
import tifffile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "fixtures"))
from make_metrics_fixtures import measure  # noqa: E402  (the exact reference computation)

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=pathlib.Path, default=ROOT.parent / "shared/data/rbc-sample")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    shapes = [tifffile.imread(p) > 127 for p in sorted((args.sample / "obj").glob("*.tif"))]
    one = []
    for _ in range(args.repeat * 3):
        t = time.perf_counter()
        measure(shapes[0])
        one.append(time.perf_counter() - t)
    alls = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        for s in shapes:
            measure(s)
        alls.append(time.perf_counter() - t)
    print(json.dumps({
        "pipeline": "scikit-image marching_cubes(lewiner) + scipy gaussian_filter + trimesh",
        "python": platform.python_version(),
        "numpy_threads_note": "single process, sequential over cells",
        "cells": len(shapes),
        "one_cell": {"median_s": statistics.median(one), "min_s": min(one), "runs": len(one)},
        "all_cells": {"median_s": statistics.median(alls), "min_s": min(alls), "runs": len(alls)},
    }, indent=1))


if __name__ == "__main__":
    main()
