"""Saying where a command wrote its files: one line on stderr each, unless ``hdlgen --quiet``.

Announcements go to stderr so that stdout keeps only what the command prints
(CSV, tables, or the single JSON object of ``--json``).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

__all__ = ["announce", "is_quiet"]


def is_quiet() -> bool:
    """True when the user asked for silence (``hdlgen --quiet`` or ``HDLGEN_QUIET=1``)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        obj = ctx.find_root().obj
        if isinstance(obj, dict) and obj.get("quiet"):
            return True
    return os.environ.get("HDLGEN_QUIET", "") not in ("", "0")


def announce(path: str | os.PathLike[str], what: str | None = None) -> None:
    """Print ``hdlgen: wrote PATH`` (or ``hdlgen: wrote WHAT to PATH``) on stderr, unless quiet.

    Parameters
    ----------
    path
        The file or directory written, as the user named it (relative paths stay relative).
    what
        Optional short description of what is at ``path`` (e.g. ``"bitstream"``).
    """
    if is_quiet():
        return
    where = os.fspath(Path(path)) if not isinstance(path, str) else path
    click.echo(f"hdlgen: wrote {what} to {where}" if what else f"hdlgen: wrote {where}", err=True)
