"""Gateware of the host link: a UART and a frame engine around the circuit.

:class:`LinkTop` is board independent (ports ``rx``, ``tx``, ``leds``); the
board tops in :mod:`boards` connect it to pins. One inference is in flight at
a time: a valid ``INFER`` frame pulses ``i_valid`` once, the ``RESULT`` frame
goes back when ``o_valid`` comes.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdlgen import protocol as p
from hdlgen.hdl.top import CircuitTop, ClockGateCell, Gating, check_options
from hdlgen.ir.circuit import Circuit

__all__ = ["LinkTop", "UARTReceiver", "UARTTransmitter"]


class UARTReceiver(wiring.Component):
    """8N1 receiver: ``data`` is valid for one cycle with ``strobe``.

    ``rx`` passes two synchronizer flip-flops; each bit is sampled once, in
    its middle (one and a half bits after the start bit's falling edge for
    bit 0); a frame whose stop bit is low is dropped.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (clock frequency in Hz over the baud rate).

    Attributes
    ----------
    rx : Signal, in
        The UART line (idle high).
    data : Signal(8), out
        The received byte, least significant bit first on the line.
    strobe : Signal, out
        High for one cycle when ``data`` holds a new byte.

    Raises
    ------
    ValueError
        When ``divisor`` is below 4 (too few samples per bit).
    """

    def __init__(self, divisor: int) -> None:
        if divisor < 4:
            raise ValueError(f"divisor must be at least 4, not {divisor}")
        self.divisor = divisor
        super().__init__({"rx": In(1, init=1), "data": Out(8), "strobe": Out(1)})

    def elaborate(self, platform: object) -> Module:
        """The synchronizer and the IDLE/DATA/STOP state machine.

        Parameters
        ----------
        platform : amaranth.build.Platform or None
            The platform Amaranth elaborates for; unused (the design is the same on every board).

        Returns
        -------
        Module
        """
        m = Module()
        sync_rx = Signal(2, init=0b11)
        m.d.sync += sync_rx.eq(Cat(self.rx, sync_rx[0]))
        rx = sync_rx[1]
        timer = Signal(range(self.divisor * 3 // 2 + 1))
        bits = Signal(range(9))
        shift = Signal(8)
        m.d.sync += self.strobe.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    # First sample in the middle of bit 0: one and a half bits later.
                    m.d.sync += [timer.eq(self.divisor * 3 // 2 - 1), bits.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [shift.eq(Cat(shift[1:], rx)), bits.eq(bits + 1), timer.eq(self.divisor - 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(rx):
                        m.d.sync += [self.data.eq(shift), self.strobe.eq(1)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
        return m


class UARTTransmitter(wiring.Component):
    """8N1 transmitter: load ``data`` with ``start`` while not ``busy``.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (clock frequency in Hz over the baud rate).

    Attributes
    ----------
    data : Signal(8), in
        The byte to send, taken when ``start`` is high and ``busy`` low.
    start : Signal, in
        Send ``data``.
    busy : Signal, out
        High while a frame (start bit, 8 data bits, stop bit) is on the line.
    tx : Signal, out
        The UART line (idle high).
    """

    def __init__(self, divisor: int) -> None:
        self.divisor = divisor
        super().__init__({"data": In(8), "start": In(1), "busy": Out(1), "tx": Out(1, init=1)})

    def elaborate(self, platform: object) -> Module:
        """A 10-bit shift register clocked out every ``divisor`` cycles.

        Parameters
        ----------
        platform : amaranth.build.Platform or None
            The platform Amaranth elaborates for; unused (the design is the same on every board).

        Returns
        -------
        Module
        """
        m = Module()
        timer = Signal(range(self.divisor))
        shift = Signal(10, init=0x3FF)
        count = Signal(range(11))
        m.d.comb += [self.tx.eq(shift[0]), self.busy.eq(count != 0)]
        with m.If(count == 0):
            with m.If(self.start):
                m.d.sync += [
                    shift.eq(Cat(Const(0, 1), self.data, Const(1, 1))),
                    count.eq(10),
                    timer.eq(self.divisor - 1),
                ]
        with m.Elif(timer == 0):
            m.d.sync += [shift.eq(Cat(shift[1:], Const(1, 1))), count.eq(count - 1), timer.eq(self.divisor - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
        return m


class LinkTop(wiring.Component):
    """A circuit behind the framed UART protocol of :mod:`hdlgen.protocol`.

    Parameters
    ----------
    circuit : Circuit
        A valid circuit (at most 255 classes for a classifier).
    divisor : int
        Clock cycles per UART bit (clock frequency in Hz / baud rate), at least 4.
    gating : {"rtz", "delta", "none"}
        Gating mode of the circuit's gate registers (see :class:`~hdlgen.hdl.CircuitTop`).
    led_hold : int
        Clock cycles ``leds[0]`` stays lit after an inference.
    pipeline : bool
        A register stage inside every gate's adder tree.
    clock_gating : {"enable", "physical"}
        ``"physical"``: gate registers on stopped clocks.
    clock_gate_cell : {"generic", "ecp5", "ice40"}
        The clock gate for ``clock_gating="physical"``.

    Attributes
    ----------
    rx, tx : Signal
        The UART lines (idle high).
    leds : Signal(2)
        ``leds[0]`` lights for a while after each inference; ``leds[1]``
        lights after a bad frame until the next good one.
    layout : hdlgen.protocol.Layout
        The frame layout (payload sizes) of the design.

    Raises
    ------
    CircuitError
        When the circuit has more than 255 classes.
    UsageError
        For a bad combination of options (:func:`~hdlgen.hdl.top.check_options`).
    """

    def __new__(cls, *args: Any, src_loc_at: int = 0, **kwargs: Any) -> LinkTop:
        """Check the options and the frame layout before the component exists.

        As in :class:`~hdlgen.hdl.CircuitTop`: a design refused during
        elaboration would leave Amaranth modules that are never used (and
        ``UnusedElaboratable`` warnings); a refused link is never created.

        Raises
        ------
        CircuitError
            When the circuit has more than 255 classes.
        UsageError
            For an unknown or incompatible option.
        """
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        check_options(a["gating"], a["pipeline"], a["clock_gating"], a["clock_gate_cell"])
        p.Layout.of(a["circuit"], a["pipeline"])
        return super().__new__(cls, *args, src_loc_at=src_loc_at + 1, **kwargs)

    def __init__(
        self,
        circuit: Circuit,
        divisor: int,
        gating: Gating = "rtz",
        led_hold: int = 1 << 20,
        pipeline: bool = False,
        clock_gating: str = "enable",
        clock_gate_cell: ClockGateCell = "generic",
    ) -> None:
        self.circuit = circuit
        self.pipeline = pipeline
        self.clock_gating = clock_gating
        self.clock_gate_cell = clock_gate_cell
        self.divisor = divisor
        self.gating = gating
        self.led_hold = led_hold
        self.layout = p.Layout.of(circuit, pipeline)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(2)})

    def elaborate(self, platform: object) -> Module:
        """The UART, the receive and answer state machines, the circuit and the LEDs.

        Parameters
        ----------
        platform : amaranth.build.Platform or None
            The platform Amaranth elaborates for; unused (the design is the same on every board).

        Returns
        -------
        Module
        """
        m = Module()
        lay = self.layout
        m.submodules.core = core = CircuitTop(
            self.circuit,
            gating=self.gating,
            pipeline=self.pipeline,
            clock_gating=self.clock_gating,
            clock_gate_cell=self.clock_gate_cell,
        )
        m.submodules.rx = rx = UARTReceiver(self.divisor)
        m.submodules.tx = tx = UARTTransmitter(self.divisor)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx)]
        frame = self._receive(m, rx)

        # -------------------------------------------------------- inference
        result = Signal(lay.out_bytes * 8)
        energy = Signal(lay.energy_bytes * 8)
        klass = Signal(8)
        m.d.comb += core.i_data.eq(frame.buffer[: len(core.i_data)])
        m.d.sync += core.i_valid.eq(0)

        self._answer(m, tx, core, frame, result, energy, klass)
        self._leds(m, core, frame)
        return m

    def _receive(self, m: Module, rx: UARTReceiver) -> _Request:
        """The receive state machine: check each frame, keep an INFER payload, decide the answer."""
        lay = self.layout
        ftype = Signal(8)
        length = Signal(16)
        count = Signal(16)
        csum = Signal(8)
        buffer = Signal(lay.in_bytes * 8)
        error = Signal(8)  # error code to report, 0: none
        request = Signal(8)  # frame type to answer
        go = Signal()  # a frame was accepted or rejected: answer it
        m.d.sync += go.eq(0)
        with m.FSM(name="rx_fsm"):
            with m.State("SYNC"):
                with m.If(rx.strobe & (rx.data == p.SYNC)):
                    m.d.sync += csum.eq(0)
                    m.next = "VERSION"
            with m.State("VERSION"):
                with m.If(rx.strobe):
                    m.d.sync += [csum.eq(rx.data), error.eq(Mux(rx.data != p.VERSION, 2, 0))]
                    m.next = "TYPE"
            with m.State("TYPE"):
                with m.If(rx.strobe):
                    m.d.sync += [ftype.eq(rx.data), csum.eq(csum + rx.data)]
                    m.next = "LEN_LO"
            with m.State("LEN_LO"):
                with m.If(rx.strobe):
                    m.d.sync += [length[:8].eq(rx.data), csum.eq(csum + rx.data)]
                    m.next = "LEN_HI"
            with m.State("LEN_HI"):
                with m.If(rx.strobe):
                    m.d.sync += [length[8:].eq(rx.data), csum.eq(csum + rx.data), count.eq(0)]
                    with m.If(Cat(length[:8], rx.data) == 0):
                        m.next = "CHECK"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(rx.strobe):
                    m.d.sync += [csum.eq(csum + rx.data), count.eq(count + 1)]
                    with m.If(count < lay.in_bytes):
                        m.d.sync += buffer.eq(Cat(buffer[8:], rx.data) if lay.in_bytes > 1 else rx.data)
                    with m.If(count + 1 == length):
                        m.next = "CHECK"
            with m.State("CHECK"):
                with m.If(rx.strobe):
                    m.next = "SYNC"
                    m.d.sync += go.eq(1)
                    with m.If(error != 0):
                        m.d.sync += request.eq(p.ERROR)
                    with m.Elif((csum + rx.data)[:8] != 0):
                        m.d.sync += [request.eq(p.ERROR), error.eq(1)]
                    with m.Elif(ftype == p.INFER):
                        with m.If(length != lay.in_bytes):
                            m.d.sync += [request.eq(p.ERROR), error.eq(3)]
                        with m.Else():
                            m.d.sync += request.eq(p.INFER)
                    with m.Elif(ftype == p.HELLO):
                        m.d.sync += request.eq(p.HELLO)
                    with m.Else():
                        m.d.sync += [request.eq(p.ERROR), error.eq(4)]
        return _Request(buffer, error, request, go)

    def _answer(
        self,
        m: Module,
        tx: UARTTransmitter,
        core: CircuitTop,
        frame: _Request,
        result: Signal,
        energy: Signal,
        klass: Signal,
    ) -> None:
        """The answer state machine: run an inference or pick INFO/ERROR, then send the frame byte by byte."""
        lay = self.layout
        info = lay.info_payload()
        n_result = lay.result_bytes
        payload_len = Signal(16)
        rtype = Signal(8)
        payload = Array(
            [result.word_select(k, 8) for k in range(lay.out_bytes)]
            + [energy.word_select(k, 8) for k in range(lay.energy_bytes)]
            + [klass] * lay.class_bytes
            + [Const(0, 8)] * max(0, len(info) - n_result)
        )
        info_bytes = Array([Const(b, 8) for b in info])
        index = Signal(16)
        tx_sum = Signal(8)
        byte = Signal(8)
        error, request, go = frame.error, frame.request, frame.go
        with m.FSM(name="tx_fsm"):
            with m.State("IDLE"):
                with m.If(go):
                    with m.If(request == p.INFER):
                        m.d.sync += core.i_valid.eq(1)
                        m.next = "WAIT"
                    with m.Elif(request == p.HELLO):
                        m.d.sync += [rtype.eq(p.INFO), payload_len.eq(len(info))]
                        m.next = "SEND"
                    with m.Else():
                        m.d.sync += [rtype.eq(p.ERROR), payload_len.eq(1)]
                        m.next = "SEND"
                    m.d.sync += index.eq(0)
            with m.State("WAIT"):
                with m.If(core.o_valid):
                    m.d.sync += [
                        result.eq(core.o_data),
                        energy.eq(core.o_energy),
                        klass.eq(core.o_class if lay.classes else 0),
                        rtype.eq(p.RESULT),
                        payload_len.eq(n_result),
                    ]
                    m.next = "SEND"
            with m.State("SEND"):
                # byte 0: SYNC, 1: VERSION, 2: TYPE, 3-4: LEN, then payload, then CHECK
                with m.If(index == 0):
                    m.d.comb += byte.eq(p.SYNC)
                with m.Elif(index == 1):
                    m.d.comb += byte.eq(p.VERSION)
                with m.Elif(index == 2):
                    m.d.comb += byte.eq(rtype)
                with m.Elif(index == 3):
                    m.d.comb += byte.eq(payload_len[:8])
                with m.Elif(index == 4):
                    m.d.comb += byte.eq(payload_len[8:])
                with m.Elif(index < payload_len + 5):
                    with m.If(rtype == p.INFO):
                        m.d.comb += byte.eq(info_bytes[index - 5])
                    with m.Elif(rtype == p.ERROR):
                        m.d.comb += byte.eq(error)
                    with m.Else():
                        m.d.comb += byte.eq(payload[index - 5])
                with m.Else():
                    m.d.comb += byte.eq(-tx_sum)
                with m.If(~tx.busy):
                    m.d.comb += [tx.data.eq(byte), tx.start.eq(1)]
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == 0):
                        m.d.sync += tx_sum.eq(0)
                    with m.Else():
                        m.d.sync += tx_sum.eq(tx_sum + byte)
                    with m.If(index == payload_len + 5):
                        m.d.sync += error.eq(0)
                        m.next = "IDLE"

    def _leds(self, m: Module, core: CircuitTop, frame: _Request) -> None:
        """``leds[0]``: held on for ``led_hold`` cycles after each inference; ``leds[1]``: the last frame was bad."""
        hold = Signal(range(self.led_hold + 1))
        with m.If(core.o_valid):
            m.d.sync += hold.eq(self.led_hold)
        with m.Elif(hold != 0):
            m.d.sync += hold.eq(hold - 1)
        bad = Signal()
        with m.If(frame.go):
            m.d.sync += bad.eq(frame.request == p.ERROR)
        m.d.comb += self.leds.eq(Cat(hold != 0, bad))


@dataclass(frozen=True)
class _Request:
    """What the receive state machine hands to the answer: the INFER payload, the error code, the answer's type."""

    buffer: Signal
    error: Signal
    request: Signal
    go: Signal
