"""Validation of ChurnModel's parameters, targets and prediction times."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_duration
from b2bclient.churn import _boosting, _lifelines
from b2bclient.churn._encoding import FloatMatrix

if TYPE_CHECKING:
    from b2bclient.churn._model import ChurnModel

__all__ = [
    "check_params",
    "check_target",
    "check_within",
    "churn_horizon",
    "days",
    "is_real",
    "number_of_days",
    "parse_times",
]

#: Every kind ChurnModel accepts.
KINDS = (*_lifelines.KINDS, *_boosting.KINDS)

Floats = npt.NDArray[np.float64]


def check_params(model: ChurnModel) -> float | None:
    """Validate the parameters of `model` and return its horizon in days (``None`` if unset)."""
    owner = "ChurnModel"
    if model.kind not in KINDS:
        raise InvalidParameterError(
            f"The 'kind' parameter of {owner} must be one of {list(KINDS)}. "
            f"Got {model.kind!r} instead."
        )
    if not is_real(model.penalizer) or not math.isfinite(model.penalizer) or model.penalizer < 0:
        raise InvalidParameterError(
            f"The 'penalizer' parameter of {owner} must be a non-negative number such as "
            f"0.1. Got {model.penalizer!r} instead."
        )
    if not is_real(model.l1_ratio) or not 0 <= model.l1_ratio <= 1:
        raise InvalidParameterError(
            f"The 'l1_ratio' parameter of {owner} must be a number in [0, 1] such as 0.0. "
            f"Got {model.l1_ratio!r} instead."
        )
    if not is_real(model.alpha) or not 0 < model.alpha < 1:
        raise InvalidParameterError(
            f"The 'alpha' parameter of {owner} must be a number in (0, 1) such as 0.05 (95% "
            f"intervals). Got {model.alpha!r} instead."
        )
    if model.gbm_params is not None and not isinstance(model.gbm_params, Mapping):
        raise InvalidParameterError(
            f"The 'gbm_params' parameter of {owner} must be a dict of arguments of the boosting "
            f"classifier such as {{'learning_rate': 0.05}}. Got {model.gbm_params!r} instead."
        )
    horizon = None
    if model.horizon is not None:
        horizon = days(to_duration(model.horizon, name="horizon", owner=owner))
    if model.kind in _boosting.KINDS and horizon is None:
        raise InvalidParameterError(
            f"The 'horizon' parameter of {owner} is required for kind={model.kind!r}, which "
            f"predicts churn within a fixed horizon: use for example "
            f"ChurnModel(kind={model.kind!r}, horizon='180D'). Got None instead."
        )
    return horizon


def parse_times(model: ChurnModel, times: Any, *, method: str) -> Floats:
    """Return `times` as days, refusing what lies beyond what `model` can predict."""
    owner = f"ChurnModel.{method}"
    values = [times] if isinstance(times, (str, pd.Timedelta, numbers.Real)) else times
    try:
        items = list(values)
    except TypeError as exc:
        raise InvalidParameterError(
            f"The 'times' parameter of {owner} must be a duration or a list of durations "
            f"such as [30, 90, '180D'] (numbers are days). Got {times!r} instead."
        ) from exc
    out = np.array(
        [
            days(to_duration(v, name="times", owner=owner, allow_zero=True))
            if isinstance(v, (str, pd.Timedelta, np.timedelta64))
            else number_of_days(v, owner)
            for v in items
        ],
        dtype=np.float64,
    )
    if out.size == 0:
        raise InvalidParameterError(
            f"The 'times' parameter of {owner} is empty; give at least one duration."
        )
    check_within(model, out, name="times", owner=owner)
    return out


def check_within(model: ChurnModel, days: Floats, *, name: str, owner: str) -> None:
    """Refuse days beyond the training data (beyond the horizon for the boosting kinds)."""
    boosting = model.kind in _boosting.KINDS
    limit = model.horizon_ if boosting and model.horizon_ is not None else model.max_duration_
    bad = days[days > limit]
    if bad.size == 0:
        return
    if boosting:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must not exceed the horizon of this "
            f"kind={model.kind!r} model ({limit:g} days). Got {bad.max():g} days instead. Refit "
            f"with ChurnModel(kind={model.kind!r}, horizon='{bad.max():g}D') or use a survival "
            f"kind such as 'cox'."
        )
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} goes beyond the training data: the longest "
        f"observed duration is {limit:g} days and {bad.max():g} days were asked. Choose at "
        f"most {limit:g} days, or fit on a longer history (an earlier landmark)."
    )


def is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def days(td: pd.Timedelta) -> float:
    return float(td / pd.Timedelta(days=1))


def number_of_days(value: Any, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(
            f"The 'times' parameter of {owner} must hold durations such as 90 or '90D' "
            f"(numbers are days). Got {value!r} instead."
        )
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise InvalidParameterError(
            f"The 'times' parameter of {owner} must hold non-negative finite days. Got "
            f"{value!r} instead."
        )
    return v


def check_target(
    z: FloatMatrix, duration: Floats, event: Any, *, kind: str, horizon: float | None
) -> None:
    n = z.shape[0]
    if duration.shape[0] != n:
        raise InvalidParameterError(
            f"X and y passed to ChurnModel.fit have different lengths: {n} and "
            f"{duration.shape[0]} rows. Give one target per row of X."
        )
    if n < 2:
        raise InvalidParameterError(
            f"ChurnModel.fit needs at least 2 samples; got {n} sample. Fit on more organisations."
        )
    n_events = int(np.sum(event))
    if n_events == 0:
        raise InvalidParameterError(
            f"All {n} rows of y are censored (no churn observed), so there is nothing to learn "
            f"when organisations churn. Use a longer follow-up (an earlier landmark or a later "
            f"as_of), a shorter inactivity gap, or check the event column."
        )
    if kind in _boosting.KINDS:
        assert horizon is not None
        _boosting.check_data(kind, duration, event, horizon)
    else:
        _lifelines.check_data(kind, duration)


def churn_horizon(model: ChurnModel, horizon: Any, owner: str) -> float:
    """Return the horizon of a churn probability in days: `horizon`, or the model's; checked."""
    if horizon is None:
        if model.horizon_ is None:
            raise InvalidParameterError(
                f"The 'horizon' parameter of {owner} is required because the model was "
                f"created without a horizon: pass for example horizon='180D'."
            )
        h = model.horizon_
    else:
        h = days(to_duration(horizon, name="horizon", owner=owner))
    if model.kind in _boosting.KINDS and h != model.horizon_:
        raise InvalidParameterError(
            f"The 'horizon' parameter of {owner} must be {model.horizon_:g} days for this "
            f"kind={model.kind!r} model, which was trained for that horizon only. Got {h:g} "
            f"days instead. Refit with ChurnModel(kind={model.kind!r}, horizon='{h:g}D'), or use a "
            f"survival kind such as 'cox' for several horizons."
        )
    check_within(model, np.array([h]), name="horizon", owner=owner)
    return h
