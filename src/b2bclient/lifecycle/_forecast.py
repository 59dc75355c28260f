"""The state of each active project at a point in time, and its procurement forecast.

:func:`current_projects` places every active project: its current stage, the days in it, its
covariates and the log-days of the stages it passed. :func:`forecast` integrates over the paths
ahead with the fitted stage models and exits (see :mod:`b2bclient.lifecycle._simulate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import InvalidTablesError
from b2bclient.base import ClientBase
from b2bclient.base._schema import STAGES
from b2bclient.lifecycle._checks import check_ids
from b2bclient.lifecycle._covariates import project_covariates
from b2bclient.lifecycle._fit import linear_predictor
from b2bclient.lifecycle._history import spells
from b2bclient.lifecycle._simulate import draw_uniforms, simulate_paths, weighted_quantiles

__all__ = ["EXITS", "current_projects", "exit_rates", "forecast", "stage_means", "stage_sigmas"]

Floats = npt.NDArray[np.float64]

#: The competing exits of a project, as fitted: its own cancellation, and its organisation's loss.
EXITS = ("cancelled", "organisation_lost")
_OWNER = "LifecycleModel"
_DAY = pd.Timedelta(days=1)
_N = len(STAGES)
_PROCUREMENT = STAGES.index("procurement")
_BATCH_CELLS = 1 << 21  # projects x draws per simulated block


def current_projects(
    view: ClientBase,
    t: pd.Timestamp,
    organisation_ids: Sequence[str] | None,
    names: list[str],
) -> pd.DataFrame:
    """Return one row per active project: current stage, days in it, covariates, log-days."""
    projects = view.projects
    active = (projects["status"].astype(object) == "active").to_numpy()
    if organisation_ids is not None:
        ids = check_ids(organisation_ids, view)
        active &= projects["organisation_id"].isin(ids).to_numpy()
    rows = np.flatnonzero(active)
    history = spells(view, t, rows)
    last = history.drop_duplicates("row", keep="last")
    missing = np.setdiff1d(rows, last["row"].to_numpy())
    if len(missing):
        ids = projects["project_id"].to_numpy()[missing]
        problems = pd.DataFrame(
            {
                "table": "stages",
                "column": "project_id",
                "check": "active project without a stage",
                "row_id": ids,
                "value": ids,
            }
        )
        raise InvalidTablesError(
            f"{len(ids)} active project(s) have no stage started before as_of={t}, so "
            f"{_OWNER} cannot place them: project_id {list(ids[:5])}. Add their current "
            "stage to the 'stages' table, or close them.",
            problems,
        )
    x = project_covariates(view, last["row"].to_numpy(), names)
    out = last.join(x, on="project_id").reset_index(drop=True)
    stage = out["stage"].to_numpy().astype(np.int64)
    waiting = (out["outcome"] == "moved_on").to_numpy() & (stage < _N - 1)
    # A stage that ended with no next stage yet: the next one runs from that end.
    days = np.where(
        waiting,
        (t - pd.DatetimeIndex(out["ended_at"])) / _DAY,
        (t - pd.DatetimeIndex(out["started_at"])) / _DAY,
    )
    if waiting.any():
        w = np.flatnonzero(waiting)
        s = stage[w]
        log_done = np.log(np.maximum(out["days"].to_numpy()[w], 1e-3))
        for k, name in enumerate(STAGES[:-1]):
            column = f"log_days_{name}"
            values = out[column].to_numpy().copy()
            values[w[s == k]] = log_done[s == k]
            out[column] = values
    out["code"] = np.where(waiting, stage + 1, stage)
    out["days_in_stage"] = np.asarray(days, dtype=np.float64)
    reached = view.stages[view.stages["stage"] == "procurement"]
    out["procurement_started_at"] = out["project_id"].map(
        reached.set_index("project_id")["started_at"]
    )
    return out.sort_values("project_id").reset_index(drop=True)


def stage_means(model: Any, frame: pd.DataFrame) -> Floats:
    """Return each row's mean log-days of every stage, with the unknown log-days at 0."""
    code = frame["code"].to_numpy()
    filled = frame.copy()
    for k, name in enumerate(STAGES[:-1]):
        column = f"log_days_{name}"
        if column not in filled:
            filled[column] = np.nan
        filled[column] = np.where(code > k, filled[column].to_numpy(), 0.0)
    mu = np.zeros((len(frame), _N))
    for s, fitted in enumerate(model.transitions_):
        mu[:, s] = fitted["intercept"] + linear_predictor(
            fitted["pre"], fitted["names"], fitted["coef"], filled
        )
    return mu


