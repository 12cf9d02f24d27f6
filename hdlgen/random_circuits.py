"""Random circuits for tests, property tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hdlgen.ir.circuit import Circuit
from hdlgen.ir.vectors import seeded_rng

__all__ = ["random_circuit", "random_layered"]


def random_layered(
    n_inputs: int,
    layers: Sequence[int],
    fan_in: int,
    weight: int = 7,
    seed: int = 0,
    relu_fraction: float = 0.0,
    relu_bits: int = 3,
    input_bits: Sequence[int] | None = None,
    skip: bool = False,
    name: str = "random",
) -> Circuit:
    """A layered circuit with random sparse integer weights.

    Parameters
    ----------
    n_inputs : int
        Number of circuit inputs.
    layers : sequence of int
        Gates per layer.
    fan_in : int
        Inputs per gate (fewer when the previous layer is smaller).
    weight : int
        Weights are drawn from ``[-weight, weight]`` without zero.
    seed : int
        Seed of the random generator.
    relu_fraction : float
        Probability that a gate is a relu gate (of ``relu_bits`` bits).
    input_bits : sequence of int, optional
        Width of each input (default: all 1).
    skip : bool
        When true, a gate may also read any earlier layer or the inputs.
    name : str
        The circuit's name.

    Returns
    -------
    Circuit
        Every gate of the last layer is an output. Thresholds are drawn near
        the middle of each gate's sum range so that gates fire on some
        inputs and not on others.
    """
    rng = seeded_rng(seed)
    c = Circuit(name)
    bits = list(input_bits) if input_bits is not None else [1] * n_inputs
    prev = [c.add_input(f"x{i}", bits[i]) for i in range(n_inputs)]
    maxval = {n: (1 << b) - 1 for n, b in zip(prev, bits, strict=True)}
    pool = list(prev)
    for li, width in enumerate(layers):
        cur = []
        for j in range(width):
            cands = pool if skip else prev
            k = min(fan_in, len(cands))
            srcs = [cands[i] for i in sorted(rng.choice(len(cands), size=k, replace=False))]
            if skip and prev and not any(s in prev for s in srcs):
                srcs[-1] = prev[int(rng.integers(len(prev)))]
                srcs = list(dict.fromkeys(srcs))
            w = rng.integers(1, weight + 1, size=len(srcs)) * rng.choice([-1, 1], size=len(srcs))
            lo = sum(int(wi) * maxval[s] for s, wi in zip(srcs, w, strict=True) if wi < 0)
            hi = sum(int(wi) * maxval[s] for s, wi in zip(srcs, w, strict=True) if wi > 0)
            mid = (lo + hi) / 2
            t = int(rng.integers(int(np.floor(mid - (hi - lo) / 4)), int(np.ceil(mid + (hi - lo) / 4)) + 1))
            name_ = f"l{li}_{j}"
            if rng.random() < relu_fraction:
                c.add_gate(name_, srcs, [int(v) for v in w], max(t, lo), kind="relu", bits=relu_bits)
                maxval[name_] = (1 << relu_bits) - 1
            else:
                c.add_gate(name_, srcs, [int(v) for v in w], t)
                maxval[name_] = 1
            cur.append(name_)
        pool += cur
        prev = cur
    c.add_output(*prev)
    return c.validate()


def random_circuit(seed: int, max_inputs: int = 6, max_gates: int = 8) -> Circuit:
    """A small random circuit of any shape: relu gates, multi-bit inputs, skips.

    Small enough to evaluate exhaustively; used by property tests.
    """
    rng = seeded_rng(seed)
    n = int(rng.integers(1, max_inputs + 1))
    bits = [int(b) for b in rng.choice([1, 1, 1, 2, 3], size=n)]
    while sum(bits) > 10:
        bits[int(np.argmax(bits))] -= 1
    n_layers = int(rng.integers(1, 4))
    total = int(rng.integers(1, max_gates + 1))
    sizes = [1] * n_layers
    for _ in range(max(0, total - n_layers)):
        sizes[int(rng.integers(n_layers))] += 1
    return random_layered(
        n,
        sizes,
        fan_in=int(rng.integers(1, 5)),
        weight=int(rng.integers(1, 6)),
        seed=seed,
        relu_fraction=float(rng.choice([0.0, 0.3, 0.7])),
        relu_bits=int(rng.integers(1, 4)),
        input_bits=bits,
        skip=bool(rng.integers(2)),
        name=f"rand{seed}",
    )
