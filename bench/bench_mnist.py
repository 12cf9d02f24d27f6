"""MNIST through the whole flow: Verilog, RTL check, place and route, da4ml on the same weights, exact energy.

Run: ``python bench/bench_mnist.py [CIRCUIT] [--target T] [--quick] [--skip-pnr] [--skip-rtl] [--no-place]
[--json]`` (default circuit: ``examples/mnist/mnist_ecp5.json`` on ``ecp5-85k``; the test images are found
through ``$HDLGEN_DATA``, see docs/training.md). Every figure is measured in this run, on this machine:

- ``verilog_s``: Verilog generation for the network (target <= 60 s);
- ``rtl_check_s``: all 10,000 official test images through Verilator with the
  Verilog player, exactly ``hdlgen sim --dataset mnist --driver hdl``: Verilog
  generation, the Verilator build (fresh build cache and an empty ``ccache``,
  so nothing is reused) and the run, bit for bit against the reference
  (target <= 120 s). ``rtl_stages`` splits it into Verilog generation,
  ``verilate`` (Verilator to C++), ``compile`` (C++ compile and link) and
  ``run`` (the simulation and the comparison), each in wall-clock and CPU
  seconds; ``rtl_check_cpu_s`` is the CPU time of the whole check (this
  process and its children);
- ``pnr_s``: ``hdlgen synth --target T`` (Yosys, then nextpnr in the register
  harness) with LUT4, FF, carry and Fmax (ECP5 target <= 20 min);
  ``--no-place`` stops after Yosys's cell counts (no Fmax);
- da4ml: the same integer weights traced by da4ml (``x @ W >= T`` for the
  threshold layer, ``relu(x @ W - T)`` for the class outputs), with its own
  optimizer settings; its function is checked equal to the reference on test
  images twice, by da4ml's Python model and by da4ml's Verilator emulator of
  the Verilog it wrote. That Verilog, with registered inputs and outputs and
  hdlgen's ports, goes through the same Yosys/nextpnr flow and harness:
  ``lut_ratio_vs_da4ml`` = hdlgen LUT4 / da4ml LUT4 (target <= 0.7);
- exact energy: the MILP's bounds within a time limit (``energy_exact`` says
  whether they met).

``--quick`` checks 500 test images and skips place and route and da4ml;
``--skip-rtl`` skips the RTL check and the energy (synthesis and da4ml only).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import hdlgen
from hdlgen.analysis import energy
from hdlgen.datasets import dataset_for_circuit
from hdlgen.errors import ToolError
from hdlgen.hdl import to_verilog
from hdlgen.ir.ports import PortLayout

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "examples" / "mnist" / "mnist_ecp5.json"


def layers_of(c: hdlgen.Circuit) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Dense (W, T, kind) per level of a strictly layered circuit."""
    prev = [i.name for i in c.inputs]
    out = []
    for level in c.levels:
        W = np.zeros((len(prev), len(level)), dtype=np.int64)
        for j, g in enumerate(level):
            for s, w in zip(g.inputs, g.weights, strict=True):
                W[prev.index(s), j] = w
        out.append((W, np.array([g.threshold for g in level]), level[0].kind))
        prev = [g.name for g in level]
    return out


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of the block."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def da4ml_verilog(c: hdlgen.Circuit, X_check: np.ndarray, rtl_check: bool = True) -> tuple[str, int, dict]:
    """da4ml's combinational Verilog for the circuit inside a wrapper with hdlgen's ports and registered outputs.

    Like hdlgen's design, the wrapper reads ``i_data`` straight from its port (the synthesis harness
    registers it) and registers its outputs: the whole network is one combinational path.

    The traced network is checked equal to ``c.evaluate`` on ``X_check`` by da4ml's Python model and,
    with ``rtl_check``, by da4ml's own Verilator emulator of the Verilog it wrote.

    Returns the Verilog text (top module ``<name>_da4ml``), the width of its ``o_data`` and timings.
    """
    from da4ml.codegen import VerilogModel
    from da4ml.trace import FixedVariableArrayInput, comb_trace

    from hdlgen.toolchain.tools import verilator_env

    if {i.bits for i in c.inputs} != {1}:
        raise ValueError("da4ml comparison: 1-bit inputs only")
    info: dict = {}
    t, cpu = time.perf_counter(), time.process_time()
    inp = FixedVariableArrayInput(c.n_inputs)
    x = inp.quantize(k=0, i=1, f=0)
    for W, T, kind in layers_of(c):
        x = (x @ W) >= T if kind == "threshold" else (x @ W - T).relu()
    comb = comb_trace(inp, x, keep_dead_inputs=True)  # every input bit keeps its place on the port
    info["da4ml_trace_s"] = round(time.perf_counter() - t, 1)
    info["da4ml_trace_cpu_s"] = round(time.process_time() - cpu, 1)
    expected = c.evaluate(X_check)
    if not np.array_equal(comb.predict(X_check.astype(np.float64)), expected):
        raise AssertionError("da4ml's traced network differs from the circuit")
    with tempfile.TemporaryDirectory() as tmp:
        model = VerilogModel(comb, "da4ml_core", tmp)
        model.write()
        if rtl_check:
            t = time.perf_counter()
            env, _ = verilator_env()
            with _environment(**{k: env[k] for k in ("PATH", "VERILATOR_ROOT", "MAKEFLAGS")}):
                # da4ml's compile() lints with -Wall, which makes the unused input bits fatal; the private
                # _compile takes the flags (da4ml 0.6). One C++ file with functions split every 500
                # statements, as hdlgen builds its own simulations: the MNIST UP5K network's emulator
                # compiles in 36 s instead of 138 s (under load), the ECP5 one's did not finish in 15 min.
                flags = "-Wall -Wno-fatal --output-split 0 --output-split-cfuncs 500"
                model._compile(openmp=False, nproc=2, _env={"VERILATOR_FLAGS": flags})
                got = model.predict(X_check.astype(np.float64), n_threads=-1)
            if not np.array_equal(got, expected):
                raise AssertionError("da4ml's Verilog (its Verilator emulator) differs from the circuit")
            info["da4ml_rtl_checked_images"] = len(X_check)
            info["da4ml_rtl_check_s"] = round(time.perf_counter() - t, 1)
        src = Path(tmp) / "src"
        text = (src / "da4ml_core.v").read_text()
        for f in sorted((src / "static").glob("*.v")):
            if f.name != "lookup_table.v":  # needs a memory file; threshold/relu layers do not use it
                text += "\n" + f.read_text()
    import re

    m = re.search(r"output\s*\[(\d+):0\]\s*model_out", text)
    width = int(m.group(1)) + 1 if m else 1
    top = f"{c.name}_da4ml"
    iw = c.n_inputs
    wrapper = f"""
module {top} (input clk, input rst, input i_valid, input [{iw - 1}:0] i_data,
              output reg o_valid, output reg [{width - 1}:0] o_data, output [0:0] o_energy);
  wire [{width - 1}:0] y;
  da4ml_core core (.model_inp(i_data), .model_out(y));
  assign o_energy = 1'b0;
  always @(posedge clk) begin
    o_data <= y;
    if (rst) o_valid <= 1'b0;
    else o_valid <= i_valid;
  end
endmodule
"""
    return text + wrapper, width, info


