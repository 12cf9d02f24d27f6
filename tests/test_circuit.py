"""The circuit model: building, JSON round trip, validation (docs/circuit-format.md)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

import hdlgen
from hdlgen import Circuit, CircuitError
from hdlgen.random_circuits import random_circuit

GOOD = {
    "format": "hdlgen-circuit",
    "version": 1,
    "name": "cd8_e2_d2",
    "inputs": ["x0", "x1", {"name": "pix", "bits": 4}],
    "gates": [
        {"name": "r0", "kind": "relu", "inputs": ["g0", "pix"], "weights": [3, 2], "threshold": 0, "bits": 4},
        {"name": "g0", "kind": "threshold", "inputs": ["x0", "x1"], "weights": [1, -1], "threshold": 1},
    ],
    "outputs": ["r0", "g0"],
    "meta": {"anything": "free-form, kept on round trip"},
}


def test_spec_example_loads_in_any_gate_order():
    c = Circuit.from_dict(GOOD)
    assert c.size == 2 and c.depth == 2 and c.weight == 3 and c.max_threshold == 1
    assert c.input_bits == 6 and c.n_inputs == 3
    assert [g.name for g in c.topological_gates] == ["g0", "r0"]
    assert c.level("g0") == 1 and c.level("r0") == 2 and c.level("pix") == 0
    # g0 = x0 - x1 >= 1 ; r0 = min(max(0, 3 g0 + 2 pix), 15)
    y = c.evaluate([[1, 0, 5], [0, 1, 7], [0, 0, 0]])
    assert y.tolist() == [[13, 1], [14, 0], [0, 0]]
    assert c.activity([[1, 0, 5], [0, 1, 7], [0, 0, 0]]).tolist() == [2, 1, 0]


def test_round_trip_and_deterministic_bytes(tmp_path: Path):
    c = Circuit.from_dict(GOOD)
    p1, p2 = tmp_path / "a.json", tmp_path / "b.json"
    c.save(p1)
    d = hdlgen.load(p1)
    assert d == c and d.meta == GOOD["meta"]
    d.save(p2)
    assert p1.read_bytes() == p2.read_bytes()
    assert json.loads(p1.read_text()) == {**GOOD, "gates": GOOD["gates"]}


@pytest.mark.parametrize("seed", range(30))
def test_random_round_trip(tmp_path: Path, seed: int):
    c = random_circuit(seed)
    c.save(tmp_path / "c.json")
    assert hdlgen.load(tmp_path / "c.json") == c
    assert Circuit.from_dict(c.to_dict()).to_json() == c.to_json()


def test_name_defaults_to_file_stem(tmp_path: Path):
    d = {k: v for k, v in GOOD.items() if k != "name"}
    (tmp_path / "my-net.json").write_text(json.dumps(d))
    assert hdlgen.load(tmp_path / "my-net.json").name == "my_net"


def test_builder_and_layers():
    c = Circuit("net")
    xs = c.add_inputs("x", 3)
    h = c.add_layer("h", xs, np.array([[1, 0], [2, -1], [0, 1]]), [1, 0])
    c.add_gate("y", h, [1, 1], threshold=2)
    c.add_output("y")
    assert c.gate("h0").inputs == ("x0", "x1") and c.gate("h1").inputs == ("x1", "x2")
    assert c.n_connections == 6
    assert c.levels[0][0].name == "h0" and c.depth == 2


def test_constant_gate_and_input_outputs():
    c = Circuit("k")
    c.add_input("a")
    c.add_gate("one", [], [], threshold=0)
    c.add_gate("zero", [], [], threshold=1)
    c.add_output("one", "zero", "a")
    assert c.evaluate([[0], [1]]).tolist() == [[1, 0, 0], [1, 0, 1]]
    only_inputs = Circuit("wires")
    only_inputs.add_input("a")
    only_inputs.add_output("a")
    assert only_inputs.validate().depth == 0


def mutate(path: str, value):
    d = copy.deepcopy(GOOD)
    keys = path.split(".")
    target = d
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    last = keys[-1]
    if value is KeyError:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return d


BAD = [
    (mutate("format", "other"), "format"),
    (mutate("version", 2), "version"),
    (mutate("version", True), "version"),
    (mutate("inputs", KeyError), "missing key 'inputs'"),
    (mutate("extra", 1), "unknown key 'extra'"),
    (mutate("gates.0.treshold", 1), "gate 'r0': unknown key 'treshold'"),
    (mutate("gates.0.threshold", KeyError), "gate 'r0': missing key 'threshold'"),
    (mutate("gates.0.bits", KeyError), "gate 'r0': a relu gate needs bits"),
    (mutate("gates.0.bits", 33), "gate 'r0': bits"),
    (mutate("gates.1.bits", 2), "gate 'g0': bits is for relu gates"),
    (mutate("gates.0.kind", "sigmoid"), "gate 'r0': kind"),
    (mutate("gates.0.weights", [3]), "gate 'r0': 1 weights for 2 inputs"),
    (mutate("gates.0.weights", [3, 2.0]), "gate 'r0': weights[1] must be an integer"),
    (mutate("gates.0.weights", [3, True]), "gate 'r0': weights[1] must be an integer"),
    (mutate("gates.0.threshold", 0.5), "gate 'r0': threshold must be an integer"),
    (mutate("gates.0.inputs", ["g0", "nope"]), "gate 'r0': unknown input 'nope'"),
    (mutate("gates.0.inputs", ["g0", "g0"]), "gate 'r0': input 'g0' appears more than once"),
    (mutate("gates.1.name", "r0"), "duplicate name 'r0'"),
    (mutate("gates.1.name", "x0"), "duplicate name 'x0'"),
    (mutate("gates.1.name", "9lives"), "must match"),
    (mutate("gates.1.inputs", ["x0", "r0"]), "gate 'r0': cycle r0 -> g0 -> r0"),
    (mutate("outputs", []), "at least one output"),
    (mutate("outputs", ["zz"]), "outputs[0]: unknown name 'zz'"),
    (mutate("inputs.2.bits", 0), "input 'pix': bits"),
    (mutate("inputs.2", {"name": "pix"}), "inputs[2]: missing key 'bits'"),
    (mutate("inputs.2", 7), "inputs[2]"),
    (mutate("gates.0.weights", [2**61, 2**61]), "beyond the 2**62 range"),
    ({**GOOD, "inputs": [], "gates": [], "outputs": ["a"]}, "unknown name 'a'"),
    ([], "top level must be a JSON object"),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_messages(tmp_path: Path, data, message: str):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CircuitError) as info:
        hdlgen.load(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
    assert isinstance(info.value, ValueError)


def test_malformed_json_and_missing_file(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "hdlgen-circuit",\n "version": 1,,}')
    with pytest.raises(CircuitError, match=r"broken.json: line 2 column \d+: malformed JSON"):
        hdlgen.load(path)
    with pytest.raises(CircuitError, match=r"nothere\.json: no such file"):
        hdlgen.load(tmp_path / "nothere.json")


def test_empty_circuit_is_an_error():
    c = Circuit("empty")
    with pytest.raises(CircuitError, match="at least one output"):
        c.validate()


def test_save_writes_nothing_for_a_bad_circuit(tmp_path: Path):
    c = Circuit("bad")
    c.add_input("a")
    c.add_gate("g", ["b"], [1], threshold=1)
    c.add_output("g")
    with pytest.raises(CircuitError, match="unknown input 'b'"):
        c.save(tmp_path / "out.json")
    assert list(tmp_path.iterdir()) == []


def test_vector_range_checks():
    c = Circuit.from_dict(GOOD)
    with pytest.raises(CircuitError, match=r"row 2, input 'pix': value 16 out of range \[0, 15\]"):
        c.evaluate([[0, 0, 0], [0, 0, 16]])
    with pytest.raises(CircuitError, match="shape"):
        c.evaluate([[0, 0]])
    with pytest.raises(CircuitError, match="not an integer"):
        c.evaluate(np.array([[0, 0, 0.5]]))
