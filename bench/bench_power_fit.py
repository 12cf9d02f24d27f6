"""How much of the netlist's per-inference switching a linear model of its inputs explains.

    python bench/bench_power_fit.py CIRCUIT.json [--dataset digits] [--vectors N] [--modes none/enable,...]
        [--option NAME=VALUE ...]

For each schedule (back to back; gaps with zeros and with random vectors on
the idle bus) and mode, fits per-inference toggles with least squares and
prints R^2 for

- ``R2(2)``: input bits changed and gates fired (``hdlgen power``'s fit);
- ``held-out, per bit + fired``: one regressor per input bit (how often that
  bit changed for the inference, by the attribution rule) and gates fired;
- ``held-out, per bit + regs``: the same with the gate registers' toggles in
  place of the firing gates.

The per-bit fits have one coefficient per input bit, so their R^2 is taken on
held-out inferences (5-fold cross-validation, folds by index modulo 5).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from hdlgen.cli.hardware import parse_hdl_options
from hdlgen.datasets import dataset_for_circuit
from hdlgen.ir.circuit import load
from hdlgen.ir.ports import PortLayout
from hdlgen.ir.vectors import random_vectors
from hdlgen.power.run import _stimulus, dataset_stimulus, measure_power, modes_with_options


def per_bit_changes(circuit, X: np.ndarray, schedule: str, idle: str, seed: int = 0) -> np.ndarray:
    """Per inference and input bit of ``i_data``: the changes charged to it, shape (n, i_width)."""
    layout = PortLayout.of(circuit, False)
    stim = _stimulus(circuit, X, layout, schedule, idle, seed)
    bits = np.unpackbits(stim.in_bits.astype(np.uint8), axis=1, bitorder="little")[:, : layout.i_width]
    bits = bits.astype(np.int64)
    prev = np.vstack([np.zeros((1, bits.shape[1]), dtype=np.int64), bits[:-1]])
    owner = np.searchsorted(stim.starts, np.arange(stim.edges), side="right") - 1
    out = np.zeros((stim.n, bits.shape[1]))
    np.add.at(out, owner[owner >= 0], (prev ^ bits)[owner >= 0])
    return out


def held_out_r2(A: np.ndarray, y: np.ndarray, folds: int = 5) -> float:
    """R^2 of least-squares predictions of ``y`` from ``A`` on held-out folds (index modulo ``folds``)."""
    idx = np.arange(y.size)
    pred = np.zeros(y.size)
    for f in range(folds):
        test = idx % folds == f
        coef, *_ = np.linalg.lstsq(A[~test], y[~test], rcond=None)
        pred[test] = A[test] @ coef
    return float(1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("circuit")
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--vectors", type=int, default=2000)
    ap.add_argument("--modes", default="none/enable,rtz/enable")
    ap.add_argument("--option", action="append", default=[])
    args = ap.parse_args()
    circuit = load(Path(args.circuit))
    if args.dataset:
        X = dataset_stimulus(dataset_for_circuit(circuit, args.dataset), args.vectors)
    else:
        X = random_vectors(circuit, args.vectors, 0)
    opts = parse_hdl_options(tuple(args.option))
    modes = modes_with_options([tuple(text.split("/")) for text in args.modes.split(",")], opts)
    print("| schedule, idle bus | mode | R² (2) | held-out, per bit + fired | held-out, per bit + regs |")
    print("|---|---|---|---|---|")
    for schedule, idle in (("back-to-back", "zero"), ("gaps", "zero"), ("gaps", "random")):
        res = measure_power(circuit, X, "ice40-up5k", modes=modes, schedule=schedule, idle=idle)
        B = per_bit_changes(circuit, X, schedule, idle)
        assert np.array_equal(B.sum(axis=1), res.inputs_changed)
        ones = np.ones(len(X))
        for m in res.modes:
            y = m.toggles.astype(float)
            fired = held_out_r2(np.column_stack([B, res.fired, ones]), y)
            regs = held_out_r2(np.column_stack([B, m.gate_registers, ones]), y)
            label = schedule if schedule == "back-to-back" else f"gaps, {'zeros' if idle == 'zero' else 'random'}"
            print(f"| {label} | {m.mode} | {m.fit['r2']:.2f} | {fired:.2f} | {regs:.2f} |", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
