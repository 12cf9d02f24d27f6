"""``hdlgen verilog``."""

from __future__ import annotations

import click

from hdlgen.circuit import write_atomic
from hdlgen.cli.common import circuit_argument, load_circuit

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
def verilog_command(file: str, output: str, gating: str, top: str | None) -> None:
    """Write synthesizable Verilog-2005 for a circuit (through Amaranth)."""
    from hdlgen.hdl import to_verilog

    circuit = load_circuit(file)
    design = to_verilog(circuit, gating=gating, top=top)  # type: ignore[arg-type]
    write_atomic(output, design.text)


COMMANDS = [verilog_command]
