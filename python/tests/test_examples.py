"""The notebook-style example of the docs runs and says what it should."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_quickstart_runs(sample):
    p = subprocess.run(
        [sys.executable, str(REPO / "docs" / "python" / "quickstart.py"), str(sample)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "predicted (5, 64, 64, 64) (ddim-10-eta1-from0.7)" in out
    assert out.count("the same samples: True") == 2
    assert "field_1: crop origin" in out and "field_2: crop origin" in out
