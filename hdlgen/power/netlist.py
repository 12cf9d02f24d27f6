"""Read a Yosys-mapped iCE40 or ECP5 netlist and classify every net it drives.

A mapped netlist (``write_verilog -noattr`` after ``synth_ice40`` or
``synth_ecp5``) is one flat module of FPGA cells. Each net driven by a cell
output is one *net* here, one bit wide, named as the netlist names the bit
(``name`` or ``name[3]``). Every net gets:

- a *kind*: ``lut`` (LUT4 outputs, LUT muxes, the sum outputs of ECP5 carry
  cells), ``carry`` (carry outputs: ``SB_CARRY.CO``, ``CCU2C.COUT``), ``ff``
  (flip-flop outputs), ``enable`` (a combinational net that drives the clock
  enable of a flip-flop: counted here, not as ``lut``), ``gated_clock`` (a
  net that drives the clock pin of a flip-flop and is not the ``clk`` port);
- a *stage*: a flip-flop's stage is one more than the largest stage of the
  flip-flops its ``D`` and enable pins read through combinational cells
  (the ports are stage 0, its own output is left out); a combinational net's
  stage is the smallest stage of the flip-flops it feeds (through ``D``,
  enable or reset pins), or ``latency + 1`` when it feeds only output ports;
  a gated clock's stage is the smallest stage of the flip-flops it clocks.
  In hdlgen's designs stage ``l`` is circuit level ``l`` (``2l - 1`` and
  ``2l`` with ``--pipeline``);
- a *role*, from the registers' names (:func:`register_roles`): ``gate``
  (a gate register), ``delay`` (values passed over levels), ``partial``
  (``--pipeline`` partial sums), ``valid`` (the valid chain), ``energy``
  (the ``o_energy`` counter), ``clock_gate`` (gated clocks and their
  enables), ``class`` (the ``o_class`` logic), ``other``. A combinational
  net takes the role of what it feeds, the datapath first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hdlgen.errors import CircuitError

__all__ = ["CELL_PINS", "KINDS", "ROLES", "Net", "Netlist", "edge_offset", "parse_netlist", "shorten_names"]

#: Cell kinds in the order reported.
KINDS: tuple[str, ...] = ("lut", "carry", "ff", "enable", "gated_clock")
#: Roles in the order reported.
ROLES: tuple[str, ...] = ("gate", "delay", "partial", "valid", "energy", "clock_gate", "class", "other")

# Per cell type: output pins with their kind, flip-flop pins (clock, data, enable, reset), or neither.
_FF_PINS = {"clock": ("C", "CLK"), "data": ("D", "DI"), "enable": ("E", "CE"), "reset": ("R", "S", "LSR")}
CELL_PINS: dict[str, dict[str, str]] = {
    "SB_LUT4": {"O": "lut"},
    "SB_CARRY": {"CO": "carry"},
    "SB_GB": {"GLOBAL_BUFFER_OUTPUT": "lut"},
    "LUT4": {"Z": "lut"},
    "PFUMX": {"Z": "lut"},
    "L6MUX21": {"Z": "lut"},
    "CCU2C": {"S0": "lut", "S1": "lut", "COUT": "carry"},
    "DCCA": {"CLKO": "lut"},
    "TRELLIS_FF": {"Q": "ff"},
}
_ICE40_FF = re.compile(r"SB_DFFN?(E)?(SR|SS|R|S)?$")


@dataclass
class Net:
    """One bit driven by a cell output.

    Attributes
    ----------
    name : str
        The bit as the netlist names it: ``name`` or ``name[i]`` (no escape).
    kind : str
        One of :data:`KINDS`.
    stage : int
        Pipeline stage (see the module's docstring).
    role : str
        One of :data:`ROLES`.
    cell : str
        Type of the driving cell.
    offset : int
        Edges after an inference's inputs appear at which this net changes
        for it (:func:`edge_offset`): the stage for a flip-flop or a gated
        clock, the stage minus one for logic.
    """

    name: str
    kind: str
    stage: int
    role: str
    cell: str
    offset: int = 0


@dataclass
class Netlist:
    """A parsed netlist: its top module, ports and driven nets."""

    top: str
    ports: dict[str, tuple[str, int]]  # name -> (direction, width)
    nets: list[Net] = field(default_factory=list)
    cells: dict[str, int] = field(default_factory=dict)
    #: Flip-flops clocked by each clock net (the ``clk`` port or a gated clock): the clock pins it drives.
    clock_fanout: dict[str, int] = field(default_factory=dict)

    def by_name(self) -> dict[str, Net]:
        """The nets keyed by their bit name."""
        return {n.name: n for n in self.nets}


_MODULE = re.compile(r"^\s*module\s+(\\\S+|[A-Za-z_][\w$]*)\s*\(", re.M)
_DECL = re.compile(r"^\s*(input|output|inout|wire|reg)\s+(?:\[(\d+):(\d+)\]\s+)?(\\\S+|[A-Za-z_][\w$]*)\s*;", re.M)
_CELL = re.compile(r"^\s*([A-Za-z_][\w$]*)\s+(?:#\((?:[^;]*?)\)\s+)?(\\\S+|[A-Za-z_][\w$]*)\s*\((.*?)\);", re.M | re.S)
_PIN = re.compile(r"\.([A-Za-z_]\w*)\s*\(\s*(.*?)\s*\)\s*(?:,|$)", re.S)
_ASSIGN = re.compile(r"^\s*assign\s+(.*?)\s*=\s*(.*?)\s*;", re.M | re.S)
_CONST = re.compile(r"^(\d+)'([bhdo])([0-9a-fA-FxXzZ_]+)$")


def _clean(name: str) -> str:
    """A netlist identifier without its Verilog escape."""
    return name[1:] if name.startswith("\\") else name


class _Bits:
    """Expands netlist expressions to bit names with the declared widths."""

    def __init__(self, widths: dict[str, tuple[int, int]], path: str | Path) -> None:
        self.widths = widths
        self.path = path

    def of(self, expr: str) -> list[str | None]:
        """Bits of ``expr``, most significant first; None for constant bits."""
        expr = expr.strip()
        if expr.startswith("{") and expr.endswith("}"):
            out: list[str | None] = []
            for part in _split_concat(expr[1:-1]):
                out += self.of(part)
            return out
        m = _CONST.match(expr)
        if m:
            return [None] * int(m.group(1))
        m = re.match(r"^(\\\S+|[A-Za-z_][\w$]*)\s*(?:\[(\d+)(?::(\d+))?\])?$", expr)
        if not m:
            raise CircuitError(
                f"{self.path}: cannot read the netlist expression {expr!r}: not a netlist mapped by Yosys "
                "(synth_ice40 or synth_ecp5, then write_verilog)"
            )
        name = _clean(m.group(1))
        msb_lsb = self.widths.get(name)
        if m.group(2) is not None:
            hi = int(m.group(2))
            lo = int(m.group(3)) if m.group(3) is not None else hi
            return [f"{name}[{i}]" for i in range(hi, lo - 1, -1)]
        if msb_lsb is None:
            return [name]
        hi, lo = msb_lsb
        return [f"{name}[{i}]" for i in range(hi, lo - 1, -1)]


def _split_concat(body: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (p.strip() for p in parts) if p]


_LONG = re.compile(r"(?<![\w$\\])([A-Za-z_][\w$]{63,})")


def shorten_names(text: str, keep: set[str] | frozenset[str] = frozenset()) -> str:
    """The netlist with every identifier of 64 characters or more renamed ``hdlgen_n<k>``.

    Yosys names logic after the path to the register it feeds, and those
    names grow past 250 characters on a large design; Verilator 5 hashes long
    names and fails on some of them when tracing ("String not in reverse hash
    map"). Names in ``keep`` (the registers) are left alone.
    """
    names: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in keep:
            return name
        return names.setdefault(name, f"hdlgen_n{len(names)}")

    return _LONG.sub(sub, text)


def register_roles(register_names: dict[str, str]) -> list[tuple[re.Pattern[str], str]]:
    """Name patterns of the registers hdlgen generates and their roles, most specific first.

    Parameters
    ----------
    register_names : dict of str to str
        Gate name to the HDL name of its register (:attr:`hdlgen.hdl.CircuitTop.register_names`).
    """
    gates = "|".join(re.escape(n) for n in sorted(register_names.values(), key=len, reverse=True))
    rules: list[tuple[re.Pattern[str], str]] = [
        (re.compile(r"^valid_s\d+_*$"), "valid"),
        (re.compile(r"^o_valid$"), "valid"),
        (re.compile(r"^energy_s\d+_*$"), "energy"),
        (re.compile(r"^o_energy$"), "energy"),
        (re.compile(r"^gclk\d+_\w*$"), "clock_gate"),
    ]
    if gates:
        rules += [
            (re.compile(rf"^({gates})$"), "gate"),
            (re.compile(rf"^({gates})_p_*$"), "partial"),
        ]
    rules += [(re.compile(r"^.+_d\d+_*$"), "delay"), (re.compile(r"^o_data$"), "gate")]
    return rules


def parse_netlist(
    path: str | Path,
    top: str | None = None,
    register_names: dict[str, str] | None = None,
    latency: int = 1,
    text: str | None = None,
) -> Netlist:
    """Parse a mapped netlist and classify the nets its cells drive.

    Parameters
    ----------
    path : path
        Verilog written by Yosys's ``write_verilog`` after ``synth_ice40`` or ``synth_ecp5``.
    top : str, optional
        Its module (default: the first one).
    register_names : dict of str to str, optional
        Gate name to gate-register name, for the roles.
    latency : int
        The design's latency (the stage of nets that feed only output ports is ``latency + 1``).
    text : str, optional
        The netlist's text, when already read (``path`` then only names it in errors).

    Returns
    -------
    Netlist

    Raises
    ------
    CircuitError
        When the file cannot be read, has no such module, or instantiates a
        cell that is neither an iCE40 nor an ECP5 logic cell.
    """
    if text is None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise CircuitError(f"{path}: cannot read: {exc.strerror}") from None
    top, body = _module_body(text, top, path)
    widths, ports = _declarations(body)
    bits = _Bits(widths, path)
    aliases = _Aliases(body, bits)
    cells = _Cells(body, bits, aliases.rep, path)
    stage = _flip_flop_stages(cells)
    roles = _RoleNamer(register_roles(register_names or {}), aliases.members)
    ff_role = {i: roles.of(cells.outputs_of[i][0]) if i in cells.outputs_of else "other" for i in stage}
    port_role = _output_port_roles(ports, bits, aliases.rep, roles)
    forward = _Forward(cells, stage, ff_role, port_role, latency + 1)
    nets = _classify(cells, stage, ff_role, port_role, forward, ports, latency + 1)
    return Netlist(top, ports, nets, dict(sorted(cells.count.items())), _clock_fanout(cells))


def _module_body(text: str, top: str | None, path: str | Path) -> tuple[str, str]:
    """The top module's name (the first module by default) and its text up to ``endmodule``."""
    modules = [(m.start(), _clean(m.group(1))) for m in _MODULE.finditer(text)]
    if not modules:
        raise CircuitError(f"{path}: no Verilog module")
    names = [n for _, n in modules]
    if top is None:
        top = names[0]
    if top not in names:
        raise CircuitError(f"{path}: no module named {top!r}")
    start = modules[names.index(top)][0]
    end = text.find("endmodule", start)
    return top, text[start : end if end >= 0 else len(text)]


def _declarations(body: str) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[str, int]]]:
    """Declared ranges ``name -> (msb, lsb)`` of vectors, and ports ``name -> (direction, width)``."""
    widths: dict[str, tuple[int, int]] = {}
    ports: dict[str, tuple[str, int]] = {}
    for m in _DECL.finditer(body):
        name = _clean(m.group(4))
        if m.group(2) is not None:
            widths[name] = (int(m.group(2)), int(m.group(3)))
        if m.group(1) in ("input", "output", "inout"):
            w = abs(int(m.group(2)) - int(m.group(3))) + 1 if m.group(2) is not None else 1
            ports[name] = (m.group(1), w)
    return widths, ports


