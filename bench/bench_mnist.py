"""MNIST through the whole flow: Verilog, RTL check, ECP5 place and route, da4ml on the same weights, exact energy.

Run: ``python bench/bench_mnist.py [CIRCUIT] [--quick] [--json] [--skip-pnr]`` (default circuit:
``examples/mnist/mnist_ecp5.json``; the test images are found through ``$HDLGEN_DATA``, see
docs/training.md). Every figure is measured in this run, on this machine:

- ``verilog_s``: Verilog generation for the network (target <= 60 s);
- ``rtl_check_s``: all 10,000 official test images through Verilator with the
  Verilog player (``hdlgen sim --dataset mnist --driver hdl``), the Verilator
  build included (a fresh build directory), bit for bit against the reference
  (target <= 120 s);
- ``ecp5_pnr_s``: ``hdlgen synth --target ecp5-85k`` (Yosys, then nextpnr in
  the register harness) with LUT4, FF, carry and Fmax (target <= 20 min);
- da4ml: the same integer weights traced by da4ml (``x @ W >= T`` for the
  threshold layer, ``relu(x @ W - T)`` for the class outputs; its function is
  checked equal to the reference on test images), wrapped in registers with
  the same ports and put through the same Yosys/nextpnr flow and harness:
  ``lut_ratio_vs_da4ml`` = hdlgen LUT4 / da4ml LUT4 (target <= 0.7);
- exact energy: the MILP's bounds within a time limit (``energy_exact`` says
  whether they met).

``--quick`` checks 500 test images and skips place and route and da4ml.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import hdlgen
from hdlgen.analysis import energy
from hdlgen.datasets import dataset_for_circuit
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


def da4ml_verilog(c: hdlgen.Circuit, X_check: np.ndarray) -> tuple[str, int]:
    """da4ml's combinational Verilog for the circuit inside a registered wrapper with hdlgen's ports.

    Returns the Verilog text (top module ``<name>_da4ml``) and the width of its ``o_data``.
    """
    from da4ml.codegen import VerilogModel
    from da4ml.trace import FixedVariableArrayInput, comb_trace

    if {i.bits for i in c.inputs} != {1}:
        raise ValueError("da4ml comparison: 1-bit inputs only")
    inp = FixedVariableArrayInput(c.n_inputs)
    x = inp.quantize(k=0, i=1, f=0)
    for W, T, kind in layers_of(c):
        x = (x @ W) >= T if kind == "threshold" else (x @ W - T).relu()
    comb = comb_trace(inp, x)
    expected = c.evaluate(X_check)
    if not np.array_equal(comb.predict(X_check.astype(np.float64)), expected):
        raise AssertionError("da4ml's traced network differs from the circuit")
    with tempfile.TemporaryDirectory() as tmp:
        VerilogModel(comb, "da4ml_core", tmp).write()
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
  reg [{iw - 1}:0] x;
  reg v;
  wire [{width - 1}:0] y;
  da4ml_core core (.model_inp(x), .model_out(y));
  assign o_energy = 1'b0;
  always @(posedge clk) begin
    x <= i_data;
    o_data <= y;
    if (rst) begin v <= 1'b0; o_valid <= 1'b0; end
    else begin v <= i_valid; o_valid <= v; end
  end
endmodule
"""
    return text + wrapper, width


def bench(path: Path, quick: bool, skip_pnr: bool, energy_limit: float) -> dict:
    from hdlgen.sim.run import simulate

    c = hdlgen.load(path)
    data = dataset_for_circuit(c, "mnist")
    X, y = data.X_test, data.y_test
    if quick:
        X, y = X[:500], y[:500]
    row: dict = {"circuit": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path), "gates": c.size}
    row["n_inputs"] = c.n_inputs
    row["n_connections"] = c.n_connections
    row["training_set"] = (c.meta.get("dataset") or {}).get("training_set")

    t = time.perf_counter()
    to_verilog(c)
    row["verilog_s"] = round(time.perf_counter() - t, 2)

    with tempfile.TemporaryDirectory() as cache:
        old = os.environ.get("HDLGEN_CACHE_DIR")
        os.environ["HDLGEN_CACHE_DIR"] = cache
        try:
            t = time.perf_counter()
            sim = simulate(c, X, driver="hdl")
            row["rtl_check_s"] = round(time.perf_counter() - t, 1)
        finally:
            if old is None:
                os.environ.pop("HDLGEN_CACHE_DIR")
            else:
                os.environ["HDLGEN_CACHE_DIR"] = old
    row["rtl_images"] = len(y)
    row["rtl_passed"] = bool(sim.passed)
    row["rtl_accuracy"] = round(float((sim.predictions == y).mean()), 4)

    t = time.perf_counter()
    e = energy(c, time_limit=energy_limit)
    row.update(
        energy=e.value, energy_exact=e.exact, energy_bounds=list(e.bounds), energy_s=round(time.perf_counter() - t, 1)
    )

    if not (quick or skip_pnr):
        from hdlgen.synth import harness_verilog, synthesize, synthesize_verilog

        t = time.perf_counter()
        ours = synthesize(c, "ecp5-85k")
        row["ecp5_pnr_s"] = round(time.perf_counter() - t, 1)
        row.update(hdlgen_lut4=ours.luts, hdlgen_ff=ours.ffs, hdlgen_carry=ours.carries, hdlgen_fmax_mhz=ours.fmax_mhz)
        text, width = da4ml_verilog(c, X[:200])
        top = f"{c.name}_da4ml"
        layout = PortLayout.of(c, False)
        harness = harness_verilog(SimpleNamespace(top=top), layout.i_width, width, 1)  # type: ignore[arg-type]
        t = time.perf_counter()
        theirs = synthesize_verilog(text, top, harness, "ecp5-85k")  # type: ignore[arg-type]
        row["da4ml_pnr_s"] = round(time.perf_counter() - t, 1)
        row.update(
            da4ml_lut4=theirs.luts, da4ml_ff=theirs.ffs, da4ml_carry=theirs.carries, da4ml_fmax_mhz=theirs.fmax_mhz
        )
        row["lut_ratio_vs_da4ml"] = round(ours.luts / max(1, theirs.luts), 3)
    row["targets"] = "verilog <= 60 s; rtl check of 10,000 <= 120 s; ECP5 P&R <= 20 min; LUT4 <= 0.7x da4ml"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("circuit", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--quick", action="store_true", help="500 test images, no place and route, no da4ml")
    parser.add_argument("--skip-pnr", action="store_true", help="no place and route, no da4ml")
    parser.add_argument("--energy-time-limit", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    row = bench(args.circuit, args.quick, args.skip_pnr, args.energy_time_limit)
    print(json.dumps(row) if args.json else json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
