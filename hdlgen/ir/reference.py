"""The NumPy reference model: batched, exact evaluation of a circuit.

Gates are evaluated level by level. Each level is one gather of the signals
it reads and one matrix product with its weight matrix. The product runs in
``float32`` or ``float64`` (BLAS) only when every partial sum is provably an
integer that the format represents exactly, else in ``int64``; sums that
could leave the ``int64`` range are refused when the circuit is validated.

BLAS runs single-threaded inside every call (:func:`blas_single_thread`, a
scoped ``threadpoolctl`` limit restored on return): OpenBLAS's own threads
spin between the short matrix products of a level loop and collapse when
another process holds a core (measured 15x slower). Parallelism comes from
evaluating independent chunks of vectors in a pool of Python threads
instead (NumPy and BLAS release the GIL).

Exhaustive enumeration (:meth:`Reference.max_activity`) splits every vector
index ``k = H + L`` into its high bits ``H`` (constant over a chunk) and low
bits ``L`` (the chunk's rows). The bit fields of ``H`` and ``L`` are
disjoint, so every input value is the sum of its values at ``H`` and at
``L``, and every gate's sum over the inputs is the sum of a per-chunk row
and a table computed once for all ``L``. The first level then costs one
comparison instead of a matrix product.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hdlgen.errors import CircuitError
from hdlgen.ir.ports import input_fields

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = ["Reference", "blas_single_thread", "check_vectors", "default_workers", "enumerate_inputs"]

#: Signals held at once while evaluating a chunk (bounds memory). Measured in
#: CPU time on 300,000 vectors of the bench's circuits (2-core AMD EPYC,
#: OpenBLAS, one thread): 2**17 to 2**20 cells per chunk are within noise of
#: each other; 2**22 is 1.6x slower (the chunk leaves the cache) and 2**14
#: pays Python overhead per level.
_CHUNK_CELLS = 1 << 18

#: log2 of the rows of an exhaustive-enumeration chunk. Measured on the
#: 20-input, 192-gate bench circuit (CPU seconds, one thread): 2**10 0.31,
#: 2**11 0.30, 2**12 0.33, 2**13 0.34, 2**14 0.45.
_ENUM_BITS = 11

_controller_lock = threading.Lock()
_controller: Any = None


def blas_single_thread() -> AbstractContextManager[Any]:
    """A context in which BLAS runs on one thread; the previous setting is restored on exit.

    Uses ``threadpoolctl``; only the BLAS libraries NumPy loaded are limited,
    and only for the duration of the ``with`` block.
    """
    global _controller
    from threadpoolctl import ThreadpoolController

    with _controller_lock:
        if _controller is None:
            _controller = ThreadpoolController()  # inspects the loaded libraries once (~ms)
        return _controller.limit(limits=1, user_api="blas")


def default_workers() -> int:
    """Threads for chunked evaluation: the CPUs this process may run on (at most 8)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def check_vectors(circuit: Circuit, X: Any) -> np.ndarray:
    """Validate a batch of input vectors and return it as ``int64``.

    Raises
    ------
    CircuitError
        Naming the first bad vector (1-based row) and input.
    """
    arr = np.asarray(X)
    if arr.ndim == 1 and circuit.n_inputs > 0 and arr.shape[0] == circuit.n_inputs:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != circuit.n_inputs:
        raise CircuitError(f"input vectors must have shape (batch, {circuit.n_inputs}), not {arr.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            r, j = np.argwhere(bad)[0]
            raise CircuitError(f"row {r + 1}, input '{circuit.inputs[j].name}': value {arr[r, j]!r} is not an integer")
    elif arr.dtype.kind not in "iu":
        raise CircuitError(f"input vectors must be integers, not {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    maxima = np.array([i.max_value for i in circuit.inputs], dtype=np.int64)
    if arr.shape[0] and ((arr.min(axis=0) < 0).any() or (arr.max(axis=0) > maxima).any()):
        bad = (arr < 0) | (arr > maxima)
        r, j = np.argwhere(bad)[0]
        inp = circuit.inputs[j]
        raise CircuitError(f"row {r + 1}, input '{inp.name}': value {arr[r, j]} out of range [0, {inp.max_value}]")
    return arr


def enumerate_inputs(circuit: Circuit, start: int, stop: int) -> np.ndarray:
    """Input vectors ``start .. stop-1`` of the exhaustive enumeration.

    Vector ``k`` is the one whose packed ``i_data`` word is ``k``
    (:func:`hdlgen.ir.ports.input_fields`: input 0 in the least significant
    bits, each input as wide as its ``bits``).
    """
    k = np.arange(start, stop, dtype=np.int64)
    cols = [(k >> f.offset) & ((1 << f.width) - 1) for f in input_fields(circuit)]
    if not cols:
        return np.zeros((stop - start, 0), dtype=np.int64)
    return np.stack(cols, axis=1)


def _as_slice(cols: list[int]) -> np.ndarray | slice:
    """Column indices as a slice when they are a contiguous run (a view, not a copy)."""
    if cols and cols == list(range(cols[0], cols[0] + len(cols))):
        return slice(cols[0], cols[0] + len(cols))
    return np.array(cols, dtype=np.intp)


@dataclass
class _Level:
    src: np.ndarray | slice  # columns of the value matrix read by this level
    weights: np.ndarray  # (len(src), n_gates)
    thresholds: np.ndarray  # (n_gates,)
    relu: np.ndarray  # bool (n_gates,)
    caps: np.ndarray  # (n_gates,) saturation value of relu gates
    cols: slice  # columns of the value matrix written by this level


class Reference:
    """A circuit compiled for fast batched evaluation.

    Parameters
    ----------
    circuit : Circuit
        A valid circuit (it is validated here).
    """

    def __init__(self, circuit: Circuit) -> None:
        circuit.validate()
        self.circuit = circuit
        # BLAS is exact on integers while every partial sum fits the mantissa.
        maxval = {i.name: i.max_value for i in circuit.inputs}
        maxval.update({g.name: g.max_value for g in circuit.gates})
        bound = max(
            [1]
            + [
                sum(abs(w) * maxval[s] for s, w in zip(g.inputs, g.weights, strict=True)) + abs(g.threshold)
                for g in circuit.gates
            ]
        )
        if bound < 2**24:
            self.dtype: type = np.float32
        elif bound < 2**53:
            self.dtype = np.float64
        else:
            self.dtype = np.int64
        n_in = circuit.n_inputs
        index = {inp.name: k for k, inp in enumerate(circuit.inputs)}
        col = n_in
        self._levels: list[_Level] = []
        order: list[str] = []
        for gates in circuit.levels:
            srcs = sorted({index[s] for g in gates for s in g.inputs})
            row = {s: r for r, s in enumerate(srcs)}
            w = np.zeros((len(srcs), len(gates)), dtype=self.dtype)
            for j, g in enumerate(gates):
                for s, wt in zip(g.inputs, g.weights, strict=True):
                    w[row[index[s]], j] = wt
            self._levels.append(
                _Level(
                    src=_as_slice(srcs),
                    weights=w,
                    thresholds=np.array([g.threshold for g in gates], dtype=self.dtype),
                    relu=np.array([g.kind == "relu" for g in gates]),
                    caps=np.array([g.max_value for g in gates], dtype=self.dtype),
                    cols=slice(col, col + len(gates)),
                )
            )
            for g in gates:
                index[g.name] = col
                order.append(g.name)
                col += 1
        self._n_cols = col
        self._n_outputs = len(circuit.outputs)
        self._out_cols = _as_slice([index[o] for o in circuit.outputs])
        # Gate columns in the circuit's listing order.
        self._gate_cols = np.array([index[g.name] for g in circuit.gates], dtype=np.intp)
        self.chunk = max(2048, _CHUNK_CELLS // max(1, self._n_cols))

    # ------------------------------------------------------------ internals
    def _values(self, X: np.ndarray, buffer: np.ndarray | None = None) -> np.ndarray:
        """Value matrix (rows, inputs + gates in level order) for checked X.

        ``buffer`` (at least as many rows as X) is reused to avoid page faults.
        """
        V = (buffer if buffer is not None else np.empty((X.shape[0], self._n_cols), self.dtype))[: X.shape[0]]
        V[:, : X.shape[1]] = X
        for lv in self._levels:
            out = V[:, lv.cols]
            if lv.weights.shape[0]:
                S = V[:, lv.src] @ lv.weights
            else:
                S = np.zeros((X.shape[0], lv.weights.shape[1]), dtype=self.dtype)
            _activate(S, lv.thresholds, lv.relu, lv.caps, out)
        return V

    def _chunk_map(self, X: np.ndarray, emit: Callable[[slice, np.ndarray], None], workers: int | None) -> None:
        """Evaluate ``X`` chunk by chunk and call ``emit(rows, values)`` for each, from worker threads.

        ``emit`` writes disjoint rows of preallocated outputs, so no lock is
        needed; each worker reuses one buffer.
        """
        n = X.shape[0]
        starts = range(0, n, self.chunk)
        workers = min(workers or default_workers(), len(starts))
        local = threading.local()

        def one(start: int) -> None:
            buf = getattr(local, "buf", None)
            if buf is None:
                buf = local.buf = np.empty((min(self.chunk, n), self._n_cols), dtype=self.dtype)
            rows = slice(start, min(n, start + self.chunk))
            emit(rows, self._values(X[rows], buf))

        with blas_single_thread():
            if workers <= 1:
                for start in starts:
                    one(start)
            else:
                with ThreadPoolExecutor(workers) as pool:
                    for f in [pool.submit(one, start) for start in starts]:
                        f.result()

    # --------------------------------------------------------------- public
    def evaluate(self, X: Any, workers: int | None = None) -> np.ndarray:
        """Outputs, shape (batch, n_outputs), ``int64``.

        ``workers`` threads evaluate chunks in parallel (default:
        :func:`default_workers`); the result does not depend on it.
        """
        X = check_vectors(self.circuit, X)
        out = np.empty((X.shape[0], self._n_outputs), dtype=np.int64)

        def emit(rows: slice, V: np.ndarray) -> None:
            out[rows] = V[:, self._out_cols]

        self._chunk_map(X, emit, workers)
        return out

    def activity(self, X: Any, workers: int | None = None) -> np.ndarray:
        """Number of gates with a nonzero output per vector, shape (batch,)."""
        return self.run(X, workers)[1]

    def run(self, X: Any, workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and activity in one pass."""
        X = check_vectors(self.circuit, X)
        out = np.empty((X.shape[0], self._n_outputs), dtype=np.int64)
        act = np.empty(X.shape[0], dtype=np.int64)
        n_in = self.circuit.n_inputs

        def emit(rows: slice, V: np.ndarray) -> None:
            out[rows] = V[:, self._out_cols]
            act[rows] = np.count_nonzero(V[:, n_in:], axis=1)

        self._chunk_map(X, emit, workers)
        return out, act

    def gate_values(self, X: Any, workers: int | None = None) -> np.ndarray:
        """Every gate's value, shape (batch, size), columns in ``circuit.gates`` order."""
        X = check_vectors(self.circuit, X)
        out = np.empty((X.shape[0], len(self._gate_cols)), dtype=np.int64)

        def emit(rows: slice, V: np.ndarray) -> None:
            out[rows] = V[:, self._gate_cols]

        self._chunk_map(X, emit, workers)
        return out

    def activity_of_range(self, start: int, stop: int) -> np.ndarray:
        """Activity of the exhaustive vectors ``start .. stop-1`` (no range checks needed)."""
        with blas_single_thread():
            V = self._values(enumerate_inputs(self.circuit, start, stop))
        return np.count_nonzero(V[:, self.circuit.n_inputs :], axis=1)

    def max_activity(
        self,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
        chunk_bits: int | None = None,
    ) -> tuple[int, int]:
        """The largest activity over every input vector, and the first vector index reaching it.

        Enumerates the ``2**input_bits`` vectors of :func:`enumerate_inputs`
        in chunks of ``2**chunk_bits`` rows (default :data:`_ENUM_BITS`) on
        ``workers`` threads, with the input part of every sum split into a
        per-chunk row and a shared table (see the module docstring). Stops
        early when every gate fires.

        Parameters
        ----------
        progress : callable, optional
            ``progress(done, total)`` in vectors, from the calling thread.
        workers : int, optional
            Threads (default :func:`default_workers`).
        chunk_bits : int, optional
            log2 of the rows per chunk.

        Returns
        -------
        (int, int)
            The maximum activity and the smallest vector index ``k`` with it.
        """
        return _Enumeration(self, chunk_bits).run(progress, workers or default_workers())


def _activate(S: np.ndarray, thresholds: np.ndarray, relu: np.ndarray, caps: np.ndarray, out: np.ndarray) -> None:
    """Gate outputs from sums: ``S >= t`` (threshold) or ``clip(S - t, 0, cap)`` (relu), into ``out``.

    ``S`` (rows, gates) may be overwritten.
    """
    if not relu.any():
        np.greater_equal(S, thresholds, out=out, casting="unsafe")
        return
    S -= thresholds
    if relu.all():
        np.clip(S, 0, caps, out=out)
    else:
        out[...] = np.where(relu, np.clip(S, 0, caps), S >= 0)


class _Enumeration:
    """The exhaustive enumeration of :meth:`Reference.max_activity`.

    Values are held for the gates only, in level order. The input weights of
    every gate form ``w_in`` (inputs, gates); the chunk with high bits ``H``
    then has input sums ``table + row(H)`` with ``table = X(L) @ w_in`` for
    the chunk's low bits ``L`` and ``row(H) = X(H) @ w_in``; ``row(H)`` is
    folded into the thresholds. Every figure is an integer bounded by the
    bound that chose the reference's dtype, so float arithmetic is exact.
    """

    def __init__(self, ref: Reference, chunk_bits: int | None) -> None:
        c = ref.circuit
        self.ref = ref
        self.bits = c.input_bits
        self.m = min(self.bits, _ENUM_BITS if chunk_bits is None else max(0, chunk_bits))
        self.size = c.size
        n_in = c.n_inputs
        dtype = ref.dtype
        n_gates = ref._n_cols - n_in
        w_in = np.zeros((n_in, n_gates), dtype=np.int64)
        self.levels: list[tuple[np.ndarray | slice, np.ndarray | None, slice, _Level]] = []
        for lv in ref._levels:
            src = np.arange(ref._n_cols)[lv.src]
            gcols = slice(lv.cols.start - n_in, lv.cols.stop - n_in)
            from_inputs = src < n_in
            w_in[src[from_inputs], gcols] = lv.weights[from_inputs].astype(np.int64)
            gsrc = src[~from_inputs] - n_in
            w_g = lv.weights[~from_inputs]
            self.levels.append((_as_slice(gsrc.tolist()), w_g if len(gsrc) else None, gcols, lv))
        self.w_in = w_in
        self.thresholds = (
            np.concatenate([lv.thresholds for lv in ref._levels]).astype(np.int64)
            if ref._levels
            else np.zeros(0, np.int64)
        )
        low = enumerate_inputs(c, 0, 1 << self.m)
        self.table: np.ndarray = (low @ w_in).astype(dtype)  # exact: integer products in int64
        self.dtype = dtype
        self.ones: np.ndarray | None = np.ones(n_gates, dtype=dtype) if c.is_threshold and dtype != np.int64 else None

    def _chunk(self, j: int, buf: np.ndarray) -> tuple[int, int]:
        """Best activity and its row within chunk ``j``."""
        high = enumerate_inputs(self.ref.circuit, j << self.m, (j << self.m) + 1)[0]
        thr = (self.thresholds - high @ self.w_in).astype(self.dtype)
        V = buf
        for gsrc, w_g, gcols, lv in self.levels:
            part = self.table[:, gcols]
            if w_g is not None:
                S = V[:, gsrc] @ w_g
                S += part
            else:
                S = part if not lv.relu.any() else part.copy()
            _activate(S, thr[gcols], lv.relu, lv.caps, V[:, gcols])
        # Threshold outputs are 0 or 1: their count is a matrix-vector product (exact, < 2**24).
        act = V @ self.ones if self.ones is not None else np.count_nonzero(V, axis=1)
        k = int(np.argmax(act))
        return int(act[k]), k

    def run(self, progress: Callable[[int, int], None] | None, workers: int) -> tuple[int, int]:
        total = 1 << self.bits
        rows = 1 << self.m
        n_chunks = total >> self.m
        n_gates = self.table.shape[1]
        local = threading.local()
        stop = threading.Event()

        def one(j: int) -> tuple[int, int]:
            # Every submitted chunk completes: results are taken in order, so the
            # witness is the smallest index however the threads interleave.
            buf = getattr(local, "buf", None)
            if buf is None:
                buf = local.buf = np.empty((rows, n_gates), dtype=self.dtype)
            a, k = self._chunk(j, buf)
            if a == self.size:
                stop.set()  # submit no more chunks
            return a, (j << self.m) + k

        best, best_k = -1, 0
        done = 0

        def take(result: tuple[int, int]) -> bool:
            nonlocal best, best_k, done
            a, k = result
            if a > best or (a == best and k < best_k):
                best, best_k = a, k
            done += rows
            if progress is not None:
                progress(done, total)
            return best == self.size

        with blas_single_thread():
            if workers <= 1 or n_chunks == 1:
                for j in range(n_chunks):
                    if take(one(j)):
                        break
            else:
                with ThreadPoolExecutor(workers) as pool:
                    # A bounded window of pending chunks keeps memory flat and lets an early stop stop.
                    pending: list[Any] = []
                    j = 0
                    while j < n_chunks or pending:
                        while j < n_chunks and len(pending) < 2 * workers and not stop.is_set():
                            pending.append(pool.submit(one, j))
                            j += 1
                        if not pending:
                            break
                        if take(pending.pop(0).result()):
                            break
                    for f in pending:  # an early stop: what runs finishes, what waits is dropped
                        f.cancel()
        if progress is not None and done < total:
            progress(total, total)
        return best, best_k
