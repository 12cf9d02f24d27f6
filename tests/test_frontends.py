"""Importers: NumPy layers, scikit-learn MLPClassifier, QONNX graphs built in the tests."""

from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hdlgen
from hdlgen.cli import main
from hdlgen.frontends import from_layers, from_qonnx, from_sklearn, load_npz


def naive_layers(layers, kinds, bits, X):
    a = np.asarray(X, dtype=np.int64)
    for (W, T), kind, b in zip(layers, kinds, bits, strict=True):
        S = a @ W - T
        a = (S >= 0).astype(np.int64) if kind == "threshold" else np.clip(S, 0, (1 << b) - 1)
    return a


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_from_layers_matches_a_plain_numpy_network(seed: int):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(2, 7)) for _ in range(int(rng.integers(2, 4)))]
    layers, kinds, bits = [], [], []
    for a, b in itertools.pairwise(sizes):
        W = rng.integers(-3, 4, size=(a, b)) * (rng.random((a, b)) < 0.7)
        layers.append((W, rng.integers(-2, 4, size=b)))
        kinds.append(str(rng.choice(["threshold", "relu"])))
        bits.append(int(rng.integers(1, 4)))
    c = from_layers(layers, kinds=kinds, bits=bits, input_bits=2)
    X = rng.integers(0, 4, size=(50, sizes[0]))
    assert np.array_equal(c.evaluate(X), naive_layers(layers, kinds, bits, X))
    assert c.n_connections == sum(int(np.count_nonzero(W)) for W, _ in layers)


def test_npz_round_trip_and_cli(tmp_path: Path, capsys):
    W0 = np.array([[1, -1], [2, 0], [0, 3]])
    W1 = np.array([[1, 1], [-1, 2]])
    path = tmp_path / "net.npz"
    np.savez(
        path,
        W0=W0,
        T0=np.array([1, 2]),
        W1=W1,
        T1=np.array([0, 1]),
        kinds=np.array(["threshold", "relu"]),
        bits=np.array([0, 2]),
        input_bits=np.array(2),
        classes=np.array(["a", "b"]),
    )
    c = load_npz(path)
    assert c.name == "net" and c.meta["classes"] == ["a", "b"] and [i.bits for i in c.inputs] == [2, 2, 2]
    X = np.random.default_rng(0).integers(0, 4, size=(30, 3))
    want = naive_layers([(W0, np.array([1, 2])), (W1, np.array([0, 1]))], ["threshold", "relu"], [None, 2], X)
    assert np.array_equal(c.evaluate(X), want)
    out = tmp_path / "net.json"
    assert main(["import", str(path), "-o", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "npz" and info["size"] == 4 and hdlgen.load(out) == c


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"W0": np.eye(2, dtype=int)}, "key 'T0' is missing"),
        ({"W0": np.eye(2, dtype=int), "T0": np.zeros(2, int), "W2": np.eye(2, dtype=int)}, "key 'W1' is missing"),
        ({"W0": np.eye(2) * 0.5, "T0": np.zeros(2)}, "key 'W0': values must be integers"),
        ({"W0": np.eye(2, dtype=int), "T0": np.zeros(2, int), "Z": np.zeros(1)}, "unknown key 'Z'"),
        ({"W0": np.eye(2, dtype=int), "T0": np.zeros(3, int)}, "3 thresholds for 2 units"),
        ({"W0": np.eye(2, dtype=int), "T0": np.zeros(2, int), "kinds": np.array(["relu"])}, "key 'bits' is needed"),
    ],
)
def test_npz_errors_name_the_key(tmp_path: Path, capsys, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    out = tmp_path / "out.json"
    assert main(["import", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_import_unknown_extension_and_missing_file(tmp_path: Path, capsys):
    (tmp_path / "m.h5").write_text("x")
    assert main(["import", str(tmp_path / "m.h5"), "-o", str(tmp_path / "o.json")]) == 2
    assert "unknown model format '.h5'" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "none.npz"), "-o", str(tmp_path / "o.json")]) == 2
    assert "no such file" in capsys.readouterr().err


# ----------------------------------------------------------------------------- sklearn


@pytest.fixture(scope="module")
def digits_mlp():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    data = load_digits()
    X, y = data.data.astype(np.int64), data.target
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    model = MLPClassifier(hidden_layer_sizes=(24,), max_iter=2000, tol=1e-3, random_state=0).fit(Xtr / 16, ytr)
    return model, Xte, yte


def rounded_forward(model, X, input_bits, input_scale, weight_bits):
    """The documented rounding, written out independently of the importer."""
    qmax = 2 ** (weight_bits - 1) - 1
    a, scale = np.asarray(X, dtype=np.int64), 1 / input_scale
    for k, (W, b) in enumerate(zip(model.coefs_, model.intercepts_, strict=True)):
        m = qmax / np.abs(W).max()
        z = a @ np.round(W * m).astype(np.int64) + np.round(b * m * scale).astype(np.int64)
        if k < len(model.coefs_) - 1:
            a = np.maximum(z, 0)
            scale *= m
    return z


