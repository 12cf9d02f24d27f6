"""The documentation site builds strictly (broken links, missing pages and bad docstrings fail)."""

from __future__ import annotations

import os
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
