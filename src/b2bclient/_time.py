"""Points in time and durations: one set of rules for every loader and every parameter.

Times (:func:`parse_times` for columns, :func:`to_timestamp` for one value) become naive UTC
``datetime64[ns]``:

* datetime64 columns, ``datetime``/``date``/:class:`pandas.Timestamp` objects: aware values are
  converted to UTC, naive ones taken as UTC.
* ISO 8601 strings (``2024-01-31``, ``2024-01-31 10:00``, ``2024-01-31T10:00:00.123456789+02:00``,
  ``...Z``) always parse, whatever the options, to the nanosecond; offsets may be mixed.
* Other strings parse with ``date_format`` when it is given. Without it, a leading four-digit
  year reads year-month-day, a month name is unambiguous, and a numeric date such as
  ``01.02.2023`` needs ``dayfirst`` (True or False) when day and month could be swapped; a column
  that mixes day-first and month-first dates is refused. Two-digit years need ``date_format``.
* Refused: zone names and abbreviations (``EST`` means different offsets in different places:
  give an offset such as ``-05:00``; ``UTC``, ``GMT`` and ``Z`` are accepted), relative words
  (``now``, ``today``: the clock at load time is not a point in the data), dates without a
  year, month or day, numbers (``2024`` is not a point in time: ``"2024-01-01"`` is), and times
  outside 1677-09-22 .. 2262-04-11, the range of ``datetime64[ns]``.

Durations (:func:`to_duration`) are strings with a unit (``"180D"``, ``"12h"``), timedeltas, or
numbers, which are always days: ``180``, ``180.0`` and ``numpy.int64(180)`` alike.

The strings that are not ISO 8601 are read in :mod:`b2bclient._time_text`.
"""

from __future__ import annotations

import datetime as _dt
import numbers
import re
import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pandas.errors import OutOfBoundsDatetime, OutOfBoundsTimedelta

from b2bclient._exceptions import InvalidParameterError

__all__ = [
    "REASONS",
    "TIME_MAX",
    "TIME_MIN",
    "ParsedTimes",
    "add_duration",
    "check_date_options",
    "parse_times",
    "to_duration",
    "to_timestamp",
]

#: The earliest and latest instants a ``datetime64[ns]`` holds.
TIME_MIN = pd.Timestamp.min.ceil("D")
TIME_MAX = pd.Timestamp.max.floor("D")

#: Why a value did not parse; index 0 means it did (or it is null).
REASONS = (
    "",
    "type",
    "ambiguous_date",
    "time_zone",
    "relative_time",
    "incomplete_date",
    "time_range",
)
_OK, _TYPE, _AMBIGUOUS, _ZONE, _RELATIVE, _INCOMPLETE, _RANGE = range(len(REASONS))

_RELATIVE_WORDS = frozenset({"now", "today", "tomorrow", "yesterday", "tonight"})
_FRACTION = re.compile(r"[.,](\d{7,9})(?!\d)")


class ParsedTimes(NamedTuple):
    """Result of :func:`parse_times`."""

    #: Naive UTC ``datetime64[ns]``; NaT where the input is null or failed.
    values: np.ndarray
    #: Per value, an index into :data:`REASONS` (0: parsed or null).
    reasons: np.ndarray
    #: Advice per reason (the options to pass, what the column mixes); may be empty.
    hints: dict[str, str]


def check_date_options(date_format: Any, dayfirst: Any, *, owner: str) -> None:
    """Raise InvalidParameterError for a `date_format` or `dayfirst` of the wrong kind.

    Examples
    --------
    >>> check_date_options("%d.%m.%Y", None, owner="read_csv")
    """
    if date_format is not None and not isinstance(date_format, (str, Mapping)):
        raise InvalidParameterError(
            f"The 'date_format' parameter of {owner} must be a format such as '%d.%m.%Y' (or a "
            f"mapping of table names to formats). Got {date_format!r} instead."
        )
    if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The 'dayfirst' parameter of {owner} must be True, False or None. Got {dayfirst!r} "
            f"instead."
        )


