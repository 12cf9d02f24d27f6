"""Training on digits, classifier circuits, argmax in hardware, dataset evaluation in the reference and RTL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hdlgen
from hdlgen.cli import main
from hdlgen.datasets import encode_pixels, load_dataset
from hdlgen.ir.classify import class_labels, predict
from hdlgen.learn import TrainConfig, evaluate_dataset, train_digits, train_network
from hdlgen.random_circuits import random_layered
from tests.amaranth_harness import run as run_amaranth


def test_dataset_split_and_encoding_are_documented():
    d = load_dataset("digits", 2)
    assert d.X_train.shape == (1347, 64) and d.X_test.shape == (450, 64)
    assert d.X_train.max() == 3 and d.X_train.min() == 0
    assert np.bincount(d.y_test).min() >= 43  # stratified: class 8 has 174 images, a quarter is 43.5
    assert encode_pixels(np.array([0, 3, 4, 7, 8, 15, 16]), 1).tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert encode_pixels(np.array([0, 3, 4, 16]), 2).tolist() == [0, 0, 1, 3]
    again = load_dataset("digits", 2)
    assert np.array_equal(again.X_test, d.X_test) and np.array_equal(again.y_test, d.y_test)
    with pytest.raises(hdlgen.UsageError, match="load_dataset reads 'digits'"):
        load_dataset("mnist")


@pytest.fixture(scope="module")
def small_net():
    """A quick threshold network (few epochs): for the plumbing, not the accuracy."""
    return train_digits(kind="threshold", hidden=(16,), fan_in=8, epochs=12, energy_time_limit=None)


def test_trained_circuit_is_what_the_report_says(small_net):
    c = small_net.circuit
    c.validate()
    assert class_labels(c) == [str(k) for k in range(10)]
    assert c.meta["dataset"]["name"] == "digits" and c.meta["dataset"]["split_seed"] == 0
    assert c.meta["training"]["fan_in"] == 8 and c.depth == 2
    assert all(len(g.inputs) <= 8 for g in c.gates)
    data = load_dataset("digits", c.meta["dataset"]["input_bits"])
    ev = evaluate_dataset(c, data)
    assert ev["accuracy"] == small_net.metrics["test_accuracy"] > 0.5
    outputs, act = c._reference.run(data.X_test)
    assert ev["mean_activity"] == round(act.mean() / c.size, 6)
    assert np.array_equal(predict(c, data.X_test), outputs.argmax(axis=1))


def test_training_is_deterministic():
    a = train_digits(kind="relu", hidden=(8,), fan_in=6, epochs=5, energy_time_limit=None)
    b = train_digits(kind="relu", hidden=(8,), fan_in=6, epochs=5, energy_time_limit=None)
    assert a.circuit.to_json() == b.circuit.to_json()
    assert any(g.kind == "relu" and g.bits == 2 for g in a.circuit.gates if g.name.startswith("h"))


def test_fan_in_and_activity_penalty_do_what_they_say():
    d = load_dataset("digits", 1)
    common = dict(input_bits=1, classes=d.classes)
    lazy = train_network(d.X_train, d.y_train, TrainConfig(hidden=(24,), fan_in=6, epochs=25), **common)
    quiet = train_network(
        d.X_train, d.y_train, TrainConfig(hidden=(24,), fan_in=6, epochs=25, energy_penalty=4.0), **common
    )
    assert max(len(g.inputs) for g in lazy.circuit.gates) <= 6
    act = [n.circuit.activity(d.X_train).mean() / n.circuit.size for n in (lazy, quiet)]
    assert act[1] < act[0]


def test_bad_training_parameters():
    d = load_dataset("digits", 1)
    with pytest.raises(hdlgen.UsageError, match="fan-in must be at least 1"):
        train_network(d.X_train, d.y_train, TrainConfig(fan_in=0), 1, d.classes)
    with pytest.raises(hdlgen.CircuitError, match=r"training inputs must lie in \[0, 2\)"):
        train_network(d.X_train * 2, d.y_train, TrainConfig(), 1, d.classes)


def test_cli_train_eval_and_errors(tmp_path: Path, capsys):
    out = tmp_path / "net.json"
    argv = ["train", "--dataset", "digits", "--hidden", "12", "--fan-in", "6", "--epochs", "8", "-o", str(out)]
    assert main([*argv, "--energy-time-limit", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"test_accuracy", "mean_activity", "energy", "size", "n_connections", "energy_exact"} <= set(data)
    assert main(["eval", str(out), "--dataset", "digits", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["accuracy"] == data["test_accuracy"] and ev["mean_activity"] == data["mean_activity"]
    assert main(["eval", str(out), "--dataset", "digits", "-"]) == 2
    assert "VECTORS or --dataset" in capsys.readouterr().err
    other = tmp_path / "or2.json"
    other.write_text(
        json.dumps({"format": "hdlgen-circuit", "version": 1, "inputs": ["a"], "gates": [], "outputs": ["a"]})
    )
    assert main(["eval", str(other), "--dataset", "digits"]) == 2
    assert "has 1 inputs; 'digits' has 64 features" in capsys.readouterr().err
    plain = tmp_path / "plain.json"
    inputs = [f"x{k}" for k in range(64)]
    plain.write_text(
        json.dumps({"format": "hdlgen-circuit", "version": 1, "inputs": inputs, "gates": [], "outputs": inputs[:2]})
    )
    assert main(["eval", str(plain), "--dataset", "digits"]) == 2
    assert "is not a classifier" in capsys.readouterr().err
    assert main(["train", "--dataset", "digits", "--fan-in", "0", "-o", str(tmp_path / "x.json")]) == 2
    assert not (tmp_path / "x.json").exists()


def test_digits_output_fan_in_is_its_own_budget(tmp_path: Path, capsys):
    """--output-fan-in bounds the class outputs only; without it the outputs share --fan-in (and meta is as before)."""
    argv = ["train", "--dataset", "digits", "--input-bits", "1", "--hidden", "40", "--fan-in", "4", "--epochs", "10"]
    wide, narrow = tmp_path / "wide.json", tmp_path / "narrow.json"
    assert main([*argv, "--output-fan-in", "12", "--energy-time-limit", "1", "--json", "-o", str(wide)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fan_in"] == 4 and data["output_fan_in"] == 12
    assert main([*argv, "--energy-time-limit", "1", "--json", "-o", str(narrow)]) == 0
    assert json.loads(capsys.readouterr().out)["output_fan_in"] == 4
    for path, out_k in ((wide, 12), (narrow, 4)):
        c = hdlgen.load(path)
        outs = [g for g in c.gates if g.name in c.outputs]
        hidden = [g for g in c.gates if g.name not in c.outputs]
        assert len(outs) == 10 and max(len(g.inputs) for g in hidden) <= 4
        assert max(len(g.inputs) for g in outs) == out_k  # the budget is reached: the outputs use it
        # every hidden gate is read by some output, so a wider output budget keeps more of them
        assert len(hidden) <= 10 * out_k
    assert hdlgen.load(wide).meta["training"]["output_fan_in"] == 12
    assert "output_fan_in" not in hdlgen.load(narrow).meta["training"]
    assert len(hdlgen.load(wide).gates) > len(hdlgen.load(narrow).gates)


# ---------------------------------------------------------------- argmax in hardware


def classifier(seed: int) -> hdlgen.Circuit:
    c = random_layered(5, (4, 3), fan_in=3, seed=seed, relu_fraction=0.6, input_bits=[1, 2, 1, 3, 1])
    c.meta = {**(c.meta or {}), "classes": [f"c{k}" for k in range(len(c.outputs))]}
    return c


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_o_class_is_the_first_largest_output(seed: int):
    c = classifier(seed)
    rng = np.random.default_rng(seed)
    X = np.stack([rng.integers(0, i.max_value + 1, size=40) for i in c.inputs], axis=1)
    valid = np.ones(len(X), dtype=bool)
    res = run_amaranth(c, "rtz", X, valid)
    lat = max(1, c.depth)
    got = res["o_class"][lat - 1 : lat - 1 + len(X) - lat + 1]
    want = predict(c, X)[: len(got)]
    assert np.array_equal(got, want)


def test_ties_go_to_the_first_output():
    c = hdlgen.Circuit("ties", meta={"classes": ["a", "b", "c"]})
    x = c.add_inputs("x", 2)
    for k, t in enumerate((1, 0, 1)):
        c.add_gate(f"o{k}", x, [1, 1], t)
    c.add_output("o0", "o1", "o2")
    X = np.array([[0, 0], [1, 0], [1, 1]] * 2)
    res = run_amaranth(c, "rtz", X, np.ones(len(X), bool))
    assert res["o_class"][: len(X)].tolist() == [1, 0, 0] * 2
    assert predict(c, X).tolist() == [1, 0, 0] * 2


def test_non_classifier_has_no_o_class(examples: Path):
    from hdlgen.hdl import to_verilog

    assert "o_class" not in to_verilog(hdlgen.load(examples / "cd8.json")).text
    bad = hdlgen.Circuit("bad", meta={"classes": ["only one"]})
    bad.add_input("a")
    bad.add_output("a")
    with pytest.raises(hdlgen.CircuitError, match="one label per output"):
        class_labels(bad)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_sim_dataset_accuracy_equals_reference(tmp_path: Path, capsys, small_net, simulator: str):
    path = tmp_path / "net.json"
    small_net.circuit.save(path)
    assert main(["sim", str(path), "--dataset", "digits", "--simulator", simulator, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["classes_checked"] and data["vectors"] == 450
    assert data["accuracy"] == data["reference_accuracy"] == small_net.metrics["test_accuracy"]
    assert data["mean_activity"] == data["reference_mean_activity"]


@pytest.mark.slow
def test_link_returns_the_class(small_net):
    from hdlgen import protocol as p
    from hdlgen.ir.ports import PortLayout
    from hdlgen.sim.link import exchange_frames

    c = small_net.circuit
    X = load_dataset("digits", 2).X_test[:5]
    lay = p.Layout.of(c)
    assert lay.classes == 10 and p.Layout.from_info(lay.info_payload()) == lay
    words = PortLayout.of(c).pack_inputs(X)
    frames = [p.encode(p.HELLO)] + [p.encode(p.INFER, w.to_bytes(lay.in_bytes, "little")) for w in words]
    answers = [p.decode(a)[0] for a in exchange_frames(c, frames, "verilator")]
    assert answers[0].payload == lay.info_payload()
    classes = [r.payload[-1] for r in answers[1:]]
    assert all(len(r.payload) == lay.result_bytes for r in answers[1:])
    assert classes == predict(c, X).tolist()


@pytest.mark.slow
def test_relu_digits_target_with_pipeline():
    """The relu network: accuracy >= 0.95, activity <= 25%, fits the UP5K at >= 24 MHz with --pipeline."""
    from hdlgen.synth import synthesize

    report = train_digits(kind="relu", energy_time_limit=None)
    assert report.metrics["test_accuracy"] >= 0.95 and report.metrics["mean_activity"] <= 0.25
    assert report.metrics["train_seconds"] < 180
    result = synthesize(report.circuit, "ice40-up5k", pipeline=True)
    assert result.luts <= 5280 and result.logic_cells <= 5280 and result.fmax_mhz >= 24


@pytest.mark.slow
def test_hdlgen_run_prints_the_boards_class(capsys, tmp_path: Path):
    from tests.link_bridge import SimulatedBoard

    c = hdlgen.Circuit("ties", meta={"classes": ["a", "b", "c"]})
    x = c.add_inputs("x", 2)
    for k, t in enumerate((1, 0, 1)):
        c.add_gate(f"o{k}", x, [1, 1], t)
    c.add_output("o0", "o1", "o2")
    c.save(tmp_path / "ties.json")
    (tmp_path / "v.csv").write_text("0,0\n1,0\n1,1\n")
    with SimulatedBoard(c) as board:
        argv = ["run", "--port", board.port, "--circuit", str(tmp_path / "ties.json"), str(tmp_path / "v.csv")]
        assert main([*argv, "--check", "--timeout", "30"]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert lines[0] == "o0,o1,o2,energy,class"
    assert [line.split(",")[-1] for line in lines[1:]] == ["1", "0", "0"]
