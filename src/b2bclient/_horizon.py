"""Where the recorded data end, and a warning for computations that reach beyond that end.

A client base does not say when it was exported. What it shows is its last recorded event (the
latest creation, purchase, closing, interaction, stage, cancellation or relationship). A
computation that reads the base up to a time ``end`` after that event takes the stretch in
between as observed silence: an inactivity churn definition declares everybody churned, a
buy-till-you-die summary stretches every customer's age ``T``, a label finds nothing in its
window. :func:`warn_beyond_data` warns when ``end`` lies so far after the last event that the
silence is implausible for this base, so the data most likely end there.

The rule. Let ``k`` be the number of events in the year before the last event (or in the whole
history when it is shorter) and ``rate = k / that span``. Under a constant rate the chance of no
event in a stretch of length ``s`` is ``exp(-rate * s)``; the warning is given when that chance
is below 1 % and ``s`` is longer than a week (weekends and holidays are silent in B2B data):

    s > max(7 days, ln(100) / rate)

A base of thousands of organisations gets the warning a week after its last event; a hand-made
base of ten rows only when the silence is long compared with its own pace.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from b2bclient.base._schema import SCHEMAS

__all__ = ["MIN_SILENCE", "event_times", "last_event", "silence_limit", "warn_beyond_data"]

#: Silence after the last event that never counts as the end of the data.
MIN_SILENCE = pd.Timedelta(days=7)
_PACE_WINDOW = pd.Timedelta(days=365)
_IMPLAUSIBLE = 0.01


def _tables(base: Any) -> Mapping[str, pd.DataFrame]:
    tables = getattr(base, "tables", base)
    if not isinstance(tables, Mapping):
        raise TypeError(f"expected a ClientBase or a mapping of tables, got {type(base).__name__}")
    return tables


def event_times(base: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Return every recorded event time of `base` as sorted int64 nanoseconds.

    The events are the values of each table's time column and of its later-state columns
    (``closed_at``, ``ended_at``, ``cancelled_at``); scheduled times such as a contract's
    ``ends_at`` are not events.

    Parameters
    ----------
    base : ClientBase or mapping of str to pandas.DataFrame
        The client base or its tables; absent tables and columns are skipped.

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> orgs = pd.DataFrame({"created_at": pd.to_datetime(["2024-01-02", "2024-01-01"])})
    >>> event_times({"organisations": orgs}).view("M8[ns]")
    array(['2024-01-01T00:00:00.000000000', '2024-01-02T00:00:00.000000000'],
          dtype='datetime64[ns]')
    """
    tables = _tables(base)
    parts = []
    for name, schema in SCHEMAS.items():
        df = tables.get(name)
        if df is None or not len(df):
            continue
        for column in (schema.time_column, *schema.revert):
            if column is None or column not in df.columns:
                continue
            values = df[column].to_numpy(dtype="datetime64[ns]").view(np.int64)
            parts.append(values[values != np.iinfo(np.int64).min])
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate(parts))


def last_event(base: Any) -> pd.Timestamp | None:
    """Return the time of the last recorded event of `base`, or ``None`` for a base without any.

    Parameters
    ----------
    base : ClientBase or mapping of str to pandas.DataFrame
        The client base or its tables.

    Returns
    -------
    pandas.Timestamp or None

    Examples
    --------
    >>> orgs = pd.DataFrame({"created_at": pd.to_datetime(["2024-01-02", "2024-01-01"])})
    >>> last_event({"organisations": orgs})
    Timestamp('2024-01-02 00:00:00')
    """
    times = event_times(base)
    return pd.Timestamp(int(times[-1])) if times.size else None


def silence_limit(times: np.ndarray[Any, np.dtype[np.int64]]) -> pd.Timedelta | None:
    """Return the longest plausible silence after the last of the sorted event `times`.

    ``max(7 days, ln(100) / rate)`` with ``rate`` the events per unit of time in the year before
    the last event (the whole history when shorter); ``None`` when the events span no time, so
    that the pace cannot be judged.

    Parameters
    ----------
    times : numpy.ndarray of int64
        Sorted event times in nanoseconds, as :func:`event_times` returns.

    Returns
    -------
    pandas.Timedelta or None

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", periods=366, freq="D").to_numpy().view("i8")
    >>> silence_limit(days)
    Timedelta('7 days 00:00:00')
    >>> silence_limit(days[::30])
    Timedelta('138 days 03:43:22')
    """
    pace = _pace(times)
    if pace is None:
        return None
    count, span = pace
    limit = pd.Timedelta(int(math.log(1.0 / _IMPLAUSIBLE) * span / count), unit="ns").ceil("s")
    return max(MIN_SILENCE, limit)


def _pace(times: np.ndarray[Any, np.dtype[np.int64]]) -> tuple[int, int] | None:
    """Return the events in the year before the last one and that span (ns), if it is not empty."""
    if times.size < 2 or times[-1] == times[0]:
        return None
    last = int(times[-1])
    start = max(int(times[0]), last - _PACE_WINDOW.value)
    # Events in (start, last]: the first event of a shorter history only opens the span.
    count = times.size - int(np.searchsorted(times, start, side="right"))
    return count, last - start


def warn_beyond_data(
    base: Any,
    end: pd.Timestamp,
    *,
    subject: str,
    consequence: str,
    remedy: str,
    stacklevel: int = 2,
) -> bool:
    """Warn when `end` lies implausibly long after the last event recorded in `base`.

    See the module notes for the rule. The message names `subject` (the time being checked),
    `end`, the last event, the pace of the base, then `consequence` and `remedy`.

    Parameters
    ----------
    base : ClientBase or mapping of str to pandas.DataFrame
        The full client base the computation reads (not cut at `end`).
    end : pandas.Timestamp
        The time the computation reads the base up to.
    subject : str
        The start of the message, completed by `end`: for example ``"as_of is"`` or ``"The
        observation window of the last cutoff ends at"``.
    consequence : str
        What goes wrong, for example ``"churn is over-counted."``.
    remedy : str
        What to do instead.
    stacklevel : int, default 2
        As in :func:`warnings.warn`, counted from the caller of this function.

    Returns
    -------
    bool
        Whether the warning was given.

    Warns
    -----
    UserWarning
        When `end` is beyond the end of the data.

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", periods=300, freq="D")
    >>> tables = {"interactions": pd.DataFrame({"occurred_at": days})}
    >>> warn_beyond_data(tables, pd.Timestamp("2024-11-01"), subject="as_of is",
    ...                  consequence="", remedy="")
    False
    """
    times = event_times(base)
    limit = silence_limit(times)
    pace = _pace(times)
    if limit is None or pace is None:
        return False
    last = pd.Timestamp(int(times[-1]))
    silence = end - last
    if silence <= limit:
        return False
    count, span = pace
    warnings.warn(
        f"{subject} {end}, {_days(silence)} after the last event recorded in the base "
        f"({last}). At the pace of the base ({count} events in the "
        f"{_days(pd.Timedelta(span, unit='ns'))} before it), a silence of "
        f"more than {_days(limit)} is implausible: the data most likely end at {last}, and the "
        f"time after it is read as observed silence. {consequence} {remedy}".rstrip(),
        UserWarning,
        stacklevel=stacklevel + 1,
    )
    return True


def _days(td: pd.Timedelta) -> str:
    days = td / pd.Timedelta(days=1)
    return f"{days:.0f} days" if days >= 1.5 else f"{days:.1f} days"
