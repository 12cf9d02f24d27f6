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
from typing import Any

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


_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def _popcount(x: np.ndarray) -> np.ndarray:
    """Set bits of each uint64."""
    if hasattr(np, "bitwise_count"):  # NumPy 2
        return np.bitwise_count(x).astype(np.int64)
    return _POPCOUNT8[np.ascontiguousarray(x, dtype=np.uint64).view(np.uint8)].reshape(-1, 8).sum(axis=1)


def _code(ident: bytes) -> int:
    """A VCD identifier as an integer (its bytes, little-endian)."""
    return int.from_bytes(ident, "little")


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

    The value changes are parsed with NumPy over the whole file at once
    (13.8 million lines of a digits network's 10,000 inferences in a few
    seconds).

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
        When the file has no such scope or none of the nets, or a traced
        net is wider than 64 bits.
    """
    data = Path(path).read_bytes()
    end_defs = data.find(b"$enddefinitions")
    if end_defs < 0:
        raise ToolError(f"{path}: not a VCD file (no $enddefinitions)")
    want = scope.split(".")
    stack: list[str] = []
    masks: dict[bytes, dict[int, int]] = {}
    seen_bits: set[str] = set()
    for raw in data[:end_defs].decode(errors="replace").splitlines():
        line = raw.strip()
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
                    if pos >= 64:
                        raise ToolError(f"{path}: net {bit} is bit {pos} of a variable wider than 64 bits")
                    seen_bits.add(bit)
                    m = masks.setdefault(ident.encode(), {})
                    m[b] = m.get(b, 0) | (1 << pos)
    if not masks:
        raise ToolError(f"{path}: none of the netlist's nets are in scope {scope!r} of the VCD")
    counts = np.zeros((n_edges, n_buckets), dtype=np.int64)
    known = sorted((_code(k), k) for k in masks)
    known_codes = np.array([c for c, _ in known], dtype=np.int64)
    max_len = max(len(k) for k in masks)
    groups = [tuple(masks[k].items()) for _, k in known]
    n_groups = np.array([len(g) for g in groups], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(n_groups)[:-1]])
    g_bucket = np.array([b for g in groups for b, _ in g], dtype=np.int64)
    g_mask = np.array([m for g in groups for _, m in g], dtype=np.uint64)
    state = {"last": np.zeros(len(known), dtype=np.uint64), "time": -1}
    pos = data.find(b"\n", end_defs) + 1
    # Chunks of whole lines keep the memory bounded (a digits run's VCD is 100-200 MB).
    while pos < len(data):
        stop = data.find(b"\n", min(pos + _CHUNK, len(data)) - 1)
        stop = len(data) if stop < 0 else stop + 1
        body = data[pos:stop] if data[stop - 1 : stop] == b"\n" else data[pos:stop] + b"\n"
        pos = stop
        if _count_chunk(
            body, state, known_codes, max_len, offset, n_groups, g_bucket, g_mask, counts, period, first_edge, n_edges
        ):
            break
    return counts


#: Bytes of VCD text parsed at once.
_CHUNK = 1 << 25


def _count_chunk(
    body: bytes,
    state: dict[str, Any],
    known_codes: np.ndarray,
    max_len: int,
    offset: np.ndarray,
    n_groups: np.ndarray,
    g_bucket: np.ndarray,
    g_mask: np.ndarray,
    counts: np.ndarray,
    period: int,
    first_edge: int,
    n_edges: int,
) -> bool:
    """Add one chunk's toggles (whole lines) to ``counts``; True once past the last edge."""
    n_buckets = counts.shape[1]
    arr = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    starts = np.concatenate([[0], ends[:-1] + 1])
    first = arr[starts]
    # The time of every line: the last "#t" before it (or the previous chunk's).
    is_ts = first == ord("#")
    ts_lines = np.flatnonzero(is_ts)
    times = np.array([state["time"], *(int(body[starts[i] + 1 : ends[i]]) for i in ts_lines)], dtype=np.int64)
    state["time"] = int(times[-1])
    line_ts = np.cumsum(is_ts)
    is_vec = (first == ord("b")) | (first == ord("B"))
    is_sc = (first == ord("0")) | (first == ord("1")) | (first == ord("x")) | (first == ord("z"))
    sel = np.flatnonzero(is_vec | is_sc)
    vec = is_vec[sel]
    ls, le = starts[sel], ends[sel]
    # Identifier: after the value's space (vectors) or the value character (scalars).
    spaces = np.flatnonzero(arr == 32)
    sp = np.where(vec, spaces[np.minimum(np.searchsorted(spaces, ls), spaces.size - 1)] if spaces.size else 0, ls)
    id_start = np.where(vec, sp + 1, ls + 1)
    id_len = le - id_start
    code = np.zeros(sel.size, dtype=np.int64)
    for j in range(max_len):
        ok = id_len > j
        code += np.where(ok, arr[np.minimum(id_start + j, arr.size - 1)].astype(np.int64), 0) << (8 * j)
    code = np.where(id_len > max_len, -1, code)
    var = np.minimum(np.searchsorted(known_codes, code), known_codes.size - 1)
    keep = known_codes[var] == code
    sel, vec, ls, sp, var = sel[keep], vec[keep], ls[keep], sp[keep], var[keep]
    # Values: scalars from their character, vectors from their bits ('1' set; 0, x, z clear).
    value = np.where(vec, 0, (first[sel] == ord("1")).astype(np.int64)).astype(np.uint64)
    vlen = np.where(vec, sp - ls - 1, 0)
    by_len = np.argsort(-vlen, kind="stable")
    sorted_len = vlen[by_len]
    for k in range(int(vlen.max()) if vlen.size else 0):
        rows = by_len[: int(np.searchsorted(-sorted_len, -k, side="left"))]  # the lines with more than k bits
        bit = arr[sp[rows] - 1 - k] == ord("1")
        value[rows] |= bit.astype(np.uint64) << np.uint64(k)
    # Each variable's previous value: sort stably by variable, shift within it; the first from the last chunk.
    order = np.argsort(var, kind="stable")
    v_sorted, val_sorted = var[order], value[order]
    if v_sorted.size == 0:
        return bool(state["time"] > 0 and (state["time"] - first_edge) // period >= n_edges)
    prev = np.empty_like(val_sorted)
    prev[1:] = val_sorted[:-1]
    new_var = np.ones(v_sorted.size, dtype=bool)
    new_var[1:] = v_sorted[1:] != v_sorted[:-1]
    prev[new_var] = state["last"][v_sorted[new_var]]
    last_of_var = np.ones(v_sorted.size, dtype=bool)
    last_of_var[:-1] = v_sorted[1:] != v_sorted[:-1]
    state["last"][v_sorted[last_of_var]] = val_sorted[last_of_var]
    x = prev ^ val_sorted
    t = times[line_ts[sel[order]]]
    edge = np.where(t > 0, (t - first_edge) // period, -1)
    good = (edge >= 0) & (edge < n_edges) & (x != 0)
    x, v_sorted, edge = x[good], v_sorted[good], edge[good]
    # One entry per (line, bucket of its variable): most variables have one bucket.
    reps = n_groups[v_sorted]
    line = np.repeat(np.arange(x.size), reps)
    within = np.arange(line.size) - np.repeat(np.cumsum(reps) - reps, reps)
    entry = offset[v_sorted[line]] + within
    pc = _popcount(x[line] & g_mask[entry])
    flat = edge[line] * n_buckets + g_bucket[entry]
    counts += np.bincount(flat, weights=pc, minlength=n_edges * n_buckets).astype(np.int64).reshape(n_edges, n_buckets)
    return bool(state["time"] > 0 and (state["time"] - first_edge) // period >= n_edges)
