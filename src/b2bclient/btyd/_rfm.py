"""RFM summaries (frequency, recency, T, monetary value) from purchases before a point in time.

The core works on a plain transaction log with columns ``organisation_id``, ``time`` and
``value``; :func:`rfm_summary` and :func:`calibration_holdout` build that log from the won deals
of a :class:`~b2bclient.base.ClientBase` as known before ``as_of``.

Periods are pandas periods of ``freq``, the counting unit. Several purchases in one period count
once (their values add up), as in lifetimes. With ``last = Period(as_of - 1ns)``, the last period
observed before ``as_of``, a customer whose first purchase falls in period ``first`` has
``T = last - first`` periods; this equals lifetimes' ``summary_data_from_transaction_data`` with
``observation_period_end = as_of - 1ns`` on the purchases before ``as_of``. Recency and ``T`` are
then expressed in ``time_unit`` (by default ``freq``), a unit at least as long: counting days and
measuring weeks (``freq="D", time_unit="W"``) gives the summaries of the published BG/NBD and
Pareto/NBD results, with recency and ``T`` in fractional weeks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp
from b2bclient.base import ClientBase
from b2bclient.btyd._freq import parse_freq, time_unit_ratio
from b2bclient.btyd._horizon import warn_after_data

__all__ = [
    "calibration_holdout",
    "holdout_from_transactions",
    "rfm_summary",
    "summary_from_transactions",
]

_ID = "organisation_id"
_ONE_NS = pd.Timedelta(1, "ns")


def _last_period(as_of: pd.Timestamp, freq: str) -> int:
    return int(pd.Period(as_of - _ONE_NS, freq=freq).ordinal)


def _period_totals(transactions: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Return one row per (organisation, period) with the period's total value, sorted."""
    periods = pd.PeriodIndex(transactions["time"], freq=freq).asi8
    frame = pd.DataFrame(
        {
            _ID: transactions[_ID].to_numpy(),
            "period": periods,
            "value": transactions["value"].to_numpy(dtype=np.float64),
        }
    )
    return frame.groupby([_ID, "period"], sort=True, observed=True, as_index=False)["value"].sum()


def _empty_summary(monetary: bool) -> pd.DataFrame:
    columns: dict[str, Any] = {
        "frequency": pd.Series([], dtype="int64"),
        "recency": pd.Series([], dtype="float64"),
        "T": pd.Series([], dtype="float64"),
    }
    if monetary:
        columns["monetary_value"] = pd.Series([], dtype="float64")
    return pd.DataFrame(columns, index=pd.Index([], dtype=object, name=_ID))


def summary_from_transactions(
    transactions: pd.DataFrame,
    as_of: Any,
    *,
    freq: str = "W",
    time_unit: str | None = None,
    monetary: bool = True,
) -> pd.DataFrame:
    """Return the RFM summary of a transaction log as of `as_of`.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Columns ``organisation_id``, ``time`` (datetime64) and ``value`` (float).
    as_of : str or pandas.Timestamp
        Only transactions strictly before this instant are used.
    freq : str, default "W"
        Period alias of the counting unit.
    time_unit : str, optional
        Period alias of recency and ``T``, at least as long as `freq`; defaults to `freq`.
    monetary : bool, default True
        Add ``monetary_value``, the mean per-period value of the repeat purchases (0 without).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``organisation_id`` (sorted), one row per customer with a purchase before
        `as_of`: ``frequency`` (int64), ``recency``, ``T`` and optionally ``monetary_value``.
    """
    as_of = to_timestamp(as_of, owner="rfm_summary")
    alias = parse_freq(freq, owner="rfm_summary")
    unit, hours_freq, hours_unit = time_unit_ratio(alias, time_unit, owner="rfm_summary")
    before = transactions.loc[transactions["time"] < as_of]
    if before.empty:
        out = _empty_summary(monetary)
    else:
        totals = _period_totals(before, alias)
        grouped = totals.groupby(_ID, sort=True, observed=True)
        first = grouped["period"].min()
        last = grouped["period"].max()
        count = grouped["period"].size()
        total = grouped["value"].sum()
        first_value = grouped["value"].first()
        frequency = (count - 1).astype("int64")
        columns: dict[str, Any] = {
            "frequency": frequency,
            "recency": (last - first).astype("float64") * hours_freq / hours_unit,
            "T": (_last_period(as_of, alias) - first).astype("float64") * hours_freq / hours_unit,
        }
        if monetary:
            repeat_total = total - first_value
            columns["monetary_value"] = (repeat_total / frequency.where(frequency > 0)).fillna(0.0)
        out = pd.DataFrame(columns)
        out.index = out.index.astype(object)
        out.index.name = _ID
    out.attrs["freq"] = alias
    out.attrs["time_unit"] = unit
    out.attrs["as_of"] = as_of
    return out


