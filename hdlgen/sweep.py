"""``hdlgen sweep``: a grid of experiments run in parallel on Dask, resumable.

A grid file (TOML)::

    [sweep]
    task = "construct-cd"       # construct-cd | construct-mod | train-digits
    output = "cd-sweep.csv"     # .csv or .parquet, relative to the grid file
    synth = "ice40-up5k"        # optional: LUTs and Fmax for every point
    place = false               # optional: with synth, also place and route (Fmax)

    [grid]                      # every combination of these lists is a point
    n = [4, 6, 8]
    energy = [2, 3]
    depth = [2, 3]

    [plot]                      # optional; defaults: first grid key, first measure
    x = "energy"
    y = "size"
    hue = "n"

Each finished point is appended at once to a journal beside the output
(``<output>.jsonl``); a sweep started again skips the points the journal
holds, so an interrupted sweep resumes without redoing finished work. At the
end the table (every point of the grid, in grid order) and a plot
(``<output stem>.png``) are written atomically.

Points run on a Dask distributed cluster: a local one by default (one
single-threaded worker process per core), or an existing one given by its
scheduler address.
"""

from __future__ import annotations

import itertools
import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdlgen.errors import CircuitError, ToolError
from hdlgen.ir.circuit import atomic_path, make_folder, write_atomic

__all__ = ["TASKS", "SweepPlan", "SweepSummary", "load_grid", "run_point", "run_sweep"]


def _cd(params: dict[str, Any]) -> Any:
    from hdlgen.constructions.cd_tradeoff import cd_circuit

    return cd_circuit(int(params["n"]), int(params["energy"]), int(params["depth"]))


def _mod(params: dict[str, Any]) -> Any:
    from hdlgen.constructions import mod_circuit

    return mod_circuit(int(params["n"]), int(params["m"]), int(params["energy"]))


#: Task name -> (required grid keys, optional grid keys).
TASKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "construct-cd": (("n", "energy", "depth"), ()),
    "construct-mod": (("n", "m", "energy"), ()),
    "train-digits": ((), ("kind", "fan_in", "energy_penalty", "seed", "hidden", "input_bits", "epochs", "weight_bits")),
}


@dataclass(frozen=True)
class SweepPlan:
    """A parsed grid file."""

    path: Path
    task: str
    grid: dict[str, list[Any]]
    output: Path
    synth: str | None = None
    place: bool = False
    plot: dict[str, str] | None = None

    def points(self) -> list[dict[str, Any]]:
        """Every combination of the grid's values, in grid order."""
        keys = list(self.grid)
        return [dict(zip(keys, values, strict=True)) for values in itertools.product(*self.grid.values())]

    @property
    def journal(self) -> Path:
        """The journal of finished points."""
        return self.output.with_name(self.output.name + ".jsonl")


def _key(point: dict[str, Any]) -> str:
    return json.dumps(point, sort_keys=True)


