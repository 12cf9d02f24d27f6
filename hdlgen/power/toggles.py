"""Toggle counting: every net's bit changes per clock edge, from a VCD.

A zero-delay simulation (Verilator) changes a net at most once per time
step, so a VCD's value changes are exactly the net's toggles (no glitches:
what a timing simulation or the silicon adds on top is not counted, see
docs/hardware.md). Changes are binned by clock edge: a change at the rising
edge ``p`` or at the falling edge that follows it counts for edge ``p``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hdlgen.errors import ToolError

__all__ = ["edge_toggles"]


def _var_bits(name: str, rng: str | None, width: int) -> list[tuple[int, str]]:
    """(bit position in the VCD value, bit name) of a VCD variable."""
    if rng is None:
        return [(0, name)] if width == 1 else [(i, f"{name}[{i}]") for i in range(width)]
    m = re.match(r"\[(\d+)(?::(\d+))?\]", rng)
    if not m:
        return []
    hi = int(m.group(1))
    lo = int(m.group(2)) if m.group(2) is not None else hi
    step = -1 if hi >= lo else 1
    # The VCD value is written most significant first; position 0 is bit `lo`.
    return [(abs(b - lo), f"{name}[{b}]") for b in range(hi, lo + step, step)]


def edge_toggles(
    path: str | Path,
    scope: str,
    bucket_of: dict[str, int],
    n_buckets: int,
    period: int,
    first_edge: int,
    n_edges: int,
) -> np.ndarray:
    """Per clock edge, the toggles of the named nets, summed per bucket.

    Parameters
    ----------
    path : path
        VCD file.
    scope : str
        Dotted scope of the design in the VCD (e.g. ``tb.player.dut``).
    bucket_of : dict of str to int
        Net bit name (``name`` or ``name[i]``, as in the netlist) to its bucket.
    n_buckets : int
    period, first_edge : int
        Clock period and time of the first rising edge, in the VCD's time unit.
    n_edges : int
        Rising edges to keep (later changes are dropped).

    Returns
    -------
    numpy.ndarray of int64, shape (n_edges, n_buckets)
        Toggles per edge and bucket. Values dumped at time 0 are initial
        values, not toggles.

    Raises
    ------
    ToolError
        When the file has no such scope or none of the nets.
    """
    counts = np.zeros((n_edges, n_buckets), dtype=np.int64)
    want = scope.split(".")
    stack: list[str] = []
    # id -> list of (mask, bucket): the bits of the variable that are nets, grouped by bucket.
    masks: dict[str, dict[int, int]] = {}
    seen_bits: set[str] = set()
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode(errors="replace").strip()
            if line.startswith("$scope"):
                stack.append(line.split()[2])
            elif line.startswith("$upscope"):
                stack.pop()
            elif line.startswith("$var") and stack == want:
                parts = line.split()
                width, ident, name = int(parts[2]), parts[3], parts[4].lstrip("\\")
                rng = parts[5] if len(parts) > 6 and parts[5].startswith("[") else None
                for pos, bit in _var_bits(name, rng, width):
                    if width == 1 and bit not in bucket_of:
                        bit = name  # a one-bit vector ``[0:0]`` is the plain name in the netlist
                    b = bucket_of.get(bit)
                    if b is not None and bit not in seen_bits:
                        seen_bits.add(bit)
                        m = masks.setdefault(ident, {})
                        m[b] = m.get(b, 0) | (1 << pos)
            elif line.startswith("$enddefinitions"):
                break
        if not masks:
            raise ToolError(f"{path}: none of the netlist's nets are in scope {scope!r} of the VCD")
        groups = {k: tuple((mask, b) for b, mask in v.items()) for k, v in masks.items()}
        last: dict[str, int] = {}
        edge = -1
        for raw in f:
            c = raw[0]
            if c == 35:  # '#'
                t = int(raw[1:])
                edge = (t - first_edge) // period if t > 0 else -1
                if edge >= n_edges:
                    break
                continue
            if c == 98 or c == 66:  # 'b' / 'B'
                value, ident = raw[1:].split()
                v = int(value.replace(b"x", b"0").replace(b"z", b"0"), 2)
                key = ident.decode()
            elif c in (48, 49, 120, 122):  # '0' '1' 'x' 'z'
                v = 1 if c == 49 else 0
                key = raw[1:].strip().decode()
            else:
                continue
            g = groups.get(key)
            if g is None:
                continue
            x = last.get(key, 0) ^ v
            last[key] = v
            if edge < 0 or not x:
                continue
            row = counts[edge]
            for mask, b in g:
                row[b] += (x & mask).bit_count() if mask != 1 else x & 1
    return counts
