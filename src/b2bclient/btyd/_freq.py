"""Time units of RFM summaries: pandas period aliases and their length in months."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from b2bclient._exceptions import InvalidParameterError

__all__ = ["DAYS_PER_MONTH", "parse_freq", "periods_per_month", "time_unit_ratio", "unit_name"]

#: Mean length of a Gregorian month in days.
DAYS_PER_MONTH = 365.25 / 12.0

_ALIAS = re.compile(r"^(h|H|D|W|M|Q|Y|A)(-[A-Z]{3})?$")
# Length of each base unit in hours; calendar units by their mean Gregorian length.
_HOURS = {
    "h": 1.0,
    "D": 24.0,
    "W": 168.0,
    "M": 24.0 * DAYS_PER_MONTH,
    "Q": 3.0 * 24.0 * DAYS_PER_MONTH,
    "Y": 12.0 * 24.0 * DAYS_PER_MONTH,
}
_NAMES = {"h": "hours", "D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}
_PER_MONTH = {
    "h": DAYS_PER_MONTH * 24.0,
    "D": DAYS_PER_MONTH,
    "W": DAYS_PER_MONTH / 7.0,
    "M": 1.0,
    "Q": 1.0 / 3.0,
    "Y": 1.0 / 12.0,
}


def parse_freq(freq: Any, *, owner: str, name: str = "freq") -> str:
    """Return the pandas period alias for `freq` (``"D"``, ``"W"``, ``"W-MON"``, ``"M"``, ...).

    Only single periods are accepted: pandas period ordinals count base units, so a multiple
    such as ``"2W"`` would silently count weeks.
    """
    match = _ALIAS.match(freq) if isinstance(freq, str) else None
    if match is None:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a period such as 'D' (days), 'W' (weeks, "
            f"or 'W-MON' for weeks ending on Monday), 'M' (months), 'Q' or 'Y'; multiples like "
            f"'2W' are not supported. Got {freq!r} instead."
        )
    base = {"H": "h", "A": "Y"}.get(match.group(1), match.group(1))
    return base + (match.group(2) or "")


def periods_per_month(freq: Any, *, owner: str, name: str = "freq") -> float:
    """Return how many periods of `freq` make a month (a mean Gregorian month).

    `freq` is a period alias (see :func:`parse_freq`) or a positive number of periods per month.
    """
    if isinstance(freq, (int, float, np.integer, np.floating)) and not isinstance(freq, bool):
        if np.isfinite(freq) and freq > 0:
            return float(freq)
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a period alias such as 'W' or a positive "
            f"number of periods per month such as 4.35. Got {freq!r} instead."
        )
    alias = parse_freq(freq, owner=owner, name=name)
    return _PER_MONTH[alias[0]]


def time_unit_ratio(freq: str, time_unit: Any, *, owner: str) -> tuple[str, float, float]:
    """Return the time unit's alias and the lengths in hours of a period of `freq` and of a unit.

    A number of periods ``n`` lasts ``n * hours_freq / hours_unit`` time units (multiplying
    first keeps whole days exact in weeks: 30 days are 30 * 24 / 168 = 30 / 7 weeks).

    `time_unit` is a period alias at least as long as `freq` (``None`` means `freq` itself).
    Calendar units have their mean Gregorian length, so a day is 1/7 week and 12/365.25 month,
    and a month is exactly 1/12 year.

    Raises
    ------
    InvalidParameterError
        If `time_unit` is not a period alias or is shorter than `freq`.
    """
    if time_unit is None:
        return freq, 1.0, 1.0
    match = _ALIAS.match(time_unit) if isinstance(time_unit, str) else None
    if match is None:
        raise InvalidParameterError(
            f"The 'time_unit' parameter of {owner} must be a period such as 'D' (days), 'W' "
            f"(weeks), 'M' (months), 'Q' or 'Y', the unit of recency and T. Got {time_unit!r} "
            f"instead."
        )
    unit = parse_freq(time_unit, owner=owner)
    count, measure = freq[0], unit[0]
    if _HOURS[measure] < _HOURS[count]:
        raise InvalidParameterError(
            f"The 'time_unit' of {owner} ({unit!r}, {_NAMES[measure]}) is shorter than the "
            f"counting unit freq={freq!r} ({_NAMES[count]}): purchases are only known to the "
            f"{_NAMES[count][:-1]}, so recency and T cannot be measured in {_NAMES[measure]}. "
            f"Use time_unit={freq!r} or longer, or count purchases in shorter periods "
            f"(freq={unit!r})."
        )
    if measure == count:
        return unit, 1.0, 1.0
    return unit, _HOURS[count], _HOURS[measure]


def unit_name(unit: Any) -> str | None:
    """Return the plural name of a period alias ("weeks"), or None if it is not one."""
    if not isinstance(unit, str):
        return None
    match = _ALIAS.match(unit)
    if match is None:
        return None
    return _NAMES[{"H": "h", "A": "Y"}.get(match.group(1), match.group(1))]
