"""cocotb test: the host link gateware driven through its UART by cocotbext-uart.

``HDLGEN_LINK`` (a JSON file) gives the baud rate, the clock period and the
frames to send; the test writes the answers (raw bytes, per frame) to
``HDLGEN_RESULTS``. Decoding and comparison are done by the caller with
:mod:`hdlgen.protocol`.
"""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer
from cocotbext.uart import UartSink, UartSource


async def _read(sink: UartSink, n: int) -> bytes:
    # UartSink.read(n) raises QueueEmpty once the bytes already there run out:
    # take one byte at a time, each awaited.
    data = b""
    while len(data) < n:
        data += bytes(await sink.read(1))
    return data


@cocotb.test()
async def link_frames(dut) -> None:
    """Send each frame, collect each answer (header first, then the announced length)."""
    cfg = json.load(open(os.environ["HDLGEN_LINK"]))
    baud, period = cfg["baud"], cfg["period_ns"]
    cocotb.start_soon(Clock(dut.clk, period, unit="ns").start(start_high=False))
    dut.rx.value = 1  # idle high before the UART models start
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await Timer(int(4e9 / baud), unit="ns")
    source = UartSource(dut.rx, baud=baud, bits=8)
    sink = UartSink(dut.tx, baud=baud, bits=8)
    answers = []
    for frame in cfg["frames"]:
        await source.write(bytes.fromhex(frame))
        head = await _read(sink, 5)
        length = head[3] | head[4] << 8
        answers.append((head + await _read(sink, length + 1)).hex())
    json.dump({"answers": answers}, open(os.environ["HDLGEN_RESULTS"], "w"))
