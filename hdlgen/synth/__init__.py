"""Synthesis, place and route with the open Yosys/nextpnr flow (YoWASP)."""

from __future__ import annotations

from typing import Any

from hdlgen.synth.targets import TARGETS, Target, get_target

__all__ = ["TARGETS", "SynthResult", "Target", "get_target", "harness_verilog", "synthesize", "synthesize_verilog"]


def __getattr__(name: str) -> Any:
    # The flow imports Amaranth; load it only when used, so that the CLI starts fast.
    if name in ("SynthResult", "harness_verilog", "synthesize", "synthesize_verilog"):
        from hdlgen.synth import flow

        return getattr(flow, name)
    raise AttributeError(name)
