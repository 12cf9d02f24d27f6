"""How well firing predicts switching: correlation and least-squares fits."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["Fit", "fit_toggles"]


@dataclass
class Fit:
    """Per-inference toggles against firing gates and changed input bits.

    Attributes
    ----------
    pearson_r : float or None
        Pearson correlation of toggles and firing gates (None when either is constant).
    slope, intercept : float
        Least-squares line ``toggles = slope * fired + intercept``: toggles
        per firing gate, and toggles that do not depend on firing.
    r2_fired : float
        Coefficient of determination of that line.
    per_input_bit, per_fired_gate, constant : float
        Two-regressor least squares ``toggles = a * inputs_changed + b * fired + c``.
    r2 : float or None
        Its coefficient of determination (None when the toggles are constant).
    r2_registers : float or None
        R^2 of ``toggles = a * inputs_changed + b * register_toggles + c``
        with the gate registers' own toggles in place of the firing gates
        (what changes downstream of the gates when inferences follow each
        other); None when not given.
    """

    pearson_r: float | None
    slope: float
    intercept: float
    r2_fired: float | None
    per_input_bit: float
    per_fired_gate: float
    constant: float
    r2: float | None
    r2_registers: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, rounded."""
        return {k: (None if v is None else round(float(v), 4)) for k, v in asdict(self).items()}


def _r2(y: np.ndarray, pred: np.ndarray) -> float | None:
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot == 0:
        return None
    return 1.0 - float(((y - pred) ** 2).sum()) / ss_tot


def fit_toggles(
    toggles: np.ndarray, fired: np.ndarray, inputs_changed: np.ndarray, register_toggles: np.ndarray | None = None
) -> Fit:
    """Fit per-inference toggles with firing gates, and with changed input bits and firing gates.

    Parameters
    ----------
    toggles, fired, inputs_changed : array_like, shape (n,)
        Per inference: net toggles, gates that fired, input bits that changed.
    register_toggles : array_like, shape (n,), optional
        Per inference: toggles of the gate registers.

    Returns
    -------
    Fit
        Ordinary least squares (``numpy.linalg.lstsq``) with an intercept;
        ``R^2 = 1 - SS_res / SS_tot``. Pearson's r is ``numpy.corrcoef``.
    """
    y = np.asarray(toggles, dtype=np.float64)
    f = np.asarray(fired, dtype=np.float64)
    u = np.asarray(inputs_changed, dtype=np.float64)
    n = y.shape[0]
    r = None
    if n >= 2 and y.std() > 0 and f.std() > 0:
        r = float(np.corrcoef(y, f)[0, 1])
    ones = np.ones(n)
    A1 = np.column_stack([f, ones])
    (slope, intercept), *_ = np.linalg.lstsq(A1, y, rcond=None)
    A2 = np.column_stack([u, f, ones])
    coef, *_ = np.linalg.lstsq(A2, y, rcond=None)
    r2_reg = None
    if register_toggles is not None:
        A3 = np.column_stack([u, np.asarray(register_toggles, dtype=np.float64), ones])
        coef3, *_ = np.linalg.lstsq(A3, y, rcond=None)
        r2_reg = _r2(y, A3 @ coef3)
    return Fit(
        pearson_r=r,
        slope=float(slope),
        intercept=float(intercept),
        r2_fired=_r2(y, A1 @ np.array([slope, intercept])),
        per_input_bit=float(coef[0]),
        per_fired_gate=float(coef[1]),
        constant=float(coef[2]),
        r2=_r2(y, A2 @ coef),
        r2_registers=r2_reg,
    )
