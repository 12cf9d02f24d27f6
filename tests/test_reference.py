"""The NumPy reference model against an independent plain evaluator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdlgen import Circuit, Reference
from hdlgen.ir.reference import enumerate_inputs
from hdlgen.random_circuits import random_circuit, random_layered
from tests import oracle


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6))
def test_random_circuits_match_oracle_exhaustively(seed: int):
    c = random_circuit(seed)
    X = np.array(list(oracle.all_vectors(c)), dtype=np.int64).reshape(-1, c.n_inputs)
    out, act = Reference(c).run(X)
    for row, x in enumerate(X):
        want_out, want_act = oracle.evaluate(c, list(x))
        assert out[row].tolist() == want_out
        assert act[row] == want_act


@pytest.mark.parametrize("weight", [3, 2**20, 2**50])
def test_dtype_paths_are_exact(weight: int):
    # Large weights push evaluation from float32 to float64 to int64.
    c = random_layered(10, [6, 4, 2], fan_in=5, weight=weight, seed=weight % 97, relu_fraction=0.5, relu_bits=8)
    ref = Reference(c)
    assert ref.dtype == (np.float32 if weight == 3 else np.float64 if weight == 2**20 else np.int64)
    X = np.random.default_rng(1).integers(0, 2, size=(200, 10))
    out, act = ref.run(X)
    for row, x in enumerate(X):
        want_out, want_act = oracle.evaluate(c, list(x))
        assert out[row].tolist() == want_out and act[row] == want_act


def test_sum_just_below_float32_mantissa_is_exact():
    c = Circuit("edge")
    c.add_input("a", bits=24)
    c.add_gate("r", ["a"], [1], threshold=-1, kind="relu", bits=25)
    c.add_output("r")
    top = 2**24 - 1
    assert c.evaluate([[top], [top - 1]]).tolist() == [[top + 1], [top]]


def test_chunking_matches_single_pass():
    c = random_layered(12, [16, 8], fan_in=6, seed=3)
    ref = Reference(c)
    X = enumerate_inputs(c, 0, 4096)
    whole = ref.evaluate(X)
    ref.chunk = 100
    assert np.array_equal(ref.evaluate(X), whole)


def test_value_ranges_are_sound():
    c = random_circuit(7, max_gates=10)
    ranges = c.value_ranges
    X = np.array(list(oracle.all_vectors(c)), dtype=np.int64).reshape(-1, c.n_inputs)
    values = Reference(c).gate_values(X)
    for j, g in enumerate(c.gates):
        assert ranges[g.name].lo <= values[:, j].min() and values[:, j].max() <= ranges[g.name].hi


def test_enumeration_packs_input_zero_lowest():
    c = Circuit("p")
    c.add_input("a")
    c.add_input("b", bits=2)
    c.add_output("a")
    assert enumerate_inputs(c, 0, 8).tolist() == [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
        [0, 2],
        [1, 2],
        [0, 3],
        [1, 3],
    ]
