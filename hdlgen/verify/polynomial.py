"""Word-level function extraction: the value of each arithmetic net as an exact polynomial of the input bits.

Equivalence of two differently structured adder trees (the generated
datapath against ``sum(w_i * x_i)``) is hard for bit-level SAT: there are
almost no internal equivalences to merge, and the proof grows quickly with the
number of operands (a relu unit of six 4-bit operands took 10 to 50 s, some
of eight did not finish in minutes). Over the integers the same fact is
trivial: both sides are the same linear polynomial of the input bits.

This module computes, cell by cell on a Yosys netlist (``write_json`` after
``proc``), the integer that each net's bits hold as a *multilinear
polynomial* over the module's input bits (integer coefficients, every
variable 0 or 1, so ``x**2 = x`` and the representation of a function is
unique). This is *function extraction* by algebraic (word-level) symbolic
simulation (M. Ciesielski, C. Yu, W. Brown, D. Liu, A. Rossi, "Verification of
gate-level arithmetic circuits by function extraction", DAC 2015), restricted
to the cells hdlgen's units contain:

- ``$add``, ``$sub``, ``$mul``, ``$neg``, ``$pos``, ``$not``: exact integer
  arithmetic on the operands' polynomials (extended as signed or unsigned as
  the cell's parameters say); the result is kept only when its range (from
  the polynomial's coefficients, a sound bound) lies in one window of
  ``2**Y_WIDTH`` values, so that the cell's ``mod 2**Y_WIDTH`` is a known
  constant shift: either the unsigned or the two's complement value of the
  output bits equals the polynomial, *exactly*;
- any supported cell whose operands depend on at most :data:`MAX_SUPPORT`
  input bits (the lookup tables, comparisons, multiplexers of small units):
  each output bit is computed for every assignment of those bits with the
  cell's Yosys semantics, and interpolated into its multilinear polynomial
  (Moebius transform).

Reading a net as an operand accepts only what keeps the value exact: whole
cell outputs, low slices whose dropped bits are provably zero, sign
extensions, single bits of small polynomials, constants and input bits.
Anything else (an unknown cell, an ``x`` constant, a slice that may
truncate) is left opaque, never approximated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["IN_RANGE", "SUM_PORT", "Extraction", "Poly", "affine_in", "bounds", "cut_at_sum", "extract"]

#: A multilinear polynomial: monomial (set of input-bit ids) -> non-zero integer coefficient.
Poly = dict[frozenset[int], int]
#: Most input bits a cell's operands may depend on for bit-by-bit interpolation (2**this evaluations).
MAX_SUPPORT = 10
#: Most monomials a product of two polynomials may have before the cell is left opaque.
MAX_TERMS = 4096
_ONE: frozenset[int] = frozenset()

_WORD_TYPES = {"$add", "$sub", "$mul", "$neg", "$pos", "$not"}
_BINARY = {"$add", "$sub", "$mul", "$and", "$or", "$xor", "$xnor", "$eq", "$ne", "$lt", "$le", "$gt", "$ge"}
_BINARY |= {"$logic_and", "$logic_or", "$shr", "$shl", "$shift"}
_UNARY = {"$neg", "$pos", "$not", "$logic_not", "$reduce_or", "$reduce_bool", "$reduce_and", "$reduce_xor"}


def _padd(p: Poly, q: Poly, k: int = 1) -> Poly:
    """``p + k * q``."""
    r = dict(p)
    for m, c in q.items():
        v = r.get(m, 0) + k * c
        if v:
            r[m] = v
        else:
            r.pop(m, None)
    return r


def _pmul(p: Poly, q: Poly) -> Poly | None:
    """``p * q`` reduced with ``x**2 = x``; None when it would exceed :data:`MAX_TERMS` products."""
    if len(p) * len(q) > MAX_TERMS:
        return None
    r: Poly = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            m = m1 | m2
            v = r.get(m, 0) + c1 * c2
            if v:
                r[m] = v
            else:
                r.pop(m, None)
    return r


def _const(c: int) -> Poly:
    return {_ONE: c} if c else {}


def bounds(p: Poly) -> tuple[int, int]:
    """A sound range ``[lo, hi]`` of ``p`` over all 0/1 assignments (exact for linear polynomials).

    Parameters
    ----------
    p : Poly
        A multilinear polynomial over 0/1 input bits (monomial -> integer coefficient).

    Returns
    -------
    (int, int)
        ``lo <= p(x) <= hi`` for every 0/1 assignment ``x``.
    """
    lo = hi = p.get(_ONE, 0)
    for m, c in p.items():
        if m:
            if c < 0:
                lo += c
            else:
                hi += c
    return lo, hi


def _support(polys: Iterable[Poly]) -> list[int]:
    s: set[int] = set()
    for p in polys:
        for m in p:
            s |= m
    return sorted(s)


def _tabulate(p: Poly, support: Sequence[int]) -> list[int]:
    """``p`` at every assignment of ``support`` (bit ``j`` of the index is ``support[j]``)."""
    pos = {v: j for j, v in enumerate(support)}
    masks = [(sum(1 << pos[v] for v in m), c) for m, c in p.items()]
    if sum(abs(c) for c in p.values()) < 1 << 62:
        idx = np.arange(1 << len(support), dtype=np.int64)
        out = np.zeros(len(idx), dtype=np.int64)
        for mm, c in masks:
            out += c * ((idx & mm) == mm)
        return [int(v) for v in out]
    return [sum(c for mm, c in masks if a & mm == mm) for a in range(1 << len(support))]


def _interpolate(table: Sequence[int], support: Sequence[int]) -> Poly:
    """The multilinear polynomial taking ``table[a]`` at assignment ``a`` (bit ``j`` of ``a`` = ``support[j]``)."""
    n = len(support)
    coef = np.array(table, dtype=np.int64).reshape((2,) * n if n else ())
    for j in range(n):  # Moebius transform along each variable (axis n-1-j holds bit j)
        axis = n - 1 - j
        hi: list[slice | int] = [slice(None)] * n
        lo: list[slice | int] = [slice(None)] * n
        hi[axis], lo[axis] = 1, 0
        coef[tuple(hi)] -= coef[tuple(lo)]
    flat = coef.reshape(-1)
    return {frozenset(support[j] for j in range(n) if a >> j & 1): int(flat[a]) for a in np.flatnonzero(flat).tolist()}


def _param(cell: dict[str, Any], name: str) -> int:
    v = cell["parameters"].get(name, 0)
    return int(v, 2) if isinstance(v, str) else int(v)


def _semantics(kind: str, a: int, b: int, s: int, a_bits: int) -> int:
    """A cell's integer result for operand values ``a``, ``b`` (as the cell reads them) and select ``s``."""
    if kind == "$add":
        return a + b
    if kind == "$sub":
        return a - b
    if kind == "$mul":
        return a * b
    if kind == "$neg":
        return -a
    if kind == "$pos":
        return a
    if kind == "$not":
        return ~a
    if kind == "$and":
        return a & b
    if kind == "$or":
        return a | b
    if kind == "$xor":
        return a ^ b
    if kind == "$xnor":
        return ~(a ^ b)
    if kind == "$shr":
        return a >> b
    if kind == "$shl":
        return a << b
    if kind == "$shift":  # right by a signed amount: a negative one shifts left
        return a >> b if b >= 0 else a << -b
    if kind == "$mux":
        return b if s else a
    compare = {
        "$eq": a == b,
        "$ne": a != b,
        "$lt": a < b,
        "$le": a <= b,
        "$gt": a > b,
        "$ge": a >= b,
        "$logic_and": a != 0 and b != 0,
        "$logic_or": a != 0 or b != 0,
        "$logic_not": a == 0,
        "$reduce_or": a != 0,
        "$reduce_bool": a != 0,
        "$reduce_and": a % (1 << a_bits) == (1 << a_bits) - 1,
        "$reduce_xor": bin(a % (1 << a_bits)).count("1") % 2 == 1,
    }
    return int(compare[kind])


