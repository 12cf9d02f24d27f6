"""``hdlgen info`` and ``hdlgen eval`` against docs/cli-contract.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hdlgen
from hdlgen.cli import main
from hdlgen.random_circuits import random_circuit
from tests import oracle


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_json(capsys, examples: Path):
    code, out, err = run(capsys, "info", str(examples / "cd8.json"), "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["size"] == 5 and data["depth"] == 2 and data["energy"] == 5 and data["weight"] == 1
    assert data["energy_method"] == "exhaustive" and data["energy_exact"] is True
    assert data["energy_bounds"] == [5, 5] and data["n_inputs"] == 8 and data["input_bits"] == 8
    assert data["latency"] == 2 and data["max_threshold"] == 2


def test_info_milp_and_text(capsys, examples: Path):
    code, out, _ = run(capsys, "info", str(examples / "layered.json"), "--method", "milp", "--json")
    assert code == 0 and json.loads(out)["energy_method"] == "milp"
    code, out, _ = run(capsys, "info", str(examples / "layered.json"))
    assert code == 0 and "energy" in out and "depth" in out


@pytest.mark.parametrize("seed", range(12))
def test_eval_agrees_with_oracle(capsys, tmp_path: Path, seed: int):
    c = random_circuit(seed)
    c.save(tmp_path / "c.json")
    X = np.array(list(oracle.all_vectors(c)))[:64]
    names = ",".join(i.name for i in c.inputs)
    (tmp_path / "v.csv").write_text(names + "\n" + "\n".join(",".join(map(str, x)) for x in X) + "\n")
    code, out, err = run(capsys, "eval", str(tmp_path / "c.json"), str(tmp_path / "v.csv"))
    assert code == 0 and err == ""
    lines = out.strip().split("\n")
    assert lines[0] == ",".join([*c.outputs, "energy"])
    for line, x in zip(lines[1:], X, strict=True):
        want, act = oracle.evaluate(c, list(x))
        assert [int(v) for v in line.split(",")] == [*want, act]


def test_eval_bad_vectors(capsys, tmp_path: Path, examples: Path):
    cases = {
        "0,1\n1\n": "v.csv: row 2: 1 values, expected 2",
        "0,1\n1,x\n": "v.csv: row 2, input 'x1': 'x' is not an integer",
        "\n0,2\n": "v.csv: row 2, input 'x1': value 2 out of range [0, 1]",
        "a,b\n0,1\n": "v.csv: row 1: header",
    }
    for text, message in cases.items():
        (tmp_path / "v.csv").write_text(text)
        code, out, err = run(capsys, "eval", str(examples / "or2.json"), str(tmp_path / "v.csv"))
        assert code == 2 and out == "" and message in err and err.count("\n") == 1


BAD_USAGE = [
    (["info"], "Missing argument"),
    (["info", "FILE_NOT_THERE.json"], "FILE_NOT_THERE.json: no such file"),
    (["info", "{or2}", "--method", "fast"], "Invalid value for '--method'"),
    (["info", "{or2}", "--time-limit", "-1"], "--time-limit"),
    (["eval", "{or2}", "missing.csv"], "missing.csv: no such file"),
    (["frobnicate"], "No such command"),
]


@pytest.mark.parametrize(("args", "message"), BAD_USAGE)
def test_usage_errors_are_one_line_exit_2(capsys, examples: Path, args: list[str], message: str):
    args = [a.replace("{or2}", str(examples / "or2.json")) for a in args]
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_subprocess_exit_codes_and_streams(tmp_path: Path, examples: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "hdlgen-circuit", "version": 1, "inputs": ["a"], "gates": [], "outputs": ["b"]}')
    p = subprocess.run([sys.executable, "-m", "hdlgen", "info", str(bad)], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == f"hdlgen: error: {bad}: outputs[0]: unknown name 'b'\n"
    p = subprocess.run(
        [sys.executable, "-m", "hdlgen", "eval", str(examples / "or2.json")],
        input="0,0\n1,0\n",
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0 and p.stdout == "g,energy\n0,0\n1,1\n"
    p = subprocess.run([sys.executable, "-m", "hdlgen", "info", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--method" in p.stdout


def test_info_on_random_circuits_agrees_with_api(capsys, tmp_path: Path):
    for seed in range(5):
        c = random_circuit(seed)
        c.save(tmp_path / "c.json")
        code, out, _ = run(capsys, "info", str(tmp_path / "c.json"), "--json")
        data = json.loads(out)
        assert code == 0 and data["energy"] == hdlgen.energy(c) == oracle.energy(c)
        assert (data["size"], data["depth"], data["weight"]) == (c.size, c.depth, c.weight)
