"""dispr: the 3D shape of a cell from one 2D microscopy image.

A conditional diffusion model (DISPR, Waibel et al., ISBI 2023) written in Rust, with
numpy arrays in and out. The same code as the ``dispr`` command line: for the same
inputs and seed, :func:`predict` gives the command line's files, array for array.

>>> import dispr
>>> p = dispr.predict(image, mask, samples=5, seed=0)      # doctest: +SKIP
>>> p.samples.shape, p.interval("volume")                   # doctest: +SKIP
((5, 64, 64, 64), (5123.0, 6012.0))

Images may be any size (the cell is centred in the model's 64 × 64 field, and the
prediction is placed back over a crop around it, at ``origin``) and any pixel type:
uint8, uint16 (12- or 16-bit), float (0–1 or 0–255 …); intensities are read by the rule
of their bit depth, as ``dispr predict`` reads TIFFs. The GIL is released while Rust
computes; problems raise :class:`DisprError` with the command line's one-line message.
"""

from __future__ import annotations

import csv
import json
import numbers
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from . import _dispr
from ._dispr import MEASURES, DisprError

__version__: str = _dispr.__version__

__all__ = [
    "DisprError",
    "FieldPrediction",
    "MEASURES",
    "Model",
    "Prediction",
    "__version__",
    "card",
    "evaluate",
    "intensities",
    "load_model",
    "measure",
    "mesh",
    "predict",
    "predict_field",
    "read_prediction",
    "read_tiff",
    "synth",
]

Progress = Callable[[int, int], Any]
"""A progress callback: ``progress(done, total)`` network evaluations; raising in it
stops the prediction after the current cell and re-raises."""


# --- inputs ---------------------------------------------------------------------------


def _plane(array: Any, what: str) -> np.ndarray:
    """A 2D array (leading axes of length 1 dropped)."""
    a = np.asarray(array)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and min(a.shape[0], a.shape[-1]) <= 4:
        # Channels first (tifffile's CYX) or last (RGB): the user picks the one to read.
        raise DisprError(
            f"{what}: a 2D array (y, x) is needed, not one of shape {a.shape}; "
            f"for an image of several channels pass one, e.g. {what}[1] (channels first) "
            f"or {what}[..., 1] (channels last)"
        )
    if a.ndim != 2:
        raise DisprError(f"{what}: a 2D array (y, x) is needed, not one of shape {a.shape}")
    return a


def _pixels(array: Any, what: str) -> np.ndarray:
    """An image as one of the pixel types dispr reads (uint8, uint16, uint32, float32),
    cast as the TIFF reader casts files: signed integers without negative values as
    unsigned, other floats as float32, booleans as uint8."""
    a = _plane(array, what)
    if a.dtype == np.bool_:
        return a.astype(np.uint8)
    if a.dtype in (np.uint8, np.uint16, np.uint32, np.float32):
        return a
    if np.issubdtype(a.dtype, np.integer):
        low, high = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if low < 0:  # refused by dispr's rule, with its message
            return a.astype(np.float32)
        if high <= np.iinfo(np.uint16).max:
            return a.astype(np.uint16)
        if high <= np.iinfo(np.uint32).max:
            return a.astype(np.uint32)
        return a.astype(np.float32)
    if np.issubdtype(a.dtype, np.floating):
        return a.astype(np.float32)
    raise DisprError(f"{what}: pixels of type {a.dtype} cannot be read as intensities")


def _labels(array: Any) -> np.ndarray:
    """A label image (0 background, k for cell k) as uint32."""
    a = _plane(array, "labels")
    if a.dtype == np.bool_:
        return a.astype(np.uint32)
    if np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating):
        bad = ~np.isfinite(a) | (a < 0) | (a != np.round(a)) | (a > np.iinfo(np.uint32).max)
        if bad.any():
            v = a[bad].flat[0]
            raise DisprError(f"labels: not a label image: it holds {v}, labels are whole numbers ≥ 0")
        return a.astype(np.uint32)
    raise DisprError(f"labels: not a label image: its pixels are {a.dtype}")


