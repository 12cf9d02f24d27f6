"""``hdlgen power``: switching activity of the synthesized netlist per inference."""

from __future__ import annotations

import json
from typing import Any

import click
import numpy as np

from hdlgen.cli.announce import announce
from hdlgen.cli.common import circuit_argument, circuit_dataset, emit_json, load_circuit, progress_stages
from hdlgen.cli.hardware import hdl_options_option, parse_hdl_options, pipeline_option
from hdlgen.errors import CheckError, CircuitError, UsageError
from hdlgen.ir.circuit import read_text

__all__ = ["COMMANDS"]

TARGETS = ("ice40-up5k", "ice40-hx8k", "ecp5-25k", "ecp5-85k")


@click.command("power")
@circuit_argument
@click.option("--target", required=True, metavar="PART", help=f"FPGA part: {', '.join(TARGETS)}.")
@click.option(
    "--gating",
    "gatings",
    multiple=True,
    type=click.Choice(["none", "delta", "rtz"]),
    help="Gating modes to compare (repeatable; default: all). With --netlist: how the netlist was generated.",
)
@click.option(
    "--clock-gating",
    "clock_gatings",
    multiple=True,
    type=click.Choice(["enable", "physical"]),
    help="Clock gating to compare (repeatable; default: both; gating none only with enable). With --netlist: how "
    "the netlist was generated.",
)
@pipeline_option
@hdl_options_option
@click.option("--vectors", "n_vectors", type=click.IntRange(min=1), default=None, metavar="N", help="N vectors.")
@click.option(
    "--dataset",
    type=click.Choice(["digits"]),
    default=None,
    help="The data set's test split (then the training split), in order; --vectors N takes the first N, cycling.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of random vectors.")
@click.option(
    "--schedule",
    type=click.Choice(["back-to-back", "gaps"]),
    default="back-to-back",
    show_default=True,
    help="A vector every clock, or an idle clock after each.",
)
@click.option(
    "--idle",
    type=click.Choice(["zero", "random"]),
    default="zero",
    show_default=True,
    help="i_data on idle clocks: zeros, or random vectors (other traffic on the bus).",
)
@click.option(
    "--netlist",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE.v",
    help="Measure this mapped netlist (hdlgen's ports, docs/verilog-ports.md) instead of synthesizing.",
)
@click.option("--plot", type=click.Path(dir_okay=False), default=None, metavar="FILE.png", help="Write a scatter plot.")
@click.option(
    "--energy-coefficients",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    metavar="FILE.json",
    help="pJ per toggle per cell kind (JSON {'source': ..., 'pJ_per_toggle': {kind: pJ}}, kinds lut, carry, ff, "
    "enable, gated_clock): adds an energy ESTIMATE.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (with the per-inference arrays).")
