"""Boards: the host link gateware, bitstreams, flashing, and ``hdlgen run``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import hdlgen
from hdlgen import protocol as p
from hdlgen.cli import main
from hdlgen.host.client import HostLink, LinkError
from hdlgen.ir.ports import PortLayout
from hdlgen.ir.vectors import random_vectors
from hdlgen.sim.link import exchange_frames
from tests.link_bridge import SimulatedBoard


def test_protocol_round_trip():
    frame = p.encode(p.INFER, b"\x01\x02\x03")
    assert frame[0] == p.SYNC and sum(frame[1:]) % 256 == 0
    decoded, rest = p.decode(b"\x00\x13" + frame + b"tail")
    assert decoded == p.Frame(p.INFER, b"\x01\x02\x03") and rest == b"tail"
    with pytest.raises(p.FrameError, match="checksum"):
        p.decode(frame[:-1] + bytes([(frame[-1] + 1) & 0xFF]))
    with pytest.raises(p.FrameError, match="incomplete"):
        p.decode(frame[:-2])
    lay = p.Layout(10, 6, 3, 7, 3)
    assert p.Layout.from_info(lay.info_payload()) == lay


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_link_gateware_in_cocotb(examples: Path, simulator: str):
    c = hdlgen.load(examples / "layered.json")
    X = random_vectors(c, 12, 5)
    lay = p.Layout.of(c)
    frames = [p.encode(p.HELLO)]
    frames += [p.encode(p.INFER, w.to_bytes(lay.in_bytes, "little")) for w in PortLayout.of(c).pack_inputs(X)]
    frames += [p.encode(p.INFER, b"\x01"), p.encode(p.HELLO, version=2), bytes.fromhex("a50101020001020000")]
    answers = [p.decode(a)[0] for a in exchange_frames(c, frames, simulator)]
    assert answers[0] == p.Frame(p.INFO, lay.info_payload())
    results = answers[1:-3]
    assert all(r.type == p.RESULT for r in results)
    got = PortLayout.of(c).unpack_outputs([int.from_bytes(r.payload[: lay.out_bytes], "little") for r in results])
    energy = [int.from_bytes(r.payload[lay.out_bytes :], "little") for r in results]
    want, act = hdlgen.Reference(c).run(X)
    assert np.array_equal(got, want) and energy == act.tolist()
    assert [a.payload[0] for a in answers[-3:]] == [3, 2, 1]  # bad length, version, checksum


@pytest.mark.slow
def test_hdlgen_run_against_a_simulated_board(capsys, tmp_path: Path, examples: Path):
    c = hdlgen.load(examples / "cd8.json")
    X = random_vectors(c, 6, 2)
    (tmp_path / "v.csv").write_text("\n".join(",".join(map(str, x)) for x in X) + "\n")
    with SimulatedBoard(c) as board:
        code = main(
            [
                "run",
                "--port",
                board.port,
                "--circuit",
                str(examples / "cd8.json"),
                str(tmp_path / "v.csv"),
                "--check",
                "--timeout",
                "30",
            ]
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        lines = out.strip().split("\n")
        assert lines[0] == "cd,energy"
        want, act = hdlgen.Reference(c).run(X)
        assert [list(map(int, line.split(","))) for line in lines[1:]] == np.column_stack([want, act]).tolist()
        # Without --circuit: packed words in, packed words out.
        (tmp_path / "w.csv").write_text("i_data\n0x11\n0\n")
        assert main(["run", "--port", board.port, str(tmp_path / "w.csv"), "--timeout", "30"]) == 0
        assert capsys.readouterr().out == "o_data,energy\n1,2\n0,0\n"
        # Another design on the board is refused.
        (tmp_path / "or2.csv").write_text("0,1\n")
        code = main(
            [
                "run",
                "--port",
                board.port,
                "--circuit",
                str(examples / "or2.json"),
                str(tmp_path / "or2.csv"),
                "--timeout",
                "30",
            ]
        )
        assert code == 2 and "another design" in capsys.readouterr().err


def test_host_reports_a_silent_port():
    link = HostLink.open("loop://", timeout=0.1)
    # loop:// echoes our own frame back: a HELLO is not an INFO answer.
    with pytest.raises(LinkError, match="expected an INFO frame"):
        link.hello()
    link.close()
    with pytest.raises(LinkError, match="cannot open"):
        HostLink.open("/dev/does-not-exist")


@pytest.mark.slow
@pytest.mark.parametrize(("board", "suffix"), [("icebreaker", ".bin"), ("ulx3s-85f", ".bit")])
def test_build_bitstreams(capsys, tmp_path: Path, examples: Path, board: str, suffix: str):
    out = tmp_path / board
    assert main(["build", str(examples / "cd8.json"), "--board", board, "-o", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert Path(info["bitstream"]) == out / f"cd8{suffix}" and (out / f"cd8{suffix}").stat().st_size > 1000
    assert info["fmax_mhz"] > info["clock_hz"] / 1e6  # meets the board clock
    assert (out / "cd8.report.json").exists() and (out / "build.json").exists()


def test_flash_dry_run_and_fake_programmer(capsys, tmp_path: Path, monkeypatch):
    """Programming goes through amaranth-boards' own toolchain_program, with the programmer it reads."""
    build = tmp_path / "build"
    build.mkdir()
    (build / "net.bin").write_bytes(b"\1" * 64)
    (build / "net.bit").write_bytes(b"\2" * 64)
    monkeypatch.setenv("ICEPROG", "/opt/bin/iceprog")
    assert main(["flash", str(build), "--board", "icebreaker", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == f"/opt/bin/iceprog {build / 'net.bin'}"
    monkeypatch.setenv("OPENFPGALOADER", "openFPGALoader")
    assert main(["flash", str(build / "net.bit"), "--board", "ulx3s-85f", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == f"openFPGALoader -b ulx3s -m {build / 'net.bit'}"
    # A fake programmer, named where amaranth-boards looks, records what it was asked to do.
    fake = tmp_path / "bin" / "openFPGALoader"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "called"}\ncp "$4" {tmp_path / "flashed"}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("OPENFPGALOADER", str(fake))
    assert main(["flash", str(build / "net.bit"), "--board", "ulx3s-85f"]) == 0
    assert (tmp_path / "called").read_text().split()[:3] == ["-b", "ulx3s", "-m"]
    assert (tmp_path / "flashed").read_bytes() == (build / "net.bit").read_bytes()
    assert os.environ["OPENFPGALOADER"] == str(fake)  # restored after the run
    failing = tmp_path / "bin" / "iceprog"
    failing.write_text("#!/bin/sh\nexit 3\n")
    failing.chmod(failing.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("ICEPROG", str(failing))
    assert main(["flash", str(build / "net.bin"), "--board", "icebreaker"]) == 2
    assert "failed with exit status 3" in capsys.readouterr().err
    monkeypatch.setenv("ICEPROG", str(tmp_path / "nothing-here"))
    assert main(["flash", str(build / "net.bin"), "--board", "icebreaker"]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["flash", str(build / "net.bin"), "--board", "ulx3s-85f", "--dry-run"]) == 2
    assert "takes a .bit bitstream" in capsys.readouterr().err


@pytest.mark.slow
def test_physical_clock_gating_behind_the_link(tmp_path: Path, capsys, examples: Path):
    """Gate registers on stopped clocks: the link still answers with the reference's results; both boards build."""
    c = hdlgen.load(examples / "layered.json")
    X = random_vectors(c, 8, 9)
    lay = p.Layout.of(c)
    frames = [p.encode(p.INFER, w.to_bytes(lay.in_bytes, "little")) for w in PortLayout.of(c).pack_inputs(X)]
    answers = [p.decode(a)[0] for a in exchange_frames(c, frames, "icarus", clock_gating="physical")]
    got = PortLayout.of(c).unpack_outputs([int.from_bytes(r.payload[: lay.out_bytes], "little") for r in answers])
    energy = [int.from_bytes(r.payload[lay.out_bytes :], "little") for r in answers]
    want, act = hdlgen.Reference(c).run(X)
    assert np.array_equal(got, want) and energy == act.tolist()
    for board, suffix in (("icebreaker", ".bin"), ("ulx3s-85f", ".bit")):
        out = tmp_path / board
        argv = ["build", str(examples / "layered.json"), "--board", board, "-o", str(out), "--clock-gating", "physical"]
        assert main([*argv, "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["clock_gating"] == "physical" and (out / f"layered{suffix}").stat().st_size > 1000


def test_bitstream_build_stages_are_reported(tmp_path: Path):
    """The stage a board build is in comes from the files its tools start writing."""
    import time

    from hdlgen.bitstream import STAGES, _watch_stages

    seen: list[str] = []
    with _watch_stages(tmp_path, "net", seen.append):
        for name in ("net.rpt", "net.tim", "net.asc"):
            time.sleep(0.8)
            (tmp_path / name).write_text("")
        time.sleep(0.8)
    assert seen == list(STAGES)