class _Aliases:
    """Bits joined by ``assign`` statements: every bit maps to one representative bit."""

    def __init__(self, body: str, bits: _Bits) -> None:
        self.alias: dict[str, str] = {}
        for m in _ASSIGN.finditer(body):
            lhs, rhs = bits.of(m.group(1)), bits.of(m.group(2))
            n = min(len(lhs), len(rhs))
            for a, b in zip(lhs[len(lhs) - n :], rhs[len(rhs) - n :], strict=True):
                if a is not None and b is not None and self.rep(a) != self.rep(b):
                    self.alias[self.rep(a)] = self.rep(b)
        #: Representative bit -> the other names of it.
        self.members: dict[str, list[str]] = {}
        for a in self.alias:
            self.members.setdefault(self.rep(a), []).append(a)

    def rep(self, bit: str) -> str:
        """The representative of ``bit``."""
        while bit in self.alias:
            bit = self.alias[bit]
        return bit


class _Cells:
    """The cells of a module body, indexed in order, with what each drives and reads.

    Attributes
    ----------
    driver : dict of str to (int, str)
        Bit -> (index of the cell that drives it, kind of the output).
    inputs : list of list of str
        Per cell: the bits it reads (a flip-flop: data, enable and reset pins; not its clock).
    consumers : dict of str to list of (int, str)
        Bit -> (cell, ``"in"``, ``"data"``, ``"enable"`` or ``"clock"``) for every pin that reads it.
    clock, enables : list
        Per cell: the bit on a flip-flop's clock pin (None otherwise) and on its enable pins.
    types, is_ff : list
        Per cell: its type and whether it is a flip-flop.
    count : dict of str to int
        Cells per type.
    outputs_of : dict of int to list of str
        Cell index -> the bits it drives.

    Raises
    ------
    CircuitError
        A cell that is neither an iCE40 nor an ECP5 logic cell, or a pin wider than one bit.
    """

    def __init__(self, body: str, bits: _Bits, rep: Callable[[str], str], path: str | Path) -> None:
        self.driver: dict[str, tuple[int, str]] = {}
        self.inputs: list[list[str]] = []
        self.types: list[str] = []
        self.is_ff: list[bool] = []
        self.clock: list[str | None] = []
        self.enables: list[list[str]] = []
        self.consumers: dict[str, list[tuple[int, str]]] = {}
        self.count: dict[str, int] = {}
        for m in _CELL.finditer(body):
            if m.group(1) not in ("module", "assign", "input", "output", "wire", "reg", "inout"):
                self._add(m.group(1), _clean(m.group(2)), m.group(3), bits, rep, path)
        self.outputs_of: dict[int, list[str]] = {}
        for b, (idx, _) in self.driver.items():
            self.outputs_of.setdefault(idx, []).append(b)

    def _add(self, ctype: str, name: str, pins: str, bits: _Bits, rep: Callable[[str], str], path: str | Path) -> None:
        """Record one cell instance: its outputs in ``driver``, its inputs, clock and enables."""
        self.count[ctype] = self.count.get(ctype, 0) + 1
        is_ff = bool(_ICE40_FF.match(ctype)) or ctype == "TRELLIS_FF"
        if not is_ff and ctype not in CELL_PINS:
            raise CircuitError(f"{path}: cell {name!r} of type {ctype!r} is neither an iCE40 nor an ECP5 logic cell")
        idx = len(self.types)
        self.types.append(ctype)
        self.is_ff.append(is_ff)
        ins: list[str] = []
        clock = None
        enables: list[str] = []
        for pin, expr in _PIN.findall(pins):
            pbits = [b for b in bits.of(expr) if b is not None]
            if not pbits:
                continue
            if len(pbits) != 1:
                raise CircuitError(f"{path}: pin {pin} of {name!r} is wider than one bit")
            b = rep(pbits[0])
            if is_ff:
                if pin == "Q":
                    self.driver[b] = (idx, "ff")
                elif pin in _FF_PINS["clock"]:
                    clock = b
                    self.consumers.setdefault(b, []).append((idx, "clock"))
                else:
                    role = "enable" if pin in _FF_PINS["enable"] else "data"
                    ins.append(b)
                    if role == "enable":
                        enables.append(b)
                    self.consumers.setdefault(b, []).append((idx, role))
            elif pin in CELL_PINS[ctype]:
                self.driver[b] = (idx, CELL_PINS[ctype][pin])
            else:
                ins.append(b)
                self.consumers.setdefault(b, []).append((idx, "in"))
        self.inputs.append(ins)
        self.clock.append(clock)
        self.enables.append(enables)

    def flip_flops(self) -> list[int]:
        """Indices of the flip-flops."""
        return [i for i, f in enumerate(self.is_ff) if f]


