"""Formal verification of generated designs (Yosys SAT, no input enumeration)."""

from hdlgen.verify.formal import FormalResult, verify_formal

__all__ = ["FormalResult", "verify_formal"]
