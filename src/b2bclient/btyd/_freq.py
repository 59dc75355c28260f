"""Time units of RFM summaries: pandas period aliases and their length in months."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from b2bclient._exceptions import InvalidParameterError

__all__ = ["DAYS_PER_MONTH", "parse_freq", "periods_per_month"]

#: Mean length of a Gregorian month in days.
DAYS_PER_MONTH = 365.25 / 12.0

_ALIAS = re.compile(r"^(h|H|D|W|M|Q|Y|A)(-[A-Z]{3})?$")
_PER_MONTH = {
    "h": DAYS_PER_MONTH * 24.0,
    "D": DAYS_PER_MONTH,
    "W": DAYS_PER_MONTH / 7.0,
    "M": 1.0,
    "Q": 1.0 / 3.0,
    "Y": 1.0 / 12.0,
}


def parse_freq(freq: Any, *, owner: str) -> str:
    """Return the pandas period alias for `freq` (``"D"``, ``"W"``, ``"W-MON"``, ``"M"``, ...).

    Only single periods are accepted: pandas period ordinals count base units, so a multiple
    such as ``"2W"`` would silently count weeks.
    """
    match = _ALIAS.match(freq) if isinstance(freq, str) else None
    if match is None:
        raise InvalidParameterError(
            f"The 'freq' parameter of {owner} must be a period such as 'D' (days), 'W' (weeks, "
            f"or 'W-MON' for weeks ending on Monday), 'M' (months), 'Q' or 'Y'; multiples like "
            f"'2W' are not supported. Got {freq!r} instead."
        )
    base = {"H": "h", "A": "Y"}.get(match.group(1), match.group(1))
    return base + (match.group(2) or "")


def periods_per_month(freq: Any, *, owner: str) -> float:
    """Return how many periods of `freq` make a month (a mean Gregorian month).

    `freq` is a period alias (see :func:`parse_freq`) or a positive number of periods per month.
    """
    if isinstance(freq, (int, float, np.integer, np.floating)) and not isinstance(freq, bool):
        if np.isfinite(freq) and freq > 0:
            return float(freq)
        raise InvalidParameterError(
            f"The 'freq' parameter of {owner} must be a period alias such as 'W' or a positive "
            f"number of periods per month such as 4.35. Got {freq!r} instead."
        )
    alias = parse_freq(freq, owner=owner)
    return _PER_MONTH[alias[0]]
