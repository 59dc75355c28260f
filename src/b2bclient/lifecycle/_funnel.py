"""The stage funnel: how many projects reach each stage, how long they stay, which services join."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient.base import ClientBase
from b2bclient.base._schema import SERVICE_CATEGORIES, STAGES
from b2bclient.lifecycle._history import spells

__all__ = ["stage_funnel"]

_OWNER = "stage_funnel"


def _km_median(days: np.ndarray, event: np.ndarray) -> float:
    """Return the Kaplan-Meier median of `days` (NaN when the curve stays above one half)."""
    if not event.any():
        return float("nan")
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(np.maximum(days, 1e-3), event)
    median = float(km.median_survival_time_)
    return median if np.isfinite(median) else float("nan")


def stage_funnel(base: ClientBase, as_of: Any) -> pd.DataFrame:
    """Return the conversion, durations and attached services of every stage, as known at `as_of`.

    Parameters
    ----------
    base : ClientBase
        The client base; only rows before `as_of` are read.
    as_of : str or timestamp-like
        The point in time.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``stage``. ``entered``: projects that entered the stage; ``reached``: that
        count over the projects that entered design; ``moved_on``, ``cancelled`` (either exit:
        the project cancelled, or ended with its organisation) and ``running``; ``conversion``:
        moved on over those that left the stage; ``median_days``: Kaplan-Meier median of the days
        in the stage until moving on (exits and running stages censored);
        ``median_days_completed``: median days of the stages that moved on; then one
        ``service_<category>`` column per service category: the share of the projects in the
        stage that ordered that service while in it (a deal line of a product of kind
        ``service``, by its ``category``).

    Raises
    ------
    InvalidParameterError
        If `base` is not a ClientBase or `as_of` is not a point in time.

    Examples
    --------
    >>> from b2bclient.datasets import make_client_base
    >>> funnel = stage_funnel(make_client_base(300, seed=1), "2024-06-01")
    >>> funnel.index.tolist()
    ['design', 'production', 'procurement', 'delivery', 'commissioning']
    >>> bool(funnel["entered"].is_monotonic_decreasing)
    True
    """
    if not isinstance(base, ClientBase):
        raise InvalidParameterError(
            f"The 'base' parameter of {_OWNER} must be a ClientBase. Got {type(base).__name__} "
            "instead."
        )
    t = to_timestamp(as_of, name="as_of", owner=_OWNER)
    view = base.as_of(t)
    history = spells(view, t)
    stage = history["stage"].to_numpy()
    outcome = history["outcome"].astype(object).to_numpy()
    days = history["days"].to_numpy()
    rows = []
    for s in range(len(STAGES)):
        mask = stage == s
        moved = int((outcome[mask] == "moved_on").sum())
        running = int((outcome[mask] == "running").sum())
        entered = int(mask.sum())
        left = entered - running
        done = mask & (outcome == "moved_on")
        rows.append(
            {
                "entered": entered,
                "moved_on": moved,
                "cancelled": left - moved,
                "running": running,
                "conversion": moved / left if left else np.nan,
                "median_days": _km_median(days[mask], outcome[mask] == "moved_on"),
                "median_days_completed": float(np.median(days[done])) if done.any() else np.nan,
            }
        )
    index = pd.CategoricalIndex(list(STAGES), categories=list(STAGES), ordered=True, name="stage")
    out = pd.DataFrame(rows, index=index)
    design = out["entered"].iloc[0]
    out.insert(1, "reached", out["entered"] / design if design else np.nan)
    services = _services(view, history)
    for category in services.columns:
        share = services[category].reindex(range(len(STAGES)), fill_value=0).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"service_{category}"] = np.where(
                out["entered"] > 0, share / out["entered"], np.nan
            )
    return out


def _services(view: ClientBase, history: pd.DataFrame) -> pd.DataFrame:
    """Return, per stage code and service category, the projects that ordered it in the stage."""
    products = view.products
    known = list(SERVICE_CATEGORIES)
    kind = products["kind"].astype(object).fillna("good") if "kind" in products else None
    if kind is None or len(view.deals) == 0 or len(view.deal_lines) == 0:
        return pd.DataFrame(0, index=range(len(STAGES)), columns=known)
    service = products[(kind == "service").to_numpy()]
    category = service.set_index("product_id")["category"].astype(object).fillna("other")
    lines = view.deal_lines[view.deal_lines["product_id"].isin(category.index)]
    lines = lines.assign(category=lines["product_id"].map(category).to_numpy())
    deals = view.deals.loc[
        view.deals["project_id"].notna(), ["deal_id", "project_id", "created_at"]
    ]
    joined = lines[["deal_id", "category"]].merge(deals, on="deal_id")
    spans = history[["project_id", "stage", "started_at", "ended_at"]]
    joined = joined.merge(spans, on="project_id")
    inside = (joined["started_at"] <= joined["created_at"]) & (
        joined["ended_at"].isna() | (joined["created_at"] < joined["ended_at"])
    )
    joined = joined[inside].drop_duplicates(["project_id", "stage", "category"])
    counts = pd.crosstab(joined["stage"], joined["category"])
    extra = sorted(set(counts.columns) - set(known))
    return counts.reindex(columns=known + extra, fill_value=0)
