"""Exact energy: the most gates that fire (output nonzero) on any input.

Two methods:

``exhaustive``
    Evaluates all ``2**input_bits`` vectors in chunks with the reference
    model. Exact; practical up to about 24 input bits.
``milp``
    A mixed-integer program solved by HiGHS (``highspy``): integer inputs,
    one binary per threshold gate, a value, a "fires" binary and a
    "saturates" binary per relu gate, each gate tied to its sum by big-M
    rows whose constants come from the sum's propagated interval. Maximizes
    the number of firing gates. The best vector found is re-evaluated with
    the reference model, so the lower bound is always a real, checked
    figure; the upper bound is the solver's proven dual bound.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from baseline.reference_0 import Reference, enumerate_inputs
from hdlgen.errors import CircuitError

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = ["EXHAUSTIVE_MAX_BITS", "EnergyResult", "energy", "energy_exhaustive", "energy_milp"]

#: ``method="auto"`` enumerates up to this many input bits, and solves a MILP beyond.
EXHAUSTIVE_MAX_BITS = 22
Method = Literal["auto", "exhaustive", "milp"]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EnergyResult:
    """The energy of a circuit and how it was established.

    Attributes
    ----------
    value : int
        The energy when ``exact``; otherwise the best proven lower bound.
    exact : bool
        True when ``value`` is proven to be the maximum.
    bounds : tuple of int
        ``(lower, upper)``; equal when exact.
    method : {"exhaustive", "milp"}
    witness : tuple of int
        An input vector on which ``value`` gates fire.
    seconds : float
        Wall-clock time spent.
    """

    value: int
    exact: bool
    bounds: tuple[int, int]
    method: str
    witness: tuple[int, ...] = field(default=())
    seconds: float = 0.0


def energy(
    circuit: Circuit,
    method: Method = "auto",
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> EnergyResult:
    """Compute the energy of a circuit.

    Parameters
    ----------
    circuit : Circuit
    method : {"auto", "exhaustive", "milp"}
        ``auto`` enumerates when the circuit has at most
        :data:`EXHAUSTIVE_MAX_BITS` input bits, else solves a MILP.
    time_limit : float, optional
        Seconds for the MILP solver; when it stops first, the result is not
        exact and its bounds say how far off it may be.
    progress : callable, optional
        Called as ``progress(done, total)`` during enumeration.

    Returns
    -------
    EnergyResult
    """
    if method not in ("auto", "exhaustive", "milp"):
        raise CircuitError(f"energy method must be 'auto', 'exhaustive' or 'milp', not {method!r}")
    if method == "auto":
        method = "exhaustive" if circuit.input_bits <= EXHAUSTIVE_MAX_BITS else "milp"
    if method == "exhaustive":
        return energy_exhaustive(circuit, progress=progress)
    return energy_milp(circuit, time_limit=time_limit)


def energy_exhaustive(circuit: Circuit, progress: Progress | None = None) -> EnergyResult:
    """Energy by evaluating every input vector (exact).

    Raises
    ------
    CircuitError
        When the circuit has more than 40 input bits (2**40 vectors).
    """
    start_time = time.perf_counter()
    ref = Reference(circuit)
    bits = circuit.input_bits
    if bits > 40:
        raise CircuitError(
            f"exhaustive energy of {bits} input bits would evaluate 2**{bits} vectors; use the milp method"
        )
    total = 1 << bits
    chunk = 1 << max(0, min(bits, int(math.log2(ref.chunk))))
    best, best_k = -1, 0
    for start in range(0, total, chunk):
        stop = min(total, start + chunk)
        act = ref.activity_of_range(start, stop)
        k = int(np.argmax(act))
        if act[k] > best:
            best, best_k = int(act[k]), start + k
        if progress is not None:
            progress(stop, total)
        if best == circuit.size:
            if progress is not None:
                progress(total, total)
            break
    witness = tuple(int(v) for v in enumerate_inputs(circuit, best_k, best_k + 1)[0])
    return EnergyResult(best, True, (best, best), "exhaustive", witness, time.perf_counter() - start_time)


class _Model:
    """Rows and columns of a MILP, built incrementally."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.cost: list[float] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def var(self, lo: int, hi: int, cost: float = 0.0) -> int:
        self.lower.append(lo)
        self.upper.append(hi)
        self.cost.append(cost)
        return len(self.lower) - 1

    def row(self, terms: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((dict(terms), lo, hi))


def _samples(circuit: Circuit, samples: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    maxima = np.array([i.max_value for i in circuit.inputs], dtype=np.int64)
    X = rng.integers(0, maxima + 1, size=(samples, circuit.n_inputs), dtype=np.int64)
    X[0] = 0
    if samples > 1:
        X[1] = maxima
    return X


def _new_highs() -> Any:
    """A silent ``highspy.Highs`` (its banner goes to the C-level stdout)."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


def energy_milp(circuit: Circuit, time_limit: float | None = None, samples: int = 4096) -> EnergyResult:
    """Energy by mixed-integer programming with HiGHS.

    Parameters
    ----------
    circuit : Circuit
    time_limit : float, optional
        Solver time limit in seconds (None: until proven).
    samples : int
        Random vectors evaluated first; the best one sets a cutoff for the solver.
    """
    import highspy

    start_time = time.perf_counter()
    ref = Reference(circuit)
    ranges = circuit.value_ranges
    X = _samples(circuit, samples)
    out_act = ref.activity(X)
    k = int(np.argmax(out_act))
    best_lower, best_vec = int(out_act[k]), X[k]
    if best_lower == circuit.size or circuit.size == 0:
        return EnergyResult(
            best_lower,
            True,
            (best_lower, best_lower),
            "milp",
            tuple(int(v) for v in best_vec),
            time.perf_counter() - start_time,
        )

    m = _Model()
    # Each signal is a linear expression: (constant, {column: coefficient}).
    expr: dict[str, tuple[int, dict[int, int]]] = {}
    input_cols = []
    for inp in circuit.inputs:
        col = m.var(0, inp.max_value)
        input_cols.append(col)
        expr[inp.name] = (0, {col: 1})
    fires_const = 0
    gate_cols: dict[str, tuple[int | None, int | None, int | None]] = {}  # value, fires, saturates
    for g in circuit.topological_gates:
        r = ranges[g.name]
        const = 0
        terms: dict[int, int] = {}
        for src, w in zip(g.inputs, g.weights, strict=True):
            c0, t0 = expr[src]
            const += w * c0
            for col, coef in t0.items():
                terms[col] = terms.get(col, 0) + w * coef
        lo, hi, t = r.sum_lo - const, r.sum_hi - const, g.threshold - const  # ranges of the variable part
        if r.lo == r.hi:  # constant gate
            expr[g.name] = (r.lo, {})
            fires_const += int(r.lo != 0)
            gate_cols[g.name] = (None, None, None)
            continue
        if g.kind == "threshold":
            y = m.var(0, 1, 1.0)
            # y = 1  =>  S >= t ;  y = 0  =>  S <= t - 1
            m.row({**terms, y: lo - t}, lo, math.inf)
            m.row({**terms, y: -(hi - t + 1)}, -math.inf, t - 1)
            expr[g.name] = (0, {y: 1})
            gate_cols[g.name] = (y, y, None)
            continue
        cap = g.max_value
        dlo, dhi = lo - t, hi - t
        v = m.var(r.lo, r.hi)
        z = m.var(0, 1, 1.0)
        # z = 1  =>  D >= 1 ;  z = 0  =>  D <= 0
        m.row({**terms, z: dlo - 1}, lo, math.inf)
        m.row({**terms, z: -dhi}, -math.inf, t)
        m.row({v: 1, z: -cap}, -math.inf, 0)  # v <= cap * z
        # z = 1  =>  v <= D   (when z = 0, D >= dlo and v = 0)
        m.row({v: 1, **{c: -a for c, a in terms.items()}, z: -dlo}, -math.inf, -t - dlo)
        u = None
        if dhi >= cap:
            u = m.var(0, 1)
            # u = 1  =>  D >= cap ;  u = 0  =>  D <= cap - 1
            m.row({**terms, u: dlo - cap}, lo, math.inf)
            m.row({**terms, u: -(dhi - cap + 1)}, -math.inf, t + cap - 1)
            m.row({v: 1, u: -cap}, 0, math.inf)  # v >= cap * u
            # v >= D - (dhi - cap) * u
            m.row({v: 1, **{c: -a for c, a in terms.items()}, u: dhi - cap}, -t, math.inf)
        else:
            m.row({v: 1, **{c: -a for c, a in terms.items()}}, -t, math.inf)  # v >= D
        expr[g.name] = (0, {v: 1})
        gate_cols[g.name] = (v, z, u)

    # Cutoff: ask for strictly more firing gates than the best sampled vector.
    # (An infeasible model then proves that vector optimal.)
    fire_cols = {zc: 1 for _, zc, _ in gate_cols.values() if zc is not None}
    m.row(fire_cols, best_lower + 1 - fires_const, math.inf)

    h = _new_highs()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.999)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(max(0.01, time_limit - (time.perf_counter() - start_time))))
    lp = highspy.HighsLp()
    n = len(m.lower)
    lp.num_col_ = n
    lp.num_row_ = len(m.rows)
    lp.col_cost_ = np.array(m.cost, dtype=np.float64)
    lp.col_lower_ = np.array(m.lower, dtype=np.float64)
    lp.col_upper_ = np.array(m.upper, dtype=np.float64)
    lp.row_lower_ = np.array([r[1] for r in m.rows], dtype=np.float64)
    lp.row_upper_ = np.array([r[2] for r in m.rows], dtype=np.float64)
    starts, index, value = [0], [], []
    for terms, _, _ in m.rows:
        for col, coef in terms.items():
            if coef != 0:
                index.append(col)
                value.append(float(coef))
        starts.append(len(index))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value, dtype=np.float64)
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(m.rows)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.offset_ = float(fires_const)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)

    h.run()

    status = h.getModelStatus()
    info = h.getInfo()
    solution = h.getSolution()
    if info.primal_solution_status >= 1 and solution.value_valid:
        cand = np.rint(np.array(solution.col_value)[input_cols]).astype(np.int64)
        maxima = np.array([i.max_value for i in circuit.inputs], dtype=np.int64)
        cand = np.clip(cand, 0, maxima)
        act = int(ref.activity(cand.reshape(1, -1))[0])
        if act > best_lower:
            best_lower, best_vec = act, cand
    if status == highspy.HighsModelStatus.kInfeasible:
        upper = best_lower
    else:
        dual = info.mip_dual_bound
        if status == highspy.HighsModelStatus.kOptimal and not math.isfinite(dual):
            dual = info.objective_function_value
        upper = circuit.size if not math.isfinite(dual) else math.floor(dual + 1e-6)
        upper = min(max(upper, best_lower), circuit.size)
    exact = upper == best_lower
    return EnergyResult(
        best_lower,
        exact,
        (best_lower, upper),
        "milp",
        tuple(int(v) for v in best_vec),
        time.perf_counter() - start_time,
    )
