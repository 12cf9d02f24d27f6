"""The simulation's fast paths equal the slow ones they replace (no simulator needed)."""

from __future__ import annotations

import numpy as np
import pytest

from hdlgen.hdl.model import bit_toggles, simulate_pipeline
from hdlgen.ir.ports import PortLayout
from hdlgen.ir.vectors import random_vectors
from hdlgen.random_circuits import random_circuit, random_layered
from hdlgen.sim.activity import expected_toggles, pack_words, stage_valid, unpack_words
from hdlgen.sim.run import check_options, make_stimulus
from hdlgen.sim.testbench import stimulus_hex


def circuits():
    yield random_layered(7, [5, 4, 3], fan_in=4, seed=2, relu_fraction=0.4, relu_bits=3, skip=True)
    for seed in (1, 3, 5, 8):
        yield random_circuit(seed)


@pytest.mark.parametrize("gating", ["rtz", "delta", "none"])
@pytest.mark.parametrize("pipeline", [False, True])
def test_expected_toggles_equal_the_pipeline_model(gating: str, pipeline: bool):
    for k, c in enumerate(circuits()):
        X = random_vectors(c, 150, k)
        for schedule in ("back-to-back", "gaps", "random", "reset"):
            for idle in ("zero", "random"):
                options = check_options(gating=gating, schedule=schedule, idle=idle, pipeline=pipeline)
                st = make_stimulus(c, X, options, PortLayout.of(c, pipeline).latency, k)
                fast = expected_toggles(c, X, st.index, st.i_valid, st.rst, st.data, gating, pipeline)
                model = simulate_pipeline(c, st.data, st.i_valid, st.rst, gating, pipeline)
                slow = dict(zip((g.name for g in c.gates), bit_toggles(model.gates).tolist(), strict=True))
                assert fast == slow, (k, schedule, idle)


def test_stage_valid_is_cleared_by_reset():
    valid = np.array([1, 1, 1, 0, 1, 1], dtype=bool)
    rst = np.array([0, 1, 0, 0, 0, 0], dtype=bool)
    assert stage_valid(valid, rst, 1).tolist() == valid.tolist()
    assert stage_valid(valid, rst, 2).astype(int).tolist() == [0, 1, 0, 1, 0, 1]
    assert stage_valid(valid, rst, 3).astype(int).tolist() == [0, 0, 0, 0, 1, 0]


def test_word_packing_equals_the_port_layout():
    for k, c in enumerate(circuits()):
        layout = PortLayout.of(c)
        X = random_vectors(c, 300, k)
        words = pack_words(layout, X)
        assert words is not None and [int(w) for w in words] == layout.pack_inputs(X)
        rst = np.arange(300) % 7 == 0
        valid = np.arange(300) % 3 != 0
        assert stimulus_hex(rst, valid, words, layout.i_width) == stimulus_hex(
            rst, valid, layout.pack_input_bytes(X), layout.i_width
        )
        rng = np.random.default_rng(k)
        data = rng.integers(0, 256, size=(300, layout.out_bytes), dtype=np.uint8)
        assert np.array_equal(unpack_words(layout, data), layout.unpack_output_bytes(data))


def test_one_reference_pass_gives_outputs_and_activity():
    from hdlgen.ir.reference import Reference
    from hdlgen.sim.run import _outputs_and_activity

    for k, c in enumerate(circuits()):
        X = random_vectors(c, 100, k)
        want, act = Reference(c).run(X)
        got, got_act = _outputs_and_activity(c, X, Reference(c).gate_values(X))
        assert np.array_equal(want, got) and np.array_equal(act, got_act)
