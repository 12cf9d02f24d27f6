"""``hdlgen verilog``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from hdlgen.cli.announce import announce
from hdlgen.cli.common import circuit_argument, emit_json, load_circuit, on_terminal, progress_bar, stage_status
from hdlgen.errors import CheckError
from hdlgen.ir.circuit import write_atomic
from hdlgen.synth.targets import TARGETS as TARGET_NAMES

if TYPE_CHECKING:
    from hdlgen.hdl.top import ClockGateCell, Gating

__all__ = ["COMMANDS"]

gating_option = click.option(
    "--gating",
    type=click.Choice(["rtz", "delta", "none"]),
    default="rtz",
    show_default=True,
    help="rtz: a gate register toggles only when its gate fires; delta: only when its value changes; "
    "none: every register loads every clock.",
)
top_option = click.option("--top", metavar="NAME", default=None, help="Top module name (default: the circuit's name).")
clock_gating_option = click.option(
    "--clock-gating",
    type=click.Choice(["enable", "physical"]),
    default="enable",
    show_default=True,
    help="enable: a clock enable per gate register; physical: gate registers on clocks stopped between "
    "inferences (ECP5 DCCA per level, iCE40 one gated global clock).",
)
#: New hardware options (off by default; see hdlgen.hdl.CircuitTop), all booleans.
HDL_OPTIONS = ("isolate_inputs", "energy_counter", "clock_enables")
hdl_options_option = click.option(
    "--option",
    "hdl_options",
    multiple=True,
    metavar="NAME=VALUE",
    help=f"A hardware option, true or false: {', '.join(HDL_OPTIONS)} (repeatable; see docs/hardware.md).",
)


def parse_hdl_options(options: tuple[str, ...]) -> dict[str, bool]:
    """``NAME=VALUE`` strings to keyword options of :func:`hdlgen.hdl.to_verilog`; UsageError otherwise."""
    from hdlgen.errors import UsageError

    out: dict[str, bool] = {}
    for text in options:
        name, sep, value = text.partition("=")
        name, low = name.strip(), value.strip().lower()
        if not sep:
            raise UsageError(f"option must be NAME=VALUE, not {text!r}")
        if name not in HDL_OPTIONS:
            raise UsageError(f"unknown hardware option {name!r}: choose one of {', '.join(HDL_OPTIONS)}")
        if low not in ("true", "false"):
            raise UsageError(f"option {name} must be true or false, not {value!r}")
        out[name] = low == "true"
    return out


pipeline_option = click.option(
    "--pipeline",
    is_flag=True,
    help="A register stage inside every gate's adder tree: faster clock, latency twice the depth.",
)


@click.command("verilog")
@circuit_argument
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="OUT.v",
    help="Verilog file to write.",
)
@gating_option
@top_option
@pipeline_option
@clock_gating_option
@hdl_options_option
@click.option(
    "--clock-gate-cell",
    type=click.Choice(["generic", "ecp5", "ice40"]),
    default="generic",
    show_default=True,
    help="With --clock-gating physical: AND gates (simulation), ECP5 DCCAs or an iCE40 SB_GB.",
)
def verilog_command(
    file: str,
    output: str,
    gating: str,
    top: str | None,
    pipeline: bool,
    clock_gating: str,
    hdl_options: tuple[str, ...],
    clock_gate_cell: str,
) -> None:
    """Write synthesizable Verilog-2005 for a circuit (through Amaranth)."""
    from hdlgen.hdl import to_verilog

    circuit = load_circuit(file)
    design = to_verilog(
        circuit,
        gating=cast("Gating", gating),  # click.Choice checked the value
        top=top,
        pipeline=pipeline,
        clock_gating=clock_gating,
        clock_gate_cell=cast("ClockGateCell", clock_gate_cell),
        **parse_hdl_options(hdl_options),
    )
    write_atomic(output, design.text)
    announce(output)


@click.command("synth")
@circuit_argument
@click.option("--target", required=True, type=click.Choice(sorted(TARGET_NAMES)), help="FPGA part.")
@gating_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--workdir", type=click.Path(file_okay=False), default=None, help="Keep the tools' files here.")
@click.option("--no-place", is_flag=True, help="Stop after Yosys's cell counts (no Fmax; several times faster).")
@pipeline_option
@clock_gating_option
@hdl_options_option
def synth_command(
    file: str,
    target: str,
    gating: str,
    as_json: bool,
    workdir: str | None,
    no_place: bool,
    pipeline: bool,
    clock_gating: str,
    hdl_options: tuple[str, ...],
) -> None:
    """Synthesize with Yosys and place and route with nextpnr: LUTs, FFs, carries, Fmax."""
    from hdlgen.synth import synthesize

    circuit = load_circuit(file)
    with stage_status(f"synthesizing for {target}") as on_stage:
        result = synthesize(
            circuit,
            target,
            gating=cast("Gating", gating),
            workdir=Path(workdir) if workdir else None,
            verbose=on_terminal(),
            place=not no_place,
            pipeline=pipeline,
            clock_gating=clock_gating,
            on_stage=on_stage,
            hdl_options=parse_hdl_options(hdl_options) or None,
        )
    data = result.to_dict()
    if workdir:
        announce(workdir, "the tools' files")
    if as_json:
        emit_json(data)
        return
    for key in ("target", "luts", "carries", "ffs", "ram", "fmax_mhz", "logic_cells", "utilization_percent"):
        # Without place and route there is no Fmax and no logic-cell count: say so rather than print 0.
        unknown = key in ("fmax_mhz", "logic_cells") and not result.placed
        value = "n/a (not placed: --no-place)" if unknown else data[key]
        click.echo(f"{key:<20}  {value}")


@click.command("verify")
@circuit_argument
@click.option("--formal", is_flag=True, required=True, help="Prove with Yosys SAT (no input enumeration).")
@gating_option
@pipeline_option
@clock_gating_option
@click.option(
    "--unit-time-limit",
    "unit_seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    metavar="S",
    help="Wall-clock seconds for one unit's proof; a unit over it is reported undecided (exit 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_command(
    file: str, formal: bool, gating: str, pipeline: bool, clock_gating: str, unit_seconds: float, as_json: bool
) -> None:
    """Prove that the generated design computes the circuit's function.

    Every gate unit is proven equal to a plain specification of its gate for
    all operand values, and the wiring between units is checked on the
    design's netlist; with --clock-gating physical, stopping a gated clock is
    proven never to change a register. Exit status 1 when a proof fails.
    """
    from hdlgen.verify import verify_formal

    circuit = load_circuit(file)
    with progress_bar("proving units") as progress:
        result = verify_formal(
            circuit,
            gating=cast("Gating", gating),
            pipeline=pipeline,
            clock_gating=clock_gating,
            progress=progress,
            unit_seconds=unit_seconds,
        )
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


COMMANDS = [verilog_command, synth_command, verify_command]
