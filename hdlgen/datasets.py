"""Data sets for trained circuits: scikit-learn's digits, encoded for hardware.

The digits data (1,797 8x8 images, pixel values 0..16, ten classes) ships
with scikit-learn: nothing is downloaded. The documented split: a stratified
25% test split drawn with ``split_seed`` (default 0) by
:func:`sklearn.model_selection.train_test_split`, giving 1,347 training and
450 test images. Pixels become circuit inputs of ``input_bits`` bits by
uniform quantization, ``min(p * 2**b // 16, 2**b - 1)`` (1 bit: ``p >= 8``).
A trained circuit records all of this in ``meta["dataset"]`` so that
``hdlgen eval/sim --dataset digits`` rebuild the same test split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hdlgen.errors import CircuitError, UsageError
from hdlgen.ir.circuit import Circuit

__all__ = ["DATASETS", "TEST_SIZE", "Dataset", "dataset_for_circuit", "encode_pixels", "load_dataset"]

DATASETS = ("digits",)
#: Fraction of the data held out for testing.
TEST_SIZE = 0.25


@dataclass(frozen=True)
class Dataset:
    """A data set encoded as circuit inputs, split into training and test parts.

    Attributes
    ----------
    X_train, X_test : ndarray of int64, shape (n, features)
        Encoded inputs, each in ``[0, 2**input_bits)``.
    y_train, y_test : ndarray of int64
        Class indices.
    classes : list of str
        Class labels, in index order.
    meta : dict
        What a circuit records in ``meta["dataset"]``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    meta: dict[str, Any]

    @property
    def input_bits(self) -> int:
        """Bits per input feature."""
        return int(self.meta["input_bits"])


def encode_pixels(pixels: np.ndarray, input_bits: int) -> np.ndarray:
    """Quantize digits pixels (0..16) to ``input_bits``-bit unsigned integers."""
    if not 1 <= input_bits <= 8:
        raise UsageError(f"input bits must be between 1 and 8, not {input_bits}")
    p = np.asarray(pixels, dtype=np.int64)
    return np.minimum((p << input_bits) // 16, (1 << input_bits) - 1)


def load_dataset(name: str = "digits", input_bits: int = 2, split_seed: int = 0) -> Dataset:
    """Load and encode a data set with the documented split.

    Parameters
    ----------
    name : {"digits"}
    input_bits : int
        Bits per pixel (1 to 8).
    split_seed : int
        Seed of the stratified train/test split.
    """
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = encode_pixels(data.data, input_bits)
    y = data.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=split_seed, stratify=y)
    meta = {
        "name": name,
        "encoding": "uniform",
        "input_bits": input_bits,
        "split_seed": split_seed,
        "test_size": TEST_SIZE,
        "n_train": len(y_train),
        "n_test": len(y_test),
    }
    return Dataset(X_train, y_train, X_test, y_test, [str(c) for c in range(10)], meta)


def dataset_for_circuit(circuit: Circuit, name: str) -> Dataset:
    """The data set a trained circuit was made for, encoded as it records.

    Raises
    ------
    CircuitError
        When the circuit's inputs do not match the data set's features.
    """
    recorded = (circuit.meta or {}).get("dataset")
    recorded = recorded if isinstance(recorded, dict) else {}
    if recorded and recorded.get("name") not in (None, name):
        raise CircuitError(f"circuit '{circuit.name}' was trained on {recorded.get('name')!r}, not {name!r}")
    bits = recorded.get("input_bits")
    if bits is None:
        widths = {i.bits for i in circuit.inputs}
        if len(widths) != 1:
            raise CircuitError(f"circuit '{circuit.name}': inputs of mixed widths; cannot encode {name!r} for it")
        bits = widths.pop()
    data = load_dataset(name, int(bits), int(recorded.get("split_seed", 0)))
    features = data.X_test.shape[1]
    if circuit.n_inputs != features:
        raise CircuitError(f"circuit '{circuit.name}' has {circuit.n_inputs} inputs; {name!r} has {features} features")
    if any(i.bits < data.input_bits for i in circuit.inputs):
        raise CircuitError(f"circuit '{circuit.name}': inputs narrower than the {data.input_bits}-bit encoding")
    return data
