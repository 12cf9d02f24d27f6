"""``hdlgen sim``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from hdlgen.cli.announce import announce
from hdlgen.cli.common import circuit_argument, circuit_dataset, emit_json, load_circuit, progress_stages
from hdlgen.cli.hardware import clock_gating_option, gating_option, pipeline_option, top_option
from hdlgen.errors import CheckError, CircuitError

if TYPE_CHECKING:
    import numpy as np

    from hdlgen.datasets import Dataset
    from hdlgen.hdl.top import ClockGating, Gating
    from hdlgen.ir.circuit import Circuit
    from hdlgen.sim.run import Driver, Schedule, Simulator

__all__ = ["COMMANDS"]

EXHAUSTIVE_LIMIT = 24


@click.command("sim")
@circuit_argument
@click.argument("vectors_file", required=False, metavar="[VECTORS.csv]")
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@click.option(
    "--driver",
    type=click.Choice(["hdl", "hdl-cocotb", "cocotb"]),
    default="hdl",
    show_default=True,
    help="Who drives the ports: a self-clocked Verilog testbench (hdl, fastest; hdl-cocotb: started by cocotb), "
    "or the cocotb test, edge by edge from Python (cocotb).",
)
@click.option(
    "--vectors",
    "n_vectors",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Simulate N random vectors (default 1000 when no other source is given).",
)
@click.option("--exhaustive", is_flag=True, help="Simulate all 2^(input bits) vectors.")
@click.option(
    "--dataset",
    type=click.Choice(["digits", "mnist"]),
    default=None,
    help="Simulate the data set's documented test split; report the hardware's accuracy and mean_activity.",
)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="MNIST: look here first.")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the random vectors and schedule.",
)
@gating_option
@click.option(
    "--schedule",
    type=click.Choice(["back-to-back", "gaps", "random", "reset"]),
    default="back-to-back",
    show_default=True,
    help="Spacing of vectors in time; 'reset' also resets the design mid-run.",
)
@click.option(
    "--rtl",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="OUT.v",
    help="Verify this Verilog (with the ports of docs/verilog-ports.md) instead of generating the design.",
)
@top_option
@pipeline_option
@clock_gating_option
@click.option(
    "--waves",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE.vcd",
    help="Write a VCD waveform and print its path.",
)
@click.option(
    "--toggles/--no-toggles",
    default=True,
    show_default=True,
    help="Count the gate registers' bit changes and compare them with the pipeline model.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sim_command(
    file: str,
    vectors_file: str | None,
    simulator: Simulator,
    driver: Driver,
    n_vectors: int | None,
    exhaustive: bool,
    dataset: str | None,
    data_dir: str | None,
    seed: int,
    gating: Gating,
    schedule: Schedule,
    rtl: str | None,
    top: str | None,
    pipeline: bool,
    clock_gating: ClockGating,
    waves: str | None,
    toggles: bool,
    as_json: bool,
) -> None:
    """Simulate the design on Verilator or Icarus and compare it with the NumPy reference, bit for bit.

    By default a self-clocked Verilog testbench drives the ports (fastest);
    --driver hdl-cocotb starts the same testbench from cocotb, --driver cocotb
    drives every edge from a cocotb test. Exit status 1 when an output, an
    o_energy, an o_class or a gate-register toggle count differs from the
    reference's prediction, or is X/Z.
    """
    from hdlgen.ir.vectors import random_vectors, read_vectors_file
    from hdlgen.sim.run import Exhaustive, simulate

    circuit = load_circuit(file)
    sources = sum([vectors_file is not None, n_vectors is not None, exhaustive, dataset is not None])
    if sources > 1:
        raise click.UsageError("give one of VECTORS.csv, --vectors N, --exhaustive and --dataset")
    data_set = None
    X: np.ndarray | Exhaustive
    if dataset is not None:
        data_set = _test_split(file, circuit, dataset, data_dir)
        X = data_set.X_test
    elif exhaustive:
        if circuit.input_bits > EXHAUSTIVE_LIMIT:
            raise CircuitError(
                f"{file}: --exhaustive would simulate 2^{circuit.input_bits} vectors (at most 2^{EXHAUSTIVE_LIMIT})"
            )
        X = Exhaustive(0, 1 << circuit.input_bits)
    elif vectors_file is not None:
        X = read_vectors_file(circuit, vectors_file)
    else:
        X = random_vectors(circuit, n_vectors or 1000, seed)
    with progress_stages("simulating", progress_label="simulating") as (progress, on_stage):
        result = simulate(
            circuit,
            X,
            simulator=simulator,
            gating=gating,
            schedule=schedule,
            seed=seed,
            rtl=rtl,
            top=top,
            waves=waves,
            driver=driver,
            pipeline=pipeline,
            clock_gating=clock_gating,
            toggles=toggles,
            progress=progress,
            on_stage=on_stage,
        )
    data = result.to_dict()
    if waves:
        announce(waves, "the waveform")
    if data_set is not None and result.predictions is not None and result.energies is not None:
        from hdlgen.learn.digits import activity_metrics, evaluate_dataset

        hardware = activity_metrics(circuit, result.predictions, result.energies, data_set.y_test)
        reference = evaluate_dataset(circuit, data_set)
        data.update(
            dataset=dataset,
            accuracy=hardware["accuracy"],
            mean_activity=hardware["mean_activity"],
            reference_accuracy=reference["accuracy"],
            reference_mean_activity=reference["mean_activity"],
        )
    if as_json:
        emit_json(data)
    else:
        for key in (
            "passed",
            "vectors",
            "mismatches",
            "simulator",
            "vectors_per_second",
            "measured_energy_max",
            "reference_energy_max",
            "gate_toggles",
            "expected_gate_toggles",
            *(("accuracy", "reference_accuracy", "mean_activity") if data_set is not None else ()),
        ):
            click.echo(f"{key:<22}  {data[key]}")
        if waves:
            click.echo(f"{'waves':<22}  {waves}")
    if not result.passed:
        raise CheckError(failure_message(result.to_dict()))


def _test_split(file: str, circuit: Circuit, dataset: str, data_dir: str | None) -> Dataset:
    """The data set ``--dataset`` names, for a classifier circuit (its test split is simulated)."""
    from hdlgen.ir.classify import class_labels

    if class_labels(circuit) is None:
        raise CircuitError(f"{file}: --dataset needs a classifier circuit (meta 'classes')")
    return circuit_dataset(file, circuit, dataset, data_dir)


def failure_message(data: dict[str, Any]) -> str:
    """One line saying why a simulation failed, naming the first failing vector and edge.

    Parameters
    ----------
    data : dict
        :meth:`hdlgen.sim.run.SimResult.to_dict`.

    Returns
    -------
    str
    """
    if data["mismatches"]:
        first = data["first_mismatches"][0] if data["first_mismatches"] else {}
        if "unknown" in first:
            detail = (
                f"X/Z on {first['unknown']} after edge {first['edge']} (vector {first['vector']} "
                f"inputs {first['inputs']})"
            )
        elif "vector" in first:
            detail = (
                f"vector {first['vector']} (edge {first['edge']}) inputs {first['inputs']}: expected "
                f"{first['expected']} energy {first['expected_energy']}, got {first['actual']} "
                f"energy {first['actual_energy']}"
            )
        else:
            detail = first.get("error", "")
        return f"{data['mismatches']} of {data['vectors']} vectors differ from the reference; {detail}"
    errors = [f["error"] for f in data["first_mismatches"] if "error" in f]
    if errors:
        return errors[0]
    return f"gate-register toggles {data['gate_toggles']} differ from the predicted {data['expected_gate_toggles']}"


COMMANDS = [sim_command]
