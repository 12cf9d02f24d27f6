"""Total netlist switching of each gating mode as a ratio to gating none, from ``bench_power.py --json`` files.

    python bench/bench_power_plot.py OUT.png [LABEL=]RUNS.json [[LABEL=]RUNS.json ...]

Each file holds the runs of one circuit (a list of ``hdlgen power`` JSON
objects, one per schedule and idle bus), shown under LABEL (default: the
circuit's name). Files with the same label are merged (a plain run and a run
with ``--option``). One panel per circuit: for every
schedule, a bar per mode with its total toggles over gating none's in the same
run; the line at 1 is gating none.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

NAMES = {
    "delta/enable+clock_enables=False": "delta by valid",
    "rtz/enable+clock_enables=False": "rtz by data",
}


def schedule_label(run: dict) -> str:
    """``back-to-back``, ``gaps, zeros`` or ``gaps, random``."""
    if run["schedule"] == "back-to-back":
        return "back-to-back"
    return f"gaps, {'zeros' if run['idle'] == 'zero' else 'random'}"


def main() -> None:
    out, files = sys.argv[1], sys.argv[2:]
    # circuit -> schedule -> mode -> ratio to none
    data: dict[str, dict[str, dict[str, float]]] = {}
    for arg in files:
        label, _, path = arg.rpartition("=")
        for run in json.loads(Path(path).read_text()):
            per = data.setdefault(label or run["circuit"], {}).setdefault(schedule_label(run), {})
            for m in run["modes"]:
                if m["mode"] != "none/enable" and "ratio_to_none" in m:
                    per[NAMES.get(m["mode"], m["mode"])] = m["ratio_to_none"]
    circuits = list(data)
    fig, axes = plt.subplots(1, len(circuits), figsize=(4.6 * len(circuits), 3.6), squeeze=False, sharey=True)
    seen = {mode for c in data.values() for s in c.values() for mode in s}
    modes = sorted(seen, key=lambda m: (m in NAMES.values(), m))  # the standard modes first
    colors = {m: plt.get_cmap("tab10")(i) for i, m in enumerate(modes)}
    width = 0.8 / len(modes)
    for ax, circuit in zip(axes[0], circuits, strict=True):
        schedules = list(data[circuit])
        for i, mode in enumerate(modes):
            xs = [k + (i - (len(modes) - 1) / 2) * width for k in range(len(schedules))]
            ys = [data[circuit][s].get(mode, float("nan")) for s in schedules]
            ax.bar(xs, ys, width, color=colors[mode], label=mode)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(range(len(schedules)), schedules, fontsize=8)
        ax.set_title(circuit, fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("total toggles / gating none", fontsize=8)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
