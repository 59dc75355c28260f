"""New business of the forecast: deals won by organisations not yet clients, as a rate per window.

Deals won in ``[w, w + horizon)`` that were created in it by organisations that had not bought
before ``w``, counted over the windows before ``as_of``, taken out of season, and corrected by the
recent ratio of what followed to what the rate forecast (see :mod:`b2bclient.pipeline._forecast`).
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient.pipeline._rates import WonRevenue, _won_in, ratio_spread, seasonal_index

__all__ = ["new_business_rate"]

Floats = npt.NDArray[np.float64]


def _new_business(
    deals: pd.DataFrame, as_of: pd.Timestamp, span: pd.Timedelta, windows: int
) -> tuple[Floats, list[pd.Timestamp], list[pd.DataFrame]]:
    """Return the count of new-client wins per window, the windows' starts, and the wins' rows."""
    won = deals[deals["status"] == "won"]
    first = won.groupby("organisation_id", observed=True)["closed_at"].min()
    counts, starts, rows = [], [], []
    for j in range(1, windows + 1):
        lo, hi = as_of - j * span, as_of - (j - 1) * span
        if lo < deals["created_at"].min():
            break
        got = _won_in(deals, lo, hi)
        got = got[got["created_at"] >= lo]
        before = got["organisation_id"].map(first) < lo
        got = got[~before.to_numpy()]
        counts.append(float(len(got)))
        starts.append(lo)
        rows.append(got)
    return np.asarray(counts, dtype=np.float64), starts, rows


@attrs.frozen
class _NewRate:
    rate: float  # new-client wins per window, out of season
    sd: float  # log spread of the rate
    bias: float
    rows: pd.DataFrame


def new_business_rate(
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    span: pd.Timedelta,
    windows: int,
    calibration: int,
    won: WonRevenue,
) -> _NewRate:
    """Return the new-client wins per window out of season, its recent bias and spread.

    The rate is the mean over the last `windows` windows of their counts, each divided by its
    window's season. The same rate measured at each of the `calibration` window starts before
    ``as_of`` is compared with the count that followed: the ratio of the sums corrects the lag of
    a mean when the rate drifts (the pool of organisations not yet clients shrinks as the base
    matures), and the spread of the ratios is the rate's uncertainty.
    """
    counts, starts, rows = _new_business(deals, as_of, span, windows + calibration)
    if not len(counts):
        return _NewRate(rate=0.0, sd=0.0, bias=1.0, rows=deals.iloc[:0])
    level = counts / np.array([seasonal_index(won, w, span) for w in starts])
    forecasts, actuals = [], []
    for k in range(1, calibration + 1):
        past = level[k : k + windows]
        if len(past) < windows:
            break
        forecasts.append(float(past.mean()) * seasonal_index(won, starts[k - 1], span))
        actuals.append(float(counts[k - 1]))
    bias, sd = ratio_spread(np.asarray(actuals), np.asarray(forecasts))
    recent = level[:windows]
    return _NewRate(
        rate=float(recent.mean()) * bias, sd=sd, bias=bias, rows=pd.concat(rows[:windows])
    )
