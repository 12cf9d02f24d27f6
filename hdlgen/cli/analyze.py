"""``hdlgen info`` and ``hdlgen eval``."""

from __future__ import annotations

import sys

import click

from hdlgen.analysis import info as circuit_info
from hdlgen.cli.common import circuit_argument, emit_json, load_circuit, progress_bar
from hdlgen.reference import Reference
from hdlgen.vectors import format_csv, read_vectors_file

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
def info_command(file: str, as_json: bool, method: str, time_limit: float | None) -> None:
    """Size, depth, weight and exact energy of a circuit."""
    circuit = load_circuit(file)
    with progress_bar("energy") as progress:
        data = circuit_info(circuit, method=method, time_limit=time_limit, progress=progress)  # type: ignore[arg-type]
    if as_json:
        emit_json(data)
        return
    width = max(len(k) for k in data)
    for key, value in data.items():
        if key == "energy" and not data["energy_exact"]:
            value = f"{value} (not proven: between {data['energy_bounds'][0]} and {data['energy_bounds'][1]})"
        click.echo(f"{key:<{width}}  {value}")


@click.command("eval")
@circuit_argument
@click.argument("vectors", required=False, default=None, metavar="[VECTORS]")
@click.option(
    "--dataset",
    type=click.Choice(["digits"]),
    default=None,
    help="Run the data set's documented test split instead; print accuracy and mean_activity.",
)
@click.option("--json", "as_json", is_flag=True, help="With --dataset: print one JSON object.")
def eval_command(file: str, vectors: str | None, dataset: str | None, as_json: bool) -> None:
    """Evaluate input vectors (CSV, or stdin) with the reference model.

    Prints CSV: a header of output names and `energy`, then one row per
    vector: its outputs and the number of gates that fired. With --dataset,
    prints the classifier's accuracy and mean activity on the test split.
    """
    circuit = load_circuit(file)
    if dataset is not None:
        from hdlgen.datasets import dataset_for_circuit
        from hdlgen.learn import evaluate_dataset

        if vectors is not None:
            raise click.UsageError("give VECTORS or --dataset, not both")
        data = {"dataset": dataset, **evaluate_dataset(circuit, dataset_for_circuit(circuit, dataset))}
        if as_json:
            emit_json(data)
        else:
            for key, value in data.items():
                click.echo(f"{key:<17}  {value}")
        return
    if as_json:
        raise click.UsageError("--json goes with --dataset; eval prints CSV")
    vectors = vectors or "-"
    X = read_vectors_file(circuit, vectors)
    outputs, act = Reference(circuit).run(X)
    import numpy as np

    table = np.concatenate([outputs, act.reshape(-1, 1)], axis=1)
    sys.stdout.write(format_csv([*circuit.outputs, "energy"], table))


COMMANDS = [info_command, eval_command]
