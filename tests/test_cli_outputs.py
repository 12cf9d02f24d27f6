"""Every command that writes a file says where, in one line on stderr, unless ``hdlgen --quiet``."""

from __future__ import annotations

import json
from pathlib import Path

from hdlgen.cli import main


def test_construct_and_verilog_announce_their_files(tmp_path: Path, capsys):
    circuit = tmp_path / "cd8.json"
    assert main(["construct", "cd", "--n", "8", "--energy", "2", "--depth", "2", "-o", str(circuit)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"hdlgen: wrote {circuit}\n"
    verilog = tmp_path / "design.v"
    assert main(["verilog", str(circuit), "-o", str(verilog)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"hdlgen: wrote {verilog}\n"
    assert verilog.read_text().startswith("/*") or "module" in verilog.read_text()


def test_quiet_silences_announcements(tmp_path: Path, capsys):
    circuit = tmp_path / "mod.json"
    assert main(["--quiet", "construct", "mod", "--n", "6", "--m", "2", "--energy", "2", "-o", str(circuit)]) == 0
    assert main(["-q", "construct", "unt", str(circuit), "-o", str(tmp_path / "unt.json")]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert circuit.exists() and (tmp_path / "unt.json").exists()


def test_json_keeps_stdout_pure_and_announces_on_stderr(tmp_path: Path, capsys, examples: Path):
    out = tmp_path / "report.html"
    assert main(["report", str(examples / "or2.json"), "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["output"] == str(out)
    assert captured.err == f"hdlgen: wrote {out}\n"


def test_nothing_announced_when_nothing_written(tmp_path: Path, capsys):
    out = tmp_path / "x.json"
    assert main(["construct", "cd", "--n", "7", "--energy", "2", "--depth", "2", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "wrote" not in err and err.count("\n") == 1 and not out.exists()


def test_bound_says_what_it_left_out_and_why(capsys, examples: Path):
    assert main(["bound", str(examples / "layered.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("y: ") and lines[0].endswith("relu: asymptotic, not judged")
    assert lines[1].startswith("not judged: with relu gates the theorem is only asymptotic")
    assert lines[2].startswith("left out: r0, r1: multi-bit relu outputs are not Boolean functions")
    assert main(["bound", str(examples / "cd8.json")]) == 0
    assert "left out" not in capsys.readouterr().out


def test_every_command_that_writes_files_announces_them():
    """A command with an output option (``-o``, ``--waves``, ``--workdir``) calls ``announce`` for it."""
    import inspect

    import click

    from hdlgen.cli import cli

    writes = {"output", "outdir", "waves", "workdir", "plot"}
    silent = []

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")
            return
        if any(p.name in writes for p in command.params) and command.callback is not None:
            if "announce(" not in inspect.getsource(command.callback):
                silent.append(path)

    walk(cli, "hdlgen")
    assert silent == []


def test_data_fetch_announces_what_it_downloaded(tmp_path: Path, capsys, monkeypatch):
    """A downloaded file is announced (silenced by --quiet); one already there is said to be kept."""
    import hashlib

    import hdlgen.datasets as datasets

    name = "t10k-labels-idx1-ubyte.gz"
    served = tmp_path / "served"
    served.mkdir()
    (served / name).write_bytes(b"labels")
    monkeypatch.setattr(datasets, "MNIST_FILES", {name: hashlib.md5(b"labels").hexdigest()})
    monkeypatch.setattr(datasets, "MNIST_TEST", (name,))
    dest = tmp_path / "dest"
    argv = ["data", "fetch", "mnist", "--test-only", "--data-dir", str(dest), "--url", served.as_uri()]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"hdlgen: wrote MD5-verified MNIST data to {dest / name}\n"
    assert main(argv) == 0
    assert capsys.readouterr().err == f"hdlgen: kept {dest / name} (already there, MD5 verified)\n"
    (dest / name).unlink()
    assert main(["-q", *argv]) == 0
    assert capsys.readouterr().err == "" and (dest / name).read_bytes() == b"labels"


def test_info_prints_dicts_readably(capsys, examples: Path):
    assert main(["info", str(examples / "layered.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "kinds           threshold: 5, relu: 2" in lines
    assert not any("{" in line for line in lines)
