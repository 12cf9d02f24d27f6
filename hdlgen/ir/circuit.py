"""The circuit model: inputs, threshold and relu gates, outputs; validation and JSON.

A :class:`Circuit` is the one intermediate representation of hdlgen. Every other
stage (reference model, analysis, constructions, HDL, simulation, synthesis)
reads a circuit and never writes back into it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, SupportsInt, TypeGuard

from hdlgen.errors import CircuitError
from hdlgen.ir.names import sanitize
from hdlgen.ir.ranges import ValueRange, propagate_ranges
from hdlgen.ir.reference import Reference

__all__ = [
    "FORMAT",
    "MAX_BITS",
    "VERSION",
    "Circuit",
    "CircuitError",
    "Gate",
    "Input",
    "atomic_path",
    "check_name",
    "load",
    "make_folder",
    "read_text",
    "write_atomic",
]

FORMAT = "hdlgen-circuit"
VERSION = 1
#: Widest multi-bit input and relu output hdlgen accepts.
MAX_BITS = 32

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOP_KEYS = ("format", "version", "name", "inputs", "gates", "outputs", "meta")
_GATE_KEYS = ("name", "kind", "inputs", "weights", "threshold", "bits", "meta")
GateKind = Literal["threshold", "relu"]


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def check_name(name: object, where: str) -> str:
    """``name`` when it is a valid signal name (``[A-Za-z_][A-Za-z0-9_]*``).

    Parameters
    ----------
    name : object
        The name to check.
    where : str
        What it names, for the message (``"top"``, ``"gate 'g1'"``).

    Returns
    -------
    str
        ``name``.

    Raises
    ------
    CircuitError
        When ``name`` is not a string or not a valid signal name.
    """
    if not isinstance(name, str):
        raise CircuitError(f"{where}: name must be a string, not {name!r}")
    if not _NAME_RE.match(name):
        raise CircuitError(f"{where}: name {name!r} must match [A-Za-z_][A-Za-z0-9_]* (it becomes an HDL signal name)")
    return name


def _check_keys(
    mapping: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str], prefix: str, suffix: str
) -> None:
    """Unknown keys, then missing ones, as one-line errors (typos don't pass silently)."""
    for key in mapping:
        if key not in allowed:
            raise CircuitError(f"{prefix}unknown key {key!r}{suffix}")
    for key in required:
        if key not in mapping:
            raise CircuitError(f"{prefix}missing key {key!r}{suffix}")


def _check_bits(bits: object, where: str) -> int:
    if not _is_int(bits) or not 1 <= bits <= MAX_BITS:
        raise CircuitError(f"{where}: bits must be an integer from 1 to {MAX_BITS}, not {bits!r}")
    return bits


@dataclass(frozen=True)
class Input:
    """A circuit input: 1 bit, or an unsigned value in ``[0, 2**bits)``.

    Parameters
    ----------
    name : str
        Signal name.
    bits : int
        Width in bits, 1 to 32.
    """

    name: str
    bits: int = 1

    @property
    def max_value(self) -> int:
        """Largest value the input can take."""
        return (1 << self.bits) - 1

    def to_json(self) -> str | dict[str, Any]:
        """The input as it appears in the ``inputs`` list of a circuit file."""
        return self.name if self.bits == 1 else {"name": self.name, "bits": self.bits}


@dataclass(frozen=True)
class Gate:
    """A threshold or relu gate.

    Parameters
    ----------
    name : str
        Signal name, unique in the circuit.
    kind : {"threshold", "relu"}
        ``threshold``: ``1 if S >= threshold else 0``;
        ``relu``: ``min(max(0, S - threshold), 2**bits - 1)``, where
        ``S = sum(w_i * value(input_i))``.
    inputs : tuple of str
        Names of circuit inputs or other gates.
    weights : tuple of int
        One integer weight per input.
    threshold : int
        The threshold ``t``.
    bits : int
        Output width: 1 for threshold gates, 1 to 32 for relu gates.
    meta : dict or None
        Free-form data kept on round trip.
    """

    name: str
    kind: GateKind
    inputs: tuple[str, ...]
    weights: tuple[int, ...]
    threshold: int
    bits: int = 1
    meta: dict[str, Any] | None = field(default=None, compare=True, hash=False)

    @property
    def max_value(self) -> int:
        """Largest value the gate can output."""
        return (1 << self.bits) - 1

    def to_dict(self) -> dict[str, Any]:
        """The gate as a JSON-ready dict in the circuit file's key order."""
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "inputs": list(self.inputs),
            "weights": list(self.weights),
            "threshold": self.threshold,
        }
        if self.kind == "relu":
            d["bits"] = self.bits
        if self.meta is not None:
            d["meta"] = self.meta
        return d


