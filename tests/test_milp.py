"""MILP energy: every encoding and solver against exhaustive enumeration on random circuits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdlgen import Circuit
from hdlgen.analysis import energy_exhaustive, energy_milp
from hdlgen.analysis.exact_energy import _encode, _identical_gates
from hdlgen.random_circuits import random_circuit, random_layered


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([("highs", True), ("highs", False), ("cpsat", False)]))
def test_milp_matches_exhaustive(seed: int, how: tuple[str, bool]):
    solver, tighten = how
    c = random_circuit(seed)
    want = energy_exhaustive(c).value
    r = energy_milp(c, samples=1, solver=solver, tighten=tighten, workers=1)  # type: ignore[arg-type]
    assert r.exact and r.value == want and r.bounds == (want, want)


def duplicated() -> Circuit:
    c = Circuit("dup")
    xs = c.add_inputs("x", 6)
    c.add_gate("a", xs[:3], [2, -1, 1], threshold=1)
    c.add_gate("b", [xs[1], xs[0], xs[2]], [-1, 2, 1], threshold=1)  # a, listed differently
    c.add_gate("c", xs[3:], [1, 1, 1], threshold=2)
    c.add_gate("d", ["a", "c"], [1, 1], threshold=2)
    c.add_gate("e", ["c", "b"], [1, 1], threshold=2)  # d, through the duplicate
    c.add_gate("f", ["a", "x3"], [1, -1], threshold=0, kind="relu", bits=2)
    c.add_output("d", "e", "f")
    return c


def test_identical_gates_are_encoded_once():
    c = duplicated()
    rep = _identical_gates(c)
    assert rep["b"] == "a" and rep["e"] == "d" and rep["f"] == "f"
    enc = _encode(c)
    assert enc.merged == 2 and sorted(enc.fires.values()) == [1, 1, 2, 2]
    for solver in ("highs", "cpsat"):
        r = energy_milp(c, samples=1, solver=solver, workers=1)  # type: ignore[arg-type]
        assert r.exact and r.value == energy_exhaustive(c).value


def test_lp_tightening_shrinks_big_m_of_deep_gates():
    c = random_layered(16, [12, 12, 6], fan_in=6, seed=4)
    tight, loose = _encode(c, tighten=True), _encode(c, tighten=False)
    assert tight.tightened > 0 and loose.tightened == 0
    assert energy_milp(c, samples=1).value == energy_exhaustive(c).value


def test_time_out_keeps_honest_bounds():
    c = random_layered(64, [40, 40, 20], fan_in=16, seed=2)
    for solver in ("highs", "cpsat"):
        r = energy_milp(c, time_limit=2, solver=solver, workers=1)  # type: ignore[arg-type]
        lo, hi = r.bounds
        assert r.value == lo <= hi <= c.size
        assert r.exact == (lo == hi)
        assert c.activity([list(r.witness)])[0] == r.value


def test_progress_closes_the_gap():
    c = random_layered(20, [10, 6], fan_in=6, seed=1)
    seen: list[tuple[int, int]] = []
    r = energy_milp(c, samples=1, progress=lambda d, t: seen.append((d, t)))
    assert r.exact and seen and seen[-1][0] == seen[-1][1]


def test_unknown_solver_is_refused():
    from hdlgen.errors import UsageError

    with pytest.raises(UsageError, match="solver"):
        energy_milp(duplicated(), solver="glpk")  # type: ignore[arg-type]
