"""C4: the energy-to-depth transform of a threshold circuit (docs/theory.md, construction C4).

A threshold circuit ``C`` of size ``s`` and energy ``e`` becomes an
equivalent circuit of depth at most ``2e + 1`` and size ``2es + 1`` (one more
gate per further output). Gates of ``C`` in topological order ``g_1 .. g_s``;
in round ``k = 1 .. e``, for every gate ``i``:

- ``a_{k,i}`` evaluates ``g_i`` with each gate input ``g_j`` replaced by "``g_j``
  was identified in an earlier round" (the sum of ``b_{k',j}``, ``k' < k``);
- ``b_{k,i}`` fires iff ``a_{k,i} = 1``, ``g_i`` was not identified before, and
  no earlier ``j < i`` has ``a_{k,j} = 1`` without having been identified
  (weights ``+1`` on ``a_{k,i}``, ``-1`` on each ``b_{k',i}``, ``-1`` on each
  ``a_{k,j}``, ``+1`` on each ``b_{k',j}`` for ``j < i``; threshold 1).

Round ``k`` identifies the ``k``-th firing gate of ``C`` in topological order.
Each output gate becomes the OR of its ``b_{k,out}`` over ``k``, under its
original name. ``a``-gates sit at odd levels, ``b``-gates at even ones.
"""

from __future__ import annotations

from hdlgen.errors import CircuitError
from hdlgen.ir.circuit import Circuit

__all__ = ["unt_circuit"]


def unt_circuit(circuit: Circuit, energy: int | None = None) -> Circuit:
    """The energy-to-depth transform of a threshold circuit.

    Parameters
    ----------
    circuit : Circuit
        A threshold circuit (no relu gates).
    energy : int, optional
        Its energy (computed exactly when not given).
    """
    circuit.validate()
    if not circuit.is_threshold:
        raise CircuitError("the energy-to-depth transform needs a threshold circuit (convert relu gates first)")
    if energy is None:
        from hdlgen.analysis import energy as exact_energy

        result = exact_energy(circuit)
        energy = result.value
    order = circuit.topological_gates
    gate_names = {g.name for g in order}
    out = Circuit(f"{circuit.name}_unt", meta={"construction": "C4", "source": circuit.name, "energy": energy})
    for inp in circuit.inputs:
        out.add_input(inp.name, inp.bits)
    used = {i.name for i in circuit.inputs} | set(circuit.outputs)

    def fresh(name: str) -> str:
        while name in used:
            name += "_"
        used.add(name)
        return name

    a: dict[tuple[int, int], str] = {}
    b: dict[tuple[int, int], str] = {}
    for k in range(1, energy + 1):
        for i, g in enumerate(order):
            inputs, weights = [], []
            for src, w in zip(g.inputs, g.weights, strict=True):
                if src in gate_names:
                    j = next(jj for jj, gg in enumerate(order) if gg.name == src)
                    for kk in range(1, k):
                        inputs.append(b[(kk, j)])
                        weights.append(w)
                else:
                    inputs.append(src)
                    weights.append(w)
            a[(k, i)] = out.add_gate(fresh(f"a{k}_{g.name}"), inputs, weights, threshold=g.threshold)
        for i, g in enumerate(order):
            inputs, weights = [a[(k, i)]], [1]
            for kk in range(1, k):
                inputs.append(b[(kk, i)])
                weights.append(-1)
            for j in range(i):
                inputs.append(a[(k, j)])
                weights.append(-1)
                for kk in range(1, k):
                    inputs.append(b[(kk, j)])
                    weights.append(1)
            b[(k, i)] = out.add_gate(fresh(f"b{k}_{g.name}"), inputs, weights, threshold=1)
    for name in circuit.outputs:
        if name in gate_names:
            i = next(ii for ii, gg in enumerate(order) if gg.name == name)
            srcs = [b[(k, i)] for k in range(1, energy + 1)]
            if name not in out._names:
                out._claim(name, f"gate '{name}'")
                out.gates.append(
                    __import__("hdlgen.ir.circuit", fromlist=["Gate"]).Gate(
                        name, "threshold", tuple(srcs), tuple([1] * len(srcs)), 1
                    )
                )
        out.add_output(name)
    return out.validate()
