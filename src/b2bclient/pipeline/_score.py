"""Fast scoring: the log-odds of a preprocessor and a linear model, one column at a time.

The shared :class:`~b2bclient.features.FeaturePreprocessor` builds the whole model matrix, column
by column through pandas, before the logistic regression multiplies it by its coefficients. For
scoring many deals the matrix is never needed: each input column contributes its coefficient
times its transformed value (a one-hot column the coefficient of the row's level), so the
log-odds are summed column by column in NumPy, without building the matrix. The result equals
``lr.decision_function(pre.transform(X))`` to rounding; frames the fast path does not cover
(numbers stored as objects, infinite values) return None and take the general path, which
raises the preprocessor's errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["linear_scores"]

Floats = npt.NDArray[np.float64]


def _levels(s: pd.Series, levels: list[Any]) -> npt.NDArray[np.int64]:
    """Return the position of each value of `s` among `levels`, -1 for missing or unseen."""
    wanted = pd.Index(levels, dtype=object)
    if isinstance(s.dtype, pd.CategoricalDtype):
        to_level = wanted.get_indexer(pd.Index(s.cat.categories, dtype=object))
        codes = s.cat.codes.to_numpy()
        return np.where(codes >= 0, to_level[np.maximum(codes, 0)], -1).astype(np.int64)
    return np.asarray(wanted.get_indexer(s.astype(object)), dtype=np.int64)


def linear_scores(pre: Any, coef: Floats, intercept: float, frame: pd.DataFrame) -> Floats | None:
    """Return ``intercept + coef @ pre.transform(frame)`` without building the matrix, or None.

    Parameters
    ----------
    pre : FeaturePreprocessor
        Fitted, with one-hot categories (the default).
    coef : numpy.ndarray
        One coefficient per output column of `pre` (``get_feature_names_out``).
    intercept : float
        The intercept.
    frame : pandas.DataFrame
        The columns `pre` was fitted on.

    Returns
    -------
    numpy.ndarray or None
        The scores; None when a column needs the general path (numbers held as objects or
        strings, infinite values).

    Examples
    --------
    >>> from b2bclient.features import preprocessor
    >>> X = pd.DataFrame({"a": [1.0, np.nan, 3.0], "c": pd.Categorical(["x", "y", "x"])})
    >>> pre = preprocessor().fit(X)
    >>> coef = np.arange(1.0, 1.0 + len(pre.get_feature_names_out()))
    >>> fast = linear_scores(pre, coef, 0.5, X)
    >>> bool(np.allclose(fast, 0.5 + np.asarray(pre.transform(X)) @ coef))
    True
    """
    if getattr(pre, "categorical", "onehot") != "onehot":
        return None
    weight = dict(zip(pre.get_feature_names_out(), np.asarray(coef, dtype=np.float64), strict=True))
    indicator_of = {cols[0]: name for name, cols in pre.missing_indicators_.items()}
    dropped = set(pre.dropped_.index)
    # The preprocessor names columns by their string; the frame may hold other labels.
    label = {str(c): c for c in frame.columns}
    if any(str(c) not in label for c in pre.kinds_.index):
        return None
    out = np.full(len(frame), float(intercept))
    for column in pre.kinds_.index:
        owns = column in indicator_of
        if column in dropped and not owns:
            continue
        kind = pre.kinds_[column]
        s = frame[label[str(column)]]
        if kind == "categorical":
            levels = pre.categories_[column]
            kept = levels[1 if pre.drop_first else 0 :]
            w = np.array([weight[f"{column}={level}"] for level in kept] + [0.0])
            index = _levels(s, levels) - (1 if pre.drop_first else 0)
            out += w[np.where(index >= 0, index, len(kept))]
            continue
        if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
            return None
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(x).any():
            return None
        missing = np.isnan(x)
        if owns:
            out += weight[indicator_of[column]] * missing
        if column in dropped:
            continue
        x = np.where(missing, pre.fill_[column], x)
        if kind in ("log", "linear"):
            if kind == "log" and pre.heavy_tailed == "log":
                x = np.sign(x) * np.log1p(np.abs(x))
            x = (x - pre.center_[column]) / pre.scale_[column]
        out += weight[column] * x
    return out
