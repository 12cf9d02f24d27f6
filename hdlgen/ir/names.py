"""One name sanitizer for every importer and the command line.

Circuit, input and gate names become HDL identifiers, so they must match
``[A-Za-z_][A-Za-z0-9_]*`` (:mod:`hdlgen.ir.circuit`). Model files carry
whatever their authors chose: ``poids_ß`` in ``Gewicht_ü.onnx``, ``layer.0/MatMul``,
``1st``. :func:`sanitize` maps any string to a valid name, the same one every
time (no hashing of process state, no counters), and :class:`NameTable` makes
the names of one circuit unique.

Mapping, in order:

1. Unicode NFKD decomposition, combining marks dropped (``ü`` -> ``u``,
   ``é`` -> ``e``); letters with no decomposition use a small table of their
   usual Latin transliterations (``ß`` -> ``ss``, ``æ`` -> ``ae``, ``ø`` -> ``o``,
   ``ł`` -> ``l``, ...).
2. Any other character outside ``[A-Za-z0-9_]`` becomes ``_``, except
   characters that are not ASCII and have no transliteration, which become
   ``u<hex code point>`` so that different names stay different.
3. Runs of ``_`` are kept as they are; a name starting with a digit gets a
   leading ``n``; an empty result becomes the fallback (``"net"``).

Verilog and SystemVerilog keywords (``table``, ``unique``, ``bit``...) are
valid circuit names: the Verilog writer escapes them (``\\table``), so they
are kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["NameTable", "sanitize"]

#: Letters that NFKD does not decompose, and their usual Latin transliterations.
_TRANSLIT = {
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "Th",
    "ł": "l",
    "Ł": "L",
    "ı": "i",
    "ŀ": "l",
    "Ŀ": "L",
}

_VALID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def sanitize(text: str, fallback: str = "net") -> str:
    """A valid, stable HDL identifier for ``text``.

    Parameters
    ----------
    text : str
        Any string (a node name, a file stem).
    fallback : str
        The name of an empty or all-punctuation ``text``; must itself be valid.

    Returns
    -------
    str
        A name matching ``[A-Za-z_][A-Za-z0-9_]*``; ``text`` itself when it already is one.

    Examples
    --------
    >>> sanitize("poids_ß"), sanitize("Gewicht_ü"), sanitize("layer.0/MatMul"), sanitize("1st")
    ('poids_ss', 'Gewicht_u', 'layer_0_MatMul', 'n1st')
    >>> sanitize("权重")
    'u6743u91cd'
    """
    if _VALID.match(text):
        return text
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            continue
        if ch.isascii():
            out.append(ch if ch.isalnum() or ch == "_" else "_")
        elif ch in _TRANSLIT:
            out.append(_TRANSLIT[ch])
        elif ch.isalnum():
            out.append(f"u{ord(ch):x}")
        else:
            out.append("_")
    name = "".join(out)
    if not name.strip("_"):
        return fallback
    if name[0].isdigit():
        name = "n" + name
    return name


class NameTable:
    """Unique sanitized names within one circuit.

    Parameters
    ----------
    taken : iterable of str, optional
        Names already used.

    Examples
    --------
    >>> t = NameTable()
    >>> t.claim("a.b"), t.claim("a_b"), t.claim("a_b")
    ('a_b', 'a_b_1', 'a_b_2')
    """

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = set(taken)

    def claim(self, wanted: str, fallback: str = "g") -> str:
        """Sanitize ``wanted``, add ``_1``, ``_2``... until it is free, and reserve it."""
        base = sanitize(wanted, fallback)
        name, k = base, 1
        while name in self._taken:
            name = f"{base}_{k}"
            k += 1
        self._taken.add(name)
        return name

    def __contains__(self, name: object) -> bool:
        return name in self._taken
