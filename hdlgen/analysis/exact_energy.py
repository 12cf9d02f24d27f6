"""Exact energy: the most gates that fire (output nonzero) on any input.

Two methods:

``exhaustive``
    Evaluates all ``2**input_bits`` vectors in chunks with the reference
    model. Exact; practical up to about 24 input bits.
``milp``
    A mixed-integer program solved by HiGHS (``highspy``) and OR-Tools
    CP-SAT side by side (a portfolio: the first to prove the maximum stops
    the other; on a time-out the tightest proven bounds of both are kept).
    HiGHS's model: integer inputs, one binary per threshold gate, a value, a
    "fires" binary and a "saturates" binary per relu gate, each gate tied to
    its sum by big-M rows whose constants come from the sum's propagated
    interval; CP-SAT's: the same with enforced linear constraints instead of
    big-M, solved by its core-guided (MaxSAT-style) search. Threshold gates
    that feed nothing, or feed only such gates with positive weights, keep
    only the ``fires => sum >= t`` side (:func:`_one_sided`), which does not
    change the maximum. Identical gates are encoded once. Maximizes the
    number of firing gates. Every vector a solver finds is re-evaluated with
    the reference model, so the lower bound is always a real, checked figure;
    the upper bound is a solver's proven bound.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hdlgen.errors import UsageError
from hdlgen.ir.reference import Reference, default_workers, enumerate_inputs
from hdlgen.ir.vectors import seeded_rng

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
        Called as ``progress(done, total)``: vectors enumerated, or of the
        MILP's gap between bounds, how much is closed.

    Returns
    -------
    EnergyResult
    """
    if method not in ("auto", "exhaustive", "milp"):
        raise UsageError(f"energy method must be 'auto', 'exhaustive' or 'milp', not {method!r}")
    if method == "auto":
        method = "exhaustive" if circuit.input_bits <= EXHAUSTIVE_MAX_BITS else "milp"
    if method == "exhaustive":
        return energy_exhaustive(circuit, progress=progress)
    return energy_milp(circuit, time_limit=time_limit, progress=progress)


def energy_exhaustive(circuit: Circuit, progress: Progress | None = None, workers: int | None = None) -> EnergyResult:
    """Energy by evaluating every input vector (exact).

    Parameters
    ----------
    circuit : Circuit
    progress : callable, optional
        ``progress(done, total)`` in vectors.
    workers : int, optional
        Threads that evaluate chunks in parallel (default: the CPUs available,
        see :func:`hdlgen.ir.reference.default_workers`).

    Raises
    ------
    UsageError
        When the circuit has more than 40 input bits (2**40 vectors).
    """
    start_time = time.perf_counter()
    ref = Reference(circuit)
    bits = circuit.input_bits
    if bits > 40:
        raise UsageError(
            f"exhaustive energy of {bits} input bits would evaluate 2**{bits} vectors; use the milp method"
        )
    best, best_k = ref.max_activity(progress=progress, workers=workers)
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

    def highs_lp(self, integer: bool = True) -> Any:
        """The model as a ``highspy.HighsLp`` (row-wise matrix), maximizing the cost."""
        import highspy

        lp = highspy.HighsLp()
        n = len(self.lower)
        lp.num_col_ = n
        lp.num_row_ = len(self.rows)
        lp.col_cost_ = np.array(self.cost, dtype=np.float64)
        lp.col_lower_ = np.array(self.lower, dtype=np.float64)
        lp.col_upper_ = np.array(self.upper, dtype=np.float64)
        lp.row_lower_ = np.array([r[1] for r in self.rows], dtype=np.float64)
        lp.row_upper_ = np.array([r[2] for r in self.rows], dtype=np.float64)
        starts, index, value = [0], [], []
        for terms, _, _ in self.rows:
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
        lp.a_matrix_.num_row_ = len(self.rows)
        lp.sense_ = highspy.ObjSense.kMaximize
        if integer:
            lp.integrality_ = [highspy.HighsVarType.kInteger] * n
        return lp


