"""The host side of the link: send vectors to a board over its serial port."""

from __future__ import annotations

from typing import Any

from hdlgen import protocol as p
from hdlgen.errors import ToolError

__all__ = ["HostLink", "LinkError"]


class LinkError(ToolError):
    """The board did not answer, or answered something unexpected."""


class HostLink:
    """A board speaking :mod:`hdlgen.protocol` behind a serial port.

    Parameters
    ----------
    port : serial.Serial-like
        An open port (anything with ``read(n)``, ``write(data)``, ``flush()``).
    """

    def __init__(self, port: Any) -> None:
        self.port = port
        self.layout: p.Layout | None = None

    @classmethod
    def open(cls, url: str, baud: int = 115200, timeout: float = 2.0) -> HostLink:
        """Open a serial port by device path or pyserial URL (``loop://``, ``socket://``...).

        Parameters
        ----------
        url : str
            A device (``/dev/ttyUSB1``) or a pyserial URL.
        baud : int
            Baud rate, in bit/s (8N1).
        timeout : float
            Seconds to wait for each read.

        Raises
        ------
        LinkError
            When the port cannot be opened.
        """
        import serial

        try:
            port = serial.serial_for_url(url, baudrate=baud, timeout=timeout)
        except (serial.SerialException, ValueError) as exc:
            raise LinkError(f"{url}: cannot open the serial port: {exc}") from None
        return cls(port)

    def close(self) -> None:
        """Close the port."""
        self.port.close()

    def _read_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.port.read(n - len(data))
            if not chunk:
                raise LinkError(f"the board stopped answering ({len(data)} of {n} bytes came)")
            data += chunk
        return data

    def _read_frame(self) -> p.Frame:
        skipped = 0
        while self._read_exact(1)[0] != p.SYNC:
            skipped += 1
            if skipped > 4096:
                raise LinkError("no frame from the board (4096 bytes without a sync byte)")
        head = self._read_exact(4)
        length = head[2] | head[3] << 8
        rest = self._read_exact(length + 1)
        try:
            frame, _ = p.decode(bytes([p.SYNC]) + head + rest)
        except p.FrameError as exc:
            raise LinkError(f"bad frame from the board: {exc}") from None
        if frame.type == p.ERROR:
            code = frame.payload[0] if frame.payload else 0
            raise LinkError(f"the board refused the frame: {p.ERRORS.get(code, f'error {code}')}")
        return frame

    def request(self, type_: int, payload: bytes = b"") -> p.Frame:
        """Send one frame and return the answer.

        Parameters
        ----------
        type_ : int
            Frame type (:data:`hdlgen.protocol.INFER`, :data:`~hdlgen.protocol.HELLO`).
        payload : bytes
            The frame's payload.

        Raises
        ------
        LinkError
            When the board does not answer in time, answers a bad frame, or refuses the frame (``ERROR``).
        """
        self.port.write(p.encode(type_, payload))
        self.port.flush()
        return self._read_frame()

    def hello(self) -> p.Layout:
        """Ask the board what design it holds (a ``HELLO`` frame); the answer is kept in :attr:`layout`.

        Raises
        ------
        LinkError
            When the answer is not an ``INFO`` frame.
        """
        frame = self.request(p.HELLO)
        if frame.type != p.INFO:
            raise LinkError(f"expected an INFO frame, got type 0x{frame.type:02x}")
        self.layout = p.Layout.from_info(frame.payload)
        return self.layout

    def infer_class(self, word: int) -> tuple[int, int, int | None]:
        """Run one inference: ``(o_data, o_energy, o_class)``; the class is None unless the design classifies.

        Parameters
        ----------
        word : int
            The packed ``i_data`` word (see :class:`hdlgen.ir.ports.PortLayout`).

        Raises
        ------
        LinkError
            When the answer is not a ``RESULT`` frame of the expected length.
        """
        lay = self.layout or self.hello()
        frame = self.request(p.INFER, word.to_bytes(lay.in_bytes, "little"))
        if frame.type != p.RESULT or len(frame.payload) != lay.result_bytes:
            raise LinkError(f"expected a RESULT frame of {lay.result_bytes} bytes")
        end = lay.out_bytes + lay.energy_bytes
        data = int.from_bytes(frame.payload[: lay.out_bytes], "little")
        energy = int.from_bytes(frame.payload[lay.out_bytes : end], "little")
        return data, energy, (frame.payload[end] if lay.class_bytes else None)

    def run_classes(self, words: list[int]) -> tuple[list[int], list[int], list[int | None]]:
        """Run inferences on packed words, one at a time.

        Parameters
        ----------
        words : list of int
            Packed ``i_data`` words.

        Returns
        -------
        (list of int, list of int, list of int or None)
            The packed ``o_data`` words, the energies (gates that fired, as
            the hardware counted them) and the predicted classes (None for a
            design that does not classify).
        """
        out, energy, classes = [], [], []
        for w in words:
            d, e, k = self.infer_class(int(w))
            out.append(d)
            energy.append(e)
            classes.append(k)
        return out, energy, classes
