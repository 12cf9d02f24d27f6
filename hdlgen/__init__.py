"""hdlgen: sparse threshold and ReLU circuits to low-energy FPGA hardware.

>>> import hdlgen
>>> c = hdlgen.Circuit("or2")
>>> x0, x1 = c.add_inputs("x", 2)
>>> c.add_gate("g", [x0, x1], [1, 1], threshold=1)
'g'
>>> c.add_output("g")
>>> c.evaluate([[0, 0], [1, 0]]).tolist()
[[0], [1]]
>>> hdlgen.energy(c)
1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hdlgen.errors import CircuitError, UsageError
from hdlgen.ir.circuit import Circuit, Gate, Input, load
from hdlgen.ir.reference import Reference

if TYPE_CHECKING:
    from hdlgen.analysis.exact_energy import Method

__all__ = ["Circuit", "CircuitError", "Gate", "Input", "Reference", "UsageError", "energy", "load"]
__version__ = "0.1.0"


def energy(circuit: Circuit, method: Method = "auto", time_limit: float | None = None) -> int:
    """The exact energy of ``circuit``: the most gates that fire on any input.

    See :func:`hdlgen.analysis.energy` for bounds when a time limit stops the
    solver; this function refuses to return an unproven figure.

    Raises
    ------
    UsageError
        When ``time_limit`` ran out before the energy was proven (give a longer
        ``time_limit``, or ``None``).
    """
    from hdlgen.analysis import energy as _energy

    result = _energy(circuit, method=method, time_limit=time_limit)
    if not result.exact:
        raise UsageError(
            f"energy not proven within time_limit={time_limit} s: between {result.bounds[0]} and {result.bounds[1]}"
        )
    return result.value
