"""The point-in-time cut behind :meth:`ClientBase.as_of` (DESIGN.md section 4).

The cut works on integer positions of referenced rows (computed once, at validation), so that it
costs a few NumPy masks per table instead of hashing millions of string ids; the cut base gets the
positions remapped to its own rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from b2bclient.base._schema import SCHEMAS

__all__ = ["cut_tables"]

Positions = dict[tuple[str, str], np.ndarray]

# Status a row had before the time in its revert column, for tables whose status changes later.
_REVERTED_STATUS = {"deals": "open", "projects": "active"}
# Tables hanging from an organisation, in an order where a referenced table comes first.
_OWNED = ("contacts", "projects", "deals", "interactions", "contracts")
# Optional references that become null when the referenced row is not yet known.
_NULLABLE = (
    ("organisations", "parent_id"),
    ("deals", "project_id"),
    ("interactions", "project_id"),
    ("interactions", "contact_id"),
)


def _with_column(df: pd.DataFrame, column: str, values: pd.Series) -> pd.DataFrame:
    """Return a shallow copy of `df` with `column` replaced: the other columns are not copied."""
    out = df.copy(deep=False)
    out[column] = values.set_axis(df.index)
    return out


def cut_tables(
    tables: dict[str, pd.DataFrame],
    t: pd.Timestamp,
    positions: Callable[[str, str], np.ndarray],
) -> tuple[dict[str, pd.DataFrame], Positions]:
    """Return the tables as known just before `t` (half-open, later state changes reverted).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Validated canonical tables.
    t : pandas.Timestamp
        Naive UTC cut-off.
    positions : callable
        ``positions(table, column)`` gives, for each row, the position of the referenced row
        (-1 for null).

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        New frames; unchanged tables are shared with the input.
    positions : dict
        The reference positions of the cut tables, for every reference whose positions were used.
    """
    keep: dict[str, np.ndarray] = {}

    def before(name: str) -> np.ndarray:
        column = SCHEMAS[name].time_column
        assert column is not None
        mask: np.ndarray = (tables[name][column] < t).to_numpy()
        return mask

    def known(name: str, column: str) -> np.ndarray:
        """Rows whose reference in `column` is null or a kept row."""
        parent = SCHEMAS[name].column(column).references
        assert parent is not None
        pos = positions(name, column)
        if len(keep[parent]) == 0:  # only nulls can refer to an empty table
            return np.ones(len(pos), dtype=bool)
        mask: np.ndarray = (pos < 0) | keep[parent][np.maximum(pos, 0)]
        return mask

    keep["organisations"] = before("organisations")
    keep["products"] = np.ones(len(tables["products"]), dtype=bool)
    for name in _OWNED:
        keep[name] = before(name) & known(name, "organisation_id")
    keep["deal_lines"] = known("deal_lines", "deal_id")
    keep["stages"] = before("stages") & known("stages", "project_id")
    keep["relationships"] = (
        before("relationships")
        & known("relationships", "source_id")
        & known("relationships", "target_id")
    )

    out: dict[str, pd.DataFrame] = {}
    for name, df in tables.items():
        mask = keep[name]
        out[name] = df if mask.all() else df.take(np.flatnonzero(mask)).reset_index(drop=True)

    # A reference to a row not yet known becomes null rather than dangling.
    for name, column in _NULLABLE:
        unknown = ~known(name, column)[keep[name]]
        if unknown.any():
            values = out[name][column].to_numpy(dtype=object, copy=True)
            values[unknown] = None
            out[name] = _with_column(out[name], column, pd.Series(values, dtype=object))

    for name, schema in SCHEMAS.items():
        for column in schema.revert:
            df = out[name]
            later = (df[column] >= t).to_numpy()
            if not later.any():
                continue
            times = df[column].to_numpy(copy=True)
            times[later] = np.datetime64("NaT")
            df = _with_column(df, column, pd.Series(times))
            if name in _REVERTED_STATUS:
                status = df["status"].copy()
                status[later] = _REVERTED_STATUS[name]
                df = _with_column(df, "status", status)
            out[name] = df

    # Remap every reference position to the rows of the cut tables.
    remap = {}
    for name, mask in keep.items():
        new = np.full(len(mask), -1, dtype=np.int64)
        new[mask] = np.arange(int(mask.sum()), dtype=np.int64)
        remap[name] = new
    cut_positions: Positions = {}
    for name, schema in SCHEMAS.items():
        for col in schema.columns:
            if col.references is None:
                continue
            pos = positions(name, col.name)[keep[name]]
            parent_remap = remap[col.references]
            cut_positions[(name, col.name)] = (
                np.where(pos >= 0, parent_remap[np.maximum(pos, 0)], -1)
                if len(parent_remap)
                else pos
            )
    return out, cut_positions
