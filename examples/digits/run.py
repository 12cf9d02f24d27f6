"""Energy against accuracy on digits: a sweep of the activity penalty and the fan-in.

For each (kind, fan-in, activity penalty) a network is trained with
:func:`hdlgen.learn.train_digits` (documented split, seed 0) and measured:
test accuracy, mean activity (fraction of gates firing, test split), the
worst-case energy (exact-energy MILP with a time limit: its proven lower and
upper bounds; equal when proven), the most gates firing on a test image, and
iCE40UP5K LUT4s (Yosys; ``--place`` adds nextpnr's Fmax).

Run: ``python examples/digits/run.py [--quick] [--place] [-o OUTDIR]``.
Writes ``digits.csv``, ``accuracy_activity.png`` and ``accuracy_energy.png``
(by default into docs/images/digits).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from hdlgen.errors import ToolError
from hdlgen.learn import train_digits
from hdlgen.synth import synthesize

FULL = {"kind": ["threshold", "relu"], "fan_in": [8, 12, 16], "energy_penalty": [0.0, 0.5, 1.0, 2.0]}
QUICK = {"kind": ["threshold"], "fan_in": [8], "energy_penalty": [0.0, 2.0]}


def measure(kind: str, fan_in: int, penalty: float, place: bool, energy_seconds: float, epochs: int) -> dict:
    report = train_digits(
        kind=kind,  # type: ignore[arg-type]
        fan_in=fan_in,
        energy_penalty=penalty,
        epochs=epochs,
        energy_time_limit=energy_seconds,
    )
    m = report.metrics
    row = {
        "kind": kind,
        "fan_in": fan_in,
        "energy_penalty": penalty,
        "test_accuracy": m["test_accuracy"],
        "mean_activity": m["mean_activity"],
        "energy_lower": m["energy_bounds"][0],
        "energy_upper": m["energy_bounds"][1],
        "energy_exact": m["energy_exact"],
        "max_firing_on_test": m["max_firing_gates"],
        "size": m["size"],
        "n_connections": m["n_connections"],
        "train_seconds": m["train_seconds"],
    }
    try:
        synth = synthesize(report.circuit, "ice40-up5k", place=place)
        row.update(luts=synth.luts, fmax_mhz=synth.fmax_mhz if place else "", fits_up5k=True)
    except ToolError as exc:
        row.update(luts="", fmax_mhz="", fits_up5k=False, note=str(exc))
    return row


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    markers = {"threshold": "o", "relu": "s"}
    for name, x_key, xlabel in (
        ("accuracy_activity.png", "mean_activity", "mean activity (fraction of gates firing)"),
        ("accuracy_energy.png", "energy_upper", "worst-case energy (gates firing, MILP bounds)"),
    ):
        fig, ax = plt.subplots(figsize=(6, 4))
        for (kind, fan_in), group in itertools.groupby(
            sorted(rows, key=lambda r: (r["kind"], r["fan_in"], r["energy_penalty"])),
            key=lambda r: (r["kind"], r["fan_in"]),
        ):
            g = list(group)
            xs = [float(r[x_key]) for r in g]
            ys = [float(r["test_accuracy"]) for r in g]
            if x_key == "energy_upper":
                lo = [float(r["energy_upper"]) - float(r["energy_lower"]) for r in g]
                ax.errorbar(
                    xs, ys, xerr=[lo, [0] * len(g)], marker=markers[kind], capsize=2, label=f"{kind}, fan-in {fan_in}"
                )
            else:
                ax.plot(xs, ys, marker=markers[kind], label=f"{kind}, fan-in {fan_in}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        fig.savefig(out / name, dpi=120)
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Two points, few epochs (for the test suite).")
    parser.add_argument("--place", action="store_true", help="Also place and route for Fmax (slower).")
    parser.add_argument("--plot-only", action="store_true", help="Redraw the plots from OUTDIR/digits.csv.")
    parser.add_argument("--energy-seconds", type=float, default=10.0, help="MILP time limit per network.")
    parser.add_argument("-o", "--out", type=Path, default=Path(__file__).resolve().parents[2] / "docs/images/digits")
    args = parser.parse_args(argv)
    if args.plot_only:
        with (args.out / "digits.csv").open() as fh:
            plot(list(csv.DictReader(fh)), args.out)
        return 0
    grid = QUICK if args.quick else FULL
    epochs = 30 if args.quick else 150
    energy_seconds = min(args.energy_seconds, 5.0) if args.quick else args.energy_seconds
    points = list(itertools.product(grid["kind"], grid["fan_in"], grid["energy_penalty"]))
    args.out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=min(len(points), os.cpu_count() or 1)) as pool:
        futures = [pool.submit(measure, *p, args.place, energy_seconds, epochs) for p in points]
        rows = [f.result() for f in futures]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with (args.out / "digits.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, args.out)
    print(f"{'kind':<10}{'fan-in':>7}{'penalty':>8}{'accuracy':>9}{'activity':>9}{'energy':>9}{'LUT4':>6}")
    for r in rows:
        energy = f"{r['energy_lower']}" if r["energy_exact"] else f"{r['energy_lower']}-{r['energy_upper']}"
        print(
            f"{r['kind']:<10}{r['fan_in']:>7}{r['energy_penalty']:>8}{r['test_accuracy']:>9.3f}"
            f"{r['mean_activity']:>9.3f}{energy:>9}{r['luts']!s:>6}"
        )
    print(f"wrote {args.out / 'digits.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
