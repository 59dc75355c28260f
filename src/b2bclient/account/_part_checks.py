"""The checks every part shares: that it is fitted, and its `model` and `k` parameters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from b2bclient._exceptions import InvalidParameterError, NotFittedError

__all__ = ["check_k", "check_model", "fitted_as_of"]


def fitted_as_of(part: Any, owner: str) -> pd.Timestamp:
    """Return ``part.as_of_``, or raise NotFittedError naming `owner`."""
    if not hasattr(part, "as_of_"):
        raise NotFittedError(
            f"This {owner} is not fitted yet. Fit it with fit(base, as_of=...), or fit a bundle "
            "with b2bclient.Models.fit(base, as_of=...)."
        )
    value: pd.Timestamp = part.as_of_
    return value


def check_k(k: Any, owner: str) -> int:
    """Return `k` as a positive int or raise naming the parameter of `owner`."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidParameterError(
            f"The 'k' parameter of {owner} must be a positive integer such as 5. Got {k!r} instead."
        )
    return int(k)


def check_model(model: Any, expected: type, owner: str) -> Any:
    """Return an unfitted clone of `model` (a default `expected` when None)."""
    if model is None:
        return expected()
    if not isinstance(model, expected):
        raise InvalidParameterError(
            f"The 'model' parameter of {owner} must be a {expected.__name__} or None. Got "
            f"{type(model).__name__} instead."
        )
    return clone(model)
