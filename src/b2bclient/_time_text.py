"""Strings that are not ISO 8601: screened, then read with a format, `dayfirst` or dateutil.

:func:`~b2bclient._time.parse_times` reads ISO 8601 strings in one vectorised pass and hands
the distinct other strings to :func:`parse_other`, which applies the rules of
:mod:`b2bclient._time`: zone names and abbreviations, relative words and unknown words are
refused before any parsing; with ``date_format`` every value must match it; without it a numeric
date is read day-first or month-first as ``dayfirst`` says (or refused as ambiguous, and so is a
column that mixes both orders or a two-digit year), and the values are parsed with formats
guessed from examples, then one by one with dateutil, which must fix year, month and day.
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings

import numpy as np
import pandas as pd

from b2bclient._time import (
    _AMBIGUOUS,
    _INCOMPLETE,
    _OK,
    _RANGE,
    _RELATIVE,
    _RELATIVE_WORDS,
    _TYPE,
    _ZONE,
    TIME_MAX,
    TIME_MIN,
    _checked,
    _naive_ns,
)

__all__ = ["parse_other"]

_UTC_WORDS = frozenset({"utc", "gmt", "z"})
_MONTHS = [_dt.date(2000, m, 1).strftime("%B").lower() for m in range(1, 13)]
_WEEKDAYS = [_dt.date(2024, 1, d).strftime("%A").lower() for d in range(1, 8)]
# months and weekdays, their abbreviations, and the other words dateutil reads in a date
_OTHER_WORDS = ("sept", "tues", "thur", "thurs", "am", "pm", "a", "p", "t", "of", "at", "the")
_ORDINALS = ("st", "nd", "rd", "th")
_WORDS = frozenset(
    [*_MONTHS, *_WEEKDAYS, *(w[:3] for w in (*_MONTHS, *_WEEKDAYS)), *_OTHER_WORDS, *_ORDINALS]
)
_WORD = re.compile(r"[A-Za-z]+(?:/[A-Za-z_]+)*")
_UTC_TOKEN = re.compile(r"(?<=[\d\s])(?:UTC|GMT|Z)(?=$|\s)", re.IGNORECASE)
# day.month.year or month/day/year: two one- or two-digit fields, then the year
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})([./\-\s])(\d{1,2})\2(\d+)(?!\d)")
_DEFAULTS = (_dt.datetime(2000, 1, 1), _dt.datetime(2001, 2, 2))


def _order(value: str) -> tuple[str, int]:
    """Return how a numeric date such as 01.02.2023 can be read: "", "D", "M" or "DM".

    "" is a value that is not a numeric day-month-year date (a leading year, a month name); the
    second item is the number of digits of its year.
    """
    match = _NUMERIC_DATE.match(value)
    if match is None:
        return "", 4
    a, b = int(match.group(1)), int(match.group(3))
    day_first = 1 <= a <= 31 and 1 <= b <= 12
    month_first = 1 <= a <= 12 and 1 <= b <= 31
    if a == b:
        return ("DM" if day_first else ""), len(match.group(4))
    return ("D" if day_first else "") + ("M" if month_first else ""), len(match.group(4))


def parse_other(
    values: list[str], date_format: str | None, dayfirst: bool | None
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Parse the distinct strings that are not ISO 8601."""
    n = len(values)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    reasons = np.zeros(n, dtype=np.int8)
    hints: dict[str, str] = {}
    cleaned = [_UTC_TOKEN.sub("", v.strip()).strip() for v in values]
    for i, value in enumerate(values):
        reasons[i] = _screen(value.strip())
    if date_format is not None:
        todo = np.flatnonzero(reasons == _OK)
        out[todo], reasons[todo] = _with_formats([cleaned[i] for i in todo], [date_format])
        if (reasons == _TYPE).any():
            hints["type"] = f"not in date_format {date_format!r}"
        return out, reasons, hints
    # Which reading each value allows: "D" day-first, "M" month-first, "" neither question.
    reading = np.full(n, "", dtype=object)
    two_digit = np.zeros(n, dtype=bool)
    for i in map(int, np.flatnonzero(reasons == _OK)):
        order, year_digits = _order(cleaned[i])
        if order and year_digits != 4:
            reasons[i] = _AMBIGUOUS  # a two-digit year: which century? dayfirst does not say
            two_digit[i] = True
            continue
        if order == "":
            reading[i] = "Y" if _NUMERIC_DATE.match(cleaned[i]) is None else "?"
            if reading[i] == "?":
                reasons[i] = _TYPE  # neither day-month nor month-day order is a date
            continue
        if dayfirst is None:
            if order == "DM":
                reasons[i] = _AMBIGUOUS
            else:
                reading[i] = order
        elif ("D" if dayfirst else "M") in order:
            reading[i] = "D" if dayfirst else "M"
        else:
            reasons[i] = _TYPE
            hints["type"] = (
                f"{values[i]!r} is not a {'day' if dayfirst else 'month'}-first date "
                f"(dayfirst={bool(dayfirst)})"
            )
    if dayfirst is None:
        only_day = np.flatnonzero(reading == "D")
        only_month = np.flatnonzero(reading == "M")
        if len(only_day) and len(only_month):
            # Each value reads one way only, but the column reads both ways: refuse both.
            mixed = np.concatenate([only_day, only_month])
            reasons[mixed] = _AMBIGUOUS
            reading[mixed] = ""
            hints["ambiguous_date"] = (
                f"the column mixes day-first ({values[only_day[0]]!r}) and month-first "
                f"({values[only_month[0]]!r}) dates"
            )
        ambiguous = np.flatnonzero((reasons == _AMBIGUOUS) & ~two_digit)
        if len(ambiguous):
            formats = _suggest_formats(cleaned[ambiguous[0]])
            advice = "pass dayfirst=True or dayfirst=False" + (
                f", or date_format={formats}" if formats else ""
            )
            hints["ambiguous_date"] = "; ".join(
                [h for h in (hints.get("ambiguous_date", ""), advice) if h]
            )
    if two_digit.any():
        example = values[int(np.flatnonzero(two_digit)[0])]
        formats = _suggest_formats(cleaned[int(np.flatnonzero(two_digit)[0])])
        advice = f"a two-digit year such as {example!r} needs date_format={formats}"
        hints["ambiguous_date"] = "; ".join(
            [h for h in (hints.get("ambiguous_date", ""), advice) if h]
        )
    for code, first in (("Y", False), ("D", True), ("M", False)):
        todo = np.flatnonzero((reading == code) & (reasons == _OK))
        if len(todo):
            out[todo], reasons[todo] = _guessing([cleaned[i] for i in todo], dayfirst=first)
    return out, reasons, hints


