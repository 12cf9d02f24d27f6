"""``hdlgen train`` and ``hdlgen import``."""

from __future__ import annotations

from pathlib import Path

import click

from hdlgen.cli.announce import announce
from hdlgen.cli.common import emit_json, print_table, progress_bar
from hdlgen.errors import CircuitError

__all__ = ["COMMANDS"]

IMPORT_FORMATS = {
    ".onnx": "qonnx",
    ".skops": "sklearn",
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
    ".npz": "npz",
}


@click.command("train")
@click.option("--dataset", type=click.Choice(["digits"]), required=True, help="Training data (bundled, no download).")
@click.option("--kind", type=click.Choice(["threshold", "relu"]), default="threshold", show_default=True)
@click.option(
    "--fan-in",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="Connections per gate [default: 12 threshold, 16 relu].",
)
@click.option(
    "--energy-penalty",
    type=click.FloatRange(min=0),
    default=None,
    metavar="L",
    help="Weight of the activity penalty [default: 0.5 threshold, 0.7 relu].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed.")
@click.option(
    "--hidden",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Hidden gates [default: 64 threshold, 40 relu].",
)
@click.option(
    "--input-bits", type=click.IntRange(1, 4), default=None, help="Bits per pixel [default: 2 threshold, 3 relu]."
)
@click.option("--weight-bits", type=click.IntRange(2, 8), default=4, show_default=True, help="Signed weight width.")
@click.option("--epochs", type=click.IntRange(min=1), default=150, show_default=True)
@click.option(
    "--energy-time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    metavar="S",
    help="Seconds for the exact-energy MILP (a proven bound when it runs out).",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Circuit file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def train_command(
    dataset: str,
    kind: str,
    fan_in: int | None,
    energy_penalty: float | None,
    seed: int,
    hidden: int | None,
    input_bits: int | None,
    weight_bits: int,
    epochs: int,
    energy_time_limit: float,
    output: str,
    as_json: bool,
) -> None:
    """Learn a sparse, low-activity classifier circuit.

    Hidden threshold or relu gates with at most K connections each, one relu
    output per class (the prediction is the largest, computed in hardware
    on o_class). Figures are on the documented test split (see docs/training.md).
    """
    from hdlgen.ir.circuit import write_atomic
    from hdlgen.learn import train_digits

    with progress_bar("training") as progress:
        report = train_digits(
            kind=kind,  # type: ignore[arg-type]  # a Literal; click.Choice checked the value
            fan_in=fan_in,
            energy_penalty=energy_penalty,
            seed=seed,
            input_bits=input_bits,
            hidden=(hidden,) if hidden else None,
            epochs=epochs,
            weight_bits=weight_bits,
            energy_time_limit=energy_time_limit,
            name=f"{dataset}_{kind}",
            progress=progress,
        )
    write_atomic(output, report.circuit.to_json())
    announce(output)
    data = {**report.metrics, "output": output}
    if as_json:
        emit_json(data)
        return
    print_table(data)


@click.command("import")
@click.argument("model", metavar="MODEL", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Circuit file to write.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["qonnx", "sklearn", "npz"]),
    default=None,
    help="Model format [default: from the extension: .onnx, .skops (or .joblib/.pkl with --trust), .npz].",
)
@click.option(
    "--trust",
    is_flag=True,
    help="Read a pickle/joblib model: unpickling RUNS ANY CODE the file holds; only for files you made yourself.",
)
@click.option("--name", default=None, help="Circuit name [default: the model file's stem].")
@click.option(
    "--input-bits",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="Width of circuit inputs (sklearn; qonnx inputs without a Quant node).",
)
@click.option(
    "--input-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="sklearn: the model's input is this times the circuit's integer input.",
)
@click.option("--weight-bits", type=click.IntRange(2, 16), default=8, show_default=True, help="sklearn: weight width.")
@click.option("--act-bits", type=click.IntRange(1, 32), default=None, help="sklearn: cap on hidden relu widths.")
@click.option(
    "--data",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="sklearn: .npz with integer X and labels y (multilabel: one column per label), to report accuracy.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def import_command(
    model: str,
    output: str,
    fmt: str | None,
    trust: bool,
    name: str | None,
    input_bits: int,
    input_scale: float,
    weight_bits: int,
    act_bits: int | None,
    data: str | None,
    as_json: bool,
) -> None:
    """A circuit from a QONNX model, an MLPClassifier (.skops) or NumPy layers.

    QONNX graphs import exactly (equal to qonnx's execution) or are refused;
    MLPClassifiers are checked against predict on every input of domains up
    to 2^16 vectors. Pickle/joblib files only with --trust. See
    docs/importers.md for what each importer supports.
    """
    from hdlgen.ir.circuit import write_atomic
    from hdlgen.ir.names import sanitize

    path = Path(model)
    fmt = fmt or IMPORT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise CircuitError(f"{model}: unknown model format {path.suffix!r} (give --format qonnx, sklearn or npz)")
    if not path.exists():
        raise CircuitError(f"{model}: no such file")
    name = sanitize(name or path.stem, "net")
    figures: dict[str, object] = {}
    if fmt == "npz":
        from hdlgen.frontends import load_npz

        circuit = load_npz(path, name=name)
    elif fmt == "qonnx":
        from hdlgen.frontends import load_qonnx

        circuit = load_qonnx(path, name=name, input_bits=input_bits)
    else:
        from hdlgen.frontends import from_sklearn, load_sklearn

        X = y = None
        if data is not None:
            from hdlgen.frontends.layers import read_npz

            arrays = read_npz(data)
            for key in ("X", "y"):
                if key not in arrays:
                    raise CircuitError(f"{data}: key '{key}' is missing (expected X and y)")
            X, y = arrays["X"], arrays["y"]
        loaded = load_sklearn(path, trust=trust)
        try:
            report = from_sklearn(
                loaded,
                input_bits=input_bits,
                input_scale=input_scale,
                weight_bits=weight_bits,
                act_bits=act_bits,
                name=name,
                X=X,
                y=y,
            )
        except CircuitError as exc:
            raise CircuitError(f"{data if str(exc).startswith(('data', 'multilabel data')) else path}: {exc}") from None
        circuit = report.circuit
        figures = {
            k: v
            for k, v in report.to_dict().items()
            if v is not None and k.endswith(("accuracy", "agreement", "checked"))
        }
    circuit.validate()
    write_atomic(output, circuit.to_json())
    announce(output)
    info = {
        "name": circuit.name,
        "format": fmt,
        "n_inputs": circuit.n_inputs,
        "input_bits": circuit.input_bits,
        "size": circuit.size,
        "depth": circuit.depth,
        "n_connections": circuit.n_connections,
        **figures,
        "output": output,
    }
    if as_json:
        emit_json(info)
        return
    print_table(info)


COMMANDS = [train_command, import_command]
