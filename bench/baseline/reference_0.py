"""The NumPy reference model: batched, exact evaluation of a circuit.

Gates are evaluated level by level. Each level is one gather of the signals
it reads and one matrix product with its weight matrix. The product runs in
``float32`` or ``float64`` (BLAS) only when every partial sum is provably an
integer that the format represents exactly, else in ``int64``; sums that
could leave the ``int64`` range are refused when the circuit is validated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hdlgen.errors import CircuitError

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = ["Reference", "check_vectors", "enumerate_inputs"]

#: Signals held at once while evaluating a chunk (bounds memory).
_CHUNK_CELLS = 1 << 18


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

    Vector ``k`` packs the inputs like ``i_data`` in hardware: input 0 in the
    least significant bits of ``k``, each input as wide as its ``bits``.
    """
    k = np.arange(start, stop, dtype=np.int64)
    cols = []
    offset = 0
    for inp in circuit.inputs:
        cols.append((k >> offset) & inp.max_value)
        offset += inp.bits
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
            if lv.weights.shape[0]:
                S = V[:, lv.src] @ lv.weights
            else:
                S = np.zeros((X.shape[0], lv.weights.shape[1]), dtype=self.dtype)
            S -= lv.thresholds
            out = V[:, lv.cols]
            if lv.relu.all():
                np.clip(S, 0, lv.caps, out=out)
            elif not lv.relu.any():
                np.greater_equal(S, 0, out=out, casting="unsafe")
            else:
                out[...] = np.where(lv.relu, np.clip(S, 0, lv.caps), S >= 0)
        return V

    def _chunks(self, X: np.ndarray) -> Iterator[np.ndarray]:
        buffer = np.empty((min(self.chunk, X.shape[0]), self._n_cols), dtype=self.dtype)
        for start in range(0, X.shape[0], self.chunk):
            yield self._values(X[start : start + self.chunk], buffer)

    # --------------------------------------------------------------- public
    def evaluate(self, X: Any) -> np.ndarray:
        """Outputs, shape (batch, n_outputs), ``int64``."""
        X = check_vectors(self.circuit, X)
        out = np.empty((X.shape[0], self._n_outputs), dtype=np.int64)
        for k, V in enumerate(self._chunks(X)):
            out[k * self.chunk : k * self.chunk + V.shape[0]] = V[:, self._out_cols]
        return out

    def activity(self, X: Any) -> np.ndarray:
        """Number of gates with a nonzero output per vector, shape (batch,)."""
        return self.run(X)[1]

    def run(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and activity in one pass."""
        X = check_vectors(self.circuit, X)
        out = np.empty((X.shape[0], self._n_outputs), dtype=np.int64)
        act = np.empty(X.shape[0], dtype=np.int64)
        for k, V in enumerate(self._chunks(X)):
            rows = slice(k * self.chunk, k * self.chunk + V.shape[0])
            out[rows] = V[:, self._out_cols]
            act[rows] = np.count_nonzero(V[:, self.circuit.n_inputs :], axis=1)
        return out, act

    def gate_values(self, X: Any) -> np.ndarray:
        """Every gate's value, shape (batch, size), columns in ``circuit.gates`` order."""
        X = check_vectors(self.circuit, X)
        out = np.empty((X.shape[0], len(self._gate_cols)), dtype=np.int64)
        for k, V in enumerate(self._chunks(X)):
            out[k * self.chunk : k * self.chunk + V.shape[0]] = V[:, self._gate_cols]
        return out

    def activity_of_range(self, start: int, stop: int) -> np.ndarray:
        """Activity of the exhaustive vectors ``start .. stop-1`` (no range checks needed)."""
        V = self._values(enumerate_inputs(self.circuit, start, stop))
        return np.count_nonzero(V[:, self.circuit.n_inputs :], axis=1)
