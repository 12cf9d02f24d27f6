"""``hdlgen report``: one self-contained HTML page about a circuit.

The page holds the resources (with the exact energy or its proven bounds),
the distribution of firing gates per input (a histogram), the firing rate
per gate and per level, synthesis results when asked for, and the Theorem 1
check. Figures are matplotlib PNGs embedded as data URIs; the page loads
nothing and runs no script.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hdlgen.errors import CircuitError
from hdlgen.ir.circuit import Circuit

__all__ = ["EXHAUSTIVE_BITS", "ReportData", "collect", "render_html"]

#: Circuits with at most this many input bits are measured on every input.
EXHAUSTIVE_BITS = 16
#: Theorem 1 is checked up to this many input bits (truth tables of 2**n rows).
BOUND_BITS = 16
#: The per-gate chart names this many gates, the most active first.
TOP_GATES = 30


@dataclass
class ReportData:
    """What the page shows (also ``hdlgen report --json``)."""

    resources: dict[str, Any]
    vectors: str
    n_vectors: int
    firing_histogram: dict[int, int]
    gate_rates: dict[str, float]
    level_rates: list[float]
    synthesis: dict[str, Any] | None = None
    bound: list[dict[str, Any]] = field(default_factory=list)
    bound_note: str = ""
    bound_skipped: list[str] = field(default_factory=list)
    dataset: dict[str, Any] | None = None
    #: A ``hdlgen power --json`` run, shown as the netlist switching section.
    power: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (histogram keys as strings, as JSON has them)."""
        data = asdict(self)
        data["firing_histogram"] = {str(k): v for k, v in self.firing_histogram.items()}
        return data


def _input_vectors(circuit: Circuit, samples: int, seed: int) -> tuple[np.ndarray, str, dict[str, Any] | None]:
    from hdlgen.ir.classify import class_labels
    from hdlgen.ir.reference import enumerate_inputs
    from hdlgen.ir.vectors import random_vectors

    meta = circuit.meta or {}
    if class_labels(circuit) is not None and isinstance(meta.get("dataset"), dict):
        from hdlgen.datasets import dataset_for_circuit
        from hdlgen.learn import evaluate_dataset

        name = meta["dataset"].get("name", "digits")
        data = dataset_for_circuit(circuit, name)
        return data.X_test, f"the {name} test split", {"name": name, **evaluate_dataset(circuit, data)}
    if circuit.input_bits <= EXHAUSTIVE_BITS:
        return enumerate_inputs(circuit, 0, 1 << circuit.input_bits), "every input", None
    return random_vectors(circuit, samples, seed), f"{samples} random inputs (seed {seed})", None


