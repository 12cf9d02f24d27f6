"""C2: any Boolean function at energy 1 (docs/theory.md, construction C2).

One detector per zero ``a`` of ``f``: weight ``+1`` where ``a_i = 1``, ``-1``
where ``a_i = 0``, threshold ``|a|`` (fires iff ``x = a``). The output has
weight ``-1`` from every detector and threshold 0. At most one gate fires on
any input: ``s = |f^{-1}(0)| + 1``, ``d = 2`` (1 when ``f`` has no zero),
``e = 1``, ``w = 1``.
"""

from __future__ import annotations

import numpy as np

from hdlgen.errors import CircuitError
from hdlgen.ir.circuit import Circuit

__all__ = ["energy1_circuit"]


def energy1_circuit(table: np.ndarray, n: int, name: str = "f") -> Circuit:
    """An energy-1 threshold circuit for the function with truth table ``table`` (``2**n`` entries)."""
    table = np.asarray(table)
    if table.shape != (1 << n,):
        raise CircuitError(f"a truth table of {n} variables has {1 << n} entries, not {table.shape[0]}")
    if not np.isin(table, (0, 1)).all():
        raise CircuitError("a truth table must hold only 0 and 1")
    c = Circuit(name, meta={"construction": "C2", "n": n})
    xs = c.add_inputs("x", n)
    detectors = []
    for z in np.flatnonzero(table == 0):
        a = [(int(z) >> i) & 1 for i in range(n)]
        detectors.append(c.add_gate(f"z{int(z)}", xs, [1 if v else -1 for v in a], threshold=sum(a)))
    c.add_gate("out", detectors, [-1] * len(detectors), threshold=0)
    c.add_output("out")
    return c.validate()