@dataclass
class _Encoding:
    """A circuit as a MILP: the model, its input columns and its "fires" columns.

    ``fires`` maps each fires column to its objective weight: the number of
    identical gates it stands for. ``fires_const`` counts the gates that fire
    on every input (constant gates).
    """

    model: _Model
    input_cols: list[int]
    fires: dict[int, int]
    fires_const: int
    merged: int  # gates encoded by another identical gate
    tightened: int  # gates whose sum bounds LP tightening shrank
    upper_only: int  # threshold gates encoded by "fires => sum >= t" alone (see _one_sided)


def _samples(circuit: Circuit, samples: int, seed: int = 0) -> np.ndarray:
    rng = seeded_rng(seed)
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


def _identical_gates(circuit: Circuit) -> dict[str, str]:
    """Each gate's representative: the first gate of the circuit computing the same function of the same signals.

    Two gates are identical when they have the same kind, width and
    threshold, and the same total weight on each representative signal (so
    identical gates reading identical gates are found too). The symmetry
    between them is broken by encoding the representative only, with an
    objective weight equal to the number of gates it stands for.
    """
    rep: dict[str, str] = {i.name: i.name for i in circuit.inputs}
    seen: dict[tuple[Any, ...], str] = {}
    for g in circuit.topological_gates:
        weights: dict[str, int] = {}
        for src, w in zip(g.inputs, g.weights, strict=True):
            weights[rep[src]] = weights.get(rep[src], 0) + w
        key = (g.kind, g.bits, g.threshold, tuple(sorted((s, w) for s, w in weights.items() if w)))
        rep[g.name] = seen.setdefault(key, g.name)
    return {g.name: rep[g.name] for g in circuit.gates}


def _one_sided(circuit: Circuit, rep: dict[str, str]) -> set[str]:
    """Representative threshold gates whose model needs only ``fires => sum >= t``.

    The energy is maximized, so a model in which such a gate's "fires"
    variable ``y`` may read 0 while its sum reaches the threshold has the same
    maximum as the exact model: a gate qualifies when every gate reading it
    is itself a qualifying threshold gate that reads it with a positive total
    weight. Proof, in topological order, for any solution ``(x, y)`` of the
    relaxed model and the circuit's true values ``y*`` on ``x``: exact gates
    read only exact gates (a qualifying gate's readers qualify), so
    ``y = y*`` there; a qualifying gate's sum is nondecreasing in the
    qualifying gates it reads, which by induction have ``y <= y*``, so its sum
    is at most the true one and ``y = 1`` (sum ``>= t``) implies ``y* = 1``.
    Hence ``y <= y*`` everywhere and the relaxed objective is at most the true
    energy of ``x``; the exact model's solutions are relaxed solutions, so the
    maxima are equal. Gates that feed nothing always qualify.

    Parameters
    ----------
    circuit : Circuit
    rep : dict of str to str
        Each gate's representative (:func:`_identical_gates`); the analysis
        runs on the representatives, with the weights they receive summed.

    Returns
    -------
    set of str
        Names of qualifying representative gates.
    """
    kind = {g.name: g.kind for g in circuit.gates}
    # Total weight each representative reader gives each representative source.
    reads: dict[str, dict[str, int]] = {}
    for g in circuit.topological_gates:
        if rep[g.name] != g.name:
            continue
        for src, w in zip(g.inputs, g.weights, strict=True):
            if src in rep:
                reads.setdefault(rep[src], {})
                reads[rep[src]][g.name] = reads[rep[src]].get(g.name, 0) + w
    qualifies: set[str] = set()
    for g in reversed(circuit.topological_gates):  # readers come after what they read
        if rep[g.name] != g.name or kind[g.name] != "threshold":
            continue
        if all(w > 0 and d in qualifies for d, w in reads.get(g.name, {}).items() if w != 0):
            qualifies.add(g.name)
    return qualifies


