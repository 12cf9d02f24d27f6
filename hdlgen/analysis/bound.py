"""Theorem 1 of Uchizawa and Abe (2024): the energy-depth trade-off.

If a threshold circuit of size ``s``, depth ``d``, energy ``e`` and weight
``w`` computes ``f: {0,1}^n -> {0,1}``, then

    log2 rk(f) <= e * d * (log2 s + log2 w + log2 n).

Equality can occur (OR of two variables), so the check is ``<=`` with a small
tolerance. For discretized ReLU circuits the paper proves
``log rk(f) = O(e d (log s + log w + log n)^3)``, an asymptotic statement:
hdlgen reports that right-hand side without a constant and does not judge it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from hdlgen.analysis.exact_energy import Method, energy
from hdlgen.analysis.rank import function_rank, truth_table

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = ["TOLERANCE", "BoundCheck", "theorem1"]

TOLERANCE = 1e-9


@dataclass(frozen=True)
class BoundCheck:
    """Theorem 1 for one output of a circuit (measured on the output's cone).

    Attributes
    ----------
    output : str
    rank : int
        ``rk(f)`` over the partitions searched.
    log2_rank : float
        The left-hand side.
    rhs : float
        ``e * d * (log2 s + log2 w + log2 n)`` for threshold circuits;
        ``e * d * (log2 s + log2 w + log2 n) ** 3`` for circuits with relu gates.
    holds : bool or None
        ``log2_rank <= rhs`` for threshold circuits; None for relu circuits
        (the paper's statement is asymptotic).
    slack : float
        ``rhs - log2_rank``.
    """

    output: str
    kind: str
    rank: int
    log2_rank: float
    rhs: float
    holds: bool | None
    slack: float
    size: int
    depth: int
    energy: int
    energy_exact: bool
    weight: int
    n: int
    partition: str
    partition_rows: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def _log2(x: int) -> float:
    return math.log2(x) if x > 1 else 0.0


def theorem1(
    circuit: Circuit,
    partition: str = "natural",
    energy_method: Method = "auto",
    time_limit: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[BoundCheck]:
    """Check Theorem 1 on every Boolean (1-bit) output of ``circuit``.

    Multi-bit outputs are left out. Each output is judged on its cone (the gates it depends on), over all the
    circuit's input bits (``n`` counts input bits).
    """
    from hdlgen.errors import CircuitError

    out = []
    n = circuit.input_bits
    boolean = [o for o in circuit.outputs if circuit.signal_bits(o) == 1]
    if not boolean:
        raise CircuitError("Theorem 1 is about Boolean functions, and no output of this circuit has 1 bit")
    for name in boolean:
        cone = circuit.cone(name)
        table = truth_table(cone, 0)
        r = function_rank(table, n, partition, progress=progress)
        kind = "threshold" if cone.is_threshold else "relu"
        e = energy(cone, method=energy_method, time_limit=time_limit)
        # An unproven energy is a lower bound: use the upper bound, which keeps the check sound.
        e_value = e.bounds[1]
        base = _log2(cone.size) + _log2(max(cone.weight, 1)) + _log2(n)
        rhs = e_value * cone.depth * (base if kind == "threshold" else base**3)
        lhs = _log2(r.rank) if r.rank > 0 else 0.0
        holds = lhs <= rhs + TOLERANCE if kind == "threshold" else None
        out.append(
            BoundCheck(
                output=name,
                kind=kind,
                rank=r.rank,
                log2_rank=lhs,
                rhs=rhs,
                holds=holds,
                slack=rhs - lhs,
                size=cone.size,
                depth=cone.depth,
                energy=e_value,
                energy_exact=e.exact,
                weight=cone.weight,
                n=n,
                partition=partition,
                partition_rows=r.partition,
            )
        )
    return out