def test_sklearn_mlp_import_is_the_documented_rounding(digits_mlp):
    model, X, y = digits_mlp
    report = from_sklearn(
        model, input_bits=5, input_scale=1 / 16, weight_bits=8, name="mlp", X=X, y=y, approximate=True
    )
    c = report.circuit
    assert c.meta["classes"] == list(range(10)) and c.size == 24 + 10
    assert np.array_equal(hdlgen.ir.classify.predict(c, X), rounded_forward(model, X, 5, 1 / 16, 8).argmax(axis=1))
    assert report.model_accuracy > 0.9 and report.agreement >= 0.97
    assert abs(report.model_accuracy - report.circuit_accuracy) <= 0.02


def test_sklearn_cli_reports_accuracy_loss(tmp_path: Path, capsys, digits_mlp):
    import joblib

    model, X, y = digits_mlp
    joblib.dump(model, tmp_path / "mlp.joblib")
    np.savez(tmp_path / "data.npz", X=X, y=y)
    out = tmp_path / "mlp.json"
    argv = ["import", str(tmp_path / "mlp.joblib"), "-o", str(out), "--input-bits", "5", "--input-scale", "0.0625"]
    argv.append("--trust")
    assert main(argv) == 2  # 2**320 input vectors: not checked exactly, so refused without --approximate
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mlp.joblib: the input domain has 2**320 vectors" in err and not out.exists()
    assert main([*argv, "--approximate", "--data", str(tmp_path / "data.npz"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"model_accuracy", "circuit_accuracy", "agreement"} <= set(info) and info["agreement"] > 0.95
    assert hdlgen.load(out).name == "mlp"


def test_sklearn_binary_and_unsupported(tmp_path: Path, capsys):
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(200, 6))
    y = (X[:, 0] + X[:, 1] + X[:, 2] >= 2).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2000, random_state=0).fit(X, y)
    report = from_sklearn(model, input_bits=1, X=X, y=y)
    assert report.circuit.gates[-1].kind == "threshold" and report.agreement >= 0.97
    tanh = MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", max_iter=3000, random_state=0).fit(X, y)
    with (tmp_path / "tanh.pkl").open("wb") as fh:
        pickle.dump(tanh, fh)
    assert main(["import", str(tmp_path / "tanh.pkl"), "-o", str(tmp_path / "t.json"), "--trust"]) == 2
    assert "activation 'tanh' is not supported" in capsys.readouterr().err
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    assert main(["import", str(tmp_path / "junk.pkl"), "-o", str(tmp_path / "t.json"), "--trust"]) == 2
    assert "cannot load the model" in capsys.readouterr().err


# ----------------------------------------------------------------------------- QONNX


def qonnx_model(nodes, initializers, n_in, n_out, out_name="y"):
    from onnx import TensorProto, helper, numpy_helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [1, n_out])],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in initializers.items()],
    )
    model = ModelWrapper(helper.make_model(graph, producer_name="hdlgen-tests"))
    return model.transform(InferShapes())


def run_qonnx(model, X, scale=1.0):
    from qonnx.core.onnx_exec import execute_onnx

    return np.stack([execute_onnx(model, {"x": (x * scale).astype(np.float32)[None]})["y"][0] for x in X])


def mt(inp, thr, out, **attrs):
    from onnx import helper

    return helper.make_node("MultiThreshold", [inp, thr], [out], domain="qonnx.custom_op.general", name=out, **attrs)


def quant(inp, out, bits, signed, name):
    from onnx import helper

    return helper.make_node(
        "Quant",
        [inp, f"{name}_s", f"{name}_z", f"{name}_b"],
        [out],
        domain="qonnx.custom_op.general",
        signed=signed,
        narrow=0,
        rounding_mode="ROUND",
        name=name,
    )


def test_qonnx_two_layers_with_quant_and_multithreshold():
    from onnx import helper

    rng = np.random.default_rng(3)
    n_in, hidden, n_out = 6, 5, 3
    W1 = rng.normal(0, 1, size=(n_in, hidden))
    W2 = rng.integers(-3, 4, size=(hidden, n_out)).astype(float)
    nodes = [
        quant("x", "xq", 2, 0, "qin"),
        quant("W1", "W1q", 4, 1, "qw"),
        helper.make_node("MatMul", ["xq", "W1q"], ["h"], name="mm1"),
        helper.make_node("Add", ["h", "b1"], ["hb"], name="add1"),
        mt("hb", "T1", "a1", out_dtype="UINT2"),
        helper.make_node("MatMul", ["a1", "W2"], ["z"], name="mm2"),
        mt("z", "T2", "y", out_dtype="BINARY", out_scale=2.0, out_bias=-1.0),
    ]
    inits = {
        "qin_s": 0.5,
        "qin_z": 0.0,
        "qin_b": 2.0,
        "qw_s": 0.25,
        "qw_z": 0.0,
        "qw_b": 4.0,
        "W1": W1,
        "b1": rng.normal(0, 0.3, size=hidden),
        "W2": W2,
        "T1": np.sort(rng.normal(0, 1, size=(hidden, 3)), axis=1),
        "T2": rng.integers(-2, 3, size=(1, 1)),
    }
    model = qonnx_model(nodes, inits, n_in, n_out)
    c = from_qonnx(model.model, name="q2")
    X = np.array([[int(b) for b in np.binary_repr(k, 12)] for k in range(0, 4096, 7)]).reshape(-1, 6, 2)
    X = X[..., 0] * 2 + X[..., 1]
    got = c.evaluate(X)
    want = run_qonnx(model, X, 0.5)  # the graph input is 0.5 * the circuit's integer input
    assert c.meta["output_affine"]  # bipolar outputs: the threshold gates, mapped back by the affine
    aff = c.meta["output_affine"][0]
    assert np.array_equal((got + aff["lower"]) / aff["mu"], want)
    assert [i.bits for i in c.inputs] == [2] * n_in
    assert sum(g.kind == "threshold" for g in c.gates) <= hidden * 3 + n_out


