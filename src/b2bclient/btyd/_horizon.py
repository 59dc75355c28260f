"""Warn when a summary is asked for a time after the end of the recorded data.

A client base does not record when it was exported; what it shows is its last recorded event.
An ``as_of`` long after that event stretches every customer's age ``T`` over a stretch that
was never observed, which BTYD models read as silence: P(alive) and the expected purchases fall.
The rule is the one ``training_frame`` and ``survival_frame`` apply: with ``rate`` the events
per day in the year before the last event, the data are taken to end there when the silence
after it exceeds both a week and ``ln(100) / rate`` (a silence that long has a chance below 1 %
under a constant rate).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from b2bclient.base import ClientBase
from b2bclient.base._schema import SCHEMAS

__all__ = ["warn_after_data"]

_MIN_SILENCE = pd.Timedelta(days=7)
_PACE_WINDOW = pd.Timedelta(days=365)


def _event_times(base: ClientBase) -> np.ndarray:
    parts = []
    for name, schema in SCHEMAS.items():
        frame = base.tables.get(name)
        if frame is None or not len(frame):
            continue
        for column in (schema.time_column, *schema.revert):
            if column is None or column not in frame.columns:
                continue
            values = frame[column].to_numpy(dtype="datetime64[ns]").view(np.int64)
            parts.append(values[values != np.iinfo(np.int64).min])
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate(parts))


def warn_after_data(base: ClientBase, end: pd.Timestamp, *, name: str, owner: str) -> bool:
    """Warn (UserWarning) when `end` lies implausibly long after the base's last event.

    Returns whether the warning was given. The warning points at the caller of `owner`.
    """
    times = _event_times(base)
    if times.size < 2 or times[-1] == times[0]:
        return False
    last = int(times[-1])
    start = max(int(times[0]), last - _PACE_WINDOW.value)
    count = times.size - int(np.searchsorted(times, start, side="right"))
    limit = max(_MIN_SILENCE, pd.Timedelta(int(math.log(100.0) * (last - start) / count), "ns"))
    silence = end - pd.Timestamp(last)
    if silence <= limit:
        return False
    warnings.warn(
        f"The '{name}' given to {owner} is {end}, {silence.days} days after the last event "
        f"recorded in the base ({pd.Timestamp(last)}); at the pace of this base (about "
        f"{count / ((last - start) / 86_400e9):.3g} events a day) a silence that long is "
        f"implausible, so the data most likely end there. Every customer's T would stretch over "
        f"the unobserved time and read as silence, lowering P(alive) and the expected purchases. "
        f"Use a {name} at most the end of the export, such as the day after the last event.",
        UserWarning,
        stacklevel=3,
    )
    return True
