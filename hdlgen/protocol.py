"""The host link's framed protocol (version 1), shared by host and tests.

Every frame, either way::

    0xA5  VERSION  TYPE  LEN_LO  LEN_HI  PAYLOAD[LEN]  CHECK

``VERSION`` is 1. ``CHECK`` makes the sum of every byte after ``0xA5``
(``CHECK`` included) zero modulo 256.

Host to board:

- ``INFER`` (0x01): payload = ``i_data``, little-endian, ``ceil(input_bits / 8)`` bytes.
- ``HELLO`` (0x02): empty payload.

Board to host:

- ``RESULT`` (0x81): payload = ``o_data`` (``ceil(output_bits / 8)`` bytes)
  then ``o_energy`` (``ceil(energy_bits / 8)`` bytes), little-endian, both as
  the hardware computed them; for a classifier (``meta["classes"]``), then
  one byte: ``o_class``, the predicted class.
- ``INFO`` (0x82), the answer to ``HELLO``: ``input_bits`` (2 bytes),
  ``output_bits`` (2), ``energy_bits`` (1), ``size`` (2), ``latency`` (1),
  ``classes`` (1: the number of classes, 0 when the design does not classify).
- ``ERROR`` (0xFF): one byte, 1 bad checksum, 2 bad version, 3 bad length,
  4 unknown type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hdlgen.errors import CircuitError
from hdlgen.ir.ports import PortLayout

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = [
    "ERROR",
    "ERRORS",
    "HELLO",
    "INFER",
    "INFO",
    "RESULT",
    "SYNC",
    "VERSION",
    "Frame",
    "FrameError",
    "Layout",
    "decode",
    "encode",
]

SYNC = 0xA5
VERSION = 1
INFER = 0x01
HELLO = 0x02
RESULT = 0x81
INFO = 0x82
ERROR = 0xFF
ERRORS = {1: "bad checksum", 2: "bad version", 3: "bad length", 4: "unknown type"}


class FrameError(ValueError):
    """A frame could not be decoded."""


@dataclass(frozen=True)
class Frame:
    """A decoded frame.

    Attributes
    ----------
    type : int
        The frame type (``INFER``, ``HELLO``, ``RESULT``, ``INFO``, ``ERROR``).
    payload : bytes
        The payload, at most 65535 bytes.
    """

    type: int
    payload: bytes


def checksum(body: bytes) -> int:
    """The byte that makes ``sum(body) + check == 0 (mod 256)``.

    Parameters
    ----------
    body : bytes
        The frame from its version byte to the end of its payload.

    Returns
    -------
    int
        0 to 255.
    """
    return (-sum(body)) & 0xFF


def encode(type_: int, payload: bytes = b"", version: int = VERSION) -> bytes:
    """A frame's bytes: ``0xA5 VERSION TYPE LEN_LO LEN_HI PAYLOAD CHECK``.

    Parameters
    ----------
    type_ : int
        The frame type, one byte.
    payload : bytes
        At most 65535 bytes.
    version : int
        The protocol version byte (tests send others to see them refused).

    Raises
    ------
    FrameError
        When the payload is longer than 65535 bytes.
    """
    if len(payload) > 0xFFFF:
        raise FrameError(f"payload of {len(payload)} bytes is longer than 65535")
    body = bytes([version, type_, len(payload) & 0xFF, len(payload) >> 8]) + payload
    return bytes([SYNC]) + body + bytes([checksum(body)])


def decode(data: bytes) -> tuple[Frame, bytes]:
    """The first frame in ``data`` and the bytes after it.

    Bytes before the first ``0xA5`` are skipped.

    Parameters
    ----------
    data : bytes
        Received bytes, starting anywhere.

    Raises
    ------
    FrameError
        When ``data`` holds no complete frame, or its version or checksum is wrong.
    """
    start = data.find(bytes([SYNC]))
    if start < 0 or len(data) - start < 6:
        raise FrameError("incomplete frame")
    version, type_, lo, hi = data[start + 1 : start + 5]
    length = lo | hi << 8
    end = start + 5 + length + 1
    if len(data) < end:
        raise FrameError("incomplete frame")
    if version != VERSION:
        raise FrameError(f"frame version {version}, expected {VERSION}")
    body = data[start + 1 : end]
    if sum(body) & 0xFF:
        raise FrameError("bad checksum")
    return Frame(type_, bytes(data[start + 5 : end - 1])), bytes(data[end:])


@dataclass(frozen=True)
class Layout:
    """Byte sizes of a design's frames, as the ``INFO`` frame describes them.

    Built from a circuit (:meth:`of`, through :class:`hdlgen.ir.ports.PortLayout`)
    on the gateware side, and from an ``INFO`` payload (:meth:`from_info`) on
    the host side, which has no circuit.

    Attributes
    ----------
    input_bits, output_bits, energy_bits : int
        Widths of ``i_data``'s circuit inputs, of ``o_data`` and of ``o_energy``.
    size : int
        Number of gates.
    latency : int
        Clock edges from ``i_valid`` to ``o_valid`` (the ``INFO`` frame carries its low byte).
    classes : int
        Number of classes of a classifier (``o_class``), 0 otherwise.
    """

    input_bits: int
    output_bits: int
    energy_bits: int
    size: int
    latency: int
    classes: int = 0

    @property
    def class_bytes(self) -> int:
        """1 when ``RESULT`` carries the predicted class, else 0."""
        return 1 if self.classes else 0

    @property
    def result_bytes(self) -> int:
        """Payload length of a ``RESULT`` frame."""
        return self.out_bytes + self.energy_bytes + self.class_bytes

    @property
    def in_bytes(self) -> int:
        """Payload length of an ``INFER`` frame: ``i_data`` in little-endian bytes."""
        return max(1, (self.input_bits + 7) // 8)

    @property
    def out_bytes(self) -> int:
        """Bytes of ``o_data`` in a ``RESULT`` frame."""
        return max(1, (self.output_bits + 7) // 8)

    @property
    def energy_bytes(self) -> int:
        """Bytes of ``o_energy`` in a ``RESULT`` frame."""
        return max(1, (self.energy_bits + 7) // 8)

    def info_payload(self) -> bytes:
        """The payload of the ``INFO`` frame."""
        return (
            self.input_bits.to_bytes(2, "little")
            + self.output_bits.to_bytes(2, "little")
            + bytes([self.energy_bits])
            + self.size.to_bytes(2, "little")
            + bytes([self.latency & 0xFF, self.classes & 0xFF])
        )

    @classmethod
    def from_info(cls, payload: bytes) -> Layout:
        """Parse an ``INFO`` payload.

        Parameters
        ----------
        payload : bytes
            The 9 bytes of an ``INFO`` frame's payload (see :meth:`info_payload`).

        Returns
        -------
        Layout

        Raises
        ------
        FrameError
            When the payload is not 9 bytes long.
        """
        if len(payload) != 9:
            raise FrameError(f"INFO payload of {len(payload)} bytes, expected 9")
        return cls(
            int.from_bytes(payload[0:2], "little"),
            int.from_bytes(payload[2:4], "little"),
            payload[4],
            int.from_bytes(payload[5:7], "little"),
            payload[7],
            payload[8],
        )

    @classmethod
    def of(cls, circuit: Circuit, pipeline: bool = False) -> Layout:
        """The layout of a circuit's design.

        Parameters
        ----------
        circuit : Circuit
            A valid circuit.
        pipeline : bool
            The design has a register stage inside every adder tree (twice the latency).

        Raises
        ------
        CircuitError
            When a classifier has more than 255 classes (``o_class`` travels in one byte).
        """
        ports = PortLayout.of(circuit, pipeline)
        classes = len(ports.outputs) if ports.classifier else 0
        if classes > 255:
            raise CircuitError(f"circuit '{circuit.name}': the host link carries at most 255 classes, not {classes}")
        return cls(ports.i_width, ports.output_bits, ports.energy_width, ports.size, ports.latency, classes)
