"""The port layout of a generated design: the one place the bit layout of ``i_data`` and ``o_data`` lives.

Every design hdlgen generates has the ports ``clk``, ``rst``, ``i_valid``,
``i_data``, ``o_valid``, ``o_data``, ``o_energy`` and, for a classifier,
``o_class``. Circuit inputs are packed into ``i_data`` in file order, input 0
at bit 0, each as wide as its ``bits``; outputs are packed into ``o_data``
the same way (a relu gate's output is ``bits`` wide, a threshold gate's 1).
The reference, the vectors files, the HDL top, the simulation, the host
protocol, the synthesis harness and the formal proof all read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hdlgen.ir.classify import class_labels

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = ["PORT_NAMES", "Field", "PortLayout", "input_fields", "latency"]

#: The ports of every generated design, in declaration order (``o_class`` follows for classifiers).
PORT_NAMES = ("clk", "rst", "i_valid", "i_data", "o_valid", "o_data", "o_energy")


def latency(circuit: Circuit, pipeline: bool = False) -> int:
    """Clock edges from ``i_valid`` sampled high to the matching ``o_valid``.

    The generated pipeline registers every level once, so the latency is the
    circuit's depth (at least 1: a circuit whose outputs are inputs still
    passes through one register stage). With ``pipeline`` (a register stage
    inside every gate's adder tree) it is twice the depth.
    """
    return max(1, 2 * circuit.depth if pipeline else circuit.depth)


@dataclass(frozen=True)
class Field:
    """One signal's bits inside a packed port: ``port[offset : offset + width]``."""

    name: str
    offset: int
    width: int

    @property
    def stop(self) -> int:
        """One past the field's most significant bit."""
        return self.offset + self.width


def _fields(names_and_widths: list[tuple[str, int]]) -> tuple[Field, ...]:
    out, pos = [], 0
    for name, width in names_and_widths:
        out.append(Field(name, pos, width))
        pos += width
    return tuple(out)


def input_fields(circuit: Circuit) -> tuple[Field, ...]:
    """The circuit inputs' fields in ``i_data``: input 0 at bit 0, each as wide as its ``bits``.

    :attr:`PortLayout.inputs`, without the rest of the layout (for the
    exhaustive enumeration, which numbers vectors by their ``i_data`` word).

    Parameters
    ----------
    circuit : Circuit

    Returns
    -------
    tuple of Field
        One per circuit input, in order.
    """
    return _fields([(i.name, i.bits) for i in circuit.inputs])


def _nbytes(bits: int) -> int:
    return max(1, (bits + 7) // 8)


@dataclass(frozen=True)
class PortLayout:
    """Bit layout and widths of a design's ports.

    Attributes
    ----------
    inputs : tuple of Field
        The circuit inputs inside ``i_data``, in file order.
    outputs : tuple of Field
        The circuit outputs inside ``o_data``, in order.
    energy_width : int
        Width of ``o_energy``: enough for the number of gates.
    class_width : int or None
        Width of ``o_class`` (the index of the largest output), or None when
        the circuit is not a classifier.
    latency : int
        Clock edges from ``i_valid`` to the matching ``o_valid``.
    size : int
        Number of gates.
    """

    inputs: tuple[Field, ...]
    outputs: tuple[Field, ...]
    energy_width: int
    class_width: int | None
    latency: int
    size: int

    @classmethod
    def of(cls, circuit: Circuit, pipeline: bool = False) -> PortLayout:
        """The layout of the design generated for ``circuit`` (``pipeline``: the ``--pipeline`` option).

        Raises
        ------
        CircuitError
            When ``meta["classes"]`` is malformed.
        """
        labels = class_labels(circuit)
        return cls(
            inputs=input_fields(circuit),
            outputs=_fields([(o, circuit.signal_bits(o)) for o in circuit.outputs]),
            energy_width=max(1, circuit.size.bit_length()),
            class_width=max(1, (len(circuit.outputs) - 1).bit_length()) if labels is not None else None,
            latency=latency(circuit, pipeline),
            size=circuit.size,
        )

    # ----------------------------------------------------------- widths
    @property
    def input_bits(self) -> int:
        """Total bits of the circuit inputs (0 for a circuit without inputs)."""
        return self.inputs[-1].stop if self.inputs else 0

    @property
    def output_bits(self) -> int:
        """Total bits of the circuit outputs."""
        return self.outputs[-1].stop if self.outputs else 0

    @property
    def i_width(self) -> int:
        """Width of ``i_data`` (at least 1: a port cannot be empty)."""
        return max(1, self.input_bits)

    @property
    def o_width(self) -> int:
        """Width of ``o_data`` (at least 1)."""
        return max(1, self.output_bits)

    @property
    def in_bytes(self) -> int:
        """Bytes of a packed ``i_data`` word."""
        return _nbytes(self.input_bits)

    @property
    def out_bytes(self) -> int:
        """Bytes of a packed ``o_data`` word."""
        return _nbytes(self.output_bits)

    @property
    def classifier(self) -> bool:
        """True when the design has an ``o_class`` port."""
        return self.class_width is not None

    # ---------------------------------------------------------- packing
    def pack_inputs(self, X: np.ndarray) -> list[int]:
        """Packed ``i_data`` words of input vectors.

        Parameters
        ----------
        X : ndarray of int, shape (n, n_inputs)
            Checked input vectors.

        Returns
        -------
        list of int
            One Python integer per vector.
        """
        return [int.from_bytes(row.tobytes(), "little") for row in self.pack_input_bytes(X)]

    def pack_input_bytes(self, X: np.ndarray) -> np.ndarray:
        """Packed ``i_data`` words as little-endian bytes: uint8 array of shape (n, in_bytes)."""
        X = np.asarray(X, dtype=np.int64)
        bits = np.zeros((X.shape[0], self.in_bytes * 8), dtype=np.uint8)
        for j, f in enumerate(self.inputs):
            for b in range(f.width):
                bits[:, f.offset + b] = (X[:, j] >> b) & 1
        return np.packbits(bits, axis=1, bitorder="little")

    def unpack_outputs(self, words: list[int]) -> np.ndarray:
        """Output values from packed ``o_data`` words: int64 array of shape (len(words), n_outputs)."""
        data = np.array([list(w.to_bytes(self.out_bytes, "little")) for w in words], dtype=np.uint8).reshape(
            len(words), self.out_bytes
        )
        return self.unpack_output_bytes(data)

    def unpack_output_bytes(self, data: np.ndarray) -> np.ndarray:
        """Output values from little-endian ``o_data`` bytes (uint8, shape (n, >= out_bytes)): int64 (n, n_outputs)."""
        bits = np.unpackbits(np.asarray(data, dtype=np.uint8), axis=1, bitorder="little").astype(np.int64)
        cols = [(bits[:, f.offset : f.stop] << np.arange(f.width)).sum(axis=1) for f in self.outputs]
        return np.stack(cols, axis=1) if cols else np.zeros((data.shape[0], 0), dtype=np.int64)
