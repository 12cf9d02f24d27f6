"""Constant-coefficient weighted sums that map well to LUT4 fabrics.

A gate computes ``S = sum(w_i * x_i)`` with constant integer weights. The
sum is rewritten as ``S = U + offset`` with ``U`` unsigned:

- a multi-bit operand of at most ``SPLIT_BITS`` bits is split into its bits,
  bit ``k`` weighing ``w * 2**k`` (distributed arithmetic: the constant
  multiplication disappears into the tables below);
- one-bit operands are taken in groups of up to four; each group becomes a
  16-entry table of its partial sum minus the group's minimum (one LUT4 per
  output bit), the minimum going into ``offset``;
- a wider operand ``x`` (``b`` bits) with weight ``w < 0`` becomes
  ``|w| * ~x`` (``~x = 2**b - 1 - x``), the constant going into ``offset``;
- the unsigned terms are added in a tree of depth ``ceil(log2(terms))``:
  round by round, the two narrowest terms of the round are added first, each
  adder exactly as wide as its result can be.

Whatever the grouping, ``U = S - min(S)`` ranges over ``[0, max(S) - min(S)]``.
A threshold gate adds the constant ``2**k - (t - min(S))`` (``k`` the width
of ``U``) into the first table, so that ``S >= t`` is bit ``k`` of the sum:
the carry out of the adder tree, with no comparator. A relu gate compares
``U`` with constants for its clamp.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count

from amaranth.hdl import Cat, Const, Module, Signal, Value

__all__ = ["Term", "UnsignedSum", "build_sum"]

GROUP = 4
#: Multi-bit operands up to this width are split into bits for the tables.
SPLIT_BITS = 2


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
    m: Module,
    prefix: str | Callable[[str], str],
    terms: Sequence[Term],
    group: int = GROUP,
    bias: int = 0,
    cut: Callable[[Value], Value] | None = None,
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
    cut : callable, optional
        A pipeline cut: ``cut(v)`` returns a registered copy of ``v``. The
        terms alive halfway through the adder tree (after ``ceil(rounds / 2)``
        rounds, or the finished sum when there is a single term) pass
        through it, so the tree's depth is split between two clock stages.
    """
    if bias < 0:
        raise ValueError(f"bias must be non-negative, not {bias}")
    name = prefix if callable(prefix) else (lambda suffix: f"{prefix}_{suffix}")
    terms = [t for t in terms if t.weight != 0]
    offset = 0
    parts: list[tuple[int, int, Value]] = []  # (max value, tie-break, value)
    tie = count()
    ones: list[Term] = []
    wide: list[Term] = []
    for t in terms:
        if t.bits == 1:
            ones.append(t)
        elif t.bits <= SPLIT_BITS and group > 1:
            ones.extend(Term(t.value[k], 1, t.weight << k) for k in range(t.bits))
        else:
            wide.append(t)
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
    n = count()
    # Rounds of the tree: a round halves the number of terms (rounding up).
    rounds, k = 0, len(parts)
    while k > 1:
        k, rounds = (k + 1) // 2, rounds + 1
    cut_after = (rounds + 1) // 2
    done = 0
    if cut is not None and cut_after == 0:
        parts = [(top, t, cut(v)) for top, t, v in parts]
    while len(parts) > 1:
        # One round: pair the terms narrowest first; an odd one waits for the next round.
        parts.sort(key=lambda p: (p[0], p[1]))
        merged = [] if len(parts) % 2 == 0 else [parts.pop()]
        for (a_top, _, a), (b_top, _, b) in zip(parts[0::2], parts[1::2], strict=True):
            top = a_top + b_top
            sig = Signal(range(top + 1), name=name(f"s{next(n)}"))
            m.d.comb += sig.eq(a + b)
            merged.append((top, next(tie), sig))
        parts = merged
        done += 1
        if cut is not None and done == cut_after:
            parts = [(top, t, cut(v)) for top, t, v in parts]
    top, _, value = parts[0]
    return UnsignedSum(value, top, offset)
