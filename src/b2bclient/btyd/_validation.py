"""Checks on RFM summaries and model parameters, shared by every buy-till-you-die model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from b2bclient._exceptions import InvalidParameterError, NotFittedError

__all__ = [
    "DiscreteArrays",
    "FloatArray",
    "RFMArrays",
    "as_float",
    "check_fitted",
    "check_penalizer",
    "covariate_matrix",
    "discrete_arrays",
    "labels",
    "monetary_array",
    "rfm_arrays",
    "summary_columns",
    "time_array",
    "weight_array",
]

FloatArray = npt.NDArray[np.float64]

_RFM_COLUMNS = ("frequency", "recency", "T")
_MAX_SHOWN = 5


class RFMArrays:
    """The validated ``frequency``, ``recency`` and ``T`` of a summary, as float arrays."""

    __slots__ = ("T", "frequency", "index", "recency")

    def __init__(
        self, frequency: FloatArray, recency: FloatArray, T: FloatArray, index: pd.Index | None
    ) -> None:
        self.frequency = frequency
        self.recency = recency
        self.T = T
        self.index = index

    def __len__(self) -> int:
        return int(self.frequency.shape[0])


def labels(index: pd.Index | None, mask: npt.NDArray[np.bool_]) -> str:
    positions = np.flatnonzero(mask)
    shown = positions[:_MAX_SHOWN]
    shown_labels = list(index[shown]) if index is not None else [int(p) for p in shown]
    more = f" and {positions.size - shown.size} more" if positions.size > shown.size else ""
    where = "index" if index is not None else "position"
    return f"{positions.size} row(s) at {where} {shown_labels}{more}"


def _not_numbers(values: Any) -> str:
    """Describe the first values that are not numbers, with their index labels or positions."""
    labels = list(values.index) if isinstance(values, pd.Series) else None
    bad = []
    for i, value in enumerate(np.asarray(values, dtype=object).ravel()):
        try:
            float(value)
        except (TypeError, ValueError):
            bad.append((labels[i] if labels is not None else i, value))
            if len(bad) == _MAX_SHOWN:
                break
    where = "index" if labels is not None else "position"
    return ", ".join(f"{value!r} at {where} {label!r}" for label, value in bad) or "values"


def as_float(values: Any, name: str, owner: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {name!r} values given to {owner} must be numbers. Got {_not_numbers(values)}, "
            "which cannot be converted to float."
        ) from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InvalidParameterError(
            f"The {name!r} values given to {owner} must be one-dimensional. Got an array of shape "
            f"{arr.shape} instead."
        )
    return arr


def summary_columns(
    summary: pd.DataFrame | None, arrays: dict[str, Any], *, owner: str
) -> tuple[dict[str, FloatArray], pd.Index | None]:
    """Return the columns named in `arrays` as float arrays, read from `summary` or given.

    `arrays` maps each column name to the values passed instead of a summary (None if not
    passed); either the summary or every array must be given, not both. The index is the
    summary's, or None for arrays.
    """
    names = list(arrays)
    listed = ", ".join(f"{n}=" for n in names)
    if summary is not None:
        if any(values is not None for values in arrays.values()):
            raise InvalidParameterError(
                f"{owner} takes either a summary frame or the arrays {listed}, not both. Pass "
                f"only one of them."
            )
        if not isinstance(summary, pd.DataFrame):
            raise InvalidParameterError(
                f"The summary given to {owner} must be a pandas DataFrame with columns {names} "
                f"(see b2bclient.btyd.rfm_summary). Got {type(summary).__name__} instead."
            )
        missing = [c for c in names if c not in summary.columns]
        builder = "discrete_summary" if "n_periods" in names else "rfm_summary"
        if missing:
            raise InvalidParameterError(
                f"The summary given to {owner} lacks the column(s) {missing}; it needs {names}. "
                f"Build it with b2bclient.btyd.{builder} or rename your columns. Got columns "
                f"{list(summary.columns)}."
            )
        return {c: as_float(summary[c], c, owner) for c in names}, summary.index
    if any(values is None for values in arrays.values()):
        raise InvalidParameterError(f"{owner} needs a summary frame, or the arrays {listed}.")
    return {c: as_float(values, c, owner) for c, values in arrays.items()}, None


def rfm_arrays(
    summary: pd.DataFrame | None,
    *,
    frequency: Any = None,
    recency: Any = None,
    T: Any = None,
    owner: str,
) -> RFMArrays:
    """Validate an RFM summary given as a frame or as three arrays, and return float arrays.

    Raises
    ------
    InvalidParameterError
        When columns are missing, values are missing or negative, a frequency is not a whole
        number, ``recency > T``, or ``recency`` is inconsistent with ``frequency``.
    """
    columns, index = summary_columns(
        summary, {"frequency": frequency, "recency": recency, "T": T}, owner=owner
    )
    x, tx, t_obs = (columns[c] for c in _RFM_COLUMNS)
    if not (x.shape == tx.shape == t_obs.shape):
        raise InvalidParameterError(
            f"frequency, recency and T given to {owner} must have the same length. Got "
            f"{x.shape[0]}, {tx.shape[0]} and {t_obs.shape[0]}."
        )
    for name, arr in (("frequency", x), ("recency", tx), ("T", t_obs)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InvalidParameterError(
                f"The {name!r} values given to {owner} must be finite numbers; "
                f"{labels(index, bad)} are missing or infinite. Drop or fill those rows."
            )
        bad = arr < 0
        if bad.any():
            raise InvalidParameterError(
                f"The {name!r} values given to {owner} must be non-negative; "
                f"{labels(index, bad)} are negative. Check how the summary was built."
            )
    bad = x != np.round(x)
    if bad.any():
        raise InvalidParameterError(
            f"The 'frequency' values given to {owner} must be whole numbers of repeat "
            f"purchases; {labels(index, bad)} are fractional. Count repeat purchase periods, "
            f"as rfm_summary does."
        )
    bad = tx > t_obs
    if bad.any():
        raise InvalidParameterError(
            f"The 'recency' given to {owner} cannot exceed 'T' (the last purchase happens before "
            f"the end of observation); {labels(index, bad)} have recency > T. Check that both "
            f"are measured from the first purchase, in the same unit."
        )
    bad = (x > 0) & (tx == 0)
    if bad.any():
        raise InvalidParameterError(
            f"A customer with repeat purchases (frequency > 0) must have recency > 0 in {owner}: "
            f"a repeat purchase comes after the first one. {labels(index, bad)} have "
            f"frequency > 0 and recency 0. Count repeats in distinct periods after the first, as "
            f"rfm_summary does."
        )
    bad = (x == 0) & (tx > 0)
    if bad.any():
        raise InvalidParameterError(
            f"A customer without repeat purchases (frequency 0) must have recency 0 in {owner}; "
            f"{labels(index, bad)} have frequency 0 and recency > 0. Recency is the time from "
            f"the first to the last purchase."
        )
    return RFMArrays(x, tx, t_obs, index)


class DiscreteArrays:
    """The validated ``frequency``, ``recency`` and ``n_periods`` of a discrete-time summary."""

    __slots__ = ("frequency", "index", "n_periods", "recency")

    def __init__(
        self,
        frequency: FloatArray,
        recency: FloatArray,
        n_periods: FloatArray,
        index: pd.Index | None,
    ) -> None:
        self.frequency = frequency
        self.recency = recency
        self.n_periods = n_periods
        self.index = index

    def __len__(self) -> int:
        return int(self.frequency.shape[0])


def discrete_arrays(
    summary: pd.DataFrame | None,
    *,
    frequency: Any = None,
    recency: Any = None,
    n_periods: Any = None,
    owner: str,
) -> DiscreteArrays:
    """Validate a discrete-time summary (frame or arrays) and return float arrays.

    ``frequency`` counts the opportunities with a purchase after the first purchase, ``recency``
    is the opportunity of the last one (0 without) and ``n_periods`` the number of opportunities
    observed; all whole numbers with ``frequency <= recency <= n_periods``.

    Raises
    ------
    InvalidParameterError
        Naming the first offending rows and the remedy.
    """
    columns, index = summary_columns(
        summary, {"frequency": frequency, "recency": recency, "n_periods": n_periods}, owner=owner
    )
    x, tx, n = (columns[c] for c in ("frequency", "recency", "n_periods"))
    if not (x.shape == tx.shape == n.shape):
        raise InvalidParameterError(
            f"frequency, recency and n_periods given to {owner} must have the same length. Got "
            f"{x.shape[0]}, {tx.shape[0]} and {n.shape[0]}."
        )
    for name, arr in (("frequency", x), ("recency", tx), ("n_periods", n)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InvalidParameterError(
                f"The {name!r} values given to {owner} must be finite numbers; "
                f"{labels(index, bad)} are missing or infinite. Drop or fill those rows."
            )
        bad = (arr < 0) | (arr != np.round(arr))
        if bad.any():
            raise InvalidParameterError(
                f"The {name!r} values given to {owner} must be whole numbers of purchase "
                f"opportunities (0, 1, 2, ...); {labels(index, bad)} are negative or fractional. "
                f"Count opportunities (periods), as discrete_summary does, not times."
            )
    for name, arr in (("frequency", x), ("recency", tx)):
        bad = arr > n
        if bad.any():
            raise InvalidParameterError(
                f"The {name!r} given to {owner} cannot exceed 'n_periods' (a customer cannot buy "
                f"at more opportunities, or later, than were observed); {labels(index, bad)} "
                f"have {name} > n_periods. Check that all three count the opportunities after "
                f"the first purchase."
            )
    bad = x > tx
    if bad.any():
        raise InvalidParameterError(
            f"The 'frequency' given to {owner} cannot exceed 'recency' (x purchases at distinct "
            f"opportunities end at opportunity x or later); {labels(index, bad)} have frequency "
            f"> recency. Recency is the opportunity of the last purchase, counted from 1."
        )
    bad = (x == 0) & (tx > 0)
    if bad.any():
        raise InvalidParameterError(
            f"A customer without repeat purchases (frequency 0) must have recency 0 in {owner}; "
            f"{labels(index, bad)} have frequency 0 and recency > 0."
        )
    return DiscreteArrays(x, tx, n, index)


def weight_array(
    weights: Any, summary: pd.DataFrame | None, n_rows: int, *, owner: str
) -> FloatArray:
    """Return the number of customers each summary row stands for (default 1 per row).

    `weights` is a column name of `summary`, a Series aligned on its index, or an array.
    """
    if weights is None:
        return np.ones(n_rows)
    if isinstance(weights, str):
        if summary is None or weights not in summary.columns:
            raise InvalidParameterError(
                f"The weights column {weights!r} given to {owner} is not in the summary. Got "
                f"columns {[] if summary is None else list(summary.columns)}."
            )
        weights = summary[weights]
    if isinstance(weights, pd.Series) and summary is not None:
        missing = summary.index.difference(weights.index)
        if len(missing):
            raise InvalidParameterError(
                f"The weights given to {owner} lack rows for {len(missing)} summary row(s), e.g. "
                f"{list(missing[:_MAX_SHOWN])}. Give one weight per row, aligned on the index."
            )
        weights = weights.reindex(summary.index)
    w = as_float(np.asarray(weights), "weights", owner)
    if w.shape[0] != n_rows:
        raise InvalidParameterError(
            f"The weights given to {owner} must have one value per summary row. Got "
            f"{w.shape[0]} values for {n_rows} rows."
        )
    index = summary.index if summary is not None else None
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise InvalidParameterError(
            f"The weights given to {owner} must be finite numbers >= 0 (the number of customers "
            f"each row stands for); {labels(index, bad)} are not."
        )
    if not np.any(w > 0):
        raise InvalidParameterError(f"The weights given to {owner} are all 0: nothing to fit.")
    return w


def monetary_array(
    summary: pd.DataFrame | None,
    monetary_value: Any,
    frequency: FloatArray,
    index: pd.Index | None,
    *,
    owner: str,
) -> FloatArray:
    """Validate ``monetary_value`` (a column of `summary` or an array): finite and > 0 for repeaters."""
    if monetary_value is None:
        if summary is None or "monetary_value" not in summary.columns:
            raise InvalidParameterError(
                f"{owner} needs the average value of repeat purchases: a 'monetary_value' column "
                f"in the summary (rfm_summary(..., monetary=True) adds it) or monetary_value=."
            )
        monetary_value = summary["monetary_value"].to_numpy()
    m = as_float(monetary_value, "monetary_value", owner)
    if m.shape != frequency.shape:
        raise InvalidParameterError(
            f"monetary_value given to {owner} must have one value per customer. Got {m.shape[0]} "
            f"values for {frequency.shape[0]} customers."
        )
    repeat = frequency > 0
    bad = repeat & ~(np.isfinite(m) & (m > 0))
    if bad.any():
        raise InvalidParameterError(
            f"The 'monetary_value' given to {owner} must be a positive finite average for every "
            f"customer with repeat purchases; {labels(index, bad)} have a value <= 0 or "
            f"missing. The Gamma-Gamma model describes positive spend: drop refunds and "
            f"zero-value orders, or those customers."
        )
    return m


def time_array(t: Any, *, owner: str, name: str = "t") -> FloatArray:
    """Validate prediction horizons: numbers, finite and non-negative."""
    message = (
        f"The {name!r} parameter of {owner} must be a non-negative number of periods (in the "
        f"unit of the summary). Got {t!r} instead."
    )
    try:
        arr = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(message) from exc
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InvalidParameterError(message)
    return arr


def check_penalizer(penalizer: Any, owner: str) -> float:
    """Return `penalizer` as a float after checking it is a finite number >= 0."""
    if (
        isinstance(penalizer, bool)
        or not isinstance(penalizer, (int, float, np.integer, np.floating))
        or not np.isfinite(penalizer)
        or penalizer < 0
    ):
        raise InvalidParameterError(
            f"The 'penalizer' parameter of {owner} must be a number >= 0 such as 0.001. Got "
            f"{penalizer!r} instead."
        )
    return float(penalizer)


def check_fitted(model: Any) -> None:
    """Raise NotFittedError unless `model` has been fitted."""
    if not hasattr(model, "params_"):
        raise NotFittedError(
            f"This {type(model).__name__} is not fitted yet. Call fit(summary) before using it."
        )


def covariate_matrix(
    covariates: Any,
    summary: pd.DataFrame | None,
    n_rows: int,
    names: Sequence[str] | None,
    *,
    owner: str,
) -> tuple[FloatArray, list[str]]:
    """Return the covariate matrix (rows aligned with the summary) and the covariate names.

    `covariates` is a list of column names of `summary`, a DataFrame aligned on the summary's
    index, an array of shape (n_rows, k), or None (then `names` are read from `summary`).
    """
    if covariates is None:
        if names is None:
            raise InvalidParameterError(f"{owner} needs covariates.")
        covariates = list(names)
    if isinstance(covariates, str):
        covariates = [covariates]
    if isinstance(covariates, (list, tuple)) and all(isinstance(c, str) for c in covariates):
        if summary is None:
            raise InvalidParameterError(
                f"Covariate names {list(covariates)} given to {owner} refer to summary columns, "
                f"but no summary frame was given. Pass a summary or a covariate frame."
            )
        missing = [c for c in covariates if c not in summary.columns]
        if missing:
            raise InvalidParameterError(
                f"The covariate column(s) {missing} are not in the summary given to {owner}. "
                f"Join them to the summary (summary.join(X)) or pass covariates=X. Got columns "
                f"{list(summary.columns)}."
            )
        frame = summary[list(covariates)]
    elif isinstance(covariates, pd.DataFrame):
        frame = covariates
        if summary is not None:
            missing_rows = summary.index.difference(frame.index)
            if len(missing_rows):
                raise InvalidParameterError(
                    f"The covariates given to {owner} lack rows for {len(missing_rows)} "
                    f"customer(s) of the summary, e.g. {list(missing_rows[:_MAX_SHOWN])}. Give "
                    f"covariates for every customer (index aligned with the summary)."
                )
            frame = frame.loc[summary.index]
        elif len(frame) != n_rows:
            raise InvalidParameterError(
                f"The covariates given to {owner} have {len(frame)} rows for {n_rows} customers."
            )
    else:
        arr = np.asarray(covariates, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[0] != n_rows:
            raise InvalidParameterError(
                f"The covariates given to {owner} must be column names, a DataFrame or an array "
                f"of shape ({n_rows}, k). Got shape {arr.shape}."
            )
        col_names = list(names) if names is not None else [f"x{i}" for i in range(arr.shape[1])]
        frame = pd.DataFrame(arr, columns=col_names)
    col_names = [str(c) for c in frame.columns]
    if names is not None and col_names != list(names):
        raise InvalidParameterError(
            f"The covariates given to {owner} must be the columns the model was fitted with, "
            f"{list(names)}, in that order. Got {col_names}."
        )
    try:
        matrix = frame.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The covariates given to {owner} must be numeric; encode categories as 0/1 "
            f"columns first. Got dtypes {dict(frame.dtypes.astype(str))}."
        ) from exc
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        idx = frame.index if isinstance(frame.index, pd.Index) else None
        raise InvalidParameterError(
            f"The covariates given to {owner} must be finite; {labels(idx, bad)} have missing "
            f"or infinite values. Impute or drop them."
        )
    return matrix, col_names
