"""Formal verification: unit proofs and wiring checks catch real faults."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from amaranth.back import verilog

import hdlgen
from hdlgen.cli import main
from hdlgen.hdl import GATING_MODES, CircuitTop
from hdlgen.random_circuits import random_circuit, random_layered
from hdlgen.verify import formal, verify_formal


@pytest.mark.slow
@pytest.mark.parametrize("gating", GATING_MODES)
def test_examples_and_random_circuits_are_proven(examples: Path, gating: str):
    for c in [hdlgen.load(examples / f"{n}.json") for n in ("or2", "cd8", "layered")] + [
        random_circuit(s) for s in range(4)
    ]:
        r = verify_formal(c, gating=gating)
        assert r.proven and r.wiring_ok and r.gates_proven == c.size, r.failures


def test_broken_arithmetic_is_caught(monkeypatch, examples: Path):
    original = formal.unit_logic

    def broken(m, prefix, gate, operands, group=4, cut=None):
        if gate.name == "h2":  # one threshold off by one in the implementation
            gate = hdlgen.Gate(gate.name, gate.kind, gate.inputs, gate.weights, gate.threshold + 1, gate.bits)
        return original(m, prefix, gate, operands, group, cut)

    monkeypatch.setattr(formal, "unit_logic", broken)
    r = verify_formal(hdlgen.load(examples / "layered.json"))
    assert not r.proven and r.failures == ["gate 'h2': implementation differs from its specification"]


def test_broken_wiring_is_caught(examples: Path):
    c = hdlgen.load(examples / "layered.json")
    d = c.to_dict()
    d["gates"][4]["inputs"] = ["h0", "h2", "pix"]  # r0 wired to h2 instead of h1
    wrong = hdlgen.Circuit.from_dict(d)
    top = CircuitTop(wrong)
    text = verilog.convert(top, name=c.name, emit_src=False, strip_internal_attrs=True)
    with tempfile.TemporaryDirectory() as tmp:
        problems = formal._check_wiring(c, text, top, Path(tmp))
    assert problems and "gate 'r0'" in problems[0] and "h2" in problems[0]


@pytest.mark.slow
def test_64_input_circuit(capsys, tmp_path: Path):
    c = random_layered(64, [40, 40, 20], fan_in=16, seed=11)
    c.save(tmp_path / "big.json")
    assert main(["verify", str(tmp_path / "big.json"), "--formal", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["proven"] and data["gates"] == 100 and data["wiring_ok"]


@pytest.mark.parametrize(
    ("pipeline", "clock_gating", "gating"),
    [(True, "enable", "rtz"), (False, "physical", "rtz"), (True, "physical", "delta")],
)
def test_shipped_modes_are_proven(examples: Path, pipeline: bool, clock_gating: str, gating: str):
    """verify covers what build ships: the pipelined adder trees and physically gated clocks."""
    c = hdlgen.load(examples / "layered.json")
    r = verify_formal(c, gating=gating, pipeline=pipeline, clock_gating=clock_gating)
    assert r.proven and r.wiring_ok and r.gates_proven == c.size, r.failures


def test_broken_pipelined_arithmetic_is_caught(monkeypatch, examples: Path):
    original = formal.unit_logic

    def broken(m, prefix, gate, operands, group=4, cut=None):
        if gate.name == "r0":  # the relu threshold off by one, behind the pipeline cut
            gate = hdlgen.Gate(gate.name, gate.kind, gate.inputs, gate.weights, gate.threshold + 1, gate.bits)
        return original(m, prefix, gate, operands, group, cut)

    monkeypatch.setattr(formal, "unit_logic", broken)
    r = verify_formal(hdlgen.load(examples / "layered.json"), pipeline=True)
    assert not r.proven and r.failures == ["gate 'r0': implementation differs from its specification"]


def test_broken_pipelined_wiring_is_caught(examples: Path):
    c = hdlgen.load(examples / "layered.json")
    d = c.to_dict()
    d["gates"][4]["inputs"] = ["h0", "h2", "pix"]  # r0 wired to h2 instead of h1
    wrong = hdlgen.Circuit.from_dict(d)
    top = CircuitTop(wrong, pipeline=True)
    text = verilog.convert(top, name=c.name, emit_src=False, strip_internal_attrs=True)
    with tempfile.TemporaryDirectory() as tmp:
        problems = formal._check_wiring(c, text, top, Path(tmp))
    assert problems and "gate 'r0'" in problems[0] and "h2" in problems[0]


def test_a_clock_stopped_too_early_is_caught(monkeypatch, examples: Path):
    """rtz registers fall back to 0 on the clock edge after an inference: a gate that forgets it is caught."""
    c = hdlgen.load(examples / "layered.json")
    original = CircuitTop._gated_clocks

    def without_return_to_zero(self, m, valid, step):
        self.gating = "delta"  # the enable of delta: valid inferences only, not the registers still high
        try:
            original(self, m, valid, step)
        finally:
            self.gating = "rtz"

    monkeypatch.setattr(CircuitTop, "_gated_clocks", without_return_to_zero)
    top = CircuitTop(c, clock_gating="physical")
    text = verilog.convert(top, name=c.name, emit_src=False, strip_internal_attrs=True)
    with tempfile.TemporaryDirectory() as tmp:
        problems = formal._check_wiring(c, text, top, Path(tmp))
    assert problems == ["a register changes while its gated clock is stopped"]


def test_output_port_wiring_is_checked(examples: Path):
    """o_data comes from the outputs' registers at the last stage, in PortLayout order."""
    c = hdlgen.load(examples / "layered.json")
    d = c.to_dict()
    d["outputs"] = ["r0", "y", "r1"]  # the design built for another output order
    top = CircuitTop(hdlgen.Circuit.from_dict(d))
    text = verilog.convert(top, name=c.name, emit_src=False, strip_internal_attrs=True)
    with tempfile.TemporaryDirectory() as tmp:
        problems = formal._check_wiring(c, text, top, Path(tmp))
    assert any(p.startswith("o_data[") for p in problems), problems


def test_a_unit_over_its_time_budget_is_undecided(capsys, examples: Path):
    """A proof that runs out of its budget is reported as such, never as proven (exit 1)."""
    r = verify_formal(hdlgen.load(examples / "layered.json"), unit_seconds=0.001)
    assert not r.proven and r.failures
    assert all(f.endswith("not proven within 0.001 s (undecided)") for f in r.failures[:2])
    code = main(["verify", str(examples / "layered.json"), "--formal", "--unit-time-limit", "0.001"])
    assert code == 1 and "(undecided)" in capsys.readouterr().err