class _SumBounds:
    """Bounds of each gate's sum, from interval propagation, optionally tightened by LP.

    LP tightening maximizes and minimizes each gate's sum over the linear
    relaxation of the model of the levels before it (the model without the
    objective cutoff contains every reachable assignment, so the bounds are
    valid), then rounds inward to integers. Tighter bounds give smaller
    big-M constants and may fix gates that cannot switch.
    """

    def __init__(self, circuit: Circuit, tighten: bool) -> None:
        self.ranges = circuit.value_ranges
        self.tighten = tighten
        self.tightened = 0  # gates whose sum interval shrank
        self._h: Any = None
        self._n_rows = self._n_cols = -1

    def of(self, m: _Model, g_name: str, const: int, terms: dict[int, int], from_inputs_only: bool) -> tuple[int, int]:
        import highspy

        r = self.ranges[g_name]
        lo, hi = r.sum_lo, r.sum_hi
        if not self.tighten or from_inputs_only or not terms:
            return lo, hi  # interval arithmetic is exact on independent inputs
        h = self._highs(m)
        n = len(m.lower)
        cols = np.array(list(terms), dtype=np.int32)
        coefs = np.array([float(terms[c]) for c in terms], dtype=np.float64)
        zero = np.zeros(n, dtype=np.float64)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), zero)
        h.changeColsCost(len(cols), cols, coefs)
        out = []
        for sense in (1, -1):  # maximize, then minimize (maximize the negation)
            if sense == -1:
                h.changeColsCost(len(cols), cols, -coefs)
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return lo, hi
            out.append(sense * h.getInfo().objective_function_value)
        lp_hi = math.floor(out[0] + 1e-6 * (1 + abs(out[0]))) + const
        lp_lo = math.ceil(out[1] - 1e-6 * (1 + abs(out[1]))) + const
        new_lo, new_hi = max(lo, lp_lo), min(hi, lp_hi)
        if new_lo > new_hi:  # numerical trouble: keep the sound intervals
            return lo, hi
        self.tightened += (new_lo, new_hi) != (lo, hi)
        return new_lo, new_hi

    def _highs(self, m: _Model) -> Any:
        """A Highs instance holding the LP relaxation of ``m`` (rebuilt when rows were added)."""
        if self._h is None or self._n_rows != len(m.rows) or self._n_cols != len(m.lower):
            self._h = _new_highs()
            self._h.passModel(m.highs_lp(integer=False))
            self._n_rows, self._n_cols = len(m.rows), len(m.lower)
        return self._h


def _encode(circuit: Circuit, tighten: bool = True, merge: bool = True, one_sided: bool = True) -> _Encoding:
    """The circuit as a MILP (see the module docstring): maximize the number of firing gates.

    Each threshold gate is a binary ``y`` tied to its sum ``S`` by two big-M
    rows (``y = 1 => S >= t``, ``y = 0 => S <= t - 1``), or by the first
    alone when ``one_sided`` and :func:`_one_sided` says that keeps the
    maximum; each relu gate has a value ``v``, a "fires" binary ``z`` and,
    when it can saturate, a binary ``u``. The big-M constants are the sum's
    bounds (:class:`_SumBounds`).
    """
    m = _Model()
    bounds = _SumBounds(circuit, tighten)
    rep = _identical_gates(circuit) if merge else {g.name: g.name for g in circuit.gates}
    upper_only = _one_sided(circuit, rep) if one_sided else set()
    count: dict[str, int] = {}
    for g in circuit.gates:
        count[rep[g.name]] = count.get(rep[g.name], 0) + 1
    # Each signal is a linear expression: (constant, {column: coefficient}).
    expr: dict[str, tuple[int, dict[int, int]]] = {}
    input_cols = []
    for inp in circuit.inputs:
        col = m.var(0, inp.max_value)
        input_cols.append(col)
        expr[inp.name] = (0, {col: 1})
    n_input_cols = len(input_cols)
    fires_const = 0
    fires: dict[int, int] = {}
    for g in circuit.topological_gates:
        if rep[g.name] != g.name:
            expr[g.name] = expr[rep[g.name]]
            continue
        weight = count[g.name]
        const = 0
        terms: dict[int, int] = {}
        for src, w in zip(g.inputs, g.weights, strict=True):
            c0, t0 = expr[src]
            const += w * c0
            for col, coef in t0.items():
                terms[col] = terms.get(col, 0) + w * coef
        terms = {c: a for c, a in terms.items() if a}
        sum_lo, sum_hi = bounds.of(m, g.name, const, terms, all(c < n_input_cols for c in terms))
        value_lo = (
            int(sum_lo >= g.threshold) if g.kind == "threshold" else min(max(0, sum_lo - g.threshold), g.max_value)
        )
        value_hi = (
            int(sum_hi >= g.threshold) if g.kind == "threshold" else min(max(0, sum_hi - g.threshold), g.max_value)
        )
        if value_lo == value_hi:  # a constant gate
            expr[g.name] = (value_lo, {})
            fires_const += weight * int(value_lo != 0)
            continue
        lo, hi, t = sum_lo - const, sum_hi - const, g.threshold - const  # ranges of the variable part
        if g.kind == "threshold":
            y = m.var(0, 1, float(weight))
            # y = 1  =>  S >= t ;  y = 0  =>  S <= t - 1
            m.row({**terms, y: lo - t}, lo, math.inf)
            if g.name not in upper_only:
                m.row({**terms, y: -(hi - t + 1)}, -math.inf, t - 1)
            expr[g.name] = (0, {y: 1})
            fires[y] = weight
            continue
        expr[g.name] = (0, {_encode_relu(m, g.max_value, terms, lo, hi, t, value_lo, value_hi, weight, fires): 1})
    return _Encoding(
        m, input_cols, fires, fires_const, sum(count.values()) - len(count), bounds.tightened, len(upper_only)
    )


