"""The fast paths of the reference model against the plain chunked path and the oracle.

Exhaustive enumeration with split input sums, parallel chunks and scoped
BLAS threads must give the same figures as the single-threaded evaluation of
every vector (which itself matches tests/oracle.py in test_reference.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdlgen import Circuit
from hdlgen.analysis import energy_exhaustive
from hdlgen.ir.reference import Reference, blas_single_thread, enumerate_inputs
from hdlgen.random_circuits import random_circuit, random_layered
from tests import oracle


def first_max(act: np.ndarray) -> tuple[int, int]:
    k = int(np.argmax(act))
    return int(act[k]), k


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 6), st.sampled_from([1, 2, 3]))
def test_max_activity_matches_every_vector(seed: int, chunk_bits: int, workers: int):
    # Multi-bit inputs straddle the chunk boundary for some chunk_bits: the split must stay exact.
    c = random_circuit(seed)
    ref = Reference(c)
    every = ref.activity(enumerate_inputs(c, 0, 2**c.input_bits), workers=1)
    assert ref.max_activity(workers=workers, chunk_bits=chunk_bits) == first_max(every)


@pytest.mark.parametrize("weight", [3, 2**20, 2**50])
def test_max_activity_in_every_dtype(weight: int):
    c = random_layered(11, [6, 4, 2], fan_in=5, weight=weight, seed=5, relu_fraction=0.5, relu_bits=8, skip=True)
    ref = Reference(c)
    every = ref.activity(enumerate_inputs(c, 0, 2**11), workers=1)
    assert ref.max_activity(workers=2, chunk_bits=4) == first_max(every)


def test_threshold_layers_and_early_stop():
    # All-threshold circuits count activity with a matrix product; an always-on gate set stops early.
    c = random_layered(14, [24, 24, 8], fan_in=6, seed=2)
    ref = Reference(c)
    every = ref.activity(enumerate_inputs(c, 0, 2**14), workers=1)
    seen: list[tuple[int, int]] = []
    assert ref.max_activity(workers=2, chunk_bits=8, progress=lambda d, t: seen.append((d, t))) == first_max(every)
    assert seen[-1] == (2**14, 2**14) and all(t == 2**14 for _, t in seen)
    easy = Circuit("easy")
    xs = easy.add_inputs("x", 10)
    for j in range(4):
        easy.add_gate(f"g{j}", xs[j : j + 2], [1, -1], threshold=-1)
    easy.add_output("g0")
    assert Reference(easy).max_activity(workers=2, chunk_bits=2) == (4, 0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_energy_exhaustive_matches_oracle(seed: int):
    c = random_circuit(seed)
    r = energy_exhaustive(c, workers=2)
    assert r.value == oracle.energy(c)
    assert oracle.evaluate(c, list(r.witness))[1] == r.value


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_parallel_chunks_equal_serial(workers: int):
    c = random_layered(12, [16, 8, 4], fan_in=6, seed=9, relu_fraction=0.3)
    X = np.random.default_rng(0).integers(0, 2, size=(5000, 12))
    ref = Reference(c)
    want = (ref.evaluate(X, workers=1), ref.run(X, workers=1), ref.gate_values(X, workers=1))
    ref.chunk = 333
    got = (ref.evaluate(X, workers=workers), ref.run(X, workers=workers), ref.gate_values(X, workers=workers))
    assert np.array_equal(got[0], want[0])
    assert all(np.array_equal(a, b) for a, b in zip(got[1], want[1], strict=True))
    assert np.array_equal(got[2], want[2])


def test_blas_limit_is_scoped():
    from threadpoolctl import threadpool_info

    # NumPy's own BLAS is the one the reference calls (SciPy, loaded by other tests, brings its own).
    numpy_dir = str(Path(np.__file__).resolve().parent.parent)

    def numpy_blas() -> list[int]:
        return [
            i["num_threads"]
            for i in threadpool_info()
            if i["user_api"] == "blas" and str(Path(i["filepath"]).resolve()).startswith(numpy_dir + "/numpy")
        ]

    before = numpy_blas()
    assert before
    with blas_single_thread():
        assert all(n == 1 for n in numpy_blas())
    assert numpy_blas() == before
