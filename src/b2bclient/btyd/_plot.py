"""Diagnostic plots of the transaction models (matplotlib, optional extra ``plot``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._plotting import axes
from b2bclient.btyd._base import TransactionModel
from b2bclient.btyd._freq import unit_name
from b2bclient.btyd._validation import check_fitted, rfm_arrays

__all__ = ["plot_calibration_holdout", "plot_p_alive_matrix"]


def _unit(model: TransactionModel, frame: Any) -> str | None:
    """Return the plural name of the time unit of `frame` (or of the model's summary)."""
    attrs = frame.attrs if isinstance(frame, pd.DataFrame) else {}
    return unit_name(attrs.get("time_unit", attrs.get("freq", model.time_unit_)))


def _check_model(model: Any, owner: str) -> None:
    if not isinstance(model, TransactionModel):
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must be a fitted BetaGeo, ModifiedBetaGeo or "
            f"ParetoNBD. Got {type(model).__name__} instead."
        )
    check_fitted(model)


def plot_calibration_holdout(
    model: TransactionModel,
    frame: pd.DataFrame,
    *,
    max_frequency: int = 7,
    ax: Any = None,
) -> Any:
    """Plot actual against predicted holdout purchases, by calibration-period frequency.

    Customers are grouped by their calibration ``frequency`` (the last group collects
    ``max_frequency`` and more); for each group the mean of ``frequency_holdout`` is drawn
    against the mean of the model's conditional expectation over ``duration_holdout``. A model
    that tracks well keeps both lines together.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        A model fitted on the calibration part of `frame`.
    frame : pandas.DataFrame
        Output of :func:`calibration_holdout`.
    max_frequency : int, default 7
        Largest calibration frequency shown on its own.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created by default.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MissingDependencyError
        If matplotlib is not installed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import b2bclient.btyd as btyd
    >>> frame = btyd.simulate_summary(btyd.BetaGeo, T=30.0, n_customers=1000,
    ...     params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}, random_state=0)
    >>> bg = btyd.BetaGeo().fit(frame)
    >>> frame["duration_holdout"] = 10.0
    >>> frame["frequency_holdout"] = bg.conditional_expected_purchases(10.0, frame).round()
    >>> ax = btyd.plot_calibration_holdout(bg, frame)
    >>> ax.get_xlabel()
    'Purchases in calibration period'
    """
    _check_model(model, "plot_calibration_holdout")
    columns = frame.columns if isinstance(frame, pd.DataFrame) else []
    missing = [c for c in ("frequency_holdout", "duration_holdout") if c not in columns]
    if missing:
        raise InvalidParameterError(
            f"plot_calibration_holdout needs the output of calibration_holdout; the frame lacks "
            f"{missing}."
        )
    if (
        isinstance(max_frequency, bool)
        or not isinstance(max_frequency, (int, np.integer))
        or (max_frequency < 1)
    ):
        raise InvalidParameterError(
            f"The 'max_frequency' parameter of plot_calibration_holdout must be an integer >= 1. "
            f"Got {max_frequency!r} instead."
        )
    predicted = model.conditional_expected_purchases(frame["duration_holdout"].to_numpy(), frame)
    group = np.minimum(frame["frequency"].to_numpy(), max_frequency)
    table = (
        pd.DataFrame(
            {
                "actual": frame["frequency_holdout"].to_numpy(dtype=np.float64),
                "model": np.asarray(predicted, dtype=np.float64),
                "group": group,
            }
        )
        .groupby("group")[["actual", "model"]]
        .mean()
    )
    ax = axes(ax)
    ax.plot(table.index, table["actual"], marker="o", label="actual")
    ax.plot(table.index, table["model"], marker="s", linestyle="--", label=type(model).__name__)
    ax.set_xlabel("Purchases in calibration period")
    ax.set_ylabel("Mean purchases in holdout period")
    title = "Actual and predicted purchases in the holdout period"
    durations = frame["duration_holdout"].to_numpy(dtype=np.float64)
    unit = _unit(model, frame)
    if unit is not None and durations.size and np.all(durations == durations[0]):
        title += f" ({durations[0]:g} {unit})"
    ax.set_title(title)
    ticks = list(table.index)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t}+" if t == max_frequency else str(t) for t in ticks])
    ax.legend()
    return ax