class Extraction:
    """The polynomials of a netlist module's nets (see the module docs).

    Parameters
    ----------
    module : dict
        One module of Yosys ``write_json`` (combinational: ``proc`` done).

    Attributes
    ----------
    words : dict
        Cell name -> ``(poly, signed)``: the output bits read as a two's
        complement (``signed``) or unsigned integer equal ``poly`` exactly.
    bit_polys : dict
        Net bit -> its 0/1 function as a polynomial, for input bits and the
        outputs of cells computed bit by bit.
    """

    def __init__(self, module: dict[str, Any]) -> None:
        self.module = module
        self.cells: dict[str, dict[str, Any]] = module["cells"]
        self.bit_polys: dict[int | str, Poly] = {"0": {}, "1": _const(1)}
        for port in module["ports"].values():
            if port["direction"] == "input":
                for b in port["bits"]:
                    if isinstance(b, int):
                        self.bit_polys[b] = {frozenset([b]): 1}
        self.driver: dict[int, tuple[str, int]] = {}
        for name, cell in self.cells.items():
            for port, direction in cell["port_directions"].items():
                if direction == "output":
                    for j, b in enumerate(cell["connections"][port]):
                        if isinstance(b, int):
                            self.driver[b] = (name, j)
        self.words: dict[str, tuple[Poly, bool]] = {}
        self._word_bits_done: set[str] = set()
        for name in self._order():
            self._compute(name)

    def _order(self) -> list[str]:
        """Cells in topological order (inputs before readers); cells on a loop are left out."""
        deps: dict[str, set[str]] = {}
        for name, cell in self.cells.items():
            deps[name] = {
                self.driver[b][0]
                for port, direction in cell["port_directions"].items()
                if direction == "input"
                for b in cell["connections"][port]
                if isinstance(b, int) and b in self.driver
            }
        order: list[str] = []
        state: dict[str, int] = {}
        for root in sorted(self.cells):
            stack = [(root, False)]
            while stack:
                name, leaving = stack.pop()
                if leaving:
                    state[name] = 2
                    order.append(name)
                    continue
                if state.get(name):
                    continue
                state[name] = 1
                stack.append((name, True))
                stack.extend((d, False) for d in sorted(deps[name]) if not state.get(d))
        return order

    def computed(self, name: str) -> bool:
        """Whether the cell's output has a polynomial (as a word, or bit by bit).

        Parameters
        ----------
        name : str
            A cell of the module.

        Returns
        -------
        bool
        """
        if name in self.words:
            return True
        bits = self.cells[name]["connections"].get("Y", [])
        return bool(bits) and all(b in self.bit_polys for b in bits if isinstance(b, int))

    def _word_out(self, name: str) -> list[int | str]:
        return self.cells[name]["connections"]["Y"]

    def _bits_of_word(self, name: str) -> bool:
        """Give the bits of a word-valued cell output their own polynomials, if its support is small."""
        if name in self._word_bits_done:
            return all(b in self.bit_polys for b in self._word_out(name) if isinstance(b, int))
        self._word_bits_done.add(name)
        poly, _ = self.words[name]
        support = _support([poly])
        if len(support) > MAX_SUPPORT:
            return False
        y = self._word_out(name)
        values = [v % (1 << len(y)) for v in _tabulate(poly, support)]
        for j, b in enumerate(y):
            if isinstance(b, int):
                self.bit_polys[b] = _interpolate([v >> j & 1 for v in values], support)
        return True

    def read(self, bits: Sequence[int | str], signed: bool) -> Poly | None:
        """The integer that ``bits`` (LSB first) hold, read as signed or unsigned, or None when not exact.

        Parameters
        ----------
        bits : sequence of int or str
            Net bits of Yosys JSON, LSB first: net numbers, or the constants ``"0"``/``"1"``/``"x"``/``"z"``.
        signed : bool
            Read the top bit as the sign (two's complement).

        Returns
        -------
        Poly or None
            None when a bit has no exact polynomial.
        """
        bits = list(bits)
        if not bits:
            return {}
        if signed:
            while len(bits) > 1 and bits[-1] == bits[-2]:
                bits.pop()  # a sign extension keeps the two's complement value
        n = len(bits)
        total: Poly = {}
        p = 0
        while p < n:
            b = bits[p]
            sign = -1 if signed and p == n - 1 else 1
            if b not in self.bit_polys and isinstance(b, int) and b in self.driver:
                name, j = self.driver[b]
                if name in self.words:
                    poly, word_signed = self.words[name]
                    y = self._word_out(name)
                    run = 0
                    while p + run < n and j + run < len(y) and bits[p + run] == y[j + run]:
                        run += 1
                    lo, hi = bounds(poly)
                    value: Poly | None = None
                    if j == 0 and signed and p + run == n and run == len(y):
                        if word_signed or hi < 1 << (len(y) - 1):
                            value = poly  # the read's top bits are the word's sign
                    elif j == 0 and lo >= 0 and hi < 1 << (run - (1 if signed and p + run == n else 0)):
                        value = poly  # a low slice whose dropped (and sign) bits are zero
                    if value is not None:
                        total = _padd(total, value, 1 << p)
                        p += run
                        continue
                    if not self._bits_of_word(name):
                        return None
            bit = self.bit_polys.get(b)
            if bit is None:
                return None
            total = _padd(total, bit, sign << p)
            p += 1
        return total

    def _compute(self, name: str) -> None:
        cell = self.cells[name]
        kind = cell["type"]
        conn = cell["connections"]
        if kind not in _BINARY | _UNARY | {"$mux"} or "Y" not in conn:
            return
        y = conn["Y"]
        width = len(y)
        if kind == "$mux":
            a = self.read(conn["A"], False)
            b = self.read(conn["B"], False)
            s = self.read(conn["S"], False)
        else:
            a_signed = bool(_param(cell, "A_SIGNED"))
            b_signed = bool(_param(cell, "B_SIGNED")) if kind in _BINARY else a_signed
            if kind in ("$shr", "$shl", "$shift"):
                if a_signed or (b_signed and kind != "$shift"):
                    return
            elif a_signed != b_signed:
                return
            a = self.read(conn["A"], a_signed)
            b = self.read(conn["B"], b_signed) if kind in _BINARY else {}
            s = {}
        if a is None or b is None or s is None:
            return
        if kind in _WORD_TYPES:
            result = self._word(kind, a, b)
            if result is not None:
                lo, hi = bounds(result)
                k = lo >> width
                if hi >> width == k:
                    self.words[name] = (_padd(result, _const(-k << width)), False)
                    return
                half = 1 << (width - 1)
                k = (lo + half) >> width
                if (hi + half) >> width == k:
                    self.words[name] = (_padd(result, _const(-k << width)), True)
                    return
        support = _support([a, b, s])
        if len(support) > MAX_SUPPORT:
            return
        a_bits = len(conn.get("A", []))
        ta, tb, ts = (_tabulate(p, support) for p in (a, b, s))
        values = [_semantics(kind, av, bv, sv, a_bits) % (1 << width) for av, bv, sv in zip(ta, tb, ts, strict=True)]
        for j, bit in enumerate(y):
            if isinstance(bit, int):
                self.bit_polys[bit] = _interpolate([v >> j & 1 for v in values], support)

    @staticmethod
    def _word(kind: str, a: Poly, b: Poly) -> Poly | None:
        if kind == "$add":
            return _padd(a, b)
        if kind == "$sub":
            return _padd(a, b, -1)
        if kind == "$mul":
            return _pmul(a, b)
        if kind == "$neg":
            return _padd({}, a, -1)
        if kind == "$pos":
            return a
        return _padd(_const(-1), a, -1)  # $not: ~a = -1 - a

    def net(self, bits: Sequence[int | str], signed: bool = False) -> Poly | None:
        """The polynomial of a net given by its bits (as :meth:`read`).

        Parameters
        ----------
        bits : sequence of int or str
            Net bits of Yosys JSON, LSB first.
        signed : bool
            Read the top bit as the sign.

        Returns
        -------
        Poly or None
        """
        return self.read(bits, signed)


