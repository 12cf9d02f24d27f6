#!/usr/bin/env bash
# Set up, then run the whole test suite (pass extra pytest arguments after it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
ruff check hdlgen tests bench examples boards rtl_tests
mypy  # [tool.mypy] in pyproject.toml: hdlgen and boards/, every function typed
status=0
python -m pytest -n 2 "$@" || status=$?
if [ "$status" = 5 ]; then
    echo "test: error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
