"""QONNX importer: equal to qonnx's own ``execute_onnx`` on every input, or one-line refusals.

Each test builds a graph, imports it, evaluates the circuit on every input code,
maps codes and outputs through ``meta["input_affine"]`` / ``meta["output_affine"]``
and compares with qonnx executing the same graph on the same real values, exactly.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("qonnx")

from hdlgen.cli import main
from hdlgen.errors import CircuitError
from hdlgen.frontends import from_qonnx
from hdlgen.frontends.qonnx import ROUNDING_MODES

DOMAIN = "qonnx.custom_op.general"
QONNX_MODES = [m for m in ROUNDING_MODES if m != "ROUND_TO_ZERO"]  # qonnx 1.0 executes these names


def build(nodes, inits, n_in, n_out, batch=1, out="y"):
    from onnx import TensorProto, helper, numpy_helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, n_in])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [batch, n_out])],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()],
    )
    return ModelWrapper(helper.make_model(graph, producer_name="hdlgen-tests")).transform(InferShapes())


def quant(inp, out, name, inits, scale, zeropt, bits, signed, narrow=0, mode="ROUND"):
    from onnx import helper

    inits[f"{name}_s"], inits[f"{name}_z"], inits[f"{name}_b"] = scale, zeropt, float(bits)
    return helper.make_node(
        "Quant",
        [inp, f"{name}_s", f"{name}_z", f"{name}_b"],
        [out],
        domain=DOMAIN,
        signed=int(signed),
        narrow=int(narrow),
        rounding_mode=mode,
        name=name,
    )


def bipolar(inp, out, name, inits, scale):
    from onnx import helper

    inits[f"{name}_s"] = scale
    return helper.make_node("BipolarQuant", [inp, f"{name}_s"], [out], domain=DOMAIN, name=name)


def mt(inp, thr, out, name=None, **attrs):
    from onnx import helper

    return helper.make_node("MultiThreshold", [inp, thr], [out], domain=DOMAIN, name=name or out, **attrs)


def node(op, inputs, out, **attrs):
    from onnx import helper

    return helper.make_node(op, inputs, [out], name=f"{op.lower()}_{out}", **attrs)


def all_codes(circuit):
    """Every input code the model can produce (``max_code`` bounds narrow Quant ranges)."""
    tops = {
        a["input"]: a.get("max_code", (1 << i.bits) - 1)
        for a, i in zip(circuit.meta["input_affine"], circuit.inputs, strict=True)
    }
    ranges = [range(tops[i.name] + 1) for i in circuit.inputs]
    return np.array(list(itertools.product(*ranges)), dtype=np.int64).reshape(-1, len(circuit.inputs))


def real_inputs(circuit, codes):
    aff = circuit.meta["input_affine"]
    assert [a["input"] for a in aff] == [i.name for i in circuit.inputs]
    return np.stack([(codes[:, k] + a["lower"]) / a["mu"] for k, a in enumerate(aff)], axis=1).astype(np.float32)


def circuit_values(circuit, codes):
    out = circuit.evaluate(codes).astype(np.float64)
    aff = {a["output"]: a for a in circuit.meta.get("output_affine", [])}
    for k, name in enumerate(circuit.outputs):
        if name in aff:
            out[:, k] = (out[:, k] + aff[name]["lower"]) / aff[name]["mu"]
    return out


def assert_equals_qonnx(make, n_in, n_out):
    """Import ``make(batch)``'s graph and compare with qonnx on every input code; return the circuit."""
    from qonnx.core.onnx_exec import execute_onnx

    circuit = from_qonnx(make(1).model)
    codes = all_codes(circuit)
    X = real_inputs(circuit, codes)
    model = make(len(codes))
    want = execute_onnx(model, {"x": X})["y"].reshape(len(codes), -1).astype(np.float64)
    got = circuit_values(circuit, codes)
    bad = np.flatnonzero(np.any(got != want, axis=1))
    assert bad.size == 0, f"codes {codes[bad[0]]}: circuit {got[bad[0]]}, qonnx {want[bad[0]]}"
    return circuit


