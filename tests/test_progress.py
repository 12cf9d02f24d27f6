"""Long steps show progress on a terminal (rich, on stderr) and nothing when the output is not a terminal.

The commands run as a user would start them, in a pseudo-terminal (stdin, stdout and stderr on it) and with
pipes, and what they wrote is compared.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

import hdlgen
from hdlgen.report import collect

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ESC = "\x1b["


def run_on_terminal(argv: list[str], cwd: Path, timeout: float = 300) -> tuple[int, str]:
    """Run ``hdlgen ARGV`` with a pseudo-terminal as stdin, stdout and stderr; its exit status and output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM", "COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hdlgen", *argv], stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError as exc:  # EIO: the child closed the terminal
                if exc.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            chunks.append(data)
        else:
            proc.kill()
            pytest.fail(f"hdlgen {' '.join(argv)} did not finish in {timeout} s")
    finally:
        os.close(master)
    return proc.wait(), b"".join(chunks).decode(errors="replace")


def run_in_pipes(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "hdlgen", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


FAST = [
    (["info", str(EXAMPLES / "layered.json"), "--method", "exhaustive"], "energy"),
    (["bound", str(EXAMPLES / "layered.json")], "partitions"),
    (["report", str(EXAMPLES / "layered.json"), "-o", "report.html"], "report: "),
]
SLOW = [
    (
        ["train", "--dataset", "digits", "--epochs", "3", "--hidden", "8", "--energy-time-limit", "2", "-o", "t.json"],
        "train: training",
    ),
    (["verify", str(EXAMPLES / "cd8.json"), "--formal"], "proving units"),
    (["synth", str(EXAMPLES / "cd8.json"), "--target", "ice40-up5k", "--no-place"], "synthesizing for ice40-up5k"),
    (["sim", str(EXAMPLES / "cd8.json"), "--exhaustive"], "simulating"),
    (["build", str(EXAMPLES / "or2.json"), "--board", "icebreaker", "-o", "board"], "building the icebreaker"),
    (["sweep", "grid.toml", "-o", "points.csv", "--workers", "1"], "sweep"),
    (
        ["power", str(EXAMPLES / "cd8.json"), "--target", "ice40-up5k", "--vectors", "50", "--gating", "rtz"],
        "power: rtz/physical: counting toggles",  # the last mode's last step, with the bar of modes
    ),
]
GRID = '[sweep]\ntask = "construct-cd"\n[grid]\nn = [4, 6]\nenergy = [2]\ndepth = [2]\n'



@pytest.mark.parametrize(
    ("argv", "shown"),
    [*FAST, *(pytest.param(a, s, marks=pytest.mark.slow) for a, s in SLOW)],
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_progress_on_a_terminal_and_silence_in_a_pipe(tmp_path: Path, argv: list[str], shown: str):
    for where in ("tty", "pipe"):
        (tmp_path / where).mkdir()
        (tmp_path / where / "grid.toml").write_text(GRID)
    status, output = run_on_terminal(argv, tmp_path / "tty")
    assert status == 0, output[-2000:]
    assert shown in output and ESC in output  # drawn with rich: cursor and colour sequences
    piped = run_in_pipes(argv, tmp_path / "pipe")
    assert piped.returncode == 0, piped.stderr
    assert ESC not in piped.stderr and ESC not in piped.stdout
    # off a terminal stderr keeps only the lines a log wants: files written, and train's pruning note
    assert all(line.startswith(("hdlgen: wrote", "hidden gates:")) for line in piped.stderr.splitlines())


def test_report_names_each_step(examples: Path):
    stages: list[str] = []
    counts: list[tuple[int, int]] = []
    circuit = hdlgen.load(examples / "layered.json")
    collect(circuit, on_stage=stages.append, progress=lambda done, total: counts.append((done, total)))
    assert stages == ["exact energy", "firing on every input", "Theorem 1"]
    assert (1024, 1024) in counts  # the exhaustive energy's vectors


def test_digits_training_names_each_step():
    from hdlgen.learn.digits import train_digits

    stages: list[str] = []
    epochs: list[tuple[int, int]] = []
    train_digits(
        hidden=(6,), epochs=2, energy_time_limit=1, on_stage=stages.append, progress=lambda d, t: epochs.append((d, t))
    )
    assert stages == ["training", "test split", "exact energy (at most 1 s)"]
    assert epochs[:2] == [(1, 2), (2, 2)]
