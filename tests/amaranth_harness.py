"""Run a CircuitTop in Amaranth's simulator edge by edge."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from hdlgen.hdl import CircuitTop
from hdlgen.ir.circuit import Circuit
from hdlgen.ir.ports import PortLayout


def run(
    circuit: Circuit,
    gating: str,
    X: np.ndarray,
    valid: np.ndarray,
    rst: np.ndarray | None = None,
    pipeline: bool = False,
):
    """Gate registers, o_valid, o_data, o_energy (and o_class for classifiers) after each edge."""
    dut = CircuitTop(circuit, gating=gating, pipeline=pipeline)
    words = PortLayout.of(circuit).pack_inputs(X)
    n = len(words)
    rst = np.zeros(n, dtype=bool) if rst is None else rst
    regs = [dut.gate_registers[g.name] for g in circuit.gates]
    res = {
        "gates": np.zeros((n, len(regs)), np.int64),
        "o_valid": np.zeros(n, bool),
        "o_data": np.zeros((n, len(circuit.outputs)), np.int64),
        "o_energy": np.zeros(n, np.int64),
        "o_class": np.zeros(n, np.int64),
    }

    async def bench(ctx):
        for e in range(n):
            ctx.set(dut.i_data, words[e])
            ctx.set(dut.i_valid, int(valid[e]))
            ctx.set(cd.rst, int(rst[e]))
            await ctx.tick()
            for j, r in enumerate(regs):
                res["gates"][e, j] = ctx.get(r)
            res["o_valid"][e] = ctx.get(dut.o_valid)
            res["o_data"][e] = PortLayout.of(circuit).unpack_outputs([ctx.get(dut.o_data)])[0]
            res["o_energy"][e] = ctx.get(dut.o_energy)
            if dut.classifier:
                res["o_class"][e] = ctx.get(dut.o_class)

    top = Module()
    top.domains.sync = cd = ClockDomain("sync")
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return res
