"""The type checker in the test command is strict enough to catch a wrong argument type."""

from __future__ import annotations

import re
import subprocess
import sys
import tokenize
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


IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)")


def type_ignores_without_reason(paths: list[Path]) -> list[str]:
    """``file:line`` of every ``# type: ignore`` comment without an error code and a reason after it."""
    bad = []
    for path in paths:
        with tokenize.open(path) as fh:
            for tok in tokenize.generate_tokens(fh.readline):
                if tok.type != tokenize.COMMENT:
                    continue
                m = IGNORE.search(tok.string)
                if m and (not m["codes"] or not re.match(r"\s*#\s*\w", m["rest"])):
                    bad.append(f"{path}:{tok.start[0]}: {tok.string}")
    return bad


def test_every_type_ignore_names_its_error_and_says_why() -> None:
    paths = [
        p
        for folder in ("hdlgen", "boards")
        for p in sorted((ROOT / folder).rglob("*.py"))
    ]
    assert len(paths) > 70
    assert type_ignores_without_reason(paths) == []


def test_a_bare_type_ignore_would_be_found(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(
        "a: int = 'x'  # type: ignore\n"
        "b: int = 'x'  # type: ignore[assignment]\n"
        "c: int = 'x'  # type: ignore[assignment]  # a test of the test\n"
        "d = '# type: ignore'\n"
    )
    found = type_ignores_without_reason([f])
    assert [line.split(":")[1] for line in found] == ["1", "2"]