def _whole(value: Any, what: str, low: int = 0, high: int | None = None) -> int:
    """A whole number in [low, high], or a DisprError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DisprError(f"{what}: {value!r} is not a whole number")
    v = int(value)
    if v < low or (high is not None and v > high):
        top = "" if high is None else f"..={high}"
        raise DisprError(f"{what}: {v} is not in {low}{top or '..'}")
    return v


def _warn(message: str) -> None:
    """A UserWarning pointing at the user's line: the first caller outside this package."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, stacklevel=level)


def _callback(progress: Any) -> Any:
    if progress is not None and not callable(progress):
        raise DisprError(f"progress: {progress!r} is not callable (progress(done, total))")
    return progress


def _image(array: Any) -> np.ndarray:
    """An image as dispr reads it, warning when its encoding is unusual (a float image
    beyond 0–1 is read by the bit depth its values fit: 0–255, 0–4095 or 0–65535) or a
    few stray pixels lie above its bit depth (read as saturated)."""
    a = _pixels(array, "image")
    note = _dispr.intensity_note(a)
    if note and (a.dtype == np.float32 or "saturated" in note):
        _warn(f"image: {note}")
    return a


# --- results ----------------------------------------------------------------------------


@dataclass
class Prediction:
    """One cell's predicted 3D shape distribution, over a crop of the input around it.

    Arrays are (z, y, x); ``samples`` stacks the sampled shapes (S, z, y, x). The crop's
    first pixel is ``origin`` (y, x) of the input image; z is the model's depth, the
    input image being its middle plane. Measures are in µm (``units == "um"``) when the
    pixel size is known, else in voxels.
    """

    name: str
    """The cell's name (its seed is mixed with it; a field's cells are ``NAME_LABEL``)."""
    label: int
    """Its label in the label image (1 for a single mask)."""
    origin: tuple[int, int]
    """Input pixel (y, x) of the crop's first pixel (may be negative near an edge)."""
    area: int
    """Pixels in its 2D mask."""
    samples: np.ndarray = field(repr=False, compare=False)
    """The sampled shapes, bool (S, z, y, x)."""
    probability: np.ndarray = field(repr=False, compare=False)
    """Fraction of the samples inside each voxel, float32 (z, y, x)."""
    std: np.ndarray | None = field(repr=False, compare=False)
    """Voxel-wise standard deviation of the samples (None for one deterministic shape)."""
    ensemble: np.ndarray = field(repr=False, compare=False)
    """The voxel-wise majority of the samples, bool (z, y, x)."""
    sample_measures: dict[str, np.ndarray] = field(repr=False, compare=False)
    """Each measure of :data:`MEASURES` for every sample (volume, surface_area,
    roughness, curvature, sphericity)."""
    summary: dict[str, dict[str, float]] = field(repr=False)
    """Per measure: the samples' mean, sd and 5–95 % range (p05, p95), and the
    calibrated 90 % interval (lo90, hi90; None when the model has no interval
    calibration, ``dispr model intervals``), as cells.csv."""
    pairwise_1_minus_iou: float = 0.0
    """Mean over pairs of samples of 1 − IoU (0 for one sample)."""
    units: str = "voxels"
    """``um`` or ``voxels``."""
    pixel_size: float | None = None
    """µm per pixel (and per z step: voxels are cubes), when known."""
    seconds: float = 0.0
    """Seconds the network took."""
    method: str = ""
    """The sampler and its settings, e.g. ``ddim-10-eta0``."""
    model_sha256: str = ""
    """The SHA-256 of the model that predicted it."""
    edge_px: int | None = None
    """Pixels of its 2D mask on the input image's outermost rows and columns (0: the
    cell lies wholly inside; more: it may go on beyond the image, and its shape is
    predicted from the part inside, which :meth:`Model.predict` warns about; None when
    read back from a folder, whose cells.csv does not hold it)."""
    parts: list[int] | None = None
    """The pixels of each separate part of its mask large enough to be a cell, largest
    first: one for a single cell, more for a cluster (predicted as one cell, which
    :meth:`Model.predict` warns about); None when read back from a folder."""

    @classmethod
    def _from(cls, d: Mapping[str, Any], model: "Model") -> "Prediction":
        table = d["sample_measures"]
        return cls(
            name=d["name"],
            label=int(d["label"]),
            origin=tuple(d["origin"]),
            area=int(d["area"]),
            edge_px=int(d["edge_px"]),
            parts=[int(n) for n in d["parts"]],
            samples=d["samples"],
            probability=d["probability"],
            std=d["std"],
            ensemble=d["ensemble"],
            sample_measures={m: table[:, i].copy() for i, m in enumerate(MEASURES)},
            summary=d["summary"],
            pairwise_1_minus_iou=d["pairwise_1_minus_iou"],
            units=d["units"],
            pixel_size=d["pixel_size"],
            seconds=d["seconds"],
            method=model.method,
            model_sha256=model.sha256,
        )

    @property
    def spacing(self) -> tuple[float, float, float]:
        """The voxel size (z, y, x) in µm, or (1, 1, 1) when unknown (napari's scale)."""
        s = self.pixel_size or 1.0
        return (s, s, s)

    def interval(self, measure: str = "volume") -> tuple[float, float]:
        """The 90 % interval of one measure: the calibrated one (lo90, hi90), whose
        coverage was measured on held-out cells, when the model has interval
        calibration; else the samples' own 5–95 % range (p05, p95), which is not
        calibrated (see :meth:`interval_calibrated`)."""
        s = self.summary[measure]
        if s.get("lo90") is not None:
            return (s["lo90"], s["hi90"])
        return (s["p05"], s["p95"])

    def interval_calibrated(self, measure: str = "volume") -> bool:
        """Whether :meth:`interval` of ``measure`` is the calibrated interval (else the
        samples' range; sphericity is never calibrated)."""
        return self.summary[measure].get("lo90") is not None

    def table(self) -> dict[str, np.ndarray]:
        """One row per sample: ``sample`` and each measure (a dict of columns)."""
        n = len(self.samples)
        return {"sample": np.arange(n), **{m: v for m, v in self.sample_measures.items()}}

    def row(self) -> dict[str, Any]:
        """The cell's row of ``cells.csv``, with its column names: name, label, status,
        crop origin, area, then the samples' summary (e.g. ``volume_vox3_mean`` … or
        ``volume_um3_p95`` in µm)."""
        r: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "status": "predicted",
            "y0": self.origin[0],
            "x0": self.origin[1],
            "area_px": self.area,
            "reason": "",
        }
        values = [len(self.samples)]
        for m in MEASURES:
            values += [self.summary[m].get(k) for k in ("mean", "sd", "p05", "p95", "lo90", "hi90")]
        values.append(self.pairwise_1_minus_iou)
        r.update(zip(_dispr.cell_columns(self.units), values))
        return r


