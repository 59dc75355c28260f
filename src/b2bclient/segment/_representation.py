"""What the Segmenter clusters: a behavioural profile of each organisation, with its reliability.

Raw feature columns make poor clustering coordinates: counts grow with tenure (a five-year client
has five times the orders of a one-year client with the same habits), a share computed from two
orders is as loud as one from two hundred, and a client that stopped a year ago has zeros in every
recent window. The profile turns the columns of ``build_features`` into rates per year of activity
and log-odds of shares, and attaches to every value the variance of its measurement: a rate from a
short exposure or a share from few orders is unreliable, a value with no exposure at all is
unobserved. The mixture model weighs each value by that reliability (young organisations are
shrunk towards their segment, see ``_mixture``); the distance-based methods use values shrunk
towards the population by the same variances.

``docs/segment.md`` explains each dimension and why it was chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "DIMENSIONS",
    "Dimension",
    "Measurements",
    "available_dimensions",
    "measure",
    "shrink",
]

Floats = npt.NDArray[np.float64]

_YEAR_DAYS = 365.25
#: Years added to the observed active span of an organisation: its activity continues, on
#: average, some time after its last recorded touch.
_SPAN_PAD_YEARS = 0.25
#: A window exposure below this many years carries no usable rate.
_MIN_EXPOSURE_YEARS = 0.05
#: Variance of a value taken as exact (head count is recorded, not sampled).
_EXACT = 0.01


@attrs.frozen
class Measurements:
    """Profile values of a set of organisations and the variance of each measurement.

    Parameters
    ----------
    values : pandas.DataFrame
        One column per dimension, indexed like the features; NaN where unobserved.
    variances : pandas.DataFrame
        Measurement variance of each value, ``inf`` where unobserved.
    """

    values: pd.DataFrame
    variances: pd.DataFrame


@attrs.frozen
class Dimension:
    """One coordinate of the profile.

    Parameters
    ----------
    name : str
        Short name, used as column name of the profile.
    description : str
        What the value is, in a sentence.
    columns : tuple of str
        Feature columns it reads, besides the exposure columns.
    compute : callable
        ``compute(X, exposure) -> (values, variances)``.
    """

    name: str
    description: str
    columns: tuple[str, ...]
    compute: Callable[[pd.DataFrame, Exposure], tuple[Floats, Floats]]


@attrs.frozen
class Exposure:
    """How long each organisation was observed: in all, and in the last year."""

    years: Floats
    recent_years: Floats


_TENURE = "firmographics__age_days"
_LAST_TOUCH = "engagement__last_touch_days"
_RECENCY = "purchasing__recency_days"
EXPOSURE_COLUMNS: tuple[str, ...] = (_TENURE, _LAST_TOUCH, _RECENCY)


def _col(X: pd.DataFrame, column: str) -> Floats:
    return np.asarray(X[column].to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def exposure(X: pd.DataFrame) -> Exposure:
    """Return the active years of each organisation, overall and within the last year.

    The active span runs from the organisation's creation to its last touch or purchase
    (whichever is later), plus a quarter of a year: an organisation that stopped buying and
    talking two years ago was active for its tenure minus two years, and a rate over its whole
    tenure would understate its habits. Without any touch or purchase the span is the tenure.
    """
    age = np.maximum(np.nan_to_num(_col(X, _TENURE), nan=0.0), 0.0)
    last = age.copy()
    for column in (_LAST_TOUCH, _RECENCY):
        if column in X.columns:
            since = _col(X, column)
            last = np.fmin(last, np.where(np.isnan(since), age, since))
    years = (age - last) / _YEAR_DAYS + _SPAN_PAD_YEARS
    recent = np.clip(np.minimum(age, _YEAR_DAYS) - np.minimum(last, _YEAR_DAYS), 0.0, None)
    return Exposure(years=years, recent_years=recent / _YEAR_DAYS)


def _rate(count: Floats, years: Floats, min_years: float) -> tuple[Floats, Floats]:
    """Log rate per year of a Poisson count and its variance (1 / (count + 0.5))."""
    count = np.maximum(np.nan_to_num(count, nan=0.0), 0.0)
    ok = years >= min_years
    safe = np.where(ok, years, 1.0)
    values = np.where(ok, np.log((count + 0.5) / safe), np.nan)
    return values, np.where(ok, 1.0 / (count + 0.5), np.inf)


def _log_odds(successes: Floats, trials: Floats, prior: float) -> tuple[Floats, Floats]:
    """Log-odds of a share smoothed by one pseudo-trial at `prior`, and its binomial variance."""
    trials = np.maximum(np.nan_to_num(trials, nan=0.0), 0.0)
    successes = np.clip(np.nan_to_num(successes, nan=0.0), 0.0, trials)
    p = (successes + prior) / (trials + 1.0)
    ok = trials > 0
    values = np.where(ok, np.log(p / (1.0 - p)), np.nan)
    return values, np.where(ok, 1.0 / ((trials + 1.0) * p * (1.0 - p)), np.inf)


def _size(X: pd.DataFrame, _: Exposure) -> tuple[Floats, Floats]:
    values = _col(X, "firmographics__log_employees")
    return values, np.where(np.isnan(values), np.inf, _EXACT)


def _orders(X: pd.DataFrame, e: Exposure) -> tuple[Floats, Floats]:
    return _rate(_col(X, "purchasing__orders_total"), e.years, _MIN_EXPOSURE_YEARS)


def _order_value(X: pd.DataFrame, _: Exposure) -> tuple[Floats, Floats]:
    n = np.nan_to_num(_col(X, "purchasing__orders_total"), nan=0.0)
    revenue = _col(X, "purchasing__revenue_total")
    ok = (n > 0) & (revenue > 0)
    values = np.where(ok, np.log(np.where(ok, revenue, 1.0) / np.maximum(n, 1.0)), np.nan)
    # Order values spread by a factor of about two around an organisation's typical order.
    return values, np.where(ok, 0.5 / np.maximum(n, 1.0), np.inf)


def _channel(channel: str) -> Callable[[pd.DataFrame, Exposure], tuple[Floats, Floats]]:
    def compute(X: pd.DataFrame, _: Exposure) -> tuple[Floats, Floats]:
        n = np.rint(np.nan_to_num(_col(X, "purchasing__orders_365d"), nan=0.0))
        share = np.nan_to_num(_col(X, f"purchasing__share_{channel}_365d"), nan=0.0)
        if channel == "portal":
            return _log_odds(np.rint(share * n), n, 0.5)
        # Tender and EDI are shares of the purchases not made on the portal: the portal share
        # is its own habit, and the mix of the other channels is what tells segments apart.
        portal = np.nan_to_num(_col(X, "purchasing__share_portal_365d"), nan=0.0)
        rest = np.rint((1.0 - portal) * n)
        return _log_odds(np.minimum(np.rint(share * n), rest), rest, 0.5)

    return compute


_DEAL_COLUMNS = ("purchasing__orders_total", "pipeline__lost_total", "pipeline__open_deals")


def _deals(X: pd.DataFrame, e: Exposure) -> tuple[Floats, Floats]:
    """Log rate of deals created, won or not: the buying habit before the win rate thins it."""
    count = np.zeros(len(X))
    for column in _DEAL_COLUMNS:
        count = count + np.nan_to_num(_col(X, column), nan=0.0)
    return _rate(count, e.years, _MIN_EXPOSURE_YEARS)


def _wins(X: pd.DataFrame, _: Exposure) -> tuple[Floats, Floats]:
    """Log-odds of closed deals won: channel mix and contract propensity, seen through wins."""
    won = np.nan_to_num(_col(X, "purchasing__orders_total"), nan=0.0)
    lost = np.nan_to_num(_col(X, "pipeline__lost_total"), nan=0.0)
    return _log_odds(won, won + lost, 0.5)


def _service_share(X: pd.DataFrame, _: Exposure) -> tuple[Floats, Floats]:
    n = np.nan_to_num(_col(X, "purchasing__orders_total"), nan=0.0)
    share = np.nan_to_num(_col(X, "product_mix__service_share"), nan=0.0)
    return _log_odds(share * n, n, 0.05)


def _service_breadth(X: pd.DataFrame, _: Exposure) -> tuple[Floats, Floats]:
    n = np.nan_to_num(_col(X, "purchasing__orders_total"), nan=0.0)
    categories = np.maximum(np.nan_to_num(_col(X, "services__service_categories"), nan=0.0), 0.0)
    ok = n > 0
    return (
        np.where(ok, np.log(categories + 0.5), np.nan),
        np.where(ok, 1.0 / (categories + 0.5), np.inf),
    )


def _counter(
    columns: Sequence[str], recent: bool
) -> Callable[[pd.DataFrame, Exposure], tuple[Floats, Floats]]:
    def compute(X: pd.DataFrame, e: Exposure) -> tuple[Floats, Floats]:
        count = np.zeros(len(X))
        for column in columns:
            count = count + np.nan_to_num(_col(X, column), nan=0.0)
        return _rate(count, e.recent_years if recent else e.years, _MIN_EXPOSURE_YEARS)

    return compute


_PERSONAL = ("engagement__email_365d", "engagement__phone_365d", "engagement__meeting_365d")

#: The dimensions of the profile, in order.
DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        "size",
        "log1p of the number of employees (taken as exact).",
        ("firmographics__log_employees",),
        _size,
    ),
    Dimension(
        "order_rate",
        "Log of purchases per active year, all time.",
        ("purchasing__orders_total",),
        _orders,
    ),
    Dimension(
        "deal_rate",
        "Log of deals (won, lost and open) per active year, all time.",
        _DEAL_COLUMNS,
        _deals,
    ),
    Dimension(
        "win_odds",
        "Log-odds of the share of closed deals that were won, all time.",
        ("purchasing__orders_total", "pipeline__lost_total"),
        _wins,
    ),
    Dimension(
        "order_value",
        "Log of the mean purchase amount, all time (unobserved without purchases).",
        ("purchasing__orders_total", "purchasing__revenue_total"),
        _order_value,
    ),
    *(
        Dimension(
            f"{channel}_orders",
            f"Log-odds of the share of the last year's purchases made through '{channel}'"
            + ("." if channel == "portal" else ", among those not made on the portal."),
            (
                "purchasing__orders_365d",
                "purchasing__share_portal_365d",
                f"purchasing__share_{channel}_365d",
            ),
            _channel(channel),
        )
        for channel in ("portal", "tender", "edi")
    ),
    Dimension(
        "service_share",
        "Log-odds of the share of the purchased amount that is services, all time.",
        ("purchasing__orders_total", "product_mix__service_share"),
        _service_share,
    ),
    Dimension(
        "service_breadth",
        "Log of the number of service categories ever bought (plus one half).",
        ("purchasing__orders_total", "services__service_categories"),
        _service_breadth,
    ),
    Dimension(
        "project_rate",
        "Log of projects per active year, all time.",
        ("projects__projects_total",),
        _counter(("projects__projects_total",), recent=False),
    ),
    Dimension(
        "portal_use",
        "Log of portal interactions per active year, last year.",
        ("engagement__portal_365d",),
        _counter(("engagement__portal_365d",), recent=True),
    ),
    Dimension(
        "personal_contact",
        "Log of e-mails, calls and meetings per active year, last year.",
        _PERSONAL,
        _counter(_PERSONAL, recent=True),
    ),
    Dimension(
        "support",
        "Log of support tickets per active year, last year.",
        ("engagement__tickets_365d",),
        _counter(("engagement__tickets_365d",), recent=True),
    ),
    Dimension(
        "contract_rate",
        "Log of contracts per active year, all time.",
        ("contracts__contracts_total",),
        _counter(("contracts__contracts_total",), recent=False),
    ),
)


def available_dimensions(columns: Sequence[str]) -> tuple[Dimension, ...]:
    """Return the dimensions whose feature columns are all present (none without tenure)."""
    present = set(columns)
    if _TENURE not in present:
        return ()
    return tuple(d for d in DIMENSIONS if set(d.columns) <= present)


def measure(X: pd.DataFrame, dimensions: Sequence[Dimension]) -> Measurements:
    """Return the profile values of every row of `X` and their measurement variances."""
    e = exposure(X)
    values: dict[str, Any] = {}
    variances: dict[str, Any] = {}
    for d in dimensions:
        v, var = d.compute(X, e)
        values[d.name] = v
        variances[d.name] = np.where(np.isnan(v), np.inf, var)
    return Measurements(
        values=pd.DataFrame(values, index=X.index, dtype=np.float64),
        variances=pd.DataFrame(variances, index=X.index, dtype=np.float64),
    )


def shrink(values: Floats, variances: Floats, mean: Floats, spread: Floats) -> Floats:
    """Return each value shrunk towards the population `mean` by its reliability.

    With a population variance ``spread**2`` of the true values and measurement variance ``v``,
    the value moves ``v / (v + spread**2)`` of the way to the mean (the posterior mean under a
    normal population); an unobserved value is the mean itself.
    """
    s2 = spread[None, :] ** 2
    weight = np.where(
        np.isfinite(variances), s2 / (s2 + np.where(np.isfinite(variances), variances, 0.0)), 0.0
    )
    filled = np.where(np.isnan(values), mean[None, :], values)
    return np.asarray(mean[None, :] + weight * (filled - mean[None, :]), dtype=np.float64)
