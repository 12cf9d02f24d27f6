"""Board support: a circuit behind the UART host link, on open FPGA boards.

Each board is one declarative entry of :data:`BOARDS`: its amaranth-boards
platform, the UART and LED resources, and how it is programmed. Adding any
amaranth-boards board with a clock and a UART is one more entry.
"""

from hdlgen.boards.registry import BOARDS, Board, get_board
from hdlgen.boards.top import BoardTop

__all__ = ["BOARDS", "Board", "BoardTop", "get_board"]
