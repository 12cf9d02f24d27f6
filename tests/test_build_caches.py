"""Build caches (simulations, generated Verilog): a cached file is reused only by the toolchain that made it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hdlgen.toolchain import cocotb_runner

DESIGN = {"tiny.v": "module tiny(input a, output y); assign y = ~a; endmodule\n"}

needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog (iverilog)")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cocotb_runner._toolchain_identity.cache_clear()
    yield tmp_path
    cocotb_runner._toolchain_identity.cache_clear()


@needs_icarus
def test_same_toolchain_reuses_the_build(cache: Path) -> None:
    first = cocotb_runner.build("icarus", DESIGN, "tiny", cocotb=True)
    second = cocotb_runner.build("icarus", DESIGN, "tiny", cocotb=True)
    assert not first.cached and second.cached
    assert first.directory == second.directory


@needs_icarus
def test_cocotb_from_another_environment_does_not_reuse_the_build(
    cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # CI's instance: scripts/plain_install.sh built a Verilator-cocotb simulation in a throw-away venv,
    # linked by -rpath to that venv's libcocotbvpi_verilator.so; the test suite then found it in the
    # cache and it failed to start ("cannot open shared object file") once the venv was removed.
    import cocotb_tools.config as cfg

    ours = cocotb_runner.build("icarus", DESIGN, "tiny", cocotb=True)
    monkeypatch.setattr(cfg, "libs_dir", tmp_path / "other-venv" / "cocotb" / "libs")
    cocotb_runner._toolchain_identity.cache_clear()
    theirs = cocotb_runner.build("icarus", DESIGN, "tiny", cocotb=True)
    assert not theirs.cached
    assert theirs.directory != ours.directory


def test_identity_names_the_simulator_install_and_the_cocotb_libraries() -> None:
    import cocotb_tools.config as cfg

    cocotb_runner._toolchain_identity.cache_clear()
    try:
        identity = cocotb_runner._toolchain_identity("verilator", True)
    except cocotb_runner.ToolError as exc:
        pytest.skip(str(exc))
    assert str(cfg.libs_dir) in identity
    assert any(part.endswith("verilator") for part in identity)
    plain = cocotb_runner._toolchain_identity("verilator", False)
    assert str(cfg.libs_dir) not in plain


def test_verilog_from_another_amaranth_is_not_reused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hdlgen.ir.circuit import Circuit
    from hdlgen.sim import run

    c = Circuit.from_dict(
        {
            "format": "hdlgen-circuit",
            "version": 1,
            "name": "or2",
            "inputs": ["x0", "x1"],
            "gates": [{"name": "g", "kind": "threshold", "inputs": ["x0", "x1"], "weights": [1, 1], "threshold": 1}],
            "outputs": ["g"],
        }
    )
    stages: list[str] = []
    options = run.check_options()
    run.generated_design(c, options, on_stage=stages.append)
    run.generated_design(c, options, on_stage=stages.append)
    assert stages == ["generating the Verilog"]  # the second came from the cache
    real = run.distribution_versions
    monkeypatch.setattr(run, "distribution_versions", lambda *names: tuple(f"{n}==0.0" for n in names))
    run.generated_design(c, options, on_stage=stages.append)
    assert stages == ["generating the Verilog"] * 2
    assert real("amaranth")[0].startswith("amaranth==")


@needs_icarus
def test_a_build_reports_what_each_command_cost(cache: Path) -> None:
    first = cocotb_runner.build("icarus", DESIGN, "tiny", cocotb=True)
    assert [s.name for s in first.stages] == ["elaborate"]
    assert all(s.wall_s > 0 and s.cpu_s >= 0 for s in first.stages)
    assert cocotb_runner.build("icarus", DESIGN, "tiny", cocotb=True).stages == ()


@pytest.mark.slow
def test_a_changed_build_recipe_never_reuses_a_build(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The key hashes the commands as run: a build made with other compiler options is another build.
    try:
        first = cocotb_runner.build("verilator", DESIGN, "tiny", args=["-Wno-fatal"], cocotb=False)
    except cocotb_runner.ToolError as exc:
        pytest.skip(str(exc))
    assert [s.name for s in first.stages] == ["verilate", "compile"]
    assert (first.directory / "tiny").exists()
    monkeypatch.setattr(cocotb_runner, "CXX_OPT", "-O0")
    second = cocotb_runner.build("verilator", DESIGN, "tiny", args=["-Wno-fatal"], cocotb=False)
    assert not second.cached and second.directory != first.directory
    assert "c++ -O0 " in (second.directory / "build.log").read_text()  # the C++ was compiled with them


@needs_icarus
def test_a_cell_model_changed_in_place_is_another_build(cache: Path, tmp_path: Path) -> None:
    # FPGA cell models are passed by path; a new Yosys rewrites them at the same path.
    cells = tmp_path / "cells_sim.v"
    cells.write_text("module CELL(input a, output y); assign y = a; endmodule\n")
    first = cocotb_runner.build("icarus", DESIGN, "tiny", libraries=[cells], cocotb=True)
    cells.write_text("module CELL(input a, output y); assign y = ~a; endmodule\n")
    second = cocotb_runner.build("icarus", DESIGN, "tiny", libraries=[cells], cocotb=True)
    assert not second.cached and second.directory != first.directory
