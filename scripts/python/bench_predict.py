"""Times `dispr.predict` against `dispr predict` on the same real cell, interleaved, in
one run (the figures in docs/python.md). Use a release build of both:
`pip install ./python` and `cargo build --release -p dispr`.

Usage: python scripts/python/bench_predict.py [SAMPLE_DIR] [DISPR_BIN] [RUNS]
"""

import subprocess
import sys
import tempfile
import time

t = time.perf_counter()
import dispr  # noqa: E402

imported = time.perf_counter() - t
sample = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/rbc-sample"
cli = sys.argv[2] if len(sys.argv) > 2 else "target/release/dispr"
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
name = "A_cell_clusters000604"
image_file, mask_file = f"{sample}/image/{name}.tif", f"{sample}/mask/{name}.tif"
image, _ = dispr.read_tiff(image_file)
mask, _ = dispr.read_tiff(mask_file)
t = time.perf_counter()
dispr.load_model()
print(f"import dispr: {imported:.2f} s; load the built-in model: {time.perf_counter() - t:.2f} s")
for run in range(runs):
    t = time.perf_counter()
    dispr.predict(image, mask, samples=5, seed=0, name=name)
    python = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        subprocess.run([cli, "predict", image_file, mask_file, "--out", f"{out}/p", "--samples", "5", "--seed", "0"], check=True, capture_output=True)
        command = time.perf_counter() - t
    print(f"run {run + 1}: dispr.predict {python:.2f} s, dispr predict {command:.2f} s (whole process, files written)")
