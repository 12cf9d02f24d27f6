"""Expected bit changes of the gate registers, fast, and the port packing that the simulation needs in bulk.

:func:`expected_toggles` predicts what the testbench's toggle counters
measure. With ``rtz`` and ``delta`` gating a gate register only ever holds
0, its previous value, or the gate's value for the inference passing its
stage, so the prediction needs only the reference's gate values (one BLAS
pass per chunk) and the schedule; it equals
:func:`hdlgen.hdl.model.simulate_pipeline` (tested on random circuits and
schedules) at a fraction of its time and memory. ``none`` gating (registers
load whatever flows, including the zeros left by a reset) uses the
pipeline model itself.
"""

from __future__ import annotations

import numpy as np

from hdlgen.hdl.model import bit_toggles, simulate_pipeline
from hdlgen.ir.circuit import Circuit
from hdlgen.ir.ports import PortLayout
from hdlgen.ir.reference import Reference

__all__ = ["expected_toggles", "pack_words", "stage_valid", "unpack_words"]


def stage_valid(i_valid: np.ndarray, rst: np.ndarray, stage: int) -> np.ndarray:
    """Whether the register stage ``stage`` (1-based) loads a valid inference at each edge.

    Parameters
    ----------
    i_valid, rst : ndarray of bool, shape (edges,)
        Port values sampled at each edge.
    stage : int
        1 for the registers fed by the ports.

    Returns
    -------
    ndarray of bool, shape (edges,)
        ``valid_1 = i_valid``; ``valid_{s+1}[e] = valid_s[e-1] and not rst[e-1]``
        (a reset clears the valid bits in flight), False before the first edge.
    """
    valid = np.asarray(i_valid, dtype=bool).copy()
    rst = np.asarray(rst, dtype=bool)
    for _ in range(stage - 1):
        nxt = np.zeros_like(valid)
        nxt[1:] = valid[:-1] & ~rst[:-1]
        valid = nxt
    return valid


def _popcount(x: np.ndarray) -> np.ndarray:
    """Set bits of each element of an unsigned integer array (int64 counts)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(np.int64)
    counts = np.zeros(x.shape, dtype=np.int64)
    x = x.copy()
    while x.any():
        counts += x & 1
        x >>= 1
    return counts


def expected_toggles(
    circuit: Circuit,
    X: np.ndarray,
    index: np.ndarray,
    i_valid: np.ndarray,
    rst: np.ndarray,
    data: np.ndarray,
    gating: str,
    pipeline: bool,
    values: np.ndarray | None = None,
) -> dict[str, int]:
    """Bit changes of every gate register over a run, from the initial 0, as the pipeline model predicts.

    Parameters
    ----------
    circuit : Circuit
    X : ndarray of int64, shape (n, n_inputs)
        The run's vectors.
    index : ndarray of int64, shape (edges,)
        Vector applied at each edge, or -1 (:func:`hdlgen.sim.run.make_schedule`).
    i_valid, rst : ndarray of bool, shape (edges,)
    data : ndarray of int64, shape (edges, n_inputs)
        ``i_data`` at each edge (only ``none`` gating reads idle edges' data).
    gating : {"rtz", "delta", "none"}
    pipeline : bool
        Gate registers of level L sit at stage 2L instead of L.
    values : ndarray of int64, shape (n, size), optional
        ``Reference(circuit).gate_values(X)`` when the caller has it already.

    Returns
    -------
    dict of str to int
        Gate name -> toggles, in ``circuit.gates`` order.
    """
    if gating not in ("rtz", "delta"):
        model = simulate_pipeline(circuit, data, i_valid, rst, gating, pipeline)
        return dict(zip((g.name for g in circuit.gates), bit_toggles(model.gates).tolist(), strict=True))
    if values is None:
        values = Reference(circuit).gate_values(X)  # (n, size), columns in circuit.gates order
    column = {g.name: k for k, g in enumerate(circuit.gates)}
    rst = np.asarray(rst, dtype=bool)
    edges = len(index)
    out: dict[str, int] = {}
    step = 2 if pipeline else 1
    for level, gates in enumerate(circuit.levels, start=1):
        stage = level * step
        loads = stage_valid(i_valid, rst, stage)
        # The inference a stage holds entered stage - 1 edges earlier.
        entered = np.zeros(edges, dtype=np.int64)
        if stage - 1 < edges:
            entered[stage - 1 :] = np.maximum(index[: edges - stage + 1], 0)
        cols = [column[g.name] for g in gates]
        level_values = values[:, cols]
        # Gate values are small (a threshold gate is 0/1, a relu gate at most its max_value):
        # the narrowest unsigned type keeps the per-edge arrays small.
        top = int(level_values.max(initial=0))
        narrow = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if top <= np.iinfo(t).max)
        level_values = level_values.astype(narrow)
        ok = loads & ~rst
        regs = level_values[entered]
        regs *= ok[:, None].astype(narrow)
        if gating == "delta":  # hold between loads; a reset clears
            event = np.where(loads | rst, np.arange(edges), -1)
            last = np.maximum.accumulate(event)
            regs = regs[np.maximum(last, 0)]
            regs[last < 0] = 0
        prev = np.zeros_like(regs)
        prev[1:] = regs[:-1]
        counts = _popcount(regs ^ prev).sum(axis=0)
        for g, c in zip(gates, counts.tolist(), strict=True):
            out[g.name] = int(c)
    return {g.name: out[g.name] for g in circuit.gates}


def pack_words(layout: PortLayout, X: np.ndarray) -> np.ndarray | None:
    """Packed ``i_data`` words as uint64 (inputs of at most 62 bits in all), else None.

    Parameters
    ----------
    layout : PortLayout
    X : ndarray of int64, shape (n, n_inputs)

    Returns
    -------
    ndarray of uint64, shape (n,), or None
        Equal to :meth:`PortLayout.pack_inputs` (little-endian field order).
    """
    if layout.input_bits > 62:
        return None
    word = np.zeros(X.shape[0], dtype=np.uint64)
    for j, f in enumerate(layout.inputs):
        word |= (X[:, j].astype(np.uint64) & np.uint64((1 << f.width) - 1)) << np.uint64(f.offset)
    return word


def unpack_words(layout: PortLayout, data: np.ndarray) -> np.ndarray:
    """Output values from little-endian ``o_data`` bytes: int64 (n, n_outputs).

    Parameters
    ----------
    layout : PortLayout
    data : ndarray of uint8, shape (n, >= out_bytes)

    Returns
    -------
    ndarray of int64
        Equal to :meth:`PortLayout.unpack_output_bytes`, computed on 64-bit
        words when the outputs fit in 63 bits.
    """
    if layout.output_bits > 63:
        return layout.unpack_output_bytes(data)
    n = data.shape[0]
    padded = np.zeros((n, 8), dtype=np.uint8)
    k = min(8, data.shape[1])
    padded[:, :k] = data[:, :k]
    word = padded.view("<u8").reshape(n).astype(np.int64)
    offsets = np.array([f.offset for f in layout.outputs], dtype=np.int64)
    masks = np.array([(1 << f.width) - 1 for f in layout.outputs], dtype=np.int64)
    return (word[:, None] >> offsets) & masks
