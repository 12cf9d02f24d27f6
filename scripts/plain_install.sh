#!/usr/bin/env bash
# A plain `pip install hdlgen` (no extras) into a fresh virtual environment, then every everyday command
# on an example: info, eval, verilog, sim, synth, report, sweep, import. Fails on any non-zero exit.
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
"$work/venv/bin/python" -m pip install -q --upgrade pip
"$work/venv/bin/python" -m pip install -q "$repo"
hdlgen="$work/venv/bin/hdlgen"
cd "$work"
cp "$repo/examples/or2.json" or2.json
printf 'x0,x1\n0,0\n0,1\n1,0\n1,1\n' > vectors.csv
cat > grid.toml <<'EOF'
[sweep]
task = "construct-cd"
output = "cd-sweep.csv"

[grid]
n = [4]
energy = [2]
depth = [2]
EOF
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
"$work/venv/bin/python" - <<'EOF'
import numpy as np
np.savez("net.npz", W0=np.array([[1], [1]]), T0=np.array([2]))
EOF
step import net.npz -o net.json
echo "plain-install: all commands ran" >&2
