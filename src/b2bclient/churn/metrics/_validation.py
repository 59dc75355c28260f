"""Checking and converting the inputs of the survival metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError

__all__ = ["as_durations", "as_events", "as_scores", "as_survival", "as_time_points"]

_DAY_NS = 86_400 * 10**9


def _one_dimensional(values: Any, name: str, owner: str) -> np.ndarray[Any, Any]:
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be one-dimensional (one value per "
            f"subject). Got an array of shape {array.shape} instead."
        )
    return array


def as_durations(values: Any, name: str, owner: str) -> np.ndarray[Any, Any]:
    """Return durations as float64; timedeltas become days."""
    array = _one_dimensional(values, name, owner)
    if array.dtype.kind == "m":
        nat = np.isnat(array)
        days = array.astype("m8[ns]").astype(np.int64) / _DAY_NS
        days[nat] = np.nan
        array = days
    elif array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must hold numeric durations or timedeltas. "
                f"Got values of dtype {array.dtype} instead."
            ) from exc
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must hold finite durations; {int(bad.sum())} "
            f"are NaN or infinite (first at position {int(np.flatnonzero(bad)[0])}). Drop or "
            "impute those subjects first."
        )
    negative = array < 0
    if negative.any():
        first = int(np.flatnonzero(negative)[0])
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must hold non-negative durations; "
            f"{int(negative.sum())} are negative (first {array[first]!r} at position {first}). "
            "A duration is the time from the start of observation to the event or censoring."
        )
    return array


def as_events(values: Any, name: str, owner: str) -> np.ndarray[Any, Any]:
    """Return event indicators as bool, accepting bool or 0/1 values."""
    array = _one_dimensional(values, name, owner)
    if array.dtype == bool:
        return array
    try:
        numeric = array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must hold event indicators (True/False or 1/0). "
            f"Got values of dtype {array.dtype} instead."
        ) from exc
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must hold event indicators (True/False or 1/0); "
            f"{int(bad.sum())} values are neither (first {array[first]!r} at position {first})."
        )
    indicator: np.ndarray[Any, Any] = numeric == 1.0
    return indicator


def as_survival(
    duration: Any, event: Any, owner: str, suffix: str = ""
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Check a pair of duration and event arrays of equal length."""
    time = as_durations(duration, f"duration{suffix}", owner)
    observed = as_events(event, f"event{suffix}", owner)
    if len(time) != len(observed):
        raise InvalidParameterError(
            f"The 'duration{suffix}' and 'event{suffix}' parameters of {owner} must have the "
            f"same length. Got {len(time)} and {len(observed)} instead."
        )
    if len(time) == 0:
        raise InvalidParameterError(
            f"The 'duration{suffix}' parameter of {owner} is empty; give at least one subject."
        )
    return time, observed


def as_scores(
    values: Any, n: int, name: str, owner: str, *, columns: int | None = None
) -> np.ndarray[Any, Any]:
    """Return finite float scores of shape ``(n,)`` or ``(n, columns)``."""
    if isinstance(values, (pd.Series, pd.DataFrame, pd.Index)):
        values = values.to_numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be numeric. Got {type(values).__name__}."
        ) from exc
    allowed = [(n,)] if columns is None else [(n, columns)]
    if array.shape not in allowed:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must have shape "
            f"{' or '.join(str(s) for s in allowed)} (one row per subject"
            f"{', one column per time' if columns is not None else ''}). Got shape "
            f"{array.shape} instead."
        )
    bad = ~np.isfinite(array)
    if bad.any():
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be finite; {int(bad.sum())} values are NaN "
            "or infinite. Predict for every subject or drop those subjects from all inputs."
        )
    return array


def _to_days(value: Any, name: str, owner: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a duration. Got {value!r} instead."
        )
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    try:
        delta = pd.Timedelta(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a number (in the unit of the durations) "
            f"or a duration such as '180D'. Got {value!r} instead."
        ) from exc
    if delta is pd.NaT:
        raise InvalidParameterError(f"The {name!r} parameter of {owner} must not be NaT.")
    return float(delta.value / _DAY_NS)


def as_time_points(values: Any, name: str, owner: str) -> np.ndarray[Any, Any]:
    """Return strictly increasing, finite, positive time points as float64 (timedeltas: days)."""
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    if np.ndim(values) == 0:
        values = [values]
    array = np.asarray(values)
    if array.ndim != 1 or len(array) == 0:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a non-empty list of time points. Got "
            f"{values!r} instead."
        )
    if array.dtype.kind == "m":
        points = as_durations(array, name, owner)
    else:
        points = np.array([_to_days(v, name, owner) for v in array.tolist()], dtype=np.float64)
    if not np.all(np.isfinite(points)) or np.any(points <= 0):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must hold finite, positive time points. Got "
            f"{points.tolist()!r} instead."
        )
    if np.any(np.diff(points) <= 0):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be strictly increasing. Got "
            f"{points.tolist()!r} instead; sort them and drop duplicates."
        )
    return points


def as_time_point(value: Any, name: str, owner: str) -> float:
    """Return one positive time point as float (timedeltas: days)."""
    point = _to_days(value, name, owner)
    if not np.isfinite(point) or point <= 0:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a positive time point. Got {value!r} "
            "instead."
        )
    return point
