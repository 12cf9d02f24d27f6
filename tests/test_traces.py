"""Trace readers (SAIF, VCD, testbench results) and testbench text, without a simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hdlgen.errors import ToolError
from hdlgen.ir.keywords import VERILOG_KEYWORDS, escape_identifier
from hdlgen.sim.testbench import hierarchical, stimulus_hex
from hdlgen.sim.traces import read_results, read_saif, register_toggles, saif_toggles, vcd_toggles

SAIF = r"""(SAIFILE
(SAIFVERSION "2.0")
(DIRECTION "backward")
(DESIGN "foo")
(VENDOR "Verilator")
(DIVIDER / )
(TIMESCALE 1 ps)
(DURATION 100)
  (INSTANCE TOP
    (NET
      (clk (T0 50) (T1 50) (TZ 0) (TX 0) (TB 0) (TC 20))
    )
    (INSTANCE \table
      (NET
        (g0 (T0 60) (T1 40) (TZ 0) (TX 0) (TB 0) (TC 7))
        (unique\[0\] (T0 60) (T1 40) (TZ 0) (TX 0) (TB 0) (TC 3))
        (unique\[1\] (T0 60) (T1 30) (TZ 0) (TX 10) (TB 0) (TC 4))
        (lut_out (T0 10) (T1 90) (TC 1))
      )
      (INSTANCE sub
        (NET
          (g0 (T0 100) (T1 0) (TC 0))
        )
      )
    )
  )
)
"""


def test_saif_reader_returns_every_net_by_hierarchical_name(tmp_path: Path):
    nets = read_saif(SAIF)
    assert set(nets) == {
        "TOP/clk",
        "TOP/table/g0",
        "TOP/table/unique[0]",
        "TOP/table/unique[1]",
        "TOP/table/lut_out",
        "TOP/table/sub/g0",
    }
    assert nets["TOP/clk"].TC == 20 and nets["TOP/table/unique[1]"].TX == 10
    assert nets["TOP/table/lut_out"].T1 == 90 and nets["TOP/table/lut_out"].TX == 0
    (tmp_path / "d.saif").write_text(SAIF)
    assert read_saif(tmp_path / "d.saif") == nets


def test_saif_register_toggles_sum_bits_and_flag_unknowns(tmp_path: Path):
    counts, unknown = register_toggles(read_saif(SAIF), {"a": "g0", "b": "unique"}, scope="TOP/table")
    assert counts == {"a": 7, "b": 7} and unknown == ["b"]
    (tmp_path / "d.saif").write_text(SAIF)
    with pytest.raises(ToolError, match="none of the registers"):
        saif_toggles(tmp_path / "d.saif", {"a": "missing"})
    with pytest.raises(ToolError, match="not a SAIF"):
        read_saif("(hello)")


VCD = """$date today $end
$timescale 1ps $end
$scope module top $end
$var reg 1 ! g0 $end
$var reg 3 " \\unique $end
$var wire 1 # clk $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
b0 "
0#
$end
#10
1!
b101 "
1#
#20
0!
b1 "
#30
bx1 "
#40
b11 "
"""


def test_vcd_toggles_count_known_changes_and_flag_x(tmp_path: Path):
    (tmp_path / "d.vcd").write_text(VCD)
    counts, unknown = vcd_toggles(tmp_path / "d.vcd", {"a": "g0", "b": "unique", "c": "absent"})
    # g0: 0->1->0 = 2. unique: 000->101 (2), 101->001 (1), then bx1 = xx1 (X is extended to the left):
    # no known bit changes into or out of it.
    assert counts == {"a": 2, "b": 3}
    assert unknown == ["b"]
    (tmp_path / "bad.vcd").write_text("$var reg 1 ! g0 $end\n")
    with pytest.raises(ToolError, match="not a readable VCD"):
        vcd_toggles(tmp_path / "bad.vcd", {"a": "g0"})


def test_vcd_reader_equals_pyvcd(tmp_path: Path):
    """The line reader counts what pyvcd's tokenizer sees (the library as the oracle)."""
    from vcd.reader import TokenKind, tokenize

    (tmp_path / "d.vcd").write_text(VCD.replace("bx1", "b111"))
    ids, last, counts = {}, {}, {"g0": 0, "unique": 0}
    with (tmp_path / "d.vcd").open("rb") as f:
        for tok in tokenize(f):
            if tok.kind is TokenKind.VAR and tok.data.reference.lstrip("\\") in counts:
                ids[tok.data.id_code] = tok.data.reference.lstrip("\\")
            elif tok.kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR) and tok.data.id_code in ids:
                value = int(str(tok.data.value), 2) if tok.kind is TokenKind.CHANGE_SCALAR else tok.data.value
                name = ids[tok.data.id_code]
                if name in last:
                    counts[name] += bin(last[name] ^ value).count("1")
                last[name] = value
    mine, _ = vcd_toggles(tmp_path / "d.vcd", {"g0": "g0", "unique": "unique"})
    assert mine == counts


