#!/usr/bin/env bash
# Set up everything hdlgen needs on a fresh Debian/Ubuntu machine:
# Icarus Verilog and Chromium (apt), a virtual environment in .venv, hdlgen with its dev extra.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Icarus Verilog for simulation; libusb for the board programmers (openFPGALoader, iceprog);
# Chromium, in which the test suite opens the HTML reports (driven by Playwright).
missing=""
command -v iverilog >/dev/null 2>&1 || missing="$missing iverilog"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing="$missing chromium"
ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0' || missing="$missing libusb-1.0-0"
# apt's own progress on a terminal; quiet in logs.
apt_install() {
    if [ -t 1 ] && [ -t 2 ]; then
        "$@" apt-get install -y $missing
    else
        "$@" apt-get install -y -qq $missing >/dev/null
    fi
}
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing (a minute or two)" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt_install env DEBIAN_FRONTEND=noninteractive
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && apt_install sudo DEBIAN_FRONTEND=noninteractive
    else
        echo "setup: error: missing Debian packages:$missing; run 'apt-get install -y$missing' as root" >&2
        exit 2
    fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv" >&2
    "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=.venv/.hdlgen-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing hdlgen and its dependencies into .venv (a few minutes the first time)" >&2
    # pip's own progress bars on a terminal; one line per package otherwise is too much for logs: -q there.
    quiet=-q
    [ -t 1 ] && [ -t 2 ] && quiet=
    python -m pip install $quiet --upgrade pip
    python -m pip install $quiet -e '.[dev]'
    touch "$stamp"
fi
