"""An independent, deliberately plain evaluator: the tests' oracle."""

from __future__ import annotations

import itertools

from hdlgen.ir.circuit import Circuit


def gate_values(circuit: Circuit, vector: list[int]) -> dict[str, int]:
    """Every signal's value for one input vector, by repeated relaxation (no topological sort)."""
    values = {inp.name: int(v) for inp, v in zip(circuit.inputs, vector, strict=True)}
    remaining = list(circuit.gates)
    while remaining:
        left = []
        for g in remaining:
            if all(s in values for s in g.inputs):
                s = sum(w * values[i] for i, w in zip(g.inputs, g.weights, strict=True))
                if g.kind == "threshold":
                    values[g.name] = 1 if s >= g.threshold else 0
                else:
                    values[g.name] = min(max(0, s - g.threshold), 2**g.bits - 1)
            else:
                left.append(g)
        assert len(left) < len(remaining), "cycle"
        remaining = left
    return values


def evaluate(circuit: Circuit, vector: list[int]) -> tuple[list[int], int]:
    """Outputs and number of firing gates for one vector."""
    v = gate_values(circuit, vector)
    return [v[o] for o in circuit.outputs], sum(1 for g in circuit.gates if v[g.name] != 0)


def all_vectors(circuit: Circuit):
    return itertools.product(*[range(2**i.bits) for i in circuit.inputs])


def energy(circuit: Circuit) -> int:
    """Energy by brute force over every input vector."""
    return max(evaluate(circuit, list(x))[1] for x in all_vectors(circuit))
