"""Every example runs."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_tradeoff_study_quick(tmp_path: Path):
    subprocess.run(
        [sys.executable, str(ROOT / "examples/tradeoff/run.py"), "--quick", "-o", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    rows = list(csv.DictReader((tmp_path / "tradeoff.csv").open()))
    assert rows and all(r["sim_passed"] == "True" for r in rows)
    # Hardware-measured toggling units per inference equal the exact energy.
    assert all(r["toggling_units_per_inference_max"] == r["energy"] for r in rows)
    assert all(float(r["slack"]) >= 0 for r in rows)
    assert (tmp_path / "size_vs_ed.png").stat().st_size > 1000