def _encode_relu(
    m: _Model,
    cap: int,
    terms: dict[int, int],
    lo: int,
    hi: int,
    t: int,
    value_lo: int,
    value_hi: int,
    weight: int,
    fires: dict[int, int],
) -> int:
    """Columns and rows of one relu gate ``v = clip(D, 0, cap)`` with ``D = S - t``; returns ``v``'s column."""
    dlo, dhi = lo - t, hi - t
    v = m.var(value_lo, value_hi)
    z = m.var(0, 1, float(weight))
    fires[z] = weight
    neg = {c: -a for c, a in terms.items()}
    # z = 1  =>  D >= 1 ;  z = 0  =>  D <= 0
    m.row({**terms, z: dlo - 1}, lo, math.inf)
    m.row({**terms, z: -dhi}, -math.inf, t)
    m.row({v: 1, z: -cap}, -math.inf, 0)  # v <= cap * z
    # z = 1  =>  v <= D   (when z = 0, D >= dlo and v = 0)
    m.row({v: 1, **neg, z: -dlo}, -math.inf, -t - dlo)
    if dhi >= cap:
        u = m.var(0, 1)
        # u = 1  =>  D >= cap ;  u = 0  =>  D <= cap - 1
        m.row({**terms, u: dlo - cap}, lo, math.inf)
        m.row({**terms, u: -(dhi - cap + 1)}, -math.inf, t + cap - 1)
        m.row({v: 1, u: -cap}, 0, math.inf)  # v >= cap * u
        # v >= D - (dhi - cap) * u
        m.row({v: 1, **neg, u: dhi - cap}, -t, math.inf)
    else:
        m.row({v: 1, **neg}, -t, math.inf)  # v >= D
    return v


@dataclass
class _Solved:
    """What a solver returned: a candidate input vector (or None) and a proven upper bound."""

    candidate: np.ndarray | None
    upper: float  # +inf when nothing is proven
    infeasible: bool  # the cutoff row is infeasible: no vector beats the lower bound
    proven: bool = False  # the solver finished its proof (optimal or infeasible), not stopped early


def _solve_highs(
    enc: _Encoding,
    best_lower: int,
    deadline: float | None,
    on_bounds: Callable[[float, float], None] | None,
    stop: threading.Event | None = None,
) -> _Solved:
    """Solve with HiGHS, asking for strictly more firing gates than ``best_lower``; ``stop`` interrupts it."""
    import highspy

    m = enc.model
    # Cutoff: an infeasible model proves the lower bound optimal.
    m.row(dict(enc.fires), best_lower + 1 - enc.fires_const, math.inf)
    h = _new_highs()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.999)
    if deadline is not None:
        h.setOptionValue("time_limit", float(max(0.01, deadline - time.perf_counter())))
    lp = m.highs_lp()
    lp.offset_ = float(enc.fires_const)
    h.passModel(lp)
    m.rows.pop()
    if on_bounds is not None or stop is not None:

        def report(event: Any) -> None:
            if on_bounds is not None:
                on_bounds(event.data_out.mip_primal_bound, event.data_out.mip_dual_bound)
            if stop is not None and stop.is_set():
                event.interrupt()

        h.cbMipInterrupt.subscribe(report)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    solution = h.getSolution()
    cand = None
    if info.primal_solution_status >= 1 and solution.value_valid:
        cand = np.rint(np.array(solution.col_value)[enc.input_cols]).astype(np.int64)
    if status == highspy.HighsModelStatus.kInfeasible:
        return _Solved(cand, best_lower, True, True)
    dual = info.mip_dual_bound
    optimal = status == highspy.HighsModelStatus.kOptimal
    if optimal and not math.isfinite(dual):
        dual = info.objective_function_value
    return _Solved(cand, dual if math.isfinite(dual) else math.inf, False, optimal)


