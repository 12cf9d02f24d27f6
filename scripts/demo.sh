#!/usr/bin/env bash
# Set up, then take an example circuit through the whole flow.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
example=${1:-examples/cd8.json}
out=out/$(basename "$example" .json)
mkdir -p "$out"
set -x
hdlgen info "$example"
printf '0,0,0,0,0,0,0,0\n1,0,0,0,1,0,0,0\n1,1,1,1,0,1,1,1\n' | hdlgen eval "$example"
