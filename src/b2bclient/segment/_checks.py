"""What Segmenter accepts: its parameters, its input frame and the training frame's contents."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from b2bclient._exceptions import B2BClientError, InvalidParameterError

__all__ = [
    "MAX_SEGMENTS",
    "METHODS",
    "as_frame",
    "check_params",
    "check_training_frame",
    "is_int",
    "rng_of",
]

#: The clustering methods of Segmenter.
METHODS = ("gmm", "kmeans", "kprototypes", "hdbscan")
REPRESENTATIONS = ("auto", "profile", "features")
SELECTIONS = ("auto", "bic", "silhouette", "stability")
#: Largest number of segments Segmenter accepts.
MAX_SEGMENTS = 50
_OWNER = "Segmenter"


def is_int(value: Any) -> bool:
    """Return whether `value` is an integer (and not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_params(seg: Any) -> str:
    """Check the parameters of `seg`; return the selection criterion ``"auto"`` stands for."""

    def bad(name: str, expected: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"The {name!r} parameter of {_OWNER} must be {expected}. "
            f"Got {getattr(seg, name)!r} instead."
        )

    if seg.method not in METHODS:
        raise bad("method", f"one of {list(METHODS)}")
    if seg.representation not in REPRESENTATIONS:
        raise bad("representation", f"one of {list(REPRESENTATIONS)}")
    if seg.selection not in SELECTIONS:
        raise bad("selection", f"one of {list(SELECTIONS)}")
    if seg.n_segments != "auto" and not (
        is_int(seg.n_segments) and 2 <= int(seg.n_segments) <= MAX_SEGMENTS
    ):
        raise bad("n_segments", f"'auto' or an integer from 2 to {MAX_SEGMENTS}")
    if not (is_int(seg.max_segments) and 2 <= int(seg.max_segments) <= MAX_SEGMENTS):
        raise bad("max_segments", f"an integer from 2 to {MAX_SEGMENTS}")
    if seg.min_segment_size is not None and not (
        is_int(seg.min_segment_size) and int(seg.min_segment_size) >= 2
    ):
        raise bad("min_segment_size", "None or an integer of at least 2")
    if not (is_int(seg.n_init) and int(seg.n_init) >= 1):
        raise bad("n_init", "a positive integer such as 3")
    if not (is_int(seg.max_iter) and int(seg.max_iter) >= 1):
        raise bad("max_iter", "a positive integer such as 300")
    tol: Any = seg.tol
    valid_tol = isinstance(tol, (int, float, np.integer, np.floating)) and not isinstance(
        tol, (bool, np.bool_)
    )
    if not (valid_tol and math.isfinite(float(tol)) and float(tol) > 0):
        raise bad("tol", "a positive number such as 1e-3")
    if seg.method == "hdbscan" and seg.n_segments != "auto":
        raise InvalidParameterError(
            f"The 'n_segments' parameter of {_OWNER} must be 'auto' with method='hdbscan', "
            f"which finds the number of segments from the density of the data (tune "
            f"min_segment_size instead). Got {seg.n_segments!r} instead."
        )
    selection = seg.selection
    if selection == "bic" and seg.method != "gmm":
        raise InvalidParameterError(
            f"The 'selection' parameter of {_OWNER} can be 'bic' only with method='gmm' "
            f"(other methods have no likelihood). Got selection='bic' with "
            f"method={seg.method!r}; use 'silhouette' or 'stability'."
        )
    if selection == "auto":
        selection = "bic" if seg.method == "gmm" else "silhouette"
    return str(selection)


def rng_of(rs: Any) -> np.random.Generator:
    """Return a NumPy generator from a ``random_state`` parameter (None, int or generator)."""
    if isinstance(rs, np.random.Generator):
        return np.random.default_rng(rs.integers(0, 2**63 - 1))
    if isinstance(rs, np.random.RandomState):
        return np.random.default_rng(rs.randint(0, 2**31 - 1))
    if rs is None or is_int(rs):
        return np.random.default_rng(None if rs is None else int(rs))
    raise InvalidParameterError(
        f"The 'random_state' parameter of {_OWNER} must be None, an integer or a NumPy "
        f"random generator. Got {rs!r} instead."
    )


def as_frame(estimator: Any, X: Any, *, reset: bool, method: str) -> pd.DataFrame:
    """Return `X` as a frame of numbers and categories; raise, naming the column, otherwise."""
    owner = f"{_OWNER}.{method}"
    if isinstance(X, pd.Series):
        raise InvalidParameterError(
            f"X passed to {owner} must be two-dimensional (a DataFrame or an array of shape "
            f"(n_samples, n_features)). Got a Series instead; use X.to_frame()."
        )
    try:
        if isinstance(X, pd.DataFrame):
            if X.shape[0] == 0 or X.shape[1] == 0:
                raise InvalidParameterError(
                    f"X passed to {owner} is empty (shape {X.shape}); give at least one row "
                    f"and one column."
                )
            validate_data(estimator, X, reset=reset, skip_check_array=True)
            frame = X.copy(deep=False)
            frame.columns = [str(c) for c in X.columns]
        else:
            array = check_array(X, dtype="numeric", ensure_all_finite=False, input_name="X")
            validate_data(estimator, array, reset=reset, skip_check_array=True)
            frame = pd.DataFrame(
                array.astype(np.float64), columns=[f"x{j}" for j in range(array.shape[1])]
            )
    except ValueError as exc:
        if isinstance(exc, B2BClientError):
            raise
        raise InvalidParameterError(f"X passed to {owner} is invalid: {exc}") from exc
    for column in frame.columns:
        dtype = frame[column].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
        if not (numeric or isinstance(dtype, pd.CategoricalDtype)):
            raise InvalidParameterError(
                f"Column {column!r} of X passed to {owner} holds {dtype} values: Segmenter "
                f"takes numbers and pandas categories. Convert it with astype('category') if "
                f"it is a category, to a number if it is one, or drop it (an id or a name)."
            )
        if numeric and np.isinf(frame[column].to_numpy(dtype=np.float64, na_value=0)).any():
            raise InvalidParameterError(
                f"Column {column!r} of X passed to {owner} holds infinite values. Replace "
                f"them by a finite cap or by NaN."
            )
    return frame


def check_training_frame(frame: pd.DataFrame, n_segments: Any) -> None:
    """Refuse a training frame too small, with an entirely missing column or nothing varying."""
    n = frame.shape[0]
    if n < 2:
        raise InvalidParameterError(
            f"X passed to {_OWNER}.fit has {n} sample; at least 2 are needed to form "
            f"segments (n_samples = 1)."
        )
    if is_int(n_segments) and int(n_segments) > n:
        raise InvalidParameterError(
            f"The 'n_segments' parameter of {_OWNER} is {n_segments}, more than the "
            f"{n} rows of X: give at most {n} segments, or more organisations."
        )
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise InvalidParameterError(
            f"X passed to {_OWNER}.fit has columns that are entirely missing: {empty[:10]}. "
            f"Drop them (X.dropna(axis=1, how='all')): they say nothing about the "
            f"organisations, and usually mean a table was absent when building the features."
        )
    varying = [c for c in frame.columns if frame[c].nunique(dropna=False) > 1]
    if not varying:
        raise InvalidParameterError(
            f"X passed to {_OWNER}.fit has only constant features ({list(frame.columns)[:10]}"
            f"): every organisation looks the same, so there is nothing to segment."
        )
