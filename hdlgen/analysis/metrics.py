"""Resources of a circuit as the theory measures them (docs/theory.md, Definitions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hdlgen.analysis.exact_energy import EnergyResult, Method, Progress, energy
from hdlgen.ir.ports import latency

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = ["info", "resources"]


def resources(circuit: Circuit) -> dict[str, Any]:
    """Size, depth, weight and the other static measures (no energy).

    Returns
    -------
    dict
        ``name, n_inputs, input_bits, n_outputs, size, depth, weight,
        max_threshold, n_connections, max_fan_in, level_widths, kinds, latency``.
    """
    circuit.validate()
    return {
        "name": circuit.name,
        "n_inputs": circuit.n_inputs,
        "input_bits": circuit.input_bits,
        "n_outputs": len(circuit.outputs),
        "size": circuit.size,
        "depth": circuit.depth,
        "weight": circuit.weight,
        "max_threshold": circuit.max_threshold,
        "n_connections": circuit.n_connections,
        "max_fan_in": max((len(g.inputs) for g in circuit.gates), default=0),
        "level_widths": [len(level) for level in circuit.levels],
        "kinds": {kind: sum(1 for g in circuit.gates if g.kind == kind) for kind in ("threshold", "relu")},
        "latency": latency(circuit),
    }


def info(
    circuit: Circuit,
    method: Method = "auto",
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Everything ``hdlgen info`` reports: :func:`resources` plus the energy.

    ``energy`` is exact when ``energy_exact`` is true; otherwise it is the
    best proven lower bound and ``energy_bounds`` says how far off it may be.
    """
    out = resources(circuit)
    result: EnergyResult = energy(circuit, method=method, time_limit=time_limit, progress=progress)
    out.update(
        {
            "energy": result.value,
            "energy_method": result.method,
            "energy_exact": result.exact,
            "energy_bounds": list(result.bounds),
            "energy_witness": list(result.witness),
            "energy_seconds": round(result.seconds, 3),
        }
    )
    return out
