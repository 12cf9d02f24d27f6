"""The energy-depth trade-off, measured: CD_n and MOD_m from circuit to hardware.

For CD_n over a grid of (energy e, depth d), construction C1 is built and
measured: size, exact energy, the number of gate units that toggle per
inference in RTL simulation (rtz gating; cocotb on Icarus), iCE40UP5K LUTs and
Fmax (Yosys + nextpnr), and both sides of Theorem 1. The energy-1 construction
(C2) and MOD_m across energies (C3) are measured the same way.

Run: ``python examples/tradeoff/run.py [--quick] [-o OUTDIR]``. Writes
``tradeoff.csv`` and the plots ``size_vs_ed.png`` and ``bound_slack.png``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from hdlgen.analysis import energy
from hdlgen.analysis.bound import theorem1
from hdlgen.constructions import cd, energy1_circuit, mod_circuit
from hdlgen.constructions.cd_tradeoff import cd_circuit
from hdlgen.errors import ToolError
from hdlgen.ir.reference import enumerate_inputs
from hdlgen.ir.vectors import random_vectors
from hdlgen.sim.run import simulate
from hdlgen.synth import synthesize


def measure(circuit, family: str, n: int, e: int, d: int, synth: bool) -> dict:
    exact = energy(circuit)
    if circuit.input_bits <= 12:
        X = enumerate_inputs(circuit, 0, 2**circuit.input_bits)
    else:  # every input is too many to simulate: a sample, and the input that reaches the energy
        X = np.vstack([random_vectors(circuit, 4096, seed=n), np.array([exact.witness])])
    sim = simulate(circuit, X, simulator="icarus", schedule="gaps")
    (bound,) = theorem1(circuit)
    row = {
        "family": family,
        "n": n,
        "e_param": e,
        "d_param": d,
        "size": circuit.size,
        "depth": circuit.depth,
        "energy": exact.value,
        "weight": circuit.weight,
        "ed": exact.value * circuit.depth,
        # o_energy: the hardware's own count of the gate units that toggled for an inference
        # (rtz with idle gaps: each firing unit rises, then falls back). The simulation also
        # checks every gate register's measured toggles against the model (gate_toggles).
        "toggling_units_per_inference_max": sim.measured_energy_max,
        "gate_toggles": sim.gate_toggles,
        "expected_gate_toggles": sim.expected_gate_toggles,
        "sim_passed": sim.passed,
        "log2_rank": bound.log2_rank,
        "rhs": bound.rhs,
        "slack": bound.slack,
    }
    if synth:
        try:
            s = synthesize(circuit, "ice40-up5k")
            row.update({"fits_up5k": True, "luts": s.luts, "carries": s.carries, "fmax_mhz": s.fmax_mhz})
        except ToolError as exc:  # e.g. CD_16 at e = 2, d = 2 needs more logic cells than the UP5K has
            if "does not fit" not in str(exc):
                raise
            row.update({"fits_up5k": False, "luts": None, "carries": None, "fmax_mhz": None})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small grid, no synthesis")
    parser.add_argument("-o", "--outdir", default="out/tradeoff")
    parser.add_argument("--plot-only", action="store_true", help="redraw the plots from OUTDIR/tradeoff.csv")
    parser.add_argument("--n", type=int, nargs="+", help="CD sizes to measure (default 4 6 ... 16)")
    parser.add_argument("--no-mod", action="store_true", help="skip the MOD_2 rows")
    parser.add_argument(
        "--merge", action="store_true", help="keep the rows of OUTDIR/tradeoff.csv that this run does not measure"
    )
    args = parser.parse_args()
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    if args.plot_only:
        with (out / "tradeoff.csv").open() as f:
            rows = [{k: (float(v) if k in NUMERIC else v) for k, v in r.items()} for r in csv.DictReader(f)]
        plot(rows, out)
        return
    ns = args.n or ([4, 8] if args.quick else [4, 6, 8, 10, 12, 14, 16])
    grid = [2, 3] if args.quick else [2, 3, 4]
    rows = []
    if args.merge and (out / "tradeoff.csv").exists():
        with (out / "tradeoff.csv").open() as f:
            kept = [
                {k: _parse(v) for k, v in r.items()}
                for r in csv.DictReader(f)
                if not (r["family"].startswith("cd") and int(r["n"]) in ns)
            ]
        rows = [r for r in kept if not (r["family"].startswith("mod") and not args.no_mod)]
    for n in ns:
        for e in grid:
            for d in grid:
                rows.append(measure(cd_circuit(n, e, d), "cd_C1", n, e, d, not args.quick))
        if n <= 10:  # the energy-1 circuit has 3^(n/2) + 1 gates
            rows.append(measure(energy1_circuit(cd(n), n, name=f"cd{n}_e1"), "cd_C2", n, 1, 2, not args.quick))
    for e in [] if args.no_mod else grid:
        rows.append(
            measure(
                mod_circuit(8 if args.quick else 12, 2, e), "mod2_C3", 8 if args.quick else 12, e, 0, not args.quick
            )
        )
    rows.sort(key=lambda r: (r["family"].startswith("mod"), int(r["n"])))
    with (out / "tradeoff.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out)
    passed = all(str(r["sim_passed"]) == "True" for r in rows)
    print(f"{len(rows)} circuits in the table; every simulation passed: {passed}")
    print(f"wrote {out / 'tradeoff.csv'}, {out / 'size_vs_ed.png'}, {out / 'bound_slack.png'}")


def _parse(text: str) -> int | float | str:
    """A CSV field back as the number it was written from (text otherwise)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


NUMERIC = {"n", "size", "ed", "log2_rank", "rhs", "slack"}


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for n in sorted({r["n"] for r in rows if r["family"] == "cd_C1"}):
        pts = sorted((r["ed"], r["size"]) for r in rows if r["family"] == "cd_C1" and r["n"] == n)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=f"CD_{int(n)} (C1)")
        e1 = [r for r in rows if r["family"] == "cd_C2" and r["n"] == n]
        if e1:
            ax.plot([e1[0]["ed"]], [e1[0]["size"]], "x", color=ax.lines[-1].get_color())
    ax.set_xlabel("energy x depth (measured)")
    ax.set_ylabel("size (gates)")
    ax.set_yscale("log")
    ax.set_title("CD_n: size against e*d (x: energy-1 construction C2)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "size_vs_ed.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    cd_rows = [r for r in rows if r["family"].startswith("cd")]
    ax.scatter(
        [r["log2_rank"] for r in cd_rows], [r["rhs"] for r in cd_rows], c=[r["ed"] for r in cd_rows], cmap="viridis"
    )
    top = max(r["rhs"] for r in cd_rows)
    ax.plot([0, top], [0, top], "k--", linewidth=0.8, label="equality (the bound's limit)")
    ax.set_xlabel("log2 rk(f)  (left-hand side)")
    ax.set_ylabel("e d (log2 s + log2 w + log2 n)  (right-hand side)")
    ax.set_xlim(0, max(r["log2_rank"] for r in cd_rows) * 1.2)
    ax.set_ylim(0, top * 1.05)
    fig.colorbar(ax.collections[0], ax=ax, label="e * d")
    ax.set_title(f"Theorem 1 on every circuit: smallest slack {min(r['slack'] for r in rows):.2f}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "bound_slack.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
