"""The top level: a pipeline of gate units with per-gate clock enables.

Ports (docs/verilog-ports.md): ``clk``, ``rst`` (the ``sync`` domain), ``i_valid``,
``i_data``, ``o_valid``, ``o_data``, ``o_energy``.

Level ``l`` of the circuit is pipeline stage ``l``: a gate of level ``l``
reads stage ``l - 1`` and its output register is stage ``l``. Values that
skip levels pass through delay registers. ``o_energy`` accumulates, stage by
stage, the number of gates that fired for the inference in flight.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from amaranth.hdl import Cat, ClockDomain, ClockSignal, Const, Instance, Module, Mux, ResetSignal, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdlgen.errors import UsageError
from hdlgen.hdl.arith import GROUP, Term, build_sum
from hdlgen.hdl.units import unit_logic
from hdlgen.ir.circuit import Circuit
from hdlgen.ir.ports import PORT_NAMES, PortLayout

__all__ = ["GATING_MODES", "PORT_NAMES", "CircuitTop", "ClockGating", "Gating", "check_options"]

Gating = Literal["rtz", "delta", "none"]
GATING_MODES: tuple[str, ...] = ("rtz", "delta", "none")
#: How gated clocks are made for ``clock_gating="physical"``.
ClockGateCell = Literal["generic", "ecp5", "ice40"]
#: How a gated register stops: a clock enable, or a gated clock (see :class:`CircuitTop`).
ClockGating = Literal["enable", "physical"]
CLOCK_GATE_CELLS: tuple[str, ...] = ("generic", "ecp5", "ice40")


def check_options(
    gating: str,
    pipeline: bool = False,
    clock_gating: str = "enable",
    clock_gate_cell: str = "generic",
    clock_enables: bool = True,
) -> None:
    """Check the options of :class:`CircuitTop` (before anything is built or written).

    Parameters
    ----------
    gating : str
        One of :data:`GATING_MODES` (``"rtz"``, ``"delta"``, ``"none"``).
    pipeline : bool
        A pipeline cut inside every gate's adder tree.
    clock_gating : str
        ``"enable"`` or ``"physical"``.
    clock_gate_cell : str
        One of ``"generic"``, ``"ecp5"``, ``"ice40"``.
    clock_enables : bool
        Registers with the gating mode's enable logic (False only with gating ``"rtz"`` or ``"delta"``).

    Raises
    ------
    UsageError
        Naming the parameter: an unknown value, a flag that is not a bool, or ``pipeline`` or
        ``clock_gating="physical"`` with gating ``"none"``, or
        ``clock_enables=False`` with gating ``"none"``.
    """
    _check_flag("pipeline", pipeline)
    _check_flag("clock_enables", clock_enables)
    if gating not in GATING_MODES:
        raise UsageError(f"gating must be one of {', '.join(GATING_MODES)}, not {gating!r}", "gating")
    if not clock_enables and gating == "none":
        raise UsageError("registers without enable logic need gating 'rtz' or 'delta', not 'none'", "clock_enables")
    if clock_gating not in ("enable", "physical"):
        raise UsageError(f"clock gating must be 'enable' or 'physical', not {clock_gating!r}", "clock_gating")
    if clock_gating == "physical" and gating == "none":
        raise UsageError(
            "clock_gating='physical' needs gating 'rtz' or 'delta' (gating 'none' never stops a clock)",
            "clock_gating",
        )
    if clock_gate_cell not in CLOCK_GATE_CELLS:
        raise UsageError(
            f"clock gate cell must be one of {', '.join(CLOCK_GATE_CELLS)}, not {clock_gate_cell!r}",
            "clock_gate_cell",
        )
    if pipeline and gating == "none":
        # Ungated registers load every clock; after a reset the partial sums would hold
        # zeros that no operand values produce, and the gate registers garbage nobody models.
        raise UsageError(
            "pipeline needs gating 'rtz' or 'delta' (gating 'none' reloads partial sums every clock)", "pipeline"
        )


def _check_flag(name: str, value: object) -> None:
    """UsageError naming ``name`` unless ``value`` is a bool ("yes" or 0 would be taken by truth value)."""
    if not isinstance(value, bool | np.bool_):
        raise UsageError(f"{name} must be True or False, not {value!r}", name)


class CircuitTop(wiring.Component):
    """A circuit as a pipelined, gated Amaranth component.

    Parameters
    ----------
    circuit : Circuit
        A valid circuit.
    gating : {"rtz", "delta", "none"}
        ``rtz``: a gate register is enabled only to rise when its gate fires
        for a valid inference and to fall back to 0 after; a gate that does
        not fire is never enabled. ``delta``: enabled only when a valid
        inference changes its value; it holds otherwise. ``none``: every
        register loads every clock.
    group : int
        One-bit operands per partial-sum lookup table (1: no tables).
    pipeline : bool
        A register stage inside every gate's adder tree (a pipeline cut): a
        faster clock, the latency twice the depth. Needs gating rtz or delta.
    clock_gating : {"enable", "physical"}
        ``"enable"``: a clock enable per gate register. ``"physical"``: the
        gate registers of each level on a clock stopped while no valid
        inference (and, for rtz, no register to return to zero) needs it; the
        enable is latched on the falling edge. Needs gating rtz or delta.
    clock_gate_cell : {"generic", "ecp5", "ice40"}
        The clock gate of ``clock_gating="physical"``: an AND gate
        (simulation), an ECP5 DCCA per level, or one iCE40 SB_GB global
        buffer shared by every level.
    isolate_inputs : bool
        Operand isolation: the datapath reads ``i_data`` ANDed with
        ``i_valid``, so the first level's adder trees see zeros, and do not
        switch, on clocks without an inference whatever the bus carries.
        Default off (the Verilog of the existing modes is unchanged).
    clock_enables : bool
        Registers have the gating mode's enable logic (default). False
        leaves that logic out and keeps the register contents edge for edge:
        with ``rtz`` every register loads ``valid ? d : 0`` on every clock
        ("rtz by data": a gate that does not fire loads the 0 it holds; after
        an inference every register returns to 0); with ``delta`` every
        register loads ``d`` when ``valid`` and holds otherwise ("delta by
        valid": the stage's valid bit is the clock enable, without the
        ``d != reg`` comparator, since loading an equal value changes
        nothing). Both keep the nets of the enable logic from switching; the
        flip-flops are clocked more often than with the comparator.
    energy_counter : bool
        Count firing gates into ``o_energy`` (default). False leaves the
        counter out: ``o_energy`` is constant 0 (a power-saving option for
        designs that do not read it; verification then cannot check energy).

    Attributes
    ----------
    i_valid, i_data, o_valid, o_data, o_energy : Signal
        The ports of docs/verilog-ports.md; the widths of ``i_data``, ``o_data`` and ``o_energy``
        and the packing of circuit inputs and outputs are :attr:`layout`'s.
    layout : hdlgen.ir.ports.PortLayout
        The design's port layout.
    o_class : Signal
        Only for classifier circuits (``meta["classes"]``, see
        :mod:`hdlgen.ir.classify`): the index of the largest output in
        ``o_data``, the first on ties; valid with ``o_valid``.
    latency : int
        Clock edges from ``i_valid`` sampled high to ``o_valid`` sampled high.
    gate_registers : dict of str to Signal
        Each gate's output register, keyed by gate name; the signal carries
        the gate's name (see :attr:`register_names`).
    register_names : dict of str to str
        The HDL name of each gate register: the gate's name, unless that is
        a port name (then ``<name>_q``).
    stage_names, cut_names, clock_enable_names, clock_groups
        Filled by elaboration, for the formal wiring check: the HDL name of
        each (signal, stage) the design holds, of each gate's pipeline-cut
        registers, of each gated clock's enable, and the levels on each gated
        clock.

    Raises
    ------
    CircuitError
        When the circuit is not valid.
    UsageError
        For an unknown option value or a combination the design cannot
        build (``pipeline`` or ``clock_gating="physical"`` with gating none).
    """

    def __new__(cls, *args: Any, src_loc_at: int = 0, **kwargs: Any) -> CircuitTop:
        """Check the circuit and the options before the component exists.

        Amaranth warns (``UnusedElaboratable``) about every elaboratable that is
        created and never elaborated; refusing bad input here, rather than in
        ``__init__``, means a refused design is never created at all.

        Raises
        ------
        CircuitError
            For an invalid circuit.
        UsageError
            For an unknown or incompatible option (:func:`check_options`), or
            ``isolate_inputs`` or ``energy_counter`` not a bool.
        """
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        arguments["circuit"].validate()
        for flag in ("isolate_inputs", "energy_counter"):  # check_options checks the others
            _check_flag(flag, arguments[flag])
        check_options(
            arguments["gating"],
            arguments["pipeline"],
            arguments["clock_gating"],
            arguments["clock_gate_cell"],
            arguments["clock_enables"],
        )
        return super().__new__(cls, *args, src_loc_at=src_loc_at + 1, **kwargs)

    def __init__(
        self,
        circuit: Circuit,
        gating: Gating = "rtz",
        group: int = GROUP,
        pipeline: bool = False,
        clock_gating: str = "enable",
        clock_gate_cell: ClockGateCell = "generic",
        isolate_inputs: bool = False,
        energy_counter: bool = True,
        clock_enables: bool = True,
    ) -> None:
        self.circuit = circuit
        self.gating = gating
        self.group = group
        self.pipeline = pipeline
        self.clock_gating = clock_gating
        self.clock_gate_cell = clock_gate_cell
        self.isolate_inputs = bool(isolate_inputs)
        self.energy_counter = bool(energy_counter)
        self.clock_enables = bool(clock_enables)
        self.layout = PortLayout.of(circuit, pipeline)
        self.latency = self.layout.latency
        self.classifier = self.layout.classifier
        ports = {
            "i_valid": In(1),
            "i_data": In(self.layout.i_width),
            "o_valid": Out(1),
            "o_data": Out(self.layout.output_bits),
            "o_energy": Out(self.layout.energy_width),
        }
        if self.layout.class_width is not None:
            ports["o_class"] = Out(self.layout.class_width)
        super().__init__(ports)
        taken = set(PORT_NAMES) | {"o_class"}
        self.register_names: dict[str, str] = {}
        for g in circuit.gates:
            name = g.name
            while name in taken:
                name += "_q"
            taken.add(name)
            self.register_names[g.name] = name
        self._taken = taken | {i.name for i in circuit.inputs}
        #: HDL name of every (signal, stage) the design holds, filled by elaboration:
        #: a register's name, or ``i_data[a:b]`` for inputs at stage 0.
        self.stage_names: dict[tuple[str, int], str] = {}
        #: HDL names of each gate's pipeline-cut registers (``pipeline``), filled by elaboration.
        self.cut_names: dict[str, list[str]] = {}
        #: HDL name of the enable (before its falling-edge latch) of each gated clock
        #: ``gclk<k>`` (``clock_gating="physical"``), filled by elaboration.
        self.clock_enable_names: dict[int, str] = {}
        #: The levels on each gated clock ``gclk<k>`` (``clock_gating="physical"``; empty otherwise).
        self.clock_groups: list[list[int]] = self._clock_groups() if clock_gating == "physical" else []
        self.gate_registers: dict[str, Signal] = {
            g.name: Signal(g.bits, name=self.register_names[g.name]) for g in circuit.gates
        }

    def _name(self, wanted: str) -> str:
        name = wanted
        while name in self._taken:
            name += "_"
        self._taken.add(name)
        return name

    def _namer(self, prefix: str) -> Callable[[str], str]:
        """Unique signal names ``<prefix>_<suffix>`` for a gate's datapath."""
        return lambda suffix: self._name(f"{prefix}_{suffix}")

    def _register(self, m: Module, reg: Signal, d: Value, valid: Value, fires: Value | None = None) -> None:
        """Load ``reg`` from ``d`` under the gating mode's enable."""
        if self.gating == "none":
            m.d.sync += reg.eq(d)
            return
        if not self.clock_enables:  # rtz by data, delta by valid: the same contents as with enables
            if self.gating == "rtz":
                m.d.sync += reg.eq(Mux(valid, d, 0))
            else:
                with m.If(valid):
                    m.d.sync += reg.eq(d)
            return
        en = Signal(name=self._name(f"{reg.name}_en"))
        if self.gating == "rtz":
            fires = d.any() if fires is None else fires
            m.d.comb += en.eq((valid & fires) | reg.any())
            with m.If(en):
                m.d.sync += reg.eq(Mux(valid, d, 0))
        else:
            m.d.comb += en.eq(valid & (d != reg))
            with m.If(en):
                m.d.sync += reg.eq(d)

    def _clock_groups(self) -> list[list[int]]:
        """Levels sharing a gated clock: one per level, or all of them on iCE40."""
        levels = list(range(1, self.circuit.depth + 1))
        return [levels] if self.clock_gate_cell == "ice40" and levels else [[lv] for lv in levels]

    def _gated_domain(self, level: int) -> str:
        """The gated clock domain of a level's gate registers (its index in :meth:`_clock_groups`)."""
        return "gclk0" if self.clock_gate_cell == "ice40" else f"gclk{level - 1}"

    def _gated_clocks(self, m: Module, valid: list[Value], step: int) -> None:
        """Make the gated clock domains ``gclk<k>`` (see ``clock_gating``)."""
        c = self.circuit
        neg = ClockDomain("gate_neg", clk_edge="neg", reset_less=True, local=True)
        m.domains += neg
        m.d.comb += neg.clk.eq(ClockSignal("sync"))
        for k, group in enumerate(self.clock_groups):
            need = [valid[step * lv - 1] for lv in group]
            if self.gating == "rtz":
                need += [self.gate_registers[g.name].any() for lv in group for g in c.levels[lv - 1]]
            en = Signal(name=self._name(f"gclk{k}_need"))
            self.clock_enable_names[k] = en.name
            # Starts high: an extra clock edge never changes a register (rtz loads the 0 it holds,
            # delta holds), and the first edge of a simulation may come before any falling edge.
            en_q = Signal(init=1, name=self._name(f"gclk{k}_en"))
            m.d.comb += en.eq(Cat(*need, ResetSignal("sync", allow_reset_less=True)).any())
            # Changed on the falling edge, while the clock is low: the gate cannot glitch.
            m.d.gate_neg += en_q.eq(en)
            cd = ClockDomain(f"gclk{k}", local=True)
            m.domains += cd
            gated = Signal(name=self._name(f"gclk{k}_clk"))
            if self.clock_gate_cell == "ecp5":
                m.submodules[f"gclk{k}_dcca"] = Instance("DCCA", i_CLKI=ClockSignal("sync"), i_CE=en_q, o_CLKO=gated)
            elif self.clock_gate_cell == "ice40":
                m.submodules[f"gclk{k}_gb"] = Instance(
                    "SB_GB", i_USER_SIGNAL_TO_GLOBAL_BUFFER=ClockSignal("sync") & en_q, o_GLOBAL_BUFFER_OUTPUT=gated
                )
            else:
                m.d.comb += gated.eq(ClockSignal("sync") & en_q)
            m.d.comb += [cd.clk.eq(gated), cd.rst.eq(ResetSignal("sync", allow_reset_less=True))]

    def _cut(self, m: Module, gate: str, valid: Value) -> Callable[[Value], Value]:
        """A pipeline cut for ``gate``: a register per value, loaded by valid inferences only.

        Held otherwise: the gate register reads it only when the same
        inference is valid at the gate's own stage.
        """

        def cut(v: Value) -> Value:
            reg = Signal(len(v), name=self._name(f"{gate}_p"))
            self.cut_names.setdefault(gate, []).append(reg.name)
            with m.If(valid):
                m.d.sync += reg.eq(v)
            return reg

        return cut

    def _fired(self, m: Module, gates: list, level: int) -> Value:
        """Number of ``gates`` whose register is nonzero (a popcount of lookup tables)."""
        if not gates:
            return Const(0, 1)
        flags = [Term(self.gate_registers[g.name].any(), 1, 1) for g in gates]
        return build_sum(m, lambda sfx: self._name(f"fired_l{level}_{sfx}"), flags, self.group).value

    def _argmax(self, m: Module, values: list[Value]) -> Value:
        """Index of the largest of ``values``, the first on ties: a balanced tree of comparisons.

        At every node the left candidate (lower indices) wins unless the right
        one is strictly larger, so ties go to the first index.
        """
        width = self.layout.class_width
        assert width is not None
        nodes: list[tuple[Value, Value]] = [(v, Const(i, width)) for i, v in enumerate(values)]
        depth = 0
        while len(nodes) > 1:
            depth += 1
            merged = []
            for k in range(0, len(nodes) - 1, 2):
                (lv, li), (rv, ri) = nodes[k], nodes[k + 1]
                right = Signal(name=self._name(f"argmax{depth}_{k // 2}_right"))
                m.d.comb += right.eq(rv > lv)
                merged.append((Mux(right, rv, lv), Mux(right, ri, li)))
            if len(nodes) % 2:
                merged.append(nodes[-1])
            nodes = merged
        return nodes[0][1]

    def elaborate(self, platform: object) -> Module:
        """Valid bits, stage values, gate units and registers, the energy count and the outputs.

        Parameters
        ----------
        platform : amaranth.build.Platform or None
            The platform Amaranth elaborates for; unused (the design is the same on every board).

        Returns
        -------
        Module
        """
        m = Module()
        c = self.circuit
        stages = self.latency
        # valid[s]: the inference held by stage s is real.
        valid: list[Value] = [self.i_valid]
        for s in range(1, stages + 1):
            v = Signal(name=self._name(f"valid_s{s}"))
            m.d.sync += v.eq(valid[s - 1])
            valid.append(v)

        # value of a signal at a stage: native, or through delay registers.
        at: dict[tuple[str, int], Value] = {}
        native: dict[str, int] = {}
        i_data: Value = self.i_data
        if self.isolate_inputs:
            isolated = Signal(len(self.i_data), name=self._name("i_data_isolated"))
            m.d.comb += isolated.eq(Mux(self.i_valid, self.i_data, 0))
            i_data = isolated
        for f in self.layout.inputs:
            at[(f.name, 0)] = i_data[f.offset : f.stop]
            self.stage_names[(f.name, 0)] = f"i_data[{f.offset}:{f.stop}]"
            native[f.name] = 0
        step = 2 if self.pipeline else 1
        for g in c.gates:
            native[g.name] = step * c.level(g.name)
            at[(g.name, native[g.name])] = self.gate_registers[g.name]
            self.stage_names[(g.name, native[g.name])] = self.register_names[g.name]

        def value_at(name: str, stage: int) -> Value:
            key = (name, stage)
            if key not in at:
                prev = value_at(name, stage - 1)
                reg = Signal(len(prev), name=self._name(f"{name}_d{stage - native[name]}"))
                self._register(m, reg, prev, valid[stage - 1])
                at[key] = reg
                self.stage_names[key] = reg.name
            return at[key]

        # Gates by the stage whose registers hold them.
        by_stage: dict[int, list] = {}
        for g in c.gates:
            by_stage.setdefault(native[g.name], []).append(g)

        for level in range(1, c.depth + 1):
            out_stage = step * level
            for g in c.levels[level - 1]:
                operands = [value_at(src, out_stage - step) for src in g.inputs]
                # The pipeline cut registers at stage out_stage - 1, from stage out_stage - 2's valid bit.
                cut = self._cut(m, g.name, valid[out_stage - 2]) if self.pipeline else None
                value = Signal(g.bits, name=self._name(f"{g.name}_next"))
                logic = unit_logic(m, self._namer(g.name), g, operands, self.group, cut)
                m.d.comb += value.eq(logic.as_unsigned())
                if self.clock_gating == "physical":
                    # No enable: the register's own clock runs only when it may change.
                    reg = self.gate_registers[g.name]
                    hold = 0 if self.gating == "rtz" else reg
                    m.d[self._gated_domain(level)] += reg.eq(Mux(valid[out_stage - 1], value, hold))
                else:
                    self._register(m, self.gate_registers[g.name], value, valid[out_stage - 1], value.any())
        if self.clock_gating == "physical":
            self._gated_clocks(m, valid, step)

        # o_energy: each stage adds the gates held by the previous stage's registers
        # (off the gates' own critical path); the last stage's gates are added at the port.
        width = self.layout.energy_width
        count: Value = Const(0, width)
        for stage in range(2, stages + 1) if self.energy_counter else ():
            nxt = Signal(width, name=self._name(f"energy_s{stage}"))
            total = count + self._fired(m, by_stage.get(stage - 1, []), stage - 1)
            self._register(m, nxt, total[:width], valid[stage - 1])
            count = nxt
        outputs = [value_at(o, stages) for o in c.outputs]
        if self.classifier:
            m.d.comb += self.o_class.eq(self._argmax(m, outputs))
        m.d.comb += [
            self.o_valid.eq(valid[stages]),
            self.o_data.eq(Cat(*outputs)),
        ]
        if self.energy_counter:
            m.d.comb += self.o_energy.eq((count + self._fired(m, by_stage.get(stages, []), stages))[:width])
        return m