def _flip_flop_sources(cells: _Cells) -> Callable[[str], frozenset[int]]:
    """A function: the flip-flops (cell indices) a bit reads through combinational cells (memoized)."""
    memo: dict[str, frozenset[int]] = {}

    def sources(b: str) -> frozenset[int]:
        stack = [(b, False)]
        while stack:
            cur, expanded = stack.pop()
            if cur in memo:
                continue
            d = cells.driver.get(cur)
            if d is None:
                memo[cur] = frozenset()
            elif cells.is_ff[d[0]]:
                memo[cur] = frozenset([d[0]])
            elif expanded:  # a combinational loop (never generated) reads as no source
                memo[cur] = frozenset().union(*(memo.get(i, frozenset()) for i in cells.inputs[d[0]]))
            else:
                stack.append((cur, True))
                stack.extend((i, False) for i in cells.inputs[d[0]] if i not in memo)
        return memo[b]

    return sources


def _flip_flop_stages(cells: _Cells) -> dict[int, int]:
    """Each flip-flop's stage: one more than the largest stage of the other registers its pins read.

    A register's bits read each other (rtz and delta enables compare the
    whole register), so flip-flops of the same register are not a stage.
    Iterated to a fixed point, bounded by the number of flip-flops.
    """
    sources = _flip_flop_sources(cells)
    ffs = cells.flip_flops()
    base = {i: cells.outputs_of[i][0].split("[", 1)[0] if i in cells.outputs_of else str(i) for i in ffs}
    reads = {i: {j for j in set().union(*(sources(b) for b in cells.inputs[i])) if base[j] != base[i]} for i in ffs}
    stage = dict.fromkeys(ffs, 1)
    for _ in range(len(ffs) + 1):
        changed = False
        for i in ffs:
            s = 1 + max((stage[j] for j in reads[i]), default=0)
            if s != stage[i] and s <= len(ffs) + 1:
                stage[i] = s
                changed = True
        if not changed:
            break
    return stage


