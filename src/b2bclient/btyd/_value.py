"""Customer lifetime value: expected purchases times value per purchase, discounted monthly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.btyd._base import TransactionModel
from b2bclient.btyd._freq import periods_per_month
from b2bclient.btyd._validation import as_float, check_fitted, rfm_arrays

__all__ = ["lifetime_value"]


def lifetime_value(
    transaction_model: TransactionModel,
    summary: pd.DataFrame,
    *,
    monetary_value: Any = None,
    time: int = 12,
    discount_rate: float = 0.01,
    freq: str | float | None = None,
    covariates: Any = None,
    time_unit: str | float | None = None,
) -> pd.Series:
    """Return each customer's discounted expected value over the next `time` months.

    The convention is that of lifetimes: time is counted in months and discounted monthly,
    ``CLV = sum_{i=1..time} m * (E[N(i)] - E[N(i-1)]) / (1 + discount_rate) ** i`` where
    ``E[N(i)]`` is the transaction model's expected number of purchases within ``i`` months
    (conditional on the customer's history) and ``m`` the value per purchase. A month is a
    mean Gregorian month (365.25 / 12 days), so 4.348 weeks; lifetimes uses 30 days and 4.345
    weeks, which a numeric `time_unit` (units per month) reproduces.

    Parameters
    ----------
    transaction_model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        A fitted transaction model.
    summary : pandas.DataFrame
        RFM summary with ``frequency``, ``recency`` and ``T`` in the model's time unit.
    monetary_value : str, array-like or pandas.Series, optional
        Value per purchase: a column name, one value per customer, or a Series indexed like
        `summary`. Defaults to the ``monetary_value`` column; use
        :meth:`GammaGamma.conditional_expected_average_profit` for a shrunk estimate.
    time : int, default 12
        Horizon in months.
    discount_rate : float, default 0.01
        Discount rate per month (0.01 is about 12.7% a year).
    freq : str or float, optional
        Older name of `time_unit`.
    covariates : optional
        Covariates for a model fitted with covariates (default: the summary's columns).
    time_unit : str or float, optional
        Unit of recency and ``T`` in the summary (``"D"``, ``"W"``, ``"M"``, ...) or the number
        of those units per month. By default it is read from ``summary.attrs["time_unit"]``
        (set by :func:`rfm_summary`; ``attrs["freq"]`` for summaries without it), then from the
        model's ``time_unit_``.

    Returns
    -------
    pandas.Series
        Lifetime value named ``clv``, indexed like `summary`.

    Raises
    ------
    InvalidParameterError
        If the time unit is unknown or a parameter is out of range.
    NotFittedError
        If the transaction model is not fitted.

    Examples
    --------
    >>> import b2bclient.btyd as btyd
    >>> sample = btyd.simulate_summary(btyd.BetaGeo, T=52.0, n_customers=2000,
    ...     params={"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}, random_state=0)
    >>> bg = btyd.BetaGeo().fit(sample)
    >>> clv = btyd.lifetime_value(bg, sample, monetary_value=100.0, time=12, time_unit="W")
    >>> undiscounted = btyd.lifetime_value(bg, sample, monetary_value=100.0, time=12,
    ...                                    discount_rate=0.0, time_unit="W")
    >>> bool((clv <= undiscounted).all())
    True
    """
    owner = "lifetime_value"
    if not isinstance(transaction_model, TransactionModel):
        raise InvalidParameterError(
            f"The 'transaction_model' of {owner} must be a fitted BetaGeo, ModifiedBetaGeo or "
            f"ParetoNBD. Got {type(transaction_model).__name__} instead."
        )
    check_fitted(transaction_model)
    if isinstance(time, bool) or not isinstance(time, (int, np.integer)) or time < 1:
        raise InvalidParameterError(
            f"The 'time' parameter of {owner} must be a whole number of months >= 1 such as 12. "
            f"Got {time!r} instead."
        )
    if (
        isinstance(discount_rate, bool)
        or not isinstance(discount_rate, (int, float, np.integer, np.floating))
        or not np.isfinite(discount_rate)
        or discount_rate < 0
    ):
        raise InvalidParameterError(
            f"The 'discount_rate' parameter of {owner} must be a monthly rate >= 0 such as 0.01. "
            f"Got {discount_rate!r} instead."
        )
    unit = _time_unit(transaction_model, summary, freq, time_unit, owner)
    # Name the parameter the caller used in an error ("time_unit", or its older name "freq").
    name = "freq" if time_unit is None and freq is not None else "time_unit"
    per_month = periods_per_month(unit, owner=owner, name=name)
    rfm = rfm_arrays(summary, owner=owner)
    if monetary_value is None:
        monetary_value = "monetary_value"
    if isinstance(monetary_value, str):
        if monetary_value not in summary.columns:
            raise InvalidParameterError(
                f"{owner} needs the value per purchase: the summary has no {monetary_value!r} "
                f"column. Pass monetary_value= (a column name, values or a Series)."
            )
        values = summary[monetary_value].to_numpy(dtype=np.float64)
    elif isinstance(monetary_value, pd.Series):
        values = monetary_value.reindex(summary.index).to_numpy(dtype=np.float64)
    else:
        values = as_float(monetary_value, "monetary_value", owner)
        if values.shape[0] == 1:
            values = np.broadcast_to(values, (len(rfm),))
    if values.shape[0] != len(rfm) or not np.all(np.isfinite(values)):
        raise InvalidParameterError(
            f"The 'monetary_value' given to {owner} must be one finite value, or one per customer "
            f"of the summary ({len(rfm)}). Got {values.shape[0]} value(s)."
        )
    theta = transaction_model._theta(summary, covariates, len(rfm), owner)
    clv = np.zeros(len(rfm))
    with np.errstate(all="ignore"):
        # P(alive) does not depend on the horizon: compute it once, not once per month.
        alive = transaction_model._p_alive(theta, rfm.frequency, rfm.recency, rfm.T)
        previous = np.zeros(len(rfm))
        for month in range(1, int(time) + 1):
            horizon = np.full(len(rfm), month * per_month)
            current = transaction_model._expected_if_alive(theta, horizon, rfm.frequency, rfm.T)
            clv += values * (current - previous) / (1.0 + discount_rate) ** month
            previous = current
        clv *= alive
    return pd.Series(clv, index=summary.index, name="clv")


def _time_unit(
    model: TransactionModel, summary: Any, freq: Any, time_unit: Any, owner: str
) -> str | float:
    """Return the unit of recency and T: given, from the summary's attrs, or from the model."""
    if freq is not None and time_unit is not None and freq != time_unit:
        raise InvalidParameterError(
            f"{owner} takes the unit of recency and T once: time_unit={time_unit!r} (freq is "
            f"its older name). Got freq={freq!r} as well."
        )
    unit = time_unit if time_unit is not None else freq
    if unit is None and isinstance(summary, pd.DataFrame):
        unit = summary.attrs.get("time_unit", summary.attrs.get("freq"))
    if unit is None:
        unit = getattr(model, "time_unit_", None)
    if unit is None:
        raise InvalidParameterError(
            f"{owner} needs the time unit of the summary to convert months into it: pass "
            f"time_unit='W' (or 'D', 'M', ...), the unit of recency and T."
        )
    out: str | float = unit
    return out
