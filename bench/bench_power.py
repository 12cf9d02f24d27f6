"""Netlist switching per inference: every gating mode, schedule and idle bus, on one circuit.

    python bench/bench_power.py CIRCUIT.json [--dataset digits] [--vectors N] [--target ice40-up5k]
        [--option NAME=VALUE ...] [--json OUT.json] [--plot-dir DIR]

Runs ``hdlgen.power.measure_power`` for the schedules back-to-back and gaps,
with zeros and with random vectors on idle clocks (only gaps has idle
clocks), and prints one Markdown table: toggles per inference and their split,
Pearson r against firing gates, the slope, R^2 of the two-regressor fit, and
each mode's total switching as a ratio to gating none measured in the same
run. Builds are cached, so the schedules after the first cost only the
simulations.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hdlgen.cli.hardware import parse_hdl_options
from hdlgen.datasets import dataset_for_circuit
from hdlgen.ir.circuit import load
from hdlgen.ir.vectors import random_vectors
from hdlgen.power.report import scatter_plot
from hdlgen.power.run import DEFAULT_MODES, dataset_stimulus, measure_power, modes_with_options


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("circuit")
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--vectors", type=int, default=2000)
    ap.add_argument("--target", default="ice40-up5k")
    ap.add_argument("--option", action="append", default=[])
    ap.add_argument("--modes", default=None, help="comma-separated gating/clock_gating (default: all five)")
    ap.add_argument("--runs", default="back-to-back:zero,gaps:zero,gaps:random")
    ap.add_argument("--json", default=None)
    ap.add_argument("--plot-dir", default=None)
    args = ap.parse_args()
    circuit = load(Path(args.circuit))
    if args.dataset:
        X = dataset_stimulus(dataset_for_circuit(circuit, args.dataset), args.vectors)
    else:
        X = random_vectors(circuit, args.vectors, 0)
    opts = parse_hdl_options(tuple(args.option))
    pairs = [tuple(m.split("/")) for m in args.modes.split(",")] if args.modes else list(DEFAULT_MODES)
    modes = modes_with_options(pairs, opts)
    out = []
    for run in args.runs.split(","):
        schedule, idle = run.split(":")
        t0 = time.perf_counter()
        res = measure_power(
            circuit,
            X,
            args.target,
            modes=modes,
            schedule=schedule,
            idle=idle,
            on_stage=lambda s: print(f"  {s}", file=sys.stderr, flush=True),
        )
        wall = time.perf_counter() - t0
        d = res.to_dict(per_inference=False)
        out.append(d)
        print(
            f"\n{circuit.name} on {args.target}, {len(X)} vectors, {schedule}, idle {idle} "
            f"({d['mean_fired']} gates fire, {d['mean_inputs_changed']} input bits change per inference; {wall:.0f} s)"
        )
        print(
            "| mode | LUT4 | toggles/inf | LUT | carry | FF | CE | gated clk | gate regs | clk pins | r | slope "
            "| R² (2) | R² (regs) | vs none |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for m in d["modes"]:
            k, f = m["by_kind"], m["fit"]
            r = "n/a" if f["pearson_r"] is None else f"{f['pearson_r']:.2f}"
            r2 = "n/a" if f["r2"] is None else f"{f['r2']:.2f}"
            r2r = "n/a" if f.get("r2_registers") is None else f"{f['r2_registers']:.2f}"
            print(
                f"| {m['mode']} | {m['luts']} | {m['toggles_per_inference']:.0f} | {k['lut']:.0f} | {k['carry']:.0f} "
                f"| {k['ff']:.1f} | {k['enable']:.1f} | {k['gated_clock']:.1f} | {m['gate_registers']:.1f} "
                f"| {m['clock_pins']:.0f} | {r} "
                f"| {f['slope']:.1f} | {r2} | {r2r} | {m.get('ratio_to_none', 'n/a')} |"
            )
        print("stages:", {m["mode"]: m["by_stage"] for m in d["modes"]})
        print("r by stage:", {m["mode"]: m.get("pearson_r_by_stage") for m in d["modes"]})
        print("roles:", {m["mode"]: m["by_role"] for m in d["modes"]})
        print("seconds:", {m["mode"]: m["seconds"] for m in d["modes"]})
        if args.plot_dir:
            Path(args.plot_dir).mkdir(parents=True, exist_ok=True)
            scatter_plot(res, Path(args.plot_dir) / f"{circuit.name}-{schedule}-{idle}.png")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