def rtl_check(c: hdlgen.Circuit, X: np.ndarray) -> tuple[object, dict]:
    """``hdlgen sim --dataset mnist --driver hdl`` from nothing cached, timed stage by stage.

    The same calls as :func:`hdlgen.sim.run.simulate` makes (which then finds the Verilog and the
    build in the cache), with an empty simulation cache and an empty ``ccache``.
    """
    from hdlgen.sim.run import build_simulation, check_options, chunk_size, generated_design, simulate

    row: dict = {}
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as ccache:
        with _environment(HDLGEN_CACHE_DIR=cache, CCACHE_DIR=ccache):
            t0, cpu0 = time.perf_counter(), _cpu()
            options = check_options(driver="hdl")
            t, cpu = time.perf_counter(), _cpu()
            design = generated_design(c, options)
            stages = {"verilog": (time.perf_counter() - t, _cpu() - cpu)}
            build = build_simulation(design, options, chunk_size(design.layout, options))
            for stage in build.stages:
                stages[stage.name] = (stage.wall_s, stage.cpu_s)
            t, cpu = time.perf_counter(), _cpu()
            sim = simulate(c, X, driver="hdl")  # finds the Verilog and the build just made
            stages["run"] = (time.perf_counter() - t, _cpu() - cpu)
            row["rtl_check_s"] = round(time.perf_counter() - t0, 1)
            row["rtl_check_cpu_s"] = round(_cpu() - cpu0, 1)
    row["rtl_stages"] = {k: {"wall_s": round(w, 2), "cpu_s": round(u, 2)} for k, (w, u) in stages.items()}
    row["rtl_simulator_run_s"] = round(float(sim.run_seconds), 2)
    return sim, row


