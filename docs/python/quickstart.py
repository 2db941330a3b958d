# %% [markdown]
# # dispr in Python: a real cell's 3D shape from its 2D image
#
# Notebook-style (cells marked `# %%`); run as a script with the sample's folder:
# `python docs/python/quickstart.py ../shared/data/rbc-sample` (CI runs it).

# %%
import sys
import time

import numpy as np

import dispr

sample = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/rbc-sample"
name = "A_cell_clusters000604"
image, _ = dispr.read_tiff(f"{sample}/image/{name}.tif")
mask, _ = dispr.read_tiff(f"{sample}/mask/{name}.tif")
print(f"dispr {dispr.__version__}; {name}: image {image.dtype} {image.shape}, mask {mask.dtype}")

# %% Predict: 5 shapes sampled from the built-in model (the same arrays as `dispr predict`).
start = time.perf_counter()
p = dispr.predict(image, mask, samples=5, seed=0, name=name)
print(f"predicted {p.samples.shape} ({p.method}) in {time.perf_counter() - start:.1f} s")
low, high = p.interval("volume")
unit = "µm³" if p.units == "um" else "voxels"  # µm when the pixel size is known
print(f"volume {p.summary['volume']['mean']:.0f} {unit}; 90 % of samples in [{low:.0f}, {high:.0f}]")

# %% The per-sample table, and the ensemble's surface as a mesh (e.g. for napari's add_surface).
for row in zip(*p.table().values()):
    print("  sample {}: volume {:.0f}  surface {:.0f}  roughness {:.0f}  curvature {:.4f}  sphericity {:.3f}".format(*row))
vertices, faces = dispr.mesh(p.ensemble)
print(f"ensemble mesh: {len(vertices)} vertices, {len(faces)} triangles")

# %% How close is it? The true 3D shape of this sample cell is known.
truth, _ = dispr.read_tiff(f"{sample}/obj/{name}.tif")
table = dispr.evaluate(p, truth)
for what, iou, vol in zip(table["prediction"], table["iou"], table["volume"]):
    print(f"  {what:>9}: IoU {iou:.3f}, volume error {vol:.3f}")

# %% Images as microscopes write them (16-bit, float 0–1 …) read by the rule of their bit depth.
for copy in (image.astype(np.uint16) * 257, image.astype(np.float32) / 255):
    same = dispr.predict(copy, mask, samples=5, seed=0, name=name)
    print(f"{copy.dtype} copy (max {copy.max():g}): the same samples: {np.array_equal(same.samples, p.samples)}")

# %% A field of view with a label image (as cellpose writes it): every cell at once.
field = np.zeros((100, 180), image.dtype)
labels = np.zeros((100, 180), np.uint16)
for label, x in ((1, 10), (2, 100)):
    field[18:82, x : x + 64] = image
    labels[18:82, x : x + 64][mask > 127] = label
cells = dispr.predict_field(field, labels, samples=3, pixel_size=0.1)
for c in cells:
    low, high = c.interval("volume")
    print(f"  {c.name}: crop origin {c.origin}, volume {c.summary['volume']['mean']:.1f} µm³ [{low:.1f}, {high:.1f}]")
