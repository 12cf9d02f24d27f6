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

    def broken(m, prefix, gate, operands, group=4):
        if gate.name == "h2":  # one threshold off by one in the implementation
            gate = hdlgen.Gate(gate.name, gate.kind, gate.inputs, gate.weights, gate.threshold + 1, gate.bits)
        return original(m, prefix, gate, operands, group)

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