@dataclass
class FieldPrediction:
    """Every predicted cell of a field, and the cells skipped with the reason."""

    cells: list[Prediction]
    """The predicted cells, by label."""
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    """(label, name, reason) of each cell not predicted (cut by the border, too large …)."""
    complete: bool = True
    """False when the prediction was stopped (its progress callback raised) and holds
    only the cells finished before: the exception's ``partial``."""

    def __len__(self) -> int:
        return len(self.cells)

    def __iter__(self) -> Iterator[Prediction]:
        return iter(self.cells)

    def __getitem__(self, key: int | str) -> Prediction:
        """The k-th predicted cell, or the cell of this name."""
        if isinstance(key, str):
            for c in self.cells:
                if c.name == key:
                    return c
            raise KeyError(f"no predicted cell named '{key}'")
        return self.cells[key]

    def by_label(self, label: int) -> Prediction:
        """The predicted cell with this label."""
        for c in self.cells:
            if c.label == label:
                return c
        raise KeyError(f"no predicted cell labelled {label}")

    def table(self) -> dict[str, np.ndarray]:
        """One row per predicted cell (:meth:`Prediction.row`), as a dict of columns."""
        rows = [c.row() for c in self.cells]
        if not rows:
            return {}
        # A missing value (no calibrated interval) is NaN, so the columns stay numeric.
        return {
            k: np.array([np.nan if r[k] is None else r[k] for r in rows]) for k in rows[0]
        }


