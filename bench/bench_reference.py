"""Benchmarks of the reference model, exact energy, MILP and rank (issues: foundation, 17).

Every figure is printed with its target and a ratio against the code before
issue 17 (kept in bench/baseline/), measured in the same run on the same
machine. "Loaded" figures are measured while a process the bench starts
spins on one core (the other core of a 2-core machine busy), then stops.
Run: ``python bench/bench_reference.py [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline import exact_energy_0, rank_0, reference_0

from hdlgen.analysis import energy_exhaustive, energy_milp
from hdlgen.analysis.rank import communication_matrix, exact_rank, natural_partition
from hdlgen.constructions.functions import cd
from hdlgen.ir.reference import Reference, default_workers, enumerate_inputs
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


@contextlib.contextmanager
def other_core_busy() -> Iterator[None]:
    """A process spinning on one core for the duration of the block."""
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it start spinning
        yield
    finally:
        spin.kill()
        spin.wait()


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Shortest wall time of ``repeat`` calls, and the last result."""
    best, result = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def cpu_load() -> dict[str, Any]:
    """The machine's load when the section starts (shared machines: read the figures with it)."""
    return {"loadavg_1min": round(os.getloadavg()[0], 2), "cpus": default_workers()}


# --------------------------------------------------------------------------- sections


def bench_exhaustive(quick: bool) -> dict:
    """Exact energy of the 20-input, 192-gate circuit, quiet and loaded, against the old code."""
    c = random_layered(20, [64, 64, 64], fan_in=16, seed=1)
    repeat = 1 if quick else 3
    out: dict[str, Any] = {"load": cpu_load()}
    new_quiet, r = best_of(lambda: energy_exhaustive(c), repeat)
    with other_core_busy():
        new_loaded, r2 = best_of(lambda: energy_exhaustive(c), repeat)
    # The old code as users ran it: OpenBLAS's default threads.
    old_quiet, r_old = best_of(lambda: exact_energy_0.energy_exhaustive(c), 1)
    assert r.value == r2.value == r_old.value and r.witness == r_old.witness
    out.update(
        {
            "exhaustive_energy_20in_192g_s": round(new_quiet, 3),
            "exhaustive_energy_20in_192g_loaded_s": round(new_loaded, 3),
            "loaded_over_quiet": round(new_loaded / new_quiet, 2),
            "old_code_s": round(old_quiet, 3),
            "speedup_vs_old_code": round(old_quiet / new_quiet, 1),
        }
    )
    if not quick:
        with other_core_busy():
            old_loaded, _ = best_of(lambda: exact_energy_0.energy_exhaustive(c), 1)
        out["old_code_loaded_s"] = round(old_loaded, 3)
        out["speedup_vs_old_code_loaded"] = round(old_loaded / new_loaded, 1)
    # Evaluation rate of the enumeration alone, on every core and on one.
    ref = Reference(c)
    for workers in sorted({1, default_workers()}):
        secs, _ = best_of(lambda w=workers: ref.max_activity(workers=w), repeat)
        out[f"exhaustive_gate_evals_per_s_{workers}_threads"] = float(f"{2**20 * c.size / secs:.3g}")
    out.update(blas_bound(ref, repeat))
    sample = enumerate_inputs(c, 0, 2000 if quick else 20000)
    t = time.perf_counter()
    python_loop_activity(c, sample)
    loop_seconds = (time.perf_counter() - t) * (2**20 / len(sample))
    out["exhaustive_vs_python_loop"] = round(loop_seconds / new_quiet, 1)
    out["targets"] = "<= 1 s quiet, loaded <= 1.5x quiet, >= 1e9 gate evaluations/s on 2 cores"
    return out


def blas_bound(ref: Reference, repeat: int) -> dict[str, Any]:
    """The enumeration's limit: its BLAS products alone, timed on the same shapes and chunks.

    The enumeration's inner loop is, per chunk and level, one float32 product
    ``V[:, sources] @ W`` (rows x sources by sources x gates) plus element-wise
    NumPy work; the products do ``2 * sources`` flops per gate evaluation
    whatever the fan-in (dense). Timing the products alone, on one thread,
    gives the gate-evaluation rate the enumeration could reach if everything
    else cost nothing: twice that is the 2-core ceiling of this method.
    """
    from hdlgen.ir.reference import _Enumeration, blas_single_thread

    enum = _Enumeration(ref, None)
    rows = 1 << enum.m
    n_chunks = 1 << (enum.bits - enum.m)
    V = np.ones((rows, enum.table.shape[1]), dtype=enum.dtype)
    products = [(gsrc, w_g) for gsrc, w_g, _, _ in enum.levels if w_g is not None]

    def only_products() -> None:
        for _ in range(n_chunks):
            for gsrc, w_g in products:
                V[:, gsrc] @ w_g

    with blas_single_thread():
        secs, _ = best_of(only_products, repeat)
    rate = (1 << enum.bits) * ref.circuit.size / secs
    return {
        "blas_products_only_s_1_thread": round(secs, 3),
        "blas_products_only_gate_evals_per_s_1_thread": float(f"{rate:.3g}"),
        "blas_ceiling_gate_evals_per_s_2_cores": float(f"{2 * rate:.3g}"),
    }


