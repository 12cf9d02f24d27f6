"""Verilog export through Amaranth's back end."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.back import verilog

from hdlgen.errors import CircuitError, UsageError
from hdlgen.hdl.arith import GROUP
from hdlgen.hdl.top import CircuitTop, ClockGateCell, Gating, check_options
from hdlgen.ir.circuit import Circuit, check_name

__all__ = ["VerilogDesign", "to_verilog"]


@dataclass(frozen=True)
class VerilogDesign:
    """Generated Verilog and what a simulation needs to know about it.

    Attributes
    ----------
    text : str
        Verilog-2005 source.
    top : str
        Name of the top module.
    gating : str
        The gating mode the design was built with.
    latency : int
        Clock edges from ``i_valid`` to ``o_valid``.
    register_names : dict of str to str
        HDL name of each gate's output register (in the top module).
    """

    text: str
    top: str
    gating: str
    latency: int
    register_names: dict[str, str]


def to_verilog(
    circuit: Circuit,
    gating: Gating = "rtz",
    top: str | None = None,
    group: int = GROUP,
    pipeline: bool = False,
    clock_gating: str = "enable",
    clock_gate_cell: ClockGateCell = "generic",
    isolate_inputs: bool = False,
    energy_counter: bool = True,
    clock_enables: bool = True,
) -> VerilogDesign:
    """Elaborate ``circuit`` and convert it to Verilog.

    The same circuit and options always give the same bytes.

    Parameters
    ----------
    circuit : Circuit
        A valid circuit.
    gating : {"rtz", "delta", "none"}
        Gating mode of the gate registers (see :class:`~hdlgen.hdl.CircuitTop`).
    top : str, optional
        Name of the top module (default: the circuit's name).
    group : int
        One-bit operands per partial-sum lookup table.
    pipeline : bool
        A register stage inside every gate's adder tree (latency twice the depth).
    clock_gating, clock_gate_cell
        ``"physical"``: gate registers on stopped clocks (see :class:`~hdlgen.hdl.CircuitTop`).
    isolate_inputs, energy_counter, clock_enables
        New hardware options (see :class:`~hdlgen.hdl.CircuitTop`); their
        defaults give the same bytes as before they existed.

    Returns
    -------
    VerilogDesign

    Raises
    ------
    UsageError
        For a bad option (named), or a top module name that is not an identifier.
    CircuitError
        When the circuit is not valid, or Amaranth refuses to convert it.
    """
    check_options(gating, pipeline, clock_gating, clock_gate_cell)
    name = circuit.name
    if top is not None:
        try:
            name = check_name(top, "top")
        except CircuitError as exc:  # a module name is an option, not part of the circuit
            raise UsageError(str(exc), "top") from None
    design = CircuitTop(
        circuit,
        gating=gating,
        group=group,
        pipeline=pipeline,
        clock_gating=clock_gating,
        clock_gate_cell=clock_gate_cell,
        isolate_inputs=isolate_inputs,
        energy_counter=energy_counter,
        clock_enables=clock_enables,
    )
    try:
        text = verilog.convert(design, name=name, emit_src=False, strip_internal_attrs=True)
    except Exception as exc:  # Amaranth refuses a name or a construct
        raise CircuitError(f"Verilog conversion failed: {exc}") from exc
    return VerilogDesign(text, name, gating, design.latency, dict(design.register_names))
