#!/usr/bin/env bash
# Set up, then run the whole test suite (pass extra pytest arguments after it); it ends with the 15 slowest tests.
# Before pytest: a plain `pip install` (no extras) into a fresh venv must run every everyday command
# (scripts/plain_install.sh; skip it with HDLGEN_SKIP_PLAIN_INSTALL=1 for a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
echo "test: ruff (seconds)" >&2
ruff check hdlgen tests bench examples boards rtl_tests
if [ "${HDLGEN_SKIP_PLAIN_INSTALL:-0}" != 1 ]; then
    echo "test: the plain-install check (about a minute: a fresh venv, pip install, every everyday command)" >&2
    bash scripts/plain_install.sh
fi
echo "test: mypy (about 15 s)" >&2
mypy  # [tool.mypy] in pyproject.toml: hdlgen and boards/, every function typed
echo "test: pytest on 2 workers (about 6 min on 2 idle cores, longer on a busy machine; the 15 slowest tests at the end)" >&2
status=0
python -m pytest -n 2 --durations=15 "$@" || status=$?
if [ "$status" = 5 ]; then
    echo "test: error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
