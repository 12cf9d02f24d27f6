"""What every ``hdlgen`` command shares: errors, JSON output, progress."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hdlgen.errors import CheckError, ToolError
from hdlgen.ir.circuit import Circuit, load

if TYPE_CHECKING:
    from hdlgen.datasets import Dataset

__all__ = [
    "CheckError",
    "ToolError",
    "circuit_argument",
    "circuit_dataset",
    "emit_json",
    "load_circuit",
    "on_terminal",
    "one_line",
    "print_table",
    "progress_bar",
    "progress_stages",
    "stage_status",
]


def load_circuit(path: str) -> Circuit:
    """Load a circuit file; errors become one-line ``CircuitError`` messages."""
    return load(Path(path))


def circuit_dataset(file: str, circuit: Circuit, name: str, data_dir: str | None = None) -> Dataset:
    """The data set ``--dataset`` names, encoded for the circuit read from ``file``.

    A circuit that does not fit the data set (inputs, encoding, the set it was trained on) is named by
    its file, as every bad input is; errors about the data files name those files.
    """
    from hdlgen.datasets import dataset_for_circuit

    return dataset_for_circuit(circuit, name, data_dir, source=file)


circuit_argument = click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=str))


def emit_json(obj: dict[str, Any]) -> None:
    """Print one JSON object on stdout."""
    click.echo(json.dumps(obj, sort_keys=False))


def on_terminal() -> bool:
    """True when progress may be shown (stdout and stderr are terminals)."""
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int | None], None] | None]:
    """A ``progress(done, total)`` callback drawing a bar on stderr, or None off a terminal."""
    if not on_terminal():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        description,
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextlib.contextmanager
def stage_status(description: str) -> Iterator[Callable[[str], None] | None]:
    """An ``on_stage(stage)`` callback showing ``description: stage`` on stderr, with a spinner and a live clock.

    The clock counts the time spent in the current stage (a place and route
    can take minutes: the line shows that it is still going). None off a
    terminal (the command stays quiet); the line disappears when the block ends.
    """
    if not on_terminal():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as line:
        task = line.add_task(description, total=None)

        def update(stage: str) -> None:
            nonlocal task  # a new task restarts the clock
            line.remove_task(task)
            task = line.add_task(f"{description}: {stage}", total=None)

        yield update


@contextlib.contextmanager
def progress_stages(
    description: str,
    total: int | None = None,
    *,
    progress_label: str | None = None,
) -> Iterator[tuple[Callable[[int, int | None], None] | None, Callable[[str], None] | None]]:
    """``(progress, on_stage)`` callbacks for a command of several long steps, or ``(None, None)`` off a terminal.

    One rich line on stderr, ``description: stage``, with a spinner, a bar and
    the elapsed time: ``on_stage(stage)`` names the step that starts (its bar
    starts empty, of unknown length), ``progress(done, total)`` fills the bar
    of the current step. The line disappears when the block ends.

    With ``total``, the bar counts the whole command's parts (the modes of
    ``hdlgen power``) instead: it starts at ``0/total`` and a new step keeps
    the count reached, so it never shows an empty bar of unknown length. With
    ``progress_label``, ``progress`` also names the line so (``sim``: the
    steps before the first vector, then "simulating" with the vectors done).
    """
    if not on_terminal():
        yield None, None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def on_stage(stage: str) -> None:
            nonlocal task  # a new task: rich's update() cannot make a total unknown again
            old = next(t for t in bar.tasks if t.id == task)
            bar.remove_task(task)
            if total is None:
                task = bar.add_task(f"{description}: {stage}", total=None)
            else:  # add_task draws at once: it starts where the command's count is
                task = bar.add_task(f"{description}: {stage}", total=old.total, completed=int(old.completed))

        def progress(done: int, total: int | None) -> None:
            if progress_label is None:
                bar.update(task, completed=done, total=total)
            else:
                bar.update(task, description=progress_label, completed=done, total=total)

        yield progress, on_stage


def print_table(data: dict[str, Any], keys: list[str] | None = None) -> None:
    """Print ``key  value`` lines, keys padded to the longest (all keys, or ``keys`` in that order).

    A dict value prints as ``name: value`` pairs (``kinds  threshold: 5, relu: 2``), not as a Python literal.
    """
    keys = list(data) if keys is None else keys
    width = max((len(k) for k in keys), default=0)
    for key in keys:
        value = data[key]
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        click.echo(f"{key:<{width}}  {value}")


def one_line(message: object) -> str:
    """A message folded onto one line."""
    return " ".join(str(message).split())
