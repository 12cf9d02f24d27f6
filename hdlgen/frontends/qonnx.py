"""Circuits from QONNX models, equal to qonnx's own execution or refused.

The truth is ``qonnx.core.onnx_exec.execute_onnx``: qonnx computes in float32,
its custom ops (``Quant``, ``BipolarQuant``, ``MultiThreshold``) in NumPy and
the standard ones in onnxruntime. The importer follows every value exactly:
each tensor is a constant (float32, computed with the same NumPy operations
as qonnx) or, per channel, an exact affine form ``v = sum_s c_s * signal_s +
offset`` over integer circuit signals (inputs and gates), with ``c_s`` and
``offset`` exact fractions. A form is kept only when every float32 operation
qonnx performs on it is provably exact (every partial sum needs at most 24
significant bits: magnitude times grid at most ``2**24``); an elementwise
``Add``/``Sub``/``Mul``/``Div`` by a constant that rounds is replayed in
float32, value by value, where a decision reads it. Everything else that
rounds is refused with a line naming the file and the node.

Supported nodes and the gates they become (docs/importers.md has the table):

- graph input: through ``Quant`` (``n``-bit codes ``q - min_int`` as unsigned
  circuit inputs) or ``BipolarQuant`` / signed 1-bit ``Quant`` (1-bit inputs
  ``b`` for the values ``{-1, +1}``); otherwise unsigned ``input_bits``-bit inputs;
- constants: initializers, ``Constant``, ``Quant``/``BipolarQuant`` of constants
  (quantized weights, every parameter combination qonnx executes);
- ``MatMul``, ``Gemm`` with constant weights; ``Add``, ``Sub``, ``Mul``, ``Div``
  by constants; ``Reshape``, ``Flatten``, ``Identity``, ``Squeeze``,
  ``Unsqueeze`` (layout only, batch of one);
- ``MultiThreshold``: per channel, one threshold gate per level reached,
  ``[z >= z*]`` with ``z*`` the exact smallest integer sum at which qonnx's
  float32 comparison holds (a rational ceiling, found by bisection of the
  monotone float32 computation); ``+-inf`` thresholds give constants; NaN is refused;
- ``Quant`` / ``BipolarQuant`` on an activation: the same threshold gates, one
  per quantization level (a sign is one gate); ``Relu`` followed by ``Quant``
  (Brevitas ``QuantReLU``) is one relu gate with clamping when the levels are
  the integers of the sum, else threshold gates;
- ``Relu``: a relu gate computing ``mu * v`` (exact, never clamped).

A graph output that is one signal per channel with a common power-of-two
coefficient is that signal; any other form becomes one relu gate per channel
holding ``mu * v - lower`` (common ``mu`` and ``lower``, so the argmax is
kept). ``meta["output_affine"]`` maps output codes back to qonnx's values and
``meta["input_affine"]`` maps real input values to input codes, both as
``value = (code + lower) / mu``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from hdlgen.errors import CircuitError, UsageError
from hdlgen.ir.circuit import MAX_BITS, Circuit
from hdlgen.ir.names import NameTable, sanitize

__all__ = ["ROUNDING_MODES", "from_qonnx", "load_qonnx"]

_LAYOUT = {"Reshape", "Flatten", "Identity", "Squeeze", "Unsqueeze"}
#: float32 has a 24-bit significand: integers up to 2**24 (times a power of two) are exact.
_EXACT = 1 << 24


def _round_half_up(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _round_half_down(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.ceil(np.abs(x) - 0.5)


def _round_up(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.ceil(np.abs(x))


#: The rounding modes of ``Quant``, as qonnx's ``resolve_rounding_mode`` computes them
#: (``ROUND_TO_ZERO`` is Brevitas's name for ``DOWN``).
ROUNDING_MODES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ROUND": np.round,
    "HALF_EVEN": np.round,
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "UP": _round_up,
    "DOWN": np.fix,
    "ROUND_TO_ZERO": np.fix,
    "HALF_UP": _round_half_up,
    "HALF_DOWN": _round_half_down,
}


def _int_quant(x: np.ndarray, scale: Any, zeropt: Any, bits: Any, signed: bool, narrow: bool, mode: str) -> np.ndarray:
    """qonnx's ``int_quant`` up to the re-scaling: the integer levels ``y_int`` (float32, like qonnx)."""
    y = x / scale
    y = y + zeropt
    if bits == 1 and signed:
        return np.where(y >= 0.0, np.ones_like(y), -np.ones_like(y))
    lo, hi = _int_range(int(bits), signed, narrow)
    y = np.where(y > hi, np.asarray(hi, dtype=y.dtype), y)
    y = np.where(y < lo, np.asarray(lo, dtype=y.dtype), y)
    return ROUNDING_MODES[mode](y)


