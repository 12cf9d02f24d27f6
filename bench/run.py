"""All of hdlgen's benchmarks in one run, each against a baseline measured in the same run.

Run: ``python bench/run.py [--quick] [--json]``. ``--json`` prints one
object whose headline keys are ``lut_ratio_vs_da4ml`` (largest hdlgen/da4ml
LUT4 ratio over the suite: below 1 means hdlgen is ahead on every network),
``sim_vectors_per_second`` (Verilator, HDL-driven stimulus),
``energy_fidelity`` (hardware-measured toggling units over the reference's
firing count, rtz gating: 1.0 means exact) and ``gating_saving`` (gate-register
toggles with gating ``none`` over ``rtz``).

Sections:

- reference: evaluation, exhaustive energy (quiet, and with the other core
  busy), MILP energy (HiGHS and CP-SAT), the rank of CD_24 and the peak
  memory of ``hdlgen eval``/``info``, each against the code before issue 17
  (bench/baseline/) measured in the same run (bench_reference.py);
- verilog: generation time for 100, 1000 (and, without --quick, 5000) gates,
  stage by stage (bench_verilog.py);
- simulation: vectors per second on Verilator and Icarus, HDL-driven
  (the stimulus played by a Verilog module) and cocotb-driven;
- hardware: LUT4 / FF / carry / Fmax on iCE40UP5K and ECP5-85F for a fixed
  suite (a 16-input layer, CD_8 by construction C1, a trained digits
  network), against da4ml's Verilog for the same networks through the same
  Yosys and nextpnr, and against a lower bound of one LUT4 per three
  operand bits beyond the first of each gate;
- energy: fidelity and what gating saves, from RTL simulation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_reference
import bench_verilog
from bench_hdl import layer16, layers_of, lut_lower_bound

import hdlgen
from hdlgen.constructions import cd_circuit
from hdlgen.errors import ToolError
from hdlgen.ir.vectors import random_vectors
from hdlgen.sim.run import simulate
from hdlgen.synth import synthesize
from hdlgen.synth.flow import harness_verilog, synthesize_verilog


def machine() -> dict[str, Any]:
    """The machine the figures come from: CPUs, CPU model, memory, load, BLAS."""
    import os

    from threadpoolctl import threadpool_info

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)" for i in threadpool_info()]
    return {
        "python": platform.python_version(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "memory": mem,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "machine": platform.machine(),
        "numpy": np.__version__,
        "blas": blas,
    }


# --------------------------------------------------------------------------- suite


def digits_network() -> hdlgen.Circuit:
    from hdlgen.learn import train_digits

    return train_digits(kind="threshold", energy_time_limit=None).circuit


def da4ml_verilog(c: hdlgen.Circuit, workdir: Path) -> tuple[list[Path], int]:
    """da4ml's combinational Verilog for the same network; returns its files and output width."""
    from da4ml.codegen import VerilogModel
    from da4ml.trace import FixedVariableArrayInput, comb_trace

    bits = {i.bits for i in c.inputs}
    inp = FixedVariableArrayInput(c.n_inputs)
    x = inp.quantize(k=0, i=max(bits), f=0)
    for W, T, kind, b in layers_of(c):
        if kind == "threshold":
            x = (x @ W) >= T
        else:
            x = (x @ W - T).relu(i=np.full(len(T), b), f=np.zeros(len(T), dtype=int), round_mode="TRN")
    comb = comb_trace(inp, x)
    VerilogModel(comb, c.name, str(workdir)).write()
    src = workdir / "src"
    files = [src / f"{c.name}.v"]
    for f in sorted((src / "static").glob("*.v")):
        if f.name != "lookup_table.v":  # wants a memory file, unused here
            files.append(f)
    text = files[0].read_text()
    out_width = int(text.split("output [", 1)[1].split(":", 1)[0]) + 1
    in_width = int(text.split("input [", 1)[1].split(":", 1)[0]) + 1
    return files, in_width, out_width  # type: ignore[return-value]


