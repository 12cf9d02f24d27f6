"""Hardware: Amaranth gate units, the gated pipeline top, Verilog export."""

from hdlgen.hdl.model import PipelineTrace, bit_toggles, simulate_pipeline
from hdlgen.hdl.top import GATING_MODES, CircuitTop, Gating
from hdlgen.hdl.verilog import VerilogDesign, to_verilog

__all__ = [
    "GATING_MODES",
    "CircuitTop",
    "Gating",
    "PipelineTrace",
    "VerilogDesign",
    "bit_toggles",
    "simulate_pipeline",
    "to_verilog",
]
