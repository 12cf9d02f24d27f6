"""cocotb test: drive a design with hdlgen's ports (docs/verilog-ports.md) edge by edge and record it.

The stimulus (``HDLGEN_STIMULUS``, an ``.npz``) gives, for every clock edge,
``rst``, ``i_valid`` and ``i_data`` (little-endian bytes of the packed
word). The test records ``o_valid``, ``o_data`` and ``o_energy`` (and
``o_class`` when ``HDLGEN_PORTS`` lists it) as they are after every edge and
writes them to ``HDLGEN_RESULTS``: one line per edge, each port in binary
digits as the simulator shows them (``x``/``z`` kept: an unknown value is
never read as 0), in the format of :func:`hdlgen.sim.traces.read_results`
with ``base=2``. All comparison is done afterwards, in NumPy, by the caller.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


def _words(rows: np.ndarray) -> list[int]:
    return [int.from_bytes(r.tobytes(), "little") for r in rows]


@cocotb.test()
async def run_stimulus(dut) -> None:
    """Apply the stimulus and record the outputs after every edge."""
    stim = np.load(os.environ["HDLGEN_STIMULUS"])
    rst = stim["rst"].astype(int).tolist()
    valid = stim["i_valid"].astype(int).tolist()
    data = _words(stim["i_data"])
    n = len(rst)
    has_class = "o_class" in os.environ.get("HDLGEN_PORTS", "").split(",")
    ports = [dut.o_data, dut.o_energy] + ([dut.o_class] if has_class else [])
    # Outputs other than o_valid are read only where o_valid is not 0 (they mean nothing elsewhere).
    idle = "".join("0" * len(p) for p in ports)
    rows = [""] * n
    clk = dut.clk
    dut.rst.value = 1
    dut.i_valid.value = 0
    dut.i_data.value = 0
    cocotb.start_soon(Clock(clk, 10, unit="ns").start(start_high=False))
    edge = RisingEdge(clk)
    p_rst, p_valid, p_data, o_valid = dut.rst, dut.i_valid, dut.i_data, dut.o_valid

    def record() -> str:
        v = str(o_valid.value)
        return v + ("".join(str(p.value) for p in ports) if v != "0" else idle)

    # The reset above is sampled at a first edge that the stimulus does not count.
    await edge
    last_rst, last_valid, last_data = None, None, None
    for e in range(n):
        if rst[e] != last_rst:
            p_rst.value = last_rst = rst[e]
        if valid[e] != last_valid:
            p_valid.value = last_valid = valid[e]
        if data[e] != last_data:
            p_data.value = last_data = data[e]
        await edge
        # At the edge, the outputs still show what the previous edge left:
        # the state after edge e - 1.
        if e:
            rows[e - 1] = record()
    await edge
    rows[n - 1] = record()
    with open(os.environ["HDLGEN_RESULTS"], "w") as f:
        f.write("\n".join(rows) + "\n")
