"""Constant-coefficient weighted sums that map well to LUT4 fabrics.

A gate computes ``S = sum(w_i * x_i)`` with constant integer weights. The
sum is rewritten as ``S = U + offset`` with ``U`` unsigned:

- one-bit operands are taken in groups of up to four; each group becomes a
  16-entry table of its partial sum minus the group's minimum (one LUT4 per
  output bit), the minimum going into ``offset``;
- a multi-bit operand ``x`` (``b`` bits) with weight ``w < 0`` becomes
  ``|w| * ~x`` (``~x = 2**b - 1 - x``), the constant going into ``offset``;
- the unsigned terms are added in a balanced tree, narrowest first, each
  adder exactly as wide as its result can be.

Whatever the grouping, ``U = S - min(S)`` ranges over ``[0, max(S) - min(S)]``.
A threshold gate adds the constant ``2**k - (t - min(S))`` (``k`` the width
of ``U``) into the first table, so that ``S >= t`` is bit ``k`` of the sum:
the carry out of the adder tree, with no comparator. A relu gate compares
``U`` with constants for its clamp.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count

from amaranth.hdl import Cat, Const, Module, Signal, Value

__all__ = ["Term", "UnsignedSum", "build_sum"]

GROUP = 4


@dataclass(frozen=True)
class Term:
    """One operand of a weighted sum: a signal of ``bits`` bits and its weight."""

    value: Value
    bits: int
    weight: int


@dataclass(frozen=True)
class UnsignedSum:
    """``S = value + offset`` with ``value`` unsigned in ``[0, max_value]``."""

    value: Value
    max_value: int
    offset: int


def build_sum(
    m: Module, prefix: str | Callable[[str], str], terms: Sequence[Term], group: int = GROUP, bias: int = 0
) -> UnsignedSum:
    """Add the combinational logic of ``sum(w_i * x_i)`` to ``m``.

    Parameters
    ----------
    m : Module
        Where the logic goes (combinational domain).
    prefix : str or callable
        Name prefix of the generated signals (the gate's name), or a function
        from a suffix to a unique name.
    terms : sequence of Term
        Operands; zero weights are dropped.
    group : int
        One-bit operands per lookup table (1 disables the tables).
    bias : int
        A non-negative constant added to ``value`` (folded into the first
        lookup table when there is one, so it costs no adder).
    """
    if bias < 0:
        raise ValueError(f"bias must be non-negative, not {bias}")
    name = prefix if callable(prefix) else (lambda suffix: f"{prefix}_{suffix}")
    terms = [t for t in terms if t.weight != 0]
    offset = 0
    parts: list[tuple[int, int, Value]] = []  # (max value, tie-break, value)
    tie = count()
    ones = [t for t in terms if t.bits == 1]
    wide = [t for t in terms if t.bits > 1]
    for k in range(0, len(ones), group):
        chunk = ones[k : k + group]
        if len(chunk) == 1:  # a lone bit is cheaper as a plain term
            wide.append(chunk[0])
            continue
        weights = [t.weight for t in chunk]
        table = [sum(w for j, w in enumerate(weights) if a >> j & 1) for a in range(1 << len(chunk))]
        low = min(table)
        offset += low
        table = [v - low + bias for v in table]
        offset -= bias
        bias = 0
        top = max(table)
        sig = Signal(range(top + 1), name=name(f"t{k // group}"))
        width = len(sig)
        packed = Const(sum(v << (width * a) for a, v in enumerate(table)), width * len(table))
        m.d.comb += sig.eq(packed.word_select(Cat(*(t.value for t in chunk)), width))
        parts.append((top, next(tie), sig))
    for t in wide:
        mag = abs(t.weight)
        top = mag * ((1 << t.bits) - 1)
        if t.weight > 0:
            parts.append((top, next(tie), t.value * mag if mag != 1 else t.value))
        else:
            offset -= top
            parts.append((top, next(tie), (~t.value).as_unsigned() * mag if mag != 1 else (~t.value).as_unsigned()))
    if bias:
        parts.append((bias, next(tie), Const(bias)))
        offset -= bias
    if not parts:
        return UnsignedSum(Const(0, 1), 0, offset)
    heapq.heapify(parts)
    n = count()
    while len(parts) > 1:
        a_top, _, a = heapq.heappop(parts)
        b_top, _, b = heapq.heappop(parts)
        top = a_top + b_top
        sig = Signal(range(top + 1), name=name(f"s{next(n)}"))
        m.d.comb += sig.eq(a + b)
        heapq.heappush(parts, (top, next(tie), sig))
    top, _, value = parts[0]
    return UnsignedSum(value, top, offset)
