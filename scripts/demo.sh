#!/usr/bin/env bash
# Set up, then take an example circuit through the whole flow:
# resources and exact energy, reference evaluation, Verilog, cocotb simulation
# on Verilator and Icarus against the reference, synthesis for iCE40 and ECP5,
# a simulation of the post-synthesis netlist, a formal proof, Theorem 1, and an
# ICEBreaker bitstream with its host link (flashed by dry run: no board here).
# It ends with a summary of the files it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
example=${1:-examples/cd8.json}
name=$(basename "$example" .json)
out=out/$name
mkdir -p "$out"
start=$SECONDS
set -x
hdlgen info "$example"
hdlgen eval "$example" <<'CSV'
0,0,0,0,0,0,0,0
1,0,0,0,1,0,0,0
1,1,1,1,0,1,1,1
CSV
hdlgen verilog "$example" -o "$out/design.v"
hdlgen sim "$example" --exhaustive --simulator verilator
hdlgen sim "$example" --exhaustive --simulator icarus --schedule gaps
hdlgen synth "$example" --target ice40-up5k --workdir "$out/ice40-up5k"
hdlgen synth "$example" --target ecp5-85k --workdir "$out/ecp5-85k"
hdlgen sim "$example" --rtl "$out/ice40-up5k/netlist.v" --vectors 2000
hdlgen verify "$example" --formal
hdlgen bound "$example"
hdlgen report "$example" -o "$out/report.html"
hdlgen build "$example" --board icebreaker -o "$out/icebreaker"
hdlgen flash "$out/icebreaker" --board icebreaker --dry-run
{ set +x; } 2>/dev/null

summary() {
    local path=$1 what=$2
    if [ -e "$path" ]; then
        printf '  %-34s %s\n' "$path" "$what"
    else
        printf '  %-34s %s (MISSING)\n' "$path" "$what"
    fi
}
echo
echo "demo: done in $((SECONDS - start)) s (after setup); it wrote, under $out/:"
summary "$out/design.v" "Verilog-2005 of the design (rtz gating)"
summary "$out/ice40-up5k/netlist.v" "iCE40UP5K post-synthesis netlist (with the Yosys/nextpnr files beside it)"
summary "$out/ecp5-85k" "ECP5-85K synthesis and place-and-route files"
summary "$out/report.html" "the report: open it in a browser"
for bitstream in "$out"/icebreaker/*.bin; do
    summary "$bitstream" "ICEBreaker bitstream with the UART host link"
done
summary "$out/icebreaker" "its sources, nextpnr report and build.json"
