"""Training on scikit-learn's digits: the API behind ``hdlgen train --dataset digits``.

Defaults (see docs/training.md): threshold networks have 64 hidden gates of
fan-in 12 reading 2-bit pixels; relu networks 40 hidden gates of fan-in 16
reading 3-bit pixels (relu gates gain more from finer inputs than they cost
in LUTs). Both fit an iCE40UP5K. 150 epochs; 15% of the training split is
held out to pick the epoch, so the test split is never looked at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hdlgen.datasets import Dataset, load_dataset
from hdlgen.errors import CircuitError
from hdlgen.ir.circuit import Circuit
from hdlgen.learn.sparse import Kind, TrainConfig, TrainedNetwork, train_network

__all__ = [
    "DEFAULT_FAN_IN",
    "DEFAULT_HIDDEN",
    "DEFAULT_INPUT_BITS",
    "DEFAULT_PENALTY",
    "TrainReport",
    "evaluate_dataset",
    "train_digits",
]

#: Bits per pixel by hidden-gate kind.
DEFAULT_INPUT_BITS: dict[str, int] = {"threshold": 2, "relu": 3}
#: Activity penalty by hidden-gate kind (mean activity well under 25% at full accuracy).
DEFAULT_PENALTY: dict[str, float] = {"threshold": 0.5, "relu": 0.7}
#: Hidden gates and fan-in by hidden-gate kind.
DEFAULT_HIDDEN: dict[str, int] = {"threshold": 64, "relu": 40}
DEFAULT_FAN_IN: dict[str, int] = {"threshold": 12, "relu": 16}


@dataclass
class TrainReport:
    """A trained circuit and its figures (the keys of ``hdlgen train --json``)."""

    network: TrainedNetwork
    metrics: dict[str, Any]

    @property
    def circuit(self) -> Circuit:
        """The trained circuit."""
        return self.network.circuit


def evaluate_dataset(circuit: Circuit, data: Dataset) -> dict[str, Any]:
    """Accuracy and activity of a classifier circuit on a data set's test split (reference model).

    Returns
    -------
    dict
        ``accuracy``, ``mean_activity`` (mean fraction of gates firing),
        ``mean_firing_gates``, ``max_firing_gates`` (over the test split) and ``vectors``.
    """
    from hdlgen.ir.classify import class_labels, predict
    from hdlgen.ir.reference import Reference

    if class_labels(circuit) is None:
        raise CircuitError(f"circuit '{circuit.name}' is not a classifier (meta 'classes' lists one label per output)")
    outputs, act = Reference(circuit).run(data.X_test)
    pred = predict(circuit, None, outputs)
    return activity_metrics(circuit, pred, act, data.y_test)


def activity_metrics(circuit: Circuit, pred: np.ndarray, act: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Accuracy and activity figures from predictions and per-vector firing counts."""
    size = max(1, circuit.size)
    return {
        "accuracy": round(float((pred == y).mean()), 6),
        "mean_activity": round(float(act.mean()) / size, 6),
        "mean_firing_gates": round(float(act.mean()), 4),
        "max_firing_gates": int(act.max()),
        "vectors": len(y),
    }


