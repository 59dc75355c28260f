"""How well a fitted ChurnModel ranks, and whether a Cox model's proportional hazards hold.

:meth:`ChurnModel.score <b2bclient.churn.ChurnModel.score>` is Harrell's concordance index of
the risk scores; :meth:`ChurnModel.check_assumptions
<b2bclient.churn.ChurnModel.check_assumptions>` runs the Grambsch-Therneau test of each
covariate (:func:`b2bclient.churn._lifelines.ph_test`) with advice where the assumption fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from b2bclient._exceptions import InvalidParameterError
from b2bclient.churn import _lifelines
from b2bclient.churn._surv import Surv
from b2bclient.churn.metrics import concordance_index_harrell

if TYPE_CHECKING:
    from b2bclient.churn._model import ChurnModel

__all__ = ["concordance", "proportional_hazards"]


def concordance(model: ChurnModel, X: Any, y: Any) -> float:
    """Return Harrell's concordance index of the risk scores of `model` on `X` against `y`."""
    risk = np.asarray(model.predict(X), dtype=np.float64)
    duration, event = Surv.to_arrays(y, name="y")
    if duration.shape[0] != risk.shape[0]:
        raise InvalidParameterError(
            f"X and y passed to ChurnModel.score have different lengths: {risk.shape[0]} "
            f"and {duration.shape[0]} rows."
        )
    if not event.any():
        raise InvalidParameterError(
            "ChurnModel.score needs at least one observed churn in y to rank; every row is "
            "censored. Score on a longer follow-up window."
        )
    return concordance_index_harrell(duration, event, risk)


def proportional_hazards(model: ChurnModel, X: Any, y: Any, alpha: float) -> pd.DataFrame:
    """Return the proportional-hazards test of each covariate of a ``"cox"`` `model`."""
    model._check_fitted()
    owner = "ChurnModel.check_assumptions"
    if model.kind != "cox":
        raise InvalidParameterError(
            f"{owner} tests proportional hazards, which only kind='cox' assumes; this "
            f"model is kind={model.kind!r}. Compare the models' scores or calibration instead."
        )
    if not 0 < alpha < 1:
        raise InvalidParameterError(
            f"The 'alpha' parameter of {owner} must be in (0, 1) such as 0.05. Got {alpha!r}."
        )
    z = model._validate_X(X, reset=False, method="check_assumptions")
    duration, event = Surv.to_arrays(y, name="y")
    if duration.shape[0] != z.shape[0]:
        raise InvalidParameterError(
            f"X and y passed to {owner} have different lengths: {z.shape[0]} and "
            f"{duration.shape[0]} rows."
        )
    if event.sum() < 2:
        raise InvalidParameterError(
            f"{owner} needs at least two observed churn events in y; got {int(event.sum())}."
        )
    stat = _lifelines.ph_test(z - model.center_, duration, event, model.coef_, model.coef_cov_)
    p = chi2.sf(stat, 1)
    names = list(model.feature_names_out_)
    categories = model._encoding[1]
    advice = []
    for name, pv in zip(names, p, strict=True):
        advice.append("" if pv >= alpha else _lifelines.ph_advice(name, categories))
    return pd.DataFrame(
        {"test_statistic": stat, "p_value": p, "proportional": p >= alpha, "advice": advice},
        index=pd.Index(names, name="feature"),
    )