def power_command(
    file: str,
    target: str,
    gatings: tuple[str, ...],
    clock_gatings: tuple[str, ...],
    pipeline: bool,
    hdl_options: tuple[str, ...],
    n_vectors: int | None,
    dataset: str | None,
    seed: int,
    schedule: str,
    idle: str,
    netlist: str | None,
    plot: str | None,
    energy_coefficients: str | None,
    as_json: bool,
) -> None:
    """Measure the switching activity of the synthesized netlist, per inference, in each gating mode.

    Synthesizes the design for the target (or takes --netlist), simulates the
    mapped netlist with Yosys's cell models on Verilator, counts the toggles
    of every net from the simulation's VCD, charges them to inferences and
    fits them against the gates that fired. Exit status 1 when a netlist's
    outputs differ from the reference, or its gate registers' toggles from the
    pipeline model's.
    """
    from hdlgen.ir.vectors import random_vectors
    from hdlgen.power.report import energy_estimate, load_coefficients, scatter_plot
    from hdlgen.power.run import DEFAULT_MODES, Mode, dataset_stimulus, measure_power, modes_with_options
    from hdlgen.synth.targets import TARGETS as KNOWN

    if target not in KNOWN:
        raise UsageError(f"unknown target {target!r}: choose one of {', '.join(KNOWN)}")
    circuit = load_circuit(file)
    if dataset is not None:
        X = dataset_stimulus(circuit_dataset(file, circuit, dataset), n_vectors)
    else:
        X = random_vectors(circuit, n_vectors or 1000, seed)
    opts = parse_hdl_options(hdl_options)
    if netlist is not None:
        # The netlist is one mode: how it was generated, options included (the checks and the model follow them).
        if len(gatings) > 1 or len(clock_gatings) > 1:
            raise UsageError("a netlist is one mode: give at most one --gating and one --clock-gating with it")
        modes = [
            Mode(
                gatings[0] if gatings else "rtz",
                clock_gatings[0] if clock_gatings else "enable",
                tuple(sorted(opts.items())),
            )
        ]
    else:  # without filters: every default mode (gating none is left out with --pipeline)
        modes = modes_with_options(
            [
                (g, c)
                for g, c in DEFAULT_MODES
                if (not gatings or g in gatings)
                and (not clock_gatings or c in clock_gatings)
                and not (pipeline and g == "none")
            ],
            opts,
        )
        if not modes:
            raise UsageError("no mode left: gating none runs only with clock enables and without --pipeline")
    coefficients = load_coefficients(energy_coefficients) if energy_coefficients else None

    # One line: the step under way (mode: synthesis, build, simulation, counting) and a bar of modes done.
    with progress_stages("power", total=len(modes)) as (bar, name_stage):
        result = measure_power(
            circuit,
            X,
            target,
            modes=modes,
            schedule=schedule,
            pipeline=pipeline,
            netlist=netlist,
            idle=idle,
            seed=seed,
            progress=bar,
            on_stage=name_stage,
        )
    data_out = result.to_dict(per_inference=as_json)
    if coefficients is not None:
        for m, summary in zip(result.modes, data_out["modes"], strict=True):
            summary["energy_estimate"] = energy_estimate(m, coefficients)
    if plot is not None:
        scatter_plot(result, plot)
        announce(plot, "the plot")
    if as_json:
        emit_json(data_out)
    else:
        _print(data_out)
    failed = [m for m in result.modes if not m.passed]
    if failed:
        raise CheckError(
            f"{failed[0].mode}: {failed[0].mismatches} of {result.vectors} vectors differ from the reference"
        )
    for m in result.modes:
        model = m.gate_registers_model
        if model is not None and not np.array_equal(m.gate_registers, model):
            hint = f" (was the netlist generated with gating {m.gating}?)" if netlist is not None else ""
            raise CheckError(
                f"{m.mode}: the gate registers' toggles differ from the pipeline model's in "
                f"{int(np.count_nonzero(m.gate_registers != model))} of {result.vectors} inferences{hint}"
            )


def _print(data: dict[str, Any]) -> None:
    """The run as text: one row per mode, then each mode's switching by level and its energy estimate."""
    click.echo(
        f"{data['circuit']} on {data['target']}, {data['vectors']} vectors, schedule {data['schedule']}, "
        f"idle {data['idle']}: {data['mean_fired']} gates fire and {data['mean_inputs_changed']} input bits "
        "change per inference"
    )
    vs = "vs " + ("none" if data.get("ratio_baseline") in (None, "none/enable") else str(data["ratio_baseline"]))
    width = max(7, len(vs))
    mw = max([16, *(len(m["mode"]) for m in data["modes"])])
    header = f"{'mode':<{mw}} {'LUT4':>5} {'toggles':>8} {'lut':>7} {'carry':>6} {'ff':>6} {'enable':>6} {'gclk':>5}"
    header += f" {'gate':>5} {'clk pins':>8} {'r':>6} {'slope':>6} {'icpt':>7} {'R2(2)':>6} {vs:>{width}}"
    click.echo(header)
    for m in data["modes"]:
        k = m["by_kind"]
        fit = m["fit"]
        r = "-" if fit["pearson_r"] is None else f"{fit['pearson_r']:.3f}"
        r2 = "-" if fit["r2"] is None else f"{fit['r2']:.3f}"
        ratio = m.get("ratio_to_none", m.get("ratio_to_first"))
        click.echo(
            f"{m['mode']:<{mw}} {m['luts']:>5} {m['toggles_per_inference']:>8.1f} {k['lut']:>7.1f} {k['carry']:>6.1f} "
            f"{k['ff']:>6.1f} {k['enable']:>6.1f} {k['gated_clock']:>5.1f} {m['gate_registers']:>5.1f} "
            f"{m['clock_pins']:>8.1f} {r:>6} {fit['slope']:>6.2f} {fit['intercept']:>7.1f} "
            f"{r2:>6} {'-' if ratio is None else f'{ratio:.3f}':>{width}}"
        )
    levels = "stage 2l-1 and 2l is level l" if data.get("pipeline") else "stage l is circuit level l"
    click.echo(f"toggles per inference by stage ({levels}; 'out': logic that feeds only output ports):")
    for m in data["modes"]:
        levels = ", ".join(f"{s} {v:.1f}" for s, v in m["by_stage"].items())
        click.echo(f"  {m['mode']:<{mw}} {levels}")
    estimates = [(m["mode"], m["energy_estimate"]) for m in data["modes"] if "energy_estimate" in m]
    if estimates:
        click.echo(f"energy ESTIMATE per inference (coefficients from: {estimates[0][1]['source']}):")
        for mode, est in estimates:
            missing = est["kinds_without_coefficient"]
            note = f" (no coefficient for {', '.join(missing)})" if missing else ""
            click.echo(f"  {mode:<{mw}} {est['pJ_per_inference']:.1f} pJ{note}")


