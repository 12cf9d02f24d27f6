"""The HDL player of the power flow: a Verilog module that plays a stimulus file into a netlist.

The power flow dumps every net of a mapped netlist to a VCD, so it runs the
netlist under this small player (text stimulus in, text results out) inside
its own self-clocked testbench (:func:`hdlgen.power.run.testbench`). The
verification flow's testbench, with its toggle counters and chunked runs, is
:func:`hdlgen.sim.testbench.bench_verilog`.
"""

from __future__ import annotations

from hdlgen.ir.keywords import escape_identifier

__all__ = ["PLAYER", "player_verilog"]

PLAYER = "hdlgen_player"


def player_verilog(top: str, in_width: int, out_width: int, energy_width: int, class_width: int | None) -> str:
    """A Verilog module that plays the stimulus into ``top`` and records its outputs, all in HDL.

    It reads ``stimulus.txt`` (one line per clock edge: ``rst i_valid i_data``
    in hex) and writes ``results.txt`` (one line per edge: ``o_valid o_data
    o_energy [o_class]`` after the edge), both in the simulator's working
    directory. The clock comes from outside (cocotb): no Python runs per
    edge. Inputs change right after rising edges (non-blocking assignments)
    and outputs are sampled on falling edges, after a first rising edge that
    resets the design, as the cocotb driver does.

    ``top`` is the netlist's module name as Yosys names it, unescaped
    (a circuit named ``const`` or ``logic``): it is escaped here when it is
    not a plain Verilog identifier.
    """
    cls = class_width is not None
    fmt = "%h %h %h %h" if cls else "%h %h %h"
    ports = "o_valid, o_data, o_energy" + (", o_class" if cls else "")
    return f"""
module {PLAYER}(input clk, output reg done);
  reg rst = 1'b1;
  reg i_valid = 1'b0;
  reg [{in_width - 1}:0] i_data = 0;
  wire o_valid;
  wire [{out_width - 1}:0] o_data;
  wire [{energy_width - 1}:0] o_energy;
{f"  wire [{(class_width or 1) - 1}:0] o_class;" if cls else ""}
  {escape_identifier(top)} dut (.clk(clk), .rst(rst), .i_valid(i_valid), .i_data(i_data), .o_valid(o_valid),
    .o_data(o_data), .o_energy(o_energy){", .o_class(o_class)" if cls else ""});
  integer fin, fout, r, posedges = 0;
  reg last = 1'b0;
  reg v_rst, v_valid;
  reg [{in_width - 1}:0] v_data;
  initial begin
    done = 1'b0;
    fin = $fopen("stimulus.txt", "r");
    fout = $fopen("results.txt", "w");
  end
  // Inputs for the next edge are set with non-blocking assignments at this edge,
  // so the design samples the previous ones: no race, and they are stable at the falling edge.
  always @(posedge clk) begin
    if (!done && !last) begin
      r = $fscanf(fin, "%h %h %h\\n", v_rst, v_valid, v_data);
      if (r == 3) begin
        rst <= v_rst;
        i_valid <= v_valid;
        i_data <= v_data;
      end else begin
        last <= 1'b1;
      end
    end
    posedges <= posedges + 1;
  end
  // The state after each stimulus edge (the first edge only resets the design).
  always @(negedge clk) begin
    if (!done && posedges >= 2) begin
      $fwrite(fout, "{fmt}\\n", {ports});
      if (last) begin
        $fclose(fout);
        done <= 1'b1;
      end
    end
  end
endmodule
"""
