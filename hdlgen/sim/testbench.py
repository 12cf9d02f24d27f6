"""Verilog that hdlgen writes around a design to simulate it.

- :func:`bench_verilog`: a self-clocked testbench. The clock is ``always #5``,
  the stimulus is read with ``$readmemh``, the outputs after every edge go
  to a results file, and the gate registers' bit changes are counted by
  counters in the testbench (no trace file). Nothing runs in Python while it
  simulates: it runs at the simulator's own speed.
- :func:`dump_module`: an Icarus module that dumps (some of) the design's
  signals to a VCD file, for toggle counts and waveforms.
- :func:`stimulus_hex`: the ``$readmemh`` file.

Every name is escaped with :func:`hdlgen.ir.keywords.escape_identifier`,
so circuits and gates named after Verilog or SystemVerilog keywords work.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hdlgen.ir.keywords import escape_identifier
from hdlgen.ir.ports import PortLayout

__all__ = ["BENCH", "DUMP", "RESULTS", "STIMULUS", "TOGGLES", "bench_verilog", "dump_module", "stimulus_hex"]

#: Module names of the testbench and of the dump module.
BENCH = "hdlgen_bench"
DUMP = "hdlgen_dump"
#: Files the testbench reads and writes in its working directory.
STIMULUS = "stimulus.hex"
RESULTS = "results.txt"
TOGGLES = "toggles.txt"


def bench_verilog(
    top: str,
    layout: PortLayout,
    classifier: bool,
    registers: Mapping[str, int],
    depth: int,
    dump: bool = False,
) -> str:
    """A self-clocked testbench for ``top`` (the ports of docs/verilog-ports.md), run by itself or started by cocotb.

    Parameters
    ----------
    top : str
        The design's module (any name: it is escaped).
    layout : PortLayout
        Widths of ``i_data``, ``o_data``, ``o_energy`` and ``o_class``.
    classifier : bool
        The design has an ``o_class`` port (recorded as a fourth column).
    registers : mapping of str to int
        Register name inside the design -> width in bits: their bit changes
        are counted (in this order) and written to ``toggles.txt``.
    depth : int
        Capacity of the stimulus memory, in clock edges (the build is reused
        for every run of up to ``depth`` edges).
    dump : bool
        Dump the design to ``dump.vcd`` when run with ``+trace`` (Verilator
        builds need ``--trace``).

    Returns
    -------
    str
        Verilog-2005 of the module
        ``hdlgen_bench`` with one output, ``done``.

    Notes
    -----
    Run with ``+edges=N`` (the lines of ``stimulus.hex``, each
    ``{rst, i_valid, i_data}``) and, when run without cocotb, ``+finish``.
    Timing is that of the cocotb driver: a first rising edge resets the
    design; inputs change right after rising edges (non-blocking
    assignments), so the design samples the previous ones; outputs and gate
    registers are sampled on falling edges. ``results.txt`` has one line
    ``o_valid o_data o_energy [o_class]`` (``%h``: unknown digits print
    as ``x``/``z``) per stimulus edge; ``toggles.txt`` one line ``count
    unknown`` per register (``unknown`` is 1 when a bit was X or Z at a
    sample).
    """
    cls = classifier and layout.class_width is not None
    # Each port padded to whole hex digits, so that an X digit belongs to one port.
    ports = [("o_valid", 1), ("o_data", layout.o_width), ("o_energy", layout.energy_width)]
    if cls:
        ports.append(("o_class", layout.class_width or 1))
    parts = []
    for name, width in ports:
        pad = -width % 4
        parts += ([f"{pad}'d0"] if pad else []) + [name]
    row_width = sum(width + (-width % 4) for _, width in ports)
    lines = [
        *_bench_ports(top, layout, cls, depth, row_width),
        *_toggle_counters(registers),
        *_bench_stimulus(layout.i_width, dump),
        *_bench_sampling(registers, parts),
    ]
    return "\n".join(line for line in lines if line)


def _bench_ports(top: str, layout: PortLayout, cls: bool, depth: int, row_width: int) -> list[str]:
    """The testbench's clock, stimulus and result memories, port signals and the design instance."""
    w = layout.i_width
    class_width = layout.class_width or 1
    return [
        f"module {BENCH}(output reg done);",
        "  reg clk = 1'b0;",
        "  always #5 clk = ~clk;",
        f"  reg [{w + 1}:0] stim [0:{depth - 1}];",
        "  // Set in an initial block, not by initialisers: the change from X at time 0 is an event, which",
        "  // evaluates the design's combinational processes (Icarus gives initialisers no event in -g2012).",
        "  reg rst;",
        "  reg i_valid;",
        f"  reg [{w - 1}:0] i_data;",
        "  wire o_valid;",
        f"  wire [{layout.o_width - 1}:0] o_data;",
        f"  wire [{layout.energy_width - 1}:0] o_energy;",
        f"  wire [{class_width - 1}:0] o_class;" if cls else "",
        f"  {escape_identifier(top)} dut (.clk(clk), .rst(rst), .i_valid(i_valid), .i_data(i_data),",
        f"    .o_valid(o_valid), .o_data(o_data), .o_energy(o_energy){', .o_class(o_class)' if cls else ''});",
        f"  reg [{row_width - 1}:0] rows [0:{depth - 1}];",
        "  integer edges, e = 0, ftog;",
        "  reg finish;",
    ]