def collect(
    circuit: Circuit,
    samples: int = 10_000,
    seed: int = 0,
    time_limit: float = 30.0,
    synth_target: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> ReportData:
    """Measure everything the report shows.

    Parameters
    ----------
    circuit : Circuit
    samples : int
        Random inputs for circuits with more than :data:`EXHAUSTIVE_BITS` input bits.
    seed : int
    time_limit : float
        Seconds for the exact-energy MILP (bounds are shown when it runs out).
    synth_target : str, optional
        Synthesize for this target (Yosys + nextpnr) and show the results.
    progress : callable, optional
        ``progress(done, total)`` within a step that counts: the exact energy
        (vectors, or the MILP's gap closed) and Theorem 1 (partitions).
    on_stage : callable, optional
        ``on_stage(description)`` as each step starts: ``"exact energy"``,
        ``"firing on every input"`` (or on the sample or test split),
        ``"Theorem 1"``, ``"synthesis for TARGET: STAGE"``.

    Returns
    -------
    ReportData

    Raises
    ------
    CircuitError
        When the circuit is not valid.
    """
    from hdlgen.analysis import info
    from hdlgen.ir.reference import Reference

    stage = on_stage or (lambda _: None)
    circuit.validate()
    stage("exact energy")
    resources = info(circuit, time_limit=time_limit, progress=progress)
    X, how, dataset = _input_vectors(circuit, samples, seed)
    stage(f"firing on {how}")
    gates = [g.name for g in circuit.gates]
    values = Reference(circuit).gate_values(X) if gates else np.zeros((len(X), 0))
    fired = np.asarray(values) != 0
    per_input = fired.sum(axis=1)
    hist = {int(k): int(v) for k, v in zip(*np.unique(per_input, return_counts=True), strict=True)}
    rates = fired.mean(axis=0) if len(X) else np.zeros(len(gates))
    gate_rates = {g: round(float(r), 6) for g, r in zip(gates, rates, strict=True)}
    level_rates = [
        round(float(np.mean([gate_rates[g.name] for g in level])), 6) if level else 0.0 for level in circuit.levels
    ]
    data = ReportData(resources, how, len(X), hist, gate_rates, level_rates, dataset=dataset)
    data.bound_skipped = [o for o in circuit.outputs if circuit.signal_bits(o) != 1]
    if circuit.input_bits > BOUND_BITS:
        data.bound_note = f"not computed: {circuit.input_bits} input bits (truth tables up to {BOUND_BITS} bits)"
    else:
        from hdlgen.analysis.bound import theorem1

        stage("Theorem 1")
        try:
            data.bound = [b.to_dict() for b in theorem1(circuit, time_limit=time_limit, progress=progress)]
        except CircuitError as exc:
            data.bound_note = f"not computed: {exc}"
    if synth_target is not None:
        from hdlgen.synth import synthesize

        stage(f"synthesis for {synth_target}")
        data.synthesis = synthesize(
            circuit, synth_target, on_stage=lambda step: stage(f"synthesis for {synth_target}: {step}")
        ).to_dict()
    return data


def _png(fig: Any) -> str:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _figures(data: ReportData) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = {}
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ks = sorted(data.firing_histogram)
    ax.bar(ks, [data.firing_histogram[k] for k in ks], color="#3b6ea8")
    energy = data.resources["energy"]
    exact = data.resources.get("energy_exact", True)
    label = f"energy {energy}" if exact else f"energy >= {energy} (<= {data.resources['energy_bounds'][1]})"
    ax.axvline(energy, color="#c0392b", linestyle="--", label=label)
    ax.set_xlabel("gates firing on an input")
    ax.set_ylabel("inputs")
    ax.set_title(f"Firing gates per input ({data.vectors})")
    ax.legend()
    figs["histogram"] = _png(fig)

    figs["gates"] = _gate_chart(plt, data.gate_rates)

    fig, ax = plt.subplots(figsize=(5, 3))
    levels = range(1, len(data.level_rates) + 1)
    ax.bar(levels, data.level_rates, color="#8e6bb0")
    ax.set_xticks(list(levels))
    ax.set_xlabel("level")
    ax.set_ylabel("mean firing rate")
    ax.set_ylim(0, 1)
    ax.set_title("Firing rate per level")
    figs["levels"] = _png(fig)
    return figs


def _gate_chart(plt: Any, gate_rates: dict[str, float]) -> str:
    """Horizontal bars of the firing rates, most active gate on top, the :data:`TOP_GATES` busiest named."""
    ranked = sorted(gate_rates.items(), key=lambda item: (-item[1], item[0]))
    shown = ranked[:TOP_GATES]
    fig, ax = plt.subplots(figsize=(6.5, 1.0 + 0.24 * max(len(shown), 3)))
    positions = np.arange(len(shown))
    ax.barh(positions, [rate for _, rate in shown], color="#5d9b5d")
    ax.set_yticks(positions, [name for name, _ in shown], fontsize=8)
    for y, (_, rate) in zip(positions, shown, strict=True):
        ax.text(min(rate, 1.0) + 0.01, y, f"{rate:.2f}", va="center", fontsize=7, color="#444")
    ax.set_xlim(0, 1.08)
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.set_xlabel("firing rate (fraction of the inputs on which the gate fires)")
    ax.set_ylabel("gate")
    if len(ranked) > len(shown):
        rest = ranked[len(shown) :]
        title = (
            f"Firing rate per gate: the {len(shown)} most active of {len(ranked)}\n"
            f"(the other {len(rest)} fire at most {rest[0][1]:.2f})"
        )
    else:
        title = "Firing rate per gate, most active first"
    ax.set_title(title)
    return _png(fig)


def _cell(value: Any) -> str:
    """A table cell: a dict as a small table of its own, a list as comma-separated values."""
    if isinstance(value, dict):
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in value.items()
        )
        return f'<table class="inner">{rows}</table>'
    if isinstance(value, list | tuple):
        return html.escape(", ".join(str(v) for v in value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return html.escape(str(value))


def _table(rows: dict[str, Any]) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_cell(v)}</td></tr>" for k, v in rows.items())
    return f"<table>{body}</table>"


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } th, td { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; }
th { font-weight: 600; } img { max-width: 100%; } .note { color: #666; }
.ok { color: #1e7b34; font-weight: 600; } .bad { color: #b03a2e; font-weight: 600; }
.na { color: #666; font-style: italic; }
table.inner td { padding: 0 12px 0 0; border: none; }
"""


def _verdict(holds: bool | None) -> str:
    """The verdict cell of the Theorem 1 table: green holds, red violated, grey not judged."""
    if holds is None:
        return '<td class="na">not judged (relu: asymptotic)</td>'
    return '<td class="ok">holds</td>' if holds else '<td class="bad">violated</td>'


def render_html(circuit: Circuit, data: ReportData) -> str:
    """The report page for ``circuit`` from measured ``data``."""
    figs = _figures(data)
    r = dict(data.resources)
    if not r.get("energy_exact", True):
        r["energy"] = f"{r['energy']} (not proven: between {r['energy_bounds'][0]} and {r['energy_bounds'][1]})"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hdlgen report: {html.escape(circuit.name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>hdlgen report: {html.escape(circuit.name)}</h1>",
        "<h2>Resources</h2>",
        _table({k: v for k, v in r.items() if k not in ("level_widths", "energy_witness")}),
    ]
    if data.dataset:
        parts += ["<h2>Data set</h2>", _table(data.dataset)]
    parts += [
        "<h2>Activity</h2>",
        f"<p>Measured on {html.escape(data.vectors)} ({data.n_vectors} vectors). The dashed line is the "
        "energy: the most gates that fire on any input.</p>",
        f'<img id="fig-histogram" alt="histogram of firing gates per input" src="{figs["histogram"]}">',
        f'<img id="fig-gates" alt="firing rate per gate" src="{figs["gates"]}">',
        f'<img id="fig-levels" alt="firing rate per level" src="{figs["levels"]}">',
        "<h2>Synthesis</h2>",
    ]
    if data.synthesis:
        s = {k: v for k, v in data.synthesis.items() if k not in ("cells", "critical_path")}
        parts.append(_table(s))
    else:
        parts.append('<p class="note">Not run (<code>hdlgen report FILE --synth TARGET</code> adds it).</p>')
    parts.append("<h2>Theorem 1</h2>")
    if data.bound:
        rows = "".join(
            f"<tr><td>{html.escape(b['output'])}</td><td>{b['log2_rank']:.3f}</td><td>{b['rhs']:.3f}</td>"
            f"{_verdict(b['holds'])}</tr>"
            for b in data.bound
        )
        parts.append(
            "<p>log2 rk(f) &le; e &middot; d &middot; (log s + log w + log n), per Boolean output on its cone "
            "(natural partition).</p>"
            "<table><tr><th>output</th><th>log2 rank</th><th>right-hand side</th><th>verdict</th></tr>"
            f"{rows}</table>"
        )
        if any(b["holds"] is None for b in data.bound):
            parts.append(
                '<p class="note">Not judged: for circuits with relu gates the theorem is only asymptotic, '
                "log rk(f) = O(e d (log s + log w + log n)<sup>3</sup>), with no constant to check; the "
                "right-hand side shown is that expression.</p>"
            )
    else:
        parts.append(f'<p class="note">{html.escape(data.bound_note)}</p>')
    if data.bound_skipped:
        parts.append(
            f'<p class="note">Left out: {html.escape(", ".join(data.bound_skipped))}. '
            "These outputs are several bits wide (relu gates), so they are not Boolean functions and "
            "Theorem 1, a statement about f: {0,1}<sup>n</sup> &rarr; {0,1}, does not apply to them.</p>"
        )
    if data.power:
        parts += power_section(data.power)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def power_section(power: dict[str, Any]) -> list[str]:
    """HTML of the netlist switching section from a ``hdlgen power --json`` run (owned by the power flow)."""
    head = (
        f"<p>Toggles of every net of the mapped netlist per inference ({html.escape(str(power['target']))}, "
        f"{power['vectors']} vectors, schedule {html.escape(str(power['schedule']))}, idle "
        f"{html.escape(str(power.get('idle', 'zero')))}); on average {power['mean_fired']} gates fire and "
        f"{power['mean_inputs_changed']} input bits change per inference. <em>r</em> is Pearson's correlation of "
        "toggles and firing gates, the slope the toggles per firing gate and the intercept the toggles that do "
        "not depend on firing, R&sup2; that of the fit with input bits changed and gates fired; by level: toggles "
        "per inference of each pipeline stage (<em>out</em>: logic that feeds only output ports).</p>"
    )
    baseline = power.get("ratio_baseline") or "none/enable"
    estimates = any("energy_estimate" in m for m in power["modes"])
    cols = [
        "mode",
        "LUT4",
        "toggles",
        "lut",
        "carry",
        "ff",
        "enable",
        "gated clock",
        "gate registers",
        "clock pins",
        "r",
        "slope",
        "intercept",
        "R&sup2;",
        "by level",
        f"vs {html.escape(str(baseline))}",
    ] + (["pJ (estimate)"] if estimates else [])
    rows = []
    for m in power["modes"]:
        k, fit = m["by_kind"], m["fit"]
        cells = [
            html.escape(m["mode"]),
            m["luts"],
            m["toggles_per_inference"],
            k.get("lut"),
            k.get("carry"),
            k.get("ff"),
            k.get("enable"),
            k.get("gated_clock"),
            m["gate_registers"],
            m.get("clock_pins", "n/a"),
            "n/a" if fit["pearson_r"] is None else f"{fit['pearson_r']:.3f}",
            f"{fit['slope']:.2f}",
            f"{fit['intercept']:.1f}",
            "n/a" if fit["r2"] is None else f"{fit['r2']:.3f}",
            ", ".join(f"{html.escape(str(s))}: {v}" for s, v in m.get("by_stage", {}).items()),
            m.get("ratio_to_none", m.get("ratio_to_first", "n/a")),
        ]
        if estimates:
            est = m.get("energy_estimate")
            cells.append("n/a" if est is None else est["pJ_per_inference"])
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    table = "<table><tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>" + "".join(rows) + "</table>"
    parts = ["<h2>Netlist switching</h2>", head, table]
    sources = sorted({m["energy_estimate"]["source"] for m in power["modes"] if "energy_estimate" in m})
    if sources:
        parts.append(
            "<p>The pJ column is an <strong>estimate</strong>: toggles per cell kind times coefficients from "
            f"{html.escape('; '.join(sources))}. Toggles are the measurement.</p>"
        )
    per = power.get("per_inference")
    if per and all("per_inference" in m for m in power["modes"]):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fired = np.asarray(per["fired"], dtype=float)
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for m in power["modes"]:
            ax.scatter(fired, m["per_inference"]["toggles"], s=4, alpha=0.3, label=m["mode"], linewidths=0)
        ax.set_xlabel("gates fired per inference")
        ax.set_ylabel("netlist toggles per inference")
        ax.legend(fontsize=7, markerscale=3)
        fig.tight_layout()
        parts.append(f'<img id="fig-power" alt="netlist toggles against firing gates" src="{_png(fig)}">')
    return parts
