"""Coercion and validation of the canonical tables at the boundary (STYLE.md rule 7).

Every problem is collected before anything is raised; :class:`InvalidTablesError` then carries them
all in ``.problems`` (one row per offending value) and its message names table, column and the first
offending ids. Internals trust tables that passed through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from b2bclient._exceptions import InvalidTablesError
from b2bclient.base._schema import SCHEMAS, STAGES, TABLE_NAMES, Column, TableSchema

__all__ = ["Validated", "coerce_tables", "empty_table", "reference_positions"]

_SHOW = 5  # ids named in a message line
_PROBLEM_COLUMNS = ["table", "column", "check", "row_id", "value"]
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_SINGULAR = {
    "organisations": "organisation",
    "contacts": "contact",
    "products": "product",
    "deals": "deal",
    "projects": "project",
}
# (end column, start column) pairs whose end may not come before the start.
_ORDER = {
    "deals": (("closed_at", "created_at"),),
    "projects": (("closed_at", "created_at"),),
    "stages": (("ended_at", "started_at"),),
    "contracts": (("ends_at", "started_at"), ("cancelled_at", "started_at")),
}


class _Problems:
    """Collects problems; each group is (table, column, check, description, row ids, values)."""

    def __init__(self) -> None:
        self.groups: list[tuple[str, str, str, str, list[Any], list[Any]]] = []

    def add(
        self,
        table: str,
        column: str,
        check: str,
        description: str,
        row_ids: Any = (),
        values: Any = (),
    ) -> None:
        ids = list(row_ids)
        vals = list(values) if len(values) else [None] * len(ids)
        self.groups.append((table, column, check, description, ids, vals))

    def raise_if_any(self, key_names: Mapping[str, str]) -> None:
        if not self.groups:
            return
        records = [
            (t, c, chk, rid, v)
            for t, c, chk, _, ids, vals in self.groups
            for rid, v in (zip(ids, vals, strict=True) if ids else [(None, None)])
        ]
        problems = pd.DataFrame.from_records(records, columns=_PROBLEM_COLUMNS)
        tables = list(dict.fromkeys(g[0] for g in self.groups))
        n = len(problems)
        head = (
            f"{n} problem{'s' * (n != 1)} in {tables[0]!r}"
            if len(tables) == 1
            else f"{n} problems in {len(tables)} tables ({', '.join(map(repr, tables))})"
        )
        lines = [head]
        for table in tables:
            if len(tables) > 1:
                lines.append(f" {table}:")
            for t, column, _, description, ids, _vals in self.groups:
                if t != table:
                    continue
                where = ""
                if ids:
                    shown = [str(i) for i in ids[:_SHOW]]
                    more = f" and {len(ids) - _SHOW} more" if len(ids) > _SHOW else ""
                    where = f" at {key_names.get(table, 'row')} {shown}{more}"
                lines.append(f"  {column}: {description}{where}")
        raise InvalidTablesError("\n".join(lines), problems)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def empty_table(name: str) -> pd.DataFrame:
    """Return an empty frame with the canonical columns and dtypes of table `name`.

    Examples
    --------
    >>> empty_table("deals").dtypes["closed_at"]
    dtype('<M8[ns]')
    """
    schema = SCHEMAS[name]
    return pd.DataFrame({c.name: _empty_series(c, 0) for c in schema.columns})


def _empty_series(column: Column, n: int) -> pd.Series:
    """Return `n` nulls in the canonical dtype of `column`."""
    if column.kind == "enum":
        assert column.values is not None
        dtype = pd.CategoricalDtype(list(column.values), ordered=column.ordered)
        return pd.Series(pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), dtype=dtype))
    if column.kind in ("id", "str"):
        return pd.Series(np.full(n, None, dtype=object))
    if column.kind == "time":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    if column.kind == "float":
        return pd.Series(np.full(n, np.nan))
    mask = np.ones(n, dtype=bool)
    if column.kind == "int":
        return pd.Series(pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), mask))
    return pd.Series(pd.arrays.BooleanArray(np.zeros(n, dtype=bool), mask))


# --- coercion of single columns: each returns (coerced, mask of values that failed) -------------


def _as_strings(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    bad = np.zeros(len(s), dtype=bool)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if s.dtype == object:
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred in ("string", "empty"):
            out = s
        else:
            notna = s.notna().to_numpy()

            def text(v: Any) -> str:
                if isinstance(v, float) and v.is_integer():
                    return str(int(v))
                return str(v)

            out = s.astype(object).copy()
            out[notna] = s[notna].map(text)
    elif pd.api.types.is_string_dtype(s.dtype):
        out = s.astype(object)
    elif pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        notna = s.notna().to_numpy()
        out = pd.Series(np.full(len(s), None, dtype=object), index=s.index)
        out[notna] = (
            s[notna]
            .astype("int64" if not pd.api.types.is_bool_dtype(s.dtype) else object)
            .astype(str)
        )
    elif pd.api.types.is_float_dtype(s.dtype):
        notna = s.notna().to_numpy()
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        out = pd.Series(np.full(len(s), None, dtype=object), index=s.index)
        integral = notna & (np.mod(np.nan_to_num(vals), 1) == 0)
        out[integral] = vals[integral].astype(np.int64).astype(str)
        rest = notna & ~integral
        out[rest] = vals[rest].astype(str)
    else:
        notna = s.notna().to_numpy()
        out = pd.Series(np.full(len(s), None, dtype=object), index=s.index)
        out[notna] = s[notna].astype(str)
    if out.hasnans:
        out = out.where(out.notna(), None)
    return out, bad


def _as_time(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]"), np.zeros(
            len(s), dtype=bool
        )
    if pd.api.types.is_datetime64_dtype(dtype):
        return s.astype("datetime64[ns]"), np.zeros(len(s), dtype=bool)
    notna = s.notna().to_numpy()
    if not notna.any():
        return pd.Series(np.full(len(s), np.datetime64("NaT"), "datetime64[ns]"), index=s.index), (
            np.zeros(len(s), dtype=bool)
        )
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        out = pd.Series(np.full(len(s), np.datetime64("NaT"), "datetime64[ns]"), index=s.index)
        return out, notna
    values = s.astype(object)
    # Parse naive and offset-carrying strings apart: pandas may otherwise apply one string's
    # offset to its naive neighbours. Naive values are UTC; offsets are converted to UTC.
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    aware = is_text & values.where(is_text, "").str.contains(_OFFSET, regex=True).to_numpy()
    out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    for mask, utc in ((is_text & ~aware, False), (aware, True)):
        if mask.any():
            out[mask] = _parse_text(values[mask], utc=utc)
    other = notna & ~is_text
    if other.any():
        out[other] = [_parse_one(v) for v in values[other]]
    result = pd.Series(out, index=s.index)
    failed = notna & result.isna().to_numpy()
    return result, failed


_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _parse_text(values: pd.Series, *, utc: bool) -> np.ndarray:
    """Parse ISO 8601 strings (any other format as a fallback) to naive UTC datetime64[ns]."""
    try:
        parsed = pd.to_datetime(values, utc=utc, errors="coerce", format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    failed = parsed.isna().to_numpy()
    if failed.any():
        retry = pd.Series([_parse_one(v) for v in values[failed]], index=values.index[failed])
        parsed = pd.Series(
            np.where(
                failed, retry.reindex(values.index).to_numpy(dtype="datetime64[ns]"), _naive(parsed)
            ),
            index=values.index,
        )
    return _naive(parsed)


def _naive(parsed: pd.Series) -> np.ndarray:
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    out: np.ndarray = parsed.to_numpy(dtype="datetime64[ns]")
    return out


def _parse_one(value: Any) -> np.datetime64:
    """Parse one value of any accepted kind to a naive UTC datetime64[ns] (NaT on failure)."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return np.datetime64("NaT", "ns")
    if ts is pd.NaT:
        return np.datetime64("NaT", "ns")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    out: np.datetime64 = ts.as_unit("ns").to_datetime64()
    return out


