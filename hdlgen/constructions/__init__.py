"""Circuits built from the theory (constructions C1-C5 of docs/theory.md) and named functions."""

from hdlgen.constructions.cd_tradeoff import cd_circuit
from hdlgen.constructions.energy1 import energy1_circuit
from hdlgen.constructions.functions import FUNCTIONS, and_, cd, mod, named_table, or_, parity
from hdlgen.constructions.mod_energy import mod_circuit
from hdlgen.constructions.relu_to_threshold import relu_to_threshold
from hdlgen.constructions.unt import unt_circuit

__all__ = [
    "FUNCTIONS",
    "and_",
    "cd",
    "cd_circuit",
    "energy1_circuit",
    "mod",
    "mod_circuit",
    "named_table",
    "or_",
    "parity",
    "relu_to_threshold",
    "unt_circuit",
]
