"""A board's top level: the link top wired to the board's UART and LEDs."""

from __future__ import annotations

from typing import Any

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import io
from hdlgen.boards.registry import Board

from hdlgen.hdl.link import LinkTop
from hdlgen.hdl.top import Gating
from hdlgen.ir.circuit import Circuit

__all__ = ["BoardTop"]


class BoardTop(Elaboratable):
    """The circuit behind the host link, on a board's pins.

    Parameters
    ----------
    circuit : Circuit
    board : Board
    baud : int
        UART baud rate (the divisor is the board clock over it).
    gating : {"rtz", "delta", "none"}
    pipeline : bool
        A register stage inside every adder tree (see :class:`hdlgen.hdl.CircuitTop`).
    clock_gating : {"enable", "physical"}
        ``physical``: gate registers on stopped clocks, with the board
        family's clock gate (ECP5 DCCA, iCE40 SB_GB).
    """

    def __init__(
        self,
        circuit: Circuit,
        board: Board,
        baud: int = 115200,
        gating: Gating = "rtz",
        pipeline: bool = False,
        clock_gating: str = "enable",
    ) -> None:
        self.circuit = circuit
        self.board = board
        self.baud = baud
        self.gating = gating
        self.pipeline = pipeline
        self.clock_gating = clock_gating

    def elaborate(self, platform: Any) -> Module:
        """The link top, its UART divisor from the board clock, wired to the UART and LED pins.

        Parameters
        ----------
        platform : amaranth.build.Platform
            The board's amaranth-boards platform (its ``default_clk_frequency``, in Hz, sets the divisor).
        """
        m = Module()
        divisor = round(platform.default_clk_frequency / self.baud)
        m.submodules.link = link = LinkTop(
            self.circuit,
            divisor,
            self.gating,
            led_hold=int(platform.default_clk_frequency // 8),
            pipeline=self.pipeline,
            clock_gating=self.clock_gating,
            clock_gate_cell=self.board.family,
        )
        uart = platform.request(self.board.uart, 0, dir="-")
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [link.rx.eq(rx.i), tx.o.eq(link.tx)]
        for k, number in enumerate(self.board.leds[:2]):
            m.submodules[f"led{k}"] = led = io.Buffer("o", platform.request("led", number, dir="-"))
            m.d.comb += led.o.eq(link.leds[k])
        return m
