"""The boards hdlgen builds for."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hdlgen.errors import UsageError

if TYPE_CHECKING:
    from hdlgen.synth.targets import Family  # a type only: boards sit below the flows

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
    tool_env : str
        The environment variable from which the platform's own
        ``toolchain_program`` (amaranth-boards) reads the programmer's
        executable: ``ICEPROG`` for iCE40 boards, ``OPENFPGALOADER`` for ULX3S.
    tool_names : tuple of str
        The programmer's executables hdlgen looks for (beside Python, then on
        ``PATH``) when ``tool_env`` is not set.
    """

    name: str
    platform: str
    family: Family
    uart: str = "uart"
    leds: tuple[int, ...] = (0, 1)
    tool_env: str = "ICEPROG"
    tool_names: tuple[str, ...] = ("iceprog",)

    @property
    def bitstream_suffix(self) -> str:
        """``.bin`` for iCE40, ``.bit`` for ECP5."""
        return ".bin" if self.family == "ice40" else ".bit"

    def platform_class(self) -> type[Any]:
        """The amaranth-boards platform class (imported on first use)."""
        module, cls = self.platform.split(":")
        return getattr(importlib.import_module(module), cls)


#: The ULX3S's programmer, as amaranth-boards runs it (``$OPENFPGALOADER -b ulx3s -m``).
_ULX3S_TOOL = "OPENFPGALOADER"
_ULX3S_TOOL_NAMES = ("openFPGALoader", "openfpgaloader-cli")

BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        Board("icebreaker", "amaranth_boards.icebreaker:ICEBreakerPlatform", "ice40"),
        Board(
            "ulx3s-85f",
            "amaranth_boards.ulx3s:ULX3S_85F_Platform",
            "ecp5",
            tool_env=_ULX3S_TOOL,
            tool_names=_ULX3S_TOOL_NAMES,
        ),
        Board(
            "ulx3s-25f",
            "amaranth_boards.ulx3s:ULX3S_25F_Platform",
            "ecp5",
            tool_env=_ULX3S_TOOL,
            tool_names=_ULX3S_TOOL_NAMES,
        ),
        Board("icestick", "amaranth_boards.icestick:ICEStickPlatform", "ice40"),
    )
}


def get_board(name: str) -> Board:
    """The board called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`BOARDS`.

    Returns
    -------
    Board

    Raises
    ------
    UsageError
        For an unknown name, listing the known boards.
    """
    try:
        return BOARDS[name]
    except KeyError:
        raise UsageError(f"unknown board {name!r}: choose one of {', '.join(BOARDS)}", "board") from None
