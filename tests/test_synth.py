"""Synthesis and place-and-route with YoWASP Yosys and nextpnr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hdlgen
from hdlgen.cli import main
from hdlgen.errors import ToolError
from hdlgen.synth import TARGETS, Target, synthesize
from hdlgen.synth.flow import STAGES


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_target(examples: Path, target: str, tmp_path: Path):
    stages: list[str] = []
    r = synthesize(hdlgen.load(examples / "layered.json"), target, workdir=tmp_path, on_stage=stages.append)
    assert stages == list(STAGES)  # each stage reported once, in order
    assert r.luts > 10 and r.ffs >= 7 and r.fmax_mhz > 10
    assert r.logic_cells > 0 and r.logic_cells_available > 1000
    assert (tmp_path / "report.json").exists() and (tmp_path / "netlist.json").exists()


@pytest.mark.slow
def test_cli_json_keys(capsys, examples: Path):
    assert main(["synth", str(examples / "cd8.json"), "--target", "ice40-up5k", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("target", "luts", "ffs", "carries", "fmax_mhz"):
        assert key in data
    assert data["target"] == "ice40-up5k" and data["luts"] > 0


@pytest.mark.slow
def test_does_not_fit_says_how_much(examples: Path):
    tiny = Target("tiny", "ice40", ("--up5k", "--package", "sg48"), 5)
    with pytest.raises(ToolError, match=r"does not fit tiny: it needs \d+ LUT4s, the part has 5"):
        synthesize(hdlgen.load(examples / "cd8.json"), tiny)


def test_unknown_target(capsys, examples: Path):
    assert main(["synth", str(examples / "cd8.json"), "--target", "xc7"]) == 2
    assert "Invalid value for '--target'" in capsys.readouterr().err


@pytest.mark.slow
def test_does_not_fit_after_packing():
    # CD_16 at energy 2, depth 2: its LUT4s fit the UP5K, its packed logic cells do not.
    from hdlgen.constructions import cd_circuit

    with pytest.raises(ToolError, match=r"does not fit ice40-up5k: placement needs \d+ logic cells"):
        synthesize(cd_circuit(16, 2, 2), "ice40-up5k")


def test_stages_without_place_and_route(examples: Path):
    stages: list[str] = []
    r = synthesize(hdlgen.load(examples / "or2.json"), "ice40-up5k", place=False, on_stage=stages.append)
    assert stages == [STAGES[0]] and not r.placed and r.luts >= 1 and r.fmax_mhz == 0.0


def test_no_place_prints_no_fmax(capsys, examples: Path):
    """synth --no-place: Fmax and logic cells are not known, and the text says so (it printed 0.0 and 0)."""
    assert main(["synth", str(examples / "or2.json"), "--target", "ice40-up5k", "--no-place"]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["fmax_mhz"] == "n/a (not placed: --no-place)" and lines["logic_cells"].startswith("n/a")
    assert int(lines["luts"]) >= 1
