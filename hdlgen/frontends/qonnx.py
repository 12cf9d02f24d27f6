"""Circuits from QONNX models: ``MatMul``/``Gemm`` layers with ``MultiThreshold`` activations.

The importer evaluates the graph symbolically: every tensor is either a
constant or, per channel, an affine form ``sum_s c_s * signal_s + offset``
over integer circuit signals (inputs and gates). Supported nodes:

- on the graph input: ``Quant`` (integer grid: zero point 0; signed inputs
  are offset to unsigned circuit inputs) or ``BipolarQuant`` (a 1-bit input
  ``b`` standing for ``scale * (2b - 1)``); a graph input used without them
  becomes unsigned ``input_bits``-bit circuit inputs;
- ``Quant`` / ``BipolarQuant`` of constants (quantized weights), ``Constant``;
- ``MatMul`` and ``Gemm`` (``transA = 0``) with constant weights; ``Add``,
  ``Sub``, ``Mul``, ``Div`` by constants; ``Reshape``, ``Flatten``,
  ``Identity``, ``Squeeze``, ``Unsqueeze`` (layout only, batch of one);
- ``MultiThreshold`` (domain ``qonnx.custom_op.general``): channel ``j``
  with thresholds ``t_1..t_k`` becomes ``k`` threshold gates ``v_j >= t_i``,
  and its output ``out_scale * count + out_bias`` an affine form over them;
- ``Relu``: a relu gate computing ``mu * v`` for the smallest ``mu > 0``
  that makes the form's coefficients integers (exact, never clamped).

Each gate's real coefficients are scaled by the smallest ``mu > 0`` that
makes them integers (found with exact fractions; a form that is not on an
integer grid is refused, naming the node). A graph output that is a single
gate is that gate; any other form becomes one relu gate per channel holding
``mu * (v - lower)`` (a common ``mu`` so that the argmax is kept), and
``meta["output_affine"]`` records ``mu`` and ``lower`` to map values back.
Anything else (``Conv``, pooling, a second data input...) is refused with
the node's name and type.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from hdlgen.errors import CircuitError
from hdlgen.ir.circuit import Circuit

__all__ = ["from_qonnx", "load_qonnx"]

_LAYOUT = {"Reshape", "Flatten", "Identity", "Squeeze", "Unsqueeze"}


@dataclass
class _Form:
    """Per-channel affine forms: ``value[ch] = sum_s C[s, ch] * signal_s + offset[ch]``."""

    signals: list[str]
    C: np.ndarray  # (len(signals), channels)
    offset: np.ndarray  # (channels,)

    @property
    def channels(self) -> int:
        return self.offset.shape[0]


def _grid_multiplier(values: np.ndarray, where: str) -> float:
    """The smallest ``mu > 0`` making every value an integer (exact fractions, tolerance 1e-6)."""
    nz = np.abs(values[np.abs(values) > 1e-12])
    if nz.size == 0:
        return 1.0
    base = float(nz.min())
    ratios = nz / base
    lcm = 1
    for r in np.unique(np.round(ratios, 9)):
        frac = Fraction(float(r)).limit_denominator(256)
        if abs(float(frac) - r) > 1e-6 * max(1.0, r):
            raise CircuitError(f"{where}: weights are not on an integer grid (ratio {r:.6g})")
        lcm = lcm * frac.denominator // math.gcd(lcm, frac.denominator)
    mu = lcm / base
    scaled = values * mu
    if np.abs(scaled).max() >= 2**31:
        raise CircuitError(f"{where}: integer weights would exceed 2**31")
    return mu


def _snap(x: float) -> float:
    r = round(x)
    return float(r) if abs(x - r) <= 1e-6 * max(1.0, abs(x)) else x


class _Importer:
    def __init__(self, model: Any, name: str, input_bits: int, source: str) -> None:
        import onnx
        from onnx import numpy_helper

        self.onnx, self.numpy_helper = onnx, numpy_helper
        self.model = model
        self.graph = model.graph
        self.source = source
        self.input_bits = input_bits
        self.circuit = Circuit(name, meta={"source": "qonnx", "model": Path(source).name})
        self.values: dict[str, Any] = {}
        self.ranges: dict[str, tuple[int, int]] = {}  # signal -> (lo, hi)
        self.consumers: dict[str, list[Any]] = {}
        for node in self.graph.node:
            for i in node.input:
                self.consumers.setdefault(i, []).append(node)

    # ------------------------------------------------------------- helpers
    def where(self, node: Any) -> str:
        return f"{self.source}: node '{node.name or node.output[0]}' ({node.op_type})"

    def attr(self, node: Any, key: str, default: Any) -> Any:
        for a in node.attribute:
            if a.name == key:
                value = self.onnx.helper.get_attribute_value(a)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def const(self, node: Any, name: str) -> np.ndarray:
        value = self.values.get(name)
        if not isinstance(value, np.ndarray):
            raise CircuitError(f"{self.where(node)}: input '{name}' must be a constant")
        return value

    def form(self, node: Any, name: str) -> _Form:
        value = self.values.get(name)
        if not isinstance(value, _Form):
            raise CircuitError(f"{self.where(node)}: input '{name}' must come from the graph input")
        return value

    def gate_name(self, wanted: str) -> str:
        name = re.sub(r"\W", "_", wanted) or "g"
        if not re.match(r"[A-Za-z_]", name):
            name = "n" + name
        taken = {g.name for g in self.circuit.gates} | {i.name for i in self.circuit.inputs}
        base, k = name, 1
        while name in taken:
            name = f"{base}_{k}"
            k += 1
        return name

    def bounds(self, f: _Form) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([self.ranges[s][0] for s in f.signals], dtype=np.float64)
        hi = np.array([self.ranges[s][1] for s in f.signals], dtype=np.float64)
        pos, neg = np.clip(f.C, 0, None), np.clip(f.C, None, 0)
        return lo @ pos + hi @ neg + f.offset, hi @ pos + lo @ neg + f.offset

    def integer_gate(
        self, f: _Form, ch: int, where: str, mu: float | None = None, with_offset: bool = False
    ) -> tuple[list[str], list[int], float]:
        col = f.C[:, ch]
        if mu is None:
            mu = _grid_multiplier(np.append(col, f.offset[ch]) if with_offset else col, where)
        keep = np.flatnonzero(np.abs(col) > 1e-12)
        weights = [round(float(col[i] * mu)) for i in keep]
        return [f.signals[i] for i in keep], weights, mu

    # -------------------------------------------------------------- inputs
    def new_inputs(self, count: int, bits: int, prefix: str = "x") -> list[str]:
        names = self.circuit.add_inputs(prefix, count, bits=bits)
        for n in names:
            self.ranges[n] = (0, (1 << bits) - 1)
        return names

    def graph_input(self, vi: Any) -> None:
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim]
        features = int(np.prod(dims[1:])) if len(dims) > 1 else int(np.prod(dims) or 1)
        users = self.consumers.get(vi.name, [])
        if len(users) == 1 and users[0].op_type in ("Quant", "BipolarQuant") and users[0].input[0] == vi.name:
            # The Quant node makes the circuit inputs (their width is its bit width).
            self.values[vi.name] = ("pending", features)
            return
        names = self.new_inputs(features, self.input_bits)
        self.values[vi.name] = _Form(names, np.eye(features), np.zeros(features))

    # --------------------------------------------------------------- nodes
    def quant(self, node: Any) -> None:
        x = self.values.get(node.input[0])
        scale = self.const(node, node.input[1])
        if node.op_type == "BipolarQuant":
            if isinstance(x, np.ndarray):
                self.values[node.output[0]] = np.where(x >= 0, 1.0, -1.0) * scale
                return
            if isinstance(x, tuple):
                features = x[1]
                names = self.new_inputs(features, 1)
                s = np.broadcast_to(scale.reshape(-1), (features,)).astype(np.float64)
                self.values[node.output[0]] = _Form(names, np.diag(2 * s), -s)
                return
            raise CircuitError(f"{self.where(node)}: quantizing an activation is not supported")
        zero = self.const(node, node.input[2])
        bitwidth = self.const(node, node.input[3])
        signed, narrow = int(self.attr(node, "signed", 1)), int(self.attr(node, "narrow", 0))
        if np.any(zero != 0):
            raise CircuitError(f"{self.where(node)}: a nonzero zero point is not supported")
        width = np.asarray(bitwidth).reshape(-1)
        if width.size != 1 or width[0] != round(float(width[0])) or not 1 <= width[0] <= 16:
            raise CircuitError(f"{self.where(node)}: bit width must be one integer between 1 and 16")
        bw = int(width[0])
        lo = (-(1 << (bw - 1)) + narrow) if signed else 0
        hi = ((1 << (bw - 1)) - 1) if signed else (1 << bw) - 1 - narrow
        if isinstance(x, np.ndarray):
            mode = str(self.attr(node, "rounding_mode", "ROUND")).upper()
            rounders: dict[str, Callable[..., Any]] = {"ROUND": np.round, "FLOOR": np.floor, "CEIL": np.ceil}
            rounder = rounders.get(mode)
            if rounder is None:
                raise CircuitError(f"{self.where(node)}: rounding mode {mode!r} is not supported")
            self.values[node.output[0]] = np.clip(rounder(x / scale), lo, hi) * scale
            return
        if isinstance(x, tuple):
            features = x[1]
            names = self.new_inputs(features, max(1, (hi - lo).bit_length()))
            s = np.broadcast_to(scale.reshape(-1), (features,)).astype(np.float64)
            # circuit input u in [0, hi - lo] stands for scale * (u + lo)
            self.values[node.output[0]] = _Form(names, np.diag(s), s * lo)
            return
        raise CircuitError(f"{self.where(node)}: quantizing an activation is not supported (use MultiThreshold)")

    def matmul(self, node: Any) -> None:
        a = self.form(node, node.input[0])
        if node.op_type == "Gemm":
            if int(self.attr(node, "transA", 0)):
                raise CircuitError(f"{self.where(node)}: transA is not supported")
            B = self.const(node, node.input[1])
            if int(self.attr(node, "transB", 0)):
                B = B.T
            B = B * float(self.attr(node, "alpha", 1.0))
            bias = (
                self.const(node, node.input[2]) * float(self.attr(node, "beta", 1.0))
                if len(node.input) > 2 and node.input[2]
                else 0.0
            )
        else:
            B = self.const(node, node.input[1])
            bias = 0.0
        if B.ndim != 2 or B.shape[0] != a.channels:
            raise CircuitError(f"{self.where(node)}: weights of shape {B.shape} for {a.channels} channels")
        B = B.astype(np.float64)
        offset = a.offset @ B + np.broadcast_to(np.asarray(bias, dtype=np.float64).reshape(-1), (B.shape[1],))
        self.values[node.output[0]] = _Form(a.signals, a.C @ B, offset)

    def arith(self, node: Any) -> None:
        x, y = (self.values.get(i) for i in node.input[:2])
        op = node.op_type
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
            fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
            self.values[node.output[0]] = fn(x, y)
            return
        if isinstance(y, _Form) and op in ("Add", "Mul"):
            x, y = y, x
        if not isinstance(x, _Form) or not isinstance(y, np.ndarray):
            raise CircuitError(f"{self.where(node)}: needs one input from the graph input and one constant")
        k = np.broadcast_to(y.astype(np.float64).reshape(-1), (x.channels,))
        if op == "Add":
            out = _Form(x.signals, x.C, x.offset + k)
        elif op == "Sub":
            out = _Form(x.signals, x.C, x.offset - k)
        elif op == "Mul":
            out = _Form(x.signals, x.C * k, x.offset * k)
        else:
            if np.any(k == 0):
                raise CircuitError(f"{self.where(node)}: division by zero")
            out = _Form(x.signals, x.C / k, x.offset / k)
        self.values[node.output[0]] = out

    def multithreshold(self, node: Any) -> None:
        v = self.form(node, node.input[0])
        T = self.const(node, node.input[1]).astype(np.float64)
        if T.ndim != 2 or T.shape[0] not in (1, v.channels):
            raise CircuitError(f"{self.where(node)}: thresholds of shape {T.shape} for {v.channels} channels")
        T = np.broadcast_to(T, (v.channels, T.shape[1]))
        out_scale = float(self.attr(node, "out_scale", 1.0))
        out_bias = float(self.attr(node, "out_bias", 0.0))
        base = self.gate_name(node.name or node.output[0])
        signals, cols = [], []
        for j in range(v.channels):
            srcs, weights, mu = self.integer_gate(v, j, self.where(node))
            for k, t in enumerate(T[j]):
                name = self.gate_name(f"{base}_{j}" if T.shape[1] == 1 else f"{base}_{j}_{k}")
                threshold = math.ceil(_snap(mu * (t - v.offset[j])))
                self.circuit.add_gate(name, srcs, weights, threshold)
                self.ranges[name] = (0, 1)
                signals.append(name)
                cols.append(j)
        C = np.zeros((len(signals), v.channels))
        C[np.arange(len(signals)), cols] = out_scale
        self.values[node.output[0]] = _Form(signals, C, np.full(v.channels, out_bias))

    def relu(self, node: Any, output: bool = False) -> None:
        v = self.form(node, node.input[0])
        base = self.gate_name(node.name or node.output[0])
        _, hi = self.bounds(v)
        signals, scales = [], []
        for j in range(v.channels):
            srcs, weights, mu = self.integer_gate(v, j, self.where(node), with_offset=True)
            top = max(1, math.floor(_snap(mu * hi[j])))
            if top.bit_length() > 32:
                raise CircuitError(f"{self.where(node)}: channel {j} needs more than 32 bits")
            name = self.gate_name(f"{base}_{j}")
            self.circuit.add_gate(name, srcs, weights, -round(mu * v.offset[j]), kind="relu", bits=top.bit_length())
            self.ranges[name] = (0, top)
            signals.append(name)
            scales.append(1.0 / mu)
        self.values[node.output[0]] = _Form(signals, np.diag(scales), np.zeros(v.channels))

    # ---------------------------------------------------------------- run
    def run(self) -> Circuit:
        nh = self.numpy_helper
        for init in self.graph.initializer:
            self.values[init.name] = nh.to_array(init).astype(np.float64)
        data_inputs = [vi for vi in self.graph.input if vi.name not in self.values]
        if len(data_inputs) != 1:
            raise CircuitError(f"{self.source}: the graph must have exactly one data input, not {len(data_inputs)}")
        self.graph_input(data_inputs[0])
        for node in self.graph.node:
            op = node.op_type
            if op == "Constant":
                self.values[node.output[0]] = nh.to_array(self.attr(node, "value", None)).astype(np.float64)
            elif op in ("Quant", "BipolarQuant"):
                self.quant(node)
            elif op in ("MatMul", "Gemm"):
                self.matmul(node)
            elif op in ("Add", "Sub", "Mul", "Div"):
                self.arith(node)
            elif op == "MultiThreshold":
                self.multithreshold(node)
            elif op == "Relu":
                self.relu(node)
            elif op in _LAYOUT:
                x = self.values.get(node.input[0])
                if isinstance(x, tuple):
                    raise CircuitError(f"{self.where(node)}: reshape the input after its Quant node")
                self.values[node.output[0]] = x
            else:
                raise CircuitError(f"{self.where(node)}: unsupported node type {op!r}")
        outputs: list[str] = []
        affine = []
        for vi in self.graph.output:
            f = self.values.get(vi.name)
            if not isinstance(f, _Form):
                raise CircuitError(f"{self.source}: graph output '{vi.name}' does not depend on the input")
            single = all(
                np.count_nonzero(f.C[:, j]) == 1 and np.isclose(f.C[:, j].max(), 1.0) and f.offset[j] == 0
                for j in range(f.channels)
            )
            if single:
                outputs += [f.signals[int(np.flatnonzero(f.C[:, j])[0])] for j in range(f.channels)]
                continue
            # One mu and one lower bound for all channels: the outputs keep their order.
            mu = _grid_multiplier(np.concatenate([f.C.ravel(), f.offset]), f"{self.source}: graph output '{vi.name}'")
            lo, hi = self.bounds(f)
            lower = round(mu * lo.min())
            for j in range(f.channels):
                srcs, weights, _ = self.integer_gate(f, j, vi.name, mu)
                top = max(1, round(mu * hi[j]) - lower)
                if top.bit_length() > 32:
                    raise CircuitError(f"{self.source}: graph output '{vi.name}' needs more than 32 bits")
                name = self.gate_name(f"{vi.name}_{j}")
                threshold = lower - round(mu * f.offset[j])
                self.circuit.add_gate(name, srcs, weights, threshold, kind="relu", bits=top.bit_length())
                outputs.append(name)
                affine.append({"output": name, "mu": mu, "lower": lower})
        if affine:
            self.circuit.meta["output_affine"] = affine  # type: ignore[index]  # the importer gives every circuit a meta dict
        self.circuit.add_output(*outputs)
        return self.circuit.validate()


def from_qonnx(model: Any, name: str = "qonnx", input_bits: int = 1, source: str = "<model>") -> Circuit:
    """A circuit from a loaded ONNX/QONNX ``ModelProto`` (see the module docstring).

    Parameters
    ----------
    model : onnx.ModelProto
    name : str
        The circuit's name.
    input_bits : int
        Width of circuit inputs for a graph input used without ``Quant``.
    source : str
        Where the model came from (for messages).
    """
    return _Importer(model, name, input_bits, source).run()


def load_qonnx(path: str | os.PathLike[str], name: str | None = None, input_bits: int = 1) -> Circuit:
    """A circuit from a QONNX ``.onnx`` file."""
    import onnx

    path = Path(path)
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise CircuitError(f"{path}: no such file") from None
    except Exception as exc:  # protobuf decode errors
        raise CircuitError(f"{path}: not an ONNX model: {type(exc).__name__}") from None
    stem = re.sub(r"\W", "_", path.stem)
    return from_qonnx(model, name or (stem if re.match(r"[A-Za-z_]", stem) else f"n{stem}"), input_bits, str(path))
