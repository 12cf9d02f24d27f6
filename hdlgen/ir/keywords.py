"""Reserved words of Verilog-2005 and SystemVerilog-2017, and escaping of identifiers.

A circuit, gate or input may be named ``table`` or ``logic``: every piece of
Verilog that hdlgen writes (testbenches, dump modules, hierarchical
references) passes names through :func:`escape_identifier`, so such names
build on Icarus (``-g2012``) and Verilator alike.
"""

from __future__ import annotations

import re

__all__ = ["VERILOG_KEYWORDS", "escape_identifier", "is_simple_identifier"]

#: Every reserved word of IEEE 1800-2017 (SystemVerilog) Annex B, which contains all
#: those of IEEE 1364-2005 (Verilog) Annex B.
VERILOG_KEYWORDS = frozenset(
    """accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before begin
    bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class clocking cmos
    config const constraint context continue cover covergroup coverpoint cross deassign default defparam design
    disable dist do edge else end endcase endchecker endclass endclocking endconfig endfunction endgenerate
    endgroup endinterface endmodule endpackage endprimitive endprogram endproperty endspecify endsequence
    endtable endtask enum event eventually expect export extends extern final first_match for force foreach
    forever fork forkjoin function generate genvar global highz0 highz1 if iff ifnone ignore_bins illegal_bins
    implements implies import incdir include initial inout input inside instance int integer interconnect
    interface intersect join join_any join_none large let liblist library local localparam logic longint
    macromodule matches medium modport module nand negedge nettype new nexttime nmos nor noshowcancelled not
    notif0 notif1 null or output package packed parameter pmos posedge primitive priority program property
    protected pull0 pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase
    randsequence rcmos real realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran
    rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence shortint
    shortreal showcancelled signed small soft solve specify specparam static string strong strong0 strong1
    struct super supply0 supply1 sync_accept_on sync_reject_on table tagged task this throughout time
    timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef union unique
    unique0 unsigned until until_with untyped use uwire var vectored virtual void wait wait_order wand weak
    weak0 weak1 while wildcard wire with within wor xnor xor""".split()
)

_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")


def is_simple_identifier(name: str) -> bool:
    """True when ``name`` can be written as it is in Verilog and SystemVerilog (not a keyword).

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    return bool(_SIMPLE.match(name)) and name not in VERILOG_KEYWORDS


def escape_identifier(name: str) -> str:
    """``name`` as a Verilog identifier: as it is when simple, else escaped (``\\name`` and a space).

    Parameters
    ----------
    name : str
        Printable ASCII without whitespace (what Yosys and Amaranth emit).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        When ``name`` is empty or contains whitespace or non-printable characters
        (no Verilog identifier can hold them).
    """
    if is_simple_identifier(name):
        return name
    if not name or any(not (33 <= ord(c) <= 126) for c in name):
        raise ValueError(f"{name!r} cannot be a Verilog identifier")
    return f"\\{name} "
