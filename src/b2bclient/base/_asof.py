"""The point-in-time cut behind :meth:`ClientBase.as_of` (DESIGN.md section 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from b2bclient.base._schema import SCHEMAS

__all__ = ["cut_tables"]

# Status a row had before the time in its revert column, for tables whose status changes later.
_REVERTED_STATUS = {"deals": "open", "projects": "active"}


def _keep(df: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    if mask.all():
        return df
    return df.loc[mask].reset_index(drop=True)


def _known(values: pd.Series, kept: pd.Series | None) -> np.ndarray:
    """Mask of `values` that are known: null, or among `kept` (None means nothing was dropped)."""
    if kept is None:
        return np.ones(len(values), dtype=bool)
    known: np.ndarray = (values.isna() | values.isin(kept)).to_numpy()
    return known


def cut_tables(tables: dict[str, pd.DataFrame], t: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Return the tables as known just before `t` (half-open, later state changes reverted).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Validated canonical tables.
    t : pandas.Timestamp
        Naive UTC cut-off.

    Returns
    -------
    dict of str to pandas.DataFrame
        New frames; unchanged tables are shared with the input.
    """
    out: dict[str, pd.DataFrame] = {}
    # Keys kept of each parent table; None when nothing was dropped, so children skip the check.
    kept_keys: dict[str, pd.Series | None] = {}

    def before(name: str) -> np.ndarray:
        col = SCHEMAS[name].time_column
        assert col is not None
        mask: np.ndarray = (tables[name][col] < t).to_numpy()
        return mask

    orgs = tables["organisations"]
    mask = before("organisations")
    orgs = _keep(orgs, mask)
    org_ids = None if mask.all() else orgs["organisation_id"]
    if org_ids is not None and orgs["parent_id"].notna().any():
        unknown_parent = ~_known(orgs["parent_id"], org_ids)
        if unknown_parent.any():
            orgs = orgs.copy()
            orgs.loc[unknown_parent, "parent_id"] = None
    out["organisations"] = orgs
    kept_keys["organisations"] = org_ids

    out["products"] = tables["products"]

    for name in ("contacts", "projects", "deals", "interactions", "contracts"):
        df = tables[name]
        mask = before(name) & _known(df["organisation_id"], org_ids)
        out[name] = _keep(df, mask)
        key = SCHEMAS[name].key[0]
        kept_keys[name] = None if mask.all() else out[name][key]

    # References to rows not yet known become null rather than dangling.
    for name, column, parent in (
        ("deals", "project_id", "projects"),
        ("interactions", "project_id", "projects"),
        ("interactions", "contact_id", "contacts"),
    ):
        kept = kept_keys[parent]
        if kept is None:
            continue
        unknown = ~_known(out[name][column], kept)
        if unknown.any():
            df = out[name] if out[name] is not tables[name] else out[name].copy()
            df.loc[unknown, column] = None
            out[name] = df

    lines = tables["deal_lines"]
    out["deal_lines"] = _keep(lines, _known(lines["deal_id"], kept_keys["deals"]))

    stages = tables["stages"]
    mask = before("stages") & _known(stages["project_id"], kept_keys["projects"])
    out["stages"] = _keep(stages, mask)

    rel = tables["relationships"]
    mask = before("relationships")
    mask &= _known(rel["source_id"], org_ids) & _known(rel["target_id"], org_ids)
    out["relationships"] = _keep(rel, mask)

    for name, schema in SCHEMAS.items():
        for column in schema.revert:
            df = out[name]
            later = (df[column] >= t).to_numpy()
            if not later.any():
                continue
            df = df.copy()
            df.loc[later, column] = pd.NaT
            if name in _REVERTED_STATUS:
                df.loc[later, "status"] = _REVERTED_STATUS[name]
            out[name] = df
    return out
