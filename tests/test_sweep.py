"""``hdlgen sweep``: grids on Dask, resuming, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hdlgen.analysis import info
from hdlgen.cli import main
from hdlgen.constructions.cd_tradeoff import cd_circuit

GRID = """
[sweep]
task = "construct-cd"
output = "out.csv"

[grid]
n = {n}
energy = [2, 3]
depth = [2]
"""


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def run(capsys, argv: list[str]) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_sweep_runs_resumes_and_extends(tmp_path: Path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(n="[4, 6]"))
    first = run(capsys, ["sweep", str(grid), "--workers", "2"])
    assert first["points"] == 4 and first["computed"] == 4 and first["done_before"] == 0 and first["failed"] == 0
    rows = read_rows(tmp_path / "out.csv")
    assert [(r["n"], r["energy"]) for r in rows] == [("4", "2"), ("4", "3"), ("6", "2"), ("6", "3")]
    for r in rows:
        facts = info(cd_circuit(int(r["n"]), int(r["energy"]), int(r["depth"])))
        assert int(r["size"]) == facts["size"] and int(r["measured_energy"]) == facts["energy"] <= int(r["energy"])
    assert (tmp_path / "out.png").stat().st_size > 1000

    # An interruption can leave a half-written last journal line: that point runs again.
    journal = tmp_path / "out.csv.jsonl"
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    again = run(capsys, ["sweep", str(grid)])
    assert again["done_before"] == 3 and again["computed"] == 1

    grid.write_text(GRID.format(n="[4, 6, 8]") + '\n[plot]\nx = "n"\ny = "size"\n')
    more = run(capsys, ["sweep", str(grid), "-o", str(tmp_path / "out.csv")])
    assert more["points"] == 6 and more["done_before"] == 4 and more["computed"] == 2
    assert len(read_rows(tmp_path / "out.csv")) == 6


@pytest.mark.slow
def test_sweep_on_an_existing_scheduler_to_parquet(tmp_path: Path, capsys):
    import pandas as pd
    from dask.distributed import LocalCluster

    grid = tmp_path / "g.toml"
    grid.write_text(GRID.format(n="[4, 5]").replace("out.csv", "out.parquet"))
    from hdlgen.sweep import LOCAL_CLUSTER_HTTP

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, **LOCAL_CLUSTER_HTTP) as cluster:
        summary = run(capsys, ["sweep", str(grid), "--scheduler", cluster.scheduler_address])
    assert summary["points"] == 4 and summary["failed"] == 2  # CD_n needs an even n
    frame = pd.read_parquet(tmp_path / "out.parquet")
    assert list(frame["n"]) == [4, 4, 5, 5]
    assert all("even" in e for e in frame["error"][2:]) and not any(frame["error"][:2])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sweep]\ntask = 'nope'\n[grid]\nn = [1]\n", "task must be one of"),
        ("[sweep]\ntask = 'construct-cd'\n[grid]\nn = [4]\nenergy = [2]\n", "[grid] key 'depth' is missing"),
        ("[sweep]\ntask = 'construct-cd'\n[grid]\nn = [4]\nenergy = [2]\ndepth = [2]\nx = [1]\n", "key 'x' is not"),
        ("[sweep]\ntask = 'construct-cd'\n[grid]\nn = 4\n", "[grid] key 'n' must be a non-empty list"),
        (
            "[sweep]\ntask = 'construct-cd'\noutput = 'a.xlsx'\n[grid]\nn = [4]\nenergy = [2]\ndepth = [2]\n",
            "must end in",
        ),
        ("[sweep\n", "not valid TOML"),
        ("[grid]\nn = [4]\n", "missing table [sweep]"),
    ],
)
def test_sweep_bad_grid_files(tmp_path: Path, capsys, text: str, message: str):
    grid = tmp_path / "bad.toml"
    grid.write_text(text)
    assert main(["sweep", str(grid)]) == 2
    err = capsys.readouterr().err
    assert str(grid) in err and message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.csv*"))


def test_sweep_reports_progress_and_announces_its_files(tmp_path: Path, capsys):
    """Progress starts with the total (and the points a journal already holds); the outputs are announced."""
    from hdlgen.sweep import load_grid, run_point, run_sweep

    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(n="[4]"))
    plan = load_grid(grid)
    with plan.journal.open("w") as journal:  # every point already done: no Dask cluster starts
        for point in plan.points():
            journal.write(json.dumps({"point": point, "row": run_point(plan.task, point, None, False)}) + "\n")
    calls: list[tuple[int, int]] = []
    summary = run_sweep(plan, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 2)] and summary.computed == 0 and summary.done_before == 2
    assert main(["sweep", str(grid)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"hdlgen: wrote the table to {tmp_path / 'out.csv'}",
        f"hdlgen: wrote the plot to {tmp_path / 'out.png'}",
    ]


def test_local_cluster_needs_no_fixed_port(tmp_path: Path, capsys):
    """Two sweeps at once (or a sweep beside a Dask dashboard) do not fight over port 8787.

    Dask's scheduler starts an HTTP server even without a dashboard, on port 8787 unless told otherwise, and
    warns "Port 8787 is already in use" when it is taken; the sweep's local cluster asks for a free port.
    """
    import socket
    import warnings

    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(n="[4]"))
    holder = socket.socket()
    try:
        holder.bind(("", 8787))
        holder.listen()
    except OSError:  # already taken by someone else: the situation this test is about
        pass
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert main(["sweep", str(grid), "-o", str(tmp_path / "out.csv"), "--workers", "1", "--json"]) == 0
    finally:
        holder.close()
    captured = capsys.readouterr()
    assert json.loads(captured.out)["computed"] == 2
    assert [str(w.message) for w in caught if "8787" in str(w.message)] == []
    assert captured.err.splitlines() == [
        f"hdlgen: wrote the journal of finished points (a rerun resumes from it) to {tmp_path / 'out.csv.jsonl'}",
        f"hdlgen: wrote the table to {tmp_path / 'out.csv'}",
        f"hdlgen: wrote the plot to {tmp_path / 'out.png'}",
    ]
