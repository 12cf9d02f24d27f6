"""The type checker in the test command is strict enough to catch a wrong argument type."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_mypy_catches_a_wrong_argument_type(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from hdlgen.hdl import to_verilog\n"
        "from hdlgen.ir.circuit import Circuit\n\n\n"
        "def build(c: Circuit) -> str:\n"
        '    return to_verilog(c, gating="rz").text\n\n\n'
        "def untyped(c):\n"
        "    return c\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stdout
    assert 'Argument "gating" to "to_verilog" has incompatible type "Literal[\'rz\']"' in proc.stdout
    assert "Function is missing a type annotation" in proc.stdout