def _as_float(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_float_dtype(s.dtype) and not isinstance(
        s.dtype, pd.api.extensions.ExtensionDtype
    ):
        return s.astype("float64"), np.zeros(len(s), dtype=bool)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64"), np.zeros(len(s), dtype=bool)
    out = pd.to_numeric(s.astype(object) if s.dtype != object else s, errors="coerce")
    out = out.astype("float64")
    failed = s.notna().to_numpy() & out.isna().to_numpy()
    return out, failed


def _as_int(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64"), np.zeros(len(s), dtype=bool)
    out, failed = _as_float(s)
    vals = out.to_numpy()
    fractional = np.isfinite(vals) & (np.mod(np.nan_to_num(vals), 1) != 0)
    infinite = np.isinf(vals)
    failed = failed | fractional | infinite
    clean = np.where(failed | np.isnan(vals), np.nan, vals)
    return pd.Series(clean, index=s.index).astype("Int64"), failed


def _as_bool(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), np.zeros(len(s), dtype=bool)

    def parse(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer, float, np.floating)) and v in (0, 1):
            return bool(v)
        text = str(v).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return None  # marks a failure

    parsed = s.astype(object).map(parse)
    failed = parsed.map(lambda v: v is None).to_numpy(dtype=bool)
    parsed[failed] = pd.NA
    return parsed.astype("boolean"), failed


def _as_enum(s: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    assert column.values is not None
    allowed = list(column.values)
    if isinstance(s.dtype, pd.CategoricalDtype):
        used = s.cat.remove_unused_categories()
        if set(map(str, used.cat.categories)) <= set(allowed):
            cats = used.cat.rename_categories(lambda c: str(c))
            out = cats.cat.set_categories(allowed, ordered=column.ordered)
            return out, np.zeros(len(s), dtype=bool)
        s = s.astype(object)
    text, _ = _as_strings(s)
    notna = text.notna().to_numpy()
    failed = notna & ~text.isin(allowed).to_numpy()
    values = text.where(~failed, None)
    out = pd.Series(
        pd.Categorical(values, categories=allowed, ordered=column.ordered), index=s.index
    )
    return out, failed


def _coerce_column(s: pd.Series, column: Column) -> tuple[pd.Series, np.ndarray]:
    if column.kind in ("id", "str"):
        return _as_strings(s)
    if column.kind == "time":
        return _as_time(s)
    if column.kind == "float":
        return _as_float(s)
    if column.kind == "int":
        return _as_int(s)
    if column.kind == "bool":
        return _as_bool(s)
    return _as_enum(s, column)


_TYPE_NAMES = {
    "id": "text",
    "str": "text",
    "time": "a point in time",
    "float": "a number",
    "int": "a whole number",
    "bool": "true/false",
}


# --- table-level defaults ------------------------------------------------------------------------


def _apply_defaults(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Fill the documented defaults that let minimal exports load."""
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
        if "deal_id" not in df.columns:
            width = max(len(str(len(df))), 1)
            df = df.assign(deal_id=[f"D-{i:0{width}d}" for i in range(1, len(df) + 1)])
    return df


class _RowIds:
    """Printable ids of a table's rows, computed only for the rows a problem points at.

    A row is named by its key (joined with '/' for composite keys), or by its position when the
    key is missing.
    """

    def __init__(self, schema: TableSchema, df: pd.DataFrame) -> None:
        key = [k for k in schema.key if k in df.columns]
        self._parts = (
            [df[k].to_numpy(dtype=object) for k in key] if len(key) == len(schema.key) else []
        )
        self._n = len(df)

    def __getitem__(self, mask: np.ndarray) -> list[Any]:
        positions = np.flatnonzero(mask)
        if not self._parts:
            return [f"row {i}" for i in positions]
        out = []
        for i in positions:
            values = [part[i] for part in self._parts]
            if any(pd.isna(v) for v in values):
                out.append(f"row {i}")
            else:
                out.append("/".join(map(str, values)))
        return out


class _KeyIndexes:
    """The key of each single-key table as a pandas Index, built once and shared by every check."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        self._tables = tables
        self.built: dict[str, pd.Index] = {}

    def __getitem__(self, table: str) -> pd.Index:
        index = self.built.get(table)
        if index is None:
            index = pd.Index(self._tables[table][SCHEMAS[table].key[0]])
            self.built[table] = index
        return index


class Validated(NamedTuple):
    """What validation hands to a :class:`~b2bclient.base.ClientBase`."""

    tables: dict[str, pd.DataFrame]
    #: For each foreign-key column, the row position of the referenced row (-1 for null).
    positions: dict[tuple[str, str], np.ndarray]
    #: The key Index of each single-key table that validation built (unique keys only).
    key_indexes: dict[str, pd.Index]


# --- entry point ---------------------------------------------------------------------------------


def coerce_tables(frames: Mapping[str, Any]) -> Validated:
    """Coerce and validate `frames` into the ten canonical tables.

    Parameters
    ----------
    frames : mapping of str to pandas.DataFrame
        Tables by canonical name; only ``organisations`` is required.

    Returns
    -------
    Validated
        ``tables``: all ten tables, canonical columns first in schema order with canonical
        dtypes, extra columns after them, a fresh RangeIndex; absent tables are empty.
        ``positions``: for each foreign-key column, the row position of the referenced row (-1
        for null). ``key_indexes``: the unique key Index of the tables validation indexed.

    Raises
    ------
    InvalidTablesError
        Listing every problem found, with ``.problems`` as a DataFrame.
    """
    problems = _Problems()
    unknown = sorted(set(frames) - set(TABLE_NAMES))
    for name in unknown:
        problems.add(
            name,
            "*",
            "unknown_table",
            f"is not a canonical table; expected one of {', '.join(TABLE_NAMES)}",
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
    indexes = _KeyIndexes(tables)
    row_ids: dict[str, _RowIds] = {}
    complete: dict[str, bool] = {}
    for name in TABLE_NAMES:
        schema = SCHEMAS[name]
        raw = frames.get(name)
        if raw is None:
            tables[name] = empty_table(name)
            row_ids[name] = _RowIds(schema, empty_table(name))
            complete[name] = True
            continue
        if not isinstance(raw, pd.DataFrame):
            problems.add(
                name, "*", "not_a_frame", f"must be a pandas DataFrame, got {type(raw).__name__}"
            )
            tables[name] = empty_table(name)
            row_ids[name] = _RowIds(schema, empty_table(name))
            complete[name] = False
            continue
        tables[name], row_ids[name], complete[name] = _coerce_table(schema, raw, problems)
    if not any(
        g[2] in ("missing_table", "not_a_frame") and g[0] == "organisations"
        for g in problems.groups
    ):
        _check_relations(tables, row_ids, complete, problems, positions, indexes)
    problems.raise_if_any({n: "/".join(s.key) for n, s in SCHEMAS.items()})
    unique = {name: index for name, index in indexes.built.items() if index.is_unique}
    return Validated(tables, positions, unique)


def _coerce_table(
    schema: TableSchema, raw: pd.DataFrame, problems: _Problems
) -> tuple[pd.DataFrame, _RowIds, bool]:
    name = schema.name
    df = (
        raw.reset_index(drop=True)
        if not isinstance(raw.index, pd.RangeIndex) or raw.index.start != 0
        else raw
    )
    if df.columns.duplicated().any():
        dup = sorted(set(map(str, df.columns[df.columns.duplicated()])))
        problems.add(name, ",".join(dup), "duplicate_column", "columns appear more than once")
        return empty_table(name), _RowIds(schema, empty_table(name)), False
    df = _apply_defaults(name, df)
    complete = True
    for col in schema.required:
        if col not in df.columns:
            problems.add(name, col, "missing_column", "required column is missing")
            complete = False
    out: dict[str, pd.Series] = {}
    n = len(df)
    ids = _RowIds(schema, df)
    for column in schema.columns:
        if column.name not in df.columns:
            out[column.name] = _empty_series(column, n)
            continue
        series, failed = _coerce_column(df[column.name], column)
        if failed.any():
            raw_values = df[column.name].to_numpy()[failed]
            if column.kind == "enum":
                shown = sorted(set(map(str, raw_values)))[:_SHOW]
                desc = (
                    f"{_plural(int(failed.sum()), 'unknown value')} {shown}; "
                    f"allowed: {', '.join(column.values or ())}"
                )
            else:
                desc = (
                    f"{_plural(int(failed.sum()), 'value')} that {'is' if failed.sum() == 1 else 'are'} "
                    f"not {_TYPE_NAMES[column.kind]} (e.g. {raw_values[0]!r})"
                )
            problems.add(
                name,
                column.name,
                "enum" if column.kind == "enum" else "type",
                desc,
                ids[failed],
                raw_values,
            )
        if column.required:
            null = series.isna().to_numpy() & ~failed
            if null.any():
                problems.add(name, column.name, "null", _plural(int(null.sum()), "null"), ids[null])
        if column.minimum is not None:
            vals = series.to_numpy(dtype=float, na_value=np.nan)
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
                    name, column.name, "range", _plural(int(bad.sum()), word), ids[bad], vals[bad]
                )
        out[column.name] = series.set_axis(pd.RangeIndex(n))
    extras = [c for c in df.columns if c not in out]
    result = pd.DataFrame(out, index=pd.RangeIndex(n))
    if extras:
        result = pd.concat([result, df[extras].set_axis(pd.RangeIndex(n))], axis=1)
    return result, ids, complete


def reference_positions(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Return the position in `index` (unique keys) of each value; -1 for null or unknown."""
    pos: np.ndarray = index.get_indexer(values)
    return pos.astype(np.int64, copy=False)


def _check_relations(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, _RowIds],
    complete: dict[str, bool],
    problems: _Problems,
    positions: dict[tuple[str, str], np.ndarray],
    indexes: _KeyIndexes,
) -> None:
    for name in TABLE_NAMES:
        schema = SCHEMAS[name]
        df = tables[name]
        if not complete[name] or df.empty:
            continue
        ids = row_ids[name]
        # duplicate keys
        if len(schema.key) == 1 and indexes[name].is_unique:
            dup = np.zeros(len(df), dtype=bool)
        else:
            dup = df.duplicated(subset=list(schema.key), keep=False).to_numpy()
            dup &= df[list(schema.key)].notna().all(axis=1).to_numpy()
        if dup.any():
            problems.add(
                name,
                "/".join(schema.key),
                "duplicate_key",
                _plural(int(dup.sum()), "row") + " sharing a key",
                ids[dup],
            )
        # foreign keys
        for column in schema.columns:
            if column.references is None:
                continue
            if not complete[column.references]:
                continue
            index = indexes[column.references]
            values = df[column.name]
            if index.is_unique:
                # Positions of the referenced rows: -1 for a null or an unknown reference. Kept
                # by the ClientBase so that as_of and the extractors never hash the ids again.
                pos = reference_positions(index, values)
                positions[(name, column.name)] = pos
                dangling = (pos < 0) & values.notna().to_numpy()
            else:
                dangling = values.notna().to_numpy() & ~values.isin(index).to_numpy()
            if dangling.any():
                what = _SINGULAR.get(column.references, column.references)
                hint = f" (the {column.references} table is empty)" if len(index) == 0 else ""
                problems.add(
                    name,
                    column.name,
                    "foreign_key",
                    f"{int(dangling.sum())} unknown {what}{'s' * (int(dangling.sum()) != 1)}{hint}",
                    ids[dangling],
                    values.to_numpy()[dangling],
                )
        # ends before starts
        for end, start in _ORDER.get(name, ()):
            bad = (df[end] < df[start]).to_numpy()
            if bad.any():
                problems.add(
                    name,
                    end,
                    "order",
                    f"{_plural(int(bad.sum()), 'value')} before {start}",
                    ids[bad],
                    df[end].to_numpy()[bad],
                )
    _check_status_times(tables, row_ids, complete, problems)
    _check_parent_cycles(tables, row_ids, complete, problems, positions)
    _check_stage_order(tables, row_ids, complete, problems)
    rel = tables["relationships"]
    if complete["relationships"] and not rel.empty:
        self_link = (rel["source_id"] == rel["target_id"]).to_numpy()
        if self_link.any():
            problems.add(
                "relationships",
                "target_id",
                "self_reference",
                _plural(int(self_link.sum()), "link") + " from an organisation to itself",
                row_ids["relationships"][self_link],
            )


def _check_status_times(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, _RowIds],
    complete: dict[str, bool],
    problems: _Problems,
) -> None:
    """A closed deal or project needs its closing time, so ``as_of`` can revert it; an open one has none."""
    for name, open_value in (("deals", "open"), ("projects", "active")):
        df = tables[name]
        if not complete[name] or df.empty:
            continue
        is_open = (df["status"] == open_value).to_numpy()
        status_known = df["status"].notna().to_numpy()
        has_close = df["closed_at"].notna().to_numpy()
        missing = status_known & ~is_open & ~has_close
        if missing.any():
            problems.add(
                name,
                "closed_at",
                "closed_at_missing",
                f"{_plural(int(missing.sum()), 'null')} where status is not {open_value!r}; a closed row needs the time it closed",
                row_ids[name][missing],
            )
        stray = is_open & has_close
        if stray.any():
            problems.add(
                name,
                "closed_at",
                "closed_at_on_open",
                f"{_plural(int(stray.sum()), 'value')} on rows whose status is {open_value!r}",
                row_ids[name][stray],
            )


def _check_parent_cycles(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, _RowIds],
    complete: dict[str, bool],
    problems: _Problems,
    positions: dict[tuple[str, str], np.ndarray],
) -> None:
    orgs = tables["organisations"]
    parent = positions.get(("organisations", "parent_id"))  # absent when keys are not unique
    if parent is None or not complete["organisations"] or not (parent >= 0).any():
        return
    n = len(parent)
    jump = parent.copy()
    for _ in range(int(np.ceil(np.log2(max(n, 2)))) + 1):
        has = jump >= 0
        nxt = jump.copy()
        nxt[has] = jump[jump[has]]
        jump = nxt
    # after more than n steps a chain that has not reached a root is in, or hangs below, a cycle
    bad = jump >= 0
    if bad.any():
        problems.add(
            "organisations",
            "parent_id",
            "cycle",
            f"{_plural(int(bad.sum()), 'organisation')} in or below a parent_id cycle",
            row_ids["organisations"][bad],
            orgs["parent_id"].to_numpy()[bad],
        )


def _check_stage_order(
    tables: dict[str, pd.DataFrame],
    row_ids: dict[str, _RowIds],
    complete: dict[str, bool],
    problems: _Problems,
) -> None:
    stages = tables["stages"]
    if not complete["stages"] or stages.empty:
        return
    rank = stages["stage"].cat.codes.to_numpy()
    order = np.lexsort((rank, stages["project_id"].astype(object).fillna("").to_numpy()))
    ordered = stages.iloc[order]
    starts = ordered["started_at"]
    previous_max = starts.groupby(ordered["project_id"].to_numpy(), sort=False).cummax()
    previous_max = previous_max.groupby(ordered["project_id"].to_numpy(), sort=False).shift(1)
    bad_sorted = (starts < previous_max).to_numpy()
    if bad_sorted.any():
        bad = np.zeros(len(stages), dtype=bool)
        bad[order[bad_sorted]] = True
        problems.add(
            "stages",
            "started_at",
            "stage_order",
            f"{_plural(int(bad.sum()), 'stage')} starting before an earlier stage ({' < '.join(STAGES)})",
            row_ids["stages"][bad],
            stages["started_at"].to_numpy()[bad],
        )
