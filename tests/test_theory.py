"""Theory: exact rank, Theorem 1, constructions C1-C5 and every figure of docs/theory.md."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hdlgen
from hdlgen.analysis import energy
from hdlgen.analysis.bound import theorem1
from hdlgen.analysis.rank import communication_matrix, exact_rank, function_rank, truth_table
from hdlgen.cli import main
from hdlgen.constructions import (
    cd,
    cd_circuit,
    energy1_circuit,
    mod,
    mod_circuit,
    or_,
    parity,
    relu_to_threshold,
    unt_circuit,
)
from hdlgen.ir.reference import enumerate_inputs
from hdlgen.random_circuits import random_circuit, random_layered
from tests import oracle


def resources(c: hdlgen.Circuit) -> tuple[int, int, int, int]:
    return c.size, c.depth, energy(c).value, c.weight


# ------------------------------------------------------------------ rank
@pytest.mark.parametrize("n", [2, 4, 6, 8, 10, 12])
def test_cd_natural_rank(n: int):
    assert function_rank(cd(n), n, "natural").rank == 2 ** (n // 2) - 1


@pytest.mark.parametrize("n", [2, 4, 6, 8])
def test_cd_natural_partition_is_the_maximum(n: int):
    r = function_rank(cd(n), n, "all")
    assert r.rank == 2 ** (n // 2) - 1


def test_rank_is_exact_not_floating_point():
    # A 0/1 matrix whose floating-point rank is wrong: Hilbert-like ill conditioning is not
    # needed; a large full-rank 0/1 matrix suffices to defeat default SVD tolerances at size.
    n = 10
    M = communication_matrix(cd(2 * n), 2 * n, list(range(n)))
    assert exact_rank(M) == 2**n - 1
    assert exact_rank(np.array([[1, 1], [1, 1]])) == 1
    assert exact_rank(np.zeros((3, 3), dtype=np.uint8)) == 0


def test_all_partitions_finds_a_better_one():
    # f(x) = x0 XOR x2 on 4 variables: the natural partition {0,1} splits x0 and x2 (rank 2),
    # the partition {0, 1} | {2, 3} too; {0, 2} | {1, 3} keeps them together (rank 1).
    k = np.arange(16)
    table = (((k >> 0) & 1) ^ ((k >> 2) & 1)).astype(np.uint8)
    assert function_rank(table, 4, "all").rank == 2
    assert function_rank(table, 4, [0, 2]).rank == 1


def test_named_functions_against_definitions():
    x = oracle_bits(6)
    assert np.array_equal(parity(6), x.sum(1) % 2)
    assert np.array_equal(mod(6, 3), (x.sum(1) % 3 == 0))
    assert np.array_equal(or_(6), x.any(1))
    assert np.array_equal(cd(6), ((x[:, :3] & x[:, 3:]).any(1)))


def oracle_bits(n: int) -> np.ndarray:
    return np.array([[(k >> i) & 1 for i in range(n)] for k in range(2**n)])


# ------------------------------------------------------------- Theorem 1
def test_or2_meets_the_bound_with_equality(examples: Path):
    (check,) = theorem1(hdlgen.load(examples / "or2.json"))
    assert check.rank == 2 and check.log2_rank == check.rhs == 1.0 and check.holds


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6))
def test_theorem1_holds_on_random_threshold_circuits(seed: int):
    c = random_circuit(seed)
    c = relu_to_threshold(c) if not c.is_threshold else c
    for check in theorem1(c, partition="all" if c.input_bits <= 8 else "natural"):
        assert check.holds, check


def test_bound_cli(capsys, examples: Path):
    assert main(["bound", str(examples / "cd8.json"), "--json", "--partition", "all"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rank"] == 15 and data["holds"] is True and data["log2_rank"] <= data["rhs"]
    assert main(["bound", str(examples / "layered.json"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["skipped_outputs"] == ["r0", "r1"] and data["outputs"][0]["kind"] == "relu"
    assert data["holds"] is None  # relu: the paper's bound is asymptotic


# -------------------------------------------------------------------- C1
@pytest.mark.parametrize(
    ("n", "e", "d", "figures"),
    [(8, 2, 2, {"s": 16, "d": 2, "e": 2, "w": 5}), (8, 2, 3, {"s": 7, "d": 3}), (14, 2, 4, {"w": 15})],
)
def test_c1_figures(n: int, e: int, d: int, figures: dict):
    c = cd_circuit(n, e, d)
    got = dict(zip("sdew", resources(c), strict=True))
    assert {k: got[k] for k in figures} == figures
    assert np.array_equal(truth_table(c), cd(n))


@pytest.mark.parametrize("n", [2, 4, 6, 8, 10, 12])
@pytest.mark.parametrize("e", [2, 3, 4])
@pytest.mark.parametrize("d", [2, 3, 4])
def test_c1_many_parameters(n: int, e: int, d: int):
    c = cd_circuit(n, e, d)
    assert np.array_equal(truth_table(c), cd(n))
    s, depth, energy_, w = resources(c)
    k = n // 2
    blocks = min((e - 1) * (d - 1), k)
    sizes = [k // blocks + (1 if i < k % blocks else 0) for i in range(blocks)]
    assert s == sum(2**b - 1 for b in sizes) + 1
    assert depth <= d and energy_ <= e
    assert w <= (max(sizes) + 1 if depth == 2 else max(sizes) * (max(sizes) + 2))
    (check,) = theorem1(c)
    assert check.holds


@pytest.mark.parametrize(
    ("n", "e", "d", "message"),
    [(7, 2, 2, "even n"), (8, 1, 2, "energy >= 2"), (8, 2, 1, "depth >= 2"), (0, 2, 2, "even n >= 2")],
)
def test_c1_impossible_parameters(capsys, tmp_path: Path, n: int, e: int, d: int, message: str):
    out = tmp_path / "c.json"
    assert main(["construct", "cd", "--n", str(n), "--energy", str(e), "--depth", str(d), "-o", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()


# -------------------------------------------------------------------- C2
@pytest.mark.parametrize(("n", "size"), [(4, 10), (6, 28), (8, 82)])
def test_c2_figures(n: int, size: int):
    c = energy1_circuit(cd(n), n)
    assert resources(c) == (size, 2, 1, 1)
    assert np.array_equal(truth_table(c), cd(n))


@pytest.mark.parametrize("function", ["parity", "mod", "or", "and"])
def test_c2_cli_any_function(tmp_path: Path, function: str):
    args = ["construct", "energy1", "--function", function, "--n", "5", "-o", str(tmp_path / "f.json")]
    assert main([*args, "--m", "3"] if function == "mod" else args) == 0
    c = hdlgen.load(tmp_path / "f.json")
    assert energy(c).value == 1
    from hdlgen.constructions import named_table

    assert np.array_equal(truth_table(c), named_table(function, 5, 3))


# -------------------------------------------------------------------- C3
def test_c3_figure():
    c = mod_circuit(12, 2, 3)
    assert resources(c) == (5, 5, 3, 13)
    assert np.array_equal(truth_table(c), mod(12, 2))


@pytest.mark.parametrize("n", [3, 6, 9, 12])
@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("e", [2, 3, 4])
def test_c3_many_parameters(n: int, m: int, e: int):
    from hdlgen.constructions.mod_energy import base

    c = mod_circuit(n, m, e)
    assert np.array_equal(truth_table(c), mod(n, m))
    r = base(n, m, e)
    assert c.size == (e - 1) * (r - 1) + 1 and energy(c).value <= e
    assert c.depth == c.size  # one chain


def test_c3_impossible():
    with pytest.raises(hdlgen.UsageError, match="energy >= 2"):
        mod_circuit(8, 2, 1)
    with pytest.raises(hdlgen.UsageError, match="m must be at least 2"):
        mod_circuit(8, 1, 3)


# -------------------------------------------------------------------- C4
def _small(s_target: int, seed: int) -> hdlgen.Circuit:
    widths = [s_target - 1, 1] if s_target > 1 else [1]
    return random_layered(5, widths, fan_in=3, seed=seed)


@pytest.mark.parametrize(("s", "e", "s_new", "d_max"), [(4, 2, 17, 5), (5, 3, 31, 7)])
def test_c4_figures(s: int, e: int, s_new: int, d_max: int):
    for seed in range(400):
        c = _small(s, seed)
        if energy(c).value == e:
            break
    else:
        pytest.fail("no circuit with the wanted energy")
    u = unt_circuit(c)
    assert u.size == s_new and u.depth <= d_max
    X = enumerate_inputs(c, 0, 2**c.input_bits)
    assert np.array_equal(u.evaluate(X), c.evaluate(X))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_c4_on_random_threshold_circuits(seed: int):
    c = random_circuit(seed, max_gates=6)
    if not c.is_threshold:
        c = relu_to_threshold(c)
    e = energy(c).value
    u = unt_circuit(c, e)
    extra = sum(1 for o in c.outputs if o in {g.name for g in c.gates}) - 1
    assert u.size == 2 * e * c.size + 1 + max(0, extra)
    assert u.depth <= 2 * e + 1
    X = enumerate_inputs(c, 0, 2**c.input_bits)
    assert np.array_equal(u.evaluate(X), c.evaluate(X))


def test_c4_rounds_fit_their_levels():
    # Round k's a-gates fit level 2k - 1 and its b-gates level 2k (odd and even slots of the
    # round schedule; a gate that reads no earlier round sits lower).
    c = cd_circuit(6, 2, 2)
    u = unt_circuit(c)
    for g in u.gates:
        if g.name[0] in "ab" and g.name[1].isdigit():
            k = int(g.name[1 : g.name.index("_")])
            assert u.level(g.name) <= (2 * k - 1 if g.name[0] == "a" else 2 * k)


# -------------------------------------------------------------------- C5
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6))
def test_c5_preserves_values(seed: int):
    c = random_circuit(seed)
    t = relu_to_threshold(c)
    assert t.is_threshold
    X = enumerate_inputs(c, 0, 2**c.input_bits)
    y, yt = c.evaluate(X), t.evaluate(X)
    col = 0
    for j, o in enumerate(c.outputs):
        b = c.signal_bits(o)
        assert np.array_equal(sum(yt[:, col + i] << i for i in range(b)), y[:, j])
        col += b
    relu_bits = max([g.bits for g in c.gates if g.kind == "relu"], default=1)
    assert t.size <= c.size * relu_bits and t.depth <= c.depth * relu_bits
    assert energy(t).value <= oracle.energy(c) * relu_bits


def test_c5_output_names(examples: Path):
    t = relu_to_threshold(hdlgen.load(examples / "layered.json"))
    assert t.outputs == ["y", "r0_b0", "r0_b1", "r0_b2", "r1_b0", "r1_b1"]