def test_results_reader_keeps_unknowns():
    # o_valid (1 digit), o_data (5 bits: 2 digits), o_energy (3 bits: 1 digit).
    text = "11f3\n0x00\n10X2\n1zz1\n"
    r = read_results(text, {"o_valid": 1, "o_data": 5, "o_energy": 3}, 4)
    assert r.values["o_valid"].tolist() == [True, False, True, True]
    assert r.values["o_data"][:, 0].tolist() == [0x1F, 0, 0, 0]
    assert r.values["o_energy"].tolist() == [3, 0, 2, 1]
    assert r.unknown["o_data"].tolist() == [False, True, True, True]
    assert r.first_unknown() == (1, "o_data")
    binary = read_results("1101\n0x01\n", {"o_valid": 1, "o_data": 2, "o_energy": 1}, 2, base=2)
    assert binary.values["o_data"][:, 0].tolist() == [2, 0] and binary.unknown["o_data"].tolist() == [False, True]


def test_results_reader_refuses_short_or_garbled_files():
    with pytest.raises(ToolError, match="wrote 1 lines for 2 edges"):
        read_results("11f3\n", {"o_valid": 1, "o_data": 5, "o_energy": 3}, 2)
    with pytest.raises(ToolError, match="line 2 has a character"):
        read_results("11f3\n1g00\n", {"o_valid": 1, "o_data": 5, "o_energy": 3}, 2)
    # Icarus writes address comments between the words.
    r = read_results("// 0x00000000\n11f3\n// 0x00000001\n0000\n", {"o_valid": 1, "o_data": 5, "o_energy": 3}, 2)
    assert r.values["o_valid"].tolist() == [True, False]


def test_wide_outputs_round_trip():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(20, 9), dtype=np.uint8)  # 72-bit o_data
    lines = ["1" + bytes(row[::-1]).hex() + "7" for row in data]
    r = read_results("\n".join(lines) + "\n", {"o_valid": 1, "o_data": 72, "o_energy": 3}, 20)
    assert np.array_equal(r.values["o_data"], data) and (r.values["o_energy"] == 7).all()


def test_stimulus_hex_packs_rst_valid_and_data():
    rst = np.array([1, 0, 0], dtype=bool)
    valid = np.array([0, 1, 1], dtype=bool)
    packed = np.array([[0x00, 0x00], [0xFF, 0x03], [0x01, 0x00]], dtype=np.uint8)  # i_width 10
    text = stimulus_hex(rst, valid, packed, 10).decode()
    # {rst, i_valid, i_data[9:0]}: 12 bits, 3 digits.
    assert text.split() == ["800", "7ff", "401"]


def test_keywords_cover_verilog_2005_and_systemverilog_2017():
    for word in ("table", "unique", "bit", "logic", "design", "edge", "local", "rand", "untyped", "nettype"):
        assert word in VERILOG_KEYWORDS
        assert escape_identifier(word) == f"\\{word} "
    assert escape_identifier("g0") == "g0" and escape_identifier("a.b") == "\\a.b "
    assert hierarchical("table", "g0") == "\\table .g0"
    with pytest.raises(ValueError, match="cannot be a Verilog identifier"):
        escape_identifier("a b")
    assert len(VERILOG_KEYWORDS) == 248