# --- the model ----------------------------------------------------------------------------


class Model:
    """A trained model and its sampler, loaded once (``path=None``: the model built into
    dispr). ``sampler`` is ``ddim``, ``ddpm`` or ``dpm++2m``, with ``steps`` respaced steps
    and DDIM's ``eta``; ``from_prior`` in (0, 1) begins the walk at that fraction of its
    steps from the model's prior shape (SDEdit; 1: from pure noise). With none of them
    given, the model samples as its calibration was learnt (else DDIM 10 steps, η 0); with
    any, the others take those defaults, as ``dispr predict``'s flags do."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        eta: float | None = None,
        from_prior: float | None = None,
    ):
        self._model = _dispr.Model(
            None if path is None else os.fspath(path), sampler, steps, eta, from_prior
        )

    @property
    def source(self) -> str:
        """The model file, or the built-in model's label."""
        return self._model.source

    @property
    def sha256(self) -> str:
        """The model file's SHA-256."""
        return self._model.sha256

    @property
    def method(self) -> str:
        """The sampler and its settings, e.g. ``ddim-10-eta0``."""
        return self._model.method

    @property
    def level(self) -> float:
        """The threshold of its soft samples (its calibrated level, else 0)."""
        return self._model.level

    @property
    def scale(self) -> float:
        """The factor its samples are enlarged by about their centroid (its scale
        learnt on its training cells, else 1)."""
        return self._model.scale

    @property
    def field_size(self) -> tuple[int, int]:
        """The crop (height, width) the network sees."""
        return self._model.field_size

    @property
    def card(self) -> dict[str, Any]:
        """The model's card: what it was trained on and how, its input, its size calibration."""
        return json.loads(self._model.card_json())

    def info(self) -> str:
        """The card as ``dispr model info`` prints it."""
        return self._model.card_text()

    def __repr__(self) -> str:
        return f"dispr.Model({self.source!r}, {self.method})"

    def predict(
        self,
        image: Any,
        mask: Any,
        samples: int = 5,
        seed: int = 0,
        pixel_size: float | None = None,
        name: str = "cell",
        downscale: bool = False,
        progress: Progress | None = None,
    ) -> Prediction:
        """Predicts one cell (see :func:`predict`)."""
        d = self._model.predict_cell(
            _image(image),
            _pixels(mask, "mask"),
            str(name),
            _whole(samples, "samples", 1, 100),
            _whole(seed, "seed", 0, 2**64 - 1),
            _length(pixel_size),
            bool(downscale),
            _callback(progress),
        )
        for note in d["notes"]:
            _warn(note)
        return Prediction._from(d, self)

    def predict_field(
        self,
        image: Any,
        labels: Any,
        samples: int = 5,
        seed: int = 0,
        pixel_size: float | None = None,
        name: str = "field",
        cells: Sequence[int] | None = None,
        skip_border: bool = True,
        downscale: bool = False,
        progress: Progress | None = None,
    ) -> FieldPrediction:
        """Predicts the labelled cells of a field (see :func:`predict_field`)."""
        only = None if cells is None else [_whole(c, "cells", 1, 2**32 - 1) for c in cells]
        d = self._model.predict_field(
            _image(image),
            _labels(labels),
            str(name),
            _whole(samples, "samples", 1, 100),
            _whole(seed, "seed", 0, 2**64 - 1),
            _length(pixel_size),
            bool(downscale),
            bool(skip_border),
            only,
            _callback(progress),
        )
        result = FieldPrediction([Prediction._from(c, self) for c in d["cells"]], [tuple(s) for s in d["skipped"]])
        if d["interrupted"] is not None:
            # The cells finished before the progress callback raised go with its exception.
            result.complete = False
            error = d["interrupted"]
            error.partial = result
            raise error
        return result


