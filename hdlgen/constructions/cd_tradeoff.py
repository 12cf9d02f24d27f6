"""C1: CD_n at any energy e >= 2 and depth d >= 2 (docs/theory.md, construction C1).

Pairs ``(x_i, y_i) = (x_i, x_{n/2+i})``, ``k = n/2``. The ``k`` pairs are split
into ``min((e-1)(d-1), k)`` blocks (sizes as equal as possible, larger first),
arranged into at most ``e - 1`` chains of at most ``d - 1`` consecutive blocks.
A block of ``b`` pairs has one gate per nonzero pattern ``a`` in ``{0,1}^b``:
weight ``+(b+1)`` on ``x_i`` where ``a_i = 1``, ``-(b+1)`` where ``a_i = 0``,
``+1`` on ``y_i`` where ``a_i = 1``, threshold ``(b+1)|a| + 1``: it fires iff
``x`` restricted to the block equals ``a`` and some pair of the block is
``(1, 1)``. A gate also gets ``-(b'+2)|a'|`` from every gate of the earlier
blocks of its chain, so only the first firing block of a chain fires. The
output ORs every gate.

Resources: ``s = sum(2**b - 1) + 1``; depth = longest chain + 1 (``<= d``);
energy ``<= e``; weight ``b + 1`` with one block per chain, else up to
``b(b+2)``.
"""

from __future__ import annotations

from hdlgen.errors import UsageError
from hdlgen.ir.circuit import Circuit

__all__ = ["cd_circuit", "split"]


def split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` sizes as equal as possible, larger first."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def cd_circuit(n: int, energy: int, depth: int) -> Circuit:
    """A threshold circuit computing CD_n with energy <= ``energy`` and depth <= ``depth``.

    Raises
    ------
    UsageError
        For odd ``n``, ``n < 2``, ``energy < 2`` or ``depth < 2``.
    """
    if n < 2 or n % 2:
        raise UsageError(f"CD_n needs an even n >= 2, not {n}")
    if energy < 2:
        raise UsageError(f"construction C1 needs energy >= 2, not {energy} (use 'construct energy1' for energy 1)")
    if depth < 2:
        raise UsageError(f"construction C1 needs depth >= 2, not {depth}")
    k = n // 2
    n_blocks = min((energy - 1) * (depth - 1), k)
    sizes = split(k, n_blocks)
    chains = split(n_blocks, min(energy - 1, n_blocks))
    c = Circuit(
        f"cd{n}_e{energy}_d{depth}",
        meta={"construction": "C1", "function": "cd", "n": n, "energy": energy, "depth": depth},
    )
    xs = c.add_inputs("x", n)
    all_gates: list[str] = []
    start = 0
    block = 0
    for chain, length in enumerate(chains):
        earlier: list[tuple[str, int]] = []  # gates of earlier blocks in this chain, with their inhibition
        for _ in range(length):
            b = sizes[block]
            pairs = list(range(start, start + b))
            current = []
            for pattern in range(1, 1 << b):
                a = [(pattern >> j) & 1 for j in range(b)]
                ones = sum(a)
                inputs, weights = [], []
                for j, i in enumerate(pairs):
                    inputs.append(xs[i])
                    weights.append(b + 1 if a[j] else -(b + 1))
                for j, i in enumerate(pairs):
                    if a[j]:
                        inputs.append(xs[k + i])
                        weights.append(1)
                for g, inhibit in earlier:
                    inputs.append(g)
                    weights.append(-inhibit)
                name = c.add_gate(f"c{chain}_b{block}_p{pattern}", inputs, weights, threshold=(b + 1) * ones + 1)
                current.append((name, (b + 2) * ones))
            earlier += current
            all_gates += [g for g, _ in current]
            start += b
            block += 1
    c.add_gate("cd", all_gates, [1] * len(all_gates), threshold=1)
    c.add_output("cd")
    return c.validate()
