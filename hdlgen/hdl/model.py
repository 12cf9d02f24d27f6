"""A cycle-accurate NumPy model of the generated pipeline.

Given what the design sees at every clock edge (``rst``, ``i_valid``,
``i_data``), it predicts the content of every gate register after every
edge, and ``o_valid``, ``o_data``, ``o_energy``, in each gating mode. It is
vectorized over time: stage ``s`` after edge ``e`` is a function of stage
``s - 1`` after edge ``e - 1``, so each level is a handful of array
operations over all edges at once.

Simulations (Amaranth's, cocotb's) are compared with it register for
register; the model itself is checked against the reference model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hdlgen.ir.circuit import Circuit, Gate
from hdlgen.ir.ports import latency
from hdlgen.ir.reference import check_vectors

__all__ = ["PipelineTrace", "bit_toggles", "simulate_pipeline"]


@dataclass
class PipelineTrace:
    """What the design holds after each clock edge (one row per edge).

    Attributes
    ----------
    gates : numpy.ndarray, shape (edges, size)
        Each gate register, columns in ``circuit.gates`` order.
    o_valid : numpy.ndarray of bool, shape (edges,)
    o_data : numpy.ndarray, shape (edges, n_outputs)
        Meaningful where ``o_valid``.
    o_energy : numpy.ndarray, shape (edges,)
        Meaningful where ``o_valid``.
    """

    gates: np.ndarray
    o_valid: np.ndarray
    o_data: np.ndarray
    o_energy: np.ndarray


def _shift(a: np.ndarray) -> np.ndarray:
    """``a`` one edge later: row e holds row e - 1 (zeros before the first edge)."""
    out = np.zeros_like(a)
    out[1:] = a[:-1]
    return out


def _gate(values: dict[str, np.ndarray], g: Gate, n: int) -> np.ndarray:
    s = np.zeros(n, dtype=np.int64)
    for src, w in zip(g.inputs, g.weights, strict=True):
        s = s + w * values[src]
    if g.kind == "threshold":
        return (s >= g.threshold).astype(np.int64)
    return np.clip(s - g.threshold, 0, g.max_value)


def _load(d: np.ndarray, valid_prev: np.ndarray, rst: np.ndarray, gating: str) -> np.ndarray:
    """Register contents after each edge, given its input and the stage's valid bit."""
    if gating == "none":
        return np.where(rst, 0, d)
    if gating == "rtz":
        return np.where(rst | ~valid_prev, 0, d)
    # delta: load on valid edges, hold otherwise; reset clears.
    events = rst | valid_prev
    idx = np.where(events, np.arange(len(d)), -1)
    last = np.maximum.accumulate(idx)
    held = np.where(last >= 0, np.where(rst[np.maximum(last, 0)], 0, d[np.maximum(last, 0)]), 0)
    return held


def simulate_pipeline(
    circuit: Circuit,
    i_data: np.ndarray,
    i_valid: np.ndarray,
    rst: np.ndarray | None = None,
    gating: str = "rtz",
    pipeline: bool = False,
) -> PipelineTrace:
    """Predict the pipeline's registers for the given per-edge stimulus.

    Parameters
    ----------
    circuit : Circuit
    i_data : array_like, shape (edges, n_inputs)
        Input values present at each clock edge (valid or not).
    i_valid : array_like of bool, shape (edges,)
    rst : array_like of bool, shape (edges,), optional
        Synchronous reset sampled at each edge.
    gating : {"rtz", "delta", "none"}
    pipeline : bool
        The design splits every level into two stages (see
        :class:`hdlgen.hdl.CircuitTop`). Its partial-sum registers load on
        valid inferences and hold otherwise, and a gate register reads them
        only when the same inference is valid at its stage, so the model
        registers the operands instead: gate values are the same function of
        the same inputs, one stage later.
    """
    X = check_vectors(circuit, i_data)
    n = X.shape[0]
    valid = np.asarray(i_valid, dtype=bool).reshape(n)
    rst = np.zeros(n, dtype=bool) if rst is None else np.asarray(rst, dtype=bool).reshape(n)
    stages = latency(circuit, pipeline)
    # Stage 0 is combinational from the ports.
    cur: dict[str, np.ndarray] = {inp.name: X[:, j] for j, inp in enumerate(circuit.inputs)}
    valid_s = valid
    energy = np.zeros(n, dtype=np.int64)
    gate_regs: dict[str, np.ndarray] = {}
    levels = circuit.levels
    step = 2 if pipeline else 1
    for stage in range(1, stages + 1):
        level = stage // step if stage % step == 0 else 0
        new: dict[str, np.ndarray] = {}
        fired = np.zeros(n, dtype=np.int64)
        for g in levels[level - 1] if 1 <= level <= circuit.depth else []:
            d = _gate(cur, g, n)
            new[g.name] = _load(d, valid_s, rst, gating)
            gate_regs[g.name] = new[g.name]
            fired += d != 0
        # Everything read later passes through delay (or partial-sum) registers.
        for name, arr in cur.items():
            new.setdefault(name, _load(arr, valid_s, rst, gating))
        energy = _load(energy + fired, valid_s, rst, gating)
        valid_next = np.where(rst, False, valid_s)
        # Registers after edge e feed stage s + 1 at edge e + 1.
        cur = {k: _shift(v) for k, v in new.items()}
        valid_s = _shift(valid_next)
        last = (new, valid_next, energy)
        energy = _shift(energy)
    regs, o_valid, o_energy = last
    o_data = np.stack([regs[o] for o in circuit.outputs], axis=1) if circuit.outputs else np.zeros((n, 0))
    gates = np.stack([gate_regs[g.name] for g in circuit.gates], axis=1) if circuit.gates else np.zeros((n, 0))
    return PipelineTrace(gates.astype(np.int64), o_valid, o_data.astype(np.int64), o_energy)


def bit_toggles(trace: np.ndarray, initial: int = 0) -> np.ndarray:
    """Bit changes of each column over time (from ``initial`` before the first row).

    Parameters
    ----------
    trace : ndarray of int, shape (cycles, signals)
        Values of each signal at each clock cycle (non-negative, below 2**63).
    initial : int
        The value of every signal before the first row.

    Returns
    -------
    ndarray of int64, shape (signals,)
        Number of bit toggles of each signal over the trace.
    """
    t = np.asarray(trace, dtype=np.int64)
    prev = np.vstack([np.full((1, t.shape[1]), initial, dtype=np.int64), t[:-1]])
    x = prev ^ t
    counts = np.zeros(t.shape[1], dtype=np.int64)
    while x.any():
        counts += (x & 1).sum(axis=0)
        x >>= 1
    return counts