#: CP-SAT's subsolvers, in the order workers are given them: the core-guided search proves the upper
#: bound (MaxSAT-style, on the objective's literals), the LP-guided search finds vectors. Measured on the
#: bench's circuits in bench/RESULTS.md.
CPSAT_SUBSOLVERS = ("core", "default_lp", "max_lp", "quick_restart", "reduced_costs", "pseudo_costs", "no_lp")


def _solve_cpsat(
    circuit: Circuit,
    hint: np.ndarray,
    best_lower: int,
    deadline: float | None,
    on_bounds: Callable[[float, float], None] | None,
    workers: int,
    one_sided: bool = True,
    stop: threading.Event | None = None,
) -> _Solved:
    """Solve with OR-Tools CP-SAT, as integer linear constraints with enforcement literals.

    CP-SAT needs no big-M: ``y => S >= t`` and ``not y => S <= t - 1`` are
    enforced linear constraints (the second left out for the gates of
    :func:`_one_sided`). Relu values are ``max``/``min`` equalities.
    Identical gates are encoded once, weighted by their number. One worker
    runs the core-guided search alone; more workers take
    :data:`CPSAT_SUBSOLVERS` in order. ``hint`` (a vector with ``best_lower``
    firing gates) is CP-SAT's first solution hint.
    """
    from ortools.sat.python import cp_model

    model, xs = _cpsat_model(circuit, hint, one_sided)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    if workers == 1:
        solver.parameters.optimize_with_core = True
    else:
        solver.parameters.subsolvers.extend(CPSAT_SUBSOLVERS[:workers])
    if deadline is not None:
        solver.parameters.max_time_in_seconds = max(0.01, deadline - time.perf_counter())
    if on_bounds is not None:
        seen = {"primal": float(best_lower)}
        solver.best_bound_callback = lambda bound: on_bounds(seen["primal"], bound)

    class _Report(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            if on_bounds is not None:
                seen["primal"] = max(seen["primal"], self.objective_value)
                on_bounds(seen["primal"], self.best_objective_bound)

    watcher = None
    if stop is not None:
        finished = threading.Event()

        def watch() -> None:
            while not finished.wait(0.05):
                if stop.is_set():
                    solver.stop_search()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
    try:
        status = solver.solve(model, _Report())
    finally:
        if watcher is not None:
            finished.set()
            watcher.join()
    cand = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        cand = np.array([solver.value(x) for x in xs], dtype=np.int64)
    if status == cp_model.INFEASIBLE:  # cannot happen (every vector is a solution): nothing is proven
        return _Solved(cand, math.inf, False)
    if status == cp_model.OPTIMAL:
        return _Solved(cand, solver.objective_value, False, True)
    if status != cp_model.FEASIBLE:
        # UNKNOWN (stopped or out of time before a first solution): CP-SAT's best_objective_bound is
        # then no bound at all (it reads 0.0 when presolve had not finished), so nothing is proven.
        return _Solved(cand, math.inf, False)
    bound = solver.best_objective_bound
    return _Solved(cand, bound if math.isfinite(bound) else math.inf, False)


def _cpsat_model(circuit: Circuit, hint: np.ndarray, one_sided: bool) -> tuple[Any, list[Any]]:
    """The CP-SAT model of :func:`_solve_cpsat` (the most gates firing) and its input variables, in input order."""
    from ortools.sat.python import cp_model

    ranges = circuit.value_ranges
    rep = _identical_gates(circuit)
    upper_only = _one_sided(circuit, rep) if one_sided else set()
    count: dict[str, int] = {}
    for g in circuit.gates:
        count[rep[g.name]] = count.get(rep[g.name], 0) + 1
    model = cp_model.CpModel()
    val: dict[str, Any] = {}
    xs = []
    for inp, h in zip(circuit.inputs, hint, strict=True):
        x = model.new_int_var(0, inp.max_value, inp.name)
        model.add_hint(x, int(h))
        val[inp.name] = x
        xs.append(x)
    objective = []
    for g in circuit.topological_gates:
        if rep[g.name] != g.name:
            val[g.name] = val[rep[g.name]]
            continue
        r = ranges[g.name]
        S = sum(w * val[s] for s, w in zip(g.inputs, g.weights, strict=True))
        fires = model.new_bool_var(f"fires_{g.name}")
        if g.kind == "threshold":
            model.add(S >= g.threshold).only_enforce_if(fires)
            if g.name not in upper_only:
                model.add(S <= g.threshold - 1).only_enforce_if(~fires)
            val[g.name] = fires
        else:
            d = model.new_int_var(r.sum_lo - g.threshold, r.sum_hi - g.threshold, f"d_{g.name}")
            model.add(d == S - g.threshold)
            model.add(d >= 1).only_enforce_if(fires)
            model.add(d <= 0).only_enforce_if(~fires)
            a = model.new_int_var(0, max(0, r.sum_hi - g.threshold), f"a_{g.name}")
            model.add_max_equality(a, [d, 0])
            v = model.new_int_var(r.lo, r.hi, g.name)
            model.add_min_equality(v, [a, g.max_value])
            val[g.name] = v
        objective.append(count[g.name] * fires)
    model.maximize(sum(objective))
    return model, xs


Solver = Literal["portfolio", "highs", "cpsat"]


def _local_search(
    ref: Reference,
    starts: np.ndarray,
    best: int,
    best_vec: np.ndarray,
    kicks: int = 300,
    plateau: int = 20,
    seed: int = 0,
) -> tuple[int, np.ndarray]:
    """Iterated local search for a vector with many firing gates (a lower bound for the solver's cutoff).

    Steepest ascent over one-input moves (an input set to another value: all
    values of inputs up to 4 bits, else +-1 and the two ends), walking up to
    ``plateau`` sideways moves between ties; then ``kicks`` times: change
    three random inputs of the best vector and climb again. Seeded, so
    deterministic. Every figure is the reference model's, so the result is
    a real vector and its real activity.
    """
    circuit = ref.circuit
    maxima = np.array([i.max_value for i in circuit.inputs], dtype=np.int64)
    moves = [(j, v) for j, m in enumerate(maxima) for v in (range(m + 1) if m < 16 else (0, m, -1, -2))]
    cols = np.array([j for j, _ in moves], dtype=np.intp)
    vals = np.array([v for _, v in moves], dtype=np.int64)
    rows = np.arange(len(moves))
    rng = seeded_rng(seed)

    def climb(x: np.ndarray) -> tuple[int, np.ndarray]:
        current = int(ref.activity(x.reshape(1, -1), workers=1)[0])
        sideways = 0
        while current < circuit.size and sideways < plateau:
            N = np.repeat(x.reshape(1, -1), len(moves), axis=0)
            here = N[rows, cols]
            step = np.clip(np.where(vals == -1, here + 1, here - 1), 0, maxima[cols])
            N[rows, cols] = np.where(vals < 0, step, vals)
            act = ref.activity(N, workers=1)
            act[(N == x).all(axis=1)] = -1  # staying put is not a move
            top = int(act.max())
            if top < current:
                break
            sideways = sideways + 1 if top == current else 0
            k = int(rng.choice(np.flatnonzero(act == top)))  # ties broken at random: walks plateaus
            x, current = N[k], top
        return current, x

    for x in starts:
        a, x = climb(x.copy())
        if a > best:
            best, best_vec = a, x
    for _ in range(kicks):
        if best == circuit.size:
            break
        x = best_vec.copy()
        j = rng.choice(len(maxima), size=min(3, len(maxima)), replace=False)
        x[j] = rng.integers(0, maxima[j] + 1)
        a, x = climb(x)
        if a > best:
            best, best_vec = a, x
    return best, best_vec


def _lower_thread_priority(increment: int = 10) -> None:
    """Raise the calling thread's nice value by ``increment`` (Linux, where it is per thread; elsewhere nothing).

    The portfolio's CP-SAT thread runs so: on an idle machine it has a core
    of its own, and on a busy one it does not take HiGHS's share (threads
    CP-SAT starts inherit the value). Measured in bench/RESULTS.md.
    """
    if sys.platform != "linux":
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except OSError:  # not permitted: the thread keeps its priority
        pass


def _race(runs: list[Callable[[], None]], stop: threading.Event, proven: Callable[[], bool]) -> None:
    """Run ``runs`` in threads; when one returns and ``proven()`` holds, set ``stop`` so the others return.

    The solvers release the GIL while they search, so the threads run on
    separate cores; each solver polls ``stop`` and returns its bounds so far.
    An exception in a thread stops the others and is raised here.
    """
    errors: list[BaseException] = []

    def go(run: Callable[[], None]) -> None:
        try:
            run()
            if proven():
                stop.set()
        except BaseException as e:  # re-raised in the caller's thread
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=go, args=(run,)) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def energy_milp(
    circuit: Circuit,
    time_limit: float | None = None,
    samples: int = 4096,
    solver: Solver = "portfolio",
    tighten: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    local_search: bool = True,
) -> EnergyResult:
    """Energy by mixed-integer programming (HiGHS and OR-Tools CP-SAT, side by side by default).

    Random vectors are evaluated first and improved by local search; the best
    one is a lower bound, HiGHS is asked for strictly more firing gates than
    the sampled bound, and CP-SAT starts from the local-search vector as its
    hint. Any vector a solver returns is re-evaluated with the reference
    model, so the lower bound is always a real, checked figure; the upper
    bound is the least proven bound of the solvers that ran. On a time-out
    the result is not exact: ``value`` is the best verified lower bound and
    ``bounds`` says how far off it may be.

    Parameters
    ----------
    circuit : Circuit
    time_limit : float, optional
        Seconds in all, wall clock (None: until proven).
    samples : int
        Random vectors evaluated first.
    solver : {"portfolio", "highs", "cpsat"}
        ``portfolio`` (the default) runs HiGHS on one thread and CP-SAT on
        the other ``workers - 1`` (at least one) at once, and stops both as
        soon as one proves the maximum: on the bench's circuits each wins on
        some (bench/RESULTS.md). ``highs``: HiGHS alone, on the big-M
        encoding. ``cpsat``: CP-SAT alone, with enforced constraints.
    tighten : bool
        Tighten each gate's big-M constants by LP (HiGHS only). Off by
        default: on the bench's circuits it made HiGHS slower (51 against
        20 CPU seconds on seed 1, 44 against 39 on seed 3; seed 2 still
        unproven at 120 s).
    progress : callable, optional
        ``progress(closed, gap)``: of the gap between the first lower and
        upper bounds, how much is closed (reaches ``gap`` when proven).
        Called from the solvers' threads.
    workers : int, optional
        Threads (default: the CPUs available). CP-SAT with one worker runs
        its core-guided search alone; with more, its workers take
        :data:`CPSAT_SUBSOLVERS` in order.
    local_search : bool
        Improve the best sampled vectors by iterated local search before
        solving (:func:`_local_search`, about a second): a better verified
        lower bound when the solvers time out, and CP-SAT's hint.

    Raises
    ------
    UsageError
        For an unknown solver name.
    """
    if solver not in ("portfolio", "highs", "cpsat"):
        raise UsageError(f"MILP solver must be 'portfolio', 'highs' or 'cpsat', not {solver!r}")
    start_time = time.perf_counter()
    deadline = None if time_limit is None else start_time + time_limit
    ref = Reference(circuit)
    sampled, best_lower, best_vec = _lower_bound(circuit, ref, samples, local_search)

    def done(upper: int) -> EnergyResult:
        return EnergyResult(
            best_lower,
            upper == best_lower,
            (best_lower, upper),
            "milp",
            tuple(int(v) for v in best_vec),
            time.perf_counter() - start_time,
        )

    if best_lower == circuit.size or circuit.size == 0:
        return done(best_lower)
    gap0 = circuit.size - best_lower
    on_bounds = _gap_progress(progress, best_lower, circuit.size)
    n_workers = workers or default_workers()
    stop = threading.Event() if solver == "portfolio" else None
    results: list[_Solved] = []

    def run_highs() -> None:
        # HiGHS's cutoff stays at the sampled bound: with the local-search bound instead, it
        # proved seed 3 of the bench in 92 CPU seconds against 39 (seed 1: 19 against 20).
        results.append(_solve_highs(_encode(circuit, tighten=tighten), sampled, deadline, on_bounds, stop))

    def run_cpsat() -> None:
        cp_workers = max(1, n_workers - 1) if solver == "portfolio" else n_workers
        if solver == "portfolio":
            _lower_thread_priority()
        results.append(_solve_cpsat(circuit, best_vec, best_lower, deadline, on_bounds, cp_workers, stop=stop))

    if stop is not None:  # the portfolio
        _race([run_highs, run_cpsat], stop, lambda: any(r.proven for r in results))
    else:
        (run_highs if solver == "highs" else run_cpsat)()
    best_lower, best_vec = _best_candidate(circuit, ref, results, best_lower, best_vec)
    upper = _least_upper_bound(results, best_lower, circuit.size)
    if progress is not None:
        progress(gap0 - (upper - best_lower), gap0)
    return done(upper)


