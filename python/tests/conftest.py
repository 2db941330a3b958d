"""Shared fixtures: the real sample cells and the dispr command line to compare with."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = Path(os.environ.get("DISPR_REAL_SAMPLE", REPO.parent / "shared" / "data" / "rbc-sample"))
CELL = "A_cell_clusters000604"


def _missing(what: str) -> None:
    """Skips a test whose input is absent, except under CI=true (then it fails)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} not found (CI=true: required)")
    pytest.skip(f"skipped: {what} not found")


@pytest.fixture(scope="session")
def sample() -> Path:
    """The real sample dataset (../shared/data/rbc-sample)."""
    if not (SAMPLE / "image").is_dir():
        _missing("real sample")
    return SAMPLE


@pytest.fixture(scope="session")
def cell(sample: Path) -> dict:
    """One real cell: its image, mask and true shape as numpy arrays, and its files."""
    import tifffile

    files = {k: sample / k / f"{CELL}.tif" for k in ("image", "mask", "obj")}
    return {
        "name": CELL,
        "files": files,
        **{k: tifffile.imread(f) for k, f in files.items()},
    }


class Cli:
    """The dispr command line: ``cli("predict", ...)`` runs it and returns its stdout
    (failing the test with its stderr on an error)."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, *args: object) -> str:
        p = subprocess.run([str(self.path), *map(str, args)], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return p.stdout


@pytest.fixture(scope="session")
def cli() -> Cli:
    """The dispr command line of this checkout (DISPR_BIN, else target/{debug,release})."""
    for candidate in (
        os.environ.get("DISPR_BIN"),
        REPO / "target" / "debug" / "dispr",
        REPO / "target" / "release" / "dispr",
        shutil.which("dispr"),
    ):
        if candidate and Path(candidate).is_file():
            return Cli(Path(candidate))
    _missing("the dispr command line (cargo build -p dispr)")
