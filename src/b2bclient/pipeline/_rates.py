"""The rates behind the forecast's repeat and new business: season, recent bias, dispersion.

A buy-till-you-die model and a recent new-business rate are stationary: they forecast the same
revenue for every quarter, while B2B revenue has a calendar (a spring peak, quarter-end closings,
the year-end dip) and the repeat business of a base where clients churn drifts away from what the
models assume. Three corrections, each measured on data before ``as_of`` only:

* :func:`seasonal_index` -- the revenue won in the same window of past years relative to the
  average window of the year centred on it (ratio to a centred moving year, which removes the
  trend);
* :func:`back_windows` -- the windows ``[as_of - k * span, as_of - (k - 1) * span)`` just before
  ``as_of``: a component is forecast at each window's start as it would have been then, and the
  ratio of what was won to that forecast (after the season) gives the component's recent bias and,
  from the spread of the ratios, the uncertainty of its rate;
* :func:`lognormal_factor` -- a multiplicative rate factor of mean 1 drawn per simulation, so that
  the interval holds the uncertainty of the rate as well as the count noise.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "YEAR",
    "WonRevenue",
    "back_windows",
    "lognormal_factor",
    "ratio_spread",
    "seasonal_index",
]

Floats = npt.NDArray[np.float64]
#: One year, the seasonal period.
YEAR = pd.Timedelta(days=365.25)
_SEASON_BOUNDS = (0.5, 2.0)


def _won(deals: pd.DataFrame) -> tuple[npt.NDArray[np.int64], Floats]:
    won = deals[(deals["status"] == "won") & deals["closed_at"].notna()]
    t = np.asarray(won["closed_at"].to_numpy("datetime64[ns]").view(np.int64), dtype=np.int64)
    order = np.argsort(t, kind="stable")
    amount = won["amount"].to_numpy(np.float64)[order]
    return t[order], np.concatenate([[0.0], np.cumsum(amount)])


@attrs.frozen(eq=False)
class WonRevenue:
    """The won deals' closing times, sorted, and the running sum of their amounts.

    Built once from a deals frame, it answers the revenue won in any window by two binary
    searches; :func:`seasonal_index` at many cut-offs of one frame reads it instead of sorting
    the deals again each time.
    """

    times: npt.NDArray[np.int64]
    cumulative: Floats
    start: int

    @classmethod
    def of(cls, deals: pd.DataFrame) -> WonRevenue:
        """Index the won deals of `deals` (``status``, ``closed_at``, ``amount``, ``created_at``)."""
        t, cum = _won(deals)
        start = int(pd.Timestamp(deals["created_at"].min()).value) if len(deals) else 0
        return cls(t, cum, start)

    def revenue(self, lo: pd.Timestamp, hi: pd.Timestamp) -> float:
        """Return the revenue won with ``closed_at`` in ``[lo, hi)``."""
        a, b = np.searchsorted(self.times, [lo.value, hi.value], side="left")
        return float(self.cumulative[b] - self.cumulative[a])

    def any_before(self, at: pd.Timestamp) -> bool:
        """Return whether a deal was won before `at`."""
        return bool(len(self.times)) and int(self.times[0]) < at.value


def seasonal_index(deals: Any, as_of: pd.Timestamp, span: pd.Timedelta, *, years: int = 3) -> float:
    """Return how much revenue the window ``[as_of, as_of + span)`` brings against an average one.

    For each of the last `years` years with the data for it, the revenue won (by ``closed_at``) in
    the same window a year earlier is divided by the revenue of the year centred on that window,
    scaled to the window's length; the index is the mean of these ratios, bounded to [0.5, 2].
    Only deals closed before `as_of` are read (the centred year of the window a year back ends
    half a year minus half the span before `as_of`). 1 when no past year is complete or the span
    is longer than a year. `deals` is a deals frame or its :class:`WonRevenue` (the same index
    serves every cut-off: no window read ends after `as_of`).

    Examples
    --------
    >>> days = pd.date_range("2020-01-01", "2023-12-31", freq="D")
    >>> spring = np.where(days.month.isin([4, 5, 6]), 2.0, 1.0)
    >>> deals = pd.DataFrame({"status": "won", "closed_at": days, "amount": spring,
    ...                       "created_at": days})
    >>> round(seasonal_index(deals, pd.Timestamp("2024-04-01"), pd.Timedelta("91D")), 2)
    1.59
    """
    if span > YEAR / 2:
        return 1.0
    won = deals if isinstance(deals, WonRevenue) else WonRevenue.of(deals)
    if not won.any_before(as_of):
        return 1.0
    start, revenue = won.start, won.revenue
    ratios = []
    for y in range(1, years + 1):
        lo = as_of - y * YEAR
        centre_lo = lo + span / 2 - YEAR / 2
        if centre_lo.value < start:
            break
        year = revenue(centre_lo, centre_lo + YEAR)
        if year > 0:
            ratios.append(revenue(lo, lo + span) / (year * (span / YEAR)))
    if not ratios:
        return 1.0
    return float(np.clip(np.mean(ratios), *_SEASON_BOUNDS))


def back_windows(
    deals: pd.DataFrame, as_of: pd.Timestamp, span: pd.Timedelta, windows: int, *, history: int = 1
) -> list[pd.Timestamp]:
    """Return the starts ``as_of - k * span`` (k = 1..`windows`) that have data to learn from.

    A start counts when at least `history` spans of deals lie before it.

    Examples
    --------
    >>> deals = pd.DataFrame({"created_at": pd.to_datetime(["2023-01-01"])})
    >>> [str(t.date()) for t in back_windows(deals, pd.Timestamp("2024-01-01"), pd.Timedelta("90D"), 4)]
    ['2023-10-03', '2023-07-05', '2023-04-06']
    """
    first = pd.Timestamp(deals["created_at"].min()) if len(deals) else as_of
    starts = []
    for k in range(1, windows + 1):
        start = as_of - k * span
        if start - history * span < first:
            break
        starts.append(start)
    return starts


def ratio_spread(actual: Floats, forecast: Floats) -> tuple[float, float]:
    """Return the bias (sum of actuals over sum of forecasts) and the spread of the log ratios.

    The spread is the standard deviation of ``log(actual / (bias * forecast))`` over the windows,
    inflated by ``sqrt(1 + 1 / n)`` for a new window (the bias is estimated from the same `n`);
    0 with fewer than 2 windows. Windows without a positive forecast and actual are left out.

    Examples
    --------
    >>> bias, sd = ratio_spread(np.array([8.0, 12.0]), np.array([10.0, 10.0]))
    >>> round(bias, 2), round(sd, 3)
    (1.0, 0.351)
    """
    ok = (forecast > 0) & (actual > 0)
    if not ok.any():
        return 1.0, 0.0
    bias = float(actual[ok].sum() / forecast[ok].sum())
    n = int(ok.sum())
    if n < 2:
        return bias, 0.0
    logs = np.log(actual[ok] / (bias * forecast[ok]))
    return bias, float(np.std(logs, ddof=1) * math.sqrt(1.0 + 1.0 / n))


def lognormal_factor(rng: np.random.Generator, sd: float, size: int) -> Floats:
    """Return `size` draws of a lognormal factor of mean 1 and log standard deviation `sd`.

    Examples
    --------
    >>> f = lognormal_factor(np.random.default_rng(0), 0.2, 100_000)
    >>> round(float(f.mean()), 2)
    1.0
    """
    if sd <= 0:
        return np.ones(size)
    return np.asarray(np.exp(sd * rng.standard_normal(size) - sd**2 / 2.0), dtype=np.float64)


def _won_in(deals: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    closed = deals["closed_at"]
    return deals[(deals["status"] == "won") & (closed >= lo) & (closed < hi)]