class _RoleNamer:
    """The role of a register bit from its name or the names assigned to it (:func:`register_roles`)."""

    def __init__(self, rules: list[tuple[re.Pattern[str], str]], members: dict[str, list[str]]) -> None:
        self.rules = rules
        self.members = members

    def of(self, bit: str) -> str:
        """The first rule matching the bit's register name, or ``"other"``."""
        for name in (bit, *sorted(self.members.get(bit, []))):
            base = name.split("[", 1)[0]
            for pattern, role in self.rules:
                if pattern.match(base):
                    return role
        return "other"


def _output_port_roles(
    ports: dict[str, tuple[str, int]], bits: _Bits, rep: Callable[[str], str], roles: _RoleNamer
) -> dict[str, str]:
    """The representative bit of every output port bit -> the role of that port."""
    port_role: dict[str, str] = {}
    for name, (d, _) in ports.items():
        if d == "output":
            for b in bits.of(name):
                if b is not None:
                    port_role[rep(b)] = {"o_data": "gate", "o_class": "class"}.get(name, roles.of(name))
    return port_role


#: Stage of a net that feeds nothing (before it is replaced by the sink stage).
_NOWHERE = 10**9


class _Forward:
    """Per combinational bit: the smallest stage of what it feeds and the roles it feeds (memoized).

    A bit feeds a flip-flop's stage and role through its data, enable and
    reset pins (not its clock), an output port at ``sink_stage``, and
    whatever the combinational cells it drives feed.
    """

    def __init__(
        self,
        cells: _Cells,
        stage: dict[int, int],
        ff_role: dict[int, str],
        port_role: dict[str, str],
        sink_stage: int,
    ) -> None:
        self.cells = cells
        self.stage = stage
        self.ff_role = ff_role
        self.port_role = port_role
        self.sink_stage = sink_stage
        self.memo: dict[str, tuple[int, frozenset[str]]] = {}

    def __call__(self, b: str) -> tuple[int, frozenset[str]]:
        cells, memo = self.cells, self.memo
        stack = [(b, False)]
        while stack:
            cur, expanded = stack.pop()
            if cur in memo:
                continue
            if not expanded:
                comb = [idx for idx, _ in cells.consumers.get(cur, []) if not cells.is_ff[idx]]
                stack.append((cur, True))
                stack.extend((o, False) for idx in comb for o in cells.outputs_of.get(idx, []) if o not in memo)
                continue
            memo[cur] = self._combine(cur)
        return memo[b]

    def _combine(self, cur: str) -> tuple[int, frozenset[str]]:
        """Stage and roles of ``cur`` from its consumers (the combinational ones already memoized)."""
        cells = self.cells
        best, roles = _NOWHERE, set()
        if cur in self.port_role:
            best = self.sink_stage
            roles.add(self.port_role.get(cur, "other"))
        for idx, how in cells.consumers.get(cur, []):
            if cells.is_ff[idx]:
                if how != "clock":
                    best = min(best, self.stage[idx])
                    roles.add(self.ff_role[idx])
                continue
            for o in cells.outputs_of.get(idx, []):
                # A combinational loop (never generated) reads as feeding nothing.
                s, r = self.memo.get(o, (_NOWHERE, frozenset()))
                best = min(best, s)
                roles |= r
        return best, frozenset(roles)