def _toggle_counters(registers: Mapping[str, int]) -> list[str]:
    """A bit-count function and, per register ``k``: its previous and current value, its count and X flag."""
    widest = max(registers.values(), default=1)
    # A loop, not $countones: Icarus 11 miscounts $countones of an expression.
    lines = [
        f"  function automatic integer ones(input [{widest - 1}:0] v);",
        "    integer i;",
        "    begin",
        "      ones = 0;",
        f"      for (i = 0; i < {widest}; i = i + 1) ones = ones + v[i];",
        "    end",
        "  endfunction",
    ]
    for k, width in enumerate(registers.values()):
        lines.append(f"  reg [{width - 1}:0] p{k} = {width}'d0;")
        lines.append(f"  reg [{width - 1}:0] c{k};")
        lines.append(f"  reg [63:0] t{k} = 64'd0;")
        lines.append(f"  reg x{k} = 1'b0;")
    return lines


def _bench_stimulus(w: int, dump: bool) -> list[str]:
    """Reading the plusargs and ``stimulus.hex``, the optional dump, and driving the inputs at rising edges."""
    return [
        "  initial begin",
        "    done = 1'b0;",
        "    rst = 1'b1;",
        "    i_valid = 1'b0;",
        f"    i_data = {w}'d0;",
        '    if (!$value$plusargs("edges=%d", edges)) edges = 0;',
        '    finish = $test$plusargs("finish") != 0;',
        f'    if (edges > 0) $readmemh("{STIMULUS}", stim, 0, edges - 1);',
        "  end",
        *(
            [
                '  initial if ($test$plusargs("trace")) begin',
                '    $dumpfile("dump.vcd");',
                "    $dumpvars(0, dut);",
                "  end",
            ]
            if dump
            else []
        ),
        "  // Inputs for the next edge are set with non-blocking assignments at this edge.",
        "  always @(posedge clk) begin",
        "    if (e < edges) {rst, i_valid, i_data} <= stim[e];",
        "    e <= e + 1;",
        "  end",
    ]