def _int_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """qonnx's ``min_int`` and ``max_int``."""
    if signed:
        return -(1 << (bits - 1)) + (1 if narrow else 0), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - (1 if narrow else 0)


def _frac(x: Any) -> Fraction:
    return Fraction(float(x))


def _den(x: Fraction) -> int:
    return x.denominator


def _is_pow2(x: Fraction) -> bool:
    a = abs(x)
    return a != 0 and (a.numerator & (a.numerator - 1)) == 0 and (a.denominator & (a.denominator - 1)) == 0


@dataclass
class _Form:
    """Per-channel exact affine forms over circuit signals, then float32 elementwise ops qonnx rounds.

    ``value[j] = post(sum_s cols[j][s] * s + off[j])``; ``post`` is a list of
    ``(op, k)`` with ``op`` one of add, sub, rsub, mul, div and ``k`` float32 per channel.
    """

    cols: list[dict[str, Fraction]]
    off: list[Fraction]
    post: list[tuple[str, np.ndarray]] = field(default_factory=list)

    @property
    def channels(self) -> int:
        return len(self.off)


@dataclass
class _Pending:
    """The graph input before its first consumer decides what the circuit inputs are."""

    features: int
    form: _Form | None = None
    quantized: bool = False


@dataclass
class _ReluPending:
    """``Relu`` of a form, materialized as relu gates only when a consumer needs them."""

    form: _Form
    node: Any
    result: _Form | None = None