def _classify(
    cells: _Cells,
    stage: dict[int, int],
    ff_role: dict[int, str],
    port_role: dict[str, str],
    forward: _Forward,
    ports: dict[str, tuple[str, int]],
    sink_stage: int,
) -> list[Net]:
    """Every driven bit as a :class:`Net` with its kind, stage, role and offset, sorted by stage, kind, name."""
    clock_ports = {b for b in ("clk",) if b in ports}
    clock_pins = {c for c in cells.clock if c is not None}
    enable_pins = {e for es in cells.enables for e in es}
    # The logic that makes a gated clock (an AND before an iCE40 SB_GB, the clock input of an ECP5 DCCA).
    clock_feeds = {
        i for idx, t in enumerate(cells.types) if t in ("SB_GB", "DCCA") for i in cells.inputs[idx] if i in cells.driver
    }
    nets: list[Net] = []
    for b, (idx, kind) in cells.driver.items():
        ctype = cells.types[idx]
        if cells.is_ff[idx]:
            role = ff_role[idx]
            if role == "other" and b in port_role:
                role = port_role[b]
            nets.append(Net(b, "ff", stage[idx], role, ctype, edge_offset("ff", stage[idx])))
            continue
        if (b in clock_pins or b in clock_feeds) and b not in clock_ports:
            s = _clocked_stage(cells, stage, b)
            s = sink_stage if s >= _NOWHERE else s
            nets.append(Net(b, "gated_clock", s, "clock_gate", ctype, edge_offset("gated_clock", s)))
            continue
        s, roles = forward(b)
        s = sink_stage if s >= _NOWHERE else s
        role = next((r for r in ROLES if r in roles), "other")
        if b in enable_pins:
            kind = "enable"
        nets.append(Net(b, kind, s, role, ctype, edge_offset(kind, s)))
    nets.sort(key=lambda n: (n.stage, n.kind, n.name))
    return nets


