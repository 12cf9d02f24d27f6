"""Where Verilog generation spends its time, stage by stage (the reproducer of docs/hardware.md).

``to_verilog`` is Amaranth's ``verilog.convert``; this script runs the same
stages one by one and times each:

1. ``hdlgen``: hdlgen's own elaboration (``CircuitTop.elaborate``: gate
   units, adder trees, registers), measured alone;
2. ``fragment``: Amaranth's ``Fragment.get`` (runs stage 1 again and
   builds the fragment tree);
3. ``netlist_rtlil``: Amaranth's ``rtlil.convert_fragment`` (netlist
   building, comb-cycle check, RTLIL text);
4. ``yosys``: Yosys reading the RTLIL and writing Verilog.

Also checks that the stages give the very bytes of ``to_verilog``, and
prints seconds per 1000 connections to show how time grows with size.
Run: ``python bench/bench_verilog.py [--sizes 100 1000 ...] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from amaranth.back import rtlil, verilog
from amaranth.hdl import Value, _ir
from amaranth.lib import wiring

from hdlgen.hdl import CircuitTop, to_verilog
from hdlgen.random_circuits import random_layered


def cpu() -> float:
    """CPU seconds of this process and its finished children (Yosys runs as a child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Clock:
    """Wall and CPU seconds of a stage (on a shared machine CPU seconds are the steadier figure)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu() - self.cpu


def stages(gates: int) -> dict[str, Any]:
    """Stage times for ``gates`` gates (32 inputs, 4 layers, fan-in 16), and the whole ``to_verilog``."""
    c = random_layered(32, [gates // 4] * 4, fan_in=16, seed=1)
    out: dict[str, Any] = {"gates": c.size, "connections": c.n_connections}
    alone = CircuitTop(c)
    with Clock() as hd:
        module = alone.elaborate(None)
    alone._MustUse__silence = module._MustUse__silence = True  # measured, not converted
    design = CircuitTop(c)
    ports = {}
    for path, member, value in design.signature.flatten(design):
        direction = _ir.PortDirection.Input if member.flow == wiring.In else _ir.PortDirection.Output
        ports["__".join(map(str, path))] = (Value.cast(value), direction)
    with Clock() as fr:
        fragment = _ir.Fragment.get(design, None)
    with Clock() as nl:
        text, _ = rtlil.convert_fragment(fragment, ports, c.name, emit_src=False)
    with Clock() as ys:
        staged = verilog._convert_rtlil_text(text, strip_internal_attrs=True)
    with Clock() as whole:
        reference = to_verilog(c).text
    for key, clock in (("hdlgen", hd), ("fragment", fr), ("netlist_rtlil", nl), ("yosys", ys), ("to_verilog", whole)):
        out[f"{key}_s"] = clock.wall
        out[f"{key}_cpu_s"] = clock.cpu
    out["same_bytes"] = staged == reference
    staged_cpu = fr.cpu + nl.cpu + ys.cpu
    out["amaranth_cpu_share"] = (fr.cpu - hd.cpu + nl.cpu) / staged_cpu
    out["hdlgen_cpu_share"] = hd.cpu / staged_cpu
    out["yosys_cpu_share"] = ys.cpu / staged_cpu
    out["cpu_s_per_1000_connections"] = whole.cpu / c.n_connections * 1000
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def bench(sizes: tuple[int, ...]) -> dict[str, Any]:
    rows = [stages(n) for n in sizes]
    return {"stages": rows, "target": "1000 gates <= 5 s; time linear in connections"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = bench(tuple(args.sizes))
    if args.json:
        print(json.dumps(result))
        return
    for row in result["stages"]:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
