"""Drivers of a WinModel: the features that move each open deal's log-odds most."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient._time import to_timestamp

if TYPE_CHECKING:
    from b2bclient.pipeline._win import WinModel

__all__ = ["deal_drivers"]

_OWNER = "WinModel"


def deal_drivers(model: WinModel, base: Any, as_of: Any, k: Any) -> pd.DataFrame:
    """Return the `k` largest effects on each open deal's log-odds (:meth:`WinModel.drivers`)."""
    from b2bclient.pipeline._win import _check_base

    owner = f"{_OWNER}.drivers"
    model._check()
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidParameterError(
            f"The 'k' parameter of {owner} must be a positive integer. Got {k!r} instead."
        )
    base = _check_base(base, owner)
    frame = model.deal_frame(base, to_timestamp(as_of, owner=owner))
    pipe = model.model_.calibrated_classifiers_[0].estimator
    pre, lr = pipe[0], pipe[-1]
    Z = pre.transform(model._matrix(frame[list(model.feature_names_in_)]))
    names = np.asarray(pre.get_feature_names_out(), dtype=object)
    effect = (np.asarray(Z, dtype=np.float64) - model.matrix_mean_) * lr.coef_[0]
    k = int(min(k, effect.shape[1]))
    top = np.argsort(-np.abs(effect), axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(len(frame)), k)
    return pd.DataFrame(
        {
            "deal_id": frame["deal_id"].to_numpy(object)[rows],
            "rank": np.tile(np.arange(1, k + 1), len(frame)),
            "feature": names[top.ravel()],
            "effect": effect[rows, top.ravel()],
        }
    )