def _lower_bound(
    circuit: Circuit, ref: Reference, samples: int, local_search: bool
) -> tuple[int, int, np.ndarray]:
    """The sampled energy, and the best energy and its vector after local search (when asked).

    Returns
    -------
    (int, int, ndarray of int64, shape (n_inputs,))
        The most gates firing on ``samples`` vectors (:func:`_samples`); the
        most after :func:`_local_search` from the 16 best of them; its vector.
    """
    X = _samples(circuit, samples)
    out_act = ref.activity(X, workers=1)
    k = int(np.argmax(out_act))
    best_lower, best_vec = int(out_act[k]), X[k]
    sampled = best_lower
    if local_search and best_lower < circuit.size and circuit.n_inputs:
        starts = X[np.argsort(-out_act, kind="stable")[:16]]
        best_lower, best_vec = _local_search(ref, starts, best_lower, best_vec)
    return sampled, best_lower, best_vec


def _gap_progress(
    progress: Callable[[int, int], None] | None, lower: int, size: int
) -> Callable[[float, float], None] | None:
    """A solvers' ``on_bounds(primal, dual)`` that reports the gap closed so far as ``progress(done, gap0)``.

    The gap is taken over every solver: the best primal and the least dual
    bound seen. ``progress(0, gap0)`` is called here, with ``gap0 = size - lower``.
    """
    if progress is None:
        return None
    gap0 = size - lower
    progress(0, gap0)
    seen = {"lower": float(lower), "upper": float(size)}  # over every solver

    def on_bounds(primal: float, dual: float) -> None:
        if math.isfinite(primal):
            seen["lower"] = max(seen["lower"], primal)
        if math.isfinite(dual):
            seen["upper"] = min(seen["upper"], dual)
        gap = int(math.floor(seen["upper"] + 1e-6) - seen["lower"])
        progress(max(0, min(gap0, gap0 - gap)), gap0)

    return on_bounds


