"""Gate units: the combinational datapath of one threshold or relu gate."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed

from hdlgen.hdl.arith import GROUP, Term, build_sum
from hdlgen.ir.circuit import Gate

__all__ = ["unit_logic"]


#: Threshold gates with at most this many operand bits become one truth table.
TRUTH_TABLE_BITS = 8


def _truth_table(gate: Gate, operands: Sequence[Value]) -> Value:
    widths = [len(v) for v in operands]
    table = 0
    for a in range(1 << sum(widths)):
        s, pos = 0, 0
        for w, b in zip(gate.weights, widths, strict=True):
            s += w * ((a >> pos) & ((1 << b) - 1))
            pos += b
        table |= int(s >= gate.threshold) << a
    return Const(table, 1 << sum(widths)).bit_select(Cat(*operands), 1)


def unit_logic(
    m: Module,
    prefix: str | Callable[[str], str],
    gate: Gate,
    operands: Sequence[Value],
    group: int = GROUP,
    cut: Callable[[Value], Value] | None = None,
) -> Value:
    """Add a gate's combinational datapath to ``m`` and return its value.

    Parameters
    ----------
    m : Module
        Where the logic goes.
    prefix : str or callable
        Prefix of the generated signal names, or a function from a suffix to
        a unique name (the top uses the gate's name,
        so that a waveform reads like the circuit file).
    gate : Gate
    operands : sequence of Value
        The gate's inputs, in the gate's input order.
    group : int
        One-bit operands per lookup table (see :mod:`hdlgen.hdl.arith`).
    cut : callable, optional
        A pipeline cut (see :func:`hdlgen.hdl.arith.build_sum`): the gate's
        datapath is split into two clock stages; a gate that is one truth
        table (or a constant) is computed in the first stage and registered.
    """
    terms = [Term(v, len(v), w) for v, w in zip(operands, gate.weights, strict=True)]
    total_bits = sum(len(v) for v in operands)
    if gate.kind == "threshold" and 0 < total_bits <= TRUTH_TABLE_BITS:
        # Few operand bits: the whole gate is one truth table (a LUT or a few).
        value = _truth_table(gate, operands)
        return cut(value) if cut is not None else value
    if gate.kind == "threshold":
        # S >= t  <=>  U >= bound. Adding 2**k - bound (k: width of U) makes the
        # comparison the carry out of the adder tree: bit k of U + 2**k - bound.
        # U = S - min(S) whatever the grouping, so its range is known up front.
        s_min = sum(t.weight * ((1 << t.bits) - 1) for t in terms if t.weight < 0)
        s_max = sum(t.weight * ((1 << t.bits) - 1) for t in terms if t.weight > 0)
        bound = gate.threshold - s_min
        if bound <= 0:
            return Const(1, 1)
        if bound > s_max - s_min:
            return Const(0, 1)
        k = (s_max - s_min).bit_length()
        s = build_sum(m, prefix, terms, group, bias=(1 << k) - bound, cut=cut)
        assert s.max_value < 1 << (k + 1)
        return s.value.as_unsigned()[k] if len(s.value) > k else Const(0, 1)
    s = build_sum(m, prefix, terms, group, cut=cut)
    bound = gate.threshold - s.offset  # S - t = U - bound
    cap = gate.max_value
    lo, hi = -bound, s.max_value - bound
    if hi <= 0:
        return Const(0, gate.bits)
    if lo >= cap:
        return Const(cap, gate.bits)
    diff = Signal(
        signed(max(abs(lo), abs(hi)).bit_length() + 1), name=prefix("diff") if callable(prefix) else f"{prefix}_diff"
    )
    m.d.comb += diff.eq(s.value - bound)
    return Mux(diff <= 0, 0, Mux(diff >= cap, cap, diff[: gate.bits]))
