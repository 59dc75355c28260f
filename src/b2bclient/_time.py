"""Parsing of points in time and durations, shared by every module that takes ``as_of`` or a window."""

from __future__ import annotations

from typing import Any

import pandas as pd

from b2bclient._exceptions import InvalidParameterError

__all__ = ["to_duration", "to_timestamp"]


def to_timestamp(value: Any, *, name: str = "as_of", owner: str = "") -> pd.Timestamp:
    """Convert `value` to a timezone-naive UTC :class:`pandas.Timestamp`.

    Aware values are converted to UTC; naive values are taken as UTC. ``None`` is refused: a
    point-in-time computation never defaults to "now".

    Parameters
    ----------
    value : str, datetime, numpy.datetime64 or pandas.Timestamp
        The point in time.
    name : str
        Parameter name, used in the error message.
    owner : str
        Function or class the parameter belongs to, used in the error message.

    Returns
    -------
    pandas.Timestamp
        Naive timestamp in UTC.

    Raises
    ------
    InvalidParameterError
        If `value` is missing or cannot be parsed.

    Examples
    --------
    >>> to_timestamp("2025-01-01T02:00:00+02:00")
    Timestamp('2025-01-01 00:00:00')
    """
    where = f" of {owner}" if owner else ""
    if value is None:
        raise InvalidParameterError(
            f"The {name!r} parameter{where} is required: give a point in time such as "
            f"'2025-01-01'. It never defaults to now."
        )
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(
            f"The {name!r} parameter{where} must be a point in time such as '2025-01-01'. "
            f"Got {value!r} instead."
        ) from exc
    if ts is pd.NaT:
        raise InvalidParameterError(
            f"The {name!r} parameter{where} must be a point in time such as '2025-01-01'. "
            f"Got {value!r} instead."
        )
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("ns")


def to_duration(
    value: Any, *, name: str = "horizon", owner: str = "", allow_zero: bool = False
) -> pd.Timedelta:
    """Convert `value` to a positive :class:`pandas.Timedelta`.

    Strings use pandas' offset aliases (``"180D"``, ``"12h"``); numbers are days.

    Parameters
    ----------
    value : str, int, float or pandas.Timedelta
        The duration.
    name : str
        Parameter name, used in the error message.
    owner : str
        Function or class the parameter belongs to, used in the error message.
    allow_zero : bool
        Accept a zero duration.

    Returns
    -------
    pandas.Timedelta

    Raises
    ------
    InvalidParameterError
        If `value` is not a positive duration.

    Examples
    --------
    >>> to_duration("180D")
    Timedelta('180 days 00:00:00')
    >>> to_duration(30)
    Timedelta('30 days 00:00:00')
    """
    where = f" of {owner}" if owner else ""
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, (int, float)):
            td = pd.Timedelta(days=float(value))
        else:
            td = pd.Timedelta(value)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(
            f"The {name!r} parameter{where} must be a positive duration such as '180D'. "
            f"Got {value!r} instead."
        ) from exc
    if td is pd.NaT or td < pd.Timedelta(0) or (td == pd.Timedelta(0) and not allow_zero):
        raise InvalidParameterError(
            f"The {name!r} parameter{where} must be a positive duration such as '180D'. "
            f"Got {value!r} instead."
        )
    return td