def _length(value: Any) -> float | None:
    """A pixel size in µm, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DisprError(f"pixel_size: {value!r} is not a number (µm per pixel)")
    return float(value)


_MODELS: dict[tuple, Model] = {}


def load_model(
    path: str | os.PathLike | None = None,
    sampler: str | None = None,
    steps: int | None = None,
    eta: float | None = None,
    from_prior: float | None = None,
) -> Model:
    """Loads a model file or run folder (``None``: the built-in model) with a sampler
    (each setting given replaces that of the model's own, see :class:`Model`); the same
    arguments give the same loaded model again (no reload)."""
    path = None if path is None else os.path.abspath(os.fspath(path))
    key = (path, sampler, steps, eta, from_prior)
    if key not in _MODELS:
        _MODELS[key] = Model(path, sampler, steps, eta, from_prior)
    return _MODELS[key]


def _model_for(
    model: Any, sampler: str | None, steps: int | None, eta: float | None, from_prior: float | None
) -> Model:
    """The model to predict with: a loaded :class:`Model` (which has its own sampler, so
    other sampler settings are refused), else one loaded with these settings."""
    eta = None if eta is None else float(eta)
    from_prior = None if from_prior is None else float(from_prior)
    if isinstance(model, Model):
        if not model._model.draws_as(sampler, steps, eta, from_prior):
            raise DisprError(
                f"sampler, steps, eta, from_prior: a loaded Model samples as it was loaded "
                f"({model.method}); pass them to dispr.load_model instead"
            )
        return model
    steps = None if steps is None else _whole(steps, "steps", 1)
    return load_model(model, sampler, steps, eta, from_prior)


def card(model: str | os.PathLike | None = None) -> dict[str, Any]:
    """A model's card (``None``: the built-in model's), as ``dispr model info --json``."""
    return load_model(model).card


def predict(
    image: Any,
    mask: Any,
    samples: int = 5,
    steps: int | None = None,
    sampler: str | None = None,
    seed: int = 0,
    pixel_size: float | None = None,
    model: Model | str | os.PathLike | None = None,
    name: str = "cell",
    eta: float | None = None,
    downscale: bool = False,
    progress: Progress | None = None,
    from_prior: float | None = None,
) -> Prediction:
    """Predicts the 3D shape distribution of one cell from its 2D image and mask.

    ``image`` and ``mask`` are 2D arrays of one size (any size, any pixel type); the mask
    is the cell's foreground (above half its maximum). ``samples`` shapes are drawn with
    the ``sampler`` in ``steps`` steps (with ``eta`` and ``from_prior``; none given: the
    model's own, see :class:`Model`); ``seed`` is mixed with ``name`` as ``dispr predict``
    mixes it with the image file's stem, so ``name="cell01"`` reproduces
    ``dispr predict cell01.tif mask.tif --seed SEED``. ``pixel_size`` (µm) gives
    measures in µm and lets a model trained at a known pixel size resample the cell;
    ``downscale`` shrinks a cell larger than the model's field instead of refusing it.
    ``model`` is a :class:`Model`, a model file or run folder, or ``None`` (built in).
    """
    m = _model_for(model, sampler, steps, eta, from_prior)
    return m.predict(image, mask, samples, seed, pixel_size, name, downscale, progress)


def predict_field(
    image: Any,
    labels: Any,
    samples: int = 5,
    steps: int | None = None,
    sampler: str | None = None,
    seed: int = 0,
    pixel_size: float | None = None,
    model: Model | str | os.PathLike | None = None,
    name: str = "field",
    cells: Sequence[int] | None = None,
    skip_border: bool = True,
    eta: float | None = None,
    downscale: bool = False,
    progress: Progress | None = None,
    from_prior: float | None = None,
) -> FieldPrediction:
    """Predicts every labelled cell of a field of view, as ``dispr predict --image FIELD
    --labels LABELS`` does: ``labels`` is a label image (0 background, k for cell k, as
    cellpose and StarDist write it); ``cells`` limits it to some labels. Cells touching
    the border (with ``skip_border``) or larger than the model's field are skipped and
    listed with the reason. Cells are named ``{name}_{label}``."""
    m = _model_for(model, sampler, steps, eta, from_prior)
    return m.predict_field(image, labels, samples, seed, pixel_size, name, cells, skip_border, downscale, progress)


# --- shapes ---------------------------------------------------------------------------------


def _volume(volume: Any, what: str) -> np.ndarray:
    v = np.asarray(volume)
    if v.ndim != 3:
        raise DisprError(f"{what}: a 3D array (z, y, x) is needed, not one of shape {v.shape}")
    if v.dtype != np.bool_:
        if not np.isfinite(v).all():
            raise DisprError(f"{what}: contains NaN or infinite values")
        top = v.max() if v.size else 0
        v = v > top / 2 if top > 0 else np.zeros(v.shape, bool)  # as dispr binarises: v / max > 0.5
    return np.ascontiguousarray(v)


def _spacing(spacing: Any) -> tuple[float, float, float] | None:
    """A voxel size (z, y, x) in µm from one number or three."""
    if spacing is None:
        return None
    values = [spacing] if np.isscalar(spacing) else list(spacing)
    if len(values) not in (1, 3) or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        raise DisprError(f"spacing: {spacing!r} is not one number or three (z, y, x) in µm")
    z, y, x = (float(v) for v in values * (3 // len(values)))
    return (z, y, x)


def measure(volume: Any, spacing: float | Sequence[float] | None = None) -> dict[str, Any]:
    """Measures a 3D shape as ``dispr measure`` does (METRICS.md): volume, surface_area,
    roughness, curvature, mesh_volume, sphericity. A non-boolean volume is binarised at
    half its maximum. ``spacing`` (µm; one number or z, y, x) gives µm, else voxels."""
    return _dispr.measure(_volume(volume, "volume"), _spacing(spacing))


def mesh(volume: Any, spacing: float | Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The marching-cubes surface of a 3D shape: ``(vertices, faces)``, vertices (n, 3) in
    (z, y, x) order (µm with ``spacing``), faces (m, 3) vertex indices — ready for
    napari's ``add_surface((vertices, faces))``."""
    return _dispr.mesh(_volume(volume, "volume"), _spacing(spacing))


def synth(n: int, seed: int = 0, classes: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """``n`` synthetic cells as ``dispr synth`` makes them (PHANTOMS.md): dicts with name,
    class, image (uint8 y, x), mask (bool y, x) and shape (bool z, y, x)."""
    return _dispr.synth(_whole(n, "n", 1, 100_000), _whole(seed, "seed", 0, 2**64 - 1), None if classes is None else [str(c) for c in classes])


def _shapes_of(prediction: Any) -> list[np.ndarray]:
    if isinstance(prediction, Prediction):
        return list(prediction.samples)
    a = np.asarray(prediction)
    if a.ndim == 4:
        return [_volume(s, "prediction") for s in a]
    return [_volume(a, "prediction")]


def evaluate(predictions: Any, truth: Any, method: str = "dispr") -> dict[str, np.ndarray]:
    """Compares predicted shapes with true shapes, as ``dispr evaluate`` does: one row per
    sample (and per cell's ensemble when it has several samples) with the relative
    errors of volume, surface_area, roughness and curvature, and IoU and Dice.

    ``predictions`` and ``truth`` are either one cell (a :class:`Prediction`, a (S, z, y,
    x) stack or one (z, y, x) shape; and a (z, y, x) truth) or dicts by cell name
    (a :class:`FieldPrediction` is taken by cell name). Returns a dict of columns."""
    if isinstance(predictions, FieldPrediction):
        predictions = {c.name: c for c in predictions.cells}
    if isinstance(predictions, Mapping):
        if not isinstance(truth, Mapping):
            raise DisprError("truth: a dict by cell name is needed when predictions are one")
        missing = [n for n in predictions if n not in truth]
        if missing:
            raise DisprError(f"truth: no true shape of cell '{missing[0]}'")
        pairs = [(n, predictions[n], truth[n]) for n in predictions]
    else:
        pairs = [(getattr(predictions, "name", "cell"), predictions, truth)]
    rows: list[dict[str, Any]] = []
    for name, p, t in pairs:
        rows += _dispr.evaluate(_shapes_of(p), _volume(t, f"truth of cell '{name}'"), method, name, "")
    keys = rows[0].keys() if rows else []
    return {k: np.array([r[k] if r[k] is not None else np.nan for r in rows]) if k not in ("method", "cell", "class", "prediction") else np.array([r[k] for r in rows]) for k in keys}


def intensities(image: Any) -> np.ndarray:
    """An image's intensities in [0, 1] as dispr reads them (value / the full scale of the
    bit depth its values use: 1, 255, 4095 or 65535), or a :class:`DisprError` saying what
    is wrong with it (negative, constant, NaN, beyond 16-bit)."""
    return _dispr.unit_image(_pixels(image, "image"))


def read_tiff(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, float | None] | None]:
    """Reads a TIFF as dispr reads it: ``(array, pixel_size)``, the array (y, x) or
    (z, y, x) and the pixel size in µm (``{"x", "y", "z"}``) when its metadata states it."""
    return _dispr.read_tiff(os.fspath(path))


def read_prediction(folder: str | os.PathLike) -> FieldPrediction:
    """Reads a prediction folder written by ``dispr predict`` (its predict.json, cells.csv
    and each cell's samples, probability, std and ensemble) as a :class:`FieldPrediction`,
    measuring each sample again. Cells of a field (``--image``) keep their label and crop
    origin; cells of a dataset (``--data``) have neither (label 0, origin (0, 0))."""
    folder = os.fspath(folder)
    report_file = os.path.join(folder, "predict.json")
    if not os.path.isfile(report_file):
        raise DisprError(f"{folder}: not a dispr prediction folder (no predict.json)")
    with open(report_file, encoding="utf-8") as f:
        report = json.load(f)
    rows: dict[str, dict[str, str]] = {}
    table = os.path.join(folder, "cells.csv")
    if os.path.isfile(table):
        with open(table, newline="", encoding="utf-8") as f:
            rows = {r["name"]: r for r in csv.DictReader(f)}
    cells = []
    for timing in report.get("per_cell", []):
        name = timing["cell"]
        row = rows.get(name, {})
        samples = []
        k = 0
        while os.path.isfile(os.path.join(folder, f"{name}_{k}.tif")):
            samples.append(read_tiff(os.path.join(folder, f"{name}_{k}.tif"))[0] > 0)
            k += 1
        if not samples and os.path.isfile(os.path.join(folder, f"{name}.tif")):
            samples.append(read_tiff(os.path.join(folder, f"{name}.tif"))[0] > 0)
        probability = read_tiff(os.path.join(folder, "probability", f"{name}.tif"))[0]
        std_file = os.path.join(folder, "std", f"{name}.tif")
        std = read_tiff(std_file)[0] if os.path.isfile(std_file) else None
        ensemble = read_tiff(os.path.join(folder, "ensemble", f"{name}.tif"))[0] > 0
        stack = np.stack(samples) if samples else ensemble[None]
        pixel_size = timing.get("pixel_size_um")
        measured = [measure(s, pixel_size) for s in stack]
        summary = {
            m: {
                s: (float(row[c]) if row[c] not in ("", None) else None)
                for s in ("mean", "sd", "p05", "p95", "lo90", "hi90")
                for c in row
                if c.startswith(m + "_") and c.endswith("_" + s)
            }
            for m in MEASURES
        }
        origin = (int(row.get("y0") or 0), int(row.get("x0") or 0))
        cells.append(
            Prediction(
                name=name,
                label=int(row.get("label") or 0),
                origin=origin,
                area=int(row.get("area_px") or 0),
                samples=stack,
                probability=probability,
                std=std,
                ensemble=ensemble,
                sample_measures={m: np.array([x[m] or 0.0 for x in measured]) for m in MEASURES},
                summary=summary,
                pairwise_1_minus_iou=float(row.get("pairwise_1_minus_iou") or 0.0),
                units="um" if timing.get("pixel_size_um") else "voxels",
                pixel_size=pixel_size,
                seconds=float(timing.get("seconds", 0.0)),
                method=report.get("sampler", ""),
                model_sha256=report.get("model_sha256", ""),
            )
        )
    skipped = [(int(r.get("label") or 0), name, r.get("reason", "")) for name, r in rows.items() if r.get("status") == "skipped"]
    return FieldPrediction(cells, skipped)
