"""Coercion and validation of the canonical tables at the boundary (STYLE.md rule 7).

Every problem is collected before anything is raised; :class:`InvalidTablesError` then carries them
all in ``.problems`` (one row per offending value) and its message names table, column and the first
offending ids. Internals trust tables that passed through here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidParameterError
from b2bclient.base._coerce import blank_to_null, coerce_column, empty_series, empty_table
from b2bclient.base._options import LoadOptions
from b2bclient.base._problems import Problems, RowIds, plural
from b2bclient.base._relations import KeyIndexes, check_relations, reference_positions
from b2bclient.base._repairs import Repairs
from b2bclient.base._schema import SCHEMAS, TABLE_NAMES, TableSchema

__all__ = ["KEY_NAMES", "Validated", "coerce_tables", "empty_table", "reference_positions"]

#: How a message names the rows of each table: its key columns joined by '/'.
KEY_NAMES = {n: "/".join(s.key) for n, s in SCHEMAS.items()}

_empty_series = empty_series  # kept for modules that imported it from here

# --- table-level defaults ------------------------------------------------------------------------


def _apply_defaults(name: str, df: pd.DataFrame, *, generate_ids: bool = True) -> pd.DataFrame:
    """Fill the documented defaults that let minimal exports load.

    Deal ids are generated only when `generate_ids`: never when deal lines refer to deals by
    id, nor when a column looks like a renamed ``deal_id``; the id is then reported missing.
    """
    if name == "products" and "kind" in df.columns and df["kind"].isna().any():
        df = df.assign(kind=df["kind"].astype(object).where(df["kind"].notna(), "good"))
    elif name == "products" and "kind" not in df.columns:
        df = df.assign(kind="good")
    if name == "deals":
        # An order log (organisation, time, amount) loads: each order is a won deal closed when
        # created, with a generated id.
        if "status" not in df.columns:
            df = df.assign(status="won")
            if "closed_at" not in df.columns and "created_at" in df.columns:
                df = df.assign(closed_at=df["created_at"])
        if "deal_id" not in df.columns and generate_ids:
            width = max(len(str(len(df))), 1)
            df = df.assign(deal_id=[f"D-{i:0{width}d}" for i in range(1, len(df) + 1)])
    return df


class Validated(NamedTuple):
    """What validation hands to a :class:`~b2bclient.base.ClientBase`."""

    tables: dict[str, pd.DataFrame]
    #: For each foreign-key column, the row position of the referenced row (-1 for null).
    positions: dict[tuple[str, str], np.ndarray]
    #: The key Index of each single-key table that validation built (unique keys only).
    key_indexes: dict[str, pd.Index]
    #: What loading changed on purpose, one line per change (see ``ClientBase.repairs``).
    repairs: Repairs


# --- entry point ---------------------------------------------------------------------------------


def coerce_tables(
    frames: Mapping[str, Any],
    options: LoadOptions | None = None,
    *,
    collect: Problems | None = None,
) -> Validated:
    """Coerce and validate `frames` into the ten canonical tables.

    Parameters
    ----------
    frames : mapping of str to pandas.DataFrame
        Tables by canonical name; only ``organisations`` is required.
    options : LoadOptions, optional
        Date formats, column and value mappings and repairs.
    collect : Problems, optional
        Collect the problems found here instead of raising them (for a validation that is
        completed elsewhere, as across the partitions of a partitioned base).

    Returns
    -------
    Validated
        ``tables``: all ten tables, canonical columns first in schema order with canonical
        dtypes, extra columns after them, a fresh RangeIndex; absent tables are empty.
        ``positions``: for each foreign-key column, the row position of the referenced row (-1
        for null). ``key_indexes``: the unique key Index of the tables validation indexed.
        ``repairs``: what was changed on purpose.

    Raises
    ------
    InvalidTablesError
        Listing every problem found, with ``.problems`` as a DataFrame.
    InvalidParameterError
        For a column or value mapping that names a column no table has.
    """
    options = options or LoadOptions()
    if not isinstance(frames, Mapping):
        raise InvalidParameterError(
            "ClientBase takes a mapping of table names to pandas DataFrames, such as "
            f"{{'organisations': orgs, 'deals': deals}}. Got {type(frames).__name__} instead."
        )
    options.check_columns(frames, "ClientBase")
    problems = Problems() if collect is None else collect
    repairs = Repairs()
    unknown = sorted(set(frames) - set(TABLE_NAMES), key=str)
    for name in unknown:
        close = difflib.get_close_matches(str(name).lower(), TABLE_NAMES, n=1, cutoff=0.7)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.add(
            str(name),
            "*",
            "unknown_table",
            f"is not a canonical table; expected one of {', '.join(TABLE_NAMES)}{hint}",
        )
    if frames.get("organisations") is None:
        problems.add(
            "organisations",
            "*",
            "missing_table",
            "the organisations table is required (at least organisation_id and created_at)",
        )
    tables: dict[str, pd.DataFrame] = {}
    positions: dict[tuple[str, str], np.ndarray] = {}
    indexes = KeyIndexes(tables)
    row_ids: dict[str, RowIds] = {}
    complete: dict[str, bool] = {}
    for name in TABLE_NAMES:
        schema = SCHEMAS[name]
        raw = frames.get(name)
        if raw is None:
            tables[name] = empty_table(name)
            row_ids[name] = RowIds(schema, empty_table(name))
            complete[name] = True
            continue
        if not isinstance(raw, pd.DataFrame):
            problems.add(
                name, "*", "not_a_frame", f"must be a pandas DataFrame, got {type(raw).__name__}"
            )
            tables[name] = empty_table(name)
            row_ids[name] = RowIds(schema, empty_table(name))
            complete[name] = False
            continue
        tables[name], row_ids[name], complete[name] = _coerce_table(
            schema, raw, problems, repairs, options, lines_given=_has_rows(frames, "deal_lines")
        )
    if not any(
        g[2] in ("missing_table", "not_a_frame", "multiindex_columns") and g[0] == "organisations"
        for g in problems.groups
    ):
        check_relations(tables, row_ids, complete, problems, positions, indexes, repairs, options)
    if collect is None:
        problems.raise_if_any(KEY_NAMES)
    unique = {name: index for name, index in indexes.built.items() if index.is_unique}
    return Validated(tables, positions, unique, repairs)


def _has_rows(frames: Mapping[str, Any], name: str) -> bool:
    frame = frames.get(name)
    return isinstance(frame, pd.DataFrame) and len(frame) > 0


def _coerce_table(
    schema: TableSchema,
    raw: pd.DataFrame,
    problems: Problems,
    repairs: Repairs,
    options: LoadOptions,
    *,
    lines_given: bool = False,
) -> tuple[pd.DataFrame, RowIds, bool]:
    name = schema.name
    if isinstance(raw.columns, pd.MultiIndex):
        problems.add(
            name,
            "*",
            "multiindex_columns",
            f"the columns are a MultiIndex of {raw.columns.nlevels} levels; flatten them first, "
            f"e.g. frame.columns = frame.columns.get_level_values(-1)",
        )
        return empty_table(name), RowIds(schema, empty_table(name)), False
    index = raw.index
    df = (
        raw.reset_index(drop=True)
        if not isinstance(raw.index, pd.RangeIndex) or raw.index.start != 0
        else raw
    )
    df = options.apply(name, df)
    if df.columns.duplicated().any():
        dup = sorted(set(map(str, df.columns[df.columns.duplicated()])))
        problems.add(name, ",".join(dup), "duplicate_column", "columns appear more than once")
        return empty_table(name), RowIds(schema, empty_table(name)), False
    # Rows are named by the key the user gave; without one (an order log gets generated deal
    # ids) by their position, so that a message points at the user's rows.
    ids = RowIds(schema, df)
    renamed = "did you mean" in missing_column_hint("deal_id", df, index)
    df = _apply_defaults(name, df, generate_ids=not (lines_given or renamed))
    complete = True
    for col in schema.required:
        if col not in df.columns:
            why = (
                " (deal_lines refer to deals by deal_id, so ids cannot be generated)"
                if name == "deals" and col == "deal_id" and lines_given
                else ""
            )
            problems.add(
                name,
                col,
                "missing_column",
                f"required column is missing{why}; " + missing_column_hint(col, df, index),
            )
            complete = False
    out: dict[str, pd.Series] = {}
    n = len(df)
    for column in schema.columns:
        if column.name not in df.columns:
            out[column.name] = empty_series(column, n)
            continue
        series, blank = df[column.name], None
        if column.kind != "str":  # free text may be empty; an id, time or number may not
            series, blank = blank_to_null(series)
        if blank is not None:
            repairs.add(name, column.name, blank.check, blank.description, blank.records)
        coerced = coerce_column(
            series,
            column,
            date_format=options.date_format_for(name),
            dayfirst=options.dayfirst,
        )
        failed = np.zeros(n, dtype=bool)
        # The values as loaded, for the rows a failure points at (converted only then: turning
        # a million times into objects costs a second per column).
        raw_column = df[column.name]
        for failure in coerced.failures:
            failed |= failure.mask
            problems.add(
                name,
                column.name,
                failure.check,
                failure.description,
                ids[failure.mask],
                raw_column.to_numpy(dtype=object)[failure.mask],
            )
        for change in coerced.changes:
            repairs.add(name, column.name, change.check, change.description, change.records)
        values = coerced.values
        if column.required:
            null = values.isna().to_numpy() & ~failed
            if null.any():
                problems.add(name, column.name, "null", plural(int(null.sum()), "null"), ids[null])
        if column.minimum is not None:
            vals = values.to_numpy(dtype=float, na_value=np.nan)
            bad = (vals <= column.minimum) if column.strict else (vals < column.minimum)
            if bad.any():
                word = (
                    "non-positive value"
                    if column.strict and column.minimum == 0
                    else (
                        "negative value" if column.minimum == 0 else f"value below {column.minimum}"
                    )
                )
                problems.add(
                    name, column.name, "range", plural(int(bad.sum()), word), ids[bad], vals[bad]
                )
        out[column.name] = values.set_axis(pd.RangeIndex(n))
    extras = [c for c in df.columns if c not in out]
    result = pd.DataFrame(out, index=pd.RangeIndex(n))
    if extras:
        result = pd.concat([result, df[extras].set_axis(pd.RangeIndex(n))], axis=1)
    return result, ids, complete


def _normal(name: Any) -> str:
    """Return a column name lower-cased, words joined by '_', British 'organisation' spelling."""
    text = re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")
    return text.replace("organization", "organisation")


def missing_column_hint(column: str, df: pd.DataFrame, index: pd.Index) -> str:
    """Return what was found instead of a missing column, with the likely fix.

    Examples
    --------
    >>> df = pd.DataFrame(columns=["Organization ID", "created_at"])
    >>> missing_column_hint("organisation_id", df, pd.RangeIndex(0))
    "found ['Organization ID', 'created_at']; did you mean 'Organization ID'? Pass columns={'Organization ID': 'organisation_id'}"
    """
    found = [str(c) for c in df.columns]
    shown = found[:12] + (["..."] if len(found) > 12 else [])
    text = f"found {shown}"
    if column in [n for n in index.names if n is not None]:
        return f"{text}; it is the frame's index: pass frame.reset_index()"
    if len(found) == 1 and any(sep in found[0] for sep in (";", "\t", "|")):
        sep = next(s for s in (";", "\t", "|") if s in found[0])
        return (
            f"{text}: one column whose name holds {sep!r}, so the file is probably separated by "
            f"{sep!r}; read it with sep={sep!r}"
        )
    target = _normal(column)
    by_normal = {_normal(c): c for c in found}
    match = by_normal.get(target)
    if match is None:
        close = difflib.get_close_matches(target, list(by_normal), n=1, cutoff=0.75)
        match = by_normal[close[0]] if close else None
    if match is not None:
        return f"{text}; did you mean {match!r}? Pass columns={{{match!r}: {column!r}}}"
    return text