def exit_rates(model: Any, frame: pd.DataFrame) -> Floats:
    """Return each row's exit hazard per day in every stage, both exits together."""
    rate = np.zeros((len(frame), _N))
    for cause in EXITS:
        fitted = model.exits_[cause]
        eta = linear_predictor(fitted["pre"], fitted["names"], fitted["coef"], frame)
        rate += np.exp(eta)[:, None] * np.asarray(fitted["rate"])[None, :]
    return rate


def stage_sigmas(model: Any) -> Floats:
    """Return the sigma of every stage's log-days."""
    return np.array([f["sigma"] for f in model.transitions_], dtype=np.float64)


def forecast(
    model: Any, current: pd.DataFrame, spans: dict[str, float], t: pd.Timestamp
) -> pd.DataFrame:
    """Return the procurement forecast of the projects in `current` (see LifecycleModel.predict)."""
    m = len(current)
    code = current["code"].to_numpy()
    out = current[["project_id", "organisation_id"]].copy()
    out["stage"] = pd.Categorical.from_codes(
        np.minimum(code, _N - 1), categories=list(STAGES), ordered=True
    )
    out["days_in_stage"] = current["days_in_stage"].to_numpy()
    probs = {label: np.ones(m) for label in spans}
    mean = np.full(m, np.nan)
    low = np.full(m, np.nan)
    high = np.full(m, np.nan)
    p_cancel = np.zeros(m)
    ahead = np.flatnonzero(code < _PROCUREMENT)
    if len(ahead):
        sub = current.iloc[ahead].reset_index(drop=True)
        mu = stage_means(model, sub)
        rate = exit_rates(model, sub)
        u = draw_uniforms(int(model.n_draws), _N, int(model.random_state))
        spent = sub["days_in_stage"].to_numpy()
        sigma = stage_sigmas(model)
        step = max(1, _BATCH_CELLS // u.shape[0])
        sub_code = sub["code"].to_numpy()
        for first in range(_PROCUREMENT):
            idx = np.flatnonzero(sub_code == first)
            for lo in range(0, len(idx), step):
                part = idx[lo : lo + step]
                paths = simulate_paths(
                    first=first,
                    spent=spent[part],
                    base_mu=mu[part],
                    lag=model.lag_,
                    sigma=sigma,
                    rate=rate[part],
                    stop=_PROCUREMENT,
                    u=u,
                )
                days, weight = paths.start[-1], paths.weight[-1]
                reach = weight.mean(axis=1)
                target = ahead[part]
                for label, span in spans.items():
                    probs[label][target] = (weight * (days <= span)).mean(axis=1)
                p_cancel[target] = 1.0 - reach
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean[target] = (weight * days).mean(axis=1) / reach
                q10, q90 = weighted_quantiles(days, weight, (0.1, 0.9))
                low[target], high[target] = q10, q90
    for label, values in probs.items():
        out[label] = values
    started = pd.DatetimeIndex(current["procurement_started_at"])
    past = code >= _PROCUREMENT
    out["expected_procurement_at"] = _dates(t, mean, past, started)
    out["procurement_from"] = _dates(t, low, past, started)
    out["procurement_to"] = _dates(t, high, past, started)
    out["p_cancel"] = p_cancel
    return out.reset_index(drop=True)


def _dates(
    t: pd.Timestamp, days: Floats, past: npt.NDArray[np.bool_], started: pd.DatetimeIndex
) -> Any:
    # Only finite days go through pandas: it converts a float array with NaN by rounding an
    # uninitialised buffer at the NaN rows, which can raise spurious overflow warnings.
    finite = np.isfinite(days)
    offset = np.full(len(days), np.timedelta64("NaT", "ns"))
    offset[finite] = pd.to_timedelta(np.round(days[finite] * 86_400.0), unit="s").to_numpy()
    ahead = pd.Series(t + pd.TimedeltaIndex(offset))
    return ahead.where(~past, pd.Series(started)).to_numpy()