def plot_p_alive_matrix(
    model: TransactionModel,
    summary: pd.DataFrame | None = None,
    *,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    ax: Any = None,
) -> Any:
    """Plot P(alive) over a grid of frequency and recency, for customers observed `max_recency`.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        A fitted model without covariates.
    summary : pandas.DataFrame, optional
        Summary whose largest ``frequency`` and ``T`` set the default grid.
    max_frequency : int, optional
        Largest frequency on the grid (default: the summary's largest).
    max_recency : float, optional
        Largest recency, also the customers' age ``T`` (default: the summary's largest ``T``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created by default.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MissingDependencyError
        If matplotlib is not installed.
    InvalidParameterError
        If the grid is not given and no summary is passed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import b2bclient.btyd as btyd
    >>> sample = btyd.simulate_summary(btyd.BetaGeo, T=30.0, n_customers=1000,
    ...     params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}, random_state=0)
    >>> ax = btyd.plot_p_alive_matrix(btyd.BetaGeo().fit(sample), sample)
    >>> ax.get_ylabel()
    'Recency (time of last purchase)'
    """
    owner = "plot_p_alive_matrix"
    _check_model(model, owner)
    if model.covariate_names_:
        raise InvalidParameterError(
            "plot_p_alive_matrix draws a model without covariates; this one was fitted with "
            f"{model.covariate_names_}."
        )
    if max_frequency is None or max_recency is None:
        if summary is None:
            raise InvalidParameterError(
                "plot_p_alive_matrix needs a summary or both max_frequency and max_recency."
            )
        rfm = rfm_arrays(summary, owner=owner)
        if len(rfm) == 0:
            raise InvalidParameterError(
                "plot_p_alive_matrix cannot size its grid from an empty summary; pass "
                "max_frequency and max_recency."
            )
        if max_frequency is None:
            max_frequency = int(rfm.frequency.max())
        if max_recency is None:
            max_recency = float(rfm.T.max())
    numbers = (int, float, np.integer, np.floating)
    if (
        not isinstance(max_frequency, numbers)
        or not isinstance(max_recency, numbers)
        or max_frequency < 1
        or not np.isfinite(max_recency)
        or max_recency <= 0
    ):
        raise InvalidParameterError(
            f"plot_p_alive_matrix needs max_frequency >= 1 and max_recency > 0. Got "
            f"{max_frequency!r} and {max_recency!r}."
        )
    frequencies = np.arange(0, int(max_frequency) + 1, dtype=np.float64)
    recencies = np.linspace(0.0, float(max_recency), 101)
    grid_x, grid_r = np.meshgrid(frequencies, recencies)
    # Recency 0 is only possible without repeat purchases; show it as missing elsewhere.
    valid = ~((grid_x > 0) & (grid_r == 0)) & ~((grid_x == 0) & (grid_r > 0))
    grid_r_valid = np.where(valid, grid_r, np.where(grid_x > 0, recencies[1], 0.0))
    values = np.asarray(
        model.p_alive(
            frequency=grid_x.ravel(),
            recency=grid_r_valid.ravel(),
            T=np.full(grid_x.size, float(max_recency)),
        ),
        dtype=np.float64,
    ).reshape(grid_x.shape)
    values = np.where(valid, values, np.nan)
    ax = axes(ax)
    image = ax.imshow(
        values,
        origin="lower",
        aspect="auto",
        extent=(-0.5, float(max_frequency) + 0.5, 0.0, float(max_recency)),
        vmin=0.0,
        vmax=1.0,
        cmap="viridis",
    )
    ax.figure.colorbar(image, ax=ax, label="P(alive)")
    unit = _unit(model, summary)
    ax.set_xlabel("Frequency (repeat purchases)")
    ax.set_ylabel(
        "Recency (time of last purchase)"
        if unit is None
        else f"Recency (time of last purchase, {unit})"
    )
    ax.set_title(
        f"P(alive) of customers observed for T = {max_recency:g}"
        + ("" if unit is None else f" {unit}")
    )
    return ax
