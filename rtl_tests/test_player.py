"""cocotb test for the HDL player: run the clock until the player says it is done.

The stimulus and the results are files read and written by the Verilog
player itself (see :func:`hdlgen.sim.run.player_verilog`); Python only
starts the clock, so the simulation runs at the simulator's own speed.
"""

from __future__ import annotations

from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


@cocotb.test()
async def play(dut) -> None:
    """Start the clock and wait for ``done``."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start(start_high=False))
    await RisingEdge(dut.done)
    Path("done").touch()
