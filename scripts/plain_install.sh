#!/usr/bin/env bash
# A plain `pip install hdlgen` (no extras) into a fresh virtual environment, then every command on an example:
# info, eval, verilog, sim, synth, report, sweep, construct, bound, verify, build, train, import (npz, ONNX,
# skops). Fails on any non-zero exit.
# Usage: bash scripts/plain_install.sh [WORKDIR]   (default: a temporary folder, removed afterwards)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=${PYTHON:-python3}
if [ $# -ge 1 ]; then
    work="$1"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi
echo "plain-install: fresh venv in $work/venv, pip install $repo (no extras)" >&2
"$PYTHON" -m venv "$work/venv"
# pip's own progress bars on a terminal; -q in logs (as scripts/setup.sh)
quiet=-q
[ -t 1 ] && [ -t 2 ] && quiet=
"$work/venv/bin/python" -m pip install $quiet --upgrade pip
"$work/venv/bin/python" -m pip install $quiet "$repo"
hdlgen="$work/venv/bin/hdlgen"
cd "$work"
cp "$repo/examples/or2.json" or2.json
printf 'x0,x1\n0,0\n0,1\n1,0\n1,1\n' > vectors.csv
cat > grid.toml <<'TOML'
[sweep]
task = "construct-cd"
output = "cd-sweep.csv"

[grid]
n = [4]
energy = [2]
depth = [2]
TOML
# one model of each importer's format, made with the core dependencies only
"$work/venv/bin/python" - <<'PY'
import numpy as np
import onnx
import skops.io as sio
from onnx import TensorProto, helper, numpy_helper
from sklearn.neural_network import MLPClassifier

np.savez("net.npz", W0=np.array([[1], [1]]), T0=np.array([2]))
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "W"], ["y"])],
    "g",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
    [numpy_helper.from_array(np.array([[1.0], [-2.0]], dtype=np.float32), "W")],
)
onnx.save(helper.make_model(graph), "net.onnx")
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 10)
sio.dump(MLPClassifier((3,), solver="lbfgs", max_iter=2000, random_state=0).fit(X, X[:, 0] | X[:, 1]), "mlp.skops")
PY
step() {
    echo "plain-install: hdlgen $*" >&2
    "$hdlgen" "$@" >/dev/null || { echo "plain-install: error: 'hdlgen $*' exited $?" >&2; exit 1; }
}
step --version
step info or2.json
step eval or2.json vectors.csv
step verilog or2.json -o or2.v
step sim or2.json --exhaustive
step synth or2.json --target ice40-up5k
step report or2.json -o or2.html
step sweep grid.toml -o cd-sweep.csv --workers 1
step construct cd --n 4 --energy 2 --depth 2 -o cd4.json
step bound or2.json
step verify or2.json --formal
step build or2.json --board icebreaker -o build
step train --dataset digits --epochs 1 --hidden 4 --energy-time-limit 1 -o trained.json
step import net.npz -o net.json
step import net.onnx -o onnx.json
step import mlp.skops -o mlp.json
echo "plain-install: all commands ran" >&2