def _make_gate(
    name: object,
    kind: object,
    inputs: object,
    weights: object,
    threshold: object,
    bits: object,
    meta: object,
    where: str,
) -> Gate:
    name = check_name(name, where)
    where = f"{where} '{name}'" if not where.endswith(f"'{name}'") else where
    gate_kind: GateKind
    if kind == "threshold":
        gate_kind = "threshold"
    elif kind == "relu":
        gate_kind = "relu"
    else:
        raise CircuitError(f"{where}: kind must be 'threshold' or 'relu', not {kind!r}")
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
        raise CircuitError(f"{where}: inputs must be a list of names, not {inputs!r}")
    inputs = tuple(inputs)
    for i, src in enumerate(inputs):
        if not isinstance(src, str):
            raise CircuitError(f"{where}: inputs[{i}] must be a name, not {src!r}")
    seen: set[str] = set()
    for src in inputs:
        if src in seen:
            raise CircuitError(f"{where}: input {src!r} appears more than once")
        seen.add(src)
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Iterable):
        raise CircuitError(f"{where}: weights must be a list of integers, not {weights!r}")
    weights = tuple(int(w) if _is_numpy_int(w) else w for w in weights)
    for i, w in enumerate(weights):
        if not _is_int(w):
            raise CircuitError(f"{where}: weights[{i}] must be an integer, not {w!r}")
    if len(weights) != len(inputs):
        raise CircuitError(f"{where}: {len(weights)} weights for {len(inputs)} inputs (they must have the same length)")
    if _is_numpy_int(threshold):
        threshold = int(threshold)
    if not _is_int(threshold):
        raise CircuitError(f"{where}: threshold must be an integer, not {threshold!r}")
    if gate_kind == "relu":
        if bits is None:
            raise CircuitError(f"{where}: a relu gate needs bits (its output width, 1 to {MAX_BITS})")
        bits = _check_bits(bits, where)
    else:
        if bits is not None and bits != 1:
            raise CircuitError(f"{where}: bits is for relu gates; a threshold gate has 1 output bit")
        bits = 1
    if meta is not None and not isinstance(meta, dict):
        raise CircuitError(f"{where}: meta must be an object, not {meta!r}")
    return Gate(name, gate_kind, inputs, weights, threshold, bits, meta)


def _is_numpy_int(value: object) -> TypeGuard[SupportsInt]:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iu"