class _Importer:
    def __init__(self, model: Any, name: str, input_bits: int, source: str) -> None:
        import onnx
        from onnx import numpy_helper

        self.onnx, self.numpy_helper = onnx, numpy_helper
        self.graph = model.graph
        self.source = source
        self.input_bits = input_bits
        #: the circuit's meta, filled in as the import goes (``input_affine``, ``output_affine``)
        self.meta: dict[str, Any] = {"source": "qonnx", "model": Path(source).name}
        self.circuit = Circuit(sanitize(name, "qonnx"), meta=self.meta)
        self.names = NameTable()
        self.values: dict[str, Any] = {}
        self.ranges: dict[str, tuple[int, int]] = {}
        self.input_affine: list[dict[str, Any]] = []

    # ------------------------------------------------------------- helpers
    def where(self, node: Any) -> str:
        label = node.name or (node.output[0] if node.output else "?")
        return f"{self.source}: node '{label}' ({node.op_type})"

    def fail(self, node: Any, message: str) -> CircuitError:
        return CircuitError(f"{self.where(node)}: {message}")

    def attr(self, node: Any, key: str, default: Any) -> Any:
        for a in node.attribute:
            if a.name == key:
                value = self.onnx.helper.get_attribute_value(a)
                return value.decode(errors="replace") if isinstance(value, bytes) else value
        return default

    def input(self, node: Any, i: int) -> Any:
        if i >= len(node.input) or not node.input[i]:
            raise self.fail(node, f"input {i} is missing")
        name = node.input[i]
        if name not in self.values:
            raise self.fail(node, f"input '{name}' is not produced by an earlier node or initializer")
        return self.values[name]

    def const(self, node: Any, i: int) -> np.ndarray:
        value = self.input(node, i)
        if not isinstance(value, np.ndarray):
            raise self.fail(node, f"input '{node.input[i]}' must be a constant")
        return value

    def form(self, node: Any, i: int) -> _Form:
        value = self.input(node, i)
        if isinstance(value, _Pending):
            return self.raw_inputs(value)
        if isinstance(value, _ReluPending):
            return self.materialize_relu(value)
        if not isinstance(value, _Form):
            raise self.fail(node, f"input '{node.input[i]}' must depend on the graph input")
        return value

    def frac_array(self, node: Any, arr: np.ndarray, what: str) -> list[Fraction]:
        flat = np.asarray(arr, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(flat)):
            raise self.fail(node, f"{what} has a NaN or infinite value")
        return [Fraction(float(v)) for v in flat]

    def per_channel(self, node: Any, arr: np.ndarray, channels: int, what: str) -> np.ndarray:
        flat = np.asarray(arr).reshape(-1)
        if flat.size not in (1, channels):
            raise self.fail(node, f"{what} has {flat.size} values for {channels} channels")
        return np.broadcast_to(flat, (channels,))

    def signal_bounds(self, col: dict[str, Fraction], off: Fraction) -> tuple[Fraction, Fraction]:
        lo = hi = off
        for s, c in col.items():
            a, b = self.ranges[s]
            lo += c * (a if c > 0 else b)
            hi += c * (b if c > 0 else a)
        return lo, hi

    def magnitude_grid(self, col: dict[str, Fraction], off: Fraction) -> tuple[Fraction, int]:
        """The largest ``|v|`` and the common power-of-two denominator of every value of a channel."""
        lo, hi = self.signal_bounds(col, off)
        grid = max([_den(c) for c in col.values()] + [_den(off)])
        return max(abs(lo), abs(hi)), grid

    def is_exact(self, col: dict[str, Fraction], off: Fraction) -> bool:
        magnitude, grid = self.magnitude_grid(col, off)
        return magnitude * grid <= _EXACT

    def gate(self, wanted: str, inputs: list[str], weights: list[int], threshold: int, **kw: Any) -> str:
        if any(abs(w) >= 1 << 31 for w in weights) or abs(threshold) >= 1 << 40:
            raise CircuitError(f"{self.source}: gate '{wanted}': integer weights would exceed 2**31")
        name = self.names.claim(wanted)
        self.circuit.add_gate(name, inputs, weights, threshold, **kw)
        return name

    # -------------------------------------------------------------- inputs
    def new_inputs(self, count: int, bits: int) -> list[str]:
        names = [self.names.claim(f"x{i}") for i in range(count)]
        for n in names:
            self.circuit.add_input(n, bits)
            self.ranges[n] = (0, (1 << bits) - 1)
        return names

    def raw_inputs(self, pending: _Pending) -> _Form:
        if pending.quantized:
            raise CircuitError(f"{self.source}: the graph input is used both through its Quant node and directly")
        if pending.form is None:
            names = self.new_inputs(pending.features, self.input_bits)
            pending.form = _Form([{n: Fraction(1)} for n in names], [Fraction(0)] * len(names))
            self.input_affine = [{"input": n, "mu": 1.0, "lower": 0} for n in names]
        return pending.form

    def quant_params(self, node: Any, channels: int) -> tuple[np.ndarray, np.ndarray, int, bool, bool, str]:
        # qonnx computes in the initializers' own dtypes and casts Quant's result to float32
        scale = self.const(node, 1)
        zeropt = self.const(node, 2)
        bits_arr = self.const(node, 3)
        if bits_arr.size != 1 or not np.isfinite(bits_arr).all() or float(bits_arr.reshape(-1)[0]) % 1:
            raise self.fail(node, "the bit width must be one integer")
        bits = int(bits_arr.reshape(-1)[0])
        if not 1 <= bits <= 16:
            raise self.fail(node, f"bit width {bits} is outside 1..16")
        signed, narrow = self.attr(node, "signed", 1), self.attr(node, "narrow", 0)
        if signed not in (0, 1) or narrow not in (0, 1):
            raise self.fail(node, "the attributes signed and narrow must be 0 or 1")
        signed, narrow = bool(signed), bool(narrow)
        mode = str(self.attr(node, "rounding_mode", "ROUND")).upper()
        if mode not in ROUNDING_MODES:
            raise self.fail(node, f"rounding mode {mode!r} is not one qonnx executes ({', '.join(ROUNDING_MODES)})")
        s = self.per_channel(node, scale, channels, "the scale")
        z = self.per_channel(node, zeropt, channels, "the zero point")
        if not (np.all(np.isfinite(s)) and np.all(np.isfinite(z))) or np.any(s == 0):
            raise self.fail(node, "the scale must be finite and non-zero, the zero point finite")
        if signed and narrow and bits == 1:
            narrow = False  # qonnx's signed 1-bit Quant is bipolar whatever narrow says
        return s, z, bits, signed, narrow, mode

    def quant_input(self, node: Any, pending: _Pending) -> None:
        """``Quant`` / ``BipolarQuant`` right on the graph input: its levels are the circuit inputs."""
        n = pending.features
        if node.op_type == "BipolarQuant":
            scale = self.per_channel(node, self.const(node, 1).astype(np.float32), n, "the scale")
            if not np.all(np.isfinite(scale)) or np.any(scale == 0):
                raise self.fail(node, "the scale must be finite and non-zero")
            zeropt, bipolar = np.zeros(n, np.float32), True
            lo_q = -1
        else:
            scale, zeropt, bits, signed, narrow, _ = self.quant_params(node, n)
            bipolar = bits == 1 and signed
            lo_q, hi_q = (-1, 1) if bipolar else _int_range(bits, signed, narrow)
        top = 1 if bipolar else hi_q - lo_q  # the largest code qonnx's levels give
        names = self.new_inputs(n, top.bit_length() or 1)
        for name in names:
            self.ranges[name] = (0, top)
        cols, offs, affine = [], [], []
        for j, name in enumerate(names):
            s, z = scale[j], zeropt[j]
            levels = np.array([-1.0, 1.0] if bipolar else np.arange(lo_q, hi_q + 1), dtype=np.float32)
            values = ((levels - z) * s if node.op_type == "Quant" else levels * s).astype(np.float32)
            step = Fraction(2) if bipolar else Fraction(1)
            coef = step * _frac(s)
            base = (Fraction(lo_q) - _frac(z)) * _frac(s)
            for code, value in enumerate(values):
                if _frac(value) != base + code * coef:
                    raise self.fail(node, f"channel {j}: level {levels[code]:g} times scale {s!r} is not exact")
            cols.append({name: coef})
            offs.append(base)
            # value = (code + lower) / mu with mu = 1 / coef, lower = base / coef
            entry = {"input": name, "mu": float(1 / coef), "lower": _number(base / coef)}
            if top != (1 << (top.bit_length() or 1)) - 1:
                entry["max_code"] = top  # narrow ranges: codes above this are not levels of the Quant node
            affine.append(entry)
        pending.quantized = True
        self.input_affine = affine
        self.values[node.output[0]] = _Form(cols, offs)

    # --------------------------------------------------------------- nodes
    def quant(self, node: Any) -> None:
        x = self.input(node, 0)
        if isinstance(x, _Pending):
            if x.form is not None or x.quantized:
                raise CircuitError(f"{self.source}: the graph input is used both through its Quant node and directly")
            self.quant_input(node, x)
            return
        if isinstance(x, np.ndarray):
            self.values[node.output[0]] = self.quant_const(node, x)
            return
        if isinstance(x, _ReluPending) and node.op_type == "Quant":
            fused = self.quant_relu(node, x)
            if fused is not None:
                self.values[node.output[0]] = fused
                return
        v, relu = self.decision_input(node)
        if node.op_type == "BipolarQuant":
            s = self.per_channel(node, self.const(node, 1).astype(np.float32), v.channels, "the scale")
            if not np.all(np.isfinite(s)):
                raise self.fail(node, "the scale must be finite")

            def levels_of(j: int) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[int], np.float32]]:
                return (
                    lambda y: np.where(y >= 0.0, 1, -1),
                    lambda q: np.float32(np.float32(q) * s[j]),
                )

        else:
            s, z, bits, signed, narrow, mode = self.quant_params(node, v.channels)

            def levels_of(j: int) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[int], np.float32]]:
                return (
                    lambda y: _int_quant(y, s[j], z[j], np.float32(bits), signed, narrow, mode).astype(np.int64),
                    lambda q: np.float32((np.float32(q) - z[j]) * s[j]),
                )

        self.values[node.output[0]] = self.staircase(node, v, levels_of, relu)

    def decision_input(self, node: Any) -> tuple[_Form, bool]:
        """The form a decision reads, and whether a Relu stands between (decisions need no relu gate)."""
        x = self.input(node, 0)
        if isinstance(x, _ReluPending):
            return x.form, True
        return self.form(node, 0), False

    def quant_const(self, node: Any, x: np.ndarray) -> np.ndarray:
        if node.op_type == "BipolarQuant":
            scale = self.const(node, 1).astype(np.float32)
            y = np.where(x >= 0.0, np.ones_like(x), -np.ones_like(x))
            return (y * scale).astype(np.float32)
        scale = self.const(node, 1)
        zeropt = self.const(node, 2)
        _, _, bits, signed, narrow, mode = self.quant_params(node, 1 if scale.size == 1 else scale.size)
        try:
            q = _int_quant(x, scale, zeropt, np.float32(bits), signed, narrow, mode)
            return ((q - zeropt) * scale).astype(np.float32)
        except ValueError as exc:
            raise self.fail(node, f"scale or zero point does not broadcast to the weights: {exc}") from None

    def quant_relu(self, node: Any, pending: _ReluPending) -> _Form | None:
        """``Quant(Relu(v))`` as one relu gate per channel when the levels are the integers of the sum."""
        v = pending.form
        if v.post:
            return None
        s, z, bits, signed, narrow, _ = self.quant_params(node, v.channels)
        if bits == 1 and signed:
            return None
        lo_q, hi_q = _int_range(bits, signed, narrow)
        cols, offs = [], []
        base = self.names.claim(sanitize(node.name or node.output[0]), "q")
        gates: list[tuple[str, list[str], list[int], int, int, Fraction]] = []
        for j in range(v.channels):
            sj, zj = _frac(s[j]), _frac(z[j])
            if sj <= 0 or zj.denominator != 1 or zj < lo_q:
                return None
            top = hi_q - int(zj)  # q - zp = min(relu(v / s), top)
            if top < 1 or (top + 1) & top:
                return None
            w = {k: c / sj for k, c in v.cols[j].items()}
            t = v.off[j] / sj
            if any(c.denominator != 1 for c in w.values()) or t.denominator != 1:
                return None
            _, hi = self.signal_bounds(w, t)
            if max(abs(x) for x in self.signal_bounds(w, t)) > _EXACT:
                return None
            for r in range(top + 1):
                if _frac(np.float32(np.float32(r) * s[j])) != r * sj:
                    return None
            width = min(top.bit_length(), max(1, int(hi)).bit_length())
            gates.append((f"{base}_{j}", list(w), [int(c) for c in w.values()], -int(t), width, sj))
        for name, srcs, weights, threshold, width, sj in gates:
            g = self.gate(name, srcs, weights, threshold, kind="relu", bits=width)
            self.ranges[g] = (0, (1 << width) - 1)
            cols.append({g: sj})
            offs.append(Fraction(0))
        return _Form(cols, offs)

    def staircase(
        self,
        node: Any,
        v: _Form,
        levels_of: Callable[[int], tuple[Callable[[np.ndarray], np.ndarray], Callable[[int], Any]]],
        relu: bool = False,
    ) -> _Form:
        """Threshold gates for a monotone step function of each channel (MultiThreshold, Quant, sign)."""
        base = sanitize(node.name or node.output[0], "t")
        cols, offs = [], []
        for j in range(v.channels):
            level_fn, value_fn = levels_of(j)
            srcs, weights, low, cuts = self.cuts(node, v, j, level_fn, relu)
            col: dict[str, Fraction] = {}
            off = _frac(value_fn(low))
            prev = off
            for k, (cut, reached) in enumerate(cuts):
                name = self.gate(f"{base}_{j}" if len(cuts) == 1 else f"{base}_{j}_{k}", srcs, weights, cut)
                self.ranges[name] = (0, 1)
                value = _frac(value_fn(reached))
                if value != prev:
                    col[name] = value - prev
                prev = value
            cols.append(col)
            offs.append(off)
        return _Form(cols, offs)

    def cuts(
        self, node: Any, v: _Form, j: int, level_fn: Callable[[np.ndarray], np.ndarray], relu: bool = False
    ) -> tuple[list[str], list[int], int, list[tuple[int, int]]]:
        """Integer sum ``z`` of channel ``j`` and, per level above the lowest, the smallest ``z`` reaching it.

        qonnx's value is ``level_fn(post(z / mu + offset))`` in float32, monotone in ``z``;
        bisection over the integers finds each level's first ``z`` exactly (no tolerance).
        Returns the sources, integer weights, the level at the lowest ``z`` and the distinct cut
        points with the level reached at each (levels qonnx skips share a cut: one gate).
        """
        col, off = v.cols[j], v.off[j]
        srcs = list(col)
        mu = max([_den(c) for c in col.values()], default=1)
        weights = [int(col[s] * mu) for s in srcs]
        zlo = sum(w * self.ranges[s][0 if w > 0 else 1] for s, w in zip(srcs, weights, strict=True))
        zhi = sum(w * self.ranges[s][1 if w > 0 else 0] for s, w in zip(srcs, weights, strict=True))
        offset = float(off)

        def level(z: np.ndarray, sign: int = 1) -> np.ndarray:
            val = ((sign * z).astype(np.float64) / mu + offset).astype(np.float32)
            for op, k in v.post:
                kj = k[j]
                if op == "add":
                    val = val + kj
                elif op == "sub":
                    val = val - kj
                elif op == "rsub":
                    val = kj - val
                elif op == "mul":
                    val = val * kj
                else:
                    val = val / kj
            if relu:
                val = np.maximum(val, np.float32(0))
            return np.asarray(level_fn(val), dtype=np.int64)

        with np.errstate(all="ignore"):
            a, b = level(np.array([zlo, zhi], dtype=np.int64))
            sign = 1
            if a > b:  # decreasing in z: search over -z
                sign, weights = -1, [-w for w in weights]
                zlo, zhi = -zhi, -zlo
                a, b = b, a
            if a == b:
                return srcs, weights, int(a), []
            targets = np.arange(a + 1, b + 1, dtype=np.int64)
            lo = np.full(targets.shape, zlo, dtype=np.int64)  # level(lo) < target
            hi = np.full(targets.shape, zhi, dtype=np.int64)  # level(hi) >= target
            while np.any(hi - lo > 1):
                mid = (lo + hi) // 2
                ok = level(mid, sign) >= targets
                hi = np.where(ok, mid, hi)
                lo = np.where(ok, lo, mid)
            cuts = np.unique(hi)
            reached = level(cuts, sign)
        return srcs, weights, int(a), [(int(c), int(r)) for c, r in zip(cuts, reached, strict=True)]

    def matmul(self, node: Any) -> None:
        x = self.form(node, 0)
        W = self.const(node, 1).astype(np.float32)
        bias = None
        if node.op_type == "Gemm":
            if self.attr(node, "transA", 0):
                raise self.fail(node, "transA is not supported")
            if self.attr(node, "transB", 0):
                W = W.T
            alpha, beta = float(self.attr(node, "alpha", 1.0)), float(self.attr(node, "beta", 1.0))
            if not (_is_pow2(_frac(alpha)) and _is_pow2(_frac(beta))):
                raise self.fail(node, "alpha and beta must be powers of two (else float32 rounds the product)")
            W = W * np.float32(alpha)
            if len(node.input) > 2 and node.input[2]:
                bias = self.const(node, 2).astype(np.float32) * np.float32(beta)
        if x.post:
            raise self.fail(
                node,
                "its input was rounded to float32 by an earlier Add/Mul/Div; qonnx's sums then "
                "depend on the rounding (make the scales powers of two)",
            )
        if W.ndim != 2 or W.shape[0] != x.channels:
            raise self.fail(node, f"weights of shape {W.shape} for {x.channels} input channels")
        m = W.shape[1]
        Wf = self.frac_array(node, W, "the weights")
        b = self.frac_array(node, self.per_channel(node, bias, m, "the bias"), "the bias") if bias is not None else None
        mags, grids = zip(*(self.magnitude_grid(x.cols[i], x.off[i]) for i in range(x.channels)), strict=True)
        cols, offs = [], []
        for j in range(m):
            col: dict[str, Fraction] = {}
            off = b[j] if b is not None else Fraction(0)
            total, grid = abs(off), _den(off)
            for i in range(x.channels):
                w = Wf[i * m + j]
                if w == 0:
                    continue
                total += mags[i] * abs(w)
                grid = max(grid, grids[i] * _den(w))
                off += x.off[i] * w
                for s, c in x.cols[i].items():
                    col[s] = col.get(s, Fraction(0)) + c * w
            if total * grid > _EXACT:
                raise self.fail(
                    node,
                    f"output channel {j}: float32 rounds its sums (up to {float(total):.6g} on a grid of 2^-"
                    f"{grid.bit_length() - 1}: more than 24 significant bits), so qonnx's result depends on the "
                    "summation order; use power-of-two scales or fewer bits",
                )
            cols.append({s: c for s, c in col.items() if c != 0})
            offs.append(off)
        self.values[node.output[0]] = _Form(cols, offs)

    def arith(self, node: Any) -> None:
        op = node.op_type
        x, y = self.input(node, 0), self.input(node, 1)
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
            fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
            with np.errstate(all="ignore"):
                self.values[node.output[0]] = fn(x.astype(np.float32), y.astype(np.float32))
            return
        if isinstance(y, np.ndarray):
            v, k, kind = self.form(node, 0), y, {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}[op]
        elif isinstance(x, np.ndarray) and op != "Div":
            v, k, kind = self.form(node, 1), x, {"Add": "add", "Sub": "rsub", "Mul": "mul"}[op]
        else:
            raise self.fail(node, "needs one input that depends on the graph input and one constant")
        ks = self.per_channel(node, k.astype(np.float32), v.channels, "the constant").astype(np.float32)
        if not np.all(np.isfinite(ks)) or (kind == "div" and np.any(ks == 0)):
            raise self.fail(node, "the constant must be finite (and non-zero for Div)")
        if not v.post:
            folded = self.fold(v, kind, [_frac(t) for t in ks])
            if folded is not None:
                self.values[node.output[0]] = folded
                return
        self.values[node.output[0]] = _Form(v.cols, v.off, [*v.post, (kind, ks)])

    def fold(self, v: _Form, kind: str, ks: list[Fraction]) -> _Form | None:
        """The exact form of an elementwise op, or None when float32 would round it."""
        cols, offs = [], []
        for j in range(v.channels):
            k = ks[j]
            col, off = v.cols[j], v.off[j]
            if kind == "add":
                col2, off2 = dict(col), off + k
            elif kind == "sub":
                col2, off2 = dict(col), off - k
            elif kind == "rsub":
                col2, off2 = {s: -c for s, c in col.items()}, k - off
            else:
                if kind == "div":
                    if not _is_pow2(k):
                        return None
                    k = 1 / k
                col2 = {s: c * k for s, c in col.items() if c * k != 0}
                off2 = off * k
            if not self.is_exact(col2, off2):
                return None
            cols.append(col2)
            offs.append(off2)
        return _Form(cols, offs)

    def multithreshold(self, node: Any) -> None:
        v, relu = self.decision_input(node)
        T = self.const(node, 1)
        if T.ndim != 2 or T.shape[0] not in (1, v.channels):
            raise self.fail(node, f"thresholds of shape {T.shape} for {v.channels} channels")
        if np.any(np.isnan(T)):
            rows = sorted({int(r) for r in np.argwhere(np.isnan(T))[:, 0]})
            raise self.fail(node, f"threshold of channel {rows[0]} is NaN")
        T = np.broadcast_to(T, (v.channels, T.shape[1]))
        out_scale = self.attr(node, "out_scale", 1.0)
        out_bias = self.attr(node, "out_bias", 0.0)
        if not all(isinstance(a, float | int) and np.isfinite(a) for a in (out_scale, out_bias)):
            raise self.fail(node, "out_scale and out_bias must be finite")

        def levels_of(j: int) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[int], Any]]:
            row = T[j]
            return (
                lambda y: np.count_nonzero(y[:, None] >= row[None, :], axis=1),
                lambda c: (out_scale * np.asarray([c], dtype=np.float32) + out_bias)[0],
            )

        self.values[node.output[0]] = self.staircase(node, v, levels_of, relu)

    def relu(self, node: Any) -> None:
        x = self.input(node, 0)
        v = self.form(node, 0) if not isinstance(x, _Form) else x
        self.values[node.output[0]] = _ReluPending(v, node)

    def materialize_relu(self, pending: _ReluPending) -> _Form:
        if pending.result is not None:
            return pending.result
        node, v = pending.node, pending.form
        if v.post:
            raise self.fail(
                node,
                "its input was rounded to float32 by an earlier Add/Mul/Div; a relu gate cannot "
                "hold the rounded value (thresholds or Quant may follow it; else use power-of-two scales)",
            )
        base = sanitize(node.name or node.output[0], "r")
        cols: list[dict[str, Fraction]] = []
        offs: list[Fraction] = []
        for j in range(v.channels):
            col, off = v.cols[j], v.off[j]
            mu = max([_den(c) for c in col.values()] + [_den(off)])
            _, hi = self.signal_bounds(col, off)
            top = int(hi * mu)
            if top <= 0:  # never positive: relu is 0
                cols.append({})
                offs.append(Fraction(0))
                continue
            if top.bit_length() > MAX_BITS:
                raise self.fail(node, f"channel {j} needs more than {MAX_BITS} bits")
            srcs = list(col)
            name = self.gate(
                f"{base}_{j}",
                srcs,
                [int(col[s] * mu) for s in srcs],
                -int(off * mu),
                kind="relu",
                bits=top.bit_length(),
            )
            self.ranges[name] = (0, top)
            cols.append({name: Fraction(1, mu)})
            offs.append(Fraction(0))
        pending.result = _Form(cols, offs)
        return pending.result

    # ---------------------------------------------------------------- run
    def run(self) -> Circuit:
        nh = self.numpy_helper
        for init in self.graph.initializer:
            try:
                self.values[init.name] = np.asarray(nh.to_array(init))
            except Exception as exc:  # onnx raises bare exceptions for external or malformed data
                raise CircuitError(f"{self.source}: initializer '{init.name}' is unreadable: {exc}") from None
            if self.values[init.name].dtype.kind not in "fiub":
                raise CircuitError(f"{self.source}: initializer '{init.name}' is not numeric")
        data_inputs = [vi for vi in self.graph.input if vi.name not in self.values]
        if len(data_inputs) != 1:
            raise CircuitError(f"{self.source}: the graph must have exactly one data input, not {len(data_inputs)}")
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in data_inputs[0].type.tensor_type.shape.dim]
        features = int(np.prod(dims[1:])) if len(dims) > 1 else int(np.prod(dims) or 1)
        if not 1 <= features <= 1 << 16:
            raise CircuitError(f"{self.source}: graph input '{data_inputs[0].name}' has {features} features")
        self.values[data_inputs[0].name] = _Pending(features)
        for node in self.graph.node:
            try:
                self.node(node)
            except CircuitError:
                raise
            except (ValueError, TypeError, IndexError, ZeroDivisionError, OverflowError) as exc:
                raise self.fail(node, f"malformed node: {exc}") from None
        self.outputs()
        if not self.input_affine:
            raise CircuitError(f"{self.source}: no graph output depends on the graph input")
        self.meta["input_affine"] = self.input_affine
        return self.circuit.validate()

    def node(self, node: Any) -> None:
        op = node.op_type
        if not node.output:
            raise self.fail(node, "has no output")
        if op == "Constant":
            value = self.attr(node, "value", None)
            if value is None:
                raise self.fail(node, "only the 'value' attribute is supported")
            self.values[node.output[0]] = np.asarray(self.numpy_helper.to_array(value))
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
            self.values[node.output[0]] = self.input(node, 0)
        else:
            raise self.fail(node, f"unsupported node type {op!r}")

    def outputs(self) -> None:
        outputs: list[str] = []
        affine: list[dict[str, Any]] = []
        for vi in self.graph.output:
            value = self.values.get(vi.name)
            if isinstance(value, _ReluPending):
                value = self.materialize_relu(value)
            if isinstance(value, _Pending):
                value = self.raw_inputs(value)
            if not isinstance(value, _Form):
                raise CircuitError(f"{self.source}: graph output '{vi.name}' does not depend on the graph input")
            if value.post:
                raise CircuitError(
                    f"{self.source}: graph output '{vi.name}' is rounded to float32 by an Add/Mul/Div; "
                    "its values are not on an integer grid (make the scales powers of two)"
                )
            outputs_, affine_ = self.output_signals(vi.name, value)
            outputs += outputs_
            affine += affine_
        if affine:
            self.meta["output_affine"] = affine
        self.circuit.add_output(*outputs)

    def output_signals(self, name: str, f: _Form) -> tuple[list[str], list[dict[str, Any]]]:
        singles = [next(iter(col.items())) for col in f.cols if len(col) == 1]
        if len(singles) == len(f.cols) and len({c for _, c in singles}) == 1 and len(set(f.off)) == 1:
            coef = singles[0][1]
            names = [s for s, _ in singles]
            if coef > 0 and _is_pow2(coef) and len(set(names)) == len(names):
                if coef == 1 and f.off[0] == 0:
                    return names, []
                mu, lower = 1 / coef, f.off[0] / coef
                return names, [{"output": s, "mu": float(mu), "lower": _number(lower)} for s in names]
        # One power-of-two mu and one integer lower bound for all channels: the outputs keep their order.
        numbers = [c for col in f.cols for c in col.values()] + [o for o in f.off if o != 0]
        grid = Fraction(1) if not numbers else 1 / min(_pow2_part(c) for c in numbers)
        bounds = [self.signal_bounds(col, off) for col, off in zip(f.cols, f.off, strict=True)]
        floor = min(int(lo * grid) for lo, _ in bounds)
        base = sanitize(name, "y")
        outputs: list[str] = []
        affine: list[dict[str, Any]] = []
        for j, (col, off) in enumerate(zip(f.cols, f.off, strict=True)):
            top = max(1, int(bounds[j][1] * grid) - floor)
            if top.bit_length() > MAX_BITS:
                raise CircuitError(f"{self.source}: graph output '{name}' needs more than {MAX_BITS} bits")
            srcs = list(col)
            g = self.gate(
                f"{base}_{j}",
                srcs,
                [int(col[s] * grid) for s in srcs],
                floor - int(off * grid),
                kind="relu",
                bits=top.bit_length(),
            )
            outputs.append(g)
            affine.append({"output": g, "mu": float(grid), "lower": floor})
        return outputs, affine


