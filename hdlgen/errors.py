"""Errors shared by every layer (``CircuitError`` lives in :mod:`hdlgen.circuit`)."""

from __future__ import annotations

__all__ = ["CheckError", "ToolError"]


class ToolError(Exception):
    """A required external tool is missing or failed (CLI exit status 2)."""


class CheckError(Exception):
    """A check that was run failed: a mismatch, a violated bound (CLI exit status 1)."""