def bench(
    path: Path,
    quick: bool,
    skip_pnr: bool,
    energy_limit: float,
    target: str = "ecp5-85k",
    place: bool = True,
    skip_rtl: bool = False,
) -> dict:
    c = hdlgen.load(path)
    data = dataset_for_circuit(c, "mnist")
    X, y = data.X_test, data.y_test
    if quick:
        X, y = X[:500], y[:500]
    row: dict = {"circuit": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path), "gates": c.size}
    row["n_inputs"] = c.n_inputs
    row["n_connections"] = c.n_connections
    row["training_set"] = (c.meta.get("dataset") or {}).get("training_set")
    row["cpu_count"] = os.cpu_count()
    row["load_average_at_start"] = [round(v, 2) for v in os.getloadavg()]

    t = time.perf_counter()
    to_verilog(c)
    row["verilog_s"] = round(time.perf_counter() - t, 2)

    if not skip_rtl:
        sim, timing = rtl_check(c, X)
        row.update(timing)
        row["rtl_images"] = len(y)
        row["rtl_passed"] = bool(sim.passed)  # type: ignore[attr-defined]
        row["rtl_accuracy"] = round(float((sim.predictions == y).mean()), 4)  # type: ignore[attr-defined]

        t = time.perf_counter()
        e = energy(c, time_limit=energy_limit)
        row.update(
            energy=e.value,
            energy_exact=e.exact,
            energy_bounds=list(e.bounds),
            energy_s=round(time.perf_counter() - t, 1),
        )

    if not (quick or skip_pnr):
        from hdlgen.synth import harness_verilog, synthesize, synthesize_verilog

        row["target"] = target
        row["placed"] = place
        t = time.perf_counter()
        ours = synthesize(c, target, place=place)
        row["pnr_s" if place else "synth_s"] = round(time.perf_counter() - t, 1)
        row.update(hdlgen_lut4=ours.luts, hdlgen_ff=ours.ffs, hdlgen_carry=ours.carries)
        if place:
            row.update(hdlgen_fmax_mhz=ours.fmax_mhz, hdlgen_logic_cells=ours.logic_cells)
        print(json.dumps(row), file=sys.stderr, flush=True)  # hdlgen's figures, before da4ml's long steps
        text, width, info = da4ml_verilog(c, X[:500])
        row.update(info)
        top = f"{c.name}_da4ml"
        layout = PortLayout.of(c, False)
        harness = harness_verilog(SimpleNamespace(top=top), layout.i_width, width, 1)  # type: ignore[arg-type]
        t = time.perf_counter()
        try:
            theirs = synthesize_verilog(text, top, harness, target, place=place)
        except ToolError as exc:
            if not (place and "does not fit" in str(exc)):
                raise
            row["da4ml_placed"] = f"no: {exc}"
            theirs = synthesize_verilog(text, top, harness, target, place=False)
        row["da4ml_pnr_s" if place else "da4ml_synth_s"] = round(time.perf_counter() - t, 1)
        row.update(da4ml_lut4=theirs.luts, da4ml_ff=theirs.ffs, da4ml_carry=theirs.carries)
        if theirs.placed:
            row.update(da4ml_fmax_mhz=theirs.fmax_mhz, da4ml_logic_cells=theirs.logic_cells)
        row["lut_ratio_vs_da4ml"] = round(ours.luts / max(1, theirs.luts), 3)
    row["targets"] = "verilog <= 60 s; rtl check of 10,000 <= 120 s; ECP5 P&R <= 20 min; LUT4 <= 0.7x da4ml"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("circuit", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--target", default="ecp5-85k", help="FPGA part of the synthesis (default ecp5-85k)")
    parser.add_argument("--quick", action="store_true", help="500 test images, no place and route, no da4ml")
    parser.add_argument("--skip-pnr", action="store_true", help="no synthesis, no da4ml")
    parser.add_argument("--skip-rtl", action="store_true", help="no RTL check, no exact energy")
    parser.add_argument("--no-place", action="store_true", help="Yosys cell counts only: no nextpnr, no Fmax")
    parser.add_argument("--energy-time-limit", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    row = bench(
        args.circuit,
        args.quick,
        args.skip_pnr,
        args.energy_time_limit,
        target=args.target,
        place=not args.no_place,
        skip_rtl=args.skip_rtl,
    )
    print(json.dumps(row) if args.json else json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
