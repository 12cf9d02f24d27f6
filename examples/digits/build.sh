#!/usr/bin/env bash
# Digits from training to an ICEBreaker bitstream, checking the hardware on the way:
#   bash examples/digits/build.sh [OUTDIR] [threshold|relu]
# 1. train a sparse, low-activity network (hdlgen train),
# 2. check its RTL on the whole test split against the reference (hdlgen sim --dataset),
# 3. synthesize it for the iCE40UP5K (LUTs, Fmax),
# 4. build the ICEBreaker bitstream with the host link (hdlgen build).
# Then flash it with: hdlgen flash OUTDIR/board --board icebreaker
set -euo pipefail
out="${1:-build/digits}"
kind="${2:-threshold}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -z "${HDLGEN:-}" ] && [ -x "$root/.venv/bin/hdlgen" ]; then HDLGEN="$root/.venv/bin/hdlgen"; fi
hdlgen="${HDLGEN:-hdlgen}"
# relu networks need a register stage inside their adder trees to reach 24 MHz on the UP5K.
pipe=()
if [ "$kind" = relu ]; then pipe=(--pipeline); fi
mkdir -p "$out"
"$hdlgen" train --dataset digits --kind "$kind" -o "$out/digits.json" --json | tee "$out/train.json"
"$hdlgen" sim "$out/digits.json" --dataset digits "${pipe[@]}" --json | tee "$out/sim.json"
"$hdlgen" synth "$out/digits.json" --target ice40-up5k "${pipe[@]}" --json | tee "$out/synth.json"
"$hdlgen" build "$out/digits.json" --board icebreaker -o "$out/board" "${pipe[@]}"
echo "bitstream: $out/board/digits_$kind.bin"
