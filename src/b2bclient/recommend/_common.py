"""Checks and helpers shared by CrossSell and PartnerMatcher: ids, k, engines, top-k, sparse state."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from b2bclient._exceptions import InvalidParameterError, NotFittedError, UnknownIdError

__all__ = [
    "UnknownIdWarning",
    "check_k",
    "check_positive_int",
    "csr_from_state",
    "csr_to_state",
    "require_fitted",
    "resolve_engine",
    "resolve_ids",
    "top_k",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class UnknownIdWarning(UserWarning):
    """Some requested organisation ids were not known when the model was fitted (``unknown="skip"``)."""


def check_k(k: Any, owner: str) -> int:
    """Return `k` as an int, or raise for anything but a positive integer."""
    return check_positive_int(k, "k", owner, example="10")


def check_positive_int(value: Any, name: str, owner: str, *, example: str = "10") -> int:
    """Return `value` as an int, or raise InvalidParameterError naming `name` and `owner`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a positive integer such as {example}. "
            f"Got {value!r} instead."
        )
    return int(value)


def require_fitted(model: Any, attribute: str) -> None:
    """Raise NotFittedError unless `model` has the fitted `attribute`."""
    if not hasattr(model, attribute):
        name = type(model).__name__
        raise NotFittedError(
            f"This {name} is not fitted yet: call fit(base, as_of=...) before using it."
        )


def resolve_ids(
    organisation_ids: Any,
    known: pd.Index,
    *,
    owner: str,
    unknown: str,
    as_of: pd.Timestamp,
) -> tuple[IntArray, list[str]]:
    """Return the positions in `known` of the requested ids and the ids that are unknown.

    `organisation_ids` may be None (every known organisation), one id or an iterable of ids.
    With ``unknown="raise"`` an unknown id raises :class:`UnknownIdError` naming the first ones
    and their number; with ``"skip"`` they are left out and reported in a
    :class:`UnknownIdWarning` (the caller also records them on the result).

    Raises
    ------
    InvalidParameterError
        For an `unknown` other than ``"raise"`` or ``"skip"``, or ids that are not strings.
    UnknownIdError
        For unknown ids when ``unknown="raise"``.
    """
    if unknown not in ("raise", "skip"):
        raise InvalidParameterError(
            f"The 'unknown' parameter of {owner} must be 'raise' or 'skip'. Got {unknown!r} "
            "instead."
        )
    if organisation_ids is None:
        return np.arange(len(known), dtype=np.int64), []
    if isinstance(organisation_ids, str):
        items: list[Any] = [organisation_ids]
    elif isinstance(organisation_ids, (pd.Series, pd.Index, np.ndarray, Iterable)):
        items = list(organisation_ids)
    else:
        raise InvalidParameterError(
            f"The 'organisation_ids' parameter of {owner} must be an organisation id, a list of "
            f"them or None (every organisation). Got {type(organisation_ids).__name__} instead."
        )
    bad = [x for x in items if not isinstance(x, str)]
    if bad:
        raise InvalidParameterError(
            f"The 'organisation_ids' parameter of {owner} must hold string ids. Got "
            f"{bad[:5]!r} ({len(bad)} non-string values) instead."
        )
    ids = np.asarray(items, dtype=object)
    positions = np.asarray(known.get_indexer(ids), dtype=np.int64)
    missing = positions < 0
    if missing.any():
        unknown_ids = list(dict.fromkeys(ids[missing].tolist()))
        message = (
            f"{len(unknown_ids)} of the organisation ids passed to {owner} were not known "
            f"before {as_of} when the model was fitted: {unknown_ids[:5]}"
            + (" ..." if len(unknown_ids) > 5 else "")
            + ". Check the ids, or fit on a later as_of"
        )
        if unknown == "raise":
            raise UnknownIdError(message + "; pass unknown='skip' to leave them out.")
        warnings.warn(message + "; they are left out.", UnknownIdWarning, stacklevel=3)
        return positions[~missing], unknown_ids
    return positions, []


def resolve_engine(engine: Any, owner: str) -> tuple[str, Any]:
    """Return ``("pandas", None)`` or ``("dask", client_or_None)`` for an ``engine`` argument."""
    from b2bclient.base._engine import resolve_engine as _resolve

    return _resolve(engine, owner)


def top_k(
    scores: FloatArray, k: int, allowed: npt.NDArray[np.bool_]
) -> tuple[IntArray, FloatArray]:
    """Return per row the columns of the `k` best allowed scores, best first, and those scores.

    Ties are broken by column order, so the result is deterministic. Rows with fewer than `k`
    allowed columns are padded with column -1 and score NaN.

    Examples
    --------
    >>> s = np.array([[0.1, 0.9, 0.5], [1.0, 1.0, 0.0]])
    >>> top_k(s, 2, np.array([[True, True, True], [True, False, True]]))[0].tolist()
    [[1, 2], [0, 2]]
    """
    n, m = scores.shape
    kk = min(k, m)
    cols = np.full((n, k), -1, dtype=np.int64)
    vals = np.full((n, k), np.nan)
    if kk == 0 or n == 0:
        return cols, vals
    masked = np.where(allowed, scores, -np.inf)
    # The k-th best value of each row, then every column above it and, among the columns equal
    # to it, the first ones in column order: exact and deterministic, without a full sort.
    kth = -np.partition(-masked, kk - 1, axis=1)[:, kk - 1 : kk]
    above = masked > kth
    equal = masked == kth
    need = kk - above.sum(axis=1, keepdims=True)
    chosen = above | (equal & (np.cumsum(equal, axis=1) <= need))
    picked = np.nonzero(chosen)[1].reshape(n, kk)
    picked_vals = np.take_along_axis(masked, picked, axis=1)
    order = np.lexsort((picked, -picked_vals), axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    picked_vals = np.take_along_axis(picked_vals, order, axis=1)
    valid = np.isfinite(picked_vals)
    cols[:, :kk] = np.where(valid, picked, -1)
    vals[:, :kk] = np.where(valid, picked_vals, np.nan)
    return cols, vals


def csr_to_state(matrix: sp.csr_matrix | sp.csr_array) -> dict[str, Any]:
    """Return a CSR matrix as plain arrays that :func:`b2bclient.save` stores."""
    m = sp.csr_matrix(matrix)
    return {
        "data": np.asarray(m.data),
        "indices": np.asarray(m.indices, dtype=np.int64),
        "indptr": np.asarray(m.indptr, dtype=np.int64),
        "shape": (int(m.shape[0]), int(m.shape[1])),
    }


def csr_from_state(state: dict[str, Any]) -> sp.csr_matrix:
    """Rebuild the CSR matrix stored by :func:`csr_to_state`."""
    shape = tuple(int(x) for x in state["shape"])
    return sp.csr_matrix((state["data"], state["indices"], state["indptr"]), shape=shape)
