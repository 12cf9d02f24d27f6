"""Circuits from NumPy layer matrices: ``from_layers`` and ``.npz`` files.

A network is a list of layers ``(W, T)``: ``W`` of shape (inputs, units) with
integer weights (zero: no connection, so sparse networks are simply matrices
with zeros) and ``T`` one integer threshold per unit. Layer ``k`` reads the
previous layer's units (the circuit inputs for ``k = 0``). An ``.npz`` file
holds ``W0, T0, W1, T1, ...``, and optionally ``kinds`` (one ``"threshold"``
or ``"relu"`` per layer), ``bits`` (relu output widths per layer, 0 for
threshold layers), ``input_bits`` (a scalar or one per input) and
``classes`` (labels of the last layer's units: the circuit then classifies).
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hdlgen.errors import CircuitError
from hdlgen.ir.circuit import Circuit, GateKind
from hdlgen.ir.classify import CLASSES_KEY
from hdlgen.ir.names import sanitize

__all__ = ["NPZ_KEYS", "from_layers", "load_npz", "read_npz"]

NPZ_KEYS = ("kinds", "bits", "input_bits", "classes")
_KINDS: dict[str, GateKind] = {"threshold": "threshold", "relu": "relu"}


def from_layers(
    layers: Sequence[tuple[Any, Any]],
    kinds: str | Sequence[str] = "threshold",
    bits: int | Sequence[int | None] | None = None,
    input_bits: int | Sequence[int] = 1,
    name: str = "net",
    classes: Sequence[Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Circuit:
    """A layered circuit from weight matrices and thresholds.

    Parameters
    ----------
    layers : sequence of (W, T)
        ``W``: integer array of shape (inputs, units); ``T``: integer array of shape (units,).
    kinds : str or sequence of str
        ``"threshold"`` or ``"relu"``, for all layers or one per layer.
    bits : int or sequence, optional
        Output width of relu layers (one value, or one per layer; None for threshold layers).
    input_bits : int or sequence of int
        Width of every circuit input, or one width per input.
    name : str
        The circuit's name.
    classes : sequence, optional
        Class labels of the last layer's units: the circuit becomes a classifier.
    meta : dict, optional
        Extra metadata.

    Returns
    -------
    Circuit
        Inputs ``x0..``, layer ``k``'s gates ``l<k>_<j>``, the last layer as outputs.

    Examples
    --------
    >>> import numpy as np
    >>> c = from_layers([(np.array([[1], [1]]), np.array([2]))], name="and2")
    >>> c.evaluate([[1, 1], [1, 0]]).tolist()
    [[1], [0]]
    """
    if not layers:
        raise CircuitError(f"{name}: no layers")
    n = len(layers)
    kind_list = [kinds] * n if isinstance(kinds, str) else list(kinds)
    bits_list = list(bits) if isinstance(bits, Sequence) else [bits] * n
    if len(kind_list) != n or len(bits_list) != n:
        raise CircuitError(f"{name}: {n} layers but {len(kind_list)} kinds and {len(bits_list)} bits")
    W0 = np.asarray(layers[0][0])
    if W0.ndim != 2:
        raise CircuitError(f"{name}: layer 0 weights must be 2-D (inputs, units), not shape {W0.shape}")
    n_in = W0.shape[0]
    widths = [int(b) for b in np.atleast_1d(input_bits)]
    if np.ndim(input_bits) == 0:
        widths *= n_in
    if len(widths) != n_in:
        raise CircuitError(f"{name}: {len(widths)} input widths for {n_in} inputs")
    all_meta = dict(meta or {})
    if classes is not None:
        all_meta[CLASSES_KEY] = [c if isinstance(c, int | str) else str(c) for c in classes]
    c = Circuit(name, meta=all_meta)
    names = [c.add_input(f"x{i}", w) for i, w in enumerate(widths)]
    for k, ((W, T), kind, b) in enumerate(zip(layers, kind_list, bits_list, strict=True)):
        gate_kind = _KINDS.get(kind) if isinstance(kind, str) else None
        if gate_kind is None:
            raise CircuitError(f"{name}: layer {k}: kind must be 'threshold' or 'relu', not {kind!r}")
        W = np.asarray(W)
        if W.ndim != 2 or W.shape[0] != len(names):
            raise CircuitError(f"{name}: W{k} must have shape ({len(names)}, units), not {W.shape}")
        names = c.add_layer(
            f"l{k}_",
            names,
            W,
            T,
            kind=gate_kind,
            bits=(int(b) if b else None) if gate_kind == "relu" else None,
        )
    c.add_output(*names)
    return c


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, read without pickle (``allow_pickle=False``).

    Raises
    ------
    CircuitError
        One line naming the file: missing, not an archive, corrupt, or holding objects.
    """
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an .npz archive")
        with data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise CircuitError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CircuitError(f"{path}: is a directory, not an .npz file") from None
    # zipfile and zlib report corrupt archives with these; pickled objects are a ValueError
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError, zlib.error) as exc:
        raise CircuitError(f"{path}: not a readable .npz file: {type(exc).__name__}: {exc}") from None