# --- columns --------------------------------------------------------------------------------------


def parse_times(
    values: pd.Series, *, date_format: str | None = None, dayfirst: bool | None = None
) -> ParsedTimes:
    """Parse a column of times to naive UTC ``datetime64[ns]`` under the module's rules.

    Parameters
    ----------
    values : pandas.Series
        Strings, datetime objects, datetime64 values (any unit, naive or aware) or nulls.
    date_format : str, optional
        ``strftime`` format of the strings that are not ISO 8601.
    dayfirst : bool, optional
        Read a numeric date whose day and month could be swapped day-first (True) or month-first
        (False); None refuses such dates.

    Returns
    -------
    ParsedTimes

    Examples
    --------
    >>> parsed = parse_times(pd.Series(["2024-01-31", "01.02.2023", "31.01.2023", None]))
    >>> [REASONS[r] for r in parsed.reasons]
    ['', 'ambiguous_date', '', '']
    >>> parse_times(pd.Series(["01.02.2023"]), dayfirst=True).values
    array(['2023-02-01T00:00:00.000000000'], dtype='datetime64[ns]')
    """
    n = len(values)
    reasons = np.zeros(n, dtype=np.int8)
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return _datetime64(utc.to_numpy(), reasons)
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return _datetime64(values.to_numpy(), reasons)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    notna = values.notna().to_numpy()
    if not notna.any():
        return ParsedTimes(out, reasons, {})
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        reasons[notna] = _TYPE
        return ParsedTimes(out, reasons, {"type": _NUMBER_HINT})
    objects = values if dtype == np.dtype(object) else values.astype(object)
    kind = pd.api.types.infer_dtype(objects, skipna=True)
    if kind == "string":
        is_text = notna
    else:
        is_text = notna & np.fromiter(
            (isinstance(v, str) for v in objects.to_numpy()), dtype=bool, count=n
        )
    hints: dict[str, str] = {}
    if is_text.any():
        parsed, text_reasons, hints = _parse_strings(objects[is_text], date_format, dayfirst)
        out[is_text] = parsed
        reasons[is_text] = text_reasons
    other = notna & ~is_text
    if other.any():
        for i in np.flatnonzero(other):
            out[i], reasons[i] = _one_object(objects.iat[i])
        if (reasons[other] == _TYPE).any():
            hints.setdefault("type", _NUMBER_HINT)
    return ParsedTimes(out, reasons, hints)


_NUMBER_HINT = "numbers are not read as times; convert them first (pd.to_datetime(x, unit='s'))"


