"""Plots of the pipeline: calibration of win probabilities, forecast against actual (extra ``plot``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._plotting import axes

__all__ = ["calibration_table", "plot_backtest", "plot_calibration"]


def calibration_table(y_true: Any, p: Any, *, n_bins: int = 10) -> pd.DataFrame:
    """Return per decile (quantile bin) of `p` the mean prediction, the win rate and the count.

    Parameters
    ----------
    y_true : array-like of bool
        Outcomes (won).
    p : array-like of float
        Predicted probabilities.
    n_bins : int, default 10
        Quantile bins; ties may merge some.

    Returns
    -------
    pandas.DataFrame
        ``predicted``, ``observed``, ``deals`` and ``gap`` (observed − predicted) per bin.

    Examples
    --------
    >>> t = calibration_table([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], n_bins=2)
    >>> t["observed"].tolist()
    [0.0, 1.0]
    """
    y = np.asarray(y_true, dtype=np.float64)
    q = np.asarray(p, dtype=np.float64)
    if y.shape != q.shape or y.ndim != 1 or not len(y):
        raise InvalidParameterError(
            "calibration_table needs two non-empty 1-d arrays of the same length; got shapes "
            f"{y.shape} and {q.shape}."
        )
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise InvalidParameterError(
            "The 'n_bins' parameter of calibration_table must be a positive integer such as 10. "
            f"Got {n_bins!r} instead."
        )
    outside = ~((q >= 0.0) & (q <= 1.0))
    if outside.any():
        raise InvalidParameterError(
            f"calibration_table: 'p' must hold probabilities in [0, 1]; {int(outside.sum())} "
            f"do not (e.g. {q[outside][0]!r} at position {int(np.flatnonzero(outside)[0])})."
        )
    bins = pd.qcut(q, n_bins, labels=False, duplicates="drop")
    frame = pd.DataFrame({"predicted": q, "observed": y, "bin": bins})
    out = frame.groupby("bin").agg(
        predicted=("predicted", "mean"), observed=("observed", "mean"), deals=("observed", "size")
    )
    out["gap"] = out["observed"] - out["predicted"]
    return out


def plot_calibration(
    y_true: Any, p: Any, *, n_bins: int = 10, baseline: Any = None, ax: Any = None
) -> Any:
    """Draw the calibration curve: win rate against mean predicted probability per decile.

    Parameters
    ----------
    y_true : array-like of bool
        Outcomes of held-out deals.
    p : array-like of float
        Their predicted win probabilities.
    n_bins : int, default 10
        Quantile bins.
    baseline : array-like of float, optional
        A second set of predictions (the planted truth, a channel-only baseline) drawn beside.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_calibration([0, 1, 0, 1, 1], [0.1, 0.9, 0.3, 0.7, 0.6], n_bins=2)
    >>> ax.get_xlabel()
    'mean predicted win probability'
    """
    ax = axes(ax)
    table = calibration_table(y_true, p, n_bins=n_bins)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
    ax.plot(table["predicted"], table["observed"], marker="o", label="model")
    if baseline is not None:
        other = calibration_table(y_true, baseline, n_bins=n_bins)
        ax.plot(other["predicted"], other["observed"], marker="s", alpha=0.7, label="baseline")
    ax.set_xlabel("mean predicted win probability")
    ax.set_ylabel("win rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    return ax


def plot_backtest(backtest: pd.DataFrame, *, ax: Any = None) -> Any:
    """Draw the forecast with its interval against the actual revenue, per cut-off.

    Parameters
    ----------
    backtest : pandas.DataFrame
        The output of :func:`~b2bclient.pipeline.backtest`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> bt = pd.DataFrame({"forecast": [10.0, 12.0], "lower": [8.0, 9.0], "upper": [12.0, 15.0],
    ...     "actual": [11.0, 16.0], "naive": [9.0, 11.0]},
    ...     index=pd.to_datetime(["2024-01-01", "2024-04-01"]))
    >>> plot_backtest(bt).get_ylabel()
    'won revenue in the horizon'
    """
    needed = {"forecast", "lower", "upper", "actual"}
    if not isinstance(backtest, pd.DataFrame) or not needed <= set(backtest.columns):
        raise InvalidParameterError(
            f"plot_backtest needs the frame of backtest() with columns {sorted(needed)}."
        )
    ax = axes(ax)
    x = backtest.index
    ax.fill_between(x, backtest["lower"], backtest["upper"], alpha=0.25, label="interval")
    ax.plot(x, backtest["forecast"], marker="o", label="forecast")
    ax.plot(x, backtest["actual"], marker="s", color="black", label="actual")
    if "naive" in backtest.columns:
        ax.plot(x, backtest["naive"], marker="^", linestyle="--", alpha=0.7, label="last window")
    ax.set_xlabel("cut-off")
    ax.set_ylabel("won revenue in the horizon")
    ax.legend(loc="best")
    return ax