def _suggest_formats(example: str) -> str:
    match = _NUMERIC_DATE.match(example)
    if match is None:
        return ""
    sep = match.group(2)
    year = "%Y" if len(match.group(4)) == 4 else "%y"
    return f"'%d{sep}%m{sep}{year}' or '%m{sep}%d{sep}{year}'"


def _screen(value: str) -> int:
    """Return the reason to refuse `value` before parsing it (0 when there is none)."""
    if value.lower() in _RELATIVE_WORDS:
        return _RELATIVE
    for word in _WORD.findall(value):
        low = word.lower()
        if low in _WORDS or low in _UTC_WORDS:
            continue
        if low in _RELATIVE_WORDS:
            return _RELATIVE
        if "/" in word or (word.isupper() and 2 <= len(word) <= 5):
            return _ZONE
        return _TYPE
    if re.search(r"(?:UTC|GMT)\s*[+-]", value, re.IGNORECASE):
        return _ZONE  # POSIX "GMT+2" means two hours *behind*: refuse the guess
    return _OK


def _complete(date_format: str) -> bool:
    """Return whether a format fixes year, month and day (and no zone name)."""
    return (
        ("%Y" in date_format or "%y" in date_format)
        and any(m in date_format for m in ("%m", "%b", "%B"))
        and "%d" in date_format
        and "%Z" not in date_format
    )


def _guessing(values: list[str], *, dayfirst: bool) -> tuple[np.ndarray, np.ndarray]:
    """Parse values of one reading: a few formats guessed from examples, then one by one."""
    from pandas.tseries.api import guess_datetime_format

    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    reasons = np.zeros(len(values), dtype=np.int8)
    left = np.arange(len(values))
    for _ in range(_FORMATS_TRIED):
        if not len(left):
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            guessed = guess_datetime_format(values[left[0]], dayfirst=dayfirst)
        if guessed is None or not _complete(guessed):
            break
        parsed = _vectorised([values[i] for i in left], guessed)
        done = ~np.isnat(parsed)
        if not done.any():
            break
        out[left[done]] = parsed[done]
        left = left[~done]
    for i in left:
        out[i], reasons[i] = _with_dateutil(values[i], dayfirst)
    return out, reasons


_FORMATS_TRIED = 4


def _vectorised(values: list[str], date_format: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(
            pd.Series(values, dtype=object), format=date_format, utc=True, errors="coerce"
        )
    return _naive_ns(parsed)


def _with_formats(values: list[str], formats: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parse with a user's format; a value that does not match is a type problem."""
    out = _vectorised(values, formats[0]) if values else np.array([], dtype="datetime64[ns]")
    reasons = np.where(np.isnat(out), _TYPE, _OK).astype(np.int8)
    for i in np.flatnonzero(reasons == _TYPE):
        reasons[i] = _RANGE if _year_outside(values[i]) else _TYPE
    return out, reasons


def _year_outside(value: str) -> bool:
    """Return whether a value holds a four-digit year outside what datetime64[ns] holds."""
    years = [int(y) for y in re.findall(r"(?<!\d)(\d{4,5})(?!\d)", value)]
    return any(y < TIME_MIN.year or y > TIME_MAX.year for y in years)


def _with_dateutil(value: str, dayfirst: bool) -> tuple[np.datetime64, int]:
    from dateutil import parser  # type: ignore[import-untyped]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", parser.UnknownTimezoneWarning)
            first, second = (
                parser.parse(value, dayfirst=dayfirst, default=default) for default in _DEFAULTS
            )
    except parser.UnknownTimezoneWarning:
        return np.datetime64("NaT"), _ZONE
    except (ValueError, OverflowError, TypeError):
        return np.datetime64("NaT"), _TYPE
    if first.date() != second.date():
        return np.datetime64("NaT"), _INCOMPLETE
    if first.tzinfo is not None:
        offset = first.utcoffset()
        if offset is None:
            return np.datetime64("NaT"), _ZONE
        try:
            first = first.replace(tzinfo=None) - offset
        except OverflowError:
            return np.datetime64("NaT"), _RANGE
    return _checked(first, value)
