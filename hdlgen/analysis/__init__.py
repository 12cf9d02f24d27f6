"""Analysis of circuits: resources, exact energy."""

from hdlgen.analysis.exact_energy import (
    EXHAUSTIVE_MAX_BITS,
    EnergyResult,
    energy,
    energy_exhaustive,
    energy_milp,
)
from hdlgen.analysis.metrics import info, resources

__all__ = [
    "EXHAUSTIVE_MAX_BITS",
    "EnergyResult",
    "energy",
    "energy_exhaustive",
    "energy_milp",
    "info",
    "resources",
]
