"""Type stubs of the Rust extension ``dispr._dispr`` (crates/dispr-py); the package
``dispr`` wraps it — use that."""

from typing import Any, Callable

import numpy as np

__version__: str
MEASURES: list[str]

class DisprError(ValueError):
    """A problem with dispr's inputs or files, in one line (as the command line says it)."""

class Model:
    """A trained DISPR (or SHAPR) model with its sampler, ready to predict."""

    def __init__(
        self,
        path: str | None = None,
        sampler: str | None = None,
        steps: int | None = None,
        eta: float | None = None,
        from_prior: float | None = None,
    ) -> None: ...
    @property
    def source(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def method(self) -> str: ...
    def draws_as(
        self,
        sampler: str | None = None,
        steps: int | None = None,
        eta: float | None = None,
        from_prior: float | None = None,
    ) -> bool: ...
    @property
    def evaluations(self) -> int: ...
    @property
    def level(self) -> float: ...
    @property
    def scale(self) -> float: ...
    @property
    def field_size(self) -> tuple[int, int]: ...
    def card_json(self) -> str: ...
    def card_text(self) -> str: ...
    def calibration_note(self) -> str | None: ...
    def predict_cell(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        name: str,
        samples: int,
        seed: int,
        pixel_size: float | None = None,
        downscale: bool = False,
        progress: Callable[[int, int], Any] | None = None,
    ) -> dict[str, Any]: ...
    def predict_field(
        self,
        image: np.ndarray,
        labels_image: np.ndarray,
        name: str,
        samples: int,
        seed: int,
        pixel_size: float | None = None,
        downscale: bool = False,
        skip_border: bool = True,
        only: list[int] | None = None,
        progress: Callable[[int, int], Any] | None = None,
    ) -> dict[str, Any]: ...

def measure(volume: np.ndarray, spacing: tuple[float, float, float] | None = None) -> dict[str, Any]: ...
def mesh(volume: np.ndarray, spacing: tuple[float, float, float] | None = None) -> tuple[np.ndarray, np.ndarray]: ...
def synth(n: int, seed: int = 0, classes: list[str] | None = None) -> list[dict[str, Any]]: ...
def evaluate(
    shapes: list[np.ndarray], truth: np.ndarray, method: str = "dispr", cell: str = "cell", class_name: str = ""
) -> list[dict[str, Any]]: ...
def read_tiff(path: str) -> tuple[np.ndarray, dict[str, float | None] | None]: ...
def unit_image(image: np.ndarray) -> np.ndarray: ...
def cell_columns(units: str) -> list[str]: ...
def intensity_note(image: np.ndarray) -> str | None: ...
