"""Seasonal sampling of event times, vectorised over rows.

Times are int64 nanoseconds since the epoch (the ``datetime64[ns]`` representation), rounded to the
second; ``NAT`` is the integer pandas uses for ``NaT`` and ``INF`` the largest int64, for "never".
A :class:`Calendar` holds a daily intensity over the span (weekdays, spring peak, quarter-end peak,
holiday dip) and draws times inside per-row windows ``[lo, hi)`` by inverting its cumulative
intensity.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["DAY", "HOUR", "INF", "NAT", "SECOND", "Calendar", "floor_seconds", "window_sums"]

SECOND = 1_000_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
NAT = int(np.iinfo(np.int64).min)
#: A time later than any other: "never" for churn and cancellation times.
INF = int(np.iinfo(np.int64).max)

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ProfileKind = Literal["deals", "interactions", "flat"]

_WEEKDAY = {
    # Monday first.
    "deals": np.array([1.0, 1.05, 1.05, 1.0, 0.9, 0.08, 0.03]),
    "interactions": np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.15, 0.08]),
    "flat": np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.2, 0.1]),
}


def floor_seconds(ns: Any) -> Int64Array:
    """Return the nanosecond durations or times `ns` rounded down to the whole second, as int64."""
    arr = np.floor(np.asarray(ns, dtype=np.float64) / SECOND)
    return np.asarray(arr.astype(np.int64) * SECOND, dtype=np.int64)


class Calendar:
    """Daily intensity of one kind of event over ``[start, end)``, normalised to mean 1 per day.

    Parameters
    ----------
    start, end : int
        The span in int64 nanoseconds.
    kind : {"deals", "interactions", "flat"}
        Seasonal profile: ``deals`` has quarter-end and spring peaks; ``interactions`` a milder
        spring peak; all three a weekday rhythm and a dip over the year-end holidays.
    """

    def __init__(self, start: int, end: int, kind: ProfileKind) -> None:
        self.day0 = start - start % DAY
        self.n_days = int(-(-(end - self.day0) // DAY))
        days = np.arange(self.n_days, dtype=np.int64) + self.day0 // DAY
        dates = days.astype("datetime64[D]")
        weekday = (days + 3) % 7
        month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
        day_of_month = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
        day_of_year = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
        w = _WEEKDAY[kind][weekday].astype(np.float64)
        spring = np.exp(-(((day_of_year - 115.0) / 32.0) ** 2))
        holiday = ((month == 12) & (day_of_month >= 23)) | ((month == 1) & (day_of_month <= 2))
        if kind == "deals":
            quarter_end = (month % 3 == 0) & (day_of_month >= 20)
            w = w * (1.0 + 0.35 * spring) * np.where(quarter_end, 1.6, 1.0)
            w = w * np.where(month == 8, 0.8, 1.0) * np.where(holiday, 0.25, 1.0)
        elif kind == "interactions":
            w = w * (1.0 + 0.15 * spring) * np.where(month == 8, 0.85, 1.0)
            w = w * np.where(holiday, 0.35, 1.0)
        else:
            w = w * np.where(holiday, 0.4, 1.0)
        self.weights: FloatArray = np.asarray(w / w.mean(), dtype=np.float64)
        self.cum: FloatArray = np.concatenate([[0.0], np.cumsum(self.weights)])

    def _position(self, t: Int64Array) -> FloatArray:
        x = (np.asarray(t, dtype=np.int64) - self.day0) / DAY
        x = np.clip(x, 0.0, float(self.n_days))
        i = np.minimum(np.floor(x).astype(np.int64), self.n_days - 1)
        return np.asarray(self.cum[i] + (x - i) * self.weights[i], dtype=np.float64)

    def mass(self, lo: Int64Array, hi: Int64Array) -> FloatArray:
        """Return the intensity-weighted length of each window ``[lo, hi)`` in days (0 if empty)."""
        return np.maximum(self._position(hi) - self._position(lo), 0.0)

    def sample(
        self,
        rng: np.random.Generator,
        lo: Int64Array,
        hi: Int64Array,
        *,
        hours: tuple[float, float] = (7.0, 11.0),
    ) -> Int64Array:
        """Draw one time per row inside ``[lo, hi)``, following the daily intensity.

        Within a day the time is uniform over ``hours`` (first hour, length in hours), then clipped
        into the window. Rows must have non-empty windows.
        """
        a = self._position(lo)
        b = self._position(hi)
        u = a + rng.random(a.shape[0]) * (b - a)
        i = np.clip(np.searchsorted(self.cum, u, side="right") - 1, 0, self.n_days - 1)
        frac = np.clip((u - self.cum[i]) / self.weights[i], 0.0, 1.0)
        offset = np.floor((hours[0] + frac * hours[1]) * 3600.0).astype(np.int64) * SECOND
        t = self.day0 + i * DAY + offset
        return np.asarray(np.minimum(np.maximum(t, lo), hi - SECOND), dtype=np.int64)


def _keys(org: Int64Array, t: Int64Array, t_min: int, stride: int) -> Int64Array:
    """Return int64 keys that order rows by organisation, then time in whole seconds."""
    seconds = (np.asarray(t, dtype=np.int64) - t_min) // SECOND
    return np.asarray(np.asarray(org, dtype=np.int64) * stride + seconds, dtype=np.int64)


def window_sums(
    org: Int64Array,
    t: Int64Array,
    values: FloatArray | None,
    q_org: Int64Array,
    q_lo: Int64Array,
    q_hi: Int64Array,
) -> tuple[FloatArray, FloatArray]:
    """Return, per query, the count and the sum of `values` of rows in ``[q_lo, q_hi)``.

    Rows are ``(org, t)`` pairs; a query counts the rows of its organisation ``q_org`` with
    ``q_lo <= t < q_hi``. Times are compared in whole seconds (every generated time is), so the
    answer is exact. `values` None counts only (the sum is then the count too).
    """
    q_lo = np.asarray(q_lo, dtype=np.int64)
    q_hi = np.asarray(q_hi, dtype=np.int64)
    if org.shape[0] == 0 or q_org.shape[0] == 0:
        zero = np.zeros(q_org.shape[0])
        return zero, zero.copy()
    t_min = int(min(t.min(), q_lo.min()))
    stride = int((max(t.max(), q_hi.max()) - t_min) // SECOND) + 2
    keys = _keys(org, t, t_min, stride)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    lo = np.searchsorted(keys, _keys(q_org, q_lo, t_min, stride), side="left")
    hi = np.searchsorted(keys, _keys(q_org, q_hi, t_min, stride), side="left")
    counts = (hi - lo).astype(np.float64)
    if values is None:
        return counts, counts.copy()
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float64)[order])])
    return counts, np.asarray(cum[hi] - cum[lo], dtype=np.float64)