def _datetime64(array: np.ndarray, reasons: np.ndarray) -> ParsedTimes:
    """Return datetime64 values of any unit as ns, marking those outside the ns range."""
    if array.dtype == np.dtype("datetime64[ns]"):
        return ParsedTimes(array, reasons, {})
    unit = np.datetime_data(array.dtype)[0]
    if unit in ("ps", "fs", "as"):  # every such value lies within the ns range
        return ParsedTimes(array.astype("datetime64[ns]"), reasons, {})
    if unit in ("Y", "M", "W"):
        array = array.astype("datetime64[D]")  # exact for every date these units hold
        unit = "D"
    ints = array.view(np.int64)
    nat = np.isnat(array)
    per_unit = int(pd.Timedelta(1, unit=unit).value)  # ns in one unit
    low = -(-int(TIME_MIN.value) // per_unit)  # the ns limits in this unit, rounded inwards
    high = int(TIME_MAX.value) // per_unit
    outside = ~nat & ((ints < low) | (ints > high))
    reasons[outside] = _RANGE
    safe = np.where(outside, np.datetime64("NaT"), array)
    return ParsedTimes(safe.astype("datetime64[ns]"), reasons, {})


def _naive_ns(parsed: Any) -> np.ndarray:
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    out: np.ndarray = np.asarray(parsed.to_numpy(dtype="datetime64[ns]"))
    return out


def _parse_strings(
    text: pd.Series, date_format: str | None, dayfirst: bool | None
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Parse strings: ISO 8601 in one vectorised pass, the other distinct values after it."""
    before = pd.Timestamp.now(tz="UTC").tz_localize(None)
    out = _iso(text)
    after = pd.Timestamp.now(tz="UTC").tz_localize(None)
    reasons = np.zeros(len(text), dtype=np.int8)
    # pandas reads "now" and "today" as the clock; only values near the clock can be those.
    near = (out >= (before - pd.Timedelta(days=2)).to_datetime64()) & (
        out <= (after + pd.Timedelta(days=2)).to_datetime64()
    )
    if near.any():
        words = np.fromiter(
            (_is_relative(v) for v in text.to_numpy()[near]), dtype=bool, count=int(near.sum())
        )
        clock = np.flatnonzero(near)[words]
        out[clock] = np.datetime64("NaT")
        reasons[clock] = _RELATIVE
    rest = np.isnat(out) & (reasons == _OK)
    hints: dict[str, str] = {}
    if rest.any():
        codes, uniques = pd.factorize(text.to_numpy()[rest])
        from b2bclient._time_text import parse_other

        parsed, unique_reasons, hints = parse_other(list(uniques), date_format, dayfirst)
        out[rest] = parsed[codes]
        reasons[rest] = unique_reasons[codes]
    return out, reasons, hints


def _iso_parse(text: pd.Series, *, utc: bool) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed: pd.Series = pd.to_datetime(text, format="ISO8601", utc=utc, errors="coerce")
    return parsed


def _iso(text: pd.Series) -> np.ndarray:
    """Parse the ISO 8601 strings of `text` (NaT for the others) to naive UTC ns.

    pandas gives a naive string that follows one with an offset that string's offset, so naive
    and offset-carrying strings are parsed apart; a column without any offset (the usual case)
    takes one pass.
    """
    parsed = _iso_parse(text, utc=False)
    if parsed.dtype == np.dtype("datetime64[ns]"):
        return np.asarray(parsed.to_numpy())
    aware = _has_offset(text.to_numpy())
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    for mask, utc in ((~aware, False), (aware, True)):
        if mask.any():
            out[mask] = _naive_ns(_iso_parse(text[mask], utc=utc))
    return out


def _has_offset(values: np.ndarray) -> np.ndarray:
    """Return which strings carry a UTC offset or 'Z' after their date (position 10 on)."""
    try:
        raw = values.astype("S")
    except UnicodeEncodeError:
        return np.fromiter(
            (any(c in v[10:] for c in "+-Zz") for v in values), dtype=bool, count=len(values)
        )
    width = raw.dtype.itemsize
    if width <= 10:
        return np.zeros(len(values), dtype=bool)
    tail = raw.view(np.uint8).reshape(len(values), width)[:, 10:]
    marks = np.frombuffer(b"+-Zz", dtype=np.uint8)
    result: np.ndarray = np.asarray(np.isin(tail, marks).any(axis=1))
    return result


def _is_relative(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in _RELATIVE_WORDS


def _checked(moment: _dt.datetime, text: str = "") -> tuple[np.datetime64, int]:
    """Return a naive datetime as datetime64[ns], or time_range outside what ns holds."""
    try:
        ts = pd.Timestamp(moment).as_unit("ns", round_ok=False)
    except (OutOfBoundsDatetime, OverflowError, ValueError):
        return np.datetime64("NaT"), _RANGE
    fraction = _FRACTION.search(text) if text else None
    if fraction is not None:  # dateutil stops at microseconds
        ts += pd.Timedelta(int(fraction.group(1).ljust(9, "0")[6:]), "ns")
    return ts.to_datetime64(), _OK


def _one_object(value: Any) -> tuple[np.datetime64, int]:
    """Parse one datetime-like object (datetime, date, Timestamp, datetime64)."""
    if isinstance(value, np.datetime64):
        parsed = _datetime64(np.array([value]), np.zeros(1, np.int8))
        return parsed.values[0], int(parsed.reasons[0])
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is not None:
            value = value.tz_convert("UTC").tz_localize(None)
        try:
            return value.as_unit("ns", round_ok=False).to_datetime64(), _OK
        except (OutOfBoundsDatetime, OverflowError, ValueError):
            return np.datetime64("NaT"), _RANGE
    if isinstance(value, (_dt.datetime, _dt.date)):
        if not isinstance(value, _dt.datetime):
            value = _dt.datetime(value.year, value.month, value.day)
        if value.tzinfo is not None:
            offset = value.utcoffset()
            if offset is None:
                return np.datetime64("NaT"), _ZONE
            try:
                value = value.replace(tzinfo=None) - offset
            except OverflowError:
                return np.datetime64("NaT"), _RANGE
        return _checked(value)
    return np.datetime64("NaT"), _TYPE  # numbers and anything else


# --- one value ----------------------------------------------------------------------------------

_HELP = {
    _TYPE: "a point in time such as '2025-01-31'",
    _AMBIGUOUS: "an unambiguous date such as '2025-01-31'",
    _ZONE: "a time with a UTC offset such as '2025-01-01T10:00:00-05:00'; zone names and "
    "abbreviations such as 'EST' do not fix one",
    _RELATIVE: "a fixed point in time such as '2025-01-31'; relative words would read the clock",
    _INCOMPLETE: "a date with a year, a month and a day such as '2025-01-31'",
    _RANGE: "a point in time between 1677-09-21 and 2262-04-11 (the range of datetime64[ns])",
}


def to_timestamp(
    value: Any,
    *,
    name: str = "as_of",
    owner: str = "",
    date_format: str | None = None,
    dayfirst: bool | None = None,
) -> pd.Timestamp:
    """Convert `value` to a timezone-naive UTC :class:`pandas.Timestamp`.

    Aware values are converted to UTC; naive values are taken as UTC. ``None`` is refused: a
    point-in-time computation never defaults to "now". The rules are the loaders' (see
    :mod:`b2bclient._time`): a number such as ``2024`` is refused, and so is a date such as
    ``"01.07.2024"`` without `dayfirst` or `date_format`.

    Parameters
    ----------
    value : str, datetime, numpy.datetime64 or pandas.Timestamp
        The point in time.
    name : str
        Parameter name, used in the error message.
    owner : str
        Function or class the parameter belongs to, used in the error message.
    date_format : str, optional
        ``strftime`` format of a string that is not ISO 8601.
    dayfirst : bool, optional
        Read an ambiguous numeric date day-first (True) or month-first (False).

    Returns
    -------
    pandas.Timestamp
        Naive timestamp in UTC, in nanoseconds.

    Raises
    ------
    InvalidParameterError
        If `value` is missing or is not a point in time under these rules.

    Examples
    --------
    >>> to_timestamp("2025-01-01T02:00:00+02:00")
    Timestamp('2025-01-01 00:00:00')
    >>> to_timestamp("01.07.2024", dayfirst=True)
    Timestamp('2024-07-01 00:00:00')
    """
    where = f" of {owner}" if owner else ""
    check_date_options(date_format, dayfirst, owner=owner or "to_timestamp")
    if isinstance(date_format, Mapping):
        raise InvalidParameterError(
            f"The 'date_format' parameter{where} must be one format such as '%d.%m.%Y' here. "
            f"Got {date_format!r} instead."
        )
    if value is None or value is pd.NaT or (isinstance(value, str) and not value.strip()):
        raise InvalidParameterError(
            f"The {name!r} parameter{where} is required: give a point in time such as "
            f"'2025-01-01'. It never defaults to now."
        )
    if isinstance(value, pd.Timestamp):
        ts, reason = _one_object(value)
        parsed = ParsedTimes(np.array([ts]), np.array([reason], dtype=np.int8), {})
    else:
        parsed = parse_times(
            pd.Series([value], dtype=object), date_format=date_format, dayfirst=dayfirst
        )
    reason = int(parsed.reasons[0])
    result = parsed.values[0]
    if reason == _OK and not np.isnat(result):
        return pd.Timestamp(result)
    what = _HELP.get(reason, _HELP[_TYPE])
    hint = parsed.hints.get(REASONS[reason] or "type", "")
    if isinstance(value, (numbers.Number, np.bool_)) and not isinstance(value, np.datetime64):
        hint = "a number is not a point in time"
    if hint:
        what = f"{what} ({hint})"
    raise InvalidParameterError(
        f"The {name!r} parameter{where} must be {what}. Got {value!r} instead."
    )


def to_duration(
    value: Any, *, name: str = "horizon", owner: str = "", allow_zero: bool = False
) -> pd.Timedelta:
    """Convert `value` to a positive :class:`pandas.Timedelta`.

    Strings need a unit (pandas' aliases: ``"180D"``, ``"12h"``); numbers are days, whatever
    their type (``180``, ``180.5``, ``numpy.int64(180)``); timedeltas are taken as they are.

    Parameters
    ----------
    value : str, int, float, numpy number, datetime.timedelta or pandas.Timedelta
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
        If `value` is not a positive, finite duration that a ``timedelta64[ns]`` holds.

    Examples
    --------
    >>> to_duration("180D")
    Timedelta('180 days 00:00:00')
    >>> to_duration(30), to_duration(np.int64(30))
    (Timedelta('30 days 00:00:00'), Timedelta('30 days 00:00:00'))
    """
    where = f" of {owner}" if owner else ""
    problem = (
        f"The {name!r} parameter{where} must be a positive duration such as '180D' (a number "
        f"counts days). Got {value!r} instead."
    )
    td: Any
    try:
        if isinstance(value, (bool, np.bool_)):
            raise TypeError
        if isinstance(value, np.timedelta64):
            if np.datetime_data(value.dtype)[0] == "generic":
                raise TypeError  # a timedelta64 without a unit is a bare number of nothing
            td = pd.Timedelta(value)
        elif isinstance(value, numbers.Real):
            days = float(value)
            if not np.isfinite(days):
                raise ValueError
            td = pd.Timedelta(days=days)
        elif isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"[+-]?\d+(?:\.\d*)?(?:e[+-]?\d+)?", text, re.IGNORECASE):
                raise ValueError  # a string without a unit: "180" days or ns?
            td = pd.Timedelta(text)
        elif isinstance(value, (pd.Timedelta, _dt.timedelta)):
            td = pd.Timedelta(value)
        else:
            raise TypeError
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(exc, (OverflowError, OutOfBoundsTimedelta)):
            problem = (
                f"The {name!r} parameter{where} must be a positive duration that timedelta64[ns] "
                f"can hold, at most {pd.Timedelta.max.days:,} days (about 292 years). Got {value!r} "
                "instead."
            )
        raise InvalidParameterError(problem) from exc
    if td is pd.NaT or td < pd.Timedelta(0) or (td == pd.Timedelta(0) and not allow_zero):
        raise InvalidParameterError(problem)
    return td


def add_duration(t: pd.Timestamp, d: pd.Timedelta, *, name: str, owner: str) -> pd.Timestamp:
    """Return ``t + d``, or raise InvalidParameterError when it passes 2262-04-11.

    Examples
    --------
    >>> add_duration(pd.Timestamp("2024-01-01"), pd.Timedelta("31D"), name="cutoffs", owner="f")
    Timestamp('2024-02-01 00:00:00')
    """
    try:
        end = t + d
    except (OverflowError, OutOfBoundsDatetime, ValueError) as exc:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} ends its window at {t} + {d}, after 2262-04-11, "
            f"the last time datetime64[ns] holds; use earlier times or a shorter horizon."
        ) from exc
    if end is pd.NaT:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} gives no end for {t} + {d}."
        )
    return end
