"""Plots of churn models: survival curves by segment, calibration, hazard-ratio forest plot.

matplotlib is an optional dependency (the ``plot`` extra); it is imported when a plot is drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._plotting import axes, pyplot
from b2bclient._time import to_duration
from b2bclient.churn._estimators import kaplan_meier, step_at
from b2bclient.churn._model import ChurnModel
from b2bclient.churn._surv import Surv

__all__ = ["calibration_table", "plot_calibration", "plot_hazard_ratios", "plot_survival_curves"]

_DAY = pd.Timedelta(days=1)


def _check_model(model: Any, owner: str) -> ChurnModel:
    if not isinstance(model, ChurnModel):
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must be a fitted ChurnModel. Got "
            f"{type(model).__name__} instead."
        )
    return model


def _groups(by: Any, n: int, owner: str) -> pd.Series:
    if by is None:
        return pd.Series(np.full(n, "all", dtype=object))
    values = pd.Series(np.asarray(by.to_numpy() if isinstance(by, pd.Series) else by))
    if values.shape[0] != n:
        raise InvalidParameterError(
            f"The 'by' parameter of {owner} must give one segment per row ({n} rows). Got "
            f"{values.shape[0]} values instead."
        )
    if values.isna().any():
        raise InvalidParameterError(
            f"The 'by' parameter of {owner} has {int(values.isna().sum())} missing segments; "
            f"fill them (for example with 'unknown') first."
        )
    return values


def plot_survival_curves(
    y: Any = None,
    *,
    by: Any = None,
    model: ChurnModel | None = None,
    X: Any = None,
    times: Any = None,
    ax: Any = None,
) -> Any:
    """Draw survival curves by segment: observed (Kaplan-Meier) and/or predicted by a model.

    With `y`, each segment's Kaplan-Meier curve is drawn as a solid step line; with `model` and
    `X`, each segment's mean predicted survival is drawn dashed in the same colour, so the two
    can be compared.

    Parameters
    ----------
    y : Surv array or array-like, optional
        Observed durations and events.
    by : array-like, optional
        Segment of each row (for example ``truth.segment`` or a Segmenter's labels); one curve
        when omitted.
    model : ChurnModel, optional
        A fitted model whose predicted curves are drawn; needs `X`.
    X : DataFrame or array-like, optional
        Features of the rows, for `model`.
    times : sequence of float, optional
        Days at which predicted curves are evaluated; by default 100 points up to the longest
        duration the model supports.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MissingDependencyError
        If matplotlib is not installed (``pip install b2bclient[plot]``).
    InvalidParameterError
        If neither `y` nor `model` with `X` is given, or the lengths differ.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> y = Surv.from_arrays([10.0, 40.0, 25.0, 60.0], [True, False, True, True])
    >>> ax = plot_survival_curves(y, by=["a", "a", "b", "b"])
    >>> [line.get_label() for line in ax.get_lines()]
    ['a (n=2)', 'b (n=2)']
    """
    owner = "plot_survival_curves"
    if y is None and model is None:
        raise InvalidParameterError(
            f"{owner} needs observed outcomes y, or a fitted model with its X, or both."
        )
    if model is not None and X is None:
        raise InvalidParameterError(f"{owner} needs X with model, to predict the curves.")
    duration = event = None
    if y is not None:
        duration, event = Surv.to_arrays(y, name="y")
    n = duration.shape[0] if duration is not None else _n_rows(X)
    groups = _groups(by, n, owner)
    ax = axes(ax)
    curves = None
    grid = None
    if model is not None:
        _check_model(model, owner)
        limit = model.max_duration_
        if model.kind == "gbm" and model.horizon_ is not None:
            limit = model.horizon_
        grid = np.linspace(0.0, float(limit), 100) if times is None else np.asarray(times, float)
        curves = model.predict_survival(X, grid).to_numpy()
        if curves.shape[0] != n:
            raise InvalidParameterError(
                f"X passed to {owner} has {curves.shape[0]} rows but y and by have {n}."
            )
    levels = list(pd.unique(groups))
    try:
        levels = sorted(levels)
    except TypeError:
        levels = sorted(levels, key=str)
    for i, level in enumerate(levels):
        rows = (groups == level).to_numpy()
        color = f"C{i % 10}"
        label = f"{level} (n={int(rows.sum())})"
        if duration is not None and event is not None:
            t, s = kaplan_meier(duration[rows], event[rows])
            ax.step(np.r_[0.0, t], np.r_[1.0, s], where="post", color=color, label=label)
            label = "_nolegend_"
        if curves is not None and grid is not None:
            ax.plot(grid, curves[rows].mean(axis=0), "--", color=color, label=label)
    ax.set_xlabel("days since landmark")
    ax.set_ylabel("share still a client")
    ax.set_ylim(0.0, 1.02)
    title = (
        "Observed (solid) and predicted (dashed) survival"
        if curves is not None
        else ("Observed survival (Kaplan-Meier)")
    )
    if y is None:
        title = "Predicted survival"
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


def _n_rows(X: Any) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


def calibration_table(
    model: ChurnModel, X: Any, y: Any, *, horizon: Any = None, n_bins: int = 10
) -> pd.DataFrame:
    """Return predicted against observed churn within `horizon`, by bins of predicted risk.

    Rows are grouped into `n_bins` bins of equal size by predicted probability; in each bin the
    observed churn is one minus the Kaplan-Meier survival at the horizon, so censored rows
    count for as long as they were observed.

    Parameters
    ----------
    model : ChurnModel
        A fitted model.
    X : DataFrame or array-like
        Features (preferably held out).
    y : Surv array or array-like
        Observed durations and events of the same rows.
    horizon : str, int, float or pandas.Timedelta, optional
        Such as ``"180D"``; defaults to the model's horizon.
    n_bins : int, default=10
        Number of bins.

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``n``, ``predicted`` (mean probability) and ``observed``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 1))
    >>> t = rng.exponential(100 * np.exp(-X[:, 0]))
    >>> y = Surv.from_arrays(np.minimum(t, 200), t < 200)
    >>> model = ChurnModel(penalizer=0.0).fit(X, y)
    >>> table = calibration_table(model, X, y, horizon="60D", n_bins=4)
    >>> table.columns.tolist(), int(table["n"].sum())
    (['n', 'predicted', 'observed'], 400)
    """
    table, _ = _calibration(model, X, y, horizon, n_bins, "calibration_table")
    return table


def _calibration(
    model: ChurnModel, X: Any, y: Any, horizon: Any, n_bins: int, owner: str
) -> tuple[pd.DataFrame, float]:
    """Return the calibration table and the horizon in days, naming `owner` in errors."""
    _check_model(model, owner)
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise InvalidParameterError(
            f"The 'n_bins' parameter of {owner} must be a positive integer such as 10. Got "
            f"{n_bins!r} instead."
        )
    p = np.asarray(model.predict_churn_probability(X, horizon), dtype=np.float64)
    h = model.horizon_ if horizon is None else _horizon_days(horizon, owner)
    assert h is not None  # predict_churn_probability refuses a model and call without horizon
    duration, event = Surv.to_arrays(y, name="y")
    if duration.shape[0] != p.shape[0]:
        raise InvalidParameterError(
            f"X and y passed to {owner} have different lengths: {p.shape[0]} and "
            f"{duration.shape[0]} rows."
        )
    order = np.argsort(p, kind="stable")
    bins = np.array_split(order, min(int(n_bins), p.shape[0]))
    rows = []
    for idx in bins:
        t, s = kaplan_meier(duration[idx], event[idx])
        observed = 1.0 - float(step_at(t, s, np.array([h]), initial=1.0)[0])
        rows.append({"n": idx.shape[0], "predicted": float(p[idx].mean()), "observed": observed})
    return pd.DataFrame(rows, index=pd.RangeIndex(len(rows), name="bin")), h


def _horizon_days(horizon: Any, owner: str) -> float:
    return float(to_duration(horizon, name="horizon", owner=owner) / _DAY)


def plot_calibration(
    model: ChurnModel,
    X: Any,
    y: Any,
    *,
    horizon: Any = None,
    n_bins: int = 10,
    ax: Any = None,
) -> Any:
    """Draw predicted against observed churn within `horizon` (a calibration plot).

    Points on the diagonal mean the predicted probabilities are right on average; see
    :func:`calibration_table` for how the bins are formed and censoring handled.

    Parameters
    ----------
    model : ChurnModel
        A fitted model.
    X : DataFrame or array-like
        Features (preferably held out).
    y : Surv array or array-like
        Observed durations and events of the same rows.
    horizon : str, int, float or pandas.Timedelta, optional
        Such as ``"180D"``; defaults to the model's horizon.
    n_bins : int, default=10
        Number of bins of equal size.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MissingDependencyError
        If matplotlib is not installed (``pip install b2bclient[plot]``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 1))
    >>> t = rng.exponential(100 * np.exp(-X[:, 0]))
    >>> y = Surv.from_arrays(np.minimum(t, 200), t < 200)
    >>> ax = plot_calibration(ChurnModel().fit(X, y), X, y, horizon="60D", n_bins=5)
    >>> len(ax.get_lines()[0].get_xdata())
    5
    """
    pyplot()
    table, h = _calibration(model, X, y, horizon, n_bins, "plot_calibration")
    ax = axes(ax)
    ax.plot(table["predicted"], table["observed"], "o-", label="model")
    top = float(max(table["predicted"].max(), table["observed"].max(), 0.05)) * 1.05
    ax.plot([0.0, top], [0.0, top], ":", color="grey", label="perfect calibration")
    ax.set_xlabel(f"predicted churn probability within {h:g} days")
    ax.set_ylabel("observed churn (Kaplan-Meier)")
    ax.set_xlim(0.0, top)
    ax.set_ylim(0.0, top)
    ax.set_title("Calibration")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_hazard_ratios(model: ChurnModel, *, sort: bool = True, ax: Any = None) -> Any:
    """Draw a forest plot of the model's hazard ratios (or time ratios) with their intervals.

    Parameters
    ----------
    model : ChurnModel
        A fitted model of kind ``"cox"`` (hazard ratios) or an AFT kind (time ratios).
    sort : bool, default=True
        Order the covariates by effect.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MissingDependencyError
        If matplotlib is not installed (``pip install b2bclient[plot]``).
    InvalidParameterError
        For a ``"gbm"`` model, which has no ratios.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> X = pd.DataFrame({"tickets": [0.0, 3.0, 1.0, 4.0, 0.0, 2.0],
    ...                   "orders": [5.0, 1.0, 4.0, 0.0, 6.0, 1.0]})
    >>> y = Surv.from_arrays([30.0, 10.0, 25.0, 5.0, 40.0, 12.0], [1, 1, 0, 1, 0, 1])
    >>> ax = plot_hazard_ratios(ChurnModel(penalizer=1.0).fit(X, y))
    >>> sorted(t.get_text() for t in ax.get_yticklabels())
    ['orders', 'tickets']
    """
    _check_model(model, "plot_hazard_ratios")
    table = model.explain()
    ratio = "hazard_ratio" if model.kind == "cox" else "time_ratio"
    if sort:
        table = table.sort_values(ratio)
    ax = axes(ax)
    pos = np.arange(table.shape[0])
    lower = table[ratio] - table[f"{ratio}_lower"]
    upper = table[f"{ratio}_upper"] - table[ratio]
    ax.errorbar(table[ratio], pos, xerr=[lower.to_numpy(), upper.to_numpy()], fmt="o", capsize=3)
    ax.axvline(1.0, color="grey", linestyle=":")
    ax.set_xscale("log")
    ax.set_yticks(pos)
    ax.set_yticklabels(list(table.index))
    level = round(100 * float(table.attrs.get("confidence_level", 0.95)))
    name = "hazard ratio" if ratio == "hazard_ratio" else "time ratio"
    ax.set_xlabel(f"{name} ({level}% interval, log scale)")
    ax.set_title("Churn drivers" if ratio == "hazard_ratio" else "Lifetime drivers")
    return ax
