"""Hardware: Amaranth gate units, the gated pipeline top, Verilog export."""

from hdlgen.hdl.model import PipelineTrace, bit_toggles, simulate_pipeline
from hdlgen.hdl.top import GATING_MODES, CircuitTop, Gating
from hdlgen.hdl.units import GateUnit, ReluUnit, ThresholdUnit, make_unit
from hdlgen.hdl.verilog import VerilogDesign, to_verilog

__all__ = [
    "GATING_MODES",
    "CircuitTop",
    "GateUnit",
    "Gating",
    "PipelineTrace",
    "ReluUnit",
    "ThresholdUnit",
    "VerilogDesign",
    "bit_toggles",
    "make_unit",
    "simulate_pipeline",
    "to_verilog",
]
