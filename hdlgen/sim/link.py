"""Simulation of the host link gateware in cocotb (Verilator or Icarus)."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from amaranth.back import verilog

from hdlgen.errors import ToolError
from hdlgen.hdl.link import LinkTop
from hdlgen.ir.circuit import Circuit

__all__ = ["exchange_frames"]


def exchange_frames(
    circuit: Circuit,
    frames: list[bytes],
    simulator: str = "icarus",
    divisor: int = 8,
    period_ns: int = 10,
    gating: str = "rtz",
    clock_gating: str = "enable",
) -> list[bytes]:
    """Send frames to a simulated :class:`LinkTop` through cocotbext-uart; return its answers."""
    from hdlgen.sim.run import _build, _on_sys_path
    from hdlgen.toolchain.tools import icarus_path, verilator_env

    if simulator == "verilator":
        import os

        env, _ = verilator_env()
        for key in ("VERILATOR_ROOT", "PATH", "MAKEFLAGS"):
            os.environ[key] = env[key]
    else:
        icarus_path()
    text = verilog.convert(
        LinkTop(circuit, divisor, gating, led_hold=16, clock_gating=clock_gating),  # type: ignore[arg-type]  # a Literal; CircuitTop checks it
        name="link_top",
        emit_src=False,
        strip_internal_attrs=True,
    )
    dump = "module hdlgen_dump();\nendmodule\n" if simulator == "icarus" else None
    runner, build_dir, _ = _build(text, "link_top", simulator, dump, False)  # type: ignore[arg-type]  # a Literal; any value but verilator runs Icarus (above)
    baud = round(1e9 / (period_ns * divisor))
    with tempfile.TemporaryDirectory(prefix="hdlgen-link-") as tmp:
        cfg = Path(tmp) / "link.json"
        cfg.write_text(json.dumps({"baud": baud, "period_ns": period_ns, "frames": [f.hex() for f in frames]}))
        env = {"HDLGEN_LINK": str(cfg), "HDLGEN_RESULTS": str(Path(tmp) / "results.json")}
        root = str(Path(__file__).resolve().parents[2])
        with contextlib.redirect_stdout(io.StringIO()), _on_sys_path(root):
            runner.test(
                test_module="hdlgen.rtl_tests.test_link",
                hdl_toplevel="link_top",
                build_dir=build_dir,
                test_dir=tmp,
                extra_env=env,
                waves=simulator == "verilator",
                timescale=("1ns", "1ps"),
                log_file=Path(tmp) / "sim.log",
            )
        results = Path(tmp) / "results.json"
        if not results.exists():
            tail = " | ".join((Path(tmp) / "sim.log").read_text().strip().splitlines()[-5:])
            raise ToolError(f"link simulation did not finish: {tail}")
        return [bytes.fromhex(a) for a in json.loads(results.read_text())["answers"]]
