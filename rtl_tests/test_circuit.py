"""cocotb test: drive a design with hdlgen's ports (docs/verilog-ports.md) edge by edge and record it.

The stimulus (``HDLGEN_STIMULUS``, an ``.npz``) gives, for every clock edge,
``rst``, ``i_valid`` and ``i_data`` (little-endian bytes of the packed
word). The test records ``o_valid``, ``o_data`` and ``o_energy`` (and
``o_class`` when ``HDLGEN_PORTS`` lists it) as they are after every edge
and writes them to ``HDLGEN_RESULTS``. All comparison is done afterwards,
in NumPy, by the caller: the loop per edge does only the simulator calls it
must.
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


def _reader(handle):
    """A fast ``handle -> int``.

    Through the GPI handle when cocotb exposes it (an integer read with no
    ``LogicArray`` built per call), else through the public ``value``.
    """
    gpi = getattr(handle, "_handle", None)
    if gpi is not None and hasattr(gpi, "get_signal_val_long") and len(handle) <= 32:
        return gpi.get_signal_val_long
    if gpi is not None and hasattr(gpi, "get_signal_val_binstr"):
        binstr = gpi.get_signal_val_binstr
        return lambda: int(binstr(), 2)
    if len(handle) == 1:
        return lambda: int(handle.value)
    return lambda: handle.value.to_unsigned()


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
    o_valid = [0] * n
    o_data = [0] * n
    o_energy = [0] * n
    has_class = "o_class" in os.environ.get("HDLGEN_PORTS", "").split(",")
    o_class = [0] * n
    clk = dut.clk
    dut.rst.value = 1
    dut.i_valid.value = 0
    dut.i_data.value = 0
    cocotb.start_soon(Clock(clk, 10, unit="ns").start(start_high=False))
    edge = RisingEdge(clk)
    p_rst, p_valid, p_data = dut.rst, dut.i_valid, dut.i_data
    get_valid, get_data, get_energy = _reader(dut.o_valid), _reader(dut.o_data), _reader(dut.o_energy)
    get_class = _reader(dut.o_class) if has_class else (lambda: 0)
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
            v = o_valid[e - 1] = get_valid()
            if v:
                o_data[e - 1] = get_data()
                o_energy[e - 1] = get_energy()
                o_class[e - 1] = get_class()
    await edge
    o_valid[n - 1] = get_valid()
    o_data[n - 1] = get_data()
    o_energy[n - 1] = get_energy()
    o_class[n - 1] = get_class()
    width = (len(dut.o_data) + 7) // 8
    np.savez(
        os.environ["HDLGEN_RESULTS"],
        o_valid=np.array(o_valid, dtype=bool),
        o_data=np.frombuffer(b"".join(v.to_bytes(width, "little") for v in o_data), dtype=np.uint8).reshape(n, width),
        o_energy=np.array(o_energy, dtype=np.int64),
        o_class=np.array(o_class, dtype=np.int64),
    )