def train_digits(
    kind: Kind = "threshold",
    fan_in: int | None = None,
    energy_penalty: float | None = None,
    seed: int = 0,
    input_bits: int | None = None,
    hidden: tuple[int, ...] | None = None,
    output_fan_in: int | None = None,
    epochs: int = 150,
    weight_bits: int = 4,
    validation: float = 0.15,
    split_seed: int = 0,
    energy_time_limit: float | None = 30.0,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> TrainReport:
    """Train a sparse, low-activity classifier circuit on digits.

    Parameters
    ----------
    kind : {"threshold", "relu"}
        Kind of the hidden gates (the class outputs are relu gates).
    fan_in : int, optional
        Most connections per gate (default per kind, :data:`DEFAULT_FAN_IN`).
    energy_penalty : float, optional
        Weight of the activity penalty (default per kind, :data:`DEFAULT_PENALTY`).
    seed : int
        Training seed (initialization, batch order).
    input_bits : int, optional
        Bits per pixel (default per kind, :data:`DEFAULT_INPUT_BITS`).
    hidden : tuple of int, optional
        Hidden gates per layer (default per kind, :data:`DEFAULT_HIDDEN`).
    output_fan_in : int, optional
        Most connections per class output (default: ``fan_in``). A small
        ``fan_in`` with a larger ``output_fan_in`` keeps the first level's
        gates small (with 1-bit pixels and ``fan_in`` 4, functions of four bits) while
        the outputs read enough hidden gates for accuracy.
    epochs, weight_bits, validation
        See :class:`~hdlgen.learn.sparse.TrainConfig`.
    split_seed : int
        Seed of the documented test split (:func:`hdlgen.datasets.load_dataset`).
    energy_time_limit : float or None
        Seconds for the exact-energy MILP; the figure is a proven bound
        otherwise (``energy_exact`` false). None skips the energy.
    name : str, optional
        The circuit's name (default ``digits_KIND``).
    progress : callable, optional
        ``progress(done, total)``: epochs while training, then the exact
        energy's progress (vectors, or the MILP's gap closed).
    on_stage : callable, optional
        ``on_stage(description)`` as each step starts: ``"training"``,
        ``"test split"``, ``"exact energy"``.
    """
    from threadpoolctl import threadpool_limits

    bits = DEFAULT_INPUT_BITS[kind] if input_bits is None else input_bits
    fan_in = DEFAULT_FAN_IN[kind] if fan_in is None else fan_in
    hidden = (DEFAULT_HIDDEN[kind],) if hidden is None else tuple(hidden)
    penalty = DEFAULT_PENALTY[kind] if energy_penalty is None else energy_penalty
    data = load_dataset("digits", bits, split_seed)
    config = TrainConfig(
        kind=kind,
        hidden=tuple(hidden),
        fan_in=fan_in,
        energy_penalty=penalty,
        epochs=epochs,
        weight_bits=weight_bits,
        validation=validation,
        seed=seed,
        output_fan_in=output_fan_in,
    )
    stage = on_stage or (lambda _: None)
    stage("training")
    start = time.perf_counter()
    # Small matrices: one BLAS thread is fastest and does not fight parallel runs.
    with threadpool_limits(1):
        network = train_network(
            data.X_train,
            data.y_train,
            config,
            bits,
            data.classes,
            name=name or f"digits_{kind}",
            meta={"dataset": data.meta},
            progress=progress,
        )
    seconds = time.perf_counter() - start
    circuit = network.circuit
    stage("test split")
    test = evaluate_dataset(circuit, data)
    metrics: dict[str, Any] = {
        "test_accuracy": test["accuracy"],
        "train_accuracy": round(network.train_accuracy, 6),
        "mean_activity": test["mean_activity"],
        "mean_firing_gates": test["mean_firing_gates"],
        "max_firing_gates": test["max_firing_gates"],
    }
    if energy_time_limit is not None:
        from hdlgen.analysis import energy

        stage(f"exact energy (at most {energy_time_limit:g} s)")
        result = energy(circuit, time_limit=energy_time_limit, progress=progress)
        metrics.update(energy=result.value, energy_exact=result.exact, energy_bounds=list(result.bounds))
    metrics.update(
        size=circuit.size,
        depth=circuit.depth,
        n_connections=circuit.n_connections,
        hidden_requested=sum(hidden),
        hidden_kept=network.pruned["kept"],
        pruned_no_inputs=network.pruned["no_inputs"],
        pruned_unread=network.pruned["unread"],
        kind=kind,
        input_bits=bits,
        fan_in=fan_in,
        output_fan_in=fan_in if output_fan_in is None else output_fan_in,
        energy_penalty=penalty,
        seed=seed,
        train_seconds=round(seconds, 2),
    )
    return TrainReport(network, metrics)
