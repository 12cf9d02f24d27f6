"""Circuits that classify: one output per class, the prediction is the largest.

A circuit is a classifier when its ``meta`` has a ``"classes"`` list with one
label per output. The predicted class is the index of the largest output,
the first one on ties (what :func:`numpy.argmax` returns); the generated
hardware computes the same index on an extra port, ``o_class``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from hdlgen.errors import CircuitError

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = ["CLASSES_KEY", "class_labels", "predict"]

#: The ``meta`` key holding the class labels, one per output, in output order.
CLASSES_KEY = "classes"


def class_labels(circuit: Circuit) -> list[Any] | None:
    """The class labels of a classifier circuit, or None when it is not one.

    Raises
    ------
    CircuitError
        When ``meta["classes"]`` is present but not one label per output.
    """
    labels = (circuit.meta or {}).get(CLASSES_KEY)
    if labels is None:
        return None
    if not isinstance(labels, list) or len(labels) != len(circuit.outputs) or len(labels) < 2:
        raise CircuitError(
            f"circuit '{circuit.name}': meta '{CLASSES_KEY}' must list one label per output "
            f"({len(circuit.outputs)} outputs, at least 2)"
        )
    return labels


def predict(circuit: Circuit, X: Any, outputs: np.ndarray | None = None) -> np.ndarray:
    """Index of the largest output for each vector (the first on ties).

    Parameters
    ----------
    circuit : Circuit
    X : array_like, shape (n, n_inputs)
        Input vectors (ignored when ``outputs`` is given).
    outputs : ndarray, optional
        Outputs already computed by the reference.
    """
    y = circuit.evaluate(X) if outputs is None else outputs
    return np.argmax(np.asarray(y), axis=1).astype(np.int64)
