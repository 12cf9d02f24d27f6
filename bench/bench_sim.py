"""Simulation speed: the self-clocked testbench (``hdlgen sim``'s default) against the cocotb driver, same run.

Run: ``python bench/bench_sim.py [--quick] [--json]``; or import it and call
:func:`bench_sim`, which returns a dict (``bench/run.py`` can add it to its
report).

Figures:

- ``verilator_hdl_vectors_per_second``: a 16-input circuit (2 layers of 12
  threshold gates, fan-in 8), ``vectors`` random vectors on Verilator, driver
  ``hdl``: vectors over the wall-clock seconds of the simulator runs (build,
  stimulus writing and comparison excluded; ``vectors_per_second`` as ``hdlgen sim --json`` reports it).
  Target: >= 1,000,000. ``..._per_cpu_second`` divides by the simulator
  processes' CPU time instead, which a busy machine does not inflate.
- ``exhaustive_16_seconds``: all 65,536 vectors of that circuit, end to end
  (cached build).
- ``verilator_cocotb_vectors_per_second``: the cocotb per-edge driver on the
  same circuit (fewer vectors), and ``speedup_hdl_over_cocotb``.
- ``exhaustive_24``: ``hdlgen sim --exhaustive`` of a 24-input circuit (2
  layers of 12 threshold gates): seconds including the build (a fresh build
  cache) and the peak resident memory of the process (it runs in its own
  process, so the figure is its own). Targets: <= 60 s, <= 2 GiB.
- ``load_average``: the machine's 1-minute load when the bench started (the
  project's machines are shared: read the wall-clock figures with it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

from hdlgen.ir.circuit import Circuit
from hdlgen.ir.vectors import random_vectors
from hdlgen.random_circuits import random_layered
from hdlgen.sim.run import Exhaustive, simulate

__all__ = ["bench_exhaustive_24", "bench_sim", "circuit16", "circuit24"]


def circuit16() -> Circuit:
    """The 16-input circuit: 2 layers of 12 threshold gates, fan-in 8."""
    return random_layered(16, [12, 12], fan_in=8, seed=3)


def circuit24() -> Circuit:
    """The 24-input circuit of issue 17: 2 layers of 12 threshold gates (fan-in 12)."""
    return random_layered(24, [12, 12], fan_in=12, seed=5)


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def bench_exhaustive_24(cache: str | None = None) -> dict[str, Any]:
    """Exhaustive verification of :func:`circuit24` in this process; seconds, peak RSS, result.

    Parameters
    ----------
    cache : str, optional
        Build cache to use (a fresh one measures the build too).

    Returns
    -------
    dict
    """
    if cache is not None:
        os.environ["HDLGEN_CACHE_DIR"] = cache
    c = circuit24()
    start = time.perf_counter()
    r = simulate(c, Exhaustive(0, 1 << c.input_bits))
    seconds = time.perf_counter() - start
    self_usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "vectors": r.vectors,
        "passed": r.passed,
        "seconds_including_build": round(seconds, 1),
        "build_seconds": r.build_seconds,
        "run_seconds": r.run_seconds,
        "chunks": r.chunks,
        "gate_toggles": r.gate_toggles,
        "expected_gate_toggles": r.expected_gate_toggles,
        "peak_rss_gib": round(self_usage.ru_maxrss / 2**20, 3),
        "cpu_seconds_python": round(self_usage.ru_utime + self_usage.ru_stime, 1),
        "cpu_seconds_simulator": round(_children_cpu(), 1),
    }


def bench_sim(quick: bool = False) -> dict[str, Any]:
    """Measure the simulation figures described in the module docstring.

    Parameters
    ----------
    quick : bool
        Fewer vectors, and no 24-input exhaustive run.

    Returns
    -------
    dict
    """
    out: dict[str, Any] = {"load_average": round(os.getloadavg()[0], 1)}
    c = circuit16()
    n = 200_000 if quick else 2_000_000
    X = random_vectors(c, n, 1)
    simulate(c, X[:1000])  # build (cached afterwards)
    cpu0 = _children_cpu()
    r = simulate(c, X)
    cpu = _children_cpu() - cpu0
    assert r.passed, r.first_mismatches
    out["vectors"] = n
    out["verilator_hdl_vectors_per_second"] = r.vectors_per_second
    out["verilator_hdl_vectors_per_cpu_second"] = round(n / cpu, 1) if cpu else None
    start = time.perf_counter()
    r = simulate(c, Exhaustive(0, 1 << 16))
    out["exhaustive_16_seconds"] = round(time.perf_counter() - start, 2)
    assert r.passed
    m = 20_000 if quick else 50_000
    simulate(c, X[:100], driver="cocotb")  # build
    r = simulate(c, X[:m], driver="cocotb")
    assert r.passed, r.first_mismatches
    out["cocotb_vectors"] = m
    out["verilator_cocotb_vectors_per_second"] = r.vectors_per_second
    out["speedup_hdl_over_cocotb"] = round(out["verilator_hdl_vectors_per_second"] / max(1e-9, r.vectors_per_second), 1)
    out["target_vectors_per_second"] = 1_000_000
    if not quick:
        with tempfile.TemporaryDirectory(prefix="hdlgen-bench-cache-") as cache:
            proc = subprocess.run(
                [sys.executable, __file__, "--exhaustive-24", cache], capture_output=True, text=True, check=True
            )
        out["exhaustive_24"] = json.loads(proc.stdout)
        out["exhaustive_24"]["targets"] = {"seconds_including_build": 60, "peak_rss_gib": 2}
    return out


def main() -> None:
    """Command line: print the figures (``--json``: one object)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--exhaustive-24", metavar="CACHE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.exhaustive_24:
        print(json.dumps(bench_exhaustive_24(args.exhaustive_24)))
        return
    figures = bench_sim(args.quick)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:<40} {value}")


if __name__ == "__main__":
    main()