def _pow2_part(x: Fraction) -> Fraction:
    """The power of two in ``|x|`` (``12 -> 4``, ``3/8 -> 1/8``)."""
    n, d = abs(x.numerator), x.denominator
    return Fraction(n & -n, d & -d)


def _number(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(x)


def from_qonnx(model: Any, name: str = "qonnx", input_bits: int = 1, source: str = "<model>") -> Circuit:
    """A circuit from a loaded ONNX/QONNX ``ModelProto`` (see the module docstring).

    Parameters
    ----------
    model : onnx.ModelProto
    name : str
        The circuit's name (sanitized by :func:`hdlgen.ir.names.sanitize`).
    input_bits : int
        Width of circuit inputs for a graph input used without ``Quant``.
    source : str
        Where the model came from (for messages).

    Returns
    -------
    Circuit
        Equal to ``qonnx.core.onnx_exec.execute_onnx`` on every input through
        ``meta["input_affine"]`` and ``meta["output_affine"]``.

    Raises
    ------
    CircuitError
        One line naming the source and the node, for anything the importer cannot match exactly.
    UsageError
        For ``input_bits`` outside 1 to 24.
    """
    if not 1 <= input_bits <= 24:
        raise UsageError(
            f"{source}: input_bits must be between 1 and 24, not {input_bits} (float32 holds integers to 2**24)",
            "input_bits",
        )
    return _Importer(model, name, input_bits, source).run()


def load_qonnx(path: str | os.PathLike[str], name: str | None = None, input_bits: int = 1) -> Circuit:
    """A circuit from a QONNX ``.onnx`` file (ONNX files are data: nothing in them runs)."""
    import onnx

    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except FileNotFoundError:
        raise CircuitError(f"{path}: no such file") from None
    except Exception as exc:  # protobuf decode errors have no common base class
        raise CircuitError(f"{path}: not an ONNX model: {type(exc).__name__}") from None
    return from_qonnx(model, name or sanitize(path.stem, "qonnx"), input_bits, str(path))
