"""A prediction as napari layer data: one definition for the widget and the reader."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import Prediction


def placement(cell: Prediction, image_scale: tuple[float, float] = (1.0, 1.0)) -> tuple[tuple, tuple]:
    """(scale, translate) of a cell's (z, y, x) volumes in the world of the 2D image it
    was cut from: the crop at its origin, the image being the middle z plane, at the
    image layer's scale (y, x); by default 1, as napari opens a TIFF."""
    sy, sx = image_scale
    depth = cell.probability.shape[0]
    scale = (sy, sy, sx)
    translate = (-(depth // 2) * sy, cell.origin[0] * sy, cell.origin[1] * sx)
    return scale, translate


def layer_data(cell: Prediction, image_scale: tuple[float, float] = (1.0, 1.0)) -> list[tuple[Any, dict, str]]:
    """The probability (image), the ensemble (labels) and the samples stacked (labels,
    S × z × y × x) of one cell, as napari layer-data tuples."""
    scale, translate = placement(cell, image_scale)
    label = max(cell.label, 1)
    meta = {"scale": scale, "translate": translate}
    return [
        (
            cell.probability,
            {
                **meta,
                "name": f"{cell.name} probability",
                "colormap": "magma",
                "contrast_limits": (0.0, 1.0),
                "rendering": "iso",
                "iso_threshold": 0.5,
                "metadata": {"dispr": cell.row()},
            },
            "image",
        ),
        (cell.ensemble.astype(np.uint32) * label, {**meta, "name": f"{cell.name} ensemble", "opacity": 0.6}, "labels"),
        (
            cell.samples.astype(np.uint32) * label,
            {"scale": (1.0, *scale), "translate": (0.0, *translate), "name": f"{cell.name} samples", "opacity": 0.6},
            "labels",
        ),
    ]
