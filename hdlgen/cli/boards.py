"""``hdlgen build``, ``hdlgen flash`` and ``hdlgen run``."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click
import numpy as np

from hdlgen.boards.registry import BOARDS
from hdlgen.cli.announce import announce
from hdlgen.cli.common import circuit_argument, emit_json, load_circuit, stage_status
from hdlgen.cli.hardware import clock_gating_option
from hdlgen.errors import CheckError, CircuitError, ToolError

if TYPE_CHECKING:
    from hdlgen.ir.circuit import Circuit

__all__ = ["COMMANDS"]

BOARD_NAMES = sorted(BOARDS)


@click.command("build")
@circuit_argument
@click.option("--board", required=True, type=click.Choice(BOARD_NAMES), help="Target board.")
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Directory for the bitstream, sources and reports.",
)
@click.option("--baud", type=click.IntRange(min=1200), default=115200, show_default=True, help="Host link baud rate.")
@click.option("--gating", type=click.Choice(["rtz", "delta", "none"]), default="rtz", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--pipeline", is_flag=True, help="A register stage inside every gate's adder tree (faster clock).")
@clock_gating_option
def build_command(
    file: str, board: str, outdir: str, baud: int, gating: str, as_json: bool, pipeline: bool, clock_gating: str
) -> None:
    """Build a bitstream: the circuit behind a UART host link, for an open board."""
    from hdlgen.bitstream import build_board

    circuit = load_circuit(file)
    with stage_status(f"building the {board} bitstream") as on_stage:
        info = build_board(
            circuit,
            board,
            outdir,
            baud=baud,
            gating=gating,
            pipeline=pipeline,
            clock_gating=clock_gating,
            on_stage=on_stage,
        )
    announce(info["bitstream"], "the bitstream")
    announce(outdir, "its sources and reports")
    if as_json:
        emit_json(info)
    else:
        click.echo(f"bitstream  {info['bitstream']}")
        click.echo(f"fmax_mhz   {info['fmax_mhz']} (board clock {info['clock_hz'] / 1e6:g} MHz)")


@click.command("flash")
@click.argument("target", metavar="DIR_OR_BITSTREAM", type=click.Path())
@click.option("--board", required=True, type=click.Choice(BOARD_NAMES), help="The board to program.")
@click.option("--dry-run", is_flag=True, help="Print the programming command instead of running it.")
def flash_command(target: str, board: str, dry_run: bool) -> None:
    """Program a board with a bitstream, through its amaranth-boards platform (iceprog, openFPGALoader).

    The programmer is the one amaranth-boards runs; $ICEPROG or $OPENFPGALOADER names another.
    """
    from hdlgen.bitstream import flash
    from hdlgen.bitstream import flash_command as command_for

    if dry_run:
        click.echo(shlex.join(command_for(target, board)))
        return
    flash(target, board)


@click.command("run")
@click.option("--port", required=True, help="Serial port of the board (a device, or a pyserial URL).")
@click.argument("vectors", required=False, default="-", metavar="[VECTORS]")
@click.option(
    "--circuit",
    "circuit_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="The circuit the board was built from: CSV columns and outputs by name.",
)
@click.option("--baud", type=click.IntRange(min=1200), default=115200, show_default=True)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=2.0,
    show_default=True,
    help="Seconds to wait for the board's answer.",
)
@click.option("--check", is_flag=True, help="Compare with the reference model (needs --circuit); exit 1 on a mismatch.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary instead of CSV.")
def run_command(
    port: str, vectors: str, circuit_file: str | None, baud: int, timeout: float, check: bool, as_json: bool
) -> None:
    """Send vectors to a flashed board; print outputs and the hardware-measured energy like `eval`.

    With --circuit, VECTORS is CSV like `eval` takes. Without it, each row is
    one packed i_data word and the output is the packed o_data word.
    """
    from hdlgen.ir.ports import PortLayout
    from hdlgen.ir.vectors import format_csv

    if check and circuit_file is None:
        raise click.UsageError("--check needs --circuit FILE")
    circuit = load_circuit(circuit_file) if circuit_file else None
    X, words = _run_vectors(vectors, circuit)
    out_words, energy, classes = _exchange(port, baud, timeout, circuit, words)
    energy_arr = np.array(energy, dtype=np.int64)
    classified = bool(words) and classes[0] is not None
    mismatches = 0
    if circuit is not None:
        outputs = PortLayout.of(circuit).unpack_outputs(out_words)
        header = [*circuit.outputs, "energy"]
        table = np.concatenate([outputs, energy_arr.reshape(-1, 1)], axis=1)
        if classified:
            # A classifier board also returns its prediction (o_class).
            header.append("class")
            table = np.concatenate([table, np.array(classes, dtype=np.int64).reshape(-1, 1)], axis=1)
        if check:
            mismatches = _mismatches(circuit, X, outputs, energy_arr, classes if classified else None)
    else:
        header = ["o_data", "energy"]
        table = np.array([out_words, energy], dtype=object).T.reshape(len(words), 2)
    if as_json:
        emit_json(
            {
                "vectors": len(words),
                "mismatches": mismatches if check else None,
                "measured_energy_max": int(energy_arr.max()) if len(words) else 0,
                "mean_energy": float(energy_arr.mean()) if len(words) else 0.0,
            }
        )
    else:
        sys.stdout.write(format_csv(header, table) if circuit is not None else _format_words(header, table))
    if mismatches:
        raise CheckError(f"{mismatches} of {len(words)} vectors differ from the reference")


def _run_vectors(vectors: str, circuit: Circuit | None) -> tuple[np.ndarray, list[int]]:
    """The vectors of ``hdlgen run`` (``-``: stdin), and their packed ``i_data`` words.

    With a circuit, CSV like ``eval`` takes; without, one packed word per row
    (then the vectors are an empty array).
    """
    from hdlgen.ir.ports import PortLayout
    from hdlgen.ir.vectors import read_vectors

    stream = sys.stdin if vectors == "-" else None
    try:
        f = stream or open(vectors, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise CircuitError(f"{vectors}: no such file") from None
    source = vectors if stream is None else "<stdin>"
    with f:
        if circuit is None:
            return np.zeros((0, 0), dtype=np.int64), _read_words(f, source)
        X = read_vectors(circuit, f, source)
        return X, PortLayout.of(circuit).pack_inputs(X)


def _exchange(
    port: str, baud: int, timeout: float, circuit: Circuit | None, words: list[int]
) -> tuple[list[int], list[int], list[int | None]]:
    """Run ``words`` on the board at ``port``; with a circuit, first check that the board holds its design."""
    from hdlgen.host.client import HostLink

    link = HostLink.open(port, baud=baud, timeout=timeout)
    try:
        layout = link.hello()
        if circuit is not None:
            from hdlgen.protocol import Layout

            expected = Layout.of(circuit)
            if (layout.input_bits, layout.output_bits, layout.size) != (
                expected.input_bits,
                expected.output_bits,
                expected.size,
            ):
                raise ToolError(
                    f"the board holds another design ({layout.input_bits} input bits, {layout.size} gates; "
                    f"{circuit.name} has {expected.input_bits} and {expected.size})"
                )
        return link.run_classes(words)
    finally:
        link.close()


def _mismatches(
    circuit: Circuit, X: np.ndarray, outputs: np.ndarray, energy: np.ndarray, classes: list[int | None] | None
) -> int:
    """The vectors whose outputs, energy or (for a classifier board) class differ from the reference's."""
    from hdlgen.ir.classify import predict
    from hdlgen.ir.reference import Reference

    want, act = Reference(circuit).run(X)
    wrong = (want != outputs).any(axis=1) | (act != energy)
    if classes is not None:
        wrong |= predict(circuit, None, want) != np.array(classes)
    return int(wrong.sum())


def _read_words(f: Iterable[str], source: str) -> list[int]:
    words = []
    for line_no, line in enumerate(f, start=1):
        cell = line.strip()
        if not cell or (line_no == 1 and cell == "i_data"):
            continue
        try:
            words.append(int(cell, 0))
        except ValueError:
            raise CircuitError(f"{source}: row {line_no}: {cell!r} is not an integer i_data word") from None
    return words


def _format_words(header: list[str], table: np.ndarray) -> str:
    return ",".join(header) + "\n" + "".join(f"{int(a)},{int(b)}\n" for a, b in table)


COMMANDS = [build_command, flash_command, run_command]
