"""What a feature column is, and the numbers the preprocessor learns from it.

:class:`~b2bclient.features.FeaturePreprocessor` treats every column of a feature frame by its
*kind*. This module decides the kind of one column (from the roll-up rule its extractor declares,
its dtype and the shape of its values) and computes what fit learns per column: the numeric values
with a clear error for anything else, the imputation value, the levels of a category and the
centre and scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import InvalidParameterError

__all__ = [
    "KINDS",
    "as_numeric",
    "declared_rollups",
    "fill_value",
    "infer_kind",
    "is_categorical",
    "levels_of",
    "scale_of",
    "signed_log1p",
    "skewness",
]

#: What the preprocessor does to a column, as reported in ``kinds_`` and accepted by ``kinds=``.
KINDS = ("log", "linear", "binary", "categorical", "drop")

Floats = npt.NDArray[np.float64]


def signed_log1p(values: Any) -> Floats:
    """Return ``sign(x) * log1p(|x|)``: a log for counts and money that keeps 0 and the sign.

    Examples
    --------
    >>> signed_log1p([0.0, 9.0, -9.0]).round(3).tolist()
    [0.0, 2.303, -2.303]
    """
    x = np.asarray(values, dtype=np.float64)
    return np.asarray(np.sign(x) * np.log1p(np.abs(x)), dtype=np.float64)


def is_categorical(dtype: Any) -> bool:
    """Return whether a column of `dtype` is a category (``category``, ``object``, ``string``)."""
    return bool(
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def declared_rollups(extractors: Any, *, owner: str) -> dict[str, str]:
    """Return the roll-up rule every column of `extractors` declares (``{}`` when unavailable)."""
    from b2bclient.features._build import resolve_extractors

    rules: dict[str, str] = {}
    for e in resolve_extractors(extractors, owner=owner):
        rules.update(e.tags().rollup)
    return rules


def skewness(x: Floats) -> float:
    """Return the (biased) sample skewness of `x`; 0 for fewer than 3 values or no spread."""
    if x.size < 3:
        return 0.0
    centred = x - x.mean()
    sd = math.sqrt(float(np.mean(centred**2)))
    if sd == 0.0:
        return 0.0
    return float(np.mean(centred**3) / sd**3)


def infer_kind(
    s: pd.Series, column: str, rollups: Mapping[str, str], *, skew_threshold: float, owner: str
) -> str:
    """Return the kind of column `s`: categorical, binary, log (heavy-tailed) or linear.

    Examples
    --------
    >>> infer_kind(pd.Series([0.0, 1.0, 2.0, 50.0, 900.0]), "x", {}, skew_threshold=1.0, owner="f")
    'log'
    >>> infer_kind(pd.Series([0.1, 0.4, 0.3]), "share", {}, skew_threshold=1.0, owner="f")
    'linear'
    """
    if is_categorical(s.dtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(s.dtype):
        return "binary"
    x = as_numeric(s, column, owner)
    finite = x[np.isfinite(x)]
    if finite.size and np.isin(finite, (0.0, 1.0)).all():
        return "binary"
    if rollups.get(column) == "sum":
        return "log"
    unbounded = finite.size and (finite.min() < -1.0 or finite.max() > 1.0)
    if unbounded and abs(skewness(finite)) > float(skew_threshold):
        return "log"
    return "linear"


def scale_of(z: Floats, how: str | None) -> tuple[float, float]:
    """Return the centre and scale of `z`: mean and sd, median and IQR (``"robust"``) or none.

    A zero spread gives a scale of 1 (the robust scale falls back on the sd first).
    """
    if how is None:
        return 0.0, 1.0
    if how == "robust":
        q1, med, q3 = np.percentile(z, [25.0, 50.0, 75.0])
        spread = float(q3 - q1)
        if spread <= 0.0:
            spread = float(np.std(z))
        return float(med), spread if spread > 0.0 else 1.0
    sd = float(np.std(z))
    return float(np.mean(z)), sd if sd > 0.0 else 1.0


def levels_of(s: pd.Series) -> list[Any]:
    """Return the levels of `s` present in it, in category order (else sorted)."""
    present = pd.unique(s.dropna())
    if isinstance(s.dtype, pd.CategoricalDtype):
        order = [c for c in s.dtype.categories if c in set(present)]
        return [c.item() if isinstance(c, np.generic) else c for c in order]
    try:
        ordered = sorted(present)
    except TypeError:
        ordered = sorted(present, key=str)
    return [c.item() if isinstance(c, np.generic) else c for c in ordered]


def as_numeric(s: pd.Series, column: str, owner: str) -> Floats:
    """Return `s` as float64 with NaN for missing; raise, naming `column`, for anything else."""
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return np.asarray(s.astype(np.float64).to_numpy(), dtype=np.float64)
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise InvalidParameterError(
            f"Column {column!r} of X passed to {owner} holds {dtype} values, which are neither "
            f"numbers nor categories. Convert it to a number first, for example days since an "
            f"event."
        )
    if is_categorical(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        raise InvalidParameterError(
            f"Column {column!r} of X passed to {owner} holds {dtype} values, which are neither "
            f"numbers nor categories. Convert it with astype('float64') or astype('category')."
        )
    if pd.api.types.is_complex_dtype(dtype):
        raise InvalidParameterError(
            f"Column {column!r} of X passed to {owner} holds complex numbers; give real numbers."
        )
    x = np.asarray(s.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    if np.isinf(x).any():
        raise InvalidParameterError(
            f"Column {column!r} of X passed to {owner} holds {int(np.isinf(x).sum())} infinite "
            f"values. Replace them by a finite cap or by NaN (then they are imputed)."
        )
    return x


def fill_value(finite: Floats, how: str) -> float:
    """Return the value imputed for missing entries: median, mean or zero of `finite`."""
    if how == "median":
        return float(np.median(finite))
    if how == "mean":
        return float(np.mean(finite))
    return 0.0