# ------------------------------------------------------------------------------- issue cases


def test_bipolar_quant_inputs_are_minus_one_plus_one():
    def make(batch):
        inits = {"W": np.array([[2.0], [-1.0], [1.0]]), "T": np.array([[1.5]])}
        nodes = [
            quant("x", "xq", "qin", inits, 1.0, 0.0, 1, signed=1),
            node("MatMul", ["xq", "W"], "h"),
            mt("h", "T", "y", out_dtype="BINARY"),
        ]
        return build(nodes, inits, 3, 1, batch)

    c = assert_equals_qonnx(make, 3, 1)
    codes = all_codes(c)
    fired = {tuple(int(2 * b - 1) for b in row) for row, y in zip(codes, c.evaluate(codes)[:, 0], strict=True) if y}
    assert fired == {(1, -1, 1), (1, 1, 1), (1, -1, -1)}


def test_bipolar_quantized_weights_do_not_collapse():
    def make(batch):
        inits = {"W": np.array([[0.7], [-0.2], [0.4]]), "T": np.array([[0.5]])}
        nodes = [
            quant("W", "Wq", "qw", inits, 1.0, 0.0, 1, signed=1),
            node("MatMul", ["x", "Wq"], "h"),
            mt("h", "T", "y", out_dtype="BINARY"),
        ]
        return build(nodes, inits, 3, 1, batch)

    c = assert_equals_qonnx(make, 3, 1)
    assert c.gates[0].weights == (1, -1, 1) and c.gates[0].threshold == 1


def test_float_threshold_a_few_ulp_above_an_integer():
    def make(batch):
        inits = {"W": np.ones((4, 1)) * 3, "T": np.array([[np.float32(7.0000005)]])}
        nodes = [node("MatMul", ["x", "W"], "h"), mt("h", "T", "y", out_dtype="BINARY")]
        return build(nodes, inits, 4, 1, batch)

    from onnx import TensorProto, helper, numpy_helper

    # integer sums of 2-bit inputs: qonnx needs a sum of 8, not 7
    inits = {"W": np.ones((2, 1)), "T": np.array([[np.float32(7.0000005)]])}
    g = helper.make_graph(
        [node("MatMul", ["x", "W"], "h"), mt("h", "T", "y", out_dtype="BINARY")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in inits.items()],
    )
    c = from_qonnx(helper.make_model(g), input_bits=3)
    assert c.gates[0].threshold == 8
    assert_equals_qonnx(make, 4, 1)


