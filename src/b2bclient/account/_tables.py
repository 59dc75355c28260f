"""Split the tables cut at ``as_of`` into batches of whole holdings (DESIGN.md section 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from b2bclient.features._context import FeatureTables
from b2bclient.features._dask import _split
from b2bclient.features._groups import hierarchy

__all__ = ["BY_ORGANISATION", "holding_batches", "top_parents"]

BY_ORGANISATION = ("organisations", "contacts", "deals", "projects", "interactions", "contracts")


def top_parents(ctx: FeatureTables) -> pd.Series:
    """Return the top parent id of every known organisation, indexed by ``organisation_id``."""
    top, _, _ = hierarchy(ctx)
    ids = ctx.org_ids
    return pd.Series(ids.to_numpy()[top], index=ids, name="top_parent_id")


def holding_batches(
    ctx: FeatureTables, wanted: np.ndarray, n_batches: int
) -> list[dict[str, pd.DataFrame]]:
    """Return the tables of the holdings of the `wanted` organisations, in `n_batches` batches.

    Parameters
    ----------
    ctx : FeatureTables
        Tables cut at ``as_of``.
    wanted : numpy.ndarray of bool
        Aligned to ``ctx.org_ids``: the organisations asked for. Every member of their holdings
        joins the batch of its top parent, so roll-ups stay within a batch.
    n_batches : int
        Number of batches; holding ``h`` goes to batch ``code(h) % n_batches``. Empty batches are
        left out.

    Returns
    -------
    list of dict
        The tables of each batch (``products`` left out: it is broadcast).
    """
    top, _, _ = hierarchy(ctx)
    keep_top = np.zeros(ctx.n_orgs, dtype=bool)
    keep_top[top[wanted]] = True
    org_part = np.where(keep_top[top], top % n_batches, -1).astype(np.intp)

    def part_of(codes: np.ndarray) -> np.ndarray:
        return np.where(codes >= 0, org_part[np.maximum(codes, 0)], -1)

    parts: list[dict[str, pd.DataFrame]] = [{} for _ in range(n_batches)]
    row_part: dict[str, np.ndarray] = {name: part_of(ctx.codes(name)) for name in BY_ORGANISATION}
    for name, column, parent in (
        ("deal_lines", "deal_id", "deals"),
        ("stages", "project_id", "projects"),
    ):
        rows = ctx.positions(name, column, parent)
        row_part[name] = np.where(rows >= 0, row_part[parent][np.maximum(rows, 0)], -1)
    for name, part in row_part.items():
        for p, frame in enumerate(_split(ctx[name], part, n_batches)):
            parts[p][name] = frame
    rel = ctx["relationships"]
    source = part_of(ctx.codes("relationships", "source_id"))
    target = part_of(ctx.codes("relationships", "target_id"))
    for p in range(n_batches):
        parts[p]["relationships"] = rel.loc[(source == p) | (target == p)].reset_index(drop=True)
    return [p for p in parts if len(p["organisations"])]