class Circuit:
    """A threshold or relu circuit: a DAG of gates over named inputs.

    Build one by hand, from a dict or file (:meth:`from_dict`, :func:`load`),
    or from NumPy layers (:meth:`add_layer`)::

        c = Circuit("or2")
        x0, x1 = c.add_inputs("x", 2)
        c.add_gate("g", [x0, x1], [1, 1], threshold=1)
        c.add_output("g")

    Parameters
    ----------
    name : str
        The circuit's name (it becomes the Verilog module name).
    meta : dict, optional
        Free-form data kept on round trip.

    Attributes
    ----------
    inputs : list of Input
        Circuit inputs, in order (the order of ``i_data`` in hardware).
    gates : list of Gate
        Gates in the order they were added or listed.
    outputs : list of str
        Names of the gates (or inputs) whose values leave the circuit.
    """

    def __init__(self, name: str = "circuit", meta: dict[str, Any] | None = None) -> None:
        self.name = check_name(name, "circuit")
        self.meta: dict[str, Any] | None = meta
        self.inputs: list[Input] = []
        self.gates: list[Gate] = []
        self.outputs: list[str] = []
        self._names: set[str] = set()

    # ----------------------------------------------------------------- build
    def _claim(self, name: str, where: str) -> None:
        if name in self._names:
            raise CircuitError(f"{where}: duplicate name {name!r}")
        self._names.add(name)
        self._invalidate()

    def add_input(self, name: str, bits: int = 1) -> str:
        """Add an input of ``bits`` bits and return its name."""
        return self._add_input(name, bits, f"input {name!r}" if isinstance(name, str) else "input")

    def _add_input(self, name: object, bits: object, where: str) -> str:
        checked = check_name(name, where)
        width = _check_bits(bits, f"input '{checked}'")
        self._claim(checked, f"input '{checked}'")
        self.inputs.append(Input(checked, width))
        return checked

    def add_inputs(self, prefix: str, count: int, bits: int = 1) -> list[str]:
        """Add inputs ``prefix0 .. prefix{count-1}`` and return their names."""
        return [self.add_input(f"{prefix}{i}", bits) for i in range(count)]

    def add_gate(
        self,
        name: str,
        inputs: Sequence[str],
        weights: Sequence[int],
        threshold: int,
        kind: GateKind = "threshold",
        bits: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> str:
        """Add a gate and return its name.

        Inputs may name gates added later; :meth:`validate` checks that
        every name exists and that the graph is acyclic.
        """
        gate = _make_gate(name, kind, inputs, weights, threshold, bits, meta, "gate")
        self._claim(gate.name, f"gate '{gate.name}'")
        self.gates.append(gate)
        return gate.name

    def add_layer(
        self,
        prefix: str,
        inputs: Sequence[str],
        weights: Any,
        thresholds: Any,
        kind: GateKind = "threshold",
        bits: int | None = None,
    ) -> list[str]:
        """Add a layer of gates from a weight matrix and return their names.

        Parameters
        ----------
        prefix : str
            Gate ``j`` is named ``f"{prefix}{j}"``.
        inputs : sequence of str
            Names feeding the layer (rows of ``weights``).
        weights : array_like of int, shape (len(inputs), units)
            Integer weights; zero weights make no connection.
        thresholds : array_like of int, shape (units,)
            One threshold per gate.
        kind, bits
            As in :meth:`add_gate`; ``bits`` applies to every gate of the layer.
        """
        import numpy as np

        w = np.asarray(weights)
        t = np.asarray(thresholds).reshape(-1)
        if w.ndim != 2 or w.shape[0] != len(inputs):
            raise CircuitError(f"layer '{prefix}': weights must have shape ({len(inputs)}, units), not {w.shape}")
        if t.shape[0] != w.shape[1]:
            raise CircuitError(f"layer '{prefix}': {t.shape[0]} thresholds for {w.shape[1]} units")
        for name, arr in (("weights", w), ("thresholds", t)):
            if arr.dtype.kind not in "iu":
                if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                    raise CircuitError(f"layer '{prefix}': {name} must be integers")
        names = []
        for j in range(w.shape[1]):
            col = w[:, j]
            nz = np.flatnonzero(col)
            names.append(
                self.add_gate(
                    f"{prefix}{j}",
                    [inputs[int(i)] for i in nz],
                    [int(col[i]) for i in nz],
                    int(t[j]),
                    kind=kind,
                    bits=bits,
                )
            )
        return names

    def add_output(self, *names: str) -> None:
        """Append names (of gates or inputs) to the circuit's outputs."""
        for name in names:
            if not isinstance(name, str):
                raise CircuitError(f"outputs: {name!r} is not a name")
            self.outputs.append(name)
        self._invalidate()

    def _invalidate(self) -> None:
        for attr in ("_order", "_levels", "_reference", "value_ranges"):
            self.__dict__.pop(attr, None)

    # -------------------------------------------------------------- validate
    def validate(self) -> Circuit:
        """Check references, acyclicity, outputs and sum ranges; return self.

        Raises
        ------
        CircuitError
            With a one-line message naming the offending gate or key.
        """
        _ = self._order
        if not self.outputs:
            raise CircuitError("outputs: a circuit needs at least one output")
        for i, name in enumerate(self.outputs):
            if name not in self._names:
                raise CircuitError(f"outputs[{i}]: unknown name {name!r}")
        if not self.inputs and not self.gates:
            raise CircuitError("circuit is empty: no inputs and no gates")
        _ = self.value_ranges  # raises when a sum could leave the int64 range
        return self

    @cached_property
    def _order(self) -> list[Gate]:
        """Gates in a topological order, stable with respect to listing order."""
        by_name = {g.name: g for g in self.gates}
        input_names = {i.name for i in self.inputs}
        pending: dict[str, int] = {}
        users: dict[str, list[str]] = {g.name: [] for g in self.gates}
        for g in self.gates:
            count = 0
            for src in g.inputs:
                if src in by_name:
                    count += 1
                    users[src].append(g.name)
                elif src not in input_names:
                    raise CircuitError(f"gate '{g.name}': unknown input {src!r}")
            pending[g.name] = count
        import heapq

        position = {g.name: k for k, g in enumerate(self.gates)}
        ready = [position[n] for n, c in pending.items() if c == 0]
        heapq.heapify(ready)
        order: list[Gate] = []
        while ready:
            g = self.gates[heapq.heappop(ready)]
            order.append(g)
            for user in users[g.name]:
                pending[user] -= 1
                if pending[user] == 0:
                    heapq.heappush(ready, position[user])
        if len(order) != len(self.gates):
            cycle = self._find_cycle(pending, by_name)
            raise CircuitError(f"gate '{cycle[0]}': cycle {' -> '.join(cycle)}")
        return order

    @staticmethod
    def _find_cycle(pending: dict[str, int], by_name: dict[str, Gate]) -> list[str]:
        stuck = {n for n, c in pending.items() if c > 0}
        start = min(stuck, key=lambda n: list(by_name).index(n))
        path, seen = [start], {start: 0}
        node = start
        while True:
            node = next(s for s in by_name[node].inputs if s in stuck)
            if node in seen:
                return [*path[seen[node] :], node]
            seen[node] = len(path)
            path.append(node)

    @cached_property
    def _levels(self) -> dict[str, int]:
        levels: dict[str, int] = {i.name: 0 for i in self.inputs}
        for g in self._order:
            # Circuit inputs are at level 0 in the same dict: a gate on inputs only is at level 1.
            levels[g.name] = 1 + max((levels[s] for s in g.inputs), default=0)
        return levels

    # ------------------------------------------------------------ properties
    @property
    def topological_gates(self) -> list[Gate]:
        """Gates in a topological order (inputs before the gates that read them)."""
        return list(self._order)

    def level(self, name: str) -> int:
        """Level of a gate (1 + highest level among its gate inputs) or input (0)."""
        return self._levels[name]

    @property
    def levels(self) -> list[list[Gate]]:
        """Gates grouped by level: ``levels[0]`` holds the level-1 gates."""
        out: list[list[Gate]] = [[] for _ in range(self.depth)]
        for g in self._order:
            out[self._levels[g.name] - 1].append(g)
        return out

    @property
    def size(self) -> int:
        """Number of gates."""
        return len(self.gates)

    @property
    def depth(self) -> int:
        """Level of the deepest gate (0 when there are no gates)."""
        return max((self._levels[g.name] for g in self.gates), default=0)

    @property
    def weight(self) -> int:
        """Largest absolute edge weight (thresholds not included; 0 with no edges)."""
        return max((abs(w) for g in self.gates for w in g.weights), default=0)

    @property
    def max_threshold(self) -> int:
        """Largest absolute threshold (0 with no gates)."""
        return max((abs(g.threshold) for g in self.gates), default=0)

    @property
    def n_inputs(self) -> int:
        """Number of inputs."""
        return len(self.inputs)

    @property
    def input_bits(self) -> int:
        """Total number of input bits."""
        return sum(i.bits for i in self.inputs)

    @property
    def output_bits(self) -> int:
        """Total number of output bits (the width of ``o_data``)."""
        return sum(self.signal_bits(o) for o in self.outputs)

    @property
    def n_connections(self) -> int:
        """Number of edges (nonzero weights)."""
        return sum(1 for g in self.gates for w in g.weights if w != 0)

    @property
    def is_threshold(self) -> bool:
        """True when every gate is a threshold gate."""
        return all(g.kind == "threshold" for g in self.gates)

    def signal_bits(self, name: str) -> int:
        """Width of a named input or gate output."""
        for i in self.inputs:
            if i.name == name:
                return i.bits
        return self.gate(name).bits

    def gate(self, name: str) -> Gate:
        """The gate called ``name``."""
        for g in self.gates:
            if g.name == name:
                return g
        raise CircuitError(f"no gate named {name!r}")

    def cone(self, output: str) -> Circuit:
        """The sub-circuit that computes one output: every input, and the gates it depends on."""
        self.validate()
        if output not in self._names:
            raise CircuitError(f"no output or signal named {output!r}")
        by_name = {g.name: g for g in self.gates}
        keep: set[str] = set()
        stack = [output]
        while stack:
            name = stack.pop()
            if name in by_name and name not in keep:
                keep.add(name)
                stack.extend(by_name[name].inputs)
        sub = Circuit(self.name, meta=self.meta)
        for inp in self.inputs:
            sub.add_input(inp.name, inp.bits)
        for g in self.gates:
            if g.name in keep:
                sub._claim(g.name, f"gate '{g.name}'")
                sub.gates.append(g)
        sub.add_output(output)
        return sub.validate()

    # ------------------------------------------------------------- reference
    def evaluate(self, X: Any) -> Any:
        """Output values for a batch of input vectors.

        Parameters
        ----------
        X : array_like of int, shape (batch, n_inputs)
            Column ``j`` holds input ``j``, in ``[0, 2**bits)``.

        Returns
        -------
        numpy.ndarray of int64, shape (batch, n_outputs)
        """
        return self._reference.evaluate(X)

    def activity(self, X: Any) -> Any:
        """Number of gates with a nonzero output, per input vector: shape (batch,)."""
        return self._reference.activity(X)

    @cached_property
    def _reference(self) -> Reference:
        return Reference(self)

    @cached_property
    def value_ranges(self) -> dict[str, ValueRange]:
        """Sound interval bounds of every gate's sum and value, by gate name.

        Raises
        ------
        CircuitError
            When a sum or threshold could exceed ``2**62`` (see
            :func:`hdlgen.ir.ranges.propagate_ranges`).
        """
        return propagate_ranges(self.inputs, self.topological_gates)

    # ------------------------------------------------------------------ JSON
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str | None = None) -> Circuit:
        """Build and validate a circuit from a dict in the ``hdlgen-circuit`` format.

        Parameters
        ----------
        data : mapping
            The parsed JSON object.
        name : str, optional
            Name to use when ``data`` has none (default ``"circuit"``).
        """
        if not isinstance(data, Mapping):
            raise CircuitError(f"top level must be a JSON object, not {type(data).__name__}")
        _check_keys(data, _TOP_KEYS, ("format", "version", "inputs", "gates", "outputs"), "", " at the top level")
        if data["format"] != FORMAT:
            raise CircuitError(f"format must be {FORMAT!r}, not {data['format']!r}")
        if not _is_int(data["version"]) or data["version"] != VERSION:
            raise CircuitError(f"version must be {VERSION}, not {data['version']!r}")
        meta = data.get("meta")
        if meta is not None and not isinstance(meta, dict):
            raise CircuitError(f"meta must be an object, not {meta!r}")
        cname = data.get("name", name if name is not None else "circuit")
        circuit = cls(check_name(cname, "name"), meta=meta)
        if not isinstance(data["inputs"], list):
            raise CircuitError("inputs must be a list")
        for k, item in enumerate(data["inputs"]):
            where = f"inputs[{k}]"
            if isinstance(item, str):
                circuit._add_input(item, 1, where)
            elif isinstance(item, dict):
                extra = set(item) - {"name", "bits"}
                if extra:
                    raise CircuitError(f"{where}: unknown key {sorted(extra)[0]!r}")
                if "name" not in item or "bits" not in item:
                    missing = "name" if "name" not in item else "bits"
                    raise CircuitError(f"{where}: missing key {missing!r}")
                circuit._add_input(item["name"], item["bits"], where)
            else:
                raise CircuitError(f'{where}: must be a name or {{"name", "bits"}}, not {item!r}')
        if not isinstance(data["gates"], list):
            raise CircuitError("gates must be a list")
        for k, item in enumerate(data["gates"]):
            where = f"gates[{k}]"
            if not isinstance(item, dict):
                raise CircuitError(f"{where}: must be an object, not {item!r}")
            if isinstance(item.get("name"), str):
                where = f"gate '{item['name']}'"
            _check_keys(item, _GATE_KEYS, ("name", "kind", "inputs", "weights", "threshold"), f"{where}: ", "")
            gate = _make_gate(
                item["name"],
                item["kind"],
                item["inputs"],
                item["weights"],
                item["threshold"],
                item.get("bits"),
                item.get("meta"),
                where,
            )
            circuit._claim(gate.name, where)
            circuit.gates.append(gate)
        if not isinstance(data["outputs"], list):
            raise CircuitError("outputs must be a list of names")
        for k, out in enumerate(data["outputs"]):
            if not isinstance(out, str):
                raise CircuitError(f"outputs[{k}]: must be a name, not {out!r}")
        circuit.outputs = list(data["outputs"])
        return circuit.validate()

    def to_dict(self) -> dict[str, Any]:
        """The circuit as a JSON-ready dict (``from_dict`` inverts it)."""
        d: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "inputs": [i.to_json() for i in self.inputs],
            "gates": [g.to_dict() for g in self.gates],
            "outputs": list(self.outputs),
        }
        if self.meta is not None:
            d["meta"] = self.meta
        return d

    def to_json(self) -> str:
        """The circuit file's text: deterministic, one gate per line."""
        d = self.to_dict()

        def dump(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

        lines = ["{"]
        items = [(k, v) for k, v in d.items() if k != "gates"]
        body = []
        for key, value in items:
            if key == "outputs":
                gates = ",\n".join(f"    {dump(g)}" for g in d["gates"])
                body.append(f'  "gates": [\n{gates}\n  ]' if gates else '  "gates": []')
            body.append(f"  {json.dumps(key)}: {dump(value)}")
        lines.append(",\n".join(body))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Validate and write the circuit to ``path`` atomically."""
        self.validate()
        write_atomic(path, self.to_json())

    # ----------------------------------------------------------------- dunder
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, so unhashable (like dict)

    def __repr__(self) -> str:
        return f"Circuit({self.name!r}, inputs={self.n_inputs}, gates={self.size}, outputs={len(self.outputs)})"


def _default_name(path: Path) -> str:
    return sanitize(path.stem, "circuit")


def load(path: str | os.PathLike[str]) -> Circuit:
    """Load and validate a circuit file.

    Parameters
    ----------
    path : path-like
        An ``hdlgen-circuit`` JSON file.

    Raises
    ------
    CircuitError
        One line naming the file and the offending gate or key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CircuitError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CircuitError(f"{path}: is a directory, not a circuit file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CircuitError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CircuitError(f"{path}: line {exc.lineno} column {exc.colno}: malformed JSON: {exc.msg}") from None
    try:
        return Circuit.from_dict(data, name=_default_name(path))
    except CircuitError as exc:
        raise CircuitError(f"{path}: {exc}") from None


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The UTF-8 text of an input file the user named.

    Parameters
    ----------
    path : path-like
    what : str
        What the file should be, for the message (``"a netlist"``).

    Raises
    ------
    CircuitError
        One line naming ``path``: no such file, a directory, not UTF-8 (with the byte offset), or unreadable.
    """
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CircuitError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CircuitError(f"{path}: is a directory, not {what}") from None
    except UnicodeDecodeError as exc:
        raise CircuitError(f"{path}: not UTF-8 text (byte {exc.start}), not {what}") from None
    except OSError as exc:
        raise CircuitError(f"{path}: cannot read: {exc.strerror}") from None


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    A reader never sees a half-written file, and a failure leaves no file.

    Raises
    ------
    CircuitError
        One line naming ``path`` when it cannot be written (missing folder, no permission, a directory).
    """
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file beside ``path`` to write, renamed to ``path`` when the block ends without error.

    For writers that take a file name (matplotlib's ``savefig``, ``shutil.copyfile``): a reader never
    sees half a file, and a failure leaves no file (the temporary one is removed). Writers that infer a
    format from the name must be given it (``savefig(tmp, format="png")``): the temporary name ends in
    ``.tmp``.

    Raises
    ------
    CircuitError
        One line naming ``path`` when it cannot be written (missing folder, no permission, a directory).
    """
    path = Path(path)
    if path.is_dir():
        raise CircuitError(f"{path}: is a directory")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:
        raise CircuitError(f"{path}: cannot write: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CircuitError(f"{path}: cannot write: {exc.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_folder(path: str | os.PathLike[str]) -> Path:
    """Create the folder ``path`` and its parents, if missing (an output folder the user named).

    Raises
    ------
    CircuitError
        One line naming ``path`` when it is a file or cannot be created (no permission, a file on the way).
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CircuitError(f"{path}: is a file, not a folder") from None
    except OSError as exc:
        raise CircuitError(f"{path}: cannot create the folder: {exc.strerror}") from None
    return path
