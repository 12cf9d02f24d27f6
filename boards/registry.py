"""The boards hdlgen builds for."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from hdlgen.errors import UsageError

__all__ = ["BOARDS", "Board", "get_board"]


@dataclass(frozen=True)
class Board:
    """An amaranth-boards board with a UART.

    Attributes
    ----------
    name : str
        The name users give with ``--board``.
    platform : str
        ``module:Class`` of the amaranth-boards platform.
    family : {"ice40", "ecp5"}
    uart : str
        Resource name of the UART wired to the host (through the board's USB bridge).
    leds : tuple of int
        Numbers of the ``led`` resources to drive (activity, error).
    programmer : tuple of str
        The programming command; ``{tool}`` is replaced by the programmer's
        executable, ``{bitstream}`` by the file.
    tool_env : str
        Environment variable that may name the programmer's executable.
    tool_names : tuple of str
        The programmer's executables to look for otherwise, in order.
    """

    name: str
    platform: str
    family: str
    uart: str = "uart"
    leds: tuple[int, ...] = (0, 1)
    programmer: tuple[str, ...] = ("{tool}", "{bitstream}")
    tool_env: str = "ICEPROG"
    tool_names: tuple[str, ...] = ("iceprog",)

    @property
    def bitstream_suffix(self) -> str:
        """``.bin`` for iCE40, ``.bit`` for ECP5."""
        return ".bin" if self.family == "ice40" else ".bit"

    def platform_class(self) -> type:
        """The amaranth-boards platform class."""
        module, cls = self.platform.split(":")
        return getattr(importlib.import_module(module), cls)


_OPENFPGALOADER_ULX3S = {
    "programmer": ("{tool}", "-b", "ulx3s", "-m", "{bitstream}"),
    "tool_env": "OPENFPGALOADER",
    "tool_names": ("openFPGALoader", "openfpgaloader-cli"),
}

BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        Board("icebreaker", "amaranth_boards.icebreaker:ICEBreakerPlatform", "ice40"),
        Board("ulx3s-85f", "amaranth_boards.ulx3s:ULX3S_85F_Platform", "ecp5", **_OPENFPGALOADER_ULX3S),
        Board("ulx3s-25f", "amaranth_boards.ulx3s:ULX3S_25F_Platform", "ecp5", **_OPENFPGALOADER_ULX3S),
        Board("icestick", "amaranth_boards.icestick:ICEStickPlatform", "ice40"),
    )
}


def get_board(name: str) -> Board:
    """The board called ``name``; UsageError listing the known ones otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        raise UsageError(f"unknown board {name!r}: choose one of {', '.join(BOARDS)}", "board") from None
