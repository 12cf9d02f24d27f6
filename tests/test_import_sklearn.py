"""scikit-learn importer: equal to ``predict`` on every input of small domains, safe model files."""

from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hdlgen
from hdlgen.cli import main
from hdlgen.errors import CircuitError
from hdlgen.frontends import from_sklearn, load_sklearn


def fit(seed: int, n_in: int, hidden: tuple[int, ...], target: str, activation: str = "relu"):
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, size=(160, n_in))
    if target == "binary":
        y = (X[:, 0] + X[:, -1] >= 1).astype(int)
    elif target == "multiclass":
        y = X[:, : min(2, n_in)].sum(axis=1)
    else:
        y = np.c_[X[:, 0] & X[:, -1], X[:, 0] | X[:, -1], (X.sum(axis=1) >= 2).astype(int)]
    # Adam stops when the loss no longer improves (tol over n_iter_no_change epochs), far below the
    # iteration cap; lbfgs's line search fails on networks whose narrow relu layers die.
    model = MLPClassifier(
        hidden, activation=activation, solver="adam", learning_rate_init=0.02, max_iter=5000, random_state=seed
    )
    return model.fit(X, y), X, y


def all_inputs(n_in: int, bits: int = 1) -> np.ndarray:
    return np.array(list(itertools.product(range(1 << bits), repeat=n_in)), dtype=np.int64)


def circuit_predict(report, model, X):
    c = report.circuit
    out = c.evaluate(X)
    if "labels" in c.meta:
        return out
    if "binary_classes" in c.meta:
        return np.asarray(model.classes_)[out[:, 0]]
    return np.asarray(model.classes_)[hdlgen.ir.classify.predict(c, X, outputs=out)]


@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_small_mlps_equal_predict_on_every_input(target):
    model, X, y = fit(1, 4, (6,), target)
    report = from_sklearn(model, input_bits=1, X=X, y=y)
    grid = all_inputs(4)
    assert report.checked == "exhaustive" and report.agreement == 1.0
    assert np.array_equal(circuit_predict(report, model, grid), model.predict(grid))


def test_multilabel_is_one_decision_per_label(tmp_path: Path, capsys):
    import skops.io as sio

    model, X, y = fit(2, 4, (8,), "multilabel")
    report = from_sklearn(model, input_bits=1, X=X, y=y)
    c = report.circuit
    assert len(c.outputs) == 3 and all(c.gate(o).kind == "threshold" for o in c.outputs)
    assert "classes" not in c.meta and c.meta["labels"] == [0, 1, 2]
    assert report.label_agreement == [1.0, 1.0, 1.0]
    sio.dump(model, tmp_path / "ml.skops")
    np.savez(tmp_path / "data.npz", X=X, y=y)
    out = tmp_path / "ml.json"
    assert (
        main(["import", str(tmp_path / "ml.skops"), "-o", str(out), "--data", str(tmp_path / "data.npz"), "--json"])
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert info["label_agreement"] == [1.0, 1.0, 1.0] and info["checked"] == "exhaustive"


class Boom:
    """Unpickling this runs ``open(marker, 'w')``: a stand-in for code a downloaded file would run."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib"])
def test_pickles_are_refused_without_trust_and_never_run(tmp_path: Path, capsys, suffix):
    marker = tmp_path / "ran"
    path = tmp_path / f"evil{suffix}"
    path.write_bytes(pickle.dumps(Boom(str(marker))))
    out = tmp_path / "o.json"
    assert main(["import", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(path) in err and "--trust" in err and len(err.splitlines()) == 1
    assert not marker.exists() and not out.exists()


def test_skops_is_the_default_and_untrusted_types_are_refused(tmp_path: Path, capsys):
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    model, X, _ = fit(3, 3, (5,), "binary")
    sio.dump(model, tmp_path / "m.skops")
    loaded = load_sklearn(tmp_path / "m.skops")
    assert np.array_equal(loaded.predict(X), model.predict(X))
    sio.dump(make_pipeline(FunctionTransformer(json.dumps)), tmp_path / "p.skops")
    assert main(["import", str(tmp_path / "p.skops"), "-o", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert "p.skops: untrusted type" in err and not (tmp_path / "p.json").exists()
    (tmp_path / "junk.skops").write_bytes(b"PK\x03\x04 not a zip")
    assert main(["import", str(tmp_path / "junk.skops"), "-o", str(tmp_path / "j.json")]) == 2
    assert "junk.skops: not a readable .skops file" in capsys.readouterr().err


@pytest.mark.parametrize("activation", ["tanh", "logistic", "identity"])
def test_other_activations_are_refused(activation):
    model, _, _ = fit(4, 3, (4,), "binary", activation)
    with pytest.raises(CircuitError, match=f"activation '{activation}' is not supported"):
        from_sklearn(model)


def check_random_mlp(seed: int) -> str:
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(2, 6))
    hidden = tuple(int(h) for h in rng.integers(2, 7, size=int(rng.integers(1, 3))))
    target = ["binary", "multiclass", "multilabel"][int(rng.integers(3))]
    model, _, _ = fit(seed, n_in, hidden, target)
    try:
        report = from_sklearn(model, input_bits=1, weight_bits=int(rng.integers(2, 9)))
    except CircuitError as exc:
        assert "\n" not in str(exc)
        return "refused"
    grid = all_inputs(n_in)
    assert np.array_equal(circuit_predict(report, model, grid), model.predict(grid)), seed
    return "equal"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_random_mlps_equal_predict_or_are_refused(seed: int):
    check_random_mlp(seed)


@pytest.mark.slow
def test_random_mlps_many():
    outcomes = [check_random_mlp(seed) for seed in range(400)]
    assert outcomes.count("equal") >= 350