def bench_milp(quick: bool, time_limit: float = 120.0) -> dict:
    """The three 64-input, 100-gate circuits: the default portfolio, HiGHS alone, CP-SAT alone, and the old code.

    Each run gets ``time_limit`` seconds of wall time; CPU seconds (every
    thread of the process) are reported beside them, since the machine may be
    shared. On a time-out the proven bounds are reported.
    """
    rows = []
    for seed in (1,) if quick else (1, 2, 3):
        c = random_layered(64, [40, 40, 20], fan_in=16, seed=seed)
        row: dict[str, Any] = {"seed": seed, "load": cpu_load()}
        runs = {
            "portfolio": lambda c=c: energy_milp(c, time_limit=time_limit),
            "highs": lambda c=c: energy_milp(c, time_limit=time_limit, solver="highs"),
            "cpsat": lambda c=c: energy_milp(c, time_limit=time_limit, solver="cpsat"),
            "old_code": lambda c=c: exact_energy_0.energy_milp(c, time_limit=time_limit),
        }
        for name, run in runs.items():
            cpu = time.process_time()
            r = run()
            row[name] = {
                "seconds": round(r.seconds, 1),
                "cpu_seconds": round(time.process_time() - cpu, 1),
                "energy": r.value,
                "bounds": list(r.bounds),
                "exact": r.exact,
            }
        rows.append(row)
    return {
        "milp_64in_100g": rows,
        "time_limit_s": time_limit,
        "workers": default_workers(),
        "targets": "each proven exact in <= 60 s",
    }


def bench_rank(quick: bool) -> dict:
    """Exact rank of CD_24's natural-partition matrix (4095 x 4095 after reduction), against the old code."""
    M = communication_matrix(cd(24), 24, natural_partition(24))
    out: dict[str, Any] = {"load": cpu_load()}
    cpu = time.process_time()
    secs, r = best_of(lambda: exact_rank(M), 1)
    cpu = time.process_time() - cpu
    old, r_old = best_of(lambda: rank_0.exact_rank(M), 1)
    assert r == r_old == 4095
    out.update(
        {
            "rank_cd24_s": round(secs, 2),
            # CPU seconds of this process (all its threads): the wall figure a quiet machine would show.
            "rank_cd24_cpu_s": round(cpu, 2),
            "old_code_s": round(old, 2),
            "speedup_vs_old_code": round(old / secs, 1),
        }
    )
    out["targets"] = "<= 5 s"
    return out


def bench_evaluate(quick: bool) -> dict:
    c = random_layered(32, [64], fan_in=16, seed=4)
    n = 200_000 if quick else 1_000_000
    X = np.random.default_rng(0).integers(0, 2, size=(n, 32))
    ref, old = Reference(c), reference_0.Reference(c)
    ref.evaluate(X[:1000])
    seconds, act = best_of(lambda: ref.activity(X), 3)  # best of three: the first pass pays for page faults
    old_seconds, old_act = best_of(lambda: old.activity(X), 3)
    assert np.array_equal(act, old_act)
    sample = X[:2000]
    t = time.perf_counter()
    python_loop_activity(c, sample)
    loop_rate = len(sample) * 64 / (time.perf_counter() - t)
    rate = n * 64 / seconds
    return {
        "load": cpu_load(),
        "evaluate_gate_evals_per_s": float(f"{rate:.3g}"),
        "speedup_vs_old_code": round(old_seconds / seconds, 2),
        "evaluate_vs_python_loop": round(rate / loop_rate, 1),
        "targets": ">= 50e6 gate evaluations/s",
    }


def bench_peak_memory(quick: bool) -> dict:
    """Peak RSS of ``hdlgen eval`` on many vectors and of ``hdlgen info`` (exhaustive, 20 inputs)."""
    n = 200_000 if quick else 2_000_000
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        c = random_layered(32, [16], fan_in=8, seed=3)
        c.save(Path(tmp) / "c.json")
        random_layered(20, [64, 64, 64], fan_in=16, seed=1).save(Path(tmp) / "big.json")
        X = np.random.default_rng(2).integers(0, 2, size=(n, 32), dtype=np.int8)
        np.savetxt(Path(tmp) / "v.csv", X, fmt="%d", delimiter=",")
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent (this bench).
        code = (
            "import sys; from hdlgen.cli import main; main(sys.argv[1:]); "
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0], file=sys.stderr)"
        )
        for key, args in (
            (f"eval_{n}_vectors", ["eval", f"{tmp}/c.json", f"{tmp}/v.csv"]),
            ("info_20in_192g", ["info", f"{tmp}/big.json", "--json"]),
        ):
            t = time.perf_counter()
            r = subprocess.run(
                [sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            assert r.returncode == 0, r.stderr
            out[f"{key}_peak_rss_mib"] = round(int(r.stderr.strip().splitlines()[-1]) / 1024, 1)
            out[f"{key}_s"] = round(time.perf_counter() - t, 1)
    out["targets"] = "peak RSS <= 2048 MiB whatever the number of vectors"
    out["bench_process_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


SECTIONS = (bench_evaluate, bench_exhaustive, bench_rank, bench_milp, bench_peak_memory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", nargs="+", choices=[f.__name__ for f in SECTIONS], help="run these sections only")
    args = parser.parse_args()
    results = {}
    for bench in SECTIONS:
        if args.only and bench.__name__ not in args.only:
            continue
        results[bench.__name__] = bench(args.quick)
        if not args.json:
            print(bench.__name__, json.dumps(results[bench.__name__]), flush=True)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
