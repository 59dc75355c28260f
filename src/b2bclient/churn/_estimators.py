"""Non-parametric estimators on (duration, event) arrays: Kaplan-Meier and Nelson-Aalen.

Small, vectorised and exact, they serve the IPCW weights of the ``"gbm"`` churn model, its
within-horizon survival curves, the observed curves of the plots and the censoring weights of
:mod:`b2bclient.churn.metrics`, which all count subjects at risk with :func:`risk_table`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["kaplan_meier", "nelson_aalen", "risk_table", "step_at"]

Floats = npt.NDArray[np.float64]


def risk_table(
    duration: Floats, observed: npt.NDArray[np.bool_]
) -> tuple[Floats, Floats, Floats, Floats]:
    """Return the distinct times and, at each, the subjects at risk, the events and all exits."""
    order = np.argsort(duration, kind="stable")
    t = duration[order]
    o = observed[order].astype(np.float64)
    times, first = np.unique(t, return_index=True)
    at_risk = (t.shape[0] - first).astype(np.float64)
    d = np.add.reduceat(o, first) if t.shape[0] else np.zeros(0)
    exits = np.diff(np.append(first, t.shape[0])).astype(np.float64)
    return times.astype(np.float64), at_risk, d, exits


def kaplan_meier(duration: Floats, observed: npt.NDArray[np.bool_]) -> tuple[Floats, Floats]:
    """Return the distinct times and the Kaplan-Meier survival just after each of them."""
    times, at_risk, d, _ = risk_table(duration, observed)
    return times, np.asarray(np.cumprod(1.0 - d / at_risk), dtype=np.float64)


def nelson_aalen(duration: Floats, observed: npt.NDArray[np.bool_]) -> tuple[Floats, Floats]:
    """Return the distinct times and the Nelson-Aalen cumulative hazard at each of them."""
    times, at_risk, d, _ = risk_table(duration, observed)
    return times, np.asarray(np.cumsum(d / at_risk), dtype=np.float64)


def step_at(
    times: Floats, values: Floats, at: Floats, *, initial: float, left: bool = False
) -> Floats:
    """Evaluate a right-continuous step function at `at` (its left limit when `left`)."""
    idx = np.searchsorted(times, at, side="left" if left else "right") - 1
    out = np.where(idx >= 0, values[np.clip(idx, 0, None)] if values.size else initial, initial)
    return np.asarray(out, dtype=np.float64)
