"""Simulation of the host link gateware in cocotb (Verilator or Icarus)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from amaranth.back import verilog

from hdlgen.errors import ToolError
from hdlgen.hdl.link import LinkTop
from hdlgen.hdl.top import ClockGating, Gating
from hdlgen.ir.circuit import Circuit
from hdlgen.toolchain import cocotb_runner
from hdlgen.toolchain.cocotb_runner import Simulator

__all__ = ["exchange_frames"]


def exchange_frames(
    circuit: Circuit,
    frames: list[bytes],
    simulator: Simulator = "icarus",
    divisor: int = 8,
    period_ns: int = 10,
    gating: Gating = "rtz",
    clock_gating: ClockGating = "enable",
) -> list[bytes]:
    """Send frames to a simulated :class:`LinkTop` through cocotbext-uart; return its answers.

    Parameters
    ----------
    circuit : Circuit
        The circuit behind the link.
    frames : list of bytes
        Host frames, sent in order (see :mod:`hdlgen.protocol`).
    simulator : {"icarus", "verilator"}
    divisor : int
        Clock cycles per UART bit.
    period_ns : int
        Clock period in nanoseconds.
    gating : {"rtz", "delta", "none"}
    clock_gating : {"enable", "physical"}

    Returns
    -------
    list of bytes
        The link's answers, one per frame that has one.

    Raises
    ------
    ToolError
        When the simulator is missing, the build fails, or the simulation
        ends without answers (with the log's last lines).
    """
    text = verilog.convert(
        LinkTop(circuit, divisor, gating, led_hold=16, clock_gating=clock_gating),
        name="link_top",
        emit_src=False,
        strip_internal_attrs=True,
    )
    args = ["-Wno-fatal", "-O3"] if simulator == "verilator" else []
    sim = cocotb_runner.build(simulator, {"link_top.v": text}, "link_top", args=args)
    baud = round(1e9 / (period_ns * divisor))
    with tempfile.TemporaryDirectory(prefix="hdlgen-link-") as tmp:
        cfg = Path(tmp) / "link.json"
        cfg.write_text(json.dumps({"baud": baud, "period_ns": period_ns, "frames": [f.hex() for f in frames]}))
        env = {"HDLGEN_LINK": str(cfg), "HDLGEN_RESULTS": str(Path(tmp) / "results.json")}
        cocotb_runner.run(sim, Path(tmp), test_module="hdlgen.rtl_tests.test_link", extra_env=env)
        results = Path(tmp) / "results.json"
        if not results.exists():
            tail = " | ".join((Path(tmp) / "sim.log").read_text().strip().splitlines()[-5:])
            raise ToolError(f"link simulation did not finish: {tail}")
        return [bytes.fromhex(a) for a in json.loads(results.read_text())["answers"]]
