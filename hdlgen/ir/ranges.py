"""Gate semantics as intervals: the reachable range of every gate's sum and value.

Inputs range over ``[0, 2**bits - 1]``. A gate's sum range is the sum of
``w * [lo, hi]`` over its inputs; its value range follows from the
threshold and, for relu gates, the clamp (the semantics of docs/circuit-format.md). The
bounds are sound (every reachable value lies inside) but need not be tight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hdlgen.errors import CircuitError

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Gate, Input

__all__ = ["MAX_SUM", "ValueRange", "propagate_ranges"]

#: Largest magnitude a weighted sum may reach: evaluation is exact in int64.
MAX_SUM = 2**62


@dataclass(frozen=True)
class ValueRange:
    """Reachable interval of a gate's weighted sum and of its output value (integers, inclusive)."""

    sum_lo: int
    sum_hi: int
    lo: int
    hi: int


def propagate_ranges(inputs: Iterable[Input], gates: Iterable[Gate]) -> dict[str, ValueRange]:
    """Interval bounds of every gate's sum and value, propagated in the given order.

    Parameters
    ----------
    inputs : iterable of Input
        The circuit's inputs.
    gates : iterable of Gate
        The gates in a topological order (every gate after the gates it reads).

    Returns
    -------
    dict of str to ValueRange
        One entry per gate, by name.

    Raises
    ------
    CircuitError
        When a sum or threshold could exceed the range hdlgen evaluates
        exactly (``|x| <= 2**62``).
    """
    ranges: dict[str, tuple[int, int]] = {i.name: (0, i.max_value) for i in inputs}
    out: dict[str, ValueRange] = {}
    for g in gates:
        lo = hi = 0
        for src, w in zip(g.inputs, g.weights, strict=True):
            a, b = ranges[src]
            if w >= 0:
                lo += w * a
                hi += w * b
            else:
                lo += w * b
                hi += w * a
        if max(abs(lo), abs(hi), abs(g.threshold), abs(hi - g.threshold), abs(lo - g.threshold)) > MAX_SUM:
            raise CircuitError(
                f"gate '{g.name}': its weighted sum can reach {max(abs(lo), abs(hi))} against threshold "
                f"{g.threshold}, beyond the 2**62 range hdlgen evaluates exactly"
            )
        if g.kind == "threshold":
            vlo, vhi = int(lo >= g.threshold), int(hi >= g.threshold)
        else:
            cap = g.max_value
            vlo = min(max(0, lo - g.threshold), cap)
            vhi = min(max(0, hi - g.threshold), cap)
        ranges[g.name] = (vlo, vhi)
        out[g.name] = ValueRange(lo, hi, vlo, vhi)
    return out
