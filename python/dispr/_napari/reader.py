"""napari reader for a folder that ``dispr predict`` wrote (it holds predict.json)."""

from __future__ import annotations

import os
from typing import Any, Callable

from .. import read_prediction
from .layers import layer_data


def get_reader(path: str | list[str]) -> Callable[[Any], list] | None:
    """The reader of a dispr prediction folder, or None for anything else."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    if not (os.path.isdir(path) and os.path.isfile(os.path.join(path, "predict.json"))):
        return None
    return read_folder


def read_folder(path: str | list[str]) -> list[tuple[Any, dict, str]]:
    """Every cell's probability, ensemble and samples as layers, placed over the field in
    its pixels (a field opened in napari at scale 1 lines up with them)."""
    if isinstance(path, list):
        path = path[0]
    layers: list[tuple[Any, dict, str]] = []
    for cell in read_prediction(path):
        layers += layer_data(cell)
    return layers
