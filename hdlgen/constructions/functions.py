"""Named Boolean functions as truth tables: CD_n, MOD_m, PARITY, OR, AND.

A truth table has ``2**n`` entries; entry ``k`` is ``f(x)`` with ``x_i`` bit
``i`` of ``k`` (variable 0 is the least significant bit, like ``i_data``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hdlgen.errors import UsageError

__all__ = ["FUNCTIONS", "and_", "bits_of", "cd", "mod", "named_table", "or_", "parity"]


def bits_of(n: int) -> np.ndarray:
    """All inputs of ``n`` variables as a ``(2**n, n)`` 0/1 array."""
    k = np.arange(1 << n, dtype=np.int64)
    return ((k[:, None] >> np.arange(n)) & 1).astype(np.int64)


def _check_n(n: int, even: bool = False) -> None:
    if n < 1:
        raise UsageError(f"n must be at least 1, not {n}")
    if even and n % 2:
        raise UsageError(f"n must be even for CD_n, not {n}")
    if n > 26:
        raise UsageError(f"truth tables of {n} variables are too large (at most 26)")


def cd(n: int) -> np.ndarray:
    """``CD_n(x) = OR_{i < n/2} (x_i AND x_{n/2 + i})``: complement of disjointness."""
    _check_n(n, even=True)
    k = np.arange(1 << n, dtype=np.int64)
    half = n // 2
    return (((k & ((1 << half) - 1)) & (k >> half)) != 0).astype(np.uint8)


def mod(n: int, m: int) -> np.ndarray:
    """``MOD_m(x) = 1`` iff ``sum(x)`` is divisible by ``m``."""
    _check_n(n)
    if m < 2:
        raise UsageError(f"m must be at least 2, not {m}")
    return (bits_of(n).sum(axis=1) % m == 0).astype(np.uint8)


def parity(n: int) -> np.ndarray:
    """``PARITY(x) = sum(x) mod 2``."""
    _check_n(n)
    return (bits_of(n).sum(axis=1) % 2).astype(np.uint8)


def or_(n: int) -> np.ndarray:
    """OR of ``n`` variables."""
    _check_n(n)
    t = np.ones(1 << n, dtype=np.uint8)
    t[0] = 0
    return t


def and_(n: int) -> np.ndarray:
    """AND of ``n`` variables."""
    _check_n(n)
    t = np.zeros(1 << n, dtype=np.uint8)
    t[-1] = 1
    return t


FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {"cd": cd, "mod": mod, "parity": parity, "or": or_, "and": and_}


def named_table(name: str, n: int, m: int | None = None) -> np.ndarray:
    """The truth table of a named function (``m`` for ``mod``)."""
    if name not in FUNCTIONS:
        raise UsageError(f"unknown function {name!r}: choose one of {', '.join(FUNCTIONS)}")
    if name == "mod":
        if m is None:
            raise UsageError("mod needs m")
        return mod(n, m)
    return FUNCTIONS[name](n)
