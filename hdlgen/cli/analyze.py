"""``hdlgen info`` and ``hdlgen eval``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from hdlgen.analysis import info as circuit_info
from hdlgen.cli.announce import announce
from hdlgen.cli.common import (
    circuit_argument,
    circuit_dataset,
    emit_json,
    load_circuit,
    print_table,
    progress_bar,
    progress_stages,
)
from hdlgen.ir.circuit import Circuit
from hdlgen.ir.reference import Reference
from hdlgen.ir.vectors import format_csv, iter_vectors, open_vectors

if TYPE_CHECKING:
    from hdlgen.analysis.exact_energy import Method

__all__ = ["COMMANDS"]


@click.command("info")
@circuit_argument
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--method",
    type=click.Choice(["auto", "exhaustive", "milp"]),
    default="auto",
    show_default=True,
    help="How to compute the energy: enumerate every input, or solve a MILP (auto: enumerate up to 22 input bits).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="S",
    help="Seconds for the MILP; when it runs out, energy is a lower bound and energy_bounds say how far off.",
)
def info_command(file: str, as_json: bool, method: Method, time_limit: float | None) -> None:
    """Size, depth, weight and exact energy of a circuit."""
    circuit = load_circuit(file)
    with progress_bar("energy") as progress:
        data = circuit_info(circuit, method=method, time_limit=time_limit, progress=progress)
    if as_json:
        emit_json(data)
        return
    shown = dict(data)
    if not data["energy_exact"]:
        low, high = data["energy_bounds"]
        shown["energy"] = f"{data['energy']} (not proven: between {low} and {high})"
    print_table(shown)


@click.command("eval")
@circuit_argument
@click.argument("vectors", required=False, default=None, metavar="[VECTORS]")
@click.option(
    "--dataset",
    type=click.Choice(["digits", "mnist"]),
    default=None,
    help="Run the data set's documented test split instead; print accuracy and mean_activity.",
)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="MNIST: look here first.")
@click.option("--json", "as_json", is_flag=True, help="With --dataset: print one JSON object.")
def eval_command(file: str, vectors: str | None, dataset: str | None, data_dir: str | None, as_json: bool) -> None:
    """Evaluate input vectors (CSV, or stdin) with the reference model.

    Prints CSV: a header of output names and `energy`, then one row per
    vector: its outputs and the number of gates that fired. With --dataset,
    prints the classifier's accuracy and mean activity on the test split.
    """
    circuit = load_circuit(file)
    if dataset is not None:
        from hdlgen.learn import evaluate_dataset

        if vectors is not None:
            raise click.UsageError("give VECTORS or --dataset, not both")
        data = {"dataset": dataset, **evaluate_dataset(circuit, circuit_dataset(file, circuit, dataset, data_dir))}
        if as_json:
            emit_json(data)
        else:
            print_table(data)
        return
    if as_json:
        raise click.UsageError("--json goes with --dataset; eval prints CSV")
    _eval_csv(circuit, vectors or "-")


def _eval_csv(circuit: Circuit, path: str) -> None:
    """Outputs and energy of every vector of ``path`` as CSV on stdout, in bounded memory.

    Vectors are read, evaluated and written in chunks (:func:`iter_vectors`);
    the rows go to a temporary file first and reach stdout only once every
    row has been checked, so a bad row leaves nothing half-written.
    """
    import shutil
    import tempfile

    import numpy as np

    ref = Reference(circuit)
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as tmp:
        tmp.write(format_csv([*circuit.outputs, "energy"], np.zeros((0, 0), dtype=np.int64)))
        with open_vectors(path) as (stream, source):
            for X in iter_vectors(circuit, stream, source):
                outputs, act = ref.run(X)
                np.savetxt(tmp, np.concatenate([outputs, act.reshape(-1, 1)], axis=1), fmt="%d", delimiter=",")
        tmp.seek(0)
        shutil.copyfileobj(tmp, sys.stdout)


@click.command("report")
@circuit_argument
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="HTML file to write.")
@click.option(
    "--synth",
    "synth_target",
    type=click.Choice(["ice40-up5k", "ice40-hx8k", "ecp5-25k", "ecp5-85k"]),
    default=None,
    help="Also synthesize for this target and show LUTs and Fmax.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Random inputs when there are more than 16 input bits (a trained classifier uses its test split).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    metavar="S",
    help="Seconds for the exact-energy MILP.",
)
@click.option(
    "--power",
    "power_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="POWER.json",
    help="Show the netlist switching per inference of this `hdlgen power --json` run.",
)
@click.option("--json", "as_json", is_flag=True, help="Also print the measured figures as one JSON object.")
def report_command(
    file: str,
    output: str,
    synth_target: str | None,
    samples: int,
    seed: int,
    time_limit: float,
    power_file: str | None,
    as_json: bool,
) -> None:
    """One self-contained HTML page: resources, firing histogram and rates, synthesis, Theorem 1."""
    from hdlgen.ir.circuit import write_atomic
    from hdlgen.report import collect, render_html

    circuit = load_circuit(file)
    power = None
    if power_file is not None:
        from hdlgen.cli.power import load_power_json

        power = load_power_json(power_file, circuit.name)  # a bad file stops the command before the long steps
    with progress_stages("report") as (progress, on_stage):
        data = collect(
            circuit,
            samples=samples,
            seed=seed,
            time_limit=time_limit,
            synth_target=synth_target,
            progress=progress,
            on_stage=on_stage,
        )
        data.power = power
        if on_stage is not None:
            on_stage("drawing the figures")
        page = render_html(circuit, data)
    write_atomic(output, page)
    announce(output)
    if as_json:
        emit_json({**data.to_dict(), "output": output})


COMMANDS = [info_command, eval_command, report_command]


@click.command("sweep")
@click.argument("grid", metavar="GRID.toml", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Table to write (.csv/.parquet).")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="An existing Dask scheduler (tcp://host:8786).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes [default: cores].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sweep_command(grid: str, output: str | None, scheduler: str | None, workers: int | None, as_json: bool) -> None:
    """Run a grid of constructions or trainings in parallel on Dask; resumes where it stopped.

    The grid file is TOML with [sweep] (task, output, synth), [grid] (a list
    of values per parameter) and an optional [plot] (x, y, hue). Finished
    points go to a journal beside the output at once, so running the same
    command again after an interruption only runs what is left.
    """
    from hdlgen.sweep import load_grid, run_sweep

    plan = load_grid(grid, output)
    with progress_bar("sweep") as progress:
        summary = run_sweep(plan, scheduler=scheduler, workers=workers, progress=progress)
    data = summary.to_dict()
    if summary.computed:
        announce(plan.journal, "the journal of finished points (a rerun resumes from it)")
    announce(summary.output, "the table")
    if summary.plot:
        announce(summary.plot, "the plot")
    if as_json:
        emit_json(data)
    else:
        print_table(data)


COMMANDS.append(sweep_command)
