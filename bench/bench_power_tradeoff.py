"""The energy-depth trade-off in netlist toggles: CD_n by construction C1 over a grid of (e, d).

    python bench/bench_power_tradeoff.py [--n 8] [--grid 2,3] [--vectors 1000] [--modes rtz/enable,none/enable]

For each (e, d) the C1 circuit is mapped for the iCE40UP5K and measured with
``hdlgen.power.measure_power`` (schedule gaps: an idle clock after each
inference, zeros on the idle bus): exact energy, size, depth, and per
inference the gates that fire and the netlist's toggles (mean and max), with
the gate registers' share. Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hdlgen.analysis import energy
from hdlgen.constructions.cd_tradeoff import cd_circuit
from hdlgen.ir.vectors import random_vectors
from hdlgen.power.run import Mode, measure_power


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--grid", default="2,3")
    ap.add_argument("--vectors", type=int, default=1000)
    ap.add_argument("--modes", default="none/enable,rtz/enable")
    ap.add_argument("--option", action="append", default=[])
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    opts: dict[str, object] = {}
    for text in args.option:
        k, v = text.split("=", 1)
        opts[k] = {"true": True, "false": False}.get(v.lower(), v)
    modes = [Mode(*m.split("/"), tuple(sorted(opts.items()))) for m in args.modes.split(",")]
    grid = [int(x) for x in args.grid.split(",")]
    rows = []
    print(
        "| circuit | e (exact) | d | size | LUT4 | mode | fired/inf | toggles/inf | max toggles | gate regs | r "
        "| slope |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for e in grid:
        for d in grid:
            c = cd_circuit(args.n, e, d)
            ex = energy(c).value
            X = random_vectors(c, args.vectors, 0)
            res = measure_power(
                c,
                X,
                "ice40-up5k",
                modes=modes,
                schedule="gaps",
                on_stage=lambda s: print(f"  {s}", file=sys.stderr, flush=True),
            )
            for m in res.modes:
                f = m.fit
                row = {
                    "circuit": c.name,
                    "e": ex,
                    "d": c.depth,
                    "size": c.size,
                    "luts": m.luts,
                    "mode": m.mode,
                    "fired": round(float(res.fired.mean()), 3),
                    "toggles": round(float(m.toggles.mean()), 2),
                    "max_toggles": int(m.toggles.max()),
                    "gate_registers": round(float(m.gate_registers.mean()), 2),
                    "r": f["pearson_r"],
                    "slope": f["slope"],
                    "passed": m.passed,
                }
                rows.append(row)
                r = "n/a" if row["r"] is None else f"{row['r']:.2f}"
                print(
                    f"| {c.name} | {ex} | {c.depth} | {c.size} | {m.luts} | {m.mode} | {row['fired']} | "
                    f"{row['toggles']} | {row['max_toggles']} | {row['gate_registers']} | {r} | {f['slope']:.1f} |",
                    flush=True,
                )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