def _best_candidate(
    circuit: Circuit, ref: Reference, results: list[_Solved], best_lower: int, best_vec: np.ndarray
) -> tuple[int, np.ndarray]:
    """The best of ``best_vec`` and the solvers' candidate vectors, each checked on the reference model."""
    maxima = np.array([i.max_value for i in circuit.inputs], dtype=np.int64)
    for solved in results:
        if solved.candidate is not None:
            cand = np.clip(solved.candidate, 0, maxima)
            act = int(ref.activity(cand.reshape(1, -1))[0])
            if act > best_lower:
                best_lower, best_vec = act, cand
    return best_lower, best_vec


def _least_upper_bound(results: list[_Solved], best_lower: int, size: int) -> int:
    """The least proven upper bound of the solvers (every solver's bound is proven), at most ``size``."""
    upper = size
    for solved in results:
        if solved.infeasible:  # no vector beats the cutoff, which is at most best_lower
            upper = min(upper, best_lower)
        elif math.isfinite(solved.upper) and math.floor(solved.upper + 1e-6) >= best_lower:
            upper = min(upper, math.floor(solved.upper + 1e-6))
        # A bound below best_lower, which the reference model checked on a vector, is no bound: it is
        # ignored, never taken as a proof that best_lower is the maximum.
    return upper
