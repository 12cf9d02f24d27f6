"""Every example runs."""

from __future__ import annotations

import csv
import json
import os
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


@pytest.mark.slow
def test_digits_study_quick(tmp_path: Path):
    subprocess.run(
        [sys.executable, str(ROOT / "examples/digits/run.py"), "--quick", "-o", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    rows = list(csv.DictReader((tmp_path / "digits.csv").open()))
    assert len(rows) == 2 and all(r["fits_up5k"] == "True" and int(r["luts"]) > 0 for r in rows)
    assert all(int(r["energy_lower"]) <= int(r["energy_upper"]) for r in rows)
    # The activity penalty lowers the mean activity.
    by_penalty = sorted(rows, key=lambda r: float(r["energy_penalty"]))
    assert float(by_penalty[1]["mean_activity"]) < float(by_penalty[0]["mean_activity"])
    assert (tmp_path / "accuracy_activity.png").stat().st_size > 1000
    assert (tmp_path / "accuracy_energy.png").stat().st_size > 1000


@pytest.mark.slow
def test_digits_training_to_bitstream(tmp_path: Path):
    env = {**os.environ, "HDLGEN": str(Path(sys.executable).parent / "hdlgen")}
    out = tmp_path / "digits"
    subprocess.run(["bash", str(ROOT / "examples/digits/build.sh"), str(out)], check=True, capture_output=True, env=env)
    train = json.loads((out / "train.json").read_text())
    sim = json.loads((out / "sim.json").read_text())
    synth = json.loads((out / "synth.json").read_text())
    assert sim["passed"] and sim["accuracy"] == sim["reference_accuracy"] == train["test_accuracy"]
    assert train["test_accuracy"] >= 0.93 and train["mean_activity"] <= 0.25
    assert synth["luts"] <= 5280 and synth["fmax_mhz"] >= 24
    assert (out / "board" / "digits_threshold.bin").stat().st_size > 100_000


@pytest.mark.slow
@pytest.mark.parametrize("grid", ["cd.toml", "digits.toml"])
def test_sweep_examples(tmp_path: Path, grid: str):
    out = tmp_path / "sweep.csv"
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "hdlgen"),
            "sweep",
            str(ROOT / "examples/sweeps" / grid),
            "-o",
            str(out),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    summary = json.loads(proc.stdout)
    assert summary["failed"] == 0 and summary["computed"] == summary["points"] > 0
    with out.open() as table:
        rows = list(csv.DictReader(table))
    assert len(rows) == summary["points"] and (tmp_path / "sweep.png").stat().st_size > 1000