def edge_offset(kind: str, stage: int) -> int:
    """Edges after an inference's inputs appear at which a net of this kind and stage changes for it.

    A flip-flop of stage ``s`` loads at edge ``E_k + s``, and so does a gated
    clock that clocks stage ``s`` (its pulse is that edge); the logic that
    computes a stage-``s`` register changes one edge earlier.
    """
    return stage if kind in ("ff", "gated_clock") else stage - 1


def _clocked_stage(cells: _Cells, stage: dict[int, int], bit: str) -> int:
    """The smallest stage of the flip-flops whose clock pins ``bit`` drives, directly or through cells.

    A gated clock passes through an iCE40 ``SB_GB`` or an ECP5 ``DCCA``
    (or a LUT) before it reaches clock pins. :data:`_NOWHERE` when it
    clocks no flip-flop.
    """
    best, seen, todo = _NOWHERE, {bit}, [bit]
    while todo:
        cur = todo.pop()
        for idx, how in cells.consumers.get(cur, []):
            if cells.is_ff[idx]:
                if how == "clock":
                    best = min(best, stage[idx])
                continue
            for o in cells.outputs_of.get(idx, []):
                if o not in seen:
                    seen.add(o)
                    todo.append(o)
    return best


def _clock_fanout(cells: _Cells) -> dict[str, int]:
    """Clock net -> the flip-flop clock pins it drives, sorted by name."""
    fanout: dict[str, int] = {}
    for c in cells.clock:
        if c is not None:
            fanout[c] = fanout.get(c, 0) + 1
    return dict(sorted(fanout.items()))
