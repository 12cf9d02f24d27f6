"""The generated Verilog bytes of every example in every mode are unchanged.

``tests/data/verilog_sha256.json`` holds the SHA-256 of the Verilog generated at
commit 0e08e6b, before the layering refactor of issue 15: the circuit top
(:func:`hdlgen.hdl.to_verilog`) for every gating, pipeline and clock-gating mode,
and the host-link gateware (:class:`hdlgen.hdl.link.LinkTop`). A mode the options
check refuses for a circuit is recorded as ``"refused"`` and must still be refused
(with a :class:`~hdlgen.errors.UsageError`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from amaranth.back import verilog

import hdlgen
from hdlgen.errors import UsageError
from hdlgen.hdl import to_verilog
from hdlgen.hdl.link import LinkTop

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = json.loads((Path(__file__).parent / "data" / "verilog_sha256.json").read_text())["designs"]
KEY = re.compile(
    r"(?P<file>\S+)(?P<link> link)? gating=(?P<gating>\w+) pipeline=(?P<pipeline>on|off) "
    r"clock_gating=(?P<clock_gating>\w+)(?: clock_gate_cell=(?P<cell>\w+))?"
)


def _generate(key: str) -> str:
    m = KEY.fullmatch(key)
    assert m is not None, key
    circuit = hdlgen.load(ROOT / m["file"])
    options = {
        "gating": m["gating"],
        "pipeline": m["pipeline"] == "on",
        "clock_gating": m["clock_gating"],
    }
    if m["link"]:
        top = LinkTop(circuit, divisor=104, **options)
        text = verilog.convert(top, name="link_top", emit_src=False, strip_internal_attrs=True)
    else:
        text = to_verilog(circuit, clock_gate_cell=m["cell"] or "generic", **options).text
    return hashlib.sha256(text.encode()).hexdigest()


def _default_mode(key: str) -> bool:
    return "gating=rtz pipeline=off clock_gating=enable" in key and "cell" not in key


def test_every_example_and_mode_is_recorded() -> None:
    """Every example circuit is recorded, except the MNIST networks (thousands of connections: generating them
    in every mode would take minutes; their RTL is checked against the reference by tests/test_mnist.py)."""
    files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "examples").rglob("*.json")}
    recorded = {KEY.fullmatch(k)["file"] for k in GOLDEN}  # type: ignore[index]
    assert recorded <= files
    assert {f for f in files if not f.startswith("examples/mnist/")} == recorded


@pytest.mark.parametrize(
    "key", [pytest.param(k, marks=() if _default_mode(k) else pytest.mark.slow) for k in sorted(GOLDEN)]
)
def test_verilog_bytes_unchanged(key: str) -> None:
    if GOLDEN[key] == "refused":
        with pytest.raises(UsageError):
            _generate(key)
    else:
        assert _generate(key) == GOLDEN[key]