def _holdout_dates(calibration_end: Any, holdout_end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the calibration and holdout ends as timestamps, the holdout end being later."""
    owner = "calibration_holdout"
    cal_end = to_timestamp(calibration_end, name="calibration_end", owner=owner)
    hold_end = to_timestamp(holdout_end, name="holdout_end", owner=owner)
    if hold_end <= cal_end:
        raise InvalidParameterError(
            f"The 'holdout_end' parameter of {owner} must be after calibration_end "
            f"({cal_end}). Got {hold_end} instead."
        )
    return cal_end, hold_end


def holdout_from_transactions(
    transactions: pd.DataFrame,
    calibration_end: Any,
    holdout_end: Any,
    *,
    freq: str = "W",
    time_unit: str | None = None,
    monetary: bool = True,
) -> pd.DataFrame:
    """Return the calibration summary of a transaction log with the holdout-period outcomes.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Columns ``organisation_id``, ``time`` and ``value``.
    calibration_end : str or pandas.Timestamp
        End of the calibration period (exclusive); the summary is as of this instant.
    holdout_end : str or pandas.Timestamp
        End of the holdout period (exclusive), after `calibration_end`.
    freq : str, default "W"
        Period alias of the counting unit.
    time_unit : str, optional
        Period alias of recency, ``T`` and ``duration_holdout``; defaults to `freq`.
    monetary : bool, default True
        Add ``monetary_value`` and ``monetary_value_holdout``.

    Returns
    -------
    pandas.DataFrame
        The calibration summary plus ``frequency_holdout`` (distinct periods with a purchase
        in ``[calibration_end, holdout_end)``), ``monetary_value_holdout`` (mean per-period value
        of those purchases, 0 without) and ``duration_holdout`` (time from the last observed
        calibration period to the last observed holdout period, in `time_unit`).
    """
    cal_end, hold_end = _holdout_dates(calibration_end, holdout_end)
    alias = parse_freq(freq, owner="calibration_holdout")
    unit, hours_freq, hours_unit = time_unit_ratio(alias, time_unit, owner="calibration_holdout")
    summary = summary_from_transactions(
        transactions, cal_end, freq=alias, time_unit=unit, monetary=monetary
    )
    window = transactions.loc[(transactions["time"] >= cal_end) & (transactions["time"] < hold_end)]
    window = window.loc[window[_ID].isin(summary.index)]
    if window.empty:
        counts = pd.Series(0, index=summary.index, dtype="int64")
        values = pd.Series(0.0, index=summary.index)
    else:
        totals = _period_totals(window, alias)
        grouped = totals.groupby(_ID, sort=True, observed=True)["value"]
        counts = grouped.size().reindex(summary.index, fill_value=0).astype("int64")
        values = grouped.mean().reindex(summary.index, fill_value=0.0)
    out = summary.copy()
    out["frequency_holdout"] = counts.to_numpy()
    if monetary:
        out["monetary_value_holdout"] = values.to_numpy(dtype=np.float64)
    periods = float(_last_period(hold_end, alias) - _last_period(cal_end, alias))
    out["duration_holdout"] = periods * hours_freq / hours_unit
    out.attrs["freq"] = alias
    out.attrs["time_unit"] = unit
    out.attrs["as_of"] = cal_end
    out.attrs["holdout_end"] = hold_end
    return out


def _purchases(base: ClientBase, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.Index]:
    """Return the won deals known before `as_of` as a transaction log, and the known organisations."""
    known = base.as_of(as_of)
    deals = known.deals
    won = deals.loc[(deals["status"] == "won") & deals["closed_at"].notna()]
    transactions = pd.DataFrame(
        {
            _ID: won[_ID].to_numpy(dtype=object),
            "time": won["closed_at"].to_numpy(),
            "value": won["amount"].to_numpy(dtype=np.float64),
        }
    )
    organisations = pd.Index(known.organisations[_ID].to_numpy(dtype=object), name=_ID)
    return transactions, organisations


def _check_base(base: Any, owner: str) -> None:
    if not isinstance(base, ClientBase):
        raise InvalidParameterError(
            f"The 'base' parameter of {owner} must be a b2bclient ClientBase (build one with "
            f"ClientBase.from_frames(organisations=..., deals=...)). Got {type(base).__name__} "
            f"instead."
        )


def rfm_summary(
    base: ClientBase,
    as_of: Any,
    freq: str = "W",
    *,
    time_unit: str | None = None,
    monetary: bool = True,
    include_non_buyers: bool = False,
) -> pd.DataFrame:
    """Summarise each organisation's purchases before `as_of` as frequency, recency, T and value.

    Purchases are the deals won (status ``"won"``) with ``closed_at`` strictly before `as_of`,
    taken from ``base.as_of(as_of)``, so rows at or after `as_of` never change the result.
    Purchases are grouped into periods of `freq`, the counting unit; several in one period count
    once. Recency and ``T`` are measured in `time_unit` (by default `freq`):

    * ``frequency``: number of distinct periods with a purchase after the first one;
    * ``recency``: time between the periods of the first and the last purchase;
    * ``T``: time between the period of the first purchase and the last period observed before
      `as_of` (the period of ``as_of - 1ns``);
    * ``monetary_value``: mean value per period of the repeat purchases (the first period is
      left out, as the Gamma-Gamma model expects), 0 without repeat purchases.

    Parameters
    ----------
    base : ClientBase
        The client base.
    as_of : str or pandas.Timestamp
        Point in time; only purchases strictly before it count. Never defaults to now.
    freq : str, default "W"
        Counting unit, a period alias: ``"D"``, ``"W"`` (or ``"W-MON"``...), ``"M"``, ``"Q"``
        or ``"Y"``.
    time_unit : str, optional
        Unit of recency and ``T``, a period alias at least as long as `freq`; recency and ``T``
        are then fractional (``freq="D", time_unit="W"``: days counted, weeks measured, as in
        the published BG/NBD and Pareto/NBD results). Defaults to `freq`. Calendar units have
        their mean Gregorian length (a month is 365.25 / 12 days).
    monetary : bool, default True
        Add the ``monetary_value`` column.
    include_non_buyers : bool, default False
        Organisations known before `as_of` without any purchase are left out by default,
        because buy-till-you-die models start a customer's clock at the first purchase. With
        True they are kept with ``frequency`` 0 and ``recency``, ``T`` and ``monetary_value``
        missing (NaN), so the models refuse them until they are filtered out.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``organisation_id``; ``summary.attrs`` records ``freq``, ``time_unit`` and
        ``as_of``; :func:`lifetime_value` reads ``time_unit`` to convert months into it.

    Raises
    ------
    InvalidParameterError
        If `base` is not a ClientBase, `as_of` is missing, `freq` or `time_unit` is not a
        supported period, or `time_unit` is shorter than `freq`.

    Warns
    -----
    UserWarning
        When `as_of` lies implausibly long after the last event recorded in the base (more than
        a week, and longer than the pace of the base makes likely): ``T`` would stretch over
        time that was never observed.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> from b2bclient.btyd import rfm_summary
    >>> base = ClientBase.from_frames(
    ...     organisations=pd.DataFrame({"organisation_id": ["O-1", "O-2"],
    ...                                 "created_at": ["2023-01-01", "2023-01-01"]}),
    ...     deals=pd.DataFrame({
    ...         "deal_id": ["D-1", "D-2", "D-3", "D-4"],
    ...         "organisation_id": ["O-1", "O-1", "O-1", "O-2"],
    ...         "created_at": ["2024-01-02", "2024-01-20", "2024-02-01", "2024-02-14"],
    ...         "closed_at": ["2024-01-02", "2024-01-20", "2024-02-01", "2024-02-14"],
    ...         "status": ["won", "won", "won", "won"],
    ...         "amount": [100.0, 40.0, 60.0, 500.0]}))
    >>> rfm_summary(base, as_of="2024-03-04", freq="W")  # doctest: +NORMALIZE_WHITESPACE
                     frequency  recency     T  monetary_value
    organisation_id
    O-1                      2      4.0   8.0            50.0
    O-2                      0      0.0   2.0             0.0

    Counting days and measuring weeks:

    >>> rfm_summary(base, as_of="2024-03-04", freq="D", time_unit="W").round(3)
    ... # doctest: +NORMALIZE_WHITESPACE
                     frequency  recency      T  monetary_value
    organisation_id
    O-1                      2    4.286  8.714            50.0
    O-2                      0    0.000  2.571             0.0
    """
    owner = "rfm_summary"
    _check_base(base, owner)
    as_of_ts = to_timestamp(as_of, owner=owner)
    alias = parse_freq(freq, owner=owner)
    unit, _, _ = time_unit_ratio(alias, time_unit, owner=owner)
    warn_after_data(base, as_of_ts, name="as_of", owner=owner)
    transactions, organisations = _purchases(base, as_of_ts)
    out = summary_from_transactions(
        transactions, as_of_ts, freq=alias, time_unit=unit, monetary=monetary
    )
    if include_non_buyers:
        attrs = dict(out.attrs)
        missing = organisations.difference(out.index)
        extra = pd.DataFrame(
            {
                "frequency": np.zeros(len(missing), dtype="int64"),
                "recency": np.nan,
                "T": np.nan,
                **({"monetary_value": np.nan} if monetary else {}),
            },
            index=pd.Index(missing, dtype=object, name=_ID),
        )
        out = pd.concat([out, extra]).sort_index() if len(extra) else out
        out.attrs.update(attrs)
    return out


def calibration_holdout(
    base: ClientBase,
    calibration_end: Any,
    holdout_end: Any,
    freq: str = "W",
    *,
    time_unit: str | None = None,
    monetary: bool = True,
) -> pd.DataFrame:
    """Split each organisation's purchases into a calibration summary and holdout outcomes.

    The calibration part is ``rfm_summary(base, calibration_end, freq)``; the holdout part
    counts the purchases (won deals) with ``closed_at`` in ``[calibration_end, holdout_end)`` of
    the organisations in that summary. Use it to check a model out of sample:
    ``model.conditional_expected_purchases(frame["duration_holdout"], frame)`` predicts
    ``frame["frequency_holdout"]``.

    Parameters
    ----------
    base : ClientBase
        The client base.
    calibration_end : str or pandas.Timestamp
        End of the calibration period (exclusive).
    holdout_end : str or pandas.Timestamp
        End of the holdout period (exclusive), after `calibration_end`.
    freq : str, default "W"
        Counting unit, as in :func:`rfm_summary`.
    time_unit : str, optional
        Unit of recency, ``T`` and ``duration_holdout``, as in :func:`rfm_summary`.
    monetary : bool, default True
        Add ``monetary_value`` and ``monetary_value_holdout``.

    Returns
    -------
    pandas.DataFrame
        Columns ``frequency``, ``recency``, ``T`` (and ``monetary_value``) of the calibration
        period, then ``frequency_holdout`` (distinct periods with a purchase in the holdout),
        ``monetary_value_holdout`` (mean value per such period, 0 without) and
        ``duration_holdout`` (length of the holdout in `time_unit`). Indexed by
        ``organisation_id``; ``attrs`` as in :func:`rfm_summary`, plus ``holdout_end``.

    Raises
    ------
    InvalidParameterError
        If `base` is not a ClientBase, a date is missing, `holdout_end` is not after
        `calibration_end`, `freq` or `time_unit` is not supported, or `time_unit` is shorter
        than `freq`.

    Warns
    -----
    UserWarning
        When `holdout_end` lies implausibly long after the last event recorded in the base:
        the holdout would count unobserved time as time without purchases.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> from b2bclient.btyd import calibration_holdout
    >>> base = ClientBase.from_frames(
    ...     organisations=pd.DataFrame({"organisation_id": ["O-1"], "created_at": ["2023-01-01"]}),
    ...     deals=pd.DataFrame({
    ...         "deal_id": ["D-1", "D-2", "D-3"], "organisation_id": ["O-1", "O-1", "O-1"],
    ...         "created_at": ["2024-01-02", "2024-01-20", "2024-03-06"],
    ...         "closed_at": ["2024-01-02", "2024-01-20", "2024-03-06"],
    ...         "status": ["won", "won", "won"], "amount": [100.0, 40.0, 60.0]}))
    >>> frame = calibration_holdout(base, "2024-03-04", "2024-04-01", freq="W")
    >>> frame[["frequency", "T", "frequency_holdout", "duration_holdout"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                     frequency    T  frequency_holdout  duration_holdout
    organisation_id
    O-1                      1  8.0                  1               4.0
    """
    owner = "calibration_holdout"
    _check_base(base, owner)
    # Check the arguments before cutting the base, which is the expensive step.
    cal_end, hold_end = _holdout_dates(calibration_end, holdout_end)
    alias = parse_freq(freq, owner=owner)
    unit, _, _ = time_unit_ratio(alias, time_unit, owner=owner)
    warn_after_data(base, hold_end, name="holdout_end", owner=owner)
    transactions, _ = _purchases(base, hold_end)
    # The calibration part holds the organisations known at calibration_end, as rfm_summary does.
    orgs = base.organisations
    known = orgs.loc[orgs["created_at"] < cal_end, _ID]
    transactions = transactions.loc[transactions[_ID].isin(known)]
    return holdout_from_transactions(
        transactions, cal_end, hold_end, freq=alias, time_unit=unit, monetary=monetary
    )
