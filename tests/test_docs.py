"""The documentation site builds strictly (broken links, missing pages and bad docstrings fail)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    cli = (tmp_path / "site" / "cli" / "index.html").read_text()
    assert all(f"hdlgen {c}" in cli for c in ("train", "import", "report", "sweep", "sim", "synth"))
    api = (tmp_path / "site" / "api" / "circuit" / "index.html").read_text()
    assert "add_layer" in api
    # numpydoc's Sphinx roles are rendered as links (or code), never as raw text
    raw = {
        str(page.relative_to(tmp_path / "site")): found
        for page in (tmp_path / "site").rglob("*.html")
        if (found := RAW_ROLE.findall(page.read_text()))
    }
    assert raw == {}
    assert 'href="#hdlgen.ir.circuit.Circuit.add_gate"' in api  # :meth:`add_gate` became a link
    # no escaped pipes shown literally (an escaped pipe in a code span of a table keeps its backslash)
    escaped = [
        str(p.relative_to(tmp_path / "site")) for p in (tmp_path / "site").rglob("*.html") if "\\|" in p.read_text()
    ]
    assert escaped == []


RAW_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|obj|exc|const|type):(?:`|<code>)")


def _roles_extension():
    spec = importlib.util.spec_from_file_location("sphinx_roles", ROOT / "docs" / "hooks" / "sphinx_roles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sphinx_roles_become_optional_cross_references():
    import griffe

    ext = _roles_extension()
    pkg = griffe.load("hdlgen.ir.circuit", search_paths=[str(ROOT)])
    circuit = pkg["Circuit"]
    out = ext.rewrite("See :meth:`add_gate`, :class:`~hdlgen.ir.circuit.Gate` and :func:`numpy.argmax`.", circuit)
    assert '<autoref identifier="hdlgen.ir.circuit.Circuit.add_gate" optional><code>add_gate()</code></autoref>' in out
    assert '<autoref identifier="hdlgen.ir.circuit.Gate" optional><code>Gate</code></autoref>' in out
    assert '<autoref identifier="numpy.argmax" optional><code>numpy.argmax()</code></autoref>' in out
    assert not RAW_ROLE.search(out)


def test_readme_says_how_long_the_first_two_commands_take():
    """A newcomer knows what to expect: both first commands, each with its time on 2 cores, first and later runs."""
    readme = (ROOT / "README.md").read_text()
    first = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first.splitlines()]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    assert "2 cores" in readme
    for command in commands:
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{command}` |"))
        first_run, later_runs = row.split("|")[2:4]
        assert re.search(r"\d+(\.\d+)? min", first_run), row
        assert re.search(r"\d+(\.\d+)? (s|min)", later_runs), row
    assert "--durations=15" in (ROOT / "scripts" / "test.sh").read_text()
