"""``hdlgen eval`` in bounded memory: chunked reading gives the same vectors and the same CSV."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hdlgen import Reference
from hdlgen.cli import main
from hdlgen.errors import CircuitError
from hdlgen.ir.vectors import format_csv, iter_vectors, read_vectors
from hdlgen.random_circuits import random_layered


def csv_text(X: np.ndarray, header: str = "") -> str:
    buf = io.StringIO()
    buf.write(header)
    np.savetxt(buf, X, fmt="%d", delimiter=",")
    return buf.getvalue()


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_chunks_equal_whole(chunk: int):
    c = random_layered(5, [3], fan_in=2, seed=1, input_bits=[1, 2, 1, 3, 1])
    X = np.random.default_rng(0).integers(0, [2, 4, 2, 8, 2], size=(100, 5))
    text = csv_text(X, "x0,x1,x2,x3,x4\n")
    parts = list(iter_vectors(c, io.StringIO(text), "v.csv", chunk=chunk))
    assert all(len(p) <= chunk for p in parts)
    assert np.array_equal(np.concatenate(parts), X)
    assert np.array_equal(read_vectors(c, io.StringIO(text), "v.csv"), X)


def test_bad_row_after_good_chunks_names_its_row():
    c = random_layered(3, [2], fan_in=2, seed=1)
    text = csv_text(np.zeros((10, 3), dtype=int)) + "0,2,0\n"
    it = iter_vectors(c, io.StringIO(text), "v.csv", chunk=4)
    assert len(next(it)) == 4
    with pytest.raises(CircuitError, match=r"v.csv: row 11, input 'x1': value 2 out of range"):
        list(it)


def test_eval_output_is_unchanged_and_nothing_half_written(capsys, tmp_path: Path):
    c = random_layered(6, [4, 2], fan_in=3, seed=2, relu_fraction=0.5)
    c.save(tmp_path / "c.json")
    X = np.random.default_rng(1).integers(0, 2, size=(70_000, 6))  # more than one chunk
    (tmp_path / "v.csv").write_text(csv_text(X))
    assert main(["eval", str(tmp_path / "c.json"), str(tmp_path / "v.csv")]) == 0
    out, _ = capsys.readouterr()
    outputs, act = Reference(c).run(X)
    assert out == format_csv([*c.outputs, "energy"], np.concatenate([outputs, act.reshape(-1, 1)], axis=1))
    (tmp_path / "bad.csv").write_text(csv_text(X) + "0,0,0,0,0,7\n")
    assert main(["eval", str(tmp_path / "c.json"), str(tmp_path / "bad.csv")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "row 70001" in err


@pytest.mark.slow
def test_eval_peak_memory_is_bounded(tmp_path: Path):
    # 1M vectors of 32 inputs: the whole file as Python lists would take gigabytes.
    c = random_layered(32, [16], fan_in=8, seed=3)
    c.save(tmp_path / "c.json")
    X = np.random.default_rng(2).integers(0, 2, size=(1_000_000, 32))
    np.savetxt(tmp_path / "v.csv", X, fmt="%d", delimiter=",")
    code = (  # VmHWM: ru_maxrss would carry the parent's figure over exec
        "import sys; from hdlgen.cli import main; main(sys.argv[1:]); "
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0], file=sys.stderr)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, "eval", str(tmp_path / "c.json"), str(tmp_path / "v.csv")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert r.stdout.count("\n") == 1_000_001
    peak_kib = int(r.stderr.strip().splitlines()[-1])
    assert peak_kib < 512 * 1024, peak_kib
