"""Vectorised per-organisation aggregations over integer organisation codes.

Every helper takes `codes` (the organisation of each row, as a position in the sorted organisation
index, -1 for rows to ignore) and returns one float64 value per organisation. Sums accumulate each
organisation's rows in table order, so the result for an organisation depends only on its own rows:
the pandas and the partitioned (Dask) engines agree bit for bit.
"""

from __future__ import annotations

import numpy as np

from b2bclient.features._context import DAY_NS, NAT

__all__ = [
    "count",
    "days_between",
    "group_max",
    "group_min",
    "n_distinct",
    "ratio",
    "symmetric_change",
    "total",
    "unique_inverse",
    "unique_sorted",
]

_INT_MAX = np.iinfo(np.int64).max


def _select(codes: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    keep = codes >= 0
    if mask is not None:
        keep &= mask
    return keep


def count(codes: np.ndarray, n: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Return the number of rows per organisation.

    Examples
    --------
    >>> count(np.array([0, 2, 2, -1]), 3).tolist()
    [1.0, 0.0, 2.0]
    """
    keep = _select(codes, mask)
    return np.bincount(codes[keep], minlength=n).astype(np.float64)


def total(
    codes: np.ndarray, values: np.ndarray, n: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Return the sum of `values` per organisation, skipping NaN (0.0 when none).

    Examples
    --------
    >>> total(np.array([0, 2, 2]), np.array([1.5, 2.0, np.nan]), 3).tolist()
    [1.5, 0.0, 2.0]
    """
    keep = _select(codes, mask) & ~np.isnan(values)
    return np.bincount(codes[keep], weights=values[keep], minlength=n).astype(np.float64)


def group_max(
    codes: np.ndarray, values: np.ndarray, n: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Return the maximum of `values` per organisation (NaN when none; NaN values skipped).

    Integer `values` (times in ns) give an int64 array with :data:`NAT` for organisations
    without rows.

    Examples
    --------
    >>> group_max(np.array([0, 0, 2]), np.array([1.0, 3.0, 2.0]), 3).tolist()
    [3.0, nan, 2.0]
    """
    keep = _select(codes, mask)
    if values.dtype.kind == "i":
        keep &= values != NAT
        out_i = np.full(n, NAT, dtype=np.int64)
        np.maximum.at(out_i, codes[keep], values[keep])
        return out_i
    keep &= ~np.isnan(values)
    out = np.full(n, -np.inf)
    np.maximum.at(out, codes[keep], values[keep])
    seen = np.bincount(codes[keep], minlength=n) > 0
    out[~seen] = np.nan
    return out


def group_min(
    codes: np.ndarray, values: np.ndarray, n: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Return the minimum of `values` per organisation (NaN, or NaT for times, when none).

    Examples
    --------
    >>> group_min(np.array([0, 0, 2]), np.array([1.0, 3.0, 2.0]), 3).tolist()
    [1.0, nan, 2.0]
    """
    keep = _select(codes, mask)
    if values.dtype.kind == "i":
        keep &= values != NAT
        out_i = np.full(n, _INT_MAX, dtype=np.int64)
        np.minimum.at(out_i, codes[keep], values[keep])
        out_i[out_i == _INT_MAX] = NAT
        return out_i
    keep &= ~np.isnan(values)
    out = np.full(n, np.inf)
    np.minimum.at(out, codes[keep], values[keep])
    seen = np.bincount(codes[keep], minlength=n) > 0
    out[~seen] = np.nan
    return out


def n_distinct(
    codes: np.ndarray, keys: np.ndarray, n: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """Return the number of distinct non-negative `keys` per organisation.

    Examples
    --------
    >>> n_distinct(np.array([0, 0, 0, 1]), np.array([5, 5, 7, -1]), 2).tolist()
    [2.0, 0.0]
    """
    keep = _select(codes, mask) & (keys >= 0)
    c = codes[keep].astype(np.int64)
    k = keys[keep].astype(np.int64)
    if not len(c):
        return np.zeros(n)
    width = int(k.max()) + 1
    pairs = unique_sorted(c * width + k)
    return np.bincount(pairs // width, minlength=n).astype(np.float64)


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """Return the sorted distinct values of an integer array.

    Sorting and comparing neighbours is several times faster than :func:`numpy.unique` on
    millions of int64 keys.

    Examples
    --------
    >>> unique_sorted(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    s = np.sort(values)
    if not len(s):
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted distinct values of an integer array and each element's position in them.

    Examples
    --------
    >>> keys, inverse = unique_inverse(np.array([30, 10, 30]))
    >>> keys.tolist(), inverse.tolist()
    ([10, 30], [1, 0, 1])
    """
    order = np.argsort(values)
    s = values[order]
    if not len(s):
        return s, np.empty(0, dtype=np.intp)
    start = np.empty(len(s), dtype=bool)
    start[0] = True
    np.not_equal(s[1:], s[:-1], out=start[1:])
    inverse = np.empty(len(s), dtype=np.intp)
    inverse[order] = np.cumsum(start) - 1
    return s[start], inverse


def ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    """Return `numerator` / `denominator`, with `empty` where the denominator is not positive.

    Examples
    --------
    >>> ratio(np.array([1.0, 0.0]), np.array([4.0, 0.0]), 0.0).tolist()
    [0.25, 0.0]
    """
    out = np.full(len(numerator), empty, dtype=np.float64)
    ok = denominator > 0
    out[ok] = numerator[ok] / denominator[ok]
    return out


def symmetric_change(last: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Return (last - previous) / (last + previous) in [-1, 1], 0.0 when both are zero.

    Examples
    --------
    >>> symmetric_change(np.array([3.0, 0.0, 0.0]), np.array([1.0, 2.0, 0.0])).tolist()
    [0.5, -1.0, 0.0]
    """
    return ratio(last - previous, last + previous, 0.0)


def days_between(later: np.ndarray | int, earlier: np.ndarray | int) -> np.ndarray:
    """Return (later - earlier) in days for int64 ns times, NaN where either is NaT.

    Examples
    --------
    >>> days_between(np.array([2 * 86_400 * 10**9, NAT]), 0).tolist()
    [2.0, nan]
    """
    later_a = np.asarray(later, dtype=np.int64)
    earlier_a = np.asarray(earlier, dtype=np.int64)
    later_b, earlier_b = np.broadcast_arrays(later_a, earlier_a)
    bad = (later_b == NAT) | (earlier_b == NAT)
    out = (later_b - np.where(bad, 0, earlier_b)).astype(np.float64) / DAY_NS
    out[bad] = np.nan
    return np.asarray(out, dtype=np.float64)
