#!/usr/bin/env bash
# Set up, then run the whole test suite (pass extra pytest arguments after it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
ruff check hdlgen tests bench examples boards rtl_tests
status=0
python -m pytest -n 2 "$@" || status=$?
if [ "$status" = 5 ]; then
    echo "test: error: pytest collected no tests" >&2
    exit 1
fi
# A plain `pip install` (no extras) in a fresh venv must run every everyday command (HDLGEN_PLAIN_INSTALL=0 skips).
if [ "$status" = 0 ] && [ "${HDLGEN_PLAIN_INSTALL:-1}" = 1 ]; then
    bash scripts/plain_install.sh || status=$?
fi
exit "$status"
