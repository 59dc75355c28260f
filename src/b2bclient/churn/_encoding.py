"""Turn the user's ``X`` (DataFrame or array) into the float design matrix of the survival models.

Numeric columns pass through as float64. Non-numeric columns (``category``, ``object``, ``string``,
``bool``) are one-hot encoded with the first level as the reference, so a Cox model without an
intercept stays identifiable and each coefficient reads "this level versus the reference". The
encoding is learnt in ``fit`` and replayed in ``predict``; its state is plain lists and dicts so it
can be saved without pickle.

With ``native=True`` (the ``"hgb"`` kind, whose trees handle both natively) missing values stay
NaN and each categorical column becomes one column of level codes ``0 .. k-1`` instead of
``k - 1`` indicator columns; infinite values are refused either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.utils import check_array

from b2bclient._exceptions import InvalidParameterError

__all__ = ["Encoding", "encode", "fit_encoding"]

FloatMatrix = npt.NDArray[np.float64]

#: Learnt encoding: input column names, the levels of each categorical column (reference first)
#: and the names of the encoded columns.
Encoding = tuple[list[str], dict[str, list[str]], list[str]]

_IMPUTE_ADVICE = (
    "Impute them first, for example with make_pipeline(SimpleImputer(), ChurnModel()) for numeric "
    "columns, drop the rows, or use ChurnModel(kind='hgb', horizon=...), which handles missing "
    "values natively."
)


def _is_categorical(s: pd.Series) -> bool:
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dt):
        return True
    return bool(pd.api.types.is_object_dtype(dt) or pd.api.types.is_string_dtype(dt))


def _check_missing(frame: pd.DataFrame, owner: str) -> None:
    na = frame.isna().sum()
    bad = na[na > 0]
    if len(bad):
        cols = ", ".join(f"{c!r} ({int(n)} rows)" for c, n in bad.items())
        raise InvalidParameterError(
            f"X passed to {owner} contains missing values (NaN) in the columns {cols}. "
            f"{_IMPUTE_ADVICE}"
        )


def _check_finite(
    z: FloatMatrix, names: Sequence[str], owner: str, *, allow_nan: bool = False
) -> None:
    finite = np.isfinite(z)
    if finite.all() or (allow_nan and not np.isinf(z).any()):
        return
    nan_cols = [] if allow_nan else [names[int(j)] for j in np.flatnonzero(np.isnan(z).any(axis=0))]
    inf_cols = [names[int(j)] for j in np.flatnonzero(np.isinf(z).any(axis=0))]
    parts = []
    if nan_cols:
        parts.append(f"missing values (NaN) in the columns {nan_cols[:10]}")
    if inf_cols:
        parts.append(f"infinite values (inf) in the columns {inf_cols[:10]}")
    advice = "" if allow_nan else f" {_IMPUTE_ADVICE}"
    raise InvalidParameterError(
        f"X passed to {owner} contains {' and '.join(parts)}.{advice} Replace infinite values by "
        f"a finite cap."
    )


def _numeric_column(s: pd.Series, name: str, owner: str) -> npt.NDArray[np.float64]:
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or pd.api.types.is_timedelta64_dtype(s.dtype):
        raise InvalidParameterError(
            f"Column {name!r} of X passed to {owner} holds {s.dtype} values. Convert it to a "
            f"number first, for example days since an event: (as_of - X[{name!r}]).dt.days."
        )
    if pd.api.types.is_complex_dtype(s.dtype):
        raise InvalidParameterError(
            f"Column {name!r} of X passed to {owner} holds complex numbers; give real numbers."
        )
    return np.asarray(s.to_numpy(dtype=np.float64, na_value=np.nan))


def _levels(s: pd.Series) -> list[str]:
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique().tolist())
        return [str(c) for c in s.cat.categories if c in present]
    values = {str(v) for v in s.dropna().unique().tolist()}
    return sorted(values)


def fit_encoding(X: Any, *, owner: str, native: bool = False) -> tuple[FloatMatrix, Encoding]:
    """Learn the encoding of `X` and return the design matrix with it (see the module notes)."""
    if isinstance(X, pd.DataFrame):
        columns = [str(c) for c in X.columns]
        if len(set(columns)) != len(columns):
            dup = sorted({c for c in columns if columns.count(c) > 1})
            raise InvalidParameterError(
                f"X passed to {owner} has duplicated column names {dup}; give each column a "
                f"unique name."
            )
        if X.shape[0] == 0:
            raise InvalidParameterError(
                f"X passed to {owner} has 0 samples; a model needs at least 2 samples to fit."
            )
        if not native:
            _check_missing(X, owner)
        categories: dict[str, list[str]] = {}
        for name, col in zip(columns, X.columns, strict=True):
            if _is_categorical(X[col]):
                categories[name] = _levels(X[col])
        out: list[str] = []
        for name in columns:
            if name in categories and not native:
                out.extend(f"{name}_{level}" for level in categories[name][1:])
            else:
                out.append(name)
        if len(set(out)) != len(out):
            dup = sorted({c for c in out if out.count(c) > 1})
            raise InvalidParameterError(
                f"One-hot encoding the categorical columns of X passed to {owner} produces "
                f"names that clash with other columns: {dup}. Rename those columns."
            )
        enc: Encoding = (columns, categories, out)
        return encode(X, enc, owner=owner, native=native), enc
    z = _array(X, owner)
    columns = [f"x{j}" for j in range(z.shape[1])]
    _check_finite(z, columns, owner, allow_nan=native)
    return z, (columns, {}, list(columns))


def _array(X: Any, owner: str) -> FloatMatrix:
    z = check_array(
        X, dtype=np.float64, ensure_all_finite=False, accept_sparse=False, input_name="X"
    )
    return np.asarray(z, dtype=np.float64)


def encode(X: Any, enc: Encoding, *, owner: str, native: bool = False) -> FloatMatrix:
    """Apply a learnt encoding to `X`, column by column in the fitted order."""
    columns, categories, out = enc
    if not isinstance(X, pd.DataFrame):
        if categories:
            raise InvalidParameterError(
                f"{owner} was fitted on a DataFrame with the categorical columns "
                f"{list(categories)}; pass a DataFrame with the same columns, not an array."
            )
        z = _array(X, owner)
        if z.shape[1] != len(columns):
            raise InvalidParameterError(
                f"X passed to {owner} has {z.shape[1]} features, but the model was fitted with "
                f"{len(columns)} features. Pass the same columns as in fit."
            )
        _check_finite(z, columns, owner, allow_nan=native)
        return z
    if X.shape[1] != len(columns):
        raise InvalidParameterError(
            f"X passed to {owner} has {X.shape[1]} columns, but the model was fitted with "
            f"{len(columns)} columns {columns[:10]}. Pass the same columns as in fit."
        )
    if not native:
        _check_missing(X, owner)
    n = X.shape[0]
    z = np.empty((n, len(out)), dtype=np.float64)
    j = 0
    for name, col in zip(columns, X.columns, strict=True):
        s = X[col]
        if name in categories:
            levels = categories[name]
            values = s.astype(str).to_numpy() if not _is_str_object(s) else s.to_numpy()
            missing = s.isna().to_numpy()
            codes = pd.Categorical(values, categories=levels).codes
            unknown = (codes < 0) & ~missing
            if unknown.any():
                seen = sorted({str(v) for v in values[unknown]})[:10]
                raise InvalidParameterError(
                    f"Column {name!r} of X passed to {owner} holds levels not seen in fit: "
                    f"{seen}. Known levels are {levels[:20]}; map the new levels to a known one "
                    f"or refit on data that includes them."
                )
            if native:
                z[:, j] = np.where(missing, np.nan, codes.astype(np.float64))
                j += 1
                continue
            k = len(levels) - 1
            block = np.zeros((n, k), dtype=np.float64)
            rows = np.flatnonzero(codes > 0)
            block[rows, codes[rows] - 1] = 1.0
            z[:, j : j + k] = block
            j += k
        else:
            if _is_categorical(s):
                raise InvalidParameterError(
                    f"Column {name!r} of X passed to {owner} was numeric in fit but holds "
                    f"{s.dtype} values now. Pass the same column types as in fit."
                )
            z[:, j] = _numeric_column(s, name, owner)
            j += 1
    _check_finite(z, out, owner, allow_nan=native)
    return z


def _is_str_object(s: pd.Series) -> bool:
    return bool(pd.api.types.is_object_dtype(s.dtype)) and bool(
        pd.api.types.infer_dtype(s, skipna=True) == "string"
    )
