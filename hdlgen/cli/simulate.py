"""``hdlgen sim``."""

from __future__ import annotations

import click

from hdlgen.cli.common import circuit_argument, emit_json, load_circuit
from hdlgen.cli.hardware import clock_gating_option, gating_option, pipeline_option, top_option
from hdlgen.errors import CheckError, CircuitError

__all__ = ["COMMANDS"]

EXHAUSTIVE_LIMIT = 24


@click.command("sim")
@circuit_argument
@click.argument("vectors_file", required=False, metavar="[VECTORS.csv]")
@click.option("--simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@click.option(
    "--driver",
    type=click.Choice(["cocotb", "hdl"]),
    default="cocotb",
    show_default=True,
    help="Who drives the ports: the cocotb test, edge by edge, or a Verilog player reading a file (faster).",
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
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random vectors and schedule.")
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
    help="Verify this Verilog (SPEC ports) instead of generating the design.",
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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sim_command(
    file: str,
    vectors_file: str | None,
    simulator: str,
    driver: str,
    n_vectors: int | None,
    exhaustive: bool,
    dataset: str | None,
    data_dir: str | None,
    seed: int,
    gating: str,
    schedule: str,
    rtl: str | None,
    top: str | None,
    pipeline: bool,
    clock_gating: str,
    waves: str | None,
    as_json: bool,
) -> None:
    """Simulate the design with cocotb and compare it with the NumPy reference, bit for bit.

    Exit status 1 when an output, an o_energy or a gate-register toggle count
    differs from the reference's prediction.
    """
    from hdlgen.ir.reference import enumerate_inputs
    from hdlgen.ir.vectors import random_vectors, read_vectors_file
    from hdlgen.sim.run import simulate

    circuit = load_circuit(file)
    sources = sum([vectors_file is not None, n_vectors is not None, exhaustive, dataset is not None])
    if sources > 1:
        raise click.UsageError("give one of VECTORS.csv, --vectors N, --exhaustive and --dataset")
    labels = None
    if dataset is not None:
        from hdlgen.datasets import dataset_for_circuit
        from hdlgen.ir.classify import class_labels

        if class_labels(circuit) is None:
            raise CircuitError(f"{file}: --dataset needs a classifier circuit (meta 'classes')")
        data_set = dataset_for_circuit(circuit, dataset, data_dir)
        X, labels = data_set.X_test, data_set.y_test
    elif exhaustive:
        if circuit.input_bits > EXHAUSTIVE_LIMIT:
            raise CircuitError(
                f"{file}: --exhaustive would simulate 2^{circuit.input_bits} vectors (at most 2^{EXHAUSTIVE_LIMIT})"
            )
        X = enumerate_inputs(circuit, 0, 1 << circuit.input_bits)
    elif vectors_file is not None:
        X = read_vectors_file(circuit, vectors_file)
    else:
        X = random_vectors(circuit, n_vectors or 1000, seed)
    result = simulate(
        circuit,
        X,
        simulator=simulator,
        gating=gating,
        schedule=schedule,
        seed=seed,  # type: ignore[arg-type]
        rtl=rtl,
        top=top,
        waves=waves,
        driver=driver,  # type: ignore[arg-type]
        pipeline=pipeline,
        clock_gating=clock_gating,
    )
    data = result.to_dict()
    if labels is not None and result.predictions is not None and result.energies is not None:
        from hdlgen.learn.digits import activity_metrics, evaluate_dataset

        hardware = activity_metrics(circuit, result.predictions, result.energies, labels)
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
            *(("accuracy", "reference_accuracy", "mean_activity") if labels is not None else ()),
        ):
            click.echo(f"{key:<22}  {data[key]}")
        if waves:
            click.echo(f"{'waves':<22}  {waves}")
    if not result.passed:
        if result.mismatches:
            first = result.first_mismatches[0]
            detail = (
                f"vector {first['vector']} inputs {first['inputs']}: expected {first['expected']} "
                f"energy {first['expected_energy']}, got {first['actual']} energy {first['actual_energy']}"
                if "vector" in first
                else first.get("error", "")
            )
            raise CheckError(f"{result.mismatches} of {result.vectors} vectors differ from the reference; {detail}")
        raise CheckError(
            f"gate-register toggles {result.gate_toggles} differ from the predicted {result.expected_gate_toggles}"
        )


COMMANDS = [sim_command]


@click.command("verify")
@circuit_argument
@click.option("--formal", is_flag=True, required=True, help="Prove with Yosys SAT (no input enumeration).")
@gating_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_command(file: str, formal: bool, gating: str, as_json: bool) -> None:
    """Prove that the generated design computes the circuit's function.

    Every gate unit is proven equal to a plain specification of its gate for
    all operand values, and the wiring between units is checked on the
    design's netlist. Exit status 1 when a proof fails.
    """
    from hdlgen.verify import verify_formal

    result = verify_formal(load_circuit(file), gating=gating)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(f"units proven  {result.gates_proven} of {result.gates}")
        click.echo(f"wiring        {'ok' if result.wiring_ok else 'WRONG'}")
        click.echo(f"proven        {result.proven}  ({result.seconds:.1f} s)")
    if not result.proven:
        raise CheckError(
            f"not proven: {result.failures[0]}"
            + (f" (and {len(result.failures) - 1} more)" if len(result.failures) > 1 else "")
        )


COMMANDS.append(verify_command)
