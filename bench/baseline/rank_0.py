"""Communication matrices and their exact rank; Theorem 1 of Uchizawa and Abe.

For ``f: {0,1}^n -> {0,1}`` and a partition of the variables into ``A`` and
``B``, the communication matrix is ``M[a, b] = f(a, b)``. ``rk(f)`` is the
largest rank (over the rationals) of ``M`` over all partitions.

Ranks are exact: computed over the integers by FLINT (``python-flint``'s
``fmpz_mat``), never with floating point. Duplicate rows and columns and
zero rows are removed first (they do not change the rank).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from hdlgen.errors import CircuitError

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = [
    "RankResult",
    "communication_matrix",
    "exact_rank",
    "function_rank",
    "natural_partition",
    "partitions",
    "truth_table",
]

#: Largest number of input bits whose truth table hdlgen builds.
MAX_TABLE_BITS = 26


def truth_table(circuit: Circuit, output: int | str = 0) -> np.ndarray:
    """Values of one output on all ``2**input_bits`` inputs, as ``uint8``.

    Vector ``k`` is the packed input word ``k`` (input 0 in the low bits).

    Raises
    ------
    CircuitError
        When the output is not Boolean or the table would be too large.
    """
    from hdlgen.ir.reference import Reference, enumerate_inputs

    j = circuit.outputs.index(output) if isinstance(output, str) else output
    name = circuit.outputs[j]
    if circuit.signal_bits(name) != 1:
        raise CircuitError(
            f"output '{name}' has {circuit.signal_bits(name)} bits: rank is defined for Boolean functions"
        )
    bits = circuit.input_bits
    if bits > MAX_TABLE_BITS:
        raise CircuitError(f"the truth table of {bits} input bits is too large (at most {MAX_TABLE_BITS})")
    ref = Reference(circuit)
    total = 1 << bits
    table = np.empty(total, dtype=np.uint8)
    step = 1 << 16
    for start in range(0, total, step):
        stop = min(total, start + step)
        table[start:stop] = ref.evaluate(enumerate_inputs(circuit, start, stop))[:, j]
    return table


def _deposit(count: int, positions: Sequence[int]) -> np.ndarray:
    """For every ``a < 2**len(positions)``: the word with bit ``i`` of ``a`` at ``positions[i]``."""
    a = np.arange(1 << len(positions), dtype=np.int64)
    out = np.zeros_like(a)
    for i, p in enumerate(positions):
        out |= ((a >> i) & 1) << p
    return out


def communication_matrix(table: np.ndarray, n: int, rows: Sequence[int]) -> np.ndarray:
    """``M[a, b] = f(a, b)``: variables ``rows`` index the rows, the others the columns."""
    if table.shape != (1 << n,):
        raise CircuitError(f"a truth table of {n} variables has {1 << n} entries, not {table.shape}")
    rows = sorted(rows)
    cols = [i for i in range(n) if i not in set(rows)]
    return table[_deposit(len(rows), rows)[:, None] | _deposit(len(cols), cols)[None, :]]


def _distinct_rows(M: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct nonzero row (exact: rows compared as bytes)."""
    if M.dtype == np.uint8 and M.size and M.max() <= 1:
        packed = np.packbits(M, axis=1)
    else:
        packed = np.ascontiguousarray(M)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1] * packed.itemsize))).ravel()
    _, first = np.unique(keys, return_index=True)
    first = np.sort(first)
    return first[M[first].any(axis=1)]


def _reduce(M: np.ndarray) -> np.ndarray:
    """``M`` without zero rows and without duplicate rows or columns (same rank)."""
    if M.size == 0:
        return M
    M = M[_distinct_rows(M)]
    if M.size == 0:
        return M
    return M[:, _distinct_rows(np.ascontiguousarray(M.T))]


def exact_rank(M: np.ndarray) -> int:
    """Rank over the rationals of an integer matrix (exact, via FLINT)."""
    import flint

    M = _reduce(np.asarray(M))
    if M.size == 0:
        return 0
    if min(M.shape) == 1:
        return 1
    flint.ctx.threads = os.cpu_count() or 1
    r, c = M.shape
    return int(flint.fmpz_mat(r, c, M.astype(np.int64).ravel().tolist()).rank())


def natural_partition(n: int) -> list[int]:
    """The first half of the variables (``floor(n / 2)`` of them)."""
    return list(range(n // 2))


def partitions(n: int) -> Iterator[list[int]]:
    """Every unordered partition ``{A, B}`` with both sides non-empty, as ``A`` (which holds variable 0)."""
    for size in range(1, n):
        for rest in combinations(range(1, n), size - 1):
            yield [0, *rest]


@dataclass(frozen=True)
class RankResult:
    """``rk(f)`` over the partitions searched, and a partition reaching it."""

    rank: int
    partition: tuple[int, ...]
    searched: int
    skipped: int


def function_rank(
    table: np.ndarray,
    n: int,
    partition: str | Sequence[int] = "natural",
    progress: Callable[[int, int], None] | None = None,
) -> RankResult:
    """The rank of ``f``'s communication matrix: one partition, or the maximum over all.

    Parameters
    ----------
    table : numpy.ndarray
        Truth table, ``2**n`` entries.
    n : int
        Number of variables.
    partition : "natural", "all" or sequence of int
        ``natural``: first half against second half. ``all``: the maximum
        over all ``2**(n-1) - 1`` partitions; a partition is skipped when
        ``min(distinct rows, distinct columns)`` cannot beat the best so far.
        A sequence: the variables that index the rows.
    progress : callable, optional
        ``progress(done, total)`` for ``all``.
    """
    if n < 1:
        return RankResult(int(table.any()), (), 1, 0)
    if partition == "natural" or not isinstance(partition, str):
        rows = natural_partition(n) if partition == "natural" else list(partition)  # type: ignore[arg-type]
        if n == 1:
            rows = [0]
        return RankResult(exact_rank(communication_matrix(table, n, rows)), tuple(rows), 1, 0)
    if partition != "all":
        raise CircuitError(f"partition must be 'natural', 'all' or a list of variables, not {partition!r}")
    if n == 1:
        return RankResult(exact_rank(table.reshape(2, 1)), (0,), 1, 0)
    best = function_rank(table, n, "natural")
    rank, where = best.rank, best.partition
    total = (1 << (n - 1)) - 1
    searched = skipped = 0
    # Larger matrices first: they are the ones that can reach a high rank.
    order = sorted(partitions(n), key=lambda a: -min(len(a), n - len(a)))
    for k, rows in enumerate(order):
        if progress is not None and k % 256 == 0:
            progress(k, total)
        if 1 << min(len(rows), n - len(rows)) <= rank:
            skipped += 1
            continue
        M = _reduce(communication_matrix(table, n, rows))
        if min(M.shape) <= rank:
            skipped += 1
            continue
        searched += 1
        r = exact_rank(M)
        if r > rank:
            rank, where = r, tuple(rows)
    if progress is not None:
        progress(total, total)
    return RankResult(rank, where, searched + 1, skipped)
