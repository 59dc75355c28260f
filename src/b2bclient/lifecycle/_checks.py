"""Checks of the arguments shared by the lifecycle functions: horizons, base and as_of, ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError, UnknownIdError
from b2bclient._time import to_duration, to_timestamp
from b2bclient.base import ClientBase

__all__ = ["check_base", "check_ids", "spans"]

_OWNER = "LifecycleModel"
_DAY = pd.Timedelta(days=1)


def spans(horizons: Any, name: str, owner: str) -> dict[str, float]:
    if isinstance(horizons, (str, pd.Timedelta)) or not isinstance(horizons, Sequence):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a sequence of durations such as "
            f"('30D', '90D'). Got {horizons!r} instead."
        )
    if not horizons:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must hold at least one duration. Got {horizons!r}."
        )
    spans: dict[str, float] = {}
    for h in horizons:
        days = to_duration(h, name=name, owner=owner) / _DAY
        label = f"p_procurement_{days:g}d"
        if label in spans:
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} holds the horizon {h!r} twice."
            )
        spans[label] = float(days)
    return spans


def check_base(base: Any, as_of: Any, method: str) -> pd.Timestamp:
    owner = f"{_OWNER}.{method}"
    if not isinstance(base, ClientBase):
        raise InvalidParameterError(
            f"The 'base' parameter of {owner} must be a ClientBase. Got {type(base).__name__} "
            "instead."
        )
    t = to_timestamp(as_of, name="as_of", owner=owner)
    first = base.stages["started_at"].min() if len(base.stages) else pd.NaT
    if pd.isna(first) or t <= first:
        raise InvalidParameterError(
            f"The 'as_of' parameter of {owner} is {t}, but no project stage started before it "
            f"(the first 'stages.started_at' is {first}). Choose an as_of after the data start."
        )
    return t


def check_ids(ids: Any, view: ClientBase) -> list[str]:
    if isinstance(ids, str) or not isinstance(ids, Sequence | pd.Index | np.ndarray | pd.Series):
        raise InvalidParameterError(
            f"The 'organisation_ids' parameter of {_OWNER}.predict must be a sequence of "
            f"organisation ids such as ['O-1']. Got {ids!r} instead."
        )
    wanted = [str(i) for i in ids]
    known = view.organisations["organisation_id"]
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise UnknownIdError(
            f"{len(unknown)} organisation id(s) passed to {_OWNER}.predict are not in the "
            f"client base (before as_of): {unknown[:5]}."
        )
    return wanted
