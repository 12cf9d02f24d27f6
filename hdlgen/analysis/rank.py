"""Communication matrices and their exact rank; Theorem 1 of Uchizawa and Abe.

For ``f: {0,1}^n -> {0,1}`` and a partition of the variables into ``A`` and
``B``, the communication matrix is ``M[a, b] = f(a, b)``. ``rk(f)`` is the
largest rank (over the rationals) of ``M`` over all partitions.

Ranks are exact: computed over the integers by FLINT (``python-flint``'s
``fmpz_mat``), never with floating point. Duplicate rows and columns and
zero rows are removed first (they do not change the rank).

The matrix reaches FLINT without one Python object per entry: an
``fmpz_mat`` stores each entry below ``2**62`` in magnitude as the machine
word itself, in one row-major array, so the ``int64`` buffer is copied into
that array (:func:`_fmpz_mat`). The layout is checked on a probe matrix
first; when it does not match (another python-flint), the entries go
through a Python list as before.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, cast

import numpy as np

from hdlgen.errors import CircuitError, UsageError

if TYPE_CHECKING:
    from flint import fmpz_mat

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


#: fmpz values with a magnitude below this are stored inline (FLINT's COEFF_MAX is 2**62 - 1).
_FMPZ_INLINE = 2**62


@functools.cache
def _entries_offset() -> int | None:
    """Byte offset of the ``entries`` pointer inside a python-flint ``fmpz_mat`` object, or None.

    Found and checked on probe matrices: the pointer must be followed by the
    row and column counts, point at the probe's entries, and a buffer copied
    there must read back equal through python-flint's own accessors.
    """
    import flint

    probe = flint.fmpz_mat(2, 3, [1, -2, 3, 4, 5, -6])
    base = id(probe)
    for offset in range(16, type(probe).__basicsize__ - 16, 8):
        rows = ctypes.c_int64.from_address(base + offset + 8).value
        cols = ctypes.c_int64.from_address(base + offset + 16).value
        if (rows, cols) != (2, 3):
            continue
        ptr = ctypes.c_void_p.from_address(base + offset).value
        if not ptr or list((ctypes.c_int64 * 6).from_address(ptr)) != [1, -2, 3, 4, 5, -6]:
            continue
        target = flint.fmpz_mat(3, 2)
        data = np.array([7, 0, -8, 9, 1, 2**40], dtype=np.int64)
        entries = ctypes.c_void_p.from_address(id(target) + offset).value
        if not entries:
            continue
        ctypes.memmove(entries, data.ctypes.data, data.nbytes)
        if target == flint.fmpz_mat(3, 2, data.tolist()):
            return offset
    return None


def _fmpz_mat(M: np.ndarray) -> fmpz_mat:
    """An integer matrix as a FLINT ``fmpz_mat``, copied from its buffer when the layout allows it."""
    import flint

    r, c = M.shape
    offset = _entries_offset()
    if offset is None or (M.size and max(abs(int(M.max())), abs(int(M.min()))) >= _FMPZ_INLINE):
        return flint.fmpz_mat(r, c, M.astype(np.int64).ravel().tolist())
    data = np.ascontiguousarray(M, dtype=np.int64)
    out = flint.fmpz_mat(r, c)  # zeros: inline words, nothing to free when overwritten
    entries = ctypes.c_void_p.from_address(id(out) + offset).value
    if not entries:  # an empty matrix has no buffer to copy into
        return flint.fmpz_mat(r, c, data.ravel().tolist())
    ctypes.memmove(entries, data.ctypes.data, data.nbytes)
    return out


def exact_rank(M: np.ndarray) -> int:
    """Rank over the rationals of an integer matrix (exact, via FLINT)."""
    import flint

    M = _reduce(np.asarray(M))
    if M.size == 0:
        return 0
    if min(M.shape) == 1:
        return 1
    flint.ctx.threads = os.cpu_count() or 1
    return int(_fmpz_mat(M).rank())


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
        rows = natural_partition(n) if partition == "natural" else list(cast("Sequence[int]", partition))
        if n == 1:
            rows = [0]
        return RankResult(exact_rank(communication_matrix(table, n, rows)), tuple(rows), 1, 0)
    if partition != "all":
        raise UsageError(f"partition must be 'natural', 'all' or a list of variables, not {partition!r}")
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
