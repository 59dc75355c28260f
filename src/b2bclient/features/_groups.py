"""Account hierarchy: the top parent (holding) and depth of every known organisation."""

from __future__ import annotations

import numpy as np

from b2bclient._exceptions import InvalidTablesError
from b2bclient.features._context import FeatureTables

__all__ = ["hierarchy"]


def _compute(ctx: FeatureTables) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = ctx.n_orgs
    codes = ctx.codes("organisations")
    parent_rows = ctx.codes("organisations", "parent_id")
    parent = np.full(n, -1, dtype=np.intp)
    parent[codes] = parent_rows
    top = np.arange(n, dtype=np.intp)
    depth = np.zeros(n, dtype=np.int64)
    current = parent.copy()
    for _ in range(n + 1):
        climbing = current >= 0
        if not climbing.any():
            break
        top[climbing] = current[climbing]
        depth[climbing] += 1
        current[climbing] = parent[current[climbing]]
    else:
        cycle = ctx.org_ids[current >= 0][:5].tolist()
        raise InvalidTablesError(
            f"The parent_id chains of 'organisations' contain a cycle, so holdings cannot be "
            f"formed; organisations on the cycle include {cycle}. Fix their parent_id."
        )
    return top, depth, parent


def hierarchy(ctx: FeatureTables) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per known organisation its top parent code, its depth and its parent code.

    Codes are positions in ``ctx.org_ids``; a parent that is not known before ``as_of`` ends the
    chain (the organisation is then its own top parent). Depth is 0 for a top parent.

    Parameters
    ----------
    ctx : FeatureTables
        Tables cut at ``as_of``.

    Returns
    -------
    top, depth, parent : numpy.ndarray
        Integer arrays aligned to ``ctx.org_ids``; ``parent`` is -1 for a top parent.

    Raises
    ------
    InvalidTablesError
        If ``parent_id`` chains form a cycle.

    Examples
    --------
    >>> import pandas as pd
    >>> orgs = pd.DataFrame({"organisation_id": ["A", "B", "C"], "parent_id": [None, "A", "B"],
    ...                      "created_at": pd.to_datetime(["2024-01-01"] * 3)})
    >>> top, depth, _ = hierarchy(FeatureTables.prepare({"organisations": orgs},
    ...                                                   pd.Timestamp("2025-01-01")))
    >>> top.tolist(), depth.tolist()
    ([0, 0, 0], [0, 1, 2])
    """
    return ctx.cached("hierarchy", lambda: _compute(ctx))
