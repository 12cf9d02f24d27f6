"""FPGA parts hdlgen synthesizes for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hdlgen.errors import UsageError

__all__ = ["TARGETS", "Target", "get_target"]


#: The FPGA families hdlgen synthesizes for.
Family = Literal["ice40", "ecp5"]


@dataclass(frozen=True)
class Target:
    """An FPGA part: family, nextpnr options, logic capacity.

    Attributes
    ----------
    name : str
        The name users give (``target``).
    family : {"ice40", "ecp5"}
    nextpnr_args : tuple of str
        nextpnr's device and package options.
    luts : int
        LUT4s of the part (iCE40 logic cells; ECP5 has two LUT4s per slice half).
    """

    name: str
    family: Family
    nextpnr_args: tuple[str, ...]
    luts: int

    @property
    def nextpnr(self) -> str:
        """The YoWASP nextpnr console script for the family."""
        return f"yowasp-nextpnr-{self.family}"


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("ice40-up5k", "ice40", ("--up5k", "--package", "sg48"), 5280),
        Target("ice40-hx8k", "ice40", ("--hx8k", "--package", "ct256"), 7680),
        Target("ecp5-25k", "ecp5", ("--25k", "--package", "CABGA256"), 24288),
        Target("ecp5-85k", "ecp5", ("--85k", "--package", "CABGA381"), 83640),
    )
}


def get_target(name: str) -> Target:
    """The target called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`TARGETS`: ``"ice40-up5k"``, ``"ice40-hx8k"``, ``"ecp5-25k"`` or ``"ecp5-85k"``.

    Returns
    -------
    Target

    Raises
    ------
    UsageError
        For an unknown name, listing the known targets.
    """
    try:
        return TARGETS[name]
    except KeyError:
        raise UsageError(f"unknown target {name!r}: choose one of {', '.join(TARGETS)}", "target") from None
