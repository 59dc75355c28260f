"""Plots of the lifecycle (extra ``plot``): the stage funnel, predicted against observed procurement."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._plotting import axes
from b2bclient._time import to_timestamp
from b2bclient.base import ClientBase

__all__ = ["observed_procurement", "plot_procurement_calibration", "plot_stage_funnel"]

_DAY = pd.Timedelta(days=1)


def plot_stage_funnel(funnel: pd.DataFrame, *, ax: Any = None) -> Any:
    """Draw the projects that entered each stage, with conversion and median days.

    Parameters
    ----------
    funnel : pandas.DataFrame
        The output of :func:`~b2bclient.lifecycle.stage_funnel`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> from b2bclient.lifecycle import stage_funnel
    >>> ax = plot_stage_funnel(stage_funnel(make_client_base(300, seed=1), "2024-06-01"))
    >>> len(ax.patches)
    5
    """
    if not isinstance(funnel, pd.DataFrame) or "entered" not in funnel:
        raise InvalidParameterError(
            "The 'funnel' parameter of plot_stage_funnel must be the DataFrame returned by "
            f"stage_funnel. Got {type(funnel).__name__} instead."
        )
    ax = axes(ax)
    names = [str(s) for s in funnel.index]
    y = np.arange(len(names))[::-1]
    ax.barh(y, funnel["entered"].to_numpy(), color="#4c72b0")
    top = float(funnel["entered"].max() or 1)
    for yi, (_, row) in zip(y, funnel.iterrows(), strict=True):
        text = f"  {row['conversion']:.0%} move on" if np.isfinite(row["conversion"]) else ""
        if np.isfinite(row["median_days"]):
            text += f", median {row['median_days']:.0f} days"
        ax.text(row["entered"], yi, text, va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.set_xlim(0, top * 1.6)
    ax.set_xlabel("projects that entered the stage")
    ax.set_title("Stage funnel")
    return ax


def observed_procurement(
    base: ClientBase, project_ids: Any, as_of: Any, days: Any, until: Any
) -> pd.Series:
    """Return the observed share of `project_ids` whose procurement started within each of `days`.

    An Aalen-Johansen estimate from `as_of`: procurement is the event, the project's closing
    (cancellation) competes, and a project still before procurement at `until` (the end of the
    data) is censored there.
    """
    from lifelines import AalenJohansenFitter

    t = to_timestamp(as_of, name="as_of", owner="observed_procurement")
    end = to_timestamp(until, name="until", owner="observed_procurement")
    ids = pd.Index(project_ids)
    view = base.as_of(end)
    reached = view.stages[view.stages["stage"] == "procurement"].set_index("project_id")
    start = pd.Series(ids.map(reached["started_at"]), index=ids)
    closed = view.projects.set_index("project_id")["closed_at"].reindex(ids)
    status = view.projects.set_index("project_id")["status"].astype(object).reindex(ids)
    event = np.where(start.notna(), 1, np.where(status.eq("cancelled") & closed.notna(), 2, 0))
    stop = start.where(start.notna(), closed.where(event == 2, end))
    duration = np.maximum((pd.DatetimeIndex(stop) - t) / _DAY, 1e-3)
    grid = np.asarray(days, dtype=np.float64)
    if not (event == 1).any():
        return pd.Series(np.zeros(len(grid)), index=grid)
    aj = AalenJohansenFitter(calculate_variance=False).fit(duration, event, event_of_interest=1)
    curve = aj.cumulative_density_.iloc[:, 0]
    values = [
        float(curve[curve.index <= d].iloc[-1]) if (curve.index <= d).any() else 0.0 for d in grid
    ]
    return pd.Series(values, index=grid)


def plot_procurement_calibration(
    model: Any,
    base: ClientBase,
    as_of: Any,
    *,
    until: Any,
    days: Any = (15, 30, 60, 90, 120, 150, 180),
    ax: Any = None,
) -> Any:
    """Draw the predicted against the observed share of projects reaching procurement over time.

    The projects still before procurement at `as_of`, by current stage: the mean of their
    predicted probability that procurement has started within each of `days`, against the
    Aalen-Johansen estimate of what happened between `as_of` and `until` (the end of the
    observed data, at least ``as_of`` plus the last of `days` for a full curve).

    Parameters
    ----------
    model : LifecycleModel
        A fitted model.
    base : ClientBase
        The client base, with the outcomes after `as_of`.
    as_of : str or timestamp-like
        When the predictions are made.
    until : str or timestamp-like
        The end of the observed outcomes.
    days : sequence of float, default (15, 30, 60, 90, 120, 150, 180)
        Horizons in days.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> from b2bclient.lifecycle import LifecycleModel
    >>> base = make_client_base(600, seed=2)
    >>> model = LifecycleModel(covariates=(), loss_covariates=(), n_draws=256)
    >>> model = model.fit(base, as_of="2024-03-01")
    >>> ax = plot_procurement_calibration(model, base, "2024-03-01", until="2025-01-01")
    >>> len(ax.lines)
    4
    """
    grid = [float(d) for d in days]
    forecast = model.predict(base, as_of, horizons=[f"{d:g}D" for d in grid])
    ax = axes(ax)
    colours = {"design": "#4c72b0", "production": "#dd8452"}
    for stage, colour in colours.items():
        rows = forecast[forecast["stage"] == stage]
        if rows.empty:
            continue
        predicted = [float(rows[f"p_procurement_{d:g}d"].mean()) for d in grid]
        observed = observed_procurement(base, rows["project_id"], as_of, grid, until)
        n = len(rows)
        ax.plot(grid, predicted, "--", color=colour, label=f"{stage}: predicted ({n})")
        ax.plot(grid, observed.to_numpy(), "-", color=colour, label=f"{stage}: observed")
    ax.set_xlabel(f"days after {to_timestamp(as_of).date()}")
    ax.set_ylabel("share whose procurement started")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Time to procurement: predicted and observed")
    return ax
