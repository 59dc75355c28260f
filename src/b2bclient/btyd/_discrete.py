"""Discrete-time summaries (frequency, recency, n_periods) for the BG/BB model."""

from __future__ import annotations

from typing import Any

import pandas as pd

from b2bclient._time import to_timestamp
from b2bclient.base import ClientBase
from b2bclient.btyd._freq import parse_freq
from b2bclient.btyd._horizon import warn_after_data
from b2bclient.btyd._rfm import _check_base, _purchases

__all__ = ["discrete_summary"]

_ID = "organisation_id"


def discrete_summary(base: ClientBase, as_of: Any, period: str = "Y") -> pd.DataFrame:
    """Summarise each organisation's purchases at discrete opportunities, for the BG/BB model.

    An opportunity is one period of `period` (a year for a yearly tender, a month for a monthly
    order window). Purchases are the won deals with ``closed_at`` strictly before `as_of`, read
    from ``base.as_of(as_of)``. A customer's clock starts in the period of its first purchase;
    the opportunities are the whole periods after it that ended before `as_of`:

    * ``n_periods``: number of those periods;
    * ``frequency``: number of them with at least one purchase;
    * ``recency``: the last of them with a purchase, counted from 1 (0 without).

    The period that `as_of` falls in has not ended, so it is not an opportunity yet: purchases
    in it are left out, and organisations whose first purchase lies in it are not in the
    summary; ``summary.attrs["unfinished_period_purchases"]`` counts those purchases.

    Parameters
    ----------
    base : ClientBase
        The client base.
    as_of : str or pandas.Timestamp
        Point in time; only purchases strictly before it count. Never defaults to now.
    period : str, default "Y"
        Length of one opportunity, a period alias: ``"D"``, ``"W"``, ``"M"``, ``"Q"`` or
        ``"Y"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``organisation_id``, with ``frequency``, ``recency`` and ``n_periods``
        (int64); ``attrs`` records ``period``, ``as_of`` and ``unfinished_period_purchases``.

    Raises
    ------
    InvalidParameterError
        If `base` is not a ClientBase, `as_of` is missing or `period` is not supported.

    Warns
    -----
    UserWarning
        When `as_of` lies implausibly long after the last event recorded in the base: periods
        without data would read as opportunities without purchases.

    Examples
    --------
    >>> import pandas as pd
    >>> from b2bclient.base import ClientBase
    >>> from b2bclient.btyd import discrete_summary
    >>> base = ClientBase.from_frames(
    ...     organisations=pd.DataFrame({"organisation_id": ["O-1", "O-2"],
    ...                                 "created_at": ["2019-01-01", "2019-01-01"]}),
    ...     deals=pd.DataFrame({
    ...         "organisation_id": ["O-1", "O-1", "O-1", "O-2", "O-1"],
    ...         "created_at": ["2019-03-01", "2020-05-01", "2022-02-01", "2021-07-01",
    ...                        "2024-02-01"],
    ...         "amount": [100.0, 120.0, 90.0, 300.0, 80.0]}))
    >>> discrete_summary(base, as_of="2024-03-01", period="Y")
    ... # doctest: +NORMALIZE_WHITESPACE
                     frequency  recency  n_periods
    organisation_id
    O-1                      2        3          4
    O-2                      0        0          2
    """
    owner = "discrete_summary"
    _check_base(base, owner)
    as_of_ts = to_timestamp(as_of, owner=owner)
    alias = parse_freq(period, owner=owner)
    warn_after_data(base, as_of_ts, name="as_of", owner=owner)
    transactions, _ = _purchases(base, as_of_ts)
    # The last whole period is the one before the period as_of falls in.
    last_full = int(pd.Period(as_of_ts, freq=alias).ordinal) - 1
    periods = pd.PeriodIndex(transactions["time"], freq=alias).asi8
    frame = pd.DataFrame({_ID: transactions[_ID].to_numpy(dtype=object), "period": periods})
    unfinished = int((periods > last_full).sum())
    frame = frame.loc[frame["period"] <= last_full].drop_duplicates()
    if frame.empty:
        out = pd.DataFrame(
            {c: pd.Series([], dtype="int64") for c in ("frequency", "recency", "n_periods")},
            index=pd.Index([], dtype=object, name=_ID),
        )
    else:
        grouped = frame.groupby(_ID, sort=True, observed=True)["period"]
        first = grouped.min()
        last = grouped.max()
        count = grouped.size()
        out = pd.DataFrame(
            {
                "frequency": (count - 1).astype("int64"),
                "recency": (last - first).astype("int64"),
                "n_periods": (last_full - first).astype("int64"),
            }
        )
        out.index = out.index.astype(object)
        out.index.name = _ID
    out.attrs["period"] = alias
    out.attrs["as_of"] = as_of_ts
    out.attrs["unfinished_period_purchases"] = unfinished
    return out