def test_infinite_thresholds_are_constants_and_nan_is_refused(tmp_path: Path, capsys):
    import onnx

    def make(batch, T=((-np.inf, 0.5, np.inf),)):
        inits = {"W": np.array([[1.0], [1.0]]), "T": np.array(T)}
        nodes = [node("MatMul", ["x", "W"], "h"), mt("h", "T", "y", out_dtype="UINT2")]
        return build(nodes, inits, 2, 1, batch)

    c = assert_equals_qonnx(make, 2, 1)
    assert sum(g.kind == "threshold" for g in c.gates) == 1  # only the 0.5 threshold is a gate
    onnx.save(make(1, T=((0.5, np.nan),)).model, tmp_path / "nan.onnx")
    out = tmp_path / "nan.json"
    assert main(["import", str(tmp_path / "nan.onnx"), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "nan.onnx" in err and "node 'y' (MultiThreshold)" in err and "NaN" in err
    assert len(err.splitlines()) == 1 and not out.exists()


def test_bipolar_quant_on_an_activation_is_a_sign_gate():
    def make(batch):
        inits = {"W": np.array([[1.0, -1.0], [2.0, 1.0]]), "b": np.array([-1.5, 0.5])}
        nodes = [
            node("MatMul", ["x", "W"], "h"),
            node("Add", ["h", "b"], "hb"),
            bipolar("hb", "y", "sign", inits, 0.5),
        ]
        return build(nodes, inits, 2, 2, batch)

    from onnx import TensorProto, helper

    c = assert_equals_qonnx(make, 2, 2)
    assert [g.kind for g in c.gates] == ["threshold", "threshold"]
    del TensorProto, helper


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_relu_then_quant_is_a_clamped_relu_gate(bits):
    def make(batch):
        inits = {"W": np.array([[1.0, 2.0], [3.0, -1.0], [1.0, 1.0]]), "b": np.array([-1.0, 2.0])}
        nodes = [
            node("MatMul", ["x", "W"], "h"),
            node("Add", ["h", "b"], "hb"),
            node("Relu", ["hb"], "r"),
            quant("r", "y", "qrelu", inits, 1.0, 0.0, bits, signed=0),
        ]
        return build(nodes, inits, 3, 2, batch)

    c = assert_equals_qonnx(make, 3, 2)
    assert all(g.kind == "relu" for g in c.gates) and len(c.gates) == 2
    assert all(g.bits <= bits for g in c.gates)


@pytest.mark.parametrize("mode", QONNX_MODES)
@pytest.mark.parametrize(("signed", "narrow", "bits"), [(1, 0, 3), (1, 1, 3), (0, 0, 2), (0, 1, 3), (1, 0, 1)])
def test_every_quant_parameter_on_weights_and_activations(mode, signed, narrow, bits):
    def make(batch):
        inits = {
            "W": np.array([[0.3, -1.26, 0.5], [1.5, 0.74, -0.25]]),
            "b": np.array([0.25, -0.5, 0.0]),
        }
        nodes = [
            quant("x", "xq", "qin", inits, 0.5, 0.0, 2, signed=0),
            quant("W", "Wq", "qw", inits, np.array([0.25, 0.5, 0.125]), 0.0, bits, signed, narrow, mode),
            node("MatMul", ["xq", "Wq"], "h"),
            node("Add", ["h", "b"], "hb"),
            quant("hb", "y", "qact", inits, 0.25, 1.0, bits, signed, narrow, mode),
        ]
        return build(nodes, inits, 2, 3, batch)

    assert_equals_qonnx(make, 2, 3)


def test_round_to_zero_is_down():
    inits: dict = {"W": np.array([[0.3, -1.7]])}
    from qonnx.custom_op.general.quant import quant as qonnx_quant

    w = np.array([0.3, -1.7], dtype=np.float32) / np.float32(0.25)
    want = qonnx_quant(w * np.float32(0.25), np.float32(0.25), np.float32(0), np.float32(4), 1, 0, "DOWN")
    assert np.array_equal(ROUNDING_MODES["ROUND_TO_ZERO"](w) * np.float32(0.25), want)
    del inits


def test_non_ascii_names_are_sanitized_and_messages_name_file_and_node(tmp_path: Path, capsys):
    import onnx

    inits = {"W": np.array([[1.0], [1.0]]), "T": np.array([[1.0]])}
    nodes = [node("MatMul", ["x", "W"], "h"), mt("h", "T", "y", name="poids_ß", out_dtype="BINARY")]
    path = tmp_path / "Gewicht_ü.onnx"
    onnx.save(build(nodes, inits, 2, 1).model, path)
    out = tmp_path / "c.json"
    assert main(["import", str(path), "-o", str(out)]) == 0
    import hdlgen

    c = hdlgen.load(out)
    assert c.name == "Gewicht_u" and [g.name for g in c.gates] == ["poids_ss_0"]
    capsys.readouterr()
    nodes = [node("MatMul", ["x", "W"], "h"), node("Sigmoid", ["h"], "y")]
    nodes[1].name = "aktivierung_ä"
    onnx.save(build(nodes, inits, 2, 1).model, path)
    assert main(["import", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(path) in err and "node 'aktivierung_ä' (Sigmoid)" in err and len(err.splitlines()) == 1


def test_float32_rounding_that_qonnx_does_is_refused():
    inits = {"W": np.array([[0.1], [0.3]]), "T": np.array([[0.35]])}
    nodes = [node("MatMul", ["x", "W"], "h"), mt("h", "T", "y", out_dtype="BINARY")]
    with pytest.raises(CircuitError, match=r"node 'matmul_h' \(MatMul\): output channel 0: float32 rounds"):
        from_qonnx(build(nodes, inits, 2, 1).model, input_bits=8)


# ------------------------------------------------------------------------------- property test


SCALES = [1.0, 0.5, 0.25, 2.0, 0.75, 0.1, 0.3]


def random_graph(seed: int):
    """A random small QONNX graph (as a function of the batch size) and its sizes."""
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(1, 4))
    inits: dict = {}
    nodes = []

    def pick(seq):
        return seq[int(rng.integers(len(seq)))]

    kind = pick(["raw", "quant", "bipolar", "quant1"])
    if kind == "raw":
        cur, input_bits = "x", int(rng.integers(1, 3))
    elif kind == "bipolar":
        nodes.append(bipolar("x", "xq", "qin", inits, pick(SCALES)))
        cur, input_bits = "xq", 1
    else:
        bits = 1 if kind == "quant1" else int(rng.integers(1, 4))
        signed = 1 if kind == "quant1" else int(rng.integers(2))
        nodes.append(
            quant("x", "xq", "qin", inits, pick(SCALES), pick([0.0, 0.0, 1.0, 0.5]), bits, signed, int(rng.integers(2)))
        )
        cur, input_bits = "xq", 1
    if rng.random() < 0.3:
        nodes.append(node("Flatten", [cur], "fl"))
        cur = "fl"
    width = n_in
    n_layers = int(rng.integers(1, 3))
    for layer in range(n_layers):
        out_w = int(rng.integers(1, 4))
        W = rng.normal(0, 1.5, size=(width, out_w))
        wname = f"W{layer}"
        inits[wname] = W
        r = rng.random()
        if r < 0.5:
            q = f"W{layer}q"
            nodes.append(
                quant(
                    wname,
                    q,
                    f"qw{layer}",
                    inits,
                    pick(SCALES),
                    0.0,
                    int(rng.integers(1, 5)),
                    int(rng.integers(2)),
                    int(rng.integers(2)),
                    pick(QONNX_MODES),
                )
            )
            wname = q
        elif r < 0.6:
            q = f"W{layer}q"
            nodes.append(bipolar(wname, q, f"qw{layer}", inits, pick(SCALES)))
            wname = q
        else:
            inits[wname] = np.round(W * 2) / 2
        if rng.random() < 0.3:
            bias = rng.normal(0, 1, size=out_w)
            inits[f"b{layer}"] = bias if rng.random() < 0.5 else np.round(bias * 2)
            nodes.append(node("Gemm", [cur, wname, f"b{layer}"], f"h{layer}"))
        else:
            nodes.append(node("MatMul", [cur, wname], f"h{layer}"))
        cur = f"h{layer}"
        if rng.random() < 0.4:
            inits[f"a{layer}"] = rng.normal(0, 1, size=out_w) if rng.random() < 0.5 else np.full(out_w, 0.5)
            nodes.append(node(pick(["Add", "Sub"]), [cur, f"a{layer}"], f"ha{layer}"))
            cur = f"ha{layer}"
        if rng.random() < 0.2:
            inits[f"m{layer}"] = np.array(pick([2.0, 0.5, -1.0, 0.3]))
            nodes.append(node("Mul", [cur, f"m{layer}"], f"hm{layer}"))
            cur = f"hm{layer}"
        act = pick(["mt", "relu", "reluquant", "quant", "bipolar", "none"])
        last = layer == n_layers - 1
        out = "y" if last else f"a{layer}o"
        if act == "mt":
            k = int(rng.integers(1, 4))
            T = np.sort(rng.normal(0, 2, size=(out_w if rng.random() < 0.7 else 1, k)), axis=1)
            if rng.random() < 0.2:
                T[0, 0] = -np.inf
            if rng.random() < 0.5:
                T = np.round(T * 2) / 2
            inits[f"T{layer}"] = T
            attrs = {"out_dtype": "UINT4"}
            if rng.random() < 0.3:
                attrs.update(out_scale=pick([2.0, 0.5]), out_bias=pick([-1.0, 0.0, 0.25]))
            nodes.append(mt(cur, f"T{layer}", out, **attrs))
        elif act == "relu":
            nodes.append(node("Relu", [cur], out))
        elif act == "reluquant":
            nodes.append(node("Relu", [cur], f"r{layer}"))
            nodes.append(
                quant(
                    f"r{layer}",
                    out,
                    f"qa{layer}",
                    inits,
                    pick(SCALES),
                    0.0,
                    int(rng.integers(1, 4)),
                    int(rng.integers(2)),
                    int(rng.integers(2)),
                    pick(QONNX_MODES),
                )
            )
        elif act == "quant":
            nodes.append(
                quant(
                    cur,
                    out,
                    f"qa{layer}",
                    inits,
                    pick(SCALES),
                    pick([0.0, 1.0]),
                    int(rng.integers(1, 4)),
                    int(rng.integers(2)),
                    int(rng.integers(2)),
                    pick(QONNX_MODES),
                )
            )
        elif act == "bipolar":
            nodes.append(bipolar(cur, out, f"qa{layer}", inits, pick(SCALES)))
        else:
            nodes.append(node("Identity", [cur], out))
        cur, width = out, out_w
        if last:
            break
    if rng.random() < 0.3:
        inits["shape"] = np.array([1, width])
    return (lambda batch: build(nodes, inits, n_in, width, batch)), input_bits


def check_random_graph(seed: int) -> str:
    from qonnx.core.onnx_exec import execute_onnx

    make, input_bits = random_graph(seed)
    try:
        circuit = from_qonnx(make(1).model, input_bits=input_bits)
    except CircuitError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("<model>")
        return "refused"
    codes = all_codes(circuit)
    X = real_inputs(circuit, codes)
    want = execute_onnx(make(len(codes)), {"x": X})["y"].reshape(len(codes), -1).astype(np.float64)
    got = circuit_values(circuit, codes)
    bad = np.flatnonzero(np.any(got != want, axis=1))
    assert bad.size == 0, f"seed {seed}: codes {codes[bad[0]]}: circuit {got[bad[0]]}, qonnx {want[bad[0]]}"
    return "equal"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_random_qonnx_graphs_equal_qonnx_or_are_refused(seed: int):
    check_random_graph(seed)


@pytest.mark.slow
def test_random_qonnx_graphs_many():
    outcomes = [check_random_graph(seed) for seed in range(1500)]
    assert outcomes.count("equal") >= 700  # the importer refuses only what float32 rounding makes inexact


@pytest.mark.slow
def test_mnist_sized_quant_relu_network_equals_qonnx():
    """784 2-bit inputs, 4-bit weights, a float bias before QuantReLU, 10 outputs: 300 random inputs."""
    from qonnx.core.onnx_exec import execute_onnx

    rng = np.random.default_rng(0)
    inits = {"W1": rng.normal(0, 0.3, (784, 64)), "b1": rng.normal(0, 1, 64), "W2": rng.normal(0, 0.5, (64, 10))}
    nodes = [
        quant("x", "xq", "qin", inits, 0.25, 0.0, 2, 0),
        quant("W1", "W1q", "qw1", inits, 2.0**-4, 0.0, 4, 1),
        node("MatMul", ["xq", "W1q"], "h1"),
        node("Add", ["h1", "b1"], "h1b"),
        node("Relu", ["h1b"], "r1"),
        quant("r1", "a1", "qa1", inits, 0.5, 0.0, 3, 0),
        quant("W2", "W2q", "qw2", inits, 2.0**-3, 0.0, 4, 1),
        node("MatMul", ["a1", "W2q"], "y"),
    ]
    circuit = from_qonnx(build(nodes, inits, 784, 10).model)
    codes = rng.integers(0, 4, (300, 784))
    want = execute_onnx(build(nodes, inits, 784, 10, 300), {"x": real_inputs(circuit, codes)})["y"]
    assert np.array_equal(circuit_values(circuit, codes), want.astype(np.float64))


def test_float64_quant_parameters_follow_qonnx_dtypes():
    """A Quant scale stored as DOUBLE: qonnx divides in float64 (-1019.25 / 0.3 rounds to -3398, not -3397)."""
    from onnx import TensorProto, helper, numpy_helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    def make(batch):
        inits = [
            numpy_helper.from_array(np.array(0.3, dtype=np.float64), "s"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float64), "z"),
            numpy_helper.from_array(np.array(16.0, dtype=np.float32), "b"),
            numpy_helper.from_array(np.array([[0.25]], dtype=np.float32), "W"),
            numpy_helper.from_array(np.array([-1020.0], dtype=np.float32), "c"),
        ]
        nodes = [
            node("MatMul", ["x", "W"], "h"),
            node("Add", ["h", "c"], "hc"),
            helper.make_node(
                "Quant",
                ["hc", "s", "z", "b"],
                ["y"],
                domain=DOMAIN,
                signed=1,
                narrow=0,
                rounding_mode="ROUND",
                name="q",
            ),
        ]
        graph = helper.make_graph(
            nodes,
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 1])],
            inits,
        )
        return ModelWrapper(helper.make_model(graph)).transform(InferShapes())

    c = from_qonnx(make(1).model, input_bits=2)
    codes = all_codes(c)
    want = execute_onnx(make(len(codes)), {"x": real_inputs(c, codes)})["y"]
    assert np.array_equal(circuit_values(c, codes), want.astype(np.float64))