def extract(module: dict[str, Any]) -> Extraction:
    """Extract the polynomials of a module's nets (see :class:`Extraction`).

    Parameters
    ----------
    module : dict
        One module of Yosys ``write_json`` (combinational: ``proc`` done).

    Returns
    -------
    Extraction
    """
    return Extraction(module)


def affine_in(polys: Sequence[Poly]) -> tuple[Poly, list[tuple[int, int]]] | None:
    """A common non-constant ``L`` with ``p = a * L + c`` for every ``p``, and each ``(a, c)``; None if there is none.

    ``L`` is the first non-constant polynomial divided by the gcd of its
    coefficients, with its smallest monomial's coefficient positive.

    Parameters
    ----------
    polys : sequence of Poly
        The polynomials to express through one ``L``.

    Returns
    -------
    (Poly, list of (int, int)) or None
        ``L`` and one ``(a, c)`` per polynomial, in order.
    """
    base = next((p for p in polys if any(m for m in p)), None)
    if base is None:
        return None
    terms = {m: c for m, c in base.items() if m}
    g = math.gcd(*terms.values())
    first = min(terms, key=lambda m: sorted(m))
    if terms[first] < 0:
        g = -g
    level = {m: c // g for m, c in terms.items()}
    out = []
    for p in polys:
        var = {m: c for m, c in p.items() if m}
        if not var:
            out.append((0, p.get(_ONE, 0)))
            continue
        if set(var) != set(level):
            return None
        a = var[first] // level[first]
        if any(a * level[m] != c for m, c in var.items()):
            return None
        out.append((a, p.get(_ONE, 0)))
    return level, out


def _p(v: int) -> str:
    """A cell parameter as ``write_json`` writes it (32 bits, MSB first)."""
    return format(v, "032b")


def _const_bits(v: int, width: int) -> list[int | str]:
    return [str(v >> i & 1) for i in range(width)]


def _arith(kind: str, a: list[int | str], b: list[int | str], y: list[int | str], signed: bool) -> dict[str, Any]:
    return {
        "hide_name": 1,
        "type": kind,
        "parameters": {
            "A_SIGNED": _p(int(signed)),
            "A_WIDTH": _p(len(a)),
            "B_SIGNED": _p(int(signed)),
            "B_WIDTH": _p(len(b)),
            "Y_WIDTH": _p(len(y)),
        },
        "attributes": {},
        "port_directions": {"A": "input", "B": "input", "Y": "output"},
        "connections": {"A": a, "B": b, "Y": y},
    }


#: Name of the free integer that replaces the arithmetic in :func:`cut_at_sum`, and of its range flag.
SUM_PORT = "hdlgen_sum"
IN_RANGE = "hdlgen_in_range"


def cut_at_sum(ex: Extraction) -> tuple[dict[str, Any], Poly, int, int] | None:
    """The module with its arithmetic replaced by one free integer, the sum it stands for.

    The *frontier* is the set of word-valued cells (:attr:`Extraction.words`)
    whose outputs are read by logic that has no polynomial (comparisons and
    multiplexers of wide operands, slices into them) or by a port. When
    every frontier polynomial is ``a * L + c`` for one polynomial ``L``
    (:func:`affine_in`), the returned module has the word
    cells removed, a new input port :data:`SUM_PORT` (signed) standing for
    ``L``, each frontier output driven by ``(a * SUM_PORT + c) mod 2**width``
    (the same bits as before, for ``SUM_PORT = L(x)``), and a one-bit net
    :data:`IN_RANGE` that is 1 when ``SUM_PORT`` lies in the range of ``L``.
    Word outputs read only by cells that had a polynomial (such as the index
    of a lookup table) are left undriven, that is free.

    A property that holds in the returned module for every ``SUM_PORT`` in
    range and every input holds in the original module: for each input ``x``,
    ``SUM_PORT = L(x)`` is in range and reproduces every frontier bit exactly
    (and free nets may take any value, so also the one they have). The
    converse need not hold (the free sum may take values ``L`` never takes),
    so a failure there decides nothing.

    Parameters
    ----------
    ex : Extraction
        The module's polynomials (:func:`extract`).

    Returns
    -------
    (module, L, lo, hi) or None
        None when there is no frontier or no common ``L``.
    """
    module = ex.module
    words = set(ex.words)

    def from_word(bits: Iterable[int | str]) -> set[str]:
        return {ex.driver[b][0] for b in bits if isinstance(b, int) and b in ex.driver and ex.driver[b][0] in words}

    frontier: set[str] = set()
    for name, cell in ex.cells.items():
        if name not in words and not ex.computed(name):
            for port, direction in cell["port_directions"].items():
                if direction == "input":
                    frontier |= from_word(cell["connections"][port])
    for port in module["ports"].values():
        if port["direction"] == "output":
            frontier |= from_word(port["bits"])
    order = sorted(frontier)
    if not order or any(not isinstance(b, int) for n in order for b in ex.cells[n]["connections"]["Y"]):
        return None
    fit = affine_in([ex.words[n][0] for n in order])
    if fit is None:
        return None
    level, coefs = fit
    lo, hi = bounds(level)
    used = [b for net in module["netnames"].values() for b in net["bits"] if isinstance(b, int)]
    used += [b for c in ex.cells.values() for bits in c["connections"].values() for b in bits if isinstance(b, int)]
    top = max(used, default=1) + 1

    def fresh(n: int) -> list[int | str]:
        nonlocal top
        top += n
        return list(range(top - n, top))

    width = max(lo.bit_length(), hi.bit_length()) + 1
    total = fresh(width)
    cells = {n: c for n, c in ex.cells.items() if n not in words}
    for k, (name, (a, c)) in enumerate(zip(order, coefs, strict=True)):
        y = ex.cells[name]["connections"]["Y"]
        scaled = fresh(len(y))
        cells[f"$hdlgen$scale{k}"] = _arith("$mul", total, _const_bits(a, len(y)), scaled, True)
        cells[f"$hdlgen$shift{k}"] = _arith("$add", scaled, _const_bits(c, len(y)), y, True)
    above, below, in_range = fresh(1), fresh(1), fresh(1)
    cells["$hdlgen$lo"] = _arith("$ge", total, _const_bits(lo, width), above, True)
    cells["$hdlgen$hi"] = _arith("$le", total, _const_bits(hi, width), below, True)
    cells["$hdlgen$range"] = _arith("$and", above, below, in_range, False)
    cut = dict(module)
    cut["cells"] = cells
    cut["ports"] = {**module["ports"], SUM_PORT: {"direction": "input", "bits": total}}
    cut["netnames"] = {
        **module["netnames"],
        SUM_PORT: {"hide_name": 0, "bits": total, "attributes": {}},
        IN_RANGE: {"hide_name": 0, "bits": in_range, "attributes": {}},
    }
    return cut, level, lo, hi
