"""Measuring a lifecycle model: concordance, calibration, coefficient recovery, a plain baseline.

Shared by ``benchmarks/lifecycle.py`` and the tests, so that the figures in the documentation and
the smaller checks in the suite come from the same code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.base import ClientBase
from b2bclient.base._schema import STAGES
from b2bclient.lifecycle._history import spells
from b2bclient.lifecycle._simulate import draw_uniforms

__all__ = ["coefficient_coverage", "km_baseline", "procurement_scores"]

Floats = npt.NDArray[np.float64]
_DAY = pd.Timedelta(days=1)
_PROCUREMENT = STAGES.index("procurement")


def procurement_scores(
    forecast: pd.DataFrame,
    base: ClientBase,
    as_of: pd.Timestamp,
    end: pd.Timestamp,
    horizon: str = "90D",
    score: str = "p_procurement_180d",
) -> dict[str, float]:
    """Score a forecast of the projects in design or production at `as_of` against what happened.

    Harrell's C of `score` against the days from `as_of` to the start of procurement, projects
    that do not reach it before `end` being censored at `end`; and per current stage the mean
    predicted probability of procurement within `horizon` beside the share that got there.
    """
    rows = forecast[forecast["stage"].isin(["design", "production"])]
    reached = base.stages[base.stages["stage"] == "procurement"].set_index("project_id")
    start = rows["project_id"].map(reached["started_at"])
    start = start.where(start < end)
    event = start.notna().to_numpy()
    days = ((start.fillna(end) - as_of) / _DAY).to_numpy()
    from lifelines.utils import concordance_index

    # lifelines scores long survival high: a likely procurement is a short time to it.
    c = concordance_index(days, -rows[score].to_numpy(dtype=np.float64), event)
    out = {"projects": float(len(rows)), "concordance": float(c)}
    span = pd.Timedelta(horizon)
    within = (start < as_of + span).to_numpy()
    label = f"p_procurement_{span.days}d"
    for stage in ("design", "production"):
        mask = (rows["stage"] == stage).to_numpy()
        out[f"{stage}_projects"] = float(mask.sum())
        out[f"{stage}_predicted"] = float(rows.loc[mask, label].mean())
        out[f"{stage}_observed"] = float(within[mask].mean())
    return out


def _km(days: Floats, event: npt.NDArray[np.bool_], entry: Floats) -> tuple[Floats, Floats]:
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(np.maximum(days, 1e-3), event, entry=entry)
    curve = km.survival_function_.iloc[:, 0]
    return curve.index.to_numpy(dtype=np.float64), curve.to_numpy(dtype=np.float64)


def _draw(times: Floats, surv: Floats, spent: Floats, u: Floats) -> Floats:
    """Draw durations from a Kaplan-Meier curve given more than `spent` days (inf past its end)."""
    at = np.searchsorted(times, spent, side="right") - 1
    s_spent = np.where(at >= 0, surv[np.maximum(at, 0)], 1.0)
    target = s_spent[:, None] * u[None, :]
    # First time where the curve is at or below the target (the curve is non-increasing).
    idx = np.searchsorted(-surv, -target, side="left")
    ok = idx < len(times)
    return np.where(ok, times[np.minimum(idx, len(times) - 1)], np.inf)


def km_baseline(
    base: ClientBase,
    as_of: pd.Timestamp,
    horizons: tuple[str, ...] = ("30D", "90D", "180D"),
    n_draws: int = 1024,
) -> pd.DataFrame:
    """Forecast procurement with a Kaplan-Meier curve per stage and no covariates.

    Each stage's duration is drawn from its Kaplan-Meier curve (moving on is the event, the exits
    and ``as_of`` censor, with delayed entry), the current stage's given the days already spent;
    the exits compete at one constant rate per stage (exits over days at risk). Returns the
    columns of :meth:`LifecycleModel.predict` that the scores need, for the projects in design or
    production.
    """
    view = base.as_of(as_of)
    history = spells(view, as_of)
    stage = history["stage"].to_numpy()
    outcome = history["outcome"].astype(object).to_numpy()
    days = history["days"].to_numpy()
    entry = history["entry_days"].to_numpy()
    curves = []
    rate = np.zeros(_PROCUREMENT)
    for s in range(_PROCUREMENT):
        mask = stage == s
        curves.append(_km(days[mask], outcome[mask] == "moved_on", entry[mask]))
        exits = np.isin(outcome[mask], ["cancelled", "organisation_lost"]).sum()
        rate[s] = exits / max(float((days[mask] - entry[mask]).sum()), 1e-9)
    active = (view.projects["status"].astype(object) == "active").to_numpy()
    last = history[np.isin(history["row"].to_numpy(), np.flatnonzero(active))]
    last = last.drop_duplicates("row", keep="last")
    last = last[(last["stage"] < _PROCUREMENT) & (last["outcome"] == "running")]
    u = draw_uniforms(n_draws, 2, 0)
    out = last[["project_id", "organisation_id"]].reset_index(drop=True)
    out["stage"] = [STAGES[s] for s in last["stage"].to_numpy()]
    spent = last["days"].to_numpy()
    code = last["stage"].to_numpy()
    total = np.zeros((len(last), u.shape[0]))
    cum = np.zeros_like(total)
    for s in range(_PROCUREMENT):
        rows = np.flatnonzero(code == s)
        times, surv = curves[s]
        left = _draw(times, surv, spent[rows], u[:, 0]) - spent[rows][:, None]
        total[rows] += left
        cum[rows] += rate[s] * np.where(np.isfinite(left), left, 0.0)
        if s == 0:
            times, surv = curves[1]
            nxt = _draw(times, surv, np.zeros(len(rows)), u[:, 1])
            total[rows] += nxt
            cum[rows] += rate[1] * np.where(np.isfinite(nxt), nxt, 0.0)
    weight = np.exp(-cum)
    for h in horizons:
        span = pd.Timedelta(h).days
        out[f"p_procurement_{span}d"] = (weight * (total <= span)).mean(axis=1)
    return out.sort_values("project_id").reset_index(drop=True)


def coefficient_coverage(model: Any, truth: Any) -> dict[str, tuple[int, int]]:
    """Count the planted coefficients inside the model's 95% intervals, and all of them.

    ``duration``: every term of every stage's log-normal model (covariates, the earlier
    log-days, the intercept and the log of sigma) against ``truth.stage_transitions``;
    ``cancelled``: the five coefficients of the project's own cancellation against
    ``truth.cancellation_hazard`` (the organisation's churn is a separate exit).
    """
    table = model.coefficients_
    planted = truth.stage_transitions
    covered = total = 0
    for stage in STAGES:
        rows = table[(table["part"] == "duration") & (table["stage"] == stage)].set_index("term")
        for term in rows.index:
            if term == "intercept":
                value = planted.loc[stage, "intercept"]
            elif term == "log_sigma":
                value = np.log(planted.loc[stage, "sigma"])
            elif term in planted.columns:
                value = planted.loc[stage, term]
            else:
                continue
            total += 1
            covered += int(rows.at[term, "lower_95"] <= value <= rows.at[term, "upper_95"])
    cancel = table[table["part"] == "cancelled"].set_index("term")
    gamma = truth.cancellation_hazard.iloc[0]
    inside = [
        cancel.at[term, "lower_95"] <= gamma[term] <= cancel.at[term, "upper_95"]
        for term in cancel.index
        if term in gamma.index
    ]
    return {"duration": (covered, total), "cancelled": (int(sum(inside)), len(inside))}
