"""Input vectors: CSV reading and writing with errors that name file and row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

import numpy as np

from hdlgen.errors import CircuitError, UsageError

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = [
    "format_csv",
    "iter_vectors",
    "open_vectors",
    "random_vectors",
    "read_vectors",
    "read_vectors_file",
    "seeded_rng",
]


def read_vectors(circuit: Circuit, stream: TextIO, source: str = "<stdin>") -> np.ndarray:
    """Read input vectors from CSV text: one row per vector, columns in input order.

    A first row of input names (in order) is allowed as a header. Blank lines
    are skipped.

    Parameters
    ----------
    circuit : Circuit
        Gives the number of columns, their names and their ranges.
    stream : text file
        The CSV text.
    source : str
        File name used in error messages.

    Returns
    -------
    numpy.ndarray of int64, shape (n_vectors, n_inputs)

    Raises
    ------
    CircuitError
        ``"<source>: row <line>: ..."`` for the first bad row.
    """
    chunks = list(iter_vectors(circuit, stream, source))
    if not chunks:
        return np.zeros((0, circuit.n_inputs), dtype=np.int64)
    return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]


def iter_vectors(
    circuit: Circuit, stream: TextIO, source: str = "<stdin>", chunk: int = 1 << 16
) -> Iterator[np.ndarray]:
    """:func:`read_vectors` in chunks of at most ``chunk`` rows (memory bounded by the chunk, not the file).

    Yields
    ------
    numpy.ndarray of int64, shape (rows, n_inputs)
        The rows before a bad row are yielded before its error is raised.

    Raises
    ------
    CircuitError
        As :func:`read_vectors`.
    """
    names = [i.name for i in circuit.inputs]
    maxima = [i.max_value for i in circuit.inputs]
    rows: list[list[int]] = []
    first = True
    line = 0
    reader = csv.reader(stream)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CircuitError(f"{source}: malformed CSV: {exc}") from None
        line += 1
        cells = [c.strip() for c in row]
        if not cells or all(c == "" for c in cells):
            continue
        if first:
            first = False
            if any(not _looks_int(c) for c in cells):
                if cells != names:
                    raise CircuitError(
                        f"{source}: row {line}: header {','.join(cells)!r} does not match the "
                        f"circuit's inputs {','.join(names)!r}"
                    )
                continue
        if len(cells) != len(names):
            raise CircuitError(f"{source}: row {line}: {len(cells)} values, expected {len(names)} (one per input)")
        vec = []
        for cell, name, hi in zip(cells, names, maxima, strict=True):
            if not _looks_int(cell):
                raise CircuitError(f"{source}: row {line}, input '{name}': {cell!r} is not an integer")
            v = int(cell)
            if not 0 <= v <= hi:
                raise CircuitError(f"{source}: row {line}, input '{name}': value {v} out of range [0, {hi}]")
            vec.append(v)
        rows.append(vec)
        if len(rows) >= chunk:
            yield np.array(rows, dtype=np.int64).reshape(len(rows), len(names))
            rows = []
    if rows:
        yield np.array(rows, dtype=np.int64).reshape(len(rows), len(names))


def _looks_int(cell: str) -> bool:
    s = cell[1:] if cell[:1] in "+-" else cell
    return s.isdigit() and s.isascii()


def format_csv(header: Iterable[str], table: np.ndarray) -> str:
    """CSV text: a header row and integer rows."""
    buf = io.StringIO()
    buf.write(",".join(header) + "\n")
    if table.size:
        np.savetxt(buf, table, fmt="%d", delimiter=",")
    return buf.getvalue()


def seeded_rng(seed: int | None, parameter: str = "seed") -> np.random.Generator:
    """NumPy's generator for ``seed`` (``None``: fresh entropy).

    Raises
    ------
    UsageError
        Naming ``parameter`` when ``seed`` is not a non-negative integer (NumPy's own error names nothing).
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0):
        raise UsageError(f"{parameter} must be a non-negative integer, not {seed!r}", parameter)
    return np.random.default_rng(seed)


def random_vectors(circuit: Circuit, count: int, seed: int = 0) -> np.ndarray:
    """``count`` uniformly random input vectors, reproducible from ``seed`` (UsageError when it is negative)."""
    rng = seeded_rng(seed)
    maxima = np.array([i.max_value for i in circuit.inputs], dtype=np.int64)
    return rng.integers(0, maxima + 1, size=(count, circuit.n_inputs), dtype=np.int64)


def read_vectors_file(circuit: Circuit, path: str) -> np.ndarray:
    """:func:`read_vectors` from a file, or from stdin when ``path`` is ``"-"``."""
    with open_vectors(path) as (stream, source):
        return read_vectors(circuit, stream, source)


@contextmanager
def open_vectors(path: str) -> Iterator[tuple[TextIO, str]]:
    """A vectors file (or stdin for ``"-"``) opened for :func:`iter_vectors`, with its name for errors.

    Raises
    ------
    CircuitError
        When the file is missing or is a directory.
    """
    import sys

    if path == "-":
        yield sys.stdin, "<stdin>"
        return
    try:
        f = open(path, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise CircuitError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CircuitError(f"{path}: is a directory, not a vectors file") from None
    with f:
        yield f, path
