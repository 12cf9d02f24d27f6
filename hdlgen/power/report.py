"""Presenting a power run: the scatter plot and the optional energy estimate."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from hdlgen.errors import CircuitError, UsageError
from hdlgen.ir.circuit import atomic_path, read_text
from hdlgen.power.netlist import KINDS

__all__ = ["energy_estimate", "load_coefficients", "scatter_plot"]


def load_coefficients(path: str | Path) -> dict[str, Any]:
    """Energy per toggle per cell kind, from a user's JSON file.

    The file is ``{"source": "<where the figures come from>", "pJ_per_toggle":
    {"lut": 0.5, "carry": 0.2, ...}}`` with kinds from
    :data:`hdlgen.power.netlist.KINDS`. hdlgen ships no coefficients: no
    open, cited per-toggle figures exist for the iCE40 or ECP5 logic cells, so
    the source must be the user's own (a vendor power calculator, a
    measurement).

    Raises
    ------
    CircuitError
        An unreadable file, a missing ``source``, an unknown kind or a
        negative or non-finite coefficient.
    """
    text = read_text(path, "energy coefficients")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CircuitError(f"{path}: line {exc.lineno} column {exc.colno}: malformed JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("source"), str) or not data["source"].strip():
        raise CircuitError(f"{path}: energy coefficients need a 'source' saying where they come from")
    coeffs = data.get("pJ_per_toggle")
    if not isinstance(coeffs, dict) or not coeffs:
        raise CircuitError(f"{path}: 'pJ_per_toggle' must map cell kinds to picojoules")
    for kind, value in coeffs.items():
        if kind not in KINDS:
            raise CircuitError(f"{path}: unknown cell kind {kind!r} (known: {', '.join(KINDS)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise CircuitError(f"{path}: coefficient of {kind!r} must be a non-negative number, not {value!r}")
    return {"source": data["source"], "pJ_per_toggle": {k: float(v) for k, v in coeffs.items()}}


def energy_estimate(mode: Any, coefficients: dict[str, Any]) -> dict[str, Any]:
    """An ESTIMATE of the dynamic energy per inference: toggles per kind times the user's pJ per toggle.

    Parameters
    ----------
    mode : ModeResult
    coefficients : dict
        From :func:`load_coefficients`.

    Returns
    -------
    dict
        ``pJ_per_inference`` (mean), ``by_kind`` (mean pJ), ``source`` and
        ``label`` = ``"estimate"``. Kinds without a coefficient are left out
        and listed in ``kinds_without_coefficient``.
    """
    per = coefficients["pJ_per_toggle"]
    by_kind = {k: round(float(mode.by_kind[k].mean()) * per[k], 3) for k in KINDS if k in per}
    return {
        "label": "estimate",
        "source": coefficients["source"],
        "pJ_per_inference": round(sum(by_kind.values()), 3),
        "by_kind": by_kind,
        "kinds_without_coefficient": [k for k in KINDS if k not in per and mode.by_kind[k].any()],
    }


def scatter_plot(result: Any, path: str | Path) -> None:
    """Per-inference netlist toggles against firing gates, one panel per mode, with the fitted line.

    Parameters
    ----------
    result : PowerResult
    path : path
        PNG file to write.

    Raises
    ------
    UsageError
        When matplotlib is not installed.
    CircuitError
        When ``path`` cannot be written (nothing is left behind).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("a plot needs matplotlib (pip install matplotlib)") from None
    modes = result.modes
    cols = min(3, len(modes))
    rows = (len(modes) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False, sharey=False)
    rng = np.random.default_rng(0)
    fired = np.asarray(result.fired, dtype=float)
    jitter = fired + rng.uniform(-0.25, 0.25, size=fired.shape)
    for ax, m in zip(axes.flat, modes, strict=False):
        ax.scatter(jitter, m.toggles, s=4, alpha=0.35, color="tab:blue", linewidths=0)
        fit = m.fit
        xs = np.array([fired.min(), fired.max()])
        ax.plot(xs, fit["slope"] * xs + fit["intercept"], color="tab:red", lw=1.2)
        r = "n/a" if fit["pearson_r"] is None else f"{fit['pearson_r']:.2f}"
        r2 = "n/a" if fit["r2"] is None else f"{fit['r2']:.2f}"
        ax.set_title(f"{m.mode}: r={r}, R²(inputs, fired)={r2}", fontsize=8)
        ax.set_xlabel("gates fired per inference", fontsize=8)
        ax.set_ylabel("netlist toggles per inference", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(modes) :]:
        ax.axis("off")
    fig.suptitle(
        f"{result.circuit} on {result.target}, {result.vectors} vectors, {result.schedule}, idle {result.idle}",
        fontsize=9,
    )
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