def load_npz(path: str | os.PathLike[str], name: str | None = None) -> Circuit:
    """A circuit from an ``.npz`` of layers (see the module docstring).

    Raises
    ------
    CircuitError
        Naming the file and the key, for missing, extra or malformed arrays.
    """
    path = Path(path)
    arrays = read_npz(path)
    layer_keys = sorted((int(m.group(2)), m.group(0)) for k in arrays if (m := re.fullmatch(r"([WT])(\d+)", k)))
    n = 1 + max((i for i, _ in layer_keys), default=-1)
    if n == 0:
        raise CircuitError(f"{path}: no layers (expected keys W0, T0, W1, T1, ...)")
    for i in range(n):
        for key in (f"W{i}", f"T{i}"):
            if key not in arrays:
                raise CircuitError(f"{path}: key '{key}' is missing")
    extra = sorted(set(arrays) - {k for _, k in layer_keys} - set(NPZ_KEYS))
    if extra:
        raise CircuitError(f"{path}: unknown key '{extra[0]}' (allowed: W<k>, T<k>, {', '.join(NPZ_KEYS)})")
    for key, value in arrays.items():
        if key[0] in "WT" and key[1:].isdigit():
            if value.dtype.kind not in "iuf" or (value.dtype.kind == "f" and not np.all(value == np.round(value))):
                raise CircuitError(f"{path}: key '{key}': values must be integers")
    for key in ("bits", "input_bits"):
        if key in arrays and (arrays[key].dtype.kind not in "iu" or arrays[key].size == 0):
            raise CircuitError(f"{path}: key '{key}': values must be integers")
    kinds = [str(k) for k in arrays["kinds"].reshape(-1)] if "kinds" in arrays else "threshold"
    bits = [int(b) or None for b in arrays["bits"].reshape(-1)] if "bits" in arrays else None
    if bits is None and not isinstance(kinds, str) and "relu" in kinds:
        raise CircuitError(f"{path}: key 'bits' is needed for relu layers")
    ib = arrays.get("input_bits", np.array(1))
    input_bits = int(ib) if ib.ndim == 0 else [int(b) for b in ib.reshape(-1)]
    classes = [str(c) for c in arrays["classes"].reshape(-1)] if "classes" in arrays else None
    try:
        return from_layers(
            [(arrays[f"W{i}"], arrays[f"T{i}"]) for i in range(n)],
            kinds=kinds,
            bits=bits,
            input_bits=input_bits,
            name=name or sanitize(path.stem, "net"),
            classes=classes,
            meta={"input_affine": [{"input": f"x{i}", "mu": 1.0, "lower": 0} for i in range(len(arrays["W0"]))]},
        )
    except CircuitError as exc:
        raise CircuitError(f"{path}: {exc}") from None
