"""Circuits from scikit-learn's ``MLPClassifier`` (relu hidden layers).

Rounding, layer by layer (``m_k`` a per-layer power-free scale):

- The model sees ``x = input_scale * x_int`` with ``x_int`` the circuit's
  unsigned ``input_bits``-bit inputs.
- Layer ``k``'s weights become ``round(W_k * m_k)`` with ``m_k`` chosen so
  that the largest magnitude is ``2**(weight_bits - 1) - 1``; its biases
  become ``round(b_k * m_k * s_{k-1})`` where ``s_{k-1}`` is the scale of the
  layer's input (``1 / input_scale`` for the inputs). A relu gate then
  outputs ``s_k * a_k`` with ``s_k = m_k * s_{k-1}``, up to rounding: gates
  have no shifter, so the scales multiply and nothing else is rounded.
- Hidden relu gates are as wide as their largest possible value over the
  input domain (exact, never clamped) unless ``act_bits`` caps them.
- Output layer: multi-class logits become relu gates whose threshold is the
  smallest possible sum and whose width covers the largest, so the argmax of
  the circuit's outputs is the argmax of the rounded logits (the circuit is
  a classifier, ``meta["classes"]``); a binary classifier's single logit
  becomes a threshold gate (fires for ``classes_[1]``).

Only weights and biases are rounded; :func:`from_sklearn` reports the
accuracy before and after on data you pass.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hdlgen.errors import CircuitError
from hdlgen.ir.circuit import Circuit
from hdlgen.ir.classify import CLASSES_KEY

__all__ = ["ImportReport", "from_sklearn", "load_sklearn"]


@dataclass
class ImportReport:
    """An imported circuit and, when data was given, what rounding cost.

    Attributes
    ----------
    circuit : Circuit
    model_accuracy, circuit_accuracy : float or None
        Accuracy of the original model and of the circuit on the given data.
    agreement : float or None
        Fraction of vectors on which both predict the same class.
    """

    circuit: Circuit
    model_accuracy: float | None = None
    circuit_accuracy: float | None = None
    agreement: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        c = self.circuit
        return {
            "name": c.name,
            "size": c.size,
            "depth": c.depth,
            "n_connections": c.n_connections,
            "model_accuracy": self.model_accuracy,
            "circuit_accuracy": self.circuit_accuracy,
            "agreement": self.agreement,
        }


def _interval(lo: np.ndarray, hi: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pos, neg = np.clip(W, 0, None), np.clip(W, None, 0)
    return lo @ pos + hi @ neg + b, hi @ pos + lo @ neg + b


def from_sklearn(
    model: Any,
    input_bits: int = 1,
    input_scale: float = 1.0,
    weight_bits: int = 8,
    act_bits: int | None = None,
    name: str = "mlp",
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
) -> ImportReport:
    """Quantize a fitted ``MLPClassifier`` to a circuit.

    Parameters
    ----------
    model : sklearn.neural_network.MLPClassifier
        Fitted, with ``activation="relu"``.
    input_bits : int
        Width of each circuit input.
    input_scale : float
        The model's input is ``input_scale`` times the circuit's integer input.
    weight_bits : int
        Signed width of the rounded weights (2 to 16).
    act_bits : int, optional
        Cap on hidden relu widths (values above saturate); default: exact.
    name : str
    X, y : array_like, optional
        Integer inputs and labels to report the accuracy before and after.
    """
    try:
        coefs, intercepts = model.coefs_, model.intercepts_
        activation, classes = model.activation, list(model.classes_)
    except AttributeError:
        raise CircuitError(f"{type(model).__name__} is not a fitted MLPClassifier") from None
    if activation != "relu":
        raise CircuitError(f"MLPClassifier activation {activation!r} is not supported (relu only)")
    if not 2 <= weight_bits <= 16:
        raise CircuitError(f"weight bits must be between 2 and 16, not {weight_bits}")
    if not input_scale > 0:
        raise CircuitError(f"input scale must be positive, not {input_scale}")
    qmax = (1 << (weight_bits - 1)) - 1
    n_in = coefs[0].shape[0]
    meta = {
        "source": "sklearn.MLPClassifier",
        "rounding": {"weight_bits": weight_bits, "input_scale": input_scale, "act_bits": act_bits},
    }
    binary = coefs[-1].shape[1] == 1
    if not binary:
        meta[CLASSES_KEY] = [c.item() if isinstance(c, np.generic) else c for c in classes]
    else:
        meta["binary_classes"] = [c.item() if isinstance(c, np.generic) else c for c in classes]
    c = Circuit(name, meta=meta)
    names = c.add_inputs("x", n_in, bits=input_bits)
    scale = 1.0 / input_scale
    lo = np.zeros(n_in)
    hi = np.full(n_in, float((1 << input_bits) - 1))
    last = len(coefs) - 1
    for k, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        peak = float(np.abs(W).max()) or 1.0
        m = qmax / peak
        q = np.round(W * m).astype(np.int64)
        bias = np.round(b * m * scale).astype(np.int64)
        s_lo, s_hi = _interval(lo, hi, q.astype(np.float64), bias.astype(np.float64))
        if k < last:
            top = int(max(1, s_hi.max()))
            bits = min(32, top.bit_length() if act_bits is None else min(act_bits, top.bit_length()))
            names = c.add_layer(f"h{k}_", names, q, -bias, kind="relu", bits=bits)
            lo, hi = np.zeros(len(names)), np.minimum(np.clip(s_hi, 0, None), (1 << bits) - 1)
            scale *= m
        elif binary:
            names = c.add_layer("o", names, q, -bias, kind="threshold")
        else:
            floor = int(np.floor(s_lo.min()))
            span = int(np.ceil(s_hi.max())) - floor
            if span.bit_length() > 32:
                raise CircuitError(f"output logits span {span}: more than 32 bits; lower weight_bits")
            names = c.add_layer("o", names, q, floor - bias, kind="relu", bits=max(1, span.bit_length()))
    c.add_output(*names)
    report = ImportReport(c)
    if X is not None and y is not None:
        X = np.asarray(X, dtype=np.int64)
        y = np.asarray(y)
        want = model.predict(X * input_scale)
        out = c.evaluate(X)
        idx = out[:, 0] if binary else np.argmax(out, axis=1)
        got = np.asarray(classes, dtype=object)[idx]
        report.model_accuracy = round(float(np.mean(want == y)), 6)
        report.circuit_accuracy = round(float(np.mean(got == y)), 6)
        report.agreement = round(float(np.mean(got == want)), 6)
    return report


def load_sklearn(path: str | os.PathLike[str]) -> Any:
    """Unpickle a model from a trusted ``.joblib`` / ``.pkl`` file."""
    path = Path(path)
    try:
        if path.suffix == ".joblib":
            import joblib

            return joblib.load(path)
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        raise CircuitError(f"{path}: no such file") from None
    except Exception as exc:  # unpickling raises anything
        raise CircuitError(f"{path}: cannot load the model: {type(exc).__name__}: {exc}") from None
