"""Builds a field of view from real sample cells, with a cellpose-style label image.

The README's "Your own cells" walk-through uses it. It takes six cells of
../shared/data/rbc-sample and places them into one 220 x 300 uint16 image, as a 12-bit
camera would write it (values x 16). One cell is cut by the right edge. Beside the image
it writes FIELD_cp_masks.tif (uint16 labels: 0 background, k for cell k), as cellpose
does. The field carries a pixel size in its ImageJ metadata, as Fiji and most
microscopes write it: 0.2 µm, an assumed value (the sample's own pixel size is not
published with it; red blood cells some 8 µm across span about 40 of its pixels).

Usage: python scripts/examples/make_field.py [SAMPLE_DIR] [OUT_DIR]
(defaults: ../shared/data/rbc-sample and ./field-example)
"""
import pathlib
import sys

import numpy as np
import tifffile

sample = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/rbc-sample")
out = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "field-example")
cells = [
    "A_cell_clusters000604",
    "B_keratocytes000673",
    "C_knizocytes000704",
    "D_multilobate_cells000727",
    "B_keratocytes000674",
    "C_knizocytes000705",
]
# (row, column) of each 64 x 64 crop's corner in the field; the last one crosses the edge.
places = [(10, 10), (10, 90), (10, 170), (120, 20), (120, 110), (120, 260)]
height, width = 220, 300
field = np.zeros((height, width), np.uint16)
labels = np.zeros((height, width), np.uint16)
found = {p.stem for p in (sample / "image").glob("*.tif")}
chosen = [c for c in cells if c in found]
if len(chosen) < len(cells):
    # Sample names differ between copies of the data: fill up with the first others.
    chosen += sorted(found - set(chosen))[: len(cells) - len(chosen)]
for k, (name, (y0, x0)) in enumerate(zip(chosen, places), start=1):
    image = tifffile.imread(sample / "image" / f"{name}.tif").astype(np.uint16) * 16
    mask = tifffile.imread(sample / "mask" / f"{name}.tif") > 127
    h = min(64, height - y0)
    w = min(64, width - x0)
    region = mask[:h, :w]
    field[y0 : y0 + h, x0 : x0 + w][region] = image[:h, :w][region]
    labels[y0 : y0 + h, x0 : x0 + w][region] = k
out.mkdir(parents=True, exist_ok=True)
PIXEL_SIZE_UM = 0.2
tifffile.imwrite(
    out / "field.tif",
    field,
    imagej=True,
    resolution=(1 / PIXEL_SIZE_UM, 1 / PIXEL_SIZE_UM),
    metadata={"unit": "um"},
)
tifffile.imwrite(out / "field_cp_masks.tif", labels)
print(f"wrote {out / 'field.tif'} ({height}x{width} uint16, 12-bit values, "
      f"{PIXEL_SIZE_UM} µm pixels) and "
      f"{out / 'field_cp_masks.tif'} ({len(chosen)} labelled cells: {', '.join(chosen)})")