def _f(a, name):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def _malformed():
    from onnx import helper

    q = ["x", "s", "z", "b"]
    qp = [_f(1, "s"), _f(0, "z"), _f(2, "b")]
    return {
        "(Quant): input 2 is missing": ([helper.make_node("Quant", ["x", "s"], ["y"], domain=DOMAIN)], [_f(1, "s")]),
        "bit width must be one integer": (
            [helper.make_node("Quant", q, ["y"], domain=DOMAIN)],
            [_f(1, "s"), _f(0, "z"), _f(2.5, "b")],
        ),
        "signed and narrow must be 0 or 1": ([helper.make_node("Quant", q, ["y"], domain=DOMAIN, signed=2)], qp),
        "rounding mode 'NEAREST' is not one qonnx executes": (
            [helper.make_node("Quant", q, ["y"], domain=DOMAIN, rounding_mode="NEAREST")],
            qp,
        ),
        "thresholds of shape (1,)": ([mt("x", "T", "y")], [_f([0.5], "T")]),
        "out_scale and out_bias must be finite": ([mt("x", "T", "y", out_scale=float("inf"))], [_f([[0.5]], "T")]),
        "weights of shape (3, 1) for 2 input channels": ([node("MatMul", ["x", "W"], "y")], [_f(np.ones((3, 1)), "W")]),
        "transA is not supported": ([node("Gemm", ["x", "W"], "y", transA=1)], [_f(np.ones((2, 1)), "W")]),
        "needs one input that depends on the graph input and one constant": ([node("Add", ["x", "x"], "y")], []),
        "non-zero for Div": ([node("Div", ["x", "c"], "y")], [_f(0, "c")]),
        "input 'nope' is not produced": ([node("Relu", ["nope"], "y")], []),
        "only the 'value' attribute": ([node("Constant", [], "c"), node("Add", ["x", "c"], "y")], []),
        "graph output 'y' does not depend on the graph input": ([node("Identity", ["c"], "y")], [_f(1, "c")]),
    }


@pytest.mark.parametrize("message", list(_malformed()))
def test_malformed_graphs_are_refused_in_one_line(message):
    from onnx import TensorProto, helper

    nodes, inits = _malformed()[message]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    with pytest.raises(CircuitError) as info:
        from_qonnx(helper.make_model(graph), source="m.onnx")
    text = str(info.value)
    assert text.startswith("m.onnx: ") and message in text and "\n" not in text
