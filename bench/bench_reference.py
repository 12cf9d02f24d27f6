"""Benchmarks of the reference model and exact energy (issue: foundation).

Prints each measurement with its target and a ratio against a baseline
measured in the same run. Run: ``python bench/bench_reference.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from hdlgen.analysis import energy_exhaustive, energy_milp
from hdlgen.ir.reference import Reference, enumerate_inputs
from hdlgen.random_circuits import random_layered


def python_loop_activity(circuit, X) -> np.ndarray:
    """The straightforward baseline: one vector and one gate at a time."""
    order = circuit.topological_gates
    out = []
    for x in X:
        values = {inp.name: int(v) for inp, v in zip(circuit.inputs, x, strict=True)}
        fired = 0
        for g in order:
            s = sum(w * values[i] for i, w in zip(g.inputs, g.weights, strict=True))
            v = int(s >= g.threshold) if g.kind == "threshold" else min(max(0, s - g.threshold), g.max_value)
            values[g.name] = v
            fired += v != 0
        out.append(fired)
    return np.array(out)


def bench_exhaustive(quick: bool) -> dict:
    c = random_layered(20, [64, 64, 64], fan_in=16, seed=1)
    t = time.perf_counter()
    result = energy_exhaustive(c)
    seconds = time.perf_counter() - t
    sample = enumerate_inputs(c, 0, 2000 if quick else 20000)
    t = time.perf_counter()
    loop = python_loop_activity(c, sample)
    loop_seconds = (time.perf_counter() - t) * (2**20 / len(sample))
    assert loop.max() <= result.value
    return {
        "exhaustive_energy_20in_192g_s": round(seconds, 3),
        "exhaustive_vs_python_loop": round(loop_seconds / seconds, 1),
        "targets": "<= 5 s, >= 100x",
    }


def bench_milp(quick: bool) -> dict:
    rows = []
    for seed in (1,) if quick else (1, 2, 3):
        c = random_layered(64, [40, 40, 20], fan_in=16, seed=seed)
        r = energy_milp(c, time_limit=120)
        rows.append(
            {
                "seed": seed,
                "seconds": round(r.seconds, 2),
                "energy": r.value,
                "bounds": list(r.bounds),
                "exact": r.exact,
            }
        )
    return {"milp_64in_100g": rows, "targets": "<= 60 s, exact"}


def bench_evaluate(quick: bool) -> dict:
    c = random_layered(32, [64], fan_in=16, seed=4)
    n = 200_000 if quick else 1_000_000
    X = np.random.default_rng(0).integers(0, 2, size=(n, 32))
    ref = Reference(c)
    ref.evaluate(X[:1000])
    seconds = math.inf
    for _ in range(3):  # best of three: the first pass pays for page faults
        t = time.perf_counter()
        ref.activity(X)
        seconds = min(seconds, time.perf_counter() - t)
    sample = X[:2000]
    t = time.perf_counter()
    python_loop_activity(c, sample)
    loop_rate = len(sample) * 64 / (time.perf_counter() - t)
    rate = n * 64 / seconds
    return {
        "evaluate_gate_evals_per_s": round(rate),
        "evaluate_vs_python_loop": round(rate / loop_rate, 1),
        "targets": ">= 50e6 gate evaluations/s on one core",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    for bench in (bench_evaluate, bench_exhaustive, bench_milp):
        results[bench.__name__] = bench(args.quick)
        if not args.json:
            print(bench.__name__, json.dumps(results[bench.__name__]))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
