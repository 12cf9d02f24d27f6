"""C5: a relu circuit as a threshold circuit (docs/theory.md, construction C5).

Each ``b``-bit relu gate becomes ``b`` threshold gates that compute its bits,
most significant first: bit ``j`` fires iff
``S - t - sum_{i > j} 2**i bit_i >= 2**j``, which also gives the saturated
value. Consumers weight bit ``j`` by ``2**j``. Size, depth and energy grow by
at most a factor ``b``, weight by ``2**(b-1)``. Each ``b``-bit output becomes
``b`` outputs ``<name>_b0 .. <name>_b{b-1}``, least significant first.
"""

from __future__ import annotations

from hdlgen.ir.circuit import Circuit

__all__ = ["relu_to_threshold"]


def relu_to_threshold(circuit: Circuit) -> Circuit:
    """An equivalent threshold circuit (bit-level outputs for relu outputs)."""
    circuit.validate()
    out = Circuit(f"{circuit.name}_threshold", meta={"construction": "C5", "source": circuit.name})
    for inp in circuit.inputs:
        out.add_input(inp.name, inp.bits)
    relu = {g.name: g for g in circuit.gates if g.kind == "relu"}
    used = {i.name for i in circuit.inputs} | {g.name for g in circuit.gates if g.kind == "threshold"}

    def bit_name(name: str, j: int) -> str:
        return f"{name}_b{j}"

    for g in circuit.topological_gates:
        inputs: list[str] = []
        weights: list[int] = []
        for src, w in zip(g.inputs, g.weights, strict=True):
            if src in relu:
                for j in range(relu[src].bits):
                    inputs.append(bit_name(src, j))
                    weights.append(w << j)
            else:
                inputs.append(src)
                weights.append(w)
        if g.kind == "threshold":
            out.add_gate(g.name, inputs, weights, g.threshold)
            continue
        for j in range(g.bits - 1, -1, -1):
            higher = [bit_name(g.name, i) for i in range(g.bits - 1, j, -1)]
            name = bit_name(g.name, j)
            if name in used:
                raise ValueError(f"gate name {name!r} is already taken")
            used.add(name)
            out.add_gate(
                name,
                [*inputs, *higher],
                [*weights, *(-(1 << i) for i in range(g.bits - 1, j, -1))],
                g.threshold + (1 << j),
            )
    for o in circuit.outputs:
        if o in relu:
            out.add_output(*(bit_name(o, j) for j in range(relu[o].bits)))
        else:
            out.add_output(o)
    return out.validate()