def load_power_json(path: str, circuit: str | None = None) -> dict[str, Any]:
    """A ``hdlgen power --json`` file, checked for what the report shows; CircuitError naming the file otherwise.

    Parameters
    ----------
    path : str
        The file.
    circuit : str, optional
        The name of the circuit the report is about: a power run of another circuit is refused.

    Raises
    ------
    CircuitError
        One line naming the file and the key: unreadable, malformed JSON, not a power run, a key
        missing or of the wrong type, per-inference arrays of unequal lengths, or another circuit's run.
    """
    text = read_text(path, "a power run")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CircuitError(f"{path}: line {exc.lineno} column {exc.colno}: malformed JSON: {exc.msg}") from None
    if not isinstance(data, dict) or "modes" not in data:
        raise CircuitError(f"{path}: not the output of hdlgen power --json (no 'modes')")
    _check_power_run(path, data)
    if circuit is not None and data["circuit"] != circuit:
        raise CircuitError(f"{path}: a power run of circuit {data['circuit']!r}, not of {circuit!r}")
    return data


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: What the report reads from a power run, with a check of each value (``None`` allowed where fits are undefined).
_RUN_KEYS: dict[str, Any] = {
    "circuit": lambda v: isinstance(v, str),
    "target": lambda v: isinstance(v, str),
    "schedule": lambda v: isinstance(v, str),
    "vectors": _number,
    "mean_fired": _number,
    "mean_inputs_changed": _number,
    "modes": lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(m, dict) for m in v),
}
_MODE_KEYS: dict[str, Any] = {
    "mode": lambda v: isinstance(v, str),
    "luts": _number,
    "toggles_per_inference": _number,
    "gate_registers": _number,
    "by_kind": lambda v: isinstance(v, dict),
    "fit": lambda v: (
        isinstance(v, dict)
        and _number(v.get("slope"))
        and _number(v.get("intercept"))
        and all(v.get(k) is None or _number(v.get(k)) for k in ("pearson_r", "r2"))
    ),
}


def _check_power_run(path: str, data: dict[str, Any]) -> None:
    """CircuitError naming ``path`` and the key when ``data`` lacks what the report shows."""
    for key, ok in _RUN_KEYS.items():
        if not ok(data.get(key)):
            raise CircuitError(f"{path}: {key!r} is missing or malformed (not a hdlgen power --json run)")
    fired = data.get("per_inference", {}).get("fired") if isinstance(data.get("per_inference"), dict) else None
    for i, m in enumerate(data["modes"]):
        for key, ok in _MODE_KEYS.items():
            if not ok(m.get(key)):
                raise CircuitError(f"{path}: modes[{i}]: {key!r} is missing or malformed")
        est = m.get("energy_estimate")
        if est is not None and not (isinstance(est, dict) and _number(est.get("pJ_per_inference"))):
            raise CircuitError(f"{path}: modes[{i}]: 'energy_estimate' is malformed")
        per = m.get("per_inference")
        if per is not None and fired is not None:
            toggles = per.get("toggles") if isinstance(per, dict) else None
            if not (isinstance(fired, list) and isinstance(toggles, list) and len(toggles) == len(fired)):
                raise CircuitError(
                    f"{path}: modes[{i}]: 'per_inference' toggles must be a list as long as per_inference.fired"
                )
            if not all(_number(x) for x in [*toggles, *fired]):
                raise CircuitError(f"{path}: modes[{i}]: per-inference values must be numbers")


COMMANDS = [power_command]
