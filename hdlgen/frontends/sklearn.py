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
  becomes a threshold gate firing when the rounded logit is positive (sklearn
  predicts ``classes_[1]`` when the probability exceeds 0.5); a multilabel
  classifier (logistic outputs, one per label) becomes one such threshold
  gate per label (``meta["labels"]``), never a single class.

Only weights and biases are rounded. When the input domain has at most
``2**16`` vectors, :func:`from_sklearn` compares the circuit with ``predict``
on all of them and raises the weight width (up to 16 bits) until they agree
everywhere, else refuses. A larger domain cannot be checked, so the import is
refused unless ``approximate=True`` accepts rounded weights that may change
some predictions; it then reports the agreement on data you pass.
``meta["input_affine"]`` maps model inputs to input codes.

Model files: ``.skops`` files are read with :mod:`skops.io` trusting only the
types an ``MLPClassifier`` needs (:data:`TRUSTED_TYPES`); pickle and joblib
files run code when loaded and are read only with ``trust=True``.
"""

from __future__ import annotations

import itertools
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hdlgen.errors import CircuitError, UsageError
from hdlgen.ir.circuit import Circuit
from hdlgen.ir.classify import CLASSES_KEY

__all__ = ["EXHAUSTIVE_LIMIT", "TRUSTED_TYPES", "ImportReport", "from_sklearn", "load_sklearn"]

#: Types an MLPClassifier's ``.skops`` file holds beyond those skops trusts by default.
TRUSTED_TYPES = [
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
]
#: Input domains up to this many vectors are checked exhaustively against ``predict``.
EXHAUSTIVE_LIMIT = 1 << 16


@dataclass
class ImportReport:
    """An imported circuit and, when data was given, what rounding cost.

    Attributes
    ----------
    circuit : Circuit
    model_accuracy, circuit_accuracy : float or None
        Accuracy of the original model and of the circuit on the given data.
    agreement : float or None
        Fraction of vectors on which both predict the same class (multilabel: the same label set).
    label_agreement : list of float
        Multilabel: per label, the fraction of vectors on which both decide the same.
    checked : str
        ``"exhaustive"`` (equal to ``predict`` on every input), ``"data"`` or ``"none"``.
    """

    circuit: Circuit
    model_accuracy: float | None = None
    circuit_accuracy: float | None = None
    agreement: float | None = None
    label_agreement: list[float] = field(default_factory=list)
    checked: str = "none"

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
            "label_agreement": self.label_agreement or None,
            "checked": self.checked,
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
    approximate: bool = False,
) -> ImportReport:
    """Quantize a fitted ``MLPClassifier`` to a circuit.

    Parameters
    ----------
    model : sklearn.neural_network.MLPClassifier
        Fitted, with ``activation="relu"``; binary, multi-class or multilabel.
    input_bits : int
        Width of each circuit input.
    input_scale : float
        The model's input is ``input_scale`` times the circuit's integer input.
    weight_bits : int
        Signed width of the rounded weights (2 to 16); raised up to 16 when an
        exhaustive check finds a disagreement with ``predict``.
    act_bits : int, optional
        Cap on hidden relu widths (values above saturate); default: exact.
    name : str
    X, y : array_like, optional
        Integer inputs of shape (vectors, inputs) and labels (vectors,) or, multilabel,
        (vectors, labels), to report the accuracy before and after.
    approximate : bool
        Accept a model whose input domain is too large (over ``2**16``
        vectors) to check exhaustively against ``predict``: the circuit uses
        the rounded weights and may disagree with the model on some inputs
        (``checked`` is then ``"data"`` or ``"none"``). Default False: refuse.

    Raises
    ------
    CircuitError
        For a model that is not a fitted relu ``MLPClassifier``, and when no weight width
        up to 16 bits makes the circuit equal ``predict`` on an exhaustively checked domain,
        and for a domain too large to check unless ``approximate``.
    """
    try:
        coefs, intercepts = model.coefs_, model.intercepts_
        activation, classes = model.activation, list(model.classes_)
        out_activation = model.out_activation_
    except AttributeError:
        raise CircuitError(f"{type(model).__name__} is not a fitted MLPClassifier") from None
    if type(model).__name__ != "MLPClassifier":
        raise CircuitError(f"{type(model).__name__} is not supported (MLPClassifier only)")
    if activation != "relu":
        raise CircuitError(f"MLPClassifier activation {activation!r} is not supported (relu only)")
    if not 2 <= weight_bits <= 16:
        raise UsageError(f"weight_bits must be between 2 and 16, not {weight_bits}", "weight_bits")
    if not 1 <= input_bits <= 16:
        raise UsageError(f"input_bits must be between 1 and 16, not {input_bits}", "input_bits")
    if not (np.isfinite(input_scale) and input_scale > 0):
        raise UsageError(f"input_scale must be positive and finite, not {input_scale}", "input_scale")
    if act_bits is not None and not 1 <= act_bits <= 32:
        raise UsageError(f"act_bits must be between 1 and 32, not {act_bits}", "act_bits")
    _check_layers(coefs, intercepts)
    n_in = coefs[0].shape[0]
    multilabel = out_activation == "logistic" and coefs[-1].shape[1] > 1
    binary = coefs[-1].shape[1] == 1
    if len(classes) != (2 if binary else coefs[-1].shape[1]):
        raise CircuitError(f"the model has {len(classes)} classes for {coefs[-1].shape[1]} output units")
    exhaustive = n_in * input_bits <= EXHAUSTIVE_LIMIT.bit_length() - 1
    if not exhaustive and not approximate:
        raise CircuitError(
            f"the input domain has 2**{n_in * input_bits} vectors, too many to check the rounded circuit against "
            "predict (at most 2**16); it may disagree with the model: import it with the approximate option to accept "
            "that and measure the agreement on data"
        )

    def build(bits: int) -> Circuit:
        return _build(
            model, coefs, intercepts, classes, input_bits, input_scale, bits, act_bits, name, binary, multilabel
        )

    if exhaustive:
        grid = np.array(list(itertools.product(range(1 << input_bits), repeat=n_in)), dtype=np.int64)
        want = _model_predict(model, grid * input_scale)
        c = _smallest_exact(build, weight_bits, grid, want, classes, binary, multilabel)
    else:
        c = build(weight_bits)
    report = ImportReport(c, checked="exhaustive" if exhaustive else "none")
    if X is not None and y is not None:
        X, y = np.asarray(X), np.asarray(y)
        _measure_on_data(report, model, X, y, input_bits, input_scale, classes, binary, multilabel)
    return report


def _smallest_exact(
    build: Callable[[int], Circuit],
    weight_bits: int,
    grid: np.ndarray,
    want: np.ndarray,
    classes: list[Any],
    binary: bool,
    multilabel: bool,
) -> Circuit:
    """The circuit of the fewest weight bits from ``weight_bits`` to 16 that equals ``predict`` on ``grid``.

    Raises
    ------
    CircuitError
        When even 16-bit weights disagree with ``want`` on some vector of ``grid``.
    """
    wrong = 0
    for bits in range(weight_bits, 17):
        c = build(bits)
        got = _predict(c, grid, classes, binary, multilabel)
        wrong = int(np.sum(np.any(np.asarray(got != want).reshape(len(grid), -1), axis=1)))
        if wrong == 0:
            return c
    raise CircuitError(
        f"rounding to weights of up to 16 bits changes {wrong} of {len(grid)} predictions "
        "(checked on every input); the model is not importable exactly"
    )


def _measure_on_data(
    report: ImportReport,
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    input_bits: int,
    input_scale: float,
    classes: list[Any],
    binary: bool,
    multilabel: bool,
) -> None:
    """Fill ``report``'s accuracies and agreement on the data ``X``, ``y`` (checked here; see :func:`from_sklearn`).

    Raises
    ------
    CircuitError
        When ``X`` or ``y`` do not fit the model.
    """
    n_in, n_out = model.coefs_[0].shape[0], model.coefs_[-1].shape[1]
    if X.ndim != 2 or X.shape[1] != n_in:
        raise CircuitError(f"data X has shape {X.shape}; the model has {n_in} inputs")
    if len(y) != len(X):
        raise CircuitError(f"data has {len(X)} vectors in X but {len(y)} labels in y")
    if X.dtype.kind not in "iub" or X.min(initial=0) < 0 or X.max(initial=0) >= 1 << input_bits:
        raise CircuitError(f"data X must hold integers from 0 to {(1 << input_bits) - 1} (input_bits)")
    if not multilabel and y.ndim != 1:
        raise CircuitError(f"data y must have shape (vectors,), not {y.shape}")
    if multilabel and (y.ndim != 2 or y.shape[1] != n_out):
        raise CircuitError(f"multilabel data y must have shape (vectors, {n_out}), not {y.shape}")
    X = X.astype(np.int64)
    want = _model_predict(model, X * input_scale)
    got = _predict(report.circuit, X, classes, binary, multilabel)
    same = np.asarray(got == want).reshape(len(X), -1)
    report.model_accuracy = round(float(np.mean(np.all(np.asarray(want == y).reshape(len(X), -1), axis=1))), 6)
    report.circuit_accuracy = round(float(np.mean(np.all(np.asarray(got == y).reshape(len(X), -1), axis=1))), 6)
    report.agreement = round(float(np.mean(np.all(same, axis=1))), 6)
    if multilabel:
        report.label_agreement = [round(float(a), 6) for a in same.mean(axis=0)]
    if report.checked == "none":
        report.checked = "data"


def _check_layers(coefs: Any, intercepts: Any) -> None:
    """Weights that chain: ``coefs_[k]`` (inputs, units) and ``intercepts_[k]`` (units,), finite numbers."""
    try:
        pairs = list(zip(coefs, intercepts, strict=True))
    except (TypeError, ValueError):
        raise CircuitError("the model's coefs_ and intercepts_ are not lists of the same length") from None
    previous = None
    for k, (W, b) in enumerate(pairs):
        if not (isinstance(W, np.ndarray) and isinstance(b, np.ndarray)) or W.dtype.kind != "f" or b.dtype.kind != "f":
            raise CircuitError(f"layer {k}: weights and biases must be float arrays")
        if W.ndim != 2 or b.shape != (W.shape[1],) or (previous is not None and W.shape[0] != previous) or not W.size:
            raise CircuitError(f"layer {k}: weights of shape {W.shape} and biases of shape {b.shape} do not chain")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise CircuitError(f"layer {k}: NaN or infinite weights")
        previous = W.shape[1]
    if not pairs:
        raise CircuitError("the model has no layers")


def _model_predict(model: Any, X: np.ndarray) -> np.ndarray:
    """``model.predict(X)``; a broken model object (a damaged file) becomes a one-line CircuitError."""
    try:
        return np.asarray(model.predict(X))
    except Exception as exc:  # the model's own code: anything can fail in a damaged object
        raise CircuitError(f"the model's predict fails: {type(exc).__name__}: {exc}") from None


def _build(
    model: Any,
    coefs: list[np.ndarray],
    intercepts: list[np.ndarray],
    classes: list[Any],
    input_bits: int,
    input_scale: float,
    weight_bits: int,
    act_bits: int | None,
    name: str,
    binary: bool,
    multilabel: bool,
) -> Circuit:
    qmax = (1 << (weight_bits - 1)) - 1
    n_in = coefs[0].shape[0]
    plain = [c.item() if isinstance(c, np.generic) else c for c in classes]
    meta: dict[str, Any] = {
        "source": "sklearn.MLPClassifier",
        "rounding": {"weight_bits": weight_bits, "input_scale": input_scale, "act_bits": act_bits},
    }
    if multilabel:
        meta["labels"] = plain
    elif binary:
        meta["binary_classes"] = plain
    else:
        meta[CLASSES_KEY] = plain
    c = Circuit(name, meta=meta)
    names = c.add_inputs("x", n_in, bits=input_bits)
    meta["input_affine"] = [{"input": n, "mu": 1.0 / input_scale, "lower": 0} for n in names]
    scale = 1.0 / input_scale
    lo = np.zeros(n_in)
    hi = np.full(n_in, float((1 << input_bits) - 1))
    last = len(coefs) - 1
    for k, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        peak = float(np.abs(W).max()) or 1.0
        m = qmax / peak
        q = np.round(W * m).astype(np.int64)
        exact_bias = b * m * scale
        if not np.all(np.abs(exact_bias) < 2.0**40):
            raise CircuitError(
                f"layer {k}: integer biases would exceed 2**40 (input_scale {input_scale:g} is too small or too large)"
            )
        bias = np.round(exact_bias).astype(np.int64)
        s_lo, s_hi = _interval(lo, hi, q.astype(np.float64), bias.astype(np.float64))
        if k < last:
            top = int(max(1, s_hi.max()))
            bits = min(32, top.bit_length() if act_bits is None else min(act_bits, top.bit_length()))
            names = c.add_layer(f"h{k}_", names, q, -bias, kind="relu", bits=bits)
            lo, hi = np.zeros(len(names)), np.minimum(np.clip(s_hi, 0, None), (1 << bits) - 1)
            scale *= m
        elif binary or multilabel:
            # predict: probability > 0.5, i.e. logit > 0: the rounded sum must reach 1
            names = c.add_layer("o", names, q, 1 - bias, kind="threshold")
        else:
            floor = int(np.floor(s_lo.min()))
            span = int(np.ceil(s_hi.max())) - floor
            if span.bit_length() > 32:
                raise CircuitError(f"output logits span {span}: more than 32 bits; lower weight_bits")
            names = c.add_layer("o", names, q, floor - bias, kind="relu", bits=max(1, span.bit_length()))
    c.add_output(*names)
    return c


def _predict(c: Circuit, X: np.ndarray, classes: list[Any], binary: bool, multilabel: bool) -> np.ndarray:
    """The circuit's predictions in ``predict``'s form."""
    from hdlgen.ir.classify import predict

    out = c.evaluate(X)
    if multilabel:
        return out.astype(np.int64)
    idx = out[:, 0] if binary else predict(c, X, outputs=out)
    return np.asarray(classes, dtype=object)[idx]


def load_sklearn(path: str | os.PathLike[str], trust: bool = False) -> Any:
    """A scikit-learn model from a ``.skops`` file, or from pickle/joblib when ``trust`` is set.

    Parameters
    ----------
    path : path-like
    trust : bool
        Allow ``.pkl``/``.pickle``/``.joblib`` files: unpickling runs any code the file holds.

    Raises
    ------
    CircuitError
        One line naming the file: unreadable, or untrusted types.
    UsageError
        A pickle or joblib file without ``trust`` (parameter ``trust``).
    """
    path = Path(path)
    if not path.is_file():
        raise CircuitError(f"{path}: no such file")
    if path.suffix.lower() == ".skops":
        import skops.io as sio

        try:
            untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        except Exception as exc:  # zip and JSON errors of a malformed file
            raise CircuitError(f"{path}: not a readable .skops file: {type(exc).__name__}: {exc}") from None
        if untrusted:
            raise CircuitError(f"{path}: untrusted type {untrusted[0]!r} in the file (hdlgen reads MLPClassifier only)")
        try:
            return sio.load(path, trusted=TRUSTED_TYPES)
        except Exception as exc:  # skops raises many kinds for malformed content
            raise CircuitError(f"{path}: cannot load the model: {type(exc).__name__}: {exc}") from None
    if not trust:
        raise UsageError(
            f"{path}: pickle and joblib files run code when loaded; save the model with skops.io.dump "
            "as .skops, or load it with trust if you trust this file",
            "trust",
        )
    try:
        if path.suffix.lower() == ".joblib":
            import joblib

            return joblib.load(path)
        with path.open("rb") as fh:
            return pickle.load(fh)
    except Exception as exc:  # unpickling raises anything
        raise CircuitError(f"{path}: cannot load the model: {type(exc).__name__}: {exc}") from None
