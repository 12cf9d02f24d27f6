"""C3: MOD_m at energy e (docs/theory.md, construction C3).

``c = sum(x)``, ``q = floor(c / m)``; ``r`` is the least integer (>= 2) with
``r**(e-1) >= floor(n/m) + 1``, and ``q`` is written in base ``r`` with
``e - 1`` digits. For each digit ``p`` (most significant first) and value
``j = r-1 .. 1`` a gate fires iff digit ``p`` of ``q`` is ``j``: weight ``+1``
on every ``x_i``, ``-m j' r**p'`` from the gate of each more significant digit
value, ``-(n+1)`` from the gates of the same digit with larger values,
threshold ``m j r**p``. The output has ``+m j r**p`` from each digit gate,
``-1`` from every ``x_i`` and threshold 0: it fires iff ``m q >= c``, i.e.
``c mod m = 0``. At most one gate per digit fires: energy ``<= e``,
``s = (e-1)(r-1) + 1``, one chain.
"""

from __future__ import annotations

from hdlgen.errors import UsageError
from hdlgen.ir.circuit import Circuit

__all__ = ["base", "mod_circuit"]


def base(n: int, m: int, energy: int) -> int:
    """The least ``r >= 2`` with ``r**(energy - 1) >= floor(n / m) + 1``."""
    r = 2
    while r ** (energy - 1) < n // m + 1:
        r += 1
    return r


def mod_circuit(n: int, m: int, energy: int) -> Circuit:
    """A threshold circuit computing MOD_m of ``n`` inputs with energy <= ``energy``."""
    if n < 1:
        raise UsageError(f"n must be at least 1, not {n}")
    if m < 2:
        raise UsageError(f"m must be at least 2, not {m}")
    if energy < 2:
        raise UsageError(f"construction C3 needs energy >= 2, not {energy} (use 'construct energy1' for energy 1)")
    r = base(n, m, energy)
    c = Circuit(
        f"mod{m}_n{n}_e{energy}",
        meta={"construction": "C3", "function": "mod", "n": n, "m": m, "energy": energy, "base": r},
    )
    xs = c.add_inputs("x", n)
    higher: list[tuple[str, int]] = []  # gates of more significant digits, with their share m j r^p
    for p in range(energy - 2, -1, -1):
        same: list[str] = []
        for j in range(r - 1, 0, -1):
            inputs = [*xs, *(g for g, _ in higher), *same]
            weights = [1] * n + [-share for _, share in higher] + [-(n + 1)] * len(same)
            name = c.add_gate(f"d{p}_v{j}", inputs, weights, threshold=m * j * r**p)
            same.append(name)
        higher += [(g, m * int(g.split("_v")[1]) * r**p) for g in same]
    c.add_gate("mod", [*(g for g, _ in higher), *xs], [share for _, share in higher] + [-1] * n, threshold=0)
    c.add_output("mod")
    return c.validate()