def da4ml_synth(c: hdlgen.Circuit, target: str, workdir: Path) -> dict[str, Any]:
    """da4ml's design between input and output registers, through the same harness, Yosys and nextpnr."""
    files, in_w, out_w = da4ml_verilog(c, workdir)
    wrap = f"""
module da4ml_wrap(input clk, input rst, input i_valid, input [{in_w - 1}:0] i_data,
                  output reg o_valid, output reg [{out_w - 1}:0] o_data, output [0:0] o_energy);
  reg [{in_w - 1}:0] x; reg v; wire [{out_w - 1}:0] y;
  {c.name} core (.model_inp(x), .model_out(y));
  always @(posedge clk) begin x <= i_data; v <= i_valid; o_data <= y; o_valid <= v; end
  assign o_energy = 1'b0;
endmodule
"""
    text = "\n".join(f.read_text() for f in files) + wrap
    harness = harness_verilog(SimpleNamespace(top="da4ml_wrap"), in_w, out_w, 1)  # type: ignore[arg-type]
    r = synthesize_verilog(text, "da4ml_wrap", harness, target)
    return {"luts": r.luts, "ffs": r.ffs, "carries": r.carries, "fmax_mhz": r.fmax_mhz}


# --------------------------------------------------------------------------- sections


def bench_reference_all(quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fn in bench_reference.SECTIONS:
        out[fn.__name__.removeprefix("bench_")] = fn(quick)
    return out


def bench_verilog_all(quick: bool) -> dict[str, Any]:
    return bench_verilog.bench((100, 1000) if quick else (100, 1000, 5000))


def bench_simulation(quick: bool) -> dict[str, Any]:
    c = cd_circuit(8, 2, 2)
    n = 100_000 if quick else 400_000
    X = random_vectors(c, n, 3)
    rows: dict[str, Any] = {"design": c.name, "vectors": n}
    for sim in ("verilator", "icarus"):
        m = n if sim == "verilator" else n // 4
        r = simulate(c, X[:m], simulator=sim, driver="hdl")
        assert r.passed, r.first_mismatches
        rows[f"{sim}_hdl_vectors_per_second"] = r.vectors_per_second
        r = simulate(c, X[: m // 5], simulator=sim, driver="cocotb")
        assert r.passed, r.first_mismatches
        rows[f"{sim}_cocotb_vectors_per_second"] = r.vectors_per_second
    rows["speedup_hdl_over_cocotb_verilator"] = round(
        rows["verilator_hdl_vectors_per_second"] / rows["verilator_cocotb_vectors_per_second"], 1
    )
    return rows


def bench_hardware(quick: bool, suite: list[hdlgen.Circuit]) -> dict[str, Any]:
    targets = ("ice40-up5k",) if quick else ("ice40-up5k", "ecp5-85k")
    table = []
    for c in suite:
        row: dict[str, Any] = {"network": c.name, "gates": c.size, "lut_lower_bound": lut_lower_bound(c)}
        for target in targets:
            short = "up5k" if target.startswith("ice40") else "ecp5"
            try:
                ours = synthesize(c, target)
                row.update(
                    {
                        f"hdlgen_{short}_lut4": ours.luts,
                        f"hdlgen_{short}_ff": ours.ffs,
                        f"hdlgen_{short}_carry": ours.carries,
                        f"hdlgen_{short}_fmax_mhz": ours.fmax_mhz,
                    }
                )
            except ToolError as exc:
                row[f"hdlgen_{short}_error"] = str(exc)
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    theirs = da4ml_synth(c, target, Path(tmp))
                    row.update({f"da4ml_{short}_{k if k != 'luts' else 'lut4'}": v for k, v in theirs.items()})
                except ToolError as exc:
                    row[f"da4ml_{short}_error"] = str(exc)
        if "hdlgen_up5k_lut4" in row and "da4ml_up5k_lut4" in row:
            row["lut_ratio_vs_da4ml"] = round(row["hdlgen_up5k_lut4"] / max(1, row["da4ml_up5k_lut4"]), 3)
        table.append(row)
    ratios = [r["lut_ratio_vs_da4ml"] for r in table if "lut_ratio_vs_da4ml" in r]
    return {"networks": table, "lut_ratio_vs_da4ml": max(ratios) if ratios else None}


def bench_energy(quick: bool) -> dict[str, Any]:
    c = cd_circuit(8, 2, 2)
    X = random_vectors(c, 2000 if quick else 20000, 5)
    firing = int(c.activity(X).sum())
    # Idle edges carry random data (a shared bus): ungated registers follow it, gated ones do not.
    rtz = simulate(c, X, simulator="verilator", gating="rtz", schedule="gaps", driver="hdl", idle="random")
    none = simulate(c, X, simulator="verilator", gating="none", schedule="gaps", driver="hdl", idle="random")
    assert rtz.passed and none.passed
    # rtz with idle gaps: every firing gate's register rises once and falls once per inference.
    fidelity = rtz.gate_toggles / (2 * firing) if firing else 1.0
    measured = int(rtz.energies.sum()) if rtz.energies is not None else 0
    return {
        "design": c.name,
        "reference_firing": firing,
        "o_energy_total": measured,
        "o_energy_fidelity": round(measured / firing, 6) if firing else 1.0,
        "energy_fidelity": round(fidelity, 6),
        "gate_toggles_rtz": rtz.gate_toggles,
        "gate_toggles_none": none.gate_toggles,
        "gating_saving": round(none.gate_toggles / max(1, rtz.gate_toggles), 3),
    }


SECTIONS = ("reference", "verilog", "simulation", "hardware", "energy")


def targets(results: dict[str, Any]) -> list[str]:
    """One line per issue-17 target of the reference section: the figure, and the ratio to the old code."""
    ref = results.get("reference")
    if not ref:
        return []
    ex, rank = ref["exhaustive"], ref["rank"]
    lines = [
        f"exact energy 20 in / 192 gates: {ex['exhaustive_energy_20in_192g_s']} s quiet (target <= 1 s), "
        f"{ex['exhaustive_energy_20in_192g_loaded_s']} s loaded = {ex['loaded_over_quiet']}x quiet (target <= 1.5x); "
        f"{ex['speedup_vs_old_code']}x faster than the old code ({ex['old_code_s']} s)",
        "exhaustive evaluation: "
        + ", ".join(f"{v:.3g} gate evaluations/s on {k.split('_')[-2]}" for k, v in ex.items() if "per_s" in k)
        + " (target >= 1e9 on 2 cores)",
        f"rank of CD_24: {rank['rank_cd24_s']} s (target <= 5 s); {rank['speedup_vs_old_code']}x the old code "
        f"({rank['old_code_s']} s)",
    ]
    for row in ref["milp"]["milp_64in_100g"]:

        def show(r: dict[str, Any]) -> str:
            return f"{r['seconds']} s ({r['cpu_seconds']} CPU s) {'exact' if r['exact'] else r['bounds']}"

        lines.append(
            f"MILP seed {row['seed']}: portfolio {show(row['portfolio'])}, HiGHS {show(row['highs'])}, "
            f"CP-SAT {show(row['cpsat'])}, old code {show(row['old_code'])} (target: exact in <= 60 s)"
        )
    mem = ref["peak_memory"]
    lines.append(
        "peak RSS: "
        + ", ".join(f"{k.removesuffix('_peak_rss_mib')} {v} MiB" for k, v in mem.items() if k.endswith("_peak_rss_mib"))
        + " (target <= 2048 MiB)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Fewer sizes and one FPGA target (<= 10 minutes).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object only.")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="Run these sections only.")
    args = parser.parse_args()
    start = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    wanted = set(args.only or SECTIONS)

    def section(name: str, fn, *a) -> None:
        if name not in wanted:
            return
        t = time.perf_counter()
        results[name] = fn(*a)
        results[name]["seconds"] = round(time.perf_counter() - t, 1)
        if not args.json:
            print(f"== {name} ({results[name]['seconds']} s)")
            print(json.dumps(results[name], indent=1), flush=True)

    section("reference", bench_reference_all, args.quick)
    section("verilog", bench_verilog_all, args.quick)
    section("simulation", bench_simulation, args.quick)
    if "hardware" in wanted:
        section("hardware", bench_hardware, args.quick, [layer16(), cd_circuit(8, 2, 2), digits_network()])
    section("energy", bench_energy, args.quick)
    headline = {
        "lut_ratio_vs_da4ml": ("hardware", "lut_ratio_vs_da4ml"),
        "sim_vectors_per_second": ("simulation", "verilator_hdl_vectors_per_second"),
        "energy_fidelity": ("energy", "energy_fidelity"),
        "gating_saving": ("energy", "gating_saving"),
    }
    for key, (name, inner) in headline.items():
        if name in results:
            results[key] = results[name][inner]
    results["seconds"] = round(time.perf_counter() - start, 1)
    if args.json:
        print(json.dumps(results))
    else:
        for line in targets(results):
            print(line)
        print("  ".join(f"{k} {results[k]}" for k in headline if k in results) + f"  ({results['seconds']} s)")


if __name__ == "__main__":
    main()