def _bench_sampling(registers: Mapping[str, int], parts: list[str]) -> list[str]:
    """Sampling at falling edges: register toggles, the output row, and at the end the two result files."""
    lines = [
        "  always @(negedge clk) begin",
        "    if (!done && e >= 1) begin",
    ]
    for k, name in enumerate(registers):
        ref = f"dut.{escape_identifier(name)}"
        lines += [
            f"      c{k} = {ref};",
            f"      if (^c{k} === 1'bx) x{k} = 1'b1;",
            f"      else if (^p{k} !== 1'bx) t{k} = t{k} + ones(c{k} ^ p{k});",
            f"      p{k} = c{k};",
        ]
    lines += [
        f"      if (e >= 2) rows[e - 2] = {{{', '.join(parts)}}};",
        "      if (e == edges + 1) begin",
        f'        $writememh("{RESULTS}", rows, 0, edges - 1);',
        f'        ftog = $fopen("{TOGGLES}", "w");',
    ]
    lines += [f'        $fwrite(ftog, "%0d %0d\\n", t{k}, x{k});' for k in range(len(registers))]
    lines += [
        "        $fclose(ftog);",
        "        done <= 1'b1;",
        "        if (finish) $finish;",
        "      end",
        "    end",
        "  end",
        "endmodule",
        "",
    ]
    return lines


def dump_module(scopes: list[str]) -> str:
    """An Icarus module that dumps the given scopes or signals to ``gates.vcd``.

    Parameters
    ----------
    scopes : list of str
        Hierarchical names, each a list of path components joined by ``.``
        *after* escaping (use :func:`hierarchical`).

    Returns
    -------
    str
        Verilog of module ``hdlgen_dump`` (elaborate it with ``-s hdlgen_dump``).
    """
    return (
        f'module {DUMP}();\n  initial begin\n    $dumpfile("gates.vcd");\n'
        f"    $dumpvars(0, {', '.join(scopes)});\n  end\nendmodule\n"
    )


def hierarchical(*parts: str) -> str:
    """A hierarchical reference from unescaped path components, e.g. ``hierarchical("table", "unique")``.

    Parameters
    ----------
    *parts : str
        Instance and signal names, outermost first, as the design names them.

    Returns
    -------
    str
        ``\\table .\\unique `` for keywords, ``a.b`` for simple names.
    """
    return ".".join(escape_identifier(p) for p in parts)


_HEXCHARS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def stimulus_hex(rst: np.ndarray, valid: np.ndarray, packed: np.ndarray, i_width: int) -> bytes:
    """The ``$readmemh`` file of a stimulus: one line ``{rst, i_valid, i_data}`` in hex per edge.

    Parameters
    ----------
    rst, valid : ndarray of bool, shape (edges,)
    packed : ndarray of uint8, shape (edges, in_bytes), or of uint64, shape (edges,)
        ``i_data`` as little-endian bytes (:meth:`PortLayout.pack_input_bytes`),
        or as 64-bit words when ``i_width <= 62`` (faster).
    i_width : int
        Width of ``i_data`` in bits.

    Returns
    -------
    bytes
        ASCII, ``ceil((i_width + 2) / 4)`` digits and a newline per edge.
    """
    edges = len(rst)
    total = i_width + 2
    if packed.ndim == 1:
        word = packed.astype(np.uint64)
        word |= np.asarray(valid, dtype=np.uint64) << np.uint64(i_width)
        word |= np.asarray(rst, dtype=np.uint64) << np.uint64(i_width + 1)
        keep = (total + 3) // 4
        out = np.empty((edges, keep + 1), dtype=np.uint8)
        for k in range(keep):
            out[:, k] = _HEXCHARS[((word >> np.uint64(4 * (keep - 1 - k))) & np.uint64(15)).astype(np.intp)]
        out[:, -1] = ord("\n")
        return out.tobytes()
    nbytes = (total + 7) // 8
    word = np.zeros((edges, nbytes), dtype=np.uint8)
    word[:, : packed.shape[1]] = packed[:, :nbytes]
    for bit, flag in ((i_width, valid), (i_width + 1, rst)):
        word[:, bit // 8] |= np.asarray(flag, dtype=np.uint8) << (bit % 8)
    big = word[:, ::-1]
    digits = np.empty((edges, 2 * nbytes + 1), dtype=np.uint8)
    digits[:, 0:-1:2] = _HEXCHARS[big >> 4]
    digits[:, 1:-1:2] = _HEXCHARS[big & 15]
    digits[:, -1] = ord("\n")
    keep = (total + 3) // 4
    return np.ascontiguousarray(digits[:, 2 * nbytes - keep :]).tobytes()
