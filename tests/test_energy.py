"""Exact energy: enumeration and MILP agree with each other and with brute force."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hdlgen
from hdlgen.analysis import energy, energy_exhaustive, energy_milp, info
from hdlgen.random_circuits import random_circuit, random_layered
from tests import oracle


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 10**6))
def test_methods_agree_with_brute_force(seed: int):
    c = random_circuit(seed, max_gates=10)
    want = oracle.energy(c)
    ex = energy_exhaustive(c)
    assert ex.value == want and ex.exact and ex.bounds == (want, want)
    # samples=1: the solver, not the sampling, must find the optimum
    milp = energy_milp(c, samples=1)
    assert milp.exact and milp.value == want
    assert oracle.evaluate(c, list(milp.witness))[1] == want
    assert oracle.evaluate(c, list(ex.witness))[1] == want


def test_examples(examples):
    assert hdlgen.energy(hdlgen.load(examples / "or2.json")) == 1
    assert hdlgen.energy(hdlgen.load(examples / "cd8.json")) == 5
    layered = hdlgen.load(examples / "layered.json")
    assert hdlgen.energy(layered) == oracle.energy(layered)
    assert hdlgen.energy(layered, method="milp") == oracle.energy(layered)


def test_auto_switches_to_milp_beyond_enumeration():
    c = random_layered(30, [12, 6], fan_in=6, seed=5)
    r = energy(c)
    assert r.method == "milp" and r.exact
    assert hdlgen.Reference(c).activity([list(r.witness)])[0] == r.value


def test_time_limit_reports_honest_bounds():
    c = random_layered(64, [40, 40, 20], fan_in=16, seed=11)
    r = energy(c, method="milp", time_limit=0.05)
    lo, hi = r.bounds
    assert lo == r.value <= hi <= c.size
    assert hdlgen.Reference(c).activity([list(r.witness)])[0] == lo
    assert r.exact == (lo == hi)
    if not r.exact:
        with pytest.raises(hdlgen.UsageError, match="not proven"):
            hdlgen.energy(c, method="milp", time_limit=0.05)


def test_info_keys(examples):
    data = info(hdlgen.load(examples / "layered.json"))
    for key in (
        "name",
        "n_inputs",
        "input_bits",
        "size",
        "depth",
        "energy",
        "weight",
        "max_threshold",
        "energy_method",
        "energy_exact",
        "energy_bounds",
        "latency",
    ):
        assert key in data
    assert data["input_bits"] == 10 and data["n_inputs"] == 7 and data["latency"] == data["depth"] == 3
