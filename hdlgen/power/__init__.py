"""Switching activity of the synthesized netlist, per inference (``hdlgen power``)."""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_MODES", "Mode", "ModeResult", "PowerResult", "fit_toggles", "measure_power", "parse_netlist"]


def __getattr__(name: str) -> Any:
    # The flow imports Amaranth; load it only when used, so that the CLI starts fast.
    if name in ("DEFAULT_MODES", "Mode", "ModeResult", "PowerResult", "measure_power"):
        from hdlgen.power import run

        return getattr(run, name)
    if name == "fit_toggles":
        from hdlgen.power.stats import fit_toggles

        return fit_toggles
    if name == "parse_netlist":
        from hdlgen.power.netlist import parse_netlist

        return parse_netlist
    raise AttributeError(name)