def test_qonnx_plain_multithreshold_outputs_are_the_gates():
    from onnx import helper

    W = np.array([[1, -2], [3, 1], [-1, 1]], dtype=float)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["s"], name="mm"), mt("s", "T", "y", out_dtype="BINARY")]
    model = qonnx_model(nodes, {"W": W, "T": np.array([[1.5], [0.0]])}, 3, 2)
    c = from_qonnx(model.model)
    X = np.array([[a, b, d] for a in (0, 1) for b in (0, 1) for d in (0, 1)])
    assert np.array_equal(c.evaluate(X), run_qonnx(model, X)) and c.outputs == ["y_0", "y_1"]


def test_qonnx_relu_and_gemm():
    from onnx import helper

    W = np.array([[0.5, -1.0], [1.5, 0.5], [1.0, 1.0]])
    nodes = [
        helper.make_node("Gemm", ["x", "Wt", "b"], ["s"], transB=1, name="gemm"),
        helper.make_node("Relu", ["s"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "V"], ["z"], name="mm"),
        mt("z", "T", "y", out_dtype="BINARY"),
    ]
    inits = {"Wt": W.T, "b": np.array([0.5, -0.5]), "V": np.array([[1.0], [-2.0]]), "T": np.array([[0.75]])}
    model = qonnx_model(nodes, inits, 3, 1)
    c = from_qonnx(model.model)
    X = np.array([[a, b, d] for a in (0, 1) for b in (0, 1) for d in (0, 1)])
    assert np.array_equal(c.evaluate(X), run_qonnx(model, X))
    assert any(g.kind == "relu" for g in c.gates)


def test_qonnx_unsupported_node_is_named(tmp_path: Path, capsys):
    import onnx
    from onnx import helper

    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["s"], name="mm"),
        helper.make_node("Sigmoid", ["s"], ["y"], name="act"),
    ]
    model = qonnx_model(nodes, {"W": np.eye(2)}, 2, 2)
    onnx.save(model.model, tmp_path / "m.onnx")
    out = tmp_path / "m.json"
    assert main(["import", str(tmp_path / "m.onnx"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "node 'act' (Sigmoid): unsupported node type 'Sigmoid'" in err and not out.exists()
    nodes = [helper.make_node("MatMul", ["x", "W"], ["s"], name="mm"), mt("s", "T", "y", out_dtype="BINARY")]
    model = qonnx_model(nodes, {"W": np.array([[1.0, np.e], [np.pi, 1.0]]), "T": np.zeros((1, 1))}, 2, 2)
    onnx.save(model.model, tmp_path / "irr.onnx")
    assert main(["import", str(tmp_path / "irr.onnx"), "-o", str(out)]) == 2
    assert "float32 rounds its sums" in capsys.readouterr().err


def test_qonnx_signed_input_quant_becomes_offset_unsigned_inputs():
    from onnx import helper

    W = np.array([[1.0, -1.0], [2.0, 1.0], [-1.0, 3.0]])
    nodes = [
        quant("x", "xq", 3, 1, "qin"),  # signed 3-bit inputs: -4..3
        helper.make_node("MatMul", ["xq", "W"], ["s"], name="mm"),
        mt("s", "T", "y", out_dtype="UINT2"),
    ]
    inits = {"qin_s": 1.0, "qin_z": 0.0, "qin_b": 3.0, "W": W, "T": np.array([[-2.0, 0.5, 3.0]])}
    model = qonnx_model(nodes, inits, 3, 2)
    c = from_qonnx(model.model)
    assert [i.bits for i in c.inputs] == [3, 3, 3]
    U = np.array([[a, b, d] for a in range(8) for b in range(8) for d in range(0, 8, 3)])
    # Each channel's count of thresholds reached (three threshold gates) leaves as one relu gate.
    aff = c.meta["output_affine"][0]
    counts = (c.evaluate(U) + aff["lower"]) / aff["mu"]
    want = run_qonnx(model, U - 4)  # circuit input u stands for u - 4
    assert np.array_equal(counts, want) and sum(g.kind == "threshold" for g in c.gates) == 6