def load_grid(path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> SweepPlan:
    """Parse and check a grid file.

    Raises
    ------
    CircuitError
        Naming the file and the key, for anything malformed.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise CircuitError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CircuitError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise CircuitError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise CircuitError(f"{path}: cannot read: {exc.strerror}") from None
    unknown = sorted(set(data) - {"sweep", "grid", "plot"})
    if unknown:
        raise CircuitError(f"{path}: unknown table '{unknown[0]}' (expected [sweep], [grid], [plot])")
    sweep = data.get("sweep")
    if not isinstance(sweep, dict):
        raise CircuitError(f"{path}: missing table [sweep]")
    extra = sorted(set(sweep) - {"task", "output", "synth", "place"})
    if extra:
        raise CircuitError(f"{path}: [sweep]: unknown key '{extra[0]}'")
    task = sweep.get("task")
    if task not in TASKS:
        raise CircuitError(f"{path}: [sweep] task must be one of {', '.join(TASKS)}, not {task!r}")
    grid = data.get("grid")
    if not isinstance(grid, dict) or not grid:
        raise CircuitError(f"{path}: missing or empty table [grid]")
    required, optional = TASKS[task]
    for key, values in grid.items():
        if key not in required and key not in optional:
            raise CircuitError(f"{path}: [grid] key '{key}' is not a parameter of {task}")
        if not isinstance(values, list) or not values:
            raise CircuitError(f"{path}: [grid] key '{key}' must be a non-empty list")
        if any(isinstance(v, dict | list) for v in values):
            raise CircuitError(f"{path}: [grid] key '{key}': values must be numbers or strings")
        if task.startswith("construct") and any(not isinstance(v, int) or isinstance(v, bool) for v in values):
            raise CircuitError(f"{path}: [grid] key '{key}': values must be integers")
    missing = [k for k in required if k not in grid]
    if missing:
        raise CircuitError(f"{path}: [grid] key '{missing[0]}' is missing (needed by {task})")
    synth = sweep.get("synth")
    if synth is not None:
        from hdlgen.synth.targets import TARGETS as TARGET_NAMES

        if synth not in TARGET_NAMES:
            raise CircuitError(f"{path}: [sweep] synth must be one of {', '.join(sorted(TARGET_NAMES))}")
    out = Path(output) if output is not None else path.parent / str(sweep.get("output", path.stem + ".csv"))
    if out.suffix not in (".csv", ".parquet"):
        raise CircuitError(f"{path}: [sweep] output must end in .csv or .parquet, not {out.name!r}")
    plot = data.get("plot")
    if plot is not None and (not isinstance(plot, dict) or set(plot) - {"x", "y", "hue"}):
        raise CircuitError(f"{path}: [plot] takes only the keys x, y and hue")
    return SweepPlan(path, task, grid, out, synth, bool(sweep.get("place", False)), plot)


def run_point(task: str, point: dict[str, Any], synth: str | None, place: bool) -> dict[str, Any]:
    """Run one point; failures become an ``error`` column rather than an exception."""
    row: dict[str, Any] = dict(point)
    try:
        if task == "train-digits":
            from hdlgen.learn import train_digits

            kw = dict(point)
            if "hidden" in kw:
                kw["hidden"] = (int(kw["hidden"]),)
            report = train_digits(energy_time_limit=10.0, **kw)
            circuit = report.circuit
            row.update({k: v for k, v in report.metrics.items() if k not in point and not isinstance(v, list)})
        else:
            from hdlgen.analysis import info

            circuit = _cd(point) if task == "construct-cd" else _mod(point)
            facts = info(circuit, time_limit=60.0)
            # The construction's parameters keep their names; measured depth and energy
            # (at most the parameters) get their own columns.
            row.update(
                size=facts["size"],
                measured_depth=facts["depth"],
                measured_energy=facts["energy"],
                energy_exact=facts["energy_exact"],
                weight=facts["weight"],
                n_connections=facts["n_connections"],
            )
        if synth is not None:
            from hdlgen.synth import synthesize

            result = synthesize(circuit, synth, place=place)
            row.update(luts=result.luts, ffs=result.ffs, carries=result.carries)
            if place:
                row["fmax_mhz"] = result.fmax_mhz
        row["error"] = ""
    except (CircuitError, ToolError, TypeError, ValueError) as exc:  # Type/ValueError: a grid value of the wrong type
        row["error"] = f"{type(exc).__name__}: {exc}" if type(exc) in (TypeError, ValueError) else str(exc)
    return row


@dataclass
class SweepSummary:
    """What a sweep did (``hdlgen sweep --json``)."""

    points: int
    done_before: int
    computed: int
    failed: int
    output: str
    plot: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


def _read_journal(path: Path) -> tuple[dict[str, dict[str, Any]], bool]:
    """The finished points' rows by key, and whether the file ends in half a line (an interrupted write)."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done, False
    text = path.read_text()
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interruption: that point runs again
        if isinstance(entry, dict) and "point" in entry and "row" in entry:
            done[_key(entry["point"])] = entry["row"]
    return done, bool(text) and not text.endswith("\n")


def _write_table(rows: list[dict[str, Any]], out: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(rows)
    if out.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise CircuitError(f"{out}: writing Parquet needs pyarrow (pip install pyarrow); use .csv") from None
        with atomic_path(out) as tmp:
            frame.to_parquet(tmp, index=False)
    else:
        write_atomic(out, frame.to_csv(index=False))


def _plot(rows: list[dict[str, Any]], plan: SweepPlan) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = plan.plot or {}
    params = list(plan.grid)
    numeric = [
        k
        for k in rows[0]
        if k not in params and all(isinstance(r.get(k), int | float) and not isinstance(r.get(k), bool) for r in rows)
    ]
    x = spec.get("x", params[0])
    y = spec.get("y", numeric[0] if numeric else None)
    hue = spec.get("hue", params[1] if len(params) > 1 else None)
    good = [r for r in rows if not r.get("error")]
    if y is None or not good or any(k is not None and k not in good[0] for k in (x, y, hue)):
        return None
    # One line per combination of the other parameters (hue first), points along x.
    others = [k for k in ([hue] if hue else []) + params if k is not None and k != x]
    others = list(dict.fromkeys(others))
    fig, ax = plt.subplots(figsize=(6.5, 4))

    def series(r: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(r.get(k)) for k in others)

    for values, group in itertools.groupby(sorted(good, key=lambda r: (series(r), r[x])), key=series):
        g = list(group)
        label = ", ".join(f"{k} = {v}" for k, v in zip(others, values, strict=True)) or None
        ax.plot([r[x] for r in g], [r[y] for r in g], marker="o", label=label)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3)
    if others:
        ax.legend(fontsize=7)
    ax.set_title(f"{plan.task}: {y} against {x}")
    fig.tight_layout()
    path = plan.output.with_suffix(".png")
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path


#: The local cluster's HTTP server: Dask's scheduler always starts one (health and metrics routes) on
#: ``dashboard_address``, port 8787 when that is None, and only warns when 8787 is taken ("Port 8787 is
#: already in use", as when two sweeps run at once). A free port on the loopback interface, no dashboard.
LOCAL_CLUSTER_HTTP: dict[str, Any] = {"dashboard_address": "127.0.0.1:0", "scheduler_kwargs": {"dashboard": False}}


def run_sweep(
    plan: SweepPlan,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepSummary:
    """Run the points of ``plan`` not already in its journal, then write the table and the plot.

    Parameters
    ----------
    plan : SweepPlan
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); a local
        cluster otherwise.
    workers : int, optional
        Worker processes of the local cluster (default: the number of cores).
    progress : callable, optional
        Called as ``progress(finished, total)``: once before any point runs
        (``finished`` counts the points the journal already holds), then after
        every point.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    points = plan.points()
    make_folder(plan.output.parent)
    done, cut = _read_journal(plan.journal)
    todo = [p for p in points if _key(p) not in done]
    before = len(points) - len(todo)
    if progress is not None:  # the total at once, and the points a resumed sweep already has
        progress(before, len(points))
    if todo:
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout="10s")
            except OSError as exc:
                raise ToolError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
            cluster = None
        else:
            n = workers or os.cpu_count() or 1
            cluster = LocalCluster(
                n_workers=min(n, len(todo)), threads_per_worker=1, processes=True, **LOCAL_CLUSTER_HTTP
            )
            client = Client(cluster)
        try:
            futures = {client.submit(run_point, plan.task, p, plan.synth, plan.place, pure=False): p for p in todo}
            with plan.journal.open("a") as journal:
                if cut:  # end the half line an interrupted write left before appending
                    journal.write("\n")
                for k, future in enumerate(as_completed(futures), start=1):
                    point = futures[future]
                    row = future.result()
                    done[_key(point)] = row
                    journal.write(json.dumps({"point": point, "row": row}) + "\n")
                    journal.flush()
                    os.fsync(journal.fileno())
                    if progress is not None:
                        progress(before + k, len(points))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    rows = [done[_key(p)] for p in points]
    _write_table(rows, plan.output)
    figure = _plot(rows, plan)
    failed = sum(1 for r in rows if r.get("error"))
    return SweepSummary(len(points), before, len(todo), failed, str(plan.output), str(figure) if figure else None)
