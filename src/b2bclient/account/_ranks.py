"""Percentiles against a stored reference: the reduce step behind peer percentiles and health."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["GRID_SIZE", "ORGANISATION_EXTRACTORS", "percentile_of", "reference_grid"]

#: Order statistics kept per reference: percentiles resolve to 0.1 points.
GRID_SIZE = 1001

Floats = npt.NDArray[np.float64]


#: The built-in extractors of scope "organisation": they read only an organisation's own rows
#: (and its holding's), so portraits compute them per batch of holdings.
ORGANISATION_EXTRACTORS = (
    "firmographics",
    "purchasing",
    "pipeline",
    "product_mix",
    "services",
    "projects",
    "engagement",
    "contracts",
)


def reference_grid(values: Any, size: int = GRID_SIZE) -> Floats:
    """Return at most `size` evenly spaced order statistics of the finite `values`.

    Examples
    --------
    >>> reference_grid([3.0, np.nan, 1.0, 2.0]).tolist()
    [1.0, 2.0, 3.0]
    """
    x = np.asarray(values, dtype=np.float64)
    x = np.sort(x[np.isfinite(x)])
    if x.size <= size:
        return x
    positions = np.round(np.linspace(0, x.size - 1, size)).astype(np.intp)
    return np.asarray(x[positions], dtype=np.float64)


def percentile_of(grid: Floats, values: Any) -> Floats:
    """Return the mid-rank percentile (0–100) of each value in `grid`; NaN where missing.

    A value equal to a quarter of the reference gets the middle of that quarter, so a binary
    feature held by 30% reads 85 when held and 35 when not.

    Examples
    --------
    >>> percentile_of(np.array([0.0, 0.0, 1.0, 2.0]), [0.0, 1.0, 5.0, np.nan]).tolist()
    [25.0, 62.5, 100.0, nan]
    """
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if grid.size == 0:
        return out
    finite = np.isfinite(x)
    left = np.searchsorted(grid, x[finite], side="left")
    right = np.searchsorted(grid, x[finite], side="right")
    out[finite] = 100.0 * (left + right) / (2.0 * grid.size)
    return out
