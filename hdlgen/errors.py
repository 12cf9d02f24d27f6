"""The error classes of hdlgen, one per cause, shared by every layer.

The command line maps them to exit statuses: ``CircuitError`` and
``UsageError`` and ``ToolError`` exit 2, ``CheckError`` exits 1; anything
else is an internal error (exit 3), which is always a bug.
"""

from __future__ import annotations

__all__ = ["CheckError", "CircuitError", "ToolError", "UsageError"]


class CircuitError(ValueError):
    """A circuit, a circuit file or a set of input vectors is not valid.

    The message is one line that names the file (when there is one) and the
    offending gate, key or row.
    """


class UsageError(ValueError):
    """A parameter is not valid: an option value, a target, a board, a hyperparameter.

    Library layers name the parameter (``target``, ``fan_in``) in the message,
    never a command-line flag; the command line reports the message in one line
    and exits 2, adding the flag that sets ``parameter`` when there is one.

    Parameters
    ----------
    message : str
        One line naming the parameter and the value refused.
    parameter : str, optional
        The Python name of the refused parameter (``"clock_gating"``).

    Attributes
    ----------
    parameter : str or None
    """

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class ToolError(Exception):
    """A required external tool is missing or failed (CLI exit status 2)."""


class CheckError(Exception):
    """A check that was run failed: a mismatch, a violated bound (CLI exit status 1)."""
