"""The design matrix of a ChurnModel: `X` checked against what `fit` saw, then encoded.

`fit` records the columns (scikit-learn's ``n_features_in_`` and ``feature_names_in_``) and
learns the encoding of the categorical columns (:mod:`b2bclient.churn._encoding`); every later
method checks `X` against them and encodes it the same way, raising InvalidParameterError with
the method named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from b2bclient._exceptions import B2BClientError, InvalidParameterError
from b2bclient.churn import _boosting
from b2bclient.churn._encoding import FloatMatrix, encode, fit_encoding

if TYPE_CHECKING:
    from b2bclient.churn._model import ChurnModel

__all__ = ["validate_X"]


def validate_X(model: ChurnModel, X: Any, *, reset: bool, method: str) -> FloatMatrix:
    """Return the design matrix of `X` for `method` (learning the encoding when `reset`)."""
    owner = f"ChurnModel.{method}"
    if isinstance(X, pd.Series):
        raise InvalidParameterError(
            f"X passed to {owner} must be two-dimensional (a DataFrame or an array of shape "
            f"(n_samples, n_features)). Got a Series instead; use X.to_frame()."
        )
    try:
        return _design(model, X, reset=reset, owner=owner)
    except ValueError as exc:
        if isinstance(exc, B2BClientError):
            raise
        # scikit-learn's own checks (feature count and names, non-numeric arrays).
        raise InvalidParameterError(f"X passed to {owner} is invalid: {exc}") from exc


def _design(model: ChurnModel, X: Any, *, reset: bool, owner: str) -> FloatMatrix:
    if reset:
        if isinstance(X, pd.DataFrame):
            validate_data(model, X, reset=True, skip_check_array=True)
            z, enc = fit_encoding(X, owner=owner, native=_native(model))
        else:
            z, enc = fit_encoding(X, owner=owner, native=_native(model))
            validate_data(model, z, reset=True, skip_check_array=True)
        model._encoding = enc
        return z
    if not isinstance(X, pd.DataFrame):
        if model._encoding[1]:
            raise InvalidParameterError(
                f"{owner} needs a DataFrame: the model was fitted on a DataFrame with the "
                f"categorical columns {list(model._encoding[1])}; pass a DataFrame with the "
                f"same columns, not an array."
            )
        X = check_array(X, dtype=np.float64, ensure_all_finite=False, input_name="X")
    validate_data(model, X, reset=False, skip_check_array=True)
    return encode(X, model._encoding, owner=owner, native=_native(model))


def _native(model: ChurnModel) -> bool:
    return model.kind in _boosting.NATIVE
