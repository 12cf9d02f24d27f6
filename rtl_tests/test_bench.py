"""cocotb test for the self-clocked testbench: wait until it says it is done.

The clock, the stimulus, the recording of the outputs and the toggle
counters all live in the Verilog testbench (see
:func:`hdlgen.sim.testbench.bench_verilog`); Python only starts the
simulation and waits, so it runs at the simulator's own speed.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import RisingEdge


@cocotb.test()
async def run_bench(dut) -> None:
    """Wait for ``done``."""
    if str(dut.done.value) != "1":
        await RisingEdge(dut.done)
